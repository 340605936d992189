//! The audit log's rules: who did what to which feed, and when.
//!
//! Records are paged newest first and kept for `AUDIT_RETENTION_DAYS`.

use serde::{Deserialize, Serialize};

/// Who writes without a person behind it: the JSON API (the bearer token) and cron. A
/// session signed in with the shared token is `core::auth::session::TOKEN_ACTOR`; one signed in
/// through Cloudflare Access is the person's email.
pub const API_ACTOR: &str = "api";
pub const CRON_ACTOR: &str = "cron";
/// What a feed's own refresh decides, whoever caused the refresh: a permanent redirect
/// followed, a feed paused after failures, gone, or answering again.
pub const SYSTEM_ACTOR: &str = "system";

/// Audit records on one page of `/admin/audit`.
pub const AUDIT_PAGE_SIZE: u32 = 50;
/// Audit records cron deletes by age per run at most (a backlog drains over several runs).
pub const AUDIT_PRUNE_PER_RUN: u32 = 500;
/// How long the audit log is kept unless `AUDIT_RETENTION_DAYS` says otherwise.
const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 365;

/// Records older than this are pruned (`AUDIT_RETENTION_DAYS`; 0 keeps them all).
pub fn retention_cutoff(get: impl Fn(&str) -> Option<String>, now_ms: i64) -> Option<i64> {
    let days = get("AUDIT_RETENTION_DAYS")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS);
    (days > 0).then(|| now_ms - i64::from(days) * 86_400_000)
}

/// One audit record as the admin sees it, with the feed's name when it still exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub feed_id: Option<i64>,
    /// The feed's display name (else its title), `None` once it is removed.
    pub feed_title: Option<String>,
    pub detail: Option<String>,
}

/// One page of the audit log, newest first.
pub struct AuditPage<'a> {
    pub entries: &'a [AuditEntry],
    /// Pass as `before` for the next (older) page.
    pub older: Option<i64>,
    /// Who is looking (shown as "signed in as").
    pub viewer: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_defaults_to_a_year_and_zero_keeps_everything() {
        let day = 86_400_000;
        let now = 1000 * day;
        assert_eq!(retention_cutoff(|_| None, now), Some(now - 365 * day));
        let week = |_: &str| Some("7".to_string());
        assert_eq!(retention_cutoff(week, now), Some(now - 7 * day));
        assert_eq!(retention_cutoff(|_| Some("0".into()), now), None);
        assert_eq!(
            retention_cutoff(|_| Some("soon".into()), now),
            Some(now - 365 * day),
            "unreadable: the default"
        );
    }
}
