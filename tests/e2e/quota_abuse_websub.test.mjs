// WebSub abuse against the real runtime, counted with METER=1 and the limits as deployed
// (RATE_LIMITS on): a loop through the planet under another of its names is refused and
// writes nothing; the planet's own entries fed back are never stored; verification GETs
// are throttled at the edge and a repeated confirmation writes nothing; the hub counts
// callbacks per domain, not per host name; callback tokens are keyed by a secret in D1.
// All traffic stays on loopback.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { rmSync } from "node:fs";
import { startWorker, startFeedServer, api, until, sleep, ADMIN_TOKEN, configWithLimits } from "../support/harness.mjs";
import { atomFeed } from "../support/atom.mjs";
import { startHub } from "../support/websub_hub.mjs";

let w, fs, hub;
const START = Date.now() - 3600 * 1000;
const atom = (name, n, links = {}) => atomFeed(name, n, { start: START, step: 600000, ...links });
// The planet's other names: another loopback name on its port, and a configured alias.
const ALIAS_ZONE = "example.test";

/** Meter lines logged since `mark`. */
const meter = (mark) => [...w.log().slice(mark).matchAll(/orrery-meter (\{.*\})/g)].map((m) => JSON.parse(m[1]));
const written = (lines) => lines.filter((l) => l.k === "sql" || l.k === "d1").reduce((n, l) => n + (l.written || 0), 0);
const objectCalls = (lines) => lines.filter((l) => l.k === "inv" && l.kind !== "worker" && l.kind !== "cron");
/** The lines of each invocation named `what` (from its "inv" line to the next one). */
function invocations(lines, kind, what) {
  const out = [];
  let cur = null;
  for (const l of lines) {
    if (l.k === "inv") { cur = l.kind === kind && l.what === what ? [] : null; if (cur) out.push(cur); } else if (cur) cur.push(l);
  }
  return out;
}

/** The callback token the old way: an HMAC keyed by a hash of the admin token. */
function oldToken(feedId, nonce) {
  const key = createHash("sha256").update(`orrery-websub-v1:${ADMIN_TOKEN}`).digest("hex");
  const mac = createHmac("sha256", key).update(`${feedId}:${nonce}`).update("websub-callback").digest("hex");
  return `${nonce}.${mac.slice(0, 32)}`;
}

async function addFeed(f, name, body) {
  f.set(`/${name}.atom`, () => ({ body: body(), type: "application/atom+xml" }));
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(`/${name}.atom`) } });
  assert.equal(r.status, 201, r.text);
  return r.body.feed.id;
}

const PUBLIC_UNBOUND = configWithLimits({ PUBLIC_LIMIT: 100000, PLANET_LIMIT: 1000000 }, "quota-websub");

before(async () => {
  hub = await startHub({ lease: 864000 });
  [w, fs] = await Promise.all([
    // PUSH_LIMIT and the hub's caps as deployed; the public budgets (tested in
    // quota_abuse.test.mjs) raised, so this suite's many reads from one address are served.
    startWorker({ config: PUBLIC_UNBOUND, vars: { METER: "1", RATE_LIMITS: "on", PLANET_ALIASES: `planet.${ALIAS_ZONE}`, WEBSUB_MIN_RENEW_SECONDS: "1" } }),
    startFeedServer(),
  ]);
});
after(async () => { w?.stop(); await fs?.close(); await hub?.close(); rmSync(PUBLIC_UNBOUND, { force: true }); });

test("a feed naming the planet's own hub under another name never subscribes, and writes nothing for it", async () => {
  const f = fs.scope();
  const alias = `http://localhost:${w.port}`; // the planet, by another loopback name
  const mark = w.log().length;
  const id = await addFeed(f, "mirror", () => atom("mirror", 1, { hub: `${alias}/websub`, self: `${w.url}/feed.atom` }));
  await sleep(1500);
  const lines = meter(mark);
  assert.equal(lines.filter((l) => l.k === "inv" && l.kind === "publisher" && l.what === "call.intent").length, 0, "the hub was never asked");
  assert.equal(lines.filter((l) => l.k === "sub" && l.what === "object.websub").length, 0, "no callback reached a feed");
  assert.equal(lines.filter((l) => l.k === "d1" && l.what === "feed_push").length, 0, "no lease recorded");
  assert.equal((await api(w.url, "GET", `/api/feeds/${id}`)).body.push_until ?? null, null);
  // The scheme is no disguise either: https on the planet's port is the planet.
  const id2 = await addFeed(f, "mirror2", () => atom("mirror2", 1, { hub: `https://127.0.0.1:${w.port}/websub`, self: `${f.url("/mirror2.atom")}` }));
  await sleep(1000);
  assert.equal((await api(w.url, "GET", `/api/feeds/${id2}`)).body.push_until ?? null, null);
});

test("the hub refuses a callback on the planet itself, under any of its names", async () => {
  for (const callback of [`${w.url}/websub/1/a.b`, `http://localhost:${w.port}/websub/1/a.b`, `https://127.0.0.1:${w.port}/x`]) {
    const mark = w.log().length;
    const r = await fetch(`${w.url}/websub`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ "hub.mode": "subscribe", "hub.topic": `${w.url}/feed.atom`, "hub.callback": callback }),
    });
    assert.equal(r.status, 400, `${callback}: ${await r.text()}`);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    const lines = meter(mark);
    assert.equal(objectCalls(lines).length, 0, "no object woke");
    assert.equal(written(lines), 0, "nothing written");
  }
});

test("the planet's own entries fed back to it are never stored", async () => {
  const f = fs.scope();
  const own = `http://localhost:${w.port}/entries/`;
  const body = `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>echo</title><id>urn:echo</id><updated>2026-01-01T00:00:00Z</updated>
<entry><id>${own}1</id><title>own id</title><updated>2026-01-01T00:00:00Z</updated></entry>
<entry><id>urn:x:2</id><link href="${w.url}/entries/2"/><title>own link</title><updated>2026-01-01T00:00:00Z</updated></entry>
<entry><id>urn:x:3</id><link href="https://elsewhere.example/3"/><title>theirs</title><updated>2026-01-01T00:00:00Z</updated></entry></feed>`;
  const id = await addFeed(f, "echo", () => body);
  const entries = await until(async () => {
    const e = (await api(w.url, "GET", `/api/entries?feed=${id}&limit=10`)).body.entries;
    return e.length ? e : null;
  });
  await sleep(500);
  assert.deepEqual((await api(w.url, "GET", `/api/entries?feed=${id}&limit=10`)).body.entries.map((e) => e.title), ["theirs"]);
  assert.deepEqual(entries.map((e) => e.title), ["theirs"]);
});

test("callback tokens come from a secret in D1; a token made the old way still passes the edge", async () => {
  const f = fs.scope();
  const self = f.url("/pushed.atom?self");
  const id = await addFeed(f, "pushed", () => atom("pushed", 1, { hub: hub.url, self }));
  const sub = await until(() => hub.requests.find((q) => q.topic === self && q.mode === "subscribe"));
  const token = sub.callback.split("/").pop();
  const [nonce] = token.split(".");
  assert.notEqual(token, oldToken(id, nonce), "not keyed by the admin token any more");
  await until(() => hub.verified.find((x) => x.callback === sub.callback && x.ok));
  // An old-way token reaches the feed's object (which knows no such subscription), a
  // forged one does not get past the edge.
  const old = await hub.verify(sub.callback.replace(token, oldToken(id, "0ldn0nce")), "subscribe", self);
  assert.equal(old.status, 404);
  const forged = await fetch(sub.callback.replace(token, `${nonce}.${"0".repeat(32)}`) + "?hub.mode=subscribe&hub.challenge=x");
  assert.equal(forged.status, 404);
  assert.match(await forged.text(), /no such subscription/);
  const oldUrl = new URL(sub.callback.replace(token, oldToken(id, "0ldn0nce")));
  oldUrl.searchParams.set("hub.mode", "subscribe");
  oldUrl.searchParams.set("hub.topic", self);
  oldUrl.searchParams.set("hub.challenge", "c");
  const r = await fetch(oldUrl);
  assert.equal(r.status, 404);
  assert.doesNotMatch(await r.text(), /no such subscription/, "the old key is still accepted at the edge");
  // A Worker of the planet's own zone calling back is a loop: refused.
  const cf = await fetch(oldUrl, { headers: { "cf-worker": ALIAS_ZONE } });
  assert.equal(cf.status, 403);
  assert.equal(cf.headers.get("x-content-type-options"), "nosniff");
});

test("a repeated confirmation writes nothing, odd challenges are refused, and verifications are throttled", async () => {
  const f = fs.scope();
  const self = f.url("/verify.atom?self");
  const id = await addFeed(f, "verify", () => atom("verify", 1, { hub: hub.url, self }));
  const sub = await until(() => hub.requests.find((q) => q.topic === self && q.mode === "subscribe"));
  await until(() => hub.verified.find((x) => x.callback === sub.callback && x.ok));
  assert.ok((await api(w.url, "GET", `/api/feeds/${id}`)).body.push_until > Date.now());
  // The same lease confirmed again: the challenge comes back, nothing is written.
  const mark = w.log().length;
  const again = await hub.verify(sub.callback, "subscribe", self);
  assert.ok(again.ok, "the challenge is echoed");
  await sleep(300);
  const calls = invocations(meter(mark), "feed", "websub.verify");
  assert.equal(calls.length, 1, "one verification reached the feed");
  assert.equal(written(calls[0]), 0, `no storage, alarm or D1 row for a lease that barely moved: ${JSON.stringify(calls[0])}`);
  // The echo is plain text, nosniff, and only printable ASCII is echoed.
  const u = new URL(sub.callback);
  u.searchParams.set("hub.mode", "subscribe");
  u.searchParams.set("hub.topic", self);
  u.searchParams.set("hub.challenge", "<script>\u0007");
  const odd = await fetch(u);
  assert.equal(odd.status, 400);
  assert.equal(odd.headers.get("x-content-type-options"), "nosniff");
  u.searchParams.set("hub.challenge", "plain-challenge");
  const plain = await fetch(u);
  assert.equal(plain.status, 200);
  assert.equal(await plain.text(), "plain-challenge");
  assert.equal(plain.headers.get("x-content-type-options"), "nosniff");
  // Verification GETs share the feed's PUSH_LIMIT: a flood is refused at the edge.
  let refused = null;
  let answered = 0;
  for (let i = 0; i < 30 && !refused; i++) {
    const r = await fetch(u);
    if (r.status === 429) refused = r;
    else answered += 1;
  }
  assert.ok(refused, `never throttled after ${answered} verifications`);
  assert.equal(refused.headers.get("retry-after"), "60");
  const m2 = w.log().length;
  assert.equal((await fetch(u)).status, 429);
  assert.equal(objectCalls(meter(m2)).length, 0, "a throttled verification wakes no object");
});

test("the hub counts callbacks per domain: subdomains past the cap are refused before any verification", async () => {
  const mark = w.log().length;
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${w.url}/websub`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ "hub.mode": "subscribe", "hub.topic": `${w.url}/feed.atom`, "hub.callback": `http://a${i}.wild.localhost:9/cb` }),
  }).then(async (r) => ({ status: r.status, text: await r.text() }))));
  const accepted = answers.filter((a) => a.status === 202).length;
  const refused = answers.filter((a) => a.status === 403);
  assert.ok(accepted >= 1 && accepted <= 9, `${accepted} of 20 subdomains accepted`);
  assert.ok(refused.length >= 11, `${refused.length} refused`);
  assert.match(refused[0].text, /wild\.localhost/);
  const intentsStored = meter(mark).filter((l) => l.what === "publisher.intent.put").length;
  assert.equal(intentsStored, accepted, "a refused request stores nothing");
  // Addresses count by /24 the same way.
  const byIp = await Promise.all(Array.from({ length: 12 }, (_, i) => fetch(`${w.url}/websub`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ "hub.mode": "subscribe", "hub.topic": `${w.url}/feed.rss`, "hub.callback": `http://127.0.0.${20 + i}:9/cb` }),
  }).then((r) => r.status)));
  assert.ok(byIp.filter((s) => s === 403).length >= 3, `addresses of one /24: ${byIp}`);
});
