//! Our output is what a browser reads: re-parsed inside `<article>` by html5ever's tree builder
//! (the HTML standard's algorithm), every output of the corpus and of the fuzz inputs stays
//! inside the article and serializes back to itself, byte for byte.

use html5ever::serialize::{serialize, SerializeOpts, TraversalScope};
use html5ever::tendril::TendrilSink;
use html5ever::{parse_document, ParseOpts};
use orrery::core::feed::sanitize;

use crate::support::rcdom::{Handle, NodeData, RcDom, SerializableHandle};
use crate::support::sanitize_inputs as inputs;

fn element(h: &Handle) -> Option<String> {
    match &h.data {
        NodeData::Element { name, .. } => Some(name.local.to_string()),
        _ => None,
    }
}

fn find(h: &Handle, name: &str) -> Option<Handle> {
    if element(h).as_deref() == Some(name) {
        return Some(h.clone());
    }
    h.children.borrow().iter().find_map(|c| find(c, name))
}

/// None when `html`, placed in an article of a page, stays there and serializes back to itself.
fn instability(html: &str) -> Option<String> {
    let page = format!("<!DOCTYPE html><html><head></head><body><article>{html}</article><footer>end</footer></body></html>");
    let dom = parse_document(RcDom::default(), ParseOpts::default()).one(page);
    let body = find(&dom.document, "body")?;
    let kids: Vec<Option<String>> = body.children.borrow().iter().map(element).collect();
    if kids != [Some("article".to_string()), Some("footer".to_string())] {
        return Some(format!("the page's body became {kids:?}"));
    }
    let article = body.children.borrow()[0].clone();
    let mut out = Vec::new();
    let opts = SerializeOpts {
        traversal_scope: TraversalScope::ChildrenOnly(None),
        ..Default::default()
    };
    serialize(&mut out, &SerializableHandle::from(article), opts).ok()?;
    let again = String::from_utf8(out).ok()?;
    (again != html).then(|| format!("re-serialized as {again:?}"))
}

fn check(inputs: &[inputs::Input]) -> usize {
    let mut failures = Vec::new();
    for input in inputs {
        let ours = sanitize::clean(&input.html, input.base.as_ref());
        if let Some(why) = instability(&ours) {
            if failures.len() < 10 {
                failures.push(format!(
                    "{}: {why}\n  input: {:?}\n  ours:  {ours:?}",
                    input.label,
                    input.html.chars().take(600).collect::<String>()
                ));
            } else {
                failures.push(String::new());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} unstable outputs:\n{}",
        failures.len(),
        failures.join("\n")
    );
    inputs.len()
}

#[test]
#[cfg_attr(
    corpus_absent,
    ignore = "../shared/corpus/real-feeds is absent: the stability test needs it"
)]
fn corpus_outputs_reparse_to_themselves() {
    let dir = inputs::corpus_dir().expect("corpus");
    let n = check(&inputs::corpus_inputs(&dir));
    assert!(n > 5_000, "{n}");
}

#[test]
fn fuzz_outputs_reparse_to_themselves() {
    check(&inputs::fuzz_inputs(6_000));
}

#[test]
fn the_check_catches_markup_that_moves() {
    assert!(instability("<p>ok</p>").is_none());
    assert!(instability("</article><p>out").is_some());
    assert!(instability("<p><div>x</div></p>").is_some());
    assert!(instability("<table>text</table>").is_some());
    assert!(instability("a & b").is_some());
}
