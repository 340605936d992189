// From the author's publish to a reader's open socket: WebSub push against polling.
// One wrangler dev (the Worker as built), the fixture feed on a loopback HTTP server, our own
// WebSub hub (tests/support/websub_hub.mjs), and one reader on /ws.
//
// Push: the hub delivers the feed with one new entry (a fat ping, signed) at t0, as a hub
//       does the moment the author publishes; latency = entry frame on the socket − t0.
//       Also thin pings (an empty, signed POST: Orrery fetches the feed).
// Poll: the Worker's own schedule for a feed like this one (default config: vars as in
//       wrangler.jsonc), read from the feed's next_fetch_at; an entry published at a random
//       moment waits uniformly over that interval, then costs a refresh (measured here:
//       refresh sent → frame on the socket). p50/p99 combine both.
//
//   PATH=$PWD/node_modules/.bin:$PATH node bench/websub/latency.mjs
//   env: ROUNDS=30 DEADLINE_S=240 RESULTS=bench/websub/RESULTS.md
import { writeFileSync } from "node:fs";
import path from "node:path";
import { loadavg, cpus } from "node:os";
import { startWorker, startFeedServer, api, openSocket, until, ROOT } from "../../tests/support/harness.mjs";
import { startHub } from "../../tests/support/websub_hub.mjs";
import { atomFeed } from "../../tests/support/atom.mjs";

// The feed with n entries, a minute apart, the newest now; naming the hub and itself.
const atom = (n, hub, self) => atomFeed("bench", n, { start: Date.now() - n * 60000, hub, self });
import { stopper } from "../support/stopper.mjs";

const ROUNDS = Number(process.env.ROUNDS || 30);
const DEADLINE_S = Number(process.env.DEADLINE_S || 240);
const RESULTS = path.resolve(ROOT, process.env.RESULTS || "bench/websub/RESULTS.md");
const { cleanups, cleanup, deadline } = stopper("bench/websub", DEADLINE_S, 3);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const ms = (x) => x.toFixed(1);

async function main() {
  const hub = await startHub({ lease: 864000 });
  cleanups.push(() => hub.close());
  const fs = await startFeedServer();
  cleanups.push(() => fs.close());
  // The schedule as deployed (wrangler.jsonc's vars), not the tests' short minimum.
  const w = await startWorker({ vars: { MIN_FETCH_INTERVAL_SECONDS: "300" } });
  cleanups.push(() => w.stop());

  let n = 1;
  const feedUrl = fs.url("/bench.atom");
  fs.set("/bench.atom", () => ({ body: atom(n, hub.url, feedUrl), type: "application/atom+xml" }));
  // A second feed with no hub: what polling alone schedules.
  let m = 1;
  fs.set("/polled.atom", () => ({ body: atom(m, hub.url, fs.url("/polled.atom")).replace(/<link rel="hub"[^>]*>/, ""), type: "application/atom+xml" }));
  const add = async (url) => (await api(w.url, "POST", "/api/feeds", { body: { url } })).body.feed.id;
  const id = await add(feedUrl);
  const polledId = await add(fs.url("/polled.atom"));
  const sub = await until(() => hub.requests.find((r) => r.topic === feedUrl), { what: "the subscription request" });
  await until(() => hub.verified.find((v) => v.callback === sub.callback && v.ok), { what: "verification" });

  const sock = await openSocket(`${w.url.replace("http", "ws")}/ws`);
  await sock.next((x) => x.type === "hello");
  const arrival = (title) => sock.next((x) => x.type === "entry" && x.entry.title === title, 20000).then(() => performance.now());

  const fat = [], thin = [], refresh = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Fat ping: the hub hands over the new document itself.
    n += 1;
    let got = arrival(`bench entry ${n}`);
    let t0 = performance.now();
    const res = await hub.deliver(sub, atom(n, hub.url, feedUrl));
    if (res.status !== 202) throw new Error(`fat ping answered ${res.status}: ${res.text}`);
    fat.push((await got) - t0);
    // Thin ping: Orrery fetches the feed.
    n += 1;
    got = arrival(`bench entry ${n}`);
    t0 = performance.now();
    const thinRes = await hub.deliver(sub, "");
    if (thinRes.status !== 202) throw new Error(`thin ping answered ${thinRes.status}: ${thinRes.text}`);
    thin.push((await got) - t0);
    // Poll: the cost of the fetch that finds it (the wait before it is the schedule's).
    m += 1;
    got = arrival(`bench entry ${m}`);
    t0 = performance.now();
    await api(w.url, "POST", `/api/feeds/${polledId}/refresh`);
    refresh.push((await got) - t0);
  }
  sock.close();

  // The schedule each feed runs on now (the API's next fetch, after the last refresh).
  const feed = async (fid) => (await api(w.url, "GET", `/api/feeds/${fid}`)).body;
  const [pushedFeed, polledFeed] = [await feed(id), await feed(polledId)];
  const now = Date.now();
  const pollInterval = polledFeed.next_fetch_at - (polledFeed.last_fetch_at ?? now);
  const safetyInterval = pushedFeed.next_fetch_at - (pushedFeed.last_fetch_at ?? now);
  // Poll latency: a uniform wait over the interval, plus a refresh; sampled by convolution.
  const polled = (interval) => Array.from({ length: 20000 }, (_, i) => Math.random() * interval + refresh[i % refresh.length]);
  const samples = polled(pollInterval);
  // A feed without a publishing history is fetched at DEFAULT_FETCH_INTERVAL_SECONDS (wrangler.jsonc: 3600).
  const DEFAULT_MS = 3600 * 1000;
  const typical = polled(DEFAULT_MS);
  const row = (name, xs, note) => `| ${name} | ${ms(pct(xs, 50))} | ${ms(pct(xs, 90))} | ${ms(pct(xs, 99))} | ${ms(Math.max(...xs))} | ${note} |`;
  const pushP99 = pct(fat, 99);
  const lines = [
    "# WebSub benchmark results",
    "",
    "Written by `bench/websub/latency.mjs` (the latest run replaces this file).",
    "",
    "## From publish to an open socket: push against poll",
    "",
    `- Machine: ${cpus().length} cores, ${cpus()[0]?.model ?? "?"}; Node ${process.version}; \`wrangler dev\` (local workerd)`,
    `- Date: ${new Date().toISOString()}; load average at end ${loadavg().map((x) => x.toFixed(2)).join(" ")}`,
    "- Reproduce: `PATH=$PWD/node_modules/.bin:$PATH node bench/websub/latency.mjs` (part of `make bench`)",
    `- Method: ${ROUNDS} rounds, one reader on \`/ws\`. Push: our own hub on loopback delivers the feed with one new entry,`,
    "  signed, at t0; latency = entry frame received − t0. Thin ping: an empty signed delivery, Orrery fetches the feed.",
    `  Poll: the Worker's schedule for the same feed without a hub (default vars) gave a next fetch ${ms(pollInterval / 60000)} min after the last;`,
    "  an entry published at a random moment waits uniformly over that interval, then a refresh delivers it",
    "  (refresh → frame measured each round); percentiles over 20,000 samples of the sum.",
    "",
    "| ms | p50 | p90 | p99 | max | notes |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    row("**Push (fat ping) → socket**", fat, "the hub's POST carries the document"),
    row("Push (thin ping) → socket", thin, "Orrery fetches the feed on the ping"),
    row("Poll: refresh → socket (no wait)", refresh, "what a poll costs once it runs"),
    row("Poll at this feed's schedule → socket", samples, `an entry a minute: polled every ${ms(pollInterval / 60000)} min (the minimum)`),
    row("Poll at the default interval → socket", typical, "DEFAULT_FETCH_INTERVAL_SECONDS = 3600"),
    "",
    `While pushed, the feed is still polled as a safety net: its next fetch is ${ms(safetyInterval / 3600000)} h after the last.`,
    "",
    `**Goal (push under one second end to end, p99): ${pushP99 < 1000 ? "met" : "NOT met"}** (p50 ${ms(pct(fat, 50))} ms, p99 ${ms(pushP99)} ms);`,
    `Polling: p50 ${ms(pct(samples, 50) / 60000)} min, p99 ${ms(pct(samples, 99) / 60000)} min for a feed as busy as this one;`,
    `p50 ${ms(pct(typical, 50) / 60000)} min, p99 ${ms(pct(typical, 99) / 60000)} min at the default interval.`,
    "",
  ];
  writeFileSync(RESULTS, lines.join("\n"));
  console.log(lines.join("\n"));
  return pushP99 < 1000 ? 0 : 1;
}

main().then((code) => { clearTimeout(deadline); cleanup(); process.exit(code); },
  (e) => { console.error(e); cleanup(); process.exit(2); });
