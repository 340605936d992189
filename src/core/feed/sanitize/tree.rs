//! The sanitizer proper: html5ever's tokenizer feeding an open-element stack.
//!
//! The stack writes balanced, escaped HTML, applying the HTML tree builder's rules that
//! matter for our elements.
//!
//! Why a tokenizer and not a DOM: building, cleaning and serializing a tree is most of what
//! ammonia costs. Why it is safe: the output holds only allow-listed elements, each opened and
//! closed explicitly in an order the HTML parser keeps (no implied end tags, no foster
//! parenting, no formatting-element reconstruction), with text and attribute values escaped,
//! so a browser parses it into exactly the tree we wrote (tests/sanitize_stability.rs checks
//! that with html5ever's tree builder). Everything the tokenizer reads as raw text (script,
//! style, …), foreign content (svg, math), `template` and `noscript` are removed
//! whole, with the tokenizer switched the way the tree builder would switch it, so their
//! contents can never be read as our markup.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::{Attribute, LocalName};
use url::Url;

use super::elements::{
    breaks_out, closes_p, closes_p_other, foreign_named, in_table_structure, integration_point,
    is_heading, is_special, is_special_removed, is_table_part, is_void_html, Ns,
};
use super::escape::{escape_attr, escape_text};
use super::policy::{self, El};

/// Deeper nesting is flattened (the tags beyond it dropped, their text kept): browsers cap
/// their parsers' depth too (Blink at 512), and a bound keeps every walk of the stack short.
const MAX_DEPTH: usize = 256;

/// Sanitizes `html`: see the module doc. Relative URLs resolve against `base`.
pub fn clean(html: &str, base: Option<&Url>) -> String {
    let sink = Sink(RefCell::new(State {
        out: String::with_capacity(html.len() + html.len() / 8),
        open: Vec::new(),
        removed: Vec::new(),
        pre_start: false,
        base,
    }));
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // Our sink never hands back a script to run, so one feed reads everything.
    let _ = tok.feed(&input);
    tok.end();
    tok.sink.0.into_inner().out
}

struct Sink<'u>(RefCell<State<'u>>);

impl TokenSink for Sink<'_> {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        self.0.borrow_mut().token(token)
    }

    /// Inside svg or math (where we remove everything), `<![CDATA[` starts text, as the
    /// tree builder tells its tokenizer; elsewhere it is a bogus comment.
    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.0
            .borrow()
            .removed
            .last()
            .is_some_and(|r| r.ns != Ns::Html)
    }
}

/// An open element of a subtree being removed whole: only tracked so we know where it ends
/// and how the tokenizer must read what is inside.
struct Removed {
    name: LocalName,
    ns: Ns,
    /// An svg/math element whose content the parser reads as HTML.
    integration: bool,
}

struct State<'u> {
    out: String,
    /// The allowed elements written and not yet closed, outermost first.
    open: Vec<El>,
    /// The subtree being removed, outermost first (empty: not removing).
    removed: Vec<Removed>,
    /// Just after `<pre>`: the parser drops a newline here, so we do too (all of them: a
    /// second one would be dropped when the browser reads our output, which would then
    /// differ from what we wrote).
    pre_start: bool,
    base: Option<&'u Url>,
}

impl State<'_> {
    fn token(&mut self, token: Token) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) if self.removed.is_empty() => return self.tag(tag),
            Token::TagToken(tag) => return self.removed_tag(tag),
            Token::CharacterTokens(text) if self.removed.is_empty() => self.text(&text),
            Token::EOFToken => self.close_to(0),
            // Comments, doctypes, NULs (the parser ignores them in body text), parse
            // errors, and any text inside a removed subtree.
            _ => {}
        }
        TokenSinkResult::Continue
    }

    fn text(&mut self, text: &str) {
        // Text directly in a table's structure would be moved before the table by the
        // parser ("foster parenting"); whitespace there means nothing: drop both.
        if self.open.last().is_some_and(|&e| in_table_structure(e)) {
            return;
        }
        let text = if self.pre_start {
            let rest = text.trim_start_matches('\n');
            if rest.is_empty() {
                return;
            }
            rest
        } else {
            text
        };
        self.pre_start = false;
        escape_text(text, &mut self.out);
    }

    fn tag(&mut self, tag: Tag) -> TokenSinkResult<()> {
        // The parser reads `<image>` as `<img>` (real posts have it, and MDX's `<Image>`).
        let el = match &*tag.name {
            "image" if tag.kind == TagKind::StartTag => Some(El::Img),
            name => El::from_name(name),
        };
        match (tag.kind, el) {
            (TagKind::StartTag, Some(el)) => self.start(el, &tag.attrs),
            (TagKind::EndTag, Some(el)) => self.end(el),
            (TagKind::StartTag, None) => return self.start_other(tag),
            (TagKind::EndTag, None) => {}
        }
        TokenSinkResult::Continue
    }

    /// A start tag that is not on the allow-list: removed whole, or dropped (its content
    /// then stays, unwrapped).
    fn start_other(&mut self, tag: Tag) -> TokenSinkResult<()> {
        let switch = match &*tag.name {
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            // `noscript` is raw text to a browser that runs scripts (and to ammonia's parser).
            "style" | "iframe" | "noembed" | "noframes" | "noscript" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "xmp" => {
                self.close_p();
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "textarea" | "title" => TokenSinkResult::RawData(RawKind::Rcdata),
            "plaintext" => {
                self.close_p();
                TokenSinkResult::Plaintext
            }
            "template" => TokenSinkResult::Continue,
            "svg" | "math" if tag.self_closing => return TokenSinkResult::Continue,
            "svg" | "math" => TokenSinkResult::Continue,
            name if is_void_html(name) => return TokenSinkResult::Continue,
            // An HTML element named like an svg or MathML one (`<mtext>`, `<path>` outside
            // svg): ammonia removes it with its content, so we do too.
            name if foreign_named(name) => TokenSinkResult::Continue,
            name => {
                if closes_p_other(name) {
                    self.close_p();
                }
                return TokenSinkResult::Continue;
            }
        };
        let ns = match &*tag.name {
            "svg" => Ns::Svg,
            "math" => Ns::Math,
            _ => Ns::Html,
        };
        self.removed.push(Removed {
            name: tag.name,
            ns,
            integration: false,
        });
        switch
    }

    /// A tag inside a subtree being removed: nothing is written; we follow the parser far
    /// enough to know where the subtree ends and to switch the tokenizer as it would. Where we
    /// cannot be sure, we err towards staying inside (removing more).
    fn removed_tag(&mut self, tag: Tag) -> TokenSinkResult<()> {
        self.removed_tag_as(tag, false)
    }

    /// `html`: by the HTML rules whatever the current node (after leaving foreign content).
    fn removed_tag_as(&mut self, tag: Tag, html: bool) -> TokenSinkResult<()> {
        let Some(top) = self.removed.last() else {
            return self.tag(tag);
        };
        let name = &*tag.name;
        // The tree builder's dispatch: HTML rules in HTML elements and, for start tags, at
        // integration points; foreign-content rules elsewhere.
        let html_rules = html
            || top.ns == Ns::Html
            || (tag.kind == TagKind::StartTag
                && ((top.integration
                    && !(top.ns == Ns::Math && matches!(name, "mglyph" | "malignmark")))
                    || (&*top.name == "annotation-xml" && name == "svg")));
        match tag.kind {
            TagKind::StartTag if !html_rules && breaks_out(&tag) => {
                self.leave_foreign();
                self.removed_tag_as(tag, true)
            }
            TagKind::StartTag if !html_rules => {
                if !tag.self_closing {
                    let ns = top.ns;
                    let integration = integration_point(ns, &tag);
                    self.removed.push(Removed {
                        name: tag.name,
                        ns,
                        integration,
                    });
                }
                TokenSinkResult::Continue
            }
            TagKind::StartTag => {
                let (ns, switch) = match name {
                    "svg" | "math" if tag.self_closing => return TokenSinkResult::Continue,
                    "svg" => (Ns::Svg, TokenSinkResult::Continue),
                    "math" => (Ns::Math, TokenSinkResult::Continue),
                    "script" => (Ns::Html, TokenSinkResult::RawData(RawKind::ScriptData)),
                    "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                        (Ns::Html, TokenSinkResult::RawData(RawKind::Rawtext))
                    }
                    "textarea" | "title" => (Ns::Html, TokenSinkResult::RawData(RawKind::Rcdata)),
                    "plaintext" => (Ns::Html, TokenSinkResult::Plaintext),
                    name if is_void_html(name) => return TokenSinkResult::Continue,
                    _ => (Ns::Html, TokenSinkResult::Continue),
                };
                self.removed.push(Removed {
                    name: tag.name,
                    ns,
                    integration: false,
                });
                switch
            }
            TagKind::EndTag if !html_rules && matches!(name, "br" | "p") => {
                self.leave_foreign();
                self.removed_tag_as(tag, true)
            }
            TagKind::EndTag => {
                self.removed_end(tag, html_rules);
                TokenSinkResult::Continue
            }
        }
    }

    /// An end tag inside a removed subtree. Foreign content: the nearest open element of that
    /// name, up to the first HTML element. HTML: the nearest one, unless a "special" element
    /// (a block, a table part, a form, an integration point…) stands before it, which makes
    /// the parser ignore the tag. Past the subtree's root, an allowed element we have open
    /// may be the one it closes: the subtree ends with it.
    fn removed_end(&mut self, tag: Tag, html_rules: bool) {
        let name = &*tag.name;
        if html_rules && name == "form" {
            // The parser takes a form out of the stack and leaves what is inside it open
            // (the classic mutation-XSS shape): we stay inside, whatever it closes.
            return;
        }
        let mut foreign = !html_rules;
        let mut i = self.removed.len();
        // A bounded search (thousands of open elements and as many end tags would cost
        // their product): past it the tag is ignored, and we stay inside.
        let mut budget = 64;
        while i > 0 {
            if budget == 0 {
                return;
            }
            budget -= 1;
            i -= 1;
            let r = &self.removed[i];
            if foreign && r.ns == Ns::Html {
                // Back to the HTML rules, from the current node.
                foreign = false;
                i = self.removed.len();
                continue;
            }
            // By the HTML rules only an HTML element matches (`</mtext>` does not close
            // MathML's `mtext` from inside HTML content); by the foreign rules any does.
            if &*r.name == name && (foreign || r.ns == Ns::Html) {
                self.removed.truncate(i);
                return;
            }
            if !foreign && is_special_removed(r.ns, &r.name) {
                return;
            }
        }
        // An integration point or HTML block in the subtree is a scope boundary: the end
        // tag then closes nothing outside.
        if self.removed.len() > MAX_DEPTH
            || self
                .removed
                .iter()
                .any(|r| is_special_removed(r.ns, &r.name))
        {
            return;
        }
        if let Some(el) = El::from_name(name) {
            if let Some(at) = self.find_end(el) {
                self.removed.clear();
                self.close_to(at);
            }
        }
    }

    /// An HTML element's start tag in foreign content ends it, up to the nearest HTML
    /// element or integration point (if none is left, we are back in our own content).
    fn leave_foreign(&mut self) {
        while let Some(r) = self.removed.last() {
            if r.ns == Ns::Html || r.integration {
                break;
            }
            self.removed.pop();
        }
    }

    // One arm per element rule reads better than guards with side effects.
    #[allow(clippy::collapsible_match)]
    fn start(&mut self, el: El, attrs: &[Attribute]) {
        use El::*;
        if self.open.last().is_some_and(|&e| in_table_structure(e)) && !is_table_part(el) {
            if el != Table {
                // The parser would move it out before the table: we drop the tag.
                return;
            }
            // `<table>` in a table's structure ends that table and starts another.
            if let Some(t) = self.open.iter().rposition(|&e| e == Table) {
                self.close_to(t);
            }
        }
        if !el.is_void() && self.open.len() + 3 > MAX_DEPTH {
            return;
        }
        match el {
            A => {
                // A link inside a link: the parser ends the first one.
                if let Some(i) = self.find_open(A, &[Td, Th, Caption]) {
                    self.close_to(i);
                }
            }
            Li => {
                self.close_list_item(&[Li]);
                self.close_p();
            }
            Dd | Dt => {
                self.close_list_item(&[Dd, Dt]);
                self.close_p();
            }
            H1 | H2 | H3 | H4 | H5 | H6 => {
                self.close_p();
                if self.open.last().is_some_and(|&e| is_heading(e)) {
                    self.close_to(self.open.len() - 1);
                }
            }
            Rp | Rt => {
                if self.find_open(Ruby, &[Table, Td, Th, Caption]).is_some() {
                    while let Some(&e) = self.open.last() {
                        if !matches!(e, Dd | Dt | Li | P | Rp | Rt) {
                            break;
                        }
                        self.close_to(self.open.len() - 1);
                    }
                }
            }
            Caption | Colgroup | Col | Thead | Tbody | Tfoot | Tr | Td | Th => {
                if !self.place_table_part(el) {
                    return;
                }
            }
            _ if closes_p(el) => self.close_p(),
            _ => {}
        }
        self.write_start(el, attrs);
        if !el.is_void() {
            self.open.push(el);
        }
        self.pre_start = el == Pre;
    }

    /// Closes what stands between a table part and the table it belongs in, and opens the
    /// wrappers the parser would imply (`<tbody>`, `<tr>`, `<colgroup>`). False (the tag
    /// is dropped) outside any table, where the parser ignores it.
    fn place_table_part(&mut self, el: El) -> bool {
        use El::*;
        let Some(t) = self.open.iter().rposition(|&e| e == Table) else {
            return false;
        };
        let at = |s: &Self, i: usize| s.open.get(i).copied();
        let section = |e: Option<El>| matches!(e, Some(Thead | Tbody | Tfoot));
        match el {
            Col => {
                if !(at(self, t + 1) == Some(Colgroup) && self.open.len() == t + 2) {
                    self.close_to(t + 1);
                    self.open_implied(Colgroup);
                }
            }
            Tr => {
                if section(at(self, t + 1)) {
                    self.close_to(t + 2);
                } else {
                    self.close_to(t + 1);
                    self.open_implied(Tbody);
                }
            }
            Td | Th => {
                if section(at(self, t + 1)) && at(self, t + 2) == Some(Tr) {
                    self.close_to(t + 3);
                } else if section(at(self, t + 1)) {
                    self.close_to(t + 2);
                    self.open_implied(Tr);
                } else {
                    self.close_to(t + 1);
                    self.open_implied(Tbody);
                    self.open_implied(Tr);
                }
            }
            _ => self.close_to(t + 1),
        }
        true
    }

    fn open_implied(&mut self, el: El) {
        self.out.push('<');
        self.out.push_str(el.name());
        self.out.push('>');
        self.open.push(el);
    }

    /// An end tag closes its element and whatever is open inside it, if the parser would
    /// find it in scope; a stray one (nothing of that name open) is dropped.
    fn end(&mut self, el: El) {
        if el.is_void() {
            return;
        }
        if let Some(i) = self.find_end(el) {
            self.close_to(i);
        }
    }

    fn find_end(&self, el: El) -> Option<usize> {
        use El::*;
        let scope: &[El] = if el == Table || is_table_part(el) {
            &[Table]
        } else if el == Li {
            &[Table, Td, Th, Caption, Ol, Ul]
        } else {
            &[Table, Td, Th, Caption]
        };
        self.find_open(el, scope)
    }

    /// The innermost open `el`, searching outwards until one of `scope` (not found past it).
    fn find_open(&self, el: El, scope: &[El]) -> Option<usize> {
        for (i, &e) in self.open.iter().enumerate().rev() {
            if e == el {
                return Some(i);
            }
            if scope.contains(&e) {
                return None;
            }
        }
        None
    }

    /// Block-level start tags end an open paragraph (in "button scope").
    fn close_p(&mut self) {
        use El::*;
        if let Some(i) = self.find_open(P, &[Table, Td, Th, Caption]) {
            self.close_to(i);
        }
    }

    /// `<li>` ends an open list item (`<dd>`/`<dt>` an open `dd`/`dt`) unless a block
    /// other than address/div/p stands between them.
    fn close_list_item(&mut self, items: &[El]) {
        use El::*;
        for i in (0..self.open.len()).rev() {
            let e = self.open[i];
            if items.contains(&e) {
                self.close_to(i);
                return;
            }
            if is_special(e) && !matches!(e, Address | Div | P) {
                return;
            }
        }
    }

    /// Writes end tags until only `depth` elements stay open.
    fn close_to(&mut self, depth: usize) {
        while self.open.len() > depth {
            if let Some(e) = self.open.pop() {
                self.out.push_str("</");
                self.out.push_str(e.name());
                self.out.push('>');
            }
        }
        self.pre_start = false;
    }

    fn write_start(&mut self, el: El, attrs: &[Attribute]) {
        let out = &mut self.out;
        out.push('<');
        out.push_str(el.name());
        for a in attrs {
            let name = &*a.name.local;
            if !el.allows(name) {
                continue;
            }
            let value = if el.is_url_attr(name) {
                match policy::url(name, &a.value, self.base) {
                    Some(v) => v,
                    None => continue,
                }
            } else {
                std::borrow::Cow::Borrowed(&*a.value)
            };
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            escape_attr(&value, out);
            out.push('"');
        }
        for (name, value) in el.added_attrs() {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            out.push_str(value);
            out.push('"');
        }
        out.push('>');
    }
}
