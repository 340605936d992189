//! The thin Worker boundary: the only code that touches `worker`.
//!
//! JS values become typed structs here.

pub mod auth;
pub mod d1;
pub mod env;
pub mod error;
pub mod fetcher;
pub mod http;
pub mod jobs;
pub mod meter;
pub mod objects;
pub mod outbound;
pub mod zone;
