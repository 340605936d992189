-- Per-feed filters, as Planet Venus planets use them: JSON
-- {"categories": [...], "words": [...], "excerpt_only": bool}; NULL keeps every entry
-- whole. The FeedObject applies them at ingest (it is told on every change).
-- A feed paused by hand has status 'held' (no schema change: status is free text).
ALTER TABLE feeds ADD COLUMN filter TEXT;
