//! HTML sanitizing: an explicit allow-list over html5ever's tokenizer.
//!
//! The output is balanced and escaped, with absolute URLs, safe links and lazy images.

use url::Url;

/// An entry's HTML beyond this is cut (before a tag) before sanitizing, and the entry ends with
/// a "Continued at the source…" link instead: what one invocation can clean. Measured in wasm
/// (wasm32-wasip1 + wasm-opt -O, run by Node 22's V8, after warm-up): `RawEntry::clean` of a
/// 96 KiB body of dense blog markup (links, lists, images, a span per code token) takes 3.1 ms
/// (best of 15; median 3.2 ms), 64 KiB 2.1 ms, 32 KiB 1.0 ms: about 31 KiB a millisecond
/// (natively 2.3 ms for 96 KiB). With ammonia it was 5.6 ms. The cap stays at 96 KiB: the
/// faster cleaning is kept as headroom for the rest of a 10 ms invocation (a follow-up's
/// worst case in wasm is close to it), not spent on longer posts. Reproduce:
/// `examples/clean_cost.rs`.
pub const MAX_CONTENT_BYTES: usize = 96 * 1024;

mod elements;
mod escape;
mod policy;
mod title;
mod tree;

pub use policy::{CLEAN_CONTENT_TAGS, GENERIC_ATTRS, TAGS, TAG_ATTRS, URL_SCHEMES};
pub use title::without_title_heading;

/// Sanitizes an HTML fragment; relative URLs are made absolute against `base`. HTML longer
/// than [`MAX_CONTENT_BYTES`] is cut first (true when it was): the sanitizer closes whatever
/// the cut leaves open, so the markup stays whole.
pub fn sanitize(html: &str, base: Option<Url>) -> (String, bool) {
    let capped = cap(html, MAX_CONTENT_BYTES);
    (clean(capped, base.as_ref()), capped.len() < html.len())
}

/// Sanitizes an HTML fragment without a size cap (see [`sanitize`]).
pub fn clean(html: &str, base: Option<&Url>) -> String {
    if is_plain(html) {
        // No tag, no entity, nothing the tokenizer would change: escaping is all it needs.
        let mut out = String::with_capacity(html.len() + 16);
        escape::escape_text(html, &mut out);
        return out;
    }
    tree::clean(html, base)
}

/// Text the HTML tokenizer would hand back as it is: no `<`, no `&`, no CR or NUL (which
/// it rewrites), no leading byte-order mark.
fn is_plain(html: &str) -> bool {
    memchr::memchr3(b'<', b'&', b'\r', html.as_bytes()).is_none()
        && memchr::memchr(0, html.as_bytes()).is_none()
        && !html.starts_with('\u{feff}')
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
