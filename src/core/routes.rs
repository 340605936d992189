//! The one route table: method and path to [`Route`].
//!
//! Pure, so it is tested natively; the edge dispatches on it.

/// Every endpoint Orrery serves (static assets are served by the edge before the Worker runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Home,
    Titles,
    Feeds,
    Feed(i64),
    /// An entry's stable link on this planet (used as the Atom/RSS id).
    Entry(i64),
    FeedWs(i64),
    Search,
    Admin,
    AdminLogin,
    AdminLogout,
    AdminAddFeed,
    AdminRefreshFeed(i64),
    AdminDeleteFeed(i64),
    /// Name, face, link and filter; pause by hand; resume.
    AdminEditFeed(i64),
    AdminHoldFeed(i64),
    AdminResumeFeed(i64),
    /// Who did what to which feed and when, newest first (`?before=<id>` pages back).
    AdminAudit,
    /// The feed-health view: a page of feeds (`?page=`), what D1 and their objects know.
    AdminHealth,
    /// An OPML file uploaded from the admin page (multipart).
    AdminImportOpml,
    /// Confirms the removals a membership sync left pending.
    AdminConfirmRemovals,
    /// Starts a round refreshing every active feed, a batch per invocation.
    AdminRefreshAll,
    /// Adds a rule to the admin list (who may sign in with GitHub or OpenID Connect).
    AdminAddAdmin,
    /// Removes a row of the admin list (its sessions end with it).
    AdminRemoveAdmin(i64),
    /// `/auth/github`, `/auth/oidc`: starts signing in with a provider (a state cookie and a
    /// redirect to it).
    AuthStart(crate::core::auth::signin::Provider),
    /// `/auth/{provider}/callback`: where the provider sends the browser back with a code.
    AuthCallback(crate::core::auth::signin::Provider),
    /// `/healthz`: the liveness probe (D1 answers, the deployment as it knows itself).
    Healthz,
    /// `/health`: the contract of the planet Orrery replaces, for monitors built for it
    /// (`view_models::PlanetHealth`: always 200, feeds by health).
    Health,
    Ws,
    AtomOut,
    RssOut,
    /// One feed's entries as Atom (`/feeds/{id}/feed.atom`): a WebSub topic of its own.
    FeedAtomOut(i64),
    /// RSS 1.0 (RDF), as classic planets published it.
    Rss10Out,
    OpmlOut,
    /// The members as a FOAF roll (`/foafroll.xml`), what planets of planets read.
    FoafOut,
    /// An old Planet Venus path, moved for good (301) to ours.
    Moved(&'static str),
    ApiEntries,
    ApiFeeds,
    ApiFeed(i64),
    ApiFeedCreate,
    ApiFeedDelete(i64),
    ApiFeedRefresh(i64),
    ApiFeedUpdate(i64),
    ApiFeedHold(i64),
    ApiFeedResume(i64),
    ApiOpmlImport,
    /// `POST /api/refresh`: starts a round refreshing every active feed (admin).
    ApiRefreshAll,
    /// `GET /api/refresh`: the newest round and where it stands (admin).
    ApiRefreshStatus,
    /// A WebSub hub calling back a feed's subscription (`/websub/{feed id}/{token}`):
    /// GET verifies intent, POST delivers content.
    WebSubCallback(i64),
    /// Orrery's own WebSub hub (`/websub`): subscribers of the planet's feeds POST here.
    WebSubHub,
    NotFound,
    /// The path exists but not with this method; carries what is allowed.
    MethodNotAllowed(&'static str),
}

impl Route {
    /// Routes anyone can hit whose cache miss costs D1 reads or a Durable Object request:
    /// each miss spends the client's budget by the route's [`Route::weight`] (no anonymous
    /// visitor can spend the planet's daily quota, cache-busting or not). A cache hit spends
    /// nothing; admin (own auth, `LOGIN_LIMIT`), hub callbacks (`PUSH_LIMIT`), redirects and
    /// assets are not counted here.
    pub fn is_rate_limited(self) -> bool {
        self.is_shared_page()
            || matches!(
                self,
                Route::Search
                    | Route::Entry(_)
                    | Route::ApiEntries
                    | Route::ApiFeeds
                    | Route::ApiFeed(_)
                    | Route::Healthz
                    | Route::Health
                    | Route::Ws
                    | Route::FeedWs(_)
                    | Route::WebSubHub
                    | Route::AuthStart(_)
                    | Route::AuthCallback(_)
            )
    }

    /// Pages every reader sees alike: the edge may cache them.
    pub fn is_shared_page(self) -> bool {
        matches!(
            self,
            Route::Home
                | Route::Titles
                | Route::Feeds
                | Route::Feed(_)
                | Route::AtomOut
                | Route::RssOut
                | Route::FeedAtomOut(_)
                | Route::Rss10Out
                | Route::OpmlOut
                | Route::FoafOut
        )
    }

    /// JSON API routes answer errors in JSON; pages answer HTML.
    pub fn is_api(self) -> bool {
        matches!(
            self,
            Route::ApiEntries
                | Route::ApiFeeds
                | Route::ApiFeed(_)
                | Route::ApiFeedCreate
                | Route::ApiFeedDelete(_)
                | Route::ApiFeedRefresh(_)
                | Route::ApiFeedUpdate(_)
                | Route::ApiFeedHold(_)
                | Route::ApiFeedResume(_)
                | Route::ApiOpmlImport
                | Route::ApiRefreshAll
                | Route::ApiRefreshStatus
                | Route::Healthz
                | Route::Health
                | Route::WebSubCallback(_)
                | Route::WebSubHub
        )
    }
}

impl Route {
    /// The route as this deployment serves it: a feed out the operator turned off
    /// (`ENABLE_RSS10`, `ENABLE_FOAF`) is not found, and so is the old path moving to it.
    pub fn as_configured(self, cfg: &crate::core::config::Config) -> Route {
        match self {
            Route::Rss10Out | Route::Moved("/feed.rss10") if !cfg.enable_rss10 => Route::NotFound,
            Route::FoafOut if !cfg.enable_foaf => Route::NotFound,
            r => r,
        }
    }
}

fn id(s: &str) -> Option<i64> {
    // Only plain positive decimal ids: no signs, no leading zeros games beyond parse.
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| *n > 0)
}

pub fn route(method: &str, path: &str) -> Route {
    use crate::core::auth::signin::Provider;
    use Route::*;
    let get = method == "GET" || method == "HEAD";
    let post = method == "POST";
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let only =
        |ok: bool, r: Route, allowed: &'static str| if ok { r } else { MethodNotAllowed(allowed) };
    match segs.as_slice() {
        [""] => only(get, Home, "GET"),
        ["titles"] => only(get, Titles, "GET"),
        ["feeds"] => only(get, Feeds, "GET"),
        ["feeds", n] => id(n).map_or(NotFound, |n| only(get, Feed(n), "GET")),
        ["feeds", n, "feed.atom"] => id(n).map_or(NotFound, |n| only(get, FeedAtomOut(n), "GET")),
        ["feeds", n, "ws"] => id(n).map_or(NotFound, |n| only(get, FeedWs(n), "GET")),
        ["entries", n] => id(n).map_or(NotFound, |n| only(get, Entry(n), "GET")),
        ["search"] => only(get, Search, "GET"),
        ["admin"] => only(get, Admin, "GET"),
        ["admin", "login"] => only(post, AdminLogin, "POST"),
        ["admin", "logout"] => only(post, AdminLogout, "POST"),
        ["admin", "audit"] => only(get, AdminAudit, "GET"),
        ["admin", "health"] => only(get, AdminHealth, "GET"),
        ["admin", "feeds"] => only(post, AdminAddFeed, "POST"),
        ["admin", "opml"] => only(post, AdminImportOpml, "POST"),
        ["admin", "membership", "confirm"] => only(post, AdminConfirmRemovals, "POST"),
        ["admin", "refresh"] => only(post, AdminRefreshAll, "POST"),
        ["admin", "admins"] => only(post, AdminAddAdmin, "POST"),
        ["admin", "admins", n, "delete"] => {
            id(n).map_or(NotFound, |n| only(post, AdminRemoveAdmin(n), "POST"))
        }
        ["auth", "github"] => only(get, AuthStart(Provider::GitHub), "GET"),
        ["auth", "oidc"] => only(get, AuthStart(Provider::Oidc), "GET"),
        ["auth", "github", "callback"] => only(get, AuthCallback(Provider::GitHub), "GET"),
        ["auth", "oidc", "callback"] => only(get, AuthCallback(Provider::Oidc), "GET"),
        ["admin", "feeds", n, "refresh"] => {
            id(n).map_or(NotFound, |n| only(post, AdminRefreshFeed(n), "POST"))
        }
        ["admin", "feeds", n, "delete"] => {
            id(n).map_or(NotFound, |n| only(post, AdminDeleteFeed(n), "POST"))
        }
        ["admin", "feeds", n, act @ ("edit" | "pause" | "resume")] => id(n).map_or(NotFound, |n| {
            let r = match *act {
                "edit" => AdminEditFeed(n),
                "pause" => AdminHoldFeed(n),
                _ => AdminResumeFeed(n),
            };
            only(post, r, "POST")
        }),
        ["healthz"] => only(get, Healthz, "GET"),
        ["health"] => only(get, Health, "GET"),
        ["ws"] => only(get, Ws, "GET"),
        ["feed.atom"] => only(get, AtomOut, "GET"),
        ["feed.rss"] => only(get, RssOut, "GET"),
        ["feed.rss10"] => only(get, Rss10Out, "GET"),
        ["feeds.opml"] => only(get, OpmlOut, "GET"),
        ["foafroll.xml"] => only(get, FoafOut, "GET"),
        // Planet Venus's file names, so a planet moves to Orrery without losing subscribers.
        ["atom.xml"] => only(get, Moved("/feed.atom"), "GET"),
        ["rss20.xml"] | ["rss.xml"] => only(get, Moved("/feed.rss"), "GET"),
        ["rss10.xml"] => only(get, Moved("/feed.rss10"), "GET"),
        ["opml.xml"] => only(get, Moved("/feeds.opml"), "GET"),
        ["index.html"] => only(get, Moved("/"), "GET"),
        ["api", "entries"] => only(get, ApiEntries, "GET"),
        ["api", "feeds"] => match method {
            "GET" | "HEAD" => ApiFeeds,
            "POST" => ApiFeedCreate,
            _ => MethodNotAllowed("GET, POST"),
        },
        ["api", "feeds", n] => match (id(n), method) {
            (None, _) => NotFound,
            (Some(n), "GET" | "HEAD") => ApiFeed(n),
            (Some(n), "DELETE") => ApiFeedDelete(n),
            (Some(n), "PATCH") => ApiFeedUpdate(n),
            _ => MethodNotAllowed("GET, PATCH, DELETE"),
        },
        ["api", "feeds", n, "pause"] => {
            id(n).map_or(NotFound, |n| only(post, ApiFeedHold(n), "POST"))
        }
        ["api", "feeds", n, "resume"] => {
            id(n).map_or(NotFound, |n| only(post, ApiFeedResume(n), "POST"))
        }
        ["api", "feeds", n, "refresh"] => {
            id(n).map_or(NotFound, |n| only(post, ApiFeedRefresh(n), "POST"))
        }
        ["api", "opml"] => only(post, ApiOpmlImport, "POST"),
        ["api", "refresh"] => match method {
            "GET" | "HEAD" => ApiRefreshStatus,
            "POST" => ApiRefreshAll,
            _ => MethodNotAllowed("GET, POST"),
        },
        ["websub"] => only(post, WebSubHub, "POST"),
        ["websub", n, token] if !token.is_empty() => match (id(n), method) {
            (None, _) => NotFound,
            (Some(n), "GET" | "POST") => WebSubCallback(n),
            _ => MethodNotAllowed("GET, POST"),
        },
        _ => NotFound,
    }
}

/// Who a client is for rate limits: its address, an IPv6 address as its /48 (a site's
/// block: a free tunnel hands anyone 65,536 /64s of one /48), an IPv4-mapped IPv6 address
/// as the IPv4 one, anything unreadable as one shared "unknown" client.
pub fn client_key(ip: Option<&str>) -> String {
    match ip
        .map(str::trim)
        .and_then(|s| s.parse::<std::net::IpAddr>().ok())
    {
        Some(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Some(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
        None => "unknown".into(),
    }
}

/// A socket from a browser page must come from this planet's own pages (cross-site pages
/// cannot open sockets on readers' behalf); clients that send no Origin (API clients) may.
pub fn socket_origin_allowed(origin: Option<&str>, own_origin: &str) -> bool {
    origin.is_none_or(|o| o.trim_end_matches('/').eq_ignore_ascii_case(own_origin))
}

/// The Room shard a client's sockets go to: by a hash of its address (FNV-1a), so one
/// client's sockets sit together and the per-client cap counts them all.
pub fn shard_for(client_key: &str, shards: u32) -> u32 {
    let hash = client_key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % u64::from(shards.max(1))) as u32
}

/// A strong validator for a response body: FNV-1a 64 of its bytes and its length. Pages
/// are rendered from data alone (no clock), so the same data gives the same tag.
pub fn etag(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}-{:x}\"", body.len())
}

/// Whether an `If-None-Match` header names `tag` (weak comparison, as RFC 9110 asks for
/// GET: a proxy that compresses the body may have weakened the tag it handed out).
pub fn none_match(header: Option<&str>, tag: &str) -> bool {
    let Some(header) = header else { return false };
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header.trim() == "*" || header.split(',').any(|t| bare(t) == bare(tag))
}

mod cost;

pub use cost::{
    cache_key, pages_a_write_changes, Cost, FEEDS_PAGE, ROWS_PER_UNIT, SYNDICATED_ENTRIES,
    TITLES_ENTRIES,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_from_other_sites_are_refused_and_one_clients_sockets_share_a_shard() {
        let own = "https://planet.example";
        assert!(
            socket_origin_allowed(None, own),
            "API clients send no Origin"
        );
        assert!(socket_origin_allowed(Some("https://planet.example"), own));
        assert!(!socket_origin_allowed(Some("https://evil.example"), own));
        assert!(!socket_origin_allowed(Some("null"), own));
        assert_eq!(shard_for("203.0.113.9", 8), shard_for("203.0.113.9", 8));
        let spread: std::collections::HashSet<u32> = (0..64)
            .map(|i| shard_for(&format!("198.51.100.{i}"), 8))
            .collect();
        assert!(spread.len() > 4, "clients spread over shards: {spread:?}");
        assert_eq!(shard_for("x", 1), 0);
    }

    #[test]
    fn public_reads_are_counted_on_a_miss_and_admin_is_not() {
        for r in [
            Route::Search,
            Route::ApiEntries,
            Route::Ws,
            Route::FeedWs(1),
            Route::Healthz,
            Route::Health,
        ] {
            assert!(r.is_rate_limited(), "{r:?}");
        }
        // Cached pages are counted on a miss (a hit spends nothing); admin and writes never.
        for r in [Route::Home, Route::Feeds, Route::AtomOut] {
            assert!(r.is_rate_limited(), "{r:?}");
        }
        for r in [
            Route::Admin,
            Route::ApiFeedCreate,
            Route::Moved("/"),
            Route::NotFound,
        ] {
            assert!(!r.is_rate_limited(), "{r:?}");
        }
    }

    #[test]
    fn clients_are_keyed_by_address_and_ipv6_by_its_48() {
        assert_eq!(client_key(Some("203.0.113.9")), "203.0.113.9");
        assert_eq!(
            client_key(Some("2001:db8:1:2:aaaa::1")),
            client_key(Some("2001:db8:1:2:bbbb::2"))
        );
        assert_eq!(
            client_key(Some("2001:db8:1:2::1")),
            client_key(Some("2001:db8:1:3::1"))
        );
        assert_ne!(
            client_key(Some("2001:db8:1::1")),
            client_key(Some("2001:db8:2::1"))
        );
        assert_eq!(client_key(None), "unknown");
        assert_eq!(client_key(Some("not an ip")), "unknown");
    }

    #[test]
    fn the_documented_routes_resolve() {
        assert_eq!(route("GET", "/"), Route::Home);
        assert_eq!(route("GET", "/feeds/12"), Route::Feed(12));
        assert_eq!(route("GET", "/feeds/12/ws"), Route::FeedWs(12));
        assert_eq!(route("GET", "/feeds/12/feed.atom"), Route::FeedAtomOut(12));
        assert_eq!(route("GET", "/feeds/0/feed.atom"), Route::NotFound);
        assert_eq!(
            route("POST", "/feeds/12/feed.atom"),
            Route::MethodNotAllowed("GET")
        );
        assert!(Route::FeedAtomOut(12).is_shared_page());
        assert_eq!(route("GET", "/entries/7"), Route::Entry(7));
        assert_eq!(route("GET", "/ws"), Route::Ws);
        assert_eq!(route("GET", "/healthz"), Route::Healthz);
        assert_eq!(route("GET", "/api/entries"), Route::ApiEntries);
        assert_eq!(route("POST", "/api/feeds"), Route::ApiFeedCreate);
        assert_eq!(route("GET", "/api/feeds/"), Route::ApiFeeds);
        assert_eq!(route("DELETE", "/api/feeds/3"), Route::ApiFeedDelete(3));
        assert_eq!(
            route("POST", "/api/feeds/3/refresh"),
            Route::ApiFeedRefresh(3)
        );
        assert_eq!(route("POST", "/api/opml"), Route::ApiOpmlImport);
        assert_eq!(route("PATCH", "/api/feeds/3"), Route::ApiFeedUpdate(3));
        assert_eq!(route("POST", "/api/feeds/3/pause"), Route::ApiFeedHold(3));
        assert_eq!(
            route("POST", "/api/feeds/3/resume"),
            Route::ApiFeedResume(3)
        );
        assert_eq!(
            route("POST", "/admin/feeds/3/edit"),
            Route::AdminEditFeed(3)
        );
        assert_eq!(
            route("POST", "/admin/feeds/3/pause"),
            Route::AdminHoldFeed(3)
        );
        assert_eq!(
            route("POST", "/admin/feeds/3/resume"),
            Route::AdminResumeFeed(3)
        );
        assert_eq!(
            route("GET", "/api/feeds/3/pause"),
            Route::MethodNotAllowed("POST")
        );
        assert_eq!(route("GET", "/feeds.opml"), Route::OpmlOut);
        assert_eq!(
            route("POST", "/admin/feeds/4/delete"),
            Route::AdminDeleteFeed(4)
        );
        assert_eq!(
            route("GET", "/admin/feeds/4/delete"),
            Route::MethodNotAllowed("POST")
        );
    }

    #[test]
    fn the_audit_log_is_an_uncached_admin_page() {
        assert_eq!(route("GET", "/admin/audit"), Route::AdminAudit);
        assert_eq!(route("GET", "/admin/audit/"), Route::AdminAudit);
        assert_eq!(route("GET", "/admin/health"), Route::AdminHealth);
        assert_eq!(
            route("POST", "/admin/health"),
            Route::MethodNotAllowed("GET")
        );
        assert!(!Route::AdminHealth.is_rate_limited() && !Route::AdminHealth.is_api());
        assert_eq!(
            route("POST", "/admin/audit"),
            Route::MethodNotAllowed("GET")
        );
        let r = Route::AdminAudit;
        assert!(!r.is_shared_page() && !r.is_api() && !r.is_rate_limited());
    }

    #[test]
    fn classic_outputs_and_old_venus_paths() {
        assert_eq!(route("GET", "/health"), Route::Health);
        assert_eq!(route("GET", "/healthz"), Route::Healthz);
        assert_eq!(route("POST", "/health"), Route::MethodNotAllowed("GET"));
        assert_eq!(route("GET", "/feed.rss10"), Route::Rss10Out);
        assert_eq!(route("GET", "/foafroll.xml"), Route::FoafOut);
        assert_eq!(route("GET", "/atom.xml"), Route::Moved("/feed.atom"));
        assert_eq!(route("GET", "/rss20.xml"), Route::Moved("/feed.rss"));
        assert_eq!(route("GET", "/rss10.xml"), Route::Moved("/feed.rss10"));
        assert_eq!(route("HEAD", "/opml.xml"), Route::Moved("/feeds.opml"));
        assert_eq!(route("POST", "/atom.xml"), Route::MethodNotAllowed("GET"));
        assert!(route("GET", "/foafroll.xml").is_shared_page());
        assert!(route("GET", "/feed.rss10").is_shared_page());
        assert!(route("GET", "/health").is_rate_limited());
    }

    #[test]
    fn feeds_out_the_operator_turned_off_are_not_found() {
        use crate::core::config::Config;
        let on = Config::default();
        let off = Config::from_lookup(|k| {
            matches!(k, "ENABLE_RSS10" | "ENABLE_FOAF").then(|| "false".into())
        });
        for path in ["/feed.rss10", "/rss10.xml", "/foafroll.xml"] {
            let r = route("GET", path);
            assert_eq!(r.as_configured(&on), r, "{path}");
            assert_eq!(r.as_configured(&off), Route::NotFound, "{path}");
        }
        for path in ["/feed.atom", "/feed.rss", "/feeds.opml", "/atom.xml"] {
            let r = route("GET", path);
            assert_eq!(r.as_configured(&off), r, "{path}");
        }
    }

    #[test]
    fn etags_follow_the_body_and_match_weakly() {
        let a = etag(b"<p>one</p>");
        assert_eq!(a, etag(b"<p>one</p>"));
        assert_ne!(a, etag(b"<p>two</p>"));
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert!(none_match(Some(&a), &a));
        assert!(none_match(Some(&format!("W/{a}")), &a));
        assert!(none_match(Some(&format!("\"x\", {a}")), &a));
        assert!(none_match(Some("*"), &a));
        assert!(!none_match(Some("\"x\""), &a));
        assert!(!none_match(None, &a));
    }

    #[test]
    fn bad_ids_and_methods_are_refused() {
        assert_eq!(route("GET", "/feeds/abc"), Route::NotFound);
        assert_eq!(route("GET", "/feeds/-1"), Route::NotFound);
        assert_eq!(route("GET", "/feeds/0"), Route::NotFound);
        assert_eq!(
            route("GET", "/feeds/99999999999999999999999"),
            Route::NotFound
        );
        assert_eq!(
            route("PUT", "/api/feeds"),
            Route::MethodNotAllowed("GET, POST")
        );
        assert_eq!(route("POST", "/"), Route::MethodNotAllowed("GET"));
        assert_eq!(route("GET", "/nope"), Route::NotFound);
        assert!(route("GET", "/api/feeds/1").is_api());
        assert!(route("GET", "/").is_shared_page());
        assert!(!route("GET", "/admin").is_shared_page());
        assert!(!route("GET", "/search").is_shared_page());
        assert!(!route("GET", "/feeds/1").is_api());
    }

    #[test]
    fn refreshing_everything_is_an_admin_write_and_its_progress_an_admin_read() {
        assert_eq!(route("POST", "/admin/refresh"), Route::AdminRefreshAll);
        assert_eq!(
            route("GET", "/admin/refresh"),
            Route::MethodNotAllowed("POST")
        );
        assert_eq!(route("POST", "/api/refresh"), Route::ApiRefreshAll);
        assert_eq!(route("GET", "/api/refresh"), Route::ApiRefreshStatus);
        assert_eq!(
            route("DELETE", "/api/refresh"),
            Route::MethodNotAllowed("GET, POST")
        );
        for r in [
            Route::AdminRefreshAll,
            Route::ApiRefreshAll,
            Route::ApiRefreshStatus,
        ] {
            assert!(!r.is_rate_limited() && !r.is_shared_page(), "{r:?}");
            assert_eq!(r.cache_params(), None, "{r:?}");
        }
        assert!(Route::ApiRefreshAll.is_api() && Route::ApiRefreshStatus.is_api());
    }

    #[test]
    fn membership_admin_routes_are_posts() {
        assert_eq!(route("POST", "/admin/opml"), Route::AdminImportOpml);
        assert_eq!(route("GET", "/admin/opml"), Route::MethodNotAllowed("POST"));
        assert_eq!(
            route("POST", "/admin/membership/confirm"),
            Route::AdminConfirmRemovals
        );
        assert!(!route("POST", "/admin/opml").is_shared_page());
    }
}
