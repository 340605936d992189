//! The one JWT verifier at the edge: issuers' keys fetched and cached per isolate, the RS256
//! or ES256 signature checked with the Worker's own SubtleCrypto (nothing added to the wasm).
//!
//! Cloudflare Access assertions and OpenID Connect ID tokens both come through here; what
//! the claims must say is `core::auth::jwt`'s (and each caller's own rules on top).

use std::cell::RefCell;

use worker::js_sys::{self, Object, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{CryptoKey, SubtleCrypto};

use crate::core::auth::jwt::{
    self, keys_fresh, may_refetch_for_unknown_key, Jwt, JwtError, PublicJwk, MAX_JWKS_BYTES,
};
use crate::edge::outbound::{Agent, Deadline, Outbound, Read};

/// The keys must arrive within this long (the hub's and subscribers' limit too); a sign-in
/// waits on them.
const KEYS_TIMEOUT_MS: u64 = 10_000;
/// Key sets kept per isolate (Access's and one OpenID provider's in practice).
const KEY_SETS_KEPT: usize = 4;

/// An issuer's keys as last fetched: (JWKS URL, fetched at, the JWKS text).
struct KeySet {
    url: String,
    fetched_at: i64,
    jwks: String,
}

thread_local! {
    static KEY_SETS: RefCell<Vec<KeySet>> = const { RefCell::new(Vec::new()) };
}

/// Checks `token`'s signature against the key it names in the set at `jwks_url`. The claims
/// are the caller's to check next (`jwt::check_claims`), once this succeeded.
pub async fn verify_signature(jwt: &Jwt, jwks_url: &str, now_ms: i64) -> Result<(), JwtError> {
    let key = key_for(jwks_url, jwt, now_ms).await?;
    let verified = signature_verifies(&key, &jwt.signature, jwt.signing_input.as_bytes())
        .await
        .map_err(|e| {
            worker::console_error!("jwt: SubtleCrypto failed: {e:?}");
            JwtError::BadSignature
        })?;
    if verified {
        Ok(())
    } else {
        Err(JwtError::BadSignature)
    }
}

/// The key the token names, from the cached set when it is fresh and has it; fetched when
/// there is none or it is stale, and again (at most once a minute) when the set lacks the
/// key (the issuer rotated its keys).
async fn key_for(url: &str, t: &Jwt, now: i64) -> Result<PublicJwk, JwtError> {
    let cached = KEY_SETS.with(|c| {
        c.borrow()
            .iter()
            .find(|s| s.url == url && keys_fresh(s.fetched_at, now))
            .map(|s| (s.fetched_at, s.jwks.clone()))
    });
    if let Some((fetched_at, jwks)) = &cached {
        if let Some(k) = jwt::find_key(jwks, t.kid.as_deref(), t.alg)? {
            return Ok(k);
        }
        if !may_refetch_for_unknown_key(*fetched_at, now) {
            return Err(JwtError::UnknownKey);
        }
    }
    let jwks = fetch_keys(url).await?;
    let found = jwt::find_key(&jwks, t.kid.as_deref(), t.alg)?;
    KEY_SETS.with(|c| {
        let mut sets = c.borrow_mut();
        sets.retain(|s| s.url != url);
        if sets.len() >= KEY_SETS_KEPT {
            sets.remove(0);
        }
        sets.push(KeySet {
            url: url.to_string(),
            fetched_at: now,
            jwks,
        });
    });
    found.ok_or(JwtError::UnknownKey)
}

async fn fetch_keys(url: &str) -> Result<String, JwtError> {
    let fail = |e: String| {
        worker::console_error!("jwt: fetching keys from {url} failed: {e}");
        JwtError::Keys(e)
    };
    let parsed = url::Url::parse(url).map_err(|e| fail(e.to_string()))?;
    let get = Outbound::get(parsed.as_str(), Agent::Platform).following_redirects();
    let answer = get
        .send("jwt.keys", Deadline::after(KEYS_TIMEOUT_MS))
        .await
        .map_err(|e| fail(e.to_string()))?;
    if answer.status() != 200 {
        return Err(fail(format!("HTTP {}", answer.status())));
    }
    let body = answer.read(Read::Whole(MAX_JWKS_BYTES)).await;
    let body = body.map_err(|e| fail(e.to_string()))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// RS256 (RSASSA-PKCS1-v1_5, SHA-256) or ES256 (ECDSA P-256, SHA-256, `r || s` as Web
/// Crypto takes it), by `crypto.subtle`.
async fn signature_verifies(
    key: &PublicJwk,
    signature: &[u8],
    data: &[u8],
) -> Result<bool, JsValue> {
    let subtle: SubtleCrypto = Reflect::get(
        &Reflect::get(&js_sys::global(), &"crypto".into())?,
        &"subtle".into(),
    )?
    .unchecked_into();
    let import: Object = js_sys::JSON::parse(key.alg.webcrypto_import())?.unchecked_into();
    let verify: Object = js_sys::JSON::parse(key.alg.webcrypto_verify())?.unchecked_into();
    let jwk: Object = js_sys::JSON::parse(&key.import_json)?.unchecked_into();
    let usages = js_sys::Array::of1(&"verify".into());
    let imported = subtle.import_key_with_object("jwk", &jwk, &import, false, &usages)?;
    let crypto_key: CryptoKey = JsFuture::from(imported).await?.unchecked_into();
    let verified = subtle.verify_with_object_and_u8_array_and_u8_array(
        &verify,
        &crypto_key,
        signature,
        data,
    )?;
    Ok(JsFuture::from(verified).await?.as_bool() == Some(true))
}
