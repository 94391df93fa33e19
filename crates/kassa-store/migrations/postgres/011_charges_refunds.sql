-- 011_charges_refunds (PostgreSQL): Kind::Charge (every payment attempt that reached the test network) and
-- Kind::Refund (money given back on a charge), issue 17; and `sequences`, the per-account counters
-- that number invoices (`Tx::next_in_sequence`), one row per account and sequence, incremented in
-- the transaction that takes a number so that two finalizations never share one.
--
-- The record tables have the shape of every record table of 001_init: the five leading columns,
-- then exactly the columns `Kind::columns()` declares, in that order.

-- Kind::Charge
CREATE TABLE charges (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id     TEXT NOT NULL,
    id             TEXT NOT NULL,
    created        BIGINT NOT NULL,
    data           TEXT NOT NULL,
    customer       TEXT,
    payment_intent TEXT,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX charges_account_seq ON charges(account_id, seq);
CREATE INDEX charges_customer ON charges(account_id, customer, seq);
CREATE INDEX charges_payment_intent ON charges(account_id, payment_intent, seq);

-- Kind::Refund
CREATE TABLE refunds (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id     TEXT NOT NULL,
    id             TEXT NOT NULL,
    created        BIGINT NOT NULL,
    data           TEXT NOT NULL,
    charge         TEXT NOT NULL,
    payment_intent TEXT,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX refunds_account_seq ON refunds(account_id, seq);
CREATE INDEX refunds_charge ON refunds(account_id, charge, seq);
CREATE INDEX refunds_payment_intent ON refunds(account_id, payment_intent, seq);

CREATE TABLE sequences (
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- An invoice's hosted page (`/i/{id}/{token}`) finds it by id alone.
CREATE INDEX invoices_by_id ON invoices (id);
