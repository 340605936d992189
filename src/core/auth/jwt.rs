//! The one JWT verifier's pure part: Cloudflare Access assertions and OpenID Connect ID tokens.
//!
//! A token is taken apart (RS256 or ES256 only: never `none`, never an HMAC keyed with a
//! public key), its key picked from a JWKS by id where the key's `kty`/`alg` match the
//! header's (no algorithm confusion), and its claims checked (`iss`, `aud`, `exp`, `nbf`,
//! `iat`, with the clock and leeway passed in). The signature itself is checked at the edge
//! with the Worker's own SubtleCrypto.

use serde_json::{Map, Value};

use crate::core::codec::base64url_decode;

/// A token longer than this is refused unread (Access's and ID tokens are 1–2 KiB).
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// A key set (JWKS) bigger than this is refused.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// How long fetched keys are used before they are fetched again (Access rotates its keys
/// every six weeks and keeps signing with the old one for a week after; OpenID providers
/// publish the next key before they sign with it).
const JWKS_TTL_MS: i64 = 60 * 60 * 1000;
/// A token naming a key the cached set lacks fetches the keys again, at most this often:
/// garbage key ids cannot make every request a subrequest.
const JWKS_REFETCH_MIN_MS: i64 = 60 * 1000;

/// The signature algorithms the verifier knows, each bound to one key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, an `RSA` key.
    Rs256,
    /// ECDSA on P-256 with SHA-256, an `EC` key on `P-256`; the signature is `r || s`.
    Es256,
}

impl Alg {
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    fn from_name(name: &str) -> Option<Alg> {
        match name {
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }

    /// The JWK `kty` a key for this algorithm must have.
    fn key_type(self) -> &'static str {
        match self {
            Alg::Rs256 => "RSA",
            Alg::Es256 => "EC",
        }
    }

    /// The algorithm as `crypto.subtle.importKey` and `verify` name it (JSON).
    pub fn webcrypto_import(self) -> &'static str {
        match self {
            Alg::Rs256 => r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#,
            Alg::Es256 => r#"{"name":"ECDSA","namedCurve":"P-256"}"#,
        }
    }

    pub fn webcrypto_verify(self) -> &'static str {
        match self {
            Alg::Rs256 => r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#,
            Alg::Es256 => r#"{"name":"ECDSA","hash":"SHA-256"}"#,
        }
    }
}

/// Why a token was refused. Said to the person (so it names no key material); each caller
/// says whose token it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("is malformed ({0})")]
    Malformed(&'static str),
    /// The header's algorithm, cut short, and the ones accepted.
    #[error("is signed with {0}, not {1}")]
    Algorithm(String, &'static str),
    #[error("names a key the issuer does not publish")]
    UnknownKey,
    #[error("has a signature that does not verify")]
    BadSignature,
    #[error("is for another application (aud)")]
    WrongAudience,
    #[error("was issued by someone else (iss)")]
    WrongIssuer,
    #[error("has expired")]
    Expired,
    #[error("is not valid yet")]
    NotYetValid,
    #[error("was issued in the future (iat)")]
    IssuedInFuture,
    #[error("could not be checked: the issuer's keys could not be read ({0})")]
    Keys(String),
}

/// A token taken apart: its algorithm, the key it names, what was signed, the signature,
/// the claims (a JSON object).
#[derive(Debug, Clone)]
pub struct Jwt {
    pub alg: Alg,
    pub kid: Option<String>,
    /// `base64url(header) "." base64url(payload)`, the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
    pub claims: Map<String, Value>,
}

impl Jwt {
    /// A string claim.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// Takes a compact JWS apart, accepting only the algorithms in `allowed`.
pub fn parse(token: &str, allowed: &[Alg]) -> Result<Jwt, JwtError> {
    let names = |a: &[Alg]| match a {
        [Alg::Rs256] => "RS256",
        [Alg::Es256] => "ES256",
        _ => "RS256 or ES256",
    };
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::Malformed("too long"));
    }
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three parts"));
    };
    let header: Value =
        serde_json::from_slice(&base64url_decode(h).ok_or(JwtError::Malformed("header encoding"))?)
            .map_err(|_| JwtError::Malformed("header"))?;
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = Alg::from_name(alg_name)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| JwtError::Algorithm(alg_name.chars().take(20).collect(), names(allowed)))?;
    // A token that asks for an embedded or remote key is refused: keys come from the issuer.
    if ["jwk", "jku", "x5u", "x5c", "crit"]
        .iter()
        .any(|k| header.get(k).is_some())
    {
        return Err(JwtError::Malformed("header names its own key"));
    }
    let kid = header.get("kid").and_then(Value::as_str).map(String::from);
    let payload = base64url_decode(p).ok_or(JwtError::Malformed("payload encoding"))?;
    let claims = match serde_json::from_slice::<Value>(&payload) {
        Ok(Value::Object(m)) => m,
        _ => return Err(JwtError::Malformed("claims")),
    };
    let signature = base64url_decode(s).ok_or(JwtError::Malformed("signature encoding"))?;
    if alg == Alg::Es256 && signature.len() != 64 {
        return Err(JwtError::BadSignature);
    }
    Ok(Jwt {
        alg,
        kid,
        signing_input: format!("{h}.{p}"),
        signature,
        claims,
    })
}

/// What the claims must say: who issued the token, which audience it is for, and how far
/// the issuer's clock may be from ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub leeway_s: i64,
    /// OpenID Connect requires `iat`; Access's assertions are checked without it.
    pub require_iat: bool,
}

/// Whether `aud` (a string or a list of strings) names `ours`.
fn audience_contains(aud: Option<&Value>, ours: &str) -> bool {
    match aud {
        Some(Value::String(a)) => a == ours,
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(ours)),
        _ => false,
    }
}

/// Checks the claims at `now_ms`: `aud` contains ours, `iss` is the issuer (a trailing
/// slash aside), `exp` is ahead, `nbf` (if any) and `iat` are not ahead, each within the
/// leeway. Call it only after the signature verified.
pub fn check_claims(jwt: &Jwt, expect: &Expect, now_ms: i64) -> Result<(), JwtError> {
    let c = &jwt.claims;
    if !audience_contains(c.get("aud"), expect.audience) {
        return Err(JwtError::WrongAudience);
    }
    let iss = jwt.text("iss").unwrap_or("");
    if iss.is_empty() || iss.trim_end_matches('/') != expect.issuer.trim_end_matches('/') {
        return Err(JwtError::WrongIssuer);
    }
    let now_s = now_ms as f64 / 1000.0;
    let leeway = expect.leeway_s as f64;
    let number = |k: &str| c.get(k).and_then(Value::as_f64);
    match number("exp") {
        Some(exp) if exp + leeway > now_s => {}
        _ => return Err(JwtError::Expired),
    }
    if number("nbf").is_some_and(|nbf| nbf - leeway > now_s) {
        return Err(JwtError::NotYetValid);
    }
    match number("iat") {
        Some(iat) if iat - leeway > now_s => return Err(JwtError::IssuedInFuture),
        None if expect.require_iat => return Err(JwtError::Malformed("no iat")),
        _ => {}
    }
    Ok(())
}

/// A public key of an issuer's set, as the Web Crypto API imports it (`jwk`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub alg: Alg,
    /// The JWK (only its public members) `crypto.subtle.importKey("jwk", …)` takes.
    pub import_json: String,
}

/// The key a token names in a JWKS document: the one with its `kid` whose `kty` (and `alg`,
/// `crv`, `use` when the key says) fit the token's algorithm; a token without a `kid` may
/// use the set's only such key. `Ok(None)` when the set has no such key (fetch again: the
/// issuer may have rotated).
pub fn find_key(jwks: &str, kid: Option<&str>, alg: Alg) -> Result<Option<PublicJwk>, JwtError> {
    let set: Value =
        serde_json::from_str(jwks).map_err(|e| JwtError::Keys(format!("not a key set: {e}")))?;
    let keys = (set.get("keys").and_then(Value::as_array))
        .ok_or_else(|| JwtError::Keys("not a key set: no keys".into()))?;
    let fits = |k: &&Value| {
        let text = |name: &str| k.get(name).and_then(Value::as_str);
        text("kty") == Some(alg.key_type())
            && text("alg").is_none_or(|a| a == alg.name())
            && text("use").is_none_or(|u| u == "sig")
            && (alg != Alg::Es256 || text("crv") == Some("P-256"))
    };
    let candidates: Vec<&Value> = keys.iter().filter(fits).collect();
    let key = match kid {
        Some(kid) => candidates
            .iter()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid)),
        None if candidates.len() == 1 => candidates.first(),
        None => None,
    };
    let Some(k) = key else { return Ok(None) };
    let text = |name: &str| k.get(name).and_then(Value::as_str).map(String::from);
    let import = match alg {
        Alg::Rs256 => serde_json::json!({
            "kty": "RSA", "n": text("n"), "e": text("e"), "alg": "RS256", "ext": true
        }),
        Alg::Es256 => serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": text("x"), "y": text("y"), "ext": true
        }),
    };
    let complete = match alg {
        Alg::Rs256 => text("n").is_some() && text("e").is_some(),
        Alg::Es256 => text("x").is_some() && text("y").is_some(),
    };
    Ok(complete.then(|| PublicJwk {
        alg,
        import_json: import.to_string(),
    }))
}

/// Whether keys fetched at `fetched_at` may still be used at `now`.
pub fn keys_fresh(fetched_at: i64, now: i64) -> bool {
    now >= fetched_at && now - fetched_at < JWKS_TTL_MS
}

/// Whether a key id missing from keys fetched at `fetched_at` may fetch them again.
pub fn may_refetch_for_unknown_key(fetched_at: i64, now: i64) -> bool {
    now < fetched_at || now - fetched_at >= JWKS_REFETCH_MIN_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec::base64url_encode;

    const NOW: i64 = 1_700_000_000_000;
    const NOW_S: i64 = NOW / 1000;

    fn token(header: &str, claims: &str, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            base64url_encode(header.as_bytes()),
            base64url_encode(claims.as_bytes()),
            base64url_encode(sig)
        )
    }

    fn jwt(claims: &str) -> Jwt {
        parse(&token(r#"{"alg":"RS256"}"#, claims, b"s"), &[Alg::Rs256]).expect("parsed")
    }

    const EXPECT: Expect = Expect {
        issuer: "https://id.example",
        audience: "client-1",
        leeway_s: 60,
        require_iat: true,
    };

    #[test]
    fn only_the_allowed_algorithms_are_taken_apart() {
        let both = [Alg::Rs256, Alg::Es256];
        let t = parse(
            &token(r#"{"alg":"ES256","kid":"e1"}"#, "{}", &[7; 64]),
            &both,
        )
        .expect("ES256");
        assert_eq!((t.alg, t.kid.as_deref()), (Alg::Es256, Some("e1")));
        for alg in ["none", "HS256", "RS512", "PS256", "ES384", "", "rs256"] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}", b"s");
            assert!(
                matches!(parse(&t, &both), Err(JwtError::Algorithm(a, _)) if a == alg),
                "{alg}"
            );
        }
        let es = token(r#"{"alg":"ES256"}"#, "{}", &[7; 64]);
        assert_eq!(
            parse(&es, &[Alg::Rs256]).unwrap_err().to_string(),
            "is signed with ES256, not RS256"
        );
        let short = token(r#"{"alg":"ES256"}"#, "{}", &[7; 63]);
        assert_eq!(parse(&short, &both).unwrap_err(), JwtError::BadSignature);
    }

    #[test]
    fn a_token_that_brings_its_own_key_is_refused() {
        for extra in [
            r#""jwk":{}"#,
            r#""jku":"https://x""#,
            r#""x5u":"x""#,
            r#""x5c":[]"#,
        ] {
            let t = token(&format!(r#"{{"alg":"RS256",{extra}}}"#), "{}", b"s");
            assert_eq!(
                parse(&t, &[Alg::Rs256]).unwrap_err(),
                JwtError::Malformed("header names its own key"),
                "{extra}"
            );
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["a.b", "a.b.c.d", "!!.??.**", ""] {
            assert!(parse(bad, &[Alg::Rs256]).is_err(), "{bad}");
        }
        assert!(parse(&"a".repeat(MAX_TOKEN_BYTES + 1), &[Alg::Rs256]).is_err());
        let list = token(r#"{"alg":"RS256"}"#, "[1]", b"s");
        assert_eq!(
            parse(&list, &[Alg::Rs256]).unwrap_err(),
            JwtError::Malformed("claims")
        );
    }

    #[test]
    fn claims_hold_within_the_leeway_and_not_past_it() {
        let at = |exp: i64, nbf: i64, iat: i64| {
            jwt(&format!(
                r#"{{"iss":"https://id.example/","aud":["x","client-1"],"exp":{exp},"nbf":{nbf},"iat":{iat}}}"#
            ))
        };
        let ok = at(NOW_S + 300, NOW_S, NOW_S);
        assert_eq!(check_claims(&ok, &EXPECT, NOW), Ok(()));
        let skewed = at(NOW_S - 59, NOW_S + 59, NOW_S + 59);
        assert_eq!(check_claims(&skewed, &EXPECT, NOW), Ok(()), "within 60 s");
        let check = |j: Jwt| check_claims(&j, &EXPECT, NOW);
        assert_eq!(check(at(NOW_S - 60, NOW_S, NOW_S)), Err(JwtError::Expired));
        assert_eq!(
            check(at(NOW_S + 300, NOW_S + 61, NOW_S)),
            Err(JwtError::NotYetValid)
        );
        assert_eq!(
            check(at(NOW_S + 300, NOW_S, NOW_S + 61)),
            Err(JwtError::IssuedInFuture)
        );
        let strict = Expect {
            leeway_s: 0,
            ..EXPECT
        };
        assert_eq!(
            check_claims(&at(NOW_S, NOW_S, NOW_S), &strict, NOW),
            Err(JwtError::Expired)
        );
    }

    #[test]
    fn claims_must_name_our_audience_and_issuer_and_carry_exp_and_iat() {
        let exp = NOW_S + 60;
        let refused = |json: String, why: JwtError| {
            assert_eq!(check_claims(&jwt(&json), &EXPECT, NOW), Err(why), "{json}");
        };
        let iss = "https://id.example";
        refused(
            format!(r#"{{"iss":"{iss}","aud":"other","exp":{exp},"iat":{NOW_S}}}"#),
            JwtError::WrongAudience,
        );
        refused(
            format!(r#"{{"iss":"{iss}","exp":{exp},"iat":{NOW_S}}}"#),
            JwtError::WrongAudience,
        );
        refused(
            format!(
                r#"{{"iss":"https://evil.example","aud":"client-1","exp":{exp},"iat":{NOW_S}}}"#
            ),
            JwtError::WrongIssuer,
        );
        refused(
            format!(r#"{{"aud":"client-1","exp":{exp},"iat":{NOW_S}}}"#),
            JwtError::WrongIssuer,
        );
        refused(
            format!(r#"{{"iss":"{iss}","aud":"client-1","iat":{NOW_S}}}"#),
            JwtError::Expired,
        );
        refused(
            format!(r#"{{"iss":"{iss}","aud":"client-1","exp":{exp}}}"#),
            JwtError::Malformed("no iat"),
        );
        let access = Expect {
            require_iat: false,
            ..EXPECT
        };
        let no_iat = jwt(&format!(
            r#"{{"iss":"{iss}","aud":"client-1","exp":{exp}}}"#
        ));
        assert_eq!(check_claims(&no_iat, &access, NOW), Ok(()));
    }

    const JWKS: &str = r#"{"keys":[
        {"kid":"ec","kty":"EC","crv":"P-256","x":"xx","y":"yy","use":"sig"},
        {"kid":"ec384","kty":"EC","crv":"P-384","x":"a","y":"b"},
        {"kid":"k1","kty":"RSA","alg":"RS256","use":"sig","n":"nnn","e":"AQAB"},
        {"kid":"k2","kty":"RSA","alg":"RS512","n":"m","e":"AQAB"},
        {"kid":"enc","kty":"RSA","use":"enc","n":"m","e":"AQAB"},
        {"kid":"sym","kty":"oct","k":"c2VjcmV0"}
      ],"public_cert":{"kid":"k1","cert":"…"}}"#;

    #[test]
    fn the_key_is_found_by_id_only_when_its_type_fits_the_tokens_algorithm() {
        let rsa = find_key(JWKS, Some("k1"), Alg::Rs256)
            .expect("read")
            .expect("found");
        assert!(
            rsa.import_json.contains(r#""n":"nnn""#),
            "{}",
            rsa.import_json
        );
        let ec = find_key(JWKS, Some("ec"), Alg::Es256)
            .expect("read")
            .expect("found");
        assert!(ec.import_json.contains(r#""crv":"P-256""#));
        assert!(!ec.import_json.contains("use"), "only public members");
        // Algorithm confusion: an RSA key id under ES256, an EC key under RS256, a symmetric key.
        assert_eq!(find_key(JWKS, Some("k1"), Alg::Es256), Ok(None));
        assert_eq!(find_key(JWKS, Some("ec"), Alg::Rs256), Ok(None));
        assert_eq!(find_key(JWKS, Some("sym"), Alg::Rs256), Ok(None));
        assert_eq!(
            find_key(JWKS, Some("k2"), Alg::Rs256),
            Ok(None),
            "RS512 key"
        );
        assert_eq!(
            find_key(JWKS, Some("enc"), Alg::Rs256),
            Ok(None),
            "an encryption key"
        );
        assert_eq!(find_key(JWKS, Some("ec384"), Alg::Es256), Ok(None), "P-384");
        assert_eq!(find_key(JWKS, Some("zz"), Alg::Rs256), Ok(None));
        // No kid: only when one key fits.
        assert!(find_key(JWKS, None, Alg::Es256).expect("read").is_some());
        let two = r#"{"keys":[{"kid":"a","kty":"RSA","n":"1","e":"2"},{"kid":"b","kty":"RSA","n":"1","e":"2"}]}"#;
        assert_eq!(find_key(two, None, Alg::Rs256), Ok(None));
        assert!(find_key("<html>", Some("k1"), Alg::Rs256).is_err());
        assert!(find_key("{}", Some("k1"), Alg::Rs256).is_err());
    }

    #[test]
    fn keys_are_cached_and_refetched_at_most_once_a_minute_for_a_new_id() {
        assert!(keys_fresh(NOW, NOW));
        assert!(keys_fresh(NOW, NOW + JWKS_TTL_MS - 1));
        assert!(!keys_fresh(NOW, NOW + JWKS_TTL_MS));
        assert!(
            !keys_fresh(NOW, NOW - 1),
            "a clock that went back refetches"
        );
        assert!(!may_refetch_for_unknown_key(NOW, NOW + 1_000));
        assert!(may_refetch_for_unknown_key(NOW, NOW + JWKS_REFETCH_MIN_MS));
    }
}
