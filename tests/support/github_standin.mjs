// A loopback stand-in for GitHub's OAuth app flow and REST API, speaking the shapes GitHub
// documents ("Authorizing OAuth apps"; REST "Get the authenticated user", "List email
// addresses for the authenticated user", "List organizations for the authenticated user"):
// the authorize page (it signs in `next` at once and redirects back with a code), the code
// exchange (PKCE S256 checked; a used or unknown code is a 200 with `bad_verification_code`,
// as GitHub answers), `GET /api/user`, `/api/user/emails`, `/api/user/orgs`.
import { createServer } from "node:http";
import crypto from "node:crypto";

export const GITHUB_USERS = {
  octocat: { id: 583231, emails: [{ email: "octocat@github.example", primary: true, verified: true, visibility: "public" }], orgs: [] },
  hubot: { id: 999, emails: [], orgs: [] },
  mona: { id: 4242, emails: [{ email: "old@example.org", primary: false, verified: true }, { email: "mona@example.org", primary: true, verified: true }], orgs: [] },
  unverified: { id: 5150, emails: [{ email: "mona@example.org", primary: true, verified: false }], orgs: [] },
  stranger: { id: 31337, emails: [{ email: "stranger@example.net", primary: true, verified: true }], orgs: [{ login: "elsewhere", id: 3 }] },
};

export async function startGitHubStandIn({ clientId = "Iv1.orrerytest", clientSecret = "github-test-secret-0123456789" } = {}) {
  const codes = new Map(); // code → { login, challenge, redirect_uri }
  const tokens = new Map(); // token → login
  const users = structuredClone(GITHUB_USERS);
  const hits = new Map();
  const seen = []; // every request: method, path, headers (the tests check what was sent)
  let next = "octocat";
  let loginOverride = null; // a renamed account: { login, as }

  const json = (res, status, body) => { res.writeHead(status, { "content-type": "application/json; charset=utf-8" }); res.end(JSON.stringify(body)); };
  const readBody = (req) => new Promise((r) => { let b = ""; req.on("data", (c) => { b += c; }); req.on("end", () => r(b)); });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    hits.set(url.pathname, (hits.get(url.pathname) || 0) + 1);
    seen.push({ method: req.method, path: url.pathname, headers: req.headers });
    if (req.method === "GET" && url.pathname === "/login/oauth/authorize") {
      const q = url.searchParams;
      if (q.get("client_id") !== clientId) return json(res, 404, { message: "Not Found" });
      const code = crypto.randomBytes(10).toString("hex");
      codes.set(code, { login: next, challenge: q.get("code_challenge"), method: q.get("code_challenge_method"), redirect_uri: q.get("redirect_uri"), scope: q.get("scope") });
      const back = new URL(q.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state"));
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (req.method === "POST" && url.pathname === "/login/oauth/access_token") {
      const f = new URLSearchParams(await readBody(req));
      if (f.get("client_id") !== clientId || f.get("client_secret") !== clientSecret) {
        return json(res, 200, { error: "incorrect_client_credentials", error_description: "The client_id and/or client_secret passed are incorrect." });
      }
      const c = codes.get(f.get("code"));
      codes.delete(f.get("code"));
      const verifier = f.get("code_verifier") || "";
      const s256 = crypto.createHash("sha256").update(verifier).digest("base64url");
      if (!c || c.redirect_uri !== f.get("redirect_uri") || c.method !== "S256" || s256 !== c.challenge) {
        return json(res, 200, { error: "bad_verification_code", error_description: "The code passed is incorrect or expired.", error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code" });
      }
      const token = `gho_${crypto.randomBytes(18).toString("hex")}`;
      tokens.set(token, c.login);
      return json(res, 200, { access_token: token, token_type: "bearer", scope: (c.scope || "").replaceAll(" ", ",") });
    }
    const auth = req.headers.authorization || "";
    const who = tokens.get(auth.replace(/^(Bearer|token) /, ""));
    if (url.pathname.startsWith("/api/")) {
      if (!req.headers["user-agent"]) return json(res, 403, { message: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header" });
      if (!who) return json(res, 401, { message: "Requires authentication", documentation_url: "https://docs.github.com/rest" });
      const u = users[who];
      const login = loginOverride?.as === who ? loginOverride.login : who;
      if (url.pathname === "/api/user") return json(res, 200, { login, id: u.id, node_id: `U_${u.id}`, avatar_url: `https://avatars.example/u/${u.id}`, type: "User", name: login, email: null });
      if (url.pathname === "/api/user/emails") return json(res, 200, u.emails);
      if (url.pathname === "/api/user/orgs") return json(res, 200, u.orgs);
    }
    json(res, 404, { message: "Not Found" });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base, api: `${base}/api`, clientId, clientSecret, users, seen,
    hits: (p) => hits.get(p) || 0,
    /** Who the next authorize signs in. */
    as(login) { next = login; },
    /** `as` is now known to GitHub as `login` (renamed; its id unchanged). */
    rename(as, login) { loginOverride = { as, login }; },
    tokens: () => [...tokens.keys()],
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}
