//! The JSON API: reads are public, writes need the admin bearer token.

use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{query, Env, Method, Request, RequestInit, Response};

use super::query_i64;
use crate::core::fetch_policy::check_url;
use crate::core::model::{EntryView, FeedView};
use crate::edge::auth::require_admin;
use crate::edge::error::{AppError, AppResult};
use crate::edge::feed_object::RefreshReport;
use crate::edge::{env, store};

const MAX_JSON_BODY: usize = 16 * 1024;

fn json_response<T: Serialize>(value: &T, status: u16) -> AppResult<Response> {
    let mut resp = Response::from_json(value)?.with_status(status);
    resp.headers_mut().set("Cache-Control", "no-store")?;
    Ok(resp)
}

pub async fn healthz(env: &Env) -> AppResult<Response> {
    let counts = store::counts(&env::db(env)?).await?;
    json_response(
        &json!({
            "ok": true,
            "feeds": counts.feeds,
            "entries": counts.entries,
            "failing": counts.failing,
            "latest": counts.latest,
            "version": env!("CARGO_PKG_VERSION"),
        }),
        200,
    )
}

#[derive(Serialize)]
struct EntriesPage {
    entries: Vec<EntryView>,
    /// Pass as `before` (newest-first paging) or `since` (catching up) for the next page.
    next: Option<i64>,
}

pub async fn entries(req: &Request, env: &Env) -> AppResult<Response> {
    let since = query_i64(req, "since")?;
    let before = query_i64(req, "before")?;
    let feed = query_i64(req, "feed")?;
    let limit = query_i64(req, "limit")?.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::BadRequest(
            "limit must be between 1 and 200".into(),
        ));
    }
    let entries = store::entries_by_id(&env::db(env)?, feed, since, before, limit as u32).await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    json_response(&EntriesPage { entries, next }, 200)
}

pub async fn feeds(env: &Env) -> AppResult<Response> {
    let feeds = store::feeds_all(&env::db(env)?).await?;
    json_response(&json!({ "feeds": feeds }), 200)
}

pub async fn feed(env: &Env, id: i64) -> AppResult<Response> {
    let feed = store::feed_by_id(&env::db(env)?, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no feed {id}")))?;
    json_response(&feed, 200)
}

#[derive(Deserialize)]
struct NewFeed {
    url: String,
}

async fn read_json<T: for<'de> Deserialize<'de>>(mut req: Request) -> AppResult<T> {
    let body = req.bytes().await?;
    if body.len() > MAX_JSON_BODY {
        return Err(AppError::TooLarge);
    }
    serde_json::from_slice(&body).map_err(|e| {
        AppError::BadRequest(format!(
            "the body must be JSON like {{\"url\": \"https://…\"}}: {e}"
        ))
    })
}

/// Calls a FeedObject's internal endpoint.
async fn feed_object(
    env: &Env,
    id: i64,
    path: &str,
    body: Option<serde_json::Value>,
) -> AppResult<Response> {
    let stub = env::feed_objects(env)?
        .id_from_name(&id.to_string())?
        .get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    if let Some(b) = body {
        init.with_body(Some(b.to_string().into()));
    }
    let req = Request::new_with_init(&format!("https://feed{path}"), &init)?;
    Ok(stub.fetch_with_request(req).await?)
}

#[derive(Serialize)]
pub(crate) struct Created {
    pub feed: FeedView,
    pub refresh: RefreshReport,
}

/// Adds a feed: validated by a real fetch and parse before it is kept.
pub async fn create_feed(req: Request, env: &Env) -> AppResult<Response> {
    require_admin(&req, env)?;
    let NewFeed { url } = read_json(req).await?;
    let created = add_feed(env, &url, "api").await?;
    json_response(&created, 201)
}

/// Shared by the API and the admin page.
pub(crate) async fn add_feed(env: &Env, url: &str, actor: &str) -> AppResult<Created> {
    let cfg = env::config(env);
    let url = check_url(url, cfg.allow_private_feeds)
        .map_err(|e| AppError::Unprocessable(e.to_string()))?
        .to_string();
    let db = env::db(env)?;
    if store::feed_by_url(&db, &url).await?.is_some() {
        return Err(AppError::Conflict(format!("{url} is already subscribed")));
    }
    let now = env::now_ms();
    let Some(id) = store::feed_create(&db, &url, now).await? else {
        return Err(AppError::Conflict(format!("{url} is already subscribed")));
    };
    let mut resp = feed_object(env, id, "/init", Some(json!({"feed_id": id, "url": url}))).await?;
    let report: RefreshReport = resp.json().await?;
    if !matches!(
        report.outcome.as_str(),
        "ok" | "not_modified" | "retry_later"
    ) {
        // Not a feed we can read: forget it entirely and say why.
        let _ = feed_object(env, id, "/delete", None).await;
        query!(&db, "DELETE FROM feeds WHERE id = ?1", id)?
            .run()
            .await?;
        let why = report
            .error
            .unwrap_or_else(|| "the feed could not be read".into());
        return Err(AppError::Unprocessable(format!("{url}: {why}")));
    }
    store::audit(&db, now, actor, "feed.create", Some(id), Some(&url))?
        .run()
        .await?;
    let feed = store::feed_by_id(&db, id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("feed {id} vanished after insert")))?;
    Ok(Created {
        feed,
        refresh: report,
    })
}

pub async fn delete_feed(req: &Request, env: &Env, id: i64) -> AppResult<Response> {
    require_admin(req, env)?;
    remove_feed(env, id, "api").await?;
    json_response(&json!({"deleted": id}), 200)
}

pub(crate) async fn remove_feed(env: &Env, id: i64, actor: &str) -> AppResult<()> {
    let db = env::db(env)?;
    let feed = store::feed_by_id(&db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no feed {id}")))?;
    feed_object(env, id, "/delete", None).await?;
    db.batch(vec![
        query!(&db, "DELETE FROM entries WHERE feed_id = ?1", id)?,
        query!(&db, "DELETE FROM feeds WHERE id = ?1", id)?,
        store::audit(
            &db,
            env::now_ms(),
            actor,
            "feed.delete",
            Some(id),
            Some(&feed.url),
        )?,
    ])
    .await?;
    Ok(())
}

pub async fn refresh_feed(req: &Request, env: &Env, id: i64) -> AppResult<Response> {
    require_admin(req, env)?;
    json_response(&refresh(env, id).await?, 200)
}

pub(crate) async fn refresh(env: &Env, id: i64) -> AppResult<RefreshReport> {
    let db = env::db(env)?;
    if store::feed_by_id(&db, id).await?.is_none() {
        return Err(AppError::NotFound(format!("there is no feed {id}")));
    }
    let mut resp = feed_object(env, id, "/refresh", None).await?;
    Ok(resp.json().await?)
}

const MAX_OPML_BODY: usize = 1024 * 1024;
const MAX_OPML_FEEDS: usize = 200;

/// Imports an OPML subscription list: every new, allowed URL becomes a feed that
/// fetches on its own alarm shortly after (so a long list does not time out here).
pub async fn import_opml(mut req: Request, env: &Env) -> AppResult<Response> {
    require_admin(&req, env)?;
    let body = req.bytes().await?;
    if body.len() > MAX_OPML_BODY {
        return Err(AppError::TooLarge);
    }
    let text = String::from_utf8_lossy(&body);
    let urls = crate::core::syndication::parse_opml(&text)
        .map_err(|e| AppError::Unprocessable(e.to_string()))?;
    if urls.len() > MAX_OPML_FEEDS {
        return Err(AppError::Unprocessable(format!(
            "{} feeds in one import; at most {MAX_OPML_FEEDS}",
            urls.len()
        )));
    }
    let cfg = env::config(env);
    let db = env::db(env)?;
    let now = env::now_ms();
    let mut added = Vec::new();
    let mut skipped = Vec::new();
    for raw in urls {
        let url = match check_url(&raw, cfg.allow_private_feeds) {
            Ok(u) => u.to_string(),
            Err(e) => {
                skipped.push(json!({"url": raw, "reason": e.to_string()}));
                continue;
            }
        };
        let inserted = store::feed_create(&db, &url, now).await?;
        match inserted {
            Some(id) => {
                feed_object(env, id, "/adopt", Some(json!({"feed_id": id, "url": url}))).await?;
                added.push(json!({"id": id, "url": url}));
            }
            None => skipped.push(json!({"url": url, "reason": "already subscribed"})),
        }
    }
    store::audit(
        &db,
        now,
        "api",
        "opml.import",
        None,
        Some(&format!("{} added", added.len())),
    )?
    .run()
    .await?;
    json_response(&json!({"added": added, "skipped": skipped}), 200)
}

/// Asks every due feed's object to make sure its alarm is set (cron's watchdog).
pub(crate) async fn ensure_due(env: &Env, now: i64) -> AppResult<usize> {
    let db = env::db(env)?;
    let ids = store::feed_ids_due(&db, now).await?;
    let n = ids.len();
    for chunk in ids.chunks(20) {
        let calls = chunk
            .iter()
            .map(|id| feed_object(env, *id, "/ensure", None));
        for r in futures::future::join_all(calls).await {
            if let Err(e) = r {
                worker::console_error!("ensure failed: {e}");
            }
        }
    }
    Ok(n)
}
