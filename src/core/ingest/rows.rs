//! The rows a plan reads and writes: seen identities, carried entries, the feed's D1 row, entry writes and D1's answers.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::state::GONE_AFTER;
use crate::core::domain::FeedStatus;
use crate::core::feed::{self, Entry, RawEntry};
use crate::core::view_models::EntryView;

/// Identities to forget: the oldest `excess` seen rows, except those the document
/// still lists (an identity forgotten and met again would be stored again as new).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenPrune {
    pub excess: u32,
    pub keep: HashSet<String>,
}

impl SeenPrune {
    /// Of the oldest seen identities (oldest first), those to delete.
    pub fn choose<'a>(&self, oldest: &'a [String]) -> Vec<&'a String> {
        oldest
            .iter()
            .filter(|id| !self.keep.contains(id.as_str()))
            .take(self.excess as usize)
            .collect()
    }
}

/// What the FeedObject remembers of an entry it has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub fingerprint: String,
    /// Stored in D1 (a write is an update).
    pub stored: bool,
    /// Waiting to be cleaned by a follow-up invocation (`fingerprint` is the waiting version's).
    pub pending: bool,
}

/// The FeedObject's dedupe memory, looked up by identity (a seam: the edge decides
/// how it is queried; a `HashMap` serves tests and the benchmark).
pub trait SeenSet {
    fn seen(&self, identity: &str) -> Option<Seen>;

    /// Many at once (the edge answers in a few batched queries, not one per entry).
    fn seen_many(&self, identities: &[&str]) -> HashMap<String, Seen> {
        identities
            .iter()
            .filter_map(|id| Some((id.to_string(), self.seen(id)?)))
            .collect()
    }
}

impl SeenSet for HashMap<String, Seen> {
    fn seen(&self, identity: &str) -> Option<Seen> {
        self.get(identity).cloned()
    }
}

/// A row of the seen table to write: `entry_id` `None` marks an archived identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenMark {
    pub identity: String,
    pub fingerprint: String,
    pub entry_id: Option<i64>,
}

/// An entry whose cleaning is carried to a follow-up invocation, kept raw in the object's storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingEntry {
    /// Already stored in D1 (the write will be an update).
    pub known: bool,
    pub raw: RawEntry,
}

/// A permanent redirect the fetch followed, and which feed (if any) already has that URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub url: String,
    pub held_by: Option<i64>,
}

/// What a successful parse says about the feed itself.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedMeta {
    pub title: String,
    pub site_url: Option<String>,
    pub description: Option<String>,
    pub format: &'static str,
}

impl FeedMeta {
    pub(super) fn digest(&self) -> String {
        feed::digest(&[
            Some(self.title.as_bytes()),
            self.site_url.as_deref().map(str::as_bytes),
            self.description.as_deref().map(str::as_bytes),
            Some(self.format.as_bytes()),
        ])
    }
}

/// The D1 `feeds` row to write (the FeedObject's state, mirrored for pages and cron).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRow {
    pub feed_id: i64,
    pub url: String,
    pub status: FeedStatus,
    pub failures: u32,
    pub last_error: Option<String>,
    pub last_fetch_at: i64,
    /// Set when the fetch succeeded (200 or 304).
    pub last_success_at: Option<i64>,
    /// `None` when the feed no longer fetches on its own.
    pub next_fetch_at: Option<i64>,
    /// Cron's watchdog deadline (`None`: not scheduled).
    pub overdue_at: Option<i64>,
    /// Set when a body was parsed.
    pub meta: Option<FeedMeta>,
    /// Entries this write adds to D1 (not updates): the feed's count grows by this.
    pub inserted: u32,
    /// Entries were written: `last_changed_at` is now, and retention trims the feed.
    pub changed: bool,
}

/// A change the refresh made on its own, recorded in the audit log in the batch that
/// writes it: a permanent redirect followed, a feed paused after failures, gone, or back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoChange {
    /// The audit log's action: `feed.moved`, `feed.paused`, `feed.gone`, `feed.recovered`.
    pub action: &'static str,
    /// What changed, in words.
    pub detail: String,
}

impl AutoChange {
    /// What changed between the state a refresh started from and the one it writes
    /// (`error`: the refresh's, in words).
    pub fn between(
        before: &super::FeedState,
        after: &super::FeedState,
        error: Option<&str>,
    ) -> Vec<Self> {
        let mut out = Vec::new();
        if before.url != after.url {
            out.push(AutoChange {
                action: "feed.moved",
                detail: format!("permanent redirect: {} → {}", before.url, after.url),
            });
        }
        if before.status != after.status {
            let why = error.unwrap_or("no reason given");
            let change = match after.status {
                FeedStatus::Paused => Some((
                    "feed.paused",
                    format!("paused after {} failures: {why}", after.failures),
                )),
                FeedStatus::Gone => Some((
                    "feed.gone",
                    format!("gone: HTTP 410, {GONE_AFTER} times in a row"),
                )),
                FeedStatus::Active
                    if matches!(before.status, FeedStatus::Paused | FeedStatus::Gone) =>
                {
                    Some((
                        "feed.recovered",
                        format!(
                            "answering again after {} failures: {} → active",
                            before.failures,
                            before.status.as_str()
                        ),
                    ))
                }
                _ => None,
            };
            out.extend(change.map(|(action, detail)| AutoChange { action, detail }));
        }
        out
    }
}

/// One entry to upsert into D1.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryWrite {
    pub entry: Entry,
    pub fingerprint: String,
    /// Never later than now: a future date cannot pin an entry to the top.
    pub published: i64,
    /// Already stored in D1: an update.
    pub known: bool,
    /// What a new entry is known by as an article (`super::same`): D1 joins it to
    /// another member's copy of it as it inserts it. Empty for updates.
    pub same: super::same::SameKeys,
}

/// D1's answer for one upserted entry (`RETURNING id, first_seen, rev`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct StoredEntry {
    pub id: i64,
    pub first_seen: i64,
    /// The revision an update was given (`None` for an entry stored for the first time).
    #[serde(default)]
    pub rev: Option<i64>,
}

/// What the D1 write turned the plan into.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// Seen rows for every entry D1 stored.
    pub seen: Vec<SeenMark>,
    /// Entries stored for the first time, in id order: these are published.
    pub new_entries: Vec<EntryView>,
    /// Stored entries rewritten (completed or edited), in revision order: published as
    /// `update` frames so readers replace them in place.
    pub updated: Vec<EntryView>,
}
