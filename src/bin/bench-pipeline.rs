//! Times the feed pipeline over a folder of feeds: first fetch, unchanged refresh, and clean-everything.

use std::collections::HashMap;
use std::time::Instant;

use orrery::core::feed;
use orrery::core::fetch_policy::FetchOutcome;
use orrery::core::ingest::{self, FeedState, Seen};
use orrery::core::schedule::ScheduleConfig;

const NOW_MS: i64 = 4_102_444_800_000;
const FEED_URL: &str = "https://feeds.example.com/feed";

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The production plan (`core::ingest::plan`) for one fetched body.
fn production_plan(bytes: &[u8], seen: &HashMap<String, Seen>) -> ingest::Plan {
    let fetched = FetchOutcome::Fetched {
        body: bytes.to_vec(),
        final_url: FEED_URL.into(),
        etag: None,
        last_modified: None,
        cache_max_age_s: None,
    };
    let st = FeedState::new(1, FEED_URL);
    ingest::plan(&st, fetched, None, seen, NOW_MS, &ScheduleConfig::default())
}

/// One first fetch, as the FeedObject plans it. Returns entries stored.
fn first_fetch(bytes: &[u8]) -> usize {
    production_plan(bytes, &HashMap::new()).entries.len()
}

/// The seen table after a first fetch: stored entries and archived identities.
fn seen_after_first_fetch(bytes: &[u8]) -> HashMap<String, Seen> {
    let p = production_plan(bytes, &HashMap::new());
    let stored = p
        .entries
        .iter()
        .map(|w| (&w.entry.identity, &w.fingerprint, true));
    let archived = p
        .archived
        .iter()
        .map(|a| (&a.identity, &a.fingerprint, false));
    stored
        .chain(archived)
        .map(|(id, fp, stored)| {
            let seen = Seen {
                fingerprint: fp.clone(),
                stored,
                pending: false,
            };
            (id.clone(), seen)
        })
        .collect()
}

/// A refresh of an unchanged feed, as the FeedObject plans it: entries it would re-clean.
fn refresh(bytes: &[u8], seen: &HashMap<String, Seen>) -> usize {
    production_plan(bytes, seen).entries.len()
}

/// The naive pipeline for comparison: clean every entry.
fn clean_all(bytes: &[u8]) -> usize {
    match feed::parse(bytes, FEED_URL) {
        Ok(doc) => doc
            .entries
            .iter()
            .map(|e| e.clean(NOW_MS))
            .collect::<Vec<_>>()
            .len(),
        Err(_) => 0,
    }
}

fn time_each(
    files: &[(String, Vec<u8>)],
    rounds: usize,
    mut f: impl FnMut(usize, &[u8]) -> usize,
) -> (Vec<f64>, f64) {
    // Best of `rounds` per feed: scheduling noise only ever adds time.
    let mut per = vec![f64::MAX; files.len()];
    let mut total_best = f64::MAX;
    for _ in 0..rounds {
        let mut total = 0.0;
        for (i, (_, b)) in files.iter().enumerate() {
            let t = Instant::now();
            std::hint::black_box(f(i, b));
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            per[i] = per[i].min(ms);
            total += ms;
        }
        total_best = total_best.min(total);
    }
    (per, total_best)
}

fn summary(name: &str, per: &[f64], total: f64) -> String {
    let mut s = per.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    format!(
        "\"{name}\":{{\"total_ms\":{total:.3},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
        pct(&s, 0.5),
        pct(&s, 0.9),
        pct(&s, 0.99),
        s.last().copied().unwrap_or(0.0)
    )
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus/real-feeds".into());
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("bench-pipeline: {dir} is absent; nothing to measure");
        std::process::exit(3);
    };
    let mut files: Vec<(String, Vec<u8>)> = rd
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            Some((
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).ok()?,
            ))
        })
        .collect();
    files.sort();

    let with_entries = files
        .iter()
        .filter(|(_, b)| feed::parse(b, "").is_ok_and(|d| !d.entries.is_empty()))
        .count();
    let stored_entries: usize = files.iter().map(|(_, b)| first_fetch(b)).sum();

    let (first, first_total) = time_each(&files, rounds, |_, b| first_fetch(b));
    let stored: Vec<HashMap<String, Seen>> = files
        .iter()
        .map(|(_, b)| seen_after_first_fetch(b))
        .collect();
    let mut changed = 0;
    let (unchanged, unchanged_total) = time_each(&files, rounds, |i, b| {
        let n = refresh(b, &stored[i]);
        changed += n;
        n
    });
    let (all, all_total) = time_each(&files, 1, |_, b| clean_all(b));
    let worst = first
        .iter()
        .zip(&files)
        .max_by(|a, b| a.0.total_cmp(b.0))
        .map(|(ms, (n, b))| format!("{{\"file\":\"{n}\",\"ms\":{ms:.3},\"bytes\":{}}}", b.len()))
        .unwrap_or_else(|| "null".into());
    println!(
        "{{\"feeds\":{},\"rounds\":{rounds},\"with_entries\":{with_entries},\"stored_entries\":{stored_entries},\"unchanged_recleaned\":{changed},{},{},{},\"worst_first_fetch\":{worst}}}",
        files.len(),
        summary("first_fetch", &first, first_total),
        summary("unchanged", &unchanged, unchanged_total),
        summary("clean_all", &all, all_total),
    );
}
