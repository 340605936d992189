//! The reference: ammonia configured with the allow-list and URL rules Orrery used before its
//! own sanitizer (the same constants), so the differential test and the throughput benchmark
//! compare like with like.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};
use orrery::core::feed::sanitize::{
    CLEAN_CONTENT_TAGS, GENERIC_ATTRS, TAGS, TAG_ATTRS, URL_SCHEMES,
};
use url::Url;

thread_local! {
    /// The base URL for the entry being sanitized (read by the builder's URL hook).
    static BASE: RefCell<Option<Url>> = const { RefCell::new(None) };
    /// Building the allow-list costs more than sanitizing a short entry: build once per thread.
    static BUILDER: Builder<'static> = builder();
}

fn builder() -> Builder<'static> {
    let mut b = Builder::empty();
    b.tags(TAGS.iter().copied().collect())
        .tag_attributes(
            TAG_ATTRS
                .iter()
                .map(|(t, a)| (*t, a.iter().copied().collect::<HashSet<_>>()))
                .collect::<HashMap<_, _>>(),
        )
        .generic_attributes(GENERIC_ATTRS.iter().copied().collect())
        .url_schemes(URL_SCHEMES.iter().copied().collect())
        .clean_content_tags(CLEAN_CONTENT_TAGS.iter().copied().collect())
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true)
        .url_relative(UrlRelative::Custom(Box::new(absolutize)))
        .attribute_filter(media_src_filter);
    b.set_tag_attribute_value("img", "loading", "lazy");
    b.set_tag_attribute_value("img", "decoding", "async");
    b.set_tag_attribute_value("img", "referrerpolicy", "no-referrer");
    for player in ["audio", "video"] {
        b.set_tag_attribute_value(player, "controls", "");
        b.set_tag_attribute_value(player, "preload", "none");
    }
    b
}

fn media_src_filter<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    let media = matches!(element, "img" | "audio" | "video" | "source");
    if !(media && matches!(attribute, "src" | "poster")) {
        return Some(Cow::Borrowed(value));
    }
    let v = value.trim_start();
    let scheme = v
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .filter(|&i| i > 0 && v[i..].starts_with(':'))
        .map(|i| v[..i].to_ascii_lowercase());
    match scheme.as_deref() {
        None | Some("http" | "https") => Some(Cow::Borrowed(value)),
        Some(_) => None,
    }
}

fn absolutize(rel: &str) -> Option<Cow<'_, str>> {
    BASE.with(|b| {
        let base = b.borrow();
        let url = base.as_ref()?.join(rel).ok()?;
        matches!(url.scheme(), "http" | "https" | "mailto").then(|| Cow::Owned(url.into()))
    })
}

/// ammonia's output for `html` with relative URLs resolved against `base` (no size cap).
pub fn ammonia_clean(html: &str, base: Option<&Url>) -> String {
    BASE.with(|b| *b.borrow_mut() = base.cloned());
    let out = BUILDER.with(|b| b.clean(html).to_string());
    BASE.with(|b| *b.borrow_mut() = None);
    out
}
