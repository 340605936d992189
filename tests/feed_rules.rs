//! Feed pipeline rules on fixture files: formats, leniency, identity, dates, plain text and sanitizing.

use orrery::core::feed::{self, Entry, FeedDoc, FeedFormat, ParseError, FIRST_FETCH_MAX_ENTRIES};

const NOW: i64 = 1_800_000_000_000; // 2027-01-15

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str, url: &str) -> FeedDoc {
    feed::parse(&fixture(name), url).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn clean_all(doc: &FeedDoc) -> Vec<Entry> {
    doc.entries.iter().map(|e| e.clean(NOW)).collect()
}

/// What a user would check first: nothing executable survives anywhere.
fn assert_safe(e: &Entry) {
    let html = e.content_html.to_ascii_lowercase();
    for bad in [
        "<script",
        "<style",
        "<iframe",
        "<object",
        "<embed",
        "<form",
        "<meta",
        "<svg",
        "javascript:",
        "vbscript:",
        "data:",
        "onerror",
        "onclick",
        "onload",
        "onmouseover",
        " style=",
    ] {
        assert!(
            !html.contains(bad),
            "{bad} survived in {:?}",
            e.content_html
        );
    }
    for text in [Some(&e.title), e.author.as_ref(), Some(&e.summary)]
        .into_iter()
        .flatten()
    {
        let t = text.to_ascii_lowercase();
        for bad in [
            "<script", "<img", "<b>", "<a ", "<i>", "onerror", "alert(", "steal(",
        ] {
            assert!(!t.contains(bad), "{bad} in a text field: {text:?}");
        }
    }
}

#[test]
fn rss2_hostile_fields_are_plain_text_and_sanitized() {
    let doc = parse("rss2_hostile.xml", "https://hostile.example/feed.xml");
    assert_eq!(doc.format, FeedFormat::Rss);
    assert_eq!(doc.format.as_str(), "rss");
    assert_eq!(doc.title, "Hostile Planet");
    assert_eq!(doc.site_url.as_deref(), Some("https://hostile.example/"));
    assert_eq!(doc.description.as_deref(), Some("A feed about things"));
    assert_eq!(doc.ttl_minutes, Some(90));
    assert_eq!(doc.entries.len(), 2);
    let e = clean_all(&doc);
    e.iter().for_each(assert_safe);

    // `<b>Hi</b> <script>x</script>` is stored as the text "Hi".
    assert_eq!(e[0].title, "Hi");
    assert_eq!(e[0].identity, "post-1");
    assert_eq!(e[0].url.as_deref(), Some("https://hostile.example/posts/1"));
    assert_eq!(e[0].author.as_deref(), Some("Ann"));
    assert_eq!(e[0].published_at, Some(1_717_408_800_000));
    assert_eq!(e[0].summary, "Short summary of post one.");
    let html = &e[0].content_html;
    assert!(
        html.contains(r#"src="https://hostile.example/img/a.png""#),
        "{html}"
    );
    assert!(html.contains(r#"loading="lazy""#), "{html}");
    assert!(
        html.contains(r#"href="https://hostile.example/posts/other""#),
        "{html}"
    );
    assert!(html.contains(r#"href="https://ok.example/""#), "{html}");
    assert!(html.contains(r#"rel="noopener noreferrer""#), "{html}");
    assert!(!html.contains("srcset"), "{html}");
    assert!(!html.contains("target="), "{html}");

    // Second item: relative link, no guid (identity = permalink), future date clamped.
    assert_eq!(e[1].title, "Second & last");
    assert_eq!(e[1].url.as_deref(), Some("https://hostile.example/posts/2"));
    assert_eq!(e[1].identity, "https://hostile.example/posts/2");
    assert_eq!(e[1].author.as_deref(), Some("Bob"));
    assert_eq!(e[1].published_at, Some(NOW));
    assert!(
        doc.entries[1].published_at.unwrap_or(0) > NOW,
        "raw date kept until clean"
    );
    let html = &e[1].content_html;
    assert!(
        html.contains(r#"href="https://hostile.example/about""#),
        "{html}"
    );
    assert!(
        html.contains(r#"src="https://hostile.example/posts/pic.jpg""#),
        "{html}"
    );
}

#[test]
fn atom_xhtml_xml_base_and_hostile_fields() {
    let doc = parse("atom_hostile.xml", "https://atom.example/blog/atom.xml");
    assert_eq!(doc.format, FeedFormat::Atom);
    assert_eq!(doc.title, "Atom Feed");
    assert_eq!(doc.description.as_deref(), Some("Sub title"));
    assert_eq!(doc.site_url.as_deref(), Some("https://atom.example/blog/"));
    let e = clean_all(&doc);
    assert_eq!(e.len(), 2);
    e.iter().for_each(assert_safe);
    assert_eq!(e[0].title, "Bold title");
    assert_eq!(e[0].identity, "tag:atom.example,2024:1");
    assert_eq!(
        e[0].url.as_deref(),
        Some("https://atom.example/blog/posts/xhtml")
    );
    assert_eq!(e[0].author.as_deref(), Some("Carol"));
    assert_eq!(
        e[0].published_at,
        Some(1_717_318_800_000),
        "published wins over updated"
    );
    assert_eq!(e[0].updated_at, Some(1_717_408_800_000));
    let html = &e[0].content_html;
    assert!(
        html.contains("XHTML <em>body</em>"),
        "xhtml content included: {html}"
    );
    assert!(
        html.contains(r#"src="https://cdn.atom.example/media/pic.png""#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="https://cdn.atom.example/abs""#),
        "{html}"
    );

    // A text title is still read as plain text; `<source>` does not leak.
    assert_eq!(e[1].title, "Text type not bold & 1 < 2");
    assert_eq!(e[1].identity, "tag:atom.example,2024:2");
    assert_eq!(
        e[1].author.as_deref(),
        Some("Feed Owner"),
        "feed author as fallback"
    );
    assert_eq!(
        e[1].published_at,
        Some(1_717_200_000_000),
        "zone-less updated read as UTC"
    );
    assert_eq!(e[1].summary, "A summary");
    assert!(e[1]
        .content_html
        .contains(r#"src="https://atom.example/blog/posts/s.png""#));
}

#[test]
fn entries_without_ids_get_stable_hash_identities() {
    let bytes = fixture("rss_no_guid.xml");
    let a = feed::parse(&bytes, "https://x.example/feed").unwrap_or_else(|e| panic!("{e}"));
    let b = feed::parse(&bytes, "https://x.example/feed").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.entries.len(), 3);
    for (x, y) in a.entries.iter().zip(&b.entries) {
        assert!(x.identity.starts_with("h:"), "{}", x.identity);
        assert_eq!(x.identity, y.identity);
        assert_eq!(x.fingerprint, y.fingerprint);
    }
    assert_ne!(a.entries[0].identity, a.entries[1].identity);
    let e = clean_all(&a);
    assert_eq!(
        e[0].title, "First entry has only a description.",
        "title falls back to the summary"
    );
    assert_eq!(e[2].title, "Untitled");
}

#[test]
fn fingerprint_changes_only_when_the_entry_does() {
    let bytes = fixture("rss2_hostile.xml");
    let a = parse("rss2_hostile.xml", "https://hostile.example/feed.xml");
    let changed = String::from_utf8_lossy(&bytes)
        .replace("Short &lt;em&gt;summary", "Longer &lt;em&gt;summary");
    let b = feed::parse(changed.as_bytes(), "https://hostile.example/feed.xml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.entries[0].identity, b.entries[0].identity);
    assert_ne!(a.entries[0].fingerprint, b.entries[0].fingerprint);
    assert_eq!(a.entries[1].fingerprint, b.entries[1].fingerprint);
    assert_eq!(a.entries[0].fingerprint.len(), 32);
}

#[test]
fn bare_ampersands_html_entities_and_control_chars_are_tolerated() {
    let doc = parse("rss_bare_amp.xml", "https://cafe.example/feed");
    assert_eq!(doc.format, FeedFormat::Rss, "<rss> without a version");
    assert_eq!(doc.title, "Café & Bar News & Views");
    assert_eq!(doc.entries.len(), 2);
    let e = clean_all(&doc);
    assert_eq!(e[0].title, "Tom & Jerry… © 2024 &bogus; controlchars");
    assert_eq!(e[0].url.as_deref(), Some("https://cafe.example/?a=1&b=2"));
    assert_eq!(
        e[0].published_at,
        Some(1_717_408_800_000),
        "zone-less ISO date is UTC"
    );
    assert_eq!(e[0].summary, "Fish & chips — bold été");
    assert_eq!(e[1].title, "Second ½");
}

#[test]
fn odd_rss_version_atom_03_rdf_and_json_feed() {
    let odd = parse("rss_odd_version.xml", "");
    assert_eq!(odd.entries.len(), 1);
    assert_eq!(odd.entries[0].identity, "https://odd.example/1");
    assert_eq!(odd.entries[0].published_at, Some(1_717_408_800_000));

    let old = parse("atom03.xml", "https://old.example/atom.xml");
    assert_eq!(old.format, FeedFormat::Atom);
    assert_eq!(old.description.as_deref(), Some("Still serving 0.3"));
    let e = clean_all(&old);
    assert_eq!(e.len(), 2, "Atom 0.3 yields entries");
    e.iter().for_each(assert_safe);
    assert_eq!(
        e[0].url.as_deref(),
        Some("https://old.example/2004/06/entry")
    );
    assert_eq!(
        e[0].published_at,
        Some(1_086_256_800_000),
        "issued, zone-less, as UTC"
    );
    assert_eq!(e[0].updated_at, Some(1_086_343_200_000));
    assert_eq!(e[0].author.as_deref(), Some("Dave"));
    assert!(
        e[0].content_html.contains("<p>Escaped content</p>"),
        "{}",
        e[0].content_html
    );
    assert_eq!(e[1].summary, "Plain summary");

    let rdf = parse("rdf.xml", "https://rdf.example/rss");
    assert_eq!(rdf.format, FeedFormat::Rdf);
    assert_eq!(rdf.title, "RDF Site");
    let e = clean_all(&rdf);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].identity, "https://rdf.example/a");
    assert_eq!(e[0].title, "RDF item");
    assert_eq!(e[0].author.as_deref(), Some("Eve"));
    assert_eq!(e[0].published_at, Some(1_717_408_800_000));

    let json = parse("feed.json", "https://json.example/feed.json");
    assert_eq!(json.format, FeedFormat::JsonFeed);
    assert_eq!(json.title, "JSON Feed");
    assert_eq!(json.site_url.as_deref(), Some("https://json.example/"));
    let e = clean_all(&json);
    e.iter().for_each(assert_safe);
    assert_eq!(e[0].identity, "1");
    assert_eq!(e[0].title, "JSON item");
    assert_eq!(e[0].url.as_deref(), Some("https://json.example/posts/1"));
    assert_eq!(e[0].author.as_deref(), Some("Frank"));
    assert!(
        e[0].content_html
            .contains(r#"src="https://json.example/i.png""#),
        "{}",
        e[0].content_html
    );
    assert_eq!(e[1].identity, "2");
    assert_eq!(e[1].published_at, Some(1_717_228_800_000));
    assert!(
        e[1].content_html.contains("Plain &lt;text&gt; &amp; more"),
        "{}",
        e[1].content_html
    );
}

#[test]
fn latin1_feeds_are_transcoded() {
    let doc = parse("latin1.xml", "");
    assert_eq!(doc.title, "Café “quoted”");
    assert_eq!(doc.entries[0].title, "Crème brûlée");
}

#[test]
fn unreadable_documents_say_why() {
    let err = |name: &str| feed::parse(&fixture(name), "").err();
    assert_eq!(err("html_page.html"), Some(ParseError::Html));
    assert_eq!(
        err("html_page.html").map(|e| e.to_string()).as_deref(),
        Some("this is an HTML page, not a feed")
    );
    assert_eq!(
        err("empty.xml").map(|e| e.to_string()).as_deref(),
        Some("empty response")
    );
    let broken = err("broken.xml").map(|e| e.to_string()).unwrap_or_default();
    assert!(
        broken.starts_with("the XML is broken at line 4"),
        "{broken}"
    );
    let json = feed::parse(b"{\"items\": [", "")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(json.starts_with("the JSON Feed is broken"), "{json}");
    let other = feed::parse(b"<svg><g/></svg>", "")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(other.contains("starts with <svg>"), "{other}");
    assert!(feed::parse(b"\x00\x01\xff garbage", "").is_err());
}

#[test]
fn newest_and_the_sanitize_budget_bound_one_invocation() {
    let mut xml = String::from("<rss version=\"2.0\"><channel><title>Big</title>");
    for i in 0..120 {
        // Out of order on purpose, with a big body each.
        let day = (i * 37) % 120 + 1;
        xml.push_str(&format!(
            "<item><guid>g{i}</guid><title>T{i}</title><pubDate>{:02} Jan 2024 00:00:00 GMT</pubDate><description>{}</description></item>",
            day % 28 + 1,
            "&lt;p&gt;word &lt;/p&gt;".repeat(2000)
        ));
    }
    xml.push_str("</channel></rss>");
    let doc = feed::parse(xml.as_bytes(), "https://big.example/").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.entries.len(), 120);
    let newest = feed::newest(&doc.entries, FIRST_FETCH_MAX_ENTRIES);
    assert_eq!(newest.len(), FIRST_FETCH_MAX_ENTRIES);
    assert!(newest
        .windows(2)
        .all(|w| w[0].published_at >= w[1].published_at));
    let now = feed::within_budget(&newest, feed::FULL_CONTENT_BUDGET_BYTES);
    assert!(
        (1..FIRST_FETCH_MAX_ENTRIES).contains(&now),
        "the budget takes some, not all: {now}"
    );
    let spent: usize = newest[..now].iter().map(|e| e.content_len()).sum();
    assert!(spent <= feed::FULL_CONTENT_BUDGET_BYTES);
    assert_eq!(feed::within_budget(&newest, 0), 1, "the first always goes");
    let stored: Vec<_> = newest.iter().map(|e| e.clean(NOW)).collect();
    assert!(stored.iter().all(|e| e.content_html.starts_with("<p>word")));
    stored.iter().for_each(assert_safe);
    assert!(stored
        .iter()
        .all(|e| e.summary.chars().count() <= 300 && e.summary.ends_with('…')));
}

#[test]
fn huge_content_is_capped_before_sanitizing() {
    let body = "<p>para</p>".repeat(50_000);
    let json = serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "x", "content_html": body}]});
    let doc = feed::parse(json.to_string().as_bytes(), "").unwrap_or_else(|e| panic!("{e}"));
    let e = doc.entries[0].clean(NOW);
    assert!(
        e.content_html.len() <= feed::MAX_CONTENT_BYTES + 64,
        "{}",
        e.content_html.len()
    );
    assert!(e.content_html.ends_with("</p>"));
}
