//! The scheduled handler: a watchdog that re-arms FeedObject alarms and prunes old entries. It never fetches feeds itself.

use worker::{query, Env};

use crate::edge::{env, handlers};

pub async fn run(env: &Env) {
    let now = env::now_ms();
    match handlers::ensure_due(env, now).await {
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
    let mut stmts = Vec::new();
    if cfg.retention_days > 0 {
        let cutoff = now - i64::from(cfg.retention_days) * 86_400_000;
        stmts.push(query!(
            &db,
            "DELETE FROM entries WHERE published_at < ?1",
            cutoff
        )?);
    }
    stmts.push(query!(
        &db,
        "DELETE FROM entries WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER \
           (PARTITION BY feed_id ORDER BY published_at DESC, id DESC) AS n FROM entries) WHERE n > ?1)",
        cfg.retention_max_entries
    )?);
    stmts.push(db.prepare(
        "UPDATE feeds SET entry_count = (SELECT COUNT(*) FROM entries WHERE entries.feed_id = feeds.id)",
    ));
    db.batch(stmts).await?;
    Ok(())
}
