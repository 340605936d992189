//! Feeds out (Atom, RSS, OPML) and OPML in. Every string is escaped by maud and stripped of characters XML forbids; HTML-carrying fields get HTML (sanitized, or plain text HTML-escaped first), escaped once more as XML text.

use std::borrow::Cow;

use maud::{html, Markup, PreEscaped};

use crate::core::config::Config;
use crate::core::feed::xml_chars;
use crate::core::fetch_policy::public_url;
use crate::core::model::{EntryView, FeedView};
use crate::core::views::iso_time;

const XML_DECL: PreEscaped<&str> = PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");

/// A string as XML text may hold it: ingest strips forbidden characters already, this
/// keeps a document valid whatever an older row or a config value holds.
fn x(s: &str) -> Cow<'_, str> {
    xml_chars(s)
}

/// Plain text for a field whose content is HTML (an RSS `<description>`): HTML-escaped,
/// so `<script>` read as text stays text; maud then escapes it once more as XML.
fn text_as_html(text: &str) -> String {
    html! { (x(text)) }.into_string()
}

fn rfc822(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%a, %d %b %Y %H:%M:%S +0000").to_string())
        .unwrap_or_default()
}

/// The planet as Atom 1.0.
pub fn atom(cfg: &Config, entries: &[EntryView]) -> Markup {
    let updated = entries.iter().map(|e| e.published).max().unwrap_or(0);
    html! {
        (XML_DECL)
        feed xmlns="http://www.w3.org/2005/Atom" {
            title { (x(&cfg.planet_name)) }
            subtitle { (x(&cfg.planet_description)) }
            id { (x(&cfg.planet_url)) "/" }
            link rel="alternate" href=(x(&format!("{}/", cfg.planet_url))) {}
            link rel="self" href=(x(&format!("{}/feed.atom", cfg.planet_url))) {}
            updated { (iso_time(updated)) }
            generator { "Orrery" }
            @for e in entries {
                entry {
                    // Atom text constructs without a type are plain text: escaped once.
                    title { (x(&e.title)) }
                    id { (x(&format!("{}/entries/{}", cfg.planet_url, e.id))) }
                    @if let Some(u) = &e.url { link rel="alternate" href=(x(u)) {} }
                    updated { (iso_time(e.published)) }
                    published { (iso_time(e.published)) }
                    author { name { (x(e.author.as_deref().unwrap_or(&e.feed_title))) } }
                    source { title { (x(&e.feed_title)) } }
                    @if !e.summary.is_empty() { summary { (x(&e.summary)) } }
                    @if !e.content_html.is_empty() { content type="html" { (x(&e.content_html)) } }
                }
            }
        }
    }
}

/// The planet as RSS 2.0.
pub fn rss(cfg: &Config, entries: &[EntryView]) -> Markup {
    html! {
        (XML_DECL)
        rss version="2.0" {
            channel {
                title { (x(&cfg.planet_name)) }
                link { (x(&cfg.planet_url)) "/" }
                description { (text_as_html(&cfg.planet_description)) }
                generator { "Orrery" }
                @for e in entries {
                    item {
                        title { (x(&e.feed_title)) ": " (x(&e.title)) }
                        @if let Some(u) = &e.url { link { (x(u)) } }
                        guid isPermaLink="false" { (x(&format!("{}/entries/{}", cfg.planet_url, e.id))) }
                        pubDate { (rfc822(e.published)) }
                        @if let Some(a) = &e.author { author { (x(a)) } }
                        // An RSS description is HTML: sanitized content as is, a plain summary HTML-escaped first.
                        description {
                            @if e.content_html.is_empty() { (text_as_html(&e.summary)) }
                            @else { (x(&e.content_html)) }
                        }
                    }
                }
            }
        }
    }
}

/// The subscription list as OPML 2.0.
pub fn opml(cfg: &Config, feeds: &[FeedView]) -> Markup {
    html! {
        (XML_DECL)
        opml version="2.0" {
            head { title { (x(&cfg.planet_name)) " subscriptions" } }
            body {
                // The list is public: credentials in a feed's query string are hidden.
                @for f in feeds {
                    @let title = f.display_title();
                    outline type="rss" text=(x(&title)) title=(x(&title)) xmlUrl=(x(&public_url(&f.url)))
                        htmlUrl=[f.site_link().map(x)] face=[f.face_url.as_deref().map(x)] {}
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    #[error("the OPML is not well-formed XML: {0}")]
    Xml(String),
    #[error("no feeds found: expected <outline xmlUrl=\"…\"> elements")]
    Empty,
}

/// One subscription of an OPML document, its attributes as written (unvalidated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline {
    /// `xmlUrl`.
    pub url: String,
    /// `title`, else `text`: the member's name.
    pub title: Option<String>,
    /// The member's face: [`FACE_ATTRIBUTES`].
    pub face: Option<String>,
    /// `htmlUrl`: the member's site.
    pub home: Option<String>,
}

/// Attributes read as an outline's face, first found wins (any case): Orrery writes
/// `face`, as Planet Venus calls a member's picture; the others are what other planets
/// and readers write.
pub const FACE_ATTRIBUTES: [&str; 5] = ["face", "faceUrl", "avatar", "hackergotchi", "icon"];

/// Every outline with an `xmlUrl` in an OPML document, in order, the first of each URL.
pub fn parse_opml(text: &str) -> Result<Vec<Outline>, OpmlError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out: Vec<Outline> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.local_name().as_ref() == "outline" => {
                let mut attrs: Vec<(String, String)> = Vec::new();
                for attr in e.attributes().flatten() {
                    let name = attr.key.local_name().as_ref().to_string();
                    let v = quick_xml::escape::unescape(&attr.value)
                        .map_err(|err| OpmlError::Xml(err.to_string()))?
                        .trim()
                        .to_string();
                    attrs.push((name, v));
                }
                let get = |want: &str| {
                    attrs
                        .iter()
                        .find(|(n, v)| n.eq_ignore_ascii_case(want) && !v.is_empty())
                        .map(|(_, v)| v.clone())
                };
                let Some(url) = get("xmlUrl") else { continue };
                if out.iter().any(|o| o.url == url) {
                    continue;
                }
                out.push(Outline {
                    url,
                    title: get("title").or_else(|| get("text")),
                    face: FACE_ATTRIBUTES.iter().find_map(|a| get(a)),
                    home: get("htmlUrl"),
                });
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(OpmlError::Xml(e.to_string())),
        }
    }
    if out.is_empty() {
        Err(OpmlError::Empty)
    } else {
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> EntryView {
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
        }
    }

    #[test]
    fn atom_and_rss_escape_everything() {
        let cfg = Config::default();
        for out in [
            atom(&cfg, &[entry()]).into_string(),
            rss(&cfg, &[entry()]).into_string(),
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

    #[test]
    fn opml_round_trips() {
        let feeds = vec![FeedView {
            id: 1,
            url: "https://a.example/feed?x=1&y=2".into(),
            title: "A \"quoted\" <feed>".into(),
            site_url: None,
            description: None,
            format: None,
            status: crate::core::ingest::FeedStatus::Active,
            consecutive_failures: 0,
            last_error: None,
            last_fetch_at: None,
            last_success_at: None,
            next_fetch_at: None,
            last_changed_at: None,
            entry_count: 0,
            display_name: None,
            face_url: None,
            home_url: None,
        }];
        let out = opml(&Config::default(), &feeds).into_string();
        let urls: Vec<String> = parse_opml(&out)
            .unwrap()
            .into_iter()
            .map(|o| o.url)
            .collect();
        assert_eq!(urls, vec!["https://a.example/feed?x=1&y=2".to_string()]);
        let named = FeedView {
            display_name: Some("Ann <Lee>".into()),
            face_url: Some("https://a.example/ann.png?s=1&t=2".into()),
            home_url: Some("https://ann.example/".into()),
            ..feeds[0].clone()
        };
        let out = opml(&Config::default(), &[named]).into_string();
        let back = parse_opml(&out).unwrap();
        assert_eq!(back[0].title.as_deref(), Some("Ann <Lee>"));
        assert_eq!(
            back[0].face.as_deref(),
            Some("https://a.example/ann.png?s=1&t=2")
        );
        assert_eq!(back[0].home.as_deref(), Some("https://ann.example/"));
    }

    #[test]
    fn opml_errors_are_clear() {
        assert_eq!(
            parse_opml("<opml><body></body></opml>"),
            Err(OpmlError::Empty)
        );
        assert!(matches!(
            parse_opml("<opml><body><outline xmlUrl='a'></body>"),
            Err(OpmlError::Xml(_))
        ));
        let nested = r#"<opml version="1.0"><body><outline text="group"><outline xmlUrl="https://x/1"/><outline xmlURL="https://x/2"/></outline></body></opml>"#;
        assert_eq!(parse_opml(nested).unwrap().len(), 2);
        let venus = r#"<opml><body><outline text="Jeff" title="Jeff W" xmlUrl="https://j/feed" hackergotchi="https://j/j.png" htmlUrl="https://j/"/><outline text="Kim" xmlUrl="https://k/feed" FACE="https://k/k.png"/></body></opml>"#;
        let o = parse_opml(venus).unwrap();
        assert_eq!(o[0].title.as_deref(), Some("Jeff W"));
        assert_eq!(o[0].face.as_deref(), Some("https://j/j.png"));
        assert_eq!(o[1].title.as_deref(), Some("Kim"));
        assert_eq!(o[1].face.as_deref(), Some("https://k/k.png"));
    }
}
