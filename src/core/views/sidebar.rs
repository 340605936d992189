//! The sidebar's member list: face, name, feed and health dot, and with the detail on
//! (`Config::rich_sidebar`) each member's newest titles and its feed's trouble in words.

use maud::{html, Markup};

use super::partials::face;
use super::public::{status_label, status_text};
use crate::core::config::Config;
use crate::core::domain::FeedStatus;
use crate::core::fetch::public_url;
use crate::core::i18n::Tr;
use crate::core::ingest::Trouble;
use crate::core::view_models::{FeedView, RECENT_TITLES};

/// A member whose newest post is this many days old is said to be quiet.
pub const QUIET_AFTER_DAYS: i64 = 30;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The sidebar's detail in the planet's language (`locales/*.toml`, `[trouble]`): a trouble's
/// category, how long it has lasted, a quiet member. Never a stored error's own words: those
/// may quote a publisher's server or document, and the page is public.
pub mod words {
    use super::Trouble;
    use crate::core::i18n::Tr;

    /// A trouble's category, as a reader is told it.
    pub fn trouble(t: Tr, k: Trouble) -> &'static str {
        match k {
            Trouble::Unreachable => t.text("trouble.unreachable"),
            Trouble::TimedOut => t.text("trouble.timed_out"),
            Trouble::ServerError => t.text("trouble.server_error"),
            Trouble::NotFound => t.text("trouble.not_found"),
            Trouble::Refused => t.text("trouble.refused"),
            Trouble::Blocked => t.text("trouble.blocked"),
            Trouble::Busy => t.text("trouble.busy"),
            Trouble::Redirects => t.text("trouble.redirects"),
            Trouble::TooLarge => t.text("trouble.too_large"),
            Trouble::Unreadable => t.text("trouble.unreadable"),
            Trouble::Address => t.text("trouble.address"),
            Trouble::Gone => t.text("trouble.gone"),
            Trouble::Unknown => t.text("trouble.unknown"),
        }
    }

    /// How long, from milliseconds: "under an hour", "an hour", "5 hours", "a day", "3 days".
    pub fn lasting(t: Tr, ms: i64) -> String {
        let hours = ms.max(0) / super::HOUR_MS;
        let days = ms.max(0) / super::DAY_MS;
        match (days, hours) {
            (0, 0) => t.text("trouble.under_an_hour").into(),
            (0, h) => t.plural("trouble.hours", h.unsigned_abs(), &[]),
            (d, _) => t.plural("trouble.days", d.unsigned_abs(), &[]),
        }
    }

    /// A trouble and how long it has lasted.
    pub fn trouble_for(t: Tr, k: Trouble, ms: i64) -> String {
        t.fill(
            "trouble.for",
            &[("trouble", trouble(t, k)), ("lasting", &lasting(t, ms))],
        )
    }

    /// A member whose newest post is `days` old.
    pub fn quiet(t: Tr, days: i64) -> String {
        t.plural("trouble.quiet", days.unsigned_abs(), &[])
    }
}

/// What the health dot says of a member beyond its status, at `now`: the category of its
/// feed's trouble and how long it has lasted (or "gone"), else "no new post in N days"
/// when its newest post is [`QUIET_AFTER_DAYS`] old or older; `None` for a member in good
/// health that posts.
pub fn member_note(t: Tr, f: &FeedView, now: i64) -> Option<String> {
    let never_read = f.last_success_at.is_none();
    if Trouble::shown_for(f.status, never_read, f.last_error.is_some()) {
        let trouble = match f.status {
            FeedStatus::Gone => Trouble::Gone,
            _ => f
                .last_error
                .as_deref()
                .map_or(Trouble::Unknown, Trouble::of_words),
        };
        return Some(match (trouble, f.failing_since) {
            (Trouble::Gone, _) => words::trouble(t, Trouble::Gone).to_string(),
            (k, Some(since)) => words::trouble_for(t, k, now - since),
            (k, None) => words::trouble(t, k).to_string(),
        });
    }
    if f.status != FeedStatus::Active {
        return None;
    }
    let newest = f
        .recent_titles
        .first()
        .map(|t| t.published)
        .or(f.last_changed_at)?;
    let days = (now - newest) / DAY_MS;
    (days >= QUIET_AFTER_DAYS).then(|| words::quiet(t, days))
}

/// The health of a feed as a coloured dot, its word (and with the detail, its note) for
/// screen readers and on hover.
fn health_dot(t: Tr, f: &FeedView, note: Option<&str>) -> Markup {
    let label = status_label(f);
    let word = status_text(t, label);
    let said = match note {
        Some(n) => format!("{word}: {n}"),
        None => word.to_string(),
    };
    html! { span class=(format!("dot {label}")) title=(said) {} span.visually-hidden { " (" (said) ")" } }
}

/// The sidebar's list of members at `now`.
pub(super) fn members_section(cfg: &Config, members: &[FeedView], now: i64) -> Markup {
    let rich = cfg.rich_sidebar();
    let t = cfg.tr();
    html! {
        section.members aria-labelledby="members-heading" {
            h2 #members-heading { (t.text("sidebar.subscriptions")) }
            @if members.is_empty() {
                p.empty-note { (t.text("sidebar.no_feeds")) }
            } @else {
                ul.members.detailed[rich] {
                    @for f in members {
                        @let name = f.display_title();
                        @let note = rich.then(|| member_note(t, f, now)).flatten();
                        li data-feed=(f.id) {
                            (face(f.face_url.as_deref(), &name, 24))
                            a.member href=(format!("/feeds/{}", f.id)) { (name) }
                            " "
                            a.feed-link href=(public_url(&f.url)) rel="noopener noreferrer" {
                                (t.text("feeds.feed")) span.visually-hidden { (t.fill("entry.of", &[("name", &name)])) }
                            }
                            " " (health_dot(t, f, note.as_deref()))
                            @if let Some(n) = &note {
                                span.member-note aria-hidden="true" { (n) }
                            }
                            @if rich && !f.recent_titles.is_empty() {
                                ol.recent aria-label=(t.fill("trouble.newest_from", &[("name", &name)])) {
                                    @for e in f.recent_titles.iter().take(RECENT_TITLES) {
                                        li {
                                            a href=(format!("/entries/{}", e.id)) {
                                                @if e.title.trim().is_empty() { (t.text("entry.untitled")) } @else { (e.title) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
