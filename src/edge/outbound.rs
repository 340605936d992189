//! The one outbound HTTP client: a deadline that aborts, a capped read, one User-Agent.
//!
//! Every request Orrery makes to the outside goes through here: the fetcher's feed reads
//! (one per redirect hop), a FeedObject's requests to its hub, the Publisher's
//! verifications and pings, the Access keys. The policy (which URL may be asked, how long,
//! how many bytes) is the caller's, from `core`; this moves the bytes.

use std::time::Duration;

use futures::future::{select, Either};
use futures::StreamExt;
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
};

use crate::core::config::Config;
use crate::core::fetch::check_url;
use crate::edge::{env, meter};

/// Who Orrery says it is; the planet's URL and its operator's contact (`Config::user_agent`)
/// are named so the other side knows who asks.
#[derive(Debug, Clone, Copy)]
pub enum Agent<'a> {
    /// Reading feeds and asking their hubs for pushes.
    FeedAggregator(&'a Config),
    /// Orrery's own WebSub hub, verifying its subscribers and pinging them.
    WebSubHub(&'a Config),
    /// A platform endpoint (Cloudflare Access's keys): no User-Agent of ours.
    Platform,
}

impl Agent<'_> {
    /// The one User-Agent: `Orrery/0.1 (<role>; +<planet URL>[; <owner>])`.
    pub fn user_agent(self) -> Option<String> {
        match self {
            Agent::FeedAggregator(cfg) => Some(cfg.user_agent("feed aggregator")),
            Agent::WebSubHub(cfg) => Some(cfg.user_agent("WebSub hub")),
            Agent::Platform => None,
        }
    }
}

/// The instant a request must be done by: one deadline covers the answer's headers and its
/// body (and, for the fetcher, every redirect hop).
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at_ms: i64,
}

impl Deadline {
    /// At this Unix time (ms).
    pub fn at(at_ms: i64) -> Self {
        Deadline { at_ms }
    }

    /// This long from now.
    pub fn after(ms: u64) -> Self {
        Deadline::at(env::now_ms().saturating_add(ms as i64))
    }

    fn left(self) -> Duration {
        let left = self.at_ms.saturating_sub(env::now_ms()).max(0);
        Duration::from_millis(left as u64)
    }
}

/// How much of an answer to read.
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// The whole body, which must not pass this many bytes ([`OutboundError::TooLarge`]);
    /// a broken stream is an error.
    Whole(usize),
    /// At most the first this many bytes: what arrived before the cap, the end or a broken
    /// stream (a subscriber's short answer).
    Prefix(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The deadline passed; the request was aborted.
    #[error("no answer before the deadline")]
    Timeout,
    /// The body passed [`Read::Whole`]'s cap.
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    /// The fetch policy refused the URL (`core::fetch::check_url`).
    #[error("{0}")]
    Refused(String),
    /// The request could not be made, or the connection failed.
    #[error("{0}")]
    Network(String),
}

fn network(e: impl ToString) -> OutboundError {
    OutboundError::Network(e.to_string())
}

/// One outbound request. Redirects are not followed unless asked: the fetcher follows
/// them by hand, checking every hop.
pub struct Outbound<'a> {
    method: Method,
    url: &'a str,
    agent: Agent<'a>,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
    follow_redirects: bool,
    /// Checked by the fetch policy first (`Some(allow_private)`).
    public_only: Option<bool>,
}

impl<'a> Outbound<'a> {
    pub fn new(method: Method, url: &'a str, agent: Agent<'a>) -> Self {
        Outbound {
            method,
            url,
            agent,
            headers: Vec::new(),
            body: None,
            follow_redirects: false,
            public_only: None,
        }
    }

    pub fn get(url: &'a str, agent: Agent<'a>) -> Self {
        Outbound::new(Method::Get, url, agent)
    }

    pub fn post(url: &'a str, agent: Agent<'a>, body: String) -> Self {
        Outbound::new(Method::Post, url, agent).body(body)
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: String) -> Self {
        self.body = Some(body);
        self
    }

    /// Only a URL the fetch policy allows (`core::fetch::check_url`: no private address
    /// unless `allow_private`), sent in its normalized form.
    pub fn public_only(mut self, allow_private: bool) -> Self {
        self.public_only = Some(allow_private);
        self
    }

    /// Lets the runtime follow redirects (for a platform endpoint, not for a URL of the public's).
    pub fn following_redirects(mut self) -> Self {
        self.follow_redirects = true;
        self
    }

    /// Sends the request (`what` names it for the meter); past the deadline it is aborted.
    pub async fn send(self, what: &str, deadline: Deadline) -> Result<Answer, OutboundError> {
        let url = match self.public_only {
            Some(allow_private) => check_url(self.url, allow_private)
                .map_err(|e| OutboundError::Refused(e.to_string()))?
                .to_string(),
            None => self.url.to_string(),
        };
        let headers = Headers::new();
        if let Some(agent) = self.agent.user_agent() {
            headers.set("User-Agent", &agent).map_err(network)?;
        }
        for (name, value) in &self.headers {
            headers.set(name, value).map_err(network)?;
        }
        let mut init = RequestInit::new();
        init.with_method(self.method).with_headers(headers);
        if !self.follow_redirects {
            init.with_redirect(RequestRedirect::Manual);
        }
        if let Some(body) = self.body {
            init.with_body(Some(body.into()));
        }
        let request = Request::new_with_init(&url, &init).map_err(network)?;
        meter::subrequest(what);
        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch =
            Box::pin(async move { Fetch::Request(request).send_with_signal(&signal).await });
        let timeout = Box::pin(Delay::from(deadline.left()));
        match select(fetch, timeout).await {
            Either::Left((Ok(response), _)) => Ok(Answer {
                response,
                controller,
                deadline,
            }),
            Either::Left((Err(e), _)) => Err(network(e)),
            Either::Right(_) => {
                controller.abort();
                Err(OutboundError::Timeout)
            }
        }
    }
}

/// An answer's status and headers, its body not yet read.
pub struct Answer {
    response: worker::Response,
    controller: AbortController,
    deadline: Deadline,
}

impl Answer {
    pub fn status(&self) -> u16 {
        self.response.status_code()
    }

    /// A header's value, when present and not empty.
    pub fn header(&self, name: &str) -> Option<String> {
        let value = self.response.headers().get(name).ok().flatten();
        value.filter(|v| !v.is_empty())
    }

    /// Reads the body, within what is left of the deadline (then the request is aborted).
    pub async fn read(self, cap: Read) -> Result<Vec<u8>, OutboundError> {
        let Answer {
            mut response,
            controller,
            deadline,
        } = self;
        let mut body = Vec::new();
        let read = async {
            let mut stream = match (response.stream(), cap) {
                (Ok(stream), _) => stream,
                (Err(_), Read::Prefix(_)) => return Ok(()),
                (Err(e), Read::Whole(_)) => return Err(network(e)),
            };
            while let Some(chunk) = stream.next().await {
                let chunk = match (chunk, cap) {
                    (Ok(chunk), _) => chunk,
                    (Err(_), Read::Prefix(_)) => return Ok(()),
                    (Err(e), Read::Whole(_)) => return Err(network(e)),
                };
                match cap {
                    Read::Whole(max) if body.len() + chunk.len() > max => {
                        return Err(OutboundError::TooLarge(max));
                    }
                    Read::Whole(_) => body.extend_from_slice(&chunk),
                    Read::Prefix(max) => {
                        body.extend_from_slice(&chunk);
                        if body.len() >= max {
                            body.truncate(max);
                            return Ok(());
                        }
                    }
                }
            }
            Ok(())
        };
        let timeout = Delay::from(deadline.left());
        let outcome = match select(Box::pin(read), Box::pin(timeout)).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(_) => Err(OutboundError::Timeout),
        };
        if outcome == Err(OutboundError::Timeout) {
            controller.abort();
        }
        outcome.map(|()| body)
    }
}
