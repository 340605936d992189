//! What a public request costs: each route's rows and object requests as a limiter weight, and the cache key built from the parameters a page reads.

use super::Route;

/// Feeds on one page of `/feeds` and `/api/feeds` (`?after=<feed id>` pages on, by name):
/// a request reads a page of feed rows, however many members the planet has.
pub const FEEDS_PAGE: u32 = 100;

/// What one unit of the public limiter (`PUBLIC_LIMIT`) stands for (defined beside the
/// socket budgets, which spend the same units for resumes).
pub use crate::core::protocol::ROWS_PER_UNIT;

/// Rows a river page reads per entry at most: the index entry, the row, its feed's row
/// (the join), and a tie on `published_at` read past the page.
const RIVER_ROWS_PER_ENTRY: u32 = 4;
/// Entries on `/titles`, and in the planet's and a feed's Atom/RSS.
pub const TITLES_ENTRIES: u32 = 100;
pub const SYNDICATED_ENTRIES: u32 = 50;
/// Rows of `feed_tally` (one per feed status) and the newest entry id: `/healthz`.
const TALLY_ROWS: u32 = 7;

/// The most one cache miss of a route may cost: D1 rows read and Durable Object requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub rows: u32,
    pub objects: u32,
}

impl Route {
    /// The one table of what a miss costs, route by route, with `page_size` entries on a
    /// river page (`PAGE_SIZE`). Each bound is what the route's queries read through their
    /// indexes (the quota-abuse suite measures them with the meter); the member list of the
    /// sidebar, Atom, OPML and FOAF is shared and kept apart (`member_cache`), not counted.
    pub fn cost(self, page_size: u32) -> Cost {
        use crate::core::search;
        use Route::*;
        let river = |entries: u32| RIVER_ROWS_PER_ENTRY * entries;
        let fair = |entries: u32| {
            u32::try_from(crate::core::river::fair_rows(entries as usize)).unwrap_or(u32::MAX)
        };
        let feed_page = 2 * (FEEDS_PAGE + 1);
        let (rows, objects) = match self {
            // The page, one more entry (is there an older page?), its revision and cursor,
            // and the fair front page's walk and "N more" links (`core::river::fair_walk`).
            Home => (river(page_size + 1) + 2 + fair(page_size), 0),
            Feed(_) => (river(page_size + 1) + 3, 0),
            Titles => (river(TITLES_ENTRIES) + fair(TITLES_ENTRIES), 0),
            AtomOut | RssOut | Rss10Out => (river(SYNDICATED_ENTRIES), 0),
            FeedAtomOut(_) => (river(SYNDICATED_ENTRIES) + 1, 0),
            OpmlOut | FoafOut => (0, 0),
            // A page of feeds (read twice: the sort) and its cursor; the total from the tally.
            Feeds => (feed_page + 1 + TALLY_ROWS, 0),
            ApiFeeds => (feed_page + 1, 0),
            ApiFeed(_) | Entry(_) => (2, 0),
            // The tally and the newest migration applied (one row).
            Healthz => (TALLY_ROWS + 1, 0),
            // The tally only (its `retrying` column counts the warnings).
            Health => (TALLY_ROWS, 0),
            // At most 200 entries (`limit`), each with its feed.
            ApiEntries => (2 * 200, 0),
            // The newest RANK_WINDOW matches, ranked (the window's bound, then each match's
            // doclist entry and bm25 statistics: about three rows each, as measured), then
            // the page's entries.
            Search => (3 * search::RANK_WINDOW + river(search::PAGE_SIZE + 1), 0),
            // The object's request; a feed's socket first reads that the feed exists.
            Ws | WebSubHub => (0, 1),
            FeedWs(_) => (1, 1),
            // Signing in reads the admin list (at most MAX_ADMINS rows; GitHub's start reads it
            // for an organization rule) and, at the callback, a refusal's last record; anonymous
            // input writes nothing (the provider's own calls are subrequests, not quota).
            AuthStart(_) | AuthCallback(_) => (crate::core::auth::admins::MAX_ADMINS as u32 + 2, 0),
            _ => (0, 0),
        };
        Cost { rows, objects }
    }

    /// What a miss of this route spends of the client's `PUBLIC_LIMIT` budget, in units
    /// ([`ROWS_PER_UNIT`] rows read, or one Durable Object request, each): at least one,
    /// 0 for routes that are not counted ([`Route::is_rate_limited`]). The binding counts
    /// calls, so a weight of `n` is `n` calls, as `LOGIN_LIMIT` does.
    pub fn weight(self, page_size: u32) -> u32 {
        if !self.is_rate_limited() {
            return 0;
        }
        let c = self.cost(page_size);
        (c.rows.div_ceil(ROWS_PER_UNIT) + c.objects).max(1)
    }

    /// The query parameters a cacheable route reads, in the order its cache key lists them;
    /// `None`: the route is not cached (per request, personal, or a write).
    pub fn cache_params(self) -> Option<&'static [&'static str]> {
        use Route::*;
        match self {
            Home | Feed(_) => Some(&["before"]),
            Feeds => Some(&["after"]),
            ApiFeeds => Some(&["after", "limit"]),
            Search => Some(&["q", "page"]),
            Titles | AtomOut | RssOut | Rss10Out | OpmlOut | FoafOut | FeedAtomOut(_) | Healthz
            | Health => Some(&[]),
            _ => None,
        }
    }

    /// The feed a write names (admin or API), whose own pages it may change.
    pub fn written_feed(self) -> Option<i64> {
        use Route::*;
        match self {
            AdminRefreshFeed(id) | AdminDeleteFeed(id) | AdminEditFeed(id) | AdminHoldFeed(id)
            | AdminResumeFeed(id) | ApiFeedDelete(id) | ApiFeedRefresh(id) | ApiFeedUpdate(id)
            | ApiFeedHold(id) | ApiFeedResume(id) => Some(id),
            _ => None,
        }
    }

    /// The one path a cacheable route is kept under (a trailing slash or a leading zero in
    /// an id is the same page).
    fn canonical_path(self) -> Option<String> {
        use Route::*;
        Some(match self {
            Home => "/".into(),
            Titles => "/titles".into(),
            Feeds => "/feeds".into(),
            Feed(id) => format!("/feeds/{id}"),
            FeedAtomOut(id) => format!("/feeds/{id}/feed.atom"),
            AtomOut => "/feed.atom".into(),
            RssOut => "/feed.rss".into(),
            Rss10Out => "/feed.rss10".into(),
            OpmlOut => "/feeds.opml".into(),
            FoafOut => "/foafroll.xml".into(),
            Healthz => "/healthz".into(),
            Health => "/health".into(),
            ApiFeeds => "/api/feeds".into(),
            Search => "/search".into(),
            _ => return None,
        })
    }
}

/// The cache key of a request (path and query, to put after the planet's origin), built
/// from what the route reads and nothing else: unknown parameters are dropped, the ones
/// it reads listed in one order, numbers written plainly (`0012` is `12`), an empty one
/// left out, the first of a repeated one kept (the handlers read the first). GET and HEAD
/// share it (the method is not part of it). `None`: the route is not cached.
pub fn cache_key(r: Route, query: &[(String, String)]) -> Option<String> {
    let path = r.canonical_path()?;
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for &name in r.cache_params()? {
        let Some((_, raw)) = query.iter().find(|(k, _)| k == name) else {
            continue;
        };
        let value = match name {
            // The search box: the handler reads the first 200 characters.
            "q" => raw.chars().take(200).collect::<String>(),
            "page" => crate::core::search::page_number(Some(raw)).to_string(),
            // Ids and counts: a malformed one is answered 400 (and never stored).
            _ => match raw.parse::<i64>() {
                Ok(n) => n.to_string(),
                Err(_) => raw.clone(),
            },
        };
        if value.is_empty() || (name == "page" && value == "1") {
            continue;
        }
        out.append_pair(name, &value);
        any = true;
    }
    Some(if any {
        format!("{path}?{}", out.finish())
    } else {
        path
    })
}

/// The cached pages a write to the planet (or to feed `feed`) may change, to forget where
/// it was made: every parameterless one, and that feed's page and Atom.
pub fn pages_a_write_changes(feed: Option<i64>) -> Vec<String> {
    use Route::*;
    let mut routes = vec![
        Home, Titles, Feeds, AtomOut, RssOut, Rss10Out, OpmlOut, FoafOut, Healthz, Health, ApiFeeds,
    ];
    if let Some(id) = feed {
        routes.extend([Feed(id), FeedAtomOut(id)]);
    }
    routes
        .into_iter()
        .filter_map(|r| cache_key(r, &[]))
        .collect()
}
