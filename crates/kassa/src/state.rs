//! What every request and worker shares: the store, the clock, the public URL, the per-node
//! caches of authenticated keys and account names, and the webhook sender.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kassa_core::account::{Account, KeyHash};
use kassa_core::payment::{FingerprintKey, PaymentProcessor, TestNetwork};
use kassa_core::store::Store;
use kassa_core::time::{Clock, Timestamp};

use crate::client::{Pace, webhook_client};
use crate::config::WebhookSettings;

pub type AppState = Arc<Ctx>;

pub struct Ctx {
    pub store: Arc<dyn Store>,
    /// Who takes payments: the built-in test network.
    pub processor: Arc<dyn PaymentProcessor>,
    /// Keys the fingerprints of the cards paid with (`ValidCard::details`): the installation's
    /// key, which `startup` loads (`crate::fingerprint_key`). [`Ctx::new`] starts with a random
    /// one, fit only for a context that never outlives its process's cards (tests).
    pub fingerprint_key: FingerprintKey,
    pub clock: Arc<dyn Clock>,
    /// The base of every URL kassa hands out, without a trailing slash.
    pub public_url: String,
    /// Keys this process has already authenticated, so that the hot path does not read the
    /// database for every request. Keys cannot be revoked yet, so an entry never goes stale.
    pub keys: NodeCache<KeyHash, Account>,
    /// Account names for the hosted pages (accounts are never renamed).
    pub account_names: NodeCache<String, String>,
    /// How webhooks are sent and retried.
    pub webhooks: WebhookSettings,
    pub webhook_client: reqwest::Client,
    /// Woken when a transaction on this node has queued webhook deliveries.
    pub deliveries_due: tokio::sync::Notify,
    /// Paces this node's webhook attempts (`--webhook-max-rate`).
    pub delivery_pace: Pace,
    /// What happens to failed renewals.
    pub dunning: kassa_core::renewal::Dunning,
    /// How much of a billing run (a test clock's advance, the scheduler catching up) one
    /// transaction does.
    pub billing_chunk: crate::service::billing::Chunk,
    /// The promotion code attempts the hosted page allows this node's clients.
    pub code_attempts: crate::limits::CodeAttempts,
}

impl Ctx {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        public_url: &str,
        webhooks: WebhookSettings,
    ) -> Self {
        Self {
            webhook_client: webhook_client(&webhooks),
            webhooks,
            deliveries_due: tokio::sync::Notify::new(),
            delivery_pace: Default::default(),
            dunning: kassa_core::renewal::Dunning::default(),
            billing_chunk: crate::service::billing::Chunk::default(),
            code_attempts: crate::limits::CodeAttempts::new(Default::default(), clock.clone()),
            store,
            processor: Arc::new(TestNetwork),
            fingerprint_key: FingerprintKey::generate(),
            clock,
            public_url: public_url.trim_end_matches('/').to_owned(),
            keys: NodeCache::default(),
            account_names: NodeCache::default(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// An account's name, read once per node.
    pub async fn account_name(&self, id: &str) -> Result<String, kassa_core::store::StoreError> {
        if let Some(name) = self.account_names.get(id) {
            return Ok(name);
        }
        let name = self.store.get_account(id).await?.map(|a| a.name).unwrap_or_default();
        self.account_names.put(id.to_owned(), name.clone());
        Ok(name)
    }
}

/// A cache that lives in one process (each node keeps its own) for values that never go stale.
/// Bounded: when full it starts over.
pub struct NodeCache<K, V> {
    map: RwLock<HashMap<K, V>>,
}

const NODE_CACHE_MAX: usize = 10_000;

impl<K, V> Default for NodeCache<K, V> {
    fn default() -> Self {
        Self { map: RwLock::new(HashMap::new()) }
    }
}

impl<K: Eq + std::hash::Hash, V: Clone> NodeCache<K, V> {
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        self.map.read().ok().and_then(|m| m.get(key).cloned())
    }

    pub fn put(&self, key: K, value: V) {
        if let Ok(mut m) = self.map.write() {
            if m.len() >= NODE_CACHE_MAX {
                m.clear();
            }
            m.insert(key, value);
        }
    }
}
