//! One invocation's plan: from what a fetch found (or what was carried over), what to write, archive, carry and publish.

use std::collections::HashSet;

use super::report::{RefreshOutcome, RefreshReport};
use super::rows::{
    AutoChange, EntryWrite, FeedMeta, FeedRow, Move, PendingEntry, Seen, SeenMark, SeenPrune,
    SeenSet, Settled, StoredEntry,
};
use super::state::{overdue_deadline, FeedState, RowDigest, GONE_AFTER};
use crate::core::domain::{FeedStatus, Keep};
use crate::core::feed::{
    self, Entry, FeedDoc, RawEntry, FIRST_FETCH_MAX_ENTRIES, MAX_ITEMS_PER_DOCUMENT,
};
use crate::core::fetch::FetchOutcome;
use crate::core::ingest::schedule::{self, FetchHints, ScheduleConfig};
use crate::core::view_models::EntryView;
use crate::core::websub::subscriber::{self, DocLinks};

/// How many recent publish times feed the adaptive schedule.
const RECENT_TIMES: usize = 20;
/// Parsing a byte costs about this many times less CPU than sanitizing one, so a big
/// document leaves less of the invocation's budget for sanitizing (`make bench`).
const PARSE_COST_DIVISOR: usize = 32;
/// The seen table is pruned when it holds more identities than this...
pub const SEEN_PRUNE_ABOVE: u32 = 6_000;
/// ...down to this many (twice the items a document can carry, so nothing a document
/// still lists is ever forgotten: those are kept whatever their age).
pub const SEEN_KEEP: u32 = 2 * MAX_ITEMS_PER_DOCUMENT as u32;
/// Seen rows deleted per invocation at most (a statement per 90, in the CPU budget).
const SEEN_PRUNE_MAX: u32 = 2_500;

/// A refresh whose writes the platform refused: nothing is lost (the state, the seen
/// set and the feed's place stay as they were, so the same entries are found again),
/// nothing is counted against the feed, and it tries again at `retry_at`.
pub fn held(
    feed_state: &FeedState,
    trouble: super::state::PlatformTrouble,
    now: i64,
) -> (RefreshReport, i64) {
    let at = trouble.retry_at(feed_state.feed_id, now);
    let msg = format!(
        "Orrery could not store this refresh ({}); it tries again later",
        trouble.describe()
    );
    let mut report = RefreshReport::of(feed_state, RefreshOutcome::RetryLater, Some(msg));
    report.next_fetch_at = Some(at);
    (report, at)
}

/// Whether a refresh runs: the state to refresh, or the report it answers with instead.
/// `forced` (a refresh by hand) also revives a paused or gone feed, never a held one
/// (paused by hand: only a resume revives it).
pub fn refresh_gate(
    feed_state: Option<FeedState>,
    forced: bool,
    busy: bool,
) -> Result<FeedState, RefreshReport> {
    match feed_state {
        _ if busy => Err(RefreshReport::skipped("a refresh is already running")),
        None => Err(RefreshReport::skipped("this feed is not initialised")),
        Some(feed_state) if feed_state.status == FeedStatus::Held => Err(RefreshReport::of(
            &feed_state,
            RefreshOutcome::Skipped,
            Some("this feed is paused by hand; resume it to fetch it again".into()),
        )),
        Some(feed_state) if !forced && !feed_state.status.is_scheduled() => Err(RefreshReport::of(
            &feed_state,
            RefreshOutcome::Skipped,
            None,
        )),
        Some(feed_state) => Ok(feed_state),
    }
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
    /// Changes made on the feed's behalf (moved, paused, gone, back), audited in the
    /// batch that writes [`Plan::feed_row`] (there is one whenever this is not empty).
    pub changes: Vec<AutoChange>,
    /// The WebSub hub and self links of the document this plan parsed (`None`: nothing
    /// was parsed, so nothing new is known); the edge adds the HTTP `Link` header's.
    pub doc_links: Option<DocLinks>,
    /// Sanitizing budget this invocation has not spent: a refresh that found the feed
    /// unchanged (a 304, the same body) spends it on carried work ([`Plan::with_carried`]).
    spare: usize,
    before: FeedState,
    now: i64,
}

/// Decides everything one refresh does, from what the fetch found, storing what
/// retention would `keep`.
pub fn plan(
    feed_state: &FeedState,
    fetched: FetchOutcome,
    moved: Option<Move>,
    seen: &impl SeenSet,
    now: i64,
    cfg: &ScheduleConfig,
    keep: Keep,
) -> Plan {
    let mut next = feed_state.clone();
    next.parsing = None;
    next.parse_attempts = 0;
    if !matches!(fetched, FetchOutcome::Gone) {
        next.gone_strikes = 0;
    }
    let p = match fetched {
        FetchOutcome::NotModified { cache_max_age_s } => {
            let warning = accept_move(&mut next, moved);
            succeed(&mut next, cache_max_age_s, now, cfg);
            let mut p = Plan::bare(feed_state, next, RefreshOutcome::NotModified, None, now);
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
            if feed_state.body_digest.as_deref() == Some(digest.as_str()) {
                // The very same document as last time: nothing to parse or store.
                let warning = accept_move(&mut next, moved);
                (next.etag, next.last_modified) = (etag, last_modified);
                succeed(&mut next, cache_max_age_s, now, cfg);
                let mut p = Plan::bare(feed_state, next, RefreshOutcome::Ok, None, now);
                p.warning = warning;
                // Only hashed: what parsing it would have cost is left.
                p.spare =
                    feed::FULL_CONTENT_BUDGET_BYTES.saturating_sub(body.len() / PARSE_COST_DIVISOR);
                return p.finish(None);
            }
            if feed_state.parsing.as_deref() == Some(digest.as_str())
                && feed_state.parse_attempts >= PARSE_ATTEMPTS
            {
                // Invocations died reading this very document: fail it, do not die again.
                next.parsing = feed_state.parsing.clone();
                next.parse_attempts = feed_state.parse_attempts;
                let why =
                    "the last attempt to read this document did not finish: it is too big or \
                           too complex to read within one invocation's limits; Orrery tries again \
                           when the document changes";
                return fail(feed_state, next, why.into(), now, cfg).finish(None);
            }
            match feed::parse(&body, &final_url) {
                Ok(mut doc) => {
                    // The planet's own entries, fed back to it, are never stored again.
                    doc.entries.retain(|e| !is_own_entry(e, &cfg.own));
                    let warning = accept_move(&mut next, moved);
                    (next.etag, next.last_modified) = (etag, last_modified);
                    next.body_digest = Some(digest);
                    next.ttl_minutes = doc.ttl_minutes;
                    let budget = feed::FULL_CONTENT_BUDGET_BYTES
                        .saturating_sub(body.len() / PARSE_COST_DIVISOR);
                    let mut p = ingest(feed_state, next, &doc, seen, budget, now, keep);
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
                    let mut p = fail(feed_state, next, e.to_string(), now, cfg);
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
            Plan::bare(feed_state, next, RefreshOutcome::RetryLater, Some(msg), now)
        }
        FetchOutcome::Gone => {
            next.gone_strikes = next.gone_strikes.saturating_add(1);
            if next.gone_strikes < GONE_AFTER {
                let msg = format!(
                    "the server says this feed is gone (HTTP 410, {} of {GONE_AFTER} before Orrery stops asking)",
                    next.gone_strikes
                );
                return fail(feed_state, next, msg, now, cfg).finish(None);
            }
            next.status = FeedStatus::Gone;
            let msg = format!(
                "the publisher removed this feed (HTTP 410 Gone, {GONE_AFTER} times in a row)"
            );
            Plan::bare(feed_state, next, RefreshOutcome::Gone, Some(msg), now)
        }
        FetchOutcome::Failed(reason) => fail(feed_state, next, reason, now, cfg),
    };
    p.finish(None)
}

/// Is this entry one of the planet's own (its id or link under the planet's `/entries/`,
/// under any of its names)? Stored again, it would be published and found again: a loop.
pub fn is_own_entry(e: &RawEntry, own: &crate::core::fetch::OwnOrigins) -> bool {
    own.is_own_entry(&e.identity) || e.url.as_deref().is_some_and(|u| own.is_own_entry(u))
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
const PARSE_ATTEMPTS: u32 = 2;
/// Documents smaller than this are read without a mark: the scanner is linear and a
/// document this size parses in about a millisecond, so it cannot kill an invocation,
/// and the mark would cost a storage row on every changed fetch (most feeds are far
/// smaller: the corpus median is 84 KB).
pub const PARSE_MARK_MIN_BYTES: usize = 256 * 1024;

/// The state to save before this fetch's document is parsed (`None`: no parse ahead):
/// if invocations die while parsing, a later one finds the mark and, after
/// [`PARSE_ATTEMPTS`], fails that document with a reason instead of dying on it again.
pub fn parse_mark(feed_state: &FeedState, fetched: &FetchOutcome) -> Option<FeedState> {
    let FetchOutcome::Fetched { body, .. } = fetched else {
        return None;
    };
    if body.len() < PARSE_MARK_MIN_BYTES {
        return None;
    }
    let digest = feed::digest(&[Some(body)]);
    let attempts = if feed_state.parsing.as_deref() == Some(digest.as_str()) {
        feed_state.parse_attempts.saturating_add(1)
    } else {
        1
    };
    (feed_state.body_digest.as_deref() != Some(digest.as_str())).then(|| FeedState {
        parsing: Some(digest),
        parse_attempts: attempts,
        ..feed_state.clone()
    })
}

/// A follow-up invocation: cleans carried-over entries (`loaded`, newest first) within
/// the budget; `more_waiting` says storage holds more than was loaded.
pub fn follow_up(
    feed_state: &FeedState,
    loaded: Vec<PendingEntry>,
    more_waiting: bool,
    now: i64,
) -> Plan {
    let mut p = Plan::bare(
        feed_state,
        feed_state.clone(),
        RefreshOutcome::Ok,
        None,
        now,
    );
    p.report.error = feed_state.row.as_ref().and_then(|r| r.last_error.clone());
    p.complete(loaded, more_waiting, feed::FULL_CONTENT_BUDGET_BYTES);
    p.finish(None)
}

/// A permanent redirect moves the feed, unless another subscription already has that
/// URL (D1's UNIQUE url would refuse it; the feed keeps working where it was).
fn accept_move(feed_state: &mut FeedState, moved: Option<Move>) -> Option<String> {
    let m = moved?;
    match m.held_by {
        Some(other) if other != feed_state.feed_id => Some(format!(
            "feed {} moved to {}, which feed {other} already has; staying at {}",
            feed_state.feed_id, m.url, feed_state.url
        )),
        _ => {
            feed_state.url = m.url;
            None
        }
    }
}

/// A successful fetch: healthy again, next fetch from the hints and publishing history.
fn succeed(
    feed_state: &mut FeedState,
    cache_max_age_s: Option<i64>,
    now: i64,
    cfg: &ScheduleConfig,
) {
    feed_state.failures = 0;
    feed_state.status = FeedStatus::Active;
    let hints = FetchHints {
        ttl_minutes: feed_state.ttl_minutes,
        cache_max_age_s,
        recent_entry_times: feed_state.recent_times.clone(),
    };
    feed_state.next_fetch_at =
        schedule::next_fetch_after_success(now, cfg, &hints, feed_state.seed(now));
    if feed_state.push_live(now) {
        // A hub pushes this feed: polling is only a safety net for pushes it loses.
        let slow = now + subscriber::SAFETY_POLL_MS.min(cfg.max_interval_ms);
        feed_state.next_fetch_at = feed_state.next_fetch_at.max(slow);
    }
}

fn fail(
    before: &FeedState,
    mut feed_state: FeedState,
    reason: String,
    now: i64,
    cfg: &ScheduleConfig,
) -> Plan {
    feed_state.failures = feed_state.failures.saturating_add(1);
    feed_state.status = FeedStatus::after_failures(feed_state.failures, cfg);
    feed_state.next_fetch_at =
        schedule::next_fetch_after_failure(now, cfg, feed_state.failures, feed_state.seed(now));
    if feed_state.status == FeedStatus::Paused && !cfg.probe_paused {
        // Not probed: it waits for a refresh by hand.
        feed_state.next_fetch_at = now.saturating_add(schedule::UNPROBED_PAUSE_MS);
    }
    Plan::bare(
        before,
        feed_state,
        RefreshOutcome::Failed,
        Some(reason),
        now,
    )
}

/// The entries of the document that need work, with what was known of each: never
/// seen, or stored/waiting and changed since. An identity seen but archived stays
/// archived; a duplicate identity keeps its first occurrence; at most
/// [`MAX_ITEMS_PER_DOCUMENT`] items are considered.
fn changed_entries<'a>(doc: &'a FeedDoc, seen: &impl SeenSet) -> Vec<(&'a RawEntry, Option<Seen>)> {
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
fn recent_times(old: &[i64], new: impl IntoIterator<Item = i64>, keep: usize) -> Vec<i64> {
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
        same: Default::default(),
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
    // New entries carry what they are known by as an article (updates keep theirs).
    let new_raws: Vec<&RawEntry> = todo
        .iter()
        .filter(|(_, s)| !stored(s))
        .map(|(r, _)| *r)
        .collect();
    let mut keys = super::same::keys_for(&doc.entries, &new_raws).into_iter();
    for w in writes.iter_mut().filter(|w| !w.known) {
        w.same = keys.next().unwrap_or_default();
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
fn seen_prune(feed_state: &FeedState, doc: &FeedDoc) -> Option<SeenPrune> {
    (feed_state.seen_rows > SEEN_PRUNE_ABOVE).then(|| SeenPrune {
        excess: (feed_state.seen_rows - SEEN_KEEP).min(SEEN_PRUNE_MAX),
        keep: doc
            .entries
            .iter()
            .take(MAX_ITEMS_PER_DOCUMENT)
            .map(|e| e.identity.clone())
            .collect(),
    })
}

/// The name live entries are shown under: the member's name, else [`feed_title`].
fn member_title(feed_state: &FeedState, doc_title: &str) -> String {
    match feed_state
        .settings
        .display_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        Some(name) => name.to_string(),
        None => feed_title(doc_title, &feed_state.url),
    }
}

/// The name entries are shown under: the feed's title, else its URL as the public may see it.
pub fn feed_title(title: &str, url: &str) -> String {
    if title.trim().is_empty() {
        crate::core::fetch::public_url(url)
    } else {
        title.to_string()
    }
}

mod settle;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn recent_times_keep_the_newest_distinct() {
        assert_eq!(recent_times(&[5, 3], [4, 5, 1], 3), vec![5, 4, 3]);
    }

    #[test]
    fn every_entry_of_a_document_at_the_item_cap_is_new_to_an_empty_seen_set() {
        let items: String = (0..MAX_ITEMS_PER_DOCUMENT)
            .map(|i| format!("<item><guid>g{i}</guid><title>T</title></item>"))
            .collect();
        let xml =
            format!("<rss version=\"2.0\"><channel><title>Huge</title>{items}</channel></rss>");
        let doc = feed::parse(xml.as_bytes(), "https://blog.example/feed.xml").unwrap();
        let seen: HashMap<String, Seen> = HashMap::new();
        assert_eq!(changed_entries(&doc, &seen).len(), MAX_ITEMS_PER_DOCUMENT);
    }
}
