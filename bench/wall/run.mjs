// Wall time of public pages on `wrangler dev` (workerd, local D1): a ceiling for their CPU, since
// it includes D1, the runtime and the loopback. A planet of corpus feeds is loaded through the
// fixture feed server, then each page is requested sequentially, the edge cache off
// (PAGE_CACHE_SECONDS=0, as the e2e harness sets it), so each request renders.
//
//   node bench/wall/run.mjs > wall.json     (bench/invocations.sh runs it unless WALL=0)
//   env: CORPUS=dir, FEEDS=30 feeds added, REQUESTS=50 per page, DEADLINE_S=300
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startWorker, startFeedServer, api, sleep, ROOT } from "../../tests/support/harness.mjs";
import { stopper } from "../support/stopper.mjs";

const num = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const CORPUS = path.resolve(ROOT, process.env.CORPUS || "../shared/corpus/real-feeds");
const FEEDS = num("FEEDS", 30);
const REQUESTS = num("REQUESTS", 50);
const PAGES = ["/", "/titles", "/feed.atom"];
const say = (...a) => console.error("bench/wall:", ...a);

const { cleanups, cleanup, deadline } = stopper("bench/wall", num("DEADLINE_S", 300), 2);
deadline.unref();

if (!existsSync(CORPUS)) {
  say(`corpus folder ${CORPUS} is absent; nothing to measure`);
  console.log("null");
  process.exit(0);
}
// Feeds of 20+ items and at most 300 KB, in name order (the same planet every run).
const files = readdirSync(CORPUS).sort().map((name) => {
  const body = readFileSync(path.join(CORPUS, name));
  const items = (body.toString("latin1").match(/<(item|entry)[\s>]/g) || []).length;
  return { name, body, items };
}).filter((x) => x.items >= 20 && x.body.length <= 300_000).slice(0, FEEDS);

const T0 = performance.now();
const fs = await startFeedServer();
cleanups.push(() => fs.close());
const w = await startWorker();
cleanups.push(() => w.stop());
say(`wrangler dev up in ${((performance.now() - T0) / 1000).toFixed(0)} s; adding ${files.length} corpus feeds`);
for (const x of files) {
  fs.set(`/${x.name}`, { body: x.body, etag: true });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: fs.url(`/${x.name}`) } });
  if (r.status !== 201) say(`add ${x.name}: ${r.status}`);
}
// Follow-up alarms finish the bodies carried over: wait until the entry count stays put.
let last = -1;
for (let i = 0; i < 60; i++) {
  const h = (await api(w.url, "GET", "/healthz", { token: null })).body || {};
  const n = h.entries ?? (h.counts && h.counts.entries) ?? JSON.stringify(h).length;
  if (n === last) break;
  last = n;
  await sleep(2000);
}
say(`planet loaded (${last} entries); ${REQUESTS} requests of each page`);

const pct = (s, p) => s[Math.min(s.length - 1, Math.round((s.length - 1) * p))];
const out = { feeds: files.length, entries: last, requests: REQUESTS, pages: [] };
for (const page of PAGES) {
  const times = [];
  let bytes = 0;
  for (let i = 0; i < REQUESTS + 5; i++) {
    const t = performance.now();
    const r = await fetch(w.url + page);
    const body = await r.arrayBuffer();
    const ms = performance.now() - t;
    if (r.status !== 200) throw new Error(`${page}: ${r.status}`);
    bytes = body.byteLength;
    if (i >= 5) times.push(ms);
  }
  times.sort((a, b) => a - b);
  out.pages.push({ page, bytes, p50_ms: pct(times, 0.5), p99_ms: pct(times, 0.99), max_ms: times[times.length - 1] });
  say(`${page}: p50 ${pct(times, 0.5).toFixed(1)} ms`);
}
console.log(JSON.stringify(out));
cleanup();
process.exit(0);
