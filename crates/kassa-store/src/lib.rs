//! # kassa-store — where kassa keeps its records
//!
//! Implementations of [`kassa_core::store::Store`], chosen at startup by database URL
//! ([`open_store`]), and the [`conformance`] suite every implementation must pass.
//!
//! ## SQLite (the default): [`SqliteStore`]
//!
//! One file in WAL mode, served by threads of its own so that the async runtime never waits on
//! SQLite:
//!
//! - **one writer thread** owns the only writing connection. Every [`Store::transact`] closure is
//!   queued to it; it runs whatever has queued up as one batch in a single
//!   `BEGIN IMMEDIATE … COMMIT` (group commit), each closure inside its own `SAVEPOINT`, so a
//!   closure that fails or refuses is undone alone and the rest of the batch commits;
//! - **durability**: with `synchronous=FULL`, `COMMIT` returns only once the write-ahead log is
//!   fsynced, and no closure is answered before its batch's `COMMIT` has returned. An acknowledged
//!   write survives a crash; one fsync covers a whole batch, so throughput rises with load;
//! - **a pool of reader threads** (2 by default) with their own connections answers `get`,
//!   `get_many`, `list`, `ping` and the account lookups, concurrently with the writer;
//! - **prices and products read by key** come from memory until the writer updates or deletes one
//!   (SQLite's update hook; from that batch's commit on, they are read from the file again).
//!
//! rusqlite rather than sqlx: sqlx's SQLite driver already funnels each connection through a
//! worker thread of its own and offers only async, statement-at-a-time access, which makes a
//! synchronous closure run inside a shared group-commit transaction awkward. rusqlite gives direct
//! control of the single writer, its transactions and savepoints, and its prepared-statement
//! cache. The details are in [`sqlite`].
//!
//! ## PostgreSQL (scale-out): [`PostgresStore`]
//!
//! For several kassa processes on one database: `postgres://` or `postgresql://`
//! URLs, over TLS as libpq's `sslmode` says (rustls). A bounded pool of tokio-postgres connections; reads are async statements, and each
//! [`Store::transact`] closure runs on a blocking thread inside one PostgreSQL transaction, where
//! [`Tx::get`](kassa_core::store::Tx::get) locks the row it reads (`FOR UPDATE`) and
//! [`Tx::find`](kassa_core::store::Tx::find) claims rows with `FOR UPDATE SKIP LOCKED`, so that
//! the nodes serialize on rows, not in a process. Its own migrations (`migrations/postgres/`, the
//! same tables as SQLite's) run on open under an advisory lock, or alone through [`migrate`]. The
//! details are in [`postgres`].
//!
//! Both pass the same [`conformance`] scenarios.
//!
//! ## Data at rest
//!
//! On SQLite the data is kassa's own files, so kassa looks after them: they are created for their
//! owner alone ([`files`]), the store notices when they are deleted or replaced under it and
//! refuses writes from then on, `ping` reports failing writes, and a server holds the file for
//! itself ([`open_store_exclusive`]); see [`sqlite`]'s `health` module.

use std::sync::Arc;

use kassa_core::store::{Store, StoreError};

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod files;
mod filter;
mod observer;
pub mod postgres;
pub mod sqlite;
#[cfg(test)]
mod upgrade_fixtures;

pub use postgres::{PostgresOptions, PostgresStore};
pub use sqlite::{SqliteOptions, SqliteStore, WriterStats};

/// The backends a database URL can name.
enum Backend {
    Sqlite,
    Postgres,
}

/// The backend `url`'s scheme names. The error names the scheme, never the rest of the URL.
fn backend(url: &str) -> Result<Backend, StoreError> {
    match url.split_once(':').map(|(scheme, _)| scheme) {
        Some("sqlite") => Ok(Backend::Sqlite),
        Some("postgres" | "postgresql") => Ok(Backend::Postgres),
        Some(scheme)
            if !scheme.is_empty()
                && scheme.len() <= 32
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
        {
            Err(StoreError::Backend(format!(
                "unsupported database URL scheme `{scheme}` (supported: `sqlite:`, `postgres:`)"
            )))
        }
        _ => Err(StoreError::Backend(
            "unsupported database URL scheme: expected a URL such as `sqlite://kassa.db` or \
             `postgres://user@host/kassa`"
                .to_owned(),
        )),
    }
}

/// Open the store a database URL names, by its scheme: `sqlite:` (see
/// [`SqliteStore::open_url`]) or `postgres:`/`postgresql:` (see [`PostgresStore::open`]). Blocks
/// while the database is opened and migrated: call it at startup. Errors never repeat the URL,
/// which may carry a password. On SQLite this takes no lock: for short commands beside a running
/// server (`kassa accounts create`), whose writes SQLite serializes with the server's.
pub fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open(url, false)
}

/// [`open_store`] for the one process that serves a SQLite database (`kassa serve`): it takes an
/// exclusive lock on the file for as long as the store is open, and a file another process holds
/// so is refused, with a message naming it ([`SqliteOptions::exclusive`]). PostgreSQL is made for
/// many processes: there it is [`open_store`].
pub fn open_store_exclusive(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open(url, true)
}

fn open(url: &str, exclusive: bool) -> Result<Arc<dyn Store>, StoreError> {
    match backend(url)? {
        Backend::Sqlite => Ok(Arc::new(SqliteStore::open_url_with(
            url,
            SqliteOptions { exclusive, ..SqliteOptions::default() },
        )?)),
        Backend::Postgres => Ok(Arc::new(PostgresStore::open(url)?)),
    }
}

/// The file a `sqlite:` URL names; `None` for the other schemes (errors never repeat the URL).
pub fn sqlite_path(url: &str) -> Result<Option<std::path::PathBuf>, StoreError> {
    match backend(url)? {
        Backend::Sqlite => sqlite::path_from_url(url).map(Some),
        Backend::Postgres => Ok(None),
    }
}

/// Bring the schema of the database a URL names up to date, and nothing else (`kassa migrate`,
/// for deployments that migrate before starting nodes). On SQLite that is opening the file as
/// [`open_store_exclusive`] does: a database a server is using is refused (stop the server first;
/// it migrates on start anyway). On PostgreSQL it is safe while nodes start on the same database.
/// Blocks; errors never repeat the URL.
pub fn migrate(url: &str) -> Result<(), StoreError> {
    match backend(url)? {
        Backend::Sqlite => open(url, true).map(drop),
        Backend::Postgres => postgres::migrate(url),
    }
}

/// `url` fit for a message or a log: a password in it (`user:password@`, `?password=…`) shows as
/// `***`. For the application's own messages, which name the database they could not open.
pub fn redacted_url(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = base.to_owned();
    if let Some(at) = base[authority_start..authority_end].rfind('@') {
        let userinfo = &base[authority_start..authority_start + at];
        if let Some(colon) = userinfo.find(':') {
            out = format!("{}:***{}", &base[..authority_start + colon], &base[authority_start + at..]);
        }
    }
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(redacted_url("sqlite://kassa.db"), "sqlite://kassa.db");
        assert_eq!(redacted_url("postgres://kassa@db/kassa"), "postgres://kassa@db/kassa");
        assert_eq!(
            redacted_url("postgres://kassa:hunter2@db:5432/kassa?pool_max=4"),
            "postgres://kassa:***@db:5432/kassa?pool_max=4"
        );
        assert_eq!(redacted_url("postgresql://u:p@ss@db/k"), "postgresql://u:***@db/k");
        assert_eq!(
            redacted_url("postgres://db/k?user=u&password=hunter2&pool_max=2"),
            "postgres://db/k?user=u&password=***&pool_max=2"
        );
    }

    #[test]
    fn dispatches_on_the_scheme() {
        let err = |url: &str| open_store(url).err().unwrap().to_string();
        assert!(err("mysql://user:hunter2@db/kassa").contains("unsupported database URL scheme `mysql`"));
        assert!(!err("mysql://user:hunter2@db/kassa").contains("hunter2"));
        assert!(err("kassa.db").contains("unsupported database URL scheme"));
        assert!(!err("hunter2 kassa:x").contains("hunter2"));
        // PostgreSQL is supported: nothing listens on port 1, so it is unavailable, and says so
        // without the URL or its password.
        for url in
            ["postgres://user:hunter2@127.0.0.1:1/kassa", "postgresql://user:hunter2@127.0.0.1:1/kassa"]
        {
            let e = open_store(url).err().unwrap();
            assert!(matches!(&e, StoreError::Unavailable(m) if m.contains("connect")), "{e:?}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
            let e = migrate(url).unwrap_err();
            assert!(matches!(&e, StoreError::Unavailable(_)) && !e.to_string().contains("hunter2"), "{e:?}");
        }

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let store = open_store(&url).unwrap();
        drop(store);
        assert!(dir.path().join("k.db").exists());
    }
}
