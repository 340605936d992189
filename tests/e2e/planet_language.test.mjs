// The planet in its own language (PLANET_LANG): <html lang>, the interface strings, the date
// headings and times of the public and admin pages, the articles the socket carries, the
// language fields of Atom and RSS; machine-readable outputs unchanged; an unknown language is
// English and a problem named on /healthz and /admin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, adminSession, openSocket, ADMIN_TOKEN } from "../support/harness.mjs";

let de, bad, fs, feedId;
before(async () => {
  [de, bad, fs] = await Promise.all([
    startWorker({ vars: { PLANET_LANG: "de-AT" } }),
    startWorker({ vars: { PLANET_LANG: "tlh" } }),
    startFeedServer(),
  ]);
  const f = fs.scope();
  f.set("/feed.xml", { file: "e2e/alpha.xml" });
  const r = await api(de.url, "POST", "/api/feeds", { body: { url: f.url("/feed.xml") } });
  assert.equal(r.status, 201, r.text);
  feedId = r.body.feed.id;
});
after(async () => { de?.stop(); bad?.stop(); await fs?.close(); });

const page = async (w, p, headers = {}) => {
  const r = await fetch(`${w.url}${p}`, { headers });
  return { status: r.status, text: await r.text() };
};

const WEEKDAYS = ["Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"];
const MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"];

/** Every day heading of a page: its datetime and its words, checked against the German names. */
function germanHeadings(html) {
  const found = [...html.matchAll(/<time class="day-date" datetime="(\d{4})-(\d\d)-(\d\d)">([^<]+)<\/time>/g)];
  assert.ok(found.length >= 1, "day headings");
  for (const [, y, m, d, words] of found) {
    const day = new Date(Date.UTC(+y, +m - 1, +d));
    assert.equal(words, `${WEEKDAYS[day.getUTCDay()]}, ${+d}. ${MONTHS[+m - 1]} ${y}`);
  }
  return found.length;
}

test("the public pages speak German: html lang, navigation, headings, dates, counts, the scripts' words", async () => {
  const home = await page(de, "/");
  assert.equal(home.status, 200);
  assert.match(home.text, /<html lang="de">/);
  assert.match(home.text, /<a href="\/" aria-current="page">Beiträge<\/a>/);
  assert.match(home.text, />Titel<\/a>/);
  assert.match(home.text, /Zum Inhalt springen/);
  assert.match(home.text, /placeholder="Suchen"/);
  assert.match(home.text, /<h2 id="members-heading">Abonnements<\/h2>/);
  assert.match(home.text, /Betrieben mit Orrery/);
  assert.match(home.text, /<span class="label">offline<\/span>/);
  assert.ok(germanHeadings(home.text) >= 3, "the fixture's three days");
  // Times for people: "4. Nov. 2026, 10:00 UTC".
  assert.match(home.text, /<time datetime="2026-11-04T10:00:00Z">4\. Nov\. 2026, 10:00 UTC<\/time>/);
  // The live script's words come with the page, on its own element (nothing is fetched).
  const strings = JSON.parse(home.text.match(/<script src="\/live\.js" defer data-ws="\/ws" data-strings="([^"]+)"/)[1]
    .replaceAll("&quot;", '"').replaceAll("&amp;", "&"));
  assert.equal(strings["js.unseen"], "Neu seit Ihrem letzten Besuch");
  assert.equal(strings["js.since_visit"].one, "{n} neuer Beitrag seit Ihrem letzten Besuch");
  assert.equal(strings["date.months"].split("|")[2], "März");
  assert.ok(!("nav.river" in strings), "only what the scripts use");

  const feeds = await page(de, "/feeds");
  assert.match(feeds.text, /<h1>Feeds<\/h1>/);
  assert.match(feeds.text, /1 Feed · /);
  assert.match(feeds.text, /<th scope="col">Mitglied<\/th>/);
  assert.match(feeds.text, /data-label="Zustand"/);

  const titles = await page(de, "/titles");
  assert.match(titles.text, /<h1>Neueste Titel<\/h1>/);
  germanHeadings(titles.text);

  const one = await page(de, `/feeds/${feedId}`);
  assert.match(one.text, /Ältere Beiträge|Noch keine Beiträge|data-day=/);
  germanHeadings(one.text);

  const search = await page(de, "/search?q=alpha");
  assert.match(search.text, /<h1>Suche<\/h1>/);
  assert.match(search.text, /Dieser Suche live folgen/);

  const missing = await page(de, "/entries/999999");
  assert.equal(missing.status, 404);
  assert.match(missing.text, /<h1>Nicht gefunden<\/h1>/);
  assert.match(missing.text, /Zurück zu den Beiträgen/);
});

test("the socket's articles are rendered in the planet's language", async () => {
  const ws = await openSocket(`${de.url.replace("http", "ws")}/ws`);
  try {
    await ws.next((m) => m.type === "hello");
    ws.send(JSON.stringify({ type: "resume", since: 0 }));
    const entry = await ws.next((m) => m.type === "entry");
    assert.match(entry.html, /\d+\. [A-Z][a-zä]+\.? 2026, \d\d:\d\d UTC<\/time>/, entry.html);
    assert.equal(typeof entry.entry.published, "number", "the frame's data stays as it is");
  } finally {
    ws.close();
  }
});

test("the admin pages speak German", async () => {
  const login = await page(de, "/admin");
  assert.match(login.text, /Admin-Token/);
  assert.match(login.text, /<button type="submit">Anmelden<\/button>/);
  const { cookie, page: dash } = await adminSession(de.url);
  assert.match(dash, /<h1>Verwaltung<\/h1>/);
  assert.match(dash, /Feed hinzufügen/);
  assert.match(dash, /Alle Feeds aktualisieren/);
  assert.match(dash, /<h2 id="membership-h">Mitgliedschaft<\/h2>/);
  assert.match(dash, /<h2>Diese Installation<\/h2>/);
  assert.match(dash, /Alle Bindungen antworten\.|<ul class="attention">/);
  assert.match(dash, /Abmelden/);
  const health = await page(de, "/admin/health", { cookie });
  assert.match(health.text, /<h2>Feed-Zustand<\/h2>/);
  assert.match(health.text, /<th>Letzter Abruf<\/th>/);
  const audit = await page(de, "/admin/audit", { cookie });
  assert.match(audit.text, /<h2>Protokoll<\/h2>/);
  assert.match(audit.text, /Angemeldet als <strong>/);
  // A wrong token, said in German.
  const wrong = await fetch(`${de.url}/admin/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: "not-" + ADMIN_TOKEN }).toString(),
  });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /Dieses Token stimmt nicht\./);
});

test("Atom and RSS carry the language; the API, OPML and error codes stay as they are", async () => {
  const atom = await page(de, "/feed.atom");
  assert.match(atom.text, /<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom" xmlns:planet="[^"]+" xml:lang="de">/);
  const rss = await page(de, "/feed.rss");
  assert.match(rss.text, /<language>de<\/language>/);
  const r = await api(de.url, "GET", `/api/feeds/${feedId}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.status, "active", "statuses stay the API's words");
  const gone = await api(de.url, "GET", "/api/feeds/999999");
  assert.equal(gone.status, 404);
  assert.equal(gone.body.error.code, "not_found");
  assert.match(gone.body.error.message, /^[\x00-\x7f]*$/, "API messages are not translated");
  const opml = await page(de, "/feeds.opml");
  assert.match(opml.text, /<opml version="2\.0">/);
});

test("an unknown PLANET_LANG is English and a problem named on /healthz and /admin", async () => {
  const z = await api(bad.url, "GET", "/healthz", { token: null });
  assert.equal(z.status, 200);
  assert.equal(z.body.status, "degraded");
  assert.ok(z.body.problems.some((p) => p.startsWith('config: PLANET_LANG: "tlh" is not a language')), z.text);
  const home = await page(bad, "/");
  assert.match(home.text, /<html lang="en">/);
  assert.match(home.text, />River<\/a>/);
  const { page: dash } = await adminSession(bad.url);
  assert.match(dash, /config: PLANET_LANG: &quot;tlh&quot; is not a language/);
});
