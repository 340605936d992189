//! The FeedObject's decisions, natively: what a refresh stores, archives and schedules, and how a feed's status moves.

use std::collections::HashMap;

use orrery::core::feed::FIRST_FETCH_MAX_ENTRIES;
use orrery::core::fetch_policy::FetchOutcome;
use orrery::core::ingest::{
    self, on_alarm, plan, recent_times, refresh_gate, watchdog, FeedState, FeedStatus, Move, Plan,
    RefreshOutcome, Seen, StoredEntry, Wake, Watch, FAILING_AFTER, PAUSED_AFTER,
};
use orrery::core::schedule::ScheduleConfig;

const NOW: i64 = 1_800_000_000_000; // 2027-01-15
const MIN: i64 = 60_000;
const URL: &str = "https://blog.example/feed.xml";

fn cfg() -> ScheduleConfig {
    ScheduleConfig {
        jitter_ratio: 0.0,
        ..ScheduleConfig::default()
    }
}

fn state() -> FeedState {
    FeedState::new(7, URL)
}

/// An RSS document with items `(guid, title, pubDate as unix seconds or None)`.
fn rss(title: &str, items: &[(&str, &str, Option<i64>)]) -> Vec<u8> {
    let mut s = format!("<rss version=\"2.0\"><channel><title>{title}</title>");
    for (guid, t, date) in items {
        s += &format!("<item><guid>{guid}</guid><title>{t}</title>");
        if let Some(d) = date {
            let when = chrono::DateTime::from_timestamp(*d, 0)
                .unwrap()
                .to_rfc2822();
            s += &format!("<pubDate>{when}</pubDate>");
        }
        s += "<description>&lt;p&gt;Body&lt;/p&gt;</description></item>";
    }
    (s + "</channel></rss>").into_bytes()
}

fn fetched(body: Vec<u8>) -> FetchOutcome {
    FetchOutcome::Fetched {
        body,
        final_url: URL.into(),
        etag: Some("\"v1\"".into()),
        last_modified: None,
        cache_max_age_s: None,
    }
}

fn run(st: &FeedState, outcome: FetchOutcome, seen: &HashMap<String, Seen>) -> Plan {
    plan(st, outcome, None, seen, NOW, &cfg())
}

/// What the seen table holds after a plan is applied, D1 numbering entries from `first_id`.
fn remember(p: &mut Plan, first_id: i64, seen: &mut HashMap<String, Seen>) {
    let stored: Vec<Option<StoredEntry>> = (0..p.entries.len() as i64)
        .map(|i| {
            Some(StoredEntry {
                id: first_id + i,
                first_seen: NOW,
            })
        })
        .collect();
    let settled = p.settle(&stored);
    for m in p.archived.iter().chain(&settled.seen) {
        seen.insert(
            m.identity.clone(),
            Seen {
                fingerprint: m.fingerprint.clone(),
                stored: m.entry_id.is_some(),
            },
        );
    }
}

fn identities(p: &Plan) -> Vec<&str> {
    p.entries
        .iter()
        .map(|w| w.entry.identity.as_str())
        .collect()
}

#[test]
fn new_entries_are_stored_oldest_first_and_published_in_id_order() {
    let body = rss(
        "Blog",
        &[
            ("c", "Third", Some(1_799_000_300)),
            ("a", "First", Some(1_799_000_100)),
            ("b", "Second", Some(1_799_000_200)),
        ],
    );
    let mut p = run(&state(), fetched(body), &HashMap::new());
    assert_eq!(p.report.outcome, RefreshOutcome::Ok);
    assert_eq!(
        identities(&p),
        ["a", "b", "c"],
        "ids grow with publication time"
    );
    assert!(p.archived.is_empty());
    let meta = p
        .feed_row
        .meta
        .clone()
        .expect("a parsed body updates the feed row");
    assert_eq!(meta.title, "Blog");
    assert_eq!(meta.etag.as_deref(), Some("\"v1\""));
    assert_eq!(p.state.etag.as_deref(), Some("\"v1\""));

    let mut seen = HashMap::new();
    remember(&mut p, 100, &mut seen);
    assert_eq!(p.report.new_entries, 3);
    assert_eq!(p.state.pushed_upto, 102);
    assert!(
        p.state.publish_pending,
        "published only once the Room acknowledges"
    );
    assert_eq!(
        p.state.next_wake(NOW),
        Wake::At(NOW + ingest::PUBLISH_RETRY_MS)
    );
    p.state.published(true);
    assert_eq!(p.state.next_wake(NOW), Wake::At(p.state.next_fetch_at));
}

#[test]
fn unchanged_entries_are_not_written_and_changed_ones_are() {
    let items = [("a", "First", Some(1_799_000_100)), ("b", "Second", None)];
    let mut seen = HashMap::new();
    let mut first = run(&state(), fetched(rss("Blog", &items)), &seen);
    remember(&mut first, 1, &mut seen);
    first.state.published(true);

    let again = run(&first.state, fetched(rss("Blog", &items)), &seen);
    assert_eq!(again.report.outcome, RefreshOutcome::Ok);
    assert!(
        again.entries.is_empty(),
        "an unchanged document writes no entry"
    );

    let edited = [
        ("a", "First, edited", Some(1_799_000_100)),
        ("b", "Second", None),
    ];
    let mut p = run(&first.state, fetched(rss("Blog", &edited)), &seen);
    assert_eq!(identities(&p), ["a"]);
    assert_eq!(p.entries[0].entry.title, "First, edited");
    // D1 says it already had id 1 from an earlier fetch: an update, not news.
    let settled = p.settle(&[Some(StoredEntry {
        id: 1,
        first_seen: NOW - 60 * MIN,
    })]);
    assert!(settled.new_entries.is_empty());
    assert_eq!(p.report.updated_entries, 1);
    assert_eq!(p.report.new_entries, 0);
    assert!(!p.state.publish_pending);
}

#[test]
fn first_fetch_stores_the_newest_and_archives_the_rest_for_good() {
    let n = FIRST_FETCH_MAX_ENTRIES + 20;
    let guids: Vec<String> = (0..n).map(|i| format!("g{i}")).collect();
    let items: Vec<(&str, &str, Option<i64>)> = guids
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), "T", Some(1_700_000_000 + i as i64 * 3600)))
        .collect();
    let mut seen = HashMap::new();
    let mut p = run(&state(), fetched(rss("Big", &items)), &seen);
    assert_eq!(p.entries.len(), FIRST_FETCH_MAX_ENTRIES);
    assert_eq!(p.archived.len(), 20);
    let oldest_kept = format!("g{}", n - FIRST_FETCH_MAX_ENTRIES);
    assert_eq!(identities(&p)[0], oldest_kept, "the newest are kept");
    assert!(p.archived.iter().all(|a| a.entry_id.is_none()));
    remember(&mut p, 1, &mut seen);

    // An archived entry edited later is still not news: it stays archived.
    let mut touched = items.clone();
    touched[0].1 = "Edited";
    let p = run(&p.state, fetched(rss("Big", &touched)), &seen);
    assert!(p.entries.is_empty(), "{:?}", identities(&p));
}

#[test]
fn a_duplicate_identity_keeps_its_first_occurrence() {
    let items = [
        ("a", "One", Some(1_799_000_100)),
        ("a", "Two", Some(1_799_000_200)),
    ];
    let p = run(&state(), fetched(rss("Blog", &items)), &HashMap::new());
    assert_eq!(identities(&p), ["a"]);
    assert_eq!(p.entries[0].entry.title, "One");
}

#[test]
fn published_dates_never_lie_in_the_future_and_undated_entries_are_now() {
    let items = [
        ("future", "F", Some(NOW / 1000 + 86_400)),
        ("undated", "U", None),
    ];
    let p = run(&state(), fetched(rss("Blog", &items)), &HashMap::new());
    for w in &p.entries {
        assert_eq!(w.published, NOW, "{}", w.entry.identity);
    }
}

#[test]
fn entries_are_shown_under_the_feed_title_or_else_its_url() {
    let mut p = run(
        &state(),
        fetched(rss("", &[("a", "A", None)])),
        &HashMap::new(),
    );
    let settled = p.settle(&[Some(StoredEntry {
        id: 5,
        first_seen: NOW,
    })]);
    assert_eq!(settled.new_entries[0].feed_title, URL);
    assert_eq!(ingest::feed_title("  ", URL), URL);
    assert_eq!(ingest::feed_title("Blog", URL), "Blog");
}

#[test]
fn recent_times_keep_the_newest_distinct_and_feed_the_schedule() {
    assert_eq!(recent_times(&[5, 3], [4, 5, 1], 3), vec![5, 4, 3]);
    let busy: Vec<(String, i64)> = (0..10)
        .map(|i| (format!("g{i}"), NOW / 1000 - i * 120))
        .collect();
    let items: Vec<(&str, &str, Option<i64>)> = busy
        .iter()
        .map(|(g, t)| (g.as_str(), "T", Some(*t)))
        .collect();
    let p = run(&state(), fetched(rss("Busy", &items)), &HashMap::new());
    assert_eq!(p.state.recent_times.len(), 10);
    assert_eq!(p.state.recent_times[0], NOW);
    assert_eq!(
        p.state.next_fetch_at,
        NOW + 5 * MIN,
        "a busy feed is polled at the minimum"
    );
}

#[test]
fn not_modified_is_a_success_that_writes_no_entries() {
    let mut st = state();
    st.failures = 4;
    st.status = FeedStatus::Failing;
    let p = run(
        &st,
        FetchOutcome::NotModified {
            cache_max_age_s: Some(7200),
        },
        &HashMap::new(),
    );
    assert_eq!(p.report.outcome, RefreshOutcome::NotModified);
    assert!(p.entries.is_empty() && p.archived.is_empty());
    assert_eq!(p.state.status, FeedStatus::Active);
    assert_eq!(p.state.failures, 0);
    assert_eq!(
        p.state.next_fetch_at,
        NOW + 120 * MIN,
        "Cache-Control max-age is honoured"
    );
    assert_eq!(p.feed_row.last_success_at, Some(NOW));
    assert_eq!(p.feed_row.last_error, None);
    assert!(p.feed_row.meta.is_none());
}

#[test]
fn failures_move_ok_to_failing_to_paused() {
    let mut st = state();
    let mut seen_statuses = Vec::new();
    for n in 1..=PAUSED_AFTER {
        let p = run(&st, FetchOutcome::Failed("boom".into()), &HashMap::new());
        assert_eq!(p.report.outcome, RefreshOutcome::Failed);
        assert_eq!(p.report.error.as_deref(), Some("boom"));
        assert_eq!(p.feed_row.last_error.as_deref(), Some("boom"));
        assert_eq!(p.state.failures, n);
        assert_eq!(p.feed_row.last_success_at, None);
        seen_statuses.push(p.state.status);
        st = p.state;
    }
    let at = |n: u32| seen_statuses[n as usize - 1];
    assert_eq!(at(FAILING_AFTER - 1), FeedStatus::Active);
    assert_eq!(at(FAILING_AFTER), FeedStatus::Failing);
    assert_eq!(at(PAUSED_AFTER - 1), FeedStatus::Failing);
    assert_eq!(at(PAUSED_AFTER), FeedStatus::Paused);
    assert_eq!(st.next_wake(NOW), Wake::Never, "a paused feed has no alarm");

    // A broken document is a failure too, with the parser's reason.
    let p = run(
        &state(),
        fetched(b"<html><body>hi</body></html>".to_vec()),
        &HashMap::new(),
    );
    assert_eq!(p.report.outcome, RefreshOutcome::Failed);
    assert!(p.report.error.unwrap().contains("HTML page"));

    // Success heals.
    let p = run(
        &st,
        fetched(rss("Back", &[("a", "A", None)])),
        &HashMap::new(),
    );
    assert_eq!((p.state.status, p.state.failures), (FeedStatus::Active, 0));
}

#[test]
fn failure_backoff_grows() {
    let mut st = state();
    let mut delays = Vec::new();
    for _ in 0..3 {
        let p = run(&st, FetchOutcome::Failed("x".into()), &HashMap::new());
        delays.push(p.state.next_fetch_at - NOW);
        st = p.state;
    }
    assert_eq!(delays, vec![5 * MIN, 10 * MIN, 20 * MIN]);
}

#[test]
fn retry_later_waits_as_told_and_is_not_a_failure() {
    let mut st = state();
    st.failures = 2;
    let told = FetchOutcome::RetryLater {
        status: 429,
        retry_after_ms: Some(90 * MIN),
    };
    let p = run(&st, told, &HashMap::new());
    assert_eq!(p.report.outcome, RefreshOutcome::RetryLater);
    assert_eq!(p.state.failures, 2, "not counted");
    assert_eq!(p.state.status, FeedStatus::Active);
    assert_eq!(p.state.next_fetch_at, NOW + 90 * MIN);
    assert!(p.report.error.unwrap().contains("HTTP 429"));
    assert_eq!(p.feed_row.last_success_at, None);

    let silent = FetchOutcome::RetryLater {
        status: 503,
        retry_after_ms: None,
    };
    let p = run(&st, silent, &HashMap::new());
    assert_eq!(p.state.next_fetch_at, NOW + cfg().default_interval_ms);
    assert!(RefreshOutcome::RetryLater.found_a_feed());
}

#[test]
fn gone_stops_fetching() {
    let p = run(&state(), FetchOutcome::Gone, &HashMap::new());
    assert_eq!(p.report.outcome, RefreshOutcome::Gone);
    assert_eq!(p.state.status, FeedStatus::Gone);
    assert_eq!(p.feed_row.next_fetch_at, None);
    assert_eq!(p.report.next_fetch_at, None);
    assert_eq!(p.state.next_wake(NOW), Wake::Never);
    assert!(!RefreshOutcome::Gone.found_a_feed());
    assert!(!RefreshOutcome::Failed.found_a_feed());
}

#[test]
fn a_permanent_move_is_taken_unless_another_feed_has_that_url() {
    let new_url = "https://blog.example/new.xml";
    let body = || fetched(rss("Blog", &[("a", "A", None)]));
    let free = Move {
        url: new_url.into(),
        held_by: None,
    };
    let p = plan(&state(), body(), Some(free), &HashMap::new(), NOW, &cfg());
    assert_eq!(p.state.url, new_url);
    assert_eq!(p.feed_row.url, new_url);

    let taken = Move {
        url: new_url.into(),
        held_by: Some(99),
    };
    let p = plan(&state(), body(), Some(taken), &HashMap::new(), NOW, &cfg());
    assert_eq!(p.state.url, URL, "stays where it was");
    assert!(p.warning.unwrap().contains("feed 99"));

    // A move onto its own row (the same feed) is no conflict.
    let own = Move {
        url: new_url.into(),
        held_by: Some(7),
    };
    let p = plan(&state(), body(), Some(own), &HashMap::new(), NOW, &cfg());
    assert_eq!(p.state.url, new_url);
}

#[test]
fn refreshes_run_one_at_a_time_and_skip_paused_feeds_unless_forced() {
    let st = state();
    assert!(refresh_gate(Some(st.clone()), false, false).is_ok());
    let busy = refresh_gate(Some(st.clone()), true, true).unwrap_err();
    assert_eq!(busy.outcome, RefreshOutcome::Skipped);
    assert!(busy.error.unwrap().contains("already running"));
    assert!(refresh_gate(None, true, false).is_err());

    let paused = FeedState {
        status: FeedStatus::Paused,
        ..st.clone()
    };
    let skipped = refresh_gate(Some(paused.clone()), false, false).unwrap_err();
    assert_eq!(skipped.status, FeedStatus::Paused);
    assert!(
        refresh_gate(Some(paused), true, false).is_ok(),
        "by hand it runs"
    );
}

#[test]
fn alarms_retry_a_pending_publish_and_fetch_when_due() {
    let mut st = state();
    st.next_fetch_at = NOW + 10 * MIN;
    let a = on_alarm(&st, NOW);
    assert!(!a.retry_publish && !a.refresh);
    st.publish_pending = true;
    st.next_fetch_at = NOW + 500;
    let a = on_alarm(&st, NOW);
    assert!(a.retry_publish && a.refresh);
}

#[test]
fn the_watchdog_rearms_missing_or_overdue_alarms_only() {
    let mut st = state();
    st.next_fetch_at = NOW + 10 * MIN;
    assert_eq!(watchdog(Some(&st), Some(NOW + 10 * MIN), NOW), Watch::Armed);
    assert_eq!(watchdog(Some(&st), None, NOW), Watch::Rearm(NOW + 10 * MIN));
    assert_eq!(
        watchdog(Some(&st), Some(NOW - 5 * MIN), NOW),
        Watch::Rearm(NOW + 10 * MIN)
    );
    st.next_fetch_at = NOW - MIN;
    assert_eq!(watchdog(Some(&st), Some(NOW + MIN), NOW), Watch::Rearm(NOW));
    st.status = FeedStatus::Gone;
    assert_eq!(watchdog(Some(&st), None, NOW), Watch::Idle);
    assert_eq!(watchdog(None, None, NOW), Watch::Idle);
}

#[test]
fn status_and_outcome_keep_their_wire_names() {
    // D1's feeds.status, the API and the FeedObject's stored state all use these strings.
    for (s, name) in [
        (FeedStatus::Active, "active"),
        (FeedStatus::Failing, "failing"),
        (FeedStatus::Paused, "paused"),
        (FeedStatus::Gone, "gone"),
    ] {
        assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{name}\""));
        assert_eq!(s.as_str(), name);
    }
    for (o, name) in [
        (RefreshOutcome::Ok, "ok"),
        (RefreshOutcome::NotModified, "not_modified"),
        (RefreshOutcome::RetryLater, "retry_later"),
        (RefreshOutcome::Skipped, "skipped"),
    ] {
        assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{name}\""));
        assert_eq!(o.as_str(), name);
    }
    // A state saved by an earlier version reads back.
    let old = r#"{"feed_id":3,"url":"u","etag":null,"last_modified":null,"failures":1,
        "status":"failing","next_fetch_at":5,"pushed_upto":2,"publish_pending":false,"recent_times":[]}"#;
    let st: FeedState = serde_json::from_str(old).unwrap();
    assert_eq!(st.status, FeedStatus::Failing);
}
