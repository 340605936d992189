//! Typed calls to the Durable Objects: the one place that knows their paths and bodies, for the caller and the object alike.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{Env, Method, Request, RequestInit, Response, Stub};

use crate::core::ingest::{Change, Changed, FeedSettings, RefreshReport, Watch};
use crate::edge::error::{AppError, AppResult};
use crate::edge::objects::feed::websub::WebSubIn;
use crate::edge::{env, meter, objects::sockets};

/// Calls go to this path as a JSON body; socket upgrades to [`SOCKET_PATH`].
const CALL_PATH: &str = "/call";
const SOCKET_PATH: &str = "/ws";
const WEBSUB_PATH: &str = "/websub";
/// A WebSub call's callback token and delivery signature, as headers.
const TOKEN_HEADER: &str = "X-Orrery-Token";
const SIGNATURE_HEADER: &str = "X-Hub-Signature";

/// A call to a FeedObject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FeedCall {
    /// A feed just added: remember who we are, then fetch at once. Replies a [`RefreshReport`].
    Init { feed_id: i64, url: String },
    /// Fetch now, even when paused or gone (never when held). Replies a [`RefreshReport`].
    Refresh,
    /// Cron's watchdog, for a feed D1 says is overdue: adopt it if new (an OPML import),
    /// re-arm a missing or stuck alarm, and say what D1's deadline should be; `settings`
    /// are D1's (names and filters set at import or since). Replies [`Ensured`].
    Ensure(Adopt),
    /// The admin changed the feed (settings, held, resumed). Replies `Result<Changed, String>`.
    Change { change: Change },
    /// The feed was removed: forget everything and close its sockets.
    Delete,
}

/// Which feed an object is ([`FeedCall::Ensure`]), with its settings as D1 holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adopt {
    pub feed_id: i64,
    pub url: String,
    #[serde(default)]
    pub settings: Option<FeedSettings>,
}

/// The FeedObject's answer to [`FeedCall::Ensure`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Ensured {
    pub armed: bool,
    /// The watchdog deadline D1 should hold (`None`: not scheduled).
    pub overdue_at: Option<i64>,
}

/// A reader's socket request, as the object sees it.
pub struct SocketAsk {
    /// The client's address (rate-limit key), for tagging and the per-client cap.
    pub client: String,
    /// Cap the client's sockets here (off with RATE_LIMITS=off).
    pub capped: bool,
}

impl From<Watch> for Ensured {
    fn from(w: Watch) -> Self {
        Ensured {
            armed: w.overdue_at.is_some(),
            overdue_at: w.overdue_at,
        }
    }
}

/// What a request to a FeedObject asks for.
pub enum FeedRequest {
    Call(FeedCall),
    Socket(SocketAsk),
    /// A WebSub hub's call (the body: a delivery's content).
    WebSub(WebSubIn, Vec<u8>),
}

/// What a request to a Room asks for.
pub enum RoomRequest {
    /// A reader's socket, optionally following some feeds only.
    Socket {
        feeds: Option<Vec<i64>>,
        ask: SocketAsk,
    },
    /// A FeedObject committed entries: broadcast everything past the cursor.
    Publish,
}

/// Headers the Worker adds when it forwards a socket: who the client is, and whether
/// the per-client cap applies (objects cannot read the Worker's vars per request cheaply).
const CLIENT_HEADER: &str = "X-Orrery-Client";
const CAPPED_HEADER: &str = "X-Orrery-Capped";

impl SocketAsk {
    fn read(req: &Request) -> Self {
        let header = |name: &str| req.headers().get(name).ok().flatten();
        SocketAsk {
            client: header(CLIENT_HEADER).unwrap_or_else(|| "unknown".into()),
            capped: header(CAPPED_HEADER).is_some_and(|v| v == "1"),
        }
    }
}

impl FeedRequest {
    pub async fn read(req: &mut Request) -> AppResult<Self> {
        match req.path().as_str() {
            SOCKET_PATH => Ok(FeedRequest::Socket(SocketAsk::read(req))),
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
}

/// A short name of a FeedObject request, for the meter.
pub fn describe_feed(req: &AppResult<FeedRequest>) -> String {
    match req {
        Ok(FeedRequest::Socket(_)) => "socket.connect".into(),
        Ok(FeedRequest::WebSub(WebSubIn::Verify { .. }, _)) => "websub.verify".into(),
        Ok(FeedRequest::WebSub(WebSubIn::Push { .. }, _)) => "websub.push".into(),
        Ok(FeedRequest::Call(call)) => match call {
            FeedCall::Init { .. } => "call.init",
            FeedCall::Refresh => "call.refresh",
            FeedCall::Ensure(_) => "call.ensure",
            FeedCall::Change { .. } => "call.change",
            FeedCall::Delete => "call.delete",
        }
        .into(),
        Err(_) => "bad".into(),
    }
}

impl RoomRequest {
    pub fn read(req: &Request) -> AppResult<Self> {
        let url = req.url()?;
        match url.path() {
            SOCKET_PATH => Ok(RoomRequest::Socket {
                feeds: sockets::feeds_filter(&url).map_err(AppError::BadRequest)?,
                ask: SocketAsk::read(req),
            }),
            CALL_PATH => Ok(RoomRequest::Publish),
            other => Err(AppError::NotFound(format!("no room call {other}"))),
        }
    }
}

/// An object's JSON answer to a call.
pub fn reply<T: Serialize>(value: &T) -> worker::Result<Response> {
    Response::from_json(value)
}

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

async fn post<T: DeserializeOwned>(stub: &Stub, body: Option<String>) -> worker::Result<T> {
    meter::subrequest("object.call");
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    if let Some(b) = body {
        init.with_body(Some(b.into()));
    }
    let req = Request::new_with_init(&format!("https://object{CALL_PATH}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        let text = resp.text().await.unwrap_or_default();
        return Err(worker::Error::RustError(format!(
            "object call failed (HTTP {}): {text}",
            resp.status_code()
        )));
    }
    resp.json().await
}

/// Makes a [`FeedCall`] and reads its typed answer.
async fn call_feed<T: DeserializeOwned>(env: &Env, id: i64, call: &FeedCall) -> AppResult<T> {
    let body = serde_json::to_string(call)?;
    Ok(post(&feed_stub(env, id)?, Some(body)).await?)
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

/// Hands a reader's upgrade request to the Room shard or FeedObject that will hold the
/// socket, saying who the client is.
async fn forward_socket(
    stub: Stub,
    req: &Request,
    query: &str,
    client: &Client,
) -> AppResult<Response> {
    meter::subrequest("object.socket");
    let headers = req.headers().clone();
    headers.set(CLIENT_HEADER, &client.key)?;
    headers.set(CAPPED_HEADER, if client.capped { "1" } else { "0" })?;
    let mut init = RequestInit::new();
    init.with_headers(headers);
    let fwd = Request::new_with_init(&format!("https://object{SOCKET_PATH}{query}"), &init)?;
    Ok(stub.fetch_with_request(fwd).await?)
}

/// Who opens a socket: the rate-limit key of its address, and whether its sockets are capped.
pub struct Client {
    pub key: String,
    pub capped: bool,
}

pub async fn feed_socket(
    env: &Env,
    id: i64,
    req: &Request,
    client: &Client,
) -> AppResult<Response> {
    forward_socket(feed_stub(env, id)?, req, "", client).await
}

/// The reader's own query (`?feeds=1,2`) is passed on as it is.
pub async fn room_socket(
    env: &Env,
    shard: u32,
    req: &Request,
    client: &Client,
) -> AppResult<Response> {
    let query = req
        .url()?
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    forward_socket(room_stub(env, shard)?, req, &query, client).await
}

/// Hands a hub's call on a feed's callback to its object, which answers the hub.
pub async fn feed_websub(
    env: &Env,
    id: i64,
    call: WebSubIn,
    body: Option<Vec<u8>>,
) -> AppResult<Response> {
    meter::subrequest("object.websub");
    let headers = worker::Headers::new();
    let mut init = RequestInit::new();
    let url = match call {
        WebSubIn::Verify { token, query } => {
            headers.set(TOKEN_HEADER, &token)?;
            format!("https://object{WEBSUB_PATH}?{query}")
        }
        WebSubIn::Push { token, signature } => {
            headers.set(TOKEN_HEADER, &token)?;
            if let Some(s) = signature {
                headers.set(SIGNATURE_HEADER, &s)?;
            }
            init.with_method(Method::Post);
            init.with_body(body.map(|b| js_sys_bytes(&b)));
            format!("https://object{WEBSUB_PATH}")
        }
    };
    init.with_headers(headers);
    let req = Request::new_with_init(&url, &init)?;
    Ok(feed_stub(env, id)?.fetch_with_request(req).await?)
}

fn js_sys_bytes(b: &[u8]) -> wasm_bindgen::JsValue {
    worker::js_sys::Uint8Array::from(b).into()
}

/// Nudges every Room shard in parallel; true only when all of them broadcast.
pub async fn rooms_publish(env: &Env) -> bool {
    let calls = (0..env::room_shards(env)).map(|shard| async move {
        let stub = room_stub(env, shard)?;
        post::<serde_json::Value>(&stub, None).await
    });
    futures::future::join_all(calls)
        .await
        .iter()
        .all(Result::is_ok)
}
