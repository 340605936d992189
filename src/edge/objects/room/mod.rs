//! A Room shard: hibernating sockets of the whole planet, broadcast in id order.
//!
//! A client's address picks its shard (`ROOM_SHARDS`); the first shard also pokes the
//! Publisher while anyone subscribes.

mod storage;

use std::cell::Cell;

use worker::{
    durable_object, DurableObject, Env, Request, Response, State, WebSocket,
    WebSocketIncomingMessage,
};

use crate::core::protocol::{
    room_entries_per_invocation, QueryBudget, ROOM_QUERIES_PER_INVOCATION,
};
use crate::edge::error::AppResult;
use crate::edge::objects::rpc;
use crate::edge::objects::wire::{RoomRequest, WebSubFlag};
use crate::edge::{d1, env, meter, objects::sockets};

/// A publish that fails is retried by alarm after this long.
const RETRY_MS: i64 = 2_000;
/// A catch-up that spent its invocation's D1 queries goes on by alarm after this long.
const CARRY_MS: i64 = 10;
/// Entries (or rewrites) one D1 query reads; `ROOM_PAGE_ENTRIES` makes it smaller, so a
/// test can make a catch-up of a few hundred entries outlast one invocation's queries.
const PAGE_ENTRIES: u32 = 200;
/// Largest id JS numbers carry exactly (D1 bindings go through JS).
const MAX_SAFE_ID: i64 = (1 << 53) - 1;

#[durable_object]
pub struct Room {
    state: State,
    env: Env,
    /// Cache of the cursor; storage is the truth (hibernation drops this).
    cursor: Cell<Option<i64>>,
    rev_cursor: Cell<Option<i64>>,
    publishing: Cell<bool>,
    again: Cell<bool>,
    /// New entries went out in this publish: the WebSub publisher may have subscribers to tell.
    fresh: Cell<bool>,
    /// Client addresses' frame budgets (a cache; see `sockets::Budgets`).
    budgets: sockets::Budgets,
}

impl Room {
    async fn cursor(&self) -> worker::Result<i64> {
        if let Some(c) = self.cursor.get() {
            return Ok(c);
        }
        let c = match storage::cursor(&self.state).await? {
            Some(c) => c,
            // A new room starts at the present: history is for `resume`, not broadcast.
            None => {
                let latest = d1::latest_entry_id(&env::db(&self.env)?).await?;
                storage::save_cursor(&self.state, latest).await?;
                latest
            }
        };
        self.cursor.set(Some(c));
        Ok(c)
    }

    /// The update cursor, like [`Room::cursor`]: a new room starts at the newest revision.
    async fn rev_cursor(&self) -> worker::Result<i64> {
        if let Some(c) = self.rev_cursor.get() {
            return Ok(c);
        }
        let c = match storage::rev_cursor(&self.state).await? {
            Some(c) => c,
            None => {
                let latest = d1::latest_rev(&env::db(&self.env)?).await?;
                storage::save_rev_cursor(&self.state, latest).await?;
                latest
            }
        };
        self.rev_cursor.set(Some(c));
        Ok(c)
    }

    /// Broadcasts every committed entry past the cursor, in id order. Concurrent
    /// calls fold into the running one, so no entry goes out twice.
    async fn publish(&self) -> worker::Result<usize> {
        if self.publishing.get() {
            self.again.set(true);
            return Ok(0);
        }
        self.publishing.set(true);
        let result = self.publish_loop().await;
        self.publishing.set(false);
        if self.fresh.take() {
            self.poke_publisher().await;
        }
        if result.is_err() {
            let _ = storage::retry_in(&self.state, RETRY_MS).await;
        }
        result
    }

    /// Pages through D1 until nothing is left, within one invocation's query budget
    /// (`ROOM_QUERIES_PER_INVOCATION`): past it, the alarm carries on from the cursor (a
    /// big import, or publishes folding in faster than the pages go out).
    async fn publish_loop(&self) -> worker::Result<usize> {
        let mut budget = QueryBudget::new(ROOM_QUERIES_PER_INVOCATION);
        let sent = self.publish_pages(&mut budget).await;
        meter::count("room.publish.d1_queries", budget.spent());
        let (sent, carried) = sent?;
        meter::frames(sent);
        if carried {
            storage::retry_in(&self.state, CARRY_MS).await?;
        }
        Ok(sent)
    }

    /// Broadcasts pages of new entries, then of rewrites, until none is left (false) or
    /// the budget is spent (true: there may be more): D1 queries, and entries × sockets
    /// (`core::protocol::room_entries_per_invocation`, the CPU of one invocation).
    async fn publish_pages(&self, budget: &mut QueryBudget) -> worker::Result<(usize, bool)> {
        let db = env::db(&self.env)?;
        let page = self
            .env
            .var("ROOM_PAGE_ENTRIES")
            .ok()
            .and_then(|v| v.to_string().trim().parse::<u32>().ok())
            .map_or(PAGE_ENTRIES, |p| p.clamp(1, PAGE_ENTRIES));
        // Entries × sockets within one invocation's CPU: with many sockets, fewer entries.
        let mut left = room_entries_per_invocation(self.state.get_websockets().len());
        let mut sent = 0;
        loop {
            self.again.set(false);
            let cursor = self.cursor().await?;
            if left == 0 || !budget.spend() {
                return Ok((sent, true));
            }
            let entries =
                d1::entries_between(&db, cursor, MAX_SAFE_ID, None, page.min(left)).await?;
            left = left.saturating_sub(entries.len() as u32);
            if let Some(last) = entries.last() {
                let frames = sockets::entry_frames(env::lang(&self.env), &entries);
                sent += sockets::broadcast(&self.state, &frames);
                self.fresh.set(true);
                storage::save_cursor(&self.state, last.id).await?;
                self.cursor.set(Some(last.id));
                continue;
            }
            // Then rewrites (after the new entries, so a reader has an entry before its update).
            let rev = self.rev_cursor().await?;
            if left == 0 || !budget.spend() {
                return Ok((sent, true));
            }
            let revised = d1::entries_revised(&db, rev, None, None, page.min(left)).await?;
            left = left.saturating_sub(revised.len() as u32);
            if let Some(last) = revised.iter().filter_map(|e| e.rev).max() {
                sent += sockets::broadcast_updates(
                    &self.state,
                    &sockets::update_frames(env::lang(&self.env), &revised),
                );
                storage::save_rev_cursor(&self.state, last).await?;
                self.rev_cursor.set(Some(last));
                continue;
            }
            if !self.again.get() {
                return Ok((sent, false));
            }
        }
    }

    /// After a broadcast of new entries: poke the Publisher, if anyone is subscribed or an
    /// external hub is set. Only the first shard does (every shard broadcasts the same
    /// entries); a failure is logged, never the broadcast's.
    async fn poke_publisher(&self) {
        let first = env::room_name(0);
        if self.state.id().name().is_some_and(|n| n != first) {
            return;
        }
        meter::kv("room.websub_flag.get", 1, 0);
        let flag = storage::websub_flag(&self.state).await;
        if env::config(&self.env).websub_hub.is_none() && flag.is_some_and(|f| !f.on) {
            return;
        }
        match rpc::publisher_poke(&self.env).await {
            Ok(flag) => self.keep_websub_flag(flag).await,
            Err(e) => worker::console_warn!("websub: poking the publisher failed: {e}"),
        }
    }

    /// Keeps the newest flag the Room heard of (an older answer arriving late is ignored).
    async fn keep_websub_flag(&self, flag: WebSubFlag) {
        let old = storage::websub_flag(&self.state).await;
        if old.is_none_or(|o| o.version <= flag.version && o != flag) {
            meter::kv("room.websub_flag.put", 0, 1);
            if let Err(e) = storage::save_websub_flag(&self.state, flag).await {
                worker::console_warn!("websub: keeping the flag failed: {e}");
            }
        }
    }
}

impl DurableObject for Room {
    fn new(state: State, env: Env) -> Self {
        sockets::set_ping_auto_response(&state);
        let budgets = sockets::Budgets::new(env::config(&env).rate_limits);
        Self {
            state,
            env,
            cursor: Cell::new(None),
            rev_cursor: Cell::new(None),
            publishing: Cell::new(false),
            again: Cell::new(false),
            fresh: Cell::new(false),
            budgets,
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let cid = meter::cid_of(&req);
        let request = rpc::read_room_request(&mut req).await;
        let name = request.as_ref().map_or("bad", RoomRequest::name);
        meter::invocation(&self.env, "room", name, cid, self.serve(request)).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        meter::invocation(&self.env, "room", "alarm", None, self.on_alarm()).await
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let frame = self.on_socket_message(ws, message);
        meter::invocation(&self.env, "room", "socket.message", None, frame).await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        sockets::on_close(&ws, code);
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        Ok(())
    }
}

/// The bodies of the object's entry points, each run inside its metered invocation.
impl Room {
    /// One request to this object (its invocation is metered by `fetch`).
    async fn serve(&self, request: AppResult<RoomRequest>) -> worker::Result<Response> {
        match request {
            Ok(RoomRequest::Socket { feeds, ask }) => {
                let latest = (self.cursor().await?, self.rev_cursor().await?);
                sockets::accept(&self.state, feeds, latest, &ask, &self.budgets)
            }
            Ok(RoomRequest::Publish) => rpc::reply(&self.publish().await?),
            Ok(RoomRequest::WebSubFlag(flag)) => {
                self.keep_websub_flag(flag).await;
                rpc::reply(&flag)
            }
            Err(e) => Ok(e.to_json_response()),
        }
    }

    /// The object's alarm (metered by `alarm`).
    async fn on_alarm(&self) -> worker::Result<Response> {
        self.publish().await?;
        Response::ok("published")
    }

    /// One frame from a socket (metered by `websocket_message`).
    async fn on_socket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let upto = (self.cursor().await?, self.rev_cursor().await?);
        let db = env::db(&self.env)?;
        let object = (&self.state, &self.budgets, &self.env);
        sockets::on_message(object, &ws, message, &db, upto, None).await
    }
}
