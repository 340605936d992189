//! What one fetch may take (redirects, bytes, time) and what it found, classified.

use super::PolicyError;

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

/// Why a fetch failed, in the words stored as the feed's error (the edge's fetcher
/// returns it; `core::ingest::Trouble` reads a category back from these words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("the server answered HTTP {0} with a bot challenge instead of the feed (it blocks automated readers; ask the publisher to allow Orrery)")]
    Challenge(u16),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    #[error("redirect without a usable Location header")]
    BadRedirect,
    #[error("no complete answer within {0} seconds")]
    Timeout(u64),
    #[error("the feed is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("could not reach the server: {0}")]
    Network(String),
}
