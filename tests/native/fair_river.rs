//! The fair front page's days and ranks (`core::river`), with the IANA database of chrono-tz as the zone.

use chrono::{Datelike, NaiveDate, Offset, TimeZone, Utc as ChronoUtc};
use chrono_tz::Tz;
use orrery::core::config::Config;
use orrery::core::river::{day_span, day_start, hidden, local_day, shown, Utc, Zone};

/// chrono-tz answering the seam the edge answers with `Intl.DateTimeFormat`.
struct Iana(Tz);

impl Zone for Iana {
    fn offset_ms(&self, utc_ms: i64) -> i64 {
        let t = ChronoUtc.timestamp_millis_opt(utc_ms).unwrap();
        i64::from(
            self.0
                .offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        ) * 1000
    }
}

fn ms(zone: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    zone.with_ymd_and_hms(y, m, d, h, min, 0)
        .earliest()
        .unwrap()
        .timestamp_millis()
}

fn epoch_day(y: i32, m: u32, d: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .signed_duration_since(NaiveDate::default())
        .num_days()
}

const HOUR: i64 = 3_600_000;

#[test]
fn a_spring_forward_day_in_new_york_is_23_hours_long() {
    let ny = Iana(chrono_tz::America::New_York);
    // 2026-03-08: clocks go from 02:00 to 03:00.
    let noon = ms(chrono_tz::America::New_York, 2026, 3, 8, 12, 0);
    let (start, end) = day_span(&ny, noon);
    assert_eq!(end - start, 23 * HOUR);
    assert_eq!(start, ms(chrono_tz::America::New_York, 2026, 3, 8, 0, 0));
    assert_eq!(local_day(&ny, noon), epoch_day(2026, 3, 8));
}

#[test]
fn a_fall_back_day_in_new_york_is_25_hours_long() {
    let ny = Iana(chrono_tz::America::New_York);
    let noon = ms(chrono_tz::America::New_York, 2026, 11, 1, 12, 0);
    let (start, end) = day_span(&ny, noon);
    assert_eq!(end - start, 25 * HOUR);
}

#[test]
fn late_evening_in_new_york_is_still_that_day_though_utc_has_moved_on() {
    let ny = Iana(chrono_tz::America::New_York);
    let late = ms(chrono_tz::America::New_York, 2026, 12, 7, 23, 30); // 04:30Z on the 8th
    assert_eq!(local_day(&ny, late), epoch_day(2026, 12, 7));
    assert_eq!(local_day(&Utc, late), epoch_day(2026, 12, 8));
}

#[test]
fn a_day_whose_midnight_is_skipped_starts_at_the_clock_change() {
    // America/Santiago, 2026-09-06: clocks go from 00:00 straight to 01:00.
    let cl = Iana(chrono_tz::America::Santiago);
    let day = epoch_day(2026, 9, 6);
    let start = day_start(&cl, day);
    assert_eq!(local_day(&cl, start), day);
    assert_eq!(local_day(&cl, start - 1), day - 1);
    let local = chrono_tz::America::Santiago
        .timestamp_millis_opt(start)
        .unwrap();
    assert_eq!(
        (local.day(), local.format("%H:%M").to_string()),
        (6, "01:00".into())
    );
}

/// Against chrono-tz's own calendar: across zones and two years, every instant lies in
/// its day's span, which starts and ends where the local date changes.
#[test]
fn day_spans_agree_with_the_iana_calendar_across_zones() {
    let zones = [
        chrono_tz::UTC,
        chrono_tz::Europe::Paris,
        chrono_tz::America::New_York,
        chrono_tz::America::Santiago,
        chrono_tz::Australia::Lord_Howe, // a 30-minute DST shift
        chrono_tz::Asia::Kathmandu,      // +05:45
        chrono_tz::Pacific::Apia,
        chrono_tz::Pacific::Kiritimati, // +14
        chrono_tz::Pacific::Pago_Pago,  // -11
    ];
    let from = ms(chrono_tz::UTC, 2025, 1, 1, 0, 0);
    for tz in zones {
        let zone = Iana(tz);
        let mut t = from;
        while t < from + 730 * 24 * HOUR {
            let (start, end) = day_span(&zone, t);
            assert!(start <= t && t < end, "{tz} {t}");
            let local = tz.timestamp_millis_opt(t).unwrap().date_naive();
            let day = local.signed_duration_since(NaiveDate::default()).num_days();
            assert_eq!(local_day(&zone, t), day, "{tz} {t}");
            assert_eq!(local_day(&zone, start), day, "{tz} start");
            assert_eq!(local_day(&zone, start - 1), day - 1, "{tz} before start");
            assert_eq!(local_day(&zone, end), day + 1, "{tz} end");
            t += 7 * HOUR + 13 * 60_000; // wanders through every hour of the day
        }
    }
}

/// The D1 side in miniature: an entry's day is its local day, its rank one more than its
/// member's highest that day (`edge::d1::entries::entry_write`).
#[derive(Default)]
struct Stored(Vec<(i64, i64, i64)>); // (feed, published, rank)

impl Stored {
    fn store(&mut self, zone: &dyn Zone, feed: i64, published: i64) -> i64 {
        let day = local_day(zone, published);
        let rank = 1 + self
            .0
            .iter()
            .filter(|(f, p, _)| *f == feed && local_day(zone, *p) == day)
            .map(|(_, _, r)| *r)
            .max()
            .unwrap_or(0);
        self.0.push((feed, published, rank));
        rank
    }
    fn river(&self, cap: u32) -> Vec<(i64, i64)> {
        let mut shown_: Vec<(i64, i64)> = self
            .0
            .iter()
            .filter(|(_, _, r)| shown(Some(*r), cap))
            .map(|(f, p, _)| (*f, *p))
            .collect();
        shown_.sort_by_key(|&(_, p)| std::cmp::Reverse(p));
        shown_
    }
}

#[test]
fn the_cap_counts_the_whole_day_and_a_late_back_dated_entry_never_pushes_one_out() {
    let paris = Iana(chrono_tz::Europe::Paris);
    let at = |d: u32, h: u32| ms(chrono_tz::Europe::Paris, 2026, 12, d, h, 0);
    let mut db = Stored::default();
    // A prolific member posts eight times on the 7th, a quiet one once.
    for h in 8..16 {
        db.store(&paris, 1, at(7, h));
    }
    db.store(&paris, 2, at(7, 9));
    let river = db.river(5);
    assert_eq!(river.iter().filter(|(f, _)| *f == 1).count(), 5);
    assert_eq!(river.iter().filter(|(f, _)| *f == 2).count(), 1);
    let before: Vec<_> = river.clone();
    // A back-dated entry of the 7th arrives on the 8th: counted in the 7th, past the cap.
    assert_eq!(db.store(&paris, 1, at(7, 7)), 9);
    assert_eq!(db.river(5), before, "what was shown stays shown");
    // 00:30 in Paris on the 8th is 23:30 UTC on the 7th: a new day for the member.
    assert_eq!(db.store(&paris, 1, at(8, 0) + 30 * 60_000), 1);
    // "N more from this member": the day's count past the cap.
    let in_day =
        db.0.iter()
            .filter(|(f, p, _)| *f == 1 && day_span(&paris, *p) == day_span(&paris, at(7, 12)))
            .count();
    assert_eq!(hidden(in_day as i64, 5), 4);
    assert_eq!(db.river(0).len(), db.0.len(), "0 shows every entry");
}

#[test]
fn the_fair_river_knobs_are_read_strictly() {
    let d = Config::default();
    assert_eq!(
        (d.river_per_feed_per_day, d.planet_timezone.as_str()),
        (5, "UTC")
    );
    let vars = |k: &str| match k {
        "RIVER_PER_FEED_PER_DAY" => Some("0".into()),
        "PLANET_TIMEZONE" => Some(" America/Argentina/Buenos_Aires ".into()),
        _ => None,
    };
    let c = Config::from_lookup(vars);
    assert_eq!(c.river_per_feed_per_day, 0, "0 turns the cap off");
    assert_eq!(c.planet_timezone, "America/Argentina/Buenos_Aires");
    assert!(Config::problems(vars).is_empty());
    for zone in ["Etc/GMT+5", "UTC", "America/Port-au-Prince"] {
        assert!(
            Config::problems(|k| (k == "PLANET_TIMEZONE").then(|| zone.into())).is_empty(),
            "{zone}"
        );
    }
    let bad = |k: &str| match k {
        "RIVER_PER_FEED_PER_DAY" => Some("many".into()),
        "PLANET_TIMEZONE" => Some("Europe/../Paris x".into()),
        _ => None,
    };
    let c = Config::from_lookup(bad);
    assert_eq!(
        (c.river_per_feed_per_day, c.planet_timezone.as_str()),
        (5, "UTC")
    );
    let problems = Config::problems(bad);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("RIVER_PER_FEED_PER_DAY: \"many\"")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("PLANET_TIMEZONE: ")),
        "{problems:?}"
    );
}
