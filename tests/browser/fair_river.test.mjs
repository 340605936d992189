// Browser tier, the fair front page: the socket sends every entry; live.js shows a member's
// entries up to the day's cap (RIVER_PER_FEED_PER_DAY, 5 here) and, past it, raises and then
// updates the "N more from this member today" link instead; "new since your last visit" counts
// only what the fair river shows.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../support/browser.mjs";
import { contrastProblems } from "../support/contrast.mjs";
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

const MIN = 60 * 1000;
function rss(name, items) {
  const item = (i) => `<item><guid isPermaLink="false">${i.id}</guid><title>${i.title}</title>` +
    `<link>http://example.org/${name}/${i.id}</link><pubDate>${new Date(i.at).toUTCString()}</pubDate></item>`;
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${name}</title>` +
    `<link>http://example.org/${name}</link><description>${name}</description>${items.map(item).join("")}</channel></rss>`;
}

test("live arrivals past a member's daily cap raise and update the 'N more' link instead of showing", async () => {
  const f = fs.scope();
  const now = Date.now();
  const posts = Array.from({ length: 5 }, (_, i) => ({ id: `p${i}`, title: `Busy ${i}`, at: now - (i + 1) * MIN }));
  const quietPosts = [{ id: "q0", title: "Quiet 0", at: now - 2.5 * MIN }];
  f.set("/busy.xml", { body: rss("busy", posts) });
  f.set("/quiet.xml", { body: rss("quiet", quietPosts) });
  const busy = (await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/busy.xml") } })).body.feed.id;
  const quiet = (await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/quiet.xml") } })).body.feed.id;

  const ctx = await browser.newContext(); // one reader: the last visit is remembered across pages
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${w.url}/`);
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });
  assert.equal(await page.locator(`#river article[data-feed="${busy}"]`).count(), 5);
  assert.equal(await page.locator("p.more-from").count(), 0, "five: none more");

  // Two more posts: the socket brings both, the river shows neither and says so.
  posts.unshift({ id: "p5", title: "Busy 5", at: Date.now() - 2000 }, { id: "p6", title: "Busy 6", at: Date.now() - 1000 });
  f.set("/busy.xml", { body: rss("busy", posts) });
  assert.equal((await api(w.url, "POST", `/api/feeds/${busy}/refresh`)).body.new_entries, 2);
  const link = page.locator(`p.more-from[data-feed="${busy}"] a`);
  await link.waitFor({ timeout: 10000 });
  await page.waitForFunction(() => /2 more/.test(document.querySelector("p.more-from a")?.textContent || ""), null, { timeout: 10000 });
  assert.equal(await link.textContent(), "2 more from this member today");
  assert.equal(await link.getAttribute("href"), `/feeds/${busy}`);
  assert.equal(await page.locator(`#river article[data-feed="${busy}"]`).count(), 5, "still five shown");
  // It stands right after the member's fifth entry of the day.
  assert.equal(await page.evaluate((feed) => document.querySelector(`p.more-from[data-feed="${feed}"]`).previousElementSibling.dataset.dayRank, busy), "5");

  // One more: the link counts it; a quiet member's new post is shown as usual.
  posts.unshift({ id: "p7", title: "Busy 7", at: Date.now() - 500 });
  f.set("/busy.xml", { body: rss("busy", posts) });
  quietPosts.unshift({ id: "q1", title: "Quiet 1", at: Date.now() - 400 });
  f.set("/quiet.xml", { body: rss("quiet", quietPosts) });
  await api(w.url, "POST", `/api/feeds/${busy}/refresh`);
  await api(w.url, "POST", `/api/feeds/${quiet}/refresh`);
  await page.waitForFunction(() => /3 more/.test(document.querySelector("p.more-from a")?.textContent || ""), null, { timeout: 10000 });
  await page.locator(`#river article[data-feed="${quiet}"]`, { hasText: "Quiet 1" }).waitFor({ timeout: 10000 });
  assert.equal(await page.locator(`#river article[data-feed="${busy}"]`).count(), 5);
  assert.equal(await page.locator("p.more-from").count(), 1, "one link, updated");
  // A reload shows what the live page shows.
  await page.reload();
  assert.equal(await page.locator(`#river article[data-feed="${busy}"]`).count(), 5);
  assert.equal(await page.locator(`p.more-from[data-feed="${busy}"] a`).textContent(), "3 more from this member today");
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });

  // "New since your last visit": away, three more busy posts and one quiet one arrive; back,
  // the river counts the one it shows.
  await page.close();
  posts.unshift(...[8, 9, 10].map((i) => ({ id: `p${i}`, title: `Busy ${i}`, at: Date.now() - 300 + i })));
  f.set("/busy.xml", { body: rss("busy", posts) });
  quietPosts.unshift({ id: "q2", title: "Quiet 2", at: Date.now() - 100 });
  f.set("/quiet.xml", { body: rss("quiet", quietPosts) });
  await api(w.url, "POST", `/api/feeds/${busy}/refresh`);
  await api(w.url, "POST", `/api/feeds/${quiet}/refresh`);
  const back = await ctx.newPage();
  back.on("pageerror", (e) => errors.push(e.message));
  await back.goto(`${w.url}/`);
  await back.waitForSelector("#since-visit", { timeout: 20000 });
  assert.equal(await back.textContent("#since-visit"), "1 new entry since your last visit.");
  assert.equal(await back.locator("article.unseen").count(), 1);
  assert.equal(await back.locator(`p.more-from[data-feed="${busy}"] a`).textContent(), "6 more from this member today");
  assert.deepEqual(errors, []);
  await ctx.close();
});
