// Budgets, read from the platform's own counters (METER=1 logs D1's result meta and the DO
// SQLite cursors' rows read/written per statement): an unchanged refresh (a 304, an identical
// 200) writes no D1 row and only its alarm in DO storage; a cron run over many feeds writes
// only what changed and calls no object that is not overdue.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, until, sleep } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([
    startWorker({ vars: { METER: "1" } }),
    startFeedServer(),
  ]);
});
after(async () => { w?.stop(); await fs?.close(); });

/** The meter lines worker `wk` logged since `mark` (an offset into its wrangler log). */
function meter(mark, wk = w) {
  return [...wk.log().slice(mark).matchAll(/orrery-meter (\{.*\})/g)].map((m) => JSON.parse(m[1]));
}
const sum = (lines, k, field) => lines.filter((l) => l.k === k).reduce((n, l) => n + (l[field] ?? 0), 0);

/** Runs `action`, waits until its meter lines include `last` (a predicate) and settle, and
 *  returns them from the line that starts its invocation (`first`), so late lines of what
 *  came before are not counted. */
async function metered(action, first, last, wk = w) {
  await sleep(300); // let the log of what came before arrive first
  const mark = wk.log().length;
  const result = await action();
  await until(() => meter(mark, wk).some(last), { what: "the meter lines" });
  await sleep(300);
  const lines = meter(mark, wk);
  const start = lines.findIndex(first);
  assert.ok(start >= 0, "the invocation's first line is in the log");
  return { result, lines: lines.slice(start) };
}
const refreshStart = (l) => l.k === "inv" && l.kind === "worker" && l.what.endsWith("/refresh");
const cronStart = (l) => l.k === "inv" && l.kind === "cron";

async function subscribe(f, path, spec, wk = w) {
  f.set(path, spec);
  const r = await api(wk.url, "POST", "/api/feeds", { body: { url: f.url(path) } });
  assert.equal(r.status, 201, r.text);
  return r.body.feed.id;
}

const refresh = (id) => api(w.url, "POST", `/api/feeds/${id}/refresh`);
/** The refresh's own lines: a refresh by hand through the API also records who asked in the
 *  audit log (one row), which an alarm's refresh never does. */
const refreshOnly = (lines) => {
  const audit = lines.filter((l) => l.k === "d1" && l.what === "audit");
  assert.equal(audit.length, 1, "the API records the refresh by hand once");
  return lines.filter((l) => !(l.k === "d1" && l.what === "audit"));
};
const alarmSet = (l) => l.k === "sql" && l.what === "alarm.set";

test("a 304 refresh writes no D1 row and only its alarm in DO storage", async () => {
  const f = fs.scope();
  const id = await subscribe(f, "/alpha.xml", { file: "e2e/alpha.xml", etag: true });
  const { result, lines: all } = await metered(() => refresh(id), refreshStart, alarmSet);
  const lines = refreshOnly(all);
  assert.equal(result.body.outcome, "not_modified");
  assert.equal(sum(lines, "d1", "written"), 0, JSON.stringify(lines));
  const writes = lines.filter((l) => l.k === "sql" && l.written > 0);
  assert.deepEqual(writes.map((l) => l.what), ["alarm.set"], JSON.stringify(lines));
  assert.equal(sum(lines, "sql", "written"), 1);
  // The counters are real: the first fetch did write (entries, seen rows, state).
});

test("an identical 200 (no validators) is not parsed again and writes only its alarm", async () => {
  const f = fs.scope();
  const id = await subscribe(f, "/alpha.xml", { file: "e2e/alpha.xml" });
  const { result, lines: all } = await metered(() => refresh(id), refreshStart, alarmSet);
  const lines = refreshOnly(all);
  assert.equal(result.body.outcome, "ok");
  assert.equal(result.body.new_entries, 0);
  assert.equal(sum(lines, "d1", "written"), 0, JSON.stringify(lines));
  assert.deepEqual(lines.filter((l) => l.k === "sql" && l.written > 0).map((l) => l.what), ["alarm.set"]);
  assert.ok(!lines.some((l) => l.what === "seen.get"), "no entry was looked up: nothing was parsed");
});

test("a changed document writes its entries and the feed row, and the meter sees them", async () => {
  const f = fs.scope();
  const id = await subscribe(f, "/alpha.xml", { file: "e2e/alpha.xml", etag: true });
  f.set("/alpha.xml", { file: "e2e/alpha-v2.xml", etag: true });
  const { result, lines } = await metered(() => refresh(id), refreshStart, alarmSet);
  assert.equal(result.body.new_entries, 1);
  assert.equal(result.body.updated_entries, 1);
  assert.ok(sum(lines, "d1", "written") >= 3, "two entries and the feed row (plus indexes)");
  assert.ok(lines.some((l) => l.k === "sql" && l.what === "state.put"));
});

test("a cron run over many healthy feeds writes nothing and calls no object", async () => {
  const f = fs.scope();
  const recent = new Date(Date.now() - 3600_000).toUTCString();
  for (let i = 0; i < 12; i++) {
    const body = `<rss version="2.0"><channel><title>Feed ${i}</title><item><guid>f${i}</guid><title>Recent ${i}</title><pubDate>${recent}</pubDate></item></channel></rss>`;
    await subscribe(f, `/feed${i}.xml`, { body, etag: true });
  }
  const cron = () => fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  const pruned = (l) => l.k === "d1" && l.what === "entries_prune_older";
  const { lines } = await metered(cron, cronStart, pruned);
  assert.equal(sum(lines, "d1", "written"), 0, JSON.stringify(lines));
  assert.equal(lines.filter((l) => l.k === "sub").length, 0, "no feed is overdue: no object is called");
  assert.equal(lines.filter((l) => l.k === "inv" && l.kind !== "cron").length, 0, "no other invocation");
  const reads = lines.filter((l) => l.k === "d1").map((l) => `${l.what}:${l.read}`).join(" ");
  assert.ok(sum(lines, "d1", "read") < 20, `cron reads only the overdue index and old entries: ${reads}`);
});

test("uncached public routes are rate-limited per client address; other clients are not", async (t) => {
  const lw = await startWorker({ vars: { RATE_LIMITS: "on" } });
  t.after(() => lw.stop());
  const from = (ip, p) => fetch(lw.url + p, { headers: { "CF-Connecting-IP": ip } });
  // The limiter counts in fixed 60 s windows: 250 requests put more than 120 in one window
  // even when a window boundary falls among them (140 did not, once).
  const statuses = [];
  for (let i = 0; i < 250 && !statuses.includes(429); i++) statuses.push((await from("198.51.100.7", "/api/entries")).status);
  assert.equal(statuses[0], 200);
  assert.ok(statuses.includes(429), "a client past 120 a minute is refused");
  const refused = await from("198.51.100.7", "/api/entries");
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "60");
  assert.equal((await refused.json()).error.code, "rate_limited");
  const search = await from("198.51.100.7", "/search?q=x");
  assert.equal(search.status, 429, "search shares the client's budget");
  assert.match(await search.text(), /Too many requests/);
  assert.equal((await from("198.51.100.8", "/api/entries")).status, 200, "another client is served");
  // Without the page cache (PAGE_CACHE_SECONDS=0 here) every view of the river is a miss, and a
  // miss spends the same budget; a cached page does not (tests/e2e/quota_abuse.test.mjs).
  assert.equal((await from("198.51.100.7", "/")).status, 429, "a miss of the river is counted too");
});

test("a feed of 300,000 random guids: read up to the item cap, stored up to retention, its seen table pruned, the feed beside it untouched", { timeout: 300_000 }, async () => {
  const f = fs.scope();
  // ~10 MB (under the 10 MiB cap) of fresh random guids on every request.
  const doc = () => {
    const parts = ['<?xml version="1.0"?><rss version="2.0"><channel><title>Churn</title>'];
    for (let i = 0; i < 300_000; i++) parts.push(`<item><guid>${Math.random().toString(36).slice(2, 9)}</guid></item>`);
    parts.push("</channel></rss>");
    return parts.join("");
  };
  const churn = await subscribe(f, "/churn.xml", () => ({ body: doc() }));
  const calm = await subscribe(f, "/calm.xml", { file: "e2e/alpha.xml" });
  const calmBefore = (await api(w.url, "GET", `/api/entries?limit=200&feed=${calm}`, { token: null })).body.entries;
  const mark = w.log().length;
  for (let i = 0; i < 4; i++) {
    const r = await refresh(churn);
    assert.equal(r.body.outcome, "ok", r.text);
    assert.equal(r.body.status, "active");
    assert.ok(r.body.new_entries <= 100, `at most what retention keeps (${r.body.new_entries})`);
  }
  // 2,000 identities remembered per document; past 6,000 the oldest are forgotten.
  await until(() => meter(mark).some((l) => l.what === "seen.delete"), { what: "a seen prune" });
  const pruned = sum(meter(mark).filter((l) => l.what === "seen.delete"), "sql", "written");
  assert.ok(pruned >= 2000, `the oldest seen rows went (${pruned} rows)`);
  const feed = (await api(w.url, "GET", `/api/feeds/${churn}`, { token: null })).body;
  assert.ok(feed.entry_count <= 100, `retention holds (${feed.entry_count})`);
  // The feed beside it still refreshes and has lost nothing.
  const r = await refresh(calm);
  assert.ok(["ok", "not_modified"].includes(r.body.outcome), r.text);
  const calmAfter = (await api(w.url, "GET", `/api/entries?limit=200&feed=${calm}`, { token: null })).body.entries;
  assert.deepEqual(calmAfter.map((e) => e.id), calmBefore.map((e) => e.id));
});
