//! Coverage on the real-world corpus: how many of the 200 real feeds yield entries (must not drop).

use orrery::core::feed;

/// Reached by this pipeline (feed-rs alone: 197, Python feedparser: 198).
const FLOOR: usize = 200;

// build.rs sets `corpus_absent` when the folder is missing: the test then shows as ignored
// with this reason, never as a pass. Where the corpus is present (CI has ../shared) it runs,
// and a folder that cannot be read is a failure.
#[test]
#[cfg_attr(
    corpus_absent,
    ignore = "../shared/corpus/real-feeds is absent: coverage not measured"
)]
fn real_feeds_yield_entries() {
    let dir = format!("{}/../shared/corpus/real-feeds", env!("CARGO_MANIFEST_DIR"));
    let rd = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {dir}: {e}"));
    let mut files: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    let (mut with_entries, mut entries) = (0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        match feed::parse(&bytes, "https://corpus.example/feed") {
            Ok(doc) if !doc.entries.is_empty() => {
                with_entries += 1;
                entries += doc.entries.len();
                // Identity must be stable and bounded on real data too.
                let again = feed::parse(&bytes, "https://corpus.example/feed")
                    .map(|d| d.entries)
                    .unwrap_or_default();
                assert!(doc
                    .entries
                    .iter()
                    .zip(&again)
                    .all(|(a, b)| a.identity == b.identity && a.fingerprint == b.fingerprint));
                assert!(doc
                    .entries
                    .iter()
                    .all(|e| !e.identity.is_empty() && e.identity.len() <= 512));
                for e in feed::newest(&doc.entries, 2) {
                    let c = e.clean(1_800_000_000_000);
                    assert!(
                        !c.content_html.to_ascii_lowercase().contains("<script"),
                        "{}",
                        path.display()
                    );
                }
            }
            Ok(_) => failures.push(format!("{}: no entries", path.display())),
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    println!(
        "corpus coverage: {with_entries}/{} feeds yield entries ({entries} entries)",
        files.len()
    );
    for f in &failures {
        println!("  not read: {f}");
    }
    assert!(
        with_entries >= FLOOR,
        "coverage dropped: {with_entries} < {FLOOR}\n{}",
        failures.join("\n")
    );
}
