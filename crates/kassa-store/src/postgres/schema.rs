//! Migrations: the SQL files under `migrations/postgres/`, embedded at compile time and applied in
//! order, each in its own transaction together with its row in `schema_migrations`, so a
//! migration is applied whole or not at all. Opening an up-to-date database applies nothing, and
//! a database migrated by a newer kassa (a version this one does not know) is refused.
//!
//! Several nodes may start at once on one new database. Every migration transaction first takes
//! a transaction-scoped advisory lock (`pg_advisory_xact_lock`), so they queue up: the first
//! applies a migration, the others then find its row and skip it. Transaction-scoped rather than
//! session-scoped so that it holds through a transaction-mode pooler (pgbouncer), where
//! consecutive transactions may run on different server connections, and is released by the
//! server whatever happens to the client.
//!
//! Only simple queries and unnamed statements are used here, never a named prepared statement,
//! for the same reason.

use kassa_core::store::StoreError;
use kassa_core::time::{Clock, SystemClock};
use tokio_postgres::Client;
use tokio_postgres::types::Type;

use super::error::map;

/// `(version, name, sql)`, in the order they apply; one file per SQLite migration, with the same
/// numbers and names. Versions only ever grow.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/001_init.sql")),
    (2, "payments", include_str!("../../migrations/postgres/002_payments.sql")),
    (3, "webhooks", include_str!("../../migrations/postgres/003_webhooks.sql")),
    (4, "billing", include_str!("../../migrations/postgres/004_billing.sql")),
    (5, "webhook_scheduling", include_str!("../../migrations/postgres/005_webhook_scheduling.sql")),
    (6, "api_keys", include_str!("../../migrations/postgres/006_api_keys.sql")),
    (7, "setup_intents", include_str!("../../migrations/postgres/007_setup_intents.sql")),
    (8, "shipping_rates", include_str!("../../migrations/postgres/008_shipping_rates.sql")),
    (9, "tax_rates", include_str!("../../migrations/postgres/009_tax_rates.sql")),
    (10, "dashboard", include_str!("../../migrations/postgres/010_dashboard.sql")),
    (11, "charges_refunds", include_str!("../../migrations/postgres/011_charges_refunds.sql")),
    (12, "billing_portal", include_str!("../../migrations/postgres/012_billing_portal.sql")),
    (13, "subscriptions_api", include_str!("../../migrations/postgres/013_subscriptions_api.sql")),
    (14, "session_indexes", include_str!("../../migrations/postgres/014_session_indexes.sql")),
    (15, "delivery_event_status", include_str!("../../migrations/postgres/015_delivery_event_status.sql")),
    (16, "inline_prices", include_str!("../../migrations/postgres/016_inline_prices.sql")),
];

/// The advisory lock that serializes migrations ("kassa_mg"). Advisory locks are per database.
const LOCK: i64 = 0x6b61_7373_615f_6d67;

/// Bring the schema up to date. `client` must be outside any transaction.
pub(crate) async fn migrate(client: &Client) -> Result<(), StoreError> {
    let newest_known = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
    let newest_applied = locked(client, async {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations \
                 (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .await?;
        let row = client.query_typed_one("SELECT MAX(version) FROM schema_migrations", &[]).await?;
        row.try_get::<_, Option<i64>>(0)
    })
    .await?;
    if let Some(v) = newest_applied.filter(|v| *v > newest_known) {
        return Err(StoreError::Backend(format!(
            "the database's schema (version {v}) is newer than this kassa knows (version {newest_known})"
        )));
    }

    for &(version, name, sql) in MIGRATIONS {
        let applied = locked(client, async {
            let done = client
                .query_typed("SELECT 1 FROM schema_migrations WHERE version = $1", &[(&version, Type::INT8)])
                .await?;
            if !done.is_empty() {
                return Ok(false);
            }
            client.batch_execute(sql).await?;
            client
                .query_typed(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[(&version, Type::INT8), (&SystemClock.now(), Type::INT8)],
                )
                .await?;
            Ok(true)
        })
        .await?;
        if applied {
            tracing::info!(version, name, "applied PostgreSQL migration");
        }
    }
    Ok(())
}

/// Run `work` in a transaction holding the migration lock: commit if it succeeds, roll back if
/// not.
async fn locked<T>(
    client: &Client,
    work: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, StoreError> {
    client.batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({LOCK})")).await.map_err(map)?;
    match work.await {
        Ok(value) => {
            client.batch_execute("COMMIT").await.map_err(map)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = client.batch_execute("ROLLBACK").await {
                tracing::warn!(error = %map(rollback), "rolling back a failed migration failed");
            }
            Err(map(e))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::postgres::sql::{BASE_COLUMNS, column_type};
    use crate::postgres::testing::TempPostgres;
    use kassa_core::store::{Column, Kind};

    async fn rows(client: &Client, sql: &str, params: &[&str]) -> Vec<Vec<String>> {
        let typed: Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> = params
            .iter()
            .map(|p| -> (&(dyn tokio_postgres::types::ToSql + Sync), Type) { (p, Type::TEXT) })
            .collect();
        client
            .query_typed(sql, &typed)
            .await
            .unwrap()
            .iter()
            .map(|r| (0..r.len()).map(|i| r.get::<_, String>(i)).collect())
            .collect()
    }

    async fn columns(client: &Client, table: &str) -> Vec<(String, String)> {
        rows(
            client,
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[table],
        )
        .await
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
    }

    async fn indexes(client: &Client, table: &str) -> Vec<String> {
        rows(
            client,
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1",
            &[table],
        )
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
    }

    async fn schema(client: &Client) -> Vec<Vec<String>> {
        rows(
            client,
            "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes \
             WHERE schemaname = current_schema() ORDER BY 1, 2",
            &[],
        )
        .await
    }

    /// The migrations must declare, for every kind, exactly the columns the core declares, with
    /// the types `sql::column_type` binds them as, and the indexes the SQLite schema has.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn tables_match_the_core_declaration() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let client = db.connect().await;
        migrate(&client).await.unwrap();
        for &kind in Kind::ALL {
            let info = columns(&client, kind.table()).await;
            let names: Vec<&str> = info.iter().map(|(n, _)| n.as_str()).collect();
            let mut want: Vec<&str> = BASE_COLUMNS.to_vec();
            want.extend(kind.columns().iter().map(|c| c.name()));
            assert_eq!(names, want, "columns of {}", kind.table());

            for (name, ty) in &info {
                let integer = match kind.columns().iter().find(|c| c.name() == name) {
                    Some(c) => column_type(*c) == Type::INT8,
                    None => matches!(name.as_str(), "seq" | "created"),
                };
                assert_eq!(ty, if integer { "bigint" } else { "text" }, "type of {}.{name}", kind.table());
            }

            let idx = indexes(&client, kind.table()).await;
            for want_index in [format!("{}_pkey", kind.table()), format!("{}_account_seq", kind.table())] {
                assert!(idx.contains(&want_index), "{} lacks {want_index}: {idx:?}", kind.table());
            }
            for c in kind.columns().iter().filter(|c| !crate::sqlite::UNINDEXED.contains(&(kind, **c))) {
                let want_index = format!("{}_{}", kind.table(), c.name());
                assert!(idx.contains(&want_index), "{} lacks {want_index}: {idx:?}", kind.table());
            }
        }
        let active_code = rows(
            &client,
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'promotion_codes_active_code'",
            &[],
        )
        .await;
        assert_eq!(
            active_code,
            [["CREATE UNIQUE INDEX promotion_codes_active_code ON public.promotion_codes USING btree \
               (account_id, code) WHERE (active = 1)"
                .to_owned()]]
        );
        assert!(indexes(&client, "checkout_sessions").await.contains(&"checkout_sessions_expiry".to_owned()));
        let key =
            rows(&client, "SELECT indexdef FROM pg_indexes WHERE indexname = 'checkout_sessions_pkey'", &[])
                .await;
        assert_eq!(
            key,
            [["CREATE UNIQUE INDEX checkout_sessions_pkey ON public.checkout_sessions USING btree (id, account_id)"
                .to_owned()]]
        );
        assert_eq!(Kind::PromotionCode.columns()[1], Column::Code);
    }

    /// The PostgreSQL schema has the same indexes, by name, as the SQLite one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn indexes_mirror_the_sqlite_schema() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let client = db.connect().await;
        migrate(&client).await.unwrap();
        // The indexes of a SQLite database with every migration applied (those a later migration
        // dropped are gone), less SQLite's own (`UNIQUE` constraints).
        let sqlite: Vec<String> = {
            let mut conn = rusqlite::Connection::open_in_memory().unwrap();
            crate::sqlite::migrate(&mut conn).unwrap();
            let mut stmt = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
                .unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };
        let postgres: Vec<String> = schema(&client).await.into_iter().map(|r| r[1].clone()).collect();
        for name in &sqlite {
            assert!(postgres.contains(name), "PostgreSQL lacks the index {name}");
        }
        // Besides those: the primary keys (SQLite's are the rowid and `UNIQUE (account_id, id)`)
        // and schema_migrations'.
        for name in &postgres {
            assert!(sqlite.contains(name) || name.ends_with("_pkey"), "PostgreSQL has an extra index {name}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn migrating_twice_is_a_no_op() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let client = db.connect().await;
        migrate(&client).await.unwrap();
        let before = schema(&client).await;
        migrate(&client).await.unwrap();
        assert_eq!(schema(&client).await, before);
        let n: i64 = client.query_one("SELECT COUNT(*) FROM schema_migrations", &[]).await.unwrap().get(0);
        assert_eq!(usize::try_from(n).unwrap(), MIGRATIONS.len());
    }

    /// A database made before the payment tables existed gains them, and keeps its records.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn a_version_1_database_migrates_forward() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let client = db.connect().await;
        client
            .batch_execute(&format!(
                "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
                 {}
                 INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0);
                 INSERT INTO products (account_id, id, created, data, active) VALUES ('acct_1', 'prod_1', 1, '{{}}', 1);
                 INSERT INTO accounts (id, name, created) VALUES ('acct_1', 'Old', 1);
                 INSERT INTO api_keys (hash, account_id, last4, created) VALUES ('h1', 'acct_1', 'abcd', 1);
                 INSERT INTO api_keys (hash, account_id, last4, created) VALUES ('h2', 'acct_1', 'efgh', 2);",
                MIGRATIONS[0].2
            ))
            .await
            .unwrap();
        assert!(columns(&client, "invoices").await.is_empty());

        migrate(&client).await.unwrap();
        for kind in [Kind::PaymentIntent, Kind::PaymentMethod, Kind::Subscription, Kind::Invoice, Kind::Event]
        {
            assert!(!columns(&client, kind.table()).await.is_empty(), "{} missing", kind.table());
        }
        let n: i64 = client.query_one("SELECT COUNT(*) FROM products", &[]).await.unwrap().get(0);
        assert_eq!(n, 1);
        assert_eq!(db.applied_migrations().await, MIGRATIONS.iter().map(|m| m.0).collect::<Vec<_>>());
        // Keys made before 006 got distinct handles, and are active and unused.
        let keys = client
            .query(
                "SELECT id FROM api_keys WHERE expires_at IS NULL AND revoked_at IS NULL AND last_used IS NULL \
                 ORDER BY created",
                &[],
            )
            .await
            .unwrap();
        let ids: Vec<String> = keys.iter().map(|r| r.get(0)).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.iter().all(|id| id.starts_with("key_") && id.len() == 28), "{ids:?}");
        assert_ne!(ids[0], ids[1]);
    }

    /// Webhook queues left by the endpoint-by-endpoint worker move to per-delivery scheduling (as
    /// the SQLite test of the same name checks there).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn webhook_queues_migrate_to_per_delivery_scheduling() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let client = db.connect().await;
        let mut sql =
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);"
                .to_owned();
        for &(version, _, migration) in MIGRATIONS.iter().filter(|m| m.0 < 5) {
            sql.push_str(migration);
            sql.push_str(&format!(
                ";INSERT INTO schema_migrations (version, applied_at) VALUES ({version}, 0);"
            ));
        }
        sql.push_str(crate::upgrade_fixtures::WEBHOOK_QUEUE);
        client.batch_execute(&sql).await.unwrap();
        migrate(&client).await.unwrap();
        let due: Vec<Option<i64>> = client
            .query("SELECT due_at FROM webhook_deliveries ORDER BY seq", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(due, crate::upgrade_fixtures::WEBHOOK_QUEUE_DUE);
        let row = client.query_one("SELECT locked_until, data FROM webhook_endpoints", &[]).await.unwrap();
        assert_eq!(row.get::<_, i64>(0), 0);
        let data: serde_json::Value = serde_json::from_str(row.get::<_, &str>(1)).unwrap();
        assert_eq!(data, crate::upgrade_fixtures::webhook_endpoint_after());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn refuses_a_newer_schema() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let client = db.connect().await;
        migrate(&client).await.unwrap();
        client
            .batch_execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)")
            .await
            .unwrap();
        assert!(matches!(migrate(&client).await, Err(StoreError::Backend(m)) if m.contains("newer")));
    }

    /// A migration that fails leaves nothing of itself behind, not even its version row.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn a_failing_migration_is_rolled_back_whole() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let client = db.connect().await;
        // Make migration 3 fail half-way: its second table already exists.
        client
            .batch_execute(&format!(
                "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
                 {} {}
                 INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0), (2, 0);
                 CREATE TABLE webhook_endpoints (x INT);",
                MIGRATIONS[0].2, MIGRATIONS[1].2
            ))
            .await
            .unwrap();
        let err = migrate(&client).await.unwrap_err();
        assert!(matches!(&err, StoreError::Backend(m) if m.contains("42P07")), "{err:?}");
        assert!(columns(&client, "events").await.is_empty(), "the first table of 003 was kept");
        let n: i64 = client.query_one("SELECT COUNT(*) FROM schema_migrations", &[]).await.unwrap().get(0);
        assert_eq!(n, 2);
        // The connection is usable again (no transaction left open).
        client.batch_execute("DROP TABLE webhook_endpoints").await.unwrap();
        migrate(&client).await.unwrap();
    }

    #[test]
    fn migration_versions_ascend() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
