//! Feed lifecycle for handlers and cron alike: add, remove, refresh, import, and the watchdog over due feeds.

use serde::Serialize;
use worker::Env;

use crate::core::fetch_policy::check_url;
use crate::core::ingest::RefreshReport;
use crate::core::model::FeedView;
use crate::edge::error::{AppError, AppResult};
use crate::edge::{env, rpc, store};

/// At most this many feeds in one OPML import.
pub const MAX_OPML_FEEDS: usize = 200;
/// Feeds cron's watchdog looks at per run at most: with its two D1 queries, well inside
/// the 50 subrequests of one invocation; a backlog (a big import) drains over a few runs.
const WATCHDOG_PER_RUN: u32 = 40;
/// Feeds of an OPML import that start fetching at once; the watchdog adopts the rest.
const ADOPT_IN_IMPORT: usize = 20;

#[derive(Serialize)]
pub struct Created {
    pub feed: FeedView,
    pub refresh: RefreshReport,
}

/// Adds a feed: validated by a real fetch and parse before it is kept.
pub async fn add(env: &Env, url: &str, actor: &str) -> AppResult<Created> {
    let cfg = env::config(env);
    let url = check_url(url, cfg.allow_private_feeds)
        .map_err(|e| AppError::Unprocessable(e.to_string()))?
        .to_string();
    let db = env::db(env)?;
    let already = || AppError::Conflict(format!("{url} is already subscribed"));
    if store::feed_by_url(&db, &url).await?.is_some() {
        return Err(already());
    }
    let now = env::now_ms();
    let id = store::feed_create(&db, &url, now)
        .await?
        .ok_or_else(already)?;
    let report = rpc::feed_init(env, id, &url).await?;
    if !report.outcome.found_a_feed() {
        // Not a feed we can read: forget it entirely and say why.
        if let Err(e) = rpc::feed_delete(env, id).await {
            worker::console_warn!("feed {id}: forgetting its object failed: {e}");
        }
        store::feed_forget(&db, id).await?;
        let why = report
            .error
            .unwrap_or_else(|| "the feed could not be read".into());
        return Err(AppError::Unprocessable(format!("{url}: {why}")));
    }
    store::audit_record(&db, now, actor, "feed.create", Some(id), Some(&url)).await?;
    let feed = store::feed_by_id(&db, id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("feed {id} vanished after insert")))?;
    Ok(Created {
        feed,
        refresh: report,
    })
}

/// Removes a feed, its object's state and its entries.
pub async fn remove(env: &Env, id: i64, actor: &str) -> AppResult<()> {
    let db = env::db(env)?;
    let feed = existing(&db, id).await?;
    rpc::feed_delete(env, id).await?;
    Ok(store::feed_delete(&db, id, &feed.url, actor, env::now_ms()).await?)
}

/// Fetches a feed now (also one that is paused or gone).
pub async fn refresh(env: &Env, id: i64) -> AppResult<RefreshReport> {
    existing(&env::db(env)?, id).await?;
    rpc::feed_refresh(env, id).await
}

async fn existing(db: &worker::D1Database, id: i64) -> AppResult<FeedView> {
    store::feed_by_id(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no feed {id}")))
}

/// One URL of an import that was not added, and why.
#[derive(Serialize)]
pub struct Skipped {
    pub url: String,
    pub reason: String,
}

#[derive(Serialize)]
pub struct Imported {
    pub added: Vec<Added>,
    pub skipped: Vec<Skipped>,
}

#[derive(Serialize)]
pub struct Added {
    pub id: i64,
    pub url: String,
}

/// Imports an OPML subscription list: every new, allowed URL becomes a feed row in one
/// D1 batch, overdue at once; cron's watchdog adopts them a few per run, and each then
/// fetches on its own alarm (no call per feed here: one invocation has 50 subrequests).
pub async fn import_opml(env: &Env, opml: &str, actor: &str) -> AppResult<Imported> {
    let urls = crate::core::syndication::parse_opml(opml)
        .map_err(|e| AppError::Unprocessable(e.to_string()))?;
    if urls.len() > MAX_OPML_FEEDS {
        return Err(AppError::Unprocessable(format!(
            "{} feeds in one import; at most {MAX_OPML_FEEDS}",
            urls.len()
        )));
    }
    let cfg = env::config(env);
    let mut out = Imported {
        added: Vec::new(),
        skipped: Vec::new(),
    };
    let mut allowed = Vec::new();
    for raw in urls {
        match check_url(&raw, cfg.allow_private_feeds) {
            Ok(u) if !allowed.contains(&u.to_string()) => allowed.push(u.to_string()),
            Ok(u) => out.skipped.push(Skipped {
                url: u.to_string(),
                reason: "listed twice".into(),
            }),
            Err(e) => out.skipped.push(Skipped {
                url: raw,
                reason: e.to_string(),
            }),
        }
    }
    let db = env::db(env)?;
    let now = env::now_ms();
    let ids = store::feeds_create(&db, &allowed, now).await?;
    for (url, id) in allowed.into_iter().zip(ids) {
        match id {
            Some(id) => out.added.push(Added { id, url }),
            None => out.skipped.push(Skipped {
                url,
                reason: "already subscribed".into(),
            }),
        }
    }
    // The first few start fetching now; the watchdog adopts the rest.
    let first: Vec<(i64, &str)> = out
        .added
        .iter()
        .take(ADOPT_IN_IMPORT)
        .map(|a| (a.id, a.url.as_str()))
        .collect();
    adopt(env, &db, &first).await?;
    let detail = format!("{} added", out.added.len());
    store::audit_record(&db, now, actor, "opml.import", None, Some(&detail)).await?;
    Ok(out)
}

/// Asks these feeds' objects to adopt themselves or re-arm (in parallel), then writes
/// the deadlines they report to D1 in one batch.
async fn adopt(env: &Env, db: &worker::D1Database, feeds: &[(i64, &str)]) -> AppResult<()> {
    let calls = feeds
        .iter()
        .map(|(id, url)| rpc::feed_ensure(env, *id, url));
    let mut deadlines = Vec::new();
    for ((id, _), r) in feeds.iter().zip(futures::future::join_all(calls).await) {
        match r {
            Ok(ensured) => deadlines.push((*id, ensured.overdue_at)),
            Err(e) => worker::console_error!("watchdog: feed {id}: {e}"),
        }
    }
    Ok(store::feeds_set_overdue(db, &deadlines).await?)
}

/// Cron's watchdog: the feeds past their D1 deadline (a few per run, so one cron
/// invocation stays inside its subrequest budget) are asked to adopt themselves or
/// re-arm their alarm, and their new deadlines are written in one batch.
pub async fn ensure_due(env: &Env, now: i64) -> AppResult<usize> {
    let db = env::db(env)?;
    let due = store::feeds_overdue(&db, now, WATCHDOG_PER_RUN).await?;
    let feeds: Vec<(i64, &str)> = due.iter().map(|f| (f.id, f.url.as_str())).collect();
    adopt(env, &db, &feeds).await?;
    Ok(due.len())
}
