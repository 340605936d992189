//! A Room's own storage: its cursors, the Publisher's last flag, its retry alarm.

use worker::State;

use crate::edge::objects::wire::WebSubFlag;

/// Largest id broadcast so far (DO storage, so it survives eviction).
const CURSOR_KEY: &str = "cursor";
/// Largest revision broadcast so far (the `update` frames' cursor).
const REV_CURSOR_KEY: &str = "rev_cursor";
/// The last [`WebSubFlag`] the Publisher gave this shard (the first shard only).
const WEBSUB_FLAG_KEY: &str = "websub_flag";

pub async fn cursor(state: &State) -> worker::Result<Option<i64>> {
    state.storage().get::<i64>(CURSOR_KEY).await
}

pub async fn save_cursor(state: &State, id: i64) -> worker::Result<()> {
    state.storage().put(CURSOR_KEY, id).await
}

pub async fn rev_cursor(state: &State) -> worker::Result<Option<i64>> {
    state.storage().get::<i64>(REV_CURSOR_KEY).await
}

pub async fn save_rev_cursor(state: &State, rev: i64) -> worker::Result<()> {
    state.storage().put(REV_CURSOR_KEY, rev).await
}

/// Sets the alarm `ms` from now (a publish to retry, or a catch-up to carry on).
pub async fn retry_in(state: &State, ms: i64) -> worker::Result<()> {
    state.storage().set_alarm(ms).await
}

/// The flag as last heard (unreadable counts as never heard).
pub async fn websub_flag(state: &State) -> Option<WebSubFlag> {
    state.storage().get(WEBSUB_FLAG_KEY).await.ok().flatten()
}

pub async fn save_websub_flag(state: &State, flag: WebSubFlag) -> worker::Result<()> {
    state.storage().put(WEBSUB_FLAG_KEY, flag).await
}
