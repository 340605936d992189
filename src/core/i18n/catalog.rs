//! A catalog file read: the TOML subset the catalogs are written in.
//!
//! `# comments`, `[section]` headers (their name prefixes the keys below them), and
//! `key = "string"` lines with TOML's basic-string escapes. A plural message is a key with
//! one line per CLDR category: `entries.one = "…"`, `entries.other = "…"`.

use std::collections::{BTreeMap, HashMap};

/// One message: a string, or its forms by plural category (`one`, `other`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Plural(BTreeMap<String, String>),
}

/// The plural categories a key may end in.
pub const CATEGORIES: [&str; 6] = ["zero", "one", "two", "few", "many", "other"];

/// The messages of a catalog file, and a problem in words for each line it could not read
/// (the line is skipped; `tests/native/i18n.rs` requires none).
pub fn parse(source: &str) -> (HashMap<String, Message>, Vec<String>) {
    let mut out: HashMap<String, Message> = HashMap::new();
    let mut problems = Vec::new();
    let mut section = String::new();
    for (i, raw) in source.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = i + 1;
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            if !name.split('.').all(bare_key) {
                problems.push(format!("line {at}: bad section name {name:?}"));
            }
            section = name.to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            problems.push(format!("line {at}: neither a section nor key = \"value\""));
            continue;
        };
        let key = key.trim();
        if !key.split('.').all(bare_key) {
            problems.push(format!("line {at}: bad key {key:?}"));
            continue;
        }
        let Some(value) = basic_string(value.trim()) else {
            problems.push(format!("line {at}: the value is not one \"string\""));
            continue;
        };
        let full = if section.is_empty() {
            key.to_string()
        } else {
            format!("{section}.{key}")
        };
        let plural = full
            .rsplit_once('.')
            .filter(|(_, cat)| CATEGORIES.contains(cat));
        let clash = match plural {
            Some((base, cat)) => match out
                .entry(base.to_string())
                .or_insert_with(|| Message::Plural(BTreeMap::new()))
            {
                Message::Plural(forms) => forms.insert(cat.to_string(), value).is_some(),
                Message::Text(_) => true,
            },
            None => out.insert(full.clone(), Message::Text(value)).is_some(),
        };
        if clash {
            problems.push(format!("line {at}: {full} is defined twice"));
        }
    }
    (out, problems)
}

fn bare_key(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A TOML basic string (`"…"` with `\" \\ \n \t \uXXXX`), and nothing after it but a comment.
fn basic_string(s: &str) -> Option<String> {
    let mut chars = s.strip_prefix('"')?.chars();
    let mut out = String::new();
    loop {
        match chars.next()? {
            '"' => break,
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            },
            c if c.is_control() => return None,
            c => out.push(c),
        }
    }
    let rest = chars.as_str().trim();
    (rest.is_empty() || rest.starts_with('#')).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_plurals_escapes_and_reports_bad_lines() {
        let (m, problems) = parse(
            "# c\n[a]\nx = \"q \\\"u\\\" \\u00e9\" # note\nn.one = \"1 thing\"\nn.other = \"{n} things\"\n\
             [b.c]\ny = \"z\"\nbad line\nk = unquoted\nx.y.z = \"ok\"\n",
        );
        assert_eq!(m["a.x"], Message::Text("q \"u\" é".into()));
        assert_eq!(m["b.c.y"], Message::Text("z".into()));
        let Message::Plural(forms) = &m["a.n"] else {
            panic!("plural")
        };
        assert_eq!(forms["one"], "1 thing");
        assert_eq!(forms["other"], "{n} things");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(m.contains_key("b.c.x.y.z"));
    }
}
