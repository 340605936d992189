//! The sidebar's detail, natively: a feed's trouble read from its stored error in categories and ages (never its words), quiet members, and each member's newest titles.

use std::collections::HashMap;

use orrery::core::config::Config;
use orrery::core::domain::{FeedStatus, Keep};
use orrery::core::feed::ParseError;
use orrery::core::fetch::{FetchError, FetchOutcome, PolicyError};
use orrery::core::i18n::Tr;
use orrery::core::ingest::schedule::ScheduleConfig;
use orrery::core::ingest::{plan, FeedState, Trouble};
use orrery::core::view_models::{FeedView, RecentTitle};
use orrery::core::views::{
    home_page_with_members, member_note, sidebar_words as words, HomePage, QUIET_AFTER_DAYS,
};

const NOW: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn member(id: i64) -> FeedView {
    FeedView {
        id,
        url: "https://blog.example/feed.xml".into(),
        title: format!("Member {id}"),
        site_url: None,
        description: None,
        format: None,
        status: FeedStatus::Active,
        consecutive_failures: 0,
        last_error: None,
        last_fetch_at: Some(NOW - HOUR),
        last_success_at: Some(NOW - HOUR),
        next_fetch_at: None,
        last_changed_at: Some(NOW - DAY),
        entry_count: 3,
        display_name: None,
        face_url: None,
        home_url: None,
        push_until: None,
        failing_since: None,
        recent_titles: Vec::new(),
    }
}

fn failing(error: &str, since: i64) -> FeedView {
    FeedView {
        status: FeedStatus::Failing,
        consecutive_failures: 4,
        last_error: Some(error.into()),
        failing_since: Some(since),
        ..member(1)
    }
}

/// The words the plan itself stores for a fetch outcome (gone, come back later).
fn plan_error(outcome: FetchOutcome, st: &FeedState) -> String {
    let cfg = ScheduleConfig::default();
    let p = plan(
        st,
        outcome,
        None,
        &HashMap::new(),
        NOW,
        &cfg,
        Keep::default(),
    );
    p.report.error.expect("an error in words")
}

#[test]
fn every_stored_error_reads_back_as_the_category_its_typed_error_names() {
    let policy = [
        PolicyError::Invalid("x".into()),
        PolicyError::Scheme("ftp".into()),
        PolicyError::Private("10.0.0.1".into()),
        PolicyError::Credentials,
        PolicyError::Port(25),
        PolicyError::OwnPlanet("https://planet.example/feed.atom".into()),
    ];
    let mut fetch: Vec<FetchError> = policy.iter().cloned().map(FetchError::Policy).collect();
    fetch.extend([
        FetchError::Status(404),
        FetchError::Status(403),
        FetchError::Status(500),
        FetchError::Status(502),
        FetchError::Challenge(403),
        FetchError::TooManyRedirects,
        FetchError::RedirectLoop("https://a.example/".into()),
        FetchError::BadRedirect,
        FetchError::Timeout(20),
        FetchError::TooLarge,
        FetchError::Network("dns error: no such host".into()),
    ]);
    for e in &fetch {
        let t = Trouble::of_fetch(e);
        assert_ne!(t, Trouble::Unknown, "{e}");
        assert_eq!(Trouble::of_words(&e.to_string()), t, "{e}");
    }
    let parse = [
        ParseError::Empty,
        ParseError::Html,
        ParseError::NotAFeed("starts with <evil>".into()),
        ParseError::BrokenXml {
            line: 3,
            reason: "bad &".into(),
        },
        ParseError::BrokenJson("eof".into()),
    ];
    for e in &parse {
        assert_eq!(
            Trouble::of_words(&e.to_string()),
            Trouble::of_parse(e),
            "{e}"
        );
        assert_eq!(Trouble::of_parse(e), Trouble::Unreadable);
    }
    // The plan's own sentences.
    let st = FeedState::new(7, "https://blog.example/feed.xml");
    assert_eq!(
        Trouble::of_words(&plan_error(FetchOutcome::Gone, &st)),
        Trouble::Gone
    );
    let later = FetchOutcome::RetryLater {
        status: 429,
        retry_after_ms: None,
    };
    assert_eq!(Trouble::of_words(&plan_error(later, &st)), Trouble::Busy);
    assert_eq!(
        Trouble::of_words("something nobody wrote"),
        Trouble::Unknown
    );
}

#[test]
fn http_statuses_are_told_by_their_class() {
    assert_eq!(Trouble::of_status(404), Trouble::NotFound);
    assert_eq!(Trouble::of_status(401), Trouble::Refused);
    assert_eq!(Trouble::of_status(451), Trouble::Refused);
    assert_eq!(Trouble::of_status(500), Trouble::ServerError);
    assert_eq!(Trouble::of_status(504), Trouble::ServerError);
    assert_eq!(Trouble::of_status(503), Trouble::Busy);
    assert_eq!(Trouble::of_status(410), Trouble::Gone);
    assert_eq!(Trouble::of_status(302), Trouble::Unknown);
}

#[test]
fn a_failing_member_is_told_by_category_and_age_never_by_the_errors_words() {
    let f = failing(
        "could not reach the server: dns error <script>",
        NOW - 3 * DAY - HOUR,
    );
    assert_eq!(
        member_note(Tr::default(), &f, NOW).as_deref(),
        Some("not reachable for 3 days")
    );
    let f = failing(
        "this is not a feed: starts with <evil onload=x>",
        NOW - 5 * HOUR,
    );
    assert_eq!(
        member_note(Tr::default(), &f, NOW).as_deref(),
        Some("feed unreadable for 5 hours")
    );
    let f = failing("the server answered HTTP 500", NOW - 30 * 60_000);
    assert_eq!(
        member_note(Tr::default(), &f, NOW).as_deref(),
        Some("its server fails for under an hour")
    );
    let f = failing("no complete answer within 20 seconds", NOW - DAY);
    assert_eq!(
        member_note(Tr::default(), &f, NOW).as_deref(),
        Some("not answering in time for a day")
    );
    // An error nobody categorized is still not shown in its own words.
    let f = failing("<b>secret</b> token=abc", NOW - 2 * DAY);
    assert_eq!(
        member_note(Tr::default(), &f, NOW).as_deref(),
        Some("not updating for 2 days")
    );
    // Paused after failures says the same; without a start (an old row) no age.
    let f = FeedView {
        status: FeedStatus::Paused,
        failing_since: None,
        ..failing("the server answered HTTP 404", 0)
    };
    assert_eq!(
        member_note(Tr::default(), &f, NOW).as_deref(),
        Some("feed not found")
    );
    let gone = FeedView {
        status: FeedStatus::Gone,
        ..failing(
            "the publisher removed this feed (HTTP 410 Gone, 3 times in a row)",
            NOW - 9 * DAY,
        )
    };
    assert_eq!(
        member_note(Tr::default(), &gone, NOW).as_deref(),
        Some("gone")
    );
}

#[test]
fn a_failure_or_two_on_an_active_feed_and_a_feed_held_by_hand_say_nothing_more() {
    let weather = FeedView {
        status: FeedStatus::Active,
        ..failing("the server answered HTTP 500", NOW - HOUR)
    };
    assert_eq!(member_note(Tr::default(), &weather, NOW), None);
    let held = FeedView {
        status: FeedStatus::Held,
        ..failing("this feed is paused by hand", NOW - 40 * DAY)
    };
    assert_eq!(member_note(Tr::default(), &held, NOW), None);
    // Never read at all and failing: told, whatever the status says.
    let never = FeedView {
        status: FeedStatus::Active,
        last_success_at: None,
        ..failing("this is an HTML page, not a feed", NOW - 2 * HOUR)
    };
    assert_eq!(
        member_note(Tr::default(), &never, NOW).as_deref(),
        Some("feed unreadable for 2 hours")
    );
}

#[test]
fn a_member_whose_newest_post_is_a_month_old_is_quiet() {
    let titled = |published| FeedView {
        recent_titles: vec![RecentTitle {
            id: 9,
            title: "Old".into(),
            published,
        }],
        last_changed_at: Some(NOW - HOUR),
        ..member(2)
    };
    assert_eq!(
        member_note(Tr::default(), &titled(NOW - 45 * DAY), NOW).as_deref(),
        Some("no new post in 45 days")
    );
    assert_eq!(
        member_note(Tr::default(), &titled(NOW - QUIET_AFTER_DAYS * DAY), NOW).as_deref(),
        Some(words::quiet(Tr::default(), QUIET_AFTER_DAYS).as_str())
    );
    assert_eq!(
        member_note(Tr::default(), &titled(NOW - 29 * DAY), NOW),
        None
    );
    // Without titles, the last stored entry's time.
    let untitled = FeedView {
        last_changed_at: Some(NOW - 100 * DAY),
        ..member(3)
    };
    assert_eq!(
        member_note(Tr::default(), &untitled, NOW).as_deref(),
        Some("no new post in 100 days")
    );
    let nothing = FeedView {
        last_changed_at: None,
        ..member(3)
    };
    assert_eq!(member_note(Tr::default(), &nothing, NOW), None);
}

#[test]
fn ages_are_said_in_hours_then_days() {
    assert_eq!(words::lasting(Tr::default(), -5), "under an hour");
    assert_eq!(words::lasting(Tr::default(), 59 * 60_000), "under an hour");
    assert_eq!(words::lasting(Tr::default(), HOUR), "an hour");
    assert_eq!(words::lasting(Tr::default(), 23 * HOUR), "23 hours");
    assert_eq!(words::lasting(Tr::default(), DAY + 5 * HOUR), "a day");
    assert_eq!(words::lasting(Tr::default(), 47 * DAY), "47 days");
}

fn page(cfg: &Config, members: &[FeedView]) -> String {
    let river = HomePage {
        entries: &[],
        older: None,
        paged: false,
        revision: 0,
        fair: None,
    };
    home_page_with_members(cfg, &river, members, NOW).into_string()
}

#[test]
fn the_detailed_sidebar_links_each_members_three_newest_titles_escaped_and_hides_the_error() {
    let titles = |id: i64| RecentTitle {
        id,
        title: format!("Post {id} <img src=x onerror=alert(1)> & \"more\""),
        published: NOW - id * HOUR,
    };
    let m = FeedView {
        recent_titles: vec![titles(11), titles(12), titles(13)],
        ..member(4)
    };
    let bad = failing(
        "this is not a feed: starts with <evil onload=x>",
        NOW - 3 * DAY,
    );
    let classic = Config::from_lookup(|k| (k == "THEME").then(|| "classic".into()));
    let html = page(&classic, &[m.clone(), bad.clone()]);
    for id in [11, 12, 13] {
        assert!(
            html.contains(&format!(
                "<a href=\"/entries/{id}\">Post {id} &lt;img src=x onerror=alert(1)&gt; &amp; &quot;more&quot;</a>"
            )),
            "{html}"
        );
    }
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("feed unreadable for 3 days"), "{html}");
    assert!(
        !html.contains("evil"),
        "the error's words never reach the page"
    );
    // Off: the plain list, no titles, no note (the default theme's default).
    let plain = page(&Config::default(), &[m, bad]);
    assert!(!plain.contains("/entries/11"));
    assert!(!plain.contains("feed unreadable"));
    assert!(!plain.contains("evil"));
}

#[test]
fn the_newest_titles_are_newest_first_and_three_at_most_however_d1_ordered_them() {
    let row = serde_json::json!({"id": 1, "url": "http://x.example/f", "title": "X", "site_url": null,
        "description": null, "format": null, "status": "active", "consecutive_failures": 0,
        "last_error": null, "last_fetch_at": null, "last_success_at": null, "next_fetch_at": null,
        "entry_count": 4, "failing_since": null,
        "recent_titles": r#"[{"id":1,"title":"a","published":10},{"id":3,"title":"c","published":30},
            {"id":2,"title":"b","published":30},{"id":4,"title":"d","published":20}]"#});
    let f: FeedView = serde_json::from_value(row).unwrap();
    let ids: Vec<i64> = f.recent_titles.iter().map(|t| t.id).collect();
    assert_eq!(ids, [3, 2, 4]);
}

#[test]
fn the_migration_backfills_with_the_expression_the_refresh_keeps() {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let root = env!("CARGO_MANIFEST_DIR");
    let migration =
        std::fs::read_to_string(format!("{root}/migrations/0017_sidebar_titles.sql")).unwrap();
    let store = std::fs::read_to_string(format!("{root}/src/edge/d1/feeds.rs")).unwrap();
    let start = store
        .find("\"(SELECT json_group_array")
        .expect("the expression");
    let end = store[start..].find("))\"").expect("its end") + start + 2;
    let expr = squash(
        &store[start + 1..end]
            .replace("\\\n", " ")
            .replace("{limit}", "3"),
    );
    assert!(
        squash(&migration).contains(&expr),
        "migrations/0017 must backfill with: {expr}"
    );
}

#[test]
fn the_sidebar_detail_is_on_in_classic_by_default_and_a_var_turns_it_on_or_off() {
    let with = |theme: &'static str, detail: Option<&'static str>| {
        move |k: &str| match k {
            "THEME" => Some(theme.to_string()),
            "SIDEBAR_DETAIL" => detail.map(str::to_string),
            _ => None,
        }
    };
    assert!(Config::from_lookup(with("classic", None)).rich_sidebar());
    assert!(!Config::from_lookup(with("default", None)).rich_sidebar());
    assert!(Config::from_lookup(with("default", Some("on"))).rich_sidebar());
    assert!(!Config::from_lookup(with("classic", Some("OFF"))).rich_sidebar());
    assert!(Config::from_lookup(with("classic", Some(" auto "))).rich_sidebar());
    assert!(Config::problems(with("default", Some("on"))).is_empty());
    let bad = with("classic", Some("sometimes"));
    assert!(
        Config::from_lookup(bad).rich_sidebar(),
        "a bad value keeps auto"
    );
    assert_eq!(
        Config::problems(bad),
        ["SIDEBAR_DETAIL: \"sometimes\" is not auto, on or off; using auto"]
    );
}
