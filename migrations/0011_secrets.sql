-- Secrets the planet makes for itself, once (`INSERT OR IGNORE`: the first writer wins).
-- `websub`: the key WebSub callback tokens are made with (random, never derived from the
-- admin token, so a token handed to a hub cannot be used to guess the admin token offline).
CREATE TABLE IF NOT EXISTS secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
