//! The feed pipeline: parse cheaply, then sanitize only what will be stored.
//!
//! Parsing finds each entry's identity, fingerprint and dates without touching its body;
//! [`RawEntry::clean`] sanitizes the bodies of new or changed entries only.

mod decode;
pub mod discover;
mod identity;
mod parse;
mod plain;
pub mod sanitize;
mod text;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use url::Url;

pub use identity::digest;
pub use parse::dates::parse_date;
pub use plain::html_to_text;
pub use sanitize::MAX_CONTENT_BYTES;
pub use text::{truncate_words, xml_chars};

/// Items of one document read at most, in document order: the parser stops there, so a
/// document of 300,000 items costs what one of 2,000 does (the largest real feed in the
/// corpus carries 1,046).
pub const MAX_ITEMS_PER_DOCUMENT: usize = 2_000;
/// A first fetch stores at most this many entries (the newest ones).
pub const FIRST_FETCH_MAX_ENTRIES: usize = 50;
/// Stored summaries are at most this many characters.
const SUMMARY_MAX_CHARS: usize = 300;
/// Raw HTML bytes one invocation sanitizes (beyond its first entry): about 4.7 ms of wasm
/// (`examples/clean_cost.rs`: 96 KiB in 3.1 ms). It was 96 KiB with ammonia (5.6 ms for
/// 96 KiB); with the faster sanitizer, 144 KiB keeps every invocation's p99 and max under
/// the old ones (`bench/RESULTS.md`) and needs 43% fewer follow-up invocations.
pub const FULL_CONTENT_BUDGET_BYTES: usize = 144 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    Rss,
    Atom,
    Rdf,
    JsonFeed,
}

impl FeedFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Rss => "rss",
            FeedFormat::Atom => "atom",
            FeedFormat::Rdf => "rdf",
            FeedFormat::JsonFeed => "json",
        }
    }
}

/// Why a document could not be read, in words a feed owner understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty response")]
    Empty,
    #[error("this is an HTML page, not a feed")]
    Html,
    #[error("this is not a feed: {0}")]
    NotAFeed(String),
    #[error("the XML is broken at line {line}: {reason}")]
    BrokenXml { line: usize, reason: String },
    #[error("the JSON Feed is broken: {0}")]
    BrokenJson(String),
}

#[derive(Debug, Clone)]
pub struct FeedDoc {
    pub format: FeedFormat,
    /// Plain text; "" if none.
    pub title: String,
    /// Absolute.
    pub site_url: Option<String>,
    /// Plain text.
    pub description: Option<String>,
    /// RSS `<ttl>`.
    pub ttl_minutes: Option<u32>,
    /// The WebSub hub the document names (Atom `<link rel="hub">`, RSS `<atom:link
    /// rel="hub">`, JSON Feed `hubs`), absolute.
    pub hub: Option<String>,
    /// The document's own URL as it names it (`rel="self"`, JSON Feed `feed_url`): the
    /// topic a hub knows it by.
    pub self_url: Option<String>,
    /// Document order.
    pub entries: Vec<RawEntry>,
}

/// Where an entry's body came from: decoding waits for [`RawEntry::clean`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Body {
    /// Raw XML text (entities, CDATA) that decodes to HTML.
    XmlHtml(String),
    /// Raw XML text that decodes to plain text (sniffed for HTML all the same).
    XmlText(String),
    /// Raw XHTML markup (Atom `type="xhtml"`): already HTML.
    Markup(String),
    /// Decoded HTML (JSON Feed, fallback parser).
    Html(String),
    /// Decoded plain text.
    Text(String),
    /// Raw XML text of base64 (Atom 0.3 `mode="base64"`) that decodes to HTML.
    Base64Html(String),
    /// Raw XML text of base64 that decodes to plain text (sniffed for HTML all the same).
    Base64Text(String),
}

/// Raw body text read to make one entry's HTML: enough for [`MAX_CONTENT_BYTES`] of HTML
/// however it was escaped, and a bound on the decoding a huge body costs.
const RAW_READ_MAX: usize = MAX_CONTENT_BYTES * 4;

impl Body {
    fn raw(&self) -> &str {
        match self {
            Body::XmlHtml(s)
            | Body::XmlText(s)
            | Body::Markup(s)
            | Body::Html(s)
            | Body::Text(s)
            | Body::Base64Html(s)
            | Body::Base64Text(s) => s,
        }
    }

    /// The body as (unsanitized) HTML.
    fn to_html(&self) -> String {
        match self {
            Body::XmlHtml(s) => text::xml_text(s),
            Body::Markup(s) if s.contains("xhtml:") => {
                // `<xhtml:p>` (a prefixed XHTML body) is `<p>` to an HTML parser.
                s.replace("<xhtml:", "<").replace("</xhtml:", "</")
            }
            Body::Markup(s) | Body::Html(s) => s.clone(),
            Body::XmlText(s) => as_html_if_looks_like_it(text::xml_text(s)),
            Body::Text(s) => as_html_if_looks_like_it(s.clone()),
            Body::Base64Html(s) => text::base64_text(&text::xml_text(s)),
            Body::Base64Text(s) => as_html_if_looks_like_it(text::base64_text(&text::xml_text(s))),
        }
    }

    /// Like [`Body::to_html`], reading at most [`RAW_READ_MAX`] bytes of the raw body; true
    /// when the body was longer than that.
    fn to_html_bounded(&self) -> (String, bool) {
        let raw = self.raw();
        if raw.len() <= RAW_READ_MAX {
            return (self.to_html(), false);
        }
        let cut = self.same_kind(sanitize::cap(raw, RAW_READ_MAX).to_string());
        (cut.to_html(), true)
    }

    /// A body of the same kind holding `raw`.
    fn same_kind(&self, raw: String) -> Body {
        match self {
            Body::XmlHtml(_) => Body::XmlHtml(raw),
            Body::XmlText(_) => Body::XmlText(raw),
            Body::Markup(_) => Body::Markup(raw),
            Body::Html(_) => Body::Html(raw),
            Body::Text(_) => Body::Text(raw),
            Body::Base64Html(_) => Body::Base64Html(raw),
            Body::Base64Text(_) => Body::Base64Text(raw),
        }
    }

    /// Drops what [`Body::to_html_bounded`] would not read; true when something went.
    fn clip(&mut self) -> bool {
        if self.raw().len() <= RAW_READ_MAX {
            return false;
        }
        *self = self.same_kind(sanitize::cap(self.raw(), RAW_READ_MAX).to_string());
        true
    }

    /// Plain text (tags stripped, whitespace collapsed), reading at most about `limit` bytes of text.
    fn to_text(&self, limit: usize) -> String {
        // A summary needs the start of the text only: never decode a whole long body.
        let head = |s: &str| sanitize::cap(s, limit.saturating_mul(8)).to_string();
        let prefix = match self {
            Body::Text(s) => return text::collapse_ws(sanitize::cap(s, limit.saturating_mul(2))),
            other => other.same_kind(head(other.raw())),
        };
        plain::html_to_text_limited(&prefix.to_html(), limit)
    }
}

/// Text that is really escaped HTML (common in "text" fields) is treated as HTML.
fn as_html_if_looks_like_it(s: String) -> String {
    let looks = ["<p>", "<p ", "<br", "</a>", "<div", "<img", "</p>"]
        .iter()
        .any(|t| s.contains(t));
    if looks {
        s
    } else {
        sanitize::text_to_html(&s)
    }
}

/// An entry as parsed, bodies still raw: serializable, so cleaning it can be carried
/// to a later invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawEntry {
    /// Stable dedupe key: the feed's id/guid, else the permalink, else "h:" + hash.
    pub identity: String,
    /// Equal across refreshes iff the entry's url, title, author, content and dates are.
    pub fingerprint: String,
    /// Absolute http(s) permalink.
    pub url: Option<String>,
    /// Plain text.
    pub title: String,
    /// Unix ms: published, else updated.
    pub published_at: Option<i64>,
    pub updated_at: Option<i64>,
    author: Option<Body>,
    content: Option<Body>,
    summary: Option<Body>,
    /// Enclosures and media, rendered after the body (absent from rows carried before they were read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    media: Vec<parse::media::Media>,
    /// xml:base in scope for the content, resolved.
    content_base: Option<Arc<str>>,
    feed_url: Option<Arc<str>>,
    /// [`RawEntry::bounded`] dropped the end of the body: the clean entry says it was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    clipped: bool,
    /// Plain-text categories and tags (RSS `<category>`, `dc:subject`, Atom `<category
    /// term>`, JSON Feed `tags`), at most [`MAX_CATEGORIES`]: what per-feed filters read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

/// Categories kept per entry at most, each at most [`CATEGORY_MAX_CHARS`] characters.
const MAX_CATEGORIES: usize = 32;
const CATEGORY_MAX_CHARS: usize = 100;

/// Categories as read (decoded text): trimmed, whitespace collapsed, empty ones and
/// repeats dropped, bounded.
pub(crate) fn categories<'a>(
    raw: impl IntoIterator<Item = std::borrow::Cow<'a, str>>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in raw {
        let c = text::collapse_ws(&c);
        let c: String = c.chars().take(CATEGORY_MAX_CHARS).collect();
        if !c.is_empty() && !out.contains(&c) {
            out.push(c);
            if out.len() == MAX_CATEGORIES {
                break;
            }
        }
    }
    out
}

/// What gets stored: every string safe to store and render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub identity: String,
    pub url: Option<String>,
    /// Plain text, never HTML.
    pub title: String,
    /// Plain text.
    pub author: Option<String>,
    /// Clamped to now.
    pub published_at: Option<i64>,
    pub updated_at: Option<i64>,
    /// The body was longer than [`MAX_CONTENT_BYTES`]: `content_html` holds its start and ends
    /// with a "Continued at the source…" link (or a note, without a URL).
    pub truncated: bool,
    /// Sanitized HTML.
    pub content_html: String,
    /// Plain text, at most [`SUMMARY_MAX_CHARS`] chars.
    pub summary: String,
    /// `content_html` is the whole cleaned body; `false`: a brief (the summary as HTML)
    /// stored at once while the body waits to be cleaned by a later invocation.
    pub whole: bool,
}

/// Parses RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed 1.x. Cheap: no sanitizing,
/// bodies kept raw until [`RawEntry::clean`]. Never panics, whatever the bytes.
pub fn parse(bytes: &[u8], feed_url: &str) -> Result<FeedDoc, ParseError> {
    let base = Url::parse(feed_url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let text = decode::decode(bytes);
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return parse::json::parse(trimmed, base.as_ref());
    }
    match parse::xml_feed::parse(trimmed, base.as_ref()) {
        Ok(doc) if !doc.entries.is_empty() => Ok(doc),
        Err(e @ (ParseError::Empty | ParseError::Html)) => Err(e),
        // A second opinion where the lenient scanner found nothing.
        mine => match parse::fallback::parse(bytes, base.as_ref()) {
            Some(doc) if !doc.entries.is_empty() => Ok(doc),
            _ => mine,
        },
    }
}

/// The newest `n` entries: published_at descending (undated last), document order breaking ties.
pub fn newest<'a>(entries: impl IntoIterator<Item = &'a RawEntry>, n: usize) -> Vec<&'a RawEntry> {
    let mut v: Vec<(usize, &RawEntry)> = entries.into_iter().enumerate().collect();
    v.sort_by(|a, b| b.1.published_at.cmp(&a.1.published_at).then(a.0.cmp(&b.0)));
    v.into_iter().take(n).map(|(_, e)| e).collect()
}

/// An absolute http(s) URL from raw feed text, resolved against `base`.
fn absolute_url(raw: &str, base: Option<&Url>) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    let plain = s.len() < 2048
        && s.bytes()
            .all(|c| c > b' ' && c < 0x7f && !matches!(c, b'"' | b'<' | b'>' | b'\\'));
    if plain && (s.starts_with("https://") || s.starts_with("http://")) && s.len() > 8 {
        return Some(s.to_string());
    }
    let url = Url::options().base_url(base).parse(s).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.into())
}

impl RawEntry {
    /// Bytes of raw body the sanitizer would read (capped as it would be).
    pub fn content_len(&self) -> usize {
        self.content
            .as_ref()
            .or(self.summary.as_ref())
            .map_or(0, |b| b.raw().len().min(MAX_CONTENT_BYTES))
    }

    /// The entry as it waits in storage for a later invocation: the end of a raw body
    /// that cleaning would not read is dropped (a Durable Object's SQLite row holds at
    /// most 2 MB), so its clean version is the same as before.
    pub fn bounded(mut self) -> RawEntry {
        if let Some(body) = self.content.as_mut().or(self.summary.as_mut()) {
            self.clipped |= body.clip();
        }
        if self.content.is_some() {
            // The summary feeds only the plain-text summary, read from its start.
            if let Some(s) = self.summary.as_mut() {
                s.clip();
            }
        }
        self
    }

    /// Title, summary and body as plain text, reading at most about `limit` bytes of
    /// each body: what a per-feed word filter searches.
    pub fn plain_text(&self, limit: usize) -> String {
        let mut out = self.title.clone();
        for b in [&self.summary, &self.content].into_iter().flatten() {
            out.push('\n');
            out.push_str(&b.to_text(limit));
        }
        out
    }

    /// The body (its content, else its summary) as plain text, reading at most about
    /// `limit` bytes of text: the start of what tells two copies of one article apart
    /// (`core::ingest::same`).
    pub fn body_text(&self, limit: usize) -> String {
        self.content
            .as_ref()
            .or(self.summary.as_ref())
            .map_or_else(String::new, |b| b.to_text(limit))
    }

    /// The plain text of the last `window` bytes of the raw body (all of a shorter one):
    /// the end of what tells two copies of one article apart. Cut inside the body, its
    /// text starts after the first tag end of the window, so a partial tag is never text;
    /// where the window starts differs with the markup, so callers use its last characters.
    pub fn body_tail_text(&self, window: usize) -> String {
        let Some(body) = self.content.as_ref().or(self.summary.as_ref()) else {
            return String::new();
        };
        let raw = body.raw();
        let mut start = raw.len().saturating_sub(window);
        while !raw.is_char_boundary(start) {
            start += 1;
        }
        let html = body.same_kind(raw[start..].to_string()).to_html();
        let html = match (start, html.find('>')) {
            (0, _) => html.as_str(),
            (_, Some(i)) => &html[i + 1..],
            (_, None) => "",
        };
        plain::html_to_text(html)
    }

    /// Sanitizes and normalizes: the expensive step, for new or changed entries only.
    pub fn clean(&self, now_ms: i64) -> Entry {
        self.cleaned(now_ms, true)
    }

    /// Title, link, author, dates and summary without sanitizing the body (its HTML is
    /// the summary): what is stored at once for an entry whose cleaning waits.
    pub fn brief(&self, now_ms: i64) -> Entry {
        self.cleaned(now_ms, false)
    }

    /// What cleaning hands the sanitizer: the body as HTML (read as far as it would be),
    /// the base its relative URLs resolve against (xml:base, else the entry's link, else
    /// the document's URL), and whether the raw body was cut. Public for the sanitizer's
    /// benchmark and differential test, which run over exactly these inputs.
    pub fn sanitizer_input(&self) -> Option<(String, Option<Url>, bool)> {
        let body = self.content.as_ref().or(self.summary.as_ref())?;
        let base = self
            .content_base
            .as_deref()
            .or(self.url.as_deref())
            .or(self.feed_url.as_deref())
            .and_then(|b| Url::parse(b).ok());
        let (html, raw_cut) = body.to_html_bounded();
        Some((html, base, raw_cut))
    }

    fn cleaned(&self, now_ms: i64, whole: bool) -> Entry {
        // Text read for the summary (and a title-less entry's title): a brief, stored for
        // every entry past the budget, reads less, and its summary is redone when it is whole.
        let text_limit = if whole {
            SUMMARY_MAX_CHARS * 4
        } else {
            SUMMARY_MAX_CHARS + SUMMARY_MAX_CHARS / 2
        };
        let summary_text = self
            .summary
            .as_ref()
            .map(|s| s.to_text(text_limit))
            .filter(|s| !s.is_empty())
            .or_else(|| self.content.as_ref().map(|c| c.to_text(text_limit)))
            .unwrap_or_default();
        let summary = truncate_words(&summary_text, SUMMARY_MAX_CHARS);
        let (mut content_html, truncated) = match self.content.as_ref().or(self.summary.as_ref()) {
            Some(_) if !whole => (sanitize::text_to_html(&summary), false),
            Some(_) => match self.sanitizer_input() {
                Some((html, base, raw_cut)) => {
                    let (mut clean, cut) = sanitize::sanitize(&html, base);
                    // The page shows the title above the body: a first heading repeating it goes.
                    if let Some(rest) = sanitize::without_title_heading(&clean, &self.title) {
                        clean = rest.to_owned();
                    }
                    (clean, raw_cut || cut || self.clipped)
                }
                None => (String::new(), false),
            },
            None => (String::new(), false),
        };
        if truncated {
            sanitize::continued(self.url.as_deref(), &mut content_html);
        }
        parse::media::render(&self.media, &mut content_html);
        let title = if !self.title.is_empty() {
            self.title.clone()
        } else if !summary_text.is_empty() {
            truncate_words(&summary_text, 80)
        } else {
            "Untitled".to_string()
        };
        let author = self
            .author
            .as_ref()
            .map(|a| truncate_words(display_name(&a.to_text(1024)), 200))
            .filter(|a| !a.is_empty());
        // Characters XML forbids would make /feed.atom, /feed.rss and /feeds.opml invalid:
        // whatever path a string took here (JSON Feed, the fallback parser, the sanitizer), none is stored.
        let xml = |s: String| match text::xml_chars(&s) {
            std::borrow::Cow::Borrowed(_) => s,
            std::borrow::Cow::Owned(clean) => clean,
        };
        Entry {
            identity: self.identity.clone(),
            url: self.url.clone().map(xml),
            title: xml(title),
            author: author.map(xml),
            published_at: self.published_at.map(|t| t.min(now_ms)),
            updated_at: self.updated_at.map(|t| t.min(now_ms)),
            truncated,
            content_html: xml(content_html),
            summary: xml(summary),
            whole,
        }
    }
}

/// RSS `<author>` is "email (Name)": keep the name.
fn display_name(a: &str) -> &str {
    match (a.split_once(" ("), a.strip_suffix(')')) {
        (Some((email, _)), Some(inner)) if email.contains('@') => {
            let name = inner[email.len() + 2..].trim();
            if name.is_empty() {
                a
            } else {
                name
            }
        }
        _ => a,
    }
}

/// How many of `entries`, in the given order, one invocation cleans within `budget`
/// bytes of raw body: the first always (so work always progresses), then while the
/// running total fits. The rest wait for a later invocation.
pub fn within_budget(entries: &[&RawEntry], budget: usize) -> usize {
    fits_budget(entries.iter().map(|e| e.content_len()), budget)
}

/// How many of these raw body lengths, in order, fit `budget`: the first always.
pub fn fits_budget(lens: impl IntoIterator<Item = usize>, budget: usize) -> usize {
    let mut spent = 0usize;
    lens.into_iter()
        .enumerate()
        .take_while(|(i, len)| {
            spent += len;
            *i == 0 || spent <= budget
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let base = Url::parse("https://ex.com/blog/feed.xml").ok();
        assert_eq!(
            absolute_url("/a", base.as_ref()).as_deref(),
            Some("https://ex.com/a")
        );
        assert_eq!(absolute_url("javascript:alert(1)", base.as_ref()), None);
        assert_eq!(absolute_url("p/1", None), None);
        assert_eq!(
            absolute_url(" https://x.org/a ", None).as_deref(),
            Some("https://x.org/a")
        );
    }
}
