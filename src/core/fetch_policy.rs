//! What Orrery may fetch: http(s) only, and never private, loopback, link-local, CGNAT or metadata addresses (SSRF guard).

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// How many redirects one fetch follows.
pub const MAX_REDIRECTS: usize = 5;
/// Bytes of body read at most (after decompression).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Milliseconds one fetch may take.
pub const TIMEOUT_MS: u64 = 20_000;

/// What one feed fetch found, classified for [`crate::core::ingest::plan`] (the edge's
/// fetcher does the platform part: redirects, timeouts, the body cap).
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("not a valid URL: {0}")]
    Invalid(String),
    #[error("only http and https feeds can be fetched, not {0}:")]
    Scheme(String),
    #[error("refusing to fetch {0}: it is a private or internal address")]
    Private(String),
    #[error("URLs with a user name or password are not accepted")]
    Credentials,
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local() // 169.254/16, cloud metadata
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF 192.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240
}

fn private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return private_v4(v4);
    }
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 can reach private v4
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
}

fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// Checks one URL (the first one and every redirect hop). With
/// `allow_private_loopback` (dev and tests only) loopback is allowed; other
/// private ranges never are.
pub fn check_url(raw: &str, allow_private_loopback: bool) -> Result<Url, PolicyError> {
    let url = Url::parse(raw.trim()).map_err(|e| PolicyError::Invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PolicyError::Scheme(url.scheme().to_string()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PolicyError::Credentials);
    }
    let host = url
        .host()
        .ok_or_else(|| PolicyError::Invalid("the URL has no host".into()))?;
    if allow_private_loopback && is_loopback_host(&host) {
        return Ok(url);
    }
    let private = match &host {
        Host::Ipv4(ip) => private_v4(*ip),
        Host::Ipv6(ip) => private_v6(*ip),
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".internal")
                || d.ends_with(".local")
                || d == "metadata.google.internal"
                || !d.contains('.')
        }
    };
    if private {
        return Err(PolicyError::Private(host.to_string()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_http_feeds_pass() {
        for ok in [
            "https://blog.rust-lang.org/feed.xml",
            "http://example.com:8080/rss?x=1",
            "https://[2606:4700::1111]/feed",
            "https://8.8.8.8/feed",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
    }

    #[test]
    fn private_and_odd_targets_are_refused() {
        for bad in [
            "http://127.0.0.1/feed",
            "http://localhost:8787/",
            "http://10.0.0.5/",
            "http://172.16.3.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://2130706433/", // 127.0.0.1 as a number: url normalizes it
            "http://0x7f.1/",
            "http://metadata.google.internal/",
            "http://intranet/",
        ] {
            assert!(
                matches!(check_url(bad, false), Err(PolicyError::Private(_))),
                "{bad}: {:?}",
                check_url(bad, false)
            );
        }
        assert!(matches!(
            check_url("file:///etc/passwd", false),
            Err(PolicyError::Scheme(_))
        ));
        assert!(matches!(
            check_url("javascript:alert(1)", false),
            Err(PolicyError::Scheme(_))
        ));
        assert!(matches!(
            check_url("ftp://example.com/", false),
            Err(PolicyError::Scheme(_))
        ));
        assert!(matches!(
            check_url("https://u:p@example.com/", false),
            Err(PolicyError::Credentials)
        ));
        assert!(matches!(
            check_url("not a url", false),
            Err(PolicyError::Invalid(_))
        ));
    }

    #[test]
    fn dev_mode_lifts_the_guard_for_loopback_only() {
        assert!(check_url("http://127.0.0.1:9000/feed.xml", true).is_ok());
        assert!(check_url("http://localhost:9000/feed.xml", true).is_ok());
        assert!(check_url("http://10.0.0.1/feed.xml", true).is_err());
        assert!(check_url("http://169.254.169.254/", true).is_err());
    }
}
