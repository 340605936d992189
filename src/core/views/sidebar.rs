//! The sidebar's member list: face, name, feed and health dot, and with the detail on
//! (`Config::rich_sidebar`) each member's newest titles and its feed's trouble in words.

use maud::{html, Markup};

use super::partials::face;
use super::public::status_label;
use crate::core::config::Config;
use crate::core::domain::FeedStatus;
use crate::core::fetch::public_url;
use crate::core::ingest::Trouble;
use crate::core::view_models::{FeedView, RECENT_TITLES};

/// A member whose newest post is this many days old is said to be quiet.
pub const QUIET_AFTER_DAYS: i64 = 30;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Interface strings of the sidebar's detail, kept together for the language catalogs:
/// a trouble's category, how long it has lasted, a quiet member. Never a stored error's
/// own words: those may quote a publisher's server or document, and the page is public.
pub mod words {
    use super::Trouble;

    /// A trouble's category, as a reader is told it.
    pub fn trouble(t: Trouble) -> &'static str {
        match t {
            Trouble::Unreachable => "not reachable",
            Trouble::TimedOut => "not answering in time",
            Trouble::ServerError => "its server fails",
            Trouble::NotFound => "feed not found",
            Trouble::Refused => "its server refuses Orrery",
            Trouble::Blocked => "blocked by its host",
            Trouble::Busy => "its server asks to wait",
            Trouble::Redirects => "its redirects go nowhere",
            Trouble::TooLarge => "feed too large to read",
            Trouble::Unreadable => "feed unreadable",
            Trouble::Address => "its address is not fetched",
            Trouble::Gone => "gone",
            Trouble::Unknown => "not updating",
        }
    }

    /// How long, from milliseconds: "under an hour", "an hour", "5 hours", "a day", "3 days".
    pub fn lasting(ms: i64) -> String {
        let hours = ms.max(0) / super::HOUR_MS;
        let days = ms.max(0) / super::DAY_MS;
        match (days, hours) {
            (0, 0) => "under an hour".into(),
            (0, 1) => "an hour".into(),
            (0, h) => format!("{h} hours"),
            (1, _) => "a day".into(),
            (d, _) => format!("{d} days"),
        }
    }

    /// A trouble and how long it has lasted.
    pub fn trouble_for(t: Trouble, ms: i64) -> String {
        format!("{} for {}", trouble(t), lasting(ms))
    }

    /// A member whose newest post is `days` old.
    pub fn quiet(days: i64) -> String {
        format!("no new post in {days} days")
    }

    /// Above the titles, for screen readers.
    pub const NEWEST_OF: &str = "Newest from";
    pub const UNTITLED: &str = "Untitled";
}

/// What the health dot says of a member beyond its status, at `now`: the category of its
/// feed's trouble and how long it has lasted (or "gone"), else "no new post in N days"
/// when its newest post is [`QUIET_AFTER_DAYS`] old or older; `None` for a member in good
/// health that posts.
pub fn member_note(f: &FeedView, now: i64) -> Option<String> {
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
            (Trouble::Gone, _) => words::trouble(Trouble::Gone).to_string(),
            (t, Some(since)) => words::trouble_for(t, now - since),
            (t, None) => words::trouble(t).to_string(),
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
    (days >= QUIET_AFTER_DAYS).then(|| words::quiet(days))
}

/// The health of a feed as a coloured dot, its word (and with the detail, its note) for
/// screen readers and on hover.
fn health_dot(f: &FeedView, note: Option<&str>) -> Markup {
    let label = status_label(f);
    let said = match note {
        Some(n) => format!("{label}: {n}"),
        None => label.to_string(),
    };
    html! { span class=(format!("dot {label}")) title=(said) {} span.visually-hidden { " (" (said) ")" } }
}

/// The sidebar's list of members at `now`.
pub(super) fn members_section(cfg: &Config, members: &[FeedView], now: i64) -> Markup {
    let rich = cfg.rich_sidebar();
    html! {
        section.members aria-labelledby="members-heading" {
            h2 #members-heading { "Subscriptions" }
            @if members.is_empty() {
                p.empty-note { "No feeds yet." }
            } @else {
                ul.members.detailed[rich] {
                    @for f in members {
                        @let name = f.display_title();
                        @let note = rich.then(|| member_note(f, now)).flatten();
                        li data-feed=(f.id) {
                            (face(f.face_url.as_deref(), &name, 24))
                            a.member href=(format!("/feeds/{}", f.id)) { (name) }
                            " "
                            a.feed-link href=(public_url(&f.url)) rel="noopener noreferrer" {
                                "feed" span.visually-hidden { " of " (name) }
                            }
                            " " (health_dot(f, note.as_deref()))
                            @if let Some(n) = &note {
                                span.member-note aria-hidden="true" { (n) }
                            }
                            @if rich && !f.recent_titles.is_empty() {
                                ol.recent aria-label=(format!("{} {name}", words::NEWEST_OF)) {
                                    @for t in f.recent_titles.iter().take(RECENT_TITLES) {
                                        li {
                                            a href=(format!("/entries/{}", t.id)) {
                                                @if t.title.trim().is_empty() { (words::UNTITLED) } @else { (t.title) }
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
