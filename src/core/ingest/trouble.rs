//! What ails a feed, as the public may be told: a category of its failure, never its words.
//!
//! The words a failure is stored in (`feeds.last_error`) are made in one place each:
//! [`FetchError`] and [`PolicyError`] for a fetch, [`ParseError`] for a document, and the
//! plan's own sentences (gone, come back later, a document too big to read). They may
//! quote the publisher's server or document, so a public page shows only the category
//! [`Trouble::of_words`] reads back from them. Each typed error also names its category
//! exhaustively ([`Trouble::of_fetch`], [`Trouble::of_parse`]); a native test holds the two
//! readings equal for every variant, so rewording an error cannot silently miscategorize it.

use crate::core::domain::FeedStatus;
use crate::core::feed::ParseError;
use crate::core::fetch::{FetchError, PolicyError};

/// A failing feed's trouble, in categories a reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// The server could not be reached (name resolution, connection, TLS).
    Unreachable,
    /// It did not answer within the fetch deadline.
    TimedOut,
    /// It answered with a 5xx.
    ServerError,
    /// It answered 404.
    NotFound,
    /// It refused with another 4xx (401, 403…).
    Refused,
    /// A bot challenge stood in front of the feed.
    Blocked,
    /// It asked to be read later (429, 503).
    Busy,
    /// Its redirects went nowhere (a loop, too many, no location).
    Redirects,
    /// The document is larger than Orrery reads.
    TooLarge,
    /// The document is not a feed Orrery can read (HTML, broken XML or JSON, empty).
    Unreadable,
    /// Its address is one Orrery does not fetch (private, a port, a scheme, itself).
    Address,
    /// The publisher removed it (410).
    Gone,
    /// Anything else.
    Unknown,
}

impl Trouble {
    /// A fetch's failure, by what it was.
    pub fn of_fetch(e: &FetchError) -> Self {
        match e {
            FetchError::Policy(p) => Self::of_policy(p),
            FetchError::Status(s) => Self::of_status(*s),
            FetchError::Challenge(_) => Self::Blocked,
            FetchError::TooManyRedirects
            | FetchError::RedirectLoop(_)
            | FetchError::BadRedirect => Self::Redirects,
            FetchError::Timeout(_) => Self::TimedOut,
            FetchError::TooLarge => Self::TooLarge,
            FetchError::Network(_) => Self::Unreachable,
        }
    }

    /// An address the policy refused.
    pub fn of_policy(e: &PolicyError) -> Self {
        match e {
            PolicyError::Invalid(_)
            | PolicyError::Scheme(_)
            | PolicyError::Private(_)
            | PolicyError::Credentials
            | PolicyError::Port(_)
            | PolicyError::OwnPlanet(_) => Self::Address,
        }
    }

    /// A document that could not be read.
    pub fn of_parse(e: &ParseError) -> Self {
        match e {
            ParseError::Empty
            | ParseError::Html
            | ParseError::NotAFeed(_)
            | ParseError::BrokenXml { .. }
            | ParseError::BrokenJson(_) => Self::Unreadable,
        }
    }

    /// An HTTP status that is a failure, by its class.
    pub fn of_status(status: u16) -> Self {
        match status {
            404 => Self::NotFound,
            410 => Self::Gone,
            429 | 503 => Self::Busy,
            400..=499 => Self::Refused,
            500..=599 => Self::ServerError,
            _ => Self::Unknown,
        }
    }

    /// The category of a stored error, read from the words the typed errors above and
    /// the plan write (`Unknown` for anything else).
    pub fn of_words(error: &str) -> Self {
        let starts = |p: &str| error.starts_with(p);
        // The plan's sentences (`core::ingest::plan`).
        if starts("the publisher removed this feed") || starts("the server says this feed is gone")
        {
            return Self::Gone;
        }
        if starts("the server asked us to come back later") {
            return Self::Busy;
        }
        if starts("the last attempt to read this document did not finish") {
            return Self::TooLarge;
        }
        // `FetchError`.
        if let Some(rest) = error.strip_prefix("the server answered HTTP ") {
            if error.contains("bot challenge") {
                return Self::Blocked;
            }
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            return digits.parse().map_or(Self::Unknown, Self::of_status);
        }
        if starts("no complete answer within") {
            return Self::TimedOut;
        }
        if starts("the feed is larger than") {
            return Self::TooLarge;
        }
        if starts("could not reach the server") {
            return Self::Unreachable;
        }
        if starts("more than ") && error.ends_with(" redirects")
            || starts("redirect loop at")
            || starts("redirect without")
        {
            return Self::Redirects;
        }
        // `PolicyError`.
        if starts("not a valid URL")
            || starts("only http and https")
            || starts("refusing to fetch")
            || starts("URLs with a user name or password")
            || error.contains(" is this planet's own output")
        {
            return Self::Address;
        }
        // `ParseError`.
        if starts("empty response")
            || starts("this is an HTML page")
            || starts("this is not a feed")
            || starts("the XML is broken")
            || starts("the JSON Feed is broken")
        {
            return Self::Unreadable;
        }
        Self::Unknown
    }

    /// Whether a feed in this state has a trouble worth telling the public: failing (or
    /// never read at all), paused after failures, or gone. A failure or two in a row on an
    /// active feed is weather, not trouble; a feed paused by hand is the operator's choice.
    pub fn shown_for(status: FeedStatus, never_read: bool, has_error: bool) -> bool {
        match status {
            FeedStatus::Failing | FeedStatus::Paused | FeedStatus::Gone => true,
            FeedStatus::Active => never_read && has_error,
            FeedStatus::Held => false,
        }
    }
}
