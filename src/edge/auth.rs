//! Admin authentication for the JSON API: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.

use worker::{Env, Request};

use crate::core::session::constant_time_eq;
use crate::edge::{env, error::AppError};

/// True only when a token is configured and `given` is it (API bearer and admin sign-in alike).
pub fn admin_token_matches(env: &Env, given: &str) -> bool {
    env::admin_token(env).is_some_and(|expected| constant_time_eq(given, &expected))
}

/// Succeeds only with the configured token; with no token configured every admin call is refused.
pub fn require_admin(req: &Request, env: &Env) -> Result<(), AppError> {
    let given = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
        .ok_or(AppError::Unauthorized)?;
    if admin_token_matches(env, &given) {
        Ok(())
    } else {
        Err(AppError::Unauthorized)
    }
}
