//! The FeedObject's every decision as a pure plan.
//!
//! What to store, archive, carry over and publish, the next state and the next wake.
//!
//! The edge loads the state, fetches, calls [`plan`] (or [`follow_up`] for work carried
//! over from an earlier invocation), writes what the plan says in one D1 batch, hands
//! the rows D1 returned to [`Plan::settle`], and publishes. Nothing here reads a clock,
//! the environment or storage: `now`, the schedule config and the seen set are
//! arguments, so every rule has a native test (`tests/native/ingest_rules.rs`).

mod plan;
mod report;
pub mod round;
mod rows;
pub mod same;
pub mod schedule;
mod settings;
mod state;
mod trouble;

pub use plan::{
    feed_title, follow_up, follow_up_take, held, parse_mark, plan, refresh_gate, Plan,
    PARSE_MARK_MIN_BYTES, PENDING_PEEK, SEEN_KEEP, SEEN_PRUNE_ABOVE,
};
pub use report::{RefreshOutcome, RefreshReport};
pub use rows::{
    AutoChange, EntryWrite, FeedMeta, FeedRow, Move, PendingEntry, Seen, SeenMark, SeenPrune,
    SeenSet, Settled, StoredEntry,
};
pub use settings::{
    change, display_name, link, Change, Changed, FeedSettings, MemberPatch, SettingsError,
    FILTER_CHECKS_PER_DOCUMENT,
};
pub use state::{
    on_alarm, watchdog, AlarmPlan, FeedState, PlatformTrouble, RowDigest, Wake, Watch,
    ALARM_SLACK_MS, FAILING_AFTER, FOLLOW_UP_MS, GONE_AFTER, OVERDUE_GRACE_MS, OVERDUE_SLACK_MS,
    PAUSED_AFTER, PUBLISH_RETRY_MS,
};
pub use trouble::Trouble;
