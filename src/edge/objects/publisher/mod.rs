//! The WebSub publisher: one Durable Object that verifies subscribers of the planet's feeds, keeps their subscriptions and pushes each new entry to them as a signed fat ping, retried by alarm; or pings the external hub `WEBSUB_HUB` names. Every decision is `core::websub::hub`'s.
//!
//! Budget: the Room pokes this object after a broadcast only while someone is subscribed
//! (or an external hub is set). The object tells the Room when that changes (a [`WebSubFlag`](crate::edge::objects::wire::WebSubFlag),
//! versioned so a late answer cannot undo a newer one), and answers every poke with it,
//! so a planet nobody subscribes to spends no Durable Object request per publish.
//! Storage is the object's key-value API: one key per subscription, pending
//! verification and external-hub ping (JSON text), the scan cursor and the flag.

use std::cell::Cell;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use futures::future::join_all;
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{durable_object, js_sys, DurableObject, Env, ListOptions, Request, Response, State};

use crate::core::config::Config;
use crate::core::view_models::{EntryView, FeedView};
use crate::core::websub::hub::{
    challenge_echoed, delivery_outcome, fat_ping, link_header, pick, topics_touched, Delivery,
    Held, Intent, Job, Mode, Ping, Subscription, Topic, ENTRIES_PER_PING, IN_FLIGHT_PER_HOST,
    REQUEST_TIMEOUT_MS, ROUNDS, SUBREQUESTS,
};
use crate::core::websub::subscriber::sign;
use crate::edge::objects::rpc;
use crate::edge::objects::wire::{PublisherRequest, WebSubFlag};
use crate::edge::outbound::{Agent, Deadline, Outbound, OutboundError, Read};
use crate::edge::{d1, env, meter};

/// Largest entry id scanned for new topics (absent: start at the newest entry).
const HEAD_KEY: &str = "head";
const FLAG_KEY: &str = "flag";
/// Work left over (budget spent, a host's turn taken) goes on after this long.
const CARRY_MS: i64 = 1_000;
/// Entry heads read per scan.
const SCAN_LIMIT: u32 = 500;
/// Bytes of a callback's answer read (a verification echoes a short challenge).
const ANSWER_CAP: usize = 4096;
/// An alarm is never set closer than this.
const MIN_ALARM_MS: i64 = 100;

#[durable_object]
pub struct Publisher {
    state: State,
    env: Env,
    running: Cell<bool>,
}

impl DurableObject for Publisher {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            running: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let request = rpc::read_publisher_request(&mut req).await;
        let name = request.as_ref().map_or("bad", PublisherRequest::name);
        meter::begin(&self.env, "publisher", name);
        match request {
            Ok(PublisherRequest::Intent(intent)) => rpc::reply(&self.take_intent(intent).await?),
            Ok(PublisherRequest::Poke) => {
                self.arm_at(env::now_ms()).await?;
                rpc::reply(&self.flag().await?)
            }
            Err(e) => Ok(e.to_json_response()),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        meter::begin(&self.env, "publisher", "alarm");
        if self.running.replace(true) {
            self.arm_at(env::now_ms() + CARRY_MS).await?;
            return Response::ok("busy");
        }
        let result = self.run().await;
        self.running.set(false);
        if let Err(e) = &result {
            worker::console_error!("websub publisher: {e}");
            // Retried by the runtime's alarm retries; nothing is lost (cursors were not moved).
        }
        result?;
        Response::ok("published")
    }
}

/// Writes one run makes, applied at its end in two calls.
#[derive(Default)]
struct Changes {
    put: BTreeMap<String, String>,
    delete: Vec<String>,
}

impl Changes {
    fn put<T: Serialize>(&mut self, key: String, value: &T) {
        if let Ok(text) = serde_json::to_string(value) {
            self.delete.retain(|k| *k != key);
            self.put.insert(key, text);
        }
    }

    fn delete(&mut self, key: String) {
        self.put.remove(&key);
        self.delete.push(key);
    }
}

impl Publisher {
    /// Checks the per-host limits and queues the verification.
    async fn take_intent(&self, intent: Intent) -> worker::Result<Result<(), String>> {
        let subs: Vec<(String, Subscription)> = self.load("sub:").await?;
        let intents: Vec<(String, Intent)> = self.load("intent:").await?;
        let held = Held {
            subs_total: subs.len(),
            subs_for_host: subs.iter().filter(|(_, s)| s.host == intent.host).count(),
            intents_for_host: intents
                .iter()
                .filter(|(k, i)| i.host == intent.host && *k != intent.key())
                .count(),
            renewal: subs.iter().any(|(k, _)| *k == intent.sub_key()),
        };
        if let Err(e) = crate::core::websub::hub::admit(&intent, &held) {
            return Ok(Err(e.to_string()));
        }
        let text = serde_json::to_string(&intent).map_err(|e| e.to_string())?;
        meter::kv("publisher.intent.put", 0, 1);
        self.state.storage().put(&intent.key(), text).await?;
        self.arm_at(env::now_ms()).await?;
        Ok(Ok(()))
    }

    /// One pass: prune, verify, scan for new entries, deliver, ping, re-arm.
    async fn run(&self) -> worker::Result<()> {
        let now = env::now_ms();
        let cfg = env::config(&self.env);
        let mut budget = SUBREQUESTS;
        let mut changes = Changes::default();
        let mut subs: HashMap<String, Subscription> =
            self.load("sub:").await?.into_iter().collect();
        // Leases end: no delivery after, and the row goes.
        let expired: Vec<String> = subs
            .iter()
            .filter(|(_, s)| s.expired(now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            subs.remove(&k);
            changes.delete(k);
        }
        let mut carry = self
            .verify(&cfg, &mut subs, &mut changes, &mut budget, now)
            .await?;
        let mut pings: HashMap<String, Ping> = self.load("ping:").await?.into_iter().collect();
        let external = cfg.websub_hub.is_some();
        let head = if subs.is_empty() && !external {
            // Nobody to tell: when someone subscribes, the scan starts at the present.
            changes.delete(HEAD_KEY.into());
            None
        } else {
            let (head, more) = self
                .scan(
                    &mut subs,
                    &mut pings,
                    external,
                    &mut changes,
                    &mut budget,
                    now,
                )
                .await?;
            carry |= more;
            Some(head)
        };
        if let Some(head) = head {
            carry |= self
                .deliver(&cfg, head, &mut subs, &mut changes, &mut budget, now)
                .await?;
        }
        match &cfg.websub_hub {
            Some(hub) => {
                carry |= self
                    .ping(&cfg, hub, &mut pings, &mut changes, &mut budget, now)
                    .await?
            }
            // The var was unset since: nothing to ping.
            None => pings.drain().for_each(|(k, _)| changes.delete(k)),
        }
        self.apply(changes).await?;
        carry |= !self.set_flag(!subs.is_empty()).await;
        let next = subs
            .values()
            .filter(|s| s.pending.is_some())
            .map(|s| s.next_at)
            .chain(pings.values().map(|p| p.next_at))
            .min();
        let next = if carry {
            Some(next.map_or(now + CARRY_MS, |n| n.min(now + CARRY_MS)))
        } else {
            next
        };
        if let Some(at) = next {
            self.arm_at(at).await?;
        }
        Ok(())
    }

    /// Verifies waiting intents (one round, a few per host): a subscribe whose challenge
    /// comes back becomes (or renews) a subscription, an unsubscribe ends one; an intent
    /// that is not confirmed is dropped. True when some had to wait.
    async fn verify(
        &self,
        cfg: &Config,
        subs: &mut HashMap<String, Subscription>,
        changes: &mut Changes,
        budget: &mut usize,
        now: i64,
    ) -> worker::Result<bool> {
        let intents: Vec<(String, Intent)> = self.load("intent:").await?;
        if intents.is_empty() {
            return Ok(false);
        }
        let jobs: Vec<Job> = intents
            .iter()
            .map(|(_, i)| Job {
                host: &i.host,
                cost: 1,
            })
            .collect();
        // One subrequest is kept for the newest entry id a new subscription starts at.
        let chosen = pick(&jobs, IN_FLIGHT_PER_HOST, budget.saturating_sub(1));
        *budget -= chosen.len();
        // Taken off the queue before asking: a newer request for the same subscription
        // arriving meanwhile is stored afresh and verified next.
        if !chosen.is_empty() {
            let keys: Vec<String> = chosen.iter().map(|&i| intents[i].0.clone()).collect();
            meter::kv("publisher.intent.delete", 0, keys.len() as u32);
            self.state.storage().delete_multiple(keys).await?;
        }
        let asks = chosen.iter().map(|&i| {
            let intent = &intents[i].1;
            let challenge = uuid::Uuid::new_v4().simple().to_string();
            let url = intent.verification_url(&cfg.planet_url, &challenge);
            async move {
                let answer =
                    send(Outbound::get(&url, Agent::WebSubHub(&cfg.planet_url)), cfg).await;
                match answer {
                    Ok((status, body)) => challenge_echoed(status, &body, &challenge),
                    Err(e) => {
                        worker::console_warn!("websub verification of {}: {e}", intent.callback);
                        false
                    }
                }
            }
        });
        let confirmed = join_all(asks).await;
        let mut latest = None;
        for (&i, ok) in chosen.iter().zip(confirmed) {
            let intent = &intents[i].1;
            match (ok, intent.mode) {
                (false, _) => {}
                (true, Mode::Subscribe) => {
                    let latest = match latest {
                        Some(l) => l,
                        None => {
                            let l = d1::latest_entry_id(&env::db(&self.env)?).await?;
                            *budget = budget.saturating_sub(1);
                            *latest.insert(l)
                        }
                    };
                    let old = subs.remove(&intent.sub_key());
                    let sub = Subscription::from_intent(intent, old, now, latest);
                    changes.put(sub.key(), &sub);
                    subs.insert(sub.key(), sub);
                }
                (true, Mode::Unsubscribe) => {
                    subs.remove(&intent.sub_key());
                    changes.delete(intent.sub_key());
                }
            }
        }
        Ok(chosen.len() < intents.len())
    }

    /// Reads the entries committed since the last scan and marks the subscriptions (and,
    /// with an external hub, the pings) of the topics they appear in. Returns the new
    /// head and whether more entries wait.
    async fn scan(
        &self,
        subs: &mut HashMap<String, Subscription>,
        pings: &mut HashMap<String, Ping>,
        external: bool,
        changes: &mut Changes,
        budget: &mut usize,
        now: i64,
    ) -> worker::Result<(i64, bool)> {
        let db = env::db(&self.env)?;
        meter::kv("publisher.head.get", 1, 0);
        // Stored as JSON text, like every value `Changes` writes.
        let stored = self.state.storage().get::<String>(HEAD_KEY).await?;
        let head = match stored.and_then(|t| serde_json::from_str::<i64>(&t).ok()) {
            Some(h) => h,
            None => {
                *budget = budget.saturating_sub(1);
                let latest = d1::latest_entry_id(&db).await?;
                changes.put(HEAD_KEY.into(), &latest);
                return Ok((latest, false));
            }
        };
        *budget = budget.saturating_sub(1);
        let heads = d1::entry_heads_after(&db, head, SCAN_LIMIT).await?;
        let Some(&(last, _)) = heads.last() else {
            return Ok((head, false));
        };
        let touched = topics_touched(&heads);
        for (key, sub) in subs.iter_mut() {
            if sub.note_new(&touched, head, now) {
                changes.put(key.clone(), sub);
            }
        }
        if external {
            for topic in touched {
                if let Entry::Vacant(slot) = pings.entry(Ping::key(topic)) {
                    let ping = Ping::new(topic, now);
                    changes.put(slot.key().clone(), &ping);
                    slot.insert(ping);
                }
            }
        }
        changes.put(HEAD_KEY.into(), &last);
        Ok((last, heads.len() as u32 >= SCAN_LIMIT))
    }

    /// Sends what due subscriptions are owed, in rounds of at most a few per host, within
    /// the subrequest budget. True when some had to wait for the next invocation.
    async fn deliver(
        &self,
        cfg: &Config,
        head: i64,
        subs: &mut HashMap<String, Subscription>,
        changes: &mut Changes,
        budget: &mut usize,
        now: i64,
    ) -> worker::Result<bool> {
        let db = env::db(&self.env)?;
        let first_retry_ms = i64::from(cfg.websub_retry_seconds) * 1000;
        let mut feeds: HashMap<i64, Option<FeedView>> = HashMap::new();
        for _round in 0..ROUNDS {
            let mut due: Vec<(&String, &Subscription)> =
                subs.iter().filter(|(_, s)| s.due(now)).collect();
            if due.is_empty() {
                return Ok(false);
            }
            due.sort_by_key(|(k, s)| (s.next_at, (*k).clone()));
            // A ping costs its POST, its entries' query and, for a feed's topic, the feed row.
            let jobs: Vec<Job> = due
                .iter()
                .map(|(_, s)| Job {
                    host: &s.host,
                    cost: 2 + usize::from(s.topic.feed().is_some()),
                })
                .collect();
            let chosen: Vec<(String, Subscription)> = pick(&jobs, IN_FLIGHT_PER_HOST, *budget)
                .into_iter()
                .map(|i| (due[i].0.clone(), due[i].1.clone()))
                .collect();
            if chosen.is_empty() {
                return Ok(true);
            }
            // Subscriptions owed the same entries of the same topic share one body.
            let mut bodies: HashMap<(Topic, i64), (String, Option<i64>, usize)> = HashMap::new();
            for (_, sub) in &chosen {
                let Some(after) = sub.pending else { continue };
                if bodies.contains_key(&(sub.topic, after)) {
                    continue;
                }
                let only = sub.topic.feed().map(|f| vec![f]);
                *budget = budget.saturating_sub(1);
                let entries: Vec<EntryView> =
                    d1::entries_between(&db, after, head, only.as_deref(), ENTRIES_PER_PING)
                        .await?;
                let feed = match sub.topic.feed() {
                    Some(id) if !entries.is_empty() => {
                        if let Entry::Vacant(slot) = feeds.entry(id) {
                            *budget = budget.saturating_sub(1);
                            slot.insert(d1::feed_by_id(&db, id).await?);
                        }
                        feeds.get(&id).cloned().flatten()
                    }
                    _ => None,
                };
                let body = fat_ping(cfg, sub.topic, &entries, feed.as_ref());
                bodies.insert(
                    (sub.topic, after),
                    (body, entries.last().map(|e| e.id), entries.len()),
                );
            }
            let sends = chosen.iter().map(|(_, sub)| {
                let owed = sub
                    .pending
                    .and_then(|after| bodies.get(&(sub.topic, after)));
                async move {
                    let Some((body, Some(last_id), n)) = owed else {
                        return Delivery::Nothing;
                    };
                    let agent = Agent::WebSubHub(&cfg.planet_url);
                    let mut out = Outbound::post(&sub.callback, agent, body.clone())
                        .header("Content-Type", sub.topic.content_type())
                        .header("Link", link_header(cfg, sub.topic));
                    if let Some(secret) = &sub.secret {
                        out = out.header("X-Hub-Signature", sign(secret, body.as_bytes()));
                    }
                    let full = *n as u32 >= ENTRIES_PER_PING;
                    match send(out, cfg).await {
                        Ok((status, _)) => delivery_outcome(status, *last_id, full),
                        Err(e) => {
                            worker::console_warn!("websub delivery to {}: {e}", sub.callback);
                            Delivery::Failed
                        }
                    }
                }
            });
            let outcomes = join_all(sends).await;
            *budget =
                budget.saturating_sub(outcomes.iter().filter(|o| **o != Delivery::Nothing).count());
            for ((key, sub), outcome) in chosen.into_iter().zip(outcomes) {
                match sub.after(outcome, now, first_retry_ms) {
                    Some(next) => {
                        changes.put(key.clone(), &next);
                        subs.insert(key, next);
                    }
                    None => {
                        worker::console_log!("websub: dropping {} ({outcome:?})", key);
                        subs.remove(&key);
                        changes.delete(key);
                    }
                }
            }
        }
        Ok(subs.values().any(|s| s.due(now)))
    }

    /// Tells the external hub which topics have new entries (`hub.mode=publish`).
    async fn ping(
        &self,
        cfg: &Config,
        hub: &str,
        pings: &mut HashMap<String, Ping>,
        changes: &mut Changes,
        budget: &mut usize,
        now: i64,
    ) -> worker::Result<bool> {
        let host = url::Url::parse(hub)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let first_retry_ms = i64::from(cfg.websub_retry_seconds) * 1000;
        let mut done = HashSet::new();
        for _round in 0..ROUNDS {
            let mut due: Vec<(String, Ping)> = pings
                .iter()
                .filter(|(k, p)| p.next_at <= now && !done.contains(*k))
                .map(|(k, p)| (k.clone(), p.clone()))
                .collect();
            if due.is_empty() {
                return Ok(false);
            }
            due.sort_by_key(|(k, p)| (p.next_at, k.clone()));
            let jobs: Vec<Job> = due
                .iter()
                .map(|_| Job {
                    host: &host,
                    cost: 1,
                })
                .collect();
            let chosen = pick(&jobs, IN_FLIGHT_PER_HOST, *budget);
            if chosen.is_empty() {
                return Ok(true);
            }
            *budget -= chosen.len();
            let sends = chosen.iter().map(|&i| {
                let body = due[i].1.body(&cfg.planet_url);
                async move {
                    let out = Outbound::post(hub, Agent::WebSubHub(&cfg.planet_url), body)
                        .header("Content-Type", "application/x-www-form-urlencoded");
                    match send(out, cfg).await {
                        Ok((status, _)) => (200..300).contains(&status),
                        Err(e) => {
                            worker::console_warn!("websub publish ping to {hub}: {e}");
                            false
                        }
                    }
                }
            });
            let results = join_all(sends).await;
            for (&i, ok) in chosen.iter().zip(results) {
                let (key, ping) = due[i].clone();
                done.insert(key.clone());
                match (ok, ping.failed(now, first_retry_ms)) {
                    (false, Some(next)) => {
                        changes.put(key.clone(), &next);
                        pings.insert(key, next);
                    }
                    _ => {
                        pings.remove(&key);
                        changes.delete(key);
                    }
                }
            }
        }
        Ok(pings.values().any(|p| p.next_at <= now))
    }

    /// Every value under `prefix`, parsed (a value that no longer parses is skipped).
    async fn load<T: DeserializeOwned>(&self, prefix: &str) -> worker::Result<Vec<(String, T)>> {
        let map = self
            .state
            .storage()
            .list_with_options(ListOptions::new().prefix(prefix))
            .await?;
        let mut out = Vec::new();
        map.for_each(&mut |value, key| {
            let (Some(key), Some(text)) = (key.as_string(), value.as_string()) else {
                return;
            };
            match serde_json::from_str(&text) {
                Ok(v) => out.push((key, v)),
                Err(e) => worker::console_warn!("websub: unreadable {key}: {e}"),
            }
        });
        meter::kv("publisher.list", out.len().max(1) as u32, 0);
        Ok(out)
    }

    async fn apply(&self, changes: Changes) -> worker::Result<()> {
        let storage = self.state.storage();
        if !changes.delete.is_empty() {
            meter::kv("publisher.delete", 0, changes.delete.len() as u32);
            storage.delete_multiple(changes.delete).await?;
        }
        if !changes.put.is_empty() {
            meter::kv("publisher.put", 0, changes.put.len() as u32);
            // A plain object of key → JSON text (serde would make a JS `Map`, which
            // `put` does not take as a set of keys).
            let values = js_sys::Object::new();
            for (key, text) in changes.put {
                js_sys::Reflect::set(&values, &key.into(), &text.into())?;
            }
            storage.put_multiple_raw(values).await?;
        }
        Ok(())
    }

    async fn flag(&self) -> worker::Result<WebSubFlag> {
        meter::kv("publisher.flag.get", 1, 0);
        Ok(self
            .state
            .storage()
            .get::<WebSubFlag>(FLAG_KEY)
            .await?
            .unwrap_or_default())
    }

    /// Records whether anyone is subscribed and, when that changed, tells the Room.
    /// False when the Room could not be told (the run tries again).
    async fn set_flag(&self, on: bool) -> bool {
        let Ok(old) = self.flag().await else {
            return false;
        };
        if old.on == on && old.version > 0 {
            return true;
        }
        let new = WebSubFlag {
            on,
            version: old.version + 1,
        };
        match rpc::room_websub_flag(&self.env, new).await {
            Ok(()) => {
                meter::kv("publisher.flag.put", 0, 1);
                self.state.storage().put(FLAG_KEY, new).await.is_ok()
            }
            Err(e) => {
                worker::console_warn!("websub: could not tell the room: {e}");
                false
            }
        }
    }

    /// Makes the alarm ring at `at` or sooner (never later than it is already set for).
    async fn arm_at(&self, at: i64) -> worker::Result<()> {
        let storage = self.state.storage();
        meter::kv("publisher.alarm.get", 1, 0);
        if storage.get_alarm().await?.is_some_and(|set| set <= at) {
            return Ok(());
        }
        meter::kv("publisher.alarm.set", 0, 1);
        storage
            .set_alarm((at - env::now_ms()).max(MIN_ALARM_MS))
            .await
    }
}

/// Sends one request to a subscriber or hub: the fetcher's SSRF policy on the URL (no
/// private address; loopback only with ALLOW_PRIVATE_FEEDS), no redirects followed, a
/// timeout, and at most a few KiB of the answer read. Returns the status and that text.
async fn send(out: Outbound<'_>, cfg: &Config) -> Result<(u16, String), String> {
    let out = out.public_only(cfg.allow_private_feeds);
    let deadline = Deadline::after(REQUEST_TIMEOUT_MS);
    let timed_out = || format!("no answer within {} s", REQUEST_TIMEOUT_MS / 1000);
    let answer = match out.send("websub.send", deadline).await {
        Ok(answer) => answer,
        Err(OutboundError::Timeout) => return Err(timed_out()),
        Err(e) => return Err(e.to_string()),
    };
    let status = answer.status();
    match answer.read(Read::Prefix(ANSWER_CAP)).await {
        Ok(text) => Ok((status, String::from_utf8_lossy(&text).into_owned())),
        // A prefix read fails only when the deadline passes.
        Err(_) => Err(timed_out()),
    }
}
