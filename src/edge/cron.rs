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

/// Retention: entries older than RETENTION_DAYS, and past RETENTION_MAX_ENTRIES per feed.
async fn prune(env: &Env, now: i64) -> worker::Result<()> {
    let cfg = env::config(env);
    let db = env::db(env)?;
    store::entries_prune(&db, cfg.retention_cutoff(now), cfg.retention_max_entries).await
}
