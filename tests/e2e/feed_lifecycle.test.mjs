// Feed ingestion against the real runtime: the write API, dedupe, conditional GET,
// redirects, failures and backoff, retention of other feeds' data, cron.
// One wrangler dev per file; every test subscribes its own feeds on its own fixture paths
// (fs.scope()) and asserts only about them, so each test runs alone and in any order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, until, sleep } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const add = (url, opts) => api(w.url, "POST", "/api/feeds", { body: { url }, ...opts });
const entries = async (q = "") => (await api(w.url, "GET", `/api/entries?limit=200${q}`, { token: null })).body.entries;
const feed = async (id) => (await api(w.url, "GET", `/api/feeds/${id}`, { token: null })).body;
const refresh = async (id) => api(w.url, "POST", `/api/feeds/${id}/refresh`);

/** Serves the alpha fixture (3 entries, with an ETag) on the test's own path and subscribes it. */
async function addAlpha(f) {
  f.set("/alpha.xml", { file: "e2e/alpha.xml", etag: true });
  const r = await add(f.url("/alpha.xml"));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.refresh.new_entries, 3);
  return r.body.feed.id;
}

test("writes need the admin token", async () => {
  const f = fs.scope();
  f.set("/alpha.xml", { file: "e2e/alpha.xml", etag: true });
  for (const token of [null, "wrong"]) {
    const r = await add(f.url("/alpha.xml"), { token });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "unauthorized");
  }
  assert.equal((await api(w.url, "DELETE", "/api/feeds/1", { token: null })).status, 401);
  assert.equal((await api(w.url, "POST", "/api/feeds/1/refresh", { token: "nope" })).status, 401);
});

test("bad requests get 4xx JSON errors", async () => {
  const notJson = await api(w.url, "POST", "/api/feeds", { raw: "{url:" });
  assert.equal(notJson.status, 400);
  assert.equal(notJson.body.error.code, "bad_request");
  const scheme = await add("file:///etc/passwd");
  assert.equal(scheme.status, 422);
  assert.match(scheme.body.error.message, /http/);
  // Loopback is allowed in tests; other private ranges never are.
  const priv = await add("http://10.1.2.3/feed.xml");
  assert.equal(priv.status, 422);
  assert.match(priv.body.error.message, /private or internal/);
  const limit = await api(w.url, "GET", "/api/entries?limit=abc", { token: null });
  assert.equal(limit.status, 400);
  assert.equal((await api(w.url, "GET", "/api/feeds/999", { token: null })).status, 404);
});

test("adding a feed fetches it and stores its entries, escaped", async () => {
  const f = fs.scope();
  f.set("/alpha.xml", { file: "e2e/alpha.xml", etag: true });
  const health = async () => (await api(w.url, "GET", "/healthz", { token: null })).body;
  const h0 = await health();
  const r = await add(f.url("/alpha.xml"));
  assert.equal(r.status, 201, r.text);
  const alphaId = r.body.feed.id;
  assert.equal(r.body.refresh.new_entries, 3);
  assert.match(r.body.feed.title, /Alpha/);
  const list = await entries(`&feed=${alphaId}`);
  assert.deepEqual(list.map((e) => e.title).sort(), ["First post", "Second post", "Third post"]);
  assert.equal(list.length, 3);
  const first = list.find((e) => e.url === "https://alpha.example/posts/1");
  assert.ok(first, "entry with its permalink");
  assert.doesNotMatch(first.title, /<img/);
  assert.doesNotMatch(first.author ?? "", /<b>/);
  // Health shows the counts from D1: this feed and its 3 entries more than before.
  const h = await health();
  assert.equal(h.feeds, h0.feeds + 1);
  assert.equal(h.entries, h0.entries + 3);
  // The feed's page shows them with every feed-derived string escaped and content sanitized.
  // (Its own page, not the home river: other tests' feeds may fill the river's first page.)
  const html = await (await fetch(`${w.url}/feeds/${alphaId}`)).text();
  assert.match(html, /Second post/);
  assert.doesNotMatch(html, /<script>alert/);
  assert.doesNotMatch(html, /onerror=/i);
  assert.doesNotMatch(html, /javascript:alert/);
  assert.match(html, /&lt;script&gt;alert\(&quot;feed&quot;\)|&lt;script&gt;alert\("feed"\)|Alpha/);
  assert.match(html, /https:\/\/alpha\.example\/img\/a\.png/, "relative image made absolute");
});

test("the same URL twice is a 409", async () => {
  const f = fs.scope();
  await addAlpha(f);
  const r = await add(f.url("/alpha.xml"));
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, "conflict");
});

test("a page that is not a feed is refused with a reason and not kept", async () => {
  const f = fs.scope();
  f.set("/page.html", { file: "e2e/not-a-feed.html", type: "text/html" });
  const r = await add(f.url("/page.html"));
  assert.equal(r.status, 422);
  assert.match(r.body.error.message, /page\.html/);
  const feeds = (await api(w.url, "GET", "/api/feeds", { token: null })).body.feeds;
  assert.equal(feeds.filter((x) => x.url.endsWith(f.path("/page.html"))).length, 0);
});

test("refreshing an unchanged feed uses the 304 path and adds nothing", async () => {
  const f = fs.scope();
  const alphaId = await addAlpha(f);
  const before = f.hits("/alpha.xml");
  const r = await refresh(alphaId);
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, "not_modified");
  assert.equal(r.body.new_entries, 0);
  assert.equal(f.hits("/alpha.xml"), before + 1);
  assert.equal((await entries(`&feed=${alphaId}`)).length, 3);
});

test("unchanged content without validators adds no duplicates", async () => {
  const f = fs.scope();
  const alphaId = await addAlpha(f);
  f.set("/alpha.xml", { file: "e2e/alpha.xml" }); // no ETag now: full body every time
  const r = await refresh(alphaId);
  assert.equal(r.body.outcome, "ok");
  assert.equal(r.body.new_entries, 0);
  assert.equal(r.body.updated_entries, 0);
  assert.equal((await entries(`&feed=${alphaId}`)).length, 3);
});

test("a changed feed adds only the new entry and updates the edited one in place", async () => {
  const f = fs.scope();
  const alphaId = await addAlpha(f);
  const ids = new Map((await entries(`&feed=${alphaId}`)).map((e) => [e.url, e.id]));
  f.set("/alpha.xml", { file: "e2e/alpha-v2.xml", etag: true });
  const r = await refresh(alphaId);
  assert.equal(r.body.new_entries, 1);
  assert.equal(r.body.updated_entries, 1);
  const list = await entries(`&feed=${alphaId}`);
  assert.equal(list.length, 4);
  const third = list.find((e) => e.url === "https://alpha.example/posts/3");
  assert.equal(third.title, "Third post (edited)");
  assert.equal(third.id, ids.get("https://alpha.example/posts/3"), "edited in place, same id");
  const fourth = list.find((e) => e.url === "https://alpha.example/posts/4");
  assert.ok(fourth.id > Math.max(...ids.values()), "new entry gets a new, larger id");
});

test("a 301 moves the feed; a 302 does not", async () => {
  const f = fs.scope();
  f.set("/beta.atom", { file: "e2e/beta.atom" });
  const created = await add(f.url("/beta.atom"));
  assert.equal(created.status, 201, created.text);
  const id = created.body.feed.id;
  f.set("/beta-new.atom", { file: "e2e/beta.atom" });
  f.set("/beta.atom", { status: 302, headers: { location: f.path("/beta-new.atom") } });
  await refresh(id);
  assert.equal((await feed(id)).url, f.url("/beta.atom"));
  f.set("/beta.atom", { status: 301, headers: { location: f.path("/beta-new.atom") } });
  const r = await refresh(id);
  assert.equal(r.body.outcome, "ok");
  assert.equal((await feed(id)).url, f.url("/beta-new.atom"));
  assert.equal((await entries(`&feed=${id}`)).length, 2, "no duplicates after the move");
});

test("a 301 to a URL another subscription already has keeps the feed working where it was", async () => {
  const f = fs.scope();
  f.set("/twin-a.xml", { file: "e2e/beta.atom" });
  f.set("/twin-b.xml", { file: "e2e/beta.atom" });
  const a = (await add(f.url("/twin-a.xml"))).body.feed.id;
  await add(f.url("/twin-b.xml"));
  f.set("/twin-a.xml", { status: 301, headers: { location: f.path("/twin-b.xml") } });
  const r = await refresh(a);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.outcome, "ok");
  assert.equal((await feed(a)).url, f.url("/twin-a.xml"));
});

test("redirect loops fail with a clear error", async () => {
  const f = fs.scope();
  f.set("/loop-a.xml", { file: "e2e/alpha.xml" });
  const created = await add(f.url("/loop-a.xml"));
  // Same guids as other tests' alpha feeds but another feed: stored separately.
  assert.equal(created.status, 201);
  const id = created.body.feed.id;
  f.set("/loop-a.xml", { status: 301, headers: { location: f.path("/loop-b.xml") } });
  f.set("/loop-b.xml", { status: 302, headers: { location: f.path("/loop-a.xml") } });
  const r = await refresh(id);
  assert.equal(r.body.outcome, "failed");
  assert.match(r.body.error, /redirect loop/);
});

test("500s back off, show as failing after 3, and leave other feeds alone", async () => {
  const f = fs.scope();
  const alphaId = await addAlpha(f); // the other feed, which must be left alone
  f.set("/flaky.xml", { file: "e2e/beta.atom" });
  const created = await add(f.url("/flaky.xml"));
  const id = created.body.feed.id;
  const alphaBefore = await entries(`&feed=${alphaId}`);
  f.set("/flaky.xml", { status: 500, body: "oops" });
  let last;
  const nexts = [];
  for (let i = 0; i < 3; i++) {
    last = await refresh(id);
    assert.equal(last.body.outcome, "failed");
    nexts.push(last.body.next_fetch_at - Date.now());
  }
  assert.match(last.body.error, /500/);
  assert.ok(nexts[2] > nexts[0], `backoff grows: ${nexts}`);
  const flaky = await feed(id);
  assert.equal(flaky.status, "failing");
  assert.equal(flaky.consecutive_failures, 3);
  assert.match(flaky.last_error, /500/);
  assert.equal((await entries(`&feed=${id}`)).length, 2, "stored entries untouched");
  assert.deepEqual(await entries(`&feed=${alphaId}`), alphaBefore);
  assert.equal((await feed(alphaId)).status, "active");
  // The feeds page shows this feed's row as failing.
  const page = await (await fetch(`${w.url}/feeds`)).text();
  const row = page.match(new RegExp(`<tr data-feed="${id}">.*?</tr>`, "s"));
  assert.ok(row, "the feed has a row on /feeds");
  assert.match(row[0], /failing/);
  // Recovery resets the count.
  f.set("/flaky.xml", { file: "e2e/beta.atom" });
  assert.equal((await refresh(id)).body.outcome, "ok");
  assert.equal((await feed(id)).status, "active");
});

test("429 with Retry-After waits as told and is not a failure; a 410 that persists deactivates", async () => {
  const f = fs.scope();
  f.set("/busy.xml", { file: "e2e/beta.atom" });
  const id = (await add(f.url("/busy.xml"))).body.feed.id;
  f.set("/busy.xml", { status: 429, headers: { "retry-after": "120" } });
  const r = await refresh(id);
  assert.equal(r.body.outcome, "retry_later");
  const wait = r.body.next_fetch_at - Date.now();
  assert.ok(wait > 100_000 && wait <= 121_000, `waits ~120 s, got ${wait}`);
  assert.equal((await feed(id)).consecutive_failures, 0);
  f.set("/busy.xml", { status: 410, body: "gone" });
  // One 410 can be a server's mistake: counted as a failure, the feed keeps being fetched.
  const first = (await refresh(id)).body;
  assert.equal(first.outcome, "failed");
  assert.match(first.error, /HTTP 410, 1 of 3/);
  assert.equal((await feed(id)).status, "active");
  assert.equal((await refresh(id)).body.outcome, "failed");
  assert.equal((await refresh(id)).body.outcome, "gone");
  assert.equal((await feed(id)).status, "gone");
});

test("cron's watchdog adopts imported feeds past the first batch, a few per run", async () => {
  // An import starts its first 20 feeds at once (one invocation has 50 subrequests);
  // the rest are overdue in D1 from the start, and cron's watchdog adopts them.
  const f = fs.scope();
  const n = 23;
  for (let i = 0; i < n; i++) f.set(`/imp${i}.atom`, { file: "e2e/beta.atom" });
  const outlines = Array.from({ length: n }, (_, i) => `<outline xmlUrl="${f.url(`/imp${i}.atom`)}"/>`).join("");
  const r = await api(w.url, "POST", "/api/opml", { raw: `<opml version="2.0"><body>${outlines}</body></opml>` });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added.length, n);
  const late = r.body.added.slice(20).map((a) => a.id);
  const first = r.body.added[0].id;
  await until(async () => (await entries(`&feed=${first}`)).length === 2, { what: "the first imported feed's entries" });
  await sleep(1500);
  for (const id of late) assert.equal((await entries(`&feed=${id}`)).length, 0, "not adopted before cron runs");
  for (let i = 20; i < n; i++) assert.equal(f.hits(`/imp${i}.atom`), 0);
  const cron = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  assert.equal(cron.status, 200);
  for (const id of late) {
    await until(async () => (await entries(`&feed=${id}`)).length === 2, { what: `entries of imported feed ${id}` });
  }
});

test("deleting a feed removes it and its entries", async () => {
  const f = fs.scope();
  const alphaId = await addAlpha(f); // another feed, which keeps its entries
  f.set("/doomed.xml", { file: "e2e/beta.atom" });
  const id = (await add(f.url("/doomed.xml"))).body.feed.id;
  assert.equal((await entries(`&feed=${id}`)).length, 2);
  const del = await api(w.url, "DELETE", `/api/feeds/${id}`);
  assert.equal(del.status, 200);
  assert.equal((await api(w.url, "GET", `/api/feeds/${id}`, { token: null })).status, 404);
  assert.equal((await entries(`&feed=${id}`)).length, 0);
  assert.equal((await entries(`&feed=${alphaId}`)).length, 3, "other feeds keep theirs");
});

test("a first fetch stores the newest 50 entries; the older ones never come back as new", async () => {
  let items = "";
  for (let i = 1; i <= 70; i++) {
    const d = new Date(Date.UTC(2026, 9, 1) + i * 3600_000).toUTCString();
    items += `<item><title>Archive ${i}</title><link>https://big.example/${i}</link><guid>big-${i}</guid><pubDate>${d}</pubDate><description>Body ${i}</description></item>`;
  }
  const xml = `<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title><link>https://big.example/</link>${items}</channel></rss>`;
  const f = fs.scope();
  f.set("/big.xml", { body: xml });
  const r = await add(f.url("/big.xml"));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.refresh.new_entries, 50);
  const id = r.body.feed.id;
  const stored = await entries(`&feed=${id}`);
  assert.equal(stored.length, 50);
  assert.ok(stored.some((e) => e.title === "Archive 70"));
  assert.ok(!stored.some((e) => e.title === "Archive 20"), "the oldest are not stored");
  // Newest first by id within the batch: ids grow with publication time.
  const byId = [...stored].sort((a, b) => a.id - b.id);
  assert.equal(byId.at(-1).title, "Archive 70");
  const again = await refresh(id);
  assert.equal(again.body.new_entries, 0);
  assert.equal((await entries(`&feed=${id}`)).length, 50);
});
