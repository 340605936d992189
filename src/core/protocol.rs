//! The WebSocket protocol (version 1): typed messages both ways.
//!
//! And the limits the server enforces.

use serde::{Deserialize, Serialize};

mod budget;
pub use budget::{
    resume_rows, room_entries_per_invocation, within_reach, ClientBudgets, ClientVerdict,
    QueryBudget, CLIENT_BAN_MS, CLIENT_BURST, CLIENT_FRAME_INTERVAL_MS, CLOSE_CLIENT_FLOOD,
    CLOSE_PLANET_BUSY, MAX_RESUME_REACH, PLANET_FRAME_BURST, PLANET_FRAME_INTERVAL_MS,
    ROOM_QUERIES_PER_INVOCATION, ROOM_SENDS_PER_INVOCATION, ROWS_PER_UNIT,
};

use crate::core::search::live_query::{LiveDoc, LiveQuery};
use crate::core::view_models::EntryView;

pub const PROTOCOL: u32 = 1;
/// Frames larger than this are closed with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Bad frames tolerated before the socket is closed with 1008.
pub const MAX_BAD_FRAMES: u32 = 5;
/// Frames per rate window before the socket is closed with 1008.
pub const MAX_FRAMES_PER_WINDOW: u32 = 40;
pub const RATE_WINDOW_MS: i64 = 1_000;
/// Entries sent for one `resume` at most; a client further behind reloads the page.
pub const MAX_RESUME_ENTRIES: u32 = 100;
/// `update` frames sent for one `resume` at most (the rest on the next resume).
pub const MAX_RESUME_UPDATES: u32 = 100;
/// Feed ids one `subscribe` (or `?feeds=`) may name: a reader follows a few feeds, and
/// the list lives in the socket's attachment (see [`MAX_ATTACHMENT_JSON_BYTES`]).
pub const MAX_SUBSCRIBED_FEEDS: usize = 32;
/// Feed ids are `1..MAX_FEED_ID` (D1's `D1Type::Integer` is an i32; no planet has 2^31
/// feeds), so an id is at most ten digits in an attachment.
pub const MAX_FEED_ID: i64 = 1 << 31;
/// workerd refuses a socket attachment past 2,048 bytes (its structured clone); a
/// [`SocketState`] is kept under this many bytes of JSON, which leaves room for the
/// clone's own framing. The largest state possible fits (a test builds it).
pub const MAX_ATTACHMENT_JSON_BYTES: usize = 1_536;
/// `resume`s one socket may ask for per [`RESUME_WINDOW_MS`] (each can cost several
/// D1 reads and 500 rendered entries).
pub const MAX_RESUMES_PER_WINDOW: u32 = 4;
pub const RESUME_WINDOW_MS: i64 = 60_000;
/// Sockets one client address may hold on one object (placed on one shard by address).
pub const MAX_SOCKETS_PER_CLIENT: usize = 20;

pub const CLOSE_POLICY: u16 = 1008;
pub const CLOSE_TOO_BIG: u16 = 1009;

/// A feed list a socket may follow: at most [`MAX_SUBSCRIBED_FEEDS`] ids, each in
/// `1..MAX_FEED_ID`.
pub fn check_feeds(feeds: &[i64]) -> Result<(), String> {
    if feeds.len() > MAX_SUBSCRIBED_FEEDS {
        return Err(format!("at most {MAX_SUBSCRIBED_FEEDS} feeds"));
    }
    match feeds.iter().find(|&&id| !(1..MAX_FEED_ID).contains(&id)) {
        Some(id) => Err(format!("feed ids are 1 to {}, got {id}", MAX_FEED_ID - 1)),
        None => Ok(()),
    }
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerMsg {
    Hello {
        protocol: u32,
        latest: i64,
        clients: u32,
        /// The newest revision broadcast here: a client that keeps the largest
        /// `entry.rev` it saw resumes updates from it.
        #[serde(default)]
        revision: i64,
    },
    Entry {
        entry: EntryView,
        html: String,
    },
    /// An entry the reader may have on screen was rewritten (its body completed, or the
    /// publisher edited it): same `entry.id`, new content; replace it in place. Clients
    /// that do not know this frame ignore it (they keep the earlier version).
    Update {
        entry: EntryView,
        html: String,
    },
    /// A new entry is another member's copy of an article the planet already shows
    /// (`core::ingest::same`): the river shows it once, under the copy `into` (the entry
    /// id on screen), now naming this member too. `html` is that article's "also posted
    /// by" line, to put in place of the one it has (or to add). Sent instead of `entry`
    /// to sockets that follow the whole planet; a socket following some feeds gets the
    /// entry. Clients that do not know this frame ignore it (the river's next load shows
    /// the names).
    Merge {
        into: i64,
        entry: EntryView,
        html: String,
    },
    Synced {
        latest: i64,
        /// With a `resume` that named a `revision`: how far its updates went.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision: Option<i64>,
    },
    Subscribed {
        feeds: Option<Vec<i64>>,
        /// The followed search as understood (words folded, one per phrase), absent
        /// when none is followed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        q: Option<String>,
    },
    Error {
        code: String,
        message: String,
    },
    /// A `resume` reached back further than [`MAX_RESUME_REACH`] ids (or revisions): the
    /// page is too old to catch up frame by frame; reload it (or read `/api/entries`). The
    /// socket stays live from `latest` (and `revision`) on.
    Reload {
        latest: i64,
        revision: i64,
    },
}

impl ServerMsg {
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        ServerMsg::Error {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        // Serializing these plain structs cannot fail; fall back to a valid frame anyway.
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","code":"internal","message":"encoding failed"}"#.into()
        })
    }
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientMsg {
    /// Send every entry with an id larger than `since`, oldest first; with `revision`,
    /// then every entry up to `since` rewritten after that revision (as `update`
    /// frames); then `synced`.
    Resume {
        since: i64,
        #[serde(default)]
        revision: Option<i64>,
    },
    /// Only receive entries of these feeds (`null` or absent: everything) that match the
    /// search `q` (absent: every entry), in `/search`'s query language. Replaces the
    /// previous subscription whole.
    Subscribe {
        #[serde(default)]
        feeds: Option<Vec<i64>>,
        #[serde(default)]
        q: Option<String>,
    },
}

/// Why a client frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame larger than {MAX_FRAME_BYTES} bytes")]
    TooBig,
    #[error("binary frames are not part of protocol 1")]
    Binary,
    #[error("not a protocol 1 message: {0}")]
    Invalid(String),
}

impl FrameError {
    /// The error frame's code (protocol 1 documents `bad_frame` for every refused frame
    /// that is answered; an oversize frame is never answered, it closes with 1009).
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::TooBig => "too_big",
            FrameError::Binary | FrameError::Invalid(_) => "bad_frame",
        }
    }
}

/// A WebSocket close reason may be at most 123 bytes; a longer one makes `close` throw
/// and the socket stays open. Error messages are kept under it too (and never echo a
/// client's 64 KiB back).
pub const MAX_REASON_BYTES: usize = 123;

/// `text` cut to at most `max` bytes, on a character boundary, marked with `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Parses a text frame from a client.
pub fn parse_client(text: &str) -> Result<ClientMsg, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooBig);
    }
    let msg: ClientMsg = serde_json::from_str(text).map_err(|e| {
        // serde quotes the offending field or variant name, which the client chose.
        let why = clip(
            &e.to_string(),
            MAX_REASON_BYTES - "not a protocol 1 message: ".len(),
        );
        FrameError::Invalid(why)
    })?;
    match &msg {
        ClientMsg::Resume { since, revision } if *since < 0 || revision.is_some_and(|r| r < 0) => {
            Err(FrameError::Invalid(
                "since and revision must be 0 or more".into(),
            ))
        }
        ClientMsg::Subscribe { feeds: Some(f), .. } => match check_feeds(f) {
            Ok(()) => Ok(msg),
            Err(why) => Err(FrameError::Invalid(why)),
        },
        _ => Ok(msg),
    }
}

/// Per-socket state kept in the socket attachment, so it survives hibernation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SocketState {
    pub protocol: u32,
    /// `None`: every feed.
    pub feeds: Option<Vec<i64>>,
    /// The largest entry id sent to this socket.
    pub last_sent: i64,
    pub bad_frames: u32,
    pub window_start: i64,
    pub window_frames: u32,
    /// A resume is being answered (saved before its D1 reads, so pipelined resumes
    /// see it and are refused).
    #[serde(default)]
    pub resuming: bool,
    #[serde(default)]
    pub resume_window_start: i64,
    #[serde(default)]
    pub resumes_in_window: u32,
    /// The followed search (parsed once, when subscribing); absent: every entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<LiveQuery>,
}

/// Why a `resume` is refused (an error frame; repeated, it counts as abuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeRefused {
    #[error("a resume is already being answered on this socket")]
    Busy,
    #[error("at most {MAX_RESUMES_PER_WINDOW} resumes a minute; the socket stays live meanwhile")]
    TooOften,
}

impl ResumeRefused {
    pub fn code(self) -> &'static str {
        match self {
            ResumeRefused::Busy => "resume_busy",
            ResumeRefused::TooOften => "resume_rate",
        }
    }
}

/// A client frame as it arrived (a binary frame only by its length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    Text(&'a str),
    Binary(usize),
}

/// What the socket's reader decided for one frame. The state has been updated: save it
/// before any await.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Close the socket with this code and reason (at most [`MAX_REASON_BYTES`]).
    Close(u16, String),
    /// Send this frame: a reply, or an error frame.
    Reply(ServerMsg),
    /// Answer a resume from `since` (and updates after `revision`, when asked; the
    /// socket is marked as resuming); call [`SocketState::end_resume`] when done.
    Resume { since: i64, revision: Option<i64> },
}

/// What to do with a socket after counting one more frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Close(u16),
}

impl SocketState {
    pub fn new(feeds: Option<Vec<i64>>) -> Self {
        Self {
            protocol: PROTOCOL,
            feeds,
            ..Self::default()
        }
    }

    /// Does this state fit in a socket attachment ([`MAX_ATTACHMENT_JSON_BYTES`])? Always,
    /// for a state this module built: the limits on feeds and on `q` see to it.
    pub fn fits(&self) -> bool {
        serde_json::to_vec(self).is_ok_and(|v| v.len() <= MAX_ATTACHMENT_JSON_BYTES)
    }

    /// Does this socket want entries of `feed_id`?
    pub fn wants(&self, feed_id: i64) -> bool {
        self.feeds.as_ref().is_none_or(|f| f.contains(&feed_id))
    }

    /// Does this socket want this entry of `feed_id`? `doc` makes the entry's index text,
    /// asked for only when the feed is wanted and a search is followed (the caller makes
    /// it once per entry, for every socket).
    pub fn wants_entry<'d>(&self, feed_id: i64, doc: impl FnOnce() -> &'d LiveDoc) -> bool {
        self.wants(feed_id) && self.q.as_ref().is_none_or(|q| q.matches(doc()))
    }

    /// Counts a frame against the flood limit.
    pub fn count_frame(&mut self, now_ms: i64) -> Verdict {
        if now_ms - self.window_start >= RATE_WINDOW_MS {
            self.window_start = now_ms;
            self.window_frames = 0;
        }
        self.window_frames += 1;
        if self.window_frames > MAX_FRAMES_PER_WINDOW {
            Verdict::Close(CLOSE_POLICY)
        } else {
            Verdict::Ok
        }
    }

    /// Starts answering a resume, or says why not. Call (and save the state) before any
    /// await, so a pipelined resume sees it; [`SocketState::end_resume`] when done.
    pub fn begin_resume(&mut self, now_ms: i64) -> Result<(), ResumeRefused> {
        if self.resuming {
            return Err(ResumeRefused::Busy);
        }
        if now_ms - self.resume_window_start >= RESUME_WINDOW_MS {
            self.resume_window_start = now_ms;
            self.resumes_in_window = 0;
        }
        if self.resumes_in_window >= MAX_RESUMES_PER_WINDOW {
            return Err(ResumeRefused::TooOften);
        }
        self.resumes_in_window += 1;
        self.resuming = true;
        Ok(())
    }

    /// A resume was answered up to `latest`.
    pub fn end_resume(&mut self, latest: i64) {
        self.resuming = false;
        self.last_sent = latest;
    }

    /// Reads one client frame at `now_ms`: counts it, parses it and applies the limits.
    /// `fixed_feed`: the socket follows one feed (it cannot `subscribe`).
    pub fn read(&mut self, frame: Frame<'_>, now_ms: i64, fixed_feed: bool) -> Action {
        if let Verdict::Close(code) = self.count_frame(now_ms) {
            return Action::Close(code, "too many frames".into());
        }
        let parsed = match frame {
            Frame::Text(text) => parse_client(text),
            Frame::Binary(len) if len > MAX_FRAME_BYTES => Err(FrameError::TooBig),
            Frame::Binary(_) => Err(FrameError::Binary),
        };
        match parsed {
            Err(err) => self.refuse(err.code(), &err.to_string(), &err),
            Ok(ClientMsg::Subscribe { feeds: Some(_), .. }) if fixed_feed => {
                Action::Reply(ServerMsg::error(
                    "bad_frame",
                    "this socket follows one feed; use /ws to choose feeds",
                ))
            }
            Ok(ClientMsg::Subscribe { feeds, q }) => {
                let q = match q.as_deref().map(LiveQuery::parse).transpose() {
                    Ok(q) => q,
                    Err(why) => {
                        let err = FrameError::Invalid(why.to_string());
                        return self.refuse(why.code(), &why.to_string(), &err);
                    }
                };
                let echo = q.as_ref().map(LiveQuery::text);
                let before = (self.feeds.clone(), self.q.clone());
                // A feed's own socket keeps its one feed.
                if !fixed_feed {
                    self.feeds = feeds;
                }
                self.q = q;
                if !self.fits() {
                    // Unreachable within the limits; never let a state that cannot be
                    // saved switch the counting off.
                    (self.feeds, self.q) = before;
                    let err = FrameError::Invalid("subscription too large".into());
                    return self.refuse("bad_frame", "subscription too large", &err);
                }
                Action::Reply(ServerMsg::Subscribed {
                    feeds: self.feeds.clone(),
                    q: echo,
                })
            }
            Ok(ClientMsg::Resume { since, revision }) => match self.begin_resume(now_ms) {
                Ok(()) => Action::Resume { since, revision },
                Err(why) => {
                    let err = FrameError::Invalid(why.to_string());
                    self.refuse(why.code(), &why.to_string(), &err)
                }
            },
        }
    }

    /// An error frame for a refused frame, or a close when it was one bad frame too many.
    fn refuse(&mut self, code: &str, message: &str, counted_as: &FrameError) -> Action {
        let message = clip(message, MAX_REASON_BYTES);
        match self.count_bad(counted_as) {
            Verdict::Close(c) => Action::Close(c, message),
            Verdict::Ok => Action::Reply(ServerMsg::error(code, message)),
        }
    }

    /// Counts a bad frame; too many and the socket is closed.
    pub fn count_bad(&mut self, err: &FrameError) -> Verdict {
        if *err == FrameError::TooBig {
            return Verdict::Close(CLOSE_TOO_BIG);
        }
        self.bad_frames += 1;
        if self.bad_frames >= MAX_BAD_FRAMES {
            Verdict::Close(CLOSE_POLICY)
        } else {
            Verdict::Ok
        }
    }
}

#[cfg(test)]
mod tests;
