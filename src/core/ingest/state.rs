//! A feed's durable state and the decisions that need only it: status, wake time, alarms, the watchdog.

use serde::{Deserialize, Serialize};

use crate::core::domain::FeedStatus;
use crate::core::view_models::ObjectHealth;
use crate::core::websub::subscriber::HubSubscription;

/// Consecutive failures after which a feed is shown as failing, unless `FAILING_AFTER`
/// says otherwise (`ScheduleConfig::failing_after`).
pub const FAILING_AFTER: u32 = crate::core::config::DEFAULT_FAILING_AFTER;
/// Consecutive failures after which a feed is paused: probed only once a day (the
/// backoff's cap) until it answers again, unless `PAUSED_AFTER` and `PROBE_PAUSED` say
/// otherwise.
pub const PAUSED_AFTER: u32 = crate::core::config::DEFAULT_PAUSED_AFTER;
/// A feed is gone only after this many 410s in a row (a misconfigured server can
/// answer 410 for an hour; the publisher means it if it persists).
pub const GONE_AFTER: u32 = 3;
/// A publish the Room has not acknowledged is retried this soon.
pub const PUBLISH_RETRY_MS: i64 = 2_000;
/// Work carried over (entries not cleaned yet) continues this soon.
pub const FOLLOW_UP_MS: i64 = 1_000;
/// An alarm this close to the next fetch fetches now rather than sleeping again.
pub const ALARM_SLACK_MS: i64 = 1_000;
/// Cron re-arms an alarm that should have fired longer ago than this.
const WATCHDOG_GRACE_MS: i64 = 60_000;
/// D1's `overdue_at` is at least this long after the next fetch...
pub const OVERDUE_GRACE_MS: i64 = 60 * 60_000;
/// ...and moved this far ahead when it must move, so a feed polled every half hour
/// rewrites it about once a day, not on every fetch.
pub const OVERDUE_SLACK_MS: i64 = 24 * 60 * 60_000;

/// Ingest's rule for a status, beside the thresholds it applies ([`FeedStatus`] itself is
/// vocabulary, in `core::domain`).
impl FeedStatus {
    /// The status after `failures` consecutive failures, by the deployment's thresholds.
    pub fn after_failures(failures: u32, cfg: &super::schedule::ScheduleConfig) -> Self {
        if failures >= cfg.paused_after {
            FeedStatus::Paused
        } else if failures >= cfg.failing_after {
            FeedStatus::Failing
        } else {
            FeedStatus::Active
        }
    }
}

/// What D1's feed row says, as this object last wrote it: a refresh rewrites the row
/// only when this changes (or entries were written), so an unchanged fetch writes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowDigest {
    pub url: String,
    pub status: FeedStatus,
    pub failures: u32,
    pub last_error: Option<String>,
    /// Digest of title, site link, description and format.
    pub meta: Option<String>,
    /// Cron's watchdog looks at the feed only past this (`None`: not scheduled).
    pub overdue_at: Option<i64>,
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
    /// The next fetch. Saved only with other changes, or while the alarm is set for
    /// something else (see [`FeedState::alarm_is_the_fetch`]): after an unchanged fetch
    /// the alarm holds the truth and this may be earlier (never later) than it.
    pub next_fetch_at: i64,
    /// Newest entry id sent to this feed's sockets.
    pub pushed_upto: i64,
    /// The Room has not yet acknowledged our newest entries.
    pub publish_pending: bool,
    pub recent_times: Vec<i64>,
    /// Digest of the last body fetched: an identical 200 is not parsed again.
    #[serde(default)]
    pub body_digest: Option<String>,
    /// RSS `<ttl>` of the last body parsed (a schedule hint kept for identical bodies).
    #[serde(default)]
    pub ttl_minutes: Option<u32>,
    /// Entries wait in the object's storage to be cleaned by a follow-up invocation.
    #[serde(default)]
    pub work_pending: bool,
    /// What D1's feed row holds.
    #[serde(default)]
    pub row: Option<RowDigest>,
    /// 410s in a row so far.
    #[serde(default)]
    pub gone_strikes: u32,
    /// Digest of a document whose parse began and has not finished: saved before
    /// parsing, so an invocation killed mid-parse (CPU, memory) leaves a trace.
    #[serde(default)]
    pub parsing: Option<String>,
    /// Invocations that began to parse that document and did not finish.
    #[serde(default)]
    pub parse_attempts: u32,
    /// Rows in the object's seen table, as counted at ingest (a feed from before the
    /// count starts at 0 and is pruned later): past a limit the oldest are forgotten.
    #[serde(default)]
    pub seen_rows: u32,
    /// Newest revision of this feed's rewritten entries sent to its sockets.
    #[serde(default)]
    pub revised_upto: i64,
    /// The member's name and face for live frames, and the filter ingest applies.
    #[serde(default)]
    pub settings: super::FeedSettings,
    /// The feed's WebSub subscription, when its document advertises a hub.
    #[serde(default)]
    pub websub: Option<HubSubscription>,
}

/// When the FeedObject's alarm should fire next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    At(i64),
    /// Paused, gone or held: no alarm.
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

    /// The next alarm: soon while a publish or carried-over work is pending, else the next fetch.
    pub fn next_wake(&self, now: i64) -> Wake {
        if !self.status.is_scheduled() && !self.work_pending && !self.publish_pending {
            Wake::Never
        } else if self.publish_pending {
            Wake::At(now + PUBLISH_RETRY_MS)
        } else if self.work_pending {
            Wake::At(now + FOLLOW_UP_MS)
        } else {
            let websub = self.websub_due_at().unwrap_or(i64::MAX);
            Wake::At(self.next_fetch_at.min(websub.max(now)))
        }
    }

    /// When the WebSub subscription needs a request to its hub (a first subscribe, a
    /// renewal, a retry); only for a feed on schedule (held or gone: the lease lapses).
    pub fn websub_due_at(&self) -> Option<i64> {
        let sub = self.websub.as_ref()?;
        self.status.is_scheduled().then(|| sub.next_request_at())
    }

    /// Is a hub pushing this feed's entries now (its lease live)?
    pub fn push_live(&self, now: i64) -> bool {
        self.websub.as_ref().is_some_and(|s| s.live(now))
    }

    /// Records whether the Room acknowledged the publish; until it does the alarm retries.
    pub fn published(&mut self, acknowledged: bool) {
        self.publish_pending = !acknowledged;
    }

    /// The alarm [`FeedState::next_wake`] sets is the next fetch itself, so it holds the
    /// schedule and a saved `next_fetch_at` may lag behind. When it wakes the object
    /// sooner (carried work, a publish to retry, the WebSub lease), `on_alarm` reads the
    /// saved `next_fetch_at` to tell a due fetch from the rest: it must be the truth, or
    /// every follow-up alarm would be taken for a fetch and carried work never resumed.
    pub fn alarm_is_the_fetch(&self, now: i64) -> bool {
        self.next_wake(now) == Wake::At(self.next_fetch_at)
    }

    /// What the object says of itself to the admin's feed-health view, read only: `alarm`
    /// as its storage holds it, `last_fetch_at` as its memory does. The next fetch is the
    /// later of the alarm and the saved time: after an unchanged fetch the saved time may be
    /// earlier than the alarm (never later), and an alarm set sooner for other work leaves
    /// the saved time the truth. No alarm, or a feed not on schedule (held, gone: an alarm
    /// then is only for carried work): no next fetch.
    pub fn describe(
        feed: Option<&FeedState>,
        alarm: Option<i64>,
        last_fetch_at: Option<i64>,
    ) -> ObjectHealth {
        let Some(feed) = feed else {
            return ObjectHealth {
                last_fetch_at,
                next_fetch_at: alarm,
                ..ObjectHealth::default()
            };
        };
        ObjectHealth {
            known: true,
            last_fetch_at,
            next_fetch_at: alarm
                .filter(|_| feed.status.is_scheduled())
                .map(|at| at.max(feed.next_fetch_at)),
            status: feed.status,
            failures: feed.failures,
        }
    }

    /// Equal apart from the next fetch time: nothing worth a storage write changed.
    pub fn same_apart_from_schedule(&self, other: &FeedState) -> bool {
        let mut a = self.clone();
        a.next_fetch_at = other.next_fetch_at;
        a == *other
    }

    /// Jitter seed: differs per feed and per fetch, so feeds do not fetch in lockstep.
    pub(crate) fn seed(&self, now: i64) -> u64 {
        (self.feed_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ now as u64
    }
}

/// Why the platform refused a write (not the feed's fault: nothing is counted against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformTrouble {
    /// A Free-plan daily limit ran out: every write fails until 00:00 UTC.
    DailyLimit,
    /// Anything else (an outage, a timeout): try again soon.
    Transient,
}

/// A held refresh is retried this soon after transient trouble.
const HOLD_RETRY_MS: i64 = 15 * 60_000;
const DAY_MS: i64 = 24 * 60 * 60_000;

impl PlatformTrouble {
    /// Reads an error from D1 or storage. The platform's wording is not a contract, so
    /// this looks for what a limit error says ("limit" with "exceeded"/"daily", or "quota").
    pub fn of(error: &str) -> Self {
        let e = error.to_ascii_lowercase();
        let limit = (e.contains("limit") && (e.contains("exceed") || e.contains("daily")))
            || e.contains("quota");
        if limit {
            PlatformTrouble::DailyLimit
        } else {
            PlatformTrouble::Transient
        }
    }

    /// When a refresh held by this trouble tries again: after a daily limit, just after
    /// the next 00:00 UTC (spread over 15 minutes per feed so they do not all wake at
    /// once); otherwise in [`HOLD_RETRY_MS`].
    pub fn retry_at(self, feed_id: i64, now: i64) -> i64 {
        match self {
            PlatformTrouble::DailyLimit => {
                let midnight = (now.div_euclid(DAY_MS) + 1) * DAY_MS;
                midnight + (feed_id.rem_euclid(15)) * 60_000 + 60_000
            }
            PlatformTrouble::Transient => now + HOLD_RETRY_MS,
        }
    }

    /// When held refreshes try again, in words.
    pub fn when_retried(self) -> &'static str {
        match self {
            PlatformTrouble::DailyLimit => "after 00:00 UTC",
            PlatformTrouble::Transient => "in a few minutes",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            PlatformTrouble::DailyLimit => "a daily limit of the platform ran out",
            PlatformTrouble::Transient => "the database did not answer",
        }
    }
}

/// The watchdog deadline D1 should hold for a feed whose next fetch is `next_fetch`:
/// the current one while it is safely ahead (at least the grace, at most two slacks),
/// else moved a slack ahead.
pub(super) fn overdue_deadline(current: Option<i64>, next_fetch: i64) -> i64 {
    let earliest = next_fetch.saturating_add(OVERDUE_GRACE_MS);
    match current {
        Some(d) if d >= earliest && d <= earliest.saturating_add(2 * OVERDUE_SLACK_MS) => d,
        _ => earliest.saturating_add(OVERDUE_SLACK_MS),
    }
}

/// What an alarm does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmPlan {
    /// Nudge the Room again: the last publish was not acknowledged.
    pub retry_publish: bool,
    /// Fetch now.
    pub refresh: bool,
    /// Not fetching: clean entries carried over from an earlier invocation.
    pub follow_up: bool,
    /// Send the WebSub subscription's request (subscribe, renew, retry) to its hub.
    pub websub: bool,
}

pub fn on_alarm(feed_state: &FeedState, now: i64) -> AlarmPlan {
    let refresh =
        feed_state.status.is_scheduled() && feed_state.next_fetch_at <= now + ALARM_SLACK_MS;
    AlarmPlan {
        retry_publish: feed_state.publish_pending,
        refresh,
        follow_up: !refresh && feed_state.work_pending,
        websub: feed_state
            .websub_due_at()
            .is_some_and(|at| at <= now + ALARM_SLACK_MS),
    }
}

/// Cron's watchdog, for one feed D1 says is overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    /// Set the alarm to this time (it was missing or stuck).
    pub rearm: Option<i64>,
    /// The deadline D1 should hold from now on (`None`: not scheduled, cron stops asking).
    pub overdue_at: Option<i64>,
}

/// Re-arms a missing or stuck alarm and renews the D1 deadline, recording it in the state.
pub fn watchdog(feed_state: &mut FeedState, alarm: Option<i64>, now: i64) -> Watch {
    if !feed_state.status.is_scheduled() {
        return Watch {
            rearm: None,
            overdue_at: None,
        };
    }
    let stuck = alarm.is_none_or(|a| a < now - WATCHDOG_GRACE_MS);
    let rearm = stuck.then(|| feed_state.next_fetch_at.max(now));
    let next = rearm.or(alarm).unwrap_or(now).max(feed_state.next_fetch_at);
    let overdue_at = Some(overdue_deadline(None, next));
    if let Some(row) = feed_state.row.as_mut() {
        row.overdue_at = overdue_at;
    }
    Watch { rearm, overdue_at }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_describes_its_next_fetch_as_the_later_of_alarm_and_saved_time() {
        let mut feed = FeedState::new(7, "https://x.example/feed");
        feed.next_fetch_at = 1_000;
        feed.failures = 2;
        // After an unchanged fetch the alarm is later than the saved time: the alarm.
        let d = FeedState::describe(Some(&feed), Some(5_000), Some(900));
        assert_eq!(
            (d.known, d.next_fetch_at, d.last_fetch_at),
            (true, Some(5_000), Some(900))
        );
        assert_eq!(d.failures, 2);
        // An alarm set sooner for other work: the saved time.
        assert_eq!(
            FeedState::describe(Some(&feed), Some(500), None).next_fetch_at,
            Some(1_000)
        );
        // No alarm: nothing scheduled; no state: not known.
        assert_eq!(
            FeedState::describe(Some(&feed), None, None).next_fetch_at,
            None
        );
        assert!(!FeedState::describe(None, None, None).known);
    }

    #[test]
    fn a_deadline_far_too_late_is_pulled_in() {
        let now = 1_800_000_000_000;
        assert_eq!(
            overdue_deadline(Some(now + 3 * OVERDUE_SLACK_MS), now),
            now + OVERDUE_GRACE_MS + OVERDUE_SLACK_MS
        );
    }
}
