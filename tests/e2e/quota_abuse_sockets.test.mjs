// Quota abuse over sockets, metered (METER=1) with the limits as deployed (RATE_LIMITS on):
// what one socket action costs in D1 rows and Durable Object requests, and a bound on each.
// A filtered resume reads at most a page of rows; a flood from one address ends in a close
// (4429) while another address's reader connects and receives; twenty tabs of one reader
// reconnect at once; an oversized subscribe is refused and counted; a Room catching up on a
// big import stays within 50 D1 queries per invocation and delivers everything once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomBytes } from "node:crypto";
import { rmSync, readFileSync } from "node:fs";
import path from "node:path";
import { startWorker, startFeedServer, api, openSocket, until, sleep, configWithLimits, freshMinute, ROOT } from "../support/harness.mjs";
import { atomFeed } from "../support/atom.mjs";

/** One address's public budget a minute, as deployed (socket connects and resumes spend it). */
const PUBLIC_LIMIT = Number(readFileSync(path.join(ROOT, "wrangler.jsonc"), "utf8").match(/"PUBLIC_LIMIT"[^}]*"limit":\s*(\d+)/)[1]);
// Every address's budget as deployed; the planet's (every address together) raised, so the
// tests here do not share one minute (tests/e2e/quota_abuse.test.mjs tests it).
const PLANET_UNBOUND = configWithLimits({ PLANET_LIMIT: 1000000 }, "quota-sockets");

let w, fs;
const figures = [];
let nextIp = 0;
/** A client address of its own. */
const ip = () => { nextIp++; return `192.0.2.${nextIp}`; };
before(async () => {
  [w, fs] = await Promise.all([
    // ROOM_PAGE_ENTRIES=5: a catch-up of 600 entries takes 120 pages (as 24,000 would at 200).
    startWorker({ config: PLANET_UNBOUND, vars: { METER: "1", RATE_LIMITS: "on", RETENTION_MAX_ENTRIES: "0", ROOM_PAGE_ENTRIES: "5" } }),
    startFeedServer(),
  ]);
});
after(async () => {
  if (figures.length) console.log(`socket action costs:\n${figures.map((f) => JSON.stringify(f)).join("\n")}`);
  w?.stop();
  await fs?.close();
  rmSync(PLANET_UNBOUND, { force: true });
});

/** The meter lines logged since `mark` (an offset into the wrangler log). */
const meter = (mark) => [...w.log().slice(mark).matchAll(/orrery-meter (\{.*\})/g)].map((m) => JSON.parse(m[1]));
const sum = (lines, key) => lines.reduce((n, l) => n + (l[key] || 0), 0);
const wsUrl = (q = "") => `${w.url.replace("http", "ws")}/ws${q}`;
const as = (ip) => ({ headers: { "CF-Connecting-IP": ip } });

async function addFeed(name, n) {
  const f = fs.scope();
  f.set(`/${name}.atom`, { body: atomFeed(name, n), type: "application/atom+xml" });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(`/${name}.atom`) } });
  assert.equal(r.status, 201, r.text);
  return r.body.feed.id;
}

/** A raw upgrade request from `ip`: resolves its status (101 when accepted, then dropped). */
function upgradeStatus(path, ip) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${w.url}${path}`, {
      headers: {
        Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"), "CF-Connecting-IP": ip,
      },
    });
    req.on("upgrade", (res, socket) => { socket.on("error", () => {}); socket.destroy(); resolve(101); });
    req.on("response", (res) => { res.resume(); resolve(res.statusCode); });
    req.on("error", reject);
    req.end();
  });
}

let planet = null;
/** A planet of several hundred entries (once). */
async function bigPlanet() {
  if (planet) return planet;
  // A refresh stores a feed's 50 newest entries: thirteen feeds of fifty.
  const ids = await Promise.all(Array.from({ length: 13 }, (_, i) => addFeed(`big${i}`, 50)));
  // The Room's hello says how far it has broadcast (its catch-up goes on by alarm).
  const latest = await until(async () => {
    const s = await openSocket(wsUrl(), as(ip()));
    const hello = await s.next((m) => m.type === "hello");
    s.close();
    return hello.latest >= 650 && hello.latest;
  }, { timeout: 30000, interval: 500, what: "a planet of 650 entries, broadcast" });
  planet = { feeds: ids, latest };
  return planet;
}

/** Sends `frames` on a fresh socket from `ip`, waits for `done`, returns the meter lines. */
async function metered(ip, frames, done) {
  const s = await openSocket(wsUrl(), as(ip));
  await s.next((m) => m.type === "hello");
  await sleep(200);
  const mark = w.log().length;
  for (const f of frames) s.send(f);
  const last = await s.next(done);
  // The log trails the frames: wait for every frame's invocation line, then let it settle.
  const invs = () => meter(mark).filter((l) => l.k === "inv" && l.what === "socket.message").length;
  await until(() => invs() >= frames.length, { what: "the frames' meter lines" });
  await sleep(1000);
  s.close();
  const lines = meter(mark);
  return { last, lines, entries: s.entries().length, read: sum(lines.filter((l) => l.k === "d1"), "read"), requests: lines.filter((l) => l.k === "inv" && l.kind === "room").length };
}

test("a resume filtered by feeds reads at most a page of rows, however far back it asks", async () => {
  const { latest, feeds } = await bigPlanet();
  const answered = (m) => m.type === "synced" || m.type === "reload";
  // A filter that matches nothing, from the beginning: it once read the whole table. One
  // feed reads through the (feed_id, id) index, in id order: nothing here.
  const far = await metered("203.0.113.10", [{ type: "subscribe", feeds: [999999999] }, { type: "resume", since: 0 }], answered);
  // Several feeds are read whole within the range and merged: from that far back, reload.
  const farMany = await metered("203.0.113.13", [{ type: "subscribe", feeds: [999999999, 999999998] }, { type: "resume", since: 0 }], answered);
  // Within reach, several feeds read through the index too: nothing.
  const near = await metered("203.0.113.11", [{ type: "subscribe", feeds: [999999999, 999999998] }, { type: "resume", since: latest - 80 }], answered);
  // A real feed from the beginning: its entries in id order, a page at a time, up to the cap.
  const one = await metered("203.0.113.12", [{ type: "subscribe", feeds: [feeds[12]] }, { type: "resume", since: 0 }], answered);
  for (const [action, r] of [["resume since:0 feeds:[999999999]", far], ["resume since:0 feeds:[999999999,999999998]", farMany],
    ["resume since:latest-80 feeds:[999999999,999999998]", near], ["resume since:0 feeds:[one feed of 50]", one]]) {
    figures.push({ action, d1_rows_read: r.read, do_requests: r.requests, answer: r.last.type, entries: r.entries });
  }
  assert.equal(far.last.type, "synced");
  assert.ok(far.read <= 100, `read ${far.read} rows`);
  assert.equal(farMany.last.type, "reload", "too far back: the client is told to reload");
  assert.ok(farMany.read <= 100, `read ${farMany.read} rows`);
  assert.equal(near.last.type, "synced");
  assert.ok(near.read <= 100, `read ${near.read} rows`);
  assert.equal(one.last.type, "synced");
  assert.equal(one.entries, 50, "every entry of the feed");
  assert.ok(one.read <= 2 * 50 + 10, `read ${one.read} rows`);
});

test("an oversized subscribe is refused and counted; ?feeds= out of range is a 400, not an orphan", async () => {
  const ids = Array.from({ length: 256 }, (_, i) => 2 ** 30 + i);
  const s = await openSocket(wsUrl(), as("203.0.113.20"));
  await s.next((m) => m.type === "hello");
  for (let i = 0; i < 5; i++) s.send({ type: "subscribe", feeds: ids });
  const closed = await s.closed();
  assert.equal(closed.code, 1008, "the fifth refusal closes the socket");
  const errors = s.messages.filter((m) => m.type === "error");
  assert.equal(errors.length, 4);
  assert.ok(errors.every((e) => e.code === "bad_frame"), JSON.stringify(errors));
  assert.equal(await upgradeStatus(`/ws?feeds=${ids.join(",")}`, "203.0.113.21"), 400);
  assert.equal(await upgradeStatus(`/ws?feeds=${2 ** 31}`, "203.0.113.21"), 400);
  assert.equal(await upgradeStatus("/ws?feeds=0", "203.0.113.21"), 400);
  assert.equal(await upgradeStatus(`/ws?feeds=${2 ** 31 - 1}`, "203.0.113.21"), 101);
});

test("a flood from one address ends in 4429 while another address's reader connects and receives", async () => {
  const f = fs.scope();
  let n = 1;
  f.set("/flood.atom", () => ({ body: atomFeed("flood", n), type: "application/atom+xml" }));
  const created = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/flood.atom") } });
  assert.equal(created.status, 201, created.text);
  const id = created.body.feed.id;
  const abuser = "198.51.100.66";
  const sockets = [];
  await freshMinute();
  // As many sockets as the address's minute of connects allows (each a DO request, a unit).
  for (let i = 0; i < PUBLIC_LIMIT; i++) {
    const s = await openSocket(wsUrl(), as(abuser));
    await s.next((m) => m.type === "hello");
    sockets.push(s);
  }
  assert.equal(await upgradeStatus("/ws", abuser), 429, "the connect past the address's budget");
  const mark = w.log().length;
  // Each socket stays under its own 40 frames a second: subscribes paced at 20 a second,
  // and a pipelined resume; sixteen of them together are 320 frames a second.
  let sent = 0;
  const t0 = Date.now();
  const flood = Promise.all(sockets.map(async (s) => {
    s.send({ type: "resume", since: 0 });
    for (let i = 0; i < 60 && s.ws.readyState === 1; i++) {
      s.send({ type: "subscribe", q: `flood ${i}` });
      sent++;
      await sleep(50);
    }
  }));
  // Meanwhile a reader from elsewhere connects and gets a new entry.
  await sleep(300);
  const reader = await openSocket(wsUrl(), as("198.51.100.67"));
  await reader.next((m) => m.type === "hello", 5000);
  n = 2;
  await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  const got = await reader.next((m) => m.type === "entry" && m.entry.feed_id === id, 10000);
  assert.equal(got.entry.title, "flood entry 2");
  await flood;
  const elapsed = Date.now() - t0;
  await sleep(1500);
  const lines = meter(mark);
  const messages = lines.filter((l) => l.k === "inv" && l.what === "socket.message").length;
  const answered = sockets.reduce((k, s) => k + s.messages.filter((m) => m.type === "subscribed" || m.type === "synced").length, 0);
  const codes = sockets.map((s) => s.ws.readyState === 3 ? "closed" : "open");
  figures.push({ action: `flood: ${sockets.length} sockets of one address`, frames_sent: sent + 20, do_requests: messages, frames_answered: answered, d1_rows_read: sum(lines.filter((l) => l.k === "d1"), "read"), sockets: codes.filter((c) => c === "open").length + " open" });
  const closes = await Promise.all(sockets.map((s) => s.closed(5000)));
  assert.ok(closes.every((c) => c.code === 4429), JSON.stringify(closes.map((c) => c.code)));
  // The burst (48), and one frame per 2 s refilled while the flood lasted.
  const allowed = 48 + Math.ceil(elapsed / 2000);
  assert.ok(answered <= allowed, `${answered} frames answered, at most ${allowed}`);
  assert.ok(messages < sockets.length * 61, `the close stopped the flood: ${messages} messages`);
  // While the ban lasts, the address cannot open new sockets either.
  assert.equal(await upgradeStatus("/ws", abuser), 429);
  reader.close();
});

test("twenty tabs of one reader reconnecting at once: the minute's share connects, subscribes and resumes, the rest get a 429 and come in next", async () => {
  const { latest } = await bigPlanet();
  const reader = "198.51.100.88";
  await freshMinute();
  // All at once: a connect spends a unit (a DO request), a resume of five entries ten rows
  // (a fifth of a unit, owed until a whole one falls due).
  const tries = await Promise.allSettled(Array.from({ length: 20 }, () => openSocket(wsUrl(), as(reader))));
  const tabs = tries.filter((t) => t.status === "fulfilled").map((t) => t.value);
  await Promise.all(tabs.map((t) => t.next((m) => m.type === "hello")));
  for (const t of tabs) {
    t.send({ type: "subscribe", q: "entry" });
    t.send({ type: "resume", since: latest - 5 });
  }
  await Promise.all(tabs.map((t) => t.next((m) => m.type === "subscribed")));
  const answers = await Promise.all(tabs.map((t) => t.next((m) => m.type === "synced" || m.type === "error")));
  assert.ok(tabs.every((t) => t.ws.readyState === 1), "none was closed");
  // Within the address's minute: the connects, then resumes until a whole unit falls due.
  assert.ok(tabs.length >= PUBLIC_LIMIT / 2 && tabs.length <= PUBLIC_LIMIT, `${tabs.length} of 20 connected`);
  const synced = answers.filter((m) => m.type === "synced").length;
  assert.ok(synced >= 1, `${synced} tabs resumed`);
  assert.ok(answers.every((m) => m.type === "synced" || m.code === "rate_limited"), JSON.stringify(answers.filter((m) => m.type === "error")));
  assert.ok(tabs.length + Math.floor(synced * 10 / 50) <= PUBLIC_LIMIT, `${tabs.length} connects and ${synced} resumes within ${PUBLIC_LIMIT} units`);
  // The rest were refused at the door with a 429 (never a close or a 500); live.js retries.
  assert.equal(await upgradeStatus("/ws", reader), 429);
  // Another reader is served meanwhile.
  const other = await openSocket(wsUrl(), as(ip()));
  other.send({ type: "resume", since: latest - 5 });
  assert.equal((await other.next((m) => m.type === "synced" || m.type === "error")).type, "synced");
  other.close();
  tabs.forEach((t) => t.close());
});

test("an unfiltered resume from far back spends the address's budget by its distance: past it, refused unread", async () => {
  const { latest } = await bigPlanet();
  await freshMinute();
  const s = await openSocket(wsUrl(), as("198.51.100.77"));
  await s.next((m) => m.type === "hello");
  // Each resume reads up to 100 entries (200 rows, 4 units): after the first, resumes again
  // from where it stopped until the address's minute is spent.
  const mark = w.log().length;
  s.send({ type: "resume", since: 0 });
  const first = await s.next((m) => m.type === "synced" || m.type === "error");
  assert.equal(first.type, "synced");
  assert.ok(first.latest < latest, "capped: the client resumes again from there");
  const firstRead = sum(meter(mark).filter((l) => l.k === "d1"), "read");
  // 1 (the connect) + 4 + 4 + 4 = 13 units; the fourth resume would make 17.
  let from = first.latest;
  for (let i = 0; i < 2; i++) {
    s.send({ type: "resume", since: from });
    const next = await s.next((m) => m.type === "synced" || m.type === "error");
    assert.equal(next.type, "synced", `resume ${i + 2} within the minute`);
    from = next.latest;
  }
  const mark2 = w.log().length;
  s.send({ type: "resume", since: from });
  const second = await s.next((m) => m.type === "synced" || m.type === "error");
  assert.equal(second.type, "error");
  assert.equal(second.code, "rate_limited");
  await sleep(500);
  const secondRead = sum(meter(mark2).filter((l) => l.k === "d1"), "read");
  figures.push({ action: "unfiltered resume since:0, twice more, then again", first_d1_rows_read: firstRead, last: second.code, last_d1_rows_read: secondRead });
  assert.ok(firstRead <= 2 * 100 + 20, `the first read ${firstRead} rows`);
  assert.equal(secondRead, 0, "a refused resume reads nothing");
  assert.equal(s.ws.readyState, 1, "the socket stays live");
  s.close();
});

test("a Room catching up on a big import stays within 50 D1 queries an invocation and delivers everything once", async () => {
  const reader = await openSocket(wsUrl(), as("198.51.100.99"));
  await reader.next((m) => m.type === "hello");
  const mark = w.log().length;
  // Sixty feeds of ten entries at once: their publishes fold into the Room's running
  // catch-up, which once read on, a page at a time, past the 50 queries an invocation may
  // make (pages of 5 here: 120 of them); now the alarm carries what one invocation leaves.
  const made = await Promise.all(Array.from({ length: 60 }, (_, i) => addFeed(`imp${i}`, 10)));
  const expected = new Set(made);
  const mine = () => reader.entries().filter((m) => expected.has(m.entry.feed_id));
  await until(() => mine().length >= 600, { timeout: 60000, what: "every imported entry at the reader" });
  await sleep(1000);
  assert.equal(mine().length, 600, "each entry once");
  assert.equal(new Set(mine().map((m) => m.entry.id)).size, 600);
  const counts = meter(mark).filter((l) => l.k === "count" && l.what === "room.publish.d1_queries").map((l) => l.n);
  const roomQueries = meter(mark).filter((l) => l.k === "d1" && /^entries_(between|revised)$/.test(l.what)).length;
  figures.push({ action: "room catch-up: 60 feeds x 10 entries", publish_invocations: counts.length, max_d1_queries_per_invocation: Math.max(...counts), room_d1_queries: roomQueries });
  assert.ok(counts.length > 0, "the Room counts its queries");
  assert.ok(roomQueries >= 120, `${roomQueries} queries: more than one invocation's worth`);
  assert.ok(Math.max(...counts) <= 45, `at most ${Math.max(...counts)} queries in one invocation`);
  assert.equal(counts.reduce((a, b) => a + b, 0), roomQueries, "the counts cover every query the Room made");
  reader.close();
});
