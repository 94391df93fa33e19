//! Every failure becomes Stripe's error body:
//! `{"error":{"type","code","message","param"}}` (`code` and `param` only where they apply), with
//! the status the API documents for it.
//! The mapping from each layer's error is exhaustive (no catch-all arm), so a new error variant
//! cannot slip through as a 500 by accident. A 500 logs its cause and tells the client nothing
//! internal.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kassa_core::store::StoreError;
use kassa_core::{Error as DomainError, Invalid};
use serde_json::json;

use crate::service::{self, idempotency::Refusal};

#[derive(Debug)]
pub enum ApiError {
    Service(service::Error),
    /// Bad input caught while decoding the request.
    Invalid(Invalid),
    Unauthorized(String),
    /// A rolled key past its expiry (the masked key): Stripe's `api_key_expired`.
    KeyExpired(String),
    PayloadTooLarge,
    /// The body was not all there within the body-read timeout; nothing was done.
    BodyTimedOut,
    UnsupportedMediaType(String),
    UnknownRoute {
        method: String,
        path: String,
    },
    MethodNotAllowed {
        method: String,
        path: String,
    },
    /// A handler panicked: a bug. The panic is logged where it happened; the client learns
    /// nothing internal.
    Panicked,
}

impl From<service::Error> for ApiError {
    fn from(e: service::Error) -> Self {
        Self::Service(e)
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::Invalid(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Service(e.into())
    }
}

/// A Stripe-shaped error response.
pub fn error_response(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
) -> Response {
    // `code` and `param` only where they apply; `decline_code` never does here (card errors
    // happen on the hosted page). Stripe leaves out what does not apply.
    let mut error = serde_json::Map::new();
    error.insert("type".to_owned(), json!(kind));
    if let Some(c) = code {
        error.insert("code".to_owned(), json!(c));
    }
    error.insert("message".to_owned(), json!(message));
    if let Some(p) = param {
        error.insert("param".to_owned(), json!(p));
    }
    let body = json!({ "error": error });
    let mut resp = (status, axum::Json(body)).into_response();
    if status.is_server_error() {
        resp.headers_mut().insert("Stripe-Should-Retry", HeaderValue::from_static("true"));
    }
    resp
}

fn invalid(status: StatusCode, i: &Invalid) -> Response {
    error_response(status, "invalid_request_error", Some(i.code.as_str()), i.param.as_deref(), &i.message)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        const INVALID: &str = "invalid_request_error";
        match self {
            Self::Invalid(i) => invalid(StatusCode::BAD_REQUEST, &i),
            Self::Unauthorized(message) => {
                let mut r = error_response(StatusCode::UNAUTHORIZED, INVALID, None, None, &message);
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"kassa\""));
                r
            }
            Self::KeyExpired(masked) => {
                let message = format!("Expired API Key provided: {masked}");
                let mut r = error_response(
                    StatusCode::UNAUTHORIZED,
                    INVALID,
                    Some("api_key_expired"),
                    None,
                    &message,
                );
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"kassa\""));
                r
            }
            Self::PayloadTooLarge => error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                INVALID,
                Some("request_too_large"),
                None,
                "The request body is larger than the 1 MB kassa accepts.",
            ),
            Self::BodyTimedOut => {
                let mut r = error_response(
                    StatusCode::REQUEST_TIMEOUT,
                    INVALID,
                    Some("request_timeout"),
                    None,
                    "The request body did not arrive in time, so nothing was done. Send the request again.",
                );
                // Nothing happened, so the SDKs may retry; the rest of the body is not read.
                r.headers_mut().insert("Stripe-Should-Retry", HeaderValue::from_static("true"));
                r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                r
            }
            Self::UnsupportedMediaType(ct) => error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                INVALID,
                Some("unsupported_content_type"),
                None,
                &format!(
                    "Unsupported Content-Type `{ct}`: send `application/x-www-form-urlencoded` or `application/json`."
                ),
            ),
            Self::UnknownRoute { method, path } => error_response(
                StatusCode::NOT_FOUND,
                INVALID,
                Some("resource_missing"),
                None,
                &format!("Unrecognized request URL ({method}: {path})."),
            ),
            Self::MethodNotAllowed { method, path } => error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                INVALID,
                None,
                None,
                &format!("Unrecognized request URL ({method}: {path}): this route does not take {method}."),
            ),
            Self::Panicked => {
                tracing::error!("a request handler panicked");
                internal_error()
            }
            Self::Service(e) => service_error(e),
        }
    }
}

fn service_error(e: service::Error) -> Response {
    const INVALID: &str = "invalid_request_error";
    match e {
        service::Error::Domain(DomainError::Invalid(i)) => invalid(StatusCode::BAD_REQUEST, &i),
        service::Error::Domain(DomainError::NotFound { object, id }) => error_response(
            StatusCode::NOT_FOUND,
            INVALID,
            Some("resource_missing"),
            Some("id"),
            &format!("No such {object}: '{}'", kassa_core::error::shown(&id)),
        ),
        service::Error::Domain(DomainError::State(message)) => {
            error_response(StatusCode::BAD_REQUEST, INVALID, None, None, &message)
        }
        service::Error::Card(e) => {
            let mut error = serde_json::Map::new();
            error.insert("type".to_owned(), json!("card_error"));
            error.insert("code".to_owned(), json!(e.code));
            if let Some(d) = &e.decline_code {
                error.insert("decline_code".to_owned(), json!(d));
            }
            error.insert("message".to_owned(), json!(e.message));
            (StatusCode::PAYMENT_REQUIRED, axum::Json(json!({ "error": error }))).into_response()
        }
        service::Error::Idempotency(r) => {
            let message = r.to_string();
            match r {
                Refusal::Mismatch { .. } => {
                    error_response(StatusCode::BAD_REQUEST, "idempotency_error", None, None, &message)
                }
                Refusal::InFlight { .. } => error_response(
                    StatusCode::CONFLICT,
                    "idempotency_error",
                    Some("idempotency_key_in_use"),
                    None,
                    &message,
                ),
                Refusal::TooLong => error_response(
                    StatusCode::BAD_REQUEST,
                    INVALID,
                    Some("parameter_invalid"),
                    Some("Idempotency-Key"),
                    &message,
                ),
            }
        }
        service::Error::Store(s) => store_error(s),
    }
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::Unstorable(message) => error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid"),
            None,
            &message,
        ),
        StoreError::Unavailable(cause) => {
            tracing::error!(%cause, "database unavailable");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "api_error",
                None,
                None,
                "The database is unavailable right now. Try again in a moment.",
            )
        }
        StoreError::Lost(message) => {
            tracing::error!(%message, "a write was refused: the database is lost");
            // For the merchant's own backend: it names the file, so that whoever runs kassa
            // knows what happened and what to restore.
            error_response(StatusCode::SERVICE_UNAVAILABLE, "api_error", None, None, &message)
        }
        StoreError::Conflict(constraint) => {
            tracing::warn!(constraint = constraint.name(), "unexpected uniqueness conflict");
            error_response(
                StatusCode::CONFLICT,
                "invalid_request_error",
                None,
                None,
                "The request conflicts with another request. Try again.",
            )
        }
        StoreError::CursorNotFound(id) => error_response(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("resource_missing"),
            None,
            &format!("No such object: '{}'", kassa_core::error::shown(&id)),
        ),
        StoreError::NotFound => error_response(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
            Some("id"),
            "No such object.",
        ),
        StoreError::Corrupt(cause) | StoreError::Backend(cause) => {
            tracing::error!(%cause, "internal error");
            internal_error()
        }
    }
}

/// A 500 that tells the client nothing internal (the cause is logged where it is known).
fn internal_error() -> Response {
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "api_error",
        None,
        None,
        "An internal error occurred. It has been logged; the request may be retried.",
    )
}
