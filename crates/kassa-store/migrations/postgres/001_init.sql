-- 001_init (PostgreSQL): accounts, their API keys, and one table per record kind
-- (kassa_core::store::Kind). The same tables and indexes as migrations/sqlite/001_init.sql.
--
-- Every record table has the same five leading columns (seq, account_id, id, created, data)
-- followed by exactly the columns `Kind::columns()` declares, in that order; a test in
-- src/postgres/schema.rs compares the migrated database against the core's declaration.
-- Booleans are BIGINT 0/1 and timestamps BIGINT Unix seconds, as on SQLite, so that a `Value`
-- means the same on both backends; everything else is TEXT. `data` is TEXT rather than JSONB:
-- the document comes back byte for byte as written (JSONB would reorder keys and reformat it), and
-- nothing queries inside it. A column is NOT NULL where the domain field is not optional.
--
-- Keys and indexes: `(account_id, id)` is the primary key (`<table>_pkey`, the `primary_key`
-- conflict); `seq`, an identity column, orders records by insertion and needs no unique index of
-- its own; (account_id, seq) serves lists, which run newest first; (account_id, <column>, seq)
-- serves filtered lists.

CREATE TABLE accounts (
    id      TEXT PRIMARY KEY NOT NULL,
    name    TEXT NOT NULL,
    created BIGINT NOT NULL
);

CREATE TABLE api_keys (
    hash       TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    last4      TEXT NOT NULL,
    created    BIGINT NOT NULL
);
CREATE INDEX api_keys_account ON api_keys(account_id);

-- Kind::Product
CREATE TABLE products (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    active     BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX products_account_seq ON products(account_id, seq);
CREATE INDEX products_active ON products(account_id, active, seq);

-- Kind::Price
CREATE TABLE prices (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    active     BIGINT NOT NULL,
    product    TEXT NOT NULL,
    currency   TEXT NOT NULL,
    type       TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX prices_account_seq ON prices(account_id, seq);
CREATE INDEX prices_active ON prices(account_id, active, seq);
CREATE INDEX prices_product ON prices(account_id, product, seq);
CREATE INDEX prices_currency ON prices(account_id, currency, seq);
CREATE INDEX prices_type ON prices(account_id, type, seq);

-- Kind::Customer
CREATE TABLE customers (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    email      TEXT,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX customers_account_seq ON customers(account_id, seq);
CREATE INDEX customers_email ON customers(account_id, email, seq);

-- Kind::Coupon
CREATE TABLE coupons (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX coupons_account_seq ON coupons(account_id, seq);

-- Kind::PromotionCode. `code` is the folded (lowercase) code; an active one is unique per account.
CREATE TABLE promotion_codes (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    active     BIGINT NOT NULL,
    code       TEXT NOT NULL,
    coupon     TEXT NOT NULL,
    customer   TEXT,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX promotion_codes_account_seq ON promotion_codes(account_id, seq);
CREATE INDEX promotion_codes_active ON promotion_codes(account_id, active, seq);
CREATE INDEX promotion_codes_code ON promotion_codes(account_id, code, seq);
CREATE INDEX promotion_codes_coupon ON promotion_codes(account_id, coupon, seq);
CREATE INDEX promotion_codes_customer ON promotion_codes(account_id, customer, seq);
CREATE UNIQUE INDEX promotion_codes_active_code ON promotion_codes(account_id, code) WHERE active = 1;

-- Kind::CheckoutSession
CREATE TABLE checkout_sessions (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id     TEXT NOT NULL,
    id             TEXT NOT NULL,
    created        BIGINT NOT NULL,
    data           TEXT NOT NULL,
    status         TEXT NOT NULL,
    customer       TEXT,
    payment_intent TEXT,
    subscription   TEXT,
    expires_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX checkout_sessions_account_seq ON checkout_sessions(account_id, seq);
CREATE INDEX checkout_sessions_status ON checkout_sessions(account_id, status, seq);
-- Nullable columns are indexed only where set: a new session (none set) costs no update of them,
-- and `col = $1` filters still use them (the planner proves that `col = $1` implies
-- `col IS NOT NULL`).
CREATE INDEX checkout_sessions_customer ON checkout_sessions(account_id, customer, seq) WHERE customer IS NOT NULL;
CREATE INDEX checkout_sessions_payment_intent ON checkout_sessions(account_id, payment_intent, seq) WHERE payment_intent IS NOT NULL;
CREATE INDEX checkout_sessions_subscription ON checkout_sessions(account_id, subscription, seq) WHERE subscription IS NOT NULL;
CREATE INDEX checkout_sessions_expires_at ON checkout_sessions(account_id, expires_at, seq);
-- The expiry sweep looks across all accounts (Scope::All) for open sessions past expires_at.
CREATE INDEX checkout_sessions_expiry ON checkout_sessions(status, expires_at);

-- Kind::IdempotencyKey
CREATE TABLE idempotency_keys (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX idempotency_keys_account_seq ON idempotency_keys(account_id, seq);
-- Old keys are pruned across all accounts by age.
CREATE INDEX idempotency_keys_created ON idempotency_keys(created);

-- The hosted page finds a session by its id alone (the id is the capability).
CREATE INDEX checkout_sessions_by_id ON checkout_sessions (id);
