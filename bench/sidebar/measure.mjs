// What the sidebar costs: D1 rows read and written by a page render (/, /titles) and by a
// refresh that stores one new entry, from the meter (METER=1) on `wrangler dev`.
// Run after `make worker`: node bench/sidebar/measure.mjs [members] (default 20).
import { startWorker, startFeedServer, api, until, sleep } from "../../tests/support/harness.mjs";

const members = Number(process.argv[2] || 20);
const rss = (tag, n, first = 0) => `<?xml version="1.0"?><rss version="2.0"><channel><title>${tag}</title><link>http://example.com/${tag}</link>` +
  Array.from({ length: n }, (_, i) => `<item><title>${tag} post ${first + i}</title><link>http://example.com/${tag}/${first + i}</link>` +
    `<guid>${tag}-${first + i}</guid><pubDate>${new Date(Date.UTC(2026, 10, 1 + first + i)).toUTCString()}</pubDate><description>p</description></item>`).join("") +
  "</channel></rss>";

const [w, fs] = await Promise.all([startWorker({ vars: { METER: "1", ...(process.env.SIDEBAR_DETAIL ? { SIDEBAR_DETAIL: process.env.SIDEBAR_DETAIL } : {}) } }), startFeedServer()]);
try {
  const ids = [];
  for (let i = 0; i < members; i++) {
    fs.set(`/m${i}.xml`, { body: rss(`m${i}`, 5) });
    const r = await api(w.url, "POST", "/api/feeds", { body: { url: fs.url(`/m${i}.xml`) } });
    ids.push(r.body.feed.id);
  }
  await until(async () => (await api(w.url, "GET", "/api/feeds")).body.feeds.every((f) => f.entry_count === 5), { timeout: 120000, what: "every member read" });
  await sleep(1500);
  const meter = (mark) => [...w.log().slice(mark).matchAll(/orrery-meter (\{.*\})/g)].map((m) => JSON.parse(m[1]));
  const d1 = (lines) => lines.filter((l) => l.k === "d1").reduce((a, l) => ({ read: a.read + l.read, written: a.written + l.written }), { read: 0, written: 0 });
  const measure = async (label, act) => {
    await sleep(500);
    const mark = w.log().length;
    await act();
    await sleep(1500);
    const lines = meter(mark);
    const t = d1(lines);
    console.log(`${label}: D1 rows read ${t.read}, written ${t.written}  (${lines.filter((l) => l.k === "d1").map((l) => `${l.what} ${l.read}/${l.written}`).join(", ")})`);
  };
  await measure(`GET / (${members} members)`, () => fetch(`${w.url}/`).then((r) => r.text()));
  await measure(`GET /titles (${members} members)`, () => fetch(`${w.url}/titles`).then((r) => r.text()));
  fs.set("/m0.xml", { body: rss("m0", 6) });
  await measure("refresh with one new entry", () => api(w.url, "POST", `/api/feeds/${ids[0]}/refresh`));
  fs.set("/m0.xml", { body: rss("m0", 6).replace("m0 post 5<", "m0 post 5 (edited)<") });
  await measure("refresh with one edited entry", () => api(w.url, "POST", `/api/feeds/${ids[0]}/refresh`));
  await measure("refresh unchanged", () => api(w.url, "POST", `/api/feeds/${ids[0]}/refresh`));
} finally {
  w.stop(); await fs.close();
}
