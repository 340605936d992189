//! What the sanitizer tests run over: every entry body of the real corpus (exactly what
//! `RawEntry::clean` hands the sanitizer), and fuzz inputs (hostile snippets and fixture
//! bodies, mutated with markup that parsers disagree on).

use orrery::core::feed;
use url::Url;

use super::rng::Rng;

/// One sanitizer input and the base its relative URLs resolve against.
pub struct Input {
    pub label: String,
    pub html: String,
    pub base: Option<Url>,
}

/// The corpus folder, if this checkout has it.
pub fn corpus_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real-feeds");
    dir.is_dir().then_some(dir)
}

/// Every entry body of every feed in `dir` (files in name order).
pub fn corpus_inputs(dir: &std::path::Path) -> Vec<Input> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(doc) = feed::parse(&bytes, "https://corpus.example/feed") else {
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (i, e) in doc.entries.iter().enumerate() {
            if let Some((html, base, _)) = e.sanitizer_input() {
                out.push(Input {
                    label: format!("{name}#{i}"),
                    html,
                    base,
                });
            }
        }
    }
    out
}

/// Known mutation-XSS and parser-differential shapes, and plain hostile markup.
pub const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<math><mi><mglyph><svg><mtext><textarea><path id=\"</textarea><img onerror=alert(1) src=1>\">",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    "<svg><![CDATA[</svg><img src=x onerror=alert(1)>]]></svg>",
    "<template><img src=x onerror=alert(1)></template>",
    "<select><style></select><img src=x onerror=alert(1)></style></select>",
    "<table><tr><td><svg><desc><style></td><img src=x onerror=alert(1)></style></desc></svg></td></tr></table>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe><iframe><img src=x></iframe>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<title><img src=x onerror=alert(1)></title>",
    "<plaintext><img src=x onerror=alert(1)>",
    "<a href=x><a href=y>nested</a></a></article></main>",
    "</div></article><p>escape",
    "<p>a<div>b</div>c</p>",
    "<table>text<tr><td>1<td>2</table>after",
    "<table><div>foster</div><tr><th>h</th></tr></table>",
    "<b><i>misnested</b></i>",
    "<pre>\n\nfirst lines</pre>",
    "<ul><li>a<li>b<ol><li>c</ul>",
    "<dl><dt>t<dd>d<dt>t2</dl>",
    "<ruby>漢<rp>(</rp><rt>kan<rt>ji</ruby>",
    "<video src=\"data:video/mp4,x\" poster=\"/p.png\"><source src=\"mailto:x@y\"></video>",
    "<img src=\"//cdn.example/a.png\" id=\"x\" class=\"c\" style=\"color:red\">",
    "<a href=\"mailto:me@example.com\" id=top name=n>mail</a>",
    "<object data=\"javascript:alert(1)\"><embed src=\"javascript:alert(1)\"></object>",
    "<base href=\"javascript:alert(1)//\"><a href=\"/x\">rel</a>",
    "<!-- <img src=x onerror=alert(1)> -->text<!--",
    "<?php echo 1 ?><!DOCTYPE html><html><body onload=alert(1)>",
    "<h1><h2>headings</h1></h2>",
    "<col><caption>c</caption><tr><td>outside</td></tr>",
    "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &nbsp; &#0; &#xD800;",
];

/// Markup spliced in by the mutations.
const TOKENS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "\"",
    "'",
    "=",
    "&",
    "&amp;",
    "&#0;",
    "\0",
    "\r\n",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<svg>",
    "</svg>",
    "<math>",
    "</math>",
    "<mtext>",
    "<mglyph>",
    "<annotation-xml encoding=\"text/html\">",
    "<foreignObject>",
    "<desc>",
    "<style>",
    "</style>",
    "<script>",
    "</script>",
    "<noscript>",
    "</noscript>",
    "<template>",
    "</template>",
    "<select>",
    "</select>",
    "<textarea>",
    "</textarea>",
    "<title>",
    "</title>",
    "<xmp>",
    "<iframe>",
    "</iframe>",
    "<plaintext>",
    "<table>",
    "</table>",
    "<tr>",
    "<td>",
    "</td>",
    "<th>",
    "<tbody>",
    "<caption>",
    "<colgroup>",
    "<col>",
    "<p>",
    "</p>",
    "<div>",
    "</div>",
    "<a href=\"javascript:alert(1)\">",
    "<a href=/rel>",
    "</a>",
    "<b>",
    "</b>",
    "<i>",
    "</i>",
    "<li>",
    "<ul>",
    "</ul>",
    "<dd>",
    "<dt>",
    "<h1>",
    "</h2>",
    "<pre>\n",
    "<br>",
    "</br>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"/i.png\" alt=\"a\">",
    "<font color=red>",
    "<ruby>",
    "<rt>",
    "<form>",
    "</form>",
    "<button>",
    "<article>",
    "</article>",
    "</main>",
    "<video poster=\"javascript:x\" src=/v.mp4>",
    "<source src=\"mailto:x\">",
    "<image src=/y>",
    "<object data=x>",
    "<embed src=x>",
    "<body onload=alert(1)>",
    "<html>",
    "<head>",
];

/// Fuzz inputs: `cases` mutations of the hostile snippets and of the fixture feeds' bodies.
pub fn fuzz_inputs(cases: usize) -> Vec<Input> {
    let mut seeds: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    let dir = format!("{}/tests/fixtures/feeds", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(doc) = feed::parse(&bytes, "https://fixture.example/feed") else {
            continue;
        };
        seeds.extend(
            doc.entries
                .iter()
                .filter_map(|e| e.sanitizer_input())
                .map(|(h, _, _)| h),
        );
    }
    let base = Url::parse("https://fuzz.example/dir/post").ok();
    let mut rng = Rng(0x005a_717e_5eed);
    let mut out: Vec<Input> = seeds
        .iter()
        .enumerate()
        .map(|(i, s)| Input {
            label: format!("seed {i}"),
            html: s.clone(),
            base: base.clone(),
        })
        .collect();
    for case in 0..cases {
        let src = &seeds[case % seeds.len()];
        out.push(Input {
            label: format!("fuzz case {case}"),
            html: mutate(&mut rng, src),
            base: base.clone(),
        });
    }
    out
}

fn mutate(rng: &mut Rng, src: &str) -> String {
    let mut s = src.to_string();
    for _ in 0..1 + rng.below(8) {
        let mut at = rng.below(s.len() + 1);
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        match rng.below(5) {
            0 | 1 => s.insert_str(at, TOKENS[rng.below(TOKENS.len())]),
            2 => {
                let mut end = (at + rng.below(40)).min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.replace_range(at..end, "");
            }
            3 => {
                let mut end = (at + rng.below(120)).min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                let copy = s[at..end].to_string();
                let mut to = rng.below(s.len() + 1);
                while !s.is_char_boundary(to) {
                    to -= 1;
                }
                s.insert_str(to, &copy);
            }
            _ => {
                let t = HOSTILE[rng.below(HOSTILE.len())];
                s.insert_str(at, t);
            }
        }
    }
    s
}
