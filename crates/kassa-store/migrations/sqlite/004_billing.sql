-- 004_billing: subscriptions that live on (SPEC §9) — what the scheduler looks for, and test
-- clocks.
--
-- Subscriptions gain `due_at` (when the scheduler must next act; NULL: never), `test_clock` (NULL:
-- real time) and `locked_until` (the scheduler's lease while it charges); customers gain
-- `test_clock`. New columns go at the end, in `Kind::columns` order.

ALTER TABLE subscriptions ADD COLUMN due_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN test_clock TEXT;
ALTER TABLE subscriptions ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_due_at ON subscriptions(due_at) WHERE due_at IS NOT NULL;
CREATE INDEX subscriptions_test_clock ON subscriptions(test_clock, due_at) WHERE test_clock IS NOT NULL;
CREATE INDEX subscriptions_locked_until ON subscriptions(locked_until);

ALTER TABLE customers ADD COLUMN test_clock TEXT;
CREATE INDEX customers_test_clock ON customers(account_id, test_clock, seq);

-- Kind::TestClock. `status` is ready or advancing; `locked_until` the advance's lease.
CREATE TABLE test_clocks (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   TEXT NOT NULL,
    id           TEXT NOT NULL,
    created      INTEGER NOT NULL,
    data         TEXT NOT NULL,
    status       TEXT NOT NULL,
    locked_until INTEGER NOT NULL,
    UNIQUE (account_id, id)
);
CREATE INDEX test_clocks_account_seq ON test_clocks(account_id, seq);
CREATE INDEX test_clocks_status ON test_clocks(status, locked_until);
CREATE INDEX test_clocks_locked_until ON test_clocks(locked_until);
