-- The fair front page: each entry's rank within its member's day (1 for the member's first
-- entry stored that day, 2 for the next…), stored when the entry is first stored and never
-- changed, so the river and `/titles` can show at most RIVER_PER_FEED_PER_DAY of a member's
-- day by a condition on the row the index walk already reads (edge::d1::entries FAIR_RIVER).
-- NULL (no rank) is always shown.
ALTER TABLE entries ADD COLUMN day_rank INTEGER;

-- The entries already stored: ranked in the order they were stored (by id, as new ones
-- are), within their member's UTC day (a migration cannot read PLANET_TIMEZONE; a planet in
-- another zone has its stored days counted in UTC, its new entries in its zone). One pass
-- with a window function over the (feed_id, published_at, id) index: every entry written
-- once, no per-row subquery.
UPDATE entries SET day_rank = ranked.r
  FROM (SELECT id, ROW_NUMBER() OVER (
          PARTITION BY feed_id, published_at / 86400000 ORDER BY id) AS r
        FROM entries WHERE published_at IS NOT NULL) AS ranked
  WHERE entries.id = ranked.id;
