// Pages and syndication against the real runtime: titles, search (FTS5), Atom/RSS/OPML out, OPML in.
// One wrangler dev per file; every test subscribes its own feeds on its own fixture paths
// (fs.scope()) and checks the pages for its own entries, so each test runs alone and in any order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startWorker, startFeedServer, api, until, ROOT } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const get = async (p) => {
  const r = await fetch(w.url + p);
  return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
};

/** Subscribes the alpha fixture on the test's own path, its posts' links under that path too
 *  (the same links in two feeds would be one article, shown once: docs/feeds.md); returns its
 *  id and its entries by title. */
async function addAlpha(f) {
  const xml = readFileSync(path.join(ROOT, "tests/fixtures/e2e/alpha.xml"), "utf8");
  f.set("/alpha.xml", { body: xml.replaceAll("https://alpha.example/posts/", `https://alpha.example${f.prefix}/posts/`) });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/alpha.xml") } });
  assert.equal(r.status, 201, r.text);
  const list = (await api(w.url, "GET", `/api/entries?feed=${r.body.feed.id}`, { token: null })).body.entries;
  return { id: r.body.feed.id, byTitle: new Map(list.map((e) => [e.title, e])) };
}

/** The titles-list item of entry `id` (titles and search pages), or "" if it is not listed. */
const listItem = (html, id) => html.match(new RegExp(`<li data-id="${id}">.*?</li>`, "s"))?.[0] ?? "";

test("titles lists the newest entries", async () => {
  const alpha = await addAlpha(fs.scope());
  const r = await get("/titles");
  assert.equal(r.status, 200);
  assert.match(listItem(r.text, alpha.byTitle.get("Third post").id), /Third post/);
  assert.match(listItem(r.text, alpha.byTitle.get("Second post").id), /Second post/);
});

test("search finds entries by words, and survives FTS syntax in the query", async () => {
  const alpha = await addAlpha(fs.scope());
  const r = await get("/search?q=second");
  assert.equal(r.status, 200);
  assert.match(listItem(r.text, alpha.byTitle.get("Second post").id), /<mark>Second<\/mark> post/);
  assert.doesNotMatch(r.text, /Third post/);
  const odd = await get(`/search?q=${encodeURIComponent('" OR ( NEAR <script>alert(1)</script>')}`);
  assert.equal(odd.status, 200);
  assert.doesNotMatch(odd.text, /<script>alert/);
  const none = await get("/search?q=zzzzzz");
  assert.match(none.text, /Nothing matches/);
});

test("the planet is served as Atom and RSS, escaped and well-formed", async () => {
  const f = fs.scope();
  const alpha = await addAlpha(f);
  const atom = await get("/feed.atom");
  assert.equal(atom.status, 200);
  assert.match(atom.type, /application\/atom\+xml/);
  assert.match(atom.text, /^<\?xml/);
  assert.match(atom.text, /<title>Third post<\/title>/);
  assert.ok(atom.text.includes(`/entries/${alpha.byTitle.get("Third post").id}</id>`), "this test's entry is in the planet feed");
  assert.doesNotMatch(atom.text, /<script/);
  const rss = await get("/feed.rss");
  assert.match(rss.type, /application\/rss\+xml/);
  assert.match(rss.text, /<rss version="2.0">/);
  // Another Orrery can read this one's output: the planet's Atom as another planet would
  // serve it (its links under that planet, served from the fixture server) is a feed whose
  // every entry is new.
  const served = atom.text.match(/<entry>/g).length;
  assert.ok(served >= 3);
  f.set("/other.atom", { body: atom.text.replaceAll(`${w.url}/entries/`, "http://planet.example/entries/"), type: "application/atom+xml" });
  const other = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/other.atom") } });
  assert.equal(other.status, 201, other.text);
  assert.equal(other.body.refresh.new_entries, served);
  await api(w.url, "DELETE", `/api/feeds/${other.body.feed.id}`);
  // Its own entries handed back to it under another address are never stored again: that
  // would be a loop through the planet.
  f.set("/mirror.atom", { body: atom.text, type: "application/atom+xml" });
  const mirror = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/mirror.atom") } });
  assert.equal(mirror.status, 201, mirror.text);
  assert.equal(mirror.body.refresh.new_entries, 0);
  await api(w.url, "DELETE", `/api/feeds/${mirror.body.feed.id}`);
  // But a planet never subscribes to itself: it would republish its entries forever.
  const self = await api(w.url, "POST", "/api/feeds", { body: { url: `${w.url}/feed.atom?from=${f.prefix.slice(1)}` } });
  assert.equal(self.status, 422, self.text);
  assert.match(self.body.error.message, /this planet's own output/);
});

test("OPML out lists subscriptions; OPML in adds new ones and skips known ones", async () => {
  const f = fs.scope();
  await addAlpha(f);
  f.set("/beta.atom", { file: "e2e/beta.atom" });
  const out = await get("/feeds.opml");
  assert.equal(out.status, 200);
  assert.ok(out.text.includes(`xmlUrl="${f.url("/alpha.xml")}"`));
  const opml = `<?xml version="1.0"?><opml version="2.0"><body>
    <outline text="Alpha" xmlUrl="${f.url("/alpha.xml")}"/>
    <outline text="Beta" xmlUrl="${f.url("/beta.atom")}"/>
    <outline text="Bad" xmlUrl="gopher://old.example/"/></body></opml>`;
  const noauth = await api(w.url, "POST", "/api/opml", { raw: opml, token: null });
  assert.equal(noauth.status, 401);
  const r = await api(w.url, "POST", "/api/opml", { raw: opml });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added.length, 1);
  assert.equal(r.body.skipped.length, 2);
  const betaId = r.body.added[0].id;
  // The imported feed fetches on its own alarm.
  await until(async () => {
    const e = await api(w.url, "GET", `/api/entries?feed=${betaId}`, { token: null });
    return e.body.entries.length === 2;
  }, { what: "the imported feed's entries" });
  const broken = await api(w.url, "POST", "/api/opml", { raw: "<opml><body><outline" });
  assert.equal(broken.status, 422);
  assert.match(broken.body.error.message, /OPML/);
});

test("an entry's planet link (the Atom/RSS id) is the entry's own page, whole, with its source", async () => {
  const alpha = await addAlpha(fs.scope());
  const second = alpha.byTitle.get("Second post");
  const r = await fetch(`${w.url}/entries/${second.id}`, { redirect: "manual" });
  assert.equal(r.status, 200);
  const page = await r.text();
  assert.match(page, new RegExp(`id="entry-${second.id}"`));
  assert.match(page, /href="https:\/\/alpha.example\/t\d+\/posts\/2"[^>]*>Read it at the source/);
  const atom = await get("/feed.atom");
  assert.ok(atom.text.includes(`/entries/${second.id}</id>`));
  assert.equal((await fetch(`${w.url}/entries/999999`)).status, 404);
});
