//! The configuration read from vars: defaults, bounds, and each problem named.

use super::*;

#[test]
fn reads_vars_and_falls_back() {
    let c = Config::from_lookup(|k| match k {
        "PLANET_NAME" => Some("Planet Rust".into()),
        "PLANET_URL" => Some("https://planet.example/".into()),
        "ALLOW_PRIVATE_FEEDS" => Some("true".into()),
        "PAGE_SIZE" => Some("not a number".into()),
        _ => None,
    });
    assert_eq!(c.planet_name, "Planet Rust");
    assert_eq!(c.planet_url, "https://planet.example");
    assert!(c.allow_private_feeds);
    assert_eq!(c.page_size, Config::default().page_size);
}

#[test]
fn the_look_comes_from_vars_and_unsafe_values_are_dropped() {
    let c = Config::from_lookup(|k| {
        match k {
        "THEME" => Some("Classic".into()),
        "PLANET_LOGO" => Some("/themes/classic/logo.svg".into()),
        "PLANET_ABOUT" => Some("  Posts by the people of a project.  ".into()),
        "PLANET_LINKS" => Some(
            "Home|https://example.org/, Code of conduct | /coc ,bad|javascript:alert(1),|https://x.example,nourl,proto|//evil.example"
                .into(),
        ),
        _ => None,
    }
    });
    assert_eq!(c.theme, "classic");
    assert_eq!(c.planet_logo.as_deref(), Some("/themes/classic/logo.svg"));
    assert_eq!(
        c.planet_about.as_deref(),
        Some("Posts by the people of a project.")
    );
    let links: Vec<(&str, &str)> = c
        .planet_links
        .iter()
        .map(|l| (l.name.as_str(), l.url.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            ("Home", "https://example.org/"),
            ("Code of conduct", "/coc")
        ]
    );
    for bad in ["../x", "a b", "x/y", ""] {
        let c = Config::from_lookup(|k| (k == "THEME").then(|| bad.into()));
        assert_eq!(c.theme, "default", "{bad:?}");
    }
    for bad in [
        "javascript:alert(1)",
        "data:image/svg+xml,x",
        "//evil.example/a.png",
    ] {
        let c = Config::from_lookup(|k| (k == "PLANET_LOGO").then(|| bad.into()));
        assert_eq!(c.planet_logo, None, "{bad:?}");
    }
}

#[test]
fn websub_vars() {
    let d = Config::from_lookup(|_| None);
    assert_eq!((d.websub_hub, d.websub_retry_seconds), (None, 60));
    let c = Config::from_lookup(|k| match k {
        "WEBSUB_HUB" => Some(" https://hub.example/ ".into()),
        "WEBSUB_RETRY_SECONDS" => Some("0".into()),
        _ => None,
    });
    assert_eq!(c.websub_hub.as_deref(), Some("https://hub.example/"));
    assert_eq!(c.websub_retry_seconds, 1);
    for bad in ["", "/websub", "javascript:x", "ftp://hub.example/"] {
        let c = Config::from_lookup(|k| (k == "WEBSUB_HUB").then(|| bad.into()));
        assert_eq!(c.websub_hub, None, "{bad:?}");
    }
}

#[test]
fn the_operators_knobs_default_to_todays_behaviour() {
    let c = Config::from_lookup(|_| None);
    assert_eq!(c, Config::default());
    assert!(c.enable_rss10 && c.enable_foaf && c.probe_paused && !c.show_admin_link);
    assert_eq!(
        (c.failing_after, c.paused_after, c.fetch_timeout_ms),
        (3, 10, 20_000)
    );
    assert_eq!(c.footer_text, None);
    assert_eq!(
        c.user_agent("feed aggregator"),
        "Orrery/0.1 (feed aggregator; +http://127.0.0.1:8787)"
    );
    assert!(Config::problems(|_| None).is_empty());
}

#[test]
fn the_operators_knobs_are_read() {
    let vars = |k: &str| {
        Some(
            match k {
                "FOOTER_TEXT" => " Hosted by <the> club ",
                "SHOW_ADMIN_LINK" => "true",
                "ENABLE_RSS10" => "false",
                "ENABLE_FOAF" => "off",
                "PLANET_OWNER_NAME" => "Ada Lovelace",
                "PLANET_OWNER_EMAIL" => "ada@planet.example",
                "FETCH_TIMEOUT_SECONDS" => "45",
                "FAILING_AFTER" => "5",
                "PAUSED_AFTER" => "20",
                "PROBE_PAUSED" => "no",
                "PLANET_URL" => "https://planet.example",
                _ => return None,
            }
            .to_string(),
        )
    };
    let c = Config::from_lookup(vars);
    assert_eq!(c.footer_text.as_deref(), Some("Hosted by <the> club"));
    assert!(c.show_admin_link && !c.enable_rss10 && !c.enable_foaf && !c.probe_paused);
    assert_eq!(
        (c.failing_after, c.paused_after, c.fetch_timeout_ms),
        (5, 20, 45_000)
    );
    assert_eq!(
        c.user_agent("feed aggregator"),
        "Orrery/0.1 (feed aggregator; +https://planet.example; Ada Lovelace <ada@planet.example>)"
    );
    assert!(Config::problems(vars).is_empty());
}

#[test]
fn a_bad_knob_is_a_problem_in_words_and_keeps_its_default() {
    let vars = |k: &str| {
        Some(
            match k {
                "SHOW_ADMIN_LINK" => "maybe",
                "FETCH_TIMEOUT_SECONDS" => "600",
                "FAILING_AFTER" => "4",
                "PAUSED_AFTER" => "2",
                "PLANET_OWNER_NAME" => "Mallory (admin)\r\nX-Evil: 1",
                "PLANET_OWNER_EMAIL" => "not an email",
                _ => return None,
            }
            .to_string(),
        )
    };
    let c = Config::from_lookup(vars);
    assert!(!c.show_admin_link);
    assert_eq!(c.fetch_timeout_ms, 20_000);
    assert_eq!((c.failing_after, c.paused_after), (4, 5));
    assert_eq!((c.owner_name, c.owner_email), (None, None));
    let problems = Config::problems(vars);
    assert_eq!(problems.len(), 5, "{problems:#?}");
    for var in [
        "SHOW_ADMIN_LINK",
        "FETCH_TIMEOUT_SECONDS",
        "PAUSED_AFTER (2) must be more than FAILING_AFTER (4)",
        "PLANET_OWNER_NAME",
        "PLANET_OWNER_EMAIL",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(var)),
            "{var}: {problems:#?}"
        );
    }
}

#[test]
fn the_language_is_read_by_its_primary_subtag_and_an_unknown_one_is_a_problem() {
    let lang = |v: &str| {
        let get = |k: &str| (k == "PLANET_LANG").then(|| v.to_string());
        (Config::from_lookup(get).lang, Config::problems(get))
    };
    assert_eq!(lang("de"), (Lang::De, vec![]));
    assert_eq!(lang("de-AT"), (Lang::De, vec![]));
    assert_eq!(lang(" EN-gb "), (Lang::En, vec![]));
    assert_eq!(lang(""), (Lang::En, vec![]));
    let (l, problems) = lang("klingon");
    assert_eq!(l, Lang::En);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("PLANET_LANG: \"klingon\""),
        "{problems:?}"
    );
}

#[test]
fn retention_cutoff() {
    let keep_all = Config::from_lookup(|k| (k == "RETENTION_DAYS").then(|| "0".into()));
    assert_eq!(keep_all.retention_cutoff(10 * 86_400_000), None);
    let week = Config::from_lookup(|k| (k == "RETENTION_DAYS").then(|| "7".into()));
    assert_eq!(week.retention_cutoff(10 * 86_400_000), Some(3 * 86_400_000));
}

#[test]
fn private_feeds_are_refused_unless_asked() {
    assert!(!Config::from_lookup(|_| None).allow_private_feeds);
    let c = Config::from_lookup(|k| (k == "ALLOW_PRIVATE_FEEDS").then(|| "false".into()));
    assert!(!c.allow_private_feeds);
}
