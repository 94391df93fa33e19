-- 009_tax_rates: Kind::TaxRate (`/tax_rates`). Lists filter on `active` and `inclusive`.

CREATE TABLE tax_rates (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    INTEGER NOT NULL,
    data       TEXT NOT NULL,
    active     INTEGER NOT NULL,
    inclusive  INTEGER NOT NULL,
    UNIQUE (account_id, id)
);
CREATE INDEX tax_rates_account_seq ON tax_rates(account_id, seq);
CREATE INDEX tax_rates_active ON tax_rates(account_id, active, seq);
CREATE INDEX tax_rates_inclusive ON tax_rates(account_id, inclusive, seq);
