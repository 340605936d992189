// Hostile clients and feeds against the real runtime: admin token guessing is throttled per
// address (LOGIN_LIMIT, on even with RATE_LIMITS=off), a weak token works only on loopback, an
// oversized sign-in body is refused while it is read, characters XML forbids never reach our
// feeds, special-purpose addresses are refused, credentials in feed URLs never reach public
// output, and `make dev` stops with its process group. One wrangler dev for the file; each test
// uses its own client addresses (CF-Connecting-IP) and fixture paths, so tests run alone and in
// any order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, startFeedServer, api, openSocket, until, freePort, ADMIN_TOKEN, ROOT } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

/** A write through the API from client address `ip`. */
const writeAs = (ip, token) =>
  fetch(`${w.url}/api/feeds/999999/refresh`, {
    method: "POST",
    headers: { "CF-Connecting-IP": ip, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

const signInAs = (ip, token, extra = {}) =>
  fetch(`${w.url}/admin/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", "CF-Connecting-IP": ip, ...extra },
    body: new URLSearchParams({ token }).toString(),
  });

/**
 * Guesses wrong from `ip` until the address is refused (429), then tries the right token
 * from the same address. The limiter's window is aligned to the clock: should a minute
 * roll over between the two, the round is tried once more (it cannot roll twice in seconds).
 */
async function guessUntilRefused(attempt, ip) {
  for (let round = 0; round < 2; round++) {
    const wrong = [];
    for (let i = 0; i < 15; i++) {
      const r = await attempt(ip, `wrong-guess-${round}-${i}`);
      wrong.push(r.status);
      if (r.status === 429) break;
    }
    const right = await attempt(ip, ADMIN_TOKEN);
    if (right.status === 429 || round === 1) return { wrong, right };
  }
}

test("wrong API tokens from one address are throttled; then even the right one is refused there, not elsewhere", async () => {
  const { wrong, right } = await guessUntilRefused(writeAs, "203.0.113.10");
  assert.equal(wrong[0], 401, "a wrong token is a 401 at first");
  assert.equal(wrong.at(-1), 429, `refused past the limit: ${wrong}`);
  assert.ok(wrong.length <= 11, `about ten guesses a minute: ${wrong}`);
  assert.equal(right.status, 429, "a guesser learns nothing past the limit");
  assert.equal(right.headers.get("retry-after"), "60");
  assert.equal((await right.json()).error.code, "rate_limited");
  // Another address is not affected: the right token passes auth (the feed does not exist).
  assert.equal((await writeAs("203.0.113.11", ADMIN_TOKEN)).status, 404);
  // Throttling is on although the harness turns the public rate limit off.
  assert.equal((await fetch(`${w.url}/api/entries`, { headers: { "CF-Connecting-IP": "203.0.113.10" } })).status, 200);
});

test("failed sign-ins are throttled per address the same way", async () => {
  const { wrong, right } = await guessUntilRefused((ip, token) => signInAs(ip, token), "203.0.113.20");
  assert.equal(wrong[0], 401);
  assert.equal(wrong.at(-1), 429, `${wrong}`);
  assert.equal(right.status, 429);
  assert.match(await right.text(), /Too many requests/i);
  assert.equal((await signInAs("203.0.113.21", ADMIN_TOKEN)).status, 303, "another address signs in");
});

/** A request with its own Host header (fetch may not set one). */
function requestWithHost(host, method, p, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${w.url}${p}`, { method, headers: { host, ...headers } }, (res) => {
      let text = "";
      res.on("data", (d) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("the test token (16 characters) works on loopback only: elsewhere writes are refused and say why", async () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": "203.0.113.30" };
  const here = await requestWithHost(`127.0.0.1:${w.port}`, "POST", "/api/feeds/999999/refresh", { headers: auth });
  assert.equal(here.status, 404, "on loopback the token passes auth");
  const away = await requestWithHost("planet.example.com", "POST", "/api/feeds/999999/refresh", { headers: auth });
  assert.equal(away.status, 403, away.text);
  assert.match(JSON.parse(away.text).error.message, /fewer than 32/);
  assert.doesNotMatch(away.text, /16/, "the token's length is never shown");
  const admin = await requestWithHost("planet.example.com", "GET", "/admin");
  assert.equal(admin.status, 403);
  assert.match(admin.text, /fewer than 32/);
  assert.doesNotMatch(admin.text, /\b16 characters/, "the token's length is never shown");
  const login = await requestWithHost("planet.example.com", "POST", "/admin/login", {
    headers: { "content-type": "application/x-www-form-urlencoded", "CF-Connecting-IP": "203.0.113.31" },
    body: `token=${ADMIN_TOKEN}`,
  });
  assert.equal(login.status, 403, "no session for a weak token off loopback");
});

test("an oversized sign-in body is refused while it is read", { timeout: 60_000 }, async () => {
  const headers = { "content-type": "application/x-www-form-urlencoded", "CF-Connecting-IP": "203.0.113.40" };
  const declared = await fetch(`${w.url}/admin/login`, { method: "POST", headers, body: `token=${"a".repeat(1 << 20)}` });
  assert.equal(declared.status, 413, "a declared length over 16 KiB is refused unread");
  // No Content-Length, 40 KiB sent and the body left open: the answer can only come if the
  // Worker stops reading at the cap (reading the whole body first would wait forever).
  const answer = await new Promise((resolve, reject) => {
    const req = http.request(`${w.url}/admin/login`, { method: "POST", headers }, (res) => {
      res.resume();
      res.on("end", () => { req.destroy(); resolve(res.statusCode); });
    });
    req.on("error", reject);
    req.write(Buffer.alloc(40 << 10, 97));
  });
  assert.equal(answer, 413);
  // A small form is still read as before.
  assert.equal((await signInAs("203.0.113.41", ADMIN_TOKEN)).status, 303);
});

/** Characters XML 1.0 forbids in `text`, raw or as character references (`&#1;` is as invalid). */
function forbiddenIn(text) {
  const bad = (n) => (n < 0x20 && ![0x9, 0xa, 0xd].includes(n)) || n === 0xfffe || n === 0xffff;
  const raw = [...text].filter((c) => bad(c.codePointAt(0)));
  const refs = [...text.matchAll(/&#(x[0-9a-fA-F]+|[0-9]+);/g)]
    .map((m) => m[0])
    .filter((r) => bad(r[2] === "x" ? parseInt(r.slice(3), 16) : parseInt(r.slice(2), 10)));
  return [...raw.map((c) => `U+${c.codePointAt(0).toString(16).padStart(4, "0")}`), ...refs];
}

test("characters XML forbids in a feed never reach /feed.atom, /feed.rss or /feeds.opml", async () => {
  const f = fs.scope();
  const body = `<?xml version="1.0"?><rss version="2.0"><channel><title>Ctl\u0001 feed\u000c ${f.prefix}</title>
    <link>https://ctl.example/</link><item><guid>ctl-${f.prefix}</guid><title>Bell\u0001 and\u000c feed</title>
    <link>https://ctl.example/1</link><description>Body\u0001 text\u000c &amp;#1; here</description></item></channel></rss>`;
  f.set("/ctl.xml", { body });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/ctl.xml") } });
  assert.equal(r.status, 201, r.text);
  for (const p of ["/feed.atom", "/feed.rss", "/feeds.opml"]) {
    const out = await (await fetch(w.url + p)).text();
    assert.match(out, /Bell and feed|Ctl feed/, p);
    assert.deepEqual(forbiddenIn(out), [], `${p} holds characters XML forbids`);
  }
});

test("credentials in a feed URL are fetched, and hidden from every public page, the API, OPML and sockets", async () => {
  const f = fs.scope();
  const seen = [];
  let items = 1;
  const rss = () => {
    let xml = "";
    for (let i = 1; i <= items; i++) xml += `<item><guid>sec-${f.prefix}-${i}</guid><title>Secret item ${i}</title><link>https://sec.example/${i}</link></item>`;
    // No channel title: entries are shown under the feed's URL.
    return `<?xml version="1.0"?><rss version="2.0"><channel><title></title>${xml}</channel></rss>`;
  };
  f.set("/private.xml", (req) => { seen.push(req.url); return { body: rss() }; });
  const secretUrl = `${f.url("/private.xml")}?user=ann&token=s3cr3t-tok&API_KEY=k3y-val`;
  const room = await openSocket(`${w.url.replace("http", "ws")}/ws`);
  await room.next((m) => m.type === "hello");
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: secretUrl } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.feed.id;
  assert.ok(seen.some((u) => u.includes("token=s3cr3t-tok&API_KEY=k3y-val")), "the real URL is fetched");
  const first = await room.next((m) => m.type === "entry" && m.entry.feed_id === id);
  const feedSocket = await openSocket(`${w.url.replace("http", "ws")}/feeds/${id}/ws`);
  await feedSocket.next((m) => m.type === "hello");
  items = 2;
  assert.equal((await api(w.url, "POST", `/api/feeds/${id}/refresh`)).body.new_entries, 1);
  const pushed = await feedSocket.next((m) => m.type === "entry" && m.entry.title === "Secret item 2");
  const pages = {};
  for (const p of ["/", "/titles", "/feeds", `/feeds/${id}`, "/feeds.opml", "/feed.atom", "/feed.rss",
    "/api/feeds", `/api/feeds/${id}`, `/api/entries?feed=${id}`, "/search?q=Secret"]) {
    pages[p] = await (await fetch(w.url + p, { headers: { "CF-Connecting-IP": "203.0.113.50" } })).text();
  }
  pages["room socket"] = JSON.stringify(first);
  pages["feed socket"] = JSON.stringify(pushed);
  for (const [where, text] of Object.entries(pages)) {
    assert.doesNotMatch(text, /s3cr3t-tok|k3y-val/, `${where} shows a credential`);
  }
  assert.match(pages["/feeds.opml"], /token=hidden&amp;API_KEY=hidden/);
  assert.equal(JSON.parse(pages[`/api/feeds/${id}`]).url, `${f.url("/private.xml")}?user=ann&token=hidden&API_KEY=hidden`);
  assert.match(first.entry.feed_title, /token=hidden/, "entries are shown under the public URL");
  assert.match(pushed.entry.feed_title, /token=hidden/);
  room.close();
  feedSocket.close();
});

test("special IPv6 ranges are refused whatever ALLOW_PRIVATE_FEEDS says", async () => {
  for (const url of ["http://[2002:7f00:1::1]/feed", "http://[fec0::1]/feed", "http://[::7f00:1]/feed", "http://[2001::1]/feed"]) {
    const r = await api(w.url, "POST", "/api/feeds", { body: { url } });
    assert.equal(r.status, 422, url);
    assert.match(r.body.error.message, /private or internal/, url);
  }
});

/** True while something accepts connections on 127.0.0.1:`port`. */
const listening = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => { s.destroy(); resolve(true); });
    s.on("error", () => resolve(false));
  });

/** Live (not zombie) processes in process group `pgid`. */
function liveInGroup(pgid) {
  const ps = spawnSync("ps", ["-eo", "pid=,pgid=,stat=,comm="], { encoding: "utf8" });
  return ps.stdout.split("\n").map((l) => l.trim().split(/\s+/))
    .filter(([, g, stat]) => Number(g) === pgid && stat && !stat.startsWith("Z"))
    .map(([pid, , , comm]) => `${pid} ${comm}`);
}

// `make dev` under a supervisor that signals its process group: SIGTERM, then SIGKILL at once.
// Before, wrangler and the demo feed server ran in sessions of their own and outlived it.
// (The first run builds the demo feed server in release mode: minutes, hence the bound.)
test("make dev's script stops everything it started with its process group", { timeout: 600_000 }, async () => {
  const [port, demoPort] = [await freePort(), await freePort()];
  const state = mkdtempSync(path.join(tmpdir(), "orrery-dev-"));
  const env = { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, STATE: state, DEMO_PORT: String(demoPort), WRANGLER_SEND_METRICS: "false", CI: "true" };
  // detached: its own process group (and session), as under a supervisor.
  const dev = spawn("bash", ["scripts/dev.sh", String(port)], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  dev.stdout.on("data", (d) => { out += d; });
  dev.stderr.on("data", (d) => { out += d; });
  let exited = false;
  dev.on("exit", () => { exited = true; });
  try {
    await until(() => {
      if (exited) throw Object.assign(new Error(`dev.sh exited:\n${out.slice(-3000)}`), { fatal: true });
      return out.includes("dev: open http://");
    }, { timeout: 540_000, interval: 250, what: "make dev to be ready" });
    assert.match(out, /dev: subscribed http:\/\/127\.0\.0\.1/, "the dev token works on loopback");
    assert.ok(await listening(port) && await listening(demoPort));
    // One developer's browser is not limited like an anonymous address: three searches
    // (14 units each of a 15-unit minute as deployed) are all served.
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/search?q=dev${i}`);
      await r.arrayBuffer();
      assert.equal(r.status, 200, `search ${i} on make dev`);
    }
    process.kill(-dev.pid, "SIGTERM");
    process.kill(-dev.pid, "SIGKILL");
    await until(async () => !(await listening(port)) && !(await listening(demoPort)), { timeout: 15_000, what: "both ports to be free" });
    await until(() => liveInGroup(dev.pid).length === 0, { timeout: 15_000, what: `the group to be gone: ${liveInGroup(dev.pid)}` });
  } finally {
    try { process.kill(-dev.pid, "SIGKILL"); } catch { /* gone */ }
    rmSync(state, { recursive: true, force: true });
  }
});
