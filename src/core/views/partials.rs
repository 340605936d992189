//! Partials shared by pages and the socket (`entry` messages carry the same article HTML).

use maud::{html, Markup};

use super::SanitizedHtml;
use crate::core::i18n::Tr;
use crate::core::time::{day_key, iso_time};
use crate::core::view_models::{AlsoPosted, EntryView};

/// Bodies longer than this (bytes of stored HTML) are shown collapsed in the river,
/// ending in a "Read more" link to the entry's own page, where they are shown whole.
const RIVER_WHOLE_BYTES: usize = 6_000;

/// Between two names of members who posted the same article.
pub(super) const NAME_SEPARATOR: &str = ", ";

/// The line under an article naming the other members who posted it too (each linking to
/// their page); nothing when no one else did. The socket's `merge` frame carries it.
pub fn also_posted(t: Tr, also: &[AlsoPosted]) -> Markup {
    html! {
        @if !also.is_empty() {
            @let ids: Vec<String> = also.iter().map(|c| c.id.to_string()).collect();
            // The copies' entry ids: the live script resumes after the newest id it has.
            p.also-posted data-copies=(ids.join(" ")) {
                (t.text("entry.also_posted_by")) " "
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
pub fn entry_article(t: Tr, e: &EntryView) -> Markup {
    article(t, e, false)
}

/// One entry shown whole, however long (the entry's own page).
pub fn entry_whole(t: Tr, e: &EntryView) -> Markup {
    article(t, e, true)
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
pub fn entry_title(t: Tr, e: &EntryView) -> &str {
    if e.title.trim().is_empty() {
        t.text("entry.untitled")
    } else {
        &e.title
    }
}

fn article(t: Tr, e: &EntryView, whole_view: bool) -> Markup {
    let title = entry_title(t, e);
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
            data-whole=(if e.whole { "1" } else { "0" }) data-day-rank=[e.day_rank] {
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
                            time datetime=(iso_time(e.published)) { (t.human_time(e.published)) }
                        }
                    }
                    (also_posted(t, &e.also))
                }
            }
            @if !e.content_html.is_empty() {
                div.content.collapsed[collapsed] { (SanitizedHtml::from_store(e.content_html.clone())) }
            } @else if !e.summary.is_empty() {
                div.content { p { (e.summary) } }
            }
            @if !e.whole {
                p.completing { (t.text("entry.completing")) }
            }
            @if collapsed {
                p.read-more {
                    a href=(format!("/entries/{}", e.id)) {
                        (t.text("entry.read_more")) span.visually-hidden { (t.fill("entry.of", &[("name", title)])) }
                    }
                }
            }
        }
    }
}

/// Entries (newest first) cut into runs of one day each: (day key, label, entries).
pub(super) fn by_day(t: Tr, entries: &[EntryView]) -> Vec<(String, String, &[EntryView])> {
    let mut out: Vec<(String, String, &[EntryView])> = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        // The planet's day: the edge set each entry's offset from UTC in PLANET_TIMEZONE.
        let local = |e: &EntryView| e.published.saturating_add(e.local_offset_ms);
        if i == entries.len() || day_key(local(&entries[i])) != day_key(local(&entries[start])) {
            let first = &entries[start];
            out.push((
                day_key(local(first)),
                t.day_label(local(first)),
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
