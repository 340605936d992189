//! The FeedObject's own storage: its state, its alarm and its `seen` table; every statement on them lives here.

use serde::Deserialize;
use worker::State;

use crate::core::ingest::{FeedState, Seen, SeenMark, SeenSet, Wake};

const STATE_KEY: &str = "feed";
/// An alarm is never set closer than this (set_alarm takes an offset, not a time).
const MIN_ALARM_OFFSET_MS: i64 = 100;

/// Once per instance: the dedupe memory (identity → fingerprint, D1 entry id).
pub fn create_tables(state: &State) -> worker::Result<()> {
    state.storage().sql().exec(
        "CREATE TABLE IF NOT EXISTS seen (identity TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, \
         entry_id INTEGER, seen_at INTEGER NOT NULL)",
        None,
    )?;
    Ok(())
}

pub async fn load(state: &State) -> worker::Result<Option<FeedState>> {
    state.storage().get::<FeedState>(STATE_KEY).await
}

pub async fn save(state: &State, st: &FeedState) -> worker::Result<()> {
    state.storage().put(STATE_KEY, st).await
}

/// Sets the alarm to the wake time, or clears it.
pub async fn arm(state: &State, wake: Wake, now: i64) -> worker::Result<()> {
    match wake {
        Wake::At(at) => {
            let offset = (at - now).max(MIN_ALARM_OFFSET_MS);
            state.storage().set_alarm(offset).await
        }
        Wake::Never => state.storage().delete_alarm().await,
    }
}

pub async fn alarm(state: &State) -> worker::Result<Option<i64>> {
    state.storage().get_alarm().await
}

/// Forgets everything: state, seen table, alarm.
pub async fn wipe(state: &State) -> worker::Result<()> {
    state.storage().delete_alarm().await?;
    state.storage().delete_all().await
}

/// Remembers entries as seen (stored in D1, or archived when `entry_id` is `None`).
pub fn mark_seen(state: &State, rows: &[SeenMark], now: i64) -> worker::Result<()> {
    let sql = state.storage().sql();
    for r in rows {
        sql.exec(
            "INSERT OR REPLACE INTO seen (identity, fingerprint, entry_id, seen_at) VALUES (?, ?, ?, ?)",
            vec![
                r.identity.clone().into(),
                r.fingerprint.clone().into(),
                r.entry_id.into(),
                now.into(),
            ],
        )?;
    }
    Ok(())
}

/// The seen table, queried one identity at a time (a primary-key lookup reads one
/// row; an unchanged 304 reads none).
pub struct SeenTable<'a>(pub &'a State);

#[derive(Deserialize)]
struct SeenRow {
    fingerprint: String,
    stored: i64,
}

impl SeenSet for SeenTable<'_> {
    fn seen(&self, identity: &str) -> Option<Seen> {
        let rows: worker::Result<Vec<SeenRow>> = self
            .0
            .storage()
            .sql()
            .exec(
                "SELECT fingerprint, entry_id IS NOT NULL AS stored FROM seen WHERE identity = ?",
                vec![identity.into()],
            )
            .and_then(|c| c.to_array());
        match rows {
            Ok(rows) => rows.into_iter().next().map(|r| Seen {
                fingerprint: r.fingerprint,
                stored: r.stored != 0,
            }),
            // Unknown is safe: D1's upsert on (feed_id, identity) never stores it twice.
            Err(e) => {
                worker::console_error!("seen lookup failed: {e}");
                None
            }
        }
    }
}
