//! Text and attribute values escaped as html5ever's serializer escapes them.

/// Escapes text as html5ever's serializer does (`&`, `<`, `>`, no-break space), so a
/// re-parse serializes back to the same bytes.
pub fn escape_text(s: &str, out: &mut String) {
    escape(s, out, false)
}

/// Escapes an attribute value (double-quoted) as html5ever's serializer does.
pub fn escape_attr(s: &str, out: &mut String) {
    escape(s, out, true)
}

fn escape(s: &str, out: &mut String, attr: bool) {
    // memchr finds the next byte to replace (most text has none): far faster than a loop
    // over every byte. 0xC2 starts a no-break space (C2 A0) and a few other characters.
    let bytes = s.as_bytes();
    let quote = if attr { b'"' } else { b'<' };
    let mut start = 0;
    let mut from = 0;
    while from < bytes.len() {
        let rest = &bytes[from..];
        let stop = memchr::memchr3(b'&', b'<', b'>', rest).unwrap_or(rest.len());
        let stop = memchr::memchr2(quote, 0xC2, &rest[..stop]).unwrap_or(stop);
        let i = from + stop;
        if i == bytes.len() {
            break;
        }
        let (rep, len) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            0xC2 if bytes.get(i + 1) == Some(&0xA0) => ("&nbsp;", 2),
            _ => {
                from = i + 1;
                continue;
            }
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + len;
        from = start;
    }
    out.push_str(&s[start..]);
}
