//! D1's side of membership as a file: members as compared, a sync's batch, its reports.
//!
//! The rules are `core::membership`'s; the sync is `edge::jobs::membership_sync`.

use serde::Deserialize;
use worker::{query, D1Database};

use super::audit::audit_insert;
use super::{batch, rows, run, StoreResult};
use crate::core::ingest::Changed;
use crate::core::membership::{Current, Listed, SyncReport, Update, LEFT_REASON};

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
    /// Who the audit log names for each member who left, came back or was deleted (cron
    /// for a sync, the admin who confirmed removals).
    pub actor: &'a str,
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
    // Each member who left, came back or was deleted: an audit record in this batch (one
    // statement per set, whatever its size).
    let audited = |set: &[(i64, Changed)]| -> StoreResult<String> {
        Ok(serde_json::to_string(
            &set.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        )?)
    };
    let audit_each = |ids: String, action: &str, detail: &str| {
        query!(
            db,
            "INSERT INTO audit_log (at, actor, action, feed_id, detail) \
             SELECT ?2, ?3, ?4, value, ?5 FROM json_each(?1)",
            ids,
            w.now,
            w.actor,
            action,
            detail
        )
    };
    if !w.left.is_empty() {
        stmts.push(audit_each(
            audited(w.left)?,
            "membership.left",
            LEFT_REASON,
        )?);
    }
    if !w.rejoined.is_empty() {
        let back = "listed in the membership file again: resumed";
        stmts.push(audit_each(
            audited(w.rejoined)?,
            "membership.rejoined",
            back,
        )?);
    }
    if !w.deleted.is_empty() {
        // Before the rows go: the URL names the member the record outlives.
        stmts.push(query!(
            db,
            "INSERT INTO audit_log (at, actor, action, feed_id, detail) \
             SELECT ?2, ?3, 'membership.deleted', id, \
               'deleted ' || url || ': left the membership file and its grace period ended' \
             FROM feeds WHERE id IN (SELECT value FROM json_each(?1)) AND left_at IS NOT NULL",
            serde_json::to_string(w.deleted)?,
            w.now,
            w.actor
        )?);
    }
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
        audit_insert(
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
