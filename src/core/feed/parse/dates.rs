//! Lenient feed dates.
//!
//! RFC 822/2822, RFC 3339/ISO 8601 (zone-less read as UTC) and common variants.

/// Parses a feed date into unix milliseconds; None when it cannot be read.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 6 || s.len() > 80 {
        return None;
    }
    let b = s.as_bytes();
    if b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && (b[4] == b'-' || b[4] == b'/') {
        return parse_iso(b);
    }
    parse_rfc822(s)
}

fn num(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|±HH[:]MM|±HH]`
fn parse_iso(b: &[u8]) -> Option<i64> {
    let y = num(&b[0..4])?;
    let mo = num(&b[5..7])?;
    let d = num(&b[8..10])?;
    let mut rest = &b[10..];
    let (mut h, mut mi, mut sec, mut ms) = (0, 0, 0, 0);
    if let Some((&sep, r)) = rest.split_first() {
        if matches!(sep, b'T' | b't' | b' ') && r.len() >= 5 && r[2] == b':' {
            h = num(&r[0..2])?;
            mi = num(&r[3..5])?;
            rest = &r[5..];
            if rest.len() >= 3 && rest[0] == b':' {
                sec = num(&rest[1..3])?;
                rest = &rest[3..];
                if let Some(r2) = rest.strip_prefix(b".").or_else(|| rest.strip_prefix(b",")) {
                    let n = r2.iter().take_while(|c| c.is_ascii_digit()).count();
                    let frac = &r2[..n];
                    if !frac.is_empty() {
                        let f3: Vec<u8> = frac.iter().chain(b"000").take(3).copied().collect();
                        ms = num(&f3)?;
                    }
                    rest = &r2[n..];
                }
            }
        }
    }
    let off = zone_offset(std::str::from_utf8(rest).ok()?.trim())?;
    to_ms(y, mo, d, h, mi, sec, off).map(|t| t + ms)
}

/// `[Day,] DD Mon YYYY HH:MM[:SS] [zone]`, tolerant of order, 2-digit years and named zones.
fn parse_rfc822(s: &str) -> Option<i64> {
    let (mut day, mut mon, mut year) = (None, None, None);
    let (mut h, mut mi, mut sec) = (0, 0, 0);
    let mut off = 0i64;
    for tok in s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        let t = tok.as_bytes();
        if t[0] == b'+' || (t[0] == b'-' && t.len() > 1) {
            off = zone_offset(tok)?;
        } else if t.contains(&b':') {
            let mut parts = tok.split(':');
            h = num(parts.next()?.as_bytes())?;
            mi = num(parts.next()?.as_bytes())?;
            if let Some(p) = parts.next() {
                sec = num(p.split('.').next()?.as_bytes())?;
            }
        } else if t[0].is_ascii_digit() {
            let n = num(t.strip_suffix(b".").unwrap_or(t))?;
            if t.len() == 4 || day.is_some() {
                year = Some(n);
            } else {
                day = Some(n);
            }
        } else if let Some(m) = month(tok) {
            mon = Some(m);
        } else if let Some(o) = zone_offset(tok) {
            off = o;
        } else if tok.starts_with('(') {
            break;
        }
        // Day names and unknown words are ignored.
    }
    let mut y = year?;
    if y < 100 {
        y += if y < 70 { 2000 } else { 1900 };
    }
    to_ms(y, mon?, day?, h, mi, sec, off)
}

fn month(tok: &str) -> Option<i64> {
    const M: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let head = tok.get(..3)?.to_ascii_lowercase();
    M.iter().position(|m| *m == head).map(|i| i as i64 + 1)
}

/// Seconds east of UTC; "" and unknown military letters count as UTC.
fn zone_offset(z: &str) -> Option<i64> {
    let z = z.trim();
    let named = match z.to_ascii_uppercase().as_str() {
        "" | "Z" | "UT" | "UTC" | "GMT" => Some(0),
        "EST" => Some(-5),
        "EDT" => Some(-4),
        "CST" => Some(-6),
        "CDT" => Some(-5),
        "MST" => Some(-7),
        "MDT" => Some(-6),
        "PST" => Some(-8),
        "PDT" => Some(-7),
        "CET" => Some(1),
        "CEST" => Some(2),
        "BST" => Some(1),
        "IST" => Some(5),
        "JST" => Some(9),
        _ => None,
    };
    if let Some(hours) = named {
        return Some(hours * 3600);
    }
    let b = z.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        c if c.is_ascii_alphabetic() && b.len() == 1 => return Some(0),
        _ => return None,
    };
    let digits: Vec<u8> = b[1..].iter().filter(|c| **c != b':').copied().collect();
    let (hh, mm) = match digits.len() {
        1 | 2 => (num(&digits)?, 0),
        4 => (num(&digits[..2])?, num(&digits[2..])?),
        _ => return None,
    };
    if hh > 23 || mm > 59 {
        return None;
    }
    Some(sign * (hh * 3600 + mm * 60))
}

fn to_ms(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, off: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || !(1000..=9999).contains(&y) {
        return None;
    }
    if h > 24 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + h * 3600 + mi * 60 + s) - off) * 1000)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn formats() {
        let t = 1_717_408_800_000; // 2024-06-03T10:00:00Z
        for s in [
            "Mon, 03 Jun 2024 10:00:00 GMT",
            "Mon, 3 Jun 2024 10:00:00 +0000",
            "Mon, 03 Jun 2024 06:00:00 EDT",
            "03 Jun 24 10:00 Z",
            "Monday, 03 June 2024 12:00:00 +02:00",
            "2024-06-03T10:00:00Z",
            "2024-06-03T10:00:00",
            "2024-06-03 10:00:00",
            "2024-06-03T12:00:00+02:00",
            "2024-06-03T10:00:00.000+0000",
            "Jun 3 2024 10:00:00 GMT",
        ] {
            assert_eq!(parse_date(s), Some(t), "{s}");
        }
        assert_eq!(parse_date("2024-06-03"), Some(1_717_372_800_000));
        assert_eq!(parse_date("2024-06-03T10:00:00.5Z"), Some(t + 500));
        for bad in ["", "yesterday", "2024-13-01", "99:99", "Mon, 45 Foo 2024"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
