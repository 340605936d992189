// A WebSub hub of our own on 127.0.0.1, for the subscriber's tests and the latency bench:
// takes subscribe/unsubscribe requests (form POSTs), answers 202, then verifies intent
// like a real hub (GET the callback with a fresh challenge; only an exact echo counts),
// and delivers content signed with the subscriber's secret.
import { createServer } from "node:http";
import { createHmac, randomBytes } from "node:crypto";

export async function startHub({ lease = 3600 } = {}) {
  const requests = []; // every subscribe/unsubscribe request, in order
  const verified = []; // { mode, topic, callback, at, ok }
  let answer = 202; // what the hub answers subscription requests
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => { body += d; });
    req.on("end", async () => {
      if (req.method !== "POST") { res.writeHead(405); res.end(); return; }
      const form = Object.fromEntries(new URLSearchParams(body));
      const r = {
        mode: form["hub.mode"], topic: form["hub.topic"], callback: form["hub.callback"],
        lease: Number(form["hub.lease_seconds"]) || null, secret: form["hub.secret"] ?? null,
        type: req.headers["content-type"], at: Date.now(),
      };
      requests.push(r);
      res.writeHead(answer);
      res.end();
      if (answer === 202) verified.push(await verify(r.callback, r.mode, r.topic, lease));
    });
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${server.address().port}/`;

  /** Verifies intent as a hub does: true only for a 2xx echoing the challenge exactly. */
  async function verify(callback, mode, topic, leaseSeconds = lease) {
    const challenge = randomBytes(12).toString("hex");
    const u = new URL(callback);
    u.searchParams.set("hub.mode", mode);
    u.searchParams.set("hub.topic", topic);
    u.searchParams.set("hub.challenge", challenge);
    if (mode === "subscribe") u.searchParams.set("hub.lease_seconds", String(leaseSeconds));
    const res = await fetch(u);
    const text = await res.text();
    return { mode, topic, callback, at: Date.now(), status: res.status, ok: res.ok && text === challenge };
  }

  /** Delivers content to a subscription (signed with `secret` unless it is null). */
  async function deliver(sub, body, { secret = sub.secret, signature, type = "application/atom+xml" } = {}) {
    const headers = { "content-type": type, link: `<${url}>; rel="hub", <${sub.topic}>; rel="self"` };
    if (signature) headers["x-hub-signature"] = signature;
    else if (secret) headers["x-hub-signature"] = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    const res = await fetch(sub.callback, { method: "POST", headers, body });
    return { status: res.status, text: await res.text(), retryAfter: res.headers.get("retry-after") };
  }

  return {
    url, requests, verified, verify, deliver,
    /** The hub's answer to subscription requests from now on (202: accept and verify). */
    answerWith: (status) => { answer = status; },
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(ok); }),
  };
}
