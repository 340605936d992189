//! feed-rs as a second opinion where the lenient scanner finds no entries.

use std::sync::Arc;

use feed_rs::model::{Feed, FeedType, Text};
use url::Url;

use super::media::{self, Media};
use crate::core::feed::identity::{entry_identity, Fingerprint};
use crate::core::feed::plain::{guess_text, html_to_text};
use crate::core::feed::{absolute_url, Body, FeedDoc, FeedFormat, RawEntry};

/// Plain text of a feed-rs text: HTML stripped where it is typed HTML, guessed where untyped.
fn plain(t: &Option<Text>) -> String {
    t.as_ref()
        .map(|t| {
            let ty = t.content_type.to_string().to_ascii_lowercase();
            if ty.starts_with("text/html") || ty.contains("xhtml") {
                html_to_text(&t.content)
            } else {
                guess_text(&t.content)
            }
        })
        .unwrap_or_default()
}

/// feed-rs's media objects (Media RSS, enclosures): players, images and thumbnails.
fn media_of(e: &feed_rs::model::Entry, feed_url: Option<&Url>) -> Vec<Media> {
    let mut items = Vec::new();
    for obj in &e.media {
        for c in &obj.content {
            let Some(url) = c
                .url
                .as_ref()
                .and_then(|u| absolute_url(u.as_str(), feed_url))
            else {
                continue;
            };
            let mime = c.content_type.as_ref().map(|m| m.essence().to_string());
            let Some(mut m) = Media::new(url, mime.as_deref(), None, false, false) else {
                continue;
            };
            m.duration_s = c
                .duration
                .and_then(|d| u32::try_from(d.as_secs()).ok())
                .filter(|d| *d > 0);
            m.width = c.width;
            m.height = c.height;
            m.length = c.size;
            items.push(m);
        }
        for t in &obj.thumbnails {
            if let Some(url) = absolute_url(&t.image.uri, feed_url) {
                items.extend(Media::new(url, None, None, true, false));
            }
        }
    }
    media::finish(items)
}

pub fn parse(bytes: &[u8], feed_url: Option<&Url>) -> Option<FeedDoc> {
    // feed-rs gets the text our encoding stage decoded, without its XML declaration: quick-xml
    // then never switches encodings, which panics when the declaration is long (fuzz case) and
    // mis-decodes a declaration that lies.
    let text = crate::core::feed::decode::decode(bytes);
    let text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let text = match text.strip_prefix("<?xml") {
        Some(rest) => rest.find("?>").map_or(text, |p| &rest[p + 2..]),
        None => text,
    };
    let bytes = text.as_bytes();
    // We sanitize ourselves, later and only what is stored.
    let feed: Feed = feed_rs::parser::Builder::new()
        .sanitize_content(false)
        .build()
        .parse(bytes)
        .ok()?;
    let feed_arc: Option<Arc<str>> = feed_url.map(|u| Arc::from(u.as_str()));
    let format = match feed.feed_type {
        FeedType::Atom => FeedFormat::Atom,
        FeedType::JSON => FeedFormat::JsonFeed,
        FeedType::RSS1 | FeedType::RSS0 => FeedFormat::Rdf,
        FeedType::RSS2 => FeedFormat::Rss,
    };
    let entries = feed
        .entries
        .iter()
        .take(crate::core::feed::MAX_ITEMS_PER_DOCUMENT)
        .map(|e| {
            let title = plain(&e.title);
            let url = e.links.iter().find_map(|l| absolute_url(&l.href, feed_url));
            // feed-rs invents random ids; keep only ids that really are in the source.
            let id = Some(e.id.as_str()).filter(|id| {
                !id.is_empty() && memchr::memmem::find(bytes, id.as_bytes()).is_some()
            });
            let content = e.content.as_ref().and_then(|c| c.body.clone());
            let summary = e.summary.as_ref().map(|s| s.content.clone());
            let author = e.authors.first().and_then(|a| a.name.clone());
            let mut fp = Fingerprint::default();
            fp.opt(url.as_deref().map(str::as_bytes))
                .field(title.as_bytes())
                .opt(author.as_deref().map(str::as_bytes))
                .opt(content.as_deref().map(str::as_bytes))
                .opt(summary.as_deref().map(str::as_bytes))
                .opt(
                    e.published
                        .map(|d| d.timestamp_millis().to_le_bytes())
                        .as_ref()
                        .map(|b| &b[..]),
                )
                .opt(
                    e.updated
                        .map(|d| d.timestamp_millis().to_le_bytes())
                        .as_ref()
                        .map(|b| &b[..]),
                );
            let published = e.published.map(|d| d.timestamp_millis());
            let updated = e.updated.map(|d| d.timestamp_millis());
            RawEntry {
                identity: entry_identity(
                    id,
                    url.as_deref(),
                    &title,
                    content.as_deref().or(summary.as_deref()),
                ),
                fingerprint: fp.hex(),
                url,
                title,
                published_at: published.or(updated),
                updated_at: updated,
                author: author.map(Body::Html),
                content: content.map(Body::Html),
                summary: summary.map(Body::Html),
                media: media_of(e, feed_url),
                content_base: None,
                feed_url: feed_arc.clone(),
                clipped: false,
                categories: crate::core::feed::categories(
                    e.categories
                        .iter()
                        .map(|c| std::borrow::Cow::Borrowed(c.term.as_str())),
                ),
            }
        })
        .collect();
    Some(FeedDoc {
        format,
        title: plain(&feed.title),
        site_url: feed
            .links
            .iter()
            .find_map(|l| absolute_url(&l.href, feed_url)),
        description: Some(plain(&feed.description)).filter(|d| !d.is_empty()),
        ttl_minutes: feed.ttl,
        hub: None,
        self_url: None,
        entries,
    })
}
