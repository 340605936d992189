// Foundation: the real runtime serves the page, static assets, /healthz (D1 + migrations),
// the WebSocket hello through the Room Durable Object, and the cron handler.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { startWorker, api, openSocket, ROOT } from "../support/harness.mjs";

let w;
before(async () => { w = await startWorker(); });
after(() => w?.stop());

test("home page is rendered by maud with the live script", async () => {
  const r = await fetch(`${w.url}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /text\/html/);
  const html = await r.text();
  assert.match(html, /<title>Test Planet<\/title>/);
  assert.match(html, /<section[^>]* id="river"/);
  assert.match(html, /src="\/live.js"/);
  assert.match(r.headers.get("content-security-policy"), /script-src 'self'/);
});

test("static assets are served by the edge", async () => {
  const css = await fetch(`${w.url}/style.css`);
  assert.equal(css.status, 200);
  assert.match(css.headers.get("content-type"), /text\/css/);
  assert.match(await css.text(), /article\.entry/);
  const js = await fetch(`${w.url}/live.js`);
  assert.equal(js.status, 200);
  assert.match(await js.text(), /new WebSocket/);
});

test("/healthz reads counts from D1", async () => {
  const r = await api(w.url, "GET", "/healthz", { token: null });
  assert.equal(r.status, 200);
  assert.deepEqual({ ok: r.body.ok, feeds: r.body.feeds, entries: r.body.entries }, { ok: true, feeds: 0, entries: 0 });
});

test("/healthz knows its build, the schema against the newest migration, and every binding", async () => {
  const { body } = await api(w.url, "GET", "/healthz", { token: null });
  assert.equal(body.status, "ok", JSON.stringify(body.problems));
  assert.deepEqual(body.problems, []);
  const pkg = readFileSync(path.join(ROOT, "Cargo.toml"), "utf8").match(/^version = "([^"]+)"/m)[1];
  assert.equal(body.build.version, pkg);
  const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  // The commit the Worker was built from: HEAD, or an ancestor when only docs changed since.
  assert.match(body.build.commit, /^[0-9a-f]{12}$/);
  assert.equal(spawnSync("git", ["merge-base", "--is-ancestor", body.build.commit, head], { cwd: ROOT }).status, 0);
  const newest = readdirSync(path.join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort().at(-1);
  assert.deepEqual(body.schema, { applied: newest, latest: newest, current: true });
  for (const name of ["DB", "FEEDS", "ROOM", "PUBLISHER", "ASSETS", "PUBLIC_LIMIT", "PLANET_LIMIT", "LOGIN_LIMIT", "PUSH_LIMIT"]) {
    assert.equal(body.bindings[name], "ok", name);
  }
});

test("/ws upgrades to the Room, which says hello", async () => {
  const s = await openSocket(`${w.url.replace("http", "ws")}/ws`);
  const hello = await s.next((m) => m.type === "hello");
  assert.equal(hello.protocol, 1);
  assert.equal(hello.latest, 0);
  assert.ok(hello.clients >= 1);
  s.send("ping");
  await s.next((m) => m.raw === "pong");
  s.close();
});

test("/ws without an upgrade is a JSON 400", async () => {
  const r = await api(w.url, "GET", "/ws", { token: null });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, "bad_request");
});

test("unknown paths and methods get clear errors", async () => {
  const page = await fetch(`${w.url}/nope`);
  assert.equal(page.status, 404);
  assert.match(await page.text(), /Not found/);
  const r = await api(w.url, "PUT", "/api/feeds", { token: null });
  assert.equal(r.status, 405);
  assert.equal(r.body.error.code, "method_not_allowed");
  assert.equal(r.headers.get("allow"), "GET, POST");
});

test("cron trigger runs without error", async () => {
  const r = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  assert.equal(r.status, 200);
  assert.doesNotMatch(w.log(), /cron: (watchdog|prune) failed/);
  // The Worker still answers after the scheduled run.
  assert.equal((await api(w.url, "GET", "/healthz", { token: null })).status, 200);
});
