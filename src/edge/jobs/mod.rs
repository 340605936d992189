//! Work that is not one request's: cron, the feed lifecycle, the membership sync, the member cache.

pub mod cron;
pub mod lifecycle;
pub mod member_cache;
pub mod membership_sync;
pub mod refresh_all;
