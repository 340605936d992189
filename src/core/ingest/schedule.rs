//! When to fetch a feed next.
//!
//! Pure arithmetic over config, server hints, publishing history and a seed.

use crate::core::feed::parse_date;

const MINUTE: i64 = 60_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleConfig {
    /// Never poll more often than this.
    pub min_interval_ms: i64,
    /// Used when a feed gives no publishing history.
    pub default_interval_ms: i64,
    /// Never poll a healthy feed less often than this (TTL and max-age are capped here).
    pub max_interval_ms: i64,
    /// Cap of the failure backoff and of a Retry-After wait.
    pub max_backoff_ms: i64,
    /// Delays are stretched by up to this fraction so feeds do not fetch in lockstep.
    pub jitter_ratio: f64,
    /// The planet's own names (`PLANET_URL`, `PLANET_ALIASES`): an entry under its own
    /// `/entries/` is never stored again (it would be published, found, stored: a loop).
    pub own: crate::core::fetch::OwnOrigins,
    /// Failures in a row after which a feed is failing (`FAILING_AFTER`) and paused
    /// (`PAUSED_AFTER`); whether a paused feed is probed (`PROBE_PAUSED`).
    pub failing_after: u32,
    pub paused_after: u32,
    pub probe_paused: bool,
}

/// A paused feed that is not probed (`PROBE_PAUSED=false`) waits this long, or until a
/// refresh by hand: in practice, never on its own.
pub const UNPROBED_PAUSE_MS: i64 = 365 * 24 * 60 * MINUTE;

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            min_interval_ms: 5 * MINUTE,
            default_interval_ms: 60 * MINUTE,
            max_interval_ms: 24 * 60 * MINUTE,
            max_backoff_ms: 24 * 60 * MINUTE,
            jitter_ratio: 0.1,
            own: crate::core::fetch::OwnOrigins::of(&crate::core::config::Config::default()),
            failing_after: crate::core::config::DEFAULT_FAILING_AFTER,
            paused_after: crate::core::config::DEFAULT_PAUSED_AFTER,
            probe_paused: true,
        }
    }
}

impl ScheduleConfig {
    /// Fetch intervals from string variables (`MIN_FETCH_INTERVAL_SECONDS`,
    /// `DEFAULT_FETCH_INTERVAL_SECONDS`, `MAX_FETCH_INTERVAL_SECONDS`) over the defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let d = ScheduleConfig::default();
        let ms = |k: &str| {
            get(k)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|s| *s > 0)
                .map(|s| s.saturating_mul(1000))
        };
        let min = ms("MIN_FETCH_INTERVAL_SECONDS").unwrap_or(d.min_interval_ms);
        let planet = crate::core::config::Config::from_lookup(&get);
        let max = ms("MAX_FETCH_INTERVAL_SECONDS")
            .unwrap_or(d.max_interval_ms)
            .max(min);
        ScheduleConfig {
            min_interval_ms: min,
            default_interval_ms: ms("DEFAULT_FETCH_INTERVAL_SECONDS")
                .unwrap_or(d.default_interval_ms)
                .clamp(min, max),
            max_interval_ms: max,
            max_backoff_ms: d.max_backoff_ms.max(min),
            own: crate::core::fetch::OwnOrigins::of(&planet),
            failing_after: planet.failing_after,
            paused_after: planet.paused_after,
            probe_paused: planet.probe_paused,
            ..d
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchHints {
    /// RSS `<ttl>`.
    pub ttl_minutes: Option<u32>,
    /// Cache-Control max-age of the response.
    pub cache_max_age_s: Option<i64>,
    /// published_at of recent entries, unix ms, any order.
    pub recent_entry_times: Vec<i64>,
}

/// How often the feed really publishes, as a polling interval (CommaFeed's
/// empirical interval, Miniflux's entry frequency): half the mean gap between
/// its recent entries, stretched when it has gone quiet since.
fn adaptive_interval(now_ms: i64, cfg: &ScheduleConfig, times: &[i64]) -> i64 {
    let mut t: Vec<i64> = times.iter().copied().filter(|t| *t <= now_ms).collect();
    if t.is_empty() {
        return cfg.default_interval_ms;
    }
    t.sort_unstable_by(|a, b| b.cmp(a));
    t.truncate(20);
    let newest = t[0];
    let quiet = (now_ms - newest) / 8;
    let from_gaps = if t.len() >= 2 {
        let span = newest - t[t.len() - 1];
        span / (t.len() as i64 - 1) / 2
    } else {
        cfg.default_interval_ms
    };
    from_gaps.max(quiet)
}

/// A deterministic fraction in [0, 1) from the seed (splitmix64).
fn unit(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Stretches (never shortens, so TTL and Retry-After hold) a delay by the jitter.
fn jitter(delay: i64, cfg: &ScheduleConfig, seed: u64) -> i64 {
    let ratio = if cfg.jitter_ratio.is_finite() {
        cfg.jitter_ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    delay.saturating_add((delay as f64 * ratio * unit(seed)) as i64)
}

/// Absolute unix ms of the next fetch after a successful one.
pub fn next_fetch_after_success(
    now_ms: i64,
    cfg: &ScheduleConfig,
    hints: &FetchHints,
    jitter_seed: u64,
) -> i64 {
    let min = cfg.min_interval_ms.max(0);
    let max = cfg.max_interval_ms.max(min);
    let adaptive = adaptive_interval(now_ms, cfg, &hints.recent_entry_times).clamp(min, max);
    let ttl = hints
        .ttl_minutes
        .map_or(0, |m| i64::from(m).saturating_mul(MINUTE))
        .min(max);
    let max_age = hints
        .cache_max_age_s
        .unwrap_or(0)
        .saturating_mul(1000)
        .clamp(0, max);
    let delay = adaptive.max(ttl).max(max_age);
    now_ms.saturating_add(jitter(delay, cfg, jitter_seed))
}

/// Absolute unix ms of the next fetch after a failed one: exponential backoff from
/// the minimum interval, capped.
pub fn next_fetch_after_failure(
    now_ms: i64,
    cfg: &ScheduleConfig,
    consecutive_failures: u32,
    jitter_seed: u64,
) -> i64 {
    let cap = cfg.max_backoff_ms.max(cfg.min_interval_ms).max(0);
    let shift = consecutive_failures.saturating_sub(1).min(40);
    let backoff = cfg
        .min_interval_ms
        .max(0)
        .saturating_mul(1i64 << shift)
        .min(cap);
    now_ms.saturating_add(jitter(backoff, cfg, jitter_seed))
}

/// The one Retry-After rule. After a 429/503 (not a failure) the next fetch is when the
/// server asked, or the default interval when it did not say: at least a second away,
/// at most the backoff cap, and never jittered earlier than asked.
pub fn next_fetch_after_retry_later(
    now_ms: i64,
    cfg: &ScheduleConfig,
    retry_after_ms: Option<i64>,
) -> i64 {
    let cap = cfg.max_backoff_ms.max(1_000);
    let wait = retry_after_ms.unwrap_or(cfg.default_interval_ms);
    now_ms.saturating_add(wait.clamp(1_000, cap))
}

/// Retry-After (delta-seconds or an HTTP-date) as milliseconds to wait.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<i64> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()) {
        return Some(
            v.parse::<i64>()
                .unwrap_or(i64::MAX / 1000)
                .min(i64::MAX / 1000)
                * 1000,
        );
    }
    // RFC 850 dates write "Sunday, 06-Nov-94"; HTTP dates are always GMT, so no '-' offsets.
    let at = parse_date(&v.replace('-', " "))?;
    Some(at.saturating_sub(now_ms).max(0))
}

/// Cache-Control max-age in seconds.
pub fn parse_cache_max_age(cache_control: &str) -> Option<i64> {
    cache_control.split(',').find_map(|d| {
        let (k, v) = d.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        v.trim()
            .trim_matches('"')
            .parse::<i64>()
            .ok()
            .filter(|s| *s >= 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_717_408_800_000;
    const H: i64 = 60 * MINUTE;

    fn no_jitter() -> ScheduleConfig {
        ScheduleConfig {
            jitter_ratio: 0.0,
            ..ScheduleConfig::default()
        }
    }

    #[test]
    fn success_takes_the_largest_hint() {
        let cfg = no_jitter();
        let plain = FetchHints::default();
        assert_eq!(
            next_fetch_after_success(NOW, &cfg, &plain, 1),
            NOW + 60 * MINUTE
        );
        let ttl = FetchHints {
            ttl_minutes: Some(120),
            ..plain.clone()
        };
        assert_eq!(next_fetch_after_success(NOW, &cfg, &ttl, 1), NOW + 2 * H);
        let age = FetchHints {
            cache_max_age_s: Some(3 * 3600),
            ..ttl.clone()
        };
        assert_eq!(next_fetch_after_success(NOW, &cfg, &age, 1), NOW + 3 * H);
        let huge = FetchHints {
            ttl_minutes: Some(u32::MAX),
            ..plain
        };
        assert_eq!(next_fetch_after_success(NOW, &cfg, &huge, 1), NOW + 24 * H);
    }

    #[test]
    fn adapts_to_publishing_frequency() {
        let cfg = no_jitter();
        let busy: Vec<i64> = (0..10).map(|i| NOW - i * 2 * MINUTE).collect();
        let hints = FetchHints {
            recent_entry_times: busy,
            ..FetchHints::default()
        };
        assert_eq!(
            next_fetch_after_success(NOW, &cfg, &hints, 0),
            NOW + 5 * MINUTE
        );
        let daily: Vec<i64> = (1..10).map(|i| NOW - i * 24 * H).collect();
        let hints = FetchHints {
            recent_entry_times: daily,
            ..FetchHints::default()
        };
        assert_eq!(next_fetch_after_success(NOW, &cfg, &hints, 0), NOW + 12 * H);
        let dormant = vec![NOW - 400 * 24 * H, NOW - 401 * 24 * H];
        let hints = FetchHints {
            recent_entry_times: dormant,
            ..FetchHints::default()
        };
        assert_eq!(next_fetch_after_success(NOW, &cfg, &hints, 0), NOW + 24 * H);
    }

    #[test]
    fn jitter_is_deterministic_and_bounded() {
        let cfg = ScheduleConfig::default();
        let h = FetchHints::default();
        let a = next_fetch_after_success(NOW, &cfg, &h, 42);
        assert_eq!(a, next_fetch_after_success(NOW, &cfg, &h, 42));
        for seed in 0..1000 {
            let t = next_fetch_after_success(NOW, &cfg, &h, seed) - NOW;
            assert!((60 * MINUTE..=66 * MINUTE).contains(&t), "{t}");
        }
        assert!((0..50)
            .map(|s| next_fetch_after_success(NOW, &cfg, &h, s))
            .any(|t| t != a));
    }

    #[test]
    fn failure_backs_off_exponentially_with_a_cap() {
        let cfg = no_jitter();
        let d = |n| next_fetch_after_failure(NOW, &cfg, n, 7) - NOW;
        assert_eq!(d(1), 5 * MINUTE);
        assert_eq!(d(2), 10 * MINUTE);
        assert_eq!(d(3), 20 * MINUTE);
        assert_eq!(d(30), 24 * H);
        assert_eq!(d(u32::MAX), 24 * H);
    }

    #[test]
    fn retry_later_waits_as_told_within_bounds() {
        let cfg = ScheduleConfig::default();
        let d = |r| next_fetch_after_retry_later(NOW, &cfg, r) - NOW;
        assert_eq!(d(Some(2 * H)), 2 * H, "as told, exactly (no jitter)");
        assert_eq!(d(None), 60 * MINUTE, "no Retry-After: the default interval");
        assert_eq!(d(Some(0)), 1_000, "at least a second");
        assert_eq!(d(Some(i64::MAX)), 24 * H, "at most the backoff cap");
        assert_eq!(
            d(parse_retry_after("120", NOW)),
            120_000,
            "delta-seconds header"
        );
    }

    #[test]
    fn config_from_vars() {
        let c = ScheduleConfig::from_lookup(|k| match k {
            "MIN_FETCH_INTERVAL_SECONDS" => Some("60".into()),
            "DEFAULT_FETCH_INTERVAL_SECONDS" => Some("10".into()),
            "MAX_FETCH_INTERVAL_SECONDS" => Some("junk".into()),
            _ => None,
        });
        assert_eq!(c.min_interval_ms, 60_000);
        assert_eq!(
            c.default_interval_ms, 60_000,
            "default clamped up to the minimum"
        );
        assert_eq!(c.max_interval_ms, 24 * H, "unreadable: the default");
        assert_eq!(
            ScheduleConfig::from_lookup(|_| None),
            ScheduleConfig::default()
        );
    }

    #[test]
    fn header_parsing() {
        assert_eq!(parse_retry_after("120", NOW), Some(120_000));
        assert_eq!(parse_retry_after(" 0 ", NOW), Some(0));
        assert_eq!(
            parse_retry_after("Mon, 03 Jun 2024 11:00:00 GMT", NOW),
            Some(H)
        );
        assert_eq!(
            parse_retry_after("Monday, 03-Jun-24 11:00:00 GMT", NOW),
            Some(H)
        );
        assert_eq!(parse_retry_after("Mon Jun  3 11:00:00 2024", NOW), Some(H));
        assert_eq!(
            parse_retry_after("Mon, 03 Jun 2024 09:00:00 GMT", NOW),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", NOW), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", NOW).map(|v| v > 0),
            Some(true)
        );
        assert_eq!(parse_cache_max_age("public, max-age=600"), Some(600));
        assert_eq!(parse_cache_max_age("s-maxage=5, MAX-AGE=\"60\""), Some(60));
        assert_eq!(parse_cache_max_age("no-cache"), None);
        assert_eq!(parse_cache_max_age("max-age=-1"), None);
    }
}
