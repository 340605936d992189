//! The planet's language (`PLANET_LANG`): message catalogs compiled in, plural forms, dates.
//!
//! One language per planet (pages are cached; `Accept-Language` is never read). Each
//! language is a catalog file, `locales/<lang>.toml`, read by [`catalog::parse`] once per
//! isolate. Views look strings up through a [`Tr`]; a key missing from a catalog falls back
//! to English, then to the key itself (`tests/native/i18n.rs` fails on either).

pub mod catalog;
mod dates;
pub mod plural;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use catalog::Message;
pub use plural::PluralCategory;

/// A language the planet can speak: one catalog file each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    De,
}

impl Lang {
    /// Every shipped language, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// The BCP 47 primary subtag, as `<html lang>` and the feeds out carry it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// The catalog file's text, compiled into the Worker.
    pub fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../../locales/en.toml"),
            Lang::De => include_str!("../../../locales/de.toml"),
        }
    }

    /// A BCP 47 tag read loosely: case-insensitive, `_` as `-`, region and script ignored
    /// (`de-AT`, `DE_ch`, `de-Latn` all speak `de`). `None` for a language not shipped.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    fn catalog(self) -> &'static HashMap<String, Message> {
        static EN: OnceLock<HashMap<String, Message>> = OnceLock::new();
        static DE: OnceLock<HashMap<String, Message>> = OnceLock::new();
        let cell = match self {
            Lang::En => &EN,
            Lang::De => &DE,
        };
        cell.get_or_init(|| catalog::parse(self.source()).0)
    }
}

/// The lookup views are given: the planet's language and its catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn lang(self) -> Lang {
        self.0
    }

    fn message(self, key: &str) -> Option<&'static Message> {
        self.0
            .catalog()
            .get(key)
            .or_else(|| Lang::En.catalog().get(key))
    }

    /// A plain string (the key itself when no catalog has it, which a test forbids).
    pub fn text(self, key: &'static str) -> &'static str {
        match self.message(key) {
            Some(Message::Text(s)) => s,
            Some(Message::Plural(forms)) => forms.get("other").map_or(key, String::as_str),
            None => key,
        }
    }

    /// A string with `{name}` placeholders filled in (values are plain text; maud escapes).
    pub fn fill(self, key: &'static str, args: &[(&str, &str)]) -> String {
        substitute(self.text(key), args)
    }

    /// The form of a plural message for `n` (the language's CLDR rule), with `{n}` filled
    /// in as a number written the language's way, and the other placeholders from `args`.
    pub fn plural(self, key: &'static str, n: u64, args: &[(&str, &str)]) -> String {
        let form = match self.message(key) {
            Some(Message::Plural(forms)) => {
                let cat = plural::category(self.0, n);
                forms
                    .get(cat.as_str())
                    .or_else(|| forms.get("other"))
                    .map_or(key, String::as_str)
            }
            Some(Message::Text(s)) => s,
            None => key,
        };
        let count = self.number(n);
        let mut all: Vec<(&str, &str)> = vec![("n", count.as_str())];
        all.extend_from_slice(args);
        substitute(form, &all)
    }

    /// `1,000` / `1.000`: a whole number with the language's grouping separator.
    pub fn number(self, n: u64) -> String {
        let sep = self.text("number.group");
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + 4);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    /// A day heading: `Tuesday, 24 November 2026` / `Dienstag, 24. November 2026`.
    pub fn day_label(self, ms: i64) -> String {
        dates::day_label(self, ms)
    }

    /// A moment for people: `24 Nov 2026, 20:29 UTC` / `24. Nov. 2026, 20:29 UTC`.
    pub fn human_time(self, ms: i64) -> String {
        dates::human_time(self, ms)
    }

    /// The messages whose keys start with one of `prefixes` (`js.`, `date.`), as one JSON
    /// object the layout puts on a script element (`data-strings`): scripts fetch nothing.
    pub fn script_strings(self, prefixes: &[&str]) -> String {
        let mut keys: Vec<&String> = Lang::En
            .catalog()
            .keys()
            .filter(|k| prefixes.iter().any(|p| k.starts_with(p)))
            .collect();
        keys.sort();
        let mut map = serde_json::Map::new();
        for k in keys {
            let value = match self.message(k) {
                Some(Message::Text(s)) => serde_json::Value::String(s.clone()),
                Some(Message::Plural(forms)) => serde_json::Value::Object(
                    forms
                        .iter()
                        .map(|(c, s)| (c.clone(), serde_json::Value::String(s.clone())))
                        .collect(),
                ),
                None => continue,
            };
            map.insert(k.clone(), value);
        }
        serde_json::Value::Object(map).to_string()
    }
}

/// `{name}` replaced by its value; unknown placeholders are left as they are.
fn substitute(template: &str, args: &[(&str, &str)]) -> String {
    if !template.contains('{') {
        return template.to_string();
    }
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_by_their_primary_language() {
        assert_eq!(Lang::from_tag("de-AT"), Some(Lang::De));
        assert_eq!(Lang::from_tag(" DE_ch "), Some(Lang::De));
        assert_eq!(Lang::from_tag("en"), Some(Lang::En));
        assert_eq!(Lang::from_tag("xx"), None);
        assert_eq!(Lang::from_tag(""), None);
    }

    #[test]
    fn placeholders_and_numbers() {
        assert_eq!(substitute("a {x} b {y}", &[("x", "1")]), "a 1 b {y}");
        assert_eq!(substitute("open { end", &[]), "open { end");
        assert_eq!(Tr(Lang::En).number(1_234_567), "1,234,567");
        assert_eq!(Tr(Lang::De).number(1_000), "1.000");
        assert_eq!(Tr(Lang::De).number(999), "999");
    }
}
