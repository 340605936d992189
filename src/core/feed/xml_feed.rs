//! RSS 0.9x/1.0/2.0, RDF and Atom 0.3/1.0 from one lenient pass over the tags.

use std::borrow::Cow;
use std::sync::Arc;

use url::Url;

use super::hash::Fingerprint;
use super::text::{self, collapse_ws, plain, xml_text};
use super::xml::{attr, attrs, line_of, Tok, Tokenizer};
use super::{absolute_url, dates, identity, Body, FeedDoc, FeedFormat, ParseError, RawEntry};

/// Bytes as UTF-8: UTF-16 by BOM, Latin-1/Windows-1252 when declared and needed, else lossy.
pub fn to_utf8(b: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = b.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8_lossy(rest);
    }
    let utf16 = match b {
        [0xff, 0xfe, rest @ ..] => Some((rest, false)),
        [0xfe, 0xff, rest @ ..] => Some((rest, true)),
        [b'<', 0, b'?', 0, ..] => Some((b, false)),
        [0, b'<', 0, b'?', ..] => Some((b, true)),
        _ => None,
    };
    if let Some((rest, be)) = utf16 {
        let units = rest.chunks_exact(2).map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        let s: String = char::decode_utf16(units)
            .map(|r| r.unwrap_or('\u{fffd}'))
            .collect();
        // The declaration still says utf-16; nothing below reads it.
        return Cow::Owned(s);
    }
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let head = String::from_utf8_lossy(&b[..b.len().min(200)]).to_ascii_lowercase();
            let single_byte = [
                "iso-8859-1",
                "latin1",
                "latin-1",
                "windows-1252",
                "cp1252",
                "us-ascii",
                "iso-8859-15",
            ]
            .iter()
            .any(|e| head.contains(e));
            if single_byte {
                Cow::Owned(
                    b.iter()
                        .map(|&c| match c {
                            0x80..=0x9f => text::cp1252_c1(c).unwrap_or('\u{fffd}'),
                            _ => char::from(c),
                        })
                        .collect(),
                )
            } else {
                String::from_utf8_lossy(b)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    /// No namespace, or an RSS one (RSS docs), or Atom's (Atom docs): the document's own.
    Own,
    Atom,
    Dc,
    Content,
    Rdf,
    Other,
}

fn ns_of_uri(uri: &[u8]) -> Ns {
    match uri {
        b"http://www.w3.org/2005/Atom" | b"http://purl.org/atom/ns#" => Ns::Atom,
        b"http://purl.org/dc/elements/1.1/" | b"http://purl.org/dc/terms/" => Ns::Dc,
        b"http://purl.org/rss/1.0/modules/content/" => Ns::Content,
        b"http://www.w3.org/1999/02/22-rdf-syntax-ns#" => Ns::Rdf,
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
        b"rss" => Ns::Own,
        _ => Ns::Other,
    }
}

/// How a captured element's text must be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Html,
    Text,
    Xhtml,
    Skip,
}

fn atom_kind(a: &[u8], default: Kind) -> Kind {
    if let Some(src) = attr(a, b"src") {
        if !src.is_empty() {
            return Kind::Skip; // out-of-line content
        }
    }
    if attr(a, b"mode") == Some(b"base64") {
        return Kind::Skip;
    }
    if attr(a, b"mode") == Some(b"xml") {
        return Kind::Xhtml;
    }
    if attr(a, b"mode") == Some(b"escaped") {
        return Kind::Html;
    }
    match attr(a, b"type").map(|t| t.to_ascii_lowercase()) {
        None => default,
        Some(t) => match t.as_slice() {
            b"html" | b"text/html" => Kind::Html,
            b"xhtml" | b"application/xhtml+xml" => Kind::Xhtml,
            b"text" | b"text/plain" => Kind::Text,
            _ if t.starts_with(b"text/") => Kind::Text,
            _ => Kind::Skip,
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    FeedTitle,
    FeedLink,
    FeedDesc,
    FeedTtl,
    FeedAuthor,
    Title,
    Link,
    Id,
    Content(Kind),
    Summary(Kind),
    Description,
    Published,
    Updated,
    DcDate,
    Author,
}

#[derive(Default)]
struct EntryB<'a> {
    title: Option<&'a str>,
    link: Option<&'a str>,
    link_score: u8,
    id: Option<&'a str>,
    guid_permalink: bool,
    about: Option<&'a str>,
    content: Option<(&'a str, Kind)>,
    summary: Option<(&'a str, Kind)>,
    description: Option<&'a str>,
    published: Option<&'a str>,
    updated: Option<&'a str>,
    dc_date: Option<&'a str>,
    author: Option<&'a str>,
    base: Option<Arc<str>>,
    content_base: Option<Arc<str>>,
}

struct Capture {
    field: Field,
    depth: usize,
    start: usize,
    base: Option<Arc<str>>,
}

/// Parses an XML feed (already UTF-8, leading whitespace trimmed).
pub fn parse(doc: &str, feed_url: Option<&Url>) -> Result<FeedDoc, ParseError> {
    let b = doc.as_bytes();
    let mut toks = Tokenizer::new(b);
    let feed_arc: Option<Arc<str>> = feed_url.map(|u| Arc::from(u.as_str()));

    let mut format = None;
    let mut stack: Vec<&[u8]> = Vec::with_capacity(32);
    let mut prefixes: Vec<(&[u8], Ns)> = Vec::new();
    let mut default_ns: Vec<(usize, Ns)> = Vec::new();
    let mut bases: Vec<(usize, Url)> = Vec::new();
    let mut channel_depth = 0usize;
    let mut entry_depth: Option<usize> = None;
    let mut author_depth: Option<usize> = None;
    let mut cap: Option<Capture> = None;
    let mut e = EntryB::default();
    let mut root_closed = false;

    let (mut f_title, mut f_link, mut f_desc, mut f_ttl, mut f_author) =
        (None, None, None, None, None);
    let mut f_alt_link: Option<String> = None;
    let mut entries: Vec<RawEntry> = Vec::new();

    let slice = |s: usize, t: usize| doc.get(s..t).unwrap_or("");

    for tok in &mut toks {
        match tok {
            Tok::Start {
                name,
                attrs: a,
                empty,
                start,
                end,
            } => {
                let Some(fmt) = format else {
                    // The root element decides the format.
                    let local = local_name(name);
                    format = Some(match local.to_ascii_lowercase().as_slice() {
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
                    });
                    if local.eq_ignore_ascii_case(b"channel") || format == Some(FeedFormat::Atom) {
                        channel_depth = 1;
                    }
                    declare_ns(a, &mut prefixes, &mut default_ns, 1);
                    stack.push(name);
                    if empty {
                        root_closed = true;
                        break;
                    }
                    continue;
                };
                if cap.is_some() {
                    // Inside captured text (xhtml or unescaped HTML): just keep depth.
                    if !empty {
                        stack.push(name);
                    }
                    continue;
                }
                let depth = stack.len() + 1;
                if !a.is_empty() {
                    declare_ns(a, &mut prefixes, &mut default_ns, depth);
                    if let Some(v) = attr(a, b"xml:base") {
                        let parent = bases.last().map(|(_, u)| u).or(feed_url);
                        if let Ok(u) = Url::options()
                            .base_url(parent)
                            .parse(xml_text(&String::from_utf8_lossy(v)).trim())
                        {
                            bases.push((depth, u));
                        }
                    }
                }
                let ns = resolve(name, fmt, &prefixes, &default_ns);
                let local = local_name(name);
                let cur_base = || bases.last().map(|(_, u)| Arc::from(u.as_str()));
                let mut field = None;

                if let Some(ed) = entry_depth {
                    if depth == ed + 1 {
                        field = entry_field(fmt, ns, local, a, &mut e);
                        if field == Some(Field::Author) && fmt == FeedFormat::Atom && ns == Ns::Atom
                        {
                            author_depth = Some(depth);
                            field = None;
                        }
                    } else if author_depth == Some(depth - 1) && local == b"name" && ns != Ns::Other
                    {
                        field = Some(Field::Author);
                    }
                } else if is_entry(fmt, ns, local) {
                    entry_depth = Some(depth);
                    e = EntryB {
                        base: cur_base(),
                        about: attr(a, b"rdf:about").map(|v| std::str::from_utf8(v).unwrap_or("")),
                        ..EntryB::default()
                    };
                } else if fmt != FeedFormat::Atom && local == b"channel" && ns == Ns::Own {
                    channel_depth = depth;
                } else if depth == channel_depth + 1 {
                    field = feed_field(
                        fmt,
                        ns,
                        local,
                        a,
                        &mut f_alt_link,
                        feed_url,
                        bases.last().map(|(_, u)| u),
                    );
                    if field == Some(Field::FeedAuthor) && ns == Ns::Atom {
                        author_depth = Some(depth);
                        field = None;
                    }
                } else if author_depth == Some(depth - 1) && local == b"name" {
                    field = Some(Field::FeedAuthor);
                }

                if empty {
                    if fmt != FeedFormat::Atom && local == b"channel" {
                        channel_depth = 0;
                    }
                    if entry_depth == Some(depth) {
                        entries.push(finish(std::mem::take(&mut e), fmt, feed_url, &feed_arc));
                        entry_depth = None;
                    }
                    pop_scopes(depth, &mut default_ns, &mut bases);
                    continue;
                }
                stack.push(name);
                if let Some(field) = field {
                    let base = if matches!(
                        field,
                        Field::Content(_) | Field::Summary(_) | Field::Description
                    ) {
                        cur_base()
                    } else {
                        None
                    };
                    cap = Some(Capture {
                        field,
                        depth,
                        start: end,
                        base,
                    });
                }
                let _ = start;
            }
            Tok::End { name, start, .. } => {
                let Some(j) = stack.iter().rposition(|n| *n == name) else {
                    continue; // a stray end tag
                };
                // Close everything down to the matching element (lenient nesting).
                while stack.len() > j {
                    let depth = stack.len();
                    stack.pop();
                    if let Some(c) = cap.as_ref().filter(|c| c.depth == depth) {
                        let raw = slice(c.start, start);
                        let c = cap.take().map(|c| (c.field, c.base));
                        if let Some((field, base)) = c {
                            store(
                                field,
                                raw,
                                base,
                                &mut e,
                                &mut f_title,
                                &mut f_link,
                                &mut f_desc,
                                &mut f_ttl,
                                &mut f_author,
                            );
                        }
                    }
                    if cap.is_some() {
                        continue;
                    }
                    if author_depth == Some(depth) {
                        author_depth = None;
                    }
                    if entry_depth == Some(depth) {
                        entries.push(finish(
                            std::mem::take(&mut e),
                            format.unwrap_or(FeedFormat::Rss),
                            feed_url,
                            &feed_arc,
                        ));
                        entry_depth = None;
                    }
                    if channel_depth == depth && format != Some(FeedFormat::Atom) {
                        channel_depth = 0;
                    }
                    pop_scopes(depth, &mut default_ns, &mut bases);
                    if depth == 1 {
                        root_closed = true;
                    }
                }
                if root_closed {
                    break;
                }
            }
        }
    }

    let Some(format) = format else {
        return Err(match toks.truncated_at {
            Some(p) => ParseError::BrokenXml {
                line: line_of(b, p),
                reason: "a tag, comment or CDATA section is never closed".into(),
            },
            None => ParseError::NotAFeed("no XML elements found".into()),
        });
    };
    if !root_closed && entries.is_empty() && f_title.is_none() {
        let at = toks.truncated_at.unwrap_or(b.len());
        return Err(ParseError::BrokenXml {
            line: line_of(b, at),
            reason: "the document ends before the feed is complete".into(),
        });
    }
    if let Some(a) = f_author {
        for en in entries.iter_mut().filter(|en| en.author.is_none()) {
            en.author = Some(Body::XmlHtml(a.to_string()));
        }
    }
    let site_url = f_link
        .and_then(|l| absolute_url(&xml_text(l), feed_url))
        .or(f_alt_link);
    Ok(FeedDoc {
        format,
        title: f_title.map(plain).unwrap_or_default(),
        site_url,
        description: f_desc.map(plain).filter(|d| !d.is_empty()),
        ttl_minutes: f_ttl.and_then(|t| xml_text(t).trim().parse().ok()),
        entries,
    })
}

fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|c| *c == b':') {
        Some(p) => &name[p + 1..],
        None => name,
    }
}

fn declare_ns<'a>(
    a: &'a [u8],
    prefixes: &mut Vec<(&'a [u8], Ns)>,
    default_ns: &mut Vec<(usize, Ns)>,
    depth: usize,
) {
    if memchr::memmem::find(a, b"xmlns").is_none() {
        return;
    }
    for (n, v) in attrs(a) {
        if n == b"xmlns" {
            default_ns.push((depth, ns_of_uri(v)));
        } else if let Some(p) = n.strip_prefix(b"xmlns:") {
            prefixes.push((p, ns_of_uri(v)));
        }
    }
}

fn pop_scopes(depth: usize, default_ns: &mut Vec<(usize, Ns)>, bases: &mut Vec<(usize, Url)>) {
    while default_ns.last().is_some_and(|(d, _)| *d >= depth) {
        default_ns.pop();
    }
    while bases.last().is_some_and(|(d, _)| *d >= depth) {
        bases.pop();
    }
}

fn resolve(
    name: &[u8],
    fmt: FeedFormat,
    prefixes: &[(&[u8], Ns)],
    default_ns: &[(usize, Ns)],
) -> Ns {
    let own = if fmt == FeedFormat::Atom {
        Ns::Atom
    } else {
        Ns::Own
    };
    match name.iter().position(|c| *c == b':') {
        Some(p) => {
            let prefix = &name[..p];
            let ns = prefixes
                .iter()
                .rev()
                .find(|(q, _)| *q == prefix)
                .map_or_else(|| ns_of_prefix(prefix), |(_, ns)| *ns);
            if ns == Ns::Own {
                own
            } else {
                ns
            }
        }
        None => match default_ns.last().map(|(_, ns)| *ns) {
            // An unknown default namespace on a feed is still that feed's own.
            None | Some(Ns::Own) | Some(Ns::Other) => own,
            Some(ns) => ns,
        },
    }
}

fn is_entry(fmt: FeedFormat, ns: Ns, local: &[u8]) -> bool {
    match fmt {
        FeedFormat::Atom => ns == Ns::Atom && local == b"entry",
        _ => ns == Ns::Own && local == b"item",
    }
}

fn entry_field<'a>(
    fmt: FeedFormat,
    ns: Ns,
    local: &[u8],
    a: &'a [u8],
    e: &mut EntryB<'a>,
) -> Option<Field> {
    let atomish = ns == Ns::Atom;
    let own = ns == Ns::Own || (fmt == FeedFormat::Atom && atomish);
    Some(match (own, atomish, ns, local) {
        (true, _, _, b"title") => Field::Title,
        (_, true, _, b"link") => {
            let rel = attr(a, b"rel").unwrap_or(b"alternate");
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
        (true, false, _, b"link") => Field::Link,
        (true, false, _, b"guid") => {
            e.guid_permalink =
                attr(a, b"isPermaLink").is_none_or(|v| !v.eq_ignore_ascii_case(b"false"));
            Field::Id
        }
        (true, true, _, b"id") => Field::Id,
        (true, true, _, b"content") => Field::Content(atom_kind(a, Kind::Text)),
        (true, true, _, b"summary") => Field::Summary(atom_kind(a, Kind::Text)),
        (true, false, _, b"description") => Field::Description,
        (_, _, Ns::Content, b"encoded") => Field::Content(Kind::Html),
        (true, false, _, b"pubDate") => Field::Published,
        (true, true, _, b"published" | b"issued" | b"created") => Field::Published,
        (true, true, _, b"updated" | b"modified") => Field::Updated,
        (_, _, Ns::Dc, b"date") => Field::DcDate,
        (_, _, Ns::Dc, b"creator") => Field::Author,
        (true, _, _, b"author") => Field::Author,
        _ => return None,
    })
}

fn feed_field(
    fmt: FeedFormat,
    ns: Ns,
    local: &[u8],
    a: &[u8],
    alt: &mut Option<String>,
    feed_url: Option<&Url>,
    base: Option<&Url>,
) -> Option<Field> {
    let own = ns == Ns::Own || (fmt == FeedFormat::Atom && ns == Ns::Atom);
    match (own, ns, local) {
        (true, _, b"title") => Some(Field::FeedTitle),
        (_, Ns::Atom, b"link") => {
            let rel = attr(a, b"rel").unwrap_or(b"alternate");
            if rel == b"alternate" && alt.is_none() {
                let href = attr(a, b"href").map(|h| xml_text(&String::from_utf8_lossy(h)));
                *alt = href.and_then(|h| absolute_url(&h, base.or(feed_url)));
            }
            None
        }
        (true, _, b"link") => Some(Field::FeedLink),
        (true, _, b"description" | b"subtitle" | b"tagline") => Some(Field::FeedDesc),
        (true, _, b"ttl") => Some(Field::FeedTtl),
        (true, Ns::Atom, b"author") => Some(Field::FeedAuthor),
        (_, Ns::Dc, b"creator") => Some(Field::FeedAuthor),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn store<'a>(
    field: Field,
    raw: &'a str,
    base: Option<Arc<str>>,
    e: &mut EntryB<'a>,
    f_title: &mut Option<&'a str>,
    f_link: &mut Option<&'a str>,
    f_desc: &mut Option<&'a str>,
    f_ttl: &mut Option<&'a str>,
    f_author: &mut Option<&'a str>,
) {
    fn first<'a>(slot: &mut Option<&'a str>, v: &'a str) {
        if slot.is_none() {
            *slot = Some(v);
        }
    }
    match field {
        Field::FeedTitle => first(f_title, raw),
        Field::FeedLink => first(f_link, raw),
        Field::FeedDesc => first(f_desc, raw),
        Field::FeedTtl => first(f_ttl, raw),
        Field::FeedAuthor => first(f_author, raw),
        Field::Title => first(&mut e.title, raw),
        Field::Link => {
            if e.link_score < 1 && !raw.trim().is_empty() {
                e.link = Some(raw);
                e.link_score = 1;
            }
        }
        Field::Id => first(&mut e.id, raw),
        Field::Content(k) if k != Kind::Skip => {
            if e.content.is_none() {
                e.content = Some((raw, k));
                e.content_base = base;
            }
        }
        Field::Summary(k) if k != Kind::Skip => {
            if e.summary.is_none() {
                e.summary = Some((raw, k));
            }
        }
        Field::Description => {
            if e.description.is_none() {
                e.description = Some(raw);
                if e.content_base.is_none() {
                    e.content_base = base;
                }
            }
        }
        Field::Published => first(&mut e.published, raw),
        Field::Updated => first(&mut e.updated, raw),
        Field::DcDate => first(&mut e.dc_date, raw),
        Field::Author => first(&mut e.author, raw),
        Field::Content(_) | Field::Summary(_) => {}
    }
}

fn body(raw: &str, kind: Kind) -> Body {
    match kind {
        Kind::Html => Body::XmlHtml(raw.to_string()),
        Kind::Xhtml => Body::Markup(raw.to_string()),
        Kind::Text | Kind::Skip => Body::XmlText(raw.to_string()),
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

fn finish(
    e: EntryB<'_>,
    fmt: FeedFormat,
    feed_url: Option<&Url>,
    feed_arc: &Option<Arc<str>>,
) -> RawEntry {
    let base_url = e.base.as_deref().and_then(|b| Url::parse(b).ok());
    let base = base_url.as_ref().or(feed_url);
    let id =
        e.id.map(|i| collapse_ws(&xml_text(i)))
            .filter(|i| !i.is_empty());
    let about = e
        .about
        .map(|a| xml_text(a).trim().to_string())
        .filter(|a| !a.is_empty());
    let mut url = e.link.and_then(|l| absolute_url(&xml_text(l), base));
    if url.is_none() && fmt != FeedFormat::Atom && e.guid_permalink {
        url = id.as_deref().and_then(|i| absolute_url(i, None));
    }
    if url.is_none() {
        url = about.as_deref().and_then(|a| absolute_url(a, None));
    }
    let title = e.title.map(plain).unwrap_or_default();

    // RSS: content:encoded is the content and description its summary.
    let (content, summary) = match (e.content, e.summary, e.description) {
        (Some(c), s, d) => (Some(c), s.or(d.map(|d| (d, Kind::Html)))),
        (None, Some(s), d) => (d.map(|d| (d, Kind::Html)).or(Some(s)), None),
        (None, None, Some(d)) => (Some((d, Kind::Html)), None),
        (None, None, None) => (None, None),
    };
    let published = date(e.published).or(date(e.dc_date));
    let updated = date(e.updated).or(if e.published.is_some() {
        date(e.dc_date)
    } else {
        None
    });

    let mut fp = Fingerprint::default();
    fp.opt(e.link.map(str::as_bytes))
        .opt(e.title.map(str::as_bytes))
        .opt(e.author.map(str::as_bytes))
        .opt(content.map(|c| c.0.as_bytes()))
        .opt(summary.map(|c| c.0.as_bytes()))
        .opt(e.published.or(e.dc_date).map(str::as_bytes))
        .opt(e.updated.map(str::as_bytes));

    let identity = identity(
        id.as_deref().or(about.as_deref()),
        url.as_deref(),
        &title,
        content.map(|c| c.0),
    );
    RawEntry {
        identity,
        fingerprint: fp.hex(),
        url,
        title,
        published_at: published.or(updated),
        updated_at: updated,
        author: e.author.map(|a| Body::XmlHtml(a.to_string())),
        content: content.map(|(r, k)| body(r, k)),
        summary: summary.map(|(r, k)| body(r, k)),
        content_base: e.content_base.or(e.base),
        feed_url: feed_arc.clone(),
    }
}
