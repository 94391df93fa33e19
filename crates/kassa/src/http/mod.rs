//! The HTTP surface: the API at the root, the same API under `/v1` with Stripe's paths
//! and statuses, the hosted pages, `/health`, and `/metrics` when asked for ([`metrics`]).
//!
//! One implementation serves both API trees: `/v1` differs only in the session path
//! (`/v1/checkout/sessions`), in answering 200 instead of 201 on create, and 404 instead of 405
//! for a method a route does not take.
//!
//! Both trees come from one route table ([`api_routes`], see [`routes`]), which also writes the
//! OpenAPI document served at `GET /openapi.json` and rendered at `GET /docs` ([`openapi`]).

pub mod api;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod invoice_page;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pages;
pub mod portal;
pub mod routes;

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
use self::routes::{Answer, Table};
use crate::state::AppState;

/// Every API route, with the checkout session collection at `sessions`: the router and the
/// operations `GET /openapi.json` documents, from one table ([`routes`]).
pub fn api_routes(sessions_path: &str) -> Table {
    use self::api::{billing, charges, payments, portal, shipping, subscriptions as subs};
    use Answer::{Created, Deleted, List, Object};
    let s = sessions_path;
    Table::new()
        .post(s, sessions::create, "Create a Checkout Session", Created("checkout.session"))
        .get(s, sessions::list, "List Checkout Sessions", List("checkout.session"))
        .get(
            &format!("{s}/{{id}}"),
            sessions::retrieve,
            "Retrieve a Checkout Session",
            Object("checkout.session"),
        )
        .post(
            &format!("{s}/{{id}}"),
            sessions::update,
            "Update a Checkout Session",
            Object("checkout.session"),
        )
        .post(
            &format!("{s}/{{id}}/expire"),
            sessions::expire,
            "Expire a Checkout Session",
            Object("checkout.session"),
        )
        .get(
            &format!("{s}/{{id}}/line_items"),
            sessions::line_items,
            "A Checkout Session's line items",
            List("item"),
        )
        .post(
            "/test_helpers/customers/{id}/fund_cash_balance",
            payments::fund_cash_balance,
            "Fund a customer's cash balance (test helper)",
            Object("customer_cash_balance_transaction"),
        )
        .post("/products", catalog::create_product, "Create a product", Created("product"))
        .get("/products", catalog::list_products, "List products", List("product"))
        .get("/products/{id}", catalog::get_product, "Retrieve a product", Object("product"))
        .post("/products/{id}", catalog::update_product, "Update a product", Object("product"))
        .post("/prices", catalog::create_price, "Create a price", Created("price"))
        .get("/prices", catalog::list_prices, "List prices", List("price"))
        .get("/prices/{id}", catalog::get_price, "Retrieve a price", Object("price"))
        .post("/prices/{id}", catalog::update_price, "Update a price", Object("price"))
        .post("/customers", catalog::create_customer, "Create a customer", Created("customer"))
        .get("/customers", catalog::list_customers, "List customers", List("customer"))
        .get("/customers/{id}", catalog::get_customer, "Retrieve a customer", Object("customer"))
        .post("/customers/{id}", catalog::update_customer, "Update a customer", Object("customer"))
        .post(
            "/customers/{id}/tax_ids",
            catalog::create_tax_id,
            "Create a customer's tax id",
            Created("tax_id"),
        )
        .get("/customers/{id}/tax_ids", catalog::list_tax_ids, "List a customer's tax ids", List("tax_id"))
        .get(
            "/customers/{id}/tax_ids/{tax_id}",
            catalog::get_tax_id,
            "Retrieve a customer's tax id",
            Object("tax_id"),
        )
        .delete(
            "/customers/{id}/tax_ids/{tax_id}",
            catalog::delete_tax_id,
            "Delete a customer's tax id",
            Deleted("tax_id"),
        )
        .post("/coupons", catalog::create_coupon, "Create a coupon", Created("coupon"))
        .get("/coupons", catalog::list_coupons, "List coupons", List("coupon"))
        .get("/coupons/{id}", catalog::get_coupon, "Retrieve a coupon", Object("coupon"))
        .post("/coupons/{id}", catalog::update_coupon, "Update a coupon", Object("coupon"))
        .delete("/coupons/{id}", catalog::delete_coupon, "Delete a coupon", Deleted("coupon"))
        .post("/tax_rates", catalog::create_tax_rate, "Create a tax rate", Created("tax_rate"))
        .get("/tax_rates", catalog::list_tax_rates, "List tax rates", List("tax_rate"))
        .get("/tax_rates/{id}", catalog::get_tax_rate, "Retrieve a tax rate", Object("tax_rate"))
        .post("/tax_rates/{id}", catalog::update_tax_rate, "Update a tax rate", Object("tax_rate"))
        .post(
            "/promotion_codes",
            catalog::create_promotion_code,
            "Create a promotion code",
            Created("promotion_code"),
        )
        .get(
            "/promotion_codes",
            catalog::list_promotion_codes,
            "List promotion codes",
            List("promotion_code"),
        )
        .get(
            "/promotion_codes/{id}",
            catalog::get_promotion_code,
            "Retrieve a promotion code",
            Object("promotion_code"),
        )
        .post(
            "/promotion_codes/{id}",
            catalog::update_promotion_code,
            "Update a promotion code",
            Object("promotion_code"),
        )
        .get(
            "/payment_intents",
            payments::list_payment_intents,
            "List payment intents",
            List("payment_intent"),
        )
        .get(
            "/payment_intents/{id}",
            payments::get_payment_intent,
            "Retrieve a payment intent",
            Object("payment_intent"),
        )
        .post(
            "/payment_intents/{id}/cancel",
            payments::cancel_payment_intent,
            "Cancel a payment intent",
            Object("payment_intent"),
        )
        .post(
            "/payment_intents/{id}/capture",
            payments::capture_payment_intent,
            "Capture a payment intent",
            Object("payment_intent"),
        )
        .get("/setup_intents", payments::list_setup_intents, "List setup intents", List("setup_intent"))
        .get(
            "/setup_intents/{id}",
            payments::get_setup_intent,
            "Retrieve a setup intent",
            Object("setup_intent"),
        )
        .get(
            "/payment_methods",
            payments::list_payment_methods,
            "List payment methods",
            List("payment_method"),
        )
        .get(
            "/payment_methods/{id}",
            payments::get_payment_method,
            "Retrieve a payment method",
            Object("payment_method"),
        )
        .post("/subscriptions", subs::create_subscription, "Create a subscription", Created("subscription"))
        .get("/subscriptions", payments::list_subscriptions, "List subscriptions", List("subscription"))
        .get(
            "/subscriptions/{id}",
            payments::get_subscription,
            "Retrieve a subscription",
            Object("subscription"),
        )
        .post(
            "/subscriptions/{id}",
            billing::update_subscription,
            "Update a subscription",
            Object("subscription"),
        )
        // Stripe's own cancel is `DELETE /v1/subscriptions/{id}`, which the SDKs call.
        .delete(
            "/subscriptions/{id}",
            billing::cancel_subscription,
            "Cancel a subscription",
            Object("subscription"),
        )
        .post(
            "/subscriptions/{id}/cancel",
            billing::cancel_subscription,
            "Cancel a subscription",
            Object("subscription"),
        )
        .post(
            "/subscriptions/{id}/resume",
            subs::resume_subscription,
            "Resume a paused subscription",
            Object("subscription"),
        )
        .get(
            "/subscription_items",
            subs::list_subscription_items,
            "List a subscription's items",
            List("subscription_item"),
        )
        .get(
            "/subscription_items/{id}",
            subs::get_subscription_item,
            "Retrieve a subscription item",
            Object("subscription_item"),
        )
        .post(
            "/subscription_items/{id}",
            subs::update_subscription_item,
            "Update a subscription item",
            Object("subscription_item"),
        )
        .post("/invoiceitems", subs::create_invoice_item, "Create an invoice item", Created("invoiceitem"))
        .get("/invoiceitems", subs::list_invoice_items, "List invoice items", List("invoiceitem"))
        .get("/invoiceitems/{id}", subs::get_invoice_item, "Retrieve an invoice item", Object("invoiceitem"))
        .post(
            "/invoiceitems/{id}",
            subs::update_invoice_item,
            "Update a pending invoice item",
            Object("invoiceitem"),
        )
        .delete(
            "/invoiceitems/{id}",
            subs::delete_invoice_item,
            "Delete a pending invoice item",
            Deleted("invoiceitem"),
        )
        .post(
            "/test_helpers/test_clocks",
            billing::create_clock,
            "Create a test clock",
            Created("test_helpers.test_clock"),
        )
        .get(
            "/test_helpers/test_clocks",
            billing::list_clocks,
            "List test clocks",
            List("test_helpers.test_clock"),
        )
        .get(
            "/test_helpers/test_clocks/{id}",
            billing::get_clock,
            "Retrieve a test clock",
            Object("test_helpers.test_clock"),
        )
        .delete(
            "/test_helpers/test_clocks/{id}",
            billing::delete_clock,
            "Delete a test clock",
            Deleted("test_helpers.test_clock"),
        )
        .post(
            "/test_helpers/test_clocks/{id}/advance",
            billing::advance_clock,
            "Advance a test clock",
            Object("test_helpers.test_clock"),
        )
        .post("/shipping_rates", shipping::create_rate, "Create a shipping rate", Created("shipping_rate"))
        .get("/shipping_rates", shipping::list_rates, "List shipping rates", List("shipping_rate"))
        .get("/shipping_rates/{id}", shipping::get_rate, "Retrieve a shipping rate", Object("shipping_rate"))
        .post(
            "/shipping_rates/{id}",
            shipping::update_rate,
            "Update a shipping rate",
            Object("shipping_rate"),
        )
        .get("/invoices", payments::list_invoices, "List invoices", List("invoice"))
        .get(
            "/invoices/upcoming",
            billing::preview_invoice,
            "Retrieve an upcoming invoice",
            Object("invoice"),
        )
        .post(
            "/invoices/create_preview",
            billing::preview_invoice,
            "Create a preview invoice",
            Object("invoice"),
        )
        .get("/invoices/{id}", payments::get_invoice, "Retrieve an invoice", Object("invoice"))
        .post("/invoices/{id}/void", billing::void_invoice, "Void an invoice", Object("invoice"))
        .post("/invoices/{id}/pay", billing::pay_invoice, "Pay an invoice", Object("invoice"))
        .post("/invoices/{id}/finalize", charges::finalize_invoice, "Finalize an invoice", Object("invoice"))
        .get("/charges", charges::list_charges, "List charges", List("charge"))
        .get("/charges/{id}", charges::get_charge, "Retrieve a charge", Object("charge"))
        .post("/refunds", charges::create_refund, "Create a refund", Created("refund"))
        .get("/refunds", charges::list_refunds, "List refunds", List("refund"))
        .get("/refunds/{id}", charges::get_refund, "Retrieve a refund", Object("refund"))
        .post("/refunds/{id}", charges::update_refund, "Update a refund", Object("refund"))
        .post(
            "/invoices/{id}/mark_uncollectible",
            billing::mark_invoice_uncollectible,
            "Mark an invoice as uncollectible",
            Object("invoice"),
        )
        .post(
            "/billing_portal/configurations",
            portal::create_configuration,
            "Create a portal configuration",
            Created("billing_portal.configuration"),
        )
        .get(
            "/billing_portal/configurations",
            portal::list_configurations,
            "List portal configurations",
            List("billing_portal.configuration"),
        )
        .get(
            "/billing_portal/configurations/{id}",
            portal::get_configuration,
            "Retrieve a portal configuration",
            Object("billing_portal.configuration"),
        )
        .post(
            "/billing_portal/configurations/{id}",
            portal::update_configuration,
            "Update a portal configuration",
            Object("billing_portal.configuration"),
        )
        .post(
            "/billing_portal/sessions",
            portal::create_session,
            "Create a portal session",
            Created("billing_portal.session"),
        )
        .get("/events", events::list_events, "List events", List("event"))
        .get("/events/{id}", events::get_event, "Retrieve an event", Object("event"))
        .post("/events/{id}/resend", events::resend_event, "Resend an event now", Object("event"))
        .post(
            "/webhook_endpoints",
            events::create_endpoint,
            "Create a webhook endpoint",
            Created("webhook_endpoint"),
        )
        .get("/webhook_endpoints", events::list_endpoints, "List webhook endpoints", List("webhook_endpoint"))
        .get(
            "/webhook_endpoints/{id}",
            events::get_endpoint,
            "Retrieve a webhook endpoint",
            Object("webhook_endpoint"),
        )
        .post(
            "/webhook_endpoints/{id}",
            events::update_endpoint,
            "Update a webhook endpoint",
            Object("webhook_endpoint"),
        )
        .delete(
            "/webhook_endpoints/{id}",
            events::delete_endpoint,
            "Delete a webhook endpoint",
            Deleted("webhook_endpoint"),
        )
        .get(
            "/webhook_deliveries",
            events::list_deliveries,
            "List webhook deliveries",
            List("webhook_delivery"),
        )
        .get(
            "/webhook_deliveries/{id}",
            events::get_delivery,
            "Retrieve a webhook delivery",
            Object("webhook_delivery"),
        )
}

/// The session collection's path on the native API and under `/v1` (Stripe's).
pub const NATIVE_SESSIONS: &str = "/checkout/session";
pub const V1_SESSIONS: &str = "/checkout/sessions";

/// Stripe answers 200 where kassa's native API answers 201.
async fn stripe_status(mut resp: Response) -> Response {
    if resp.status() == StatusCode::CREATED {
        *resp.status_mut() = StatusCode::OK;
    }
    resp
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(api_routes(NATIVE_SESSIONS).into_parts().0)
        .nest("/v1", api_routes(V1_SESSIONS).into_parts().0.layer(map_response(stripe_status)))
        .route_layer(from_fn_with_state(state.clone(), middleware::api))
        .layer(CatchPanicLayer::custom(|_| ApiError::Panicked.into_response()));
    let pages = Router::new()
        .route("/pay/{id}", get(pages::show).post(pages::submit))
        .route("/pay/{id}/recover", get(pages::recover))
        .route("/pay/{id}/3ds", get(pages::three_ds).post(pages::three_ds_result))
        .route("/pay/{id}/paypal", get(pages::paypal).post(pages::paypal_decision))
        .route("/pay/{id}/quantities", post(pages::quantities))
        .route("/pay/{id}/shipping", post(pages::shipping))
        .route("/pay/{id}/address", post(pages::address))
        .route("/pay/{id}/promotion_code", post(pages::apply_code))
        .route("/pay/{id}/promotion_code/remove", post(pages::remove_code))
        .route("/i/{id}/{token}", get(invoice_page::show))
        .route("/i/{id}/{token}/pay", post(invoice_page::pay))
        .route("/i/{id}/{token}/pdf", get(invoice_page::pdf))
        .route("/portal/{id}", get(portal::show))
        .route("/portal/{id}/{secret}", get(portal::open))
        .route("/portal/{id}/cancel", post(portal::cancel))
        .route("/portal/{id}/resume", post(portal::resume))
        .route("/portal/{id}/update", post(portal::update))
        .route("/portal/{id}/payment_method", post(portal::payment_method))
        .route("/portal/{id}/customer", post(portal::customer))
        .route_layer(from_fn_with_state(state.clone(), pages::same_origin))
        .layer(CatchPanicLayer::custom(|_| pages::panicked()))
        .route("/static/pay.css", get(pages::stylesheet))
        .route("/static/pay.js", get(pages::script));
    // The dashboard reads and acts through the API's own handlers, in-process (`dashboard`).
    let internal = dashboard::Internal(
        Router::new().nest("/v1", api_routes(V1_SESSIONS).into_parts().0).with_state(state.clone()),
    );
    let dashboard = dashboard::routes()
        .route_layer(from_fn_with_state(state.clone(), pages::same_origin))
        .layer(axum::Extension(internal))
        .layer(CatchPanicLayer::custom(|_| pages::panicked()))
        .route("/static/dashboard.css", get(dashboard::stylesheet))
        .route("/static/dashboard.js", get(dashboard::script));
    let mut root = Router::new()
        .route("/health", get(health))
        .route(openapi::DOCUMENT_PATH, get(openapi::document_json))
        .route(openapi::DOCS_PATH, get(openapi::docs_page))
        .route(openapi::DOCS_CSS_PATH, get(openapi::docs_stylesheet));
    if state.metrics_on_api {
        root = root.route("/metrics", get(metrics::for_operator));
    }
    root.merge(pages)
        .merge(dashboard)
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
    if dashboard::is_dashboard_path(uri.path()) {
        return dashboard::not_found();
    }
    if portal::is_portal_path(uri.path()) {
        return pages::error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page in the billing portal.",
        );
    }
    ApiError::UnknownRoute { method: method.to_string(), path: uri.path().chars().take(200).collect() }
        .into_response()
}

/// A known path with a method it does not take: a 405 page on the hosted pages; 405 on the
/// native API; under `/v1` Stripe's 404 for an unrecognized URL, which the SDKs raise as their
/// invalid-request error.
async fn method_not_allowed(method: Method, uri: OriginalUri) -> Response {
    if pages::is_page_path(uri.path())
        || dashboard::is_dashboard_path(uri.path())
        || portal::is_portal_path(uri.path())
    {
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
