//! The Publisher: Orrery as a WebSub hub for its own feeds, one Durable Object.
//!
//! It verifies subscribers of the planet's feeds, keeps their subscriptions and pushes each
//! new entry to them as a signed fat ping, retried by alarm; or pings the external hub
//! `WEBSUB_HUB` names. Every decision is `core::websub::hub`'s.
//!
//! Budget: the Room pokes this object after a broadcast only while someone is subscribed
//! (or an external hub is set). The object tells the Room when that changes (a
//! `wire::WebSubFlag`, versioned so a late answer cannot undo a newer one), and answers
//! every poke with it, so a planet nobody subscribes to spends no Durable Object request
//! per publish. The shell is here (calls, the alarm, the flag); its storage in `storage`,
//! its work in `delivery`.

mod delivery;
mod storage;

use std::cell::Cell;

use worker::{durable_object, DurableObject, Env, Request, Response, State};

use crate::core::websub::hub::{
    admit, bucket_prefix, host_bucket, Held, Subscriber, SubscriberIntent,
};
use crate::edge::error::AppResult;
use crate::edge::objects::rpc;
use crate::edge::objects::wire::{PublisherRequest, WebSubFlag};
use crate::edge::{env, meter};
use delivery::CARRY_MS;
use storage::{INTENTS, SUBSCRIPTIONS};

#[durable_object]
pub struct Publisher {
    state: State,
    env: Env,
    running: Cell<bool>,
}

impl DurableObject for Publisher {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            running: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let cid = meter::cid_of(&req);
        let request = rpc::read_publisher_request(&mut req).await;
        let name = request.as_ref().map_or("bad", PublisherRequest::name);
        meter::invocation(&self.env, "publisher", name, cid, self.serve(request)).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        meter::invocation(&self.env, "publisher", "alarm", None, self.on_alarm()).await
    }
}

impl Publisher {
    /// Checks the per-host limits and queues the verification.
    async fn take_intent(&self, intent: SubscriberIntent) -> worker::Result<Result<(), String>> {
        // One domain's keys, not every key: subscriptions are stored under their bucket.
        let bucket = host_bucket(&intent.host);
        let subs: Vec<(String, Subscriber)> =
            storage::list(&self.state, &bucket_prefix(SUBSCRIPTIONS, &intent.host)).await?;
        let subs_total = match storage::count(&self.state).await? {
            Some(n) => n,
            None => storage::list::<Subscriber>(&self.state, SUBSCRIPTIONS)
                .await?
                .len(),
        };
        // Intents are few (at most MAX_INTENTS): all of them, for the total.
        let intents: Vec<(String, SubscriberIntent)> = storage::list(&self.state, INTENTS).await?;
        let others: Vec<&SubscriberIntent> = intents
            .iter()
            .filter(|(k, _)| *k != intent.key())
            .map(|(_, i)| i)
            .collect();
        let held = Held {
            subs_total,
            subs_for_host: subs.len(),
            intents_for_host: others
                .iter()
                .filter(|i| host_bucket(&i.host) == bucket)
                .count(),
            intents_total: others.len(),
            renewal: subs.iter().any(|(k, _)| *k == intent.sub_key()),
        };
        if let Err(e) = admit(&intent, &held) {
            return Ok(Err(e.to_string()));
        }
        storage::put_intent(&self.state, &intent).await?;
        storage::arm_at(&self.state, env::now_ms()).await?;
        Ok(Ok(()))
    }

    /// Records whether anyone is subscribed and, when that changed, tells the Room.
    /// False when the Room could not be told (the run tries again).
    async fn set_flag(&self, on: bool) -> bool {
        let Ok(old) = storage::flag(&self.state).await else {
            return false;
        };
        if old.on == on && old.version > 0 {
            return true;
        }
        let new = WebSubFlag {
            on,
            version: old.version + 1,
        };
        match rpc::room_websub_flag(&self.env, new).await {
            Ok(()) => storage::save_flag(&self.state, new).await.is_ok(),
            Err(e) => {
                worker::console_warn!("websub: could not tell the room: {e}");
                false
            }
        }
    }
}

/// The bodies of the object's entry points, each run inside its metered invocation.
impl Publisher {
    /// One request to this object (its invocation is metered by `fetch`).
    async fn serve(&self, request: AppResult<PublisherRequest>) -> worker::Result<Response> {
        match request {
            Ok(PublisherRequest::Intent(intent)) => rpc::reply(&self.take_intent(intent).await?),
            Ok(PublisherRequest::Poke) => {
                storage::arm_at(&self.state, env::now_ms()).await?;
                rpc::reply(&storage::flag(&self.state).await?)
            }
            Err(e) => Ok(e.to_json_response()),
        }
    }

    /// The object's alarm (metered by `alarm`).
    async fn on_alarm(&self) -> worker::Result<Response> {
        if self.running.replace(true) {
            storage::arm_at(&self.state, env::now_ms() + CARRY_MS).await?;
            return Response::ok("busy");
        }
        let result = self.run().await;
        self.running.set(false);
        if let Err(e) = &result {
            worker::console_error!("websub publisher: {e}");
            // Retried by the runtime's alarm retries; nothing is lost (cursors were not moved).
        }
        result?;
        Response::ok("published")
    }
}
