//! Enclosures and media, read with the entry and rendered after its body.
//!
//! RSS `<enclosure>`, Media RSS, iTunes, Atom `rel="enclosure"` and JSON Feed attachments;
//! rendered by our own code after the entry's sanitized body.

use serde::{Deserialize, Serialize};

/// At most this many media items are rendered per entry (a feed may list dozens).
const MAX_MEDIA: usize = 8;
/// At most this many are kept per entry as parsed (duplicates and thumbnails are dropped later).
const MAX_PARSED: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(in crate::core::feed) enum MediaKind {
    Audio,
    Video,
    Image,
    /// A preview image (`media:thumbnail`, `itunes:image`): a video's poster, else shown only
    /// when the entry has no other media and its body no picture (a YouTube entry).
    Thumbnail,
    /// A deliberate attachment of another type (an enclosure of a PDF): a download link.
    File,
}

/// One media item; every URL in it is absolute http(s) (checked as links are).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(in crate::core::feed) struct Media {
    pub url: String,
    pub kind: MediaKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Bytes, as the feed states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// A video's poster image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poster: Option<String>,
    /// Plain text (Media RSS `media:description` of the item, e.g. Mastodon's alt text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

impl Media {
    /// A media item of `url` (already absolute http(s)); `None` when its kind is unknown and it
    /// is not a deliberate attachment (`file_ok`).
    pub fn new(
        url: String,
        mime: Option<&str>,
        medium: Option<&str>,
        thumbnail: bool,
        file_ok: bool,
    ) -> Option<Media> {
        if is_avatar(&url) {
            return None;
        }
        let mime = mime
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| !m.is_empty() && m.len() < 128);
        let kind = if thumbnail {
            MediaKind::Thumbnail
        } else {
            match classify(mime.as_deref(), medium, &url) {
                Some(k) => k,
                None if file_ok => MediaKind::File,
                None => return None,
            }
        };
        Some(Media {
            url,
            kind,
            mime,
            duration_s: None,
            width: None,
            height: None,
            length: None,
            poster: None,
            alt: None,
        })
    }

    fn playable(&self) -> bool {
        matches!(self.kind, MediaKind::Audio | MediaKind::Video)
    }
}

/// WordPress.com lists each post's author avatar as a `media:content` image: not the post's.
fn is_avatar(url: &str) -> bool {
    let host = url.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or("")
    });
    host == "gravatar.com" || host.ends_with(".gravatar.com")
}

/// Audio, video or image, from the Media RSS `medium`, else the MIME type, else the URL's extension.
fn classify(mime: Option<&str>, medium: Option<&str>, url: &str) -> Option<MediaKind> {
    match medium.map(|m| m.trim().to_ascii_lowercase()).as_deref() {
        Some("audio") => return Some(MediaKind::Audio),
        Some("video") => return Some(MediaKind::Video),
        Some("image") => return Some(MediaKind::Image),
        _ => {}
    }
    if let Some(m) = mime {
        let kind = match m.split(['/', ';']).next().unwrap_or("") {
            "audio" => Some(MediaKind::Audio),
            "video" => Some(MediaKind::Video),
            "image" => Some(MediaKind::Image),
            _ if m == "application/ogg" => Some(MediaKind::Audio),
            _ => None,
        };
        if kind.is_some() {
            return kind;
        }
    }
    let path = url.split(['?', '#']).next().unwrap_or("");
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| !e.contains('/'))?;
    match ext.as_str() {
        "mp3" | "m4a" | "aac" | "oga" | "ogg" | "opus" | "wav" | "flac" => Some(MediaKind::Audio),
        "mp4" | "m4v" | "webm" | "mov" | "ogv" => Some(MediaKind::Video),
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "avif" => Some(MediaKind::Image),
        _ => None,
    }
}

/// A duration in seconds: `3600`, `62:03`, `1:02:03` (fractions of a second ignored).
pub(in crate::core::feed) fn parse_duration(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut total: u64 = 0;
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 3 {
        return None;
    }
    for (i, p) in parts.iter().enumerate() {
        let whole = if i + 1 == parts.len() {
            p.split('.').next().unwrap_or("")
        } else {
            p
        };
        let n: u64 = whole.trim().parse().ok()?;
        total = total * 60 + n;
    }
    u32::try_from(total).ok().filter(|t| *t > 0)
}

/// A positive integer attribute value.
pub(in crate::core::feed) fn parse_count<T: std::str::FromStr + PartialOrd + Default>(
    s: &str,
) -> Option<T> {
    s.trim().parse().ok().filter(|n| *n > T::default())
}

/// Merges items with the same URL (an enclosure repeated as `media:content`) and bounds the list.
pub(in crate::core::feed) fn finish(items: Vec<Media>) -> Vec<Media> {
    let mut out: Vec<Media> = Vec::with_capacity(items.len().min(MAX_PARSED));
    for m in items {
        if let Some(seen) = out.iter_mut().find(|o| o.url == m.url) {
            if seen.kind == MediaKind::Thumbnail || seen.kind == MediaKind::File {
                seen.kind = m.kind;
            }
            seen.mime = seen.mime.take().or(m.mime);
            seen.duration_s = seen.duration_s.or(m.duration_s);
            seen.width = seen.width.or(m.width);
            seen.height = seen.height.or(m.height);
            seen.length = seen.length.or(m.length);
            seen.poster = seen.poster.take().or(m.poster);
            seen.alt = seen.alt.take().or(m.alt);
        } else if out.len() < MAX_PARSED {
            out.push(m);
        }
    }
    out
}

/// Gives `duration_s` (iTunes' episode duration) to the first player that has none.
pub(in crate::core::feed) fn set_duration(items: &mut [Media], duration_s: Option<u32>) {
    if let Some(d) = duration_s {
        if let Some(m) = items
            .iter_mut()
            .find(|m| m.playable() && m.duration_s.is_none())
        {
            m.duration_s = Some(d);
        }
    }
}

/// Escapes text for an HTML attribute value or text node.
fn esc(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// True when the sanitized `html` already shows `url` (as ammonia writes a `src` attribute),
/// or, for a URL without a query, the same file with one (WordPress's `image.jpg?w=1024`).
fn shown_in(html: &str, url: &str) -> bool {
    let attr = format!("src=\"{}", url.replace('&', "&amp;").replace('"', "&quot;"));
    html.match_indices(&attr).any(|(i, _)| {
        let next = html.as_bytes().get(i + attr.len()).copied();
        next == Some(b'"') || (next == Some(b'?') && !url.contains('?'))
    })
}

/// "1:02:03" or "12:34".
fn clock(s: u32) -> String {
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// "34.5 MB", "820 kB"; nothing under 1 kB.
fn size(bytes: u64) -> Option<String> {
    match bytes {
        0..=999 => None,
        1_000..=999_999 => Some(format!("{} kB", bytes / 1_000)),
        _ if bytes < 10_000_000_000_000 => Some(format!("{:.1} MB", bytes as f64 / 1e6)),
        _ => None,
    }
}

fn dimensions(m: &Media, out: &mut String) {
    if let (Some(w), Some(h)) = (m.width, m.height) {
        if w <= 10_000 && h <= 10_000 {
            out.push_str(&format!(" width=\"{w}\" height=\"{h}\""));
        }
    }
}

/// `<figcaption>` of a player: duration if known, a download link.
fn caption(m: &Media, out: &mut String) {
    out.push_str("<figcaption>");
    if let Some(d) = m.duration_s {
        out.push_str(&clock(d));
        out.push_str(" · ");
    }
    out.push_str("<a href=\"");
    esc(&m.url, out);
    out.push_str("\" rel=\"noopener noreferrer\">Download</a>");
    if let Some(s) = m.length.and_then(size) {
        out.push_str(&format!(" ({s})"));
    }
    out.push_str("</figcaption>");
}

fn image(url: &str, alt: Option<&str>, m: &Media, out: &mut String) {
    out.push_str("<figure class=\"media\"><img src=\"");
    esc(url, out);
    out.push_str("\" loading=\"lazy\" decoding=\"async\" referrerpolicy=\"no-referrer\" alt=\"");
    esc(alt.unwrap_or(""), out);
    out.push('"');
    dimensions(m, out);
    out.push_str("></figure>");
}

/// Appends players, images and attachment links for `items` to an entry's sanitized `html`:
/// at most [`MAX_MEDIA`], none the body already shows, a thumbnail only as a video's poster or
/// where there is nothing else to show. Built here, every attribute escaped; every URL was
/// checked when it was read.
pub(in crate::core::feed) fn render(items: &[Media], html: &mut String) {
    let first_thumbnail = items.iter().find(|m| m.kind == MediaKind::Thumbnail);
    let other = html.contains("<img")
        || html.contains("<video")
        || items
            .iter()
            .any(|m| m.kind != MediaKind::Thumbnail && !shown_in(html, &m.url));
    let mut out = String::new();
    let mut shown = 0;
    let mut thumbnail = false;
    for m in items {
        if shown == MAX_MEDIA {
            break;
        }
        if shown_in(html, &m.url) || (m.kind == MediaKind::Thumbnail && (other || thumbnail)) {
            continue;
        }
        match m.kind {
            MediaKind::Audio => {
                out.push_str("<figure class=\"media\"><audio controls preload=\"none\" src=\"");
                esc(&m.url, &mut out);
                out.push_str("\"></audio>");
                caption(m, &mut out);
                out.push_str("</figure>");
            }
            MediaKind::Video => {
                out.push_str("<figure class=\"media\"><video controls preload=\"none\" src=\"");
                esc(&m.url, &mut out);
                out.push('"');
                if let Some(p) = m.poster.as_ref().or(first_thumbnail.map(|t| &t.url)) {
                    out.push_str(" poster=\"");
                    esc(p, &mut out);
                    out.push('"');
                }
                dimensions(m, &mut out);
                out.push_str("></video>");
                caption(m, &mut out);
                out.push_str("</figure>");
            }
            MediaKind::Image => image(&m.url, m.alt.as_deref(), m, &mut out),
            MediaKind::Thumbnail => {
                thumbnail = true;
                image(&m.url, m.alt.as_deref(), m, &mut out);
            }
            MediaKind::File => {
                let name = m
                    .url
                    .split(['?', '#'])
                    .next()
                    .and_then(|p| p.rsplit('/').next())
                    .filter(|n| !n.is_empty())
                    .unwrap_or("attachment");
                out.push_str("<p class=\"media\">Attachment: <a href=\"");
                esc(&m.url, &mut out);
                out.push_str("\" rel=\"noopener noreferrer\">");
                esc(name, &mut out);
                out.push_str("</a>");
                let detail: Vec<String> = m
                    .mime
                    .iter()
                    .cloned()
                    .chain(m.length.and_then(size))
                    .collect();
                if !detail.is_empty() {
                    out.push_str(" (");
                    esc(&detail.join(", "), &mut out);
                    out.push(')');
                }
                out.push_str("</p>");
            }
        }
        shown += 1;
    }
    html.push_str(&out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_kinds() {
        assert_eq!(parse_duration("3600"), Some(3600));
        assert_eq!(parse_duration("62:03"), Some(3723));
        assert_eq!(parse_duration("1:02:03.5"), Some(3723));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("1:2:3:4"), None);
        assert_eq!(clock(3723), "1:02:03");
        assert_eq!(clock(754), "12:34");
        assert_eq!(size(34_512_345).as_deref(), Some("34.5 MB"));
        let k = |mime, medium, url| classify(mime, medium, url);
        assert_eq!(
            k(Some("audio/mpeg"), None, "https://x/a"),
            Some(MediaKind::Audio)
        );
        assert_eq!(
            k(None, Some("image"), "https://x/a"),
            Some(MediaKind::Image)
        );
        assert_eq!(k(None, None, "https://x/v.MP4?x=1"), Some(MediaKind::Video));
        assert_eq!(k(Some("application/pdf"), None, "https://x/a.pdf"), None);
        assert_eq!(k(None, None, "https://x.org/path"), None);
        assert!(Media::new(
            "https://0.gravatar.com/avatar/1?s=96".into(),
            None,
            Some("image"),
            false,
            true
        )
        .is_none());
        assert!(shown_in(
            r#"<img src="https://x/a.jpg?w=1024">"#,
            "https://x/a.jpg"
        ));
        assert!(!shown_in(
            r#"<img src="https://x/a.jpg?w=1024">"#,
            "https://x/a.jpg?w=1"
        ));
        assert!(!shown_in(
            r#"<img src="https://x/a.jpg.webp">"#,
            "https://x/a.jpg"
        ));
    }

    #[test]
    fn rendering_escapes_and_skips_what_the_body_shows() {
        let mut a = Media::new(
            "https://x.example/a.mp3?a=1&b=\"2\"".into(),
            None,
            None,
            false,
            false,
        )
        .unwrap_or_else(|| panic!("audio"));
        a.duration_s = Some(754);
        a.length = Some(12_300_000);
        let img = Media::new(
            "https://x.example/i.png?a=1&b=2".into(),
            Some("image/png"),
            None,
            false,
            false,
        )
        .unwrap_or_else(|| panic!("image"));
        let thumb = Media::new("https://x.example/t.png".into(), None, None, true, false)
            .unwrap_or_else(|| panic!("thumb"));
        let mut html =
            String::from("<p>Body <img src=\"https://x.example/i.png?a=1&amp;b=2\"></p>");
        render(&[a, img, thumb], &mut html);
        assert!(html.contains("<audio controls preload=\"none\" src=\"https://x.example/a.mp3?a=1&amp;b=&quot;2&quot;\"></audio>"), "{html}");
        assert!(html.contains("<figcaption>12:34 · <a href="), "{html}");
        assert!(
            html.contains("Download</a> (12.3 MB)</figcaption>"),
            "{html}"
        );
        assert_eq!(html.matches("i.png").count(), 1, "{html}");
        assert!(
            !html.contains("t.png"),
            "a thumbnail only where no picture: {html}"
        );
    }
}
