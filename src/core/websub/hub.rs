//! Orrery as a WebSub hub for its own feeds (W3C WebSub, 2018): which topics exist, what a subscription request may ask, leases, retries and per-host limits, and what each subscriber is sent. Pure; the `Publisher` Durable Object applies it.
//!
//! Topics are the planet's Atom and RSS and each feed's own Atom. A subscription is
//! verified (the hub GETs the callback with a challenge it must echo) before it counts;
//! each new entry then goes to it as a fat ping (the topic's document holding only the
//! new entries), signed when it has a secret, retried with exponential backoff, and the
//! subscription is dropped after [`GIVE_UP_AFTER_MS`] of failures or when its lease ends.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::config::Config;
use crate::core::fetch::{check_url, PolicyError};
use crate::core::view_models::{EntryView, FeedView};

/// `hub.secret` must be shorter than this many bytes (the spec's limit).
pub const MAX_SECRET_BYTES: usize = 200;
/// Longest callback URL accepted (it is stored, and sent back in every request).
pub const MAX_CALLBACK_BYTES: usize = 1024;
/// A lease when the subscriber asks for none: ten days.
pub const DEFAULT_LEASE_S: i64 = 10 * 86_400;
/// Shortest lease granted (a shorter ask is raised to it): five minutes.
pub const MIN_LEASE_S: i64 = 300;
/// Longest lease granted (a longer ask is lowered to it): thirty days.
pub const MAX_LEASE_S: i64 = 30 * 86_400;
/// Requests to one callback host in flight at once, so the hub cannot be aimed at a server.
pub const IN_FLIGHT_PER_HOST: usize = 2;
/// Rounds of requests one invocation makes at most (so one host gets at most
/// `IN_FLIGHT_PER_HOST * ROUNDS` requests per invocation).
pub const ROUNDS: usize = 4;
/// Subrequests (fetches and D1 queries) one invocation spends at most (Free plan: 50).
pub const SUBREQUESTS: usize = 40;
/// Subscriptions one callback host may hold, across topics and callbacks.
pub const SUBSCRIPTIONS_PER_HOST: usize = 20;
/// Verifications waiting for one callback host at once.
pub const INTENTS_PER_HOST: usize = 5;
/// Subscriptions the hub holds in all.
pub const MAX_SUBSCRIPTIONS: usize = 1000;
/// Entries in one fat ping; more go in the next (a ping of ten long posts, about 200 KiB,
/// takes about 2 ms to build and sign natively).
pub const ENTRIES_PER_PING: u32 = 10;
/// A subscriber failing for this long is dropped (it may subscribe again): three days.
pub const GIVE_UP_AFTER_MS: i64 = 3 * 86_400_000;
/// The longest wait between two retries.
pub const MAX_RETRY_MS: i64 = 6 * 3_600_000;
/// How long one outbound request may take.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// What can be subscribed to: the planet's Atom and RSS, and each feed's own Atom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    PlanetAtom,
    PlanetRss,
    FeedAtom(i64),
}

impl Topic {
    /// The topic's path on the planet.
    pub fn path(self) -> String {
        match self {
            Topic::PlanetAtom => "/feed.atom".into(),
            Topic::PlanetRss => "/feed.rss".into(),
            Topic::FeedAtom(id) => format!("/feeds/{id}/feed.atom"),
        }
    }

    /// The topic URL (`hub.topic`, and the document's `rel="self"`).
    pub fn url(self, planet_url: &str) -> String {
        format!("{}{}", planet_url.trim_end_matches('/'), self.path())
    }

    /// A `hub.topic` as one of ours: an absolute URL under `planet_url` naming a topic
    /// path (no query or fragment). Whether a feed's id exists is the store's question.
    pub fn from_url(planet_url: &str, raw: &str) -> Option<Topic> {
        let base = planet_url.trim_end_matches('/');
        let path = raw.trim().strip_prefix(base)?;
        match path.split('/').skip(1).collect::<Vec<_>>().as_slice() {
            ["feed.atom"] if path.starts_with('/') => Some(Topic::PlanetAtom),
            ["feed.rss"] if path.starts_with('/') => Some(Topic::PlanetRss),
            ["feeds", n, "feed.atom"] if path.starts_with('/') => {
                let ok = !n.is_empty() && n.len() <= 18 && n.bytes().all(|b| b.is_ascii_digit());
                ok.then(|| n.parse().ok())
                    .flatten()
                    .filter(|id| *id > 0)
                    .map(Topic::FeedAtom)
            }
            _ => None,
        }
    }

    /// The `Content-Type` of the topic's documents (and of its fat pings).
    pub fn content_type(self) -> &'static str {
        match self {
            Topic::PlanetRss => "application/rss+xml; charset=utf-8",
            _ => "application/atom+xml; charset=utf-8",
        }
    }

    /// The one feed whose entries this topic carries (`None`: every feed's).
    pub fn feed(self) -> Option<i64> {
        match self {
            Topic::FeedAtom(id) => Some(id),
            _ => None,
        }
    }
}

/// The hub the planet's documents advertise: `WEBSUB_HUB` when set, else our own `/websub`.
pub fn hub_url(cfg: &Config) -> String {
    cfg.websub_hub
        .clone()
        .unwrap_or_else(|| format!("{}/websub", cfg.planet_url))
}

/// The HTTP `Link` header of a topic's documents and fat pings (WebSub discovery).
pub fn link_header(cfg: &Config, topic: Topic) -> String {
    format!(
        "<{}>; rel=\"hub\", <{}>; rel=\"self\"",
        hub_url(cfg),
        topic.url(&cfg.planet_url)
    )
}

/// `hub.mode` of a subscriber's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Subscribe,
    Unsubscribe,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A valid subscription request, waiting for its intent to be verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub mode: Mode,
    pub topic: Topic,
    pub callback: String,
    /// The callback's host: what the per-host limits count.
    pub host: String,
    /// The lease granted (already clamped).
    pub lease_seconds: i64,
    pub secret: Option<String>,
}

impl Intent {
    /// The storage key of this intent (one per topic and callback: a newer request replaces it).
    pub fn key(&self) -> String {
        format!("intent:{}", pair_key(self.topic, &self.callback))
    }

    /// The storage key of the subscription it makes or ends.
    pub fn sub_key(&self) -> String {
        format!("sub:{}", pair_key(self.topic, &self.callback))
    }

    /// The verification GET: the callback with `hub.mode`, `hub.topic`, `hub.challenge`
    /// and (subscribing) `hub.lease_seconds` added to its own query.
    pub fn verification_url(&self, planet_url: &str, challenge: &str) -> String {
        let mut url = match url::Url::parse(&self.callback) {
            Ok(u) => u,
            Err(_) => return self.callback.clone(),
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("hub.mode", self.mode.as_str());
            q.append_pair("hub.topic", &self.topic.url(planet_url));
            q.append_pair("hub.challenge", challenge);
            if self.mode == Mode::Subscribe {
                q.append_pair("hub.lease_seconds", &self.lease_seconds.to_string());
            }
        }
        url.to_string()
    }
}

/// A short stable name for a (topic, callback) pair, fit for a storage key.
fn pair_key(topic: Topic, callback: &str) -> String {
    let digest = Sha256::new()
        .chain_update(topic.path().as_bytes())
        .chain_update(b"\n")
        .chain_update(callback.as_bytes())
        .finalize();
    crate::core::codec::hex_encode(&digest[..16])
}

/// Why a subscription request is refused (each a 4xx with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    #[error("hub.mode must be subscribe or unsubscribe, not {0:?}")]
    Mode(String),
    #[error("hub.mode is missing")]
    MissingMode,
    #[error("hub.topic is missing")]
    MissingTopic,
    #[error("{0:?} is not a topic of this hub: subscribe to {1}/feed.atom, {1}/feed.rss or {1}/feeds/{{id}}/feed.atom")]
    UnknownTopic(String, String),
    #[error("hub.callback is missing")]
    MissingCallback,
    #[error("hub.callback is longer than {MAX_CALLBACK_BYTES} bytes")]
    CallbackTooLong,
    #[error("hub.callback refused: {0}")]
    Callback(PolicyError),
    #[error("hub.callback must not carry a fragment")]
    CallbackFragment,
    #[error("hub.secret must be shorter than {MAX_SECRET_BYTES} bytes")]
    SecretTooLong,
    #[error("hub.lease_seconds must be a positive whole number of seconds, not {0:?}")]
    Lease(String),
    #[error("{0} is given more than once")]
    Repeated(&'static str),
    #[error("{0}")]
    Limit(String),
}

/// Reads a subscriber's form (`application/x-www-form-urlencoded` pairs). Topics are
/// checked against `planet_url`; callbacks go through the fetcher's SSRF policy (a
/// private address is refused unless `allow_private` lets loopback through, as for feeds).
pub fn parse_request(
    pairs: &[(String, String)],
    planet_url: &str,
    allow_private: bool,
) -> Result<Intent, HubError> {
    let one = |name: &'static str| -> Result<Option<&str>, HubError> {
        let mut found = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = found.next();
        if found.next().is_some() {
            return Err(HubError::Repeated(name));
        }
        Ok(first.map(String::as_str))
    };
    let mode = match one("hub.mode")?.map(str::trim) {
        None | Some("") => return Err(HubError::MissingMode),
        Some("subscribe") => Mode::Subscribe,
        Some("unsubscribe") => Mode::Unsubscribe,
        Some(other) => return Err(HubError::Mode(other.chars().take(40).collect())),
    };
    let topic_raw = one("hub.topic")?
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(HubError::MissingTopic)?;
    let topic = Topic::from_url(planet_url, topic_raw).ok_or_else(|| {
        HubError::UnknownTopic(
            topic_raw.chars().take(200).collect(),
            planet_url.trim_end_matches('/').to_string(),
        )
    })?;
    let callback = one("hub.callback")?
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or(HubError::MissingCallback)?;
    if callback.len() > MAX_CALLBACK_BYTES {
        return Err(HubError::CallbackTooLong);
    }
    let url = check_url(callback, allow_private).map_err(HubError::Callback)?;
    if url.fragment().is_some() {
        return Err(HubError::CallbackFragment);
    }
    let secret = one("hub.secret")?.filter(|s| !s.is_empty());
    if secret.is_some_and(|s| s.len() >= MAX_SECRET_BYTES) {
        return Err(HubError::SecretTooLong);
    }
    let lease = match one("hub.lease_seconds")?.map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| HubError::Lease(v.chars().take(20).collect()))?,
        ),
    };
    Ok(Intent {
        mode,
        topic,
        host: url.host_str().unwrap_or_default().to_ascii_lowercase(),
        callback: url.to_string(),
        lease_seconds: clamp_lease(lease),
        secret: secret.map(str::to_string),
    })
}

/// The lease the hub grants for an ask: the default without one, else within bounds.
pub fn clamp_lease(asked: Option<i64>) -> i64 {
    asked.map_or(DEFAULT_LEASE_S, |s| s.clamp(MIN_LEASE_S, MAX_LEASE_S))
}

/// Whether the hub takes one more intent for `intent.host`, given what it holds.
/// Unsubscribing is always taken (it can only lower the load).
pub fn admit(intent: &Intent, held: &Held) -> Result<(), HubError> {
    if intent.mode == Mode::Unsubscribe {
        return Ok(());
    }
    if held.intents_for_host >= INTENTS_PER_HOST {
        return Err(HubError::Limit(format!(
            "{} already has {INTENTS_PER_HOST} subscriptions waiting for verification; \
             answer those first",
            intent.host
        )));
    }
    if !held.renewal && held.subs_for_host >= SUBSCRIPTIONS_PER_HOST {
        return Err(HubError::Limit(format!(
            "{} holds {SUBSCRIPTIONS_PER_HOST} subscriptions, the most one host may",
            intent.host
        )));
    }
    if !held.renewal && held.subs_total >= MAX_SUBSCRIPTIONS {
        return Err(HubError::Limit(format!(
            "this hub holds {MAX_SUBSCRIPTIONS} subscriptions, the most it takes"
        )));
    }
    Ok(())
}

/// What the hub holds that [`admit`] weighs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held {
    pub subs_total: usize,
    pub subs_for_host: usize,
    pub intents_for_host: usize,
    /// The same topic and callback is subscribed already (a renewal adds nothing).
    pub renewal: bool,
}

/// Whether a verification answer confirms the intent: a 2xx whose body is the challenge.
pub fn challenge_echoed(status: u16, body: &str, challenge: &str) -> bool {
    (200..300).contains(&status) && body.trim() == challenge
}

/// A verified subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
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

impl Subscription {
    /// A verified intent as a subscription: a renewal keeps what the old one still owed.
    pub fn from_intent(
        intent: &Intent,
        old: Option<Subscription>,
        now: i64,
        latest_id: i64,
    ) -> Self {
        let expires_at = now + intent.lease_seconds * 1000;
        match old {
            Some(old) => Subscription {
                secret: intent.secret.clone(),
                lease_seconds: intent.lease_seconds,
                expires_at,
                ..old
            },
            None => Subscription {
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
        format!("sub:{}", pair_key(self.topic, &self.callback))
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

/// One job of a round, as [`pick`] weighs it: its host and the subrequests it costs.
pub struct Job<'a> {
    pub host: &'a str,
    pub cost: usize,
}

/// Which jobs go in one round: in order, at most `per_host` per host and at most
/// `budget` subrequests in all. The rest wait for the next round or invocation.
pub fn pick(jobs: &[Job<'_>], per_host: usize, budget: usize) -> Vec<usize> {
    let mut taken = Vec::new();
    let mut hosts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut spent = 0;
    for (i, job) in jobs.iter().enumerate() {
        let n = hosts.entry(job.host).or_default();
        if *n >= per_host || spent + job.cost > budget {
            continue;
        }
        *n += 1;
        spent += job.cost;
        taken.push(i);
    }
    taken
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

    const PLANET: &str = "https://planet.example";

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ask(extra: &[(&str, &str)]) -> Result<Intent, HubError> {
        let mut pairs = vec![
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://planet.example/feed.atom"),
            ("hub.callback", "https://reader.example/push?x=1"),
        ];
        for (k, v) in extra {
            pairs.retain(|(pk, _)| pk != k);
            pairs.push((k, v));
        }
        parse_request(&form(&pairs), PLANET, false)
    }

    #[test]
    fn topics_are_the_planets_feeds_and_each_feeds_atom() {
        assert_eq!(
            Topic::from_url(PLANET, "https://planet.example/feed.atom"),
            Some(Topic::PlanetAtom)
        );
        assert_eq!(
            Topic::from_url("https://planet.example/", "https://planet.example/feed.rss"),
            Some(Topic::PlanetRss)
        );
        assert_eq!(
            Topic::from_url(PLANET, "https://planet.example/feeds/12/feed.atom"),
            Some(Topic::FeedAtom(12))
        );
        for bad in [
            "https://planet.example/feed.rss10",
            "https://planet.example/feeds/0/feed.atom",
            "https://planet.example/feeds/-1/feed.atom",
            "https://planet.example/feeds/x/feed.atom",
            "https://planet.example/feed.atom?x=1",
            "https://planet.example.evil/feed.atom",
            "https://other.example/feed.atom",
            "http://planet.example/feed.atom",
            "/feed.atom",
        ] {
            assert_eq!(Topic::from_url(PLANET, bad), None, "{bad}");
        }
        for t in [Topic::PlanetAtom, Topic::PlanetRss, Topic::FeedAtom(7)] {
            assert_eq!(Topic::from_url(PLANET, &t.url(PLANET)), Some(t));
        }
        assert_eq!(Topic::FeedAtom(3).feed(), Some(3));
        assert_eq!(Topic::PlanetAtom.feed(), None);
        assert!(Topic::PlanetRss
            .content_type()
            .starts_with("application/rss+xml"));
    }

    #[test]
    fn a_good_request_is_read_whole() {
        let i = ask(&[("hub.secret", "s3cret"), ("hub.lease_seconds", "3600")]).unwrap();
        assert_eq!(i.mode, Mode::Subscribe);
        assert_eq!(i.topic, Topic::PlanetAtom);
        assert_eq!(i.callback, "https://reader.example/push?x=1");
        assert_eq!(i.host, "reader.example");
        assert_eq!(i.lease_seconds, 3600);
        assert_eq!(i.secret.as_deref(), Some("s3cret"));
        let u = ask(&[("hub.mode", "unsubscribe")]).unwrap();
        assert_eq!(u.mode, Mode::Unsubscribe);
        assert_eq!(u.lease_seconds, DEFAULT_LEASE_S);
        assert_eq!(u.secret, None);
    }

    #[test]
    fn bad_requests_say_why() {
        let long = "s".repeat(MAX_SECRET_BYTES);
        let long_cb = format!("https://r.example/{}", "a".repeat(MAX_CALLBACK_BYTES));
        type Case<'a> = (Vec<(&'a str, &'a str)>, fn(&HubError) -> bool);
        let cases: Vec<Case> = vec![
            (vec![("hub.mode", "publish")], |e| {
                matches!(e, HubError::Mode(_))
            }),
            (vec![("hub.mode", "")], |e| {
                matches!(e, HubError::MissingMode)
            }),
            (vec![("hub.topic", "")], |e| {
                matches!(e, HubError::MissingTopic)
            }),
            (vec![("hub.topic", "https://x.example/feed")], |e| {
                matches!(e, HubError::UnknownTopic(..))
            }),
            (vec![("hub.callback", "")], |e| {
                matches!(e, HubError::MissingCallback)
            }),
            (vec![("hub.callback", "ftp://r.example/x")], |e| {
                matches!(e, HubError::Callback(PolicyError::Scheme(_)))
            }),
            (vec![("hub.callback", "http://127.0.0.1:9/cb")], |e| {
                matches!(e, HubError::Callback(PolicyError::Private(_)))
            }),
            (vec![("hub.callback", "http://10.0.0.1/cb")], |e| {
                matches!(e, HubError::Callback(PolicyError::Private(_)))
            }),
            (vec![("hub.callback", "https://u:p@r.example/cb")], |e| {
                matches!(e, HubError::Callback(PolicyError::Credentials))
            }),
            (vec![("hub.callback", "https://r.example/cb#frag")], |e| {
                matches!(e, HubError::CallbackFragment)
            }),
            (vec![("hub.callback", &long_cb)], |e| {
                matches!(e, HubError::CallbackTooLong)
            }),
            (vec![("hub.secret", &long)], |e| {
                matches!(e, HubError::SecretTooLong)
            }),
            (vec![("hub.lease_seconds", "soon")], |e| {
                matches!(e, HubError::Lease(_))
            }),
            (vec![("hub.lease_seconds", "-5")], |e| {
                matches!(e, HubError::Lease(_))
            }),
        ];
        for (extra, want) in cases {
            let e = ask(&extra).unwrap_err();
            assert!(want(&e), "{extra:?} gave {e:?}");
            assert!(!e.to_string().is_empty());
        }
        // A secret just under the limit is fine.
        assert!(ask(&[("hub.secret", &long[1..])]).is_ok());
        // The same field twice is ambiguous.
        let mut pairs = form(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://planet.example/feed.atom"),
            ("hub.callback", "https://a.example/"),
            ("hub.callback", "https://b.example/"),
        ]);
        assert_eq!(
            parse_request(&pairs, PLANET, false),
            Err(HubError::Repeated("hub.callback"))
        );
        pairs.pop();
        assert!(parse_request(&pairs, PLANET, false).is_ok());
    }

    #[test]
    fn loopback_callbacks_only_where_private_feeds_are_allowed() {
        let pairs = form(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://planet.example/feed.rss"),
            ("hub.callback", "http://127.0.0.1:9999/cb"),
        ]);
        assert!(parse_request(&pairs, PLANET, false).is_err());
        assert_eq!(
            parse_request(&pairs, PLANET, true).unwrap().topic,
            Topic::PlanetRss
        );
        // Other private ranges stay refused even then.
        let lan = form(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://planet.example/feed.rss"),
            ("hub.callback", "http://192.168.1.2/cb"),
        ]);
        assert!(parse_request(&lan, PLANET, true).is_err());
    }

    #[test]
    fn leases_are_clamped() {
        assert_eq!(clamp_lease(None), DEFAULT_LEASE_S);
        assert_eq!(clamp_lease(Some(1)), MIN_LEASE_S);
        assert_eq!(clamp_lease(Some(86_400)), 86_400);
        assert_eq!(clamp_lease(Some(i64::MAX)), MAX_LEASE_S);
        assert_eq!(
            ask(&[("hub.lease_seconds", "99999999999")])
                .unwrap()
                .lease_seconds,
            MAX_LEASE_S
        );
    }

    #[test]
    fn per_host_and_total_limits() {
        let i = ask(&[]).unwrap();
        assert!(admit(&i, &Held::default()).is_ok());
        let full_host = Held {
            subs_for_host: SUBSCRIPTIONS_PER_HOST,
            subs_total: SUBSCRIPTIONS_PER_HOST,
            ..Held::default()
        };
        assert!(matches!(admit(&i, &full_host), Err(HubError::Limit(_))));
        // A renewal of a subscription it holds is fine; unsubscribing always is.
        assert!(admit(
            &i,
            &Held {
                renewal: true,
                ..full_host
            }
        )
        .is_ok());
        let unsub = ask(&[("hub.mode", "unsubscribe")]).unwrap();
        assert!(admit(&unsub, &full_host).is_ok());
        let waiting = Held {
            intents_for_host: INTENTS_PER_HOST,
            ..Held::default()
        };
        assert!(matches!(admit(&i, &waiting), Err(HubError::Limit(_))));
        let full = Held {
            subs_total: MAX_SUBSCRIPTIONS,
            ..Held::default()
        };
        assert!(matches!(admit(&i, &full), Err(HubError::Limit(_))));
    }

    #[test]
    fn verification_asks_with_a_challenge_and_wants_it_back() {
        let i = ask(&[("hub.lease_seconds", "3600")]).unwrap();
        let url = url::Url::parse(&i.verification_url(PLANET, "abc")).unwrap();
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            q,
            [
                ("x", "1"),
                ("hub.mode", "subscribe"),
                ("hub.topic", "https://planet.example/feed.atom"),
                ("hub.challenge", "abc"),
                ("hub.lease_seconds", "3600"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let u = ask(&[("hub.mode", "unsubscribe")]).unwrap();
        assert!(!u.verification_url(PLANET, "c").contains("lease"));
        assert!(challenge_echoed(200, "abc\n", "abc"));
        assert!(challenge_echoed(204, "abc", "abc"));
        assert!(!challenge_echoed(200, "", "abc"));
        assert!(!challenge_echoed(200, "abcd", "abc"));
        assert!(!challenge_echoed(404, "abc", "abc"));
        assert!(!challenge_echoed(302, "abc", "abc"));
    }

    #[test]
    fn keys_are_per_topic_and_callback() {
        let a = ask(&[]).unwrap();
        let b = ask(&[("hub.topic", "https://planet.example/feed.rss")]).unwrap();
        assert_ne!(a.sub_key(), b.sub_key());
        assert_eq!(a.sub_key(), ask(&[]).unwrap().sub_key());
        assert!(a.key().starts_with("intent:") && a.sub_key().starts_with("sub:"));
        let s = Subscription::from_intent(&a, None, 0, 5);
        assert_eq!(s.key(), a.sub_key());
    }

    #[test]
    fn a_subscription_owes_only_what_came_after_it() {
        let i = ask(&[("hub.lease_seconds", "3600")]).unwrap();
        let mut s = Subscription::from_intent(&i, None, 1_000, 50);
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
        let mut f = Subscription::from_intent(
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
        let mut old = Subscription::from_intent(&i, None, 0, 10);
        old.pending = Some(12);
        let j = ask(&[("hub.lease_seconds", "7200"), ("hub.secret", "b")]).unwrap();
        let new = Subscription::from_intent(&j, Some(old), 100, 99);
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
        let mut s = Subscription::from_intent(&ask(&[]).unwrap(), None, 0, 0);
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
        let mut s = Subscription::from_intent(&ask(&[]).unwrap(), None, 0, 0);
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
    fn rounds_respect_hosts_and_the_subrequest_budget() {
        let jobs: Vec<Job> = ["a", "a", "a", "b", "a", "c"]
            .iter()
            .map(|h| Job { host: h, cost: 2 })
            .collect();
        assert_eq!(pick(&jobs, 2, 40), vec![0, 1, 3, 5]);
        assert_eq!(pick(&jobs, 2, 5), vec![0, 1]);
        assert_eq!(pick(&jobs, 1, 40), vec![0, 3, 5]);
        assert!(pick(&jobs, 2, 1).is_empty());
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

    #[test]
    fn the_hub_advertised_and_the_link_header() {
        let mut cfg = Config {
            planet_url: PLANET.into(),
            ..Config::default()
        };
        assert_eq!(hub_url(&cfg), "https://planet.example/websub");
        assert_eq!(
            link_header(&cfg, Topic::FeedAtom(2)),
            "<https://planet.example/websub>; rel=\"hub\", \
             <https://planet.example/feeds/2/feed.atom>; rel=\"self\""
        );
        cfg.websub_hub = Some("https://hub.example/".into());
        assert_eq!(hub_url(&cfg), "https://hub.example/");
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
