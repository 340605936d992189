//! Partials shared by pages and the socket (`entry` messages carry the same article HTML).

use maud::{html, Markup};

use super::SanitizedHtml;
use crate::core::time::{day_key, day_label, human_time, iso_time};
use crate::core::view_models::{AlsoPosted, EntryView};

/// Bodies longer than this (bytes of stored HTML) are shown collapsed in the river,
/// ending in a "Read more" link to the entry's own page, where they are shown whole.
const RIVER_WHOLE_BYTES: usize = 6_000;

// ---- Interface strings of "the same article from two members" ------------------------
// (kept together so they move into the language catalogs as one piece)
/// Before the names of the other members who posted an article.
const ALSO_POSTED_BY: &str = "Also posted by";
/// Between two of those names.
pub(super) const NAME_SEPARATOR: &str = ", ";
// ------------------------------------------------------------------------------------------

/// The line under an article naming the other members who posted it too (each linking to
/// their page); nothing when no one else did. The socket's `merge` frame carries it.
pub fn also_posted(also: &[AlsoPosted]) -> Markup {
    html! {
        @if !also.is_empty() {
            @let ids: Vec<String> = also.iter().map(|c| c.id.to_string()).collect();
            // The copies' entry ids: the live script resumes after the newest id it has.
            p.also-posted data-copies=(ids.join(" ")) {
                (ALSO_POSTED_BY) " "
                @for (i, c) in also.iter().enumerate() {
                    @if i > 0 { (NAME_SEPARATOR) }
                    a.feed href=(format!("/feeds/{}", c.feed_id)) { (c.feed_title) }
                }
            }
        }
    }
}

/// One entry of the river (long bodies collapsed). The live script inserts the socket's
/// copy of this as is (into its day's group), and swaps it for the copy an `update` frame carries.
pub fn entry_article(e: &EntryView) -> Markup {
    article(e, false)
}

/// One entry shown whole, however long (the entry's own page).
pub fn entry_whole(e: &EntryView) -> Markup {
    article(e, true)
}

/// A member's face: the avatar an admin set (any http(s) URL, so it is loaded lazily and
/// without a Referer, at a fixed size), else their initial. Decorative either way: the
/// name is always written next to it.
pub(super) fn face(url: Option<&str>, name: &str, size: u16) -> Markup {
    let class = if size > 32 { "face" } else { "face small" };
    html! {
        @if let Some(src) = url.filter(|u| !u.trim().is_empty()) {
            img class=(class) src=(src) alt="" width=(size) height=(size) loading="lazy"
                referrerpolicy="no-referrer" decoding="async";
        } @else {
            span class=(format!("{class} initial")) aria-hidden="true" {
                (name.trim().chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_else(|| "·".into()))
            }
        }
    }
}

/// The title to show: the entry's own, or "Untitled".
pub fn entry_title(e: &EntryView) -> &str {
    if e.title.trim().is_empty() {
        "Untitled"
    } else {
        &e.title
    }
}

fn article(e: &EntryView, whole_view: bool) -> Markup {
    let title = entry_title(e);
    let collapsed = !whole_view && e.content_html.len() > RIVER_WHOLE_BYTES;
    let heading = html! {
        @if let Some(url) = &e.url {
            a.title href=(url) rel="noopener noreferrer" { (title) }
        } @else {
            (title)
        }
    };
    html! {
        article.entry id=(format!("entry-{}", e.id)) data-id=(e.id) data-feed=(e.feed_id)
            data-whole=(if e.whole { "1" } else { "0" }) {
            header {
                a.face-link href=(format!("/feeds/{}", e.feed_id)) tabindex="-1" aria-hidden="true" {
                    (face(e.feed_face.as_deref(), &e.feed_title, 48))
                }
                div.headline {
                    // In the river the entry sits under its day's heading (h2); alone, under the page's h1.
                    @if whole_view { h2 { (heading) } } @else { h3 { (heading) } }
                    p.meta {
                        a.feed href=(format!("/feeds/{}", e.feed_id)) { (e.feed_title) }
                        @if let Some(author) = e.author.as_deref().filter(|a| !a.trim().is_empty() && a.trim() != e.feed_title.trim()) {
                            " · " span.author { (author) }
                        }
                        " · "
                        a.permalink href=(format!("/entries/{}", e.id)) {
                            time datetime=(iso_time(e.published)) { (human_time(e.published)) }
                        }
                    }
                    (also_posted(&e.also))
                }
            }
            @if !e.content_html.is_empty() {
                div.content.collapsed[collapsed] { (SanitizedHtml::from_store(e.content_html.clone())) }
            } @else if !e.summary.is_empty() {
                div.content { p { (e.summary) } }
            }
            @if !e.whole {
                p.completing { "This is the summary: the whole post is on its way and replaces it here." }
            }
            @if collapsed {
                p.read-more {
                    a href=(format!("/entries/{}", e.id)) {
                        "Read more" span.visually-hidden { " of " (title) }
                    }
                }
            }
        }
    }
}

/// Entries (newest first) cut into runs of one day each: (day key, label, entries).
pub(super) fn by_day(entries: &[EntryView]) -> Vec<(String, String, &[EntryView])> {
    let mut out: Vec<(String, String, &[EntryView])> = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || day_key(entries[i].published) != day_key(entries[start].published)
        {
            let first = &entries[start];
            out.push((
                day_key(first.published),
                day_label(first.published),
                &entries[start..i],
            ));
            start = i;
        }
    }
    out
}

/// A day's heading: the date, machine-readable too.
pub fn day_heading(key: &str, label: &str) -> Markup {
    html! { h2.day-heading { time.day-date datetime=(key) { (label) } } }
}
