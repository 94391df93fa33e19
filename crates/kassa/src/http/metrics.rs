//! `GET /metrics` ([`crate::metrics`]): in Prometheus' text format, where the operator asked for
//! it and nowhere else (a path kassa does not serve otherwise answers 404).
//!
//! - On the main listener (`--metrics`), only to a secret key of the **default account** (the
//!   operator's: the one `kassa serve` created first, or `KASSA_SECRET_KEY`'s), sent as for the
//!   API. The series are the whole server's, every account's work summed, so another account's
//!   key is refused (403), and no key at all is a 401: a server on the internet shows nothing
//!   to the internet.
//! - On an address of its own (`--metrics-listen`), to anyone who can reach that address, with
//!   no key: the usual arrangement for a Prometheus server on a private network or the same
//!   machine. Only `/metrics` is served there.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kassa_core::account::mask;

use super::error::{ApiError, error_response};
use super::middleware::presented_key;
use crate::service::accounts::{self, Auth};
use crate::state::AppState;

/// Prometheus' text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn exposition(ctx: &AppState) -> Response {
    let mut resp = crate::metrics::render(ctx).await.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp
}

/// `GET /metrics` on the main listener: the default account's key only.
pub async fn for_operator(State(ctx): State<AppState>, headers: HeaderMap) -> Response {
    match operator(&ctx, &headers).await {
        Ok(()) => exposition(&ctx).await,
        Err(e) => e,
    }
}

async fn operator(ctx: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let key = presented_key(headers).map_err(IntoResponse::into_response)?;
    let acct = match accounts::authenticate(ctx, &key).await.map_err(|e| ApiError::from(e).into_response())? {
        Auth::Account(acct) => acct,
        Auth::Unknown => {
            let message = format!("Invalid API Key provided: {}", mask(key.expose()));
            return Err(ApiError::Unauthorized(message).into_response());
        }
        Auth::Expired => return Err(ApiError::KeyExpired(mask(key.expose())).into_response()),
    };
    let default = ctx.store.default_account().await.map_err(|e| ApiError::from(e).into_response())?;
    if default.is_some_and(|d| d.id == acct.id) {
        return Ok(());
    }
    Err(error_response(
        StatusCode::FORBIDDEN,
        "invalid_request_error",
        Some("secret_key_required"),
        None,
        "The metrics cover the whole server: only a secret key of the default account may read them.",
    ))
}

/// `GET /metrics` on the metrics listener: no key.
async fn open(State(ctx): State<AppState>) -> Response {
    exposition(&ctx).await
}

/// The router of `--metrics-listen`: `/metrics`, and 404 for anything else.
pub fn own_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(open))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Only /metrics is served on this address.\n") })
        .with_state(state)
}
