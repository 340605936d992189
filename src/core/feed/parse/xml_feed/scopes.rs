//! What is in scope while the tags are read: open elements, namespaces, xml:base.

use std::collections::HashMap;
use std::sync::Arc;

use url::Url;

use super::fields::{ns_of_prefix, ns_of_uri, Ns};
use crate::core::feed::parse::xml::{attr, attrs};
use crate::core::feed::text::xml_text;
use crate::core::feed::FeedFormat;

/// The open elements' names, root first. After the first stray end tag, also how many of
/// each name are open, so later strays cost no scan of the stack.
#[derive(Default)]
pub(super) struct OpenElements<'a> {
    names: Vec<&'a [u8]>,
    counts: Option<HashMap<&'a [u8], usize>>,
}

impl<'a> OpenElements<'a> {
    pub(super) fn depth(&self) -> usize {
        self.names.len()
    }

    pub(super) fn push(&mut self, name: &'a [u8]) {
        self.names.push(name);
        if let Some(counts) = &mut self.counts {
            *counts.entry(name).or_default() += 1;
        }
    }

    pub(super) fn pop(&mut self) {
        let Some(name) = self.names.pop() else {
            return;
        };
        if let Some(n) = self.counts.as_mut().and_then(|c| c.get_mut(name)) {
            *n -= 1;
        }
    }

    /// The depth of the innermost open `name`, if one is open. Linear overall: a match scans
    /// no further than the elements it closes, and only the first stray scans the whole stack.
    pub(super) fn innermost(&mut self, name: &[u8]) -> Option<usize> {
        if let Some(counts) = &self.counts {
            if counts.get(name).is_none_or(|n| *n == 0) {
                return None;
            }
        }
        let found = self.names.iter().rposition(|n| *n == name).map(|i| i + 1);
        if found.is_none() && self.counts.is_none() {
            let mut counts = HashMap::new();
            for n in &self.names {
                *counts.entry(*n).or_default() += 1;
            }
            self.counts = Some(counts);
        }
        found
    }
}

/// Namespace prefixes, default namespaces and xml:base values in scope, each with the
/// depth of the element that declared it; popped when that element closes.
#[derive(Default)]
pub(super) struct Scopes<'a> {
    prefixes: Vec<(usize, &'a [u8], Ns)>,
    default_ns: Vec<(usize, Ns)>,
    bases: Vec<(usize, Url)>,
}

impl<'a> Scopes<'a> {
    pub(super) fn declare_ns(&mut self, a: &'a [u8], depth: usize) {
        if memchr::memmem::find(a, b"xmlns").is_none() {
            return;
        }
        for (n, v) in attrs(a) {
            if n == b"xmlns" {
                self.default_ns.push((depth, ns_of_uri(v)));
            } else if let Some(p) = n.strip_prefix(b"xmlns:") {
                self.prefixes.push((depth, p, ns_of_uri(v)));
            }
        }
    }

    pub(super) fn declare_base(&mut self, a: &[u8], depth: usize, feed_url: Option<&Url>) {
        let Some(v) = attr(a, b"xml:base") else {
            return;
        };
        let parent = self.base().or(feed_url);
        if let Ok(u) = Url::options()
            .base_url(parent)
            .parse(xml_text(&String::from_utf8_lossy(v)).trim())
        {
            self.bases.push((depth, u));
        }
    }

    /// The innermost xml:base.
    pub(super) fn base(&self) -> Option<&Url> {
        self.bases.last().map(|(_, u)| u)
    }

    pub(super) fn base_arc(&self) -> Option<Arc<str>> {
        self.base().map(|u| Arc::from(u.as_str()))
    }

    /// Drops what the element at `depth` (and any deeper) declared.
    pub(super) fn pop(&mut self, depth: usize) {
        while self.prefixes.last().is_some_and(|(d, ..)| *d >= depth) {
            self.prefixes.pop();
        }
        while self.default_ns.last().is_some_and(|(d, _)| *d >= depth) {
            self.default_ns.pop();
        }
        while self.bases.last().is_some_and(|(d, _)| *d >= depth) {
            self.bases.pop();
        }
    }

    pub(super) fn resolve(&self, name: &[u8], fmt: FeedFormat) -> Ns {
        let own = if fmt == FeedFormat::Atom {
            Ns::Atom
        } else {
            Ns::Own
        };
        match name.iter().position(|c| *c == b':') {
            Some(p) => {
                let prefix = &name[..p];
                let ns = self
                    .prefixes
                    .iter()
                    .rev()
                    .find(|(_, q, _)| *q == prefix)
                    .map_or_else(|| ns_of_prefix(prefix), |(.., ns)| *ns);
                if ns == Ns::Own {
                    own
                } else {
                    ns
                }
            }
            None => match self.default_ns.last().map(|(_, ns)| *ns) {
                // An unknown default namespace on a feed is still that feed's own.
                None | Some(Ns::Own) | Some(Ns::Other) => own,
                Some(ns) => ns,
            },
        }
    }
}
