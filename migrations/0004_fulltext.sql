-- Orrery schema v4: search every word of every entry.
-- The old index (entries_fts) saw the title, the author and the 300-character summary,
-- fed by triggers from the entries row. The new one indexes the plain text of the whole
-- post; SQL cannot strip HTML, so the Worker computes that text (core::search::index_doc)
-- and writes it in the same D1 batch as the entry (store::search_index_stmt). The table is
-- contentless: only the inverted index is stored, never a second copy of the text
-- (contentless_delete=1 lets a row be deleted by its rowid, so deletes stay triggers).
DROP TRIGGER IF EXISTS entries_ai;
DROP TRIGGER IF EXISTS entries_ad;
DROP TRIGGER IF EXISTS entries_au;
DROP TABLE IF EXISTS entries_fts;

CREATE VIRTUAL TABLE entries_search USING fts5 (
  title, author, body,
  content = '', contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2'
);
-- D1 bills rows, not bytes: FTS5 writes its index in pages of `pgsz` bytes, one row each,
-- so larger pages write (and read) fewer rows for the same index.
INSERT INTO entries_search (entries_search, rank) VALUES ('pgsz', 32000);

-- Existing entries: searchable at once by what the old index covered (title, author,
-- summary), and queued for their whole text, which cron computes a few at a time
-- (store::search_backfill) until the queue is empty.
INSERT INTO entries_search (rowid, title, author, body)
  SELECT id, title, COALESCE(author, ''), summary FROM entries ORDER BY id;
CREATE TABLE search_backlog (id INTEGER PRIMARY KEY);
INSERT INTO search_backlog (id) SELECT id FROM entries;

-- Entries deleted (retention, pruning, a feed removed) leave the index and the queue.
CREATE TRIGGER entries_search_ad AFTER DELETE ON entries BEGIN
  DELETE FROM entries_search WHERE rowid = old.id;
  DELETE FROM search_backlog WHERE id = old.id;
END;
