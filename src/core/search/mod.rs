//! Full-text search: the index, the query, the snippet.
//!
//! What goes into the index, what a reader's words become as an FTS5 query, and the
//! highlighted snippet shown for each result.
//!
//! # Design: a contentless FTS5 index fed with plain text computed here
//!
//! The index (`entries_search`, `migrations/0004_fulltext.sql`) covers the title, the
//! author and the plain text of the whole stored post (`entries.content_html`, already
//! sanitized). SQLite cannot strip HTML in a trigger (no regex, no CTE in a trigger
//! body), and FTS5 fed the HTML itself would index tag names, attribute names and every
//! URL in an `href` (`href`, `https`, `com` would match every post). So the plain text is
//! computed in Rust ([`index_doc`], with the same `html_to_text` the ingest uses) and
//! written by one extra statement in the refresh's own D1 batch
//! (`store::search_index_stmt`), all entries of the batch at once.
//!
//! The table is *contentless* (`content=''`, `contentless_delete=1`): it stores only the
//! inverted index, never a second copy of the text, because D1's 500 MB is the first
//! limit a big planet meets (README, "What it costs"). A separate plain-text column
//! would have let triggers feed an external-content index and FTS5 build the snippets,
//! at the price of storing every post twice. Deletes stay trigger-driven (a contentless-delete table
//! deletes by rowid), so retention, pruning and feed removal need no code. Snippets are
//! made here from the result rows ([`snippet`]), which costs one `html_to_text` per
//! result shown: a page of results, not the corpus.

pub mod live_query;
pub mod unicode61;

use crate::core::feed::html_to_text;

/// Results per search page.
pub const PAGE_SIZE: u32 = 20;
/// The deepest page served (every page ranks the same [`RANK_WINDOW`] matches, so this
/// bounds nothing in D1; it keeps `OFFSET` arithmetic and links sane).
const MAX_PAGE: u32 = 50;

/// Search ranks the newest this many matches of a query (bm25 needs every match it
/// ranks, and D1 bills each as a row read: a common word over a year of a big planet
/// would otherwise read millions of rows per search). 200 keeps a search's miss at 14
/// units of the public budget, within one address's minute (`PUBLIC_LIMIT`).
pub const RANK_WINDOW: u32 = 200;

/// bm25 weights of the index's columns (title, author, body): a word in the title
/// counts ten times one in the body.
pub const BM25_WEIGHTS: (f64, f64, f64) = (10.0, 4.0, 1.0);

/// What the index holds for one entry: its plain-text columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDoc {
    pub title: String,
    pub author: String,
    pub body: String,
}

/// The index's columns for an entry: title and author as stored (plain text already),
/// and the plain text of the whole sanitized body (the summary when there is none).
pub fn index_doc(title: &str, author: Option<&str>, content_html: &str, summary: &str) -> IndexDoc {
    let body = html_to_text(content_html);
    IndexDoc {
        title: title.to_string(),
        author: author.unwrap_or_default().to_string(),
        body: if body.is_empty() {
            summary.to_string()
        } else {
            body
        },
    }
}

/// The words a reader typed, as [`fts_query`] reads them (at most 12, stripped of FTS5
/// syntax). Each is searched as a phrase; the last also as a prefix.
pub(crate) fn query_terms(input: &str) -> Vec<String> {
    input
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '\'' | '.'))
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .take(12)
        .collect()
}

/// Quotes every word so FTS5 operators in user input are plain text; the last
/// word also matches as a prefix. `None` when nothing searchable is left.
pub fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = query_terms(input)
        .into_iter()
        .map(|w| format!("\"{}\"", w.replace('"', "")))
        .collect();
    let last = terms.len().checked_sub(1)?;
    Some(
        terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i == last {
                    format!("{t}*")
                } else {
                    t.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The page asked for (`?page=`, 1-based), clamped to `1..=MAX_PAGE`.
pub fn page_number(raw: Option<&str>) -> u32 {
    raw.and_then(|p| p.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_PAGE)
}

/// A piece of highlighted text: `mark` pieces matched the query. Plain text: the view
/// escapes it (it is never HTML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub mark: bool,
}

/// How a reader's words are found in text for highlighting, with the index's own
/// tokenizer ([`crate::core::search::unicode61`]): words compared case- and accent-insensitively,
/// the last query word also as a prefix. (Which entries match is FTS5's, or, live,
/// [`crate::core::search::live_query`]'s, decision: this only marks words.)
#[derive(Debug, Clone)]
pub struct Matcher {
    words: Vec<String>,
    /// The last word matches any word it begins.
    prefix: Option<String>,
}

impl Matcher {
    pub fn new(input: &str) -> Self {
        let terms = query_terms(input);
        let mut words: Vec<String> = terms
            .iter()
            .flat_map(|t| tokens(t))
            .map(|(_, w)| w)
            .collect();
        // The last token of the last term carries the `*`.
        let prefix = match terms.last() {
            Some(_) => words.pop(),
            None => None,
        };
        words.sort();
        words.dedup();
        Matcher { words, prefix }
    }

    fn matches(&self, folded: &str) -> bool {
        self.words.iter().any(|w| w == folded)
            || self
                .prefix
                .as_deref()
                .is_some_and(|p| folded.starts_with(p))
    }

    /// `text` cut into pieces, the matching words marked.
    pub fn highlight(&self, text: &str) -> Vec<Piece> {
        let hits: Vec<(usize, usize)> = tokens(text)
            .filter(|(_, w)| self.matches(w))
            .map(|(r, _)| r)
            .collect();
        pieces(text, &hits)
    }

    /// A window of about `len` characters of `text` around its first match (its start
    /// when nothing matches), matches marked, "…" where it was cut.
    pub fn snippet(&self, text: &str, len: usize) -> Vec<Piece> {
        let mut first: Option<usize> = None;
        let mut hits = Vec::new();
        for ((s, e), w) in tokens(text) {
            if self.matches(&w) {
                first.get_or_insert(s);
                hits.push((s, e));
            }
        }
        // Some context before the first match, cut at a word boundary.
        let lead = (len / 4).max(1);
        let start = match first {
            Some(s) if text[..s].chars().count() > lead => {
                let back = text[..s]
                    .char_indices()
                    .rev()
                    .nth(lead - 1)
                    .map_or(0, |(i, _)| i);
                text[back..s].find(' ').map_or(back, |sp| back + sp + 1)
            }
            _ => 0,
        };
        let rest = &text[start..];
        let mut end = rest
            .char_indices()
            .nth(len)
            .map_or(text.len(), |(i, _)| start + i);
        if end < text.len() {
            if let Some(sp) = text[start..end].rfind(' ') {
                if sp > 0 {
                    end = start + sp;
                }
            }
        }
        let window: Vec<(usize, usize)> = hits
            .into_iter()
            .filter(|&(s, e)| s >= start && e <= end)
            .map(|(s, e)| (s - start, e - start))
            .collect();
        let mut out = Vec::new();
        if start > 0 {
            out.push(Piece {
                text: "…".into(),
                mark: false,
            });
        }
        out.extend(pieces(&text[start..end], &window));
        if end < text.len() {
            out.push(Piece {
                text: "…".into(),
                mark: false,
            });
        }
        out
    }
}

/// Splits `text` at the byte ranges `hits` (sorted, disjoint) into marked and plain pieces.
fn pieces(text: &str, hits: &[(usize, usize)]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(s, e) in hits {
        if s > at {
            out.push(Piece {
                text: text[at..s].to_string(),
                mark: false,
            });
        }
        out.push(Piece {
            text: text[s..e].to_string(),
            mark: true,
        });
        at = e;
    }
    if at < text.len() {
        out.push(Piece {
            text: text[at..].to_string(),
            mark: false,
        });
    }
    out
}

/// The words of `text` as the index's tokenizer sees them: byte range and folded form.
fn tokens(text: &str) -> impl Iterator<Item = ((usize, usize), String)> + '_ {
    crate::core::search::unicode61::tokens(text)
}

/// Characters of body text in a snippet.
const SNIPPET_CHARS: usize = 240;

/// Bytes of stored HTML converted around a match for its snippet (before and after).
const WINDOW_BEFORE: usize = 1024;
const WINDOW_AFTER: usize = 2048;

impl Matcher {
    /// Byte offset in `html` of the first whole-word (or, for the last word, prefix) match
    /// in text, not in a tag: an ASCII-case-insensitive substring search over the stored
    /// HTML, so a page of results never converts whole posts. Words with non-ASCII letters
    /// are left to [`Matcher::snippet`] (the start of the post is shown instead).
    fn locate_in_html(&self, html: &str) -> Option<usize> {
        let lower = html.as_bytes().to_ascii_lowercase();
        let alnum = |b: Option<&u8>| b.is_some_and(|c| c.is_ascii_alphanumeric() || *c >= 0x80);
        let candidates = self
            .words
            .iter()
            .map(|w| (w, false))
            .chain(self.prefix.iter().map(|w| (w, true)))
            .filter(|(w, _)| !w.is_empty() && w.is_ascii());
        let mut best: Option<usize> = None;
        for (word, prefix) in candidates {
            for at in memchr::memmem::find_iter(&lower, word.as_bytes()) {
                if best.is_some_and(|b| at >= b) {
                    break;
                }
                let end = at + word.len();
                let bounded = !alnum(at.checked_sub(1).and_then(|i| lower.get(i)))
                    && (prefix || !alnum(lower.get(end)));
                let before = &lower[..at];
                let in_text = match (memchr::memrchr(b'<', before), memchr::memrchr(b'>', before)) {
                    (Some(lt), Some(gt)) => gt > lt,
                    (Some(_), None) => false,
                    _ => true,
                };
                if bounded && in_text {
                    best = Some(at);
                    break;
                }
            }
        }
        best
    }

    /// The snippet of a stored (sanitized) body: the plain text of a window of the HTML
    /// around the first match, or of its start when no match is found there.
    fn snippet_html(&self, html: &str, len: usize) -> Vec<Piece> {
        let (from, to) = match self.locate_in_html(html) {
            Some(at) => {
                // Start just after a tag's end, so the window never opens inside a tag.
                let back = floor_char(html, at.saturating_sub(WINDOW_BEFORE));
                let from = if back == 0 {
                    0
                } else {
                    html[back..at].find('>').map_or(at, |gt| back + gt + 1)
                };
                (from, floor_char(html, (at + WINDOW_AFTER).min(html.len())))
            }
            None => (0, floor_char(html, (len * 8).min(html.len()))),
        };
        let text = html_to_text(&html[from..to]);
        let mut out = self.snippet(&text, len);
        if from > 0 && out.first().is_none_or(|p| p.text != "…") {
            out.insert(
                0,
                Piece {
                    text: "…".into(),
                    mark: false,
                },
            );
        }
        if to < html.len() && out.last().is_none_or(|p| p.text != "…") {
            out.push(Piece {
                text: "…".into(),
                mark: false,
            });
        }
        out
    }
}

/// The largest char boundary of `s` at or below `i`.
fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One search result as a page shows it: the title and a snippet of the body, matches
/// marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    pub title: Vec<Piece>,
    pub snippet: Vec<Piece>,
}

/// The highlighted title and body snippet of a result, made from the stored row (the
/// index keeps no text): a few KiB of the body are converted, whatever its length.
pub fn highlight(m: &Matcher, title: &str, content_html: &str, summary: &str) -> Highlight {
    let snippet = if content_html.trim().is_empty() {
        m.snippet(summary, SNIPPET_CHARS)
    } else {
        m.snippet_html(content_html, SNIPPET_CHARS)
    };
    Highlight {
        title: m.highlight(title),
        snippet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(p: &[Piece]) -> String {
        p.iter()
            .map(|p| {
                if p.mark {
                    format!("[{}]", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn quotes_terms_and_neutralizes_operators() {
        assert_eq!(
            fts_query("rust wasm").as_deref(),
            Some("\"rust\" \"wasm\"*")
        );
        assert_eq!(
            fts_query("a OR b NEAR(c)").as_deref(),
            Some("\"a\" \"OR\" \"b\" \"NEARc\"*")
        );
        assert_eq!(
            fts_query("\"quoted\" col:x").as_deref(),
            Some("\"quoted\" \"colx\"*")
        );
        assert_eq!(fts_query("   "), None);
        assert_eq!(fts_query("*** ()"), None);
    }

    #[test]
    fn index_doc_is_the_plain_text_of_the_whole_body() {
        let deep = format!(
            "<p>{}</p><p>the <b>zebra</b>word at the end</p>",
            "filler ".repeat(3000)
        );
        let d = index_doc(
            "A <title>",
            Some("Ann"),
            &format!("<div class=\"x\"><a href=\"https://ex.com/q\">link</a>{deep}</div>"),
            "sum",
        );
        assert!(
            d.body.ends_with("the zebraword at the end"),
            "{}",
            &d.body[d.body.len() - 40..]
        );
        assert!(d.body.starts_with("link filler"));
        assert!(!d.body.contains("href") && !d.body.contains("ex.com") && !d.body.contains('<'));
        assert_eq!(d.title, "A <title>");
        assert_eq!(d.author, "Ann");
        assert_eq!(
            index_doc("t", None, "", "just a summary").body,
            "just a summary"
        );
        assert_eq!(index_doc("t", None, "", "").author, "");
    }

    #[test]
    fn highlights_words_case_and_accent_insensitively_last_as_prefix() {
        let m = Matcher::new("CAFÉ rust");
        assert_eq!(
            marked(&m.highlight("Cafe culture: Rustaceans at the café, rusty")),
            "[Cafe] culture: [Rustaceans] at the [café], [rusty]"
        );
        // Only the last word is a prefix.
        assert_eq!(
            marked(&Matcher::new("caf rust").highlight("cafe caf")),
            "cafe [caf]"
        );
        // Terms with punctuation are phrases of their words.
        assert_eq!(
            marked(&Matcher::new("wasm-bindgen x").highlight("wasm bindgen")),
            "[wasm] [bindgen]"
        );
        assert!(Matcher::new("").highlight("text").iter().all(|p| !p.mark));
    }

    #[test]
    fn snippet_is_a_window_around_the_first_match() {
        let text = format!(
            "{} needle here {}",
            "lead ".repeat(200),
            "tail ".repeat(200)
        );
        let s = Matcher::new("needle").snippet(&text, 80);
        let shown = marked(&s);
        assert!(shown.starts_with("…") && shown.ends_with("…"), "{shown}");
        assert!(shown.contains("[needle] here"), "{shown}");
        assert!(shown.chars().count() <= 84, "{shown}");
        // No match: the start of the text.
        let s = marked(&Matcher::new("absent").snippet(&text, 20));
        assert!(s.starts_with("lead lead") && s.ends_with('…'), "{s}");
        // Short text: whole, no ellipsis.
        assert_eq!(marked(&Matcher::new("b").snippet("a b c", 80)), "a [b] c");
    }

    #[test]
    fn markup_in_text_stays_text() {
        let h = highlight(
            &Matcher::new("script"),
            "<script>alert(1)</script>",
            "<p>&lt;script&gt; x</p>",
            "",
        );
        assert_eq!(marked(&h.title), "<[script]>alert(1)</[script]>");
        assert_eq!(marked(&h.snippet), "<[script]> x");
    }

    #[test]
    fn snippets_of_long_posts_convert_only_a_window_around_the_match() {
        let html = format!(
            "<p>{}</p><p><a href=\"https://ex.com/needle\" title=\"needle\">link</a> and the <b>Needle</b> here.</p><p>{}</p>",
            "lead words ".repeat(3000),
            "tail words ".repeat(3000)
        );
        let s = marked(&Matcher::new("needle").snippet_html(&html, 80));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("link and the [Needle] here."), "{s}");
        assert!(!s.contains("href") && !s.contains("ex.com"), "{s}");
        // A match only in the title: the start of the post.
        let s = marked(&Matcher::new("absent").snippet_html(&html, 40));
        assert!(s.starts_with("lead words") && s.ends_with('…'), "{s}");
        // Not inside a word; a prefix only for the last term.
        assert!(!marked(&Matcher::new("eedle").snippet_html(&html, 80)).contains('['));
        assert!(marked(&Matcher::new("need").snippet_html(&html, 80)).contains("[Needle]"));
        // Multi-byte text around the window's edges stays whole.
        let html = format!("<p>{}</p><p>ünïcödé needle</p>", "é".repeat(2000));
        assert!(marked(&Matcher::new("needle").snippet_html(&html, 40)).contains("[needle]"));
    }

    #[test]
    fn page_numbers_are_clamped() {
        assert_eq!(page_number(None), 1);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("3")), 3);
        assert_eq!(page_number(Some("x")), 1);
        assert_eq!(page_number(Some("99999")), MAX_PAGE);
    }
}
