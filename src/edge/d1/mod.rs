//! D1, the planet's shared history: every statement, one file per entity.
//!
//! One function per question, noun-verb names, NULLs bound as NULL (via `query!`).
//!
//! D1 bills rows scanned, not returned: every query here is bounded and reads through
//! an index (`migrations/`), and each reports its cost to the meter.

mod admins;
mod audit;
mod cursors;
mod entries;
mod feeds;
mod keys;
mod membership;
mod refresh_rounds;
mod search;
mod sessions;

use serde::de::DeserializeOwned;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::edge::meter;

pub use admins::{
    admin_add, admin_bind_github, admin_remove, admins_all, admins_seed, signin_refusal_record,
};
pub use audit::{audit_page, audit_prune_older, audit_record};
pub use cursors::{
    entry_position, feed_position, feeds_page, feeds_page_detailed, RiverCursor, FEED_NAME_KEY,
};
pub use entries::{
    entries_between, entries_by_id, entries_by_ids, entries_prune_older, entries_revised,
    entries_river, entry_by_id, entry_heads_after, latest_entry_id, latest_rev, refresh_apply,
    river_day_ranks, river_walk,
};
pub use feeds::{
    counts, feed_by_id, feed_by_url, feed_create, feed_delete, feed_detail_by_id, feed_forget,
    feed_move, feed_push, feed_set_member, feed_set_status, feeds_all, feeds_all_detailed,
    feeds_create, feeds_health_page, feeds_overdue, feeds_set_overdue, health_counts,
    schema_applied, OverdueFeed,
};
pub use keys::websub_secret;
pub use membership::{
    members_current, members_left_before, membership_apply, membership_report_save,
    membership_reports, LeftMember, MembershipWrite,
};
pub use refresh_rounds::{
    refresh_round_advance, refresh_round_feeds, refresh_round_latest, refresh_round_running,
    refresh_round_start,
};
pub use search::{entries_search, search_backfill};
pub use sessions::{session_revoke, session_revoked_before, session_standing};

pub type StoreResult<T> = worker::Result<T>;

/// Rows of one statement.
async fn rows<T: DeserializeOwned>(what: &str, stmt: D1PreparedStatement) -> StoreResult<Vec<T>> {
    let result = stmt.all().await?;
    meter::d1(what, &result);
    result.results()
}

async fn first<T: DeserializeOwned>(
    what: &str,
    stmt: D1PreparedStatement,
) -> StoreResult<Option<T>> {
    Ok(rows(what, stmt).await?.into_iter().next())
}

async fn run(what: &str, stmt: D1PreparedStatement) -> StoreResult<()> {
    let result = stmt.run().await?;
    meter::d1(what, &result);
    Ok(())
}

/// One batch (one transaction, one round trip).
async fn batch(
    what: &str,
    db: &D1Database,
    stmts: Vec<D1PreparedStatement>,
) -> StoreResult<Vec<D1Result>> {
    let results = db.batch(stmts).await?;
    for r in &results {
        meter::d1(what, r);
    }
    Ok(results)
}
