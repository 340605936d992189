//! The FeedObject's own storage: its state, alarm, `seen` and `pending` tables.
//!
//! Every statement and write on them lives here; nobody else writes them.
//!
//! Rows are billed: a state `get` reads one and a `put` or `setAlarm` writes one, so
//! the shell saves the state only when it changed and an unchanged refresh writes
//! nothing but its alarm. Every call reports its rows to the meter.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use worker::{SqlStorageValue, State};

use crate::core::ingest::{
    follow_up_take, FeedState, PendingEntry, Plan, Seen, SeenMark, SeenPrune, SeenSet, Wake,
    PENDING_PEEK,
};
use crate::core::websub::subscriber::Leaving;
use crate::edge::meter;

const STATE_KEY: &str = "feed";
/// A removed feed's unsubscribe, kept until the hub confirms it (or its alarm rings).
const LEAVING_KEY: &str = "websub_leaving";
/// An alarm is never set closer than this (set_alarm takes an offset, not a time).
const MIN_ALARM_OFFSET_MS: i64 = 100;
/// Values per batched statement (DO SQLite binds at most 100 parameters).
const LOOKUP_BATCH: usize = 90;

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
         published INTEGER, len INTEGER NOT NULL, entry TEXT NOT NULL)",
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
    let feed = state.storage().get::<FeedState>(STATE_KEY).await?;
    if let Some(f) = &feed {
        meter::feed(f.feed_id);
    }
    Ok(feed)
}

pub async fn save(state: &State, feed: &FeedState) -> worker::Result<()> {
    meter::kv("state.put", 0, 1);
    state.storage().put(STATE_KEY, feed).await
}

/// Saves the state if there is one to save.
pub async fn save_some(state: &State, feed: Option<FeedState>) -> worker::Result<()> {
    match feed {
        Some(feed) => save(state, &feed).await,
        None => Ok(()),
    }
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

/// After [`wipe`]: keeps a removed feed's unsubscribe note, and wakes in `keep_ms` to drop it.
pub async fn keep_leaving(state: &State, note: Leaving, keep_ms: i64) -> worker::Result<()> {
    state.storage().put(LEAVING_KEY, note).await?;
    state.storage().set_alarm(keep_ms).await
}

/// A removed feed's unsubscribe note, if one is kept.
pub async fn leaving(state: &State) -> worker::Result<Option<Leaving>> {
    state.storage().get(LEAVING_KEY).await
}

/// Drops a removed feed's note (confirmed, or waited long enough): nothing is left.
pub async fn forget_leaving(state: &State) -> worker::Result<()> {
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

/// The object's share of a plan D1 has stored: seen rows (archived, and `seen` for the
/// entries D1 stored), carried-over entries kept and finished ones removed, and the seen
/// table pruned when the plan says so (the state's count follows).
pub fn write_plan(
    state: &State,
    plan: &mut Plan,
    seen: &[SeenMark],
    now: i64,
) -> worker::Result<()> {
    mark_seen(state, plan.archived.iter().chain(seen), now)?;
    carry(state, &plan.carried)?;
    finish(state, &plan.finished)?;
    if let Some(prune) = &plan.prune {
        plan.state.seen_rows = plan
            .state
            .seen_rows
            .saturating_sub(prune_seen(state, prune)?);
    }
    Ok(())
}

/// Remembers entries as seen (stored in D1, or archived when `entry_id` is `None`).
pub fn mark_seen<'a>(
    state: &State,
    rows: impl IntoIterator<Item = &'a SeenMark>,
    now: i64,
) -> worker::Result<()> {
    // Many rows per statement: a flood's first fetch archives up to ~2,000 identities,
    // and each statement is a call across the JS boundary.
    let rows: Vec<&SeenMark> = rows.into_iter().collect();
    for chunk in rows.chunks(LOOKUP_BATCH / 4) {
        let values = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
        let binds = chunk
            .iter()
            .flat_map(|r| {
                [
                    r.identity.clone().into(),
                    r.fingerprint.clone().into(),
                    r.entry_id.into(),
                    now.into(),
                ]
            })
            .collect();
        exec(
            state,
            "seen.put",
            &format!(
                "INSERT OR REPLACE INTO seen (identity, fingerprint, entry_id, seen_at) VALUES {values}"
            ),
            binds,
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
            "INSERT OR REPLACE INTO pending (identity, fingerprint, published, len, entry) \
             VALUES (?, ?, ?, ?, ?)",
            vec![
                e.raw.identity.clone().into(),
                e.raw.fingerprint.clone().into(),
                e.raw.published_at.into(),
                (e.raw.content_len() as i64).into(),
                serde_json::to_string(e)?.into(),
            ],
        )?;
    }
    Ok(())
}

/// Removes carried-over entries that are done.
pub fn finish(state: &State, identities: &[String]) -> worker::Result<()> {
    for chunk in identities.chunks(LOOKUP_BATCH) {
        let binds = chunk.iter().map(|id| id.clone().into()).collect::<Vec<_>>();
        exec(
            state,
            "pending.delete",
            &format!(
                "DELETE FROM pending WHERE identity IN ({})",
                placeholders(chunk.len())
            ),
            binds,
        )?;
    }
    Ok(())
}

/// The newest waiting entries that fit one follow-up's budget (decided from their
/// lengths, so bodies that will not be cleaned now are not read), and whether more wait.
pub fn pending(state: &State) -> worker::Result<(Vec<PendingEntry>, bool)> {
    #[derive(Deserialize)]
    struct Peek {
        identity: String,
        len: i64,
    }
    let peek: Vec<Peek> = select(
        state,
        "pending.peek",
        "SELECT identity, len FROM pending ORDER BY published DESC LIMIT ?",
        vec![(PENDING_PEEK as i64 + 1).into()],
    )?;
    let lens: Vec<usize> = peek
        .iter()
        .take(PENDING_PEEK)
        .map(|p| p.len.max(0) as usize)
        .collect();
    let take = follow_up_take(&lens);
    if take == 0 {
        return Ok((Vec::new(), false));
    }
    #[derive(Deserialize)]
    struct Row {
        entry: String,
    }
    let ids: Vec<SqlStorageValue> = peek[..take]
        .iter()
        .map(|p| p.identity.clone().into())
        .collect();
    let rows: Vec<Row> = select(
        state,
        "pending.get",
        &format!(
            "SELECT entry FROM pending WHERE identity IN ({}) ORDER BY published DESC",
            placeholders(ids.len())
        ),
        ids,
    )?;
    let entries = rows
        .iter()
        .filter_map(|r| match serde_json::from_str::<PendingEntry>(&r.entry) {
            Ok(e) => Some(e),
            Err(e) => {
                worker::console_error!("a pending entry does not decode: {e}");
                None
            }
        })
        .collect();
    Ok((entries, peek.len() > take))
}

/// Forgets the oldest seen identities the plan lets go (never one the document still
/// lists); returns how many rows went. Oldest by rowid: a rewrite replaces the row, so
/// rowid order is last-seen order, read straight off the table without an index.
pub fn prune_seen(state: &State, prune: &SeenPrune) -> worker::Result<u32> {
    #[derive(Deserialize)]
    struct Row {
        identity: String,
    }
    let look = prune.excess as usize + prune.keep.len();
    let oldest: Vec<Row> = select(
        state,
        "seen.oldest",
        "SELECT identity FROM seen ORDER BY rowid LIMIT ?",
        vec![(look as i64).into()],
    )?;
    let oldest: Vec<String> = oldest.into_iter().map(|r| r.identity).collect();
    let gone = prune.choose(&oldest);
    for chunk in gone.chunks(LOOKUP_BATCH) {
        let binds = chunk.iter().map(|id| (*id).clone().into()).collect();
        exec(
            state,
            "seen.delete",
            &format!(
                "DELETE FROM seen WHERE identity IN ({})",
                placeholders(chunk.len())
            ),
            binds,
        )?;
    }
    Ok(gone.len() as u32)
}

/// `?, ?, …` for an `IN (…)` of `n` (≥ 1) values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The seen table (and, while work is pending, the pending table), queried in batches of
/// identities: each lookup reads only the rows it finds; an unchanged 304 reads none.
pub struct SeenTable<'a> {
    pub state: &'a State,
    pub with_pending: bool,
}

impl SeenTable<'_> {
    /// One batch: seen rows, and (while work is pending) waiting versions over them.
    fn lookup(&self, ids: &[&str], out: &mut HashMap<String, Seen>) -> worker::Result<()> {
        #[derive(Deserialize)]
        struct Row {
            identity: String,
            fingerprint: String,
            stored: i64,
        }
        let binds = || {
            ids.iter()
                .map(|id| (*id).into())
                .collect::<Vec<SqlStorageValue>>()
        };
        let marks = placeholders(ids.len());
        let seen: Vec<Row> = select(
            self.state,
            "seen.get",
            &format!(
                "SELECT identity, fingerprint, entry_id IS NOT NULL AS stored FROM seen \
                 WHERE identity IN ({marks})"
            ),
            binds(),
        )?;
        for r in seen {
            let s = Seen {
                fingerprint: r.fingerprint,
                stored: r.stored != 0,
                pending: false,
            };
            out.insert(r.identity, s);
        }
        if self.with_pending {
            let waiting: Vec<Row> = select(
                self.state,
                "pending.get",
                &format!(
                    "SELECT identity, fingerprint, 0 AS stored FROM pending WHERE identity IN ({marks})"
                ),
                binds(),
            )?;
            for w in waiting {
                let stored = out.get(&w.identity).is_some_and(|s| s.stored);
                let s = Seen {
                    fingerprint: w.fingerprint,
                    stored,
                    pending: true,
                };
                out.insert(w.identity, s);
            }
        }
        Ok(())
    }
}

impl SeenSet for SeenTable<'_> {
    fn seen(&self, identity: &str) -> Option<Seen> {
        self.seen_many(&[identity]).remove(identity)
    }

    fn seen_many(&self, identities: &[&str]) -> HashMap<String, Seen> {
        let mut out = HashMap::new();
        for chunk in identities.chunks(LOOKUP_BATCH) {
            // Unknown is safe: D1's upsert on (feed_id, identity) never stores it twice.
            if let Err(e) = self.lookup(chunk, &mut out) {
                worker::console_error!("seen lookup failed: {e}");
            }
        }
        out
    }
}
