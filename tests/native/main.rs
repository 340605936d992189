//! Every native test in one crate: the pure core's rules, fuzzers and differential tests, the architecture and the docs.

mod support;

mod architecture;
mod cross_post_rules;
mod docs;
mod fair_river;
mod feed_corpus;
mod feed_fuzz;
mod feed_inspect;
mod feed_rules;
mod hostile_rules;
mod i18n;
mod ingest_rules;
mod live_query_fts5;
mod quota_rules;
mod sanitize_differential;
mod sanitize_rules;
mod sanitize_stability;
mod sidebar_rules;
mod socket_fuzz;
mod xml_scanner;
