// Test harness: a real `wrangler dev` (workerd, local D1 + Durable Objects) on free
// loopback ports with a throwaway state folder, and a real HTTP feed server on 127.0.0.1.
// Everything started here is stopped in `after()` and on process exit, even when a test fails.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ADMIN_TOKEN = "test-admin-token";
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");
const children = new Set();

function killAll() {
  for (const c of children) {
    try { process.kill(-c.pid, "SIGKILL"); } catch { /* already gone */ }
  }
  children.clear();
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => { killAll(); process.exit(130); });

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function until(fn, { timeout = 15000, interval = 100, what = "condition" } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { if (e.fatal) throw e; last = e; }
    await sleep(interval);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

/** Starts `wrangler dev` with fresh local state; resolves once /healthz answers (`ready`
 *  decides what answer counts, a 200 by default). `config`: another wrangler config file
 *  (e.g. a generated copy lacking a binding), placed in ROOT so its relative paths hold.
 *  `state`: start on this existing state folder (a D1 seeded by the caller) instead of a fresh
 *  one; the current migrations are applied to it as to a fresh one, and the caller removes it.
 *  `https`: wrangler dev serves https with its own self-signed certificate (the caller sets
 *  NODE_TLS_REJECT_UNAUTHORIZED=0 for its loopback fetches).
 *  `port`: listen on this one (a test that registers the planet's URL elsewhere first).
 *  `migrations` in the result: what `wrangler d1 migrations apply` printed. */
export async function startWorker({ vars = {}, config = null, ready = (r) => r.status === 200, state: given = null, https = false, port: givenPort = null } = {}) {
  const port = givenPort ?? await freePort();
  const inspector = await freePort();
  const state = given ?? mkdtempSync(path.join(tmpdir(), "orrery-e2e-"));
  const env = { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", NO_UPDATE_NOTIFIER: "1", CI: "true", FORCE_COLOR: "0" };
  const configArgs = config ? ["--config", config] : [];
  const migrate = spawnSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state, ...configArgs], {
    cwd: ROOT, env, encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  const scheme = https ? "https" : "http";
  const allVars = {
    ADMIN_TOKEN, ALLOW_PRIVATE_FEEDS: "true", PLANET_NAME: "Test Planet",
    PLANET_URL: `${scheme}://127.0.0.1:${port}`, MIN_FETCH_INTERVAL_SECONDS: "60", PAGE_CACHE_SECONDS: "0",
    // Tests speak for hundreds of readers from one address; the rate-limit test turns it on.
    RATE_LIMITS: "off", ...vars,
  };
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector),
    "--persist-to", state, "--show-interactive-dev-session=false", "--log-level", "log", ...configArgs,
    ...(https ? ["--local-protocol", "https"] : [])];
  for (const [k, v] of Object.entries(allVars)) args.push("--var", `${k}:${v}`);
  const url = `${scheme}://127.0.0.1:${port}`;
  let child = null;
  let log = "";

  /** Starts wrangler dev on this port and state folder; resolves once /healthz answers. */
  async function launch() {
    const c = spawn(WRANGLER, args, { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    children.add(c);
    c.stdout.on("data", (d) => { log += d; });
    c.stderr.on("data", (d) => { log += d; });
    let exited = null;
    c.on("exit", (code) => { exited = code; });
    try {
      await until(async () => {
        if (exited !== null) throw Object.assign(new Error(`wrangler dev exited with ${exited}`), { fatal: true });
        const r = await fetch(`${url}/healthz`);
        return ready(r);
      }, { timeout: 120000, interval: 250, what: "wrangler dev to answer /healthz" });
    } catch (e) {
      stop();
      throw new Error(`${e.message}\n--- wrangler output ---\n${log.slice(-4000)}`);
    }
  }
  function kill() {
    if (!child) return;
    children.delete(child);
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ }
    child = null;
  }
  function stop() {
    kill();
    if (given) return;
    try { rmSync(state, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  /** Kills the runtime and starts it again on the same port with the same D1 and DO state
   *  (optionally with some vars changed: a deployment changing its configuration). */
  async function restart({ downMs = 0, vars: changed = {} } = {}) {
    kill();
    await sleep(downMs);
    for (const [k, v] of Object.entries(changed)) args.push("--var", `${k}:${v}`);
    await launch();
  }
  await launch();
  return { url, port, stop, restart, kill, log: () => log, migrations: migrate.stdout };
}

/**
 * A real HTTP feed server on 127.0.0.1. `set(path, spec)` serves a fixture or a body:
 * spec = { file | body, type, status, headers, etag: true }. Counts requests per path.
 * `scope()` gives a test its own path prefix (/t1, /t2, …) with the same methods plus
 * `path(p)` for Location headers, so no two tests ever share a fixture URL.
 */
export async function startFeedServer() {
  const routes = new Map();
  const hits = new Map();
  let scopes = 0;
  const server = createServer((req, res) => {
    const p = req.url.split("?")[0];
    hits.set(p, (hits.get(p) || 0) + 1);
    const spec = routes.get(p);
    if (!spec) { res.writeHead(404, { "content-type": "text/plain" }); res.end("no such feed"); return; }
    const s = typeof spec === "function" ? spec(req) : spec;
    // `raw(req, res)`: the test answers by hand (hangs, trickles, compressed bodies…).
    if (s.raw) { s.raw(req, res); return; }
    const body = s.file ? readFileSync(path.join(ROOT, "tests/fixtures", s.file)) : Buffer.from(s.body ?? "");
    const headers = { "content-type": s.type || "application/xml; charset=utf-8", ...(s.headers || {}) };
    if (s.etag) {
      const tag = `"${Buffer.from(body).toString("base64").length}-${body.length}-${hash(body)}"`;
      headers.etag = tag;
      if (req.headers["if-none-match"] === tag) { res.writeHead(304, headers); res.end(); return; }
    }
    res.writeHead(s.status || 200, headers);
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const routesUnder = (prefix) => {
    const at = (p) => prefix + p;
    return {
      prefix,
      path: at,
      url: (p) => base + at(p),
      set: (p, spec) => routes.set(at(p), spec),
      hits: (p) => hits.get(at(p)) || 0,
    };
  };
  return {
    base,
    ...routesUnder(""),
    scope: () => routesUnder(`/t${++scopes}`),
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

function hash(buf) {
  let h = 2166136261;
  for (const b of buf) { h ^= b; h = Math.imul(h, 16777619) >>> 0; }
  return h.toString(16);
}

/** JSON API helper: returns { status, body }. */
export async function api(base, method, p, { body, token = ADMIN_TOKEN, raw } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(base + p, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body: json, text, headers: r.headers };
}

/** Opens a WebSocket (optionally with handshake headers) and collects its JSON messages. */
export function openSocket(url, { headers } = {}) {
  return new Promise((resolve, reject) => {
    // Node's WebSocket takes extra handshake headers (a client address for the Room's shards).
    const ws = headers ? new WebSocket(url, { headers }) : new WebSocket(url);
    const messages = [];
    const waiters = [];
    let closed = null;
    ws.onmessage = (ev) => {
      const data = typeof ev.data === "string" ? ev.data : "";
      let m;
      try { m = JSON.parse(data); } catch { m = { raw: data }; }
      messages.push(m);
      for (const w of [...waiters]) if (w.test(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
    };
    ws.onclose = (ev) => { closed = { code: ev.code, reason: ev.reason }; for (const w of waiters) w.onClose?.(closed); };
    ws.onerror = () => { if (ws.readyState !== 1) reject(new Error(`cannot connect to ${url}`)); };
    ws.onopen = () => resolve({
      ws, messages,
      send: (x) => ws.send(typeof x === "string" ? x : JSON.stringify(x)),
      next: (test, timeout = 15000) => new Promise((res, rej) => {
        const found = messages.find(test);
        if (found) { messages.splice(messages.indexOf(found), 1); return res(found); }
        const w = { test, resolve: (m) => { clearTimeout(t); messages.splice(messages.indexOf(m), 1); res(m); } };
        const t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); rej(new Error("no matching message in time")); }, timeout);
        waiters.push(w);
      }),
      closed: (timeout = 15000) => until(() => closed, { timeout, what: "socket close" }),
      entries: () => messages.filter((m) => m.type === "entry"),
      close: () => ws.close(),
    });
  });
}

/** A copy of wrangler.jsonc beside it (its paths are relative) with some rate limits
 *  changed (`{ PLANET_LIMIT: 100000 }`) or removed (`null`): for a suite that measures one
 *  address's budget without every test sharing the planet's (`PLANET_LIMIT` counts every
 *  address together), or a deployment missing a binding. Returns the path; the caller
 *  removes it (`rmSync`) when its worker has stopped. */
export function configWithLimits(changes, tag = "limits") {
  const lines = readFileSync(path.join(ROOT, "wrangler.jsonc"), "utf8").split("\n");
  const out = [];
  const seen = new Set();
  for (const line of lines) {
    const name = Object.keys(changes).find((n) => new RegExp(`"name":\\s*"${n}"`).test(line));
    if (!name) { out.push(line); continue; }
    seen.add(name);
    if (changes[name] === null) continue;
    out.push(line.replace(/"limit":\s*\d+/, `"limit": ${changes[name]}`));
  }
  const missing = Object.keys(changes).filter((n) => !seen.has(n));
  if (missing.length) throw new Error(`wrangler.jsonc binds no ${missing.join(", ")}`);
  const file = path.join(ROOT, `.${tag}-${process.pid}-${Date.now()}.wrangler.jsonc`);
  writeFileSync(file, out.join("\n"));
  return file;
}

/** Waits, when fewer than `need` seconds of the current wall-clock minute are left, for the
 *  next one: the rate limiter counts in windows aligned to the clock (a minute for the
 *  public budgets), so a test that counts up to a limit starts where one window holds it. */
export async function freshMinute(need = 15) {
  const left = 60000 - (Date.now() % 60000);
  if (left < need * 1000) await sleep(left + 50);
}

/** A form POST as a browser sends it (no redirect followed). */
export function postForm(base, p, fields, headers = {}) {
  return fetch(base + p, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** Signs in to `/admin` with the admin token: the session cookie, the dashboard's CSRF token
 *  and the dashboard itself. */
export async function adminSession(base, token = ADMIN_TOKEN) {
  const r = await postForm(base, "/admin/login", { token });
  if (r.status !== 303) throw new Error(`sign-in answered ${r.status}`);
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const page = await (await fetch(`${base}/admin`, { headers: { cookie } })).text();
  return { cookie, csrf: page.match(/name="csrf" value="([0-9a-f]+)"/)[1], page };
}

/** The invocation events (src/edge/meter.rs) in a worker's log text. */
export function invocationEvents(log) {
  return log.split("\n")
    .map((l) => l.slice(l.indexOf("{")))
    .filter((l) => l.startsWith('{"orrery":"invocation"'))
    .map((l) => JSON.parse(l));
}
