//! Pure Rust: every decision Orrery makes, tested natively.
//!
//! The feed pipeline, ingest plans, search, WebSub, feeds out, the protocol and the views.
//! Never imports `worker`, never reads a clock or the environment.

pub mod audit;
pub mod auth;
pub mod codec;
pub mod config;
pub mod domain;
pub mod feed;
pub mod fetch;
pub mod i18n;
pub mod ingest;
pub mod membership;
pub mod protocol;
pub mod river;
pub mod routes;
pub mod search;
pub mod syndication;
pub mod time;
pub mod view_models;
pub mod views;
pub mod websub;
