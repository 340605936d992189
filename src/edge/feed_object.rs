//! FeedObject: one Durable Object per feed. Owns fetch state and schedule (alarms), ingests, and holds that feed's sockets.

use std::cell::Cell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, query, DurableObject, Env, Method, Request, RequestInit, Response, State,
    WebSocket, WebSocketIncomingMessage,
};

use crate::core::config::Config;
use crate::core::feed::{self, FeedDoc, RawEntry, FIRST_FETCH_MAX_ENTRIES};
use crate::core::model::EntryView;
use crate::core::schedule::{self, FetchHints, FAILING_AFTER, PAUSED_AFTER};
use crate::edge::fetcher::{fetch_feed, FetchOutcome, FetchRequest};
use crate::edge::{env, hub};

const STATE_KEY: &str = "feed";
/// A failed publish to the Room is retried this soon.
const PUBLISH_RETRY_MS: i64 = 2_000;
/// How many recent publish times feed the adaptive schedule.
const RECENT_TIMES: usize = 20;

/// Durable per-feed state (DO storage; survives eviction and hibernation).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedState {
    pub feed_id: i64,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub failures: u32,
    /// active | failing | paused | gone
    pub status: String,
    pub next_fetch_at: i64,
    /// Newest entry id sent to this feed's sockets.
    pub pushed_upto: i64,
    /// The Room has not yet acknowledged our newest entries.
    pub publish_pending: bool,
    pub recent_times: Vec<i64>,
}

/// What one refresh did; returned by the refresh API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RefreshReport {
    /// ok | not_modified | failed | retry_later | gone | skipped
    pub outcome: String,
    pub new_entries: u32,
    pub updated_entries: u32,
    pub error: Option<String>,
    pub next_fetch_at: Option<i64>,
    pub status: String,
    pub url: String,
    /// Unix ms when the new entries, committed to D1, were handed to the Room
    /// (the start of publish-to-delivered; `None` when nothing was published).
    pub published_at: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct InitBody {
    feed_id: i64,
    url: String,
}

#[derive(Debug, Deserialize)]
struct SeenRow {
    identity: String,
    fingerprint: String,
    stored: i64,
}

#[durable_object]
pub struct FeedObject {
    state: State,
    env: Env,
    /// Serializes refreshes: a manual refresh and an alarm must not ingest at once.
    busy: Cell<bool>,
}

impl FeedObject {
    async fn load(&self) -> worker::Result<Option<FeedState>> {
        self.state.storage().get::<FeedState>(STATE_KEY).await
    }

    async fn save(&self, st: &FeedState) -> worker::Result<()> {
        self.state.storage().put(STATE_KEY, st).await
    }

    fn config(&self) -> Config {
        env::config(&self.env)
    }

    /// identity → (fingerprint, stored in D1?)
    fn seen(&self) -> worker::Result<HashMap<String, (String, bool)>> {
        let rows: Vec<SeenRow> = self
            .state
            .storage()
            .sql()
            .exec(
                "SELECT identity, fingerprint, entry_id IS NOT NULL AS stored FROM seen",
                None,
            )?
            .to_array()?;
        Ok(rows
            .into_iter()
            .map(|r| (r.identity, (r.fingerprint, r.stored != 0)))
            .collect())
    }

    async fn arm(&self, at: i64) -> worker::Result<()> {
        let now = env::now_ms();
        // set_alarm takes an offset from now, not a timestamp.
        self.state.storage().set_alarm((at - now).max(100)).await
    }

    /// Fetch, parse, ingest new entries, publish; never more than one at a time.
    async fn refresh(&self, forced: bool) -> worker::Result<RefreshReport> {
        if self.busy.get() {
            return Ok(RefreshReport {
                outcome: "skipped".into(),
                error: Some("a refresh is already running".into()),
                ..Default::default()
            });
        }
        self.busy.set(true);
        let r = self.refresh_inner(forced).await;
        self.busy.set(false);
        r
    }

    async fn refresh_inner(&self, forced: bool) -> worker::Result<RefreshReport> {
        let Some(mut st) = self.load().await? else {
            return Ok(RefreshReport {
                outcome: "skipped".into(),
                error: Some("this feed is not initialised".into()),
                ..Default::default()
            });
        };
        if !forced && matches!(st.status.as_str(), "paused" | "gone") {
            return Ok(report(&st, "skipped", 0, 0, None));
        }
        let cfg = self.config();
        let sched = env::schedule_config(&self.env);
        let now = env::now_ms();
        let ua = format!("Orrery/0.1 (feed aggregator; +{})", cfg.planet_url);
        let outcome = fetch_feed(&FetchRequest {
            url: &st.url,
            etag: st.etag.as_deref(),
            last_modified: st.last_modified.as_deref(),
            allow_private: cfg.allow_private_feeds,
            user_agent: &ua,
            now_ms: now,
        })
        .await;
        let db = env::db(&self.env)?;
        let seed = (st.feed_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ now as u64;
        let mut hints = FetchHints {
            recent_entry_times: st.recent_times.clone(),
            ..Default::default()
        };
        let rep = match outcome {
            FetchOutcome::NotModified {
                moved_to,
                cache_max_age_s,
            } => {
                self.accept_move(&db, &mut st, moved_to).await?;
                hints.cache_max_age_s = cache_max_age_s;
                st.failures = 0;
                st.status = "active".into();
                st.next_fetch_at = schedule::next_fetch_after_success(now, &sched, &hints, seed);
                query!(
                    &db,
                    "UPDATE feeds SET url = ?1, status = 'active', consecutive_failures = 0, last_error = NULL, \
                     last_fetch_at = ?2, last_success_at = ?2, next_fetch_at = ?3 WHERE id = ?4",
                    st.url, now, st.next_fetch_at, st.feed_id
                )?
                .run()
                .await?;
                report(&st, "not_modified", 0, 0, None)
            }
            FetchOutcome::Fetched {
                body,
                moved_to,
                final_url,
                etag,
                last_modified,
                cache_max_age_s,
            } => match feed::parse(&body, &final_url) {
                Ok(doc) => {
                    self.accept_move(&db, &mut st, moved_to).await?;
                    hints.cache_max_age_s = cache_max_age_s;
                    hints.ttl_minutes = doc.ttl_minutes;
                    st.etag = etag;
                    st.last_modified = last_modified;
                    let (new, updated, published_at) = self
                        .ingest(&db, &mut st, &doc, now, &mut hints, seed, &sched)
                        .await?;
                    RefreshReport {
                        published_at,
                        ..report(&st, "ok", new, updated, None)
                    }
                }
                Err(e) => {
                    self.fail(&db, &mut st, now, &e.to_string(), None, seed)
                        .await?
                }
            },
            FetchOutcome::RetryLater {
                status,
                retry_after_ms,
            } => {
                // Wait as told (not counted as a failure); without a Retry-After, the usual interval.
                let wait = retry_after_ms.unwrap_or(sched.default_interval_ms);
                st.next_fetch_at = now + wait.clamp(1_000, sched.max_backoff_ms);
                let msg = format!("the server asked us to come back later (HTTP {status})");
                query!(
                    &db,
                    "UPDATE feeds SET last_error = ?1, last_fetch_at = ?2, next_fetch_at = ?3 WHERE id = ?4",
                    msg, now, st.next_fetch_at, st.feed_id
                )?
                .run()
                .await?;
                report(&st, "retry_later", 0, 0, Some(msg))
            }
            FetchOutcome::Gone => {
                st.status = "gone".into();
                let msg = "the publisher removed this feed (HTTP 410 Gone)".to_string();
                query!(
                    &db,
                    "UPDATE feeds SET status = 'gone', last_error = ?1, last_fetch_at = ?2, next_fetch_at = NULL WHERE id = ?3",
                    msg, now, st.feed_id
                )?
                .run()
                .await?;
                report(&st, "gone", 0, 0, Some(msg))
            }
            FetchOutcome::Failed(e) => {
                self.fail(&db, &mut st, now, &e.to_string(), None, seed)
                    .await?
            }
        };
        self.save(&st).await?;
        if matches!(st.status.as_str(), "active" | "failing") {
            self.arm(next_wake(&st, now)).await?;
        } else {
            self.state.storage().delete_alarm().await?;
        }
        Ok(rep)
    }

    /// A permanent redirect moves the feed, unless another subscription already has
    /// that URL (the UNIQUE url would refuse it; the feed keeps working at the old one).
    async fn accept_move(
        &self,
        db: &worker::D1Database,
        st: &mut FeedState,
        moved_to: Option<String>,
    ) -> worker::Result<()> {
        if let Some(url) = moved_to {
            match crate::edge::store::feed_by_url(db, &url).await? {
                Some(other) if other.id != st.feed_id => {
                    worker::console_warn!(
                        "feed {} moved to {url}, already feed {}",
                        st.feed_id,
                        other.id
                    )
                }
                _ => st.url = url,
            }
        }
        Ok(())
    }

    async fn fail(
        &self,
        db: &worker::D1Database,
        st: &mut FeedState,
        now: i64,
        msg: &str,
        retry_after: Option<i64>,
        seed: u64,
    ) -> worker::Result<RefreshReport> {
        let sched = env::schedule_config(&self.env);
        st.failures += 1;
        st.status = if st.failures >= PAUSED_AFTER {
            "paused"
        } else if st.failures >= FAILING_AFTER {
            "failing"
        } else {
            "active"
        }
        .into();
        st.next_fetch_at =
            schedule::next_fetch_after_failure(now, &sched, st.failures, retry_after, seed);
        let next = (st.status != "paused").then_some(st.next_fetch_at);
        query!(
            db,
            "UPDATE feeds SET status = ?1, consecutive_failures = ?2, last_error = ?3, last_fetch_at = ?4, \
             next_fetch_at = ?5 WHERE id = ?6",
            st.status, st.failures, msg, now, next, st.feed_id
        )?
        .run()
        .await?;
        Ok(report(st, "failed", 0, 0, Some(msg.to_string())))
    }

    /// Writes new and changed entries in one D1 batch, then pushes the new ones.
    #[allow(clippy::too_many_arguments)]
    async fn ingest(
        &self,
        db: &worker::D1Database,
        st: &mut FeedState,
        doc: &FeedDoc,
        now: i64,
        hints: &mut FetchHints,
        seed: u64,
        sched: &schedule::ScheduleConfig,
    ) -> worker::Result<(u32, u32, Option<i64>)> {
        let seen = self.seen()?;
        // Some feeds list an entry twice: the first occurrence wins.
        let mut first = std::collections::HashSet::new();
        // Identity first: only entries not stored yet (or changed) are sanitized. An
        // identity seen but never stored (past the first-fetch cap) stays archived.
        let changed = doc
            .entries
            .iter()
            .filter(|e| first.insert(e.identity.as_str()))
            .filter(|e| match seen.get(&e.identity) {
                None => true,
                Some((fp, stored)) => *stored && *fp != e.fingerprint,
            });
        // Newest first (undated last, document order breaking ties) so the budget goes to them.
        let mut todo = feed::newest(changed, usize::MAX);
        // A first fetch stores the newest entries, not the whole archive; so does a flood.
        // The rest are remembered as seen, so they do not look new next time.
        let archived: Vec<&RawEntry> = todo.split_off(todo.len().min(FIRST_FETCH_MAX_ENTRIES));
        let sql = self.state.storage().sql();
        for raw in &archived {
            sql.exec(
                "INSERT OR REPLACE INTO seen (identity, fingerprint, entry_id, seen_at) VALUES (?, ?, NULL, ?)",
                vec![raw.identity.clone().into(), raw.fingerprint.clone().into(), now.into()],
            )?;
        }
        // Full sanitized content within a byte budget, newest first; then oldest first
        // into D1 so ids grow with publication time within a batch.
        let mut batch: Vec<(&RawEntry, feed::Entry)> = todo
            .iter()
            .copied()
            .zip(feed::clean_batch(&todo, now))
            .collect();
        batch.reverse();

        let mut stmts = Vec::with_capacity(batch.len() + 1);
        let mut cleaned = Vec::with_capacity(batch.len());
        for (raw, e) in batch {
            // Never later than when we first saw it: a future date cannot pin an entry to the top.
            let published = e.published_at.unwrap_or(now).min(now);
            stmts.push(query!(
                db,
                "INSERT INTO entries (feed_id, identity, fingerprint, url, title, author, content_html, summary, \
                   published_at, first_seen, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) \
                 ON CONFLICT (feed_id, identity) DO UPDATE SET fingerprint = excluded.fingerprint, url = excluded.url, \
                   title = excluded.title, author = excluded.author, content_html = excluded.content_html, \
                   summary = excluded.summary, updated_at = excluded.updated_at \
                 RETURNING id, first_seen",
                st.feed_id, e.identity, raw.fingerprint, e.url, e.title, e.author, e.content_html, e.summary,
                published, now
            )?);
            cleaned.push((e, raw.fingerprint.clone(), published));
        }
        for (_, _, p) in &cleaned {
            hints.recent_entry_times.push(*p);
        }
        let mut times = hints.recent_entry_times.clone();
        times.sort_unstable_by(|a, b| b.cmp(a));
        times.dedup();
        times.truncate(RECENT_TIMES);
        st.recent_times = times.clone();
        hints.recent_entry_times = times;
        st.failures = 0;
        st.status = "active".into();
        st.next_fetch_at = schedule::next_fetch_after_success(now, sched, hints, seed);
        stmts.push(query!(
            db,
            "UPDATE feeds SET url = ?1, title = ?2, site_url = ?3, description = ?4, format = ?5, etag = ?6, \
               last_modified = ?7, status = 'active', consecutive_failures = 0, last_error = NULL, \
               last_fetch_at = ?8, last_success_at = ?8, next_fetch_at = ?9, \
               entry_count = (SELECT COUNT(*) FROM entries WHERE feed_id = ?10) WHERE id = ?10",
            st.url, doc.title, doc.site_url, doc.description, doc.format.as_str(), st.etag, st.last_modified,
            now, st.next_fetch_at, st.feed_id
        )?);
        let results = db.batch(stmts).await?;

        #[derive(Deserialize)]
        struct Ret {
            id: i64,
            first_seen: i64,
        }
        let mut new_views = Vec::new();
        let mut updated = 0;
        for (res, (e, fp, published)) in results.iter().zip(cleaned) {
            let Some(ret) = res.results::<Ret>()?.into_iter().next() else {
                continue;
            };
            sql.exec(
                "INSERT OR REPLACE INTO seen (identity, fingerprint, entry_id, seen_at) VALUES (?, ?, ?, ?)",
                vec![e.identity.clone().into(), fp.into(), ret.id.into(), now.into()],
            )?;
            if ret.first_seen == now {
                new_views.push(EntryView {
                    id: ret.id,
                    feed_id: st.feed_id,
                    feed_title: if doc.title.is_empty() {
                        st.url.clone()
                    } else {
                        doc.title.clone()
                    },
                    title: e.title,
                    url: e.url,
                    author: e.author,
                    published,
                    summary: e.summary,
                    content_html: e.content_html,
                });
            } else {
                updated += 1;
            }
        }
        let new = new_views.len() as u32;
        let mut published_at = None;
        if !new_views.is_empty() {
            new_views.sort_by_key(|v| v.id);
            let frames = hub::entry_frames(&new_views);
            hub::broadcast(&self.state, &frames);
            st.pushed_upto = st.pushed_upto.max(new_views.last().map_or(0, |v| v.id));
            // Durable before the nudge: if we die mid-publish, the alarm still retries it.
            st.publish_pending = true;
            self.save(st).await?;
            published_at = Some(env::now_ms());
            self.publish(st).await?;
        }
        Ok((new, updated, published_at))
    }

    /// Nudges the Room to broadcast everything committed and records whether it did;
    /// while it has not, `publish_pending` stays set and the alarm retries.
    async fn publish(&self, st: &mut FeedState) -> worker::Result<()> {
        st.publish_pending = !matches!(self.nudge_room().await, Ok(true));
        self.save(st).await
    }

    /// Nudges every Room shard in parallel; true only when all of them broadcast.
    async fn nudge_room(&self) -> worker::Result<bool> {
        let ns = env::rooms(&self.env)?;
        let calls = (0..env::room_shards(&self.env)).map(|i| nudge_shard(&ns, i));
        let results = futures::future::join_all(calls).await;
        Ok(results.into_iter().all(|r| matches!(r, Ok(true))))
    }
}

/// The next alarm: soon while a publish is pending, else the next fetch.
fn next_wake(st: &FeedState, now: i64) -> i64 {
    if st.publish_pending {
        now + PUBLISH_RETRY_MS
    } else {
        st.next_fetch_at
    }
}

async fn nudge_shard(ns: &worker::ObjectNamespace, shard: u32) -> worker::Result<bool> {
    let stub = ns.id_from_name(&env::room_name(shard))?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    let req = Request::new_with_init("https://room/publish", &init)?;
    let resp = stub.fetch_with_request(req).await?;
    Ok(resp.status_code() == 200)
}

fn report(
    st: &FeedState,
    outcome: &str,
    new: u32,
    updated: u32,
    error: Option<String>,
) -> RefreshReport {
    RefreshReport {
        outcome: outcome.into(),
        new_entries: new,
        updated_entries: updated,
        error,
        next_fetch_at: matches!(st.status.as_str(), "active" | "failing")
            .then_some(st.next_fetch_at),
        status: st.status.clone(),
        url: st.url.clone(),
        published_at: None,
    }
}

impl DurableObject for FeedObject {
    fn new(state: State, env: Env) -> Self {
        hub::set_ping_auto_response(&state);
        // Once per instance, not per request: the dedupe memory (identity → fingerprint).
        if let Err(e) = state.storage().sql().exec(
            "CREATE TABLE IF NOT EXISTS seen (identity TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, \
             entry_id INTEGER, seen_at INTEGER NOT NULL)",
            None,
        ) {
            worker::console_error!("feed object: cannot create the seen table: {e}");
        }
        Self {
            state,
            env,
            busy: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let path = req.path();
        match path.as_str() {
            // Called once when the feed is added: remember who we are, then fetch.
            "/init" => {
                let body: InitBody = req.json().await?;
                let st = FeedState {
                    feed_id: body.feed_id,
                    url: body.url,
                    status: "active".into(),
                    ..Default::default()
                };
                self.save(&st).await?;
                Response::from_json(&self.refresh(true).await?)
            }
            // OPML import: remember who we are and fetch soon, on our own alarm.
            "/adopt" => {
                let body: InitBody = req.json().await?;
                let now = env::now_ms();
                let st = FeedState {
                    feed_id: body.feed_id,
                    url: body.url,
                    status: "active".into(),
                    next_fetch_at: now,
                    ..Default::default()
                };
                self.save(&st).await?;
                self.arm(now).await?;
                Response::ok("adopted")
            }
            "/refresh" => Response::from_json(&self.refresh(true).await?),
            // Cron's watchdog: re-arm a missing alarm, run an overdue one now.
            "/ensure" => {
                let Some(st) = self.load().await? else {
                    return Response::from_json(&serde_json::json!({"armed": false}));
                };
                if !matches!(st.status.as_str(), "active" | "failing") {
                    return Response::from_json(&serde_json::json!({"armed": false}));
                }
                let now = env::now_ms();
                let alarm = self.state.storage().get_alarm().await?;
                let overdue = alarm.is_none_or(|a| a < now - 60_000) || st.next_fetch_at <= now;
                if alarm.is_none() || overdue {
                    self.arm(st.next_fetch_at.max(now)).await?;
                }
                Response::from_json(&serde_json::json!({"armed": true}))
            }
            "/delete" => {
                self.state.storage().delete_alarm().await?;
                self.state.storage().delete_all().await?;
                for ws in self.state.get_websockets() {
                    let _ = ws.close(Some(1001), Some("feed removed"));
                }
                Response::ok("deleted")
            }
            "/ws" => {
                let st = self.load().await?.unwrap_or_default();
                hub::accept(&self.state, Some(vec![st.feed_id]), st.pushed_upto)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let Some(mut st) = self.load().await? else {
            return Response::ok("no feed");
        };
        if st.publish_pending {
            self.publish(&mut st).await?;
        }
        let now = env::now_ms();
        if st.next_fetch_at <= now + 1_000 {
            self.refresh(false).await?;
        } else {
            self.arm(next_wake(&st, now)).await?;
        }
        Response::ok("ok")
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let st = self.load().await?.unwrap_or_default();
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
