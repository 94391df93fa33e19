-- 008_shipping_rates: Kind::ShippingRate (issue 15), the rates a checkout session offers. Lists
-- filter on `active` and `currency`.

CREATE TABLE shipping_rates (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    INTEGER NOT NULL,
    data       TEXT NOT NULL,
    active     INTEGER NOT NULL,
    currency   TEXT NOT NULL,
    UNIQUE (account_id, id)
);
CREATE INDEX shipping_rates_account_seq ON shipping_rates(account_id, seq);
CREATE INDEX shipping_rates_active ON shipping_rates(account_id, active, seq);
CREATE INDEX shipping_rates_currency ON shipping_rates(account_id, currency, seq);
