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

/// Real feeds that begin each body with the title again as a heading (`<h1>`, `<h2 id>`,
/// `<h1>` with whitespace around the text, `<h3>` holding a link): the stored body starts
/// after it, and nothing else of it goes.
#[test]
#[cfg_attr(
    corpus_absent,
    ignore = "../shared/corpus/real-feeds is absent: repeated titles not checked"
)]
fn a_first_heading_repeating_the_title_is_dropped_on_real_feeds() {
    let dir = format!("{}/../shared/corpus/real-feeds", env!("CARGO_MANIFEST_DIR"));
    for (file, title, starts) in [
        (
            "01b5e6081cb62f3d",
            "How to Write a Discord Bot in Rust",
            "<p>Discord is an instant message platform",
        ),
        (
            "1cc034d2831f54bb",
            "OpenPGP Certificate Flooding",
            "<p>My public cryptographic identity",
        ),
        ("35be371946f6445a", "Own A Graph", "<p><a href="),
        (
            "69dbdb52a6123ad2",
            "Python to Clojure: A Gentle Guide for Pythonistas",
            "<p>Python is the world",
        ),
        (
            "aa10cabf666af651",
            "LetsEncrypt with HAProxy",
            "<p>This is a video",
        ),
    ] {
        let bytes = std::fs::read(format!("{dir}/{file}")).expect("corpus file");
        let doc = feed::parse(&bytes, "https://corpus.example/feed").expect("parses");
        let raw = doc
            .entries
            .iter()
            .find(|e| e.title == title)
            .unwrap_or_else(|| panic!("{file}: no entry {title:?}"));
        let body = raw.clean(1_800_000_000_000).content_html;
        assert!(
            body.starts_with(starts),
            "{file}: {title:?} body starts {:?}",
            &body[..body.len().min(160)]
        );
        // The same body under another title keeps its heading: only a repeat goes.
        let mut other = raw.clone();
        other.title = "Something else".into();
        let kept = other.clean(1_800_000_000_000).content_html;
        assert!(
            kept.starts_with("<h"),
            "{file}: {:?}",
            &kept[..kept.len().min(80)]
        );
        assert!(kept.ends_with(&body), "{file}: more than the heading went");
    }
}
