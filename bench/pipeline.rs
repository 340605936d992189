//! Times the FeedObject's invocations per feed (first fetch and its follow-ups, refresh with changes, unchanged refreshes) and the socket frames; one source for native and wasm32-wasip1.
//!
//! `bench-pipeline [DIR] [ROUNDS]` prints one JSON object on stdout (bench/run.sh builds
//! bench/RESULTS.md from it). Files are read one at a time, in every round: a whole
//! corpus in one wasm instance makes V8 fail to grow its memory.

use std::cell::Cell;
use std::collections::HashMap;
use std::time::Instant;

use orrery::core::config::Config;
use orrery::core::feed;
use orrery::core::fetch::FetchOutcome;
use orrery::core::ingest::schedule::ScheduleConfig;
use orrery::core::ingest::{
    self, FeedState, PendingEntry, Plan, Seen, SeenSet, Settled, StoredEntry, PENDING_PEEK,
};
use orrery::core::protocol::{ServerMsg, SocketState};
use orrery::core::view_models::EntryView;
use orrery::core::views::{self, entry_article, HomePage};

const NOW_MS: i64 = 4_102_444_800_000;
const FEED_URL: &str = "https://feeds.example.com/feed";
/// A refresh with changes: this many of the newest stored entries are new again.
const CHANGED: usize = 5;
/// The frame measurements, as the issue names them.
const HOME_ENTRIES: usize = 50;
const SOCKETS: usize = 1_000;
const RESUME_ENTRIES: usize = 500;
/// Timed repetitions of each frame measurement (after `FRAME_WARMUP` untimed ones).
const FRAME_REPS: usize = 25;
const FRAME_WARMUP: usize = 3;

// The FeedObject's calls into `core::ingest`: every plan in this benchmark goes through
// these two, so a change to how the edge calls them lands in one place.

/// A fetch invocation's plan (`core::ingest::plan`) for one fetched body.
fn production_plan(st: &FeedState, bytes: &[u8], seen: &impl SeenSet) -> Plan {
    let fetched = FetchOutcome::Fetched {
        body: bytes.to_vec(),
        final_url: FEED_URL.into(),
        etag: None,
        last_modified: None,
        cache_max_age_s: None,
    };
    ingest::plan(
        st,
        fetched,
        None,
        seen,
        NOW_MS,
        &ScheduleConfig::default(),
        orrery::core::domain::Keep::default(),
    )
}

/// A follow-up invocation's plan (`core::ingest::follow_up`) over the entries it loaded.
fn production_follow_up(st: &FeedState, loaded: Vec<PendingEntry>, more_waiting: bool) -> Plan {
    ingest::follow_up(st, loaded, more_waiting, NOW_MS)
}

/// A carried-over entry as the FeedObject's `pending` table holds it.
struct PendingRow {
    identity: String,
    published: Option<i64>,
    /// Raw body length, kept beside the row so a follow-up reads only what it will clean.
    len: usize,
    json: String,
}

/// The Rust work the edge does around a plan in the same invocation: carried entries to
/// JSON (`feed_storage::carry`), each written entry's search text
/// (`store::search_index_stmts`), `settle` on D1's rows (numbered from `next_id`; new
/// ones first seen now), and the frames of what it publishes (`hub::entry_frames`).
fn apply(p: &mut Plan, next_id: &mut i64) -> (Vec<PendingRow>, Settled) {
    for w in &p.entries {
        let e = &w.entry;
        std::hint::black_box(orrery::core::search::index_doc(
            &e.title,
            e.author.as_deref(),
            &e.content_html,
            &e.summary,
        ));
    }
    let rows = p
        .carried
        .iter()
        .map(|e| PendingRow {
            identity: e.raw.identity.clone(),
            published: e.raw.published_at,
            len: e.raw.content_len(),
            json: serde_json::to_string(e).unwrap_or_default(),
        })
        .collect();
    let stored: Vec<Option<StoredEntry>> = p
        .entries
        .iter()
        .map(|w| {
            *next_id += 1;
            Some(StoredEntry {
                id: *next_id,
                first_seen: if w.known { NOW_MS - 1 } else { NOW_MS },
                rev: w.known.then_some(*next_id),
            })
        })
        .collect();
    let settled = p.settle(&stored);
    for e in &settled.new_entries {
        std::hint::black_box(entry_frame(e));
    }
    for e in &settled.updated {
        std::hint::black_box(update_frame(e));
    }
    (rows, settled)
}

/// One invocation's time: the plan alone, and the whole Rust side of the invocation.
#[derive(Debug, Clone, Copy)]
struct Times {
    plan: f64,
    invocation: f64,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// A seen set that counts lookups (in the Worker each is one DO SQLite query). Untimed runs only.
struct Counting<'a>(&'a HashMap<String, Seen>, Cell<usize>);

impl SeenSet for Counting<'_> {
    fn seen(&self, identity: &str) -> Option<Seen> {
        self.1.set(self.1.get() + 1);
        self.0.seen(identity)
    }
}

/// One fetch invocation, timed; the seen table learns what it stored and archived.
fn fetch_invocation(
    st: &FeedState,
    bytes: &[u8],
    seen: &mut HashMap<String, Seen>,
    next_id: &mut i64,
) -> (Times, Plan, Vec<PendingRow>, Settled) {
    let t = Instant::now();
    let mut p = production_plan(st, bytes, &*seen);
    let plan = ms_since(t);
    let (rows, settled) = apply(&mut p, next_id);
    let invocation = ms_since(t);
    remember(seen, &p, &settled);
    (Times { plan, invocation }, p, rows, settled)
}

fn remember(seen: &mut HashMap<String, Seen>, p: &Plan, settled: &Settled) {
    for m in p.archived.iter().chain(&settled.seen) {
        let s = Seen {
            fingerprint: m.fingerprint.clone(),
            stored: m.entry_id.is_some(),
            pending: false,
        };
        seen.insert(m.identity.clone(), s);
    }
}

/// Follow-up invocations until nothing waits: each loads the newest waiting rows that fit
/// its budget (as `feed_storage::pending` does, by their lengths; decoded from JSON, in
/// the timing) and plans them.
/// Returns each invocation's time and the state after the last; `stored` learns whether
/// each stored identity is whole.
fn drain(
    mut st: FeedState,
    mut pending: Vec<PendingRow>,
    seen: &mut HashMap<String, Seen>,
    next_id: &mut i64,
    stored: &mut HashMap<String, bool>,
    published: &mut Vec<EntryView>,
) -> (Vec<Times>, FeedState) {
    let mut times = Vec::new();
    while !pending.is_empty() {
        // SQLite's `ORDER BY published DESC`: NULLs last.
        pending.sort_by_key(|r| std::cmp::Reverse(r.published));
        let lens: Vec<usize> = pending.iter().take(PENDING_PEEK).map(|r| r.len).collect();
        let take = ingest::follow_up_take(&lens);
        let more = pending.len() > take;
        let batch = &pending[..take];
        let t = Instant::now();
        let loaded: Vec<PendingEntry> = batch
            .iter()
            .filter_map(|r| serde_json::from_str(&r.json).ok())
            .collect();
        let t_plan = Instant::now();
        let mut p = production_follow_up(&st, loaded, more);
        let plan = ms_since(t_plan);
        let (_, settled) = apply(&mut p, next_id);
        let invocation = ms_since(t);
        times.push(Times { plan, invocation });
        remember(seen, &p, &settled);
        note_stored(stored, &p);
        published.extend(settled.new_entries);
        if p.finished.is_empty() {
            break; // no progress (never expected: the first entry always goes)
        }
        pending.retain(|r| !p.finished.contains(&r.identity));
        st = p.state;
    }
    (times, st)
}

/// Records what a plan stores: identity → whole (a later whole version completes a brief).
fn note_stored(stored: &mut HashMap<String, bool>, p: &Plan) {
    for w in &p.entries {
        let whole = stored.entry(w.entry.identity.clone()).or_insert(false);
        *whole |= w.entry.whole;
    }
}

/// What one feed's life in the benchmark measured.
struct Life {
    first: Times,
    follow_ups: Vec<Times>,
    changed: Times,
    unchanged: Times,
    identical: Times,
    stored: usize,
    /// Entries stored whole by the first fetch itself (the rest as briefs).
    whole_first: usize,
    /// Entries whole once the first fetch's follow-ups are done (all of them, or a bug).
    whole_after: usize,
    /// Follow-up invocations the first fetch needed.
    first_follow_ups: usize,
    carried: usize,
    changed_new: usize,
    unchanged_new: usize,
    /// Seen-set lookups of an unchanged refresh.
    lookups: usize,
    /// The newest entries it published (at most 3), for the frame measurements.
    published: Vec<EntryView>,
}

/// A feed's life as the FeedObject lives it: a first fetch and its follow-ups until
/// nothing waits; then, on a new document, a refresh where the `CHANGED` newest stored
/// entries are new again (and its follow-ups); an unchanged refresh of a new document
/// (parse and compare); and a refresh that fetches the very same body again.
fn life(bytes: &[u8], counted: bool) -> Life {
    let mut next_id = 0;
    let mut seen = HashMap::new();
    let (first, p, pending, settled) =
        fetch_invocation(&FeedState::new(1, FEED_URL), bytes, &mut seen, &mut next_id);
    let feed_title = p.feed_title.clone();
    let carried = p.carried.len();
    let mut stored = HashMap::new();
    note_stored(&mut stored, &p);
    let whole_first = p.entries.iter().filter(|w| w.entry.whole).count();
    let mut published = settled.new_entries;
    let (mut follow_ups, after) = drain(
        p.state,
        pending,
        &mut seen,
        &mut next_id,
        &mut stored,
        &mut published,
    );
    let stored_count = stored.len();
    let whole_after = stored.values().filter(|w| **w).count();
    let first_follow_ups = follow_ups.len();
    // A new document (its digest differs from the last one's), same entries.
    let mut new_doc = after.clone();
    new_doc.body_digest = None;

    let mut forgot = seen.clone();
    for id in feed::parse(bytes, FEED_URL)
        .map(|d| {
            feed::newest(&d.entries, usize::MAX)
                .into_iter()
                .map(|e| e.identity.clone())
                .filter(|id| stored.contains_key(id))
                .take(CHANGED)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    {
        forgot.remove(&id);
    }
    let (changed, p, pending, _) = fetch_invocation(&new_doc, bytes, &mut forgot, &mut next_id);
    let changed_new = p.entries.len();
    let (more, _) = drain(
        p.state,
        pending,
        &mut forgot,
        &mut next_id,
        &mut HashMap::new(),
        &mut Vec::new(),
    );
    follow_ups.extend(more);

    let mut full = seen.clone();
    let (unchanged, p, _, _) = fetch_invocation(&new_doc, bytes, &mut full, &mut next_id);
    let unchanged_new = p.entries.len();
    let (identical, _, _, _) = fetch_invocation(&after, bytes, &mut full, &mut next_id);

    let lookups = if counted {
        let counting = Counting(&seen, Cell::new(0));
        production_plan(&new_doc, bytes, &counting);
        counting.1.get()
    } else {
        0
    };
    published.sort_by_key(|e| std::cmp::Reverse(e.published));
    published.truncate(3);
    for e in &mut published {
        e.feed_title = feed_title.clone();
    }
    Life {
        first,
        follow_ups,
        changed,
        unchanged,
        identical,
        stored: stored_count,
        whole_first,
        whole_after,
        first_follow_ups,
        carried,
        changed_new,
        unchanged_new,
        lookups,
        published,
    }
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

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One kind of invocation over the corpus: per feed, the best time of each of its
/// invocations of this kind (one, or a follow-up's several) over the rounds, and the
/// first round's (cold code) on its own.
struct Kind {
    best: Vec<Vec<Times>>,
    first_round: Vec<Vec<Times>>,
    total_round: f64,
    total_best: f64,
}

impl Kind {
    fn new(n: usize) -> Self {
        Kind {
            best: vec![Vec::new(); n],
            first_round: vec![Vec::new(); n],
            total_round: 0.0,
            total_best: f64::MAX,
        }
    }

    fn record(&mut self, round: usize, i: usize, times: &[Times]) {
        if round == 0 {
            self.best[i] = times.to_vec();
            self.first_round[i] = times.to_vec();
        } else {
            for (b, t) in self.best[i].iter_mut().zip(times) {
                b.plan = b.plan.min(t.plan);
                b.invocation = b.invocation.min(t.invocation);
            }
        }
        self.total_round += times.iter().map(|t| t.plan).sum::<f64>();
    }

    fn end_round(&mut self) {
        self.total_best = self.total_best.min(self.total_round);
        self.total_round = 0.0;
    }
}

fn stats(per: impl Iterator<Item = f64>) -> String {
    let mut s: Vec<f64> = per.collect();
    s.sort_by(|a, b| a.total_cmp(b));
    format!(
        "\"p50_ms\":{:.4},\"p90_ms\":{:.4},\"p99_ms\":{:.4},\"max_ms\":{:.4}",
        pct(&s, 0.5),
        pct(&s, 0.9),
        pct(&s, 0.99),
        s.last().copied().unwrap_or(0.0)
    )
}

fn list<T: std::fmt::Display>(v: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = v.into_iter().map(|x| x.to_string()).collect();
    format!("[{}]", items.join(","))
}

fn ms_list(v: &[f64]) -> String {
    list(v.iter().map(|x| format!("{x:.4}")))
}

fn nested(v: &[Vec<Times>], f: fn(&Times) -> f64) -> String {
    list(
        v.iter()
            .map(|ts| ms_list(&ts.iter().map(f).collect::<Vec<_>>())),
    )
}

/// `"name":{invocations, total, the plan's percentiles, the whole invocation's, the first
/// round's (and the feed of its max), per-feed lists of each invocation's times}`.
fn summary(name: &str, k: &Kind) -> String {
    let plan = |t: &Times| t.plan;
    let inv = |t: &Times| t.invocation;
    let flat = |v: &[Vec<Times>], f: fn(&Times) -> f64| {
        v.iter()
            .flat_map(|ts| ts.iter().map(f).collect::<Vec<_>>())
            .collect::<Vec<f64>>()
    };
    let max_at = (0..k.first_round.len())
        .max_by(|a, b| {
            let m = |i: &usize| k.first_round[*i].iter().map(plan).fold(0.0, f64::max);
            m(a).total_cmp(&m(b))
        })
        .unwrap_or(0);
    format!(
        "\"{name}\":{{\"invocations\":{},\"total_ms\":{:.3},{},\"invocation\":{{{}}},\
         \"first_round\":{{{},\"max_at\":{max_at}}},\"per_feed_ms\":{},\"per_feed_invocation_ms\":{}}}",
        k.best.iter().map(Vec::len).sum::<usize>(),
        k.total_best,
        stats(flat(&k.best, plan).into_iter()),
        stats(flat(&k.best, inv).into_iter()),
        stats(flat(&k.first_round, plan).into_iter()),
        nested(&k.best, plan),
        nested(&k.best, inv),
    )
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".into())
}

/// Runs `f` once cold, `FRAME_WARMUP` times untimed, then `FRAME_REPS` timed times.
fn sample(mut f: impl FnMut() -> usize) -> (f64, Vec<f64>, usize) {
    let t = Instant::now();
    let out = std::hint::black_box(f());
    let first = ms_since(t);
    for _ in 0..FRAME_WARMUP {
        std::hint::black_box(f());
    }
    let reps = (0..FRAME_REPS)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            ms_since(t)
        })
        .collect();
    (first, reps, out)
}

/// One frame as `hub::entry_frames` renders it: the article partial inside an `entry` message.
fn entry_frame(e: &EntryView) -> String {
    let html = entry_article(Default::default(), e).into_string();
    ServerMsg::Entry {
        entry: e.clone(),
        html,
    }
    .to_json()
}

/// An `update` frame as `hub::update_frames` renders it.
fn update_frame(e: &EntryView) -> String {
    let html = entry_article(Default::default(), e).into_string();
    ServerMsg::Update {
        entry: e.clone(),
        html,
    }
    .to_json()
}

/// Socket attachments as the Room keeps them: most follow everything, some a few feeds.
fn attachments(n: usize, feeds: i64) -> Vec<String> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| {
            let followed = (next() % 4 == 0).then(|| {
                let k = 1 + next() % 20;
                (0..k).map(|_| 1 + (next() % feeds as u64) as i64).collect()
            });
            let mut st = SocketState::new(followed);
            st.last_sent = (next() % 1_000) as i64;
            st.window_start = NOW_MS - (next() % 60_000) as i64;
            st.window_frames = (next() % 3) as u32;
            serde_json::to_string(&st).unwrap_or_default()
        })
        .collect()
}

/// The render, broadcast and resume measurements over entries the pipeline cleaned.
fn frames(pool: &[Vec<EntryView>]) -> String {
    // Round robin over the feeds, each feed's newest first: the river of a planet whose
    // feeds each published lately (a feed's newest entry is always cleaned in full).
    let mut river: Vec<EntryView> = Vec::new();
    let depth = pool.iter().map(Vec::len).max().unwrap_or(0);
    for rank in 0..depth {
        river.extend(pool.iter().filter_map(|f| f.get(rank)).cloned());
    }
    river.truncate(RESUME_ENTRIES);
    // Ids: newest first on the page, as D1 would number them.
    let n = river.len() as i64;
    for (i, e) in river.iter_mut().enumerate() {
        e.id = 10_000 + n - i as i64;
    }
    let cfg = Config::default();
    let home = &river[..river.len().min(HOME_ENTRIES)];
    let page = HomePage {
        entries: home,
        older: home.last().map(|e| e.id),
        paged: false,
        revision: 0,
        fair: None,
    };
    let (home_first, home_reps, home_bytes) =
        sample(|| views::home_page(&cfg, &page).into_string().len());

    // One broadcast: the median-sized frame of the river, rendered once, then every
    // socket's attachment read and its filter checked (the JS `send` is not here).
    let mut by_size: Vec<(usize, &EntryView)> =
        river.iter().map(|e| (entry_frame(e).len(), e)).collect();
    by_size.sort_by_key(|(len, e)| (*len, e.id));
    let newest = by_size.get(by_size.len() / 2).map(|(_, e)| (*e).clone());
    let sockets = attachments(SOCKETS, pool.len().max(1) as i64);
    let (bc_first, bc_reps, bc_sent) = sample(|| {
        let Some(e) = &newest else { return 0 };
        let frame = entry_frame(e);
        let mut sent = 0;
        for a in &sockets {
            let Ok(st) = serde_json::from_str::<SocketState>(a) else {
                continue;
            };
            if e.id > st.last_sent && st.wants(e.feed_id) {
                sent += 1;
            }
        }
        std::hint::black_box(frame);
        sent
    });
    let frame_bytes = newest.as_ref().map_or(0, |e| entry_frame(e).len());

    // A resume: every frame rendered, oldest first (the sends are not here either).
    let oldest_first: Vec<&EntryView> = river.iter().rev().collect();
    let (rs_first, rs_reps, rs_bytes) = sample(|| {
        oldest_first
            .iter()
            .map(|e| std::hint::black_box(entry_frame(e)).len())
            .sum()
    });
    let feeds_on_page = {
        let mut ids: Vec<i64> = home.iter().map(|e| e.feed_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let full_on_page = home.iter().filter(|e| !e.content_html.is_empty()).count();
    format!(
        "{{\"home\":{{\"entries\":{},\"feeds\":{feeds_on_page},\"with_content\":{full_on_page},\"bytes\":{home_bytes},\"first_ms\":{home_first:.4},\"reps_ms\":{}}},\
         \"broadcast\":{{\"sockets\":{},\"would_send\":{bc_sent},\"frame_bytes\":{frame_bytes},\"first_ms\":{bc_first:.4},\"reps_ms\":{}}},\
         \"resume\":{{\"entries\":{},\"bytes\":{rs_bytes},\"first_ms\":{rs_first:.4},\"reps_ms\":{}}}}}",
        home.len(),
        ms_list(&home_reps),
        sockets.len(),
        ms_list(&bc_reps),
        oldest_first.len(),
        ms_list(&rs_reps),
    )
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus/real-feeds".into());
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(1);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("bench-pipeline: {dir} is absent; nothing to measure");
        std::process::exit(3);
    };
    let mut files: Vec<std::path::PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let n = files.len();

    let mut sizes = vec![0usize; n];
    let mut lookups = vec![0usize; n];
    let (mut with_entries, mut stored, mut carried) = (0, 0, 0);
    let (mut whole_first, mut whole_after, mut most_follow_ups) = (0, 0, 0);
    let (mut changed_new, mut unchanged_new) = (0, 0);
    let mut pool: Vec<Vec<EntryView>> = Vec::new();
    let mut first = Kind::new(n);
    let mut follow = Kind::new(n);
    let mut changed = Kind::new(n);
    let mut unchanged = Kind::new(n);
    let mut identical = Kind::new(n);
    for round in 0..rounds {
        for (i, path) in files.iter().enumerate() {
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            let l = life(&bytes, round == 0);
            first.record(round, i, &[l.first]);
            follow.record(round, i, &l.follow_ups);
            changed.record(round, i, &[l.changed]);
            unchanged.record(round, i, &[l.unchanged]);
            identical.record(round, i, &[l.identical]);
            if round == 0 {
                sizes[i] = bytes.len();
                lookups[i] = l.lookups;
                with_entries +=
                    usize::from(feed::parse(&bytes, "").is_ok_and(|d| !d.entries.is_empty()));
                stored += l.stored;
                carried += l.carried;
                whole_first += l.whole_first;
                whole_after += l.whole_after;
                most_follow_ups = most_follow_ups.max(l.first_follow_ups);
                if l.whole_after != l.stored {
                    eprintln!(
                        "{}: {} of {} stored entries are not whole after the follow-ups",
                        names[i],
                        l.stored - l.whole_after,
                        l.stored
                    );
                    std::process::exit(1);
                }
                changed_new += l.changed_new;
                unchanged_new += l.unchanged_new;
                let mut published = l.published;
                for e in &mut published {
                    e.feed_id = i as i64 + 1;
                }
                if !published.is_empty() {
                    pool.push(published);
                }
            }
        }
        for k in [
            &mut first,
            &mut follow,
            &mut changed,
            &mut unchanged,
            &mut identical,
        ] {
            k.end_round();
        }
    }

    let mut all = Kind::new(n);
    for (i, path) in files.iter().enumerate() {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let t = Instant::now();
        std::hint::black_box(clean_all(&bytes));
        let ms = ms_since(t);
        all.record(
            0,
            i,
            &[Times {
                plan: ms,
                invocation: ms,
            }],
        );
    }
    all.end_round();

    let frames = frames(&pool);
    let worst = (0..n)
        .max_by(|a, b| first.best[*a][0].plan.total_cmp(&first.best[*b][0].plan))
        .map(|i| {
            format!(
                "{{\"file\":{},\"ms\":{:.3},\"bytes\":{}}}",
                json_str(&names[i]),
                first.best[i][0].plan,
                sizes[i]
            )
        })
        .unwrap_or_else(|| "null".into());
    let target = if cfg!(target_arch = "wasm32") {
        "wasm32"
    } else {
        "native"
    };
    println!(
        "{{\"target\":\"{target}\",\"feeds\":{n},\"rounds\":{rounds},\"with_entries\":{with_entries},\
         \"stored_entries\":{stored},\"carried_entries\":{carried},\"pending_peek\":{PENDING_PEEK},\
         \"whole_after_first_fetch\":{whole_first},\"whole_after_follow_ups\":{whole_after},\
         \"most_follow_ups_of_a_first_fetch\":{most_follow_ups},\
         \"changed\":{CHANGED},\"changed_recleaned\":{changed_new},\"unchanged_recleaned\":{unchanged_new},\
         \"files\":{},\"bytes\":{},\"seen_lookups\":{},{},{},{},{},{},{},\"worst_first_fetch\":{worst},\"frames\":{frames}}}",
        list(names.iter().map(|s| json_str(s))),
        list(sizes.iter()),
        list(lookups.iter()),
        summary("first_fetch", &first),
        summary("follow_up", &follow),
        summary("refresh_changed", &changed),
        summary("unchanged", &unchanged),
        summary("unchanged_identical", &identical),
        summary("clean_all", &all),
    );
}
