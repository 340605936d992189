//! Dates written for people in the planet's language: names and patterns from the catalog.

use chrono::{DateTime, Datelike, Timelike, Utc};

use super::Tr;

fn nth(list: &'static str, i: usize) -> &'static str {
    list.split('|').nth(i).unwrap_or("")
}

fn parts(t: Tr, ms: i64) -> Option<Vec<(&'static str, String)>> {
    let d = DateTime::<Utc>::from_timestamp_millis(ms)?;
    let month = d.month0() as usize;
    Some(vec![
        (
            "weekday",
            nth(
                t.text("date.weekdays"),
                d.weekday().num_days_from_monday() as usize,
            )
            .to_string(),
        ),
        ("day", d.day().to_string()),
        ("month", nth(t.text("date.months"), month).to_string()),
        (
            "month_short",
            nth(t.text("date.months_short"), month).to_string(),
        ),
        ("year", d.year().to_string()),
        ("hour", format!("{:02}", d.hour())),
        ("minute", format!("{:02}", d.minute())),
    ])
}

/// `pattern` (a catalog message) with the parts of the moment `ms` filled in.
fn written(t: Tr, pattern: &str, ms: i64) -> String {
    let Some(p) = parts(t, ms) else {
        return String::new();
    };
    let args: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    super::substitute(pattern, &args)
}

pub(super) fn day_label(t: Tr, ms: i64) -> String {
    written(t, t.text("date.day_heading"), ms)
}

pub(super) fn human_time(t: Tr, ms: i64) -> String {
    written(t, t.text("date.time"), ms)
}
