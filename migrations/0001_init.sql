-- Orrery schema v1. Append-only: later changes go in new numbered files.

CREATE TABLE feeds (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  url                  TEXT    NOT NULL UNIQUE,
  title                TEXT    NOT NULL DEFAULT '',
  site_url             TEXT,
  description          TEXT,
  format               TEXT,
  etag                 TEXT,
  last_modified        TEXT,
  -- active | failing | paused | gone
  status               TEXT    NOT NULL DEFAULT 'active',
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_error           TEXT,
  last_fetch_at        INTEGER,            -- unix ms
  last_success_at      INTEGER,
  next_fetch_at        INTEGER,
  created_at           INTEGER NOT NULL,
  entry_count          INTEGER NOT NULL DEFAULT 0
);

-- id is the global cursor clients resume from: AUTOINCREMENT so an id is
-- never reused after pruning.
CREATE TABLE entries (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  feed_id      INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
  identity     TEXT    NOT NULL,
  fingerprint  TEXT    NOT NULL DEFAULT '',
  url          TEXT,
  title        TEXT    NOT NULL DEFAULT '',
  author       TEXT,
  content_html TEXT    NOT NULL DEFAULT '',
  summary      TEXT    NOT NULL DEFAULT '',
  published_at INTEGER,                    -- unix ms, clamped to first_seen when missing/future
  first_seen   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  UNIQUE (feed_id, identity)
);
CREATE INDEX entries_feed_id ON entries (feed_id, id DESC);
CREATE INDEX entries_published ON entries (published_at DESC);

CREATE VIRTUAL TABLE entries_fts USING fts5 (
  title, summary, author,
  content = 'entries', content_rowid = 'id'
);
CREATE TRIGGER entries_ai AFTER INSERT ON entries BEGIN
  INSERT INTO entries_fts (rowid, title, summary, author)
  VALUES (new.id, new.title, new.summary, new.author);
END;
CREATE TRIGGER entries_ad AFTER DELETE ON entries BEGIN
  INSERT INTO entries_fts (entries_fts, rowid, title, summary, author)
  VALUES ('delete', old.id, old.title, old.summary, old.author);
END;
CREATE TRIGGER entries_au AFTER UPDATE ON entries BEGIN
  INSERT INTO entries_fts (entries_fts, rowid, title, summary, author)
  VALUES ('delete', old.id, old.title, old.summary, old.author);
  INSERT INTO entries_fts (rowid, title, summary, author)
  VALUES (new.id, new.title, new.summary, new.author);
END;

CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  actor   TEXT    NOT NULL,                -- "api" | "admin" | "cron"
  action  TEXT    NOT NULL,
  feed_id INTEGER,
  detail  TEXT
);
