// Retention: cron prunes past RETENTION_MAX_ENTRIES per feed (and RETENTION_DAYS), keeping
// the newest; pruned entries do not come back on the next fetch, and other feeds keep theirs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: { RETENTION_MAX_ENTRIES: "2", RETENTION_DAYS: "0" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const titles = async (id) =>
  (await api(w.url, "GET", `/api/entries?feed=${id}`, { token: null })).body.entries.map((e) => e.title).sort();

test("cron keeps the newest entries per feed and pruned ones stay gone", async () => {
  fs.set("/alpha.xml", { file: "e2e/alpha.xml" });
  fs.set("/beta.atom", { file: "e2e/beta.atom" });
  const alpha = (await api(w.url, "POST", "/api/feeds", { body: { url: fs.url("/alpha.xml") } })).body.feed.id;
  const beta = (await api(w.url, "POST", "/api/feeds", { body: { url: fs.url("/beta.atom") } })).body.feed.id;
  assert.equal((await titles(alpha)).length, 3);
  const cron = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  assert.equal(cron.status, 200);
  assert.deepEqual(await titles(alpha), ["Second post", "Third post"]);
  assert.deepEqual(await titles(beta), ["Beta one", "Beta two"]);
  assert.equal((await api(w.url, "GET", `/api/feeds/${alpha}`, { token: null })).body.entry_count, 2);
  assert.doesNotMatch(w.log(), /prune failed/);
  // The feed still lists the pruned entry; it is not stored again as new.
  const r = await api(w.url, "POST", `/api/feeds/${alpha}/refresh`);
  assert.equal(r.body.new_entries, 0);
  assert.deepEqual(await titles(alpha), ["Second post", "Third post"]);
});
