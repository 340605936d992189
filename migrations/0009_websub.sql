-- WebSub: until when a hub has confirmed it pushes this feed's entries (unix ms; NULL:
-- polled only). Written by the feed's object when a hub verifies a subscription or its
-- renewal, so `/feeds` and the API can say "push" while the lease is live.
ALTER TABLE feeds ADD COLUMN push_until INTEGER;
