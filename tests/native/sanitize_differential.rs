//! Ours against ammonia (the reference, with the same allow-list and URL rules) over every entry
//! body of the real corpus and the fuzz inputs: wherever they differ, ours is the stricter one —
//! no element, attribute or URL that ammonia drops survives in ours. Prints what differs, by kind.

use std::cell::RefCell;
use std::collections::BTreeMap;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use orrery::core::feed::sanitize;

use crate::support::{rcdom, sanitize_inputs as inputs, sanitize_reference as reference};

/// html5ever's tree of `html` as ammonia parses it (a fragment in a `div`) and as a browser
/// parses a page (the body of a document), serialized: where they differ, ammonia's reading is
/// not the browser's, and the comparison with it says nothing about safety.
fn ammonia_parse_is_not_the_browsers(html: &str) -> bool {
    use html5ever::serialize::{serialize, SerializeOpts, TraversalScope};
    use html5ever::tendril::TendrilSink;
    use html5ever::{local_name, ns, QualName};
    fn children(h: &rcdom::Handle) -> String {
        let mut out = Vec::new();
        let opts = SerializeOpts {
            traversal_scope: TraversalScope::ChildrenOnly(None),
            ..Default::default()
        };
        let _ = serialize(&mut out, &rcdom::SerializableHandle::from(h.clone()), opts);
        String::from_utf8_lossy(&out).into_owned()
    }
    fn find(h: &rcdom::Handle, name: &str) -> Option<rcdom::Handle> {
        if matches!(&h.data, rcdom::NodeData::Element { name: n, .. } if &*n.local == name) {
            return Some(h.clone());
        }
        h.children.borrow().iter().find_map(|c| find(c, name))
    }
    let ctx = QualName::new(None, ns!(html), local_name!("div"));
    let frag = html5ever::parse_fragment(
        rcdom::RcDom::default(),
        Default::default(),
        ctx,
        vec![],
        false,
    )
    .one(html);
    let doc = html5ever::parse_document(rcdom::RcDom::default(), Default::default())
        .one(format!("<!DOCTYPE html><body><div>{html}"));
    let a = find(&frag.document, "html").map(|h| children(&h));
    let b = find(&doc.document, "div").map(|h| children(&h));
    a != b
}

/// What an output keeps, counted: `<el>`, `el[attr=value]` and the text.
#[derive(Default)]
struct Kept {
    features: BTreeMap<String, usize>,
    text: String,
}

struct Collect(RefCell<Kept>);

impl TokenSink for Collect {
    type Handle = ();
    fn process_token(&self, token: Token, _: u64) -> TokenSinkResult<()> {
        let mut k = self.0.borrow_mut();
        match token {
            Token::TagToken(t) if t.kind == TagKind::StartTag => {
                *k.features.entry(format!("<{}>", t.name)).or_default() += 1;
                for a in &t.attrs {
                    let key = format!("{}[{}={}]", t.name, a.name.local, a.value);
                    *k.features.entry(key).or_default() += 1;
                }
            }
            Token::CharacterTokens(s) => k.text.push_str(&s),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn kept(html: &str) -> Kept {
    let tok = Tokenizer::new(
        Collect(RefCell::new(Kept::default())),
        TokenizerOpts::default(),
    );
    let q = BufferQueue::default();
    q.push_back(StrTendril::from_slice(html));
    let _ = tok.feed(&q);
    tok.end();
    tok.sink.0.into_inner()
}

/// The kind of a feature, for the summary: `<b>` stays, `a[href=…]` becomes `a[href]`.
fn kind(feature: &str) -> String {
    match feature.find('=') {
        Some(i) => format!("{}]", &feature[..i]),
        None => feature.to_string(),
    }
}

#[derive(Default)]
struct Report {
    inputs: usize,
    identical: usize,
    /// Same elements, attributes and text (attributes perhaps in another order).
    same: usize,
    text_differs: usize,
    /// Kinds ammonia keeps more of than ours: inputs, occurrences.
    stricter: BTreeMap<String, (usize, usize)>,
    /// Features ours keeps that ammonia drops (must stay empty).
    looser: Vec<String>,
    /// Inputs where ours keeps more, but ammonia's fragment parse is not a browser's.
    parser_disagrees: Vec<String>,
}

fn compare(inputs: &[inputs::Input]) -> Report {
    let mut r = Report::default();
    for input in inputs {
        r.inputs += 1;
        let ours = sanitize::clean(&input.html, input.base.as_ref());
        let theirs = reference::ammonia_clean(&input.html, input.base.as_ref());
        if ours == theirs {
            r.identical += 1;
            continue;
        }
        let (o, t) = (kept(&ours), kept(&theirs));
        if o.text != t.text {
            r.text_differs += 1;
        } else if o.features == t.features {
            r.same += 1;
        }
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for (f, &n) in &t.features {
            let mine = o.features.get(f).copied().unwrap_or(0);
            if n > mine {
                *kinds.entry(kind(f)).or_default() += n - mine;
            }
        }
        for (k, n) in kinds {
            let e = r.stricter.entry(k).or_default();
            e.0 += 1;
            e.1 += n;
        }
        let looser = o
            .features
            .iter()
            .any(|(f, &n)| n > t.features.get(f).copied().unwrap_or(0));
        if looser && ammonia_parse_is_not_the_browsers(&input.html) {
            r.parser_disagrees.push(input.label.clone());
            continue;
        }
        for (f, &n) in &o.features {
            let theirs_n = t.features.get(f).copied().unwrap_or(0);
            if n > theirs_n && r.looser.len() < 20 {
                r.looser.push(format!(
                    "{}: ours keeps {f} ×{n}, ammonia ×{theirs_n}\n  input:   {:?}\n  ours:    {ours:?}\n  ammonia: {theirs:?}",
                    input.label, input.html.chars().take(600).collect::<String>()
                ));
            }
        }
    }
    r
}

fn print(name: &str, r: &Report) {
    eprintln!(
        "{name}: {} inputs; {} identical to ammonia's output, {} the same but for attribute order; {} with other text",
        r.inputs, r.identical, r.same, r.text_differs
    );
    eprintln!(
        "  where ours keeps more but html5ever reads ammonia's fragment unlike a page: {:?}",
        r.parser_disagrees
    );
    eprintln!("  kept by ammonia, not by ours (kind: inputs, occurrences):");
    for (k, (inputs, n)) in &r.stricter {
        eprintln!("    {k}: {inputs}, {n}");
    }
}

fn assert_stricter(name: &str, r: &Report) {
    print(name, r);
    assert!(
        r.looser.is_empty(),
        "{name}: ours keeps what ammonia drops:\n{}",
        r.looser.join("\n")
    );
}

#[test]
#[cfg_attr(
    corpus_absent,
    ignore = "../shared/corpus/real-feeds is absent: the differential test needs it"
)]
fn on_the_real_corpus_ours_keeps_nothing_ammonia_drops() {
    let dir = inputs::corpus_dir().expect("corpus");
    let all = inputs::corpus_inputs(&dir);
    assert!(all.len() > 5_000, "corpus entries: {}", all.len());
    let r = compare(&all);
    assert_stricter("corpus", &r);
    // Real feeds are mostly well-formed: nearly every entry comes out as ammonia's does.
    let same = r.identical + r.same;
    assert!(same * 10 >= r.inputs * 9, "the same: {same}/{}", r.inputs);
}

#[test]
fn on_fuzz_inputs_ours_keeps_nothing_ammonia_drops() {
    let r = compare(&inputs::fuzz_inputs(6_000));
    assert_stricter("fuzz", &r);
}

#[test]
fn the_comparison_catches_a_looser_sanitizer() {
    // The check itself: a kept `onerror`, a kept `<script>`, a `javascript:` href all count.
    let o = kept(r#"<img src="x" onerror="y"><script></script><a href="javascript:z">"#);
    let t = kept(r#"<img src="x">"#);
    let looser: Vec<_> = o
        .features
        .keys()
        .filter(|f| !t.features.contains_key(*f))
        .collect();
    assert_eq!(
        looser,
        ["<a>", "<script>", "a[href=javascript:z]", "img[onerror=y]"]
    );
}
