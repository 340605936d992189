//! The public pages, pinned: escaping, the river, members by name and face, search, errors.

use super::*;

#[test]
fn error_pages_say_what_the_status_means() {
    let cfg = Config::default();
    for (status, heading) in [
        (404, "Not found"),
        (403, "Forbidden"),
        (500, "Something went wrong"),
        (422, "Cannot use that"),
    ] {
        let html = error_page(&cfg, status, "why <b>").into_string();
        assert!(
            html.contains(&format!("<h1>{heading}</h1>")),
            "{status}: {html}"
        );
        assert!(html.contains("why &lt;b&gt;"), "the reason is escaped");
    }
    assert!(!error_page(&cfg, 403, "x")
        .into_string()
        .contains("Not found"));
}

fn entry(id: i64, title: &str, author: &str, content: &str) -> EntryView {
    EntryView {
        id,
        feed_id: 3,
        feed_title: "<b>Feed</b>".into(),
        feed_face: None,
        title: title.into(),
        url: Some("https://example.com/a?x=1&y=\"2\"".into()),
        author: Some(author.into()),
        published: 1_700_000_000_000,
        summary: String::new(),
        content_html: content.into(),
        whole: true,
        rev: None,
        day_rank: None,
        local_offset_ms: 0,
        same_as: None,
        also: Vec::new(),
    }
}

#[test]
fn feed_strings_are_escaped_everywhere() {
    let e = entry(
        7,
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<p>fine</p>",
    );
    let html = home_page(
        &Config::default(),
        &HomePage {
            entries: &[e],
            older: Some(7),
            paged: false,
            revision: 0,
            fair: None,
        },
    )
    .into_string();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;b&gt;Feed&lt;/b&gt;"));
    assert!(html.contains("y=&quot;2&quot;"));
    // Stored sanitized content is the one thing rendered as HTML.
    assert!(html.contains("<p>fine</p>"));
    assert!(html.contains(r#"data-id="7""#));
    assert!(html.contains(r#"href="/?before=7""#));
    assert!(html.contains(r#"data-ws="/ws""#));
}

#[test]
fn older_pages_do_not_follow_the_socket() {
    let html = home_page(
        &Config::default(),
        &HomePage {
            entries: &[],
            older: None,
            paged: true,
            revision: 0,
            fair: None,
        },
    )
    .into_string();
    assert!(!html.contains("data-ws"));
    assert!(html.contains("No entries yet"));
}

#[test]
fn long_entries_are_collapsed_in_the_river_and_whole_on_their_own_page() {
    let long = format!("<p>{}</p><p>the last words</p>", "word ".repeat(3_000));
    let e = entry(9, "Long read", "Ann", &long);
    let river = entry_article(Default::default(), &e).into_string();
    assert!(
        river.contains(r#"class="content collapsed""#),
        "{}",
        &river[..300]
    );
    assert!(river.contains(r#"<a href="/entries/9">Read more"#));
    let page = entry_page(&Config::default(), &e).into_string();
    assert!(page.contains("the last words"));
    assert!(!page.contains("collapsed") && !page.contains("Read more"));
    assert!(page.contains("Read it at the source"));

    let short = entry(10, "Short", "Ann", "<p>brief</p>");
    let river = entry_article(Default::default(), &short).into_string();
    assert!(!river.contains("collapsed") && !river.contains("Read more"));
    assert!(!river.contains("on its way"));
    let waiting = EntryView {
        whole: false,
        ..short
    };
    let river = entry_article(Default::default(), &waiting).into_string();
    assert!(river.contains(r#"data-whole="0""#) && river.contains("on its way"));
}

pub(in crate::core::views) fn member(id: i64, name: Option<&str>, face: Option<&str>) -> FeedView {
    FeedView {
        id,
        url: format!("https://m{id}.example/feed?token=s3cret"),
        title: format!("Feed {id}"),
        site_url: Some(format!("https://m{id}.example/")),
        description: None,
        format: None,
        status: FeedStatus::Failing,
        consecutive_failures: 3,
        last_error: None,
        last_fetch_at: Some(1),
        last_success_at: Some(1),
        next_fetch_at: None,
        last_changed_at: None,
        entry_count: 2,
        display_name: name.map(Into::into),
        face_url: face.map(Into::into),
        home_url: None,
        push_until: None,
        failing_since: None,
        recent_titles: Vec::new(),
    }
}

const FACE: &str = "https://faces.example/a.png?s=48&q=\"x\"";

#[test]
fn the_river_shows_names_and_faces_grouped_by_day_with_a_sidebar() {
    let day = 86_400_000;
    let mut a = entry(1, "Today", "Ann", "<p>a</p>");
    a.published = 1_700_006_400_000 + 3_600_000; // 2023-11-15 01:00 UTC
    a.feed_title = "Ann Example".into();
    a.feed_face = Some(FACE.into());
    let mut b = entry(2, "Also today", "Bob", "<p>b</p>");
    b.published = a.published - 60_000;
    b.feed_title = "Bob".into();
    let mut c = entry(3, "Yesterday", "Cy", "<p>c</p>");
    c.published = a.published - day;
    let cfg = Config::from_lookup(|k| match k {
        "PLANET_ABOUT" => Some("First para.\n\nSecond <para>.".into()),
        "PLANET_LINKS" => Some("Code|https://code.example/".into()),
        "PLANET_LOGO" => Some("/themes/classic/logo.svg".into()),
        "THEME" => Some("classic".into()),
        _ => None,
    });
    let members = [
        member(4, Some("Ann Example"), Some(FACE)),
        member(5, None, None),
    ];
    let html = home_page_with_members(
        &cfg,
        &HomePage {
            entries: &[a, b, c],
            older: None,
            paged: false,
            revision: 0,
            fair: None,
        },
        &members,
        0,
    )
    .into_string();
    // Days, newest first, each entry under its own.
    let d1 = html.find(r#"data-day="2023-11-15""#).expect("today");
    let d0 = html.find(r#"data-day="2023-11-14""#).expect("yesterday");
    assert!(d1 < html.find(r#"id="entry-2""#).unwrap());
    assert!(html.find(r#"id="entry-2""#).unwrap() < d0);
    assert!(d0 < html.find(r#"id="entry-3""#).unwrap());
    assert!(html.contains(
        r#"<time class="day-date" datetime="2023-11-15">Wednesday, 15 November 2023</time>"#
    ));
    // Names and faces: the face escaped, lazy, without a Referer, fixed size; no face, an initial.
    let face_html = r#"<img class="face" src="https://faces.example/a.png?s=48&amp;q=&quot;x&quot;" alt="" width="48" height="48" loading="lazy" referrerpolicy="no-referrer""#;
    assert!(html.contains(face_html), "{html}");
    assert!(html.contains(r#"<a class="feed" href="/feeds/3">Ann Example</a>"#));
    assert!(html.contains(r#"<span class="face initial" aria-hidden="true">B</span>"#));
    // One h1; landmarks; the sidebar with the about text, the links, the members.
    assert_eq!(html.matches("<h1").count(), 1);
    for landmark in ["<header", "<nav", "<main", "<aside", "<footer"] {
        assert!(html.contains(landmark), "{landmark}");
    }
    assert!(html.contains("<p>First para.</p><p>Second &lt;para&gt;.</p>"));
    assert!(html.contains(r#"<a href="https://code.example/">Code</a>"#));
    assert!(
        html.contains(r#"<img class="logo" src="/themes/classic/logo.svg" alt="" height="32">"#)
    );
    assert!(html.contains(r#"href="/themes/classic/theme.css""#));
    assert!(html.contains(r#"<a class="member" href="/feeds/5">Feed 5</a>"#));
    assert!(html.contains(r#"href="https://m5.example/feed?token=hidden""#));
    assert!(!html.contains("s3cret"));
    // The classic theme words the trouble on the dot (its category, never the error).
    assert!(html.contains(r#"<span class="dot failing" title="failing: "#));
    // No inline style or script anywhere: the CSP stays strict.
    assert!(!html.contains("style=") && !html.contains("<style"));
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count()
    );
}

#[test]
fn feeds_and_titles_show_members_by_name_with_faces() {
    let cfg = Config::default();
    let pushed = FeedView {
        push_until: Some(2_000),
        ..member(6, Some("Pushed"), None)
    };
    let lapsed = FeedView {
        push_until: Some(1_000),
        ..member(7, Some("Lapsed"), None)
    };
    let html = feeds_page(
        &cfg,
        &[
            member(4, Some("Ann <A>"), Some(FACE)),
            member(5, None, None),
            pushed,
            lapsed,
        ],
        4,
        None,
        1_500,
    )
    .into_string();
    // Only a live lease says "push", once.
    assert_eq!(html.matches(r#"<span class="push""#).count(), 1, "{html}");
    let row = |id: i64| {
        let at = html.find(&format!(r#"data-feed="{id}""#)).unwrap();
        &html[at..at + html[at..].find("</tr>").unwrap()]
    };
    assert!(row(6).contains(">push</span>") && !row(7).contains("push</span>"));
    assert!(
        html.contains(r#"<a class="name" href="/feeds/4">Ann &lt;A&gt;</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"width="40" height="40" loading="lazy" referrerpolicy="no-referrer""#));
    assert!(html.contains(r#"<a class="site" href="https://m4.example/""#));
    assert!(html.contains(r#"data-label="Health""#));
    assert!(!html.contains("s3cret"));
    assert_eq!(html.matches("<h1").count(), 1);

    let mut e = entry(8, "Titled", "Ann", "");
    e.feed_face = Some(FACE.into());
    let html = titles_page(&cfg, &[e], &[], 0, None).into_string();
    assert!(
        html.contains(r#"<li data-id="8"><img class="face small""#),
        "{html}"
    );
    assert!(html.contains(r#"<h2 class="day-heading">"#));
    assert_eq!(html.matches("<h1").count(), 1);
}

#[test]
fn the_first_page_of_a_search_offers_to_follow_it_live() {
    let cfg = Config::default();
    let page = |query: &str, page: u32, results: Option<&[SearchHit]>| {
        search_page(
            &cfg,
            &SearchPage {
                query,
                results,
                page,
                more: false,
            },
        )
        .into_string()
    };
    let html = page("rust <script>\"", 1, Some(&[]));
    assert!(html.contains(r#"data-ws="/ws""#), "{html}");
    assert!(html.contains(r#"<button id="follow-live" type="button" aria-pressed="false">"#));
    assert!(
        html.contains(r#"id="river" data-q="rust &lt;script&gt;&quot;""#),
        "{html}"
    );
    assert!(html.contains(r#"id="live-search" aria-labelledby="live-search-heading" hidden>"#));
    assert!(!html.contains("<script>\""), "the query is escaped");
    // Later pages, no query, or nothing searchable: nothing to follow, no socket.
    for html in [
        page("rust", 2, Some(&[])),
        page("", 1, None),
        page("- ...", 1, Some(&[])),
    ] {
        assert!(
            !html.contains("follow-live") && !html.contains("data-ws"),
            "{html}"
        );
    }
}

#[test]
fn every_page_has_one_h1_and_labelled_search() {
    let cfg = Config::default();
    let e = entry(1, "x", "y", "<p>z</p>");
    let pages = [
        entry_page(&cfg, &e).into_string(),
        search_page(
            &cfg,
            &SearchPage {
                query: "q",
                results: None,
                page: 1,
                more: false,
            },
        )
        .into_string(),
        error_page(&cfg, 404, "gone").into_string(),
        feed_page(
            &cfg,
            &member(2, None, None),
            &HomePage {
                entries: std::slice::from_ref(&e),
                older: None,
                paged: false,
                revision: 0,
                fair: None,
            },
        )
        .into_string(),
    ];
    for html in pages {
        assert_eq!(html.matches("<h1").count(), 1, "{html}");
        assert!(
            html.contains(r#"<label class="visually-hidden" for="#),
            "a labelled search"
        );
        assert!(html.contains("<main id=\"main\""));
    }
}

#[test]
fn the_footer_follows_the_operators_knobs() {
    let members = [member(4, Some("Ann"), None)];
    let page = |cfg: &Config| titles_page(cfg, &[], &members, 0, None).into_string();
    let today = page(&Config::default());
    assert!(today.contains("href=\"/feed.rss10\"") && today.contains("href=\"/foafroll.xml\""));
    assert!(!today.contains("href=\"/admin\""));
    let cfg = Config::from_lookup(|k| {
        Some(
            match k {
                "FOOTER_TEXT" => "Run by <b>the club</b> & friends",
                "SHOW_ADMIN_LINK" => "true",
                "ENABLE_RSS10" => "false",
                "ENABLE_FOAF" => "false",
                _ => return None,
            }
            .into(),
        )
    });
    let html = page(&cfg);
    assert!(
        html.contains("Run by &lt;b&gt;the club&lt;/b&gt; &amp; friends"),
        "{html}"
    );
    assert!(!html.contains("<b>the club"));
    assert!(html.contains("<a href=\"/admin\">Admin</a>"));
    assert!(
        !html.contains("/feed.rss10") && !html.contains("/foafroll.xml"),
        "{html}"
    );
}

#[test]
fn the_fair_river_links_the_rest_of_a_members_day_and_heads_days_in_the_planets_zone() {
    let cfg = Config::default();
    // 23:30 UTC on 26 November is 08:30 on the 27th in Tokyo.
    let mut e = entry(7, "Fifth today", "", "<p>x</p>");
    e.published = 1_795_735_800_000;
    e.day_rank = Some(5);
    e.local_offset_ms = 9 * 3_600_000;
    let fair = FairRiver {
        cap: 5,
        zone: "Asia/Tokyo".into(),
        today: "2026-11-27".into(),
        more: vec![(7, 3)],
    };
    let page = HomePage {
        entries: std::slice::from_ref(&e),
        older: None,
        paged: false,
        revision: 0,
        fair: Some(&fair),
    };
    let html = home_page(&cfg, &page).into_string();
    assert!(
        html.contains(r#"data-tz="Asia/Tokyo" data-river-cap="5""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<section class="day" data-day="2026-11-27">"#),
        "{html}"
    );
    assert!(html.contains("Friday, 27 November 2026"), "{html}");
    assert!(html.contains(r#"data-day-rank="5""#));
    assert!(html.contains(
        r#"<p class="more-from" data-feed="3" data-day="2026-11-27" data-more="3"><a href="/feeds/3">3 more from this member today</a></p>"#
    ), "{html}");
    let titles = titles_page(&cfg, &[e], &[], 0, Some(&fair)).into_string();
    assert!(titles.contains("3 more from this member today"));
}
