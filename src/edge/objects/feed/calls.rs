//! The FeedObject's calls (`wire::FeedCall`): init, refresh, ensure, change, delete, describe.

use worker::Response;

use super::{storage, websub, FeedObject};
use crate::core::ingest::{self, Change, Changed, FeedState, Wake};
use crate::edge::env;
use crate::edge::objects::wire::{Adopt, Ensured, FeedCall};
use crate::edge::objects::{rpc, sockets};

impl FeedObject {
    pub(super) async fn call(&self, call: FeedCall) -> worker::Result<Response> {
        let now = env::now_ms();
        match call {
            FeedCall::Init { feed_id, url } => {
                let feed = FeedState::new(feed_id, &url);
                storage::save(&self.state, &feed).await?;
                rpc::reply(&self.refresh(true, Some(feed), None).await?)
            }
            FeedCall::Refresh => rpc::reply(&self.refresh(true, None, None).await?),
            FeedCall::Ensure(adopt) => rpc::reply(&self.ensure(adopt, now).await?),
            FeedCall::Change { change } => rpc::reply(&self.change(change, now).await?),
            FeedCall::Delete => {
                self.removed.set(true);
                let feed = storage::load(&self.state).await?;
                storage::wipe(&self.state).await?;
                websub::leave(&self.state, &self.env, feed.as_ref()).await?;
                sockets::close_all(&self.state, 1001, "feed removed");
                rpc::reply(&())
            }
            // Read only: the stored state, the alarm, the last fetch as memory has it.
            FeedCall::Describe => {
                let feed = storage::load(&self.state).await?;
                let alarm = storage::alarm(&self.state).await?;
                let last = self.last_fetch_at.get();
                rpc::reply(&FeedState::describe(feed.as_ref(), alarm, last))
            }
        }
    }

    /// Cron's watchdog call: adopt an imported feed never run (it fetches on its own alarm),
    /// take D1's settings, re-arm a missing or stuck alarm, renew D1's deadline.
    async fn ensure(&self, adopt: Adopt, now: i64) -> worker::Result<Ensured> {
        let loaded = storage::load(&self.state).await?;
        let mut feed = loaded.unwrap_or_else(|| FeedState::adopted(adopt.feed_id, &adopt.url, now));
        feed.settings = adopt.settings.unwrap_or(feed.settings);
        let watch = ingest::watchdog(&mut feed, storage::alarm(&self.state).await?, now);
        storage::save(&self.state, &feed).await?;
        if let Some(at) = watch.rearm {
            storage::arm(&self.state, Wake::At(at), now).await?;
        }
        Ok(Ensured::from(watch))
    }

    /// The admin changed the feed (settings, held, resumed): refused while a refresh runs.
    async fn change(&self, change: Change, now: i64) -> worker::Result<Result<Changed, String>> {
        let busy = self.busy.get();
        let loaded = storage::load(&self.state).await?;
        let (feed, changed) = ingest::change(loaded, change, busy, now);
        if let Some(feed) = feed {
            storage::save(&self.state, &feed).await?;
            storage::arm(&self.state, feed.next_wake(now), now).await?;
        }
        Ok(changed)
    }
}
