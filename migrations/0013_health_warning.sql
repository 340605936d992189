-- `/health` (issue 21): feeds that failed at least once in a row and are still active are
-- "warning". The tally keeps, per status, how many of its feeds have failures in a row, so
-- `/health` reads a handful of rows, never the feeds. The triggers of 0010 are replaced by
-- ones that move this count with the others (same rows, same writes: a refresh that changes
-- nothing of a feed's row writes nothing here either).

ALTER TABLE feed_tally ADD COLUMN retrying INTEGER NOT NULL DEFAULT 0;
UPDATE feed_tally SET retrying = (
  SELECT COUNT(*) FROM feeds
  WHERE feeds.status = feed_tally.status AND feeds.consecutive_failures > 0
);

DROP TRIGGER feeds_tally_ai;
CREATE TRIGGER feeds_tally_ai AFTER INSERT ON feeds BEGIN
  INSERT INTO feed_tally (status, feeds, entries, retrying)
    VALUES (new.status, 1, new.entry_count, new.consecutive_failures > 0)
    ON CONFLICT (status) DO UPDATE SET feeds = feeds + 1, entries = entries + excluded.entries,
      retrying = retrying + excluded.retrying;
END;

DROP TRIGGER feeds_tally_ad;
CREATE TRIGGER feeds_tally_ad AFTER DELETE ON feeds BEGIN
  UPDATE feed_tally SET feeds = feeds - 1, entries = entries - old.entry_count,
      retrying = retrying - (old.consecutive_failures > 0)
    WHERE status = old.status;
END;

DROP TRIGGER feeds_tally_status;
CREATE TRIGGER feeds_tally_status AFTER UPDATE OF status ON feeds
  WHEN old.status IS NOT new.status BEGIN
  UPDATE feed_tally SET feeds = feeds - 1, entries = entries - old.entry_count,
      retrying = retrying - (old.consecutive_failures > 0)
    WHERE status = old.status;
  INSERT INTO feed_tally (status, feeds, entries, retrying)
    VALUES (new.status, 1, new.entry_count, new.consecutive_failures > 0)
    ON CONFLICT (status) DO UPDATE SET feeds = feeds + 1, entries = entries + excluded.entries,
      retrying = retrying + excluded.retrying;
END;

-- A failure streak that starts or ends without a change of status (an active feed's first
-- failure, its recovery). A change of status moves the count in feeds_tally_status.
CREATE TRIGGER feeds_tally_retrying AFTER UPDATE OF consecutive_failures ON feeds
  WHEN old.status IS new.status
   AND (old.consecutive_failures > 0) IS NOT (new.consecutive_failures > 0) BEGIN
  UPDATE feed_tally
    SET retrying = retrying + (new.consecutive_failures > 0) - (old.consecutive_failures > 0)
    WHERE status = new.status;
END;
