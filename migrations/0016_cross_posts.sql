-- The same article from two members, shown once (docs/feeds.md, "The same article from two
-- members"). Each feed keeps its own entry; the planet's river, titles, Atom/RSS and search
-- show the article once, naming every member who posted it.
--
-- same_link / same_text: what a new entry is known by as an article (core::ingest::same: a
-- digest of its canonical link, of the normalized start of its text), written when it is
-- first stored. article_id: the article this entry is a copy of, the id of the article's
-- first copy; NULL while the entry is the only copy. The river shows, of each article, the
-- copy with the smallest id still stored, so when that copy is pruned or its feed removed,
-- the next one shows again: nothing to rewrite on delete.
--
-- Entries stored before this migration have no keys: they are never matched (their raw
-- bodies are gone; only entries stored from now on are compared). Nothing else changes.
ALTER TABLE entries ADD COLUMN same_link TEXT;
ALTER TABLE entries ADD COLUMN same_text TEXT;
ALTER TABLE entries ADD COLUMN article_id INTEGER;

-- The lookup a refresh's insert makes (one indexed probe per key); partial, so entries
-- without a key cost no index row.
CREATE INDEX entries_same_link ON entries (same_link) WHERE same_link IS NOT NULL;
CREATE INDEX entries_same_text ON entries (same_text) WHERE same_text IS NOT NULL;
-- The copies of an article, oldest first: the river's "shown once" test and the names.
CREATE INDEX entries_article ON entries (article_id, id) WHERE article_id IS NOT NULL;

-- A second copy names the article by its first copy's id: the first copy joins it too
-- (one row, once per article).
CREATE TRIGGER entries_article_ai AFTER INSERT ON entries WHEN new.article_id IS NOT NULL BEGIN
  UPDATE entries SET article_id = new.article_id WHERE id = new.article_id AND article_id IS NULL;
END;

-- Search shows an article once: only the copy the river shows is in the index (a refresh
-- indexes no other). When that copy is deleted, the next one is queued for the index (the
-- backfill computes its text, as for entries older than the index).
CREATE TRIGGER entries_article_ad AFTER DELETE ON entries
  WHEN old.article_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM entries o WHERE o.article_id = old.article_id AND o.id < old.id)
BEGIN
  INSERT OR IGNORE INTO search_backlog (id)
    SELECT o.id FROM entries o WHERE o.article_id = old.article_id ORDER BY o.id LIMIT 1;
END;

-- The fair river's walk (0015) reads the published_at index alone; it now also asks whether
-- an entry is its article's shown copy, so the index carries article_id too.
DROP INDEX entries_published;
CREATE INDEX entries_published ON entries (published_at DESC, id DESC, day_rank, feed_id, river_day, article_id);
