// Orrery as a WebSub hub for its own feeds, against the real runtime: a subscriber of our
// own on loopback (a node http server) subscribes, answers the intent verification, and
// receives new entries as signed fat pings; retries, unsubscribing, bad requests, an
// external hub (WEBSUB_HUB) and the SSRF guard on callbacks (ALLOW_PRIVATE_FEEDS=false),
// the last two by restarting the same wrangler dev with those vars.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createHmac } from "node:crypto";
import { startWorker, startFeedServer, api, until, sleep } from "../support/harness.mjs";
import { atomFeed } from "../support/atom.mjs";

const atom = atomFeed;

let w, fs, sub;

/** Subscribes a feed of one entry on a fixture path of its own: { name, id, n }. */
async function addFeed(name) {
  const f = fs.scope();
  const feed = { name: `${name}-${f.prefix.slice(1)}`, n: 1 };
  f.set("/feed.atom", () => ({ body: atom(feed.name, feed.n), type: "application/atom+xml" }));
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/feed.atom") } });
  assert.equal(r.status, 201, r.text);
  feed.id = r.body.feed.id;
  return feed;
}

/** Publishes one new entry on a feed and has Orrery find it; returns its title. */
async function publish(feed) {
  feed.n += 1;
  const r = await api(w.url, "POST", `/api/feeds/${feed.id}/refresh`);
  assert.equal(r.body.new_entries, 1, JSON.stringify(r.body));
  return `${feed.name} entry ${feed.n}`;
}

/**
 * A subscriber on loopback. Every request is recorded; `on(path, fn)` decides how a path
 * answers (`fn(req, body) -> { status, body }`); by default a verification GET echoes
 * `hub.challenge` and a delivery POST gets a 204.
 */
async function startSubscriber() {
  const log = [];
  const behaviour = new Map();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url, "http://x");
      const body = Buffer.concat(chunks);
      const fn = behaviour.get(url.pathname);
      const answer = fn?.(req, body, url) ?? (req.method === "GET"
        ? { status: 200, body: url.searchParams.get("hub.challenge") ?? "" }
        : { status: 204, body: "" });
      log.push({ method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers, body, status: answer.status });
      res.writeHead(answer.status, { "content-type": "text/plain" });
      res.end(answer.body);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    log,
    on: (p, fn) => behaviour.set(p, fn),
    requests: (p, method) => log.filter((r) => r.path === p && (!method || r.method === method)),
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

/** Asks the hub: returns { status, body } (body parsed as JSON when it is). */
async function hub(fields, { type = "application/x-www-form-urlencoded" } = {}) {
  const r = await fetch(`${w.url}/websub`, {
    method: "POST",
    headers: { "content-type": type },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body, text };
}

async function subscribe(topicPath, cbPath, extra = {}) {
  const r = await hub({
    "hub.mode": "subscribe",
    "hub.topic": `${w.url}${topicPath}`,
    "hub.callback": `${sub.base}${cbPath}`,
    ...extra,
  });
  assert.equal(r.status, 202, r.text);
  return r;
}

/** The verification GET a callback path received (waits for it). */
function verification(cbPath, mode = "subscribe") {
  return until(
    () => sub.requests(cbPath, "GET").find((r) => r.query.get("hub.mode") === mode),
    { what: `a ${mode} verification at ${cbPath}` },
  );
}

/** Successful deliveries (2xx answered) at a callback path whose body holds `text`. */
const delivered = (cbPath, text) =>
  sub.requests(cbPath, "POST").filter((r) => r.status < 300 && r.body.toString().includes(text));

/**
 * Publishes entries on `feed` until `witness` receives one (a subscription verified a
 * moment ago starts at the newest entry once the hub has stored it: an entry published
 * in between is not owed to it). Returns the title that arrived.
 */
async function publishUntilDelivered(feed, witness) {
  for (let i = 0; i < 4; i++) {
    const title = await publish(feed);
    try {
      await until(() => delivered(witness, title).length > 0, { timeout: 8000, what: `${title} at ${witness}` });
      return title;
    } catch { /* published before the subscription was stored: publish another */ }
  }
  throw new Error(`nothing delivered to ${witness}`);
}

/** The meter lines the worker logged since `mark` (an offset into its log). */
const meter = (mark) => [...w.log().slice(mark).matchAll(/orrery-meter (\{.*\})/g)].map((m) => JSON.parse(m[1]));
const publisherCalls = (lines) => lines.filter((l) => l.k === "inv" && l.kind === "publisher");

const signature = (secret, body) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

before(async () => {
  [w, fs, sub] = await Promise.all([
    startWorker({ vars: { WEBSUB_RETRY_SECONDS: "1", METER: "1" } }),
    startFeedServer(),
    startSubscriber(),
  ]);
});
after(async () => { w?.stop(); await fs?.close(); await sub?.close(); });

test("while nobody is subscribed, a publish costs the Publisher nothing", async () => {
  // The Room's first broadcast asks the Publisher once and learns that nobody listens.
  const mark = w.log().length;
  const feed = await addFeed("quiet");
  await publish(feed);
  await until(() => publisherCalls(meter(mark)).some((l) => l.what === "alarm"), { what: "the Publisher's first run" });
  await sleep(500);
  const quiet = w.log().length;
  for (let i = 0; i < 3; i++) await publish(feed);
  await sleep(1000);
  assert.deepEqual(publisherCalls(meter(quiet)), [], "no Publisher request or alarm per publish");
});

test("the planet's Atom and RSS and each feed's Atom advertise the hub and themselves", async () => {
  const feed = await addFeed("adv");
  for (const [p, type] of [["/feed.atom", "application/atom+xml"], ["/feed.rss", "application/rss+xml"],
    [`/feeds/${feed.id}/feed.atom`, "application/atom+xml"]]) {
    const r = await fetch(`${w.url}${p}`);
    assert.equal(r.status, 200, p);
    assert.ok(r.headers.get("content-type").startsWith(type), p);
    assert.equal(r.headers.get("link"), `<${w.url}/websub>; rel="hub", <${w.url}${p}>; rel="self"`, p);
    const text = await r.text();
    assert.ok(text.includes(`rel="hub" href="${w.url}/websub"`), `${p} names the hub`);
    assert.ok(text.includes(`href="${w.url}${p}"`), `${p} names itself`);
  }
  const own = await (await fetch(`${w.url}/feeds/${feed.id}/feed.atom`)).text();
  assert.ok(own.includes(`<title>${feed.name}</title>`), "titled with the member");
  assert.ok(own.includes(`${feed.name} entry 1`));
  assert.equal((await fetch(`${w.url}/feeds/999999/feed.atom`)).status, 404);
});

test("a verified subscriber gets each new entry as a signed fat ping; one that does not echo gets nothing", async (t) => {
  const feed = await addFeed("push");
  const other = await addFeed("other");
  const secret = "a shared secret";
  const r = await subscribe("/feed.atom", "/s1/planet", { "hub.secret": secret, "hub.lease_seconds": "3600" });
  assert.deepEqual(r.body, { accepted: true, mode: "subscribe", topic: `${w.url}/feed.atom`, lease_seconds: 3600 });
  await subscribe(`/feeds/${feed.id}/feed.atom`, "/s1/feed", { "hub.secret": secret });
  sub.on("/s1/liar", () => ({ status: 200, body: "not the challenge" }));
  await subscribe("/feed.atom", "/s1/liar");

  const v = await verification("/s1/planet");
  assert.equal(v.query.get("hub.topic"), `${w.url}/feed.atom`);
  assert.equal(v.query.get("hub.lease_seconds"), "3600");
  assert.match(v.query.get("hub.challenge"), /^[0-9a-f]{32}$/);
  assert.equal((await verification("/s1/feed")).query.get("hub.topic"), `${w.url}/feeds/${feed.id}/feed.atom`);
  await verification("/s1/liar");

  const title = await publishUntilDelivered(feed, "/s1/planet");
  const ping = delivered("/s1/planet", title).at(-1);
  assert.equal(ping.headers["x-hub-signature"], signature(secret, ping.body), "signed with the secret");
  assert.ok(ping.headers["content-type"].startsWith("application/atom+xml"));
  assert.equal(ping.headers.link, `<${w.url}/websub>; rel="hub", <${w.url}/feed.atom>; rel="self"`);
  const text = ping.body.toString();
  assert.ok(text.includes(`<title>${title}</title>`));
  assert.ok(!text.includes(`${feed.name} entry 1<`), "only new entries, not the whole feed");

  // The feed's own topic gets it too, as that feed's Atom; another feed's entry does not go there.
  await until(() => delivered("/s1/feed", title).length > 0, { what: "the feed topic's ping" });
  const own = delivered("/s1/feed", title).at(-1);
  assert.equal(own.headers["x-hub-signature"], signature(secret, own.body));
  assert.ok(own.body.toString().includes(`<link rel="self" href="${w.url}/feeds/${feed.id}/feed.atom">`));
  const elsewhere = await publish(other);
  await until(() => delivered("/s1/planet", elsewhere).length > 0, { what: "the other feed's entry on the planet topic" });
  assert.equal(sub.requests("/s1/feed", "POST").filter((p) => p.body.toString().includes(elsewhere)).length, 0);

  // The subscriber that did not echo the challenge was sent nothing, though the others were.
  assert.equal(sub.requests("/s1/liar", "POST").length, 0);

  // What one publish costs with two subscriptions of its topics (reported, not asserted).
  await sleep(500);
  const mark = w.log().length;
  const last = await publish(feed);
  await until(() => delivered("/s1/feed", last).length > 0 && delivered("/s1/planet", last).length > 0, { what: "both pings" });
  await sleep(500);
  const lines = meter(mark);
  // The lines of the Publisher's own invocations: from its start line to the next one's.
  let who = null;
  const its = lines.filter((l) => { if (l.k === "inv") who = l.kind; return l.k !== "inv" && who === "publisher"; });
  t.diagnostic(`one publish, 2 subscribers: ${publisherCalls(lines).length} Publisher invocations ` +
    `(${publisherCalls(lines).map((l) => l.what).join(", ")}), ` +
    `${its.filter((l) => l.k === "sub").length} subrequests (${its.filter((l) => l.what === "websub.send").length} deliveries), ` +
    `${its.filter((l) => l.k === "d1").length} D1 reads (${its.filter((l) => l.k === "d1").reduce((n, l) => n + l.read, 0)} rows), ` +
    `${its.filter((l) => l.k === "sql").reduce((n, l) => n + l.written, 0)} storage rows written, ` +
    `${its.filter((l) => l.k === "sql").reduce((n, l) => n + l.read, 0)} read`);
});

test("bad requests get a 4xx JSON error saying why", async () => {
  const cb = `${sub.base}/s3/cb`;
  const topic = `${w.url}/feed.atom`;
  const cases = [
    [{ "hub.topic": topic, "hub.callback": cb }, 400, /hub.mode is missing/],
    [{ "hub.mode": "publish", "hub.topic": topic, "hub.callback": cb }, 400, /subscribe or unsubscribe/],
    [{ "hub.mode": "subscribe", "hub.topic": "https://elsewhere.example/feed", "hub.callback": cb }, 404, /not a topic of this hub/],
    [{ "hub.mode": "subscribe", "hub.topic": `${w.url}/feeds/987654/feed.atom`, "hub.callback": cb }, 404, /no feed 987654/],
    [{ "hub.mode": "subscribe", "hub.topic": topic }, 400, /hub.callback is missing/],
    [{ "hub.mode": "subscribe", "hub.topic": topic, "hub.callback": "ftp://x.example/cb" }, 400, /only http and https/],
    [{ "hub.mode": "subscribe", "hub.topic": topic, "hub.callback": "http://10.1.2.3/cb" }, 400, /private or internal/],
    [{ "hub.mode": "subscribe", "hub.topic": topic, "hub.callback": cb, "hub.secret": "x".repeat(200) }, 400, /shorter than 200 bytes/],
    [{ "hub.mode": "subscribe", "hub.topic": topic, "hub.callback": cb, "hub.lease_seconds": "forever" }, 400, /lease_seconds/],
  ];
  for (const [fields, status, message] of cases) {
    const r = await hub(fields);
    assert.equal(r.status, status, `${JSON.stringify(fields)}: ${r.text}`);
    assert.match(r.body.error.message, message);
    assert.ok(r.body.error.code);
  }
  const json = await hub({ "hub.mode": "subscribe" }, { type: "application/json" });
  assert.equal(json.status, 400);
  assert.match(json.body.error.message, /x-www-form-urlencoded/);
  assert.equal((await fetch(`${w.url}/websub`)).status, 405);
  // None of them reached the callback.
  assert.equal(sub.requests("/s3/cb").length, 0);
});

test("a callback answering 500 gets the entry again on retry", async () => {
  const feed = await addFeed("retry");
  let failures = 0;
  sub.on("/s4/flaky", (req) => {
    if (req.method === "POST" && failures < 1) { failures++; return { status: 500, body: "oops" }; }
    return undefined; // the default: echo, or 204
  });
  await subscribe(`/feeds/${feed.id}/feed.atom`, "/s4/flaky");
  await verification("/s4/flaky");
  const title = await publishUntilDelivered(feed, "/s4/flaky");
  const posts = sub.requests("/s4/flaky", "POST").filter((r) => r.body.toString().includes(title));
  assert.equal(posts[0].status, 500, "the first try failed");
  assert.ok(posts.length >= 2 && posts.at(-1).status === 204, "and a retry delivered the same entry");
});

test("unsubscribing is verified too, and then deliveries stop", async () => {
  const feed = await addFeed("unsub");
  const topic = `/feeds/${feed.id}/feed.atom`;
  await subscribe(topic, "/s5/leaving");
  await subscribe(topic, "/s5/staying");
  await verification("/s5/leaving");
  await verification("/s5/staying");
  await publishUntilDelivered(feed, "/s5/leaving");
  await until(() => sub.requests("/s5/staying", "POST").length > 0, { what: "the witness's first ping" });

  const r = await hub({ "hub.mode": "unsubscribe", "hub.topic": `${w.url}${topic}`, "hub.callback": `${sub.base}/s5/leaving` });
  assert.equal(r.status, 202, r.text);
  const v = await verification("/s5/leaving", "unsubscribe");
  assert.equal(v.query.get("hub.lease_seconds"), null);
  const before = sub.requests("/s5/leaving", "POST").length;
  const title = await publish(feed);
  await until(() => delivered("/s5/staying", title).length > 0, { what: "the witness's ping" });
  assert.equal(sub.requests("/s5/leaving", "POST").length, before, "nothing after unsubscribing");
});

test("WEBSUB_HUB: the feeds advertise that hub, our /websub sends subscribers there, and each publish pings it", async () => {
  const pings = [];
  const fake = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      pings.push({ type: req.headers["content-type"], form: new URLSearchParams(body) });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((r) => fake.listen(0, "127.0.0.1", r));
  const hubUrl = `http://127.0.0.1:${fake.address().port}/hub`;
  try {
    await w.restart({ vars: { WEBSUB_HUB: hubUrl } });
    const r = await fetch(`${w.url}/feed.atom`);
    assert.equal(r.headers.get("link"), `<${hubUrl}>; rel="hub", <${w.url}/feed.atom>; rel="self"`);
    assert.ok((await r.text()).includes(`<link rel="hub" href="${hubUrl}">`));
    const ours = await hub({ "hub.mode": "subscribe", "hub.topic": `${w.url}/feed.atom`, "hub.callback": `${sub.base}/s6/cb` });
    assert.equal(ours.status, 404);
    assert.ok(ours.body.error.message.includes(hubUrl), ours.text);

    const feed = await addFeed("external");
    const published = (topic) => pings.some((p) => p.form.get("hub.mode") === "publish" && p.form.get("hub.url") === topic);
    // Adding the feed published its first entry already; a new one pings all three topics.
    await publish(feed);
    for (const t of ["/feed.atom", "/feed.rss", `/feeds/${feed.id}/feed.atom`]) {
      await until(() => published(`${w.url}${t}`), { what: `a publish ping for ${t}` });
    }
    assert.ok(pings.every((p) => p.type === "application/x-www-form-urlencoded"));
  } finally {
    await new Promise((r) => { fake.closeAllConnections?.(); fake.close(r); });
  }
});

test("with ALLOW_PRIVATE_FEEDS=false a loopback callback is refused like a loopback feed", async () => {
  await w.restart({ vars: { WEBSUB_HUB: "", ALLOW_PRIVATE_FEEDS: "false" } });
  const r = await hub({ "hub.mode": "subscribe", "hub.topic": `${w.url}/feed.atom`, "hub.callback": `${sub.base}/s7/cb` });
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.error.message, /private or internal address/);
  assert.equal(sub.requests("/s7/cb").length, 0, "the callback was never asked");
});
