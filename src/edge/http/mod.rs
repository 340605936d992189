//! Dispatch: the route table's verdict → one handler; errors mapped to responses in one place.

mod admin;
mod api;
mod cache;
mod pages;
mod signin;
mod sockets;
mod websub;
mod websub_hub;

use futures::StreamExt;
use worker::{Context, Env, Method, Request, Response};

use crate::core::routes::{none_match, route, Route};
use crate::edge::error::{AppError, AppResult};
use crate::edge::{env, jobs::member_cache};

pub async fn handle(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let path = req.path();
    let cfg = env::config(&env);
    let r = route(req.method().as_ref(), &path).as_configured(&cfg);
    // API clients get JSON errors, whatever went wrong; people get a page.
    let json_errors =
        r.is_api() || path.starts_with("/api/") || matches!(r, Route::Ws | Route::FeedWs(_));
    let if_none_match = req.headers().get("If-None-Match").ok().flatten();
    let head = req.method() == Method::Head;
    let https = req.url().is_ok_and(|u| u.scheme() == "https");
    // A cached answer (GET's, for HEAD too) costs nothing; a miss spends the client's budget.
    let cached = cache::cached(&req, r, &cfg)?;
    if let Some(c) = &cached {
        if let Some(hit) = c.lookup(env::now_ms()).await {
            return cache::finish(hit, if_none_match.as_deref(), head, https).await;
        }
    }
    let writes = !matches!(req.method(), Method::Get | Method::Head);
    let origin = req.url()?.origin().ascii_serialization();
    let result = match cache::spend(&req, &env, &cfg, r).await {
        Ok(()) => dispatch(r, req, &env).await,
        Err(e) => Err(e),
    };
    // Only a write that did something: hub calls, signing in or out, and refused or failed
    // writes (a wrong token answers with a 401 page) leave the member list and pages be.
    let changed = writes
        && !matches!(
            r,
            Route::WebSubCallback(_)
                | Route::WebSubHub
                | Route::AdminLogin
                | Route::AdminLogout
                | Route::AdminAddAdmin
                | Route::AdminRemoveAdmin(_)
                | Route::AuthStart(_)
                | Route::AuthCallback(_)
        )
        && result.as_ref().is_ok_and(|resp| resp.status_code() < 400);
    if changed {
        // Feeds may have been added, removed, renamed or paused: the sidebar shows it here now.
        member_cache::forget().await;
        cache::forget(&origin, &cfg, r).await;
    }
    let mut resp = match result {
        Ok(resp) => resp,
        Err(e) if json_errors => e.to_json_response(),
        Err(e) => pages::error_page(&env, &e),
    };
    if let Some(c) = cached {
        c.keep(&ctx, &mut resp, env::now_ms()).await?;
    }
    cache::finish(resp, if_none_match.as_deref(), head, https).await
}

/// A 200 whose ETag (set where pages and feeds are rendered, and kept in the edge cache
/// with them) the client already holds becomes a bodiless 304 with the same validators.
fn not_modified(resp: Response, if_none_match: Option<&str>) -> worker::Result<Response> {
    let tag = resp.headers().get("ETag").ok().flatten();
    match tag {
        Some(tag) if resp.status_code() == 200 && none_match(if_none_match, &tag) => {
            let h = worker::Headers::new();
            for name in ["ETag", "Cache-Control", "X-Orrery-Cache", "Vary"] {
                if let Ok(Some(v)) = resp.headers().get(name) {
                    h.set(name, &v)?;
                }
            }
            Ok(Response::empty()?.with_status(304).with_headers(h))
        }
        _ => Ok(resp),
    }
}

async fn dispatch(r: Route, req: Request, env: &Env) -> AppResult<Response> {
    match r {
        Route::Home => pages::home(&req, env).await,
        Route::Titles => pages::titles(env).await,
        Route::Feeds => pages::feeds(&req, env).await,
        Route::Feed(id) => pages::feed(&req, env, id).await,
        Route::Entry(id) => pages::entry(env, id).await,
        Route::Search => pages::search(&req, env).await,
        Route::Admin => admin::page(&req, env).await,
        Route::AdminLogin => admin::login(req, env).await,
        Route::AdminLogout => admin::logout(req, env).await,
        Route::AdminAudit => admin::audit(&req, env).await,
        Route::AdminHealth => admin::health(&req, env).await,
        Route::AdminAddFeed => admin::add_feed(req, env).await,
        Route::AdminRefreshFeed(id) => admin::refresh_feed(req, env, id).await,
        Route::AdminDeleteFeed(id) => admin::delete_feed(req, env, id).await,
        Route::AdminEditFeed(id) => admin::edit_feed(req, env, id).await,
        Route::AdminHoldFeed(id) => admin::hold_feed(req, env, id, true).await,
        Route::AdminResumeFeed(id) => admin::hold_feed(req, env, id, false).await,
        Route::AdminImportOpml => admin::import_opml(req, env).await,
        Route::AdminConfirmRemovals => admin::confirm_removals(req, env).await,
        Route::AdminRefreshAll => admin::refresh_all(req, env).await,
        Route::AdminAddAdmin => admin::add_admin(req, env).await,
        Route::AdminRemoveAdmin(id) => admin::remove_admin(req, env, id).await,
        Route::AuthStart(p) => signin::start(&req, env, p).await,
        Route::AuthCallback(p) => signin::callback(&req, env, p).await,
        Route::Healthz => api::healthz(env).await,
        Route::Health => api::health(env).await,
        Route::Ws => sockets::room(req, env).await,
        Route::FeedWs(id) => sockets::feed(req, env, id).await,
        Route::AtomOut | Route::RssOut | Route::Rss10Out | Route::OpmlOut | Route::FoafOut => {
            pages::syndication(env, r).await
        }
        Route::FeedAtomOut(id) => pages::feed_atom(env, id).await,
        Route::Moved(to) => pages::moved(&req, to),
        Route::ApiEntries => api::entries(&req, env).await,
        Route::ApiFeeds => api::feeds(&req, env).await,
        Route::ApiFeed(id) => api::feed(env, id).await,
        Route::ApiFeedCreate => api::create_feed(req, env).await,
        Route::ApiFeedDelete(id) => api::delete_feed(&req, env, id).await,
        Route::ApiFeedRefresh(id) => api::refresh_feed(&req, env, id).await,
        Route::ApiFeedUpdate(id) => api::update_feed(req, env, id).await,
        Route::ApiFeedHold(id) => api::hold_feed(&req, env, id, true).await,
        Route::ApiFeedResume(id) => api::hold_feed(&req, env, id, false).await,
        Route::ApiOpmlImport => api::import_opml(req, env).await,
        Route::ApiRefreshAll => api::refresh_all(&req, env).await,
        Route::ApiRefreshStatus => api::refresh_status(&req, env).await,
        Route::WebSubCallback(id) => websub::callback(req, env, id).await,
        Route::WebSubHub => websub_hub::request(req, env).await,
        Route::NotFound => Err(AppError::NotFound("no such page".into())),
        Route::MethodNotAllowed(allow) => Err(AppError::MethodNotAllowed(allow)),
    }
}

/// Reads a query parameter as a positive id/number; a malformed one is a 400, not a silent default.
pub(crate) fn query_i64(req: &Request, key: &str) -> AppResult<Option<i64>> {
    let url = req.url()?;
    match url.query_pairs().find(|(k, _)| k == key) {
        None => Ok(None),
        Some((_, v)) if v.is_empty() => Ok(None),
        Some((_, v)) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| {
                AppError::BadRequest(format!("{key} must be a non-negative integer, got {v:?}"))
            }),
    }
}

/// The request body, read chunk by chunk and refused (413) as soon as it passes `cap`
/// bytes: a huge or never-ending body is never buffered whole.
pub(crate) async fn read_capped(req: &mut Request, cap: usize) -> AppResult<Vec<u8>> {
    let declared = req
        .headers()
        .get("Content-Length")?
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(AppError::TooLarge);
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req.stream()?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > cap {
            return Err(AppError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
