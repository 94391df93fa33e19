//! [`PgTx`]: the synchronous [`Tx`] of one PostgreSQL transaction, run on a blocking thread.
//!
//! [`run`] is called inside `tokio::task::spawn_blocking` with a pooled connection. Each `Tx`
//! method drives its statement with `Handle::block_on`; the connection's I/O task keeps running
//! on the runtime meanwhile. The transaction opens lazily: `BEGIN` is pipelined with the first
//! statement (one round trip for both), and a closure that runs no statement costs nothing.
//!
//! - **Writes** ([`Mode::Write`]): `READ COMMITTED`. [`Tx::get`] reads `FOR UPDATE`, so two
//!   transactions on one record serialize on its row lock; [`Tx::find`] claims rows with
//!   `FOR UPDATE SKIP LOCKED`, so concurrent sweeps on several nodes share out the work;
//!   [`Tx::select`] is a plain read. On `Ok` the transaction commits, and the closure's answer is
//!   returned only once `COMMIT` has; on `Err` (or a panic) it rolls back.
//! - **Views** ([`Mode::View`]): `REPEATABLE READ, READ ONLY`: one snapshot for every read, no
//!   locks; a write fails at once with `Backend`, without touching the database. The closing
//!   `COMMIT` is sent without waiting for its answer (a read-only transaction has nothing to
//!   commit), ahead of whatever the connection does next.
//!
//! # Failed statements
//!
//! An error aborts a whole PostgreSQL transaction, while the port promises that a `Conflict` the
//! closure handles leaves the transaction going. So the statements that can conflict do not raise
//! an error: an insert is `ON CONFLICT DO NOTHING` (nothing inserted is the conflict), and the one
//! update that can break a unique index (a promotion code's, on its active code) runs inside a
//! savepoint, pipelined with it. Any other failed statement poisons the transaction: later calls
//! return the same error without a round trip, and the transaction rolls back and reports that
//! error even if the closure returns `Ok`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use futures_util::FutureExt;
use futures_util::future::join4;
use kassa_core::store::{Abort, Constraint, Filter, Kind, RawRecord, Scope, StoreError, Tx, TxFn, TxOutcome};
use tokio::runtime::Handle;

use super::error::{is_connection_lost, map};
use super::pool::{Pooled, Rows};
use super::sql::{self, Lock, Query};

pub(crate) type Outcome = TxOutcome;

/// What kind of transaction a closure runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Write,
    View,
}

impl Mode {
    fn begin(self) -> &'static str {
        match self {
            Self::Write => "BEGIN",
            Self::View => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

/// Run `f` in one transaction on `conn`, from a blocking thread of `handle`'s runtime.
pub(crate) fn run(conn: Pooled, handle: &Handle, mode: Mode, f: TxFn) -> Outcome {
    let mut tx = PgTx { conn, handle, mode, begun: false, failed: None };
    let outcome = match catch_unwind(AssertUnwindSafe(|| f(&mut tx))) {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::error!("a transaction panicked on PostgreSQL; it was rolled back");
            Err(Abort::Store(StoreError::Backend("the transaction panicked".to_owned())))
        }
    };
    tx.finish(outcome)
}

/// The [`Tx`] of one transaction on a pooled connection.
pub(crate) struct PgTx<'h> {
    conn: Pooled,
    handle: &'h Handle,
    mode: Mode,
    /// `BEGIN` has been sent.
    begun: bool,
    /// The error that aborted the transaction, if one did.
    failed: Option<StoreError>,
}

impl PgTx<'_> {
    fn writable(&self) -> Result<(), StoreError> {
        match self.mode {
            Mode::Write => Ok(()),
            Mode::View => Err(StoreError::Backend("a view is read-only: it cannot write".to_owned())),
        }
    }

    /// Run one statement in the transaction, opening it first if need be. With `savepoint`, the
    /// statement runs inside one, so that if it fails the transaction goes on as if it had not
    /// run.
    fn exec(&mut self, q: &Query<'_>, savepoint: bool) -> Result<Rows, StoreError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let prepared = match self.handle.block_on(self.conn.prepare(q)) {
            Ok(prepared) => prepared,
            Err(e) => return Err(self.poison(e)),
        };
        let begin = (!self.begun).then(|| self.mode.begin());
        if begin.is_some() {
            self.begun = true;
            self.conn.in_transaction = true;
        }
        let conn = &*self.conn;
        let client = conn.client();
        let (began, saved, ran, released) = self.handle.block_on(join4(
            async {
                match begin {
                    Some(begin) => client.batch_execute(begin).await,
                    None => Ok(()),
                }
            },
            async {
                if savepoint { client.batch_execute("SAVEPOINT kassa_statement").await } else { Ok(()) }
            },
            conn.run(prepared.as_ref(), q),
            async {
                if savepoint {
                    client.batch_execute("RELEASE SAVEPOINT kassa_statement").await
                } else {
                    Ok(())
                }
            },
        ));
        if let Err(e) = began.and(saved) {
            return Err(self.poison(e));
        }
        match ran {
            Ok(rows) => match released {
                Ok(()) => Ok(rows),
                Err(e) => Err(self.poison(e)),
            },
            Err(e) if savepoint && !is_connection_lost(&e) => {
                // Undo the statement alone; the transaction goes on.
                let err = map(e);
                let undo = self.handle.block_on(self.conn.client().batch_execute(
                    "ROLLBACK TO SAVEPOINT kassa_statement; RELEASE SAVEPOINT kassa_statement",
                ));
                match undo {
                    Ok(()) => Err(err),
                    Err(e) => Err(self.poison(e)),
                }
            }
            Err(e) => Err(self.poison(e)),
        }
    }

    /// Record `e` as the error that aborted the transaction.
    fn poison(&mut self, e: tokio_postgres::Error) -> StoreError {
        let err = self.conn.fail(e);
        self.failed.get_or_insert_with(|| err.clone());
        err
    }

    /// Commit on `Ok` (unless a statement failed), roll back otherwise.
    fn finish(mut self, outcome: Outcome) -> Outcome {
        if self.mode == Mode::View {
            self.end_view();
            return match self.failed.take() {
                Some(failure) => Err(Abort::Store(failure)),
                None => outcome,
            };
        }
        let outcome = match (outcome, self.failed.take()) {
            (Ok(value), None) => {
                return match self.end("COMMIT") {
                    Ok(()) => Ok(value),
                    Err(e) => {
                        // The connection may have failed before or after the commit took
                        // effect: the caller learns only that it cannot know.
                        tracing::error!(error = %e, "PostgreSQL COMMIT failed");
                        Err(Abort::Store(e))
                    }
                };
            }
            // A statement failed and left the transaction unusable: that failure is the answer,
            // even if the closure went on to refuse (it decided on a store that was failing).
            (Ok(_) | Err(Abort::Refused(_)), Some(failure)) => Err(Abort::Store(failure)),
            (Err(e), _) => Err(e),
        };
        if let Err(e) = self.end("ROLLBACK") {
            tracing::warn!(error = %e, "PostgreSQL ROLLBACK failed; closing the connection");
            self.conn.retire();
        }
        outcome
    }

    /// End a view without waiting for the answer: its reads are done, and a read-only
    /// transaction's `COMMIT` changes nothing (on an aborted one it rolls back). The `COMMIT` is
    /// sent now, so it reaches the server before anything the connection's next user sends, and
    /// its answer is dropped when it arrives. One round trip less per view.
    fn end_view(&mut self) {
        if !self.begun {
            return;
        }
        // tokio-postgres queues the request on the future's first poll; the answer's receiver is
        // dropped with the future, and the connection discards the answer.
        let commit = self.conn.client().batch_execute("COMMIT");
        match commit.now_or_never() {
            Some(Err(e)) => {
                let _ = self.conn.fail(e);
                self.conn.retire();
            }
            Some(Ok(())) | None => self.conn.in_transaction = false,
        }
    }

    fn end(&mut self, statement: &str) -> Result<(), StoreError> {
        if !self.begun {
            return Ok(());
        }
        match self.handle.block_on(self.conn.client().batch_execute(statement)) {
            Ok(()) => {
                self.conn.in_transaction = false;
                Ok(())
            }
            Err(e) => Err(self.conn.fail(e)),
        }
    }

    fn read(&mut self, q: &Query<'_>, kind: Kind) -> Result<Vec<RawRecord>, StoreError> {
        self.exec(q, false)?.rows.iter().map(|row| sql::decode(kind, row)).collect()
    }
}

impl Tx for PgTx<'_> {
    fn get(&mut self, account: &str, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
        let q = sql::get(kind, account, id, self.mode == Mode::Write);
        Ok(self.read(&q, kind)?.into_iter().next())
    }

    fn insert(&mut self, record: &RawRecord) -> Result<(), StoreError> {
        self.writable()?;
        if self.exec(&sql::insert(record)?, false)?.affected > 0 {
            return Ok(());
        }
        // Nothing inserted: a unique constraint stood in the way. Some kinds have two.
        if let Some(other) = sql::other_unique(record.kind)
            && self.exec(&sql::seq_of(record.kind, &record.account, &record.id), false)?.rows.is_empty()
        {
            return Err(StoreError::Conflict(other));
        }
        Err(StoreError::Conflict(Constraint::PrimaryKey))
    }

    fn update(&mut self, record: &RawRecord) -> Result<(), StoreError> {
        self.writable()?;
        // Only a promotion code's update can break a unique constraint (its active code).
        let savepoint = record.kind == Kind::PromotionCode;
        match self.exec(&sql::update(record)?, savepoint)?.affected {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    fn delete(&mut self, account: &str, kind: Kind, id: &str) -> Result<bool, StoreError> {
        self.writable()?;
        Ok(self.exec(&sql::delete(kind, account, id), false)?.affected > 0)
    }

    fn find(
        &mut self,
        scope: Scope<'_>,
        kind: Kind,
        filters: &[Filter],
        limit: u32,
    ) -> Result<Vec<RawRecord>, StoreError> {
        // A read-only transaction cannot lock rows, and a view claims nothing anyway.
        let lock = match self.mode {
            Mode::Write => Lock::SkipLocked,
            Mode::View => Lock::None,
        };
        let q = sql::matching(scope, kind, filters, limit, lock)?;
        self.read(&q, kind)
    }

    fn select(
        &mut self,
        scope: Scope<'_>,
        kind: Kind,
        filters: &[Filter],
        limit: u32,
    ) -> Result<Vec<RawRecord>, StoreError> {
        let q = sql::matching(scope, kind, filters, limit, Lock::None)?;
        self.read(&q, kind)
    }

    fn delete_where(&mut self, kind: Kind, filters: &[Filter]) -> Result<u64, StoreError> {
        self.writable()?;
        Ok(self.exec(&sql::delete_where(kind, filters)?, false)?.affected)
    }

    fn next_in_sequence(&mut self, account: &str, name: &str) -> Result<i64, StoreError> {
        self.writable()?;
        // The upsert locks the counter's row until commit: a concurrent transaction taking the
        // next value waits, then reads this one's (READ COMMITTED re-reads the updated row).
        let rows = self.exec(&sql::next_in_sequence(account, name), false)?;
        let row =
            rows.rows.first().ok_or_else(|| StoreError::Backend("the sequence returned no row".into()))?;
        row.try_get::<_, i64>(0).map_err(|e| StoreError::Backend(e.to_string()))
    }
}
