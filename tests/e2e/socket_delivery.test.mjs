// Realtime hub against the real runtime: hibernating sockets in the Room and FeedObjects,
// exactly-once delivery, resume after a disconnect, per-feed sockets, abuse handling.
// One wrangler dev per file; every test subscribes its own feeds (their names carry the test's
// fixture prefix, so titles never repeat across tests) and publishes only on them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, openSocket, until } from "../support/harness.mjs";
import { atomFeed } from "../support/atom.mjs";

const atom = atomFeed;

let w, fs, wsBase;

/** Subscribes a feed of `n` entries on the test's own fixture path: { name, id, n }. */
async function addFeed(f, color, n = 1) {
  const feed = { name: `${color}-${f.prefix.slice(1)}`, n };
  f.set(`/${color}.atom`, () => ({ body: atom(feed.name, feed.n), type: "application/atom+xml" }));
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(`/${color}.atom`) } });
  assert.equal(r.status, 201, r.text);
  feed.id = r.body.feed.id;
  return feed;
}

/** The two feeds a test publishes on, subscribed before it opens any socket. */
async function redAndBlue() {
  const f = fs.scope();
  return { red: await addFeed(f, "red"), blue: await addFeed(f, "blue") };
}

/** Publishes `k` new entries on a feed and has Orrery find them. */
async function publish(feed, k = 1) {
  feed.n += k;
  const r = await api(w.url, "POST", `/api/feeds/${feed.id}/refresh`);
  assert.equal(r.body.new_entries, k, JSON.stringify(r.body));
}

before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
  wsBase = w.url.replace("http", "ws");
});
after(async () => { w?.stop(); await fs?.close(); });

test("200 concurrent readers each receive a new entry exactly once", async () => {
  const red = await addFeed(fs.scope(), "red");
  const clients = await Promise.all(Array.from({ length: 200 }, () => openSocket(`${wsBase}/ws`)));
  await Promise.all(clients.map((c) => c.next((m) => m.type === "hello")));
  await publish(red);
  const title = `${red.name} entry ${red.n}`;
  await Promise.all(clients.map((c) => c.next((m) => m.type === "entry" && m.entry.title === title)));
  // Give stragglers a moment to arrive as duplicates, if there were any.
  await new Promise((r) => setTimeout(r, 500));
  for (const c of clients) {
    assert.equal(c.entries().length, 0, "exactly once");
  }
  const stats = clients.length;
  clients.forEach((c) => c.close());
  assert.equal(stats, 200);
});

test("an entry message carries the documented fields and the page's HTML partial", async () => {
  const blue = await addFeed(fs.scope(), "blue");
  const c = await openSocket(`${wsBase}/ws`);
  await c.next((m) => m.type === "hello");
  await publish(blue);
  const m = await c.next((x) => x.type === "entry");
  for (const k of ["id", "feed_id", "feed_title", "title", "url", "author", "published", "summary"]) {
    assert.ok(k in m.entry, `entry.${k}`);
  }
  assert.equal(m.entry.feed_id, blue.id);
  assert.match(m.html, new RegExp(`^<article class="entry" id="entry-${m.entry.id}"`));
  const page = await (await fetch(`${w.url}/`)).text();
  assert.ok(page.includes(m.html), "the socket's HTML is the page's partial");
  c.close();
});

test("a reader that disconnects, misses two entries and resumes gets exactly those two", async () => {
  const { red, blue } = await redAndBlue();
  const c1 = await openSocket(`${wsBase}/ws`);
  const hello = await c1.next((m) => m.type === "hello");
  c1.close();
  await publish(red, 2);
  const c2 = await openSocket(`${wsBase}/ws`);
  await c2.next((m) => m.type === "hello");
  c2.send({ type: "resume", since: hello.latest });
  const synced = await c2.next((m) => m.type === "synced");
  const got = c2.entries().map((m) => m.entry.title);
  assert.deepEqual(got, [`${red.name} entry ${red.n - 1}`, `${red.name} entry ${red.n}`], "oldest first, exactly the missed two");
  assert.ok(synced.latest >= Math.max(...c2.entries().map((m) => m.entry.id)));
  // And nothing twice afterwards.
  await publish(blue);
  await c2.next((m) => m.type === "entry" && m.entry.feed_id === blue.id);
  const ids = c2.entries().map((m) => m.entry.id);
  assert.equal(new Set(ids).size, ids.length);
  c2.close();
});

test("per-feed sockets get only their feed; /ws?feeds= filters", async () => {
  const feeds = await redAndBlue();
  const red = await openSocket(`${wsBase}/feeds/${feeds.red.id}/ws`);
  const helloRed = await red.next((m) => m.type === "hello");
  assert.equal(helloRed.protocol, 1);
  const onlyBlue = await openSocket(`${wsBase}/ws?feeds=${feeds.blue.id}`);
  await onlyBlue.next((m) => m.type === "hello");
  await publish(feeds.blue);
  await publish(feeds.red);
  const r = await red.next((m) => m.type === "entry");
  assert.equal(r.entry.feed_id, feeds.red.id);
  const b = await onlyBlue.next((m) => m.type === "entry");
  assert.equal(b.entry.feed_id, feeds.blue.id);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(red.entries().filter((m) => m.entry.feed_id !== feeds.red.id).length, 0);
  assert.equal(onlyBlue.entries().filter((m) => m.entry.feed_id !== feeds.blue.id).length, 0);
  red.close();
  onlyBlue.close();
  await assert.rejects(openSocket(`${wsBase}/feeds/9999/ws`), /cannot connect/);
});

test("ping gets pong", async () => {
  const blue = await addFeed(fs.scope(), "blue");
  for (const path of ["/ws", `/feeds/${blue.id}/ws`]) {
    const c = await openSocket(`${wsBase}${path}`);
    await c.next((m) => m.type === "hello");
    c.send("ping");
    await c.next((m) => m.raw === "pong");
    c.close();
  }
});

test("bad frames get error frames, then 1008; oversize gets 1009; others keep receiving", async () => {
  const red = await addFeed(fs.scope(), "red");
  const bystander = await openSocket(`${wsBase}/ws`);
  await bystander.next((m) => m.type === "hello");

  const bad = await openSocket(`${wsBase}/ws`);
  await bad.next((m) => m.type === "hello");
  bad.send("{not json");
  const err = await bad.next((m) => m.type === "error");
  assert.equal(err.code, "bad_frame");
  for (let i = 0; i < 5; i++) bad.send({ type: "explode" });
  assert.equal((await bad.closed()).code, 1008);

  const big = await openSocket(`${wsBase}/ws`);
  await big.next((m) => m.type === "hello");
  big.send(JSON.stringify({ type: "resume", since: 0, pad: "x".repeat(70 * 1024) }));
  assert.equal((await big.closed()).code, 1009);

  const flood = await openSocket(`${wsBase}/ws`);
  await flood.next((m) => m.type === "hello");
  for (let i = 0; i < 100; i++) flood.send({ type: "subscribe" });
  assert.equal((await flood.closed()).code, 1008);

  await publish(red);
  const m = await bystander.next((x) => x.type === "entry");
  assert.equal(m.entry.title, `${red.name} entry ${red.n}`);
  bystander.close();
});

test("hello counts connected readers", async () => {
  const a = await openSocket(`${wsBase}/ws`);
  const ha = await a.next((m) => m.type === "hello");
  const b = await openSocket(`${wsBase}/ws`);
  const hb = await b.next((m) => m.type === "hello");
  assert.ok(hb.clients >= ha.clients + 1 || hb.clients >= 2);
  a.close();
  b.close();
  await until(async () => true);
});
