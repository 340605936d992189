-- Orrery schema v2: fit the Free plan's daily row budgets.
-- An unchanged refresh no longer rewrites its feed row, so cron's watchdog reads a
-- coarse deadline instead of next_fetch_at: a feed is looked at only once it is past
-- overdue_at (kept ahead of its schedule and rewritten about once a day).
ALTER TABLE feeds ADD COLUMN overdue_at INTEGER;
-- When the feed's entries last changed (new or edited entries written).
ALTER TABLE feeds ADD COLUMN last_changed_at INTEGER;
UPDATE feeds SET overdue_at = COALESCE(next_fetch_at, created_at)
  WHERE status IN ('active', 'failing');
UPDATE feeds SET entry_count = (SELECT COUNT(*) FROM entries WHERE entries.feed_id = feeds.id);
CREATE INDEX feeds_overdue ON feeds (overdue_at) WHERE overdue_at IS NOT NULL;
-- Per-feed rivers and per-feed retention read one feed's entries in published order.
CREATE INDEX entries_feed_published ON entries (feed_id, published_at, id);
