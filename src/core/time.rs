//! Dates written out: unix milliseconds as ISO 8601, RFC 822 and for people.
//!
//! A leaf. Reading dates out of feeds is a pipeline stage (`feed::parse::dates`); this is
//! the other direction, for pages and feeds out. Every function takes the time as an
//! argument and returns an empty string for one chrono cannot represent.

use chrono::{DateTime, Utc};

fn format(ms: i64, pattern: &str) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.format(pattern).to_string())
        .unwrap_or_default()
}

/// `2026-11-23T20:29:02Z` for a unix-ms time (machine-readable `datetime`, Atom dates).
pub fn iso_time(ms: i64) -> String {
    format(ms, "%Y-%m-%dT%H:%M:%SZ")
}

/// `23 Nov 2026, 20:29 UTC` for people; the script shows local time.
pub fn human_time(ms: i64) -> String {
    format(ms, "%-d %b %Y, %H:%M UTC")
}

/// `Mon, 23 Nov 2026 20:29:02 +0000`: RSS 2.0's `pubDate`.
pub fn rfc822_time(ms: i64) -> String {
    format(ms, "%a, %d %b %Y %H:%M:%S +0000")
}

/// `2026-11-24`: the (UTC) day an entry belongs to; the live script computes the same key.
pub fn day_key(ms: i64) -> String {
    format(ms, "%Y-%m-%d")
}

/// `Tuesday, 24 November 2026`: a day heading (the live script writes new ones alike).
pub fn day_label(ms: i64) -> String {
    format(ms, "%A, %-d %B %Y")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_moment_written_every_way() {
        let ms = 1_795_724_942_000; // 2026-11-26T20:29:02Z
        assert_eq!(iso_time(ms), "2026-11-26T20:29:02Z");
        assert_eq!(human_time(ms), "26 Nov 2026, 20:29 UTC");
        assert_eq!(rfc822_time(ms), "Thu, 26 Nov 2026 20:29:02 +0000");
        assert_eq!(day_key(ms), "2026-11-26");
        assert_eq!(day_label(ms), "Thursday, 26 November 2026");
        assert_eq!(iso_time(i64::MAX), "", "out of range");
    }
}
