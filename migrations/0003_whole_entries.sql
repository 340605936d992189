-- Whole entries (issue 9): an entry stored at once as a brief while its body waits to
-- be cleaned is `whole = 0` until a later invocation completes it; every rewrite of a
-- stored entry (completed or edited) takes the next revision, the cursor of the
-- `update` frames the Room broadcasts and `resume` replays.
ALTER TABLE entries ADD COLUMN whole INTEGER NOT NULL DEFAULT 1;
ALTER TABLE entries ADD COLUMN rev INTEGER;
CREATE INDEX entries_rev ON entries (rev) WHERE rev IS NOT NULL;
