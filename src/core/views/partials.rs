//! Partials shared by pages and the socket (`entry` messages carry the same article HTML).

use maud::{html, Markup};

use super::{human_time, iso_time, SanitizedHtml};
use crate::core::model::EntryView;

/// One entry of the river. The live script inserts the socket's copy of this as is.
pub fn entry_article(e: &EntryView) -> Markup {
    let title = if e.title.trim().is_empty() {
        "Untitled"
    } else {
        e.title.as_str()
    };
    html! {
        article.entry id=(format!("entry-{}", e.id)) data-id=(e.id) data-feed=(e.feed_id) {
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
                    time datetime=(iso_time(e.published)) { (human_time(e.published)) }
                }
            }
            @if !e.content_html.is_empty() {
                div.content { (SanitizedHtml::from_store(e.content_html.clone())) }
            } @else if !e.summary.is_empty() {
                div.content { p { (e.summary) } }
            }
        }
    }
}
