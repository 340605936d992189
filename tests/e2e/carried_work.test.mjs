// Carried work is never dropped (issue 19): on the demo schedule (a fetch every 5–30 s), a feed
// of 80 posts of ~30 KB stores its newest 50 at once, most as briefs, and refreshes land between
// the follow-up alarms that complete them: the schedule's own, and "Retry now" by hand, finding
// the same body again, a 304, or a changed document. Every stored entry still ends whole, its
// words searchable.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, until, sleep } from "../support/harness.mjs";

let w, fs;
before(async () => {
  // The demo schedule `make dev` runs (scripts/dev.sh); retention keeps every entry.
  const vars = {
    MIN_FETCH_INTERVAL_SECONDS: "5", DEFAULT_FETCH_INTERVAL_SECONDS: "5", MAX_FETCH_INTERVAL_SECONDS: "30",
    RETENTION_MAX_ENTRIES: "0",
  };
  [w, fs] = await Promise.all([startWorker({ vars }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

/** A word only post `i` of fixture `tag` carries, letters only (one token for the search index). */
const word = (tag, i) => tag + [...String(i).padStart(3, "0")].map((d) => "abcdefghij"[d]).join("");

/** RSS of posts `0..n` of ~30 KB each, one every 2 s up to now (so the adaptive schedule stays
 *  at its 5 s minimum), each post's own word deep at the end of its body. */
// (Links carry the tag: the same link in two feeds would be one article, shown once.)
function rss(tag, n, t0) {
  let items = "";
  for (let i = 0; i < n; i++) {
    const body = "&lt;p&gt;" + "Ordinary words about the weather and nothing else. ".repeat(600)
      + `&lt;/p&gt;&lt;p&gt;Deep in the post: ${word(tag, i)}.&lt;/p&gt;`;
    const d = new Date(t0 + i * 2_000).toUTCString();
    items += `<item><guid>carried-${i}</guid><title>Carried ${i}</title><link>https://carried.example/${tag}/${i}</link>`
      + `<pubDate>${d}</pubDate><description>${body}</description></item>`;
  }
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Carried work</title>${items}</channel></rss>`;
}

const entriesOf = async (id) =>
  (await api(w.url, "GET", `/api/entries?limit=200&feed=${id}`, { token: null })).body.entries;

/** The entry ids a search page lists. */
async function found(q) {
  const r = await fetch(`${w.url}/search?q=${encodeURIComponent(q)}`);
  assert.equal(r.status, 200);
  return [...(await r.text()).matchAll(/<li data-id="(\d+)">/g)].map((m) => Number(m[1]));
}

test("on the demo schedule alone (304s), the newest 50 of 80 long posts all end whole", async () => {
  const f = fs.scope();
  const t0 = Date.now() - 80 * 2_000;
  f.set("/schedule.xml", { body: rss("scheduled", 80, t0), etag: true });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/schedule.xml") } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.feed.id;
  const added = Date.now();
  const briefs = (await entriesOf(id)).filter((e) => !e.whole).length;
  assert.ok(briefs >= 30, `most wait for follow-ups (${briefs} briefs)`);
  let last = [];
  try {
    await until(async () => {
      last = await entriesOf(id);
      return last.length === 50 && last.every((e) => e.whole);
    }, { timeout: 60_000, interval: 500, what: "every entry whole" });
  } catch (e) {
    const whole = last.filter((x) => x.whole).length;
    assert.fail(`${whole} of ${last.length} whole after 60 s (${f.hits("/schedule.xml")} fetches): ${e.message}`);
  }
  const seconds = ((Date.now() - added) / 1000).toFixed(1);
  console.log(`demo schedule: ${briefs} briefs at first; all 50 whole after ${seconds} s, ${f.hits("/schedule.xml")} fetches`);
  // The follow-ups cost no fetch of their own: the schedule's (every 5 s) and the first.
  assert.ok(f.hits("/schedule.xml") <= Number(seconds) / 4 + 2, `${f.hits("/schedule.xml")} fetches in ${seconds} s`);
  for (const e of last) {
    const n = Number(e.title.split(" ")[1]);
    assert.deepEqual(await found(word("scheduled", n)), [e.id], `the last words of ${e.title} are searchable`);
  }
});

test("refreshes between follow-ups (same body, 304, a new post) never drop carried work", async () => {
  const f = fs.scope();
  const t0 = Date.now() - 80 * 2_000;
  let body = rss("carried", 80, t0);
  assert.ok(body.length > 80 * 30_000, `posts of ~30 KB (${body.length} bytes in all)`);
  // Every other conditional fetch gets its 304; the rest get the same body again, with the
  // same validator (nothing in the feed's state changes).
  let conditional = 0;
  const tag = () => `"carried-${body.length}"`;
  f.set("/carried.xml", (req) => (req.headers["if-none-match"] === tag() && ++conditional % 2 === 0
    ? { status: 304, body: "", headers: { etag: tag() } }
    : { body, headers: { etag: tag() } }));
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/carried.xml") } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.feed.id;
  const added = Date.now();
  const first = await entriesOf(id);
  assert.equal(first.length, 50, "the newest 50 are stored at once");
  const briefs = first.filter((e) => !e.whole).length;
  assert.ok(briefs >= 30, `most wait for follow-ups (${briefs} briefs)`);

  // For 20 s, "Retry now" at random gaps of 0.3–2.5 s, between the follow-up alarms and the
  // schedule's own fetches every 5 s; halfway, the feed publishes a new post (a changed document).
  const outcomes = new Map();
  const storm = Date.now() + 20_000;
  let published = false;
  let wholeAt = null;
  while (Date.now() < storm) {
    if (!published && Date.now() > storm - 10_000) {
      body = rss("carried", 81, t0);
      published = true;
    }
    const x = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
    assert.equal(x.status, 200, x.text);
    outcomes.set(x.body.outcome, (outcomes.get(x.body.outcome) || 0) + 1);
    if (!wholeAt && published && (await entriesOf(id)).every((e) => e.whole)) wholeAt = Date.now();
    await sleep(300 + Math.floor(Math.random() * 2_200));
  }
  const mid = await entriesOf(id);
  const wholeAfterStorm = mid.filter((e) => e.whole).length;

  // Then the schedule alone: every stored entry ends whole.
  const done = await until(async () => {
    const all = await entriesOf(id);
    return all.length === 51 && all.every((e) => e.whole) && all;
  }, {
    timeout: 90_000, interval: 1_000,
    what: `every entry whole (refreshes: ${JSON.stringify([...outcomes])}, ${wholeAfterStorm} of ${mid.length} whole after them)`,
  });
  const seconds = (((wholeAt ?? Date.now()) - added) / 1000).toFixed(1);
  console.log(`carried work: ${briefs} briefs at first; ${wholeAfterStorm} of ${mid.length} whole after 20 s of refreshes `
    + `(${JSON.stringify([...outcomes])}); all ${done.length} whole ${seconds} s after the feed was added`);
  assert.ok(outcomes.get("ok") >= 1 && outcomes.get("not_modified") >= 1, JSON.stringify([...outcomes]));

  // Whole means the full post: its last words are stored and found by search.
  for (const e of done) {
    const n = Number(e.title.split(" ")[1]);
    assert.match(e.content_html, new RegExp(`Deep in the post: ${word("carried", n)}\\.`), `${e.title} is whole`);
    assert.deepEqual(await found(word("carried", n)), [e.id], `${word("carried", n)}, deep in ${e.title}, is searchable`);
  }
});
