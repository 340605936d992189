//! The README stays a front door and the manual in docs/ has no dead relative link.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The README's most bytes: what it is, a picture, the two commands, a tour and links.
const README_MAX_BYTES: u64 = 10 * 1024;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file under docs/, sorted.
fn manual_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("docs/ is readable") {
            let path = entry.expect("a docs/ entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut files = vec![root().join("README.md")];
    walk(&root().join("docs"), &mut files);
    files.sort();
    files
}

/// The text outside fenced code blocks and inline code spans, same length in lines: code is
/// blanked (newlines kept) so neither its links nor its `#` comments count.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fenced = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
        } else if fenced {
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    // Inline code: a run of n backticks opens a span that the next run of n closes, across lines.
    let chars: Vec<char> = out.chars().collect();
    let mut kept = String::with_capacity(out.len());
    let mut open: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let run = chars[i..].iter().take_while(|&&c| c == '`').count();
            match open {
                None => open = Some(run),
                Some(n) if n == run => open = None,
                Some(_) => {}
            }
            i += run;
            continue;
        }
        if chars[i] == '\n' {
            // A code span never crosses a blank line (it ends the paragraph).
            let next_line = chars[i + 1..].iter().take_while(|&&c| c != '\n');
            if next_line.clone().all(|c| c.is_whitespace()) {
                open = None;
            }
        }
        if open.is_none() || chars[i] == '\n' {
            kept.push(chars[i]);
        }
        i += 1;
    }
    kept
}

/// Every link target `](target)` in the prose of `text`, with its line number (from 1).
fn links(text: &str) -> Vec<(usize, String)> {
    let prose = prose(text);
    let mut found = Vec::new();
    let mut rest = prose.as_str();
    let mut offset = 0;
    while let Some(at) = rest.find("](") {
        let start = at + 2;
        let target: String = rest[start..]
            .chars()
            .take_while(|&c| c != ')' && !c.is_whitespace())
            .collect();
        let line = prose[..offset + at].matches('\n').count() + 1;
        found.push((line, target));
        offset += start;
        rest = &rest[start..];
    }
    found
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, every other character that is not
/// a letter, digit, `-` or `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of every ATX heading in the prose of `text`; a repeated one gets `-1`, `-2`…
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in prose_headings(text) {
        let base = slug(&line);
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// The text of each heading line (`#` to `######` then a space), outside fenced code.
fn prose_headings(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut headings = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !fenced && (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            headings.push(line[hashes..].trim().trim_end_matches('#').to_string());
        }
    }
    headings
}

/// `base` joined with `target`, `.` and `..` resolved without touching the file system.
fn resolve(base: &Path, target: &str) -> PathBuf {
    let mut path = PathBuf::new();
    for part in base.join(target).components() {
        match part {
            Component::ParentDir => {
                path.pop();
            }
            Component::CurDir => {}
            other => path.push(other),
        }
    }
    path
}

/// The dead relative links of `text`, a Markdown file at `file`: "file:line: target (why)".
/// Web and mail links are not followed; an anchor into a Markdown file must name a heading.
fn dead_links(file: &Path, text: &str) -> Vec<String> {
    let dir = file.parent().expect("a file has a folder");
    let shown = file.strip_prefix(root()).unwrap_or(file).display();
    let mut dead = Vec::new();
    for (line, target) in links(text) {
        if target.is_empty()
            || ["http://", "https://", "mailto:"]
                .iter()
                .any(|p| target.starts_with(p))
        {
            continue;
        }
        let (path_part, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target.as_str(), None),
        };
        let path = if path_part.is_empty() {
            file.to_path_buf()
        } else if let Some(from_root) = path_part.strip_prefix('/') {
            resolve(&root(), from_root)
        } else {
            resolve(dir, path_part)
        };
        if !path.exists() {
            dead.push(format!("{shown}:{line}: {target} (no such file)"));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let linked = if path == file {
            text.to_string()
        } else {
            fs::read_to_string(&path).expect("a linked Markdown file is readable")
        };
        if !anchors(&linked).contains(anchor) {
            dead.push(format!("{shown}:{line}: {target} (no such heading)"));
        }
    }
    dead
}

#[test]
fn the_readme_is_at_most_10_kb() {
    let bytes = fs::metadata(root().join("README.md"))
        .expect("README.md")
        .len();
    assert!(
        bytes <= README_MAX_BYTES,
        "README.md is {bytes} bytes, over {README_MAX_BYTES}: move the detail into docs/ and link it"
    );
}

#[test]
fn every_relative_link_in_the_manual_resolves() {
    let mut dead = Vec::new();
    for file in manual_files() {
        let text = fs::read_to_string(&file).expect("a manual page is readable");
        dead.extend(dead_links(&file, &text));
    }
    assert!(dead.is_empty(), "dead links:\n{}", dead.join("\n"));
}

#[test]
fn every_manual_page_is_linked_from_the_readme_and_the_docs_index() {
    let readme = fs::read_to_string(root().join("README.md")).expect("README.md");
    let index = fs::read_to_string(root().join("docs/README.md")).expect("docs/README.md");
    let from_readme: BTreeSet<String> = links(&readme).into_iter().map(|(_, t)| t).collect();
    let from_index: BTreeSet<String> = links(&index).into_iter().map(|(_, t)| t).collect();
    let mut missing = Vec::new();
    for file in manual_files() {
        let Ok(in_docs) = file.strip_prefix(root().join("docs")) else {
            continue;
        };
        let in_docs = in_docs.to_string_lossy().replace('\\', "/");
        if in_docs == "README.md" {
            continue;
        }
        let linked = |links: &BTreeSet<String>, target: &str| {
            links
                .iter()
                .any(|l| l == target || l.starts_with(&format!("{target}#")))
        };
        if !linked(&from_readme, &format!("docs/{in_docs}")) {
            missing.push(format!("README.md does not link docs/{in_docs}"));
        }
        if !linked(&from_index, &in_docs) {
            missing.push(format!("docs/README.md does not link {in_docs}"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_link_check_catches_a_planted_dead_link_and_a_planted_dead_anchor() {
    let file = root().join("docs/README.md");
    let text = "A [page](tour.md), [a heading](tour.md#keyboard-and-accessibility) and \
                [the front door](../README.md#two-commands) that exist.\n\
                A [planted dead link](no-such-page.md) and, on the next line,\n\
                a [planted dead anchor](tour.md#no-such-heading).\n\
                Not followed: [the web](https://example.com/missing.md), `[code](nowhere.md)`,\n\
                ```sh\n[fenced](nowhere.md)\n```\n";
    let dead = dead_links(&file, text);
    assert_eq!(
        dead,
        [
            "docs/README.md:2: no-such-page.md (no such file)",
            "docs/README.md:3: tour.md#no-such-heading (no such heading)",
        ],
        "{dead:#?}"
    );
}

#[test]
fn anchors_follow_githubs_slugs() {
    assert_eq!(slug("The secret: `ADMIN_TOKEN`"), "the-secret-admin_token");
    assert_eq!(
        slug("Past one object's 32,768 sockets: sharded rooms"),
        "past-one-objects-32768-sockets-sharded-rooms"
    );
    assert_eq!(
        slug("The edge cache and `*.workers.dev`"),
        "the-edge-cache-and-workersdev"
    );
    let repeated = anchors("# Notes\n\n```sh\n# not a heading\n```\n## Notes\n### Notes\n");
    assert_eq!(
        repeated.into_iter().collect::<Vec<_>>(),
        ["notes", "notes-1", "notes-2"]
    );
}
