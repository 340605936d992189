//! Orrery as a WebSub hub for its own feeds: subscription requests and the leases granted.
//!
//! Pure; the `Publisher` Durable Object applies it. Topics are the planet's Atom and RSS
//! and each feed's own Atom (`syndication::topics`). A subscription request is read here
//! ([`parse_request`]) and verified (the hub GETs the callback with a challenge it must
//! echo) before it counts; [`limits`] caps what one host may hold and what one invocation
//! spends; [`delivery`] sends each new entry as a fat ping (the topic's document holding
//! only the new entries), signed when it has a secret, retried with exponential backoff,
//! and drops the subscriber after [`GIVE_UP_AFTER_MS`] of failures or when its lease ends.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::fetch::{check_url, OwnOrigins, PolicyError};
use crate::core::syndication::topics::Topic;

pub mod delivery;
pub mod limits;

pub use delivery::{
    delivery_outcome, fat_ping, retry_delay_ms, topics_touched, Delivery, Ping, Subscriber,
    ENTRIES_PER_PING, GIVE_UP_AFTER_MS, MAX_RETRY_MS,
};
pub use limits::{
    admit, host_bucket, pick, Held, Job, INTENTS_PER_HOST, IN_FLIGHT_PER_HOST, MAX_INTENTS,
    MAX_SUBSCRIPTIONS, REQUEST_TIMEOUT_MS, ROUNDS, SUBREQUESTS, SUBSCRIPTIONS_PER_HOST,
};

/// `hub.secret` must be shorter than this many bytes (the spec's limit).
pub const MAX_SECRET_BYTES: usize = 200;
/// Longest callback URL accepted (it is stored, and sent back in every request).
pub const MAX_CALLBACK_BYTES: usize = 1024;
/// A lease when the subscriber asks for none: ten days.
pub const GRANTED_LEASE_DEFAULT_S: i64 = 10 * 86_400;
/// Shortest lease granted (a shorter ask is raised to it): five minutes.
pub const GRANTED_LEASE_MIN_S: i64 = 300;
/// Longest lease granted (a longer ask is lowered to it): thirty days.
pub const GRANTED_LEASE_MAX_S: i64 = 30 * 86_400;

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
pub struct SubscriberIntent {
    pub mode: Mode,
    pub topic: Topic,
    pub callback: String,
    /// The callback's host: what the per-host limits count.
    pub host: String,
    /// The lease granted (already clamped).
    pub lease_seconds: i64,
    pub secret: Option<String>,
}

impl SubscriberIntent {
    /// The storage key of this intent (one per topic and callback: a newer request replaces
    /// it), under its host's bucket ([`bucket_prefix`]).
    pub fn key(&self) -> String {
        format!(
            "{}{}",
            bucket_prefix("intent:", &self.host),
            pair_key(self.topic, &self.callback)
        )
    }

    /// The storage key of the subscription it makes or ends.
    pub fn sub_key(&self) -> String {
        sub_key(self.topic, &self.callback, &self.host)
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

/// Where the keys of one callback domain start (`sub:` or `intent:`, its [`host_bucket`],
/// `|`): the hub lists one domain's keys, not every key, to weigh a request.
pub fn bucket_prefix(kind: &str, host: &str) -> String {
    format!("{kind}{}|", host_bucket(host))
}

/// The storage key of a subscription of `callback` (on `host`) to `topic`.
pub fn sub_key(topic: Topic, callback: &str, host: &str) -> String {
    format!(
        "{}{}",
        bucket_prefix("sub:", host),
        pair_key(topic, callback)
    )
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
/// private address is refused unless `allow_private` lets loopback through, as for feeds)
/// and are never on the planet itself (`own`, under any spelling): the hub pinging the
/// planet's own callbacks would feed its entries back into it, forever.
pub fn parse_request(
    pairs: &[(String, String)],
    planet_url: &str,
    own: &OwnOrigins,
    allow_private: bool,
) -> Result<SubscriberIntent, HubError> {
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
    if own.contains(&url) {
        return Err(HubError::Callback(PolicyError::OwnPlanet(url.to_string())));
    }
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
    Ok(SubscriberIntent {
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
    asked.map_or(GRANTED_LEASE_DEFAULT_S, |s| {
        s.clamp(GRANTED_LEASE_MIN_S, GRANTED_LEASE_MAX_S)
    })
}

/// Whether a verification answer confirms the intent: a 2xx whose body is the challenge.
pub fn challenge_echoed(status: u16, body: &str, challenge: &str) -> bool {
    (200..300).contains(&status) && body.trim() == challenge
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const PLANET: &str = "https://planet.example";

    pub(super) fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub(super) fn ask(extra: &[(&str, &str)]) -> Result<SubscriberIntent, HubError> {
        let mut pairs = vec![
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://planet.example/feed.atom"),
            ("hub.callback", "https://reader.example/push?x=1"),
        ];
        for (k, v) in extra {
            pairs.retain(|(pk, _)| pk != k);
            pairs.push((k, v));
        }
        parse_request(&form(&pairs), PLANET, &own(), false)
    }

    pub(super) fn own() -> OwnOrigins {
        OwnOrigins::new(PLANET, &["orrery.me.workers.dev".into()])
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
        assert_eq!(u.lease_seconds, GRANTED_LEASE_DEFAULT_S);
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
            parse_request(&pairs, PLANET, &own(), false),
            Err(HubError::Repeated("hub.callback"))
        );
        pairs.pop();
        assert!(parse_request(&pairs, PLANET, &own(), false).is_ok());
    }

    #[test]
    fn loopback_callbacks_only_where_private_feeds_are_allowed() {
        let pairs = form(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://planet.example/feed.rss"),
            ("hub.callback", "http://127.0.0.1:9999/cb"),
        ]);
        assert!(parse_request(&pairs, PLANET, &own(), false).is_err());
        assert_eq!(
            parse_request(&pairs, PLANET, &own(), true).unwrap().topic,
            Topic::PlanetRss
        );
        // Other private ranges stay refused even then.
        let lan = form(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", "https://planet.example/feed.rss"),
            ("hub.callback", "http://192.168.1.2/cb"),
        ]);
        assert!(parse_request(&lan, PLANET, &own(), true).is_err());
    }

    #[test]
    fn callbacks_on_the_planet_itself_are_refused_under_every_name() {
        for cb in [
            "https://planet.example/websub/1/x.y",
            "http://planet.example/websub/1/x.y",
            "https://PLANET.example./websub/1/x.y",
            "https://planet.example:8443/cb",
            "https://orrery.me.workers.dev/websub/1/x.y",
        ] {
            assert!(
                matches!(
                    ask(&[("hub.callback", cb)]),
                    Err(HubError::Callback(PolicyError::OwnPlanet(_)))
                ),
                "{cb}"
            );
        }
        // Local dev: loopback is allowed, but not the planet's own port on any loopback name.
        let dev = OwnOrigins::new("http://127.0.0.1:8787", &[]);
        let pairs = |cb: &str| {
            form(&[
                ("hub.mode", "subscribe"),
                ("hub.topic", "http://127.0.0.1:8787/feed.atom"),
                ("hub.callback", cb),
            ])
        };
        for cb in [
            "http://localhost:8787/websub/1/x.y",
            "https://127.0.0.1:8787/x",
        ] {
            assert!(parse_request(&pairs(cb), "http://127.0.0.1:8787", &dev, true).is_err());
        }
        assert!(parse_request(
            &pairs("http://127.0.0.1:9/cb"),
            "http://127.0.0.1:8787",
            &dev,
            true
        )
        .is_ok());
    }

    #[test]
    fn leases_are_clamped() {
        assert_eq!(clamp_lease(None), GRANTED_LEASE_DEFAULT_S);
        assert_eq!(clamp_lease(Some(1)), GRANTED_LEASE_MIN_S);
        assert_eq!(clamp_lease(Some(86_400)), 86_400);
        assert_eq!(clamp_lease(Some(i64::MAX)), GRANTED_LEASE_MAX_S);
        assert_eq!(
            ask(&[("hub.lease_seconds", "99999999999")])
                .unwrap()
                .lease_seconds,
            GRANTED_LEASE_MAX_S
        );
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
        assert!(a.key().starts_with("intent:reader.example|"));
        assert!(a.sub_key().starts_with("sub:reader.example|"));
        let wild = ask(&[("hub.callback", "https://a1.reader.example/cb")]).unwrap();
        assert!(wild
            .sub_key()
            .starts_with(&bucket_prefix("sub:", "a2.reader.example")));
        let s = Subscriber::from_intent(&a, None, 0, 5);
        assert_eq!(s.key(), a.sub_key());
    }
}
