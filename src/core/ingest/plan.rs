//! One invocation's plan: from what a fetch found (or what was carried over), what to write, archive, carry and publish.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::state::{overdue_deadline, FeedState, FeedStatus, RowDigest, GONE_AFTER};
use crate::core::feed::{self, Entry, FeedDoc, RawEntry, FIRST_FETCH_MAX_ENTRIES};
use crate::core::fetch_policy::FetchOutcome;
use crate::core::model::EntryView;
use crate::core::schedule::{self, FetchHints, ScheduleConfig};
use crate::core::websub::{self, DocLinks};

/// How many recent publish times feed the adaptive schedule.
pub const RECENT_TIMES: usize = 20;
pub use crate::core::feed::MAX_ITEMS_PER_DOCUMENT;
/// Parsing a byte costs about this many times less CPU than sanitizing one, so a big
/// document leaves less of the invocation's budget for sanitizing (`make bench`).
pub const PARSE_COST_DIVISOR: usize = 32;
/// The seen table is pruned when it holds more identities than this...
pub const SEEN_PRUNE_ABOVE: u32 = 6_000;
/// ...down to this many (twice the items a document can carry, so nothing a document
/// still lists is ever forgotten: those are kept whatever their age).
pub const SEEN_KEEP: u32 = 2 * MAX_ITEMS_PER_DOCUMENT as u32;
/// Seen rows deleted per invocation at most (a statement per 90, in the CPU budget).
pub const SEEN_PRUNE_MAX: u32 = 2_500;

/// What retention keeps, as ingest needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    /// Entries published before this (the retention cutoff) are remembered, never stored:
    /// cron would only delete them again.
    pub since: Option<i64>,
    /// New entries stored from one document at most, the newest (0: no limit but
    /// [`MAX_ITEMS_PER_DOCUMENT`]): the per-feed count would delete the rest at once.
    pub max_new: usize,
}

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

/// What one refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// A body was read (and ingested, unless identical to the last one).
    Ok,
    /// 304: nothing changed.
    NotModified,
    /// The fetch or the parse failed; counted against the feed.
    Failed,
    /// 429/503: the server asked us to come back later; not a failure.
    RetryLater,
    /// 410: the feed is gone.
    Gone,
    /// Nothing was fetched (busy, paused, gone or not initialised).
    #[default]
    Skipped,
}

impl RefreshOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Ok => "ok",
            RefreshOutcome::NotModified => "not_modified",
            RefreshOutcome::Failed => "failed",
            RefreshOutcome::RetryLater => "retry_later",
            RefreshOutcome::Gone => "gone",
            RefreshOutcome::Skipped => "skipped",
        }
    }

    /// Did this refresh find a feed we can read? A new subscription is kept only then.
    pub fn found_a_feed(self) -> bool {
        matches!(
            self,
            RefreshOutcome::Ok | RefreshOutcome::NotModified | RefreshOutcome::RetryLater
        )
    }

    fn succeeded(self) -> bool {
        matches!(self, RefreshOutcome::Ok | RefreshOutcome::NotModified)
    }
}

/// What one refresh did; the FeedObject's answer to `init` and `refresh` calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefreshReport {
    pub outcome: RefreshOutcome,
    pub new_entries: u32,
    pub updated_entries: u32,
    /// Entries found but left for follow-up invocations (over this one's CPU budget).
    #[serde(default)]
    pub carried_entries: u32,
    pub error: Option<String>,
    pub next_fetch_at: Option<i64>,
    pub status: FeedStatus,
    pub url: String,
    /// Unix ms when the new entries, committed to D1, were handed to the Room
    /// (the start of publish-to-delivered; `None` when nothing was published).
    pub published_at: Option<i64>,
    /// The document was an HTML page, not a feed (a site's home page, perhaps: adding
    /// it looks for the feeds it announces).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub html_page: bool,
}

impl RefreshReport {
    /// One line for a person (the admin page's notice after a refresh).
    pub fn summary(&self) -> String {
        match &self.error {
            Some(e) => format!("Refresh: {} ({e})", self.outcome.as_str()),
            None => format!(
                "Refresh: {}, {} new entries.",
                self.outcome.as_str(),
                self.new_entries
            ),
        }
    }

    /// The feed was removed while this refresh ran: nothing is written.
    pub fn removed() -> Self {
        RefreshReport::skipped("the feed was removed while it refreshed")
    }

    fn skipped(why: &str) -> Self {
        RefreshReport {
            outcome: RefreshOutcome::Skipped,
            error: Some(why.into()),
            ..Default::default()
        }
    }

    fn of(st: &FeedState, outcome: RefreshOutcome, error: Option<String>) -> Self {
        RefreshReport {
            outcome,
            error,
            next_fetch_at: st.status.is_scheduled().then_some(st.next_fetch_at),
            status: st.status,
            url: st.url.clone(),
            ..Default::default()
        }
    }
}

/// A refresh whose writes the platform refused: nothing is lost (the state, the seen
/// set and the feed's place stay as they were, so the same entries are found again),
/// nothing is counted against the feed, and it tries again at `retry_at`.
pub fn held(
    st: &FeedState,
    trouble: super::state::PlatformTrouble,
    now: i64,
) -> (RefreshReport, i64) {
    let at = trouble.retry_at(st.feed_id, now);
    let msg = format!(
        "Orrery could not store this refresh ({}); it tries again later",
        trouble.describe()
    );
    let mut report = RefreshReport::of(st, RefreshOutcome::RetryLater, Some(msg));
    report.next_fetch_at = Some(at);
    (report, at)
}

/// Whether a refresh runs: the state to refresh, or the report it answers with instead.
/// `forced` (a refresh by hand) also revives a paused or gone feed, never a held one
/// (paused by hand: only a resume revives it).
pub fn refresh_gate(
    st: Option<FeedState>,
    forced: bool,
    busy: bool,
) -> Result<FeedState, RefreshReport> {
    match st {
        _ if busy => Err(RefreshReport::skipped("a refresh is already running")),
        None => Err(RefreshReport::skipped("this feed is not initialised")),
        Some(st) if st.status == FeedStatus::Held => Err(RefreshReport::of(
            &st,
            RefreshOutcome::Skipped,
            Some("this feed is paused by hand; resume it to fetch it again".into()),
        )),
        Some(st) if !forced && !st.status.is_scheduled() => {
            Err(RefreshReport::of(&st, RefreshOutcome::Skipped, None))
        }
        Some(st) => Ok(st),
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
    fn digest(&self) -> String {
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

/// One entry to upsert into D1.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryWrite {
    pub entry: Entry,
    pub fingerprint: String,
    /// Never later than now: a future date cannot pin an entry to the top.
    pub published: i64,
    /// Already stored in D1: an update.
    pub known: bool,
}

/// Everything one invocation writes, in the order the edge applies it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The state to save (if [`Plan::state_changed`]).
    pub state: FeedState,
    /// Written to D1 in one batch with [`Plan::entries`]; `None`: the row is unchanged.
    pub feed_row: Option<FeedRow>,
    /// New and changed entries, oldest first (so ids grow with publication time).
    pub entries: Vec<EntryWrite>,
    /// Identities remembered without storing them (past the first-fetch cap).
    pub archived: Vec<SeenMark>,
    /// Entries over this invocation's budget, for follow-up invocations.
    pub carried: Vec<PendingEntry>,
    /// Carried-over identities this invocation finished (to remove from storage).
    pub finished: Vec<String>,
    /// The seen table has grown past [`SEEN_PRUNE_ABOVE`]: what to forget.
    pub prune: Option<SeenPrune>,
    pub report: RefreshReport,
    /// The feed's display name for the entries published from this invocation: the
    /// member's name, else the document's title, else the URL.
    pub feed_title: String,
    /// The member's face for those entries.
    pub feed_face: Option<String>,
    /// Something worth a log line that is not a failure.
    pub warning: Option<String>,
    /// The WebSub hub and self links of the document this plan parsed (`None`: nothing
    /// was parsed, so nothing new is known); the edge adds the HTTP `Link` header's.
    pub doc_links: Option<DocLinks>,
    /// Sanitizing budget this invocation has not spent: a refresh that found the feed
    /// unchanged (a 304, the same body) spends it on carried work ([`Plan::with_carried`]).
    spare: usize,
    before: FeedState,
    now: i64,
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

/// Decides everything one refresh does, from what the fetch found, storing what
/// retention would `keep`.
pub fn plan(
    st: &FeedState,
    fetched: FetchOutcome,
    moved: Option<Move>,
    seen: &impl SeenSet,
    now: i64,
    cfg: &ScheduleConfig,
    keep: Keep,
) -> Plan {
    let mut next = st.clone();
    next.parsing = None;
    next.parse_attempts = 0;
    if !matches!(fetched, FetchOutcome::Gone) {
        next.gone_strikes = 0;
    }
    let p = match fetched {
        FetchOutcome::NotModified { cache_max_age_s } => {
            let warning = accept_move(&mut next, moved);
            succeed(&mut next, cache_max_age_s, now, cfg);
            let mut p = Plan::bare(st, next, RefreshOutcome::NotModified, None, now);
            p.warning = warning;
            p.spare = feed::FULL_CONTENT_BUDGET_BYTES;
            p
        }
        FetchOutcome::Fetched {
            body,
            final_url,
            etag,
            last_modified,
            cache_max_age_s,
        } => {
            let digest = feed::digest(&[Some(&body)]);
            if st.body_digest.as_deref() == Some(digest.as_str()) {
                // The very same document as last time: nothing to parse or store.
                let warning = accept_move(&mut next, moved);
                (next.etag, next.last_modified) = (etag, last_modified);
                succeed(&mut next, cache_max_age_s, now, cfg);
                let mut p = Plan::bare(st, next, RefreshOutcome::Ok, None, now);
                p.warning = warning;
                // Only hashed: what parsing it would have cost is left.
                p.spare =
                    feed::FULL_CONTENT_BUDGET_BYTES.saturating_sub(body.len() / PARSE_COST_DIVISOR);
                return p.finish(None);
            }
            if st.parsing.as_deref() == Some(digest.as_str()) && st.parse_attempts >= PARSE_ATTEMPTS
            {
                // Invocations died reading this very document: fail it, do not die again.
                next.parsing = st.parsing.clone();
                next.parse_attempts = st.parse_attempts;
                let why =
                    "the last attempt to read this document did not finish: it is too big or \
                           too complex to read within one invocation's limits; Orrery tries again \
                           when the document changes";
                return fail(st, next, why.into(), now, cfg).finish(None);
            }
            match feed::parse(&body, &final_url) {
                Ok(doc) => {
                    let warning = accept_move(&mut next, moved);
                    (next.etag, next.last_modified) = (etag, last_modified);
                    next.body_digest = Some(digest);
                    next.ttl_minutes = doc.ttl_minutes;
                    let budget = feed::FULL_CONTENT_BUDGET_BYTES
                        .saturating_sub(body.len() / PARSE_COST_DIVISOR);
                    let mut p = ingest(st, next, &doc, seen, budget, now, keep);
                    succeed(&mut p.state, cache_max_age_s, now, cfg);
                    p.warning = warning;
                    p.doc_links = Some(DocLinks {
                        hub: doc.hub.clone(),
                        self_url: doc.self_url.clone(),
                    });
                    let meta = FeedMeta {
                        title: doc.title.clone(),
                        site_url: doc.site_url.clone(),
                        description: doc.description.clone(),
                        format: doc.format.as_str(),
                    };
                    return p.finish(Some(meta));
                }
                Err(e) => {
                    let mut p = fail(st, next, e.to_string(), now, cfg);
                    p.report.html_page = e == feed::ParseError::Html;
                    p
                }
            }
        }
        FetchOutcome::RetryLater {
            status,
            retry_after_ms,
        } => {
            // Waiting as told is not a failure: status and failures stay as they are.
            next.next_fetch_at = schedule::next_fetch_after_retry_later(now, cfg, retry_after_ms);
            let msg = format!("the server asked us to come back later (HTTP {status})");
            Plan::bare(st, next, RefreshOutcome::RetryLater, Some(msg), now)
        }
        FetchOutcome::Gone => {
            next.gone_strikes = next.gone_strikes.saturating_add(1);
            if next.gone_strikes < GONE_AFTER {
                let msg = format!(
                    "the server says this feed is gone (HTTP 410, {} of {GONE_AFTER} before Orrery stops asking)",
                    next.gone_strikes
                );
                return fail(st, next, msg, now, cfg).finish(None);
            }
            next.status = FeedStatus::Gone;
            let msg = format!(
                "the publisher removed this feed (HTTP 410 Gone, {GONE_AFTER} times in a row)"
            );
            Plan::bare(st, next, RefreshOutcome::Gone, Some(msg), now)
        }
        FetchOutcome::Failed(reason) => fail(st, next, reason, now, cfg),
    };
    p.finish(None)
}

/// Carried-over entries a follow-up looks at, newest first.
pub const PENDING_PEEK: usize = 50;

/// How many of the waiting entries (their raw body lengths, newest first) one follow-up
/// loads: what fits its budget, the first always; the rest stay in storage unread.
pub fn follow_up_take(lens: &[usize]) -> usize {
    feed::fits_budget(lens.iter().copied(), feed::FULL_CONTENT_BUDGET_BYTES)
}

/// Invocations that may die reading one document before it is failed without being read:
/// one death may be a deploy or an eviction, not the document.
pub const PARSE_ATTEMPTS: u32 = 2;
/// Documents smaller than this are read without a mark: the scanner is linear and a
/// document this size parses in about a millisecond, so it cannot kill an invocation,
/// and the mark would cost a storage row on every changed fetch (most feeds are far
/// smaller: the corpus median is 84 KB).
pub const PARSE_MARK_MIN_BYTES: usize = 256 * 1024;

/// The state to save before this fetch's document is parsed (`None`: no parse ahead):
/// if invocations die while parsing, a later one finds the mark and, after
/// [`PARSE_ATTEMPTS`], fails that document with a reason instead of dying on it again.
pub fn parse_mark(st: &FeedState, fetched: &FetchOutcome) -> Option<FeedState> {
    let FetchOutcome::Fetched { body, .. } = fetched else {
        return None;
    };
    if body.len() < PARSE_MARK_MIN_BYTES {
        return None;
    }
    let digest = feed::digest(&[Some(body)]);
    let attempts = if st.parsing.as_deref() == Some(digest.as_str()) {
        st.parse_attempts.saturating_add(1)
    } else {
        1
    };
    (st.body_digest.as_deref() != Some(digest.as_str())).then(|| FeedState {
        parsing: Some(digest),
        parse_attempts: attempts,
        ..st.clone()
    })
}

/// A follow-up invocation: cleans carried-over entries (`loaded`, newest first) within
/// the budget; `more_waiting` says storage holds more than was loaded.
pub fn follow_up(st: &FeedState, loaded: Vec<PendingEntry>, more_waiting: bool, now: i64) -> Plan {
    let mut p = Plan::bare(st, st.clone(), RefreshOutcome::Ok, None, now);
    p.report.error = st.row.as_ref().and_then(|r| r.last_error.clone());
    p.complete(loaded, more_waiting, feed::FULL_CONTENT_BUDGET_BYTES);
    p.finish(None)
}

/// A permanent redirect moves the feed, unless another subscription already has that
/// URL (D1's UNIQUE url would refuse it; the feed keeps working where it was).
fn accept_move(st: &mut FeedState, moved: Option<Move>) -> Option<String> {
    let m = moved?;
    match m.held_by {
        Some(other) if other != st.feed_id => Some(format!(
            "feed {} moved to {}, which feed {other} already has; staying at {}",
            st.feed_id, m.url, st.url
        )),
        _ => {
            st.url = m.url;
            None
        }
    }
}

/// A successful fetch: healthy again, next fetch from the hints and publishing history.
fn succeed(st: &mut FeedState, cache_max_age_s: Option<i64>, now: i64, cfg: &ScheduleConfig) {
    st.failures = 0;
    st.status = FeedStatus::Active;
    let hints = FetchHints {
        ttl_minutes: st.ttl_minutes,
        cache_max_age_s,
        recent_entry_times: st.recent_times.clone(),
    };
    st.next_fetch_at = schedule::next_fetch_after_success(now, cfg, &hints, st.seed(now));
    if st.push_live(now) {
        // A hub pushes this feed: polling is only a safety net for pushes it loses.
        let slow = now + websub::SAFETY_POLL_MS.min(cfg.max_interval_ms);
        st.next_fetch_at = st.next_fetch_at.max(slow);
    }
}

fn fail(
    before: &FeedState,
    mut st: FeedState,
    reason: String,
    now: i64,
    cfg: &ScheduleConfig,
) -> Plan {
    st.failures = st.failures.saturating_add(1);
    st.status = FeedStatus::after_failures(st.failures);
    st.next_fetch_at = schedule::next_fetch_after_failure(now, cfg, st.failures, st.seed(now));
    Plan::bare(before, st, RefreshOutcome::Failed, Some(reason), now)
}

/// The entries of the document that need work, with what was known of each: never
/// seen, or stored/waiting and changed since. An identity seen but archived stays
/// archived; a duplicate identity keeps its first occurrence; at most
/// [`MAX_ITEMS_PER_DOCUMENT`] items are considered.
pub fn changed_entries<'a>(
    doc: &'a FeedDoc,
    seen: &impl SeenSet,
) -> Vec<(&'a RawEntry, Option<Seen>)> {
    let mut first = HashSet::new();
    let unique: Vec<&RawEntry> = doc
        .entries
        .iter()
        .take(MAX_ITEMS_PER_DOCUMENT)
        .filter(|e| first.insert(e.identity.as_str()))
        .collect();
    let ids: Vec<&str> = unique.iter().map(|e| e.identity.as_str()).collect();
    let mut known = seen.seen_many(&ids);
    unique
        .into_iter()
        .filter_map(|e| match known.remove(&e.identity) {
            None => Some((e, None)),
            Some(s) if (s.stored || s.pending) && s.fingerprint != e.fingerprint => {
                Some((e, Some(s)))
            }
            Some(_) => None,
        })
        .collect()
}

/// The newest `keep` publish times among the old and the new (newest first, no repeats).
pub fn recent_times(old: &[i64], new: impl IntoIterator<Item = i64>, keep: usize) -> Vec<i64> {
    let mut times: Vec<i64> = old.iter().copied().chain(new).collect();
    times.sort_unstable_by(|a, b| b.cmp(a));
    times.dedup();
    times.truncate(keep);
    times
}

/// Cleans one entry for D1.
fn write(raw: &RawEntry, known: bool, now: i64) -> EntryWrite {
    stored_as(raw.clean(now), raw, known, now)
}

/// An entry of an "excerpt only" feed: its summary is all that is stored, and whole.
fn excerpt(raw: &RawEntry, known: bool, now: i64) -> EntryWrite {
    let mut entry = raw.brief(now);
    entry.whole = true;
    stored_as(entry, raw, known, now)
}

/// A new entry stored at once without its body cleaned (it is carried over).
fn brief(raw: &RawEntry, now: i64) -> EntryWrite {
    stored_as(raw.brief(now), raw, false, now)
}

fn stored_as(entry: Entry, raw: &RawEntry, known: bool, now: i64) -> EntryWrite {
    EntryWrite {
        published: entry.published_at.unwrap_or(now).min(now),
        fingerprint: raw.fingerprint.clone(),
        known,
        entry,
    }
}

/// A parsed document: what to store now (whole, or brief while its cleaning waits),
/// archive, and carry to follow-ups.
///
/// Newest first (undated last, document order breaking ties), so the budget goes to
/// them. New entries are all stored, however many, up to what retention keeps; a first
/// fetch stores the newest [`FIRST_FETCH_MAX_ENTRIES`] and remembers the rest as seen.
/// What the budget leaves uncleaned is carried over: a new entry is stored at once as
/// a brief; an edit of a stored entry is not written until its new version is clean,
/// so a whole stored entry is never replaced by a lesser one.
fn ingest(
    before: &FeedState,
    next: FeedState,
    doc: &FeedDoc,
    seen: &impl SeenSet,
    budget: usize,
    now: i64,
    keep: Keep,
) -> Plan {
    let mut todo = changed_entries(doc, seen);
    todo.sort_by_key(|e| std::cmp::Reverse(e.0.published_at));
    let fresh = todo.iter().filter(|(_, s)| s.is_none()).count() as u32;
    let too_old =
        |e: &RawEntry| matches!((e.published_at, keep.since), (Some(p), Some(k)) if p < k);
    let cap = match (before.body_digest.is_none(), keep.max_new) {
        (true, _) => FIRST_FETCH_MAX_ENTRIES,
        (false, 0) => usize::MAX,
        (false, n) => n,
    };
    // The feed's filter decides on new entries only (a stored one stays and is updated);
    // one left out is remembered as seen, never stored, like one past the cap.
    let filter = &before.settings.filter;
    let (mut new_taken, mut checks) = (0, 0);
    let mut kept = |e: &RawEntry| {
        checks += 1;
        checks <= super::FILTER_CHECKS_PER_DOCUMENT && filter.keeps(e)
    };
    let (todo, past): (Vec<_>, Vec<_>) = todo.into_iter().partition(|(e, s)| {
        let take =
            !too_old(e) && (s.is_some() || (new_taken < cap && (!filter.selects() || kept(e))));
        new_taken += usize::from(take && s.is_none());
        take
    });
    let raws: Vec<&RawEntry> = todo.iter().map(|(r, _)| *r).collect();
    let n = if raws.is_empty() {
        0
    } else if filter.excerpt_only {
        raws.len() // nothing to sanitize: the summary is the entry
    } else {
        feed::within_budget(&raws, budget)
    };
    let stored = |s: &Option<Seen>| s.as_ref().is_some_and(|s| s.stored);

    let mut p = Plan::bare(before, next, RefreshOutcome::Ok, None, now);
    p.feed_title = member_title(&p.state, &doc.title);
    p.archived = past
        .into_iter()
        .map(|(raw, _)| SeenMark {
            identity: raw.identity.clone(),
            fingerprint: raw.fingerprint.clone(),
            entry_id: None,
        })
        .collect();
    p.finished = todo[..n]
        .iter()
        .filter(|(_, s)| s.as_ref().is_some_and(|s| s.pending))
        .map(|(r, _)| r.identity.clone())
        .collect();
    let mut writes = Vec::with_capacity(todo.len());
    for (i, (r, s)) in todo.iter().enumerate() {
        if i < n && filter.excerpt_only {
            writes.push(excerpt(r, stored(s), now));
            continue;
        }
        if i < n {
            writes.push(write(r, stored(s), now));
            continue;
        }
        if !stored(s) {
            writes.push(brief(r, now));
        }
        p.carried.push(PendingEntry {
            known: true,
            raw: (*r).clone().bounded(),
        });
    }
    writes.reverse();
    p.entries = writes;
    p.report.carried_entries = p.carried.len() as u32;
    p.state.work_pending = before.work_pending || !p.carried.is_empty();
    p.state.seen_rows = p.state.seen_rows.saturating_add(fresh);
    p.prune = seen_prune(&p.state, doc);
    p.state.recent_times = recent_times(
        &p.state.recent_times,
        p.entries.iter().map(|w| w.published),
        RECENT_TIMES,
    );
    p
}

/// Whether the seen table must shrink after this document, and what it must keep.
fn seen_prune(st: &FeedState, doc: &FeedDoc) -> Option<SeenPrune> {
    (st.seen_rows > SEEN_PRUNE_ABOVE).then(|| SeenPrune {
        excess: (st.seen_rows - SEEN_KEEP).min(SEEN_PRUNE_MAX),
        keep: doc
            .entries
            .iter()
            .take(MAX_ITEMS_PER_DOCUMENT)
            .map(|e| e.identity.clone())
            .collect(),
    })
}

/// The name live entries are shown under: the member's name, else [`feed_title`].
fn member_title(st: &FeedState, doc_title: &str) -> String {
    match st
        .settings
        .display_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        Some(name) => name.to_string(),
        None => feed_title(doc_title, &st.url),
    }
}

/// The name entries are shown under: the feed's title, else its URL as the public may see it.
pub fn feed_title(title: &str, url: &str) -> String {
    if title.trim().is_empty() {
        crate::core::fetch_policy::public_url(url)
    } else {
        title.to_string()
    }
}

impl Plan {
    /// A plan that writes no entries: the next state and the report.
    fn bare(
        before: &FeedState,
        st: FeedState,
        outcome: RefreshOutcome,
        error: Option<String>,
        now: i64,
    ) -> Plan {
        Plan {
            report: RefreshReport::of(&st, outcome, error),
            feed_title: member_title(&st, ""),
            feed_face: st.settings.face_url.clone(),
            state: st,
            feed_row: None,
            entries: Vec::new(),
            archived: Vec::new(),
            carried: Vec::new(),
            finished: Vec::new(),
            prune: None,
            warning: None,
            doc_links: None,
            spare: 0,
            before: before.clone(),
            now,
        }
    }

    /// Decides whether D1's feed row must be written: when entries were written or
    /// what it shows (status, error, URL, metadata, watchdog deadline) changed.
    fn finish(mut self, meta: Option<FeedMeta>) -> Plan {
        let st = &self.state;
        self.report.status = st.status;
        self.report.url = st.url.clone();
        self.report.next_fetch_at = st.status.is_scheduled().then_some(st.next_fetch_at);
        let old = self.before.row.as_ref();
        let digest = RowDigest {
            url: st.url.clone(),
            status: st.status,
            failures: st.failures,
            last_error: self.report.error.clone(),
            meta: meta
                .as_ref()
                .map(FeedMeta::digest)
                .or_else(|| old.and_then(|r| r.meta.clone())),
            overdue_at: st
                .status
                .is_scheduled()
                .then(|| overdue_deadline(old.and_then(|r| r.overdue_at), st.next_fetch_at)),
        };
        let changed = !self.entries.is_empty();
        if changed || old != Some(&digest) {
            self.feed_row = Some(FeedRow {
                feed_id: st.feed_id,
                url: st.url.clone(),
                status: st.status,
                failures: st.failures,
                last_error: digest.last_error.clone(),
                last_fetch_at: self.now,
                last_success_at: self.report.outcome.succeeded().then_some(self.now),
                next_fetch_at: st.status.is_scheduled().then_some(st.next_fetch_at),
                overdue_at: digest.overdue_at,
                meta: meta.filter(|m| old.and_then(|r| r.meta.as_ref()) != Some(&m.digest())),
                inserted: self.entries.iter().filter(|w| !w.known).count() as u32,
                changed,
            });
        }
        self.state.row = Some(digest);
        self
    }

    /// This refresh found the feed unchanged while carried work waits: it has room to
    /// move that work on ([`Plan::with_carried`]).
    pub fn room_for_carried(&self) -> bool {
        self.spare > 0 && self.state.work_pending && self.entries.is_empty()
    }

    /// Spends an unchanged refresh's unspent budget on carried work, as a follow-up
    /// would: so carried work moves on in every invocation that has the room, however
    /// often refreshes come (a short interval, pushes, "Retry now"), not only in
    /// follow-up alarms they may keep pushing back. `waiting` reads the waiting entries
    /// (newest first, what [`follow_up_take`] allows, and whether more wait); it is
    /// called only when there is room.
    pub fn with_carried<E>(
        mut self,
        waiting: impl FnOnce() -> Result<(Vec<PendingEntry>, bool), E>,
    ) -> Result<Plan, E> {
        if !self.room_for_carried() {
            return Ok(self);
        }
        let (loaded, more_waiting) = waiting()?;
        let budget = std::mem::take(&mut self.spare);
        self.complete(loaded, more_waiting, budget);
        Ok(self.finish(None))
    }

    /// Cleans what of the carried-over entries (`loaded`, newest first) fits `budget`
    /// (the first always), as updates of their stored briefs.
    fn complete(&mut self, loaded: Vec<PendingEntry>, more_waiting: bool, budget: usize) {
        let raws: Vec<&RawEntry> = loaded.iter().map(|p| &p.raw).collect();
        let n = if raws.is_empty() {
            0
        } else {
            feed::within_budget(&raws, budget)
        };
        let now = self.now;
        self.finished = loaded[..n].iter().map(|e| e.raw.identity.clone()).collect();
        self.entries = loaded[..n]
            .iter()
            .rev()
            .map(|e| write(&e.raw, e.known, now))
            .collect();
        self.state.work_pending = n < loaded.len() || more_waiting;
        self.state.recent_times = recent_times(
            &self.state.recent_times,
            self.entries.iter().map(|w| w.published),
            RECENT_TIMES,
        );
    }

    /// The state this plan started from.
    pub fn before(&self) -> &FeedState {
        &self.before
    }

    /// Storage must be written: the state changed in more than its next fetch time, or
    /// that moved while the alarm is set for something else (carried work, a publish),
    /// which then cannot hold the schedule for it.
    pub fn state_changed(&self) -> bool {
        !self.state.same_apart_from_schedule(&self.before)
            || (self.state.next_fetch_at != self.before.next_fetch_at
                && !self.state.alarm_is_the_fetch(self.now))
    }

    /// Takes D1's answer for each of [`Plan::entries`] (in order; `None` where it returned
    /// no row, i.e. an update of a pruned entry): counts new and updated entries, the seen
    /// rows to write, and what to publish.
    /// With new entries the state records them as pushed and a publish as pending
    /// (durable before the Room is nudged, so a crash mid-publish is retried by alarm).
    pub fn settle(&mut self, stored: &[Option<StoredEntry>]) -> Settled {
        let mut out = Settled::default();
        for (w, row) in self.entries.iter().zip(stored) {
            let Some(row) = row else {
                // An update of an entry retention has pruned: it stays gone, archived.
                if w.known {
                    out.seen.push(SeenMark {
                        identity: w.entry.identity.clone(),
                        fingerprint: w.fingerprint.clone(),
                        entry_id: None,
                    });
                }
                continue;
            };
            out.seen.push(SeenMark {
                identity: w.entry.identity.clone(),
                fingerprint: w.fingerprint.clone(),
                entry_id: Some(row.id),
            });
            let view = EntryView {
                id: row.id,
                feed_id: self.state.feed_id,
                feed_title: self.feed_title.clone(),
                feed_face: self.feed_face.clone(),
                title: w.entry.title.clone(),
                url: w.entry.url.clone(),
                author: w.entry.author.clone(),
                published: w.published,
                summary: w.entry.summary.clone(),
                content_html: w.entry.content_html.clone(),
                whole: w.entry.whole,
                rev: row.rev,
            };
            if row.first_seen == self.now {
                out.new_entries.push(view);
            } else {
                self.report.updated_entries += 1;
                out.updated.push(view);
            }
        }
        out.new_entries.sort_by_key(|v| v.id);
        out.updated.sort_by_key(|v| v.rev);
        self.report.new_entries = out.new_entries.len() as u32;
        if let Some(last) = out.new_entries.last() {
            self.state.pushed_upto = self.state.pushed_upto.max(last.id);
            self.state.publish_pending = true;
        }
        if let Some(rev) = out.updated.iter().filter_map(|v| v.rev).max() {
            self.state.revised_upto = self.state.revised_upto.max(rev);
            self.state.publish_pending = true;
        }
        out
    }
}
