-- The sidebar's detail (SIDEBAR_DETAIL): each member's newest titles, kept on its feed row by
-- the refresh that stores them (so a page reads no entry to show them), and since when its
-- fetches fail in a row (so the sidebar can say for how long, never the error's own words).
ALTER TABLE feeds ADD COLUMN recent_titles TEXT;
ALTER TABLE feeds ADD COLUMN failing_since INTEGER;

-- Backfill, bounded: each feed with entries reads its three newest through
-- entries_feed_published (feed_id, published_at, id) and is written once; the same expression
-- as src/edge/d1/feeds.rs `recent_titles_sql`.
UPDATE feeds SET recent_titles =
  (SELECT json_group_array(json_object('id', id, 'title', substr(title, 1, 200), 'published', published_at))
  FROM (SELECT id, title, published_at FROM entries WHERE feed_id = feeds.id
        ORDER BY published_at DESC, id DESC LIMIT 3))
WHERE entry_count > 0;

-- Failing feeds: their failures began after their last recorded success (or, never read,
-- when they were added). The refresh keeps it exact from here on.
UPDATE feeds SET failing_since = COALESCE(last_success_at, created_at) WHERE consecutive_failures > 0;
