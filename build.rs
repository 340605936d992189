//! Sets `corpus_absent` when ../shared/corpus/real-feeds is missing, so that
//! tests/native/feed_corpus.rs shows as ignored with the reason instead of passing unmeasured.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(corpus_absent)");
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let corpus = root.join("../shared/corpus/real-feeds");
    if !corpus.is_dir() {
        println!("cargo::rustc-cfg=corpus_absent");
    }
    // Re-check when the corpus, or the folder it would appear in, changes. Not a missing
    // path: cargo treats one as changed on every run and would rebuild the crate each time.
    // With no ../shared at all nothing is named, and cargo re-runs this when any file of
    // the package changes (`touch build.rs` after adding ../shared).
    if let Some(watch) = corpus.ancestors().take(3).find(|p| p.exists()) {
        println!("cargo::rerun-if-changed={}", watch.display());
    }
}
