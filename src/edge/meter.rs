//! The cost meter: with `METER=1`, one `orrery-meter` JSON line per billed operation.
//!
//! Every invocation and every billed operation logs one line; `make bench` reads them.
//!
//! Figures come from the platform itself: D1's result `meta` (rows read and written,
//! database size) and the DO SQLite cursor's `rowsRead`/`rowsWritten`. DO key-value
//! calls and alarms have no such counter; they are counted by call, as billed (on
//! SQLite-backed objects a `get` reads a row, a `put` or `setAlarm` writes one).
//! Off (the default) it costs one thread-local read per call and logs nothing.

use std::cell::Cell;

use worker::{D1Result, Env, SqlCursor};

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
}

/// An invocation began: a Worker request, a cron run, or a Durable Object request,
/// alarm or socket message (`kind` is who, `what` names it, e.g. `alarm`, `GET /`).
/// Reads `METER` from the environment first.
pub fn begin(env: &Env, kind: &str, what: &str) {
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
    if !on() {
        return;
    }
    let meta = result.meta().ok().flatten();
    let (read, written, size) = meta.map_or((0, 0, 0), |m| {
        (
            m.rows_read.unwrap_or(0),
            m.rows_written.unwrap_or(0),
            m.size_after.unwrap_or(0),
        )
    });
    line(
        serde_json::json!({"k": "d1", "what": what, "read": read, "written": written, "size": size})
            .to_string(),
    );
}

/// A DO SQLite statement's cost, from its cursor (call after the rows are consumed).
pub fn sql(what: &str, cursor: &SqlCursor) {
    if on() {
        let (read, written) = (cursor.rows_read(), cursor.rows_written());
        line(
            serde_json::json!({"k": "sql", "what": what, "read": read, "written": written})
                .to_string(),
        );
    }
}

/// DO key-value storage and alarm calls, counted as billed rows.
pub fn kv(what: &str, read: u32, written: u32) {
    if on() {
        line(
            serde_json::json!({"k": "sql", "what": what, "read": read, "written": written})
                .to_string(),
        );
    }
}

/// A subrequest: an outbound fetch or a call to another Durable Object.
pub fn subrequest(what: &str) {
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
