//! The Publisher's own storage: its keys and its alarm; nobody else writes them.
//!
//! Storage is the object's key-value API: one key per subscription, pending verification
//! and external-hub ping (JSON text, under the prefixes below; each key itself is
//! `core::websub::hub`'s), the scan head and the flag. A run collects its writes in
//! [`Changes`] and applies them at its end in two calls.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{js_sys, ListOptions, State};

use crate::core::websub::hub::SubscriberIntent;
use crate::edge::objects::wire::WebSubFlag;
use crate::edge::{env, meter};

/// Subscriptions (`Subscriber::key`).
pub const SUBSCRIPTIONS: &str = "sub:";
/// Intents waiting for verification (`SubscriberIntent::key`).
pub const INTENTS: &str = "intent:";
/// Pings owed to the external hub (`Ping::key`).
pub const PINGS: &str = "ping:";
/// Largest entry id scanned for new topics (absent: start at the newest entry).
const HEAD_KEY: &str = "head";
const FLAG_KEY: &str = "flag";
/// How many subscriptions there are, kept by each run, so a request is weighed without
/// listing them all.
const COUNT_KEY: &str = "count";
/// An alarm is never set closer than this.
const MIN_ALARM_MS: i64 = 100;

/// Writes one run makes, applied at its end in two calls.
#[derive(Default)]
pub struct Changes {
    put: BTreeMap<String, String>,
    delete: Vec<String>,
}

impl Changes {
    pub fn put<T: Serialize>(&mut self, key: String, value: &T) {
        if let Ok(text) = serde_json::to_string(value) {
            self.delete.retain(|k| *k != key);
            self.put.insert(key, text);
        }
    }

    pub fn delete(&mut self, key: String) {
        self.put.remove(&key);
        self.delete.push(key);
    }

    /// The scan starts at the present when someone next subscribes.
    pub fn forget_head(&mut self) {
        self.delete(HEAD_KEY.into());
    }

    pub fn set_head(&mut self, head: i64) {
        self.put(HEAD_KEY.into(), &head);
    }

    pub fn set_count(&mut self, count: usize) {
        self.put(COUNT_KEY.into(), &count);
    }
}

/// Every value under `prefix`, parsed (a value that no longer parses is skipped).
pub async fn list<T: DeserializeOwned>(
    state: &State,
    prefix: &str,
) -> worker::Result<Vec<(String, T)>> {
    let map = state
        .storage()
        .list_with_options(ListOptions::new().prefix(prefix))
        .await?;
    let mut out = Vec::new();
    map.for_each(&mut |value, key| {
        let (Some(key), Some(text)) = (key.as_string(), value.as_string()) else {
            return;
        };
        match serde_json::from_str(&text) {
            Ok(v) => out.push((key, v)),
            Err(e) => worker::console_warn!("websub: unreadable {key}: {e}"),
        }
    });
    meter::kv("publisher.list", out.len().max(1) as u32, 0);
    Ok(out)
}

/// Writes one run's changes: the deletions, then the puts, a call each.
pub async fn apply(state: &State, changes: Changes) -> worker::Result<()> {
    let storage = state.storage();
    if !changes.delete.is_empty() {
        meter::kv("publisher.delete", 0, changes.delete.len() as u32);
        storage.delete_multiple(changes.delete).await?;
    }
    if !changes.put.is_empty() {
        meter::kv("publisher.put", 0, changes.put.len() as u32);
        // A plain object of key → JSON text (serde would make a JS `Map`, which
        // `put` does not take as a set of keys).
        let values = js_sys::Object::new();
        for (key, text) in changes.put {
            js_sys::Reflect::set(&values, &key.into(), &text.into())?;
        }
        storage.put_multiple_raw(values).await?;
    }
    Ok(())
}

/// The scan head (stored as JSON text, like every value [`Changes`] writes).
pub async fn head(state: &State) -> worker::Result<Option<i64>> {
    meter::kv("publisher.head.get", 1, 0);
    let stored = state.storage().get::<String>(HEAD_KEY).await?;
    Ok(stored.and_then(|text| serde_json::from_str::<i64>(&text).ok()))
}

/// How many subscriptions the last run left (`None`: never counted).
pub async fn count(state: &State) -> worker::Result<Option<usize>> {
    meter::kv("publisher.count.get", 1, 0);
    let stored = state.storage().get::<String>(COUNT_KEY).await?;
    Ok(stored.and_then(|text| serde_json::from_str::<usize>(&text).ok()))
}

/// Queues an intent for verification (replacing a waiting one for the same subscription).
pub async fn put_intent(state: &State, intent: &SubscriberIntent) -> worker::Result<()> {
    let text = serde_json::to_string(intent).map_err(|e| e.to_string())?;
    meter::kv("publisher.intent.put", 0, 1);
    state.storage().put(&intent.key(), text).await
}

/// Takes intents off the queue (before they are verified).
pub async fn forget_intents(state: &State, keys: Vec<String>) -> worker::Result<()> {
    meter::kv("publisher.intent.delete", 0, keys.len() as u32);
    state.storage().delete_multiple(keys).await?;
    Ok(())
}

/// The flag as last told to the Room (never told: off, version 0).
pub async fn flag(state: &State) -> worker::Result<WebSubFlag> {
    meter::kv("publisher.flag.get", 1, 0);
    Ok(state
        .storage()
        .get::<WebSubFlag>(FLAG_KEY)
        .await?
        .unwrap_or_default())
}

/// Records the flag the Room was just told.
pub async fn save_flag(state: &State, flag: WebSubFlag) -> worker::Result<()> {
    meter::kv("publisher.flag.put", 0, 1);
    state.storage().put(FLAG_KEY, flag).await
}

/// Makes the alarm ring at `at` or sooner (never later than it is already set for).
pub async fn arm_at(state: &State, at: i64) -> worker::Result<()> {
    let storage = state.storage();
    meter::kv("publisher.alarm.get", 1, 0);
    if storage.get_alarm().await?.is_some_and(|set| set <= at) {
        return Ok(());
    }
    meter::kv("publisher.alarm.set", 0, 1);
    storage
        .set_alarm((at - env::now_ms()).max(MIN_ALARM_MS))
        .await
}
