// Search every word (issue 9): the index holds the plain text of the whole post, results are
// ranked (title above body), snippets are highlighted and escaped, and results page.
// One wrangler dev for the file; each test serves its own feeds (fs.scope()) and searches for
// words only its own entries carry, so tests run alone and in any order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: { METER: "1" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const get = async (p) => {
  const r = await fetch(w.url + p);
  return { status: r.status, text: await r.text() };
};
const search = (q, page) => get(`/search?q=${encodeURIComponent(q)}${page ? `&page=${page}` : ""}`);

const xml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
/** An RSS document; items: { guid, title, body (HTML), date }. */
function rss(items) {
  const it = items.map((i, n) => `<item><guid>${i.guid}</guid><title>${xml(i.title)}</title>
    <link>https://example.com/${i.guid}</link><pubDate>${new Date(Date.UTC(2026, 0, 1, 0, n)).toUTCString()}</pubDate>
    <description><![CDATA[${i.body}]]></description></item>`).join("\n");
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Search fixture</title>
    <link>https://example.com/</link>${it}</channel></rss>`;
}
/** About `n` KiB of paragraphs of ordinary words. */
const filler = (n) => Array.from({ length: Math.ceil((n * 1024) / 150) }, (_, i) => `<p>Paragraph ${i} of ordinary <a href="https://filler.example/${i}">words</a> about the weather and nothing else, repeated until it is long enough to matter here.</p>`).join("\n");

async function subscribe(f, items) {
  f.set("/feed.xml", { body: rss(items), type: "application/rss+xml" });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/feed.xml") } });
  assert.equal(r.status, 201, r.text);
  const list = (await api(w.url, "GET", `/api/entries?feed=${r.body.feed.id}&limit=200`, { token: null })).body.entries;
  return { id: r.body.feed.id, byGuid: new Map(list.map((e) => [e.url.split("/").pop(), e])) };
}

/** The result items of a search page, in order: [{ id, html }]. */
const results = (html) => [...html.matchAll(/<li data-id="(\d+)">(.*?)<\/li>/gs)].map((m) => ({ id: Number(m[1]), html: m[2] }));

test("a word only deep in a post's body is found, with a highlighted snippet around it", async () => {
  const f = fs.scope();
  const body = `${filler(20)}<p>Deep in the post: the <em>quetzalcoatlus</em> appears only here.</p>${filler(8)}`;
  assert.ok(body.indexOf("quetzalcoatlus") > 20000, "the word is past 20 KB of HTML");
  const feed = await subscribe(f, [{ guid: "deep", title: "A long post", body }]);
  const entry = feed.byGuid.get("deep");
  assert.ok(!entry.summary.includes("quetzalcoatlus"), "the summary does not carry the word");

  const r = await search("Quetzalcoatlus");
  assert.equal(r.status, 200);
  const found = results(r.text);
  assert.deepEqual(found.map((x) => x.id), [entry.id]);
  assert.match(found[0].html, /<p class="snippet">….*the <mark>quetzalcoatlus<\/mark> appears only here\. .*…<\/p>/s);
  // The prefix of the last word matches too; markup of the post is not in the index.
  assert.deepEqual(results((await search("the quetzalco")).text).map((x) => x.id), [entry.id]);
  for (const word of ["href", "filler.example", "em"]) {
    assert.ok(!results((await search(word)).text).some((x) => x.id === entry.id), `"${word}" (markup) is not indexed`);
  }
});

test("a title match ranks above a body-only match", async () => {
  const f = fs.scope();
  const feed = await subscribe(f, [
    // The body-only match is the newer entry and says the word three times.
    { guid: "title", title: "Pterodactyl sightings", body: "<p>A short note about birds.</p>" },
    { guid: "body", title: "Notes from the field", body: `${filler(4)}<p>pterodactyl, pterodactyl and a pterodactyl.</p>` },
  ]);
  const found = results((await search("pterodactyl")).text).map((x) => x.id);
  assert.deepEqual(found, [feed.byGuid.get("title").id, feed.byGuid.get("body").id]);
  const top = results((await search("pterodactyl")).text)[0].html;
  assert.match(top, /<mark>Pterodactyl<\/mark> sightings/);
});

test("feed text that looks like markup stays text in titles and snippets", async () => {
  const f = fs.scope();
  const feed = await subscribe(f, [{
    guid: "xss",
    // As RSS carries a literal "<" in a title: escaped HTML, escaped again as XML.
    title: "Why &lt;script&gt;alert('marmoset')&lt;/script&gt; stays text",
    body: "<p>Writing &lt;script&gt;alert('marmoset')&lt;/script&gt; in a post is harmless.</p><script>alert('marmoset2')</script>",
  }]);
  const r = await search("marmoset");
  const [hit] = results(r.text);
  assert.equal(hit.id, feed.byGuid.get("xss").id);
  assert.doesNotMatch(r.text, /<script>alert/);
  assert.match(hit.html, /Why &lt;script&gt;alert\('<mark>marmoset<\/mark>'\)&lt;\/script&gt; stays text/);
  assert.match(hit.html, /Writing &lt;script&gt;alert\('<mark>marmoset<\/mark>'\)&lt;\/script&gt; in a post/);
  assert.doesNotMatch(hit.html, /marmoset2/, "the sanitizer dropped the script, and the index never saw it");
});

test("results page, with a link to more until the last page", async () => {
  const f = fs.scope();
  const items = Array.from({ length: 27 }, (_, i) => ({ guid: `p${i}`, title: `Entry ${i}`, body: `<p>The ocelot number ${i}.</p>` }));
  const feed = await subscribe(f, items);
  const one = await search("ocelot");
  const p1 = results(one.text);
  assert.equal(p1.length, 20);
  assert.match(one.text, /<a rel="next" href="\/search\?q=ocelot&amp;page=2">More results →<\/a>/);
  const two = await search("ocelot", 2);
  const p2 = results(two.text);
  assert.equal(p2.length, 7);
  assert.doesNotMatch(two.text, /rel="next"/);
  assert.match(two.text, /rel="prev" href="\/search\?q=ocelot"/);
  assert.match(two.text, /<ol class="search-results" start="21">/);
  const ids = new Set([...p1, ...p2].map((x) => x.id));
  assert.equal(ids.size, 27);
  assert.deepEqual([...ids].sort(), [...feed.byGuid.values()].map((e) => e.id).sort());
  assert.match((await search("ocelot", 3)).text, /No more results/);
});

test("an edited post is searched by its new words, a removed feed by none", async () => {
  const f = fs.scope();
  const feed = await subscribe(f, [{ guid: "e", title: "Editable", body: `${filler(6)}<p>capybara</p>` }]);
  const id = feed.byGuid.get("e").id;
  assert.deepEqual(results((await search("capybara")).text).map((x) => x.id), [id]);
  f.set("/feed.xml", { body: rss([{ guid: "e", title: "Editable", body: `${filler(6)}<p>axolotl</p>` }]), type: "application/rss+xml" });
  const r = await api(w.url, "POST", `/api/feeds/${feed.id}/refresh`);
  assert.equal(r.body.updated_entries, 1, r.text);
  assert.deepEqual(results((await search("axolotl")).text).map((x) => x.id), [id]);
  assert.deepEqual(results((await search("capybara")).text), []);
  assert.equal((await api(w.url, "DELETE", `/api/feeds/${feed.id}`)).status, 200);
  assert.match((await search("axolotl")).text, /Nothing matches/);
});
