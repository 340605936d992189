//! WebSub content signatures: `X-Hub-Signature: method=hex`, an HMAC of the body.
//!
//! Made and checked here, so the subscriber (checking a hub's deliveries) and the
//! planet's own hub (signing its fat pings) agree byte for byte.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};

use crate::core::codec::{hex_decode, hex_encode};

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

pub(super) fn keyed<M: Mac + hmac::digest::KeyInit>(secret: &str, body: &[u8]) -> M {
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
}
