//! The allow-list: which elements and attributes an entry keeps, which URLs, and what is added.

use std::borrow::Cow;

use url::Url;

macro_rules! elements {
    ($($v:ident = $n:literal),* $(,)?) => {
        /// An element on the allow-list (the only ones the sanitizer ever writes).
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub enum El { $($v),* }

        impl El {
            /// The tag name as written.
            pub fn name(self) -> &'static str {
                match self { $(El::$v => $n),* }
            }

            /// The allowed element of this (lower-case) tag name, if it is one.
            pub fn from_name(name: &str) -> Option<El> {
                match name { $($n => Some(El::$v),)* _ => None }
            }
        }

        /// Every allowed tag name (for the differential test's reference policy).
        pub const TAGS: &[&str] = &[$($n),*];
    };
}

elements! {
    A = "a", Abbr = "abbr", Acronym = "acronym", Address = "address", Audio = "audio", B = "b",
    Bdi = "bdi", Bdo = "bdo", Big = "big", Blockquote = "blockquote", Br = "br",
    Caption = "caption", Center = "center", Cite = "cite", Code = "code", Col = "col",
    Colgroup = "colgroup", Dd = "dd", Del = "del", Details = "details", Dfn = "dfn", Div = "div",
    Dl = "dl", Dt = "dt", Em = "em", Figcaption = "figcaption", Figure = "figure", H1 = "h1",
    H2 = "h2", H3 = "h3", H4 = "h4", H5 = "h5", H6 = "h6", Hr = "hr", I = "i", Img = "img",
    Ins = "ins", Kbd = "kbd", Li = "li", Mark = "mark", Ol = "ol", P = "p", Pre = "pre", Q = "q",
    Rp = "rp", Rt = "rt", Ruby = "ruby", S = "s", Samp = "samp", Small = "small",
    Source = "source", Span = "span", Strike = "strike", Strong = "strong", Sub = "sub",
    Summary = "summary", Sup = "sup", Table = "table", Tbody = "tbody", Td = "td",
    Tfoot = "tfoot", Th = "th", Thead = "thead", Time = "time", Tr = "tr", Tt = "tt", U = "u",
    Ul = "ul", Var = "var", Video = "video", Wbr = "wbr",
}

/// Attributes allowed on every allowed element.
pub const GENERIC_ATTRS: &[&str] = &["title", "lang", "dir"];

/// Attributes allowed on one element each (besides [`GENERIC_ATTRS`]).
pub const TAG_ATTRS: &[(&str, &[&str])] = &[
    ("a", &["href", "hreflang"]),
    ("img", &["src", "alt", "width", "height"]),
    ("audio", &["src"]),
    ("video", &["src", "poster", "width", "height"]),
    ("source", &["src", "type"]),
    ("td", &["colspan", "rowspan", "headers"]),
    ("th", &["colspan", "rowspan", "headers", "scope"]),
    ("col", &["span"]),
    ("colgroup", &["span"]),
    ("ol", &["start", "reversed", "type"]),
    ("li", &["value"]),
    ("time", &["datetime"]),
];

/// URL schemes a kept URL may have.
pub const URL_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// Elements removed with everything in them (the rest of what is not allowed is unwrapped:
/// the tag goes, its text stays), as ammonia was configured. The tree rules also remove
/// whole foreign content (`svg`, `math`), elements named like svg/MathML ones, and every
/// element the tokenizer reads as raw text (`iframe`, `noembed`, `noframes`, `plaintext`).
pub const CLEAN_CONTENT_TAGS: &[&str] = &[
    "script", "style", "template", "noscript", "title", "textarea", "xmp",
];

impl El {
    /// Whether `attr` (a lower-case name) is kept on this element.
    pub fn allows(self, attr: &str) -> bool {
        use El::*;
        matches!(attr, "title" | "lang" | "dir")
            || match self {
                A => matches!(attr, "href" | "hreflang"),
                Img => matches!(attr, "src" | "alt" | "width" | "height"),
                Audio => attr == "src",
                Video => matches!(attr, "src" | "poster" | "width" | "height"),
                Source => matches!(attr, "src" | "type"),
                Td => matches!(attr, "colspan" | "rowspan" | "headers"),
                Th => matches!(attr, "colspan" | "rowspan" | "headers" | "scope"),
                Col | Colgroup => attr == "span",
                Ol => matches!(attr, "start" | "reversed" | "type"),
                Li => attr == "value",
                Time => attr == "datetime",
                _ => false,
            }
    }

    /// Whether this allowed attribute holds a URL (checked and made absolute).
    pub fn is_url_attr(self, attr: &str) -> bool {
        matches!(attr, "href" | "src") || (self == El::Video && attr == "poster")
    }

    /// Attributes every such element gets, after its own: links never tell the page they
    /// open who opened it; images load lazily and never tell their host which page (and
    /// reader) asked; players are always the browser's own controls, and load nothing until asked.
    pub fn added_attrs(self) -> &'static [(&'static str, &'static str)] {
        match self {
            El::A => &[("rel", "noopener noreferrer")],
            El::Img => &[
                ("loading", "lazy"),
                ("decoding", "async"),
                ("referrerpolicy", "no-referrer"),
            ],
            El::Audio | El::Video => &[("controls", ""), ("preload", "none")],
            _ => &[],
        }
    }

    /// Void elements: no content, no end tag.
    pub fn is_void(self) -> bool {
        matches!(
            self,
            El::Br | El::Col | El::Hr | El::Img | El::Source | El::Wbr
        )
    }
}

/// The URL an allowed URL attribute keeps, or `None` to drop the attribute: http, https
/// or mailto (media sources http(s) only); a relative one is made absolute against `base`
/// and checked again, and dropped without a base. Absolute URLs are kept as written.
/// (These are ammonia's steps as Orrery configured it: parse, scheme, media filter, join.)
pub fn url<'v>(attr: &str, value: &'v str, base: Option<&Url>) -> Option<Cow<'v, str>> {
    let media = attr != "href";
    match Url::parse(value) {
        Ok(u) => (URL_SCHEMES.contains(&u.scheme()) && (!media || media_scheme_ok(value)))
            .then_some(Cow::Borrowed(value)),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            if media && !media_scheme_ok(value) {
                return None;
            }
            let abs = base?.join(value).ok()?;
            URL_SCHEMES
                .contains(&abs.scheme())
                .then(|| Cow::Owned(abs.into()))
        }
        Err(_) => None,
    }
}

/// Media sources are http(s) only: `mailto:`, which links may use, is dropped from `src`
/// and `poster`, and so is anything that looks like another scheme.
fn media_scheme_ok(value: &str) -> bool {
    let v = value.trim_start();
    let scheme = v
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .filter(|&i| i > 0 && v[i..].starts_with(':'))
        .map(|i| &v[..i]);
    match scheme {
        None => true,
        Some(s) => s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"),
    }
}
