//! The thin Worker boundary: the only code that touches `worker`. JS values become typed structs here.

pub mod access;
pub mod auth;
pub mod cron;
pub mod env;
pub mod error;
pub mod feed_object;
pub mod feed_storage;
pub mod feed_websub;
pub mod feeds;
pub mod fetcher;
pub mod handlers;
pub mod hub;
pub mod members;
pub mod membership;
pub mod meter;
pub mod publisher;
pub mod room;
pub mod rpc;
pub mod store;
