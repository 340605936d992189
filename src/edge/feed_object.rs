//! FeedObject: one Durable Object per feed, a shell over `core::ingest`: load, fetch, plan, store, publish; it also holds that feed's sockets.

use std::cell::Cell;

use worker::{durable_object, DurableObject, Env, Request, Response, State, WebSocket};
use worker::{D1Database, WebSocketIncomingMessage};

use crate::core::ingest::{self, FeedState, Plan, PlatformTrouble, RefreshReport, Wake};
use crate::edge::env::{self, now_ms as now};
use crate::edge::feed_storage::{self as storage, SeenTable};
use crate::edge::feed_websub::{self, WebSubIn};
use crate::edge::fetcher::{fetch_feed, FetchRequest};
use crate::edge::rpc::{self, FeedCall, FeedRequest};
use crate::edge::{hub, meter, store};

#[durable_object]
pub struct FeedObject {
    state: State,
    env: Env,
    /// Serializes refreshes: a manual refresh and an alarm must not ingest at once.
    busy: Cell<bool>,
    /// Removed: a refresh still in flight must not write or re-arm anything.
    removed: Cell<bool>,
}

impl FeedObject {
    /// Fetch, plan, store, publish; never more than one at a time. `st`: the state the
    /// caller has just read or written, if any (saves a storage read).
    /// `pushed`: a WebSub delivery's body, ingested as a fetched document.
    async fn refresh(
        &self,
        forced: bool,
        st: Option<FeedState>,
        pushed: Option<Vec<u8>>,
    ) -> worker::Result<RefreshReport> {
        let loaded = match st {
            Some(st) => Some(st),
            None => storage::load(&self.state).await?,
        };
        let st = match ingest::refresh_gate(loaded, forced, self.busy.get()) {
            Ok(st) => st,
            Err(skipped) => return Ok(skipped),
        };
        self.busy.set(true);
        let r = self.run_refresh(st, pushed).await;
        self.busy.set(false);
        r
    }

    async fn run_refresh(
        &self,
        st: FeedState,
        pushed: Option<Vec<u8>>,
    ) -> worker::Result<RefreshReport> {
        let cfg = env::config(&self.env);
        let now = env::now_ms();
        let fetch = match pushed {
            Some(body) => feed_websub::as_fetched(&st, body),
            None => fetch_feed(&FetchRequest::of(&st, &cfg, now)).await,
        };
        let found = feed_websub::Discovery::of(&fetch, &st.url);
        let db = env::db(&self.env)?;
        let moved = store::feed_move(&db, fetch.moved_to).await?;
        let seen = SeenTable {
            state: &self.state,
            with_pending: st.work_pending,
        };
        storage::save_some(&self.state, ingest::parse_mark(&st, &fetch.outcome)).await?;
        let sched = env::schedule_config(&self.env);
        let mut plan = ingest::plan(&st, fetch.outcome, moved, &seen, now, &sched, cfg.keep(now));
        plan = plan.with_carried(|| storage::pending(&self.state))?;
        let due = feed_websub::rediscover(&self.env, &mut plan, found, now);
        let report = self.apply(plan, &db, now).await?;
        if due {
            feed_websub::send_due(&self.state, &self.env, now).await?;
        }
        Ok(report)
    }

    /// A follow-up invocation: clean entries carried over from an earlier one (unless
    /// a refresh is running; it sets the next alarm itself).
    async fn follow_up(&self, st: FeedState) -> worker::Result<()> {
        if self.busy.replace(true) {
            return Ok(());
        }
        let r = self.run_follow_up(st).await;
        self.busy.set(false);
        r
    }

    async fn run_follow_up(&self, st: FeedState) -> worker::Result<()> {
        let now = env::now_ms();
        let (loaded, more) = storage::pending(&self.state)?;
        let plan = ingest::follow_up(&st, loaded, more, now);
        self.apply(plan, &env::db(&self.env)?, now).await?;
        Ok(())
    }

    /// Writes a plan: the D1 batch first (if the platform refuses it, the refresh is held
    /// and nothing else is written), then seen and carried rows, the state if it changed;
    /// then publishes new entries and sets the alarm.
    async fn apply(
        &self,
        mut plan: Plan,
        db: &D1Database,
        now: i64,
    ) -> worker::Result<RefreshReport> {
        if self.removed.get() {
            return Ok(RefreshReport::removed());
        }
        if let Some(w) = &plan.warning {
            worker::console_warn!("{w}");
        }
        let max = env::config(&self.env).retention_max_entries;
        let written =
            store::refresh_apply(db, plan.feed_row.as_ref(), &plan.entries, now, max).await;
        let stored = match written {
            Ok(stored) => stored,
            // The platform refused the write (a daily limit, an outage): hold, losing nothing.
            Err(e) => {
                let trouble = PlatformTrouble::of(&e.to_string());
                worker::console_error!("feed {}: D1 refused the refresh: {e}", plan.state.feed_id);
                let (report, at) = ingest::held(plan.before(), trouble, now);
                storage::save(&self.state, plan.before()).await?; // unmarks a parse ahead
                storage::arm(&self.state, Wake::At(at), now).await?;
                return Ok(report);
            }
        };
        let settled = plan.settle(&stored);
        storage::write_plan(&self.state, &mut plan, &settled.seen, now)?;
        let (mut st, mut report) = (plan.state.clone(), plan.report.clone());
        // Durable before anyone is told: if we die mid-publish, the alarm retries it.
        if plan.state_changed() {
            storage::save(&self.state, &st).await?;
        }
        if !settled.new_entries.is_empty() || !settled.updated.is_empty() {
            hub::broadcast(&self.state, &hub::entry_frames(&settled.new_entries));
            hub::broadcast_updates(&self.state, &hub::update_frames(&settled.updated));
            report.published_at = Some(env::now_ms());
            st.published(rpc::rooms_publish(&self.env).await); // retried by alarm until true
            storage::save(&self.state, &st).await?;
        }
        storage::arm(&self.state, st.next_wake(now), now).await?;
        Ok(report)
    }

    async fn call(&self, call: FeedCall) -> worker::Result<Response> {
        let now = env::now_ms();
        match call {
            FeedCall::Init { feed_id, url } => {
                let st = FeedState::new(feed_id, &url);
                storage::save(&self.state, &st).await?;
                rpc::reply(&self.refresh(true, Some(st), None).await?)
            }
            FeedCall::Refresh => rpc::reply(&self.refresh(true, None, None).await?),
            FeedCall::Ensure(a) => rpc::reply(&storage::ensure(&self.state, a, now).await?),
            FeedCall::Change { change } => {
                let busy = self.busy.get();
                rpc::reply(&storage::change(&self.state, change, busy, now).await?)
            }
            FeedCall::Delete => {
                self.removed.set(true);
                let st = storage::load(&self.state).await?;
                storage::wipe(&self.state).await?;
                feed_websub::leave(&self.state, &self.env, st.as_ref()).await?;
                hub::close_all(&self.state, 1001, "feed removed");
                rpc::reply(&())
            }
        }
    }
}

impl DurableObject for FeedObject {
    fn new(state: State, env: Env) -> Self {
        hub::set_ping_auto_response(&state);
        if let Err(e) = storage::create_tables(&state) {
            worker::console_error!("feed object: cannot create its tables: {e}");
        }
        Self {
            state,
            env,
            busy: Cell::new(false),
            removed: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let request = FeedRequest::read(&mut req).await;
        meter::begin(&self.env, "feed", &rpc::describe_feed(&request));
        match request {
            Ok(FeedRequest::Call(call)) => self.call(call).await,
            // A hub's call: verification of intent, or content (ingested like a poll's body;
            // an empty one, a "thin ping", fetches the feed).
            Ok(FeedRequest::WebSub(WebSubIn::Verify { token, query }, _)) => {
                feed_websub::verify(&self.state, &self.env, &token, &query, now()).await
            }
            Ok(FeedRequest::WebSub(WebSubIn::Push { token, signature }, body)) => {
                let st = storage::load(&self.state).await?;
                match feed_websub::check_push(st.as_ref(), &token, signature.as_deref(), body) {
                    Err(refused) => refused,
                    Ok(pushed) => feed_websub::answer_push(&self.refresh(true, st, pushed).await?),
                }
            }
            Ok(FeedRequest::Socket(ask)) => {
                let st = storage::load(&self.state).await?.unwrap_or_default();
                let latest = (st.pushed_upto, st.revised_upto);
                hub::accept(&self.state, Some(vec![st.feed_id]), latest, &ask)
            }
            Err(e) => Ok(e.to_json_response()),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        meter::begin(&self.env, "feed", "alarm");
        let Some(mut st) = storage::load(&self.state).await? else {
            // A removed feed's unsubscribe note has waited long enough.
            self.state.storage().delete_all().await?;
            return Response::ok("no feed");
        };
        let now = env::now_ms();
        let todo = ingest::on_alarm(&st, now);
        if todo.retry_publish {
            st.published(rpc::rooms_publish(&self.env).await);
            storage::save(&self.state, &st).await?;
        }
        if todo.refresh {
            self.refresh(false, Some(st), None).await?;
        } else if todo.follow_up {
            self.follow_up(st).await?;
        } else if todo.websub {
            feed_websub::send_due(&self.state, &self.env, now).await?;
        } else {
            storage::arm(&self.state, st.next_wake(now), now).await?;
        }
        Response::ok("ok")
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        meter::begin(&self.env, "feed", "socket.message");
        let st = storage::load(&self.state).await?.unwrap_or_default();
        let db = env::db(&self.env)?;
        let upto = st.pushed_upto.max(0);
        hub::on_message(&ws, message, &db, upto, Some(&[st.feed_id])).await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> worker::Result<()> {
        hub::on_close(&ws, code);
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        Ok(())
    }
}
