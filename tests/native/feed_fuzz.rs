//! Property test: mutated fixture bytes never panic the parser, and sanitizing never emits script or event handlers.

use std::panic::{catch_unwind, AssertUnwindSafe};

use orrery::core::feed;

const CASES: usize = 3000;

use crate::support::rng::Rng;

const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#xD800;",
    b"&#x110000;",
    b"&nbsp",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"<?",
    b"<!DOCTYPE x [",
    b"</item>",
    b"<item>",
    b"<entry>",
    b"</entry>",
    b"\"",
    b"'",
    b"\0",
    b"\xff\xfe",
    b"\xe2\x82",
    b"\xf0\x9f\x98\x80",
    b"<script>alert(1)</script>",
    b"<img src=x onerror=alert(1)>",
    b"&lt;script&gt;alert(1)&lt;/script&gt;",
    b"&lt;img src=x onerror=alert(1)&gt;",
    b" xml:base=\"javascript:x/\"",
    b"<content type=\"xhtml\"><div><svg onload=alert(1)>",
    b"<a href=\"javascript:alert(1)\">",
    b"<a href=\"jav&#x09;ascript:alert(1)\">",
    b"<link href=\"javascript:alert(1)\"/>",
    b"<title>",
    b"</title>",
    b"<pubDate>Mon, 99 Foo 99999 99:99:99 +9999</pubDate>",
    b"{",
    b"}",
    b"[",
    b"\"items\":[{\"content_html\":\"<script>x</script>\"}]",
    b"\xef\xbb\xbf",
    b"\r\n",
    b"\x01\x1f",
];

fn fixtures() -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/fixtures/feeds", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let out: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(out.len() >= 10, "fixtures missing in {dir}");
    out
}

fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut b = src.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                b.splice(at..at, t.iter().copied());
            }
            1 if at < b.len() => b[at] = rng.next() as u8,
            2 => b.truncate(at),
            3 if at < b.len() => {
                let end = (at + rng.below(64)).min(b.len());
                b.drain(at..end);
            }
            4 if at < b.len() => {
                let end = (at + rng.below(200)).min(b.len());
                let copy = b[at..end].to_vec();
                let to = rng.below(b.len() + 1);
                b.splice(to..to, copy);
            }
            _ => {
                let n = rng.below(8);
                b.splice(at..at, (0..n).map(|_| rng.next() as u8));
            }
        }
    }
    b
}

/// An attribute named on… anywhere in a tag of the output.
fn has_event_handler(html: &str) -> bool {
    let h = html.to_ascii_lowercase();
    let b = h.as_bytes();
    let found = memchr_all(b, b" on").any(|i| {
        let rest = &b[i + 3..];
        let n = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
        n > 0 && rest.get(n) == Some(&b'=') && inside_tag(b, i)
    });
    found
}

fn inside_tag(b: &[u8], i: usize) -> bool {
    let lt = b[..i].iter().rposition(|c| *c == b'<');
    let gt = b[..i].iter().rposition(|c| *c == b'>');
    match (lt, gt) {
        (Some(l), Some(g)) => l > g,
        (Some(_), None) => true,
        _ => false,
    }
}

fn memchr_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    (0..hay.len().saturating_sub(needle.len() - 1)).filter(move |i| hay[*i..].starts_with(needle))
}

#[test]
fn mutated_feeds_never_panic_and_never_emit_script() {
    let seeds = fixtures();
    let mut rng = Rng(0x0dd_ba11_5eed);
    let mut entries = 0usize;
    for case in 0..CASES {
        let src = &seeds[case % seeds.len()];
        let bytes = mutate(&mut rng, src);
        let result = catch_unwind(AssertUnwindSafe(|| {
            let Ok(doc) = feed::parse(&bytes, "https://fuzz.example/feed") else {
                return Vec::new();
            };
            // Identity must not depend on anything but the bytes.
            if let Ok(again) = feed::parse(&bytes, "https://fuzz.example/feed") {
                for (a, b) in doc.entries.iter().zip(&again.entries) {
                    assert_eq!((&a.identity, &a.fingerprint), (&b.identity, &b.fingerprint));
                }
            }
            doc.entries
                .iter()
                .take(4)
                .map(|e| e.clean(1_800_000_000_000))
                .collect()
        }));
        let cleaned = match result {
            Ok(c) => c,
            Err(_) => panic!(
                "case {case} panicked; input: {:?}",
                String::from_utf8_lossy(&bytes)
            ),
        };
        for e in cleaned {
            entries += 1;
            let html = e.content_html.to_ascii_lowercase();
            assert!(!html.contains("<script"), "case {case}: {}", e.content_html);
            let b = html.as_bytes();
            for bad in [&b"javascript:"[..], b"vbscript:", b"data:"] {
                assert!(
                    !memchr_all(b, bad).any(|i| inside_tag(b, i)),
                    "case {case}: {}",
                    e.content_html
                );
            }
            assert!(
                !has_event_handler(&e.content_html),
                "case {case}: {}",
                e.content_html
            );
            assert!(
                !e.identity.is_empty() && e.identity.len() <= 512,
                "case {case}"
            );
            assert!(e.summary.chars().count() <= 300, "case {case}");
        }
    }
    assert!(
        entries > CASES / 2,
        "mutations should still yield entries: {entries}"
    );
    assert!(has_event_handler("<img src=x onerror=y>") && !has_event_handler("<p>go on=now</p>"));
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for len in 0..2000usize {
        let bytes: Vec<u8> = (0..len % 300).map(|_| rng.next() as u8).collect();
        let _ = feed::parse(&bytes, "");
    }
}
