#!/usr/bin/env node
// Checks a running Orrery from the outside, anyone's: node scripts/verify.mjs https://planet.example
// (make verify URL=…). Pages, feeds out, health, the socket hello, security and cache headers,
// the rate limiters and the schema as /healthz reports them. Prints one line per check, then
// exits 0, or 1 with every problem on a line of its own. Node 22 (fetch, WebSocket); no packages.
import { parseXml } from "../tests/support/xml.mjs";

const TIMEOUT_MS = Number(process.env.VERIFY_TIMEOUT_MS || 15000);
const problems = [];
const ok = (what) => console.log(`ok    ${what}`);
const note = (what) => console.log(`note  ${what}`);
const bad = (what) => { problems.push(what); console.log(`FAIL  ${what}`); };

async function get(base, path, init = {}, retried = false) {
  const r = await fetch(new URL(path, base), { redirect: "manual", signal: AbortSignal.timeout(TIMEOUT_MS), ...init });
  const wait = Number(r.headers.get("retry-after"));
  if (r.status === 429 && !retried && wait > 0 && wait <= 90) {
    // This address's minute of uncached requests is spent (PUBLIC_LIMIT: where the edge
    // cache does nothing, e.g. *.workers.dev, every page is a miss): wait it out, once.
    await r.arrayBuffer();
    note(`${path}: 429, this address's minute of uncached requests is spent: waiting ${wait} s`);
    await new Promise((done) => setTimeout(done, wait * 1000));
    return get(base, path, init, true);
  }
  return { status: r.status, headers: r.headers, text: await r.text() };
}

/** "HTTP 404", or "HTTP 301 to https://…" (a planet given as http:// behind HTTPS, say). */
const http = (r) => `HTTP ${r.status}${r.headers.get("location") ? ` to ${r.headers.get("location")}` : ""}`;

/** Runs one check; an exception (refused, timed out) is its problem. */
async function check(what, fn) {
  try { await fn(); } catch (e) {
    bad(`${what}: ${e.name === "TimeoutError" ? `no answer within ${TIMEOUT_MS} ms` : e.cause?.code || e.cause?.message || e.message}`);
  }
}

function htmlPage(base, path) {
  return check(path, async () => {
    const r = await get(base, path);
    const type = r.headers.get("content-type") || "";
    if (r.status !== 200) return bad(`${path}: ${http(r)}, not 200`);
    if (!type.includes("text/html")) return bad(`${path}: content-type ${type || "none"}, not text/html`);
    if (!/<html[\s>]/i.test(r.text) || !/<\/html>\s*$/i.test(r.text)) return bad(`${path}: not a whole HTML page (${r.text.length} bytes)`);
    ok(`${path} renders HTML (200, ${r.text.length} bytes)`);
  });
}

function xmlDoc(base, path, root, typeRe, then = () => {}) {
  return check(path, async () => {
    const r = await get(base, path);
    then(r);
    if (r.status !== 200) return bad(`${path}: ${http(r)}, not 200`);
    const type = r.headers.get("content-type") || "";
    if (!typeRe.test(type)) return bad(`${path}: content-type ${type || "none"}`);
    let doc;
    try { doc = parseXml(r.text); } catch (e) { return bad(`${path}: not well-formed XML (${e.message})`); }
    if (doc.name !== root) return bad(`${path}: root element <${doc.name}>, not <${root}>`);
    ok(`${path} parses as XML (<${root}>, ${r.text.length} bytes)`);
  });
}

/** The security headers the app sets on its pages (src/edge/http: CSP, nosniff, referrer;
 *  HSTS over https). */
function securityHeaders(what, headers, https) {
  const csp = headers.get("content-security-policy") || "";
  const missing = [];
  if (!csp) missing.push("Content-Security-Policy");
  else {
    if (!/(^|;)\s*(default-src|script-src)\s/.test(csp)) missing.push("a script-src or default-src in the Content-Security-Policy");
    if (/script-src[^;]*'unsafe-inline'/.test(csp)) missing.push("a script-src without 'unsafe-inline'");
  }
  if ((headers.get("x-content-type-options") || "").toLowerCase() !== "nosniff") missing.push("X-Content-Type-Options: nosniff");
  if (!headers.get("referrer-policy")) missing.push("Referrer-Policy");
  if (!/frame-ancestors/.test(csp) && !headers.get("x-frame-options")) missing.push("X-Frame-Options or CSP frame-ancestors");
  if (https && !/max-age=[1-9]/.test(headers.get("strict-transport-security") || "")) missing.push("Strict-Transport-Security (served over https)");
  if (missing.length) for (const m of missing) bad(`${what} lacks ${m}`);
  else ok(`${what} sends Content-Security-Policy, nosniff, Referrer-Policy, ${/frame-ancestors/.test(csp) ? "frame-ancestors" : "X-Frame-Options"}${https ? ", HSTS" : ""}`);
}

/** A repeated view of `/`: the cache headers the app sets, and an edge cache's HIT where one shows. */
function caching(first, second) {
  const cc = second.headers.get("cache-control") || "";
  if (!/\bpublic\b/.test(cc) || !/s-maxage=\d*[1-9]/.test(cc)) {
    bad(`/ is not kept by the edge cache (Cache-Control: ${cc || "none"}; PAGE_CACHE_SECONDS=0?)`);
  } else ok(`/ cacheable: Cache-Control: ${cc}`);
  if (!second.headers.get("etag")) bad("/ has no ETag (a browser cannot revalidate it)");
  else if (first.headers.get("etag") !== second.headers.get("etag")) note("/ changed between two views (a new entry?): ETag differs");
  const edge = second.headers.get("cf-cache-status");
  if (edge) {
    if (edge.toUpperCase() === "HIT") ok("/ repeated: cf-cache-status HIT");
    else bad(`/ repeated: cf-cache-status ${edge}, not HIT`);
  } else note("edge cache not checked: no cf-cache-status header (localhost, or *.workers.dev where the Cache API does nothing)");
  const app = [first, second].map((r) => r.headers.get("x-orrery-cache") || "-").join(" then ");
  note(`Orrery's page cache on two views of /: ${app}`);
}

async function health(base) {
  let r;
  try { r = await get(base, "/healthz"); } catch (e) { return bad(`/healthz: ${e.cause?.code || e.message}`); }
  let h = null;
  try { h = JSON.parse(r.text); } catch { /* below */ }
  if (!h || typeof h !== "object") return bad(`/healthz: ${http(r)}, not JSON (is this an Orrery?)`);
  if (r.status === 503) bad(`/healthz: 503, D1 does not answer${h.reason ? `: ${h.reason}` : ""}`);
  else if (r.status !== 200) bad(`/healthz: HTTP ${r.status}`);
  const build = h.build ? `${h.build.version ?? "?"} (${h.build.commit ?? "?"})` : h.version ?? "?";
  if (h.status === "ok") ok(`/healthz: ok, version ${build}, feeds ${h.feeds ?? "?"}, entries ${h.entries ?? "?"}`);
  else if (h.status === "degraded") {
    const listed = Array.isArray(h.problems) ? h.problems : [];
    for (const p of listed) bad(`/healthz: degraded: ${p}`);
    if (!listed.length && r.status !== 503) bad(`/healthz: degraded${h.reason ? `: ${h.reason}` : ""}`);
  } else bad(`/healthz: status ${JSON.stringify(h.status)}, not "ok"`);
  if (!h.build) note("healthz lacks build (older Orrery?): version only");

  // The bindings, the rate limiters among them: each must answer "ok".
  if (h.bindings && typeof h.bindings === "object") {
    const wrong = Object.entries(h.bindings).filter(([, v]) => v !== "ok");
    for (const [name, v] of wrong) bad(`binding ${name}: ${v}`);
    const limiters = Object.keys(h.bindings).filter((n) => n.endsWith("_LIMIT"));
    if (!limiters.length) bad("healthz names no rate limiter (no *_LIMIT binding)");
    if (!wrong.length) ok(`bindings answer: ${Object.keys(h.bindings).join(", ")}`);
  } else note("healthz lacks bindings (older Orrery?): rate limiters not checked");

  // The schema: the migrations the database has against the newest the code knows.
  if (h.schema && typeof h.schema === "object") {
    const { applied, latest, current } = h.schema;
    if (current === true && applied === latest) ok(`schema at the latest migration (${latest})`);
    else bad(`schema at ${applied ?? "nothing"}, the code expects ${latest}: apply the migrations (npx wrangler d1 migrations apply DB --remote)`);
  } else note("healthz lacks schema (older Orrery?): migrations not checked");
}

function socketHello(base) {
  const url = new URL("/ws", base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return check("/ws", () => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => { ws.close(); reject(new Error(`no hello within ${TIMEOUT_MS} ms`)); }, TIMEOUT_MS);
    ws.onmessage = (ev) => {
      let m = null;
      try { m = JSON.parse(ev.data); } catch { /* below */ }
      clearTimeout(timer);
      ws.close();
      if (m?.type === "hello") { ok(`/ws says hello (protocol ${m.protocol}, latest ${m.latest}, ${m.clients} clients)`); resolve(); }
      else reject(new Error(`first frame is not a hello: ${String(ev.data).slice(0, 80)}`));
    };
    ws.onerror = () => { clearTimeout(timer); reject(new Error("the WebSocket did not open")); };
    ws.onclose = (ev) => { clearTimeout(timer); reject(new Error(`closed before hello (${ev.code} ${ev.reason})`)); };
  }));
}

async function main() {
  const arg = process.argv[2];
  if (!arg || arg.startsWith("-")) {
    console.error("usage: node scripts/verify.mjs https://your.planet   (make verify URL=…)");
    process.exit(2);
  }
  if (typeof WebSocket !== "function") {
    console.error("verify: needs Node 22 or later (fetch and WebSocket): run make setup, or use node_modules/.bin/node");
    process.exit(2);
  }
  const base = new URL(arg.endsWith("/") ? arg : `${arg}/`);
  console.log(`verify: ${base.origin}`);
  // The cheapest first (a unit each of the address's budget), then the pages.
  await health(base);
  await socketHello(base);

  await check("/", async () => {
    const first = await get(base, "/");
    if (first.status !== 200) return bad(`/: ${http(first)}, not 200`);
    if (!(first.headers.get("content-type") || "").includes("text/html")) return bad(`/: not text/html`);
    ok(`/ renders HTML (200, ${first.text.length} bytes)`);
    securityHeaders("/", first.headers, base.protocol === "https:");
    caching(first, await get(base, "/"));
  });
  await htmlPage(base, "/titles");
  await xmlDoc(base, "/feed.atom", "feed", /application\/atom\+xml|xml/, (r) => {
    // The planet's own address (PLANET_URL) as its feed names itself.
    const self = /<([^>]+)>;\s*rel="self"/.exec(r.headers.get("link") || "")?.[1];
    if (self && URL.canParse(self) && new URL(self).origin !== base.origin) {
      note(`PLANET_URL is ${new URL(self).origin}, you asked ${base.origin} (feeds and WebSub name the former)`);
    }
  });
  await xmlDoc(base, "/feed.rss", "rss", /application\/rss\+xml|xml/);
  await xmlDoc(base, "/feeds.opml", "opml", /xml|opml/);

  if (problems.length) {
    console.log(`\nverify: ${problems.length} problem${problems.length > 1 ? "s" : ""} at ${base.origin}:`);
    for (const p of problems) console.log(`  - ${p}`);
    process.exit(1);
  }
  console.log(`\nverify: ${base.origin} is fine`);
}

main().catch((e) => { console.error(`verify: ${e.stack || e}`); process.exit(1); });
