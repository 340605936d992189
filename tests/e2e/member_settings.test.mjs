// People, not feed titles: members' names, faces and site links (API, OPML in and out, live
// frames), pausing and resuming by hand, per-feed filters, and adding a blog by its home page.
// One wrangler dev for the file; every test uses its own fixture prefix (fs.scope()).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, openSocket, until, sleep, ADMIN_TOKEN } from "../support/harness.mjs";

let w, fs, wsBase;

before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
  wsBase = w.url.replace("http", "ws");
});
after(async () => { w?.stop(); await fs?.close(); });

/** An RSS document of items { id, title, cats = [], body = "" }, newest last. */
function rss(title, items) {
  const xml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const body = items.map((it, i) => {
    const when = new Date(Date.UTC(2026, 10, 1) + i * 60000).toUTCString();
    const cats = (it.cats || []).map((c) => `<category>${xml(c)}</category>`).join("");
    return `<item><guid>${it.id}</guid><title>${xml(it.title)}</title><link>https://x.example/${it.id}</link>
      <pubDate>${when}</pubDate>${cats}<description>${xml(it.body || `<p>${it.title} body</p>`)}</description></item>`;
  }).join("");
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${xml(title)}</title><link>https://x.example/</link>${body}</channel></rss>`;
}

/** A feed on the test's own path whose items the test changes: { f, items, url, id }. */
async function addFeed(title, items = [{ id: "a1", title: "First" }]) {
  const f = fs.scope();
  const feed = { f, items: [...items], path: "/feed.xml" };
  f.set(feed.path, () => ({ body: rss(title, feed.items), type: "application/rss+xml" }));
  feed.url = f.url(feed.path);
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: feed.url } });
  assert.equal(r.status, 201, r.text);
  feed.id = r.body.feed.id;
  return feed;
}

const patch = (id, body, opts = {}) => api(w.url, "PATCH", `/api/feeds/${id}`, { body, ...opts });
const refresh = (id) => api(w.url, "POST", `/api/feeds/${id}/refresh`);
const getFeed = async (id) => (await api(w.url, "GET", `/api/feeds/${id}`, { token: null })).body;
const entriesOf = async (id) =>
  (await api(w.url, "GET", `/api/entries?feed=${id}&limit=200`, { token: null })).body.entries;
const cron = () => fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);

test("a member's name, face and link show in the API, in entries and in live frames; empty clears", async () => {
  const feed = await addFeed("Ann's very own blog");
  const face = "https://faces.example/ann.png?size=64";
  const r = await patch(feed.id, { display_name: "  Ann\u0007 Lee ", face_url: face, home_url: "https://ann.example/" });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.display_name, "Ann Lee", "control characters stripped, spaces collapsed");
  assert.equal(r.body.face_url, face);
  assert.equal(r.body.home_url, "https://ann.example/");
  const listed = (await api(w.url, "GET", "/api/feeds", { token: null })).body.feeds.find((f) => f.id === feed.id);
  assert.equal(listed.display_name, "Ann Lee");
  assert.equal(listed.title, "Ann's very own blog", "the feed's own title stays");
  const [stored] = await entriesOf(feed.id);
  assert.equal(stored.feed_title, "Ann Lee");
  assert.equal(stored.feed_face, face);

  // The FeedObject's own live frames carry them too (it was told of the change).
  const planet = await openSocket(`${wsBase}/ws`);
  const own = await openSocket(`${wsBase}/feeds/${feed.id}/ws`);
  await Promise.all([planet.next((m) => m.type === "hello"), own.next((m) => m.type === "hello")]);
  feed.items.push({ id: "a2", title: "Second" });
  assert.equal((await refresh(feed.id)).body.new_entries, 1);
  for (const c of [planet, own]) {
    const m = await c.next((x) => x.type === "entry" && x.entry.feed_id === feed.id);
    assert.equal(m.entry.feed_title, "Ann Lee");
    assert.equal(m.entry.feed_face, face);
    c.close();
  }

  // A field left out stays; an empty string clears it.
  const cleared = await patch(feed.id, { display_name: "", face_url: "" });
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(cleared.body.display_name, null);
  assert.equal(cleared.body.face_url, null);
  assert.equal(cleared.body.home_url, "https://ann.example/");
  const after = await entriesOf(feed.id);
  assert.ok(after.every((e) => e.feed_title === "Ann's very own blog" && !("feed_face" in e)), JSON.stringify(after));
});

test("bad names, faces, links and bodies are refused with JSON errors", async () => {
  const feed = await addFeed("Refusals");
  const cases = [
    [{ face_url: "javascript:alert(1)" }, 422],
    [{ face_url: "/me.png" }, 422],
    [{ home_url: "ftp://x.example/" }, 422],
    [{ home_url: "https://user:pw@x.example/" }, 422],
    [{ display_name: "x".repeat(201) }, 422],
    [{ filter: { words: Array.from({ length: 51 }, (_, i) => `w${i}`) } }, 422],
    [{ nickname: "x" }, 400],
    [{ display_name: 5 }, 400],
  ];
  for (const [body, status] of cases) {
    const r = await patch(feed.id, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.ok(r.body.error.message, r.text);
  }
  assert.equal((await api(w.url, "PATCH", `/api/feeds/${feed.id}`, { raw: "{not json" })).status, 400);
  assert.equal((await patch(feed.id, { display_name: "x" }, { token: null })).status, 401);
  assert.equal((await patch(999999, { display_name: "x" })).status, 404);
  assert.equal((await getFeed(feed.id)).display_name, null, "nothing was changed");
});

test("a feed paused by hand is fetched by nothing — not a refresh, not cron — until resumed", async () => {
  const feed = await addFeed("Held");
  const paused = await api(w.url, "POST", `/api/feeds/${feed.id}/pause`);
  assert.equal(paused.status, 200, paused.text);
  assert.equal(paused.body.status, "held");
  assert.equal(paused.body.next_fetch_at, null);
  const health = (await api(w.url, "GET", "/healthz", { token: null })).body;
  assert.ok(health.held >= 1, JSON.stringify(health));
  const hits = feed.f.hits(feed.path);
  feed.items.push({ id: "h2", title: "Published while held" });
  const r = await refresh(feed.id);
  assert.equal(r.status, 409, r.text);
  assert.match(r.body.error.message, /paused by hand/);
  assert.equal((await cron()).status, 200);
  await sleep(1500);
  assert.equal(feed.f.hits(feed.path), hits, "never fetched while held");
  assert.equal((await getFeed(feed.id)).status, "held");
  assert.equal((await entriesOf(feed.id)).length, 1);

  const resumed = await api(w.url, "POST", `/api/feeds/${feed.id}/resume`);
  assert.equal(resumed.status, 200, resumed.text);
  assert.notEqual(resumed.body.status, "held");
  // Resumed: fetched at once by its own alarm.
  await until(async () => (await entriesOf(feed.id)).length === 2, { what: "the entry published while held" });
  assert.ok(feed.f.hits(feed.path) > hits);
  assert.equal((await getFeed(feed.id)).status, "active");
  assert.equal((await refresh(feed.id)).status, 200);
});

test("filters keep only entries in a category or with a word, and excerpts only store the summary", async () => {
  const feed = await addFeed("Filtered");
  const set = await patch(feed.id, { filter: { categories: ["Rust"], words: ["durable objects"] } });
  assert.equal(set.status, 200, set.text);
  assert.deepEqual(set.body.filter, { categories: ["Rust"], words: ["durable objects"], excerpt_only: false });
  feed.items.push(
    { id: "f1", title: "On rust", cats: ["rust", "code"] },
    { id: "f2", title: "Cats", cats: ["pets"] },
    { id: "f3", title: "Storage", body: "<p>All about <b>Durable Objects</b> today</p>" },
    { id: "f4", title: "Holiday" },
  );
  const r = await refresh(feed.id);
  assert.equal(r.body.new_entries, 2, JSON.stringify(r.body));
  const ids = (await entriesOf(feed.id)).map((e) => e.url.split("/").pop()).sort();
  assert.deepEqual(ids, ["a1", "f1", "f3"]);
  // Left out for good: clearing the filter does not bring them back, new ones are kept.
  assert.equal((await patch(feed.id, { filter: {} })).body.filter.categories.length, 0);
  feed.items.push({ id: "f5", title: "Anything" });
  assert.equal((await refresh(feed.id)).body.new_entries, 1);
  assert.equal((await entriesOf(feed.id)).length, 4);

  // Excerpt only: the summary, not the whole post.
  await patch(feed.id, { filter: { excerpt_only: true } });
  const long = `<p>${"word ".repeat(2000)}</p><p>the very end</p>`;
  feed.items.push({ id: "f6", title: "Long", body: long });
  assert.equal((await refresh(feed.id)).body.new_entries, 1);
  const e = (await entriesOf(feed.id)).find((x) => x.url.endsWith("/f6"));
  assert.ok(e.content_html.length < 1000, e.content_html.length);
  assert.ok(!e.content_html.includes("the very end"));
  assert.equal(e.whole, true);
});

test("an OPML import keeps titles, faces and site links, and OPML out writes them back", async () => {
  const f = fs.scope();
  f.set("/one.xml", { body: rss("One's feed", [{ id: "o1", title: "One" }]), type: "application/rss+xml" });
  f.set("/two.xml", { body: rss("Two's feed", [{ id: "t1", title: "Two" }]), type: "application/rss+xml" });
  f.set("/three.xml", { body: rss("Three's feed", [{ id: "r1", title: "Three" }]), type: "application/rss+xml" });
  const opml = `<?xml version="1.0"?><opml version="2.0"><body><outline text="Planet">
    <outline type="rss" text="Uno" title="Una Persona" xmlUrl="${f.url("/one.xml")}" htmlUrl="https://one.example/" face="https://faces.example/one.png"/>
    <outline type="rss" text="Dos" xmlUrl="${f.url("/two.xml")}" hackergotchi="https://faces.example/two.png"/>
    <outline type="rss" text="Tres" xmlUrl="${f.url("/three.xml")}" face="three.png" htmlUrl="javascript:x"/>
  </outline></body></opml>`;
  const r = await api(w.url, "POST", "/api/opml", { raw: opml });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.added.length, 3, r.text);
  const byId = (id) => getFeed(id);
  const [one, two, three] = await Promise.all(r.body.added.map((a) => byId(a.id)));
  assert.equal(one.display_name, "Una Persona");
  assert.equal(one.face_url, "https://faces.example/one.png");
  assert.equal(one.home_url, "https://one.example/");
  assert.equal(two.display_name, "Dos", "text when there is no title");
  assert.equal(two.face_url, "https://faces.example/two.png", "a Venus-style attribute");
  assert.equal(three.face_url, null, "a face that is not an http(s) URL is left out");
  assert.equal(three.home_url, null);
  // Adopted and fetched on their own alarms, under the members' names.
  await until(async () => (await entriesOf(one.id)).length === 1, { what: "the imported feed's first fetch" });
  const [e] = await entriesOf(one.id);
  assert.equal(e.feed_title, "Una Persona");
  assert.equal(e.feed_face, "https://faces.example/one.png");
  const out = await (await fetch(`${w.url}/feeds.opml`)).text();
  const line = out.split("<outline").find((l) => l.includes(f.url("/one.xml")));
  assert.match(line, /title="Una Persona"/);
  assert.match(line, /face="https:\/\/faces.example\/one.png"/);
  assert.match(line, /htmlUrl="https:\/\/one.example\/"/);
});

test("adding a blog by its home page subscribes the feed it announces, or lists several", async () => {
  const f = fs.scope();
  const page = (links) => `<!doctype html><html><head><title>Blog</title>${links}</head><body><p>Hello</p></body></html>`;
  f.set("/blog/posts.xml", { body: rss("Posts", [{ id: "p1", title: "Post" }]), type: "application/rss+xml" });
  f.set("/blog/atom.xml", { body: rss("Also posts", [{ id: "p1", title: "Post" }]), type: "application/rss+xml" });
  f.set("/blog/", { type: "text/html; charset=utf-8", body: page(`<link rel="alternate" type="application/rss+xml" title="Posts" href="posts.xml">`) });
  const one = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/blog/") } });
  assert.equal(one.status, 201, one.text);
  assert.equal(one.body.feed.url, f.url("/blog/posts.xml"), "resolved against the page");
  assert.equal(one.body.refresh.new_entries, 1);

  f.set("/two/", { type: "text/html", body: page(`<link rel="alternate" type="application/rss+xml" title="Posts" href="../blog/posts.xml">
    <link rel="alternate" type="application/atom+xml" title="Atom" href="${f.url("/blog/atom.xml")}">
    <link rel="alternate" type="text/html" href="/fr/">`) });
  const several = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/two/") } });
  assert.equal(several.status, 300, several.text);
  assert.equal(several.body.error.code, "multiple_feeds");
  assert.deepEqual(several.body.feeds.map((x) => x.url), [f.url("/blog/posts.xml"), f.url("/blog/atom.xml")]);
  assert.deepEqual(several.body.feeds.map((x) => x.title), ["Posts", "Atom"]);
  const all = (await api(w.url, "GET", "/api/feeds", { token: null })).body.feeds;
  assert.ok(!all.some((x) => x.url.startsWith(f.url("/two/"))), "nothing subscribed for the page itself");

  // No link: the common paths, relative to the page.
  f.set("/plain/", { type: "text/html", body: page("") });
  f.set("/plain/feed", { body: rss("Plain", [{ id: "q1", title: "Q" }]), type: "application/rss+xml" });
  const common = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/plain/") } });
  assert.equal(common.status, 201, common.text);
  assert.equal(common.body.feed.url, f.url("/plain/feed"));

  // Nothing anywhere: refused with a reason, nothing kept.
  f.set("/empty/", { type: "text/html", body: page("") });
  const none = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/empty/") } });
  assert.equal(none.status, 422, none.text);
  assert.match(none.body.error.message, /announces no feed/);
});

const post = (p, fields, headers = {}) =>
  fetch(w.url + p, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });

/** The notice an admin form redirects back with. */
const msg = (r) => new URL(r.headers.get("location"), w.url).searchParams.get("msg");

async function signIn() {
  const r = await post("/admin/login", { token: ADMIN_TOKEN });
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const page = await (await fetch(`${w.url}/admin`, { headers: { cookie } })).text();
  return { cookie, csrf: page.match(/name="csrf" value="([0-9a-f]+)"/)[1] };
}

test("the admin page names, filters, pauses and resumes a feed, and lets the admin pick a discovered feed", async () => {
  const feed = await addFeed("Admin's feed");
  const { cookie, csrf } = await signIn();
  const fields = { display_name: "Bo", face_url: "https://faces.example/bo.png", home_url: "", categories: "a, b", words: "", excerpt_only: "1" };
  assert.equal((await post(`/admin/feeds/${feed.id}/edit`, fields, { cookie })).status, 403, "no CSRF token");
  const saved = await post(`/admin/feeds/${feed.id}/edit`, { ...fields, csrf }, { cookie });
  assert.equal(saved.status, 303);
  let d = await getFeed(feed.id);
  assert.equal(d.display_name, "Bo");
  assert.deepEqual(d.filter, { categories: ["a", "b"], words: [], excerpt_only: true });
  const bad = await post(`/admin/feeds/${feed.id}/edit`, { ...fields, face_url: "javascript:x", csrf }, { cookie });
  assert.match(msg(bad), /face must be an http or https URL/);

  assert.equal((await post(`/admin/feeds/${feed.id}/pause`, { csrf }, { cookie })).status, 303);
  assert.equal((await getFeed(feed.id)).status, "held");
  const page = await (await fetch(`${w.url}/admin`, { headers: { cookie } })).text();
  assert.ok(page.includes(`action="/admin/feeds/${feed.id}/resume"`), "a held feed offers Resume");
  const refreshed = await post(`/admin/feeds/${feed.id}/refresh`, { csrf }, { cookie });
  assert.match(msg(refreshed), /paused by hand/);
  assert.equal((await post(`/admin/feeds/${feed.id}/resume`, { csrf }, { cookie })).status, 303);
  assert.notEqual((await getFeed(feed.id)).status, "held");

  const f = fs.scope();
  f.set("/a.xml", { body: rss("A", [{ id: "x1", title: "X" }]), type: "application/rss+xml" });
  f.set("/b.json", { body: JSON.stringify({ version: "https://jsonfeed.org/version/1.1", title: "B", items: [{ id: "1", content_text: "x" }] }), type: "application/feed+json" });
  f.set("/", { type: "text/html", body: `<html><head><link rel="alternate" type="application/rss+xml" href="a.xml" title="A feed"><link rel="alternate" type="application/feed+json" href="b.json"></head></html>` });
  const choose = await post("/admin/feeds", { url: f.url("/"), csrf }, { cookie });
  assert.equal(choose.status, 200);
  const html = await choose.text();
  assert.ok(html.includes(`name="url" value="${f.url("/a.xml")}"`), html);
  assert.ok(html.includes(`name="url" value="${f.url("/b.json")}"`));
  assert.equal((await post("/admin/feeds", { url: f.url("/b.json"), csrf }, { cookie })).status, 303);
  const all = (await api(w.url, "GET", "/api/feeds", { token: null })).body.feeds;
  assert.ok(all.some((x) => x.url === f.url("/b.json")));
  assert.ok(!all.some((x) => x.url === f.url("/a.xml")));
});
