//! Migrations: the SQL files under `migrations/sqlite/`, embedded at compile time and applied in
//! order on open, each in its own `BEGIN IMMEDIATE` transaction together with its row in
//! `schema_migrations`, so a migration is applied whole or not at all, and two processes opening
//! the same new file cannot both apply it. Opening an up-to-date database applies nothing.

use kassa_core::time::{Clock, SystemClock};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::error::map;
use kassa_core::store::StoreError;

/// `(version, name, sql)`, in the order they apply. Versions only ever grow.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/001_init.sql")),
    (2, "payments", include_str!("../../migrations/sqlite/002_payments.sql")),
    (3, "webhooks", include_str!("../../migrations/sqlite/003_webhooks.sql")),
    (4, "billing", include_str!("../../migrations/sqlite/004_billing.sql")),
    (5, "webhook_scheduling", include_str!("../../migrations/sqlite/005_webhook_scheduling.sql")),
    (6, "api_keys", include_str!("../../migrations/sqlite/006_api_keys.sql")),
    (7, "setup_intents", include_str!("../../migrations/sqlite/007_setup_intents.sql")),
    (8, "shipping_rates", include_str!("../../migrations/sqlite/008_shipping_rates.sql")),
    (9, "tax_rates", include_str!("../../migrations/sqlite/009_tax_rates.sql")),
    (10, "dashboard", include_str!("../../migrations/sqlite/010_dashboard.sql")),
    (11, "charges_refunds", include_str!("../../migrations/sqlite/011_charges_refunds.sql")),
    (12, "billing_portal", include_str!("../../migrations/sqlite/012_billing_portal.sql")),
    (13, "subscriptions_api", include_str!("../../migrations/sqlite/013_subscriptions_api.sql")),
    (14, "session_indexes", include_str!("../../migrations/sqlite/014_session_indexes.sql")),
    (15, "delivery_event_status", include_str!("../../migrations/sqlite/015_delivery_event_status.sql")),
    (16, "inline_prices", include_str!("../../migrations/sqlite/016_inline_prices.sql")),
];

/// Columns without an `(account_id, <column>, seq)` index of their own: no list filters on them
/// alone (a session's `expires_at` is filtered only together with its status; 014 dropped its
/// index). The schema tests of both backends skip them.
#[cfg(test)]
pub(crate) const UNINDEXED: &[(kassa_core::store::Kind, kassa_core::store::Column)] = &[
    (kassa_core::store::Kind::CheckoutSession, kassa_core::store::Column::ExpiresAt),
    // Every list and find of prices carries `inline = 0`, which the price indexes' `WHERE` holds.
    (kassa_core::store::Kind::Price, kassa_core::store::Column::Inline),
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)",
    )
    .map_err(map)?;

    let newest_known = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
    let newest_applied: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0))
        .optional()
        .map_err(map)?
        .flatten();
    if let Some(v) = newest_applied.filter(|v| *v > newest_known) {
        return Err(StoreError::Backend(format!(
            "the database's schema (version {v}) is newer than this kassa knows (version {newest_known})"
        )));
    }

    for &(version, name, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map)?;
        let applied: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| {
                r.get(0)
            })
            .map_err(map)?;
        if !applied {
            tx.execute_batch(sql).map_err(map)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                [version, SystemClock.now()],
            )
            .map_err(map)?;
            tracing::info!(version, name, "applied SQLite migration");
        }
        tx.commit().map_err(map)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sqlite::sql::BASE_COLUMNS;
    use kassa_core::store::{Column, Kind};

    fn migrated() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("schema.db")).unwrap();
        migrate(&mut conn).unwrap();
        (dir, conn)
    }

    fn table_info(conn: &Connection, table: &str) -> Vec<(String, String)> {
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})")).unwrap();
        stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn indexes(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("PRAGMA index_list({table})")).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(1)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    /// The migration must declare, for every kind, exactly the columns the core declares.
    #[test]
    fn tables_match_the_core_declaration() {
        let (_dir, conn) = migrated();
        for &kind in Kind::ALL {
            let info = table_info(&conn, kind.table());
            let names: Vec<&str> = info.iter().map(|(n, _)| n.as_str()).collect();
            let mut want: Vec<&str> = BASE_COLUMNS.to_vec();
            want.extend(kind.columns().iter().map(|c| c.name()));
            assert_eq!(names, want, "columns of {}", kind.table());

            for (name, ty) in &info {
                let integer = matches!(
                    name.as_str(),
                    "seq"
                        | "created"
                        | "active"
                        | "inclusive"
                        | "inline"
                        | "expires_at"
                        | "locked_until"
                        | "due_at"
                );
                assert_eq!(ty, if integer { "INTEGER" } else { "TEXT" }, "type of {}.{name}", kind.table());
            }

            let idx = indexes(&conn, kind.table());
            let want_index = format!("{}_account_seq", kind.table());
            assert!(idx.contains(&want_index), "{} lacks {want_index}: {idx:?}", kind.table());
            for c in kind.columns().iter().filter(|c| !UNINDEXED.contains(&(kind, **c))) {
                let want_index = format!("{}_{}", kind.table(), c.name());
                assert!(idx.contains(&want_index), "{} lacks {want_index}: {idx:?}", kind.table());
            }
        }
        assert!(indexes(&conn, "promotion_codes").contains(&"promotion_codes_active_code".to_owned()));
        // One index for the key and the hosted page's lookup by id (014).
        let sessions = indexes(&conn, "checkout_sessions");
        assert!(
            !sessions.iter().any(|i| i == "checkout_sessions_by_id" || i == "checkout_sessions_expires_at")
        );
        let key: Vec<String> = conn
            .prepare(
                "SELECT name FROM pragma_index_info('sqlite_autoindex_checkout_sessions_1') ORDER BY seqno",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(key, ["id", "account_id"]);
        assert!(indexes(&conn, "checkout_sessions").contains(&"checkout_sessions_expiry".to_owned()));
        assert_eq!(Kind::PromotionCode.columns()[1], Column::Code);
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let (_dir, mut conn) = migrated();
        let schema = |c: &Connection| -> Vec<String> {
            let mut stmt =
                c.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };
        let before = schema(&conn);
        migrate(&mut conn).unwrap();
        assert_eq!(schema(&conn), before);
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0)).unwrap();
        assert_eq!(usize::try_from(n).unwrap(), MIGRATIONS.len());
    }

    /// A database as a kassa that knew migrations up to `version` left it.
    fn migrated_to(version: i64) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("old.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)",
        )
        .unwrap();
        for &(v, _, sql) in MIGRATIONS.iter().filter(|m| m.0 <= version) {
            conn.execute_batch(sql).unwrap();
            conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 0)", [v]).unwrap();
        }
        (dir, conn)
    }

    /// A database made before the payment tables existed gains them, and keeps its records.
    #[test]
    fn a_version_1_database_migrates_forward() {
        let (_dir, mut conn) = migrated_to(1);
        conn.execute(
            "INSERT INTO products (account_id, id, created, data, active) VALUES ('acct_1', 'prod_1', 1, '{}', 1)",
            [],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, created) VALUES ('acct_1', 'Old', 1);
             INSERT INTO api_keys (hash, account_id, last4, created) VALUES ('h1', 'acct_1', 'abcd', 1);
             INSERT INTO api_keys (hash, account_id, last4, created) VALUES ('h2', 'acct_1', 'efgh', 2);",
        )
        .unwrap();
        assert!(table_info(&conn, "invoices").is_empty());

        migrate(&mut conn).unwrap();
        for kind in [Kind::PaymentIntent, Kind::PaymentMethod, Kind::Subscription, Kind::Invoice] {
            assert!(!table_info(&conn, kind.table()).is_empty(), "{} missing", kind.table());
        }
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
        let versions: Vec<i64> = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(versions, MIGRATIONS.iter().map(|m| m.0).collect::<Vec<_>>());
        // Keys made before 006 got distinct handles, and are active and unused.
        let ids: Vec<String> = conn
            .prepare(
                "SELECT id FROM api_keys WHERE expires_at IS NULL AND revoked_at IS NULL AND last_used IS NULL \
                 ORDER BY created",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ids.len(), 2);
        assert!(ids.iter().all(|id| id.starts_with("key_") && id.len() == 28), "{ids:?}");
        assert_ne!(ids[0], ids[1]);
    }

    /// Webhook queues left by the endpoint-by-endpoint worker: pending deliveries become due when
    /// their next attempt is (due at once when it waited behind another), finished ones are never
    /// due, and no endpoint keeps the old worker's lease or retry time.
    #[test]
    fn webhook_queues_migrate_to_per_delivery_scheduling() {
        let (_dir, mut conn) = migrated_to(4);
        conn.execute_batch(crate::upgrade_fixtures::WEBHOOK_QUEUE).unwrap();
        migrate(&mut conn).unwrap();
        let due: Vec<Option<i64>> = conn
            .prepare("SELECT due_at FROM webhook_deliveries ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(due, crate::upgrade_fixtures::WEBHOOK_QUEUE_DUE);
        let (locked, data): (i64, String) = conn
            .query_row("SELECT locked_until, data FROM webhook_endpoints", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(locked, 0);
        let data: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(data, crate::upgrade_fixtures::webhook_endpoint_after());
    }

    /// 014 rebuilds the sessions' table: every row keeps its `seq` and columns, the counter
    /// goes on from where it was (past deleted rows), and the key is still unique.
    #[test]
    fn sessions_keep_their_rows_and_sequence_through_014() {
        let (_dir, mut conn) = migrated_to(13);
        conn.execute_batch(
            "INSERT INTO checkout_sessions (account_id, id, created, data, status, customer, expires_at) VALUES
               ('acct_1', 'cs_1', 1, '{\"a\":1}', 'open', NULL, 10),
               ('acct_1', 'cs_2', 2, '{}', 'complete', 'cus_1', 20),
               ('acct_2', 'cs_3', 3, '{}', 'expired', NULL, 30),
               ('acct_2', 'cs_4', 4, '{}', 'open', NULL, 40);
             DELETE FROM checkout_sessions WHERE id = 'cs_4';",
        )
        .unwrap();
        let rows = |c: &Connection| -> Vec<(i64, String, String, String, Option<String>, i64)> {
            c.prepare("SELECT seq, account_id, id, status, customer, expires_at FROM checkout_sessions ORDER BY seq")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let before = rows(&conn);
        migrate(&mut conn).unwrap();
        assert_eq!(rows(&conn), before);
        let data: String =
            conn.query_row("SELECT data FROM checkout_sessions WHERE id = 'cs_1'", [], |r| r.get(0)).unwrap();
        assert_eq!(data, r#"{"a":1}"#);
        conn.execute(
            "INSERT INTO checkout_sessions (account_id, id, created, data, status, expires_at) \
             VALUES ('acct_2', 'cs_5', 5, '{}', 'open', 50)",
            [],
        )
        .unwrap();
        let seq: i64 =
            conn.query_row("SELECT seq FROM checkout_sessions WHERE id = 'cs_5'", [], |r| r.get(0)).unwrap();
        assert_eq!(seq, 5, "a deleted session's seq was handed out again");
        let err = conn
            .execute(
                "INSERT INTO checkout_sessions (account_id, id, created, data, status, expires_at) \
                 VALUES ('acct_2', 'cs_5', 6, '{}', 'open', 60)",
                [],
            )
            .unwrap_err();
        assert!(matches!(map(err), StoreError::Conflict(kassa_core::store::Constraint::PrimaryKey)));
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%checkout_sessions_014%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let (_dir, mut conn) = migrated();
        conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)", []).unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::Backend(m)) if m.contains("newer")));
    }

    #[test]
    fn migration_versions_ascend() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
