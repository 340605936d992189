//! The subscriber's rules, pinned: discovery, leases, intents, tokens and pushes.

use super::*;
use crate::core::websub::signature::sign;

fn base() -> Url {
    Url::parse("https://blog.example/feed.xml").unwrap()
}

#[test]
fn reads_hub_and_self_from_a_link_header() {
    let h = r#"<https://hub.example/>; rel="hub", </feed.xml>; rel="self""#;
    assert_eq!(
        parse_link_header(h, &base()),
        (
            Some("https://hub.example/".into()),
            Some("https://blog.example/feed.xml".into())
        )
    );
    // Unquoted, several relations in one, other links around, case.
    let h = "<https://x.example/a>; rel=next, <https://hub.example/p>; rel=\"HUB other\"";
    assert_eq!(
        parse_link_header(h, &base()).0.as_deref(),
        Some("https://hub.example/p")
    );
    assert_eq!(parse_link_header("garbage <", &base()), (None, None));
}

#[test]
fn the_header_wins_and_the_topic_falls_back_to_the_fetched_url() {
    let doc_hub = Some("https://doc-hub.example/");
    let got = discover((None, None), doc_hub, None, "https://blog.example/feed.xml");
    assert_eq!(
        got,
        Some(Advertised {
            hub: "https://doc-hub.example/".into(),
            topic: "https://blog.example/feed.xml".into()
        })
    );
    let header = (
        Some("https://h.example/".into()),
        Some("https://blog.example/self".into()),
    );
    let got = discover(header, doc_hub, Some("https://blog.example/doc-self"), "x").unwrap();
    assert_eq!(
        (got.hub.as_str(), got.topic.as_str()),
        ("https://h.example/", "https://blog.example/self")
    );
    assert_eq!(discover((None, None), None, None, "x"), None);
    assert_eq!(
        discover((None, None), Some("javascript:alert(1)"), None, "x"),
        None
    );
}

fn sub() -> HubSubscription {
    HubSubscription::new(
        Advertised {
            hub: "https://hub.example/".into(),
            topic: "https://blog.example/feed.xml".into(),
        },
        "tok".into(),
        "secret".into(),
        MIN_RENEW_MS,
    )
}

fn intent(mode: &str, topic: &str, challenge: &str, lease: Option<i64>) -> HubIntent {
    HubIntent {
        mode: mode.into(),
        topic: topic.into(),
        challenge: challenge.into(),
        lease_seconds: lease,
        reason: None,
    }
}

#[test]
fn a_subscription_is_requested_verified_renewed_before_expiry_and_retried_with_backoff() {
    let topic = "https://blog.example/feed.xml";
    let mut s = sub();
    assert_eq!(s.next_request_at(), 0, "a new subscription is due at once");
    // A hub cannot confirm what was never asked.
    let i = intent("subscribe", topic, "c", Some(86_400));
    assert_eq!(
        on_intent(Some(&mut s), None, "tok", &i, 5),
        IntentAnswer::Refuse("this feed has not asked to subscribe")
    );
    s.requested(1_000, None);
    assert!(!s.live(1_000));
    assert_eq!(
        on_intent(Some(&mut s), None, "tok", &i, 2_000),
        IntentAnswer::Confirm("c".into())
    );
    assert!(s.live(2_000) && s.live(2_000 + 86_399_000) && !s.live(2_000 + 86_400_000));
    // Renewed a tenth of a day before the day ends.
    assert_eq!(s.next_request_at(), 2_000 + 86_400_000 - 8_640_000);
    // A ten-second lease is not renewed every nine seconds.
    let mut short = sub();
    short.requested(1, None);
    on_intent(
        Some(&mut short),
        None,
        "tok",
        &intent("subscribe", topic, "c", Some(10)),
        10,
    );
    assert_eq!(
        short.lease_until,
        Some(10 + ACCEPTED_LEASE_MIN_S * 1000),
        "leases are at least ACCEPTED_LEASE_MIN_S"
    );
    assert_eq!(short.next_request_at(), 10 + MIN_RENEW_MS);
    // Unanswered requests back off: 1 h, 4 h, 16 h, then a day.
    let mut r = sub();
    let waits: Vec<i64> = (0..5)
        .map(|_| {
            r.requested(100, None);
            r.next_request_at() - 100
        })
        .collect();
    let h = 3_600_000;
    assert_eq!(waits, vec![h, 4 * h, 16 * h, 24 * h, 24 * h]);
}

#[test]
fn intent_for_another_topic_token_or_mode_is_refused() {
    let topic = "https://blog.example/feed.xml";
    let mut s = sub();
    s.requested(1, None);
    let wrong_topic = intent("subscribe", "https://evil.example/", "c", None);
    assert!(matches!(
        on_intent(Some(&mut s), None, "tok", &wrong_topic, 2),
        IntentAnswer::Refuse(_)
    ));
    let right = intent("subscribe", topic, "c", None);
    assert!(matches!(
        on_intent(Some(&mut s), None, "other", &right, 2),
        IntentAnswer::Refuse(_)
    ));
    assert!(matches!(
        on_intent(None, None, "tok", &right, 2),
        IntentAnswer::Refuse(_)
    ));
    let no_challenge = intent("subscribe", topic, "", None);
    assert!(matches!(
        on_intent(Some(&mut s), None, "tok", &no_challenge, 2),
        IntentAnswer::Bad(_)
    ));
    let huge = intent("subscribe", topic, &"x".repeat(600), None);
    assert!(matches!(
        on_intent(Some(&mut s), None, "tok", &huge, 2),
        IntentAnswer::Bad(_)
    ));
    assert!(!s.live(3), "nothing above started a lease");
    // Nobody but a removed feed unsubscribes.
    let unsub = intent("unsubscribe", topic, "c", None);
    assert!(matches!(
        on_intent(Some(&mut s), None, "tok", &unsub, 2),
        IntentAnswer::Refuse(_)
    ));
    let leaving = Leaving {
        topic: topic.into(),
        token: "tok".into(),
    };
    assert_eq!(
        on_intent(None, Some(&leaving), "tok", &unsub, 2),
        IntentAnswer::Confirm("c".into())
    );
    assert!(matches!(
        on_intent(None, Some(&leaving), "zzz", &unsub, 2),
        IntentAnswer::Refuse(_)
    ));
    // A denial is noted and ends the lease.
    on_intent(Some(&mut s), None, "tok", &right, 2);
    let mut denied = intent("denied", topic, "", None);
    denied.reason = Some("over quota".into());
    assert_eq!(
        on_intent(Some(&mut s), None, "tok", &denied, 3),
        IntentAnswer::Noted
    );
    assert!(!s.live(4));
    assert!(s.last_error.as_deref().unwrap().contains("over quota"));
    assert!(matches!(
        on_intent(
            Some(&mut s),
            None,
            "tok",
            &intent("publish", topic, "c", None),
            2
        ),
        IntentAnswer::Bad(_)
    ));
}

#[test]
fn rediscovery_keeps_moves_or_drops_the_subscription() {
    let ad = |hub: &str| Advertised {
        hub: hub.into(),
        topic: "t".into(),
    };
    let fresh = || ("n".to_string(), "s".to_string());
    let s = rediscover(None, Some(ad("https://a/")), 1, fresh).unwrap();
    assert_eq!((s.token.as_str(), s.requested_at), ("n", 0));
    let mut kept = s.clone();
    kept.requested(5, None);
    let again = rediscover(
        Some(kept.clone()),
        Some(ad("https://a/")),
        1,
        || unreachable!(),
    );
    assert_eq!(again, Some(kept.clone()));
    let moved = rediscover(Some(kept.clone()), Some(ad("https://b/")), 1, || {
        ("m".into(), "s2".into())
    })
    .unwrap();
    assert_eq!((moved.hub.as_str(), moved.requested_at), ("https://b/", 0));
    assert_eq!(rediscover(Some(kept), None, 1, fresh), None);
}

#[test]
fn callback_tokens_are_unguessable_per_feed_and_deliveries_must_be_signed() {
    let key = websub_key("admin");
    let t = callback_token(&key, 7, "abc123");
    assert!(token_is_ours(&key, 7, &t));
    assert!(!token_is_ours(&key, 8, &t), "another feed's token");
    assert!(
        !token_is_ours(&websub_key("other"), 7, &t),
        "another planet's token"
    );
    assert!(!token_is_ours(&key, 7, "abc123.00"));
    assert!(!token_is_ours(&key, 7, "nodot"));
    let mut s = sub();
    s.token = t.clone();
    let body = b"<feed/>";
    let sig = sign("secret", body);
    assert_eq!(check_push(Some(&s), &t, Some(&sig), body), Ok(()));
    assert_eq!(
        check_push(Some(&s), "x", Some(&sig), body),
        Err(PushRefused::Unknown)
    );
    assert_eq!(
        check_push(None, &t, Some(&sig), body),
        Err(PushRefused::Unknown)
    );
    assert_eq!(
        check_push(Some(&s), &t, None, body),
        Err(PushRefused::Signature(SignatureError::Missing))
    );
    let forged = sign("guess", body);
    assert_eq!(
        check_push(Some(&s), &t, Some(&forged), body),
        Err(PushRefused::Signature(SignatureError::Mismatch))
    );
}

#[test]
fn the_subscribe_form_names_topic_callback_lease_and_secret() {
    let f = request_form(&sub(), "subscribe", "https://planet.example/websub/1/tok");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(f.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    assert_eq!(get("hub.mode"), Some("subscribe"));
    assert_eq!(get("hub.topic"), Some("https://blog.example/feed.xml"));
    assert_eq!(
        get("hub.callback"),
        Some("https://planet.example/websub/1/tok")
    );
    assert_eq!(get("hub.lease_seconds"), Some("864000"));
    assert_eq!(get("hub.secret"), Some("secret"));
    let u = request_form(&sub(), "unsubscribe", "cb");
    assert!(!u.contains("secret"));
}

#[test]
fn a_repeat_confirmation_that_barely_moves_the_lease_writes_nothing() {
    let topic = "https://blog.example/feed.xml";
    let mut s = sub();
    s.requested(1_000, None);
    let i = intent("subscribe", topic, "c", Some(86_400));
    assert_eq!(
        on_intent(Some(&mut s), None, "tok", &i, 2_000),
        IntentAnswer::Confirm("c".into()),
        "the first confirmation starts the lease"
    );
    let confirmed = s.clone();
    // The hub asks again a minute later: the same challenge back, nothing changed.
    assert_eq!(
        on_intent(Some(&mut s), None, "tok", &i, 62_000),
        IntentAnswer::Echo("c".into())
    );
    assert_eq!(s, confirmed);
    assert!(lease_barely_moved(
        &s,
        2_000 + 86_400_000 + LEASE_MOVE_WORTH_MS - 1
    ));
    assert!(!lease_barely_moved(
        &s,
        2_000 + 86_400_000 + LEASE_MOVE_WORTH_MS
    ));
    // A day later the lease moved a day: written.
    assert_eq!(
        on_intent(Some(&mut s), None, "tok", &i, 86_402_000),
        IntentAnswer::Confirm("c".into())
    );
    // Our own renewal is always recorded, however little it moves the lease.
    s.requested(86_403_000, None);
    assert_eq!(
        on_intent(Some(&mut s), None, "tok", &i, 86_404_000),
        IntentAnswer::Confirm("c".into())
    );
    assert_eq!(s.verified_at, 86_404_000);
}

#[test]
fn only_printable_ascii_challenges_are_echoed() {
    let topic = "https://blog.example/feed.xml";
    for bad in [
        "<script>\u{7}",
        "caf\u{e9}",
        "a\r\nSet-Cookie: x=1",
        "\u{0}",
    ] {
        let mut s = sub();
        s.requested(1, None);
        assert_eq!(
            on_intent(
                Some(&mut s),
                None,
                "tok",
                &intent("subscribe", topic, bad, None),
                2
            ),
            IntentAnswer::Bad("hub.challenge must be printable ASCII"),
            "{bad:?}"
        );
        assert_eq!(s.lease_until, None, "nothing confirmed");
    }
    assert!(challenge_is_printable("abc-DEF_123 ~!<>"));
    assert!(!challenge_is_printable("tab\there"));
}

#[test]
fn a_hub_or_topic_on_the_planet_itself_loops() {
    let own = crate::core::fetch::OwnOrigins::new("https://planet.example", &[]);
    let ad = |hub: &str, topic: &str| Advertised {
        hub: hub.into(),
        topic: topic.into(),
    };
    assert!(loops_back(
        &ad("http://planet.example/websub", "https://blog.example/f"),
        &own
    ));
    assert!(loops_back(
        &ad("https://hub.example/", "https://PLANET.example./feed.atom"),
        &own
    ));
    assert!(!loops_back(
        &ad("https://hub.example/", "https://blog.example/f"),
        &own
    ));
}

#[test]
fn callback_keys_come_from_the_planets_own_secret_not_the_admin_token() {
    let old = websub_key("admin");
    let new = websub_key_from_secret("a random secret made once");
    assert_ne!(old, new);
    let t = callback_token(&new, 7, "abc123");
    assert!(token_is_ours(&new, 7, &t) && !token_is_ours(&old, 7, &t));
}
