//! What one fetch may take (redirects, bytes, time) and what it found, classified.

/// How many redirects one fetch follows.
pub const MAX_REDIRECTS: usize = 5;
/// Bytes of body read at most (after decompression).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
// How long one fetch may take is the deployment's: `Config::fetch_timeout_ms`.

/// What one feed fetch found, classified for `ingest::plan` (the edge's fetcher does the
/// platform part: redirects, timeouts, the body cap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// 304: nothing changed.
    NotModified { cache_max_age_s: Option<i64> },
    /// 2xx with a body.
    Fetched {
        body: Vec<u8>,
        /// The URL the body came from (for resolving relative links).
        final_url: String,
        etag: Option<String>,
        last_modified: Option<String>,
        cache_max_age_s: Option<i64>,
    },
    /// 429 / 503: come back later; not a failure.
    RetryLater {
        status: u16,
        retry_after_ms: Option<i64>,
    },
    /// 410: the publisher says the feed is gone for good.
    Gone,
    /// Why the fetch failed, in words.
    Failed(String),
}
