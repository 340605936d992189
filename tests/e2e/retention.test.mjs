// Retention: each feed keeps its newest RETENTION_MAX_ENTRIES as it stores them, entries older
// than RETENTION_DAYS are never stored, and cron prunes the ones that age past it (a bounded
// batch per run); pruned entries do not come back on the next fetch, counts follow, and other
// feeds keep theirs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: { RETENTION_MAX_ENTRIES: "2", RETENTION_DAYS: "3" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** An RSS body whose items were published `ago` ms before now. */
function rss(name, agos) {
  const items = agos.map((ago, i) =>
    `<item><title>${name} ${i}</title><guid>${name}-${i}</guid><pubDate>${new Date(Date.now() - ago).toUTCString()}</pubDate></item>`).join("");
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${name}</title>${items}</channel></rss>`;
}

async function subscribe(f, name, agos) {
  f.set(`/${name}.xml`, { body: rss(name, agos) });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(`/${name}.xml`) } });
  assert.equal(r.status, 201, r.text);
  return r.body.feed.id;
}

const titles = async (id) =>
  (await api(w.url, "GET", `/api/entries?feed=${id}`, { token: null })).body.entries.map((e) => e.title).sort();
const count = async (id) => (await api(w.url, "GET", `/api/feeds/${id}`, { token: null })).body.entry_count;

test("a feed keeps its newest entries as it stores them, and trimmed ones stay gone", async () => {
  const f = fs.scope();
  const id = await subscribe(f, "capped", [3 * HOUR, 2 * HOUR, 1 * HOUR]);
  assert.deepEqual(await titles(id), ["capped 1", "capped 2"]);
  assert.equal(await count(id), 2);
  // The feed still lists the trimmed entry (and one new one): only the new one is stored.
  f.set("/capped.xml", { body: rss("capped", [3 * HOUR, 2 * HOUR, 1 * HOUR, 0]) });
  const r = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  assert.equal(r.body.new_entries, 1);
  assert.deepEqual(await titles(id), ["capped 2", "capped 3"]);
  assert.equal(await count(id), 2);
});

test("entries past the retention are not stored; cron prunes those that age past it", async (t) => {
  const f = fs.scope();
  const old = await subscribe(f, "aging", [5 * DAY, 2 * DAY, 1 * HOUR]);
  assert.deepEqual(await titles(old), ["aging 1", "aging 2"], "the 5-day-old entry is never stored");
  const fresh = await subscribe(f, "fresh", [2 * HOUR, 1 * HOUR]);
  // The deployment shortens its retention to 1 day: the 2-day-old entry has aged past it.
  await w.restart({ vars: { RETENTION_DAYS: "1" } });
  t.after(() => w.restart({ vars: { RETENTION_DAYS: "3" } }));
  const cron = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  assert.equal(cron.status, 200);
  assert.deepEqual(await titles(old), ["aging 2"]);
  assert.equal(await count(old), 1, "the count follows the prune");
  assert.deepEqual(await titles(fresh), ["fresh 0", "fresh 1"]);
  assert.doesNotMatch(w.log(), /prune failed/);
  f.set("/aging.xml", { body: rss("aging", [5 * DAY, 2 * DAY, 1 * HOUR, 0]) });
  const r = await api(w.url, "POST", `/api/feeds/${old}/refresh`);
  assert.equal(r.body.new_entries, 1, "only the new entry; the pruned one does not come back");
  assert.deepEqual(await titles(old), ["aging 2", "aging 3"]);
  assert.equal(await count(old), 2);
});
