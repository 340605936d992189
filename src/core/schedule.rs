//! When to fetch a feed next: pure arithmetic over config, hints and a seed.

pub const FAILING_AFTER: u32 = 3;
pub const PAUSED_AFTER: u32 = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleConfig {
    pub min_interval_ms: i64,
    pub default_interval_ms: i64,
    pub max_interval_ms: i64,
    pub max_backoff_ms: i64,
    pub jitter_ratio: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        const MIN: i64 = 60_000;
        ScheduleConfig {
            min_interval_ms: 5 * MIN,
            default_interval_ms: 30 * MIN,
            max_interval_ms: 24 * 60 * MIN,
            max_backoff_ms: 24 * 60 * MIN,
            jitter_ratio: 0.1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchHints {
    pub ttl_minutes: Option<u32>,
    pub cache_max_age_s: Option<i64>,
    pub retry_after_ms: Option<i64>,
    pub recent_entry_times: Vec<i64>,
}

pub fn next_fetch_after_success(
    now_ms: i64,
    cfg: &ScheduleConfig,
    _hints: &FetchHints,
    _jitter_seed: u64,
) -> i64 {
    now_ms + cfg.default_interval_ms
}

pub fn next_fetch_after_failure(
    now_ms: i64,
    cfg: &ScheduleConfig,
    consecutive_failures: u32,
    retry_after_ms: Option<i64>,
    _jitter_seed: u64,
) -> i64 {
    let shift = consecutive_failures.min(20);
    let backoff = cfg
        .min_interval_ms
        .saturating_mul(1i64 << shift)
        .min(cfg.max_backoff_ms);
    now_ms + backoff.max(retry_after_ms.unwrap_or(0))
}

pub fn parse_retry_after(value: &str, _now_ms: i64) -> Option<i64> {
    value.trim().parse::<i64>().ok().map(|s| s.max(0) * 1000)
}

pub fn parse_cache_max_age(cache_control: &str) -> Option<i64> {
    cache_control.split(',').find_map(|d| {
        d.trim()
            .strip_prefix("max-age=")?
            .trim_matches('"')
            .parse()
            .ok()
    })
}
