//! What an admin sets for one feed, validated.
//!
//! The member's name, face and link, pausing by hand, and the filter; validated here,
//! applied by the FeedObject at ingest.

use serde::{Deserialize, Serialize};

use super::state::{overdue_deadline, FeedState};
use crate::core::domain::{FeedFilter, FeedStatus, Member};
use crate::core::feed::RawEntry;

/// A display name is at most this many characters.
const NAME_MAX_CHARS: usize = 200;
/// A face or site link is at most this many characters.
const LINK_MAX_CHARS: usize = 2_048;
/// A filter lists at most this many categories, and this many words.
const FILTER_MAX_TERMS: usize = 50;
/// Each category or word is at most this many characters.
const FILTER_TERM_MAX_CHARS: usize = 100;
/// Plain text of each body a word filter reads at most (characters).
const FILTER_TEXT_CHARS: usize = 4_096;
/// New entries of one document a word filter reads at most; past this (a first fetch of
/// a long archive) the rest are archived unread, as the first-fetch cap would archive them.
pub const FILTER_CHECKS_PER_DOCUMENT: usize = 200;

/// Ingest's decisions about a filter: what it keeps and what may be stored ([`FeedFilter`]
/// itself is vocabulary, in `core::domain`).
impl FeedFilter {
    /// Whether a new entry is kept.
    pub fn keeps(&self, e: &RawEntry) -> bool {
        if !self.selects() {
            return true;
        }
        let in_category = self.categories.iter().any(|want| {
            e.categories
                .iter()
                .any(|c| c.to_lowercase() == want.to_lowercase())
        });
        if in_category {
            return true;
        }
        if self.words.is_empty() {
            return false;
        }
        let text = e.plain_text(FILTER_TEXT_CHARS).to_lowercase();
        self.words
            .iter()
            .any(|w| has_word(&text, &w.to_lowercase()))
    }

    /// The filter as stored: each term cleaned like a name, repeats and empty ones
    /// dropped, or why it cannot be used.
    fn validated(self) -> Result<FeedFilter, SettingsError> {
        let terms = |list: Vec<String>, what: &'static str| {
            let mut out: Vec<String> = Vec::new();
            for t in list {
                let t = plain(&t);
                if t.chars().count() > FILTER_TERM_MAX_CHARS {
                    return Err(SettingsError::TooLong(what, FILTER_TERM_MAX_CHARS));
                }
                if !t.is_empty() && !out.iter().any(|o| o.to_lowercase() == t.to_lowercase()) {
                    out.push(t);
                }
            }
            if out.len() > FILTER_MAX_TERMS {
                return Err(SettingsError::TooMany(what, FILTER_MAX_TERMS));
            }
            Ok(out)
        };
        Ok(FeedFilter {
            categories: terms(self.categories, "a filter category")?,
            words: terms(self.words, "a filter word")?,
            excerpt_only: self.excerpt_only,
        })
    }
}

/// `needle` occurs in `text` with no letter or digit right before or after it.
fn has_word(text: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let word_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(needle).any(|(at, _)| {
        !word_char(text[..at].chars().next_back())
            && !word_char(text[at + needle.len()..].chars().next())
    })
}

/// What the FeedObject keeps of a feed's settings: the name and face its live frames
/// carry, and the filter its ingest applies (D1 holds the same; the object is told on
/// every change, and again by cron's watchdog and on adoption).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedSettings {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub face_url: Option<String>,
    #[serde(default)]
    pub filter: FeedFilter,
}

/// Why a setting was refused (the API answers 422 with this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{0} is longer than {1} characters")]
    TooLong(&'static str, usize),
    #[error("{0}s: at most {1}")]
    TooMany(&'static str, usize),
    #[error("{0} must be an http or https URL ({1})")]
    BadLink(&'static str, String),
}

/// Plain text as a setting holds it: control characters (line breaks too) become spaces,
/// runs of white space one space, trimmed.
fn plain(s: &str) -> String {
    s.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A display name as given: cleaned, `None` when empty (the feed's title is shown).
pub fn display_name(s: &str) -> Result<Option<String>, SettingsError> {
    let name = plain(s);
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(SettingsError::TooLong("the display name", NAME_MAX_CHARS));
    }
    Ok(Some(name).filter(|n| !n.is_empty()))
}

/// A face or site link as given: an absolute http(s) URL without credentials, `None` when
/// empty. `what` names the field in the error.
pub fn link(s: &str, what: &'static str) -> Result<Option<String>, SettingsError> {
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > LINK_MAX_CHARS {
        return Err(SettingsError::TooLong(what, LINK_MAX_CHARS));
    }
    let bad = |why: &str| SettingsError::BadLink(what, why.into());
    let url = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(&format!("not {}:", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("no user name or password in it"));
    }
    Ok(Some(url.to_string()))
}

/// What the FeedObject needs of a member ([`Member`] is in `core::domain`).
impl Member {
    /// What the FeedObject needs of it.
    pub fn settings(&self) -> FeedSettings {
        FeedSettings {
            display_name: self.display_name.clone(),
            face_url: self.face_url.clone(),
            filter: self.filter.clone(),
        }
    }
}

/// A change to a member (`PATCH /api/feeds/{id}`): a field left out stays as it is, an
/// empty string clears it, a `filter` replaces the whole filter (`{}` clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub face_url: Option<String>,
    #[serde(default)]
    pub home_url: Option<String>,
    #[serde(default)]
    pub filter: Option<FeedFilter>,
}

impl MemberPatch {
    /// The member after this change, every field validated; or why it is refused.
    pub fn apply(self, mut to: Member) -> Result<Member, SettingsError> {
        if let Some(n) = self.display_name {
            to.display_name = display_name(&n)?;
        }
        if let Some(f) = self.face_url {
            to.face_url = link(&f, "the face")?;
        }
        if let Some(h) = self.home_url {
            to.home_url = link(&h, "the site link")?;
        }
        if let Some(f) = self.filter {
            to.filter = f.validated()?;
        }
        Ok(to)
    }
}

/// A change the admin makes to a running feed, sent to its FeedObject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// New name, face or filter.
    Settings { settings: FeedSettings },
    /// Pause by hand: no fetch at all (no alarm, no probe, no watchdog, no refresh by
    /// hand) until [`Change::Resume`].
    Hold,
    /// Undo [`Change::Hold`]: active again, fetched at once.
    Resume,
}

/// What a [`Change`] left: the status and schedule D1's feed row should show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub status: FeedStatus,
    /// The status changed: D1's row must be rewritten with these, and the alarm re-armed.
    pub status_changed: bool,
    pub next_fetch_at: Option<i64>,
    pub overdue_at: Option<i64>,
}

/// Applies a change to the object's state (`None`: an imported feed not adopted yet,
/// which D1 alone describes: a resume makes it due at once, so cron adopts it). Refused
/// (with the reason) while a refresh runs: it would save the state it started from over
/// this change. Returns the state to save, if any.
pub fn change(
    state: Option<FeedState>,
    change: Change,
    busy: bool,
    now: i64,
) -> (Option<FeedState>, Result<Changed, String>) {
    if busy {
        let why = "a refresh of this feed is running; try again in a few seconds";
        return (None, Err(why.into()));
    }
    let Some(mut state) = state else {
        let (status, due) = match change {
            Change::Settings { .. } => (FeedStatus::Active, None),
            Change::Hold => (FeedStatus::Held, None),
            Change::Resume => (FeedStatus::Active, Some(now)),
        };
        let changed = Changed {
            status,
            status_changed: !matches!(change, Change::Settings { .. }),
            next_fetch_at: due,
            overdue_at: due,
        };
        return (None, Ok(changed));
    };
    let before = state.status;
    match change {
        Change::Settings { settings } => state.settings = settings,
        Change::Hold => state.status = FeedStatus::Held,
        Change::Resume if before == FeedStatus::Held => {
            state.status = FeedStatus::Active;
            state.failures = 0;
            state.gone_strikes = 0;
            state.next_fetch_at = now;
        }
        Change::Resume => {}
    }
    let scheduled = state.status.is_scheduled();
    let overdue_at = scheduled.then(|| overdue_deadline(None, state.next_fetch_at));
    let (status, failures) = (state.status, state.failures);
    if let Some(row) = state.row.as_mut().filter(|_| status != before) {
        row.status = status;
        row.failures = failures;
        row.overdue_at = overdue_at;
    }
    let changed = Changed {
        status,
        status_changed: status != before,
        next_fetch_at: scheduled.then_some(state.next_fetch_at),
        overdue_at,
    };
    (Some(state), Ok(changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_member_fields_are_validated() {
        assert_eq!(
            display_name("  Ann\u{0007}\n Lee ").unwrap().as_deref(),
            Some("Ann Lee")
        );
        assert_eq!(display_name(" \t ").unwrap(), None, "empty clears");
        assert!(display_name(&"x".repeat(NAME_MAX_CHARS + 1)).is_err());
        assert_eq!(link("", "face").unwrap(), None);
        assert_eq!(
            link(" https://a.example/f.png\u{0000} ", "face")
                .unwrap()
                .as_deref(),
            Some("https://a.example/f.png")
        );
        for bad in [
            "javascript:alert(1)",
            "ftp://a.example/x",
            "/relative.png",
            "https://u:p@a.example/",
            "data:image/png;base64,AA",
        ] {
            assert!(link(bad, "face").is_err(), "{bad}");
        }
        assert!(link(
            &format!("https://a.example/{}", "x".repeat(LINK_MAX_CHARS)),
            "face"
        )
        .is_err());
        let f = FeedFilter {
            categories: vec![" Rust ".into(), "rust".into(), "".into()],
            words: vec!["a\u{0001}b".into()],
            excerpt_only: false,
        }
        .validated()
        .unwrap();
        assert_eq!(f.categories, ["Rust"]);
        assert_eq!(f.words, ["a b"]);
        let too_many = FeedFilter {
            words: (0..=FILTER_MAX_TERMS).map(|i| format!("w{i}")).collect(),
            ..Default::default()
        };
        assert!(too_many.validated().is_err());
        // A patch changes what it names; an empty string clears.
        let m = Member {
            display_name: Some("Old".into()),
            face_url: Some("https://a.example/f.png".into()),
            ..Default::default()
        };
        let patch: MemberPatch =
            serde_json::from_str(r#"{"display_name": "New", "face_url": ""}"#).unwrap();
        let m = patch.apply(m).unwrap();
        assert_eq!(
            (m.display_name.as_deref(), m.face_url.as_deref()),
            (Some("New"), None)
        );
        assert!(
            serde_json::from_str::<MemberPatch>(r#"{"nickname": "x"}"#).is_err(),
            "unknown fields are refused"
        );
    }
}
