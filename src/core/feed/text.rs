//! Text as feeds write it: entities, CDATA, characters XML forbids, whitespace, length.

use std::borrow::Cow;

/// Decodes character references (`&#38;`, `&#x26;`) and named entities (XML's
/// five and HTML 4's), leaving anything unknown (a bare `&`) as it is.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'&', &b[i..]) {
        let amp = i + off;
        i = amp + 1;
        if let Some((ch, len)) = entity_at(&b[amp + 1..]) {
            out.push_str(&s[last..amp]);
            if let Some(c) = ch {
                out.push(c);
            }
            last = amp + 1 + len;
            i = last;
        }
    }
    out.push_str(&s[last..]);
    Cow::Owned(out)
}

/// Parses the entity after a `&`: Some((char or None to drop, bytes consumed incl. `;`)).
fn entity_at(b: &[u8]) -> Option<(Option<char>, usize)> {
    let semi = b.iter().take(34).position(|&c| c == b';')?;
    let body = &b[..semi];
    if body.first() == Some(&b'#') {
        let (digits, radix) = match body.get(1) {
            Some(b'x') | Some(b'X') => (&body[2..], 16),
            _ => (&body[1..], 10),
        };
        if digits.is_empty() || digits.len() > 8 {
            return None;
        }
        let txt = std::str::from_utf8(digits).ok()?;
        let n = u32::from_str_radix(txt, radix).ok()?;
        return Some((code_point(n), semi + 1));
    }
    let idx = NAMED.binary_search_by(|(k, _)| (*k).cmp(body)).ok()?;
    Some((char::from_u32(NAMED[idx].1), semi + 1))
}

/// Maps a numeric reference to a char: Windows-1252 C1 quirks fixed, controls dropped.
fn code_point(n: u32) -> Option<char> {
    match n {
        0x80..=0x9f => cp1252_c1(n as u8),
        0x09 | 0x0a | 0x0d => char::from_u32(n),
        0..=0x1f | 0x7f => None,
        _ => Some(char::from_u32(n).unwrap_or('\u{fffd}')),
    }
}

/// Windows-1252's meaning of bytes 0x80..=0x9f (publishers mislabel it as Latin-1).
pub fn cp1252_c1(b: u8) -> Option<char> {
    const T: [u16; 32] = [
        0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039,
        0x0152, 0, 0x017d, 0, 0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc,
        0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
    ];
    let v = *T.get(b.wrapping_sub(0x80) as usize)?;
    if v == 0 {
        None
    } else {
        char::from_u32(v as u32)
    }
}

/// Decodes the raw text of an XML element: CDATA sections literally, the rest
/// entity-decoded; stray control characters removed.
pub fn xml_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find("<![CDATA[") {
        out.push_str(&decode_entities(&rest[..start]));
        let body = &rest[start + 9..];
        match body.find("]]>") {
            Some(end) => {
                out.push_str(&body[..end]);
                rest = &body[end + 3..];
            }
            None => {
                out.push_str(body);
                rest = "";
            }
        }
    }
    out.push_str(&decode_entities(rest));
    if out
        .bytes()
        .any(|c| c < 0x20 && c != b'\t' && c != b'\n' && c != b'\r')
    {
        out.retain(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'));
    }
    out
}

/// True for characters XML 1.0 does not allow anywhere in a document: C0 controls other
/// than tab, LF and CR, and U+FFFE / U+FFFF (a Rust string cannot hold a lone surrogate).
fn xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// `s` without the characters XML 1.0 forbids (borrowed, and cheap, when there are none).
pub fn xml_chars(s: &str) -> Cow<'_, str> {
    // U+FFFE/U+FFFF start with byte 0xEF in UTF-8; any other byte below 0x20 but \t\n\r is a C0 control.
    let suspicious = s
        .bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xef);
    if suspicious && s.chars().any(xml_forbidden) {
        Cow::Owned(s.chars().filter(|c| !xml_forbidden(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Collapses runs of whitespace into one space and trims; characters XML forbids are
/// dropped (every plain-text title, description and summary ends here).
pub fn collapse_ws(s: &str) -> String {
    let s = xml_chars(s);
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Decodes base64 (standard or URL-safe alphabet; whitespace and padding ignored, decoding
/// stops at anything else); invalid UTF-8 becomes U+FFFD.
pub fn base64_text(s: &str) -> String {
    String::from_utf8_lossy(&crate::core::codec::base64_decode_lenient(s)).into_owned()
}

/// Cuts `s` to at most `max` chars on a word boundary, adding "…" when cut.
pub fn truncate_words(s: &str, max: usize) -> String {
    if s.char_indices().nth(max).is_none() {
        return s.to_string();
    }
    // Room for the ellipsis.
    let cut = s
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(s.len(), |(i, _)| i);
    let head = &s[..cut];
    let at = match head.rfind(char::is_whitespace) {
        Some(p) if p > cut / 2 => p,
        _ => cut,
    };
    let mut out = head[..at].trim_end().to_string();
    out.push('…');
    out
}

/// XML's five plus HTML 4's named entities, sorted by name for binary search.
const NAMED: &[(&[u8], u32)] = &[
    (b"AElig", 198),
    (b"Aacute", 193),
    (b"Acirc", 194),
    (b"Agrave", 192),
    (b"Alpha", 913),
    (b"Aring", 197),
    (b"Atilde", 195),
    (b"Auml", 196),
    (b"Beta", 914),
    (b"Ccedil", 199),
    (b"Chi", 935),
    (b"Dagger", 8225),
    (b"Delta", 916),
    (b"ETH", 208),
    (b"Eacute", 201),
    (b"Ecirc", 202),
    (b"Egrave", 200),
    (b"Epsilon", 917),
    (b"Eta", 919),
    (b"Euml", 203),
    (b"Gamma", 915),
    (b"Iacute", 205),
    (b"Icirc", 206),
    (b"Igrave", 204),
    (b"Iota", 921),
    (b"Iuml", 207),
    (b"Kappa", 922),
    (b"Lambda", 923),
    (b"Mu", 924),
    (b"Ntilde", 209),
    (b"Nu", 925),
    (b"OElig", 338),
    (b"Oacute", 211),
    (b"Ocirc", 212),
    (b"Ograve", 210),
    (b"Omega", 937),
    (b"Omicron", 927),
    (b"Oslash", 216),
    (b"Otilde", 213),
    (b"Ouml", 214),
    (b"Phi", 934),
    (b"Pi", 928),
    (b"Prime", 8243),
    (b"Psi", 936),
    (b"Rho", 929),
    (b"Scaron", 352),
    (b"Sigma", 931),
    (b"THORN", 222),
    (b"Tau", 932),
    (b"Theta", 920),
    (b"Uacute", 218),
    (b"Ucirc", 219),
    (b"Ugrave", 217),
    (b"Upsilon", 933),
    (b"Uuml", 220),
    (b"Xi", 926),
    (b"Yacute", 221),
    (b"Yuml", 376),
    (b"Zeta", 918),
    (b"aacute", 225),
    (b"acirc", 226),
    (b"acute", 180),
    (b"aelig", 230),
    (b"agrave", 224),
    (b"alefsym", 8501),
    (b"alpha", 945),
    (b"amp", 38),
    (b"and", 8743),
    (b"ang", 8736),
    (b"apos", 39),
    (b"aring", 229),
    (b"asymp", 8776),
    (b"atilde", 227),
    (b"auml", 228),
    (b"bdquo", 8222),
    (b"beta", 946),
    (b"brvbar", 166),
    (b"bull", 8226),
    (b"cap", 8745),
    (b"ccedil", 231),
    (b"cedil", 184),
    (b"cent", 162),
    (b"chi", 967),
    (b"circ", 710),
    (b"clubs", 9827),
    (b"cong", 8773),
    (b"copy", 169),
    (b"crarr", 8629),
    (b"cup", 8746),
    (b"curren", 164),
    (b"dArr", 8659),
    (b"dagger", 8224),
    (b"darr", 8595),
    (b"deg", 176),
    (b"delta", 948),
    (b"diams", 9830),
    (b"divide", 247),
    (b"eacute", 233),
    (b"ecirc", 234),
    (b"egrave", 232),
    (b"empty", 8709),
    (b"emsp", 8195),
    (b"ensp", 8194),
    (b"epsilon", 949),
    (b"equiv", 8801),
    (b"eta", 951),
    (b"eth", 240),
    (b"euml", 235),
    (b"euro", 8364),
    (b"exist", 8707),
    (b"fnof", 402),
    (b"forall", 8704),
    (b"frac12", 189),
    (b"frac14", 188),
    (b"frac34", 190),
    (b"frasl", 8260),
    (b"gamma", 947),
    (b"ge", 8805),
    (b"gt", 62),
    (b"hArr", 8660),
    (b"harr", 8596),
    (b"hearts", 9829),
    (b"hellip", 8230),
    (b"iacute", 237),
    (b"icirc", 238),
    (b"iexcl", 161),
    (b"igrave", 236),
    (b"image", 8465),
    (b"infin", 8734),
    (b"int", 8747),
    (b"iota", 953),
    (b"iquest", 191),
    (b"isin", 8712),
    (b"iuml", 239),
    (b"kappa", 954),
    (b"lArr", 8656),
    (b"lambda", 955),
    (b"lang", 9001),
    (b"laquo", 171),
    (b"larr", 8592),
    (b"lceil", 8968),
    (b"ldquo", 8220),
    (b"le", 8804),
    (b"lfloor", 8970),
    (b"lowast", 8727),
    (b"loz", 9674),
    (b"lrm", 8206),
    (b"lsaquo", 8249),
    (b"lsquo", 8216),
    (b"lt", 60),
    (b"macr", 175),
    (b"mdash", 8212),
    (b"micro", 181),
    (b"middot", 183),
    (b"minus", 8722),
    (b"mu", 956),
    (b"nabla", 8711),
    (b"nbsp", 160),
    (b"ndash", 8211),
    (b"ne", 8800),
    (b"ni", 8715),
    (b"not", 172),
    (b"notin", 8713),
    (b"nsub", 8836),
    (b"ntilde", 241),
    (b"nu", 957),
    (b"oacute", 243),
    (b"ocirc", 244),
    (b"oelig", 339),
    (b"ograve", 242),
    (b"oline", 8254),
    (b"omega", 969),
    (b"omicron", 959),
    (b"oplus", 8853),
    (b"or", 8744),
    (b"ordf", 170),
    (b"ordm", 186),
    (b"oslash", 248),
    (b"otilde", 245),
    (b"otimes", 8855),
    (b"ouml", 246),
    (b"para", 182),
    (b"part", 8706),
    (b"permil", 8240),
    (b"perp", 8869),
    (b"phi", 966),
    (b"pi", 960),
    (b"piv", 982),
    (b"plusmn", 177),
    (b"pound", 163),
    (b"prime", 8242),
    (b"prod", 8719),
    (b"prop", 8733),
    (b"psi", 968),
    (b"quot", 34),
    (b"rArr", 8658),
    (b"radic", 8730),
    (b"rang", 9002),
    (b"raquo", 187),
    (b"rarr", 8594),
    (b"rceil", 8969),
    (b"rdquo", 8221),
    (b"real", 8476),
    (b"reg", 174),
    (b"rfloor", 8971),
    (b"rho", 961),
    (b"rlm", 8207),
    (b"rsaquo", 8250),
    (b"rsquo", 8217),
    (b"sbquo", 8218),
    (b"scaron", 353),
    (b"sdot", 8901),
    (b"sect", 167),
    (b"shy", 173),
    (b"sigma", 963),
    (b"sigmaf", 962),
    (b"sim", 8764),
    (b"spades", 9824),
    (b"sub", 8834),
    (b"sube", 8838),
    (b"sum", 8721),
    (b"sup", 8835),
    (b"sup1", 185),
    (b"sup2", 178),
    (b"sup3", 179),
    (b"supe", 8839),
    (b"szlig", 223),
    (b"tau", 964),
    (b"there4", 8756),
    (b"theta", 952),
    (b"thetasym", 977),
    (b"thinsp", 8201),
    (b"thorn", 254),
    (b"tilde", 732),
    (b"times", 215),
    (b"trade", 8482),
    (b"uArr", 8657),
    (b"uacute", 250),
    (b"uarr", 8593),
    (b"ucirc", 251),
    (b"ugrave", 249),
    (b"uml", 168),
    (b"upsih", 978),
    (b"upsilon", 965),
    (b"uuml", 252),
    (b"weierp", 8472),
    (b"xi", 958),
    (b"yacute", 253),
    (b"yen", 165),
    (b"yuml", 255),
    (b"zeta", 950),
    (b"zwj", 8205),
    (b"zwnj", 8204),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_text("PHA+aGk8L3A+"), "<p>hi</p>");
        assert_eq!(base64_text("PHA+\n aGk8L3A+=="), "<p>hi</p>");
        assert_eq!(base64_text("w6k="), "é");
        assert_eq!(base64_text("/w=="), "\u{fffd}");
        assert_eq!(base64_text("!!"), "");
    }
}
