//! The public request budget around dispatch: answers kept per isolate and in the edge cache under keys of what a page reads, and every miss spending the client's `PUBLIC_LIMIT` budget by its route's weight, failing closed.
//!
//! The Cache API does nothing on `*.workers.dev` or behind Access, so the copy this isolate
//! keeps is what serves repeat views there; either way a miss is what the limiter counts.

use std::cell::RefCell;

use futures::future::join_all;
use worker::{Cache, Context, Env, Headers, Method, Request, Response};

use crate::core::config::Config;
use crate::core::routes::{cache_key, client_key, etag, pages_a_write_changes, Route};
use crate::edge::env::Spent;
use crate::edge::error::{AppError, AppResult};

/// At most this many answers per isolate, of at most this many bytes in all (one answer at
/// most a quarter of it): a cursor walk replaces old copies, it never grows memory.
const ISOLATE_ENTRIES: usize = 64;
const ISOLATE_BYTES: usize = 4 << 20;
/// Health, the feed list and search (not shared pages) are kept this long at most.
const UNSHARED_SECONDS: u32 = 15;

struct Kept {
    key: String,
    until: i64,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

thread_local! {
    static KEPT: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

/// Where a cacheable request's answer is kept.
pub struct Cached {
    /// The planet's origin, then the route's canonical path and query (`core::routes::cache_key`).
    key: String,
    /// Shared pages only: the edge cache keeps them too, with `s-maxage`.
    shared: bool,
    ttl: u32,
}

/// The cache entry of a GET or HEAD of a cacheable route, when pages are cached at all.
pub fn cached(req: &Request, r: Route, cfg: &Config) -> worker::Result<Option<Cached>> {
    if cfg.page_cache_seconds == 0 || !matches!(req.method(), Method::Get | Method::Head) {
        return Ok(None);
    }
    let url = req.url()?;
    let query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let Some(key) = cache_key(r, &query) else {
        return Ok(None);
    };
    let shared = r.is_shared_page();
    let ttl = if shared {
        cfg.page_cache_seconds
    } else {
        cfg.page_cache_seconds.min(UNSHARED_SECONDS)
    };
    Ok(Some(Cached {
        key: stored_key(&url.origin().ascii_serialization(), &key, cfg),
        shared,
        ttl,
    }))
}

/// Where the answer to `key` is kept: under the planet's origin, and per deployment (its
/// version and configuration), so a new look or setting is never served from an old page.
fn stored_key(origin: &str, key: &str, cfg: &Config) -> String {
    let tag = etag(format!("{}{cfg:?}", env!("CARGO_PKG_VERSION")).as_bytes());
    let deployment = tag.trim_matches('"').split('-').next().unwrap_or_default();
    let sep = if key.contains('?') { '&' } else { '?' };
    format!("{origin}{key}{sep}deployment={deployment}")
}

impl Cached {
    /// This isolate's copy, else the edge cache's (shared pages).
    pub async fn lookup(&self, now: i64) -> Option<Response> {
        if let Some(hit) = isolate_get(&self.key, now) {
            return Some(hit);
        }
        if !self.shared {
            return None;
        }
        Cache::default()
            .get(self.key.as_str(), false)
            .await
            .ok()
            .flatten()
    }

    /// Keeps a 200 (here, and at the edge for shared pages) and marks it a miss.
    pub async fn keep(self, ctx: &Context, resp: &mut Response, now: i64) -> worker::Result<()> {
        if resp.status_code() != 200 {
            return Ok(());
        }
        let ttl = self.ttl;
        if self.shared {
            resp.headers_mut().set(
                "Cache-Control",
                &format!("public, max-age=0, s-maxage={ttl}, stale-while-revalidate=60"),
            )?;
        }
        let mut copy = resp.cloned()?;
        copy.headers_mut().set("X-Orrery-Cache", "hit")?;
        resp.headers_mut().set("X-Orrery-Cache", "miss")?;
        let headers: Vec<(String, String)> = copy.headers().entries().collect();
        let body = copy.cloned()?.bytes().await?;
        let kept = Kept {
            key: self.key.clone(),
            until: now + i64::from(ttl) * 1000,
            headers,
            body,
        };
        isolate_put(kept, now);
        if self.shared {
            let key = self.key;
            ctx.wait_until(async move {
                if let Err(e) = Cache::default().put(key, copy).await {
                    worker::console_warn!("page cache put failed: {e}");
                }
            });
        }
        Ok(())
    }
}

fn isolate_get(key: &str, now: i64) -> Option<Response> {
    KEPT.with(|k| {
        let kept = k.borrow();
        let hit = kept.iter().find(|e| e.key == key && e.until > now)?;
        let headers: Headers = hit.headers.iter().collect();
        Response::from_bytes(hit.body.clone())
            .ok()
            .map(|r| r.with_status(200).with_headers(headers))
    })
}

fn isolate_put(entry: Kept, now: i64) {
    if entry.body.len() > ISOLATE_BYTES / 4 {
        return;
    }
    KEPT.with(|k| {
        let mut kept = k.borrow_mut();
        kept.retain(|e| e.key != entry.key && e.until > now);
        // Oldest first out, until the new one fits.
        let mut bytes: usize = kept.iter().map(|e| e.body.len()).sum();
        while !kept.is_empty()
            && (kept.len() >= ISOLATE_ENTRIES || bytes + entry.body.len() > ISOLATE_BYTES)
        {
            bytes -= kept.remove(0).body.len();
        }
        kept.push(entry);
    });
}

/// After a write: this isolate keeps nothing, and this location's edge cache forgets the
/// pages the write may change (a cursor's page is forgotten when it expires).
pub async fn forget(origin: &str, cfg: &Config, r: Route) {
    KEPT.with(|k| k.borrow_mut().clear());
    let cache = Cache::default();
    let keys = pages_a_write_changes(r.written_feed());
    let gone = join_all(
        keys.iter()
            .map(|key| cache.delete(stored_key(origin, key, cfg), false)),
    )
    .await;
    if let Some(Err(e)) = gone.into_iter().find(|g| g.is_err()) {
        worker::console_warn!("page cache delete failed: {e}");
    }
}

/// Spends route `r`'s weight of the client's `PUBLIC_LIMIT` budget and of the planet's
/// `PLANET_LIMIT`: a request the caches could not answer. Past either: 429 (the client's) or
/// 503 (the planet's: every anonymous address together, so a thousand cannot spend the
/// day). A binding that does not resolve, or fails, refuses the request (503, logged):
/// uncached public routes are never served unlimited.
pub async fn spend(req: &Request, env: &Env, cfg: &Config, r: Route) -> AppResult<()> {
    let units = r.weight(cfg.page_size);
    if units == 0 || !cfg.rate_limits {
        return Ok(());
    }
    let ip = req.headers().get("CF-Connecting-IP").ok().flatten();
    match crate::edge::env::spend_public(env, &client_key(ip.as_deref()), units).await {
        Spent::Ok => Ok(()),
        Spent::AddressOver => Err(AppError::TooManyRequests(
            "uncached requests are counted by what they cost (a search more than a page)".into(),
        )),
        Spent::PlanetOver => Err(AppError::Unavailable(
            "the planet is busy: uncached pages are refused for a minute, cached ones still \
             served"
                .into(),
        )),
        // `/healthz` and `/health` still answer (they read a tally, and are kept per
        // isolate): `/healthz` is where an operator sees the binding named as missing.
        Spent::Unbound(why) if matches!(r, Route::Healthz | Route::Health) => {
            worker::console_error!("{why}: {r:?} answers without the limiter");
            Ok(())
        }
        Spent::Unbound(why) => Err(unavailable(&why)),
    }
}

fn unavailable(why: &str) -> AppError {
    worker::console_error!("{why}: uncached public requests are refused until it works");
    AppError::Unavailable(
        "the rate limiter is not available, so uncached requests are refused; try again later"
            .into(),
    )
}

/// HSTS on every answer over https: a year, this host only (a planet on
/// `planet.example.org` must not decide for the rest of `example.org`), never on http, where
/// browsers ignore it and `wrangler dev` runs.
const HSTS: &str = "max-age=31536000";

/// The response as sent: a 304 when the client holds its validator, `nosniff` on it (and HSTS
/// over https), and for HEAD the same headers without a body.
pub async fn finish(
    resp: Response,
    if_none_match: Option<&str>,
    head: bool,
    https: bool,
) -> worker::Result<Response> {
    let mut resp = super::not_modified(resp, if_none_match)?;
    if resp.status_code() == 101 {
        return Ok(resp);
    }
    let secure = |h: &Headers| -> worker::Result<()> {
        h.set("X-Content-Type-Options", "nosniff")?;
        if https {
            h.set("Strict-Transport-Security", HSTS)?;
        }
        Ok(())
    };
    if !head && secure(resp.headers_mut()).is_ok() {
        return Ok(resp);
    }
    // HEAD, or a response from the edge cache (its headers may be immutable): rebuilt.
    let headers = resp.headers().clone();
    secure(&headers)?;
    let status = resp.status_code();
    let body = if head {
        Vec::new()
    } else {
        resp.bytes().await?
    };
    Ok(Response::from_bytes(body)?
        .with_status(status)
        .with_headers(headers))
}
