//! Admin sessions, CSRF tokens and the admin token's rules.
//!
//! A session is signed with the shared token or names the person Cloudflare Access signed
//! in: HMAC-SHA256 signed values, secrets compared in constant time. Pure: the clock, the
//! nonce and the request's host are passed in.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::core::codec::{base64url_decode, base64url_encode, constant_time_eq, hex_encode};

type HmacSha256 = Hmac<Sha256>;

pub const COOKIE_NAME: &str = "orrery_admin";
/// Sessions last twelve hours.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;

/// A key derived from the admin token, so rotating the token ends every session.
pub fn key_from_token(admin_token: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"orrery-session-v1:");
    h.update(admin_token.as_bytes());
    h.finalize().into()
}

pub(super) fn mac_hex(key: &[u8; 32], parts: &[&str]) -> String {
    // new_from_slice accepts any key length for HMAC; a 32-byte key cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    for p in parts {
        mac.update(p.as_bytes());
        mac.update(b"\x1f");
    }
    hex_encode(&mac.finalize().into_bytes())
}

/// The development default `make dev` uses when `ADMIN_TOKEN` is not set (documented, so public).
const DEV_ADMIN_TOKEN: &str = "orrery-dev-token";
/// An admin token shorter than this is refused outside loopback.
const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// Why the configured admin token may not be used for this request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakToken {
    #[error(
        "writes are refused: ADMIN_TOKEN is the documented development default; \
         set a long random secret (wrangler secret put ADMIN_TOKEN)"
    )]
    DevDefault,
    #[error(
        "writes are refused: ADMIN_TOKEN has fewer than {MIN_ADMIN_TOKEN_CHARS} characters; \
         set a long random secret (wrangler secret put ADMIN_TOKEN)"
    )]
    /// Its length is never said: a public page would halve a guesser's search.
    TooShort,
}

/// True when a request came to this machine itself (`localhost`, `127.0.0.0/8`, `[::1]`):
/// `make dev` and the tests. `host` is the host of the request's URL; on Cloudflare it is
/// always the Worker's own public name, never a loopback one.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = h.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether the configured admin token may authorize writes for a request to `host`: a
/// token under [`MIN_ADMIN_TOKEN_CHARS`] or the development default only on loopback.
pub fn check_admin_token(token: &str, host: &str) -> Result<(), WeakToken> {
    if is_loopback_host(host) {
        return Ok(());
    }
    if token == DEV_ADMIN_TOKEN {
        return Err(WeakToken::DevDefault);
    }
    let chars = token.chars().count();
    if chars < MIN_ADMIN_TOKEN_CHARS {
        return Err(WeakToken::TooShort);
    }
    Ok(())
}

/// Units of the `LOGIN_LIMIT` budget (per client address, per minute) one check of the
/// admin token spends. A wrong or missing token costs ten, a right one one: ten wrong
/// guesses a minute exhaust the budget, after which even the right token is refused
/// until the minute is over (so a guesser learns nothing past the limit), while an
/// admin who does not guess can make a hundred authorized writes a minute.
pub fn login_limit_units(token_ok: bool) -> u32 {
    if token_ok {
        1
    } else {
        LOGIN_FAILURE_UNITS
    }
}

/// What a failed check spends; see [`login_limit_units`].
pub const LOGIN_FAILURE_UNITS: u32 = 10;
/// Failed checks a client address may make per minute: the binding's limit is this many
/// times [`LOGIN_FAILURE_UNITS`] (`wrangler.jsonc` `LOGIN_LIMIT`, checked by a test).
pub const LOGIN_FAILURES_PER_MINUTE: u32 = 10;

/// Who a session signed in with the shared admin token is, in the audit log.
pub const TOKEN_ACTOR: &str = "admin";

fn clean_nonce(nonce: &str) -> String {
    nonce
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(64)
        .collect()
}

/// A new session cookie value for the shared admin token: `expiry.nonce.signature`.
pub fn issue(key: &[u8; 32], now_ms: i64, nonce: &str) -> String {
    let expires = (now_ms + SESSION_TTL_MS).to_string();
    let nonce = clean_nonce(nonce);
    let sig = mac_hex(key, &["session", &expires, &nonce]);
    format!("{expires}.{nonce}.{sig}")
}

/// A new session cookie value naming the person who signed in (Cloudflare Access: their
/// email): `expiry.nonce.base64url(who).signature`, the name signed with the rest.
pub fn issue_named(key: &[u8; 32], now_ms: i64, nonce: &str, who: &str) -> String {
    let expires = (now_ms + SESSION_TTL_MS).to_string();
    let nonce = clean_nonce(nonce);
    let sig = mac_hex(key, &["session-named", &expires, &nonce, who]);
    format!(
        "{expires}.{nonce}.{}.{sig}",
        base64url_encode(who.as_bytes())
    )
}

/// A new session cookie value for a named admin who signed in with GitHub or an OpenID
/// Connect provider: `expiry.nonce.base64url(who).admin.signature`, where `admin` is the
/// id of the rule of the admin list that let them in (removing it ends the session).
pub fn issue_admin(key: &[u8; 32], now_ms: i64, nonce: &str, who: &str, admin: i64) -> String {
    let expires = (now_ms + SESSION_TTL_MS).to_string();
    let nonce = clean_nonce(nonce);
    let admin = admin.to_string();
    let sig = mac_hex(key, &["session-admin", &expires, &nonce, who, &admin]);
    format!(
        "{expires}.{nonce}.{}.{admin}.{sig}",
        base64url_encode(who.as_bytes())
    )
}

/// Who holds a valid session: the audit log's actor, and the rule of the admin list that
/// let them in (a GitHub or OpenID Connect sign-in; `None` for the token and Access).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub actor: String,
    pub admin: Option<i64>,
}

/// Who a session value names, when it was signed with this key and has not expired:
/// [`TOKEN_ACTOR`] for a token session, the person for a named one.
pub fn actor(key: &[u8; 32], value: &str, now_ms: i64) -> Option<String> {
    holder(key, value, now_ms).map(|h| h.actor)
}

/// [`actor`], with the admin rule a named admin's session carries.
pub fn holder(key: &[u8; 32], value: &str, now_ms: i64) -> Option<Holder> {
    let parts: Vec<&str> = value.split('.').collect();
    let (expires, nonce, who, admin, sig) = match parts.as_slice() {
        [e, n, s] => (*e, *n, None, None, *s),
        [e, n, w, s] => (*e, *n, Some(*w), None, *s),
        [e, n, w, a, s] => (*e, *n, Some(*w), Some(*a), *s),
        _ => return None,
    };
    if expires.parse::<i64>().ok()? <= now_ms {
        return None;
    }
    let name = |w: &str| String::from_utf8(base64url_decode(w)?).ok();
    let (expected, actor, admin) = match (who, admin) {
        (None, _) => (
            mac_hex(key, &["session", expires, nonce]),
            TOKEN_ACTOR.to_string(),
            None,
        ),
        (Some(w), None) => {
            let who = name(w)?;
            (
                mac_hex(key, &["session-named", expires, nonce, &who]),
                who,
                None,
            )
        }
        (Some(w), Some(a)) => {
            let who = name(w)?;
            let id = a.parse::<i64>().ok().filter(|n| *n > 0)?;
            let expected = mac_hex(key, &["session-admin", expires, nonce, &who, a]);
            (expected, who, Some(id))
        }
    };
    constant_time_eq(sig, &expected).then_some(Holder { actor, admin })
}

/// When a session value was issued (its expiry less [`SESSION_TTL_MS`]); `None` when it
/// has no readable expiry. Only meaningful for a value [`actor`] accepted.
pub fn issued_at(value: &str) -> Option<i64> {
    let expires = value.split('.').next()?.parse::<i64>().ok()?;
    Some(expires - SESSION_TTL_MS)
}

/// A signed, unexpired session is still good unless its person signed out (revoking every
/// session issued at or before `revoked_before`) after it was issued.
pub fn not_revoked(value: &str, revoked_before: Option<i64>) -> bool {
    match (issued_at(value), revoked_before) {
        (Some(issued), Some(before)) => issued > before,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// True when the value was signed with this key and has not expired.
pub fn verify(key: &[u8; 32], value: &str, now_ms: i64) -> bool {
    actor(key, value, now_ms).is_some()
}

/// The CSRF token bound to one session: forms must carry it back.
pub fn csrf_token(key: &[u8; 32], session: &str) -> String {
    mac_hex(key, &["csrf", session])
}

pub fn csrf_ok(key: &[u8; 32], session: &str, token: &str) -> bool {
    !token.is_empty() && constant_time_eq(token, &csrf_token(key, session))
}

/// Reads one cookie from a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_verify_until_they_expire() {
        let key = key_from_token("secret");
        let s = issue(&key, 1_000, "abc123");
        assert!(verify(&key, &s, 2_000));
        assert!(!verify(&key, &s, 1_000 + SESSION_TTL_MS + 1), "expired");
        assert!(
            !verify(&key_from_token("other"), &s, 2_000),
            "another token's key"
        );
        let tampered = s.replacen('1', "9", 1);
        assert!(!verify(&key, &tampered, 2_000), "tampered expiry");
        assert!(!verify(&key, "garbage", 2_000));
        assert!(!verify(&key, "1.2.3.4", 2_000));
    }

    #[test]
    fn named_sessions_say_who_and_cannot_be_renamed() {
        let key = key_from_token("secret");
        let s = issue_named(&key, 1_000, "n1", "ada@example.com");
        assert_eq!(actor(&key, &s, 2_000).as_deref(), Some("ada@example.com"));
        assert_eq!(s.split('.').count(), 4, "the email's dots are encoded: {s}");
        assert_eq!(actor(&key, &s, 1_000 + SESSION_TTL_MS), None, "expired");
        let token = issue(&key, 1_000, "n1");
        assert_eq!(actor(&key, &token, 2_000).as_deref(), Some(TOKEN_ACTOR));
        // Another name spliced into a signed value does not verify.
        let mut parts: Vec<String> = s.split('.').map(String::from).collect();
        parts[2] = base64url_encode(b"eve@example.com");
        assert_eq!(actor(&key, &parts.join("."), 2_000), None);
        // Nor does a token session's signature with a name added.
        let (head, sig) = token.rsplit_once('.').expect("parts");
        let grafted = format!("{head}.{}.{sig}", base64url_encode(b"ada@example.com"));
        assert_eq!(actor(&key, &grafted, 2_000), None);
        assert_eq!(actor(&key_from_token("other"), &s, 2_000), None);
    }

    #[test]
    fn admin_sessions_carry_the_rule_that_let_them_in() {
        let key = key_from_token("secret");
        let s = issue_admin(&key, 1_000, "n", "github:octocat", 42);
        let h = holder(&key, &s, 2_000).expect("valid");
        assert_eq!(h.actor, "github:octocat");
        assert_eq!(h.admin, Some(42));
        assert_eq!(issued_at(&s), Some(1_000));
        let mut parts: Vec<String> = s.split('.').map(String::from).collect();
        parts[3] = "43".into();
        assert_eq!(holder(&key, &parts.join("."), 2_000), None, "another rule");
        // An Access session's value with a rule spliced in does not verify either.
        let named = issue_named(&key, 1_000, "n", "github:octocat");
        let (head, sig) = named.rsplit_once('.').expect("parts");
        assert_eq!(holder(&key, &format!("{head}.42.{sig}"), 2_000), None);
        assert_eq!(holder(&key, &named, 2_000).map(|h| h.admin), Some(None));
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let key = key_from_token("secret");
        let a = issue(&key, 0, "a");
        let b = issue(&key, 0, "b");
        let t = csrf_token(&key, &a);
        assert!(csrf_ok(&key, &a, &t));
        assert!(!csrf_ok(&key, &b, &t));
        assert!(!csrf_ok(&key, &a, ""));
    }

    #[test]
    fn weak_admin_tokens_only_work_on_loopback() {
        let strong = "k3Jx9-pQ2v_Lm8Wz4Rt7Yb1Nc6Hd0Sf5Ge"; // 35 chars
        for host in [
            "127.0.0.1",
            "localhost",
            "LOCALHOST.",
            "[::1]",
            "::1",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(host), "{host}");
            assert_eq!(check_admin_token(DEV_ADMIN_TOKEN, host), Ok(()), "{host}");
            assert_eq!(
                check_admin_token("test-admin-token", host),
                Ok(()),
                "{host}"
            );
            assert_eq!(check_admin_token(strong, host), Ok(()));
        }
        for host in [
            "orrery.example.workers.dev",
            "planet.example.com",
            "10.0.0.1",
            "[::2]",
            "localhost.example.com",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback_host(host), "{host}");
            assert_eq!(
                check_admin_token(DEV_ADMIN_TOKEN, host),
                Err(WeakToken::DevDefault)
            );
            assert_eq!(
                check_admin_token("test-admin-token", host),
                Err(WeakToken::TooShort)
            );
            assert_eq!(
                check_admin_token(&"é".repeat(31), host),
                Err(WeakToken::TooShort),
                "counted in characters"
            );
            assert_eq!(check_admin_token(strong, host), Ok(()));
            assert_eq!(check_admin_token(&"x".repeat(32), host), Ok(()));
        }
        let said = WeakToken::TooShort.to_string();
        assert!(said.contains("fewer than 32"), "{said}");
        assert!(!said.contains("16"), "the length is never shown: {said}");
    }

    #[test]
    fn signing_out_revokes_every_session_issued_until_then() {
        let key = key_from_token("k");
        let morning = issue(&key, 1_000, "a");
        let noon = issue_named(&key, 5_000, "b", "ann@example.com");
        assert_eq!(issued_at(&morning), Some(1_000));
        assert_eq!(issued_at(&noon), Some(5_000));
        assert!(not_revoked(&morning, None), "never signed out");
        assert!(
            !not_revoked(&morning, Some(1_000)),
            "issued at the sign-out"
        );
        assert!(!not_revoked(&morning, Some(3_000)));
        assert!(not_revoked(&noon, Some(3_000)), "signed in again after it");
        assert!(!not_revoked("garbage", None));
    }

    #[test]
    fn a_wrong_guess_costs_ten_times_a_right_token() {
        assert_eq!(login_limit_units(true), 1);
        assert_eq!(login_limit_units(false), LOGIN_FAILURE_UNITS);
        let budget = LOGIN_FAILURES_PER_MINUTE * LOGIN_FAILURE_UNITS;
        assert_eq!(
            budget / login_limit_units(false),
            10,
            "ten guesses a minute"
        );
        assert_eq!(
            budget / login_limit_units(true),
            100,
            "a hundred writes a minute"
        );
    }

    #[test]
    fn reads_cookies() {
        assert_eq!(
            cookie("a=1; orrery_admin=x.y.z; b=2", COOKIE_NAME),
            Some("x.y.z")
        );
        assert_eq!(cookie("a=1", COOKIE_NAME), None);
    }
}
