//! The encoding stage: a feed's bytes as UTF-8 text, before any XML or JSON parsing.

use std::borrow::Cow;

use super::text::cp1252_c1;

/// Declared encodings read byte for byte (Windows-1252 for 0x80..=0x9f) when the bytes are not UTF-8.
const SINGLE_BYTE: [&str; 7] = [
    "iso-8859-1",
    "latin1",
    "latin-1",
    "windows-1252",
    "cp1252",
    "us-ascii",
    "iso-8859-15",
];

/// Bytes as UTF-8: UTF-16 by BOM, Latin-1/Windows-1252 when declared and needed, else lossy.
pub fn decode(b: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = b.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8_lossy(rest);
    }
    if let Some((rest, big_endian)) = utf16(b) {
        // The declaration still says utf-16; nothing after this stage reads it.
        return Cow::Owned(decode_utf16(rest, big_endian));
    }
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) if declares_single_byte(b) => Cow::Owned(decode_single_byte(b)),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// UTF-16 by BOM, or by a `<?` with no BOM: the bytes after any BOM, and whether big-endian.
fn utf16(b: &[u8]) -> Option<(&[u8], bool)> {
    match b {
        [0xff, 0xfe, rest @ ..] => Some((rest, false)),
        [0xfe, 0xff, rest @ ..] => Some((rest, true)),
        [b'<', 0, b'?', 0, ..] => Some((b, false)),
        [0, b'<', 0, b'?', ..] => Some((b, true)),
        _ => None,
    }
}

fn decode_utf16(b: &[u8], big_endian: bool) -> String {
    let units = b.chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{fffd}'))
        .collect()
}

/// Whether the first 200 bytes (the XML declaration) name a single-byte encoding.
fn declares_single_byte(b: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&b[..b.len().min(200)]).to_ascii_lowercase();
    SINGLE_BYTE.iter().any(|e| head.contains(e))
}

fn decode_single_byte(b: &[u8]) -> String {
    b.iter()
        .map(|&c| match c {
            0x80..=0x9f => cp1252_c1(c).unwrap_or('\u{fffd}'),
            _ => char::from(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16_bytes(s: &str, big_endian: bool) -> Vec<u8> {
        s.encode_utf16()
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn utf8_is_borrowed_and_bom_dropped() {
        assert!(matches!(
            decode("<rss>é</rss>".as_bytes()),
            Cow::Borrowed("<rss>é</rss>")
        ));
        assert_eq!(decode(b"\xef\xbb\xbf<rss/>"), "<rss/>");
    }

    #[test]
    fn utf16_by_bom_or_declaration() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>é €</rss>";
        for big_endian in [false, true] {
            let bare = utf16_bytes(doc, big_endian);
            assert_eq!(decode(&bare), doc, "no BOM, big_endian={big_endian}");
            let bom = utf16_bytes(&format!("\u{feff}{doc}"), big_endian);
            assert_eq!(decode(&bom), doc, "BOM, big_endian={big_endian}");
        }
        // An unpaired surrogate becomes U+FFFD.
        assert_eq!(decode(b"\xff\xfe<\x00\x00\xd8"), "<\u{fffd}");
    }

    #[test]
    fn declared_windows_1252() {
        let doc = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><title>caf\xe9 \x93q\x94 \x81</title>";
        assert_eq!(
            decode(doc),
            "<?xml version=\"1.0\" encoding=\"windows-1252\"?><title>café \u{201c}q\u{201d} \u{fffd}</title>"
        );
        // Declared but already valid UTF-8: read as UTF-8.
        let utf8 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>café</t>";
        assert_eq!(decode(utf8.as_bytes()), utf8);
    }

    #[test]
    fn undeclared_invalid_utf8_is_lossy() {
        let doc = b"<?xml version=\"1.0\"?><title>caf\xe9</title>";
        assert_eq!(
            decode(doc),
            "<?xml version=\"1.0\"?><title>caf\u{fffd}</title>"
        );
    }
}
