//! Group commit and grouped reads: concurrent [`Store::insert`]s share one statement, and so do
//! concurrent [`Store::get_many`]s and [`Store::get_by_id`]s.
//!
//! Creating a checkout session reads what the request names, then inserts one record. Done one
//! request at a time, each statement is a round trip, a wake-up of a server process and, for the
//! insert, a commit and a write-ahead-log flush of its own. Instead a caller queues its job and
//! waits for its answer, while a flusher task ([`FLUSHERS`] per queue) takes what is queued (up to
//! [`BATCH`] jobs at a time) and runs it as one statement per kind:
//!
//! ```sql
//! -- inserts: one array per column; commits on its own (no BEGIN)
//! INSERT INTO <table> (account_id, id, created, data, <columns>)
//!   SELECT * FROM unnest($1, $2, $3, $4, …)
//!   ON CONFLICT DO NOTHING RETURNING account_id, id
//! -- reads: every key asked, of every account
//! SELECT … FROM <table> WHERE (account_id, id) IN (SELECT * FROM unnest($1, $2))
//! -- reads by id alone (the hosted page knows only its session's id)
//! SELECT … FROM <table> WHERE id = ANY($1)
//! ```
//!
//! The text is the same whatever the batch's size, so one prepared statement serves every batch.
//!
//! - **No waiting for a batch to fill.** A flusher starts as soon as a job is queued and none is
//!   running, so on a quiet node a job costs one round trip, as before; under load, what arrives
//!   while a statement is in flight goes together in the next one.
//! - **Inserts.** A record the statement did not return met a unique constraint: `Conflict`,
//!   named as [`Tx::insert`](kassa_core::store::Tx::insert) names it. A record whose key is
//!   already in the batch waits for the next one, where it meets the first as a conflict, as it
//!   would one after the other. If a statement fails for another reason than the database being
//!   unavailable, each of its records is tried again on its own, so one bad record fails alone.
//! - **Reads.** A batch reads each kind in one statement, the statements pipelined. When a job
//!   of the batch asked for several kinds (a new session's price and its product, once the node
//!   knows which product that is), they are read in one `REPEATABLE READ` snapshot (between
//!   `BEGIN` and `COMMIT`), so each `get_many` still sees one snapshot, taken after it was asked;
//!   jobs of one kind each (a session's page, a price here and a product there) need none, since
//!   one statement reads one snapshot already.
//! - **Callers may leave.** Flushers are tasks of their own: a caller that stops waiting (its
//!   request was dropped) stops nobody else's job. Its own insert may still be written, as with
//!   [`Store::transact`].
//! - **One home.** Flushers run on the runtime the store was opened on (the server's), not on the
//!   caller's, so a caller on a runtime of its own (the webhook sender's thread) never leaves
//!   other callers' jobs on a runtime that may stop first. Should a flusher stop before its work
//!   is done all the same (its runtime shut down), the jobs still queued fail at once rather
//!   than wait for a flusher that will not come.
//!
//! [`Store::insert`]: kassa_core::store::Store::insert
//! [`Store::get_many`]: kassa_core::store::Store::get_many
//! [`Store::get_by_id`]: kassa_core::store::Store::get_by_id
//! [`Store::transact`]: kassa_core::store::Store::transact

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use kassa_core::store::{Constraint, Kind, RawRecord, StoreError};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::pool::{Pool, Pooled};
use super::sql::{self, Query};
use crate::observer::Observer;

/// Statements in flight at once, per queue and store. More would let jobs overlap on a quiet
/// server; fewer makes bigger batches under load, and so fewer statements and commits. One is
/// the fastest measured (`bench/postgres 10 64`, two nodes: 10.7–11.1k sessions/s with one,
/// 9.1–9.5k with two, 7.2k with four), and costs a lone job at most one round trip of waiting.
pub(crate) const FLUSHERS: usize = 1;
/// The most jobs one batch carries.
pub(crate) const BATCH: usize = 512;

/// Work that can be done together with others of its kind.
pub(crate) trait Job: Send + Sized + 'static {
    type Answer: Send + 'static;
    /// The write path a batch of these commits as (see [`Commit::path`]); `None` for reads.
    ///
    /// [`Commit::path`]: kassa_core::store::Commit::path
    const COMMITS: Option<&'static str>;
    /// Keys no two jobs of one batch may share.
    fn keys(&self) -> impl Iterator<Item = (Kind, &str, &str)>;
    /// Do `jobs` on `conn`: one answer per job, in order.
    fn run(
        conn: &mut Pooled,
        jobs: &[Self],
    ) -> impl Future<Output = Vec<Result<Self::Answer, StoreError>>> + Send;
}

struct Pending<J: Job> {
    job: J,
    reply: oneshot::Sender<Result<J::Answer, StoreError>>,
}

struct Queue<J: Job> {
    waiting: VecDeque<Pending<J>>,
    flushers: usize,
}

/// One store's queue of jobs of one sort.
pub(crate) struct Batcher<J: Job> {
    pool: Pool,
    observer: Arc<Observer>,
    queue: Mutex<Queue<J>>,
    /// Where flushers run; without one (a store opened outside any runtime), on the caller's.
    home: Option<Handle>,
}

impl<J: Job> Batcher<J> {
    pub(crate) fn new(pool: Pool, home: Option<Handle>, observer: Arc<Observer>) -> Arc<Self> {
        Arc::new(Self {
            pool,
            observer,
            queue: Mutex::new(Queue { waiting: VecDeque::new(), flushers: 0 }),
            home,
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue<J>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queue `job` and wait for its answer.
    pub(crate) async fn run(self: &Arc<Self>, job: J) -> Result<J::Answer, StoreError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.queue();
            queue.waiting.push_back(Pending { job, reply });
            let start = queue.flushers < FLUSHERS;
            if start {
                queue.flushers += 1;
            }
            start
        };
        if start {
            let flusher = Flusher { batcher: self.clone(), done: false }.run();
            match &self.home {
                Some(home) => drop(home.spawn(flusher)),
                None => drop(tokio::spawn(flusher)),
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Backend("the work was abandoned before it was done".to_owned()))
        })
    }
}

/// Up to [`BATCH`] queued jobs, oldest first, no key twice; `None` when none are queued.
fn take<J: Job>(queue: &mut Queue<J>) -> Option<Vec<Pending<J>>> {
    if queue.waiting.is_empty() {
        return None;
    }
    let mut batch: Vec<Pending<J>> = Vec::with_capacity(queue.waiting.len().min(BATCH));
    let mut keys: HashSet<(Kind, String, String)> = HashSet::new();
    let mut later = Vec::new();
    while batch.len() < BATCH {
        let Some(pending) = queue.waiting.pop_front() else { break };
        let mine: Vec<(Kind, String, String)> =
            pending.job.keys().map(|(kind, account, id)| (kind, account.to_owned(), id.to_owned())).collect();
        let fresh = mine.iter().all(|key| !keys.contains(key));
        if fresh {
            keys.extend(mine);
            batch.push(pending);
        } else {
            later.push(pending);
        }
    }
    // Those held back go first next time, in their order.
    while let Some(pending) = later.pop() {
        queue.waiting.push_front(pending);
    }
    Some(batch)
}

/// A running flusher. If it stops before its work is done (its runtime shut down, or a panic),
/// it gives its place back and fails the jobs still queued.
struct Flusher<J: Job> {
    batcher: Arc<Batcher<J>>,
    done: bool,
}

impl<J: Job> Drop for Flusher<J> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let stranded = {
            let mut queue = self.batcher.queue();
            queue.flushers -= 1;
            std::mem::take(&mut queue.waiting)
        };
        for pending in stranded {
            let _ = pending.reply.send(Err(StoreError::Unavailable(
                "the PostgreSQL worker stopped before this was done".to_owned(),
            )));
        }
    }
}

impl<J: Job> Flusher<J> {
    async fn run(mut self) {
        loop {
            // Looking for work and leaving happen under one lock, so a job queued meanwhile is
            // either taken here or starts a flusher of its own.
            let batch = {
                let mut queue = self.batcher.queue();
                match take(&mut queue) {
                    Some(batch) => batch,
                    None => {
                        queue.flushers -= 1;
                        self.done = true;
                        return;
                    }
                }
            };
            let (jobs, replies): (Vec<J>, Vec<_>) = batch.into_iter().map(|p| (p.job, p.reply)).unzip();
            let answers = match self.batcher.pool.get().await {
                Ok(mut conn) => {
                    let started = J::COMMITS.and_then(|_| self.batcher.observer.start());
                    let answers = J::run(&mut conn, &jobs).await;
                    if let Some(path) = J::COMMITS
                        && answers.iter().any(Result::is_ok)
                    {
                        self.batcher.observer.committed("postgres", path, jobs.len(), started);
                    }
                    answers
                }
                Err(e) => jobs.iter().map(|_| Err(e.clone())).collect(),
            };
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
    }
}

/// Group `items` by the kind `kind_of` gives, kinds in the order they first appear.
fn by_kind<T>(items: impl IntoIterator<Item = T>, kind_of: impl Fn(&T) -> Kind) -> Vec<(Kind, Vec<T>)> {
    let mut groups: Vec<(Kind, Vec<T>)> = Vec::new();
    for item in items {
        let kind = kind_of(&item);
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, group)) => group.push(item),
            None => groups.push((kind, vec![item])),
        }
    }
    groups
}

/// [`Store::insert`](kassa_core::store::Store::insert) of one record, or
/// [`Store::insert_all`](kassa_core::store::Store::insert_all) of several: all of them or none.
pub(crate) struct Insert(pub Vec<RawRecord>);

impl Job for Insert {
    type Answer = ();
    const COMMITS: Option<&'static str> = Some("grouped_insert");

    fn keys(&self) -> impl Iterator<Item = (Kind, &str, &str)> {
        self.0.iter().map(|r| (r.kind, r.account.as_str(), r.id.as_str()))
    }

    async fn run(conn: &mut Pooled, jobs: &[Self]) -> Vec<Result<(), StoreError>> {
        if jobs.iter().all(|job| job.0.len() == 1) {
            return insert_singles(conn, jobs).await;
        }
        // A job of several records: the batch in one transaction, each job all or nothing.
        match insert_together(conn, jobs).await {
            Ok(answers) => answers,
            // Not the database going away: something in the batch was refused. Each alone.
            Err(StoreError::Backend(_)) if jobs.len() > 1 => {
                let mut answers = Vec::with_capacity(jobs.len());
                for job in jobs {
                    answers.push(match insert_together(conn, std::slice::from_ref(job)).await {
                        Ok(mut outcomes) => outcomes.pop().unwrap_or(Ok(())),
                        Err(e) => Err(e),
                    });
                }
                answers
            }
            Err(e) => jobs.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}

/// A batch of single-record jobs: one statement per kind, each committing on its own.
async fn insert_singles(conn: &mut Pooled, jobs: &[Insert]) -> Vec<Result<(), StoreError>> {
    let mut answers: Vec<Option<Result<(), StoreError>>> = jobs.iter().map(|_| None).collect();
    let records = jobs.iter().enumerate().flat_map(|(i, job)| job.0.iter().map(move |r| (i, r)));
    for (kind, group) in by_kind(records, |(_, record)| record.kind) {
        let records: Vec<&RawRecord> = group.iter().map(|(_, record)| *record).collect();
        match insert_group(conn, kind, &records).await {
            Ok(outcomes) => {
                for ((i, _), outcome) in group.iter().zip(outcomes) {
                    answers[*i] = Some(outcome);
                }
            }
            // Not the database going away: something in the batch was refused. Each alone.
            Err(StoreError::Backend(_)) if records.len() > 1 => {
                for (i, record) in &group {
                    let outcome = match insert_group(conn, kind, &[record]).await {
                        Ok(mut outcomes) => outcomes.pop().unwrap_or(Ok(())),
                        Err(e) => Err(e),
                    };
                    answers[*i] = Some(outcome);
                }
            }
            Err(e) => {
                for (i, _) in &group {
                    answers[*i] = Some(Err(e.clone()));
                }
            }
        }
    }
    answers.into_iter().map(|a| a.unwrap_or(Ok(()))).collect()
}

/// The records of `jobs` in one transaction: one statement per kind, then, for each job that
/// met a unique constraint, its `Conflict` and the removal of what of it was inserted, so that
/// each job is written whole or not at all. `Err` (rolled back) when a statement failed.
async fn insert_together(
    conn: &mut Pooled,
    jobs: &[Insert],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    conn.in_transaction = true;
    if let Err(e) = conn.client().batch_execute("BEGIN").await {
        return Err(conn.fail(e));
    }
    let outcome = insert_in_transaction(conn, jobs).await;
    let end = if outcome.is_ok() { "COMMIT" } else { "ROLLBACK" };
    match conn.client().batch_execute(end).await {
        Ok(()) => conn.in_transaction = false,
        Err(e) => {
            let e = conn.fail(e);
            return Err(outcome.err().unwrap_or(e));
        }
    }
    outcome
}

async fn insert_in_transaction(
    conn: &mut Pooled,
    jobs: &[Insert],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut inserted: HashSet<(Kind, &str, &str)> = HashSet::new();
    let records = jobs.iter().flat_map(|job| job.0.iter());
    for (kind, group) in by_kind(records, |record| record.kind) {
        let rows = conn.query(&sql::insert_batch(kind, &group)?).await?;
        let mut keys: HashSet<(String, String)> = HashSet::with_capacity(rows.rows.len());
        for row in &rows.rows {
            let corrupt = |e: tokio_postgres::Error| StoreError::Corrupt(format!("an inserted key: {e}"));
            keys.insert((row.try_get(0).map_err(corrupt)?, row.try_get(1).map_err(corrupt)?));
        }
        for record in group {
            if keys.contains(&(record.account.clone(), record.id.clone())) {
                inserted.insert((kind, &record.account, &record.id));
            }
        }
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        let is_in = |r: &RawRecord| inserted.contains(&(r.kind, r.account.as_str(), r.id.as_str()));
        let Some(refused) = job.0.iter().find(|r| !is_in(r)) else {
            answers.push(Ok(()));
            continue;
        };
        answers.push(Err(conflict(conn, refused).await?));
        // Written by this transaction a moment ago: take them out again.
        for record in job.0.iter().filter(|r| is_in(r)) {
            conn.query(&sql::delete(record.kind, &record.account, &record.id)).await?;
        }
    }
    Ok(answers)
}

/// Insert `records` (all of `kind`, no key twice) in one statement: each one's outcome, in order.
async fn insert_group(
    conn: &mut Pooled,
    kind: Kind,
    records: &[&RawRecord],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let rows = conn.query(&sql::insert_batch(kind, records)?).await?;
    let mut inserted = HashSet::with_capacity(rows.rows.len());
    for row in &rows.rows {
        let corrupt = |e: tokio_postgres::Error| StoreError::Corrupt(format!("an inserted key: {e}"));
        let account: &str = row.try_get(0).map_err(corrupt)?;
        let id: &str = row.try_get(1).map_err(corrupt)?;
        inserted.insert((account, id));
    }
    let mut outcomes = Vec::with_capacity(records.len());
    for record in records {
        if inserted.contains(&(record.account.as_str(), record.id.as_str())) {
            outcomes.push(Ok(()));
        } else {
            outcomes.push(Err(conflict(conn, record).await?));
        }
    }
    Ok(outcomes)
}

/// The `Conflict` of a record that was not inserted: its key was taken, or another unique
/// constraint of its kind ([`sql::other_unique`]) stood in the way.
async fn conflict(conn: &mut Pooled, record: &RawRecord) -> Result<StoreError, StoreError> {
    if let Some(other) = sql::other_unique(record.kind)
        && conn.query(&sql::seq_of(record.kind, &record.account, &record.id)).await?.rows.is_empty()
    {
        return Ok(StoreError::Conflict(other));
    }
    Ok(StoreError::Conflict(Constraint::PrimaryKey))
}

/// [`Store::get_many`](kassa_core::store::Store::get_many): records of one account by key.
pub(crate) struct Read {
    pub account: String,
    pub keys: Vec<(Kind, String)>,
}

impl Read {
    /// Whether a batch of `jobs` is read in one snapshot: when one of them asked for several
    /// kinds.
    fn snapshot(jobs: &[Self]) -> bool {
        jobs.iter().any(|job| job.keys.iter().any(|(kind, _)| Some(kind) != job.keys.first().map(|(k, _)| k)))
    }
}

impl Job for Read {
    type Answer = Vec<RawRecord>;
    const COMMITS: Option<&'static str> = None;

    fn keys(&self) -> impl Iterator<Item = (Kind, &str, &str)> {
        std::iter::empty()
    }

    async fn run(conn: &mut Pooled, jobs: &[Self]) -> Vec<Result<Vec<RawRecord>, StoreError>> {
        let wanted = jobs
            .iter()
            .flat_map(|job| job.keys.iter().map(|(kind, id)| (*kind, job.account.as_str(), id.as_str())));
        let groups = by_kind(wanted, |(kind, _, _)| *kind);
        let keys: Vec<Vec<(&str, &str)>> =
            groups.iter().map(|(_, group)| group.iter().map(|(_, a, i)| (*a, *i)).collect()).collect();
        let queries: Vec<(Kind, Query<'_>)> =
            groups.iter().zip(&keys).map(|((kind, _), keys)| (*kind, sql::get_keys(*kind, keys))).collect();
        let records = match read_kinds(conn, queries, Read::snapshot(jobs)).await {
            Ok(records) => records,
            Err(e) => return jobs.iter().map(|_| Err(e.clone())).collect(),
        };
        let found: HashMap<(Kind, &str, &str), &RawRecord> =
            records.iter().map(|r| ((r.kind, r.account.as_str(), r.id.as_str()), r)).collect();
        // Each job's records in the order it asked, as the SQLite backend answers.
        jobs.iter()
            .map(|job| {
                Ok(job
                    .keys
                    .iter()
                    .filter_map(|(kind, id)| {
                        found.get(&(*kind, job.account.as_str(), id.as_str())).map(|r| (*r).clone())
                    })
                    .collect())
            })
            .collect()
    }
}

/// One read per kind, pipelined; in one `REPEATABLE READ` snapshot (between `BEGIN` and
/// `COMMIT`) if `snapshot` and there are several; every row decoded as its kind's record.
async fn read_kinds(
    conn: &mut Pooled,
    reads: Vec<(Kind, Query<'_>)>,
    snapshot: bool,
) -> Result<Vec<RawRecord>, StoreError> {
    let (kinds, queries): (Vec<Kind>, Vec<Query<'_>>) = reads.into_iter().unzip();
    let results = match queries.as_slice() {
        [] => Vec::new(),
        // One statement reads one snapshot already.
        [one] => vec![conn.query(one).await?],
        many if snapshot => {
            conn.pipeline(Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"), many).await?
        }
        many => conn.pipeline(None, many).await?,
    };
    let mut records = Vec::new();
    for (kind, rows) in kinds.iter().zip(&results) {
        for row in &rows.rows {
            records.push(sql::decode(*kind, row)?);
        }
    }
    Ok(records)
}

/// [`Store::get_by_id`](kassa_core::store::Store::get_by_id): one record by id alone, whichever
/// account holds it. A batch reads each kind's ids in one statement.
pub(crate) struct ById {
    pub kind: Kind,
    pub id: String,
}

impl Job for ById {
    type Answer = Option<RawRecord>;
    const COMMITS: Option<&'static str> = None;

    fn keys(&self) -> impl Iterator<Item = (Kind, &str, &str)> {
        std::iter::empty()
    }

    async fn run(conn: &mut Pooled, jobs: &[Self]) -> Vec<Result<Option<RawRecord>, StoreError>> {
        let groups = by_kind(jobs.iter(), |job| job.kind);
        let ids: Vec<Vec<&str>> =
            groups.iter().map(|(_, group)| group.iter().map(|job| job.id.as_str()).collect()).collect();
        let queries: Vec<(Kind, Query<'_>)> =
            groups.iter().zip(&ids).map(|((kind, _), ids)| (*kind, sql::by_ids(*kind, ids))).collect();
        // Each job reads one kind.
        let records = match read_kinds(conn, queries, false).await {
            Ok(records) => records,
            Err(e) => return jobs.iter().map(|_| Err(e.clone())).collect(),
        };
        // Ids are drawn at random, so one names one record; should two accounts share one, the
        // first read answers, as `LIMIT 1` would.
        let mut found: HashMap<(Kind, &str), &RawRecord> = HashMap::with_capacity(records.len());
        for r in &records {
            found.entry((r.kind, r.id.as_str())).or_insert(r);
        }
        jobs.iter().map(|job| Ok(found.get(&(job.kind, job.id.as_str())).map(|r| (*r).clone()))).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::conformance::sample;
    use crate::postgres::TempPostgres;
    use kassa_core::store::Value;

    /// Jobs of one kind each are read without a transaction around them; a job of several kinds
    /// gets one snapshot.
    #[test]
    fn a_snapshot_only_for_a_job_of_several_kinds() {
        let read = |keys: &[(Kind, &str)]| Read {
            account: "acct_1".to_owned(),
            keys: keys.iter().map(|(k, id)| (*k, (*id).to_owned())).collect(),
        };
        let price = read(&[(Kind::Price, "price_1")]);
        let product = read(&[(Kind::Product, "prod_1"), (Kind::Product, "prod_2")]);
        let both = read(&[(Kind::Price, "price_1"), (Kind::Product, "prod_1")]);
        assert!(!Read::snapshot(&[price, product, read(&[])]));
        assert!(Read::snapshot(&[read(&[(Kind::Price, "price_2")]), both]));
    }

    fn queued(job: Insert) -> Pending<Insert> {
        Pending { job, reply: oneshot::channel().0 }
    }

    fn ids(batch: &[Pending<Insert>]) -> Vec<&str> {
        batch.iter().map(|p| p.job.0[0].id.as_str()).collect()
    }

    /// A key already in a batch waits for the next one, ahead of what came after it.
    #[test]
    fn a_key_goes_once_per_batch() {
        let mut queue = Queue { waiting: VecDeque::new(), flushers: 0 };
        for (account, id) in [("a", "x"), ("a", "y"), ("a", "x"), ("b", "x"), ("a", "x"), ("a", "z")] {
            queue.waiting.push_back(queued(Insert(vec![sample(Kind::Product, account, id, 1)])));
        }
        assert_eq!(ids(&take(&mut queue).unwrap()), ["x", "y", "x", "z"]);
        assert_eq!(ids(&take(&mut queue).unwrap()), ["x"]);
        assert_eq!(ids(&take(&mut queue).unwrap()), ["x"]);
        assert!(take(&mut queue).is_none());
    }

    /// Flushers run where the store was opened; if that runtime is gone, a job fails at once
    /// instead of waiting for a flusher that cannot run.
    #[test]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    fn jobs_fail_when_the_home_runtime_is_gone() {
        use kassa_core::store::Store;
        use std::time::Duration;
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let home =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let store = home.block_on(async { db.open_postgres() });
        // A caller on a runtime of its own is served by a flusher on the home runtime.
        let caller = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let key = vec![(Kind::Product, "prod_1".to_owned())];
        caller.block_on(store.insert(sample(Kind::Product, "acct_a", "prod_1", 1))).unwrap();
        assert_eq!(caller.block_on(store.get_many("acct_a", key.clone())).unwrap().len(), 1);

        home.shutdown_timeout(Duration::from_secs(5));
        let outcome = caller.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), store.get_many("acct_a", key)).await
        });
        assert!(matches!(outcome, Ok(Err(StoreError::Unavailable(_)))), "{outcome:?}");
    }

    /// A batch with jobs of several records runs in one transaction and writes each job whole or
    /// not at all: a job with a taken key leaves none of its records, and a record the database
    /// refuses sends each job through alone, so only its own job fails.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn jobs_of_several_records_are_written_whole_or_not_at_all() {
        use kassa_core::store::Store;
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let store = db.open_postgres();
        let mut conn = store.pool.get().await.unwrap();
        let taken = sample(Kind::Product, "acct_a", "prod_taken", 1);
        assert_eq!(Insert::run(&mut conn, &[Insert(vec![taken.clone()])]).await, [Ok(())]);
        let jobs = [
            Insert(vec![
                sample(Kind::Product, "acct_a", "prod_1", 1),
                sample(Kind::Price, "acct_a", "price_1", 1),
            ]),
            Insert(vec![sample(Kind::Price, "acct_a", "price_2", 1), taken.clone()]),
            Insert(vec![sample(Kind::Customer, "acct_a", "cus_1", 1)]),
        ];
        let answers = Insert::run(&mut conn, &jobs).await;
        assert_eq!(answers, [Ok(()), Err(StoreError::Conflict(Constraint::PrimaryKey)), Ok(())]);

        let mut refused = sample(Kind::Product, "acct_a", "prod_refused", 1);
        refused.columns = vec![Value::Null];
        let jobs = [
            Insert(vec![sample(Kind::Price, "acct_a", "price_3", 1), refused]),
            Insert(vec![
                sample(Kind::Product, "acct_a", "prod_4", 1),
                sample(Kind::Price, "acct_a", "price_4", 1),
            ]),
        ];
        let answers = Insert::run(&mut conn, &jobs).await;
        assert!(matches!(&answers[0], Err(StoreError::Backend(m)) if m.contains("23502")), "{answers:?}");
        assert_eq!(answers[1], Ok(()));
        drop(conn);

        for (kind, id, there) in [
            (Kind::Product, "prod_1", true),
            (Kind::Price, "price_1", true),
            (Kind::Price, "price_2", false),
            (Kind::Customer, "cus_1", true),
            (Kind::Price, "price_3", false),
            (Kind::Product, "prod_4", true),
            (Kind::Price, "price_4", true),
        ] {
            assert_eq!(store.get("acct_a", kind, id).await.unwrap().is_some(), there, "{id}");
        }
    }

    /// One batch: written, conflicting and refused records each get their own answer, and a
    /// batch of reads spanning accounts and kinds answers each job with its own records.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
    async fn one_batch_answers_each_job() {
        let Some(db) = TempPostgres::new_or_skip() else { return };
        let store = db.open_postgres();
        let mut conn = store.pool.get().await.unwrap();

        let taken = sample(Kind::Product, "acct_a", "prod_taken", 1);
        assert_eq!(Insert::run(&mut conn, &[Insert(vec![taken.clone()])]).await, [Ok(())]);
        let mut refused = sample(Kind::Product, "acct_a", "prod_refused", 1);
        refused.columns = vec![Value::Null];
        let jobs = [
            Insert(vec![sample(Kind::Product, "acct_a", "prod_1", 1)]),
            Insert(vec![taken.clone()]),
            Insert(vec![sample(Kind::Customer, "acct_b", "cus_1", 1)]),
            Insert(vec![refused]),
            Insert(vec![sample(Kind::Product, "acct_b", "prod_1", 1)]),
        ];
        let answers = Insert::run(&mut conn, &jobs).await;
        assert_eq!(answers[..3], [Ok(()), Err(StoreError::Conflict(Constraint::PrimaryKey)), Ok(())]);
        assert!(
            matches!(&answers[3], Err(StoreError::Backend(m)) if m.contains("23502")),
            "{:?}",
            answers[3]
        );
        assert_eq!(answers[4], Ok(()));

        let reads = [
            Read {
                account: "acct_a".to_owned(),
                keys: vec![(Kind::Product, "prod_1".to_owned()), (Kind::Product, "prod_taken".to_owned())],
            },
            Read {
                account: "acct_b".to_owned(),
                keys: vec![
                    (Kind::Product, "prod_taken".to_owned()),
                    (Kind::Customer, "cus_1".to_owned()),
                    (Kind::Product, "prod_1".to_owned()),
                ],
            },
            Read { account: "acct_c".to_owned(), keys: vec![(Kind::Product, "prod_1".to_owned())] },
        ];
        let answers = Read::run(&mut conn, &reads).await;
        let shown: Vec<Vec<(String, String)>> = answers
            .into_iter()
            .map(|a| a.unwrap().into_iter().map(|r| (r.account, r.id)).collect())
            .collect();
        let pair = |a: &str, i: &str| (a.to_owned(), i.to_owned());
        assert_eq!(
            shown,
            [
                vec![pair("acct_a", "prod_1"), pair("acct_a", "prod_taken")],
                vec![pair("acct_b", "cus_1"), pair("acct_b", "prod_1")],
                vec![],
            ]
        );
    }
}
