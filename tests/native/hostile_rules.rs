//! Hostile feeds and what the public sees: characters XML forbids never reach Atom/RSS/OPML, plain text stays text in HTML-carrying fields, credentials in feed URLs stay hidden.

use orrery::core::config::Config;
use orrery::core::domain::FeedStatus;
use orrery::core::feed::{self, Entry};
use orrery::core::ingest::feed_title;
use orrery::core::syndication::{atom, opml, parse_opml, rss};
use orrery::core::view_models::{EntryView, FeedView};
use orrery::core::views::{feed_page, feeds_page, HomePage};
use quick_xml::events::Event;
use quick_xml::XmlVersion;

const NOW: i64 = 1_800_000_000_000;

/// What XML 1.0 allows (`Char`): tab, LF, CR, and everything from U+0020 but U+FFFE/U+FFFF.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

/// A strict reading of `doc`: well-formed for quick-xml with every check on, and no
/// character XML forbids, raw or written as a character reference (`&#1;` is as invalid
/// as the byte). Returns the decoded text of every element named `name`, in order.
fn strict_xml(doc: &str, name: &str) -> Vec<String> {
    if let Some(bad) = doc.chars().find(|c| !xml_char(*c)) {
        panic!("raw U+{:04X} in the document:\n{doc}", bad as u32);
    }
    let mut reader = quick_xml::Reader::from_str(doc);
    reader.config_mut().enable_all_checks(true);
    let mut stack: Vec<String> = Vec::new();
    let mut found = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                for a in e.attributes() {
                    let a = a.unwrap_or_else(|err| panic!("bad attribute: {err}\n{doc}"));
                    let v = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .unwrap_or_else(|err| panic!("bad attribute value: {err}"));
                    assert!(v.chars().all(xml_char), "attribute {v:?} in {doc}");
                }
                let n = e.local_name().as_ref().to_string();
                if n == name {
                    found.push(String::new());
                }
                stack.push(n);
            }
            Ok(Event::Empty(e)) => {
                for a in e.attributes() {
                    let a = a.unwrap_or_else(|err| panic!("bad attribute: {err}\n{doc}"));
                    let v = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .unwrap_or_else(|err| panic!("bad attribute value: {err}"));
                    assert!(v.chars().all(xml_char), "attribute {v:?} in {doc}");
                }
            }
            Ok(Event::End(_)) => {
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                // Text events stop at references, which come as `GeneralRef` below.
                let text = t.xml10_content().into_owned();
                assert!(text.chars().all(xml_char), "text {text:?} in {doc}");
                if stack.last().is_some_and(|n| n == name) {
                    if let Some(last) = found.last_mut() {
                        last.push_str(&text);
                    }
                }
            }
            Ok(Event::GeneralRef(r)) => {
                let s = r.to_string();
                let c = r
                    .resolve_char_ref()
                    .unwrap_or_else(|err| panic!("bad reference &{s};: {err}"));
                let decoded = match (c, s.as_str()) {
                    (Some(c), _) => c,
                    (None, "amp") => '&',
                    (None, "lt") => '<',
                    (None, "gt") => '>',
                    (None, "quot") => '"',
                    (None, "apos") => '\'',
                    (None, other) => panic!("undeclared entity &{other}; in {doc}"),
                };
                assert!(xml_char(decoded), "&{s}; is not an XML character");
                if stack.last().is_some_and(|n| n == name) {
                    if let Some(last) = found.last_mut() {
                        last.push(decoded);
                    }
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}\n{doc}", reader.error_position()),
        }
    }
    assert!(stack.is_empty(), "unclosed elements {stack:?}");
    found
}

fn view(e: &Entry, feed_title: &str) -> EntryView {
    EntryView {
        id: 7,
        feed_id: 1,
        feed_title: feed_title.to_string(),
        feed_face: None,
        title: e.title.clone(),
        url: e.url.clone(),
        author: e.author.clone(),
        published: e.published_at.unwrap_or(NOW),
        summary: e.summary.clone(),
        content_html: e.content_html.clone(),
        whole: true,
        rev: None,
        day_rank: None,
        local_offset_ms: 0,
        same_as: None,
        also: Vec::new(),
    }
}

fn feed_view(url: &str, title: &str) -> FeedView {
    FeedView {
        id: 3,
        url: url.into(),
        title: title.into(),
        site_url: Some("https://site.example/".into()),
        description: None,
        format: Some("rss".into()),
        status: FeedStatus::Active,
        consecutive_failures: 0,
        last_error: None,
        last_fetch_at: None,
        last_success_at: None,
        next_fetch_at: None,
        last_changed_at: None,
        entry_count: 1,
        display_name: None,
        face_url: None,
        home_url: None,
        push_until: None,
        failing_since: None,
        recent_titles: Vec::new(),
    }
}

const FORBIDDEN: [char; 6] = ['\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1f}', '\u{ffff}'];

fn assert_clean(what: &str, s: &str) {
    assert!(
        !s.contains(FORBIDDEN),
        "{what} keeps a character XML forbids: {s:?}"
    );
}

/// Feeds carrying U+0001 and U+000C (raw, as references, in JSON escapes) in titles,
/// authors, summaries and content: ingest stores none of them, and the planet's Atom and
/// RSS read back strictly.
#[test]
fn characters_xml_forbids_are_stripped_at_ingest_and_our_feeds_stay_valid() {
    let rss_doc = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>\
        <title>Chan\u{1}nel\u{c} one</title><description>Desc\u{1}ription &#x1;\u{ffff}</description>\
        <link>https://ctl.example/</link>\
        <item><title>Hello\u{1} wor\u{c}ld &#12;!</title><link>https://ctl.example/1</link>\
        <author>ann@ctl.example (An\u{1}n)</author>\
        <description>&lt;p&gt;Bo\u{1}dy\u{c} text &amp;#1; here\u{ffff}&lt;/p&gt;</description>\
        <content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><![CDATA[<p>Con\u{1}tent\u{c} <b>bold\u{8}</b></p>]]></content:encoded>\
        </item></channel></rss>";
    let json_doc = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J\u0001son\u000c feed",
        "description":"d\u0001","items":[{"id":"1","url":"https://ctl.example/j","title":"T\u0001itle\u000c",
        "content_html":"<p>H\u0001tml\u000c\uffff</p>","summary":"S\u0001um","authors":[{"name":"B\u0001ob"}]}]}"#;
    for (name, bytes) in [("rss", rss_doc.as_bytes()), ("json", json_doc.as_bytes())] {
        let doc = feed::parse(bytes, "https://ctl.example/feed").expect(name);
        assert_clean("feed title", &doc.title);
        assert_clean("feed description", doc.description.as_deref().unwrap_or(""));
        assert_eq!(doc.entries.len(), 1, "{name}");
        let e = doc.entries[0].clean(NOW);
        for (what, s) in [
            ("title", e.title.as_str()),
            ("author", e.author.as_deref().unwrap_or("")),
            ("summary", e.summary.as_str()),
            ("content", e.content_html.as_str()),
            ("url", e.url.as_deref().unwrap_or("")),
        ] {
            assert_clean(&format!("{name} {what}"), s);
        }
        assert!(
            e.title.contains("Hello") || e.title.contains("Title"),
            "{e:?}"
        );
        let v = view(&e, &feed_title(&doc.title, "https://ctl.example/feed"));
        let cfg = Config::default();
        // The planet's title, the entry's, its source's.
        let titles = strict_xml(&atom(&cfg, std::slice::from_ref(&v)).into_string(), "title");
        assert_eq!(titles[1], e.title, "{name}");
        assert_eq!(titles[2], v.feed_title, "{name}");
        assert_eq!(
            strict_xml(&rss(&cfg, &[v]).into_string(), "item").len(),
            1,
            "{name}"
        );
    }
}

/// Rows stored before ingest stripped them, or a config value, still never make the
/// output invalid: the writers strip too.
#[test]
fn the_feed_writers_strip_forbidden_characters_themselves() {
    let v = EntryView {
        id: 1,
        feed_id: 1,
        feed_title: "Old\u{1} feed".into(),
        feed_face: None,
        title: "Old\u{c} title".into(),
        url: Some("https://old.example/1".into()),
        author: Some("A\u{1}uthor".into()),
        published: NOW,
        summary: "Sum\u{1}mary\u{ffff}".into(),
        content_html: "<p>Con\u{b}tent</p>".into(),
        whole: true,
        rev: None,
        day_rank: None,
        local_offset_ms: 0,
        same_as: None,
        also: Vec::new(),
    };
    let cfg = Config {
        planet_name: "Planet\u{1}".into(),
        ..Config::default()
    };
    let atom_out = atom(&cfg, std::slice::from_ref(&v)).into_string();
    assert_eq!(
        strict_xml(&atom_out, "summary"),
        vec!["Summary".to_string()]
    );
    let rss_out = rss(&cfg, std::slice::from_ref(&v)).into_string();
    assert_eq!(strict_xml(&rss_out, "title")[1], "Old feed: Old title");
    let mut no_content = v.clone();
    no_content.content_html.clear();
    strict_xml(&rss(&cfg, &[no_content]).into_string(), "description");
    let opml_out = opml(
        &cfg,
        &[feed_view("https://old.example/f", "Fe\u{1}ed\u{c}")],
    )
    .into_string();
    strict_xml(&opml_out, "outline");
    assert!(opml_out.contains("text=\"Feed\""), "{opml_out}");
}

/// An RSS description is HTML to every reader: a plain-text summary that reads like
/// markup must arrive as text (escaped twice: once as HTML, once as XML).
#[test]
fn plain_text_stays_text_in_html_carrying_fields() {
    let v = EntryView {
        id: 2,
        feed_id: 1,
        feed_title: "F".into(),
        feed_face: None,
        title: "<b>not bold</b>".into(),
        url: None,
        author: None,
        published: NOW,
        summary: "<script>alert(1)</script> & <img src=x onerror=alert(2)>".into(),
        content_html: String::new(),
        whole: true,
        rev: None,
        day_rank: None,
        local_offset_ms: 0,
        same_as: None,
        also: Vec::new(),
    };
    let cfg = Config::default();
    let out = rss(&cfg, std::slice::from_ref(&v)).into_string();
    let descriptions = strict_xml(&out, "description");
    // The channel's, then the item's; each decoded once, as a reader does, is HTML.
    let item_html = &descriptions[1];
    assert!(
        item_html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{item_html}"
    );
    assert!(item_html.contains("&amp; &lt;img"), "{item_html}");
    assert!(!item_html.contains('<'), "no markup at all: {item_html}");
    assert!(!descriptions[0].contains('<'));

    // Sanitized content is HTML already: it goes in as is, escaped once as XML.
    let mut with_content = v.clone();
    with_content.content_html = "<p>Hi <em>there</em></p>".into();
    let out = rss(&cfg, &[with_content.clone()]).into_string();
    assert_eq!(
        strict_xml(&out, "description")[1],
        "<p>Hi <em>there</em></p>"
    );

    // Atom says which is which: summary is type="text" (the text, escaped once), content is
    // type="html" (the sanitized HTML, escaped once).
    let out = atom(&cfg, &[with_content]).into_string();
    assert_eq!(strict_xml(&out, "summary"), vec![v.summary.clone()]);
    assert_eq!(
        strict_xml(&out, "content"),
        vec!["<p>Hi <em>there</em></p>".to_string()]
    );
    assert!(out.contains("<summary>&lt;script&gt;"), "{out}");
    assert!(out.contains("<content type=\"html\">&lt;p&gt;"), "{out}");
}

const SECRET_URL: &str = "https://private.example/feed.xml?user=ann&token=s3cr3t&API_KEY=k3y";

/// A feed URL with credentials: the public sees the parameter names, never their values.
#[test]
fn credentials_in_feed_urls_never_reach_public_output() {
    let cfg = Config::default();
    let untitled = feed_view(SECRET_URL, "");
    let titled = FeedView {
        last_error: Some(format!("redirect loop at {SECRET_URL}")),
        ..feed_view(SECRET_URL, "Private feed")
    };
    let shown = "https://private.example/feed.xml?user=ann&token=hidden&API_KEY=hidden";
    assert_eq!(untitled.display_title(), shown);
    assert_eq!(untitled.url, SECRET_URL, "the view keeps the real URL");

    let opml_out = opml(&cfg, &[untitled.clone(), titled.clone()]).into_string();
    let json = serde_json::to_string(&[&untitled, &titled]).expect("json");
    let feeds_html =
        feeds_page(&cfg, &[untitled.clone(), titled.clone()], 2, None, 0).into_string();
    let page = HomePage {
        entries: &[],
        older: None,
        paged: false,
        revision: 0,
        fair: None,
    };
    let feed_html = feed_page(&cfg, &titled, &page).into_string();
    let untitled_html = feed_page(&cfg, &untitled, &page).into_string();
    for (what, out) in [
        ("OPML", &opml_out),
        ("/api/feeds JSON", &json),
        ("/feeds", &feeds_html),
        ("/feeds/{id}", &feed_html),
        ("/feeds/{id} untitled", &untitled_html),
    ] {
        assert!(!out.contains("s3cr3t"), "{what} shows the token: {out}");
        assert!(!out.contains("k3y"), "{what} shows the key: {out}");
    }
    assert_eq!(
        parse_opml(&opml_out)
            .expect("our OPML parses")
            .into_iter()
            .map(|o| o.url)
            .collect::<Vec<_>>(),
        vec![shown.to_string()]
    );
    assert!(json.contains(&format!("\"url\":\"{shown}\"")), "{json}");
    assert!(
        json.contains("redirect loop at https://private.example/feed.xml?user=ann&token=hidden")
    );
    assert!(feed_html.contains("token=hidden"), "{feed_html}");

    // The name entries carry on the socket and in the API when the feed has no title.
    assert_eq!(feed_title("", SECRET_URL), shown);
    assert_eq!(feed_title("Named", SECRET_URL), "Named");
}
