// Admin pages: sign in with the admin token, a signed HttpOnly session cookie, CSRF tokens on every form.
// Each test signs in for itself and uses its own fixture path (fs.scope()): no session or feed
// is carried from one test to the next.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, ADMIN_TOKEN } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const post = (p, fields, headers = {}) =>
  fetch(w.url + p, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });

/** Signs in with the admin token; returns the session cookie and the admin page's CSRF token. */
async function signIn() {
  const r = await post("/admin/login", { token: ADMIN_TOKEN });
  assert.equal(r.status, 303);
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const page = await (await fetch(`${w.url}/admin`, { headers: { cookie } })).text();
  return { cookie, csrf: page.match(/name="csrf" value="([0-9a-f]+)"/)[1] };
}

/** The subscriptions to a feed at this fixture path (each test has its own prefix). */
const feedsAt = async (p) =>
  (await api(w.url, "GET", "/api/feeds", { token: null })).body.feeds.filter((f) => f.url.endsWith(p));

test("without a session /admin asks for the token", async () => {
  const r = await fetch(`${w.url}/admin`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /name="token"/);
});

test("a wrong token is refused; the right one sets a signed HttpOnly SameSite cookie", async () => {
  assert.equal((await post("/admin/login", { token: "wrong" })).status, 401);
  const r = await post("/admin/login", { token: ADMIN_TOKEN });
  assert.equal(r.status, 303);
  const set = r.headers.get("set-cookie");
  assert.match(set, /orrery_admin=[0-9]+\.[a-z0-9]+\.[0-9a-f]{64}/);
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Strict/);
  const cookie = set.split(";")[0];
  const page = await (await fetch(`${w.url}/admin`, { headers: { cookie } })).text();
  assert.match(page, /Add feed/);
  assert.match(page, /name="csrf" value="[0-9a-f]+"/);
});

test("a form without the CSRF token, or from another site, changes nothing", async () => {
  const f = fs.scope();
  f.set("/beta.atom", { file: "e2e/beta.atom" });
  const { cookie, csrf } = await signIn();
  const noToken = await post("/admin/feeds", { url: f.url("/beta.atom") }, { cookie });
  assert.equal(noToken.status, 403);
  const crossSite = await post("/admin/feeds", { url: f.url("/beta.atom"), csrf }, { cookie, origin: "https://evil.example" });
  assert.equal(crossSite.status, 403);
  // A sandboxed frame or a data: page posts with `Origin: null`: refused as cross-site.
  const opaque = await post("/admin/feeds", { url: f.url("/beta.atom"), csrf }, { cookie, origin: "null" });
  assert.equal(opaque.status, 403);
  const noSession = await post("/admin/feeds", { url: f.url("/beta.atom"), csrf });
  assert.equal(noSession.status, 401);
  const forged = await post("/admin/feeds", { url: f.url("/beta.atom"), csrf }, { cookie: cookie.replace(/.$/, (c) => (c === "0" ? "1" : "0")) });
  assert.equal(forged.status, 401);
  assert.deepEqual(await feedsAt(f.path("/beta.atom")), [], "no subscription was made");
  assert.equal(f.hits("/beta.atom"), 0, "the feed was never fetched");
});

test("with session and CSRF token the admin adds, refreshes and removes feeds", async () => {
  const f = fs.scope();
  f.set("/beta.atom", { file: "e2e/beta.atom" });
  const { cookie, csrf } = await signIn();
  const add = await post("/admin/feeds", { url: f.url("/beta.atom"), csrf }, { cookie });
  assert.equal(add.status, 303);
  assert.match(decodeURIComponent(add.headers.get("location").replaceAll("+", " ")), /Added Beta Blog with 2 entries/);
  const feeds = await feedsAt(f.path("/beta.atom"));
  assert.equal(feeds.length, 1);
  const id = feeds[0].id;
  const hits = f.hits("/beta.atom");
  const refresh = await post(`/admin/feeds/${id}/refresh`, { csrf }, { cookie });
  assert.equal(refresh.status, 303);
  assert.equal(f.hits("/beta.atom"), hits + 1, "the refresh fetched the feed");
  const del = await post(`/admin/feeds/${id}/delete`, { csrf }, { cookie });
  assert.equal(del.status, 303);
  assert.deepEqual(await feedsAt(f.path("/beta.atom")), []);
  const out = await post("/admin/logout", { csrf }, { cookie });
  assert.match(out.headers.get("set-cookie"), /Max-Age=0/);
});

test("signing out revokes: the same cookie, and the person's other sessions, no longer sign anyone in", async () => {
  const laptop = await signIn();
  // Signed a millisecond apart at least: a session issued after the sign-out is good.
  const phone = await signIn();
  const before = await fetch(`${w.url}/admin`, { headers: { cookie: phone.cookie } });
  assert.doesNotMatch(await before.text(), /name="token"/, "the phone is signed in");
  const out = await post("/admin/logout", { csrf: laptop.csrf }, { cookie: laptop.cookie });
  assert.equal(out.status, 303);
  for (const [name, s] of [["laptop", laptop], ["phone", phone]]) {
    // A copied cookie replayed after the sign-out asks for the token again, and cannot post.
    const page = await fetch(`${w.url}/admin`, { headers: { cookie: s.cookie } });
    assert.match(await page.text(), /name="token"/, `${name}: signed out`);
    const write = await post("/admin/feeds", { url: "http://127.0.0.1:9/x.atom", csrf: s.csrf }, { cookie: s.cookie });
    assert.equal(write.status, 401, `${name}: a write with the old session`);
  }
  await new Promise((r) => setTimeout(r, 5));
  const again = await signIn();
  const page = await fetch(`${w.url}/admin`, { headers: { cookie: again.cookie } });
  assert.doesNotMatch(await page.text(), /name="token"/, "signing in again works");
});
