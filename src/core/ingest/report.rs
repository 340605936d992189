//! What one refresh did, as the FeedObject answers its callers and the admin sees it.

use serde::{Deserialize, Serialize};

use super::state::FeedState;
use crate::core::domain::FeedStatus;

/// What one refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// A body was read (and ingested, unless identical to the last one).
    Ok,
    /// 304: nothing changed.
    NotModified,
    /// The fetch or the parse failed; counted against the feed.
    Failed,
    /// 429/503: the server asked us to come back later; not a failure.
    RetryLater,
    /// 410: the feed is gone.
    Gone,
    /// Nothing was fetched (busy, paused, gone or not initialised).
    #[default]
    Skipped,
}

impl RefreshOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Ok => "ok",
            RefreshOutcome::NotModified => "not_modified",
            RefreshOutcome::Failed => "failed",
            RefreshOutcome::RetryLater => "retry_later",
            RefreshOutcome::Gone => "gone",
            RefreshOutcome::Skipped => "skipped",
        }
    }

    /// Did this refresh find a feed we can read? A new subscription is kept only then.
    pub fn found_a_feed(self) -> bool {
        matches!(
            self,
            RefreshOutcome::Ok | RefreshOutcome::NotModified | RefreshOutcome::RetryLater
        )
    }

    pub(super) fn succeeded(self) -> bool {
        matches!(self, RefreshOutcome::Ok | RefreshOutcome::NotModified)
    }
}

/// What one refresh did; the FeedObject's answer to `init` and `refresh` calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefreshReport {
    pub outcome: RefreshOutcome,
    pub new_entries: u32,
    pub updated_entries: u32,
    /// Entries found but left for follow-up invocations (over this one's CPU budget).
    #[serde(default)]
    pub carried_entries: u32,
    pub error: Option<String>,
    pub next_fetch_at: Option<i64>,
    pub status: FeedStatus,
    pub url: String,
    /// Unix ms when the new entries, committed to D1, were handed to the Room
    /// (the start of publish-to-delivered; `None` when nothing was published).
    pub published_at: Option<i64>,
    /// The document was an HTML page, not a feed (a site's home page, perhaps: adding
    /// it looks for the feeds it announces).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub html_page: bool,
}

impl RefreshReport {
    /// One line for a person (the admin page's notice after a refresh).
    pub fn summary(&self) -> String {
        match &self.error {
            Some(e) => format!("Refresh: {} ({e})", self.outcome.as_str()),
            None => format!(
                "Refresh: {}, {} new entries.",
                self.outcome.as_str(),
                self.new_entries
            ),
        }
    }

    /// The feed was removed while this refresh ran: nothing is written.
    pub fn removed() -> Self {
        RefreshReport::skipped("the feed was removed while it refreshed")
    }

    pub(super) fn skipped(why: &str) -> Self {
        RefreshReport {
            outcome: RefreshOutcome::Skipped,
            error: Some(why.into()),
            ..Default::default()
        }
    }

    pub(super) fn of(
        feed_state: &FeedState,
        outcome: RefreshOutcome,
        error: Option<String>,
    ) -> Self {
        RefreshReport {
            outcome,
            error,
            next_fetch_at: feed_state
                .status
                .is_scheduled()
                .then_some(feed_state.next_fetch_at),
            status: feed_state.status,
            url: feed_state.url.clone(),
            ..Default::default()
        }
    }
}
