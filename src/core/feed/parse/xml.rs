//! A lenient, zero-copy XML tokenizer: only tags are events; text stays as byte ranges.

use memchr::{memchr, memchr2, memmem};

#[derive(Debug, Clone, Copy)]
pub enum Tok<'a> {
    /// `<name attrs>` or `<name attrs/>`; `end` is just past the tag (where its text starts).
    Start {
        name: &'a [u8],
        attrs: &'a [u8],
        empty: bool,
        end: usize,
    },
    /// `</name>`; `start` is where the tag begins.
    End { name: &'a [u8], start: usize },
}

pub struct Tokenizer<'a> {
    b: &'a [u8],
    pos: usize,
    /// Set when the input ends inside a tag, comment or CDATA section.
    pub truncated_at: Option<usize>,
}

impl<'a> Tokenizer<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Tokenizer {
            b,
            pos: 0,
            truncated_at: None,
        }
    }

    fn skip_to(&mut self, from: usize, needle: &[u8]) -> bool {
        match memmem::find(&self.b[from.min(self.b.len())..], needle) {
            Some(p) => {
                self.pos = from + p + needle.len();
                true
            }
            None => {
                self.truncated_at = Some(from);
                self.pos = self.b.len();
                false
            }
        }
    }
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80
}

fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == b'-' || c == b'.'
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Tok<'a>;

    fn next(&mut self) -> Option<Tok<'a>> {
        let b = self.b;
        loop {
            let lt = self.pos + memchr(b'<', b.get(self.pos..)?)?;
            let next = *b.get(lt + 1)?;
            match next {
                b'!' => {
                    if b[lt..].starts_with(b"<!--") {
                        self.skip_to(lt + 4, b"-->");
                    } else if b[lt..].starts_with(b"<![CDATA[") {
                        self.skip_to(lt + 9, b"]]>");
                    } else {
                        // DOCTYPE, possibly with an internal subset in brackets.
                        let gt = memchr2(b'>', b'[', &b[lt..]).map(|p| lt + p);
                        match gt {
                            Some(p) if b[p] == b'[' => {
                                self.skip_to(p, b"]>");
                            }
                            Some(p) => self.pos = p + 1,
                            None => {
                                self.truncated_at = Some(lt);
                                return None;
                            }
                        }
                    }
                }
                b'?' => {
                    self.skip_to(lt + 2, b"?>");
                }
                b'/' => {
                    let name_end = lt
                        + 2
                        + b[lt + 2..]
                            .iter()
                            .position(|c| !is_name_char(*c))
                            .unwrap_or(b.len() - lt - 2);
                    let Some(gt) = memchr(b'>', &b[name_end..]) else {
                        self.truncated_at = Some(lt);
                        self.pos = b.len();
                        return None;
                    };
                    self.pos = name_end + gt + 1;
                    return Some(Tok::End {
                        name: &b[lt + 2..name_end],
                        start: lt,
                    });
                }
                c if is_name_start(c) => {
                    let name_end = lt
                        + 1
                        + b[lt + 1..]
                            .iter()
                            .position(|c| !is_name_char(*c))
                            .unwrap_or(b.len() - lt - 1);
                    let Some(gt) = find_tag_end(b, name_end) else {
                        self.truncated_at = Some(lt);
                        self.pos = b.len();
                        return None;
                    };
                    self.pos = gt + 1;
                    let empty = gt > name_end && b[gt - 1] == b'/';
                    let attrs_end = if empty { gt - 1 } else { gt };
                    return Some(Tok::Start {
                        name: &b[lt + 1..name_end],
                        attrs: &b[name_end..attrs_end.max(name_end)],
                        empty,
                        end: self.pos,
                    });
                }
                _ => {
                    // A bare '<' in text: not a tag.
                    self.pos = lt + 1;
                }
            }
        }
    }
}

/// Index of the `>` closing a start tag, skipping quoted attribute values.
fn find_tag_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let p = i + memchr::memchr3(b'>', b'"', b'\'', b.get(i..)?)?;
        if b[p] == b'>' {
            return Some(p);
        }
        match memchr(b[p], &b[p + 1..]) {
            Some(q) => i = p + 1 + q + 1,
            // An unclosed quote: fall back to the first '>' after it.
            None => return memchr(b'>', &b[p..]).map(|q| p + q),
        }
    }
}

/// Attributes of a start tag: (name, raw undecoded value).
pub fn attrs(mut a: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let start = a.iter().position(|c| is_name_start(*c))?;
        a = &a[start..];
        let n = a.iter().position(|c| !is_name_char(*c)).unwrap_or(a.len());
        let name = &a[..n];
        a = &a[n..];
        let ws = a.iter().take_while(|c| c.is_ascii_whitespace()).count();
        if a.get(ws) != Some(&b'=') {
            a = &a[ws..];
            return Some((name, &b""[..]));
        }
        a = &a[ws + 1..];
        let ws = a.iter().take_while(|c| c.is_ascii_whitespace()).count();
        a = &a[ws..];
        let value = match a.first() {
            Some(&q) if q == b'"' || q == b'\'' => match memchr(q, &a[1..]) {
                Some(e) => {
                    let v = &a[1..1 + e];
                    a = &a[e + 2..];
                    v
                }
                None => {
                    let v = &a[1..];
                    a = &[];
                    v
                }
            },
            _ => {
                let e = a
                    .iter()
                    .position(|c| c.is_ascii_whitespace())
                    .unwrap_or(a.len());
                let v = &a[..e];
                a = &a[e..];
                v
            }
        };
        Some((name, value))
    })
}

/// The value of one attribute, if present.
pub fn attr<'a>(a: &'a [u8], want: &[u8]) -> Option<&'a [u8]> {
    if a.is_empty() {
        return None;
    }
    attrs(a).find(|(n, _)| *n == want).map(|(_, v)| v)
}

/// 1-based line number of a byte offset, for error messages.
pub fn line_of(b: &[u8], pos: usize) -> usize {
    memchr::memchr_iter(b'\n', &b[..pos.min(b.len())]).count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let doc = b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><a x='1>2' y=\"z\"><![CDATA[<b>]]><!-- <c> --><d/>1 < 2</a>";
        let names: Vec<String> = Tokenizer::new(doc)
            .map(|t| match t {
                Tok::Start { name, empty, .. } => {
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(name),
                        if empty { "/" } else { "" }
                    )
                }
                Tok::End { name, .. } => format!("/{}", String::from_utf8_lossy(name)),
            })
            .collect();
        assert_eq!(names, ["a", "d/", "/a"]);
        let v: Vec<_> = attrs(b" x='1>2' y=\"z\" checked w=v").collect();
        assert_eq!(v.len(), 4);
        assert_eq!(attr(b" x='1>2' y=\"z\"", b"y"), Some(&b"z"[..]));
    }
}
