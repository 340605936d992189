//! Parsing XML (RSS, RDF, Atom) and JSON Feed into one document model.
//!
//! One lenient pass over XML or serde over JSON Feed, feed-rs as a second opinion, and the
//! dates and media every format shares.

pub(super) mod dates;
pub(super) mod fallback;
pub(super) mod json;
pub(super) mod media;
pub(super) mod xml;
pub(super) mod xml_feed;
