//! The public request budget's pure rules: canonical cache keys, the route weights table, and who a client is.

use orrery::core::auth::signin::Provider;
use orrery::core::config::MAX_PAGE_SIZE;
use orrery::core::routes::{
    cache_key, client_key, pages_a_write_changes, route, Route, FEEDS_PAGE, ROWS_PER_UNIT,
};

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn key(method: &str, path: &str, query: &[(&str, &str)]) -> Option<String> {
    cache_key(route(method, path), &q(query))
}

#[test]
fn a_cache_key_holds_only_what_the_page_reads_in_one_order() {
    // Unknown parameters are dropped: cache-busting variants are one entry.
    assert_eq!(key("GET", "/", &[]).as_deref(), Some("/"));
    assert_eq!(
        key("GET", "/", &[("v", "1")]),
        key("GET", "/", &[("v", "2")])
    );
    assert_eq!(
        key("GET", "/", &[("utm_source", "x"), ("before", "12")]).as_deref(),
        Some("/?before=12")
    );
    assert_eq!(
        key(
            "GET",
            "/feeds/3",
            &[("x", "1"), ("before", "0012"), ("y", "")]
        )
        .as_deref(),
        Some("/feeds/3?before=12"),
        "numbers written plainly"
    );
    // The order is the route's, not the request's.
    assert_eq!(
        key("GET", "/api/feeds", &[("limit", "5"), ("after", "9")]),
        key("GET", "/api/feeds", &[("after", "9"), ("limit", "5")])
    );
    assert_eq!(
        key("GET", "/api/feeds", &[("limit", "5"), ("after", "9")]).as_deref(),
        Some("/api/feeds?after=9&limit=5")
    );
    // The first of a repeated parameter, as the handlers read it; an empty one is absent.
    assert_eq!(
        key("GET", "/", &[("before", "7"), ("before", "8")]).as_deref(),
        Some("/?before=7")
    );
    assert_eq!(key("GET", "/", &[("before", "")]).as_deref(), Some("/"));
    // Search: the query as typed (encoded), page 1 is no page, a page past the last is the last.
    assert_eq!(
        key("GET", "/search", &[("page", "1"), ("q", "a b&c")]).as_deref(),
        Some("/search?q=a+b%26c")
    );
    assert_eq!(
        key("GET", "/search", &[("q", "x"), ("page", "abc")]),
        key("GET", "/search", &[("q", "x")])
    );
    assert_eq!(
        key("GET", "/search", &[("q", "x"), ("page", "99999")]),
        key("GET", "/search", &[("q", "x"), ("page", "50")])
    );
    let long = "w".repeat(500);
    assert_eq!(
        key("GET", "/search", &[("q", &long)]),
        key("GET", "/search", &[("q", &long[..200])]),
        "the handler reads 200 characters"
    );
    // One path per page.
    // `/health` and `/healthz` answer apart (the old planet's contract, the probe).
    assert_eq!(
        key("GET", "/health", &[("t", "1")]).as_deref(),
        Some("/health")
    );
    assert_eq!(key("GET", "/healthz", &[]).as_deref(), Some("/healthz"));
    assert_eq!(key("GET", "/feeds/3/", &[]), key("GET", "/feeds/3", &[]));
    assert_eq!(
        key("GET", "/titles", &[("before", "3")]).as_deref(),
        Some("/titles")
    );
}

#[test]
fn head_and_get_share_a_key_and_personal_routes_have_none() {
    for p in [
        "/",
        "/titles",
        "/feeds",
        "/feeds/4",
        "/feed.atom",
        "/search",
        "/healthz",
        "/api/feeds",
    ] {
        assert!(key("GET", p, &[]).is_some(), "{p}");
        assert_eq!(key("HEAD", p, &[("v", "1")]), key("GET", p, &[]), "{p}");
    }
    for (m, p) in [
        ("GET", "/admin"),
        ("GET", "/admin/audit"),
        ("GET", "/api/entries"),
        ("GET", "/ws"),
        ("POST", "/api/feeds"),
        ("POST", "/websub"),
        ("GET", "/nope"),
        ("GET", "/atom.xml"),
    ] {
        assert_eq!(key(m, p, &[]), None, "{m} {p}");
    }
}

#[test]
fn writes_forget_the_pages_they_change() {
    let pages = pages_a_write_changes(Some(4));
    for p in [
        "/",
        "/titles",
        "/feeds",
        "/feed.atom",
        "/healthz",
        "/api/feeds",
        "/feeds/4",
        "/feeds/4/feed.atom",
    ] {
        assert!(pages.iter().any(|k| k == p), "{p} in {pages:?}");
    }
    assert!(!pages_a_write_changes(None)
        .iter()
        .any(|k| k.starts_with("/feeds/")));
    assert_eq!(route("POST", "/admin/feeds/4/edit").written_feed(), Some(4));
    assert_eq!(route("PATCH", "/api/feeds/4").written_feed(), Some(4));
    assert_eq!(route("POST", "/api/feeds").written_feed(), None);
}

/// Every route the router can produce, with an id where it takes one.
fn every_route() -> Vec<Route> {
    use Route::*;
    vec![
        Home,
        Titles,
        Feeds,
        Feed(1),
        Entry(1),
        FeedWs(1),
        Search,
        Admin,
        AdminLogin,
        AdminLogout,
        AdminAddFeed,
        AdminRefreshFeed(1),
        AdminDeleteFeed(1),
        AdminEditFeed(1),
        AdminHoldFeed(1),
        AdminResumeFeed(1),
        AdminAudit,
        AdminHealth,
        AdminImportOpml,
        AdminConfirmRemovals,
        AdminRefreshAll,
        AdminAddAdmin,
        AdminRemoveAdmin(1),
        AuthStart(Provider::GitHub),
        AuthStart(Provider::Oidc),
        AuthCallback(Provider::GitHub),
        AuthCallback(Provider::Oidc),
        Healthz,
        Health,
        Ws,
        AtomOut,
        RssOut,
        FeedAtomOut(1),
        Rss10Out,
        OpmlOut,
        FoafOut,
        Moved("/"),
        ApiEntries,
        ApiFeeds,
        ApiFeed(1),
        ApiFeedCreate,
        ApiFeedDelete(1),
        ApiFeedRefresh(1),
        ApiFeedUpdate(1),
        ApiFeedHold(1),
        ApiFeedResume(1),
        ApiOpmlImport,
        ApiRefreshAll,
        ApiRefreshStatus,
        WebSubCallback(1),
        WebSubHub,
        NotFound,
        MethodNotAllowed("GET"),
    ]
}

#[test]
fn every_counted_route_has_a_weight_by_its_cost_and_the_rest_none() {
    let page = 30;
    for r in every_route() {
        let w = r.weight(page);
        if r.is_rate_limited() {
            let c = r.cost(page);
            assert!(w >= 1, "{r:?}");
            assert_eq!(
                w,
                (c.rows.div_ceil(ROWS_PER_UNIT) + c.objects).max(1),
                "{r:?}"
            );
        } else {
            assert_eq!(w, 0, "{r:?}: not counted by PUBLIC_LIMIT");
        }
    }
    // The numbers, route by route (a unit is 50 D1 rows read or one DO request).
    let table: Vec<(Route, u32)> = vec![
        (Route::Home, 5),
        (Route::Feed(1), 3),
        (Route::Titles, 11),
        (Route::AtomOut, 4),
        (Route::FeedAtomOut(1), 5),
        (Route::OpmlOut, 1),
        (Route::Feeds, 5),
        (Route::ApiFeeds, 5),
        (Route::ApiFeed(1), 1),
        (Route::Entry(1), 1),
        (Route::Healthz, 1),
        (Route::Health, 1),
        (Route::ApiEntries, 8),
        (Route::Search, 14),
        (Route::Ws, 1),
        (Route::FeedWs(1), 2),
        (Route::WebSubHub, 1),
        // Signing in: both the start (GitHub's, for an organization rule) and the callback may
        // read the admin list.
        (Route::AuthStart(Provider::Oidc), 5),
        (Route::AuthCallback(Provider::GitHub), 5),
    ];
    for (r, w) in table {
        assert_eq!(r.weight(page), w, "{r:?}");
    }
    // A longer river page costs more; a feed list is bounded by its page, not the planet.
    assert!(Route::Home.weight(MAX_PAGE_SIZE) > Route::Home.weight(30));
    assert!(Route::Feeds.cost(page).rows <= 2 * (FEEDS_PAGE + 1) + 10);
}

/// `"limit": N` of a binding in wrangler.jsonc (its one line).
fn deployed_limit(name: &str) -> u32 {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/wrangler.jsonc"))
        .expect("wrangler.jsonc");
    let line = text
        .lines()
        .find(|l| l.contains(&format!("\"name\": \"{name}\"")))
        .unwrap_or_else(|| panic!("{name} is bound"));
    let after = &line[line.find("\"limit\":").expect("a limit") + 8..];
    after
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

#[test]
fn every_route_fits_the_deployed_public_limit() {
    let limit = deployed_limit("PUBLIC_LIMIT");
    for r in every_route() {
        // At the largest page size a deployment may set (PAGE_SIZE is clamped to it).
        assert!(
            r.weight(MAX_PAGE_SIZE) <= limit,
            "{r:?} weighs {} units: never served under a limit of {limit}",
            r.weight(MAX_PAGE_SIZE)
        );
    }
    // One address, spending its whole budget every minute for an hour, moves no Free daily
    // figure by more than 1 %: 5M D1 rows read, 100,000 DO requests (a unit is one of them).
    assert!(
        limit * ROWS_PER_UNIT * 60 <= 5_000_000 / 100,
        "{limit} units of {ROWS_PER_UNIT} rows a minute"
    );
    // DO requests: its connects (a unit each) and, billed at 20:1, its frames: the burst
    // and one every CLIENT_FRAME_INTERVAL_MS for the rest of the hour.
    use orrery::core::protocol::{CLIENT_BURST, CLIENT_FRAME_INTERVAL_MS};
    let frames = u64::from(CLIENT_BURST) + 3_600_000 / CLIENT_FRAME_INTERVAL_MS as u64;
    assert!(
        u64::from(limit) * 60 + frames / 20 <= 100_000 / 100,
        "{limit} connects a minute and {frames} frames an hour"
    );
    // Every anonymous address together leaves the feeds at least 30 % of each daily figure
    // (a thousand feeds take 26 % of the reads and 29 % of the DO requests: bench/COST.md):
    // the public budget's units, and the frames every address's sockets may send together.
    use orrery::core::protocol::{PLANET_FRAME_BURST, PLANET_FRAME_INTERVAL_MS};
    let planet = u64::from(deployed_limit("PLANET_LIMIT"));
    assert!(
        planet * u64::from(ROWS_PER_UNIT) * 60 * 24 <= 5_000_000 * 7 / 10,
        "{planet} units a minute"
    );
    let planet_frames =
        u64::from(PLANET_FRAME_BURST) + 86_400_000 / PLANET_FRAME_INTERVAL_MS as u64;
    assert!(
        planet * 60 * 24 + planet_frames / 20 <= 100_000 * 7 / 10,
        "{planet} DO requests a minute and {planet_frames} frames a day"
    );
    assert!(
        planet >= u64::from(limit),
        "one address can spend its budget"
    );
}

#[test]
fn ipv6_clients_are_their_48_and_mapped_ipv4_its_address() {
    let a = client_key(Some("2001:db8:77:1::1"));
    assert_eq!(a, "2001:db8:77::/48");
    for other in ["2001:db8:77:ffff::2", "2001:db8:77:0:1:2:3:4"] {
        assert_eq!(client_key(Some(other)), a, "{other}");
    }
    assert_ne!(client_key(Some("2001:db8:78::1")), a);
    assert_eq!(client_key(Some("::ffff:203.0.113.9")), "203.0.113.9");
    assert_eq!(client_key(Some(" 203.0.113.9 ")), "203.0.113.9");
}

#[test]
fn a_resume_spends_by_how_far_behind_it_is_up_to_its_caps() {
    use orrery::core::protocol::{
        resume_rows, ClientBudgets, MAX_RESUME_ENTRIES, MAX_RESUME_UPDATES,
    };
    let newest = (10_000, 5_000);
    // A tab reconnecting with nothing new reads nothing (its connect was spent at the door).
    assert_eq!(resume_rows(10_000, Some(5_000), newest), 0);
    assert_eq!(resume_rows(10_000, None, newest), 0);
    // A client ahead of the object (a stale cursor) reads nothing either.
    assert_eq!(resume_rows(20_000, Some(9_000), newest), 0);
    // Two rows per entry or update.
    assert_eq!(resume_rows(9_995, None, newest), 10);
    assert_eq!(resume_rows(9_900, Some(4_950), newest), 300);
    // However far behind, a resume reads its caps at most: within one address's minute.
    let most = resume_rows(0, Some(0), newest);
    assert_eq!(most, 2 * (MAX_RESUME_ENTRIES + MAX_RESUME_UPDATES));
    assert_eq!(most, resume_rows(-5, Some(-5), newest));
    assert!(
        most.div_ceil(ROWS_PER_UNIT) <= deployed_limit("PUBLIC_LIMIT"),
        "{most} rows"
    );

    // Units fall due as rows add up: five small resumes of ten rows cost one unit, the fifth.
    let mut b = ClientBudgets::default();
    let mut due = Vec::new();
    for _ in 0..5 {
        let units = b.owe("a", 10);
        b.settle("a", 10, units, true);
        due.push(units);
    }
    assert_eq!(due, [0, 0, 0, 0, 1]);
    // Another address owes apart; a far resume is due whole (with what was owed).
    assert_eq!(b.owe("b", 20), 0);
    assert_eq!(b.owe("b", most), (20 + most) / ROWS_PER_UNIT);
    // Refused (nothing read): the rows leave the debt, what was owed before stays.
    assert_eq!(b.owe("a", 45), 0);
    let units = b.owe("a", 30); // 45 + 30 = 75: one unit due
    assert_eq!(units, 1);
    // While that unit is being spent, another resume sees the debt too (never slips by).
    assert_eq!(b.owe("a", 10), 1);
    b.settle("a", 10, 1, false);
    b.settle("a", 30, units, false);
    assert_eq!(b.owe("a", 5), 1, "45 owed again: 5 more make a unit");
}

#[test]
fn a_room_invocation_sends_a_bounded_number_of_frames_and_always_moves_on() {
    use orrery::core::protocol::{room_entries_per_invocation, ROOM_SENDS_PER_INVOCATION};
    // With no socket or a few, a whole page; with a thousand, twenty entries an invocation.
    assert_eq!(room_entries_per_invocation(0), ROOM_SENDS_PER_INVOCATION);
    assert_eq!(room_entries_per_invocation(1_000), 20);
    for sockets in [1, 7, 999, 1_000, 20_000, 1_000_000] {
        let n = room_entries_per_invocation(sockets);
        assert!(n >= 1, "a catch-up moves on with {sockets} sockets");
        assert!(
            n == 1 || n as usize * sockets <= ROOM_SENDS_PER_INVOCATION as usize,
            "{n} entries to {sockets} sockets"
        );
    }
}

#[test]
fn a_thousand_addresses_within_their_own_budgets_meet_the_planets() {
    use orrery::core::protocol::{
        ClientBudgets, ClientVerdict, PLANET_FRAME_BURST, PLANET_FRAME_INTERVAL_MS,
    };
    let mut b = ClientBudgets::default();
    let addresses: Vec<String> = (0..1_000)
        .map(|i| format!("198.18.{}.{}", i / 256, i % 256))
        .collect();
    // A reconnect wave: each a subscribe and a resume, together the planet's burst.
    let mut t = 0;
    let mut busy = 0;
    for round in 0..3 {
        for a in &addresses {
            match b.count(a, t) {
                ClientVerdict::Ok => {}
                ClientVerdict::PlanetBusy => busy += 1,
                v => panic!("{a} round {round}: {v:?}: each address is within its own budget"),
            }
        }
    }
    assert_eq!(
        busy,
        3 * 1_000 - PLANET_FRAME_BURST as usize,
        "past the burst, sockets close"
    );
    // Then, however many addresses keep sending, the planet reads one frame per interval.
    let mut ok = 0;
    for step in 0..600 {
        t += 100; // a minute, each address every 100 s: far within its own two seconds
        let a = &addresses[step % addresses.len()];
        if b.count(a, t) == ClientVerdict::Ok {
            ok += 1;
        }
    }
    let allowed = (600 * 100 / PLANET_FRAME_INTERVAL_MS) as usize;
    assert!(
        ok <= allowed + 1,
        "{ok} frames in a minute, the planet allows {allowed}"
    );
    assert!(
        ok >= allowed - 1,
        "{ok} frames: the planet's budget refills"
    );
}

#[test]
fn signing_in_with_a_provider_is_a_public_get_and_the_admin_list_an_admin_post() {
    assert_eq!(
        route("GET", "/auth/github"),
        Route::AuthStart(Provider::GitHub)
    );
    assert_eq!(
        route("GET", "/auth/oidc/callback"),
        Route::AuthCallback(Provider::Oidc)
    );
    assert_eq!(route("POST", "/auth/oidc"), Route::MethodNotAllowed("GET"));
    assert_eq!(route("GET", "/auth/saml"), Route::NotFound);
    assert_eq!(route("POST", "/admin/admins"), Route::AdminAddAdmin);
    assert_eq!(
        route("POST", "/admin/admins/7/delete"),
        Route::AdminRemoveAdmin(7)
    );
    for r in [
        Route::AuthStart(Provider::GitHub),
        Route::AuthCallback(Provider::Oidc),
    ] {
        assert!(
            r.is_rate_limited() && !r.is_shared_page() && !r.is_api(),
            "{r:?}"
        );
        assert_eq!(r.cache_params(), None, "{r:?}");
    }
    assert!(!Route::AdminAddAdmin.is_rate_limited());
}
