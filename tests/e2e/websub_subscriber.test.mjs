// WebSub subscriber against the real runtime and a hub of our own on loopback: discovery,
// subscription, intent verification (right and wrong), signed fat pings through the same
// pipeline as a poll, refused forgeries, thin pings, renewal before the lease ends,
// unsubscribe when the feed is removed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, openSocket, until } from "../support/harness.mjs";
import { atomFeed } from "../support/atom.mjs";
import { startHub } from "../support/websub_hub.mjs";

let w, fs, hub;
const START = Date.now() - 3600 * 1000;
// Recent and frequent entries (ten minutes apart): polled often unless a hub pushes it.
const atom = (name, n, links = {}) => atomFeed(name, n, { start: START, step: 600000, ...links });

/** A feed on the fixture server that names `hub` in its document; subscribed. */
async function pushedFeed(name, { inHeader = false } = {}) {
  const f = fs.scope();
  const feed = { name: `${name}-${f.prefix.slice(1)}`, n: 1, url: f.url(`/${name}.atom`) };
  feed.self = `${feed.url}?self`;
  f.set(`/${name}.atom`, () => inHeader
    ? { body: atom(feed.name, feed.n), type: "application/atom+xml", headers: { link: `<${hub.url}>; rel="hub", <${feed.self}>; rel="self"` } }
    : { body: atom(feed.name, feed.n, { hub: hub.url, self: feed.self }), type: "application/atom+xml" });
  feed.hits = () => f.hits(`/${name}.atom`);
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: feed.url } });
  assert.equal(r.status, 201, r.text);
  feed.id = r.body.feed.id;
  feed.sub = await until(() => hub.requests.find((q) => q.topic === feed.self && q.mode === "subscribe"),
    { what: `a subscription request for ${feed.name}` });
  return feed;
}

const entriesOf = async (feed) => (await api(w.url, "GET", `/api/entries?feed=${feed.id}&limit=100`)).body.entries;

before(async () => {
  hub = await startHub({ lease: 864000 });
  [w, fs] = await Promise.all([startWorker({ vars: { WEBSUB_MIN_RENEW_SECONDS: "1" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); await hub?.close(); });

test("a feed naming a hub subscribes with a callback on this planet, a secret and a lease", async () => {
  const feed = await pushedFeed("sub");
  const { sub } = feed;
  assert.match(sub.callback, new RegExp(`^${w.url}/websub/${feed.id}/[0-9a-f]+\\.[0-9a-f]{32}$`));
  assert.equal(sub.type, "application/x-www-form-urlencoded");
  assert.equal(sub.lease, 864000);
  assert.ok(sub.secret && sub.secret.length >= 32, "a strong secret");
  // Our hub verified it at once: the subscriber echoed the challenge.
  const v = await until(() => hub.verified.find((x) => x.callback === sub.callback));
  assert.equal(v.status, 200);
  assert.ok(v.ok, "the challenge came back exactly");
  // Another verification with another challenge gets its own challenge back.
  assert.ok((await hub.verify(sub.callback, "subscribe", sub.topic)).ok);
  // The lease shows: the API's push_until, and "push" on /feeds for this feed.
  const f = (await api(w.url, "GET", `/api/feeds/${feed.id}`)).body;
  assert.ok(f.push_until > Date.now() + 9 * 24 * 3600 * 1000, `push_until ${f.push_until}`);
  const page = await (await fetch(`${w.url}/feeds`)).text();
  const row = page.slice(page.indexOf(`data-feed="${feed.id}"`));
  assert.match(row.slice(0, row.indexOf("</tr>")), /<span class="push"[^>]*>push<\/span>/);
});

test("verification for another topic, mode or callback, or without a challenge, is refused", async () => {
  const { sub } = await pushedFeed("intent");
  const wrongTopic = await hub.verify(sub.callback, "subscribe", "https://elsewhere.example/feed");
  assert.equal(wrongTopic.status, 404);
  assert.ok(!wrongTopic.ok);
  const unsubscribe = await hub.verify(sub.callback, "unsubscribe", sub.topic);
  assert.equal(unsubscribe.status, 404, "nobody but the feed itself ends its subscription");
  const forged = sub.callback.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
  assert.equal((await hub.verify(forged, "subscribe", sub.topic)).status, 404, "a guessed token");
  const other = sub.callback.replace(/\/websub\/\d+\//, "/websub/999999/");
  assert.equal((await hub.verify(other, "subscribe", sub.topic)).status, 404, "another feed's callback");
  const bare = new URL(sub.callback);
  bare.searchParams.set("hub.mode", "subscribe");
  bare.searchParams.set("hub.topic", sub.topic);
  const res = await fetch(bare);
  assert.equal(res.status, 400, "no challenge");
  // The subscription is still there and still confirms what it asked for.
  assert.ok((await hub.verify(sub.callback, "subscribe", sub.topic)).ok);
});

test("a signed fat ping goes through the pipeline and out to sockets; forgeries are refused", async () => {
  const feed = await pushedFeed("fat");
  await until(() => hub.verified.find((x) => x.callback === feed.sub.callback && x.ok));
  const before = await entriesOf(feed);
  assert.equal(before.length, 1);
  const sock = await openSocket(`${w.url.replace("http", "ws")}/ws?feeds=${feed.id}`);
  await sock.next((m) => m.type === "hello");
  const hitsBefore = feed.hits();

  feed.n = 2;
  const forged = await hub.deliver(feed.sub, atom(feed.name, 2), { secret: "not-the-secret" });
  assert.equal(forged.status, 403, forged.text);
  const unsigned = await hub.deliver(feed.sub, atom(feed.name, 2), { secret: null });
  assert.equal(unsigned.status, 403, unsigned.text);
  assert.equal((await entriesOf(feed)).length, 1, "nothing from a forged or unsigned delivery");

  const res = await hub.deliver(feed.sub, atom(feed.name, 2));
  assert.equal(res.status, 202, res.text);
  const frame = await sock.next((m) => m.type === "entry" && m.entry.title === `${feed.name} entry 2`);
  assert.equal(frame.entry.feed_id, feed.id);
  const after = await entriesOf(feed);
  assert.deepEqual(after.map((e) => e.title).sort(), [`${feed.name} entry 1`, `${feed.name} entry 2`]);
  assert.equal(feed.hits(), hitsBefore, "a fat ping needs no fetch");
  // While pushed, the feed is still polled, but slowly (a safety net): six hours.
  const f = (await api(w.url, "GET", `/api/feeds/${feed.id}`)).body;
  assert.ok(f.next_fetch_at - Date.now() > 5.5 * 3600 * 1000, `next fetch in ${(f.next_fetch_at - Date.now()) / 60000} min`);
  // The same delivery again changes nothing.
  assert.equal((await hub.deliver(feed.sub, atom(feed.name, 2))).status, 202);
  assert.equal((await entriesOf(feed)).length, 2);
  sock.close();
});

test("a thin ping (no body) fetches the feed", async () => {
  const feed = await pushedFeed("thin", { inHeader: true });
  assert.equal(feed.sub.topic, feed.self, "the Link header's self link is the topic");
  await until(() => hub.verified.find((x) => x.callback === feed.sub.callback && x.ok));
  const hits = feed.hits();
  feed.n = 3;
  const res = await hub.deliver(feed.sub, "");
  assert.equal(res.status, 202, res.text);
  assert.equal(feed.hits(), hits + 1, "fetched once");
  assert.equal((await entriesOf(feed)).length, 3);
});

test("the lease is renewed by the feed's own alarm before it ends", async () => {
  const short = await startHub({ lease: 20 });
  try {
    const f = fs.scope();
    const name = `renew-${f.prefix.slice(1)}`;
    const url = f.url("/renew.atom");
    f.set("/renew.atom", () => ({ body: atom(name, 1, { hub: short.url }), type: "application/atom+xml" }));
    assert.equal((await api(w.url, "POST", "/api/feeds", { body: { url } })).status, 201);
    const first = await until(() => short.verified.find((v) => v.ok), { what: "the first verification" });
    const renewal = await until(() => short.requests.filter((r) => r.mode === "subscribe")[1],
      { timeout: 30000, what: "a renewal" });
    assert.equal(renewal.topic, url, "no self link: the topic is the feed's URL");
    const early = first.at + 20000 - renewal.at;
    assert.ok(early > 0, `renewed ${-early} ms after the lease ended`);
    assert.ok(renewal.at - first.at > 10000, "not renewed long before it was due");
    await until(() => short.verified.filter((v) => v.ok).length >= 2, { what: "the renewal verified" });
  } finally {
    await short.close();
  }
});

test("removing the feed unsubscribes it at the hub; its callback is then dead", async () => {
  const feed = await pushedFeed("bye");
  await until(() => hub.verified.find((x) => x.callback === feed.sub.callback && x.ok));
  assert.equal((await api(w.url, "DELETE", `/api/feeds/${feed.id}`)).status, 200);
  const unsub = await until(() => hub.requests.find((q) => q.callback === feed.sub.callback && q.mode === "unsubscribe"),
    { what: "an unsubscribe request" });
  assert.equal(unsub.topic, feed.self);
  const v = await until(() => hub.verified.find((x) => x.callback === feed.sub.callback && x.mode === "unsubscribe"));
  assert.ok(v.ok, "the removed feed confirms its unsubscribe");
  // Nobody can subscribe it again by verification, and deliveries find no subscription.
  assert.equal((await hub.verify(feed.sub.callback, "subscribe", feed.self)).status, 404);
  assert.equal((await hub.deliver(feed.sub, atom(feed.name, 2))).status, 404);
});

test("a hub that refuses the request leaves the feed polled as before", async () => {
  hub.answerWith(400);
  try {
    const feed = await pushedFeed("refused");
    assert.equal(hub.verified.filter((x) => x.callback === feed.sub.callback).length, 0);
    const f = (await api(w.url, "GET", `/api/feeds/${feed.id}`)).body;
    assert.equal(f.status, "active");
    assert.equal(f.push_until, null, "not pushed");
    assert.ok(f.next_fetch_at - Date.now() < 2 * 3600 * 1000, "polled on its usual schedule");
    // The next fetch does not ask again at once: retries back off (an hour first).
    feed.n = 2;
    assert.equal((await api(w.url, "POST", `/api/feeds/${feed.id}/refresh`)).body.new_entries, 1);
    assert.equal(hub.requests.filter((q) => q.topic === feed.self).length, 1);
  } finally {
    hub.answerWith(202);
  }
});

// Last: it turns the rate limits on for the rest of this worker's life.
test("a hub pushing one feed too fast is throttled at the edge, and nothing is lost", async () => {
  const feed = await pushedFeed("flood");
  await until(() => hub.verified.find((x) => x.callback === feed.sub.callback && x.ok));
  await w.restart({ vars: { RATE_LIMITS: "on" } });
  let accepted = 0;
  let refused = null;
  // The limiter's window is fixed: keep pushing (each delivery one entry more) until refused.
  for (let i = 0; i < 40 && !refused; i++) {
    feed.n += 1;
    const r = await hub.deliver(feed.sub, atom(feed.name, feed.n));
    if (r.status === 202) accepted += 1;
    else if (r.status === 429) refused = r;
    else assert.fail(`delivery answered ${r.status}: ${r.text}`);
  }
  assert.ok(refused, `never throttled after ${accepted} deliveries`);
  assert.ok(accepted >= 6, `${accepted} accepted first`);
  assert.equal(refused.retryAfter, "60");
  assert.equal(JSON.parse(refused.text).error.code, "rate_limited");
  // Another feed's hub is not throttled by this one's flood.
  const other = await pushedFeed("calm");
  await until(() => hub.verified.find((x) => x.callback === other.sub.callback && x.ok));
  other.n = 2;
  assert.equal((await hub.deliver(other.sub, atom(other.name, 2))).status, 202);
  // What was refused is not lost: the next fetch (a poll, or a thin ping later) stores it.
  const r = await api(w.url, "POST", `/api/feeds/${feed.id}/refresh`);
  assert.equal(r.status, 200, r.text);
  assert.equal((await entriesOf(feed)).length, feed.n);
});
