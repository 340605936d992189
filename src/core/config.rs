//! Planet configuration, read from `vars` by the edge and passed in.

use crate::core::i18n::{Lang, Tr};

/// The longest river page a deployment may set: one miss of it stays within one address's
/// minute of the public budget (`PUBLIC_LIMIT`; `tests/native/quota_rules.rs`).
pub const MAX_PAGE_SIZE: u32 = 150;

/// How long a feed fetch may take, every redirect hop and the body included, by default
/// (`FETCH_TIMEOUT_SECONDS`).
pub const DEFAULT_FETCH_TIMEOUT_SECONDS: u32 = 20;
/// The longest fetch deadline a deployment may set: a FeedObject's invocation waits for it.
pub const MAX_FETCH_TIMEOUT_SECONDS: u32 = 60;
/// Consecutive failures after which a feed is shown as failing, by default (`FAILING_AFTER`).
pub const DEFAULT_FAILING_AFTER: u32 = 3;
/// Consecutive failures after which a feed is paused, by default (`PAUSED_AFTER`).
pub const DEFAULT_PAUSED_AFTER: u32 = 10;
/// Entries per member per day on the river and `/titles`, by default (`RIVER_PER_FEED_PER_DAY`).
pub const DEFAULT_RIVER_PER_FEED_PER_DAY: u32 = 5;

/// Everything the pure code needs to know about this deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub planet_name: String,
    pub planet_url: String,
    pub planet_description: String,
    /// Lifts the SSRF guard for loopback feeds (set only by `make dev` and tests).
    pub allow_private_feeds: bool,
    /// Entries older than this are pruned by cron (days; 0 keeps them forever).
    pub retention_days: u32,
    /// At most this many entries are kept per feed (0 keeps them all).
    pub retention_max_entries: u32,
    /// Entries on one page of the river.
    pub page_size: u32,
    /// Seconds the edge keeps a rendered page (0: no caching). The live script
    /// resumes from the newest entry on the page, so a cached page is never stale for long.
    pub page_cache_seconds: u32,
    /// Rate-limit uncached public routes per client (`RATE_LIMITS=off` turns it off,
    /// for tests that speak for hundreds of readers from one address).
    pub rate_limits: bool,
    /// The planet's look: `assets/themes/<theme>/theme.css` (and its images). `THEME`,
    /// letters, digits, `-` and `_` only; anything else is the default theme.
    pub theme: String,
    /// A logo image shown before the name in the header (`PLANET_LOGO`: a path on this
    /// planet such as `/themes/classic/logo.svg`, or an http(s) URL).
    pub planet_logo: Option<String>,
    /// The about text of the sidebar (`PLANET_ABOUT`, plain text; a blank line starts a
    /// new paragraph). Without it the sidebar shows the description.
    pub planet_about: Option<String>,
    /// The operator's links in the sidebar (`PLANET_LINKS` = `Name|URL,Name|URL`).
    pub planet_links: Vec<PlanetLink>,
    /// An external WebSub hub (`WEBSUB_HUB`, an http(s) URL) the planet's feeds advertise
    /// and ping on each publish instead of running their own at `/websub`.
    pub websub_hub: Option<String>,
    /// Seconds before the hub's first retry of a failed delivery (`WEBSUB_RETRY_SECONDS`,
    /// default 60; each later retry waits four times longer, see `core::websub::hub`).
    pub websub_retry_seconds: u32,
    /// Other names the Worker answers to (`PLANET_ALIASES`: comma-separated hosts or
    /// URLs, such as its `*.workers.dev` host), so it never reads or pushes to itself.
    pub planet_aliases: Vec<String>,
    /// The operator's line in the page footer (`FOOTER_TEXT`, plain text, escaped).
    pub footer_text: Option<String>,
    /// A link to `/admin` in the footer (`SHOW_ADMIN_LINK`, default false).
    pub show_admin_link: bool,
    /// `/feed.rss10` served and linked (`ENABLE_RSS10`, default true).
    pub enable_rss10: bool,
    /// `/foafroll.xml` served and linked (`ENABLE_FOAF`, default true).
    pub enable_foaf: bool,
    /// Who runs the planet (`PLANET_OWNER_NAME`, `PLANET_OWNER_EMAIL`): the contact in the
    /// fetcher's User-Agent and OPML's `ownerName`/`ownerEmail`.
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    /// A feed fetch's deadline, every hop and the body (`FETCH_TIMEOUT_SECONDS`).
    pub fetch_timeout_ms: u64,
    /// Failures in a row after which a feed is failing (`FAILING_AFTER`) and paused
    /// (`PAUSED_AFTER`, more than `FAILING_AFTER`).
    pub failing_after: u32,
    pub paused_after: u32,
    /// Whether a paused feed is still probed once a day (`PROBE_PAUSED`, default true).
    pub probe_paused: bool,
    /// The sidebar's detail: each member's newest titles and what ails its feed
    /// (`SIDEBAR_DETAIL`: `auto`, the default, shows it in the `classic` theme only).
    pub sidebar_detail: SidebarDetail,
    /// The planet's language (`PLANET_LANG`, a BCP 47 tag; `de-AT` speaks `de`): `<html
    /// lang>`, every interface string, the dates. One not shipped is English and a problem.
    pub lang: Lang,
    /// The fair front page: at most this many entries per member per day on the river and
    /// `/titles` (`RIVER_PER_FEED_PER_DAY`, default 5; 0 shows every entry).
    pub river_per_feed_per_day: u32,
    /// The planet's days (`PLANET_TIMEZONE`, an IANA name, default `UTC`): the fair river's
    /// day and the date headings. Its spelling is checked here, its existence at the edge.
    pub planet_timezone: String,
}

/// Whether the sidebar shows each member's newest titles and its feed's trouble in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SidebarDetail {
    /// On in the `classic` theme (as the classic planets show it), off elsewhere.
    #[default]
    Auto,
    On,
    Off,
}

impl SidebarDetail {
    fn parse(v: &str) -> Option<Self> {
        match v.to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "on" | "true" | "yes" | "1" => Some(Self::On),
            "off" | "false" | "no" | "0" => Some(Self::Off),
            _ => None,
        }
    }
}

/// One of the operator's links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanetLink {
    pub name: String,
    pub url: String,
}

/// A URL a page may link or load: an http(s) URL, or a path on this planet (`/…`, not
/// `//host`). Anything else (`javascript:`, `data:`) is dropped.
fn safe_href(s: &str) -> Option<String> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let ok = (s.starts_with('/') && !s.starts_with("//") && !s.contains('\\'))
        || ((lower.starts_with("https://") || lower.starts_with("http://"))
            && url::Url::parse(s).is_ok_and(|u| u.host_str().is_some()));
    (ok && !s.chars().any(char::is_control)).then(|| s.to_string())
}

/// `Name|URL,Name|URL` → links; pairs without a name or with an unusable URL are skipped.
fn parse_links(s: &str) -> Vec<PlanetLink> {
    s.split(',')
        .filter_map(|pair| {
            let (name, url) = pair.split_once('|')?;
            let name = name.trim();
            let url = safe_href(url)?;
            (!name.is_empty()).then(|| PlanetLink {
                name: name.to_string(),
                url,
            })
        })
        .take(20)
        .collect()
}

fn theme_name(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| s.to_ascii_lowercase())
}

impl Default for Config {
    fn default() -> Self {
        Self {
            planet_name: "Orrery".into(),
            planet_url: "http://127.0.0.1:8787".into(),
            planet_description: "A live planet of feeds".into(),
            allow_private_feeds: false,
            retention_days: 365,
            retention_max_entries: 100,
            page_size: 30,
            page_cache_seconds: 15,
            rate_limits: true,
            theme: "default".into(),
            planet_logo: None,
            planet_about: None,
            planet_links: Vec::new(),
            websub_hub: None,
            websub_retry_seconds: 60,
            planet_aliases: Vec::new(),
            footer_text: None,
            show_admin_link: false,
            enable_rss10: true,
            enable_foaf: true,
            owner_name: None,
            owner_email: None,
            fetch_timeout_ms: u64::from(DEFAULT_FETCH_TIMEOUT_SECONDS) * 1000,
            failing_after: DEFAULT_FAILING_AFTER,
            paused_after: DEFAULT_PAUSED_AFTER,
            probe_paused: true,
            sidebar_detail: SidebarDetail::Auto,
            lang: Lang::En,
            river_per_feed_per_day: DEFAULT_RIVER_PER_FEED_PER_DAY,
            planet_timezone: "UTC".into(),
        }
    }
}

/// The operator's knobs read strictly: each value the lookup has, parsed, or a problem in
/// words naming the var (a problem keeps the default).
struct Strict<'a, F: Fn(&str) -> Option<String>> {
    get: &'a F,
    problems: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Strict<'_, F> {
    fn value(&self, k: &str) -> Option<String> {
        (self.get)(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn flag(&mut self, k: &str, default: bool) -> bool {
        match self.value(k).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => default,
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(v) => {
                self.problems
                    .push(format!("{k}: {v:?} is not true or false; using {default}"));
                default
            }
        }
    }

    fn count(&mut self, k: &str, default: u32, range: std::ops::RangeInclusive<u32>) -> u32 {
        let Some(v) = self.value(k) else {
            return default;
        };
        match v.parse::<u32>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                self.problems.push(format!(
                    "{k}: {v:?} is not a whole number from {} to {}; using {default}",
                    range.start(),
                    range.end()
                ));
                default
            }
        }
    }

    /// Text for a header and a document: no control characters, none of `()<>"\\` (which
    /// would end a User-Agent comment), at most 100 characters.
    fn contact_text(&mut self, k: &str) -> Option<String> {
        let v = self.value(k)?;
        if v.chars().count() > 100
            || v.chars()
                .any(|c| c.is_control() || matches!(c, '(' | ')' | '<' | '>' | '"' | '\\'))
        {
            self.problems.push(format!(
                "{k}: at most 100 characters, without control characters or ()<>\"\\; left out"
            ));
            return None;
        }
        Some(v)
    }

    /// A language tag (`PLANET_LANG`): a shipped language, else English and a problem.
    fn lang(&mut self, k: &str) -> Lang {
        let Some(v) = self.value(k) else {
            return Lang::En;
        };
        Lang::from_tag(&v).unwrap_or_else(|| {
            let shipped: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
            self.problems.push(format!(
                "{k}: {v:?} is not a language this planet ships ({}); using en",
                shipped.join(", ")
            ));
            Lang::En
        })
    }

    /// An IANA time zone name as spelled (`Europe/Paris`, `UTC`, `Etc/GMT+5`); whether the
    /// zone exists only the edge can tell (`edge::zone`).
    fn zone_name(&mut self, k: &str, default: String) -> String {
        let Some(v) = self.value(k) else {
            return default;
        };
        let ok = v.len() <= 64
            && v.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
            });
        if !ok {
            self.problems.push(format!(
                "{k}: {v:?} is not a time zone name such as Europe/Paris; using {default}"
            ));
            return default;
        }
        v
    }

    fn email(&mut self, k: &str) -> Option<String> {
        let v = self.contact_text(k)?;
        let ok = v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !v.contains(char::is_whitespace)
                && !domain.contains('@')
        });
        if !ok {
            self.problems
                .push(format!("{k}: {v:?} is not an email address; left out"));
            return None;
        }
        Some(v)
    }
}

impl Config {
    /// What ingest stores of a document at `now_ms`: nothing past the retention cutoff,
    /// and no more new entries than the per-feed count keeps.
    pub fn keep(&self, now_ms: i64) -> crate::core::domain::Keep {
        crate::core::domain::Keep {
            since: self.retention_cutoff(now_ms),
            max_new: self.retention_max_entries as usize,
        }
    }

    /// Whether the sidebar lists each member's newest titles and words its feed's trouble:
    /// `SIDEBAR_DETAIL=on`, or `auto` in the `classic` theme.
    pub fn rich_sidebar(&self) -> bool {
        match self.sidebar_detail {
            SidebarDetail::On => true,
            SidebarDetail::Off => false,
            SidebarDetail::Auto => self.theme == "classic",
        }
    }

    /// Entries published before this are pruned; `None` keeps them forever (RETENTION_DAYS=0).
    pub fn retention_cutoff(&self, now_ms: i64) -> Option<i64> {
        (self.retention_days > 0).then(|| now_ms - i64::from(self.retention_days) * 86_400_000)
    }

    /// Builds the config from a lookup of string variables (the Worker's `vars`),
    /// falling back to defaults for anything missing or unreadable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        Self::checked(get).0
    }

    /// What is wrong with the operator's knobs, one sentence each naming the var (empty
    /// when nothing is): `/healthz` and `/admin` show them (`Deployment::judge`).
    pub fn problems(get: impl Fn(&str) -> Option<String>) -> Vec<String> {
        Self::checked(get).1
    }

    /// The User-Agent of `role` (`feed aggregator`, `WebSub hub`): the planet's URL, and
    /// the operator's contact when set, as polite crawlers give one.
    pub fn user_agent(&self, role: &str) -> String {
        let contact = match (&self.owner_name, &self.owner_email) {
            (Some(n), Some(e)) => format!("; {n} <{e}>"),
            (Some(n), None) => format!("; {n}"),
            (None, Some(e)) => format!("; <{e}>"),
            (None, None) => String::new(),
        };
        format!("Orrery/0.1 ({role}; +{}{contact})", self.planet_url)
    }

    /// The lookup of the planet's language, for the views.
    pub fn tr(&self) -> Tr {
        Tr(self.lang)
    }

    fn checked(get: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let d = Self::default();
        let mut strict = Strict {
            get: &get,
            problems: Vec::new(),
        };
        let footer_text = strict.value("FOOTER_TEXT");
        let show_admin_link = strict.flag("SHOW_ADMIN_LINK", d.show_admin_link);
        let enable_rss10 = strict.flag("ENABLE_RSS10", d.enable_rss10);
        let enable_foaf = strict.flag("ENABLE_FOAF", d.enable_foaf);
        let owner_name = strict.contact_text("PLANET_OWNER_NAME");
        let owner_email = strict.email("PLANET_OWNER_EMAIL");
        let fetch_timeout_seconds = strict.count(
            "FETCH_TIMEOUT_SECONDS",
            DEFAULT_FETCH_TIMEOUT_SECONDS,
            1..=MAX_FETCH_TIMEOUT_SECONDS,
        );
        let failing_after = strict.count("FAILING_AFTER", d.failing_after, 1..=1000);
        let mut paused_after = strict.count("PAUSED_AFTER", d.paused_after, 2..=1000);
        if paused_after <= failing_after {
            strict.problems.push(format!(
                "PAUSED_AFTER ({paused_after}) must be more than FAILING_AFTER ({failing_after}); using {}",
                failing_after + 1
            ));
            paused_after = failing_after + 1;
        }
        let probe_paused = strict.flag("PROBE_PAUSED", d.probe_paused);
        let sidebar_detail = match strict.value("SIDEBAR_DETAIL") {
            None => d.sidebar_detail,
            Some(v) => SidebarDetail::parse(&v).unwrap_or_else(|| {
                strict.problems.push(format!(
                    "SIDEBAR_DETAIL: {v:?} is not auto, on or off; using auto"
                ));
                d.sidebar_detail
            }),
        };
        let lang = strict.lang("PLANET_LANG");
        let river_per_feed_per_day =
            strict.count("RIVER_PER_FEED_PER_DAY", d.river_per_feed_per_day, 0..=100);
        let planet_timezone = strict.zone_name("PLANET_TIMEZONE", d.planet_timezone);
        let problems = strict.problems;
        let text = |k: &str, def: String| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or(def)
        };
        let num = |k: &str, def: u32| {
            get(k)
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(def)
        };
        let cfg = Self {
            planet_name: text("PLANET_NAME", d.planet_name),
            planet_url: text("PLANET_URL", d.planet_url)
                .trim_end_matches('/')
                .to_string(),
            planet_description: text("PLANET_DESCRIPTION", d.planet_description),
            allow_private_feeds: get("ALLOW_PRIVATE_FEEDS")
                .map(|v| matches!(v.trim(), "true" | "1" | "yes"))
                .unwrap_or(false),
            retention_days: num("RETENTION_DAYS", d.retention_days),
            retention_max_entries: num("RETENTION_MAX_ENTRIES", d.retention_max_entries),
            page_size: num("PAGE_SIZE", d.page_size).clamp(1, MAX_PAGE_SIZE),
            page_cache_seconds: num("PAGE_CACHE_SECONDS", d.page_cache_seconds).min(300),
            rate_limits: get("RATE_LIMITS").is_none_or(|v| v.trim() != "off"),
            theme: get("THEME").and_then(|v| theme_name(&v)).unwrap_or(d.theme),
            planet_logo: get("PLANET_LOGO").and_then(|v| safe_href(&v)),
            planet_about: get("PLANET_ABOUT")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            planet_links: get("PLANET_LINKS")
                .map(|v| parse_links(&v))
                .unwrap_or_default(),
            websub_hub: get("WEBSUB_HUB")
                .and_then(|v| safe_href(&v))
                .filter(|v| !v.starts_with('/')),
            websub_retry_seconds: num("WEBSUB_RETRY_SECONDS", d.websub_retry_seconds)
                .clamp(1, 86_400),
            planet_aliases: get("PLANET_ALIASES")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .take(20)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            footer_text,
            show_admin_link,
            enable_rss10,
            enable_foaf,
            owner_name,
            owner_email,
            fetch_timeout_ms: u64::from(fetch_timeout_seconds) * 1000,
            failing_after,
            paused_after,
            probe_paused,
            sidebar_detail,
            lang,
            river_per_feed_per_day,
            planet_timezone,
        };
        (cfg, problems)
    }
}

#[cfg(test)]
mod tests;
