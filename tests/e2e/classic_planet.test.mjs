// The classic planet against the real runtime: the river by day with names and the
// sidebar, every classic output (RSS 1.0 and FOAF parsed back with a strict XML parser),
// /health (the old planet's contract) and /healthz, the old Planet Venus paths, ETag/304 through the edge cache, the favicon, and
// a planet's look from configuration (THEME, PLANET_LOGO, PLANET_ABOUT, PLANET_LINKS).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startWorker, startFeedServer, api, ROOT } from "../support/harness.mjs";
import { parseXml, all, child } from "../support/xml.mjs";

const RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const RSS1 = "http://purl.org/rss/1.0/";
const FOAF = "http://xmlns.com/foaf/0.1/";
const RDFS = "http://www.w3.org/2000/01/rdf-schema#";
const ATOM = "http://www.w3.org/2005/Atom";
const DC = "http://purl.org/dc/elements/1.1/";

let w, fs;
before(async () => {
  // The edge cache on, as in production: the ETag must survive it.
  [w, fs] = await Promise.all([startWorker({ vars: { PAGE_CACHE_SECONDS: "60" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

// Every read gets a URL of its own (cached pages are per URL), unless a test wants the cache.
let n = 0;
const fresh = (p) => `${p}${p.includes("?") ? "&" : "?"}t=${++n}`;
const get = async (p, headers = {}) => {
  const r = await fetch(w.url + p, { headers, redirect: "manual" });
  return { status: r.status, headers: r.headers, text: await r.text() };
};

/** Subscribes the beta fixture (two entries, "Beta Blog") on the test's own path, its posts'
 *  links under that path too (the same links in two feeds would be one article, shown once in
 *  the planet's river and feeds: docs/feeds.md). */
async function addBeta(f) {
  const xml = readFileSync(path.join(ROOT, "tests/fixtures/e2e/beta.atom"), "utf8");
  f.set("/beta.atom", { body: xml.replaceAll(/https:\/\/beta\.example\/(\d)/g, `https://beta.example${f.prefix}/$1`), type: "application/atom+xml" });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/beta.atom") } });
  assert.equal(r.status, 201, r.text);
  return r.body.feed;
}

test("the river is grouped by day, names each member, and has the sidebar", async () => {
  const feed = await addBeta(fs.scope());
  const r = await get(fresh("/"));
  assert.equal(r.status, 200);
  assert.equal((r.text.match(/<h1[ >]/g) || []).length, 1, "one h1");
  for (const landmark of ["<header", "<nav", "<main", "<aside", "<footer"]) assert.ok(r.text.includes(landmark), landmark);
  assert.match(r.text, /<section class="day" data-day="\d{4}-\d\d-\d\d"><h2 class="day-heading"><time class="day-date"/);
  // The member's name on each of its entries, with a face or its initial.
  const article = r.text.match(new RegExp(`<article class="entry"[^>]*data-feed="${feed.id}".*?</article>`, "s"))?.[0] ?? "";
  assert.match(article, /<a class="feed" href="\/feeds\/\d+">Beta Blog<\/a>/);
  assert.match(article, /class="face initial" aria-hidden="true">B</);
  // The sidebar: about, every member with its feed and health, the feeds out.
  const aside = r.text.match(/<aside class="sidebar".*?<\/aside>/s)?.[0] ?? "";
  assert.match(aside, new RegExp(`<li data-feed="${feed.id}">.*?Beta Blog</a>.*?class="feed-link" href="[^"]*/beta.atom".*?class="dot ok"`, "s"));
  assert.match(aside, /href="\/foafroll.xml"/);
  assert.doesNotMatch(r.text, /style=|<style/, "no inline styles");
  const titles = await get(fresh("/titles"));
  assert.match(titles.text, /<section class="day" data-day="[^"]+"><h2 class="day-heading">.*?<ol class="titles"><li data-id="\d+">/s);
  assert.match(titles.text, /<aside class="sidebar"/);
  const feeds = await get(fresh("/feeds"));
  assert.match(feeds.text, new RegExp(`<tr data-feed="${feed.id}"><td class="member" data-label="Member"><span class="face initial" aria-hidden="true">B</span><span class="who"><a class="name" href="/feeds/${feed.id}">Beta Blog</a>`));
});

test("RSS 1.0 is RDF a strict parser reads back, every item in the channel's sequence", async () => {
  await addBeta(fs.scope());
  const r = await get(fresh("/feed.rss10"));
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /application\/rdf\+xml/);
  const doc = parseXml(r.text);
  assert.equal(doc.uri, RDF);
  assert.equal(doc.local, "RDF");
  const channel = child(doc, RSS1, "channel");
  assert.equal(child(channel, RSS1, "title").text, "Test Planet");
  const seq = all(channel, RDF, "li").map((li) => li.attrs["rdf:resource"]);
  const items = all(doc, RSS1, "item");
  assert.ok(items.length >= 2);
  assert.deepEqual(seq, items.map((i) => i.attrs["rdf:about"]));
  const beta = items.find((i) => child(i, RSS1, "title").text === "Beta Blog: Beta one");
  assert.ok(beta, "titles are 'member: title'");
  assert.match(child(beta, DC, "date").text, /^\d{4}-\d\d-\d\dT/);
  assert.ok(child(beta, RSS1, "link").text.startsWith("http"));
});

test("the FOAF roll lists every member with name, blog and feed", async () => {
  const f = fs.scope();
  const feed = await addBeta(f);
  const r = await get(fresh("/foafroll.xml"));
  assert.equal(r.status, 200);
  const doc = parseXml(r.text);
  const group = child(doc, FOAF, "Group");
  assert.equal(child(group, FOAF, "name").text, "Test Planet");
  assert.equal(child(group, RDFS, "seeAlso").attrs["rdf:resource"], `${w.url}/foafroll.xml`);
  const agents = all(group, FOAF, "Agent");
  const mine = agents.find((a) => all(a, RSS1, "channel").some((c) => c.attrs["rdf:about"] === f.url("/beta.atom")));
  assert.ok(mine, `member ${feed.id} is in the roll`);
  assert.equal(child(mine, FOAF, "name").text, "Beta Blog");
  const doc1 = all(mine, FOAF, "Document")[0];
  assert.ok(doc1.attrs["rdf:about"].startsWith("http"), "the member's blog");
  assert.equal(child(doc1, DC, "title").text, "Beta Blog");
});

test("Atom out names the member in each entry's source", async () => {
  const f = fs.scope();
  await addBeta(f);
  const doc = parseXml((await get(fresh("/feed.atom"))).text);
  assert.equal(doc.uri, ATOM);
  const entry = all(doc, ATOM, "entry").find((e) => all(e, ATOM, "link").some((l) => l.attrs.rel === "self" && l.attrs.href === f.url("/beta.atom")));
  assert.ok(entry, "an entry of this test's feed, its source linking the feed");
  const source = child(entry, ATOM, "source");
  assert.equal(child(source, ATOM, "title").text, "Beta Blog");
  assert.equal(child(source, "http://planet.intertwingly.net/", "name").text, "Beta Blog");
  assert.ok(child(child(entry, ATOM, "author"), ATOM, "name").text);
});

test("/health speaks the old planet's contract, /healthz stays the probe; the old Venus paths move for good to ours", async () => {
  await addBeta(fs.scope());
  const health = await get("/health");
  assert.equal(health.status, 200);
  const body = JSON.parse(health.text);
  // Exactly the old planet's keys, in its order (health_and_knobs.test.mjs walks its states).
  assert.deepEqual(Object.keys(body), ["service", "status", "feeds"]);
  assert.deepEqual(Object.keys(body.feeds), ["total", "healthy", "warning", "failing", "inactive"]);
  assert.ok(["healthy", "degraded", "unhealthy"].includes(body.status), body.status);
  assert.ok(body.feeds.total >= 1 && body.feeds.healthy >= 1, health.text);
  const healthz = JSON.parse((await get("/healthz")).text);
  assert.equal(healthz.status, "ok");
  assert.ok("ok" in healthz && "latest" in healthz, "the probe keeps its own keys");
  for (const [old, ours] of [["/atom.xml", "/feed.atom"], ["/rss20.xml", "/feed.rss"], ["/rss10.xml", "/feed.rss10"],
    ["/opml.xml", "/feeds.opml"], ["/index.html", "/"]]) {
    const r = await get(old);
    assert.equal(r.status, 301, old);
    assert.equal(r.headers.get("location"), `${w.url}${ours}`, old);
    const kept = await get(`${old}?utm=x`);
    assert.equal(kept.headers.get("location"), `${w.url}${ours}?utm=x`, "the query string is kept");
  }
  assert.equal((await get("/atom.xml", {})).status, 301);
  const post = await fetch(`${w.url}/rss10.xml`, { method: "POST", redirect: "manual" });
  assert.equal(post.status, 405);
});

test("pages and feeds out carry an ETag and answer If-None-Match with 304, through the edge cache", async () => {
  await addBeta(fs.scope());
  for (const p of ["/", "/titles", "/feeds", "/feed.atom", "/feed.rss", "/feed.rss10", "/feeds.opml", "/foafroll.xml"]) {
    const url = fresh(p);
    const first = await get(url);
    assert.equal(first.status, 200, p);
    const tag = first.headers.get("etag");
    assert.match(tag ?? "", /^"[0-9a-f]{16}-[0-9a-f]+"$/, `${p} has an ETag`);
    assert.equal(first.headers.get("x-orrery-cache"), "miss");
    // The browser revalidates: the same tag (weakened or not) gets a 304 without a body.
    for (const sent of [tag, `W/${tag}`, `"nope", ${tag}`]) {
      const again = await get(url, { "if-none-match": sent });
      assert.equal(again.status, 304, `${p} with ${sent}`);
      assert.equal(again.text, "");
      assert.equal(again.headers.get("etag"), tag);
    }
    const other = await get(url, { "if-none-match": '"something-else"' });
    assert.equal(other.status, 200);
    assert.equal(other.headers.get("etag"), tag, "a cached copy keeps its tag");
  }
  // A page that changes gets a new tag.
  const a = (await get("/feeds?stable=1")).headers.get("etag");
  const f2 = fs.scope();
  f2.set("/other.atom", { file: "e2e/beta.atom", type: "application/atom+xml" });
  await api(w.url, "POST", "/api/feeds", { body: { url: f2.url("/other.atom") } });
  const b = (await get(fresh("/feeds"))).headers.get("etag");
  assert.notEqual(a, b);
  // Personal pages are not tagged.
  assert.equal((await get(fresh("/search?q=beta"))).headers.get("etag"), null);
});

test("the favicon is served at /favicon.ico", async () => {
  const r = await fetch(`${w.url}/favicon.ico`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /image\/(x-icon|vnd\.microsoft\.icon)/);
  const bytes = new Uint8Array(await r.arrayBuffer());
  assert.deepEqual([...bytes.slice(0, 4)], [0, 0, 1, 0], "an ICO file");
  const svg = await fetch(`${w.url}/favicon.svg`);
  assert.equal(svg.status, 200);
});

test("the look comes from configuration: theme, logo, about text and links", async () => {
  for (const theme of ["default", "classic"]) {
    const css = await fetch(`${w.url}/themes/${theme}/theme.css`);
    assert.equal(css.status, 200, theme);
    assert.match(css.headers.get("content-type"), /text\/css/);
  }
  assert.match((await get(fresh("/"))).text, /<link rel="stylesheet" href="\/themes\/default\/theme.css">/);
  await w.restart({
    vars: {
      THEME: "classic", PLANET_LOGO: "/themes/classic/logo.svg", PLANET_ABOUT: "Posts by the <people> of a project.",
      PLANET_LINKS: "Code of conduct|https://example.org/coc,Bad|javascript:alert(1)",
    },
  });
  const r = await get(fresh("/"));
  assert.match(r.text, /<link rel="stylesheet" href="\/themes\/classic\/theme.css">/);
  assert.match(r.text, /<img class="logo" src="\/themes\/classic\/logo.svg" alt="" height="32">/);
  assert.match(r.text, /<p>Posts by the &lt;people&gt; of a project.<\/p>/);
  assert.match(r.text, /<a href="https:\/\/example.org\/coc">Code of conduct<\/a>/);
  assert.doesNotMatch(r.text, /javascript:/);
  assert.equal((await fetch(`${w.url}/themes/classic/logo.svg`)).status, 200);
});
