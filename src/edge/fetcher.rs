//! Outbound feed fetches: conditional GET, hand-followed redirects, SSRF checks on every hop, a timeout and a body cap.

use std::time::Duration;

use futures::future::{select, Either};
use futures::StreamExt;
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
};

use crate::core::config::Config;
use crate::core::fetch::{
    check_not_own, check_url, FetchOutcome, PolicyError, MAX_BODY_BYTES, MAX_REDIRECTS, TIMEOUT_MS,
};
use crate::core::ingest::schedule::{parse_cache_max_age, parse_retry_after};
use crate::core::ingest::FeedState;
use crate::edge::meter;

/// One fetch's inputs.
pub struct FetchRequest<'a> {
    pub url: &'a str,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    pub allow_private: bool,
    /// Named in the User-Agent, so publishers know who fetches.
    pub planet_url: &'a str,
    pub now_ms: i64,
}

impl<'a> FetchRequest<'a> {
    /// A feed's conditional fetch, as its state and the planet's config say.
    pub fn of(st: &'a FeedState, cfg: &'a Config, now_ms: i64) -> Self {
        FetchRequest {
            url: &st.url,
            etag: st.etag.as_deref(),
            last_modified: st.last_modified.as_deref(),
            allow_private: cfg.allow_private_feeds,
            planet_url: &cfg.planet_url,
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
    #[error("no complete answer within {} seconds", TIMEOUT_MS / 1000)]
    Timeout,
    #[error("the feed is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("could not reach the server: {0}")]
    Network(String),
}

const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/feed+json, \
     application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";

fn header(h: &Headers, name: &str) -> Option<String> {
    h.get(name).ok().flatten().filter(|v| !v.is_empty())
}

/// What is left of the whole refresh's time budget: one deadline covers every
/// redirect hop, the headers and the body.
fn time_left(deadline_ms: i64) -> Duration {
    let now = worker::Date::now().as_millis() as i64;
    Duration::from_millis(deadline_ms.saturating_sub(now).max(0) as u64)
}

async fn send_once(
    url: &str,
    req: &FetchRequest<'_>,
    conditional: bool,
    deadline_ms: i64,
) -> Result<worker::Response, FetchError> {
    let headers = Headers::new();
    let set = |k: &str, v: &str| {
        headers
            .set(k, v)
            .map_err(|e| FetchError::Network(e.to_string()))
    };
    set(
        "User-Agent",
        &format!("Orrery/0.1 (feed aggregator; +{})", req.planet_url),
    )?;
    set("Accept", ACCEPT)?;
    if conditional {
        if let Some(e) = req.etag {
            set("If-None-Match", e)?;
        }
        if let Some(lm) = req.last_modified {
            set("If-Modified-Since", lm)?;
        }
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    let request =
        Request::new_with_init(url, &init).map_err(|e| FetchError::Network(e.to_string()))?;
    meter::subrequest("feed.fetch");
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Box::pin(async move { Fetch::Request(request).send_with_signal(&signal).await });
    let timeout = Box::pin(Delay::from(time_left(deadline_ms)));
    match select(fetch, timeout).await {
        Either::Left((Ok(resp), _)) => Ok(resp),
        Either::Left((Err(e), _)) => Err(FetchError::Network(e.to_string())),
        Either::Right(_) => {
            controller.abort();
            Err(FetchError::Timeout)
        }
    }
}

async fn read_capped(resp: &mut worker::Response, deadline_ms: i64) -> Result<Vec<u8>, FetchError> {
    let mut stream = resp
        .stream()
        .map_err(|e| FetchError::Network(e.to_string()))?;
    let mut body = Vec::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| FetchError::Network(e.to_string()))?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    let timeout = Delay::from(time_left(deadline_ms));
    match select(Box::pin(read), Box::pin(timeout)).await {
        Either::Left((r, _)) => r?,
        Either::Right(_) => return Err(FetchError::Timeout),
    }
    Ok(body)
}

/// Fetches a feed, following at most five redirects by hand so every hop is checked.
pub async fn fetch_feed(req: &FetchRequest<'_>) -> Fetched {
    match fetch_inner(req).await {
        Ok(f) => f,
        Err(e) => Fetched {
            outcome: FetchOutcome::Failed(e.to_string()),
            moved_to: None,
            links: None,
            pushed: false,
        },
    }
}

async fn fetch_inner(req: &FetchRequest<'_>) -> Result<Fetched, FetchError> {
    let deadline_ms = req.now_ms.saturating_add(TIMEOUT_MS as i64);
    let mut url = check_url(req.url, req.allow_private)?;
    check_not_own(&url, req.planet_url)?;
    let mut visited = vec![url.to_string()];
    // Only an unbroken chain of permanent redirects moves the feed.
    let mut permanent = true;
    let mut moved_to = None;
    for _hop in 0..=MAX_REDIRECTS {
        let mut resp = send_once(url.as_str(), req, true, deadline_ms).await?;
        let status = resp.status_code();
        let h = resp.headers().clone();
        match status {
            301 | 302 | 303 | 307 | 308 => {
                let loc = header(&h, "Location").ok_or(FetchError::BadRedirect)?;
                let next = url.join(&loc).map_err(|_| FetchError::BadRedirect)?;
                let next = check_url(next.as_str(), req.allow_private)?;
                check_not_own(&next, req.planet_url)?;
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
                    cache_max_age_s: header(&h, "Cache-Control")
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
                let body = read_capped(&mut resp, deadline_ms).await?;
                let outcome = FetchOutcome::Fetched {
                    body,
                    final_url: url.to_string(),
                    etag: header(&h, "ETag"),
                    last_modified: header(&h, "Last-Modified"),
                    cache_max_age_s: header(&h, "Cache-Control")
                        .and_then(|c| parse_cache_max_age(&c)),
                };
                let links = header(&h, "Link");
                return Ok(Fetched {
                    outcome,
                    moved_to,
                    links,
                    pushed: false,
                });
            }
            429 | 503 => {
                let retry_after_ms =
                    header(&h, "Retry-After").and_then(|v| parse_retry_after(&v, req.now_ms));
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
            s if header(&h, "cf-mitigated").is_some() => return Err(FetchError::Challenge(s)),
            s => return Err(FetchError::Status(s)),
        }
    }
    Err(FetchError::TooManyRedirects)
}
