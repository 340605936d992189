//! The JSON API: reads are public, writes need the admin bearer token.

use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{Env, Request, Response};

use super::query_i64;
use crate::core::audit::API_ACTOR;
use crate::core::ingest::{MemberPatch, PlatformTrouble};
use crate::core::view_models::{Counts, Deployment, EntryView, PlanetHealth};
use crate::edge::auth::require_admin;
use crate::edge::error::{AppError, AppResult};
use crate::edge::{d1, env, jobs::lifecycle, jobs::refresh_all};

const MAX_JSON_BODY: usize = 16 * 1024;

fn json_response<T: Serialize>(value: &T, status: u16) -> AppResult<Response> {
    let mut resp = Response::from_json(value)?.with_status(status);
    resp.headers_mut().set("Cache-Control", "no-store")?;
    Ok(resp)
}

/// `/healthz`: feeds by status (failing, paused and gone counted apart), entries, the
/// newest id, and what the deployment knows of itself (`Deployment`: build, schema against
/// the newest migration, each binding). A missing binding or a schema behind answers 200
/// "degraded" with the problems named; 503 only when D1 does not answer.
#[derive(Serialize)]
struct Health {
    ok: bool,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(flatten)]
    counts: Option<Counts>,
    version: &'static str,
    #[serde(flatten)]
    deployment: Deployment,
}

/// `/health`: the old planet's contract (`PlanetHealth`), 200 in every state. D1 not
/// answering is "unhealthy" with nothing counted (the monitor alerts; `/healthz` says why).
pub async fn health(env: &Env) -> AppResult<Response> {
    let cfg = env::config(env);
    let counts = match env::db(env) {
        Ok(db) => d1::health_counts(&db).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let counts = counts.unwrap_or_else(|e| {
        worker::console_error!("health: D1 did not answer: {e}");
        Counts::default()
    });
    json_response(&PlanetHealth::judge(&cfg.planet_name, &counts), 200)
}

pub async fn healthz(env: &Env) -> AppResult<Response> {
    let db = env::db(env)?;
    let (counts, applied) = futures::join!(d1::counts(&db), d1::schema_applied(&db));
    let deployment = env::deployment(env, applied.ok().flatten());
    let (health, status) = match counts {
        Ok(counts) => {
            let healthy = deployment.healthy();
            (
                Health {
                    ok: healthy,
                    status: if healthy { "ok" } else { "degraded" },
                    reason: (!healthy).then(|| deployment.problems.join("; ")),
                    counts: Some(counts),
                    version: env!("CARGO_PKG_VERSION"),
                    deployment,
                },
                200,
            )
        }
        Err(e) => {
            let trouble = PlatformTrouble::of(&e.to_string());
            worker::console_error!("healthz: D1 did not answer: {e}");
            let reason = format!(
                "{}: pages are served from the edge cache where they can be, and feeds \
                 hold their refreshes and try again {}",
                trouble.describe(),
                trouble.when_retried()
            );
            let health = Health {
                ok: false,
                status: "degraded",
                reason: Some(reason),
                counts: None,
                version: env!("CARGO_PKG_VERSION"),
                deployment,
            };
            (health, 503)
        }
    };
    json_response(&health, status)
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
    let entries = d1::entries_by_id(&env::db(env)?, feed, since, before, limit as u32).await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    json_response(&EntriesPage { entries, next }, 200)
}

/// `GET /api/feeds?after=<feed id>&limit=`: a page of feeds by name (at most, and by
/// default, `FEEDS_PAGE`); `next` is the `after` of the following page (null on the last).
pub async fn feeds(req: &Request, env: &Env) -> AppResult<Response> {
    use crate::core::routes::FEEDS_PAGE;
    let limit = query_i64(req, "limit")?.unwrap_or(FEEDS_PAGE.into());
    if !(1..=i64::from(FEEDS_PAGE)).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and {FEEDS_PAGE}"
        )));
    }
    let db = env::db(env)?;
    let after = match query_i64(req, "after")? {
        None => None,
        Some(id) => Some(d1::feed_position(&db, id).await?.ok_or_else(|| {
            AppError::NotFound(format!(
                "there is no feed {id} to list after: start from /api/feeds"
            ))
        })?),
    };
    let mut feeds = d1::feeds_page_detailed(&db, after, limit as u32 + 1).await?;
    let next = (feeds.len() > limit as usize).then(|| {
        feeds.truncate(limit as usize);
        feeds.last().map(|f| f.feed.id)
    });
    json_response(&json!({ "feeds": feeds, "next": next.flatten() }), 200)
}

pub async fn feed(env: &Env, id: i64) -> AppResult<Response> {
    json_response(&lifecycle::detail(env, id).await?, 200)
}

#[derive(Deserialize)]
struct NewFeed {
    url: String,
}

/// `like`: an example body, for the error message.
async fn read_json<T: for<'de> Deserialize<'de>>(mut req: Request, like: &str) -> AppResult<T> {
    let body = req.bytes().await?;
    if body.len() > MAX_JSON_BODY {
        return Err(AppError::TooLarge);
    }
    serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(format!("the body must be JSON like {like}: {e}")))
}

/// Adds a feed: validated by a real fetch and parse before it is kept. A web page's
/// feeds are found: one is subscribed (201); several are listed with 300 Multiple
/// Choices, `{"error":{"code":"multiple_feeds",…},"page":…,"feeds":[{"url","title","kind"}]}`,
/// and nothing is subscribed until one of them is posted.
pub async fn create_feed(req: Request, env: &Env) -> AppResult<Response> {
    require_admin(&req, env).await?;
    let NewFeed { url } = read_json(req, r#"{"url": "https://…"}"#).await?;
    match lifecycle::add(env, &url, API_ACTOR).await? {
        lifecycle::Addition::Created(created) => json_response(&created, 201),
        lifecycle::Addition::Choose { page, feeds } => {
            let message = format!(
                "{page} is a web page announcing {} feeds: add one of them",
                feeds.len()
            );
            let body = json!({
                "error": {"code": "multiple_feeds", "message": message},
                "page": page,
                "feeds": feeds,
            });
            json_response(&body, 300)
        }
    }
}

/// Sets a member's name, face, site link and filter (see [`MemberPatch`]).
pub async fn update_feed(req: Request, env: &Env, id: i64) -> AppResult<Response> {
    require_admin(&req, env).await?;
    let like = r#"{"display_name": "…", "face_url": "https://…", "home_url": "https://…", "filter": {"categories": […], "words": […], "excerpt_only": false}}"#;
    let patch: MemberPatch = read_json(req, like).await?;
    json_response(&lifecycle::configure(env, id, patch, API_ACTOR).await?, 200)
}

/// Pauses a feed by hand (`held`) or resumes it.
pub async fn hold_feed(req: &Request, env: &Env, id: i64, held: bool) -> AppResult<Response> {
    require_admin(req, env).await?;
    json_response(&lifecycle::hold(env, id, held, API_ACTOR).await?, 200)
}

pub async fn delete_feed(req: &Request, env: &Env, id: i64) -> AppResult<Response> {
    require_admin(req, env).await?;
    lifecycle::remove(env, id, API_ACTOR).await?;
    json_response(&json!({"deleted": id}), 200)
}

pub async fn refresh_feed(req: &Request, env: &Env, id: i64) -> AppResult<Response> {
    require_admin(req, env).await?;
    json_response(&lifecycle::refresh(env, id, API_ACTOR).await?, 200)
}

const MAX_OPML_BODY: usize = 1024 * 1024;

/// Imports an OPML subscription list (see [`lifecycle::import_opml`]).
pub async fn import_opml(mut req: Request, env: &Env) -> AppResult<Response> {
    require_admin(&req, env).await?;
    let body = req.bytes().await?;
    if body.len() > MAX_OPML_BODY {
        return Err(AppError::TooLarge);
    }
    let imported = lifecycle::import_opml(env, &String::from_utf8_lossy(&body), API_ACTOR).await?;
    json_response(&imported, 200)
}

/// A round of "refresh all feeds" as the API shows it: the round, whether it runs, and
/// where it stands in words.
fn round_json(round: Option<&crate::core::ingest::round::RefreshRound>) -> serde_json::Value {
    json!({
        "running": round.is_some_and(|r| r.running()),
        "progress": round.map(|r| r.progress()),
        "round": round,
    })
}

/// `POST /api/refresh`: starts refreshing every active feed (the first batch in this
/// request, the rest a batch per cron run): 202 with the round; 409 with the running
/// round's progress when one runs already.
pub async fn refresh_all(req: &Request, env: &Env) -> AppResult<Response> {
    require_admin(req, env).await?;
    match refresh_all::start(env, API_ACTOR).await? {
        refresh_all::Asked::Started(round) => json_response(&round_json(Some(&round)), 202),
        refresh_all::Asked::Running(round) => {
            let message = format!(
                "a refresh of all feeds is already running: {}",
                round.progress()
            );
            let mut body = round_json(Some(&round));
            body["error"] = json!({"code": "conflict", "message": message});
            json_response(&body, 409)
        }
    }
}

/// `GET /api/refresh`: the newest round (running or finished; `null` before the first).
pub async fn refresh_status(req: &Request, env: &Env) -> AppResult<Response> {
    require_admin(req, env).await?;
    json_response(&round_json(refresh_all::latest(env).await?.as_ref()), 200)
}
