// Browser tier: headless Chromium opens the river, the live script connects, and a new
// entry found by a refresh appears at the top without a reload.
// One wrangler dev and one browser per file; every test subscribes its own feed on its own
// fixture path (fs.scope()) and closes the pages it opened, so each test runs alone and in any order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { launchChromium } from "../support/browser.mjs";
import { startWorker, startFeedServer, api, ROOT } from "../support/harness.mjs";

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

/** Subscribes the planet to a fixture-server URL and returns the new feed's id. */
async function subscribe(url) {
  const created = await api(w.url, "POST", "/api/feeds", { body: { url } });
  assert.equal(created.status, 201, created.text);
  return created.body.feed.id;
}

test("the river connects live and shows a new entry at the top without a reload", async () => {
  const f = fs.scope();
  f.set("/live.xml", { file: "e2e/beta.atom" });
  const id = await subscribe(f.url("/live.xml"));

  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${w.url}/`);
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });
  assert.equal(await page.textContent("#live-status .label"), "live");
  assert.match(await page.textContent("#live-status .readers"), /1 reading/);
  const firstBefore = await page.getAttribute("#river article", "data-id");
  const countBefore = await page.locator("#river article").count();
  const navigations = [];
  page.on("framenavigated", (f) => navigations.push(f.url()));

  // The publisher adds an entry; a refresh finds it; the page shows it at the top.
  const now = new Date().toISOString();
  f.set("/live.xml", {
    body: `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Beta Blog</title><id>urn:beta</id>
      <entry><title>Brand new &lt;b&gt;live&lt;/b&gt; entry</title><id>urn:beta:3</id><link href="https://beta.example/3"/>
      <updated>${now}</updated><content type="html">&lt;p&gt;fresh&lt;/p&gt;</content></entry></feed>`,
    type: "application/atom+xml",
  });
  const r = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  assert.equal(r.body.new_entries, 1);
  await page.waitForFunction((before) => {
    const a = document.querySelector("#river article");
    return a && a.dataset.id !== before;
  }, firstBefore, { timeout: 10000 });
  const top = await page.textContent("#river article h3");
  // An Atom text title: its escaped markup is text, shown as typed, never as markup.
  assert.match(top, /Brand new <b>live<\/b> entry/);
  assert.equal(await page.locator(`#river article[data-feed="${id}"] b`).count(), 0, "title rendered as text");
  // Exactly one article more than before: the new one, once (other tests' feeds may be on the river too).
  assert.equal(await page.locator("#river article").count(), countBefore + 1);
  assert.equal(await page.locator("#river article h3", { hasText: "Brand new <b>live</b> entry" }).count(), 1);
  assert.deepEqual(navigations, [], "no reload");
  assert.deepEqual(errors, []);
  await page.screenshot({ path: path.join(ROOT, "target", "live-timeline.png"), fullPage: false });
  await page.close();
});

test("with JavaScript off the page is still a plain page", async () => {
  const f = fs.scope();
  f.set("/plain.atom", { file: "e2e/beta.atom" });
  await subscribe(f.url("/plain.atom"));
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(`${w.url}/`);
  assert.ok((await page.locator("#river article").count()) >= 1);
  assert.equal(await page.getAttribute("html", "data-live"), null);
  await ctx.close();
});

test("a reader scrolled down gets a 'new entries' pill instead of a moving page", async () => {
  // Enough entries to scroll.
  let items = "";
  for (let i = 1; i <= 30; i++) {
    items += `<entry><title>Scroll ${i}</title><id>urn:scroll:${i}</id><link href="https://s.example/${i}"/>
      <updated>${new Date(Date.now() - (40 - i) * 60000).toISOString()}</updated>
      <content type="html">&lt;p&gt;${"Long paragraph. ".repeat(40)}&lt;/p&gt;</content></entry>`;
  }
  const feedXml = (extra) => `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Scroll</title><id>urn:scroll</id>${extra}${items}</feed>`;
  const f = fs.scope();
  f.set("/scroll.atom", { body: feedXml(""), type: "application/atom+xml" });
  const id = await subscribe(f.url("/scroll.atom"));

  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  await page.goto(`${w.url}/feeds/${id}`);
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });
  await page.evaluate(() => window.scrollTo(0, 3000));
  await page.waitForFunction(() => window.scrollY > 2000);
  const anchor = await page.evaluate(() => {
    const a = [...document.querySelectorAll("#river article")].find((el) => el.getBoundingClientRect().top > 0);
    return { id: a.dataset.id, top: a.getBoundingClientRect().top };
  });

  f.set("/scroll.atom", {
    body: feedXml(`<entry><title>Arrived while scrolled</title><id>urn:scroll:new</id><link href="https://s.example/new"/>
      <updated>${new Date().toISOString()}</updated><content type="html">hi</content></entry>`),
    type: "application/atom+xml",
  });
  const r = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  assert.equal(r.body.new_entries, 1);
  // The per-feed page follows its feed's own socket.
  await page.waitForSelector("#new-pill:not([hidden])", { state: "attached", timeout: 10000 });
  assert.ok(await page.isVisible("#new-pill button"), "the pill is shown");
  assert.equal(await page.textContent("#new-pill .count"), "1");
  assert.match(await page.textContent("#river article h3"), /Arrived while scrolled/);
  const after = await page.evaluate((id) => document.querySelector(`article[data-id="${id}"]`).getBoundingClientRect().top, anchor.id);
  assert.ok(Math.abs(after - anchor.top) < 5, `the article being read stayed put (${anchor.top} → ${after})`);
  await page.click("#new-pill button");
  await page.waitForFunction(() => window.scrollY < 50);
  await page.waitForSelector("#new-pill[hidden]", { state: "attached" });
  await page.close();
});

test("when the server goes away the page says so, reconnects, and catches up without a reload", async () => {
  const f = fs.scope();
  f.set("/comeback.atom", { file: "e2e/beta.atom" });
  const id = await subscribe(f.url("/comeback.atom"));
  const page = await browser.newPage();
  const navigations = [];
  await page.goto(`${w.url}/`);
  page.on("framenavigated", (f) => navigations.push(f.url()));
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });

  w.kill();
  await page.waitForFunction(() => document.documentElement.dataset.live === "reconnecting", null, { timeout: 10000 });
  assert.equal(await page.textContent("#live-status .label"), "reconnecting");

  await w.restart();
  f.set("/comeback.atom", {
    body: `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Beta Blog</title><id>urn:beta</id>
      <entry><title>Published while you were away</title><id>urn:beta:away</id><link href="https://beta.example/away"/>
      <updated>${new Date().toISOString()}</updated><content type="html">back</content></entry></feed>`,
    type: "application/atom+xml",
  });
  const r = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  assert.equal(r.body.new_entries, 1);
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 45000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#river article h3")].some((h) => h.textContent.includes("away")), null, { timeout: 15000 });
  const copies = await page.locator("#river article h3", { hasText: "Published while you were away" }).count();
  assert.equal(copies, 1, "exactly once");
  assert.deepEqual(navigations, [], "no reload");
  await page.close();
});

test("an entry stored as a summary is replaced in place by its whole post, without a reload", async () => {
  const f = fs.scope();
  const item = (i, words) => `<item><guid>grow-${i}</guid><title>Growing ${i}</title><link>https://grow.example/${i}</link>
    <pubDate>${new Date(Date.now() - (40 - i) * 60_000).toUTCString()}</pubDate>
    <description>&lt;p&gt;Opening ${i} ${"word ".repeat(words)}&lt;/p&gt;&lt;p&gt;The very end of ${i}.&lt;/p&gt;</description></item>`;
  const rss = (items) => `<?xml version="1.0"?><rss version="2.0"><channel><title>Growing</title>${items}</channel></rss>`;
  f.set("/grow.xml", { body: rss(item(0, 10)) });
  const id = await subscribe(f.url("/grow.xml"));

  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const navigations = [];
  await page.goto(`${w.url}/feeds/${id}`);
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });
  page.on("framenavigated", (fr) => navigations.push(fr.url()));

  // Twenty long posts at once: more than one invocation cleans, so most arrive as summaries.
  f.set("/grow.xml", { body: rss([item(0, 10), ...Array.from({ length: 20 }, (_, i) => item(i + 1, 6000))].join("")) });
  const r = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  assert.equal(r.body.new_entries, 20);
  assert.ok(r.body.carried_entries > 0, "some entries wait for a follow-up");
  // A summary is on screen first (inserted live), then its whole post replaces it.
  await page.waitForSelector('#river article[data-whole="0"]', { timeout: 10000 });
  const briefId = await page.getAttribute('#river article[data-whole="0"]', "data-id");
  assert.match(await page.textContent(`#entry-${briefId}`), /whole post is on its way/);
  await page.waitForFunction((bid) => {
    const a = document.getElementById(`entry-${bid}`);
    return a && a.dataset.whole === "1";
  }, briefId, { timeout: 60000 });
  await page.waitForFunction(() => document.querySelectorAll('#river article[data-whole="0"]').length === 0, null, { timeout: 60000 });
  const article = page.locator(`#entry-${briefId}`);
  assert.equal(await page.locator(`#entry-${briefId}`).count(), 1, "replaced, not added");
  assert.doesNotMatch(await article.textContent(), /on its way/);
  // Long: collapsed in the river with a "Read more" that is a plain link to the whole post.
  const more = article.locator(".read-more a");
  assert.equal(await more.getAttribute("href"), `/entries/${briefId}`);
  assert.match(await article.innerHTML(), /The very end of/, "the whole post is there, collapsed");
  assert.equal(await page.locator("#river article").count(), 21);
  assert.deepEqual(navigations, [], "no reload");
  assert.deepEqual(errors, []);
  await page.close();
});
