//! maud views: one layout, one function per page, shared partials.
//!
//! `public` holds the pages anyone sees, `admin` the admin's; every feed-derived string
//! is escaped by maud except [`SanitizedHtml`].

mod admin;
mod health;
mod layout;
mod membership;
mod partials;
mod public;
mod sidebar;
mod signin;

pub use admin::{admin_audit_page, admin_page, Panels};
pub use health::{admin_health_page, HealthPage, HEALTH_MAX_PAGE, HEALTH_PAGE_SIZE};
pub use layout::{layout, layout_with, Page};
pub use membership::membership_section;
pub use partials::{entry_article, entry_whole};
pub use public::{
    entry_page, error_page, error_page_linking, feed_page, feeds_page, home_page,
    home_page_with_members, search_page, titles_page, HomePage, SearchHit, SearchPage,
};
pub use sidebar::{member_note, words as sidebar_words, QUIET_AFTER_DAYS};
pub use signin::{admins_section, signin_page, signin_result_page, SignInOptions, SignInOutcome};

use maud::{Markup, PreEscaped, Render};

/// HTML that went through the sanitizer before it was stored. The only
/// `PreEscaped` in the code is in its `Render` impl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanitizedHtml(String);

impl SanitizedHtml {
    /// Wraps `content_html` read back from the entries table, which only ever
    /// receives the sanitizer's output (`core::feed::RawEntry::clean`).
    fn from_store(html: String) -> Self {
        Self(html)
    }
}

impl Render for SanitizedHtml {
    fn render(&self) -> Markup {
        PreEscaped(self.0.clone())
    }
}
