//! Feed pipeline rules on fixture files: formats, leniency, identity, dates, plain text and sanitizing.

use orrery::core::feed::{self, Entry, FeedDoc, FeedFormat, ParseError, FIRST_FETCH_MAX_ENTRIES};
use url::Url;

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
    assert_safe(&e[0]);
    // The second title is Atom `type="text"`: its `<b>` is text, shown as typed (titles are escaped on output).
    assert_safe(&Entry {
        title: String::new(),
        ..e[1].clone()
    });
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

    // A text title is the text as it is, markup-like characters and all; `<source>` does not leak.
    assert_eq!(e[1].title, "Text type <b>not bold</b> & 1 < 2");
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
fn a_self_closing_element_reads_as_an_empty_pair() {
    let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>T</title><entry><id>1</id>\
                <title>A</title><author{}<contributor><name>Ann</name></contributor></entry></feed>";
    let rss = "<rss version=\"2.0\"><channel><x:channel xmlns:x=\"urn:x\"{}\
               <title>T</title><item><guid>1</guid><title>A</title></item></channel></rss>";
    for (doc, closed) in [(atom, "></author>"), (rss, "></x:channel>")] {
        let read = |tail: &str| {
            let d = feed::parse(doc.replace("{}", tail).as_bytes(), "").unwrap();
            (d.title, d.entries)
        };
        assert_eq!(read("/>"), read(closed), "{doc}");
    }
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
        e.content_html.len() <= feed::MAX_CONTENT_BYTES + 128,
        "{}",
        e.content_html.len()
    );
    assert!(e.truncated);
    // Never a silent cut: without a URL, a plain note says so.
    assert!(
        e.content_html.ends_with(
            "<p>para</p><p class=\"continued\">(This post is longer than Orrery keeps.)</p>"
        ),
        "{}",
        &e.content_html[e.content_html.len() - 200..]
    );
}

/// The one entry of `doc` whose URL ends with `suffix`, cleaned.
fn entry_at(entries: &[Entry], suffix: &str) -> Entry {
    entries
        .iter()
        .find(|e| e.url.as_deref().is_some_and(|u| u.ends_with(suffix)))
        .cloned()
        .unwrap_or_else(|| panic!("no entry at …{suffix}"))
}

#[test]
fn titles_keep_escaped_markup_as_text_by_their_type() {
    // Atom: type="html" is markup (stripped), its entities decoded once; type="text" is the text as is.
    let doc = parse("atom_titles.xml", "https://titles.example/atom");
    assert_eq!(doc.title, "Tags <in> titles");
    let e = clean_all(&doc);
    assert_eq!(e[0].title, "History of the <blink> tag", "type=html");
    assert_eq!(e[1].title, "History of the <blink> tag", "type=text");
    assert_eq!(e[2].title, "Emphasis & ampersand", "type=html with markup");

    // Atom 0.3: mode="escaped" type="text/html", and the default (text/plain).
    let old = clean_all(&parse("atom03_modes.xml", "https://modes.example/atom"));
    assert_eq!(old[0].title, "History of the <blink> tag");
    assert_eq!(old[1].title, "History of the <blink> tag");

    // RSS titles are untyped: HTML only where it looks like HTML (end tags, known elements).
    let rss = clean_all(&parse("rss_modules.xml", "https://mod.example/rss"));
    assert_eq!(entry_at(&rss, "/5").title, "History of the <blink> tag");
    assert_eq!(
        entry_at(&rss, "/6").title,
        "History of the <blink> tag & more",
        "double-escaped: decoded once more, as HTML"
    );
    assert_eq!(entry_at(&rss, "/7").title, "Bold AT&T");

    // JSON Feed titles are plain text.
    let json = clean_all(&parse(
        "attachments.json",
        "https://attached.example/feed.json",
    ));
    assert_eq!(json[0].title, "History of the <blink> tag");
}

#[test]
fn bodies_from_atom_03_modes_xhtml_body_and_fullitem() {
    let old = clean_all(&parse("atom03_modes.xml", "https://modes.example/atom"));
    old.iter().for_each(assert_safe);
    assert_eq!(
        old[0].content_html, "<p>Base64 <b>body</b> été</p>",
        "mode=base64"
    );
    assert_eq!(old[0].summary, "Base64 body été");
    assert_eq!(
        old[1].content_html, "<p>Escaped <i>body</i></p>",
        "mode=escaped"
    );

    let rss = clean_all(&parse("rss_modules.xml", "https://mod.example/rss"));
    rss.iter().for_each(assert_safe);
    let one = entry_at(&rss, "/1");
    assert_eq!(
        one.content_html, "<p>An <strong>XHTML</strong> body &amp; more.</p>",
        "xhtml:body, prefixes and script gone"
    );
    let two = entry_at(&rss, "/2");
    assert_eq!(
        two.content_html,
        r#"<p>A default-namespace <a href="https://mod.example/rel" rel="noopener noreferrer">body</a>.</p>"#,
        "<body xmlns=xhtml>"
    );
    assert_eq!(two.summary, "The description is the summary.");
    assert_eq!(
        entry_at(&rss, "/3").content_html,
        "<p>The full item, escaped.</p>"
    );
}

#[test]
fn dublin_core_itunes_and_media_rss_stand_in_for_missing_core_fields() {
    let rss = clean_all(&parse("rss_modules.xml", "https://mod.example/rss"));
    let one = entry_at(&rss, "/1");
    assert_eq!(one.title, "Only a DC title");
    assert_eq!(
        one.author.as_deref(),
        Some("Core Author"),
        "core <author> wins"
    );
    assert_eq!(one.summary, "A Dublin Core description.");
    assert_eq!(entry_at(&rss, "/2").title, "Core title wins");
    let three = entry_at(&rss, "/3");
    assert_eq!(three.title, "An iTunes title");
    assert_eq!(three.author.as_deref(), Some("Tunes Author"));
    // A YouTube-like media:group: its title and description are the entry's.
    let four = entry_at(&rss, "/4");
    assert_eq!(four.title, "A video's title");
    assert!(
        four.content_html
            .starts_with("<p>What the video is about.</p>"),
        "{}",
        four.content_html
    );

    let titles = clean_all(&parse("atom_titles.xml", "https://titles.example/atom"));
    assert!(titles[2]
        .content_html
        .starts_with("<p>A YouTube-style <b>description</b>.</p>"));

    let cast = clean_all(&parse("podcast.xml", "https://cast.example/feed"));
    assert_eq!(
        cast[0].author.as_deref(),
        Some("Grace Host"),
        "a bare email <author> gives way to dc:creator"
    );
    assert_eq!(
        cast[1].author.as_deref(),
        Some("Alan Guest"),
        "itunes:author"
    );
    assert_eq!(
        cast[1].summary, "Orbits, ellipses & the rest.",
        "itunes:summary"
    );
    assert_eq!(
        cast[2].author.as_deref(),
        Some("Cast Team"),
        "the channel's itunes:author"
    );
}

#[test]
fn podcasts_get_players_with_durations_and_downloads() {
    let doc = parse("podcast.xml", "https://cast.example/feed");
    let e = clean_all(&doc);
    e.iter().for_each(assert_safe);
    let ep2 = &e[0].content_html;
    // One player for the enclosure and its media:content twin, after the body.
    assert!(
        ep2.starts_with("<p>We talk about <b>rings</b>.</p><figure class=\"media\">"),
        "{ep2}"
    );
    assert_eq!(ep2.matches("<audio").count(), 1, "{ep2}");
    assert!(ep2.contains(r#"<audio controls preload="none" src="https://cdn.cast.example/ep2.mp3?token=a&amp;b=1"></audio>"#), "{ep2}");
    assert!(ep2.contains("<figcaption>1:02:03 · <a href=\"https://cdn.cast.example/ep2.mp3?token=a&amp;b=1\" rel=\"noopener noreferrer\">Download</a> (34.5 MB)</figcaption>"), "{ep2}");
    assert!(
        !ep2.contains("ep2.jpg"),
        "cover art is not a picture of the post: {ep2}"
    );

    let ep1 = &e[1].content_html;
    assert!(
        ep1.contains(r#"src="https://cast.example/media/ep1.m4a""#),
        "relative enclosure resolved: {ep1}"
    );
    assert!(ep1.contains("<figcaption>12:34 · "), "{ep1}");
    assert!(!ep1.contains("javascript"), "{ep1}");
    assert!(
        ep1.contains(r#"Attachment: <a href="https://cdn.cast.example/notes-ep1.pdf" rel="noopener noreferrer">notes-ep1.pdf</a> (application/pdf, 250 kB)"#),
        "{ep1}"
    );

    let trailer = &e[2].content_html;
    assert!(
        trailer.contains(r#"<video controls preload="none" src="https://cdn.cast.example/trailer.mp4" poster="https://cdn.cast.example/trailer.jpg"></video><figcaption>1:35 · "#),
        "{trailer}"
    );
    assert_eq!(trailer.matches("trailer.jpg").count(), 1, "{trailer}");

    // Media counts in the fingerprint: a new enclosure is an edit.
    let bytes =
        String::from_utf8_lossy(&fixture("podcast.xml")).replace("ep2.mp3", "ep2-fixed.mp3");
    let changed = feed::parse(bytes.as_bytes(), "https://cast.example/feed")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(doc.entries[0].fingerprint, changed.entries[0].fingerprint);
    assert_eq!(doc.entries[1].fingerprint, changed.entries[1].fingerprint);
}

#[test]
fn title_less_social_posts_read_text_first_images_beneath() {
    let doc = parse("mastodon.xml", "https://social.example/@ada.rss");
    let e = clean_all(&doc);
    e.iter().for_each(assert_safe);
    assert_eq!(e[0].title, "Two pictures of the #moon tonight.");
    let html = &e[0].content_html;
    let text = html.find("tonight.</p>").unwrap_or(usize::MAX);
    let img = html.find("<img").unwrap_or(0);
    assert!(text < img, "text first, images beneath: {html}");
    assert!(html.contains(r#"<figure class="media"><img src="https://files.social.example/media/a1/original/moon1.jpg" loading="lazy" decoding="async" referrerpolicy="no-referrer" alt="The moon over a &quot;dark&quot; hill &amp; trees"></figure>"#), "alt text from media:description: {html}");
    assert!(html.contains(r#"<img src="https://files.social.example/media/a2/original/moon2.png" loading="lazy" decoding="async" referrerpolicy="no-referrer" alt="">"#), "{html}");

    let two = &e[1].content_html;
    assert_eq!(
        two.matches("sun.jpg").count(),
        1,
        "an image the body shows is not repeated: {two}"
    );
    assert!(
        two.contains(r#"poster="https://files.social.example/media/b2/small/clip.jpg""#),
        "{two}"
    );

    // Only absolute http(s) URLs, checked as links are.
    let hostile = String::from_utf8_lossy(&fixture("mastodon.xml")).replace(
        "https://files.social.example/media/a2/original/moon2.png",
        "data:image/png;base64,AAAA",
    );
    let doc = feed::parse(hostile.as_bytes(), "https://social.example/@ada.rss")
        .unwrap_or_else(|e| panic!("{e}"));
    let html = doc.entries[0].clean(NOW).content_html;
    assert_eq!(html.matches("<img").count(), 1, "{html}");
    assert!(!html.contains("data:"), "{html}");
}

#[test]
fn json_feed_attachments_and_images() {
    let e = clean_all(&parse(
        "attachments.json",
        "https://attached.example/feed.json",
    ));
    e.iter().for_each(assert_safe);
    let html = &e[0].content_html;
    assert!(html.starts_with("<p>Show notes.</p><figure class=\"media\"><audio controls preload=\"none\" src=\"https://attached.example/ep9.mp3\"></audio><figcaption>30:30 · "), "{html}");
    assert!(html.contains("(20.5 MB)"), "{html}");
    assert!(
        html.contains(r#"src="https://attached.example/ep9.ogg""#),
        "{html}"
    );
    assert!(!html.contains("javascript"), "{html}");
    assert!(html.ends_with(r#"<figure class="media"><img src="https://attached.example/img/ep9.png" loading="lazy" decoding="async" referrerpolicy="no-referrer" alt=""></figure>"#), "{html}");
    assert_eq!(
        e[1].content_html,
        r#"<p>A note with a picture beneath.</p><figure class="media"><img src="https://attached.example/banner.jpg" loading="lazy" decoding="async" referrerpolicy="no-referrer" alt=""></figure>"#
    );
}

#[test]
fn media_items_are_capped() {
    let mut xml = String::from(
        r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>M</title><item><link>https://m.example/1</link><description>Many</description>"#,
    );
    for i in 0..30 {
        xml.push_str(&format!(
            r#"<media:content url="https://m.example/{i}.jpg" medium="image"/>"#
        ));
    }
    xml.push_str("</item></channel></rss>");
    let doc =
        feed::parse(xml.as_bytes(), "https://m.example/feed").unwrap_or_else(|e| panic!("{e}"));
    let e = doc.entries[0].clean(NOW);
    assert_eq!(
        e.content_html.matches("<img").count(),
        8,
        "{}",
        e.content_html
    );
}

#[test]
fn the_sanitizer_makes_images_private_and_players_safe() {
    let body = r#"<p><img src="/a.png"> <img src="https://x.example/b.png" referrerpolicy="unsafe-url" loading="eager"></p>
<audio src="/ep.mp3" autoplay></audio><audio src="mailto:x@y.example"></audio>
<video src="javascript:alert(1)" poster="mailto:p@q.example" onplay="x()"><source src="https://x.example/v.webm" type="video/webm"><source src="mailto:z@y.example"></video>"#;
    let json = serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "s", "url": "https://x.example/post", "content_html": body}]});
    let doc = feed::parse(json.to_string().as_bytes(), "https://x.example/feed.json")
        .unwrap_or_else(|e| panic!("{e}"));
    let e = doc.entries[0].clean(NOW);
    assert_safe(&e);
    let html = &e.content_html;
    assert_eq!(
        html.matches(r#"referrerpolicy="no-referrer""#).count(),
        2,
        "{html}"
    );
    assert_eq!(html.matches(r#"loading="lazy""#).count(), 2, "{html}");
    assert!(
        !html.contains("unsafe-url") && !html.contains("eager"),
        "{html}"
    );
    assert!(html.contains(r#"src="https://x.example/a.png""#), "{html}");
    assert!(html.contains(r#"src="https://x.example/ep.mp3""#), "{html}");
    assert!(
        !html.contains("autoplay") && !html.contains("mailto"),
        "{html}"
    );
    assert_eq!(
        html.matches(r#"controls="""#).count(),
        3,
        "every player has controls: {html}"
    );
    assert!(
        html.contains(r#"<source src="https://x.example/v.webm" type="video/webm">"#),
        "{html}"
    );
}

/// Open and close counts of some elements match: the markup is whole.
fn assert_balanced(html: &str) {
    for tag in ["div", "blockquote", "p", "ul", "li", "a", "em"] {
        let open =
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        let close = html.matches(&format!("</{tag}>")).count();
        assert_eq!(open, close, "<{tag}>: {open} opened, {close} closed");
    }
}

#[test]
fn long_posts_end_with_a_link_to_the_rest_never_a_silent_cut() {
    let words = "word <em>and</em> <a href=\"/x\">link</a> ".repeat(feed::MAX_CONTENT_BYTES / 24);
    let body = format!(
        "<div><blockquote><ul><li><p>{words}</p></li></ul></blockquote></div><p>THE END</p>"
    );
    assert!(body.len() > feed::MAX_CONTENT_BYTES);
    let xml = format!(
        r#"<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>L</title>
<item><link>https://long.example/p?a=1&amp;b=2</link><title>Long</title><content:encoded><![CDATA[{body}]]></content:encoded>
<enclosure url="https://long.example/a.mp3" type="audio/mpeg"/></item>
<item><link>https://long.example/short</link><title>Short</title><content:encoded><![CDATA[<p>{}</p>]]></content:encoded></item>
</channel></rss>"#,
        "x".repeat(feed::MAX_CONTENT_BYTES - 100)
    );
    let doc =
        feed::parse(xml.as_bytes(), "https://long.example/feed").unwrap_or_else(|e| panic!("{e}"));
    let e = doc.entries[0].clean(NOW);
    assert!(e.truncated);
    let html = &e.content_html;
    assert!(!html.contains("THE END"));
    let note = r#"<p class="continued"><a href="https://long.example/p?a=1&amp;b=2" rel="noopener noreferrer">Continued at the source…</a></p>"#;
    let at = html
        .find(note)
        .unwrap_or_else(|| panic!("no note: …{}", &html[html.len() - 400..]));
    assert!(
        html[..at].ends_with("</p></li></ul></blockquote></div>"),
        "the sanitizer closed what the cut left open: …{}",
        &html[at - 200..at]
    );
    assert!(
        html[at + note.len()..].starts_with("<figure class=\"media\"><audio"),
        "media after the note"
    );
    assert_balanced(html);

    let short = doc.entries[1].clean(NOW);
    assert!(!short.truncated, "under the cap: whole");
    assert!(!short.content_html.contains("continued"));

    // Escaped HTML far past the cap: read only as far as needed, still ends with the note.
    let escaped = format!(
        r#"<rss version="2.0"><channel><title>L</title><item><link>https://long.example/e</link><description>{}</description></item></channel></rss>"#,
        "&lt;p&gt;escaped &amp;amp; long&lt;/p&gt;".repeat(feed::MAX_CONTENT_BYTES / 4)
    );
    let doc = feed::parse(escaped.as_bytes(), "https://long.example/feed")
        .unwrap_or_else(|e| panic!("{e}"));
    let e = doc.entries[0].clean(NOW);
    assert!(e.truncated);
    assert!(e.content_html.ends_with(r#"</p><p class="continued"><a href="https://long.example/e" rel="noopener noreferrer">Continued at the source…</a></p>"#));
    assert_balanced(&e.content_html);
    assert!(e.content_html.len() <= feed::MAX_CONTENT_BYTES + 200);
}

#[test]
fn websub_hub_and_self_links_are_read_from_atom_rss_and_json_feed() {
    let base = Url::parse("https://blog.example/feed").unwrap();
    let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
        <link rel="alternate" href="/"/><link rel="hub" href="https://pubsubhubbub.appspot.com/"/>
        <link rel="self" href="/feed.atom"/><link rel="hub" href="https://second.example/"/></feed>"#;
    let doc = feed::parse(atom, base.as_str()).unwrap();
    assert_eq!(
        doc.hub.as_deref(),
        Some("https://pubsubhubbub.appspot.com/"),
        "the first hub"
    );
    assert_eq!(
        doc.self_url.as_deref(),
        Some("https://blog.example/feed.atom")
    );
    assert_eq!(doc.site_url.as_deref(), Some("https://blog.example/"));
    let rss = br#"<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>R</title>
        <atom:link rel="hub" href="https://hub.example/"/><atom:link href="https://blog.example/rss" rel="self"/>
        <item><title>x</title><atom:link rel="hub" href="https://item-level.example/"/></item></channel></rss>"#;
    let doc = feed::parse(rss, base.as_str()).unwrap();
    assert_eq!(doc.hub.as_deref(), Some("https://hub.example/"));
    assert_eq!(doc.self_url.as_deref(), Some("https://blog.example/rss"));
    let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","feed_url":"https://blog.example/feed.json",
        "hubs":[{"type":"rssCloud","url":"https://cloud.example/"},{"type":"WebSub","url":"https://hub.example/j"}],"items":[]}"#;
    let doc = feed::parse(json, base.as_str()).unwrap();
    assert_eq!(
        doc.hub.as_deref(),
        Some("https://hub.example/j"),
        "only a WebSub hub"
    );
    assert_eq!(
        doc.self_url.as_deref(),
        Some("https://blog.example/feed.json")
    );
    let none = feed::parse(
        b"<rss version=\"2.0\"><channel><title>N</title></channel></rss>",
        base.as_str(),
    )
    .unwrap();
    assert_eq!((none.hub, none.self_url), (None, None));
}
