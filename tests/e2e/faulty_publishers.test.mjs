// Faulty publishers: a fault-injecting feed server on loopback. Each fault ends in its
// documented state with a reason in words; a healthy feed beside them keeps refreshing and
// no stored entry is lost.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { startWorker, startFeedServer, api, sleep } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

const feed = async (id) => (await api(w.url, "GET", `/api/feeds/${id}`, { token: null })).body;
const entries = async (id) => (await api(w.url, "GET", `/api/entries?limit=200&feed=${id}`, { token: null })).body.entries;
const refresh = async (id) => (await api(w.url, "POST", `/api/feeds/${id}/refresh`)).body;

/** A healthy feed (3 entries) on its own path that then turns faulty; returns the refresh's report. */
async function turnFaulty(spec) {
  const f = fs.scope();
  f.set("/feed.xml", { file: "e2e/alpha.xml" });
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/feed.xml") } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.feed.id;
  const kept = (await entries(id)).map((e) => e.id);
  assert.equal(kept.length, 3);
  f.set("/feed.xml", typeof spec === "function" ? spec(f) : spec);
  const report = await refresh(id);
  const now = new Set((await entries(id)).map((e) => e.id));
  assert.ok(kept.every((k) => now.has(k)), "no stored entry is lost");
  return { id, report, f, feed: await feed(id) };
}

const rss = (items) => `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>${items}</channel></rss>`;

test("HTTP errors, redirect loops and chains, HTML and bot challenges fail with a reason in words", async () => {
  const cases = [
    [{ status: 500, body: "oops" }, /HTTP 500/],
    [{ status: 404, body: "nope" }, /HTTP 404/],
    [(f) => ({ status: 301, headers: { location: f.path("/feed.xml") } }), /redirect loop/],
    [(f) => {
      for (let i = 0; i < 7; i++) f.set(`/hop${i}`, { status: 301, headers: { location: f.path(`/hop${i + 1}`) } });
      return { status: 301, headers: { location: f.path("/hop0") } };
    }, /more than 5 redirects/],
    [{ type: "text/html", body: "<!doctype html><html><body><p>Hi</p></body></html>" }, /HTML page, not a feed/],
    [{ status: 403, type: "text/html", headers: { "cf-mitigated": "challenge" }, body: "<html>Just a moment…</html>" }, /bot challenge/],
  ];
  for (const [spec, reason] of cases) {
    const { report, feed: row } = await turnFaulty(spec);
    assert.equal(report.outcome, "failed", JSON.stringify(report));
    assert.match(report.error, reason);
    assert.match(row.last_error, reason, "the reason is stored for /feeds");
    assert.equal(row.consecutive_failures, 1);
    assert.equal(row.status, "active", "one failure does not stop a feed");
  }
});

test("429 and 503 wait as told; not failures", async () => {
  for (const status of [429, 503]) {
    const { report, feed: row } = await turnFaulty({ status, headers: { "retry-after": "600" } });
    assert.equal(report.outcome, "retry_later");
    assert.equal(row.consecutive_failures, 0);
    assert.ok(report.next_fetch_at - Date.now() > 590_000);
  }
});

test("bodies past the cap, plain or as a gzip bomb, are refused without reading them whole", async () => {
  const big = Buffer.alloc(12 * 1024 * 1024, " ");
  const { report } = await turnFaulty({ raw: (req, res) => { res.writeHead(200, { "content-type": "application/rss+xml" }); res.end(big); } });
  assert.match(report.error, /larger than 10 MiB/);
  // 100 MiB of spaces, about 100 KiB gzipped.
  const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024, " "));
  const gz = await turnFaulty({ raw: (req, res) => {
    res.writeHead(200, { "content-type": "application/rss+xml", "content-encoding": "gzip" });
    res.end(bomb);
  } });
  assert.equal(gz.report.outcome, "failed");
  assert.match(gz.report.error, /larger than 10 MiB/);
});

test("a server that never answers fails after the one 20 s deadline", async () => {
  const { report } = await turnFaulty({ raw: () => { /* never answers */ } });
  assert.equal(report.outcome, "failed");
  assert.match(report.error, /within 20 seconds/);
});

/** Answers with `bytes` one byte a second (headers and all when `raw`), until the reader goes away. */
function trickle(bytes, { headers } = {}) {
  return (req, res) => {
    const sock = req.socket;
    if (headers) { res.writeHead(200, headers); res.flushHeaders(); }
    let i = 0;
    const out = (b) => (headers ? res.write(b) : sock.write(b));
    const timer = setInterval(() => {
      if (i >= bytes.length || sock.destroyed) { clearInterval(timer); return; }
      out(bytes.subarray(i, ++i));
    }, 1000);
    sock.on("close", () => clearInterval(timer));
  };
}

test("a server trickling one byte a second, headers or body, is failing after the one 20 s deadline", async () => {
  const doc = Buffer.from(rss("<item><guid>slow</guid><title>Slow</title></item>"));
  // Headers at 1 B/s: never complete within the deadline. Body at 1 B/s after prompt headers.
  const rawHead = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\ncontent-length: ${doc.length}\r\n\r\n`), doc]);
  const specs = [
    { raw: trickle(rawHead) },
    { raw: trickle(doc, { headers: { "content-type": "application/rss+xml", "content-length": String(doc.length) } }) },
  ];
  // A healthy feed refreshes beside them all along, gaining entries, losing none.
  const h = fs.scope();
  let version = 0;
  const healthyDoc = () => {
    let items = "";
    for (let i = 0; i <= version; i++) items += `<item><guid>h${i}</guid><title>H${i}</title></item>`;
    return rss(items);
  };
  h.set("/ok.xml", () => ({ body: healthyDoc() }));
  const healthy = (await api(w.url, "POST", "/api/feeds", { body: { url: h.url("/ok.xml") } })).body.feed.id;
  let slowDone = false;
  const beside = (async () => {
    let rounds = 0;
    while (!slowDone || rounds < 3) {
      version++;
      const r = await refresh(healthy);
      assert.equal(r.outcome, "ok", JSON.stringify(r));
      assert.equal(r.new_entries, 1);
      rounds++;
      await sleep(2000); // paced: a feed refreshed now and then, not in a loop
    }
    return rounds;
  })();
  const slow = async (spec) => {
    const { id, report, f } = await turnFaulty(spec);
    const reports = [report];
    // Three failures in a row make a feed "failing"; each waits out the whole deadline.
    for (let i = 1; i < 3; i++) reports.push(await refresh(id));
    for (const r of reports) {
      assert.equal(r.outcome, "failed", JSON.stringify(r));
      assert.match(r.error, /within 20 seconds/);
    }
    assert.ok(f.hits("/feed.xml") >= 3);
    return feed(id);
  };
  let rows;
  try {
    rows = await Promise.all(specs.map(slow));
  } finally {
    slowDone = true;
  }
  for (const row of rows) {
    assert.equal(row.status, "failing");
    assert.equal(row.consecutive_failures, 3);
    assert.match(row.last_error, /no complete answer within 20 seconds/, "the reason is stored for /feeds");
  }
  const rounds = await beside;
  const got = (await entries(healthy)).map((e) => e.title).sort();
  assert.equal(got.length, rounds + 1, "every version of the healthy feed was read, nothing lost");
  assert.equal(new Set(got).size, got.length);
  assert.equal((await feed(healthy)).status, "active");
});

test("broken and odd documents: what can be read is read, the rest is refused in words", async () => {
  // Invalid UTF-8 and no declared encoding: read lossily, the entry is kept.
  const invalid = Buffer.concat([
    Buffer.from(`<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><guid>u1</guid><title>Caf`),
    Buffer.from([0xff, 0xfe]),
    Buffer.from("</title></item></channel></rss>"),
  ]);
  const utf = await turnFaulty({ raw: (req, res) => { res.writeHead(200, { "content-type": "application/rss+xml" }); res.end(invalid); } });
  assert.equal(utf.report.outcome, "ok");
  assert.ok((await entries(utf.id)).some((e) => e.title.startsWith("Caf")));
  // Stray end tags by the thousand, deep nesting: read in linear time.
  const nasty = rss(`<item><guid>n1</guid><title>Nasty</title></item>${"<a>".repeat(20000)}${"</b>".repeat(20000)}`);
  const deep = await turnFaulty({ body: nasty });
  assert.equal(deep.report.outcome, "ok");
  assert.equal(deep.report.new_entries, 1);
  // Duplicate guids and entries with no id, link or title: one entry each, stable.
  const odd = rss(`<item><guid>d</guid><title>One</title></item><item><guid>d</guid><title>Two</title></item>
    <item><description>No id, no link, no title</description></item>`);
  const o = await turnFaulty({ body: odd });
  assert.equal(o.report.new_entries, 2);
  assert.equal((await refresh(o.id)).new_entries, 0, "the same document adds nothing the second time");
  o.f.set("/feed.xml", { body: odd + " " }); // a changed document, the same entries
  assert.equal((await refresh(o.id)).new_entries, 0, "identities are stable, never random");
  // Truncated XML: the entries before the cut are read.
  const cut = rss('<item><guid>c1</guid><title>Before the cut</title></item><item><guid>c2</guid><title>Cut').slice(0, -30);
  const t = await turnFaulty({ body: cut });
  assert.equal(t.report.outcome, "ok");
  assert.ok((await entries(t.id)).some((e) => e.title === "Before the cut"));
  // A flood of 5,000 new (undated, so newest) items on a feed that had 3: every new entry
  // is stored up to what retention keeps per feed (RETENTION_MAX_ENTRIES, 100 here), which
  // then holds the newest 100; the rest are remembered, never stored, and never come back.
  let items = "";
  for (let i = 0; i < 5000; i++) items += `<item><guid>f${i}</guid><title>F${i}</title></item>`;
  const fl = fs.scope();
  fl.set("/feed.xml", { file: "e2e/alpha.xml" });
  const created = await api(w.url, "POST", "/api/feeds", { body: { url: fl.url("/feed.xml") } });
  assert.equal(created.status, 201, created.text);
  fl.set("/feed.xml", { body: rss(items) });
  const flood = await refresh(created.body.feed.id);
  assert.equal(flood.outcome, "ok");
  assert.equal(flood.new_entries, 100, "as many as retention keeps");
  const kept = await entries(created.body.feed.id);
  assert.equal(kept.length, 100);
  assert.ok(kept.every((e) => /^F\d+$/.test(e.title) && e.whole));
  fl.set("/feed.xml", { body: rss(items) + " " }); // the same items again
  assert.equal((await refresh(created.body.feed.id)).new_entries, 0, "the rest never come back as new");
});

test("a healthy feed beside the faulty ones keeps refreshing", async () => {
  const f = fs.scope();
  f.set("/ok.xml", { file: "e2e/alpha.xml", etag: true });
  const id = (await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/ok.xml") } })).body.feed.id;
  await turnFaulty({ status: 500, body: "x" });
  f.set("/ok.xml", { file: "e2e/alpha-v2.xml", etag: true });
  const r = await refresh(id);
  assert.equal(r.new_entries, 1);
  assert.equal((await entries(id)).length, 4);
  assert.equal((await feed(id)).status, "active");
});
