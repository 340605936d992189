//! D1's rounds of "refresh all feeds": starting one (at most one runs), its cursor moved
//! on a batch at a time, the newest read for `/admin` and `GET /api/refresh`.

use worker::{query, D1Database};

use super::{batch, first, rows, StoreResult};
use crate::core::ingest::round::{RefreshRound, ROUNDS_KEPT, ROUND_STATUSES};

const ROUND_COLS: &str = "id, started_at, started_by, total, cursor, done, new_entries, failed, \
     runs, finished_at FROM refresh_rounds";

/// Starts a round unless one runs (`None` then), counting the feeds it will refresh from
/// the status tally, and records who started it, in one batch; the oldest rounds past
/// the newest [`ROUNDS_KEPT`] are deleted.
pub async fn refresh_round_start(
    db: &D1Database,
    actor: &str,
    now: i64,
) -> StoreResult<Option<RefreshRound>> {
    let [a, f] = ROUND_STATUSES.map(|s| s.as_str());
    let stmts = vec![
        query!(
            db,
            &format!(
                "INSERT INTO refresh_rounds (started_at, started_by, total) \
                 SELECT ?1, ?2, (SELECT COALESCE(SUM(feeds), 0) FROM feed_tally WHERE status IN (?3, ?4)) \
                 WHERE NOT EXISTS (SELECT 1 FROM refresh_rounds WHERE finished_at IS NULL) \
                 RETURNING {}",
                ROUND_COLS.trim_end_matches(" FROM refresh_rounds")
            ),
            now,
            actor,
            a,
            f
        )?,
        // Only when this request's round is the one running (a second start records nothing).
        query!(
            db,
            "INSERT INTO audit_log (at, actor, action, feed_id, detail) \
             SELECT ?1, ?2, 'refresh.start', NULL, 'refresh every active feed: ' || total || ' feeds' \
             FROM refresh_rounds WHERE finished_at IS NULL AND started_at = ?1 AND started_by = ?2",
            now,
            actor
        )?,
        query!(
            db,
            "DELETE FROM refresh_rounds WHERE id <= (SELECT max(id) - ?1 FROM refresh_rounds)",
            ROUNDS_KEPT
        )?,
    ];
    let results = batch("refresh_round_start", db, stmts).await?;
    Ok(results[0].results::<RefreshRound>()?.into_iter().next())
}

/// The newest round, running or not (by primary key: one row).
pub async fn refresh_round_latest(db: &D1Database) -> StoreResult<Option<RefreshRound>> {
    let sql = format!("SELECT {ROUND_COLS} ORDER BY id DESC LIMIT 1");
    first("refresh_round_latest", db.prepare(sql)).await
}

/// The round running, if any (the partial index holds only that one).
pub async fn refresh_round_running(db: &D1Database) -> StoreResult<Option<RefreshRound>> {
    let sql = format!("SELECT {ROUND_COLS} WHERE finished_at IS NULL LIMIT 1");
    first("refresh_round_running", db.prepare(sql)).await
}

#[derive(serde::Deserialize)]
struct Id {
    id: i64,
}

/// The next `limit` feeds a round refreshes after feed `after`, by id (the primary key).
pub async fn refresh_round_feeds(db: &D1Database, after: i64, limit: u32) -> StoreResult<Vec<i64>> {
    let [a, f] = ROUND_STATUSES.map(|s| s.as_str());
    let stmt = query!(
        db,
        "SELECT id FROM feeds WHERE id > ?1 AND status IN (?3, ?4) ORDER BY id LIMIT ?2",
        after,
        limit,
        a,
        f
    )?;
    let ids: Vec<Id> = rows("refresh_round_feeds", stmt).await?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

/// Writes a round moved on by one batch (one row), only if nobody moved it meanwhile
/// (its cursor is still `from`'s); when it finished, the audit record says so in the same
/// batch. Returns whether this write was the one that counted.
pub async fn refresh_round_advance(
    db: &D1Database,
    from: &RefreshRound,
    to: &RefreshRound,
    actor: &str,
    now: i64,
) -> StoreResult<bool> {
    let mut stmts = vec![query!(
        db,
        "UPDATE refresh_rounds SET cursor = ?3, done = ?4, new_entries = ?5, failed = ?6, runs = ?7, \
           finished_at = ?8 WHERE id = ?1 AND cursor = ?2 AND finished_at IS NULL",
        to.id,
        from.cursor,
        to.cursor,
        to.done,
        to.new_entries,
        to.failed,
        to.runs,
        to.finished_at
    )?];
    if to.finished_at.is_some() {
        // Only if the update above was this one's (another invocation may have moved it).
        stmts.push(query!(
            db,
            "INSERT INTO audit_log (at, actor, action, feed_id, detail) \
             SELECT ?2, ?3, 'refresh.finish', NULL, ?4 FROM refresh_rounds \
             WHERE id = ?1 AND finished_at = ?5 AND runs = ?6 AND cursor = ?7",
            to.id,
            now,
            actor,
            to.finish_detail(),
            to.finished_at,
            to.runs,
            to.cursor
        )?);
    }
    let results = batch("refresh_round_advance", db, stmts).await?;
    let changed = results[0]
        .meta()?
        .and_then(|m| m.changes)
        .unwrap_or_default();
    Ok(changed > 0)
}
