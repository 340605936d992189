// Observability: every invocation logs one JSON event (kind, what, correlation id, feed,
// status, outcome, D1 and DO rows, subrequests), and the correlation id is carried from
// the request or cron that started the work to every object it calls: a refresh reads as
// one story from the Worker to the FeedObject to the Room. An event's rows are the ones
// the meter counts for that invocation (METER=1), not its neighbours'.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startFeedServer, api, until, openSocket, invocationEvents } from "../support/harness.mjs";
import { atomFeed } from "../support/atom.mjs";

let w, fs;
before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: { METER: "1" } }), startFeedServer()]);
});
after(async () => {
  w?.stop();
  await fs?.close();
});

/** The invocation events logged since `mark`. */
const events = (mark) => invocationEvents(w.log().slice(mark));

test("a refresh is one story: the request's correlation id reaches the FeedObject and the Room, each event with its own costs", async () => {
  const f = fs.scope();
  let n = 2;
  f.set("/story.atom", () => ({ body: atomFeed("story", n), type: "application/atom+xml" }));
  const created = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/story.atom") } });
  assert.equal(created.status, 201, created.text);
  const id = created.body.feed.id;
  const reader = await openSocket(`${w.url.replace("http", "ws")}/ws`);
  await reader.next((m) => m.type === "hello");

  const mark = w.log().length;
  n = 3;
  const r = await api(w.url, "POST", `/api/feeds/${id}/refresh`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.new_entries, 1);
  await reader.next((m) => m.type === "entry" && m.entry.feed_id === id);
  const path = `/api/feeds/${id}/refresh`;
  const seen = await until(() => {
    const e = events(mark);
    const worker = e.find((x) => x.kind === "worker" && x.what === `POST ${path}`);
    const room = worker && e.find((x) => x.kind === "room" && x.what === "call.publish" && x.cid === worker.cid);
    return room && { e, worker, room };
  }, { what: "the request's, the feed's and the Room's events" });
  const { e, worker, room } = seen;
  assert.match(worker.cid, /^[0-9a-f]{16}$/);
  assert.equal(worker.status, 200);
  assert.equal(worker.outcome, "ok");
  const feed = e.find((x) => x.kind === "feed" && x.cid === worker.cid);
  assert.ok(feed, `a FeedObject event with the request's cid: ${JSON.stringify(e)}`);
  assert.equal(feed.feed, id);
  assert.equal(feed.outcome, "ok");
  // The refresh wrote its entry (D1) and its state (DO); the Room read it back and sent it.
  assert.ok(feed.d1_rows_written > 0 && feed.do_rows_written > 0, JSON.stringify(feed));
  assert.ok(feed.subrequests >= 2, "the fetch of the feed and the Room's publish");
  assert.ok(room.d1_rows_read > 0, JSON.stringify(room));
  assert.ok(room.frames_sent >= 1, "the Room's event counts the frame it sent the reader");
  // The Worker only asked (and audited who did): its event carries its one object call and
  // its audit record, not the entry the feed's object stored.
  assert.equal(worker.subrequests, 1);
  assert.ok(worker.d1_rows_written > 0 && worker.d1_rows_written < feed.d1_rows_written + 5, JSON.stringify({ worker, feed }));
  assert.equal(worker.do_rows_written, 0, "the Worker has no storage of its own");
  reader.close();
});

test("cron logs its event, and a frame on a socket logs its own, with the socket's object named", async () => {
  const mark = w.log().length;
  const cron = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  assert.equal(cron.status, 200);
  await cron.text();
  const s = await openSocket(`${w.url.replace("http", "ws")}/ws`);
  await s.next((m) => m.type === "hello");
  s.send({ type: "resume", since: 0 });
  await s.next((m) => m.type === "synced");
  const e = await until(() => {
    const x = events(mark);
    return x.some((v) => v.kind === "cron") && x.some((v) => v.kind === "room" && v.what === "socket.message") && x;
  }, { what: "cron's and the frame's events" });
  const c = e.find((v) => v.kind === "cron");
  assert.equal(c.what, "scheduled");
  assert.equal(c.outcome, "ok");
  assert.ok(c.d1_queries >= 1, JSON.stringify(c));
  const frame = e.find((v) => v.kind === "room" && v.what === "socket.message");
  assert.ok(frame.d1_rows_read > 0, "the resume read its entries");
  assert.ok(frame.frames_sent >= 1, "and sent them");
  assert.notEqual(frame.cid, c.cid);
  s.close();
});
