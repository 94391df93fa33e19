//! rusqlite errors as [`StoreError`]s.
//!
//! SQLite's messages name tables, columns and constraints but never the values bound to a
//! statement, and kassa binds every value, so nothing here can echo a secret (an API key hash, an
//! email) into a log or a response.

use kassa_core::store::{Constraint, StoreError};
use rusqlite::ErrorCode;
use rusqlite::ffi;

/// The name of the constraint behind a unique violation, from SQLite's message
/// (`UNIQUE constraint failed: promotion_codes.account_id, promotion_codes.code`). SQLite names the
/// columns of a plain unique index, and the index itself only when it is on expressions, so both
/// are recognised.
fn conflict_name(message: &str) -> Option<Constraint> {
    let columns = message.strip_prefix("UNIQUE constraint failed: ")?;
    if columns == "promotion_codes.account_id, promotion_codes.code"
        || columns.contains(Constraint::ActivePromotionCode.name())
    {
        return Some(Constraint::ActivePromotionCode);
    }
    // `(account_id, id)` of a record table (`(id, account_id)` of checkout sessions), or the key of
    // `accounts` / `api_keys`.
    if columns.ends_with(".id")
        || columns.ends_with(".id, checkout_sessions.account_id")
        || columns == "api_keys.hash"
    {
        return Some(Constraint::PrimaryKey);
    }
    None
}

/// Map a rusqlite error: unique violations become `Conflict` by constraint name, a busy or
/// failing database `Unavailable`, undecodable data `Corrupt`, the rest `Backend`.
pub(crate) fn map(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(err, message) => match err.code {
            ErrorCode::ConstraintViolation
                if err.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                    || err.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                match message.as_deref().and_then(conflict_name) {
                    Some(name) => StoreError::Conflict(name),
                    None => StoreError::Backend(e.to_string()),
                }
            }
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::NoLargeFileSupport
            | ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly => StoreError::Unavailable(e.to_string()),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::Utf8Error(..) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_conflicts() {
        assert_eq!(
            conflict_name("UNIQUE constraint failed: promotion_codes.account_id, promotion_codes.code"),
            Some(Constraint::ActivePromotionCode)
        );
        assert_eq!(
            conflict_name("UNIQUE constraint failed: index 'promotion_codes_active_code'"),
            Some(Constraint::ActivePromotionCode)
        );
        assert_eq!(
            conflict_name("UNIQUE constraint failed: products.account_id, products.id"),
            Some(Constraint::PrimaryKey)
        );
        assert_eq!(
            conflict_name("UNIQUE constraint failed: checkout_sessions.id, checkout_sessions.account_id"),
            Some(Constraint::PrimaryKey)
        );
        assert_eq!(conflict_name("UNIQUE constraint failed: accounts.id"), Some(Constraint::PrimaryKey));
        assert_eq!(conflict_name("UNIQUE constraint failed: api_keys.hash"), Some(Constraint::PrimaryKey));
        assert_eq!(conflict_name("UNIQUE constraint failed: products.seq"), None);
        assert_eq!(conflict_name("NOT NULL constraint failed: products.active"), None);
    }

    #[test]
    fn maps_busy_to_unavailable() {
        let e = rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        assert!(matches!(map(e), StoreError::Unavailable(_)));
        let e = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_CORRUPT), None);
        assert!(matches!(map(e), StoreError::Corrupt(_)));
        let e = rusqlite::Error::InvalidColumnType(3, "created".into(), rusqlite::types::Type::Text);
        assert!(matches!(map(e), StoreError::Corrupt(_)));
    }
}
