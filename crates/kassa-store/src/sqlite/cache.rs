//! Prices and products in memory: what every new checkout session reads, read from the file only
//! when they change.
//!
//! Creating a session reads the prices it names and their products — two reads by key, each a
//! read transaction on a reader connection (its shared-memory locks, its page lookups, the
//! record's columns copied out): a sixth of the runtime's instructions per created session,
//! for records that a shop changes a few times a year. A SQLite store is the only process that
//! writes them (one server per file, `health.rs`; the short commands beside it write accounts and
//! keys), so it knows when they change: SQLite's update hook on the writer's connection sees every
//! row it updates or deletes.
//!
//! The rules, so that nothing read from memory is older than what the file would answer:
//!
//! - only [`Store::get`](kassa_core::store::Store::get) and
//!   [`Store::get_many`](kassa_core::store::Store::get_many) read from memory, and `get_many`
//!   only when every record it asks for is there (else it reads them all in one snapshot, as
//!   before); transactions and views always read the file;
//! - an update or a delete of a price or a product (any row, any account, also inside a
//!   transaction that later rolls back) empties the cache at once and closes it: until the
//!   writer's batch has committed, nothing is served from memory and nothing is put in;
//! - the writer opens it again after the batch's `COMMIT` (or its rollback), before any job of
//!   the batch is answered, with a new generation. A read from the file puts its records in only
//!   if the generation it saw before it began is still current, so a read whose snapshot began
//!   before the commit (and holds the old version) never stores it after;
//! - inserts change nothing here: a record that was not there was not cached, and nothing caches
//!   that a record is missing.
//!
//! Each kind keeps at most [`CAPACITY`] records and starts over empty when full. Inline prices and
//! products (`price_data`) are inserted, not read by key, so they do not fill it. PostgreSQL has no
//! such cache: other nodes write the same tables.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use kassa_core::store::{Kind, RawRecord};

/// The most records of one kind kept in memory (a few hundred bytes each).
pub(crate) const CAPACITY: usize = 4_096;

/// The kinds kept, and their tables (what the update hook names).
const KINDS: [(Kind, &str); 2] = [(Kind::Price, "prices"), (Kind::Product, "products")];

/// A generation of the cache: a read that saw one may store what it read only while it is current.
pub(crate) type Generation = u64;

#[derive(Debug, Default)]
pub(crate) struct RecordCache {
    inner: Mutex<Inner>,
    /// Set by the update hook, so the writer's check after each batch costs no lock.
    changed: AtomicBool,
}

#[derive(Debug, Default)]
struct Inner {
    generation: Generation,
    /// Closed between a change and its batch's end: nothing is served or stored.
    closed: bool,
    /// By id, one map per kind of [`KINDS`]; a record is served only to its own account.
    records: [HashMap<String, RawRecord>; KINDS.len()],
}

fn slot(kind: Kind) -> Option<usize> {
    KINDS.iter().position(|(k, _)| *k == kind)
}

impl RecordCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether records of `kind` are kept at all.
    pub(crate) fn keeps(kind: Kind) -> bool {
        slot(kind).is_some()
    }

    /// The generation to hand to [`RecordCache::put`] after reading from the file, taken before
    /// the read begins; `None` while the cache is closed.
    pub(crate) fn generation(&self) -> Option<Generation> {
        let inner = self.lock();
        (!inner.closed).then_some(inner.generation)
    }

    /// Every record asked for, if each is in memory (in the order asked), else `None`.
    pub(crate) fn get_all(&self, account: &str, keys: &[(Kind, String)]) -> Option<Vec<RawRecord>> {
        let inner = self.lock();
        if inner.closed {
            return None;
        }
        keys.iter()
            .map(|(kind, id)| {
                let record = inner.records[slot(*kind)?].get(id.as_str())?;
                (record.account == account).then(|| record.clone())
            })
            .collect()
    }

    /// Keep `records` (those of the kinds kept), read from the file by a read that began at
    /// `generation`: unless something changed since.
    pub(crate) fn put(&self, generation: Generation, records: &[RawRecord]) {
        let mut inner = self.lock();
        if inner.closed || inner.generation != generation {
            return;
        }
        for record in records {
            let Some(i) = slot(record.kind) else { continue };
            let map = &mut inner.records[i];
            if map.len() >= CAPACITY && !map.contains_key(&record.id) {
                map.clear();
            }
            map.insert(record.id.clone(), record.clone());
        }
    }

    /// SQLite's update hook on the writer's connection: a row of `table` was inserted, updated or
    /// deleted. An update or a delete of a kept kind empties and closes the cache.
    pub(crate) fn row_changed(&self, action: rusqlite::hooks::Action, table: &str) {
        if action == rusqlite::hooks::Action::SQLITE_INSERT || !KINDS.iter().any(|(_, t)| *t == table) {
            return;
        }
        let mut inner = self.lock();
        inner.closed = true;
        inner.records.iter_mut().for_each(HashMap::clear);
        self.changed.store(true, Ordering::Release);
    }

    /// The writer, after each batch's `COMMIT` or rollback and before answering its jobs: open the
    /// cache again, with a new generation, if the batch changed a kept kind.
    pub(crate) fn batch_ended(&self) {
        if !self.changed.swap(false, Ordering::Acquire) {
            return;
        }
        let mut inner = self.lock();
        inner.closed = false;
        inner.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rusqlite::hooks::Action;

    fn record(kind: Kind, account: &str, id: &str, data: &str) -> RawRecord {
        RawRecord {
            kind,
            account: account.to_owned(),
            id: id.to_owned(),
            created: 1,
            data: data.to_owned(),
            columns: Vec::new(),
        }
    }

    fn key(kind: Kind, id: &str) -> (Kind, String) {
        (kind, id.to_owned())
    }

    #[test]
    fn serves_what_was_put_to_its_own_account_only_and_all_or_nothing() {
        let cache = RecordCache::default();
        let g = cache.generation().unwrap();
        cache.put(
            g,
            &[record(Kind::Price, "acct_1", "price_1", "p"), record(Kind::Product, "acct_1", "prod_1", "q")],
        );
        let both =
            cache.get_all("acct_1", &[key(Kind::Price, "price_1"), key(Kind::Product, "prod_1")]).unwrap();
        assert_eq!(both.iter().map(|r| r.data.as_str()).collect::<Vec<_>>(), ["p", "q"]);
        assert!(cache.get_all("acct_2", &[key(Kind::Price, "price_1")]).is_none(), "another account's");
        assert!(
            cache.get_all("acct_1", &[key(Kind::Price, "price_1"), key(Kind::Price, "price_2")]).is_none()
        );
        assert!(cache.get_all("acct_1", &[key(Kind::Customer, "cus_1")]).is_none(), "a kind not kept");
        cache.put(g, &[record(Kind::Customer, "acct_1", "cus_1", "c")]);
        assert!(cache.get_all("acct_1", &[key(Kind::Customer, "cus_1")]).is_none());
    }

    #[test]
    fn a_change_closes_it_until_the_batch_ends_and_older_reads_are_not_kept() {
        let cache = RecordCache::default();
        let before = cache.generation().unwrap();
        cache.put(before, &[record(Kind::Price, "acct_1", "price_1", "old")]);

        // Inserts (a new session, an inline price) change nothing.
        cache.row_changed(Action::SQLITE_INSERT, "prices");
        cache.row_changed(Action::SQLITE_UPDATE, "checkout_sessions");
        cache.batch_ended();
        assert_eq!(cache.generation(), Some(before));
        assert!(cache.get_all("acct_1", &[key(Kind::Price, "price_1")]).is_some());

        // An update of a product empties the cache and closes it until the batch has ended.
        cache.row_changed(Action::SQLITE_UPDATE, "products");
        assert!(cache.get_all("acct_1", &[key(Kind::Price, "price_1")]).is_none());
        assert_eq!(cache.generation(), None);
        cache.put(before, &[record(Kind::Price, "acct_1", "price_1", "old")]);
        cache.batch_ended();
        assert!(
            cache.get_all("acct_1", &[key(Kind::Price, "price_1")]).is_none(),
            "nothing put while closed"
        );

        // A read that began before the commit is not kept; one that began after is.
        cache.put(before, &[record(Kind::Price, "acct_1", "price_1", "old")]);
        assert!(cache.get_all("acct_1", &[key(Kind::Price, "price_1")]).is_none());
        let after = cache.generation().unwrap();
        assert_ne!(after, before);
        cache.put(after, &[record(Kind::Price, "acct_1", "price_1", "new")]);
        assert_eq!(cache.get_all("acct_1", &[key(Kind::Price, "price_1")]).unwrap()[0].data, "new");

        cache.row_changed(Action::SQLITE_DELETE, "prices");
        cache.batch_ended();
        assert!(cache.get_all("acct_1", &[key(Kind::Price, "price_1")]).is_none());
    }

    #[test]
    fn a_full_kind_starts_over() {
        let cache = RecordCache::default();
        let g = cache.generation().unwrap();
        for i in 0..CAPACITY {
            cache.put(g, &[record(Kind::Price, "acct_1", &format!("price_{i}"), "p")]);
        }
        cache.put(g, &[record(Kind::Product, "acct_1", "prod_1", "q")]);
        assert!(cache.get_all("acct_1", &[key(Kind::Price, "price_0")]).is_some());
        cache.put(g, &[record(Kind::Price, "acct_1", "price_new", "p")]);
        assert!(cache.get_all("acct_1", &[key(Kind::Price, "price_0")]).is_none());
        assert!(cache.get_all("acct_1", &[key(Kind::Price, "price_new")]).is_some());
        assert!(cache.get_all("acct_1", &[key(Kind::Product, "prod_1")]).is_some(), "other kinds stay");
    }
}
