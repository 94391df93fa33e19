//! Accounts' API keys on SQLite: the statements behind the key methods of the `Store`
//! (`api_key`, `add_api_key`, `api_keys`, `revoke_api_key`, `expire_api_key`, `record_key_use`,
//! `default_account`). Reads run on a reader's connection, writes on the writer's.

use kassa_core::account::{Account, ApiKeyRecord, KeyHash};
use kassa_core::store::StoreError;
use kassa_core::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::error::map;

/// A key's columns, in [`key_row`]'s order.
macro_rules! key_columns {
    () => {
        "k.id, k.hash, k.account_id, k.last4, k.created, k.expires_at, k.revoked_at, k.last_used"
    };
}

fn key_row(r: &Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: r.get(0)?,
        hash: KeyHash::from_stored(r.get(1)?),
        account_id: r.get(2)?,
        last4: r.get(3)?,
        created: r.get(4)?,
        expires_at: r.get(5)?,
        revoked_at: r.get(6)?,
        last_used: r.get(7)?,
    })
}

pub(crate) fn insert(conn: &Connection, key: &ApiKeyRecord) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO api_keys (id, hash, account_id, last4, created, expires_at, revoked_at, last_used) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            key.id,
            key.hash.as_str(),
            key.account_id,
            key.last4,
            key.created,
            key.expires_at,
            key.revoked_at,
            key.last_used
        ])
    })
    .map(drop)
    .map_err(map)
}

pub(crate) fn by_hash(
    conn: &Connection,
    hash: &KeyHash,
) -> Result<Option<(ApiKeyRecord, Account)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(concat!(
            "SELECT ",
            key_columns!(),
            ", a.id, a.name, a.created FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.hash = ?1"
        ))
        .map_err(map)?;
    stmt.query_row([hash.as_str()], |r| {
        Ok((key_row(r)?, Account { id: r.get(8)?, name: r.get(9)?, created: r.get(10)? }))
    })
    .optional()
    .map_err(map)
}

pub(crate) fn of_account(conn: &Connection, account: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys k WHERE k.account_id = ?1 ORDER BY k.created, k.id"
        ))
        .map_err(map)?;
    let rows = stmt.query_map([account], key_row).map_err(map)?;
    rows.collect::<Result<_, _>>().map_err(map)
}

pub(crate) fn revoke(conn: &Connection, account: &str, id: &str, at: Timestamp) -> Result<bool, StoreError> {
    conn.prepare_cached(
        "UPDATE api_keys SET revoked_at = ?3 WHERE account_id = ?1 AND id = ?2 AND revoked_at IS NULL",
    )
    .and_then(|mut s| s.execute(params![account, id, at]))
    .map(|n| n > 0)
    .map_err(map)
}

pub(crate) fn expire(conn: &Connection, account: &str, id: &str, at: Timestamp) -> Result<bool, StoreError> {
    conn.prepare_cached(
        "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at < ?3 \
         THEN expires_at ELSE ?3 END WHERE account_id = ?1 AND id = ?2 AND revoked_at IS NULL",
    )
    .and_then(|mut s| s.execute(params![account, id, at]))
    .map(|n| n > 0)
    .map_err(map)
}

pub(crate) fn record_use(conn: &Connection, hash: &KeyHash, at: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE api_keys SET last_used = ?2 WHERE hash = ?1 AND (last_used IS NULL OR last_used < ?2)",
    )
    .and_then(|mut s| s.execute(params![hash.as_str(), at]))
    .map(drop)
    .map_err(map)
}

pub(crate) fn default_account(conn: &Connection) -> Result<Option<Account>, StoreError> {
    conn.prepare_cached("SELECT id, name, created FROM accounts ORDER BY created, id LIMIT 1")
        .and_then(|mut s| {
            s.query_row([], |r| Ok(Account { id: r.get(0)?, name: r.get(1)?, created: r.get(2)? })).optional()
        })
        .map_err(map)
}
