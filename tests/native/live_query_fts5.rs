//! Differential test of the live matcher against SQLite's FTS5, natively: the documents
//! and queries of `tests/fixtures/live_query_fts5.json` (written by
//! `scripts/live-query-fixture.mjs` from the search index's own table definition and
//! tokenizer) must match exactly the rows FTS5 returned, and `fts_query` must build the
//! FTS5 query the script gave SQLite. The e2e test `tests/e2e/followed_searches.test.mjs` does the
//! same through `/search` and the socket; this one covers many more words and scripts.

use orrery::core::search::live_query::{LiveDoc, LiveQuery};
use orrery::core::search::{fts_query, IndexDoc};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    sqlite: String,
    docs: Vec<(String, String, String)>,
    queries: Vec<Query>,
}

#[derive(Deserialize)]
struct Query {
    q: String,
    fts: String,
    matches: Vec<usize>,
}

#[test]
fn the_live_matcher_answers_as_fts5_does() {
    let fx: Fixture =
        serde_json::from_str(include_str!("../fixtures/live_query_fts5.json")).expect("fixture");
    let docs: Vec<LiveDoc> = fx
        .docs
        .iter()
        .map(|(title, author, body)| {
            LiveDoc::new(&IndexDoc {
                title: title.clone(),
                author: author.clone(),
                body: body.clone(),
            })
        })
        .collect();
    let mut wrong = Vec::new();
    let (mut matched, mut unfollowable) = (0, 0);
    for query in &fx.queries {
        assert_eq!(
            fts_query(&query.q).as_deref(),
            Some(query.fts.as_str()),
            "the fixture's FTS5 query for {:?}",
            query.q
        );
        let got: Vec<usize> = match LiveQuery::parse(&query.q) {
            Ok(live) => (0..docs.len())
                .filter(|&i| live.matches(&docs[i]))
                .collect(),
            // Nothing searchable: FTS5 matches nothing either (checked below).
            Err(_) => {
                unfollowable += 1;
                Vec::new()
            }
        };
        matched += usize::from(!got.is_empty());
        if got != query.matches {
            wrong.push(format!(
                "{:?} ({}): live {:?}, FTS5 {:?}",
                query.q, query.fts, got, query.matches
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} queries differ from SQLite {}:\n{}",
        wrong.len(),
        fx.queries.len(),
        fx.sqlite,
        wrong.join("\n")
    );
    // The fixture means something: most queries match some documents, few none.
    assert!(matched > fx.queries.len() / 2, "{matched} queries match");
    assert!(
        unfollowable < fx.queries.len() / 10,
        "{unfollowable} unfollowable"
    );
}
