//! D1's admin list (named admins who sign in with GitHub or OpenID Connect) and the
//! once-an-hour record of refused sign-ins.

use serde::Deserialize;
use worker::{query, D1Database};

use super::audit::audit_insert;
use super::{batch, rows, StoreResult};
use crate::core::auth::admins::{Admin, AdminRule, SeedPlan, Source, MAX_ADMINS};

#[derive(Deserialize)]
struct Row {
    id: i64,
    rule: String,
    github_id: Option<i64>,
    source: String,
    added_by: Option<String>,
    added_at: i64,
}

/// The whole list (at most `MAX_ADMINS` rows), oldest first; a row whose rule no longer
/// reads is skipped.
pub async fn admins_all(db: &D1Database) -> StoreResult<Vec<Admin>> {
    let limit = MAX_ADMINS as u32 + 1;
    let stmt = query!(
        db,
        "SELECT id, rule, github_id, source, added_by, added_at FROM admins ORDER BY id LIMIT ?1",
        limit
    )?;
    let all: Vec<Row> = rows("admins_all", stmt).await?;
    Ok(all
        .into_iter()
        .filter_map(|r| {
            Some(Admin {
                id: r.id,
                rule: AdminRule::parse(&r.rule).ok()?,
                github_id: r.github_id,
                source: Source::from_str_lossy(&r.source),
                added_by: r.added_by,
                added_at: r.added_at,
            })
        })
        .collect())
}

/// Applies a seeding of the list from `ADMINS` (one batch, audited as `config`).
pub async fn admins_seed(db: &D1Database, plan: &SeedPlan, now: i64) -> StoreResult<()> {
    let mut stmts = Vec::new();
    for rule in &plan.add {
        let text = rule.text();
        stmts.push(query!(
            db,
            "INSERT INTO admins (rule, source, added_by, added_at) VALUES (?1, 'config', 'ADMINS', ?2) \
             ON CONFLICT(rule) DO UPDATE SET source = 'config'",
            text,
            now
        )?);
        stmts.push(audit_insert(
            db,
            now,
            "config",
            "admin.add",
            None,
            Some(&text),
        )?);
    }
    for id in &plan.adopt {
        stmts.push(query!(
            db,
            "UPDATE admins SET source = 'config' WHERE id = ?1",
            id
        )?);
    }
    for id in &plan.remove {
        stmts.push(query!(
            db,
            "INSERT INTO audit_log (at, actor, action, feed_id, detail) \
             SELECT ?1, 'config', 'admin.remove', NULL, rule FROM admins WHERE id = ?2",
            now,
            id
        )?);
        stmts.push(query!(db, "DELETE FROM admins WHERE id = ?1", id)?);
    }
    if stmts.is_empty() {
        return Ok(());
    }
    batch("admins_seed", db, stmts).await.map(|_| ())
}

/// Adds a rule an admin typed, audited by them; `false` when the list already has it.
pub async fn admin_add(
    db: &D1Database,
    rule: &AdminRule,
    actor: &str,
    now: i64,
) -> StoreResult<bool> {
    let text = rule.text();
    let results = batch(
        "admin_add",
        db,
        vec![
            query!(
                db,
                "INSERT OR IGNORE INTO admins (rule, source, added_by, added_at) VALUES (?1, 'admin', ?2, ?3)",
                text,
                actor,
                now
            )?,
            query!(
                db,
                "INSERT INTO audit_log (at, actor, action, feed_id, detail) \
                 SELECT ?1, ?2, 'admin.add', NULL, ?3 \
                 WHERE EXISTS (SELECT 1 FROM admins WHERE rule = ?3 AND added_at = ?1 AND added_by = ?2)",
                now,
                actor,
                text
            )?,
        ],
    )
    .await?;
    let changed = results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0);
    Ok(changed > 0)
}

/// Removes a row of the list, audited by the admin who did. Its sessions end with it (a
/// session names its row: see `sessions::session_standing`).
pub async fn admin_remove(db: &D1Database, id: i64, actor: &str, now: i64) -> StoreResult<()> {
    batch(
        "admin_remove",
        db,
        vec![
            query!(
                db,
                "INSERT INTO audit_log (at, actor, action, feed_id, detail) \
                 SELECT ?1, ?2, 'admin.remove', NULL, rule FROM admins WHERE id = ?3",
                now,
                actor,
                id
            )?,
            query!(db, "DELETE FROM admins WHERE id = ?1", id)?,
        ],
    )
    .await
    .map(|_| ())
}

/// Binds a `github:<login>` row to the account that first signed in with it.
pub async fn admin_bind_github(db: &D1Database, id: i64, github_id: i64) -> StoreResult<()> {
    let stmt = query!(
        db,
        "UPDATE admins SET github_id = ?2 WHERE id = ?1 AND github_id IS NULL",
        id,
        github_id
    )?;
    super::run("admin_bind_github", stmt).await
}

/// Audits a refused sign-in unless one was recorded for `who` within `window_ms` (one
/// batch: the record only when due, the time it was, and the records past the window
/// forgotten, so the table holds an hour's refusals at most). Returns whether it recorded.
pub async fn signin_refusal_record(
    db: &D1Database,
    who: &str,
    actor: &str,
    detail: &str,
    now: i64,
    window_ms: i64,
) -> StoreResult<bool> {
    let since = now - window_ms;
    let results = batch(
        "signin_refusal",
        db,
        vec![
            query!(
                db,
                "INSERT INTO audit_log (at, actor, action, feed_id, detail) \
                 SELECT ?1, ?2, 'signin.refused', NULL, ?3 \
                 WHERE NOT EXISTS (SELECT 1 FROM signin_refusals WHERE who = ?4 AND at > ?5)",
                now,
                actor,
                detail,
                who,
                since
            )?,
            query!(
                db,
                "INSERT INTO signin_refusals (who, at) VALUES (?1, ?2) \
                 ON CONFLICT(who) DO UPDATE SET at = excluded.at WHERE signin_refusals.at <= ?3",
                who,
                now,
                since
            )?,
            query!(db, "DELETE FROM signin_refusals WHERE at <= ?1", since)?,
        ],
    )
    .await?;
    let recorded = results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0);
    Ok(recorded > 0)
}
