//! Signing in as yourself: `/auth/{github,oidc}` starts, `/auth/{…}/callback` finishes.
//!
//! The start seals a state cookie (state, nonce, PKCE verifier; `SameSite=Lax`, so it comes
//! back on the provider's cross-site redirect) and redirects to the provider. The callback
//! checks it, has the provider's answer read by `edge::auth::providers`, lets in whoever the
//! admin list names and answers 200 with a page that moves on to `/admin` (the session
//! cookie is `SameSite=Strict`: set during a cross-site redirect chain, it would not be sent
//! on a 302's next hop). Every failure is a clear page behind the `LOGIN_LIMIT` budget, and
//! nothing is stored: a person the list does not name is audited at most once an hour, and
//! so is a failure that needs a code the provider issued (per address and kind); what anyone
//! can make up is only logged.

use worker::{Env, Request, Response};

use super::admin::{key, record_session, session_cookie};
use super::pages::html;
use crate::core::auth::admins::{self, Admin, Identity, REFUSAL_AUDIT_WINDOW_MS};
use crate::core::auth::session::{self, login_limit_units};
use crate::core::auth::signin::{
    self, callback_error, check_state, Pending, Provider, SignInConfig, SignInError, STATE_COOKIE,
    STATE_TTL_MS,
};
use crate::core::routes::client_key;
use crate::core::views::{self, SignInOptions, SignInOutcome};
use crate::edge::auth::{providers, throttle};
use crate::edge::error::{AppError, AppResult};
use crate::edge::{d1, env};

/// The sign-in buttons this planet shows.
pub(super) fn options(env: &Env) -> SignInOptions {
    let cfg = env::signin_config(env);
    SignInOptions {
        github: cfg.github.is_some(),
        oidc: cfg.oidc.map(|o| o.name),
    }
}

/// The signed-out `/admin` page.
pub(super) fn signin_page(env: &Env, error: Option<&str>, status: u16) -> AppResult<Response> {
    let cfg = env::config(env);
    html(
        views::signin_page(&cfg, &options(env), error),
        status,
        "no-store",
    )
}

/// The admin list, seeded from `ADMINS` first when the setting changed (one batch, only
/// then), and what `ADMINS` could not read.
pub(super) async fn admin_list(env: &Env) -> AppResult<(Vec<Admin>, Vec<String>)> {
    let db = env::db(env)?;
    let (seed, problems) = env::admins_seed(env);
    let rows = d1::admins_all(&db).await?;
    let plan = admins::seed_plan(&rows, &seed);
    if plan.is_empty() {
        return Ok((rows, problems));
    }
    d1::admins_seed(&db, &plan, env::now_ms()).await?;
    Ok((d1::admins_all(&db).await?, problems))
}

/// The state cookie: set for ten minutes under `/auth`, or cleared (`max_age_s` 0).
fn state_cookie(req: &Request, value: &str, max_age_s: i64) -> AppResult<String> {
    let secure = if req.url()?.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    Ok(format!(
        "{STATE_COOKIE}={value}; Path=/auth; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    ))
}

/// Clears the state cookie (sign-out clears it too, with the session).
pub(super) fn clear_state_cookie(req: &Request) -> AppResult<String> {
    state_cookie(req, "", 0)
}

fn random() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn provider_name(cfg: &SignInConfig, p: Provider) -> String {
    match p {
        Provider::GitHub => "GitHub".into(),
        Provider::Oidc => cfg
            .oidc
            .as_ref()
            .map_or_else(|| "OpenID Connect".into(), |o| o.name.clone()),
    }
}

/// `/auth/{provider}`: a new state cookie and a redirect to the provider.
pub async fn start(req: &Request, env: &Env, provider: Provider) -> AppResult<Response> {
    let cfg = env::signin_config(env);
    let key = key(req, env)?;
    let now = env::now_ms();
    let verifier = format!("{}{}", random(), random());
    let pending = Pending::new(provider, [&random(), &random(), &verifier], now)
        .ok_or_else(|| AppError::Internal("random values of the wrong shape".into()))?;
    let origin = req.url()?.origin().ascii_serialization();
    let callback = provider.callback_url(&origin);
    let location = match provider {
        Provider::GitHub => {
            let Some(gh) = &cfg.github else {
                return failed(
                    req,
                    env,
                    provider,
                    &SignInError::NotConfigured("GitHub"),
                    false,
                )
                .await;
            };
            let orgs = match admin_list(env).await {
                Ok((rows, _)) => admins::needs_orgs(&rows),
                Err(_) => false,
            };
            signin::github_authorize_url(gh, &pending, &callback, orgs)
        }
        Provider::Oidc => {
            let Some(oidc) = &cfg.oidc else {
                let e = SignInError::NotConfigured("OpenID Connect");
                return failed(req, env, provider, &e, false).await;
            };
            match providers::discovery(oidc, now).await {
                Ok(d) => signin::oidc_authorize_url(oidc, &d, &pending, &callback),
                Err(e) => return failed(req, env, provider, &e, false).await,
            }
        }
    };
    let mut resp = Response::empty()?.with_status(302);
    let h = resp.headers_mut();
    h.set("Location", &location)?;
    h.set("Cache-Control", "no-store")?;
    h.append(
        "Set-Cookie",
        &state_cookie(req, &pending.seal(&key), STATE_TTL_MS / 1000)?,
    )?;
    Ok(resp)
}

fn param(req: &Request, name: &str) -> AppResult<Option<String>> {
    Ok(req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.chars().take(2048).collect()))
}

/// `/auth/{provider}/callback`: the state checked, the code exchanged, the person looked up
/// in the admin list; a session for an admin, a clear page for everyone else.
pub async fn callback(req: &Request, env: &Env, provider: Provider) -> AppResult<Response> {
    let cfg = env::signin_config(env);
    let key = key(req, env)?;
    let now = env::now_ms();
    let cookies = req.headers().get("Cookie")?.unwrap_or_default();
    let pending = session::cookie(&cookies, STATE_COOKIE).and_then(|v| Pending::open(&key, v, now));
    // What anyone can send is checked before anything is read: the provider's error, the
    // state against this browser's cookie, a code.
    let checked = callback_error(
        param(req, "error")?.as_deref(),
        param(req, "error_description")?.as_deref(),
    )
    .map_or(Ok(()), Err)
    .and_then(|()| {
        check_state(
            pending.as_ref(),
            provider,
            param(req, "state").ok().flatten().as_deref(),
        )
    });
    let code = param(req, "code")?;
    let (p, code) = match (checked, &pending, code) {
        (Err(e), _, _) => return failed(req, env, provider, &e, false).await,
        (Ok(()), Some(p), Some(code)) => (p, code),
        _ => {
            let e = SignInError::Provider("it sent no code back".into());
            return failed(req, env, provider, &e, false).await;
        }
    };
    // The admin list, read once (GitHub is asked for organizations only when a rule names one).
    let (rows, _) = admin_list(env).await?;
    let origin = req.url()?.origin().ascii_serialization();
    let callback = provider.callback_url(&origin);
    let found = match (provider, &cfg.github, &cfg.oidc) {
        (Provider::GitHub, Some(gh), _) => {
            let orgs = admins::needs_orgs(&rows);
            providers::github_identity(gh, p, &code, &callback, orgs).await
        }
        (Provider::Oidc, _, Some(o)) => providers::oidc_identity(o, p, &code, &callback, now).await,
        (Provider::GitHub, None, _) => Err(SignInError::NotConfigured("GitHub")),
        (Provider::Oidc, _, None) => Err(SignInError::NotConfigured("OpenID Connect")),
    };
    let who = match found {
        Ok(who) => who,
        Err(e) => return failed(req, env, provider, &e, true).await,
    };
    let Some(admin) = admins::admit(&rows, &who) else {
        return refused(req, env, &rows, &who).await;
    };
    throttle(req, env, login_limit_units(true)).await?;
    let db = env::db(env)?;
    if let (admins::AdminRule::GitHubLogin(_), None, admins::Account::GitHub { id, .. }) =
        (&admin.rule, admin.github_id, &who.account)
    {
        d1::admin_bind_github(&db, admin.id, *id).await?;
    }
    let actor = who.actor();
    let value = session::issue_admin(&key, now, &random(), &actor, admin.id);
    let via = format!("{} ({})", provider_name(&cfg, provider), admin.rule.text());
    record_session(env, now, &actor, "session.start", Some(&via)).await;
    let page =
        views::signin_result_page(&env::config(env), &SignInOutcome::Welcome { who: &actor });
    let mut resp = html(page, 200, "no-store")?;
    let h = resp.headers_mut();
    h.append("Set-Cookie", &session_cookie(req, &value)?)?;
    h.append("Set-Cookie", &clear_state_cookie(req)?)?;
    Ok(resp)
}

/// A person the provider vouched for whom the admin list does not name: a 403 page, the
/// attempt audited at most once an hour for them (behind `LOGIN_LIMIT`, as a wrong token).
async fn refused(req: &Request, env: &Env, rows: &[Admin], who: &Identity) -> AppResult<Response> {
    throttle(req, env, login_limit_units(false)).await?;
    let why = admins::refusal_reason(rows, who);
    let actor = who.actor();
    let db = env::db(env)?;
    let now = env::now_ms();
    if let Err(e) = d1::signin_refusal_record(
        &db,
        &who.refusal_key(),
        &actor,
        why,
        now,
        REFUSAL_AUDIT_WINDOW_MS,
    )
    .await
    {
        worker::console_error!("audit: a refused sign-in of {actor} not recorded: {e}");
    }
    let page = views::signin_result_page(
        &env::config(env),
        &SignInOutcome::Refused { who: &actor, why },
    );
    let mut resp = html(page, 403, "no-store")?;
    resp.headers_mut()
        .append("Set-Cookie", &clear_state_cookie(req)?)?;
    Ok(resp)
}

/// Bad or broken input: a clear page with the fitting status, behind `LOGIN_LIMIT`; the state
/// cookie cleared. What anyone can send (no or a wrong state, a made-up code, a provider that
/// is down or refused) is logged, not written to D1, so no address can spend rows with it;
/// what needs a code the provider issued (an ID token that does not verify, another nonce, an
/// answer that cannot be read, all `exchanged`: after the code exchange) is also audited, at
/// most once an hour per address and kind.
async fn failed(
    req: &Request,
    env: &Env,
    provider: Provider,
    e: &SignInError,
    exchanged: bool,
) -> AppResult<Response> {
    throttle(req, env, login_limit_units(false)).await?;
    let status = match e {
        SignInError::NotConfigured(_) => 404,
        SignInError::State | SignInError::CodeRefused | SignInError::BadAnswer(_) => 400,
        SignInError::Unreachable(_) => 502,
        _ => 403,
    };
    worker::console_warn!("signin: {} refused: {e}", provider.slug());
    if exchanged && e.is_audited() {
        let ip = req.headers().get("CF-Connecting-IP")?;
        let client = client_key(ip.as_deref());
        let who = format!("{}:{}:{client}", provider.slug(), e.kind());
        let detail = format!("{}: {e}", provider.slug());
        if let Ok(db) = env::db(env) {
            let now = env::now_ms();
            let window = REFUSAL_AUDIT_WINDOW_MS;
            let recorded = d1::signin_refusal_record(&db, &who, "anonymous", &detail, now, window);
            if let Err(err) = recorded.await {
                worker::console_error!("audit: a failed sign-in not recorded: {err}");
            }
        }
    }
    let why = e.to_string();
    let page = views::signin_result_page(&env::config(env), &SignInOutcome::Failed { why: &why });
    let mut resp = html(page, status, "no-store")?;
    resp.headers_mut()
        .append("Set-Cookie", &clear_state_cookie(req)?)?;
    Ok(resp)
}
