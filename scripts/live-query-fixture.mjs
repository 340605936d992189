// Writes tests/fixtures/live_query_fts5.json: random documents (title, author, body) of
// tricky words (prefixes, phrases, case, diacritics composed and combining, scripts with
// their own case, ligatures, digits of other scripts, marks, private use, invisible
// characters) and random queries, with the rows SQLite's FTS5 (the search index's table
// and tokenizer, migrations/0004_fulltext.sql) returns for each query as `/search` builds
// it. tests/live_query_fts5.rs checks the live matcher gives the same answers, natively.
// Run: node scripts/live-query-fixture.mjs  (Node >= 22.5, for node:sqlite)
import { DatabaseSync } from "node:sqlite";
import fs from "node:fs";

const OUT = new URL("../tests/fixtures/live_query_fts5.json", import.meta.url);
const WORDS = [
  "rust", "rusty", "Rust", "RUSTACEAN", "wasm", "bindgen", "wasm-bindgen", "pack", "café", "cafe", "CAFÉ",
  "caf", "école", "e\u0301cole", "ecole", "İstanbul", "istanbul", "straße", "STRASSE", "ẞ", "naïve", "naive",
  "Ærø", "æro", "ŉ", "ǅ", "ǆ", "ﬁne", "fine", "Σίσυφος", "ΣΊΣΥΦΟΣ", "σισυφος", "Привет", "ПРИВЕТ", "ёж", "Ёж",
  "日本語", "日本", "テスト", "don't", "dont", "3.14", "314", "x_y", "١٢٣", "123", "Ⅻ", "½", "²", "a\u00adb", "ab",
  "x\u200by", "\ue000x", "🦀", "crab🦀", "Ω", "ω", "Ꭰ", "ꭰ", "ǰ", "ﬀ", "Ⓐ", "ⓐ", "Ａｂｃ", "abc", "đ", "Đ", "ł", "Ł",
  "ø", "œ", "Œuvre", "oeuvre", "ñandú", "nandu", "Ångström", "angstrom", "Ǆemal", "dzemal", "ſ", "ʼn", "ᾳ", "ᾼ",
];
const SEPS = [" ", " ", " ", "-", ", ", ". ", "\n", "'", "/", "—", "_", "·", "\u00a0", "(", ")"];

let seed = 0x1ee7;
const rand = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
const pick = (a) => a[rand(a.length)];
const text = (n) => Array.from({ length: n }, () => pick(WORDS)).map((w, i) => (i ? pick(SEPS) : "") + w).join("");

const docs = Array.from({ length: 240 }, () => [text(rand(6) + 1), rand(3) ? "" : text(rand(3) + 1), text(rand(40))]);

/** A reader's query: words, prefixes of words, words glued into phrases, FTS5 syntax. */
function query() {
  const n = rand(3) + 1;
  const terms = [];
  for (let i = 0; i < n; i++) {
    let t = pick(WORDS);
    if (rand(4) === 0) t = [...t].slice(0, 1 + rand([...t].length)).join(""); // a prefix
    if (rand(5) === 0) t = `${t}-${pick(WORDS)}`; // a phrase
    if (rand(12) === 0) t = pick(["OR", "NOT", "NEAR(", "*", "\"", "col:", "^", "-", "..."]) + t;
    terms.push(t);
  }
  if (rand(10) === 0) terms.push(pick(["-", "...", "''", "_"])); // an empty last phrase
  return terms.join(pick([" ", "  ", "\t"]));
}

// `core::search::fts_query`, as JS: split on whitespace, keep letters, digits and - _ ' .,
// at most 12 terms, each quoted, the last one a prefix.
const keep = /[\p{Alphabetic}\p{N}\-_'.]/u;
function ftsQuery(input) {
  const terms = input.split(/\s+/).map((w) => [...w].filter((c) => keep.test(c)).join("")).filter(Boolean).slice(0, 12);
  if (!terms.length) return null;
  return terms.map((t, i) => `"${t}"${i === terms.length - 1 ? "*" : ""}`).join(" ");
}

const db = new DatabaseSync(":memory:");
db.exec(`CREATE VIRTUAL TABLE s USING fts5(title, author, body, content='', contentless_delete=1,
  tokenize='unicode61 remove_diacritics 2')`);
const ins = db.prepare("INSERT INTO s (rowid, title, author, body) VALUES (?, ?, ?, ?)");
docs.forEach((d, i) => ins.run(i + 1, ...d));
const match = db.prepare("SELECT rowid FROM s WHERE s MATCH ? ORDER BY rowid");

const queries = [];
const seen = new Set();
while (queries.length < 400) {
  const q = query();
  if (seen.has(q)) continue;
  seen.add(q);
  const fts = ftsQuery(q);
  if (!fts) continue;
  const rows = match.all(fts).map((r) => Number(r.rowid) - 1);
  queries.push({ q, fts, matches: rows });
}
const version = db.prepare("SELECT sqlite_version() AS v").get().v;
fs.writeFileSync(OUT, JSON.stringify({ sqlite: version, docs, queries }, null, 0) + "\n");
const some = queries.filter((q) => q.matches.length).length;
console.log(`wrote ${OUT.pathname}: ${docs.length} documents, ${queries.length} queries (${some} match something), SQLite ${version}`);
