-- 007_setup_intents: the setup intents a `mode=setup` checkout session creates (issue 15).
--
-- The same shape as every record table of 001_init: the five leading columns, then exactly the
-- columns `Kind::columns()` declares, in that order.

-- Kind::SetupIntent
CREATE TABLE setup_intents (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    INTEGER NOT NULL,
    data       TEXT NOT NULL,
    customer   TEXT,
    status     TEXT NOT NULL,
    UNIQUE (account_id, id)
);
CREATE INDEX setup_intents_account_seq ON setup_intents(account_id, seq);
CREATE INDEX setup_intents_customer ON setup_intents(account_id, customer, seq);
CREATE INDEX setup_intents_status ON setup_intents(account_id, status, seq);
