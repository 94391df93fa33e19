-- 003_webhooks (PostgreSQL): the event log and the webhook outbox (SPEC §11).
--
-- Same table shape as 001/002: (seq, account_id, id, created, data) then `Kind::columns()` in
-- order. An event's deliveries are written in the event's own transaction; the delivery worker
-- claims an endpoint (a lease in `locked_until`) and sends its pending deliveries oldest first.

-- Kind::Event. `type` is the event type (`checkout.session.completed`, ...).
CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    type       TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX events_account_seq ON events(account_id, seq);
CREATE INDEX events_type ON events(account_id, type, seq);

-- Kind::WebhookEndpoint. `status` is enabled or disabled; `locked_until` is the delivery lease.
CREATE TABLE webhook_endpoints (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id   TEXT NOT NULL,
    id           TEXT NOT NULL,
    created      BIGINT NOT NULL,
    data         TEXT NOT NULL,
    status       TEXT NOT NULL,
    locked_until BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX webhook_endpoints_account_seq ON webhook_endpoints(account_id, seq);
CREATE INDEX webhook_endpoints_status ON webhook_endpoints(status, locked_until, seq);
CREATE INDEX webhook_endpoints_locked_until ON webhook_endpoints(locked_until);

-- Kind::WebhookDelivery: one event for one endpoint. `status` is pending, succeeded or failed.
CREATE TABLE webhook_deliveries (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id       TEXT NOT NULL,
    id               TEXT NOT NULL,
    created          BIGINT NOT NULL,
    data             TEXT NOT NULL,
    webhook_endpoint TEXT NOT NULL,
    event            TEXT NOT NULL,
    status           TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX webhook_deliveries_account_seq ON webhook_deliveries(account_id, seq);
CREATE INDEX webhook_deliveries_webhook_endpoint ON webhook_deliveries(account_id, webhook_endpoint, status, seq);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(account_id, event, seq);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries(account_id, status, seq);
