//! One function per page, each taking typed view models.

use maud::{html, Markup};

use super::partials::{by_day, day_heading, entry_title, face};
use super::{entry_article, entry_whole, human_time, iso_time, layout, layout_with, Page};
use crate::core::audit::AuditPage;
use crate::core::config::Config;
use crate::core::feed::discover::FeedLink;
use crate::core::fetch::{public_text, public_url};
use crate::core::ingest::FeedStatus;
use crate::core::membership::MembershipPanel;
use crate::core::search::live_query::LiveQuery;
use crate::core::search::{self, Highlight, Piece};
use crate::core::view_models::{EntryView, FeedDetail, FeedView};

/// The river of news: newest first, paged back with `?before=`.
pub struct HomePage<'a> {
    pub entries: &'a [EntryView],
    /// `?before=` value for the next (older) page, when there is one.
    pub older: Option<i64>,
    pub paged: bool,
    /// The entry revision the page was read at (the live script resumes updates from it).
    pub revision: i64,
}

/// The river: one section per day (newest first), each headed by its date. The live
/// script inserts new entries into their day's section, making it when it is missing.
fn river(page: &HomePage, base: &str) -> Markup {
    let entries = page.entries;
    html! {
        div #new-pill .new-pill hidden { button type="button" { span.count { "0" } " new entries" } }
        section #river .river aria-label="Entries" data-revision=(page.revision) {
            @for (key, label, day) in by_day(entries) {
                section.day data-day=(key) {
                    (day_heading(&key, &label))
                    @for e in day { (entry_article(e)) }
                }
            }
        }
        @if entries.is_empty() {
            p #empty .empty { "No entries yet. New ones appear here the moment a feed publishes them." }
        }
        @if let Some(before) = page.older {
            nav.pager aria-label="Pages" { a rel="next" href=(format!("{base}?before={before}")) { "Older entries →" } }
        }
    }
}

/// One entry on its own page, whole however long, with the way to its source.
pub fn entry_page(cfg: &Config, e: &EntryView) -> Markup {
    layout(
        cfg,
        &Page {
            title: &e.title,
            live_path: None,
            nav: "river",
        },
        html! {
            h1.visually-hidden { (entry_title(e)) }
            section #river .river.single aria-label="Entry" { (entry_whole(e)) }
            @if let Some(url) = &e.url {
                p.source { a href=(url) rel="noopener noreferrer" { "Read it at the source →" } }
            }
        },
    )
}

/// The health of a feed as a coloured dot, its word for screen readers and on hover.
fn health_dot(f: &FeedView) -> Markup {
    let label = status_label(f);
    html! { span class=(format!("dot {label}")) title=(label) {} span.visually-hidden { " (" (label) ")" } }
}

/// The sidebar of the planet's pages: about, the operator's links, every member
/// (face, name, feed, health) and the feeds out.
pub fn sidebar(cfg: &Config, members: &[FeedView]) -> Markup {
    let about = cfg
        .planet_about
        .as_deref()
        .unwrap_or(&cfg.planet_description);
    html! {
        section.about aria-labelledby="about-heading" {
            h2 #about-heading { "About " (cfg.planet_name) }
            @for para in about.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                p { (para) }
            }
            @if !cfg.planet_links.is_empty() {
                ul.links {
                    @for l in &cfg.planet_links { li { a href=(l.url) { (l.name) } } }
                }
            }
        }
        section.members aria-labelledby="members-heading" {
            h2 #members-heading { "Subscriptions" }
            @if members.is_empty() {
                p.empty-note { "No feeds yet." }
            } @else {
                ul.members {
                    @for f in members {
                        @let name = f.display_title();
                        li data-feed=(f.id) {
                            (face(f.face_url.as_deref(), &name, 24))
                            a.member href=(format!("/feeds/{}", f.id)) { (name) }
                            " "
                            a.feed-link href=(public_url(&f.url)) rel="noopener noreferrer" {
                                "feed" span.visually-hidden { " of " (name) }
                            }
                            " " (health_dot(f))
                        }
                    }
                }
            }
        }
        section.outputs aria-labelledby="outputs-heading" {
            h2 #outputs-heading { "Subscribe" }
            p {
                a href="/feed.atom" { "Atom" } " · " a href="/feed.rss" { "RSS 2.0" } " · "
                a href="/feed.rss10" { "RSS 1.0" } " · " a href="/feeds.opml" { "OPML" } " · "
                a href="/foafroll.xml" { "FOAF" }
            }
        }
    }
}

/// The river with the sidebar, without its list of members (see [`home_page_with_members`]).
pub fn home_page(cfg: &Config, page: &HomePage) -> Markup {
    home_page_with_members(cfg, page, &[])
}

/// The planet's front page: the river by day, and the sidebar listing `members`.
pub fn home_page_with_members(cfg: &Config, page: &HomePage, members: &[FeedView]) -> Markup {
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
            (river(page, "/"))
        },
        Some(sidebar(cfg, members)),
    )
}

fn status_label(f: &FeedView) -> &'static str {
    match f.status {
        FeedStatus::Active if f.last_success_at.is_none() && f.last_fetch_at.is_none() => "new",
        // Imported and never once read as a feed: its first fetch already says it is not one.
        FeedStatus::Active if f.last_success_at.is_none() && f.last_error.is_some() => "failing",
        FeedStatus::Active => "ok",
        other => other.as_str(),
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
    layout(
        cfg,
        &Page {
            title: "Feeds",
            live_path: None,
            nav: "feeds",
        },
        html! {
            h1 { "Feeds" }
            p { (total) " feeds · " a href="/feeds.opml" { "OPML" } " · " a href="/foafroll.xml" { "FOAF" } }
            table.feeds.members {
                thead { tr { th scope="col" { "Member" } th scope="col" { "Health" } th scope="col" { "Entries" } th scope="col" { "Last changed" } } }
                tbody {
                    @for f in feeds {
                        @let name = f.display_title();
                        tr data-feed=(f.id) {
                            td.member data-label="Member" {
                                (face(f.face_url.as_deref(), &name, 40))
                                span.who {
                                    a.name href=(format!("/feeds/{}", f.id)) { (name) }
                                    span.links {
                                        a.feed-link href=(public_url(&f.url)) rel="noopener noreferrer" {
                                            "feed" span.visually-hidden { " of " (name) }
                                        }
                                        @if let Some(site) = f.site_link() {
                                            " · " a.site href=(site) rel="noopener noreferrer" {
                                                "site" span.visually-hidden { " of " (name) }
                                            }
                                        }
                                    }
                                }
                            }
                            td data-label="Health" { span class=(format!("health {}", status_label(f))) { (status_label(f)) }
                                 @if f.push_until.is_some_and(|u| u > now) {
                                     " " span.push title="A WebSub hub pushes this feed's entries the moment they are published" { "push" }
                                 }
                                 @if let Some(err) = &f.last_error { " " span.error { (public_text(err)) } } }
                            td data-label="Entries" { (f.entry_count) }
                            td data-label="Last changed" { @if let Some(t) = f.last_changed_at { time datetime=(iso_time(t)) { (human_time(t)) } } @else { "never" } }
                        }
                    }
                }
            }
            @if let Some(after) = next {
                nav.pager aria-label="Pages" { a rel="next" href=(format!("/feeds?after={after}")) { "More feeds →" } }
            }
        },
    )
}

pub fn feed_page(cfg: &Config, feed: &FeedView, page: &HomePage) -> Markup {
    let ws = format!("/feeds/{}/ws", feed.id);
    let title = feed.display_title();
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
                        span class=(format!("health {}", status_label(feed))) { (status_label(feed)) }
                        " · " a href=(public_url(&feed.url)) rel="noopener noreferrer" { "feed" }
                        @if let Some(site) = feed.site_link() { " · " a href=(site) rel="noopener noreferrer" { "site" } }
                        @if let Some(err) = &feed.last_error { " · " span.error { (public_text(err)) } }
                    }
                }
            }
            (river(page, &format!("/feeds/{}", feed.id)))
        },
    )
}

fn title_list(entries: &[EntryView]) -> Markup {
    html! {
        @for (key, label, day) in by_day(entries) {
            section.day data-day=(key) {
                (day_heading(&key, &label))
                ol.titles {
                    @for e in day {
                        li data-id=(e.id) {
                            (face(e.feed_face.as_deref(), &e.feed_title, 24))
                            @if let Some(u) = &e.url { a.title href=(u) rel="noopener noreferrer" { (entry_title(e)) } }
                            @else { a.title href=(format!("/entries/{}", e.id)) { (entry_title(e)) } }
                            " " span.meta {
                                a href=(format!("/feeds/{}", e.feed_id)) { (e.feed_title) } " · "
                                time datetime=(iso_time(e.published)) { (human_time(e.published)) }
                            }
                        }
                    }
                }
            }
        }
        @if entries.is_empty() { p.empty { "No entries yet." } }
    }
}

/// Just the titles, by day: a compact index of the newest entries, with the sidebar.
pub fn titles_page(cfg: &Config, entries: &[EntryView], members: &[FeedView]) -> Markup {
    layout_with(
        cfg,
        &Page {
            title: "Titles",
            live_path: None,
            nav: "titles",
        },
        html! { h1 { "Latest titles" } (title_list(entries)) },
        Some(sidebar(cfg, members)),
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
fn live_search(query: &str) -> Markup {
    html! {
        section #live-search .live-search aria-labelledby="live-search-heading" hidden {
            div.live-search-head {
                h2 #live-search-heading { "New matches" }
                button #follow-live type="button" aria-pressed="false" { "Follow this search live" }
            }
            p #live-search-note .live-search-note {
                "Press the button to see new posts that match " q { (query) } " as they are published."
            }
            section #river .river data-q=(query) data-revision="0" aria-label="New matches" {}
        }
    }
}

/// Full-text search over every word of every entry, ranked, highlighted, paged. The first
/// page of a searchable query can also follow it live ([`live_search`]).
pub fn search_page(cfg: &Config, sp: &SearchPage) -> Markup {
    let query = sp.query;
    let first = (sp.page.saturating_sub(1)) * search::PAGE_SIZE + 1;
    let followable = sp.page == 1 && sp.results.is_some() && LiveQuery::parse(query).is_ok();
    layout(
        cfg,
        &Page {
            title: "Search",
            live_path: followable.then_some("/ws"),
            nav: "search",
        },
        html! {
            h1 { "Search" }
            form.search action="/search" method="get" role="search" {
                label.visually-hidden for="q" { "Search every word of every post" }
                input #q type="search" name="q" value=(query) placeholder="Search every word of every post" maxlength="200" autofocus;
                " " button type="submit" { "Search" }
            }
            @if followable { (live_search(query)) }
            @match sp.results {
                Some([]) if sp.page > 1 => p.empty { "No more results for " q { (query) } ". " a href=(search_href(query, 1)) { "First page" } },
                Some([]) => p.empty { "Nothing matches " q { (query) } "." },
                Some(found) => {
                    p.search-count { "Results " (first) "–" (first as usize + found.len() - 1) " for " q { (query) } ", best match first" }
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
                                    @if let Some(a) = &e.author { " · " (a) }
                                    " · " time datetime=(iso_time(e.published)) { (human_time(e.published)) }
                                    " · " a href=(format!("/entries/{}", e.id)) { "read here" }
                                }
                            }
                        }
                    }
                    @if sp.page > 1 || sp.more {
                        nav.pager {
                            @if sp.page > 1 { a rel="prev" href=(search_href(query, sp.page - 1)) { "← Better matches" } }
                            @if sp.page > 1 && sp.more { " " }
                            @if sp.more { a rel="next" href=(search_href(query, sp.page + 1)) { "More results →" } }
                        }
                    }
                },
                None => {},
            }
        },
    )
}

fn admin_layout(cfg: &Config, body: Markup) -> Markup {
    let page = Page {
        title: "Admin",
        live_path: None,
        nav: "",
    };
    layout(cfg, &page, html! { h1 { "Admin" } (body) })
}

/// The admin sign-in form (the admin token is the password).
pub fn admin_login_page(cfg: &Config, error: Option<&str>) -> Markup {
    admin_layout(
        cfg,
        html! {
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.admin method="post" action="/admin/login" {
                label { "Admin token " input type="password" name="token" autocomplete="current-password" required; }
                " " button type="submit" { "Sign in" }
            }
        },
    )
}

/// Where a feed stands in the admin's list: the ones that need a look first (failing,
/// gone, paused by failures, then paused by hand), then the rest; the order within each
/// kept (by name).
fn attention_rank(status: FeedStatus) -> u8 {
    match status {
        FeedStatus::Failing => 0,
        FeedStatus::Gone => 1,
        FeedStatus::Paused => 2,
        FeedStatus::Held => 3,
        FeedStatus::Active => 4,
    }
}

/// The feeds in the admin's order (see [`attention_rank`]).
fn attention_first(feeds: &[FeedDetail]) -> Vec<&FeedDetail> {
    let mut ordered: Vec<&FeedDetail> = feeds.iter().collect();
    ordered.sort_by_key(|d| attention_rank(d.feed.status));
    ordered
}

/// The admin dashboard: add (a feed, or a site's page), name, filter, pause, resume,
/// refresh and remove feeds; failing, gone, paused and held feeds listed first with their
/// last error and a retry. Every form carries the CSRF token. `choices`: the feeds a
/// page just added announced, to pick one from.
pub fn admin_page(
    cfg: &Config,
    feeds: &[FeedDetail],
    csrf: &str,
    flash: Option<&str>,
    choices: Option<(&str, &[FeedLink])>,
    membership: &MembershipPanel,
) -> Markup {
    let post = |id: i64, action: &str| format!("/admin/feeds/{id}/{action}");
    let feeds = attention_first(feeds);
    let troubled = feeds
        .iter()
        .filter(|d| attention_rank(d.feed.status) < attention_rank(FeedStatus::Active))
        .count();
    admin_layout(
        cfg,
        html! {
            nav.admin-nav aria-label="Admin" { a href="/admin/audit" { "Audit log" } }
            @if let Some(f) = flash { p.flash role="status" { (f) } }
            @if troubled > 0 {
                p.attention { (troubled) @if troubled == 1 { " feed needs" } @else { " feeds need" } " a look: listed first." }
            }
            @if let Some((page, links)) = choices {
                section.choices aria-label="Feeds found" {
                    p { (public_url(page)) " announces these feeds:" }
                    ul {
                        @for l in links {
                            li {
                                form.admin method="post" action="/admin/feeds" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="url" value=(l.url);
                                    button type="submit" { "Add " (l.kind) }
                                    " " @if !l.title.is_empty() { (l.title) " · " } small { (public_url(&l.url)) }
                                }
                            }
                        }
                    }
                }
            }
            form.admin method="post" action="/admin/feeds" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Feed or site URL " input type="url" name="url" required placeholder="https://example.com/feed.xml"; }
                " " button type="submit" { "Add feed" }
            }
            (super::membership_section(membership, csrf))
            table.feeds {
                thead { tr { th { "Feed" } th { "Health" } th { "Entries" } th { "Actions" } } }
                tbody {
                    @for d in feeds {
                        @let f = &d.feed;
                        @let attention = attention_rank(f.status) < attention_rank(FeedStatus::Active);
                        tr data-feed=(f.id) data-status=(f.status.as_str()) class=[attention.then_some("attention")] {
                            td {
                                a href=(format!("/feeds/{}", f.id)) { (f.display_title()) } br; small { (f.url) }
                                details.edit {
                                    summary { "Name, face, filter" }
                                    form.admin method="post" action=(post(f.id, "edit")) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        label { "Display name " input type="text" name="display_name" maxlength="200" value=(f.display_name.as_deref().unwrap_or("")) placeholder=(f.title); }
                                        label { "Face (image URL) " input type="url" name="face_url" value=(f.face_url.as_deref().unwrap_or("")); }
                                        label { "Site link " input type="url" name="home_url" value=(f.home_url.as_deref().unwrap_or("")) placeholder=(f.site_url.as_deref().unwrap_or("")); }
                                        label { "Only categories (comma-separated) " input type="text" name="categories" value=(d.filter.categories.join(", ")); }
                                        label { "Only entries with words (comma-separated) " input type="text" name="words" value=(d.filter.words.join(", ")); }
                                        label { input type="checkbox" name="excerpt_only" value="1" checked[d.filter.excerpt_only]; " Excerpts only" }
                                        button type="submit" { "Save" }
                                    }
                                }
                            }
                            td { span class=(format!("health {}", status_label(f))) { (status_label(f)) }
                                 @if f.consecutive_failures > 0 { " · " (f.consecutive_failures) " failed in a row" }
                                 @if let Some(err) = &f.last_error { br; span.error { (err) } }
                                 @if attention { @if let Some(t) = f.last_fetch_at { br; small { "last tried " time datetime=(iso_time(t)) { (human_time(t)) } } } } }
                            td { (f.entry_count) }
                            td {
                                @if f.status != FeedStatus::Held {
                                    form method="post" action=(post(f.id, "refresh")) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" { @if attention { "Retry now" } @else { "Refresh" } }
                                    }
                                }
                                @let (act, label) = if f.status == FeedStatus::Held { ("resume", "Resume") } else { ("pause", "Pause") };
                                form method="post" action=(post(f.id, act)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { (label) }
                                }
                                form method="post" action=(post(f.id, "delete")) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action="/admin/logout" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "Sign out" }
            }
        },
    )
}

/// `/admin/audit`: who did what to which feed and when, newest first, with a link to
/// older records.
pub fn admin_audit_page(cfg: &Config, page: &AuditPage) -> Markup {
    admin_layout(
        cfg,
        html! {
            nav.admin-nav aria-label="Admin" { a href="/admin" { "Feeds" } }
            h2 { "Audit log" }
            p { "Signed in as " strong { (page.viewer) } "." }
            @if page.entries.is_empty() {
                p { "Nothing recorded yet." }
            } @else {
                table.audit {
                    thead { tr { th { "When" } th { "Who" } th { "What" } th { "Feed" } th { "Detail" } } }
                    tbody {
                        @for e in page.entries {
                            tr data-audit=(e.id) {
                                td data-label="When" { time datetime=(iso_time(e.at)) { (human_time(e.at)) } }
                                td data-label="Who" { (e.actor) }
                                td data-label="What" { code { (e.action) } }
                                td data-label="Feed" {
                                    @match (e.feed_id, &e.feed_title) {
                                        (Some(id), Some(t)) => a href=(format!("/feeds/{id}")) { (t) },
                                        (Some(id), None) => { "#" (id) " (removed)" },
                                        (None, _) => {},
                                    }
                                }
                                td data-label="Detail" { @if let Some(d) = &e.detail { small { (d) } } }
                            }
                        }
                    }
                }
            }
            @if let Some(older) = page.older {
                nav.pager { a rel="next" href=(format!("/admin/audit?before={older}")) { "Older →" } }
            }
        },
    )
}

/// The heading an error page shows for an HTTP status.
pub fn error_heading(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Sign-in needed",
        403 => "Forbidden",
        404 => "Not found",
        405 => "Method not allowed",
        409 => "Conflict",
        413 => "Too large",
        422 => "Cannot use that",
        429 => "Too many requests",
        500..=599 => "Something went wrong",
        _ => "Error",
    }
}

/// Any error a person sees: headed by what the status means, with the reason.
pub fn error_page(cfg: &Config, status: u16, what: &str) -> Markup {
    error_page_linking(cfg, status, what, ("/", "Back to the river"))
}

/// An error page whose way on is `link` (`href`, words): a page cursor that names no entry
/// (a bookmark to a pruned one) links to the first page of its river.
pub fn error_page_linking(cfg: &Config, status: u16, what: &str, link: (&str, &str)) -> Markup {
    let heading = error_heading(status);
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
mod tests {
    use super::*;

    #[test]
    fn error_pages_say_what_the_status_means() {
        let cfg = Config::default();
        for (status, heading) in [
            (404, "Not found"),
            (403, "Forbidden"),
            (500, "Something went wrong"),
            (422, "Cannot use that"),
        ] {
            let html = error_page(&cfg, status, "why <b>").into_string();
            assert!(
                html.contains(&format!("<h1>{heading}</h1>")),
                "{status}: {html}"
            );
            assert!(html.contains("why &lt;b&gt;"), "the reason is escaped");
        }
        assert!(!error_page(&cfg, 403, "x")
            .into_string()
            .contains("Not found"));
    }

    fn entry(id: i64, title: &str, author: &str, content: &str) -> EntryView {
        EntryView {
            id,
            feed_id: 3,
            feed_title: "<b>Feed</b>".into(),
            feed_face: None,
            title: title.into(),
            url: Some("https://example.com/a?x=1&y=\"2\"".into()),
            author: Some(author.into()),
            published: 1_700_000_000_000,
            summary: String::new(),
            content_html: content.into(),
            whole: true,
            rev: None,
        }
    }

    #[test]
    fn feed_strings_are_escaped_everywhere() {
        let e = entry(
            7,
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<p>fine</p>",
        );
        let html = home_page(
            &Config::default(),
            &HomePage {
                entries: &[e],
                older: Some(7),
                paged: false,
                revision: 0,
            },
        )
        .into_string();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;Feed&lt;/b&gt;"));
        assert!(html.contains("y=&quot;2&quot;"));
        // Stored sanitized content is the one thing rendered as HTML.
        assert!(html.contains("<p>fine</p>"));
        assert!(html.contains(r#"data-id="7""#));
        assert!(html.contains(r#"href="/?before=7""#));
        assert!(html.contains(r#"data-ws="/ws""#));
    }

    #[test]
    fn older_pages_do_not_follow_the_socket() {
        let html = home_page(
            &Config::default(),
            &HomePage {
                entries: &[],
                older: None,
                paged: true,
                revision: 0,
            },
        )
        .into_string();
        assert!(!html.contains("data-ws"));
        assert!(html.contains("No entries yet"));
    }

    #[test]
    fn long_entries_are_collapsed_in_the_river_and_whole_on_their_own_page() {
        let long = format!("<p>{}</p><p>the last words</p>", "word ".repeat(3_000));
        let e = entry(9, "Long read", "Ann", &long);
        let river = entry_article(&e).into_string();
        assert!(
            river.contains(r#"class="content collapsed""#),
            "{}",
            &river[..300]
        );
        assert!(river.contains(r#"<a href="/entries/9">Read more"#));
        let page = entry_page(&Config::default(), &e).into_string();
        assert!(page.contains("the last words"));
        assert!(!page.contains("collapsed") && !page.contains("Read more"));
        assert!(page.contains("Read it at the source"));

        let short = entry(10, "Short", "Ann", "<p>brief</p>");
        let river = entry_article(&short).into_string();
        assert!(!river.contains("collapsed") && !river.contains("Read more"));
        assert!(!river.contains("on its way"));
        let waiting = EntryView {
            whole: false,
            ..short
        };
        let river = entry_article(&waiting).into_string();
        assert!(river.contains(r#"data-whole="0""#) && river.contains("on its way"));
    }

    fn member(id: i64, name: Option<&str>, face: Option<&str>) -> FeedView {
        FeedView {
            id,
            url: format!("https://m{id}.example/feed?token=s3cret"),
            title: format!("Feed {id}"),
            site_url: Some(format!("https://m{id}.example/")),
            description: None,
            format: None,
            status: FeedStatus::Failing,
            consecutive_failures: 3,
            last_error: None,
            last_fetch_at: Some(1),
            last_success_at: Some(1),
            next_fetch_at: None,
            last_changed_at: None,
            entry_count: 2,
            display_name: name.map(Into::into),
            face_url: face.map(Into::into),
            home_url: None,
            push_until: None,
        }
    }

    const FACE: &str = "https://faces.example/a.png?s=48&q=\"x\"";

    #[test]
    fn the_river_shows_names_and_faces_grouped_by_day_with_a_sidebar() {
        let day = 86_400_000;
        let mut a = entry(1, "Today", "Ann", "<p>a</p>");
        a.published = 1_700_006_400_000 + 3_600_000; // 2023-11-15 01:00 UTC
        a.feed_title = "Ann Example".into();
        a.feed_face = Some(FACE.into());
        let mut b = entry(2, "Also today", "Bob", "<p>b</p>");
        b.published = a.published - 60_000;
        b.feed_title = "Bob".into();
        let mut c = entry(3, "Yesterday", "Cy", "<p>c</p>");
        c.published = a.published - day;
        let cfg = Config::from_lookup(|k| match k {
            "PLANET_ABOUT" => Some("First para.\n\nSecond <para>.".into()),
            "PLANET_LINKS" => Some("Code|https://code.example/".into()),
            "PLANET_LOGO" => Some("/themes/classic/logo.svg".into()),
            "THEME" => Some("classic".into()),
            _ => None,
        });
        let members = [
            member(4, Some("Ann Example"), Some(FACE)),
            member(5, None, None),
        ];
        let html = home_page_with_members(
            &cfg,
            &HomePage {
                entries: &[a, b, c],
                older: None,
                paged: false,
                revision: 0,
            },
            &members,
        )
        .into_string();
        // Days, newest first, each entry under its own.
        let d1 = html.find(r#"data-day="2023-11-15""#).expect("today");
        let d0 = html.find(r#"data-day="2023-11-14""#).expect("yesterday");
        assert!(d1 < html.find(r#"id="entry-2""#).unwrap());
        assert!(html.find(r#"id="entry-2""#).unwrap() < d0);
        assert!(d0 < html.find(r#"id="entry-3""#).unwrap());
        assert!(html.contains(
            r#"<time class="day-date" datetime="2023-11-15">Wednesday, 15 November 2023</time>"#
        ));
        // Names and faces: the face escaped, lazy, without a Referer, fixed size; no face, an initial.
        let face_html = r#"<img class="face" src="https://faces.example/a.png?s=48&amp;q=&quot;x&quot;" alt="" width="48" height="48" loading="lazy" referrerpolicy="no-referrer""#;
        assert!(html.contains(face_html), "{html}");
        assert!(html.contains(r#"<a class="feed" href="/feeds/3">Ann Example</a>"#));
        assert!(html.contains(r#"<span class="face initial" aria-hidden="true">B</span>"#));
        // One h1; landmarks; the sidebar with the about text, the links, the members.
        assert_eq!(html.matches("<h1").count(), 1);
        for landmark in ["<header", "<nav", "<main", "<aside", "<footer"] {
            assert!(html.contains(landmark), "{landmark}");
        }
        assert!(html.contains("<p>First para.</p><p>Second &lt;para&gt;.</p>"));
        assert!(html.contains(r#"<a href="https://code.example/">Code</a>"#));
        assert!(html
            .contains(r#"<img class="logo" src="/themes/classic/logo.svg" alt="" height="32">"#));
        assert!(html.contains(r#"href="/themes/classic/theme.css""#));
        assert!(html.contains(r#"<a class="member" href="/feeds/5">Feed 5</a>"#));
        assert!(html.contains(r#"href="https://m5.example/feed?token=hidden""#));
        assert!(!html.contains("s3cret"));
        assert!(html.contains(r#"<span class="dot failing" title="failing">"#));
        // No inline style or script anywhere: the CSP stays strict.
        assert!(!html.contains("style=") && !html.contains("<style"));
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=").count()
        );
    }

    #[test]
    fn feeds_and_titles_show_members_by_name_with_faces() {
        let cfg = Config::default();
        let pushed = FeedView {
            push_until: Some(2_000),
            ..member(6, Some("Pushed"), None)
        };
        let lapsed = FeedView {
            push_until: Some(1_000),
            ..member(7, Some("Lapsed"), None)
        };
        let html = feeds_page(
            &cfg,
            &[
                member(4, Some("Ann <A>"), Some(FACE)),
                member(5, None, None),
                pushed,
                lapsed,
            ],
            4,
            None,
            1_500,
        )
        .into_string();
        // Only a live lease says "push", once.
        assert_eq!(html.matches(r#"<span class="push""#).count(), 1, "{html}");
        let row = |id: i64| {
            let at = html.find(&format!(r#"data-feed="{id}""#)).unwrap();
            &html[at..at + html[at..].find("</tr>").unwrap()]
        };
        assert!(row(6).contains(">push</span>") && !row(7).contains("push</span>"));
        assert!(
            html.contains(r#"<a class="name" href="/feeds/4">Ann &lt;A&gt;</a>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"width="40" height="40" loading="lazy" referrerpolicy="no-referrer""#)
        );
        assert!(html.contains(r#"<a class="site" href="https://m4.example/""#));
        assert!(html.contains(r#"data-label="Health""#));
        assert!(!html.contains("s3cret"));
        assert_eq!(html.matches("<h1").count(), 1);

        let mut e = entry(8, "Titled", "Ann", "");
        e.feed_face = Some(FACE.into());
        let html = titles_page(&cfg, &[e], &[]).into_string();
        assert!(
            html.contains(r#"<li data-id="8"><img class="face small""#),
            "{html}"
        );
        assert!(html.contains(r#"<h2 class="day-heading">"#));
        assert_eq!(html.matches("<h1").count(), 1);
    }

    #[test]
    fn the_first_page_of_a_search_offers_to_follow_it_live() {
        let cfg = Config::default();
        let page = |query: &str, page: u32, results: Option<&[SearchHit]>| {
            search_page(
                &cfg,
                &SearchPage {
                    query,
                    results,
                    page,
                    more: false,
                },
            )
            .into_string()
        };
        let html = page("rust <script>\"", 1, Some(&[]));
        assert!(html.contains(r#"data-ws="/ws""#), "{html}");
        assert!(html.contains(r#"<button id="follow-live" type="button" aria-pressed="false">"#));
        assert!(
            html.contains(r#"id="river" data-q="rust &lt;script&gt;&quot;""#),
            "{html}"
        );
        assert!(html.contains(r#"id="live-search" aria-labelledby="live-search-heading" hidden>"#));
        assert!(!html.contains("<script>\""), "the query is escaped");
        // Later pages, no query, or nothing searchable: nothing to follow, no socket.
        for html in [
            page("rust", 2, Some(&[])),
            page("", 1, None),
            page("- ...", 1, Some(&[])),
        ] {
            assert!(
                !html.contains("follow-live") && !html.contains("data-ws"),
                "{html}"
            );
        }
    }

    #[test]
    fn every_page_has_one_h1_and_labelled_search() {
        let cfg = Config::default();
        let e = entry(1, "x", "y", "<p>z</p>");
        let pages = [
            entry_page(&cfg, &e).into_string(),
            search_page(
                &cfg,
                &SearchPage {
                    query: "q",
                    results: None,
                    page: 1,
                    more: false,
                },
            )
            .into_string(),
            error_page(&cfg, 404, "gone").into_string(),
            feed_page(
                &cfg,
                &member(2, None, None),
                &HomePage {
                    entries: std::slice::from_ref(&e),
                    older: None,
                    paged: false,
                    revision: 0,
                },
            )
            .into_string(),
        ];
        for html in pages {
            assert_eq!(html.matches("<h1").count(), 1, "{html}");
            assert!(
                html.contains(r#"<label class="visually-hidden" for="#),
                "a labelled search"
            );
            assert!(html.contains("<main id=\"main\""));
        }
    }

    #[test]
    fn the_admin_sees_feeds_in_trouble_first_with_their_error_and_a_retry() {
        let with = |id: i64, status: FeedStatus, error: Option<&str>| FeedDetail {
            feed: FeedView {
                status,
                last_error: error.map(Into::into),
                consecutive_failures: if status == FeedStatus::Active { 0 } else { 4 },
                ..member(id, Some(&format!("M{id}")), None)
            },
            filter: Default::default(),
        };
        let feeds = [
            with(1, FeedStatus::Active, None),
            with(2, FeedStatus::Held, None),
            with(3, FeedStatus::Paused, Some("HTTP 500")),
            with(4, FeedStatus::Active, None),
            with(5, FeedStatus::Failing, Some("timed out <after 20 s>")),
            with(6, FeedStatus::Gone, Some("HTTP 410")),
        ];
        let panel = crate::core::membership::MembershipPanel::default();
        let html = admin_page(&Config::default(), &feeds, "t", None, None, &panel).into_string();
        let order: Vec<i64> = html
            .split("data-feed=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect();
        assert_eq!(
            order,
            vec![5, 6, 3, 2, 1, 4],
            "trouble first, names kept in order"
        );
        assert!(html.contains("4 feeds need a look"), "{html}");
        assert!(
            html.contains("timed out &lt;after 20 s&gt;"),
            "the error, escaped"
        );
        let row = |id: i64| {
            let start = html.find(&format!("data-feed=\"{id}\"")).expect("row");
            let end = html[start..].find("</tr>").expect("end") + start;
            html[start..end].to_string()
        };
        assert!(row(5).contains("Retry now") && row(5).contains("class=\"attention\""));
        assert!(row(3).contains("Retry now"));
        assert!(row(1).contains(">Refresh<") && !row(1).contains("attention"));
        assert!(
            !row(2).contains("/refresh") && row(2).contains("Resume"),
            "a feed held by hand is resumed, not refreshed"
        );
        assert!(html.contains(r#"href="/admin/audit""#));
    }

    #[test]
    fn the_audit_log_says_who_did_what_and_escapes_it() {
        use crate::core::audit::AuditEntry;
        let entries = [
            AuditEntry {
                id: 9,
                at: 1_700_000_000_000,
                actor: "ada@example.com".into(),
                action: "feed.create".into(),
                feed_id: Some(3),
                feed_title: Some("<b>Ann</b>".into()),
                detail: Some("https://x.example/<script>".into()),
            },
            AuditEntry {
                id: 8,
                at: 1_699_000_000_000,
                actor: "api".into(),
                action: "feed.delete".into(),
                feed_id: Some(2),
                feed_title: None,
                detail: None,
            },
        ];
        let page = AuditPage {
            entries: &entries,
            older: Some(8),
            viewer: "ada@example.com",
        };
        let html = admin_audit_page(&Config::default(), &page).into_string();
        assert!(html.contains("ada@example.com") && html.contains("feed.create"));
        assert!(
            html.contains(r#"<a href="/feeds/3">&lt;b&gt;Ann&lt;/b&gt;</a>"#),
            "{html}"
        );
        assert!(html.contains("#2 (removed)"));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        assert!(html.contains(r#"href="/admin/audit?before=8""#));
        assert!(html.find("data-audit=\"9\"") < html.find("data-audit=\"8\""));
    }
}
