// Hostile socket clients: pipelined resumes are refused before they cost D1 reads, one
// address holds a bounded number of sockets, and cross-site pages cannot open sockets;
// every other reader keeps receiving.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { startWorker, startFeedServer, api, openSocket, until, sleep, configWithLimits } from "../support/harness.mjs";

// The socket caps as deployed; the public budgets (quota_abuse*.test.mjs test them) raised,
// since one address's connects a minute (PUBLIC_LIMIT) stay below the 20 sockets it may hold.
const PUBLIC_UNBOUND = configWithLimits({ PUBLIC_LIMIT: 100000, PLANET_LIMIT: 1000000 }, "socket-abuse");
let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker({ config: PUBLIC_UNBOUND, vars: { RATE_LIMITS: "on" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); rmSync(PUBLIC_UNBOUND, { force: true }); });

const wsUrl = () => w.url.replace("http", "ws") + "/ws";

/** A raw upgrade request (to a path of `w`, or a whole URL): resolves { status } (refused)
 *  or { socket } (accepted). */
function upgrade(path, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(path.startsWith("http") ? path : `${w.url}${path}`, {
      headers: {
        Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"), ...headers,
      },
    });
    req.on("upgrade", (res, socket, head) => { socket.on("error", () => {}); resolve({ status: 101, socket, head }); });
    req.on("response", (res) => { res.resume(); resolve({ status: res.statusCode }); });
    req.on("error", reject);
    req.end();
  });
}

test("pipelined resumes are refused before they cost D1 reads, and the abuser is closed", async () => {
  const f = fs.scope();
  f.set("/a.xml", { file: "e2e/alpha.xml" });
  assert.equal((await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/a.xml") } })).status, 201);
  const bystander = await openSocket(wsUrl());
  await bystander.next((m) => m.type === "hello");
  const abuser = await openSocket(wsUrl());
  await abuser.next((m) => m.type === "hello");
  for (let i = 0; i < 10; i++) abuser.send({ type: "resume", since: 0 });
  const closed = await abuser.closed();
  assert.equal(closed.code, 1008);
  const synced = abuser.messages.filter((m) => m.type === "synced").length;
  // One in flight at a time and four a minute: never all ten (before, all ten were answered).
  assert.ok(synced <= 4, `at most four resumes answered, got ${synced}`);
  const refused = abuser.messages.filter((m) => m.type === "error" && /^resume_/.test(m.code));
  assert.ok(refused.length >= 1, "the others are refused in words");
  // The bystander still gets new entries.
  f.set("/a.xml", { file: "e2e/alpha-v2.xml" });
  const id = (await api(w.url, "GET", "/api/feeds", { token: null })).body.feeds.find((x) => x.url === f.url("/a.xml")).id;
  await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  const entry = await bystander.next((m) => m.type === "entry" && m.entry.feed_id === id);
  assert.equal(entry.entry.title, "Fourth post");
  bystander.ws.close();
});

test("one address holds at most 20 sockets; another address is still served", async () => {
  const held = [];
  for (let i = 0; i < 20; i++) {
    const r = await upgrade("/ws", { "CF-Connecting-IP": "198.51.100.23" });
    assert.equal(r.status, 101, `socket ${i + 1} is accepted`);
    held.push(r.socket);
  }
  const over = await upgrade("/ws", { "CF-Connecting-IP": "198.51.100.23" });
  assert.equal(over.status, 429, "the 21st is refused");
  const other = await upgrade("/ws", { "CF-Connecting-IP": "198.51.100.24" });
  assert.equal(other.status, 101);
  other.socket.destroy();
  for (const s of held) s.destroy();
  // Once they are gone, the address may connect again.
  await sleep(500);
  const again = await until(async () => {
    const r = await upgrade("/ws", { "CF-Connecting-IP": "198.51.100.23" });
    if (r.socket) r.socket.destroy();
    return r.status === 101;
  }, { what: "the address to be served again" });
  assert.ok(again);
});

test("a socket from another site's page is refused; this planet's pages and API clients are not", async () => {
  const evil = await upgrade("/ws", { Origin: "https://evil.example" });
  assert.equal(evil.status, 403);
  const own = await upgrade("/ws", { Origin: w.url });
  assert.equal(own.status, 101);
  own.socket.destroy();
  const api = await upgrade("/ws", {});
  assert.equal(api.status, 101);
  api.socket.destroy();
});

test("bad frames quoting a long name still close the socket the fifth time", async () => {
  // The JSON error quotes the name; as a close reason it once ran past the 123 bytes
  // close() takes, and the socket stayed open.
  const s = await openSocket(wsUrl());
  await s.next((m) => m.type === "hello");
  for (let i = 0; i < 5; i++) s.send({ type: "x".repeat(300) });
  const closed = await s.closed();
  assert.equal(closed.code, 1008);
  const errors = s.messages.filter((m) => m.type === "error");
  assert.equal(errors.length, 4);
  assert.ok(errors.every((e) => e.code === "bad_frame" && e.message.length < 200), "no echo of the frame");
});

/** One masked client frame (opcode 0x1 text, 0x8 close) with a short payload. */
function clientFrame(opcode, payload) {
  const mask = randomBytes(4);
  const data = Buffer.from(payload);
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | data.length]), mask, data.map((b, i) => b ^ mask[i % 4])]);
}

/** Opens and drops one socket in one of four ways; resolves the upgrade status. */
async function cycle(url, ip, i) {
  const r = await upgrade(url, { "CF-Connecting-IP": ip });
  if (!r.socket) return r.status;
  const s = r.socket;
  const gone = new Promise((res) => { s.on("close", res); });
  const data = () => new Promise((res) => { s.once("data", res); s.once("close", res); });
  const hello = r.head?.length ? Promise.resolve() : data();
  switch (i % 4) {
    case 0: s.destroy(); break; // gone before the hello is read
    case 1: await hello; s.destroy(); break; // reads the hello, then drops the connection
    case 2: // a clean close: close frame, the server's close frame, then the connection ends
      await hello;
      s.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
      await data();
      s.destroy();
      break;
    default: s.write(clientFrame(0x1, "ping")); s.destroy(); break; // says something, drops
  }
  await gone;
  return r.status;
}

const rssOf = (prefix, n) => {
  let items = "";
  for (let i = 0; i < n; i++) items += `<item><guid>${prefix}-${i}</guid><title>${prefix} ${i}</title></item>`;
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${prefix}</title>${items}</channel></rss>`;
};

test("1,000 rapid connect/disconnect cycles from one address: a reader beside them gets every entry once", async () => {
  // Its own runtime with RATE_LIMITS off, as the harness has it: the edge limit (120
  // connects a minute per address) would refuse most cycles before they reach the Room.
  const w2 = await startWorker();
  try {
    const base = w2.url.replace("http", "ws");
    const wsPath = (p) => `${w2.url}${p}`;
    const reader = await openSocket(`${base}/ws`);
    await reader.next((m) => m.type === "hello");
    const f = fs.scope();
    let n = 5;
    f.set("/churn.xml", () => ({ body: rssOf("churn", n) }));
    const r = await api(w2.url, "POST", "/api/feeds", { body: { url: f.url("/churn.xml") } });
    assert.equal(r.status, 201, r.text);
    const id = r.body.feed.id;

    // Ten at a time (under the 20-per-address cap), with entries published in the middle.
    const upgradeTo = (i) => cycle(wsPath("/ws"), "203.0.113.77", i);
    let next = 0;
    const statuses = [];
    const publishes = [];
    const worker = async () => {
      while (next < 1000) {
        const i = next++;
        if (i === 300 || i === 700) {
          n += 10;
          publishes.push(api(w2.url, "POST", `/api/feeds/${id}/refresh`).then((x) => x.body));
        }
        statuses.push(await upgradeTo(i));
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    assert.equal(statuses.length, 1000);
    assert.ok(statuses.every((s) => s === 101), "every cycle was served");
    for (const p of await Promise.all(publishes)) assert.equal(p.new_entries, 10, JSON.stringify(p));

    // Entries published after the churn too.
    n += 10;
    assert.equal((await api(w2.url, "POST", `/api/feeds/${id}/refresh`)).body.new_entries, 10);
    const stored = (await api(w2.url, "GET", `/api/entries?limit=200&feed=${id}`, { token: null })).body.entries.map((e) => e.id);
    assert.equal(stored.length, 35);
    const mine = () => reader.entries().filter((m) => m.entry.feed_id === id).map((m) => m.entry.id);
    await until(() => new Set(mine()).size === stored.length, { what: "every entry at the reader" });

    // The room still takes new readers.
    const fresh = await openSocket(`${base}/ws`);
    await fresh.next((m) => m.type === "hello");
    // One more entry reaches both; anything sent before it has arrived by then.
    n += 1;
    assert.equal((await api(w2.url, "POST", `/api/feeds/${id}/refresh`)).body.new_entries, 1);
    const last = await fresh.next((m) => m.type === "entry" && m.entry.feed_id === id);
    await until(() => mine().includes(last.entry.id), { what: "the last entry at the reader" });
    const got = mine();
    assert.equal(got.length, stored.length + 1, "each entry exactly once");
    assert.deepEqual([...got].sort((a, b) => a - b), [...stored, last.entry.id].sort((a, b) => a - b));
    assert.equal(reader.ws.readyState, 1, "the reader was never dropped");
    fresh.close();
    reader.close();
  } finally {
    w2.stop();
  }
});

test("rapid cycles at the per-address cap are served: closed sockets stop counting", async () => {
  // With the cap on: 100 cycles, 19 at a time, from one address (under the edge limit).
  let next = 0;
  const statuses = [];
  const worker = async () => {
    while (next < 100) statuses.push(await cycle(`${w.url}/ws`, "198.51.100.99", next++));
  };
  await Promise.all(Array.from({ length: 19 }, worker));
  const refused = statuses.filter((s) => s !== 101);
  assert.deepEqual(refused, [], "no cycle refused while the address held fewer than 20");
});
