// Membership as a file: cron syncs PLANET_OPML (adds, renames, removes past a cap only when
// confirmed, keeps a leaver's history for the grace period, then deletes it; a broken document
// changes nothing), the OPML upload on the admin page with its per-feed report, and the
// membership file read from assets/ through the ASSETS binding.
// One wrangler dev for the file (the membership document is the file's one shared fixture).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, rmSync } from "node:fs";
import path from "node:path";
import { startWorker, startFeedServer, api, until, sleep, ROOT, ADMIN_TOKEN } from "../support/harness.mjs";

const ASSET = `members-e2e-${process.pid}.opml`;
let w, fs, doc;

before(async () => {
  fs = await startFeedServer();
  // The membership document: `doc` is what the fixture server answers with.
  doc = { status: 200, body: "" };
  fs.set("/members.opml", () => ({ status: doc.status, body: doc.body, type: "text/x-opml" }));
  w = await startWorker({ vars: { PLANET_OPML: fs.url("/members.opml"), PLANET_OPML_GRACE: "4s", METER: "1" } });
});
after(async () => { w?.stop(); await fs?.close(); rmSync(path.join(ROOT, "assets", ASSET), { force: true }); });

const xml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
function rss(title, id) {
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${xml(title)}</title><link>https://x.example/</link>
    <item><guid>${id}</guid><title>${xml(title)} post</title><link>https://x.example/${id}</link>
    <pubDate>${new Date(Date.UTC(2026, 10, 1)).toUTCString()}</pubDate><description>body</description></item></channel></rss>`;
}
/** A member's feed on the fixture server: its URL. */
function feed(name) {
  const p = `/feeds/${name}.xml`;
  fs.set(p, { body: rss(`${name}'s feed`, `${name}-1`), type: "application/rss+xml" });
  return fs.url(p);
}
/** An OPML document of outlines { url, title, text, face, home }. */
function opml(members) {
  const attr = (k, v) => (v === undefined ? "" : ` ${k}="${xml(v)}"`);
  const lines = members.map((m) => `<outline type="rss"${attr("text", m.text)}${attr("title", m.title)}${attr("xmlUrl", m.url)}${attr("htmlUrl", m.home)}${attr("face", m.face)}/>`);
  return `<?xml version="1.0"?><opml version="2.0"><head><title>Members</title></head><body>${lines.join("\n")}</body></opml>`;
}

const cron = async () => { const r = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`); await r.text(); assert.equal(r.status, 200); };
const allFeeds = async () => (await api(w.url, "GET", "/api/feeds", { token: null })).body.feeds;
const byUrl = async (url) => (await allFeeds()).find((f) => f.url === url);
const entriesOf = async (id) => (await api(w.url, "GET", `/api/entries?feed=${id}&limit=50`, { token: null })).body.entries;

const post = (p, fields, headers = {}) => fetch(w.url + p, {
  method: "POST", redirect: "manual",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
});
async function signIn() {
  const r = await post("/admin/login", { token: ADMIN_TOKEN });
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const page = await adminPage(cookie);
  return { cookie, csrf: page.match(/name="csrf" value="([0-9a-f]+)"/)[1] };
}
const adminPage = async (cookie) => (await fetch(`${w.url}/admin`, { headers: { cookie } })).text();
/** The admin page's membership section. */
const section = (page) => page.slice(page.indexOf('id="membership"'), page.indexOf('class="feeds"'));

const members = {};
const ann = { url: "", title: "Ann", face: "https://faces.example/ann.png", home: "https://ann.example/" };
const bob = { url: "", text: "Bob" };

test("a sync adds the file's members with names, faces and links; a change in the file renames them", async () => {
  ann.url = feed("ann");
  bob.url = feed("bob");
  doc.body = opml([ann, bob, { url: "ftp://nope.example/feed", text: "Nope" }]);
  await cron();
  const a = await byUrl(ann.url);
  const b = await byUrl(bob.url);
  assert.ok(a && b, "both subscribed");
  assert.equal(a.display_name, "Ann");
  assert.equal(a.face_url, ann.face);
  assert.equal(a.home_url, ann.home);
  assert.equal(b.display_name, "Bob", "text when there is no title");
  members.ann = a.id;
  members.bob = b.id;
  // The watchdog adopts them in the same run; each fetches on its own alarm.
  await until(async () => (await entriesOf(a.id)).length === 1, { what: "Ann's first fetch" });

  const { cookie } = await signIn();
  let s = section(await adminPage(cookie));
  assert.match(s, /Last sync:/);
  assert.match(s, /2 listed: 2 added/);
  assert.match(s, /data-sync="refused"[\s\S]*ftp:\/\/nope.example\/feed: only http and https/);

  // The file changes Ann's name and face: /api/feeds and the live entries follow.
  ann.title = "Ann Lee";
  ann.face = "https://faces.example/ann-2.png";
  doc.body = opml([ann, bob]);
  await cron();
  const renamed = await byUrl(ann.url);
  assert.equal(renamed.display_name, "Ann Lee");
  assert.equal(renamed.face_url, "https://faces.example/ann-2.png");
  assert.equal((await entriesOf(a.id))[0].feed_title, "Ann Lee");
  s = section(await adminPage(cookie));
  assert.match(s, /1 updated/);
  assert.match(s, /data-sync="updated"[\s\S]*Ann Lee/);

  // The same document again: nothing to do, the report says when it was checked.
  await cron();
  s = section(await adminPage(cookie));
  assert.match(s, /the same found again/);
});

test("a document that cannot be fetched or parsed changes nothing, and the admin page says why", async () => {
  const before = await allFeeds();
  const { cookie } = await signIn();
  for (const [status, body, why] of [
    [500, "oops", /HTTP 500/],
    [200, "<html><body>not OPML</body></html>", /not an OPML document/],
    [200, `<?xml version="1.0"?><opml version="2.0"><body></body></opml>`, /no feeds found/],
    [200, `<?xml version="1.0"?><opml><body><outline xmlUrl="${ann.url}"/><outline`, /not an OPML document/],
  ]) {
    doc = { status, body };
    await cron();
    assert.deepEqual((await allFeeds()).map((f) => [f.id, f.status, f.display_name]),
      before.map((f) => [f.id, f.status, f.display_name]), `unchanged after ${status} ${body.slice(0, 30)}`);
    const s = section(await adminPage(cookie));
    assert.match(s, /data-sync="error"/);
    assert.match(s, why);
    assert.match(s, /Last successful sync:/);
  }
  doc = { status: 200, body: opml([ann, bob]) };
});

test("members who leave are held (5 a run, the rest when confirmed), kept for the grace period, then deleted", async () => {
  const extra = ["cy", "di", "ed", "fay", "gus", "hal", "ida"].map((n) => ({ url: feed(n), title: n.toUpperCase() }));
  doc.body = opml([ann, bob, ...extra]);
  await cron();
  const ids = {};
  for (const m of extra) ids[m.title] = (await byUrl(m.url)).id;
  await until(async () => (await entriesOf(members.bob)).length === 1, { what: "Bob's first fetch" });

  // Everyone but Ann leaves: 8 leavers, 5 held now, 3 wait for the admin.
  doc.body = opml([ann]);
  await cron();
  const feeds = await allFeeds();
  const held = feeds.filter((f) => f.last_error === "left the membership file");
  assert.equal(held.length, 5, JSON.stringify(feeds.map((f) => [f.display_name, f.status, f.last_error])));
  assert.ok(held.every((f) => f.status === "held"));
  assert.equal((await byUrl(ann.url)).status !== "held", true, "Ann stays");
  const { cookie, csrf } = await signIn();
  let s = section(await adminPage(cookie));
  assert.match(s, /5 left/);
  assert.match(s, /3 members left the file past the 5/);
  assert.ok(s.includes('action="/admin/membership/confirm"'));

  // A second run does not remove them on its own.
  doc.body = opml([ann, { url: feed("new"), title: "Newcomer" }]);
  await cron();
  assert.equal((await allFeeds()).filter((f) => f.last_error === "left the membership file").length, 5);
  assert.match(section(await adminPage(cookie)), /3 members left the file/);

  // Confirming needs the CSRF token, then holds them.
  assert.equal((await post("/admin/membership/confirm", {}, { cookie })).status, 403);
  const ok = await post("/admin/membership/confirm", { csrf }, { cookie });
  assert.equal(ok.status, 303);
  assert.match(new URL(ok.headers.get("location"), w.url).searchParams.get("msg"), /Confirmed 3 removals/);
  assert.equal((await allFeeds()).filter((f) => f.last_error === "left the membership file").length, 8);
  s = section(await adminPage(cookie));
  assert.ok(!s.includes('data-sync="pending"'), "nothing pending any more");
  assert.match(s, /Held for having left \(8\)/);

  // Their history is kept through the grace period: Bob's entry is still there.
  assert.equal((await entriesOf(members.bob)).length, 1);
  // One who comes back before the grace is over is resumed.
  doc.body = opml([ann, { url: feed("new"), title: "Newcomer" }, extra[0]]);
  await cron();
  const cy = await byUrl(extra[0].url);
  assert.notEqual(cy.status, "held");
  assert.equal(cy.last_error, null);

  // Past the grace: deleted, 5 a run, entries and all.
  await sleep(4500);
  await cron();
  assert.equal((await allFeeds()).filter((f) => f.last_error === "left the membership file").length, 2);
  await cron();
  const left = await allFeeds();
  assert.equal(left.filter((f) => f.last_error === "left the membership file").length, 0);
  assert.ok(!left.some((f) => f.id === members.bob), "Bob deleted");
  assert.ok(left.some((f) => f.id === ids.CY), "Cy, who came back, stays");
  assert.equal((await entriesOf(members.bob)).length, 0, "and Bob's entries with him");
  assert.match(section(await adminPage(cookie)), /data-sync="deleted"/);

  // Each member who left, came back or was deleted has an audit record of its own.
  const html = await (await fetch(`${w.url}/admin/audit`, { headers: { cookie } })).text();
  const rows = [...html.matchAll(/<tr data-audit="\d+">(.*?)<\/tr>/gs)].map(([, row]) => {
    const cell = (label) => (row.match(new RegExp(`data-label="${label}">(.*?)</td>`, "s"))?.[1] ?? "").replace(/<[^>]+>/g, "");
    return { who: cell("Who"), what: cell("What"), detail: cell("Detail") };
  });
  const leftRows = rows.filter((r) => r.what === "membership.left");
  assert.equal(leftRows.length, 8, JSON.stringify(rows));
  assert.ok(leftRows.every((r) => r.detail === "left the membership file"));
  assert.equal(leftRows.filter((r) => r.who === "cron").length, 5, "5 by the sync");
  assert.equal(leftRows.filter((r) => r.who === "admin").length, 3, "3 by the admin who confirmed");
  assert.equal(rows.filter((r) => r.what === "membership.rejoined").length, 1);
  const deletedRows = rows.filter((r) => r.what === "membership.deleted");
  assert.equal(deletedRows.length, 7);
  assert.ok(deletedRows.some((r) => r.detail.includes(bob.url)), "the URL outlives the member");
});

test("an OPML upload on the admin page reports each feed; a feed that is not one shows failing with its reason", async () => {
  const { cookie, csrf } = await signIn();
  const page = fs.scope();
  page.set("/about.html", { type: "text/html; charset=utf-8", body: "<!doctype html><html><head><title>Hi</title></head><body>Hello</body></html>" });
  const fresh = feed("upload");
  const file = opml([
    { url: fresh, title: "Uploaded" },
    { url: ann.url, title: "Ann again" },
    { url: "javascript:alert(1)", text: "Evil" },
    { url: page.url("/about.html"), text: "A web page" },
  ]);
  const upload = (fields, headers = {}) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return fetch(`${w.url}/admin/opml`, { method: "POST", redirect: "manual", headers: { cookie, ...headers }, body: form });
  };
  const blob = new Blob([file], { type: "text/x-opml" });
  assert.equal((await upload({ opml: blob })).status, 403, "no CSRF token");
  assert.equal((await upload({ opml: blob, csrf }, { origin: "https://evil.example" })).status, 403, "cross-site");
  const big = new Blob(["<opml>" + " ".repeat(600 * 1024) + "</opml>"]);
  assert.equal((await upload({ opml: big, csrf })).status, 413, "size-capped");

  const r = await upload({ opml: blob, csrf });
  assert.equal(r.status, 200);
  const html = await r.text();
  assert.match(html, /2 added, 1 already there, 1 refused/);
  const row = (kind) => [...html.matchAll(new RegExp(`<tr data-import="${kind}">([\\s\\S]*?)</tr>`, "g"))].map((m) => m[1]);
  assert.equal(row("added").length, 2);
  assert.ok(row("already")[0].includes(ann.url));
  assert.match(row("refused")[0], /javascript:alert\(1\)<\/td><td>refused: only http and https/);

  // Imported feeds keep their titles and are validated by their first fetch.
  const up = await byUrl(fresh);
  assert.equal(up.display_name, "Uploaded");
  await until(async () => (await entriesOf(up.id)).length === 1, { what: "the uploaded feed's first fetch" });
  const web = await until(async () => { const f = await byUrl(page.url("/about.html")); return f?.last_error ? f : null; },
    { what: "the web page's first fetch to fail" });
  assert.match(web.last_error, /HTML|not a feed|web page/i, web.last_error);
  const admin = await adminPage(cookie);
  const tr = admin.slice(admin.indexOf(`data-feed="${web.id}"`));
  assert.match(tr.slice(0, tr.indexOf("</tr>")), /health failing[\s\S]*class="error"/, "shown failing, with the reason");
});

test("the membership file can live under assets/, read through the ASSETS binding; static files never wake the Worker", async () => {
  writeFileSync(path.join(ROOT, "assets", ASSET), opml([ann, { url: feed("from-assets"), title: "From Assets" }]));
  await w.restart({ vars: { PLANET_OPML: ASSET } });
  await cron();
  const f = await byUrl(fs.url("/feeds/from-assets.xml"));
  assert.ok(f, "added from the asset file");
  assert.equal(f.display_name, "From Assets");
  const { cookie } = await signIn();
  assert.ok(section(await adminPage(cookie)).includes(`assets/${ASSET}`));

  // With METER=1 every Worker invocation logs what it serves; an asset never shows up there.
  const mark = w.log().length;
  const css = await fetch(`${w.url}/style.css`);
  assert.equal(css.status, 200);
  await css.text();
  await (await fetch(`${w.url}/healthz`)).text();
  await until(() => w.log().slice(mark).includes('"what":"GET /healthz"'), { what: "the Worker's own request logged" });
  assert.ok(!w.log().slice(mark).includes('"what":"GET /style.css"'), "the edge served it, the Worker never ran");
});
