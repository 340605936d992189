//! The view models shared by pages, the JSON API and the socket protocol.

use std::borrow::Cow;

use serde::{Deserialize, Serialize, Serializer};

use crate::core::domain::{FeedFilter, FeedStatus, Member};
use crate::core::fetch::{public_text, public_url};

/// An entry as readers see it (JSON API and socket `entry` messages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryView {
    pub id: i64,
    pub feed_id: i64,
    /// The member's display name, else the feed's title.
    pub feed_title: String,
    /// The member's face (an avatar image URL), when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_face: Option<String>,
    pub title: String,
    pub url: Option<String>,
    pub author: Option<String>,
    /// Unix milliseconds.
    pub published: i64,
    pub summary: String,
    /// Sanitized before it was stored; only rendered through [`crate::core::views::SanitizedHtml`].
    /// Sent to API and socket clients as is, so they can show the post without the page.
    #[serde(default)]
    pub content_html: String,
    /// `content_html` is the whole post; `false` while only a brief is stored (the body
    /// is being cleaned by a later invocation; an `update` frame follows).
    #[serde(default = "whole_by_default")]
    pub whole: bool,
    /// The entry's revision when it was rewritten after it was first stored (the
    /// cursor of `update` frames); absent for an entry never rewritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<i64>,
    /// Its rank within its member's day in the planet's time zone, counted when it was
    /// first stored (`core::river`): the fair river shows ranks up to its cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_rank: Option<i64>,
    /// Local time minus UTC at `published` in the planet's time zone, set by the edge
    /// before a page is rendered (its day heading); never sent.
    #[serde(skip)]
    pub local_offset_ms: i64,
    /// Another member posted this article too, and the planet's river shows their copy
    /// (the first one stored): its entry id. Absent when this entry is the one shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_as: Option<i64>,
    /// The other members' copies of this article, oldest first: who else posted it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<AlsoPosted>,
}

/// Another member's copy of the same article (`core::ingest::same`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlsoPosted {
    /// That member's entry.
    pub id: i64,
    pub feed_id: i64,
    /// That member's display name, else their feed's title.
    pub feed_title: String,
}

impl EntryView {
    /// Fills [`EntryView::same_as`] and [`EntryView::also`] from every copy of the
    /// article this entry belongs to (itself included, any order): the oldest copy is
    /// the one shown.
    pub fn with_copies(mut self, mut copies: Vec<AlsoPosted>) -> Self {
        copies.sort_by_key(|c| c.id);
        self.same_as = copies.first().map(|c| c.id).filter(|&id| id != self.id);
        copies.retain(|c| c.id != self.id);
        self.also = copies;
        self
    }

    /// Every member who posted this article, this entry's first, in one line of text
    /// (the planet's RSS titles): "Ann, Bob".
    pub fn member_names(&self) -> String {
        let mut out = self.feed_title.clone();
        for c in &self.also {
            out.push_str(", ");
            out.push_str(&c.feed_title);
        }
        out
    }

    /// For a copy another member's older one shows ([`EntryView::same_as`]): that copy's
    /// id and every other copy of the article, this one included, oldest first (the
    /// names the shown copy's "also posted by" line carries once this one is stored).
    pub fn merged_into(&self) -> Option<(i64, Vec<AlsoPosted>)> {
        let into = self.same_as?;
        let mut others: Vec<AlsoPosted> =
            self.also.iter().filter(|c| c.id != into).cloned().collect();
        others.push(AlsoPosted {
            id: self.id,
            feed_id: self.feed_id,
            feed_title: self.feed_title.clone(),
        });
        others.sort_by_key(|c| c.id);
        Some((into, others))
    }
}

fn whole_by_default() -> bool {
    true
}

/// A feed and its health, as the feeds page and the API show it. Serialized (the API) it
/// hides credentials in its URLs ([`public_url`]); the field keeps the real URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedView {
    pub id: i64,
    #[serde(serialize_with = "serialize_public_url")]
    pub url: String,
    pub title: String,
    pub site_url: Option<String>,
    pub description: Option<String>,
    pub format: Option<String>,
    pub status: FeedStatus,
    pub consecutive_failures: i64,
    #[serde(serialize_with = "serialize_public_text")]
    pub last_error: Option<String>,
    pub last_fetch_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub next_fetch_at: Option<i64>,
    /// When new or edited entries were last stored.
    #[serde(default)]
    pub last_changed_at: Option<i64>,
    pub entry_count: i64,
    /// The member's name, shown instead of the feed's title when set.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The member's face: an avatar image URL (http/https).
    #[serde(default)]
    pub face_url: Option<String>,
    /// The member's site, shown instead of the feed's own site link when set.
    #[serde(default)]
    pub home_url: Option<String>,
    /// Until when a WebSub hub pushes this feed's entries (its confirmed lease).
    #[serde(default)]
    pub push_until: Option<i64>,
    /// Since when its fetches fail in a row (`None` while they do not).
    #[serde(default)]
    pub failing_since: Option<i64>,
    /// Its newest entries' titles, newest first (at most [`RECENT_TITLES`]), kept on the
    /// feed's row by the refresh that stores them: the sidebar reads no entry to show them.
    #[serde(
        default,
        deserialize_with = "recent_titles",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub recent_titles: Vec<RecentTitle>,
}

/// How many of a member's newest titles its feed row keeps for the sidebar.
pub const RECENT_TITLES: usize = 3;

/// One of a member's newest entries, as the sidebar links it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentTitle {
    pub id: i64,
    /// Plain text from the feed (escaped where shown).
    pub title: String,
    /// Unix milliseconds.
    pub published: i64,
}

/// The titles as D1 keeps them (JSON text in the feed's row) or as a cached copy has them
/// (a list); anything unreadable is no titles, never a failed page.
fn recent_titles<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<RecentTitle>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Kept {
        Text(String),
        List(Vec<RecentTitle>),
        Other(serde::de::IgnoredAny),
    }
    let mut titles: Vec<RecentTitle> = match Kept::deserialize(d)? {
        Kept::Text(t) => serde_json::from_str(&t).unwrap_or_default(),
        Kept::List(l) => l,
        Kept::Other(_) => Vec::new(),
    };
    // Newest first, whatever order SQLite's aggregate kept.
    titles.sort_by_key(|t| std::cmp::Reverse((t.published, t.id)));
    titles.truncate(RECENT_TITLES);
    Ok(titles)
}

impl FeedView {
    /// The name to show: the member's display name, else the feed's title, else its URL
    /// as the public may see it.
    pub fn display_title(&self) -> Cow<'_, str> {
        if let Some(name) = self
            .display_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        {
            return Cow::Borrowed(name);
        }
        if self.title.trim().is_empty() {
            Cow::Owned(public_url(&self.url))
        } else {
            Cow::Borrowed(&self.title)
        }
    }
}

impl FeedView {
    /// The member's site: the link set for them, else the feed's own.
    pub fn site_link(&self) -> Option<&str> {
        self.home_url.as_deref().or(self.site_url.as_deref())
    }
}

/// What a FeedObject says of itself for the admin's feed-health view (`FeedCall::Describe`),
/// read from its stored state and alarm without writing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectHealth {
    /// The object holds a feed's state (false: it never ran, or was wiped).
    pub known: bool,
    /// When it last fetched, if it remembers: kept in memory only, so `None` after the
    /// object restarted (an unchanged fetch writes nothing to say so).
    pub last_fetch_at: Option<i64>,
    /// Its next fetch (from its alarm): `None` when nothing is scheduled.
    pub next_fetch_at: Option<i64>,
    pub status: FeedStatus,
    pub failures: u32,
}

/// One row of the feed-health view: D1's row, and its object's answer (`None`: the object
/// did not answer).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedHealthRow {
    pub feed: FeedView,
    pub object: Option<ObjectHealth>,
}

/// A feed as the API and the admin page show it: [`FeedView`] and its filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedDetail {
    #[serde(flatten)]
    pub feed: FeedView,
    #[serde(default)]
    pub filter: FeedFilter,
}

impl FeedDetail {
    /// What the admin set for this member.
    pub fn member(&self) -> Member {
        Member {
            display_name: self.feed.display_name.clone(),
            face_url: self.feed.face_url.clone(),
            home_url: self.feed.home_url.clone(),
            filter: self.filter.clone(),
        }
    }
}

fn serialize_public_url<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&public_url(url))
}

fn serialize_public_text<S: Serializer>(text: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match text {
        Some(t) => s.serialize_some(&public_text(t)),
        None => s.serialize_none(),
    }
}

/// Counts for `/healthz`: feeds by status, entries, and the newest entry id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Counts {
    pub feeds: i64,
    pub entries: i64,
    pub failing: i64,
    pub paused: i64,
    pub gone: i64,
    /// Paused by hand.
    #[serde(default)]
    pub held: i64,
    pub latest: i64,
    /// Active feeds with failures in a row (below the failing threshold): `/health`'s
    /// "warning". Read from the tally by `/health` only, not shown by `/healthz`.
    #[serde(default, skip_serializing)]
    pub warning: i64,
}

/// `/health`, the contract of the planet Orrery replaces, for monitors built for it:
/// always HTTP 200, exactly these keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanetHealth {
    pub service: String,
    /// `healthy`, `degraded` (a feed is failing or inactive) or `unhealthy` (no feeds, or
    /// none healthy).
    pub status: &'static str,
    pub feeds: FeedHealth,
}

/// Feeds by health: `healthy` fetch without trouble, `warning` failed lately (fewer times in
/// a row than the failing threshold), `failing`, `inactive` (paused, held or gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeedHealth {
    pub total: i64,
    pub healthy: i64,
    pub warning: i64,
    pub failing: i64,
    pub inactive: i64,
}

impl PlanetHealth {
    /// Judges the tally's counts.
    pub fn judge(service: &str, c: &Counts) -> Self {
        let inactive = c.paused + c.held + c.gone;
        let feeds = FeedHealth {
            total: c.feeds,
            healthy: (c.feeds - c.failing - inactive - c.warning).max(0),
            warning: c.warning,
            failing: c.failing,
            inactive,
        };
        let status = if feeds.total == 0 || feeds.healthy == 0 {
            "unhealthy"
        } else if feeds.failing > 0 || feeds.inactive > 0 {
            "degraded"
        } else {
            "healthy"
        };
        Self {
            service: service.to_owned(),
            status,
            feeds,
        }
    }
}

/// What a deployment knows of itself (`/healthz`, `/admin`): its build, the schema D1 is at
/// against the newest migration the build expects, and whether each binding it needs
/// resolved. Anything wrong is a problem named in words, never a silent fail-open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    pub build: Build,
    pub schema: Schema,
    /// Each binding by name: "ok" or "missing".
    pub bindings: std::collections::BTreeMap<&'static str, &'static str>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Build {
    pub version: String,
    pub commit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schema {
    /// The newest migration applied to D1 (`d1_migrations`), if it could be read.
    pub applied: Option<String>,
    /// The newest migration this build was made with.
    pub latest: String,
    pub current: bool,
}

impl Deployment {
    /// Judges what the edge found: `resolved` says, per binding name, whether it resolved;
    /// `applied` is D1's newest migration (`None`: unreadable); `config` is what
    /// `Config::problems` found in the vars (each shown as `config: …`).
    pub fn judge(
        build: Build,
        latest: &str,
        applied: Option<String>,
        resolved: &[(&'static str, bool)],
        config: &[String],
    ) -> Self {
        let mut problems: Vec<String> = config.iter().map(|p| format!("config: {p}")).collect();
        let bindings = resolved
            .iter()
            .map(|&(name, ok)| {
                if !ok {
                    problems.push(format!(
                        "{name}: not bound (wrangler.jsonc names it; check the deployed config)"
                    ));
                }
                (name, if ok { "ok" } else { "missing" })
            })
            .collect();
        // Migration files are numbered, so names compare in order.
        let current = applied.as_deref().is_some_and(|a| a >= latest);
        match applied.as_deref() {
            None => problems.push(format!(
                "schema: D1 has no migration record; apply migrations (wrangler d1 migrations apply DB --remote), newest {latest}"
            )),
            Some(a) if !current => problems.push(format!(
                "schema: D1 is at {a}, this build expects {latest}; apply migrations (wrangler d1 migrations apply DB --remote)"
            )),
            Some(_) => {}
        }
        Self {
            build,
            schema: Schema {
                applied,
                latest: latest.to_owned(),
                current,
            },
            bindings,
            problems,
        }
    }

    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(feeds: i64, warning: i64, failing: i64, paused: i64, held: i64, gone: i64) -> Counts {
        Counts {
            feeds,
            warning,
            failing,
            paused,
            held,
            gone,
            ..Counts::default()
        }
    }

    #[test]
    fn planet_health_speaks_the_old_planets_contract() {
        let h = PlanetHealth::judge("Planet", &counts(5, 1, 1, 1, 0, 1));
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"service":"Planet","status":"degraded","feeds":{"total":5,"healthy":1,"warning":1,"failing":1,"inactive":2}}"#
        );
        let status = |c: Counts| PlanetHealth::judge("p", &c).status;
        assert_eq!(status(counts(3, 0, 0, 0, 0, 0)), "healthy");
        // Failures in a row below the threshold warn; the planet is still healthy.
        assert_eq!(status(counts(3, 2, 0, 0, 0, 0)), "healthy");
        assert_eq!(status(counts(3, 0, 1, 0, 0, 0)), "degraded");
        assert_eq!(status(counts(3, 0, 0, 0, 1, 0)), "degraded");
        assert_eq!(status(counts(3, 0, 0, 0, 0, 1)), "degraded");
        assert_eq!(status(counts(0, 0, 0, 0, 0, 0)), "unhealthy");
        assert_eq!(status(counts(2, 1, 1, 0, 0, 0)), "unhealthy");
        assert_eq!(status(counts(2, 0, 0, 2, 0, 0)), "unhealthy");
    }

    #[test]
    fn recent_titles_are_read_from_d1_text_or_a_cached_list_and_never_fail_a_row() {
        let row = |titles: serde_json::Value| {
            serde_json::json!({"id": 1, "url": "http://x.example/f", "title": "X", "site_url": null,
                "description": null, "format": null, "status": "active", "consecutive_failures": 0,
                "last_error": null, "last_fetch_at": null, "last_success_at": null,
                "next_fetch_at": null, "entry_count": 0, "recent_titles": titles})
        };
        let one = vec![RecentTitle {
            id: 7,
            title: "<b>t</b>".into(),
            published: 5,
        }];
        let text = serde_json::json!(r#"[{"id":7,"title":"<b>t</b>","published":5}]"#);
        let f: FeedView = serde_json::from_value(row(text)).unwrap();
        assert_eq!(f.recent_titles, one);
        // The cached copy: serialized as a list, read back as one.
        let again: FeedView = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(again.recent_titles, one);
        for bad in [
            serde_json::json!(null),
            serde_json::json!("not json"),
            serde_json::json!(3),
        ] {
            let f: FeedView = serde_json::from_value(row(bad)).unwrap();
            assert!(f.recent_titles.is_empty());
        }
    }

    #[test]
    fn config_problems_make_a_deployment_unhealthy() {
        let build = || Build {
            version: "1".into(),
            commit: "c".into(),
        };
        let ok = Deployment::judge(build(), "0013_x.sql", Some("0013_x.sql".into()), &[], &[]);
        assert!(ok.healthy());
        let bad = Deployment::judge(
            build(),
            "0013_x.sql",
            Some("0013_x.sql".into()),
            &[],
            &["PAUSED_AFTER: \"x\" is not a whole number".into()],
        );
        assert!(!bad.healthy());
        assert_eq!(
            bad.problems,
            ["config: PAUSED_AFTER: \"x\" is not a whole number"]
        );
    }
}
