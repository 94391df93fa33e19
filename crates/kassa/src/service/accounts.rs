//! Accounts and keys: creating an account (CLI and first start), the operator's key on start,
//! authenticating a key, and managing an account's keys (`kassa accounts keys`).
//!
//! An account may hold several keys. A key is active until it is revoked (then it is refused as
//! unknown, as Stripe refuses a deleted key) or until it expires (a rolled key: refused with
//! Stripe's `api_key_expired`). Each node caches active keys for
//! [`KEY_CACHE_SECONDS`](crate::state::KEY_CACHE_SECONDS), so a revocation reaches every node
//! within that long; expiry is checked on every request. A key's last use is written down at
//! most once a minute per key and node ([`LAST_USE_EVERY`](kassa_core::account::LAST_USE_EVERY)),
//! off the request's path.

use kassa_core::account::{Account, ApiKeyRecord, KeyState, SecretKey};
use kassa_core::store::{Store, StoreError};
use kassa_core::time::Timestamp;

use super::{Acct, Result};
use crate::state::{CachedKey, Ctx};

/// The name of the account `kassa serve` creates on an empty database.
pub const DEFAULT_ACCOUNT_NAME: &str = "kassa test merchant";

/// Create an account with a new key (or `key`, when the operator supplied one).
pub async fn create(
    store: &dyn Store,
    name: &str,
    key: Option<SecretKey>,
    now: Timestamp,
) -> Result<(Account, SecretKey)> {
    let account = Account::new(name, now);
    let key = key.unwrap_or_else(SecretKey::generate);
    store.create_account(&account, &ApiKeyRecord::new(&key, &account.id, now)).await?;
    Ok((account, key))
}

/// On start: if there is no account yet, create the default one. With accounts there, the
/// operator's key (`KASSA_SECRET_KEY`) is made a key of the default account if the database does
/// not know it yet, so that a CI job's environment always works; a key it knows is left as it is.
pub async fn ensure_default(
    store: &dyn Store,
    key: Option<SecretKey>,
    now: Timestamp,
) -> Result<DefaultAccount> {
    if let Some(default) = store.default_account().await? {
        let operator_key = match &key {
            Some(k) => operator_key(store, &default, k, now).await?,
            None => OperatorKey::NotSet,
        };
        return Ok(DefaultAccount::Existing { operator_key });
    }
    let generated = key.is_none();
    let key = key.unwrap_or_else(SecretKey::generate);
    let account = Account::new(DEFAULT_ACCOUNT_NAME, now);
    match store.create_account(&account, &ApiKeyRecord::new(&key, &account.id, now)).await {
        Ok(()) => Ok(DefaultAccount::Created { account, key, generated }),
        // Several nodes started at once on an empty PostgreSQL database with the same
        // `KASSA_SECRET_KEY`: another one created the account with this key a moment ago, and
        // that is the default account. (Nodes that each generate a key cannot tell; each makes an
        // account. docs/operations.md says to set the key, or start one node first.)
        Err(StoreError::Conflict(_)) if !generated && store.account_by_key(&key.hash()).await?.is_some() => {
            Ok(DefaultAccount::Existing { operator_key: OperatorKey::Known })
        }
        Err(e) => Err(e.into()),
    }
}

/// What becomes of the operator's key on a database that has accounts.
async fn operator_key(
    store: &dyn Store,
    default: &Account,
    key: &SecretKey,
    now: Timestamp,
) -> Result<OperatorKey> {
    if let Some((record, _)) = store.api_key(&key.hash()).await? {
        return Ok(match record.state(now) {
            KeyState::Active => OperatorKey::Known,
            state => OperatorKey::Unusable { key: record, state },
        });
    }
    let record = ApiKeyRecord::new(key, &default.id, now);
    match store.add_api_key(&record).await {
        Ok(()) => Ok(OperatorKey::Added { account: default.clone(), key: record }),
        // Another node starting with the same key added it a moment ago.
        Err(StoreError::Conflict(_)) => Ok(OperatorKey::Known),
        Err(e) => Err(e.into()),
    }
}

pub enum DefaultAccount {
    Existing { operator_key: OperatorKey },
    Created { account: Account, key: SecretKey, generated: bool },
}

/// The operator's key (`KASSA_SECRET_KEY`) on a database that already has accounts.
pub enum OperatorKey {
    /// None was given.
    NotSet,
    /// An active key of some account already.
    Known,
    /// Unknown until now: added to the default account (logged once, masked).
    Added { account: Account, key: ApiKeyRecord },
    /// A key of this database that was revoked or has expired: it will not authenticate.
    Unusable { key: ApiKeyRecord, state: KeyState },
}

/// What a presented key opens.
#[derive(Debug)]
pub enum Auth {
    Account(Acct),
    /// No such key, or a revoked one.
    Unknown,
    /// A rolled key past its expiry.
    Expired,
}

/// Authenticate a presented key, through the per-node cache.
pub async fn authenticate(ctx: &Ctx, key: &SecretKey) -> Result<Auth> {
    let hash = key.hash();
    let now = ctx.now();
    let cached = match ctx.keys.get(&hash, now) {
        Some(cached) => cached,
        None => match ctx.store.api_key(&hash).await? {
            None => return Ok(Auth::Unknown),
            Some((record, account)) => match record.state(now) {
                KeyState::Revoked => return Ok(Auth::Unknown),
                KeyState::Expired => return Ok(Auth::Expired),
                KeyState::Active => ctx.keys.put(hash.clone(), CachedKey::new(&record, account, now)),
            },
        },
    };
    if cached.expires_at.is_some_and(|at| at <= now) {
        return Ok(Auth::Expired);
    }
    if cached.note_use(now) {
        // Off the request's path: a lost write only makes `last used` a minute staler.
        let store = ctx.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.record_key_use(&hash, now).await {
                tracing::warn!(error = %e, "could not record a key's last use");
            }
        });
    }
    let account = &cached.account;
    Ok(Auth::Account(Acct { id: account.id.clone(), name: account.name.clone() }))
}

/// Why a key could not be managed (`kassa accounts keys`).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no account {0} in this database")]
    NoAccount(String),
    #[error("this database has no account yet: `kassa serve` or `kassa accounts create` makes one")]
    NoAccounts,
    #[error("account {account} has no key {key} that is not revoked (see `kassa accounts keys list`)")]
    NoKey { account: String, key: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The account `--account` names, or the default account.
pub async fn account_or_default(store: &dyn Store, id: Option<&str>) -> Result<Account, KeyError> {
    match id {
        Some(id) => store.get_account(id).await?.ok_or_else(|| KeyError::NoAccount(id.to_owned())),
        None => store.default_account().await?.ok_or(KeyError::NoAccounts),
    }
}

/// A new key for `account`. Each key of `roll` (the account's, not revoked) is rolled: it keeps
/// working until `rolled_until`, then is refused as expired (sooner if it was to expire sooner).
/// The keys are checked before anything is written. Returns the new key and the rolled ones as
/// they now are.
pub async fn create_key(
    store: &dyn Store,
    account: &Account,
    roll: &[String],
    rolled_until: Timestamp,
    now: Timestamp,
) -> Result<(SecretKey, ApiKeyRecord, Vec<ApiKeyRecord>), KeyError> {
    let keys = store.api_keys(&account.id).await?;
    for id in roll {
        if !keys.iter().any(|k| &k.id == id && k.revoked_at.is_none()) {
            return Err(KeyError::NoKey { account: account.id.clone(), key: id.clone() });
        }
    }
    let key = SecretKey::generate();
    let record = ApiKeyRecord::new(&key, &account.id, now);
    store.add_api_key(&record).await?;
    for id in roll {
        if !store.expire_api_key(&account.id, id, rolled_until).await? {
            return Err(KeyError::NoKey { account: account.id.clone(), key: id.clone() });
        }
    }
    let rolled = store.api_keys(&account.id).await?.into_iter().filter(|k| roll.contains(&k.id)).collect();
    Ok((key, record, rolled))
}

/// Revoke the account's key `id`; returns it as it now is.
pub async fn revoke_key(
    store: &dyn Store,
    account: &Account,
    id: &str,
    now: Timestamp,
) -> Result<ApiKeyRecord, KeyError> {
    let no_key = || KeyError::NoKey { account: account.id.clone(), key: id.to_owned() };
    if !store.revoke_api_key(&account.id, id, now).await? {
        return Err(no_key());
    }
    store.api_keys(&account.id).await?.into_iter().find(|k| k.id == id).ok_or_else(no_key)
}
