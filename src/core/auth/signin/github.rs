//! GitHub's OAuth app: the authorization request, the code exchange's body, and the person
//! `GET /user`, `/user/emails` and `/user/orgs` describe.

use serde_json::Value;

use super::{pkce_challenge, query, GitHubConfig, Pending, SignInError};
use crate::core::auth::admins::{Account, Identity};

/// Where to send the browser to sign in with GitHub.
pub fn github_authorize_url(cfg: &GitHubConfig, p: &Pending, callback: &str, orgs: bool) -> String {
    let scope = if orgs {
        "read:user user:email read:org"
    } else {
        "read:user user:email"
    };
    let challenge = pkce_challenge(&p.verifier);
    format!(
        "{}?{}",
        cfg.authorize_endpoint(),
        query(&[
            ("client_id", &cfg.client_id),
            ("redirect_uri", callback),
            ("scope", scope),
            ("state", &p.state),
            ("allow_signup", "false"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
    )
}

/// The body of GitHub's code exchange (the client secret in the body, as GitHub documents).
pub fn github_token_form(cfg: &GitHubConfig, p: &Pending, code: &str, callback: &str) -> String {
    query(&[
        ("client_id", &cfg.client_id),
        ("client_secret", &cfg.client_secret),
        ("code", code),
        ("redirect_uri", callback),
        ("code_verifier", &p.verifier),
    ])
}

/// The person GitHub signed in, from `GET /user`, `GET /user/emails` (the primary verified
/// address, and whether GitHub verified it) and, when a rule needs it, `GET /user/orgs`.
pub fn github_identity(
    user: &[u8],
    emails: Option<&[u8]>,
    orgs: Option<&[u8]>,
) -> Result<Identity, SignInError> {
    let u: Value = serde_json::from_slice(user).map_err(|_| SignInError::BadAnswer("user"))?;
    let id = u
        .get("id")
        .and_then(Value::as_i64)
        .filter(|n| *n > 0)
        .ok_or(SignInError::BadAnswer("the user has no id"))?;
    let login = u
        .get("login")
        .and_then(Value::as_str)
        .filter(|l| !l.is_empty() && l.len() <= 39)
        .ok_or(SignInError::BadAnswer("the user has no login"))?;
    let list = |body: Option<&[u8]>| -> Vec<Value> {
        body.and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    };
    let primary = list(emails)
        .into_iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
    let verified = primary
        .as_ref()
        .is_some_and(|e| e.get("verified").and_then(Value::as_bool) == Some(true));
    let orgs = list(orgs)
        .iter()
        .filter_map(|o| o.get("login").and_then(Value::as_str).map(String::from))
        .collect();
    Ok(Identity {
        account: Account::GitHub {
            id,
            login: login.into(),
        },
        email: primary
            .as_ref()
            .and_then(|e| e.get("email").and_then(Value::as_str).map(String::from)),
        email_verified: verified,
        orgs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_gives_the_id_login_and_primary_verified_email() {
        let user = br#"{"login":"octocat","id":583231,"name":"The Octocat"}"#;
        let emails = br#"[{"email":"old@example.org","primary":false,"verified":true},{"email":"octo@example.org","primary":true,"verified":true,"visibility":"public"}]"#;
        let id = github_identity(user, Some(emails), None).expect("identity");
        assert_eq!(
            id.account,
            Account::GitHub {
                id: 583231,
                login: "octocat".into()
            }
        );
        assert_eq!(
            (id.email.as_deref(), id.email_verified),
            (Some("octo@example.org"), true)
        );
        let unverified = br#"[{"email":"octo@example.org","primary":true,"verified":false}]"#;
        let id = github_identity(user, Some(unverified), Some(br#"[{"login":"orrery"}]"#))
            .expect("identity");
        assert_eq!(
            (id.email.as_deref(), id.email_verified),
            (Some("octo@example.org"), false),
            "kept, and said to be unverified"
        );
        assert_eq!(id.orgs, vec!["orrery".to_string()]);
        assert!(github_identity(br#"{"login":"x"}"#, None, None).is_err());
    }
}
