//! The title a body repeats: many feeds begin an entry's body with its title again as a
//! heading, which the page already shows above it. Only that first heading is dropped.

use super::super::text::decode_entities;

/// The sanitized `html` without its first element when that element is a heading (`h1`–`h6`,
/// or a link around one) whose text equals `title` (compared by letters and digits only, in
/// any case: whitespace, punctuation and entities do not count). `None` when nothing is
/// dropped: the first element is something else, its text differs, or it is all the body
/// has (a post of only its title keeps it).
pub fn without_title_heading<'a>(html: &'a str, title: &str) -> Option<&'a str> {
    let wanted = letters(title);
    if wanted.is_empty() {
        return None;
    }
    let mut rest = html.trim_start();
    let linked = start_tag(rest, "a");
    if let Some(after) = linked {
        rest = after.trim_start();
    }
    let level = match rest.as_bytes() {
        [b'<', b'h' | b'H', d @ b'1'..=b'6', ..] => *d as char,
        _ => return None,
    };
    let name = format!("h{level}");
    let inner_start = start_tag(rest, &name)?;
    let close = format!("</{name}>");
    let end = find_ci(inner_start, &close)?;
    let inner = &inner_start[..end];
    // A heading in the heading is not one element we can judge: keep everything.
    if (1..=6).any(|n| find_ci(inner, &format!("<h{n}")).is_some()) {
        return None;
    }
    let mut after = &inner_start[end + close.len()..];
    if linked.is_some() {
        after = after.trim_start().strip_prefix("</a>")?;
    }
    let after = after.trim_start();
    (letters(&tag_text(inner)) == wanted && !after.is_empty()).then_some(after)
}

/// What follows the start tag `<name …>` at the beginning of `s`, quotes respected.
fn start_tag<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let b = s.as_bytes();
    let n = name.len();
    if b.first() != Some(&b'<')
        || b.len() < n + 2
        || !b[1..=n].eq_ignore_ascii_case(name.as_bytes())
        || !matches!(b[n + 1], b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')
    {
        return None;
    }
    let mut quote = None;
    for (i, &c) in b.iter().enumerate().skip(n + 1) {
        match (quote, c) {
            (None, b'"' | b'\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, b'>') => return Some(&s[i + 1..]),
            _ => {}
        }
    }
    None
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The text of a fragment: tags left out, entities decoded.
fn tag_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out).into_owned()
}

/// Letters and digits only, lowercased: how a heading and a title are compared.
fn letters(s: &str) -> String {
    decode_entities(s)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::without_title_heading as drop;

    #[test]
    fn drops_a_first_heading_that_repeats_the_title() {
        assert_eq!(
            drop("<h1>Hello</h1><p>Body</p>", "Hello"),
            Some("<p>Body</p>")
        );
        assert_eq!(
            drop("\n <h2 id=\"x\">Own a  Graph</h2>\n<p>b</p>", "Own A Graph"),
            Some("<p>b</p>")
        );
        assert_eq!(
            drop(
                "<h3><a href=\"https://e.example/\">Fish &amp; Chips!</a></h3><p>b</p>",
                "Fish & chips"
            ),
            Some("<p>b</p>")
        );
        assert_eq!(
            drop(
                "<a href=\"https://e.example/\"><h2>Didn’t stop</h2></a><p>b</p>",
                "Didn't stop"
            ),
            Some("<p>b</p>")
        );
    }

    #[test]
    fn keeps_everything_else() {
        for (html, title) in [
            ("<p>Hello</p><h1>Hello</h1>", "Hello"),
            ("<h1>Hello world</h1><p>b</p>", "Hello"),
            ("<p>b</p>", "Hello"),
            ("<h1>Hello</h1>", "Hello"),
            ("<h1>x</h1><p>b</p>", ""),
            ("<h1>Hello<h2>Hello</h2></h1><p>b</p>", "Hello"),
            ("<a href=\"/\"><h1>Hello</h1> more</a><p>b</p>", "Hello"),
            ("<header><h1>Hello</h1></header><p>b</p>", "Hello"),
            ("<hr><p>b</p>", "Hello"),
            ("<h1 title=\"a>b\">Other</h1><p>b</p>", "Other title"),
        ] {
            assert_eq!(drop(html, title), None, "{html:?}");
        }
    }
}
