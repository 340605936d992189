//! Hibernating WebSockets, shared by the Room and every FeedObject.
//!
//! Accept, protocol frames, broadcast.

use std::cell::{OnceCell, RefCell};

use wasm_bindgen::prelude::{wasm_bindgen, JsValue};
use wasm_bindgen::JsCast;
use worker::{
    web_sys, D1Database, Env, Response, State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

use crate::core::i18n::Tr;
use crate::core::protocol::{
    self, check_feeds, resume_rows, within_reach, Action, ClientBudgets, ClientVerdict, Frame,
    ServerMsg, SocketState, CLOSE_CLIENT_FLOOD, CLOSE_PLANET_BUSY, CLOSE_POLICY,
    MAX_RESUME_ENTRIES, MAX_RESUME_UPDATES, MAX_SOCKETS_PER_CLIENT,
};
use crate::core::search::live_query::{LiveDoc, LiveQuery};
use crate::core::view_models::EntryView;
use crate::core::views::{also_posted, entry_article};
use crate::edge::env::{self, now_ms, Spent};
use crate::edge::error::AppError;
use crate::edge::objects::wire::SocketAsk;
use crate::edge::{d1, meter};

/// Answer `ping` with `pong` without waking the object (set in every constructor).
pub fn set_ping_auto_response(state: &State) {
    if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
        state.set_websocket_auto_response(&pair);
    }
}

/// The frame budgets of the client addresses with sockets on one object
/// (`core::protocol::ClientBudgets`): an in-memory field of the object, a cache that
/// hibernation drops (which only forgives; a flood never lets the object hibernate).
pub struct Budgets {
    budgets: RefCell<ClientBudgets>,
    /// Off with RATE_LIMITS=off (tests that speak for hundreds of readers from one address).
    on: bool,
}

impl Budgets {
    pub fn new(on: bool) -> Self {
        Self {
            budgets: RefCell::new(ClientBudgets::default()),
            on,
        }
    }

    /// Counts one frame of `ws`'s client (its hibernation tag).
    fn count(&self, state: &State, ws: &WebSocket) -> ClientVerdict {
        if !self.on {
            return ClientVerdict::Ok;
        }
        let Some(client) = state.get_tags(ws).into_iter().next() else {
            return ClientVerdict::Ok;
        };
        let verdict = self.budgets.borrow_mut().count(&client, now_ms());
        if verdict == ClientVerdict::PlanetBusy {
            close(
                ws,
                CLOSE_PLANET_BUSY,
                "the planet is busy: reconnect in a minute",
            );
        }
        if verdict == ClientVerdict::Close {
            // Every socket of the address: its frames are what the budget counts.
            for other in state.get_websockets_with_tag(&client) {
                close(
                    &other,
                    CLOSE_CLIENT_FLOOD,
                    "too many frames from this address",
                );
            }
        }
        verdict
    }

    /// Spends what a resume may read ([`resume_rows`], in whole units as they fall due:
    /// `ClientBudgets::owe`) from its client's public budget; the frame to send instead
    /// when it is refused.
    async fn charge(
        &self,
        state: &State,
        ws: &WebSocket,
        env: &Env,
        since: i64,
        revision: Option<i64>,
        newest: (i64, i64),
    ) -> Option<ServerMsg> {
        if !self.on {
            return None;
        }
        let client = state.get_tags(ws).into_iter().next().unwrap_or_default();
        let rows = resume_rows(since, revision, newest);
        let units = self.budgets.borrow_mut().owe(&client, rows);
        let spent = env::spend_public(env, &client, units).await;
        let paid = spent == Spent::Ok;
        self.budgets.borrow_mut().settle(&client, rows, units, paid);
        match spent {
            Spent::Ok => None,
            Spent::AddressOver => Some(ServerMsg::error(
                "rate_limited",
                "this address has spent its minute's budget: resume again in a minute",
            )),
            Spent::PlanetOver => Some(ServerMsg::error(
                "busy",
                "the planet is busy: resume again in a minute",
            )),
            Spent::Unbound(why) => {
                worker::console_error!("{why}: resumes are refused until it works");
                Some(ServerMsg::error(
                    "unavailable",
                    "the rate limiter is not available: resume again later",
                ))
            }
        }
    }

    fn banned(&self, client: &str) -> bool {
        self.on && self.budgets.borrow().banned(client, now_ms())
    }
}

/// Accepts an upgrade with the hibernation API, tagged with the client's address, and
/// says hello; refuses a client that already holds [`MAX_SOCKETS_PER_CLIENT`] sockets here
/// or is closed off for a flood, and feed ids out of range. Everything that can fail is
/// checked before the socket is accepted, so a refusal leaves no socket behind.
pub fn accept(
    state: &State,
    feeds: Option<Vec<i64>>,
    (latest, revision): (i64, i64),
    ask: &SocketAsk,
    budgets: &Budgets,
) -> worker::Result<Response> {
    if let Some(Err(why)) = feeds.as_deref().map(check_feeds) {
        return Ok(AppError::BadRequest(why).to_json_response());
    }
    let held = state.get_websockets_with_tag(&ask.client).len();
    if ask.capped && (held >= MAX_SOCKETS_PER_CLIENT || budgets.banned(&ask.client)) {
        let msg = format!(
            "at most {MAX_SOCKETS_PER_CLIENT} live sockets per client address, \
             and a few frames a second across them"
        );
        return Ok(AppError::TooManyRequests(msg).to_json_response());
    }
    let mut socket_state = SocketState::new(feeds);
    socket_state.last_sent = latest;
    if !socket_state.fits() {
        return Ok(AppError::BadRequest("too many feeds".into()).to_json_response());
    }
    let pair = WebSocketPair::new()?;
    let server = pair.server;
    state.accept_websocket_with_tags(&server, &[ask.client.as_str()]);
    if let Err(e) = server.serialize_attachment(&socket_state) {
        close(&server, 1011, "cannot keep this socket's state");
        return Err(e);
    }
    let clients = state.get_websockets().len() as u32;
    server.send_with_str(
        ServerMsg::Hello {
            protocol: protocol::PROTOCOL,
            latest,
            clients,
            revision,
        }
        .to_json(),
    )?;
    Response::from_websocket(pair.client)
}

/// Closes every socket this object holds.
pub fn close_all(state: &State, code: u16, reason: &str) {
    for ws in state.get_websockets() {
        close(&ws, code, reason);
    }
}

fn close(ws: &WebSocket, code: u16, reason: &str) {
    // A reason over 123 bytes would make `close` throw and leave the socket open.
    let _ = ws.close(
        Some(code),
        Some(protocol::clip(reason, protocol::MAX_REASON_BYTES)),
    );
}

/// A frame rendered once for every socket, with its entry, whose index text is made
/// (once) only if a socket that follows a search wants the entry's feed.
pub struct Outgoing<'a> {
    entry: &'a EntryView,
    json: String,
    /// For a new copy of an article another member's entry already shows: the `merge`
    /// frame sockets following the whole planet get instead of `json`.
    merge_json: Option<String>,
    doc: OnceCell<LiveDoc>,
}

impl Outgoing<'_> {
    /// The entry's index text, as a followed search matches it (`core::search::live_query`).
    fn doc(&self) -> &LiveDoc {
        self.doc.get_or_init(|| LiveDoc::of_entry(self.entry))
    }
}

/// Renders new entries once into the frames every socket receives (and, for a copy of
/// an article already shown, the `merge` frame the planet's sockets receive instead).
pub fn entry_frames(t: Tr, entries: &[EntryView]) -> Vec<Outgoing<'_>> {
    let mut out = frames(t, entries, |entry, html| ServerMsg::Entry { entry, html });
    for f in &mut out {
        f.merge_json = f.entry.merged_into().map(|(into, copies)| {
            ServerMsg::Merge {
                into,
                entry: f.entry.clone(),
                html: also_posted(t, &copies).into_string(),
            }
            .to_json()
        });
    }
    out
}

impl Outgoing<'_> {
    /// The frame for a socket: following the whole planet (`planet`), a copy of an article
    /// already shown is a `merge`; following some feeds (or one feed's page), an entry.
    fn json_for(&self, planet: bool) -> &str {
        match &self.merge_json {
            Some(merge) if planet => merge,
            _ => &self.json,
        }
    }
}

/// Renders rewritten entries (completed or edited) into `update` frames.
pub fn update_frames(t: Tr, entries: &[EntryView]) -> Vec<Outgoing<'_>> {
    frames(t, entries, |entry, html| ServerMsg::Update { entry, html })
}

fn frames(
    t: Tr,
    entries: &[EntryView],
    msg: fn(EntryView, String) -> ServerMsg,
) -> Vec<Outgoing<'_>> {
    entries
        .iter()
        .map(|e| {
            let html = entry_article(t, e).into_string();
            Outgoing {
                entry: e,
                json: msg(e.clone(), html).to_json(),
                merge_json: None,
                doc: OnceCell::new(),
            }
        })
        .collect()
}

#[wasm_bindgen]
extern "C" {
    /// A WebSocket seen only for `send(JsValue)`: web-sys's `send_with_str` would
    /// copy the frame out of wasm again for every socket.
    type RawSocket;
    #[wasm_bindgen(method, js_name = send, catch)]
    fn send(this: &RawSocket, data: &JsValue) -> Result<(), JsValue>;
}

fn raw(ws: &WebSocket) -> &RawSocket {
    AsRef::<web_sys::WebSocket>::as_ref(ws).unchecked_ref::<RawSocket>()
}

/// Sends each `update` frame to every socket that wants its feed and, following a
/// search, matches it (an update is idempotent: a reader without that entry on screen
/// ignores it, or, following a search, shows it: its completed body may match now).
pub fn broadcast_updates(state: &State, frames: &[Outgoing]) -> usize {
    send_all(state, frames, false)
}

/// Sends each frame, in id order, to every socket that wants its feed (and matches its
/// followed search) and has not had it.
pub fn broadcast(state: &State, frames: &[Outgoing]) -> usize {
    send_all(state, frames, true)
}

fn send_all(state: &State, frames: &[Outgoing], unsent_only: bool) -> usize {
    // Each frame crosses into JS once, however many sockets receive it; each entry's
    // index text is made at most once, the first time a socket's search needs it.
    let js: Vec<JsValue> = frames.iter().map(|f| JsValue::from_str(&f.json)).collect();
    let merges: Vec<Option<JsValue>> = frames
        .iter()
        .map(|f| f.merge_json.as_deref().map(JsValue::from_str))
        .collect();
    let mut sent = 0;
    for ws in state.get_websockets() {
        let Ok(Some(socket_state)) = ws.deserialize_attachment::<SocketState>() else {
            continue;
        };
        let planet = socket_state.feeds.is_none();
        for ((f, entry), merge) in frames.iter().zip(&js).zip(&merges) {
            let data = match merge {
                Some(m) if planet => m,
                _ => entry,
            };
            let fresh = !unsent_only || f.entry.id > socket_state.last_sent;
            if fresh
                && socket_state.wants_entry(f.entry.feed_id, || f.doc())
                && raw(&ws).send(data).is_ok()
            {
                sent += 1;
            }
        }
    }
    sent
}

/// Handles one client frame (read by [`SocketState::read`]). `(upto, rev_upto)` is the
/// newest id and revision this object has broadcast: a resume sends `(since, upto]` and
/// later ids arrive by broadcast, so none twice; a resume from further back than
/// `core::protocol::MAX_RESUME_REACH` gets `reload`. The client address's frame budget is
/// counted first, in memory; every count of the socket's own is saved in the attachment
/// before the first await, so frames pipelined behind this one see it (a flood of resumes
/// cannot slip past the limits), and nothing that fails skips the counting.
pub async fn on_message(
    (state, budgets, env): (&State, &Budgets, &Env),
    ws: &WebSocket,
    msg: WebSocketIncomingMessage,
    db: &D1Database,
    (upto, rev_upto): (i64, i64),
    fixed_feeds: Option<&[i64]>,
) -> worker::Result<()> {
    if budgets.count(state, ws) != ClientVerdict::Ok {
        return Ok(());
    }
    // An attachment that cannot be read starts over (counted from zero, never skipped).
    let mut socket_state = ws
        .deserialize_attachment::<SocketState>()
        .ok()
        .flatten()
        .unwrap_or_else(|| SocketState::new(fixed_feeds.map(<[i64]>::to_vec)));
    let frame = match &msg {
        WebSocketIncomingMessage::String(text) => Frame::Text(text),
        WebSocketIncomingMessage::Binary(bytes) => Frame::Binary(bytes.len()),
    };
    let action = socket_state.read(frame, now_ms(), fixed_feeds.is_some());
    if ws.serialize_attachment(&socket_state).is_err() {
        // Its counts cannot be kept: a socket is never left unlimited.
        close(ws, CLOSE_POLICY, "socket state too large");
        return Ok(());
    }
    match action {
        Action::Close(code, reason) => close(ws, code, &reason),
        Action::Reply(reply) => {
            let _ = ws.send_with_str(reply.to_json());
        }
        Action::Resume { since, revision } => {
            let feeds = fixed_feeds
                .map(<[i64]>::to_vec)
                .or(socket_state.feeds.clone());
            if !within_reach(since, revision, (upto, rev_upto), feeds.as_deref()) {
                // Too far behind to catch up frame by frame (and to read cheaply): reload.
                socket_state.end_resume(upto.max(since));
                let _ = ws.serialize_attachment(&socket_state);
                let reload = ServerMsg::Reload {
                    latest: upto,
                    revision: rev_upto,
                };
                let _ = ws.send_with_str(reload.to_json());
                return Ok(());
            }
            // Charged by what it may read, from the same budget as the address's uncached
            // pages (and the planet's): a flood of resumes spends it like a flood of pages.
            if let Some(refusal) = budgets
                .charge(state, ws, env, since, revision, (upto, rev_upto))
                .await
            {
                let mut current = ws
                    .deserialize_attachment::<SocketState>()?
                    .unwrap_or(socket_state);
                current.end_resume(since);
                ws.serialize_attachment(&current)?;
                ws.send_with_str(refusal.to_json())?;
                return Ok(());
            }
            let wanted = Wanted {
                feeds: feeds.as_deref(),
                q: socket_state.q.as_ref(),
                tr: env::lang(env),
            };
            let latest = resume(ws, db, since, upto, wanted).await;
            let revision = match revision {
                Some(r) => Some(resume_updates(ws, db, r, since, wanted).await?),
                None => None,
            };
            // Other frames may have been counted meanwhile: update the saved state.
            let mut current = ws
                .deserialize_attachment::<SocketState>()?
                .unwrap_or(socket_state);
            current.end_resume(latest.as_ref().copied().unwrap_or(since));
            ws.serialize_attachment(&current)?;
            let latest = latest?;
            ws.send_with_str(ServerMsg::Synced { latest, revision }.to_json())?;
        }
    }
    Ok(())
}

/// What a resuming socket follows: some feeds (or all), and maybe a search.
#[derive(Clone, Copy)]
struct Wanted<'a> {
    feeds: Option<&'a [i64]>,
    q: Option<&'a LiveQuery>,
    /// The planet's language, for the articles the frames carry.
    tr: Tr,
}

impl Wanted<'_> {
    /// Keeps the entries the followed search matches (before they are rendered).
    fn only_matching(&self, mut entries: Vec<EntryView>) -> Vec<EntryView> {
        if let Some(q) = self.q {
            entries.retain(|e| q.matches(&LiveDoc::of_entry(e)));
        }
        entries
    }
}

/// Sends every entry in `(since, upto]` (of these feeds, matching the followed search),
/// paging through D1 so a long absence costs several small reads; returns how far it got
/// (short of `upto` when the cap stopped it; then the client resumes again). The cap
/// counts the entries read, matching or not, so a search bounds D1 and CPU the same.
async fn resume(
    ws: &WebSocket,
    db: &D1Database,
    since: i64,
    upto: i64,
    wanted: Wanted<'_>,
) -> worker::Result<i64> {
    let mut cursor = since;
    let mut left = MAX_RESUME_ENTRIES;
    while left > 0 && cursor < upto {
        let batch = d1::entries_between(db, cursor, upto, wanted.feeds, left.min(100)).await?;
        let Some(last) = batch.last() else { break };
        cursor = last.id;
        left = left.saturating_sub(batch.len() as u32);
        let matching = wanted.only_matching(batch);
        let frames = entry_frames(wanted.tr, &matching);
        meter::frames(frames.len());
        for f in &frames {
            ws.send_with_str(f.json_for(wanted.feeds.is_none()))?;
        }
    }
    Ok(if left == 0 { cursor } else { upto.max(since) })
}

/// Sends, as `update` frames, the entries up to id `since` rewritten after revision
/// `after` (those past `since` went out whole just before); returns the revision
/// reached (short of the newest when the cap stopped it: the client resumes again).
async fn resume_updates(
    ws: &WebSocket,
    db: &D1Database,
    after: i64,
    since: i64,
    wanted: Wanted<'_>,
) -> worker::Result<i64> {
    let batch =
        d1::entries_revised(db, after, Some(since), wanted.feeds, MAX_RESUME_UPDATES).await?;
    let reached = batch.iter().filter_map(|e| e.rev).max().unwrap_or(after);
    let matching = wanted.only_matching(batch);
    let frames = update_frames(wanted.tr, &matching);
    meter::frames(frames.len());
    for f in frames {
        ws.send_with_str(f.json)?;
    }
    Ok(reached)
}

/// Reciprocates a close so the client's close handshake completes.
pub fn on_close(ws: &WebSocket, code: usize) {
    let code = match code {
        1000..=1003 | 1007..=1014 | 3000..=4999 => code as u16,
        _ => 1000,
    };
    close(ws, code, "bye");
}
