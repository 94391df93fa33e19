//! What every request and worker shares: the store, the clock, the public URL, and the per-node
//! cache of authenticated keys.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kassa_core::account::{Account, KeyHash};
use kassa_core::payment::{PaymentProcessor, TestNetwork};
use kassa_core::store::Store;
use kassa_core::time::{Clock, Timestamp};

pub type AppState = Arc<Ctx>;

pub struct Ctx {
    pub store: Arc<dyn Store>,
    /// Who takes payments: the built-in test network.
    pub processor: Arc<dyn PaymentProcessor>,
    pub clock: Arc<dyn Clock>,
    /// The base of every URL kassa hands out, without a trailing slash.
    pub public_url: String,
    pub keys: KeyCache,
    /// Account names for the hosted pages, per node (accounts are never renamed).
    pub account_names: RwLock<HashMap<String, String>>,
}

impl Ctx {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, public_url: &str) -> Self {
        Self {
            store,
            processor: Arc::new(TestNetwork),
            clock,
            public_url: public_url.trim_end_matches('/').to_owned(),
            keys: KeyCache::default(),
            account_names: RwLock::default(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// An account's name, read once per node.
    pub async fn account_name(&self, id: &str) -> Result<String, kassa_core::store::StoreError> {
        if let Some(name) = self.account_names.read().ok().and_then(|m| m.get(id).cloned()) {
            return Ok(name);
        }
        let name = self.store.get_account(id).await?.map(|a| a.name).unwrap_or_default();
        if let Ok(mut m) = self.account_names.write() {
            if m.len() >= KEY_CACHE_MAX {
                m.clear();
            }
            m.insert(id.to_owned(), name.clone());
        }
        Ok(name)
    }

    /// The hosted payment page of a session.
    pub fn pay_url(&self, session_id: &str) -> String {
        format!("{}/pay/{session_id}", self.public_url)
    }
}

/// Keys this process has already authenticated, so that the hot path does not read the database
/// for every request. It lives in one process (each node keeps its own) and holds only keys that
/// exist; keys cannot be revoked yet, so an entry never goes stale. Bounded: when full it starts
/// over.
#[derive(Default)]
pub struct KeyCache {
    map: RwLock<HashMap<KeyHash, Account>>,
}

const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    pub fn get(&self, hash: &KeyHash) -> Option<Account> {
        self.map.read().ok().and_then(|m| m.get(hash).cloned())
    }

    pub fn put(&self, hash: KeyHash, account: Account) {
        if let Ok(mut m) = self.map.write() {
            if m.len() >= KEY_CACHE_MAX {
                m.clear();
            }
            m.insert(hash, account);
        }
    }
}
