//! What Orrery may fetch (the SSRF guard) and what of a feed URL the public may see.
//!
//! Only http(s), public address literals and standard ports pass [`check_url`]; credentials
//! in a URL are hidden by [`public_url`] and [`public_text`] wherever the public can read it.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

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
    #[error("refusing to fetch from port {0}: feeds are read from ports 80, 443, 8080 and 8443")]
    Port(u16),
    #[error("{0} is this planet's own output: its entries are here already (a planet reading itself would republish them forever, and with WebSub at once)")]
    OwnPlanet(String),
}

/// Ports a feed may be served from (besides the scheme's default) unless private feeds are
/// allowed: the web's own, not a mail, database or admin service reached through a URL.
pub const ALLOWED_PORTS: [u16; 4] = [80, 443, 8080, 8443];

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
        || (a == 192 && b == 88 && ip.octets()[2] == 99) // 6to4 relay anycast 192.88.99/24
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
        || s[..6] == [0; 6] // IPv4-compatible ::/96 (deprecated; ::a.b.c.d)
        || (s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0) // IPv4-translated ::ffff:0:0:0/96
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated, still routed inside sites)
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 and 64:ff9b:1::/48 reach IPv4 behind them
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments 2001::/23: Teredo 2001::/32, benchmarking, ORCHID
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || s[0] == 0x2002 // 6to4 2002::/16 embeds any IPv4 address, private ones too
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
/// `allow_private_loopback` (dev and tests only) loopback is allowed, on any port; other
/// private ranges never are. Only the URL is checked: a name is never resolved here (a
/// Worker does not see the address its fetch connects to).
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
    // `port()` is None for the scheme's default port.
    if let Some(port) = url.port() {
        if !allow_private_loopback && !ALLOWED_PORTS.contains(&port) {
            return Err(PolicyError::Port(port));
        }
    }
    Ok(url)
}

/// What replaces the value of a credential-looking query parameter in public output.
pub const HIDDEN: &str = "hidden";

/// True for query parameter names that usually carry a secret (case-insensitive):
/// `token`, `key`, `apikey`, `api_key`, `access_token`, `auth`, `password`, `secret`,
/// `sig`, `signature` and names built on them (`private_token`, `X-Amz-Signature`, `client_secret`).
pub fn is_credential_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    const EXACT: [&str; 8] = ["key", "auth", "sig", "pass", "pwd", "session", "sid", "jwt"];
    const PARTS: [&str; 8] = [
        "token",
        "secret",
        "passw",
        "apikey",
        "api_key",
        "signature",
        "credential",
        "authorization",
    ];
    EXACT.contains(&n.as_str())
        || PARTS.iter().any(|p| n.contains(p))
        || n.ends_with("_key")
        || n.ends_with("_auth")
        || n.ends_with("_sig")
        || n.starts_with("auth_")
}

/// `pairs` (a query string or fragment, without its `?`/`#`) with the values of
/// credential-looking parameters replaced by [`HIDDEN`]; everything else kept byte for byte.
fn hide_pairs(pairs: &str) -> String {
    pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() => {
                let decoded: String = url::form_urlencoded::parse(name.as_bytes())
                    .map(|(k, _)| k.into_owned())
                    .next()
                    .unwrap_or_default();
                if is_credential_param(&decoded) {
                    format!("{name}={HIDDEN}")
                } else {
                    pair.to_string()
                }
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A feed URL as the public may see it (pages, OPML, the API, socket messages): the values
/// of credential-looking query (and fragment) parameters hidden, e.g. `?token=hidden`. The
/// FeedObject keeps and fetches the real URL; only display goes through this.
pub fn public_url(url: &str) -> String {
    let (rest, fragment) = match url.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (url, None),
    };
    let mut out = match rest.split_once('?') {
        Some((base, query)) => format!("{base}?{}", hide_pairs(query)),
        None => rest.to_string(),
    };
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&hide_pairs(f));
    }
    out
}

/// Free text (an error message) with every http(s) URL in it passed through [`public_url`].
pub fn public_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["http://", "https://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
            .unwrap_or(tail.len());
        // Punctuation closing a sentence is not part of the URL.
        let end = tail[..end]
            .trim_end_matches(['.', ',', ';', ':', '!', '?'])
            .len();
        out.push_str(&public_url(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
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

    #[test]
    fn special_ipv6_and_ipv4_ranges_are_refused() {
        for bad in [
            "http://[2002:7f00:1::1]/",     // 6to4 of 127.0.0.1
            "http://[2002:0a00:0001::]/",   // 6to4 of 10.0.0.1
            "http://[2002:808:808::1]/",    // 6to4 of a public address: still refused
            "http://[fec0::1]/",            // site-local
            "http://[feff::1]/",            // site-local, top of the range
            "http://[::7f00:1]/",           // IPv4-compatible ::127.0.0.1
            "http://[::a00:1]/",            // IPv4-compatible ::10.0.0.1
            "http://[::808:808]/",          // IPv4-compatible, public: still refused
            "http://[::ffff:0:a00:1]/",     // IPv4-translated 10.0.0.1
            "http://[64:ff9b::a00:1]/",     // NAT64 well-known prefix
            "http://[64:ff9b:1::a00:1]/",   // NAT64 local-use prefix
            "http://[2001::1]/",            // Teredo
            "http://[2001:0:4136:e378::]/", // Teredo with a server address
            "http://[2001:2::1]/",          // benchmarking
            "http://[2001:db8::1]/",        // documentation
            "http://[3fff::1]/",            // documentation (RFC 9637)
            "http://[100::1]/",             // discard-only
            "http://192.88.99.1/",          // 6to4 relay anycast
            "http://198.51.100.7/",         // TEST-NET-2
            "http://203.0.113.9/",          // TEST-NET-3
            "http://192.0.2.1/",            // TEST-NET-1
            "http://198.18.0.1/",           // benchmarking
        ] {
            assert!(
                matches!(check_url(bad, false), Err(PolicyError::Private(_))),
                "{bad}: {:?}",
                check_url(bad, false)
            );
            assert!(check_url(bad, true).is_err(), "{bad} even in dev mode");
        }
        for ok in [
            "http://[2606:4700:4700::1111]/", // public IPv6
            "http://[2001:4860:4860::8888]/", // 2001:4860::/32 is outside 2001::/23
            "http://[101::1]/",               // next to the discard prefix
            "http://[3fff:1000::1]/",         // past the documentation /20
            "http://192.88.98.1/",
            "http://203.0.114.1/",
        ] {
            assert!(
                check_url(ok, false).is_ok(),
                "{ok}: {:?}",
                check_url(ok, false)
            );
        }
    }

    #[test]
    fn only_web_ports_unless_private_feeds_are_allowed() {
        for ok in [
            "http://example.com/",
            "https://example.com:443/",
            "http://example.com:80/",
            "http://example.com:8080/feed",
            "https://example.com:8443/feed",
            "http://example.com:443/",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        for (bad, port) in [
            ("http://example.com:22/", 22),
            ("https://example.com:6379/", 6379),
            ("http://example.com:25/", 25),
            ("http://8.8.8.8:3306/", 3306),
            ("https://example.com:8888/", 8888),
        ] {
            assert_eq!(check_url(bad, false), Err(PolicyError::Port(port)), "{bad}");
            assert!(check_url(bad, true).is_ok(), "{bad} allowed in dev mode");
        }
        // Dev mode allows any port, never a private range.
        assert!(check_url("http://127.0.0.1:39123/feed.xml", true).is_ok());
        assert!(check_url("http://10.0.0.1:8080/", true).is_err());
    }

    #[test]
    fn public_url_hides_credential_values_and_keeps_the_rest() {
        let cases = [
            (
                "https://example.com/feed.xml?token=s3cr3t",
                "https://example.com/feed.xml?token=hidden",
            ),
            (
                "https://x.example/f?page=2&API_KEY=abc&lang=en",
                "https://x.example/f?page=2&API_KEY=hidden&lang=en",
            ),
            (
                "https://x.example/f?Key=1&apikey=2&access_token=3&auth=4&password=5&secret=6&sig=7&signature=8",
                "https://x.example/f?Key=hidden&apikey=hidden&access_token=hidden&auth=hidden&password=hidden&secret=hidden&sig=hidden&signature=hidden",
            ),
            (
                "https://gitlab.example/dashboard/projects.atom?feed_token=glft-abc",
                "https://gitlab.example/dashboard/projects.atom?feed_token=hidden",
            ),
            (
                "https://s3.example/f.xml?X-Amz-Credential=a&X-Amz-Signature=b&x-amz-security-token=c",
                "https://s3.example/f.xml?X-Amz-Credential=hidden&X-Amz-Signature=hidden&x-amz-security-token=hidden",
            ),
            ("https://x.example/f?%74oken=abc", "https://x.example/f?%74oken=hidden"),
            ("https://x.example/f#access_token=abc", "https://x.example/f#access_token=hidden"),
            // Nothing to hide: byte for byte the same.
            ("https://x.example/f?author=ann&category=rust", "https://x.example/f?author=ann&category=rust"),
            ("https://x.example/f?token=&flag", "https://x.example/f?token=&flag"),
            ("https://x.example/feed.xml", "https://x.example/feed.xml"),
            ("not a url ?key=v", "not a url ?key=hidden"),
        ];
        for (raw, shown) in cases {
            assert_eq!(public_url(raw), shown, "{raw}");
            assert_eq!(public_url(shown), shown, "idempotent: {shown}");
        }
    }

    #[test]
    fn public_text_hides_credentials_of_every_url_in_a_message() {
        assert_eq!(
            public_text("feed 3 moved to https://a.example/f?token=x, which feed 4 already has; staying at https://b.example/f?key=y."),
            "feed 3 moved to https://a.example/f?token=hidden, which feed 4 already has; staying at https://b.example/f?key=hidden."
        );
        assert_eq!(
            public_text("redirect loop at http://a.example/?sig=abc"),
            "redirect loop at http://a.example/?sig=hidden"
        );
        assert_eq!(
            public_text("the server answered HTTP 404"),
            "the server answered HTTP 404"
        );
    }
}
