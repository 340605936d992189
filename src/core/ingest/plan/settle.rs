//! A plan's own methods: carried work folded in, what must be saved, and D1's answer settled into seen rows and published entries.

use super::*;

impl Plan {
    /// A plan that writes no entries: the next state and the report.
    pub(super) fn bare(
        before: &FeedState,
        feed_state: FeedState,
        outcome: RefreshOutcome,
        error: Option<String>,
        now: i64,
    ) -> Plan {
        Plan {
            report: RefreshReport::of(&feed_state, outcome, error),
            feed_title: member_title(&feed_state, ""),
            feed_face: feed_state.settings.face_url.clone(),
            state: feed_state,
            feed_row: None,
            entries: Vec::new(),
            archived: Vec::new(),
            carried: Vec::new(),
            finished: Vec::new(),
            prune: None,
            warning: None,
            changes: Vec::new(),
            doc_links: None,
            spare: 0,
            before: before.clone(),
            now,
        }
    }

    /// Decides whether D1's feed row must be written: when entries were written or
    /// what it shows (status, error, URL, metadata, watchdog deadline) changed.
    pub(super) fn finish(mut self, meta: Option<FeedMeta>) -> Plan {
        let feed_state = &self.state;
        self.report.status = feed_state.status;
        self.report.url = feed_state.url.clone();
        self.report.next_fetch_at = feed_state
            .status
            .is_scheduled()
            .then_some(feed_state.next_fetch_at);
        let old = self.before.row.as_ref();
        let digest = RowDigest {
            url: feed_state.url.clone(),
            status: feed_state.status,
            failures: feed_state.failures,
            last_error: self.report.error.clone(),
            meta: meta
                .as_ref()
                .map(FeedMeta::digest)
                .or_else(|| old.and_then(|r| r.meta.clone())),
            overdue_at: feed_state.status.is_scheduled().then(|| {
                overdue_deadline(old.and_then(|r| r.overdue_at), feed_state.next_fetch_at)
            }),
        };
        let changed = !self.entries.is_empty();
        if changed || old != Some(&digest) {
            self.feed_row = Some(FeedRow {
                feed_id: feed_state.feed_id,
                url: feed_state.url.clone(),
                status: feed_state.status,
                failures: feed_state.failures,
                last_error: digest.last_error.clone(),
                last_fetch_at: self.now,
                last_success_at: self.report.outcome.succeeded().then_some(self.now),
                next_fetch_at: feed_state
                    .status
                    .is_scheduled()
                    .then_some(feed_state.next_fetch_at),
                overdue_at: digest.overdue_at,
                meta: meta.filter(|m| old.and_then(|r| r.meta.as_ref()) != Some(&m.digest())),
                inserted: self.entries.iter().filter(|w| !w.known).count() as u32,
                changed,
            });
        }
        self.state.row = Some(digest);
        self.changes = AutoChange::between(&self.before, &self.state, self.report.error.as_deref());
        self
    }

    /// This refresh found the feed unchanged while carried work waits: it has room to
    /// move that work on ([`Plan::with_carried`]).
    fn room_for_carried(&self) -> bool {
        self.spare > 0 && self.state.work_pending && self.entries.is_empty()
    }

    /// Spends an unchanged refresh's unspent budget on carried work, as a follow-up
    /// would: so carried work moves on in every invocation that has the room, however
    /// often refreshes come (a short interval, pushes, "Retry now"), not only in
    /// follow-up alarms they may keep pushing back. `waiting` reads the waiting entries
    /// (newest first, what [`follow_up_take`] allows, and whether more wait); it is
    /// called only when there is room.
    pub fn with_carried<E>(
        mut self,
        waiting: impl FnOnce() -> Result<(Vec<PendingEntry>, bool), E>,
    ) -> Result<Plan, E> {
        if !self.room_for_carried() {
            return Ok(self);
        }
        let (loaded, more_waiting) = waiting()?;
        let budget = std::mem::take(&mut self.spare);
        self.complete(loaded, more_waiting, budget);
        Ok(self.finish(None))
    }

    /// Cleans what of the carried-over entries (`loaded`, newest first) fits `budget`
    /// (the first always), as updates of their stored briefs.
    pub(super) fn complete(
        &mut self,
        loaded: Vec<PendingEntry>,
        more_waiting: bool,
        budget: usize,
    ) {
        let raws: Vec<&RawEntry> = loaded.iter().map(|p| &p.raw).collect();
        let n = if raws.is_empty() {
            0
        } else {
            feed::within_budget(&raws, budget)
        };
        let now = self.now;
        self.finished = loaded[..n].iter().map(|e| e.raw.identity.clone()).collect();
        self.entries = loaded[..n]
            .iter()
            .rev()
            .map(|e| write(&e.raw, e.known, now))
            .collect();
        self.state.work_pending = n < loaded.len() || more_waiting;
        self.state.recent_times = recent_times(
            &self.state.recent_times,
            self.entries.iter().map(|w| w.published),
            RECENT_TIMES,
        );
    }

    /// The state this plan started from.
    pub fn before(&self) -> &FeedState {
        &self.before
    }

    /// Storage must be written: the state changed in more than its next fetch time, or
    /// that moved while the alarm is set for something else (carried work, a publish),
    /// which then cannot hold the schedule for it.
    pub fn state_changed(&self) -> bool {
        !self.state.same_apart_from_schedule(&self.before)
            || (self.state.next_fetch_at != self.before.next_fetch_at
                && !self.state.alarm_is_the_fetch(self.now))
    }

    /// Takes D1's answer for each of [`Plan::entries`] (in order; `None` where it returned
    /// no row, i.e. an update of a pruned entry): counts new and updated entries, the seen
    /// rows to write, and what to publish.
    /// With new entries the state records them as pushed and a publish as pending
    /// (durable before the Room is nudged, so a crash mid-publish is retried by alarm).
    pub fn settle(&mut self, stored: &[Option<StoredEntry>]) -> Settled {
        let mut out = Settled::default();
        for (w, row) in self.entries.iter().zip(stored) {
            let Some(row) = row else {
                // An update of an entry retention has pruned: it stays gone, archived.
                if w.known {
                    out.seen.push(SeenMark {
                        identity: w.entry.identity.clone(),
                        fingerprint: w.fingerprint.clone(),
                        entry_id: None,
                    });
                }
                continue;
            };
            out.seen.push(SeenMark {
                identity: w.entry.identity.clone(),
                fingerprint: w.fingerprint.clone(),
                entry_id: Some(row.id),
            });
            let view = EntryView {
                id: row.id,
                feed_id: self.state.feed_id,
                feed_title: self.feed_title.clone(),
                feed_face: self.feed_face.clone(),
                title: w.entry.title.clone(),
                url: w.entry.url.clone(),
                author: w.entry.author.clone(),
                published: w.published,
                summary: w.entry.summary.clone(),
                content_html: w.entry.content_html.clone(),
                whole: w.entry.whole,
                rev: row.rev,
                day_rank: None,
                local_offset_ms: 0,
                same_as: None,
                also: Vec::new(),
            };
            if row.first_seen == self.now {
                out.new_entries.push(view);
            } else {
                self.report.updated_entries += 1;
                out.updated.push(view);
            }
        }
        out.new_entries.sort_by_key(|v| v.id);
        out.updated.sort_by_key(|v| v.rev);
        self.report.new_entries = out.new_entries.len() as u32;
        if let Some(last) = out.new_entries.last() {
            self.state.pushed_upto = self.state.pushed_upto.max(last.id);
            self.state.publish_pending = true;
        }
        if let Some(rev) = out.updated.iter().filter_map(|v| v.rev).max() {
            self.state.revised_upto = self.state.revised_upto.max(rev);
            self.state.publish_pending = true;
        }
        out
    }
}
