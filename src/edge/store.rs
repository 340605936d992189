//! D1 storage: one function per question, noun-verb names, NULLs bound as NULL (via `query!`).

use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

use crate::core::ingest::{EntryWrite, FeedRow, StoredEntry};
use crate::core::model::{Counts, EntryView, FeedView};

pub type StoreResult<T> = worker::Result<T>;

#[derive(Debug, Deserialize)]
struct EntryRow {
    id: i64,
    feed_id: i64,
    feed_title: Option<String>,
    feed_url: Option<String>,
    title: String,
    url: Option<String>,
    author: Option<String>,
    published_at: Option<i64>,
    first_seen: i64,
    summary: String,
    content_html: String,
}

impl From<EntryRow> for EntryView {
    fn from(r: EntryRow) -> Self {
        let feed_title = r
            .feed_title
            .filter(|t| !t.trim().is_empty())
            .or(r.feed_url)
            .unwrap_or_default();
        EntryView {
            id: r.id,
            feed_id: r.feed_id,
            feed_title,
            title: r.title,
            url: r.url,
            author: r.author,
            published: r.published_at.unwrap_or(r.first_seen),
            summary: r.summary,
            content_html: r.content_html,
        }
    }
}

const ENTRY_COLS: &str =
    "e.id, e.feed_id, f.title AS feed_title, f.url AS feed_url, e.title, e.url, e.author, \
     e.published_at, e.first_seen, e.summary, e.content_html \
     FROM entries e JOIN feeds f ON f.id = e.feed_id";

/// Feed counts by status and entry counts for `/healthz`.
pub async fn counts(db: &D1Database) -> StoreResult<Counts> {
    let row: Option<Counts> = db
        .prepare(
            "SELECT COUNT(*) AS feeds, \
                    COALESCE(SUM(status = 'failing'), 0) AS failing, \
                    COALESCE(SUM(status = 'paused'), 0) AS paused, \
                    COALESCE(SUM(status = 'gone'), 0) AS gone, \
                    (SELECT COUNT(*) FROM entries) AS entries, \
                    (SELECT COALESCE(MAX(id), 0) FROM entries) AS latest \
             FROM feeds",
        )
        .first(None)
        .await?;
    Ok(row.unwrap_or_default())
}

/// The newest entry id (the global cursor), 0 when there is none.
pub async fn latest_entry_id(db: &D1Database) -> StoreResult<i64> {
    #[derive(Deserialize)]
    struct Row {
        latest: i64,
    }
    let row: Option<Row> = db
        .prepare("SELECT COALESCE(MAX(id), 0) AS latest FROM entries")
        .first(None)
        .await?;
    Ok(row.map_or(0, |r| r.latest))
}

/// The river: newest published first; `before` is an entry id (the page cursor).
pub async fn entries_river(
    db: &D1Database,
    feed: Option<i64>,
    before: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<EntryView>> {
    // Sort key: published_at (never later than first_seen, see the ingest), ties by id.
    let sql = format!(
        "SELECT {ENTRY_COLS} WHERE (?1 IS NULL OR e.feed_id = ?1) AND (?2 IS NULL OR \
           (e.published_at, e.id) < (SELECT published_at, id FROM entries WHERE id = ?2)) \
         ORDER BY e.published_at DESC, e.id DESC LIMIT ?3"
    );
    let rows: Vec<EntryRow> = query!(db, &sql, feed, before, limit)?
        .all()
        .await?
        .results()?;
    Ok(rows.into_iter().map(EntryView::from).collect())
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
    let sql = format!(
        "SELECT {ENTRY_COLS} WHERE (?1 IS NULL OR e.feed_id = ?1) AND (?2 IS NULL OR e.id > ?2) \
           AND (?3 IS NULL OR e.id < ?3) ORDER BY e.id {order} LIMIT ?4"
    );
    let rows: Vec<EntryRow> = query!(db, &sql, feed, since, before, limit)?
        .all()
        .await?
        .results()?;
    Ok(rows.into_iter().map(EntryView::from).collect())
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
    let rows: Vec<EntryRow> = query!(db, &sql, after, upto, feeds_json, limit)?
        .all()
        .await?
        .results()?;
    Ok(rows.into_iter().map(EntryView::from).collect())
}

pub async fn entry_by_id(db: &D1Database, id: i64) -> StoreResult<Option<EntryView>> {
    let sql = format!("SELECT {ENTRY_COLS} WHERE e.id = ?1");
    let row: Option<EntryRow> = query!(db, &sql, id)?.first(None).await?;
    Ok(row.map(EntryView::from))
}

/// Full-text search over titles, summaries and authors (FTS5), best match first.
pub async fn entries_search(
    db: &D1Database,
    fts_query: &str,
    limit: u32,
) -> StoreResult<Vec<EntryView>> {
    let sql = format!(
        "SELECT {ENTRY_COLS} JOIN entries_fts ON entries_fts.rowid = e.id \
         WHERE entries_fts MATCH ?1 ORDER BY entries_fts.rank, e.id DESC LIMIT ?2"
    );
    let rows: Vec<EntryRow> = query!(db, &sql, fts_query, limit)?.all().await?.results()?;
    Ok(rows.into_iter().map(EntryView::from).collect())
}

const FEED_COLS: &str =
    "id, url, title, site_url, description, format, status, consecutive_failures, \
     last_error, last_fetch_at, last_success_at, next_fetch_at, entry_count FROM feeds";

pub async fn feeds_all(db: &D1Database) -> StoreResult<Vec<FeedView>> {
    let sql = format!("SELECT {FEED_COLS} ORDER BY lower(title), id");
    db.prepare(sql).all().await?.results()
}

pub async fn feed_by_id(db: &D1Database, id: i64) -> StoreResult<Option<FeedView>> {
    let sql = format!("SELECT {FEED_COLS} WHERE id = ?1");
    query!(db, &sql, id)?.first(None).await
}

pub async fn feed_by_url(db: &D1Database, url: &str) -> StoreResult<Option<FeedView>> {
    let sql = format!("SELECT {FEED_COLS} WHERE url = ?1");
    query!(db, &sql, url)?.first(None).await
}

/// Inserts a feed row; `None` when the URL is already subscribed.
pub async fn feed_create(db: &D1Database, url: &str, now: i64) -> StoreResult<Option<i64>> {
    #[derive(Deserialize)]
    struct Id {
        id: i64,
    }
    let inserted: Option<Id> = query!(
        db,
        "INSERT INTO feeds (url, created_at, next_fetch_at) VALUES (?1, ?2, ?2) \
         ON CONFLICT (url) DO NOTHING RETURNING id",
        url,
        now
    )?
    .first(None)
    .await?;
    Ok(inserted.map(|r| r.id))
}

/// Forgets a feed row that never became a subscription (its first fetch failed).
pub async fn feed_forget(db: &D1Database, id: i64) -> StoreResult<()> {
    query!(db, "DELETE FROM feeds WHERE id = ?1", id)?
        .run()
        .await?;
    Ok(())
}

/// Removes a feed with all its entries, and records who did it, in one batch.
pub async fn feed_delete(
    db: &D1Database,
    id: i64,
    url: &str,
    actor: &str,
    now: i64,
) -> StoreResult<()> {
    db.batch(vec![
        query!(db, "DELETE FROM entries WHERE feed_id = ?1", id)?,
        query!(db, "DELETE FROM feeds WHERE id = ?1", id)?,
        audit(db, now, actor, "feed.delete", Some(id), Some(url))?,
    ])
    .await?;
    Ok(())
}

/// What one refresh changes, in one D1 batch: its new and changed entries (upserted
/// on `(feed_id, identity)`, in the given order) and the feed's row. Returns, per
/// entry, the id and first_seen D1 holds for it (`None` if D1 returned no row).
pub async fn refresh_apply(
    db: &D1Database,
    row: &FeedRow,
    entries: &[EntryWrite],
    now: i64,
) -> StoreResult<Vec<Option<StoredEntry>>> {
    let mut stmts = Vec::with_capacity(entries.len() + 1);
    for w in entries {
        let e = &w.entry;
        stmts.push(query!(
            db,
            "INSERT INTO entries (feed_id, identity, fingerprint, url, title, author, content_html, summary, \
               published_at, first_seen, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) \
             ON CONFLICT (feed_id, identity) DO UPDATE SET fingerprint = excluded.fingerprint, url = excluded.url, \
               title = excluded.title, author = excluded.author, content_html = excluded.content_html, \
               summary = excluded.summary, updated_at = excluded.updated_at \
             RETURNING id, first_seen",
            row.feed_id, e.identity, w.fingerprint, e.url, e.title, e.author, e.content_html, e.summary,
            w.published, now
        )?);
    }
    stmts.push(feed_row_update(db, row)?);
    let results = db.batch(stmts).await?;
    results
        .iter()
        .take(entries.len())
        .map(|r| Ok(r.results::<StoredEntry>()?.into_iter().next()))
        .collect()
}

/// The feed row after a refresh; with a parsed body also its title, links and validators.
fn feed_row_update(db: &D1Database, row: &FeedRow) -> StoreResult<D1PreparedStatement> {
    let status = row.status.as_str();
    match &row.meta {
        Some(m) => query!(
            db,
            "UPDATE feeds SET url = ?1, status = ?2, consecutive_failures = ?3, last_error = ?4, \
               last_fetch_at = ?5, last_success_at = COALESCE(?6, last_success_at), next_fetch_at = ?7, \
               title = ?8, site_url = ?9, description = ?10, format = ?11, etag = ?12, last_modified = ?13, \
               entry_count = (SELECT COUNT(*) FROM entries WHERE feed_id = ?14) WHERE id = ?14",
            row.url, status, row.failures, row.last_error, row.last_fetch_at, row.last_success_at,
            row.next_fetch_at, m.title, m.site_url, m.description, m.format, m.etag, m.last_modified,
            row.feed_id
        ),
        None => query!(
            db,
            "UPDATE feeds SET url = ?1, status = ?2, consecutive_failures = ?3, last_error = ?4, \
               last_fetch_at = ?5, last_success_at = COALESCE(?6, last_success_at), next_fetch_at = ?7 \
             WHERE id = ?8",
            row.url, status, row.failures, row.last_error, row.last_fetch_at, row.last_success_at,
            row.next_fetch_at, row.feed_id
        ),
    }
}

/// Retention: entries published before `cutoff` (if any), and past `max_per_feed` per
/// feed; then every feed's entry count.
pub async fn entries_prune(
    db: &D1Database,
    cutoff: Option<i64>,
    max_per_feed: u32,
) -> StoreResult<()> {
    let mut stmts = Vec::new();
    if let Some(cutoff) = cutoff {
        stmts.push(query!(
            db,
            "DELETE FROM entries WHERE published_at < ?1",
            cutoff
        )?);
    }
    stmts.push(query!(
        db,
        "DELETE FROM entries WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER \
           (PARTITION BY feed_id ORDER BY published_at DESC, id DESC) AS n FROM entries) WHERE n > ?1)",
        max_per_feed
    )?);
    stmts.push(db.prepare(
        "UPDATE feeds SET entry_count = (SELECT COUNT(*) FROM entries WHERE entries.feed_id = feeds.id)",
    ));
    db.batch(stmts).await?;
    Ok(())
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
    audit(db, at, actor, action, feed_id, detail)?.run().await?;
    Ok(())
}

/// Feeds whose next fetch is due by `now` (cron's watchdog list).
pub async fn feed_ids_due(db: &D1Database, now: i64) -> StoreResult<Vec<i64>> {
    #[derive(Deserialize)]
    struct Row {
        id: i64,
    }
    let rows: Vec<Row> = query!(
        db,
        "SELECT id FROM feeds WHERE status IN ('active', 'failing') \
           AND (next_fetch_at IS NULL OR next_fetch_at <= ?1) ORDER BY next_fetch_at LIMIT 500",
        now
    )?
    .all()
    .await?
    .results()?;
    Ok(rows.into_iter().map(|r| r.id).collect())
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
