-- 014_session_indexes: checkout sessions with fewer, smaller indexes (a session's indexes took
-- more room than a third of its row).
--
-- * `UNIQUE (id, account_id)` replaces both `UNIQUE (account_id, id)` and `checkout_sessions_by_id
--   (id)`: every lookup by key (`account_id = ? AND id = ?`) and the hosted page's lookup by id
--   alone (`id = ?`) search it by its leading column. A unique constraint's column order is part
--   of the table, so the table is rebuilt: created anew, its rows copied in `seq` order (the same
--   `seq`s, and the AUTOINCREMENT counter carried over, so no `seq` is ever handed out twice),
--   the old one dropped and the new one renamed, then its indexes made again — all in this
--   migration's transaction.
-- * `checkout_sessions_expires_at (account_id, expires_at, seq)` is gone: no query filters a
--   session list by `expires_at` alone, and the status filters use `checkout_sessions_status`.

CREATE TABLE checkout_sessions_014 (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     TEXT NOT NULL,
    id             TEXT NOT NULL,
    created        INTEGER NOT NULL,
    data           TEXT NOT NULL,
    status         TEXT NOT NULL,
    customer       TEXT,
    payment_intent TEXT,
    subscription   TEXT,
    expires_at     INTEGER NOT NULL,
    UNIQUE (id, account_id)
);
INSERT INTO checkout_sessions_014
    (seq, account_id, id, created, data, status, customer, payment_intent, subscription, expires_at)
SELECT seq, account_id, id, created, data, status, customer, payment_intent, subscription, expires_at
FROM checkout_sessions ORDER BY seq;
-- The old counter, which may stand above the largest `seq` left (the newest sessions deleted).
DELETE FROM sqlite_sequence WHERE name = 'checkout_sessions_014';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'checkout_sessions_014', seq FROM sqlite_sequence WHERE name = 'checkout_sessions';
DROP TABLE checkout_sessions;
ALTER TABLE checkout_sessions_014 RENAME TO checkout_sessions;

CREATE INDEX checkout_sessions_account_seq ON checkout_sessions(account_id, seq);
CREATE INDEX checkout_sessions_status ON checkout_sessions(account_id, status, seq);
CREATE INDEX checkout_sessions_customer ON checkout_sessions(account_id, customer, seq) WHERE customer IS NOT NULL;
CREATE INDEX checkout_sessions_payment_intent ON checkout_sessions(account_id, payment_intent, seq) WHERE payment_intent IS NOT NULL;
CREATE INDEX checkout_sessions_subscription ON checkout_sessions(account_id, subscription, seq) WHERE subscription IS NOT NULL;
-- The expiry sweep looks across all accounts (Scope::All) for open sessions past expires_at.
CREATE INDEX checkout_sessions_expiry ON checkout_sessions(status, expires_at);
