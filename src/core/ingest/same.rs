//! The same article from two members: the keys that say two entries are one article (a canonical link, then a fingerprint of the text).
//!
//! A cross-post (a personal blog and a project blog) or one feed syndicated by two is
//! stored twice, once per feed, and shown once in the planet's river. Two entries of
//! different feeds are the same article when their canonical links are equal, else when
//! the fingerprints of their text are. The keys are decided here, purely; D1 matches them
//! in the refresh's own batch (`edge::d1::entries`, indexed lookups in the insert), and
//! never two entries of one feed.

use std::collections::HashMap;

use url::Url;

use crate::core::feed::{digest, RawEntry, MAX_ITEMS_PER_DOCUMENT};

/// Text shorter than this (letters and digits, after normalizing) is no fingerprint: a
/// short or empty body ("Read more", a link post, an image) says nothing about sameness.
pub const MIN_TEXT_CHARS: usize = 200;
/// Characters of normalized text fingerprinted (the start of the post): the body as far
/// as a reader tells two posts apart, and a bound on the CPU one entry costs.
pub const TEXT_CHARS: usize = 300;
/// Bytes of plain text read from a body's start for its fingerprint (a normalized character
/// is a little more than a byte of text: whitespace and punctuation are dropped); the raw
/// body is read up to eight times that (`RawEntry::body_text`), about 4 KiB.
const TEXT_READ_BYTES: usize = 512;
/// Bytes of raw body read from its end for the fingerprint's last characters (markup
/// included): enough for [`TEXT_CHARS`] of text in all but markup-heavy posts, which then
/// only match less often. Together about 5.5 KiB read per new entry, about what its
/// summary reads (`docs/budgets.md`).
const TAIL_READ_BYTES: usize = 1536;

/// Query parameters that only say where a click came from, never which page it is.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid",
    "_hsenc", "_hsmi", "igshid", "ref", "ref_src", "ref_url", "spm", "cmpid", "rss",
];

/// What an entry is known by as an article: either key may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SameKeys {
    /// A digest of the canonical link ([`canonical_link`]), `l:` + hex.
    pub link: Option<String>,
    /// A digest of the normalized start of the text ([`text_key`]), `t:` + hex.
    pub text: Option<String>,
}

impl SameKeys {
    /// The keys of one entry as its feed gives it.
    pub fn of(raw: &RawEntry) -> SameKeys {
        SameKeys {
            link: link_key(raw),
            text: text_key_of(raw),
        }
    }

    /// Whether two entries of *different* feeds are one article by these keys: the same
    /// canonical link, else the same text fingerprint. (Entries of one feed never are:
    /// the caller checks the feeds, as D1's lookup does.)
    pub fn same_article(&self, other: &SameKeys) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        eq(&self.link, &other.link) || eq(&self.text, &other.text)
    }
}

/// The keys of the entries a refresh stores for the first time (`new`, in order), with
/// every key that two entries of the feed's document share dropped: a link one feed uses
/// for several entries (a changelog whose items all link to one page) or a text it
/// repeats (a template body) identifies none of them, so it never joins them to another
/// member's article. Links are compared as written over the whole document (`doc`,
/// cheap); texts over the new entries (a fingerprint reads the body, so only theirs are read).
pub fn keys_for(doc: &[RawEntry], new: &[&RawEntry]) -> Vec<SameKeys> {
    // Links the document repeats, compared as written (cheap: only the new entries' links
    // are parsed); a repeated item is one entry.
    let mut link_of: HashMap<&str, &str> = HashMap::new();
    for e in doc.iter().take(MAX_ITEMS_PER_DOCUMENT) {
        if let Some(u) = e.url.as_deref() {
            link_of.entry(&e.identity).or_insert(u);
        }
    }
    let mut links: HashMap<&str, u32> = HashMap::new();
    for u in link_of.values() {
        *links.entry(u).or_default() += 1;
    }
    let repeated = |e: &RawEntry| {
        e.url
            .as_deref()
            .is_some_and(|u| links.get(u).copied().unwrap_or(0) > 1)
    };
    let mut keys: Vec<SameKeys> = new
        .iter()
        .map(|e| SameKeys {
            link: if repeated(e) { None } else { link_key(e) },
            text: text_key_of(e),
        })
        .collect();
    let mut texts: HashMap<String, u32> = HashMap::new();
    for t in keys.iter().filter_map(|k| k.text.clone()) {
        *texts.entry(t).or_default() += 1;
    }
    for k in &mut keys {
        if k.text.as_ref().is_some_and(|t| texts[t] > 1) {
            k.text = None;
        }
    }
    keys
}

/// An entry's link as it names the article: the scheme folded (http and https are one
/// page), the host lowercased, the fragment, tracking parameters (`utm_*` and the like)
/// and a trailing slash dropped, the remaining parameters sorted. `None` for what names
/// no article: not http(s), or a site's home page (no path and no query).
pub fn canonical_link(link: &str) -> Option<String> {
    let url = Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, v)| !is_tracking(k, v))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    params.sort();
    let path = url.path().trim_end_matches('/');
    if path.is_empty() && params.is_empty() {
        return None;
    }
    let mut out = host;
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(path);
    if !params.is_empty() {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.extend_pairs(params);
        out.push('?');
        out.push_str(&q.finish());
    }
    Some(out)
}

fn is_tracking(key: &str, value: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("utm_")
        || TRACKING_PARAMS.contains(&k.as_str())
        // Medium and friends: `?source=rss----…`.
        || (k == "source" && value.to_ascii_lowercase().starts_with("rss"))
}

/// The fingerprint of a post's plain text: its first and its last [`TEXT_CHARS`] letters
/// and digits, lowercased (so markup, whitespace, punctuation, quotes and entities do not
/// matter), from `head` (the text from its start) and `tail` (the text of its end); two
/// posts that share a long opening (a newsletter's header) but not their end are not one.
/// `None` when the text has fewer than [`MIN_TEXT_CHARS`].
pub fn text_key(head: &str, tail: &str) -> Option<String> {
    let norm = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let first: String = norm(head).into_iter().take(TEXT_CHARS).collect();
    if first.chars().count() < MIN_TEXT_CHARS {
        return None;
    }
    let end = norm(tail);
    let last: String = end[end.len().saturating_sub(TEXT_CHARS)..].iter().collect();
    Some(hash("t:", &format!("{first}|{last}")))
}

fn link_key(raw: &RawEntry) -> Option<String> {
    let link = canonical_link(raw.url.as_deref()?)?;
    Some(hash("l:", &link))
}

fn text_key_of(raw: &RawEntry) -> Option<String> {
    text_key(
        &raw.body_text(TEXT_READ_BYTES),
        &raw.body_tail_text(TAIL_READ_BYTES),
    )
}

fn hash(prefix: &str, s: &str) -> String {
    format!("{prefix}{}", digest(&[Some(s.as_bytes())]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fold_scheme_slash_fragment_and_tracking() {
        let a = canonical_link("https://Blog.Example/2024/post/?utm_source=x&b=2&a=1#c");
        let b = canonical_link("http://blog.example/2024/post?a=1&fbclid=z&b=2");
        assert_eq!(a, b);
        assert_eq!(a.as_deref(), Some("blog.example/2024/post?a=1&b=2"));
        assert_eq!(canonical_link("https://blog.example/"), None);
        assert_eq!(canonical_link("https://blog.example/?utm_medium=rss"), None);
        assert_eq!(canonical_link("mailto:a@b.example"), None);
        assert_ne!(
            canonical_link("https://blog.example/a"),
            canonical_link("https://blog.example/b")
        );
    }

    #[test]
    fn short_text_is_no_fingerprint() {
        assert_eq!(text_key("Read more", "Read more"), None);
        assert_eq!(text_key("", ""), None);
        let long = "word ".repeat(60);
        assert!(text_key(&long, &long).is_some());
        let shouted = long.to_uppercase().replace(' ', "  ");
        assert_eq!(text_key(&long, &long), text_key(&shouted, &shouted));
    }

    #[test]
    fn a_shared_opening_with_another_end_is_another_text() {
        let opening = "This week in the project: what we shipped and why. ".repeat(40);
        let (a, b) = (
            format!("{opening} The end."),
            format!("{opening} Another end."),
        );
        assert_ne!(text_key(&a, &a), text_key(&b, &b));
    }
}
