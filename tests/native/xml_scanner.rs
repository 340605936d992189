//! The lenient XML scanner's element and scope rules: stray and missing end tags, namespace scopes, linear time.

use orrery::core::feed::{self, Entry, FeedDoc};

const NOW: i64 = 1_800_000_000_000;

fn parse(doc: &str) -> FeedDoc {
    feed::parse(doc.as_bytes(), "https://ex.com/feed.xml").unwrap_or_else(|e| panic!("{e}"))
}

fn entries(doc: &FeedDoc) -> Vec<Entry> {
    doc.entries.iter().map(|e| e.clean(NOW)).collect()
}

#[test]
fn stray_end_tags_close_nothing() {
    let doc = parse(
        "<rss><channel><title>T</title></b><item><title>a</title></p><link>/a</link></item></channel></rss>",
    );
    assert_eq!(doc.title, "T");
    let e = entries(&doc);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].title, "a");
    assert_eq!(e[0].url.as_deref(), Some("https://ex.com/a"));
}

#[test]
fn an_end_tag_closes_what_is_left_open_inside_it() {
    let doc = parse(
        "<rss><channel><item><title>a</title><foo><bar></item><item><title>b</title></item></channel></rss>",
    );
    let titles: Vec<String> = entries(&doc).into_iter().map(|e| e.title).collect();
    assert_eq!(titles, ["a", "b"]);
}

#[test]
fn a_namespace_prefix_is_in_scope_only_inside_its_element() {
    let doc = parse(concat!(
        r#"<rss xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>"#,
        r#"<item xmlns:who="http://purl.org/dc/elements/1.1/"><title>a</title><who:creator>Ann</who:creator><dc:creator>x</dc:creator></item>"#,
        r#"<item><title>b</title><who:creator>Bob</who:creator><dc:creator>Cy</dc:creator></item>"#,
        "</channel></rss>",
    ));
    let authors: Vec<Option<String>> = entries(&doc).into_iter().map(|e| e.author).collect();
    assert_eq!(authors, [Some("Ann".into()), Some("Cy".into())]);
}

#[test]
fn deep_nesting_with_stray_end_tags_parses() {
    // Stray end tags are recognised without scanning the element stack: the old
    // quadratic handling took 13.6 s on this document in a release build, now ~10 ms.
    // (Speed is a benchmark's business; here, the result.)
    let n = 60_000;
    let doc = format!(
        "<rss><channel><title>t</title><item><title>x</title></item>{}{}</channel></rss>",
        "<a>".repeat(n),
        "</b>".repeat(n)
    );
    let parsed = parse(&doc);
    assert_eq!(parsed.entries.len(), 1);
    assert_eq!(parsed.title, "t");
}
