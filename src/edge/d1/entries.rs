//! D1's entries: what pages, sockets and the API read, retention, a refresh's one batch.

use std::collections::BTreeMap;

use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

use super::audit::audit_insert;
use super::cursors::RiverCursor;
use super::feeds::{feed_row_update, recent_titles_sql};
use super::search::search_index_stmts;
use super::{batch, first, rows, run, StoreResult};
use crate::core::audit::SYSTEM_ACTOR;
use crate::core::ingest::{AutoChange, EntryWrite, FeedRow, StoredEntry};
use crate::core::river::{local_day, Step, Zone};
use crate::core::view_models::{AlsoPosted, EntryView, RECENT_TITLES};

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
    #[serde(default)]
    day_rank: Option<i64>,
    /// Every copy of the entry's article as JSON `[[id, feed_id, name, feed url], …]`,
    /// when another member posted it too.
    #[serde(default)]
    copies: Option<String>,
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
            day_rank: r.day_rank,
            local_offset_ms: 0,
            same_as: None,
            also: Vec::new(),
        }
        .with_copies(r.copies.as_deref().map(copies_of).unwrap_or_default())
    }
}

/// The copies of an article as [`ENTRY_COLS`] reads them.
fn copies_of(json: &str) -> Vec<AlsoPosted> {
    let rows: Vec<(i64, i64, Option<String>, String)> =
        serde_json::from_str(json).unwrap_or_default();
    rows.into_iter()
        .map(|(id, feed_id, name, url)| AlsoPosted {
            id,
            feed_id,
            feed_title: name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| crate::core::fetch::public_url(&url)),
        })
        .collect()
}

pub(super) const ENTRY_COLS: &str =
    "e.id, e.feed_id, COALESCE(NULLIF(trim(f.display_name), ''), f.title) AS feed_title, \
     f.face_url AS feed_face, f.url AS feed_url, e.title, e.url, e.author, \
     e.published_at, e.first_seen, e.summary, e.content_html, e.whole, e.rev, e.day_rank, \
     CASE WHEN e.article_id IS NULL THEN NULL ELSE (SELECT json_group_array(json_array(o.id, \
       o.feed_id, COALESCE(NULLIF(trim(fo.display_name), ''), fo.title), fo.url)) \
       FROM entries o JOIN feeds fo ON fo.id = o.feed_id WHERE o.article_id = e.article_id) END AS copies \
     FROM entries e JOIN feeds f ON f.id = e.feed_id";

/// The river's "the same article from two members shown once" condition, a piece of a
/// `WHERE` of its own (composable with any other): an entry shows unless an older copy of
/// its article, from another member, is still stored. Free for an entry that is the only
/// copy of its article (no probe); a copy reads its article's few rows through
/// `entries_article`. When the shown copy is pruned or its feed removed, the next shows.
pub(super) const SHOWN_ONCE: &str = "(e.article_id IS NULL OR NOT EXISTS (SELECT 1 FROM entries o \
     WHERE o.article_id = e.article_id AND o.id < e.id))";

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

pub(super) async fn entry_views(
    what: &str,
    stmt: D1PreparedStatement,
) -> StoreResult<Vec<EntryView>> {
    let rows: Vec<EntryRow> = rows(what, stmt).await?;
    Ok(rows.into_iter().map(EntryView::from).collect())
}

/// The river: newest published first; `before` is where the page starts (the position of
/// the `?before=` entry, looked up first: [`super::entry_position`]), bound as plain values
/// so the index ranges over them. A feed's river reads its own index range.
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
    // The planet's river shows an article once; a feed's river shows all of its own.
    let shown = if feed.is_some() { "1" } else { SHOWN_ONCE };
    let sql = format!(
        "SELECT {ENTRY_COLS} WHERE {feed_clause} AND {cursor} AND {shown} \
         ORDER BY e.published_at DESC, e.id DESC LIMIT ?4"
    );
    let stmt = query!(db, &sql, feed, published, id, limit)?;
    entry_views("entries_river", stmt).await
}

/// The fair river's walk (`core::river::fair_page` decides the page): at most `walk`
/// entries after `before`, newest published first, as the `published_at` index has them
/// (it carries each entry's feed, day, rank and article: index rows only, however many a
/// member posted; migrations/0015, 0016), each article once ([`SHOWN_ONCE`]).
pub async fn river_walk(
    db: &D1Database,
    before: Option<RiverCursor>,
    walk: u32,
) -> StoreResult<Vec<Step>> {
    let (published, id) = before.map_or((None, None), |c| (c.published_at, Some(c.id)));
    let cursor = if before.is_some() {
        "(e.published_at, e.id) < (?1, ?2)"
    } else {
        "?1 IS NULL AND ?2 IS NULL"
    };
    let sql = format!(
        "SELECT e.id, e.feed_id, e.day_rank, e.river_day FROM entries e INDEXED BY entries_published \
         WHERE {cursor} AND {SHOWN_ONCE} ORDER BY e.published_at DESC, e.id DESC LIMIT ?3"
    );
    rows("river_walk", query!(db, &sql, published, id, walk)?).await
}

/// The entries `ids` (a fair page's), newest published first.
pub async fn entries_by_ids(db: &D1Database, ids: &[i64]) -> StoreResult<Vec<EntryView>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {ENTRY_COLS} WHERE e.id IN (SELECT value FROM json_each(?1)) \
         ORDER BY e.published_at DESC, e.id DESC"
    );
    let stmt = query!(db, &sql, serde_json::to_string(ids)?)?;
    entry_views("entries_by_ids", stmt).await
}

/// The highest rank of each `(feed, day)`: how many entries the member has that day (one
/// index seek each, `entries_river_day`), in the same order; what the "N more" links say.
pub async fn river_day_ranks(db: &D1Database, days: &[(i64, i64)]) -> StoreResult<Vec<i64>> {
    #[derive(Deserialize)]
    struct Row {
        n: Option<i64>,
    }
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = query!(
        db,
        "SELECT (SELECT MAX(day_rank) FROM entries INDEXED BY entries_river_day \
            WHERE feed_id = d.value ->> 0 AND river_day = d.value ->> 1) AS n \
         FROM json_each(?1) d ORDER BY d.key",
        serde_json::to_string(days)?
    )?;
    let found: Vec<Row> = rows("river_day_ranks", stmt).await?;
    Ok(found.into_iter().map(|r| r.n.unwrap_or(0)).collect())
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
/// Of some feeds, read through `(feed_id, id)`: only those feeds' entries in the range are
/// read, never the range itself (a filter matching nothing reads nothing). One feed is
/// read in id order and stops at `limit`; several are read whole within the range and
/// merged, so callers keep that range short (`core::protocol::MAX_RESUME_REACH`).
pub async fn entries_between(
    db: &D1Database,
    after: i64,
    upto: i64,
    feeds: Option<&[i64]>,
    limit: u32,
) -> StoreResult<Vec<EntryView>> {
    let stmt = match feeds {
        None => query!(
            db,
            &format!(
                "SELECT {ENTRY_COLS} WHERE e.id > ?1 AND e.id <= ?2 ORDER BY e.id ASC LIMIT ?3"
            ),
            after,
            upto,
            limit
        )?,
        Some(&[feed]) => query!(
            db,
            &format!(
                "SELECT {} WHERE e.feed_id = ?3 AND e.id > ?1 AND e.id <= ?2 \
                 ORDER BY e.id ASC LIMIT ?4",
                by_feed_id()
            ),
            after,
            upto,
            feed,
            limit
        )?,
        Some(feeds) => {
            let from = by_feed_id();
            query!(
                db,
                &format!(
                    "SELECT {from} WHERE e.feed_id IN (SELECT value FROM json_each(?3)) \
                       AND e.id > ?1 AND e.id <= ?2 ORDER BY e.id ASC LIMIT ?4"
                ),
                after,
                upto,
                serde_json::to_string(feeds)?,
                limit
            )?
        }
    };
    entry_views("entries_between", stmt).await
}

/// [`ENTRY_COLS`] reading entries through the `(feed_id, id)` index.
fn by_feed_id() -> String {
    ENTRY_COLS.replace(
        "FROM entries e",
        "FROM entries e INDEXED BY entries_feed_id",
    )
}

pub async fn entry_by_id(db: &D1Database, id: i64) -> StoreResult<Option<EntryView>> {
    let sql = format!("SELECT {ENTRY_COLS} WHERE e.id = ?1");
    Ok(entry_views("entry_by_id", query!(db, &sql, id)?)
        .await?
        .into_iter()
        .next())
}

/// What one refresh changes, in one D1 batch: its new and changed entries (upserted
/// on `(feed_id, identity)`, in the given order), the feed's row when it changed, and
/// the feed's retention (`max_entries` newest kept; 0 keeps all) when entries were added.
/// Returns, per entry, the id and first_seen D1 holds for it (`None` if none returned).
pub async fn refresh_apply(
    db: &D1Database,
    row: Option<&FeedRow>,
    entries: &[EntryWrite],
    changes: &[AutoChange],
    now: i64,
    max_entries: u32,
    zone: &dyn Zone,
) -> StoreResult<Vec<Option<StoredEntry>>> {
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let mut stmts = Vec::with_capacity(entries.len() + changes.len() + 3);
    for w in entries {
        stmts.push(entry_write(db, row.feed_id, w, now, zone)?);
    }
    // Retention below runs after the row's write: its newest titles count only what it keeps.
    let keep_titles = match max_entries {
        0 => RECENT_TITLES as u32,
        n => n.min(RECENT_TITLES as u32),
    };
    stmts.push(feed_row_update(db, row, now, keep_titles)?);
    // What the refresh changed on its own (moved, paused, gone, back), recorded with it.
    for c in changes {
        let detail = Some(c.detail.as_str());
        stmts.push(audit_insert(
            db,
            now,
            SYSTEM_ACTOR,
            c.action,
            Some(row.feed_id),
            detail,
        )?);
    }
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
/// An insert takes its day in the planet's `zone` and its rank within its member's day (one
/// more than the member's highest that day, one index seek; statements of a batch run in
/// order): the fair river's cap. An update keeps both, as it keeps `published_at`.
fn entry_write(
    db: &D1Database,
    feed_id: i64,
    w: &EntryWrite,
    now: i64,
    zone: &dyn Zone,
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
    let river_day = local_day(zone, w.published);
    // A new entry joins the article another member already posted (same canonical link,
    // else same text; `core::ingest::same`), found by an indexed probe per key inside this
    // statement: never one of its own feed, nor an article its feed already has a copy of.
    let sql = format!(
        "INSERT INTO entries (feed_id, identity, fingerprint, url, title, author, content_html, summary, \
           published_at, first_seen, updated_at, whole, river_day, day_rank, same_link, same_text, article_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, \
           (SELECT COALESCE(MAX(day_rank), 0) + 1 FROM entries INDEXED BY entries_river_day \
             WHERE feed_id = ?1 AND river_day = ?12), ?13, ?14, \
           COALESCE({}, {})) \
         ON CONFLICT (feed_id, identity) DO UPDATE SET fingerprint = excluded.fingerprint, url = excluded.url, \
           title = excluded.title, author = excluded.author, \
           content_html = CASE WHEN excluded.whole OR NOT whole THEN excluded.content_html ELSE content_html END, \
           whole = MAX(whole, excluded.whole), \
           summary = excluded.summary, updated_at = excluded.updated_at, \
           rev = (SELECT COALESCE(MAX(rev), 0) + 1 FROM entries WHERE rev IS NOT NULL) \
         RETURNING id, first_seen, rev",
        article_probe("same_link", 13),
        article_probe("same_text", 14)
    );
    query!(
        db,
        &sql,
        feed_id,
        e.identity,
        w.fingerprint,
        e.url,
        e.title,
        e.author,
        e.content_html,
        e.summary,
        w.published,
        now,
        whole,
        river_day,
        w.same.link,
        w.same.text
    )
}

/// The article (its first copy's id) of another feed's entry whose `column` equals
/// parameter `?{param}`, unless feed `?1` already has a copy of it: one indexed probe.
fn article_probe(column: &str, param: u8) -> String {
    format!(
        "(SELECT COALESCE(x.article_id, x.id) FROM entries x WHERE x.{column} = ?{param} \
           AND x.feed_id <> ?1 AND NOT EXISTS (SELECT 1 FROM entries y \
             WHERE y.article_id = COALESCE(x.article_id, x.id) AND y.feed_id = ?1) \
         ORDER BY x.id LIMIT 1)"
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
        // The same write keeps their newest titles true, should it have pruned one of them.
        let sql = format!(
            "UPDATE feeds SET entry_count = MAX(0, entry_count - \
               (SELECT value ->> 1 FROM json_each(?1) WHERE value ->> 0 = feeds.id)), \
               recent_titles = {} \
             WHERE id IN (SELECT value ->> 0 FROM json_each(?1))",
            recent_titles_sql(&RECENT_TITLES.to_string())
        );
        let stmt = query!(db, &sql, serde_json::to_string(&pairs)?)?;
        run("entries_prune_older", stmt).await?;
    }
    Ok(deleted.len())
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
