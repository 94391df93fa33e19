//! The writer thread: the one connection that writes, committing transactions in groups.
//!
//! It blocks for a job, takes whatever else is already queued (up to a limit), and runs them all
//! in one `BEGIN IMMEDIATE … COMMIT`, each inside its own `SAVEPOINT`:
//!
//! - a job that returns `Err` — a store failure or a refusal of its own — (or panics) is rolled
//!   back to its savepoint, so it leaves nothing
//!   behind and the other jobs in the batch are untouched;
//! - a job that returns `Ok` is released into the batch;
//! - a job that undoes itself ([`Undo::Own`]: the store's plain inserts) runs without one. A
//!   savepoint makes SQLite copy every page the job first touches into a journal in memory, about
//!   a tenth of the writer's time for a checkout session; an insert either fails as one statement
//!   (SQLite's statement-level atomicity: a refused `INSERT` leaves nothing) or, for several
//!   records, deletes what it inserted before answering its refusal. A job of this kind that
//!   panics, or cannot undo itself, ends the whole transaction, and the batch fails as one;
//! - only after `COMMIT` has returned (with `synchronous=FULL`, after the WAL is fsynced) does any
//!   job get its answer. If the commit fails, every job in the batch is told so and nothing of
//!   the batch is in the database.
//!
//! One fsync thus covers every transaction that queued up while the previous one was on its way
//! to the disk: under load, batches grow by themselves and the commit rate follows.
//!
//! Each batch also tells the store's [`Health`] what it showed about writing (a change committed,
//! or a failure of the disk's kind), and before and after each batch the writer checks that the
//! database's files are still at their paths: if they are not, the batch's jobs are told the
//! store is lost instead of being acknowledged, and no later batch runs (`health.rs`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};
use kassa_core::store::{Abort, StoreError, TxOutcome};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::cache::RecordCache;
use super::error::map;
use super::health::{Health, Shown};
use super::sql::exec;
use crate::observer::Observer;

pub(crate) type Outcome = TxOutcome;

/// A unit of work on the writer's connection, run inside the batch's transaction.
pub(crate) type WriteFn = Box<dyn FnOnce(&Connection) -> Outcome + Send>;

pub(crate) struct WriteJob {
    pub f: WriteFn,
    pub reply: oneshot::Sender<Outcome>,
    pub undo: Undo,
}

/// How a job's writes are taken back when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undo {
    /// Inside a savepoint of its own, rolled back to it: any closure.
    Savepoint,
    /// By the job itself: when it answers `Err` it has left nothing behind, or it has ended the
    /// transaction (`ROLLBACK`) so that the batch fails as a whole.
    Own,
}

/// What the writer has committed so far.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub batches: AtomicU64,
    pub transactions: AtomicU64,
}

/// How the write-ahead log is kept short (issue 19: at most 64 MiB in steady state, where it used
/// to sit at 1.1–1.2 GB under load).
///
/// SQLite starts the log over from its beginning only when a write transaction begins after a
/// checkpoint has copied *all* of it into the database. Under a steady stream of writes the
/// background checkpointer's passive runs never get there (the writer keeps appending while they
/// copy), so the log would only ever grow. Three things keep it short:
///
/// - the writer knows the log's length after every commit (SQLite's WAL hook), and once it passes
///   [`WAL_NUDGE_FRAMES`] it wakes the checkpointer at once instead of letting it sleep out its
///   half second;
/// - when that run is done (most of the log copied, off the writer), the writer runs a passive
///   checkpoint itself between two batches: it is the one connection that could append, so this
///   copies everything left — only what was committed during the checkpointer's run — and the
///   next batch writes from the start of the log again. If the checkpointer has not caught up by
///   [`WAL_RESTART_FRAMES`], the writer copies the rest itself regardless;
/// - `journal_size_limit` ([`JOURNAL_SIZE_LIMIT`]) truncates the file when the log starts over,
///   so a burst that made it long does not leave it long; an idle store's log is truncated to
///   nothing by the checkpointer, and so is every store's log when it closes.
pub(crate) const WAL_NUDGE_FRAMES: i64 = 4_096;
/// The log length (in frames: pages of 4 KiB, 32 MiB) past which the writer finishes a
/// checkpoint itself even if the checkpointer has not caught up. See [`WAL_NUDGE_FRAMES`].
pub(crate) const WAL_RESTART_FRAMES: i64 = 8_192;
/// The shortest time between two checkpoints the writer runs without the checkpointer's run.
pub(crate) const WAL_WRITER_CHECKPOINT_GAP: std::time::Duration = std::time::Duration::from_millis(100);
/// The size the log file is cut back to when it starts over (`PRAGMA journal_size_limit`).
pub(crate) const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// What the writer and the checkpointer tell each other about the log.
#[derive(Debug, Default)]
pub(crate) struct WalState {
    /// Frames in the log after the writer's last commit (SQLite's WAL hook).
    pub frames: AtomicI64,
    /// Set by the checkpointer after a run the writer asked for: the moment for the writer's own
    /// short checkpoint.
    pub caught_up: AtomicBool,
    /// Whether the writer has asked for a run that has not finished yet.
    pub nudged: AtomicBool,
    /// Commits so far (SQLite's WAL hook): the checkpointer calls the store idle only when none
    /// came since its last turn. The log's length cannot tell: under load the log starts over
    /// every ~120 ms and can be found at the same length twice, and the `TRUNCATE` run that an
    /// idle store gets waits on the writer while holding the checkpoint lock, so every checkpoint
    /// of the writer's own failed until it gave up (stalls of 0.3–0.85 s; `bench/README.md`,
    /// session 14).
    pub commits: AtomicU64,
}

/// Serve jobs until every sender is gone and the queue is empty.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    conn: Connection,
    jobs: Receiver<WriteJob>,
    max_batch: usize,
    counters: Arc<Counters>,
    wal: Arc<WalState>,
    nudge: Sender<()>,
    health: Arc<Health>,
    observer: Arc<Observer>,
    cache: Arc<RecordCache>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut last_checkpoint = std::time::Instant::now();
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Before (so that nothing of the batch goes to files that are gone) and after the commit
        // (for files that went during it): the batch is acknowledged only if the files are there.
        if let Err(lost) = health.check_files() {
            for job in batch.drain(..) {
                let _ = job.reply.send(Err(Abort::Store(lost.clone())));
            }
            continue;
        }
        commit_batch(&conn, &mut batch, &counters, &health, &observer, &cache);
        keep_log_short(&conn, &wal, &nudge, &mut last_checkpoint);
    }
    tracing::debug!("SQLite writer stopping");
    // Dropping `nudge` (the last sender) tells the checkpointer the writer is done: it truncates
    // the log and stops.
}

/// Between two batches: wake the checkpointer when the log grows long, and once it has caught up
/// (or the log is too long to wait), copy what is left so that the next batch starts the log over.
fn keep_log_short(conn: &Connection, wal: &WalState, nudge: &Sender<()>, last: &mut std::time::Instant) {
    let frames = wal.frames.load(Ordering::Relaxed);
    if frames < WAL_NUDGE_FRAMES {
        return;
    }
    let caught_up = wal.caught_up.swap(false, Ordering::Relaxed);
    // Without the checkpointer, at most every 100 ms: should a reader's snapshot keep the log
    // from starting over, the writer does not copy a few frames and fsync after every batch.
    let overdue = frames > WAL_RESTART_FRAMES && last.elapsed() >= WAL_WRITER_CHECKPOINT_GAP;
    if caught_up || overdue {
        *last = std::time::Instant::now();
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0)) {
            // The hook reports the new length with the next commit.
            Ok(_) => wal.frames.store(0, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %map(e), "SQLite checkpoint on the writer failed"),
        }
    } else if !wal.nudged.swap(true, Ordering::Relaxed) {
        // A full channel means a run is already asked for.
        let _ = nudge.try_send(());
    }
}

/// What became of one job while its batch was open.
struct Ran {
    reply: oneshot::Sender<Outcome>,
    outcome: Outcome,
}

/// Run and commit one batch, answering every job. The counters and the health record (what the
/// batch showed about writing) move before any job is answered, so a caller that has its answer
/// sees its batch counted, and a `ping` after it sees what it showed.
fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<WriteJob>,
    counters: &Counters,
    health: &Health,
    observer: &Observer,
    cache: &RecordCache,
) {
    let size = batch.len();
    let started = observer.start();
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        let e = map(e);
        tracing::error!(error = %e, jobs = size, "SQLite writer could not begin a transaction");
        health.record(Shown::Failed(e.to_string()));
        for job in batch.drain(..) {
            let _ = job.reply.send(Err(Abort::Store(e.clone())));
        }
        return;
    }

    let mut ran: Vec<Ran> = Vec::with_capacity(size);
    let mut jobs = batch.drain(..);
    let mut fatal: Option<StoreError> = None;
    // Rows changed by the jobs that are kept, and the first failure of the disk's kind.
    let mut changed = 0u64;
    let mut disk_failure: Option<String> = None;
    for job in jobs.by_ref() {
        let before = conn.total_changes();
        let undo = job.undo;
        let outcome = run_job(conn, job.f, undo);
        let aborted = conn.is_autocommit();
        let ok = outcome.is_ok();
        match &outcome {
            Ok(_) => changed += conn.total_changes().saturating_sub(before),
            Err(Abort::Store(e @ StoreError::Unavailable(_))) => {
                disk_failure.get_or_insert_with(|| e.to_string());
            }
            Err(_) => {}
        }
        ran.push(Ran { reply: job.reply, outcome });
        if aborted {
            // SQLite rolled the whole transaction back (a full disk, an I/O error): the jobs
            // already run are gone too.
            fatal = Some(StoreError::Unavailable("the database rolled the transaction back".to_owned()));
            break;
        }
        if undo == Undo::Own {
            continue;
        }
        let end = if ok { Ok(()) } else { exec(conn, "ROLLBACK TO job") };
        if let Err(e) = end.and_then(|()| exec(conn, "RELEASE job")) {
            fatal = Some(map(e));
            break;
        }
    }
    // Jobs not reached because the batch failed early.
    let unreached: Vec<WriteJob> = jobs.collect();

    let failure = match fatal {
        Some(e) => Some(e),
        None => exec(conn, "COMMIT").err().map(map),
    };
    // Before any job is answered: prices and products the batch changed are read from the file
    // again (`cache.rs`). A failed batch changed nothing, and forgetting costs only a read.
    cache.batch_ended();
    tracing::trace!(jobs = size, committed = failure.is_none(), "SQLite group commit");
    match failure {
        None => {
            observer.committed("sqlite", "group_commit", size, started);
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters.transactions.fetch_add(u64::try_from(size).unwrap_or(u64::MAX), Ordering::Relaxed);
            health.record(match (disk_failure, changed) {
                (Some(reason), _) => Shown::Failed(reason),
                (None, 0) => Shown::Nothing,
                (None, _) => Shown::Wrote,
            });
            // Committed — but to the database's files only if they are still at their paths.
            let lost = health.check_files().err();
            for r in ran {
                let outcome = match (&lost, r.outcome) {
                    (Some(lost), Ok(_)) => Err(Abort::Store(lost.clone())),
                    (_, outcome) => outcome,
                };
                let _ = r.reply.send(outcome);
            }
        }
        Some(e) => {
            tracing::error!(error = %e, jobs = size, "SQLite group commit failed; nothing of the batch was written");
            if !conn.is_autocommit()
                && let Err(re) = conn.execute_batch("ROLLBACK")
            {
                tracing::error!(error = %map(re), "SQLite writer could not roll back");
            }
            // The statement's own failure says more than "rolled back", when there was one.
            health.record(Shown::Failed(disk_failure.unwrap_or_else(|| e.to_string())));
            for r in ran {
                // A job that failed or refused on its own keeps its own answer: it wrote nothing
                // either way.
                let outcome = match r.outcome {
                    Ok(_) => Err(Abort::Store(e.clone())),
                    Err(own) => Err(own),
                };
                let _ = r.reply.send(outcome);
            }
            for job in unreached {
                let _ = job.reply.send(Err(Abort::Store(e.clone())));
            }
        }
    }
}

/// End the open transaction, so that the batch fails as one: what an [`Undo::Own`] job does when
/// it cannot take back what it wrote. The writer sees the transaction gone after the job and
/// answers every job of the batch with a failure.
pub(crate) fn abandon_batch(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// Run one job, inside its own savepoint unless it undoes itself. A panic is caught and counts as
/// an error, so that one faulty closure cannot take the writer (and every later write) down with
/// it; a job without a savepoint that panics may have written part of its work, so the whole
/// transaction is rolled back and the batch fails.
fn run_job(conn: &Connection, f: WriteFn, undo: Undo) -> Outcome {
    if undo == Undo::Savepoint {
        exec(conn, "SAVEPOINT job").map_err(map)?;
    }
    match catch_unwind(AssertUnwindSafe(move || f(conn))) {
        Ok(outcome) => outcome,
        Err(_) => {
            if undo == Undo::Own {
                abandon_batch(conn);
            }
            tracing::error!("a transaction panicked on the SQLite writer; it was rolled back");
            Err(Abort::Store(StoreError::Backend("the transaction panicked".to_owned())))
        }
    }
}
