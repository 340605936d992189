//! D1's audit log: who did what, a page of it, its pruning.

use worker::{query, D1Database, D1PreparedStatement};

use super::{rows, run, StoreResult};
use crate::core::audit::AuditEntry;
use crate::edge::meter;

/// Records an admin action.
pub async fn audit_record(
    db: &D1Database,
    at: i64,
    actor: &str,
    action: &str,
    feed_id: Option<i64>,
    detail: Option<&str>,
) -> StoreResult<()> {
    run(
        "audit",
        audit_insert(db, at, actor, action, feed_id, detail)?,
    )
    .await
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

/// The statement that records an admin action (run alone, or in the batch of the change it records).
pub(super) fn audit_insert(
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
