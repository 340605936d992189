//! What matching followed searches live costs per published entry: its index text
//! (`index_doc`: `html_to_text` of the whole stored body), tokenized once (`LiveDoc`), then
//! each socket's query against it, for bodies of N KiB; best of several runs.
//!
//! Native: `cargo run --release --example live_match_cost`. In V8, as the Worker runs it:
//!
//! ```sh
//! cargo build --release --target wasm32-wasip1 --example live_match_cost
//! W=target/wasm32-wasip1/release/examples/live_match_cost.wasm
//! node_modules/.bin/wasm-opt $W -o /tmp/live_match_cost.wasm -O --enable-mutable-globals \
//!   --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
//!   --enable-multivalue --enable-reference-types --enable-exception-handling
//! node_modules/.bin/node --no-warnings -e "const{WASI}=require('node:wasi');
//!   const w=new WASI({version:'preview1',args:['x']});
//!   WebAssembly.instantiate(require('fs').readFileSync('/tmp/live_match_cost.wasm'),
//!   w.getImportObject()).then(({instance})=>w.start(instance))"
//! ```

use std::time::Instant;

use orrery::core::search::index_doc;
use orrery::core::search::live_query::{LiveDoc, LiveQuery};

#[path = "support/prose.rs"]
mod prose;
use prose::prose;

/// N KiB of paragraphs of words drawn from a vocabulary of 5,000 made-up ones (real posts
/// have many more distinct words than `prose`, which makes the sorted index dearer).
fn varied(kib: usize) -> String {
    let mut seed: u32 = 7;
    let mut word = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (seed >> 8) % 5_000;
        format!("w{}x{}", n, n % 97)
    };
    let mut s = String::new();
    while s.len() < kib * 1024 {
        s.push_str("<p>");
        for _ in 0..40 {
            s.push_str(&word());
            s.push(' ');
        }
        s.push_str("</p>\n");
    }
    s
}

/// Best of `runs` timings of `f`, in milliseconds.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = None;
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
        out = Some(v);
    }
    (best, out.expect("one run at least"))
}

fn main() {
    let queries: Vec<LiveQuery> = [
        "rust wasm",
        "lorem-ipsum",
        "nostrud exer",
        "café",
        "absent words here",
        "dolor-sit-amet consectetur adipiscing elit sed",
    ]
    .iter()
    .map(|q| LiveQuery::parse(q).expect("a valid query"))
    .collect();
    println!("body     kib  index_doc_ms  tokenize_ms  1000_queries_ms");
    // The first pass warms V8 up (Liftoff until it tiers up); the second is reported.
    for pass in 0..2 {
        for (kind, kib) in [1, 16, 32, 64, 96]
            .map(|k| ("prose", k))
            .into_iter()
            .chain([16, 96].map(|k| ("varied", k)))
        {
            let body = if kind == "prose" {
                prose(kib)
            } else {
                varied(kib)
            };
            let (t_text, doc) = best(5, || index_doc("A title", Some("Ann"), &body, ""));
            let (t_tok, live) = best(5, || LiveDoc::new(&doc));
            let (t_match, hits) = best(5, || {
                (0..1000)
                    .filter(|i| queries[i % queries.len()].matches(&live))
                    .count()
            });
            if pass == 1 {
                println!(
                    "{kind:<6}  {kib:>3}  {t_text:>12.3}  {t_tok:>11.3}  {t_match:>15.3}  ({hits} matched)"
                );
            }
        }
    }
}
