-- People, not feed titles: a member's display name, face (an avatar image URL, the
-- classic "hackergotchi") and site link, set from the admin pages, the API and OPML
-- attributes. NULL: the feed's own title and site link are shown.
ALTER TABLE feeds ADD COLUMN display_name TEXT;
ALTER TABLE feeds ADD COLUMN face_url TEXT;
ALTER TABLE feeds ADD COLUMN home_url TEXT;
