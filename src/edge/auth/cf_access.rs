//! Cloudflare Access sign-in at the edge.
//!
//! The assertion's signature is checked by the one verifier (`edge::auth::jwks`, the team's
//! keys cached per isolate), its claims by `core::auth::cf_access`.

use worker::{Env, Request};

use super::jwks;
use crate::core::auth::cf_access::{self, AccessConfig, AccessError, ASSERTION_HEADER};

/// Access sign-in's configuration, when `ACCESS_TEAM_DOMAIN` and `ACCESS_AUD` are set.
pub fn config(env: &Env) -> Option<AccessConfig> {
    AccessConfig::from_lookup(|k| env.var(k).ok().map(|v| v.to_string()))
}

/// The request's Access assertion, when Access sign-in is configured and it carries one.
pub fn assertion(req: &Request, env: &Env) -> Option<(AccessConfig, String)> {
    let cfg = config(env)?;
    let token = req.headers().get(ASSERTION_HEADER).ok().flatten()?;
    Some((cfg, token))
}

/// The email of the person a verified assertion names (see `core::auth::cf_access::check_claims`).
pub async fn verify(cfg: &AccessConfig, token: &str, now_ms: i64) -> Result<String, AccessError> {
    let a = cf_access::parse(token)?;
    jwks::verify_signature(&a, &cfg.certs_url, now_ms).await?;
    cf_access::check_claims(&a, cfg, now_ms)
}
