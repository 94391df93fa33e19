//! The HTTP surface: the API at the root (SPEC §4), the same API under `/v1` with Stripe's paths
//! and statuses, the hosted pages, `/health`, and `/metrics` when asked for ([`metrics`]).
//!
//! One implementation serves both API trees: `/v1` differs only in the session path
//! (`/v1/checkout/sessions`), in answering 200 instead of 201 on create, and 404 instead of 405
//! for a method a route does not take.

pub mod api;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod pages;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kassa_core::store::StoreError;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use self::api::{catalog, events, sessions};
use self::error::ApiError;
use crate::state::AppState;

/// Every API route, with the checkout session collection at `sessions`.
fn api_routes(sessions_path: &str) -> Router<AppState> {
    let s = sessions_path;
    Router::new()
        .route(s, post(sessions::create).get(sessions::list))
        .route(&format!("{s}/{{id}}"), get(sessions::retrieve))
        .route(&format!("{s}/{{id}}/expire"), post(sessions::expire))
        .route(&format!("{s}/{{id}}/line_items"), get(sessions::line_items))
        .route("/test_helpers/customers/{id}/fund_cash_balance", post(api::payments::fund_cash_balance))
        .route("/products", post(catalog::create_product).get(catalog::list_products))
        .route("/products/{id}", get(catalog::get_product).post(catalog::update_product))
        .route("/prices", post(catalog::create_price).get(catalog::list_prices))
        .route("/prices/{id}", get(catalog::get_price).post(catalog::update_price))
        .route("/customers", post(catalog::create_customer).get(catalog::list_customers))
        .route("/customers/{id}", get(catalog::get_customer).post(catalog::update_customer))
        .route("/coupons", post(catalog::create_coupon).get(catalog::list_coupons))
        .route(
            "/coupons/{id}",
            get(catalog::get_coupon).post(catalog::update_coupon).delete(catalog::delete_coupon),
        )
        .route("/promotion_codes", post(catalog::create_promotion_code).get(catalog::list_promotion_codes))
        .route("/promotion_codes/{id}", get(catalog::get_promotion_code).post(catalog::update_promotion_code))
        .route("/payment_intents", get(api::payments::list_payment_intents))
        .route("/payment_intents/{id}", get(api::payments::get_payment_intent))
        .route("/payment_intents/{id}/cancel", post(api::payments::cancel_payment_intent))
        .route("/payment_methods", get(api::payments::list_payment_methods))
        .route("/payment_methods/{id}", get(api::payments::get_payment_method))
        .route("/subscriptions", get(api::payments::list_subscriptions))
        .route(
            "/subscriptions/{id}",
            get(api::payments::get_subscription)
                .post(api::billing::update_subscription)
                // Stripe's own cancel is `DELETE /v1/subscriptions/{id}`, which the SDKs call.
                .delete(api::billing::cancel_subscription),
        )
        .route("/subscriptions/{id}/cancel", post(api::billing::cancel_subscription))
        .route("/test_helpers/test_clocks", post(api::billing::create_clock).get(api::billing::list_clocks))
        .route(
            "/test_helpers/test_clocks/{id}",
            get(api::billing::get_clock).delete(api::billing::delete_clock),
        )
        .route("/test_helpers/test_clocks/{id}/advance", post(api::billing::advance_clock))
        .route("/invoices", get(api::payments::list_invoices))
        .route("/invoices/{id}", get(api::payments::get_invoice))
        .route("/events", get(events::list_events))
        .route("/events/{id}", get(events::get_event))
        .route("/events/{id}/resend", post(events::resend_event))
        .route("/webhook_endpoints", post(events::create_endpoint).get(events::list_endpoints))
        .route(
            "/webhook_endpoints/{id}",
            get(events::get_endpoint).post(events::update_endpoint).delete(events::delete_endpoint),
        )
        .route("/webhook_deliveries", get(events::list_deliveries))
        .route("/webhook_deliveries/{id}", get(events::get_delivery))
}

/// Stripe answers 200 where kassa's native API answers 201.
async fn stripe_status(mut resp: Response) -> Response {
    if resp.status() == StatusCode::CREATED {
        *resp.status_mut() = StatusCode::OK;
    }
    resp
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(api_routes("/checkout/session"))
        .nest("/v1", api_routes("/checkout/sessions").layer(map_response(stripe_status)))
        .route_layer(from_fn_with_state(state.clone(), middleware::api))
        .layer(CatchPanicLayer::custom(|_| ApiError::Panicked.into_response()));
    let pages = Router::new()
        .route("/pay/{id}", get(pages::show).post(pages::submit))
        .route("/pay/{id}/3ds", get(pages::three_ds).post(pages::three_ds_result))
        .route("/pay/{id}/paypal", get(pages::paypal).post(pages::paypal_decision))
        .route("/pay/{id}/quantities", post(pages::quantities))
        .route("/pay/{id}/promotion_code", post(pages::apply_code))
        .route("/pay/{id}/promotion_code/remove", post(pages::remove_code))
        .route_layer(from_fn_with_state(state.clone(), pages::same_origin))
        .layer(CatchPanicLayer::custom(|_| pages::panicked()))
        .route("/static/pay.css", get(pages::stylesheet))
        .route("/static/pay.js", get(pages::script));
    let mut root = Router::new().route("/health", get(health));
    if state.metrics_on_api {
        root = root.route("/metrics", get(metrics::for_operator));
    }
    root.merge(pages)
        .merge(api)
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn(middleware::request_context))
        .with_state(state)
}

/// `GET /health`: 200 while the database answers and takes writes, else 503 with a reason. The
/// store decides (on SQLite: its files are still there, writes are not failing, and after a quiet
/// spell a probe write commits); the reason is worded here, for anyone who can reach the server,
/// and the cause goes to the log.
async fn health(State(ctx): State<AppState>) -> Response {
    match ctx.store.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            let reason = match &e {
                StoreError::Lost(_) => {
                    "the database file was deleted or replaced while kassa was running: no write is \
                     accepted until kassa is restarted"
                }
                StoreError::Unavailable(_) => {
                    "the database cannot be reached, or does not take writes (a full disk, say); the \
                     log says which"
                }
                StoreError::Conflict(_)
                | StoreError::Unstorable(_)
                | StoreError::CursorNotFound(_)
                | StoreError::NotFound
                | StoreError::Corrupt(_)
                | StoreError::Backend(_) => "the database answered with an error; the log says which",
            };
            let body = json!({"status": "unavailable", "reason": reason});
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}

/// An unknown route: under the hosted pages' paths the 404 page, elsewhere Stripe's JSON error.
async fn unknown_route(method: Method, uri: OriginalUri) -> Response {
    if pages::is_page_path(uri.path()) {
        return pages::not_found();
    }
    ApiError::UnknownRoute { method: method.to_string(), path: uri.path().chars().take(200).collect() }
        .into_response()
}

/// A known path with a method it does not take: a 405 page on the hosted pages; 405 on the
/// native API; under `/v1` Stripe's 404 for an unrecognized URL, which the SDKs raise as their
/// invalid-request error.
async fn method_not_allowed(method: Method, uri: OriginalUri) -> Response {
    if pages::is_page_path(uri.path()) {
        return pages::method_not_allowed(&method);
    }
    let path: String = uri.path().chars().take(200).collect();
    if path.starts_with("/v1/") {
        return ApiError::UnknownRoute { method: method.to_string(), path }.into_response();
    }
    ApiError::MethodNotAllowed { method: method.to_string(), path }.into_response()
}

/// Why a request's body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than the route accepts (413).
    TooLarge,
    /// Not all there within the body-read timeout (408; see [`crate::server`]).
    TimedOut,
    /// The client broke it off or sent a malformed one (400).
    Unreadable,
}

/// A request's whole body, at most `limit` bytes: the one way the API and the pages read one.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let e = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => return Ok(bytes),
        Err(e) => e,
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return Err(BodyError::TooLarge);
        }
        if c.is::<tower_http::timeout::TimeoutError>() {
            return Err(BodyError::TimedOut);
        }
        cause = c.source();
    }
    Err(BodyError::Unreadable)
}
