//! WebSub (W3C Recommendation, 2018). Content signatures (`X-Hub-Signature: method=hex`,
//! HMAC of the body with the subscriber's secret) are made and checked here, so the
//! subscriber and the publisher (the planet's own hub) agree byte for byte; and the
//! subscriber's whole life, pure (the clock and the random nonce/secret passed in):
//!
//! 1. **Discovery**: a parsed document (or its HTTP `Link` header, which wins) names a
//!    hub and its own URL, the topic ([`discover`]).
//! 2. **Subscribe**: the FeedObject POSTs [`request_form`] to the hub, with a callback
//!    under `PLANET_URL` (`/websub/{feed id}/{token}`; the token carries a MAC, so the
//!    Worker turns away guessed callbacks without waking any object) and a secret.
//! 3. **Intent verification**: the hub GETs the callback; [`on_intent`] confirms only
//!    the mode, topic and token this feed asked for, and starts the lease.
//! 4. **Content**: every delivery must carry a valid signature ([`check_push`]); a fat
//!    ping's body goes through the same ingest as a poll's, an empty one triggers a fetch.
//! 5. **Renewal** by the feed's own alarm before the lease ends ([`Subscription::next_request_at`]),
//!    retries with backoff when a hub does not answer, and unsubscribe when the feed is
//!    removed (a [`Leaving`] note outlives the feed's state until the hub confirms).
//!
//! While a lease is live the feed is still polled, every [`SAFETY_POLL_MS`] at most.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use url::Url;

use crate::core::codec::{constant_time_eq, hex_decode, hex_encode};

/// The signature a hub sends with content for a subscription that has `secret`
/// (`sha256=<hex>`, the method the spec recommends).
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex_encode(&mac::<Hmac<Sha256>>(secret, body)))
}

/// Why a delivery's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The subscription has a secret and the delivery carries no signature.
    Missing,
    /// A method the spec does not name (`sha1`, `sha256`, `sha384`, `sha512`).
    UnknownMethod(String),
    /// The header is not `method=hex`.
    Malformed,
    /// The HMAC does not match: forged, or meant for another subscription.
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Missing => {
                f.write_str("unsigned delivery for a subscription with a secret")
            }
            SignatureError::UnknownMethod(m) => write!(f, "unknown signature method {m:?}"),
            SignatureError::Malformed => f.write_str("signature is not method=hex"),
            SignatureError::Mismatch => f.write_str("signature does not match the body"),
        }
    }
}

/// Checks a delivery's `X-Hub-Signature` (or `X-Hub-Signature-256`) header against the
/// body, in constant time (the MAC library's own comparison).
pub fn verify(header: Option<&str>, secret: &str, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let Some(header) = header else {
        return Err(SignatureError::Missing);
    };
    let (method, sig) = header.split_once('=').ok_or(SignatureError::Malformed)?;
    let sig = sig.trim();
    if sig.len() > 256 {
        return Err(SignatureError::Malformed);
    }
    let sig = hex_decode(sig).ok_or(SignatureError::Malformed)?;
    let ok = match method.trim().to_ascii_lowercase().as_str() {
        "sha1" => check::<Hmac<Sha1>>(secret, body, &sig),
        "sha256" => check::<Hmac<Sha256>>(secret, body, &sig),
        "sha384" => check::<Hmac<Sha384>>(secret, body, &sig),
        "sha512" => check::<Hmac<Sha512>>(secret, body, &sig),
        other => {
            return Err(SignatureError::UnknownMethod(
                other.chars().take(16).collect(),
            ))
        }
    };
    ok.then_some(()).ok_or(SignatureError::Mismatch)
}

fn keyed<M: Mac + hmac::digest::KeyInit>(secret: &str, body: &[u8]) -> M {
    // HMAC takes a key of any length: this cannot fail.
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(body);
    m
}

fn mac<M: Mac + hmac::digest::KeyInit>(secret: &str, body: &[u8]) -> Vec<u8> {
    keyed::<M>(secret, body).finalize().into_bytes().to_vec()
}

fn check<M: Mac + hmac::digest::KeyInit>(secret: &str, body: &[u8], sig: &[u8]) -> bool {
    keyed::<M>(secret, body).verify_slice(sig).is_ok()
}

/// The lease Orrery asks for; a hub may grant another.
pub const LEASE_ASKED_S: i64 = 10 * 24 * 3600;
/// A granted lease is read within these bounds (a hub granting two years is renewed
/// within the year; one granting a second is treated as ten). How often renewals go out
/// is bounded apart, by [`MIN_RENEW_MS`].
pub const LEASE_MIN_S: i64 = 10;
pub const LEASE_MAX_S: i64 = 366 * 24 * 3600;
/// While a lease is live the feed is polled no more often than this: a safety net for
/// pushes a hub loses, not the way entries arrive.
pub const SAFETY_POLL_MS: i64 = 6 * 3600 * 1000;
/// A renewal goes out a tenth of the lease before it ends, at most this long before.
pub const RENEW_MARGIN_MAX_MS: i64 = 24 * 3600 * 1000;
/// Renewals are at least this far apart by default, so a hub granting tiny leases cannot
/// make a feed spend an alarm and a request every few seconds (`WEBSUB_MIN_RENEW_SECONDS`).
pub const MIN_RENEW_MS: i64 = 3600 * 1000;
/// A request the hub has not verified, or that failed, is sent again after 1 h, 4 h,
/// 16 h, then daily.
pub const RETRY_FIRST_MS: i64 = 3600 * 1000;
pub const RETRY_MAX_MS: i64 = 24 * 3600 * 1000;
/// Caps on what a hub's request may carry.
pub const MAX_CHALLENGE_BYTES: usize = 512;
pub const MAX_SECRET_BYTES: usize = 199;

/// The hub and self links a parsed document names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocLinks {
    pub hub: Option<String>,
    pub self_url: Option<String>,
}

/// A hub and topic a document advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertised {
    pub hub: String,
    pub topic: String,
}

/// Reads an HTTP `Link` header's `rel="hub"` and `rel="self"` targets (RFC 8288: a
/// comma-separated list of `<uri>; params`, `rel` a space-separated list), resolved
/// against `base`.
pub fn link_header(value: &str, base: &Url) -> (Option<String>, Option<String>) {
    let (mut hub, mut own) = (None, None);
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|c| open + c) else {
            break;
        };
        let target = &rest[open + 1..close];
        let params_end = rest[close..].find('<').map_or(rest.len(), |n| close + n);
        // The link's parameters run to the comma before the next link.
        let params = rest[close + 1..params_end].trim_end().trim_end_matches(',');
        rest = &rest[params_end..];
        let rels = params.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("rel")
                .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
        });
        let Some(rels) = rels else { continue };
        let url = base.join(target.trim()).ok().map(String::from);
        for rel in rels.split_ascii_whitespace() {
            match rel {
                "hub" if hub.is_none() => hub = url.clone(),
                "self" if own.is_none() => own = url.clone(),
                _ => {}
            }
        }
    }
    (hub, own)
}

/// The hub and topic to subscribe to: the `Link` header's, else the document's; the
/// topic is the self link, else the URL the document was fetched from. Only http(s) hubs.
pub fn discover(
    header: (Option<String>, Option<String>),
    doc_hub: Option<&str>,
    doc_self: Option<&str>,
    fetched_url: &str,
) -> Option<Advertised> {
    let (h_hub, h_self) = header;
    let hub = h_hub.or_else(|| doc_hub.map(String::from))?;
    let ok = Url::parse(&hub).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    let topic = h_self
        .or_else(|| doc_self.map(String::from))
        .unwrap_or_else(|| fetched_url.to_string());
    ok.then_some(Advertised { hub, topic })
}

/// One feed's subscription, kept in its FeedObject's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub hub: String,
    pub topic: String,
    /// The callback's last path segment ([`callback_token`]).
    pub token: String,
    /// HMAC key the hub signs deliveries with.
    pub secret: String,
    /// When the last subscribe request went out (0: not yet).
    pub requested_at: i64,
    /// Requests sent since the hub last verified one.
    pub unanswered: u32,
    /// When the hub last confirmed, and until when: the lease.
    pub verified_at: i64,
    pub lease_until: Option<i64>,
    /// The last thing that went wrong (a hub's refusal, a denial), for the admin.
    pub last_error: Option<String>,
    /// Renewals are at least this far apart ([`MIN_RENEW_MS`] unless configured).
    pub min_renew_ms: i64,
}

impl Subscription {
    /// A subscription to start at once (`token` from [`callback_token`], `secret` random).
    pub fn new(ad: Advertised, token: String, secret: String, min_renew_ms: i64) -> Self {
        Subscription {
            hub: ad.hub,
            topic: ad.topic,
            token,
            secret,
            min_renew_ms,
            ..Default::default()
        }
    }

    /// Is the hub pushing this feed's entries now?
    pub fn live(&self, now: i64) -> bool {
        self.lease_until.is_some_and(|u| u > now)
    }

    /// When the next subscribe request is due: before a live lease ends (a tenth of it
    /// before, at most a day, at least `min_renew_ms` after it began); at once for a
    /// new subscription; else retried with backoff.
    pub fn next_request_at(&self) -> i64 {
        let min_renew_ms = self.min_renew_ms;
        match self.lease_until {
            Some(until) if self.verified_at >= self.requested_at => {
                let lease = until - self.verified_at;
                let margin = (lease / 10).min(RENEW_MARGIN_MAX_MS);
                (until - margin).max(self.verified_at + min_renew_ms)
            }
            _ if self.requested_at == 0 => 0,
            _ => {
                let n = self.unanswered.saturating_sub(1).min(8);
                let wait = (RETRY_FIRST_MS << (2 * n)).min(RETRY_MAX_MS);
                self.requested_at + wait
            }
        }
    }

    /// Notes a request sent (or refused by the hub: `error`).
    pub fn requested(&mut self, now: i64, error: Option<String>) {
        self.requested_at = now;
        self.unanswered = self.unanswered.saturating_add(1);
        if error.is_some() {
            self.last_error = error;
        }
    }
}

/// What a parsed document's advertisement does to the subscription: start one, move it
/// to a new hub or topic, or drop it (the feed stopped advertising: the lease lapses).
/// `fresh` makes the token and secret of a new one.
pub fn rediscover(
    sub: Option<Subscription>,
    ad: Option<Advertised>,
    min_renew_ms: i64,
    fresh: impl FnOnce() -> (String, String),
) -> Option<Subscription> {
    match (sub, ad) {
        (_, None) => None,
        (Some(s), Some(ad)) if s.hub == ad.hub && s.topic == ad.topic => Some(s),
        (_, Some(ad)) => {
            let (token, secret) = fresh();
            Some(Subscription::new(ad, token, secret, min_renew_ms))
        }
    }
}

/// The form a subscribe or unsubscribe request posts to the hub.
pub fn request_form(sub: &Subscription, mode: &str, callback: &str) -> String {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    f.append_pair("hub.mode", mode)
        .append_pair("hub.topic", &sub.topic)
        .append_pair("hub.callback", callback);
    if mode == "subscribe" {
        f.append_pair("hub.lease_seconds", &LEASE_ASKED_S.to_string())
            .append_pair("hub.secret", &sub.secret);
    }
    f.finish()
}

/// A callback URL's token for a feed: a random nonce and a MAC of it with the feed's
/// id under the planet's key ([`websub_key`]). Only this planet can make one, so the
/// Worker turns away a guessed callback without waking any object.
pub fn callback_token(key: &[u8; 32], feed_id: i64, nonce: &str) -> String {
    let nonce: String = nonce
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    format!("{nonce}.{}", token_mac(key, feed_id, &nonce))
}

/// Is this a token [`callback_token`] made for this feed?
pub fn token_is_ours(key: &[u8; 32], feed_id: i64, token: &str) -> bool {
    let Some((nonce, mac)) = token.split_once('.') else {
        return false;
    };
    !nonce.is_empty() && constant_time_eq(mac, &token_mac(key, feed_id, nonce))
}

fn token_mac(key: &[u8; 32], feed_id: i64, nonce: &str) -> String {
    let mut m = keyed::<Hmac<Sha256>>(&hex_encode(key), format!("{feed_id}:{nonce}").as_bytes());
    m.update(b"websub-callback");
    hex_encode(&m.finalize().into_bytes()[..16])
}

/// The key callback tokens are made with, derived from the admin token (so no new
/// secret to configure; rotating the token lapses subscriptions, which discovery then
/// renews with new tokens).
pub fn websub_key(admin_token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"orrery-websub-v1:");
    h.update(admin_token.as_bytes());
    h.finalize().into()
}

/// A hub's intent verification (the callback's GET query).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intent {
    pub mode: String,
    pub topic: String,
    pub challenge: String,
    pub lease_seconds: Option<i64>,
    /// `hub.reason` of a denial.
    pub reason: Option<String>,
}

impl Intent {
    /// Reads `hub.*` from a query string.
    pub fn from_query(query: &str) -> Self {
        let mut i = Intent::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "hub.mode" => i.mode = v.into_owned(),
                "hub.topic" => i.topic = v.into_owned(),
                "hub.challenge" => i.challenge = v.into_owned(),
                "hub.lease_seconds" => i.lease_seconds = v.trim().parse().ok(),
                "hub.reason" => i.reason = Some(v.chars().take(200).collect()),
                _ => {}
            }
        }
        i
    }
}

/// A removed feed's last word with its hub: enough to confirm the unsubscribe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaving {
    pub topic: String,
    pub token: String,
}

/// How the callback answers a hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentAnswer {
    /// 200 with the challenge as the body: yes, we asked for this.
    Confirm(String),
    /// 200, empty: the hub told us it denied the subscription.
    Noted,
    /// 404 (the spec's answer for "not ours"), with the reason for the log.
    Refuse(&'static str),
    /// 400: the request is malformed.
    Bad(&'static str),
}

/// Answers a hub's verification of intent for this feed (`sub`, or `leaving` after the
/// feed was removed), starting or ending the lease.
pub fn on_intent(
    sub: Option<&mut Subscription>,
    leaving: Option<&Leaving>,
    token: &str,
    intent: &Intent,
    now: i64,
) -> IntentAnswer {
    if intent.challenge.len() > MAX_CHALLENGE_BYTES {
        return IntentAnswer::Bad("hub.challenge is too long");
    }
    match intent.mode.as_str() {
        "subscribe" => {
            let Some(sub) = sub.filter(|s| s.token == token) else {
                return IntentAnswer::Refuse("no subscription with this callback");
            };
            if intent.topic != sub.topic {
                return IntentAnswer::Refuse("not the topic this feed subscribed to");
            }
            if sub.requested_at == 0 {
                return IntentAnswer::Refuse("this feed has not asked to subscribe");
            }
            if intent.challenge.is_empty() {
                return IntentAnswer::Bad("hub.challenge is missing");
            }
            let lease = intent
                .lease_seconds
                .unwrap_or(LEASE_ASKED_S)
                .clamp(LEASE_MIN_S, LEASE_MAX_S);
            sub.verified_at = now;
            sub.lease_until = Some(now + lease * 1000);
            sub.unanswered = 0;
            sub.last_error = None;
            IntentAnswer::Confirm(intent.challenge.clone())
        }
        "unsubscribe" => match leaving {
            Some(l) if l.token == token && l.topic == intent.topic => {
                if intent.challenge.is_empty() {
                    return IntentAnswer::Bad("hub.challenge is missing");
                }
                IntentAnswer::Confirm(intent.challenge.clone())
            }
            // Only a removed feed unsubscribes: no one else can end a live subscription.
            _ => IntentAnswer::Refuse("this feed has not asked to unsubscribe"),
        },
        "denied" => match sub.filter(|s| s.token == token && s.topic == intent.topic) {
            Some(sub) => {
                sub.lease_until = None;
                let why = intent.reason.as_deref().unwrap_or("no reason given");
                sub.last_error = Some(format!("the hub denied the subscription: {why}"));
                IntentAnswer::Noted
            }
            None => IntentAnswer::Refuse("no subscription with this callback"),
        },
        _ => IntentAnswer::Bad("hub.mode must be subscribe, unsubscribe or denied"),
    }
}

/// Why a content delivery is turned away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushRefused {
    /// No subscription has this callback (404: the hub should stop).
    Unknown,
    /// Unsigned or badly signed (403): ignored, as the spec requires.
    Signature(SignatureError),
}

/// Checks a content delivery: our callback, signed with our secret.
pub fn check_push(
    sub: Option<&Subscription>,
    token: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), PushRefused> {
    let sub = sub
        .filter(|s| s.token == token)
        .ok_or(PushRefused::Unknown)?;
    verify(signature, &sub.secret, body).map_err(PushRefused::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_every_method_the_spec_names() {
        let body = b"<feed/>";
        let s = sign("s3cret", body);
        assert!(s.starts_with("sha256="));
        assert_eq!(verify(Some(&s), "s3cret", body), Ok(()));
        // RFC 2202 test case 2 (HMAC-SHA1, key "Jefe").
        let sha1 = "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
        assert_eq!(
            verify(Some(sha1), "Jefe", b"what do ya want for nothing?"),
            Ok(())
        );
        // RFC 4231 test case 2 (HMAC-SHA512, key "Jefe").
        let sha512 = "sha512=164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737";
        assert_eq!(
            verify(Some(sha512), "Jefe", b"what do ya want for nothing?"),
            Ok(())
        );
    }

    #[test]
    fn refuses_what_is_not_the_subscribers_signature() {
        let body = b"<feed/>";
        let good = sign("s3cret", body);
        assert_eq!(verify(None, "s3cret", body), Err(SignatureError::Missing));
        assert_eq!(
            verify(Some(""), "s3cret", body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some(&good), "other", body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&good), "s3cret", b"<feed>x</feed>"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some("md5=00"), "s3cret", body),
            Err(SignatureError::UnknownMethod("md5".into()))
        );
        assert_eq!(
            verify(Some("sha256"), "s3cret", body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("sha256=zz"), "s3cret", body),
            Err(SignatureError::Malformed)
        );
        // Truncated: a prefix of the right MAC is not the MAC.
        assert_eq!(
            verify(Some(&good[..21]), "s3cret", body),
            Err(SignatureError::Mismatch)
        );
    }

    fn base() -> Url {
        Url::parse("https://blog.example/feed.xml").unwrap()
    }

    #[test]
    fn reads_hub_and_self_from_a_link_header() {
        let h = r#"<https://hub.example/>; rel="hub", </feed.xml>; rel="self""#;
        assert_eq!(
            link_header(h, &base()),
            (
                Some("https://hub.example/".into()),
                Some("https://blog.example/feed.xml".into())
            )
        );
        // Unquoted, several relations in one, other links around, case.
        let h = "<https://x.example/a>; rel=next, <https://hub.example/p>; rel=\"HUB other\"";
        assert_eq!(
            link_header(h, &base()).0.as_deref(),
            Some("https://hub.example/p")
        );
        assert_eq!(link_header("garbage <", &base()), (None, None));
    }

    #[test]
    fn the_header_wins_and_the_topic_falls_back_to_the_fetched_url() {
        let doc_hub = Some("https://doc-hub.example/");
        let got = discover((None, None), doc_hub, None, "https://blog.example/feed.xml");
        assert_eq!(
            got,
            Some(Advertised {
                hub: "https://doc-hub.example/".into(),
                topic: "https://blog.example/feed.xml".into()
            })
        );
        let header = (
            Some("https://h.example/".into()),
            Some("https://blog.example/self".into()),
        );
        let got = discover(header, doc_hub, Some("https://blog.example/doc-self"), "x").unwrap();
        assert_eq!(
            (got.hub.as_str(), got.topic.as_str()),
            ("https://h.example/", "https://blog.example/self")
        );
        assert_eq!(discover((None, None), None, None, "x"), None);
        assert_eq!(
            discover((None, None), Some("javascript:alert(1)"), None, "x"),
            None
        );
    }

    fn sub() -> Subscription {
        Subscription::new(
            Advertised {
                hub: "https://hub.example/".into(),
                topic: "https://blog.example/feed.xml".into(),
            },
            "tok".into(),
            "secret".into(),
            MIN_RENEW_MS,
        )
    }

    fn intent(mode: &str, topic: &str, challenge: &str, lease: Option<i64>) -> Intent {
        Intent {
            mode: mode.into(),
            topic: topic.into(),
            challenge: challenge.into(),
            lease_seconds: lease,
            reason: None,
        }
    }

    #[test]
    fn a_subscription_is_requested_verified_renewed_before_expiry_and_retried_with_backoff() {
        let topic = "https://blog.example/feed.xml";
        let mut s = sub();
        assert_eq!(s.next_request_at(), 0, "a new subscription is due at once");
        // A hub cannot confirm what was never asked.
        let i = intent("subscribe", topic, "c", Some(86_400));
        assert_eq!(
            on_intent(Some(&mut s), None, "tok", &i, 5),
            IntentAnswer::Refuse("this feed has not asked to subscribe")
        );
        s.requested(1_000, None);
        assert!(!s.live(1_000));
        assert_eq!(
            on_intent(Some(&mut s), None, "tok", &i, 2_000),
            IntentAnswer::Confirm("c".into())
        );
        assert!(s.live(2_000) && s.live(2_000 + 86_399_000) && !s.live(2_000 + 86_400_000));
        // Renewed a tenth of a day before the day ends.
        assert_eq!(s.next_request_at(), 2_000 + 86_400_000 - 8_640_000);
        // A ten-second lease is not renewed every nine seconds.
        let mut short = sub();
        short.requested(1, None);
        on_intent(
            Some(&mut short),
            None,
            "tok",
            &intent("subscribe", topic, "c", Some(10)),
            10,
        );
        assert_eq!(
            short.lease_until,
            Some(10 + LEASE_MIN_S * 1000),
            "leases are at least LEASE_MIN_S"
        );
        assert_eq!(short.next_request_at(), 10 + MIN_RENEW_MS);
        // Unanswered requests back off: 1 h, 4 h, 16 h, then a day.
        let mut r = sub();
        let waits: Vec<i64> = (0..5)
            .map(|_| {
                r.requested(100, None);
                r.next_request_at() - 100
            })
            .collect();
        let h = 3_600_000;
        assert_eq!(waits, vec![h, 4 * h, 16 * h, 24 * h, 24 * h]);
    }

    #[test]
    fn intent_for_another_topic_token_or_mode_is_refused() {
        let topic = "https://blog.example/feed.xml";
        let mut s = sub();
        s.requested(1, None);
        let wrong_topic = intent("subscribe", "https://evil.example/", "c", None);
        assert!(matches!(
            on_intent(Some(&mut s), None, "tok", &wrong_topic, 2),
            IntentAnswer::Refuse(_)
        ));
        let right = intent("subscribe", topic, "c", None);
        assert!(matches!(
            on_intent(Some(&mut s), None, "other", &right, 2),
            IntentAnswer::Refuse(_)
        ));
        assert!(matches!(
            on_intent(None, None, "tok", &right, 2),
            IntentAnswer::Refuse(_)
        ));
        let no_challenge = intent("subscribe", topic, "", None);
        assert!(matches!(
            on_intent(Some(&mut s), None, "tok", &no_challenge, 2),
            IntentAnswer::Bad(_)
        ));
        let huge = intent("subscribe", topic, &"x".repeat(600), None);
        assert!(matches!(
            on_intent(Some(&mut s), None, "tok", &huge, 2),
            IntentAnswer::Bad(_)
        ));
        assert!(!s.live(3), "nothing above started a lease");
        // Nobody but a removed feed unsubscribes.
        let unsub = intent("unsubscribe", topic, "c", None);
        assert!(matches!(
            on_intent(Some(&mut s), None, "tok", &unsub, 2),
            IntentAnswer::Refuse(_)
        ));
        let leaving = Leaving {
            topic: topic.into(),
            token: "tok".into(),
        };
        assert_eq!(
            on_intent(None, Some(&leaving), "tok", &unsub, 2),
            IntentAnswer::Confirm("c".into())
        );
        assert!(matches!(
            on_intent(None, Some(&leaving), "zzz", &unsub, 2),
            IntentAnswer::Refuse(_)
        ));
        // A denial is noted and ends the lease.
        on_intent(Some(&mut s), None, "tok", &right, 2);
        let mut denied = intent("denied", topic, "", None);
        denied.reason = Some("over quota".into());
        assert_eq!(
            on_intent(Some(&mut s), None, "tok", &denied, 3),
            IntentAnswer::Noted
        );
        assert!(!s.live(4));
        assert!(s.last_error.as_deref().unwrap().contains("over quota"));
        assert!(matches!(
            on_intent(
                Some(&mut s),
                None,
                "tok",
                &intent("publish", topic, "c", None),
                2
            ),
            IntentAnswer::Bad(_)
        ));
    }

    #[test]
    fn rediscovery_keeps_moves_or_drops_the_subscription() {
        let ad = |hub: &str| Advertised {
            hub: hub.into(),
            topic: "t".into(),
        };
        let fresh = || ("n".to_string(), "s".to_string());
        let s = rediscover(None, Some(ad("https://a/")), 1, fresh).unwrap();
        assert_eq!((s.token.as_str(), s.requested_at), ("n", 0));
        let mut kept = s.clone();
        kept.requested(5, None);
        let again = rediscover(
            Some(kept.clone()),
            Some(ad("https://a/")),
            1,
            || unreachable!(),
        );
        assert_eq!(again, Some(kept.clone()));
        let moved = rediscover(Some(kept.clone()), Some(ad("https://b/")), 1, || {
            ("m".into(), "s2".into())
        })
        .unwrap();
        assert_eq!((moved.hub.as_str(), moved.requested_at), ("https://b/", 0));
        assert_eq!(rediscover(Some(kept), None, 1, fresh), None);
    }

    #[test]
    fn callback_tokens_are_unguessable_per_feed_and_deliveries_must_be_signed() {
        let key = websub_key("admin");
        let t = callback_token(&key, 7, "abc123");
        assert!(token_is_ours(&key, 7, &t));
        assert!(!token_is_ours(&key, 8, &t), "another feed's token");
        assert!(
            !token_is_ours(&websub_key("other"), 7, &t),
            "another planet's token"
        );
        assert!(!token_is_ours(&key, 7, "abc123.00"));
        assert!(!token_is_ours(&key, 7, "nodot"));
        let mut s = sub();
        s.token = t.clone();
        let body = b"<feed/>";
        let sig = sign("secret", body);
        assert_eq!(check_push(Some(&s), &t, Some(&sig), body), Ok(()));
        assert_eq!(
            check_push(Some(&s), "x", Some(&sig), body),
            Err(PushRefused::Unknown)
        );
        assert_eq!(
            check_push(None, &t, Some(&sig), body),
            Err(PushRefused::Unknown)
        );
        assert_eq!(
            check_push(Some(&s), &t, None, body),
            Err(PushRefused::Signature(SignatureError::Missing))
        );
        let forged = sign("guess", body);
        assert_eq!(
            check_push(Some(&s), &t, Some(&forged), body),
            Err(PushRefused::Signature(SignatureError::Mismatch))
        );
    }

    #[test]
    fn the_subscribe_form_names_topic_callback_lease_and_secret() {
        let f = request_form(&sub(), "subscribe", "https://planet.example/websub/1/tok");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(f.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        assert_eq!(get("hub.mode"), Some("subscribe"));
        assert_eq!(get("hub.topic"), Some("https://blog.example/feed.xml"));
        assert_eq!(
            get("hub.callback"),
            Some("https://planet.example/websub/1/tok")
        );
        assert_eq!(get("hub.lease_seconds"), Some("864000"));
        assert_eq!(get("hub.secret"), Some("secret"));
        let u = request_form(&sub(), "unsubscribe", "cb");
        assert!(!u.contains("secret"));
    }
}
