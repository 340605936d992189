//! Pure Rust: feed pipeline, schedule, protocol and views. Never imports `worker`, never reads a clock or the environment.

pub mod access;
pub mod audit;
pub mod config;
pub mod feed;
pub mod fetch_policy;
pub mod ingest;
pub mod live_query;
pub mod membership;
pub mod model;
pub mod protocol;
pub mod schedule;
pub mod search;
pub mod session;
pub mod syndication;
pub mod unicode61;
pub mod views;
pub mod websub;
pub mod websub_hub;
