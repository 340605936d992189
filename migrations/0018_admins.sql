-- Named admins who sign in with GitHub or an OpenID Connect provider (core::auth::admins).
-- `rule` is the canonical text: github:<id>, github:<login> (bound to `github_id` at its
-- first sign-in), an email, *@domain, github-org:<name>. `source` 'config' rows are seeded
-- from ADMINS (removed only by changing it), 'admin' rows were added on /admin. A session
-- names the row that let it in, so deleting the row ends its sessions at once. Ids are never
-- reused (AUTOINCREMENT): a rule removed and added again does not revive old sessions.
CREATE TABLE IF NOT EXISTS admins (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rule TEXT NOT NULL UNIQUE,
  github_id INTEGER,
  source TEXT NOT NULL DEFAULT 'admin',
  added_by TEXT,
  added_at INTEGER NOT NULL
);

-- Refused sign-ins are audited at most once an hour per identity (or per client address for
-- input that names nobody): when each was last recorded. Each refusal recorded forgets the ones
-- past the hour, so the table holds an hour's refusals at most.
CREATE TABLE IF NOT EXISTS signin_refusals (
  who TEXT PRIMARY KEY,
  at INTEGER NOT NULL
);
