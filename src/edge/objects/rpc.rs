//! Every call to every Durable Object, for the caller and the object alike.
//!
//! The one place that knows their stubs, paths, headers and bodies.
//!
//! The messages themselves are `wire`'s. A caller uses the typed functions below; an
//! object reads what it was asked with `read_*_request` and answers with [`reply`].

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Method, Request, RequestInit, Response, Stub};

use crate::core::ingest::{Change, Changed, FeedSettings, RefreshReport};
use crate::core::protocol::MAX_SUBSCRIBED_FEEDS;
use crate::core::view_models::ObjectHealth;
use crate::core::websub::hub::SubscriberIntent;
use crate::edge::error::{AppError, AppResult};
use crate::edge::objects::wire::{
    Adopt, Ensured, FeedCall, FeedRequest, PublisherRequest, RoomRequest, SocketAsk, WebSubFlag,
    WebSubIn,
};
use crate::edge::{env, meter};

/// Calls go to this path as a JSON body; socket upgrades to [`SOCKET_PATH`].
const CALL_PATH: &str = "/call";
const SOCKET_PATH: &str = "/ws";
const WEBSUB_PATH: &str = "/websub";
/// The Publisher's calls.
const INTENT_PATH: &str = "/intent";
const POKE_PATH: &str = "/poke";
/// The Room's path for a [`WebSubFlag`] the Publisher sends it.
const WEBSUB_FLAG_PATH: &str = "/websub-flag";
/// A WebSub call's callback token and delivery signature, as headers.
const TOKEN_HEADER: &str = "X-Orrery-Token";
const SIGNATURE_HEADER: &str = "X-Hub-Signature";
/// Headers the Worker adds when it forwards a socket: who the client is, and whether
/// the per-client cap applies (objects cannot read the Worker's vars per request cheaply).
const CLIENT_HEADER: &str = "X-Orrery-Client";
const CAPPED_HEADER: &str = "X-Orrery-Capped";
/// The one Publisher's name.
const PUBLISHER_NAME: &str = "hub";

fn feed_stub(env: &Env, id: i64) -> worker::Result<Stub> {
    env::feed_objects(env)?
        .id_from_name(&id.to_string())?
        .get_stub()
}

fn room_stub(env: &Env, shard: u32) -> worker::Result<Stub> {
    env::rooms(env)?
        .id_from_name(&env::room_name(shard))?
        .get_stub()
}

fn publisher_stub(env: &Env) -> worker::Result<Stub> {
    env::publishers(env)?
        .id_from_name(PUBLISHER_NAME)?
        .get_stub()
}

/// The one helper that calls an object: a POST of `body` (JSON) to `path`, its JSON answer.
async fn post<T: DeserializeOwned>(
    stub: &Stub,
    path: &str,
    body: Option<String>,
) -> worker::Result<T> {
    meter::subrequest("object.call");
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    if let Some(body) = body {
        init.with_body(Some(body.into()));
    }
    init.with_headers(cid_headers()?);
    let req = Request::new_with_init(&format!("https://object{path}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        let text = resp.text().await.unwrap_or_default();
        return Err(worker::Error::RustError(format!(
            "object call {path} failed (HTTP {}): {text}",
            resp.status_code()
        )));
    }
    resp.json().await
}

/// The running invocation's correlation id, for the object it calls (`meter::CID_HEADER`).
fn cid_headers() -> worker::Result<worker::Headers> {
    let headers = worker::Headers::new();
    if let Some(cid) = meter::cid() {
        headers.set(meter::CID_HEADER, &cid)?;
    }
    Ok(headers)
}

/// An object's JSON answer to a call.
pub fn reply<T: Serialize>(value: &T) -> worker::Result<Response> {
    Response::from_json(value)
}

// ---- FeedObject ----

/// Makes a [`FeedCall`] and reads its typed answer.
async fn call_feed<T: DeserializeOwned>(env: &Env, id: i64, call: &FeedCall) -> AppResult<T> {
    let body = serde_json::to_string(call)?;
    Ok(post(&feed_stub(env, id)?, CALL_PATH, Some(body)).await?)
}

pub async fn feed_init(env: &Env, id: i64, url: &str) -> AppResult<RefreshReport> {
    let call = FeedCall::Init {
        feed_id: id,
        url: url.into(),
    };
    call_feed(env, id, &call).await
}

pub async fn feed_refresh(env: &Env, id: i64) -> AppResult<RefreshReport> {
    call_feed(env, id, &FeedCall::Refresh).await
}

pub async fn feed_ensure(
    env: &Env,
    id: i64,
    url: &str,
    settings: FeedSettings,
) -> AppResult<Ensured> {
    let call = FeedCall::Ensure(Adopt {
        feed_id: id,
        url: url.into(),
        settings: Some(settings),
    });
    call_feed(env, id, &call).await
}

/// Tells the feed's object of a change; a refusal (a refresh is running) is a 409.
pub async fn feed_change(env: &Env, id: i64, change: Change) -> AppResult<Changed> {
    let answer: Result<Changed, String> = call_feed(env, id, &FeedCall::Change { change }).await?;
    answer.map_err(AppError::Conflict)
}

pub async fn feed_delete(env: &Env, id: i64) -> AppResult<()> {
    call_feed(env, id, &FeedCall::Delete).await
}

/// Asks these feeds' objects, all at once, what they know of themselves (nothing is
/// written); an object that does not answer is `None` in its place. One subrequest each:
/// the caller bounds `ids` (the health view's page).
pub async fn feeds_describe(env: &Env, ids: &[i64]) -> Vec<Option<ObjectHealth>> {
    let calls = ids.iter().map(|&id| async move {
        match call_feed::<ObjectHealth>(env, id, &FeedCall::Describe).await {
            Ok(answer) => Some(answer),
            Err(e) => {
                worker::console_error!("feed {id}: describe did not answer: {e}");
                None
            }
        }
    });
    futures::future::join_all(calls).await
}

pub async fn feed_socket(
    env: &Env,
    id: i64,
    req: &Request,
    ask: &SocketAsk,
) -> AppResult<Response> {
    forward_socket(feed_stub(env, id)?, req, "", ask).await
}

/// Hands a hub's call on a feed's callback to its object, which answers the hub.
pub async fn feed_websub(
    env: &Env,
    id: i64,
    call: WebSubIn,
    body: Option<Vec<u8>>,
) -> AppResult<Response> {
    meter::subrequest("object.websub");
    let headers = cid_headers()?;
    let mut init = RequestInit::new();
    let url = match call {
        WebSubIn::Verify { token, query } => {
            headers.set(TOKEN_HEADER, &token)?;
            format!("https://object{WEBSUB_PATH}?{query}")
        }
        WebSubIn::Push { token, signature } => {
            headers.set(TOKEN_HEADER, &token)?;
            if let Some(signature) = signature {
                headers.set(SIGNATURE_HEADER, &signature)?;
            }
            init.with_method(Method::Post);
            init.with_body(body.map(|bytes| js_bytes(&bytes)));
            format!("https://object{WEBSUB_PATH}")
        }
    };
    init.with_headers(headers);
    let req = Request::new_with_init(&url, &init)?;
    Ok(feed_stub(env, id)?.fetch_with_request(req).await?)
}

fn js_bytes(bytes: &[u8]) -> wasm_bindgen::JsValue {
    worker::js_sys::Uint8Array::from(bytes).into()
}

/// What a FeedObject was asked.
pub async fn read_feed_request(req: &mut Request) -> AppResult<FeedRequest> {
    match req.path().as_str() {
        SOCKET_PATH => Ok(FeedRequest::Socket(read_socket_ask(req))),
        CALL_PATH => Ok(FeedRequest::Call(req.json().await?)),
        WEBSUB_PATH => {
            let header = |name: &str| req.headers().get(name).ok().flatten();
            let token = header(TOKEN_HEADER).unwrap_or_default();
            if req.method() == Method::Get {
                let query = req.url()?.query().unwrap_or_default().to_string();
                Ok(FeedRequest::WebSub(
                    WebSubIn::Verify { token, query },
                    Vec::new(),
                ))
            } else {
                let signature = header(SIGNATURE_HEADER);
                let body = req.bytes().await?;
                Ok(FeedRequest::WebSub(
                    WebSubIn::Push { token, signature },
                    body,
                ))
            }
        }
        other => Err(AppError::NotFound(format!("no feed object call {other}"))),
    }
}

// ---- Room ----

/// The reader's own query (`?feeds=1,2`) is passed on as it is.
pub async fn room_socket(
    env: &Env,
    shard: u32,
    req: &Request,
    ask: &SocketAsk,
) -> AppResult<Response> {
    let query = req
        .url()?
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    forward_socket(room_stub(env, shard)?, req, &query, ask).await
}

/// Nudges every Room shard in parallel; true only when all of them broadcast.
pub async fn rooms_publish(env: &Env) -> bool {
    let calls = (0..env::room_shards(env)).map(|shard| async move {
        let stub = room_stub(env, shard)?;
        post::<serde_json::Value>(&stub, CALL_PATH, None).await
    });
    futures::future::join_all(calls)
        .await
        .iter()
        .all(Result::is_ok)
}

/// Tells the first Room shard whether to poke the Publisher after a broadcast (only the
/// first shard pokes: every shard broadcasts the same entries).
pub async fn room_websub_flag(env: &Env, flag: WebSubFlag) -> worker::Result<()> {
    let body = serde_json::to_string(&flag)?;
    let _: serde_json::Value = post(&room_stub(env, 0)?, WEBSUB_FLAG_PATH, Some(body)).await?;
    Ok(())
}

/// What a Room was asked.
pub async fn read_room_request(req: &mut Request) -> AppResult<RoomRequest> {
    let url = req.url()?;
    match url.path() {
        SOCKET_PATH => Ok(RoomRequest::Socket {
            feeds: feeds_filter(&url).map_err(AppError::BadRequest)?,
            ask: read_socket_ask(req),
        }),
        CALL_PATH => Ok(RoomRequest::Publish),
        WEBSUB_FLAG_PATH => match req.json::<WebSubFlag>().await {
            Ok(flag) => Ok(RoomRequest::WebSubFlag(flag)),
            Err(e) => Err(AppError::BadRequest(e.to_string())),
        },
        other => Err(AppError::NotFound(format!("no room call {other}"))),
    }
}

/// Parses `?feeds=1,2,3` (an optional filter on the global socket).
fn feeds_filter(url: &worker::Url) -> Result<Option<Vec<i64>>, String> {
    let Some((_, value)) = url.query_pairs().find(|(k, _)| k == "feeds") else {
        return Ok(None);
    };
    let mut ids = Vec::new();
    for part in value.split(',').filter(|p| !p.is_empty()) {
        let id: i64 = part.trim().parse().map_err(|_| {
            format!("feeds must be a comma-separated list of feed ids, got {part:?}")
        })?;
        ids.push(id);
    }
    if ids.len() > MAX_SUBSCRIBED_FEEDS {
        return Err(format!("at most {MAX_SUBSCRIBED_FEEDS} feeds"));
    }
    Ok(Some(ids))
}

// ---- Publisher ----

/// The Worker hands a validated request to the Publisher; a per-host limit refuses it (403).
pub async fn publisher_intent(env: &Env, intent: &SubscriberIntent) -> AppResult<()> {
    let body = serde_json::to_string(intent)?;
    let answer: Result<(), String> = post(&publisher_stub(env)?, INTENT_PATH, Some(body)).await?;
    answer.map_err(AppError::Forbidden)
}

/// The Room, after it broadcast new entries: the Publisher goes to work and answers
/// whether anyone is subscribed.
pub async fn publisher_poke(env: &Env) -> worker::Result<WebSubFlag> {
    post(&publisher_stub(env)?, POKE_PATH, None).await
}

/// What the Publisher was asked.
pub async fn read_publisher_request(req: &mut Request) -> AppResult<PublisherRequest> {
    match req.path().as_str() {
        INTENT_PATH => match req.json().await {
            Ok(intent) => Ok(PublisherRequest::Intent(intent)),
            Err(e) => Err(AppError::BadRequest(e.to_string())),
        },
        POKE_PATH => Ok(PublisherRequest::Poke),
        other => Err(AppError::BadRequest(format!("no publisher call {other}"))),
    }
}

// ---- Sockets ----

/// Hands a reader's upgrade request to the Room shard or FeedObject that will hold the
/// socket, saying who the client is.
async fn forward_socket(
    stub: Stub,
    req: &Request,
    query: &str,
    ask: &SocketAsk,
) -> AppResult<Response> {
    meter::subrequest("object.socket");
    let headers = req.headers().clone();
    headers.set(CLIENT_HEADER, &ask.client)?;
    headers.set(CAPPED_HEADER, if ask.capped { "1" } else { "0" })?;
    let mut init = RequestInit::new();
    init.with_headers(headers);
    let fwd = Request::new_with_init(&format!("https://object{SOCKET_PATH}{query}"), &init)?;
    Ok(stub.fetch_with_request(fwd).await?)
}

fn read_socket_ask(req: &Request) -> SocketAsk {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    SocketAsk {
        client: header(CLIENT_HEADER).unwrap_or_else(|| "unknown".into()),
        capped: header(CAPPED_HEADER).is_some_and(|v| v == "1"),
    }
}
