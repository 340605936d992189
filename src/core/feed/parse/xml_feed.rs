//! RSS 0.9x/1.0/2.0, RDF and Atom 0.3/1.0 from one lenient pass over the tags.

use std::collections::HashMap;
use std::sync::Arc;

use url::Url;

use super::dates;
use super::media::{self, Media};
use super::xml::{attr, attrs, line_of, Tok, Tokenizer};
use crate::core::feed::identity::{entry_identity, Fingerprint};
use crate::core::feed::plain::{field_text, TextKind};
use crate::core::feed::text::{collapse_ws, truncate_words, xml_text};
use crate::core::feed::{absolute_url, Body, FeedDoc, FeedFormat, ParseError, RawEntry};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    /// No namespace, or an RSS one (RSS docs), or Atom's (Atom docs): the document's own.
    Own,
    Atom,
    Dc,
    Content,
    Rdf,
    /// Media RSS.
    Media,
    Itunes,
    Xhtml,
    Other,
}

fn ns_of_uri(uri: &[u8]) -> Ns {
    match uri {
        b"http://www.w3.org/2005/Atom" | b"http://purl.org/atom/ns#" => Ns::Atom,
        b"http://purl.org/dc/elements/1.1/" | b"http://purl.org/dc/terms/" => Ns::Dc,
        b"http://purl.org/rss/1.0/modules/content/" => Ns::Content,
        b"http://www.w3.org/1999/02/22-rdf-syntax-ns#" => Ns::Rdf,
        b"http://search.yahoo.com/mrss/" | b"http://search.yahoo.com/mrss" => Ns::Media,
        b"http://www.w3.org/1999/xhtml" => Ns::Xhtml,
        u if u.eq_ignore_ascii_case(b"http://www.itunes.com/dtds/podcast-1.0.dtd") => Ns::Itunes,
        b"http://purl.org/rss/1.0/"
        | b"http://my.netscape.com/rdf/simple/0.9/"
        | b"http://backend.userland.com/rss2"
        | b"http://backend.userland.com/rss"
        | b"" => Ns::Own,
        _ => Ns::Other,
    }
}

fn ns_of_prefix(p: &[u8]) -> Ns {
    match p {
        b"atom" | b"atom10" | b"atom03" => Ns::Atom,
        b"dc" | b"dcterms" => Ns::Dc,
        b"content" => Ns::Content,
        b"rdf" => Ns::Rdf,
        b"media" => Ns::Media,
        b"itunes" => Ns::Itunes,
        b"xhtml" => Ns::Xhtml,
        b"rss" => Ns::Own,
        _ => Ns::Other,
    }
}

/// How a captured element's text must be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Escaped HTML.
    Html,
    /// Plain text (a body is still sniffed for escaped HTML; a title is kept as it is).
    Text,
    /// Untyped text that may be escaped HTML (RSS and its modules).
    Guess,
    /// Inline XHTML markup.
    Xhtml,
    /// RSS `<body>` / `<fullitem>`: inline markup if it has tags, else escaped HTML.
    Inline,
    /// Atom 0.3 `mode="base64"`, of HTML or of text.
    Base64 {
        html: bool,
    },
    Skip,
}

impl Kind {
    /// How a title-like field of this kind reads as plain text.
    fn text_kind(self) -> TextKind {
        match self {
            Kind::Html | Kind::Base64 { html: true } => TextKind::Html,
            Kind::Xhtml => TextKind::Xhtml,
            Kind::Text | Kind::Base64 { html: false } | Kind::Skip => TextKind::Text,
            Kind::Guess | Kind::Inline => TextKind::Guess,
        }
    }
}

/// An Atom (1.0 or 0.3) text construct's kind, from its `type` (and 0.3's `mode`).
fn atom_kind(a: &[u8], default: Kind) -> Kind {
    if let Some(src) = attr(a, b"src") {
        if !src.is_empty() {
            return Kind::Skip; // out-of-line content
        }
    }
    let by_type = match attr(a, b"type").map(|t| t.to_ascii_lowercase()) {
        None => default,
        Some(t) => match t.as_slice() {
            b"html" | b"text/html" => Kind::Html,
            b"xhtml" | b"application/xhtml+xml" => Kind::Xhtml,
            b"text" | b"text/plain" => Kind::Text,
            _ if t.starts_with(b"text/") => Kind::Text,
            _ => Kind::Skip,
        },
    };
    match attr(a, b"mode") {
        Some(b"base64") => match by_type {
            Kind::Skip => Kind::Skip,
            k => Kind::Base64 {
                html: matches!(k, Kind::Html | Kind::Xhtml),
            },
        },
        Some(b"xml") => Kind::Xhtml,
        Some(b"escaped") if matches!(by_type, Kind::Text | Kind::Skip) => by_type,
        Some(b"escaped") => Kind::Html,
        _ => by_type,
    }
}

/// A Media RSS text construct's kind (`type="plain"` by default, or `"html"`).
fn media_kind(a: &[u8]) -> Kind {
    match attr(a, b"type") {
        Some(t) if t.eq_ignore_ascii_case(b"html") => Kind::Html,
        _ => Kind::Guess,
    }
}

/// A feed-level element whose text is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FeedField {
    Title(Kind),
    Link,
    Description(Kind),
    Ttl,
    Author,
}

/// An entry's child element whose text is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryField {
    Title(Kind),
    Link,
    Id,
    /// A body, with its rank: the highest-ranked one present is the content.
    Content(Kind, u8),
    Summary(Kind),
    Description,
    Published,
    Updated,
    DcDate,
    Author,
    /// Dublin Core, iTunes and Media RSS stand-ins, read where the core element is missing.
    AltTitle(Kind),
    AltAuthor,
    AltDescription(Kind),
    /// `<media:description>` of the `<media:content>` being read: its alt text.
    MediaAlt,
    /// `<itunes:duration>`.
    Duration,
    /// RSS `<category>` or `<dc:subject>`: its text is a category.
    Category,
}

/// Where a media item was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaSource {
    /// RSS `<enclosure url>`.
    Enclosure,
    /// Atom `<link rel="enclosure" href>`.
    AtomEnclosure,
    /// `<media:content url>`.
    Content,
    /// `<media:thumbnail url>`.
    Thumbnail,
    /// `<itunes:image href>`.
    ItunesImage,
}

/// A media element as read: its raw attributes, resolved when the entry is finished.
#[derive(Debug, Clone)]
struct MediaDraft<'a> {
    source: MediaSource,
    attrs: &'a [u8],
    /// The `<media:group>` it is in (1-based; 0 for none): a group holds alternatives.
    group: u16,
    /// A `<media:thumbnail>` inside it: a video's poster.
    poster: Option<&'a [u8]>,
    /// Its `<media:description>`, raw.
    alt: Option<(&'a str, Kind)>,
}

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

/// The entry being read, as raw text of the document.
#[derive(Default)]
struct EntryDraft<'a> {
    title: Option<(&'a str, Kind)>,
    alt_title: Option<(&'a str, Kind)>,
    link: Option<&'a str>,
    link_score: u8,
    id: Option<&'a str>,
    guid_permalink: bool,
    about: Option<&'a str>,
    content: Option<(&'a str, Kind)>,
    content_rank: u8,
    summary: Option<(&'a str, Kind)>,
    description: Option<&'a str>,
    alt_description: Option<(&'a str, Kind)>,
    published: Option<&'a str>,
    updated: Option<&'a str>,
    dc_date: Option<&'a str>,
    author: Option<&'a str>,
    alt_author: Option<&'a str>,
    duration: Option<&'a str>,
    /// Raw text of `<category>`/`<dc:subject>`, and Atom `term` attributes (raw attribute text).
    categories: Vec<&'a str>,
    media: Vec<MediaDraft<'a>>,
    base: Option<Arc<str>>,
    content_base: Option<Arc<str>>,
}

/// An element whose text is being kept: from `start` to its end tag.
struct Capture {
    field: Field,
    depth: usize,
    start: usize,
    /// The xml:base in scope, for bodies.
    base: Option<Arc<str>>,
}

/// The open elements' names, root first. After the first stray end tag, also how many of
/// each name are open, so later strays cost no scan of the stack.
#[derive(Default)]
struct OpenElements<'a> {
    names: Vec<&'a [u8]>,
    counts: Option<HashMap<&'a [u8], usize>>,
}

impl<'a> OpenElements<'a> {
    fn depth(&self) -> usize {
        self.names.len()
    }

    fn push(&mut self, name: &'a [u8]) {
        self.names.push(name);
        if let Some(counts) = &mut self.counts {
            *counts.entry(name).or_default() += 1;
        }
    }

    fn pop(&mut self) {
        let Some(name) = self.names.pop() else {
            return;
        };
        if let Some(n) = self.counts.as_mut().and_then(|c| c.get_mut(name)) {
            *n -= 1;
        }
    }

    /// The depth of the innermost open `name`, if one is open. Linear overall: a match scans
    /// no further than the elements it closes, and only the first stray scans the whole stack.
    fn innermost(&mut self, name: &[u8]) -> Option<usize> {
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
struct Scopes<'a> {
    prefixes: Vec<(usize, &'a [u8], Ns)>,
    default_ns: Vec<(usize, Ns)>,
    bases: Vec<(usize, Url)>,
}

impl<'a> Scopes<'a> {
    fn declare_ns(&mut self, a: &'a [u8], depth: usize) {
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

    fn declare_base(&mut self, a: &[u8], depth: usize, feed_url: Option<&Url>) {
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
    fn base(&self) -> Option<&Url> {
        self.bases.last().map(|(_, u)| u)
    }

    fn base_arc(&self) -> Option<Arc<str>> {
        self.base().map(|u| Arc::from(u.as_str()))
    }

    /// Drops what the element at `depth` (and any deeper) declared.
    fn pop(&mut self, depth: usize) {
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

    fn resolve(&self, name: &[u8], fmt: FeedFormat) -> Ns {
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
            if self.format != FeedFormat::Atom && local == b"channel" {
                self.channel_depth = 0;
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
            self.scopes.pop(depth);
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

fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|c| *c == b':') {
        Some(p) => &name[p + 1..],
        None => name,
    }
}

fn is_entry(fmt: FeedFormat, ns: Ns, local: &[u8]) -> bool {
    match fmt {
        FeedFormat::Atom => ns == Ns::Atom && local == b"entry",
        _ => ns == Ns::Own && local == b"item",
    }
}

/// Which entry field an entry's child is; an Atom `<link>` is read here, from its attributes.
fn entry_field<'a>(
    fmt: FeedFormat,
    ns: Ns,
    local: &[u8],
    a: &'a [u8],
    e: &mut EntryDraft<'a>,
) -> Option<EntryField> {
    let atomish = ns == Ns::Atom;
    let own = ns == Ns::Own || (fmt == FeedFormat::Atom && atomish);
    Some(match (own, atomish, ns, local) {
        (true, true, _, b"title") => EntryField::Title(atom_kind(a, Kind::Text)),
        (true, false, _, b"title") => EntryField::Title(Kind::Guess),
        (_, true, _, b"link") => {
            let rel = attr(a, b"rel").unwrap_or(b"alternate");
            if rel == b"enclosure" {
                e.media.push(MediaDraft {
                    source: MediaSource::AtomEnclosure,
                    attrs: a,
                    group: 0,
                    poster: None,
                    alt: None,
                });
                return None;
            }
            let ty = attr(a, b"type").unwrap_or(b"text/html");
            let score = match (rel, ty) {
                (b"alternate", b"text/html") => 3,
                (b"alternate", _) => 2,
                _ => 0,
            };
            if score > e.link_score {
                if let Some(h) = attr(a, b"href") {
                    e.link = std::str::from_utf8(h).ok();
                    e.link_score = score;
                }
            }
            return None;
        }
        (true, false, _, b"link") => EntryField::Link,
        (true, false, _, b"guid") => {
            e.guid_permalink =
                attr(a, b"isPermaLink").is_none_or(|v| !v.eq_ignore_ascii_case(b"false"));
            EntryField::Id
        }
        (true, true, _, b"id") => EntryField::Id,
        (true, true, _, b"content") => EntryField::Content(atom_kind(a, Kind::Text), 3),
        (true, true, _, b"summary") => EntryField::Summary(atom_kind(a, Kind::Text)),
        (true, false, _, b"description") => EntryField::Description,
        (_, _, Ns::Content, b"encoded") => EntryField::Content(Kind::Html, 3),
        // RSS's XHTML body (`<body xmlns="http://www.w3.org/1999/xhtml">` or `<xhtml:body>`).
        (true, false, _, b"body") | (_, _, Ns::Xhtml, b"body") => {
            EntryField::Content(Kind::Inline, 2)
        }
        (true, false, _, b"fullitem") | (_, _, Ns::Other, b"fullitem") => {
            EntryField::Content(Kind::Inline, 1)
        }
        (true, false, _, b"enclosure") => {
            e.media.push(MediaDraft {
                source: MediaSource::Enclosure,
                attrs: a,
                group: 0,
                poster: None,
                alt: None,
            });
            return None;
        }
        (true, true, _, b"category") => {
            if let Some(t) = attr(a, b"term").and_then(|t| std::str::from_utf8(t).ok()) {
                e.categories.push(t);
            }
            return None;
        }
        (true, false, _, b"category") | (_, _, Ns::Dc, b"subject") => EntryField::Category,
        (true, false, _, b"pubDate") => EntryField::Published,
        (true, true, _, b"published" | b"issued" | b"created") => EntryField::Published,
        (true, true, _, b"updated" | b"modified") => EntryField::Updated,
        (_, _, Ns::Dc, b"date") => EntryField::DcDate,
        (true, _, _, b"author") => EntryField::Author,
        (_, _, Ns::Dc, b"title") => EntryField::AltTitle(Kind::Guess),
        (_, _, Ns::Dc, b"creator" | b"author") => EntryField::AltAuthor,
        (_, _, Ns::Dc, b"description") => EntryField::AltDescription(Kind::Html),
        (_, _, Ns::Itunes, b"title") => EntryField::AltTitle(Kind::Guess),
        (_, _, Ns::Itunes, b"author") => EntryField::AltAuthor,
        (_, _, Ns::Itunes, b"summary") => EntryField::AltDescription(Kind::Guess),
        (_, _, Ns::Itunes, b"duration") => EntryField::Duration,
        (_, _, Ns::Itunes, b"image") => {
            e.media.push(MediaDraft {
                source: MediaSource::ItunesImage,
                attrs: a,
                group: 0,
                poster: None,
                alt: None,
            });
            return None;
        }
        _ => return None,
    })
}

/// The channel's Atom links worth keeping: the first of each relation wins.
struct ChannelLinks<'s> {
    alt: &'s mut Option<String>,
    hub: &'s mut Option<String>,
    self_: &'s mut Option<String>,
}

/// Which feed field a channel's child is; an Atom `<link>` is read here, resolved against `base`.
fn feed_field(
    fmt: FeedFormat,
    ns: Ns,
    local: &[u8],
    a: &[u8],
    links: ChannelLinks<'_>,
    base: Option<&Url>,
) -> Option<FeedField> {
    let own = ns == Ns::Own || (fmt == FeedFormat::Atom && ns == Ns::Atom);
    match (own, ns, local) {
        (true, Ns::Atom, b"title") => Some(FeedField::Title(atom_kind(a, Kind::Text))),
        (true, _, b"title") => Some(FeedField::Title(Kind::Guess)),
        (_, Ns::Atom, b"link") => {
            let rel = attr(a, b"rel").unwrap_or(b"alternate");
            // `rel` is a space-separated list of relations, compared without case.
            let has = |want: &[u8]| {
                rel.split(|c| c.is_ascii_whitespace())
                    .any(|r| r.eq_ignore_ascii_case(want))
            };
            let slot = if has(b"alternate") {
                Some(links.alt)
            } else if has(b"hub") {
                Some(links.hub)
            } else if has(b"self") {
                Some(links.self_)
            } else {
                None
            };
            if let Some(slot) = slot.filter(|s| s.is_none()) {
                let href = attr(a, b"href").map(|h| xml_text(&String::from_utf8_lossy(h)));
                *slot = href.and_then(|h| absolute_url(&h, base));
            }
            None
        }
        (true, _, b"link") => Some(FeedField::Link),
        (true, Ns::Atom, b"subtitle" | b"tagline") => {
            Some(FeedField::Description(atom_kind(a, Kind::Text)))
        }
        (true, _, b"description" | b"subtitle" | b"tagline") => {
            Some(FeedField::Description(Kind::Guess))
        }
        (true, _, b"ttl") => Some(FeedField::Ttl),
        (true, Ns::Atom, b"author") => Some(FeedField::Author),
        (_, Ns::Dc, b"creator") | (_, Ns::Itunes, b"author") => Some(FeedField::Author),
        _ => None,
    }
}

fn body(raw: &str, kind: Kind) -> Body {
    match kind {
        Kind::Html => Body::XmlHtml(raw.to_string()),
        Kind::Xhtml => Body::Markup(raw.to_string()),
        // Tags (outside CDATA) make it markup; else it is escaped HTML.
        Kind::Inline if raw.contains('<') && !raw.contains("<![CDATA[") => {
            Body::Markup(raw.to_string())
        }
        Kind::Inline => Body::XmlHtml(raw.to_string()),
        Kind::Base64 { html: true } => Body::Base64Html(raw.to_string()),
        Kind::Base64 { html: false } => Body::Base64Text(raw.to_string()),
        Kind::Text | Kind::Guess | Kind::Skip => Body::XmlText(raw.to_string()),
    }
}

fn date(raw: Option<&str>) -> Option<i64> {
    let raw = raw?;
    if raw.contains('&') || raw.contains('<') {
        dates::parse_date(&xml_text(raw))
    } else {
        dates::parse_date(raw)
    }
}

type RawBody<'a> = Option<(&'a str, Kind)>;

impl<'a> EntryDraft<'a> {
    fn store(&mut self, field: EntryField, raw: &'a str, base: Option<Arc<str>>) {
        match field {
            EntryField::Title(k) => first_of(&mut self.title, (raw, k)),
            EntryField::AltTitle(k) => first_of(&mut self.alt_title, (raw, k)),
            EntryField::AltAuthor => first(&mut self.alt_author, raw),
            EntryField::AltDescription(k) => {
                if self.alt_description.is_none() {
                    self.alt_description = Some((raw, k));
                    if self.content_base.is_none() {
                        self.content_base = base;
                    }
                }
            }
            EntryField::Duration => first(&mut self.duration, raw),
            EntryField::Category => {
                if self.categories.len() < crate::core::feed::MAX_CATEGORIES {
                    self.categories.push(raw);
                }
            }
            EntryField::MediaAlt => {}
            EntryField::Link => {
                if self.link_score < 1 && !raw.trim().is_empty() {
                    self.link = Some(raw);
                    self.link_score = 1;
                }
            }
            EntryField::Id => first(&mut self.id, raw),
            EntryField::Content(k, rank) if k != Kind::Skip => {
                if self.content.is_none() || rank > self.content_rank {
                    self.content = Some((raw, k));
                    self.content_rank = rank;
                    self.content_base = base;
                }
            }
            EntryField::Summary(k) if k != Kind::Skip => {
                if self.summary.is_none() {
                    self.summary = Some((raw, k));
                }
            }
            EntryField::Description => {
                if self.description.is_none() {
                    self.description = Some(raw);
                    if self.content_base.is_none() {
                        self.content_base = base;
                    }
                }
            }
            EntryField::Published => first(&mut self.published, raw),
            EntryField::Updated => first(&mut self.updated, raw),
            EntryField::DcDate => first(&mut self.dc_date, raw),
            EntryField::Author => first(&mut self.author, raw),
            EntryField::Content(..) | EntryField::Summary(_) => {}
        }
    }

    fn finish(
        self,
        fmt: FeedFormat,
        feed_url: Option<&Url>,
        feed_arc: &Option<Arc<str>>,
    ) -> RawEntry {
        let id = self
            .id
            .map(|i| collapse_ws(&xml_text(i)))
            .filter(|i| !i.is_empty());
        let about = self
            .about
            .map(|a| xml_text(a).trim().to_string())
            .filter(|a| !a.is_empty());
        let url = self.permalink(fmt, id.as_deref(), about.as_deref(), feed_url);
        let title = self
            .title
            .map(|(t, k)| field_text(t, k.text_kind()))
            .filter(|t| !t.is_empty())
            .or_else(|| self.alt_title.map(|(t, k)| field_text(t, k.text_kind())))
            .unwrap_or_default();
        let (content, summary) = self.bodies();
        let author = self.author();
        let published = date(self.published).or(date(self.dc_date));
        let updated = date(self.updated).or(if self.published.is_some() {
            date(self.dc_date)
        } else {
            None
        });
        let identity = entry_identity(
            id.as_deref().or(about.as_deref()),
            url.as_deref(),
            &title,
            content.map(|c| c.0),
        );
        RawEntry {
            identity,
            fingerprint: self.fingerprint(content, summary, author),
            url,
            title,
            published_at: published.or(updated),
            updated_at: updated,
            author: author.map(|a| Body::XmlHtml(a.to_string())),
            content: content.map(|(r, k)| body(r, k)),
            summary: summary.map(|(r, k)| body(r, k)),
            media: self.media(feed_url),
            categories: crate::core::feed::categories(
                self.categories.iter().map(|c| xml_text(c).into()),
            ),
            content_base: self.content_base.or(self.base),
            feed_url: feed_arc.clone(),
            clipped: false,
        }
    }

    /// The core author, else a Dublin Core or iTunes one; an RSS `<author>` that is a bare
    /// email address gives way to a name.
    fn author(&self) -> Option<&'a str> {
        let bare_email = |a: &str| {
            let a = a.trim();
            a.contains('@') && !a.contains(char::is_whitespace)
        };
        match (self.author, self.alt_author) {
            (Some(a), Some(alt)) if bare_email(a) && !alt.trim().is_empty() => Some(alt),
            (Some(a), _) if !a.trim().is_empty() => Some(a),
            (_, alt) => alt.or(self.author),
        }
    }

    /// The media items read, resolved against the entry's base: absolute http(s) URLs only,
    /// one item of each `<media:group>` (its items are alternatives), iTunes' duration on the player.
    fn media(&self, feed_url: Option<&Url>) -> Vec<Media> {
        if self.media.is_empty() {
            return Vec::new();
        }
        let base_url = self.base.as_deref().and_then(|b| Url::parse(b).ok());
        let base = base_url.as_ref().or(feed_url);
        let value = |a: &[u8], name: &[u8]| {
            attr(a, name)
                .map(|v| xml_text(&String::from_utf8_lossy(v)))
                .filter(|v| !v.trim().is_empty())
        };
        let mut groups_done: Vec<u16> = Vec::new();
        let mut items = Vec::new();
        for d in &self.media {
            let key: &[u8] = match d.source {
                MediaSource::AtomEnclosure | MediaSource::ItunesImage => b"href",
                _ => b"url",
            };
            let Some(url) = value(d.attrs, key).and_then(|u| absolute_url(&u, base)) else {
                continue;
            };
            let thumbnail = matches!(d.source, MediaSource::Thumbnail | MediaSource::ItunesImage);
            let file_ok = matches!(
                d.source,
                MediaSource::Enclosure | MediaSource::AtomEnclosure
            );
            let Some(mut m) = Media::new(
                url,
                value(d.attrs, b"type").as_deref(),
                value(d.attrs, b"medium").as_deref(),
                thumbnail,
                file_ok,
            ) else {
                continue;
            };
            if d.source == MediaSource::Content && d.group > 0 {
                if groups_done.contains(&d.group) {
                    continue;
                }
                groups_done.push(d.group);
            }
            let num = |name: &[u8]| value(d.attrs, name).and_then(|v| media::parse_count(&v));
            m.duration_s = value(d.attrs, b"duration").and_then(|v| media::parse_duration(&v));
            m.width = num(b"width");
            m.height = num(b"height");
            m.length = value(d.attrs, b"length")
                .or_else(|| value(d.attrs, b"fileSize"))
                .and_then(|v| media::parse_count(&v));
            m.poster = d
                .poster
                .and_then(|p| value(p, b"url"))
                .and_then(|u| absolute_url(&u, base));
            m.alt = d
                .alt
                .map(|(raw, k)| truncate_words(&field_text(raw, k.text_kind()), 500))
                .filter(|a| !a.is_empty());
            items.push(m);
        }
        let mut items = media::finish(items);
        media::set_duration(
            &mut items,
            self.duration
                .and_then(|d| media::parse_duration(&xml_text(d))),
        );
        items
    }

    /// The link, else (RSS) a permalink guid, else the RDF `about`.
    fn permalink(
        &self,
        fmt: FeedFormat,
        id: Option<&str>,
        about: Option<&str>,
        feed_url: Option<&Url>,
    ) -> Option<String> {
        let base_url = self.base.as_deref().and_then(|b| Url::parse(b).ok());
        let base = base_url.as_ref().or(feed_url);
        let mut url = self.link.and_then(|l| absolute_url(&xml_text(l), base));
        if url.is_none() && fmt != FeedFormat::Atom && self.guid_permalink {
            url = id.and_then(|i| absolute_url(i, None));
        }
        if url.is_none() {
            url = about.and_then(|a| absolute_url(a, None));
        }
        url
    }

    /// (content, summary). RSS: content:encoded is the content and description its summary.
    /// A missing `<description>` is stood in for by `dc:description`, `itunes:summary` or
    /// `media:description`.
    fn bodies(&self) -> (RawBody<'a>, RawBody<'a>) {
        let description = self
            .description
            .map(|d| (d, Kind::Html))
            .or(self.alt_description);
        match (self.content, self.summary, description) {
            (Some(c), s, d) => (Some(c), s.or(d)),
            (None, Some(s), d) => (d.or(Some(s)), None),
            (None, None, Some(d)) => (Some(d), None),
            (None, None, None) => (None, None),
        }
    }

    fn fingerprint(
        &self,
        content: RawBody<'_>,
        summary: RawBody<'_>,
        author: Option<&str>,
    ) -> String {
        let mut fp = Fingerprint::default();
        fp.opt(self.link.map(str::as_bytes))
            .opt(self.title.or(self.alt_title).map(|t| t.0.as_bytes()))
            .opt(author.map(str::as_bytes))
            .opt(content.map(|c| c.0.as_bytes()))
            .opt(summary.map(|c| c.0.as_bytes()))
            .opt(self.published.or(self.dc_date).map(str::as_bytes))
            .opt(self.updated.map(str::as_bytes));
        // Media only where there is some: an entry without keeps the fingerprint it had.
        if !self.media.is_empty() {
            for m in &self.media {
                fp.field(m.attrs)
                    .opt(m.poster)
                    .opt(m.alt.map(|a| a.0.as_bytes()));
            }
            fp.opt(self.duration.map(str::as_bytes));
        }
        fp.hex()
    }
}
