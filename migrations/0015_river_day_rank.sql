-- The fair front page: each entry's day (`river_day`, days since 1970-01-01 in the planet's
-- time zone) and its rank within its member's day (1 for the member's first entry stored
-- that day, 2 for the next…), both stored when the entry is first stored and never changed,
-- so the river and `/titles` can show at most RIVER_PER_FEED_PER_DAY of a member's day.
-- NULL (no rank) is always shown.
ALTER TABLE entries ADD COLUMN river_day INTEGER;
ALTER TABLE entries ADD COLUMN day_rank INTEGER;

-- The entries already stored: ranked in the order they were stored (by id, as new ones
-- are), within their member's UTC day (a migration cannot read PLANET_TIMEZONE; a planet in
-- another zone has its stored days counted in UTC, its new entries in its zone). One pass
-- with a window function: every entry written once, no per-row subquery.
UPDATE entries SET river_day = ranked.day, day_rank = ranked.r
  FROM (SELECT id, published_at / 86400000 AS day, ROW_NUMBER() OVER (
          PARTITION BY feed_id, published_at / 86400000 ORDER BY id) AS r
        FROM entries WHERE published_at IS NOT NULL) AS ranked
  WHERE entries.id = ranked.id;

-- A new entry's rank and a day's "N more": the member's highest rank that day, one seek.
CREATE INDEX entries_river_day ON entries (feed_id, river_day, day_rank);

-- The river's walk carries each entry's feed, day and rank in the `published_at` index it
-- already walks, so a fair page reads index rows only for the entries it leaves out
-- (edge::d1::entries::river_walk). Same name and leading columns: retention and the other
-- river reads use it as before.
DROP INDEX entries_published;
CREATE INDEX entries_published ON entries (published_at DESC, id DESC, day_rank, feed_id, river_day);
