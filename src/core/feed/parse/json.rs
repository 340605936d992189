//! JSON Feed 1.x via serde_json.

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use super::dates;
use super::media::{self, Media};
use crate::core::feed::identity::{entry_identity, Fingerprint};
use crate::core::feed::plain::{guess_text, html_to_text};
use crate::core::feed::text::collapse_ws;
use crate::core::feed::{absolute_url, Body, FeedDoc, FeedFormat, ParseError, RawEntry};

/// The string at `key`, if it is one.
fn string_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn author_of(v: &Value) -> Option<&str> {
    fn name(a: &Value) -> Option<&str> {
        string_field(a, "name")
    }
    v.get("authors")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find_map(name))
        .or_else(|| v.get("author").and_then(name))
}

pub fn parse(text: &str, feed_url: Option<&Url>) -> Result<FeedDoc, ParseError> {
    let v: Value = serde_json::from_str(text).map_err(|e| ParseError::BrokenJson(e.to_string()))?;
    let items = v.get("items").and_then(Value::as_array);
    let is_feed =
        string_field(&v, "version").is_some_and(|x| x.contains("jsonfeed.org")) || items.is_some();
    if !is_feed {
        return Err(ParseError::NotAFeed(
            "this JSON has no \"version\" of https://jsonfeed.org and no \"items\"".into(),
        ));
    }
    let feed_arc: Option<Arc<str>> = feed_url.map(|u| Arc::from(u.as_str()));
    let feed_author = author_of(&v);
    let entries = items
        .map(|items| {
            items
                .iter()
                .filter(|i| i.is_object())
                .take(crate::core::feed::MAX_ITEMS_PER_DOCUMENT)
                .map(|i| entry(i, feed_url, &feed_arc, feed_author))
                .collect()
        })
        .unwrap_or_default();
    Ok(FeedDoc {
        format: FeedFormat::JsonFeed,
        title: string_field(&v, "title")
            .map(html_to_text)
            .unwrap_or_default(),
        site_url: string_field(&v, "home_page_url").and_then(|u| absolute_url(u, feed_url)),
        description: string_field(&v, "description")
            .map(html_to_text)
            .filter(|d| !d.is_empty()),
        ttl_minutes: None,
        // JSON Feed 1.1: `hubs` is a list of {type, url}; WebSub is the type we speak.
        hub: v
            .get("hubs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|h| string_field(h, "type").is_some_and(|t| t.eq_ignore_ascii_case("websub")))
            .find_map(|h| string_field(h, "url").and_then(|u| absolute_url(u, feed_url))),
        self_url: string_field(&v, "feed_url").and_then(|u| absolute_url(u, feed_url)),
        entries,
    })
}

fn entry(
    i: &Value,
    feed_url: Option<&Url>,
    feed_arc: &Option<Arc<str>>,
    feed_author: Option<&str>,
) -> RawEntry {
    let id = match i.get("id") {
        Some(Value::String(x)) => Some(collapse_ws(x)),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let raw_url = string_field(i, "url").or(string_field(i, "external_url"));
    let url = raw_url.and_then(|u| absolute_url(u, feed_url));
    let raw_title = string_field(i, "title");
    // Plain text by the spec, yet some publishers put HTML there.
    let title = raw_title.map(guess_text).unwrap_or_default();
    let html = string_field(i, "content_html");
    let txt = string_field(i, "content_text");
    let summary = string_field(i, "summary");
    let published_raw = string_field(i, "date_published");
    let updated_raw = string_field(i, "date_modified");
    let author = author_of(i).or(feed_author);
    let published = published_raw.and_then(dates::parse_date);
    let updated = updated_raw.and_then(dates::parse_date);
    let mut fp = Fingerprint::default();
    fp.opt(raw_url.map(str::as_bytes))
        .opt(raw_title.map(str::as_bytes))
        .opt(author.map(str::as_bytes))
        .opt(html.map(str::as_bytes))
        .opt(txt.map(str::as_bytes))
        .opt(summary.map(str::as_bytes))
        .opt(published_raw.map(str::as_bytes))
        .opt(updated_raw.map(str::as_bytes));
    let attachments = i.get("attachments").and_then(Value::as_array);
    let image = string_field(i, "image").or(string_field(i, "banner_image"));
    if attachments.is_some_and(|a| !a.is_empty()) || image.is_some() {
        // Only where there are some: an entry without keeps the fingerprint it had.
        fp.opt(image.map(str::as_bytes));
        for a in attachments.into_iter().flatten() {
            fp.field(a.to_string().as_bytes());
        }
    }
    let content = html
        .map(|h| Body::Html(h.to_string()))
        .or(txt.map(|t| Body::Text(t.to_string())));
    RawEntry {
        identity: entry_identity(id.as_deref(), url.as_deref(), &title, html.or(txt)),
        fingerprint: fp.hex(),
        url,
        title,
        published_at: published.or(updated),
        updated_at: updated,
        author: author.map(|a| Body::Html(a.to_string())),
        content,
        summary: summary.map(|t| Body::Text(t.to_string())),
        media: media_of(attachments, image, feed_url),
        content_base: None,
        feed_url: feed_arc.clone(),
        clipped: false,
        categories: crate::core::feed::categories(
            i.get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(std::borrow::Cow::Borrowed),
        ),
    }
}

/// `attachments` (url, mime_type, size_in_bytes, duration_in_seconds) and the item's `image`
/// (else its `banner_image`).
fn media_of(
    attachments: Option<&Vec<Value>>,
    image: Option<&str>,
    feed_url: Option<&Url>,
) -> Vec<Media> {
    let mut items = Vec::new();
    for a in attachments.into_iter().flatten() {
        let Some(url) = string_field(a, "url").and_then(|u| absolute_url(u, feed_url)) else {
            continue;
        };
        let Some(mut m) = Media::new(url, string_field(a, "mime_type"), None, false, true) else {
            continue;
        };
        let number = |key: &str| a.get(key).and_then(Value::as_f64).filter(|n| *n >= 1.0);
        m.duration_s = number("duration_in_seconds").map(|d| d.min(u32::MAX as f64) as u32);
        m.length = number("size_in_bytes").map(|n| n as u64);
        m.alt = string_field(a, "title")
            .map(collapse_ws)
            .filter(|t| !t.is_empty());
        items.push(m);
    }
    if let Some(url) = image.and_then(|u| absolute_url(u, feed_url)) {
        items.extend(Media::new(
            url,
            Some("image/*"),
            Some("image"),
            false,
            false,
        ));
    }
    media::finish(items)
}
