//! The reader threads: each owns a connection (`query_only`) and takes jobs from one shared
//! queue, so a slow list on one does not hold up a `get` on another. In WAL mode readers never
//! wait for the writer, and a read started after a write was acknowledged sees it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crossbeam_channel::Receiver;
use rusqlite::Connection;

/// A read on a reader's connection. It answers through its own channel, captured inside.
pub(crate) type ReadJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// Serve jobs until every sender is gone and the queue is empty.
pub(crate) fn run(mut conn: Connection, jobs: Receiver<ReadJob>) {
    while let Ok(job) = jobs.recv() {
        if catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
            // The job's answer channel was dropped with it, so its caller gets an error. Leave the
            // connection as a fresh one would be.
            tracing::error!("a read panicked on a SQLite reader");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
    tracing::debug!("SQLite reader stopping");
}
