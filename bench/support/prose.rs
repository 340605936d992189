//! The synthetic blog post the cost examples clean and match (`clean_cost.rs`, `live_match_cost.rs`).

/// A blog post's mix: paragraphs with links and emphasis, a list, an image, a highlighted
/// code block (a span per token, the densest markup real posts have).
pub fn prose(kib: usize) -> String {
    let chunk = concat!(
        "<p>Lorem ipsum <a href=\"/posts/other?ref=1&amp;x=2\">dolor sit</a> amet, <em>consectetur</em> ",
        "adipiscing elit, sed do eiusmod tempor &mdash; incididunt ut labore et dolore magna aliqua. ",
        "Ut enim ad minim veniam, quis <strong>nostrud</strong> exercitation ullamco laboris.</p>\n",
        "<ul><li>one <code>item</code></li><li>two</li><li><a href=\"https://ex.com/a\">three</a></li></ul>\n",
        "<p><img src=\"/img/pic.png\" alt=\"a picture\" width=\"640\" height=\"480\"></p>\n",
        "<pre><code><span class=\"k\">fn</span> <span class=\"nf\">main</span>() { ",
        "<span class=\"n\">println!</span>(<span class=\"s\">&quot;hi&quot;</span>); }</code></pre>\n",
    );
    let mut s = String::with_capacity(kib * 1024 + chunk.len());
    while s.len() < kib * 1024 {
        s.push_str(chunk);
    }
    s.truncate(s[..kib * 1024].rfind('\n').map_or(0, |p| p + 1));
    s
}
