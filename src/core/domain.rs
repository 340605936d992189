//! The vocabulary ingest and views both use: a feed's status, a member, a filter, retention.
//!
//! Types only, with the small impls that say what a value is. Ingest adds its decisions to
//! them in its own `impl` blocks, beside the rules they apply (`FeedStatus::after_failures`
//! in `ingest::state`, `FeedFilter::keeps` and `validated` and `Member::settings` in
//! `ingest::settings`). Serialized forms are stored (Durable Object storage, D1): their
//! field and variant names never change.

use serde::{Deserialize, Serialize};

/// A feed's health, as stored in the FeedObject and mirrored in D1's `feeds.status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedStatus {
    /// Fetching on schedule.
    #[default]
    Active,
    /// At least `ingest::FAILING_AFTER` failures in a row; still fetching, backing off.
    Failing,
    /// `ingest::PAUSED_AFTER` failures in a row: probed once a day, active again when it answers.
    Paused,
    /// The publisher answered 410 Gone `ingest::GONE_AFTER` times in a row: no more fetches
    /// until refreshed by hand.
    Gone,
    /// Paused by hand (the admin): never fetched, not by probes, cron's watchdog or a
    /// refresh by hand, until resumed by hand. Wire name `held`, apart from `paused`.
    Held,
}

impl FeedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedStatus::Active => "active",
            FeedStatus::Failing => "failing",
            FeedStatus::Paused => "paused",
            FeedStatus::Gone => "gone",
            FeedStatus::Held => "held",
        }
    }

    /// Does the feed fetch on its own alarm? (A paused feed does, slowly: its probes.)
    pub fn is_scheduled(self) -> bool {
        matches!(
            self,
            FeedStatus::Active | FeedStatus::Failing | FeedStatus::Paused
        )
    }
}

/// Which new entries of a feed are kept, as Planet Venus planets filter: only those in one
/// of `categories` (its categories and tags, compared case-insensitively) or matching one
/// of `words` (a whole word or phrase of the title, summary or body, any case). An empty
/// list is no condition; both empty keep everything. `excerpt_only` stores (and shows)
/// each entry's summary instead of its whole body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedFilter {
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub words: Vec<String>,
    #[serde(default)]
    pub excerpt_only: bool,
}

impl FeedFilter {
    /// No condition and no excerpting.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.words.is_empty() && !self.excerpt_only
    }

    /// Some entries may be left out.
    pub fn selects(&self) -> bool {
        !self.categories.is_empty() || !self.words.is_empty()
    }
}

/// What the admin sets for a member (D1's `display_name`, `face_url`, `home_url` and
/// `filter`); `None` shows the feed's own title and site link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub display_name: Option<String>,
    pub face_url: Option<String>,
    pub home_url: Option<String>,
    #[serde(default)]
    pub filter: FeedFilter,
}

/// What retention keeps, as ingest needs it (`Config::keep` makes one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    /// Entries published before this (the retention cutoff) are remembered, never stored:
    /// cron would only delete them again.
    pub since: Option<i64>,
    /// New entries stored from one document at most, the newest (0: no limit but
    /// `feed::MAX_ITEMS_PER_DOCUMENT`): the per-feed count would delete the rest at once.
    pub max_new: usize,
}
