//! HTML sanitizing: ammonia with an explicit allow-list, absolute URLs, safe links, lazy images.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};
use url::Url;

/// Raw HTML beyond this is cut (at a tag boundary) before sanitizing: html5ever's
/// cost is linear in input and a planet river does not need a book per entry.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;

const TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "audio",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "small",
    "source",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
];

const TAG_ATTRS: &[(&str, &[&str])] = &[
    ("a", &["href", "hreflang"]),
    ("img", &["src", "alt", "width", "height"]),
    ("audio", &["src", "controls"]),
    ("video", &["src", "poster", "controls", "width", "height"]),
    ("source", &["src", "type"]),
    ("td", &["colspan", "rowspan", "headers"]),
    ("th", &["colspan", "rowspan", "headers", "scope"]),
    ("col", &["span"]),
    ("colgroup", &["span"]),
    ("ol", &["start", "reversed", "type"]),
    ("li", &["value"]),
    ("time", &["datetime"]),
];

thread_local! {
    /// The base URL for the entry being sanitized (read by the builder's URL hook).
    static BASE: RefCell<Option<Url>> = const { RefCell::new(None) };
    /// Building the allow-list costs more than sanitizing a short entry: build once per thread.
    static BUILDER: Builder<'static> = builder();
}

fn builder() -> Builder<'static> {
    let mut b = Builder::empty();
    b.tags(TAGS.iter().copied().collect())
        .tag_attributes(
            TAG_ATTRS
                .iter()
                .map(|(t, a)| (*t, a.iter().copied().collect::<HashSet<_>>()))
                .collect::<HashMap<_, _>>(),
        )
        .generic_attributes(["title", "lang", "dir"].into_iter().collect())
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean_content_tags(
            [
                "script", "style", "template", "noscript", "title", "textarea", "xmp",
            ]
            .into_iter()
            .collect(),
        )
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true)
        .url_relative(UrlRelative::Custom(Box::new(absolutize)));
    b.set_tag_attribute_value("img", "loading", "lazy");
    b.set_tag_attribute_value("video", "preload", "none");
    b.set_tag_attribute_value("audio", "preload", "none");
    b
}

/// Relative URLs resolve against the thread's current base; without one they are dropped.
fn absolutize(rel: &str) -> Option<Cow<'_, str>> {
    BASE.with(|b| {
        let base = b.borrow();
        let url = base.as_ref()?.join(rel).ok()?;
        matches!(url.scheme(), "http" | "https" | "mailto").then(|| Cow::Owned(url.into()))
    })
}

/// Sanitizes an HTML fragment; relative URLs are made absolute against `base`.
pub fn sanitize(html: &str, base: Option<Url>) -> String {
    let html = cap(html, MAX_CONTENT_BYTES);
    BASE.with(|b| *b.borrow_mut() = base);
    let out = BUILDER.with(|b| b.clean(html).to_string());
    BASE.with(|b| *b.borrow_mut() = None);
    out
}

/// Cuts HTML longer than `max` bytes before the last tag that starts within it.
pub fn cap(html: &str, max: usize) -> &str {
    if html.len() <= max {
        return html;
    }
    let mut end = max;
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    match html[..end].rfind('<') {
        Some(p) if p > max / 2 => &html[..p],
        _ => &html[..end],
    }
}

/// Escapes plain text into HTML paragraphs.
pub fn text_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        out.push_str("<p>");
        for (i, line) in para.lines().enumerate() {
            if i > 0 {
                out.push_str("<br>");
            }
            for c in line.chars() {
                match c {
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '&' => out.push_str("&amp;"),
                    '"' => out.push_str("&quot;"),
                    _ => out.push(c),
                }
            }
        }
        out.push_str("</p>");
    }
    out
}
