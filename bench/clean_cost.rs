//! What cleaning one long entry costs: `RawEntry::clean` (entity decoding, ammonia, the summary,
//! media) on one RSS item whose `content:encoded` is N KiB of HTML, best of several runs.
//!
//! Native: `cargo run --release --example clean_cost`. In V8, as the Worker runs it (built and
//! optimized the way bench/run.sh builds bench-pipeline; `make setup` provides node and wasm-opt):
//!
//! ```sh
//! cargo build --release --target wasm32-wasip1 --example clean_cost
//! W=target/wasm32-wasip1/release/examples/clean_cost.wasm
//! node_modules/.bin/wasm-opt $W -o /tmp/clean_cost.wasm -O --enable-mutable-globals \
//!   --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
//!   --enable-multivalue --enable-reference-types --enable-exception-handling
//! node_modules/.bin/node --no-warnings -e "const{WASI}=require('node:wasi');
//!   const w=new WASI({version:'preview1',args:['x']});
//!   WebAssembly.instantiate(require('fs').readFileSync('/tmp/clean_cost.wasm'),
//!   w.getImportObject()).then(({instance})=>w.start(instance))"
//! ```
//!
//! Sizes past `MAX_CONTENT_BYTES` are cut to it before sanitizing, as in production (raise the
//! constant locally to time larger bodies).
//!
//! `clean_cost DIR [ROUNDS]` instead times the sanitizer alone against ammonia (configured as
//! Orrery's sanitizer was, tests/native/support/sanitize_reference.rs) over every entry body of the
//! feeds in DIR, capped as production caps them: each feed's bodies, ours then ammonia's, best
//! of ROUNDS (default 3) per feed; one JSON line out (bench/run.sh runs it native and in V8).
//! `clean_cost DIR ROUNDS ours` times ours alone, e.g. under `perf record -g`.

use std::time::Instant;

use orrery::core::feed;
use orrery::core::feed::sanitize;

#[path = "../tests/native/support/sanitize_reference.rs"]
#[allow(dead_code)]
mod reference;

#[path = "support/prose.rs"]
mod prose;
use prose::prose;

/// html5ever's tokenizer alone with a sink that does nothing: the floor under our sanitizer
/// (what it costs before any of our work), timed to show what stands between us and more speed.
fn tokenize_only(html: &str) -> usize {
    use html5ever::tendril::StrTendril;
    use html5ever::tokenizer::{BufferQueue, Token, TokenSink, TokenSinkResult, Tokenizer};
    struct Count(std::cell::Cell<usize>);
    impl TokenSink for Count {
        type Handle = ();
        fn process_token(&self, t: Token, _: u64) -> TokenSinkResult<()> {
            if let Token::TagToken(_) = t {
                self.0.set(self.0.get() + 1);
            }
            TokenSinkResult::Continue
        }
    }
    let tok = Tokenizer::new(Count(std::cell::Cell::new(0)), Default::default());
    let q = BufferQueue::default();
    q.push_back(StrTendril::from_slice(html));
    let _ = tok.feed(&q);
    tok.end();
    tok.sink.0.get()
}

/// Sanitizer throughput, ours vs ammonia, over every entry body of the feeds in `dir`.
fn throughput(dir: &str, rounds: usize, with_ammonia: bool) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let (mut inputs, mut bytes, mut ours_ms, mut ammonia_ms, mut out_bytes) = (0, 0, 0.0, 0.0, 0);
    let mut tokenizer_ms = 0.0;
    for path in files {
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        let Ok(doc) = feed::parse(&raw, "https://corpus.example/feed") else {
            continue;
        };
        drop(raw);
        let bodies: Vec<_> = doc
            .entries
            .iter()
            .filter_map(|e| e.sanitizer_input())
            .map(|(html, base, _)| {
                (
                    sanitize::cap(&html, feed::MAX_CONTENT_BYTES).to_string(),
                    base,
                )
            })
            .collect();
        inputs += bodies.len();
        bytes += bodies.iter().map(|(h, _)| h.len()).sum::<usize>();
        let (mut best_ours, mut best_ammonia, mut best_tok) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..rounds.max(1) {
            let t = Instant::now();
            for (html, _) in &bodies {
                std::hint::black_box(tokenize_only(html));
            }
            best_tok = best_tok.min(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let mut n = 0;
            for (html, base) in &bodies {
                n += sanitize::sanitize(html, base.clone()).0.len();
            }
            best_ours = best_ours.min(t.elapsed().as_secs_f64() * 1e3);
            out_bytes = out_bytes.max(n);
            if !with_ammonia {
                best_ammonia = 0.0;
                continue;
            }
            let t = Instant::now();
            for (html, base) in &bodies {
                std::hint::black_box(reference::ammonia_clean(html, base.as_ref()));
            }
            best_ammonia = best_ammonia.min(t.elapsed().as_secs_f64() * 1e3);
        }
        ours_ms += best_ours;
        tokenizer_ms += best_tok;
        ammonia_ms += best_ammonia;
    }
    println!(
        "{{\"inputs\":{inputs},\"bytes\":{bytes},\"ours_ms\":{ours_ms:.3},\"ammonia_ms\":{ammonia_ms:.3},\"tokenizer_ms\":{tokenizer_ms:.3}}}"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(dir) = args.get(1) {
        let rounds = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
        // A third argument `ours` leaves ammonia out (for a profile of ours alone).
        return throughput(dir, rounds, args.get(3).map(String::as_str) != Some("ours"));
    }
    println!("MAX_CONTENT_BYTES = {} KiB", feed::MAX_CONTENT_BYTES / 1024);
    // Warm up first: V8 runs a module's code unoptimized (Liftoff) until it tiers up.
    for (round, kib) in std::iter::repeat_n([16, 32, 64, 96, 128, 160, 192, 256], 2)
        .enumerate()
        .flat_map(|(r, ks)| ks.map(|k| (r, k)))
    {
        let warm = round == 0;
        let body = prose(kib);
        let doc = format!(
            "<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>t</title>\
             <item><guid>g</guid><link>https://ex.com/p</link><title>Long</title>\
             <content:encoded><![CDATA[{body}]]></content:encoded></item></channel></rss>"
        );
        let parsed = match feed::parse(doc.as_bytes(), "https://ex.com/feed") {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let raw = &parsed.entries[0];
        let mut times = Vec::new();
        let mut out = 0;
        for _ in 0..if warm { 5 } else { 15 } {
            let t = Instant::now();
            let e = raw.clean(0);
            times.push(t.elapsed().as_secs_f64() * 1e3);
            out = e.content_html.len();
        }
        if warm {
            continue;
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{kib:>4} KiB raw ({} bytes read): clean best {:.2} ms, median {:.2} ms; {out} bytes stored",
            raw.content_len(),
            times[0],
            times[times.len() / 2]
        );
    }
}
