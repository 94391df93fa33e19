//! Rows as older versions of kassa left them, for the tests that migrate them forward on both
//! backends (each backend's `schema` tests).

/// Webhook rows as the endpoint-by-endpoint worker (before migration 5) left them: an endpoint
/// holding that worker's lease, a delivery waiting for its retry, one waiting behind it (due), and
/// one delivered.
pub(crate) const WEBHOOK_QUEUE: &str = r#"
    INSERT INTO webhook_endpoints (account_id, id, created, data, status, locked_until)
      VALUES ('acct_1', 'we_1', 1, '{"id":"we_1","locked_until":5000,"lease":"tok"}', 'enabled', 5000);
    INSERT INTO webhook_deliveries (account_id, id, created, data, webhook_endpoint, event, status)
      VALUES ('acct_1', 'whdel_1', 1, '{"next_attempt_at":4000}', 'we_1', 'evt_1', 'pending'),
             ('acct_1', 'whdel_2', 2, '{"next_attempt_at":null}', 'we_1', 'evt_2', 'pending'),
             ('acct_1', 'whdel_3', 3, '{"next_attempt_at":null}', 'we_1', 'evt_3', 'succeeded');"#;

/// The deliveries' `due_at` after migration 5, in `seq` order: when the retry is due, due at once,
/// never.
pub(crate) const WEBHOOK_QUEUE_DUE: [Option<i64>; 3] = [Some(4000), Some(0), None];

/// The endpoint's document after migration 5: no lease, nothing holding it.
pub(crate) fn webhook_endpoint_after() -> serde_json::Value {
    serde_json::json!({"id": "we_1", "locked_until": 0})
}
