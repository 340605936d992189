//! The public pages: the river, an entry, the feeds, one feed, titles, search, errors.
//!
//! One function per page, each taking typed view models.

use maud::{html, Markup};

use super::partials::{by_day, day_heading, entry_title, face, NAME_SEPARATOR};
use super::sidebar::members_section;
use super::{entry_article, entry_whole, layout, layout_with, rich, Page};
use crate::core::config::Config;
use crate::core::domain::FeedStatus;
use crate::core::fetch::{public_text, public_url};
use crate::core::i18n::Tr;
use crate::core::river::more_from_member;
use crate::core::search::live_query::LiveQuery;
use crate::core::search::{self, Highlight, Piece};
use crate::core::time::iso_time;
use crate::core::view_models::{EntryView, FeedView};

/// The river of news: newest first, paged back with `?before=`.
pub struct HomePage<'a> {
    pub entries: &'a [EntryView],
    /// `?before=` value for the next (older) page, when there is one.
    pub older: Option<i64>,
    pub paged: bool,
    /// The entry revision the page was read at (the live script resumes updates from it).
    pub revision: i64,
    /// The planet's days and, on the front page, its fair cap (`None`: UTC days, no cap).
    pub fair: Option<&'a FairRiver>,
}

/// The fair front page of a river or `/titles` (`core::river`): the cap, the planet's
/// zone (the live script's days), today's day key, and after which entries a "N more
/// from this member" link stands (the member's entry of rank `cap` that day), with N.
#[derive(Debug, Clone, Default)]
pub struct FairRiver {
    /// Entries per member per day; 0 on a member's own page (every entry shown).
    pub cap: u32,
    pub zone: String,
    pub today: String,
    pub more: Vec<(i64, u32)>,
}

impl FairRiver {
    fn more_after(&self, id: i64) -> Option<u32> {
        self.more.iter().find(|(e, _)| *e == id).map(|(_, n)| *n)
    }
}

/// "N more from this member today", linking to the member's page (the live script
/// raises and updates the same element: `p.more-from`).
fn more_link(t: Tr, e: &EntryView, day: &str, n: u32, fair: &FairRiver) -> Markup {
    html! {
        p.more-from data-feed=(e.feed_id) data-day=(day) data-more=(n) {
            a href=(format!("/feeds/{}", e.feed_id)) { (more_from_member(t, n, day == fair.today)) }
        }
    }
}

/// The river: one section per day (newest first), each headed by its date. The live
/// script inserts new entries into their day's section, making it when it is missing.
fn river(t: Tr, page: &HomePage, base: &str) -> Markup {
    let entries = page.entries;
    let fair = page.fair.cloned().unwrap_or_default();
    html! {
        div #new-pill .new-pill hidden { button type="button" { (rich(t, "river.new_pill", &[("count", html! { span.count { "0" } })])) } }
        section #river .river aria-label=(t.text("river.label")) data-revision=(page.revision)
            data-tz=[page.fair.map(|f| &f.zone)] data-river-cap=[(fair.cap > 0).then_some(fair.cap)] {
            @for (key, label, day) in by_day(t, entries) {
                section.day data-day=(key) {
                    (day_heading(&key, &label))
                    @for e in day {
                        (entry_article(t, e))
                        @if let Some(n) = fair.more_after(e.id) { (more_link(t, e, &key, n, &fair)) }
                    }
                }
            }
        }
        @if entries.is_empty() {
            p #empty .empty { (t.text("river.empty")) }
        }
        @if let Some(before) = page.older {
            nav.pager aria-label=(t.text("river.pages")) { a rel="next" href=(format!("{base}?before={before}")) { (t.text("river.older")) } }
        }
    }
}

/// One entry on its own page, whole however long, with the way to its source.
pub fn entry_page(cfg: &Config, e: &EntryView) -> Markup {
    let t = cfg.tr();
    layout(
        cfg,
        &Page {
            title: &e.title,
            live_path: None,
            nav: "river",
        },
        html! {
            h1.visually-hidden { (entry_title(t, e)) }
            section #river .river.single aria-label=(t.text("entry.label")) { (entry_whole(t, e)) }
            @if let Some(url) = &e.url {
                p.source { a href=(url) rel="noopener noreferrer" { (t.text("entry.source")) } }
            }
        },
    )
}

/// The sidebar of the planet's pages: about, the operator's links, every member
/// (face, name, feed, health) and the feeds out.
fn sidebar(cfg: &Config, members: &[FeedView], now: i64) -> Markup {
    let t = cfg.tr();
    let about = cfg
        .planet_about
        .as_deref()
        .unwrap_or(&cfg.planet_description);
    html! {
        section.about aria-labelledby="about-heading" {
            h2 #about-heading { (t.fill("sidebar.about", &[("planet", &cfg.planet_name)])) }
            @for para in about.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                p { (para) }
            }
            @if !cfg.planet_links.is_empty() {
                ul.links {
                    @for l in &cfg.planet_links { li { a href=(l.url) { (l.name) } } }
                }
            }
        }
        (members_section(cfg, members, now))
        section.outputs aria-labelledby="outputs-heading" {
            h2 #outputs-heading { (t.text("sidebar.subscribe")) }
            p {
                a href="/feed.atom" { "Atom" } " · " a href="/feed.rss" { "RSS 2.0" } " · "
                @if cfg.enable_rss10 { a href="/feed.rss10" { "RSS 1.0" } " · " }
                a href="/feeds.opml" { "OPML" }
                @if cfg.enable_foaf { " · " a href="/foafroll.xml" { "FOAF" } }
            }
        }
    }
}

/// The river with the sidebar, without its list of members (see [`home_page_with_members`]).
pub fn home_page(cfg: &Config, page: &HomePage) -> Markup {
    home_page_with_members(cfg, page, &[], 0)
}

/// The planet's front page: the river by day, and the sidebar listing `members` as they
/// are at `now`.
pub fn home_page_with_members(
    cfg: &Config,
    page: &HomePage,
    members: &[FeedView],
    now: i64,
) -> Markup {
    // Only the first page follows the socket: an older page must not grow at the top.
    let live = (!page.paged).then_some("/ws");
    layout_with(
        cfg,
        &Page {
            title: "",
            live_path: live,
            nav: "river",
        },
        html! {
            h1.visually-hidden { (cfg.planet_name) }
            (river(cfg.tr(), page, "/"))
        },
        Some(sidebar(cfg, members, now)),
    )
}

pub(super) fn status_label(f: &FeedView) -> &'static str {
    match f.status {
        FeedStatus::Active if f.last_success_at.is_none() && f.last_fetch_at.is_none() => "new",
        // Imported and never once read as a feed: its first fetch already says it is not one.
        FeedStatus::Active if f.last_success_at.is_none() && f.last_error.is_some() => "failing",
        FeedStatus::Active => "ok",
        other => other.as_str(),
    }
}

/// A health label ([`status_label`]) in the planet's language (the label stays the class).
pub(super) fn status_text(t: Tr, label: &str) -> &'static str {
    match label {
        "new" => t.text("status.new"),
        "ok" => t.text("status.ok"),
        "failing" => t.text("status.failing"),
        "paused" => t.text("status.paused"),
        "held" => t.text("status.held"),
        "gone" => t.text("status.gone"),
        _ => t.text("status.active"),
    }
}

/// `now`: whether a feed's WebSub lease is live (shown as "push").
/// One page of the members by name (`core::routes::FEEDS_PAGE` of them): `total` feeds in
/// all, `next` the `?after=` of the next page when there is one.
pub fn feeds_page(
    cfg: &Config,
    feeds: &[FeedView],
    total: i64,
    next: Option<i64>,
    now: i64,
) -> Markup {
    let t = cfg.tr();
    let total = u64::try_from(total).unwrap_or(0);
    layout(
        cfg,
        &Page {
            title: t.text("feeds.title"),
            live_path: None,
            nav: "feeds",
        },
        html! {
            h1 { (t.text("feeds.title")) }
            p {
                (t.plural("feeds.count", total, &[])) " · " a href="/feeds.opml" { "OPML" }
                @if cfg.enable_foaf { " · " a href="/foafroll.xml" { "FOAF" } }
            }
            table.feeds.members {
                thead { tr { th scope="col" { (t.text("feeds.member")) } th scope="col" { (t.text("feeds.health")) } th scope="col" { (t.text("feeds.entries")) } th scope="col" { (t.text("feeds.last_changed")) } } }
                tbody {
                    @for f in feeds {
                        @let name = f.display_title();
                        tr data-feed=(f.id) {
                            td.member data-label=(t.text("feeds.member")) {
                                (face(f.face_url.as_deref(), &name, 40))
                                span.who {
                                    a.name href=(format!("/feeds/{}", f.id)) { (name) }
                                    span.links {
                                        a.feed-link href=(public_url(&f.url)) rel="noopener noreferrer" {
                                            (t.text("feeds.feed")) span.visually-hidden { (t.fill("entry.of", &[("name", &name)])) }
                                        }
                                        @if let Some(site) = f.site_link() {
                                            " · " a.site href=(site) rel="noopener noreferrer" {
                                                (t.text("feeds.site")) span.visually-hidden { (t.fill("entry.of", &[("name", &name)])) }
                                            }
                                        }
                                    }
                                }
                            }
                            td data-label=(t.text("feeds.health")) { span class=(format!("health {}", status_label(f))) { (status_text(t, status_label(f))) }
                                 @if f.push_until.is_some_and(|u| u > now) {
                                     " " span.push title=(t.text("feeds.push_title")) { (t.text("feeds.push")) }
                                 }
                                 @if let Some(err) = &f.last_error { " " span.error { (public_text(err)) } } }
                            td data-label=(t.text("feeds.entries")) { (f.entry_count) }
                            td data-label=(t.text("feeds.last_changed")) { @if let Some(at) = f.last_changed_at { time datetime=(iso_time(at)) { (t.human_time(at)) } } @else { (t.text("feeds.never")) } }
                        }
                    }
                }
            }
            @if let Some(after) = next {
                nav.pager aria-label=(t.text("river.pages")) { a rel="next" href=(format!("/feeds?after={after}")) { (t.text("feeds.more")) } }
            }
        },
    )
}

pub fn feed_page(cfg: &Config, feed: &FeedView, page: &HomePage) -> Markup {
    let ws = format!("/feeds/{}/ws", feed.id);
    let title = feed.display_title();
    let t = cfg.tr();
    layout(
        cfg,
        &Page {
            title: &title,
            live_path: (!page.paged).then_some(ws.as_str()),
            nav: "feeds",
        },
        html! {
            section.feed-info data-feed=(feed.id) {
                (face(feed.face_url.as_deref(), &title, 64))
                div {
                    h1 { (title) }
                    @if let Some(d) = &feed.description { p.description { (d) } }
                    p.meta {
                        span class=(format!("health {}", status_label(feed))) { (status_text(t, status_label(feed))) }
                        " · " a href=(public_url(&feed.url)) rel="noopener noreferrer" { (t.text("feeds.feed")) }
                        @if let Some(site) = feed.site_link() { " · " a href=(site) rel="noopener noreferrer" { (t.text("feeds.site")) } }
                        @if let Some(err) = &feed.last_error { " · " span.error { (public_text(err)) } }
                    }
                }
            }
            (river(t, page, &format!("/feeds/{}", feed.id)))
        },
    )
}

fn title_list(t: Tr, entries: &[EntryView], fair: Option<&FairRiver>) -> Markup {
    let fair = fair.cloned().unwrap_or_default();
    html! {
        @for (key, label, day) in by_day(t, entries) {
            section.day data-day=(key) {
                (day_heading(&key, &label))
                ol.titles {
                    @for e in day {
                        li data-id=(e.id) {
                            (face(e.feed_face.as_deref(), &e.feed_title, 24))
                            @if let Some(u) = &e.url { a.title href=(u) rel="noopener noreferrer" { (entry_title(t, e)) } }
                            @else { a.title href=(format!("/entries/{}", e.id)) { (entry_title(t, e)) } }
                            " " span.meta {
                                a href=(format!("/feeds/{}", e.feed_id)) { (e.feed_title) }
                                @for c in &e.also { (NAME_SEPARATOR) a href=(format!("/feeds/{}", c.feed_id)) { (c.feed_title) } }
                                " · "
                                time datetime=(iso_time(e.published)) { (t.human_time(e.published)) }
                            }
                        }
                        @if let Some(n) = fair.more_after(e.id) { li.more { (more_link(t, e, &key, n, &fair)) } }
                    }
                }
            }
        }
        @if entries.is_empty() { p.empty { (t.text("titles.empty")) } }
    }
}

/// Just the titles, by day: a compact index of the newest entries, with the sidebar
/// (its members as they are at `now`).
pub fn titles_page(
    cfg: &Config,
    entries: &[EntryView],
    members: &[FeedView],
    now: i64,
    fair: Option<&FairRiver>,
) -> Markup {
    let t = cfg.tr();
    layout_with(
        cfg,
        &Page {
            title: t.text("nav.titles"),
            live_path: None,
            nav: "titles",
        },
        html! { h1 { (t.text("titles.heading")) } (title_list(t, entries, fair)) },
        Some(sidebar(cfg, members, now)),
    )
}

/// One search result: the entry and its highlighted title and snippet.
pub struct SearchHit {
    pub entry: EntryView,
    pub highlight: Highlight,
}

/// The search page: `query` is what the reader typed (escaped on output); `results` is
/// `None` when nothing searchable was typed; `page` is 1-based and `more` says whether
/// a next page exists.
pub struct SearchPage<'a> {
    pub query: &'a str,
    pub results: Option<&'a [SearchHit]>,
    pub page: u32,
    pub more: bool,
}

/// Highlighted text: every piece escaped by maud, matches in `<mark>`.
fn pieces(p: &[Piece]) -> Markup {
    html! { @for x in p { @if x.mark { mark { (x.text) } } @else { (x.text) } } }
}

fn search_href(query: &str, page: u32) -> String {
    let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    if page <= 1 {
        format!("/search?q={q}")
    } else {
        format!("/search?q={q}&page={page}")
    }
}

/// "Follow this search live": a river of the new entries that match, fed by the socket
/// subscribed to the query (`assets/live.js`), above the ranked results. Hidden until the
/// script shows it (without JavaScript it could do nothing); the socket opens only when the
/// reader asks, since every socket is a billed Durable Object request.
fn live_search(t: Tr, query: &str) -> Markup {
    html! {
        section #live-search .live-search aria-labelledby="live-search-heading" hidden {
            div.live-search-head {
                h2 #live-search-heading { (t.text("search.new_matches")) }
                button #follow-live type="button" aria-pressed="false" { (t.text("js.follow")) }
            }
            p #live-search-note .live-search-note {
                (rich(t, "search.press", &[("query", html! { q { (query) } })]))
            }
            section #river .river data-q=(query) data-revision="0" aria-label=(t.text("search.new_matches")) {}
        }
    }
}

/// Full-text search over every word of every entry, ranked, highlighted, paged. The first
/// page of a searchable query can also follow it live ([`live_search`]).
pub fn search_page(cfg: &Config, sp: &SearchPage) -> Markup {
    let query = sp.query;
    let first = (sp.page.saturating_sub(1)) * search::PAGE_SIZE + 1;
    let followable = sp.page == 1 && sp.results.is_some() && LiveQuery::parse(query).is_ok();
    let t = cfg.tr();
    let quoted = html! { q { (query) } };
    layout(
        cfg,
        &Page {
            title: t.text("nav.search"),
            live_path: followable.then_some("/ws"),
            nav: "search",
        },
        html! {
            h1 { (t.text("nav.search")) }
            form.search action="/search" method="get" role="search" {
                label.visually-hidden for="q" { (t.text("search.label")) }
                input #q type="search" name="q" value=(query) placeholder=(t.text("search.label")) maxlength="200" autofocus;
                " " button type="submit" { (t.text("search.button")) }
            }
            @if followable { (live_search(t, query)) }
            @match sp.results {
                Some([]) if sp.page > 1 => p.empty { (rich(t, "search.no_more", &[("query", quoted.clone()), ("first_page", html! { a href=(search_href(query, 1)) { (t.text("search.first_page")) } })])) },
                Some([]) => p.empty { (rich(t, "search.nothing", &[("query", quoted.clone())])) },
                Some(found) => {
                    p.search-count { (rich(t, "search.count", &[("first", html! { (first) }), ("last", html! { (first as usize + found.len() - 1) }), ("query", quoted.clone())])) }
                    ol.search-results start=(first) {
                        @for h in found {
                            @let e = &h.entry;
                            li data-id=(e.id) {
                                h2.search-title {
                                    @if let Some(u) = &e.url { a.title href=(u) rel="noopener noreferrer" { (pieces(&h.highlight.title)) } }
                                    @else { (pieces(&h.highlight.title)) }
                                }
                                p.snippet { (pieces(&h.highlight.snippet)) }
                                p.meta {
                                    a href=(format!("/feeds/{}", e.feed_id)) { (e.feed_title) }
                                    @for c in &e.also { (NAME_SEPARATOR) a href=(format!("/feeds/{}", c.feed_id)) { (c.feed_title) } }
                                    @if let Some(a) = &e.author { " · " (a) }
                                    " · " time datetime=(iso_time(e.published)) { (t.human_time(e.published)) }
                                    " · " a href=(format!("/entries/{}", e.id)) { (t.text("search.read_here")) }
                                }
                            }
                        }
                    }
                    @if sp.page > 1 || sp.more {
                        nav.pager {
                            @if sp.page > 1 { a rel="prev" href=(search_href(query, sp.page - 1)) { (t.text("search.better")) } }
                            @if sp.page > 1 && sp.more { " " }
                            @if sp.more { a rel="next" href=(search_href(query, sp.page + 1)) { (t.text("search.more")) } }
                        }
                    }
                },
                None => {},
            }
        },
    )
}

/// The heading an error page shows for an HTTP status.
fn error_heading(t: Tr, status: u16) -> &'static str {
    match status {
        400 => t.text("error.400"),
        401 => t.text("error.401"),
        403 => t.text("error.403"),
        404 => t.text("error.404"),
        405 => t.text("error.405"),
        409 => t.text("error.409"),
        413 => t.text("error.413"),
        422 => t.text("error.422"),
        429 => t.text("error.429"),
        500..=599 => t.text("error.500"),
        _ => t.text("error.fallback"),
    }
}

/// Any error a person sees: headed by what the status means, with the reason.
pub fn error_page(cfg: &Config, status: u16, what: &str) -> Markup {
    error_page_linking(cfg, status, what, ("/", cfg.tr().text("error.back")))
}

/// An error page whose way on is `link` (`href`, words): a page cursor that names no entry
/// (a bookmark to a pruned one) links to the first page of its river.
pub fn error_page_linking(cfg: &Config, status: u16, what: &str, link: (&str, &str)) -> Markup {
    let heading = error_heading(cfg.tr(), status);
    layout(
        cfg,
        &Page {
            title: heading,
            live_path: None,
            nav: "",
        },
        html! { h1 { (heading) } p { (what) } p { a href=(link.0) { (link.1) } } },
    )
}

#[cfg(test)]
pub(super) mod tests;
