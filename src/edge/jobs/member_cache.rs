//! The member list, kept in the edge cache.
//!
//! It is behind the sidebar, `/titles` and the planet's Atom sources, FOAF and OPML: a busy
//! page must not read every feed row on each miss (1,000 members and a miss every 15 s
//! would be 5.8M rows a day, past the Free plan's 5M; refreshed hourly in 5 data centres it
//! is 240,000: `bench/COST.md`).

use std::cell::RefCell;

use worker::{Cache, Env, Response};

use crate::core::view_models::FeedView;
use crate::edge::error::AppResult;
use crate::edge::{d1, env};

/// Read from D1 at most this often per location. A change made through the admin or the
/// API forgets the copy where it was made at once (the cache is per location: elsewhere
/// it shows within this time); `/feeds` and the API always read D1.
const MEMBERS_CACHE_SECONDS: u32 = 3600;
const MEMBERS_KEY: &str = "https://members.orrery.internal/v1";
/// This isolate's own copy lives this long: where the Cache API does nothing
/// (`*.workers.dev`, behind Access) it is what spares D1 a read of every feed per view.
const MEMBERS_ISOLATE_SECONDS: i64 = 60;

thread_local! {
    /// Until when, and the members.
    static KEPT: RefCell<Option<(i64, Vec<FeedView>)>> = const { RefCell::new(None) };
}

/// The members, from the edge cache when it has them (never cached when pages are not:
/// `PAGE_CACHE_SECONDS=0`). The cached copy is the public one (URLs' credentials hidden).
pub async fn list(env: &Env) -> AppResult<Vec<FeedView>> {
    let ttl = env::config(env).page_cache_seconds;
    if ttl == 0 {
        return Ok(d1::feeds_all(&env::db(env)?).await?);
    }
    let now = env::now_ms();
    let kept = KEPT.with(|k| {
        k.borrow()
            .as_ref()
            .filter(|(until, _)| *until > now)
            .map(|(_, m)| m.clone())
    });
    if let Some(members) = kept {
        return Ok(members);
    }
    let keep = |members: &Vec<FeedView>| {
        let until = now + MEMBERS_ISOLATE_SECONDS * 1000;
        KEPT.with(|k| *k.borrow_mut() = Some((until, members.clone())));
    };
    let cache = Cache::default();
    if let Ok(Some(mut hit)) = cache.get(MEMBERS_KEY, false).await {
        if let Ok(members) = hit.json::<Vec<FeedView>>().await {
            keep(&members);
            return Ok(members);
        }
    }
    let members = d1::feeds_all(&env::db(env)?).await?;
    keep(&members);
    let mut copy = Response::from_json(&members)?;
    let age = MEMBERS_CACHE_SECONDS.max(ttl);
    copy.headers_mut()
        .set("Cache-Control", &format!("public, max-age={age}"))?;
    if let Err(e) = cache.put(MEMBERS_KEY, copy).await {
        worker::console_warn!("members cache put failed: {e}");
    }
    Ok(members)
}

/// Forgets this isolate's and this location's copy (after a write that may change the members).
pub async fn forget() {
    KEPT.with(|k| k.borrow_mut().take());
    if let Err(e) = Cache::default().delete(MEMBERS_KEY, false).await {
        worker::console_warn!("members cache delete failed: {e}");
    }
}
