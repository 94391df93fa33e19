-- 006_api_keys (PostgreSQL): several keys per account (issue 14 §3). Mirrors
-- migrations/sqlite/006_api_keys.sql: a handle (`id`, `key_…`), an optional expiry
-- (`expires_at`, set when the key is rolled), a revocation time (`revoked_at`) and the last use
-- (`last_used`, kept to the minute). Keys made before this migration get a random handle here.

ALTER TABLE api_keys ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN revoked_at BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used BIGINT;
UPDATE api_keys SET id = 'key_' || substr(md5(random()::text || clock_timestamp()::text || hash), 1, 24)
    WHERE id = '';
ALTER TABLE api_keys ALTER COLUMN id DROP DEFAULT;
CREATE UNIQUE INDEX api_keys_id ON api_keys(id);

-- The default account is the first one created.
CREATE INDEX accounts_created ON accounts(created, id);
