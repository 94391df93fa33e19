//! The black-box harness: a real kassa server on a free port with a fresh database and a clock
//! the test can move, spoken to over HTTP with reqwest.
//!
//! The database is a SQLite file in a temporary directory, or, with
//! `KASSA_TEST_DATABASE=postgres`, a fresh PostgreSQL database on the test server
//! (`KASSA_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`), created for
//! the test and dropped with its `TestApp`. A server that cannot be reached fails every test
//! (`TempPostgres::new` says why); nothing is skipped.

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
    server: Option<Server>,
    /// The database this server uses; dropped after the server (fields drop in order).
    pub db: TestDb,
    _dir: tempfile::TempDir,
}

/// Where a [`TestApp`] keeps its records.
pub enum TestDb {
    /// The SQLite file (in the app's temporary directory).
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database of its own, dropped with the app (after the server has stopped).
    Postgres(kassa_store::postgres::TempPostgres),
}

impl TestDb {
    /// The backend `KASSA_TEST_DATABASE` selects: `sqlite` (the default) or `postgres`.
    fn from_env(dir: &std::path::Path) -> Self {
        match std::env::var("KASSA_TEST_DATABASE").as_deref() {
            Ok("postgres" | "postgresql") => {
                assert!(
                    kassa_store::postgres::TempPostgres::enabled(),
                    "KASSA_TEST_DATABASE=postgres runs this suite on PostgreSQL, but KASSA_TEST_POSTGRES=0 \
                     turns PostgreSQL off: unset one of them"
                );
                // A few connections are enough for one test; many tests run at once against
                // one server (`max_connections` is 100 by default).
                Self::Postgres(kassa_store::postgres::TempPostgres::new().with_params("pool_max=4"))
            }
            Ok("" | "sqlite") | Err(_) => Self::Sqlite(dir.join("kassa.db")),
            Ok(other) => panic!("KASSA_TEST_DATABASE must be `sqlite` or `postgres`, not `{other}`"),
        }
    }

    fn url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(db) => db.url().to_owned(),
        }
    }
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
        for field in ["type", "message"] {
            assert!(e.get(field).is_some(), "error lacks `{field}`: {}", self.text);
        }
        // What does not apply is left out, as Stripe does, never sent as null.
        for field in ["code", "param", "decline_code"] {
            assert!(e.get(field).is_none_or(|v| !v.is_null()), "error sends `{field}: null`: {}", self.text);
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
        Self::spawn_with(|_| {}).await
    }

    /// A server whose settings `tweak` changes first.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = TestDb::from_env(dir.path());
        let key = SecretKey::generate();
        let settings = Settings {
            listen: "127.0.0.1:0".to_owned(),
            database_url: db.url(),
            public_url: None,
            secret_key: Some(key.clone()),
            sweep_interval: Duration::from_secs(3600),
            webhooks: kassa::config::WebhookSettings {
                timeout: Duration::from_secs(2),
                max_rate: 0,
                // What `kassa serve` chooses on this listener (loopback only): local receivers work.
                allow_private: kassa::config::listens_on_loopback_only("127.0.0.1:0"),
                ..Default::default()
            },
            deliver_webhooks: false,
            billing_interval: None,
            dunning: kassa_core::renewal::Dunning::default(),
            http: kassa::config::HttpSettings::default(),
            // Given, so that no key file is written (on PostgreSQL it would go to the working
            // directory); `tests/cli.rs` covers the file.
            fingerprint: kassa::config::FingerprintSettings {
                key: Some(kassa_core::payment::FingerprintKey::generate()),
                key_file: None,
            },
            code_attempts: Default::default(),
            metrics: Default::default(),
            request_log_retention: Duration::from_secs(7 * 24 * 3600),
            tax_origin_country: "US".to_owned(),
        };
        let mut settings = settings;
        tweak(&mut settings);
        let clock = ManualClock::new(SystemClock.now());
        let server = startup::start(settings, Arc::new(clock.clone())).await.expect("kassa starts");
        Self {
            base: server.public_url.clone(),
            key: key.expose().to_owned(),
            clock,
            client: kassa::client::builder().build().unwrap(),
            server: Some(server),
            db,
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

    /// Send a request; every response is checked against `GET /openapi.json` on the way
    /// ([`crate::openapi_check`]).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let (client, req) = req.build_split();
        let req = req.expect("a valid request");
        let (method, path) = (req.method().to_string(), req.url().path().to_owned());
        // Only this kassa's answers (a test may speak to a server of its own).
        let ours = req.url().as_str().starts_with(&self.base);
        let r = client.execute(req).await.expect("request sent");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        if ours {
            crate::openapi_check::check(&method, &path, status.as_u16(), content_type, &text);
        }
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

    /// POST a raw body with the given `content-type` and an `Idempotency-Key`, as `key`'s account.
    pub async fn post_raw_idem_as(
        &self,
        key: &str,
        path: &str,
        idem: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(key)
                .header("Idempotency-Key", idem)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// POST a form body with an `Idempotency-Key`, as `key`'s account.
    pub async fn post_idem_as(&self, key: &str, path: &str, idem: &str, form: &[(&str, &str)]) -> Resp {
        self.post_raw_idem_as(key, path, idem, "application/x-www-form-urlencoded", encode(form)).await
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

// ---------------------------------------------------------------------------------------------
// Webhooks: driving the delivery worker by hand (the fake receiver is `common::Receiver`).

impl TestApp {
    /// Run one pass of the webhook delivery worker, now; returns how many attempts it made.
    pub async fn deliver(&self) -> usize {
        kassa::worker::deliver::deliver_once(self.ctx()).await.unwrap()
    }

    /// Passes until one makes no attempt; returns the attempts made.
    pub async fn deliver_all(&self) -> usize {
        let mut total = 0;
        loop {
            match self.deliver().await {
                0 => return total,
                n => total += n,
            }
        }
    }

    /// A webhook endpoint for `url` and `events`; returns (id, secret).
    pub async fn endpoint(&self, url: &str, events: &[&str]) -> (String, String) {
        let mut form = vec![("url", url)];
        form.extend(events.iter().map(|e| ("enabled_events[]", *e)));
        let r = self.post("/webhook_endpoints", &form).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        (r.body["id"].as_str().unwrap().to_owned(), r.body["secret"].as_str().unwrap().to_owned())
    }

    /// The account's event types, oldest first.
    pub async fn event_types(&self) -> Vec<String> {
        let r = self.get("/events?limit=100").await;
        let mut types: Vec<String> = r.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        types.reverse();
        types
    }

    /// Move the server's clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots: values that differ from run to run are asserted, then replaced by a label.

/// Assert that the value at `pointer` (`/items/data/0/id`) in `value` is `want`, then put `label`
/// there: for what the test knows exactly but that differs from run to run (an id it created, a
/// URL with the server's port).
pub fn known(value: &mut Value, pointer: &str, want: impl Into<Value>, label: &str) {
    let slot = value.pointer_mut(pointer).unwrap_or_else(|| panic!("nothing at {pointer}"));
    assert_eq!(*slot, want.into(), "at {pointer}");
    *slot = Value::String(label.to_owned());
}

/// For an id the test cannot know (made by the server at random): assert that the value at
/// `pointer` is `prefix` then at least 14 letters and digits, and put `label` there.
pub fn shaped(value: &mut Value, pointer: &str, prefix: &str, label: &str) {
    let slot = value.pointer_mut(pointer).unwrap_or_else(|| panic!("nothing at {pointer}"));
    let random = slot.as_str().and_then(|s| s.strip_prefix(prefix));
    assert!(
        random.is_some_and(|r| r.len() >= 14 && r.bytes().all(|b| b.is_ascii_alphanumeric())),
        "at {pointer}: not a {prefix}… id: {slot}"
    );
    *slot = Value::String(label.to_owned());
}

// ---------------------------------------------------------------------------------------------
// Fixtures: the customers, cards, tax rates and subscriptions several suites set up.

/// `base` with each top-level field of `extra` set on it (a session body with a few more fields).
pub fn merged(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().expect("an object to merge") {
        base[k] = v.clone();
    }
    base
}

impl TestApp {
    /// A card saved for `customer` by a setup-mode checkout paid with `card` on the page; returns
    /// the payment method.
    pub async fn saved_card(&self, customer: &str, card: &str) -> String {
        let s = self
            .session(json!({"mode": "setup", "currency": "usd", "customer": customer, "success_url": "https://shop.test/ok"}))
            .await;
        let sid = s["id"].as_str().unwrap();
        assert_eq!(crate::pay::pay_card(self, sid, card).await.status.as_u16(), 303);
        let seti = self.get(&format!("/checkout/session/{sid}?expand[]=setup_intent")).await;
        seti.ok()["setup_intent"]["payment_method"].as_str().unwrap().to_owned()
    }

    /// `POST /subscriptions` with `form`, asserting it is created; returns the subscription.
    pub async fn create_subscription(&self, form: &[(&str, &str)]) -> Value {
        let r = self.post("/subscriptions", form).await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
        r.body
    }

    /// `customer` subscribed to a new monthly price of `amount` USD cents, which the saved card
    /// `payment_method` pays.
    pub async fn monthly_subscription(&self, customer: &str, payment_method: &str, amount: i64) -> Value {
        let price = self.recurring_price(amount, "usd", "month").await;
        self.create_subscription(&[
            ("customer", customer),
            ("items[0][price]", &price),
            ("default_payment_method", payment_method),
        ])
        .await
    }

    /// Pay the checkout `session` with `card` on the page; returns the subscription it started.
    pub async fn paid_subscription(&self, session: &str, card: &str) -> Value {
        let r = crate::pay::pay_card(self, session, card).await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text);
        let s = self.get(&format!("/checkout/session/{session}?expand[]=subscription")).await;
        s.ok()["subscription"].clone()
    }

    /// A tax rate of `pct` percent (`inclusive` or not) whose `place` is `(country, state)`.
    pub async fn tax_rate(&self, pct: &str, inclusive: bool, place: Option<(&str, Option<&str>)>) -> String {
        let inclusive = inclusive.to_string();
        let mut form = vec![("display_name", "Tax"), ("percentage", pct), ("inclusive", inclusive.as_str())];
        if let Some((country, state)) = place {
            form.push(("country", country));
            if let Some(s) = state {
                form.push(("state", s));
            }
        }
        let r = self.post("/tax_rates", &form).await;
        r.ok()["id"].as_str().unwrap().to_owned()
    }
}
