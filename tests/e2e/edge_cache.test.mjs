// Edge page cache: shared pages are cached for PAGE_CACHE_SECONDS; a cached page may be
// behind what feeds' alarms stored since, and the socket's resume from the page's newest
// entry closes the gap. (A write through the admin or the API makes the location where it
// was made forget its pages: tests/e2e/quota_abuse.test.mjs.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, openSocket, until } from "../support/harness.mjs";

let w, fs;
before(async () => {
  // Feeds fetched every 2 s by their own alarms: new entries arrive without a write here.
  const vars = { PAGE_CACHE_SECONDS: "120", MIN_FETCH_INTERVAL_SECONDS: "2", DEFAULT_FETCH_INTERVAL_SECONDS: "2" };
  [w, fs] = await Promise.all([startWorker({ vars }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

test("the river is served from the edge cache, and resume catches a stale page up", async () => {
  // A member with nothing posted yet.
  const empty = `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Beta Blog</title>`
    + `<id>urn:beta</id><updated>2026-11-01T00:00:00Z</updated></feed>`;
  fs.set("/beta.atom", { body: empty, type: "application/atom+xml" });
  const added = await api(w.url, "POST", "/api/feeds", { body: { url: fs.url("/beta.atom") } });
  assert.equal(added.status, 201, added.text);
  const first = await fetch(`${w.url}/`);
  assert.equal(first.headers.get("x-orrery-cache"), "miss");
  assert.match(first.headers.get("cache-control"), /s-maxage=120/);
  const cachedHtml = await first.text();
  const second = await until(async () => {
    const r = await fetch(`${w.url}/`);
    return r.headers.get("x-orrery-cache") === "hit" && r;
  }, { what: "a cache hit" });
  assert.equal(await second.text(), cachedHtml);

  // The member posts: its alarm stores the entries (the API, never cached, sees them).
  fs.set("/beta.atom", { file: "e2e/beta.atom" });
  await until(async () => (await (await fetch(`${w.url}/api/entries`)).json()).entries.length === 2,
    { timeout: 30000, what: "the feed's alarm to store its entries" });
  const stale = await fetch(`${w.url}/`);
  assert.equal(stale.headers.get("x-orrery-cache"), "hit");
  assert.doesNotMatch(await stale.text(), /Beta one/, "the cached page is behind");

  // What the live script does on load: resume from the newest entry on the page (none here).
  const s = await openSocket(`${w.url.replace("http", "ws")}/ws`);
  await s.next((m) => m.type === "hello");
  s.send({ type: "resume", since: 0 });
  await s.next((m) => m.type === "synced");
  assert.deepEqual(s.entries().map((m) => m.entry.title).sort(), ["Beta one", "Beta two"]);
  s.close();

  // Personal and API responses are never cached.
  const apiResp = await fetch(`${w.url}/api/entries`);
  assert.equal(apiResp.headers.get("x-orrery-cache"), null);
  assert.equal((await apiResp.json()).entries.length, 2);
  assert.equal((await fetch(`${w.url}/admin`)).headers.get("x-orrery-cache"), null);
  // Another URL is another cache entry.
  assert.match(await (await fetch(`${w.url}/feeds`)).text(), /Beta Blog/);
});
