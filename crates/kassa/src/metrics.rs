//! Prometheus metrics (`GET /metrics`): every series kassa exports, and the one
//! function per thing that happens that counts it. The rest of the application calls these
//! functions and names no series itself.
//!
//! The [`metrics`] facade carries the numbers and `metrics-exporter-prometheus` keeps and renders
//! them (its recorder and handle only: kassa serves `/metrics` from its own router, see
//! [`crate::http`]). The recorder is installed only when metrics are on (`--metrics` or
//! `--metrics-listen`); until then every function here returns at its first line, so a server
//! without metrics pays one load and one branch per call.
//!
//! Labels take a bounded set of values only: a route template (axum's `MatchedPath`, never the
//! path asked for; `unmatched` for a path no route takes), a known method or `other`, a status
//! code, an event type, and the fixed words below. No id, key, URL or amount is ever a label.
//!
//! Most series count what happened as it happened. Two are read at scrape time ([`render`]):
//! the age of the oldest pending webhook delivery (from the store) and, on PostgreSQL, the pool's
//! connections.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::Method;
use kassa_core::store::{self, Column, Commit, Filter, Kind, Record, Scope, StoreObserver};
use kassa_core::time::Timestamp;
use kassa_core::webhook::{DeliveryStatus, EndpointStatus, EventType, WebhookDelivery};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::value::RawValue;

use crate::state::Ctx;

/// Requests answered: `method`, `route` (the route's template), `status`.
pub const HTTP_REQUESTS: &str = "kassa_http_requests_total";
/// Time from a request's arrival to its response's head: `method`, `route`. Histogram.
pub const HTTP_DURATION: &str = "kassa_http_request_duration_seconds";
/// Checkout sessions created.
pub const SESSIONS_CREATED: &str = "kassa_checkout_sessions_created_total";
/// Checkout sessions completed (`checkout.session.completed` committed).
pub const SESSIONS_COMPLETED: &str = "kassa_checkout_sessions_completed_total";
/// Checkout sessions expired, by the API or the sweep (`checkout.session.expired` committed).
pub const SESSIONS_EXPIRED: &str = "kassa_checkout_sessions_expired_total";
/// Payments by `outcome` (`succeeded`, `failed`, `canceled`) and `method` (`card`, `paypal`,
/// `customer_balance`, `other`): hosted-page payments and subscription renewals alike.
pub const PAYMENTS: &str = "kassa_payments_total";
/// Events committed, by `type` (the event types kassa emits).
pub const EVENTS: &str = "kassa_events_total";
/// Webhook delivery attempts by `outcome`: `succeeded` (a 2xx in time), `http_error` (another
/// status), `timeout`, `connection_error`, `refused` (an address kassa may not call).
pub const WEBHOOK_ATTEMPTS: &str = "kassa_webhook_attempts_total";
/// How long each webhook attempt took. Histogram.
pub const WEBHOOK_DURATION: &str = "kassa_webhook_attempt_duration_seconds";
/// Age of the oldest delivery still pending (not yet succeeded, nor given up) for an enabled
/// endpoint, in seconds of the server's clock; 0 when none is. Read from the store at scrape time.
pub const WEBHOOK_OLDEST_PENDING: &str = "kassa_webhook_oldest_pending_delivery_age_seconds";
/// Billing runs by `trigger` (`scheduler`: the background pass; `test_clock`: an advance) and
/// `outcome` (`ok`, `error`).
pub const BILLING_RUNS: &str = "kassa_billing_runs_total";
/// Subscriptions the billing runs touched (renewed, charged, retried, ended).
pub const BILLING_SUBSCRIPTIONS: &str = "kassa_billing_subscriptions_total";
/// Time from a write transaction's start to its commit's answer, by `backend` and `path`
/// (see [`Commit::path`]). Histogram.
pub const STORE_COMMIT_DURATION: &str = "kassa_store_commit_duration_seconds";
/// Units of work per commit (a group commit's batch; a grouped insert's rows), by `backend` and
/// `path`. Histogram.
pub const STORE_COMMIT_BATCH: &str = "kassa_store_commit_batch_size";
/// PostgreSQL connections by `state` (`in_use`, `idle`). Read at scrape time.
pub const STORE_POOL_CONNECTIONS: &str = "kassa_store_pool_connections";
/// The most connections the PostgreSQL pool opens (`pool_max`).
pub const STORE_POOL_MAX: &str = "kassa_store_pool_max_connections";

/// Latency buckets, in seconds: 0.5 ms to 10 s.
const SECONDS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Batch-size buckets.
const BATCH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// How often histograms are folded (the exporter's upkeep) when no scrape does it.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Turn metrics on for this process (idempotent): install the recorder, and describe every
/// series. Returns the handle [`render`] reads.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(STORE_COMMIT_BATCH.to_owned()), BATCH));
        let recorder = match builder {
            Ok(b) => b.build_recorder(),
            // Only for empty bucket lists, which the constants are not.
            Err(e) => unreachable!("metric buckets: {e}"),
        };
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed: /metrics will stay empty");
        }
        describe();
        handle
    })
}

/// Whether metrics are on in this process.
fn on() -> bool {
    HANDLE.get().is_some()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by method, route template and status.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency, by method and route template.");
    describe_counter!(SESSIONS_CREATED, "Checkout sessions created.");
    describe_counter!(SESSIONS_COMPLETED, "Checkout sessions completed.");
    describe_counter!(SESSIONS_EXPIRED, "Checkout sessions expired.");
    describe_counter!(PAYMENTS, "Payments by outcome and payment method type.");
    describe_counter!(EVENTS, "Events committed, by type.");
    describe_counter!(WEBHOOK_ATTEMPTS, "Webhook delivery attempts, by outcome.");
    describe_histogram!(WEBHOOK_DURATION, Unit::Seconds, "Webhook delivery attempt duration.");
    describe_gauge!(WEBHOOK_OLDEST_PENDING, Unit::Seconds, "Age of the oldest pending webhook delivery.");
    describe_counter!(BILLING_RUNS, "Billing runs, by trigger and outcome.");
    describe_counter!(BILLING_SUBSCRIPTIONS, "Subscriptions billing runs touched.");
    describe_histogram!(STORE_COMMIT_DURATION, Unit::Seconds, "Write transaction duration up to its commit.");
    describe_histogram!(STORE_COMMIT_BATCH, "Units of work per commit.");
    describe_gauge!(STORE_POOL_CONNECTIONS, "PostgreSQL pool connections, by state.");
    describe_gauge!(STORE_POOL_MAX, "The PostgreSQL pool's size limit.");
}

/// Fold histograms now and then, for as long as the process runs (the exporter's own listener
/// would; kassa renders from its route instead). Spawned once, with the recorder.
pub fn spawn_upkeep() {
    static SPAWNED: OnceLock<()> = OnceLock::new();
    SPAWNED.get_or_init(|| {
        let handle = install().clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(UPKEEP_EVERY).await;
                handle.run_upkeep();
            }
        });
    });
}

/// The text exposition of every series, the scrape-time gauges read first.
pub async fn render(ctx: &Ctx) -> String {
    let handle = install();
    if let Some(pool) = ctx.store.pool_usage() {
        gauge!(STORE_POOL_CONNECTIONS, "state" => "in_use").set(as_f64(pool.in_use));
        gauge!(STORE_POOL_CONNECTIONS, "state" => "idle").set(as_f64(pool.idle));
        gauge!(STORE_POOL_MAX).set(as_f64(pool.max));
    }
    match oldest_pending_delivery(ctx).await {
        Ok(age) => gauge!(WEBHOOK_OLDEST_PENDING).set(f64::from(u32::try_from(age).unwrap_or(u32::MAX))),
        // The series keeps its last value; the failure is the store's and shows in /health too.
        Err(e) => tracing::warn!(error = %e, "metrics: could not read the oldest pending delivery"),
    }
    handle.run_upkeep();
    handle.render()
}

/// The most endpoints [`oldest_pending_delivery`] looks at.
const MAX_ENDPOINTS: u32 = 10_000;

/// Seconds since the oldest delivery still pending for an enabled endpoint was queued (0: none).
/// One indexed lookup per enabled endpoint (its oldest pending delivery), in one snapshot: a scan
/// of all deliveries for the oldest pending one would read every delivery ever made before it.
/// A disabled endpoint's deliveries wait for it to be enabled again and are left out.
async fn oldest_pending_delivery(ctx: &Ctx) -> Result<i64, store::StoreError> {
    let now = ctx.now();
    store::view(ctx.store.as_ref(), move |tx| {
        let enabled = Filter::Eq(Column::Status, EndpointStatus::Enabled.as_str().into());
        let endpoints = tx.select(Scope::All, Kind::WebhookEndpoint, &[enabled], MAX_ENDPOINTS)?;
        let mut oldest: Option<Timestamp> = None;
        for raw in &endpoints {
            let filters = [
                Filter::Eq(Column::Endpoint, raw.id.as_str().into()),
                Filter::Eq(Column::Status, DeliveryStatus::Pending.as_str().into()),
            ];
            let first = tx.select(Scope::Account(&raw.account), Kind::WebhookDelivery, &filters, 1)?;
            if let Some(d) = first.first() {
                let created = WebhookDelivery::from_raw(d)?.created();
                oldest = Some(oldest.map_or(created, |o| o.min(created)));
            }
        }
        Ok(oldest.map_or(0, |t| now.saturating_sub(t).max(0)))
    })
    .await
}

fn as_f64(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A request answered with `status` after `elapsed`. `route` is the matched route's template, or
/// `None` for a path no route takes.
pub fn http_request(method: &Method, route: Option<&str>, status: u16, elapsed: Duration) {
    if !on() {
        return;
    }
    let method = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let route = route.unwrap_or("unmatched").to_owned();
    counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route).record(elapsed.as_secs_f64());
}

/// A checkout session was created.
pub fn session_created() {
    if on() {
        counter!(SESSIONS_CREATED).increment(1);
    }
}

/// What an event counts as, noted when it is written ([`counted`]) and counted once its
/// transaction has committed ([`events_committed`]).
#[derive(Debug, Clone, Copy)]
pub struct Counted {
    kind: EventType,
    /// For a payment intent's events, its payment method type.
    method: &'static str,
}

/// What to count for an event of `kind` about `object`; `None` while metrics are off.
pub fn counted(kind: EventType, object: &RawValue) -> Option<Counted> {
    if !on() {
        return None;
    }
    let method = match kind {
        EventType::PaymentIntentSucceeded
        | EventType::PaymentIntentPaymentFailed
        | EventType::PaymentIntentCanceled => payment_method(object),
        _ => "",
    };
    Some(Counted { kind, method })
}

/// A payment intent's method type, as a label: one kassa knows, else `other`. Only the one
/// member is read from the intent's text; the rest is skipped.
fn payment_method(intent: &RawValue) -> &'static str {
    #[derive(serde::Deserialize)]
    struct Types {
        #[serde(default)]
        payment_method_types: Vec<String>,
    }
    let types =
        serde_json::from_str::<Types>(intent.get()).map(|t| t.payment_method_types).unwrap_or_default();
    match types.first().map(String::as_str) {
        Some("card") => "card",
        Some("paypal") => "paypal",
        Some("customer_balance") => "customer_balance",
        _ => "other",
    }
}

/// A transaction with these events committed.
pub fn events_committed(events: &[Counted]) {
    for e in events {
        counter!(EVENTS, "type" => e.kind.as_str()).increment(1);
        match e.kind {
            EventType::CheckoutSessionCompleted => counter!(SESSIONS_COMPLETED).increment(1),
            EventType::CheckoutSessionExpired => counter!(SESSIONS_EXPIRED).increment(1),
            EventType::PaymentIntentSucceeded => {
                counter!(PAYMENTS, "outcome" => "succeeded", "method" => e.method).increment(1);
            }
            EventType::PaymentIntentPaymentFailed => {
                counter!(PAYMENTS, "outcome" => "failed", "method" => e.method).increment(1);
            }
            EventType::PaymentIntentCanceled => {
                counter!(PAYMENTS, "outcome" => "canceled", "method" => e.method).increment(1);
            }
            _ => {}
        }
    }
}

/// How a webhook attempt ended, as a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    HttpError,
    Timeout,
    ConnectionError,
    Refused,
}

impl AttemptOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::HttpError => "http_error",
            Self::Timeout => "timeout",
            Self::ConnectionError => "connection_error",
            Self::Refused => "refused",
        }
    }
}

/// A webhook delivery attempt ended with `outcome` after `elapsed`.
pub fn webhook_attempt(outcome: AttemptOutcome, elapsed: Duration) {
    if !on() {
        return;
    }
    counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome.as_str()).increment(1);
    histogram!(WEBHOOK_DURATION).record(elapsed.as_secs_f64());
}

/// What started a billing run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingTrigger {
    /// The background scheduler's pass over real time.
    Scheduler,
    /// A test clock's advance.
    TestClock,
}

/// A billing run ended: the subscriptions it touched, or `None` if it failed.
pub fn billing_run(trigger: BillingTrigger, touched: Option<usize>) {
    if !on() {
        return;
    }
    let trigger = match trigger {
        BillingTrigger::Scheduler => "scheduler",
        BillingTrigger::TestClock => "test_clock",
    };
    let outcome = if touched.is_some() { "ok" } else { "error" };
    counter!(BILLING_RUNS, "trigger" => trigger, "outcome" => outcome).increment(1);
    if let Some(n) = touched {
        counter!(BILLING_SUBSCRIPTIONS).increment(u64::try_from(n).unwrap_or(u64::MAX));
    }
}

/// The store's commits ([`kassa_core::store::Store::observe`]).
pub struct StoreMetrics;

impl StoreObserver for StoreMetrics {
    fn committed(&self, c: &Commit) {
        histogram!(STORE_COMMIT_DURATION, "backend" => c.backend, "path" => c.path)
            .record(c.elapsed.as_secs_f64());
        histogram!(STORE_COMMIT_BATCH, "backend" => c.backend, "path" => c.path).record(as_f64(c.jobs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_intents_method_is_read_from_its_text() {
        let method = |text: &str| payment_method(&RawValue::from_string(text.to_owned()).unwrap());
        let intent = r#"{"id":"pi_1","amount":1999,"metadata":{"payment_method_types":"x"},"payment_method_types":["paypal","card"],"status":"succeeded"}"#;
        assert_eq!(method(intent), "paypal");
        assert_eq!(method(r#"{"payment_method_types":["card"]}"#), "card");
        assert_eq!(method(r#"{"payment_method_types":["customer_balance"]}"#), "customer_balance");
        assert_eq!(method(r#"{"payment_method_types":["sepa_debit"]}"#), "other");
        assert_eq!(method(r#"{"payment_method_types":[]}"#), "other");
        assert_eq!(method(r#"{"id":"pi_1"}"#), "other");
    }
}
