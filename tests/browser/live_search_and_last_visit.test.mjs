// Browser tier for "live for people" (issue 12): a search followed live from the search
// page receives a matching entry and not a non-matching one; "new since your last visit"
// marks exactly the entries that arrived while the tab was closed, says how many, keeps
// nothing but localStorage (no cookie), and its marks are readable in both themes, light
// and dark.
// One wrangler dev and one browser for the file; each test subscribes its own feeds on its
// own fixture paths (fs.scope()) and searches for words only its own entries carry.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../support/browser.mjs";
import { startWorker, startFeedServer, api } from "../support/harness.mjs";
import { contrastProblems } from "../support/contrast.mjs";

let w, fs, browser;

before(async () => {
  // Small pages, so a few entries reach past the first one.
  [w, fs] = await Promise.all([startWorker({ vars: { PAGE_SIZE: "5" } }), startFeedServer()]);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  w?.stop();
  await fs?.close();
});

/** A feed on the test's own path whose items the test changes: { id, publish(...titles) }. */
async function feedOf(f, first) {
  const items = [];
  const rss = () => `<?xml version="1.0"?><rss version="2.0"><channel><title>Fixture ${f.prefix}</title>
    ${items.map((it) => `<item><guid>${it.guid}</guid><title>${it.title}</title><link>https://x.example${f.prefix}/${it.guid}</link>
      <pubDate>${it.date}</pubDate><description>&lt;p&gt;${it.body}&lt;/p&gt;</description></item>`).join("")}</channel></rss>`;
  const add = (title, body = "A short post.") => {
    const n = items.length;
    items.unshift({ guid: `g${n}`, title, body, date: new Date(Date.now() - 60_000 + n * 1000).toUTCString() });
  };
  first.forEach((t) => add(t));
  f.set("/feed.xml", () => ({ body: rss(), type: "application/rss+xml" }));
  const created = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/feed.xml") } });
  assert.equal(created.status, 201, created.text);
  const id = created.body.feed.id;
  return {
    id,
    async publish(...titles) {
      titles.forEach((t) => add(t, `${t}, in a few words.`));
      const r = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
      assert.equal(r.body.new_entries, titles.length, r.text);
    },
    async ids() {
      return (await api(w.url, "GET", `/api/entries?feed=${id}&limit=100`, { token: null })).body.entries.map((e) => e.id);
    },
  };
}

const live = (page) => page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });

test("a search followed live receives a matching entry and not a non-matching one", async () => {
  const feed = await feedOf(fs.scope(), ["An earlier okapi post"]);
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${w.url}/search?q=okapi`);
  // The ranked results are there; the live section offers to follow, and nothing is open yet.
  assert.equal(await page.locator("ol.search-results li").count(), 1);
  assert.ok(await page.isVisible("#follow-live"));
  assert.equal(await page.textContent("#follow-live"), "Follow this search live");
  assert.equal(await page.getAttribute("html", "data-live"), "off");

  await page.click("#follow-live");
  await live(page);
  assert.equal(await page.getAttribute("#follow-live", "aria-pressed"), "true");
  assert.match(page.url(), /[?&]live=1/, "a reload keeps following");

  // First an entry that does not match, then one that does: the Room broadcasts in id order,
  // so once the match is on the page the other one has been decided too.
  await feed.publish("Giraffes at dawn");
  await feed.publish("Okapis at dusk");
  await page.waitForSelector("#live-search #river article", { timeout: 10000 });
  const shown = await page.locator("#live-search #river article h3").allTextContents();
  assert.deepEqual(shown.map((s) => s.trim()), ["Okapis at dusk"]);
  // The ranked results were not touched.
  assert.equal(await page.locator("ol.search-results li").count(), 1);

  // Reloaded with ?live=1 it follows again at once; "Stop following" closes the socket.
  await page.reload();
  await live(page);
  assert.equal(await page.getAttribute("#follow-live", "aria-pressed"), "true");
  await page.click("#follow-live");
  assert.equal(await page.getAttribute("html", "data-live"), "off");
  assert.doesNotMatch(page.url(), /live=1/);
  assert.deepEqual(errors, []);
  await page.close();
});


test("new since your last visit: exactly the entries that arrived while the tab was closed", async () => {
  const feed = await feedOf(fs.scope(), ["First post", "Second post", "Third post"]);
  const path = `/feeds/${feed.id}`;
  const ctx = await browser.newContext({ reducedMotion: "reduce" });

  // First visit: nothing is marked, and the newest entry shown is remembered.
  const first = await ctx.newPage();
  await first.goto(w.url + path);
  await live(first);
  assert.equal(await first.locator("article.unseen").count(), 0);
  assert.equal(await first.locator("#since-visit").count(), 0);
  const before = await feed.ids();
  const remembered = await first.evaluate((p) => localStorage.getItem(`orrery:seen:${p}`), path);
  assert.equal(Number(remembered), Math.max(...before));
  await first.close();

  // While the tab is closed, three entries arrive.
  await feed.publish("Arrived while away 1", "Arrived while away 2");
  await feed.publish("Arrived while away 3");
  const arrived = (await feed.ids()).filter((id) => !before.includes(id));
  assert.equal(arrived.length, 3);

  const again = await ctx.newPage();
  await again.goto(w.url + path);
  await live(again);
  await again.waitForSelector("#since-visit", { timeout: 15000 });
  const marked = await again.$$eval("article.unseen", (as) => as.map((a) => Number(a.dataset.id)));
  assert.deepEqual(marked.sort(), arrived.sort(), "exactly the entries that arrived meanwhile");
  assert.equal(await again.textContent("#since-visit"), "3 new entries since your last visit.");
  assert.equal(await again.locator("article.unseen .unseen-badge").count(), 3, "marked in words, not colour alone");
  // Remembered for next time: no cookie, no account.
  assert.equal(Number(await again.evaluate((p) => localStorage.getItem(`orrery:seen:${p}`), path)), Math.max(...arrived));
  assert.deepEqual(await ctx.cookies(), []);

  // An entry arriving while the page is open is shown live, not "since your last visit".
  await feed.publish("Arrived while reading");
  await again.waitForFunction(() => [...document.querySelectorAll("#river article h3")].some((h) => h.textContent.includes("while reading")));
  assert.equal(await again.locator("article.unseen").count(), 3);

  // The marks are readable in both themes, light and dark.
  const problems = [];
  for (const theme of ["default", "classic"]) {
    for (const scheme of ["light", "dark"]) {
      await again.emulateMedia({ colorScheme: scheme });
      await again.evaluate((t) => {
        document.querySelector('link[href^="/themes/"]').href = `/themes/${t}/theme.css`;
      }, theme);
      await again.waitForFunction((t) => [...document.styleSheets].some((s) => s.href?.includes(`/themes/${t}/`)), theme);
      for (const p of await contrastProblems(again, { scope: "#since-visit, .unseen-badge", bars: "article.entry.unseen" })) problems.push(`${theme} ${scheme}: ${p}`);
    }
  }
  assert.deepEqual(problems, []);

  // A third visit, nothing new: no marks.
  await again.close();
  const third = await ctx.newPage();
  await third.goto(w.url + path);
  await live(third);
  assert.equal(await third.locator("article.unseen").count(), 0);
  assert.equal(await third.locator("#since-visit").count(), 0);
  await ctx.close();
});

test("new since your last visit counts, through the API, those past the first page", async () => {
  const feed = await feedOf(fs.scope(), ["Old one", "Old two"]);
  const path = `/feeds/${feed.id}`;
  const ctx = await browser.newContext();
  const first = await ctx.newPage();
  await first.goto(w.url + path);
  await live(first);
  await first.close();
  const before = await feed.ids();

  await feed.publish(...Array.from({ length: 8 }, (_, i) => `Away ${i + 1}`));
  const arrived = (await feed.ids()).filter((id) => !before.includes(id));
  assert.equal(arrived.length, 8);

  const again = await ctx.newPage();
  await again.goto(w.url + path);
  await live(again);
  await again.waitForSelector("#since-visit", { timeout: 15000 });
  // The page shows 5 (PAGE_SIZE), all new; the 3 others are on the next page.
  const marked = await again.$$eval("article.unseen", (as) => as.map((a) => Number(a.dataset.id)));
  assert.equal(marked.length, 5);
  assert.ok(marked.every((id) => arrived.includes(id)));
  assert.equal(await again.textContent("#since-visit"), "8 new entries since your last visit (3 of them on older pages).");
  await ctx.close();
});
