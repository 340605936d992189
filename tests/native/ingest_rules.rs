//! The FeedObject's decisions, natively: what a refresh stores, archives and schedules, and how a feed's status moves.

use std::collections::HashMap;

use orrery::core::domain::{self, FeedStatus, Keep};
use orrery::core::feed::{FIRST_FETCH_MAX_ENTRIES, MAX_ITEMS_PER_DOCUMENT};
use orrery::core::fetch::FetchOutcome;
use orrery::core::ingest::schedule::ScheduleConfig;
use orrery::core::ingest::{
    self, follow_up, on_alarm, plan, refresh_gate, watchdog, FeedRow, FeedState, Move, Plan,
    RefreshOutcome, Seen, StoredEntry, Wake, FAILING_AFTER, FOLLOW_UP_MS, GONE_AFTER,
    OVERDUE_GRACE_MS, OVERDUE_SLACK_MS, PAUSED_AFTER,
};
use orrery::core::websub::subscriber;

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
    plan(st, outcome, None, seen, NOW, &cfg(), Keep::default())
}

/// What the seen table holds after a plan is applied, D1 numbering entries from `first_id`.
fn remember(p: &mut Plan, first_id: i64, seen: &mut HashMap<String, Seen>) {
    let stored: Vec<Option<StoredEntry>> = (0..p.entries.len() as i64)
        .map(|i| {
            Some(StoredEntry {
                id: first_id + i,
                first_seen: NOW,
                rev: None,
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
                pending: false,
            },
        );
    }
}

/// The D1 feed row the plan writes (the test expects one).
fn row(p: &Plan) -> &FeedRow {
    p.feed_row.as_ref().expect("the plan writes the feed row")
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
    let meta = row(&p)
        .meta
        .clone()
        .expect("a parsed body updates the feed row");
    assert_eq!(meta.title, "Blog");
    assert_eq!(row(&p).inserted, 3);
    assert!(row(&p).changed);
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
        rev: None,
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
        rev: None,
    })]);
    assert_eq!(settled.new_entries[0].feed_title, URL);
    assert_eq!(ingest::feed_title("  ", URL), URL);
    assert_eq!(ingest::feed_title("Blog", URL), "Blog");
}

#[test]
fn recent_times_keep_the_newest_distinct_and_feed_the_schedule() {
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
    assert_eq!(row(&p).last_success_at, Some(NOW));
    assert_eq!(row(&p).last_error, None);
    assert!(row(&p).meta.is_none());
}

#[test]
fn failures_move_ok_to_failing_to_paused() {
    let mut st = state();
    let mut seen_statuses = Vec::new();
    for n in 1..=PAUSED_AFTER {
        let p = run(&st, FetchOutcome::Failed("boom".into()), &HashMap::new());
        assert_eq!(p.report.outcome, RefreshOutcome::Failed);
        assert_eq!(p.report.error.as_deref(), Some("boom"));
        assert_eq!(row(&p).last_error.as_deref(), Some("boom"));
        assert_eq!(p.state.failures, n);
        assert_eq!(row(&p).last_success_at, None);
        seen_statuses.push(p.state.status);
        st = p.state;
    }
    let at = |n: u32| seen_statuses[n as usize - 1];
    assert_eq!(at(FAILING_AFTER - 1), FeedStatus::Active);
    assert_eq!(at(FAILING_AFTER), FeedStatus::Failing);
    assert_eq!(at(PAUSED_AFTER - 1), FeedStatus::Failing);
    assert_eq!(at(PAUSED_AFTER), FeedStatus::Paused);
    // Paused, it is still probed, once a day (the backoff's cap), and comes back when it answers.
    assert_eq!(st.next_wake(NOW), Wake::At(st.next_fetch_at));
    let probe = run(
        &st,
        FetchOutcome::Failed("still down".into()),
        &HashMap::new(),
    );
    assert_eq!(probe.state.status, FeedStatus::Paused);
    assert_eq!(probe.state.next_fetch_at - NOW, 24 * 60 * MIN);

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
fn the_operator_sets_the_failure_thresholds_and_whether_paused_feeds_are_probed() {
    let vars = |k: &str| {
        Some(
            match k {
                "FAILING_AFTER" => "1",
                "PAUSED_AFTER" => "2",
                "PROBE_PAUSED" => "false",
                _ => return None,
            }
            .to_string(),
        )
    };
    let cfg = ScheduleConfig {
        jitter_ratio: 0.0,
        ..ScheduleConfig::from_lookup(vars)
    };
    let fail = |st: &FeedState| {
        plan(
            st,
            FetchOutcome::Failed("down".into()),
            None,
            &HashMap::new(),
            NOW,
            &cfg,
            Keep::default(),
        )
        .state
    };
    let first = fail(&state());
    assert_eq!(first.status, FeedStatus::Failing, "failing after 1");
    let second = fail(&first);
    assert_eq!(second.status, FeedStatus::Paused, "paused after 2");
    // Not probed: its next fetch is a year away (a refresh by hand still revives it).
    assert!(second.next_fetch_at - NOW >= 365 * 24 * 60 * MIN);
    // Today's thresholds and probes stay the defaults.
    let d = ScheduleConfig::from_lookup(|_| None);
    assert_eq!(
        (d.failing_after, d.paused_after, d.probe_paused),
        (FAILING_AFTER, PAUSED_AFTER, true)
    );
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
    assert!(p.report.error.as_deref().unwrap_or("").contains("HTTP 429"));
    assert_eq!(row(&p).last_success_at, None);

    let silent = FetchOutcome::RetryLater {
        status: 503,
        retry_after_ms: None,
    };
    let p = run(&st, silent, &HashMap::new());
    assert_eq!(p.state.next_fetch_at, NOW + cfg().default_interval_ms);
    assert!(RefreshOutcome::RetryLater.found_a_feed());
}

#[test]
fn gone_needs_a_410_that_persists_then_stops_fetching() {
    let mut st = state();
    for n in 1..GONE_AFTER {
        let p = run(&st, FetchOutcome::Gone, &HashMap::new());
        assert_eq!(
            p.report.outcome,
            RefreshOutcome::Failed,
            "410 number {n}: not yet gone"
        );
        assert!(p.report.error.as_deref().unwrap_or("").contains("HTTP 410"));
        assert!(p.state.status.is_scheduled());
        st = p.state;
    }
    // Anything else in between starts the count again.
    let interrupted = run(
        &st,
        FetchOutcome::NotModified {
            cache_max_age_s: None,
        },
        &HashMap::new(),
    );
    assert_eq!(interrupted.state.gone_strikes, 0);
    let p = run(&st, FetchOutcome::Gone, &HashMap::new());
    assert_eq!(p.report.outcome, RefreshOutcome::Gone);
    assert_eq!(p.state.status, FeedStatus::Gone);
    assert_eq!(row(&p).next_fetch_at, None);
    assert_eq!(p.report.next_fetch_at, None);
    assert_eq!(p.state.next_wake(NOW), Wake::Never);
    assert!(!RefreshOutcome::Gone.found_a_feed());
    assert!(!RefreshOutcome::Failed.found_a_feed());
}

#[test]
fn a_permanent_move_is_taken_unless_another_feed_has_that_url() {
    let new_url = "https://blog.example/new.xml";
    let body = || fetched(rss("Blog", &[("a", "A", None)]));
    let moved = |held_by: Option<i64>| {
        let to = Move {
            url: new_url.into(),
            held_by,
        };
        plan(
            &state(),
            body(),
            Some(to),
            &HashMap::new(),
            NOW,
            &cfg(),
            Keep::default(),
        )
    };
    let p = moved(None);
    assert_eq!(p.state.url, new_url);
    assert_eq!(row(&p).url, new_url);

    let p = moved(Some(99));
    assert_eq!(p.state.url, URL, "stays where it was");
    assert!(p.warning.unwrap().contains("feed 99"));

    // A move onto its own row (the same feed) is no conflict.
    let p = moved(Some(7));
    assert_eq!(p.state.url, new_url);
}

#[test]
fn refreshes_run_one_at_a_time_and_skip_gone_feeds_unless_forced() {
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
    assert!(
        refresh_gate(Some(paused), false, false).is_ok(),
        "a paused feed's probe runs"
    );
    let gone = FeedState {
        status: FeedStatus::Gone,
        ..st.clone()
    };
    let skipped = refresh_gate(Some(gone.clone()), false, false).unwrap_err();
    assert_eq!(skipped.status, FeedStatus::Gone);
    assert!(
        refresh_gate(Some(gone), true, false).is_ok(),
        "by hand it runs"
    );
}

#[test]
fn alarms_retry_a_pending_publish_and_fetch_when_due() {
    let mut st = state();
    st.next_fetch_at = NOW + 10 * MIN;
    let a = on_alarm(&st, NOW);
    assert!(!a.retry_publish && !a.refresh && !a.follow_up);
    st.work_pending = true;
    let a = on_alarm(&st, NOW);
    assert!(
        a.follow_up && !a.refresh,
        "carried-over work before the fetch is due"
    );
    st.publish_pending = true;
    st.next_fetch_at = NOW + 500;
    let a = on_alarm(&st, NOW);
    assert!(a.retry_publish && a.refresh && !a.follow_up);
}

#[test]
fn the_watchdog_rearms_missing_or_stuck_alarms_and_renews_the_deadline() {
    let mut st = state();
    st.next_fetch_at = NOW + 10 * MIN;
    let fresh = |next: i64| Some(next + OVERDUE_GRACE_MS + OVERDUE_SLACK_MS);

    let w = watchdog(&mut st, Some(NOW + 10 * MIN), NOW);
    assert_eq!(w.rearm, None, "a healthy alarm is left alone");
    assert_eq!(w.overdue_at, fresh(NOW + 10 * MIN));

    let w = watchdog(&mut st, None, NOW);
    assert_eq!(
        w.rearm,
        Some(NOW + 10 * MIN),
        "a missing alarm is set again"
    );
    let w = watchdog(&mut st, Some(NOW - 5 * MIN), NOW);
    assert_eq!(w.rearm, Some(NOW + 10 * MIN), "a stuck alarm too");

    // The alarm, not a stale saved next fetch, says when the feed fetches next.
    st.next_fetch_at = NOW - 60 * MIN;
    let w = watchdog(&mut st, Some(NOW + 20 * MIN), NOW);
    assert_eq!(w.rearm, None);
    assert_eq!(w.overdue_at, fresh(NOW + 20 * MIN));

    st.status = FeedStatus::Gone;
    let w = watchdog(&mut st, None, NOW);
    assert_eq!((w.rearm, w.overdue_at), (None, None), "cron stops asking");
}

#[test]
fn an_unchanged_refresh_writes_nothing_but_its_alarm() {
    let items = [("a", "A", Some(1_799_000_100)), ("b", "B", None)];
    let mut seen = HashMap::new();
    let mut first = run(&state(), fetched(rss("Blog", &items)), &seen);
    assert!(first.feed_row.is_some() && first.state_changed());
    remember(&mut first, 1, &mut seen);
    first.state.published(true);
    let st = first.state;

    let not_modified = run(
        &st,
        FetchOutcome::NotModified {
            cache_max_age_s: None,
        },
        &seen,
    );
    assert_eq!(not_modified.report.outcome, RefreshOutcome::NotModified);
    assert!(not_modified.feed_row.is_none(), "no D1 write");
    assert!(!not_modified.state_changed(), "no storage write");
    assert!(not_modified.entries.is_empty());
    assert!(not_modified.report.next_fetch_at.is_some());

    let identical = run(&st, fetched(rss("Blog", &items)), &seen);
    assert_eq!(identical.report.outcome, RefreshOutcome::Ok);
    assert!(
        identical.feed_row.is_none(),
        "an identical 200 writes no D1 row"
    );
    assert!(!identical.state_changed(), "nor storage");
    assert!(identical.entries.is_empty() && identical.archived.is_empty());

    // A changed document with the same entries rewrites nothing either, unless the
    // feed's own title changed.
    let retitled = run(&st, fetched(rss("Blog, renamed", &items)), &seen);
    assert!(retitled.entries.is_empty());
    assert_eq!(
        retitled
            .feed_row
            .as_ref()
            .and_then(|r| r.meta.as_ref())
            .map(|m| m.title.as_str()),
        Some("Blog, renamed")
    );
}

#[test]
fn the_watchdog_deadline_moves_about_once_a_day() {
    let mut st = state();
    let mut row_writes = 0;
    let mut now = NOW;
    let mut fetches = 0;
    while now < NOW + 3 * 24 * 60 * MIN {
        fetches += 1;
        let p = plan(
            &st,
            FetchOutcome::NotModified {
                cache_max_age_s: None,
            },
            None,
            &HashMap::new(),
            now,
            &cfg(),
            Keep::default(),
        );
        if let Some(r) = &p.feed_row {
            row_writes += 1;
            let due = r.overdue_at.expect("scheduled feeds have a deadline");
            assert!(due >= p.state.next_fetch_at + OVERDUE_GRACE_MS);
        }
        now = p.state.next_fetch_at;
        st = p.state;
    }
    // Three days of 304s on the default schedule: the first write, then about one a day.
    assert!(fetches >= 3 * 20, "{fetches} fetches");
    assert!(
        (2..=4).contains(&row_writes),
        "{row_writes} row writes in {fetches} fetches"
    );
}

/// An RSS document of `n` entries of about 20 KB each (far more than one invocation's
/// sanitize budget), guids `g0..`, `g{n-1}` the newest; `tag` changes every body.
fn long_posts(n: i64, tag: &str) -> Vec<u8> {
    let body = format!("&lt;p&gt;{tag} ") + &"word ".repeat(4_000) + "&lt;/p&gt;";
    let mut xml = String::from("<rss version=\"2.0\"><channel><title>Long</title>");
    for i in 0..n {
        xml += &format!(
            "<item><guid>g{i}</guid><title>T{i}</title><pubDate>{}</pubDate><description>{body}</description></item>",
            chrono::DateTime::from_timestamp(1_799_000_000 + i * 60, 0).unwrap().to_rfc2822()
        );
    }
    xml += "</channel></rss>";
    xml.into_bytes()
}

/// The seen set after an invocation stored every entry of its plan.
fn seen_after(p: &Plan, seen: &mut HashMap<String, Seen>) {
    for w in &p.entries {
        let s = Seen {
            fingerprint: w.fingerprint.clone(),
            stored: true,
            pending: false,
        };
        seen.insert(w.entry.identity.clone(), s);
    }
    for c in &p.carried {
        seen.get_mut(&c.raw.identity).expect("stored").pending = true;
    }
}

#[test]
fn work_over_the_budget_is_stored_brief_at_once_and_completed_by_follow_ups() {
    let mut p = run(&state(), fetched(long_posts(30, "v1")), &HashMap::new());
    assert_eq!(p.entries.len(), 30, "every entry is stored at once");
    let whole: Vec<_> = p.entries.iter().filter(|w| w.entry.whole).collect();
    assert!(
        (1..30).contains(&whole.len()),
        "{} cleaned now",
        whole.len()
    );
    assert!(whole.iter().all(|w| w.entry.content_html.len() > 10_000));
    let briefs: Vec<_> = p.entries.iter().filter(|w| !w.entry.whole).collect();
    assert!(briefs
        .iter()
        .all(|w| !w.known && w.entry.content_html.len() < 2_000 && w.entry.title.starts_with('T')));
    assert_eq!(p.carried.len(), briefs.len(), "each brief is carried whole");
    assert!(p.carried.iter().all(|c| c.known), "completed as updates");
    assert_eq!(p.report.carried_entries as usize, p.carried.len());
    assert!(p.state.work_pending);
    let oldest_whole = whole.iter().map(|w| w.published).min();
    assert!(
        briefs.iter().all(|b| Some(b.published) < oldest_whole),
        "the newest are cleaned first"
    );
    let brief_count = briefs.len();
    p.settle(&[]);
    p.state.published(true);
    assert_eq!(p.state.next_wake(NOW), Wake::At(NOW + FOLLOW_UP_MS));

    // Follow-ups complete the waiting entries newest first until none is left; each
    // completion is an update of the stored brief, published as such.
    let mut waiting: Vec<_> = p.carried.clone();
    waiting.sort_by_key(|w| std::cmp::Reverse(w.raw.published_at));
    let mut st = p.state.clone();
    let mut completed = 0;
    let mut rounds = 0;
    while !waiting.is_empty() {
        rounds += 1;
        let mut f = follow_up(&st, waiting.clone(), false, NOW);
        assert!(!f.entries.is_empty(), "every follow-up makes progress");
        assert!(f.entries.iter().all(|w| w.known && w.entry.whole));
        assert_eq!(f.finished.len(), f.entries.len());
        assert!(f
            .feed_row
            .as_ref()
            .is_some_and(|r| r.changed && r.inserted == 0));
        let rows: Vec<_> = (0..f.entries.len() as i64)
            .map(|i| {
                Some(StoredEntry {
                    id: 100 + i,
                    first_seen: NOW - MIN,
                    rev: Some(rounds * 100 + i),
                })
            })
            .collect();
        let settled = f.settle(&rows);
        assert_eq!(
            settled.updated.len(),
            f.entries.len(),
            "published as updates"
        );
        assert!(settled.new_entries.is_empty());
        assert!(f.state.publish_pending && f.state.revised_upto >= rounds * 100);
        completed += f.entries.len();
        waiting.retain(|w| !f.finished.contains(&w.raw.identity));
        assert_eq!(f.state.work_pending, !waiting.is_empty());
        st = f.state;
        st.published(true);
    }
    assert_eq!(completed, brief_count);
    assert!(rounds >= 2, "{rounds}");
    assert_eq!(st.next_wake(NOW), Wake::At(st.next_fetch_at));
    let idle = follow_up(&st, Vec::new(), false, NOW);
    assert!(idle.entries.is_empty() && idle.feed_row.is_none());
}

#[test]
fn a_stored_entry_is_never_replaced_by_a_lesser_version() {
    // Every entry stored whole; then the site touches every item at once.
    let first = run(&state(), fetched(long_posts(30, "v1")), &HashMap::new());
    let mut seen = HashMap::new();
    seen_after(&first, &mut seen);
    for s in seen.values_mut() {
        s.pending = false;
    }
    let mut st = first.state.clone();
    st.work_pending = false;
    let p = run(&st, fetched(long_posts(30, "v2")), &seen);
    assert!(!p.entries.is_empty());
    assert!(
        p.entries.iter().all(|w| w.known && w.entry.whole),
        "only whole new versions are written over stored entries"
    );
    assert_eq!(p.entries.len() + p.carried.len(), 30, "the rest wait, raw");
    assert!(p.carried.iter().all(|c| c.known));
    assert!(p.state.work_pending);
}

#[test]
fn every_new_entry_between_two_fetches_is_stored_up_to_what_retention_keeps() {
    let items = |from: usize, to: usize| -> Vec<(String, Option<i64>)> {
        (from..to)
            .map(|i| (format!("n{i}"), Some(1_799_000_000 + i as i64 * 60)))
            .collect()
    };
    let doc = |v: &[(String, Option<i64>)]| {
        let refs: Vec<(&str, &str, Option<i64>)> =
            v.iter().map(|(g, t)| (g.as_str(), "T", *t)).collect();
        fetched(rss("Busy", &refs))
    };
    let keep = |max_new| Keep {
        since: None,
        max_new,
    };
    // A first fetch keeps the newest 50 and remembers the rest.
    let old = items(0, 70);
    let first = plan(
        &state(),
        doc(&old),
        None,
        &HashMap::new(),
        NOW,
        &cfg(),
        keep(0),
    );
    assert_eq!(first.entries.len(), FIRST_FETCH_MAX_ENTRIES);
    assert_eq!(first.archived.len(), 20);
    assert_eq!(first.state.seen_rows, 70);
    let mut seen = HashMap::new();
    seen_after(&first, &mut seen);
    for m in &first.archived {
        let s = Seen {
            fingerprint: m.fingerprint.clone(),
            stored: false,
            pending: false,
        };
        seen.insert(m.identity.clone(), s);
    }
    // 120 new ones between two fetches: all stored (unlimited retention)...
    let busy = [items(0, 70), items(70, 190)].concat();
    let p = plan(&first.state, doc(&busy), None, &seen, NOW, &cfg(), keep(0));
    let ids: Vec<&str> = p
        .entries
        .iter()
        .map(|w| w.entry.identity.as_str())
        .collect();
    assert_eq!(ids.len(), 120, "every new entry is stored");
    assert!(ids.iter().all(|i| i[1..].parse::<usize>().unwrap() >= 70));
    assert!(p.archived.is_empty());
    assert_eq!(p.state.seen_rows, 190);
    // ...or the newest 100 when retention keeps 100 per feed (the rest would be pruned at once).
    let p = plan(
        &first.state,
        doc(&busy),
        None,
        &seen,
        NOW,
        &cfg(),
        keep(100),
    );
    assert_eq!(p.entries.len(), 100);
    assert_eq!(p.archived.len(), 20);
    assert_eq!(p.state.seen_rows, 190);
}

#[test]
fn the_seen_table_is_pruned_of_the_oldest_but_never_of_what_the_document_lists() {
    let mut st = state();
    st.body_digest = Some("earlier".into());
    st.seen_rows = ingest::SEEN_PRUNE_ABOVE - 1;
    let items: Vec<(String, Option<i64>)> = (0..3)
        .map(|i| (format!("x{i}"), Some(1_799_000_000 + i * 60)))
        .collect();
    let refs: Vec<(&str, &str, Option<i64>)> =
        items.iter().map(|(g, t)| (g.as_str(), "T", *t)).collect();
    let p = run(&st, fetched(rss("Churn", &refs)), &HashMap::new());
    let prune = p.prune.expect("past the limit: prune");
    assert_eq!(p.state.seen_rows, ingest::SEEN_PRUNE_ABOVE + 2);
    assert_eq!(prune.excess, p.state.seen_rows - ingest::SEEN_KEEP);
    // The oldest rows include an identity the document still lists: it stays.
    let oldest: Vec<String> = ["x1", "old1", "old2"].map(String::from).to_vec();
    let small = ingest::SeenPrune {
        excess: 2,
        keep: prune.keep.clone(),
    };
    assert_eq!(small.choose(&oldest), ["old1", "old2"]);
    assert!(ingest::SEEN_KEEP as usize >= 2 * MAX_ITEMS_PER_DOCUMENT);
    let quiet = run(&state(), fetched(rss("Quiet", &refs)), &HashMap::new());
    assert!(quiet.prune.is_none());
}

#[test]
fn an_entry_waiting_in_storage_is_not_queued_twice_and_a_newer_version_replaces_it() {
    let items = [("a", "A", Some(1_799_000_100))];
    let p = run(&state(), fetched(rss("Blog", &items)), &HashMap::new());
    let fp = p.entries[0].fingerprint.clone();
    let mut seen = HashMap::new();
    seen.insert(
        "a".to_string(),
        Seen {
            fingerprint: fp,
            stored: false,
            pending: true,
        },
    );
    let mut st = state();
    st.work_pending = true;
    let same = run(&st, fetched(rss("Blog", &items)), &seen);
    assert!(same.entries.is_empty() && same.carried.is_empty());

    let edited = [("a", "A, edited", Some(1_799_000_100))];
    let p = run(&st, fetched(rss("Blog", &edited)), &seen);
    assert_eq!(identities(&p), ["a"]);
    assert_eq!(p.finished, ["a"], "the waiting version is done with");
    assert!(!p.entries[0].known, "never stored: an insert");
}

#[test]
fn a_document_is_read_up_to_the_item_cap() {
    let guids: Vec<String> = (0..MAX_ITEMS_PER_DOCUMENT + 10)
        .map(|i| format!("g{i}"))
        .collect();
    let items: Vec<(&str, &str, Option<i64>)> =
        guids.iter().map(|g| (g.as_str(), "T", None)).collect();
    let doc = orrery::core::feed::parse(&rss("Huge", &items), URL).unwrap();
    assert_eq!(
        doc.entries.len(),
        MAX_ITEMS_PER_DOCUMENT,
        "the parser stops there"
    );
    assert_eq!(doc.entries.last().unwrap().identity, "g1999");
    // JSON Feed too.
    let json_items: Vec<String> = guids
        .iter()
        .map(|g| format!(r#"{{"id":"{g}","content_text":"x"}}"#))
        .collect();
    let json = format!(
        r#"{{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{}]}}"#,
        json_items.join(",")
    );
    let doc = orrery::core::feed::parse(json.as_bytes(), URL).unwrap();
    assert_eq!(doc.entries.len(), MAX_ITEMS_PER_DOCUMENT);
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

#[test]
fn an_edited_entry_that_retention_pruned_stays_gone() {
    let items = [("a", "A", Some(1_799_000_100))];
    let mut seen = HashMap::new();
    let mut first = run(&state(), fetched(rss("Blog", &items)), &seen);
    remember(&mut first, 1, &mut seen);
    let edited = [("a", "A, edited", Some(1_799_000_100))];
    let mut p = run(&first.state, fetched(rss("Blog", &edited)), &seen);
    assert!(p.entries[0].known, "an update, never an insert");
    // D1 no longer has it: the UPDATE returns no row.
    let settled = p.settle(&[None]);
    assert!(settled.new_entries.is_empty());
    assert_eq!(settled.seen.len(), 1);
    assert_eq!(settled.seen[0].entry_id, None, "remembered as archived");
    assert_eq!(p.report.updated_entries, 0);
}

#[test]
fn a_refresh_the_platform_refuses_is_held_and_retried_after_midnight_for_a_daily_limit() {
    use orrery::core::ingest::{held, PlatformTrouble};
    const DAY: i64 = 24 * 60 * MIN;
    let limit = PlatformTrouble::of("D1_ERROR: Exceeded the daily rows written limit");
    assert_eq!(limit, PlatformTrouble::DailyLimit);
    assert_eq!(
        PlatformTrouble::of("network connection lost"),
        PlatformTrouble::Transient
    );
    let mut st = state();
    st.failures = 1;
    let (report, at) = held(&st, limit, NOW);
    assert_eq!(
        report.outcome,
        RefreshOutcome::RetryLater,
        "not a failure of the feed"
    );
    assert_eq!(report.status, FeedStatus::Active);
    assert!(report.error.unwrap().contains("daily limit"));
    let midnight = (NOW / DAY + 1) * DAY;
    assert!(
        (midnight..midnight + 20 * MIN).contains(&at),
        "just after 00:00 UTC"
    );
    // Feeds spread their retries over a quarter of an hour.
    let other = FeedState::new(8, URL);
    assert_ne!(held(&other, limit, NOW).1, at);
    let (_, soon) = held(&st, PlatformTrouble::Transient, NOW);
    assert_eq!(soon, NOW + 15 * MIN);
}

#[test]
fn entries_older_than_the_retention_are_remembered_not_stored() {
    let day = 24 * 60 * MIN;
    let items = [
        ("recent", "R", Some(NOW / 1000 - 3600)),
        ("old", "O", Some((NOW - 400 * day) / 1000)),
        ("undated", "U", None),
    ];
    let keep_since = Some(NOW - 365 * day);
    let p = plan(
        &state(),
        fetched(rss("Blog", &items)),
        None,
        &HashMap::new(),
        NOW,
        &cfg(),
        Keep {
            since: keep_since,
            max_new: 0,
        },
    );
    let mut stored = identities(&p);
    stored.sort_unstable();
    assert_eq!(stored, ["recent", "undated"]);
    assert_eq!(p.archived.len(), 1);
    assert_eq!(p.archived[0].identity, "old");
}

#[test]
fn a_document_that_killed_its_invocation_is_failed_with_a_reason_not_read_again() {
    use orrery::core::ingest::{parse_mark, PARSE_MARK_MIN_BYTES};
    // A big document (a small one parses in about a millisecond and is read unmarked).
    let mut body = rss("Blog", &[("a", "A", None)]);
    body.extend(format!("<!--{}-->", "x".repeat(PARSE_MARK_MIN_BYTES)).into_bytes());
    let st = state();
    assert!(
        parse_mark(&st, &fetched(rss("Small", &[("s", "S", None)]))).is_none(),
        "a small document costs no mark"
    );
    // Before parsing, the object saves which document it is reading.
    let marked = parse_mark(&st, &fetched(body.clone())).expect("a new document is marked");
    assert!(marked.parsing.is_some());
    // Say the invocation died there (a deploy, an eviction, or the document): the next one
    // reads it once more, marked again...
    let retry = run(&marked, fetched(body.clone()), &HashMap::new());
    assert_eq!(
        retry.report.outcome,
        RefreshOutcome::Ok,
        "one death is not the document's"
    );
    assert_eq!(
        (retry.state.parsing.clone(), retry.state.parse_attempts),
        (None, 0)
    );
    let marked = parse_mark(&marked, &fetched(body.clone())).unwrap();
    assert_eq!(marked.parse_attempts, 2);
    // ...and if that one dies too, the next fails the document without reading it.
    let p = run(&marked, fetched(body.clone()), &HashMap::new());
    assert_eq!(p.report.outcome, RefreshOutcome::Failed);
    assert!(p
        .report
        .error
        .as_deref()
        .unwrap_or("")
        .contains("did not finish"));
    assert!(p.entries.is_empty(), "not parsed again");
    assert_eq!(p.state.failures, 1, "counted as a failure");
    assert!(row(&p).last_error.is_some(), "with its reason shown");
    let again = run(&p.state, fetched(body.clone()), &HashMap::new());
    assert_eq!(
        again.state.failures, 2,
        "the same document keeps failing fast"
    );
    // A changed document is read again, and the mark is gone.
    let fixed = run(
        &again.state,
        fetched(rss("Blog", &[("b", "B", None)])),
        &HashMap::new(),
    );
    assert_eq!(fixed.report.outcome, RefreshOutcome::Ok);
    assert_eq!(fixed.state.parsing, None);
    assert_eq!(fixed.state.failures, 0);
    // An identical body (already read) or a 304 needs no mark.
    assert!(parse_mark(&fixed.state, &fetched(rss("Blog", &[("b", "B", None)]))).is_none());
    assert!(parse_mark(
        &fixed.state,
        &FetchOutcome::NotModified {
            cache_max_age_s: None
        }
    )
    .is_none());
}

#[test]
fn a_carried_entry_keeps_only_what_cleaning_reads_and_cleans_the_same() {
    let huge = "&lt;p&gt;".to_string() + &"word ".repeat(600_000) + "&lt;/p&gt;";
    let xml = format!(
        "<rss version=\"2.0\"><channel><title>Huge</title>\
         <item><guid>small</guid><link>https://h.example/s</link><pubDate>Sat, 02 Jan 2027 00:00:00 GMT</pubDate><description>hi</description></item>\
         <item><guid>huge</guid><link>https://h.example/h</link><pubDate>Fri, 01 Jan 2027 00:00:00 GMT</pubDate><description>{huge}</description></item>\
         </channel></rss>"
    );
    let doc = orrery::core::feed::parse(xml.as_bytes(), URL).unwrap();
    let original = doc.entries.iter().find(|e| e.identity == "huge").unwrap();
    let p = run(&state(), fetched(xml.clone().into_bytes()), &HashMap::new());
    let carried = p
        .carried
        .iter()
        .find(|c| c.raw.identity == "huge")
        .expect("carried");
    let row = serde_json::to_string(carried).unwrap();
    assert!(
        row.len() < 1_000_000,
        "a pending row fits DO SQLite ({} bytes)",
        row.len()
    );
    let back: ingest::PendingEntry = serde_json::from_str(&row).unwrap();
    let (later, now) = (back.raw.clean(NOW), original.clean(NOW));
    assert_eq!(later.content_html, now.content_html, "cleaned the same");
    assert!(later.truncated && later.content_html.contains("Continued at the source"));
    assert_eq!(later.summary, now.summary);
}

// --- People: held by hand, names and faces on live entries, filters ---

fn held(mut st: FeedState) -> FeedState {
    let (st2, changed) = ingest::change(Some(st.clone()), ingest::Change::Hold, false, NOW);
    let changed = changed.expect("held");
    assert!(changed.status_changed);
    assert_eq!(changed.status, FeedStatus::Held);
    assert_eq!((changed.next_fetch_at, changed.overdue_at), (None, None));
    st = st2.expect("a state to save");
    st
}

#[test]
fn a_feed_held_by_hand_never_fetches_until_resumed() {
    let mut st = state();
    st.next_fetch_at = NOW - MIN;
    st.status = FeedStatus::Paused; // held over a failure pause too
    st.failures = PAUSED_AFTER;
    let st = held(st);
    assert_eq!(st.next_wake(NOW), Wake::Never, "no alarm");
    assert!(
        !on_alarm(&st, NOW).refresh,
        "an alarm left over does not fetch"
    );
    let mut w = st.clone();
    let watch = watchdog(&mut w, None, NOW);
    assert_eq!(
        (watch.rearm, watch.overdue_at),
        (None, None),
        "cron's watchdog leaves it be"
    );
    for forced in [false, true] {
        let r = refresh_gate(Some(st.clone()), forced, false).unwrap_err();
        assert_eq!(r.outcome, RefreshOutcome::Skipped, "forced: {forced}");
        assert_eq!(r.status, FeedStatus::Held);
        assert!(
            r.error.as_deref().unwrap().contains("paused by hand"),
            "{r:?}"
        );
    }
    // Resumed: active, failures forgotten, fetched at once.
    let (st, changed) = ingest::change(Some(st), ingest::Change::Resume, false, NOW);
    let (st, changed) = (st.unwrap(), changed.unwrap());
    assert_eq!((st.status, st.failures), (FeedStatus::Active, 0));
    assert!(changed.status_changed);
    assert_eq!(changed.next_fetch_at, Some(NOW));
    assert!(changed.overdue_at.unwrap() > NOW);
    assert_eq!(st.next_wake(NOW), Wake::At(NOW));
    assert!(refresh_gate(Some(st), true, false).is_ok());
}

#[test]
fn hold_and_resume_are_refused_while_a_refresh_runs_and_describe_an_unadopted_feed() {
    let (st, r) = ingest::change(Some(state()), ingest::Change::Hold, true, NOW);
    assert!(
        st.is_none() && r.is_err(),
        "busy: nothing saved, a reason given"
    );
    // An imported feed whose object has no state yet: D1 alone says what it is.
    let (st, r) = ingest::change(None, ingest::Change::Hold, false, NOW);
    assert!(st.is_none());
    assert_eq!(r.unwrap().status, FeedStatus::Held);
    let r = ingest::change(None, ingest::Change::Resume, false, NOW)
        .1
        .unwrap();
    assert_eq!(
        (r.status, r.overdue_at),
        (FeedStatus::Active, Some(NOW)),
        "due at once: cron adopts it"
    );
    // Resuming a feed that is not held changes nothing.
    let (st, r) = ingest::change(Some(state()), ingest::Change::Resume, false, NOW);
    assert!(!r.unwrap().status_changed);
    assert_eq!(st.unwrap(), state());
}

#[test]
fn the_held_status_has_its_own_wire_name() {
    assert_eq!(FeedStatus::Held.as_str(), "held");
    assert_eq!(
        serde_json::to_string(&FeedStatus::Held).unwrap(),
        "\"held\""
    );
    assert_ne!(FeedStatus::Held, FeedStatus::Paused);
    assert!(!FeedStatus::Held.is_scheduled());
}

fn with_settings(settings: ingest::FeedSettings) -> FeedState {
    let mut st = state();
    st.settings = settings;
    st
}

#[test]
fn live_entries_carry_the_members_name_and_face() {
    let st = with_settings(ingest::FeedSettings {
        display_name: Some("Ann Lee".into()),
        face_url: Some("https://faces.example/ann.png".into()),
        ..Default::default()
    });
    let mut p = run(
        &st,
        fetched(rss("Ann's blog", &[("a", "A", Some(1_799_000_000))])),
        &HashMap::new(),
    );
    let settled = p.settle(&[Some(StoredEntry {
        id: 1,
        first_seen: NOW,
        rev: None,
    })]);
    assert_eq!(settled.new_entries[0].feed_title, "Ann Lee");
    assert_eq!(
        settled.new_entries[0].feed_face.as_deref(),
        Some("https://faces.example/ann.png")
    );
    // Without a name: the document's title, and no face.
    let mut p = run(
        &state(),
        fetched(rss("Ann's blog", &[("a", "A", Some(1_799_000_000))])),
        &HashMap::new(),
    );
    let settled = p.settle(&[Some(StoredEntry {
        id: 1,
        first_seen: NOW,
        rev: None,
    })]);
    assert_eq!(settled.new_entries[0].feed_title, "Ann's blog");
    assert_eq!(settled.new_entries[0].feed_face, None);
}

fn tagged(items: &[(&str, &str, &[&str], &str)]) -> Vec<u8> {
    let mut s = String::from("<rss version=\"2.0\"><channel><title>T</title>");
    for (i, (guid, title, cats, body)) in items.iter().enumerate() {
        let when = chrono::DateTime::from_timestamp(1_799_000_000 + i as i64, 0)
            .unwrap()
            .to_rfc2822();
        s += &format!("<item><guid>{guid}</guid><title>{title}</title><pubDate>{when}</pubDate>");
        for c in *cats {
            s += &format!("<category>{c}</category>");
        }
        s += &format!("<description>{body}</description></item>");
    }
    (s + "</channel></rss>").into_bytes()
}

fn filtered(filter: domain::FeedFilter) -> FeedState {
    with_settings(ingest::FeedSettings {
        filter,
        ..Default::default()
    })
}

#[test]
fn a_category_filter_keeps_only_entries_in_those_categories_and_archives_the_rest() {
    let st = filtered(domain::FeedFilter {
        categories: vec!["rust".into()],
        ..Default::default()
    });
    let body = tagged(&[
        ("a", "On Rust", &["Rust", "Programming"], "x"),
        (
            "b",
            "On cats",
            &["Cats"],
            "rust in the body, but not the category",
        ),
        ("c", "Untagged", &[], "y"),
    ]);
    let mut p = run(&st, fetched(body.clone()), &HashMap::new());
    assert_eq!(identities(&p), ["a"], "categories match in any case");
    let archived: Vec<&str> = p.archived.iter().map(|m| m.identity.as_str()).collect();
    assert_eq!(archived, ["c", "b"], "left out: remembered, never stored");
    let mut seen = HashMap::new();
    remember(&mut p, 1, &mut seen);
    // An entry left out stays out, even if it changes.
    let again = tagged(&[
        ("a", "On Rust", &["Rust", "Programming"], "x"),
        ("b", "On cats, edited", &["Cats"], "z"),
        ("c", "Untagged", &[], "y"),
    ]);
    let mut st2 = st.clone();
    st2.body_digest = Some("older".into());
    let p = run(&st2, fetched(again), &seen);
    assert!(p.entries.is_empty(), "{:?}", identities(&p));
}

#[test]
fn a_word_filter_matches_whole_words_of_title_summary_or_body() {
    let st = filtered(domain::FeedFilter {
        words: vec!["wasm".into(), "Durable Objects".into()],
        ..Default::default()
    });
    let body = tagged(&[
        ("a", "Shipping WASM today", &[], "x"),
        (
            "b",
            "Notes",
            &[],
            "&lt;p&gt;Using &lt;b&gt;durable   objects&lt;/b&gt;&lt;/p&gt;",
        ),
        ("c", "Wasmtime internals", &[], "not the word"),
        ("d", "Holiday", &[], "nothing here"),
    ]);
    let p = run(&st, fetched(body), &HashMap::new());
    let mut kept = identities(&p);
    kept.sort();
    assert_eq!(kept, ["a", "b"]);
    // Categories or words: either keeps an entry.
    let st = filtered(domain::FeedFilter {
        categories: vec!["travel".into()],
        words: vec!["wasm".into()],
        ..Default::default()
    });
    let body = tagged(&[
        ("a", "wasm", &[], "x"),
        ("d", "Holiday", &["Travel"], "y"),
        ("e", "x", &[], "y"),
    ]);
    let p = run(&st, fetched(body), &HashMap::new());
    let mut kept = identities(&p);
    kept.sort();
    assert_eq!(kept, ["a", "d"]);
}

#[test]
fn excerpt_only_stores_the_summary_whole_and_carries_nothing() {
    let st = filtered(domain::FeedFilter {
        excerpt_only: true,
        ..Default::default()
    });
    let p = run(&st, fetched(long_posts(12, "x")), &HashMap::new());
    assert!(p.carried.is_empty(), "nothing waits to be cleaned");
    assert_eq!(p.entries.len(), 12);
    for w in &p.entries {
        assert!(w.entry.whole, "the excerpt is all there is");
        assert!(
            w.entry.content_html.len() < 2_000,
            "only the summary: {}",
            w.entry.content_html.len()
        );
        assert!(!w.entry.summary.is_empty());
    }
}

#[test]
fn categories_are_read_from_rss_atom_and_json_feed() {
    use orrery::core::feed::parse;
    let rss = br#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>
        <item><guid>1</guid><category domain="x">Rust &amp; Wasm</category><category>rust &amp; wasm</category><category>  News </category><dc:subject>Tech</dc:subject></item></channel></rss>"#;
    let doc = parse(rss, URL).unwrap();
    assert_eq!(
        doc.entries[0].categories,
        ["Rust & Wasm", "rust & wasm", "News", "Tech"]
    );
    let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>1</id><title>x</title>
        <category term="rust" label="Rust"/><category term="a&amp;b"/></entry></feed>"#;
    assert_eq!(
        parse(atom, URL).unwrap().entries[0].categories,
        ["rust", "a&b"]
    );
    let json = br#"{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1","content_text":"x","tags":["one","two",3]}]}"#;
    assert_eq!(
        parse(json, URL).unwrap().entries[0].categories,
        ["one", "two"]
    );
}

/// A document naming a hub (Atom `link rel="hub"` inside RSS, as WordPress writes it).
fn rss_with_hub(items: &[(&str, &str, Option<i64>)]) -> Vec<u8> {
    let doc = String::from_utf8(rss("Hubbed", items)).unwrap();
    doc.replace(
        "<rss version=\"2.0\"><channel>",
        "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>\
         <atom:link rel=\"hub\" href=\"https://hub.example/\"/>\
         <atom:link rel=\"self\" type=\"application/rss+xml\" href=\"https://blog.example/feed/\"/>",
    )
    .into_bytes()
}

fn live_subscription(now: i64, lease_ms: i64) -> subscriber::HubSubscription {
    let ad = subscriber::Advertised {
        hub: "https://hub.example/".into(),
        topic: URL.into(),
    };
    let mut sub =
        subscriber::HubSubscription::new(ad, "tok".into(), "s".into(), subscriber::MIN_RENEW_MS);
    sub.requested(now - 1000, None);
    let intent = subscriber::HubIntent {
        mode: "subscribe".into(),
        topic: URL.into(),
        challenge: "c".into(),
        lease_seconds: Some(lease_ms / 1000),
        reason: None,
    };
    subscriber::on_intent(Some(&mut sub), None, "tok", &intent, now);
    sub
}

#[test]
fn a_parsed_document_hands_its_hub_and_self_links_to_discovery_and_a_304_does_not() {
    let p = run(
        &state(),
        fetched(rss_with_hub(&[("a", "A", Some(1))])),
        &HashMap::new(),
    );
    let links = p.doc_links.expect("parsed");
    assert_eq!(links.hub.as_deref(), Some("https://hub.example/"));
    assert_eq!(
        links.self_url.as_deref(),
        Some("https://blog.example/feed/")
    );
    let same = run(
        &p.state,
        fetched(rss_with_hub(&[("a", "A", Some(1))])),
        &HashMap::new(),
    );
    assert!(
        same.doc_links.is_none(),
        "an identical body is not parsed again"
    );
    let nm = FetchOutcome::NotModified {
        cache_max_age_s: None,
    };
    assert!(run(&state(), nm, &HashMap::new()).doc_links.is_none());
}

#[test]
fn a_pushed_feed_is_polled_only_as_a_safety_net_and_wakes_to_renew_its_lease() {
    let recent = NOW / 1000 - 600;
    let doc = || {
        fetched(rss(
            "R",
            &[("a", "A", Some(recent)), ("b", "B", Some(recent - 600))],
        ))
    };
    let polled = run(&state(), doc(), &HashMap::new());
    assert!(polled.state.next_fetch_at - NOW < subscriber::SAFETY_POLL_MS);

    let mut st = state();
    st.websub = Some(live_subscription(NOW - 1000, 10 * 24 * 3600 * 1000));
    let pushed = run(&st, doc(), &HashMap::new());
    assert!(pushed.state.next_fetch_at >= NOW + subscriber::SAFETY_POLL_MS);
    // Never slower than the planet's longest interval.
    let slow_cap = ScheduleConfig {
        max_interval_ms: 2 * 3600 * 1000,
        ..cfg()
    };
    let capped = plan(
        &st,
        doc(),
        None,
        &HashMap::new(),
        NOW,
        &slow_cap,
        Keep::default(),
    );
    assert!(capped.state.next_fetch_at <= NOW + 2 * 3600 * 1000);

    // The alarm comes back for the renewal when it is due before the next fetch.
    let mut st = state();
    st.next_fetch_at = NOW + 30 * 24 * 3600 * 1000;
    st.websub = Some(live_subscription(NOW, 10 * 24 * 3600 * 1000));
    let renew_at = NOW + 9 * 24 * 3600 * 1000;
    assert_eq!(st.next_wake(NOW), Wake::At(renew_at));
    assert!(!on_alarm(&st, renew_at - 5 * MIN).websub);
    assert!(on_alarm(&st, renew_at).websub);
    // Held by hand: no renewals; the lease lapses.
    st.status = FeedStatus::Held;
    assert_eq!(st.next_wake(NOW), Wake::Never);
    assert!(!on_alarm(&st, renew_at).websub);
}

// --- Carried work across refreshes: the shell modelled over the core, interleavings ---

use crate::support::rng;

use orrery::core::feed::FULL_CONTENT_BUDGET_BYTES;
use orrery::core::ingest::{follow_up_take, PendingEntry, ALARM_SLACK_MS, PENDING_PEEK};
use std::convert::Infallible;

/// A feed server whose posts are `(guid number, version)`, each about `size` bytes of
/// body, one a minute; `etag` follows the body, so a conditional fetch of an unchanged
/// document is a 304 when the server honours it.
struct Server {
    posts: Vec<(usize, usize)>,
    size: usize,
    conditional: bool,
    /// The document as last rendered, and the posts it rendered.
    rendered: std::cell::RefCell<Rendered>,
}

/// Posts `(guid number, version)` and the document they made.
type Rendered = (Vec<(usize, usize)>, Vec<u8>);

impl Server {
    fn new(posts: usize, size: usize, conditional: bool) -> Self {
        Server {
            posts: (0..posts).map(|i| (i, 0)).collect(),
            size,
            conditional,
            rendered: Default::default(),
        }
    }

    fn body(&self) -> Vec<u8> {
        let mut r = self.rendered.borrow_mut();
        if r.0 != self.posts || r.1.is_empty() {
            *r = (self.posts.clone(), self.render());
        }
        r.1.clone()
    }

    fn render(&self) -> Vec<u8> {
        let mut xml = String::from("<rss version=\"2.0\"><channel><title>Carried</title>");
        for &(i, v) in &self.posts {
            let words: String = (0..self.size / 8)
                .map(|k| format!("w{i:03}x{:02} ", k % 97))
                .collect();
            xml += &format!(
                "<item><guid>c{i}</guid><title>Post {i}</title><pubDate>{}</pubDate>\
                 <description>&lt;p&gt;v{v} {words}deep{i}end&lt;/p&gt;</description></item>",
                chrono::DateTime::from_timestamp(1_799_000_000 + i as i64 * 60, 0)
                    .unwrap()
                    .to_rfc2822()
            );
        }
        (xml + "</channel></rss>").into_bytes()
    }

    /// The least raw body any post has (what the sanitizing budget counts).
    fn least_body(&self) -> usize {
        let doc = orrery::core::feed::parse(&self.body(), URL).unwrap();
        doc.entries.iter().map(|e| e.content_len()).min().unwrap()
    }

    fn etag(&self) -> String {
        let v: usize = self.posts.iter().map(|p| p.0 * 1_000 + p.1).sum();
        format!("\"{}-{v}\"", self.posts.len())
    }

    /// What a fetch with this state's validators gets: a 304 when the server honours
    /// them and nothing changed, else the body (identical or not).
    fn fetch(&self, st: &FeedState) -> FetchOutcome {
        if self.conditional && st.etag.as_deref() == Some(self.etag().as_str()) {
            return FetchOutcome::NotModified {
                cache_max_age_s: None,
            };
        }
        FetchOutcome::Fetched {
            body: self.body(),
            final_url: URL.into(),
            etag: Some(self.etag()),
            last_modified: None,
            cache_max_age_s: None,
        }
    }

    /// A new post, the newest.
    fn publish(&mut self) {
        let next = self.posts.iter().map(|p| p.0).max().map_or(0, |m| m + 1);
        self.posts.push((next, 0));
    }

    /// An edit of the `k`-th newest post.
    fn edit(&mut self, k: usize) {
        let n = self.posts.len();
        self.posts[n - 1 - k % n].1 += 1;
    }
}

/// One D1 entry row, as far as this test needs it.
struct Row {
    id: i64,
    first_seen: i64,
    whole: bool,
    fingerprint: String,
}

/// `FeedObject` + `feed_storage` over the pure core, statement for statement: the state
/// key (saved only when the plan says it changed), the alarm, the seen and pending
/// tables, and D1's entries (update, or upsert that never makes a whole entry lesser).
struct Shell {
    cfg: ScheduleConfig,
    saved: Option<FeedState>,
    alarm: Option<i64>,
    seen: HashMap<String, Seen>,
    pending: HashMap<String, PendingEntry>,
    d1: HashMap<String, Row>,
    next_id: i64,
    next_rev: i64,
    fetches: usize,
    /// Most entries one invocation completed or stored whole.
    most_whole: usize,
}

impl Shell {
    fn new(cfg: ScheduleConfig) -> Self {
        Shell {
            cfg,
            saved: None,
            alarm: None,
            seen: HashMap::new(),
            pending: HashMap::new(),
            d1: HashMap::new(),
            next_id: 1,
            next_rev: 0,
            fetches: 0,
            most_whole: 0,
        }
    }

    /// `SeenTable`: seen rows, with waiting versions over them while work is pending.
    fn seen_view(&self, with_pending: bool) -> HashMap<String, Seen> {
        let mut out = self.seen.clone();
        if with_pending {
            for (id, p) in &self.pending {
                let stored = out.get(id).is_some_and(|s| s.stored);
                let s = Seen {
                    fingerprint: p.raw.fingerprint.clone(),
                    stored,
                    pending: true,
                };
                out.insert(id.clone(), s);
            }
        }
        out
    }

    /// `FeedCall::Init`: a new feed, fetched at once.
    fn init(&mut self, server: &Server, now: i64) {
        let st = state();
        self.saved = Some(st.clone());
        self.refresh(st, server, now);
    }

    /// `FeedCall::Refresh` (an admin's "Retry now") or a WebSub thin ping: loads, fetches.
    fn refresh_by_hand(&mut self, server: &Server, now: i64) {
        let st = self.saved.clone().expect("initialised");
        let st = refresh_gate(Some(st), true, false).expect("runs");
        self.refresh(st, server, now);
    }

    fn refresh(&mut self, st: FeedState, server: &Server, now: i64) {
        self.fetches += 1;
        let fetched = server.fetch(&st);
        let seen = self.seen_view(st.work_pending);
        if let Some(marked) = ingest::parse_mark(&st, &fetched) {
            self.saved = Some(marked);
        }
        let mut p = plan(&st, fetched, None, &seen, now, &self.cfg, Keep::default());
        p = p
            .with_carried(|| Ok::<_, Infallible>(self.waiting()))
            .unwrap();
        self.apply(p, now);
    }

    /// `ingest::follow_up` over `storage::pending`.
    fn follow_up(&mut self, st: FeedState, now: i64) {
        let (loaded, more) = self.waiting();
        let p = follow_up(&st, loaded, more, now);
        self.apply(p, now);
    }

    /// `storage::pending`: the newest waiting entries one invocation may clean, and
    /// whether more wait.
    fn waiting(&self) -> (Vec<PendingEntry>, bool) {
        let mut waiting: Vec<&PendingEntry> = self.pending.values().collect();
        waiting.sort_by(|a, b| {
            (b.raw.published_at, &b.raw.identity).cmp(&(a.raw.published_at, &a.raw.identity))
        });
        waiting.truncate(PENDING_PEEK + 1);
        let lens: Vec<usize> = waiting
            .iter()
            .take(PENDING_PEEK)
            .map(|p| p.raw.content_len())
            .collect();
        let take = follow_up_take(&lens);
        if take == 0 {
            return (Vec::new(), false);
        }
        let loaded = waiting[..take].iter().map(|p| (*p).clone()).collect();
        (loaded, waiting.len() > take)
    }

    /// `FeedObject::alarm`.
    fn alarm(&mut self, server: &Server, now: i64) {
        self.alarm = None;
        let mut st = self.saved.clone().expect("initialised");
        let todo = on_alarm(&st, now);
        if todo.retry_publish {
            st.published(true);
            self.saved = Some(st.clone());
        }
        if todo.refresh {
            self.refresh(st, server, now);
        } else if todo.follow_up {
            self.follow_up(st, now);
        } else {
            self.arm(st.next_wake(now), now);
        }
    }

    fn arm(&mut self, wake: Wake, now: i64) {
        self.alarm = match wake {
            Wake::At(at) => Some(at.max(now + 100)),
            Wake::Never => None,
        };
    }

    /// `FeedObject::apply`: D1, then the object's tables, the state if it changed, the
    /// publish (acknowledged), the alarm.
    fn apply(&mut self, mut p: Plan, now: i64) {
        let mut stored = Vec::new();
        if p.feed_row.is_some() {
            for w in &p.entries {
                let id = &w.entry.identity;
                self.next_rev += 1;
                let answer = match self.d1.get_mut(id) {
                    Some(r) => {
                        r.whole |= w.entry.whole;
                        r.fingerprint = w.fingerprint.clone();
                        Some(StoredEntry {
                            id: r.id,
                            first_seen: r.first_seen,
                            rev: Some(self.next_rev),
                        })
                    }
                    None if w.known => None,
                    None => {
                        self.next_id += 1;
                        let r = Row {
                            id: self.next_id,
                            first_seen: now,
                            whole: w.entry.whole,
                            fingerprint: w.fingerprint.clone(),
                        };
                        self.d1.insert(id.clone(), r);
                        Some(StoredEntry {
                            id: self.next_id,
                            first_seen: now,
                            rev: None,
                        })
                    }
                };
                stored.push(answer);
            }
        }
        let whole = p.entries.iter().filter(|w| w.entry.whole).count();
        self.most_whole = self.most_whole.max(whole);
        let settled = p.settle(&stored);
        for m in p.archived.iter().chain(&settled.seen) {
            let s = Seen {
                fingerprint: m.fingerprint.clone(),
                stored: m.entry_id.is_some(),
                pending: false,
            };
            self.seen.insert(m.identity.clone(), s);
        }
        for c in &p.carried {
            self.pending.insert(c.raw.identity.clone(), c.clone());
        }
        for f in &p.finished {
            self.pending.remove(f);
        }
        let mut st = p.state.clone();
        if p.state_changed() {
            self.saved = Some(st.clone());
        }
        if !settled.new_entries.is_empty() || !settled.updated.is_empty() {
            st.published(true);
            self.saved = Some(st.clone());
        }
        self.arm(st.next_wake(now), now);
    }

    /// Entries stored whole, and those stored in all.
    fn whole(&self) -> (usize, usize) {
        let whole = self.d1.values().filter(|r| r.whole).count();
        (whole, self.d1.len())
    }
}

/// A fast schedule like the one `make dev` runs (a fetch every 5 s, plus jitter), as
/// `MIN_`, `DEFAULT_` and `MAX_FETCH_INTERVAL_SECONDS` give it.
fn fast_schedule(every_ms: i64, jitter_ratio: f64) -> ScheduleConfig {
    ScheduleConfig {
        min_interval_ms: every_ms,
        default_interval_ms: every_ms,
        max_interval_ms: every_ms,
        jitter_ratio,
        ..ScheduleConfig::default()
    }
}

/// Runs alarms only until `until`; returns the time of the last one.
fn alarms_until(shell: &mut Shell, server: &Server, until: i64) -> i64 {
    let mut now = NOW;
    while let Some(at) = shell.alarm.filter(|at| *at <= until) {
        now = at;
        shell.alarm(server, now);
    }
    now
}

#[test]
fn carried_work_on_a_fast_schedule_is_completed_however_the_feed_answers() {
    // Issue 19: 80 posts of ~30 KB polled every 5 s. The first fetch stores the newest 50,
    // most as briefs; follow-ups (a second apart) must complete every one of them while
    // the feed keeps answering: the same body again, or 304.
    for conditional in [false, true] {
        let server = Server::new(80, 30_000, conditional);
        let mut shell = Shell::new(fast_schedule(5_000, 0.0));
        shell.init(&server, NOW);
        let (whole, stored) = shell.whole();
        assert_eq!(stored, FIRST_FETCH_MAX_ENTRIES);
        assert!(whole < stored, "{whole} whole at first");
        let end = NOW + 120_000;
        alarms_until(&mut shell, &server, end);
        let (whole, stored) = shell.whole();
        assert_eq!(
            (whole, stored),
            (FIRST_FETCH_MAX_ENTRIES, FIRST_FETCH_MAX_ENTRIES),
            "every carried entry ends whole (conditional fetches: {conditional})"
        );
        assert!(shell.pending.is_empty());
        assert!(!shell.saved.as_ref().unwrap().work_pending);
        // Two minutes at one fetch every 5 s: the carried work costs no fetch of its own.
        assert!(
            shell.fetches <= 120 / 5 + 2,
            "{} fetches in two minutes",
            shell.fetches
        );
        assert!(shell.most_whole <= FULL_CONTENT_BUDGET_BYTES / server.least_body() + 1);
    }
}

#[test]
fn carried_work_survives_any_interleaving_of_refreshes_and_follow_ups() {
    // Refreshes land anywhere between follow-ups (the schedule's own, an admin's
    // "Retry now", a WebSub ping): with a changed body (a new post, an edit of a waiting
    // or a whole one), the same body again, or a 304. Whatever the order, once the feed
    // is left alone every entry it stored ends whole, in its newest version, and no
    // invocation cleans more than its budget.
    const CASES: u64 = 16;
    for case in 0..CASES {
        let mut rng = rng::Rng(0x9E37_79B9_7F4A_7C15 ^ (case + 1).wrapping_mul(0x2545_F491));
        let mut server = Server::new(60 + rng.below(30), 30_000, rng.chance(2));
        let most_whole = FULL_CONTENT_BUDGET_BYTES / server.least_body() + 1;
        let jitter = if rng.chance(2) { 0.0 } else { 0.1 };
        let every = [1_000, 2_000, 5_000, 5_000][rng.below(4)];
        let mut shell = Shell::new(fast_schedule(every, jitter));
        shell.init(&server, NOW);
        let mut now = NOW;
        let mut trace = Vec::new();
        for _ in 0..1 + rng.below(30) {
            let alarm = shell.alarm.expect("a feed on schedule has an alarm");
            // The feed changes now and then, whoever fetches it next.
            match rng.below(10) {
                0 => server.publish(),
                1 => server.edit(rng.below(8)),
                _ => {}
            }
            if rng.chance(3) {
                // A refresh by hand (or a push) before the alarm would fire, or a burst
                // of them, each before the last one's follow-up.
                for _ in 0..if rng.chance(4) { 2 + rng.below(6) } else { 1 } {
                    let alarm = shell.alarm.unwrap_or(now + 1);
                    now = (now + rng.below(alarm.saturating_sub(now).max(1) as usize) as i64)
                        .min(alarm);
                    trace.push(format!("refresh@{}", now - NOW));
                    shell.refresh_by_hand(&server, now);
                }
            } else {
                now = alarm.max(now);
                trace.push(format!("alarm@{}", now - NOW));
                shell.alarm(&server, now);
            }
        }
        // Left alone: alarms only, until nothing waits (five minutes at most).
        let quiet_from = now;
        let fetches_before = shell.fetches;
        while let Some(at) = shell.alarm.filter(|at| *at <= quiet_from + 300_000) {
            if shell.pending.is_empty() && !shell.saved.as_ref().unwrap().work_pending {
                break;
            }
            now = at;
            shell.alarm(&server, now);
        }
        let (whole, stored) = shell.whole();
        let why = format!(
            "case {case} (every {every} ms, conditional {}, jitter {jitter}): {whole} of {stored} whole; {}",
            server.conditional,
            trace.join(" ")
        );
        assert_eq!(whole, stored, "{why}");
        assert!(shell.pending.is_empty(), "{why}");
        assert!(!shell.saved.as_ref().unwrap().work_pending, "{why}");
        // The newest version of every stored post is the one stored.
        let doc = orrery::core::feed::parse(&server.body(), URL).unwrap();
        for e in &doc.entries {
            if let Some(r) = shell.d1.get(&e.identity) {
                assert_eq!(r.fingerprint, e.fingerprint, "{}: {why}", e.identity);
            }
        }
        // Left alone, the feed is fetched on its schedule only (a follow-up alarm within
        // a second of the next fetch fetches at once): the carried work costs no fetch
        // of its own.
        let quiet_fetches = shell.fetches - fetches_before;
        let quiet_ms = now - quiet_from;
        assert!(
            quiet_fetches as i64 <= quiet_ms / (every - ALARM_SLACK_MS).max(FOLLOW_UP_MS) + 1,
            "{quiet_fetches} fetches in {quiet_ms} quiet ms: {why}"
        );
        assert!(
            shell.most_whole <= most_whole,
            "{} whole in one invocation: {why}",
            shell.most_whole
        );
    }
}

#[test]
fn carried_work_moves_on_when_refreshes_come_faster_than_follow_ups() {
    // A schedule of one fetch a second, or "Retry now" (a push) every half second: no
    // follow-up alarm ever fires before the next refresh, so the refreshes themselves
    // must move the carried work on while they find the feed unchanged.
    for (every, by_hand) in [(1_000, None), (5_000, Some(500)), (1_000, Some(300))] {
        for conditional in [false, true] {
            let server = Server::new(80, 30_000, conditional);
            let mut shell = Shell::new(fast_schedule(every, 0.0));
            shell.init(&server, NOW);
            let end = NOW + 60_000;
            let mut now = NOW;
            while now < end {
                let alarm = shell.alarm.expect("an alarm");
                match by_hand {
                    Some(gap) if now + gap < alarm => {
                        now += gap;
                        shell.refresh_by_hand(&server, now);
                    }
                    _ => {
                        now = alarm;
                        shell.alarm(&server, now);
                    }
                }
            }
            let (whole, stored) = shell.whole();
            assert_eq!(
                (whole, stored),
                (FIRST_FETCH_MAX_ENTRIES, FIRST_FETCH_MAX_ENTRIES),
                "every {every} ms, by hand every {by_hand:?} ms, conditional {conditional}"
            );
            assert!(shell.pending.is_empty());
            assert!(shell.most_whole <= FULL_CONTENT_BUDGET_BYTES / server.least_body() + 1);
        }
    }
}

/// What the object's pending table answers: these entries, and whether more wait.
fn waiting_rows(
    w: &[PendingEntry],
    more: bool,
) -> impl FnOnce() -> Result<(Vec<PendingEntry>, bool), Infallible> + '_ {
    move || Ok((w.to_vec(), more))
}

#[test]
fn an_unchanged_refresh_keeps_the_schedule_true_and_the_carried_work_going() {
    // A first fetch of big posts leaves work carried over.
    let mut first = run(&state(), fetched(long_posts(30, "v1")), &HashMap::new());
    let mut seen = HashMap::new();
    seen_after(&first, &mut seen);
    first.settle(&[]);
    first.state.published(true);
    let st = first.state.clone();
    assert!(st.work_pending && !st.alarm_is_the_fetch(NOW));
    let mut waiting = first.carried.clone();
    waiting.sort_by_key(|w| std::cmp::Reverse(w.raw.published_at));

    let later = NOW + 2 * MIN;
    let unchanged =
        |outcome: FetchOutcome| plan(&st, outcome, None, &seen, later, &cfg(), Keep::default());
    let not_modified = || FetchOutcome::NotModified {
        cache_max_age_s: None,
    };
    for p in [
        unchanged(not_modified()),
        unchanged(fetched(long_posts(30, "v1"))),
    ] {
        // The alarm it sets is a follow-up's, not the fetch: the next fetch is saved, so
        // that follow-up alarm is not taken for a due fetch.
        assert!(p.entries.is_empty() && p.state.work_pending);
        assert_ne!(p.state.next_fetch_at, st.next_fetch_at);
        assert!(
            p.state_changed(),
            "the next fetch is saved while work waits"
        );
        let a = on_alarm(&p.state, later + FOLLOW_UP_MS);
        assert!(a.follow_up && !a.refresh, "{a:?}");

        // Its unspent budget completes carried entries, newest first, as updates.
        let outcome = p.report.outcome;
        let done = p.with_carried(waiting_rows(&waiting, false)).unwrap();
        assert_eq!(done.report.outcome, outcome);
        assert!(!done.entries.is_empty());
        assert!(done.entries.iter().all(|w| w.known && w.entry.whole));
        assert_eq!(done.finished.len(), done.entries.len());
        assert_eq!(done.finished[0], waiting[0].raw.identity);
        assert!(
            done.state.work_pending,
            "more wait than one invocation cleans"
        );
        let row = row(&done);
        assert!(row.changed && row.inserted == 0 && row.last_success_at == Some(later));
    }
    // The budget left after hashing a body: what parsing it would have cost is spent.
    let identical = unchanged(fetched(long_posts(30, "v1")));
    let free = unchanged(not_modified());
    let (a, b) = (
        identical.with_carried(waiting_rows(&waiting, false)),
        free.with_carried(waiting_rows(&waiting, false)),
    );
    let (a, b) = (a.unwrap().entries.len(), b.unwrap().entries.len());
    assert!(a >= 1 && a < b, "{a} after a body, {b} after a 304");
    // The last of the waiting work: nothing is left pending.
    let last = unchanged(not_modified())
        .with_carried(waiting_rows(&waiting[..2], false))
        .unwrap();
    assert_eq!(last.entries.len(), 2);
    assert!(!last.state.work_pending && last.state_changed());
    assert!(last.state.alarm_is_the_fetch(later));

    // A changed document spends its budget on itself, and the pending table is not read;
    // a feed with nothing carried writes nothing but its alarm.
    let unread = || -> Result<(Vec<PendingEntry>, bool), Infallible> { panic!("read") };
    let changed = unchanged(fetched(long_posts(31, "v1")))
        .with_carried(unread)
        .unwrap();
    assert_eq!(identities(&changed), ["g30"]);
    let mut idle = st.clone();
    idle.work_pending = false;
    let p = plan(
        &idle,
        not_modified(),
        None,
        &seen,
        later,
        &cfg(),
        Keep::default(),
    );
    assert!(!p.state_changed());
    assert!(p.state.alarm_is_the_fetch(later));
    assert!(p.with_carried(unread).unwrap().entries.is_empty());
}

#[test]
fn the_planets_own_entries_fed_back_to_it_are_never_stored() {
    let body = "<rss version=\"2.0\"><channel><title>Mirror</title>\
        <item><guid isPermaLink=\"false\">https://planet.example/entries/5</guid><title>own id</title></item>\
        <item><guid>tag:elsewhere,2026:1</guid><link>http://PLANET.example./entries/6</link><title>own link</title></item>\
        <item><guid>https://alias.example/entries/7</guid><title>own alias</title></item>\
        <item><guid>https://blog.example/entries/8</guid><title>theirs</title></item>\
        </channel></rss>";
    let cfg = ScheduleConfig {
        own: orrery::core::fetch::OwnOrigins::new(
            "https://planet.example",
            &["alias.example".into()],
        ),
        ..cfg()
    };
    let p = plan(
        &state(),
        fetched(body.as_bytes().to_vec()),
        None,
        &HashMap::new(),
        NOW,
        &cfg,
        Keep::default(),
    );
    assert_eq!(identities(&p), vec!["https://blog.example/entries/8"]);
    // The planet's own URL defaults come from the same vars as its config.
    let from_vars = ScheduleConfig::from_lookup(|k| {
        (k == "PLANET_URL").then(|| "https://planet.example/".to_string())
    });
    assert!(from_vars
        .own
        .is_own_entry("http://planet.example/entries/1"));
}

#[test]
fn every_change_a_refresh_makes_on_its_own_is_audited_with_the_row_it_writes() {
    // Paused after failures: once, at the failure that pauses it, with the error in words.
    let mut st = state();
    let mut paused = Vec::new();
    for _ in 0..PAUSED_AFTER + 2 {
        let p = run(
            &st,
            FetchOutcome::Failed("HTTP 500".into()),
            &HashMap::new(),
        );
        if !p.changes.is_empty() {
            assert!(
                p.feed_row.is_some(),
                "audited in the batch that writes the row"
            );
            paused.extend(p.changes.clone());
        }
        st = p.state;
    }
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert_eq!(paused[0].action, "feed.paused");
    assert_eq!(
        paused[0].detail,
        format!("paused after {PAUSED_AFTER} failures: HTTP 500")
    );
    // Back when it answers again.
    let back = run(
        &st,
        fetched(rss("Back", &[("a", "A", None)])),
        &HashMap::new(),
    );
    assert_eq!(back.changes.len(), 1);
    assert_eq!(back.changes[0].action, "feed.recovered");
    assert!(
        back.changes[0].detail.contains("paused → active"),
        "{:?}",
        back.changes
    );

    // Gone: only at the 410 that makes it gone.
    let mut st = state();
    let mut gone = Vec::new();
    for _ in 0..GONE_AFTER {
        let p = run(&st, FetchOutcome::Gone, &HashMap::new());
        gone.extend(p.changes.clone());
        st = p.state;
    }
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(gone[0].action, "feed.gone");
    assert_eq!(
        gone[0].detail,
        format!("gone: HTTP 410, {GONE_AFTER} times in a row")
    );

    // A permanent redirect taken: old URL → new URL; one refused (another feed has it): none.
    let new_url = "https://blog.example/new.xml";
    let moved = |held_by| {
        let to = Some(Move {
            url: new_url.into(),
            held_by,
        });
        plan(
            &state(),
            fetched(rss("Blog", &[("a", "A", None)])),
            to,
            &HashMap::new(),
            NOW,
            &cfg(),
            Keep::default(),
        )
    };
    let p = moved(None);
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].action, "feed.moved");
    assert_eq!(
        p.changes[0].detail,
        format!("permanent redirect: {URL} → {new_url}")
    );
    assert!(moved(Some(99)).changes.is_empty());

    // An ordinary refresh, a failure short of a pause, a 304: nothing to audit.
    let first = run(
        &state(),
        fetched(rss("Blog", &[("a", "A", None)])),
        &HashMap::new(),
    );
    assert!(first.changes.is_empty());
    let failing = run(
        &first.state,
        FetchOutcome::Failed("x".into()),
        &HashMap::new(),
    );
    assert!(failing.changes.is_empty());
    let same = run(
        &first.state,
        FetchOutcome::NotModified {
            cache_max_age_s: None,
        },
        &HashMap::new(),
    );
    assert!(same.changes.is_empty());
}
