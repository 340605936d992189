//! OpenID Connect: the discovery document, the authorization request, the code exchange's
//! body, the ID token's claims for this sign-in, and the person it names.

use serde_json::Value;

use super::{base_url, pkce_challenge, query, OidcConfig, Pending, SignInError, ID_TOKEN_LEEWAY_S};
use crate::core::auth::admins::{Account, Identity};
use crate::core::auth::jwt::{self, Expect, Jwt, JwtError};
use crate::core::codec::constant_time_eq;

/// The endpoints a provider's discovery document names, once it is its own (its `issuer`
/// is the configured one) and names what the code flow needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
}

pub fn read_discovery(cfg: &OidcConfig, body: &[u8]) -> Result<Discovery, SignInError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| SignInError::BadAnswer("discovery"))?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let issuer = text("issuer").unwrap_or_default();
    if issuer.trim_end_matches('/') != cfg.issuer {
        return Err(SignInError::BadAnswer("discovery names another issuer"));
    }
    let endpoint = |k: &str| {
        text(k)
            .and_then(|u| base_url(&u, false).map(|_| u))
            .ok_or(SignInError::BadAnswer("discovery lacks an endpoint"))
    };
    let s256 = v
        .get("code_challenge_methods_supported")
        .and_then(Value::as_array)
        .is_none_or(|m| m.iter().any(|x| x.as_str() == Some("S256")));
    if !s256 {
        return Err(SignInError::BadAnswer(
            "the provider does not take PKCE S256",
        ));
    }
    Ok(Discovery {
        authorization_endpoint: endpoint("authorization_endpoint")?,
        token_endpoint: endpoint("token_endpoint")?,
        jwks_uri: endpoint("jwks_uri")?,
        userinfo_endpoint: endpoint("userinfo_endpoint").ok(),
    })
}

/// Where to send the browser to sign in with the OpenID Connect provider.
pub fn oidc_authorize_url(cfg: &OidcConfig, d: &Discovery, p: &Pending, callback: &str) -> String {
    let challenge = pkce_challenge(&p.verifier);
    let sep = if d.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    format!(
        "{}{sep}{}",
        d.authorization_endpoint,
        query(&[
            ("response_type", "code"),
            ("client_id", &cfg.client_id),
            ("redirect_uri", callback),
            ("scope", "openid email profile"),
            ("state", &p.state),
            ("nonce", &p.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
    )
}

/// The body of the OpenID Connect code exchange (the client authenticates with HTTP Basic,
/// `client_secret_basic`, the default every provider takes).
pub fn oidc_token_form(p: &Pending, code: &str, callback: &str) -> String {
    query(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", callback),
        ("code_verifier", &p.verifier),
    ])
}

/// Checks a verified ID token's claims for this sign-in: issuer, audience (and `azp` when
/// there are several), times within [`ID_TOKEN_LEEWAY_S`], the browser's nonce. Returns the
/// subject.
pub fn check_id_token(
    t: &Jwt,
    cfg: &OidcConfig,
    pending: &Pending,
    now_ms: i64,
) -> Result<String, SignInError> {
    let expect = Expect {
        issuer: &cfg.issuer,
        audience: &cfg.client_id,
        leeway_s: ID_TOKEN_LEEWAY_S,
        require_iat: true,
    };
    jwt::check_claims(t, &expect, now_ms).map_err(SignInError::IdToken)?;
    if let Some(Value::Array(auds)) = t.claims.get("aud") {
        if auds.len() > 1 && t.text("azp") != Some(cfg.client_id.as_str()) {
            return Err(SignInError::IdToken(JwtError::WrongAudience));
        }
    }
    match t.text("nonce") {
        Some(n) if constant_time_eq(n, &pending.nonce) => {}
        _ => return Err(SignInError::Nonce),
    }
    t.text("sub")
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .map(String::from)
        .ok_or(SignInError::BadAnswer("the ID token names no subject"))
}

/// `email_verified` as providers write it (a boolean; some send the string `"true"`).
fn verified(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// The person an OpenID Connect provider signed in: the ID token's subject, and the email
/// from the token or, when the token has none, from the userinfo answer (only if it names
/// the same subject).
pub fn oidc_identity(
    cfg: &OidcConfig,
    sub: &str,
    t: &Jwt,
    userinfo: Option<&[u8]>,
) -> Result<Identity, SignInError> {
    let from_token = t
        .text("email")
        .map(|e| (e.to_string(), verified(t.claims.get("email_verified"))));
    let from_userinfo = || -> Result<Option<(String, bool)>, SignInError> {
        let Some(body) = userinfo else {
            return Ok(None);
        };
        let v: Value =
            serde_json::from_slice(body).map_err(|_| SignInError::BadAnswer("userinfo"))?;
        if v.get("sub").and_then(Value::as_str) != Some(sub) {
            return Err(SignInError::BadAnswer("userinfo names another subject"));
        }
        Ok(v.get("email")
            .and_then(Value::as_str)
            .map(|e| (e.to_string(), verified(v.get("email_verified")))))
    };
    let email = match from_token {
        Some(e) => Some(e),
        None => from_userinfo()?,
    };
    Ok(Identity {
        account: Account::Oidc {
            issuer: cfg.issuer.clone(),
            subject: sub.into(),
        },
        email_verified: email.as_ref().is_some_and(|(_, v)| *v),
        email: email.map(|(e, _)| e),
        orgs: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::auth::signin::{client_basic_auth, Provider, ID_TOKEN_ALGORITHMS};
    use crate::core::codec::base64url_encode;

    const NOW: i64 = 1_700_000_000_000;
    const R1: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
    const R2: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";
    const R3: &str = "cccccccccccccccccccccccccccccccccccccccccccc";

    fn id_token(claims: &str) -> Jwt {
        let t = format!(
            "{}.{}.{}",
            base64url_encode(br#"{"alg":"ES256","kid":"k"}"#),
            base64url_encode(claims.as_bytes()),
            base64url_encode(&[1; 64])
        );
        jwt::parse(&t, ID_TOKEN_ALGORITHMS).expect("parsed")
    }

    fn oidc_cfg() -> OidcConfig {
        OidcConfig {
            issuer: "https://id.example".into(),
            client_id: "orrery".into(),
            client_secret: "s3cret".into(),
            name: "Example ID".into(),
        }
    }

    #[test]
    fn authorize_urls_carry_state_nonce_and_the_s256_challenge() {
        let p = Pending::new(Provider::Oidc, [R1, R2, R3], NOW).expect("pending");
        let d = Discovery {
            authorization_endpoint: "https://id.example/auth".into(),
            token_endpoint: "https://id.example/token".into(),
            jwks_uri: "https://id.example/jwks".into(),
            userinfo_endpoint: None,
        };
        let cb = Provider::Oidc.callback_url("http://127.0.0.1:8787/");
        assert_eq!(cb, "http://127.0.0.1:8787/auth/oidc/callback");
        let u = url::Url::parse(&oidc_authorize_url(&oidc_cfg(), &d, &p, &cb)).expect("url");
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["state"], R1);
        assert_eq!(q["nonce"], R2);
        assert_eq!(q["code_challenge"], pkce_challenge(R3));
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["redirect_uri"], cb);
        assert!(q["scope"].split(' ').any(|s| s == "openid"));
        assert!(
            !u.as_str().contains(R3),
            "the verifier never leaves the Worker"
        );
        let form = oidc_token_form(&p, "the-code", &cb);
        assert!(form.contains(&format!("code_verifier={R3}")));
        assert_eq!(
            client_basic_auth("a b", "c:d"),
            format!("Basic {}", crate::core::codec::base64_encode(b"a+b:c%3Ad"))
        );
    }

    #[test]
    fn discovery_must_be_the_issuers_own() {
        let cfg = oidc_cfg();
        let doc = |iss: &str| {
            format!(
                r#"{{"issuer":"{iss}","authorization_endpoint":"https://id.example/auth","token_endpoint":"https://id.example/token","jwks_uri":"https://id.example/jwks","code_challenge_methods_supported":["S256"]}}"#
            )
        };
        assert!(read_discovery(&cfg, doc("https://id.example").as_bytes()).is_ok());
        assert!(read_discovery(&cfg, doc("https://evil.example").as_bytes()).is_err());
        assert!(read_discovery(&cfg, b"<html>").is_err());
        let plain_only = doc("https://id.example").replace(r#"["S256"]"#, r#"["plain"]"#);
        assert!(read_discovery(&cfg, plain_only.as_bytes()).is_err());
    }

    #[test]
    fn the_id_token_must_carry_this_browsers_nonce() {
        let cfg = oidc_cfg();
        let p = Pending::new(Provider::Oidc, [R1, R2, R3], NOW).expect("pending");
        let s = NOW / 1000;
        let claims = |nonce: &str, aud: &str| {
            format!(
                r#"{{"iss":"https://id.example","aud":{aud},"sub":"u1","iat":{s},"exp":{},"nonce":"{nonce}","email":"a@corp.example","email_verified":true}}"#,
                s + 300
            )
        };
        let t = id_token(&claims(R2, r#""orrery""#));
        assert_eq!(check_id_token(&t, &cfg, &p, NOW).as_deref(), Ok("u1"));
        let id = oidc_identity(&cfg, "u1", &t, None).expect("identity");
        assert!(id.email_verified);
        assert_eq!(
            check_id_token(&id_token(&claims(R1, r#""orrery""#)), &cfg, &p, NOW),
            Err(SignInError::Nonce)
        );
        assert_eq!(
            check_id_token(
                &id_token(&claims(R2, r#"["orrery","other"]"#)),
                &cfg,
                &p,
                NOW
            ),
            Err(SignInError::IdToken(JwtError::WrongAudience)),
            "several audiences and no azp"
        );
        assert_eq!(
            check_id_token(&t, &cfg, &p, NOW + 400_000),
            Err(SignInError::IdToken(JwtError::Expired))
        );
    }

    #[test]
    fn an_email_from_userinfo_counts_only_for_the_same_subject() {
        let cfg = oidc_cfg();
        let t = id_token(r#"{"sub":"u1"}"#);
        let same = br#"{"sub":"u1","email":"a@b.example","email_verified":"true"}"#;
        let id = oidc_identity(&cfg, "u1", &t, Some(same)).expect("identity");
        assert_eq!(
            (id.email.as_deref(), id.email_verified),
            (Some("a@b.example"), true)
        );
        let other = br#"{"sub":"u2","email":"a@b.example","email_verified":true}"#;
        assert!(oidc_identity(&cfg, "u1", &t, Some(other)).is_err());
        let unverified = br#"{"sub":"u1","email":"a@b.example"}"#;
        assert!(
            !oidc_identity(&cfg, "u1", &t, Some(unverified))
                .expect("id")
                .email_verified
        );
    }
}
