// /health as the planet Orrery replaces answers it (issue 21, row 3): HTTP 200 in every state,
// exactly its keys, `unhealthy` / `healthy` / `degraded` as its feeds go; and the operator's
// knobs (row 8) against the real runtime: the footer's text escaped, FOAF and RSS 1.0 turned
// off, the owner's contact in the User-Agent a publisher sees and in OPML, a bad value named
// on /healthz and /admin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, ADMIN_TOKEN } from "../support/harness.mjs";

let plain, knobs, fs;
before(async () => {
  [plain, knobs, fs] = await Promise.all([
    startWorker(),
    startWorker({
      vars: {
        FOOTER_TEXT: "Run by <script>alert(1)</script> & friends",
        SHOW_ADMIN_LINK: "true",
        ENABLE_FOAF: "false",
        ENABLE_RSS10: "false",
        PLANET_OWNER_NAME: "Ada Lovelace",
        PLANET_OWNER_EMAIL: "ada@planet.example",
        FAILING_AFTER: "many",
      },
    }),
    startFeedServer(),
  ]);
});
after(async () => { plain?.stop(); knobs?.stop(); await fs?.close(); });

const health = async (w) => {
  const r = await fetch(`${w.url}/health`);
  const text = await r.text();
  return { status: r.status, text, body: JSON.parse(text) };
};

/** A good feed on its own path; returns its id and the scope to turn it faulty. */
async function addFeed(w) {
  const f = fs.scope();
  f.set("/feed.xml", { file: "e2e/alpha.xml" });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/feed.xml") } });
  assert.equal(r.status, 201, r.text);
  return { id: r.body.feed.id, f };
}

test("/health speaks the old planet's contract: 200 always, its keys exactly, unhealthy → healthy → degraded", async () => {
  // No feeds: unhealthy, and still 200 (monitors read the body).
  let h = await health(plain);
  assert.equal(h.status, 200);
  assert.equal(h.text,
    '{"service":"Test Planet","status":"unhealthy","feeds":{"total":0,"healthy":0,"warning":0,"failing":0,"inactive":0}}');
  assert.deepEqual(Object.keys(h.body), ["service", "status", "feeds"]);
  assert.deepEqual(Object.keys(h.body.feeds), ["total", "healthy", "warning", "failing", "inactive"]);

  const a = await addFeed(plain);
  h = await health(plain);
  assert.deepEqual([h.status, h.body.status, h.body.feeds], [200, "healthy", { total: 1, healthy: 1, warning: 0, failing: 0, inactive: 0 }]);

  // One failure in a row: a warning, the planet still healthy.
  const b = await addFeed(plain);
  b.f.set("/feed.xml", { status: 500, body: "oops" });
  await api(plain.url, "POST", `/api/feeds/${b.id}/refresh`);
  h = await health(plain);
  assert.deepEqual([h.body.status, h.body.feeds], ["healthy", { total: 2, healthy: 1, warning: 1, failing: 0, inactive: 0 }]);

  // Three in a row: failing, the planet degraded.
  for (let i = 0; i < 2; i++) await api(plain.url, "POST", `/api/feeds/${b.id}/refresh`);
  h = await health(plain);
  assert.deepEqual([h.status, h.body.status, h.body.feeds], [200, "degraded", { total: 2, healthy: 1, warning: 0, failing: 1, inactive: 0 }]);

  // Paused by hand is inactive; with no healthy feed left the planet is unhealthy.
  assert.equal((await api(plain.url, "POST", `/api/feeds/${b.id}/pause`)).status, 200);
  h = await health(plain);
  assert.deepEqual([h.body.status, h.body.feeds], ["degraded", { total: 2, healthy: 1, warning: 0, failing: 0, inactive: 1 }]);
  assert.equal((await api(plain.url, "POST", `/api/feeds/${a.id}/pause`)).status, 200);
  h = await health(plain);
  assert.deepEqual([h.status, h.body.status, h.body.feeds], [200, "unhealthy", { total: 2, healthy: 0, warning: 0, failing: 0, inactive: 2 }]);

  // /healthz stays the liveness probe, as it was.
  const z = await api(plain.url, "GET", "/healthz", { token: null });
  assert.equal(z.status, 200);
  assert.equal(z.body.status, "ok");
  assert.equal(z.body.feeds, 2);
  assert.equal(z.body.warning, undefined, "the probe's keys are unchanged");
});

test("the footer shows the operator's text escaped and a link to /admin; FOAF and RSS 1.0 are gone when off", async () => {
  const home = await (await fetch(`${knobs.url}/`)).text();
  assert.match(home, /<p class="footer-text">Run by &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; friends<\/p>/);
  assert.ok(!home.includes("<script>alert(1)"), "never as markup");
  assert.match(home, /<a href="\/admin">Admin<\/a>/);
  assert.ok(!home.includes("/foafroll.xml") && !home.includes("/feed.rss10"), "no link to a feed out that is off");
  for (const p of ["/foafroll.xml", "/feed.rss10", "/rss10.xml"]) {
    const r = await fetch(`${knobs.url}${p}`, { redirect: "manual" });
    assert.equal(r.status, 404, p);
  }
  // The defaults keep today's planet: both served and linked, no admin link.
  const today = await (await fetch(`${plain.url}/`)).text();
  assert.ok(today.includes('href="/foafroll.xml"') && today.includes('href="/feed.rss10"'));
  assert.ok(!today.includes('href="/admin"'));
  assert.equal((await fetch(`${plain.url}/foafroll.xml`)).status, 200);
});

test("publishers see the owner's contact in the User-Agent; OPML names the owner", async () => {
  const f = fs.scope();
  const agents = [];
  f.set("/feed.xml", (req) => {
    agents.push(req.headers["user-agent"]);
    return { file: "e2e/alpha.xml" };
  });
  const r = await api(knobs.url, "POST", "/api/feeds", { body: { url: f.url("/feed.xml") } });
  assert.equal(r.status, 201, r.text);
  assert.ok(agents.length >= 1);
  for (const ua of agents) {
    assert.equal(ua, `Orrery/0.1 (feed aggregator; +${knobs.url}; Ada Lovelace <ada@planet.example>)`);
  }
  const opml = await (await fetch(`${knobs.url}/feeds.opml`)).text();
  assert.match(opml, /<ownerName>Ada Lovelace<\/ownerName>/);
  assert.match(opml, /<ownerEmail>ada@planet\.example<\/ownerEmail>/);
});

test("a bad value is named on /healthz and /admin, and its default kept", async () => {
  const z = await api(knobs.url, "GET", "/healthz", { token: null });
  assert.equal(z.status, 200);
  assert.equal(z.body.status, "degraded");
  assert.ok(z.body.problems.some((p) => p.startsWith('config: FAILING_AFTER: "many" is not a whole number')), z.text);
  const login = await fetch(`${knobs.url}/admin/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
  });
  assert.equal(login.status, 303);
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const html = await (await fetch(`${knobs.url}/admin`, { headers: { cookie } })).text();
  assert.match(html, /config: FAILING_AFTER: &quot;many&quot; is not a whole number/);
});
