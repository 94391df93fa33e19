-- 005_webhook_scheduling (PostgreSQL): webhook deliveries are scheduled one by one instead of
-- endpoint by endpoint. Mirrors migrations/sqlite/005_webhook_scheduling.sql.

ALTER TABLE webhook_deliveries ADD COLUMN due_at BIGINT;
UPDATE webhook_deliveries
   SET due_at = COALESCE((data::jsonb ->> 'next_attempt_at')::bigint, 0)
 WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due_at ON webhook_deliveries(account_id, webhook_endpoint, due_at)
    WHERE due_at IS NOT NULL;

UPDATE webhook_endpoints
   SET locked_until = 0,
       data = (jsonb_set(data::jsonb, '{locked_until}', '0') - 'lease')::text;
