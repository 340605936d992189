// Sharded rooms: with ROOM_SHARDS=4 readers land on different Room objects and every one
// of them still gets each new entry exactly once, and resume works on any shard.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, openSocket } from "../support/harness.mjs";

let w, fs;
const atom = (n) => {
  let e = "";
  for (let i = 1; i <= n; i++) {
    e += `<entry><title>shard entry ${i}</title><id>urn:s:${i}</id><updated>${new Date(Date.UTC(2026, 10, 1) + i * 60000).toISOString()}</updated></entry>`;
  }
  return `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>S</title><id>urn:s</id>${e}</feed>`;
};

before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: { ROOM_SHARDS: "4" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

test("every reader on every shard gets a new entry exactly once", async () => {
  // The test's own feed, on its own fixture path.
  const f = fs.scope();
  let n = 1;
  f.set("/s.atom", () => ({ body: atom(n), type: "application/atom+xml" }));
  const created = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/s.atom") } });
  assert.equal(created.status, 201, created.text);
  const feedId = created.body.feed.id;
  const ws = w.url.replace("http", "ws");
  // Readers from 40 addresses: a client's sockets go to the shard its address hashes to.
  const clients = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    openSocket(`${ws}/ws`, { headers: { "CF-Connecting-IP": `198.51.100.${i + 1}` } })));
  const hellos = await Promise.all(clients.map((c) => c.next((m) => m.type === "hello")));
  // Each shard counts only its own readers: with 40 readers on 4 shards no hello can say 40.
  assert.ok(Math.max(...hellos.map((h) => h.clients)) < 40, "readers are spread over shards");
  n += 1;
  const r = await api(w.url, "POST", `/api/feeds/${feedId}/refresh`);
  assert.equal(r.body.new_entries, 1);
  await Promise.all(clients.map((c) => c.next((m) => m.type === "entry" && m.entry.title === `shard entry ${n}`)));
  await new Promise((res) => setTimeout(res, 300));
  for (const c of clients) assert.equal(c.entries().length, 0, "exactly once");

  // A reader who missed two entries resumes on whatever shard it lands on.
  const since = hellos[0].latest;
  clients.forEach((c) => c.close());
  n += 2;
  await api(w.url, "POST", `/api/feeds/${feedId}/refresh`);
  const back = await openSocket(`${ws}/ws`);
  await back.next((m) => m.type === "hello");
  back.send({ type: "resume", since });
  await back.next((m) => m.type === "synced");
  assert.deepEqual(back.entries().map((m) => m.entry.title), ["shard entry 2", "shard entry 3", "shard entry 4"]);
  back.close();
});
