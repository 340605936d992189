//! Membership as a file (`PLANET_OPML`): what one sync changes.
//!
//! Feeds to add, members to rename, members who left (held for a grace period, then
//! deleted): decided from D1's feeds and the parsed outlines, bounded per run.

use serde::{Deserialize, Serialize};

use crate::core::domain::Member;
use crate::core::fetch::check_url;
use crate::core::ingest;
use crate::core::syndication::Outline;

/// A membership document is at most this big (an OPML of 1,000 members is about 200 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// A membership document lists at most this many feeds; a longer one is refused whole.
pub const MAX_MEMBERS: usize = 2_000;
/// The default grace period: a member who left keeps its history this long (14 days).
const DEFAULT_GRACE_MS: i64 = 14 * 86_400_000;
/// The reason a member who left the file is held with.
pub const LEFT_REASON: &str = "left the membership file";

/// Per-run bounds of a sync (one cron invocation has 50 subrequests and 50 D1 queries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// New feeds inserted per run (one D1 statement; cron's watchdog adopts them).
    pub add: usize,
    /// Members renamed per run (one D1 statement; the watchdog tells their objects).
    pub update: usize,
    /// Members who left marked per run without an admin's confirmation (a call each).
    pub remove: usize,
    /// Members who came back resumed per run (a call each).
    pub rejoin: usize,
    /// Members past their grace deleted per run (a call each).
    pub delete: usize,
}

/// What cron uses: at most 1 + 5 + 5 + 5 = 16 subrequests for the sync.
pub const CAPS: Caps = Caps {
    add: 50,
    update: 50,
    remove: 5,
    rejoin: 5,
    delete: 5,
};

/// Where the membership document lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An http(s) URL, read through the fetcher (and its SSRF guard).
    Url(String),
    /// A file under `assets/`, read through the `ASSETS` binding: its path, with a leading `/`.
    Asset(String),
}

impl Source {
    /// How the admin page names it.
    pub fn describe(&self) -> String {
        match self {
            Source::Url(u) => crate::core::fetch::public_url(u),
            Source::Asset(p) => format!("assets{p}"),
        }
    }
}

/// The sync's configuration (`PLANET_OPML`, `PLANET_OPML_GRACE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipConfig {
    /// `None`: no membership file, no sync. `Err`: the var is set but unusable (said on
    /// the admin page; nothing is synced).
    pub source: Option<Result<Source, String>>,
    /// How long a member who left is kept (held, history intact) before it is deleted.
    pub grace_ms: i64,
}

impl MembershipConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let source = get("PLANET_OPML")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| source(&v));
        let grace_ms = get("PLANET_OPML_GRACE")
            .and_then(|v| duration_ms(&v))
            .unwrap_or(DEFAULT_GRACE_MS);
        Self { source, grace_ms }
    }
}

/// `PLANET_OPML` read: an http(s) URL, or a path of a file under `assets/` (`members.opml`,
/// `/members.opml` and `assets/members.opml` all name the same file).
pub fn source(v: &str) -> Result<Source, String> {
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return url::Url::parse(v)
            .map(|u| Source::Url(u.to_string()))
            .map_err(|e| format!("PLANET_OPML is not a valid URL: {e}"));
    }
    if lower.contains("://") {
        return Err("PLANET_OPML must be an http(s) URL or a file under assets/".into());
    }
    let path = v.trim_start_matches('/');
    let path = path.strip_prefix("assets/").unwrap_or(path);
    let ok = !path.is_empty()
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if ok {
        Ok(Source::Asset(format!("/{path}")))
    } else {
        Err(format!(
            "PLANET_OPML {v:?} is not a file under assets/ (letters, digits, -, _, . and / only)"
        ))
    }
}

/// A duration: `14d`, `12h`, `30m`, `45s`, or a bare number of days.
fn duration_ms(v: &str) -> Option<i64> {
    let v = v.trim();
    let (num, unit) = match v.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&v[..i], c.to_ascii_lowercase()),
        _ => (v, 'd'),
    };
    let n: i64 = num.trim().parse().ok().filter(|n| *n >= 0)?;
    let unit_ms = match unit {
        'd' => 86_400_000,
        'h' => 3_600_000,
        'm' => 60_000,
        's' => 1_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// A feed as the sync sees it (D1's row).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Current {
    pub id: i64,
    pub url: String,
    pub display_name: Option<String>,
    pub face_url: Option<String>,
    pub home_url: Option<String>,
    /// Listed by the membership file (so the sync manages it; a feed added by hand is not
    /// removed because the file does not list it).
    #[serde(default, deserialize_with = "flag")]
    pub in_file: bool,
    /// When it left the file (held since, deleted after the grace).
    pub left_at: Option<i64>,
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<i64>::deserialize(d)?.unwrap_or(0) != 0)
}

impl Current {
    fn name(&self) -> String {
        self.display_name.clone().unwrap_or_default()
    }
}

/// One member as the file lists it: the feed URL (checked by the fetch policy) and the
/// attributes it carries. An attribute the outline leaves out is `None` and left as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub url: String,
    pub display_name: Option<String>,
    pub face_url: Option<String>,
    pub home_url: Option<String>,
}

impl Listed {
    pub fn member(&self) -> Member {
        Member {
            display_name: self.display_name.clone(),
            face_url: self.face_url.clone(),
            home_url: self.home_url.clone(),
            filter: Default::default(),
        }
    }
}

/// An outline that is not kept, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub url: String,
    pub reason: String,
}

/// An outline's name (`title`, else `text`), face and site link, each validated as the
/// admin's own would be; one that is not usable (a Venus face file name, `javascript:`)
/// is left out, the feed still kept.
pub fn member_of(o: &Outline) -> Member {
    Member {
        display_name: o
            .title
            .as_deref()
            .and_then(|t| ingest::display_name(t).ok().flatten()),
        face_url: o
            .face
            .as_deref()
            .and_then(|f| ingest::link(f, "face").ok().flatten()),
        home_url: o
            .home
            .as_deref()
            .and_then(|h| ingest::link(h, "site").ok().flatten()),
        filter: Default::default(),
    }
}

/// The outlines of a membership document as members: URLs the fetch policy allows, each
/// once (normalized), and the refused ones with their reasons.
///
/// URLs already kept are looked up in a set: a file of 2,000 members compared each with
/// every earlier one was a quarter of a cron run's CPU (bench/RESULTS.md, issue 20).
pub fn listed(outlines: &[Outline], allow_private: bool) -> (Vec<Listed>, Vec<Refused>) {
    let mut kept: Vec<Listed> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut refused = Vec::new();
    for o in outlines {
        match check_url(&o.url, allow_private) {
            Ok(u) if seen.contains(u.as_str()) => refused.push(Refused {
                url: u.to_string(),
                reason: "listed twice".into(),
            }),
            Ok(u) => {
                seen.insert(u.to_string());
                let m = member_of(o);
                kept.push(Listed {
                    url: u.to_string(),
                    display_name: m.display_name,
                    face_url: m.face_url,
                    home_url: m.home_url,
                });
            }
            Err(e) => refused.push(Refused {
                url: o.url.clone(),
                reason: e.to_string(),
            }),
        }
    }
    (kept, refused)
}

/// A member named in a plan or report: its feed id (`None` before it is inserted), URL
/// and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    #[serde(default)]
    pub id: Option<i64>,
    pub url: String,
    #[serde(default)]
    pub name: String,
}

/// A member whose name, face or site link changes (and who is now managed by the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub id: i64,
    pub url: String,
    pub display_name: Option<String>,
    pub face_url: Option<String>,
    pub home_url: Option<String>,
}

/// Everything one sync decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// New feeds (at most `caps.add`).
    pub add: Vec<Listed>,
    /// Members whose attributes change, or that the file now lists (at most `caps.update`).
    pub update: Vec<Update>,
    /// Members who left the file, to hold now (at most `caps.remove`).
    pub leave: Vec<Named>,
    /// Members who left beyond the cap: they wait for an admin's confirmation (or later runs).
    pub pending: Vec<Named>,
    /// Members held for having left who are listed again: resumed (at most `caps.rejoin`).
    pub rejoin: Vec<Named>,
    /// Work left for the next run (adds, updates or rejoins past their caps).
    pub more: bool,
}

impl SyncPlan {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty()
            && self.update.is_empty()
            && self.leave.is_empty()
            && self.rejoin.is_empty()
    }
}

/// The file wins for every attribute it carries; one it leaves out keeps D1's value.
fn merged(c: &Current, l: &Listed) -> Update {
    Update {
        id: c.id,
        url: c.url.clone(),
        display_name: l.display_name.clone().or_else(|| c.display_name.clone()),
        face_url: l.face_url.clone().or_else(|| c.face_url.clone()),
        home_url: l.home_url.clone().or_else(|| c.home_url.clone()),
    }
}

/// What a sync does, given D1's feeds and the document's members. A feed is matched by
/// its URL. Only feeds the file listed before (`in_file`) ever leave: a feed added by
/// hand stays whatever the file says. A feed the file lists that is already subscribed
/// (added by hand or by an import) is taken over by the file. Removals past the cap wait
/// for an admin's confirmation, and so do those `pending` from an earlier run: the cap
/// counts members newly gone, so a truncated file never empties the planet by itself.
pub fn plan(current: &[Current], listed: &[Listed], pending: &[Named], caps: &Caps) -> SyncPlan {
    use std::collections::HashMap;
    let by_url: HashMap<&str, &Current> = current.iter().map(|c| (c.url.as_str(), c)).collect();
    let mut p = SyncPlan::default();
    for l in listed {
        let Some(c) = by_url.get(l.url.as_str()) else {
            if p.add.len() < caps.add {
                p.add.push(l.clone());
            } else {
                p.more = true;
            }
            continue;
        };
        let u = merged(c, l);
        let changed = !c.in_file
            || u.display_name != c.display_name
            || u.face_url != c.face_url
            || u.home_url != c.home_url;
        if changed {
            if p.update.len() < caps.update {
                p.update.push(u);
            } else {
                p.more = true;
            }
        }
        if c.left_at.is_some() {
            if p.rejoin.len() < caps.rejoin {
                p.rejoin.push(named(c));
            } else {
                p.more = true;
            }
        }
    }
    let wanted: std::collections::HashSet<&str> = listed.iter().map(|l| l.url.as_str()).collect();
    for c in current {
        if c.in_file && c.left_at.is_none() && !wanted.contains(c.url.as_str()) {
            let waiting = pending.iter().any(|n| n.id == Some(c.id));
            if !waiting && p.leave.len() < caps.remove {
                p.leave.push(named(c));
            } else {
                p.pending.push(named(c));
            }
        }
    }
    p
}

fn named(c: &Current) -> Named {
    Named {
        id: Some(c.id),
        url: c.url.clone(),
        name: c.name(),
    }
}

/// A document's digest: the same document is not compared with D1 again.
pub fn digest(body: &[u8]) -> String {
    format!("sha1:{}", sha1_smol::Sha1::from(body).digest())
}

/// Members who left before this are deleted (their grace is over).
pub fn grace_cutoff(now: i64, grace_ms: i64) -> i64 {
    now.saturating_sub(grace_ms)
}

/// What the last sync did, as the admin page shows it (kept as JSON in D1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// When it ran, and when a later run last found the same (unchanged document).
    pub at: i64,
    #[serde(default)]
    pub checked_at: i64,
    /// `PLANET_OPML` as the admin page names it.
    pub source: String,
    /// The document could not be read or parsed: nothing was changed, and this says why.
    #[serde(default)]
    pub error: Option<String>,
    /// Digest of the document synced (an unchanged document is not compared again).
    #[serde(default)]
    pub digest: String,
    /// Feeds the document lists (kept).
    #[serde(default)]
    pub listed: usize,
    #[serde(default)]
    pub added: Vec<Named>,
    #[serde(default)]
    pub updated: Vec<Named>,
    /// Members who left and are now held, deleted after the grace.
    #[serde(default)]
    pub left: Vec<Named>,
    /// Left beyond the per-run cap: removed on an admin's confirmation or by later runs.
    #[serde(default)]
    pub pending: Vec<Named>,
    #[serde(default)]
    pub rejoined: Vec<Named>,
    /// Members deleted after their grace.
    #[serde(default)]
    pub deleted: Vec<Named>,
    /// Outlines not kept, and why.
    #[serde(default)]
    pub refused: Vec<Refused>,
    /// What went wrong for single members (a call refused while a refresh ran…); tried again.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Work was left for the next run: it compares the document again even if unchanged.
    #[serde(default)]
    pub more: bool,
}

impl SyncReport {
    /// The document was read and applied.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// Nothing happened that the last report does not already say: the same document
    /// (or the same failure) again, and no member changed.
    pub fn repeats(&self, last: &SyncReport) -> bool {
        self.error == last.error
            && self.digest == last.digest
            && self.added.is_empty()
            && self.updated.is_empty()
            && self.left.is_empty()
            && self.rejoined.is_empty()
            && self.deleted.is_empty()
            && self.errors.is_empty()
            && self.pending == last.pending
            && self.more == last.more
    }

    /// One line for the audit log and cron's log.
    pub fn summary(&self) -> String {
        match &self.error {
            Some(e) => format!("membership sync failed, nothing changed: {e}"),
            None => format!(
                "{} listed: {} added, {} updated, {} left, {} awaiting confirmation, {} back, {} deleted, {} refused",
                self.listed,
                self.added.len(),
                self.updated.len(),
                self.left.len(),
                self.pending.len(),
                self.rejoined.len(),
                self.deleted.len(),
                self.refused.len()
            ),
        }
    }
}

/// One line of an OPML upload's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ImportLine {
    /// Subscribed; its first fetch (on its own alarm) says whether it is a feed.
    Added { id: i64, url: String },
    /// Already subscribed: left as it is.
    AlreadyThere { url: String },
    /// Not subscribed, and why.
    Refused { url: String, reason: String },
}

/// What the membership part of the admin page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembershipPanel {
    /// `PLANET_OPML` as configured (`Err`: unusable, and why); `None`: not configured.
    pub source: Option<Result<String, String>>,
    pub grace_ms: i64,
    /// The newest sync report, and the newest successful one when that is older.
    pub latest: Option<SyncReport>,
    pub last_ok: Option<SyncReport>,
    /// Members held for having left: (member, deleted after).
    pub leaving: Vec<(Named, i64)>,
    /// The report of an OPML upload just made.
    pub upload: Option<Vec<ImportLine>>,
}

#[cfg(test)]
mod tests;
