-- "Refresh all feeds": one row per round, moved on a batch per cron run (a cursor over
-- feed ids), so a thousand feeds are never called from one invocation. At most one round
-- runs at a time (the partial unique index); the newest 20 rounds are kept.
CREATE TABLE refresh_rounds (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at  INTEGER NOT NULL,
  started_by  TEXT    NOT NULL,
  -- Feeds to refresh when it started (active and failing: the tally), for the progress shown.
  total       INTEGER NOT NULL,
  -- The last feed id refreshed: the next batch starts after it.
  cursor      INTEGER NOT NULL DEFAULT 0,
  done        INTEGER NOT NULL DEFAULT 0,
  new_entries INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  -- Invocations (the request's first batch, then cron runs) that moved it on.
  runs        INTEGER NOT NULL DEFAULT 0,
  finished_at INTEGER
);
CREATE UNIQUE INDEX refresh_rounds_running ON refresh_rounds ((finished_at IS NULL))
  WHERE finished_at IS NULL;
