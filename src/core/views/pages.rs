//! One function per page, each taking typed view models.

use maud::{html, Markup};

use super::{entry_article, entry_whole, human_time, iso_time, layout, Page};
use crate::core::config::Config;
use crate::core::feed::discover::FeedLink;
use crate::core::fetch_policy::{public_text, public_url};
use crate::core::ingest::FeedStatus;
use crate::core::model::{EntryView, FeedDetail, FeedView};
use crate::core::search::{self, Highlight, Piece};

/// The river of news: newest first, paged back with `?before=`.
pub struct HomePage<'a> {
    pub entries: &'a [EntryView],
    /// `?before=` value for the next (older) page, when there is one.
    pub older: Option<i64>,
    pub paged: bool,
    /// The entry revision the page was read at (the live script resumes updates from it).
    pub revision: i64,
}

fn river(page: &HomePage, base: &str) -> Markup {
    let entries = page.entries;
    html! {
        div #new-pill .new-pill hidden { button type="button" { span.count { "0" } " new entries" } }
        section #river .river aria-label="Entries" data-revision=(page.revision) {
            @for e in entries { (entry_article(e)) }
        }
        @if entries.is_empty() {
            p #empty .empty { "No entries yet. New ones appear here the moment a feed publishes them." }
        }
        @if let Some(before) = page.older {
            nav.pager { a rel="next" href=(format!("{base}?before={before}")) { "Older entries →" } }
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
            h1.visually-hidden { (e.title) }
            section #river .river.single aria-label="Entry" { (entry_whole(e)) }
            @if let Some(url) = &e.url {
                p.source { a href=(url) rel="noopener noreferrer" { "Read it at the source →" } }
            }
        },
    )
}

pub fn home_page(cfg: &Config, page: &HomePage) -> Markup {
    // Only the first page follows the socket: an older page must not grow at the top.
    let live = (!page.paged).then_some("/ws");
    layout(
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
    )
}

fn status_label(f: &FeedView) -> &'static str {
    match f.status {
        FeedStatus::Active if f.last_success_at.is_none() && f.last_fetch_at.is_none() => "new",
        FeedStatus::Active => "ok",
        other => other.as_str(),
    }
}

pub fn feeds_page(cfg: &Config, feeds: &[FeedView]) -> Markup {
    layout(
        cfg,
        &Page {
            title: "Feeds",
            live_path: None,
            nav: "feeds",
        },
        html! {
            h1 { "Feeds" }
            p { (feeds.len()) " feeds · " a href="/feeds.opml" { "OPML" } }
            table.feeds {
                thead { tr { th { "Feed" } th { "Health" } th { "Entries" } th { "Last changed" } } }
                tbody {
                    @for f in feeds {
                        tr data-feed=(f.id) {
                            td {
                                a href=(format!("/feeds/{}", f.id)) { (f.display_title()) }
                                @if let Some(site) = &f.site_url { " " a.site href=(site) rel="noopener noreferrer" { "site" } }
                            }
                            td { span class=(format!("health {}", status_label(f))) { (status_label(f)) }
                                 @if let Some(err) = &f.last_error { " " span.error { (public_text(err)) } } }
                            td { (f.entry_count) }
                            td { @if let Some(t) = f.last_changed_at { time datetime=(iso_time(t)) { (human_time(t)) } } @else { "never" } }
                        }
                    }
                }
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
                h1 { (title) }
                @if let Some(d) = &feed.description { p.description { (d) } }
                p.meta {
                    span class=(format!("health {}", status_label(feed))) { (status_label(feed)) }
                    " · " a href=(public_url(&feed.url)) rel="noopener noreferrer" { "feed" }
                    @if let Some(site) = &feed.site_url { " · " a href=(site) rel="noopener noreferrer" { "site" } }
                    @if let Some(err) = &feed.last_error { " · " span.error { (public_text(err)) } }
                }
            }
            (river(page, &format!("/feeds/{}", feed.id)))
        },
    )
}

fn title_list(entries: &[EntryView]) -> Markup {
    html! {
        ol.titles {
            @for e in entries {
                li data-id=(e.id) {
                    @if let Some(u) = &e.url { a href=(u) rel="noopener noreferrer" { (display_title(e)) } }
                    @else { (display_title(e)) }
                    " " span.meta {
                        a href=(format!("/feeds/{}", e.feed_id)) { (e.feed_title) } " · "
                        time datetime=(iso_time(e.published)) { (human_time(e.published)) }
                    }
                }
            }
        }
    }
}

fn display_title(e: &EntryView) -> &str {
    if e.title.trim().is_empty() {
        "Untitled"
    } else {
        &e.title
    }
}

/// Just the titles: a compact index of the newest entries.
pub fn titles_page(cfg: &Config, entries: &[EntryView]) -> Markup {
    layout(
        cfg,
        &Page {
            title: "Titles",
            live_path: None,
            nav: "titles",
        },
        html! { h1 { "Latest titles" } (title_list(entries)) },
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

/// Full-text search over every word of every entry, ranked, highlighted, paged.
pub fn search_page(cfg: &Config, sp: &SearchPage) -> Markup {
    let query = sp.query;
    let first = (sp.page.saturating_sub(1)) * search::PAGE_SIZE + 1;
    layout(
        cfg,
        &Page {
            title: "Search",
            live_path: None,
            nav: "search",
        },
        html! {
            h1 { "Search" }
            form.search action="/search" method="get" role="search" {
                input type="search" name="q" value=(query) placeholder="Search every word of every post" maxlength="200" autofocus;
                " " button type="submit" { "Search" }
            }
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
                                    @if let Some(u) = &e.url { a href=(u) rel="noopener noreferrer" { (pieces(&h.highlight.title)) } }
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

/// The admin dashboard: add (a feed, or a site's page), name, filter, pause, resume,
/// refresh and remove feeds. Every form carries the CSRF token. `choices`: the feeds a
/// page just added announced, to pick one from.
pub fn admin_page(
    cfg: &Config,
    feeds: &[FeedDetail],
    csrf: &str,
    flash: Option<&str>,
    choices: Option<(&str, &[FeedLink])>,
) -> Markup {
    let post = |id: i64, action: &str| format!("/admin/feeds/{id}/{action}");
    admin_layout(
        cfg,
        html! {
            @if let Some(f) = flash { p.flash role="status" { (f) } }
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
            table.feeds {
                thead { tr { th { "Feed" } th { "Health" } th { "Entries" } th { "Actions" } } }
                tbody {
                    @for d in feeds {
                        @let f = &d.feed;
                        tr data-feed=(f.id) {
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
                                 @if let Some(err) = &f.last_error { br; span.error { (err) } } }
                            td { (f.entry_count) }
                            td {
                                form method="post" action=(post(f.id, "refresh")) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Refresh" }
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
    let heading = error_heading(status);
    layout(
        cfg,
        &Page {
            title: heading,
            live_path: None,
            nav: "",
        },
        html! { h1 { (heading) } p { (what) } p { a href="/" { "Back to the river" } } },
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
}
