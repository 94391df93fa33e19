-- The dashboard's events page counts each event's pending deliveries
-- (`account_id = ? AND event = ? AND status = 'pending'`). With only (account_id, event, seq),
-- SQLite answered that from webhook_deliveries_status (account_id, status, seq), walking every
-- pending delivery of the account (107 ms at 100,000 pending, 25 times a page). The index on the event (same name) becomes
-- (account_id, event, status, seq) serves that count and, by its prefix, every lookup of an
-- event's deliveries, which the old index served.
DROP INDEX webhook_deliveries_event;
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(account_id, event, status, seq);
