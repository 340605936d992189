//! D1's session revocations: when a person last signed out (their older sessions are void).

use serde::Deserialize;
use worker::{query, D1Database};

use super::{first, run, StoreResult};

/// Sessions of `actor` issued at or before this are revoked; `None`: never signed out.
pub async fn session_revoked_before(db: &D1Database, actor: &str) -> StoreResult<Option<i64>> {
    #[derive(Deserialize)]
    struct Row {
        before_ms: i64,
    }
    let stmt = query!(
        db,
        "SELECT before_ms FROM session_revocations WHERE actor = ?1",
        actor
    )?;
    let row: Option<Row> = first("session_revoked_before", stmt).await?;
    Ok(row.map(|r| r.before_ms))
}

/// Revokes every session of `actor` issued at or before `now`.
pub async fn session_revoke(db: &D1Database, actor: &str, now: i64) -> StoreResult<()> {
    let stmt = query!(
        db,
        "INSERT INTO session_revocations (actor, before_ms) VALUES (?1, ?2) \
         ON CONFLICT(actor) DO UPDATE SET before_ms = MAX(before_ms, excluded.before_ms)",
        actor,
        now
    )?;
    run("session_revoke", stmt).await
}

/// Where a session stands, in one query: when its person last signed out, and (for a named
/// admin's session) whether the row of the admin list that let them in is still there.
pub async fn session_standing(
    db: &D1Database,
    actor: &str,
    admin: Option<i64>,
) -> StoreResult<(Option<i64>, bool)> {
    #[derive(Deserialize)]
    struct Row {
        before_ms: Option<i64>,
        listed: i64,
    }
    let stmt = query!(
        db,
        "SELECT (SELECT before_ms FROM session_revocations WHERE actor = ?1) AS before_ms, \
           (?2 IS NULL OR EXISTS (SELECT 1 FROM admins WHERE id = ?2)) AS listed",
        actor,
        admin
    )?;
    let row: Option<Row> = first("session_standing", stmt).await?;
    Ok(row.map_or((None, false), |r| (r.before_ms, r.listed != 0)))
}
