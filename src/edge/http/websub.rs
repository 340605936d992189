//! WebSub subscriber callbacks (`/websub/{feed id}/{token}`), handed to the feed's object.
//!
//! A hub verifies a feed's subscription (GET) or delivers its content (POST). The token is
//! checked here, so a guessed callback costs no Durable Object request; the feed's object
//! decides the rest.

use worker::{Env, Method, Request, Response};

use super::read_capped;
use crate::core::fetch::MAX_BODY_BYTES;
use crate::core::websub::subscriber::token_is_ours;
use crate::edge::env;
use crate::edge::error::{AppError, AppResult};
use crate::edge::objects::feed::websub as feed_websub;
use crate::edge::objects::{rpc, wire::WebSubIn};

pub async fn callback(mut req: Request, env: &Env, feed_id: i64) -> AppResult<Response> {
    let path = req.path();
    let token = path.rsplit('/').next().unwrap_or_default().to_string();
    let ours = feed_websub::key(env).is_some_and(|k| token_is_ours(&k, feed_id, &token));
    if !ours {
        return Err(AppError::NotFound("no such subscription".into()));
    }
    if req.method() == Method::Get {
        let query = req.url()?.query().unwrap_or_default().to_string();
        return rpc::feed_websub(env, feed_id, WebSubIn::Verify { token, query }, None).await;
    }
    throttle(env, feed_id).await?;
    let header = |name: &str| req.headers().get(name).ok().flatten();
    // WebSub names `X-Hub-Signature`; some hubs send GitHub's `X-Hub-Signature-256`.
    let signature = header("X-Hub-Signature").or_else(|| header("X-Hub-Signature-256"));
    let body = read_capped(&mut req, MAX_BODY_BYTES).await?;
    let call = WebSubIn::Push { token, signature };
    rpc::feed_websub(env, feed_id, call, Some(body)).await
}

/// Deliveries one feed may receive a minute (`PUSH_LIMIT`, keyed by feed id, counted at
/// the edge before any Durable Object wakes). A hub is chosen by the feed's publisher:
/// without this, one hostile feed could spend the planet's daily DO requests and rows on
/// pushes. A refused delivery loses nothing: hubs deliver again, the next delivery or
/// poll carries the same entries. Off with `RATE_LIMITS=off`.
async fn throttle(env: &Env, feed_id: i64) -> AppResult<()> {
    if !env::config(env).rate_limits {
        return Ok(());
    }
    let Ok(limiter) = env.rate_limiter("PUSH_LIMIT") else {
        return Ok(()); // not bound (an older deployment): deliver
    };
    match limiter.limit(format!("websub:{feed_id}")).await {
        Ok(outcome) if !outcome.success => Err(AppError::TooManyRequests(
            "at most 6 deliveries a minute for one feed: deliver again later".into(),
        )),
        Ok(_) => Ok(()),
        Err(e) => {
            worker::console_warn!("PUSH_LIMIT failed, delivering anyway: {e}");
            Ok(())
        }
    }
}
