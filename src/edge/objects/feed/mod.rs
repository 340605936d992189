//! The FeedObject: one Durable Object per feed, a shell over `core::ingest`.
//!
//! Load, fetch, plan, store, publish; it also holds that feed's sockets. Its calls are in
//! `calls`, its plan writer in `apply`, its storage in `storage`, its WebSub subscription
//! in `websub`.

mod apply;
mod calls;
mod storage;
pub mod websub;

use std::cell::Cell;

use worker::WebSocketIncomingMessage;
use worker::{durable_object, DurableObject, Env, Request, Response, State, WebSocket};

use crate::core::ingest::{self, FeedState, RefreshReport};
use crate::edge::env::{self, now_ms as now};
use crate::edge::error::AppResult;
use crate::edge::fetcher::{fetch_feed, FetchRequest};
use crate::edge::objects::rpc;
use crate::edge::objects::wire::{FeedRequest, WebSubIn};
use crate::edge::{d1, meter, objects::sockets};
use storage::SeenTable;

#[durable_object]
pub struct FeedObject {
    state: State,
    env: Env,
    /// Serializes refreshes: a manual refresh and an alarm must not ingest at once.
    busy: Cell<bool>,
    /// Removed: a refresh still in flight must not write or re-arm anything.
    removed: Cell<bool>,
    /// Client addresses' frame budgets on this feed's sockets (a cache).
    budgets: sockets::Budgets,
    /// When it last fetched (memory only: an unchanged fetch writes nothing; the health view).
    last_fetch_at: Cell<Option<i64>>,
}

impl FeedObject {
    /// Fetch, plan, store, publish; never more than one at a time. `feed`: the state the
    /// caller has just read or written, if any (saves a storage read).
    /// `pushed`: a WebSub delivery's body, ingested as a fetched document.
    async fn refresh(
        &self,
        forced: bool,
        feed: Option<FeedState>,
        pushed: Option<Vec<u8>>,
    ) -> worker::Result<RefreshReport> {
        let loaded = match feed {
            Some(feed) => Some(feed),
            None => storage::load(&self.state).await?,
        };
        let feed = match ingest::refresh_gate(loaded, forced, self.busy.get()) {
            Ok(feed) => feed,
            Err(skipped) => return Ok(skipped),
        };
        self.busy.set(true);
        let report = self.run_refresh(feed, pushed).await;
        self.busy.set(false);
        report
    }

    async fn run_refresh(
        &self,
        feed: FeedState,
        pushed: Option<Vec<u8>>,
    ) -> worker::Result<RefreshReport> {
        let cfg = env::config(&self.env);
        let now = env::now_ms();
        self.last_fetch_at.set(Some(now));
        let fetch = match pushed {
            Some(body) => websub::as_fetched(&feed, body),
            None => fetch_feed(&FetchRequest::of(&feed, &cfg, now)).await,
        };
        let found = websub::Discovery::of(&fetch, &feed.url);
        let db = env::db(&self.env)?;
        let moved = d1::feed_move(&db, fetch.moved_to).await?;
        let seen = SeenTable {
            state: &self.state,
            with_pending: feed.work_pending,
        };
        storage::save_some(&self.state, ingest::parse_mark(&feed, &fetch.outcome)).await?;
        let sched = env::schedule_config(&self.env);
        let mut plan = ingest::plan(
            &feed,
            fetch.outcome,
            moved,
            &seen,
            now,
            &sched,
            cfg.keep(now),
        );
        plan = plan.with_carried(|| storage::pending(&self.state))?;
        let due = websub::rediscover(&self.env, &mut plan, found, now);
        let report = self.apply(plan, &db, now).await?;
        if due {
            websub::send_due(&self.state, &self.env, now).await?;
        }
        Ok(report)
    }

    /// A follow-up invocation: clean entries carried over from an earlier one (unless
    /// a refresh is running; it sets the next alarm itself).
    async fn follow_up(&self, feed: FeedState) -> worker::Result<()> {
        if self.busy.replace(true) {
            return Ok(());
        }
        let done = self.run_follow_up(feed).await;
        self.busy.set(false);
        done
    }

    async fn run_follow_up(&self, feed: FeedState) -> worker::Result<()> {
        let now = env::now_ms();
        let (loaded, more) = storage::pending(&self.state)?;
        let plan = ingest::follow_up(&feed, loaded, more, now);
        self.apply(plan, &env::db(&self.env)?, now).await?;
        Ok(())
    }
}

impl DurableObject for FeedObject {
    fn new(state: State, env: Env) -> Self {
        sockets::set_ping_auto_response(&state);
        if let Err(e) = storage::create_tables(&state) {
            worker::console_error!("feed object: cannot create its tables: {e}");
        }
        let budgets = sockets::Budgets::new(env::config(&env).rate_limits);
        Self {
            state,
            env,
            busy: Cell::new(false),
            removed: Cell::new(false),
            budgets,
            last_fetch_at: Cell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let cid = meter::cid_of(&req);
        let request = rpc::read_feed_request(&mut req).await;
        let name = request.as_ref().map_or("bad", FeedRequest::name);
        meter::invocation(&self.env, "feed", name, cid, self.serve(request)).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        meter::invocation(&self.env, "feed", "alarm", None, self.on_alarm()).await
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let frame = self.on_socket_message(ws, message);
        meter::invocation(&self.env, "feed", "socket.message", None, frame).await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> worker::Result<()> {
        sockets::on_close(&ws, code);
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        Ok(())
    }
}

/// The bodies of the object's entry points, each run inside its metered invocation.
impl FeedObject {
    /// One request to this object (its invocation is metered by `fetch`).
    async fn serve(&self, request: AppResult<FeedRequest>) -> worker::Result<Response> {
        match request {
            Ok(FeedRequest::Call(call)) => self.call(call).await,
            // A hub's call: verification of intent, or content (ingested like a poll's body;
            // an empty one, a "thin ping", fetches the feed).
            Ok(FeedRequest::WebSub(WebSubIn::Verify { token, query }, _)) => {
                websub::verify(&self.state, &self.env, &token, &query, now()).await
            }
            Ok(FeedRequest::WebSub(WebSubIn::Push { token, signature }, body)) => {
                let feed = storage::load(&self.state).await?;
                match websub::check_push(feed.as_ref(), &token, signature.as_deref(), body) {
                    Err(refused) => refused,
                    Ok(pushed) => websub::answer_push(&self.refresh(true, feed, pushed).await?),
                }
            }
            Ok(FeedRequest::Socket(ask)) => {
                let feed = storage::load(&self.state).await?.unwrap_or_default();
                let latest = (feed.pushed_upto, feed.revised_upto);
                let feeds = Some(vec![feed.feed_id]);
                sockets::accept(&self.state, feeds, latest, &ask, &self.budgets)
            }
            Err(e) => Ok(e.to_json_response()),
        }
    }

    /// The object's alarm (metered by `alarm`).
    async fn on_alarm(&self) -> worker::Result<Response> {
        let Some(mut feed) = storage::load(&self.state).await? else {
            // A removed feed's unsubscribe note has waited long enough.
            storage::forget_leaving(&self.state).await?;
            return Response::ok("no feed");
        };
        let now = env::now_ms();
        let todo = ingest::on_alarm(&feed, now);
        if todo.retry_publish {
            feed.published(rpc::rooms_publish(&self.env).await);
            storage::save(&self.state, &feed).await?;
        }
        if todo.refresh {
            self.refresh(false, Some(feed), None).await?;
        } else if todo.follow_up {
            self.follow_up(feed).await?;
        } else if todo.websub {
            websub::send_due(&self.state, &self.env, now).await?;
        } else {
            storage::arm(&self.state, feed.next_wake(now), now).await?;
        }
        Response::ok("ok")
    }

    /// One frame from a socket (metered by `websocket_message`).
    async fn on_socket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let feed = storage::load(&self.state).await?.unwrap_or_default();
        let db = env::db(&self.env)?;
        let upto = (feed.pushed_upto.max(0), feed.revised_upto.max(0));
        let object = (&self.state, &self.budgets, &self.env);
        sockets::on_message(object, &ws, message, &db, upto, Some(&[feed.feed_id])).await
    }
}
