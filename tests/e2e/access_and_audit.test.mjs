// Operating a planet: the audit log (who, what, when, which feed; paged newest first), feeds in
// trouble first on /admin with a retry, and named admins signed in through Cloudflare Access. The
// Access keys are an RSA pair made here; the fixture server publishes the public half as the
// team's JWKS and the Worker is pointed at it with ACCESS_CERTS_URL.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startWorker, startFeedServer, api, until, ADMIN_TOKEN } from "../support/harness.mjs";

const TEAM = "orrery-test";
const ISS = `https://${TEAM}.cloudflareaccess.com`;
const AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const CERTS = "/cdn-cgi/access/certs";

const keys = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const stranger = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });

let w, fs;
before(async () => {
  fs = await startFeedServer();
  const jwk = keys.publicKey.export({ format: "jwk" });
  fs.set(CERTS, {
    type: "application/json",
    body: JSON.stringify({ keys: [{ ...jwk, kid: "k1", alg: "RS256", use: "sig" }], public_cert: { kid: "k1", cert: "…" } }),
  });
  w = await startWorker({ vars: { ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD, ACCESS_CERTS_URL: fs.url(CERTS) } });
});
after(async () => { w?.stop(); await fs?.close(); });

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const nowS = () => Math.floor(Date.now() / 1000);

/** An Access assertion as Cloudflare makes one: RS256 over header.payload. */
function assertion(over = {}, { kid = "k1", key = keys.privateKey, alg = "RS256" } = {}) {
  const claims = {
    aud: [AUD], iss: ISS, email: "ada@example.com", sub: "a1b2", type: "app",
    iat: nowS(), nbf: nowS() - 5, exp: nowS() + 600, ...over,
  };
  const input = `${b64({ alg, kid, typ: "JWT" })}.${b64(claims)}`;
  const sig = alg === "RS256"
    ? crypto.sign("sha256", Buffer.from(input), key)
    : crypto.createHmac("sha256", keys.publicKey.export({ format: "pem", type: "spki" })).update(input).digest();
  return `${input}.${sig.toString("base64url")}`;
}

let ips = 0;
/** GET with an Access assertion, from an address of its own (so refusals do not spend one
 *  address's LOGIN_LIMIT budget for the next test). */
const viaAccess = (p, token, headers = {}) =>
  fetch(w.url + p, {
    redirect: "manual",
    headers: { "cf-access-jwt-assertion": token, "cf-connecting-ip": `198.51.100.${++ips}`, ...headers },
  });

const post = (p, fields, headers = {}) =>
  fetch(w.url + p, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });

const csrfOf = (page) => page.match(/name="csrf" value="([0-9a-f]+)"/)[1];
const msg = (r) => decodeURIComponent((r.headers.get("location") || "").replaceAll("+", " "));

/** Signs in with the shared admin token. */
async function tokenSession() {
  const r = await post("/admin/login", { token: ADMIN_TOKEN });
  assert.equal(r.status, 303);
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const page = await (await fetch(`${w.url}/admin`, { headers: { cookie } })).text();
  return { cookie, csrf: csrfOf(page), page };
}

/** The audit rows of one page: [{id, who, what, feed}], newest first, and the older link. */
async function auditPage(cookie, query = "") {
  const r = await fetch(`${w.url}/admin/audit${query}`, { headers: { cookie } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("cache-control"), "no-store");
  const html = await r.text();
  const rows = [...html.matchAll(/<tr data-audit="(\d+)">(.*?)<\/tr>/gs)].map(([, id, row]) => {
    const cell = (label) => (row.match(new RegExp(`data-label="${label}">(.*?)</td>`, "s"))?.[1] ?? "").replace(/<[^>]+>/g, "");
    return { id: Number(id), who: cell("Who"), what: cell("What"), feed: cell("Feed"), detail: cell("Detail") };
  });
  const older = html.match(/href="\/admin\/audit\?before=(\d+)"/)?.[1];
  return { html, rows, older };
}

test("a verified Access assertion signs in a named admin, whose writes the audit log shows under their email", async () => {
  const f = fs.scope();
  f.set("/a.atom", { file: "e2e/beta.atom" });
  const r = await viaAccess("/admin", assertion());
  assert.equal(r.status, 200);
  const set = r.headers.get("set-cookie");
  assert.match(set, /^orrery_admin=[0-9]+\.[a-z0-9]+\.[A-Za-z0-9_-]+\.[0-9a-f]{64};/, "a session naming the person");
  assert.match(set, /HttpOnly/);
  const cookie = set.split(";")[0];
  const page = await r.text();
  assert.match(page, /Add feed/);
  // The session carries on without the assertion, and its forms act as the person.
  const add = await post("/admin/feeds", { url: f.url("/a.atom"), csrf: csrfOf(page) }, { cookie });
  assert.equal(add.status, 303);
  assert.match(msg(add), /Added Beta Blog/);
  const { rows, html } = await auditPage(cookie);
  assert.match(html, /Signed in as <strong>ada@example\.com<\/strong>/);
  const created = rows.find((x) => x.what === "feed.create" && x.detail.endsWith("/a.atom"));
  assert.ok(created, JSON.stringify(rows));
  assert.equal(created.who, "ada@example.com");
  assert.equal(created.feed, "Beta Blog");
  const signIn = rows.find((x) => x.what === "session.start" && x.who === "ada@example.com");
  assert.ok(signIn && signIn.id < created.id, "signing in is recorded too, before the write");
  assert.ok(rows.indexOf(created) < rows.indexOf(signIn), "newest first");
  // Another person signs in: the keys are not fetched again (cached).
  const grace = await viaAccess("/admin/audit", assertion({ email: "grace@example.com" }));
  assert.equal(grace.status, 200);
  assert.match(await grace.text(), /Signed in as <strong>grace@example\.com<\/strong>/);
  assert.equal(fs.hits(CERTS), 1, "the team's keys were fetched once and cached");
});

test("assertions with the wrong audience, issuer, expiry, signature, key id or algorithm are refused", async () => {
  const cases = {
    "wrong aud": [assertion({ aud: ["someone-elses-app"] }), /another application/],
    "wrong issuer": [assertion({ iss: "https://evil.cloudflareaccess.com" }), /another team/],
    expired: [assertion({ iat: nowS() - 3600, exp: nowS() - 60 }), /expired/],
    "not yet valid": [assertion({ nbf: nowS() + 300 }), /not valid yet/],
    "bad signature": [assertion({}, { key: stranger.privateKey }), /signature does not verify/],
    "tampered claims": [(() => { const [h, , s] = assertion().split("."); return `${h}.${b64({ aud: [AUD], iss: ISS, email: "eve@example.com", exp: nowS() + 600 })}.${s}`; })(), /signature does not verify/],
    "wrong key id": [assertion({}, { kid: "k9" }), /a key the team does not publish/],
    "HS256 with the public key": [assertion({}, { alg: "HS256" }), /HS256, not RS256/],
    "no email": [assertion({ email: undefined, common_name: "svc.access" }), /names no person/],
  };
  for (const [what, [token, why]] of Object.entries(cases)) {
    const r = await viaAccess("/admin", token);
    assert.equal(r.status, 403, what);
    assert.equal(r.headers.get("set-cookie"), null, `${what}: no session`);
    const body = await r.text();
    assert.match(body, /Cloudflare Access sign-in refused/, what);
    assert.match(body, why, what);
    assert.doesNotMatch(body, /Add feed/, what);
  }
  // None of them reached the audit log as a person.
  const { cookie } = await tokenSession();
  const { rows } = await auditPage(cookie);
  assert.ok(!rows.some((x) => x.who === "eve@example.com"));
  assert.ok(fs.hits(CERTS) <= 2, `an unknown key id refetches the keys at most once a minute (${fs.hits(CERTS)})`);
});

test("the API and the shared token are audited as api and admin; the log pages back newest first", async () => {
  const f = fs.scope();
  f.set("/b.atom", { file: "e2e/beta.atom" });
  const created = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/b.atom") } });
  assert.equal(created.status, 201);
  const id = created.body.feed.id;
  // Enough writes for more than one page (50 a page).
  // A hold or resume that lands while the feed's own refresh runs is a documented 409
  // ("busy, try again"): a slow machine meets it, so ask again as a client would.
  const change = async (action) => {
    let last;
    await until(async () => (last = await api(w.url, "POST", `/api/feeds/${id}/${action}`)).status !== 409,
      { what: `${action} past a running refresh` });
    assert.equal(last.status, 200, JSON.stringify(last.body));
  };
  for (let i = 0; i < 26; i++) {
    await change("pause");
    await change("resume");
  }
  const { cookie, csrf } = await tokenSession();
  const refreshed = await post(`/admin/feeds/${id}/refresh`, { csrf }, { cookie });
  assert.equal(refreshed.status, 303);
  const first = await auditPage(cookie);
  assert.equal(first.rows.length, 50);
  const ids = first.rows.map((x) => x.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), "newest first");
  assert.deepEqual(first.rows[0], { ...first.rows[0], who: "admin", what: "feed.refresh" });
  assert.match(first.rows[0].detail, /unchanged|new/, "the refresh's outcome");
  assert.ok(first.rows.some((x) => x.who === "admin" && x.what === "session.start"));
  const holds = first.rows.filter((x) => x.what === "feed.held" || x.what === "feed.active");
  assert.ok(holds.length >= 40 && holds.every((x) => x.who === "api" && x.feed === "Beta Blog"), JSON.stringify(holds[0]));
  assert.ok(first.older, "a link to older records");
  const second = await auditPage(cookie, `?before=${first.older}`);
  assert.ok(second.rows.length > 0);
  assert.ok(second.rows.every((x) => x.id < Math.min(...ids)), "older records only");
  const add = second.rows.find((x) => x.what === "feed.create" && x.detail.endsWith("/b.atom"));
  assert.equal(add?.who, "api");
  // Removed: the record stays, naming the feed by id.
  assert.equal((await api(w.url, "DELETE", `/api/feeds/${id}`)).status, 200);
  const after = await auditPage(cookie);
  assert.deepEqual([after.rows[0].what, after.rows[0].who, after.rows[0].feed], ["feed.delete", "api", `#${id} (removed)`]);
  // Without a session the audit log is the sign-in form.
  const anon = await (await fetch(`${w.url}/admin/audit`)).text();
  assert.match(anon, /name="token"/);
  assert.doesNotMatch(anon, /data-audit=/);
});

test("failing and held feeds come first on /admin, with the last error and a retry that is audited", async () => {
  const f = fs.scope();
  for (const p of ["/ok.atom", "/held.atom", "/sick.atom"]) f.set(p, { file: "e2e/beta.atom" });
  const ids = {};
  for (const p of ["/ok.atom", "/held.atom", "/sick.atom"]) {
    const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(p) } });
    assert.equal(r.status, 201, p);
    ids[p] = r.body.feed.id;
  }
  assert.equal((await api(w.url, "POST", `/api/feeds/${ids["/held.atom"]}/pause`)).status, 200);
  f.set("/sick.atom", { status: 500, body: "down for maintenance", type: "text/plain" });
  for (let i = 0; i < 3; i++) await api(w.url, "POST", `/api/feeds/${ids["/sick.atom"]}/refresh`);
  assert.equal((await api(w.url, "GET", `/api/feeds/${ids["/sick.atom"]}`)).body.status, "failing");

  const { cookie, page } = await tokenSession();
  const order = [...page.matchAll(/<tr data-feed="(\d+)" data-status="(\w+)"/g)].map(([, id, status]) => ({ id: Number(id), status }));
  const at = (id) => order.findIndex((x) => x.id === id);
  assert.ok(at(ids["/sick.atom"]) < at(ids["/held.atom"]), JSON.stringify(order));
  assert.ok(at(ids["/held.atom"]) < at(ids["/ok.atom"]), JSON.stringify(order));
  const rank = { failing: 0, gone: 1, paused: 2, held: 3, active: 4 };
  assert.deepEqual(order.map((x) => rank[x.status]), order.map((x) => rank[x.status]).sort(), "trouble first");
  const row = (id) => page.slice(page.indexOf(`<tr data-feed="${id}"`), page.indexOf("</tr>", page.indexOf(`<tr data-feed="${id}"`)));
  const sick = row(ids["/sick.atom"]);
  assert.match(sick, /class="attention"/);
  assert.match(sick, /3 failed in a row/);
  assert.match(sick, /class="error">[^<]*500/);
  assert.match(sick, /Retry now/);
  assert.match(row(ids["/held.atom"]), /Resume/);
  assert.match(row(ids["/ok.atom"]), />Refresh</);
  assert.match(page, /feeds? need/);

  // The publisher is back; the retry fetches it and the feed is healthy again.
  f.set("/sick.atom", { file: "e2e/beta.atom" });
  const csrf = csrfOf(page);
  const retry = await post(`/admin/feeds/${ids["/sick.atom"]}/refresh`, { csrf }, { cookie });
  assert.equal(retry.status, 303);
  assert.equal((await api(w.url, "GET", `/api/feeds/${ids["/sick.atom"]}`)).body.status, "active");
  const { rows } = await auditPage(cookie);
  const r = rows.find((x) => x.what === "feed.refresh" && x.who === "admin");
  assert.ok(r, JSON.stringify(rows.slice(0, 5)));
  assert.ok(rows.some((x) => x.what === "feed.refresh" && x.who === "api"), "API refreshes are audited too");
});

test("cron's audit pruning runs in D1 and keeps records younger than the retention", async () => {
  const { cookie } = await tokenSession();
  const before = (await auditPage(cookie)).rows.map((x) => x.id);
  assert.ok(before.length > 0);
  const cron = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  assert.equal(cron.status, 200);
  const after = (await auditPage(cookie)).rows.map((x) => x.id);
  assert.ok(before.every((id) => after.includes(id)), "nothing younger than a year is pruned");
  assert.doesNotMatch(w.log(), /audit prune failed/);
});

test("without ACCESS_TEAM_DOMAIN and ACCESS_AUD an assertion is ignored: the sign-in form, no session", async () => {
  const plain = await startWorker();
  try {
    const r = await fetch(`${plain.url}/admin`, { headers: { "cf-access-jwt-assertion": assertion() } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("set-cookie"), null);
    assert.match(await r.text(), /name="token"/);
  } finally {
    plain.stop();
  }
});
