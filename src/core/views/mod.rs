//! maud views: one layout, one function per page, shared partials. Every feed-derived string is escaped by maud except [`SanitizedHtml`].

mod layout;
mod membership;
mod pages;
mod partials;

pub use layout::{layout, layout_with, Page};
pub use membership::membership_section;
pub use pages::{
    admin_audit_page, admin_login_page, admin_page, entry_page, error_page, error_page_linking,
    feed_page, feeds_page, home_page, home_page_with_members, search_page, sidebar, titles_page,
    HomePage, SearchHit, SearchPage,
};
pub use partials::{by_day, day_key, entry_article, entry_whole, face, RIVER_WHOLE_BYTES};

use maud::{Markup, PreEscaped, Render};

/// HTML that went through the sanitizer before it was stored. The only
/// `PreEscaped` in the code is in its `Render` impl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanitizedHtml(String);

impl SanitizedHtml {
    /// Wraps `content_html` read back from the entries table, which only ever
    /// receives the sanitizer's output (`core::feed::RawEntry::clean`).
    pub fn from_store(html: String) -> Self {
        Self(html)
    }
}

impl Render for SanitizedHtml {
    fn render(&self) -> Markup {
        PreEscaped(self.0.clone())
    }
}

/// `2026-11-23T20:29:02Z` for a unix-ms time (machine-readable `datetime`).
pub fn iso_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `23 Nov 2026, 20:29 UTC` for people; the script shows local time.
pub fn human_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%-d %b %Y, %H:%M UTC").to_string())
        .unwrap_or_default()
}
