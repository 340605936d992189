//! Finding a site's feeds from its home page.
//!
//! `<link rel="alternate">` of feed types, then the common paths; and a cheap sniff of
//! whether a document is a feed.

use serde::Serialize;
use url::Url;

use super::parse::xml::attrs;
use super::text::xml_text;

/// Feeds one page may announce that Orrery lists at most.
const MAX_LINKS: usize = 10;
/// Paths tried, in order, when a page announces no feed (relative to the page).
pub const COMMON_PATHS: [&str; 6] = [
    "feed",
    "rss.xml",
    "atom.xml",
    "index.xml",
    "feed.json",
    "rss",
];
/// The start of a page read for its `<link>`s (they belong in `<head>`).
const HEAD_BYTES: usize = 256 * 1024;

/// A feed a page announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedLink {
    pub url: String,
    /// Its `title` attribute, plain text ("" if none).
    pub title: String,
    /// `rss`, `atom`, `json` or `rdf`.
    pub kind: &'static str,
}

fn kind_of(mime: &str) -> Option<&'static str> {
    let m = mime.trim().to_ascii_lowercase();
    let m = m.split(';').next().unwrap_or("").trim();
    match m {
        "application/rss+xml" => Some("rss"),
        "application/atom+xml" => Some("atom"),
        "application/feed+json" | "application/json" => Some("json"),
        "application/rdf+xml" => Some("rdf"),
        _ => None,
    }
}

/// The feeds an HTML page announces with `<link rel="alternate" type="…">` (RSS, Atom,
/// JSON Feed, RDF), resolved against `page` (or the page's `<base href>`), http(s) only,
/// without repeats, in page order, at most [`MAX_LINKS`].
pub fn feed_links(html: &str, page: &Url) -> Vec<FeedLink> {
    let head = super::sanitize::cap(html, HEAD_BYTES);
    let lower = head.to_ascii_lowercase();
    let mut base = page.clone();
    let mut out: Vec<FeedLink> = Vec::new();
    let mut at = 0;
    while let Some(p) = lower[at..].find('<') {
        let start = at + p + 1;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let tag = &head[start..end];
        at = end;
        let name_len = tag
            .bytes()
            .position(|b| b.is_ascii_whitespace() || b == b'/')
            .unwrap_or(tag.len());
        let name = tag[..name_len].to_ascii_lowercase();
        let a: Vec<(String, String)> = attrs(&tag.as_bytes()[name_len..])
            .map(|(n, v)| {
                let v = xml_text(&String::from_utf8_lossy(v));
                (String::from_utf8_lossy(n).to_ascii_lowercase(), v)
            })
            .collect();
        let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if name == "base" {
            if let Some(b) = get("href").and_then(|h| page.join(h.trim()).ok()) {
                base = b;
            }
            continue;
        }
        if name == "body" {
            break;
        }
        if name != "link" {
            continue;
        }
        let rel = get("rel").unwrap_or("").to_ascii_lowercase();
        if !rel.split_ascii_whitespace().any(|r| r == "alternate") {
            continue;
        }
        let (Some(kind), Some(href)) = (get("type").and_then(kind_of), get("href")) else {
            continue;
        };
        let Ok(url) = base.join(href.trim()) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || out.iter().any(|l| l.url == url.as_str()) {
            continue;
        }
        let title = super::text::collapse_ws(get("title").unwrap_or(""));
        out.push(FeedLink {
            url: url.into(),
            title,
            kind,
        });
        if out.len() == MAX_LINKS {
            break;
        }
    }
    out
}

/// The common feed paths of a site, relative to `page`.
pub fn common_urls(page: &Url) -> Vec<String> {
    COMMON_PATHS
        .iter()
        .filter_map(|p| page.join(p).ok())
        .map(String::from)
        .collect()
}

/// Whether a document looks like a feed from its start (root element `rss`, `feed`,
/// `RDF`; or JSON naming jsonfeed.org): a cheap test for the common paths, whose answer
/// is then read for real by the feed's first fetch.
pub fn looks_like_feed(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(2048)];
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.starts_with('{') {
        return t.contains("jsonfeed.org");
    }
    let mut rest = t;
    // Skip the XML declaration, processing instructions, comments and a doctype.
    while let Some(r) = rest.strip_prefix('<') {
        if r.starts_with('?') || r.starts_with('!') {
            let close = if r.starts_with("!--") { "-->" } else { ">" };
            match r.find(close) {
                Some(e) => rest = r[e + close.len()..].trim_start(),
                None => return false,
            }
            continue;
        }
        let name: String = r
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        let local = name.rsplit(':').next().unwrap_or("");
        return matches!(local, "rss" | "feed" | "RDF");
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_resolved_and_deduplicated() {
        let page = Url::parse("https://blog.example/me/").unwrap();
        let html = r#"<html><head><title>x</title>
            <link rel="stylesheet" href="/s.css">
            <LINK REL="alternate" TYPE="application/rss+xml" TITLE="Posts &amp; notes" HREF="feed.xml">
            <link rel=alternate type=application/atom+xml href=/atom.xml>
            <link rel="alternate" type="application/rss+xml" href="https://blog.example/me/feed.xml">
            <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            </head><body><link rel="alternate" type="application/rss+xml" href="/late.xml"></body></html>"#;
        let links = feed_links(html, &page);
        let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                "https://blog.example/me/feed.xml",
                "https://blog.example/atom.xml"
            ]
        );
        assert_eq!(links[0].title, "Posts & notes");
        assert_eq!((links[0].kind, links[1].kind), ("rss", "atom"));
    }

    #[test]
    fn feeds_are_sniffed_from_their_start() {
        assert!(looks_like_feed(
            b"<?xml version='1.0'?>\n<!-- hi --><rss version='2.0'>"
        ));
        assert!(looks_like_feed(
            b"\xef\xbb\xbf<feed xmlns='http://www.w3.org/2005/Atom'>"
        ));
        assert!(looks_like_feed(b"<rdf:RDF xmlns:rdf='x'>"));
        assert!(looks_like_feed(
            br#"{"version":"https://jsonfeed.org/version/1.1"}"#
        ));
        assert!(!looks_like_feed(b"<!DOCTYPE html><html><head>"));
        assert!(!looks_like_feed(b"{\"a\":1}"));
        let page = Url::parse("https://x.example/blog/index.html").unwrap();
        assert_eq!(common_urls(&page)[0], "https://x.example/blog/feed");
    }
}
