-- 009_tax_rates: Kind::TaxRate (`/tax_rates`). Lists filter on `active` and `inclusive`.

CREATE TABLE tax_rates (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    active     BIGINT NOT NULL,
    inclusive  BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX tax_rates_account_seq ON tax_rates(account_id, seq);
CREATE INDEX tax_rates_active ON tax_rates(account_id, active, seq);
CREATE INDEX tax_rates_inclusive ON tax_rates(account_id, inclusive, seq);
