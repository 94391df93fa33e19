//! tokio-postgres errors as [`StoreError`]s.
//!
//! A message is built from the SQLSTATE, the severity and PostgreSQL's primary message only,
//! never from its `DETAIL`, which repeats the values of a key (`Key (account_id, id)=(…)`) and
//! could carry an email or a key hash into a log. Errors never include the database URL either.

use std::error::Error as _;

use kassa_core::store::{Constraint, StoreError};
use tokio_postgres::error::{DbError, SqlState};

use super::tls::{Tls, describe_failure, is_tls_failure};

/// The port's constraint behind a unique violation, from PostgreSQL's name for it.
fn conflict_name(constraint: &str) -> Option<Constraint> {
    match constraint {
        c if c == Constraint::ActivePromotionCode.name() => Some(Constraint::ActivePromotionCode),
        // The primary key of a record table (`(account_id, id)`), of `accounts` or of `api_keys`.
        c if c.ends_with("_pkey") => Some(Constraint::PrimaryKey),
        _ => None,
    }
}

/// Whether a server error means "not reachable or not answering now" rather than a fault in what
/// was asked: the connection failed, the server is shutting down or starting, out of
/// connections or resources, the statement was cancelled (a timeout), or the transaction lost a
/// deadlock or a serialization race and may simply be tried again.
fn is_transient(code: &SqlState) -> bool {
    let c = code.code();
    c.starts_with("08") // connection exception
        || c.starts_with("53") // insufficient resources: too many connections, disk full, memory
        || c.starts_with("58") // system error (I/O)
        || matches!(
            c,
            "57P01" // admin_shutdown (also pg_terminate_backend)
                | "57P02" // crash_shutdown
                | "57P03" // cannot_connect_now
                | "57P05" // idle_session_timeout
                | "57014" // query_canceled
                | "40001" // serialization_failure
                | "40P01" // deadlock_detected
                | "25P03" // idle_in_transaction_session_timeout
        )
}

fn describe(db: &DbError) -> String {
    format!("{} {}: {}", db.severity(), db.code().code(), db.message())
}

/// Whether the connection that produced `e` is unusable from now on.
pub(crate) fn is_connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.as_db_error() {
        Some(db) => {
            let c = db.code().code();
            c.starts_with("08")
                || c.starts_with("57P")
                || db.severity() == "FATAL"
                || db.severity() == "PANIC"
        }
        // An I/O failure (the socket broke, or a reply did not parse), a message out of turn or a
        // timeout: the stream cannot be trusted. tokio-postgres exposes these kinds only through
        // the error's source and its fixed messages.
        None => {
            e.source().is_some_and(|s| s.is::<std::io::Error>())
                || matches!(
                    e.to_string().as_str(),
                    "unexpected message from server" | "timeout waiting for server"
                )
        }
    }
}

/// Map an error from a statement: unique violations become `Conflict` by constraint name, lost or
/// refused connections and transient failures `Unavailable`, the rest `Backend`.
pub(crate) fn map(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION
            && let Some(name) = db.constraint().and_then(conflict_name)
        {
            return StoreError::Conflict(name);
        }
        return if is_transient(db.code()) || is_connection_lost(&e) {
            StoreError::Unavailable(describe(db))
        } else {
            StoreError::Backend(describe(db))
        };
    }
    if is_connection_lost(&e) {
        return StoreError::Unavailable(with_source(&e));
    }
    StoreError::Backend(with_source(&e))
}

/// Map an error from opening a connection: whatever the cause (refused, unknown host, timed out,
/// authentication, a database that does not exist or does not accept connections), the
/// database cannot be reached.
pub(crate) fn map_connect(e: tokio_postgres::Error, tls: &Tls) -> StoreError {
    let why = match e.as_db_error() {
        Some(db) => describe(db),
        None if is_tls_failure(&e) => describe_failure(&e, tls),
        None => with_source(&e),
    };
    StoreError::Unavailable(format!("cannot connect to PostgreSQL: {why}"))
}

/// tokio-postgres's own message ("error connecting to server") and its cause ("Connection
/// refused"), which names neither the URL nor its password.
fn with_source(e: &tokio_postgres::Error) -> String {
    match e.source() {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_conflicts() {
        assert_eq!(conflict_name("promotion_codes_active_code"), Some(Constraint::ActivePromotionCode));
        assert_eq!(conflict_name("products_pkey"), Some(Constraint::PrimaryKey));
        assert_eq!(conflict_name("accounts_pkey"), Some(Constraint::PrimaryKey));
        assert_eq!(conflict_name("api_keys_pkey"), Some(Constraint::PrimaryKey));
        assert_eq!(conflict_name("products_account_seq"), None);
    }

    #[test]
    fn transient_codes() {
        for code in [
            SqlState::CONNECTION_FAILURE,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::QUERY_CANCELED,
        ] {
            assert!(is_transient(&code), "{code:?}");
        }
        for code in [SqlState::UNIQUE_VIOLATION, SqlState::UNDEFINED_COLUMN, SqlState::NOT_NULL_VIOLATION] {
            assert!(!is_transient(&code), "{code:?}");
        }
    }
}
