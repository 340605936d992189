// Feed ingestion against the real runtime: the write API, dedupe, conditional GET,
// redirects, failures and backoff, retention of other feeds' data, cron.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, until } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const add = (url, opts) => api(w.url, "POST", "/api/feeds", { body: { url }, ...opts });
const entries = async (q = "") => (await api(w.url, "GET", `/api/entries?limit=200${q}`, { token: null })).body.entries;
const feed = async (id) => (await api(w.url, "GET", `/api/feeds/${id}`, { token: null })).body;
const refresh = async (id) => api(w.url, "POST", `/api/feeds/${id}/refresh`);

let alphaId;

test("writes need the admin token", async () => {
  fs.set("/alpha.xml", { file: "e2e/alpha.xml", etag: true });
  for (const token of [null, "wrong"]) {
    const r = await add(fs.url("/alpha.xml"), { token });
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
  const r = await add(fs.url("/alpha.xml"));
  assert.equal(r.status, 201, r.text);
  alphaId = r.body.feed.id;
  assert.equal(r.body.refresh.new_entries, 3);
  assert.match(r.body.feed.title, /Alpha/);
  const list = await entries(`&feed=${alphaId}`);
  assert.deepEqual(list.map((e) => e.title).sort(), ["First post", "Second post", "Third post"]);
  assert.equal(list.length, 3);
  const first = list.find((e) => e.url === "https://alpha.example/posts/1");
  assert.ok(first, "entry with its permalink");
  assert.doesNotMatch(first.title, /<img/);
  assert.doesNotMatch(first.author ?? "", /<b>/);
  // Health shows the counts from D1.
  const h = (await api(w.url, "GET", "/healthz", { token: null })).body;
  assert.equal(h.feeds, 1);
  assert.equal(h.entries, 3);
  // The page shows them with every feed-derived string escaped and content sanitized.
  const html = await (await fetch(`${w.url}/`)).text();
  assert.match(html, /Second post/);
  assert.doesNotMatch(html, /<script>alert/);
  assert.doesNotMatch(html, /onerror=/i);
  assert.doesNotMatch(html, /javascript:alert/);
  assert.match(html, /&lt;script&gt;alert\(&quot;feed&quot;\)|&lt;script&gt;alert\("feed"\)|Alpha/);
  assert.match(html, /https:\/\/alpha\.example\/img\/a\.png/, "relative image made absolute");
});

test("the same URL twice is a 409", async () => {
  const r = await add(fs.url("/alpha.xml"));
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, "conflict");
});

test("a page that is not a feed is refused with a reason and not kept", async () => {
  fs.set("/page.html", { file: "e2e/not-a-feed.html", type: "text/html" });
  const r = await add(fs.url("/page.html"));
  assert.equal(r.status, 422);
  assert.match(r.body.error.message, /page\.html/);
  const feeds = (await api(w.url, "GET", "/api/feeds", { token: null })).body.feeds;
  assert.equal(feeds.filter((f) => f.url.endsWith("/page.html")).length, 0);
});

test("refreshing an unchanged feed uses the 304 path and adds nothing", async () => {
  const before = fs.hits("/alpha.xml");
  const r = await refresh(alphaId);
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, "not_modified");
  assert.equal(r.body.new_entries, 0);
  assert.equal(fs.hits("/alpha.xml"), before + 1);
  assert.equal((await entries(`&feed=${alphaId}`)).length, 3);
});

test("unchanged content without validators adds no duplicates", async () => {
  fs.set("/alpha.xml", { file: "e2e/alpha.xml" }); // no ETag now: full body every time
  const r = await refresh(alphaId);
  assert.equal(r.body.outcome, "ok");
  assert.equal(r.body.new_entries, 0);
  assert.equal(r.body.updated_entries, 0);
  assert.equal((await entries(`&feed=${alphaId}`)).length, 3);
});

test("a changed feed adds only the new entry and updates the edited one in place", async () => {
  const ids = new Map((await entries(`&feed=${alphaId}`)).map((e) => [e.url, e.id]));
  fs.set("/alpha.xml", { file: "e2e/alpha-v2.xml", etag: true });
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
  fs.set("/beta.atom", { file: "e2e/beta.atom" });
  const created = await add(fs.url("/beta.atom"));
  assert.equal(created.status, 201, created.text);
  const id = created.body.feed.id;
  fs.set("/beta-new.atom", { file: "e2e/beta.atom" });
  fs.set("/beta.atom", { status: 302, headers: { location: "/beta-new.atom" } });
  await refresh(id);
  assert.equal((await feed(id)).url, fs.url("/beta.atom"));
  fs.set("/beta.atom", { status: 301, headers: { location: "/beta-new.atom" } });
  const r = await refresh(id);
  assert.equal(r.body.outcome, "ok");
  assert.equal((await feed(id)).url, fs.url("/beta-new.atom"));
  assert.equal((await entries(`&feed=${id}`)).length, 2, "no duplicates after the move");
});

test("a 301 to a URL another subscription already has keeps the feed working where it was", async () => {
  fs.set("/twin-a.xml", { file: "e2e/beta.atom" });
  fs.set("/twin-b.xml", { file: "e2e/beta.atom" });
  const a = (await add(fs.url("/twin-a.xml"))).body.feed.id;
  await add(fs.url("/twin-b.xml"));
  fs.set("/twin-a.xml", { status: 301, headers: { location: "/twin-b.xml" } });
  const r = await refresh(a);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.outcome, "ok");
  assert.equal((await feed(a)).url, fs.url("/twin-a.xml"));
});

test("redirect loops fail with a clear error", async () => {
  fs.set("/loop-a.xml", { file: "e2e/alpha.xml" });
  const created = await add(fs.url("/loop-a.xml"));
  // Same guids as alpha but another feed: stored separately.
  assert.equal(created.status, 201);
  const id = created.body.feed.id;
  fs.set("/loop-a.xml", { status: 301, headers: { location: "/loop-b.xml" } });
  fs.set("/loop-b.xml", { status: 302, headers: { location: "/loop-a.xml" } });
  const r = await refresh(id);
  assert.equal(r.body.outcome, "failed");
  assert.match(r.body.error, /redirect loop/);
});

test("500s back off, show as failing after 3, and leave other feeds alone", async () => {
  fs.set("/flaky.xml", { file: "e2e/beta.atom" });
  const created = await add(fs.url("/flaky.xml"));
  const id = created.body.feed.id;
  const alphaBefore = await entries(`&feed=${alphaId}`);
  fs.set("/flaky.xml", { status: 500, body: "oops" });
  let last;
  const nexts = [];
  for (let i = 0; i < 3; i++) {
    last = await refresh(id);
    assert.equal(last.body.outcome, "failed");
    nexts.push(last.body.next_fetch_at - Date.now());
  }
  assert.match(last.body.error, /500/);
  assert.ok(nexts[2] > nexts[0], `backoff grows: ${nexts}`);
  const f = await feed(id);
  assert.equal(f.status, "failing");
  assert.equal(f.consecutive_failures, 3);
  assert.match(f.last_error, /500/);
  assert.equal((await entries(`&feed=${id}`)).length, 2, "stored entries untouched");
  assert.deepEqual(await entries(`&feed=${alphaId}`), alphaBefore);
  assert.equal((await feed(alphaId)).status, "active");
  const page = await (await fetch(`${w.url}/feeds`)).text();
  assert.match(page, /failing/);
  // Recovery resets the count.
  fs.set("/flaky.xml", { file: "e2e/beta.atom" });
  assert.equal((await refresh(id)).body.outcome, "ok");
  assert.equal((await feed(id)).status, "active");
});

test("429 with Retry-After waits as told and is not a failure; 410 deactivates", async () => {
  fs.set("/busy.xml", { file: "e2e/beta.atom" });
  const id = (await add(fs.url("/busy.xml"))).body.feed.id;
  fs.set("/busy.xml", { status: 429, headers: { "retry-after": "120" } });
  const r = await refresh(id);
  assert.equal(r.body.outcome, "retry_later");
  const wait = r.body.next_fetch_at - Date.now();
  assert.ok(wait > 100_000 && wait <= 121_000, `waits ~120 s, got ${wait}`);
  assert.equal((await feed(id)).consecutive_failures, 0);
  fs.set("/busy.xml", { status: 410, body: "gone" });
  assert.equal((await refresh(id)).body.outcome, "gone");
  assert.equal((await feed(id)).status, "gone");
});

test("cron's watchdog gets a waiting feed fetched", async () => {
  fs.set("/later.xml", { status: 503, headers: { "retry-after": "1" } });
  const r = await add(fs.url("/later.xml"));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.refresh.outcome, "retry_later");
  const id = r.body.feed.id;
  fs.set("/later.xml", { file: "e2e/beta.atom" });
  const cron = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  assert.equal(cron.status, 200);
  const list = await until(async () => {
    const l = await entries(`&feed=${id}`);
    return l.length === 2 && l;
  }, { what: "entries from the cron-driven fetch" });
  assert.equal(list.length, 2);
});

test("deleting a feed removes it and its entries", async () => {
  fs.set("/doomed.xml", { file: "e2e/beta.atom" });
  const id = (await add(fs.url("/doomed.xml"))).body.feed.id;
  assert.equal((await entries(`&feed=${id}`)).length, 2);
  const del = await api(w.url, "DELETE", `/api/feeds/${id}`);
  assert.equal(del.status, 200);
  assert.equal((await api(w.url, "GET", `/api/feeds/${id}`, { token: null })).status, 404);
  assert.equal((await entries(`&feed=${id}`)).length, 0);
  assert.equal((await entries(`&feed=${alphaId}`)).length, 4, "other feeds keep theirs");
});

test("a first fetch stores the newest 50 entries; the older ones never come back as new", async () => {
  let items = "";
  for (let i = 1; i <= 70; i++) {
    const d = new Date(Date.UTC(2026, 9, 1) + i * 3600_000).toUTCString();
    items += `<item><title>Archive ${i}</title><link>https://big.example/${i}</link><guid>big-${i}</guid><pubDate>${d}</pubDate><description>Body ${i}</description></item>`;
  }
  const xml = `<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title><link>https://big.example/</link>${items}</channel></rss>`;
  fs.set("/big.xml", { body: xml });
  const r = await add(fs.url("/big.xml"));
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
