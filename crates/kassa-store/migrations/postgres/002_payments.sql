-- 002_payments (PostgreSQL): what a completed checkout creates (kassa_core::billing) —
-- payment intents, payment methods, subscriptions and invoices.
--
-- The same shape as every record table of 001_init: the five leading columns (seq, account_id,
-- id, created, data), then exactly the columns `Kind::columns()` declares, in that order (the
-- schema test in src/postgres/schema.rs holds the migrated database to the core's declaration);
-- NOT NULL where the domain field is not optional. (account_id, id) is the primary key;
-- (account_id, seq) serves lists, (account_id, <column>, seq) filtered lists.

-- Kind::PaymentIntent
CREATE TABLE payment_intents (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    customer   TEXT,
    status     TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX payment_intents_account_seq ON payment_intents(account_id, seq);
CREATE INDEX payment_intents_customer ON payment_intents(account_id, customer, seq);
CREATE INDEX payment_intents_status ON payment_intents(account_id, status, seq);

-- Kind::PaymentMethod. `type` is card, paypal or customer_balance.
CREATE TABLE payment_methods (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    customer   TEXT,
    type       TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX payment_methods_account_seq ON payment_methods(account_id, seq);
CREATE INDEX payment_methods_customer ON payment_methods(account_id, customer, seq);
CREATE INDEX payment_methods_type ON payment_methods(account_id, type, seq);

-- Kind::Subscription
CREATE TABLE subscriptions (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    customer   TEXT NOT NULL,
    status     TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX subscriptions_account_seq ON subscriptions(account_id, seq);
CREATE INDEX subscriptions_customer ON subscriptions(account_id, customer, seq);
CREATE INDEX subscriptions_status ON subscriptions(account_id, status, seq);

-- Kind::Invoice
CREATE TABLE invoices (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id   TEXT NOT NULL,
    id           TEXT NOT NULL,
    created      BIGINT NOT NULL,
    data         TEXT NOT NULL,
    customer     TEXT NOT NULL,
    subscription TEXT,
    status       TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX invoices_account_seq ON invoices(account_id, seq);
CREATE INDEX invoices_customer ON invoices(account_id, customer, seq);
CREATE INDEX invoices_subscription ON invoices(account_id, subscription, seq);
CREATE INDEX invoices_status ON invoices(account_id, status, seq);
