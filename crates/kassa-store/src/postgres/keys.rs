//! Accounts' API keys on PostgreSQL: the statements behind the key methods of the `Store`
//! (`api_key`, `add_api_key`, `api_keys`, `revoke_api_key`, `expire_api_key`, `record_key_use`,
//! `default_account`), each one statement outside any transaction.

use kassa_core::account::{Account, ApiKeyRecord, KeyHash};
use kassa_core::store::StoreError;
use kassa_core::time::Timestamp;
use tokio_postgres::Row;
use tokio_postgres::types::Type;

use super::sql::{self, Param, Query};

/// A key's columns, in [`key_row`]'s order.
macro_rules! key_columns {
    () => {
        "k.id, k.hash, k.account_id, k.last4, k.created, k.expires_at, k.revoked_at, k.last_used"
    };
}

fn corrupt(e: tokio_postgres::Error) -> StoreError {
    StoreError::Corrupt(format!("an API key row: {e}"))
}

pub(crate) fn key_row(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: row.try_get(0).map_err(corrupt)?,
        hash: KeyHash::from_stored(row.try_get(1).map_err(corrupt)?),
        account_id: row.try_get(2).map_err(corrupt)?,
        last4: row.try_get(3).map_err(corrupt)?,
        created: row.try_get(4).map_err(corrupt)?,
        expires_at: row.try_get(5).map_err(corrupt)?,
        revoked_at: row.try_get(6).map_err(corrupt)?,
        last_used: row.try_get(7).map_err(corrupt)?,
    })
}

/// The account in columns `from..from + 3` of `row`.
pub(crate) fn account_row(row: &Row, from: usize) -> Result<Account, StoreError> {
    let corrupt = |e: tokio_postgres::Error| StoreError::Corrupt(format!("an account row: {e}"));
    Ok(Account {
        id: row.try_get(from).map_err(corrupt)?,
        name: row.try_get(from + 1).map_err(corrupt)?,
        created: row.try_get(from + 2).map_err(corrupt)?,
    })
}

fn text(s: &str) -> (Param<'_>, Type) {
    (Param::Text(s), Type::TEXT)
}

/// A value a caller typed (an account's or a key's id): one with a NUL finds nothing.
fn lookup(s: &str) -> (Param<'_>, Type) {
    (sql::key(s), Type::TEXT)
}

fn int(i: i64) -> (Param<'static>, Type) {
    (Param::Int(i), Type::INT8)
}

fn opt_int(i: Option<i64>) -> (Param<'static>, Type) {
    (i.map_or(Param::Null, Param::Int), Type::INT8)
}

pub(crate) fn insert(key: &ApiKeyRecord) -> Query<'_> {
    Query::fixed(
        "INSERT INTO api_keys (id, hash, account_id, last4, created, expires_at, revoked_at, last_used) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            text(&key.id),
            text(key.hash.as_str()),
            text(&key.account_id),
            text(&key.last4),
            int(key.created),
            opt_int(key.expires_at),
            opt_int(key.revoked_at),
            opt_int(key.last_used),
        ],
    )
}

pub(crate) fn by_hash(hash: &KeyHash) -> Query<'_> {
    Query::fixed(
        concat!(
            "SELECT ",
            key_columns!(),
            ", a.id, a.name, a.created FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.hash = $1"
        ),
        vec![lookup(hash.as_str())],
    )
}

pub(crate) fn of_account(account: &str) -> Query<'_> {
    Query::fixed(
        concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys k WHERE k.account_id = $1 ORDER BY k.created, k.id"
        ),
        vec![lookup(account)],
    )
}

pub(crate) fn revoke<'a>(account: &'a str, id: &'a str, at: Timestamp) -> Query<'a> {
    Query::fixed(
        "UPDATE api_keys SET revoked_at = $3 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL",
        vec![lookup(account), lookup(id), int(at)],
    )
}

pub(crate) fn expire<'a>(account: &'a str, id: &'a str, at: Timestamp) -> Query<'a> {
    Query::fixed(
        "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at < $3 \
         THEN expires_at ELSE $3 END WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL",
        vec![lookup(account), lookup(id), int(at)],
    )
}

pub(crate) fn record_use(hash: &KeyHash, at: Timestamp) -> Query<'_> {
    Query::fixed(
        "UPDATE api_keys SET last_used = $2 WHERE hash = $1 AND (last_used IS NULL OR last_used < $2)",
        vec![lookup(hash.as_str()), int(at)],
    )
}

pub(crate) fn default_account() -> Query<'static> {
    Query::fixed("SELECT id, name, created FROM accounts ORDER BY created, id LIMIT 1", vec![])
}
