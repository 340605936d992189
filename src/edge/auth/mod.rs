//! Admin authentication: the API bearer, the sign-in form and Cloudflare Access.
//!
//! The token's rules are `core::auth::session`'s; the check is constant-time; an Access
//! assertion is verified by `edge::auth::cf_access`; guesses of either are throttled per
//! client address (`LOGIN_LIMIT`).

pub mod cf_access;
pub mod jwks;
pub mod providers;

use worker::{Env, Request};

use crate::core::auth::session::{check_admin_token, login_limit_units};
use crate::core::codec::constant_time_eq;
use crate::core::routes::client_key;
use crate::edge::{env, error::AppError};

/// The configured admin token, when it may authorize this request: none configured is a
/// 401 (every write refused), a short or development token off loopback a 403 saying why.
pub fn usable_token(req: &Request, env: &Env) -> Result<String, AppError> {
    let token = env::admin_token(env).ok_or(AppError::Unauthorized)?;
    let url = req.url()?;
    check_admin_token(&token, url.host_str().unwrap_or(""))
        .map_err(|weak| AppError::Forbidden(weak.to_string()))?;
    Ok(token)
}

/// Checks `given` against the admin token (API bearer and sign-in alike) and spends the
/// client's `LOGIN_LIMIT` budget: past it the answer is 429 whether or not the token was
/// right, so a guesser learns nothing more until the minute is over.
pub async fn check_token(req: &Request, env: &Env, given: Option<&str>) -> Result<(), AppError> {
    let token = usable_token(req, env)?;
    let ok = given.is_some_and(|g| constant_time_eq(g, &token));
    throttle(req, env, login_limit_units(ok)).await?;
    if ok {
        Ok(())
    } else {
        Err(AppError::Unauthorized)
    }
}

/// The person Cloudflare Access signed in, when Access sign-in is configured
/// (`ACCESS_TEAM_DOMAIN`, `ACCESS_AUD`) and the request carries its assertion: `Ok(None)`
/// without one, a 403 saying why when it does not verify. Each check spends the client's
/// `LOGIN_LIMIT` budget like a token check (a refused one ten units), so forged assertions
/// are throttled as guessed tokens are.
pub async fn access_identity(req: &Request, env: &Env) -> Result<Option<String>, AppError> {
    let Some((cfg, token)) = cf_access::assertion(req, env) else {
        return Ok(None);
    };
    let verdict = cf_access::verify(&cfg, &token, env::now_ms()).await;
    throttle(req, env, login_limit_units(verdict.is_ok())).await?;
    match verdict {
        Ok(email) => Ok(Some(email)),
        Err(e) => {
            worker::console_warn!("access: sign-in refused: {e}");
            Err(AppError::Forbidden(format!(
                "Cloudflare Access sign-in refused: {e}"
            )))
        }
    }
}

/// Spends `units` of the client's budget with the `LOGIN_LIMIT` binding: counted at the
/// edge, never a D1 or Durable Object write per guess. It stays on when `RATE_LIMITS=off`.
pub async fn throttle(req: &Request, env: &Env, units: u32) -> Result<(), AppError> {
    let Ok(limiter) = env.rate_limiter("LOGIN_LIMIT") else {
        worker::console_warn!("LOGIN_LIMIT is not bound: admin token guesses are not throttled");
        return Ok(());
    };
    let ip = req.headers().get("CF-Connecting-IP").ok().flatten();
    let key = client_key(ip.as_deref());
    let refused = match env::spend_units(&limiter, &key, units).await {
        Ok(refused) => refused,
        Err(e) => {
            worker::console_warn!("LOGIN_LIMIT failed, not counted: {e}");
            false
        }
    };
    if refused {
        Err(AppError::TooManyRequests(
            "too many admin token checks".into(),
        ))
    } else {
        Ok(())
    }
}

/// Succeeds only with `Authorization: Bearer <ADMIN_TOKEN>` (see [`check_token`]).
pub async fn require_admin(req: &Request, env: &Env) -> Result<(), AppError> {
    let given = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()));
    check_token(req, env, given.as_deref()).await
}
