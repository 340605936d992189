// The post-deploy check (scripts/verify.mjs, `make verify URL=…`) against the real runtime with
// a feed in it, and against what must fail it: a site without the security headers or a
// /healthz, and an Orrery whose /healthz reports itself degraded. And the deploy config of a
// named environment (scripts/deploy-config.mjs), completed from the top level and accepted by
// `wrangler deploy --dry-run`. And `make deploy` itself, start to end, against a stand-in for
// the account (a fake wrangler keeping its D1 databases and secrets in a file) with the real
// runtime as the deployed planet: twice (the second run creates nothing), dry (the account is
// never asked), and signed out (it stops, saying what to do). (`make test-deploy` runs
// `make deploy DRY_RUN=1` with the real wrangler.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:http";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, startFeedServer, api, ROOT } from "../support/harness.mjs";
import { build, parseJsonc, render, PLACEHOLDER_D1 } from "../../scripts/deploy-config.mjs";

const NODE = process.execPath;
const LATEST_MIGRATION = readdirSync(path.join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort().at(-1);

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
  if (health.schema) assert.match(out, new RegExp(`^ok {4}schema at the latest migration \\(${LATEST_MIGRATION.replace(".", "\\.")}\\)$`, "m"));
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

// A stand-in for `wrangler` and the account behind it: whoami, d1 list/create, migrations,
// secret list/put and deploy act on a JSON state file and log each call; `deploy --dry-run`
// is the real wrangler's.
const FAKE_WRANGLER = `
import { readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { spawnSync } from "node:child_process";
const file = process.env.FAKE_STATE;
const state = JSON.parse(readFileSync(file, "utf8"));
const args = process.argv.slice(2);
const save = () => writeFileSync(file, JSON.stringify(state));
state.calls.push(args.filter((a, i) => !["--config", "--env"].includes(args[i - 1]) && !["--config", "--env"].includes(a)).join(" "));
save();
const [a, b, c] = args;
const out = (x) => process.stdout.write(typeof x === "string" ? x : JSON.stringify(x, null, 2) + "\\n");
if (a === "deploy" && args.includes("--dry-run")) {
  process.exit(spawnSync(process.env.REAL_WRANGLER, args, { stdio: "inherit" }).status);
} else if (a === "whoami") {
  if (state.signedOut) { console.error("You are not authenticated."); process.exit(1); }
  out({ email: "op@example.org", accounts: [{ name: "Test account", id: "acc1" }] });
} else if (a === "d1" && b === "list") out(state.d1);
else if (a === "d1" && b === "create") { state.d1.push({ uuid: randomUUID(), name: c }); save(); out("created " + c + "\\n"); }
else if (a === "d1" && b === "migrations") out("migrations applied\\n");
else if (a === "secret" && b === "list") {
  if (!state.worker) { console.error('Worker "x" not found.'); process.exit(1); }
  out(Object.keys(state.secrets).map((name) => ({ name, type: "secret_text" })));
} else if (a === "secret" && b === "put") {
  state.secrets[c] = readFileSync(0, "utf8"); state.worker = true; save(); out("ok\\n");
} else if (a === "deploy") {
  state.worker = true; save();
  appendFileSync(process.env.WRANGLER_OUTPUT_FILE_PATH, JSON.stringify({ type: "deploy", targets: ["https://orrery-e2e.example.workers.dev"] }) + "\\n");
  out("Deployed\\n");
} else { console.error("fake wrangler: unexpected " + args.join(" ")); process.exit(3); }
`;

test("make deploy, start to end, against a stand-in account: twice, dry, and signed out", async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "orrery-deploy-"));
  const env = `e2e${process.pid}`;
  const fake = path.join(tmp, "wrangler.mjs");
  writeFileSync(fake, `#!${NODE}\n${FAKE_WRANGLER}`);
  chmodSync(fake, 0o755);
  const stateFile = path.join(tmp, "state.json");
  writeFileSync(stateFile, JSON.stringify({ calls: [], d1: [{ uuid: "11111111-1111-4111-8111-111111111111", name: "someone-else" }], secrets: {} }));
  const raw = parseJsonc(readFileSync(path.join(ROOT, "wrangler.jsonc"), "utf8"));
  raw.env = { [env]: { name: `planet-${env}`, vars: { PLANET_NAME: "E2E planet" } } };
  writeFileSync(path.join(tmp, "wrangler.jsonc"), JSON.stringify(raw));
  const ids = path.join(tmp, "deploy-ids.json");
  const generated = path.join(ROOT, `wrangler.deploy.${env}.jsonc`);
  const run = (extra = {}) => new Promise((resolve) => {
    const c = spawn("bash", [path.join(ROOT, "scripts/deploy.sh")], {
      cwd: ROOT,
      env: {
        ...process.env, ENV: env, DRY_RUN: "", URL: w.url, WRANGLER: fake, FAKE_STATE: stateFile,
        REAL_WRANGLER: path.join(ROOT, "node_modules/.bin/wrangler"), DEPLOY_SOURCE: path.join(tmp, "wrangler.jsonc"),
        DEPLOY_IDS: ids, CI: "true", FORCE_COLOR: "0", ...extra,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    c.stdout.on("data", (d) => { out += d; });
    c.stderr.on("data", (d) => { out += d; });
    c.on("exit", (code) => resolve({ code, out }));
  });
  const state = () => JSON.parse(readFileSync(stateFile, "utf8"));
  const accountCalls = () => state().calls.filter((c) => !c.includes("--dry-run"));
  try {
    // Dry: the config and the bundle, and not one call to the account.
    const dry = await run({ DRY_RUN: "1" });
    assert.equal(dry.code, 0, dry.out);
    assert.match(dry.out, /Worker bundle: \d+ bytes, \d+ bytes gzipped: \d+% of the Free plan's 3 MiB/);
    assert.match(dry.out, /\[5\/9\] database: would find the D1 database/);
    assert.match(dry.out, new RegExp(`D1 database planet-${env} for binding DB \\(id now: 0{8}-`));
    assert.deepEqual(accountCalls(), []);
    assert.ok(!existsSync(ids), "a dry run records nothing");

    // First run: creates the database, puts the token, deploys, verifies the planet.
    const first = await run();
    assert.equal(first.code, 0, first.out);
    const created = state().d1.find((d) => d.name === `planet-${env}`);
    assert.ok(created, first.out);
    assert.match(first.out, new RegExp(`D1 database planet-${env}: created, ${created.uuid}`));
    const token = state().secrets.ADMIN_TOKEN;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, "32 random bytes, base64url");
    assert.ok(first.out.includes(`ADMIN_TOKEN=${token}\n`), "the new token is printed once");
    assert.match(first.out, /verify: .* is fine/);
    assert.match(first.out, /done: .* is running and verified/);
    const recorded = JSON.parse(readFileSync(ids, "utf8"))[env];
    assert.equal(recorded.d1.DB.database_id, created.uuid);
    const config = parseJsonc(readFileSync(generated, "utf8"));
    assert.equal(config.env[env].d1_databases[0].database_id, created.uuid);
    assert.deepEqual(accountCalls().map((c) => c.split(" ").slice(0, 2).join(" ")),
      ["whoami --json", "d1 list", "d1 create", "d1 list", "d1 migrations", "secret list", "secret put", "deploy"]);

    // Second run: finds them all; creates nothing, keeps the token.
    writeFileSync(stateFile, JSON.stringify({ ...state(), calls: [] }));
    const second = await run();
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, new RegExp(`D1 database planet-${env} \\(DB\\): exists, ${created.uuid}`));
    assert.match(second.out, /secret ADMIN_TOKEN: set \(kept/);
    assert.doesNotMatch(second.out, /ADMIN_TOKEN=/);
    assert.equal(state().secrets.ADMIN_TOKEN, token);
    assert.equal(state().d1.filter((d) => d.name === `planet-${env}`).length, 1);
    assert.deepEqual(accountCalls().map((c) => c.split(" ").slice(0, 2).join(" ")),
      ["whoami --json", "d1 list", "d1 migrations", "secret list", "deploy"]);

    // Signed out: stops at the login, saying what to do, before touching anything.
    writeFileSync(stateFile, JSON.stringify({ ...state(), calls: [], signedOut: true }));
    const out = await run();
    assert.equal(out.code, 1, out.out);
    assert.match(out.out, /FAILED at step login: wrangler is not signed in/);
    assert.match(out.out, /next: run: npx wrangler login/);
    assert.deepEqual(accountCalls(), ["whoami --json"]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(generated, { force: true });
  }
});
