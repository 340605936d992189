//! WebSub subscriber callbacks (`/websub/{feed id}/{token}`): a hub verifies a feed's subscription (GET) or delivers its content (POST). The token is checked here, so a guessed callback costs no Durable Object request; the feed's object decides the rest.

use worker::{Env, Method, Request, Response};

use crate::core::fetch_policy::MAX_BODY_BYTES;
use crate::core::websub::token_is_ours;
use crate::edge::error::{AppError, AppResult};
use crate::edge::feed_websub::{self, WebSubIn};
use crate::edge::rpc;

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
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let declared = header("Content-Length").and_then(|l| l.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(AppError::TooLarge);
    }
    // WebSub names `X-Hub-Signature`; some hubs send GitHub's `X-Hub-Signature-256`.
    let signature = header("X-Hub-Signature").or_else(|| header("X-Hub-Signature-256"));
    let body = req.bytes().await?;
    if body.len() > MAX_BODY_BYTES {
        return Err(AppError::TooLarge);
    }
    let call = WebSubIn::Push { token, signature };
    rpc::feed_websub(env, feed_id, call, Some(body)).await
}
