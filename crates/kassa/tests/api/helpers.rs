//! The black-box harness: a real kassa server on a free port with a fresh SQLite database in a
//! temporary directory and a clock the test can move, spoken to over HTTP with reqwest.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use kassa::config::Settings;
use kassa::startup::{self, Server};
use kassa_core::account::SecretKey;
use kassa_core::time::{Clock, ManualClock, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub struct TestApp {
    pub base: String,
    pub key: String,
    pub clock: ManualClock,
    pub client: reqwest::Client,
    pub db_path: std::path::PathBuf,
    server: Option<Server>,
    _dir: tempfile::TempDir,
}

/// A response: status, headers, and the body as JSON (`Value::Null` when it is not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Assert a Stripe-shaped error and return its `error` object.
    pub fn error(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        let e = &self.body["error"];
        assert!(e.is_object(), "no error object in {}", self.text);
        for field in ["type", "code", "message", "param", "decline_code"] {
            assert!(e.get(field).is_some(), "error lacks `{field}`: {}", self.text);
        }
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
        e
    }

    /// Assert an `invalid_request_error` 400 on `param` and return the error.
    pub fn invalid(&self, param: &str) -> &Value {
        let e = self.error(400);
        assert_eq!(e["type"], "invalid_request_error", "{}", self.text);
        assert_eq!(e["param"], param, "{}", self.text);
        e
    }

    pub fn ok(&self) -> &Value {
        assert!(self.status.is_success(), "expected success, got {}: {}", self.status, self.text);
        &self.body
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_path = dir.path().join("kassa.db");
        let key = SecretKey::generate();
        let settings = Settings {
            listen: "127.0.0.1:0".to_owned(),
            database_url: format!("sqlite://{}", db_path.display()),
            public_url: None,
            secret_key: Some(key.clone()),
            sweep_interval: Duration::from_secs(3600),
        };
        let clock = ManualClock::new(SystemClock.now());
        let server = startup::start(settings, Arc::new(clock.clone())).await.expect("kassa starts");
        Self {
            base: server.public_url.clone(),
            key: key.expose().to_owned(),
            clock,
            client: reqwest::Client::new(),
            db_path,
            server: Some(server),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ctx(&self) -> &kassa::state::AppState {
        &self.server.as_ref().expect("running").ctx
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.expect("clean shutdown");
        }
    }

    /// A second account in the same server; returns its key.
    pub async fn new_account(&self, name: &str) -> String {
        let ctx = self.ctx();
        let (_, key) =
            kassa::service::accounts::create(ctx.store.as_ref(), name, None, ctx.now()).await.unwrap();
        key.expose().to_owned()
    }

    /// Run the background sweeps once, now.
    pub async fn sweep(&self) -> u64 {
        kassa::worker::sweep_once(self.ctx()).await.unwrap()
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = req.send().await.expect("request sent");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }

    /// POST a form body (Stripe's encoding) with the default key.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.post_as(&self.key, path, form).await
    }

    pub async fn post_as(&self, key: &str, path: &str, form: &[(&str, &str)]) -> Resp {
        let body = encode(form);
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(key)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Resp {
        self.send(self.client.post(self.url(path)).bearer_auth(&self.key).json(body)).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.get_as(&self.key, path).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Resp {
        self.send(self.client.get(self.url(path)).bearer_auth(key)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.client.delete(self.url(path)).bearer_auth(&self.key)).await
    }

    pub async fn product(&self, name: &str) -> String {
        let r = self.post("/products", &[("name", name)]).await;
        r.ok()["id"].as_str().unwrap().to_owned()
    }

    /// A one-time price of `amount` in `currency` for a new product.
    pub async fn price(&self, amount: i64, currency: &str) -> String {
        let product = self.product("Widget").await;
        self.price_for(&product, amount, currency, None).await
    }

    pub async fn price_for(
        &self,
        product: &str,
        amount: i64,
        currency: &str,
        interval: Option<&str>,
    ) -> String {
        let amount = amount.to_string();
        let mut form = vec![("product", product), ("unit_amount", amount.as_str()), ("currency", currency)];
        if let Some(i) = interval {
            form.push(("recurring[interval]", i));
        }
        let r = self.post("/prices", &form).await;
        r.ok()["id"].as_str().unwrap().to_owned()
    }

    pub async fn recurring_price(&self, amount: i64, currency: &str, interval: &str) -> String {
        let product = self.product("Plan").await;
        self.price_for(&product, amount, currency, Some(interval)).await
    }

    /// Create a session from JSON, asserting success; returns the session object.
    pub async fn session(&self, body: Value) -> Value {
        let r = self.post_json("/checkout/session", &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    }

    /// A session with one line of `price` × `quantity`.
    pub async fn simple_session(&self, price: &str, quantity: i64) -> Value {
        self.session(json!({"line_items": [{"price": price, "quantity": quantity}], "success_url": "https://shop.test/ok"})).await
    }
}

/// Stripe's form encoding of `pairs` (brackets percent-encoded, as the SDKs send them).
pub fn encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------------------------------------
// Generic helpers for the auth, catalog, idempotency, bad-input and encoding tests.

impl TestApp {
    /// POST a raw body with the given `content-type` (or none), with the default key.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let mut req = self.client.post(self.url(path)).bearer_auth(&self.key).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.send(req).await
    }

    /// POST a form body with an `Idempotency-Key`, as `key`'s account.
    pub async fn post_idem_as(&self, key: &str, path: &str, idem: &str, form: &[(&str, &str)]) -> Resp {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(key)
                .header("Idempotency-Key", idem)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encode(form)),
        )
        .await
    }

    pub async fn post_idem(&self, path: &str, idem: &str, form: &[(&str, &str)]) -> Resp {
        self.post_idem_as(&self.key, path, idem, form).await
    }

    /// The ids on the first page (up to 100) of the list at `path`, as `key`'s account.
    pub async fn list_ids_as(&self, key: &str, path: &str) -> Vec<String> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = self.get_as(key, &format!("{path}{sep}limit=100")).await;
        r.ok()["data"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn list_ids(&self, path: &str) -> Vec<String> {
        self.list_ids_as(&self.key, path).await
    }

    /// How many objects the list at `path` holds (first 100).
    pub async fn count(&self, path: &str) -> usize {
        self.list_ids(path).await.len()
    }

    /// A coupon from a form, asserting success; returns its id.
    pub async fn coupon(&self, form: &[(&str, &str)]) -> String {
        let r = self.post("/coupons", form).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// The secret key's value with another account's `Authorization` header.
    pub fn basic(key: &str, password: &str) -> String {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{key}:{password}")))
    }
}

/// `value` with the volatile fields (`id`, `created`, `updated`) removed, at the top level and in
/// embedded objects, so that two creations of the same thing compare equal.
pub fn without_volatile(mut value: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["id", "created", "updated"] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

impl TestApp {
    /// The server's clock, now.
    pub fn clock_now(&self) -> i64 {
        use kassa_core::time::Clock;
        self.clock.now()
    }
}
