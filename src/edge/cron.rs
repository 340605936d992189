//! The scheduled handler: a watchdog that re-arms FeedObject alarms and prunes old entries. It never fetches feeds itself.

use worker::Env;

use crate::edge::{env, feeds, store};

pub async fn run(env: &Env) {
    let now = env::now_ms();
    match feeds::ensure_due(env, now).await {
        Ok(n) => worker::console_log!("cron: nudged {n} due feeds"),
        Err(e) => worker::console_error!("cron: watchdog failed: {e}"),
    }
    if let Err(e) = prune(env, now).await {
        worker::console_error!("cron: prune failed: {e}");
    }
}

/// Entries deleted by age per cron run at most (a backlog drains over several runs).
const PRUNE_PER_RUN: u32 = 500;

/// Retention by age (RETENTION_DAYS), bounded; RETENTION_MAX_ENTRIES per feed is kept
/// by each feed's own refresh, where its count grows.
async fn prune(env: &Env, now: i64) -> worker::Result<()> {
    let Some(cutoff) = env::config(env).retention_cutoff(now) else {
        return Ok(());
    };
    let deleted = store::entries_prune_older(&env::db(env)?, cutoff, PRUNE_PER_RUN).await?;
    if deleted > 0 {
        worker::console_log!("cron: pruned {deleted} entries older than the retention");
    }
    Ok(())
}
