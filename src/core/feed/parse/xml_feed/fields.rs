//! Which element is which field: namespaces, text kinds, and the feed's and entries' fields.

use url::Url;

use super::entry::{EntryDraft, MediaDraft, MediaSource};
use crate::core::feed::parse::xml::attr;
use crate::core::feed::plain::TextKind;
use crate::core::feed::text::xml_text;
use crate::core::feed::{absolute_url, FeedFormat};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ns {
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

pub(super) fn ns_of_uri(uri: &[u8]) -> Ns {
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

pub(super) fn ns_of_prefix(p: &[u8]) -> Ns {
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
pub(super) enum Kind {
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
    pub(super) fn text_kind(self) -> TextKind {
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
pub(super) fn media_kind(a: &[u8]) -> Kind {
    match attr(a, b"type") {
        Some(t) if t.eq_ignore_ascii_case(b"html") => Kind::Html,
        _ => Kind::Guess,
    }
}

/// A feed-level element whose text is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FeedField {
    Title(Kind),
    Link,
    Description(Kind),
    Ttl,
    Author,
}

/// An entry's child element whose text is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryField {
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

pub(super) fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|c| *c == b':') {
        Some(p) => &name[p + 1..],
        None => name,
    }
}

pub(super) fn is_entry(fmt: FeedFormat, ns: Ns, local: &[u8]) -> bool {
    match fmt {
        FeedFormat::Atom => ns == Ns::Atom && local == b"entry",
        _ => ns == Ns::Own && local == b"item",
    }
}

/// Which entry field an entry's child is; an Atom `<link>` is read here, from its attributes.
pub(super) fn entry_field<'a>(
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
pub(super) struct ChannelLinks<'s> {
    pub(super) alt: &'s mut Option<String>,
    pub(super) hub: &'s mut Option<String>,
    pub(super) self_: &'s mut Option<String>,
}

/// Which feed field a channel's child is; an Atom `<link>` is read here, resolved against `base`.
pub(super) fn feed_field(
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
