//! [`PgTx`]: the synchronous [`Tx`] of one PostgreSQL transaction, run on a thread of its own.
//!
//! [`run`] is called on a transaction thread (`src/postgres/workers.rs`) with a pooled *local*
//! connection (`src/postgres/pool.rs`): its I/O runs on a single-threaded runtime of its own,
//! which each `Tx` method drives on this thread until its statement has answered. So a
//! statement is written, waited for (the thread sleeps in `epoll_wait`) and read by the one
//! thread, with no thread wake-ups in between; the only hand-offs are queueing the transaction
//! for the thread and handing its answer back, once per transaction. The transaction opens lazily: `BEGIN` is pipelined with the first statement
//! (one round trip for both), and a closure that runs no statement costs nothing.
//!
//! **Writes whose answer is known are deferred.** A row the transaction has read `FOR UPDATE`,
//! claimed or inserted cannot be changed or deleted by anyone else until it ends, so an update
//! of it cannot miss; and [`Tx::insert_fresh`] inserts a record under an id just drawn at
//! random, which no conflict is expected for. Such a write answers `Ok` at once and its
//! statement is sent with the transaction's next one, or with `COMMIT`, in the same round trip.
//! Those that go with `COMMIT` go as one script of the simple query protocol, their values
//! written in as literals ([`sql::inline`]): the server then answers the whole script at once,
//! where with the extended protocol it answers (and flushes) statement by statement, and the
//! thread waiting for the `COMMIT`'s answer woke for each piece (2.6 times per card payment,
//! counted with `strace`). Each write in the script names a statement prepared on the connection
//! by the first script that ran it there (`PREPARE kassa_w<n> … ; EXECUTE kassa_w<n>(…)`:
//! [`Conn::script`](super::pool::Conn::script)), so the server does not parse and plan its text
//! on every commit (a quarter of the server's CPU in a checkout, by `perf`, before).
//! Statements still run in the
//! order the closure asked for them, so its later reads see the write; only, fresh inserts of one
//! kind in a row go as one statement, and a row written again before its first write was sent
//! (with no read asked for in between) is written once, with what it holds last: a card payment's
//! claim and completion of its session are one update. (A promotion code, which
//! has a unique index besides its key, is never deferred.) If a deferred write fails anyway (a
//! fresh insert that conflicts after all is `Conflict`), the transaction is poisoned as by any
//! failed statement, and rolls back with that failure as its answer.
//!
//! **Reads asked for ahead** ([`Tx::select_ahead`]) wait with the deferred writes and go with
//! the next statement (the webhook endpoints an event goes to are asked for with a payment's
//! first read): their rows are kept until [`Tx::take_ahead`] takes them, or read then if they
//! have not been sent yet. The `COMMIT` leaves those never taken behind.
//!
//! **A written row reads back without a round trip.** No one else can change a row the
//! transaction holds, so the transaction keeps what it wrote to each (shared with the deferred
//! write, not copied again), and [`Tx::get`] answers from there (a payment reading the payment
//! method it has just inserted, for one). A row only read is not kept.
//!
//! A local connection is not watched while idle, so a server restart shows only when it is used
//! again. If the first statement of a transaction finds the connection lost, nothing of the
//! transaction has reached the server: the transaction connects afresh and sends it once more.
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

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::join5;
use kassa_core::store::{
    Abort, Ahead, Constraint, Filter, Kind, RawRecord, Scope, StoreError, Tx, TxFn, TxOutcome,
};
use kassa_core::time::Timestamp;

use super::error::{is_connection_lost, map};
use super::pool::{LocalRuntime, Pooled, Rows, join_in_order};
use super::sql::{self, Lock, Query};
use tokio_postgres::Statement;

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

/// Run `f` in one transaction on `conn`, a local connection, from a blocking thread.
pub(crate) fn run(conn: Pooled, mode: Mode, f: TxFn) -> Outcome {
    let Some(rt) = conn.local().cloned() else {
        return Err(Abort::Store(StoreError::Backend("a transaction needs a local connection".to_owned())));
    };
    let mut tx = PgTx {
        conn,
        rt,
        mode,
        begun: false,
        failed: None,
        held: HashMap::new(),
        deferred: Vec::new(),
        reads_ahead: 0,
        answered: HashMap::new(),
    };
    let outcome = match catch_unwind(AssertUnwindSafe(|| f(&mut tx))) {
        Ok(outcome) => outcome,
        Err(_) => {
            tracing::error!("a transaction panicked on PostgreSQL; it was rolled back");
            Err(Abort::Store(StoreError::Backend("the transaction panicked".to_owned())))
        }
    };
    tx.finish(outcome)
}

/// The [`Tx`] of one transaction on a pooled local connection.
pub(crate) struct PgTx {
    conn: Pooled,
    /// The connection's runtime, which this thread drives.
    rt: Arc<LocalRuntime>,
    mode: Mode,
    /// `BEGIN` has been sent.
    begun: bool,
    /// The error that aborted the transaction, if one did.
    failed: Option<StoreError>,
    /// The rows this transaction holds (read `FOR UPDATE`, claimed, inserted or updated), by
    /// kind, account and id: their updates can be deferred, and [`Tx::get`] reads those it
    /// wrote here.
    held: HashMap<Key, Held>,
    /// Statements not sent yet, in the order they were asked for.
    deferred: Vec<Deferred>,
    /// How many reads were asked for ahead.
    reads_ahead: usize,
    /// The answers of reads asked for ahead, by number, until they are taken.
    answered: HashMap<usize, Result<Vec<RawRecord>, StoreError>>,
}

/// A row: its kind, account and id.
type Key = (Kind, String, String);

/// A row the transaction holds.
struct Held {
    /// Its `created`, which updates leave alone.
    created: Timestamp,
    /// The record as this transaction last wrote it (shared with the deferred write); a row it
    /// has only read is not kept (a second read of it asks the server again).
    written: Option<Arc<RawRecord>>,
}

fn key(record: &RawRecord) -> Key {
    (record.kind, record.account.clone(), record.id.clone())
}

/// A statement that waits to go with the transaction's next one: a write whose answer is known
/// before it is sent, or a read asked for ahead.
enum Deferred {
    /// An update of a held row: it changes that row.
    Update(Arc<RawRecord>),
    /// A fresh insert: it inserts the record.
    Insert(Arc<RawRecord>),
    /// A read asked for ahead ([`Tx::select_ahead`]): its rows are kept under its number.
    Read(Read),
}

/// The arguments of a [`Tx::select`] asked for ahead, and its number in the transaction.
struct Read {
    number: usize,
    scope: Whose,
    kind: Kind,
    filters: Vec<Filter>,
    limit: u32,
}

/// A [`Scope`], owned.
enum Whose {
    Account(String),
    AccountOf(Kind, String),
    All,
}

impl Read {
    fn scope(&self) -> Scope<'_> {
        match &self.scope {
            Whose::Account(account) => Scope::Account(account),
            Whose::AccountOf(kind, id) => Scope::AccountOf(*kind, id),
            Whose::All => Scope::All,
        }
    }
}

impl Deferred {
    /// Its statement. A write's fails if the write does not happen (a missed update, a
    /// conflicting insert), so that the server aborts the transaction, and turns a `COMMIT`
    /// pipelined behind it into a rollback.
    fn query(&self) -> Result<Query<'_>, StoreError> {
        match self {
            Self::Update(record) => sql::update_checked(record),
            Self::Insert(record) => sql::insert_strict(record),
            Self::Read(r) => sql::matching(r.scope(), r.kind, &r.filters, r.limit, Lock::None),
        }
    }

    fn is_write(&self) -> bool {
        !matches!(self, Self::Read(_))
    }
}

impl PgTx {
    /// The error that aborted the transaction, if a statement failed: every later call answers it.
    fn alive(&self) -> Result<(), StoreError> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

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
        self.alive()?;
        let first = !self.begun;
        match self.attempt(q, savepoint) {
            // The connection was found lost on the transaction's first statement: nothing of the
            // transaction reached the server (no `BEGIN` without its statement, no answer to
            // either), so connect afresh and send them once more.
            Err(e) if first && is_connection_lost(&e) => {
                if let Err(e) = self.reconnect(e) {
                    self.failed.get_or_insert_with(|| e.clone());
                    return Err(e);
                }
                self.attempt(q, savepoint).unwrap_or_else(|e| Err(self.poison(e)))
            }
            Ok(outcome) => outcome,
            Err(e) => Err(self.poison(e)),
        }
    }

    /// The connection was found lost (`e`) by the transaction's first round trip: connect
    /// afresh, so that it can be sent once more.
    fn reconnect(&mut self, e: tokio_postgres::Error) -> Result<(), StoreError> {
        tracing::debug!(error = %map(e), "an idle PostgreSQL connection was lost; connecting again");
        self.begun = false;
        self.conn.in_transaction = false;
        self.conn.reconnect_local()?;
        self.rt = match self.conn.local() {
            Some(rt) => rt.clone(),
            None => unreachable!("a local connection has its runtime"),
        };
        Ok(())
    }

    /// The deferred statements, prepared (on this connection, on first use).
    fn prepare_all(
        &mut self,
        statements: &[Sending<'_>],
    ) -> Result<Vec<Option<Statement>>, tokio_postgres::Error> {
        let rt = self.rt.clone();
        statements.iter().map(|s| rt.block_on(self.conn.prepare(&s.query))).collect()
    }

    /// Mark the transaction begun if it is not yet: answers the `BEGIN` to send first.
    fn begin(&mut self) -> Option<&'static str> {
        let begin = (!self.begun).then(|| self.mode.begin());
        if begin.is_some() {
            self.begun = true;
            self.conn.in_transaction = true;
        }
        begin
    }

    /// [`PgTx::exec`] once. The outer error aborts the transaction and has not been recorded
    /// yet; the inner one is a statement undone to its savepoint, the closure's to handle.
    fn attempt(
        &mut self,
        q: &Query<'_>,
        savepoint: bool,
    ) -> Result<Result<Rows, StoreError>, tokio_postgres::Error> {
        let deferred = std::mem::take(&mut self.deferred);
        let answer = self.trip(&deferred, q, savepoint);
        if answer.is_err() {
            // Kept for a retry on a new connection (a poisoned transaction never sends them).
            self.deferred = deferred;
        }
        answer
    }

    /// The deferred statements, then `q`, in one round trip.
    fn trip(
        &mut self,
        deferred: &[Deferred],
        q: &Query<'_>,
        savepoint: bool,
    ) -> Result<Result<Rows, StoreError>, tokio_postgres::Error> {
        let rt = self.rt.clone();
        let queued = match statements(deferred) {
            Ok(queued) => queued,
            // Checked when they were deferred, so this cannot happen; were it to, the writes
            // are lost, and the transaction must not commit without them.
            Err(e) => {
                self.failed.get_or_insert_with(|| e.clone());
                return Ok(Err(e));
            }
        };
        let prepared_queued = self.prepare_all(&queued)?;
        let prepared = rt.block_on(self.conn.prepare(q))?;
        let begin = self.begin();
        let conn = &*self.conn;
        let client = conn.client();
        // Polled in order, each sending its request on its first poll: one round trip for all.
        let (began, written, saved, ran, released) = rt.block_on(join5(
            async {
                match begin {
                    Some(begin) => client.batch_execute(begin).await,
                    None => Ok(()),
                }
            },
            join_in_order(
                queued.iter().zip(&prepared_queued).map(|(s, p)| conn.run(p.as_ref(), &s.query)).collect(),
            ),
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
        began?;
        self.absorb(&queued, written)?;
        saved?;
        match ran {
            Ok(rows) => released.map(|()| Ok(rows)),
            Err(e) if savepoint && !is_connection_lost(&e) => {
                // Undo the statement alone; the transaction goes on.
                let err = map(e);
                rt.block_on(self.conn.client().batch_execute(
                    "ROLLBACK TO SAVEPOINT kassa_statement; RELEASE SAVEPOINT kassa_statement",
                ))?;
                Ok(Err(err))
            }
            Err(e) => Err(e),
        }
    }

    /// Take in the answers of the deferred statements: a write's failure aborted the transaction
    /// (see [`Deferred::query`]), and the first failure is the answer; a read's rows are kept.
    fn absorb(
        &mut self,
        sent: &[Sending<'_>],
        answers: Vec<Result<Rows, tokio_postgres::Error>>,
    ) -> Result<(), tokio_postgres::Error> {
        for (s, answer) in sent.iter().zip(answers) {
            let rows = answer?;
            if let Some(r) = s.read {
                let records = rows.rows.iter().map(|row| sql::decode(r.kind, row)).collect();
                self.answered.insert(r.number, records);
            }
        }
        Ok(())
    }

    /// Hold `record`'s row: it was read `FOR UPDATE`, claimed or inserted.
    fn hold(&mut self, record: &RawRecord) {
        if self.mode == Mode::Write {
            self.held.insert(key(record), Held { created: record.created, written: None });
        }
    }

    /// This transaction inserted `record`: it holds the row, which reads back as written.
    fn inserted(&mut self, record: &RawRecord) -> Arc<RawRecord> {
        let written = Arc::new(record.clone());
        let held = Held { created: record.created, written: Some(written.clone()) };
        self.held.insert(key(record), held);
        written
    }

    /// A held row was updated to `record`: it keeps its `created`, which an update leaves alone.
    /// Answers the record as the row now is (`None` if the row is not held).
    fn updated(&mut self, record: &RawRecord) -> Option<Arc<RawRecord>> {
        let held = self.held.get_mut(&key(record))?;
        let written = Arc::new(RawRecord { created: held.created, ..record.clone() });
        held.written = Some(written.clone());
        Some(written)
    }

    /// A held row as this transaction wrote it.
    fn written(&self, kind: Kind, account: &str, id: &str) -> Option<RawRecord> {
        let held = self.held.get(&(kind, account.to_owned(), id.to_owned()))?;
        held.written.as_deref().cloned()
    }

    /// The deferred insert or update of `record`'s row, if one waits with no read asked for
    /// after it: what it writes can change without changing what anything reads.
    fn pending_write(&mut self, record: &RawRecord) -> Option<&mut Arc<RawRecord>> {
        for d in self.deferred.iter_mut().rev() {
            match d {
                Deferred::Read(_) => return None,
                Deferred::Insert(r) | Deferred::Update(r)
                    if r.kind == record.kind && r.id == record.id && r.account == record.account =>
                {
                    return Some(r);
                }
                Deferred::Insert(_) | Deferred::Update(_) => {}
            }
        }
        None
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
                return match self.commit() {
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
        if let Err(e) = self.rollback() {
            tracing::warn!(error = %e, "PostgreSQL ROLLBACK failed; closing the connection");
            self.conn.retire();
        }
        outcome
    }

    /// End a view without waiting for the answer: its reads are done, and a read-only
    /// transaction's `COMMIT` changes nothing (on an aborted one it rolls back). The `COMMIT` is
    /// written to the socket now, so it reaches the server before anything the connection's next
    /// user sends and the server's session does not sit in a transaction while the connection is
    /// idle; its answer is dropped when it arrives. One round trip less per view.
    fn end_view(&mut self) {
        if !self.begun {
            return;
        }
        let client = self.conn.client();
        let sent = self.rt.block_on(async {
            // tokio-postgres queues the request on the future's first poll; the answer's
            // receiver is dropped with the future, and the connection discards the answer.
            let queued = client.batch_execute("COMMIT").now_or_never();
            // Let the connection's I/O task, which this thread runs, write it out.
            tokio::task::yield_now().await;
            queued
        });
        match sent {
            Some(Err(e)) => {
                let _ = self.conn.fail(e);
                self.conn.retire();
            }
            Some(Ok(())) | None => self.conn.in_transaction = false,
        }
    }

    /// Roll back, if anything was sent.
    fn rollback(&mut self) -> Result<(), StoreError> {
        self.deferred.clear();
        if !self.begun {
            return Ok(());
        }
        match self.rt.block_on(self.conn.client().batch_execute("ROLLBACK")) {
            Ok(()) => {
                self.conn.in_transaction = false;
                Ok(())
            }
            Err(e) => Err(self.conn.fail(e)),
        }
    }

    /// Commit: the deferred writes, then `COMMIT`, in one round trip and one script (behind a
    /// `BEGIN` if nothing was sent yet: a transaction that only inserted fresh records). If a
    /// write fails, the transaction rolls back.
    fn commit(&mut self) -> Result<(), StoreError> {
        // Reads asked for ahead and never taken are not sent.
        let deferred: Vec<Deferred> =
            std::mem::take(&mut self.deferred).into_iter().filter(Deferred::is_write).collect();
        if !self.begun && deferred.is_empty() {
            return Ok(());
        }
        // Checked when they were deferred; should one not be sendable after all, no `COMMIT`
        // goes, and the connection, left inside the transaction, is closed.
        let statements = statements(&deferred)?;
        let first = !self.begun;
        match self.commit_once(&statements) {
            Err(Commit::Failed(e)) if first && is_connection_lost(&e) => {
                // The script names the connection's prepared statements: written again for the
                // new one.
                self.reconnect(e)?;
                self.commit_once(&statements).map_err(|e| self.failed(e))
            }
            answer => answer.map_err(|e| self.failed(e)),
        }
    }

    fn failed(&mut self, e: Commit) -> StoreError {
        match e {
            Commit::Unwritable(e) => e,
            Commit::Failed(e) => self.conn.fail(e),
        }
    }

    /// Send `BEGIN` if need be, the deferred writes and `COMMIT` as one script (the simple query
    /// protocol): one message, and one answer, which the server sends once it has run it all
    /// (with the extended protocol it answers each statement as it goes, and a thread waiting
    /// for the last answer wakes for each piece). Each write names a statement prepared on this
    /// connection ([`Conn::script`](super::pool::Conn::script)). If a write fails, the server
    /// skips the rest of the script, `COMMIT` among it, and the transaction is rolled back.
    fn commit_once(&mut self, statements: &[Sending<'_>]) -> Result<(), Commit> {
        let mut script = String::new();
        if let Some(begin) = self.begin() {
            script.push_str(begin);
            script.push_str(";\n");
        }
        let mut prepared = Vec::new();
        for statement in statements {
            if let Err(e) = self.conn.script(&mut script, &statement.query, &mut prepared) {
                self.conn.forget_scripted(&prepared);
                return Err(Commit::Unwritable(e));
            }
            script.push_str(";\n");
        }
        script.push_str("COMMIT");
        match self.rt.block_on(self.conn.client().batch_execute(&script)) {
            Ok(()) => {
                self.conn.in_transaction = false;
                Ok(())
            }
            Err(e) => {
                self.conn.forget_scripted(&prepared);
                // A write failed: the server aborted the transaction, which is still open.
                if e.as_db_error().is_some() {
                    match self.rt.block_on(self.conn.client().batch_execute("ROLLBACK")) {
                        Ok(()) => self.conn.in_transaction = false,
                        Err(_) => self.conn.retire(),
                    }
                }
                Err(Commit::Failed(e))
            }
        }
    }

    fn read(&mut self, q: &Query<'_>, kind: Kind) -> Result<Vec<RawRecord>, StoreError> {
        self.exec(q, false)?.rows.iter().map(|row| sql::decode(kind, row)).collect()
    }
}

/// Why a commit's script did not commit.
enum Commit {
    /// A value could not be written out as text: nothing was sent.
    Unwritable(StoreError),
    /// The server or the connection failed it.
    Failed(tokio_postgres::Error),
}

/// A statement that sends deferred work, and the read whose rows it answers, if it is one.
struct Sending<'a> {
    query: Query<'a>,
    read: Option<&'a Read>,
}

/// The statements of the deferred work, in order: one each, except that fresh inserts of one
/// kind in a row go as one statement (`INSERT … SELECT * FROM unnest(…)`, strict as each would
/// be): a payment's events are one statement, not five, and the server answers (and flushes)
/// fewer times.
fn statements(deferred: &[Deferred]) -> Result<Vec<Sending<'_>>, StoreError> {
    let mut sending = Vec::with_capacity(deferred.len());
    let mut rest = deferred;
    while let Some(first) = rest.first() {
        if let Deferred::Insert(record) = first {
            let kind = record.kind;
            let run: Vec<&RawRecord> = rest
                .iter()
                .map_while(|d| match d {
                    Deferred::Insert(r) if r.kind == kind => Some(&**r),
                    _ => None,
                })
                .collect();
            if run.len() > 1 {
                rest = &rest[run.len()..];
                sending.push(Sending { query: sql::insert_batch_strict(kind, &run)?, read: None });
                continue;
            }
        }
        let read = match first {
            Deferred::Read(r) => Some(r),
            Deferred::Insert(_) | Deferred::Update(_) => None,
        };
        sending.push(Sending { query: first.query()?, read });
        rest = &rest[1..];
    }
    Ok(sending)
}

impl Tx for PgTx {
    fn get(&mut self, account: &str, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
        self.alive()?;
        if let Some(record) = self.written(kind, account, id) {
            return Ok(Some(record));
        }
        let q = sql::get(kind, account, id, self.mode == Mode::Write);
        let found = self.read(&q, kind)?.into_iter().next();
        if let Some(record) = &found {
            self.hold(record);
        }
        Ok(found)
    }

    fn get_by_id(&mut self, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
        self.alive()?;
        // Its account is unknown until it is read, so held rows cannot answer: the deferred
        // writes go first, and the read sees them. A row this transaction wrote stays held as
        // written.
        let q = sql::by_id(kind, id, self.mode == Mode::Write);
        let found = self.read(&q, kind)?.into_iter().next();
        if let Some(record) = &found
            && !self.held.contains_key(&key(record))
        {
            self.hold(record);
        }
        Ok(found)
    }

    fn get_each(&mut self, account: &str, kind: Kind, ids: &[&str]) -> Result<Vec<RawRecord>, StoreError> {
        self.alive()?;
        // Held rows are known; the others are read (and locked) in one statement.
        let mut found = Vec::with_capacity(ids.len());
        let mut keys = Vec::new();
        for id in ids {
            match self.written(kind, account, id) {
                Some(record) => found.push(record),
                None => keys.push((account, *id)),
            }
        }
        if keys.is_empty() {
            return Ok(found);
        }
        let q = match self.mode {
            Mode::Write => sql::get_keys_for_update(kind, &keys),
            Mode::View => sql::get_keys(kind, &keys),
        };
        for record in self.read(&q, kind)? {
            self.hold(&record);
            found.push(record);
        }
        Ok(found)
    }

    fn insert(&mut self, record: &RawRecord) -> Result<(), StoreError> {
        self.writable()?;
        if self.exec(&sql::insert(record)?, false)?.affected > 0 {
            self.inserted(record);
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

    fn insert_fresh(&mut self, record: &RawRecord) -> Result<(), StoreError> {
        if sql::other_unique(record.kind).is_some() || self.failed.is_some() || self.mode == Mode::View {
            return self.insert(record);
        }
        // Checked now, so that a record that cannot be sent fails here, not later.
        sql::insert(record)?;
        let written = self.inserted(record);
        self.deferred.push(Deferred::Insert(written));
        Ok(())
    }

    fn update(&mut self, record: &RawRecord) -> Result<(), StoreError> {
        self.writable()?;
        // Only a promotion code's update can break a unique constraint (its active code).
        let savepoint = record.kind == Kind::PromotionCode;
        if !savepoint && self.failed.is_none() && self.held.contains_key(&key(record)) {
            // Checked now, so that a record that cannot be sent fails here, not later.
            sql::update(record)?;
            let written = self.updated(record).unwrap_or_else(|| Arc::new(record.clone()));
            match self.pending_write(record) {
                // Its insert or update not sent yet (and nothing read since): that statement writes
                // this instead, one statement for both.
                Some(pending) => *pending = written,
                None => self.deferred.push(Deferred::Update(written)),
            }
            return Ok(());
        }
        if self.exec(&sql::update(record)?, savepoint)?.affected == 0 {
            return Err(StoreError::NotFound);
        }
        self.updated(record);
        Ok(())
    }

    fn delete(&mut self, account: &str, kind: Kind, id: &str) -> Result<bool, StoreError> {
        self.writable()?;
        let deleted = self.exec(&sql::delete(kind, account, id), false)?.affected > 0;
        let key = (kind, account.to_owned(), id.to_owned());
        self.held.remove(&key);
        Ok(deleted)
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
        let claimed = self.read(&q, kind)?;
        for record in &claimed {
            self.hold(record);
        }
        Ok(claimed)
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

    fn select_ahead(
        &mut self,
        scope: Scope<'_>,
        kind: Kind,
        filters: &[Filter],
        limit: u32,
    ) -> Result<Ahead, StoreError> {
        self.alive()?;
        let scope = match scope {
            Scope::Account(account) => Whose::Account(account.to_owned()),
            Scope::AccountOf(kind, id) => Whose::AccountOf(kind, id.to_owned()),
            Scope::All => Whose::All,
        };
        let read =
            Deferred::Read(Read { number: self.reads_ahead, scope, kind, filters: filters.to_vec(), limit });
        // Checked now, so that a read that cannot be sent fails here, not later.
        read.query()?;
        self.deferred.push(read);
        self.reads_ahead += 1;
        Ok(Ahead::Queued(self.reads_ahead - 1))
    }

    fn take_ahead(&mut self, ahead: Ahead) -> Result<Vec<RawRecord>, StoreError> {
        let number = match ahead {
            Ahead::Ready(rows) => return Ok(rows),
            Ahead::Queued(number) => number,
        };
        self.alive()?;
        if let Some(answer) = self.answered.remove(&number) {
            return answer;
        }
        // Not sent yet: read it now (with whatever else waits).
        let queued = self.deferred.iter().position(|d| matches!(d, Deferred::Read(r) if r.number == number));
        let Some(Deferred::Read(r)) = queued.map(|at| self.deferred.remove(at)) else {
            return Err(StoreError::Backend(
                "a read asked for in another transaction, or taken twice".to_owned(),
            ));
        };
        self.select(r.scope(), r.kind, &r.filters, r.limit)
    }

    fn delete_where(&mut self, kind: Kind, filters: &[Filter]) -> Result<u64, StoreError> {
        self.writable()?;
        let deleted = self.exec(&sql::delete_where(kind, filters)?, false)?.affected;
        // Which rows went is not known: none of this kind is held any more.
        self.held.retain(|(k, _, _), _| *k != kind);
        Ok(deleted)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fresh(kind: Kind, id: &str) -> Deferred {
        Deferred::Insert(Arc::new(crate::conformance::sample(kind, "acct_1", id, 1)))
    }

    /// Fresh inserts of one kind in a row are one statement; anything else between them, or
    /// another kind, ends the run; a read keeps its rows' number.
    #[test]
    fn fresh_inserts_of_one_kind_in_a_row_are_one_statement() {
        let updated = crate::conformance::sample(Kind::Product, "acct_1", "prod_u", 1);
        let read = Read { number: 7, scope: Whose::All, kind: Kind::Product, filters: vec![], limit: 5 };
        let deferred = vec![
            fresh(Kind::Event, "evt_1"),
            fresh(Kind::Event, "evt_2"),
            fresh(Kind::Event, "evt_3"),
            fresh(Kind::WebhookDelivery, "wd_1"),
            Deferred::Update(Arc::new(updated)),
            fresh(Kind::Event, "evt_4"),
            Deferred::Read(read),
            fresh(Kind::Event, "evt_5"),
            fresh(Kind::Event, "evt_6"),
        ];
        let sending = statements(&deferred).unwrap();
        let shown: Vec<(&str, Option<usize>)> =
            sending.iter().map(|s| (s.query.text.as_ref(), s.read.map(|r| r.number))).collect();
        let batch = sql::insert_batch_strict(Kind::Event, &[]).unwrap().text;
        assert!(batch.contains("unnest") && !batch.contains("ON CONFLICT"), "{batch}");
        let single =
            sql::insert_strict(&crate::conformance::sample(Kind::Event, "a", "evt", 1)).unwrap().text;
        let delivery = sql::insert_strict(&crate::conformance::sample(Kind::WebhookDelivery, "a", "wd", 1))
            .unwrap()
            .text;
        let update =
            sql::update_checked(&crate::conformance::sample(Kind::Product, "a", "p", 1)).unwrap().text;
        assert_eq!(shown.len(), 6, "{shown:?}");
        assert_eq!(shown[0], (batch.as_ref(), None));
        assert_eq!(shown[1], (delivery.as_ref(), None));
        assert_eq!(shown[2], (update.as_ref(), None));
        assert_eq!(shown[3], (single.as_ref(), None));
        assert_eq!(shown[4].1, Some(7));
        assert_eq!(shown[5], (batch.as_ref(), None));
        // The batch carries each record once, in order: three ids in its `id` array.
        let ids = format!("{:?}", sending[0].query);
        assert!(ids.contains("<3 texts>"), "{ids}");
    }
}
