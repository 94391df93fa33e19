-- 013_subscriptions_api (PostgreSQL): Kind::InvoiceItem, the amounts `POST /invoiceitems` adds
-- to a customer's next invoice (issue 17). `status` is `pending` until an invoice collects it,
-- then `invoiced`.
--
-- The same shape as every record table of 001_init: the five leading columns, then exactly the
-- columns `Kind::columns()` declares, in that order.

CREATE TABLE invoice_items (
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
CREATE INDEX invoice_items_account_seq ON invoice_items(account_id, seq);
CREATE INDEX invoice_items_customer ON invoice_items(account_id, customer, status, seq);
CREATE INDEX invoice_items_subscription ON invoice_items(account_id, subscription, seq);
CREATE INDEX invoice_items_status ON invoice_items(account_id, status, seq);
