// HSTS (issue 21, row 11's security header): over https every answer carries
// Strict-Transport-Security for a year, for this host only; over http none does (the other
// suites run on http, and `deploy_and_verify` asserts verify's header line without HSTS there).
// wrangler dev serves https here with its own self-signed certificate; loopback only.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { startWorker, api, ROOT } from "../support/harness.mjs";

let w;
before(async () => { w = await startWorker({ https: true, vars: { PAGE_CACHE_SECONDS: "15" } }); });
after(() => w?.stop());

test("every answer over https carries HSTS for a year, without includeSubDomains", async () => {
  assert.match(w.url, /^https:/);
  for (const [path, status] of [["/", 200], ["/", 200], ["/healthz", 200], ["/api/feeds", 200], ["/no/such/page", 404], ["/api/feeds/999999", 404]]) {
    const r = await fetch(`${w.url}${path}`);
    assert.equal(r.status, status, path);
    assert.equal(r.headers.get("strict-transport-security"), "max-age=31536000", `${path} (${r.headers.get("x-orrery-cache") ?? "uncached"})`);
    await r.arrayBuffer();
  }
  // The second view of / is the kept copy: the header is set on the way out, not only at render.
  const again = await fetch(`${w.url}/`, { method: "HEAD" });
  assert.equal(again.headers.get("x-orrery-cache"), "hit");
  assert.equal(again.headers.get("strict-transport-security"), "max-age=31536000");
  const token = await api(w.url, "GET", "/api/feeds");
  assert.equal(token.status, 200);
});

test("make verify over https checks HSTS and passes", async () => {
  const out = await new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "scripts/verify.mjs"), w.url],
      { cwd: ROOT, env: { ...process.env, VERIFY_TIMEOUT_MS: "5000" } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, text: stdout + stderr }));
  });
  assert.match(out.text, /^ok {4}\/ sends Content-Security-Policy, nosniff, Referrer-Policy, frame-ancestors, HSTS$/m, out.text);
});
