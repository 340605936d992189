//! CPU per invocation kind (issue 20): the Rust work of each kind of Worker invocation,
//! with the calls into JS stubbed and counted; one source for native and wasm32-wasip1.
//!
//! `bench-invocations [DIR] [ITERATIONS]` prints one JSON object on stdout
//! (bench/invocations.sh turns it into a section of bench/RESULTS.md). Each kind replays
//! the sequence its edge handler runs (`src/edge/http/pages.rs`, `src/edge/objects/room/`,
//! `src/edge/objects/sockets.rs`, `src/edge/jobs/cron.rs`), calling the same `orrery::core`
//! functions on inputs made from the real-feed corpus: entries are parsed and cleaned once,
//! before any timing. What the handler reads from D1 is handed over as the JSON of its
//! rows and deserialized inside the timing (in the Worker, serde-wasm-bindgen reads the
//! same rows from JS objects: the Rust side of that is timed here through serde_json, and
//! its JS calls are counted by the model in [`swb_calls`]).

// The one `unsafe`: reading this thread's CPU clock (below), which std does not offer.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use orrery::core::config::Config;
use orrery::core::domain::{FeedFilter, FeedStatus};
use orrery::core::feed;
use orrery::core::ingest::FeedSettings;
use orrery::core::membership::{self, Current, Named, SyncReport, CAPS};
use orrery::core::protocol::{ServerMsg, SocketState};
use orrery::core::routes::{etag, FEEDS_PAGE, SYNDICATED_ENTRIES, TITLES_ENTRIES};
use orrery::core::search::live_query::{LiveDoc, LiveQuery};
use orrery::core::search::{self, Matcher};
use orrery::core::syndication::{self, topics};
use orrery::core::view_models::{EntryView, FeedView};
use orrery::core::views::{self, entry_article, HomePage, SearchHit, SearchPage};

const NOW_MS: i64 = 4_102_444_800_000;
/// Entries kept per corpus feed (its newest), cleaned whole.
const PER_FEED: usize = 3;
/// The planet's size: members in the sidebar, the OPML, the cron's membership file.
const MEMBERS: usize = 1_000;
const SOCKETS: usize = 1_000;
/// A full backlog: the entries one refresh may publish.
const BACKLOG: usize = 50;
/// The most one Room page reads and broadcasts (`room::PAGE_ENTRIES`); an invocation may
/// go on to more pages, up to `ROOM_QUERIES_PER_INVOCATION` D1 queries.
const ROOM_PAGE: usize = 200;
const RESUME: usize = 500;
/// The entries a resume reads per D1 query (`sockets::resume`).
const RESUME_PAGE: usize = 100;
/// Feeds the cron's watchdog adopts per run (`lifecycle::WATCHDOG_PER_RUN`).
const WATCHDOG: usize = 40;
const WARMUP: usize = 5;
/// The Free plan's CPU per invocation.
const LIMIT_MS: f64 = 10.0;

/// Calls into JS, stubbed: each is counted, none does anything.
#[derive(Default)]
struct Js(Cell<u64>);

impl Js {
    fn call(&self, n: u64) {
        self.0.set(self.0.get() + n);
    }

    /// A D1 statement: `prepare`, `bind`, `all` and `results`, then serde-wasm-bindgen
    /// reading every row (`rows` is their JSON, deserialized in Rust by the caller).
    fn d1(&self, rows_json: &str) {
        self.call(4);
        let v: serde_json::Value = serde_json::from_str(rows_json).unwrap_or_default();
        self.call(swb_calls(&v));
    }

    /// An HTML or XML response: `new Response` with its body, `headers`, and each header set.
    fn response(&self, headers: u64) {
        self.call(2 + headers);
    }
}

/// JS calls serde-wasm-bindgen 0.6.5 makes reading `v` from a JS value (its `de.rs`): a
/// struct field is a `Reflect.get` and an `undefined` check; a number `typeof bigint`
/// and `as_f64`; a string one `as_string` (which copies it); an option its nullish check
/// and then the value; an array `isArray`, `length` and a `get` per element. A model of
/// the crossings, not a measurement of their cost.
fn swb_calls(v: &serde_json::Value) -> u64 {
    use serde_json::Value;
    match v {
        Value::Null => 1,
        Value::Bool(_) => 2,
        Value::Number(_) => 3,
        Value::String(_) => 2,
        Value::Array(a) => 2 + a.iter().map(|x| 1 + swb_calls(x)).sum::<u64>(),
        Value::Object(o) => 1 + o.values().map(|x| 2 + swb_calls(x)).sum::<u64>(),
    }
}

/// An entry row as `d1::entries` reads it (`ENTRY_COLS`), and its view (`From<EntryRow>`).
#[derive(Serialize, Deserialize)]
struct EntryRow {
    id: i64,
    feed_id: i64,
    feed_title: Option<String>,
    feed_face: Option<String>,
    feed_url: Option<String>,
    title: String,
    url: Option<String>,
    author: Option<String>,
    published_at: Option<i64>,
    first_seen: i64,
    summary: String,
    content_html: String,
    whole: i64,
    rev: Option<i64>,
}

impl From<EntryRow> for EntryView {
    fn from(r: EntryRow) -> Self {
        let feed_title = r
            .feed_title
            .filter(|t| !t.trim().is_empty())
            .or(r.feed_url.map(|u| orrery::core::fetch::public_url(&u)))
            .unwrap_or_default();
        EntryView {
            id: r.id,
            feed_id: r.feed_id,
            feed_title,
            feed_face: r.feed_face,
            title: r.title,
            url: r.url,
            author: r.author,
            published: r.published_at.unwrap_or(r.first_seen),
            summary: r.summary,
            content_html: r.content_html,
            whole: r.whole != 0,
            rev: r.rev,
            day_rank: None,
            local_offset_ms: 0,
            same_as: None,
            also: Vec::new(),
        }
    }
}

fn row_of(e: &EntryView, feed_url: &str) -> EntryRow {
    EntryRow {
        id: e.id,
        feed_id: e.feed_id,
        feed_title: Some(e.feed_title.clone()),
        feed_face: e.feed_face.clone(),
        feed_url: Some(feed_url.into()),
        title: e.title.clone(),
        url: e.url.clone(),
        author: e.author.clone(),
        published_at: Some(e.published),
        first_seen: e.published,
        summary: e.summary.clone(),
        content_html: e.content_html.clone(),
        whole: i64::from(e.whole),
        rev: e.rev,
    }
}

fn rows_json(entries: &[EntryView]) -> String {
    let rows: Vec<EntryRow> = entries
        .iter()
        .map(|e| row_of(e, &feed_url(e.feed_id)))
        .collect();
    serde_json::to_string(&rows).unwrap_or_default()
}

thread_local! {
    /// Time spent reading D1's rows in the current iteration (ms).
    static ROWS_MS: Cell<f64> = const { Cell::new(0.0) };
}

/// Deserializes D1 rows (their JSON here), timing it apart: in the Worker this is
/// serde-wasm-bindgen reading JS objects, whose strings JS encodes into wasm memory.
fn rows<T: serde::de::DeserializeOwned>(json: &str) -> Vec<T> {
    let t = Instant::now();
    let rows = serde_json::from_str(json).unwrap_or_default();
    ROWS_MS.with(|r| r.set(r.get() + ms_since(t)));
    rows
}

/// `d1::entry_views`: the rows deserialized, then made views.
fn entry_views(json: &str) -> Vec<EntryView> {
    rows::<EntryRow>(json)
        .into_iter()
        .map(EntryView::from)
        .collect()
}

fn feed_url(id: i64) -> String {
    format!("https://blog{id}.example.net/feed.xml")
}

/// The planet: entries (newest first, ids as D1 numbers them) and members.
struct Planet {
    river: Vec<EntryView>,
    members: Vec<FeedView>,
    feeds_read: usize,
}

/// Reads the corpus one file at a time (a whole corpus at once makes V8 fail to grow a
/// wasm memory), keeps each feed's newest entries cleaned whole and its title, and makes
/// a planet of [`MEMBERS`] members (the corpus's feeds, then more named after them).
fn planet(dir: &str) -> Planet {
    let Ok(rd) = std::fs::read_dir(dir) else {
        eprintln!("bench-invocations: {dir} is absent; nothing to measure");
        std::process::exit(3);
    };
    let mut files: Vec<std::path::PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut pool: Vec<Vec<EntryView>> = Vec::new();
    let mut docs: Vec<(String, Option<String>, Option<String>, &'static str)> = Vec::new();
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let feed_id = docs.len() as i64 + 1;
        let Ok(doc) = feed::parse(&bytes, &feed_url(feed_id)) else {
            continue;
        };
        if doc.entries.is_empty() {
            continue;
        }
        let title = doc.title.clone();
        let mut mine = Vec::new();
        for (k, raw) in feed::newest(&doc.entries, PER_FEED).into_iter().enumerate() {
            let e = raw.clean(NOW_MS);
            mine.push(EntryView {
                id: 0,
                feed_id,
                feed_title: title.clone(),
                feed_face: (feed_id % 3 == 0)
                    .then(|| format!("https://faces.example.net/{feed_id}.png")),
                title: e.title,
                url: e.url,
                author: e.author,
                published: e.published_at.unwrap_or(NOW_MS - 3_600_000 * k as i64),
                summary: e.summary,
                content_html: e.content_html,
                whole: e.whole,
                rev: None,
                day_rank: None,
                local_offset_ms: 0,
                same_as: None,
                also: Vec::new(),
            });
        }
        docs.push((
            title,
            doc.site_url.clone(),
            doc.description.clone(),
            doc.format.as_str(),
        ));
        pool.push(mine);
    }
    // Round robin over the feeds, each feed's newest first (as bench/pipeline.rs does).
    let mut river = Vec::new();
    for rank in 0..PER_FEED {
        river.extend(pool.iter().filter_map(|f| f.get(rank)).cloned());
    }
    let n = river.len() as i64;
    for (i, e) in river.iter_mut().enumerate() {
        e.id = 100_000 + n - i as i64;
    }
    let members = (0..MEMBERS)
        .map(|i| {
            let id = i as i64 + 1;
            let (title, site, description, format) =
                docs.get(i % docs.len().max(1)).cloned().unwrap_or_default();
            let title = if i < docs.len() {
                title
            } else {
                format!("{title} ({})", i / docs.len().max(1) + 1)
            };
            FeedView {
                id,
                url: feed_url(id),
                title,
                site_url: site,
                description,
                format: Some(format.into()),
                status: if i % 50 == 7 {
                    FeedStatus::Failing
                } else {
                    FeedStatus::Active
                },
                consecutive_failures: if i % 50 == 7 { 3 } else { 0 },
                last_error: (i % 50 == 7).then(|| "HTTP 503".to_string()),
                last_fetch_at: Some(NOW_MS - 600_000),
                last_success_at: Some(NOW_MS - 600_000),
                next_fetch_at: Some(NOW_MS + 1_200_000),
                last_changed_at: Some(NOW_MS - 86_400_000),
                entry_count: 40,
                display_name: (i % 4 == 0).then(|| format!("Member {id}")),
                face_url: (i % 3 == 0).then(|| format!("https://faces.example.net/{id}.png")),
                home_url: None,
                push_until: (i % 10 == 0).then_some(NOW_MS + 86_400_000),
                failing_since: None,
                recent_titles: Vec::new(),
            }
        })
        .collect();
    Planet {
        river,
        members,
        feeds_read: docs.len(),
    }
}

/// One kind's measurement.
struct Kind {
    name: &'static str,
    what: String,
    js_calls: u64,
    out_bytes: usize,
    times: Vec<f64>,
    /// Each iteration's wall time.
    wall: Vec<f64>,
    /// Of each iteration, the time spent reading D1's rows.
    rows: Vec<f64>,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// This thread's CPU time in ms: time the scheduler gave other work on a shared machine is
/// not counted (wall time is, and is reported beside it). In wasm, WASI's
/// `thread_cputime_id`, which Node's uvwasi reads with `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`
/// on the thread running the module; natively the same clock.
#[cfg(target_arch = "wasm32")]
fn cpu_ms() -> f64 {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        fn clock_time_get(id: u32, precision: u64, time: *mut u64) -> u16;
    }
    let mut ns = 0u64;
    // SAFETY: `ns` is a valid place for the one u64 the call writes.
    let err = unsafe { clock_time_get(3, 1, &mut ns) };
    assert_eq!(err, 0, "WASI thread CPU clock unavailable");
    ns as f64 / 1e6
}

#[cfg(not(target_arch = "wasm32"))]
fn cpu_ms() -> f64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill (Linux, 64-bit).
    let err = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(err, 0, "thread CPU clock unavailable");
    ts.sec as f64 * 1e3 + ts.nsec as f64 / 1e6
}

/// Runs `f` `WARMUP` times untimed (the first counts its JS calls), then `iters` timed times.
fn measure(
    name: &'static str,
    what: String,
    iters: usize,
    mut f: impl FnMut(&Js) -> usize,
) -> Kind {
    // A third argument measures only the kinds whose name starts with it (for a profiler).
    let only = std::env::args().nth(3).unwrap_or_default();
    let iters = if name.starts_with(&only) { iters } else { 0 };
    let js = Js::default();
    let out_bytes = std::hint::black_box(f(&js));
    let js_calls = js.0.get();
    for _ in 1..WARMUP {
        std::hint::black_box(f(&Js::default()));
    }
    let mut times = Vec::with_capacity(iters);
    let mut wall = Vec::with_capacity(iters);
    let mut rows = Vec::with_capacity(iters);
    for _ in 0..iters {
        let js = Js::default();
        ROWS_MS.with(|r| r.set(0.0));
        let t = Instant::now();
        let c = cpu_ms();
        std::hint::black_box(f(&js));
        times.push(cpu_ms() - c);
        wall.push(ms_since(t));
        rows.push(ROWS_MS.with(Cell::get));
    }
    eprintln!("bench-invocations: {name} measured");
    Kind {
        name,
        what,
        js_calls,
        out_bytes,
        times,
        wall,
        rows,
    }
}

/// `pages::html`: the body, its validator, the response with its five headers.
fn html_response(js: &Js, markup: maud::Markup) -> usize {
    let body = markup.into_string();
    let tag = etag(body.as_bytes());
    js.response(5);
    std::hint::black_box(tag);
    body.len()
}

/// `pages::xml_response`: the same for a feed out (a WebSub topic adds its `Link`).
fn xml_response(
    js: &Js,
    cfg: &Config,
    markup: maud::Markup,
    topic: Option<topics::Topic>,
) -> usize {
    let body = markup.into_string();
    let tag = etag(body.as_bytes());
    let link = topic.map(|t| topics::link_header(cfg, t));
    js.response(3 + u64::from(link.is_some()));
    std::hint::black_box((tag, link));
    body.len()
}

/// The members as `member_cache::list` returns them from the isolate's copy (a clone).
fn members_cached(members: &[FeedView]) -> Vec<FeedView> {
    members.to_vec()
}

/// Socket attachments as a Room holds them: most follow everything, some a few feeds,
/// some a search (`SocketState` as `sockets::accept` and `read` leave it).
fn attachments(n: usize, feeds: i64, queries: &[&str], last_sent: i64) -> Vec<String> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| {
            let kind = next() % 10;
            let followed = (kind >= 7).then(|| {
                let k = 1 + next() % 20;
                (0..k).map(|_| 1 + (next() % feeds as u64) as i64).collect()
            });
            let mut st = SocketState::new(followed);
            if kind == 0 {
                let q = queries[(next() % queries.len() as u64) as usize];
                st.q = LiveQuery::parse(q).ok();
            }
            st.last_sent = last_sent;
            st.window_start = NOW_MS - (next() % 60_000) as i64;
            st.window_frames = (next() % 3) as u32;
            st.resume_window_start = NOW_MS - 120_000;
            st.resumes_in_window = 1;
            serde_json::to_string(&st).unwrap_or_default()
        })
        .collect()
}

/// `sockets::entry_frames`: each entry's article inside an `entry` message, and its
/// index text made lazily (at most once) for sockets that follow a search.
struct Outgoing<'a> {
    entry: &'a EntryView,
    json: String,
    doc: std::cell::OnceCell<LiveDoc>,
}

fn entry_frames(entries: &[EntryView]) -> Vec<Outgoing<'_>> {
    entries
        .iter()
        .map(|e| {
            let html = entry_article(Default::default(), e).into_string();
            Outgoing {
                entry: e,
                json: ServerMsg::Entry {
                    entry: e.clone(),
                    html,
                }
                .to_json(),
                doc: std::cell::OnceCell::new(),
            }
        })
        .collect()
}

/// A Room's publish of one page (`Room::publish_pages` then `sockets::broadcast`): the
/// page read from D1, its frames rendered once, each frame into JS once, then every
/// socket's attachment read and deserialized, and each frame it wants sent.
fn room_publish(js: &Js, page_json: &str, sockets: &[String], swb_per_socket: &[u64]) -> usize {
    js.call(2); // storage: the cursor is cached; `page` from env
    js.d1(page_json);
    let entries = entry_views(page_json);
    let frames = entry_frames(&entries);
    js.call(frames.len() as u64); // JsValue::from_str per frame
    js.call(1 + sockets.len() as u64); // get_websockets, and the array read into a Vec
    let mut sent = 0;
    for (a, calls) in sockets.iter().zip(swb_per_socket) {
        js.call(1 + calls); // deserializeAttachment, then serde-wasm-bindgen over it
        let Ok(st) = serde_json::from_str::<SocketState>(a) else {
            continue;
        };
        for f in &frames {
            if f.entry.id > st.last_sent
                && st.wants_entry(f.entry.feed_id, || {
                    f.doc.get_or_init(|| LiveDoc::of_entry(f.entry))
                })
            {
                js.call(1); // send
                sent += 1;
            }
        }
    }
    js.call(1); // storage: save_cursor
    std::hint::black_box(sent);
    frames.iter().map(|f| f.json.len()).sum()
}

/// `sockets::on_message` answering a resume of `pages` D1 pages: the socket's
/// attachment read and written back (twice), each page read and rendered, every frame
/// sent, then `synced`.
fn resume(js: &Js, pages: &[String], attachment: &str, swb: u64) -> usize {
    js.call(2); // the client's tag, its budget (in memory)
    js.call(1 + swb);
    let mut st: SocketState = serde_json::from_str(attachment).unwrap_or_default();
    st.resuming = true;
    let saved = serde_json::to_string(&st).unwrap_or_default();
    js.call(1 + swb);
    let mut bytes = saved.len();
    let q = st.q.clone();
    let mut latest = 0;
    for page in pages {
        js.d1(page);
        let mut batch = entry_views(page);
        latest = batch.last().map_or(latest, |e| e.id);
        if let Some(q) = &q {
            batch.retain(|e| q.matches(&LiveDoc::of_entry(e)));
        }
        for f in entry_frames(&batch) {
            js.call(1); // send_with_str
            bytes += f.json.len();
        }
    }
    js.call(1 + swb);
    let mut current: SocketState = serde_json::from_str(attachment).unwrap_or_default();
    current.end_resume(latest);
    std::hint::black_box(serde_json::to_string(&current).unwrap_or_default());
    js.call(1 + swb);
    let synced = ServerMsg::Synced {
        latest,
        revision: None,
    }
    .to_json();
    js.call(1);
    bytes + synced.len()
}

/// A feed row as cron's watchdog reads it (`d1::OverdueFeed`).
#[derive(Serialize, Deserialize)]
struct OverdueFeed {
    id: i64,
    url: String,
    display_name: Option<String>,
    face_url: Option<String>,
    filter: Option<String>,
}

/// A `Current` row's JSON (the type only deserializes).
#[derive(Serialize)]
struct CurrentRow<'a> {
    id: i64,
    url: &'a str,
    display_name: Option<&'a str>,
    face_url: Option<&'a str>,
    home_url: Option<&'a str>,
    in_file: i64,
    left_at: Option<i64>,
}

/// One cron run (`jobs::cron::run`): the membership sync over a changed file of
/// [`MEMBERS`] members (parse, digest, `listed`, `plan` against D1's feeds, the report),
/// then the watchdog over its [`WATCHDOG`] overdue feeds (their settings, each FeedObject
/// call's body, the deadlines' batch), then the three prunes and the backfill (D1 only).
fn cron(js: &Js, opml: &str, current_json: &str, overdue_json: &str, last: &SyncReport) -> usize {
    let cfg = membership::MembershipConfig::from_lookup(|k| match k {
        "PLANET_OPML" => Some("/members.opml".into()),
        _ => None,
    });
    js.call(2); // env vars
    js.call(4 + 2 * 7); // membership_reports: one statement, two report rows
    js.call(3); // the file from ASSETS: fetch, its body
    let body = opml.as_bytes();
    let text = String::from_utf8_lossy(body);
    let outlines = syndication::parse_opml(&text).unwrap_or_default();
    let digest = membership::digest(body);
    let (listed, refused) = membership::listed(&outlines, false);
    js.d1(current_json);
    let current: Vec<Current> = rows(current_json);
    let plan = membership::plan(&current, &listed, &last.pending, &CAPS);
    let _cutoff = membership::grace_cutoff(NOW_MS, cfg.grace_ms);
    js.call(4 + 1); // members_left_before: none
    js.call((plan.leave.len() + plan.rejoin.len()) as u64 * 4); // a FeedObject call each
    js.call(4); // membership_apply: one batch
    let mut report = SyncReport {
        at: NOW_MS,
        checked_at: NOW_MS,
        source: "assets/members.opml".into(),
        digest,
        listed: listed.len(),
        refused,
        ..Default::default()
    };
    report.added = plan
        .add
        .iter()
        .enumerate()
        .map(|(i, l)| Named {
            id: Some(MEMBERS as i64 + 1 + i as i64),
            url: l.url.clone(),
            name: l.display_name.clone().unwrap_or_default(),
        })
        .collect();
    report.updated = plan
        .update
        .iter()
        .map(|u| Named {
            id: Some(u.id),
            url: u.url.clone(),
            name: u.display_name.clone().unwrap_or_default(),
        })
        .collect();
    report.left = plan.leave.clone();
    report.pending = plan.pending.clone();
    report.more = plan.more;
    std::hint::black_box(report.summary());
    let repeats = report.repeats(last);
    let saved = serde_json::to_string(&report).unwrap_or_default();
    js.call(4 + 1); // membership_report_save

    // The watchdog.
    js.d1(overdue_json);
    let due: Vec<OverdueFeed> = rows(overdue_json);
    let mut deadlines = Vec::new();
    for f in &due {
        let settings = FeedSettings {
            display_name: f.display_name.clone(),
            face_url: f.face_url.clone(),
            filter: (f.filter.as_deref())
                .and_then(|x| serde_json::from_str::<FeedFilter>(x).ok())
                .unwrap_or_default(),
        };
        let call =
            serde_json::json!({"ensure": {"feed_id": f.id, "url": f.url, "settings": settings}});
        std::hint::black_box(serde_json::to_string(&call).unwrap_or_default());
        js.call(8); // the object's id by name, its stub, the request, fetch, the reply's text
        std::hint::black_box(serde_json::from_str::<serde_json::Value>(
            r#"{"overdue_at":4102448400000}"#,
        ))
        .ok();
        deadlines.push((f.id, Some(NOW_MS + 3_600_000)));
    }
    std::hint::black_box(serde_json::to_string(&deadlines).unwrap_or_default());
    js.call(4 + 1); // feeds_set_overdue
    js.call(3 * 5 + 3); // two prunes, the audit prune, the backfill; three log lines
    std::hint::black_box(repeats);
    saved.len() + plan.add.len()
}

/// Words some sockets follow, and the search page's query.
const QUERIES: [&str; 6] = [
    "rust",
    "open source",
    "climate",
    "linux kernel",
    "python",
    "web",
];

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".into())
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/corpus/real-feeds".into());
    let iters: usize = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(200)
        .max(1);
    let t = Instant::now();
    let p = planet(&dir);
    let setup_ms = ms_since(t);
    eprintln!(
        "bench-invocations: {} feeds read, {} entries cleaned ({setup_ms:.0} ms); {iters} iterations a kind",
        p.feeds_read,
        p.river.len()
    );
    let cfg = Config::default();
    let river = &p.river;
    let members = &p.members;
    let page_size = cfg.page_size as usize;
    let mut kinds = Vec::new();

    // `/`: the revision, a page (one more than shown), the members, the page.
    let home_json = rows_json(&river[..(page_size + 1).min(river.len())]);
    let rev_json = r#"[{"rev":12345}]"#;
    kinds.push(measure(
        "home",
        format!("`/`: {page_size} entries, sidebar of {MEMBERS} members (kept in the isolate)"),
        iters,
        |js| {
            js.d1(rev_json);
            js.d1(&home_json);
            let mut entries = entry_views(&home_json);
            let older = (entries.len() > page_size).then(|| {
                entries.truncate(page_size);
                entries.last().map(|e| e.id)
            });
            js.call(1); // Date.now for the isolate's copy
            let m = members_cached(members);
            let page = HomePage {
                entries: &entries,
                older: older.flatten(),
                paged: false,
                revision: 12345,
                fair: None,
            };
            html_response(js, views::home_page_with_members(&cfg, &page, &m, NOW_MS))
        },
    ));
    // The same with the members read from the Cache API (another isolate put them).
    let members_json = serde_json::to_string(members).unwrap_or_default();
    kinds.push(measure(
        "home_members_from_cache",
        format!("`/` with the {MEMBERS} members read from the Cache API (JSON)"),
        iters,
        |js| {
            js.d1(rev_json);
            js.d1(&home_json);
            let mut entries = entry_views(&home_json);
            entries.truncate(page_size);
            js.call(4); // caches.default.match, the body's bytes
            let m: Vec<FeedView> = serde_json::from_str(&members_json).unwrap_or_default();
            let page = HomePage {
                entries: &entries,
                older: entries.last().map(|e| e.id),
                paged: false,
                revision: 12345,
                fair: None,
            };
            html_response(js, views::home_page_with_members(&cfg, &page, &m, NOW_MS))
        },
    ));

    let titles_n = TITLES_ENTRIES as usize;
    let titles_json = rows_json(&river[..titles_n.min(river.len())]);
    kinds.push(measure(
        "titles",
        format!("`/titles`: {titles_n} whole posts read, sidebar of {MEMBERS} members"),
        iters,
        |js| {
            js.d1(&titles_json);
            let entries = entry_views(&titles_json);
            js.call(1);
            let m = members_cached(members);
            html_response(js, views::titles_page(&cfg, &entries, &m, NOW_MS, None))
        },
    ));

    let feeds_n = FEEDS_PAGE as usize;
    let feeds_json = serde_json::to_string(&members[..feeds_n + 1]).unwrap_or_default();
    let counts_json = r#"[{"feeds":1000,"entries":40000,"failing":20,"paused":0,"gone":0,"held":0,"latest":140000}]"#;
    kinds.push(measure(
        "feeds",
        format!("`/feeds`: a page of {feeds_n} feeds"),
        iters,
        |js| {
            js.d1(&feeds_json);
            let mut feeds: Vec<FeedView> = rows(&feeds_json);
            let next = (feeds.len() > feeds_n).then(|| {
                feeds.truncate(feeds_n);
                feeds.last().map(|f| f.id)
            });
            js.d1(counts_json);
            js.call(1); // Date.now
            html_response(
                js,
                views::feeds_page(&cfg, &feeds, MEMBERS as i64, next.flatten(), NOW_MS),
            )
        },
    ));

    // `/search`: the query that matches most of the river among QUERIES; its first 21 hits.
    let per_page = search::PAGE_SIZE as usize;
    let (query, hits) = QUERIES
        .iter()
        .map(|q| {
            let lq = LiveQuery::parse(q).ok();
            let hits: Vec<EntryView> = river
                .iter()
                .filter(|e| {
                    lq.as_ref()
                        .is_some_and(|lq| lq.matches(&LiveDoc::of_entry(e)))
                })
                .take(per_page + 1)
                .cloned()
                .collect();
            (*q, hits)
        })
        .max_by_key(|(_, h)| h.len())
        .unwrap_or(("web", Vec::new()));
    let search_json = rows_json(&hits);
    kinds.push(measure(
        "search",
        format!(
            "`/search?q={query}`: {} results (of {} read)",
            hits.len().min(per_page),
            hits.len()
        ),
        iters,
        |js| {
            js.call(2); // the URL and its query
            let fts = search::fts_query(query).unwrap_or_default();
            std::hint::black_box(&fts);
            js.d1(&search_json);
            let mut found = entry_views(&search_json);
            let more = found.len() > per_page;
            found.truncate(per_page);
            let m = Matcher::new(query);
            let hits: Vec<SearchHit> = found
                .into_iter()
                .map(|e| SearchHit {
                    highlight: search::highlight(&m, &e.title, &e.content_html, &e.summary),
                    entry: e,
                })
                .collect();
            let sp = SearchPage {
                query,
                results: Some(&hits),
                page: 1,
                more,
            };
            html_response(js, views::search_page(&cfg, &sp))
        },
    ));

    let synd_n = SYNDICATED_ENTRIES as usize;
    let synd_json = rows_json(&river[..synd_n.min(river.len())]);
    kinds.push(measure(
        "atom",
        format!("`/feed.atom`: {synd_n} whole posts, sources of {MEMBERS} members"),
        iters,
        |js| {
            js.d1(&synd_json);
            let entries = entry_views(&synd_json);
            js.call(1);
            let m = members_cached(members);
            let body = syndication::atom_with_sources(&cfg, &entries, &m);
            xml_response(js, &cfg, body, Some(topics::Topic::PlanetAtom))
        },
    ));
    kinds.push(measure(
        "rss",
        format!("`/feed.rss`: {synd_n} whole posts"),
        iters,
        |js| {
            js.d1(&synd_json);
            let entries = entry_views(&synd_json);
            let body = syndication::rss(&cfg, &entries);
            xml_response(js, &cfg, body, Some(topics::Topic::PlanetRss))
        },
    ));
    kinds.push(measure(
        "opml",
        format!("`/feeds.opml`: {MEMBERS} feeds"),
        iters,
        |js| {
            js.call(1);
            let m = members_cached(members);
            xml_response(js, &cfg, syndication::opml(&cfg, &m), None)
        },
    ));
    kinds.push(measure(
        "foaf",
        format!("`/foafroll.xml`: {MEMBERS} feeds"),
        iters,
        |js| {
            js.call(1);
            let m = members_cached(members);
            xml_response(js, &cfg, syndication::foafroll(&cfg, &m), None)
        },
    ));

    // The Room: one entry (the median-sized frame of the river), then a backlog.
    let feeds = p.feeds_read.max(1) as i64;
    let mut by_size: Vec<&EntryView> = river.iter().collect();
    by_size.sort_by_key(|e| (entry_frames(std::slice::from_ref(*e))[0].json.len(), e.id));
    let median = by_size
        .get(by_size.len() / 2)
        .map(|e| (*e).clone())
        .into_iter()
        .collect::<Vec<_>>();
    let oldest = river.iter().map(|e| e.id).min().unwrap_or(0);
    let sockets = attachments(SOCKETS, feeds, &QUERIES, oldest - 1);
    let swb: Vec<u64> = sockets
        .iter()
        .map(|a| swb_calls(&serde_json::from_str(a).unwrap_or_default()) + 2) // + `in` for absent fields
        .collect();
    let attachment_bytes = {
        let mut l: Vec<usize> = sockets.iter().map(String::len).collect();
        l.sort_unstable();
        (l[l.len() / 2], l[l.len() - 1])
    };
    let searching = sockets.iter().filter(|a| a.contains("\"q\"")).count();
    let one_json = rows_json(&median);
    kinds.push(measure(
        "room_broadcast_1",
        format!(
            "Room: 1 entry to {SOCKETS} sockets ({searching} follow a search; attachments {} B median, {} B max)",
            attachment_bytes.0, attachment_bytes.1
        ),
        iters,
        |js| room_publish(js, &one_json, &sockets, &swb),
    ));
    let backlog: Vec<EntryView> = {
        let mut b: Vec<EntryView> = river[..BACKLOG.min(river.len())].to_vec();
        b.reverse(); // D1 reads them oldest first
        b
    };
    let backlog_json = rows_json(&backlog);
    kinds.push(measure(
        "room_broadcast_50",
        format!("Room: a backlog of {BACKLOG} entries to {SOCKETS} sockets"),
        iters,
        |js| room_publish(js, &backlog_json, &sockets, &swb),
    ));

    let page: Vec<EntryView> = {
        let mut b: Vec<EntryView> = river[..ROOM_PAGE.min(river.len())].to_vec();
        b.reverse();
        b
    };
    let page_json = rows_json(&page);
    kinds.push(measure(
        "room_broadcast_200",
        format!(
            "Room: one full page ({} entries, `PAGE_ENTRIES`) to {SOCKETS} sockets",
            page.len()
        ),
        iters,
        |js| room_publish(js, &page_json, &sockets, &swb),
    ));

    // As the Room runs now: one invocation sends at most ROOM_SENDS_PER_INVOCATION frames
    // (entries × sockets) and carries the rest by alarm.
    let share = orrery::core::protocol::room_entries_per_invocation(SOCKETS) as usize;
    let share_json = rows_json(&backlog[..share.min(backlog.len())]);
    kinds.push(measure(
        "room_invocation",
        format!(
            "Room: one invocation of a catch-up, {share} entries (`room_entries_per_invocation`) to {SOCKETS} sockets"
        ),
        iters,
        |js| room_publish(js, &share_json, &sockets, &swb),
    ));

    // Where a backlog's time goes: its parts alone ("part." kinds: not invocations).
    kinds.push(measure(
        "part.room_50.frames",
        format!("{BACKLOG} frames rendered (`entry_article` + `ServerMsg::Entry` JSON)"),
        iters,
        |_| entry_frames(&backlog).iter().map(|f| f.json.len()).sum(),
    ));
    kinds.push(measure(
        "part.room_50.live_docs",
        format!(
            "{BACKLOG} entries' index text tokenized for followed searches (`LiveDoc::of_entry`)"
        ),
        iters,
        |_| {
            let docs: Vec<LiveDoc> = backlog.iter().map(LiveDoc::of_entry).collect();
            std::hint::black_box(docs).len()
        },
    ));
    kinds.push(measure(
        "part.room.attachments",
        format!("{SOCKETS} attachments deserialized (`SocketState`)"),
        iters,
        |_| {
            sockets
                .iter()
                .filter_map(|a| serde_json::from_str::<SocketState>(a).ok())
                .count()
        },
    ));

    // A resume of RESUME entries, oldest first, in D1 pages.
    let resumed: Vec<EntryView> = river.iter().take(RESUME).rev().cloned().collect();
    let resume_pages: Vec<String> = resumed.chunks(RESUME_PAGE).map(rows_json).collect();
    let plain = sockets
        .iter()
        .zip(&swb)
        .find(|(a, _)| !a.contains("\"q\"") && !a.contains("\"feeds\":["))
        .map(|(a, s)| (a.clone(), *s))
        .unwrap_or_default();
    kinds.push(measure(
        "resume_500",
        format!(
            "resume of {} entries ({} D1 pages), every entry rendered and sent",
            resumed.len(),
            resume_pages.len()
        ),
        iters,
        |js| resume(js, &resume_pages, &plain.0, plain.1),
    ));
    // As a resume runs now: at most MAX_RESUME_ENTRIES entries.
    let cap = orrery::core::protocol::MAX_RESUME_ENTRIES as usize;
    let capped: Vec<String> = resumed[..cap.min(resumed.len())]
        .chunks(RESUME_PAGE)
        .map(rows_json)
        .collect();
    kinds.push(measure(
        "resume_cap",
        format!("resume of {cap} entries (`MAX_RESUME_ENTRIES`), every entry rendered and sent"),
        iters,
        |js| resume(js, &capped, &plain.0, plain.1),
    ));
    kinds.push(measure(
        "part.resume.rows",
        format!("{} D1 rows deserialized", resumed.len()),
        iters,
        |_| resume_pages.iter().map(|p| entry_views(p).len()).sum(),
    ));
    kinds.push(measure(
        "part.resume.frames",
        format!("{} frames rendered", resumed.len()),
        iters,
        |_| {
            resumed
                .chunks(RESUME_PAGE)
                .map(|c| entry_frames(c).iter().map(|f| f.json.len()).sum::<usize>())
                .sum()
        },
    ));

    // Cron: the membership file of MEMBERS members, changed since the last run (ten
    // members new, five gone, ten renamed), then the watchdog.
    let listed_members: Vec<FeedView> = members
        .iter()
        .filter(|f| f.id % 200 != 3)
        .cloned()
        .chain((0..10).map(|i| {
            let mut f = members[i].clone();
            f.id = (MEMBERS + 1 + i) as i64;
            f.url = feed_url(f.id);
            f
        }))
        .map(|mut f| {
            if f.id % 100 == 5 {
                f.display_name = Some(format!("Renamed {}", f.id));
            }
            f
        })
        .collect();
    let opml = syndication::opml(&cfg, &listed_members).into_string();
    let current_rows: Vec<CurrentRow> = members
        .iter()
        .map(|f| CurrentRow {
            id: f.id,
            url: &f.url,
            display_name: f.display_name.as_deref(),
            face_url: f.face_url.as_deref(),
            home_url: f.site_url.as_deref(),
            in_file: 1,
            left_at: None,
        })
        .collect();
    let current_json = serde_json::to_string(&current_rows).unwrap_or_default();
    let overdue: Vec<OverdueFeed> = members
        .iter()
        .take(WATCHDOG)
        .map(|f| OverdueFeed {
            id: f.id,
            url: f.url.clone(),
            display_name: f.display_name.clone(),
            face_url: f.face_url.clone(),
            filter: (f.id % 5 == 0).then(|| r#"{"categories":["rust"],"words":["wasm"]}"#.into()),
        })
        .collect();
    let overdue_json = serde_json::to_string(&overdue).unwrap_or_default();
    let last = SyncReport {
        at: NOW_MS - 3_600_000,
        checked_at: NOW_MS - 3_600_000,
        source: "assets/members.opml".into(),
        digest: "sha1:0".into(),
        listed: MEMBERS,
        ..Default::default()
    };
    kinds.push(measure(
        "cron",
        format!(
            "cron: membership file of {} members ({} KiB, changed) against {MEMBERS} feeds, watchdog over {WATCHDOG}",
            listed_members.len(),
            opml.len() / 1024
        ),
        iters,
        |js| cron(js, &opml, &current_json, &overdue_json, &last),
    ));
    let outlines = syndication::parse_opml(&opml).unwrap_or_default();
    kinds.push(measure(
        "part.cron.parse_opml",
        format!("`parse_opml` of the {} KiB file", opml.len() / 1024),
        iters,
        |_| syndication::parse_opml(&opml).map_or(0, |o| o.len()),
    ));
    kinds.push(measure(
        "part.cron.listed",
        format!("`membership::listed` of {} outlines", outlines.len()),
        iters,
        |_| membership::listed(&outlines, false).0.len(),
    ));
    let (listed, _) = membership::listed(&outlines, false);
    let current: Vec<Current> = serde_json::from_str(&current_json).unwrap_or_default();
    kinds.push(measure(
        "part.cron.plan",
        format!("`membership::plan` against {} feeds", current.len()),
        iters,
        |_| membership::plan(&current, &listed, &[], &CAPS).add.len(),
    ));

    let target = if cfg!(target_arch = "wasm32") {
        "wasm32"
    } else {
        "native"
    };
    let items: Vec<String> = kinds
        .iter()
        .map(|k| {
            let mut s = k.times.clone();
            s.sort_by(|a, b| a.total_cmp(b));
            let mut r = k.rows.clone();
            r.sort_by(|a, b| a.total_cmp(b));
            let mut w = k.wall.clone();
            w.sort_by(|a, b| a.total_cmp(b));
            format!(
                "{{\"name\":{},\"what\":{},\"js_calls\":{},\"out_bytes\":{},\"iterations\":{},\
                 \"p50_ms\":{:.4},\"p99_ms\":{:.4},\"max_ms\":{:.4},\"over_limit\":{},\"rows_p50_ms\":{:.4},\"wall_p50_ms\":{:.4},\"wall_p99_ms\":{:.4}}}",
                json_str(k.name),
                json_str(&k.what),
                k.js_calls,
                k.out_bytes,
                s.len(),
                pct(&s, 0.5),
                pct(&s, 0.99),
                s.last().copied().unwrap_or(0.0),
                s.iter().filter(|t| **t > LIMIT_MS).count(),
                pct(&r, 0.5),
                pct(&w, 0.5),
                pct(&w, 0.99),
            )
        })
        .collect();
    println!(
        "{{\"target\":\"{target}\",\"feeds_read\":{},\"entries\":{},\"iterations\":{iters},\"kinds\":[{}]}}",
        p.feeds_read,
        river.len(),
        items.join(",")
    );
}
