// Quota abuse: with the page cache and rate limits as deployed (wrangler.jsonc) and METER=1,
// what one anonymous request may cost in D1 rows and Durable Object requests, over a planet
// of several hundred entries and a few hundred feeds. A cursor that names no entry reads a
// page's worth of rows at most; cache-busting variants of a page are one cache entry; HEAD is
// answered from the GET entry; every cache miss is counted by the limiter, costly routes by
// their weight; feed lists, health and search read a bounded number of rows; an IPv6 /48 is
// one client; a PUBLIC_LIMIT binding that does not resolve fails closed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import path from "node:path";
import { startWorker, startFeedServer, api, sleep, until, ROOT, configWithLimits, freshMinute } from "../support/harness.mjs";

// As deployed: the page cache, the page size and the public limit come from wrangler.jsonc.
const WRANGLER = readFileSync(path.join(ROOT, "wrangler.jsonc"), "utf8");
const deployed = (name) => WRANGLER.match(new RegExp(`"${name}":\\s*"([^"]*)"`))[1];
const PAGE_CACHE_SECONDS = deployed("PAGE_CACHE_SECONDS");
const PAGE = Number(deployed("PAGE_SIZE"));
const PUBLIC_LIMIT = Number(WRANGLER.match(/"PUBLIC_LIMIT"[^}]*"limit":\s*(\d+)/)[1]);
/** One page of a river: per entry its index entry, row and feed (a join), and a tie; one
 *  more entry than a page (is there an older one?); the cursor, the feed, the revision. */
const PAGE_ROWS = 4 * (PAGE + 1) + 3;
/** The front page under RIVER_PER_FEED_PER_DAY also walks the index and reads its "N more"
 *  links: at most 3 rows an entry more, and never more than 144 (core::river::fair_rows). */
const FAIR_PAGE_ROWS = PAGE_ROWS + Math.min(3 * (PAGE + 1), 144);
/** A unit of PUBLIC_LIMIT: 50 D1 rows read or one DO request (core::routes::ROWS_PER_UNIT). */
const ROWS_PER_UNIT = 50;
/** What a miss of each route may spend, in units: core::routes::Route::weight at PAGE_SIZE 30
 *  (tests/native/quota_rules.rs pins the same numbers). */
const WEIGHTS = {
  "/": 5, "/?before=": 5, "/titles": 11, "/feeds": 5, "/feeds/{id}": 3, "/entries/{id}": 1,
  "/feed.atom": 4, "/feed.rss": 4, "/feeds.opml": 1, "/foafroll.xml": 1, "/feeds/{id}/feed.atom": 5,
  "/search?q=": 14, "/healthz": 1, "/health": 1, "/api/feeds": 5, "/api/feeds/{id}": 1, "/api/entries": 8,
  "/auth/{provider}": 5, "/auth/{provider}/callback": 5,
};
/** At most this many feeds per page of `/feeds` and `/api/feeds`. */
const FEEDS_PAGE = 100;
const FEEDS = 3; // feeds with entries, ENTRIES_EACH each
const ENTRIES_EACH = 150;
const EMPTY_FEEDS = 250; // imported members with no entries: feed lists longer than a page

let w, fs;
const feedIds = [];
let entryIds = [];
let nextIp = 0;
/** A client address of its own (the limiter counts per address). */
const ip = () => { nextIp++; return `198.18.${nextIp >> 8}.${nextIp & 255}`; };
const measured = [];

/** The meter lines logged since `mark`. */
const meter = (mark) => [...w.log().slice(mark).matchAll(/orrery-meter (\{.*\})/g)].map((m) => JSON.parse(m[1]));

/** Waits until no meter line arrived for `ms` (what came before has been logged). */
async function quiet(ms = 300, timeout = 20000) {
  const end = Date.now() + timeout;
  let n = w.log().length;
  let since = Date.now();
  while (Date.now() - since < ms && Date.now() < end) {
    await sleep(50);
    const k = w.log().length;
    if (k !== n) { n = k; since = Date.now(); }
  }
}

/** One request from `ip`, and what it cost: D1 rows read and written, Durable Object requests
 *  (subrequests to objects and object invocations), from its own `inv` line on. */
async function cost(p, { method = "GET", from = ip(), headers = {} } = {}) {
  await quiet(150);
  const mark = w.log().length;
  const r = await fetch(w.url + p, { method, headers: { "CF-Connecting-IP": from, ...headers } });
  const body = await r.text();
  await quiet(250);
  const lines = meter(mark);
  const start = lines.findIndex((l) => l.k === "inv" && l.kind === "worker" && l.what.startsWith(`${method} `));
  const own = start < 0 ? [] : lines.slice(start);
  // A feed's own alarm that happens to run meanwhile is not this request's.
  const end = own.findIndex((l, i) => i > 0 && l.k === "inv" && l.kind === "feed" && l.what === "alarm");
  const mine = end < 0 ? own : own.slice(0, end);
  const sum = (k, f) => mine.filter((l) => l.k === k).reduce((n, l) => n + (l[f] ?? 0), 0);
  const out = {
    path: p, method, status: r.status, headers: r.headers, body,
    read: sum("d1", "read"), written: sum("d1", "written"),
    doRequests: mine.filter((l) => l.k === "sub" || (l.k === "inv" && l.kind !== "worker")).length,
    cache: r.headers.get("x-orrery-cache"),
    detail: mine.filter((l) => l.k === "d1").map((l) => `${l.what}:${l.read}`).join(" "),
    // The member list (sidebar, Atom sources, OPML, FOAF) is shared, kept per isolate and at the edge.
    memberRows: mine.filter((l) => l.k === "d1" && l.what === "feeds_all").reduce((n, l) => n + l.read, 0),
  };
  measured.push(out);
  return out;
}

/** RSS of `n` items, newest first, every one of them mentioning "orrery". */
function rss(name, n) {
  let items = "";
  for (let i = n; i >= 1; i--) {
    const date = new Date(Date.UTC(2026, 0, 1) + (i * 3600 + name.length * 60) * 1000).toUTCString();
    items += `<item><guid isPermaLink="false">urn:${name}:${i}</guid><title>${name} post ${i}</title>`
      + `<link>https://${name}.example/${i}</link><pubDate>${date}</pubDate>`
      + `<description>An orrery entry number ${i} of ${name}, word${name}${i}.</description></item>\n`;
  }
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${name}</title>`
    + `<link>https://${name}.example/</link><description>${name}</description>${items}</channel></rss>`;
}

// Every address's budget as deployed; the planet's (PLANET_LIMIT, every address together)
// raised, so the tests here do not share one minute: its own test starts the deployed config.
const PLANET_UNBOUND = configWithLimits({ PLANET_LIMIT: 1000000 }, "quota-planet");

before(async () => {
  [w, fs] = await Promise.all([
    startWorker({
      config: PLANET_UNBOUND,
      vars: {
        METER: "1", PAGE_CACHE_SECONDS, RATE_LIMITS: "on",
        // Several hundred entries: more than a feed keeps by default.
        RETENTION_MAX_ENTRIES: String(ENTRIES_EACH + 50),
      },
    }),
    startFeedServer(),
  ]);
  const f = fs.scope();
  for (let k = 0; k < FEEDS; k++) {
    const name = `planet${"abc"[k]}`;
    // A first fetch keeps the newest 50; the next refresh stores the rest.
    f.set(`/${name}.xml`, { body: rss(name, 50) });
    const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(`/${name}.xml`) } });
    assert.equal(r.status, 201, r.text);
    f.set(`/${name}.xml`, { body: rss(name, ENTRIES_EACH) });
    const more = await api(w.url, "POST", `/api/feeds/${r.body.feed.id}/refresh`);
    assert.equal(more.status, 200, more.text);
    assert.equal(r.body.refresh.new_entries + more.body.new_entries, ENTRIES_EACH, more.text);
    feedIds.push(r.body.feed.id);
  }
  // Members with no entries, imported at once (at most 200 per import).
  const empty = `<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title><link>https://quiet.example/</link><description>q</description></channel></rss>`;
  for (let i = 0; i < EMPTY_FEEDS; i++) f.set(`/quiet${i}.xml`, { body: empty });
  for (const [a, b] of [[0, 200], [200, EMPTY_FEEDS]]) {
    let outlines = "";
    for (let i = a; i < b; i++) outlines += `<outline type="rss" text="Quiet ${String(i).padStart(3, "0")}" xmlUrl="${f.url(`/quiet${i}.xml`)}"/>`;
    const r = await api(w.url, "POST", "/api/opml", { raw: `<opml version="2.0"><body>${outlines}</body></opml>` });
    assert.equal(r.status, 200, r.text);
  }
  // Every entry id, newest first (the API pages by id), a page per address (each weighs 8).
  let cursor = "";
  for (;;) {
    const r = await fetch(`${w.url}/api/entries?limit=200${cursor}`, { headers: { "CF-Connecting-IP": ip() } });
    assert.equal(r.status, 200);
    const page = await r.json();
    entryIds.push(...page.entries.map((e) => e.id));
    if (!page.next) break;
    cursor = `&before=${page.next}`;
  }
  assert.equal(entryIds.length, FEEDS * ENTRIES_EACH);
  await quiet(1500, 60000);
});

after(async () => {
  // What each measured request cost (rows read / written, DO requests), for the record.
  const seen = new Set();
  const rows = measured.filter((m) => {
    const key = `${m.method} ${m.path.replace(/\d{3,}/g, "N")} ${m.status} ${m.cache}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  console.log("quota_abuse: per request (D1 rows read / written, DO requests)");
  for (const m of rows) console.log(`  ${m.method} ${m.path} → ${m.status} ${m.cache ?? "-"}: ${m.read} / ${m.written}, ${m.doRequests} (${m.detail})`);
  w?.stop();
  await fs?.close();
  rmSync(PLANET_UNBOUND, { force: true });
});

test("a cursor that names no entry reads at most a page of rows and answers 404 with a link to the first page", async () => {
  await cost("/"); // the sidebar's member list is kept apart (member_cache): not this page's cost
  const home = await cost("/?before=987654321");
  assert.equal(home.status, 404, home.body.slice(0, 300));
  assert.match(home.body, /href="\/"/);
  assert.ok(home.read <= PAGE_ROWS, `an unknown cursor read ${home.read} rows (a page is ${PAGE_ROWS})`);
  const feed = feedIds[0];
  const river = await cost(`/feeds/${feed}?before=987654321`);
  assert.equal(river.status, 404);
  assert.match(river.body, new RegExp(`href="/feeds/${feed}"`));
  assert.ok(river.read <= PAGE_ROWS, `a feed's river with an unknown cursor read ${river.read} rows`);
  // A cursor that names an entry still pages back, within the same bound.
  const paged = await cost(`/?before=${entryIds[200]}`);
  assert.equal(paged.status, 200);
  // (Its first entry is the next the fair front page shows: RIVER_PER_FEED_PER_DAY leaves
  // out most of these members' 24 posts a day, so it is not always the next id.)
  assert.match(paged.body, /<article class="entry" id="entry-\d+"/);
  assert.ok(paged.read <= FAIR_PAGE_ROWS, `an older page read ${paged.read} rows`);
  const feedPaged = await cost(`/feeds/${feed}?before=${entryIds[0]}`);
  assert.equal(feedPaged.status, 200);
  assert.ok(feedPaged.read <= PAGE_ROWS, `an older page of a feed read ${feedPaged.read} rows`);
});

test("cache-busting variants of a page cost what one miss costs", async () => {
  const feed = feedIds[1];
  const first = await cost(`/feeds/${feed}?before=${entryIds[5]}`);
  assert.equal(first.status, 200);
  const variants = [];
  for (let v = 0; v < 20; v++) variants.push(await cost(`/feeds/${feed}?v=${v}&before=${entryIds[5]}&utm_source=x${v}`));
  variants.push(await cost(`/feeds/${feed}?before=0${entryIds[5]}`));
  const refused = variants.filter((r) => r.status === 429).length;
  const read = variants.reduce((n, r) => n + r.read, 0);
  assert.ok(refused > 0 || read === 0, `${variants.length} variants read ${read} rows (one miss read ${first.read}), none refused`);
  for (const r of variants.filter((r) => r.status === 200)) assert.equal(r.cache, "hit", r.path);
});

test("HEAD is answered from the GET entry, and a HEAD miss fills it", async () => {
  const get = await cost("/titles");
  assert.equal(get.status, 200);
  const head = await cost("/titles", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body, "");
  assert.equal(head.cache, "hit");
  assert.equal(head.read, 0, "no D1 read");
  assert.equal(head.headers.get("etag"), get.headers.get("etag"));
  const missHead = await cost(`/feeds/${feedIds[2]}`, { method: "HEAD" });
  assert.equal(missHead.status, 200);
  assert.equal(missHead.body, "");
  const thenGet = await cost(`/feeds/${feedIds[2]}`);
  assert.equal(thenGet.cache, "hit", "the HEAD's miss filled the GET entry");
  assert.equal(thenGet.read, 0);
});

test("every cache miss is counted by the limiter: one address cannot walk every cursor", async () => {
  const from = ip();
  let served = 0;
  let refused = null;
  for (const id of entryIds.slice(0, 160)) {
    const r = await fetch(`${w.url}/?before=${id}`, { headers: { "CF-Connecting-IP": from } });
    await r.arrayBuffer();
    if (r.status === 429) { refused = r; break; }
    assert.equal(r.status, 200);
    served++;
  }
  assert.ok(refused, `${served} distinct pages (each a miss) from one address, none refused`);
  assert.ok(served < PUBLIC_LIMIT, `${served} misses served before the first 429`);
  assert.equal(refused.headers.get("retry-after"), "60");
  const other = await fetch(`${w.url}/?before=${entryIds[300]}`, { headers: { "CF-Connecting-IP": ip() } });
  assert.equal(other.status, 200, "another address is served");
  const cached = await fetch(`${w.url}/?before=${entryIds[0]}`, { headers: { "CF-Connecting-IP": from } });
  assert.equal(cached.status, 200, "a cached page is served even past the limit");
});

test("feed lists, health and search read a bounded number of rows per request", async () => {
  const health = await cost("/healthz");
  assert.equal(health.status, 200);
  const counts = JSON.parse(health.body);
  assert.equal(counts.feeds, FEEDS + EMPTY_FEEDS);
  assert.equal(counts.entries, FEEDS * ENTRIES_EACH);
  assert.ok(health.read <= 20, `/healthz read ${health.read} rows for ${counts.feeds} feeds`);
  const again = await cost("/healthz");
  assert.ok(again.read <= 20, `/healthz again read ${again.read} rows`);

  const list = await cost("/api/feeds");
  assert.equal(list.status, 200);
  const body = JSON.parse(list.body);
  assert.ok(body.feeds.length <= FEEDS_PAGE && body.next, "a page of feeds and the cursor of the next");
  assert.ok(list.read <= 2 * FEEDS_PAGE + 20, `/api/feeds read ${list.read} rows`);
  const rest = await cost(`/api/feeds?after=${body.next}`);
  assert.equal(rest.status, 200);
  const names = [...body.feeds, ...JSON.parse(rest.body).feeds].map((f) => (f.display_name ?? f.title).toLowerCase());
  assert.deepEqual(names, [...names].sort(), "still by name");
  assert.ok(rest.read <= 2 * FEEDS_PAGE + 20, `/api/feeds?after= read ${rest.read} rows`);

  const page = await cost("/feeds");
  assert.equal(page.status, 200);
  assert.match(page.body, new RegExp(`${FEEDS + EMPTY_FEEDS} feeds`));
  assert.match(page.body, /href="\/feeds\?after=\d+"/, "a link to the next page of feeds");
  assert.ok(page.read <= 2 * FEEDS_PAGE + 20, `/feeds read ${page.read} rows`);

  const search = await cost("/search?q=orrery");
  assert.equal(search.status, 200);
  assert.match(search.body, /orrery/i);
  assert.ok(search.read <= 3 * 200 + 100, `/search read ${search.read} rows`);
  for (const m of [health, again, list, rest, page, search]) assert.equal(m.doRequests, 0, `${m.path}: no DO request`);
});

/** Requests from `from` (a fixed address, or one per request) until the first 429. */
async function untilRefused(paths, from) {
  await freshMinute();
  let served = 0;
  for (const p of paths) {
    const r = await fetch(w.url + p, { headers: { "CF-Connecting-IP": typeof from === "function" ? from(served) : from } });
    await r.arrayBuffer();
    if (r.status === 429) return { served, refused: true };
    assert.ok([200, 404].includes(r.status), `${p}: ${r.status}`);
    served++;
  }
  return { served, refused: false };
}

test("costly routes spend the limiter by their weight", async () => {
  const searches = Array.from({ length: 130 }, (_, i) => `/search?q=orrery+word${i}`);
  const s = await untilRefused(searches, ip());
  assert.ok(s.refused && s.served < 100, `searches served before a 429: ${s.served} (limit ${PUBLIC_LIMIT})`);
  const lists = Array.from({ length: 130 }, (_, i) => `/api/feeds?limit=${(i % 100) + 1}&after=${feedIds[i % FEEDS]}`);
  const l = await untilRefused(lists, ip());
  assert.ok(l.refused && l.served < 100, `feed lists served before a 429: ${l.served}`);
});

test("an IPv6 /48 is one client: its /64s share a budget", async () => {
  const searches = Array.from({ length: 130 }, (_, i) => `/search?q=v6+word${i}`);
  const r = await untilRefused(searches, (i) => `2001:db8:77:${i.toString(16)}::1`);
  assert.ok(r.refused && r.served < 100, `searches from ${r.served} different /64s of one /48 before a 429`);
});

test("a PUBLIC_LIMIT binding that does not resolve fails closed on uncached routes and shows on /healthz", async (t) => {
  // The deployed config without the PUBLIC_LIMIT line (next to it: its paths are relative).
  const config = path.join(ROOT, `.quota-nolimit-${process.pid}.wrangler.jsonc`);
  const lines = WRANGLER.split("\n");
  const without = lines.filter((l) => !/"name":\s*"PUBLIC_LIMIT"/.test(l));
  assert.equal(without.length, lines.length - 1);
  writeFileSync(config, without.join("\n"));
  t.after(() => rmSync(config, { force: true }));
  const nw = await startWorker({
    config,
    vars: { PAGE_CACHE_SECONDS, RATE_LIMITS: "on" },
    ready: (r) => r.status === 200 || r.status === 503,
  });
  t.after(() => nw.stop());
  const get = (p) => fetch(nw.url + p, { headers: { "CF-Connecting-IP": "203.0.113.50" } });
  // /healthz still answers, naming the binding: 200 "degraded", never a silent fail-open.
  const health = await get("/healthz");
  assert.equal(health.status, 200);
  const h = await health.json();
  assert.equal(h.status, "degraded");
  assert.equal(h.bindings.PUBLIC_LIMIT, "missing");
  assert.equal(h.bindings.PLANET_LIMIT, "ok");
  assert.ok(h.problems.some((p) => p.startsWith("PUBLIC_LIMIT: not bound")), JSON.stringify(h.problems));
  const feeds = await get("/api/feeds");
  assert.equal(feeds.status, 503);
  assert.match(feeds.headers.get("content-type"), /json/);
  const search = await get("/search?q=x");
  assert.equal(search.status, 503);
  assert.match(await search.text(), /<html/i);
  const home = await get("/");
  assert.equal(home.status, 503, "a cache miss of a shared page is not served unlimited either");
  assert.match(nw.log(), /PUBLIC_LIMIT/);
});

test("every address together spends at most the planet's budget; cached pages are still served", async (t) => {
  // The deployed config: PLANET_LIMIT counts every anonymous address under one key.
  const PLANET_LIMIT = Number(WRANGLER.match(/"PLANET_LIMIT"[^}]*"limit":\s*(\d+)/)[1]);
  const pw = await startWorker({ vars: { PAGE_CACHE_SECONDS: "60", RATE_LIMITS: "on" } });
  t.after(() => pw.stop());
  const get = (p, from) => fetch(pw.url + p, { headers: { "CF-Connecting-IP": from } });
  await freshMinute(20);
  const home = await get("/", "203.0.113.1");
  assert.equal(home.status, 200);
  await home.text();
  // Searches (14 units each) from addresses of their own, none near its own budget.
  let spent = WEIGHTS["/"];
  let k = 2;
  for (; spent + WEIGHTS["/search?q="] <= PLANET_LIMIT; k++) {
    const r = await get(`/search?q=planet+word${k}`, `203.0.113.${k}`);
    assert.equal(r.status, 200, `search ${k} within the planet's budget`);
    await r.text();
    spent += WEIGHTS["/search?q="];
  }
  const over = await get(`/search?q=planet+word${k}`, `203.0.113.${k}`);
  assert.equal(over.status, 503, `the search past ${PLANET_LIMIT} units a minute, from a fresh address`);
  assert.match(await over.text(), /planet is busy/);
  assert.equal(over.headers.get("retry-after"), "60");
  // The cached front page is still served to everyone, spending nothing.
  const cached = await get("/", "203.0.113.200");
  assert.equal(cached.status, 200, "a cached page is served while the planet's budget is spent");
});

test("the sign-in routes cost at most their weight and anonymous input writes nothing", async () => {
  // Neither provider is set up here: the start and a made-up callback are clear pages.
  for (const [p, status] of [["/auth/github", 404], ["/auth/oidc", 404],
    ["/auth/oidc/callback?code=made-up&state=made-up", 400], ["/auth/github/callback?error=access_denied", 403]]) {
    const r = await cost(p);
    assert.equal(r.status, status, `${p}: ${r.body.slice(0, 200)}`);
    assert.ok(r.read <= 5 * ROWS_PER_UNIT, `${p} read ${r.read} rows`);
    assert.equal(r.written, 0, `${p} wrote ${r.written} rows`);
    assert.equal(r.doRequests, 0, p);
  }
  // Each start is counted by the limiter, by its weight (5 units of the address's minute).
  await freshMinute();
  const from = ip();
  let served = 0;
  for (; served < PUBLIC_LIMIT + 1; served++) {
    const r = await fetch(`${w.url}/auth/oidc`, { headers: { "CF-Connecting-IP": from } });
    await r.arrayBuffer();
    if (r.status === 429) break;
  }
  assert.ok(served <= Math.ceil(PUBLIC_LIMIT / 5), `sign-in starts served before a 429: ${served}`);
});

test("each public route's miss costs no more than its weight", async () => {
  // Each a miss: past the isolate copies' lifetime, and a write (an empty patch) makes this
  // location forget the pages it may change; printed by `after` for the record.
  await sleep((Number(PAGE_CACHE_SECONDS) + 1) * 1000);
  assert.equal((await api(w.url, "PATCH", `/api/feeds/${feedIds[0]}`, { body: {} })).status, 200);
  const [feed, entry] = [feedIds[0], entryIds[0]];
  const routes = [["/", "/"], [`/?before=${entryIds[100]}`, "/?before="], ["/titles", "/titles"],
    ["/feeds", "/feeds"], [`/feeds/${feed}`, "/feeds/{id}"], [`/entries/${entry}`, "/entries/{id}"],
    ["/feed.atom", "/feed.atom"], ["/feed.rss", "/feed.rss"], ["/feeds.opml", "/feeds.opml"],
    ["/foafroll.xml", "/foafroll.xml"], [`/feeds/${feed}/feed.atom`, "/feeds/{id}/feed.atom"],
    ["/search?q=orrery", "/search?q="], ["/healthz", "/healthz"], ["/health", "/health"], ["/api/feeds", "/api/feeds"],
    [`/api/feeds/${feed}`, "/api/feeds/{id}"], ["/api/entries", "/api/entries"],
    ["/api/entries?limit=200", "/api/entries"]];
  let memberReads = 0;
  for (const [p, name] of routes) {
    const r = await cost(p);
    assert.equal(r.status, 200, p);
    assert.equal(r.cache === "hit", false, `${p} is a miss`);
    const units = WEIGHTS[name];
    const own = r.read - r.memberRows;
    assert.ok(own <= units * ROWS_PER_UNIT, `${p} read ${own} rows, weighs ${units} units`);
    assert.ok(r.doRequests <= units, `${p}: ${r.doRequests} DO requests`);
    if (r.memberRows > 0) memberReads++;
  }
  assert.ok(memberReads <= 1, `the member list was read ${memberReads} times: once, then kept`);
});
