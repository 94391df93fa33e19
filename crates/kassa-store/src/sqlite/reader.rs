//! The reader threads: each serves jobs from one shared queue on a connection of its own
//! (`query_only`), so a slow list on one does not hold up a `get` on another. The connections sit
//! in a pool ([`Conns`]) that reads by key also use from the caller's thread while one is free.
//! In WAL mode readers never wait for the writer, and a read started after a write was
//! acknowledged sees it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crossbeam_channel::Receiver;
use kassa_core::store::StoreError;
use rusqlite::Connection;

use super::error::map;
use super::sql::exec;

/// A read on a reader's connection. It answers through its own channel, captured inside.
pub(crate) type ReadJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// The readers' connections. Reader thread `i` serves queued jobs on connection `i`; a short read
/// by key takes whichever is free on the caller's own thread instead (`SqliteStore::read_here`),
/// so the pool has as many connections, and as much page cache, as there are reader threads.
pub(crate) type Conns = Arc<[Mutex<Connection>]>;

/// Serve jobs on connection `i` until every sender is gone and the queue is empty.
pub(crate) fn run(conns: Conns, i: usize, jobs: Receiver<ReadJob>) {
    while let Ok(job) = jobs.recv() {
        let mut conn = lock(&conns[i]);
        // A job that panics drops its answer channel with it, so its caller gets an error.
        let _ = guarded(&mut conn, job);
    }
    tracing::debug!("SQLite reader stopping");
}

/// The connection, whoever panicked while holding it before (`guarded` leaves it as a fresh
/// connection would be).
pub(crate) fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Run `f` on `conn`. A panic is caught and answered `None`, and the connection is left as a
/// fresh one would be (a transaction `f` opened is rolled back).
pub(crate) fn guarded<T>(conn: &mut Connection, f: impl FnOnce(&mut Connection) -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(out) => Some(out),
        Err(_) => {
            tracing::error!("a read panicked on a SQLite reader connection");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            None
        }
    }
}

/// Run `f` in one read transaction: every statement it runs sees one snapshot. The transaction
/// only reads, so it commits whatever `f` returns; a panic inside `f` leaves it open, and
/// [`guarded`] rolls it back.
pub(crate) fn snapshot<T>(conn: &Connection, f: impl FnOnce(&Connection) -> T) -> Result<T, StoreError> {
    exec(conn, "BEGIN DEFERRED").map_err(map)?;
    let out = f(conn);
    exec(conn, "COMMIT").map_err(map)?;
    Ok(out)
}
