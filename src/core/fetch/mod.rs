//! Outbound fetching, the pure part: what Orrery may fetch (the SSRF guard), what of a URL the public may see, and a fetch's classified outcome.

mod policy;

pub use policy::*;
