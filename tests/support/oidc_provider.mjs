// A real, OpenID Certified provider for the sign-in tests: panva's `oidc-provider` (pinned in
// package.json), on loopback under the name `localhost` (the planet is on 127.0.0.1, so the
// flow is cross-site), with one confidential client and the provider's own login/consent
// interaction, which `signIn` drives over HTTP like a person. `rotate()` replaces the signing
// key (the provider's JWKS changes); `mode` makes the provider unreachable or has the token
// answer tampered with on its way to the planet.
import { createServer, request as httpRequest } from "node:http";
import crypto from "node:crypto";
import Provider from "oidc-provider";

/** People who can sign in at the provider (their login is their account id). */
export const ACCOUNTS = {
  ada: { email: "ada@example.org", email_verified: true },
  bob: { email: "bob@example.org", email_verified: true },
  eve: { email: "eve@else.example", email_verified: true },
  cy: { email: "cy@corp.example", email_verified: false },
  dee: { email: "dee@corp.example", email_verified: true },
};

function keyPair(kind) {
  const { privateKey } = kind === "EC"
    ? crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
    : crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" });
  return { privateKey, jwk: { ...jwk, kid: `${kind.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`, use: "sig", alg: kind === "EC" ? "ES256" : "RS256" } };
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** Starts the provider; `redirectUri` is the planet's callback. */
export async function startOidcProvider({ redirectUri, clientId = "orrery-test", clientSecret = "orrery-test-secret-0123456789abcdef" }) {
  let key = keyPair("EC");
  let current = null;
  let port = 0;
  let issuer = "";
  const hits = new Map();
  const state = { mode: "up" };

  function build() {
    const alg = key.jwk.alg;
    const p = new Provider(issuer, {
      clients: [{
        client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri],
        grant_types: ["authorization_code"], response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic", id_token_signed_response_alg: alg,
      }],
      jwks: { keys: [key.jwk] },
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
      findAccount: (ctx, id) => ACCOUNTS[id] ? { accountId: id, claims: () => ({ sub: id, ...ACCOUNTS[id] }) } : undefined,
      cookies: { keys: ["test-cookie-key-0123456789"] },
      pkce: { required: () => true },
      features: { devInteractions: { enabled: true } },
      ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Session: 600, Interaction: 600, Grant: 600 },
    });
    p.on("server_error", (ctx, err) => console.error("oidc-provider:", err));
    return p.callback();
  }

  /** The token answer, tampered with: `claims` swaps the ID token's email and subject
   *  keeping the signature; `expired` re-signs it with the provider's own key, expired. */
  function tamper(body) {
    const json = JSON.parse(body);
    const [h, p, s] = json.id_token.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url"));
    if (state.mode === "tamper-claims") {
      json.id_token = `${h}.${b64({ ...claims, sub: "ada", email: "ada@example.org", email_verified: true })}.${s}`;
    } else if (state.mode === "tamper-expired") {
      const now = Math.floor(Date.now() / 1000);
      const input = `${h}.${b64({ ...claims, iat: now - 900, exp: now - 600 })}`;
      const sig = crypto.sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
      json.id_token = `${input}.${sig.toString("base64url")}`;
    }
    return JSON.stringify(json);
  }

  // The provider itself listens on an inner port; the outer server, under the issuer's name,
  // passes every request through (and, when told, tampers with the token answer).
  const inner = createServer((req, res) => current(req, res));
  await new Promise((r) => inner.listen(0, "127.0.0.1", r));
  const innerPort = inner.address().port;
  const server = createServer((req, res) => {
    const p = req.url.split("?")[0];
    hits.set(p, (hits.get(p) || 0) + 1);
    if (state.mode === "down") { res.writeHead(503, { "content-type": "text/plain" }); res.end("down for maintenance"); return; }
    const tampering = state.mode.startsWith("tamper-") && p === "/token";
    const up = httpRequest({ host: "127.0.0.1", port: innerPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (!tampering) { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); return; }
      const chunks = [];
      answer.on("data", (c) => chunks.push(c));
      answer.on("end", () => {
        let body = Buffer.concat(chunks).toString();
        try { body = tamper(body); } catch { /* an error answer: as it is */ }
        const headers = { ...answer.headers };
        delete headers["content-length"];
        res.writeHead(answer.statusCode, headers);
        res.end(body);
      });
    });
    up.on("error", (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(up);
  });
  // `localhost` on whichever loopback the system resolves it to: both families where it can.
  await new Promise((resolve, reject) => {
    server.once("error", () => server.listen(0, "127.0.0.1", resolve));
    server.listen(0, "::", resolve);
    void reject;
  });
  port = server.address().port;
  issuer = `http://localhost:${port}`;
  current = build();

  return {
    issuer, clientId, clientSecret, hits: (p) => hits.get(p) || 0,
    set mode(m) { state.mode = m; }, get mode() { return state.mode; },
    /** A new signing key (RS256 after the first ES256 one): the JWKS has only the new key. */
    rotate(kind = "RSA") { key = keyPair(kind); current = build(); return key.jwk.kid; },
    kid: () => key.jwk.kid,
    close: () => Promise.all([server, inner].map((s) => new Promise((r) => { s.closeAllConnections?.(); s.close(r); }))),
  };
}

/** A tiny cookie jar for one browser: name → value per site (host), as a browser keeps them. */
export class Jar {
  constructor() { this.sites = new Map(); }
  take(url, headers) {
    const host = new URL(url).host;
    const jar = this.sites.get(host) ?? new Map();
    for (const c of headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(";");
      const [name, ...v] = pair.split("=");
      const value = v.join("=");
      const maxAge = attrs.map((a) => a.trim().toLowerCase()).find((a) => a.startsWith("max-age="));
      if (value === "" || maxAge === "max-age=0") jar.delete(name.trim()); else jar.set(name.trim(), value);
    }
    this.sites.set(host, jar);
  }
  header(url) {
    const jar = this.sites.get(new URL(url).host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join("; ") : "";
  }
  get(url, name) { return this.sites.get(new URL(url).host)?.get(name); }
}

/** GET (or a form POST) without following redirects, cookies from and into the jar. */
export async function visit(jar, url, { form, headers = {} } = {}) {
  const h = { ...headers };
  const cookie = jar.header(url);
  if (cookie) h.cookie = cookie;
  let body;
  if (form) { h["content-type"] = "application/x-www-form-urlencoded"; body = new URLSearchParams(form).toString(); }
  const r = await fetch(url, { method: form ? "POST" : "GET", headers: h, body, redirect: "manual" });
  jar.take(url, r.headers);
  return r;
}

/** Follows redirects by hand from `url` until one leaves for `stopAt` (the planet's callback),
 *  signing in as `login` and consenting when the provider asks. Returns the callback URL. */
export async function throughProvider(jar, url, login, stopAt) {
  let next = url;
  for (let i = 0; i < 20; i++) {
    if (next.startsWith(stopAt)) return next;
    const r = await visit(jar, next);
    if (r.status >= 300 && r.status < 400) { next = new URL(r.headers.get("location"), next).href; continue; }
    const html = await r.text();
    if (r.status !== 200) throw new Error(`the provider answered ${r.status} at ${next}: ${html.slice(0, 300)}`);
    const action = new URL(html.match(/<form[^>]*action="([^"]+)"/)[1].replaceAll("&amp;", "&"), next).href;
    const consent = /name="prompt" value="consent"/.test(html);
    const form = consent ? { prompt: "consent" } : { prompt: "login", login, password: "any" };
    const s = await visit(jar, action, { form });
    if (s.status < 300 || s.status >= 400) throw new Error(`the interaction answered ${s.status}: ${(await s.text()).slice(0, 300)}`);
    next = new URL(s.headers.get("location"), action).href;
  }
  throw new Error("too many redirects at the provider");
}
