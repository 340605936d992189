//! RSS 0.9x/1.0/2.0, RDF and Atom 0.3/1.0 from one lenient pass over the tags.
//!
//! `fields` says which element is which field, `scopes` tracks what is in scope (open
//! elements, namespaces, xml:base), `entry` turns one entry's raw text into a [`RawEntry`];
//! this file walks the tags.

mod entry;
mod fields;
mod scopes;

use std::sync::Arc;

use url::Url;

use super::xml::{attr, line_of, Tok, Tokenizer};
use crate::core::feed::plain::field_text;
use crate::core::feed::text::xml_text;
use crate::core::feed::{absolute_url, Body, FeedDoc, FeedFormat, ParseError, RawEntry};
use entry::{EntryDraft, MediaDraft, MediaSource};
use fields::{
    entry_field, feed_field, is_entry, local_name, media_kind, ChannelLinks, EntryField, FeedField,
    Kind, Ns,
};
use scopes::{OpenElements, Scopes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Feed(FeedField),
    Entry(EntryField),
}

/// Keeps the first value a field is given.
fn first<'a>(slot: &mut Option<&'a str>, v: &'a str) {
    first_of(slot, v);
}

fn first_of<T>(slot: &mut Option<T>, v: T) {
    if slot.is_none() {
        *slot = Some(v);
    }
}

/// The feed's own fields, as raw text of the document.
#[derive(Default)]
struct FeedFields<'a> {
    title: Option<(&'a str, Kind)>,
    link: Option<&'a str>,
    description: Option<(&'a str, Kind)>,
    ttl: Option<&'a str>,
    author: Option<&'a str>,
    /// The first Atom `rel="alternate"` link, resolved.
    alt_link: Option<String>,
    /// `rel="hub"` and `rel="self"` links of the channel (WebSub discovery).
    hub_link: Option<String>,
    self_link: Option<String>,
}

impl<'a> FeedFields<'a> {
    fn store(&mut self, field: FeedField, raw: &'a str) {
        let slot = match field {
            FeedField::Title(k) => return first_of(&mut self.title, (raw, k)),
            FeedField::Description(k) => return first_of(&mut self.description, (raw, k)),
            FeedField::Link => &mut self.link,
            FeedField::Ttl => &mut self.ttl,
            FeedField::Author => &mut self.author,
        };
        first(slot, raw);
    }
}

/// An element whose text is being kept: from `start` to its end tag.
struct Capture {
    field: Field,
    depth: usize,
    start: usize,
    /// The xml:base in scope, for bodies.
    base: Option<Arc<str>>,
}

/// One pass over a document's tags: where the scanner is, and what it has read so far.
struct FeedParser<'a> {
    doc: &'a str,
    feed_url: Option<&'a Url>,
    feed_arc: Option<Arc<str>>,
    format: FeedFormat,
    open: OpenElements<'a>,
    scopes: Scopes<'a>,
    /// Depth of the element whose children are feed fields (0 once it closes).
    channel_depth: usize,
    entry_depth: Option<usize>,
    /// Depth of an Atom `<author>` whose `<name>` is wanted.
    author_depth: Option<usize>,
    /// Depth of the entry's open `<media:group>`, and how many it has had.
    media_group_depth: Option<usize>,
    media_groups: u16,
    /// Depth of the entry's open `<media:content>` (the last of `entry.media`).
    media_content_depth: Option<usize>,
    capture: Option<Capture>,
    entry: EntryDraft<'a>,
    feed: FeedFields<'a>,
    entries: Vec<RawEntry>,
    root_closed: bool,
}

/// Parses an XML feed (already UTF-8, leading whitespace trimmed).
pub fn parse(doc: &str, feed_url: Option<&Url>) -> Result<FeedDoc, ParseError> {
    let mut toks = Tokenizer::new(doc.as_bytes());
    let root = toks.by_ref().find_map(|tok| match tok {
        Tok::Start {
            name, attrs, empty, ..
        } => Some((name, attrs, empty)),
        Tok::End { .. } => None,
    });
    let Some((name, attrs, empty)) = root else {
        return Err(match toks.truncated_at {
            Some(p) => ParseError::BrokenXml {
                line: line_of(doc.as_bytes(), p),
                reason: "a tag, comment or CDATA section is never closed".into(),
            },
            None => ParseError::NotAFeed("no XML elements found".into()),
        });
    };
    let mut parser = FeedParser::new(doc, feed_url, name, attrs, empty)?;
    // Past the item cap nothing more is read (metadata after the items is rare).
    while !parser.root_closed && parser.entries.len() < crate::core::feed::MAX_ITEMS_PER_DOCUMENT {
        match toks.next() {
            Some(Tok::Start {
                name,
                attrs,
                empty,
                end,
            }) => parser.on_start(name, attrs, empty, end),
            Some(Tok::End { name, start }) => parser.on_end(name, start),
            None => break,
        }
    }
    parser.into_doc(toks.truncated_at)
}

/// The root element decides the format.
fn root_format(name: &[u8]) -> Result<FeedFormat, ParseError> {
    Ok(match local_name(name).to_ascii_lowercase().as_slice() {
        b"rss" | b"channel" => FeedFormat::Rss,
        b"rdf" => FeedFormat::Rdf,
        b"feed" => FeedFormat::Atom,
        b"html" | b"body" | b"head" => return Err(ParseError::Html),
        _ => {
            return Err(ParseError::NotAFeed(format!(
                "the document starts with <{}>, not <rss>, <feed> or <rdf:RDF>",
                String::from_utf8_lossy(&name[..name.len().min(40)])
            )))
        }
    })
}

impl<'a> FeedParser<'a> {
    /// A parser that has read the root element.
    fn new(
        doc: &'a str,
        feed_url: Option<&'a Url>,
        root: &'a [u8],
        a: &'a [u8],
        empty: bool,
    ) -> Result<Self, ParseError> {
        let format = root_format(root)?;
        let mut parser = FeedParser {
            doc,
            feed_url,
            feed_arc: feed_url.map(|u| Arc::from(u.as_str())),
            format,
            open: OpenElements::default(),
            scopes: Scopes::default(),
            channel_depth: 0,
            entry_depth: None,
            author_depth: None,
            media_group_depth: None,
            media_groups: 0,
            media_content_depth: None,
            capture: None,
            entry: EntryDraft::default(),
            feed: FeedFields::default(),
            entries: Vec::new(),
            root_closed: empty,
        };
        if local_name(root).eq_ignore_ascii_case(b"channel") || format == FeedFormat::Atom {
            parser.channel_depth = 1;
        }
        parser.scopes.declare_ns(a, 1);
        parser.open.push(root);
        Ok(parser)
    }

    /// A start tag below the root; `end` is where its content begins.
    fn on_start(&mut self, name: &'a [u8], a: &'a [u8], empty: bool, end: usize) {
        if self.capture.is_some() {
            // Inside captured text (xhtml or unescaped HTML): just keep depth.
            if !empty {
                self.open.push(name);
            }
            return;
        }
        let depth = self.open.depth() + 1;
        if !a.is_empty() {
            self.scopes.declare_ns(a, depth);
            self.scopes.declare_base(a, depth, self.feed_url);
        }
        let ns = self.scopes.resolve(name, self.format);
        let local = local_name(name);
        let field = match self.entry_depth {
            Some(entry_depth) => self.entry_child(entry_depth, depth, ns, local, a),
            None => self.feed_child(depth, ns, local, a),
        };
        if empty {
            // `<x/>` is `<x></x>`: it closes where it opens.
            self.close_element(depth, end);
            return;
        }
        self.open.push(name);
        if let Some(field) = field {
            let body = matches!(
                field,
                Field::Entry(
                    EntryField::Content(..)
                        | EntryField::Summary(_)
                        | EntryField::Description
                        | EntryField::AltDescription(_)
                )
            );
            self.capture = Some(Capture {
                field,
                depth,
                start: end,
                base: if body { self.scopes.base_arc() } else { None },
            });
        }
    }

    /// An element inside an entry: a field to keep, if it is one.
    fn entry_child(
        &mut self,
        entry_depth: usize,
        depth: usize,
        ns: Ns,
        local: &[u8],
        a: &'a [u8],
    ) -> Option<Field> {
        if ns == Ns::Media {
            return self.media_child(entry_depth, depth, local, a);
        }
        if depth == entry_depth + 1 {
            let field = entry_field(self.format, ns, local, a, &mut self.entry);
            if field == Some(EntryField::Author)
                && self.format == FeedFormat::Atom
                && ns == Ns::Atom
            {
                // An Atom person: its <name> is the author.
                self.author_depth = Some(depth);
                return None;
            }
            field.map(Field::Entry)
        } else if self.author_depth == Some(depth - 1) && local == b"name" && ns != Ns::Other {
            Some(Field::Entry(EntryField::Author))
        } else {
            None
        }
    }

    /// A Media RSS element anywhere in an entry: a media item, or a field to keep.
    fn media_child(
        &mut self,
        entry_depth: usize,
        depth: usize,
        local: &[u8],
        a: &'a [u8],
    ) -> Option<Field> {
        let in_content = self.media_content_depth.is_some();
        let top = depth == entry_depth + 1 || self.media_group_depth == Some(depth - 1);
        let group = if self.media_group_depth.is_some() {
            self.media_groups
        } else {
            0
        };
        match local {
            b"group" if self.media_group_depth.is_none() && !in_content => {
                self.media_groups = self.media_groups.saturating_add(1);
                self.media_group_depth = Some(depth);
                None
            }
            b"content" if !in_content => {
                self.entry.media.push(MediaDraft {
                    source: MediaSource::Content,
                    attrs: a,
                    group,
                    poster: None,
                    alt: None,
                });
                self.media_content_depth = Some(depth);
                None
            }
            b"thumbnail" if in_content => {
                if let Some(m) = self.entry.media.last_mut() {
                    m.poster.get_or_insert(a);
                }
                None
            }
            b"thumbnail" => {
                self.entry.media.push(MediaDraft {
                    source: MediaSource::Thumbnail,
                    attrs: a,
                    group,
                    poster: None,
                    alt: None,
                });
                None
            }
            b"description" if in_content => Some(Field::Entry(EntryField::MediaAlt)),
            b"description" if top => Some(Field::Entry(EntryField::AltDescription(media_kind(a)))),
            b"title" if top => Some(Field::Entry(EntryField::AltTitle(media_kind(a)))),
            _ => None,
        }
    }

    /// An element outside any entry: starts an entry or the channel, or is a feed field.
    fn feed_child(&mut self, depth: usize, ns: Ns, local: &[u8], a: &'a [u8]) -> Option<Field> {
        if is_entry(self.format, ns, local) {
            self.entry_depth = Some(depth);
            self.entry = EntryDraft {
                base: self.scopes.base_arc(),
                about: attr(a, b"rdf:about").map(|v| std::str::from_utf8(v).unwrap_or("")),
                ..EntryDraft::default()
            };
            None
        } else if self.format != FeedFormat::Atom && local == b"channel" && ns == Ns::Own {
            self.channel_depth = depth;
            None
        } else if depth == self.channel_depth + 1 {
            let base = self.scopes.base().or(self.feed_url);
            let links = ChannelLinks {
                alt: &mut self.feed.alt_link,
                hub: &mut self.feed.hub_link,
                self_: &mut self.feed.self_link,
            };
            let field = feed_field(self.format, ns, local, a, links, base);
            if field == Some(FeedField::Author) && ns == Ns::Atom {
                self.author_depth = Some(depth);
                return None;
            }
            field.map(Field::Feed)
        } else if self.author_depth == Some(depth - 1) && local == b"name" {
            Some(Field::Feed(FeedField::Author))
        } else {
            None
        }
    }

    /// An end tag; `start` is where it begins.
    fn on_end(&mut self, name: &[u8], start: usize) {
        let Some(depth) = self.open.innermost(name) else {
            return; // a stray end tag
        };
        // Close everything down to the matching element (lenient nesting).
        while self.open.depth() >= depth {
            let closing = self.open.depth();
            self.open.pop();
            self.close_element(closing, start);
        }
    }

    /// The element at `depth` closes at `end_tag`.
    fn close_element(&mut self, depth: usize, end_tag: usize) {
        if let Some(capture) = self.capture.take_if(|c| c.depth == depth) {
            let raw = self.doc.get(capture.start..end_tag).unwrap_or("");
            self.store_capture(capture, raw);
        }
        if self.capture.is_some() {
            return; // markup inside a captured element
        }
        if self.author_depth == Some(depth) {
            self.author_depth = None;
        }
        if self.media_content_depth == Some(depth) {
            self.media_content_depth = None;
        }
        if self.media_group_depth == Some(depth) {
            self.media_group_depth = None;
        }
        if self.entry_depth == Some(depth) {
            self.finish_entry();
        }
        if self.channel_depth == depth && self.format != FeedFormat::Atom {
            self.channel_depth = 0;
        }
        self.scopes.pop(depth);
        if depth == 1 {
            self.root_closed = true;
        }
    }

    fn store_capture(&mut self, capture: Capture, raw: &'a str) {
        match capture.field {
            Field::Feed(field) => self.feed.store(field, raw),
            Field::Entry(EntryField::MediaAlt) => {
                if let Some(m) = self.entry.media.last_mut() {
                    m.alt.get_or_insert((raw, Kind::Guess));
                }
            }
            Field::Entry(field) => self.entry.store(field, raw, capture.base),
        }
    }

    fn finish_entry(&mut self) {
        let entry = std::mem::take(&mut self.entry);
        let raw = entry.finish(self.format, self.feed_url, &self.feed_arc);
        self.entries.push(raw);
        self.entry_depth = None;
        self.media_group_depth = None;
        self.media_content_depth = None;
        self.media_groups = 0;
    }

    /// The document read, or why it is broken; `truncated_at` is where the tokenizer gave up.
    fn into_doc(self, truncated_at: Option<usize>) -> Result<FeedDoc, ParseError> {
        let b = self.doc.as_bytes();
        let feed = self.feed;
        if !self.root_closed && self.entries.is_empty() && feed.title.is_none() {
            return Err(ParseError::BrokenXml {
                line: line_of(b, truncated_at.unwrap_or(b.len())),
                reason: "the document ends before the feed is complete".into(),
            });
        }
        let mut entries = self.entries;
        if let Some(a) = feed.author {
            for en in entries.iter_mut().filter(|en| en.author.is_none()) {
                en.author = Some(Body::XmlHtml(a.to_string()));
            }
        }
        let site_url = feed
            .link
            .and_then(|l| absolute_url(&xml_text(l), self.feed_url))
            .or(feed.alt_link);
        Ok(FeedDoc {
            format: self.format,
            title: feed
                .title
                .map(|(t, k)| field_text(t, k.text_kind()))
                .unwrap_or_default(),
            site_url,
            description: feed
                .description
                .map(|(d, k)| field_text(d, k.text_kind()))
                .filter(|d| !d.is_empty()),
            ttl_minutes: feed.ttl.and_then(|t| xml_text(t).trim().parse().ok()),
            hub: feed.hub_link,
            self_url: feed.self_link,
            entries,
        })
    }
}
