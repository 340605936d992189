// Publish-to-delivered latency at 1,000 WebSocket clients on ONE Durable Object:
// Orrery's Room (the real path: refresh → fetch → parse → D1 → Room → sockets) against a bare
// relay Durable Object (bench/realtime/relay) that only loops over its sockets and sends.
// Same client code, same machine, same run, rounds interleaved. Prints everything and writes
// bench/realtime/RESULTS.md. Never builds the Worker: it measures build/ as it is.
//
//   node bench/realtime/latency.mjs          (PATH must start with node_modules/.bin: Node >= 22)
//   env: CLIENTS=1000 WARMUP=3 ROUNDS=20 BATCH=100 DEADLINE_S=300 RESULTS=bench/realtime/RESULTS.md
//        BENCH_STALE_OK=1 measures a build/ older than src/ instead of refusing.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, statSync, readdirSync, readFileSync, chmodSync, existsSync } from "node:fs";
import { tmpdir, loadavg, cpus } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { startWorker, startFeedServer, api, freePort, sleep, ROOT } from "../../tests/support/harness.mjs";
import { stopper } from "../support/stopper.mjs";

const num = (k, d) => (process.env[k] ? Number(process.env[k]) : d);
const CLIENTS = num("CLIENTS", 1000);
const WARMUP = num("WARMUP", 3);
const ROUNDS = num("ROUNDS", 20);
const BATCH = num("BATCH", 100);
const DEADLINE_S = num("DEADLINE_S", 300);
const ROUND_TIMEOUT_MS = 20000;
const RESULTS = path.resolve(ROOT, process.env.RESULTS || "bench/realtime/RESULTS.md");
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");
const RELAY_CONFIG = path.join(ROOT, "bench/realtime/relay/wrangler.jsonc");

// ---------- cleanup: everything started here stops on success, failure, signal or deadline ----------
const { cleanups, cleanup, deadline } = stopper("bench/realtime", DEADLINE_S, 3);

const log = (...a) => console.log(...a);

// ---------- the Worker is measured as built; never rebuilt by this benchmark ----------
function newestMtime(p) {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let m = 0;
  for (const f of readdirSync(p)) m = Math.max(m, newestMtime(path.join(p, f)));
  return m;
}
function checkBuild() {
  const shim = path.join(ROOT, "build/worker/shim.mjs");
  if (!existsSync(shim)) throw new Error("build/worker/shim.mjs is missing: run `make worker` first");
  const built = statSync(shim).mtimeMs;
  const src = Math.max(newestMtime(path.join(ROOT, "src")), ...["Cargo.toml", "Cargo.lock"].map((f) => statSync(path.join(ROOT, f)).mtimeMs));
  if (src > built) {
    const msg = "build/worker/shim.mjs is older than src/ or Cargo.*: run `make worker` first";
    if (process.env.BENCH_STALE_OK !== "1") throw new Error(`${msg} (or set BENCH_STALE_OK=1 to measure it anyway)`);
    log(`bench/realtime: WARNING: ${msg}; measuring the existing build (BENCH_STALE_OK=1)`);
    return "stale (older than src/)";
  }
  return "current";
}
// wrangler.jsonc's build command is `make -s worker` (run at start and on every src/ change).
// Put a `make` that does nothing first on PATH so wrangler dev serves build/ exactly as it is.
function neuterBuild() {
  const dir = mkdtempSync(path.join(tmpdir(), "orrery-bench-nobuild-"));
  const make = path.join(dir, "make");
  writeFileSync(make, "#!/bin/sh\necho \"bench/realtime: not building ($*): measuring build/ as it is\" >&2\nexit 0\n");
  chmodSync(make, 0o755);
  process.env.PATH = `${dir}:${process.env.PATH}`;
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
}

// ---------- the bare relay under wrangler dev ----------
// A free port can be taken by someone else before wrangler binds it: try again with new ports.
async function startRelay(tries = 3) {
  for (let i = 1; ; i++) {
    try { return await startRelayOnce(); } catch (e) {
      if (i >= tries) throw e;
      log(`bench/realtime: the relay did not start (${e.message.split("\n")[0]}); trying again`);
    }
  }
}

async function startRelayOnce() {
  const port = await freePort();
  let inspector = await freePort();
  while (inspector === port) inspector = await freePort();
  const state = mkdtempSync(path.join(tmpdir(), "orrery-bench-relay-"));
  const env = { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
    WRANGLER_SEND_METRICS: "false", NO_UPDATE_NOTIFIER: "1", CI: "true", FORCE_COLOR: "0" };
  const child = spawn(WRANGLER, ["dev", "--config", RELAY_CONFIG, "--ip", "127.0.0.1", "--port", String(port),
    "--inspector-port", String(inspector), "--persist-to", state, "--show-interactive-dev-session=false"],
  { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { out += d; });
  let exited = null;
  child.on("exit", (c) => { exited = c; });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ }
    rmSync(state, { recursive: true, force: true });
    rmSync(path.join(path.dirname(RELAY_CONFIG), ".wrangler"), { recursive: true, force: true });
  };
  cleanups.push(stop);
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 120000;
  for (;;) {
    if (exited !== null) { stop(); throw new Error(`the relay's wrangler dev exited with ${exited}\n--- relay wrangler output ---\n${out.slice(-3000)}`); }
    if (Date.now() > end) { stop(); throw new Error(`the relay's wrangler dev did not answer in 120 s\n--- relay wrangler output ---\n${out.slice(-3000)}`); }
    try { if ((await fetch(`${url}/healthz`)).status === 200) break; } catch { /* not up yet */ }
    await sleep(250);
  }
  return { url, log: () => out };
}

// ---------- the client: one Node process, N sockets, identical for both systems ----------
// On a frame it only takes a timestamp and keeps the text; parsing happens after the round.
class Clients {
  constructor(name, wsUrl) {
    this.name = name;
    this.wsUrl = wsUrl;
    this.socks = [];
    this.count = 0;
    this.target = Infinity;
    this.onDone = null;
    this.closed = 0;
    this.closeCodes = {};
  }

  openOne() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.wsUrl);
      const c = { ws, got: [], hello: null };
      const t = setTimeout(() => reject(new Error(`${this.name}: no hello within 30 s`)), 30000);
      ws.onmessage = (ev) => {
        const now = performance.now();
        if (c.hello === null) { c.hello = ev.data; clearTimeout(t); resolve(c); return; }
        c.got.push(now, ev.data);
        if (++this.count >= this.target && this.onDone) { const d = this.onDone; this.onDone = null; d(); }
      };
      ws.onclose = (ev) => {
        clearTimeout(t);
        if (c.hello === null) { reject(new Error(`${this.name}: closed before hello (${ev.code})`)); return; }
        if (!this.stopping) { this.closed++; this.closeCodes[ev.code] = (this.closeCodes[ev.code] || 0) + 1; }
      };
      ws.onerror = () => { if (c.hello === null) { clearTimeout(t); reject(new Error(`${this.name}: cannot connect to ${this.wsUrl}`)); } };
    });
  }

  async open(n) {
    const t0 = performance.now();
    for (let i = 0; i < n; i += BATCH) {
      const batch = await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, () => this.openOne()));
      this.socks.push(...batch);
    }
    return performance.now() - t0;
  }

  /** Arms the counter before the publish is sent; resolves when every socket has one frame (or on timeout). */
  expect() {
    this.count = 0;
    this.target = this.socks.length;
    for (const c of this.socks) c.got = [];
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.onDone = null; resolve(false); }, ROUND_TIMEOUT_MS);
      this.onDone = () => { clearTimeout(t); resolve(true); };
    });
  }

  /** Latencies (ms after t0) of frames whose text contains `marker`; counts missing and unexpected frames. */
  collect(t0, marker) {
    const lat = [];
    let missing = 0;
    let unexpected = 0;
    let bytes = 0;
    for (const c of this.socks) {
      let mine = 0;
      for (let i = 0; i < c.got.length; i += 2) {
        const data = c.got[i + 1];
        let m = null;
        try { m = JSON.parse(data); } catch { /* not JSON */ }
        if (m?.type === "entry" && m.entry?.title === marker) { lat.push(c.got[i] - t0); mine++; bytes = data.length; } else unexpected++;
      }
      if (mine === 0) missing++;
      if (mine > 1) unexpected += mine - 1;
    }
    return { lat, missing, unexpected, bytes };
  }

  close() {
    this.stopping = true;
    for (const c of this.socks) { try { c.ws.close(1000); } catch { /* gone */ } }
  }
}

// ---------- statistics ----------
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);
function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 0.5), p90: pct(s, 0.9), p99: pct(s, 0.99), max: s[s.length - 1] ?? NaN, min: s[0] ?? NaN };
}
const cpuMs = (u) => (u.user + u.system) / 1000;
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");

// ---------- Orrery's fixture feed: the newest few entries of a growing Atom feed, ~1 KB frames ----------
const LOREM = "Orrery pushes every new entry to every reader the moment it is stored. "
  + "This paragraph is filler so that the entry frame weighs about as much as a real one: a title, a link, "
  + "an author, a summary and the server-rendered article partial that the page itself uses.";
function atom(n) {
  let entries = "";
  for (let i = n; i >= Math.max(1, n - 4); i--) {
    const t = new Date(Date.UTC(2026, 10, 1) + i * 60000).toISOString();
    entries += `<entry><title>bench entry ${i}</title><id>urn:bench:${i}</id>
      <link href="https://bench.example/entries/${i}"/><updated>${t}</updated><author><name>Bench Writer</name></author>
      <content type="html">&lt;p&gt;${LOREM} (${i})&lt;/p&gt;</content></entry>`;
  }
  return `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Bench Feed</title><id>urn:bench</id>
    <link href="https://bench.example/"/>${entries}</feed>`;
}

function relayPayload(round, size) {
  const head = { type: "entry", entry: { id: round, feed_id: 0, feed_title: "Relay", title: `relay round ${round}`,
    url: `https://relay.example/${round}`, author: "Bench Writer", published: 0, summary: LOREM } };
  const base = JSON.stringify({ ...head, html: "" });
  return JSON.stringify({ ...head, html: "x".repeat(Math.max(0, size - base.length)) });
}

// ---------- main ----------
async function main() {
  const started = new Date();
  const buildState = checkBuild();
  neuterBuild();
  const load0 = loadavg();
  log(`bench/realtime: ${CLIENTS} clients per system, ${WARMUP} warm-up + ${ROUNDS} measured rounds, batches of ${BATCH}`);

  log("bench/realtime: starting Orrery (wrangler dev), the relay (wrangler dev) and the feed server");
  const fs = await startFeedServer();
  cleanups.push(() => fs.close());
  let n = 1;
  const feedHits = [];
  fs.set("/bench.atom", () => { feedHits.push(performance.now()); return { body: atom(n), type: "application/atom+xml" }; });
  // One at a time: two wrangler startups at once on two cores only slow both down.
  // One Room shard: every socket on ONE object, like the relay. No scheduled fetch during the run.
  const vars = { ROOM_SHARDS: "1", MIN_FETCH_INTERVAL_SECONDS: "86400", DEFAULT_FETCH_INTERVAL_SECONDS: "86400", MAX_FETCH_INTERVAL_SECONDS: "86400" };
  let w;
  try { w = await startWorker({ vars }); } catch (e) {
    log(`bench/realtime: Orrery did not start (${e.message.split("\n")[0]}); trying again`);
    w = await startWorker({ vars });
  }
  cleanups.push(() => w.stop());
  const relay = await startRelay();

  const added = await api(w.url, "POST", "/api/feeds", { body: { url: fs.url("/bench.atom") } });
  if (added.status !== 201) throw new Error(`adding the feed failed: ${added.status} ${added.text}`);
  const feedId = added.body.feed.id;

  const orrery = new Clients("orrery", `${w.url.replace("http", "ws")}/ws`);
  const bare = new Clients("relay", `${relay.url.replace("http", "ws")}/ws`);
  const openO = await orrery.open(CLIENTS);
  const openR = await bare.open(CLIENTS);
  const helloClients = Math.max(...orrery.socks.map((c) => JSON.parse(c.hello).clients ?? 0));
  if (helloClients < CLIENTS) throw new Error(`Orrery's hellos count at most ${helloClients} readers, not ${CLIENTS}: the sockets are not all on one Room`);
  log(`bench/realtime: connected ${CLIENTS} + ${CLIENTS} sockets (orrery ${f1(openO)} ms, relay ${f1(openR)} ms; largest reader count in Orrery's hellos: ${helloClients})`);

  const res = {
    orrery: { cold: null, lat: [], after: [], pub: [], rtt: [], toFetch: [], cpu: [], spread: [], first: [], roundP50: [], roundP99: [], missing: 0, unexpected: 0, bytes: 0 },
    relay: { cold: null, lat: [], rtt: [], cpu: [], spread: [], first: [], roundP50: [], roundP99: [], missing: 0, unexpected: 0, bytes: 0 },
    idleRtt: [], rounds: [],
  };
  let frameSize = 1024;

  async function roundOrrery(r, measured) {
    n += 1;
    const marker = `bench entry ${n}`;
    feedHits.length = 0;
    const done = orrery.expect();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const rep = api(w.url, "POST", `/api/feeds/${feedId}/refresh`).then((x) => ({ x, rtt: performance.now() - t0 }));
    const [ok, { x, rtt }] = await Promise.all([done, rep]);
    const cpu = cpuMs(process.cpuUsage(cpu0));
    if (x.body?.new_entries !== 1) throw new Error(`round ${r}: refresh did not find exactly one entry: ${x.status} ${x.text}`);
    const c = orrery.collect(t0, marker);
    const toFetch = feedHits.length ? feedHits[0] - t0 : NaN;
    // The FeedObject reports (workerd's clock, the same wall clock as ours) when it handed the
    // committed entry to the Room: publish → delivered starts there.
    const toPublish = x.body.published_at - (performance.timeOrigin + t0);
    if (c.bytes) frameSize = c.bytes;
    const o = res.orrery;
    if (r === 0) o.cold = { ...summary(c.lat), rtt, toFetch };
    if (measured) {
      o.lat.push(...c.lat);
      o.after.push(...c.lat.map((v) => v - toFetch));
      o.pub.push(...c.lat.map((v) => v - toPublish));
      o.rtt.push(rtt);
      o.toFetch.push(toFetch);
      o.missing += c.missing;
      o.cpu.push(cpu);
      o.spread.push(summary(c.lat).max - summary(c.lat).min);
      o.first.push(summary(c.lat).min);
      o.roundP50.push(summary(c.lat).p50);
      o.roundP99.push(summary(c.lat).p99);
      o.unexpected += c.unexpected;
    }
    o.bytes = c.bytes;
    const s = summary(c.lat);
    log(`  round ${String(r).padStart(2)} orrery: first ${f1(s.min)} p50 ${f1(s.p50)} p99 ${f1(s.p99)} max ${f1(s.max)} ms | refresh rtt ${f1(rtt)} | feed GET at +${f1(toFetch)} | client cpu ${f1(cpu)} | got ${c.lat.length}${ok ? "" : " (TIMEOUT)"}${c.missing ? ` missing ${c.missing}` : ""}${c.unexpected ? ` unexpected ${c.unexpected}` : ""}`);
    return s;
  }

  async function roundRelay(r, measured) {
    const marker = `relay round ${r}`;
    const body = relayPayload(r, frameSize);
    const done = bare.expect();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const rep = fetch(`${relay.url}/publish`, { method: "POST", body }).then(async (x) => ({ x: await x.json(), rtt: performance.now() - t0 }));
    const [ok, { x, rtt }] = await Promise.all([done, rep]);
    const cpu = cpuMs(process.cpuUsage(cpu0));
    const c = bare.collect(t0, marker);
    const b = res.relay;
    if (r === 0) b.cold = { ...summary(c.lat), rtt };
    if (measured) {
      b.lat.push(...c.lat);
      b.rtt.push(rtt);
      b.missing += c.missing;
      b.cpu.push(cpu);
      b.spread.push(summary(c.lat).max - summary(c.lat).min);
      b.first.push(summary(c.lat).min);
      b.roundP50.push(summary(c.lat).p50);
      b.roundP99.push(summary(c.lat).p99);
      b.unexpected += c.unexpected;
    }
    b.bytes = c.bytes;
    const s = summary(c.lat);
    log(`  round ${String(r).padStart(2)} relay : first ${f1(s.min)} p50 ${f1(s.p50)} p99 ${f1(s.p99)} max ${f1(s.max)} ms | publish rtt ${f1(rtt)} (sent ${x.sent}) | client cpu ${f1(cpu)} | got ${c.lat.length}${ok ? "" : " (TIMEOUT)"}${c.missing ? ` missing ${c.missing}` : ""}${c.unexpected ? ` unexpected ${c.unexpected}` : ""}`);
    return s;
  }

  // A refresh that finds nothing new: Worker → FeedObject → fetch → parse → identify → one D1 UPDATE.
  // Its round trip is about what the real path spends before it starts publishing.
  async function idleRefresh(measured) {
    const t0 = performance.now();
    const x = await api(w.url, "POST", `/api/feeds/${feedId}/refresh`);
    const rtt = performance.now() - t0;
    if (x.body?.new_entries !== 0) throw new Error(`an unchanged refresh found entries: ${x.text}`);
    if (measured) res.idleRtt.push(rtt);
  }

  const total = WARMUP + ROUNDS;
  log(`bench/realtime: round 0 is the cold (first) broadcast; rounds ${WARMUP}..${total - 1} are measured; the order alternates`);
  for (let r = 0; r < total; r++) {
    const measured = r >= WARMUP;
    // Orrery first in round 0 (its frame sets the relay's payload size), then alternate.
    const orreryFirst = r % 2 === 0;
    if (orreryFirst) { await roundOrrery(r, measured); await sleep(150); await roundRelay(r, measured); } else { await roundRelay(r, measured); await sleep(150); await roundOrrery(r, measured); }
    await sleep(150);
    await idleRefresh(measured);
    await sleep(150);
  }

  const load1 = loadavg();
  orrery.close();
  bare.close();
  await sleep(300);

  // ---------- report ----------
  const O = summary(res.orrery.lat);
  const R = summary(res.relay.lat);
  const A = summary(res.orrery.after);
  const P = summary(res.orrery.pub);
  const pub50 = P.p50 / R.p50;
  const pub99 = P.p99 / R.p99;
  const metPub = pub50 <= 1.5 && pub99 <= 1.5;
  const idle = summary(res.idleRtt);
  const adj = summary(res.orrery.lat.map((v) => v - idle.p50));
  const rttO = summary(res.orrery.rtt);
  const rttR = summary(res.relay.rtt);
  const toF = summary(res.orrery.toFetch);
  const ratio50 = O.p50 / R.p50;
  const ratio99 = O.p99 / R.p99;
  const adj50 = adj.p50 / R.p50;
  const adj99 = adj.p99 / R.p99;
  const rO50 = summary(res.orrery.roundP50).p50;
  const rR50 = summary(res.relay.roundP50).p50;
  const rO99 = summary(res.orrery.roundP99).p50;
  const rR99 = summary(res.relay.roundP99).p50;
  const met = ratio50 <= 1.5 && ratio99 <= 1.5;
  const metAdj = adj50 <= 1.5 && adj99 <= 1.5;
  const metRound = rO50 / rR50 <= 1.5 && rO99 / rR99 <= 1.5;
  const cpu = (readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) || [])[1] || cpus()[0]?.model || "unknown";
  const nproc = execFileSync("nproc", { encoding: "utf8" }).trim();
  const wver = execFileSync(WRANGLER, ["--version"], { encoding: "utf8", env: { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}` } }).trim().split("\n").pop();
  const drops = `Orrery ${orrery.closed}${Object.keys(orrery.closeCodes).length ? ` ${JSON.stringify(orrery.closeCodes)}` : ""}, relay ${bare.closed}${Object.keys(bare.closeCodes).length ? ` ${JSON.stringify(bare.closeCodes)}` : ""}`;
  const row = (name, s, extra = "") => `| ${name} | ${f1(s.p50)} | ${f1(s.p90)} | ${f1(s.p99)} | ${f1(s.max)} | ${extra} |`;

  const md = `## Realtime: publish-to-delivered latency at ${CLIENTS} WebSockets on one Durable Object

- Machine: ${nproc} cores, ${cpu}; Node ${process.version}; wrangler ${wver} (\`wrangler dev\`, local workerd)
- Date: ${started.toISOString()}; Worker build: ${buildState}
- Reproduce: \`PATH=$PWD/node_modules/.bin:$PATH node bench/realtime/latency.mjs\` (or \`bash bench/realtime/run.sh\`)
- Method: ${CLIENTS} clients per system in one Node process (opened ${BATCH} at a time), both systems up at once,
  ${WARMUP} warm-up + ${ROUNDS} measured rounds, Orrery and relay alternating inside each round;
  percentiles over all ${res.orrery.lat.length} (Orrery) / ${res.relay.lat.length} (relay) deliveries of the measured rounds.
  Frames: Orrery ${res.orrery.bytes} B (an \`entry\` with its HTML partial), relay ${res.relay.bytes} B (same shape, padded to the same size).
- Orrery: latency = frame received − \`POST /api/feeds/{id}/refresh\` sent, after the fixture feed gained one entry.
  Relay: latency = frame received − \`POST /publish\` sent (a bare DO: \`getWebSockets()\` and \`send\`).
- Per round (p50 over the measured rounds): first socket served after ${f1(summary(res.relay.first).p50)} ms (relay) / ${f1(summary(res.orrery.first).p50)} ms (Orrery);
  first → last socket (the fan-out) ${f1(summary(res.relay.spread).p50)} ms (relay) / ${f1(summary(res.orrery.spread).p50)} ms (Orrery).
- Client cost: the Node client spent ${f1(summary(res.relay.cpu).p50)} ms (relay) / ${f1(summary(res.orrery.cpu).p50)} ms (Orrery) of CPU per round (p50) taking in ${CLIENTS} frames; it is in both numbers alike.
- Load average at start / end: ${load0.map(f2).join(" ")} / ${load1.map(f2).join(" ")}

| ms | p50 | p90 | p99 | max | notes |
| --- | ---: | ---: | ---: | ---: | --- |
${row("Bare relay DO: publish sent → delivered", R, `publish POST round trip p50 ${f1(rttR.p50)}`)}
${row("Orrery: refresh sent → delivered (raw)", O, `refresh round trip p50 ${f1(rttO.p50)}, p90 ${f1(rttO.p90)}`)}
${row("**Orrery: publish (entry committed to D1, handed to the Room) → delivered**", P, "the issue's measure; start = the FeedObject's \`published_at\`")}
${row("Orrery: feed GET reached the feed server → delivered", A, `feed GET arrived ${f1(toF.p50)} ms after the refresh was sent (p50)`)}
${row("Orrery: raw − unchanged-refresh round trip (estimate)", adj, `unchanged refresh round trip p50 ${f1(idle.p50)}, p90 ${f1(idle.p90)}`)}
${row("Cold, first broadcast: relay", res.relay.cold, `publish round trip ${f1(res.relay.cold.rtt)}`)}
${row("Cold, first broadcast: Orrery (raw)", res.orrery.cold, `refresh round trip ${f1(res.orrery.cold.rtt)}`)}

Ratio Orrery publish→delivered / relay publish→delivered: p50 **${f2(pub50)}×**, p99 **${f2(pub99)}×** — goal (≤ 1.5×) ${metPub ? "**met**" : "**not met**"}.
Ratio Orrery / relay with Orrery's whole refresh counted: p50 ${f2(ratio50)}×, p99 ${f2(ratio99)}× raw; p50 ${f2(adj50)}×, p99 ${f2(adj99)}× after subtracting the unchanged-refresh round trip.
Round to round: the median round's p50 is ${f1(rO50)} ms (Orrery) vs ${f1(rR50)} ms (relay), ${f2(rO50 / rR50)}×, and its p99 ${f1(rO99)} vs ${f1(rR99)} ms, ${f2(rO99 / rR99)}×;
one round is ${Math.round(100 / ROUNDS)}% of all deliveries, so a single stalled round sets the overall p99 (worst round p99: Orrery ${f1(summary(res.orrery.roundP99).max)}, relay ${f1(summary(res.relay.roundP99).max)} ms).
Missing deliveries: Orrery ${res.orrery.missing}, relay ${res.relay.missing}; unexpected or duplicate frames: Orrery ${res.orrery.unexpected}, relay ${res.relay.unexpected}; sockets closed by the server during the run: ${drops}.

**Goal (Orrery's publish → delivered within 1.5× of the bare relay's, at p50 and p99): ${metPub ? "met" : "not met"}** (p50 ${f2(pub50)}×, p99 ${f2(pub99)}×). Counting Orrery's whole refresh (fetch, parse, D1 write) as well, it is ${met ? "still within" : "outside"} 1.5× over all deliveries (p50 ${f2(ratio50)}×, p99 ${f2(ratio99)}×)${metRound === met ? "" : `; ${metRound ? "within" : "outside"} round by round (median round: p50 ${f2(rO50 / rR50)}×, p99 ${f2(rO99 / rR99)}×)`}.
Orrery's raw number includes everything the relay's does (Worker → one Durable Object → a loop of \`send\`s) plus the work before anything is published:
the Worker's D1 lookup of the feed, the FeedObject's fetch of the feed on loopback, the parse, identification against the seen table, sanitizing,
the D1 batch insert and the FeedObject's state write; then the Room's D1 read of the new entries, rendering the entry's HTML partial once, and one
attachment read per socket in the broadcast. The "unchanged refresh" row subtracts an estimate of the pre-publish part (a refresh whose fetch finds nothing new,
so it has the same Worker, fetch, parse and a one-statement D1 batch but no insert and no publish).
`;

  log("");
  log(md);
  writeFileSync(RESULTS, `# Realtime benchmark results\n\nWritten by \`bench/realtime/latency.mjs\` (the latest run replaces this file).\n\n${md}`);
  log(`bench/realtime: wrote ${path.relative(ROOT, RESULTS)}`);
}

main().then(() => {
  clearTimeout(deadline);
  cleanup();
  process.exit(0);
}, (e) => {
  console.error(`bench/realtime: FAILED: ${e.stack || e}`);
  clearTimeout(deadline);
  cleanup();
  process.exit(1);
});
