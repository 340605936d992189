//! Signing in as yourself, the pure part: GitHub's OAuth app and any OpenID Connect
//! provider (authorization code + PKCE), the state cookie bound to the browser, and what
//! each provider's answers say about the person.
//!
//! The edge makes the requests (discovery, the code exchange, the ID token's keys, GitHub's
//! `/user` and `/user/emails`); every decision and every parse is here, the clock and the
//! random values passed in.

mod github;
mod oidc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::jwt::{self, JwtError};
use super::session::{self, is_loopback_host};
use crate::core::codec::{base64url_encode, constant_time_eq};

pub use github::{github_authorize_url, github_identity, github_token_form};
pub use oidc::{
    check_id_token, oidc_authorize_url, oidc_identity, oidc_token_form, read_discovery, Discovery,
};

/// The state cookie: HttpOnly, `SameSite=Lax` (it must come back on the provider's
/// cross-site redirect to the callback), under `/auth`, ten minutes.
pub const STATE_COOKIE: &str = "orrery_signin";
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;
/// An ID token's `iat`/`exp`/`nbf` may be this far from our clock.
pub const ID_TOKEN_LEEWAY_S: i64 = 60;
/// The biggest answer read from a provider (discovery, token, user, emails).
pub const MAX_PROVIDER_ANSWER_BYTES: usize = 64 * 1024;
/// How long a discovery document is used before it is read again.
pub const DISCOVERY_TTL_MS: i64 = 60 * 60 * 1000;
/// The algorithms an ID token may be signed with.
pub const ID_TOKEN_ALGORITHMS: &[jwt::Alg] = &[jwt::Alg::Rs256, jwt::Alg::Es256];

const GITHUB_WEB: &str = "https://github.com";
const GITHUB_API: &str = "https://api.github.com";

/// Which way someone signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GitHub,
    Oidc,
}

impl Provider {
    pub fn slug(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::Oidc => "oidc",
        }
    }

    fn from_slug(s: &str) -> Option<Provider> {
        match s {
            "github" => Some(Provider::GitHub),
            "oidc" => Some(Provider::Oidc),
            _ => None,
        }
    }

    /// Where the provider sends the browser back: `<origin>/auth/<slug>/callback`.
    pub fn callback_url(self, origin: &str) -> String {
        format!(
            "{}/auth/{}/callback",
            origin.trim_end_matches('/'),
            self.slug()
        )
    }
}

/// GitHub sign-in: `GITHUB_CLIENT_ID` and the secret `GITHUB_CLIENT_SECRET`; the tests point
/// `GITHUB_URL` (github.com's OAuth pages) and `GITHUB_API_URL` at a loopback stand-in,
/// which is refused anywhere but loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubConfig {
    pub client_id: String,
    pub client_secret: String,
    pub web: String,
    pub api: String,
}

impl GitHubConfig {
    pub fn authorize_endpoint(&self) -> String {
        format!("{}/login/oauth/authorize", self.web)
    }
    pub fn token_endpoint(&self) -> String {
        format!("{}/login/oauth/access_token", self.web)
    }
    pub fn user_endpoint(&self) -> String {
        format!("{}/user", self.api)
    }
    pub fn emails_endpoint(&self) -> String {
        format!("{}/user/emails", self.api)
    }
    pub fn orgs_endpoint(&self) -> String {
        format!("{}/user/orgs?per_page=100", self.api)
    }
}

/// OpenID Connect sign-in: `OIDC_ISSUER`, `OIDC_CLIENT_ID`, the secret `OIDC_CLIENT_SECRET`
/// and `OIDC_NAME` (the button says "Sign in with <name>").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
}

impl OidcConfig {
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }
}

/// Both providers, as configured (either, both or neither), and what could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignInConfig {
    pub github: Option<GitHubConfig>,
    pub oidc: Option<OidcConfig>,
    pub problems: Vec<String>,
}

/// An `http(s)://` base URL with no query: `https://` anywhere, `http://` only on loopback
/// (the tests' stand-ins); `None` otherwise.
pub(super) fn base_url(raw: &str, loopback_only: bool) -> Option<String> {
    let u = url::Url::parse(raw.trim()).ok()?;
    let loopback = u.host_str().is_some_and(is_loopback_host);
    let ok_scheme = match u.scheme() {
        "https" => true,
        "http" => loopback,
        _ => false,
    };
    (ok_scheme && (loopback || !loopback_only) && u.query().is_none() && u.fragment().is_none())
        .then(|| u.as_str().trim_end_matches('/').to_string())
}

impl SignInConfig {
    /// Reads the vars and secrets (`get` looks up both).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> SignInConfig {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let github = match (var("GITHUB_CLIENT_ID"), var("GITHUB_CLIENT_SECRET")) {
            (Some(client_id), Some(client_secret)) => {
                let mut url = |k: &str, default: &str| match var(k) {
                    None => default.to_string(),
                    Some(v) => base_url(&v, true).unwrap_or_else(|| {
                        problems.push(format!("{k} is for tests on loopback only; ignored"));
                        default.to_string()
                    }),
                };
                let web = url("GITHUB_URL", GITHUB_WEB);
                let api = url("GITHUB_API_URL", GITHUB_API);
                Some(GitHubConfig {
                    client_id,
                    client_secret,
                    web,
                    api,
                })
            }
            (Some(_), None) => {
                problems.push("GITHUB_CLIENT_ID is set but the secret GITHUB_CLIENT_SECRET is not; GitHub sign-in is off".into());
                None
            }
            _ => None,
        };
        let oidc = match (
            var("OIDC_ISSUER"),
            var("OIDC_CLIENT_ID"),
            var("OIDC_CLIENT_SECRET"),
        ) {
            (Some(issuer), Some(client_id), Some(client_secret)) => {
                match base_url(&issuer, false) {
                    Some(issuer) => Some(OidcConfig {
                        issuer,
                        client_id,
                        client_secret,
                        name: var("OIDC_NAME")
                            .map(|n| n.chars().take(40).collect())
                            .unwrap_or_else(|| "OpenID Connect".into()),
                    }),
                    None => {
                        problems.push(
                            "OIDC_ISSUER must be an https:// URL; OpenID Connect sign-in is off"
                                .into(),
                        );
                        None
                    }
                }
            }
            (None, None, None) => None,
            _ => {
                problems.push("OpenID Connect sign-in needs OIDC_ISSUER, OIDC_CLIENT_ID and the secret OIDC_CLIENT_SECRET; it is off".into());
                None
            }
        };
        SignInConfig {
            github,
            oidc,
            problems,
        }
    }
}

/// A PKCE verifier's S256 challenge: `base64url(SHA-256(verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    base64url_encode(&Sha256::digest(verifier.as_bytes()))
}

/// What the state cookie binds to this browser for one sign-in: the provider, the `state`
/// the provider hands back, the ID token's `nonce`, the PKCE verifier, and when it lapses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub provider: Provider,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub expires: i64,
}

fn token_chars(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Pending {
    /// A new sign-in from three random values (each 16–128 URL-safe characters).
    pub fn new(provider: Provider, random: [&str; 3], now_ms: i64) -> Option<Pending> {
        random.iter().all(|r| token_chars(r)).then(|| Pending {
            provider,
            state: random[0].into(),
            nonce: random[1].into(),
            verifier: random[2].into(),
            expires: now_ms + STATE_TTL_MS,
        })
    }

    /// The cookie value: the fields and an HMAC over them with the session key.
    pub fn seal(&self, key: &[u8; 32]) -> String {
        let body = format!(
            "{}.{}.{}.{}.{}",
            self.provider.slug(),
            self.state,
            self.nonce,
            self.verifier,
            self.expires
        );
        let sig = session::mac_hex(key, &["signin-state", &body]);
        format!("{body}.{sig}")
    }

    /// A cookie value this key sealed that has not lapsed.
    pub fn open(key: &[u8; 32], value: &str, now_ms: i64) -> Option<Pending> {
        let (body, sig) = value.rsplit_once('.')?;
        if !constant_time_eq(sig, &session::mac_hex(key, &["signin-state", body])) {
            return None;
        }
        let parts: Vec<&str> = body.split('.').collect();
        let [p, state, nonce, verifier, expires] = parts.as_slice() else {
            return None;
        };
        let expires = expires.parse::<i64>().ok().filter(|e| *e > now_ms)?;
        Some(Pending {
            provider: Provider::from_slug(p)?,
            state: (*state).into(),
            nonce: (*nonce).into(),
            verifier: (*verifier).into(),
            expires,
        })
    }
}

/// Why a sign-in did not happen, in words for the person (every case a clear page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("{0} sign-in is not set up on this planet")]
    NotConfigured(&'static str),
    #[error("this sign-in was not started in this browser, or took longer than ten minutes (the state does not match); start again")]
    State,
    #[error("the provider did not sign you in: {0}")]
    Provider(String),
    #[error(
        "the provider refused the sign-in code (it was used already, or has expired); start again"
    )]
    CodeRefused,
    #[error("the provider could not be reached ({0}); try again later")]
    Unreachable(String),
    #[error("the provider's answer could not be read ({0})")]
    BadAnswer(&'static str),
    #[error("the ID token {0}")]
    IdToken(JwtError),
    #[error("the ID token was not made for this sign-in (nonce)")]
    Nonce,
}

impl SignInError {
    /// Whether the failure is written to the audit log (at most once an hour per address and
    /// kind): only those that need a code the provider issued, so input anyone can make up
    /// (a state, a code, a provider's error) never spends a D1 row.
    pub fn is_audited(&self) -> bool {
        matches!(
            self,
            SignInError::IdToken(_) | SignInError::Nonce | SignInError::BadAnswer(_)
        )
    }

    /// The audit record's action detail: a short kind.
    pub fn kind(&self) -> &'static str {
        match self {
            SignInError::NotConfigured(_) => "not configured",
            SignInError::State => "state",
            SignInError::Provider(_) => "provider error",
            SignInError::CodeRefused => "code refused",
            SignInError::Unreachable(_) => "provider unreachable",
            SignInError::BadAnswer(_) => "bad answer",
            SignInError::IdToken(_) => "id token",
            SignInError::Nonce => "nonce",
        }
    }
}

/// Checks the callback's `state` against the cookie's (constant time), and that the cookie
/// is for this provider.
pub fn check_state(
    pending: Option<&Pending>,
    provider: Provider,
    state: Option<&str>,
) -> Result<(), SignInError> {
    match (pending, state) {
        (Some(p), Some(s)) if p.provider == provider && constant_time_eq(&p.state, s) => Ok(()),
        _ => Err(SignInError::State),
    }
}

pub(super) fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// `Authorization: Basic …` for the client (id and secret form-encoded first, RFC 6749 2.3.1).
pub fn client_basic_auth(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        crate::core::codec::base64_encode(format!("{}:{}", enc(client_id), enc(secret)).as_bytes())
    )
}

/// The callback's own error (`?error=access_denied&error_description=…`), when the provider
/// sent one instead of a code.
pub fn callback_error(error: Option<&str>, description: Option<&str>) -> Option<SignInError> {
    let e = error?;
    let said: String = description
        .unwrap_or(e)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    Some(SignInError::Provider(said))
}

/// What a token endpoint answered: the tokens, or a refusal (`invalid_grant`: the code was
/// used or lapsed; anything else named).
pub struct Tokens {
    pub access_token: String,
    pub id_token: Option<String>,
}

pub fn read_token_answer(status: u16, body: &[u8]) -> Result<Tokens, SignInError> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    // GitHub answers 200 with an `error` (bad_verification_code) for a used code.
    match text("error").as_deref() {
        Some("invalid_grant" | "bad_verification_code") => return Err(SignInError::CodeRefused),
        Some(e) => {
            let said: String = e.chars().filter(|c| !c.is_control()).take(80).collect();
            return Err(SignInError::Provider(said));
        }
        None => {}
    }
    if status != 200 {
        return Err(SignInError::Unreachable(format!(
            "the token endpoint answered HTTP {status}"
        )));
    }
    Ok(Tokens {
        access_token: text("access_token").ok_or(SignInError::BadAnswer("no access token"))?,
        id_token: text("id_token"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;
    const R1: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
    const R2: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";
    const R3: &str = "cccccccccccccccccccccccccccccccccccccccccccc";

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn pkce_s256_is_base64url_of_sha256_without_padding() {
        // Computed apart, with Python's hashlib and base64.urlsafe_b64encode.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mJ92K9O5hqRk3xQ2RzVmm3s4oNw1g"),
            "uBFggtufNKrDxlEnGH8nwOrHNq5BwynuCOoG4TZQynI"
        );
    }

    #[test]
    fn the_state_cookie_is_sealed_bound_to_its_provider_and_lapses() {
        let key = session::key_from_token("k");
        let p = Pending::new(Provider::Oidc, [R1, R2, R3], NOW).expect("random enough");
        let sealed = p.seal(&key);
        let back = Pending::open(&key, &sealed, NOW + 1).expect("opens");
        assert_eq!(back, p);
        assert_eq!(check_state(Some(&back), Provider::Oidc, Some(R1)), Ok(()));
        assert_eq!(
            check_state(Some(&back), Provider::Oidc, Some(R2)),
            Err(SignInError::State)
        );
        assert_eq!(
            check_state(Some(&back), Provider::GitHub, Some(R1)),
            Err(SignInError::State)
        );
        assert_eq!(
            check_state(Some(&back), Provider::Oidc, None),
            Err(SignInError::State)
        );
        assert_eq!(
            check_state(None, Provider::Oidc, Some(R1)),
            Err(SignInError::State)
        );
        assert_eq!(
            Pending::open(&key, &sealed, NOW + STATE_TTL_MS),
            None,
            "lapsed"
        );
        assert_eq!(
            Pending::open(&session::key_from_token("j"), &sealed, NOW),
            None
        );
        let forged = sealed.replacen("oidc", "github", 1);
        assert_eq!(Pending::open(&key, &forged, NOW), None);
        assert_eq!(Pending::new(Provider::Oidc, ["short", R2, R3], NOW), None);
        assert_eq!(
            Pending::new(Provider::Oidc, [R1, "has.dot.in.it.xxxxxxxx", R3], NOW),
            None
        );
    }

    #[test]
    fn test_base_urls_are_refused_outside_loopback_and_issuers_must_be_https() {
        let on = SignInConfig::from_lookup(lookup(&[
            ("GITHUB_CLIENT_ID", "id"),
            ("GITHUB_CLIENT_SECRET", "secret"),
            ("GITHUB_URL", "http://127.0.0.1:9001/"),
            ("GITHUB_API_URL", "https://api.evil.example"),
            ("OIDC_ISSUER", "http://localhost:9002/"),
            ("OIDC_CLIENT_ID", "c"),
            ("OIDC_CLIENT_SECRET", "s"),
        ]));
        let gh = on.github.expect("github");
        assert_eq!(gh.web, "http://127.0.0.1:9001");
        assert_eq!(gh.api, GITHUB_API, "a non-loopback override is ignored");
        assert_eq!(on.problems.len(), 1, "{:?}", on.problems);
        let oidc = on.oidc.expect("oidc");
        assert_eq!(oidc.issuer, "http://localhost:9002");
        assert_eq!(oidc.name, "OpenID Connect");
        let plain = SignInConfig::from_lookup(lookup(&[
            ("OIDC_ISSUER", "http://id.example"),
            ("OIDC_CLIENT_ID", "c"),
            ("OIDC_CLIENT_SECRET", "s"),
        ]));
        assert_eq!(plain.oidc, None);
        assert!(plain.problems[0].contains("https://"));
        let half = SignInConfig::from_lookup(lookup(&[("OIDC_ISSUER", "https://id.example")]));
        assert_eq!(half.oidc, None);
        assert_eq!(half.problems.len(), 1);
        assert_eq!(SignInConfig::from_lookup(|_| None), SignInConfig::default());
    }

    #[test]
    fn only_failures_that_need_a_code_the_provider_issued_are_audited() {
        for made_up in [
            SignInError::State,
            SignInError::CodeRefused,
            SignInError::Provider("access_denied".into()),
            SignInError::Unreachable("HTTP 503".into()),
            SignInError::NotConfigured("GitHub"),
        ] {
            assert!(!made_up.is_audited(), "{made_up:?} is only logged");
        }
        for issued in [
            SignInError::IdToken(JwtError::BadSignature),
            SignInError::Nonce,
            SignInError::BadAnswer("userinfo"),
        ] {
            assert!(issued.is_audited(), "{issued:?}");
        }
    }

    #[test]
    fn token_answers_tell_a_used_code_from_other_refusals() {
        assert_eq!(
            read_token_answer(400, br#"{"error":"invalid_grant"}"#).err(),
            Some(SignInError::CodeRefused)
        );
        assert_eq!(
            read_token_answer(200, br#"{"error":"bad_verification_code"}"#).err(),
            Some(SignInError::CodeRefused),
            "GitHub's 200 with an error"
        );
        assert!(matches!(
            read_token_answer(502, b"<html>").err(),
            Some(SignInError::Unreachable(_))
        ));
        let ok = read_token_answer(200, br#"{"access_token":"t","id_token":"i"}"#).expect("tokens");
        assert_eq!(
            (ok.access_token.as_str(), ok.id_token.as_deref()),
            ("t", Some("i"))
        );
    }
}
