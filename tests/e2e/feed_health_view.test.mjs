// The admin's feed-health view (/admin/health): the worst feeds first with their error escaped,
// last and next fetch as each feed's object knows them, a "Retry now" form, and reading it
// writes nothing (METER=1: no D1 row, no DO storage row; one object call per feed shown).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, until, sleep, postForm, adminSession } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: { METER: "1" } }), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const post = (p, fields, headers = {}) => postForm(w.url, p, fields, headers);
const signIn = async () => (await adminSession(w.url)).cookie;

function meter(mark) {
  return [...w.log().slice(mark).matchAll(/orrery-meter (\{.*\})/g)].map((m) => JSON.parse(m[1]));
}
const sum = (lines, k, field) => lines.filter((l) => l.k === k).reduce((n, l) => n + (l[field] ?? 0), 0);

/** One row of the view, by feed id (up to its </tr>). */
function row(html, id) {
  const start = html.indexOf(`data-feed="${id}"`);
  assert.ok(start >= 0, `feed ${id} is listed`);
  return html.slice(start, html.indexOf("</tr>", start));
}
const cell = (html, id, name) => row(html, id).split(`data-cell="${name}"`)[1].split("</td>")[0];

async function subscribe(f, path, spec) {
  f.set(path, spec);
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(path) } });
  assert.equal(r.status, 201, r.text);
  return r.body.feed.id;
}

test("failing feeds first with the error escaped, last and next fetch from the objects, a retry, and nothing written", async () => {
  const f = fs.scope();
  const ok = await subscribe(f, "/ok.xml", { file: "e2e/alpha.xml", etag: true });
  const bad = await subscribe(f, "/bad.atom", { file: "e2e/beta.atom" });
  // Three failures in a row make it failing; the last one's error quotes the document.
  f.set("/bad.atom", { status: 500, body: "oops" });
  for (let i = 0; i < 2; i++) await api(w.url, "POST", `/api/feeds/${bad}/refresh`);
  f.set("/bad.atom", { body: "<evil onload=x>boom</evil>" });
  const third = await api(w.url, "POST", `/api/feeds/${bad}/refresh`);
  assert.equal(third.status, 200, third.text);
  // An unchanged refresh (a 304): D1 is not written, only the object knows it fetched.
  assert.equal((await api(w.url, "POST", `/api/feeds/${ok}/refresh`)).body.outcome, "not_modified");

  const cookie = await signIn();
  const dashboard = await (await fetch(`${w.url}/admin`, { headers: { cookie } })).text();
  assert.match(dashboard, /href="\/admin\/health"/, "/admin links to the view");

  await sleep(300);
  const mark = w.log().length;
  const r = await fetch(`${w.url}/admin/health`, { headers: { cookie } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("cache-control"), "no-store");
  const html = await r.text();

  // Order: the failing feed first.
  const order = [...html.matchAll(/data-feed="(\d+)"/g)].map((m) => Number(m[1]));
  assert.deepEqual(order, [bad, ok], html);
  assert.match(row(html, bad), /data-status="failing"/);
  assert.match(row(html, bad), /3 failed in a row/);
  // The error in words, escaped: the document's markup is text.
  assert.match(row(html, bad), /starts with &lt;evil&gt;/, row(html, bad));
  assert.doesNotMatch(html, /<evil/);
  // Last and next fetch, as the object knows them (the 304 wrote nothing to D1).
  assert.match(cell(html, ok, "last-fetch"), /<time datetime="/, cell(html, ok, "last-fetch"));
  assert.match(cell(html, ok, "next-fetch"), /<time datetime="/, cell(html, ok, "next-fetch"));
  assert.doesNotMatch(html, /object did not answer/);
  // "Retry now": the existing refresh form, with the CSRF token.
  const retry = row(html, bad).match(/action="\/admin\/feeds\/(\d+)\/refresh"[^]*?name="csrf" value="([0-9a-f]+)"[^]*?Retry now/);
  assert.ok(retry, row(html, bad));

  // The meter: the page's invocation and the objects it asked wrote no row anywhere.
  await until(() => meter(mark).filter((l) => l.k === "inv" && l.what === "call.describe").length === 2, { what: "both objects described" });
  await sleep(300);
  const all = meter(mark);
  const start = all.findIndex((l) => l.k === "inv" && l.kind === "worker" && l.what === "GET /admin/health");
  assert.ok(start >= 0, JSON.stringify(all));
  const lines = all.slice(start);
  assert.equal(sum(lines, "d1", "written"), 0, JSON.stringify(lines));
  assert.equal(sum(lines, "sql", "written"), 0, JSON.stringify(lines));
  assert.equal(lines.filter((l) => l.k === "sub" && l.what === "object.call").length, 2, "one call per feed shown");
  assert.ok(lines.some((l) => l.k === "sql" && l.what === "alarm.get"), "the next fetch came from the alarm");

  // The retry works from this page.
  const hits = f.hits("/bad.atom");
  const again = await post(`/admin/feeds/${bad}/refresh`, { csrf: retry[2] }, { cookie });
  assert.equal(again.status, 303);
  assert.equal(f.hits("/bad.atom"), hits + 1, "Retry now fetched the feed");
});

test("without a session the view asks for the token; pages are bounded", async () => {
  const r = await fetch(`${w.url}/admin/health`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /name="token"/);
  const cookie = await signIn();
  const far = await fetch(`${w.url}/admin/health?page=999`, { headers: { cookie } });
  assert.equal(far.status, 200);
  const html = await far.text();
  assert.match(html, /No feeds on this page/);
  assert.match(html, /href="\/admin\/health\?page=998"/);
  assert.equal((await fetch(`${w.url}/admin/health?page=x`, { headers: { cookie } })).status, 400);
});
