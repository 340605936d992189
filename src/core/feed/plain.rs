//! Plain text out of HTML: tags stripped, HTML told apart from text that only looks like it.

use super::text::{collapse_ws, decode_entities, xml_text};

/// Plain text of an HTML fragment: tags dropped (script/style with their
/// content), entities decoded, whitespace collapsed. Never returns markup
/// meaning: a literal `<` that does not start a tag is kept as text.
pub fn html_to_text(html: &str) -> String {
    html_to_text_limited(html, usize::MAX)
}

/// Like [`html_to_text`] but stops once about `limit` bytes of text exist.
pub fn html_to_text_limited(html: &str, limit: usize) -> String {
    let b = html.as_bytes();
    let mut raw = String::with_capacity(html.len().min(limit.saturating_add(64)));
    let mut i = 0;
    while i < b.len() && raw.len() < limit {
        let Some(off) = memchr::memchr(b'<', &b[i..]) else {
            raw.push_str(&html[i..]);
            break;
        };
        let lt = i + off;
        raw.push_str(&html[i..lt]);
        let next = b.get(lt + 1).copied().unwrap_or(b' ');
        if !(next.is_ascii_alphabetic() || matches!(next, b'/' | b'!' | b'?')) {
            raw.push('<');
            i = lt + 1;
            continue;
        }
        if b[lt..].starts_with(b"<!--") {
            i = find(b, lt + 4, b"-->").map_or(b.len(), |p| p + 3);
            continue;
        }
        let end = memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |p| lt + p + 1);
        let name: Vec<u8> = b[lt + 1..end]
            .iter()
            .skip_while(|c| **c == b'/')
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        i = end;
        if next != b'/' && matches!(name.as_slice(), b"script" | b"style" | b"template") {
            // Skip the element's content up to its end tag.
            let close = format!("</{}", String::from_utf8_lossy(&name));
            i = find_ci(b, i, close.as_bytes()).map_or(b.len(), |p| {
                memchr::memchr(b'>', &b[p..]).map_or(b.len(), |q| p + q + 1)
            });
        }
        // Block-level tags separate words; inline ones (`<i>`, `<a>`) do not.
        let inline = matches!(
            name.as_slice(),
            b"a" | b"abbr"
                | b"b"
                | b"cite"
                | b"code"
                | b"em"
                | b"font"
                | b"i"
                | b"kbd"
                | b"mark"
                | b"q"
                | b"s"
                | b"small"
                | b"span"
                | b"strong"
                | b"sub"
                | b"sup"
                | b"time"
                | b"u"
        );
        if !inline {
            raw.push(' ');
        }
    }
    collapse_ws(&decode_entities(&raw))
}

/// True when text that may be HTML (an RSS title, a JSON Feed title) really is: it has an end
/// tag, a void tag (`<br>`, `<img>`, `<hr>`) or an entity reference still to decode, and every
/// tag in it names an HTML element. "History of the <blink> tag" is text; "<b>Hi</b>" is HTML.
fn looks_like_html(s: &str) -> bool {
    if !s.contains('<') && !s.contains('&') {
        return false;
    }
    let b = s.as_bytes();
    let mut signal = false;
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let lt = i + off;
        i = lt + 1;
        let close = b.get(lt + 1) == Some(&b'/');
        let start = lt + 1 + usize::from(close);
        let len = b[start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if len == 0 || !b[start].is_ascii_alphabetic() {
            continue;
        }
        let after = b.get(start + len).copied().unwrap_or(b' ');
        if !(after == b'>' || after == b'/' || after.is_ascii_whitespace()) {
            continue;
        }
        // A tag only if it ends before the next '<'.
        let rest = &b[start + len..];
        let gt = memchr::memchr(b'>', rest);
        if gt.is_none_or(|g| memchr::memchr(b'<', &rest[..g]).is_some()) {
            continue;
        }
        let name = b[start..start + len].to_ascii_lowercase();
        if HTML_ELEMENTS.binary_search(&name.as_slice()).is_err() {
            return false;
        }
        signal |= close || matches!(name.as_slice(), b"br" | b"img" | b"hr" | b"wbr");
    }
    signal || (s.contains('&') && decode_entities(s) != s)
}

/// Element names [`looks_like_html`] accepts as HTML, sorted.
const HTML_ELEMENTS: &[&[u8]] = &[
    b"a",
    b"abbr",
    b"acronym",
    b"address",
    b"area",
    b"article",
    b"aside",
    b"audio",
    b"b",
    b"bdi",
    b"bdo",
    b"big",
    b"blockquote",
    b"body",
    b"br",
    b"button",
    b"canvas",
    b"caption",
    b"center",
    b"cite",
    b"code",
    b"col",
    b"colgroup",
    b"dd",
    b"del",
    b"details",
    b"dfn",
    b"div",
    b"dl",
    b"dt",
    b"em",
    b"embed",
    b"figcaption",
    b"figure",
    b"font",
    b"footer",
    b"form",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"header",
    b"hr",
    b"i",
    b"iframe",
    b"img",
    b"input",
    b"ins",
    b"kbd",
    b"label",
    b"li",
    b"main",
    b"mark",
    b"nav",
    b"object",
    b"ol",
    b"p",
    b"picture",
    b"pre",
    b"q",
    b"s",
    b"samp",
    b"script",
    b"section",
    b"small",
    b"source",
    b"span",
    b"strike",
    b"strong",
    b"style",
    b"sub",
    b"summary",
    b"sup",
    b"svg",
    b"table",
    b"tbody",
    b"td",
    b"tfoot",
    b"th",
    b"thead",
    b"time",
    b"tr",
    b"tt",
    b"u",
    b"ul",
    b"var",
    b"video",
    b"wbr",
];

/// How the text of a title-like field (plain text wherever it ends up) is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Plain text (Atom `type="text"`, Media RSS `type="plain"`): kept as it is, `<` and all.
    Text,
    /// Escaped HTML (Atom `type="html"`): markup stripped, then entities decoded once.
    Html,
    /// Inline XHTML markup (Atom `type="xhtml"`).
    Xhtml,
    /// Untyped (RSS, Dublin Core, iTunes): HTML if it [`looks_like_html`], else text.
    Guess,
}

/// Plain text of a raw XML field read as `kind`, whitespace collapsed.
pub fn field_text(raw_xml: &str, kind: TextKind) -> String {
    match kind {
        TextKind::Xhtml => html_to_text(raw_xml),
        TextKind::Html => html_to_text(&xml_text(raw_xml)),
        TextKind::Text => collapse_ws(&xml_text(raw_xml)),
        TextKind::Guess => guess_text(&xml_text(raw_xml)),
    }
}

/// Plain text of a decoded field that may be HTML (see [`looks_like_html`]).
pub fn guess_text(s: &str) -> String {
    if looks_like_html(s) {
        html_to_text(s)
    } else {
        collapse_ws(s)
    }
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay.get(from..)?, needle).map(|p| from + p)
}

fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let mut i = from;
    while let Some(off) = memchr::memchr(b'<', hay.get(i..)?) {
        let p = i + off;
        if hay.len() >= p + needle.len() && hay[p..p + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_sniffing_for_untyped_text() {
        assert!(HTML_ELEMENTS.windows(2).all(|w| w[0] < w[1]), "sorted");
        assert!(looks_like_html("<b>Hi</b> <script>x</script>"));
        assert!(looks_like_html(
            "Second &amp; last <img src=x onerror=alert(2)>"
        ));
        assert!(looks_like_html("AT&amp;T"));
        assert!(!looks_like_html("History of the <blink> tag"));
        assert!(
            !looks_like_html("<blink>x</blink>"),
            "not an element we know"
        );
        assert!(!looks_like_html("1 < 2 & 3 > 2"));
        assert!(!looks_like_html("Tom & Jerry &bogus;"));
        assert_eq!(field_text("a &lt;b&gt;", TextKind::Text), "a <b>");
        assert_eq!(field_text("a &amp;lt;b&amp;gt;", TextKind::Html), "a <b>");
        assert_eq!(
            field_text("<div><b>x</b> &amp;lt;</div>", TextKind::Xhtml),
            "x &lt;"
        );
        assert_eq!(field_text("a &lt;i&gt;b&lt;/i&gt;", TextKind::Guess), "a b");
    }
}
