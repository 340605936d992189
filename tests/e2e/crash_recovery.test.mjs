// Crashes: the runtime is killed (SIGKILL) while a big first fetch still has work carried
// over to follow-up alarms, or while that work's entries are reaching connected readers,
// then started again on the same state. The alarms resume, every entry is stored exactly
// once and whole, and readers who resume get exactly what they missed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, openSocket, until } from "../support/harness.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker(), startFeedServer()]);
});
after(async () => { w?.stop(); await fs?.close(); });

/** 60 items of ~30 KB each: far more than one invocation cleans, so follow-ups carry the rest. */
/** 60 entries of one long body; `host` gives each test its own links (entries of two feeds
 *  with the same links are one article, shown once: docs/feeds.md). */
function bigFeed(host = "big.example") {
  const body = "&lt;p&gt;" + "word ".repeat(6000) + "&lt;/p&gt;";
  let items = "";
  for (let i = 0; i < 60; i++) {
    const d = new Date(Date.now() - (60 - i) * 3600_000).toUTCString();
    items += `<item><guid>big-${i}</guid><title>Big ${i}</title><link>https://${host}/${i}</link><pubDate>${d}</pubDate><description>${body}</description></item>`;
  }
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>${items}</channel></rss>`;
}

test("killed mid carry-over, restarted: alarms resume, nothing lost, nothing twice, every entry whole", async () => {
  const f = fs.scope();
  f.set("/big.xml", { body: bigFeed() });
  const reader = await openSocket(w.url.replace("http", "ws") + "/ws");
  const hello = await reader.next((m) => m.type === "hello");
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/big.xml") } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.feed.id;
  assert.ok(r.body.refresh.carried_entries > 0, "the first fetch carried work over");
  assert.equal(r.body.refresh.new_entries, 50, "stored at once, briefs where cleaning waits");

  // Kill the runtime while the follow-ups are pending, then bring it back on the same state.
  w.kill();
  await w.restart({ downMs: 500 });

  const all = await until(async () => {
    const list = (await api(w.url, "GET", `/api/entries?limit=200&feed=${id}`, { token: null })).body.entries;
    return list.length >= 50 && list.every((e) => e.whole) && list;
  }, { timeout: 60000, what: "the carried-over entries completed after the restart" });
  const titles = all.map((e) => e.title);
  assert.equal(new Set(titles).size, titles.length, "no entry stored twice");
  assert.equal(titles.length, 50, "the newest 50 (the first-fetch cap), no more");
  assert.ok(titles.includes("Big 59") && titles.includes("Big 10") && !titles.includes("Big 9"));
  // Whole: a carried entry (the first invocation cleaned only the newest few) is shown with
  // its full body on the feed's page, not a summary.
  const page = await (await fetch(`${w.url}/feeds/${id}`)).text();
  const article = page.split("<article").find((a) => a.includes(">Big 50<"));
  assert.ok(article, "Big 50 is on the feed's first page");
  assert.ok(article.split("word").length > 5000, "the carried entry is stored whole");

  // A reader cut off by the crash resumes from what it had and gets exactly what it missed.
  const back = await openSocket(w.url.replace("http", "ws") + "/ws");
  await back.next((m) => m.type === "hello");
  back.send({ type: "resume", since: hello.latest });
  const synced = await back.next((m) => m.type === "synced");
  const got = back.entries().filter((m) => m.entry.feed_id === id).map((m) => m.entry.title);
  assert.equal(got.length, 50, `resume delivers every entry once (latest ${synced.latest})`);
  assert.equal(new Set(got).size, 50);
  back.close();
});

test("killed mid-broadcast, restarted: readers who resume end with every entry once and whole", async () => {
  const f = fs.scope();
  const body = bigFeed("wide.example");
  f.set("/wide.xml", { body });
  const wsUrl = () => w.url.replace("http", "ws") + "/ws";
  // Several readers, connected before anything of this feed is published.
  const before = [];
  for (let i = 0; i < 6; i++) {
    const s = await openSocket(wsUrl());
    const hello = await s.next((m) => m.type === "hello");
    s.revision = hello.revision;
    before.push(s);
  }
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/wide.xml") } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.feed.id;
  assert.equal(r.body.refresh.new_entries, 50, "all stored at once");
  assert.ok(r.body.refresh.carried_entries > 0, "their completions span several invocations");
  const mine = (s, type) => s.messages.filter((m) => m.type === type && m.entry.feed_id === id);
  // Kill as soon as completions start arriving: their broadcast is under way (in practice
  // between two follow-ups' broadcasts; a kill inside one send loop cannot be timed from outside).
  await until(() => before.some((s) => mine(s, "update").length > 0), { timeout: 30000, interval: 5, what: "a completion broadcast" });
  w.kill();
  await Promise.all(before.map((s) => s.closed())); // every frame that made it is read
  assert.ok(before.some((s) => mine(s, "update").length < r.body.refresh.carried_entries), "killed before every completion was out");
  await w.restart({ downMs: 300 });

  // Each reader comes back and resumes from the newest id and revision it saw, as the page does.
  const after = [];
  for (const old of before) {
    const s = await openSocket(wsUrl());
    await s.next((m) => m.type === "hello");
    const since = Math.max(0, ...old.entries().map((m) => m.entry.id));
    const revision = Math.max(old.revision, ...mine(old, "update").map((m) => m.entry.rev));
    s.send({ type: "resume", since, revision });
    after.push(s);
  }
  const stored = await until(async () => {
    const list = (await api(w.url, "GET", `/api/entries?limit=200&feed=${id}`, { token: null })).body.entries;
    return list.length === 50 && list.every((e) => e.whole) && list.map((e) => e.id);
  }, { timeout: 90000, what: "every entry stored whole after the restart" });
  // What each reader holds: entries by id, each replaced by the updates that followed it.
  const holds = (i) => {
    const view = new Map();
    for (const s of [before[i], after[i]]) {
      for (const m of s.messages) {
        if ((m.type === "entry" || m.type === "update") && m.entry.feed_id === id) view.set(m.entry.id, m.entry);
      }
    }
    return view;
  };
  await until(() => after.every((_, i) => [...holds(i).values()].filter((e) => e.whole).length >= 50),
    { timeout: 60000, what: "every entry whole at every reader" });
  after.forEach((s, i) => {
    const entries = [...mine(before[i], "entry"), ...mine(s, "entry")].map((m) => m.entry.id);
    assert.equal(entries.length, 50, `reader ${i}: every new entry exactly once`);
    assert.deepEqual([...entries].sort((a, b) => a - b), [...stored].sort((a, b) => a - b));
    assert.ok([...holds(i).values()].every((e) => e.whole), `reader ${i}: every entry whole`);
    s.close();
  });
});
