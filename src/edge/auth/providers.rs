//! Talking to the sign-in providers: OpenID Connect discovery (cached per isolate), the
//! code exchange, userinfo, GitHub's `/user`, `/user/emails` and `/user/orgs`, and the ID
//! token checked by the one verifier (`jwks`). Every answer is read by `core::auth::signin`;
//! the provider's access token lives only as long as this exchange.

use std::cell::RefCell;

use super::jwks;
use crate::core::auth::admins::Identity;
use crate::core::auth::jwt;
use crate::core::auth::signin::{
    self, client_basic_auth, Discovery, GitHubConfig, OidcConfig, Pending, SignInError,
    DISCOVERY_TTL_MS, ID_TOKEN_ALGORITHMS, MAX_PROVIDER_ANSWER_BYTES,
};
use crate::edge::outbound::{Agent, Deadline, Outbound, Read};

/// A provider's answer must arrive within this long; the person is waiting.
const PROVIDER_TIMEOUT_MS: u64 = 10_000;
/// GitHub's API asks every client to name itself.
const USER_AGENT: &str = "Orrery (planet sign-in)";

thread_local! {
    /// The provider's discovery document as last read: (issuer, read at, endpoints).
    static DISCOVERY: RefCell<Option<(String, i64, Discovery)>> = const { RefCell::new(None) };
}

/// A request to a provider and its whole answer (status, body), or why it failed.
async fn ask(what: &str, req: Outbound<'_>) -> Result<(u16, Vec<u8>), SignInError> {
    let fail = |e: String| {
        worker::console_warn!("signin: {what} failed: {e}");
        SignInError::Unreachable(e)
    };
    let answer = req
        .header("Accept", "application/json")
        .header("User-Agent", USER_AGENT)
        .send(what, Deadline::after(PROVIDER_TIMEOUT_MS))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = answer.status();
    let body = answer
        .read(Read::Whole(MAX_PROVIDER_ANSWER_BYTES))
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok((status, body))
}

/// A GET answered 200 with a body, or the failure.
async fn get_ok(what: &str, url: &str, bearer: Option<&str>) -> Result<Vec<u8>, SignInError> {
    let mut req = Outbound::get(url, Agent::Platform);
    if let Some(t) = bearer {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    match ask(what, req).await? {
        (200, body) => Ok(body),
        (status, _) => Err(SignInError::Unreachable(format!(
            "{what} answered HTTP {status}"
        ))),
    }
}

/// The provider's endpoints, read from its discovery document at most once an hour.
pub async fn discovery(cfg: &OidcConfig, now: i64) -> Result<Discovery, SignInError> {
    let cached = DISCOVERY.with(|d| {
        d.borrow()
            .as_ref()
            .filter(|(iss, at, _)| *iss == cfg.issuer && now >= *at && now - at < DISCOVERY_TTL_MS)
            .map(|(_, _, doc)| doc.clone())
    });
    if let Some(doc) = cached {
        return Ok(doc);
    }
    let body = get_ok("oidc.discovery", &cfg.discovery_url(), None).await?;
    let doc = signin::read_discovery(cfg, &body)?;
    DISCOVERY.with(|d| *d.borrow_mut() = Some((cfg.issuer.clone(), now, doc.clone())));
    Ok(doc)
}

/// The person an OpenID Connect provider signed in: the code exchanged (with the PKCE
/// verifier), the ID token's signature and claims checked (nonce included), and the email
/// asked of userinfo when the token has none.
pub async fn oidc_identity(
    cfg: &OidcConfig,
    pending: &Pending,
    code: &str,
    callback: &str,
    now: i64,
) -> Result<Identity, SignInError> {
    let d = discovery(cfg, now).await?;
    let form = signin::oidc_token_form(pending, code, callback);
    let req = Outbound::post(&d.token_endpoint, Agent::Platform, form)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(
            "Authorization",
            client_basic_auth(&cfg.client_id, &cfg.client_secret),
        );
    let (status, body) = ask("oidc.token", req).await?;
    let tokens = signin::read_token_answer(status, &body)?;
    let raw = tokens
        .id_token
        .ok_or(SignInError::BadAnswer("no ID token"))?;
    let t = jwt::parse(&raw, ID_TOKEN_ALGORITHMS).map_err(SignInError::IdToken)?;
    jwks::verify_signature(&t, &d.jwks_uri, now)
        .await
        .map_err(SignInError::IdToken)?;
    let sub = signin::check_id_token(&t, cfg, pending, now)?;
    let userinfo = match (&d.userinfo_endpoint, t.text("email")) {
        (Some(url), None) => Some(get_ok("oidc.userinfo", url, Some(&tokens.access_token)).await?),
        _ => None,
    };
    signin::oidc_identity(cfg, &sub, &t, userinfo.as_deref())
}

/// The person GitHub signed in: the code exchanged, then `/user`, `/user/emails` and (when
/// a rule names an organization) `/user/orgs` read with the token, which is then dropped.
pub async fn github_identity(
    cfg: &GitHubConfig,
    pending: &Pending,
    code: &str,
    callback: &str,
    orgs: bool,
) -> Result<Identity, SignInError> {
    let form = signin::github_token_form(cfg, pending, code, callback);
    let token_endpoint = cfg.token_endpoint();
    let req = Outbound::post(&token_endpoint, Agent::Platform, form)
        .header("Content-Type", "application/x-www-form-urlencoded");
    let (status, body) = ask("github.token", req).await?;
    let token = signin::read_token_answer(status, &body)?.access_token;
    let user = get_ok("github.user", &cfg.user_endpoint(), Some(&token)).await?;
    let emails = get_ok("github.emails", &cfg.emails_endpoint(), Some(&token)).await?;
    let orgs = if orgs {
        Some(get_ok("github.orgs", &cfg.orgs_endpoint(), Some(&token)).await?)
    } else {
        None
    };
    signin::github_identity(&user, Some(&emails), orgs.as_deref())
}
