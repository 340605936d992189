//! Times the feed pipeline over a folder of feeds: first fetch, unchanged refresh, and clean-everything.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use orrery::core::feed::{self, FIRST_FETCH_MAX_ENTRIES};

const NOW_MS: i64 = 4_102_444_800_000;

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One first fetch: parse, identities, clean the newest entries. Returns entries stored.
fn first_fetch(bytes: &[u8]) -> usize {
    match feed::parse(bytes, "https://feeds.example.com/feed") {
        Ok(doc) => {
            feed::clean_batch(&feed::newest(&doc.entries, FIRST_FETCH_MAX_ENTRIES), NOW_MS).len()
        }
        Err(_) => 0,
    }
}

/// A refresh of an unchanged feed: parse and compare fingerprints (the first
/// of duplicate identities wins, as at the edge); clean only what differs.
fn refresh(bytes: &[u8], stored: &HashMap<String, String>) -> usize {
    let Ok(doc) = feed::parse(bytes, "https://feeds.example.com/feed") else {
        return 0;
    };
    let mut seen = HashSet::new();
    let changed: Vec<_> = doc
        .entries
        .iter()
        .filter(|e| seen.insert(e.identity.as_str()))
        .filter(|e| stored.get(&e.identity) != Some(&e.fingerprint))
        .map(|e| e.clean(NOW_MS))
        .collect();
    changed.len()
}

/// The naive pipeline for comparison: clean every entry.
fn clean_all(bytes: &[u8]) -> usize {
    match feed::parse(bytes, "https://feeds.example.com/feed") {
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
    let stored: Vec<HashMap<String, String>> = files
        .iter()
        .map(|(_, b)| {
            feed::parse(b, "https://feeds.example.com/feed")
                .map(|d| {
                    // First occurrence wins, as at the edge.
                    let mut m = HashMap::new();
                    for e in d.entries {
                        m.entry(e.identity).or_insert(e.fingerprint);
                    }
                    m
                })
                .unwrap_or_default()
        })
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
