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

pub use admin::{admin_audit_page, admin_page, round_progress, Panels};
pub use health::{admin_health_page, HealthPage, HEALTH_MAX_PAGE, HEALTH_PAGE_SIZE};
pub use layout::{layout, layout_with, Page};
pub use membership::membership_section;
pub use partials::{also_posted, entry_article, entry_whole};
pub use public::{
    entry_page, error_page, error_page_linking, feed_page, feeds_page, home_page,
    home_page_with_members, search_page, titles_page, FairRiver, HomePage, SearchHit, SearchPage,
};
pub use sidebar::{member_note, words as sidebar_words, QUIET_AFTER_DAYS};
pub use signin::{admins_section, signin_page, signin_result_page, SignInOptions, SignInOutcome};

use maud::{html, Markup, PreEscaped, Render};

use crate::core::i18n::Tr;

/// A catalog message with markup in its placeholders (`Signed in as {who}.` with `who` a
/// `<strong>`): the message's own text is escaped by maud, the parts are rendered as given.
pub(crate) fn rich(t: Tr, key: &'static str, parts: &[(&str, Markup)]) -> Markup {
    let template = t.text(key);
    let mut pieces: Vec<Result<&str, &Markup>> = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        let name = &rest[open + 1..close];
        match parts.iter().find(|(k, _)| *k == name) {
            Some((_, m)) => {
                pieces.push(Ok(&rest[..open]));
                pieces.push(Err(m));
            }
            None => pieces.push(Ok(&rest[..=close])),
        }
        rest = &rest[close + 1..];
    }
    pieces.push(Ok(rest));
    html! {
        @for p in pieces {
            @match p { Ok(text) => (text), Err(m) => (m) }
        }
    }
}

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
