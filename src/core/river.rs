//! The fair front page: a member's day in the planet's time zone, and the cap the river and titles apply to each member's day.
//!
//! Each entry's day and rank within its member's day are stored when it is first stored
//! (one more than the member's highest rank that day, so the cap counts the whole day, not
//! the page) and never change: an entry once shown is never pushed out by a later
//! one, and a back-dated entry that arrives late is counted in its own day. The time zone
//! is a seam ([`Zone`]): the edge asks JavaScript's `Intl` (no time zone data in the wasm),
//! native tests answer with chrono-tz.

use crate::core::i18n::Tr;

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

/// How many of a member's entries of one day the fair river does not show, from the day's
/// highest rank (ranks count the day's entries, so the highest is how many there were).
pub fn hidden(in_day: i64, cap: u32) -> u32 {
    if cap == 0 {
        return 0;
    }
    u32::try_from((in_day - i64::from(cap)).max(0)).unwrap_or(u32::MAX)
}

/// One step of the fair river's walk down the `published_at` index (its columns only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct Step {
    pub id: i64,
    pub feed_id: i64,
    pub day_rank: Option<i64>,
    pub river_day: Option<i64>,
}

/// Rows a fair page may read per entry beyond a plain river page's (`core::routes::cost`):
/// its walk and its "N more" links share them.
pub const FAIR_ROWS_PER_ENTRY: usize = 3;
/// The most rows a fair page's walk and links may read, however long the page: the
/// longest page (`MAX_PAGE_SIZE`) stays within one address's minute of `PUBLIC_LIMIT`
/// (`tests/native/quota_rules.rs`).
pub const FAIR_MAX_ROWS: usize = 144;
/// Rows one "N more" link reads: its `(feed, day)`, the seek, the answer.
const ROWS_PER_LINK: usize = 3;

/// Rows a fair page of `limit` may read beyond a plain river page's.
pub fn fair_rows(limit: usize) -> usize {
    (FAIR_ROWS_PER_ENTRY * (limit + 1)).min(FAIR_MAX_ROWS)
}

/// Rows reading a fair page's entries by id costs per entry, as measured (`METER=1`): the
/// id list, the set it is matched against, the row, its feed's row, the sort.
const FETCH_ROWS_PER_ENTRY: usize = 5;

/// Index entries a fair page of `limit` walks: as many as let the walk, the page's entries
/// read by id and its "N more" links (at most one per `cap` entries) stay within a plain
/// river page's rows and [`fair_rows`] (`core::routes::cost`), so a page's D1 reads are
/// bounded whatever one member posts. A page with more left out than the walk reaches is
/// shorter, never costlier (with a small cap, or the longest pages, pages are shorter).
pub fn fair_walk(limit: usize, cap: u32) -> usize {
    let links = limit.div_ceil(usize::try_from(cap.max(1)).unwrap_or(1));
    let budget = (4 * limit + fair_rows(limit)).saturating_sub(ROWS_PER_LINK * links);
    // The largest walk w with w + FETCH_ROWS_PER_ENTRY * min(w, limit) within the budget.
    let whole = budget.saturating_sub(FETCH_ROWS_PER_ENTRY * limit);
    let walk = if whole >= limit {
        whole
    } else {
        budget / (1 + FETCH_ROWS_PER_ENTRY)
    };
    walk.max(1)
}

/// A page of the fair river, decided from the walk: the entries to show (newest first),
/// where the next page starts (`?before=`), and the member's entry of rank `cap` of each
/// day on the page (`(entry, feed, day)`), after which a "N more" link may stand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FairPage {
    pub ids: Vec<i64>,
    pub older: Option<i64>,
    pub at_cap: Vec<(i64, i64, i64)>,
}

/// `walk` is what the index gave when asked for at most `walked` entries, `limit` the
/// page size. The next page starts after the last entry shown when the page is full, else
/// after the last entry walked when the walk was cut short (so nothing is skipped or shown
/// twice), else there is none.
pub fn fair_page(walk: &[Step], walked: usize, limit: usize, cap: u32) -> FairPage {
    let shown_steps: Vec<&Step> = walk.iter().filter(|s| shown(s.day_rank, cap)).collect();
    let (page, older) = if shown_steps.len() > limit {
        let page = &shown_steps[..limit];
        (page.to_vec(), page.last().map(|s| s.id))
    } else if walk.len() >= walked {
        (shown_steps, walk.last().map(|s| s.id))
    } else {
        (shown_steps, None)
    };
    let at_cap = page
        .iter()
        .filter(|s| cap > 0 && s.day_rank == Some(i64::from(cap)))
        .filter_map(|s| Some((s.id, s.feed_id, s.river_day?)))
        .collect();
    FairPage {
        ids: page.iter().map(|s| s.id).collect(),
        older,
        at_cap,
    }
}

/// The link after a member's last shown entry of a day: "3 more from this member today"
/// (`js.river.*` in `locales/*.toml`, which assets/live.js writes too).
pub fn more_from_member(t: Tr, n: u32, today: bool) -> String {
    if today {
        t.plural("js.river.more_today", u64::from(n), &[])
    } else {
        t.plural("js.river.more_that_day", u64::from(n), &[])
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
        assert_eq!(
            more_from_member(Tr::default(), 3, true),
            "3 more from this member today"
        );
        assert_eq!(
            more_from_member(Tr::default(), 1, false),
            "1 more from this member that day"
        );
    }

    fn step(id: i64, feed_id: i64, rank: i64) -> Step {
        Step {
            id,
            feed_id,
            day_rank: Some(rank),
            river_day: Some(20_000),
        }
    }

    #[test]
    fn a_fair_page_is_full_and_resumes_after_its_last_entry() {
        // Feed 1 ranks 1..8 newest first interleaved with feed 2: ranks past 3 are left out.
        let walk: Vec<Step> = (0..8)
            .map(|i| step(100 - i, 1, i + 1))
            .chain([step(50, 2, 1)])
            .collect();
        let p = fair_page(&walk, 20, 2, 3);
        assert_eq!(p.ids, [100, 99]);
        assert_eq!(
            p.older,
            Some(99),
            "full: the next page starts after its last entry"
        );
        let p = fair_page(&walk, 20, 10, 3);
        assert_eq!(p.ids, [100, 99, 98, 50]);
        assert_eq!(p.older, None, "the walk reached the end");
        assert_eq!(p.at_cap, [(98, 1, 20_000)]);
    }

    #[test]
    fn a_fair_walk_leaves_room_for_its_links() {
        assert_eq!(fair_walk(30, 5), 120 + 93 - 18 - 150);
        assert_eq!(
            fair_walk(100, 5),
            (400 + 144 - 60) / 6,
            "a long page is shorter"
        );
        assert_eq!(fair_walk(4, 5), 8);
        for (limit, cap) in [(1, 1), (30, 1), (30, 2), (30, 5), (100, 5), (150, 100)] {
            let w = fair_walk(limit, cap);
            let links = limit.div_ceil(cap as usize);
            let reads = w + FETCH_ROWS_PER_ENTRY * w.min(limit) + ROWS_PER_LINK * links;
            assert!(
                reads <= 4 * limit + fair_rows(limit),
                "{limit} {cap}: {reads}"
            );
        }
    }

    #[test]
    fn a_walk_cut_short_resumes_after_the_last_entry_walked() {
        let walk: Vec<Step> = (0..6).map(|i| step(100 - i, 1, i + 1)).collect();
        let p = fair_page(&walk, 6, 5, 2);
        assert_eq!(p.ids, [100, 99]);
        assert_eq!(
            p.older,
            Some(95),
            "left-out entries are walked past once, never again"
        );
        let off = fair_page(&walk, 6, 5, 0);
        assert_eq!((off.ids.len(), off.older), (5, Some(96)));
        assert!(off.at_cap.is_empty());
    }
}
