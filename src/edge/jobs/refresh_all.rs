//! "Refresh all feeds": a round started by an admin, moved on a batch per invocation.
//!
//! The request that starts it refreshes the first batch; each cron run then refreshes at
//! most `REFRESH_ALL_PER_RUN` feeds (less when the membership sync and the watchdog used
//! the run's subrequests first), each a call to its FeedObject, until none is left. The
//! rules are `core::ingest::round`'s.

use worker::Env;

use crate::core::audit::CRON_ACTOR;
use crate::core::ingest::round::{self, BatchTally, RefreshRound};
use crate::edge::error::{AppError, AppResult};
use crate::edge::{d1, env, objects::rpc};

/// What asking for a round came to.
pub enum Asked {
    /// A round started, its first batch refreshed.
    Started(RefreshRound),
    /// One was running already: nothing else started.
    Running(RefreshRound),
}

fn per_run(env: &Env) -> u32 {
    round::per_run(|k| env.var(k).ok().map(|v| v.to_string()))
}

/// Starts a round (unless one runs) and refreshes its first batch in this request.
pub async fn start(env: &Env, actor: &str) -> AppResult<Asked> {
    let db = env::db(env)?;
    let now = env::now_ms();
    match d1::refresh_round_start(&db, actor, now).await? {
        Some(started) => {
            let (moved, _) = step(env, &db, started, per_run(env), actor).await?;
            Ok(Asked::Started(moved))
        }
        None => {
            let running = d1::refresh_round_running(&db).await?;
            let running = running.ok_or_else(|| {
                AppError::Internal("a round was running and is no longer found".into())
            })?;
            Ok(Asked::Running(running))
        }
    }
}

/// Cron's share: the running round (if any) moved on by at most `limit` feeds (what the
/// run's subrequests allow) and `REFRESH_ALL_PER_RUN`. Returns the objects called.
pub async fn advance(env: &Env, limit: usize) -> AppResult<usize> {
    let limit = (limit as u32).min(per_run(env));
    if limit == 0 {
        return Ok(0);
    }
    let db = env::db(env)?;
    let Some(running) = d1::refresh_round_running(&db).await? else {
        return Ok(0);
    };
    let (moved, called) = step(env, &db, running, limit, CRON_ACTOR).await?;
    worker::console_log!("cron: {}", moved.progress());
    Ok(called)
}

/// The newest round, running or finished, for the dashboard and `GET /api/refresh`.
pub async fn latest(env: &Env) -> AppResult<Option<RefreshRound>> {
    Ok(d1::refresh_round_latest(&env::db(env)?).await?)
}

/// One batch: the next `limit` feeds after the cursor refreshed (in parallel), then the
/// round's one row written (and, at its end, the audit record). Returns the round as it
/// now stands and the objects called.
async fn step(
    env: &Env,
    db: &worker::D1Database,
    from: RefreshRound,
    limit: u32,
    actor: &str,
) -> AppResult<(RefreshRound, usize)> {
    let ids = d1::refresh_round_feeds(db, from.cursor, limit + 1).await?;
    let (batch, last) = round::batch_of(&ids, limit);
    let calls = batch.iter().map(|id| rpc::feed_refresh(env, *id));
    let results = futures::future::join_all(calls).await;
    for (id, r) in batch.iter().zip(&results) {
        if let Err(e) = r {
            worker::console_warn!("refresh all: feed {id}: {e}");
        }
    }
    let now = env::now_ms();
    let to = from.advanced(batch, BatchTally::of(&results), last, now);
    if !d1::refresh_round_advance(db, &from, &to, actor, now).await? {
        // Another invocation moved it meanwhile: these feeds were refreshed twice at worst.
        let current = d1::refresh_round_latest(db).await?.unwrap_or(to);
        return Ok((current, batch.len()));
    }
    Ok((to, batch.len()))
}
