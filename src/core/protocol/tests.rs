//! The protocol's rules, pinned.

use super::*;

#[test]
fn hello_matches_the_documented_shape() {
    let v: serde_json::Value = serde_json::from_str(
        &ServerMsg::Hello {
            protocol: PROTOCOL,
            latest: 42,
            clients: 3,
            revision: 5,
        }
        .to_json(),
    )
    .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"type":"hello","protocol":1,"latest":42,"clients":3,"revision":5})
    );
}

#[test]
fn parses_resume_and_subscribe() {
    assert_eq!(
        parse_client(r#"{"type":"resume","since":7}"#),
        Ok(ClientMsg::Resume {
            since: 7,
            revision: None
        })
    );
    assert_eq!(
        parse_client(r#"{"type":"resume","since":7,"revision":3}"#),
        Ok(ClientMsg::Resume {
            since: 7,
            revision: Some(3)
        })
    );
    assert!(parse_client(r#"{"type":"resume","since":7,"revision":-1}"#).is_err());
    assert_eq!(
        parse_client(r#"{"type":"subscribe","feeds":[1,2]}"#),
        Ok(ClientMsg::Subscribe {
            feeds: Some(vec![1, 2]),
            q: None
        })
    );
    assert_eq!(
        parse_client(r#"{"type":"subscribe"}"#),
        Ok(ClientMsg::Subscribe {
            feeds: None,
            q: None
        })
    );
}

#[test]
fn refuses_garbage() {
    for bad in [
        "",
        "ping?",
        "{}",
        r#"{"type":"resume"}"#,
        r#"{"type":"resume","since":-1}"#,
        r#"{"type":"resume","since":"x"}"#,
        r#"{"type":"nuke"}"#,
    ] {
        assert!(
            matches!(parse_client(bad), Err(FrameError::Invalid(_))),
            "{bad}"
        );
    }
    let big = format!(
        r#"{{"type":"resume","since":1,"pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    assert_eq!(parse_client(&big), Err(FrameError::TooBig));
}

#[test]
fn floods_and_repeated_garbage_close_the_socket() {
    let mut s = SocketState::new(None);
    for i in 0..MAX_FRAMES_PER_WINDOW {
        assert_eq!(s.count_frame(1_000 + i as i64), Verdict::Ok);
    }
    assert_eq!(s.count_frame(1_500), Verdict::Close(CLOSE_POLICY));
    // A new window forgives.
    assert_eq!(s.count_frame(3_000), Verdict::Ok);

    let bad = FrameError::Invalid("x".into());
    let mut s = SocketState::new(None);
    for _ in 1..MAX_BAD_FRAMES {
        assert_eq!(s.count_bad(&bad), Verdict::Ok);
    }
    assert_eq!(s.count_bad(&bad), Verdict::Close(CLOSE_POLICY));
    assert_eq!(
        s.count_bad(&FrameError::TooBig),
        Verdict::Close(CLOSE_TOO_BIG)
    );
}

#[test]
fn resumes_run_one_at_a_time_and_a_few_a_minute() {
    let mut s = SocketState::new(None);
    assert_eq!(s.begin_resume(1_000), Ok(()));
    assert_eq!(s.begin_resume(1_001), Err(ResumeRefused::Busy), "pipelined");
    s.end_resume(42);
    assert_eq!(s.last_sent, 42);
    for i in 1..MAX_RESUMES_PER_WINDOW {
        assert_eq!(s.begin_resume(2_000 + i as i64), Ok(()));
        s.end_resume(42);
    }
    assert_eq!(s.begin_resume(3_000), Err(ResumeRefused::TooOften));
    assert_eq!(
        s.begin_resume(1_000 + RESUME_WINDOW_MS),
        Ok(()),
        "a new minute"
    );
    // Saved mid-resume and read back (hibernation), the flag holds.
    let back: SocketState = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert!(back.resuming);
    // Attachments written before these fields existed still read.
    let old: SocketState = serde_json::from_str(
        r#"{"protocol":1,"feeds":null,"last_sent":3,"bad_frames":0,"window_start":0,"window_frames":0}"#,
    )
    .unwrap();
    assert!(!old.resuming);
}

#[test]
fn reasons_are_clipped_on_a_character_boundary() {
    assert_eq!(clip("short", MAX_REASON_BYTES), "short");
    let long = "é".repeat(100);
    let c = clip(&long, MAX_REASON_BYTES);
    assert!(c.len() <= MAX_REASON_BYTES && c.ends_with('…'), "{c}");
    let mut state = SocketState::new(None);
    let a = state.read(Frame::Binary(10), 5_000, false);
    assert!(matches!(a, Action::Reply(ServerMsg::Error { ref code, .. }) if code == "bad_frame"));
}

#[test]
fn subscribes_to_a_search_alone_with_feeds_or_on_a_feed_socket() {
    let mut state = SocketState::new(None);
    let a = state.read(
        Frame::Text(r#"{"type":"subscribe","q":"Rust  WASM-bindgen"}"#),
        1,
        false,
    );
    assert_eq!(
        a,
        Action::Reply(ServerMsg::Subscribed {
            feeds: None,
            q: Some("rust wasm-bindgen".into())
        })
    );
    let json = serde_json::to_string(&state).unwrap();
    assert!(json.ends_with(r#""q":["rust","wasm bindgen*"]}"#), "{json}");
    let doc = |body: &str| {
        LiveDoc::new(&crate::core::search::IndexDoc {
            title: String::new(),
            author: String::new(),
            body: body.into(),
        })
    };
    let yes = doc("rust and wasm-bindgenerators");
    let no = doc("rust and wasm");
    assert!(state.wants_entry(3, || &yes) && !state.wants_entry(3, || &no));

    // With feeds; then a subscribe without q follows everything again.
    let a = state.read(
        Frame::Text(r#"{"type":"subscribe","feeds":[3],"q":"rust"}"#),
        2,
        false,
    );
    assert!(matches!(
        a,
        Action::Reply(ServerMsg::Subscribed {
            feeds: Some(_),
            q: Some(_)
        })
    ));
    assert!(state.wants_entry(3, || &no) && !state.wants_entry(4, || &no));
    state.read(Frame::Text(r#"{"type":"subscribe"}"#), 3, false);
    assert!(state.q.is_none() && state.wants_entry(4, || unreachable!("no query, no doc")));

    // Bad queries: a clear error frame, counted as a bad frame; the old state stays.
    state.read(Frame::Text(r#"{"type":"subscribe","q":"rust"}"#), 4, false);
    for bad in [r#""- ...""#, &format!("\"{}\"", "x".repeat(201))] {
        let frame = format!(r#"{{"type":"subscribe","q":{bad}}}"#);
        let a = state.read(Frame::Text(&frame), 5, false);
        assert!(
            matches!(a, Action::Reply(ServerMsg::Error { ref code, .. }) if code == "bad_query"),
            "{a:?}"
        );
    }
    assert_eq!(state.bad_frames, 2);
    assert!(state.q.is_some());

    // A feed's socket may follow a search, never other feeds.
    let mut state = SocketState::new(Some(vec![9]));
    let a = state.read(Frame::Text(r#"{"type":"subscribe","q":"rust"}"#), 1, true);
    assert_eq!(
        a,
        Action::Reply(ServerMsg::Subscribed {
            feeds: Some(vec![9]),
            q: Some("rust".into())
        })
    );
    let a = state.read(Frame::Text(r#"{"type":"subscribe","feeds":[1]}"#), 2, true);
    assert!(matches!(a, Action::Reply(ServerMsg::Error { .. })));
    assert_eq!(state.feeds, Some(vec![9]));
}

#[test]
fn filters_by_feed() {
    assert!(SocketState::new(None).wants(9));
    let s = SocketState::new(Some(vec![1, 2]));
    assert!(s.wants(2));
    assert!(!s.wants(3));
}

#[test]
fn feed_ids_are_validated_and_the_list_is_short() {
    assert_eq!(check_feeds(&[1, MAX_FEED_ID - 1]), Ok(()));
    for bad in [0, -1, MAX_FEED_ID, 1 << 40, i64::MAX] {
        assert!(check_feeds(&[bad]).is_err(), "{bad}");
        let frame = format!(r#"{{"type":"subscribe","feeds":[{bad}]}}"#);
        assert!(
            matches!(parse_client(&frame), Err(FrameError::Invalid(_))),
            "{bad}"
        );
    }
    const { assert!(MAX_SUBSCRIBED_FEEDS <= 32, "far below 256") };
    let too_many: Vec<i64> = (1..=MAX_SUBSCRIBED_FEEDS as i64 + 1).collect();
    assert!(check_feeds(&too_many).is_err());
    // The frame that once switched the limits off: 256 ids of 2^30 and more.
    let ids: Vec<String> = (0..256).map(|i| ((1i64 << 30) + i).to_string()).collect();
    let frame = format!(r#"{{"type":"subscribe","feeds":[{}]}}"#, ids.join(","));
    let mut s = SocketState::new(None);
    let a = s.read(Frame::Text(&frame), 1, false);
    assert!(matches!(a, Action::Reply(ServerMsg::Error { .. })), "{a:?}");
    assert_eq!(
        (s.bad_frames, s.feeds.clone()),
        (1, None),
        "counted, state unchanged"
    );
    assert!(s.fits());
}

/// The largest per-socket state a client can make: every counter at its widest, the most
/// feeds of the largest id, and the widest followed search the parser keeps.
#[test]
fn the_largest_socket_state_fits_in_an_attachment() {
    let widest_queries = [
        "𝔸 ".repeat(100),
        "𝔸".repeat(200),
        "a-".repeat(100),
        "é ".repeat(100),
        "ǅ-".repeat(100),
        "\u{1F600}a ".repeat(66),
        "x".repeat(200),
        "\"a\\\" ".repeat(40),
        "\u{7f}a ".repeat(66),
    ];
    let feeds: Vec<i64> = (0..MAX_SUBSCRIBED_FEEDS as i64)
        .map(|i| MAX_FEED_ID - 1 - i)
        .collect();
    let mut largest = 0;
    for q in &widest_queries {
        let Ok(q) = LiveQuery::parse(q) else { continue };
        let state = SocketState {
            protocol: u32::MAX,
            feeds: Some(feeds.clone()),
            last_sent: i64::MIN,
            bad_frames: u32::MAX,
            window_start: i64::MIN,
            window_frames: u32::MAX,
            resuming: true,
            resume_window_start: i64::MIN,
            resumes_in_window: u32::MAX,
            q: Some(q),
        };
        let len = serde_json::to_vec(&state).unwrap().len();
        largest = largest.max(len);
        assert!(state.fits(), "{len} bytes");
    }
    assert!(largest <= MAX_ATTACHMENT_JSON_BYTES && MAX_ATTACHMENT_JSON_BYTES < 2_048);
    // Through the reader too: the widest subscribe a client may send is accepted.
    let mut s = SocketState::new(None);
    let ids: Vec<String> = feeds.iter().map(i64::to_string).collect();
    let frame = format!(
        r#"{{"type":"subscribe","feeds":[{}],"q":"{}"}}"#,
        ids.join(","),
        "𝔸 ".repeat(100).trim_end()
    );
    let a = s.read(Frame::Text(&frame), 1, false);
    assert!(
        matches!(a, Action::Reply(ServerMsg::Subscribed { .. })),
        "{a:?}"
    );
    assert!(s.fits());
}

#[test]
fn one_address_has_a_frame_budget_across_its_sockets() {
    let mut b = ClientBudgets::default();
    // Twenty tabs reconnecting at once: a subscribe and a resume each, all pass.
    for _ in 0..2 * MAX_SOCKETS_PER_CLIENT {
        assert_eq!(b.count("198.51.100.7", 1_000), ClientVerdict::Ok);
    }
    // A flood: the burst runs out, the frame over it closes the address's sockets…
    let mut verdicts = Vec::new();
    for i in 0..100 {
        verdicts.push(b.count("198.51.100.7", 1_000 + i));
    }
    let first_close = verdicts.iter().position(|v| *v == ClientVerdict::Close);
    assert_eq!(
        first_close,
        Some((CLIENT_BURST as usize) - 2 * MAX_SOCKETS_PER_CLIENT)
    );
    // … and every later frame is dropped unread while the ban lasts.
    assert!(verdicts[first_close.unwrap() + 1..]
        .iter()
        .all(|v| *v == ClientVerdict::Banned));
    assert!(b.banned("198.51.100.7", 1_200));
    // Another address is untouched.
    assert_eq!(b.count("198.51.100.8", 1_200), ClientVerdict::Ok);
    assert!(!b.banned("198.51.100.8", 1_200));
    // After the ban, a few frames again; a steady five per 10 s holds for good.
    let after = 1_100 + CLIENT_BAN_MS;
    assert!(!b.banned("198.51.100.7", after));
    let mut t = after + CLIENT_BURST as i64 * CLIENT_FRAME_INTERVAL_MS;
    for _ in 0..1_000 {
        assert_eq!(b.count("198.51.100.7", t), ClientVerdict::Ok);
        t += CLIENT_FRAME_INTERVAL_MS;
    }
    // What one address can cost at most: the burst, then five frames per 10 s (a DO
    // request each, billed 20:1), under 1 % of the Free plan's 100,000 a day per hour.
    let per_hour = CLIENT_BURST as i64 + 3_600_000 / CLIENT_FRAME_INTERVAL_MS;
    assert!(per_hour / 20 <= 1_000, "{per_hour} frames an hour");
}

#[test]
fn idle_addresses_are_forgotten_but_banned_ones_are_not() {
    let mut b = ClientBudgets::default();
    for _ in 0..=CLIENT_BURST {
        b.count("abuser", 0);
    }
    assert!(b.banned("abuser", 1));
    for i in 0..5_000 {
        b.count(&format!("reader-{i}"), 10_000 + i);
    }
    assert!(b.tracked() < 5_000, "bounded: {}", b.tracked());
    assert!(b.banned("abuser", 10_000), "a ban outlives the forgetting");
}

#[test]
fn a_resume_reaches_back_a_bounded_distance() {
    let upto = (10_000, 300);
    let two: Option<&[i64]> = Some(&[1, 2]);
    assert!(within_reach(10_000 - MAX_RESUME_REACH, None, upto, two));
    assert!(!within_reach(
        10_000 - MAX_RESUME_REACH - 1,
        None,
        upto,
        two
    ));
    assert!(!within_reach(0, None, upto, two), "since:0 on a big planet");
    assert!(
        within_reach(20_000, None, upto, two),
        "ahead: nothing to read"
    );
    // Every feed, or one: read in id order, the cap stops it however far back.
    assert!(within_reach(0, None, upto, None));
    assert!(within_reach(0, None, upto, Some(&[999_999_999])));
    // Updates: in revision order, so a filtered one must be near.
    assert!(within_reach(9_999, Some(300 - MAX_RESUME_REACH), upto, two));
    assert!(!within_reach(9_999, Some(0), (10_000, 10_000), Some(&[1])));
    assert!(within_reach(9_999, Some(0), (10_000, 10_000), None));
    // The reload frame, as documented.
    let v: serde_json::Value = serde_json::from_str(
        &ServerMsg::Reload {
            latest: 10_000,
            revision: 300,
        }
        .to_json(),
    )
    .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"type":"reload","latest":10_000,"revision":300})
    );
}

#[test]
fn a_room_invocation_spends_a_bounded_number_of_queries() {
    let mut q = QueryBudget::new(ROOM_QUERIES_PER_INVOCATION);
    let mut n = 0;
    while q.spend() {
        n += 1;
    }
    assert_eq!((n, q.spent()), (ROOM_QUERIES_PER_INVOCATION, n));
    const {
        assert!(
            ROOM_QUERIES_PER_INVOCATION + 4 <= 50,
            "the cursors' reads fit beside it"
        )
    };
}
