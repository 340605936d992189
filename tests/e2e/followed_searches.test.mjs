// Saved searches over the socket (issue 12): `{"type":"subscribe","q":…}` delivers only the
// entries that match, decided in the Room as each entry is published. The differential test
// publishes one set of entries with chosen words (prefixes, phrases, diacritics, several
// terms, author and body columns, markup, a word deep in a long post) to sockets following
// many queries, and compares what each socket received, live and by `resume`, with what
// `/search?q=` (FTS5) finds among the same entries.
// One wrangler dev for the file; each test serves its own feeds (fs.scope()).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, openSocket, until } from "../support/harness.mjs";

let w, fs, wsBase;
before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
  wsBase = w.url.replace("http", "ws");
});
after(async () => { w?.stop(); await fs?.close(); });

const xml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
/** An RSS document; items: { guid, title, author, body (HTML) }, newest last. */
function rss(items) {
  const it = items.map((i, n) => `<item><guid>${i.guid}</guid><title>${xml(i.title)}</title>
    ${i.author ? `<author>${xml(i.author)}</author>` : ""}
    <link>https://example.com/${i.guid}</link><pubDate>${new Date(Date.UTC(2026, 0, 1, 0, n)).toUTCString()}</pubDate>
    <description><![CDATA[${i.body}]]></description></item>`).join("\n");
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Live search fixture</title>
    <link>https://example.com/</link>${it}</channel></rss>`;
}
const filler = (kib) => Array.from({ length: Math.ceil((kib * 1024) / 120) }, (_, i) =>
  `<p>Paragraph ${i} of ordinary <a href="https://filler.example/${i}">words</a> about the weather, long enough.</p>`).join("\n");

/** The entries the differential test publishes: chosen so the queries below hit and miss. */
const ENTRIES = [
  { guid: "rw", title: "Rust and WebAssembly", author: "ann@example.com (Ann Smith)", body: "<p>Notes on <code>wasm-bindgen</code> and wasm-pack.</p>" },
  { guid: "cafe1", title: "Café culture", body: "<p>An école in the city; the CAFÉ is open.</p>" },
  { guid: "cafe2", title: "Cafe without accents", body: "<p>a plain ecole</p>" },
  { guid: "rusty", title: "Rusty nails", body: "<p>rustic and rusted</p>" },
  { guid: "link", title: "Web assembly", body: `<p>rust <a href="https://zanzibar.example/">a link</a> webassembly</p>` },
  { guid: "deep", title: "A long post", body: `${filler(40)}<p>At last the <b>zeppelin</b> lands.</p>` },
  { guid: "rev", title: "Order matters", body: "<p>bindgen wasm, reversed</p>" },
  { guid: "dia", title: "Naïve Straße", author: "j@example.com (Jürgen)", body: "<p>İstanbul, e&#x301;cole, résumé</p>" },
  { guid: "none", title: "Unrelated", body: "<p>nothing to see here</p>" },
  { guid: "cols", title: "Mixed columns", author: "r@example.com (Rust Author)", body: "<p>talks about wasm</p>" },
  { guid: "split", title: "don't stop", body: "<p>x_y and 3.14 and pi</p>" },
  { guid: "brief", title: "Summary only", body: "" },
];

/** Queries with what they exercise; the expected answer is always `/search`'s. */
const QUERIES = [
  "rust", // the last word is a prefix: rusty, rustic, rusted
  "rust wasm", // two terms, in any column
  "wasm-bindgen", // a phrase
  "wasm-bind", // a phrase ending in a prefix
  "bindgen wasm", // two terms in either order
  "bindgen-wasm", // a phrase in that order only
  "café", "cafe", "ECOLE", "école", "resume", "istanbul", "straße", "naive", // folding
  "jurgen", "smith", // the author column
  "zeppelin", // deep in a long post
  "zanzibar", "filler", // inside markup: never indexed
  "web assembly", "webassem", "rust author",
  "don't", "3.14", "x_y",
  "wasm-bindgen rust", "nothing to see",
  "a OR b", "NEAR(rust)", "\"rust\"", // FTS5 syntax is plain words
];

const get = async (p) => (await fetch(w.url + p)).text();
/** Every id `/search` finds for `q` (all pages). */
async function searchIds(q) {
  const ids = [];
  for (let page = 1; page <= 5; page++) {
    const html = await get(`/search?q=${encodeURIComponent(q)}&page=${page}`);
    const found = [...html.matchAll(/<li data-id="(\d+)">/g)].map((m) => Number(m[1]));
    ids.push(...found);
    if (!/rel="next"/.test(html)) break;
  }
  return ids;
}
const sorted = (ids) => [...new Set(ids)].sort((a, b) => a - b);
/** Ids of the entries a socket received (entry or update frames), among `ours`. */
const received = (c, ours) => sorted(c.messages.filter((m) => (m.type === "entry" || m.type === "update") && ours.has(m.entry.id)).map((m) => m.entry.id));

async function addFeed(f, path, items) {
  f.set(path, () => ({ body: rss(items()), type: "application/rss+xml" }));
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(path) } });
  assert.equal(r.status, 201, r.text);
  return r.body.feed.id;
}

/** A socket that follows `q` (and maybe feeds), once the server said so. */
async function follow(path, sub) {
  const c = await openSocket(`${wsBase}${path}`);
  await c.next((m) => m.type === "hello");
  c.send({ type: "subscribe", ...sub });
  const ack = await c.next((m) => m.type === "subscribed" || m.type === "error");
  assert.equal(ack.type, "subscribed", JSON.stringify(ack));
  return c;
}

test("followed searches receive exactly what /search finds, live and on resume", async (t) => {
  const f = fs.scope();
  let items = [{ guid: "seed", title: "Seed", body: "<p>start</p>" }];
  const feed = await addFeed(f, "/live.xml", () => items);
  const other = await addFeed(f, "/other.xml", () => [{ guid: "o1", title: "Other", body: "<p>other</p>" }]);
  const seed = (await api(w.url, "GET", `/api/entries?feed=${feed}&limit=10`, { token: null })).body.entries[0].id;

  const everything = await follow("/ws", {});
  const sockets = [];
  for (const q of QUERIES) sockets.push({ q, c: await follow("/ws", { q }) });
  const withFeed = await follow("/ws", { feeds: [feed], q: "rust" });
  const otherFeed = await follow("/ws", { feeds: [other], q: "rust" });
  const feedSocket = await follow(`/feeds/${feed}/ws`, { q: "cafe" });

  items = [...items, ...ENTRIES];
  const r = await api(w.url, "POST", `/api/feeds/${feed}/refresh`);
  assert.equal(r.body.new_entries, ENTRIES.length, r.text);
  // Every entry stored whole (a long one may first go out as its summary, then as an update).
  const ours = await until(async () => {
    const list = (await api(w.url, "GET", `/api/entries?feed=${feed}&limit=50`, { token: null })).body.entries;
    return list.length === ENTRIES.length + 1 && list.every((e) => e.whole) && new Set(list.filter((e) => e.id !== seed).map((e) => e.id));
  }, { what: "every entry stored whole" });
  await until(() => received(everything, ours).length === ENTRIES.length, { what: "the unfiltered socket to get every entry" });

  let matchedSome = 0;
  const counts = [];
  for (const { q, c } of sockets) {
    const expected = sorted((await searchIds(q)).filter((id) => ours.has(id)));
    matchedSome += expected.length > 0;
    counts.push(`${JSON.stringify(q)}: ${expected.length}`);
    // Frames may still be on their way (an update after a summary): wait until they agree, then compare.
    await until(() => JSON.stringify(received(c, ours)) === JSON.stringify(expected), { timeout: 5000, what: `live ${q}` }).catch(() => {});
    assert.deepEqual(received(c, ours), expected, `live matches of ${JSON.stringify(q)}`);

    // Resume from before the entries: the same matches, read back from D1 and filtered.
    const back = await follow("/ws", { q });
    back.send({ type: "resume", since: seed });
    await back.next((m) => m.type === "synced");
    assert.deepEqual(received(back, ours), expected, `resumed matches of ${JSON.stringify(q)}`);
    back.close();
  }
  t.diagnostic(`matches per query: ${counts.join(", ")}`);
  assert.ok(matchedSome >= QUERIES.length - 6, `most queries match something (${matchedSome})`);
  // Spot checks that the fixture means what it says (if FTS5 changed, both sides would agree on nonsense).
  assert.equal((await searchIds("zanzibar")).filter((id) => ours.has(id)).length, 0, "markup is not indexed");
  assert.equal((await searchIds("zeppelin")).filter((id) => ours.has(id)).length, 1, "deep words are");
  assert.ok((await searchIds("rust")).filter((id) => ours.has(id)).length >= 4, "rust is a prefix");

  // feeds + q: both must hold; a feed's own socket follows a search too.
  assert.deepEqual(received(withFeed, ours), sorted((await searchIds("rust")).filter((id) => ours.has(id))));
  assert.deepEqual(received(otherFeed, ours), [], "another feed's rust is not this one's");
  await until(() => received(feedSocket, ours).length > 0, { timeout: 5000, what: "the feed socket" }).catch(() => {});
  assert.deepEqual(received(feedSocket, ours), sorted((await searchIds("cafe")).filter((id) => ours.has(id))));
  for (const s of [everything, withFeed, otherFeed, feedSocket, ...sockets.map((s) => s.c)]) s.close();
});

test("a query that cannot be followed gets a clear error frame and changes nothing", async () => {
  const c = await openSocket(`${wsBase}/ws`);
  await c.next((m) => m.type === "hello");
  c.send({ type: "subscribe", q: "rust" });
  const ok = await c.next((m) => m.type === "subscribed");
  assert.deepEqual(ok, { type: "subscribed", feeds: null, q: "rust" });
  for (const [q, why] of [["- ... !!", /no word/], ["x".repeat(201), /longer than 200/], ["", /no word/]]) {
    c.send({ type: "subscribe", q });
    const err = await c.next((m) => m.type === "error");
    assert.equal(err.code, "bad_query", JSON.stringify(err));
    assert.match(err.message, why);
  }
  c.send({ type: "subscribe", q: 42 });
  assert.equal((await c.next((m) => m.type === "error")).code, "bad_frame");
  // The socket still follows "rust", and answers.
  c.send({ type: "subscribe", feeds: [1], q: "Wasm-Bindgen  Café" });
  assert.deepEqual(await c.next((m) => m.type === "subscribed"), { type: "subscribed", feeds: [1], q: "wasm-bindgen cafe" });
  // A feed's socket cannot choose other feeds.
  const f = fs.scope();
  f.set("/one.xml", { body: rss([{ guid: "a", title: "A", body: "<p>a</p>" }]), type: "application/rss+xml" });
  const id = (await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/one.xml") } })).body.feed.id;
  const fc = await openSocket(`${wsBase}/feeds/${id}/ws`);
  await fc.next((m) => m.type === "hello");
  fc.send({ type: "subscribe", feeds: [id + 1], q: "a" });
  assert.equal((await fc.next((m) => m.type === "error")).code, "bad_frame");
  c.close();
  fc.close();
});
