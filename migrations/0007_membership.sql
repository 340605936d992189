-- Membership as a file (PLANET_OPML): cron syncs the planet's OPML document.
-- in_file: the document lists this feed, so the sync manages it (a feed added by hand is
-- never removed for not being listed). left_at: when it left the document; it is held
-- since (status 'held', "left the membership file") with its history, and cron deletes
-- it once the grace period (PLANET_OPML_GRACE) has passed.
ALTER TABLE feeds ADD COLUMN in_file INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN left_at INTEGER;
CREATE INDEX feeds_left ON feeds (left_at) WHERE left_at IS NOT NULL;
-- What each sync did (core::membership::SyncReport as JSON), newest last; an unchanged
-- run only moves checked_at of the newest. Cron keeps the newest 20.
CREATE TABLE membership_syncs (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  checked_at INTEGER NOT NULL,
  ok         INTEGER NOT NULL,
  report     TEXT    NOT NULL
);
