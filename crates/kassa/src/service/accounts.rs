//! Accounts and keys: creating an account (CLI and first start), and authenticating a key.

use kassa_core::account::{Account, ApiKeyRecord, SecretKey};
use kassa_core::store::{Store, StoreError};
use kassa_core::time::Timestamp;

use super::{Acct, Result};
use crate::state::Ctx;

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

/// On start: if there is no account yet, create the default one. Returns the key when one was
/// generated (the caller prints it once) — `None` when accounts existed or the operator gave the key.
pub async fn ensure_default(
    store: &dyn Store,
    key: Option<SecretKey>,
    now: Timestamp,
) -> Result<DefaultAccount> {
    if store.count_accounts().await? > 0 {
        let known = match &key {
            Some(k) => store.account_by_key(&k.hash()).await?.is_some(),
            None => true,
        };
        return Ok(DefaultAccount::Existing { operator_key_known: known });
    }
    let generated = key.is_none();
    let key = key.unwrap_or_else(SecretKey::generate);
    let account = Account::new(DEFAULT_ACCOUNT_NAME, now);
    match store.create_account(&account, &ApiKeyRecord::new(&key, &account.id, now)).await {
        Ok(()) => Ok(DefaultAccount::Created { account, key, generated }),
        // Several nodes started at once on an empty PostgreSQL database with the same
        // `KASSA_SECRET_KEY`: another one created the account with this key a moment ago, and
        // that is the default account. (Nodes that each generate a key cannot tell; each makes an
        // account. The README says to set the key, or start one node first.)
        Err(StoreError::Conflict(_)) if !generated && store.account_by_key(&key.hash()).await?.is_some() => {
            Ok(DefaultAccount::Existing { operator_key_known: true })
        }
        Err(e) => Err(e.into()),
    }
}

pub enum DefaultAccount {
    Existing { operator_key_known: bool },
    Created { account: Account, key: SecretKey, generated: bool },
}

/// The account a presented key belongs to, through the per-node cache.
pub async fn authenticate(ctx: &Ctx, key: &SecretKey) -> Result<Option<Acct>> {
    let hash = key.hash();
    if let Some(a) = ctx.keys.get(&hash) {
        return Ok(Some(Acct { id: a.id, name: a.name }));
    }
    match ctx.store.account_by_key(&hash).await? {
        Some(a) => {
            ctx.keys.put(hash, a.clone());
            Ok(Some(Acct { id: a.id, name: a.name }))
        }
        None => Ok(None),
    }
}
