// Hostile socket clients: pipelined resumes are refused before they cost D1 reads, one
// address holds a bounded number of sockets, and cross-site pages cannot open sockets;
// every other reader keeps receiving.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomBytes } from "node:crypto";
import { startWorker, startFeedServer, api, openSocket, until, sleep } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: { RATE_LIMITS: "on" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const wsUrl = () => w.url.replace("http", "ws") + "/ws";

/** A raw upgrade request: resolves { status } (refused) or { socket } (accepted). */
function upgrade(path, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${w.url}${path}`, {
      headers: {
        Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"), ...headers,
      },
    });
    req.on("upgrade", (res, socket) => resolve({ status: 101, socket }));
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
