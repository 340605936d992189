//! The planet's languages: every catalog complete, no key unused, placeholders and plural
//! forms agreeing across languages, CLDR plural rules, dates in each language.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use orrery::core::config::Config;
use orrery::core::i18n::catalog::{self, Message};
use orrery::core::i18n::plural::{categories, category, PluralCategory};
use orrery::core::i18n::{Lang, Tr};
use orrery::core::time;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

fn parsed(lang: Lang) -> HashMap<String, Message> {
    let (messages, problems) = catalog::parse(lang.source());
    assert!(
        problems.is_empty(),
        "locales/{}.toml: {problems:#?}",
        lang.code()
    );
    messages
}

/// The keys looked up in `code`: the string literal with a dot right after a lookup (`.text(`,
/// `.fill(`, `.plural(`, `rich(t, ` in Rust; `tr(`, `trn(` in the scripts), whatever the
/// whitespace between. A key built at run time would be missed: the code never builds one.
fn looked_up(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for call in ["text(", "fill(", "plural(", "rich(", "tr(", "trn("] {
        for (at, _) in code.match_indices(call) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `attr(`, `context(`
            }
            let mut rest = code[at + call.len()..].trim_start();
            // `rich(t, "…")`: the lookup comes first.
            if let Some((first, tail)) = rest.split_once(',').filter(|_| call == "rich(") {
                if !first.trim().is_empty()
                    && first
                        .trim()
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_')
                {
                    rest = tail.trim_start();
                }
            }
            // Every key has a section (`nav.river`); other `text("…")` calls (JSON fields) do not.
            if let Some((key, _)) = rest.strip_prefix('"').and_then(|r| r.split_once('"')) {
                if key.contains('.') && !key.contains(' ') {
                    out.insert(key.to_string());
                }
            }
        }
    }
    out
}

/// The keys the code uses: quoted keys in `src/**/*.rs` (outside `#[cfg(test)]` modules is
/// not required: a test naming a key uses it too) and in `assets/*.js`.
fn used_keys() -> BTreeSet<String> {
    let mut paths = Vec::new();
    files(&root().join("src"), "rs", &mut paths);
    files(&root().join("assets"), "js", &mut paths);
    let mut out = BTreeSet::new();
    for p in paths {
        let text = fs::read_to_string(&p).expect("utf-8");
        // Comments name keys as examples; only code counts.
        let code: String = text
            .lines()
            .map(|l| {
                let t = l.trim_start();
                if t.starts_with("//") || t.starts_with("* ") || t.starts_with("/**") {
                    ""
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        out.extend(looked_up(&code));
    }
    out
}

fn placeholders(s: &str) -> BTreeSet<String> {
    s.split('{')
        .skip(1)
        .filter_map(|p| p.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

fn message_placeholders(m: &Message) -> BTreeSet<String> {
    match m {
        Message::Text(s) => placeholders(s),
        Message::Plural(forms) => forms.values().flat_map(|s| placeholders(s)).collect(),
    }
}

/// What is wrong with `other` (a catalog of `lang`) against the English one, in words.
fn disagreements(
    english: &HashMap<String, Message>,
    lang: Lang,
    other: &HashMap<String, Message>,
) -> Vec<String> {
    let mut out = Vec::new();
    let code = lang.code();
    let wanted: BTreeSet<&str> = categories(lang).iter().map(|c| c.as_str()).collect();
    for (key, en) in english {
        let Some(m) = other.get(key) else {
            out.push(format!("{code}: {key} is missing"));
            continue;
        };
        match (en, m) {
            (Message::Text(_), Message::Text(_)) => {}
            (Message::Plural(_), Message::Plural(forms)) => {
                let have: BTreeSet<&str> = forms.keys().map(String::as_str).collect();
                if have != wanted {
                    out.push(format!(
                        "{code}: {key} has plural forms {have:?}, the language needs {wanted:?}"
                    ));
                }
            }
            _ => out.push(format!(
                "{code}: {key} is a plural in one catalog, a text in the other"
            )),
        }
        if message_placeholders(en) != message_placeholders(m) {
            out.push(format!(
                "{code}: {key} has placeholders {:?}, English {:?}",
                message_placeholders(m),
                message_placeholders(en)
            ));
        }
    }
    for key in other.keys().filter(|k| !english.contains_key(*k)) {
        out.push(format!("{code}: {key} is not in the English catalog"));
    }
    out.sort();
    out
}

#[test]
fn every_catalog_parses_cleanly() {
    for lang in Lang::ALL {
        assert!(!parsed(lang).is_empty(), "{}", lang.code());
    }
}

#[test]
fn every_key_the_code_uses_is_in_english_and_every_english_key_is_used() {
    let english = parsed(Lang::En);
    let used = used_keys();
    let missing: Vec<&String> = used.iter().filter(|k| !english.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "used but not in locales/en.toml: {missing:#?}"
    );
    let unused: Vec<&String> = english.keys().filter(|k| !used.contains(*k)).collect();
    assert!(
        unused.is_empty(),
        "in locales/en.toml but used nowhere: {unused:#?}"
    );
    assert!(used.len() > 150, "the scan finds the keys ({})", used.len());
}

#[test]
fn every_language_has_every_key_with_the_same_placeholders_and_its_plural_forms() {
    let english = parsed(Lang::En);
    for lang in Lang::ALL {
        let problems = disagreements(&english, lang, &parsed(lang));
        assert!(problems.is_empty(), "{problems:#?}");
    }
}

#[test]
fn the_completeness_check_can_fail() {
    let english = parsed(Lang::En);
    let mut german = parsed(Lang::De);
    german.remove("nav.river");
    german.insert("nav.nobody".into(), Message::Text("x".into()));
    german.insert(
        "sidebar.about".into(),
        Message::Text("Über {planet_name}".into()),
    );
    german.insert(
        "feeds.count".into(),
        Message::Plural(BTreeMap::from([("other".into(), "{n} Feeds".into())])),
    );
    let problems = disagreements(&english, Lang::De, &german);
    for expected in [
        "de: nav.river is missing",
        "de: nav.nobody is not in the English catalog",
        "de: sidebar.about has placeholders",
        "de: feeds.count has plural forms",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "{expected}: {problems:#?}"
        );
    }
    let planted = looked_up(
        "t.text(\"nav.nowhere\"); rich(t,\n \"a.b\", x); attr(\"no\"); tr(\"js.x\"); fill(x, \"y.z\"); t.plural(\n    \"c.d\", 1)",
    );
    let expected: BTreeSet<String> = ["nav.nowhere", "a.b", "js.x", "c.d"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(planted, expected);
}

#[test]
fn plural_rules_follow_cldr_for_whole_numbers() {
    for lang in Lang::ALL {
        assert_eq!(category(lang, 1), PluralCategory::One, "{}", lang.code());
        for n in [0, 2, 3, 11, 21, 101, 1_000_000] {
            assert_eq!(
                category(lang, n),
                PluralCategory::Other,
                "{} {n}",
                lang.code()
            );
        }
    }
    let en = Tr(Lang::En);
    let de = Tr(Lang::De);
    assert_eq!(en.plural("feeds.count", 1, &[]), "1 feed");
    assert_eq!(en.plural("feeds.count", 0, &[]), "0 feeds");
    assert_eq!(en.plural("feeds.count", 1_500, &[]), "1,500 feeds");
    assert_eq!(de.plural("feeds.count", 1, &[]), "1 Feed");
    assert_eq!(de.plural("feeds.count", 1_500, &[]), "1.500 Feeds");
    assert_eq!(
        de.plural("js.since_visit", 1, &[]),
        "1 neuer Beitrag seit Ihrem letzten Besuch"
    );
    assert_eq!(
        de.plural("js.since_visit", 3, &[]),
        "3 neue Beiträge seit Ihrem letzten Besuch"
    );
}

#[test]
fn date_headings_and_times_in_each_language() {
    let ms = 1_795_724_942_000; // Thursday 2026-11-26T20:29:02Z
    let en = Tr(Lang::En);
    let de = Tr(Lang::De);
    assert_eq!(en.day_label(ms), "Thursday, 26 November 2026");
    assert_eq!(en.human_time(ms), "26 Nov 2026, 20:29 UTC");
    assert_eq!(de.day_label(ms), "Donnerstag, 26. November 2026");
    assert_eq!(de.human_time(ms), "26. Nov. 2026, 20:29 UTC");
    assert_eq!(de.day_label(1_772_323_200_000), "Sonntag, 1. März 2026");
    assert_eq!(en.day_label(i64::MAX), "", "out of range");
    for lang in Lang::ALL {
        let m = parsed(lang);
        let list = |k: &str| match &m[k] {
            Message::Text(s) => s.split('|').count(),
            Message::Plural(_) => 0,
        };
        assert_eq!(list("date.weekdays"), 7, "{}", lang.code());
        assert_eq!(list("date.months"), 12, "{}", lang.code());
        assert_eq!(list("date.months_short"), 12, "{}", lang.code());
    }
}

#[test]
fn english_dates_are_written_as_before_the_catalog() {
    let en = Tr(Lang::En);
    // Every day of two years and an hour of each: the catalog's English is chrono's.
    let start = 1_767_225_600_000; // 2026-01-01
    for d in 0..730 {
        let ms = start + d * 86_400_000 + (d % 24) * 3_600_000 + 61_000;
        assert_eq!(en.day_label(ms), time::day_label(ms));
        assert_eq!(en.human_time(ms), time::human_time(ms));
    }
}

#[test]
fn the_script_strings_are_the_scripts_keys_in_the_language() {
    let de: serde_json::Value =
        serde_json::from_str(&Tr(Lang::De).script_strings(&["js.", "date."])).expect("json");
    assert_eq!(de["js.state.live"], "live");
    assert_eq!(de["js.follow"], "Dieser Suche live folgen");
    assert_eq!(
        de["js.since_visit"]["one"],
        "{n} neuer Beitrag seit Ihrem letzten Besuch"
    );
    assert!(de.get("nav.river").is_none(), "only what the scripts use");
    let keys: serde_json::Value =
        serde_json::from_str(&Tr(Lang::En).script_strings(&["js.keys."])).expect("json");
    assert_eq!(keys.as_object().map(|o| o.len()), Some(8));
}

#[test]
fn the_planets_language_reaches_html_lang_and_the_pages() {
    let cfg = Config::from_lookup(|k| (k == "PLANET_LANG").then(|| "de-AT".into()));
    let html = orrery::core::views::error_page(&cfg, 404, "weg").into_string();
    assert!(html.contains(r#"<html lang="de">"#), "{html}");
    assert!(html.contains("<h1>Nicht gefunden</h1>"), "{html}");
    assert!(html.contains("Zum Inhalt springen"));
    let en = orrery::core::views::error_page(&Config::default(), 404, "gone").into_string();
    assert!(en.contains(r#"<html lang="en">"#) && en.contains("<h1>Not found</h1>"));
}
