//! The sanitizer's rules, one shape each: what a reader's page gets from hostile or broken markup.

use orrery::core::feed::sanitize::clean;
use url::Url;

fn san(html: &str) -> String {
    let base = Url::parse("https://blog.example/posts/1").ok();
    clean(html, base.as_ref())
}

#[test]
fn output_is_balanced_and_cannot_close_the_page() {
    assert_eq!(san("</div></article></main><p>x"), "<p>x</p>");
    assert_eq!(san("<b><i>x</b>y</i>"), "<b><i>x</i></b>y");
    assert_eq!(san("<ul><li>a<li>b</ul>"), "<ul><li>a</li><li>b</li></ul>");
    assert_eq!(san("<p>a<div>b</div>"), "<p>a</p><div>b</div>");
    assert_eq!(
        san("<table>junk<tr><td>1<td>2</table>"),
        "<table><tbody><tr><td>1</td><td>2</td></tr></tbody></table>"
    );
}

#[test]
fn foreign_content_and_unrendered_elements_go_whole() {
    assert_eq!(san("<svg><text>in svg</text></svg>after"), "after");
    assert_eq!(san("<math><mi>x</mi></math>after"), "after");
    assert_eq!(san("<template><b>t</b></template>after"), "after");
    assert_eq!(san("<noscript><img src=x></noscript>after"), "after");
    assert_eq!(
        san("<script>alert(1)</script><style>p{}</style>after"),
        "after"
    );
    assert_eq!(
        san("<svg><![CDATA[</svg><img src=x>]]></svg>after"),
        "after"
    );
    // Unknown HTML elements are unwrapped: their text stays.
    assert_eq!(
        san("<section><font color=red>kept</font></section>"),
        "kept"
    );
}

#[test]
fn attributes_and_urls_follow_the_allow_list() {
    assert_eq!(
        san(r#"<a href="/x" id="i" onclick="y" class="c">l</a>"#),
        r#"<a href="https://blog.example/x" rel="noopener noreferrer">l</a>"#
    );
    assert_eq!(
        san(r#"<a href="javascript:alert(1)">j</a><a href="mailto:a@b.example">m</a>"#),
        r#"<a rel="noopener noreferrer">j</a><a href="mailto:a@b.example" rel="noopener noreferrer">m</a>"#
    );
    assert_eq!(
        san(r#"<img src="mailto:x" alt="a"><image src="p.png">"#),
        concat!(
            r#"<img alt="a" loading="lazy" decoding="async" referrerpolicy="no-referrer">"#,
            r#"<img src="https://blog.example/posts/p.png" loading="lazy" decoding="async" referrerpolicy="no-referrer">"#
        )
    );
    assert_eq!(
        san(r#"<video src="data:video/mp4,x" poster="/p.png"></video>"#),
        r#"<video poster="https://blog.example/p.png" controls="" preload="none"></video>"#
    );
}

#[test]
fn text_is_escaped_and_plain_text_is_not_parsed() {
    assert_eq!(san("1 > 0 \u{a0}ok"), "1 &gt; 0 &nbsp;ok");
    assert_eq!(san("a &lt;b&gt; &amp; c"), "a &lt;b&gt; &amp; c");
    assert_eq!(
        san(r#"<p title="&quot;<x>">t</p>"#),
        r#"<p title="&quot;&lt;x&gt;">t</p>"#
    );
    assert_eq!(san("<pre>\n\ncode</pre>"), "<pre>code</pre>");
}

#[test]
fn deep_nesting_stays_cheap_and_balanced() {
    // 40,000 open elements inside a removed svg, then as many stray end tags: bounded
    // searches keep this linear; the svg's content still goes whole.
    let deep = format!(
        "<svg>{}{}</svg>after",
        "<g>".repeat(40_000),
        "</x>".repeat(40_000)
    );
    assert_eq!(san(&deep), "");
    // Allowed elements nest to a bound; deeper tags are dropped, their text kept.
    let nested = format!("{}x{}", "<b>".repeat(1_000), "</b>".repeat(1_000));
    let out = san(&nested);
    assert_eq!(out.matches("<b>").count(), out.matches("</b>").count());
    assert!(out.matches("<b>").count() < 300 && out.contains('x'));
}
