//! CLDR plural rules for the languages shipped, for whole numbers (`n` with no fraction).
//!
//! English and German: `one` when `i = 1 and v = 0`, else `other`
//! (unicode.org/cldr/charts/latest/supplemental/language_plural_rules.html).

use super::Lang;

/// A CLDR plural category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluralCategory {
    One,
    Other,
}

impl PluralCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            PluralCategory::One => "one",
            PluralCategory::Other => "other",
        }
    }
}

/// The category of the whole number `n` in `lang`.
pub fn category(lang: Lang, n: u64) -> PluralCategory {
    match lang {
        Lang::En | Lang::De if n == 1 => PluralCategory::One,
        Lang::En | Lang::De => PluralCategory::Other,
    }
}

/// Every category `lang` uses for whole numbers: what each plural message must give.
pub fn categories(lang: Lang) -> &'static [PluralCategory] {
    match lang {
        Lang::En | Lang::De => &[PluralCategory::One, PluralCategory::Other],
    }
}
