//! Membership as a file, synced by cron.
//!
//! Cron reads `PLANET_OPML` (a URL through the fetcher, or a file under `assets/` through
//! the `ASSETS` binding), asks `core::membership` what changes, and applies it within the
//! run's budget; the admin confirms removals past the cap.

use futures::StreamExt;
use worker::Env;

use crate::core::fetch::FetchOutcome;
use crate::core::ingest::{Change, Changed};
use crate::core::membership::{
    self, MembershipConfig, MembershipPanel, Named, Source, SyncReport, CAPS, MAX_DOCUMENT_BYTES,
    MAX_MEMBERS,
};
use crate::core::syndication::parse_opml;
use crate::edge::error::AppResult;
use crate::edge::fetcher::{fetch_feed, FetchRequest};
use crate::edge::{d1, env, meter, objects::rpc};

/// Pending removals an admin confirms per request at most (a call each).
const CONFIRM_PER_REQUEST: usize = 40;

pub fn config(env: &Env) -> MembershipConfig {
    MembershipConfig::from_lookup(|k| env.var(k).ok().map(|v| v.to_string()))
}

/// One cron run of the sync. Returns the subrequests it used (at most 1 + 5 + 5 + 5), so
/// the watchdog after it stays inside the invocation's 50. A document that cannot be read
/// or parsed changes nothing: the report says why.
pub async fn sync(env: &Env, now: i64) -> AppResult<usize> {
    let cfg = config(env);
    let Some(source) = cfg.source else {
        return Ok(0);
    };
    let db = env::db(env)?;
    let (latest, last_ok) = d1::membership_reports(&db).await?;
    let mut report = SyncReport {
        at: now,
        checked_at: now,
        source: match &source {
            Ok(s) => s.describe(),
            Err(_) => "PLANET_OPML".into(),
        },
        ..Default::default()
    };
    let mut used = 0;
    match source {
        Err(e) => report.error = Some(e),
        Ok(src) => {
            used += 1;
            match read(env, &src, now).await.and_then(|body| parsed(&body)) {
                Err(e) => report.error = Some(e),
                Ok((digest, outlines)) => {
                    report.digest = digest;
                    used += apply(
                        env,
                        &db,
                        &outlines,
                        last_ok.as_ref().map(|r| &r.1),
                        &mut report,
                        now,
                    )
                    .await?;
                }
            }
        }
    }
    if !report.ok() {
        // Still waiting for confirmation: what the last good run said.
        report.pending = last_ok.map(|r| r.1.pending).unwrap_or_default();
    }
    worker::console_log!("cron: {}", report.summary());
    let replace = latest
        .filter(|(_, last)| report.repeats(last))
        .map(|(id, last)| {
            report.at = last.at;
            id
        });
    d1::membership_report_save(&db, &report, replace, crate::core::audit::CRON_ACTOR).await?;
    Ok(used)
}

/// The document's digest and outlines, or why it is refused.
fn parsed(body: &[u8]) -> Result<(String, Vec<crate::core::syndication::Outline>), String> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "the document is larger than {} KiB",
            MAX_DOCUMENT_BYTES / 1024
        ));
    }
    let text = String::from_utf8_lossy(body);
    let outlines = parse_opml(&text).map_err(|e| format!("not an OPML document: {e}"))?;
    if outlines.len() > MAX_MEMBERS {
        return Err(format!(
            "{} feeds listed; at most {MAX_MEMBERS}",
            outlines.len()
        ));
    }
    Ok((membership::digest(body), outlines))
}

/// Compares (unless the document is the one the last complete run applied) and applies;
/// deletes members whose grace is over. Returns the subrequests used.
async fn apply(
    env: &Env,
    db: &worker::D1Database,
    outlines: &[crate::core::syndication::Outline],
    last_ok: Option<&SyncReport>,
    report: &mut SyncReport,
    now: i64,
) -> AppResult<usize> {
    let allow_private = env::config(env).allow_private_feeds;
    let (listed, refused) = membership::listed(outlines, allow_private);
    report.listed = listed.len();
    report.refused = refused;
    let pending_before = last_ok.map(|r| r.pending.clone()).unwrap_or_default();
    let unchanged = last_ok.is_some_and(|r| r.digest == report.digest && !r.more);
    let plan = if unchanged {
        membership::SyncPlan {
            pending: pending_before,
            ..Default::default()
        }
    } else {
        let current = d1::members_current(db).await?;
        membership::plan(&current, &listed, &pending_before, &CAPS)
    };
    let cutoff = membership::grace_cutoff(now, config(env).grace_ms);
    let expired: Vec<d1::LeftMember> = d1::members_left_before(db, cutoff, CAPS.delete as u32)
        .await?
        .into_iter()
        .filter(|m| !listed.iter().any(|l| l.url == m.url))
        .collect();

    let left = change_all(env, &plan.leave, Change::Hold, report).await;
    let rejoined = change_all(env, &plan.rejoin, Change::Resume, report).await;
    let deletions = expired.iter().map(|m| rpc::feed_delete(env, m.id));
    let mut deleted = Vec::new();
    for (m, r) in expired
        .iter()
        .zip(futures::future::join_all(deletions).await)
    {
        match r {
            Ok(()) => deleted.push(m.id),
            Err(e) => report
                .errors
                .push(format!("{}: deleting it failed: {e}", m.url)),
        }
    }
    let write = d1::MembershipWrite {
        add: &plan.add,
        update: &plan.update,
        left: &left,
        rejoined: &rejoined,
        deleted: &deleted,
        now,
        actor: crate::core::audit::CRON_ACTOR,
    };
    let added = d1::membership_apply(db, &write).await?;

    report.added = added
        .into_iter()
        .map(|(url, id)| {
            let name = (plan.add.iter().find(|l| l.url == url))
                .and_then(|l| l.display_name.clone())
                .unwrap_or_default();
            Named {
                id: Some(id),
                url,
                name,
            }
        })
        .collect();
    report.updated = (plan.update.iter())
        .map(|u| Named {
            id: Some(u.id),
            url: u.url.clone(),
            name: u.display_name.clone().unwrap_or_default(),
        })
        .collect();
    let done = |set: &[Named], ok: &[(i64, Changed)]| -> Vec<Named> {
        (set.iter())
            .filter(|n| ok.iter().any(|(id, _)| Some(*id) == n.id))
            .cloned()
            .collect()
    };
    report.left = done(&plan.leave, &left);
    report.rejoined = done(&plan.rejoin, &rejoined);
    report.deleted = (expired.iter())
        .filter(|m| deleted.contains(&m.id))
        .map(|m| Named {
            id: Some(m.id),
            url: m.url.clone(),
            name: m.name.clone(),
        })
        .collect();
    report.pending = plan.pending;
    // A member whose call failed is tried again: the next run compares the document again.
    report.more = plan.more || !report.errors.is_empty();
    Ok(plan.leave.len() + plan.rejoin.len() + expired.len())
}

/// Holds (or resumes) these members' objects, in parallel; a refusal (a refresh running)
/// is reported and tried again next run.
async fn change_all(
    env: &Env,
    members: &[Named],
    change: Change,
    report: &mut SyncReport,
) -> Vec<(i64, Changed)> {
    let ids: Vec<i64> = members.iter().filter_map(|n| n.id).collect();
    let calls = ids
        .iter()
        .map(|id| rpc::feed_change(env, *id, change.clone()));
    let mut ok = Vec::new();
    for ((id, r), n) in ids
        .iter()
        .zip(futures::future::join_all(calls).await)
        .zip(members)
    {
        match r {
            Ok(changed) => ok.push((*id, changed)),
            Err(e) => report.errors.push(format!("{}: {e}", n.url)),
        }
    }
    ok
}

/// The document's bytes, or why it could not be read.
async fn read(env: &Env, src: &Source, now: i64) -> Result<Vec<u8>, String> {
    match src {
        Source::Url(url) => {
            let cfg = env::config(env);
            let req = FetchRequest::unconditional(url, &cfg, now);
            match fetch_feed(&req).await.outcome {
                FetchOutcome::Fetched { body, .. } => Ok(body),
                FetchOutcome::Failed(why) => Err(why),
                FetchOutcome::RetryLater { status, .. } => {
                    Err(format!("the server answered HTTP {status}"))
                }
                FetchOutcome::Gone => Err("the server answered HTTP 410 (gone)".into()),
                FetchOutcome::NotModified { .. } => Err("the server answered 304".into()),
            }
        }
        Source::Asset(path) => read_asset(env, path)
            .await
            .map_err(|e| format!("assets{path}: {e}")),
    }
}

/// A file under `assets/`, through the `ASSETS` binding, read up to the size cap.
async fn read_asset(env: &Env, path: &str) -> Result<Vec<u8>, String> {
    let assets = env
        .assets("ASSETS")
        .map_err(|_| "there is no ASSETS binding in wrangler.jsonc".to_string())?;
    meter::subrequest("assets.fetch");
    let mut resp = assets
        .fetch(format!("https://assets.local{path}"), None)
        .await
        .map_err(|e| e.to_string())?;
    if resp.status_code() != 200 {
        return Err(format!(
            "HTTP {} (is the file under assets/ and deployed?)",
            resp.status_code()
        ));
    }
    let mut stream = resp.stream().map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("larger than {} KiB", MAX_DOCUMENT_BYTES / 1024));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An admin confirms the removals the last sync left pending (past the per-run cap):
/// they are held now, their history kept for the grace period. Returns how many.
pub async fn confirm(env: &Env, actor: &str) -> AppResult<usize> {
    let db = env::db(env)?;
    let (_, last_ok) = d1::membership_reports(&db).await?;
    let Some((row, mut report)) = last_ok else {
        return Ok(0);
    };
    let take: Vec<Named> = report
        .pending
        .iter()
        .take(CONFIRM_PER_REQUEST)
        .cloned()
        .collect();
    let mut errors = SyncReport::default();
    let left = change_all(env, &take, Change::Hold, &mut errors).await;
    let now = env::now_ms();
    let write = d1::MembershipWrite {
        left: &left,
        now,
        actor,
        ..Default::default()
    };
    d1::membership_apply(&db, &write).await?;
    let done: Vec<Named> = (take.iter())
        .filter(|n| left.iter().any(|(id, _)| Some(*id) == n.id))
        .cloned()
        .collect();
    report
        .pending
        .retain(|n| !done.iter().any(|d| d.id == n.id));
    report.left.extend(done.iter().cloned());
    report.errors.extend(errors.errors);
    d1::membership_report_save(&db, &report, Some(row), actor).await?;
    let detail = format!("{} removals confirmed", done.len());
    d1::audit_record(&db, now, actor, "membership.confirm", None, Some(&detail)).await?;
    Ok(done.len())
}

/// What the admin page shows of the membership file: its configuration, the last sync,
/// the members held for having left (and when each is deleted), and an upload's report.
/// When D1 does not answer, the section shows the configuration and the upload alone.
pub async fn panel(env: &Env, upload: Option<Vec<membership::ImportLine>>) -> MembershipPanel {
    let cfg = config(env);
    let mut p = MembershipPanel {
        source: cfg.source.clone().map(|s| s.map(|s| s.describe())),
        grace_ms: cfg.grace_ms,
        upload,
        ..Default::default()
    };
    if let Err(e) = fill_panel(env, &cfg, &mut p).await {
        worker::console_error!("admin: reading the membership reports failed: {e}");
    }
    p
}

async fn fill_panel(env: &Env, cfg: &MembershipConfig, p: &mut MembershipPanel) -> AppResult<()> {
    let db = env::db(env)?;
    let (latest, last_ok) = d1::membership_reports(&db).await?;
    let leaving: Vec<(Named, i64)> = d1::members_left_before(&db, env::now_ms(), 200)
        .await?
        .into_iter()
        .map(|m| {
            let named = Named {
                id: Some(m.id),
                url: m.url,
                name: m.name,
            };
            (named, m.left_at.saturating_add(cfg.grace_ms))
        })
        .collect();
    let latest = latest.map(|r| r.1);
    p.last_ok = last_ok.map(|r| r.1).filter(|r| Some(r) != latest.as_ref());
    p.latest = latest;
    p.leaving = leaving;
    Ok(())
}
