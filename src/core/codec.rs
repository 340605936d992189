//! Byte encodings: hex, base64 (standard and URL-safe) and constant-time equality.
//!
//! A leaf: it imports nothing of ours. Every hex string, base64 value and secret comparison
//! in Orrery goes through here, so there is one decoder to get right.

use sha2::{Digest, Sha256};

/// Lowercase hex, two digits a byte.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Decodes hex (either case); `None` for an odd length or anything but hex digits.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with the standard alphabet (RFC 4648 §4), padded with `=`.
pub fn base64_encode(bytes: &[u8]) -> String {
    encode(bytes, STANDARD, true)
}

/// Base64url without padding (RFC 4648 §5, as JWS uses it, RFC 7515 §2); also cookie-safe.
pub fn base64url_encode(bytes: &[u8]) -> String {
    encode(bytes, URL_SAFE, false)
}

/// Decodes standard base64 (padding tolerated, anything else outside the alphabet refused).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    strict(s, STANDARD)
}

/// Decodes base64url (padding tolerated, anything else outside the alphabet refused).
pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    strict(s, URL_SAFE)
}

/// Decodes base64 as feeds write it: either alphabet, whitespace ignored, decoding stops at
/// padding or at anything else, keeping what came before.
pub fn base64_decode_lenient(s: &str) -> Vec<u8> {
    decode(s, |c| match c {
        b'A'..=b'Z' => Sextet::Value(c - b'A'),
        b'a'..=b'z' => Sextet::Value(c - b'a' + 26),
        b'0'..=b'9' => Sextet::Value(c - b'0' + 52),
        b'+' | b'-' => Sextet::Value(62),
        b'/' | b'_' => Sextet::Value(63),
        c if c.is_ascii_whitespace() => Sextet::Skip,
        _ => Sextet::Stop,
    })
    .unwrap_or_default()
}

/// Compares secrets in constant time: both are hashed first, so the comparison always
/// runs over 32 bytes without an early exit, and neither how much matched nor how long
/// the secret is shows in the timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let digest = |s: &str| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"orrery-compare-v1:");
        h.update(s.as_bytes());
        h.finalize().into()
    };
    digest(a)
        .iter()
        .zip(digest(b).iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn encode(bytes: &[u8], alphabet: &[u8; 64], padded: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if padded {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// What one input byte means to the decoder.
enum Sextet {
    Value(u8),
    Skip,
    Stop,
    Refuse,
}

fn strict(s: &str, alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    decode(s, |c| match alphabet.iter().position(|&a| a == c) {
        Some(v) => Sextet::Value(v as u8),
        None => Sextet::Refuse,
    })
}

/// The one base64 decoder: six bits a byte in, eight bits out.
fn decode(s: &str, sextet: impl Fn(u8) -> Sextet) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match sextet(c) {
            Sextet::Value(v) => v,
            Sextet::Skip => continue,
            Sextet::Stop => break,
            Sextet::Refuse => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(hex_encode(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex_decode("000fABff"), Some(vec![0x00, 0x0f, 0xab, 0xff]));
        assert_eq!(hex_decode(""), Some(vec![]));
        assert_eq!(hex_decode("abc"), None, "odd length");
        assert_eq!(hex_decode("zz"), None);
        assert_eq!(hex_decode("+f"), None, "a sign is not a digit");
        assert_eq!(hex_decode("é0"), None, "not ASCII");
    }

    #[test]
    fn base64url_round_trips() {
        for s in [
            "",
            "f",
            "fo",
            "foo",
            "foob",
            "fooba",
            "foobar",
            "ada@example.com",
        ] {
            let e = base64url_encode(s.as_bytes());
            assert!(!e.contains(['=', '+', '/', '.']));
            assert_eq!(base64url_decode(&e).as_deref(), Some(s.as_bytes()), "{s}");
            let e = base64_encode(s.as_bytes());
            assert_eq!(e.len() % 4, 0, "padded: {e}");
            assert_eq!(base64_decode(&e).as_deref(), Some(s.as_bytes()), "{s}");
        }
        assert_eq!(base64url_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64_encode(&[0xfb, 0xff]), "+/8=");
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
        assert_eq!(base64url_decode("Zm9vYg=="), Some(b"foob".to_vec()));
        assert_eq!(base64url_decode("Zm9vY"), None);
        assert_eq!(base64url_decode("Zm+v"), None);
        assert_eq!(base64_decode("Zm-v"), None);
        assert_eq!(base64_decode("+/8="), Some(vec![0xfb, 0xff]));
    }

    #[test]
    fn feeds_base64_is_read_leniently() {
        assert_eq!(base64_decode_lenient("PHA+aGk8L3A+"), b"<p>hi</p>");
        assert_eq!(base64_decode_lenient("PHA+\n aGk8L3A+=="), b"<p>hi</p>");
        assert_eq!(
            base64_decode_lenient("PHA-aGk8L3A-"),
            b"<p>hi</p>",
            "url-safe"
        );
        assert_eq!(
            base64_decode_lenient("w6k=w6k="),
            "é".as_bytes(),
            "stops at padding"
        );
        assert_eq!(base64_decode_lenient("!!"), b"");
    }

    #[test]
    fn secrets_compare_equal_only_when_equal_whatever_their_length() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(constant_time_eq("", ""));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(
            !constant_time_eq("abc", "abcd"),
            "a prefix is not the secret"
        );
        assert!(!constant_time_eq("abc", ""));
        assert!(!constant_time_eq(&"a".repeat(1000), "a"));
    }
}
