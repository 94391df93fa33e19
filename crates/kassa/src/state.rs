//! What every request and worker shares: the store, the clock, the public URL, the per-node
//! caches of authenticated keys and account names, and the webhook sender.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use kassa_core::account::{Account, ApiKeyRecord, KeyHash};
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
    /// Keys this process has authenticated recently, so that the hot path does not read the
    /// database for every request; an entry is read again after [`KEY_CACHE_SECONDS`].
    pub keys: KeyCache,
    /// Account names for the hosted pages (accounts are never renamed).
    pub account_names: NodeCache<String, String>,
    /// Each price's product, by the price's id (a price never changes product): a new session
    /// reads its prices and their products together (`service::sessions::create`).
    pub price_products: NodeCache<String, String>,
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
    /// Failed dashboard sign-ins per address (`crate::http::dashboard`).
    pub login_limiter: crate::http::dashboard::LoginLimiter,
    /// The API requests of each account, for the dashboard (`--request-log-retention`).
    pub request_log: crate::http::dashboard::log::RequestLog,
    /// Serve `GET /metrics` on the main listener (`--metrics`; `crate::http::metrics`).
    pub metrics_on_api: bool,
    /// The merchant's country, for the reverse charge (`--tax-origin-country`).
    pub tax_origin_country: String,
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
            metrics_on_api: false,
            login_limiter: Default::default(),
            request_log: crate::http::dashboard::log::RequestLog::new(
                crate::http::dashboard::log::DEFAULT_RETENTION,
            ),
            tax_origin_country: "US".to_owned(),
            store,
            processor: Arc::new(TestNetwork),
            fingerprint_key: FingerprintKey::generate(),
            clock,
            public_url: public_url.trim_end_matches('/').to_owned(),
            keys: KeyCache::default(),
            account_names: NodeCache::default(),
            price_products: NodeCache::default(),
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

/// How long a node trusts what it read about a key, in seconds of the server's clock: a key
/// revoked (or rolled to expire sooner) on any node, or with `kassa accounts keys`, stops working
/// on every node within this long. Expiry itself is checked on every request.
pub const KEY_CACHE_SECONDS: Timestamp = 10;

/// The per-node cache of active keys, by hash. Bounded like [`NodeCache`]; an entry older than
/// [`KEY_CACHE_SECONDS`] is not used, so the next request reads the key again.
#[derive(Default)]
pub struct KeyCache {
    map: RwLock<HashMap<KeyHash, Arc<CachedKey>>>,
}

/// What a node knows of an active key.
#[derive(Debug)]
pub struct CachedKey {
    pub account: Account,
    pub expires_at: Option<Timestamp>,
    /// When it was read from the store.
    read_at: Timestamp,
    /// The last use written down (or about to be), `i64::MIN` for never.
    last_used: AtomicI64,
}

impl CachedKey {
    pub fn new(key: &ApiKeyRecord, account: Account, now: Timestamp) -> Self {
        Self {
            account,
            expires_at: key.expires_at,
            read_at: now,
            last_used: AtomicI64::new(key.last_used.unwrap_or(i64::MIN)),
        }
    }

    /// A use at `now`: whether it is the one to write down (the last recorded use is at least
    /// [`LAST_USE_EVERY`](kassa_core::account::LAST_USE_EVERY) old). Of concurrent uses, one
    /// gets `true`.
    pub fn note_use(&self, now: Timestamp) -> bool {
        let mut seen = self.last_used.load(Ordering::Relaxed);
        loop {
            let last = (seen != i64::MIN).then_some(seen);
            if !ApiKeyRecord::use_is_news(last, now) {
                return false;
            }
            match self.last_used.compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(other) => seen = other,
            }
        }
    }
}

impl KeyCache {
    /// The key, if it was read less than [`KEY_CACHE_SECONDS`] before `now`.
    pub fn get(&self, hash: &KeyHash, now: Timestamp) -> Option<Arc<CachedKey>> {
        let map = self.map.read().ok()?;
        map.get(hash).filter(|k| now - k.read_at < KEY_CACHE_SECONDS && k.read_at <= now).cloned()
    }

    pub fn put(&self, hash: KeyHash, key: CachedKey) -> Arc<CachedKey> {
        let key = Arc::new(key);
        if let Ok(mut m) = self.map.write() {
            if m.len() >= NODE_CACHE_MAX {
                m.clear();
            }
            m.insert(hash, key.clone());
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_core::account::SecretKey;

    /// Entries go stale after `KEY_CACHE_SECONDS`; a use is written down at most once a minute,
    /// by one of the requests that race for it.
    #[test]
    fn cached_keys_go_stale_and_uses_are_recorded_once_a_minute() {
        let key = SecretKey::generate();
        let record = ApiKeyRecord::new(&key, "acct_1", 1000);
        let account = Account { id: "acct_1".to_owned(), name: "A".to_owned(), created: 1000 };
        let cache = KeyCache::default();
        let cached = cache.put(key.hash(), CachedKey::new(&record, account, 1000));
        assert!(cache.get(&key.hash(), 1000).is_some());
        assert!(cache.get(&key.hash(), 1000 + KEY_CACHE_SECONDS - 1).is_some());
        assert!(cache.get(&key.hash(), 1000 + KEY_CACHE_SECONDS).is_none());
        assert!(cache.get(&SecretKey::generate().hash(), 1000).is_none());

        assert!(cached.note_use(1000), "never used: the first use is news");
        assert!(!cached.note_use(1000));
        assert!(!cached.note_use(1059));
        assert!(cached.note_use(1060));
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let c = cached.clone();
                std::thread::spawn(move || c.note_use(1200))
            })
            .collect();
        let winners =
            racers.into_iter().map(std::thread::JoinHandle::join).filter(|w| matches!(w, Ok(true))).count();
        assert_eq!(winners, 1);

        let used = ApiKeyRecord { last_used: Some(990), ..record };
        let account = Account { id: "acct_1".to_owned(), name: "A".to_owned(), created: 1000 };
        let fresh = CachedKey::new(&used, account, 1000);
        assert!(!fresh.note_use(1000), "used 10 s ago, as the store says");
        assert!(fresh.note_use(1050));
    }
}
