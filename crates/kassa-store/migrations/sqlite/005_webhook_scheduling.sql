-- 005_webhook_scheduling: webhook deliveries are scheduled one by one instead of endpoint by
-- endpoint (SPEC §11: a failing event never holds back later ones).
--
-- Deliveries gain `due_at`: when a worker may next attempt one (its next attempt, or the end of
-- the lease of the attempt in flight); NULL once it has succeeded or failed. Claims look for an
-- endpoint's due deliveries through `webhook_deliveries_due_at`, which holds pending ones only.
-- An endpoint's `locked_until` now means "every delivery slot is taken until then" rather than a
-- lease on its whole queue; the leases and retry times the old worker left there are cleared,
-- so no endpoint waits for them.

ALTER TABLE webhook_deliveries ADD COLUMN due_at INTEGER;
UPDATE webhook_deliveries
   SET due_at = COALESCE(json_extract(data, '$.next_attempt_at'), 0)
 WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due_at ON webhook_deliveries(account_id, webhook_endpoint, due_at)
    WHERE due_at IS NOT NULL;

UPDATE webhook_endpoints
   SET locked_until = 0,
       data = json_remove(json_set(data, '$.locked_until', 0), '$.lease');
