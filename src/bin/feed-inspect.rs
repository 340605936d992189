//! Shows what Orrery makes of feed files: parse, identity and clean, one JSON line per file.

use std::panic::{catch_unwind, AssertUnwindSafe};

use orrery::core::feed::{self, FeedDoc};
use serde_json::{json, Value};

/// A fixed clock: the tool's output must not depend on when it runs, bar clamping.
const NOW_MS: i64 = 4_102_444_800_000; // 2100-01-01

fn inspect(file: &str, bytes: &[u8], base: &str) -> Value {
    match feed::parse(bytes, base) {
        Ok(doc) => render(file, &doc),
        Err(e) => json!({"file": file, "ok": false, "error": e.to_string()}),
    }
}

fn render(file: &str, doc: &FeedDoc) -> Value {
    let entries: Vec<Value> = doc
        .entries
        .iter()
        .map(|raw| {
            let e = raw.clean(NOW_MS);
            json!({
                "id": e.identity,
                "title": e.title,
                "url": e.url,
                "author": e.author,
                "published": e.published_at,
                "content_html": e.content_html,
                "summary": e.summary,
            })
        })
        .collect();
    json!({
        "file": file,
        "ok": true,
        "format": doc.format.as_str(),
        "title": doc.title,
        "site_url": doc.site_url,
        "entries": entries,
    })
}

fn main() {
    let mut base = String::new();
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--base" => base = args.next().unwrap_or_default(),
            "-h" | "--help" => {
                println!("usage: feed-inspect [--base URL] FILE...");
                return;
            }
            _ => files.push(a),
        }
    }
    if files.is_empty() {
        eprintln!("usage: feed-inspect [--base URL] FILE...");
        std::process::exit(2);
    }
    // Keep a panic (a bug) from printing a backtrace instead of a JSON line.
    std::panic::set_hook(Box::new(|_| {}));
    for file in files {
        let out = match std::fs::read(&file) {
            Err(e) => json!({"file": file, "ok": false, "error": format!("cannot read the file: {e}")}),
            Ok(bytes) => catch_unwind(AssertUnwindSafe(|| inspect(&file, &bytes, &base)))
                .unwrap_or_else(|_| json!({"file": file, "ok": false, "error": "internal error while reading this feed"})),
        };
        println!("{out}");
    }
}
