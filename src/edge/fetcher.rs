//! Feed fetches: a conditional GET over `outbound`, redirects followed by hand.
//!
//! Every hop is checked by the SSRF policy (`core::fetch`); one deadline and one body cap
//! cover the whole fetch.

use crate::core::config::Config;
use crate::core::fetch::{
    check_not_own_in, check_url, FetchError, FetchOutcome, OwnOrigins, MAX_BODY_BYTES,
    MAX_REDIRECTS,
};
use crate::core::ingest::schedule::{parse_cache_max_age, parse_retry_after};
use crate::core::ingest::FeedState;
use crate::edge::outbound::{Agent, Answer, Deadline, Outbound, OutboundError, Read};

/// One fetch's inputs.
pub struct FetchRequest<'a> {
    pub url: &'a str,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    pub allow_private: bool,
    /// The planet's URL and operator, named in the User-Agent so publishers know who
    /// fetches; the fetch deadline (`FETCH_TIMEOUT_SECONDS`).
    pub config: &'a Config,
    /// Every name of the planet: none is ever fetched.
    pub own: OwnOrigins,
    pub now_ms: i64,
}

impl<'a> FetchRequest<'a> {
    /// A feed's conditional fetch, as its state and the planet's config say.
    pub fn of(feed: &'a FeedState, cfg: &'a Config, now_ms: i64) -> Self {
        FetchRequest {
            url: &feed.url,
            etag: feed.etag.as_deref(),
            last_modified: feed.last_modified.as_deref(),
            allow_private: cfg.allow_private_feeds,
            config: cfg,
            own: OwnOrigins::of(cfg),
            now_ms,
        }
    }

    /// A fetch with no validators: a page being added, the membership file.
    pub fn unconditional(url: &'a str, cfg: &'a Config, now_ms: i64) -> Self {
        FetchRequest {
            url,
            etag: None,
            last_modified: None,
            allow_private: cfg.allow_private_feeds,
            config: cfg,
            own: OwnOrigins::of(cfg),
            now_ms,
        }
    }
}

/// What a fetch found, classified, and the URL a chain of permanent redirects moved it to.
#[derive(Debug)]
pub struct Fetched {
    pub outcome: FetchOutcome,
    /// Set after an unbroken chain of 301/308 that ended in a 200 or 304.
    pub moved_to: Option<String>,
    /// The 200's `Link` header (WebSub discovery reads its `rel="hub"` and `rel="self"`).
    pub links: Option<String>,
    /// Delivered by a WebSub hub, not fetched.
    pub pushed: bool,
}

const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/feed+json, \
     application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";

impl From<OutboundError> for FetchError {
    fn from(e: OutboundError) -> Self {
        match e {
            // The seconds are the deployment's deadline, filled in by `fetch_feed`.
            OutboundError::Timeout => FetchError::Timeout(0),
            OutboundError::TooLarge(_) => FetchError::TooLarge,
            // The fetcher checks every hop itself (`check_url`, `check_not_own`), so the
            // client's own policy check is never asked for here.
            OutboundError::Network(why) | OutboundError::Refused(why) => FetchError::Network(why),
        }
    }
}

/// One hop: a conditional GET that does not follow redirects.
async fn send_once(
    url: &str,
    req: &FetchRequest<'_>,
    deadline: Deadline,
) -> Result<Answer, FetchError> {
    let mut get = Outbound::get(url, Agent::FeedAggregator(req.config)).header("Accept", ACCEPT);
    if let Some(etag) = req.etag {
        get = get.header("If-None-Match", etag);
    }
    if let Some(last_modified) = req.last_modified {
        get = get.header("If-Modified-Since", last_modified);
    }
    Ok(get.send("feed.fetch", deadline).await?)
}

/// Fetches a feed, following at most five redirects by hand so every hop is checked.
pub async fn fetch_feed(req: &FetchRequest<'_>) -> Fetched {
    match fetch_inner(req).await {
        Ok(f) => f,
        Err(e) => Fetched {
            // The deadline is the deployment's (`FETCH_TIMEOUT_SECONDS`): say which.
            outcome: FetchOutcome::Failed(match e {
                FetchError::Timeout(_) => {
                    FetchError::Timeout(req.config.fetch_timeout_ms / 1000).to_string()
                }
                e => e.to_string(),
            }),
            moved_to: None,
            links: None,
            pushed: false,
        },
    }
}

async fn fetch_inner(req: &FetchRequest<'_>) -> Result<Fetched, FetchError> {
    // One deadline covers every hop, the headers and the body.
    let timeout_ms = req.config.fetch_timeout_ms;
    let deadline = Deadline::at(req.now_ms.saturating_add(timeout_ms as i64));
    let mut url = check_url(req.url, req.allow_private)?;
    check_not_own_in(&url, &req.own)?;
    let mut visited = vec![url.to_string()];
    // Only an unbroken chain of permanent redirects moves the feed.
    let mut permanent = true;
    let mut moved_to = None;
    for _hop in 0..=MAX_REDIRECTS {
        let answer = send_once(url.as_str(), req, deadline).await?;
        let status = answer.status();
        match status {
            301 | 302 | 303 | 307 | 308 => {
                let loc = answer.header("Location").ok_or(FetchError::BadRedirect)?;
                let next = url.join(&loc).map_err(|_| FetchError::BadRedirect)?;
                let next = check_url(next.as_str(), req.allow_private)?;
                check_not_own_in(&next, &req.own)?;
                if visited.iter().any(|v| v == next.as_str()) {
                    return Err(FetchError::RedirectLoop(next.to_string()));
                }
                if visited.len() > MAX_REDIRECTS {
                    return Err(FetchError::TooManyRedirects);
                }
                permanent &= matches!(status, 301 | 308);
                if permanent {
                    moved_to = Some(next.to_string());
                }
                visited.push(next.to_string());
                url = next;
            }
            304 => {
                let outcome = FetchOutcome::NotModified {
                    cache_max_age_s: answer
                        .header("Cache-Control")
                        .and_then(|c| parse_cache_max_age(&c)),
                };
                return Ok(Fetched {
                    outcome,
                    moved_to,
                    links: None,
                    pushed: false,
                });
            }
            200..=299 => {
                let (etag, last_modified) = (answer.header("ETag"), answer.header("Last-Modified"));
                let cache_max_age_s = answer
                    .header("Cache-Control")
                    .and_then(|c| parse_cache_max_age(&c));
                let links = answer.header("Link");
                let body = answer.read(Read::Whole(MAX_BODY_BYTES)).await?;
                let outcome = FetchOutcome::Fetched {
                    body,
                    final_url: url.to_string(),
                    etag,
                    last_modified,
                    cache_max_age_s,
                };
                return Ok(Fetched {
                    outcome,
                    moved_to,
                    links,
                    pushed: false,
                });
            }
            429 | 503 => {
                let retry_after_ms = answer
                    .header("Retry-After")
                    .and_then(|v| parse_retry_after(&v, req.now_ms));
                let outcome = FetchOutcome::RetryLater {
                    status,
                    retry_after_ms,
                };
                return Ok(Fetched {
                    outcome,
                    moved_to: None,
                    links: None,
                    pushed: false,
                });
            }
            410 => {
                return Ok(Fetched {
                    outcome: FetchOutcome::Gone,
                    moved_to: None,
                    links: None,
                    pushed: false,
                })
            }
            // Cloudflare and similar put a challenge page in front of bots.
            s if answer.header("cf-mitigated").is_some() => return Err(FetchError::Challenge(s)),
            s => return Err(FetchError::Status(s)),
        }
    }
    Err(FetchError::TooManyRedirects)
}
