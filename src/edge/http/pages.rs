//! HTML pages: read D1, build view models, render maud.

use maud::Markup;
use worker::{Env, Request, Response};

use super::query_i64;
use crate::core::i18n::Tr;
use crate::core::routes::{etag, SYNDICATED_ENTRIES, TITLES_ENTRIES};
use crate::core::syndication::topics::{self, Topic};
use crate::core::view_models::EntryView;
use crate::core::views;
use crate::edge::error::{AppError, AppResult};
use crate::edge::{d1, env, jobs::member_cache, zone};

/// Browsers revalidate; the edge cache's lifetime (`s-maxage`) is set in one place,
/// `handlers::handle`, from PAGE_CACHE_SECONDS.
const PAGE_CACHE: &str = "no-cache";

pub fn html(markup: Markup, status: u16, cache: &str) -> AppResult<Response> {
    let body = markup.into_string();
    // Shared pages carry a validator: a reader's browser revalidates (no-cache) and gets a 304.
    let tag = (status == 200 && cache == PAGE_CACHE).then(|| etag(body.as_bytes()));
    let mut resp = Response::from_html(body)?.with_status(status);
    let h = resp.headers_mut();
    h.set("Cache-Control", cache)?;
    if let Some(tag) = tag {
        h.set("ETag", &tag)?;
    }
    h.set("X-Content-Type-Options", "nosniff")?;
    h.set("Referrer-Policy", "strict-origin-when-cross-origin")?;
    // Feed content may carry images from anywhere; scripts only from us.
    h.set(
        "Content-Security-Policy",
        "default-src 'self'; img-src * data:; media-src *; style-src 'self'; script-src 'self'; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    )?;
    Ok(resp)
}

/// One page of a river, the `?before=` cursor of the next, older page if there is one,
/// and for the live first page the revision it was read at (read first: the live
/// script resumes updates from it, so an entry completed meanwhile is not missed).
/// `None` when `before` names no entry (pruned, or never): nothing more is read.
async fn river_page(
    env: &Env,
    feed: Option<i64>,
    before: Option<i64>,
) -> AppResult<Option<(Vec<EntryView>, Option<i64>, i64, views::FairRiver)>> {
    let db = env::db(env)?;
    let (revision, cursor) = match before {
        None => (d1::latest_rev(&db).await?, None),
        Some(id) => match d1::entry_position(&db, id).await? {
            Some(at) => (0, Some(at)),
            None => return Ok(None),
        },
    };
    let cfg = env::config(env);
    let limit = cfg.page_size as usize;
    // The fair cap is the front page's; a member's own page shows every entry.
    let cap = if feed.is_some() {
        0
    } else {
        cfg.river_per_feed_per_day
    };
    let (mut entries, older, at_cap) = if cap > 0 {
        fair_entries(&db, cursor, limit, cap).await?
    } else {
        // One more than a page tells whether an older page exists.
        let mut entries = d1::entries_river(&db, feed, cursor, limit as u32 + 1).await?;
        let older = if entries.len() > limit {
            entries.truncate(limit);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        (entries, older, Vec::new())
    };
    let fair = fair_river(env, &db, &mut entries, cap, &at_cap).await?;
    Ok(Some((entries, older, revision, fair)))
}

/// A page of the fair river: the walk down the index (`core::river::fair_walk` index rows,
/// whatever a member posts), the page `core::river` decides, its entries.
async fn fair_entries(
    db: &worker::D1Database,
    cursor: Option<d1::RiverCursor>,
    limit: usize,
    cap: u32,
) -> AppResult<(Vec<EntryView>, Option<i64>, Vec<(i64, i64, i64)>)> {
    use crate::core::river::{fair_page, fair_walk};
    let walked = fair_walk(limit, cap);
    let walk = d1::river_walk(db, cursor, walked as u32).await?;
    let page = fair_page(&walk, walked, limit, cap);
    let entries = d1::entries_by_ids(db, &page.ids).await?;
    Ok((entries, page.older, page.at_cap))
}

/// The planet's days on a page (each entry's offset from UTC in PLANET_TIMEZONE, for its
/// day heading) and, under a fair cap, the "N more from this member" links: after each
/// member's entry of rank `cap` in a day, how many more that day has (one statement for
/// the page, an index seek per link).
async fn fair_river(
    env: &Env,
    db: &worker::D1Database,
    entries: &mut [EntryView],
    cap: u32,
    at_cap: &[(i64, i64, i64)],
) -> AppResult<views::FairRiver> {
    use crate::core::river::hidden;
    let cfg = env::config(env);
    let zone = zone::zone_or_utc(&cfg);
    for e in entries.iter_mut() {
        e.local_offset_ms = zone.offset_ms(e.published);
    }
    let now = env::now_ms();
    let mut fair = views::FairRiver {
        cap,
        zone: cfg.planet_timezone.clone(),
        today: crate::core::time::day_key(now + zone.offset_ms(now)),
        more: Vec::new(),
    };
    let days: Vec<(i64, i64)> = at_cap.iter().map(|&(_, feed, day)| (feed, day)).collect();
    let ranks = d1::river_day_ranks(db, &days).await?;
    for (&(id, _, _), top) in at_cap.iter().zip(ranks) {
        let more = hidden(top, cap);
        if more > 0 {
            fair.more.push((id, more));
        }
    }
    Ok(fair)
}

/// A 404 for a `?before=` (or `?after=`) cursor that names nothing (a bookmark to a pruned
/// entry is normal), linking to the first page of the list it pages.
fn cursor_gone(env: &Env, first_page: &str, why: fn(Tr) -> &'static str) -> AppResult<Response> {
    let cfg = env::config(env);
    let t = cfg.tr();
    html(
        views::error_page_linking(&cfg, 404, why(t), (first_page, t.text("error.first_page"))),
        404,
        "no-store",
    )
}

pub async fn home(req: &Request, env: &Env) -> AppResult<Response> {
    let cfg = env::config(env);
    let before = query_i64(req, "before")?;
    let Some((entries, older, revision, fair)) = river_page(env, None, before).await? else {
        return cursor_gone(env, "/", |t| t.text("error.entry_gone"));
    };
    let members = member_cache::list(env).await?;
    let page = views::HomePage {
        entries: &entries,
        older,
        paged: before.is_some(),
        revision,
        fair: Some(&fair),
    };
    html(
        views::home_page_with_members(&cfg, &page, &members, env::now_ms()),
        200,
        PAGE_CACHE,
    )
}

/// `/feeds?after=<feed id>`: a page of the members by name (`FEEDS_PAGE`), the total from
/// the tally: a bounded read however many members there are.
pub async fn feeds(req: &Request, env: &Env) -> AppResult<Response> {
    use crate::core::routes::FEEDS_PAGE;
    let cfg = env::config(env);
    let db = env::db(env)?;
    let after = match query_i64(req, "after")? {
        None => None,
        Some(id) => match d1::feed_position(&db, id).await? {
            Some(at) => Some(at),
            None => return cursor_gone(env, "/feeds", |t| t.text("error.feed_gone")),
        },
    };
    let mut feeds = d1::feeds_page(&db, after, FEEDS_PAGE + 1).await?;
    let next = (feeds.len() > FEEDS_PAGE as usize).then(|| {
        feeds.truncate(FEEDS_PAGE as usize);
        feeds.last().map(|f| f.id)
    });
    let total = d1::counts(&db).await?.feeds;
    html(
        views::feeds_page(&cfg, &feeds, total, next.flatten(), env::now_ms()),
        200,
        PAGE_CACHE,
    )
}

pub async fn feed(req: &Request, env: &Env, id: i64) -> AppResult<Response> {
    let cfg = env::config(env);
    let db = env::db(env)?;
    let feed = d1::feed_by_id(&db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no feed {id}")))?;
    let before = query_i64(req, "before")?;
    let Some((entries, older, revision, fair)) = river_page(env, Some(id), before).await? else {
        return cursor_gone(env, &format!("/feeds/{id}"), |t| t.text("error.entry_gone"));
    };
    let page = views::HomePage {
        entries: &entries,
        older,
        paged: before.is_some(),
        revision,
        fair: Some(&fair),
    };
    html(views::feed_page(&cfg, &feed, &page), 200, PAGE_CACHE)
}

pub fn error_page(env: &Env, e: &AppError) -> Response {
    let cfg = env::config(env);
    if let AppError::Internal(detail) = e {
        worker::console_error!("internal error: {detail}");
    }
    let mut resp = html(
        views::error_page(&cfg, e.status(), &e.to_string()),
        e.status(),
        "no-store",
    )
    .unwrap_or_else(|_| e.to_json_response());
    if let AppError::TooManyRequests(_) | AppError::Unavailable(_) = e {
        let _ = resp.headers_mut().set("Retry-After", "60");
    }
    resp
}

pub async fn titles(env: &Env) -> AppResult<Response> {
    let cfg = env::config(env);
    let db = env::db(env)?;
    let cap = cfg.river_per_feed_per_day;
    let (mut entries, at_cap) = if cap > 0 {
        let (entries, _, at_cap) = fair_entries(&db, None, TITLES_ENTRIES as usize, cap).await?;
        (entries, at_cap)
    } else {
        let entries = d1::entries_river(&db, None, None, TITLES_ENTRIES).await?;
        (entries, Vec::new())
    };
    let fair = fair_river(env, &db, &mut entries, cap, &at_cap).await?;
    let members = member_cache::list(env).await?;
    html(
        views::titles_page(&cfg, &entries, &members, env::now_ms(), Some(&fair)),
        200,
        PAGE_CACHE,
    )
}

/// `/search?q=…&page=N`: one page of ranked results with highlighted snippets (made
/// here from the page's rows: the index keeps no text). Never cached; rate-limited
/// with the other uncached public routes.
pub async fn search(req: &Request, env: &Env) -> AppResult<Response> {
    use crate::core::search;
    let cfg = env::config(env);
    let url = req.url()?;
    let param = |key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    let q: String = param("q")
        .map(|v| v.chars().take(200).collect())
        .unwrap_or_default();
    let page = search::page_number(param("page").as_deref());
    let mut more = false;
    let hits = match search::fts_query(&q) {
        Some(fts) => {
            let offset = (page - 1) * search::PAGE_SIZE;
            // One more than a page tells whether there is a next one.
            let mut found =
                d1::entries_search(&env::db(env)?, &fts, search::PAGE_SIZE + 1, offset).await?;
            more = found.len() > search::PAGE_SIZE as usize;
            found.truncate(search::PAGE_SIZE as usize);
            let m = search::Matcher::new(&q);
            Some(
                found
                    .into_iter()
                    .map(|e| views::SearchHit {
                        highlight: search::highlight(&m, &e.title, &e.content_html, &e.summary),
                        entry: e,
                    })
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let sp = views::SearchPage {
        query: &q,
        results: hits.as_deref(),
        page,
        more,
    };
    html(views::search_page(&cfg, &sp), 200, "no-store")
}

/// `/feed.atom`, `/feed.rss`, `/feed.rss10`, `/feeds.opml`, `/foafroll.xml`.
pub async fn syndication(env: &Env, what: crate::core::routes::Route) -> AppResult<Response> {
    use crate::core::routes::Route;
    use crate::core::syndication;
    let cfg = env::config(env);
    let db = env::db(env)?;
    let (body, ctype) = match what {
        Route::AtomOut => {
            let entries = d1::entries_river(&db, None, None, SYNDICATED_ENTRIES).await?;
            let feeds = member_cache::list(env).await?;
            (
                syndication::atom_with_sources(&cfg, &entries, &feeds),
                "application/atom+xml; charset=utf-8",
            )
        }
        Route::RssOut => (
            syndication::rss(
                &cfg,
                &d1::entries_river(&db, None, None, SYNDICATED_ENTRIES).await?,
            ),
            "application/rss+xml; charset=utf-8",
        ),
        Route::Rss10Out => (
            syndication::rss10(
                &cfg,
                &d1::entries_river(&db, None, None, SYNDICATED_ENTRIES).await?,
            ),
            "application/rdf+xml; charset=utf-8",
        ),
        Route::FoafOut => (
            syndication::foafroll(&cfg, &member_cache::list(env).await?),
            "application/rdf+xml; charset=utf-8",
        ),
        _ => (
            syndication::opml(&cfg, &member_cache::list(env).await?),
            "text/x-opml; charset=utf-8",
        ),
    };
    let topic = match what {
        Route::AtomOut => Some(Topic::PlanetAtom),
        Route::RssOut => Some(Topic::PlanetRss),
        _ => None,
    };
    xml_response(&cfg, body, ctype, topic)
}

/// A feed out with its validator; a WebSub topic also says where its hub is and what
/// its own URL is (the `Link` header, as the document's `rel="hub"`/`rel="self"`).
fn xml_response(
    cfg: &crate::core::config::Config,
    body: maud::Markup,
    ctype: &str,
    topic: Option<Topic>,
) -> AppResult<Response> {
    let body = body.into_string();
    let tag = etag(body.as_bytes());
    let mut resp = Response::ok(body)?;
    resp.headers_mut().set("Content-Type", ctype)?;
    resp.headers_mut().set("Cache-Control", PAGE_CACHE)?;
    resp.headers_mut().set("ETag", &tag)?;
    if let Some(topic) = topic {
        resp.headers_mut()
            .set("Link", &topics::link_header(cfg, topic))?;
    }
    Ok(resp)
}

/// `/feeds/{id}/feed.atom`: one feed's newest entries as Atom (a WebSub topic).
pub async fn feed_atom(env: &Env, id: i64) -> AppResult<Response> {
    let cfg = env::config(env);
    let db = env::db(env)?;
    let feed = d1::feed_by_id(&db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no feed {id}")))?;
    let entries = d1::entries_river(&db, Some(id), None, SYNDICATED_ENTRIES).await?;
    let topic = Topic::FeedAtom(id);
    xml_response(
        &cfg,
        crate::core::syndication::feed_atom(&cfg, &feed, &entries),
        topic.content_type(),
        Some(topic),
    )
}

/// An old Planet Venus path: moved for good to ours, the query string kept.
pub fn moved(req: &Request, to: &str) -> AppResult<Response> {
    let mut url = req.url()?;
    url.set_path(to);
    // Built by hand: a `Response.redirect` has immutable headers.
    let mut resp = Response::empty()?.with_status(301);
    resp.headers_mut().set("Location", url.as_str())?;
    resp.headers_mut()
        .set("Cache-Control", "public, max-age=86400")?;
    Ok(resp)
}

/// `/entries/{id}`: the entry on its own page, whole however long (the river collapses
/// long ones and links here), with the way to its source.
pub async fn entry(env: &Env, id: i64) -> AppResult<Response> {
    let cfg = env::config(env);
    let e = d1::entry_by_id(&env::db(env)?, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no entry {id}")))?;
    html(views::entry_page(&cfg, &e), 200, PAGE_CACHE)
}
