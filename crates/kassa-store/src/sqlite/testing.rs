//! A throwaway SQLite database for tests (this crate's, and the application's through the
//! `conformance` feature).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kassa_core::store::Store;

use super::{SqliteOptions, SqliteStore};
use crate::conformance::TestDatabase;

/// A SQLite file in its own temporary directory, removed when this is dropped.
#[derive(Debug)]
pub struct TempSqlite {
    dir: tempfile::TempDir,
    path: PathBuf,
    options: SqliteOptions,
}

impl TempSqlite {
    /// # Panics
    /// If no temporary directory can be made: this is for tests.
    pub fn new() -> Self {
        Self::with_options(SqliteOptions::default())
    }

    /// # Panics
    /// If no temporary directory can be made: this is for tests.
    #[allow(clippy::expect_used)]
    pub fn with_options(options: SqliteOptions) -> Self {
        let dir = tempfile::Builder::new().prefix("kassa-store-").tempdir().expect("a temporary directory");
        let path = dir.path().join("kassa.db");
        Self { dir, path, options }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Open (or reopen) the database.
    ///
    /// # Panics
    /// If it cannot be opened: this is for tests.
    #[allow(clippy::expect_used)]
    pub fn open_sqlite(&self) -> SqliteStore {
        SqliteStore::open_with(&self.path, self.options.clone()).expect("open the test database")
    }
}

impl Default for TempSqlite {
    fn default() -> Self {
        Self::new()
    }
}

impl TestDatabase for TempSqlite {
    fn open(&self) -> Arc<dyn Store> {
        Arc::new(self.open_sqlite())
    }
}
