//! D1's full-text search: the index rows a refresh writes, the backfill, the search.

use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

use super::entries::{entry_views, ENTRY_COLS, SHOWN_ONCE};
use super::{batch, rows, StoreResult};
use crate::core::ingest::EntryWrite;
use crate::core::view_models::EntryView;

/// Full-text search over the whole text of every entry (the contentless FTS5 index
/// `entries_search`, see `core::search`): one page, best match first (bm25, the title
/// weighted above the body), ties newest first, among the newest
/// `core::search::RANK_WINDOW` matches; only the page's entries are read from `entries`.
pub async fn entries_search(
    db: &D1Database,
    fts_query: &str,
    limit: u32,
    offset: u32,
) -> StoreResult<Vec<EntryView>> {
    let (t, a, b) = crate::core::search::BM25_WEIGHTS;
    // The ranked matches are the newest RANK_WINDOW (FTS5 walks a doclist newest first
    // and stops at the OFFSET), so a common word costs that many rows, not one per match
    // in the whole history.
    let sql = format!(
        "SELECT {ENTRY_COLS} JOIN (SELECT rowid AS hit, bm25(entries_search, {t:.1}, {a:.1}, {b:.1}) AS score \
           FROM entries_search WHERE entries_search MATCH ?1 AND rowid >= COALESCE((SELECT rowid \
             FROM entries_search WHERE entries_search MATCH ?1 ORDER BY rowid DESC LIMIT 1 OFFSET ?4), 0) \
           ORDER BY score, rowid DESC LIMIT ?2 OFFSET ?3) s \
         ON s.hit = e.id ORDER BY s.score, e.id DESC"
    );
    let window = crate::core::search::RANK_WINDOW - 1;
    entry_views(
        "entries_search",
        query!(db, &sql, fts_query, limit, offset, window)?,
    )
    .await
}

/// Bytes of JSON per index statement at most (D1 bounds a statement's size; a refresh's
/// text is bounded by the cleaning budget, so this splits only unusual batches).
const SEARCH_JSON_MAX: usize = 256 * 1024;

/// The search index rows of a refresh's entries, to run in its batch after their upserts
/// (`refresh_apply` appends them): each entry's plain text (`core::search::index_doc`)
/// replaces its index row, found by `(feed_id, identity)`. An entry whose stored body is
/// not the one indexed here (an upsert that kept the stored version) keeps its index row:
/// the statement checks the stored body's length. Rows go in id order, as FTS5 appends best.
pub(super) fn search_index_stmts(
    db: &D1Database,
    feed_id: i64,
    entries: &[EntryWrite],
) -> StoreResult<Vec<D1PreparedStatement>> {
    let rows = entries.iter().map(|w| {
        let e = &w.entry;
        let d = crate::core::search::index_doc(
            &e.title,
            e.author.as_deref(),
            &e.content_html,
            &e.summary,
        );
        serde_json::json!([
            e.identity,
            d.title,
            d.author,
            d.body,
            e.content_html.chars().count()
        ])
    });
    json_chunks(rows)
        .into_iter()
        .map(|json| {
            // Search shows an article once: a copy another member's older one hides is
            // not indexed (`migrations/0016_cross_posts.sql` queues it if that one goes).
            let sql = format!(
                "INSERT OR REPLACE INTO entries_search (rowid, title, author, body) \
                 SELECT e.id, j.value ->> 1, j.value ->> 2, j.value ->> 3 \
                 FROM json_each(?2) j CROSS JOIN entries e ON e.feed_id = ?1 AND e.identity = j.value ->> 0 \
                 WHERE length(e.content_html) = j.value ->> 4 AND {SHOWN_ONCE} ORDER BY e.id"
            );
            query!(
                db,
                &sql,
                feed_id,
                json
            )
        })
        .collect()
}

/// JSON arrays of `rows`, each at most about [`SEARCH_JSON_MAX`] bytes (one row always fits).
fn json_chunks(rows: impl Iterator<Item = serde_json::Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::from("[");
    for row in rows {
        let r = row.to_string();
        if cur.len() > 1 && cur.len() + r.len() > SEARCH_JSON_MAX {
            cur.push(']');
            out.push(std::mem::replace(&mut cur, String::from("[")));
        }
        if cur.len() > 1 {
            cur.push(',');
        }
        cur.push_str(&r);
    }
    if cur.len() > 1 {
        cur.push(']');
        out.push(cur);
    }
    out
}

/// Entries stored before the whole-text index (`migrations/0004_fulltext.sql` queued
/// them): up to `limit` of the newest, indexed whole, stopping once `max_bytes` of stored
/// HTML were converted (at least one). Returns how many were indexed (0: the queue is empty).
pub async fn search_backfill(db: &D1Database, limit: u32, max_bytes: usize) -> StoreResult<usize> {
    #[derive(Deserialize)]
    struct Queued {
        id: i64,
        title: String,
        author: Option<String>,
        content_html: String,
        summary: String,
    }
    let stmt = query!(
        db,
        "SELECT b.id, e.title, e.author, e.content_html, e.summary FROM search_backlog b \
           JOIN entries e ON e.id = b.id ORDER BY b.id DESC LIMIT ?1",
        limit
    )?;
    let queued: Vec<Queued> = rows("search_backfill", stmt).await?;
    let mut spent = 0;
    let mut docs = Vec::new();
    for q in &queued {
        if !docs.is_empty() && spent + q.content_html.len() > max_bytes {
            break;
        }
        spent += q.content_html.len();
        let d = crate::core::search::index_doc(
            &q.title,
            q.author.as_deref(),
            &q.content_html,
            &q.summary,
        );
        docs.push(serde_json::json!([q.id, d.title, d.author, d.body]));
    }
    if docs.is_empty() {
        return Ok(0);
    }
    let n = docs.len();
    let mut stmts = Vec::new();
    for json in json_chunks(docs.into_iter().rev()) {
        stmts.push(query!(
            db,
            "INSERT OR REPLACE INTO entries_search (rowid, title, author, body) \
             SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3 FROM json_each(?1) j \
             ORDER BY j.value ->> 0",
            &json
        )?);
        stmts.push(query!(
            db,
            "DELETE FROM search_backlog WHERE id IN (SELECT value ->> 0 FROM json_each(?1))",
            &json
        )?);
    }
    batch("search_backfill", db, stmts).await?;
    Ok(n)
}
