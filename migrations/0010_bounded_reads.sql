-- Bounded public reads (issue 19): `/healthz` counts feeds by status and their entries from a
-- tally kept by triggers (a handful of rows, not one per feed), and `/feeds` and `/api/feeds`
-- page through the members by name with an index on the name they are sorted by.

-- One row per feed status: how many feeds have it and how many entries they keep. A feed's
-- insert, delete, status change or entry count change moves it; nothing else writes it (a
-- refresh that stores entries writes one more row, an unchanged one none).
CREATE TABLE feed_tally (
  status  TEXT    PRIMARY KEY,
  feeds   INTEGER NOT NULL DEFAULT 0,
  entries INTEGER NOT NULL DEFAULT 0
);
INSERT INTO feed_tally (status, feeds, entries)
  SELECT status, COUNT(*), COALESCE(SUM(entry_count), 0) FROM feeds GROUP BY status;

CREATE TRIGGER feeds_tally_ai AFTER INSERT ON feeds BEGIN
  INSERT INTO feed_tally (status, feeds, entries) VALUES (new.status, 1, new.entry_count)
    ON CONFLICT (status) DO UPDATE SET feeds = feeds + 1, entries = entries + excluded.entries;
END;
CREATE TRIGGER feeds_tally_ad AFTER DELETE ON feeds BEGIN
  UPDATE feed_tally SET feeds = feeds - 1, entries = entries - old.entry_count
    WHERE status = old.status;
END;
CREATE TRIGGER feeds_tally_status AFTER UPDATE OF status ON feeds
  WHEN old.status IS NOT new.status BEGIN
  UPDATE feed_tally SET feeds = feeds - 1, entries = entries - old.entry_count
    WHERE status = old.status;
  INSERT INTO feed_tally (status, feeds, entries) VALUES (new.status, 1, new.entry_count)
    ON CONFLICT (status) DO UPDATE SET feeds = feeds + 1, entries = entries + excluded.entries;
END;
CREATE TRIGGER feeds_tally_entries AFTER UPDATE OF entry_count ON feeds
  WHEN old.status IS new.status AND old.entry_count IS NOT new.entry_count BEGIN
  UPDATE feed_tally SET entries = entries + new.entry_count - old.entry_count
    WHERE status = new.status;
END;

-- The members by name, as `/feeds`, `/api/feeds` and the admin page list them (the
-- expression must stay the one the queries sort by: edge::d1's FEED_NAME_KEY).
CREATE INDEX feeds_by_name ON feeds (lower(COALESCE(NULLIF(trim(display_name), ''), title)), id);
