//! What each subscriber is owed and sent: fat pings, retries with backoff, external pings.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::SubscriberIntent;
use crate::core::config::Config;
use crate::core::syndication::topics::Topic;
use crate::core::view_models::{EntryView, FeedView};

/// Entries in one fat ping; more go in the next (a ping of ten long posts, about 200 KiB,
/// takes about 2 ms to build and sign natively).
pub const ENTRIES_PER_PING: u32 = 10;
/// A subscriber failing for this long is dropped (it may subscribe again): three days.
pub const GIVE_UP_AFTER_MS: i64 = 3 * 86_400_000;
/// The longest wait between two retries.
pub const MAX_RETRY_MS: i64 = 6 * 3_600_000;

/// A verified subscriber: one callback's subscription to one topic, its lease and what
/// it is still owed (stored by the Publisher under [`Subscriber::key`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    pub topic: Topic,
    pub callback: String,
    pub host: String,
    pub secret: Option<String>,
    pub lease_seconds: i64,
    /// Unix ms: no delivery at or after this; the row is pruned.
    pub expires_at: i64,
    /// The newest entry id when it was verified: nothing older is ever sent to it.
    pub since: i64,
    /// Entries of its topic after this id (up to the hub's head) wait to be sent.
    pub pending: Option<i64>,
    /// Failed deliveries in a row, and since when.
    pub failures: u32,
    pub failing_since: Option<i64>,
    /// Unix ms of the next attempt (a retry waits for it).
    pub next_at: i64,
}

impl Subscriber {
    /// A verified intent as a subscription: a renewal keeps what the old one still owed.
    pub fn from_intent(
        intent: &SubscriberIntent,
        old: Option<Subscriber>,
        now: i64,
        latest_id: i64,
    ) -> Self {
        let expires_at = now + intent.lease_seconds * 1000;
        match old {
            Some(old) => Subscriber {
                secret: intent.secret.clone(),
                lease_seconds: intent.lease_seconds,
                expires_at,
                ..old
            },
            None => Subscriber {
                topic: intent.topic,
                callback: intent.callback.clone(),
                host: intent.host.clone(),
                secret: intent.secret.clone(),
                lease_seconds: intent.lease_seconds,
                expires_at,
                since: latest_id,
                pending: None,
                failures: 0,
                failing_since: None,
                next_at: now,
            },
        }
    }

    pub fn key(&self) -> String {
        super::sub_key(self.topic, &self.callback, &self.host)
    }

    pub fn expired(&self, now: i64) -> bool {
        self.expires_at <= now
    }

    /// New entries arrived on its topics (`touched`, the hub's head having been
    /// `head_before`): it owes them from there. True when it changed.
    pub fn note_new(&mut self, touched: &BTreeSet<Topic>, head_before: i64, now: i64) -> bool {
        if self.pending.is_some() || !touched.contains(&self.topic) {
            return false;
        }
        self.pending = Some(head_before.max(self.since));
        if self.failures == 0 {
            self.next_at = now;
        }
        true
    }

    /// Whether a delivery is due now.
    pub fn due(&self, now: i64) -> bool {
        self.pending.is_some() && self.next_at <= now && !self.expired(now)
    }

    /// Applies a delivery's outcome. `None`: drop the subscription.
    pub fn after(mut self, outcome: Delivery, now: i64, first_retry_ms: i64) -> Option<Self> {
        match outcome {
            Delivery::Sent { last_id, full } => {
                // A full ping may have left more: the next one goes at once.
                self.pending = full.then_some(last_id);
                self.failures = 0;
                self.failing_since = None;
                self.next_at = now;
                Some(self)
            }
            Delivery::Nothing => {
                self.pending = None;
                Some(self)
            }
            Delivery::Gone => None,
            Delivery::Failed => {
                let (since, tries, next) = (
                    &mut self.failing_since,
                    &mut self.failures,
                    &mut self.next_at,
                );
                back_off(since, tries, next, now, first_retry_ms).then_some(self)
            }
        }
    }
}

/// What came of one fat ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// 2xx: entries up to `last_id` were taken; `full` when the ping held as many as one may.
    Sent { last_id: i64, full: bool },
    /// Nothing of its topic was left to send.
    Nothing,
    /// 410: the subscriber says the subscription is gone.
    Gone,
    /// Anything else (network error, timeout, another status, a refused address).
    Failed,
}

/// What a callback's answer to a fat ping means.
pub fn delivery_outcome(status: u16, last_id: i64, full: bool) -> Delivery {
    match status {
        200..=299 => Delivery::Sent { last_id, full },
        410 => Delivery::Gone,
        _ => Delivery::Failed,
    }
}

/// The wait before retry number `failures` (1 = the first retry): `first_ms`, then four
/// times longer each time, at most [`MAX_RETRY_MS`]. With the default first retry of a
/// minute: 1 min, 4 min, 16 min, 64 min, 4 h 16 min, then every 6 h, until
/// [`GIVE_UP_AFTER_MS`] (three days: about 14 tries) ends the subscription.
pub fn retry_delay_ms(failures: u32, first_ms: i64) -> i64 {
    let exp = failures.saturating_sub(1).min(20);
    first_ms
        .max(1)
        .saturating_mul(4_i64.saturating_pow(exp))
        .min(MAX_RETRY_MS)
}

/// A publish notification owed to an external hub (`WEBSUB_HUB`) for one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    pub topic: Topic,
    pub failures: u32,
    pub failing_since: Option<i64>,
    pub next_at: i64,
}

impl Ping {
    pub fn new(topic: Topic, now: i64) -> Self {
        Ping {
            topic,
            failures: 0,
            failing_since: None,
            next_at: now,
        }
    }

    pub fn key(topic: Topic) -> String {
        format!("ping:{}", topic.path())
    }

    /// After a failed ping: retry later, or `None` after [`GIVE_UP_AFTER_MS`] of failures.
    pub fn failed(mut self, now: i64, first_retry_ms: i64) -> Option<Self> {
        let (since, tries, next) = (
            &mut self.failing_since,
            &mut self.failures,
            &mut self.next_at,
        );
        back_off(since, tries, next, now, first_retry_ms).then_some(self)
    }

    /// The form body of the notification (`hub.mode=publish&hub.url=<topic>`).
    pub fn body(&self, planet_url: &str) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hub.mode", "publish")
            .append_pair("hub.url", &self.topic.url(planet_url))
            .finish()
    }
}

/// The topics new entries `(id, feed id)` appear in: the planet's Atom and RSS, and
/// each of their feeds' own Atom.
pub fn topics_touched(entries: &[(i64, i64)]) -> BTreeSet<Topic> {
    let mut topics = BTreeSet::new();
    if !entries.is_empty() {
        topics.insert(Topic::PlanetAtom);
        topics.insert(Topic::PlanetRss);
    }
    topics.extend(entries.iter().map(|(_, feed)| Topic::FeedAtom(*feed)));
    topics
}

/// The body of a fat ping: the topic's document holding only `entries` (oldest first,
/// as a feed lists newest first they are reversed). `feed` is the topic's feed, for a
/// feed's own Atom.
pub fn fat_ping(
    cfg: &Config,
    topic: Topic,
    entries: &[EntryView],
    feed: Option<&FeedView>,
) -> String {
    use crate::core::syndication;
    let newest_first: Vec<EntryView> = entries.iter().rev().cloned().collect();
    match (topic, feed) {
        (Topic::PlanetRss, _) => syndication::rss(cfg, &newest_first),
        (Topic::FeedAtom(_), Some(feed)) => syndication::feed_atom(cfg, feed, &newest_first),
        _ => syndication::atom(cfg, &newest_first),
    }
    .into_string()
}

/// Counts one more failure and sets the next try after the backoff; `false` once failures
/// have lasted [`GIVE_UP_AFTER_MS`] (the caller drops what failed).
fn back_off(
    failing_since: &mut Option<i64>,
    failures: &mut u32,
    next_at: &mut i64,
    now: i64,
    first_retry_ms: i64,
) -> bool {
    let since = failing_since.unwrap_or(now);
    if now - since >= GIVE_UP_AFTER_MS {
        return false;
    }
    *failures = failures.saturating_add(1);
    *failing_since = Some(since);
    *next_at = now + retry_delay_ms(*failures, first_retry_ms);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::websub::hub::tests::{ask, PLANET};

    #[test]
    fn a_subscription_owes_only_what_came_after_it() {
        let i = ask(&[("hub.lease_seconds", "3600")]).unwrap();
        let mut s = Subscriber::from_intent(&i, None, 1_000, 50);
        assert_eq!(s.expires_at, 1_000 + 3_600_000);
        assert!(!s.due(1_000));
        let touched = topics_touched(&[(40, 1), (51, 2)]);
        assert!(s.note_new(&touched, 40, 2_000));
        // Entries up to 50 were there when it was verified: it owes from 50.
        assert_eq!(s.pending, Some(50));
        assert!(s.due(2_000));
        // Already owing: a second batch changes nothing (the head moves on for it).
        assert!(!s.note_new(&touched, 60, 2_500));
        // A feed's topic is touched only by its entries.
        let mut f = Subscriber::from_intent(
            &ask(&[("hub.topic", "https://planet.example/feeds/3/feed.atom")]).unwrap(),
            None,
            0,
            0,
        );
        assert!(!f.note_new(&touched, 40, 2_000));
        assert!(f.note_new(&topics_touched(&[(70, 3)]), 69, 2_000));
        assert_eq!(f.pending, Some(69));
        // No delivery after the lease.
        assert!(!s.due(s.expires_at));
        assert!(s.expired(s.expires_at));
    }

    #[test]
    fn renewal_keeps_what_is_owed_and_extends_the_lease() {
        let i = ask(&[("hub.lease_seconds", "3600"), ("hub.secret", "a")]).unwrap();
        let mut old = Subscriber::from_intent(&i, None, 0, 10);
        old.pending = Some(12);
        let j = ask(&[("hub.lease_seconds", "7200"), ("hub.secret", "b")]).unwrap();
        let new = Subscriber::from_intent(&j, Some(old), 100, 99);
        assert_eq!(new.pending, Some(12));
        assert_eq!(new.since, 10);
        assert_eq!(new.expires_at, 100 + 7_200_000);
        assert_eq!(new.secret.as_deref(), Some("b"));
    }

    #[test]
    fn backoff_grows_then_gives_up_after_three_days() {
        assert_eq!(retry_delay_ms(1, 60_000), 60_000);
        assert_eq!(retry_delay_ms(2, 60_000), 240_000);
        assert_eq!(retry_delay_ms(3, 60_000), 960_000);
        assert_eq!(retry_delay_ms(9, 60_000), MAX_RETRY_MS);
        assert_eq!(retry_delay_ms(u32::MAX, 60_000), MAX_RETRY_MS);
        assert_eq!(retry_delay_ms(1, 1_000), 1_000);
        let mut s = Subscriber::from_intent(&ask(&[]).unwrap(), None, 0, 0);
        s.pending = Some(0);
        let mut now = 0;
        let mut tries = 0;
        let dropped_at = loop {
            match s.clone().after(Delivery::Failed, now, 60_000) {
                Some(next) => {
                    assert!(next.next_at > now);
                    assert_eq!(next.pending, Some(0), "nothing is lost while retrying");
                    now = next.next_at;
                    s = next;
                    tries += 1;
                }
                None => break now,
            }
        };
        assert!(dropped_at >= GIVE_UP_AFTER_MS);
        assert!((10..=20).contains(&tries), "{tries} tries");
        // A success in between starts over.
        let mut s = Subscriber::from_intent(&ask(&[]).unwrap(), None, 0, 0);
        s.pending = Some(0);
        let s = s.after(Delivery::Failed, 0, 1_000).unwrap();
        assert_eq!((s.failures, s.next_at), (1, 1_000));
        let s = s
            .after(
                Delivery::Sent {
                    last_id: 9,
                    full: false,
                },
                1_000,
                1_000,
            )
            .unwrap();
        assert_eq!((s.failures, s.failing_since, s.pending), (0, None, None));
        // A full ping leaves the rest owed, sent at once.
        let mut t = s.clone();
        t.pending = Some(9);
        let t = t
            .after(
                Delivery::Sent {
                    last_id: 29,
                    full: true,
                },
                5,
                1_000,
            )
            .unwrap();
        assert_eq!((t.pending, t.next_at), (Some(29), 5));
        // 410 ends it.
        assert_eq!(t.after(Delivery::Gone, 6, 1_000), None);
    }

    #[test]
    fn delivery_outcomes() {
        assert_eq!(
            delivery_outcome(202, 4, false),
            Delivery::Sent {
                last_id: 4,
                full: false
            }
        );
        assert_eq!(delivery_outcome(410, 4, false), Delivery::Gone);
        for s in [301, 404, 429, 500, 503] {
            assert_eq!(delivery_outcome(s, 4, false), Delivery::Failed);
        }
    }

    #[test]
    fn external_hub_pings() {
        let p = Ping::new(Topic::FeedAtom(4), 0);
        assert_eq!(
            p.body(PLANET),
            "hub.mode=publish&hub.url=https%3A%2F%2Fplanet.example%2Ffeeds%2F4%2Ffeed.atom"
        );
        let p = p.failed(0, 1_000).unwrap();
        assert_eq!((p.failures, p.next_at), (1, 1_000));
        let mut late = p.clone();
        late.failing_since = Some(0);
        assert_eq!(late.failed(GIVE_UP_AFTER_MS, 1_000), None);
        assert_ne!(Ping::key(Topic::PlanetAtom), Ping::key(Topic::PlanetRss));
    }

    fn entry(id: i64, feed: i64, title: &str) -> EntryView {
        EntryView {
            id,
            feed_id: feed,
            feed_title: format!("Feed {feed}"),
            feed_face: None,
            title: title.into(),
            url: Some(format!("https://f{feed}.example/{id}")),
            author: None,
            published: id * 1000,
            summary: String::new(),
            content_html: "<p>body &amp; more</p>".into(),
            whole: true,
            rev: None,
            day_rank: None,
            local_offset_ms: 0,
            same_as: None,
            also: Vec::new(),
        }
    }

    #[test]
    fn fat_pings_carry_only_the_new_entries_with_hub_and_self() {
        let cfg = Config {
            planet_url: PLANET.into(),
            ..Config::default()
        };
        let new = [entry(7, 1, "Seven <b>"), entry(8, 2, "Eight")];
        let atom = fat_ping(&cfg, Topic::PlanetAtom, &new, None);
        assert_eq!(atom.matches("<entry>").count(), 2);
        assert!(atom.contains("Seven &lt;b&gt;"));
        // Newest first, as the documents list them.
        assert!(atom.find("Eight").unwrap() < atom.find("Seven").unwrap());
        assert!(atom.contains(r#"<link rel="hub" href="https://planet.example/websub">"#));
        assert!(atom.contains(r#"<link rel="self" href="https://planet.example/feed.atom">"#));
        let rss = fat_ping(&cfg, Topic::PlanetRss, &new, None);
        assert_eq!(rss.matches("<item>").count(), 2);
        assert!(rss.contains(r#"rel="hub" href="https://planet.example/websub">"#));
        assert!(rss.contains(r#"<rss version="2.0">"#));
        assert_eq!(
            rss.matches(r#"<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="#)
                .count(),
            2
        );
        assert!(rss.contains(
            r#"rel="self" type="application/rss+xml" href="https://planet.example/feed.rss""#
        ));
    }
}
