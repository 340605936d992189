//! WebSub subscriber callbacks (`/websub/{feed id}/{token}`), handed to the feed's object.
//!
//! A hub verifies a feed's subscription (GET) or delivers its content (POST). The token is
//! checked here, so a guessed callback costs no Durable Object request; so are the
//! planet's own Workers (a `CF-Worker` header naming one of its zones: a loop) and the
//! rate (`PUSH_LIMIT`, verifications and deliveries alike). The feed's object decides the
//! rest. Every answer is `nosniff`.

use worker::{Env, Method, Request, Response};

use super::read_capped;
use crate::core::fetch::{OwnOrigins, MAX_BODY_BYTES};
use crate::edge::env;
use crate::edge::error::{AppError, AppResult};
use crate::edge::objects::feed::websub as feed_websub;
use crate::edge::objects::{rpc, wire::WebSubIn};

pub async fn callback(req: Request, env: &Env, feed_id: i64) -> AppResult<Response> {
    let resp = answer(req, env, feed_id)
        .await
        .unwrap_or_else(|e| e.to_json_response());
    // A copy: the headers of an object's answer are immutable.
    let headers = resp.headers().clone();
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(resp.with_headers(headers))
}

async fn answer(mut req: Request, env: &Env, feed_id: i64) -> AppResult<Response> {
    let path = req.path();
    let token = path.rsplit('/').next().unwrap_or_default().to_string();
    if !feed_websub::token_is_ours_any(env, feed_id, &token).await? {
        return Err(AppError::NotFound("no such subscription".into()));
    }
    // One of this planet's own Workers calling back into it: a loop through our hub.
    let zone = req.headers().get("CF-Worker")?.unwrap_or_default();
    if !zone.is_empty() && OwnOrigins::of(&env::config(env)).owns_zone(&zone) {
        return Err(AppError::Forbidden(
            "this planet does not push to itself".into(),
        ));
    }
    // Verifications and deliveries alike: each wakes the feed's object.
    throttle(env, feed_id).await?;
    if req.method() == Method::Get {
        let query = req.url()?.query().unwrap_or_default().to_string();
        return rpc::feed_websub(env, feed_id, WebSubIn::Verify { token, query }, None).await;
    }
    let header = |name: &str| req.headers().get(name).ok().flatten();
    // WebSub names `X-Hub-Signature`; some hubs send GitHub's `X-Hub-Signature-256`.
    let signature = header("X-Hub-Signature").or_else(|| header("X-Hub-Signature-256"));
    let body = read_capped(&mut req, MAX_BODY_BYTES).await?;
    let call = WebSubIn::Push { token, signature };
    rpc::feed_websub(env, feed_id, call, Some(body)).await
}

/// Verifications and deliveries one feed may receive a minute (`PUSH_LIMIT`, keyed by
/// feed id, counted at the edge before any Durable Object wakes). A hub is chosen by the feed's publisher:
/// without this, one hostile feed could spend the planet's daily DO requests and rows on
/// pushes. A refused delivery loses nothing: hubs deliver again, the next delivery or
/// poll carries the same entries. Off with `RATE_LIMITS=off`; unbound, deliveries are refused
/// (503), as uncached public reads are.
async fn throttle(env: &Env, feed_id: i64) -> AppResult<()> {
    if !env::config(env).rate_limits {
        return Ok(());
    }
    // Unbound or failing: refused (hubs deliver again), never served unlimited.
    let unavailable = |why: String| {
        worker::console_error!("{why}: WebSub deliveries are refused until it works");
        AppError::Unavailable("the rate limiter is not available: deliver again later".into())
    };
    let limiter = env
        .rate_limiter("PUSH_LIMIT")
        .map_err(|e| unavailable(format!("PUSH_LIMIT does not resolve ({e})")))?;
    match limiter.limit(format!("websub:{feed_id}")).await {
        Ok(outcome) if !outcome.success => Err(AppError::TooManyRequests(
            "at most 6 deliveries or verifications a minute for one feed: try again later".into(),
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(unavailable(format!("PUSH_LIMIT failed ({e})"))),
    }
}
