//! The conformance suite against `SqliteStore`, each scenario on a fresh temporary file, plus a
//! throughput check of group commit (ignored by default; run it with
//! `cargo test -p kassa-store --features conformance --release --test sqlite -- --ignored --nocapture`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use kassa_core::store::{Cursor, Kind, ListQuery, RawRecord, Store, Value, transact};
use kassa_store::conformance::{self, TestDatabase};
use kassa_store::sqlite::TempSqlite;
use kassa_store::{SqliteOptions, WriterStats};

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let db = TempSqlite::new();
            conformance::$name(db.open()).await;
        }
    )*};
}

scenarios!(
    accounts,
    api_keys,
    round_trip_every_kind,
    account_isolation,
    duplicate_ids,
    nul_lookups,
    promotion_code_uniqueness,
    list_paging,
    session_paging,
    list_filters,
    inline_prices,
    rollback_on_error,
    rollback_is_isolated_in_a_batch,
    update_and_delete,
    a_transaction_reads_its_own_writes,
    reads_asked_for_ahead,
    writes_in_a_row,
    reads_by_id_in_a_transaction,
    views,
    find_and_delete_where,
    billing_records,
    concurrency,
    single_inserts,
    multi_record_inserts,
    concurrent_reads,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn durability() {
    let db = TempSqlite::new();
    conformance::durability(&db).await;
}

/// Insert `total` products, one transaction each, from `tasks` concurrent tasks that each await
/// their commit before the next; the rate and the writer's counters.
async fn single_insert_rate(options: SqliteOptions, total: usize, tasks: usize) -> (f64, WriterStats) {
    let db = TempSqlite::with_options(options);
    let store = Arc::new(db.open_sqlite());

    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in (t..total).step_by(tasks) {
                    let record = RawRecord {
                        kind: Kind::Product,
                        account: "acct_bench".into(),
                        id: format!("prod_{i:06}"),
                        created: 1_700_000_000,
                        data: format!(
                            r#"{{"id":"prod_{i:06}","object":"product","name":"Bench product","active":true}}"#
                        ),
                        columns: vec![Value::Int(1)],
                    };
                    transact(store.as_ref(), move |tx| tx.insert(&record)).await.unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let rate = f64::from(u32::try_from(total).unwrap()) / started.elapsed().as_secs_f64();

    let all = store
        .get_many("acct_bench", (0..total).map(|i| (Kind::Product, format!("prod_{i:06}"))).collect())
        .await
        .unwrap();
    assert_eq!(all.len(), total);
    let page = store
        .list("acct_bench", Kind::Product, ListQuery { filters: vec![], limit: 1, cursor: Cursor::First })
        .await
        .unwrap();
    assert!(page.has_more);
    (rate, store.writer_stats())
}

/// 20 000 single-insert transactions from 64 concurrent tasks. With one fsync per transaction the
/// rate is bounded by the disk's fsync rate (measured alongside with `max_batch: 1`); group
/// commit lets a batch share one.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a throughput measurement; run with --release -- --ignored --nocapture"]
async fn throughput_of_single_insert_transactions() {
    let (rate, stats) = single_insert_rate(SqliteOptions::default(), 20_000, 64).await;
    let per_batch = f64::from(u32::try_from(stats.transactions).unwrap())
        / f64::from(u32::try_from(stats.batches).unwrap());
    println!(
        "group commit: 20000 single-insert transactions from 64 tasks: {rate:.0} commits/s acknowledged \
         (WAL, synchronous=FULL); {} batches, {per_batch:.1} transactions per batch",
        stats.batches
    );
    let (rate, _) = single_insert_rate(SqliteOptions { max_batch: 1, ..Default::default() }, 2_000, 64).await;
    println!("one fsync per transaction (max_batch 1): 2000 transactions from 64 tasks: {rate:.0} commits/s");
}
