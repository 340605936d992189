//! Orrery's own WebSub hub (`POST /websub`), handed to the Publisher.
//!
//! Subscribe and unsubscribe requests for the planet's feeds are checked here and verified
//! by the Publisher object.

use serde_json::json;
use worker::{Env, Request, Response};

use super::read_capped;
use crate::core::fetch::OwnOrigins;
use crate::core::websub::hub::{parse_request, HubError};
use crate::edge::error::{AppError, AppResult};
use crate::edge::{d1, env, objects::rpc};

/// A subscription request is a short form.
const MAX_BODY: usize = 8 * 1024;

/// Takes a request (`hub.mode`, `hub.topic`, `hub.callback`, `hub.lease_seconds`,
/// `hub.secret`): 202 when it will be verified, else a 4xx saying why. Every answer is
/// `nosniff`.
pub async fn request(req: Request, env: &Env) -> AppResult<Response> {
    let resp = take(req, env)
        .await
        .unwrap_or_else(|e| e.to_json_response());
    // A copy: the headers of an object's answer are immutable.
    let headers = resp.headers().clone();
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(resp.with_headers(headers))
}

async fn take(mut req: Request, env: &Env) -> AppResult<Response> {
    let cfg = env::config(env);
    if let Some(hub) = &cfg.websub_hub {
        return Err(AppError::NotFound(format!(
            "this planet's feeds are pushed by the hub at {hub}: subscribe there"
        )));
    }
    let ctype = req.headers().get("Content-Type")?.unwrap_or_default();
    if !ctype
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(AppError::BadRequest(
            "send the request as application/x-www-form-urlencoded".into(),
        ));
    }
    let body = read_capped(&mut req, MAX_BODY).await?;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let intent = parse_request(
        &pairs,
        &cfg.planet_url,
        &OwnOrigins::of(&cfg),
        cfg.allow_private_feeds,
    )
    .map_err(|e| match e {
        HubError::UnknownTopic(..) => AppError::NotFound(e.to_string()),
        e => AppError::BadRequest(e.to_string()),
    })?;
    if let Some(id) = intent.topic.feed() {
        if d1::feed_by_id(&env::db(env)?, id).await?.is_none() {
            return Err(AppError::NotFound(format!(
                "there is no feed {id}, so no topic {}",
                intent.topic.url(&cfg.planet_url)
            )));
        }
    }
    rpc::publisher_intent(env, &intent).await?;
    let answer = json!({
        "accepted": true,
        "mode": intent.mode.as_str(),
        "topic": intent.topic.url(&cfg.planet_url),
        "lease_seconds": intent.lease_seconds,
    });
    Ok(Response::from_json(&answer)?.with_status(202))
}
