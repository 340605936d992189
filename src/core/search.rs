//! Turning what a reader typed into a safe FTS5 query.

/// Quotes every word so FTS5 operators in user input are plain text; the last
/// word also matches as a prefix. `None` when nothing searchable is left.
pub fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '\'' | '.'))
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .take(12)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
