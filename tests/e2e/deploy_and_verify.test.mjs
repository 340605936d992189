// The post-deploy check (scripts/verify.mjs, `make verify URL=…`) against the real runtime with
// a feed in it, and against what must fail it: a site without the security headers or a
// /healthz, and an Orrery whose /healthz reports itself degraded. And the deploy config of a
// named environment (scripts/deploy-config.mjs), completed from the top level and accepted by
// `wrangler deploy --dry-run`. (`make test-deploy` runs `make deploy DRY_RUN=1` itself.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, startFeedServer, api, ROOT } from "../support/harness.mjs";
import { build, parseJsonc, render, PLACEHOLDER_D1 } from "../../scripts/deploy-config.mjs";

const NODE = process.execPath;
const LATEST_MIGRATION = readdirSync(path.join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort().at(-1).replace(/\.sql$/, "");

/** Runs verify against `url`: { code, out }. */
function verify(url) {
  return new Promise((resolve) => {
    execFile(NODE, [path.join(ROOT, "scripts/verify.mjs"), url], { cwd: ROOT, env: { ...process.env, VERIFY_TIMEOUT_MS: "5000" } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, out: stdout + stderr }));
  });
}

/** A loopback HTTP server answering with `handler`; resolves to { url, close }. */
async function serve(handler) {
  const server = createServer(handler);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

let w, fs;
before(async () => {
  // As deployed: pages kept by the cache, rate limits on.
  [w, fs] = await Promise.all([startWorker({ vars: { PAGE_CACHE_SECONDS: "15", RATE_LIMITS: "on" } }), startFeedServer()]);
  fs.set("/alpha.xml", { file: "e2e/alpha.xml" });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: fs.url("/alpha.xml") } });
  assert.equal(r.status, 201, r.text);
});
after(async () => { w?.stop(); await fs?.close(); });

test("verify passes against a running Orrery with a feed", async () => {
  const health = (await api(w.url, "GET", "/healthz", { token: null })).body;
  assert.ok(health.entries > 0, "the fixture feed's entries are stored");
  const { code, out } = await verify(w.url);
  assert.equal(code, 0, out);
  for (const line of [
    /^ok {4}\/ renders HTML \(200/m,
    /^ok {4}\/ sends Content-Security-Policy, nosniff, Referrer-Policy, frame-ancestors$/m,
    /^ok {4}\/ cacheable: Cache-Control: public, max-age=0, s-maxage=15/m,
    /^note  edge cache not checked: no cf-cache-status header/m,
    /^ok {4}\/titles renders HTML \(200/m,
    /^ok {4}\/feed\.atom parses as XML \(<feed>/m,
    /^ok {4}\/feed\.rss parses as XML \(<rss>/m,
    /^ok {4}\/feeds\.opml parses as XML \(<opml>/m,
    new RegExp(`^ok {4}/healthz: ok, version .*, feeds 1, entries ${health.entries}$`, "m"),
    /^ok {4}\/ws says hello \(protocol 1, latest [1-9]/m,
    /is fine$/m,
  ]) assert.match(out, line);
  assert.doesNotMatch(out, /^FAIL/m);
  // /healthz's schema and bindings (issue 20): checked where the Orrery reports them.
  if (health.schema) assert.match(out, new RegExp(`^ok {4}schema at the latest migration \\(${LATEST_MIGRATION}\\)$`, "m"));
  else assert.match(out, /^note  healthz lacks schema \(older Orrery\?\)/m);
  if (health.bindings) assert.match(out, /^ok {4}bindings answer: .*PUBLIC_LIMIT/m);
  else assert.match(out, /^note  healthz lacks bindings \(older Orrery\?\): rate limiters not checked$/m);
});

test("verify fails a site without the security headers or a /healthz, one line per problem", async () => {
  const site = await serve((req, res) => {
    if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!DOCTYPE html><html><head><title>x</title></head><body>hello</body></html>");
    } else { res.writeHead(404, { "content-type": "text/plain" }); res.end("no"); }
  });
  try {
    const { code, out } = await verify(site.url);
    assert.equal(code, 1, out);
    const summary = out.slice(out.indexOf("problems at"));
    for (const problem of [
      "/ lacks Content-Security-Policy",
      "/ lacks X-Content-Type-Options: nosniff",
      "/ lacks Referrer-Policy",
      "/ lacks X-Frame-Options or CSP frame-ancestors",
      "/ is not kept by the edge cache (Cache-Control: none; PAGE_CACHE_SECONDS=0?)",
      "/ has no ETag (a browser cannot revalidate it)",
      "/titles: HTTP 404, not 200",
      "/feed.atom: HTTP 404, not 200",
      "/healthz: HTTP 404, not JSON (is this an Orrery?)",
    ]) assert.ok(summary.includes(`  - ${problem}\n`), `${problem}\n--- verify said ---\n${out}`);
    assert.match(summary, /^ {2}- \/ws: /m);
  } finally { await site.close(); }
});

test("verify reports each problem a degraded /healthz names, and a schema behind the code", async () => {
  // The real planet behind, but /healthz as an Orrery that lacks a binding and a migration.
  const degraded = {
    ok: true, status: "degraded", version: "0.2.0", build: { version: "0.2.0", commit: "d6e3e5a" },
    schema: { applied: "0011_secrets", latest: "0012_session_revocations", current: false },
    bindings: { DB: "ok", FEEDS: "ok", ROOM: "ok", PUBLISHER: "ok", ASSETS: "ok", PUBLIC_LIMIT: "ok", PLANET_LIMIT: "not bound", LOGIN_LIMIT: "ok", PUSH_LIMIT: "ok" },
    problems: ["PLANET_LIMIT: not bound", "schema: 0011_secrets applied, 0012_session_revocations expected"],
    feeds: 1, entries: 3,
  };
  const proxy = await serve(async (req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(degraded));
      return;
    }
    const r = await fetch(w.url + req.url, { redirect: "manual" });
    const headers = Object.fromEntries([...r.headers].filter(([k]) => !["content-encoding", "content-length", "transfer-encoding"].includes(k)));
    res.writeHead(r.status, headers);
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  try {
    const { code, out } = await verify(proxy.url);
    assert.equal(code, 1, out);
    for (const line of [
      "FAIL  /healthz: degraded: PLANET_LIMIT: not bound",
      "FAIL  /healthz: degraded: schema: 0011_secrets applied, 0012_session_revocations expected",
      "FAIL  binding PLANET_LIMIT: not bound",
      "FAIL  schema at 0011_secrets, the code expects 0012_session_revocations: apply the migrations (npx wrangler d1 migrations apply DB --remote)",
    ]) assert.ok(out.includes(`${line}\n`), `${line}\n--- verify said ---\n${out}`);
    // The rest of the planet passes through the proxy untouched.
    assert.match(out, /^ok {4}\/feed\.atom parses as XML/m);
    assert.match(out, /^ok {4}\/ sends Content-Security-Policy/m);
    assert.match(out, /^note  PLANET_URL is http:\/\/127\.0\.0\.1:\d+, you asked http:\/\/127\.0\.0\.1:\d+/m);
  } finally { await proxy.close(); }
});

test("a named environment's deploy config is completed from the top level, and wrangler accepts it", async () => {
  const raw = parseJsonc(readFileSync(path.join(ROOT, "wrangler.jsonc"), "utf8"));
  raw.env = { two: { name: "planet-two", vars: { PLANET_NAME: "Planet Two", PLANET_OPML: "members-two.opml" } } };
  const first = build(raw, {}, "two");
  const two = first.config.env.two;
  assert.equal(two.name, "planet-two");
  assert.deepEqual(two.d1_databases.map((d) => [d.binding, d.database_name, d.database_id]), [["DB", "planet-two", PLACEHOLDER_D1]]);
  assert.deepEqual(two.durable_objects, raw.durable_objects);
  assert.equal(two.vars.PLANET_NAME, "Planet Two");
  assert.equal(two.vars.PAGE_SIZE, raw.vars.PAGE_SIZE, "vars the block leaves out are the top level's");
  // Its own rate-limit namespaces, never the top level's, and the same on the next run.
  const topIds = raw.ratelimits.map((r) => r.namespace_id);
  assert.equal(two.ratelimits.length, raw.ratelimits.length);
  for (const r of two.ratelimits) assert.ok(!topIds.includes(r.namespace_id), `${r.name} ${r.namespace_id} is its own`);
  const ids = { two: first.record };
  assert.deepEqual(build(raw, ids, "two").config.env.two.ratelimits, two.ratelimits);
  // A second environment gets namespaces of its own again; a recorded database id is used.
  raw.env.three = {};
  const three = build(raw, ids, "three").config.env.three;
  assert.equal(three.name, "orrery-three");
  for (const r of three.ratelimits) assert.ok(![...topIds, ...two.ratelimits.map((t) => t.namespace_id)].includes(r.namespace_id));
  ids.two.d1.DB = { database_name: "planet-two", database_id: "0123abcd-0000-4000-8000-00000000beef" };
  const withId = build(raw, ids, "two");
  assert.equal(withId.config.env.two.d1_databases[0].database_id, "0123abcd-0000-4000-8000-00000000beef");
  assert.throws(() => build(raw, ids, "nope"), /no "env": \{ "nope"/);

  // wrangler reads it as deploy would (at the repo root, so main, assets and migrations resolve).
  const file = path.join(ROOT, `wrangler.deploy.e2e-${process.pid}.jsonc`);
  const out = mkdtempSync(path.join(tmpdir(), "orrery-deploy-"));
  writeFileSync(file, render(withId.config, "two"));
  try {
    const r = await new Promise((resolve) => execFile(path.join(ROOT, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", out, "--config", file, "--env", "two"],
      { cwd: ROOT, env: { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", NO_UPDATE_NOTIFIER: "1", CI: "true", FORCE_COLOR: "0" } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, out: stdout + stderr })));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /env\.DB \(planet-two\)\s+D1 Database/);
    assert.match(r.out, /env\.PLANET_NAME \("Planet Two"\)/);
    assert.match(r.out, /env\.PAGE_SIZE \("30"\)/);
    assert.doesNotMatch(r.out, /is not inherited|not be inherited/i, "the block lacks nothing wrangler would warn about");
  } finally {
    rmSync(file, { force: true });
    rmSync(out, { recursive: true, force: true });
  }
});
