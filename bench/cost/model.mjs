// The per-day model: measured per-operation counts (run.mjs) × stated assumptions = a day of a
// planet at 100, 1,000 and 10,000 feeds, against the Free plan's daily limits and the Paid plan's
// monthly price. Arithmetic only: every count per operation comes from the meter.

/** The assumptions, in one place (COST.md prints them). Change them here. */
/** Rows written by an alarm's search-index statement (the last statement of its refresh batch). */
const searchRow = (op) => op.lines.filter((l) => l.k === "d1" && l.what === "refresh_apply").at(-1)?.written ?? 0;
/** Search ranks only the newest `core::search::RANK_WINDOW` (200) matches: about three rows
 *  per ranked match (the window's bound, the doclist, bm25's statistics: 662 rows measured by
 *  tests/e2e/quota_abuse.test.mjs with every one of 450 entries matching), then one page (21
 *  entries and their feeds): `Route::cost` charges 3 × 200 + 4 × 21 = 684 rows, 14 units. */
const SEARCH_RANK_WINDOW = 200;
const SEARCH_MAX_READ = 3 * SEARCH_RANK_WINDOW + 4 * 21;
const pageAt = (p, f, F, E) => (p.startsWith("/search") ? Math.min(f.at(F, E), SEARCH_MAX_READ) : f.at(F, E));

export const ASSUME = {
  feeds: [100, 1000, 10000],
  // The default schedule: one fetch an hour (the jitter only ever lengthens it, so 24 is an upper bound).
  fetchesPerDay: 24,
  // 3 new entries/day/feed, one per fetch; 2 more fetches a day find an edited entry:
  // 5 of 24 fetches find changes. Steady state after a year: every feed is at its
  // 100-entry cap (3/day reaches it after ~33 days), so each new entry also deletes the oldest.
  newEntryFetches: 3,
  editFetches: 2,
  // The others: 60% answered 304, 20% identical 200 (no validators), 20% a changed document
  // with nothing new in it (a new lastBuildDate, reordered items…): parsed, nothing stored.
  unchangedMix: { notModified: 0.6, identical: 0.2, changedNothingNew: 0.2 },
  // D1's watchdog deadline moves about once a day per feed: that fetch also rewrites the feed row
  // and the object's state (composed from measured parts: the feed-row statement, one state.put).
  renewalsPerDay: 1,
  cronRunsPerDay: 144,
  readers: 1000,
  reconnectsPerReaderPerDay: 10, // sleep/wake, network changes, deploys: each a connect + a resume
  // assets/live.js no longer pings on a timer: it probes only after a wake, a network change
  // or 10 visible minutes without a frame. Counted here as one probe per reconnect.
  pingSeconds: 0,
  pageViews: 10000,
  // Page views by page; `/` and `/feeds/{id}` run live.js, which opens a socket and resumes.
  pageMix: { "/": 0.70, "/feeds/{id}": 0.10, "/feeds": 0.05, "/titles": 0.05, "/feed.atom": 0.10 },
  visitMinutes: 2, // how long a page view's socket stays open (pings only)
  cacheSeconds: 15, // PAGE_CACHE_SECONDS
  membersCacheSeconds: 3600, // edge/members.rs: the member list behind the sidebar, Atom, FOAF, OPML
  colos: 5, // the Cache API is per data centre: views spread evenly over this many
  retentionMaxEntries: 100,
  retentionDays: 365,
  // Wall time an alarm spends waiting on a real publisher (loopback here is ~1 ms): added to
  // every fetching alarm's measured wall time for DO duration (GB-s).
  fetchLatencyMs: 300,
  // The Room's broadcast to 1,000 sockets keeps it active ~100-200 ms per publish
  // (bench/realtime/RESULTS.md: publish → delivered p50 ≈ 97 ms, p99 ≈ 188 ms at 1,000 readers).
  roomBroadcastMs: 150,
  doMemoryGB: 0.125,
  seenRowBytes: 200, // DO SQLite bytes per `seen` row: an estimate (no size meta for DO storage)
  daysPerMonth: 30,
};

export const FREE = {
  workerReq: 100_000, doReq: 100_000, d1Read: 5_000_000, d1Written: 100_000,
  sqlRead: 5_000_000, sqlWritten: 100_000, doGBs: 13_000, d1Bytes: 500e6, doBytes: 5e9,
  subrequests: 50, d1Queries: 50,
};
export const PAID = {
  base: 5, workerReqIncl: 10e6, workerReqPerM: 0.30, doReqIncl: 1e6, doReqPerM: 0.15,
  doGBsIncl: 400_000, doGBsPerM: 12.50, d1ReadIncl: 25e9, d1ReadPerM: 0.001, d1WrittenIncl: 50e6,
  d1WrittenPerM: 1.00, d1StorageInclGB: 5, d1StoragePerGB: 0.75, d1MaxDbGB: 10,
  sqlReadIncl: 25e9, sqlReadPerM: 0.001, sqlWrittenIncl: 50e6, sqlWrittenPerM: 1.00,
  doStorageInclGB: 5, doStoragePerGB: 0.20,
};

const KEYS = ["worker", "doInv", "msgs", "d1Read", "d1Written", "sqlRead", "sqlWritten", "sub"];
const zero = () => Object.fromEntries([...KEYS, "doMs"].map((k) => [k, 0]));
function addTo(acc, op, times = 1, extra = {}) {
  for (const k of KEYS) acc[k] += (op[k] || 0) * times;
  acc.worker += (op.cron || 0) * times; // a cron run is a Worker invocation, billed as a request
  acc.doMs += (extra.doMs || 0) * times;
  return acc;
}
const mean = (...os) => {
  const m = {};
  for (const k of [...KEYS, "cron", "wallMs"]) m[k] = os.reduce((s, o) => s + (o[k] || 0), 0) / os.length;
  return m;
};

/** The most rows a miss of these pages may read by design, whatever the planet's size: their
 *  route's weight in `core::routes::cost` (units of 50 rows) at the default page size, which
 *  `tests/native/quota_rules.rs` and the quota-abuse suite hold them to. The fair river walks
 *  a bounded stretch of the index (`core::river`), so how many rows it reads moves with how
 *  the newest entries fall across members and days, not with how many entries are stored: a
 *  straight line through three small planets would extrapolate that noise to millions. */
export const PAGE_BOUND = { "/": 5 * 50, "/titles": 11 * 50 };

/** Pages that read feed rows and never an entry (the member list): fitted on the number of
 *  feeds alone (least squares), so that the few rows' noise between rounds is not read as a
 *  cost per stored entry. */
export const FEED_ROWS_ONLY = new Set(["/feeds", "/api/feeds", "/feeds.opml"]);

/** Rows read by a page miss as a + b·feeds + c·entries, fitted through the three measured
 *  rounds (at most the page's design bound, where it has one). */
export function pageFit(rounds, p) {
  const pts = rounds.map((r) => ({ F: r.feeds, E: r.entries, y: r.pages[p].miss.d1Read }));
  const [r1, r2, r3] = pts;
  let a, b, c;
  if (FEED_ROWS_ONLY.has(p)) {
    const n = pts.length;
    const mF = pts.reduce((s, q) => s + q.F, 0) / n;
    const mY = pts.reduce((s, q) => s + q.y, 0) / n;
    const vF = pts.reduce((s, q) => s + (q.F - mF) ** 2, 0);
    b = vF ? pts.reduce((s, q) => s + (q.F - mF) * (q.y - mY), 0) / vF : 0;
    c = 0;
    a = mY - b * mF;
  } else {
    b = r3.F !== r2.F ? (r3.y - r2.y) / (r3.F - r2.F) : 0;
    c = r2.E !== r1.E ? (r2.y - r1.y - b * (r2.F - r1.F)) / (r2.E - r1.E) : 0;
    a = r1.y - b * r1.F - c * r1.E;
  }
  const bound = PAGE_BOUND[p] ?? Infinity;
  return { a, b, c, bound, at: (F, E) => Math.min(bound, Math.max(0, a + b * F + c * E)) };
}

export function model(m, A = ASSUME) {
  const o = m.ops;
  const alarm = {
    notModified: mean(o.alarm_304_1, o.alarm_304_2, o.alarm_304_3),
    identical: o.alarm_same_2, // #1 also dropped the old ETag from the state: not steady state
    changedNothingNew: mean(o.alarm_changed_1, o.alarm_changed_2),
    edit: o.alarm_edit1,
    newAtCap: o.alarm_new1_cap,
  };
  // The feed row statement: the last statement of an edit's batch (entry update, feed row).
  const rowLine = [...o.alarm_edit1.lines].reverse().find((l) => l.k === "d1" && l.what === "refresh_apply");
  const renewal = { d1Read: rowLine.read, d1Written: rowLine.written, sqlWritten: 1 };
  const bytesPerEntry = (m.a.size.after - m.a.size.before) / m.a.size.entries;
  const rounds = m.a.pageRounds;
  const pages = {
    "/": { key: "/", fit: pageFit(rounds, "/"), socket: o.ws_connect },
    "/feeds/{id}": { key: Object.keys(rounds[0].pages).find((p) => /^\/feeds\/\d+$/.test(p)), socket: o.feed_ws_connect },
    "/feeds": { key: "/feeds" }, "/titles": { key: "/titles" }, "/feed.atom": { key: "/feed.atom" },
  };
  for (const v of Object.values(pages)) v.fit = pageFit(rounds, v.key);
  const hit = rounds[1].pages["/"].hit || { worker: 1 };
  const unchanged = A.fetchesPerDay - A.newEntryFetches - A.editFetches;
  const fetchMs = (op) => op.wallMs + A.fetchLatencyMs;

  const rows = A.feeds.map((N) => {
    const d = zero();
    const E = N * A.retentionMaxEntries;
    // Feeds: every alarm of the day, by kind.
    const mix = [
      [alarm.notModified, unchanged * A.unchangedMix.notModified],
      [alarm.identical, unchanged * A.unchangedMix.identical],
      [alarm.changedNothingNew, unchanged * A.unchangedMix.changedNothingNew],
      [alarm.edit, A.editFetches],
      [alarm.newAtCap, A.newEntryFetches],
    ];
    for (const [op, n] of mix) addTo(d, op, n * N, { doMs: fetchMs(op) });
    addTo(d, renewal, A.renewalsPerDay * N);
    // The Room's cursor put on every publish: not metered (room.rs calls storage directly).
    d.sqlWritten += A.newEntryFetches * N;
    d.doMs += A.newEntryFetches * N * A.roomBroadcastMs;
    // Cron.
    addTo(d, o.cron_idle, A.cronRunsPerDay, { doMs: 0 });
    // Page views: misses per page from the cache lifetime (per data centre), reads fitted to size.
    let pageSockets = 0;
    for (const [p, share] of Object.entries(A.pageMix)) {
      const v = A.pageViews * share;
      const misses = v / (1 + (v * A.cacheSeconds) / (86400 * A.colos));
      const pg = pages[p];
      const miss = rounds[1].pages[pg.key].miss;
      addTo(d, { ...miss, d1Read: pg.fit.at(N, E) }, misses);
      addTo(d, hit, v - misses);
      if (pg.socket) {
        addTo(d, pg.socket, v, { doMs: pg.socket.wallMs });
        addTo(d, o.resume_recent, v, { doMs: o.resume_recent.wallMs });
        pageSockets += v;
      }
    }
    // The member list (sidebar, /titles, Atom sources, OPML): the bench measured pages with it
    // cached; it is read again (every feed row, as /feeds reads them) once per lifetime per
    // data centre.
    d.d1Read += (86400 / A.membersCacheSeconds) * A.colos * pages["/feeds"].fit.at(N, E);
    // Readers connected all day: reconnects, each a connect and a resume.
    const reconnects = A.readers * A.reconnectsPerReaderPerDay;
    addTo(d, o.ws_connect, reconnects, { doMs: o.ws_connect.wallMs });
    addTo(d, o.resume_recent, reconnects, { doMs: o.resume_recent.wallMs });
    // One probe per reconnect (live.js pings only to check a socket it suspects is dead).
    const pings = A.pingSeconds > 0
      ? A.readers * (86400 / A.pingSeconds) + pageSockets * (A.visitMinutes * 60 / A.pingSeconds)
      : A.readers * A.reconnectsPerReaderPerDay;
    const doReq = d.doInv + d.msgs / 20;
    const doGBs = (d.doMs / 1000) * A.doMemoryGB;
    const d1Bytes = E * bytesPerEntry;
    const seenRows = N * (A.newEntryFetches * A.retentionDays + 50);
    const doBytes = N * 12 * 1024 + seenRows * A.seenRowBytes;
    return { N, ...d, doReq, doGBs, pings, pingReqIfBilled: pings / 20, d1Bytes, doBytes, E };
  });
  const adds = m.a.perAdd || [];
  const initialEntriesPerFeed = adds.length ? adds.reduce((s, x) => s + x.stored + (x.carried || 0), 0) / adds.length : 50;
  return { rows, alarm, renewal, bytesPerEntry, pages, unchanged, initialEntriesPerFeed };
}

export function paidMonthly(r, A = ASSUME, P = PAID) {
  const mo = (x) => x * A.daysPerMonth;
  const over = (x, incl) => Math.max(0, mo(x) - incl);
  const items = {
    "Workers Paid (base)": P.base,
    "Worker requests": (over(r.worker, P.workerReqIncl) / 1e6) * P.workerReqPerM,
    "DO requests": (over(r.doReq, P.doReqIncl) / 1e6) * P.doReqPerM,
    "DO duration": (over(r.doGBs, P.doGBsIncl) / 1e6) * P.doGBsPerM,
    "D1 rows read": (over(r.d1Read, P.d1ReadIncl) / 1e6) * P.d1ReadPerM,
    "D1 rows written": (over(r.d1Written, P.d1WrittenIncl) / 1e6) * P.d1WrittenPerM,
    "D1 storage": Math.max(0, r.d1Bytes / 1e9 - P.d1StorageInclGB) * P.d1StoragePerGB,
    "DO SQLite rows read": (over(r.sqlRead, P.sqlReadIncl) / 1e6) * P.sqlReadPerM,
    "DO SQLite rows written": (over(r.sqlWritten, P.sqlWrittenIncl) / 1e6) * P.sqlWrittenPerM,
    "DO SQLite storage": Math.max(0, r.doBytes / 1e9 - P.doStorageInclGB) * P.doStoragePerGB,
  };
  return { items, total: Object.values(items).reduce((s, x) => s + x, 0), tooBigForOneD1: r.d1Bytes / 1e9 > P.d1MaxDbGB };
}

// ---------- rendering ----------

const int = (x) => Math.round(x).toLocaleString("en-US");
const fix = (x, d = 1) => (Math.abs(x) < 1e-9 ? "0" : Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }));
const pct = (x, lim) => `${fix((100 * x) / lim, x / lim < 0.1 ? 1 : 0)}%`;
const mb = (b) => (b >= 1e9 ? `${fix(b / 1e9, 2)} GB` : `${fix(b / 1e6, 1)} MB`);
const usd = (x) => `$${fix(x, 2)}`;
const cell = (x, lim) => `${int(x)} (${pct(x, lim)})`;
const bold = (s, over) => (over ? `**${s}**` : s);

function opRow(o) {
  const doReq = o.msgs ? `${o.doInv} + ${o.msgs} msg (${fix(o.doBilled, 2)})` : `${o.doInv}`;
  const subs = Object.entries(o.subs || {}).map(([k, v]) => `${v} ${k}`).join(", ") || "0";
  return `| ${o.name} | ${o.worker + (o.cron || 0)} | ${doReq} | ${int(o.d1Read)} | ${int(o.d1Written)} | ${o.d1Stmts} | ${int(o.sqlRead)} | ${int(o.sqlWritten)} | ${subs} | ${o.wallMs != null ? int(o.wallMs) : "–"} |`;
}

export function largestBatch(lines) {
  let best = 0, run = 0, prev = null;
  for (const l of lines) {
    if (l.k !== "d1") continue;
    run = l.what === prev ? run + 1 : 1;
    prev = l.what;
    best = Math.max(best, run);
  }
  return best;
}

export function render(m, A = ASSUME) {
  const o = m.ops;
  const M = model(m, A);
  const rounds = m.a.pageRounds;
  const r2 = rounds[1];
  const L = [];
  const P = (s = "") => L.push(s);
  const tableHead = "| operation | Worker req | DO req | D1 read | D1 written | D1 stmts | DO SQL read | DO SQL written | subrequests | wall ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |";

  P("# What Orrery costs");
  P();
  P(`Measured by \`bench/cost/run.sh\` on ${m.env.date.slice(0, 16).replace("T", " ")} UTC (commit ${m.env.commit}, ${m.env.wrangler}, ${m.env.cpus}; load ${m.env.loadStart} → ${m.env.loadEnd}); the run took ${m.env.seconds} s.`);
  P("Every per-operation count below is read from the platform during the run: D1's result `meta` (`rows_read`, `rows_written`,");
  P("`size_after`) and the Durable Object SQLite cursors (`rowsRead`, `rowsWritten`), logged by the Worker's meter (`METER=1`,");
  P("`src/edge/meter.rs`). Only the scaling to a day is arithmetic (`bench/cost/model.mjs`), from the assumptions listed below.");
  P();

  // ---- the per-day tables ----
  P("## Per day, on the Free plan");
  P();
  P(`Default schedule (${A.fetchesPerDay} fetches/feed/day), ${int(A.readers)} readers connected all day, ${int(A.pageViews)} page views a day, ${A.cronRunsPerDay} cron runs; steady state after a year (every feed at its ${A.retentionMaxEntries}-entry cap). Each cell: count per day (share of the Free plan's daily limit). **Bold** is over the limit.`);
  P();
  P(`| per day | Free limit | ${A.feeds.map((n) => `${int(n)} feeds`).join(" | ")} |`);
  P(`| --- | ---: | ${A.feeds.map(() => "---:").join(" | ")} |`);
  const line = (name, lim, get, limText) => P(`| ${name} | ${limText || int(lim)} | ${M.rows.map((r) => bold(cell(get(r), lim), get(r) > lim)).join(" | ")} |`);
  line("Worker requests", FREE.workerReq, (r) => r.worker);
  line("DO requests (WebSocket messages at 20:1)", FREE.doReq, (r) => r.doReq);
  line("D1 rows read", FREE.d1Read, (r) => r.d1Read);
  line("D1 rows written", FREE.d1Written, (r) => r.d1Written);
  line("DO SQLite rows read", FREE.sqlRead, (r) => r.sqlRead);
  line("DO SQLite rows written", FREE.sqlWritten, (r) => r.sqlWritten);
  P(`| DO duration, GB-s (estimate: wall time + ${A.fetchLatencyMs} ms per fetch) | 13,000 | ${M.rows.map((r) => bold(`${int(r.doGBs)} (${pct(r.doGBs, FREE.doGBs)})`, r.doGBs > FREE.doGBs)).join(" | ")} |`);
  P(`| D1 size after a year (${A.retentionMaxEntries} entries/feed × ${int(M.bytesPerEntry)} B) | 500 MB | ${M.rows.map((r) => bold(`${mb(r.d1Bytes)} (${pct(r.d1Bytes, FREE.d1Bytes)})`, r.d1Bytes > FREE.d1Bytes)).join(" | ")} |`);
  P(`| DO SQLite storage after a year (estimate) | 5 GB | ${M.rows.map((r) => bold(`${mb(r.doBytes)} (${pct(r.doBytes, FREE.doBytes)})`, r.doBytes > FREE.doBytes)).join(" | ")} |`);
  P(`| subrequests per invocation, most seen | 50 | ${o.cron_backlog.sub} (cron with 40 overdue feeds: ${pct(o.cron_backlog.sub, 50)}) | | |`);
  P();
  const worst = (r) => [
    ["Worker requests", r.worker / FREE.workerReq], ["DO requests", r.doReq / FREE.doReq],
    ["D1 rows read", r.d1Read / FREE.d1Read], ["D1 rows written", r.d1Written / FREE.d1Written],
    ["DO SQLite rows read", r.sqlRead / FREE.sqlRead], ["DO SQLite rows written", r.sqlWritten / FREE.sqlWritten],
    ["DO duration (estimate)", r.doGBs / FREE.doGBs], ["D1 size (500 MB)", r.d1Bytes / FREE.d1Bytes],
  ].filter(([, x]) => x > 1).sort((a, b) => b[1] - a[1]);
  for (const r of M.rows) {
    const w = worst(r);
    P(`- **${int(r.N)} feeds**: ${w.length ? `over the Free plan on ${w.map(([n, x]) => `${n} (${fix(x, 1)}×)`).join(", ")}` : "fits the Free plan"}.`);
  }
  const big = M.rows[M.rows.length - 1];
  const daily = worst({ ...big, d1Bytes: 0 });
  if (daily.length) P(`- At ${int(big.N)} feeds the limit that forces the Paid plan first, every day from day one, is **${daily[0][0]}** (${fix(daily[0][1], 1)}× the Free limit)${daily.length > 1 ? `, then ${daily.slice(1).map(([n, x]) => `${n} (${fix(x, 1)}×)`).join(", ")}` : ""}.`);
  {
    const init = M.initialEntriesPerFeed;
    const fill = (N) => {
      const left = FREE.d1Bytes - N * init * M.bytesPerEntry;
      return left <= 0 ? "already at subscription" : `after ${int(left / (N * A.newEntryFetches * M.bytesPerEntry))} days`;
    };
    P(`- D1's 500 MB fills (first fetches store ${fix(init, 0)} entries per feed on average in this corpus, then 3 a day): ${M.rows.map((r) => `${int(r.N)} feeds: ${fill(r.N)}`).join("; ")}.`);
  }
  P(`- D1's 500 MB holds ${int(FREE.d1Bytes / M.bytesPerEntry)} entries at the measured ${int(M.bytesPerEntry)} B each: ${M.rows.map((r) => `${int(FREE.d1Bytes / M.bytesPerEntry / r.N)} per feed at ${int(r.N)} feeds`).join(", ")} (the default cap is ${A.retentionMaxEntries}).`);
  P();

  // ---- per feed vs fixed ----
  {
    // The slope between 100 and 1,000 feeds (a line through 0 and 1 feed would count a
    // fitted intercept as a feed's own cost).
    const [lo, hi] = model(m, { ...A, feeds: [100, 1000] }).rows;
    const one = {}, z = {};
    for (const k of Object.keys(hi)) {
      if (typeof hi[k] !== "number") continue;
      const per = (hi[k] - lo[k]) / 900;
      one[k] = lo[k] - 99 * per; z[k] = lo[k] - 100 * per;
    }
    const cols = [["Worker requests", "worker"], ["DO requests", "doReq"], ["D1 rows read", "d1Read"], ["D1 rows written", "d1Written"], ["DO SQLite rows read", "sqlRead"], ["DO SQLite rows written", "sqlWritten"]];
    P("Where it comes from: what one more feed adds per day, and what does not depend on the number of feeds (readers, page views, cron):");
    P();
    P(`| per day | ${cols.map(([n]) => n).join(" | ")} |`);
    P(`| --- | ${cols.map(() => "---:").join(" | ")} |`);
    P(`| each feed | ${cols.map(([, k]) => fix(one[k] - z[k], 1)).join(" | ")} |`);
    P(`| fixed | ${cols.map(([, k]) => int(z[k])).join(" | ")} |`);
    P();
  }
  P("## Paid plan, per month");
  P();
  P(`Workers Paid at ${A.daysPerMonth} days × the daily figures above, after the included amounts.`);
  P();
  const paid = M.rows.map((r) => paidMonthly(r, A));
  P(`| item | included per month | price past it | ${A.feeds.map((n) => `${int(n)} feeds`).join(" | ")} |`);
  P(`| --- | --- | --- | ${A.feeds.map(() => "---:").join(" | ")} |`);
  const incl = {
    "Workers Paid (base)": ["", "$5.00 / month"], "Worker requests": ["10M", "$0.30 / M"], "DO requests": ["1M", "$0.15 / M"],
    "DO duration": ["400,000 GB-s", "$12.50 / M GB-s"], "D1 rows read": ["25 billion", "$0.001 / M"], "D1 rows written": ["50M", "$1.00 / M"],
    "D1 storage": ["5 GB", "$0.75 / GB-month"], "DO SQLite rows read": ["25 billion", "$0.001 / M"],
    "DO SQLite rows written": ["50M", "$1.00 / M"], "DO SQLite storage": ["5 GB", "$0.20 / GB-month"],
  };
  for (const k of Object.keys(paid[0].items)) P(`| ${k} | ${incl[k][0]} | ${incl[k][1]} | ${paid.map((p) => usd(p.items[k])).join(" | ")} |`);
  P(`| **total** | | | ${paid.map((p) => `**${usd(p.total)}**`).join(" | ")} |`);
  P();
  P(`Monthly volumes: ${M.rows.map((r) => `${int(r.N)} feeds: ${fix((r.doReq * A.daysPerMonth) / 1e6, 2)}M DO requests, ${fix((r.d1Written * A.daysPerMonth) / 1e6, 2)}M D1 rows written, ${fix((r.sqlWritten * A.daysPerMonth) / 1e6, 2)}M DO SQLite rows written`).join("; ")}.`);
  if (paid.some((p) => p.tooBigForOneD1)) {
    const n = M.rows.find((r) => r.d1Bytes / 1e9 > PAID.d1MaxDbGB);
    const cap = Math.floor(10e9 / M.bytesPerEntry / n.N / 10) * 10;
    const fitted = paidMonthly(model(m, { ...A, feeds: [n.N], retentionMaxEntries: cap }).rows[0], A);
    P(`**D1's size limit is 10 GB per database even on Paid** (and cannot be raised): at ${int(n.N)} feeds the default retention needs ${mb(n.d1Bytes)}, so that column is not reachable as configured — ${int(10e9 / M.bytesPerEntry / n.N)} entries per feed fit. With \`RETENTION_MAX_ENTRIES=${cap}\` it fits and costs **${usd(fitted.total)}** a month; keeping 500 would mean splitting the history over several databases.`);
  }
  P("Not in these prices: Workers CPU time (30M CPU-ms a month included, then $0.02/M ms). workerd's clock stands still while code runs, so this bench cannot measure CPU; at the Worker-request volumes above (≤ 1M a month) even 10 ms each stays inside the included 30M ms. Durable Objects are billed by duration (GB-s), not CPU.");
  P();

  // ---- sensitivities ----
  P("### What moves these numbers");
  P();
  const pingRows = M.rows.map((r) => `${int(r.N)} feeds: ${int(r.doReq + r.pingReqIfBilled)} (${pct(r.doReq + r.pingReqIfBilled, FREE.doReq)})`).join(", ");
  P(`- **Pings.** live.js sends no periodic \`ping\` (it probes a socket only after a wake, a network change or 10 visible minutes without a frame; counted as one probe per reconnect): ${int(M.rows[0].pings)} a day from ${int(A.readers)} readers. They are answered by \`setWebSocketAutoResponse\`: measured here, a ping wakes nothing and logs no invocation (${o.ping.doInv + o.ping.msgs} invocations, ${o.ping.sqlRead + o.ping.d1Read} rows). The docs say auto-responses incur no wall-clock time \"and so they will not be charged\" (a footnote on duration), while incoming WebSocket messages are billed as requests at 20:1 and only *protocol* pings are named as free. If application-level auto-responses counted as incoming messages, they would add ${int(M.rows[0].pingReqIfBilled)} DO requests a day — on their own ${pct(M.rows[0].pingReqIfBilled, FREE.doReq)} of the Free limit — making the DO request line ${pingRows}. The tables assume they are not billed.`);
  const adaptive = { ...A, fetchesPerDay: 6 };
  const Mad = model(m, adaptive);
  P(`- **The adaptive schedule.** ${A.fetchesPerDay} fetches a day is the default for a feed with no publishing history. A feed that publishes 3 times a day is polled every ~4 h (half its mean gap, \`core/schedule.rs\`), ~6 fetches a day: then DO requests are ${Mad.rows.map((r) => `${int(r.doReq)} at ${int(r.N)} feeds`).join(", ")} and DO SQLite rows written ${Mad.rows.map((r) => `${int(r.sqlWritten)}`).join(", ")}.`);
  const belowCap = o.alarm_new1;
  P(`- **Before the cap.** Until a feed holds ${A.retentionMaxEntries} entries (about ${Math.round(A.retentionMaxEntries / A.newEntryFetches)} days at 3 a day) a new entry costs ${belowCap.d1Written} D1 rows written instead of ${o.alarm_new1_cap.d1Written} (no oldest entry to delete).`);
  {
    const hz = pageFit(rounds, "/healthz");
    P(`- **An uptime monitor on \`/healthz\`** (not cached; it counts feeds by status over every feed row): once a minute it adds 1,440 Worker requests and ${M.rows.map((r) => `${int(1440 * hz.at(r.N, r.E))} D1 rows read at ${int(r.N)} feeds (${pct(1440 * hz.at(r.N, r.E), FREE.d1Read)} of the Free limit)`).join(", ")}.`);
  }
  P(`- **Page cache.** Each page view is a Worker request even when the edge cache answers it (a hit: ${r2.pages["/"].hit ? r2.pages["/"].hit.worker : "?"} Worker request, ${r2.pages["/"].hit ? r2.pages["/"].hit.d1Read : "?"} rows). With ${A.cacheSeconds} s per data centre over ${A.colos} data centres, the river \`/\` misses ${fix(100 / (1 + (A.pageViews * A.pageMix["/"] * A.cacheSeconds) / (86400 * A.colos)), 0)}% of its views.`);
  P();

  // ---- findings ----
  {
    P("## What this run found");
    P();
    let fn = 0;
    const F = (x) => P(`${++fn}. ${x}`);
    const fl = pageFit(rounds, "/feeds");
    const big = M.rows[M.rows.length - 1];
    const feedsShare = (r) => {
      const v = A.pageViews * A.pageMix["/feeds"];
      const misses = v / (1 + (v * A.cacheSeconds) / (86400 * A.colos));
      return misses * fl.at(r.N, r.E);
    };
    const hzFit = pageFit(rounds, "/healthz");
    F(`**The feed list reads every feed row.** A miss of \`/feeds\` (and of \`/feeds.opml\`, and every \`/api/feeds\`, which is not cached) reads ${fix(fl.b, 1)} rows per feed (${rounds.map((r) => `${int(r.pages["/feeds"].miss.d1Read)} at ${r.feeds} feeds`).join(", ")}): ${int(fl.at(10000, 5e6))} rows per miss at 10,000 feeds. With ${A.pageMix["/feeds"] * 100}% of page views on \`/feeds\` that is ${M.rows.map((r) => `${int(feedsShare(r))} rows a day at ${int(r.N)} feeds`).join(", ")} (${pct(feedsShare(big), FREE.d1Read)} of the Free read limit at 10,000). \`/healthz\` reads ${hzFit.b > 0.01 ? `${fix(hzFit.b, 1)} rows per feed` : `${int(hzFit.a)} rows whatever the size (its counts are a tally)`}. The river and \`/titles\` walk a bounded stretch of the index (the fair front page, \`core::river\`): ${Object.entries(PAGE_BOUND).map(([k, v]) => `\`${k}\` read ${rounds.map((r) => int(r.pages[k].miss.d1Read)).join(" → ")} here and at most ${int(v)} by design`).join(", ")}, which the model uses when a straight line through the three rounds would give more. A feed's page and the Atom feed read a constant number of rows whatever the size.`);
    const pr = o.cron_backlog ? (o.cron_backlog.pruned || 0) + ((o.cron_prune && o.cron_prune.pruned) || 0) : 0;
    if (m.a.pruned && pr > 0) {
      F(`**A first fetch stores posts the next cron deletes.** The corpus's feeds carry posts older than \`RETENTION_DAYS\` (365): of the ${int(m.a.pruned.before)} entries the adds stored, ${int(pr)} were pruned by the next cron runs (${int(m.a.pruned.after)} left). Each was written (~${o.add_median.stored ? fix(o.add_median.d1Written / Math.max(1, o.add_median.stored), 0) : "?"} D1 rows per stored entry in the median add, with its feed row and indexes) and then deleted (${fix(o.cron_prune ? o.cron_prune.d1Written / Math.max(1, o.cron_prune.pruned) : 0, 1)} rows written per entry pruned). Skipping entries published before the retention cut-off at ingest would save both.`);
    }
    F(`**DO requests are the alarms.** At the default hourly schedule each feed is ${A.fetchesPerDay + A.newEntryFetches} DO requests a day (${A.fetchesPerDay} alarms, ${A.newEntryFetches} Room publishes); at 10,000 feeds that alone is ${int((A.fetchesPerDay + A.newEntryFetches) * 10000)}, ${fix(((A.fetchesPerDay + A.newEntryFetches) * 10000) / FREE.doReq, 1)}× the Free limit, and every alarm writes at least one DO row (its \`setAlarm\`), so DO SQLite rows written follow. The adaptive schedule helps feeds with a publishing history (see below).`);
    F(`**D1 storage: 500 MB holds ${int(FREE.d1Bytes / (A.retentionMaxEntries * M.bytesPerEntry))} full feeds.** At ${int(M.bytesPerEntry)} bytes per stored entry (real posts, FTS and indexes included) the default cap of ${A.retentionMaxEntries} entries per feed needs ${mb(A.retentionMaxEntries * M.bytesPerEntry)} per feed (reached after ~${Math.round(A.retentionMaxEntries / A.newEntryFetches)} days at 3 entries a day). At 10,000 feeds even Paid's 10 GB per database holds only ${int(10e9 / M.bytesPerEntry / 10000)} entries per feed.`);
    F(`**Every alarm reads its state twice** (\`state.get\` in \`alarm()\` and again in \`refresh()\`): 2 DO rows read for a 304 where 1 would do (${int(A.fetchesPerDay * 10000)} extra rows read a day at 10,000 feeds: cheap, ${pct(A.fetchesPerDay * 10000, FREE.sqlRead)} of the Free read limit).`);
    F(`**A new entry costs ${o.alarm_new1_cap.d1Written} D1 rows written at the cap** (entry ${o.alarm_new1_cap.lines.find((l) => l.k === "d1").written} with its indexes, its search-index row ${searchRow(o.alarm_new1_cap)}, the feed row ${o.alarm_new1_cap.lines.filter((l) => l.k === "d1")[1].written}, the oldest entry's delete and the count), plus ${o.alarm_new1_cap.sqlWritten} DO rows written (seen row, state twice — before and after the publish — and the alarm) and one Room request with ${o.alarm_new1_cap.lines.filter((l) => l.what === "entries_between").length} D1 reads; an unchanged 304 costs ${o.alarm_304_1.sqlRead} DO rows read, 1 written and no D1 row.`);
    const sf = pageFit(rounds, "/search?q=update");
    if (sf.c > 0) {
      F(`**Search reads its matches, up to a bound.** \`/search?q=update\` (not cached, not in the page mix) read ${rounds.map((r) => int(r.pages["/search?q=update"].miss.d1Read)).join(" → ")} rows as the entries went ${rounds.map((r) => int(r.entries)).join(" → ")}: the index holds every word of every post, so a common word matches many entries, and bm25 needs every match it ranks. Search therefore ranks only the newest ${int(SEARCH_RANK_WINDOW)} matches (\`core::search::RANK_WINDOW\`): at most ~${int(SEARCH_MAX_READ)} rows per search however large the planet (the route's weight in \`core::routes::cost\`; linear extrapolation of the measured rows would give ~${int(sf.at(10000, 5e6))} over 5M entries; the bound is measured by the quota-abuse suite, not here, with 331 entries): ${int(FREE.d1Read / SEARCH_MAX_READ)} such searches a day fit the Free read limit.`);
    }
    if (r2.pages["/favicon.ico"]) {
      const fv = r2.pages["/favicon.ico"].miss;
      F(`**No favicon in \`assets/\`.** Browsers ask for \`/favicon.ico\`; it reaches the Worker (${fv.worker} request, ${fv.d1Read} D1 rows: a 404 page) instead of the free static-asset path. Most browsers ask once per visitor and cache the answer; an icon in \`assets/\` makes it free.`);
    }
    F(`**Not metered, so not in the counts:** the Room's cursor \`get\`/\`put\` (the model adds one row written per publish), the FeedObject constructor's three \`CREATE … IF NOT EXISTS\` statements (every construction; in production an object polled hourly is likely evicted in between), \`deleteAll()\` on removal, the \`websocket_close\` handler that wakes the Room or a FeedObject when a reader leaves (the docs do not list close events among billed requests), and redirect hops beyond the first fetch.`);
    P();
  }

  // ---- per operation ----
  P("## Per operation, measured");
  P();
  P("Counts are sums over every meter line an operation produced, in every invocation it caused (a Worker request, the Durable Objects it called, their alarms). *DO req* counts Durable Object requests, alarms and RPC calls; `msg` is an incoming WebSocket message (billed at 1/20). *wall ms*: for an alarm, from its first meter line to its `alarm.set`; otherwise as the client saw it (both runs share 2 cores, and the two workers ran side by side: read wall times as rough).");
  P();
  P("### Feeds");
  P();
  P(tableHead);
  for (const k of ["add_median", "add_big", "alarm_304_1", "alarm_304_2", "alarm_same_1", "alarm_same_2", "alarm_changed_1", "alarm_changed_2", "alarm_edit1", "alarm_new1", "alarm_new3", "alarm_new1_cap", "alarm_new3_cap", "alarm_fail", "opml_import", "cron_idle", "cron_prune", "cron_backlog"]) {
    if (o[k]) P(opRow(o[k]));
  }
  P();
  const ab = o.add_big;
  P(`- The big feed's first fetch cleaned and stored ${ab.stored} ${ab.stored === 1 ? "entry" : "entries"} in its own invocation (a 2 MB body leaves little of the cleaning budget) and carried ${ab.carried} over: ${ab.followUps} follow-up alarms (1 s apart) finished them (${m.a.big.entriesStored} entries in all; a first fetch keeps the newest 50), and each follow-up published its entries to the Room (${ab.invs["room call.publish"] || 0} Room requests): ${ab.doInv} DO requests for one add. Its largest D1 batch had ${largestBatch(ab.lines)} statements.`);
  const batches = (m.a.perAdd || []).map((x) => x.batch || 0);
  const maxBatch = Math.max(largestBatch(o.add_median.lines), largestBatch(ab.lines), ...batches);
  P(`- The median feed's add stored ${o.add_median.stored} entries (${o.add_median.carried} carried over). The largest D1 batch of any add: ${maxBatch} statements${batches.length ? ` (${batches.filter((b) => b > 50).length} of the ${batches.length} population adds had a batch over 50)` : ""}. D1 allows 50 queries per invocation on Free; whether a batch counts as one query or as its statements the docs do not say (see below).`);
  if (m.a.perAdd && m.a.perAdd.length) {
    const q = (k) => { const s = m.a.perAdd.map((x) => (k === "kept" ? x.stored + (x.carried || 0) : x[k])).sort((a, b) => a - b); return [s[Math.floor(s.length / 2)], s[Math.floor(s.length * 0.9)], s[s.length - 1]]; };
    const show = (k) => q(k).map((x) => int(x)).join(" / ");
    P(`- Over the ${m.a.perAdd.length} other corpus feeds added (p50 / p90 / max per add, follow-ups included): D1 rows written ${show("d1Written")}, D1 rows read ${show("d1Read")}, DO SQLite rows written ${show("sqlWritten")}, DO requests ${show("doInv")}, entries kept ${show("kept")}.`);
  }
  P(`- Retention at the cap: probe B held ${m.b.capEntryCount} entries after its 1 + 3 new ones at a cap of ${m.b.cap}, so each new entry deleted the oldest in the same batch.`);
  {
    const cb = o.cron_backlog;
    const n = (w) => cb.lines.filter((l) => l.k === "d1" && l.what === w).length;
    P(`- \`cron run, 40 feeds overdue\`: ${cb.sub} subrequests (${Object.entries(cb.subs).map(([k, v]) => `${v} ${k}`).join(", ")}) and ${cb.d1Stmts} D1 statements in 4 round trips: the deadline query, a batch of ${n("feeds_set_overdue")} deadline updates, the prune's DELETE and a batch of ${n("entries_prune_older") - 1} per-feed count updates (it pruned ${cb.pruned} entries: ${int(cb.pruneRead)} rows read, ${int(cb.pruneWritten)} written). \`WATCHDOG_PER_RUN\` = 40 keeps the object calls under 50; the D1 statements are not bounded the same way: the prune's count-update batch has one statement per feed it touched (up to \`PRUNE_PER_RUN\` = 500). The ${cb.followingAlarms} first-fetch alarms of the adopted feeds that follow are not in this row; ${cb.note}.`);
  }
  P(`- The Room reader on the alarm worker received ${m.b.readerGotTotal} entries of the ${m.b.readerExpected} published (both first fetches, then 1 + 3 new entries on each probe).`);
  P();
  P("### Pages");
  P();
  P(`Measured with ${r2.feeds} feeds and ${int(r2.entries)} entries (\`PAGE_CACHE_SECONDS=15\`; a write just before makes the first request a miss).`);
  P();
  P(tableHead);
  for (const [p, c] of Object.entries(r2.pages)) {
    P(opRow({ ...c.miss, name: c.miss.name.replace(/ \(\d+ feeds.*\)/, "") }));
    if (c.hit) P(opRow({ ...c.hit, name: `${c.miss.name.replace(/ miss.*/, "")} hit (edge cache)` }));
  }
  P();
  P("D1 rows read by a page miss, in three rounds (feeds, entries), fitted as *a + b·feeds + c·entries*:");
  P();
  P(`| page | ${rounds.map((r) => `${r.feeds} feeds, ${int(r.entries)} entries`).join(" | ")} | a | b (per feed) | c (per entry) | at 10,000 feeds, 5M entries |`);
  P(`| --- | ${rounds.map(() => "---:").join(" | ")} | ---: | ---: | ---: | ---: |`);
  for (const p of Object.keys(r2.pages)) {
    const f = pageFit(rounds, p);
    P(`| \`${p}\` | ${rounds.map((r) => int(r.pages[p].miss.d1Read)).join(" | ")} | ${fix(f.a, 0)} | ${fix(f.b, 2)} | ${fix(f.c, 3)} | ${int(pageAt(p, f, 10000, 5e6))} |`);
  }
  P();
  P("### Sockets");
  P();
  P(tableHead);
  for (const k of ["ws_connect", "resume_recent", "resume_zero", "subscribe", "ping", "feed_ws_connect"]) if (o[k]) P(opRow(o[k]));
  P();
  P(`- \`resume from 0\` sent ${o.resume_zero.entriesSent} entries (at most 500, in pages of 100). A reconnecting browser resumes from the newest entry on its page, like \`resume, 5 entries behind\`.`);
  P(`- \`ping\`: answered (\`${o.ping.answered}\`) with ${o.ping.doInv + o.ping.msgs + o.ping.worker} invocations logged: the auto-response never woke the Room.`);
  P();
  if (m.b.mix) {
    const x = m.b.mix;
    const pred = zero();
    const nNew = x.n.publishes;
    addTo(pred, o.alarm_304_1, x.n.alarms - nNew);
    addTo(pred, o.alarm_new1, nNew);
    addTo(pred, rounds[1].pages["/"].miss, x.n.pages);
    addTo(pred, o.ws_connect, x.n.connects);
    addTo(pred, o.resume_recent, x.n.messages);
    addTo(pred, o.cron_idle, x.n.crons);
    const meas = { ...x.measured, worker: x.measured.worker + x.measured.cron };
    P("### Cross-check: a mixed workload");
    P();
    P(`For ${x.seconds} s, worker B ran ${x.feeds} feeds on ~3 s alarms (${x.publishers} publishing an entry every 7 s), ${x.readers} readers (each connecting, resuming 5 behind, pinging every 3 s and reconnecting once), a page view of \`/\` a second (no page cache on B) and cron every 10 s, all at once. Counted from the \`inv\` lines: ${x.n.alarms} alarms (${nNew} with a new entry), ${x.n.pages} page views, ${x.n.connects} socket connects, ${x.n.messages} socket messages, ${x.n.crons} cron runs${x.n.others.length ? `, and ${x.n.others.length} other invocations (${[...new Set(x.n.others)].join(", ")})` : ""}. The sum of the isolated measurements over those counts against what the meter saw:`);
    P();
    P("| | Worker req | DO req | socket msgs | D1 read | D1 written | DO SQL read | DO SQL written | subrequests |");
    P("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    const ks = ["worker", "doInv", "msgs", "d1Read", "d1Written", "sqlRead", "sqlWritten", "sub"];
    P(`| measured in the mix | ${ks.map((k) => int(meas[k])).join(" | ")} |`);
    P(`| isolated ops × counts | ${ks.map((k) => int(pred[k])).join(" | ")} |`);
    P(`| difference | ${ks.map((k) => (pred[k] ? `${fix((100 * (meas[k] - pred[k])) / pred[k], 1)}%` : meas[k] ? "∞" : "0")).join(" | ")} |`);
    P();
    const rv = x.byWhat && x.byWhat["d1 entries_river"];
    const riverDiffers = rv && Math.abs(rv.read / rv.n - rounds[1].pages["/"].miss.d1Read) > 2;
    P(`Where they differ: ${riverDiffers ? `the river read ${fix(rv.read / rv.n, 0)} rows a view here against ${rounds[1].pages["/"].miss.d1Read} on worker A — the mix's synthetic feeds all date their posts on the same hours, and \`ORDER BY published_at DESC, id DESC\` reads every entry tied at the page's edge (real dates tie less, though undated posts share their fetch time); ` : ""}the publishing feeds grow by an item per publish (one more \`seen\` lookup on each later fetch). Everything else adds up exactly: the per-operation counts compose.`);
    P();
  }
  P("### Storage");
  P();
  P(`D1 grew from ${mb(m.a.size.before)} to ${mb(m.a.size.after)} (\`meta.size_after\`) while the adds stored ${int(m.a.size.entries)} entries of real feeds from the corpus (each newest 50 of a feed, full content, sanitized; ${m.a.size.feeds} feed rows, the FTS index and the other indexes included): **${int(M.bytesPerEntry)} bytes per entry**.`);
  P();

  // ---- the model ----
  P("## The model (assumptions)");
  P();
  P(`Per feed per day, ${A.fetchesPerDay} alarms: ${A.newEntryFetches} find one new entry each (\`alarm, 1 new entry at the retention cap\`, which also nudges the Room once), ${A.editFetches} find an edited entry (\`alarm, 1 edited entry\`), and the other ${M.unchanged} are unchanged: ${A.unchangedMix.notModified * 100}% 304 (mean of the three 304 alarms), ${A.unchangedMix.identical * 100}% identical 200 (\`#2\`: \`#1\` also dropped the ETag from the state), ${A.unchangedMix.changedNothingNew * 100}% a changed document with nothing new (mean of #1, #2). So ${fix((100 * (A.newEntryFetches + A.editFetches)) / A.fetchesPerDay, 0)}% of fetches find changes and a feed gains ${A.newEntryFetches} entries a day.`);
  P();
  P(`- Once a day per feed the D1 watchdog deadline moves (\`OVERDUE_SLACK_MS\`), and that fetch also rewrites the feed row (${M.renewal.d1Read} read / ${M.renewal.d1Written} written: the feed-row statement of the measured edit's batch) and the state (1 DO row written).`);
  P(`- The Room writes its cursor on every publish: +1 DO SQLite row per new entry. **Not metered** (\`room.rs\` calls \`storage().get/put\` directly, outside \`meter\`): added from reading the code.`);
  P(`- Cron: ${A.cronRunsPerDay} runs × \`cron run, none overdue\` (it reads the same few index rows at any number of feeds: the deadline index and the prune's published_at index).`);
  P(`- Page views: ${int(A.pageViews)} a day, ${Object.entries(A.pageMix).map(([p, s]) => `${s * 100}% \`${p}\``).join(", ")}. Misses per page = views / (1 + views·${A.cacheSeconds} s / (86,400 s · ${A.colos} data centres)); a miss reads the fitted a + b·feeds + c·entries rows at the model's size, a hit costs one Worker request. Every view of \`/\` and \`/feeds/{id}\` runs live.js: one socket connect and one resume (5 entries behind) each.`);
  P(`- Readers: ${int(A.readers)} connected all day, ${A.reconnectsPerReaderPerDay} reconnects each a day (connect + resume). Broadcasts to them are outgoing messages (free).`);
  P(`- DO duration: every DO invocation's wall time × ${A.doMemoryGB} GB; a fetching alarm's measured wall time plus ${A.fetchLatencyMs} ms for a real publisher's response (loopback here), and ${A.roomBroadcastMs} ms of the Room's time per publish for its broadcast to ${int(A.readers)} sockets (\`bench/realtime/RESULTS.md\`). Hibernated sockets cost nothing.`);
  P(`- Storage after a year: ${A.retentionMaxEntries} entries per feed (\`RETENTION_MAX_ENTRIES\`; at 3 a day the ${A.retentionDays}-day retention never applies) × the measured bytes per entry. DO SQLite: ~12 KB per object plus its \`seen\` table, which is never pruned (${A.newEntryFetches}×${A.retentionDays} + 50 rows a year per feed × ${A.seenRowBytes} B, an estimate: DO storage has no size meta).`);
  P(`- Month = ${A.daysPerMonth} days. Admin adds and imports are rare and left out.`);
  P();

  P("## Under attack: the cheapest way to spend a daily limit");
  P();
  P("What one client address (and 1,000 of them) must send to use up a Free daily figure, by the");
  P("cheapest way the quota-abuse suites found, before issue 19 (fd34a92) and after it. Per-request");
  P("costs are measured on `wrangler dev` with `METER=1`, limits and page cache as deployed, on a");
  P("planet of 450\u2013650 entries (`tests/e2e/quota_abuse*.test.mjs` print them); times follow from the");
  P("limits in `wrangler.jsonc` and `core::protocol` (`PUBLIC_LIMIT` 15 units a minute per address and");
  P("`PLANET_LIMIT` 30 for every address together, a unit = 50 D1 rows read or one DO request; socket");
  P("frames: per address 48 then one every 2 s, for every address together 2,000 then one every 200 ms).");
  P("Rate limits count per Cloudflare location: the 1,000-address column is one location; an attack");
  P("spread over k locations spends k planet budgets. `tests/native/quota_rules.rs` checks the arithmetic.");
  P();
  P("| daily limit | before: cheapest way | before: one address | after: cheapest way | after: one address | after: 1,000 addresses |");
  P("| --- | --- | --- | --- | --- | --- |");
  P("| D1 rows read (5M) | `/?before=<unknown id>&v=N`: 452 rows each (grows with the planet), every variant a miss, shared pages not limited | 11,062 requests, no limit: ~4 min at 50 requests/s | any miss or resume: every one spends its rows from one budget (a search 14 units for \u2264 700 rows measured; an unfiltered resume 4 units for its 100 entries, 200 rows measured) | \u2265 111 h (\u2264 750 rows a minute: 0.9 % of the day an hour) | \u2265 55 h (\u2264 1,500 rows a minute, 43 % of the day a day) |");
  P("| D1 rows read, HTTP only (before: socket resumes were not limited) | `/search`: 1,413 rows each, 120 a minute | ~29 min | as above | as above | as above |");
  P("| D1 rows written (100k) | a member feed whose hub is the planet's own under another name: fat pings of its own entries back, ~1M rows a day at the push limit | ~2.4 h | none found: anonymous requests write no D1 row (a refused sign-in, a cache miss, a socket frame), loops through the planet are refused | \u2014 | \u2014 |");
  P("| DO requests (100k) | socket frames: 20 sockets \u00d7 40 frames/s, billed 20:1 | ~42 min | socket connects (a unit each) and frames within the budgets (billed 20:1) | \u2265 101 h (15 connects and 1.5 billed frames a minute: 0.99 % an hour) | \u2265 37 h (30 connects and 15 billed frames a minute: 65 % of the day a day) |");
  P("| Worker requests (100k) | any request | ~33 min at 50 requests/s | any request, refused or not: the Worker cannot refuse what reaches it | ~33 min at 50 requests/s | the same |");
  P();
  P("Met: one address moves no Free daily figure by more than 1 % an hour (D1 rows read 0.9 %, DO");
  P("requests 0.99 %, nothing written), and 1,000 addresses from one location leave the feeds at least");
  P("57 % of the reads and 35 % of the DO requests (a thousand feeds need 26 % and 29 %: the table");
  P("above). Not bounded by Orrery: Worker requests themselves (on a custom domain, a WAF");
  P("rate-limiting rule in front). The trade: on `*.workers.dev`, where every view is a miss, an");
  P("address gets about five page views a minute, and a reconnect wave after a deploy comes back at");
  P("15 sockets a minute per address and 30 per location; raise both limits on the Paid plan.");
  P();
  P("## What was measured, what was not");
  P();
  P("- **Measured** (per operation, from D1 meta and the DO SQLite cursors): every row count in the per-operation tables; Worker and DO invocations (one `inv` meter line at the start of each: Worker request, cron run, DO request, alarm, incoming socket message); subrequests (outbound fetches and DO calls, one line each); D1 database size.");
  P("- **Counted by call, as billed:** the FeedObject's key-value state and alarm calls (`state.get` 1 read, `state.put` 1 written, `alarm.set` 1 written, `alarm.get` 1 read): the runtime returns no row counts for them; the docs bill each `get`/`put` as rows and each `setAlarm` as one row written.");
  P("- **Not metered:** the Room's cursor `get`/`put` (added to the model from the code, +1 row written per publish); the FeedObject constructor's three `CREATE TABLE/INDEX IF NOT EXISTS` statements, which run every time an object is constructed — in production that is after every eviction, so likely once per alarm of a feed polled hourly — their rows are unknown; `storage().deleteAll()` on feed removal; `websocket_close`, which wakes the object holding a socket when its reader leaves; the fetcher's redirect hops (one `feed.fetch` line per fetch, however many hops).");
  P("- **Estimated, not measured:** DO duration (wall time on loopback plus an assumed fetch latency), DO SQLite storage, Workers CPU time (workerd's clock stands still while code runs).");
  {
    const ins = o.alarm_new1_cap.lines.filter((l) => l.k === "d1");
    P(`- **Local vs production:** the counts come from workerd's local D1 and Durable Objects (SQLite underneath, as in production, and the same \`meta\` fields); the query plans, and so \`rows_read\`, should be production's. The local counts look right for reads and inserts (an entry insert counts ${ins[0].written} rows written: the row, its four index entries and the AUTOINCREMENT counter), but a delete counts only ${ins[2] ? ins[2].written : "?"} per entry and an edit (UPDATE) ${o.alarm_edit1.lines.find((l) => l.k === "d1").written}: if production counts a delete's index and FTS entries as it counts an insert's, a new entry at the cap costs ~${ins[0].written * 2 + (ins[1] ? ins[1].written : 0) + (ins[3] ? ins[3].written : 0) + searchRow(o.alarm_new1_cap)} D1 rows written rather than ${o.alarm_new1_cap.d1Written}. The search index (FTS5, the whole text of every post) counts ${searchRow(o.alarm_new1_cap)} row per entry written whatever the post's length: the meter sees the virtual table's row, not the pages FTS5 writes into its shadow tables (SQLite's own change counter sees about 9 per entry written alone and 3.4 per entry in batches of 10 over this corpus, with \`pgsz\` 32000 — as many as the old title-and-summary index at the default page size). This was not checked against a deployed database.`);
  }
  P();
  P("## Sources (Cloudflare docs)");
  P();
  P("- Workers pricing — https://developers.cloudflare.com/workers/platform/pricing/ : Free 100,000 requests/day; Paid $5/month, 10M requests included then $0.30/M, 30M CPU-ms included; cron invocations count as requests (its Example 3); requests to static assets are free.");
  P("- Workers limits — https://developers.cloudflare.com/workers/platform/limits/ : 50 subrequests per invocation on Free (1,000 Paid).");
  P("- Durable Objects pricing — https://developers.cloudflare.com/durable-objects/platform/pricing/ : Free 100,000 requests/day and 13,000 GB-s/day; Paid 1M requests included then $0.15/M, 400,000 GB-s then $12.50/M GB-s; requests include HTTP, RPC, WebSocket messages and alarms; incoming WebSocket messages at 20:1, outgoing free, protocol pings free; SQLite storage rows: Free 5M read / 100,000 written a day, Paid 25 billion read / 50M written a month included then $0.001/M and $1.00/M; key-value `get`/`put` billed as rows; each `setAlarm` is one row written; storage 5 GB (Free total, Paid included) then $0.20/GB-month.");
  P("- D1 pricing — https://developers.cloudflare.com/d1/platform/pricing/ : Free 5M rows read / 100,000 written a day; Paid 25 billion / 50M a month included then $0.001/M and $1.00/M; 5 GB storage included then $0.75/GB-month; rows read are rows scanned; an index adds a written row; `meta` is the way to track usage.");
  P("- D1 limits — https://developers.cloudflare.com/d1/platform/limits/ : 500 MB per database on Free, 10 GB on Paid (cannot be raised); 50 queries per invocation on Free (1,000 Paid).");
  P("- Durable Objects changelog (2024-04-01) — https://developers.cloudflare.com/durable-objects/platform/changelog/ : the 20:1 WebSocket message ratio is billing-only.");
  P();
  P("Where the docs are ambiguous:");
  P("- Whether an incoming text message answered by `setWebSocketAutoResponse` (live.js's `ping`) counts as an incoming WebSocket message for request billing. The pricing page's footnote says auto-responses incur no wall-clock time \"and so they will not be charged\" under *Duration*; the requests footnote exempts only protocol-level pings. See *Pings* above for what it would change.");
  P("- Whether a D1 `batch()` counts as one query or as one per statement toward the 50 queries per invocation (the limits page only says per-statement limits apply inside a batch). A first fetch writes up to 50 entries plus 3 statements in one batch: 53 statements.");
  P("- Whether cron invocations count toward the Free plan's 100,000 requests a day (the pricing example bills them as requests; the tables count them: 144 a day).");
  P();
  P("## Reproduce");
  P();
  P("```sh");
  P("bash bench/cost/run.sh          # make worker (nothing to do when build/ is current), then measures (~2 min on 2 cores); writes bench/COST.md and docs/budgets.md's section \"What it costs\"");
  P("node bench/cost/run.mjs --model-only   # re-renders COST.md from bench/cost/measured.json (change ASSUME in model.mjs)");
  P("```");
  P();
  P(`It starts two \`wrangler dev\` on loopback with \`METER=1\` — A with the production schedule (${Object.entries(m.vars.A).map(([k, v]) => `${k}=${v}`).join(", ")}) and B with alarms every 2–3.3 s (${Object.entries(m.vars.B).map(([k, v]) => `${k}=${v}`).join(", ")}) — and a fixture feed server on 127.0.0.1 serving the corpus (\`${m.a.corpus ? "../shared/corpus/real-feeds" : "absent: synthetic feeds instead"}\`) and synthetic probe feeds. Only loopback traffic; everything it starts is stopped at the end, on error or after \`DEADLINE_S\`. The raw per-operation lines are in \`bench/cost/measured.json\`.`);
  return L.join("\n") + "\n";
}

/** docs/budgets.md's "What it costs" block (between its `cost:begin` / `cost:end` markers);
 *  `costLink` is bench/COST.md relative to that file. */
export function renderDoc(m, A = ASSUME, costLink = "../bench/COST.md") {
  const M = model(m, A);
  const paid = M.rows.map((r) => paidMonthly(r, A));
  const L = [];
  const P = (s = "") => L.push(s);
  P(`Measured by \`bench/cost/run.sh\` (${m.env.date.slice(0, 10)}): every operation's D1 rows (from each result's \`meta\`), Durable Object SQLite rows (from the cursors), DO and Worker requests and subrequests, read from the meter (\`METER=1\`) while it drives a workload on \`wrangler dev\`; scaled to a day with the assumptions in [bench/COST.md](${costLink}) (default schedule, ${int(A.readers)} readers connected all day, ${int(A.pageViews)} page views a day, every feed at its ${A.retentionMaxEntries}-entry cap). Per day, with the share of the Free plan's daily limit:`);
  P();
  P(`| per day (Free limit) | ${A.feeds.map((n) => `${int(n)} feeds`).join(" | ")} |`);
  P(`| --- | ${A.feeds.map(() => "---:").join(" | ")} |`);
  const row = (name, lim, get) => P(`| ${name} | ${M.rows.map((r) => bold(cell(get(r), lim), get(r) > lim)).join(" | ")} |`);
  row("Worker requests (100,000)", FREE.workerReq, (r) => r.worker);
  row("DO requests (100,000)", FREE.doReq, (r) => r.doReq);
  row("D1 rows read (5M)", FREE.d1Read, (r) => r.d1Read);
  row("D1 rows written (100,000)", FREE.d1Written, (r) => r.d1Written);
  row("DO SQLite rows read (5M)", FREE.sqlRead, (r) => r.sqlRead);
  row("DO SQLite rows written (100,000)", FREE.sqlWritten, (r) => r.sqlWritten);
  P(`| D1 size after a year (500 MB) | ${M.rows.map((r) => bold(`${mb(r.d1Bytes)} (${pct(r.d1Bytes, FREE.d1Bytes)})`, r.d1Bytes > FREE.d1Bytes)).join(" | ")} |`);
  P(`| **Paid plan, per month** | ${paid.map((p, i) => `${usd(p.total)}${p.tooBigForOneD1 ? " ¹" : ""}`).join(" | ")} |`);
  P();
  const big = M.rows[M.rows.length - 1];
  const overs = (r) => [["DO SQLite rows written", r.sqlWritten / FREE.sqlWritten], ["D1 rows written", r.d1Written / FREE.d1Written], ["DO requests", r.doReq / FREE.doReq], ["D1 rows read", r.d1Read / FREE.d1Read], ["Worker requests", r.worker / FREE.workerReq], ["DO SQLite rows read", r.sqlRead / FREE.sqlRead]].filter(([, x]) => x > 1).sort((a, b) => b[1] - a[1]);
  const says = M.rows.map((r) => {
    const o = overs(r);
    const size = r.d1Bytes > FREE.d1Bytes ? `D1's 500 MB does not hold a year (${int(FREE.d1Bytes / M.bytesPerEntry / r.N)} entries per feed fit at ${int(M.bytesPerEntry)} B each; the default keeps ${A.retentionMaxEntries})` : "";
    if (!o.length) return `**${int(r.N)} feeds**: the daily limits hold${size ? `, but ${size}` : " and so does D1's size"}.`;
    return `**${int(r.N)} feeds**: **${o[0][0]}** forces the Paid plan first (${fix(o[0][1], 1)}× the Free limit)${o.length > 1 ? `, then ${o.slice(1).map(([n, x]) => `${n} ${fix(x, 1)}×`).join(", ")}` : ""}${size ? `; and ${size}` : ""}.`;
  });
  P(says.join(" "));
  P();
  P(`Where it comes from: each feed adds ${fix(A.fetchesPerDay + A.newEntryFetches, 0)} DO requests a day (its alarms, ${A.fetchesPerDay} a day on the default schedule, and its Room publishes), each alarm writes its \`setAlarm\` row, each new entry ~${o_newWritten(m)} D1 rows; and a miss of \`/feeds\` reads every feed row.`);
  if (paid.some((p) => p.tooBigForOneD1)) {
    const cap = Math.floor(10e9 / M.bytesPerEntry / big.N / 10) * 10;
    const fitted = paidMonthly(model(m, { ...A, feeds: [big.N], retentionMaxEntries: cap }).rows[0], A);
    P();
    P(`¹ Not reachable as configured: 500 entries × ${int(big.N)} feeds is ${mb(big.d1Bytes)}, over D1's 10 GB per database even on Paid; with \`RETENTION_MAX_ENTRIES=${cap}\` it fits, at ${usd(fitted.total)} a month.`);
  }
  P();
  P(`Not included: Workers CPU time (not measurable under \`wrangler dev\`), and \`ping\`s answered by the WebSocket auto-response, which the docs leave ambiguous (if billed at 20:1 they would add ${int(big.pingReqIfBilled)} DO requests a day for ${int(A.readers)} readers). [bench/COST.md](${costLink}) has the per-operation counts, the model and what it found.`);
  return L.join("\n");
}

const o_newWritten = (m) => m.ops.alarm_new1_cap.d1Written;

/** Replaces the block between the markers of `doc`; returns the new text, or null without markers. */
export function spliceDoc(readme, block) {
  const begin = "<!-- cost:begin (written by bench/cost/run.sh) -->";
  const end = "<!-- cost:end -->";
  const i = readme.indexOf(begin), j = readme.indexOf(end);
  if (i < 0 || j < i) return null;
  return `${readme.slice(0, i + begin.length)}\n${block}\n${readme.slice(j)}`;
}
