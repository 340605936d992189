//! A FeedObject's WebSub subscription: requests to its hub, verifications, deliveries.
//!
//! Every decision is `core::websub::subscriber`'s; this moves bytes.

use worker::{Env, Response, State};

use crate::core::domain::FeedStatus;
use crate::core::fetch::{FetchOutcome, OwnOrigins};
use crate::core::ingest::{FeedState, Plan, RefreshOutcome, RefreshReport, ALARM_SLACK_MS};
use crate::core::websub::subscriber::{
    self, DocLinks, HubIntent, IntentAnswer, Leaving, PushRefused,
};
use crate::edge::error::AppError;
use crate::edge::fetcher::Fetched;
use crate::edge::outbound::{Agent, Deadline, Outbound, OutboundError};
use crate::edge::{d1, env, objects::feed::storage};

/// A removed feed's unsubscribe is kept until the hub confirms it, or this long.
const LEAVING_KEEP_MS: i64 = 24 * 3600 * 1000;
/// A hub gets this long to answer a subscription request.
const HUB_TIMEOUT_MS: u64 = 10_000;

/// The key callback tokens are made with: from the planet's own random secret in D1 (one
/// read per isolate). `None` without an admin token: then the planet subscribes to no hub.
pub async fn key(env: &Env) -> worker::Result<Option<[u8; 32]>> {
    if env::admin_token(env).is_none() {
        return Ok(None);
    }
    let secret = d1::websub_secret(&env::db(env)?).await?;
    Ok(Some(subscriber::websub_key_from_secret(&secret)))
}

/// Is this callback token one this planet made for this feed, with today's key or the
/// old one derived from the admin token (accepted until each lease renews)?
pub async fn token_is_ours_any(env: &Env, feed_id: i64, token: &str) -> worker::Result<bool> {
    let Some(admin) = env::admin_token(env) else {
        return Ok(false);
    };
    if subscriber::token_is_ours(&subscriber::websub_key(&admin), feed_id, token) {
        return Ok(true);
    }
    Ok(key(env)
        .await?
        .is_some_and(|k| subscriber::token_is_ours(&k, feed_id, token)))
}

/// Renewals at least this far apart (`WEBSUB_MIN_RENEW_SECONDS`, for tests; default an hour).
fn min_renew_ms(env: &Env) -> i64 {
    env.var("WEBSUB_MIN_RENEW_SECONDS")
        .ok()
        .and_then(|v| v.to_string().trim().parse::<i64>().ok())
        .map_or(subscriber::MIN_RENEW_MS, |s| s.max(1) * 1000)
}

fn callback_url(env: &Env, feed_id: i64, token: &str) -> String {
    let base = env::config(env).planet_url;
    format!("{}/websub/{feed_id}/{token}", base.trim_end_matches('/'))
}

/// Applies what a freshly parsed document (and its `Link` header) advertises to the
/// state the plan saves: subscribe, move to another hub, or let the lease lapse.
/// True when a request to the hub is due (sent once the plan is written). Only a
/// poll's document counts: a hub's delivery may be a part of the feed, without links.
pub fn rediscover(env: &Env, plan: &mut Plan, found: Discovery, now: i64) -> bool {
    let links = plan.doc_links.take();
    if let Some(links) = links.filter(|_| !found.pushed) {
        advertised(
            env,
            &mut plan.state,
            links,
            found.header.as_deref(),
            &found.url,
        );
    }
    due(&plan.state, now)
}

/// What a fetch tells discovery besides the document: its `Link` header and URL.
pub struct Discovery {
    header: Option<String>,
    url: String,
    pushed: bool,
}

impl Discovery {
    pub fn of(fetch: &Fetched, feed_url: &str) -> Self {
        let url = match &fetch.outcome {
            FetchOutcome::Fetched { final_url, .. } => final_url.clone(),
            _ => feed_url.to_string(),
        };
        Discovery {
            header: fetch.links.clone(),
            url,
            pushed: fetch.pushed,
        }
    }
}

fn advertised(
    env: &Env,
    feed: &mut FeedState,
    links: DocLinks,
    header: Option<&str>,
    fetched_url: &str,
) {
    // Without an admin token the planet subscribes to no hub.
    if env::admin_token(env).is_none() {
        return;
    }
    let base = worker::Url::parse(fetched_url).ok();
    let header = match (header, base) {
        (Some(h), Some(b)) => subscriber::parse_link_header(h, &b),
        _ => (None, None),
    };
    let ad = subscriber::discover(
        header,
        links.hub.as_deref(),
        links.self_url.as_deref(),
        fetched_url,
    )
    // Never our own hub or our own feeds, under any name: they would push our own
    // entries back to us, forever.
    .filter(|ad| !subscriber::loops_back(ad, &OwnOrigins::of(&env::config(env))));
    feed.websub = subscriber::rediscover(feed.websub.take(), ad, min_renew_ms(env), || {
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        // The token is made when the request goes out (`send_due`: the key is in D1).
        (String::new(), secret)
    });
}

/// Is a request to the hub due (subscribe, renew, retry)?
pub fn due(feed: &FeedState, now: i64) -> bool {
    feed.websub_due_at()
        .is_some_and(|at| at <= now + ALARM_SLACK_MS)
}

/// Sends the subscription's request if one is due, then re-arms. The request is
/// recorded before it goes out: a hub may verify before it answers, and the
/// verification must find the request.
pub async fn send_due(state: &State, env: &Env, now: i64) -> worker::Result<()> {
    let Some(mut feed) = storage::load(state).await?.filter(|feed| due(feed, now)) else {
        return Ok(());
    };
    let feed_id = feed.feed_id;
    let Some(key) = key(env).await? else {
        return Ok(());
    };
    let Some(sub) = feed.websub.as_mut() else {
        return Ok(());
    };
    // A new subscription, or one made with the old key, gets a token of today's key.
    if !subscriber::token_is_ours(&key, feed_id, &sub.token) {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        sub.token = subscriber::callback_token(&key, feed_id, &nonce);
    }
    sub.requested(now, None);
    let hub = sub.hub.clone();
    let form = subscriber::request_form(sub, "subscribe", &callback_url(env, feed_id, &sub.token));
    storage::save(state, &feed).await?;
    let sent = post_form(env, &hub, form).await;
    // Read again: the hub's verification may have come in meanwhile.
    let Some(mut feed) = storage::load(state).await? else {
        return Ok(());
    };
    if let (Err(e), Some(sub)) = (sent, feed.websub.as_mut()) {
        worker::console_warn!("feed {feed_id}: subscribing at {hub}: {e}");
        sub.last_error = Some(e);
        storage::save(state, &feed).await?;
    }
    storage::arm(state, feed.next_wake(now), now).await
}

/// A removed feed asks its hub to stop, and keeps a note to confirm it when the hub
/// asks (the caller has wiped everything else).
pub async fn leave(state: &State, env: &Env, feed: Option<&FeedState>) -> worker::Result<()> {
    let Some(sub) = feed
        .and_then(|s| s.websub.as_ref())
        .filter(|s| s.requested_at > 0)
    else {
        return Ok(());
    };
    let feed_id = feed.map_or(0, |s| s.feed_id);
    let form =
        subscriber::request_form(sub, "unsubscribe", &callback_url(env, feed_id, &sub.token));
    match post_form(env, &sub.hub, form).await {
        Ok(()) => {
            let note = Leaving {
                topic: sub.topic.clone(),
                token: sub.token.clone(),
            };
            storage::keep_leaving(state, note, LEAVING_KEEP_MS).await
        }
        // The lease lapses on its own; deliveries meanwhile find no feed (404).
        Err(e) => {
            worker::console_warn!("feed {feed_id}: unsubscribing at {}: {e}", sub.hub);
            Ok(())
        }
    }
}

/// The hub's verification of intent: the challenge echoed when this feed asked for
/// exactly this, else 404 (400 when malformed). A lease that starts is saved, re-arms
/// the alarm for its renewal and shows in D1 (`/feeds` says "push").
pub async fn verify(
    state: &State,
    env: &Env,
    token: &str,
    query: &str,
    now: i64,
) -> worker::Result<Response> {
    let mut feed = storage::load(state).await?;
    let (resp, changed) = answer_intent(state, feed.as_mut(), token, query, now).await?;
    if let (true, Some(feed)) = (changed, feed) {
        storage::save(state, &feed).await?;
        storage::arm(state, feed.next_wake(now), now).await?;
        let until = feed.websub.as_ref().and_then(|s| s.lease_until);
        d1::feed_push(&env::db(env)?, feed.feed_id, until).await?;
    }
    Ok(resp)
}

async fn answer_intent(
    state: &State,
    feed: Option<&mut FeedState>,
    token: &str,
    query: &str,
    now: i64,
) -> worker::Result<(Response, bool)> {
    let intent = HubIntent::from_query(query);
    let leaving: Option<Leaving> = if feed.is_none() {
        storage::leaving(state).await?
    } else {
        None
    };
    let sub = feed.and_then(|s| s.websub.as_mut());
    let answer = subscriber::on_intent(sub, leaving.as_ref(), token, &intent, now);
    Ok(match answer {
        IntentAnswer::Confirm(challenge) => {
            if leaving.is_some() {
                storage::forget_leaving(state).await?;
            }
            let r = Response::ok(challenge)?;
            r.headers()
                .set("Content-Type", "text/plain; charset=utf-8")?;
            (r, leaving.is_none())
        }
        // Confirmed again, the lease barely moved: nothing to write.
        IntentAnswer::Echo(challenge) => {
            let r = Response::ok(challenge)?;
            r.headers()
                .set("Content-Type", "text/plain; charset=utf-8")?;
            (r, false)
        }
        IntentAnswer::Noted => (Response::ok("")?, true),
        IntentAnswer::Refuse(why) => (AppError::NotFound(why.into()).to_json_response(), false),
        IntentAnswer::Bad(why) => (AppError::BadRequest(why.into()).to_json_response(), false),
    })
}

/// A content delivery's check: our callback and our secret's signature, else the
/// answer to give the hub. The body to ingest (`None`: a thin ping, fetch instead).
pub fn check_push(
    feed: Option<&FeedState>,
    token: &str,
    signature: Option<&str>,
    body: Vec<u8>,
) -> Result<Option<Vec<u8>>, worker::Result<Response>> {
    let sub = feed.and_then(|s| s.websub.as_ref());
    let checked = subscriber::check_push(sub, token, signature, &body);
    checked
        .map(|()| (!body.is_empty()).then_some(body))
        .map_err(|e| match e {
            PushRefused::Unknown => AppError::NotFound("no subscription with this callback".into()),
            PushRefused::Signature(why) => {
                worker::console_warn!("refused a WebSub delivery: {why}");
                AppError::Forbidden(format!("refused: {why}"))
            }
        })
        .map_err(|e| Ok(e.to_json_response()))
}

/// A delivery's body as if fetched from the feed's URL: the same pipeline as a poll.
/// The validators stay the last poll's, so the next poll is still conditional.
pub fn as_fetched(feed: &FeedState, body: Vec<u8>) -> Fetched {
    Fetched {
        outcome: FetchOutcome::Fetched {
            body,
            final_url: feed.url.clone(),
            etag: feed.etag.clone(),
            last_modified: feed.last_modified.clone(),
            cache_max_age_s: None,
        },
        moved_to: None,
        links: None,
        pushed: true,
    }
}

/// What the hub hears after a delivery: 202 once ingested (or identical), 503 with
/// `Retry-After` while a refresh is running (the hub delivers again).
pub fn answer_push(report: &RefreshReport) -> worker::Result<Response> {
    if report.outcome == RefreshOutcome::Skipped && report.status != FeedStatus::Held {
        let body = serde_json::json!({"error": {"code": "busy", "message": "a refresh of this feed is running: deliver again shortly"}});
        let r = Response::from_json(&body)?.with_status(503);
        r.headers().set("Retry-After", "5")?;
        return Ok(r);
    }
    Ok(Response::empty()?.with_status(202))
}

/// POSTs a form to a hub through the fetch policy (no private addresses in production),
/// within [`HUB_TIMEOUT_MS`]; any 2xx is a yes.
async fn post_form(env: &Env, hub: &str, form: String) -> Result<(), String> {
    let cfg = env::config(env);
    let post = Outbound::post(hub, Agent::FeedAggregator(&cfg), form)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .public_only(cfg.allow_private_feeds);
    match post
        .send("websub.hub", Deadline::after(HUB_TIMEOUT_MS))
        .await
    {
        Ok(answer) if (200..300).contains(&answer.status()) => Ok(()),
        Ok(answer) => Err(format!("the hub answered HTTP {}", answer.status())),
        Err(OutboundError::Timeout) => Err("the hub did not answer within 10 seconds".into()),
        Err(OutboundError::Network(e)) => Err(format!("could not reach the hub: {e}")),
        Err(e) => Err(e.to_string()),
    }
}
