// The cost meter: what each operation costs in the units Cloudflare bills, read from the platform's
// own counters, and what a day of a planet costs at 100, 1,000 and 10,000 feeds.
//
// Two `wrangler dev` (workerd, local D1 + Durable Objects) with METER=1 log one `orrery-meter` line
// per invocation, per D1 statement (D1's result meta: rows read/written, database size), per DO
// SQLite statement or key-value/alarm call (the cursor's rowsRead/rowsWritten, or one row per call)
// and per subrequest. Each operation runs alone: take the log offset, do it, wait until its lines
// have settled, sum the lines since the offset. Only the scaling to a day is arithmetic (model.mjs).
//
//   node bench/cost/run.mjs                (Node >= 22; bench/cost/run.sh builds first and picks Node)
//   env: CORPUS=dir (default ../shared/corpus/real-feeds), DEADLINE_S=420,
//        COST_JSON=bench/cost/measured.json, COST_MD=bench/COST.md, COST_DOC=docs/budgets.md ("" = leave it)
//   node bench/cost/run.mjs --model-only   re-renders COST.md from COST_JSON without measuring
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { cpus, loadavg } from "node:os";
import { execFileSync } from "node:child_process";
import { startWorker, startFeedServer, api, openSocket, sleep, until, ROOT } from "../../tests/support/harness.mjs";
import { render, renderDoc, spliceDoc, largestBatch } from "./model.mjs";
import { stopper } from "../support/stopper.mjs";

const num = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const DEADLINE_S = num("DEADLINE_S", 420);
const CORPUS = path.resolve(ROOT, process.env.CORPUS || "../shared/corpus/real-feeds");
const COST_JSON = path.resolve(ROOT, process.env.COST_JSON || "bench/cost/measured.json");
const COST_MD = path.resolve(ROOT, process.env.COST_MD || "bench/COST.md");
// docs/budgets.md's "What it costs" block is rewritten too; COST_DOC= (empty) leaves it alone.
const DOC = process.env.COST_DOC === "" ? null : path.resolve(ROOT, process.env.COST_DOC || "docs/budgets.md");

/** Writes COST.md and docs/budgets.md's "What it costs" block (its links relative to that file). */
function publish(measured) {
  const md = render(measured);
  writeFileSync(COST_MD, md);
  const costLink = DOC ? path.relative(path.dirname(DOC), COST_MD).split(path.sep).join("/") : "";
  const doc = DOC && existsSync(DOC) ? spliceDoc(readFileSync(DOC, "utf8"), renderDoc(measured, undefined, costLink)) : null;
  if (doc) writeFileSync(DOC, doc);
  return md;
}
const POPULATE = num("POPULATE", 48); // corpus feeds subscribed besides the two measured adds
const EMPTY_IMPORT = 60; // empty feeds imported at once: 20 adopted by the import, 40 left to cron

if (process.argv.includes("--model-only")) {
  const md = publish(JSON.parse(readFileSync(COST_JSON, "utf8")));
  console.log(md);
  process.exit(0);
}
if (Number(process.versions.node.split(".")[0]) < 22) {
  console.error(`bench/cost: needs Node >= 22 (WebSocket global); this is ${process.version}`);
  process.exit(1);
}

// ---------- everything started here stops on success, failure, signal or deadline ----------
const { cleanups, cleanup, deadline } = stopper("bench/cost", DEADLINE_S, 2);
deadline.unref();

const say = (...a) => console.log("bench/cost:", ...a);
const T0 = performance.now();

// ---------- the meter: lines since an offset, each stamped with when it arrived ----------

/** Watches a worker's log: arrival time of every byte offset (sampled every 2 ms). */
function watch(w) {
  const samples = [[0, performance.now()]];
  let last = 0;
  const timer = setInterval(() => {
    const n = w.log().length;
    if (n !== last) { samples.push([n, performance.now()]); last = n; }
  }, 2);
  cleanups.push(() => clearInterval(timer));
  function arrival(off) {
    let lo = 0, hi = samples.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (samples[mid][0] > off) hi = mid; else lo = mid + 1; }
    return samples[lo][0] > off ? samples[lo][1] : performance.now();
  }
  return {
    w,
    mark: () => w.log().length,
    lines(from, to) {
      const text = w.log().slice(from, to);
      const out = [];
      for (const m of text.matchAll(/orrery-meter (\{.*\})/g)) {
        out.push({ ...JSON.parse(m[1]), t: arrival(from + m.index) });
      }
      return out;
    },
  };
}

/** Waits until `done(lines)` holds (if given), then until no meter line arrived for `quiet` ms. */
async function settle(M, mark, { done, quiet = 400, timeout = 30000 } = {}) {
  const end = Date.now() + timeout;
  if (done) await until(() => done(M.lines(mark)), { timeout, interval: 20, what: "an operation's meter lines" });
  let n = M.lines(mark).length, since = Date.now();
  while (Date.now() - since < quiet) {
    if (Date.now() > end) throw new Error("meter lines never settled");
    await sleep(25);
    const k = M.lines(mark).length;
    if (k !== n) { n = k; since = Date.now(); }
  }
  return M.lines(mark);
}

/** Sums meter lines into the billed units. */
function tally(lines) {
  const t = {
    worker: 0, cron: 0, doInv: 0, msgs: 0, alarms: 0, d1Read: 0, d1Written: 0, d1Stmts: 0,
    sqlRead: 0, sqlWritten: 0, sub: 0, subs: {}, invs: {}, size: null,
  };
  for (const l of lines) {
    if (l.k === "inv") {
      const key = `${l.kind} ${l.what}`;
      t.invs[key] = (t.invs[key] || 0) + 1;
      if (l.kind === "worker") t.worker++;
      else if (l.kind === "cron") t.cron++;
      else if (l.what === "socket.message") t.msgs++;
      else { t.doInv++; if (l.what === "alarm") t.alarms++; }
    } else if (l.k === "d1") {
      t.d1Read += l.read; t.d1Written += l.written; t.d1Stmts++; t.size = l.size;
    } else if (l.k === "sql") {
      t.sqlRead += l.read; t.sqlWritten += l.written;
    } else if (l.k === "sub") {
      t.sub++; t.subs[l.what] = (t.subs[l.what] || 0) + 1;
    }
  }
  t.doBilled = t.doInv + t.msgs / 20;
  return t;
}

const ops = {};
/** Records one measured operation. */
function record(key, name, lines, extra = {}) {
  const t = tally(lines);
  ops[key] = { name, ...t, ...extra, lines: lines.map(({ t: _t, ...l }) => l) };
  const o = ops[key];
  say(`${name}: worker ${o.worker} cron ${o.cron} DO ${o.doInv}${o.msgs ? `+${o.msgs}msg` : ""}`
    + ` D1 r/w ${o.d1Read}/${o.d1Written} (${o.d1Stmts} stmts) SQL r/w ${o.sqlRead}/${o.sqlWritten}`
    + ` sub ${o.sub}${o.wallMs != null ? ` ${o.wallMs.toFixed(0)} ms` : ""}`);
  return o;
}

/** Runs `action`, waits for its lines to settle, records them. */
async function measure(M, key, name, action, opts = {}) {
  const mark = M.mark();
  const t0 = performance.now();
  const result = await action();
  const wallMs = performance.now() - t0;
  const quiet = opts.quietFor ? opts.quietFor(result) : opts.quiet;
  const lines = await settle(M, mark, { ...opts, quiet });
  return { op: record(key, name, lines, { wallMs, ...(opts.extra ? opts.extra(result, lines) : {}) }), result, lines };
}

/** The next alarm of a FeedObject: the lines from its `inv alarm` to its `alarm.set`, and its wall time. */
async function nextAlarm(M, key, name, { timeout = 15000 } = {}) {
  const mark = M.mark();
  const span = await until(() => {
    const ls = M.lines(mark);
    const i = ls.findIndex((l) => l.k === "inv" && l.kind === "feed" && l.what === "alarm");
    if (i < 0) return null;
    const j = ls.findIndex((l, k) => k > i && l.k === "sql" && l.what === "alarm.set");
    return j < 0 ? null : ls.slice(i, j + 1);
  }, { timeout, interval: 10, what: `the alarm (${name})` });
  const wallMs = span[span.length - 1].t - span[0].t;
  return record(key, name, span, { wallMs });
}

// ---------- fixtures: synthetic feeds for the alarm probes, the real corpus for the rest ----------

const LOREM = "Orrery reads many feeds and pushes every new entry to the readers who are connected. "
  + "This paragraph stands in for a blog post of ordinary length, with a <a href=\"https://example.org/more\">link</a>, "
  + "<em>some emphasis</em> and a list of things it says. ";
function item(feed, i) {
  const html = `<p>${LOREM.repeat(3)}</p><ul><li>point ${i}.1</li><li>point ${i}.2</li></ul><p>${LOREM.repeat(2)}</p>`;
  // Hourly posts, each feed at its own minute past the hour: no two feeds' posts share a time.
  const minute = [...feed].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 3600, 7);
  const date = new Date(Date.UTC(2026, 9, 1) + i * 3600_000 + minute * 1000).toUTCString();
  return { guid: `urn:${feed}:${i}`, title: `${feed} post ${i}`, link: `https://${feed}.example/posts/${i}`, date, html };
}
/** RSS 2.0 of items 1..n (newest first), `edited` items with changed content, a given lastBuildDate. */
function rss(feed, n, { edited = [], built = "Thu, 01 Oct 2026 00:00:00 GMT" } = {}) {
  let items = "";
  for (let i = n; i >= 1; i--) {
    const it = item(feed, i);
    const html = edited.includes(i) ? `${it.html}<p>Update: corrected.</p>` : it.html;
    items += `<item><guid isPermaLink="false">${it.guid}</guid><title>${it.title}</title><link>${it.link}</link>`
      + `<pubDate>${it.date}</pubDate><description><![CDATA[${html}]]></description></item>\n`;
  }
  return `<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>${feed}</title>`
    + `<link>https://${feed}.example/</link><description>probe ${feed}</description><lastBuildDate>${built}</lastBuildDate>\n${items}</channel></rss>`;
}
const emptyFeed = (i) => `<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet ${i}</title><link>https://quiet${i}.example/</link><description>no posts yet</description></channel></rss>`;

function corpusFiles() {
  if (!existsSync(CORPUS)) return null;
  return readdirSync(CORPUS).sort().map((name) => {
    const file = path.join(CORPUS, name);
    const body = readFileSync(file);
    const items = (body.toString("latin1").match(/<(item|entry)[\s>]/g) || []).length;
    return { name, file, bytes: body.length, items };
  });
}

// ---------- phase 1 (worker A, the production schedule): adds, pages, sockets, cron, size ----------

async function phaseA(M, fs) {
  const w = M.w;
  const files = corpusFiles();
  const f = fs.scope();
  const out = { corpus: files ? CORPUS : null };
  const add = (url) => api(w.url, "POST", "/api/feeds", { body: { url } });
  const healthz = async () => (await api(w.url, "GET", "/healthz", { token: null })).body;
  // D1's size comes with any statement's meta; /healthz may answer from the isolate's copy
  // (15 s) without one, so the size is read by an API call, which is never kept.
  const sized = async () => (await api(w.url, "GET", "/api/entries?limit=1", { token: null })).body;
  const added = (r) => { if (r.status !== 201) throw new Error(`add failed: ${r.status} ${r.text}`); return r.body; };
  // An add with carried-over work keeps going on follow-up alarms (1 s apart): wait for them all.
  const addQuiet = (r) => (r && r.body && r.body.refresh && r.body.refresh.carried_entries > 0 ? 2500 : 400);

  const size0 = (await measure(M, "_size0", "D1 size (start)", () => sized())).op.size;

  // The corpus: a median-size feed, a big one (500 KB-2 MiB, >= 50 items), and the population.
  let median, big, pop;
  if (files) {
    const usable = files.filter((x) => x.items >= 5);
    const bySize = [...usable].sort((a, b) => a.bytes - b.bytes);
    median = bySize[Math.floor(bySize.length / 2)];
    big = usable.filter((x) => x.bytes >= 500_000 && x.bytes <= 2 * 1024 * 1024 && x.items >= 50)
      .sort((a, b) => b.bytes - a.bytes)[0];
    pop = usable.filter((x) => x.bytes <= 300_000 && x !== median && x !== big).slice(0, POPULATE);
  } else {
    const synth = (n, k) => ({ name: `synthetic-${n}`, body: Buffer.from(rss(`corpus${n}`, k)), bytes: 0, items: k });
    median = synth(0, 20); big = synth(1, 50);
    pop = Array.from({ length: POPULATE }, (_, i) => synth(i + 2, 20));
  }
  const serve = (x) => { f.set(`/${x.name}`, { body: x.body || readFileSync(x.file), etag: true }); return f.url(`/${x.name}`); };

  // Admin add of a typical feed (the first fetch included).
  const rMed = await measure(M, "add_median", `admin add, median corpus feed (${(median.bytes / 1024).toFixed(0)} KB, ${median.items} items)`,
    () => add(serve(median)), { quietFor: addQuiet, timeout: 60000 });
  const medianBody = added(rMed.result);
  Object.assign(ops.add_median, { stored: medianBody.refresh.new_entries, carried: medianBody.refresh.carried_entries });
  const medianId = medianBody.feed.id;

  // First fetch of a big feed: the add, then every follow-up alarm its carried-over work needs.
  const rBig = await measure(M, "add_big", `admin add, big corpus feed (${(big.bytes / 1024).toFixed(0)} KB, ${big.items} items), with its follow-ups`,
    () => add(serve(big)), { quiet: 2500, timeout: 90000 });
  const bigBody = added(rBig.result);
  Object.assign(ops.add_big, { stored: bigBody.refresh.new_entries, carried: bigBody.refresh.carried_entries, followUps: ops.add_big.alarms });
  const bigTotal = (await api(w.url, "GET", `/api/feeds/${bigBody.feed.id}`, { token: null })).body;

  // The population, in two halves with page views measured after each (reads vs feeds and entries).
  const perAdd = [];
  async function populate(list) {
    for (const x of list) {
      const mark = M.mark();
      const r = await add(serve(x));
      const lines = await settle(M, mark, { quiet: addQuiet(r), timeout: 60000 });
      if (r.status === 201) perAdd.push({ name: x.name, bytes: x.bytes, stored: r.body.refresh.new_entries, carried: r.body.refresh.carried_entries, batch: largestBatch(lines), ...tally(lines) });
    }
  }
  const pageRounds = [];
  const pages = [
    ["/", "river `/`"], [`/feeds/${medianId}`, "one feed `/feeds/{id}`"], ["/feeds", "feed list `/feeds`"],
    ["/titles", "`/titles`"], ["/feed.atom", "`/feed.atom`"], ["/feeds.opml", "`/feeds.opml`"],
    ["/healthz", "`/healthz` (not cached)"], ["/api/entries", "`/api/entries` (not cached)"],
    ["/api/feeds", "`/api/feeds` (not cached)"], ["/search?q=update", "`/search?q=update` (not cached)"],
  ];
  async function pageRound(round) {
    const h = await healthz();
    // Cache keys hold only what a page reads (a `?bench=` is dropped), so a write makes the
    // pages misses: an empty patch makes this location forget every page below
    // (core::routes::pages_a_write_changes). The member list is cached apart (an hour) and
    // forgotten by it too: warm it through a page not measured, so the misses below are what
    // a reader's miss costs (the model adds the list's hourly refresh itself).
    await api(w.url, "PATCH", `/api/feeds/${medianId}`, { body: {} });
    await (await fetch(`${w.url}/foafroll.xml`)).text();
    const row = { round, feeds: h.feeds, entries: h.entries, pages: {} };
    for (const [p, name] of pages) {
      const url = `${p}${p.includes("?") ? "&" : "?"}bench=${round}`;
      const get = async () => { const r = await fetch(w.url + url); await r.text(); return r.headers.get("x-orrery-cache"); };
      const miss = await measure(M, `_page${round}${p}`, `${name} miss (${h.feeds} feeds, ${h.entries} entries)`, get,
        { done: (ls) => ls.some((l) => l.k === "inv"), quiet: 250 });
      const strip = ({ lines: _l, ...x }) => x;
      const cell = { miss: { ...strip(ops[`_page${round}${p}`]), cache: miss.result } };
      if (miss.result === "miss") {
        const hit = await measure(M, `_hit${round}${p}`, `${name} hit`, get, { done: (ls) => ls.some((l) => l.k === "inv"), quiet: 250 });
        cell.hit = { ...strip(ops[`_hit${round}${p}`]), cache: hit.result };
      }
      row.pages[p] = cell;
    }
    pageRounds.push(row);
  }
  const half = Math.floor(pop.length / 2);
  say(`subscribing ${half} corpus feeds`);
  await populate(pop.slice(0, half));
  await pageRound(1);
  say(`subscribing ${pop.length - half} more`);
  await populate(pop.slice(half));
  await pageRound(2);

  // D1 bytes per stored entry: database size growth over every entry the adds stored.
  await sleep(16000); // past the isolate's copy of /healthz: its counts as they are now
  const hz = await healthz();
  const sizeNow = (await measure(M, "_size1", "D1 size (after the adds)", () => sized())).op.size;
  out.size = { before: size0, after: sizeNow, entries: hz.entries, feeds: hz.feeds };

  // Sockets: a reader of the whole planet, then one of a single feed.
  const wsBase = w.url.replace("http", "ws");
  let sock;
  await measure(M, "ws_connect", "socket connect `/ws` (Room)", async () => {
    sock = await openSocket(`${wsBase}/ws`);
    return sock.next((m) => m.type === "hello");
  }, { done: (ls) => ls.some((l) => l.k === "inv" && l.kind === "room"), quiet: 300 });
  cleanups.push(() => sock.close());
  const latest = hz.latest;
  await measure(M, "resume_recent", "resume, 5 entries behind", async () => {
    sock.send({ type: "resume", since: latest - 5 });
    return sock.next((m) => m.type === "synced");
  }, { quiet: 300 });
  sock.messages.length = 0;
  const rz = await measure(M, "resume_zero", "resume from 0 (a client with no state)", async () => {
    sock.send({ type: "resume", since: 0 });
    const synced = await sock.next((m) => m.type === "synced", 30000);
    return { synced, entries: sock.entries().length };
  }, { quiet: 300 });
  ops.resume_zero.entriesSent = rz.result.entries;
  sock.messages.length = 0;
  await measure(M, "subscribe", "subscribe message (choose feeds)", async () => {
    sock.send({ type: "subscribe", feeds: [medianId] });
    return sock.next((m) => m.type === "subscribed");
  }, { quiet: 300 });
  // `ping` is answered by the runtime's auto-response: it should wake nothing and log nothing.
  const pm = M.mark();
  const t0 = performance.now();
  sock.send("ping");
  const pong = await sock.next((m) => m.raw === "pong");
  const pingWall = performance.now() - t0;
  await sleep(600);
  record("ping", "`ping` → `pong` (auto-response)", M.lines(pm), { wallMs: pingWall, answered: pong.raw });
  let fsock;
  await measure(M, "feed_ws_connect", "socket connect `/feeds/{id}/ws` (FeedObject)", async () => {
    fsock = await openSocket(`${wsBase}/feeds/${medianId}/ws`);
    return fsock.next((m) => m.type === "hello");
  }, { done: (ls) => ls.some((l) => l.k === "inv" && l.kind === "feed"), quiet: 300 });
  fsock.close();
  sock.close();

  // An OPML import of empty feeds: 20 adopted by the import (their first fetches follow at once),
  // 40 left for cron's watchdog, which adopts at most 40 per run: its largest invocation.
  const g = fs.scope();
  let outlines = "";
  for (let i = 0; i < EMPTY_IMPORT; i++) {
    g.set(`/quiet${i}.xml`, { body: emptyFeed(i), etag: true });
    outlines += `<outline type="rss" text="Quiet ${i}" xmlUrl="${g.url(`/quiet${i}.xml`)}"/>`;
  }
  const opml = `<?xml version="1.0"?><opml version="2.0"><head><title>bench</title></head><body>${outlines}</body></opml>`;
  const imp = await measure(M, "opml_import", `OPML import of ${EMPTY_IMPORT} feeds (incl. the first fetches of the 20 it adopts)`,
    () => api(w.url, "POST", "/api/opml", { raw: opml }), { quiet: 800, timeout: 60000 });
  if (imp.result.status !== 200 || imp.result.body.added.length !== EMPTY_IMPORT) throw new Error(`import: ${imp.result.text}`);
  ops.opml_import.firstFetches = ops.opml_import.alarms;
  // Page views once more with 60 more feeds (same entries): what grows with the number of feeds.
  await pageRound(3);

  // Cron. The first run has 40 overdue feeds (the import's rest) and, because the corpus's posts are
  // older than RETENTION_DAYS, entries to prune; the next runs prune the rest; the last finds nothing.
  const cron = () => fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`).then((r) => r.text());
  const cronDone = (ls) => ls.some((l) => l.k === "d1" && l.what === "entries_prune_older");
  const entriesBeforeCron = (await healthz()).entries;
  const bl = await measure(M, "_cron_backlog_all", "cron run with a backlog (all lines, incl. the adopted feeds' first fetches)", cron,
    { done: cronDone, quiet: 800, timeout: 60000 });
  // The cron invocation's own part: its D1 statements, its calls, the objects' answers (call.ensure);
  // the adopted feeds' first-fetch alarms that follow at once are counted apart.
  const WATCHDOG_D1 = new Set(["feeds_overdue", "feeds_set_overdue"]);
  const isPrune = (l) => l.k === "d1" && l.what === "entries_prune_older";
  const own = bl.lines.filter((l) => (l.k === "inv" && (l.kind === "cron" || l.what === "call.ensure"))
    || (l.k === "d1" && WATCHDOG_D1.has(l.what)) || isPrune(l) || (l.k === "sub" && l.what === "object.call"));
  record("cron_backlog", "cron run, 40 feeds overdue + pruning (its own invocation and the 40 object calls)", own,
    { wallMs: ops._cron_backlog_all.wallMs, followingAlarms: ops._cron_backlog_all.alarms,
      pruneStmts: own.filter(isPrune).length, pruneRead: own.filter(isPrune).reduce((s, l) => s + l.read, 0),
      pruneWritten: own.filter(isPrune).reduce((s, l) => s + l.written, 0),
      note: "DO SQLite rows of the 40 Ensure calls are not separable from the first fetches that follow them" });
  const entriesAfterBacklog = (await healthz()).entries;
  ops.cron_backlog.pruned = entriesBeforeCron - entriesAfterBacklog;
  let prev = entriesAfterBacklog;
  for (let run = 0; run < 6; run++) {
    const r = await measure(M, "_cron", "cron run", cron, { done: cronDone, quiet: 500 });
    const now = (await healthz()).entries;
    const pruned = prev - now;
    prev = now;
    if (pruned > 0 && !ops.cron_prune) record("cron_prune", `cron run, none overdue, pruning ${pruned} entries past RETENTION_DAYS`, r.lines, { wallMs: r.op.wallMs, pruned });
    if (pruned === 0) { record("cron_idle", `cron run, ${hz.feeds + EMPTY_IMPORT} feeds, none overdue, nothing to prune`, r.lines, { wallMs: r.op.wallMs, feeds: hz.feeds + EMPTY_IMPORT }); break; }
  }
  if (!ops.cron_idle) throw new Error("cron never became idle");
  out.pruned = { before: entriesBeforeCron, after: prev, retentionDays: 365 };

  out.pageRounds = pageRounds;
  out.perAdd = perAdd;
  out.big = { name: big.name, bytes: big.bytes, items: big.items, entriesStored: bigTotal && bigTotal.entry_count };
  out.median = { name: median.name, bytes: median.bytes, items: median.items };
  return out;
}

// ---------- phase 2 (worker B, alarms every ~3 s): every kind of alarm, one probe feed at a time ----------

async function phaseB(M, fs) {
  const w = M.w;
  const out = {};
  // A reader on the Room, so publishes really broadcast.
  const reader = await openSocket(`${w.url.replace("http", "ws")}/ws`);
  await reader.next((m) => m.type === "hello");
  cleanups.push(() => reader.close());

  // Probe A: 25 posts (about a real feed's item count), below the retention cap.
  const a = fs.scope();
  let n = 25;
  a.set("/a.xml", { body: rss("probe-a", n), etag: true });
  const ra = await api(w.url, "POST", "/api/feeds", { body: { url: a.url("/a.xml") } });
  if (ra.status !== 201) throw new Error(`probe A: ${ra.text}`);
  const idA = ra.body.feed.id;
  await nextAlarm(M, "_a304_0", "alarm, 304 (warm-up)");
  for (let i = 1; i <= 3; i++) await nextAlarm(M, `alarm_304_${i}`, `alarm, 304 Not Modified #${i}`);
  a.set("/a.xml", { body: rss("probe-a", n) }); // no validators from now on
  for (let i = 1; i <= 2; i++) await nextAlarm(M, `alarm_same_${i}`, `alarm, identical 200 (no validators) #${i}`);
  let k = 0;
  a.set("/a.xml", () => ({ body: rss("probe-a", n, { built: new Date(Date.UTC(2026, 10, 1) + ++k * 1000).toUTCString() }) }));
  await nextAlarm(M, "alarm_changed_1", "alarm, changed document, nothing new (lastBuildDate) #1");
  a.set("/a.xml", { body: rss("probe-a", n) });
  await nextAlarm(M, "alarm_changed_2", "alarm, changed document, nothing new (lastBuildDate) #2");
  a.set("/a.xml", { body: rss("probe-a", n, { edited: [n - 2] }) });
  await nextAlarm(M, "alarm_edit1", "alarm, 1 edited entry");
  n += 1;
  a.set("/a.xml", { body: rss("probe-a", n, { edited: [n - 3] }) });
  await nextAlarm(M, "alarm_new1", "alarm, 1 new entry (below the retention cap)");
  n += 3;
  a.set("/a.xml", { body: rss("probe-a", n, { edited: [n - 6] }) });
  await nextAlarm(M, "alarm_new3", "alarm, 3 new entries (below the retention cap)");
  a.set("/a.xml", { body: "boom", status: 500 });
  await nextAlarm(M, "alarm_fail", "alarm, fetch failed (HTTP 500)");
  await api(w.url, "DELETE", `/api/feeds/${idA}`);
  out.readerGot = reader.entries().length;

  // Probe B: at the retention cap (RETENTION_MAX_ENTRIES=40 on this worker): each new entry deletes the oldest.
  const b = fs.scope();
  let m = 40;
  b.set("/b.xml", { body: rss("probe-b", m), etag: true });
  const rb = await api(w.url, "POST", "/api/feeds", { body: { url: b.url("/b.xml") } });
  if (rb.status !== 201) throw new Error(`probe B: ${rb.text}`);
  await nextAlarm(M, "_b304", "alarm, 304 (probe B warm-up)");
  m += 1;
  b.set("/b.xml", { body: rss("probe-b", m), etag: true });
  await nextAlarm(M, "alarm_new1_cap", "alarm, 1 new entry at the retention cap");
  m += 3;
  b.set("/b.xml", { body: rss("probe-b", m), etag: true });
  await nextAlarm(M, "alarm_new3_cap", "alarm, 3 new entries at the retention cap");
  const fb = (await api(w.url, "GET", `/api/feeds/${rb.body.feed.id}`, { token: null })).body;
  out.capEntryCount = fb.entry_count;
  await api(w.url, "DELETE", `/api/feeds/${rb.body.feed.id}`);
  out.readerGotTotal = reader.entries().length;
  out.readerExpected = 25 + 4 + 40 + 4; // both first fetches publish too
  out.cap = 40;
  reader.close();
  return out;
}

// ---------- phase 3 (worker B): a mixed workload, to check that the operations add up ----------

/** 10 feeds on ~3 s alarms (2 of them publishing), readers that reconnect and ping, page views and
 *  cron runs, all at once for MIX_S seconds; then the lines are counted by kind of operation and the
 *  isolated measurements are summed over those counts. */
async function phaseMix(M, fs) {
  const w = M.w;
  const MIX_S = num("MIX_S", 30);
  const g = fs.scope();
  const feeds = [];
  for (let i = 0; i < 10; i++) {
    const f = { path: `/mix${i}.xml`, n: 25, publishes: i < 2 };
    g.set(f.path, { body: rss(`mix${i}`, f.n), etag: true });
    const r = await api(w.url, "POST", "/api/feeds", { body: { url: g.url(f.path) } });
    if (r.status !== 201) throw new Error(`mix feed: ${r.text}`);
    f.id = r.body.feed.id;
    feeds.push(f);
  }
  await sleep(1500);
  const wsUrl = `${w.url.replace("http", "ws")}/ws`;
  const mark = M.mark();
  const timers = [];
  const every = (ms, fn) => { const t = setInterval(() => { fn().catch(() => {}); }, ms); timers.push(t); };
  // Readers: 10 connect now, resume 5 behind, ping every 3 s; each reconnects once half-way.
  const readers = [];
  const connect = async () => {
    const s = await openSocket(wsUrl);
    const hello = await s.next((m) => m.type === "hello");
    s.send({ type: "resume", since: Math.max(0, hello.latest - 5) });
    await s.next((m) => m.type === "synced");
    return s;
  };
  for (let i = 0; i < 10; i++) readers.push(await connect());
  cleanups.push(() => readers.forEach((s) => s.close()));
  every(3000, async () => { for (const s of readers) if (s.ws.readyState === 1) s.send("ping"); });
  setTimeout(async () => {
    for (let i = 0; i < readers.length; i++) { readers[i].close(); readers[i] = await connect(); }
  }, (MIX_S * 1000) / 2);
  // Two feeds publish one entry every 7 s; a page view a second; cron every 10 s.
  every(7000, async () => { for (const f of feeds.filter((x) => x.publishes)) { f.n += 1; g.set(f.path, { body: rss(`mix${feeds.indexOf(f)}`, f.n), etag: true }); } });
  every(1000, async () => { const r = await fetch(`${w.url}/`); await r.text(); });
  every(10000, async () => { await (await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`)).text(); });
  await sleep(MIX_S * 1000);
  for (const t of timers) clearInterval(t);
  await sleep(300);
  // Stop the alarms (removing the feeds); their removal's own lines are left out below.
  for (const f of feeds) await api(w.url, "DELETE", `/api/feeds/${f.id}`);
  for (const s of readers) s.close();
  const all = await settle(M, mark, { quiet: 1500, timeout: 30000 });
  const removal = (l) => (l.k === "inv" && (l.what.startsWith("DELETE /api/feeds") || l.what === "call.delete"))
    || (l.k === "d1" && (l.what === "feed_delete" || l.what === "feed_by_id"));
  const lines = all.filter((l) => !removal(l));
  const count = (kind, what) => lines.filter((l) => l.k === "inv" && l.kind === kind && (typeof what === "string" ? l.what === what : what(l.what))).length;
  const n = {
    alarms: count("feed", "alarm"), publishes: count("room", "call.publish"), pages: count("worker", "GET /"),
    connects: count("room", "socket.connect"), messages: count("room", "socket.message"), crons: count("cron", "scheduled"),
    others: lines.filter((l) => l.k === "inv" && !["alarm", "call.publish", "GET /", "socket.connect", "socket.message", "scheduled", "GET /ws"].includes(l.what)).map((l) => `${l.kind} ${l.what}`),
  };
  const measured = tally(lines);
  // The removals' calls to the objects are subrequests too (object.call): not part of the mix.
  const removals = all.filter((l) => l.k === "inv" && l.what.startsWith("DELETE /api/feeds")).length;
  measured.sub -= removals;
  measured.subs["object.call"] -= removals;
  const byWhat = {};
  for (const l of lines.filter((x) => x.k === "d1" || x.k === "sql")) {
    const b = (byWhat[`${l.k} ${l.what}`] ||= { n: 0, read: 0, written: 0 });
    b.n++; b.read += l.read; b.written += l.written;
  }
  return { seconds: MIX_S, feeds: feeds.length, publishers: 2, readers: readers.length, n, measured, byWhat };
}

// ---------- run ----------

const env = {
  date: new Date().toISOString(),
  cpus: `${cpus().length} × ${cpus()[0] ? cpus()[0].model : "?"}`,
  node: process.version,
  wrangler: (() => { try { return execFileSync(path.join(ROOT, "node_modules/.bin/wrangler"), ["--version"], { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } }).trim().split("\n").pop(); } catch { return "?"; } })(),
  commit: (() => { try { return execFileSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim(); } catch { return "?"; } })(),
  loadStart: loadavg().map((x) => x.toFixed(2)).join(" "),
};
say("starting two wrangler dev (METER=1) and a fixture feed server on 127.0.0.1");
const fs = await startFeedServer();
cleanups.push(() => fs.close());
// A: the production schedule (alarms an hour out never fire during the run), page cache on.
const varsA = { METER: "1", MIN_FETCH_INTERVAL_SECONDS: "300", DEFAULT_FETCH_INTERVAL_SECONDS: "3600", PAGE_CACHE_SECONDS: "15" };
// B: alarms every 2-3.3 s, a small retention cap, so every kind of alarm happens within seconds.
const varsB = { METER: "1", MIN_FETCH_INTERVAL_SECONDS: "2", DEFAULT_FETCH_INTERVAL_SECONDS: "3", MAX_FETCH_INTERVAL_SECONDS: "3", RETENTION_MAX_ENTRIES: "40" };
const [wA, wB] = await Promise.all([startWorker({ vars: varsA }), startWorker({ vars: varsB })]);
cleanups.push(() => wA.stop(), () => wB.stop());
say(`workers up in ${((performance.now() - T0) / 1000).toFixed(0)} s; measuring`);
const MA = watch(wA), MB = watch(wB);
// The two phases run side by side (different workers, separate logs): counts are exact, wall times
// share the machine.
const [a, b] = await Promise.all([phaseA(MA, fs), phaseB(MB, fs).then(async (b) => ({ ...b, mix: await phaseMix(MB, fs) }))]);
env.loadEnd = loadavg().map((x) => x.toFixed(2)).join(" ");
env.seconds = Math.round((performance.now() - T0) / 1000);

for (const k of Object.keys(ops)) if (k.startsWith("_")) delete ops[k].lines;
const measured = { env, vars: { A: varsA, B: varsB }, a, b, ops };
writeFileSync(COST_JSON, JSON.stringify(measured, null, 1));
const md = publish(measured);
console.log(md);
say(`done in ${env.seconds} s; wrote ${path.relative(ROOT, COST_MD)} and ${path.relative(ROOT, COST_JSON)}`);
cleanup();
process.exit(0);
