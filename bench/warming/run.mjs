// What warming pages after a refresh round would buy and cost (issue 21, row 11), on
// `wrangler dev` (workerd, local D1). A planet of corpus feeds is loaded through the fixture
// feed server; then each page the old planet warms (/, /titles, /feed.atom, /feed.rss) is
// requested ROUNDS times with the page cache off (each a miss: what the first visitor after a
// cache expiry waits, and what one warm spends: its rows come from the request's own
// invocation event, src/edge/meter.rs), then, on the same planet restarted with the cache on,
// ROUNDS times after one render (each a hit: what a warm would have given that visitor).
// Prints one JSON object; bench/warming/RESULTS.md turns it into the decision.
//
//   node bench/warming/run.mjs > warming.json
//   env: CORPUS=dir, FEEDS=30 feeds added, ROUNDS=20, DEADLINE_S=420
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startWorker, startFeedServer, api, sleep, invocationEvents, ROOT } from "../../tests/support/harness.mjs";
import { stopper } from "../support/stopper.mjs";

const num = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const CORPUS = path.resolve(ROOT, process.env.CORPUS || "../shared/corpus/real-feeds");
const FEEDS = num("FEEDS", 30);
const ROUNDS = num("ROUNDS", 20);
const PAGES = ["/", "/titles", "/feed.atom", "/feed.rss"];
const say = (...a) => console.error("bench/warming:", ...a);

const { cleanups, cleanup, deadline } = stopper("bench/warming", num("DEADLINE_S", 420), 2);
deadline.unref();

if (!existsSync(CORPUS)) {
  say(`corpus folder ${CORPUS} is absent; nothing to measure`);
  console.log("null");
  process.exit(0);
}
const files = readdirSync(CORPUS).sort().map((name) => {
  const body = readFileSync(path.join(CORPUS, name));
  const items = (body.toString("latin1").match(/<(item|entry)[\s>]/g) || []).length;
  return { name, body, items };
}).filter((x) => x.items >= 20 && x.body.length <= 300_000).slice(0, FEEDS);

const fs = await startFeedServer();
cleanups.push(() => fs.close());
const w = await startWorker({ vars: { PAGE_CACHE_SECONDS: "0" } });
cleanups.push(() => w.stop());
for (const x of files) {
  fs.set(`/${x.name}`, { body: x.body, etag: true });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: fs.url(`/${x.name}`) } });
  if (r.status !== 201) say(`add ${x.name}: ${r.status}`);
}
let last = -1;
for (let i = 0; i < 60; i++) {
  const h = (await api(w.url, "GET", "/healthz", { token: null })).body || {};
  if (h.entries === last) break;
  last = h.entries;
  await sleep(2000);
}
say(`planet loaded (${last} entries); ${ROUNDS} miss/hit pairs of each page`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(page) {
  const t = performance.now();
  const r = await fetch(w.url + page);
  const body = await r.arrayBuffer();
  return { ms: performance.now() - t, status: r.status, cache: r.headers.get("x-orrery-cache"), bytes: body.byteLength };
}
const out = { feeds: files.length, entries: last, rounds: ROUNDS, pages: [] };
for (const page of PAGES) {
  const miss = [], rows = [];
  let bytes = 0;
  for (let i = 0; i < ROUNDS + 1; i++) {
    const before = invocationEvents(w.log()).length;
    const m = await timed(page);
    if (m.status !== 200 || m.cache !== null) throw new Error(`${page}: ${m.status} ${m.cache}`);
    await sleep(100);
    const ev = invocationEvents(w.log()).slice(before).find((e) => e.kind === "worker" && e.status === 200);
    if (i === 0) continue; // the first render of each page warms the isolate's code paths
    miss.push(m.ms); rows.push(ev ? ev.d1_rows_read : NaN);
    bytes = m.bytes;
  }
  out.pages.push({ page, bytes, miss_p50_ms: median(miss), d1_rows_read_per_miss: median(rows) });
}
await w.restart({ vars: { PAGE_CACHE_SECONDS: "300" } });
for (const p of out.pages) {
  const first = await timed(p.page);
  if (first.cache !== "miss") throw new Error(`${p.page}: first view ${first.cache}`);
  const hit = [];
  for (let i = 0; i < ROUNDS; i++) {
    const h = await timed(p.page);
    if (h.cache !== "hit") throw new Error(`${p.page}: ${h.cache}`);
    hit.push(h.ms);
  }
  p.hit_p50_ms = median(hit);
  say(`${p.page}: miss ${p.miss_p50_ms.toFixed(1)} ms, hit ${p.hit_p50_ms.toFixed(1)} ms, ${p.d1_rows_read_per_miss} rows a miss`);
}
console.log(JSON.stringify(out));
cleanup();
process.exit(0);
