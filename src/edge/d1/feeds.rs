//! D1's feeds: rows and details, subscribing and removing, settings, status, deadlines.

use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

use super::audit::audit_insert;
use super::{batch, first, rows, run, StoreResult};
use crate::core::domain::{FeedFilter, Member};
use crate::core::ingest::{Changed, FeedRow, FeedSettings, Move};
use crate::core::view_models::{Counts, FeedDetail, FeedView};

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

/// Feed counts by status and the active feeds with failures in a row (`warning`), for
/// `/health`: the tally alone (its `retrying` column, migrations/0013). Apart from
/// [`counts`], so `/healthz` and `/feeds` still answer on a schema that is behind.
pub async fn health_counts(db: &D1Database) -> StoreResult<Counts> {
    let stmt = db.prepare(
        "SELECT COALESCE(SUM(feeds), 0) AS feeds, \
                COALESCE(SUM(CASE status WHEN 'failing' THEN feeds END), 0) AS failing, \
                COALESCE(SUM(CASE status WHEN 'paused' THEN feeds END), 0) AS paused, \
                COALESCE(SUM(CASE status WHEN 'gone' THEN feeds END), 0) AS gone, \
                COALESCE(SUM(CASE status WHEN 'held' THEN feeds END), 0) AS held, \
                COALESCE(SUM(CASE status WHEN 'active' THEN retrying END), 0) AS warning, \
                0 AS entries, 0 AS latest \
         FROM feed_tally",
    );
    Ok(first("health_counts", stmt).await?.unwrap_or_default())
}

/// The newest migration applied to D1 (wrangler's `d1_migrations`): one row.
pub async fn schema_applied(db: &D1Database) -> StoreResult<Option<String>> {
    #[derive(Deserialize)]
    struct Row {
        name: String,
    }
    let stmt = db.prepare("SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1");
    Ok(first::<Row>("schema_applied", stmt).await?.map(|r| r.name))
}

pub(super) const FEED_COLS: &str =
    "id, url, title, site_url, description, format, status, consecutive_failures, \
     last_error, last_fetch_at, last_success_at, next_fetch_at, last_changed_at, entry_count, \
     display_name, face_url, home_url, push_until, failing_since, recent_titles FROM feeds";

/// A feed's newest titles for the sidebar (`FeedView::recent_titles`), as the JSON its row
/// keeps, in a statement writing that row (`feeds`): at most `limit` (a number or a bound
/// parameter) read through `(feed_id, published_at, id)`, newest first, titles cut to 200
/// characters. The same expression backfills them (migrations/0017_sidebar_titles.sql).
pub(super) fn recent_titles_sql(limit: &str) -> String {
    format!(
        "(SELECT json_group_array(json_object('id', id, 'title', substr(title, 1, 200), \
           'published', published_at)) FROM (SELECT id, title, published_at FROM entries \
           WHERE feed_id = feeds.id ORDER BY published_at DESC, id DESC LIMIT {limit}))"
    )
}

/// A feed row with its filter (JSON in D1).
#[derive(Deserialize)]
pub(super) struct DetailRow {
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

pub(super) const DETAIL_COLS: &str =
    "id, url, title, site_url, description, format, status, consecutive_failures, \
     last_error, last_fetch_at, last_success_at, next_fetch_at, last_changed_at, entry_count, \
     display_name, face_url, home_url, push_until, failing_since, filter FROM feeds";

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
        audit_insert(db, now, actor, "feed.update", Some(id), Some(&detail))?,
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
        audit_insert(db, now, actor, &action, Some(id), None)?,
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

/// A page of the admin's feed-health view: failing, gone, paused and held feeds first, then
/// by failures in a row, then by id; `limit` rows from `offset`. The order is an expression,
/// so this reads every feed row (as the admin dashboard does), and returns at most `limit`.
pub async fn feeds_health_page(
    db: &D1Database,
    offset: u32,
    limit: u32,
) -> StoreResult<Vec<FeedView>> {
    let sql = format!(
        "SELECT {FEED_COLS} ORDER BY CASE status WHEN 'failing' THEN 0 WHEN 'gone' THEN 1 \
         WHEN 'paused' THEN 2 WHEN 'held' THEN 3 ELSE 4 END, consecutive_failures DESC, id \
         LIMIT ?1 OFFSET ?2"
    );
    rows("feeds_health_page", query!(db, &sql, limit, offset)?).await
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
        audit_insert(db, now, actor, "feed.delete", Some(id), Some(url))?,
    ];
    batch("feed_delete", db, stmts).await?;
    Ok(())
}

/// The feed row after a refresh; with a parsed body that changed, also its title and links.
pub(super) fn feed_row_update(
    db: &D1Database,
    row: &FeedRow,
    now: i64,
    keep_titles: u32,
) -> StoreResult<D1PreparedStatement> {
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
    let changed = i32::from(row.changed);
    // The sidebar's newest titles change only with entries, and are kept here, in the row
    // this write makes anyway (no row more written; three entries read by index).
    let sql = format!(
        "UPDATE feeds SET url = ?1, status = ?2, consecutive_failures = ?3, last_error = ?4, \
           last_fetch_at = ?5, last_success_at = COALESCE(?6, last_success_at), next_fetch_at = ?7, \
           overdue_at = ?8, last_changed_at = COALESCE(?9, last_changed_at), \
           entry_count = entry_count + ?10, \
           title = CASE WHEN ?11 THEN ?12 ELSE title END, \
           site_url = CASE WHEN ?11 THEN ?13 ELSE site_url END, \
           description = CASE WHEN ?11 THEN ?14 ELSE description END, \
           format = CASE WHEN ?11 THEN ?15 ELSE format END, \
           failing_since = CASE WHEN ?3 = 0 THEN NULL ELSE COALESCE(failing_since, ?5) END, \
           recent_titles = CASE WHEN ?17 THEN {} ELSE recent_titles END \
         WHERE id = ?16",
        recent_titles_sql("?18")
    );
    query!(
        db,
        &sql,
        row.url,
        status,
        row.failures,
        row.last_error,
        row.last_fetch_at,
        row.last_success_at,
        row.next_fetch_at,
        row.overdue_at,
        changed_at,
        row.inserted,
        has_meta,
        title,
        site_url,
        description,
        format,
        row.feed_id,
        changed,
        keep_titles
    )
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
