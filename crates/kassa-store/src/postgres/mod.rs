//! The PostgreSQL backend: any number of kassa processes on one database.
//!
//! # Driver: tokio-postgres, TLS by rustls
//!
//! tokio-postgres is pure Rust and light (no OpenSSL, no aws-lc; TLS comes from rustls on the
//! *ring* provider, see below), and exposes the two things this backend leans on:
//! **pipelining** (a request goes out when its future is first polled, so `BEGIN` rides with the
//! first statement of a transaction, and `get_many`/`create_account` are one round trip) and
//! **unnamed typed statements** (`query_typed`), which make the prepared-statement cache
//! optional. sqlx would add a large dependency tree for neither; the synchronous `postgres` crate
//! owns a runtime per connection, which must not be dropped inside an async context, and cannot
//! pipeline.
//!
//! # Reads and writes
//!
//! Other reads ([`Store::get`], [`Store::list`], the account lookups, [`Store::ping`]) are async all
//! the way: a pooled connection, one statement (a list whose page comes back empty asks once more,
//! to tell an empty page from an unknown cursor), no transaction.
//!
//! [`Store::get_many`] and [`Store::insert`], the two halves of creating a checkout session, and
//! [`Store::get_by_id`], how the hosted page finds its session, are
//! async too, and **grouped** (`src/postgres/batch.rs`): concurrent calls queue, and one task per
//! queue runs what is queued as one statement per kind — a read of every key or id asked, or
//! an `INSERT … SELECT * FROM unnest(…)` that commits on its own, so under load one commit and one
//! server wake-up serve many requests, while a lone call still costs one round trip. A read that
//! spans kinds runs in one `REPEATABLE READ` snapshot.
//!
//! [`Store::transact`] and [`Store::view`] run their synchronous closure on one of the store's
//! transaction threads (`src/postgres/workers.rs`, one per local connection) with a *local*
//! connection, whose I/O runs on a single-threaded runtime of
//! its own that the blocking thread drives: each `Tx` call writes its statement, sleeps until
//! the answer and reads it on that one thread, with no hand-off to the runtime's workers. (Driving
//! the statements from the blocking thread with `Handle::block_on` while the connection's I/O ran
//! as a task on the shared runtime cost two thread wake-ups per statement, most of a checkout's
//! CPU.) The slot is reserved (waiting asynchronously) before the closure is queued for a
//! thread, so a thread is always free for it. `src/postgres/tx.rs` has the transaction itself: row locks,
//! `SKIP LOCKED` claims, conflicts that do not abort it, the answer only after `COMMIT`. One
//! difference from SQLite remains: a failed statement other than a handled conflict aborts the
//! whole transaction (PostgreSQL's rule), which then rolls back even if the closure returns `Ok`.

//! # Connections
//!
//! A bounded pool (`src/postgres/pool.rs`); its size, its wait and the statement cache come from
//! the URL: `postgres://user:pass@host/db?pool_max=16&pool_timeout=10&statement_cache=false`. kassa's own
//! parameters are taken out before the rest of the URL goes to tokio-postgres, which understands
//! the libpq ones (`connect_timeout`, `application_name`, `options`, `host=/run/postgresql`, …).
//! Defaults: 16 connections, a 10 s wait for one, a 5 s connect timeout, statements cached.
//! Errors never repeat the URL, which may carry a password.
//!
//! # TLS
//!
//! libpq's `sslmode` (`disable`, `prefer` — the default —, `require`, `verify-ca`, `verify-full`)
//! and `sslrootcert` (a PEM file, or `system`) are read here too, and taken out of the URL:
//! tokio-postgres knows neither the verifying modes nor root certificates. Every connection goes
//! through `tokio-postgres-rustls` with a rustls configuration on the *ring* provider whose
//! certificate check the mode decides (none for `prefer` and `require`, the chain for `verify-ca`,
//! chain and host name for `verify-full`; with `sslrootcert`, `require` checks the chain as libpq
//! does); without `sslrootcert` the platform's roots are used. Under `prefer`, a failed
//! handshake is followed by a plain connection, so a loopback database without working TLS goes
//! on as before. A handshake that fails says which mode and why. `src/postgres/tls.rs` has the
//! details and the departures from libpq.
//!
//! When the database goes away, every call fails as `StoreError::Unavailable` (so `ping`, and
//! `GET /health` with it, fails); dead connections are dropped, not reused, and the first call
//! after the database is back connects afresh: no restart needed.
//!
//! # Schema
//!
//! `migrations/postgres/`, the same tables, columns and indexes as SQLite's (integers `BIGINT`,
//! the rest `TEXT`, the document as `TEXT` so that it comes back byte for byte), applied on open
//! under an advisory lock so that nodes starting together are safe (`src/postgres/schema.rs`);
//! [`migrate`] runs them alone, for deployments that migrate before rolling out nodes.
//!
//! # Ordering
//!
//! Lists run newest first by `seq`, an identity column. Unlike SQLite's single writer,
//! PostgreSQL hands out `seq` values when rows are inserted, not when they commit, so a list read
//! while several transactions commit may not yet show one with a lower `seq` that commits a
//! moment later. Nothing relies on more than that: claims go through row locks, not list order.

mod batch;
mod error;
mod keys;
mod pool;
mod schema;
mod sql;
#[cfg(any(test, feature = "conformance"))]
mod testing;
mod tls;
mod tx;
mod workers;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kassa_core::account::{Account, ApiKeyRecord, KeyHash};
use kassa_core::store::{
    Abort, Cursor, Kind, ListQuery, Page, RawRecord, Store, StoreError, TxFn, TxOutcome,
};
use kassa_core::time::Timestamp;
use tokio::runtime::Handle;
use tokio_postgres::Config;
use tokio_postgres::types::Type;

pub use pool::STATEMENT_CACHE;
#[cfg(any(test, feature = "conformance"))]
pub use testing::{DEFAULT_TEST_SERVER, TempPostgres};
pub use tls::SslMode;

use crate::observer::Observer;
use batch::{Batcher, ById, Insert, Read};
use pool::{Conn, Driver, Pool};
use sql::{Param, Query};
use tls::Tls;
use tx::Mode;
use workers::Workers;

/// How long [`Store::ping`] waits for `SELECT 1`.
const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// The connect timeout when the URL sets none (`connect_timeout=…`).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a [`PostgresStore`] runs. The URL's own parameters (`pool_max`, `pool_timeout`,
/// `statement_cache`) override these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The most connections open at once (`pool_max`). Default 16. Mind the server's
    /// `max_connections` (100 by default) across all nodes.
    pub pool_max: usize,
    /// How long a call waits for a free connection before failing as `Unavailable`
    /// (`pool_timeout`, in seconds). Default 10 s.
    pub pool_timeout: Duration,
    /// Keep prepared statements per connection (`statement_cache`). Default on; turn it off
    /// behind a transaction-mode pooler such as pgbouncer.
    pub statement_cache: bool,
    /// Apply pending migrations on open. Default on.
    pub migrate: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self { pool_max: 16, pool_timeout: Duration::from_secs(10), statement_cache: true, migrate: true }
    }
}

/// kassa's [`Store`] on PostgreSQL. See the [module docs](self) for how it works.
pub struct PostgresStore {
    pool: Pool,
    inserts: Arc<Batcher<Insert>>,
    reads: Arc<Batcher<Read>>,
    reads_by_id: Arc<Batcher<ById>>,
    options: PostgresOptions,
    observer: Arc<Observer>,
    /// The threads transactions run on, one per local connection.
    workers: Workers,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("options", &self.options).finish_non_exhaustive()
    }
}

/// Run `work` to completion on a runtime of its own, on a thread of its own: callable from
/// synchronous code and from inside another runtime alike (where blocking on a future directly
/// would panic). For opening and migrating, which happen once, at startup.
pub(crate) fn on_own_thread<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, StoreError> {
    let failed = |why: String| StoreError::Backend(format!("cannot run the PostgreSQL setup thread: {why}"));
    std::thread::Builder::new()
        .name("kassa-postgres-setup".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            Ok::<T, std::io::Error>(runtime.block_on(work))
        })
        .map_err(|e| failed(e.to_string()))?
        .join()
        .map_err(|_| failed("it panicked".to_owned()))?
        .map_err(|e| failed(e.to_string()))
}

/// Split a `postgres://` / `postgresql://` URL into tokio-postgres's configuration, how to make
/// TLS connections (`sslmode`, `sslrootcert`: see `src/postgres/tls.rs`) and kassa's options (its
/// own query parameters). kassa's own and the TLS ones are taken out of the URL; the rest goes to
/// tokio-postgres. Errors name parameters, never values (but a root certificate's path).
fn parse_url(url: &str, defaults: &PostgresOptions) -> Result<(Config, Tls, PostgresOptions), StoreError> {
    let invalid = |why: &str| StoreError::Backend(format!("invalid PostgreSQL database URL: {why}"));
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(invalid("it must start with `postgres://` or `postgresql://`"));
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut options = defaults.clone();
    let mut tls = tls::TlsParams::default();
    let mut passed = Vec::new();
    let decoded = |value: &str| percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => tls.mode = Some(decoded(value)),
            "sslrootcert" => tls.root_cert = Some(decoded(value)),
            "sslcert" | "sslkey" | "sslpassword" => {
                return Err(invalid("client certificates (`sslcert`, `sslkey`) are not supported"));
            }
            "pool_max" => {
                options.pool_max = value
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| invalid("`pool_max` must be a whole number, at least 1"))?;
            }
            "pool_timeout" => {
                options.pool_timeout = value
                    .parse()
                    .map(Duration::from_secs)
                    .map_err(|_| invalid("`pool_timeout` must be a whole number of seconds"))?;
            }
            "statement_cache" => {
                options.statement_cache = match value {
                    "true" | "on" | "1" => true,
                    "false" | "off" | "0" => false,
                    _ => return Err(invalid("`statement_cache` must be `true` or `false`")),
                };
            }
            _ => passed.push(pair),
        }
    }
    let rest = if passed.is_empty() { base.to_owned() } else { format!("{base}?{}", passed.join("&")) };
    let mut config: Config = rest.parse().map_err(|e: tokio_postgres::Error| {
        let why = match std::error::Error::source(&e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        };
        invalid(&why)
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("kassa");
    }
    let tls = Tls::from_params(&tls, &mut config)?;
    Ok((config, tls, options))
}

/// Apply pending migrations to the database `url` names, and nothing else: for `kassa migrate`.
/// Blocks while it does so; safe alongside nodes starting on the same database.
pub fn migrate(url: &str) -> Result<(), StoreError> {
    let (config, tls, _) = parse_url(url, &PostgresOptions::default())?;
    migrate_config(config, tls)
}

fn migrate_config(config: Config, tls: Tls) -> Result<(), StoreError> {
    on_own_thread(async move {
        let connect_timeout = config.get_connect_timeout().copied().unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let conn = Conn::connect(&config, &tls, false, connect_timeout).await?;
        let migrated = schema::migrate(conn.client()).await;
        conn.close().await;
        migrated
    })?
}

impl PostgresStore {
    /// Open the database a `postgres://` or `postgresql://` URL names and bring its schema up to
    /// date. Blocks while it migrates: call it at startup (from async code too). Connections
    /// are opened as they are needed.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        Self::open_with(url, PostgresOptions::default())
    }

    /// [`PostgresStore::open`] with options; the URL's own parameters override them.
    pub fn open_with(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let (config, tls, options) = parse_url(url, &options)?;
        if options.migrate {
            migrate_config(config.clone(), tls.clone())?;
        }
        let connect_timeout = config.get_connect_timeout().copied().unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        tracing::info!(
            pool_max = options.pool_max,
            statement_cache = options.statement_cache,
            sslmode = %tls.mode().as_str(),
            "opened PostgreSQL store"
        );
        let pool = Pool::new(
            config,
            tls,
            options.pool_max,
            options.pool_timeout,
            connect_timeout,
            options.statement_cache,
        );
        // The grouped paths' flushers run on the runtime opening the store, if any (the server's).
        let home = Handle::try_current().ok();
        let observer = Arc::new(Observer::default());
        Ok(PostgresStore {
            inserts: Batcher::new(pool.clone(), home.clone(), observer.clone()),
            reads: Batcher::new(pool.clone(), home.clone(), observer.clone()),
            reads_by_id: Batcher::new(pool.clone(), home, observer.clone()),
            pool,
            workers: Workers::new(pool::split(options.pool_max).0),
            options,
            observer,
        })
    }

    /// The options in effect (the URL's parameters applied).
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// Run `f` in a transaction of `mode` on a local connection, on one of the transaction
    /// threads (`src/postgres/workers.rs`).
    async fn run_tx(&self, mode: Mode, f: TxFn) -> TxOutcome {
        let slot = self.pool.reserve(Driver::Local).await?;
        let observer = self.observer.clone();
        self.workers
            .run(move || {
                let started = if mode == Mode::Write { observer.start() } else { None };
                let outcome = slot.open_local().map_err(Abort::Store).and_then(|conn| tx::run(conn, mode, f));
                if outcome.is_ok() {
                    observer.committed("postgres", "transaction", 1, started);
                }
                outcome
            })
            .await?
    }

    async fn query(&self, q: &Query<'_>) -> Result<pool::Rows, StoreError> {
        self.pool.get().await?.query(q).await
    }

    async fn account(&self, q: Query<'_>) -> Result<Option<Account>, StoreError> {
        let rows = self.query(&q).await?;
        rows.rows.first().map(|row| keys::account_row(row, 0)).transpose()
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn observe(&self, observer: Arc<dyn kassa_core::store::StoreObserver>) {
        self.observer.set(observer);
    }

    fn pool_usage(&self) -> Option<kassa_core::store::PoolUsage> {
        Some(self.pool.usage())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get().await?;
        match tokio::time::timeout(PING_TIMEOUT, conn.client().simple_query("SELECT 1")).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(conn.fail(e)),
            Err(_) => {
                conn.retire();
                Err(StoreError::Unavailable(format!(
                    "PostgreSQL did not answer within {} s",
                    PING_TIMEOUT.as_secs()
                )))
            }
        }
    }

    async fn count_accounts(&self) -> Result<u64, StoreError> {
        let rows = self.query(&Query::fixed("SELECT COUNT(*) FROM accounts", vec![])).await?;
        let n: i64 = rows
            .rows
            .first()
            .ok_or_else(|| StoreError::Backend("COUNT(*) returned no row".to_owned()))?
            .try_get(0)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative account count".to_owned()))
    }

    async fn create_account(&self, account: &Account, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let text = |s| (Param::Text(s), Type::TEXT);
        let int = |i| (Param::Int(i), Type::INT8);
        let queries = [
            Query::fixed(
                "INSERT INTO accounts (id, name, created) VALUES ($1, $2, $3)",
                vec![text(&account.id), text(&account.name), int(account.created)],
            ),
            keys::insert(key),
        ];
        // Both or neither: if one insert fails, the pipelined COMMIT rolls back.
        self.pool.get().await?.pipeline(Some("BEGIN"), &queries).await.map(drop)
    }

    async fn default_account(&self) -> Result<Option<Account>, StoreError> {
        self.account(keys::default_account()).await
    }

    async fn api_key(&self, hash: &KeyHash) -> Result<Option<(ApiKeyRecord, Account)>, StoreError> {
        let rows = self.query(&keys::by_hash(hash)).await?;
        let Some(row) = rows.rows.first() else { return Ok(None) };
        Ok(Some((keys::key_row(row)?, keys::account_row(row, 8)?)))
    }

    async fn add_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.query(&keys::insert(key)).await.map(drop)
    }

    async fn api_keys(&self, account: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.query(&keys::of_account(account)).await?.rows.iter().map(keys::key_row).collect()
    }

    async fn revoke_api_key(&self, account: &str, id: &str, at: Timestamp) -> Result<bool, StoreError> {
        Ok(self.query(&keys::revoke(account, id, at)).await?.affected > 0)
    }

    async fn expire_api_key(&self, account: &str, id: &str, at: Timestamp) -> Result<bool, StoreError> {
        Ok(self.query(&keys::expire(account, id, at)).await?.affected > 0)
    }

    async fn record_key_use(&self, hash: &KeyHash, at: Timestamp) -> Result<(), StoreError> {
        self.query(&keys::record_use(hash, at)).await.map(drop)
    }

    async fn get_account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        self.account(Query::fixed(
            "SELECT id, name, created FROM accounts WHERE id = $1",
            vec![(sql::key(id), Type::TEXT)],
        ))
        .await
    }

    async fn get(&self, account: &str, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
        let rows = self.query(&sql::get(kind, account, id, false)).await?;
        rows.rows.first().map(|row| sql::decode(kind, row)).transpose()
    }

    async fn get_by_id(&self, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
        self.reads_by_id.run(ById { kind, id: id.to_owned() }).await
    }

    async fn get_many(&self, account: &str, keys: Vec<(Kind, String)>) -> Result<Vec<RawRecord>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.reads.run(Read { account: account.to_owned(), keys }).await
    }

    async fn list(&self, account: &str, kind: Kind, query: ListQuery) -> Result<Page, StoreError> {
        let mut conn = self.pool.get().await?;
        let mut data = conn
            .query(&sql::list_page(kind, account, &query)?)
            .await?
            .rows
            .iter()
            .map(|row| sql::decode(kind, row))
            .collect::<Result<Vec<_>, _>>()?;
        if data.is_empty()
            && let Cursor::After(id) | Cursor::Before(id) = &query.cursor
            && conn.query(&sql::seq_of(kind, account, id)).await?.rows.is_empty()
        {
            return Err(StoreError::CursorNotFound(id.clone()));
        }
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let has_more = data.len() > limit;
        data.truncate(limit);
        if matches!(query.cursor, Cursor::Before(_)) {
            // Fetched oldest first (the ones nearest the cursor); pages are newest first.
            data.reverse();
        }
        Ok(Page { data, has_more })
    }

    async fn view(&self, f: TxFn) -> TxOutcome {
        self.run_tx(Mode::View, f).await
    }

    async fn transact(&self, f: TxFn) -> TxOutcome {
        self.run_tx(Mode::Write, f).await
    }

    async fn insert(&self, record: RawRecord) -> Result<(), StoreError> {
        // A record that cannot be sent fails now, alone.
        sql::check_insertable(&record)?;
        self.inserts.run(Insert(vec![record])).await
    }

    async fn insert_all(&self, records: Vec<RawRecord>) -> Result<(), StoreError> {
        for record in &records {
            sql::check_insertable(record)?;
        }
        // A key twice in one write: the second meets the first, as one insert after the other.
        let mut keys = std::collections::HashSet::with_capacity(records.len());
        if !records.iter().all(|r| keys.insert((r.kind, r.account.as_str(), r.id.as_str()))) {
            return Err(StoreError::Conflict(kassa_core::store::Constraint::PrimaryKey));
        }
        if records.is_empty() {
            return Ok(());
        }
        self.inserts.run(Insert(records)).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use kassa_core::store::{Value, transact, view};

    #[test]
    fn urls() {
        let parse = |u: &str| parse_url(u, &PostgresOptions::default());
        let (config, tls, options) = parse("postgres://kassa:hunter2@db.internal:6432/kassa").unwrap();
        assert_eq!(options, PostgresOptions::default());
        assert_eq!(tls.mode(), SslMode::Prefer, "libpq's default");
        assert_eq!(config.get_dbname(), Some("kassa"));
        assert_eq!(config.get_ports(), [6432]);
        assert_eq!(config.get_connect_timeout(), Some(&DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(config.get_application_name(), Some("kassa"));

        let (config, tls, options) = parse(
            "postgresql://kassa@db/kassa?pool_max=64&statement_cache=false&connect_timeout=2\
             &pool_timeout=3&application_name=node1&sslmode=disable",
        )
        .unwrap();
        assert_eq!(tls.mode(), SslMode::Disable);
        assert_eq!(config.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
        assert_eq!(
            options,
            PostgresOptions {
                pool_max: 64,
                pool_timeout: Duration::from_secs(3),
                statement_cache: false,
                migrate: true
            }
        );
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(2)));
        assert_eq!(config.get_application_name(), Some("node1"));

        // sslmode and sslrootcert are kassa's to read (percent-encoded or not): tokio-postgres
        // knows neither verify-ca nor verify-full.
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("root ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db".to_owned()]).unwrap().self_signed(&key).unwrap();
        std::fs::write(&ca, cert.pem()).unwrap();
        let encoded = ca.to_str().unwrap().replace(' ', "%20");
        for mode in ["verify-ca", "verify-full", "require", "prefer"] {
            let (config, tls, _) =
                parse(&format!("postgres://u:hunter2@db/k?sslmode={mode}&sslrootcert={encoded}")).unwrap();
            assert_eq!(tls.mode().as_str(), mode);
            let want = if mode == "prefer" { "Prefer" } else { "Require" };
            assert_eq!(format!("{:?}", config.get_ssl_mode()), want);
        }
        let err = parse("postgres://u:hunter2@db/k?sslmode=verify-full&sslrootcert=/nonexistent/hunter2.pem")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`sslrootcert` /nonexistent/hunter2.pem"), "{err}");

        for bad in [
            "postgres://u:hunter2@db/k?sslcert=/x.pem",
            "postgres://u:hunter2@db/k?sslmode=allow",
            "postgres://u:hunter2@db/k?pool_max=0",
            "postgres://u:hunter2@db/k?pool_max=hunter2",
            "postgres://u:hunter2@db/k?statement_cache=hunter2",
            "postgres://u:hunter2@db/k?pool_timeout=-1",
            "postgres://u:hunter2@db/k?sslmode=hunter2",
            "postgres://u:hunter2@db:port/k",
            "postgres://u:hunter2@db/k?unknown=1",
            "mysql://u:hunter2@db/k",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("database error: invalid PostgreSQL database URL"), "{bad}: {err}");
            assert!(!err.contains("hunter2"), "{bad}: {err}");
        }
    }

    fn product(account: &str, id: &str) -> RawRecord {
        crate::conformance::sample(Kind::Product, account, id, 1)
    }

    /// A transaction's writes go out with `COMMIT` as one script, their values written in as
    /// literals: every character comes back as it was written, SQL-shaped text stays text, and
    /// integers keep their whole range, one row at a time or several in one statement.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn written_values_come_back_as_written() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let store = db.open_postgres();
        let nasty =
            "{\"n\":\"O'Brien \\\\' '' \\\\\\\\ '); DROP TABLE products; -- $1 $$ E'x' \\u0000 ü € 𝄞\\n\"}";
        let session = |id: &str, customer: &str, expires_at: i64| {
            let mut r = crate::conformance::sample(Kind::CheckoutSession, "acct_'1", id, -1);
            r.data = nasty.to_owned();
            r.columns = vec![
                "open".into(),
                Value::Text(customer.to_owned()),
                Value::Null,
                Value::Null,
                Value::Int(expires_at),
            ];
            r
        };
        let mut held = product("acct_'1", "prod_held");
        store.insert(held.clone()).await.unwrap();
        held.data = format!("{nasty} updated");
        let records = vec![
            session("cs_a'", "cus_\\'", i64::MIN),
            session("cs_b\\", "", i64::MAX),
            RawRecord { data: nasty.to_owned(), ..product("acct_'1", "prod_'alone") },
        ];
        let (written, update) = (records.clone(), held.clone());
        transact(&store, move |tx| {
            assert!(tx.get("acct_'1", Kind::Product, "prod_held")?.is_some());
            for r in &written {
                tx.insert_fresh(r)?;
            }
            tx.update(&update)
        })
        .await
        .unwrap();
        for r in records.iter().chain([&held]) {
            let stored = store.get(&r.account, r.kind, &r.id).await.unwrap();
            assert_eq!(stored.as_ref(), Some(r), "{}", r.id);
        }
        assert!(
            store.get("acct_'1", Kind::Product, "prod_held").await.unwrap().is_some(),
            "the table is there"
        );
    }

    /// A commit's script prepares each statement once per connection and names it after that;
    /// a script that failed before its `PREPARE` ran leaves nothing named that does not exist.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn commit_scripts_prepare_each_statement_once() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        // One connection for transactions, so every commit below goes over it.
        let db = db.with_params("pool_max=1");
        let store = db.open_postgres();
        let customer = |id: &str| crate::conformance::sample(Kind::Customer, "acct_1", id, 1);
        let fresh = |records: Vec<RawRecord>| {
            transact(&store, move |tx| {
                for r in &records {
                    tx.insert_fresh(r)?;
                }
                Ok(())
            })
        };
        fresh(vec![product("acct_1", "prod_1")]).await.unwrap();
        fresh(vec![product("acct_1", "prod_2")]).await.unwrap();
        // The product conflicts, so the server skips the rest of the script: the customers'
        // statement, new on this connection, was not prepared.
        let err = fresh(vec![product("acct_1", "prod_1"), customer("cus_1")]).await.unwrap_err();
        assert!(matches!(err, StoreError::Backend(_) | StoreError::Conflict { .. }), "{err:?}");
        fresh(vec![customer("cus_2"), product("acct_1", "prod_3")]).await.unwrap();
        fresh(vec![customer("cus_3")]).await.unwrap();

        for (kind, id, there) in [
            (Kind::Product, "prod_1", true),
            (Kind::Product, "prod_2", true),
            (Kind::Product, "prod_3", true),
            (Kind::Customer, "cus_1", false),
            (Kind::Customer, "cus_2", true),
            (Kind::Customer, "cus_3", true),
        ] {
            assert_eq!(store.get("acct_1", kind, id).await.unwrap().is_some(), there, "{id}");
        }
        let slot = store.pool.reserve(pool::Driver::Local).await.unwrap();
        let prepared: Vec<String> = tokio::task::spawn_blocking(move || {
            let conn = slot.open_local().unwrap();
            let rt = conn.local().unwrap().clone();
            let sql = "SELECT name FROM pg_prepared_statements WHERE from_sql ORDER BY name";
            rt.block_on(conn.client().query(sql, &[])).unwrap().iter().map(|r| r.get(0)).collect()
        })
        .await
        .unwrap();
        // The products' insert once (`kassa_w0`); the customers' under a name the failed script
        // never got to (`kassa_w1`, forgotten), then under a new one.
        assert_eq!(prepared, ["kassa_w0", "kassa_w2"]);
    }

    /// Named statements exist only with the statement cache on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn the_statement_cache_can_be_turned_off() {
        for (cache, params) in [(true, "statement_cache=true"), (false, "statement_cache=false&pool_max=1")] {
            let Some(db) = TempPostgres::new_or_skip() else { return };
            let db = db.with_params(params);
            let store = db.open_postgres();
            assert_eq!(store.options().statement_cache, cache);
            transact(&store, |tx| tx.insert(&product("acct_1", "prod_1"))).await.unwrap();
            store.get("acct_1", Kind::Product, "prod_1").await.unwrap().unwrap();
            store
                .list("acct_1", Kind::Product, ListQuery { filters: vec![], limit: 5, cursor: Cursor::First })
                .await
                .unwrap();
            let prepared = transact(&store, |tx| {
                tx.get("acct_1", Kind::Product, "prod_1")?;
                Ok(())
            })
            .await;
            prepared.unwrap();
            let conn = store.pool.get().await.unwrap();
            let n: i64 = conn
                .client()
                .query_typed_one("SELECT COUNT(*) FROM pg_prepared_statements", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(n > 0, cache, "prepared statements with statement_cache={cache}: {n}");
        }
    }

    /// A transaction left open (its future dropped half-way) never reaches the next user of the
    /// connection, and a failed statement poisons only its own transaction.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn connections_come_back_clean() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let db = db.with_params("pool_max=1");
        let store = db.open_postgres();

        let mut conn = store.pool.get().await.unwrap();
        conn.in_transaction = true;
        conn.client().batch_execute("BEGIN").await.unwrap();
        drop(conn);
        assert_eq!(store.pool.idle(), 0, "a connection inside a transaction was pooled");

        // A statement that fails (a NOT NULL column given NULL) poisons its transaction: the
        // closure's later calls fail too, and the transaction rolls back even if it returns Ok.
        let err = transact(&store, |tx| {
            tx.insert(&product("acct_1", "prod_1"))?;
            let mut bad = product("acct_1", "prod_2");
            bad.columns = vec![Value::Null];
            let failed = tx.insert(&bad).unwrap_err();
            let later = tx.get("acct_1", Kind::Product, "prod_1").unwrap_err();
            assert_eq!(failed, later);
            Ok(())
        })
        .await
        .unwrap_err();
        assert!(
            matches!(&err, StoreError::Backend(m) if m.contains("23502") && !m.contains("prod_2")),
            "{err:?}"
        );
        assert_eq!(store.pool.idle(), 1, "a rolled-back connection is reusable");
        assert_eq!(store.get("acct_1", Kind::Product, "prod_1").await.unwrap(), None);

        // Views cannot write, and say so without a round trip.
        let err = view(&store, |tx| tx.insert(&product("acct_1", "prod_3"))).await.unwrap_err();
        assert!(matches!(&err, StoreError::Backend(m) if m.contains("read-only")), "{err:?}");
    }

    /// An update of a row the transaction holds is sent later, with the next statement or the
    /// `COMMIT`: the transaction's own reads see it all the same, and if it fails, the
    /// transaction rolls back with that failure as its answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn deferred_updates_are_seen_and_their_failures_roll_back() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let store = db.open_postgres();
        let renamed = |mut r: RawRecord, data: &str| {
            r.data = data.to_owned();
            r
        };
        transact(&store, |tx| tx.insert(&product("acct_1", "prod_1"))).await.unwrap();

        // Read FOR UPDATE, updated twice (deferred), read back in the same transaction.
        let seen = transact(&store, move |tx| {
            let p = tx.get("acct_1", Kind::Product, "prod_1")?.unwrap();
            tx.update(&renamed(p.clone(), r#"{"id":"prod_1","name":"one"}"#))?;
            tx.update(&renamed(p, r#"{"id":"prod_1","name":"two"}"#))?;
            Ok(tx.get("acct_1", Kind::Product, "prod_1")?.unwrap().data)
        })
        .await
        .unwrap();
        assert_eq!(seen, r#"{"id":"prod_1","name":"two"}"#);
        // Inserted, then updated as the last statement: sent with the COMMIT.
        transact(&store, move |tx| {
            let p = product("acct_1", "prod_2");
            tx.insert(&p)?;
            tx.update(&renamed(p, r#"{"id":"prod_2","name":"late"}"#))
        })
        .await
        .unwrap();
        let stored = store.get("acct_1", Kind::Product, "prod_2").await.unwrap().unwrap();
        assert_eq!(stored.data, r#"{"id":"prod_2","name":"late"}"#);

        // A deferred update the server refuses (a NOT NULL column given NULL): the update itself
        // answered Ok, the COMMIT turns into a rollback, and the failure is the answer.
        let err = transact(&store, move |tx| {
            let p = product("acct_1", "prod_3");
            tx.insert(&p)?;
            let mut bad = p;
            bad.columns = vec![Value::Null];
            tx.update(&bad)
        })
        .await
        .unwrap_err();
        assert!(matches!(&err, StoreError::Backend(m) if m.contains("23502")), "{err:?}");
        assert_eq!(store.get("acct_1", Kind::Product, "prod_3").await.unwrap(), None);
        // The same, followed by another statement: that statement fails with it.
        let err = transact(&store, move |tx| {
            let p = product("acct_1", "prod_4");
            tx.insert(&p)?;
            let mut bad = p;
            bad.columns = vec![Value::Null];
            tx.update(&bad)?;
            let later = tx.get("acct_1", Kind::Product, "prod_1").unwrap_err();
            Err::<(), _>(later)
        })
        .await
        .unwrap_err();
        assert!(matches!(&err, StoreError::Backend(m) if m.contains("23502")), "{err:?}");
        assert_eq!(store.get("acct_1", Kind::Product, "prod_4").await.unwrap(), None);
        // Fresh inserts ride along too: read back in the transaction, then updated (held).
        let seen = transact(&store, move |tx| {
            let p = product("acct_1", "prod_5");
            tx.insert_fresh(&p)?;
            let read = tx.get("acct_1", Kind::Product, "prod_5")?.unwrap();
            tx.update(&renamed(p, r#"{"id":"prod_5","name":"fresh"}"#))?;
            Ok(read.id)
        })
        .await
        .unwrap();
        assert_eq!(seen, "prod_5");
        let stored = store.get("acct_1", Kind::Product, "prod_5").await.unwrap().unwrap();
        assert_eq!(stored.data, r#"{"id":"prod_5","name":"fresh"}"#);
        // A fresh insert that meets its key after all fails the whole transaction.
        let err = transact(&store, move |tx| {
            tx.insert(&product("acct_1", "prod_6"))?;
            tx.insert_fresh(&product("acct_1", "prod_1"))
        })
        .await
        .unwrap_err();
        assert_eq!(err, StoreError::Conflict(kassa_core::store::Constraint::PrimaryKey));
        assert_eq!(store.get("acct_1", Kind::Product, "prod_6").await.unwrap(), None);
        // An update of a row not held is sent at once, and misses as before.
        let missing = transact(&store, move |tx| tx.update(&product("acct_1", "prod_9"))).await;
        assert_eq!(missing.unwrap_err(), StoreError::NotFound);
    }

    /// Transactions' local connections and the async paths' shared ones split `pool_max`, and
    /// each kind is reused. A view's `COMMIT`, sent without waiting for its answer, still
    /// reaches the server at once: the idle connection's session is not left inside a
    /// transaction.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn each_kind_of_connection_has_its_share_of_the_pool() {
        assert_eq!(pool::split(16), (8, 8));
        assert_eq!(pool::split(3), (2, 1));
        assert_eq!(pool::split(2), (1, 1));
        assert_eq!(pool::split(1), (1, 1), "one of each kind at least");

        let Some(db) = TempPostgres::new_or_skip() else { return };
        let db = db.with_params("pool_max=2&pool_timeout=2");
        let store = Arc::new(db.open_postgres());
        for i in 0..3 {
            transact(&*store, move |tx| tx.insert(&product("acct_1", &format!("prod_{i}")))).await.unwrap();
            store.get("acct_1", Kind::Product, &format!("prod_{i}")).await.unwrap().unwrap();
            let found = view(&*store, move |tx| tx.get("acct_1", Kind::Product, &format!("prod_{i}"))).await;
            assert!(found.unwrap().is_some());
            let usage = store.pool.usage();
            assert_eq!((usage.max, usage.in_use, usage.idle), (2, 0, 2));
        }
        // Two transactions at once: the second waits for the one local connection.
        let started = std::time::Instant::now();
        let slow = |id: &'static str| {
            let store = store.clone();
            tokio::spawn(async move {
                transact(&*store, move |tx| {
                    std::thread::sleep(Duration::from_millis(300));
                    tx.insert(&product("acct_1", id))
                })
                .await
            })
        };
        let (a, b) = (slow("prod_a"), slow("prod_b"));
        a.await.unwrap().unwrap();
        b.await.unwrap().unwrap();
        assert!(started.elapsed() >= Duration::from_millis(600), "{:?}", started.elapsed());
        assert_eq!(store.pool.idle(), 2);
        let admin = db.connect().await;
        let mut states = Vec::new();
        for _ in 0..100 {
            states = admin
                .query(
                    "SELECT state FROM pg_stat_activity WHERE datname = current_database() \
                     AND pid <> pg_backend_pid()",
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<_, Option<String>>(0).unwrap_or_default())
                .collect::<Vec<_>>();
            if states == ["idle", "idle"] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(states, ["idle", "idle"], "two connections, outside any transaction");
    }
}
