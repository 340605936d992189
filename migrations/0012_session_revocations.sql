-- Signing out revokes: every session of that person (the shared token's sessions are one
-- person, "admin") issued at or before `before_ms` is refused from then on, on every device.
-- One row per person who ever signed out; read once per signed-in admin request.
CREATE TABLE IF NOT EXISTS session_revocations (
  actor TEXT PRIMARY KEY,
  before_ms INTEGER NOT NULL
);
