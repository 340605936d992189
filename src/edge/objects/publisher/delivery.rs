//! The Publisher's work, one alarm at a time.
//!
//! Verify waiting intents, scan D1 for new entries, send subscribers their fat pings, ping
//! an external hub; failures are retried on the subscription's own schedule.
//!
//! Every decision (who is due, how many per host, what a ping holds, what an answer
//! means) is `core::websub::hub`'s; every request goes out through `edge::outbound`.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use futures::future::join_all;

use super::storage::{self, Changes, INTENTS, PINGS, SUBSCRIPTIONS};
use super::Publisher;
use crate::core::config::Config;
use crate::core::syndication::topics::{link_header, Topic};
use crate::core::view_models::{EntryView, FeedView};
use crate::core::websub::hub::{
    challenge_echoed, delivery_outcome, fat_ping, host_bucket, pick, topics_touched, Delivery, Job,
    Mode, Ping, Subscriber, SubscriberIntent, ENTRIES_PER_PING, IN_FLIGHT_PER_HOST,
    REQUEST_TIMEOUT_MS, ROUNDS, SUBREQUESTS,
};
use crate::core::websub::signature::sign;
use crate::edge::outbound::{Agent, Deadline, Outbound, OutboundError, Read};
use crate::edge::{d1, env};

/// Work left over (budget spent, a host's turn taken) goes on after this long.
pub(super) const CARRY_MS: i64 = 1_000;
/// Entry heads read per scan.
const SCAN_LIMIT: u32 = 500;
/// Bytes of a callback's answer read (a verification echoes a short challenge).
const ANSWER_CAP: usize = 4096;

impl Publisher {
    /// One pass: prune, verify, scan for new entries, deliver, ping, re-arm.
    pub(super) async fn run(&self) -> worker::Result<()> {
        let now = env::now_ms();
        let cfg = env::config(&self.env);
        let mut budget = SUBREQUESTS;
        let mut changes = Changes::default();
        let listed: Vec<(String, Subscriber)> = storage::list(&self.state, SUBSCRIPTIONS).await?;
        let mut subs: HashMap<String, Subscriber> = HashMap::with_capacity(listed.len());
        for (key, sub) in listed {
            // Stored before keys carried the host's bucket: moved under it, once.
            if key != sub.key() {
                changes.delete(key);
                changes.put(sub.key(), &sub);
            }
            subs.insert(sub.key(), sub);
        }
        let counted = storage::count(&self.state).await?;
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
        let mut pings: HashMap<String, Ping> = storage::list(&self.state, PINGS)
            .await?
            .into_iter()
            .collect();
        let external = cfg.websub_hub.is_some();
        let head = if subs.is_empty() && !external {
            // Nobody to tell: when someone subscribes, the scan starts at the present.
            changes.forget_head();
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
        if counted != Some(subs.len()) {
            changes.set_count(subs.len());
        }
        storage::apply(&self.state, changes).await?;
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
            storage::arm_at(&self.state, at).await?;
        }
        Ok(())
    }

    /// Verifies waiting intents (one round, a few per host): a subscribe whose challenge
    /// comes back becomes (or renews) a subscription, an unsubscribe ends one; an intent
    /// that is not confirmed is dropped. True when some had to wait.
    async fn verify(
        &self,
        cfg: &Config,
        subs: &mut HashMap<String, Subscriber>,
        changes: &mut Changes,
        budget: &mut usize,
        now: i64,
    ) -> worker::Result<bool> {
        let intents: Vec<(String, SubscriberIntent)> = storage::list(&self.state, INTENTS).await?;
        if intents.is_empty() {
            return Ok(false);
        }
        // In flight per domain, /24 or /48, as the limits count hosts.
        let buckets: Vec<String> = intents.iter().map(|(_, i)| host_bucket(&i.host)).collect();
        let jobs: Vec<Job> = buckets.iter().map(|b| Job { host: b, cost: 1 }).collect();
        // One subrequest is kept for the newest entry id a new subscription starts at.
        let chosen = pick(&jobs, IN_FLIGHT_PER_HOST, budget.saturating_sub(1));
        *budget -= chosen.len();
        // Taken off the queue before asking: a newer request for the same subscription
        // arriving meanwhile is stored afresh and verified next.
        if !chosen.is_empty() {
            let keys: Vec<String> = chosen.iter().map(|&i| intents[i].0.clone()).collect();
            storage::forget_intents(&self.state, keys).await?;
        }
        let asks = chosen.iter().map(|&i| {
            let intent = &intents[i].1;
            let challenge = uuid::Uuid::new_v4().simple().to_string();
            let url = intent.verification_url(&cfg.planet_url, &challenge);
            async move {
                let answer = send(Outbound::get(&url, Agent::WebSubHub(cfg)), cfg).await;
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
                    let sub = Subscriber::from_intent(intent, old, now, latest);
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
        subs: &mut HashMap<String, Subscriber>,
        pings: &mut HashMap<String, Ping>,
        external: bool,
        changes: &mut Changes,
        budget: &mut usize,
        now: i64,
    ) -> worker::Result<(i64, bool)> {
        let db = env::db(&self.env)?;
        let head = match storage::head(&self.state).await? {
            Some(h) => h,
            None => {
                *budget = budget.saturating_sub(1);
                let latest = d1::latest_entry_id(&db).await?;
                changes.set_head(latest);
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
        changes.set_head(last);
        Ok((last, heads.len() as u32 >= SCAN_LIMIT))
    }

    /// Sends what due subscriptions are owed, in rounds of at most a few per host, within
    /// the subrequest budget. True when some had to wait for the next invocation.
    async fn deliver(
        &self,
        cfg: &Config,
        head: i64,
        subs: &mut HashMap<String, Subscriber>,
        changes: &mut Changes,
        budget: &mut usize,
        now: i64,
    ) -> worker::Result<bool> {
        let db = env::db(&self.env)?;
        let first_retry_ms = i64::from(cfg.websub_retry_seconds) * 1000;
        let mut feeds: HashMap<i64, Option<FeedView>> = HashMap::new();
        for _round in 0..ROUNDS {
            let mut due: Vec<(&String, &Subscriber)> =
                subs.iter().filter(|(_, s)| s.due(now)).collect();
            if due.is_empty() {
                return Ok(false);
            }
            due.sort_by_key(|(k, s)| (s.next_at, (*k).clone()));
            // A ping costs its POST, its entries' query and, for a feed's topic, the feed row.
            let buckets: Vec<String> = due.iter().map(|(_, s)| host_bucket(&s.host)).collect();
            let jobs: Vec<Job> = due
                .iter()
                .zip(&buckets)
                .map(|((_, s), b)| Job {
                    host: b,
                    cost: 2 + usize::from(s.topic.feed().is_some()),
                })
                .collect();
            let chosen: Vec<(String, Subscriber)> = pick(&jobs, IN_FLIGHT_PER_HOST, *budget)
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
                    let agent = Agent::WebSubHub(cfg);
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
                    let out = Outbound::post(hub, Agent::WebSubHub(cfg), body)
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
