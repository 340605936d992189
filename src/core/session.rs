//! Admin sessions and CSRF tokens: HMAC-SHA256 signed values, checked in constant time. Pure: the clock and the nonce are passed in.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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

fn mac_hex(key: &[u8; 32], parts: &[&str]) -> String {
    // new_from_slice accepts any key length for HMAC; a 32-byte key cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    for p in parts {
        mac.update(p.as_bytes());
        mac.update(b"\x1f");
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares secrets without an early exit, so timing does not reveal how much matched.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A new session cookie value: `expiry.nonce.signature`.
pub fn issue(key: &[u8; 32], now_ms: i64, nonce: &str) -> String {
    let expires = (now_ms + SESSION_TTL_MS).to_string();
    let nonce: String = nonce
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(64)
        .collect();
    let sig = mac_hex(key, &["session", &expires, &nonce]);
    format!("{expires}.{nonce}.{sig}")
}

/// True when the value was signed with this key and has not expired.
pub fn verify(key: &[u8; 32], value: &str, now_ms: i64) -> bool {
    let mut parts = value.split('.');
    let (Some(expires), Some(nonce), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(exp) = expires.parse::<i64>() else {
        return false;
    };
    exp > now_ms && constant_time_eq(sig, &mac_hex(key, &["session", expires, nonce]))
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
    fn reads_cookies() {
        assert_eq!(
            cookie("a=1; orrery_admin=x.y.z; b=2", COOKIE_NAME),
            Some("x.y.z")
        );
        assert_eq!(cookie("a=1", COOKIE_NAME), None);
    }
}
