// Browser tier: the river shows an article once; when another member posts it too, the live
// script names them on the article already on screen (a `merge` frame), inserting nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../support/browser.mjs";
import { startWorker, startFeedServer, api } from "../support/harness.mjs";

let w, fs, browser;

before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  w?.stop();
  await fs?.close();
});

async function subscribe(url) {
  const created = await api(w.url, "POST", "/api/feeds", { body: { url } });
  assert.equal(created.status, 201, created.text);
  return created.body.feed.id;
}

const BODY = "&lt;p&gt;" + "Notes from a week of building a small feed reader on the edge, what broke and what held. ".repeat(6) + "&lt;/p&gt;";
const rss = (title, link, items) => `<rss version="2.0"><channel><title>${title}</title><link>${link}</link>${items}</channel></rss>`;
const item = (guid, link) => `<item><guid>${guid}</guid><title>A week on the edge</title><link>${link}</link><description>${BODY}</description></item>`;

test("a later copy of an article on screen names its member there, without a new entry or a reload", async () => {
  const f = fs.scope();
  f.set("/ann.xml", { body: rss("Ann", "https://ann.example/", item("ann-1", "https://ann.example/2026/edge/")) });
  await subscribe(f.url("/ann.xml"));

  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${w.url}/`);
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });
  const count = await page.locator("#river article").count();
  assert.equal(await page.locator(".also-posted").count(), 0);
  const navigations = [];
  page.on("framenavigated", (fr) => navigations.push(fr.url()));

  // The project blog cross-posts it (another link, the same text).
  f.set("/project.xml", { body: rss("The Project", "https://project.example/", item("p-1", "https://project.example/blog/edge")) });
  await subscribe(f.url("/project.xml"));
  await page.waitForSelector("#river article .also-posted", { timeout: 10000 });
  assert.equal(await page.textContent("#river article .also-posted"), "Also posted by The Project");
  assert.equal(await page.locator("#river article").count(), count, "no second article");

  // A third member syndicates it by its link: both names now.
  f.set("/synd.xml", { body: rss("Syndicator", "https://synd.example/", `<item><guid>s-1</guid><title>Ann: A week on the edge</title><link>http://ann.example/2026/edge?utm_source=rss</link><description>Teaser.</description></item>`) });
  await subscribe(f.url("/synd.xml"));
  await page.waitForFunction(() => /Syndicator/.test(document.querySelector("#river .also-posted")?.textContent || ""), null, { timeout: 10000 });
  assert.equal(await page.textContent("#river article .also-posted"), "Also posted by The Project, Syndicator");
  assert.equal(await page.locator("#river article").count(), count);
  assert.deepEqual(navigations, [], "no reload");
  assert.deepEqual(errors, []);

  // A reload shows the same: the server renders the names.
  await page.reload();
  assert.equal(await page.textContent("#river article .also-posted"), "Also posted by The Project, Syndicator");
  assert.equal(await page.locator("#river article").count(), count);
  await page.close();
});
