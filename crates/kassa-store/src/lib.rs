//! # kassa-store — where kassa keeps its records
//!
//! Implementations of [`kassa_core::store::Store`], chosen at startup by database URL
//! ([`open_store`]), and the [`conformance`] suite every implementation must pass.
//!
//! ## SQLite (today): [`SqliteStore`]
//!
//! One file in WAL mode, served by threads of its own so that the async runtime never waits on
//! SQLite:
//!
//! - **one writer thread** owns the only writing connection. Every [`Store::transact`] closure is
//!   queued to it; it runs whatever has queued up as one batch in a single
//!   `BEGIN IMMEDIATE … COMMIT` (group commit), each closure inside its own `SAVEPOINT`, so a
//!   closure that fails is undone alone and the rest of the batch commits;
//! - **durability**: with `synchronous=FULL`, `COMMIT` returns only once the write-ahead log is
//!   fsynced, and no closure is answered before its batch's `COMMIT` has returned. An acknowledged
//!   write survives a crash; one fsync covers a whole batch, so throughput rises with load;
//! - **a pool of reader threads** (2 by default) with their own connections answers `get`,
//!   `get_many`, `list`, `ping` and the account lookups, concurrently with the writer.
//!
//! rusqlite rather than sqlx: sqlx's SQLite driver already funnels each connection through a
//! worker thread of its own and offers only async, statement-at-a-time access, which makes a
//! synchronous closure run inside a shared group-commit transaction awkward. rusqlite gives direct
//! control of the single writer, its transactions and savepoints, and its prepared-statement
//! cache. The details are in [`sqlite`].
//!
//! ## PostgreSQL (later)
//!
//! Will live in `src/postgres/` with its own migrations, and must pass the same [`conformance`]
//! scenarios.

use std::sync::Arc;

use kassa_core::store::{Store, StoreError};

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod sqlite;

pub use sqlite::{SqliteOptions, SqliteStore, WriterStats};

/// Open the store a database URL names, by its scheme: `sqlite:` (see
/// [`SqliteStore::open_url`]). Blocks while the database is opened and migrated: call it at
/// startup. Errors never repeat the URL, which may carry a password.
pub fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    match url.split_once(':').map(|(scheme, _)| scheme) {
        Some("sqlite") => Ok(Arc::new(SqliteStore::open_url(url)?)),
        Some(scheme)
            if !scheme.is_empty()
                && scheme.len() <= 32
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
        {
            Err(StoreError::Backend(format!(
                "unsupported database URL scheme `{scheme}` (supported: `sqlite:`)"
            )))
        }
        _ => Err(StoreError::Backend(
            "unsupported database URL scheme: expected a URL such as `sqlite://kassa.db`".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn dispatches_on_the_scheme() {
        let err = |url: &str| open_store(url).err().unwrap().to_string();
        assert!(
            err("postgres://user:hunter2@db/kassa").contains("unsupported database URL scheme `postgres`")
        );
        assert!(!err("postgres://user:hunter2@db/kassa").contains("hunter2"));
        assert!(err("kassa.db").contains("unsupported database URL scheme"));
        assert!(!err("hunter2 kassa:x").contains("hunter2"));

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let store = open_store(&url).unwrap();
        drop(store);
        assert!(dir.path().join("k.db").exists());
    }
}
