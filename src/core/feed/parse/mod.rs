//! Parsing: one lenient pass over XML (RSS, RDF, Atom) or serde over JSON Feed, feed-rs as a second opinion, and the dates and media every format shares.

pub(super) mod dates;
pub(super) mod fallback;
pub(super) mod json;
pub(super) mod media;
pub(super) mod xml;
pub(super) mod xml_feed;
