//! Work that is not one request's: the cron run, the feed lifecycle every caller shares, the membership file's sync and the member cache.

pub mod cron;
pub mod lifecycle;
pub mod member_cache;
pub mod membership_sync;
