//! Admin authentication for the JSON API: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.

use worker::{Env, Request};

use crate::edge::{env, error::AppError};

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Succeeds only with the configured token; with no token configured every admin call is refused.
pub fn require_admin(req: &Request, env: &Env) -> Result<(), AppError> {
    let Some(expected) = env::admin_token(env) else {
        return Err(AppError::Unauthorized);
    };
    let given = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
        .ok_or(AppError::Unauthorized)?;
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::Unauthorized)
    }
}
