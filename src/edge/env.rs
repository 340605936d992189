//! Reading the Worker environment: config, secrets, bindings and the clock.

use futures::future::join_all;
use worker::{D1Database, Env, ObjectNamespace, RateLimiter};

use crate::core::auth::admins::{parse_seed, AdminRule};
use crate::core::auth::signin::SignInConfig;
use crate::core::config::Config;
use crate::core::i18n::{Lang, Tr};
use crate::core::ingest::schedule::ScheduleConfig;
use crate::core::view_models::{Build, Deployment};

pub fn config(env: &Env) -> Config {
    Config::from_lookup(|k| env.var(k).ok().map(|v| v.to_string()))
}

/// The planet's language alone (`PLANET_LANG`, as [`config`] reads it), for the objects
/// that render articles into socket frames without the rest of the config.
pub fn lang(env: &Env) -> Tr {
    Tr(env
        .var("PLANET_LANG")
        .ok()
        .and_then(|v| Lang::from_tag(&v.to_string()))
        .unwrap_or_default())
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

/// A var or a secret by name (the Worker cannot tell them apart at run time; the client
/// secrets are secrets, the rest vars).
fn var_or_secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .or_else(|| env.var(name).ok().map(|v| v.to_string()))
}

/// Signing in with GitHub and OpenID Connect, as configured (`core::auth::signin`).
pub fn signin_config(env: &Env) -> SignInConfig {
    SignInConfig::from_lookup(|k| var_or_secret(env, k))
}

/// The admin list's seed, `ADMINS`, and the entries it cannot read.
pub fn admins_seed(env: &Env) -> (Vec<AdminRule>, Vec<String>) {
    parse_seed(&var_or_secret(env, "ADMINS").unwrap_or_default())
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

/// What spending from the public budget came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spent {
    Ok,
    /// The client address is over its `PUBLIC_LIMIT` budget.
    AddressOver,
    /// Every address together is over the planet's `PLANET_LIMIT` budget (per location).
    PlanetOver,
    /// A binding does not resolve or failed: refuse (never serve unlimited), and log it.
    Unbound(String),
}

/// The key under which `PLANET_LIMIT` counts every anonymous address together.
const PLANET_KEY: &str = "planet";

/// Spends `units` of anonymous work (units of `core::routes::cost::ROWS_PER_UNIT` D1 rows
/// or one DO request) for `client` (a `core::routes::client_key`): first from the address's
/// `PUBLIC_LIMIT`, then, only if that allowed it, from the planet's `PLANET_LIMIT`, so one
/// address refused spends nothing of everyone's. Used by every uncached public request and
/// by the Room for each socket resume (charged by the distance it reads).
pub async fn spend_public(env: &Env, client: &str, units: u32) -> Spent {
    if units == 0 {
        return Spent::Ok;
    }
    for (binding, key, over) in [
        ("PUBLIC_LIMIT", client, Spent::AddressOver),
        ("PLANET_LIMIT", PLANET_KEY, Spent::PlanetOver),
    ] {
        let limiter = match env.rate_limiter(binding) {
            Ok(l) => l,
            Err(e) => return Spent::Unbound(format!("{binding} does not resolve ({e})")),
        };
        match spend_units(&limiter, key, units).await {
            Ok(false) => {}
            Ok(true) => return over,
            Err(e) => return Spent::Unbound(format!("{binding} failed ({e})")),
        }
    }
    Spent::Ok
}

/// Every binding the Worker needs, by kind, as `wrangler.jsonc` names them.
const BINDINGS: [(&str, Binding); 9] = [
    ("DB", Binding::D1),
    ("FEEDS", Binding::Object),
    ("ROOM", Binding::Object),
    ("PUBLISHER", Binding::Object),
    ("ASSETS", Binding::Assets),
    ("PUBLIC_LIMIT", Binding::Limiter),
    ("PLANET_LIMIT", Binding::Limiter),
    ("LOGIN_LIMIT", Binding::Limiter),
    ("PUSH_LIMIT", Binding::Limiter),
];

#[derive(Clone, Copy)]
enum Binding {
    D1,
    Object,
    Assets,
    Limiter,
}

/// What this deployment knows of itself: its build, D1's newest applied migration
/// (`applied`) against the build's, and whether each binding resolves as its kind (a rate
/// limiter is known by its JS class, so a misnamed or mistyped one shows here).
pub fn deployment(env: &Env, applied: Option<String>) -> Deployment {
    let resolved: Vec<(&'static str, bool)> = BINDINGS
        .iter()
        .map(|&(name, kind)| {
            let ok = match kind {
                Binding::D1 => env.d1(name).is_ok(),
                Binding::Object => env.durable_object(name).is_ok(),
                Binding::Assets => env.assets(name).is_ok(),
                Binding::Limiter => env.rate_limiter(name).is_ok(),
            };
            (name, ok)
        })
        .collect();
    let build = Build {
        version: env!("CARGO_PKG_VERSION").into(),
        commit: env!("ORRERY_COMMIT").into(),
    };
    let get = |k: &str| env.var(k).ok().map(|v| v.to_string());
    let mut config_problems = Config::problems(get);
    // Whether the zone exists only the runtime can tell.
    if let Err(problem) = super::zone::planet_zone(&Config::from_lookup(get)) {
        config_problems.push(problem);
    }
    config_problems.extend(signin_config(env).problems);
    config_problems.extend(
        admins_seed(env)
            .1
            .into_iter()
            .map(|p| format!("ADMINS: {p}")),
    );
    Deployment::judge(
        build,
        env!("ORRERY_LATEST_MIGRATION"),
        applied,
        &resolved,
        &config_problems,
    )
}
