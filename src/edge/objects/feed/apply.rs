//! Writing one plan: D1 first, then the object's rows, the publish, the alarm.

use worker::D1Database;

use super::{storage, FeedObject};
use crate::core::ingest::{self, Plan, PlatformTrouble, RefreshReport, Wake};
use crate::edge::objects::{rpc, sockets};
use crate::edge::{d1, env, zone};

impl FeedObject {
    /// Writes a plan: the D1 batch first (if the platform refuses it, the refresh is held
    /// and nothing else is written), then seen and carried rows, the state if it changed;
    /// then publishes new entries and sets the alarm.
    pub(super) async fn apply(
        &self,
        mut plan: Plan,
        db: &D1Database,
        now: i64,
    ) -> worker::Result<RefreshReport> {
        if self.removed.get() {
            return Ok(RefreshReport::removed());
        }
        if let Some(w) = &plan.warning {
            worker::console_warn!("{w}");
        }
        let cfg = env::config(&self.env);
        let (max, zone) = (cfg.retention_max_entries, zone::zone_or_utc(&cfg));
        let row = plan.feed_row.as_ref();
        let (entries, changes) = (&plan.entries, &plan.changes);
        let written = d1::refresh_apply(db, row, entries, changes, now, max, &*zone).await;
        let stored = match written {
            Ok(stored) => stored,
            // The platform refused the write (a daily limit, an outage): hold, losing nothing.
            Err(e) => {
                let trouble = PlatformTrouble::of(&e.to_string());
                worker::console_error!("feed {}: D1 refused the refresh: {e}", plan.state.feed_id);
                let (report, at) = ingest::held(plan.before(), trouble, now);
                storage::save(&self.state, plan.before()).await?; // unmarks a parse ahead
                storage::arm(&self.state, Wake::At(at), now).await?;
                return Ok(report);
            }
        };
        let settled = plan.settle(&stored);
        storage::write_plan(&self.state, &mut plan, &settled.seen, now)?;
        let (mut feed, mut report) = (plan.state.clone(), plan.report.clone());
        // Durable before anyone is told: if we die mid-publish, the alarm retries it.
        if plan.state_changed() {
            storage::save(&self.state, &feed).await?;
        }
        if !settled.new_entries.is_empty() || !settled.updated.is_empty() {
            let t = env::lang(&self.env);
            sockets::broadcast(&self.state, &sockets::entry_frames(t, &settled.new_entries));
            sockets::broadcast_updates(&self.state, &sockets::update_frames(t, &settled.updated));
            report.published_at = Some(env::now_ms());
            feed.published(rpc::rooms_publish(&self.env).await); // retried by alarm until true
            storage::save(&self.state, &feed).await?;
        }
        storage::arm(&self.state, feed.next_wake(now), now).await?;
        Ok(report)
    }
}
