-- 014_session_indexes (PostgreSQL): checkout sessions with fewer indexes. Mirrors
-- migrations/sqlite/014_session_indexes.sql.
--
-- * The primary key becomes `(id, account_id)` (same name, so a conflict on it is still the
--   `primary_key` one), which also serves the hosted page's lookup by id alone (`id = $1`):
--   `checkout_sessions_by_id (id)` goes.
-- * `checkout_sessions_expires_at (account_id, expires_at, seq)` goes: no query filters a session
--   list by `expires_at` alone, and the status filters use `checkout_sessions_status`.

ALTER TABLE checkout_sessions DROP CONSTRAINT checkout_sessions_pkey;
ALTER TABLE checkout_sessions ADD CONSTRAINT checkout_sessions_pkey PRIMARY KEY (id, account_id);
DROP INDEX checkout_sessions_by_id;
DROP INDEX checkout_sessions_expires_at;
