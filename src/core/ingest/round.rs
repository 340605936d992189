//! "Refresh all feeds" as a round: every feed that fetches on its own, a batch per invocation.
//!
//! A round is one D1 row with a cursor over feed ids. The admin's request refreshes the
//! first batch; each cron run moves it on by at most [`per_run`] feeds (each a call to its
//! FeedObject, a subrequest), so a thousand feeds take a thousand / N runs and no
//! invocation fans out past its budget. One cursor write per batch, whatever its size.

use serde::{Deserialize, Serialize};

use super::report::{RefreshOutcome, RefreshReport};
use crate::core::domain::FeedStatus;

/// Feeds one invocation refreshes in a round unless `REFRESH_ALL_PER_RUN` says otherwise:
/// 1,000 feeds in 40 cron runs (under 7 hours at one run every 10 minutes).
pub const DEFAULT_PER_RUN: u32 = 25;
/// The most `REFRESH_ALL_PER_RUN` may ask: with the membership sync's document and the
/// watchdog's calls, cron stays inside one invocation's 50 subrequests (cron gives the round
/// only what they left).
pub const MAX_PER_RUN: u32 = 40;
/// The feeds a round refreshes: those that fetch on their own schedule and are not paused
/// (a paused, gone or held feed is retried one by one, by hand).
pub const ROUND_STATUSES: [FeedStatus; 2] = [FeedStatus::Active, FeedStatus::Failing];
/// Rounds kept in D1 (the newest; older rows are deleted when a round starts).
pub const ROUNDS_KEPT: i64 = 20;

/// Feeds per invocation (`REFRESH_ALL_PER_RUN`, 1 to [`MAX_PER_RUN`]; anything else is the
/// default, or the cap when larger).
pub fn per_run(get: impl Fn(&str) -> Option<String>) -> u32 {
    get("REFRESH_ALL_PER_RUN")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .map_or(DEFAULT_PER_RUN, |n| n.min(MAX_PER_RUN))
}

/// One round, as D1 keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRound {
    pub id: i64,
    pub started_at: i64,
    pub started_by: String,
    /// Feeds to refresh when it started.
    pub total: u32,
    /// The last feed id refreshed.
    pub cursor: i64,
    pub done: u32,
    pub new_entries: u32,
    pub failed: u32,
    /// Invocations that moved it on.
    pub runs: u32,
    pub finished_at: Option<i64>,
}

/// What one batch's refreshes came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchTally {
    pub refreshed: u32,
    pub new_entries: u32,
    pub failed: u32,
}

impl BatchTally {
    /// Each call's report, or why the call failed (counted as failed).
    pub fn of<E>(results: &[Result<RefreshReport, E>]) -> Self {
        let mut t = BatchTally::default();
        for r in results {
            t.refreshed += 1;
            match r {
                Ok(report) => {
                    t.new_entries += report.new_entries;
                    let bad = matches!(
                        report.outcome,
                        RefreshOutcome::Failed | RefreshOutcome::Gone
                    );
                    t.failed += u32::from(bad);
                }
                Err(_) => t.failed += 1,
            }
        }
        t
    }
}

/// Of the feed ids read after the cursor (`limit + 1` at most: one past the batch says
/// whether more wait), the batch to refresh now, and whether the round ends with it.
pub fn batch_of(ids: &[i64], limit: u32) -> (&[i64], bool) {
    let n = ids.len().min(limit as usize);
    (&ids[..n], ids.len() <= limit as usize)
}

impl RefreshRound {
    pub fn running(&self) -> bool {
        self.finished_at.is_none()
    }

    /// The round after a batch (`ids`, in order) and what it came to; finished at `now`
    /// when it was the last.
    pub fn advanced(&self, ids: &[i64], tally: BatchTally, last: bool, now: i64) -> Self {
        RefreshRound {
            cursor: ids.last().copied().unwrap_or(self.cursor),
            done: self.done + tally.refreshed,
            new_entries: self.new_entries + tally.new_entries,
            failed: self.failed + tally.failed,
            runs: self.runs + 1,
            finished_at: last.then_some(now),
            ..self.clone()
        }
    }

    /// The feeds it will have refreshed: those counted at the start, or more when feeds
    /// were added while it ran.
    pub fn of_total(&self) -> u32 {
        self.total.max(self.done)
    }

    /// Where it stands, for a person: "Refreshing all feeds: 120 of 1,000 …".
    pub fn progress(&self) -> String {
        let news = plural(self.new_entries, "new entry", "new entries");
        let failed = match self.failed {
            0 => String::new(),
            n => format!(", {} failed", thousands(n)),
        };
        if self.running() {
            format!(
                "Refreshing all feeds: {} of {} ({news} so far{failed}); the rest follow with the next cron runs.",
                thousands(self.done),
                thousands(self.of_total()),
            )
        } else {
            format!(
                "Refreshed all feeds: {} ({news}{failed}).",
                thousands(self.done)
            )
        }
    }

    /// The audit record's detail when it finishes.
    pub fn finish_detail(&self) -> String {
        format!(
            "round {} started by {}: {} refreshed in {}, {}, {} failed",
            self.id,
            self.started_by,
            plural(self.done, "feed", "feeds"),
            plural(self.runs, "run", "runs"),
            plural(self.new_entries, "new entry", "new entries"),
            thousands(self.failed),
        )
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// 1000 as "1,000".
fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_size_is_a_var_within_the_invocations_budget() {
        assert_eq!(per_run(|_| None), DEFAULT_PER_RUN);
        assert_eq!(per_run(|_| Some("5".into())), 5);
        assert_eq!(per_run(|_| Some("500".into())), MAX_PER_RUN);
        assert_eq!(per_run(|_| Some("0".into())), DEFAULT_PER_RUN);
        assert_eq!(per_run(|_| Some("many".into())), DEFAULT_PER_RUN);
    }

    #[test]
    fn a_batch_reads_one_id_past_itself_to_know_whether_it_is_the_last() {
        assert_eq!(batch_of(&[1, 2, 3, 4], 3), (&[1, 2, 3][..], false));
        assert_eq!(batch_of(&[1, 2, 3], 3), (&[1, 2, 3][..], true));
        assert_eq!(batch_of(&[7], 3), (&[7][..], true));
        assert_eq!(batch_of(&[], 3), (&[][..], true));
    }

    #[test]
    fn thirty_feeds_five_at_a_time_take_six_runs_and_one_cursor_each() {
        let ids: Vec<i64> = (1..=30).collect();
        let mut round = RefreshRound {
            id: 1,
            total: 30,
            started_by: "admin".into(),
            ..Default::default()
        };
        let ok = |n| RefreshReport {
            outcome: RefreshOutcome::Ok,
            new_entries: n,
            ..Default::default()
        };
        while round.running() {
            let after: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|i| *i > round.cursor)
                .take(6)
                .collect();
            let (batch, last) = batch_of(&after, 5);
            assert!(batch.len() <= 5);
            let results: Vec<Result<RefreshReport, String>> = batch
                .iter()
                .map(|i| {
                    if *i == 7 {
                        Err("down".into())
                    } else {
                        Ok(ok(1))
                    }
                })
                .collect();
            round = round.advanced(batch, BatchTally::of(&results), last, 99);
            assert!(round.runs <= 6, "{round:?}");
        }
        assert_eq!((round.done, round.runs, round.cursor), (30, 6, 30));
        assert_eq!((round.new_entries, round.failed), (29, 1));
        assert_eq!(round.finished_at, Some(99));
        assert_eq!(
            round.finish_detail(),
            "round 1 started by admin: 30 feeds refreshed in 6 runs, 29 new entries, 1 failed"
        );
    }

    #[test]
    fn progress_reads_as_words_with_thousands() {
        let round = RefreshRound {
            total: 1000,
            done: 120,
            new_entries: 1,
            ..Default::default()
        };
        assert_eq!(
            round.progress(),
            "Refreshing all feeds: 120 of 1,000 (1 new entry so far); the rest follow with the next cron runs."
        );
        let more = RefreshRound {
            total: 2,
            done: 3,
            failed: 2,
            finished_at: Some(1),
            ..Default::default()
        };
        assert_eq!(
            more.progress(),
            "Refreshed all feeds: 3 (0 new entries, 2 failed)."
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
