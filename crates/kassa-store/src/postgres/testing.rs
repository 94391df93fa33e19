//! A throwaway PostgreSQL database for tests (this crate's, and the application's through the
//! `conformance` feature): created on a server under a random name, dropped (`WITH (FORCE)`)
//! when this is dropped.
//!
//! The server is `KASSA_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! the one every run on this machine has). A PostgreSQL test never passes without running:
//! - a server that cannot be reached fails it, saying which server and how to skip;
//! - `KASSA_TEST_POSTGRES=0` skips it: the build script (`build.rs`) then compiles every such test
//!   with `#[ignore]` (the cfg `kassa_no_postgres`), so libtest and cargo-nextest report it as
//!   ignored / skipped, not passed. Should one run anyway (`--run-ignored`, or a binary built
//!   before the variable was set), [`TempPostgres::new_or_skip`] prints a `SKIPPED:` line and the
//!   test returns;
//! - under CI (`CI` set, and neither empty, `0` nor `false`) nothing is skipped: with
//!   `KASSA_TEST_POSTGRES=0` the tests are compiled normally and fail, saying why.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use kassa_core::store::Store;
use tokio_postgres::{Client, NoTls};

use super::{PostgresOptions, PostgresStore, on_own_thread};
use crate::conformance::TestDatabase;

/// The server the tests use when `KASSA_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_TEST_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh database on the test server, dropped with this value.
#[derive(Debug)]
pub struct TempPostgres {
    admin_url: String,
    name: String,
    url: String,
    options: PostgresOptions,
}

impl TempPostgres {
    /// Whether tests that need PostgreSQL should run: unless `KASSA_TEST_POSTGRES=0`.
    pub fn enabled() -> bool {
        std::env::var("KASSA_TEST_POSTGRES").map_or(true, |v| v != "0")
    }

    /// Whether this is a CI run (`CI` set, and neither empty, `0` nor `false`), where no test may
    /// be skipped.
    pub fn under_ci() -> bool {
        std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
    }

    /// A new database, or `None` (with a `SKIPPED:` line on stderr) when `KASSA_TEST_POSTGRES=0`
    /// outside CI.
    ///
    /// # Panics
    /// Under CI with `KASSA_TEST_POSTGRES=0`, and whenever the server cannot be reached or refuses
    /// to create the database: this is for tests.
    pub fn new_or_skip() -> Option<Self> {
        if Self::enabled() {
            return Some(Self::new());
        }
        if Self::under_ci() {
            panic!(
                "KASSA_TEST_POSTGRES=0 under CI: this test needs PostgreSQL, and CI must run it, not \
                 skip it. Give the run a PostgreSQL server (KASSA_TEST_POSTGRES_URL) instead."
            );
        }
        eprintln!("SKIPPED: this test needs PostgreSQL, and KASSA_TEST_POSTGRES=0 turns those off");
        None
    }

    /// # Panics
    /// If the server cannot be reached or refuses to create the database: this is for tests.
    pub fn new() -> Self {
        Self::with_options(PostgresOptions::default())
    }

    /// A new database that [`TempPostgres::open_postgres`] opens with `options` (and any kassa
    /// parameters added to the URL with [`TempPostgres::with_params`]).
    ///
    /// # Panics
    /// If the server cannot be reached or refuses to create the database: this is for tests.
    #[allow(clippy::expect_used)]
    pub fn with_options(options: PostgresOptions) -> Self {
        let admin_url =
            std::env::var("KASSA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_TEST_SERVER.to_owned());
        let name = format!("kassa_test_{:016x}", RandomState::new().hash_one(std::process::id()));
        let url = database_url(&admin_url, &name);
        let db = Self { admin_url, name, url, options };
        if let Err(e) = on_server(&db.admin_url, &format!("CREATE DATABASE {}", db.name)) {
            let skip =
                if Self::under_ci() { "" } else { ", or set KASSA_TEST_POSTGRES=0 to skip these tests" };
            panic!(
                "this test needs PostgreSQL, and the test server {} did not create a database: {e}. \
                 Start it (or point KASSA_TEST_POSTGRES_URL at one){skip}.",
                shown(&db.admin_url)
            );
        }
        db
    }

    /// The same database, opened with `params` (`statement_cache=false&pool_max=2`) appended to
    /// its URL. Only the value returned drops the database.
    pub fn with_params(mut self, params: &str) -> Self {
        self.url.push(if self.url.contains('?') { '&' } else { '?' });
        self.url.push_str(params);
        self
    }

    /// The database's name (`kassa_test_…`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL that opens the database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Run `sql` on the server's administrative database (to terminate this database's
    /// connections, refuse new ones, …).
    ///
    /// # Panics
    /// If it fails: this is for tests.
    #[allow(clippy::expect_used)]
    pub fn admin(&self, sql: &str) {
        on_server(&self.admin_url, sql).expect("the test server runs the statement");
    }

    /// Terminate every connection to the database (as a restart or a failover would), and wait
    /// until they are gone.
    ///
    /// # Panics
    /// If they do not go within ten seconds: this is for tests.
    #[allow(clippy::expect_used)]
    pub fn terminate_connections(&self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let gone = on_own_thread(async move {
            let (client, connection) = url.parse::<tokio_postgres::Config>()?.connect(NoTls).await?;
            tokio::spawn(connection);
            for _ in 0..1000 {
                let left = client
                    .query_one(
                        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                         WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&name],
                    )
                    .await?;
                if left.get::<_, i64>(0) == 0 {
                    return Ok(true);
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Ok::<_, tokio_postgres::Error>(false)
        });
        assert!(matches!(gone, Ok(Ok(true))), "the connections to {} did not go: {gone:?}", self.name);
    }

    /// A plain client on the database, for tests that look under the store.
    ///
    /// # Panics
    /// If it cannot connect: this is for tests.
    #[allow(clippy::expect_used)]
    pub async fn connect(&self) -> Client {
        // Without kassa's own parameters (`pool_max`, …), which tokio-postgres does not know.
        let (config, tls, _) = super::parse_url(&self.url, &self.options).expect("a URL");
        let (client, connection) = tls.connect(&config).await.expect("connect");
        tokio::spawn(connection);
        client
    }

    /// The versions in `schema_migrations`, in order.
    ///
    /// # Panics
    /// If they cannot be read: this is for tests.
    #[allow(clippy::expect_used)]
    pub async fn applied_migrations(&self) -> Vec<i64> {
        let rows = self
            .connect()
            .await
            .query("SELECT version FROM schema_migrations ORDER BY version", &[])
            .await
            .expect("schema_migrations");
        rows.iter().map(|r| r.get(0)).collect()
    }

    /// Open (or reopen) the database, migrating it.
    ///
    /// # Panics
    /// If it cannot be opened: this is for tests.
    #[allow(clippy::expect_used)]
    pub fn open_postgres(&self) -> PostgresStore {
        PostgresStore::open_with(&self.url, self.options.clone()).expect("open the test database")
    }
}

/// Run `sql` on the database `url` names, over a connection of its own.
fn on_server(url: &str, sql: &str) -> Result<(), String> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    let done = on_own_thread(async move {
        let (client, connection) = url.parse::<tokio_postgres::Config>()?.connect(NoTls).await?;
        let io = tokio::spawn(connection);
        let done = client.batch_execute(&sql).await;
        drop(client);
        let _ = io.await;
        done
    });
    match done {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(super::error::map(e).to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// `url` without its password, to name it in a message.
fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// `admin_url` with its database name replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut url = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

impl Default for TempPostgres {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = on_server(&self.admin_url, &sql) {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

impl TestDatabase for TempPostgres {
    fn open(&self) -> Arc<dyn Store> {
        Arc::new(self.open_postgres())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_named_without_their_password() {
        assert_eq!(shown("postgres://u:secret@h:5432/postgres"), "postgres://u@h:5432/postgres");
        assert_eq!(shown("postgres://postgres@127.0.0.1/postgres"), "postgres://postgres@127.0.0.1/postgres");
        assert_eq!(shown("postgres://h/x"), "postgres://h/x");
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "kassa_test_1"),
            "postgres://postgres@127.0.0.1:5432/kassa_test_1"
        );
        assert_eq!(
            database_url("postgresql://u:p@h/postgres?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
        assert_eq!(database_url("postgres://h:5433", "x"), "postgres://h:5433/x");
    }
}
