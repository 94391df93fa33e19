-- 004_billing (PostgreSQL): subscriptions that live on (SPEC §9) — what the scheduler looks for,
-- and test clocks. Mirrors migrations/sqlite/004_billing.sql; new columns go at the end, in
-- `Kind::columns` order.

ALTER TABLE subscriptions ADD COLUMN due_at BIGINT;
ALTER TABLE subscriptions ADD COLUMN test_clock TEXT;
ALTER TABLE subscriptions ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_due_at ON subscriptions(due_at) WHERE due_at IS NOT NULL;
CREATE INDEX subscriptions_test_clock ON subscriptions(test_clock, due_at) WHERE test_clock IS NOT NULL;
CREATE INDEX subscriptions_locked_until ON subscriptions(locked_until);

ALTER TABLE customers ADD COLUMN test_clock TEXT;
CREATE INDEX customers_test_clock ON customers(account_id, test_clock, seq);

-- Kind::TestClock. `status` is ready or advancing; `locked_until` the advance's lease.
CREATE TABLE test_clocks (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id   TEXT NOT NULL,
    id           TEXT NOT NULL,
    created      BIGINT NOT NULL,
    data         TEXT NOT NULL,
    status       TEXT NOT NULL,
    locked_until BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX test_clocks_account_seq ON test_clocks(account_id, seq);
CREATE INDEX test_clocks_status ON test_clocks(status, locked_until);
CREATE INDEX test_clocks_locked_until ON test_clocks(locked_until);
