//! What the SQLite store watches besides each statement's answer: that the files it writes are
//! still the database's files, that its writes reach the disk, and that no other server uses
//! the file.
//!
//! # The file is still the file
//!
//! SQLite keeps its files open: delete `kassa.db` and its `-wal` under a running kassa, and every
//! later write still succeeds — into files that no longer have a name, gone for good when the
//! process stops. So the store remembers the identity (device and inode) of the database file
//! and of its write-ahead log once it has opened them, and compares it with what the paths name
//! now: before and after every batch on the writer (a `stat` of each, microseconds next to the
//! commit's `fsync`), every half second on the checkpointer thread, and on every [`Store::ping`]
//! (`/health`). The first time a path names nothing or another file, the store is **lost**: it
//! says so once in the log, loudly, and from then on refuses every write with
//! [`StoreError::Lost`], naming the file — including the writes of a batch whose files went
//! while it was being committed (those went to the orphaned file, refused but readable there).
//! Reads go on, from the orphaned files, which the open connections keep alive: they show what
//! was acknowledged. Only a restart serves again. The identities cannot be
//! confused with a new file's: an inode stays in use, so its number is not given to another
//! file, as long as a connection holds it open, and the store's connections do.
//!
//! The `-shm` file is not watched: it is an index SQLite rebuilds from the log, and losing it
//! loses nothing.
//!
//! # Writes reach the disk
//!
//! A full disk (or one remounted read-only, or failing) still answers reads, so a read alone
//! cannot tell whether the database can take writes. The writer records what each batch showed:
//! a commit that failed, or a transaction that failed on a store error of that kind
//! ([`StoreError::Unavailable`]: a full disk, an I/O error, a read-only file), marks writes as
//! **failing** until a later batch commits a change. [`Store::ping`] then answers
//! `Unavailable`, and `/health` 503. When no write has shown anything for
//! [`SqliteOptions::health_probe_after`](super::SqliteOptions), `ping` sends a probe through the
//! writer first — an update of one row that leaves it as it was, committed like any other
//! transaction (so written to the log and `fsync`ed) — and waits for it at most
//! [`PROBE_TIMEOUT`]; a writer that takes longer is reported as not answering. Under load
//! there is always a recent write, so `/health` costs two `stat`s, a lock and a `SELECT 1`.
//!
//! # One server per file
//!
//! kassa's SQLite design assumes one process writes the file (one writer thread, group commit,
//! the caches of one node). `kassa serve` and `kassa migrate` therefore open the store with
//! [`SqliteOptions::exclusive`](super::SqliteOptions) ([`crate::open_store_exclusive`]): an
//! exclusive advisory lock (`flock`, through the standard library's `File::try_lock`) on the
//! database file, taken before SQLite opens it and held as long as the store is open; a second
//! process that asks for it is refused with a message naming the file. `flock` locks belong to
//! the open file and are independent of the POSIX record locks SQLite itself takes on the same
//! file, so the two never meet — with one care: closing any descriptor of a file drops all of a
//! process's POSIX locks on it, so the lock's descriptor is closed only once every SQLite
//! connection of the store has closed (each of the store's threads holds the lock and releases it
//! after its connection), and a process must not open the same file twice with the lock (`kassa
//! serve` opens it once). Short commands beside a server (`kassa accounts create`) take no lock:
//! SQLite serializes their writes with the server's. The lock is on the database file itself
//! rather than on a lock file beside it, so that it cannot be defeated by deleting a lock file,
//! and follows the file: a new file at the path is a new database, free to be served.
//!
//! [`Store::ping`]: kassa_core::store::Store::ping

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use kassa_core::store::StoreError;

use crate::files::absolute;

/// How long `ping` waits for its write probe before it reports the writer as not answering.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The device and inode of a file: what makes it the same file whatever its path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
}

/// The identity of the file at `path`; `None` when there is none.
fn identity(path: &Path) -> io::Result<Option<Identity>> {
    match std::fs::metadata(path) {
        #[cfg(unix)]
        Ok(m) => {
            use std::os::unix::fs::MetadataExt;
            Ok(Some(Identity { dev: m.dev(), ino: m.ino() }))
        }
        // Elsewhere an open file cannot be deleted: only its existence is watched.
        #[cfg(not(unix))]
        Ok(_) => Ok(Some(Identity { dev: 0, ino: 0 })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The `-wal` file of the database at `path`.
pub(crate) fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push("-wal");
    PathBuf::from(name)
}

/// The `-shm` file of the database at `path`.
pub(crate) fn shm_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push("-shm");
    PathBuf::from(name)
}

/// What the writer last learnt about writing.
#[derive(Debug)]
struct Writes {
    /// Why writes are failing, since the batch that showed it; `None` while they succeed.
    failing: Option<String>,
    /// When a batch last showed either (or the store opened).
    shown_at: Instant,
    /// When the write probe now queued was sent.
    probe_sent: Option<Instant>,
}

/// What a batch on the writer showed about writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shown {
    /// A change was committed.
    Wrote,
    /// A commit, or a statement, failed the way a full or failing disk fails one.
    Failed(String),
    /// Nothing either way (only refusals, or transactions that changed nothing).
    Nothing,
}

/// Shared by the writer, the checkpointer and the store's handle.
#[derive(Debug)]
pub(crate) struct Health {
    /// The database file and its log, absolute, and their identities when opened.
    db: (PathBuf, Option<Identity>),
    wal: (PathBuf, Option<Identity>),
    lost: OnceLock<String>,
    /// Whether a `stat` failing for another reason than a missing file was already logged.
    stat_failure_logged: AtomicBool,
    writes: Mutex<Writes>,
    probe_after: Duration,
}

impl Health {
    /// For the database at `path`, whose files the store has just opened.
    pub(crate) fn new(path: &Path, probe_after: Duration) -> Result<Self, StoreError> {
        let opened = |p: PathBuf| -> Result<(PathBuf, Option<Identity>), StoreError> {
            let p = absolute(&p);
            let id = identity(&p)
                .map_err(|e| StoreError::Unavailable(format!("cannot look at {}: {e}", p.display())))?;
            Ok((p, id))
        };
        Ok(Self {
            db: opened(path.to_owned())?,
            wal: opened(wal_path(path))?,
            lost: OnceLock::new(),
            stat_failure_logged: AtomicBool::new(false),
            writes: Mutex::new(Writes { failing: None, shown_at: Instant::now(), probe_sent: None }),
            probe_after,
        })
    }

    /// Why the store is lost, if it is.
    pub(crate) fn lost(&self) -> Option<StoreError> {
        self.lost.get().map(|m| StoreError::Lost(m.clone()))
    }

    /// Look at the files again: `Err(Lost)` once either path names nothing or another file.
    pub(crate) fn check_files(&self) -> Result<(), StoreError> {
        if let Some(lost) = self.lost() {
            return Err(lost);
        }
        for (path, opened) in [&self.db, &self.wal] {
            let Some(opened) = opened else { continue };
            let what = match identity(path) {
                Ok(Some(now)) if now == *opened => continue,
                Ok(Some(_)) => "was replaced by another file",
                Ok(None) => "was deleted",
                Err(e) => {
                    // Not a verdict (a directory made unreadable, an I/O error): say so once.
                    if !self.stat_failure_logged.swap(true, Ordering::Relaxed) {
                        tracing::warn!(path = %path.display(), error = %e, "cannot check the SQLite database file");
                    }
                    continue;
                }
            };
            let message = format!(
                "kassa's database file {} {what} while kassa was running. kassa accepts no more writes, \
                 since they would go to a file that no longer has a name and would be lost when kassa \
                 stops; this request was not saved. Restart kassa (restoring the file first, if it was \
                 not meant to go).",
                path.display()
            );
            if self.lost.set(message).is_ok() {
                tracing::error!(
                    path = %path.display(),
                    "THE DATABASE IS LOST: {} {what} under the running server. Every write is refused \
                     from now on (503). The open file is still readable at /proc/{}/fd/ until kassa \
                     stops; copy it out from there if it must be recovered, then restart kassa.",
                    path.display(),
                    std::process::id()
                );
            }
            return Err(self.lost().unwrap_or_else(|| StoreError::Lost(String::new())));
        }
        Ok(())
    }

    /// Record what a batch showed.
    pub(crate) fn record(&self, shown: Shown) {
        let Ok(mut w) = self.writes.lock() else { return };
        match shown {
            Shown::Nothing => {}
            Shown::Wrote => {
                if let Some(reason) = w.failing.take() {
                    tracing::warn!(was = %reason, "SQLite writes succeed again");
                }
                w.shown_at = Instant::now();
            }
            Shown::Failed(reason) => {
                if w.failing.is_none() {
                    tracing::error!(
                        %reason,
                        "SQLite writes are failing; /health answers 503 until a write succeeds again"
                    );
                }
                w.failing = Some(reason);
                w.shown_at = Instant::now();
            }
        }
    }

    /// Whether writes are failing, as last shown.
    pub(crate) fn writes(&self) -> Result<(), StoreError> {
        let w = self
            .writes
            .lock()
            .map_err(|_| StoreError::Backend("the health record is poisoned".to_owned()))?;
        match (&w.failing, w.probe_sent) {
            (Some(reason), _) => Err(StoreError::Unavailable(format!("writes are failing: {reason}"))),
            (None, Some(sent)) if sent.elapsed() > PROBE_TIMEOUT => Err(StoreError::Unavailable(format!(
                "the SQLite writer has not finished a write in {} s",
                PROBE_TIMEOUT.as_secs()
            ))),
            (None, _) => Ok(()),
        }
    }

    /// Whether to send a write probe now: no batch has shown anything for a while and no probe is
    /// on its way. If so, the probe counts as sent.
    pub(crate) fn probe_due(&self) -> bool {
        let Ok(mut w) = self.writes.lock() else { return false };
        if w.probe_sent.is_some() || w.shown_at.elapsed() < self.probe_after {
            return false;
        }
        w.probe_sent = Some(Instant::now());
        true
    }

    /// The probe has been answered (or dropped unanswered).
    pub(crate) fn probe_done(&self) {
        if let Ok(mut w) = self.writes.lock() {
            w.probe_sent = None;
        }
    }
}

/// The write probe: one row updated to what it was (the newest schema migration's), so that the
/// batch has a change to commit — a page written to the log and `fsync`ed — and the database is
/// left as it was.
pub(crate) fn probe(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE schema_migrations SET applied_at = applied_at \
         WHERE version = (SELECT MAX(version) FROM schema_migrations)",
        [],
    )
    .map(drop)
    .map_err(super::error::map)
}

/// An exclusive advisory lock on the database file (see the module docs), shared by the store's
/// threads; the descriptor closes with the last of them.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

/// Take the exclusive lock on the database file at `path` (which exists), or say who holds it.
pub(crate) fn lock_exclusive(path: &Path) -> Result<FileLock, StoreError> {
    let shown = absolute(path);
    let file = File::open(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {} to lock it: {e}", shown.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(FileLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
            "{} is in use by another kassa process (`kassa serve` or `kassa migrate` holds its lock). \
             One SQLite database serves one kassa process: stop the other one first, or give this one \
             another --database-url (several nodes share a PostgreSQL database instead)",
            shown.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            // A file system without `flock` (some network file systems): run unguarded rather
            // than not at all, and say so.
            tracing::warn!(
                path = %shown.display(),
                error = %e,
                "cannot lock the SQLite database file; nothing stops a second kassa from serving it"
            );
            Ok(FileLock { _file: file })
        }
    }
}
