// Signing in as yourself with an OpenID Connect provider: a real, OpenID Certified one
// (oidc-provider, on `localhost`; the planet on 127.0.0.1), discovery, authorization code +
// PKCE, the ID token checked by the one verifier (ES256, then RS256 after the provider rotates
// its key), the admin list seeded from ADMINS and edited on /admin, refusals and every bad
// input a clear page, audited once, nothing stored; removing an admin ends their session.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, freePort, postForm, adminSession, sleep } from "../support/harness.mjs";
import { startOidcProvider, Jar, visit, throughProvider } from "../support/oidc_provider.mjs";

let w, op, planetPort;
before(async () => {
  planetPort = await freePort();
  const callback = `http://127.0.0.1:${planetPort}/auth/oidc/callback`;
  op = await startOidcProvider({ redirectUri: callback });
  w = await startWorker({
    port: planetPort,
    vars: {
      OIDC_ISSUER: op.issuer, OIDC_CLIENT_ID: op.clientId, OIDC_CLIENT_SECRET: op.clientSecret,
      OIDC_NAME: "Test ID", ADMINS: "ada@example.org *@corp.example",
    },
  });
});
after(async () => { w?.stop(); await op?.close(); });

let ips = 0;
const fromNewAddress = () => ({ "cf-connecting-ip": `203.0.113.${++ips}` });

/** Starts a sign-in at the planet: the redirect to the provider and the state cookie. */
async function start(jar, headers = fromNewAddress()) {
  const r = await visit(jar, `${w.url}/auth/oidc`, { headers });
  assert.equal(r.status, 302, await r.text());
  return { location: r.headers.get("location"), setCookies: r.headers.getSetCookie(), headers };
}

/** A whole sign-in as `login`: the callback's answer (not followed) and the jar. */
async function signIn(login) {
  const jar = new Jar();
  const s = await start(jar);
  const back = await throughProvider(jar, s.location, login, `${w.url}/auth/oidc/callback`);
  const r = await visit(jar, back, { headers: s.headers });
  return { r, jar, back, html: await r.text(), headers: s.headers };
}

async function audit(cookie) {
  const html = await (await fetch(`${w.url}/admin/audit`, { headers: { cookie } })).text();
  return [...html.matchAll(/<tr data-audit="\d+">(.*?)<\/tr>/gs)].map((m) => m[1].replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim());
}

test("the signed-out admin page offers the provider first and the token after", async () => {
  const html = await (await fetch(`${w.url}/admin`)).text();
  const oidc = html.indexOf('href="/auth/oidc"');
  assert.ok(oidc > 0, html);
  assert.match(html, /Sign in with Test ID/);
  assert.ok(html.indexOf('name="token"') > oidc, "the token after the provider");
  assert.doesNotMatch(html, /href="\/auth\/github"/, "GitHub is not configured here");
});

test("an admin signs in through the provider: PKCE, a Lax state cookie, a 200 that moves on to /admin", async () => {
  const jar = new Jar();
  const s = await start(jar);
  const to = new URL(s.location);
  assert.equal(to.host, new URL(op.issuer).host, "off to the provider on localhost");
  assert.equal(to.searchParams.get("code_challenge_method"), "S256");
  assert.ok(to.searchParams.get("nonce") && to.searchParams.get("state"));
  const state = s.setCookies.find((c) => c.startsWith("orrery_signin="));
  assert.match(state, /HttpOnly/);
  assert.match(state, /SameSite=Lax/);
  assert.match(state, /Path=\/auth/);
  const back = await throughProvider(jar, s.location, "ada", `${w.url}/auth/oidc/callback`);
  const r = await visit(jar, back, { headers: s.headers });
  const html = await r.text();
  assert.equal(r.status, 200, html);
  assert.match(html, /http-equiv="refresh" content="0; url=\/admin"/);
  assert.match(html, /Signed in as <strong>ada@example\.org<\/strong>/);
  const cookies = r.headers.getSetCookie();
  assert.equal(cookies.length, 2, JSON.stringify(cookies));
  assert.match(cookies.find((c) => c.startsWith("orrery_admin=")), /SameSite=Strict.*Max-Age=43200|Max-Age=43200.*SameSite=Strict|SameSite=Strict/);
  assert.match(cookies.find((c) => c.startsWith("orrery_signin=")), /Max-Age=0/, "the state cookie is cleared");
  const session = jar.get(w.url, "orrery_admin");
  const page = await (await fetch(`${w.url}/admin`, { headers: { cookie: `orrery_admin=${session}` } })).text();
  assert.match(page, /Add feed/);
  assert.match(page, /<code>ada@example\.org<\/code>/, "the admin list, seeded from ADMINS");
  assert.ok((await audit(`orrery_admin=${session}`)).some((row) => /ada@example\.org session\.start/.test(row)));
  assert.ok(op.hits("/jwks") >= 1, "the provider's keys were read");
  assert.equal(op.hits("/.well-known/openid-configuration"), 1, "discovery is cached");
});

test("a replayed code and a wrong or missing state are refused with a clear page, nothing stored", async () => {
  const { r, back, headers } = await signIn("ada");
  assert.equal(r.status, 200);
  // The same callback again, with a fresh state cookie for the same state: the code is spent.
  const again = new Jar();
  const s = await start(again, headers);
  const state = new URL(s.location).searchParams.get("state");
  const replay = new URL(back);
  replay.searchParams.set("state", state);
  const rr = await visit(again, replay.href, { headers });
  const text = await rr.text();
  assert.equal(rr.status, 400, text);
  assert.match(text, /refused the sign-in code/);
  assert.equal(rr.headers.getSetCookie().filter((c) => c.startsWith("orrery_admin=")).length, 0);
  // A state that is not this browser's, and none at all.
  const wrong = await visit(new Jar(), `${w.url}/auth/oidc/callback?code=x&state=forged`, { headers: fromNewAddress() });
  assert.equal(wrong.status, 400);
  assert.match(await wrong.text(), /state does not match/);
  const jar = new Jar();
  const s2 = await start(jar);
  const forged = await visit(jar, `${w.url}/auth/oidc/callback?code=x&state=not-the-one`, { headers: s2.headers });
  assert.equal(forged.status, 400);
  assert.match(await forged.text(), /state does not match/);
  // The provider's own refusal (the person pressed "cancel").
  const denied = await visit(jar, `${w.url}/auth/oidc/callback?error=access_denied&error_description=End-User+aborted`, { headers: s2.headers });
  assert.equal(denied.status, 403);
  assert.match(await denied.text(), /did not sign you in: End-User aborted/);
});

test("someone the list does not name is told so, audited once an hour; an unverified email is not enough", async () => {
  const eve = await signIn("eve");
  assert.equal(eve.r.status, 403, eve.html);
  assert.match(eve.html, /Not an admin of this planet/);
  assert.match(eve.html, /eve@else\.example/);
  assert.equal(eve.r.headers.getSetCookie().filter((c) => c.startsWith("orrery_admin=")).length, 0);
  const twice = await signIn("eve");
  assert.equal(twice.r.status, 403);
  const cy = await signIn("cy");
  assert.equal(cy.r.status, 403);
  assert.match(cy.html, /not verified/);
  const dee = await signIn("dee");
  assert.equal(dee.r.status, 200, "a verified email of the *@corp.example rule");
  const { cookie } = await adminSession(w.url);
  const rows = await audit(cookie);
  assert.equal(rows.filter((row) => /eve@else\.example signin\.refused/.test(row)).length, 1, rows.join("\n"));
  assert.equal(rows.filter((row) => /signin\.refused .*not verified/.test(row)).length, 1, rows.join("\n"));
});

test("a tampered or expired ID token and an issuer that is down are clear pages", async () => {
  const cases = {
    "tamper-claims": [403, /signature that does not verify/],
    "tamper-expired": [403, /has expired/],
  };
  for (const [mode, [status, why]] of Object.entries(cases)) {
    const jar = new Jar();
    const s = await start(jar);
    const back = await throughProvider(jar, s.location, "eve", `${w.url}/auth/oidc/callback`);
    op.mode = mode;
    try {
      const r = await visit(jar, back, { headers: s.headers });
      const html = await r.text();
      assert.equal(r.status, status, `${mode}: ${html}`);
      assert.match(html, why, mode);
      assert.equal(r.headers.getSetCookie().filter((c) => c.startsWith("orrery_admin=")).length, 0, mode);
    } finally { op.mode = "up"; }
  }
  const jar = new Jar();
  const s = await start(jar);
  op.mode = "down";
  try {
    const state = new URL(s.location).searchParams.get("state");
    const r = await visit(jar, `${w.url}/auth/oidc/callback?code=abc&state=${state}`, { headers: s.headers });
    const html = await r.text();
    assert.equal(r.status, 502, html);
    assert.match(html, /could not be reached/);
  } finally { op.mode = "up"; }
  // A token that does not verify needed a code the provider issued: audited. A provider that is
  // down, or a made-up state, anyone can cause: only logged, never a row.
  const { cookie } = await adminSession(w.url);
  const rows = await audit(cookie);
  assert.ok(rows.some((row) => /anonymous signin\.refused oidc: the ID token has a signature that does not verify/.test(row)), rows.join("\n"));
  assert.ok(rows.some((row) => /anonymous signin\.refused oidc: the ID token has expired/.test(row)), rows.join("\n"));
  assert.ok(!rows.some((row) => /could not be reached|state does not match/.test(row)), rows.join("\n"));
});

test("an admin added on /admin signs in; removed, their live session ends at once; sign-out clears every cookie", async () => {
  const { cookie, csrf } = await adminSession(w.url);
  const bad = await postForm(w.url, "/admin/admins", { csrf, rule: "not an admin" }, { cookie });
  assert.match(decodeURIComponent(bad.headers.get("location")).replaceAll("+", " "), /Nobody added/);
  const noCsrf = await postForm(w.url, "/admin/admins", { rule: "bob@example.org" }, { cookie });
  assert.equal(noCsrf.status, 403);
  const add = await postForm(w.url, "/admin/admins", { csrf, rule: "Bob@Example.org" }, { cookie });
  assert.equal(add.status, 303);
  const bob = await signIn("bob");
  assert.equal(bob.r.status, 200, bob.html);
  const bobCookie = `orrery_admin=${bob.jar.get(w.url, "orrery_admin")}`;
  const dash = await (await fetch(`${w.url}/admin`, { headers: { cookie: bobCookie } })).text();
  assert.match(dash, /Add feed/);
  const id = dash.match(/<li data-admin="(\d+)"><code>bob@example\.org<\/code>/)[1];
  assert.doesNotMatch(dash, /action="\/admin\/admins\/1\/delete"/, "a seeded admin has no remove button");
  // Seeded admins cannot be removed on the page.
  const seeded = await postForm(w.url, "/admin/admins/1/delete", { csrf }, { cookie });
  assert.match(decodeURIComponent(seeded.headers.get("location")).replaceAll("+", " "), /ADMINS setting/);
  const rm = await postForm(w.url, `/admin/admins/${id}/delete`, { csrf }, { cookie });
  assert.match(decodeURIComponent(rm.headers.get("location")).replaceAll("+", " "), /sessions have ended/);
  const after = await (await fetch(`${w.url}/admin`, { headers: { cookie: bobCookie } })).text();
  assert.match(after, /name="token"/, "bob is signed out at once");
  assert.doesNotMatch(after, /Add feed/);
  const rows = await audit(cookie);
  assert.ok(rows.some((r) => /admin admin\.add bob@example\.org/.test(r)), rows.join("\n"));
  assert.ok(rows.some((r) => /admin admin\.remove bob@example\.org/.test(r)), rows.join("\n"));
  // Ada signs out: both of our cookies are cleared, each in its own header.
  const ada = await signIn("ada");
  const adaCookie = `orrery_admin=${ada.jar.get(w.url, "orrery_admin")}`;
  const adaPage = await (await fetch(`${w.url}/admin`, { headers: { cookie: adaCookie } })).text();
  const adaCsrf = adaPage.match(/name="csrf" value="([0-9a-f]+)"/)[1];
  const out = await postForm(w.url, "/admin/logout", { csrf: adaCsrf }, { cookie: adaCookie });
  assert.equal(out.status, 303);
  const cleared = out.headers.getSetCookie();
  assert.ok(cleared.some((c) => /^orrery_admin=;.*Max-Age=0/.test(c)), JSON.stringify(cleared));
  assert.ok(cleared.some((c) => /^orrery_signin=;.*Path=\/auth.*Max-Age=0/.test(c)), JSON.stringify(cleared));
  const gone = await (await fetch(`${w.url}/admin`, { headers: { cookie: adaCookie } })).text();
  assert.match(gone, /name="token"/);
});

test("the provider rotates its key: the verifier fetches the keys again for the unknown kid", async () => {
  const before = op.hits("/jwks");
  const oldKid = op.kid();
  const newKid = op.rotate("RSA");
  assert.notEqual(oldKid, newKid);
  // The verifier fetches a set again for an unknown key at most once a minute.
  await sleep(61000);
  const { r, html } = await signIn("ada");
  assert.equal(r.status, 200, html);
  assert.ok(op.hits("/jwks") > before, "the new keys were fetched");
});
