//! The FeedObject's own storage: its state, its alarm, its `seen` and `pending` tables; every statement on them lives here.
//!
//! Rows are billed: a state `get` reads one and a `put` or `setAlarm` writes one, so
//! the shell saves the state only when it changed and an unchanged refresh writes
//! nothing but its alarm. Every call reports its rows to the meter.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use worker::{SqlStorageValue, State};

use crate::core::ingest::{FeedState, PendingEntry, Seen, SeenMark, SeenSet, Wake};
use crate::edge::meter;

const STATE_KEY: &str = "feed";
/// An alarm is never set closer than this (set_alarm takes an offset, not a time).
const MIN_ALARM_OFFSET_MS: i64 = 100;
/// Carried-over entries loaded per follow-up invocation at most.
pub const PENDING_BATCH: u32 = 50;

/// Once per instance: the dedupe memory (identity → fingerprint, D1 entry id) and the
/// entries waiting to be cleaned by a follow-up invocation (raw, as JSON).
pub fn create_tables(state: &State) -> worker::Result<()> {
    let sql = state.storage().sql();
    sql.exec(
        "CREATE TABLE IF NOT EXISTS seen (identity TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, \
         entry_id INTEGER, seen_at INTEGER NOT NULL)",
        None,
    )?;
    sql.exec(
        "CREATE TABLE IF NOT EXISTS pending (identity TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, \
         published INTEGER, entry TEXT NOT NULL)",
        None,
    )?;
    sql.exec(
        "CREATE INDEX IF NOT EXISTS pending_newest ON pending (published DESC)",
        None,
    )?;
    Ok(())
}

pub async fn load(state: &State) -> worker::Result<Option<FeedState>> {
    meter::kv("state.get", 1, 0);
    state.storage().get::<FeedState>(STATE_KEY).await
}

pub async fn save(state: &State, st: &FeedState) -> worker::Result<()> {
    meter::kv("state.put", 0, 1);
    state.storage().put(STATE_KEY, st).await
}

/// Sets the alarm to the wake time, or clears it.
pub async fn arm(state: &State, wake: Wake, now: i64) -> worker::Result<()> {
    meter::kv("alarm.set", 0, 1);
    match wake {
        Wake::At(at) => {
            let offset = (at - now).max(MIN_ALARM_OFFSET_MS);
            state.storage().set_alarm(offset).await
        }
        Wake::Never => state.storage().delete_alarm().await,
    }
}

pub async fn alarm(state: &State) -> worker::Result<Option<i64>> {
    meter::kv("alarm.get", 1, 0);
    state.storage().get_alarm().await
}

/// Forgets everything: state, tables, alarm.
pub async fn wipe(state: &State) -> worker::Result<()> {
    state.storage().delete_alarm().await?;
    state.storage().delete_all().await
}

fn exec(
    state: &State,
    what: &str,
    query: &str,
    bindings: Vec<SqlStorageValue>,
) -> worker::Result<()> {
    let cursor = state.storage().sql().exec(query, bindings)?;
    meter::sql(what, &cursor);
    Ok(())
}

fn select<T: DeserializeOwned>(
    state: &State,
    what: &str,
    query: &str,
    bindings: Vec<SqlStorageValue>,
) -> worker::Result<Vec<T>> {
    let cursor = state.storage().sql().exec(query, bindings)?;
    let rows = cursor.to_array()?;
    meter::sql(what, &cursor);
    Ok(rows)
}

/// Remembers entries as seen (stored in D1, or archived when `entry_id` is `None`).
pub fn mark_seen<'a>(
    state: &State,
    rows: impl IntoIterator<Item = &'a SeenMark>,
    now: i64,
) -> worker::Result<()> {
    for r in rows {
        exec(
            state,
            "seen.put",
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

/// Keeps entries for a follow-up invocation (replacing an older waiting version).
pub fn carry(state: &State, entries: &[PendingEntry]) -> worker::Result<()> {
    for e in entries {
        exec(
            state,
            "pending.put",
            "INSERT OR REPLACE INTO pending (identity, fingerprint, published, entry) VALUES (?, ?, ?, ?)",
            vec![
                e.raw.identity.clone().into(),
                e.raw.fingerprint.clone().into(),
                e.raw.published_at.into(),
                serde_json::to_string(e)?.into(),
            ],
        )?;
    }
    Ok(())
}

/// Removes carried-over entries that are done.
pub fn finish(state: &State, identities: &[String]) -> worker::Result<()> {
    for id in identities {
        exec(
            state,
            "pending.delete",
            "DELETE FROM pending WHERE identity = ?",
            vec![id.clone().into()],
        )?;
    }
    Ok(())
}

/// The newest waiting entries (at most [`PENDING_BATCH`]), and whether more wait behind them.
pub fn pending(state: &State) -> worker::Result<(Vec<PendingEntry>, bool)> {
    #[derive(Deserialize)]
    struct Row {
        entry: String,
    }
    let rows: Vec<Row> = select(
        state,
        "pending.get",
        "SELECT entry FROM pending ORDER BY published DESC LIMIT ?",
        vec![i64::from(PENDING_BATCH + 1).into()],
    )?;
    let more = rows.len() > PENDING_BATCH as usize;
    let entries = rows
        .iter()
        .take(PENDING_BATCH as usize)
        .filter_map(|r| match serde_json::from_str::<PendingEntry>(&r.entry) {
            Ok(e) => Some(e),
            Err(e) => {
                worker::console_error!("a pending entry does not decode: {e}");
                None
            }
        })
        .collect();
    Ok((entries, more))
}

/// The seen table (and, while work is pending, the pending table), queried one identity
/// at a time: a primary-key lookup reads one row; an unchanged 304 reads none.
pub struct SeenTable<'a> {
    pub state: &'a State,
    pub with_pending: bool,
}

#[derive(Deserialize)]
struct SeenRow {
    fingerprint: String,
    stored: i64,
}

impl SeenTable<'_> {
    fn lookup(&self, identity: &str) -> worker::Result<Option<Seen>> {
        let seen: Vec<SeenRow> = select(
            self.state,
            "seen.get",
            "SELECT fingerprint, entry_id IS NOT NULL AS stored FROM seen WHERE identity = ?",
            vec![identity.into()],
        )?;
        let mut found = seen.into_iter().next().map(|r| Seen {
            fingerprint: r.fingerprint,
            stored: r.stored != 0,
            pending: false,
        });
        if self.with_pending {
            let waiting: Vec<SeenRow> = select(
                self.state,
                "pending.get",
                "SELECT fingerprint, 0 AS stored FROM pending WHERE identity = ?",
                vec![identity.into()],
            )?;
            if let Some(w) = waiting.into_iter().next() {
                let stored = found.as_ref().is_some_and(|s| s.stored);
                found = Some(Seen {
                    fingerprint: w.fingerprint,
                    stored,
                    pending: true,
                });
            }
        }
        Ok(found)
    }
}

impl SeenSet for SeenTable<'_> {
    fn seen(&self, identity: &str) -> Option<Seen> {
        // Unknown is safe: D1's upsert on (feed_id, identity) never stores it twice.
        self.lookup(identity).unwrap_or_else(|e| {
            worker::console_error!("seen lookup failed: {e}");
            None
        })
    }
}
