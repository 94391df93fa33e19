//! The SQLite backend: one file, one writer thread with group commit, a pool of reader threads.
//!
//! # Writes: one writer, group commit, savepoints
//!
//! SQLite lets one connection write at a time, so kassa gives writing to exactly one connection,
//! owned by one OS thread (`kassa-sqlite-writer`). [`Store::transact`] sends the closure there
//! over a channel and awaits the answer on a `tokio::sync::oneshot`, so the async runtime never
//! blocks on SQLite. The writer blocks for the first job, then takes up to
//! [`SqliteOptions::max_batch`] − 1 more that are already queued and runs them all in a single
//! `BEGIN IMMEDIATE … COMMIT`, each in its own `SAVEPOINT`: a closure that returns `Err` (or
//! panics) is rolled back to its savepoint alone, so it leaves nothing behind and does not disturb
//! the others of its batch (`src/sqlite/writer.rs`). [`Store::insert`] and [`Store::insert_all`]
//! (a new checkout session, with its inline products and prices) run without a savepoint: a
//! refused `INSERT` leaves nothing by itself, and the records inserted before it are deleted
//! again, which saves SQLite from copying every page they touch into the savepoint's journal
//! (about a tenth of the writer's time). [`Store::create_account`] goes through the
//! writer too. A closure runs on the writer with the batch open, so it must be quick and must not
//! wait on anything outside: everything queued behind it waits with it.
//!
//! # Durability
//!
//! The connection runs with `journal_mode=WAL` and `synchronous=FULL`, so `COMMIT` returns only
//! once the WAL is fsynced. No transaction is answered before the `COMMIT` of its batch has
//! returned: **an acknowledged write is on disk**. If the commit fails, every transaction of the
//! batch gets the error and none of it is in the database. Because one fsync serves a whole
//! batch, throughput grows with concurrency instead of being capped at one fsync per request.
//!
//! # Files, health and exclusivity
//!
//! The database file is created `0600` before SQLite opens it (its `-wal` and `-shm` follow its
//! mode), and an existing one that other users may read is reported at open
//! ([`crate::files`]). The store watches that its files are still the database's files, that its
//! writes reach the disk, and — opened with [`SqliteOptions::exclusive`], as `kassa serve` does —
//! holds an exclusive lock on the file so that no second server uses it (`src/sqlite/health.rs`).
//!
//! # Reads: a pool of readers
//!
//! [`Store::list`], [`Store::view`], [`Store::ping`], [`Store::count_accounts`] and the account
//! and key lookups run on [`SqliteOptions::readers`] threads, each with its own `query_only`
//! connection, pulling from one shared queue. The reads by key ([`Store::get`],
//! [`Store::get_many`], [`Store::get_by_id`]) take one of those connections on the caller's own
//! thread when one is free, and queue like the rest only when none is: a lookup by key is
//! shorter than the trip to a reader thread and back. WAL lets readers read while the writer
//! writes; a read that begins after a write was acknowledged sees it. `get_many` and `list`
//! (cursor lookup plus page) each read one snapshot. Prices and products read by key come from
//! memory while they have not changed (`src/sqlite/cache.rs`).
//!
//! # Shutdown
//!
//! Dropping the [`SqliteStore`] closes both queues; the threads finish every job already queued
//! (so nothing acknowledged, or about to be, is lost) and exit, and `drop` waits for them: it
//! blocks for as long as the queued work takes (usually one batch), so drop the last handle once
//! the server has stopped taking requests. A `transact` whose future is dropped after it was
//! queued may still commit. [`SqliteStore::writer_stats`] counts batches and transactions.
//! The checkpointer stops last: once the writer has stopped it copies the whole write-ahead log
//! into the database and truncates it, so a cleanly closed store leaves no log with content.
//!
//! # The write-ahead log
//!
//! Checkpoints run on a thread of their own, never inside a commit; the writer keeps the log
//! short (it starts over every 16–32 MiB under load, and its file is cut back to 64 MiB), and an
//! idle store's log is truncated to nothing — see `writer::WalState`.
//!
//! # Why rusqlite and not sqlx
//!
//! sqlx's SQLite driver already funnels each connection through its own worker thread and offers
//! only async, per-statement access to it, which makes a synchronous closure run inside a shared
//! group-commit transaction awkward (and adds a hop). rusqlite gives direct control of the single
//! writer connection, its transactions and savepoints, and a prepared-statement cache
//! (`prepare_cached`, capacity [`STATEMENT_CACHE`]).
//!
//! A cached statement must stay prepared: since SQLite 3.4x the planner reads the value bound to
//! a `LIMIT ?` (or to an `x = ?` it may take for a small integer) and marks the statement to be
//! prepared again whenever a new value is bound — every execution, as rusqlite binds each time. On
//! the dashboard's events page that re-parsing was a fifth of the CPU. Every connection therefore
//! runs with the query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`): a plan does
//! not depend on bound values, which kassa's queries never needed (they have no statistics to
//! weigh values against, and each is pinned to its index by a test).

mod cache;
mod error;
mod health;
mod keys;
mod reader;
mod schema;
#[cfg(test)]
pub(crate) use schema::{UNINDEXED, migrate};
mod sql;
#[cfg(any(test, feature = "conformance"))]
mod testing;
mod writer;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use crossbeam_channel::Sender;
use kassa_core::account::{Account, ApiKeyRecord, KeyHash};
use kassa_core::store::{Abort, Kind, ListQuery, Page, RawRecord, Store, StoreError, Tx, TxFn, TxOutcome};
use kassa_core::time::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;

use error::map;
use reader::ReadJob;
use sql::SqliteTx;
#[cfg(any(test, feature = "conformance"))]
pub use testing::TempSqlite;
use writer::{Counters, Outcome, Undo, WriteFn, WriteJob};

/// Prepared statements kept per connection.
pub const STATEMENT_CACHE: usize = 256;

/// How a [`SqliteStore`] runs. `SqliteOptions { readers: 4, ..Default::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Reader threads, each with its own connection. At least one is started. Default 2.
    pub readers: usize,
    /// The most transactions committed together in one group commit. Default 256.
    pub max_batch: usize,
    /// How long a connection waits for a lock held by another process (another kassa on the same
    /// file, a backup) before the operation fails as `Unavailable`. Default 5 s.
    pub busy_timeout: Duration,
    /// Take an exclusive lock on the file for as long as the store is open, and refuse to open
    /// a file another process holds so (`kassa serve`, `kassa migrate`). Default `false`, for
    /// short commands beside a server (`kassa accounts create`).
    pub exclusive: bool,
    /// How long without a write before [`Store::ping`] probes the writer with one. Default 10 s.
    pub health_probe_after: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            readers: 2,
            max_batch: 256,
            busy_timeout: Duration::from_secs(5),
            exclusive: false,
            health_probe_after: Duration::from_secs(10),
        }
    }
}

/// What the writer has committed since the store was opened: `transactions / batches` is the
/// average group-commit size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Batches committed (one `COMMIT`, one fsync each).
    pub batches: u64,
    /// Transactions run in those batches, including ones that returned `Err` and were rolled
    /// back to their savepoint.
    pub transactions: u64,
}

struct Queues {
    write: Sender<WriteJob>,
    read: Sender<ReadJob>,
}

/// kassa's [`Store`] on one SQLite file. See the [module docs](self) for how it works.
pub struct SqliteStore {
    /// `None` only while dropping.
    queues: Option<Queues>,
    /// The readers' connections, for reads run on the caller's thread. `None` only while dropping.
    conns: Option<reader::Conns>,
    threads: Vec<JoinHandle<()>>,
    path: PathBuf,
    counters: Arc<Counters>,
    health: Arc<health::Health>,
    observer: Arc<crate::observer::Observer>,
    /// Prices and products read by key, kept while they do not change.
    cache: Arc<cache::RecordCache>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).field("threads", &self.threads.len()).finish()
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the SQLite store is shut down".to_owned())
}

fn open_connection(path: &Path, create: bool, busy_timeout: Duration) -> Result<Connection, StoreError> {
    // No SQLITE_OPEN_URI: a path is a path, even with `?` or `#` in it.
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(map)?;
    conn.busy_timeout(busy_timeout).map_err(map)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Statements are prepared once, whatever is bound to them (see the module docs).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(map)?;
    Ok(conn)
}

impl SqliteStore {
    /// Open (creating it if missing) the database at `path`, bring its schema up to date, and
    /// start the writer and two readers. Blocks while it does so: call it at startup.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`SqliteStore::open`] with options.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        // Made by kassa for its owner alone, before SQLite would make it with the umask's mode.
        crate::files::create_private(path).map_err(|e| {
            let shown = crate::files::absolute(path);
            StoreError::Unavailable(format!("cannot create the database file {}: {e}", shown.display()))
        })?;
        // Before SQLite opens the file: a second server must not even migrate it.
        let lock = if options.exclusive { Some(Arc::new(health::lock_exclusive(path)?)) } else { None };
        let mut writer = open_connection(path, true, options.busy_timeout)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(map)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "SQLite refused write-ahead logging for {} (journal mode {mode})",
                path.display()
            )));
        }
        writer.pragma_update(None, "synchronous", "FULL").map_err(map)?;
        writer.pragma_update(None, "foreign_keys", true).map_err(map)?;
        // Checkpoints run on their own thread (below), never inside a commit on the writer.
        writer.pragma_update(None, "wal_autocheckpoint", 0).map_err(map)?;
        // When the log starts over, its file is cut back to this (see `writer::WalState`).
        writer.pragma_update(None, "journal_size_limit", writer::JOURNAL_SIZE_LIMIT).map_err(map)?;
        // 8 MiB of page cache (the default is 2 MiB): the hot index pages (the upper levels and the
        // rightmost leaves, where time-ordered ids go in) stay in memory between commits. Pages
        // beyond it are read again from the operating system's cache, which does not count
        // against the process (the memory target is 64 MB under load, at any database size); a
        // transaction larger than it (a billing pass over thousands of subscriptions) spills
        // dirty pages to the log before its commit, which is correct and only slower. 64 MiB,
        // then 16 MiB before: neither created sessions measurably faster (`bench/README`,
        // sessions 11 and 15).
        writer.pragma_update(None, "cache_size", -8_192).map_err(map)?;
        // Each transaction runs in a savepoint; its sub-journal (pages to restore if it fails)
        // stays in memory instead of a temporary file.
        writer.pragma_update(None, "temp_store", "MEMORY").map_err(map)?;
        schema::migrate(&mut writer)?;

        let readers = (0..options.readers.max(1))
            .map(|_| {
                let conn = open_connection(path, false, options.busy_timeout)?;
                conn.pragma_update(None, "query_only", true).map_err(map)?;
                // SQLite's default 2 MiB each: a reader serves lookups by id and short list pages,
                // and in WAL mode a connection drops its whole cache whenever another one has
                // committed since its last read, so under writes a larger cache holds only what
                // one read touched (8 MiB each before: memory, at a large database, for nothing).
                conn.pragma_update(None, "cache_size", -2_048).map_err(map)?;
                Ok(conn)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;

        let checkpointer = open_connection(path, true, options.busy_timeout)?;
        checkpointer.pragma_update(None, "journal_size_limit", writer::JOURNAL_SIZE_LIMIT).map_err(map)?;
        // Every file is open now (the log and its index too): these are the files to watch.
        let health = Arc::new(health::Health::new(path, options.health_probe_after)?);
        crate::files::warn_if_open_to_others(
            &[path.to_owned(), health::wal_path(path), health::shm_path(path)],
            "they hold webhook signing secrets and customers' data",
        );

        let (write_tx, write_rx) = crossbeam_channel::unbounded::<WriteJob>();
        let (read_tx, read_rx) = crossbeam_channel::unbounded::<ReadJob>();
        let spawn_failed =
            |e: std::io::Error| StoreError::Backend(format!("cannot start a SQLite thread: {e}"));
        let mut threads = Vec::with_capacity(1 + readers.len());
        let max_batch = options.max_batch.max(1);
        let counters = Arc::new(Counters::default());
        let writer_counters = counters.clone();
        let wal = Arc::new(writer::WalState::default());
        let writer_wal = wal.clone();
        // The log's length after each commit, for the writer to keep it short. Set after the
        // `wal_autocheckpoint` pragma, which would replace it.
        {
            let wal = wal.clone();
            writer
                .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: std::ffi::c_int| {
                    wal.frames.store(i64::from(frames), Ordering::Relaxed);
                    wal.commits.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }))
                .map_err(map)?;
        }
        // Every row the writer updates or deletes: the cache of prices and products forgets them.
        let cache = Arc::new(cache::RecordCache::default());
        {
            let cache = cache.clone();
            writer
                .update_hook(Some(move |action, _: &str, table: &str, _: i64| {
                    cache.row_changed(action, table)
                }))
                .map_err(map)?;
        }
        let writer_cache = cache.clone();
        // The writer wakes the checkpointer early through this; when the writer stops, its end
        // closes and the checkpointer empties the log and stops too.
        let (wake_tx, wake_rx) = crossbeam_channel::bounded::<()>(1);
        let writer_health = health.clone();
        let observer = Arc::new(crate::observer::Observer::default());
        let writer_observer = observer.clone();
        // Each thread holds the lock until its connection has closed (see `health`).
        let held = lock.clone();
        threads.push(
            std::thread::Builder::new()
                .name("kassa-sqlite-writer".to_owned())
                .spawn(move || {
                    writer::run(
                        writer,
                        write_rx,
                        max_batch,
                        writer_counters,
                        writer_wal,
                        wake_tx,
                        writer_health,
                        writer_observer,
                        writer_cache,
                    );
                    drop(held);
                })
                .map_err(spawn_failed)?,
        );
        let conns: reader::Conns = readers.into_iter().map(Mutex::new).collect();
        for i in 0..conns.len() {
            let (rx, conns) = (read_rx.clone(), conns.clone());
            let held = lock.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("kassa-sqlite-reader-{i}"))
                    .spawn(move || {
                        reader::run(conns, i, rx);
                        drop(held);
                    })
                    .map_err(spawn_failed)?,
            );
        }
        let checkpoint_health = health.clone();
        threads.push(
            std::thread::Builder::new()
                .name("kassa-sqlite-checkpointer".to_owned())
                .spawn(move || {
                    checkpoint(checkpointer, wake_rx, wal, &checkpoint_health);
                    drop(lock);
                })
                .map_err(spawn_failed)?,
        );
        tracing::info!(path = %path.display(), readers = threads.len() - 2, "opened SQLite store");
        Ok(SqliteStore {
            queues: Some(Queues { write: write_tx, read: read_tx }),
            conns: Some(conns),
            threads,
            path: path.to_owned(),
            counters,
            health,
            observer,
            cache,
        })
    }

    /// Open the database a URL names: `sqlite://relative/path.db`, `sqlite:///absolute/path.db`
    /// or `sqlite:path.db`, optionally with `?mode=rwc` (what kassa does anyway). In-memory
    /// databases are not supported: the readers and the writer must share a file.
    pub fn open_url(url: &str) -> Result<SqliteStore, StoreError> {
        Self::open_url_with(url, SqliteOptions::default())
    }

    /// [`SqliteStore::open_url`] with options.
    pub fn open_url_with(url: &str, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        Self::open_with(&path_from_url(url)?, options)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the writer has committed so far.
    pub fn writer_stats(&self) -> WriterStats {
        WriterStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            transactions: self.counters.transactions.load(Ordering::Relaxed),
        }
    }

    /// Transactions queued for the writer and not yet taken into a batch.
    pub fn write_queue_len(&self) -> usize {
        self.queues.as_ref().map_or(0, |q| q.write.len())
    }

    /// Send the write probe through the writer and wait for it (at most
    /// [`health::PROBE_TIMEOUT`]); its batch records what it showed like any other.
    async fn probe(&self) -> Result<(), StoreError> {
        /// Marks the probe answered when the job is done with, run or not.
        struct Done(Arc<health::Health>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.probe_done();
            }
        }
        let done = Done(self.health.clone());
        let probe = self.write(Box::new(move |conn| {
            let _done = done;
            health::probe(conn).map(|()| boxed(())).map_err(Abort::Store)
        }));
        match tokio::time::timeout(health::PROBE_TIMEOUT, probe).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(Abort::Store(e))) => Err(e),
            Ok(Err(Abort::Refused(_))) => Err(StoreError::Backend("the write probe was refused".to_owned())),
            Err(_) => Err(StoreError::Unavailable(format!(
                "the SQLite writer has not finished a write in {} s",
                health::PROBE_TIMEOUT.as_secs()
            ))),
        }
    }

    fn queues(&self) -> Result<&Queues, StoreError> {
        self.queues.as_ref().ok_or_else(closed)
    }

    /// Run `f` on the writer inside the next group commit, in a savepoint of its own; answers
    /// once the batch is durable.
    async fn write(&self, f: WriteFn) -> Outcome {
        self.write_with(f, Undo::Savepoint).await
    }

    async fn write_with(&self, f: WriteFn, undo: Undo) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.queues()?.write.send(WriteJob { f, reply, undo }).map_err(|_| closed())?;
        answer.await.map_err(|_| StoreError::Unavailable("the SQLite writer stopped".to_owned()))?
    }

    /// Run one key statement on the writer, in the next group commit.
    async fn key_write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let out = self.write(Box::new(move |conn| f(conn).map(boxed).map_err(Abort::Store))).await;
        match out.map_err(|e| unrefused(e, "a key's change"))?.downcast::<T>() {
            Ok(value) => Ok(*value),
            Err(_) => Err(StoreError::Backend("a key's change answered with the wrong type".to_owned())),
        }
    }

    /// Run `f`, a short read by key, here on the calling thread on a reader connection that is
    /// free, else on a reader thread. A lookup by key takes microseconds, less than handing it to
    /// a reader thread and waking the caller again cost (the readers' threads spent more of their
    /// time in the kernel, being woken, than reading: `bench/README.md`, session 14); lists and
    /// transactions, which can run longer, stay on the readers.
    async fn read_here<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        for conn in self.conns.as_ref().ok_or_else(closed)?.iter() {
            let mut conn = match conn.try_lock() {
                Ok(conn) => conn,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => continue,
            };
            return reader::guarded(&mut conn, f)
                .unwrap_or_else(|| Err(StoreError::Unavailable("a SQLite read failed".to_owned())));
        }
        self.read(f).await
    }

    /// Run `f` on a reader.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = reply.send(f(conn));
        });
        self.queues()?.read.send(job).map_err(|_| closed())?;
        answer.await.map_err(|_| StoreError::Unavailable("a SQLite reader failed".to_owned()))?
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queues lets the threads drain what is queued and stop. The reader threads
        // then hold the last handles on their connections, which close before the threads let
        // go of the file's lock.
        drop(self.queues.take());
        drop(self.conns.take());
        let me = std::thread::current().id();
        // The last handle can be dropped on the writer itself (by a transaction's closure that
        // owned it); that thread stops on its own once the queue is empty, and the checkpointer
        // (the last thread) only after it, so neither is waited for there.
        let on_writer = self.threads.first().is_some_and(|h| h.thread().id() == me);
        let count = self.threads.len();
        for (i, handle) in self.threads.drain(..).enumerate() {
            if handle.thread().id() == me || (on_writer && i + 1 == count) {
                continue;
            }
            if handle.join().is_err() {
                tracing::error!("a SQLite thread panicked");
            }
        }
    }
}

/// The file a `sqlite:` URL names. The URL itself is never echoed in errors.
pub(crate) fn path_from_url(url: &str) -> Result<PathBuf, StoreError> {
    let invalid = |why: &str| StoreError::Backend(format!("invalid SQLite database URL: {why}"));
    let rest = url.strip_prefix("sqlite:").ok_or_else(|| invalid("it must start with `sqlite:`"))?;
    // `sqlite://a/b.db` is the relative `a/b.db`; `sqlite:///a/b.db` the absolute `/a/b.db`.
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    for option in query.into_iter().flat_map(|q| q.split('&')).filter(|o| !o.is_empty()) {
        match option {
            "mode=rwc" => {}
            "mode=memory" => return Err(invalid("in-memory databases are not supported")),
            _ => {
                let key = option.split_once('=').map_or(option, |(k, _)| k);
                return Err(invalid(&format!("unsupported option `{key}` (only `mode=rwc`)")));
            }
        }
    }
    if path.is_empty() {
        return Err(invalid("it names no file"));
    }
    if path == ":memory:" {
        return Err(invalid("in-memory databases are not supported"));
    }
    Ok(PathBuf::from(path))
}

fn boxed<T: Send + 'static>(v: T) -> Box<dyn Any + Send> {
    Box::new(v)
}

/// The store error of a write whose closure never refuses.
fn unrefused(e: Abort<Box<dyn Any + Send>>, what: &str) -> StoreError {
    match e {
        Abort::Store(e) => e,
        Abort::Refused(_) => StoreError::Backend(format!("{what} cannot be refused")),
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn observe(&self, observer: Arc<dyn kassa_core::store::StoreObserver>) {
        self.observer.set(observer);
    }

    /// Reachable, and fit to write: the files are still the database's (else `Lost`), writes
    /// are not failing, and — when no write has shown that for a while — a probe write commits
    /// (see `src/sqlite/health.rs`).
    async fn ping(&self) -> Result<(), StoreError> {
        self.health.check_files()?;
        if self.health.probe_due() {
            self.probe().await?;
        }
        self.health.writes()?;
        self.read(|conn| {
            let one: i64 = conn
                .prepare_cached("SELECT 1")
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map_err(map)?;
            if one == 1 { Ok(()) } else { Err(StoreError::Backend("SELECT 1 answered otherwise".to_owned())) }
        })
        .await
    }

    async fn count_accounts(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM accounts")
                .and_then(|mut s| s.query_row([], |r| r.get(0)))
                .map_err(map)?;
            u64::try_from(n).map_err(|_| StoreError::Corrupt("negative account count".to_owned()))
        })
        .await
    }

    async fn create_account(&self, account: &Account, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let account = account.clone();
        let key = key.clone();
        self.write(Box::new(move |conn| {
            conn.prepare_cached("INSERT INTO accounts (id, name, created) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| s.execute(rusqlite::params![account.id, account.name, account.created]))
                .map_err(map)?;
            keys::insert(conn, &key)?;
            Ok(boxed(()))
        }))
        .await
        .map(|_| ())
        .map_err(|e| unrefused(e, "creating an account"))
    }

    async fn default_account(&self) -> Result<Option<Account>, StoreError> {
        self.read(|conn| keys::default_account(conn)).await
    }

    async fn api_key(&self, hash: &KeyHash) -> Result<Option<(ApiKeyRecord, Account)>, StoreError> {
        let hash = hash.clone();
        self.read(move |conn| keys::by_hash(conn, &hash)).await
    }

    async fn add_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let key = key.clone();
        self.key_write(move |conn| keys::insert(conn, &key)).await
    }

    async fn api_keys(&self, account: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let account = account.to_owned();
        self.read(move |conn| keys::of_account(conn, &account)).await
    }

    async fn revoke_api_key(&self, account: &str, id: &str, at: Timestamp) -> Result<bool, StoreError> {
        let (account, id) = (account.to_owned(), id.to_owned());
        self.key_write(move |conn| keys::revoke(conn, &account, &id, at)).await
    }

    async fn expire_api_key(&self, account: &str, id: &str, at: Timestamp) -> Result<bool, StoreError> {
        let (account, id) = (account.to_owned(), id.to_owned());
        self.key_write(move |conn| keys::expire(conn, &account, &id, at)).await
    }

    async fn record_key_use(&self, hash: &KeyHash, at: Timestamp) -> Result<(), StoreError> {
        let hash = hash.clone();
        self.key_write(move |conn| keys::record_use(conn, &hash, at)).await
    }

    async fn get_account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, name, created FROM accounts WHERE id = ?1").map_err(map)?;
            stmt.query_row([id.as_str()], |r| {
                Ok(Account { id: r.get(0)?, name: r.get(1)?, created: r.get(2)? })
            })
            .optional()
            .map_err(map)
        })
        .await
    }

    async fn get_by_id(&self, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
        let id = id.to_owned();
        self.read_here(move |conn| sql::get_by_id(conn, kind, &id)).await
    }

    async fn get(&self, account: &str, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
        if cache::RecordCache::keeps(kind) {
            return Ok(self.get_many(account, vec![(kind, id.to_owned())]).await?.pop());
        }
        let (account, id) = (account.to_owned(), id.to_owned());
        self.read_here(move |conn| sql::get(conn, &account, kind, &id)).await
    }

    async fn get_many(&self, account: &str, keys: Vec<(Kind, String)>) -> Result<Vec<RawRecord>, StoreError> {
        // Nothing to read (a session whose lines are all `price_data`): no trip to a reader.
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // Prices and products, when every one asked for is in memory; else all from one snapshot.
        let cached = keys.iter().all(|(kind, _)| cache::RecordCache::keeps(*kind));
        if cached && let Some(found) = self.cache.get_all(account, &keys) {
            return Ok(found);
        }
        let generation = if cached { self.cache.generation() } else { None };
        let account = account.to_owned();
        let found = self
            .read_here(move |conn| {
                let read = |conn: &Connection| {
                    let mut found = Vec::with_capacity(keys.len());
                    for (kind, id) in &keys {
                        found.extend(sql::get(conn, &account, *kind, id)?);
                    }
                    Ok(found)
                };
                // One statement is a snapshot of its own; more share one transaction.
                if keys.len() == 1 { read(&*conn) } else { reader::snapshot(conn, read)? }
            })
            .await?;
        if let Some(generation) = generation {
            self.cache.put(generation, &found);
        }
        Ok(found)
    }

    async fn list(&self, account: &str, kind: Kind, query: ListQuery) -> Result<Page, StoreError> {
        let account = account.to_owned();
        self.read(move |conn| reader::snapshot(conn, |conn| sql::list(conn, &account, kind, &query))?).await
    }

    async fn view(&self, f: TxFn) -> TxOutcome {
        self.read(move |conn| {
            // One snapshot for every read `f` makes. The reader's connection is `query_only`, so
            // a write inside `f` fails.
            Ok(reader::snapshot(conn, |conn| f(&mut SqliteTx { conn }))
                .unwrap_or_else(|e| Err(Abort::Store(e))))
        })
        .await
        .unwrap_or_else(|e| Err(Abort::Store(e)))
    }

    async fn transact(&self, f: TxFn) -> TxOutcome {
        self.write(Box::new(move |conn| f(&mut SqliteTx { conn }))).await
    }

    /// One `INSERT` on the writer without a savepoint (`Undo::Own`): a refused statement leaves
    /// nothing behind by itself.
    async fn insert(&self, record: RawRecord) -> Result<(), StoreError> {
        self.insert_all(vec![record]).await
    }

    /// The records' `INSERT`s in order, without a savepoint (`Undo::Own`): when one is refused,
    /// the ones before it are deleted again before the refusal is answered; if that fails, the
    /// transaction is rolled back and the whole batch fails, so nothing is ever half-written.
    async fn insert_all(&self, records: Vec<RawRecord>) -> Result<(), StoreError> {
        let f: WriteFn = Box::new(move |conn| {
            let mut tx = SqliteTx { conn };
            for (i, record) in records.iter().enumerate() {
                if let Err(refused) = tx.insert(record) {
                    for done in &records[..i] {
                        if let Err(e) = tx.delete(&done.account, done.kind, &done.id) {
                            writer::abandon_batch(conn);
                            return Err(Abort::Store(e));
                        }
                    }
                    return Err(Abort::Store(refused));
                }
            }
            Ok(Box::new(()))
        });
        match self.write_with(f, Undo::Own).await {
            Ok(_) => Ok(()),
            Err(Abort::Store(e)) => Err(e),
            Err(Abort::Refused(_)) => Err(StoreError::Backend("an insert was refused".to_owned())),
        }
    }
}

/// Copy the write-ahead log into the database file every half second, off the writer, so that
/// no commit waits for a checkpoint (SQLite would otherwise run one inside the commit that fills
/// the log). `PASSIVE` never blocks the writer or the readers. The writer wakes it early when the
/// log grows long, and learns when that run is done (see [`writer::WAL_NUDGE_FRAMES`]). When the
/// log is all copied and nothing was written for a whole turn, the log is truncated to nothing
/// (`TRUNCATE`: on an idle store the writer has nothing to wait for). Stops once the writer has
/// stopped (its end of `wake` closes), truncating the log one last time, so a cleanly closed store
/// leaves no log with content behind. Each turn first looks at the database's files
/// ([`health::Health::check_files`]), and no longer checkpoints once they are gone. A failing
/// checkpoint (a full disk fails every one) is logged when it starts failing and when it works
/// again, not twice a second in between.
fn checkpoint(
    conn: rusqlite::Connection,
    wake: crossbeam_channel::Receiver<()>,
    wal: Arc<writer::WalState>,
    health: &health::Health,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut failing = false;
    let mut report = |outcome: rusqlite::Result<(i64, i64, i64)>| match outcome {
        Ok(counts) => {
            if std::mem::take(&mut failing) {
                tracing::info!("SQLite checkpoints succeed again");
            }
            Some(counts)
        }
        Err(e) if failing => {
            tracing::debug!(error = %e, "SQLite checkpoint failed again");
            None
        }
        Err(e) => {
            failing = true;
            tracing::warn!(error = %e, "SQLite checkpoint failed; retrying every half second");
            None
        }
    };
    let run = |conn: &rusqlite::Connection, mode: &str| {
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
    };
    // The commits counted at the previous turn, when all of the log was copied.
    let mut settled: Option<u64> = None;
    loop {
        let woken = match wake.recv_timeout(std::time::Duration::from_millis(500)) {
            Ok(()) => true,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => false,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        // Also the periodic look at the files: a store nobody writes to or asks about still
        // notices, and says so, soon after its file goes.
        if health.check_files().is_err() {
            continue;
        }
        // Read before the run: a commit during it counts against the next turn's idleness.
        let commits = wal.commits.load(Relaxed);
        let Some((busy, log, copied)) = report(run(&conn, "PASSIVE")) else { continue };
        if woken {
            wal.nudged.store(false, Relaxed);
            wal.caught_up.store(true, Relaxed);
        }
        // All copied, and no commit since the previous turn: nothing is being written.
        let idle = busy == 0 && log > 0 && copied == log && settled == Some(commits);
        settled = (busy == 0 && copied == log).then_some(commits);
        if idle && report(run(&conn, "TRUNCATE")).is_some_and(|(busy, _, _)| busy == 0) {
            settled = None;
        }
    }
    // The writer has stopped: nothing can append any more. Copy everything and empty the log.
    if health.check_files().is_ok() {
        report(run(&conn, "TRUNCATE"));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::conformance::TestDatabase;
    use kassa_core::store::{Value, transact, transact_or_refuse};

    #[test]
    fn urls() {
        let ok = |u: &str| path_from_url(u).unwrap();
        assert_eq!(ok("sqlite://kassa.db"), PathBuf::from("kassa.db"));
        assert_eq!(ok("sqlite://data/kassa.db"), PathBuf::from("data/kassa.db"));
        assert_eq!(ok("sqlite:///var/lib/kassa.db"), PathBuf::from("/var/lib/kassa.db"));
        assert_eq!(ok("sqlite:kassa.db"), PathBuf::from("kassa.db"));
        assert_eq!(ok("sqlite:/abs/kassa.db"), PathBuf::from("/abs/kassa.db"));
        assert_eq!(ok("sqlite://kassa.db?mode=rwc"), PathBuf::from("kassa.db"));
        for bad in [
            "sqlite:",
            "sqlite://",
            "sqlite::memory:",
            "sqlite://x.db?mode=memory",
            "sqlite://x.db?key=secret",
            "postgres://x",
        ] {
            let err = path_from_url(bad).unwrap_err();
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    fn product(account: &str, id: &str) -> RawRecord {
        RawRecord {
            kind: Kind::Product,
            account: account.into(),
            id: id.into(),
            created: 1,
            data: "{}".into(),
            columns: vec![Value::Int(1)],
        }
    }

    /// Prices and products read by key come from memory until the writer changes them: every
    /// read after an update, a delete or a deletion by filter has committed sees it, and a change
    /// rolled back leaves the record as it was.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cached_products_follow_every_change() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        async fn data(store: &SqliteStore) -> Option<String> {
            store.get("acct_1", Kind::Product, "prod_1").await.unwrap().map(|r| r.data)
        }
        store.insert(product("acct_1", "prod_1")).await.unwrap();
        store.insert(product("acct_2", "prod_other")).await.unwrap();
        assert_eq!(data(&store).await.as_deref(), Some("{}"));
        assert!(store.cache.get_all("acct_1", &[(Kind::Product, "prod_1".to_owned())]).is_some(), "kept");
        assert!(store.get("acct_2", Kind::Product, "prod_1").await.unwrap().is_none(), "another account's");

        let renamed = RawRecord { data: r#"{"name":"new"}"#.into(), ..product("acct_1", "prod_1") };
        transact(&store, move |tx| tx.update(&renamed)).await.unwrap();
        assert_eq!(data(&store).await.as_deref(), Some(r#"{"name":"new"}"#));

        // Changed and rolled back (the transaction refuses): the record is as it was.
        let again = RawRecord { data: r#"{"name":"rolled back"}"#.into(), ..product("acct_1", "prod_1") };
        let refused = kassa_core::store::transact_or_refuse(&store, move |tx| {
            tx.update(&again).map_err(Abort::Store)?;
            Err::<(), _>(Abort::Refused("no"))
        })
        .await;
        assert!(matches!(refused, Err(Abort::Refused("no"))));
        assert_eq!(data(&store).await.as_deref(), Some(r#"{"name":"new"}"#));

        let many = store.get_many("acct_1", vec![(Kind::Product, "prod_1".to_owned())]).await.unwrap();
        assert_eq!(many.len(), 1);
        transact(&store, |tx| tx.delete("acct_1", Kind::Product, "prod_1").map(drop)).await.unwrap();
        assert_eq!(data(&store).await, None);
        assert!(
            store.get_many("acct_1", vec![(Kind::Product, "prod_1".to_owned())]).await.unwrap().is_empty()
        );

        assert!(store.get("acct_2", Kind::Product, "prod_other").await.unwrap().is_some());
        transact(&store, |tx| tx.delete_where(Kind::Product, &[]).map(drop)).await.unwrap();
        assert!(store.get("acct_2", Kind::Product, "prod_other").await.unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_transaction_fails_alone() {
        let db = TempSqlite::new();
        let store = db.open();
        let err = transact(store.as_ref(), |tx| {
            tx.insert(&product("acct_1", "prod_1"))?;
            if tx.get("acct_1", Kind::Product, "prod_1")?.is_some() {
                panic!("boom");
            }
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(err, StoreError::Backend("the transaction panicked".into()));
        assert_eq!(store.get("acct_1", Kind::Product, "prod_1").await.unwrap(), None);
        transact(store.as_ref(), |tx| tx.insert(&product("acct_1", "prod_2"))).await.unwrap();
        assert!(store.get("acct_1", Kind::Product, "prod_2").await.unwrap().is_some());
    }

    /// A read by key runs on the caller's thread on a free reader connection; with every one
    /// taken it queues for a reader thread instead, and answers once a connection is free.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_by_key_wait_for_a_reader_when_every_connection_is_taken() {
        let db = TempSqlite::new();
        let store = Arc::new(db.open_sqlite());
        store.insert(product("acct_1", "prod_1")).await.unwrap();
        store.insert(product("acct_1", "prod_2")).await.unwrap();
        // Here, on this thread: every connection free.
        assert!(store.get("acct_1", Kind::Product, "prod_1").await.unwrap().is_some());

        let conns = store.conns.clone().unwrap();
        let held: Vec<_> = conns.iter().map(|c| c.lock().unwrap()).collect();
        let reading = {
            let store = store.clone();
            // Not read before, so not in the cache of prices and products.
            tokio::spawn(async move {
                store.get_many("acct_1", vec![(Kind::Product, "prod_2".to_owned())]).await.unwrap().len()
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!reading.is_finished(), "a read ran on a connection another thread held");
        drop(held);
        assert_eq!(reading.await.unwrap(), 1);
    }

    /// A read that panics on the caller's thread fails alone and leaves its connection usable.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_panicking_here_leaves_its_connection_usable() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        store.insert(product("acct_1", "prod_1")).await.unwrap();
        let err = store
            .read_here(|conn| -> Result<(), StoreError> {
                conn.execute_batch("BEGIN").map_err(map)?;
                panic!("boom")
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        for conn in store.conns.as_ref().unwrap().iter() {
            assert!(conn.lock().unwrap().is_autocommit(), "a transaction was left open");
        }
        assert!(store.get("acct_1", Kind::Product, "prod_1").await.unwrap().is_some());
    }

    /// A job without a savepoint of its own cannot be rolled back alone: when it panics after
    /// writing, the transaction goes, and what it wrote with it; the writer goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_self_undoing_job_takes_its_batch_down_and_leaves_nothing() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        let job: WriteFn = Box::new(|conn| {
            SqliteTx { conn }.insert(&product("acct_1", "prod_1"))?;
            panic!("boom");
        });
        let err = store.write_with(job, Undo::Own).await.unwrap_err();
        assert!(matches!(err, Abort::Store(StoreError::Backend(m)) if m.contains("panicked")));
        assert_eq!(store.get("acct_1", Kind::Product, "prod_1").await.unwrap(), None);
        store.insert(product("acct_1", "prod_2")).await.unwrap();
        assert!(store.get("acct_1", Kind::Product, "prod_2").await.unwrap().is_some());
        // A refused insert among several leaves none of them, and the next one works.
        let err = store.insert_all(vec![product("acct_1", "prod_3"), product("acct_1", "prod_2")]).await;
        assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
        assert_eq!(store.get("acct_1", Kind::Product, "prod_3").await.unwrap(), None);
        store.insert_all(vec![product("acct_1", "prod_3"), product("acct_1", "prod_4")]).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_column_count_is_refused() {
        let db = TempSqlite::new();
        let store = db.open();
        let mut bad = product("acct_1", "prod_1");
        bad.columns.push(Value::Null);
        let err = transact(store.as_ref(), move |tx| tx.insert(&bad)).await.unwrap_err();
        assert!(matches!(err, StoreError::Backend(m) if m.contains("2 column values")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn filtering_on_a_foreign_column_is_an_error() {
        use kassa_core::store::{Cursor, Filter, ListQuery};
        let db = TempSqlite::new();
        let store = db.open();
        let q = ListQuery {
            filters: vec![Filter::Eq(kassa_core::store::Column::Email, "a@b.c".into())],
            limit: 10,
            cursor: Cursor::First,
        };
        let err = store.list("acct_1", Kind::Product, q).await.unwrap_err();
        assert!(matches!(&err, StoreError::Backend(m) if !m.contains("a@b.c")), "{err}");
    }

    /// A transaction's closure can own the last handle to the store, so the store is dropped on
    /// the writer thread itself: that must neither deadlock nor lose the batch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_on_the_writer_does_not_deadlock() {
        use std::sync::Arc;
        use std::time::Duration;

        let db = TempSqlite::new();
        let store: Arc<dyn Store> = db.open();

        // Keep the writer busy with a first batch until the second job is queued.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .transact(Box::new(move |tx| {
                        let _ = started_tx.send(());
                        let _ = go_rx.recv_timeout(Duration::from_secs(10));
                        tx.insert(&product("acct_1", "prod_1"))?;
                        Ok(boxed(()))
                    }))
                    .await
                    .map(|_| ())
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();

        // Queue a job that owns a handle, then abandon its future.
        let captured = store.clone();
        let second = store.transact(Box::new(move |tx| {
            std::thread::sleep(Duration::from_millis(100));
            tx.insert(&product("acct_1", "prod_2"))?;
            drop(captured);
            Ok(boxed(()))
        }));
        assert!(tokio::time::timeout(Duration::from_millis(10), second).await.is_err());
        drop(store);
        go_tx.send(()).unwrap();
        first.await.unwrap().unwrap();

        // The second job ran and dropped the store on the writer; the file is free again.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let store = db.open();
        assert!(store.get("acct_1", Kind::Product, "prod_1").await.unwrap().is_some());
        assert!(store.get("acct_1", Kind::Product, "prod_2").await.unwrap().is_some());
    }

    /// Fifty transactions queued behind a busy writer go into one batch; every third refuses and is
    /// rolled back to its savepoint, its refusal handed back as it was, while the rest commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_batch_commits_the_good_and_drops_the_bad() {
        use std::time::Duration;

        let db = TempSqlite::new();
        let store = Arc::new(db.open_sqlite());
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let blocker = {
            let store = store.clone();
            tokio::spawn(async move {
                transact(store.as_ref(), move |_tx| {
                    let _ = started_tx.send(());
                    let _ = go_rx.recv_timeout(Duration::from_secs(10));
                    Ok(())
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
        let before = store.writer_stats();

        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    transact_or_refuse(store.as_ref(), move |tx| {
                        tx.insert(&product("acct_1", &format!("prod_{i:02}")))?;
                        if i % 3 == 0 { Err(Abort::Refused(format!("refused {i}"))) } else { Ok(i) }
                    })
                    .await
                })
            })
            .collect();
        while store.write_queue_len() < 50 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        go_tx.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        for (i, t) in tasks.into_iter().enumerate() {
            let want = if i % 3 == 0 { Err(Abort::Refused(format!("refused {i}"))) } else { Ok(i) };
            assert_eq!(t.await.unwrap(), want);
        }

        let after = store.writer_stats();
        assert_eq!((after.batches - before.batches, after.transactions - before.transactions), (2, 51));
        for i in 0..50 {
            let got = store.get("acct_1", Kind::Product, &format!("prod_{i:02}")).await.unwrap();
            assert_eq!(got.is_some(), i % 3 != 0, "prod_{i:02}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_are_configured_for_durability() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        let pragmas = store
            .write(Box::new(|conn| {
                let get = |p: &str| {
                    conn.query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, rusqlite::types::Value>(0))
                };
                let v = (get("journal_mode"), get("synchronous"), get("foreign_keys"), get("busy_timeout"));
                Ok(boxed(format!("{v:?}")))
            }))
            .await
            .unwrap();
        let pragmas = pragmas.downcast::<String>().unwrap();
        // synchronous 2 = FULL
        assert_eq!(*pragmas, r#"(Ok(Text("wal")), Ok(Integer(2)), Ok(Integer(1)), Ok(Integer(5000)))"#);
        // Readers cannot write.
        let err = store.read(|conn| conn.execute("DELETE FROM accounts", []).map_err(map)).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_) | StoreError::Backend(_)), "{err:?}");
        // A foreign key holds: a key for a missing account is refused.
        let err = store
            .write(Box::new(|conn| {
                conn.execute("INSERT INTO api_keys (hash, account_id, last4, created) VALUES ('h', 'acct_none', '1234', 0)", [])
                    .map_err(map)?;
                Ok(boxed(()))
            }))
            .await
            .unwrap_err();
        assert!(matches!(&err, Abort::Store(StoreError::Backend(m)) if m.contains("FOREIGN KEY")), "{err:?}");
    }

    /// Run `SELECT … LIMIT ?` through the statement cache with three different limits and answer
    /// how often SQLite prepared it again.
    fn reprepared(conn: &Connection) -> Result<i32, StoreError> {
        let sql = "SELECT id FROM products WHERE account_id = ?1 ORDER BY seq DESC LIMIT ?2";
        for limit in [1, 10, 100] {
            let mut stmt = conn.prepare_cached(sql).map_err(map)?;
            let rows =
                stmt.query_map(rusqlite::params!["acct_1", limit], |r| r.get::<_, String>(0)).map_err(map)?;
            assert_eq!(rows.count(), 0);
        }
        let stmt = conn.prepare_cached(sql).map_err(map)?;
        Ok(stmt.get_status(rusqlite::StatementStatus::RePrepare))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cached_statement_is_not_prepared_again_for_each_bound_limit() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        let on_writer = store.write(Box::new(|conn| Ok(boxed(reprepared(conn)?)))).await.unwrap();
        assert_eq!(*on_writer.downcast::<i32>().unwrap(), 0);
        assert_eq!(store.read(|conn| reprepared(conn)).await.unwrap(), 0);
        // Without the planner's stability guarantee, every execution prepares it again.
        let plain = Connection::open_in_memory().unwrap();
        plain
            .execute_batch("CREATE TABLE products (seq INTEGER PRIMARY KEY, account_id TEXT, id TEXT)")
            .unwrap();
        assert_eq!(reprepared(&plain).unwrap(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_schema_survives_reopening() {
        let db = TempSqlite::new();
        drop(db.open());
        let store = db.open();
        store.ping().await.unwrap();
        assert_eq!(store.count_accounts().await.unwrap(), 0);
    }

    // --- the write-ahead log (issue 19 §3) --------------------------------------------------------

    fn wal_len(path: &Path) -> u64 {
        std::fs::metadata(health::wal_path(path)).map_or(0, |m| m.len())
    }

    /// A product whose document takes about `bytes`, so that each commit adds pages to the log.
    fn bulky(id: &str, bytes: usize) -> RawRecord {
        let mut record = product("acct_1", id);
        record.data =
            serde_json::json!({ "id": id, "object": "product", "pad": "x".repeat(bytes) }).to_string();
        record
    }

    /// A store closed cleanly leaves no log with content behind: the next start reads the
    /// database file alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clean_close_empties_the_log() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        for i in 0..200 {
            let record = bulky(&format!("prod_{i}"), 2_000);
            transact(&store, move |tx| tx.insert(&record)).await.unwrap();
        }
        assert!(wal_len(db.path()) > 0, "the writes went to the log");
        drop(store);
        assert_eq!(wal_len(db.path()), 0, "the log is empty (or gone) after a clean close");
        let store = db.open_sqlite();
        assert!(store.get("acct_1", Kind::Product, "prod_199").await.unwrap().is_some());
    }

    /// Under writes that never pause, the log starts over again and again instead of growing: it
    /// stays near the writer's restart point, far below what was written through it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_log_stays_short_under_continuous_writes() {
        let db = TempSqlite::new();
        let store = Arc::new(db.open_sqlite());
        let limit = u64::try_from(writer::JOURNAL_SIZE_LIMIT).unwrap();
        // About 3 × the limit of documents, from 16 writers that never stop.
        let per_task = 200;
        let tasks: Vec<_> = (0..16)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..per_task {
                        let record = bulky(&format!("prod_{t}_{i}"), 32_000);
                        transact(store.as_ref(), move |tx| tx.insert(&record)).await.unwrap();
                    }
                })
            })
            .collect();
        let mut largest = 0;
        while !tasks.iter().all(tokio::task::JoinHandle::is_finished) {
            largest = largest.max(wal_len(db.path()));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        let written = 16 * per_task * 32_000;
        assert!(largest <= limit, "the log reached {largest} B ({written} B written)");
        let store = Arc::into_inner(store).unwrap();
        drop(store);
        assert_eq!(wal_len(db.path()), 0);
    }

    /// An idle store's log is emptied by the checkpointer, not only at close.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_store_empties_its_log() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        for i in 0..20 {
            let record = bulky(&format!("prod_{i}"), 2_000);
            transact(&store, move |tx| tx.insert(&record)).await.unwrap();
        }
        let start = std::time::Instant::now();
        while wal_len(db.path()) > 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "the log was never emptied");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Writing again works, from an empty log.
        transact(&store, |tx| tx.insert(&product("acct_1", "prod_after"))).await.unwrap();
        assert!(store.get("acct_1", Kind::Product, "prod_after").await.unwrap().is_some());
    }

    // --- data at rest (issue 13 §9, §11, §12) ---------------------------------------------------

    /// Run `sql` on the writer's connection (a test hook: the pragmas below are per connection).
    async fn on_writer(store: &SqliteStore, sql: &'static str) {
        store
            .write(Box::new(move |conn| {
                conn.execute_batch(sql).map_err(map)?;
                Ok(boxed(()))
            }))
            .await
            .unwrap();
    }

    async fn insert(store: &SqliteStore, id: &str) -> Result<(), StoreError> {
        let record = product("acct_1", id);
        transact(store, move |tx| tx.insert(&record)).await
    }

    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_files_are_created_for_their_owner_alone() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        insert(&store, "prod_1").await.unwrap();
        let path = db.path();
        for file in [path.to_owned(), health::wal_path(path), health::shm_path(path)] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deleted_database_takes_no_more_writes() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        insert(&store, "prod_1").await.unwrap();
        for file in [db.path().to_owned(), health::wal_path(db.path()), health::shm_path(db.path())] {
            std::fs::remove_file(file).unwrap();
        }
        // The very next write is refused, naming the file; so is every later one, and `ping`.
        let lost = |e: &StoreError| matches!(e, StoreError::Lost(m) if m.contains(&db.path().display().to_string()) && m.contains("was deleted"));
        let err = insert(&store, "prod_2").await.unwrap_err();
        assert!(lost(&err), "{err:?}");
        let err = insert(&store, "prod_3").await.unwrap_err();
        assert!(lost(&err), "{err:?}");
        let err = store.ping().await.unwrap_err();
        assert!(lost(&err), "{err:?}");
        // Reads go on, from the orphaned file.
        assert!(store.get("acct_1", Kind::Product, "prod_1").await.unwrap().is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replaced_database_is_noticed_without_a_write() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        insert(&store, "prod_1").await.unwrap();
        // Another database moved into place (a restore over a running server).
        let other = TempSqlite::new();
        drop(other.open_sqlite());
        std::fs::rename(other.path(), db.path()).unwrap();
        // The checkpointer looks every half second, with no write and no ping.
        let start = std::time::Instant::now();
        while store.health.lost().is_none() {
            assert!(start.elapsed() < Duration::from_secs(30), "the replacement was not noticed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let err = insert(&store, "prod_2").await.unwrap_err();
        assert!(matches!(&err, StoreError::Lost(m) if m.contains("was replaced")), "{err:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_exclusive_store_keeps_the_file_to_itself() {
        let db = TempSqlite::new();
        let exclusive = SqliteOptions { exclusive: true, ..SqliteOptions::default() };
        let first = SqliteStore::open_with(db.path(), exclusive.clone()).unwrap();
        let err = SqliteStore::open_with(db.path(), exclusive.clone()).unwrap_err();
        assert!(
            matches!(&err, StoreError::Unavailable(m) if m.contains("in use by another kassa process")
                && m.contains(&db.path().display().to_string())),
            "{err:?}"
        );
        // A short command beside the server takes no lock.
        let beside = SqliteStore::open_with(db.path(), SqliteOptions::default()).unwrap();
        insert(&beside, "prod_1").await.unwrap();
        drop(beside);
        insert(&first, "prod_2").await.unwrap();
        // Closed, the file is free again.
        drop(first);
        let again = SqliteStore::open_with(db.path(), exclusive).unwrap();
        assert!(again.get("acct_1", Kind::Product, "prod_1").await.unwrap().is_some());
    }

    /// A full disk, as SQLite's page limit makes one: a write that needs a new page fails with
    /// `SQLITE_FULL`, as it does when the file system has no room.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ping_fails_while_writes_fail_and_recovers_with_a_write() {
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        store.ping().await.unwrap();
        on_writer(&store, "PRAGMA max_page_count = 1").await;
        let mut failed = None;
        for i in 0..10_000 {
            if let Err(e) = insert(&store, &format!("prod_{i:05}")).await {
                failed = Some(e);
                break;
            }
        }
        let failed = failed.expect("the page limit stops the inserts");
        assert!(matches!(&failed, StoreError::Unavailable(m) if m.contains("full")), "{failed:?}");
        let err = store.ping().await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Unavailable(m) if m.contains("writes are failing") && m.contains("full")),
            "{err:?}"
        );
        // A refusal or a read-only transaction shows nothing either way: still failing.
        transact(&store, |tx| tx.get("acct_1", Kind::Product, "prod_00000")).await.unwrap();
        assert!(store.ping().await.is_err());

        on_writer(&store, "PRAGMA max_page_count = 1000000").await;
        insert(&store, "prod_after").await.unwrap();
        store.ping().await.unwrap();
    }

    /// When nothing has been written for a while, `ping` writes a probe; a writer that cannot
    /// write (here, told its connection is read-only) fails it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ping_probes_the_writer_when_nothing_was_written_lately() {
        let db = TempSqlite::with_options(SqliteOptions {
            health_probe_after: Duration::ZERO,
            ..Default::default()
        });
        let store = db.open_sqlite();
        let before = store.writer_stats();
        store.ping().await.unwrap();
        assert_eq!(store.writer_stats().batches, before.batches + 1, "the probe is a committed write");

        // For good: the writer cannot even begin the transaction that would set it back.
        on_writer(&store, "PRAGMA query_only = 1").await;
        let err = store.ping().await.unwrap_err();
        assert!(matches!(&err, StoreError::Unavailable(m) if m.contains("readonly")), "{err:?}");
        assert!(store.ping().await.is_err(), "the next probe fails too");

        // Under the default, a store that has just written does not probe.
        let db = TempSqlite::new();
        let store = db.open_sqlite();
        insert(&store, "prod_1").await.unwrap();
        let before = store.writer_stats();
        store.ping().await.unwrap();
        assert_eq!(store.writer_stats(), before);
    }
}
