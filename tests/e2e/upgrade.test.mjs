// Upgrades (issue 20): a planet that ran v0.1.0 keeps everything when it moves to this version.
// v0.1.0's own migrations (read from the git tag) make a local D1, filled through SQL with a
// v0.1.0-shaped planet (feeds of every status, 48 entries with their whole posts and their
// search index, audit records, a membership sync, its secrets); then today's migrations/ is
// applied to it (wrangler skips what d1_migrations already lists, so only the newer files run)
// and today's Worker starts on it. Every row of every v0.1.0 table must still be there
// unchanged, every feed and entry whole through the API, the pages and search, and a fetch
// must still add entries next to the old ones, for a new feed and for an old one.
// A migration that drops or rewrites a v0.1.0 table or column fails it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startWorker, startFeedServer, api, until, ROOT } from "../support/harness.mjs";

const FROM = "v0.1.0";
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");
const ENV = { ...process.env, PATH: `${path.join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", NO_UPDATE_NOTIFIER: "1", CI: "true", FORCE_COLOR: "0" };
const NOW = Date.now();
const HOUR = 3600_000;
const DAY = 24 * HOUR;

function git(...args) {
  const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}(the test reads ${FROM}'s migrations from the tag: git fetch --tags)`);
  return r.stdout;
}

/** v0.1.0's migrations by name and SHA-256, as the tag has them: where the tag is not in the
 *  clone (a shallow or tagless clone), the files of the same names in migrations/ stand in,
 *  and must still be byte for byte what v0.1.0 shipped (an edited old migration fails). */
const FROM_MIGRATIONS = {
  "0001_init.sql": "28d583fc25ff3f7bf721da6403257b2782be7c0bbae2a166905590c9c4cd38b4",
  "0002_budgets.sql": "fd1d9418406a993a7e6751e36fc01603bc0202b06b05e93ffa438d6a5562158f",
  "0003_whole_entries.sql": "e88f0cc22888d7c249eb3cf5b39f211392872efaa9d7ee3e4ffcc21cc398b5e1",
  "0004_fulltext.sql": "6e169cdb79ea6ea235922a5e15f801ebe9cfd6032e0178221e364faecfbab612",
  "0005_people.sql": "c51dbcb42aa65642c5095555542396d81d339bbc15e39d9c6236eb49308efd62",
  "0006_people_controls.sql": "f647d7bf08066313c15d92f2f0aa7ebab2d3484cd54ffaf124903d58760840e1",
  "0007_membership.sql": "66dac741bface42b35b4cbca7bd980162381fdbf366551aaa263422110c08881",
  "0008_audit_at.sql": "d6443d1cd8b37354df06b2966b26f0a68b53f65d6b8855763ca4dc2a6b834745",
  "0009_websub.sql": "bf088806008da9a4f1fa2ca3d020475f04a198c3ab6b2fe26e08a9a0a86af903",
  "0010_bounded_reads.sql": "b3adbdd0d4a317ede5acff123a47b6f5b0013480de2597e8cff4b8cae5fdeab5",
  "0011_secrets.sql": "134c813f597e58ee01d34948c19f3f363a50160bcc6a61e770d5d1937b2d9d81",
  "0012_session_revocations.sql": "3529eac3f56a10f61b0e60b97361c734b3bd078ab03c1425e82a692800575c44",
};
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

/** v0.1.0's migrations: [name, text], from the tag when the clone has it. */
function fromMigrations() {
  const tagged = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${FROM}^{commit}`], { cwd: ROOT }).status === 0;
  const files = tagged
    ? git("ls-tree", "--name-only", FROM, "migrations/").split("\n").filter((f) => f.endsWith(".sql"))
      .map((f) => [path.basename(f), git("show", `${FROM}:${f}`)])
    : Object.keys(FROM_MIGRATIONS).map((n) => [n, readFileSync(path.join(ROOT, "migrations", n), "utf8")]);
  if (!tagged) console.log(`upgrade: no ${FROM} tag in this clone: its migrations are read from migrations/ and checked by hash`);
  assert.deepEqual(files.map(([n]) => n).sort(), Object.keys(FROM_MIGRATIONS).sort(), `${FROM}'s migrations by name`);
  for (const [n, text] of files) assert.equal(sha256(text), FROM_MIGRATIONS[n], `${n} is as ${FROM} shipped it`);
  return files;
}

function wrangler(config, ...args) {
  const r = spawnSync(WRANGLER, [...args, "--local", "--persist-to", state, "--config", config], {
    cwd: ROOT, env: ENV, encoding: "utf8", maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs SQL on the local D1; the result rows of each statement. */
function query(config, sql) {
  return JSON.parse(wrangler(config, "d1", "execute", "DB", "--json", "--command", sql)).map((r) => r.results);
}

const q = (v) => (v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`);
const insert = (table, row) =>
  `INSERT INTO ${table} (${Object.keys(row).join(", ")}) VALUES (${Object.values(row).map(q).join(", ")});`;

// ---- The v0.1.0 planet ----------------------------------------------------------------------

let tmp, state, oldConfig, newConfig, w, fs;
const feeds = [];
const entries = [];

/** Feeds of every status v0.1.0 knows, and members set up every way it allows. */
function planet(fixtures) {
  const spec = [
    { status: "active", title: "Ada's notes", display_name: "Ada Lovelace", face_url: "https://faces.example/ada.png", home_url: "https://ada.example/", n: 12, push_until: NOW + 5 * DAY },
    { status: "failing", title: "Flaky blog", n: 8, consecutive_failures: 3, last_error: "HTTP 503 Service Unavailable" },
    { status: "paused", title: "Dormant journal", n: 6, consecutive_failures: 10, last_error: "connection refused", overdue: null },
    { status: "gone", title: "Gone for good", n: 5, last_error: "HTTP 410 Gone", overdue: null },
    { status: "held", title: "Left the file", display_name: "Former Member", n: 7, in_file: 1, left_at: NOW - DAY, last_error: "left the membership file", overdue: null },
    // Overdue: cron's watchdog adopts it after the upgrade and it fetches again.
    { status: "active", title: "Still publishing", n: 10, in_file: 1, filter: '{"categories":[],"words":[],"excerpt_only":false}', overdue: NOW - 60_000 },
  ];
  let eid = 0;
  spec.forEach((s, i) => {
    const id = i + 1;
    const created = NOW - 40 * DAY + i * HOUR;
    const feed = {
      id, url: fixtures.url(`/feed${id}.xml`), title: s.title, site_url: `https://site${id}.example/`,
      description: `The ${s.title} — naïve café ☕ «quotes» & 'apostrophes'`, format: "rss",
      etag: `"etag-${id}"`, last_modified: new Date(NOW - 2 * DAY).toUTCString(), status: s.status,
      consecutive_failures: s.consecutive_failures ?? 0, last_error: s.last_error ?? null,
      last_fetch_at: NOW - HOUR, last_success_at: NOW - 2 * HOUR, next_fetch_at: NOW + HOUR,
      created_at: created, entry_count: s.n,
      overdue_at: s.overdue === undefined ? NOW + DAY : s.overdue, last_changed_at: NOW - 2 * DAY,
      display_name: s.display_name ?? null, face_url: s.face_url ?? null, home_url: s.home_url ?? null,
      filter: s.filter ?? null, in_file: s.in_file ?? 0, left_at: s.left_at ?? null, push_until: s.push_until ?? null,
    };
    feeds.push(feed);
    for (let k = 0; k < s.n; k++) {
      eid += 1;
      const published = NOW - (30 - k) * DAY + id * 60_000;
      // A whole post: markup, non-ASCII text, a word found nowhere else, and for some a long body.
      const long = eid % 10 === 0 ? `<p>${"Lorem ipsum dolor sit amet. ".repeat(400)}</p>` : "";
      const content = `<p>Post ${k} of <em>${s.title.replaceAll("'", "&#39;")}</em>: ünïcödé ✓ — 日本語 and the word upgradeword${eid}.</p>${long}<ul><li>one</li><li>two</li></ul>`;
      const text = `Post ${k} of ${s.title}: ünïcödé ✓ — 日本語 and the word upgradeword${eid}. ${long ? "Lorem ipsum dolor sit amet. ".repeat(400) : ""}one two`;
      entries.push({
        id: eid, feed_id: id, identity: `urn:feed${id}:entry${k}`, fingerprint: `fp-${id}-${k}`,
        url: eid % 7 === 0 ? null : `https://site${id}.example/posts/${k}`,
        title: `Old entry ${eid}: ${s.title} #${k}`, author: eid % 5 === 0 ? null : `Author ${id}`,
        content_html: content, summary: text.slice(0, 300), published_at: published,
        first_seen: published + 60_000, updated_at: published + 60_000,
        whole: 1, rev: eid % 6 === 0 ? eid : null, _text: text,
      });
    }
  });
  const sql = [];
  for (const f of feeds) sql.push(insert("feeds", f));
  for (const e of entries) {
    const { _text, ...row } = e;
    sql.push(insert("entries", row));
    // v0.1.0 writes the whole text's index beside the entry (store::search_index_stmt).
    sql.push(insert("entries_search", { rowid: e.id, title: e.title, author: e.author ?? "", body: _text }));
  }
  sql.push(insert("audit_log", { at: NOW - 3 * DAY, actor: "api", action: "feed.add", feed_id: 1, detail: feeds[0].url }));
  sql.push(insert("audit_log", { at: NOW - 2 * DAY, actor: "admin:ada@example.org", action: "feed.hold", feed_id: 5, detail: "left the membership file" }));
  sql.push(insert("membership_syncs", { at: NOW - DAY, checked_at: NOW - HOUR, ok: 1, report: '{"added":[],"removed":[5],"errors":[]}' }));
  sql.push(insert("secrets", { name: "websub", value: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }));
  sql.push(insert("session_revocations", { actor: "admin:ada@example.org", before_ms: NOW - 2 * DAY }));
  return sql.join("\n");
}

/** Every table v0.1.0 has, but d1_migrations (it grows) and the search index's (checked through search). */
function tablesOf(config) {
  const [rows] = query(config, "SELECT name, sql FROM sqlite_master WHERE type = 'table'");
  const virtual = rows.filter((r) => /^CREATE VIRTUAL TABLE/i.test(r.sql ?? "")).map((r) => r.name);
  return rows.map((r) => r.name)
    .filter((n) => n !== "d1_migrations" && !n.startsWith("_cf_"))
    .filter((n) => !virtual.some((v) => n === v || n.startsWith(`${v}_`)))
    .sort();
}

/** The columns of each table. */
function columnsOf(config, tables) {
  const results = query(config, tables.map((t) => `SELECT name FROM pragma_table_info('${t}')`).join("; "));
  return Object.fromEntries(tables.map((t, i) => [t, results[i].map((r) => r.name)]));
}

/** Every row of those tables, in a stable order, with the columns v0.1.0 gave them. */
function snapshot(config, tables, columns) {
  // sqlite_sequence: the AUTOINCREMENT high-water marks (ids are never reused) of these tables
  // (not d1_migrations', which grows with every migration, nor a later table's).
  const where = (t) => (t === "sqlite_sequence" ? ` WHERE name IN (${tables.map(q).join(", ")})` : "");
  // [name]: always an identifier ("name" naming no column would be read as a string).
  const sql = tables.map((t) => `SELECT ${columns[t].map((c) => `[${c}]`).join(", ")} FROM [${t}]${where(t)}`).join("; ");
  const results = query(config, sql);
  return Object.fromEntries(tables.map((t, i) => [t, results[i].map((r) => JSON.stringify(r)).sort()]));
}

// Columns a later migration rewrites on purpose ({ table: ["column", …] }): still required,
// their values not compared. None so far; a migration that rewrites old values says so here.
const REWRITTEN = {};

const oldMigrations = [];
let newer = [];
let before_, tables, columns, compared;

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), "orrery-upgrade-"));
  state = path.join(tmp, "state");
  // v0.1.0's migrations, as the tag has them, and a config that applies them to the same D1.
  mkdirSync(path.join(tmp, "migrations"));
  for (const [name, text] of fromMigrations()) {
    writeFileSync(path.join(tmp, "migrations", name), text);
    oldMigrations.push(name);
  }
  newer = readdirSync(path.join(ROOT, "migrations")).filter((f) => f.endsWith(".sql") && !oldMigrations.includes(f)).sort();
  const current = readFileSync(path.join(ROOT, "wrangler.jsonc"), "utf8");
  const dirs = /"migrations_dir":\s*"migrations"/;
  assert.match(current, dirs, "wrangler.jsonc names migrations_dir \"migrations\"");
  oldConfig = path.join(tmp, "old.wrangler.jsonc");
  writeFileSync(oldConfig, current.replace(dirs, `"migrations_dir": ${JSON.stringify(path.join(tmp, "migrations"))}`));
  newConfig = path.join(ROOT, "wrangler.jsonc");

  fs = await startFeedServer();
  wrangler(oldConfig, "d1", "migrations", "apply", "DB");
  const seed = path.join(tmp, "seed.sql");
  writeFileSync(seed, planet(fs));
  wrangler(oldConfig, "d1", "execute", "DB", "--file", seed);
  tables = tablesOf(oldConfig);
  columns = columnsOf(oldConfig, tables);
  compared = Object.fromEntries(tables.map((t) => [t, columns[t].filter((c) => !(REWRITTEN[t] ?? []).includes(c))]));
  before_ = snapshot(oldConfig, tables, compared);
});

after(async () => {
  w?.stop();
  await fs?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("the v0.1.0 planet was seeded as v0.1.0 has it", () => {
  assert.ok(oldMigrations.length >= 12, `v0.1.0 has its migrations (${oldMigrations})`);
  for (const t of ["feeds", "entries", "audit_log", "membership_syncs", "feed_tally", "secrets", "session_revocations", "search_backlog", "sqlite_sequence"]) {
    assert.ok(tables.includes(t), `v0.1.0 has ${t} (${tables})`);
  }
  assert.equal(before_.feeds.length, feeds.length);
  assert.equal(before_.entries.length, entries.length);
  // The triggers kept the tally as v0.1.0's Worker keeps it.
  const tally = Object.fromEntries(before_.feed_tally.map((r) => JSON.parse(r)).map((r) => [r.status, [r.feeds, r.entries]]));
  assert.deepEqual(tally.active, [2, 22]);
  assert.deepEqual(tally.held, [1, 7]);
});

test("today's migrations apply over v0.1.0's and leave every v0.1.0 row as it was", () => {
  const out = wrangler(newConfig, "d1", "migrations", "apply", "DB");
  for (const f of newer) assert.ok(out.includes(f), `${f} was applied:\n${out}`);
  for (const f of oldMigrations) assert.ok(!out.includes(f), `${f} was not applied again:\n${out}`);
  const [applied] = query(newConfig, "SELECT name FROM d1_migrations ORDER BY id");
  assert.deepEqual(applied.map((r) => r.name), [...oldMigrations, ...newer]);
  // The same columns of the same tables, the same rows with the same values.
  const now = columnsOf(newConfig, tables);
  for (const t of tables) {
    const gone = columns[t].filter((c) => !now[t].includes(c));
    assert.deepEqual(gone, [], now[t].length ? `table ${t} kept its columns` : `table ${t} is still there`);
  }
  const after_ = snapshot(newConfig, tables, compared);
  for (const t of tables) assert.deepEqual(after_[t], before_[t], `table ${t} kept every row and value`);
});

test("today's Worker serves every old feed and entry whole", async () => {
  w = await startWorker({ state, vars: { RETENTION_MAX_ENTRIES: "100" } });
  assert.match(w.migrations, /No migrations to apply/, "nothing was left to apply");

  const health = await api(w.url, "GET", "/healthz", { token: null });
  assert.equal(health.status, 200, health.text);
  assert.equal(health.body.status, "ok");
  const { feeds: nf, entries: ne, failing, paused, gone, held, latest } = health.body;
  assert.deepEqual({ nf, ne, failing, paused, gone, held, latest },
    { nf: feeds.length, ne: entries.length, failing: 1, paused: 1, gone: 1, held: 1, latest: entries.length }, "/healthz counts them all");

  const listed = await api(w.url, "GET", "/api/feeds?limit=100", { token: null });
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.body.feeds.length, feeds.length);
  for (const f of feeds) {
    const got = listed.body.feeds.find((x) => x.id === f.id);
    assert.ok(got, `feed ${f.id} is listed`);
    assert.equal(got.url, f.url);
    assert.equal(got.title, f.title);
    assert.equal(got.status, f.status);
    assert.equal(got.entry_count, f.entry_count);
    assert.equal(got.display_name, f.display_name);
    assert.equal(got.face_url, f.face_url);
    assert.equal(got.home_url, f.home_url);
    const one = await api(w.url, "GET", `/api/feeds/${f.id}`, { token: null });
    assert.equal(one.status, 200);
    assert.equal(one.body.entry_count, f.entry_count);
  }

  const got = await api(w.url, "GET", "/api/entries?limit=200", { token: null });
  assert.equal(got.status, 200, got.text);
  assert.equal(got.body.entries.length, entries.length);
  for (const e of entries) {
    const x = got.body.entries.find((y) => y.id === e.id);
    assert.ok(x, `entry ${e.id} is served`);
    assert.equal(x.feed_id, e.feed_id);
    assert.equal(x.title, e.title);
    assert.equal(x.content_html, e.content_html, `entry ${e.id}'s whole post`);
    assert.equal(x.url, e.url);
    assert.equal(x.author, e.author);
    assert.equal(x.whole, true);
    assert.equal(x.rev ?? null, e.rev);
  }

  for (const f of feeds) {
    const page = await fetch(`${w.url}/feeds/${f.id}`);
    assert.equal(page.status, 200);
    const html = await page.text();
    for (const e of entries.filter((y) => y.feed_id === f.id)) {
      assert.ok(html.includes(`upgradeword${e.id}`), `/feeds/${f.id} shows entry ${e.id}`);
    }
  }

  for (const e of [entries[0], entries[19], entries.at(-1)]) {
    const r = await fetch(`${w.url}/search?q=upgradeword${e.id}`);
    assert.equal(r.status, 200);
    const html = await r.text();
    assert.ok(html.includes(`Old entry ${e.id}:`), `search finds entry ${e.id} by a word of its body`);
  }
});

test("fetching goes on next to the old entries: a new feed, and an old one cron adopts", async () => {
  const rss = (title, items) => `<?xml version="1.0"?><rss version="2.0"><channel><title>${title}</title><link>https://x.example/</link>${items
    .map(([guid, t, ago]) => `<item><title>${t}</title><guid>${guid}</guid><description>&lt;p&gt;Body of ${guid.replaceAll(":", "")}&lt;/p&gt;</description><pubDate>${new Date(NOW - ago).toUTCString()}</pubDate></item>`)
    .join("")}</channel></rss>`;
  // An old feed whose document moved on: two new items (its old ones have left it).
  const live = feeds.find((f) => f.title === "Still publishing");
  fs.set(`/feed${live.id}.xml`, { body: rss(live.title, [["urn:live:new1", "Fresh one", 2 * HOUR], ["urn:live:new2", "Fresh two", HOUR]]) });
  fs.set("/newcomer.xml", { body: rss("Newcomer", [["urn:n:1", "Newcomer first", 3 * HOUR], ["urn:n:2", "Newcomer second", HOUR]]) });

  const added = await api(w.url, "POST", "/api/feeds", { body: { url: fs.url("/newcomer.xml") } });
  assert.equal(added.status, 201, added.text);
  const newId = added.body.feed.id;
  assert.ok(newId > feeds.length, "a new feed id is past the old ones");

  const cron = await fetch(`${w.url}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
  assert.equal(cron.status, 200);
  await until(async () => (await api(w.url, "GET", `/api/feeds/${live.id}`, { token: null })).body.entry_count === live.entry_count + 2,
    { timeout: 20000, what: "the adopted old feed to store its two new entries" });

  const all = (await api(w.url, "GET", "/api/entries?limit=200", { token: null })).body.entries;
  assert.equal(all.length, entries.length + 4);
  const fresh = all.filter((e) => e.id > entries.length);
  assert.deepEqual(fresh.map((e) => e.title).sort(), ["Fresh one", "Fresh two", "Newcomer first", "Newcomer second"]);
  for (const e of entries) {
    const x = all.find((y) => y.id === e.id);
    assert.ok(x && x.content_html === e.content_html && x.title === e.title, `old entry ${e.id} untouched`);
  }
  const liveEntries = (await api(w.url, "GET", `/api/entries?feed=${live.id}&limit=200`, { token: null })).body.entries;
  assert.equal(liveEntries.length, live.entry_count + 2, "the old feed's old and new entries side by side");
  const health = await api(w.url, "GET", "/healthz", { token: null });
  assert.equal(health.body.feeds, feeds.length + 1, health.text);
  assert.equal(health.body.entries, entries.length + 4, health.text);
  assert.equal(health.body.latest, Math.max(...all.map((e) => e.id)), health.text);
  const r = await fetch(`${w.url}/search?q=urnlivenew2`);
  assert.ok((await r.text()).includes("Fresh two"), "new entries are searchable too");
});
