//! A membership sync's rules, pinned: sources, graces, outlines to members, plans, reports.

use super::*;

fn cur(id: i64, url: &str, name: Option<&str>, in_file: bool) -> Current {
    Current {
        id,
        url: url.into(),
        display_name: name.map(Into::into),
        in_file,
        ..Default::default()
    }
}

fn lst(url: &str, name: Option<&str>) -> Listed {
    Listed {
        url: url.into(),
        display_name: name.map(Into::into),
        ..Default::default()
    }
}

#[test]
fn sources_are_urls_or_asset_paths() {
    assert_eq!(
        source("https://example.org/members.opml"),
        Ok(Source::Url("https://example.org/members.opml".into()))
    );
    for v in ["members.opml", "/members.opml", "assets/members.opml"] {
        assert_eq!(source(v), Ok(Source::Asset("/members.opml".into())), "{v}");
    }
    assert_eq!(
        source("planet/people.opml"),
        Ok(Source::Asset("/planet/people.opml".into()))
    );
    for bad in ["../secret", "a/../b", "ftp://x/y", "a b.opml", "/", "a//b"] {
        assert!(source(bad).is_err(), "{bad}");
    }
    assert_eq!(
        Source::Asset("/members.opml".into()).describe(),
        "assets/members.opml"
    );
}

#[test]
fn the_grace_is_a_duration_in_days_by_default() {
    assert_eq!(duration_ms("14"), Some(14 * 86_400_000));
    assert_eq!(duration_ms("2d"), Some(2 * 86_400_000));
    assert_eq!(duration_ms("3h"), Some(3 * 3_600_000));
    assert_eq!(duration_ms(" 5s "), Some(5_000));
    assert_eq!(duration_ms("0"), Some(0));
    for bad in ["", "-1", "x", "5w", "d"] {
        assert_eq!(duration_ms(bad), None, "{bad}");
    }
    let cfg = MembershipConfig::from_lookup(|_| None);
    assert_eq!(cfg.source, None);
    assert_eq!(cfg.grace_ms, DEFAULT_GRACE_MS);
    let cfg = MembershipConfig::from_lookup(|k| match k {
        "PLANET_OPML" => Some(" members.opml ".into()),
        "PLANET_OPML_GRACE" => Some("nonsense".into()),
        _ => None,
    });
    assert_eq!(cfg.source, Some(Ok(Source::Asset("/members.opml".into()))));
    assert_eq!(cfg.grace_ms, DEFAULT_GRACE_MS, "unreadable: the default");
}

#[test]
fn outlines_become_members_once_each_with_refusals() {
    let o = |url: &str, title: Option<&str>, face: Option<&str>| Outline {
        url: url.into(),
        title: title.map(Into::into),
        face: face.map(Into::into),
        home: Some("javascript:alert(1)".into()),
    };
    let (kept, refused) = listed(
        &[
            o(
                "https://a.example/feed",
                Some(" Ann\n Lee "),
                Some("ann.png"),
            ),
            o("https://A.example/feed", None, None),
            o("http://127.0.0.1/feed", None, None),
            o(
                "https://b.example/rss",
                None,
                Some("https://faces.example/b.png"),
            ),
        ],
        false,
    );
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].display_name.as_deref(), Some("Ann Lee"));
    assert_eq!(kept[0].face_url, None, "a face file name is left out");
    assert_eq!(kept[0].home_url, None, "javascript: is left out");
    assert_eq!(
        kept[1].face_url.as_deref(),
        Some("https://faces.example/b.png")
    );
    assert_eq!(refused.len(), 2);
    assert_eq!(
        refused[0].reason, "listed twice",
        "the same URL, normalized"
    );
    assert!(refused[1].reason.contains("private"), "{refused:?}");
}

#[test]
fn a_sync_adds_renames_and_lets_members_leave() {
    let current = vec![
        cur(1, "https://a/f", Some("Ann"), true),
        cur(2, "https://b/f", Some("Bob"), true),
        cur(3, "https://c/f", None, false),
        cur(4, "https://d/f", None, false),
    ];
    let listed = vec![
        lst("https://a/f", Some("Ann Lee")),
        lst("https://c/f", None),
        lst("https://e/f", Some("Eve")),
    ];
    let p = plan(&current, &listed, &[], &CAPS);
    assert_eq!(p.add, vec![lst("https://e/f", Some("Eve"))]);
    let ids: Vec<i64> = p.update.iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![1, 3], "renamed, and taken over by the file");
    assert_eq!(p.update[0].display_name.as_deref(), Some("Ann Lee"));
    assert_eq!(p.leave.len(), 1);
    assert_eq!(
        p.leave[0].id,
        Some(2),
        "only a member the file listed leaves"
    );
    assert!(p.pending.is_empty() && p.rejoin.is_empty() && !p.more);
}

#[test]
fn an_attribute_the_file_leaves_out_keeps_its_value_and_nothing_changes_twice() {
    let mut c = cur(1, "https://a/f", Some("Ann"), true);
    c.face_url = Some("https://faces/ann.png".into());
    let p = plan(&[c.clone()], &[lst("https://a/f", None)], &[], &CAPS);
    assert!(p.is_empty(), "{p:?}");
    let l = Listed {
        face_url: Some("https://faces/new.png".into()),
        ..lst("https://a/f", Some("Ann"))
    };
    let p = plan(&[c], &[l], &[], &CAPS);
    assert_eq!(p.update.len(), 1);
    assert_eq!(p.update[0].display_name.as_deref(), Some("Ann"));
    assert_eq!(
        p.update[0].face_url.as_deref(),
        Some("https://faces/new.png")
    );
}

#[test]
fn removals_past_the_cap_wait_and_a_member_who_comes_back_is_resumed() {
    let mut current: Vec<Current> = (1..=8)
        .map(|i| cur(i, &format!("https://m{i}/f"), None, true))
        .collect();
    current[0].left_at = Some(5);
    let listed = vec![lst("https://m1/f", None)];
    let p = plan(&current, &listed, &[], &CAPS);
    assert_eq!(
        p.rejoin.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![Some(1)]
    );
    assert_eq!(p.leave.len(), CAPS.remove);
    assert_eq!(p.pending.len(), 2, "7 left, 5 a run");
    assert!(
        !p.more,
        "pending removals are not work the next run must redo"
    );
    // The next run (the file changed again) leaves them waiting: the cap counts new leavers.
    let mut after = current.clone();
    for c in after.iter_mut() {
        if p.leave.iter().any(|n| n.id == Some(c.id)) {
            c.left_at = Some(9);
        }
    }
    let again = plan(&after, &listed, &p.pending, &CAPS);
    assert!(again.leave.is_empty(), "{again:?}");
    assert_eq!(again.pending, p.pending);
    // Members already held for having left do not leave again.
    for c in current.iter_mut().skip(1) {
        c.left_at = Some(10);
    }
    let p = plan(&current, &listed, &[], &CAPS);
    assert!(p.leave.is_empty() && p.pending.is_empty());
}

#[test]
fn adds_and_updates_past_their_caps_are_left_for_the_next_run() {
    let caps = Caps {
        add: 2,
        update: 1,
        ..CAPS
    };
    let listed: Vec<Listed> = (0..5)
        .map(|i| lst(&format!("https://n{i}/f"), None))
        .collect();
    let p = plan(&[], &listed, &[], &caps);
    assert_eq!(p.add.len(), 2);
    assert!(p.more);
    let current = vec![
        cur(1, "https://n0/f", Some("x"), false),
        cur(2, "https://n1/f", Some("y"), false),
    ];
    let p = plan(&current, &listed[..2], &[], &caps);
    assert_eq!(p.update.len(), 1);
    assert!(p.more);
}

#[test]
fn a_report_that_repeats_the_last_one_is_not_news() {
    let last = SyncReport {
        digest: "h:1".into(),
        pending: vec![Named::default()],
        ..Default::default()
    };
    let mut again = last.clone();
    again.at = 99;
    assert!(again.repeats(&last));
    again.deleted.push(Named::default());
    assert!(!again.repeats(&last));
    let failed = SyncReport {
        error: Some("HTTP 500".into()),
        ..Default::default()
    };
    assert!(!failed.repeats(&last));
    assert!(!failed.ok());
    assert!(failed.summary().contains("nothing changed"));
}

/// `listed` as it was before it kept a set of the URLs it kept (each URL compared with
/// every earlier one): the reference the set must agree with.
fn listed_by_scanning(outlines: &[Outline], allow_private: bool) -> (Vec<Listed>, Vec<Refused>) {
    let mut kept: Vec<Listed> = Vec::new();
    let mut refused = Vec::new();
    for o in outlines {
        match check_url(&o.url, allow_private) {
            Ok(u) if kept.iter().any(|k| k.url == u.as_str()) => refused.push(Refused {
                url: u.to_string(),
                reason: "listed twice".into(),
            }),
            Ok(u) => {
                let m = member_of(o);
                kept.push(Listed {
                    url: u.to_string(),
                    display_name: m.display_name,
                    face_url: m.face_url,
                    home_url: m.home_url,
                });
            }
            Err(e) => refused.push(Refused {
                url: o.url.clone(),
                reason: e.to_string(),
            }),
        }
    }
    (kept, refused)
}

#[test]
fn listing_with_a_set_keeps_and_refuses_exactly_what_scanning_did() {
    // Duplicates written the same and spelled differently (case, default port, a
    // trailing dot), private and unreadable URLs, names and faces, in a long file.
    let spellings = [
        "https://blog{}.example.net/feed.xml",
        "https://BLOG{}.example.net/feed.xml",
        "https://blog{}.example.net:443/feed.xml",
        "http://blog{}.example.net/feed.xml",
        "https://blog{}.example.net/feed.xml#top",
        "http://10.0.0.{}/feed",
        "not a url {}",
        "https://blog{}.example.net/feed.xml?page=1",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let outlines: Vec<Outline> = (0..2_000)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = x % 700;
            let url = spellings[(x >> 20) as usize % spellings.len()].replace("{}", &n.to_string());
            Outline {
                url,
                title: (i % 3 == 0).then(|| format!(" Member {n} ")),
                face: (i % 5 == 0).then(|| format!("https://faces.example/{n}.png")),
                home: (i % 7 == 0).then(|| format!("https://blog{n}.example.net/")),
            }
        })
        .collect();
    for allow_private in [false, true] {
        let ours = listed(&outlines, allow_private);
        let reference = listed_by_scanning(&outlines, allow_private);
        assert!(ours.1.iter().any(|r| r.reason == "listed twice"));
        assert!(ours.0.len() > 300, "{}", ours.0.len());
        assert_eq!(ours, reference, "allow_private: {allow_private}");
    }
}
