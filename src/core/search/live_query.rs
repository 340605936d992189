//! Saved searches followed live, matched on each entry as it is published.
//!
//! `/search`'s query language, matched on one entry without asking D1.
//!
//! `/search` hands FTS5 the query [`crate::core::search::fts_query`] builds: every word the
//! reader typed is a quoted phrase (FTS5's tokenizer cuts `wasm-bindgen` into the phrase
//! `wasm bindgen`), the phrases are ANDed, the last one ends in `*` (its last token is a
//! prefix), and a phrase matches when its tokens follow each other in one column (title,
//! author or body) of [`index_doc`]. A phrase with no tokens (`-`) is ignored by FTS5, and
//! a query with no phrase left matches nothing. [`LiveQuery`] is that query, parsed once
//! when a socket subscribes; [`LiveDoc`] is that index text of one entry, tokenized once
//! per broadcast with the index's own tokenizer ([`crate::core::search::unicode61`]), so every
//! socket's query is a few binary searches on it.

use serde::{Deserialize, Serialize};

use crate::core::search::unicode61;
use crate::core::search::{index_doc, query_terms, IndexDoc};
use crate::core::view_models::EntryView;

/// Characters of a followed query at most (the search form's `maxlength`).
pub const MAX_QUERY_CHARS: usize = 200;

/// Why a query cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("q is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("q has no word to search for (letters or digits)")]
    NoWords,
}

impl QueryError {
    /// The error frame's code.
    pub fn code(&self) -> &'static str {
        "bad_query"
    }
}

/// A parsed query, kept in the socket's attachment (serialized with every frame it
/// reads, so it is compact): its phrases as folded tokens joined by a space, the last
/// one ending in `*` when it matches as a prefix (`["rust","wasm bindgen*"]`). Neither a
/// space nor `*` can be part of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LiveQuery {
    phrases: Vec<String>,
}

impl LiveQuery {
    /// Reads what a reader typed, as `/search` does.
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let terms = query_terms(input);
        let last = terms.len().saturating_sub(1);
        let phrases: Vec<String> = terms
            .iter()
            .enumerate()
            .filter_map(|(i, term)| {
                let words: Vec<String> = unicode61::tokens(term).map(|(_, w)| w).collect();
                if words.is_empty() {
                    return None; // FTS5 ignores an empty phrase (its `*` too)
                }
                let mut phrase = words.join(" ");
                if i == last {
                    phrase.push('*');
                }
                Some(phrase)
            })
            .collect();
        if phrases.is_empty() {
            return Err(QueryError::NoWords);
        }
        Ok(Self { phrases })
    }

    /// The query as words a reader could type again into `/search` (echoed in `subscribed`).
    pub fn text(&self) -> String {
        self.phrases
            .iter()
            .map(|p| p.trim_end_matches('*').replace(' ', "-"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Does the entry whose index text is `doc` match, as FTS5 would decide?
    pub fn matches(&self, doc: &LiveDoc) -> bool {
        self.phrases.iter().all(|p| {
            let (body, prefix) = match p.strip_suffix('*') {
                Some(b) => (b, true),
                None => (p.as_str(), false),
            };
            let words: Vec<&str> = body.split(' ').collect();
            doc.has_phrase(&words, prefix)
        })
    }
}

/// One token of a [`LiveDoc`]: its folded text in `LiveDoc::text` and its column.
#[derive(Debug, Clone, Copy)]
struct Tok {
    start: u32,
    end: u32,
    col: u8,
}

/// An entry's index text, tokenized as the index does: tokens in order (column by
/// column), and their order sorted by text for lookups.
#[derive(Debug, Clone, Default)]
pub struct LiveDoc {
    text: String,
    toks: Vec<Tok>,
    sorted: Vec<u32>,
}

impl LiveDoc {
    /// Tokenizes the index's columns (title, author, body).
    pub fn new(doc: &IndexDoc) -> Self {
        let mut text = String::with_capacity(doc.title.len() + doc.author.len() + doc.body.len());
        let mut toks = Vec::new();
        for (col, column) in [&doc.title, &doc.author, &doc.body].into_iter().enumerate() {
            unicode61::fold_tokens_into(column, &mut text, |start, end| {
                toks.push(Tok {
                    start: start as u32,
                    end: end as u32,
                    col: col as u8,
                })
            });
        }
        let mut doc = LiveDoc {
            text,
            toks,
            sorted: Vec::new(),
        };
        // Sorted by text; compared by the first 8 bytes as one integer first (the same order,
        // as a token never holds a 0 byte), which is most of the work on a long post.
        let mut keyed: Vec<(u64, u32)> = (0..doc.toks.len() as u32)
            .map(|i| (prefix_key(doc.word(i)), i))
            .collect();
        keyed.sort_unstable_by(|&(ka, a), &(kb, b)| {
            ka.cmp(&kb).then_with(|| doc.word(a).cmp(doc.word(b)))
        });
        doc.sorted = keyed.into_iter().map(|(_, i)| i).collect();
        doc
    }

    /// The index text of a published entry (the same [`index_doc`] the index is fed).
    pub fn of_entry(e: &EntryView) -> Self {
        Self::new(&index_doc(
            &e.title,
            e.author.as_deref(),
            &e.content_html,
            &e.summary,
        ))
    }

    fn word(&self, i: u32) -> &str {
        let t = self.toks[i as usize];
        &self.text[t.start as usize..t.end as usize]
    }

    /// The positions (in `sorted`) of tokens equal to `w`, or beginning with it.
    fn range(&self, w: &str, prefix: bool) -> std::ops::Range<usize> {
        let from = self.sorted.partition_point(|&i| self.word(i) < w);
        let to = if prefix {
            from + self.sorted[from..].partition_point(|&i| self.word(i).starts_with(w))
        } else {
            from + self.sorted[from..].partition_point(|&i| self.word(i) == w)
        };
        from..to
    }

    /// Do `words` follow each other in one column (the last one as a prefix when asked)?
    fn has_phrase(&self, words: &[&str], prefix: bool) -> bool {
        let Some((first, rest)) = words.split_first() else {
            return false;
        };
        let hits = self.range(first, prefix && rest.is_empty());
        if rest.is_empty() {
            return !hits.is_empty();
        }
        self.sorted[hits].iter().any(|&at| {
            let col = self.toks[at as usize].col;
            rest.iter().enumerate().all(|(k, w)| {
                let i = at as usize + 1 + k;
                let last = k + 1 == rest.len();
                self.toks.get(i).is_some_and(|t| t.col == col)
                    && if last && prefix {
                        self.word(i as u32).starts_with(w)
                    } else {
                        self.word(i as u32) == *w
                    }
            })
        })
    }
}

/// The first 8 bytes of `word`, big-endian, zero-padded: ordered as the words are.
fn prefix_key(word: &str) -> u64 {
    let mut key = [0u8; 8];
    let n = word.len().min(8);
    key[..n].copy_from_slice(&word.as_bytes()[..n]);
    u64::from_be_bytes(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str, author: &str, body: &str) -> LiveDoc {
        LiveDoc::new(&IndexDoc {
            title: title.into(),
            author: author.into(),
            body: body.into(),
        })
    }

    fn live(s: &str) -> LiveQuery {
        LiveQuery::parse(s).unwrap()
    }

    #[test]
    fn parses_like_fts_query() {
        assert_eq!(
            serde_json::to_string(&live("Rust  wasm-BINDGEN")).unwrap(),
            r#"["rust","wasm bindgen*"]"#
        );
        // An empty last phrase takes its `*` with it: `rust` is then a whole word.
        assert_eq!(live("rust -").phrases, ["rust"]);
        assert_eq!(live("Café").text(), "cafe");
        assert_eq!(live("wasm-bindgen x").text(), "wasm-bindgen x");
        assert_eq!(LiveQuery::parse("  - ... "), Err(QueryError::NoWords));
        assert_eq!(LiveQuery::parse(""), Err(QueryError::NoWords));
        assert_eq!(
            LiveQuery::parse(&"é".repeat(MAX_QUERY_CHARS + 1)),
            Err(QueryError::TooLong)
        );
        assert!(LiveQuery::parse(&"é".repeat(MAX_QUERY_CHARS)).is_ok());
        // FTS5 syntax is plain words, as in `/search`.
        assert_eq!(live("a OR NEAR(b)").phrases, ["a", "or", "nearb*"]);
    }

    #[test]
    fn matches_words_in_any_column_all_required() {
        let d = doc(
            "Rust and WebAssembly",
            "Ann Smith",
            "Notes on wasm-bindgen.",
        );
        assert!(live("rust").matches(&d));
        assert!(live("RUST ann").matches(&d), "terms in different columns");
        assert!(live("rust webassembly notes").matches(&d));
        assert!(!live("rust python").matches(&d), "every term is required");
        assert!(live("webass").matches(&d), "the last term is a prefix");
        assert!(!live("webass rust").matches(&d), "only the last");
        assert!(live("smith").matches(&d));
        assert!(!live("mith").matches(&d), "a prefix, not a substring");
    }

    #[test]
    fn phrases_follow_each_other_in_one_column() {
        let d = doc("Rust wasm", "", "bindgen and wasm-bindgen tools");
        assert!(live("wasm-bindgen").matches(&d));
        assert!(
            live("wasm-bind").matches(&d),
            "the prefix is the phrase's last token"
        );
        assert!(!live("rust-bindgen").matches(&d));
        assert!(!live("wasm-bindgen-x").matches(&d));
        // Across the title's end and the body's start is not a phrase.
        assert!(!live("wasm-bindgen-and").matches(&doc("x wasm", "", "bindgen and")));
        assert!(!live("and-tools-more").matches(&d), "runs past the end");
    }

    #[test]
    fn folds_case_and_diacritics_both_ways() {
        let d = doc("Café crème", "", "e\u{301}cole Straße İstanbul");
        assert!(live("cafe CREME").matches(&d));
        assert!(live("CAFÉ").matches(&d));
        assert!(live("école").matches(&d));
        assert!(live("ecole").matches(&d));
        assert!(live("istanbul").matches(&d));
        assert!(live("straße").matches(&d));
        assert!(!live("strasse").matches(&d), "ß is not folded to ss");
    }

    #[test]
    fn prefix_keys_order_words_as_their_text_does() {
        let words = [
            "",
            "a",
            "ab",
            "abc",
            "abcdefgh",
            "abcdefghi",
            "abcdefgz",
            "b",
            "é",
            "ée",
            "z9",
            "日本",
        ];
        for a in words {
            for b in words {
                let (ka, kb) = (prefix_key(a), prefix_key(b));
                assert!(ka == kb || (ka < kb) == (a < b), "{a:?} {b:?}");
            }
        }
        // Long words sharing 8 bytes tie on the key and are told apart by their text.
        let d = doc("abcdefghij abcdefghi abcdefgh", "", "");
        assert!(live("abcdefghi-abcdefgh").matches(&d));
        assert!(!live("abcdefghijk").matches(&d));
        assert!(live("abcdefghij").matches(&d));
    }

    #[test]
    fn an_entry_is_matched_on_its_whole_plain_text() {
        let e = EntryView {
            id: 1,
            feed_id: 2,
            feed_title: "Feed".into(),
            feed_face: None,
            title: "A <b>title</b>".into(),
            url: Some("https://ex.com/zebra".into()),
            author: None,
            published: 0,
            summary: "summary words".into(),
            content_html: format!(
                "<p>{}</p><p><a href=\"https://ex.com/href\">deep</a> <b>needle</b></p>",
                "filler ".repeat(5000)
            ),
            whole: true,
            rev: None,
            day_rank: None,
            local_offset_ms: 0,
            same_as: None,
            also: Vec::new(),
        };
        let d = LiveDoc::of_entry(&e);
        assert!(live("needle").matches(&d));
        assert!(live("deep-needle").matches(&d));
        assert!(!live("href").matches(&d), "attributes are not text");
        assert!(!live("zebra").matches(&d), "the link is not indexed");
        assert!(
            !live("summary").matches(&d),
            "the summary only stands in for no body"
        );
        assert!(live("b").matches(&d), "the title is plain text as stored");
    }
}
