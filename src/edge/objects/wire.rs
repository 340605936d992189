//! Every message between the Worker and the objects, and between objects: a leaf.
//!
//! Nothing here knows a path, a header or a stub (that is `rpc`'s), and nothing here
//! imports another module of the edge: any object and `rpc` may use these types without
//! closing a circle.

use serde::{Deserialize, Serialize};

use crate::core::ingest::{Change, FeedSettings, Watch};
use crate::core::websub::hub::SubscriberIntent;

/// A call to a FeedObject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FeedCall {
    /// A feed just added: remember who we are, then fetch at once. Replies a
    /// `RefreshReport`.
    Init { feed_id: i64, url: String },
    /// Fetch now, even when paused or gone (never when held). Replies a `RefreshReport`.
    Refresh,
    /// Cron's watchdog, for a feed D1 says is overdue: adopt it if new (an OPML import),
    /// re-arm a missing or stuck alarm, and say what D1's deadline should be; `settings`
    /// are D1's (names and filters set at import or since). Replies [`Ensured`].
    Ensure(Adopt),
    /// The admin changed the feed (settings, held, resumed). Replies `Result<Changed, String>`.
    Change { change: Change },
    /// The feed was removed: forget everything and close its sockets.
    Delete,
    /// The admin's feed-health view: what the object knows of itself (its last fetch,
    /// next fetch, status), read without writing anything. Replies `ObjectHealth`.
    Describe,
}

/// Which feed an object is ([`FeedCall::Ensure`]), with its settings as D1 holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adopt {
    pub feed_id: i64,
    pub url: String,
    #[serde(default)]
    pub settings: Option<FeedSettings>,
}

/// The FeedObject's answer to [`FeedCall::Ensure`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Ensured {
    pub armed: bool,
    /// The watchdog deadline D1 should hold (`None`: not scheduled).
    pub overdue_at: Option<i64>,
}

impl From<Watch> for Ensured {
    fn from(watch: Watch) -> Self {
        Ensured {
            armed: watch.overdue_at.is_some(),
            overdue_at: watch.overdue_at,
        }
    }
}

/// A reader's socket request: who the client is, as the Worker tells the object that
/// will hold the socket.
#[derive(Debug, Clone)]
pub struct SocketAsk {
    /// The client's address (its rate-limit key): the socket's tag, and the key of the
    /// per-client cap and of the Room shard.
    pub client: String,
    /// Cap the client's sockets here (off with RATE_LIMITS=off).
    pub capped: bool,
}

/// A WebSub hub's call on a feed's callback, forwarded by the Worker once the callback's
/// token checked out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum WebSubIn {
    /// GET: intent verification; the callback's query string.
    Verify { token: String, query: String },
    /// POST: content; the signature header as the hub sent it.
    Push {
        token: String,
        signature: Option<String>,
    },
}

/// What a request to a FeedObject asks for.
pub enum FeedRequest {
    Call(FeedCall),
    Socket(SocketAsk),
    /// A WebSub hub's call (the body: a delivery's content).
    WebSub(WebSubIn, Vec<u8>),
}

impl FeedRequest {
    /// A short name, for the meter.
    pub fn name(&self) -> &'static str {
        match self {
            FeedRequest::Socket(_) => "socket.connect",
            FeedRequest::WebSub(WebSubIn::Verify { .. }, _) => "websub.verify",
            FeedRequest::WebSub(WebSubIn::Push { .. }, _) => "websub.push",
            FeedRequest::Call(call) => match call {
                FeedCall::Init { .. } => "call.init",
                FeedCall::Refresh => "call.refresh",
                FeedCall::Ensure(_) => "call.ensure",
                FeedCall::Change { .. } => "call.change",
                FeedCall::Delete => "call.delete",
                FeedCall::Describe => "call.describe",
            },
        }
    }
}

/// What a request to a Room asks for.
pub enum RoomRequest {
    /// A reader's socket, optionally following some feeds only.
    Socket {
        feeds: Option<Vec<i64>>,
        ask: SocketAsk,
    },
    /// A FeedObject committed entries: broadcast everything past the cursor.
    Publish,
    /// The Publisher says whether anyone subscribes (to the first shard only).
    WebSubFlag(WebSubFlag),
}

impl RoomRequest {
    /// A short name, for the meter.
    pub fn name(&self) -> &'static str {
        match self {
            RoomRequest::Socket { .. } => "socket.connect",
            RoomRequest::Publish => "call.publish",
            RoomRequest::WebSubFlag(_) => "call.websub_flag",
        }
    }
}

/// What a request to the Publisher asks for.
pub enum PublisherRequest {
    /// A valid subscription request to verify. Replies `Result<(), String>`.
    Intent(SubscriberIntent),
    /// New entries were broadcast. Replies the [`WebSubFlag`].
    Poke,
}

impl PublisherRequest {
    /// A short name, for the meter.
    pub fn name(&self) -> &'static str {
        match self {
            PublisherRequest::Intent(_) => "call.intent",
            PublisherRequest::Poke => "call.poke",
        }
    }
}

/// Whether the Room should poke the Publisher after a broadcast: someone is subscribed.
/// The Publisher tells the Room when that changes and answers every poke with it, so a
/// planet nobody subscribes to spends no Durable Object request per publish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSubFlag {
    pub on: bool,
    /// Grows with every change, so the Room keeps the newest it heard of.
    pub version: u64,
}
