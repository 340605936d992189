// Whole entries: every new entry is stored at once (a brief when its cleaning does not fit
// the invocation), completed by the follow-up alarms, never replaced by a lesser version;
// readers get the completions as `update` frames, live or when they come back.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, startFeedServer, api, openSocket, until, ROOT } from "../support/harness.mjs";

let w, fs;
before(async () => {
  // Retention keeps every entry here: the counts below are the feed's, not a trim's.
  [w, fs] = await Promise.all([startWorker({ vars: { RETENTION_MAX_ENTRIES: "0" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const T0 = Date.now() - 200 * 3600_000;

/** RSS items `from..to` of ~30 KiB each; `tag` changes every body (a site touching every item). */
function longItems(from, to, tag) {
  let items = "";
  for (let i = from; i < to; i++) {
    const body = `&lt;p&gt;${tag} ` + "word ".repeat(6000) + `&lt;/p&gt;&lt;p&gt;ending-${i}-${tag}&lt;/p&gt;`;
    const d = new Date(T0 + i * 60_000).toUTCString();
    items += `<item><guid>long-${i}</guid><title>Long ${i}</title><link>https://long.example/${i}</link><pubDate>${d}</pubDate><description>${body}</description></item>`;
  }
  return items;
}
const rss = (items) => `<?xml version="1.0"?><rss version="2.0"><channel><title>Long reads</title>${items}</channel></rss>`;

/** What the native pipeline (`feed-inspect`) makes of a document: title → cleaned HTML. */
function inspect(xml, base) {
  const dir = mkdtempSync(path.join(tmpdir(), "orrery-whole-"));
  try {
    const file = path.join(dir, "feed.xml");
    writeFileSync(file, xml);
    const out = spawnSync("cargo", ["run", "--quiet", "--bin", "feed-inspect", "--", "--base", base, file],
      { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
    assert.equal(out.status, 0, out.stderr);
    const doc = JSON.parse(out.stdout);
    return new Map(doc.entries.map((e) => [e.title, e.content_html]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const entriesOf = async (id) =>
  (await api(w.url, "GET", `/api/entries?limit=200&feed=${id}`, { token: null })).body.entries;

test("80 long entries between two fetches: all stored at once, completed whole by the alarms, shown live", async () => {
  const f = fs.scope();
  f.set("/long.xml", { body: rss(longItems(0, 1, "v1")) });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/long.xml") } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.feed.id;

  const live = await openSocket(w.url.replace("http", "ws") + "/ws");
  const hello = await live.next((m) => m.type === "hello");
  assert.equal(typeof hello.revision, "number", "hello says the revision to resume updates from");
  // A second reader that leaves before the completions and comes back later.
  const away = await openSocket(w.url.replace("http", "ws") + "/ws");
  const awayHello = await away.next((m) => m.type === "hello");

  const xml = rss(longItems(0, 81, "v1"));
  f.set("/long.xml", { body: xml });
  const refreshed = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  assert.equal(refreshed.status, 200, refreshed.text);
  assert.equal(refreshed.body.new_entries, 80, "every new entry is stored at once");
  const briefs = refreshed.body.carried_entries;
  assert.ok(briefs > 40, `most are too long for one invocation (${briefs} carried)`);

  // At once: all 81 are there; the briefs say so, with their titles, links and summaries.
  const first = await entriesOf(id);
  assert.equal(first.length, 81);
  const brief = first.filter((e) => !e.whole);
  assert.equal(brief.length, briefs);
  assert.ok(brief.every((e) => e.summary.startsWith("v1 word") && e.url.startsWith("https://long.example/")));
  const entryFrames = await until(() => {
    const got = live.entries().filter((m) => m.entry.feed_id === id);
    return got.length >= 80 && got;
  }, { what: "the 80 entry frames" });
  const away_last = Math.max(...away.entries().map((m) => m.entry.id));
  away.close();

  // The follow-up alarms complete them, newest first, until every entry is whole.
  const done = await until(async () => {
    const all = await entriesOf(id);
    return all.length === 81 && all.every((e) => e.whole) && all;
  }, { timeout: 120_000, interval: 1000, what: "every entry whole" });
  const expected = inspect(xml, f.url("/long.xml"));
  for (const e of done) {
    assert.equal(e.content_html, expected.get(e.title), `${e.title} is its full sanitized HTML`);
    assert.match(e.content_html, new RegExp(`ending-${e.title.split(" ")[1]}-v1`));
  }
  // Each completion reached the live reader as an update of the entry it had, in place.
  const updates = await until(() => {
    const u = live.messages.filter((m) => m.type === "update" && m.entry.feed_id === id);
    return new Set(u.map((m) => m.entry.id)).size >= briefs && u;
  }, { what: "an update frame per completed entry" });
  assert.ok(updates.every((m) => m.entry.whole && m.html.includes(`id="entry-${m.entry.id}"`)));
  const had = new Set(entryFrames.map((m) => m.entry.id));
  assert.ok(updates.every((m) => had.has(m.entry.id)), "updates are for entries the reader has");
  assert.equal(new Set(entryFrames.map((m) => m.entry.id)).size, entryFrames.length, "entries once each");
  live.close();

  // The reader that was away resumes from what it had and gets the completions it missed.
  const back = await openSocket(w.url.replace("http", "ws") + "/ws");
  await back.next((m) => m.type === "hello");
  back.send({ type: "resume", since: away_last, revision: awayHello.revision });
  const synced = await back.next((m) => m.type === "synced");
  const caught = back.messages.filter((m) => m.type === "update" && m.entry.feed_id === id);
  assert.equal(new Set(caught.map((m) => m.entry.id)).size, briefs, "every completion it missed");
  assert.ok(caught.every((m) => m.entry.whole));
  assert.ok(synced.revision >= Math.max(...caught.map((m) => m.entry.rev)));
  back.close();

  // The same feed re-published with every item touched: no stored entry ever shrinks.
  const touched = rss(longItems(0, 81, "v2"));
  f.set("/long.xml", { body: touched });
  const again = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  assert.equal(again.status, 200, again.text);
  assert.ok(again.body.carried_entries > 40, "most edits wait for follow-ups");
  const before = new Map(done.map((e) => [e.id, e.content_html.length]));
  await until(async () => {
    const all = await entriesOf(id);
    for (const e of all) {
      assert.ok(e.whole, `${e.title} stays whole`);
      assert.ok(e.content_html.length >= before.get(e.id), `${e.title} never shrinks`);
    }
    return all.every((e) => e.content_html.includes("v2 word"));
  }, { timeout: 120_000, interval: 500, what: "every edit applied" });
});

test("120 new entries between two fetches: every one is stored", async () => {
  const f = fs.scope();
  const item = (i) => `<item><guid>busy-${i}</guid><title>Busy ${i}</title><pubDate>${new Date(T0 + i * 60_000).toUTCString()}</pubDate><description>Post ${i}</description></item>`;
  const doc = (n) => rss(Array.from({ length: n }, (_, i) => item(i)).join(""));
  f.set("/busy.xml", { body: doc(1) });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/busy.xml") } });
  assert.equal(r.status, 201, r.text);
  f.set("/busy.xml", { body: doc(121) });
  const again = await api(w.url, "POST", `/api/feeds/${r.body.feed.id}/refresh`);
  assert.equal(again.body.new_entries, 120);
  const all = await entriesOf(r.body.feed.id);
  assert.equal(all.length, 121);
  assert.equal(new Set(all.map((e) => e.title)).size, 121);
  assert.ok(all.every((e) => e.whole && e.content_html === `Post ${e.title.split(" ")[1]}`),
    "API clients get each entry's sanitized content");
});
