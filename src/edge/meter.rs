//! The meter: one structured event per invocation, and with `METER=1` one `orrery-meter`
//! JSON line per billed operation besides.
//!
//! Every invocation (a Worker request, a cron run, a Durable Object request, alarm or
//! socket message) runs inside [`invocation`], which logs one JSON event when it ends:
//! `{"orrery":"invocation","kind","what","cid","feed","status","outcome","io_ms",
//! "d1_queries","d1_rows_read","d1_rows_written","do_rows_read","do_rows_written",
//! "subrequests","frames_sent"}`. Workers Logs indexes its fields (docs/operating.md has the queries).
//! `cid`, the correlation id, is carried from cron or a request to every object it calls
//! (the `X-Orrery-Cid` header of `objects::rpc`), so one refresh reads as one story from
//! cron to the FeedObject to the Room. The tally belongs to the invocation's own future
//! (swapped in on every poll, as a task-local is), so invocations interleaving in one
//! isolate never mix their counts.
//!
//! Figures come from the platform itself: D1's result `meta` (rows read and written,
//! database size) and the DO SQLite cursor's `rowsRead`/`rowsWritten`. DO key-value
//! calls and alarms have no such counter; they are counted by call, as billed (on
//! SQLite-backed objects a `get` reads a row, a `put` or `setAlarm` writes one).
//! `make bench` reads the `METER=1` lines; off (the default), nothing but the event.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use serde::Serialize;
use worker::{D1Result, Env, Request, Response, SqlCursor};

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    /// The tally of the invocation whose future is being polled.
    static CURRENT: RefCell<Option<Rc<RefCell<Tally>>>> = const { RefCell::new(None) };
}

/// The header that carries a correlation id to an object.
pub const CID_HEADER: &str = "X-Orrery-Cid";

/// One invocation's event: what it was and what it cost.
#[derive(Debug, Default, Serialize)]
struct Tally {
    orrery: &'static str,
    kind: String,
    what: String,
    cid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    feed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    outcome: String,
    /// Wall time; workerd's clock moves only on I/O, so this is time spent waiting.
    io_ms: i64,
    d1_queries: u64,
    d1_rows_read: u64,
    d1_rows_written: u64,
    do_rows_read: u64,
    do_rows_written: u64,
    subrequests: u64,
    /// Frames sent to sockets (a broadcast's or a resume's).
    frames_sent: u64,
    #[serde(skip)]
    started: i64,
}

fn with_tally(f: impl FnOnce(&mut Tally)) {
    CURRENT.with(|c| {
        if let Some(t) = c.borrow().as_ref() {
            f(&mut t.borrow_mut());
        }
    });
}

/// How an invocation ended, for its event.
pub trait Outcome {
    fn describe(&self) -> (Option<u16>, String);
}

impl Outcome for worker::Result<Response> {
    fn describe(&self) -> (Option<u16>, String) {
        match self {
            Ok(r) => {
                let s = r.status_code();
                (Some(s), if s < 500 { "ok" } else { "error" }.into())
            }
            Err(e) => (None, format!("error: {e}")),
        }
    }
}

impl Outcome for worker::Result<()> {
    fn describe(&self) -> (Option<u16>, String) {
        match self {
            Ok(()) => (None, "ok".into()),
            Err(e) => (None, format!("error: {e}")),
        }
    }
}

impl Outcome for () {
    fn describe(&self) -> (Option<u16>, String) {
        (None, "ok".into())
    }
}

/// A future with its invocation's tally swapped in while it is polled.
struct Scoped<F> {
    tally: Rc<RefCell<Tally>>,
    fut: Pin<Box<F>>,
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let outer = CURRENT.with(|c| c.replace(Some(this.tally.clone())));
        let polled = this.fut.as_mut().poll(cx);
        CURRENT.with(|c| *c.borrow_mut() = outer);
        polled
    }
}

/// Runs one invocation (`kind` is who, `what` names it, e.g. `alarm`, `GET /`; `cid` the
/// correlation id it was handed, else a new one) and logs its event when it ends.
pub async fn invocation<F>(
    env: &Env,
    kind: &str,
    what: &str,
    cid: Option<String>,
    fut: F,
) -> F::Output
where
    F: Future,
    F::Output: Outcome,
{
    begin(env, kind, what);
    let tally = Rc::new(RefCell::new(Tally {
        orrery: "invocation",
        kind: kind.into(),
        what: what.into(),
        cid: cid.unwrap_or_else(new_cid),
        started: crate::edge::env::now_ms(),
        ..Tally::default()
    }));
    let out = Scoped {
        tally: tally.clone(),
        fut: Box::pin(fut),
    }
    .await;
    let mut t = tally.borrow_mut();
    (t.status, t.outcome) = out.describe();
    t.io_ms = crate::edge::env::now_ms() - t.started;
    if let Ok(json) = serde_json::to_string(&*t) {
        worker::console_log!("{json}");
    }
    drop(t);
    out
}

/// A new correlation id: 16 hex digits.
fn new_cid() -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(16);
    id
}

/// The correlation id a caller handed this object (its `X-Orrery-Cid`), if well formed.
pub fn cid_of(req: &Request) -> Option<String> {
    req.headers()
        .get(CID_HEADER)
        .ok()
        .flatten()
        .filter(|c| c.len() <= 32 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// The running invocation's correlation id, to hand to the objects it calls.
pub fn cid() -> Option<String> {
    CURRENT.with(|c| c.borrow().as_ref().map(|t| t.borrow().cid.clone()))
}

/// Frames the running invocation sent to sockets.
pub fn frames(n: usize) {
    with_tally(|t| t.frames_sent += n as u64);
}

/// The feed the running invocation is about (the FeedObject's, once loaded).
pub fn feed(id: i64) {
    with_tally(|t| t.feed = Some(id));
}

/// Reads `METER` from the environment and, when on, logs the invocation's first line.
fn begin(env: &Env, kind: &str, what: &str) {
    let on = env
        .var("METER")
        .map(|v| v.to_string().trim() == "1")
        .unwrap_or(false);
    ON.with(|c| c.set(on));
    if on {
        line(serde_json::json!({"k": "inv", "kind": kind, "what": what}).to_string());
    }
}

fn on() -> bool {
    ON.with(Cell::get)
}

fn line(json: String) {
    worker::console_log!("orrery-meter {json}");
}

/// A D1 statement's cost, from its result `meta`.
pub fn d1(what: &str, result: &D1Result) {
    let meta = result.meta().ok().flatten();
    let (read, written, size) = meta.map_or((0, 0, 0), |m| {
        (
            m.rows_read.unwrap_or(0),
            m.rows_written.unwrap_or(0),
            m.size_after.unwrap_or(0),
        )
    });
    with_tally(|t| {
        t.d1_queries += 1;
        t.d1_rows_read += read as u64;
        t.d1_rows_written += written as u64;
    });
    if !on() {
        return;
    }
    line(
        serde_json::json!({"k": "d1", "what": what, "read": read, "written": written, "size": size})
            .to_string(),
    );
}

/// A DO SQLite statement's cost, from its cursor (call after the rows are consumed).
pub fn sql(what: &str, cursor: &SqlCursor) {
    let (read, written) = (cursor.rows_read(), cursor.rows_written());
    with_tally(|t| {
        t.do_rows_read += read as u64;
        t.do_rows_written += written as u64;
    });
    if on() {
        line(
            serde_json::json!({"k": "sql", "what": what, "read": read, "written": written})
                .to_string(),
        );
    }
}

/// DO key-value storage and alarm calls, counted as billed rows.
pub fn kv(what: &str, read: u32, written: u32) {
    with_tally(|t| {
        t.do_rows_read += u64::from(read);
        t.do_rows_written += u64::from(written);
    });
    if on() {
        line(
            serde_json::json!({"k": "sql", "what": what, "read": read, "written": written})
                .to_string(),
        );
    }
}

/// A subrequest: an outbound fetch or a call to another Durable Object.
pub fn subrequest(what: &str) {
    with_tally(|t| t.subrequests += 1);
    if on() {
        line(serde_json::json!({"k": "sub", "what": what}).to_string());
    }
}

/// A count an object keeps of its own invocation (the Room's D1 queries per publish).
pub fn count(what: &str, n: u32) {
    if on() {
        line(serde_json::json!({"k": "count", "what": what, "n": n}).to_string());
    }
}
