// "Refresh all feeds" as a round moved on a batch per invocation (REFRESH_ALL_PER_RUN), never
// a fan-out from one request; and every change a refresh or the membership file makes on its
// own (moved, paused, gone) recorded in the audit log as the system's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, until, postForm, adminSession, invocationEvents } from "../support/harness.mjs";
import { atomFeed } from "../support/atom.mjs";

const PER_RUN = 5;
let w, fs;
before(async () => {
  [w, fs] = await Promise.all([
    startWorker({ vars: { REFRESH_ALL_PER_RUN: String(PER_RUN) } }),
    startFeedServer(),
  ]);
});
after(async () => { w?.stop(); await fs?.close(); });

/** The invocation events logged since `mark`. */
const events = (mark) => invocationEvents(w.log().slice(mark));

const post = (p, fields, headers = {}) => postForm(w.url, p, fields, headers);
const msg = (r) => decodeURIComponent((r.headers.get("location") || "").replaceAll("+", " "));
const tokenSession = () => adminSession(w.url);

/** The audit log's rows, newest first, over its first `pages` pages. */
async function audit(cookie, pages = 4) {
  const rows = [];
  let query = "";
  for (let i = 0; i < pages; i++) {
    const html = await (await fetch(`${w.url}/admin/audit${query}`, { headers: { cookie } })).text();
    for (const [, id, row] of html.matchAll(/<tr data-audit="(\d+)">(.*?)<\/tr>/gs)) {
      const cell = (label) => row.match(new RegExp(`data-label="${label}">(.*?)</td>`, "s"))?.[1] ?? "";
      const text = (label) => cell(label).replace(/<[^>]+>/g, "");
      rows.push({ id: Number(id), who: text("Who"), what: text("What"), feed: text("Feed"), detail: text("Detail"), raw: cell("Detail") });
    }
    const older = html.match(/href="\/admin\/audit\?before=(\d+)"/)?.[1];
    if (!older) break;
    query = `?before=${older}`;
  }
  return rows;
}

const cron = async () => {
  const r = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  await r.text();
  assert.equal(r.status, 200);
};

test("refreshing all 30 feeds takes a batch of 5 per invocation, reports progress, refuses a second start and is audited", async (t) => {
  const f = fs.scope();
  const n = 30;
  const sizes = new Map();
  const ids = [];
  for (let i = 0; i < n; i++) {
    const name = `round${i}`;
    sizes.set(name, 1);
    f.set(`/${name}.atom`, () => ({ body: atomFeed(name, sizes.get(name)), type: "application/atom+xml" }));
    const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(`/${name}.atom`) } });
    assert.equal(r.status, 201, r.text);
    ids.push(r.body.feed.id);
  }
  for (const name of sizes.keys()) sizes.set(name, 2); // one new entry in every feed

  assert.equal((await api(w.url, "POST", "/api/refresh", { token: "wrong" })).status, 401);
  assert.equal((await api(w.url, "GET", "/api/refresh", { token: null })).status, 401);
  const idle = await api(w.url, "GET", "/api/refresh");
  assert.equal(idle.status, 200, idle.text);
  assert.equal(idle.body.running, false);

  const mark = w.log().length;
  const started = await api(w.url, "POST", "/api/refresh");
  assert.equal(started.status, 202, started.text);
  assert.equal(started.body.running, true);
  assert.equal(started.body.round.total, n);
  assert.equal(started.body.round.done, PER_RUN, "the request refreshed the first batch only");
  assert.match(started.body.progress, /^Refreshing all feeds: 5 of 30 \(5 new entries so far\)/);
  const request = await until(() => events(mark).find((e) => e.kind === "worker" && e.what === "POST /api/refresh"), { what: "the request's event" });
  assert.equal(request.subrequests, PER_RUN, JSON.stringify(request));
  t.diagnostic(`the request: ${request.subrequests} subrequests, ${request.d1_rows_written} D1 rows written`);

  // A second start while it runs starts nothing (API and form alike).
  const again = await api(w.url, "POST", "/api/refresh");
  assert.equal(again.status, 409, again.text);
  assert.equal(again.body.round.id, started.body.round.id);
  assert.equal(again.body.round.done, PER_RUN);
  const { cookie, csrf, page } = await tokenSession();
  assert.ok(page.includes("Refreshing all feeds: 5 of 30"), "the dashboard shows the progress");
  assert.ok(!page.includes('action="/admin/refresh"'), "and no button while it runs");
  assert.equal((await post("/admin/refresh", { csrf: "stale" }, { cookie })).status, 403);
  const form = await post("/admin/refresh", { csrf }, { cookie });
  assert.equal(form.status, 303);
  assert.match(msg(form), /already running/);

  // Each cron run moves it on by 5 feeds at most, one object call each.
  const perRun = [];
  for (let run = 0; run < 10; run++) {
    const status = await api(w.url, "GET", "/api/refresh");
    if (!status.body.running) break;
    const at = w.log().length;
    await cron();
    // The event is logged as the run ends, and may reach the log after the response.
    const e = await until(() => events(at).some((x) => x.kind === "cron") && events(at), { what: "cron's event" });
    const c = e.find((x) => x.kind === "cron");
    const refreshes = e.filter((x) => x.kind === "feed" && x.what === "call.refresh" && x.cid === c.cid);
    assert.ok(c.subrequests <= PER_RUN, `cron called ${c.subrequests} objects: ${JSON.stringify(c)}`);
    assert.ok(c.d1_rows_written <= 4, `a batch writes its cursor (and at the end one audit row): ${JSON.stringify(c)}`);
    perRun.push(refreshes.length);
    t.diagnostic(`cron run ${run + 1}: ${refreshes.length} feeds refreshed, ${c.subrequests} subrequests, ${c.d1_rows_read} D1 rows read, ${c.d1_rows_written} written`);
  }
  assert.deepEqual(perRun, [5, 5, 5, 5, 5], "25 feeds left, 5 per run");

  const done = await api(w.url, "GET", "/api/refresh");
  assert.equal(done.body.running, false, done.text);
  assert.equal(done.body.round.done, n);
  assert.equal(done.body.round.new_entries, n);
  assert.equal(done.body.round.failed, 0);
  assert.equal(done.body.round.runs, 6);
  assert.ok(done.body.round.finished_at > 0);
  assert.match(done.body.progress, /^Refreshed all feeds: 30 \(30 new entries\)/);

  // The new entries are there, one per feed.
  const entries = await api(w.url, "GET", "/api/entries?limit=200");
  const news = entries.body.entries.filter((e) => / entry 2$/.test(e.title) && ids.includes(e.feed_id));
  assert.equal(news.length, n);

  // Audited: who started it, and when it finished.
  const rows = await audit(cookie);
  const start = rows.find((r) => r.what === "refresh.start");
  assert.ok(start, JSON.stringify(rows.slice(0, 5)));
  assert.equal(start.who, "api");
  assert.match(start.detail, /30 feeds/);
  const finish = rows.find((r) => r.what === "refresh.finish");
  assert.ok(finish);
  assert.equal(finish.who, "cron");
  assert.match(finish.detail, /30 feeds refreshed in 6 runs, 30 new entries, 0 failed/);
  const dash = await (await fetch(`${w.url}/admin`, { headers: { cookie } })).text();
  assert.ok(dash.includes('action="/admin/refresh"'), "the button is back");
  assert.ok(dash.includes("Refreshed all feeds: 30"));

  // A cron run with no round running calls no object for it.
  const at = w.log().length;
  await cron();
  const c = await until(() => events(at).find((x) => x.kind === "cron"), { what: "cron's event" });
  assert.equal(c.subrequests, 0, JSON.stringify(c));
});

test("a permanent redirect, a pause after failures and a feed gone are audited as the system's, each in words", async () => {
  const f = fs.scope();
  f.set("/moving.atom", { body: atomFeed("moving", 1), type: "application/atom+xml" });
  f.set("/sick.atom", { body: atomFeed("sick", 1), type: "application/atom+xml" });
  f.set("/leaving.atom", { body: atomFeed("leaving", 1), type: "application/atom+xml" });
  const add = async (p) => {
    const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(p) } });
    assert.equal(r.status, 201, r.text);
    return r.body.feed.id;
  };
  const [moving, sick, leaving] = [await add("/moving.atom"), await add("/sick.atom"), await add("/leaving.atom")];
  const refresh = (id) => api(w.url, "POST", `/api/feeds/${id}/refresh`);

  // Moved for good: 301 to a new address.
  f.set("/moved.atom", { body: atomFeed("moving", 2), type: "application/atom+xml" });
  f.set("/moving.atom", { status: 301, headers: { location: f.url("/moved.atom") }, body: "" });
  const moved = await refresh(moving);
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.body.url, f.url("/moved.atom"));

  // Paused after 10 failures, with the error (markup in it stays text).
  f.set("/sick.atom", { status: 500, body: "down" });
  for (let i = 0; i < 10; i++) assert.equal((await refresh(sick)).status, 200);
  assert.equal((await api(w.url, "GET", `/api/feeds/${sick}`)).body.status, "paused");

  // Gone: three 410s in a row.
  f.set("/leaving.atom", { status: 410, body: "" });
  for (let i = 0; i < 3; i++) assert.equal((await refresh(leaving)).status, 200);
  assert.equal((await api(w.url, "GET", `/api/feeds/${leaving}`)).body.status, "gone");

  const { cookie } = await tokenSession();
  const rows = await audit(cookie);
  const move = rows.find((r) => r.what === "feed.moved");
  assert.ok(move, JSON.stringify(rows.slice(0, 20)));
  assert.equal(move.who, "system");
  assert.equal(move.detail, `permanent redirect: ${f.url("/moving.atom")} → ${f.url("/moved.atom")}`);
  const paused = rows.filter((r) => r.what === "feed.paused");
  assert.equal(paused.length, 1, "once, when it was paused");
  assert.equal(paused[0].who, "system");
  assert.match(paused[0].detail, /^paused after 10 failures: /);
  const gone = rows.filter((r) => r.what === "feed.gone");
  assert.equal(gone.length, 1);
  assert.match(gone[0].detail, /^gone: HTTP 410/);
  // The page escapes what it shows: the detail cell holds text only.
  assert.ok(rows.filter((r) => r.what.startsWith("feed.")).every((r) => !/<(?!small|\/small)/.test(r.raw)), "details are text");
});
