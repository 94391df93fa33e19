//! `Idempotency-Key`: the first response to a key is kept for 24 hours and replayed for
//! the same request; the same key with other parameters is refused; a retry while the first request
//! is still running gets a 409.
//!
//! A key is claimed in its own transaction before the request runs, with a lease: if the process
//! dies mid-request, a retry after the lease takes the key over instead of being refused forever.
//! Responses with a 5xx status, or a 409/429 refusal, are not kept — the key is released so that a
//! retry runs the request again. Everything else, including 4xx validation errors, is kept and
//! replayed.

use std::fmt;

use kassa_core::store::{
    Cmp, Column, Filter, IdempotencyRecord, Kind, StoreError, StoredResponse, TxExt, transact,
};
use kassa_core::time::DAY;
use sha2::{Digest, Sha256};

use super::{Acct, Error, Result};
use crate::state::Ctx;

pub const MAX_KEY_LEN: usize = 255;
/// How long a running request holds its key.
pub const LEASE_SECONDS: i64 = 60;
/// How long a response is kept.
pub const RETENTION_SECONDS: i64 = DAY;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The key was first used with other parameters.
    Mismatch {
        key: String,
    },
    /// The first request with this key has not finished.
    InFlight {
        key: String,
    },
    TooLong,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mismatch { key } => write!(
                f,
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            ),
            Self::InFlight { key } => write!(
                f,
                "There is currently another in-progress request using this Stripe-compatible idempotent key '{key}'. Please try again later."
            ),
            Self::TooLong => write!(f, "Idempotency keys may be at most {MAX_KEY_LEN} characters long."),
        }
    }
}

pub enum Begin {
    /// The request should run; call [`finish`] or [`release`] afterwards.
    Run,
    /// The request already ran: answer this.
    Replay(StoredResponse),
}

/// A digest of what makes two requests "the same": method, path and decoded parameters (keys
/// sorted, so the order in which a client wrote them does not matter).
pub fn fingerprint(method: &str, path: &str, params: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(canonical(params).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` as JSON with every object's keys sorted, so that key order never changes a fingerprint.
fn canonical(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

pub async fn begin(ctx: &Ctx, acct: &Acct, key: &str, fingerprint: String) -> Result<Begin> {
    if key.chars().count() > MAX_KEY_LEN {
        return Err(Error::Idempotency(Refusal::TooLong));
    }
    let now = ctx.now();
    let account = acct.id.clone();
    let owned = key.to_owned();
    let outcome = transact(ctx.store.as_ref(), move |tx| {
        let fresh = IdempotencyRecord {
            id: owned.clone(),
            created: now,
            fingerprint: fingerprint.clone(),
            response: None,
            locked_until: now + LEASE_SECONDS,
        };
        match tx.load::<IdempotencyRecord>(&account, &owned)? {
            None => {
                tx.put_new(&account, &fresh)?;
                Ok(Ok(Begin::Run))
            }
            Some(old) if old.created + RETENTION_SECONDS <= now => {
                // Past retention: the key is new again.
                tx.put(&account, &fresh)?;
                Ok(Ok(Begin::Run))
            }
            Some(old) if old.fingerprint != fingerprint => Ok(Err(Refusal::Mismatch { key: owned })),
            Some(IdempotencyRecord { response: Some(r), .. }) => Ok(Ok(Begin::Replay(r))),
            Some(old) if old.locked_until > now => Ok(Err(Refusal::InFlight { key: owned })),
            Some(old) => {
                // The first request's process died holding the key: take it over.
                tx.put(&account, &IdempotencyRecord { locked_until: now + LEASE_SECONDS, ..old })?;
                Ok(Ok(Begin::Run))
            }
        }
    })
    .await;
    match outcome {
        Ok(Ok(begin)) => Ok(begin),
        Ok(Err(refusal)) => Err(Error::Idempotency(refusal)),
        // Another process inserted the key between our read and our insert.
        Err(StoreError::Conflict(_)) => Err(Error::Idempotency(Refusal::InFlight { key: key.to_owned() })),
        Err(e) => Err(e.into()),
    }
}

/// Keep the response of the request that held `key`.
pub async fn finish(ctx: &Ctx, acct: &Acct, key: &str, response: StoredResponse) -> Result<()> {
    let account = acct.id.clone();
    let key = key.to_owned();
    transact(ctx.store.as_ref(), move |tx| {
        if let Some(mut rec) = tx.load::<IdempotencyRecord>(&account, &key)? {
            rec.response = Some(response);
            tx.put(&account, &rec)?;
        }
        Ok(())
    })
    .await?;
    Ok(())
}

/// Forget `key`, so that a retry runs the request again.
pub async fn release(ctx: &Ctx, acct: &Acct, key: &str) -> Result<()> {
    let account = acct.id.clone();
    let key = key.to_owned();
    transact(ctx.store.as_ref(), move |tx| tx.delete(&account, Kind::IdempotencyKey, &key)).await?;
    Ok(())
}

/// Delete keys past retention; returns how many.
pub async fn purge(ctx: &Ctx) -> Result<u64> {
    let cutoff = ctx.now() - RETENTION_SECONDS;
    let n = transact(ctx.store.as_ref(), move |tx| {
        tx.delete_where(Kind::IdempotencyKey, &[Filter::Cmp(Column::Created, Cmp::Lte, cutoff)])
    })
    .await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a = super::fingerprint("POST", "/x", &json!({"b": 1, "a": {"d": [1, 2], "c": "x"}}));
        let b = super::fingerprint("POST", "/x", &json!({"a": {"c": "x", "d": [1, 2]}, "b": 1}));
        let c = super::fingerprint("POST", "/x", &json!({"a": {"c": "x", "d": [2, 1]}, "b": 1}));
        let d = super::fingerprint("POST", "/y", &json!({"b": 1, "a": {"d": [1, 2], "c": "x"}}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
