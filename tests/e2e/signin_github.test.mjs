// Signing in with GitHub (an OAuth app): authorize → callback → code exchange with PKCE →
// GET /user and /user/emails → Orrery's own session; GitHub users named by numeric id (a login
// in ADMINS is bound to the first account's id), verified primary emails, the provider's token
// never kept. GitHub is a loopback stand-in speaking its documented shapes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, adminSession } from "../support/harness.mjs";
import { startGitHubStandIn } from "../support/github_standin.mjs";
import { Jar, visit } from "../support/oidc_provider.mjs";

let w, gh;
before(async () => {
  gh = await startGitHubStandIn();
  w = await startWorker({
    vars: {
      GITHUB_CLIENT_ID: gh.clientId, GITHUB_CLIENT_SECRET: gh.clientSecret,
      GITHUB_URL: gh.base, GITHUB_API_URL: gh.api,
      ADMINS: "github:583231, github:hubot, mona@example.org",
    },
  });
});
after(async () => { w?.stop(); await gh?.close(); });

let ips = 0;
async function signIn(login) {
  gh.as(login);
  const jar = new Jar();
  const headers = { "cf-connecting-ip": `192.0.2.${++ips}` };
  const start = await visit(jar, `${w.url}/auth/github`, { headers });
  assert.equal(start.status, 302);
  const to = new URL(start.headers.get("location"));
  const s = await visit(jar, to.href);
  assert.equal(s.status, 302);
  const back = s.headers.get("location");
  const r = await visit(jar, back, { headers });
  return { r, jar, to, back, headers, html: await r.text(), cookies: r.headers.getSetCookie() };
}

async function audit(cookie) {
  const html = await (await fetch(`${w.url}/admin/audit`, { headers: { cookie } })).text();
  return [...html.matchAll(/<tr data-audit="\d+">(.*?)<\/tr>/gs)].map((m) => m[1].replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim());
}

test("the signed-out page offers GitHub first", async () => {
  const html = await (await fetch(`${w.url}/admin`)).text();
  assert.match(html, /href="\/auth\/github"[^>]*>Sign in with GitHub/);
  assert.ok(html.indexOf("/auth/github") < html.indexOf('name="token"'));
});

test("a GitHub user named by id signs in; the session names their login and never holds GitHub's token", async () => {
  const { r, jar, to, html, cookies } = await signIn("octocat");
  assert.equal(to.searchParams.get("code_challenge_method"), "S256");
  assert.match(to.searchParams.get("scope"), /user:email/);
  assert.equal(r.status, 200, html);
  assert.match(html, /Signed in as <strong>github:octocat<\/strong>/);
  assert.equal(cookies.length, 2, JSON.stringify(cookies));
  for (const t of gh.tokens()) assert.ok(!cookies.join(";").includes(t), "no provider token in a cookie");
  const session = `orrery_admin=${jar.get(w.url, "orrery_admin")}`;
  const page = await (await fetch(`${w.url}/admin`, { headers: { cookie: session } })).text();
  assert.match(page, /Add feed/);
  const rows = await audit(session);
  assert.ok(rows.some((row) => /github:octocat session\.start GitHub \(github:583231\)/.test(row)), rows.join("\n"));
  for (const t of gh.tokens()) assert.ok(!rows.join("\n").includes(t), "no provider token in the audit log");
  const api = gh.seen.filter((s) => s.path.startsWith("/api/"));
  assert.ok(api.every((s) => s.headers["user-agent"] && /^Bearer gho_/.test(s.headers.authorization)), "GitHub's API is asked as documented");
  assert.equal(gh.hits("/api/user/orgs"), 0, "no organization rule, no orgs asked");
});

test("a login in ADMINS is bound to the first account's id: someone who takes the login later is refused", async () => {
  const first = await signIn("hubot");
  assert.equal(first.r.status, 200, first.html);
  // The stranger renames themselves to hubot: GitHub says login "hubot", id 31337.
  gh.rename("stranger", "hubot");
  const taken = await signIn("stranger");
  assert.equal(taken.r.status, 403, taken.html);
  assert.match(taken.html, /Not an admin of this planet/);
  gh.rename(null, null);
  const { cookie, page } = await adminSession(w.url);
  assert.match(page, /<code>github:hubot<\/code> <small>\(GitHub user 999\)<\/small>/);
  assert.ok((await audit(cookie)).some((row) => /github:hubot signin\.refused/.test(row)));
});

test("a verified primary email lets in; an unverified one does not; a stranger is told so", async () => {
  const mona = await signIn("mona");
  assert.equal(mona.r.status, 200, mona.html);
  assert.match(mona.html, /github:mona/);
  const unverified = await signIn("unverified");
  assert.equal(unverified.r.status, 403);
  assert.match(unverified.html, /not verified/);
  const stranger = await signIn("stranger");
  assert.equal(stranger.r.status, 403);
  assert.match(stranger.html, /you are not an admin of this planet/);
});

test("a used code and a wrong state are clear pages, and nothing is signed in", async () => {
  const { back, headers } = await signIn("octocat");
  // Replaying the callback with a fresh state cookie: GitHub answers bad_verification_code.
  const jar = new Jar();
  const start = await visit(jar, `${w.url}/auth/github`, { headers });
  const state = new URL(start.headers.get("location")).searchParams.get("state");
  const replay = new URL(back);
  replay.searchParams.set("state", state);
  const r = await visit(jar, replay.href, { headers });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /refused the sign-in code/);
  assert.equal(r.headers.getSetCookie().filter((c) => c.startsWith("orrery_admin=")).length, 0);
  const wrong = await visit(new Jar(), `${w.url}/auth/github/callback?code=abc&state=forged`);
  assert.equal(wrong.status, 400);
  assert.match(await wrong.text(), /state does not match/);
});

test("OpenID Connect is not set up here: its routes say so", async () => {
  const r = await fetch(`${w.url}/auth/oidc`, { redirect: "manual" });
  assert.equal(r.status, 404);
  assert.match(await r.text(), /OpenID Connect sign-in is not set up/);
});

test("an organization rule added on /admin lets its members in, and only then asks for read:org", async () => {
  const { cookie, csrf } = await adminSession(w.url);
  const add = await fetch(`${w.url}/admin/admins`, {
    method: "POST", redirect: "manual",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, rule: "github-org:Elsewhere" }).toString(),
  });
  assert.equal(add.status, 303);
  const before = gh.hits("/api/user/orgs");
  const member = await signIn("stranger");
  assert.equal(member.r.status, 200, member.html);
  assert.match(member.to.searchParams.get("scope"), /read:org/);
  assert.equal(gh.hits("/api/user/orgs"), before + 1);
  const rows = await audit(cookie);
  assert.ok(rows.some((row) => /github:stranger session\.start GitHub \(github-org:elsewhere\)/.test(row)), rows.join("\n"));
});
