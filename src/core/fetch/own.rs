//! Is this URL the planet itself? Every name it answers to, under every spelling.
//!
//! WebSub on both sides makes a planet reading itself a loop (each entry stored again as
//! new, published, pushed back): [`OwnOrigins`] is what the fetcher, the subscriber, the
//! hub and ingest all ask.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::Url;

use super::policy::PolicyError;
use crate::core::config::Config;

/// Every name this planet answers to, normalized, so "is this us?" cannot be dodged by
/// spelling: the scheme is ignored (`http` and `https` reach the same Worker), a host is
/// compared lowercase without its trailing dot, and a default port (80, 443) is no port.
/// A planet on a default port owns every port of its host (the edge proxies several); one
/// on an explicit port (local dev) owns that port, on every loopback name. `PLANET_ALIASES`
/// adds the other names the Worker answers to (its `*.workers.dev` host, custom domains).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnOrigins {
    /// (host, port): `None` matches every port of the host.
    hosts: Vec<(String, Option<u16>)>,
}

/// A host as compared: lowercase, no trailing dot (`Url` has already decoded IDNA and
/// IPv4 spellings such as `0x7f.1`).
fn normal_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn loopback_name(host: &str) -> bool {
    let h = normal_host(host);
    let bare = h.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.ends_with(".localhost")
        || bare.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || bare.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

impl OwnOrigins {
    /// The planet's URL and its aliases (URLs or bare host names; unreadable ones skipped).
    /// The names the planet's configuration gives it.
    pub fn of(cfg: &Config) -> Self {
        Self::new(&cfg.planet_url, &cfg.planet_aliases)
    }

    pub fn new(planet_url: &str, aliases: &[String]) -> Self {
        let mut hosts = Vec::new();
        for raw in std::iter::once(planet_url).chain(aliases.iter().map(String::as_str)) {
            let raw = raw.trim();
            let parsed = Url::parse(raw).or_else(|_| Url::parse(&format!("https://{raw}")));
            let Ok(u) = parsed else { continue };
            let Some(host) = u.host_str().filter(|h| !h.is_empty()) else {
                continue;
            };
            // `port()` is None for the scheme's default port.
            hosts.push((normal_host(host), u.port()));
        }
        OwnOrigins { hosts }
    }

    /// Is `url` on one of this planet's names, whatever its scheme?
    pub fn contains(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = normal_host(host);
        let port = url.port();
        self.hosts.iter().any(|(own, own_port)| {
            let same_host = *own == host || (loopback_name(own) && loopback_name(&host));
            same_host
                && match own_port {
                    None => true,
                    Some(p) => port == Some(*p),
                }
        })
    }

    /// [`contains`](Self::contains) for text (an unreadable URL is not ours).
    pub fn contains_str(&self, url: &str) -> bool {
        Url::parse(url.trim()).is_ok_and(|u| self.contains(&u))
    }

    /// Is `zone` (a `CF-Worker` header: the zone of the Worker making a request) one of
    /// ours: one of our hosts, or a domain above one (`example.com` for
    /// `planet.example.com`)? A single label is never enough.
    pub fn owns_zone(&self, zone: &str) -> bool {
        let zone = normal_host(zone.trim());
        // A zone is a registrable domain or below: never a public suffix (`workers.dev`).
        if registrable_domain(&zone).is_none() {
            return false;
        }
        self.hosts
            .iter()
            .any(|(own, _)| *own == zone || own.ends_with(&format!(".{zone}")))
    }

    /// Is `url` one of this planet's own entry pages (`/entries/{id}`, under any name)?
    pub fn is_own_entry(&self, url: &str) -> bool {
        Url::parse(url.trim()).is_ok_and(|u| self.contains(&u) && u.path().starts_with("/entries/"))
    }
}

/// Second-level labels under a two-letter country code that are public suffixes
/// (`co.uk`, `com.au`, `ac.jp`…): the common pattern of the Public Suffix List.
const CC_SECOND_LEVEL: [&str; 17] = [
    "co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "mil", "nic", "ltd",
    "plc", "sch", "nom",
];
/// Suffixes where anyone gets a name of their own (the Public Suffix List's private
/// section, the hosts that matter most here).
const SHARED_SUFFIXES: [&str; 16] = [
    "workers.dev",
    "pages.dev",
    "github.io",
    "gitlab.io",
    "netlify.app",
    "vercel.app",
    "herokuapp.com",
    "blogspot.com",
    "wordpress.com",
    "substack.com",
    "tumblr.com",
    "neocities.org",
    "fly.dev",
    "web.app",
    "firebaseapp.com",
    "ngrok.io",
];

/// The registrable domain of a host name ("eTLD+1": `example.co.uk` for
/// `a.b.example.co.uk`), or `None` for a public suffix itself or an IP literal. An
/// approximation of the Public Suffix List: one-label TLDs, two-label country suffixes
/// of the common `co.uk` shape and a short list of shared hosting suffixes. The whole
/// list (the `psl` crate compiles ~10,000 rules into code) would weigh more in the
/// Worker than everything it guards here; erring toward a shorter suffix only groups
/// more hosts together, which for limits is the safe side.
pub fn registrable_domain(host: &str) -> Option<String> {
    let host = normal_host(host);
    if host.is_empty() || host.parse::<Ipv4Addr>().is_ok() || host.contains(':') {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    let n = labels.len();
    let last_two = (n >= 2).then(|| format!("{}.{}", labels[n - 2], labels[n - 1]));
    let suffix = match &last_two {
        Some(two) if SHARED_SUFFIXES.contains(&two.as_str()) => 2,
        Some(_) if labels[n - 1].len() == 2 && CC_SECOND_LEVEL.contains(&labels[n - 2]) => 2,
        _ => 1,
    };
    (n > suffix).then(|| labels[n - suffix - 1..].join("."))
}

/// Refuses a URL on the planet's own origin (any of [`OwnOrigins`]' spellings of
/// `PLANET_URL`): a planet subscribed to its own feeds would store each entry again as
/// new, publish it, and find it again, forever (by push, within milliseconds).
pub fn check_not_own(url: &Url, planet_url: &str) -> Result<(), PolicyError> {
    check_not_own_in(url, &OwnOrigins::new(planet_url, &[]))
}

/// [`check_not_own`] against every name of the planet.
pub fn check_not_own_in(url: &Url, own: &OwnOrigins) -> Result<(), PolicyError> {
    if own.contains(url) {
        return Err(PolicyError::OwnPlanet(url.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_planets_own_origin_is_refused_and_no_other() {
        let own = "https://planet.example";
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(matches!(
            check_not_own(&u("https://planet.example/feed.atom?x=1"), own),
            Err(PolicyError::OwnPlanet(_))
        ));
        assert!(check_not_own(&u("https://PLANET.example:443/feeds/3/feed.atom"), own).is_err());
        for other in [
            "https://blog.planet.example/feed",
            "https://planet.example.org/feed",
            "https://other.example/feed",
        ] {
            assert_eq!(check_not_own(&u(other), own), Ok(()), "{other}");
        }
        assert_eq!(check_not_own(&u("https://a.example/"), "not a url"), Ok(()));
    }

    #[test]
    fn every_spelling_of_the_planet_is_the_planet() {
        let own = OwnOrigins::new(
            "https://planet.example",
            &[
                "orrery.me.workers.dev".into(),
                "https://Alias.example./".into(),
            ],
        );
        for alias in [
            "http://planet.example/feed.atom",       // the other scheme
            "https://planet.example./feed.atom",     // a trailing dot
            "HTTPS://PLANET.EXAMPLE/websub",         // case
            "http://planet.example:80/",             // a default port
            "https://planet.example:8443/feed.atom", // another port of our host
            "https://orrery.me.workers.dev/websub",  // the workers.dev alias
            "http://alias.example/feed.rss",
        ] {
            assert!(own.contains_str(alias), "{alias}");
            assert!(check_not_own_in(&Url::parse(alias).unwrap(), &own).is_err());
        }
        for other in [
            "https://blog.planet.example/",
            "https://me.workers.dev/",
            "https://other.workers.dev/",
            "not a url",
        ] {
            assert!(!own.contains_str(other), "{other}");
        }
        // Local dev: an explicit port is that port, on every loopback name.
        let dev = OwnOrigins::new("http://127.0.0.1:8787", &[]);
        for alias in [
            "https://127.0.0.1:8787/websub",
            "http://localhost:8787/",
            "http://LOCALHOST.:8787/",
            "http://[::1]:8787/",
            "http://127.0.0.2:8787/",
        ] {
            assert!(dev.contains_str(alias), "{alias}");
        }
        assert!(!dev.contains_str("http://127.0.0.1:9000/hub"));
        assert!(!dev.contains_str("http://example.com:8787/"));
    }

    #[test]
    fn a_cf_worker_zone_of_ours_is_known() {
        let own = OwnOrigins::new(
            "https://planet.example.com",
            &["orrery.me.workers.dev".into()],
        );
        for zone in [
            "example.com",
            "planet.example.com",
            "Example.COM.",
            "me.workers.dev",
        ] {
            assert!(own.owns_zone(zone), "{zone}");
        }
        for zone in ["com", "dev", "other.com", "workers.dev.evil", ""] {
            assert!(!own.owns_zone(zone), "{zone}");
        }
    }

    #[test]
    fn registrable_domains_approximate_the_public_suffix_list() {
        for (host, want) in [
            ("a1.example.test", Some("example.test")),
            ("x.y.z.example.com", Some("example.com")),
            ("Example.COM.", Some("example.com")),
            ("a.b.example.co.uk", Some("example.co.uk")),
            ("shop.example.com.au", Some("example.com.au")),
            ("alice.github.io", Some("alice.github.io")),
            ("x.orrery.me.workers.dev", Some("me.workers.dev")),
            ("example.io", Some("example.io")),
            ("co.uk", None),
            ("workers.dev", None),
            ("com", None),
            ("1.2.3.4", None),
            ("[2001:db8::1]", None),
            ("", None),
        ] {
            assert_eq!(registrable_domain(host).as_deref(), want, "{host}");
        }
    }

    #[test]
    fn own_entry_pages_under_any_name() {
        let own = OwnOrigins::new("https://planet.example", &[]);
        assert!(own.is_own_entry("https://planet.example/entries/42"));
        assert!(own.is_own_entry("http://PLANET.example./entries/42#x"));
        assert!(!own.is_own_entry("https://planet.example/feeds/3"));
        assert!(!own.is_own_entry("https://other.example/entries/42"));
        assert!(!own.is_own_entry("urn:uuid:1234"));
    }
}
