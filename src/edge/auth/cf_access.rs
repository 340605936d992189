//! Cloudflare Access sign-in at the edge.
//!
//! The team's keys are fetched and cached per isolate, the RS256 signature checked with the
//! Worker's own SubtleCrypto (nothing added to the wasm), the claims by
//! `core::auth::cf_access`.

use std::cell::RefCell;

use worker::js_sys::{self, Object, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{CryptoKey, SubtleCrypto};
use worker::{Env, Request};

use crate::core::auth::cf_access::{
    self, certs_fresh, may_refetch_for_unknown_key, AccessConfig, AccessError, RsaJwk,
    ASSERTION_HEADER, MAX_CERTS_BYTES,
};
use crate::edge::outbound::{Agent, Deadline, Outbound, Read};

/// The team's keys must arrive within this long (the hub's and subscribers' limit too);
/// a sign-in waits on them.
const CERTS_TIMEOUT_MS: u64 = 10_000;

/// The team's keys as last fetched, per isolate: (certs URL, fetched at, the JWKS text).
struct Certs {
    url: String,
    fetched_at: i64,
    jwks: String,
}

thread_local! {
    static CERTS: RefCell<Option<Certs>> = const { RefCell::new(None) };
}

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
    let key = key_for(cfg, &a.kid, now_ms).await?;
    if !rs256_verifies(&key, &a.signature, a.signing_input.as_bytes())
        .await
        .map_err(|e| {
            worker::console_error!("access: SubtleCrypto failed: {e:?}");
            AccessError::BadSignature
        })?
    {
        return Err(AccessError::BadSignature);
    }
    cf_access::check_claims(&a.claims, cfg, now_ms)
}

/// The key `kid` from the cached set, fetched when there is none or it is stale, and again
/// (at most once a minute) when the set lacks `kid` (the team rotated its keys).
async fn key_for(cfg: &AccessConfig, kid: &str, now: i64) -> Result<RsaJwk, AccessError> {
    let cached = CERTS.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|c| c.url == cfg.certs_url && certs_fresh(c.fetched_at, now))
            .map(|c| (c.fetched_at, c.jwks.clone()))
    });
    if let Some((fetched_at, jwks)) = &cached {
        if let Some(k) = cf_access::find_key(jwks, kid)? {
            return Ok(k);
        }
        if !may_refetch_for_unknown_key(*fetched_at, now) {
            return Err(AccessError::UnknownKey);
        }
    }
    let jwks = fetch_certs(&cfg.certs_url).await?;
    let found = cf_access::find_key(&jwks, kid)?;
    CERTS.with(|c| {
        *c.borrow_mut() = Some(Certs {
            url: cfg.certs_url.clone(),
            fetched_at: now,
            jwks,
        })
    });
    found.ok_or(AccessError::UnknownKey)
}

async fn fetch_certs(url: &str) -> Result<String, AccessError> {
    let fail = |e: String| {
        worker::console_error!("access: fetching {url} failed: {e}");
        AccessError::Certs(e)
    };
    let parsed = url::Url::parse(url).map_err(|e| fail(e.to_string()))?;
    let get = Outbound::get(parsed.as_str(), Agent::Platform).following_redirects();
    let answer = get
        .send("access.certs", Deadline::after(CERTS_TIMEOUT_MS))
        .await
        .map_err(|e| fail(e.to_string()))?;
    if answer.status() != 200 {
        return Err(fail(format!("HTTP {}", answer.status())));
    }
    let body = answer.read(Read::Whole(MAX_CERTS_BYTES)).await;
    let body = body.map_err(|e| fail(e.to_string()))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// RSASSA-PKCS1-v1_5 with SHA-256 (RS256), by `crypto.subtle`.
async fn rs256_verifies(key: &RsaJwk, signature: &[u8], data: &[u8]) -> Result<bool, JsValue> {
    let subtle: SubtleCrypto = Reflect::get(
        &Reflect::get(&js_sys::global(), &"crypto".into())?,
        &"subtle".into(),
    )?
    .unchecked_into();
    let algorithm: Object =
        js_sys::JSON::parse(r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#)?.unchecked_into();
    let jwk: Object = js_sys::JSON::parse(&key.to_import_json())?.unchecked_into();
    let usages = js_sys::Array::of1(&"verify".into());
    let imported = subtle.import_key_with_object("jwk", &jwk, &algorithm, false, &usages)?;
    let crypto_key: CryptoKey = JsFuture::from(imported).await?.unchecked_into();
    let verified = subtle.verify_with_object_and_u8_array_and_u8_array(
        &algorithm,
        &crypto_key,
        signature,
        data,
    )?;
    Ok(JsFuture::from(verified).await?.as_bool() == Some(true))
}
