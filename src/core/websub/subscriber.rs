//! Orrery subscribing to its feeds' hubs: discovery, the subscription, intents, pushes.
//!
//! The subscriber's whole life, pure (the clock and the random nonce/secret passed in):
//!
//! 1. **Discovery**: a parsed document (or its HTTP `Link` header, which wins) names a
//!    hub and its own URL, the topic ([`discover`]).
//! 2. **Subscribe**: the FeedObject POSTs [`request_form`] to the hub, with a callback
//!    under `PLANET_URL` (`/websub/{feed id}/{token}`; the token carries a MAC, so the
//!    Worker turns away guessed callbacks without waking any object) and a secret.
//! 3. **Intent verification**: the hub GETs the callback; [`on_intent`] confirms only
//!    the mode, topic and token this feed asked for, and starts the lease.
//! 4. **Content**: every delivery must carry a valid signature ([`check_push`], checked
//!    by [`super::signature`]); a fat ping's body goes through the same ingest as a
//!    poll's, an empty one triggers a fetch.
//! 5. **Renewal** by the feed's own alarm before the lease ends
//!    ([`HubSubscription::next_request_at`]), retries with backoff when a hub does not
//!    answer, and unsubscribe when the feed is removed (a [`Leaving`] note outlives the
//!    feed's state until the hub confirms).
//!
//! While a lease is live the feed is still polled, every [`SAFETY_POLL_MS`] at most.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use super::signature::{keyed, verify, SignatureError};
use crate::core::codec::{constant_time_eq, hex_encode};

/// The lease Orrery asks for; a hub may grant another.
pub const LEASE_ASKED_S: i64 = 10 * 24 * 3600;
/// A lease a hub grants is accepted within these bounds (a hub granting two years is
/// renewed within the year; one granting a second is treated as ten). How often renewals
/// go out is bounded apart, by [`MIN_RENEW_MS`].
pub const ACCEPTED_LEASE_MIN_S: i64 = 10;
pub const ACCEPTED_LEASE_MAX_S: i64 = 366 * 24 * 3600;
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
/// The longest `hub.challenge` a hub's verification may carry.
pub const MAX_CHALLENGE_BYTES: usize = 512;
/// A hub confirming again a lease it has already confirmed, moving its end by less than
/// this, changes nothing worth a write (storage, alarm and a D1 row): the lease stands.
pub const LEASE_MOVE_WORTH_MS: i64 = 3600 * 1000;

/// Is this a challenge we echo? Printable ASCII only (space to `~`): the echo is our
/// answer's body, and nothing else (markup, control bytes, another encoding) may ride in it.
pub fn challenge_is_printable(challenge: &str) -> bool {
    challenge.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Is a confirmation of an already confirmed lease (no request of ours outstanding) not
/// worth writing: its end moved by less than [`LEASE_MOVE_WORTH_MS`]?
pub fn lease_barely_moved(sub: &HubSubscription, new_until: i64) -> bool {
    sub.verified_at > 0
        && sub.verified_at >= sub.requested_at
        && sub.last_error.is_none()
        && sub
            .lease_until
            .is_some_and(|old| (new_until - old).abs() < LEASE_MOVE_WORTH_MS)
}

/// Would subscribing to this advertisement loop through this planet: its hub or its
/// topic is one of the planet's own names (under any spelling)?
pub fn loops_back(ad: &Advertised, own: &crate::core::fetch::OwnOrigins) -> bool {
    own.contains_str(&ad.hub) || own.contains_str(&ad.topic)
}

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
pub fn parse_link_header(value: &str, base: &Url) -> (Option<String>, Option<String>) {
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
pub struct HubSubscription {
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

impl HubSubscription {
    /// A subscription to start at once (`token` from [`callback_token`], `secret` random).
    pub fn new(ad: Advertised, token: String, secret: String, min_renew_ms: i64) -> Self {
        HubSubscription {
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
    sub: Option<HubSubscription>,
    ad: Option<Advertised>,
    min_renew_ms: i64,
    fresh: impl FnOnce() -> (String, String),
) -> Option<HubSubscription> {
    match (sub, ad) {
        (_, None) => None,
        (Some(s), Some(ad)) if s.hub == ad.hub && s.topic == ad.topic => Some(s),
        (_, Some(ad)) => {
            let (token, secret) = fresh();
            Some(HubSubscription::new(ad, token, secret, min_renew_ms))
        }
    }
}

/// The form a subscribe or unsubscribe request posts to the hub.
pub fn request_form(sub: &HubSubscription, mode: &str, callback: &str) -> String {
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

/// The key callback tokens are made with: derived from a random secret the planet makes
/// once for itself (kept in D1), so a token handed to a hub reveals nothing an offline
/// guess could check against the admin token.
pub fn websub_key_from_secret(secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"orrery-websub-v2:");
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// The key callback tokens used to be made with, derived from the admin token: still
/// accepted (a lease made with it lives until it renews), never used for a new token.
pub fn websub_key(admin_token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"orrery-websub-v1:");
    h.update(admin_token.as_bytes());
    h.finalize().into()
}

/// A hub's intent verification (the callback's GET query).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubIntent {
    pub mode: String,
    pub topic: String,
    pub challenge: String,
    pub lease_seconds: Option<i64>,
    /// `hub.reason` of a denial.
    pub reason: Option<String>,
}

impl HubIntent {
    /// Reads `hub.*` from a query string.
    pub fn from_query(query: &str) -> Self {
        let mut i = HubIntent::default();
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
    /// 200 with the challenge, nothing to write: a lease confirmed again, barely moved.
    Echo(String),
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
    sub: Option<&mut HubSubscription>,
    leaving: Option<&Leaving>,
    token: &str,
    intent: &HubIntent,
    now: i64,
) -> IntentAnswer {
    if intent.challenge.len() > MAX_CHALLENGE_BYTES {
        return IntentAnswer::Bad("hub.challenge is too long");
    }
    if !challenge_is_printable(&intent.challenge) {
        return IntentAnswer::Bad("hub.challenge must be printable ASCII");
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
                .clamp(ACCEPTED_LEASE_MIN_S, ACCEPTED_LEASE_MAX_S);
            let until = now + lease * 1000;
            if lease_barely_moved(sub, until) {
                return IntentAnswer::Echo(intent.challenge.clone());
            }
            sub.verified_at = now;
            sub.lease_until = Some(until);
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
    sub: Option<&HubSubscription>,
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
mod tests;
