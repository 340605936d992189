//! Limits wider than one socket: a client address's frames across all its sockets, how
//! far back a resume may reach, and the D1 queries one Room invocation may make.

use std::collections::HashMap;

use super::{MAX_RESUME_ENTRIES, MAX_RESUME_UPDATES, MAX_SOCKETS_PER_CLIENT};

/// Frames one client address may send at once across all its sockets on one object (pings
/// are answered without waking it and never count): twenty tabs reconnecting together each
/// send a `subscribe` and a `resume`, with room to spare.
pub const CLIENT_BURST: u32 = 2 * MAX_SOCKETS_PER_CLIENT as u32 + 8;
/// Past the burst, one frame per this many ms (five per 10 s) for the whole address.
pub const CLIENT_FRAME_INTERVAL_MS: i64 = 2_000;
/// An address over its budget has every socket here closed with [`CLOSE_CLIENT_FLOOD`];
/// for this long its frames are dropped unread and its new sockets refused (429).
pub const CLIENT_BAN_MS: i64 = 60_000;
/// The close code for an address over its frame budget (documented in docs/protocol.md;
/// the page's script waits out [`CLIENT_BAN_MS`] before it reconnects).
pub const CLOSE_CLIENT_FLOOD: u16 = 4429;
/// Frames every address together may send one object at once (a reconnect wave after a
/// deploy: a thousand readers each resume and perhaps subscribe), then one per this many ms
/// (300 a minute). Frames are billed 20:1, so this bounds what a thousand addresses, each
/// within its own budget, spend of the day's DO requests: 22 % at most.
pub const PLANET_FRAME_BURST: u32 = 2_000;
pub const PLANET_FRAME_INTERVAL_MS: i64 = 200;
/// The close code for a socket whose frame went over every address's budget together
/// (documented in docs/protocol.md; the page's script waits a minute, as after 4429).
pub const CLOSE_PLANET_BUSY: u16 = 4503;

/// Addresses tracked before idle ones are forgotten (a full budget is no budget).
const MAX_TRACKED_CLIENTS: usize = 4_096;

/// How far back a `resume` that cannot stop at its cap may reach, in entry ids and in
/// revisions, so it reads at most this many rows. A client further behind gets `reload`.
pub const MAX_RESUME_REACH: i64 = MAX_RESUME_ENTRIES as i64;

/// What one unit of the public budget (`PUBLIC_LIMIT`, `PLANET_LIMIT`) stands for: a
/// hundred-thousandth of a Free daily figure, i.e. this many D1 rows read, or one Durable
/// Object request. HTTP misses spend it by route (`core::routes::Route::weight`), resumes
/// by the distance they read ([`resume_units`]).
pub const ROWS_PER_UNIT: u32 = 50;

/// D1 rows one resumed entry or update reads at most: its index entry and its row (the
/// feed's row comes from the same page of the join, counted apart by D1 only once per feed).
const ROWS_PER_RESUMED: u32 = 2;

/// The D1 rows a resume from `since` (and updates after `revision`) up to the newest
/// `(upto, rev_upto)` may read: its caps at most, however far behind the client is; none
/// when there is nothing to send. [`ClientBudgets::owe`] turns rows into units.
pub fn resume_rows(since: i64, revision: Option<i64>, (upto, rev_upto): (i64, i64)) -> u32 {
    let behind =
        |from: i64, to: i64, cap: u32| to.saturating_sub(from).clamp(0, i64::from(cap)) as u32;
    let entries = behind(since, upto, MAX_RESUME_ENTRIES);
    let updates = revision.map_or(0, |r| behind(r, rev_upto, MAX_RESUME_UPDATES));
    ROWS_PER_RESUMED * (entries + updates)
}

/// Frames one Room invocation may send (entries × sockets): each send is a JS call and its
/// frame's share of the search text, so past this an invocation would pass the Free plan's
/// 10 ms of CPU (bench/RESULTS.md "CPU per invocation": 50 entries to 1,000 sockets took
/// 13 ms at p99). The rest is carried by the Room's alarm.
pub const ROOM_SENDS_PER_INVOCATION: u32 = 20_000;

/// Entries (or rewrites) one Room invocation may broadcast to `sockets` sockets: at least
/// one, so a catch-up always moves on.
pub fn room_entries_per_invocation(sockets: usize) -> u32 {
    let sockets = u32::try_from(sockets.max(1)).unwrap_or(u32::MAX);
    (ROOM_SENDS_PER_INVOCATION / sockets).max(1)
}

/// D1 queries one Room invocation may make (the platform allows 50 per invocation; the
/// rest is for the cursors' first reads). What is left is carried by the Room's alarm.
pub const ROOM_QUERIES_PER_INVOCATION: u32 = 40;

/// Is a resume from `since` (and, when asked, updates after `revision`) of `feeds` (`None`:
/// every feed) within reach of the newest id and revision `(upto, rev_upto)` this object
/// has broadcast? Entries of every feed, or of one, are read in id order and stop at the
/// resume's cap, from however far back; entries of several feeds are read whole per feed
/// and merged, and updates of some feeds are read in revision order and matched after:
/// those must be near.
pub fn within_reach(
    since: i64,
    revision: Option<i64>,
    (upto, rev_upto): (i64, i64),
    feeds: Option<&[i64]>,
) -> bool {
    let near = |from: i64, to: i64| to.saturating_sub(from) <= MAX_RESUME_REACH;
    let entries = feeds.is_none_or(|f| f.len() <= 1) || near(since, upto);
    let updates = feeds.is_none() || revision.is_none_or(|r| near(r, rev_upto));
    entries && updates
}

/// What to do with a frame from a client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientVerdict {
    /// Within the address's budget: read the frame.
    Ok,
    /// This frame went over: close every socket of the address, read nothing.
    Close,
    /// This frame went over every address's budget together: close this socket only
    /// ([`CLOSE_PLANET_BUSY`]), read nothing.
    PlanetBusy,
    /// The address is closed off already: drop the frame unread.
    Banned,
}

/// Per client address: a generic cell rate (the theoretical arrival time of the next
/// frame) and the end of a ban.
#[derive(Debug, Clone, Copy, Default)]
struct Budget {
    tat: i64,
    banned_until: i64,
    /// Rows read by resumes not yet charged as a whole unit (under [`ROWS_PER_UNIT`]).
    rows_owed: u32,
}

/// Frame budgets of the client addresses with sockets on one object. Kept in memory:
/// hibernation drops it, which only forgives (an object hibernates only when no frame
/// has come for a while, so a flood never gets there); never a storage write per frame.
#[derive(Debug, Default)]
pub struct ClientBudgets {
    clients: HashMap<String, Budget>,
    /// Every address together: the theoretical arrival time of the next frame.
    planet_tat: i64,
}

impl ClientBudgets {
    /// Counts one frame from `client` at `now_ms`.
    pub fn count(&mut self, client: &str, now_ms: i64) -> ClientVerdict {
        if self.clients.len() >= MAX_TRACKED_CLIENTS && !self.clients.contains_key(client) {
            self.forget_idle(now_ms);
        }
        let b = self.clients.entry(client.to_owned()).or_default();
        if now_ms < b.banned_until {
            return ClientVerdict::Banned;
        }
        let tat = b.tat.max(now_ms);
        if tat - now_ms > i64::from(CLIENT_BURST - 1) * CLIENT_FRAME_INTERVAL_MS {
            b.banned_until = now_ms + CLIENT_BAN_MS;
            // Back with an empty budget after the ban: half the burst refills meanwhile.
            b.tat = tat;
            return ClientVerdict::Close;
        }
        let planet = self.planet_tat.max(now_ms);
        if planet - now_ms > i64::from(PLANET_FRAME_BURST - 1) * PLANET_FRAME_INTERVAL_MS {
            // Not the address's fault alone: its budget is not spent, this socket closes.
            return ClientVerdict::PlanetBusy;
        }
        self.planet_tat = planet + PLANET_FRAME_INTERVAL_MS;
        b.tat = tat + CLIENT_FRAME_INTERVAL_MS;
        ClientVerdict::Ok
    }

    /// Adds `rows` a resume of `client` may read to what it owes; returns the whole units
    /// now due, to spend from its public budget and then [`Self::settle`]. A resume of a few
    /// entries after a short absence thus costs a fraction of a unit, never a whole one.
    /// What is owed stays owed until settled, so resumes running meanwhile see it due too
    /// (concurrency can overcharge, never let rows slip by). An address forgotten (idle, or
    /// the object hibernated) is forgiven under a unit.
    pub fn owe(&mut self, client: &str, rows: u32) -> u32 {
        let b = self.clients.entry(client.to_owned()).or_default();
        b.rows_owed = b.rows_owed.saturating_add(rows);
        b.rows_owed / ROWS_PER_UNIT
    }

    /// Settles an [`Self::owe`] of `rows` that came to `units`: paid, those units leave the
    /// debt; refused (nothing was read), the rows do.
    pub fn settle(&mut self, client: &str, rows: u32, units: u32, paid: bool) {
        if let Some(b) = self.clients.get_mut(client) {
            let off = if paid { units * ROWS_PER_UNIT } else { rows };
            b.rows_owed = b.rows_owed.saturating_sub(off);
        }
    }

    /// Is `client` closed off at `now_ms` (its new sockets refused)?
    pub fn banned(&self, client: &str, now_ms: i64) -> bool {
        self.clients
            .get(client)
            .is_some_and(|b| now_ms < b.banned_until)
    }

    /// Forgets the addresses whose budget is full again and which are not banned.
    fn forget_idle(&mut self, now_ms: i64) {
        self.clients
            .retain(|_, b| b.tat > now_ms || b.banned_until > now_ms);
    }

    /// How many addresses are tracked.
    pub fn tracked(&self) -> usize {
        self.clients.len()
    }
}

/// D1 queries left to one invocation.
#[derive(Debug, Clone, Copy)]
pub struct QueryBudget {
    left: u32,
    spent: u32,
}

impl QueryBudget {
    pub fn new(queries: u32) -> Self {
        Self {
            left: queries,
            spent: 0,
        }
    }

    /// Takes one query from the budget; false (and nothing taken) when none is left.
    pub fn spend(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        self.spent += 1;
        true
    }

    pub fn spent(&self) -> u32 {
        self.spent
    }
}
