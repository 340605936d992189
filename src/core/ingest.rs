//! The FeedObject's every decision as a pure plan: what to store, archive and publish, the next state and the next wake.
//!
//! The edge loads the state, fetches, calls [`plan`], writes what the plan says in one
//! D1 batch, hands the rows D1 returned to [`Plan::settle`], and publishes. Nothing here
//! reads a clock, the environment or storage: `now`, the schedule config and the seen
//! set are arguments, so every rule has a native test (`tests/ingest_rules.rs`).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::core::feed::{self, Entry, FeedDoc, RawEntry, FIRST_FETCH_MAX_ENTRIES};
use crate::core::fetch_policy::FetchOutcome;
use crate::core::model::EntryView;
use crate::core::schedule::{self, FetchHints, ScheduleConfig};

/// Consecutive failures after which a feed is shown as failing.
pub const FAILING_AFTER: u32 = 3;
/// Consecutive failures after which a feed is paused (until refreshed by hand).
pub const PAUSED_AFTER: u32 = 10;
/// How many recent publish times feed the adaptive schedule.
pub const RECENT_TIMES: usize = 20;
/// A publish the Room has not acknowledged is retried this soon.
pub const PUBLISH_RETRY_MS: i64 = 2_000;
/// An alarm this close to the next fetch fetches now rather than sleeping again.
pub const ALARM_SLACK_MS: i64 = 1_000;
/// Cron re-arms an alarm that should have fired longer ago than this.
pub const WATCHDOG_GRACE_MS: i64 = 60_000;

/// A feed's health, as stored in the FeedObject and mirrored in D1's `feeds.status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedStatus {
    /// Fetching on schedule.
    #[default]
    Active,
    /// At least [`FAILING_AFTER`] failures in a row; still fetching, backing off.
    Failing,
    /// [`PAUSED_AFTER`] failures in a row: no more fetches until refreshed by hand.
    Paused,
    /// The publisher answered 410 Gone.
    Gone,
}

impl FeedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedStatus::Active => "active",
            FeedStatus::Failing => "failing",
            FeedStatus::Paused => "paused",
            FeedStatus::Gone => "gone",
        }
    }

    /// Does the feed fetch on its own alarm?
    pub fn is_scheduled(self) -> bool {
        matches!(self, FeedStatus::Active | FeedStatus::Failing)
    }

    /// The status after `failures` consecutive failures.
    pub fn after_failures(failures: u32) -> Self {
        if failures >= PAUSED_AFTER {
            FeedStatus::Paused
        } else if failures >= FAILING_AFTER {
            FeedStatus::Failing
        } else {
            FeedStatus::Active
        }
    }
}

/// What one refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// A body was read and ingested.
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
}

/// What one refresh did; the FeedObject's answer to `init` and `refresh` calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefreshReport {
    pub outcome: RefreshOutcome,
    pub new_entries: u32,
    pub updated_entries: u32,
    pub error: Option<String>,
    pub next_fetch_at: Option<i64>,
    pub status: FeedStatus,
    pub url: String,
    /// Unix ms when the new entries, committed to D1, were handed to the Room
    /// (the start of publish-to-delivered; `None` when nothing was published).
    pub published_at: Option<i64>,
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

    fn skipped(why: &str) -> Self {
        RefreshReport {
            outcome: RefreshOutcome::Skipped,
            error: Some(why.into()),
            ..Default::default()
        }
    }
}

/// Durable per-feed state (the FeedObject's storage; survives eviction and hibernation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedState {
    pub feed_id: i64,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub failures: u32,
    pub status: FeedStatus,
    pub next_fetch_at: i64,
    /// Newest entry id sent to this feed's sockets.
    pub pushed_upto: i64,
    /// The Room has not yet acknowledged our newest entries.
    pub publish_pending: bool,
    pub recent_times: Vec<i64>,
}

/// When the FeedObject's alarm should fire next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    At(i64),
    /// Paused or gone: no alarm.
    Never,
}

impl FeedState {
    /// A feed just added: fetched at once by the caller.
    pub fn new(feed_id: i64, url: &str) -> Self {
        FeedState {
            feed_id,
            url: url.into(),
            ..Default::default()
        }
    }

    /// A feed adopted from an OPML import: fetched on its own alarm, at `now`.
    pub fn adopted(feed_id: i64, url: &str, now: i64) -> Self {
        FeedState {
            next_fetch_at: now,
            ..FeedState::new(feed_id, url)
        }
    }

    /// The next alarm: soon while a publish is pending, else the next fetch.
    pub fn next_wake(&self, now: i64) -> Wake {
        if !self.status.is_scheduled() {
            Wake::Never
        } else if self.publish_pending {
            Wake::At(now + PUBLISH_RETRY_MS)
        } else {
            Wake::At(self.next_fetch_at)
        }
    }

    /// Records whether the Room acknowledged the publish; until it does the alarm retries.
    pub fn published(&mut self, acknowledged: bool) {
        self.publish_pending = !acknowledged;
    }

    fn report(&self, outcome: RefreshOutcome, error: Option<String>) -> RefreshReport {
        RefreshReport {
            outcome,
            error,
            next_fetch_at: self.status.is_scheduled().then_some(self.next_fetch_at),
            status: self.status,
            url: self.url.clone(),
            ..Default::default()
        }
    }

    /// Jitter seed: differs per feed and per fetch, so feeds do not fetch in lockstep.
    fn seed(&self, now: i64) -> u64 {
        (self.feed_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ now as u64
    }
}

/// Whether a refresh runs: the state to refresh, or the report it answers with instead.
/// `forced` (a refresh by hand) also revives a paused or gone feed.
pub fn refresh_gate(
    st: Option<FeedState>,
    forced: bool,
    busy: bool,
) -> Result<FeedState, RefreshReport> {
    match st {
        _ if busy => Err(RefreshReport::skipped("a refresh is already running")),
        None => Err(RefreshReport::skipped("this feed is not initialised")),
        Some(st) if !forced && !st.status.is_scheduled() => {
            Err(st.report(RefreshOutcome::Skipped, None))
        }
        Some(st) => Ok(st),
    }
}

/// What an alarm does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmPlan {
    /// Nudge the Room again: the last publish was not acknowledged.
    pub retry_publish: bool,
    /// Fetch now; otherwise sleep until [`FeedState::next_wake`].
    pub refresh: bool,
}

pub fn on_alarm(st: &FeedState, now: i64) -> AlarmPlan {
    AlarmPlan {
        retry_publish: st.publish_pending,
        refresh: st.next_fetch_at <= now + ALARM_SLACK_MS,
    }
}

/// Cron's watchdog, per due feed: what to do with its alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// Paused, gone or unknown: nothing to arm.
    Idle,
    /// The alarm is set and not overdue.
    Armed,
    /// Set the alarm to this time (it was missing or overdue).
    Rearm(i64),
}

pub fn watchdog(st: Option<&FeedState>, alarm: Option<i64>, now: i64) -> Watch {
    let Some(st) = st.filter(|s| s.status.is_scheduled()) else {
        return Watch::Idle;
    };
    let overdue = alarm.is_none_or(|a| a < now - WATCHDOG_GRACE_MS) || st.next_fetch_at <= now;
    if overdue {
        Watch::Rearm(st.next_fetch_at.max(now))
    } else {
        Watch::Armed
    }
}

/// What the FeedObject remembers of an entry it has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub fingerprint: String,
    /// Stored in D1; `false`: archived (seen, deliberately not stored).
    pub stored: bool,
}

/// The FeedObject's dedupe memory, looked up by identity (a seam: the edge decides
/// how it is loaded or queried; a `HashMap` serves tests and the benchmark).
pub trait SeenSet {
    fn seen(&self, identity: &str) -> Option<Seen>;
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
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The D1 `feeds` row after a refresh (the FeedObject's state, mirrored for pages and cron).
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
    /// Set when a body was parsed.
    pub meta: Option<FeedMeta>,
}

/// One entry to upsert into D1.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryWrite {
    pub entry: Entry,
    pub fingerprint: String,
    /// Never later than now: a future date cannot pin an entry to the top.
    pub published: i64,
}

/// Everything one refresh writes, in the order the edge applies it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The state to save.
    pub state: FeedState,
    /// Written to D1 in one batch with [`Plan::entries`].
    pub feed_row: FeedRow,
    /// New and changed entries, oldest first (so ids grow with publication time).
    pub entries: Vec<EntryWrite>,
    /// Identities remembered without storing them (past the first-fetch cap).
    pub archived: Vec<SeenMark>,
    pub report: RefreshReport,
    /// The feed's display name for the entries published from this refresh.
    pub feed_title: String,
    /// Something worth a log line that is not a failure.
    pub warning: Option<String>,
    now: i64,
}

/// D1's answer for one upserted entry (`RETURNING id, first_seen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct StoredEntry {
    pub id: i64,
    pub first_seen: i64,
}

/// What the D1 write turned the plan into.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// Seen rows for every entry D1 stored.
    pub seen: Vec<SeenMark>,
    /// Entries stored for the first time, in id order: these are published.
    pub new_entries: Vec<EntryView>,
}

/// Decides everything one refresh does, from what the fetch found.
pub fn plan(
    st: &FeedState,
    fetched: FetchOutcome,
    moved: Option<Move>,
    seen: &impl SeenSet,
    now: i64,
    cfg: &ScheduleConfig,
) -> Plan {
    let mut next = st.clone();
    match fetched {
        FetchOutcome::NotModified { cache_max_age_s } => {
            let warning = accept_move(&mut next, moved);
            let hints = FetchHints {
                cache_max_age_s,
                recent_entry_times: next.recent_times.clone(),
                ..Default::default()
            };
            succeed(&mut next, &hints, now, cfg);
            Plan {
                warning,
                ..Plan::bare(next, RefreshOutcome::NotModified, None, now)
            }
        }
        FetchOutcome::Fetched {
            body,
            final_url,
            etag,
            last_modified,
            cache_max_age_s,
        } => match feed::parse(&body, &final_url) {
            Ok(doc) => {
                let warning = accept_move(&mut next, moved);
                next.etag = etag;
                next.last_modified = last_modified;
                let mut plan = ingest(next, &doc, seen, cache_max_age_s, now, cfg);
                plan.warning = warning;
                plan
            }
            Err(e) => fail(next, e.to_string(), now, cfg),
        },
        FetchOutcome::RetryLater {
            status,
            retry_after_ms,
        } => {
            // Waiting as told is not a failure: status and failures stay as they are.
            next.next_fetch_at = schedule::next_fetch_after_retry_later(now, cfg, retry_after_ms);
            let msg = format!("the server asked us to come back later (HTTP {status})");
            Plan::bare(next, RefreshOutcome::RetryLater, Some(msg), now)
        }
        FetchOutcome::Gone => {
            next.status = FeedStatus::Gone;
            let msg = "the publisher removed this feed (HTTP 410 Gone)".to_string();
            Plan::bare(next, RefreshOutcome::Gone, Some(msg), now)
        }
        FetchOutcome::Failed(reason) => fail(next, reason, now, cfg),
    }
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

/// A successful fetch: healthy again, next fetch from the hints.
fn succeed(st: &mut FeedState, hints: &FetchHints, now: i64, cfg: &ScheduleConfig) {
    st.failures = 0;
    st.status = FeedStatus::Active;
    st.next_fetch_at = schedule::next_fetch_after_success(now, cfg, hints, st.seed(now));
}

fn fail(mut st: FeedState, reason: String, now: i64, cfg: &ScheduleConfig) -> Plan {
    st.failures = st.failures.saturating_add(1);
    st.status = FeedStatus::after_failures(st.failures);
    st.next_fetch_at = schedule::next_fetch_after_failure(now, cfg, st.failures, st.seed(now));
    Plan::bare(st, RefreshOutcome::Failed, Some(reason), now)
}

/// The entries of `doc` that need storing: never seen, or stored and changed since.
/// An identity seen but archived stays archived; a duplicate identity keeps its first occurrence.
pub fn changed_entries<'a>(doc: &'a FeedDoc, seen: &impl SeenSet) -> Vec<&'a RawEntry> {
    let mut first = HashSet::new();
    doc.entries
        .iter()
        .filter(|e| first.insert(e.identity.as_str()))
        .filter(|e| match seen.seen(&e.identity) {
            None => true,
            Some(s) => s.stored && s.fingerprint != e.fingerprint,
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

/// A parsed document: what to store, archive and schedule.
fn ingest(
    mut st: FeedState,
    doc: &FeedDoc,
    seen: &impl SeenSet,
    cache_max_age_s: Option<i64>,
    now: i64,
    cfg: &ScheduleConfig,
) -> Plan {
    // Newest first (undated last) so the content budget goes to them; a first fetch
    // (or a flood) stores the newest entries and remembers the rest as seen.
    let mut todo = feed::newest(changed_entries(doc, seen), usize::MAX);
    let archived = todo
        .split_off(todo.len().min(FIRST_FETCH_MAX_ENTRIES))
        .into_iter()
        .map(|raw| SeenMark {
            identity: raw.identity.clone(),
            fingerprint: raw.fingerprint.clone(),
            entry_id: None,
        })
        .collect();
    let mut entries: Vec<EntryWrite> = todo
        .iter()
        .zip(feed::clean_batch(&todo, now))
        .map(|(raw, entry)| EntryWrite {
            published: entry.published_at.unwrap_or(now).min(now),
            fingerprint: raw.fingerprint.clone(),
            entry,
        })
        .collect();
    entries.reverse();

    st.recent_times = recent_times(
        &st.recent_times,
        entries.iter().map(|w| w.published),
        RECENT_TIMES,
    );
    let hints = FetchHints {
        ttl_minutes: doc.ttl_minutes,
        cache_max_age_s,
        recent_entry_times: st.recent_times.clone(),
    };
    succeed(&mut st, &hints, now, cfg);
    let meta = FeedMeta {
        title: doc.title.clone(),
        site_url: doc.site_url.clone(),
        description: doc.description.clone(),
        format: doc.format.as_str(),
        etag: st.etag.clone(),
        last_modified: st.last_modified.clone(),
    };
    let mut plan = Plan::bare(st, RefreshOutcome::Ok, None, now);
    plan.feed_row.meta = Some(meta);
    plan.feed_title = feed_title(&doc.title, &plan.state.url);
    plan.entries = entries;
    plan.archived = archived;
    plan
}

/// The name entries are shown under: the feed's title, else its URL.
pub fn feed_title(title: &str, url: &str) -> String {
    if title.trim().is_empty() {
        url.to_string()
    } else {
        title.to_string()
    }
}

impl Plan {
    /// A plan that writes no entries: the state, its D1 mirror and the report.
    fn bare(st: FeedState, outcome: RefreshOutcome, error: Option<String>, now: i64) -> Plan {
        let succeeded = matches!(outcome, RefreshOutcome::Ok | RefreshOutcome::NotModified);
        let feed_row = FeedRow {
            feed_id: st.feed_id,
            url: st.url.clone(),
            status: st.status,
            failures: st.failures,
            last_error: error.clone(),
            last_fetch_at: now,
            last_success_at: succeeded.then_some(now),
            next_fetch_at: st.status.is_scheduled().then_some(st.next_fetch_at),
            meta: None,
        };
        Plan {
            report: st.report(outcome, error),
            feed_title: feed_title("", &st.url),
            state: st,
            feed_row,
            entries: Vec::new(),
            archived: Vec::new(),
            warning: None,
            now,
        }
    }

    /// Takes D1's answer for each of [`Plan::entries`] (in order; `None` where it returned
    /// no row): counts new and updated entries, the seen rows to write, and what to publish.
    /// With new entries the state records them as pushed and a publish as pending
    /// (durable before the Room is nudged, so a crash mid-publish is retried by alarm).
    pub fn settle(&mut self, stored: &[Option<StoredEntry>]) -> Settled {
        let mut out = Settled::default();
        for (w, row) in self.entries.iter().zip(stored) {
            let Some(row) = row else { continue };
            out.seen.push(SeenMark {
                identity: w.entry.identity.clone(),
                fingerprint: w.fingerprint.clone(),
                entry_id: Some(row.id),
            });
            if row.first_seen == self.now {
                out.new_entries.push(EntryView {
                    id: row.id,
                    feed_id: self.state.feed_id,
                    feed_title: self.feed_title.clone(),
                    title: w.entry.title.clone(),
                    url: w.entry.url.clone(),
                    author: w.entry.author.clone(),
                    published: w.published,
                    summary: w.entry.summary.clone(),
                    content_html: w.entry.content_html.clone(),
                });
            } else {
                self.report.updated_entries += 1;
            }
        }
        out.new_entries.sort_by_key(|v| v.id);
        self.report.new_entries = out.new_entries.len() as u32;
        if let Some(last) = out.new_entries.last() {
            self.state.pushed_upto = self.state.pushed_upto.max(last.id);
            self.state.publish_pending = true;
        }
        out
    }
}
