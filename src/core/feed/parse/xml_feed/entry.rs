//! One entry as read: its fields' raw text, finished into a [`RawEntry`].

use std::sync::Arc;

use url::Url;

use super::fields::{EntryField, Kind};
use super::{first, first_of};
use crate::core::feed::identity::{entry_identity, Fingerprint};
use crate::core::feed::parse::dates;
use crate::core::feed::parse::media::{self, Media};
use crate::core::feed::parse::xml::attr;
use crate::core::feed::plain::field_text;
use crate::core::feed::text::{collapse_ws, truncate_words, xml_text};
use crate::core::feed::{absolute_url, Body, FeedFormat, RawEntry};

/// Where a media item was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MediaSource {
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
pub(super) struct MediaDraft<'a> {
    pub(super) source: MediaSource,
    pub(super) attrs: &'a [u8],
    /// The `<media:group>` it is in (1-based; 0 for none): a group holds alternatives.
    pub(super) group: u16,
    /// A `<media:thumbnail>` inside it: a video's poster.
    pub(super) poster: Option<&'a [u8]>,
    /// Its `<media:description>`, raw.
    pub(super) alt: Option<(&'a str, Kind)>,
}

/// The entry being read, as raw text of the document.
#[derive(Default)]
pub(super) struct EntryDraft<'a> {
    pub(super) title: Option<(&'a str, Kind)>,
    pub(super) alt_title: Option<(&'a str, Kind)>,
    pub(super) link: Option<&'a str>,
    pub(super) link_score: u8,
    pub(super) id: Option<&'a str>,
    pub(super) guid_permalink: bool,
    pub(super) about: Option<&'a str>,
    pub(super) content: Option<(&'a str, Kind)>,
    pub(super) content_rank: u8,
    pub(super) summary: Option<(&'a str, Kind)>,
    pub(super) description: Option<&'a str>,
    pub(super) alt_description: Option<(&'a str, Kind)>,
    pub(super) published: Option<&'a str>,
    pub(super) updated: Option<&'a str>,
    pub(super) dc_date: Option<&'a str>,
    pub(super) author: Option<&'a str>,
    pub(super) alt_author: Option<&'a str>,
    pub(super) duration: Option<&'a str>,
    /// Raw text of `<category>`/`<dc:subject>`, and Atom `term` attributes (raw attribute text).
    pub(super) categories: Vec<&'a str>,
    pub(super) media: Vec<MediaDraft<'a>>,
    pub(super) base: Option<Arc<str>>,
    pub(super) content_base: Option<Arc<str>>,
}

pub(super) fn body(raw: &str, kind: Kind) -> Body {
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

pub(super) fn date(raw: Option<&str>) -> Option<i64> {
    let raw = raw?;
    if raw.contains('&') || raw.contains('<') {
        dates::parse_date(&xml_text(raw))
    } else {
        dates::parse_date(raw)
    }
}

pub(super) type RawBody<'a> = Option<(&'a str, Kind)>;

impl<'a> EntryDraft<'a> {
    pub(super) fn store(&mut self, field: EntryField, raw: &'a str, base: Option<Arc<str>>) {
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

    pub(super) fn finish(
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
