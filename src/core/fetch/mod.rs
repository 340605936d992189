//! Outbound fetching, the pure part: what Orrery may fetch and what a fetch found.
//!
//! `policy` is the SSRF guard and what of a URL the public may see; `outcome` a fetch's
//! limits and its classified result. The edge's fetcher does the platform part.

mod outcome;
mod own;
mod policy;

pub use outcome::{FetchError, FetchOutcome, MAX_BODY_BYTES, MAX_REDIRECTS};
pub use own::{check_not_own, check_not_own_in, registrable_domain, OwnOrigins};
pub use policy::{check_url, public_text, public_url, PolicyError};
