//! Feeds out (Atom, RSS 2.0, RSS 1.0, OPML, a FOAF roll) and OPML in.
//!
//! Every string is escaped by maud and stripped of characters XML forbids; HTML-carrying
//! fields get HTML (sanitized, or plain text HTML-escaped first), escaped once more as XML
//! text. One file per format; [`topics`] names the planet's own feeds as WebSub topics.

mod atom;
mod foaf;
mod opml;
mod rss;
mod rss10;
pub mod topics;

use std::borrow::Cow;

use maud::PreEscaped;

use crate::core::feed::xml_chars;

pub use atom::{atom, atom_with_sources, feed_atom};
pub use foaf::foafroll;
pub use opml::{opml, parse_opml, OpmlError, Outline};
pub use rss::rss;
pub use rss10::rss10;

const XML_DECL: PreEscaped<&str> = PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");

/// A string as XML text may hold it: ingest strips forbidden characters already, this
/// keeps a document valid whatever an older row or a config value holds.
fn xml_safe(s: &str) -> Cow<'_, str> {
    xml_chars(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::Config;
    use crate::core::view_models::{EntryView, FeedView};

    pub(super) fn entry() -> EntryView {
        EntryView {
            id: 5,
            feed_id: 1,
            feed_title: "A & B".into(),
            feed_face: None,
            title: "<script>x</script>".into(),
            url: Some("https://e.example/?a=1&b=2".into()),
            author: Some("Ann".into()),
            published: 1_700_000_000_000,
            summary: "sum".into(),
            content_html: "<p>hi</p>".into(),
            whole: true,
            rev: None,
            day_rank: None,
            local_offset_ms: 0,
            same_as: None,
            also: Vec::new(),
        }
    }

    #[test]
    fn atom_and_rss_escape_everything() {
        let cfg = Config::default();
        for out in [
            atom_with_sources(&cfg, &[entry()], &[member()]).into_string(),
            rss(&cfg, &[entry()]).into_string(),
            rss10(&cfg, &[entry()]).into_string(),
        ] {
            assert!(out.starts_with("<?xml"));
            assert!(!out.contains("<script>"), "{out}");
            assert!(out.contains("&lt;script&gt;"));
            assert!(out.contains("a=1&amp;b=2"));
            assert!(
                out.contains("&lt;p&gt;hi&lt;/p&gt;"),
                "content is escaped HTML text"
            );
            assert!(
                feed_rs::parser::parse(out.as_bytes()).is_ok(),
                "our own output parses: {out}"
            );
        }
    }

    pub(super) fn member() -> FeedView {
        FeedView {
            id: 1,
            url: "https://a.example/feed?token=s3cret&x=1".into(),
            title: "A's feed".into(),
            site_url: Some("https://a.example/".into()),
            description: None,
            format: None,
            status: crate::core::domain::FeedStatus::Active,
            consecutive_failures: 0,
            last_error: None,
            last_fetch_at: None,
            last_success_at: None,
            next_fetch_at: None,
            last_changed_at: None,
            entry_count: 1,
            display_name: Some("Ann <Example>".into()),
            face_url: Some("https://faces.example/ann.png?s=64&x=\"1\"".into()),
            home_url: Some("https://ann.example/".into()),
            push_until: None,
            failing_since: None,
            recent_titles: Vec::new(),
        }
    }

    /// Every element and attribute name of a document (prefix:local as written), checking
    /// it is well-formed XML on the way.
    pub(super) fn names(doc: &str) -> Vec<String> {
        use quick_xml::events::Event;
        let mut r = quick_xml::Reader::from_str(doc);
        r.config_mut().check_end_names = true;
        let mut out = Vec::new();
        let mut text = String::new();
        let flush = |text: &mut String, out: &mut Vec<String>| {
            if !text.trim().is_empty() {
                out.push(format!("#{text}"));
            }
            text.clear();
        };
        loop {
            match r.read_event().expect("well-formed") {
                Event::Start(e) | Event::Empty(e) => {
                    flush(&mut text, &mut out);
                    out.push(e.name().as_ref().to_string());
                    for a in e.attributes() {
                        let a = a.expect("well-formed attribute");
                        let v = quick_xml::escape::unescape(&a.value).expect("escaped value");
                        out.push(format!("@{}={v}", a.key.as_ref()));
                    }
                }
                Event::Text(t) => text.push_str(&t),
                Event::GeneralRef(r) => text.push_str(match &*r {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity {other}"),
                }),
                Event::End(_) => flush(&mut text, &mut out),
                Event::Eof => break,
                _ => {}
            }
        }
        out
    }
}
