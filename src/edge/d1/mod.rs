//! D1 storage: every statement, one function per question, noun-verb names, NULLs bound as NULL (via `query!`).
//!
//! D1 bills rows scanned, not returned: every query here is bounded and reads through
//! an index (`migrations/`), and each reports its cost to the meter.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement, D1Result};

use crate::core::audit::AuditEntry;
use crate::core::ingest::{
    Changed, EntryWrite, FeedFilter, FeedRow, FeedSettings, Member, Move, StoredEntry,
};
use crate::core::membership::{Current, Listed, SyncReport, Update, LEFT_REASON};
use crate::core::view_models::{Counts, EntryView, FeedDetail, FeedView};
use crate::edge::meter;

pub type StoreResult<T> = worker::Result<T>;

mod cursors;
pub use cursors::{
    entry_position, feed_position, feeds_page, feeds_page_detailed, RiverCursor, FEED_NAME_KEY,
};

/// Rows of one statement.
async fn rows<T: DeserializeOwned>(what: &str, stmt: D1PreparedStatement) -> StoreResult<Vec<T>> {
    let result = stmt.all().await?;
    meter::d1(what, &result);
    result.results()
}

async fn first<T: DeserializeOwned>(
    what: &str,
    stmt: D1PreparedStatement,
) -> StoreResult<Option<T>> {
    Ok(rows(what, stmt).await?.into_iter().next())
}

async fn run(what: &str, stmt: D1PreparedStatement) -> StoreResult<()> {
    let result = stmt.run().await?;
    meter::d1(what, &result);
    Ok(())
}

/// One batch (one transaction, one round trip).
async fn batch(
    what: &str,
    db: &D1Database,
    stmts: Vec<D1PreparedStatement>,
) -> StoreResult<Vec<D1Result>> {
    let results = db.batch(stmts).await?;
    for r in &results {
        meter::d1(what, r);
    }
    Ok(results)
}

#[derive(Debug, Deserialize)]
struct EntryRow {
    id: i64,
    feed_id: i64,
    feed_title: Option<String>,
    feed_face: Option<String>,
    feed_url: Option<String>,
    title: String,
    url: Option<String>,
    author: Option<String>,
    published_at: Option<i64>,
    first_seen: i64,
    summary: String,
    content_html: String,
    whole: i64,
    rev: Option<i64>,
}

impl From<EntryRow> for EntryView {
    fn from(r: EntryRow) -> Self {
        let feed_title = r
            .feed_title
            .filter(|t| !t.trim().is_empty())
            .or(r.feed_url.map(|u| crate::core::fetch::public_url(&u)))
            .unwrap_or_default();
        EntryView {
            id: r.id,
            feed_id: r.feed_id,
            feed_title,
            feed_face: r.feed_face,
            title: r.title,
            url: r.url,
            author: r.author,
            published: r.published_at.unwrap_or(r.first_seen),
            summary: r.summary,
            content_html: r.content_html,
            whole: r.whole != 0,
            rev: r.rev,
        }
    }
}

const ENTRY_COLS: &str =
    "e.id, e.feed_id, COALESCE(NULLIF(trim(f.display_name), ''), f.title) AS feed_title, \
     f.face_url AS feed_face, f.url AS feed_url, e.title, e.url, e.author, \
     e.published_at, e.first_seen, e.summary, e.content_html, e.whole, e.rev \
     FROM entries e JOIN feeds f ON f.id = e.feed_id";

/// Feed counts by status and entry counts for `/healthz` and `/feeds`: read from the tally
/// the feeds' triggers keep (a row per status, migrations/0010), not from every feed row,
/// and the newest entry id by its primary key.
pub async fn counts(db: &D1Database) -> StoreResult<Counts> {
    let stmt = db.prepare(
        "SELECT COALESCE(SUM(feeds), 0) AS feeds, \
                COALESCE(SUM(CASE status WHEN 'failing' THEN feeds END), 0) AS failing, \
                COALESCE(SUM(CASE status WHEN 'paused' THEN feeds END), 0) AS paused, \
                COALESCE(SUM(CASE status WHEN 'gone' THEN feeds END), 0) AS gone, \
                COALESCE(SUM(CASE status WHEN 'held' THEN feeds END), 0) AS held, \
                COALESCE(SUM(entries), 0) AS entries, \
                (SELECT COALESCE(MAX(id), 0) FROM entries) AS latest \
         FROM feed_tally",
    );
    Ok(first("counts", stmt).await?.unwrap_or_default())
}

/// The newest entry id (the global cursor), 0 when there is none.
pub async fn latest_entry_id(db: &D1Database) -> StoreResult<i64> {
    #[derive(Deserialize)]
    struct Row {
        latest: i64,
    }
    let stmt = db.prepare("SELECT COALESCE(MAX(id), 0) AS latest FROM entries");
    let row: Option<Row> = first("latest_entry_id", stmt).await?;
    Ok(row.map_or(0, |r| r.latest))
}

async fn entry_views(what: &str, stmt: D1PreparedStatement) -> StoreResult<Vec<EntryView>> {
    let rows: Vec<EntryRow> = rows(what, stmt).await?;
    Ok(rows.into_iter().map(EntryView::from).collect())
}

/// The river: newest published first; `before` is where the page starts (the position of
/// the `?before=` entry, looked up first: [`entry_position`]), bound as plain values so
/// the index ranges over them. A feed's river reads its own index range.
pub async fn entries_river(
    db: &D1Database,
    feed: Option<i64>,
    before: Option<RiverCursor>,
    limit: u32,
) -> StoreResult<Vec<EntryView>> {
    // Sort key: published_at (never later than first_seen, see the ingest), ties by id.
    let feed_clause = if feed.is_some() {
        "e.feed_id = ?1"
    } else {
        "?1 IS NULL"
    };
    let (published, id) = before.map_or((None, None), |c| (c.published_at, Some(c.id)));
    let cursor = if before.is_some() {
        "(e.published_at, e.id) < (?2, ?3)"
    } else {
        "?2 IS NULL AND ?3 IS NULL"
    };
    let sql = format!(
        "SELECT {ENTRY_COLS} WHERE {feed_clause} AND {cursor} \
         ORDER BY e.published_at DESC, e.id DESC LIMIT ?4"
    );
    let stmt = query!(db, &sql, feed, published, id, limit)?;
    entry_views("entries_river", stmt).await
}

/// Entries rewritten after revision `after` (completed or edited), oldest revision
/// first, optionally of some feeds and only those at or below id `upto` (a reader
/// resuming gets the larger ids whole by `resume` itself).
pub async fn entries_revised(
    db: &D1Database,
    after: i64,
    upto: Option<i64>,
    feeds: Option<&[i64]>,
    limit: u32,
) -> StoreResult<Vec<EntryView>> {
    let feeds_json = feeds.map(|f| serde_json::to_string(f).unwrap_or_else(|_| "[]".into()));
    let sql = format!(
        "SELECT {ENTRY_COLS} WHERE e.rev > ?1 AND (?2 IS NULL OR e.id <= ?2) \
           AND (?3 IS NULL OR e.feed_id IN (SELECT value FROM json_each(?3))) \
         ORDER BY e.rev ASC LIMIT ?4"
    );
    let stmt = query!(db, &sql, after, upto, feeds_json, limit)?;
    entry_views("entries_revised", stmt).await
}

/// The newest revision (the update cursor), 0 when no entry was ever rewritten.
pub async fn latest_rev(db: &D1Database) -> StoreResult<i64> {
    #[derive(Deserialize)]
    struct Row {
        latest: i64,
    }
    let stmt =
        db.prepare("SELECT COALESCE(MAX(rev), 0) AS latest FROM entries WHERE rev IS NOT NULL");
    let row: Option<Row> = first("latest_rev", stmt).await?;
    Ok(row.map_or(0, |r| r.latest))
}

/// The API's id-ordered view: `since` (oldest first) or `before` (newest first).
pub async fn entries_by_id(
    db: &D1Database,
    feed: Option<i64>,
    since: Option<i64>,
    before: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<EntryView>> {
    let order = if since.is_some() { "ASC" } else { "DESC" };
    let feed_clause = if feed.is_some() {
        "e.feed_id = ?1"
    } else {
        "?1 IS NULL"
    };
    let sql = format!(
        "SELECT {ENTRY_COLS} WHERE {feed_clause} AND e.id > COALESCE(?2, -1) \
           AND e.id < COALESCE(?3, 9007199254740992) ORDER BY e.id {order} LIMIT ?4"
    );
    let stmt = query!(db, &sql, feed, since, before, limit)?;
    entry_views("entries_by_id", stmt).await
}

/// Entries in `(after, upto]`, oldest first, optionally of some feeds: what a socket missed.
pub async fn entries_between(
    db: &D1Database,
    after: i64,
    upto: i64,
    feeds: Option<&[i64]>,
    limit: u32,
) -> StoreResult<Vec<EntryView>> {
    let feeds_json = feeds.map(|f| serde_json::to_string(f).unwrap_or_else(|_| "[]".into()));
    let sql = format!(
        "SELECT {ENTRY_COLS} WHERE e.id > ?1 AND e.id <= ?2 \
           AND (?3 IS NULL OR e.feed_id IN (SELECT value FROM json_each(?3))) \
         ORDER BY e.id ASC LIMIT ?4"
    );
    let stmt = query!(db, &sql, after, upto, feeds_json, limit)?;
    entry_views("entries_between", stmt).await
}

pub async fn entry_by_id(db: &D1Database, id: i64) -> StoreResult<Option<EntryView>> {
    let sql = format!("SELECT {ENTRY_COLS} WHERE e.id = ?1");
    Ok(entry_views("entry_by_id", query!(db, &sql, id)?)
        .await?
        .into_iter()
        .next())
}

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
pub fn search_index_stmts(
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
            query!(
                db,
                "INSERT OR REPLACE INTO entries_search (rowid, title, author, body) \
                 SELECT e.id, j.value ->> 1, j.value ->> 2, j.value ->> 3 \
                 FROM json_each(?2) j CROSS JOIN entries e ON e.feed_id = ?1 AND e.identity = j.value ->> 0 \
                 WHERE length(e.content_html) = j.value ->> 4 ORDER BY e.id",
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

const FEED_COLS: &str =
    "id, url, title, site_url, description, format, status, consecutive_failures, \
     last_error, last_fetch_at, last_success_at, next_fetch_at, last_changed_at, entry_count, \
     display_name, face_url, home_url, push_until FROM feeds";

/// A feed row with its filter (JSON in D1).
#[derive(Deserialize)]
struct DetailRow {
    #[serde(flatten)]
    feed: FeedView,
    filter: Option<String>,
}

impl From<DetailRow> for FeedDetail {
    fn from(r: DetailRow) -> Self {
        let filter = r
            .filter
            .and_then(|f| serde_json::from_str::<FeedFilter>(&f).ok())
            .unwrap_or_default();
        FeedDetail {
            feed: r.feed,
            filter,
        }
    }
}

const DETAIL_COLS: &str =
    "id, url, title, site_url, description, format, status, consecutive_failures, \
     last_error, last_fetch_at, last_success_at, next_fetch_at, last_changed_at, entry_count, \
     display_name, face_url, home_url, push_until, filter FROM feeds";

/// Every feed with its filter (the API and the admin page), by name.
pub async fn feeds_all_detailed(db: &D1Database) -> StoreResult<Vec<FeedDetail>> {
    let sql = format!(
        "SELECT {DETAIL_COLS} ORDER BY lower(COALESCE(NULLIF(trim(display_name), ''), title)), id"
    );
    let rows: Vec<DetailRow> = rows("feeds_all_detailed", db.prepare(sql)).await?;
    Ok(rows.into_iter().map(FeedDetail::from).collect())
}

pub async fn feed_detail_by_id(db: &D1Database, id: i64) -> StoreResult<Option<FeedDetail>> {
    let sql = format!("SELECT {DETAIL_COLS} WHERE id = ?1");
    let row: Option<DetailRow> = first("feed_detail_by_id", query!(db, &sql, id)?).await?;
    Ok(row.map(FeedDetail::from))
}

/// The filter as D1 keeps it: JSON, NULL when it does nothing.
fn filter_json(f: &FeedFilter) -> StoreResult<Option<String>> {
    Ok(if f.is_empty() {
        None
    } else {
        Some(serde_json::to_string(f)?)
    })
}

/// Sets a member's name, face, site link and filter, and records who did it, in one batch.
pub async fn feed_set_member(
    db: &D1Database,
    id: i64,
    m: &Member,
    audit_as: (&str, i64),
) -> StoreResult<()> {
    let (actor, now) = audit_as;
    let detail = serde_json::to_string(m)?;
    let stmts = vec![
        query!(
            db,
            "UPDATE feeds SET display_name = ?2, face_url = ?3, home_url = ?4, filter = ?5 WHERE id = ?1",
            id,
            m.display_name,
            m.face_url,
            m.home_url,
            filter_json(&m.filter)?
        )?,
        audit(db, now, actor, "feed.update", Some(id), Some(&detail))?,
    ];
    batch("feed_set_member", db, stmts).await?;
    Ok(())
}

/// A feed held or resumed by hand: its status and schedule as its object now has them,
/// and who did it, in one batch.
pub async fn feed_set_status(
    db: &D1Database,
    id: i64,
    c: &Changed,
    audit_as: (&str, i64),
) -> StoreResult<()> {
    let (actor, now) = audit_as;
    let action = format!("feed.{}", c.status.as_str());
    let stmts = vec![
        query!(
            db,
            "UPDATE feeds SET status = ?2, next_fetch_at = ?3, overdue_at = ?4 WHERE id = ?1",
            id,
            c.status.as_str(),
            c.next_fetch_at,
            c.overdue_at
        )?,
        audit(db, now, actor, &action, Some(id), None)?,
    ];
    batch("feed_set_status", db, stmts).await?;
    Ok(())
}

pub async fn feeds_all(db: &D1Database) -> StoreResult<Vec<FeedView>> {
    let sql = format!(
        "SELECT {FEED_COLS} ORDER BY lower(COALESCE(NULLIF(trim(display_name), ''), title)), id"
    );
    rows("feeds_all", db.prepare(sql)).await
}

pub async fn feed_by_id(db: &D1Database, id: i64) -> StoreResult<Option<FeedView>> {
    let sql = format!("SELECT {FEED_COLS} WHERE id = ?1");
    first("feed_by_id", query!(db, &sql, id)?).await
}

pub async fn feed_by_url(db: &D1Database, url: &str) -> StoreResult<Option<FeedView>> {
    let sql = format!("SELECT {FEED_COLS} WHERE url = ?1");
    first("feed_by_url", query!(db, &sql, url)?).await
}

/// A permanent redirect a fetch followed, with the feed (if any) already at that URL.
pub async fn feed_move(db: &D1Database, moved_to: Option<String>) -> StoreResult<Option<Move>> {
    let Some(url) = moved_to else {
        return Ok(None);
    };
    let held_by = feed_by_url(db, &url).await?.map(|f| f.id);
    Ok(Some(Move { url, held_by }))
}

/// Records until when a hub pushes a feed (its WebSub lease; `None`: it does not).
pub async fn feed_push(db: &D1Database, id: i64, until: Option<i64>) -> StoreResult<()> {
    let stmt = query!(
        db,
        "UPDATE feeds SET push_until = ?2 WHERE id = ?1",
        id,
        until
    )?;
    run("feed_push", stmt).await
}

#[derive(Deserialize)]
struct Id {
    id: i64,
}

/// Inserts a feed row; `None` when the URL is already subscribed.
pub async fn feed_create(db: &D1Database, url: &str, now: i64) -> StoreResult<Option<i64>> {
    let stmt = query!(
        db,
        "INSERT INTO feeds (url, created_at, next_fetch_at, overdue_at) VALUES (?1, ?2, ?2, ?2) \
         ON CONFLICT (url) DO NOTHING RETURNING id",
        url,
        now
    )?;
    let row: Option<Id> = first("feed_create", stmt).await?;
    Ok(row.map(|r| r.id))
}

/// Inserts many feed rows in one batch (an OPML import) with their members' names,
/// faces and links, overdue at once so cron's watchdog adopts them a few at a time. Per
/// URL: its new id, or `None` if already subscribed.
pub async fn feeds_create(
    db: &D1Database,
    feeds: &[(String, Member)],
    now: i64,
) -> StoreResult<Vec<Option<i64>>> {
    if feeds.is_empty() {
        return Ok(Vec::new());
    }
    let stmts = feeds
        .iter()
        .map(|(url, m)| {
            query!(
                db,
                "INSERT INTO feeds (url, created_at, next_fetch_at, overdue_at, display_name, face_url, home_url) \
                 VALUES (?1, ?2, ?2, ?2, ?3, ?4, ?5) ON CONFLICT (url) DO NOTHING RETURNING id",
                url,
                now,
                m.display_name,
                m.face_url,
                m.home_url
            )
        })
        .collect::<StoreResult<Vec<_>>>()?;
    batch("feeds_create", db, stmts)
        .await?
        .iter()
        .map(|r| Ok(r.results::<Id>()?.into_iter().next().map(|i| i.id)))
        .collect()
}

/// Forgets a feed row that never became a subscription (its first fetch failed).
pub async fn feed_forget(db: &D1Database, id: i64) -> StoreResult<()> {
    run(
        "feed_forget",
        query!(db, "DELETE FROM feeds WHERE id = ?1", id)?,
    )
    .await
}

/// Removes a feed with all its entries, and records who did it, in one batch.
pub async fn feed_delete(
    db: &D1Database,
    id: i64,
    url: &str,
    actor: &str,
    now: i64,
) -> StoreResult<()> {
    let stmts = vec![
        query!(db, "DELETE FROM entries WHERE feed_id = ?1", id)?,
        query!(db, "DELETE FROM feeds WHERE id = ?1", id)?,
        audit(db, now, actor, "feed.delete", Some(id), Some(url))?,
    ];
    batch("feed_delete", db, stmts).await?;
    Ok(())
}

/// What one refresh changes, in one D1 batch: its new and changed entries (upserted
/// on `(feed_id, identity)`, in the given order), the feed's row when it changed, and
/// the feed's retention (`max_entries` newest kept; 0 keeps all) when entries were added.
/// Returns, per entry, the id and first_seen D1 holds for it (`None` if none returned).
pub async fn refresh_apply(
    db: &D1Database,
    row: Option<&FeedRow>,
    entries: &[EntryWrite],
    now: i64,
    max_entries: u32,
) -> StoreResult<Vec<Option<StoredEntry>>> {
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let mut stmts = Vec::with_capacity(entries.len() + 3);
    for w in entries {
        stmts.push(entry_write(db, row.feed_id, w, now)?);
    }
    stmts.push(feed_row_update(db, row, now)?);
    if row.inserted > 0 && max_entries > 0 {
        // Retention per feed, here where the count grows: the oldest past the limit, read
        // through (feed_id, published_at, id), so only the rows deleted are scanned.
        stmts.push(query!(
            db,
            "DELETE FROM entries WHERE id IN (SELECT id FROM entries WHERE feed_id = ?1 \
               ORDER BY published_at, id LIMIT MAX(0, (SELECT entry_count FROM feeds WHERE id = ?1) - ?2))",
            row.feed_id,
            max_entries
        )?);
        stmts.push(query!(
            db,
            "UPDATE feeds SET entry_count = ?2 WHERE id = ?1 AND entry_count > ?2",
            row.feed_id,
            max_entries
        )?);
    }
    // The search index of the entries just written (trigger-free: SQL cannot strip HTML).
    stmts.extend(search_index_stmts(db, row.feed_id, entries)?);
    let results = batch("refresh_apply", db, stmts).await?;
    results
        .iter()
        .take(entries.len())
        .map(|r| Ok(r.results::<StoredEntry>()?.into_iter().next()))
        .collect()
}

/// One entry: an update of a stored one (which retention may have pruned since: then
/// nothing, it stays gone), or an insert (an upsert, so a lost seen row never duplicates).
fn entry_write(
    db: &D1Database,
    feed_id: i64,
    w: &EntryWrite,
    now: i64,
) -> StoreResult<D1PreparedStatement> {
    let e = &w.entry;
    let whole = i32::from(e.whole);
    // A rewrite takes the next revision (the `update` frames' cursor; batches run one
    // statement after another, so revisions never repeat). A brief never replaces a
    // whole stored version: the plan writes none over a stored entry, and should one
    // reach here (a lost seen row) the stored body stays.
    if w.known {
        return query!(
            db,
            "UPDATE entries SET fingerprint = ?3, url = ?4, title = ?5, author = ?6, content_html = ?7, \
               summary = ?8, updated_at = ?9, whole = ?10, rev = (SELECT COALESCE(MAX(rev), 0) + 1 \
               FROM entries WHERE rev IS NOT NULL) WHERE feed_id = ?1 AND identity = ?2 \
             RETURNING id, first_seen, rev",
            feed_id, e.identity, w.fingerprint, e.url, e.title, e.author, e.content_html, e.summary, now,
            whole
        );
    }
    query!(
        db,
        "INSERT INTO entries (feed_id, identity, fingerprint, url, title, author, content_html, summary, \
           published_at, first_seen, updated_at, whole) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11) \
         ON CONFLICT (feed_id, identity) DO UPDATE SET fingerprint = excluded.fingerprint, url = excluded.url, \
           title = excluded.title, author = excluded.author, \
           content_html = CASE WHEN excluded.whole OR NOT whole THEN excluded.content_html ELSE content_html END, \
           whole = MAX(whole, excluded.whole), \
           summary = excluded.summary, updated_at = excluded.updated_at, \
           rev = (SELECT COALESCE(MAX(rev), 0) + 1 FROM entries WHERE rev IS NOT NULL) \
         RETURNING id, first_seen, rev",
        feed_id, e.identity, w.fingerprint, e.url, e.title, e.author, e.content_html, e.summary,
        w.published, now, whole
    )
}

/// The feed row after a refresh; with a parsed body that changed, also its title and links.
fn feed_row_update(db: &D1Database, row: &FeedRow, now: i64) -> StoreResult<D1PreparedStatement> {
    let status = row.status.as_str();
    let changed_at = row.changed.then_some(now);
    let (title, site_url, description, format) = match &row.meta {
        Some(m) => (
            Some(m.title.as_str()),
            m.site_url.as_deref(),
            m.description.as_deref(),
            Some(m.format),
        ),
        None => (None, None, None, None),
    };
    let has_meta = i32::from(row.meta.is_some());
    query!(
        db,
        "UPDATE feeds SET url = ?1, status = ?2, consecutive_failures = ?3, last_error = ?4, \
           last_fetch_at = ?5, last_success_at = COALESCE(?6, last_success_at), next_fetch_at = ?7, \
           overdue_at = ?8, last_changed_at = COALESCE(?9, last_changed_at), \
           entry_count = entry_count + ?10, \
           title = CASE WHEN ?11 THEN ?12 ELSE title END, \
           site_url = CASE WHEN ?11 THEN ?13 ELSE site_url END, \
           description = CASE WHEN ?11 THEN ?14 ELSE description END, \
           format = CASE WHEN ?11 THEN ?15 ELSE format END \
         WHERE id = ?16",
        row.url, status, row.failures, row.last_error, row.last_fetch_at, row.last_success_at,
        row.next_fetch_at, row.overdue_at, changed_at, row.inserted, has_meta, title, site_url,
        description, format, row.feed_id
    )
}

/// Retention by age, bounded: at most `limit` of the oldest entries published before
/// `cutoff`, read through the published_at index; the feeds' counts follow. Returns
/// how many were deleted (a full `limit` means more may be left for the next run).
pub async fn entries_prune_older(db: &D1Database, cutoff: i64, limit: u32) -> StoreResult<usize> {
    #[derive(Deserialize)]
    struct Deleted {
        feed_id: i64,
    }
    let stmt = query!(
        db,
        "DELETE FROM entries WHERE id IN (SELECT id FROM entries WHERE published_at < ?1 \
           ORDER BY published_at LIMIT ?2) RETURNING feed_id",
        cutoff,
        limit
    )?;
    let deleted: Vec<Deleted> = rows("entries_prune_older", stmt).await?;
    let mut per_feed: BTreeMap<i64, u32> = BTreeMap::new();
    for d in &deleted {
        *per_feed.entry(d.feed_id).or_default() += 1;
    }
    if !per_feed.is_empty() {
        // One statement for every feed touched: [[feed, deleted], …] as JSON.
        let pairs: Vec<[i64; 2]> = per_feed.iter().map(|(f, n)| [*f, i64::from(*n)]).collect();
        let stmt = query!(
            db,
            "UPDATE feeds SET entry_count = MAX(0, entry_count - \
               (SELECT value ->> 1 FROM json_each(?1) WHERE value ->> 0 = feeds.id)) \
             WHERE id IN (SELECT value ->> 0 FROM json_each(?1))",
            serde_json::to_string(&pairs)?
        )?;
        run("entries_prune_older", stmt).await?;
    }
    Ok(deleted.len())
}

/// Records an admin action.
pub async fn audit_record(
    db: &D1Database,
    at: i64,
    actor: &str,
    action: &str,
    feed_id: Option<i64>,
    detail: Option<&str>,
) -> StoreResult<()> {
    run("audit", audit(db, at, actor, action, feed_id, detail)?).await
}

/// One page of the audit log, newest first: `limit` records older than `before` (by id),
/// each with its feed's name while the feed exists. Reads through the primary key.
pub async fn audit_page(
    db: &D1Database,
    before: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<AuditEntry>> {
    let stmt = query!(
        db,
        "SELECT a.id, a.at, a.actor, a.action, a.feed_id, a.detail, \
           COALESCE(NULLIF(trim(f.display_name), ''), NULLIF(f.title, ''), f.url) AS feed_title \
         FROM audit_log a LEFT JOIN feeds f ON f.id = a.feed_id \
         WHERE ?1 IS NULL OR a.id < ?1 ORDER BY a.id DESC LIMIT ?2",
        before,
        limit
    )?;
    rows("audit_page", stmt).await
}

/// Deletes audit records older than `cutoff`, at most `limit` a run. Only the oldest
/// `limit` records by id are read (ids grow with time), so a run reads a bounded number of
/// rows even when nothing is old enough. Returns how many were deleted.
pub async fn audit_prune_older(db: &D1Database, cutoff: i64, limit: u32) -> StoreResult<usize> {
    let stmt = query!(
        db,
        "DELETE FROM audit_log WHERE id IN \
           (SELECT id FROM audit_log WHERE at < ?1 ORDER BY at LIMIT ?2)",
        cutoff,
        limit
    )?;
    let result = stmt.run().await?;
    meter::d1("audit_prune_older", &result);
    Ok(result.meta()?.and_then(|m| m.changes).unwrap_or_default())
}

/// A feed cron's watchdog should look at, with the settings its object applies.
#[derive(Debug, Deserialize)]
pub struct OverdueFeed {
    pub id: i64,
    pub url: String,
    display_name: Option<String>,
    face_url: Option<String>,
    filter: Option<String>,
}

impl OverdueFeed {
    pub fn settings(&self) -> FeedSettings {
        FeedSettings {
            display_name: self.display_name.clone(),
            face_url: self.face_url.clone(),
            filter: (self.filter.as_deref())
                .and_then(|f| serde_json::from_str(f).ok())
                .unwrap_or_default(),
        }
    }
}

/// Feeds past their watchdog deadline, most overdue first (a partial index on
/// `overdue_at`: only these rows are read).
pub async fn feeds_overdue(db: &D1Database, now: i64, limit: u32) -> StoreResult<Vec<OverdueFeed>> {
    let stmt = query!(
        db,
        "SELECT id, url, display_name, face_url, filter FROM feeds \
         WHERE overdue_at IS NOT NULL AND overdue_at <= ?1 \
         ORDER BY overdue_at LIMIT ?2",
        now,
        limit
    )?;
    rows("feeds_overdue", stmt).await
}

/// New watchdog deadlines, in one statement (`None`: the feed is no longer scheduled).
pub async fn feeds_set_overdue(
    db: &D1Database,
    deadlines: &[(i64, Option<i64>)],
) -> StoreResult<()> {
    if deadlines.is_empty() {
        return Ok(());
    }
    let stmt = query!(
        db,
        "UPDATE feeds SET overdue_at = (SELECT value ->> 1 FROM json_each(?1) WHERE value ->> 0 = feeds.id) \
         WHERE id IN (SELECT value ->> 0 FROM json_each(?1))",
        serde_json::to_string(deadlines)?
    )?;
    run("feeds_set_overdue", stmt).await
}

fn audit(
    db: &D1Database,
    at: i64,
    actor: &str,
    action: &str,
    feed_id: Option<i64>,
    detail: Option<&str>,
) -> StoreResult<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO audit_log (at, actor, action, feed_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        at,
        actor,
        action,
        feed_id,
        detail
    )
}

// Membership as a file (`core::membership`; cron's sync in `edge/membership.rs`).

/// Every feed as the membership sync compares it: read only when the document changed.
pub async fn members_current(db: &D1Database) -> StoreResult<Vec<Current>> {
    let stmt =
        db.prepare("SELECT id, url, display_name, face_url, home_url, in_file, left_at FROM feeds");
    rows("members_current", stmt).await
}

/// A member who left the membership file: held since `left_at`.
#[derive(Debug, Deserialize)]
pub struct LeftMember {
    pub id: i64,
    pub url: String,
    pub name: String,
    pub left_at: i64,
}

/// Members who left the file before `cutoff`, longest gone first (a partial index on
/// `left_at`: only these rows are read).
pub async fn members_left_before(
    db: &D1Database,
    cutoff: i64,
    limit: u32,
) -> StoreResult<Vec<LeftMember>> {
    let stmt = query!(
        db,
        "SELECT id, url, COALESCE(NULLIF(trim(display_name), ''), title) AS name, left_at FROM feeds \
         WHERE left_at IS NOT NULL AND left_at <= ?1 ORDER BY left_at LIMIT ?2",
        cutoff,
        limit
    )?;
    rows("members_left_before", stmt).await
}

/// What one membership sync (or an admin's confirmation) writes.
#[derive(Default)]
pub struct MembershipWrite<'a> {
    pub add: &'a [Listed],
    pub update: &'a [Update],
    /// Members who left, held now (as their objects answered).
    pub left: &'a [(i64, Changed)],
    /// Members listed again, resumed (as their objects answered).
    pub rejoined: &'a [(i64, Changed)],
    /// Members past their grace: deleted with their entries.
    pub deleted: &'a [i64],
    pub now: i64,
}

#[derive(Deserialize)]
struct IdUrl {
    id: i64,
    url: String,
}

/// Applies a sync in one batch of at most six statements, whatever the number of members
/// (each set is bound as one JSON array). Returns the new feeds' (URL, id).
pub async fn membership_apply(
    db: &D1Database,
    w: &MembershipWrite<'_>,
) -> StoreResult<Vec<(String, i64)>> {
    let mut stmts = Vec::new();
    if !w.add.is_empty() {
        stmts.push(query!(
            db,
            "INSERT INTO feeds (url, created_at, next_fetch_at, overdue_at, display_name, face_url, home_url, in_file) \
             SELECT value ->> 'url', ?2, ?2, ?2, value ->> 'display_name', value ->> 'face_url', value ->> 'home_url', 1 \
             FROM json_each(?1) WHERE true ON CONFLICT (url) DO NOTHING RETURNING id, url",
            serde_json::to_string(w.add)?,
            w.now
        )?);
    }
    if !w.update.is_empty() {
        // A scheduled feed becomes due for the watchdog, which hands the object its new
        // name and face (no call from here).
        stmts.push(query!(
            db,
            "UPDATE feeds SET display_name = j.value ->> 'display_name', face_url = j.value ->> 'face_url', \
             home_url = j.value ->> 'home_url', in_file = 1, \
             overdue_at = CASE WHEN feeds.overdue_at IS NULL THEN NULL ELSE ?2 END \
             FROM json_each(?1) AS j WHERE feeds.id = j.value ->> 'id'",
            serde_json::to_string(w.update)?,
            w.now
        )?);
    }
    let statuses = |set: &[(i64, Changed)]| -> StoreResult<String> {
        let rows: Vec<_> = set
            .iter()
            .map(|(id, c)| (id, c.status.as_str(), c.next_fetch_at, c.overdue_at))
            .collect();
        Ok(serde_json::to_string(&rows)?)
    };
    if !w.left.is_empty() {
        stmts.push(query!(
            db,
            "UPDATE feeds SET status = j.value ->> 1, next_fetch_at = j.value ->> 2, overdue_at = j.value ->> 3, \
             left_at = ?2, last_error = ?3 FROM json_each(?1) AS j WHERE feeds.id = j.value ->> 0",
            statuses(w.left)?,
            w.now,
            LEFT_REASON
        )?);
    }
    if !w.rejoined.is_empty() {
        stmts.push(query!(
            db,
            "UPDATE feeds SET status = j.value ->> 1, next_fetch_at = j.value ->> 2, overdue_at = j.value ->> 3, \
             left_at = NULL, last_error = NULL FROM json_each(?1) AS j WHERE feeds.id = j.value ->> 0",
            statuses(w.rejoined)?
        )?);
    }
    if !w.deleted.is_empty() {
        let ids = serde_json::to_string(w.deleted)?;
        stmts.push(query!(
            db,
            "DELETE FROM entries WHERE feed_id IN (SELECT value FROM json_each(?1))",
            ids
        )?);
        stmts.push(query!(
            db,
            "DELETE FROM feeds WHERE id IN (SELECT value FROM json_each(?1)) AND left_at IS NOT NULL",
            ids
        )?);
    }
    if stmts.is_empty() {
        return Ok(Vec::new());
    }
    let results = batch("membership_apply", db, stmts).await?;
    if w.add.is_empty() {
        return Ok(Vec::new());
    }
    Ok(results[0]
        .results::<IdUrl>()?
        .into_iter()
        .map(|r| (r.url, r.id))
        .collect())
}

#[derive(Deserialize)]
struct SyncRow {
    id: i64,
    report: String,
}

/// The newest sync report and the newest successful one (row id and report; the same row
/// when the newest succeeded), by primary key.
pub async fn membership_reports(
    db: &D1Database,
) -> StoreResult<(Option<(i64, SyncReport)>, Option<(i64, SyncReport)>)> {
    let stmt = db.prepare(
        "SELECT id, report FROM membership_syncs \
         WHERE id = (SELECT max(id) FROM membership_syncs) \
         OR id = (SELECT max(id) FROM membership_syncs WHERE ok = 1) \
         ORDER BY id DESC",
    );
    let rows: Vec<SyncRow> = rows("membership_reports", stmt).await?;
    let parsed: Vec<(i64, SyncReport)> = rows
        .into_iter()
        .filter_map(|r| Some((r.id, serde_json::from_str(&r.report).ok()?)))
        .collect();
    let latest = parsed.first().cloned();
    let last_ok = parsed.into_iter().find(|(_, r)| r.ok());
    Ok((latest, last_ok))
}

/// Keeps a sync report: a new row (and an audit line; the newest 20 reports are kept), or
/// row `replace` rewritten (a run that found the same again, an admin's confirmation).
pub async fn membership_report_save(
    db: &D1Database,
    report: &SyncReport,
    replace: Option<i64>,
    actor: &str,
) -> StoreResult<()> {
    let json = serde_json::to_string(report)?;
    if let Some(id) = replace {
        let stmt = query!(
            db,
            "UPDATE membership_syncs SET checked_at = ?2, report = ?3 WHERE id = ?1",
            id,
            report.checked_at,
            json
        )?;
        return run("membership_report_save", stmt).await;
    }
    let stmts = vec![
        query!(
            db,
            "INSERT INTO membership_syncs (at, checked_at, ok, report) VALUES (?1, ?2, ?3, ?4)",
            report.at,
            report.checked_at,
            i64::from(report.ok()),
            json
        )?,
        db.prepare(
            "DELETE FROM membership_syncs WHERE id <= (SELECT max(id) - 20 FROM membership_syncs)",
        ),
        audit(
            db,
            report.checked_at,
            actor,
            "membership.sync",
            None,
            Some(&report.summary()),
        )?,
    ];
    batch("membership_report_save", db, stmts).await?;
    Ok(())
}

/// Ids and feeds of the entries after `after`, oldest first: what the WebSub publisher
/// scans to learn which topics got new entries (two narrow columns, read by the primary key).
pub async fn entry_heads_after(
    db: &D1Database,
    after: i64,
    limit: u32,
) -> StoreResult<Vec<(i64, i64)>> {
    #[derive(Deserialize)]
    struct Row {
        id: i64,
        feed_id: i64,
    }
    let stmt = query!(
        db,
        "SELECT id, feed_id FROM entries WHERE id > ?1 ORDER BY id ASC LIMIT ?2",
        after,
        limit
    )?;
    let rows: Vec<Row> = rows("entry_heads_after", stmt).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.feed_id)).collect())
}
