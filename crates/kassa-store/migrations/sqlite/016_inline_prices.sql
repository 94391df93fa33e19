-- 016_inline_prices: prices made inline by a checkout session's `price_data` are reachable by id
-- only, as on Stripe (its price list excludes inline prices), so every index of the table but
-- the key's leaves them out. A session with `price_data` then writes one index entry for its
-- price instead of six; lists and finds of prices carry `inline = 0` (`Kind::listed`), spelled
-- exactly as these indexes' `WHERE`, which is what lets SQLite use them.
--
-- Prices made before this migration are all marked as listed (0): nothing in an old price's
-- document tells an inline one apart, and listing them is what kassa did until now.

ALTER TABLE prices ADD COLUMN inline INTEGER NOT NULL DEFAULT 0;

DROP INDEX prices_account_seq;
DROP INDEX prices_active;
DROP INDEX prices_product;
DROP INDEX prices_currency;
DROP INDEX prices_type;
CREATE INDEX prices_account_seq ON prices(account_id, seq) WHERE inline = 0;
CREATE INDEX prices_active ON prices(account_id, active, seq) WHERE inline = 0;
CREATE INDEX prices_product ON prices(account_id, product, seq) WHERE inline = 0;
CREATE INDEX prices_currency ON prices(account_id, currency, seq) WHERE inline = 0;
CREATE INDEX prices_type ON prices(account_id, type, seq) WHERE inline = 0;
