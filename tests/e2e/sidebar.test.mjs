// The sidebar's detail (SIDEBAR_DETAIL) against the real runtime: each member's three newest
// titles linked and escaped, kept on the feed's row by the refresh (a new entry and an edit show
// at once; a page render reads no entry for them, METER=1) and by retention (the per-feed cap,
// cron's prune by age), a failing feed's trouble by category
// and age and never its error's words, a quiet member's "no new post in N days", and the var:
// on by default in `classic`, off by default elsewhere, `on`/`off` either way.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, until, sleep } from "../support/harness.mjs";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let w, fs;
before(async () => {
  // FAILING_AFTER=1: one failure makes a feed failing, so the test need not fail it thrice.
  [w, fs] = await Promise.all([
    startWorker({ vars: { THEME: "classic", METER: "1", FAILING_AFTER: "1", PAUSED_AFTER: "5" } }),
    startFeedServer(),
  ]);
});
after(async () => { w?.stop(); await fs?.close(); });

/** An RSS document: items [title, published ms], in the order given. */
function rss(name, items) {
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${name}</title><link>http://example.com/${name}</link>` +
    items.map(([title, at], i) => `<item><title>${esc(title)}</title><link>http://example.com/${name}/${i}</link>` +
      `<guid>${name}-${i}</guid><pubDate>${new Date(at).toUTCString()}</pubDate><description>body</description></item>`).join("") +
    "</channel></rss>";
}

async function subscribe(f, p, body, count) {
  f.set(p, { body });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(p) } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.feed.id;
  await until(async () => (await api(w.url, "GET", `/api/feeds/${id}`)).body?.entry_count === count, { what: `feed ${id} read` });
  return id;
}

const page = async (p = "/") => {
  const r = await fetch(w.url + p);
  assert.equal(r.status, 200);
  return r.text();
};
/** The sidebar's item of a member (up to the next member). */
function memberItem(html, id) {
  const aside = html.match(/<aside class="sidebar".*?<\/aside>/s)?.[0] ?? "";
  const start = aside.indexOf(`<li data-feed="${id}">`);
  assert.ok(start >= 0, `member ${id} is in the sidebar`);
  const next = aside.indexOf("<li data-feed=", start + 1);
  return aside.slice(start, next < 0 ? aside.indexOf("</ul>", start) : next);
}
const recent = (item) => [...item.matchAll(/<li><a href="\/entries\/(\d+)">(.*?)<\/a><\/li>/g)].map((m) => [Number(m[1]), m[2]]);
/** Entry ids of a feed by the first word of their titles. */
const idsByTitle = async (feed) =>
  new Map((await api(w.url, "GET", `/api/entries?feed=${feed}&limit=50`)).body.entries.map((e) => [e.title.split(/[ ,]/)[0], e.id]));
const meter = (mark) => [...w.log().slice(mark).matchAll(/orrery-meter (\{.*\})/g)].map((m) => JSON.parse(m[1]));

test("each member's three newest titles, escaped, follow a new entry and an edit; a render reads no entry for them", async () => {
  const f = fs.scope();
  const now = Date.now();
  // Escaped twice in the feed: the title's text itself reads <script>…</script>.
  const hostile = `Fourth &lt;script&gt;alert(1)&lt;/script&gt; & "quoted"`;
  const items = [["First", now - 5 * HOUR], ["Second", now - 4 * HOUR], ["Third", now - 3 * HOUR], [hostile, now - 2 * HOUR]];
  const id = await subscribe(f, "/a.xml", rss("alpha", items), 4);
  let ids = await idsByTitle(id);

  let item = memberItem(await page(), id);
  assert.deepEqual(recent(item), [
    [ids.get("Fourth"), "Fourth &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;"],
    [ids.get("Third"), "Third"],
    [ids.get("Second"), "Second"],
  ], item);
  assert.doesNotMatch(item, /<script>/);
  // A healthy member that posts: no note on its dot.
  assert.doesNotMatch(item, /member-note/);
  assert.match(item, /class="dot ok" title="ok"/);

  // A new entry: at the top at once; the oldest of the three leaves.
  items.push(["Fifth, newest", now - HOUR]);
  f.set("/a.xml", { body: rss("alpha", items) });
  assert.equal((await api(w.url, "POST", `/api/feeds/${id}/refresh`)).body.new_entries, 1);
  ids = await idsByTitle(id);
  item = memberItem(await page(), id);
  assert.deepEqual(recent(item).map(([e]) => e), [ids.get("Fifth"), ids.get("Fourth"), ids.get("Third")], item);

  // An edited title shows edited.
  items[4][0] = "Fifth, edited";
  f.set("/a.xml", { body: rss("alpha", items) });
  await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  item = memberItem(await page(), id);
  assert.equal(recent(item)[0][1], "Fifth, edited", item);

  // The cost of a render: the river, its revision and the member list; not an entry per member.
  await sleep(300);
  const mark = w.log().length;
  await page();
  await page("/titles");
  await sleep(500);
  const d1 = meter(mark).filter((l) => l.k === "d1");
  assert.deepEqual([...new Set(d1.map((l) => l.what))].sort(), ["entries_river", "feeds_all", "latest_rev"], JSON.stringify(d1));
  const members = (await api(w.url, "GET", "/api/feeds")).body.feeds.length;
  for (const l of d1.filter((l) => l.what === "feeds_all")) assert.equal(l.read, members, "one row per member, however many titles");
  console.log(`# GET / and /titles with ${members} members: D1 ${d1.map((l) => `${l.what} ${l.read}/${l.written}`).join(", ")}`);
});

test("a failing feed shows its category and age on the dot, never its error's words", async () => {
  const f = fs.scope();
  const now = Date.now();
  const unreadable = await subscribe(f, "/u.xml", rss("unreadable", [["U1", now - HOUR]]), 1);
  const unreachable = await subscribe(f, "/r.xml", rss("unreachable", [["R1", now - HOUR]]), 1);
  f.set("/u.xml", { body: "<evil onload=x>token=s3cret</evil>", type: "text/html" });
  f.set("/r.xml", { raw: (req) => req.socket.destroy() });
  for (const id of [unreadable, unreachable]) {
    const r = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
    assert.equal(r.body.outcome, "failed", JSON.stringify(r.body));
    assert.ok(r.body.error, "the admin still has the words");
  }
  const html = await page();
  const u = memberItem(html, unreadable);
  assert.match(u, /class="dot failing" title="failing: feed unreadable for under an hour"/, u);
  assert.match(u, /<span class="member-note" aria-hidden="true">feed unreadable for under an hour<\/span>/, u);
  const r = memberItem(html, unreachable);
  assert.match(r, /title="failing: not reachable for under an hour"/, r);
  // The titles it had stay linked.
  assert.equal(recent(u).length, 1);
  for (const words of ["evil", "s3cret", "not a feed", "HTML page", "could not reach", "Network"]) {
    assert.ok(!html.includes(words), `the page never shows the error's words (${words})`);
  }
  // The admin's feed-health view still has them, for the admin.
  const admin = (await api(w.url, "GET", `/api/feeds/${unreachable}`)).body;
  assert.match(admin.last_error, /could not reach the server/, JSON.stringify(admin));
  assert.ok(admin.failing_since > now - 60_000, "the row says since when it fails");
});

test("a member whose newest post is months old is quiet", async () => {
  const f = fs.scope();
  const now = Date.now();
  const id = await subscribe(f, "/q.xml", rss("quiet", [["Long ago", now - 45 * DAY - HOUR], ["Longer ago", now - 60 * DAY]]), 2);
  const item = memberItem(await page(), id);
  assert.match(item, /class="dot ok" title="ok: no new post in 45 days"/, item);
  assert.match(item, /<span class="member-note" aria-hidden="true">no new post in 45 days<\/span>/);
  assert.equal(recent(item)[0][1], "Long ago");
});

test("SIDEBAR_DETAIL turns it off in classic and on in the default theme, which has it off by default", async () => {
  const hasDetail = (html) => /<ul class="members detailed">/.test(html) && /<ol class="recent"/.test(html);
  assert.ok(hasDetail(await page()), "classic: on by default");
  assert.ok(hasDetail(await page("/titles")), "on /titles too");
  await w.restart({ vars: { SIDEBAR_DETAIL: "off" } });
  let html = await page();
  assert.ok(!hasDetail(html) && !/member-note/.test(html), "classic with off");
  assert.match(html, /<ul class="members"><li data-feed=/);
  await w.restart({ vars: { THEME: "default", SIDEBAR_DETAIL: "auto" } });
  html = await page();
  assert.ok(!hasDetail(html) && !/member-note/.test(html), "the default theme: off by default");
  await w.restart({ vars: { SIDEBAR_DETAIL: "on" } });
  assert.ok(hasDetail(await page()), "the default theme with on");
  // A bad value is a problem in words, never a failed page.
  await w.restart({ vars: { SIDEBAR_DETAIL: "sometimes" } });
  assert.equal((await fetch(w.url + "/")).status, 200);
  const healthz = await (await fetch(w.url + "/healthz")).json();
  assert.ok(JSON.stringify(healthz).includes("SIDEBAR_DETAIL"), JSON.stringify(healthz));
});

test("retention keeps the titles true: the per-feed cap as it stores, and cron's prune by age", async () => {
  await w.restart({ vars: { SIDEBAR_DETAIL: "on", RETENTION_MAX_ENTRIES: "2", RETENTION_DAYS: "3" } });
  const f = fs.scope();
  const now = Date.now();
  // Three published, two kept: the sidebar lists the two kept.
  const capped = await subscribe(f, "/c.xml", rss("capped", [["C0", now - 3 * HOUR], ["C1", now - 2 * HOUR], ["C2", now - HOUR]]), 2);
  assert.deepEqual(recent(memberItem(await page(), capped)).map(([, t]) => t), ["C2", "C1"]);
  // A fourth: stored, the oldest kept one trimmed in the same batch; never a title of an entry gone.
  f.set("/c.xml", { body: rss("capped", [["C0", now - 3 * HOUR], ["C1", now - 2 * HOUR], ["C2", now - HOUR], ["C3", now - 60_000]]) });
  assert.equal((await api(w.url, "POST", `/api/feeds/${capped}/refresh`)).body.new_entries, 1);
  let item = memberItem(await page(), capped);
  assert.deepEqual(recent(item).map(([, t]) => t), ["C3", "C2"], item);
  const kept = new Set((await api(w.url, "GET", `/api/entries?feed=${capped}`)).body.entries.map((e) => e.id));
  assert.ok(recent(item).every(([id]) => kept.has(id)), "every title links an entry that is there");

  // Cron prunes an entry that aged past a shortened retention: its title leaves too.
  const aging = await subscribe(f, "/a.xml", rss("aging", [["A-old", now - 2 * DAY], ["A-new", now - HOUR]]), 2);
  assert.deepEqual(recent(memberItem(await page(), aging)).map(([, t]) => t), ["A-new", "A-old"]);
  await w.restart({ vars: { RETENTION_DAYS: "1" } });
  assert.equal((await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`)).status, 200);
  await until(async () => (await api(w.url, "GET", `/api/feeds/${aging}`)).body.entry_count === 1, { what: "the prune" });
  item = memberItem(await page(), aging);
  assert.deepEqual(recent(item).map(([, t]) => t), ["A-new"], item);
});
