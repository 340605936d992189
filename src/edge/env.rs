//! Reading the Worker environment: config, secrets, bindings and the clock.

use futures::future::join_all;
use worker::{D1Database, Env, ObjectNamespace, RateLimiter};

use crate::core::config::Config;
use crate::core::ingest::schedule::ScheduleConfig;

pub fn config(env: &Env) -> Config {
    Config::from_lookup(|k| env.var(k).ok().map(|v| v.to_string()))
}

/// The admin bearer token (a secret in production, `.dev.vars` / `--var` locally). The
/// Worker cannot tell a secret from a plain var at run time, so a test keeps it out of
/// `wrangler.jsonc` `vars`; its rules (length, the dev default) are `core::auth::session`'s.
pub fn admin_token(env: &Env) -> Option<String> {
    env.secret("ADMIN_TOKEN")
        .ok()
        .map(|s| s.to_string())
        .or_else(|| env.var("ADMIN_TOKEN").ok().map(|v| v.to_string()))
        .filter(|t| !t.is_empty())
}

pub fn db(env: &Env) -> worker::Result<D1Database> {
    env.d1("DB")
}

pub fn feed_objects(env: &Env) -> worker::Result<ObjectNamespace> {
    env.durable_object("FEEDS")
}

pub fn publishers(env: &Env) -> worker::Result<ObjectNamespace> {
    env.durable_object("PUBLISHER")
}

pub fn rooms(env: &Env) -> worker::Result<ObjectNamespace> {
    env.durable_object("ROOM")
}

/// Most Room shards a deployment may ask for: one publish nudges every shard.
pub const MAX_ROOM_SHARDS: u32 = 32;

/// How many Room shards hold the planet's sockets (`ROOM_SHARDS`, default 1).
pub fn room_shards(env: &Env) -> u32 {
    env.var("ROOM_SHARDS")
        .ok()
        .and_then(|v| v.to_string().trim().parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_ROOM_SHARDS)
}

/// The Durable Object name of shard `i`; shard 0 keeps the original name.
pub fn room_name(i: u32) -> String {
    if i == 0 {
        "global".into()
    } else {
        format!("global-{i}")
    }
}

/// Unix milliseconds from the Worker's clock (std's clock panics on wasm32); the only clock.
pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

/// Fetch intervals from `vars` (rules in `core::ingest::schedule`).
pub fn schedule_config(env: &Env) -> ScheduleConfig {
    ScheduleConfig::from_lookup(|k| env.var(k).ok().map(|v| v.to_string()))
}

/// Spends `units` of `key`'s budget with a Rate Limiting binding, which counts one per call:
/// a weighted check is that many calls, made together. `Ok(true)`: over the budget; an
/// error from any call is returned after all have been made.
pub async fn spend_units(limiter: &RateLimiter, key: &str, units: u32) -> worker::Result<bool> {
    let outcomes = join_all((0..units).map(|_| limiter.limit(key.to_string()))).await;
    let mut refused = false;
    for outcome in outcomes {
        refused |= !outcome?.success;
    }
    Ok(refused)
}
