// The fair front page against the real runtime: at most RIVER_PER_FEED_PER_DAY entries of a
// member's day on the river and /titles, with "N more from this member" linking to the member's
// page; the member's page, the API and Atom/RSS stay complete; ?before= paging neither repeats
// nor skips under the cap; 0 turns it off; PLANET_TIMEZONE moves the day boundary and the
// date headings, and a zone the runtime does not know is a config problem, not a failure.
// The river's D1 reads are measured (METER=1) with the cap and without it, on the same data.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api } from "../support/harness.mjs";

const MIN = 60 * 1000;
let w, ny, fs;
before(async () => {
  [w, ny, fs] = await Promise.all([
    startWorker({ vars: { METER: "1", PAGE_SIZE: "4" } }),
    startWorker({ vars: { PLANET_TIMEZONE: "America/New_York" } }),
    startFeedServer(),
  ]);
});
after(async () => { w?.stop(); ny?.stop(); await fs?.close(); });

/** An RSS 2.0 document of `items` ({ id, title, at } with `at` in unix ms). */
function rss(name, items) {
  const item = (i) => `<item><guid isPermaLink="false">${i.id}</guid><title>${i.title}</title>` +
    `<link>http://example.org/${name}/${i.id}</link><pubDate>${new Date(i.at).toUTCString()}</pubDate></item>`;
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${name}</title>` +
    `<link>http://example.org/${name}</link><description>${name}</description>${items.map(item).join("")}</channel></rss>`;
}

async function subscribe(base, f, name, items) {
  f.set(`/${name}.xml`, { body: rss(name, items) });
  const r = await api(base, "POST", "/api/feeds", { body: { url: f.url(`/${name}.xml`) } });
  assert.equal(r.status, 201, r.text);
  return r.body.feed.id;
}

const page = async (base, p) => {
  const r = await fetch(base + p);
  assert.equal(r.status, 200, p);
  return r.text();
};
const entriesOf = async (base, feed) =>
  (await api(base, "GET", `/api/entries?feed=${feed}&limit=100`, { token: null })).body.entries;
/** Every page of the river from `p` on, following "Older entries": the ids in order and the pages. */
async function wholeRiver(base, p = "/") {
  const ids = [];
  const html = [];
  for (let next = p, n = 0; next && n < 50; n++) {
    const text = await page(base, next);
    html.push(text);
    ids.push(...[...text.matchAll(/<article class="entry" id="entry-(\d+)"/g)].map((m) => Number(m[1])));
    next = text.match(/<a rel="next" href="([^"]+)"/)?.[1]?.replaceAll("&amp;", "&");
  }
  return { ids, html: html.join("\n") };
}
/** The "N more" links of `feed` in a page: [{ day, n, text }]. */
const moreLinks = (html, feed) =>
  [...html.matchAll(new RegExp(`<p class="more-from" data-feed="${feed}" data-day="([^"]+)" data-more="(\\d+)"><a href="/feeds/${feed}">([^<]+)</a>`, "g"))]
    .map((m) => ({ day: m[1], n: Number(m[2]), text: m[3] }));
/** The ids of the /titles items of `feed`, by day section. */
function titlesByDay(html, feed) {
  const out = {};
  for (const s of html.matchAll(/<section class="day" data-day="([^"]+)">(.*?)<\/section>/gs)) {
    const ids = [...s[2].matchAll(/<li data-id="(\d+)">(.*?)<\/li>/gs)]
      .filter((li) => li[2].includes(`href="/feeds/${feed}"`)).map((li) => Number(li[1]));
    if (ids.length) out[s[1]] = ids;
  }
  return out;
}
const meter = (from) => [...w.log().slice(from).matchAll(/orrery-meter (\{.*\})/g)].map((m) => JSON.parse(m[1]));
/** D1 rows read per page request since `from`: [{ what, read, by: { statement: rows } }]. */
function pageReads(from) {
  const out = [];
  for (const l of meter(from)) {
    if (l.k === "inv" && l.kind === "worker") out.push({ what: l.what, read: 0, by: {} });
    else if (l.k === "d1" && out.length) {
      const cur = out.at(-1);
      cur.read += l.read;
      cur.by[l.what] = (cur.by[l.what] || 0) + l.read;
    }
  }
  return out.filter((r) => /^GET \/(titles)?$/.test(r.what));
}

// A prolific member with eight posts in the last minutes, a quiet one with one.
const f = () => fs.scope();
let prolific, quiet, scope;
const now = Date.now();
const posts = Array.from({ length: 8 }, (_, i) => ({ id: `p${i}`, title: `Prolific post ${i}`, at: now - (i + 1) * MIN }));

test("the river shows five of a prolific member's day and links to the rest; the member's page, the API and Atom/RSS keep every entry", async () => {
  scope = f();
  prolific = await subscribe(w.url, scope, "prolific", posts);
  quiet = await subscribe(w.url, scope, "quiet", [{ id: "q0", title: "Quiet post", at: now - 3.5 * MIN }]);
  const all = await entriesOf(w.url, prolific);
  assert.equal(all.length, 8, "every entry stored");
  assert.deepEqual(all.map((e) => e.day_rank).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8], "ranks 1..8 within the day");
  const shownIds = new Set(all.filter((e) => e.day_rank <= 5).map((e) => e.id));

  const mark = w.log().length;
  const { ids, html } = await wholeRiver(w.url);
  const mine = ids.filter((id) => all.some((e) => e.id === id));
  assert.equal(mine.length, 5, `five of the prolific member's day: ${ids}`);
  assert.deepEqual(new Set(mine), shownIds);
  const q = (await entriesOf(w.url, quiet))[0].id;
  assert.ok(ids.includes(q), "the quiet member is on the river");
  const links = moreLinks(html, prolific);
  assert.equal(links.length, 1, html);
  assert.equal(links[0].n, 3);
  assert.equal(links[0].text, "3 more from this member today");
  assert.equal(moreLinks(html, quiet).length, 0);
  // Paging under the cap: no entry twice, none skipped, newest published first.
  assert.equal(new Set(ids).size, ids.length, `no duplicates: ${ids}`);
  const expected = (await api(w.url, "GET", "/api/entries?limit=100", { token: null })).body.entries
    .filter((e) => !(e.day_rank > 5))
    .sort((a, b) => b.published - a.published || b.id - a.id).map((e) => e.id);
  assert.deepEqual(ids, expected, "every shown entry, in order, over the pages");
  assert.ok(pageReads(mark).length >= 2, "more than one page");

  // /titles: the same five and the link.
  const titles = await page(w.url, "/titles");
  const days = titlesByDay(titles, prolific);
  assert.equal(Object.values(days).flat().length, 5, JSON.stringify(days));
  assert.equal(moreLinks(titles, prolific)[0]?.n, 3);

  // The member's page, the API, Atom and RSS stay complete.
  const member = await wholeRiver(w.url, `/feeds/${prolific}`);
  assert.equal(member.ids.filter((id) => all.some((e) => e.id === id)).length, 8);
  assert.equal(moreLinks(member.html, prolific).length, 0, "no cap on the member's page");
  for (const out of ["/feed.atom", "/feed.rss", `/feeds/${prolific}/feed.atom`]) {
    const text = await page(w.url, out);
    for (const p of posts) assert.ok(text.includes(p.title), `${out} has ${p.title}`);
  }
});

test("a later and a back-dated arrival count in their day; an edited date moves nothing", async () => {
  const before = await entriesOf(w.url, prolific);
  const shown = before.filter((e) => e.day_rank <= 5).map((e) => e.id).sort();
  // A new post now, one back-dated into the same day, and the first post's date edited.
  const later = [
    { id: "p8", title: "Prolific post 8", at: Date.now() - 5000 },
    { id: "p9", title: "Prolific post 9 (back-dated)", at: now - 9.5 * MIN },
    { ...posts[0], at: posts[0].at - 30 * 1000 },
    ...posts.slice(1),
  ];
  scope.set("/prolific.xml", { body: rss("prolific", later) });
  const r = await api(w.url, "POST", `/api/feeds/${prolific}/refresh`);
  assert.equal(r.status, 200, r.text);
  const all = await entriesOf(w.url, prolific);
  assert.equal(all.length, 10);
  assert.deepEqual(all.filter((e) => e.day_rank <= 5).map((e) => e.id).sort(), shown, "what was shown stays shown");
  const first = before.find((e) => e.title === posts[0].title);
  assert.equal(all.find((e) => e.id === first.id).published, first.published, "the stored date is kept");
  const { html } = await wholeRiver(w.url);
  assert.equal(moreLinks(html, prolific)[0]?.n, 5, "5 more: both arrivals counted in the day");
});

// Eight posts from 20:00 UTC on 20 November to 03:00 on the 21st: two UTC days, one in New York.
const straddle = Array.from({ length: 8 }, (_, i) => ({ id: `s${i}`, title: `Late post ${i}`, at: Date.UTC(2026, 10, 20, 20 + i) }));

test("PLANET_TIMEZONE moves the day boundary and the date headings", async () => {
  const [utcId, nyId] = await Promise.all([subscribe(w.url, f(), "straddle", straddle), subscribe(ny.url, f(), "straddle", straddle)]);
  const utcTitles = await page(w.url, "/titles");
  const nyTitles = await page(ny.url, "/titles");
  const utcDays = titlesByDay(utcTitles, utcId);
  assert.deepEqual(Object.keys(utcDays).sort(), ["2026-11-20", "2026-11-21"]);
  assert.deepEqual([utcDays["2026-11-20"].length, utcDays["2026-11-21"].length], [4, 4], "four a UTC day: under the cap");
  assert.equal(moreLinks(utcTitles, utcId).length, 0);
  const nyDays = titlesByDay(nyTitles, nyId);
  assert.deepEqual(Object.keys(nyDays), ["2026-11-20"], "one day in New York");
  assert.equal(nyDays["2026-11-20"].length, 5);
  assert.deepEqual(moreLinks(nyTitles, nyId), [{ day: "2026-11-20", n: 3, text: "3 more from this member that day" }]);
  // The headings: the member's page (every entry) in New York has one day, in UTC two.
  const heading = (html) => [...html.matchAll(/<time class="day-date" datetime="([^"]+)">([^<]+)<\/time>/g)].map((m) => m[2]);
  assert.deepEqual(heading((await wholeRiver(ny.url, `/feeds/${nyId}`)).html), ["Friday, 20 November 2026"]);
  assert.deepEqual(heading((await wholeRiver(w.url, `/feeds/${utcId}`)).html), ["Saturday, 21 November 2026", "Friday, 20 November 2026"]);
  // The river tells the live script the zone and the cap.
  assert.match(await page(ny.url, "/"), /data-tz="America\/New_York" data-river-cap="5"/);
});

test("the river's reads with the cap and without it (METER=1), and RIVER_PER_FEED_PER_DAY=0 turns it off", async (t) => {
  const measure = async () => {
    const mark = w.log().length;
    const { ids } = await wholeRiver(w.url);
    await page(w.url, "/titles");
    await new Promise((r) => setTimeout(r, 300));
    const reads = pageReads(mark);
    return { ids, pages: reads.filter((r) => r.what === "GET /"), titles: reads.find((r) => r.what === "GET /titles") };
  };
  const capped = await measure();
  await w.restart({ vars: { RIVER_PER_FEED_PER_DAY: "0" } });
  const off = await measure();
  const all = (await api(w.url, "GET", "/api/entries?limit=100", { token: null })).body.entries;
  assert.equal(off.ids.length, all.length, "every entry on the river");
  assert.ok(capped.ids.length < off.ids.length);
  const titles = await page(w.url, "/titles");
  assert.equal(moreLinks(titles, prolific).length, 0);
  assert.equal(Object.values(titlesByDay(titles, prolific)).flat().length, 10);
  // Bounded: a page of 4 reads at most what the route's cost allows (core::routes::cost:
  // 4 rows an entry and one more, the cursor and the revision; under the cap 3 rows an entry
  // and one more for the walk and the links), however much one member posts. The sidebar's
  // member list (feeds_all) is shared across pages and kept apart, as in the cost table.
  const own = (p) => p.read - (p.by.feeds_all || 0);
  for (const p of capped.pages) assert.ok(own(p) <= 4 * 5 + 2 + 3 * 5, JSON.stringify(p));
  for (const p of off.pages) assert.ok(own(p) <= 4 * 5 + 2, JSON.stringify(p));
  const fmt = (r) => r.map((p) => `${p.read} ${JSON.stringify(p.by)}`).join("; ");
  t.diagnostic(`${all.length} entries; capped: ${capped.ids.length} shown in ${capped.pages.length} pages of PAGE_SIZE 4: ${fmt(capped.pages)}`);
  t.diagnostic(`off: ${off.ids.length} shown in ${off.pages.length} pages: ${fmt(off.pages)}`);
  t.diagnostic(`/titles capped: ${fmt([capped.titles])}; off: ${fmt([off.titles])}`);
});

test("a PLANET_TIMEZONE the runtime does not know is named on /healthz, and the pages keep UTC days", async () => {
  await w.restart({ vars: { PLANET_TIMEZONE: "Mars/Olympus_Mons", RIVER_PER_FEED_PER_DAY: "5" } });
  const z = await api(w.url, "GET", "/healthz", { token: null });
  assert.equal(z.status, 200);
  assert.equal(z.body.status, "degraded");
  assert.ok(z.body.problems.some((p) => p.startsWith('config: PLANET_TIMEZONE: "Mars/Olympus_Mons" is not a time zone')), z.text);
  const home = await page(w.url, "/");
  assert.match(home, /data-river-cap="5"/);
  await w.restart({ vars: { PLANET_TIMEZONE: "Not a zone!" } });
  const bad = await api(w.url, "GET", "/healthz", { token: null });
  assert.ok(bad.body.problems.some((p) => p.startsWith('config: PLANET_TIMEZONE: "Not a zone!" is not a time zone name')), bad.text);
  assert.equal((await fetch(`${w.url}/titles`)).status, 200);
});
