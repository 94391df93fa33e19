//! A small bounded pool of tokio-postgres connections.
//!
//! - **Bounded**: [`PostgresOptions::pool_max`](super::PostgresOptions) connections in all, as
//!   permits of two semaphores, one per kind (below); a checkout waits at most `pool_timeout`
//!   for one, first come first served, then fails as `Unavailable`.
//! - **Two kinds of connection** ([`Driver`]). A *shared* connection's I/O runs as a task on the
//!   runtime of whoever opened it, for the async paths (reads, grouped writes). A *local*
//!   connection carries its own single-threaded runtime, driven only by the thread that uses it:
//!   transactions run their synchronous closure on a blocking thread, and each statement is
//!   written, waited for and read on that thread, with no hand-off to the runtime's workers and
//!   back (two thread wake-ups per statement, which made most of a checkout's CPU on
//!   PostgreSQL). A connection cannot change kind (its socket belongs to one runtime's reactor),
//!   so `pool_max` is split between them ([`split`]): half (rounded up) for transactions, the
//!   rest for the async paths, at least one each (so `pool_max=1` opens two). A first version shared one bound and closed an
//!   idle connection of the other kind when one was needed: under a checkout's mix it opened
//!   1.7 connections per checkout.
//! - **Lazy and self-healing**: connections are opened on demand. A shared connection's I/O task
//!   ends when the server closes the connection (`pg_terminate_backend`, a restart, a broken
//!   socket), which [`Client::is_closed`] then reports, and a checkout skips it. A local
//!   connection is not watched while idle, so its death shows on its next statement; a
//!   transaction whose first statement finds its connection dead connects again and sends it
//!   again (nothing of the transaction had reached the server; `src/postgres/tx.rs`). A
//!   connection that failed in a way that leaves it unusable ([`Conn::fail`]) or was left
//!   inside a transaction is not returned. So once the database is back, the next checkout
//!   simply connects again: no restart needed.
//! - **Statement cache**: with it on, each connection prepares a statement the first time it
//!   runs it (named, typed) and keeps it, so later runs are one round trip with no parsing or
//!   planning from scratch. With it off (`statement_cache=false`, for poolers such as pgbouncer
//!   in transaction mode, which cannot keep a named statement on one server connection), every
//!   statement goes as one unnamed Parse/Bind/Execute/Sync: still one round trip, nothing kept.
//!
//! Idle connections are reused last-in first-out, so a quiet pool keeps a few warm connections
//! (with their prepared statements) busy rather than spreading work over all of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use futures_util::TryStreamExt;
use futures_util::future::{MaybeDone, join3, maybe_done};
use kassa_core::store::StoreError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, Config, Row, RowStream, Statement};

use super::error::{is_connection_lost, map, map_connect};
use super::sql::{self, Query};
use super::tls::Tls;

/// Prepared statements kept per connection; past this the cache starts over.
pub const STATEMENT_CACHE: usize = 256;

/// The rows a statement returned and the rows it affected (`INSERT 0 1` → 1).
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub rows: Vec<Row>,
    pub affected: u64,
}

/// Who drives a connection's I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    /// A task on the runtime that opened it: for async callers.
    Shared,
    /// Its own single-threaded runtime, driven by the (blocking) thread using it.
    Local,
}

/// A local connection's runtime. It can be dropped anywhere, async contexts included: it is
/// shut down without waiting (its only task is the connection's I/O, whose client is gone).
pub(crate) struct LocalRuntime(Option<tokio::runtime::Runtime>);

impl LocalRuntime {
    /// Drive `f` to completion on this thread, with the connection's I/O.
    ///
    /// Must not be called from async code (it blocks): only from a blocking thread.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        match &self.0 {
            Some(rt) => rt.block_on(f),
            None => unreachable!("a local runtime is present until dropped"),
        }
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// One connection: the client, its prepared statements, and whether it can be reused.
pub(crate) struct Conn {
    client: Client,
    /// The connection's I/O task; it ends when the client is dropped or the server goes away.
    io: tokio::task::JoinHandle<()>,
    /// For a [`Driver::Local`] connection, the runtime its I/O task runs on. Declared after
    /// `client` and `io`, so that it is dropped after them.
    local: Option<Arc<LocalRuntime>>,
    /// Empty when the statement cache is off.
    statements: HashMap<String, Statement>,
    /// The statements a script prepared on this connection with SQL's `PREPARE` (by text: the
    /// number in its name, `kassa_w<n>`), for later scripts to `EXECUTE` ([`Conn::script`]).
    scripted: HashMap<String, u32>,
    /// The number of the next statement a script prepares: names are never used twice, so a
    /// script that failed after preparing one leaves at most a statement nobody names.
    next_scripted: u32,
    cache: bool,
    /// A transaction is open on the connection (set before `BEGIN` is sent, cleared once `COMMIT`
    /// or `ROLLBACK` has answered). A connection dropped in this state is closed, not reused, so
    /// an abandoned transaction can never leak into the next checkout.
    pub in_transaction: bool,
    /// An error left the connection unusable.
    broken: bool,
}

impl Conn {
    /// Open a connection and start its I/O task on the current runtime.
    pub(crate) async fn connect(
        config: &Config,
        tls: &Tls,
        cache: bool,
        timeout: Duration,
    ) -> Result<Conn, StoreError> {
        let (client, connection) = match tokio::time::timeout(timeout, tls.connect(config)).await {
            Ok(connected) => connected.map_err(|e| map_connect(e, tls))?,
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot connect to PostgreSQL: no answer within {} s",
                    timeout.as_secs()
                )));
            }
        };
        let io = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %map(e), "a PostgreSQL connection ended");
            }
        });
        Ok(Conn {
            client,
            io,
            local: None,
            statements: HashMap::new(),
            scripted: HashMap::new(),
            next_scripted: 0,
            cache,
            in_transaction: false,
            broken: false,
        })
    }

    /// Open a [`Driver::Local`] connection: build its runtime and connect on it, blocking this
    /// thread (a blocking one: never call it from async code).
    pub(crate) fn connect_local(
        config: &Config,
        tls: &Tls,
        cache: bool,
        timeout: Duration,
    ) -> Result<Conn, StoreError> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            StoreError::Backend(format!("cannot start a PostgreSQL connection's runtime: {e}"))
        })?;
        let rt = Arc::new(LocalRuntime(Some(rt)));
        // Inside `block_on`, `Conn::connect` spawns the I/O task on this runtime.
        let mut conn = rt.block_on(Conn::connect(config, tls, cache, timeout))?;
        conn.local = Some(rt);
        Ok(conn)
    }

    /// Who drives this connection.
    pub(crate) fn driver(&self) -> Driver {
        if self.local.is_some() { Driver::Local } else { Driver::Shared }
    }

    /// A [`Driver::Local`] connection's runtime.
    pub(crate) fn local(&self) -> Option<&Arc<LocalRuntime>> {
        self.local.as_ref()
    }

    /// Close the connection and wait until it is closed (the server told goodbye), for a runtime
    /// about to end, which would otherwise cut the connection off mid-goodbye. (A local
    /// connection is simply dropped: its I/O does not run on the caller's runtime.)
    pub(crate) async fn close(self) {
        let Conn { client, io, statements, local, .. } = self;
        drop(statements);
        drop(client);
        if local.is_none() {
            let _ = io.await;
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Whether the connection may go back to the pool.
    fn reusable(&self) -> bool {
        !self.broken && !self.in_transaction && !self.client.is_closed()
    }

    /// Map `e`, and retire the connection if `e` means it is lost.
    pub(crate) fn fail(&mut self, e: tokio_postgres::Error) -> StoreError {
        if is_connection_lost(&e) {
            self.broken = true;
        }
        map(e)
    }

    /// Retire the connection: it will be closed instead of reused.
    pub(crate) fn retire(&mut self) {
        self.broken = true;
    }

    /// With the statement cache on, `q`'s prepared statement (prepared now on first use).
    pub(crate) async fn prepare(
        &mut self,
        q: &Query<'_>,
    ) -> Result<Option<Statement>, tokio_postgres::Error> {
        if !self.cache {
            return Ok(None);
        }
        if let Some(statement) = self.statements.get(q.text.as_ref()) {
            return Ok(Some(statement.clone()));
        }
        let statement = self.client.prepare_typed(&q.text, &q.types()).await?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(q.text.clone().into_owned(), statement.clone());
        Ok(Some(statement))
    }

    /// Append `q` to a script of the simple query protocol (a transaction's deferred writes and
    /// its `COMMIT`: `src/postgres/tx.rs`). With the statement cache on, a statement is prepared
    /// by the first script that runs it on this connection (`PREPARE kassa_w<n>(…) AS …`) and
    /// named by the later ones (`EXECUTE kassa_w<n>(…)`, the values as literals), so the server
    /// parses and plans it once per connection rather than on every commit; with it off (a
    /// pooler in transaction mode, which may run the next script on another server connection),
    /// or past [`STATEMENT_CACHE`] statements, the text goes whole ([`sql::inline`]). The
    /// statements first prepared by this script are added to `prepared`: should the script fail,
    /// [`Conn::forget_scripted`] forgets them (the server may have run the `PREPARE` or not).
    pub(crate) fn script(
        &mut self,
        out: &mut String,
        q: &Query<'_>,
        prepared: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        if !self.cache {
            return sql::inline(out, q);
        }
        let text = q.text.as_ref();
        let n = match self.scripted.get(text) {
            Some(n) => *n,
            None if self.scripted.len() < STATEMENT_CACHE => {
                let n = self.next_scripted;
                self.next_scripted += 1;
                sql::prepare_as(out, &format!("kassa_w{n}"), q)?;
                out.push_str(";\n");
                self.scripted.insert(text.to_owned(), n);
                prepared.push(text.to_owned());
                n
            }
            None => return sql::inline(out, q),
        };
        sql::execute(out, &format!("kassa_w{n}"), q)
    }

    /// Forget the statements a failed script was to prepare ([`Conn::script`]): the next script
    /// prepares them again, under new names.
    pub(crate) fn forget_scripted(&mut self, prepared: &[String]) {
        for text in prepared {
            self.scripted.remove(text);
        }
    }

    /// Run `q`, prepared by [`Conn::prepare`]. The request goes out on the future's first poll,
    /// so futures polled in order are pipelined in that order.
    pub(crate) async fn run(
        &self,
        prepared: Option<&Statement>,
        q: &Query<'_>,
    ) -> Result<Rows, tokio_postgres::Error> {
        let stream = match prepared {
            Some(statement) => self.client.query_raw(statement, q.params.iter().map(|(p, _)| p)).await?,
            None => {
                self.client.query_typed_raw(&q.text, q.params.iter().map(|(p, t)| (p, t.clone()))).await?
            }
        };
        collect(stream).await
    }

    /// Prepare and run one statement on its own (outside any transaction).
    pub(crate) async fn query(&mut self, q: &Query<'_>) -> Result<Rows, StoreError> {
        let outcome = match self.prepare(q).await {
            Ok(prepared) => self.run(prepared.as_ref(), q).await,
            Err(e) => Err(e),
        };
        outcome.map_err(|e| self.fail(e))
    }

    /// Run `queries` all in one round trip, in one transaction opened with `begin` if given:
    /// `BEGIN`, every statement and `COMMIT` are sent together. If a statement fails, PostgreSQL
    /// ignores the rest and turns the `COMMIT` into a rollback; the first failure is returned.
    /// Without `begin`, each statement is a transaction of its own.
    pub(crate) async fn pipeline(
        &mut self,
        begin: Option<&str>,
        queries: &[Query<'_>],
    ) -> Result<Vec<Rows>, StoreError> {
        let mut prepared = Vec::with_capacity(queries.len());
        for q in queries {
            let statement = self.prepare(q).await.map_err(|e| self.fail(e))?;
            prepared.push(statement);
        }
        let Some(begin) = begin else {
            let ran =
                join_in_order(queries.iter().zip(&prepared).map(|(q, p)| self.run(p.as_ref(), q)).collect())
                    .await;
            return ran.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| self.fail(e));
        };
        self.in_transaction = true;
        // `join3` and `join_in_order` poll their futures in order, and each sends its request on
        // its first poll: BEGIN, the statements, COMMIT.
        let (began, ran, committed) = join3(
            self.client.batch_execute(begin),
            join_in_order(queries.iter().zip(&prepared).map(|(q, p)| self.run(p.as_ref(), q)).collect()),
            self.client.batch_execute("COMMIT"),
        )
        .await;
        let mut results = Vec::with_capacity(ran.len());
        let mut first_error = began.err();
        for r in ran {
            match r {
                Ok(rows) => results.push(rows),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match committed {
            Ok(()) => self.in_transaction = false,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(self.fail(e)),
            None => Ok(results),
        }
    }
}

/// Await every future, polling them in the order given each time: unlike `join_all`, whose order
/// is an implementation detail, this one is what pipelining relies on.
pub(crate) async fn join_in_order<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut slots: Vec<Pin<Box<MaybeDone<F>>>> =
        futures.into_iter().map(|f| Box::pin(maybe_done(f))).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for slot in &mut slots {
            pending |= slot.as_mut().poll(cx).is_pending();
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    slots.iter_mut().filter_map(|slot| slot.as_mut().take_output()).collect()
}

async fn collect(stream: RowStream) -> Result<Rows, tokio_postgres::Error> {
    let mut stream = std::pin::pin!(stream);
    let mut rows = Vec::new();
    while let Some(row) = stream.try_next().await? {
        rows.push(row);
    }
    Ok(Rows { rows, affected: stream.rows_affected().unwrap_or(0) })
}

/// The connections of one kind: idle ones (most recently used last) and a bound on how many
/// are checked out, whose permits are handed out first come, first served.
struct Bound {
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    max: usize,
}

impl Bound {
    fn new(max: usize) -> Self {
        Bound { idle: Mutex::new(Vec::with_capacity(max)), permits: Arc::new(Semaphore::new(max)), max }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn in_use(&self) -> usize {
        self.max.saturating_sub(self.permits.available_permits())
    }
}

struct Inner {
    config: Config,
    tls: Tls,
    shared: Bound,
    local: Bound,
    wait: Duration,
    connect_timeout: Duration,
    statement_cache: bool,
}

impl Inner {
    fn bound(&self, driver: Driver) -> &Bound {
        match driver {
            Driver::Shared => &self.shared,
            Driver::Local => &self.local,
        }
    }

    fn connect_local(&self) -> Result<Conn, StoreError> {
        let conn = Conn::connect_local(&self.config, &self.tls, self.statement_cache, self.connect_timeout)?;
        tracing::debug!("opened a local PostgreSQL connection");
        Ok(conn)
    }
}

/// How `pool_max` connections are shared out: transactions' local ones get half (rounded up),
/// the async paths' shared ones the rest, and each kind at least one.
pub(crate) fn split(max: usize) -> (usize, usize) {
    let local = max.div_ceil(2).max(1);
    (local, max.saturating_sub(local).max(1))
}

/// The pool. Clones share it.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub(crate) fn new(
        config: Config,
        tls: Tls,
        max: usize,
        wait: Duration,
        connect_timeout: Duration,
        statement_cache: bool,
    ) -> Self {
        let (local, shared) = split(max);
        Pool {
            inner: Arc::new(Inner {
                config,
                tls,
                shared: Bound::new(shared),
                local: Bound::new(local),
                wait,
                connect_timeout,
                statement_cache,
            }),
        }
    }

    /// A shared connection: an idle one that is still open, or a new one. Waits at most the
    /// pool's timeout for a free slot.
    pub(crate) async fn get(&self) -> Result<Pooled, StoreError> {
        let Slot { conn, pool, permit } = self.reserve(Driver::Shared).await?;
        let conn = match conn {
            Some(conn) => conn,
            None => {
                let conn = Conn::connect(&pool.config, &pool.tls, pool.statement_cache, pool.connect_timeout)
                    .await?;
                tracing::debug!("opened a PostgreSQL connection");
                conn
            }
        };
        Ok(Pooled { conn: Some(conn), pool, _permit: permit })
    }

    /// A slot for a connection of `driver`'s kind, with an idle one if there is one (a shared one
    /// only if it is still open). Waits at most the pool's timeout for a free slot.
    pub(crate) async fn reserve(&self, driver: Driver) -> Result<Slot, StoreError> {
        let inner = &self.inner;
        let bound = inner.bound(driver);
        let permit = match tokio::time::timeout(inner.wait, bound.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(StoreError::Unavailable("the PostgreSQL pool is closed".to_owned())),
            Err(_) => {
                let what = match driver {
                    Driver::Shared => "",
                    Driver::Local => " for a transaction",
                };
                return Err(StoreError::Unavailable(format!(
                    "no PostgreSQL connection came free{what} within {} s (pool_max {})",
                    inner.wait.as_secs(),
                    inner.shared.max + inner.local.max
                )));
            }
        };
        let conn = {
            let mut idle = bound.idle();
            let mut found = None;
            while let Some(conn) = idle.pop() {
                // A shared connection closed while idle (the server went away) is dropped here.
                if conn.reusable() {
                    found = Some(conn);
                    break;
                }
            }
            found
        };
        Ok(Slot { conn, pool: inner.clone(), permit })
    }

    /// How many connections are checked out and idle right now.
    pub(crate) fn usage(&self) -> kassa_core::store::PoolUsage {
        let inner = &self.inner;
        let (shared, local) = (&inner.shared, &inner.local);
        kassa_core::store::PoolUsage {
            max: shared.max + local.max,
            in_use: shared.in_use() + local.in_use(),
            idle: shared.idle().len() + local.idle().len(),
        }
    }

    /// Connections open and idle right now.
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.inner.shared.idle().len() + self.inner.local.idle().len()
    }
}

/// A reserved place in the pool, with an idle connection or none yet.
pub(crate) struct Slot {
    conn: Option<Conn>,
    pool: Arc<Inner>,
    permit: OwnedSemaphorePermit,
}

impl Slot {
    /// The local connection: the idle one the slot came with, or a new one opened now on this
    /// thread (a blocking one: never call it from async code).
    pub(crate) fn open_local(self) -> Result<Pooled, StoreError> {
        let Slot { conn, pool, permit } = self;
        let conn = match conn {
            Some(conn) => conn,
            None => pool.connect_local()?,
        };
        Ok(Pooled { conn: Some(conn), pool, _permit: permit })
    }
}

/// A checked-out connection. Dropping it returns the connection to the pool if it is still
/// usable (and outside any transaction), then frees its slot.
pub(crate) struct Pooled {
    conn: Option<Conn>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for Pooled {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        // Only `drop` takes the connection out.
        self.conn.as_ref().unwrap_or_else(|| unreachable!("a pooled connection is present until dropped"))
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().unwrap_or_else(|| unreachable!("a pooled connection is present until dropped"))
    }
}

impl Pooled {
    /// Replace a local connection by a new one, opened on this thread (a blocking one): for a
    /// transaction that found its idle connection dead before anything of it reached the server.
    pub(crate) fn reconnect_local(&mut self) -> Result<(), StoreError> {
        let conn = self.pool.connect_local()?;
        self.conn = Some(conn);
        Ok(())
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if conn.reusable() {
                self.pool.bound(conn.driver()).idle().push(conn);
            } else {
                tracing::debug!("closing a PostgreSQL connection that cannot be reused");
            }
        }
        // The permit is released after this, with the connection already back in `idle`.
    }
}
