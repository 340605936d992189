//! The scheduled handler: the membership sync, the watchdog, a batch of a "refresh all
//! feeds" round, then pruning.
//!
//! The watchdog re-arms FeedObject alarms; a running round refreshes its next few feeds
//! through their objects; old entries and audit records are pruned. Cron never fetches
//! feeds itself, and every object call of a run comes out of one subrequest budget.

use worker::Env;

use crate::core::audit;
use crate::edge::{d1, env, jobs::lifecycle, jobs::membership_sync, jobs::refresh_all};

pub async fn run(env: &Env) {
    let now = env::now_ms();
    // The membership file first: the subrequests it used come out of the watchdog's share.
    let used = match membership_sync::sync(env, now).await {
        Ok(n) => n,
        Err(e) => {
            worker::console_error!("cron: membership sync failed: {e}");
            MEMBERSHIP_MAX_SUBREQUESTS
        }
    };
    let watchdog = SUBREQUESTS_PER_RUN.saturating_sub(used);
    let nudged = match lifecycle::ensure_due(env, now, watchdog).await {
        Ok(n) => {
            worker::console_log!("cron: nudged {n} due feeds");
            n
        }
        Err(e) => {
            worker::console_error!("cron: watchdog failed: {e}");
            watchdog
        }
    };
    // A round of "refresh all feeds" takes what is left, up to its own batch size.
    let left = watchdog.saturating_sub(nudged);
    if let Err(e) = refresh_all::advance(env, left).await {
        worker::console_error!("cron: refresh all failed: {e}");
    }
    if let Err(e) = prune(env, now).await {
        worker::console_error!("cron: prune failed: {e}");
    }
    if let Err(e) = prune_audit(env, now).await {
        worker::console_error!("cron: audit prune failed: {e}");
    }
    if let Err(e) = search_backfill(env).await {
        worker::console_error!("cron: search backfill failed: {e}");
    }
}

/// Subrequests cron allows itself per run (the Free plan's 50, less a margin), shared by
/// the membership sync, then the watchdog, then a "refresh all" round.
const SUBREQUESTS_PER_RUN: usize = 48;
/// The most a membership sync uses: the document, and a call per member held, resumed
/// or deleted (`core::membership::CAPS`).
const MEMBERSHIP_MAX_SUBREQUESTS: usize = 1
    + crate::core::membership::CAPS.remove
    + crate::core::membership::CAPS.rejoin
    + crate::core::membership::CAPS.delete;

/// Entries indexed whole per cron run at most, and the stored HTML converted for them
/// (`html_to_text` runs at roughly 1 ms per 100 KiB in wasm; see the README's Budgets).
const BACKFILL_PER_RUN: u32 = 40;
const BACKFILL_BYTES: usize = 128 * 1024;

/// Entries stored before the whole-text index get it, newest first, a few per run.
async fn search_backfill(env: &Env) -> worker::Result<()> {
    let n = d1::search_backfill(&env::db(env)?, BACKFILL_PER_RUN, BACKFILL_BYTES).await?;
    if n > 0 {
        worker::console_log!("cron: indexed the whole text of {n} older entries");
    }
    Ok(())
}

/// Entries deleted by age per cron run at most (a backlog drains over several runs).
const PRUNE_PER_RUN: u32 = 500;

/// Retention by age (RETENTION_DAYS), bounded; RETENTION_MAX_ENTRIES per feed is kept
/// by each feed's own refresh, where its count grows.
async fn prune(env: &Env, now: i64) -> worker::Result<()> {
    let Some(cutoff) = env::config(env).retention_cutoff(now) else {
        return Ok(());
    };
    let deleted = d1::entries_prune_older(&env::db(env)?, cutoff, PRUNE_PER_RUN).await?;
    if deleted > 0 {
        worker::console_log!("cron: pruned {deleted} entries older than the retention");
    }
    Ok(())
}

/// The audit log by age (`AUDIT_RETENTION_DAYS`), at most `AUDIT_PRUNE_PER_RUN` a run.
async fn prune_audit(env: &Env, now: i64) -> worker::Result<()> {
    let Some(cutoff) = audit::retention_cutoff(|k| env.var(k).ok().map(|v| v.to_string()), now)
    else {
        return Ok(());
    };
    let db = env::db(env)?;
    let deleted = d1::audit_prune_older(&db, cutoff, audit::AUDIT_PRUNE_PER_RUN).await?;
    if deleted > 0 {
        worker::console_log!("cron: pruned {deleted} audit records older than the retention");
    }
    Ok(())
}
