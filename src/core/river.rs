//! The fair front page: a member's day in the planet's time zone, and the cap the river and titles apply to each member's day.
//!
//! Each entry's rank within its member's day is stored when it is first stored (D1 counts
//! the member's entries already stored in the same day, so the cap counts the whole day,
//! not the page) and never changes: an entry once shown is never pushed out by a later
//! one, and a back-dated entry that arrives late is counted in its own day. The time zone
//! is a seam ([`Zone`]): the edge asks JavaScript's `Intl` (no time zone data in the wasm),
//! native tests answer with chrono-tz.

const DAY_MS: i64 = 86_400_000;

/// The planet's time zone, as far as the pure code needs it.
pub trait Zone {
    /// Local time minus UTC at the instant `utc_ms`, in milliseconds.
    fn offset_ms(&self, utc_ms: i64) -> i64;
}

/// UTC: the default zone, and what a zone name that cannot be used falls back to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Utc;

impl Zone for Utc {
    fn offset_ms(&self, _: i64) -> i64 {
        0
    }
}

/// The local day of an instant: days since 1970-01-01 in the zone's calendar.
pub fn local_day(zone: &dyn Zone, utc_ms: i64) -> i64 {
    (utc_ms.saturating_add(zone.offset_ms(utc_ms))).div_euclid(DAY_MS)
}

/// The first instant of local day `day`: its local midnight or, where a clock change skips
/// midnight, the first instant after it.
pub fn day_start(zone: &dyn Zone, day: i64) -> i64 {
    let midnight = day.saturating_mul(DAY_MS);
    // Two guesses settle any day whose offset does not change around its midnight.
    let guess = midnight - zone.offset_ms(midnight);
    let t = midnight - zone.offset_ms(guess);
    if local_day(zone, t) == day && local_day(zone, t - 1) < day {
        return t;
    }
    // A clock change near midnight: the first instant whose local day is `day`, searched
    // within the widest offsets there are (±26 h, with room).
    let (mut before, mut at) = (midnight - 36 * 3_600_000, midnight + 36 * 3_600_000);
    while at - before > 1 {
        let mid = before + (at - before) / 2;
        if local_day(zone, mid) >= day {
            at = mid;
        } else {
            before = mid;
        }
    }
    at
}

/// The local day `utc_ms` falls in, as `[start, end)` in unix milliseconds (23 or 25
/// hours long on the days the clocks change).
pub fn day_span(zone: &dyn Zone, utc_ms: i64) -> (i64, i64) {
    let day = local_day(zone, utc_ms);
    (day_start(zone, day), day_start(zone, day + 1))
}

/// Whether the fair river shows an entry of this rank within its member's day (`cap` 0:
/// every entry; an entry without a rank, stored before ranks were, is shown).
pub fn shown(day_rank: Option<i64>, cap: u32) -> bool {
    cap == 0 || day_rank.is_none_or(|r| r <= i64::from(cap))
}

/// How many of a member's `in_day` entries of one day the fair river does not show.
pub fn hidden(in_day: i64, cap: u32) -> u32 {
    if cap == 0 {
        return 0;
    }
    u32::try_from((in_day - i64::from(cap)).max(0)).unwrap_or(u32::MAX)
}

// ---- Interface strings of the fair river (to move into the catalogs) -------------------
// assets/live.js writes the same words (its `MORE_TODAY` / `MORE_THAT_DAY`).

/// The link after a member's last shown entry of a day: "3 more from this member today".
pub fn more_from_member(n: u32, today: bool) -> String {
    if today {
        format!("{n} more from this member today")
    } else {
        format!("{n} more from this member that day")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed offset, enough to test the arithmetic; DST days are in tests/native/fair_river.rs.
    struct Fixed(i64);
    impl Zone for Fixed {
        fn offset_ms(&self, _: i64) -> i64 {
            self.0
        }
    }

    #[test]
    fn a_utc_day_is_its_24_hours() {
        let t = 1_795_724_942_000; // 2026-11-26T20:29:02Z
        let (start, end) = day_span(&Utc, t);
        assert_eq!(start, 1_795_651_200_000); // 2026-11-26T00:00:00Z
        assert_eq!(end - start, DAY_MS);
    }

    #[test]
    fn an_offset_moves_the_day_boundary() {
        let t = 1_795_724_942_000; // 20:29 UTC is 05:29 the next day in UTC+9
        let tokyo = Fixed(9 * 3_600_000);
        assert_eq!(local_day(&tokyo, t), local_day(&Utc, t) + 1);
        let (start, end) = day_span(&tokyo, t);
        assert_eq!(start, 1_795_651_200_000 + DAY_MS - 9 * 3_600_000);
        assert_eq!(end - start, DAY_MS);
        assert!(start <= t && t < end);
    }

    #[test]
    fn the_cap_shows_ranks_up_to_it_and_counts_the_rest() {
        assert!(shown(Some(5), 5));
        assert!(!shown(Some(6), 5));
        assert!(shown(Some(60), 0), "0 turns the cap off");
        assert!(shown(None, 5), "entries without a rank are shown");
        assert_eq!(hidden(8, 5), 3);
        assert_eq!(hidden(4, 5), 0);
        assert_eq!(hidden(80, 0), 0);
        assert_eq!(more_from_member(3, true), "3 more from this member today");
    }
}
