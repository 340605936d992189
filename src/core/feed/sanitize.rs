//! HTML sanitizing: ammonia with an explicit allow-list, absolute URLs, safe links, lazy images.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};
use url::Url;

/// An entry's HTML beyond this is cut (before a tag) before sanitizing, and the entry ends with
/// a "Continued at the source…" link instead: what one invocation can clean. Measured in wasm
/// (wasm32-wasip1 + wasm-opt -O, run by Node 22's V8, after warm-up): `RawEntry::clean` of a
/// 96 KiB body of dense blog markup (links, lists, images, a span per code token) takes 5.6 ms
/// (best of 15; median 6.0 ms), 64 KiB 3.7 ms, and with the cap lifted 128 KiB 7.8 ms and
/// 192 KiB 11.7 ms: about 17 KiB a millisecond. So one entry of this size fits in about 6 ms,
/// leaving the rest of a 10 ms invocation for its other work. Reproduce: `examples/clean_cost.rs`.
pub const MAX_CONTENT_BYTES: usize = 96 * 1024;

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
    ("audio", &["src"]),
    ("video", &["src", "poster", "width", "height"]),
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
        .url_relative(UrlRelative::Custom(Box::new(absolutize)))
        .attribute_filter(media_src_filter);
    // Images load lazily and never tell their host which page (and reader) asked.
    b.set_tag_attribute_value("img", "loading", "lazy");
    b.set_tag_attribute_value("img", "decoding", "async");
    b.set_tag_attribute_value("img", "referrerpolicy", "no-referrer");
    // Players are always the browser's own controls, and load nothing until asked.
    for player in ["audio", "video"] {
        b.set_tag_attribute_value(player, "controls", "");
        b.set_tag_attribute_value(player, "preload", "none");
    }
    b
}

/// Media sources are http(s) only (relative ones are made so against the base); `mailto:`,
/// which links may use, is dropped from `src` and `poster`.
fn media_src_filter<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    let media = matches!(element, "img" | "audio" | "video" | "source");
    if !(media && matches!(attribute, "src" | "poster")) {
        return Some(Cow::Borrowed(value));
    }
    let v = value.trim_start();
    let scheme = v
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .filter(|&i| i > 0 && v[i..].starts_with(':'))
        .map(|i| v[..i].to_ascii_lowercase());
    match scheme.as_deref() {
        None | Some("http" | "https") => Some(Cow::Borrowed(value)),
        Some(_) => None,
    }
}

/// Relative URLs resolve against the thread's current base; without one they are dropped.
fn absolutize(rel: &str) -> Option<Cow<'_, str>> {
    BASE.with(|b| {
        let base = b.borrow();
        let url = base.as_ref()?.join(rel).ok()?;
        matches!(url.scheme(), "http" | "https" | "mailto").then(|| Cow::Owned(url.into()))
    })
}

/// Sanitizes an HTML fragment; relative URLs are made absolute against `base`. HTML longer
/// than [`MAX_CONTENT_BYTES`] is cut first (true when it was): the parser closes whatever the
/// cut leaves open, so the markup stays whole.
pub fn sanitize(html: &str, base: Option<Url>) -> (String, bool) {
    let capped = cap(html, MAX_CONTENT_BYTES);
    BASE.with(|b| *b.borrow_mut() = base);
    let out = BUILDER.with(|b| b.clean(capped).to_string());
    BASE.with(|b| *b.borrow_mut() = None);
    (out, capped.len() < html.len())
}

/// Ends a cut body with a visible note: a link to the rest at `url`, else a plain sentence.
pub fn continued(url: Option<&str>, html: &mut String) {
    match url {
        Some(u) => {
            html.push_str("<p class=\"continued\"><a href=\"");
            for c in u.chars() {
                match c {
                    '&' => html.push_str("&amp;"),
                    '"' => html.push_str("&quot;"),
                    '<' => html.push_str("&lt;"),
                    '>' => html.push_str("&gt;"),
                    _ => html.push(c),
                }
            }
            html.push_str("\" rel=\"noopener noreferrer\">Continued at the source…</a></p>");
        }
        None => {
            html.push_str("<p class=\"continued\">(This post is longer than Orrery keeps.)</p>")
        }
    }
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
