//! Cloudflare Access sign-in, the pure part.
//!
//! Where the team's keys are and what an assertion must say; the `Cf-Access-Jwt-Assertion`
//! is taken apart, its key picked and its claims checked by the one verifier (`jwt`), with
//! Access's own rules on top (RS256 only, a key id, an email). The signature itself is
//! checked at the edge with the Worker's own SubtleCrypto.

use super::jwt::{self, Alg, Expect, Jwt, JwtError};

/// The header Cloudflare Access adds to every request it lets through.
pub const ASSERTION_HEADER: &str = "Cf-Access-Jwt-Assertion";
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

impl From<JwtError> for AccessError {
    fn from(e: JwtError) -> Self {
        match e {
            JwtError::Malformed(why) => AccessError::Malformed(why),
            JwtError::Algorithm(alg, _) => AccessError::Algorithm(alg),
            JwtError::UnknownKey => AccessError::UnknownKey,
            JwtError::BadSignature => AccessError::BadSignature,
            JwtError::WrongAudience => AccessError::WrongAudience,
            JwtError::WrongIssuer => AccessError::WrongIssuer,
            JwtError::Expired => AccessError::Expired,
            JwtError::NotYetValid | JwtError::IssuedInFuture => AccessError::NotYetValid,
            JwtError::Keys(why) => AccessError::Certs(why),
        }
    }
}

/// Access signs with RS256 only.
pub const ALGORITHMS: &[Alg] = &[Alg::Rs256];

/// Takes an assertion apart (see `jwt::parse`): RS256 only, and it must name its key.
pub fn parse(token: &str) -> Result<Jwt, AccessError> {
    let jwt = jwt::parse(token, ALGORITHMS)?;
    if jwt.kid.is_none() {
        return Err(AccessError::Malformed("no key id"));
    }
    Ok(jwt)
}

/// The person an assertion names, once its claims hold at `now_ms`: `aud` contains the
/// application's tag, `iss` is the team, `exp` is still ahead and `nbf` (if any) past, with
/// no leeway (Access and the Worker read the same network's clocks). Call it only after
/// the signature verified.
pub fn check_claims(a: &Jwt, cfg: &AccessConfig, now_ms: i64) -> Result<String, AccessError> {
    let expect = Expect {
        issuer: &cfg.issuer,
        audience: &cfg.aud,
        leeway_s: 0,
        require_iat: false,
    };
    jwt::check_claims(a, &expect, now_ms)?;
    let email = a.text("email").map(str::trim).unwrap_or("");
    if email.is_empty()
        || email.chars().count() > MAX_EMAIL_CHARS
        || email.chars().any(char::is_control)
    {
        return Err(AccessError::NoEmail);
    }
    Ok(email.to_string())
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

    fn claims(json: &str) -> Jwt {
        jwt::parse(&token(r#"{"alg":"RS256","kid":"k"}"#, json), ALGORITHMS).expect("claims")
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
        assert_eq!(a.kid.as_deref(), Some("k1"));
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
        assert!(parse(&"a".repeat(9 * 1024)).is_err());
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
}
