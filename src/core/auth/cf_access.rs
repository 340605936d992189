//! Cloudflare Access sign-in, the pure part.
//!
//! The `Cf-Access-Jwt-Assertion` parsed, its claims checked (audience, issuer, expiry,
//! not-before; the clock passed in), the team's keys read and the signing key picked. The
//! RS256 signature itself is checked at the edge with the Worker's own SubtleCrypto.

use serde_json::Value;

use crate::core::codec::base64url_decode;

/// The header Cloudflare Access adds to every request it lets through.
pub const ASSERTION_HEADER: &str = "Cf-Access-Jwt-Assertion";
/// An assertion longer than this is refused unread (Access's are about 1 KiB).
const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// The team's keys (a JWKS) bigger than this are refused.
pub const MAX_CERTS_BYTES: usize = 64 * 1024;
/// How long fetched keys are used before they are fetched again (Access rotates its
/// keys every six weeks and keeps signing with the old one for a week after).
const CERTS_TTL_MS: i64 = 60 * 60 * 1000;
/// An assertion naming a key the cached set lacks fetches the keys again, at most this
/// often: garbage key ids cannot make every request a subrequest.
const CERTS_REFETCH_MIN_MS: i64 = 60 * 1000;
/// The longest email a session names.
const MAX_EMAIL_CHARS: usize = 254;

/// Where to check an Access assertion: set by `ACCESS_TEAM_DOMAIN` and `ACCESS_AUD`
/// (both, or Access sign-in is off), and `ACCESS_CERTS_URL` (tests point it at a loopback
/// server; by default the team's `/cdn-cgi/access/certs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// `https://<team>.cloudflareaccess.com`, the `iss` every assertion must carry.
    pub issuer: String,
    /// The application's audience tag, which `aud` must contain.
    pub aud: String,
    pub certs_url: String,
}

impl AccessConfig {
    /// `None` when Access sign-in is not configured (or the team domain is not a host name).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<AccessConfig> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let team = var("ACCESS_TEAM_DOMAIN")?;
        let aud = var("ACCESS_AUD")?;
        let host = team
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        let valid = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid {
            return None;
        }
        // "myteam" is short for myteam.cloudflareaccess.com; a full name is kept as given.
        let host = if host.contains('.') {
            host
        } else {
            format!("{host}.cloudflareaccess.com")
        };
        let issuer = format!("https://{host}");
        let certs_url =
            var("ACCESS_CERTS_URL").unwrap_or_else(|| format!("{issuer}/cdn-cgi/access/certs"));
        Some(AccessConfig {
            issuer,
            aud,
            certs_url,
        })
    }
}

/// Why an assertion was refused (shown to the person, so it names no key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("the Access token is malformed ({0})")]
    Malformed(&'static str),
    #[error("the Access token is signed with {0}, not RS256")]
    Algorithm(String),
    #[error("the Access token names a key the team does not publish")]
    UnknownKey,
    #[error("the Access token's signature does not verify")]
    BadSignature,
    #[error("the Access token is for another application (aud)")]
    WrongAudience,
    #[error("the Access token was issued by another team (iss)")]
    WrongIssuer,
    #[error("the Access token has expired")]
    Expired,
    #[error("the Access token is not valid yet")]
    NotYetValid,
    #[error("the Access token names no person (email)")]
    NoEmail,
    #[error("the team's Access keys could not be read: {0}")]
    Certs(String),
}

/// An assertion taken apart: what was signed, the signature, the key it names, the claims.
#[derive(Debug, Clone)]
pub struct Assertion {
    pub kid: String,
    /// `base64url(header) "." base64url(payload)`, the bytes the signature covers.
    pub signing_input: String,
    pub signature: Vec<u8>,
    pub claims: Claims,
}

/// The claims Orrery checks. Read through `serde_json::Value` rather than derived
/// `Deserialize` impls: the Value parser is in the wasm already, derives would add code.
#[derive(Debug, Clone)]
pub struct Claims {
    /// One string or a list of them.
    pub aud: Value,
    pub iss: String,
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub email: Option<String>,
}

impl Claims {
    /// The claims of a JSON object; `None` when it is not one.
    pub fn from_json(json: &[u8]) -> Option<Claims> {
        let v: Value = serde_json::from_slice(json).ok()?;
        let o = v.as_object()?;
        let text = |k: &str| o.get(k).and_then(Value::as_str).map(String::from);
        Some(Claims {
            aud: o.get("aud").cloned().unwrap_or(Value::Null),
            iss: text("iss").unwrap_or_default(),
            exp: o.get("exp").and_then(Value::as_f64),
            nbf: o.get("nbf").and_then(Value::as_f64),
            email: text("email"),
        })
    }
}

/// Whether `aud` (a string or a list of strings) names `ours`.
fn audience_contains(aud: &Value, ours: &str) -> bool {
    match aud {
        Value::String(a) => a == ours,
        Value::Array(all) => all.iter().any(|a| a.as_str() == Some(ours)),
        _ => false,
    }
}

/// Takes an assertion apart. Only RS256 is accepted (never `none`, never an HMAC whose
/// key would be the public key), and it must name its key.
pub fn parse(token: &str) -> Result<Assertion, AccessError> {
    if token.len() > MAX_ASSERTION_BYTES {
        return Err(AccessError::Malformed("too long"));
    }
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AccessError::Malformed("not three parts"));
    };
    let header: Value = serde_json::from_slice(
        &base64url_decode(h).ok_or(AccessError::Malformed("header encoding"))?,
    )
    .map_err(|_| AccessError::Malformed("header"))?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != "RS256" {
        return Err(AccessError::Algorithm(alg.chars().take(20).collect()));
    }
    let kid = (header.get("kid").and_then(Value::as_str))
        .ok_or(AccessError::Malformed("no key id"))?
        .to_string();
    let claims =
        Claims::from_json(&base64url_decode(p).ok_or(AccessError::Malformed("payload encoding"))?)
            .ok_or(AccessError::Malformed("claims"))?;
    let signature = base64url_decode(s).ok_or(AccessError::Malformed("signature encoding"))?;
    Ok(Assertion {
        kid,
        signing_input: format!("{h}.{p}"),
        signature,
        claims,
    })
}

/// The person an assertion names, once its claims hold at `now_ms`: `aud` contains the
/// application's tag, `iss` is the team, `exp` is still ahead and `nbf` (if any) past, with
/// no leeway (Access and the Worker read the same network's clocks). Call it only after
/// the signature verified.
pub fn check_claims(c: &Claims, cfg: &AccessConfig, now_ms: i64) -> Result<String, AccessError> {
    if !audience_contains(&c.aud, &cfg.aud) {
        return Err(AccessError::WrongAudience);
    }
    if c.iss.trim_end_matches('/') != cfg.issuer {
        return Err(AccessError::WrongIssuer);
    }
    let now_s = now_ms as f64 / 1000.0;
    match c.exp {
        Some(exp) if exp > now_s => {}
        _ => return Err(AccessError::Expired),
    }
    if c.nbf.is_some_and(|nbf| nbf > now_s) {
        return Err(AccessError::NotYetValid);
    }
    let email = c.email.as_deref().map(str::trim).unwrap_or("");
    if email.is_empty()
        || email.chars().count() > MAX_EMAIL_CHARS
        || email.chars().any(char::is_control)
    {
        return Err(AccessError::NoEmail);
    }
    Ok(email.to_string())
}

/// One RSA public key of the team's set, as the Web Crypto API imports it (`jwk`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaJwk {
    pub n: String,
    pub e: String,
}

impl RsaJwk {
    /// The JWK the edge hands to `crypto.subtle.importKey("jwk", …)`.
    pub fn to_import_json(&self) -> String {
        serde_json::json!({"kty": "RSA", "n": self.n, "e": self.e, "alg": "RS256", "ext": true})
            .to_string()
    }
}

/// The RSA key named `kid` in a JWKS document (Access's `certs` answer); `Ok(None)` when
/// the set has no such key (fetch again: the team may have rotated).
pub fn find_key(jwks: &str, kid: &str) -> Result<Option<RsaJwk>, AccessError> {
    let set: Value = serde_json::from_str(jwks)
        .map_err(|e| AccessError::Certs(format!("not a key set: {e}")))?;
    let keys = (set.get("keys").and_then(Value::as_array))
        .ok_or_else(|| AccessError::Certs("not a key set: no keys".into()))?;
    Ok(keys.iter().find_map(|k| {
        let text = |name: &str| k.get(name).and_then(Value::as_str);
        let rs256 = text("kty") == Some("RSA") && text("alg").is_none_or(|a| a == "RS256");
        (text("kid") == Some(kid) && rs256).then_some(())?;
        Some(RsaJwk {
            n: text("n")?.to_string(),
            e: text("e")?.to_string(),
        })
    }))
}

/// Whether keys fetched at `fetched_at` may still be used at `now`.
pub fn certs_fresh(fetched_at: i64, now: i64) -> bool {
    now >= fetched_at && now - fetched_at < CERTS_TTL_MS
}

/// Whether a key id missing from keys fetched at `fetched_at` may fetch them again.
pub fn may_refetch_for_unknown_key(fetched_at: i64, now: i64) -> bool {
    now < fetched_at || now - fetched_at >= CERTS_REFETCH_MIN_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec::base64url_encode;

    fn cfg() -> AccessConfig {
        AccessConfig::from_lookup(|k| match k {
            "ACCESS_TEAM_DOMAIN" => Some("myteam".into()),
            "ACCESS_AUD" => Some("aud-tag".into()),
            _ => None,
        })
        .expect("configured")
    }

    fn token(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.{}",
            base64url_encode(header.as_bytes()),
            base64url_encode(claims.as_bytes()),
            base64url_encode(b"sig")
        )
    }

    const NOW: i64 = 1_700_000_000_000;

    fn claims(json: &str) -> Claims {
        Claims::from_json(json.as_bytes()).expect("claims")
    }

    #[test]
    fn configuration_needs_both_vars_and_names_the_team() {
        let c = cfg();
        assert_eq!(c.issuer, "https://myteam.cloudflareaccess.com");
        assert_eq!(
            c.certs_url,
            "https://myteam.cloudflareaccess.com/cdn-cgi/access/certs"
        );
        let full = AccessConfig::from_lookup(|k| match k {
            "ACCESS_TEAM_DOMAIN" => Some("https://MyTeam.cloudflareaccess.com/".into()),
            "ACCESS_AUD" => Some("a".into()),
            "ACCESS_CERTS_URL" => Some("http://127.0.0.1:9/certs".into()),
            _ => None,
        })
        .expect("configured");
        assert_eq!(full.issuer, "https://myteam.cloudflareaccess.com");
        assert_eq!(full.certs_url, "http://127.0.0.1:9/certs");
        let only_team = |k: &str| (k == "ACCESS_TEAM_DOMAIN").then(|| "t".to_string());
        assert_eq!(AccessConfig::from_lookup(only_team), None);
        let bad = |k: &str| Some(if k == "ACCESS_AUD" { "a" } else { "x/y@z" }.to_string());
        assert_eq!(AccessConfig::from_lookup(bad), None);
    }

    #[test]
    fn only_rs256_with_a_key_id_is_taken_apart() {
        let t = token(
            r#"{"alg":"RS256","kid":"k1"}"#,
            r#"{"aud":["aud-tag"],"iss":"https://myteam.cloudflareaccess.com","exp":1,"email":"a@b.c"}"#,
        );
        let a = parse(&t).expect("parsed");
        assert_eq!(a.kid, "k1");
        assert_eq!(a.signature, b"sig");
        assert_eq!(t.rsplit_once('.').map(|(i, _)| i), Some(&*a.signing_input));
        for alg in ["none", "HS256", "RS512", "ES256"] {
            let t = token(&format!(r#"{{"alg":"{alg}","kid":"k1"}}"#), "{}");
            assert_eq!(
                parse(&t).unwrap_err(),
                AccessError::Algorithm(alg.into()),
                "{alg}"
            );
        }
        let no_kid = token(r#"{"alg":"RS256"}"#, "{}");
        assert_eq!(
            parse(&no_kid).unwrap_err(),
            AccessError::Malformed("no key id")
        );
        assert!(parse("a.b").is_err());
        assert!(parse("a.b.c.d").is_err());
        assert!(parse("!!.??.**").is_err());
        assert!(parse(&"a".repeat(MAX_ASSERTION_BYTES + 1)).is_err());
    }

    #[test]
    fn claims_must_name_our_audience_and_team_and_be_current() {
        let c = cfg();
        let exp = NOW / 1000 + 60;
        let ok = claims(&format!(
            r#"{{"aud":["other","aud-tag"],"iss":"https://myteam.cloudflareaccess.com","exp":{exp},"nbf":{},"email":"ada@example.com"}}"#,
            NOW / 1000 - 5
        ));
        assert_eq!(check_claims(&ok, &c, NOW).as_deref(), Ok("ada@example.com"));
        let one_aud = claims(&format!(
            r#"{{"aud":"aud-tag","iss":"https://myteam.cloudflareaccess.com/","exp":{exp},"email":"x@y"}}"#
        ));
        assert!(check_claims(&one_aud, &c, NOW).is_ok());
        let refused = |json: String, why: AccessError| {
            assert_eq!(check_claims(&claims(&json), &c, NOW), Err(why), "{json}");
        };
        let iss = "https://myteam.cloudflareaccess.com";
        refused(
            format!(r#"{{"aud":["nope"],"iss":"{iss}","exp":{exp},"email":"a@b"}}"#),
            AccessError::WrongAudience,
        );
        refused(
            format!(r#"{{"iss":"{iss}","exp":{exp},"email":"a@b"}}"#),
            AccessError::WrongAudience,
        );
        refused(
            format!(
                r#"{{"aud":"aud-tag","iss":"https://evil.cloudflareaccess.com","exp":{exp},"email":"a@b"}}"#
            ),
            AccessError::WrongIssuer,
        );
        refused(
            format!(
                r#"{{"aud":"aud-tag","iss":"{iss}","exp":{},"email":"a@b"}}"#,
                NOW / 1000
            ),
            AccessError::Expired,
        );
        refused(
            format!(r#"{{"aud":"aud-tag","iss":"{iss}","email":"a@b"}}"#),
            AccessError::Expired,
        );
        refused(
            format!(
                r#"{{"aud":"aud-tag","iss":"{iss}","exp":{exp},"nbf":{},"email":"a@b"}}"#,
                NOW / 1000 + 30
            ),
            AccessError::NotYetValid,
        );
        refused(
            format!(r#"{{"aud":"aud-tag","iss":"{iss}","exp":{exp},"common_name":"svc"}}"#),
            AccessError::NoEmail,
        );
        refused(
            format!(r#"{{"aud":"aud-tag","iss":"{iss}","exp":{exp},"email":"a\nb"}}"#),
            AccessError::NoEmail,
        );
    }

    #[test]
    fn the_signing_key_is_found_by_id() {
        let jwks = r#"{"keys":[
            {"kid":"ec","kty":"EC","crv":"P-256","x":"a","y":"b"},
            {"kid":"k1","kty":"RSA","alg":"RS256","use":"sig","n":"nnn","e":"AQAB"},
            {"kid":"k2","kty":"RSA","alg":"RS512","n":"m","e":"AQAB"}
          ],"public_cert":{"kid":"k1","cert":"…"}}"#;
        let k = find_key(jwks, "k1").expect("read").expect("found");
        assert_eq!(
            k,
            RsaJwk {
                n: "nnn".into(),
                e: "AQAB".into()
            }
        );
        assert!(k.to_import_json().contains(r#""kty":"RSA""#));
        assert_eq!(find_key(jwks, "k2"), Ok(None), "not an RS256 key");
        assert_eq!(find_key(jwks, "ec"), Ok(None), "not an RSA key");
        assert_eq!(find_key(jwks, "zz"), Ok(None));
        assert!(find_key("<html>", "k1").is_err());
    }

    #[test]
    fn keys_are_cached_and_refetched_at_most_once_a_minute_for_a_new_id() {
        assert!(certs_fresh(NOW, NOW));
        assert!(certs_fresh(NOW, NOW + CERTS_TTL_MS - 1));
        assert!(!certs_fresh(NOW, NOW + CERTS_TTL_MS));
        assert!(
            !certs_fresh(NOW, NOW - 1),
            "a clock that went back refetches"
        );
        assert!(!may_refetch_for_unknown_key(NOW, NOW + 1_000));
        assert!(may_refetch_for_unknown_key(NOW, NOW + CERTS_REFETCH_MIN_MS));
    }
}
