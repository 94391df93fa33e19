//! A store that counts what goes through it, for tests that check how much a path reads or how
//! much one transaction does.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

/// The keys of one `get_many`.
pub(crate) type Keys = Vec<(kassa_core::store::Kind, String)>;

/// A store that counts, per transaction, the subscriptions it writes and the invoices it
/// creates (how much of a billing run one transaction does), and notes the keys of each
/// `get_many` (what a session's creation reads, and in how many reads).
pub(crate) struct Counting {
    pub(crate) inner: Arc<dyn kassa_core::store::Store>,
    /// (subscriptions written, invoices created) of each transaction that wrote any.
    pub(crate) chunks: Arc<Mutex<Vec<(usize, usize)>>>,
    /// The keys of each `get_many`, in order.
    pub(crate) reads: Arc<Mutex<Vec<Keys>>>,
}

struct CountingTx<'a> {
    inner: &'a mut dyn kassa_core::store::Tx,
    subscriptions: std::collections::HashSet<String>,
    invoices: usize,
}

impl kassa_core::store::Tx for CountingTx<'_> {
    fn next_in_sequence(&mut self, account: &str, name: &str) -> Result<i64, kassa_core::store::StoreError> {
        self.inner.next_in_sequence(account, name)
    }

    fn get(
        &mut self,
        account: &str,
        kind: kassa_core::store::Kind,
        id: &str,
    ) -> Result<Option<kassa_core::store::RawRecord>, kassa_core::store::StoreError> {
        self.inner.get(account, kind, id)
    }

    fn get_by_id(
        &mut self,
        kind: kassa_core::store::Kind,
        id: &str,
    ) -> Result<Option<kassa_core::store::RawRecord>, kassa_core::store::StoreError> {
        self.inner.get_by_id(kind, id)
    }

    fn insert(&mut self, record: &kassa_core::store::RawRecord) -> Result<(), kassa_core::store::StoreError> {
        if record.kind == kassa_core::store::Kind::Invoice {
            self.invoices += 1;
        }
        self.inner.insert(record)
    }

    fn update(&mut self, record: &kassa_core::store::RawRecord) -> Result<(), kassa_core::store::StoreError> {
        if record.kind == kassa_core::store::Kind::Subscription {
            self.subscriptions.insert(record.id.clone());
        }
        self.inner.update(record)
    }

    fn delete(
        &mut self,
        account: &str,
        kind: kassa_core::store::Kind,
        id: &str,
    ) -> Result<bool, kassa_core::store::StoreError> {
        self.inner.delete(account, kind, id)
    }

    fn find(
        &mut self,
        scope: kassa_core::store::Scope<'_>,
        kind: kassa_core::store::Kind,
        filters: &[kassa_core::store::Filter],
        limit: u32,
    ) -> Result<Vec<kassa_core::store::RawRecord>, kassa_core::store::StoreError> {
        self.inner.find(scope, kind, filters, limit)
    }

    fn select(
        &mut self,
        scope: kassa_core::store::Scope<'_>,
        kind: kassa_core::store::Kind,
        filters: &[kassa_core::store::Filter],
        limit: u32,
    ) -> Result<Vec<kassa_core::store::RawRecord>, kassa_core::store::StoreError> {
        self.inner.select(scope, kind, filters, limit)
    }

    fn delete_where(
        &mut self,
        kind: kassa_core::store::Kind,
        filters: &[kassa_core::store::Filter],
    ) -> Result<u64, kassa_core::store::StoreError> {
        self.inner.delete_where(kind, filters)
    }
}

#[async_trait::async_trait]
impl kassa_core::store::Store for Counting {
    async fn ping(&self) -> Result<(), kassa_core::store::StoreError> {
        self.inner.ping().await
    }

    async fn count_accounts(&self) -> Result<u64, kassa_core::store::StoreError> {
        self.inner.count_accounts().await
    }

    async fn create_account(
        &self,
        account: &kassa_core::account::Account,
        key: &kassa_core::account::ApiKeyRecord,
    ) -> Result<(), kassa_core::store::StoreError> {
        self.inner.create_account(account, key).await
    }

    async fn account_by_key(
        &self,
        hash: &kassa_core::account::KeyHash,
    ) -> Result<Option<kassa_core::account::Account>, kassa_core::store::StoreError> {
        self.inner.account_by_key(hash).await
    }

    async fn get_account(
        &self,
        id: &str,
    ) -> Result<Option<kassa_core::account::Account>, kassa_core::store::StoreError> {
        self.inner.get_account(id).await
    }

    async fn default_account(
        &self,
    ) -> Result<Option<kassa_core::account::Account>, kassa_core::store::StoreError> {
        self.inner.default_account().await
    }

    async fn api_key(
        &self,
        hash: &kassa_core::account::KeyHash,
    ) -> Result<
        Option<(kassa_core::account::ApiKeyRecord, kassa_core::account::Account)>,
        kassa_core::store::StoreError,
    > {
        self.inner.api_key(hash).await
    }

    async fn add_api_key(
        &self,
        key: &kassa_core::account::ApiKeyRecord,
    ) -> Result<(), kassa_core::store::StoreError> {
        self.inner.add_api_key(key).await
    }

    async fn api_keys(
        &self,
        account: &str,
    ) -> Result<Vec<kassa_core::account::ApiKeyRecord>, kassa_core::store::StoreError> {
        self.inner.api_keys(account).await
    }

    async fn revoke_api_key(
        &self,
        account: &str,
        id: &str,
        at: i64,
    ) -> Result<bool, kassa_core::store::StoreError> {
        self.inner.revoke_api_key(account, id, at).await
    }

    async fn expire_api_key(
        &self,
        account: &str,
        id: &str,
        at: i64,
    ) -> Result<bool, kassa_core::store::StoreError> {
        self.inner.expire_api_key(account, id, at).await
    }

    async fn record_key_use(
        &self,
        hash: &kassa_core::account::KeyHash,
        at: i64,
    ) -> Result<(), kassa_core::store::StoreError> {
        self.inner.record_key_use(hash, at).await
    }

    async fn get(
        &self,
        account: &str,
        kind: kassa_core::store::Kind,
        id: &str,
    ) -> Result<Option<kassa_core::store::RawRecord>, kassa_core::store::StoreError> {
        self.inner.get(account, kind, id).await
    }

    async fn get_by_id(
        &self,
        kind: kassa_core::store::Kind,
        id: &str,
    ) -> Result<Option<kassa_core::store::RawRecord>, kassa_core::store::StoreError> {
        self.inner.get_by_id(kind, id).await
    }

    async fn get_many(
        &self,
        account: &str,
        keys: Vec<(kassa_core::store::Kind, String)>,
    ) -> Result<Vec<kassa_core::store::RawRecord>, kassa_core::store::StoreError> {
        self.reads.lock().unwrap().push(keys.clone());
        self.inner.get_many(account, keys).await
    }

    async fn list(
        &self,
        account: &str,
        kind: kassa_core::store::Kind,
        query: kassa_core::store::ListQuery,
    ) -> Result<kassa_core::store::Page, kassa_core::store::StoreError> {
        self.inner.list(account, kind, query).await
    }

    async fn view(&self, f: kassa_core::store::TxFn) -> kassa_core::store::TxOutcome {
        self.inner.view(f).await
    }

    async fn transact(&self, f: kassa_core::store::TxFn) -> kassa_core::store::TxOutcome {
        let chunks = self.chunks.clone();
        self.inner
            .transact(Box::new(move |tx| {
                let mut counting =
                    CountingTx { inner: tx, subscriptions: std::collections::HashSet::new(), invoices: 0 };
                let outcome = f(&mut counting);
                if !counting.subscriptions.is_empty() || counting.invoices > 0 {
                    chunks.lock().unwrap().push((counting.subscriptions.len(), counting.invoices));
                }
                outcome
            }))
            .await
    }
}
