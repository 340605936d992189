//! Partials shared by pages and the socket (`entry` messages carry the same article HTML).

use maud::{html, Markup};

use super::{human_time, iso_time, SanitizedHtml};
use crate::core::model::EntryView;

/// Bodies longer than this (bytes of stored HTML) are shown collapsed in the river,
/// ending in a "Read more" link to the entry's own page, where they are shown whole.
pub const RIVER_WHOLE_BYTES: usize = 6_000;

/// One entry of the river (long bodies collapsed). The live script inserts the socket's
/// copy of this as is, and swaps it for the copy an `update` frame carries.
pub fn entry_article(e: &EntryView) -> Markup {
    article(e, false)
}

/// One entry shown whole, however long (the entry's own page).
pub fn entry_whole(e: &EntryView) -> Markup {
    article(e, true)
}

fn article(e: &EntryView, whole_view: bool) -> Markup {
    let title = if e.title.trim().is_empty() {
        "Untitled"
    } else {
        e.title.as_str()
    };
    let collapsed = !whole_view && e.content_html.len() > RIVER_WHOLE_BYTES;
    html! {
        article.entry id=(format!("entry-{}", e.id)) data-id=(e.id) data-feed=(e.feed_id)
            data-whole=(if e.whole { "1" } else { "0" }) {
            header {
                h2 {
                    @if let Some(url) = &e.url {
                        a href=(url) rel="noopener noreferrer" { (title) }
                    } @else {
                        (title)
                    }
                }
                p.meta {
                    a.feed href=(format!("/feeds/{}", e.feed_id)) { (e.feed_title) }
                    @if let Some(author) = e.author.as_deref().filter(|a| !a.trim().is_empty()) {
                        " · " span.author { (author) }
                    }
                    " · "
                    a.permalink href=(format!("/entries/{}", e.id)) {
                        time datetime=(iso_time(e.published)) { (human_time(e.published)) }
                    }
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
