-- 006_api_keys: several keys per account (issue 14 §3). A key gains a handle to name it by (`id`,
-- `key_…`), an optional expiry (`expires_at`, set when the key is rolled), a revocation time
-- (`revoked_at`) and when it last authenticated a request (`last_used`, kept to the minute).
-- Keys made before this migration get a random handle here.

ALTER TABLE api_keys ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
ALTER TABLE api_keys ADD COLUMN last_used INTEGER;
UPDATE api_keys SET id = 'key_' || lower(hex(randomblob(12))) WHERE id = '';
CREATE UNIQUE INDEX api_keys_id ON api_keys(id);

-- The default account is the first one created.
CREATE INDEX accounts_created ON accounts(created, id);
