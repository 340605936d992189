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
    build_identity(&root);
}

/// What `/healthz` reports of the build: the commit it was built from (`ORRERY_COMMIT`,
/// "unknown" outside a git checkout) and the newest migration it expects
/// (`ORRERY_LATEST_MIGRATION`, the last file of migrations/ by name).
fn build_identity(root: &std::path::Path) {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo::rustc-env=ORRERY_COMMIT={commit}");
    // Rebuilt when HEAD moves (a commit, a checkout), not on every run.
    for path in ["HEAD", "refs/heads"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo::rerun-if-changed={}", root.join(p).display());
        }
    }
    let migrations = root.join("migrations");
    let mut names: Vec<String> = std::fs::read_dir(&migrations)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let latest = names.last().map_or("", String::as_str);
    println!("cargo::rustc-env=ORRERY_LATEST_MIGRATION={latest}");
    println!("cargo::rerun-if-changed={}", migrations.display());
}
