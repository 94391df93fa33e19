//! `GET /metrics` as an operator meets it: a real `kassa serve` with `--metrics`
//! (the main listener, the default account's key only) or `--metrics-listen` (an address of its
//! own, no key), scraped before and after a checkout is created, declined, paid and its webhook
//! delivered; every scrape must parse as Prometheus' text format, and the counters must have
//! moved by what happened. Without either flag `/metrics` is a 404. On PostgreSQL the pool's
//! gauges and the grouped inserts' commits show.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

mod common;
use common::{Kassa, Receiver, command, poll_async};

const KEY: &str = "sk_test_MetricsTestKey000000000000000";

/// A sample's labels, sorted.
type Labels = Vec<(String, String)>;
/// One sample: its name and labels, and its value.
type Samples = BTreeMap<(String, Labels), f64>;

/// Parse Prometheus' text exposition format strictly (the subset the exporter writes: `# HELP`,
/// `# TYPE`, samples with labels, no timestamps), panicking on any line that is not valid; and
/// check each histogram: cumulative buckets ending in `+Inf`, equal to its `_count`.
fn parse(text: &str) -> Samples {
    let mut samples = Samples::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
            })
    };
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (kind, name, what) =
                (words.next().unwrap(), words.next().unwrap(), words.next().unwrap_or(""));
            assert!(name_ok(name), "a bad metric name in {line:?}");
            match kind {
                "TYPE" => {
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&what),
                        "{line:?}"
                    );
                    assert!(types.insert(name.to_owned(), what.to_owned()).is_none(), "TYPE twice: {line:?}");
                }
                "HELP" => {}
                _ => panic!("an unknown comment: {line:?}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("a bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, Vec::new()),
            Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').expect(line), line)),
        };
        assert!(name_ok(name), "a bad metric name in {line:?}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.get(*f).is_some_and(|t| t == "histogram")))
            .unwrap_or(name);
        assert!(types.contains_key(family), "a sample before its TYPE: {line:?}");
        let mut labels = labels;
        labels.sort();
        assert!(samples.insert((name.to_owned(), labels), value).is_none(), "a sample twice: {line:?}");
    }
    // Histograms: per label set, buckets cumulative, `+Inf` equal to `_count`.
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        let bucket = format!("{family}_bucket");
        let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        for ((name, labels), value) in &samples {
            if *name == bucket {
                let le = labels.iter().find(|(k, _)| k == "le").expect("a bucket without le");
                let bound = if le.1 == "+Inf" { f64::INFINITY } else { le.1.parse().unwrap() };
                let rest: Vec<_> = labels.iter().filter(|(k, _)| k != "le").cloned().collect();
                series.entry(rest).or_default().push((bound, *value));
            }
        }
        for (labels, mut buckets) in series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{family}{labels:?}: not cumulative");
            assert_eq!(buckets.last().unwrap().0, f64::INFINITY, "{family}{labels:?}: no +Inf bucket");
            let count = samples[&(format!("{family}_count"), labels.clone())];
            assert_eq!(buckets.last().unwrap().1, count, "{family}{labels:?}: +Inf is not _count");
        }
    }
    samples
}

/// `a="x",b="y\"z"` → pairs, unescaped.
fn parse_labels(text: &str, line: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert!(!key.is_empty() && key.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()), "{line:?}");
        assert_eq!(chars.next(), Some('"'), "{line:?}");
        let mut value = String::new();
        loop {
            match chars.next().unwrap_or_else(|| panic!("an unterminated label in {line:?}")) {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c @ ('\\' | '"')) => value.push(c),
                    other => panic!("a bad escape {other:?} in {line:?}"),
                },
                c => value.push(c),
            }
        }
        labels.push((key, value));
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(c) => panic!("{c:?} after a label in {line:?}"),
        }
    }
    labels
}

/// The value of `name` with (at least) `labels`, summed over any other labels; 0 if absent.
fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|((n, l), _)| {
            n == name && labels.iter().all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, v)| *v)
        .sum()
}

fn has(samples: &Samples, name: &str) -> bool {
    samples.keys().any(|(n, _)| n == name)
}

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn new(addr: &str) -> Self {
        let client = kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { base: format!("http://{addr}"), client }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(KEY)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn session(&self) -> String {
        let product = self.post("/v1/products", &[("name", "Metered")]).await;
        let price = self
            .post(
                "/v1/prices",
                &[("product", product["id"].as_str().unwrap()), ("unit_amount", "1500"), ("currency", "usd")],
            )
            .await;
        let session = self
            .post(
                "/v1/checkout/sessions",
                &[
                    ("mode", "payment"),
                    ("line_items[0][price]", price["id"].as_str().unwrap()),
                    ("line_items[0][quantity]", "1"),
                    ("success_url", "https://shop.test/thanks"),
                ],
            )
            .await;
        session["id"].as_str().unwrap().to_owned()
    }

    /// Pay on the hosted page with `card`; the page's status.
    async fn pay(&self, session: &str, card: &str) -> u16 {
        let form = [
            ("email", "buyer@example.test"),
            ("name", "Bo Buyer"),
            ("payment_method", "card"),
            ("card_number", card),
            ("card_expiry", "12/34"),
            ("card_cvc", "123"),
        ];
        let r = self.client.post(format!("{}/pay/{session}", self.base)).form(&form).send().await.unwrap();
        r.status().as_u16()
    }
}

/// GET `url` (with `key`, if any): status, content type, body.
async fn fetch(url: &str, key: Option<&str>) -> (u16, String, String) {
    let client = kassa::client::builder().build().unwrap();
    let mut req = client.get(url);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

/// A scrape that must succeed and parse.
async fn scrape(url: &str, key: Option<&str>) -> (Samples, String) {
    let (status, ct, text) = fetch(url, key).await;
    assert_eq!(status, 200, "{text}");
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    (parse(&text), text)
}

/// `kassa accounts create` beside the running server: the new account's key.
fn other_account(dir: &Path) -> String {
    let out = command(dir, &["accounts", "create", "--name", "Other"], &[]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_the_main_listener_count_a_checkout_and_its_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &["--metrics"], &[("KASSA_SECRET_KEY", KEY)]);
    let api = Api::new(&addr);
    let url = format!("{}/metrics", api.base);

    // Not to the public: no key is a 401, another account's key a 403, both Stripe-shaped.
    let (status, _, body) = fetch(&url, None).await;
    assert_eq!(status, 401, "{body}");
    // A second later than the server's own, so that the server's stays the default account (the
    // oldest; within one second the smaller id would be).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let other = other_account(dir.path());
    let (status, _, body) = fetch(&url, Some(&other)).await;
    assert_eq!(status, 403, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(error["error"]["code"], "secret_key_required");

    let (before, _) = scrape(&url, Some(KEY)).await;
    let rx = Receiver::start(vec![]);
    api.post(
        "/v1/webhook_endpoints",
        &[("url", &rx.url()), ("enabled_events[]", "checkout.session.completed")],
    )
    .await;
    let session = api.session().await;
    assert_eq!(api.pay(&session, "4000000000000002").await, 200, "declined: the page again");
    assert_eq!(api.pay(&session, "4242424242424242").await, 303, "paid");
    let delivered = rx.arrived(1).await;
    assert_eq!(delivered[0].json()["type"], "checkout.session.completed");

    // The attempt is counted once the sender has its answer: poll for it.
    let (after, text) = poll_async("the webhook attempt in /metrics", || async {
        let (s, text) = scrape(&url, Some(KEY)).await;
        (value(&s, "kassa_webhook_attempts_total", &[("outcome", "succeeded")]) >= 1.0).then_some((s, text))
    })
    .await;
    let moved =
        |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    assert_eq!(moved("kassa_checkout_sessions_created_total", &[]), 1.0, "{text}");
    assert_eq!(moved("kassa_checkout_sessions_completed_total", &[]), 1.0, "{text}");
    assert_eq!(moved("kassa_payments_total", &[("outcome", "failed"), ("method", "card")]), 1.0, "{text}");
    assert_eq!(moved("kassa_payments_total", &[("outcome", "succeeded"), ("method", "card")]), 1.0, "{text}");
    assert_eq!(moved("kassa_events_total", &[("type", "checkout.session.completed")]), 1.0, "{text}");
    assert_eq!(moved("kassa_webhook_attempts_total", &[("outcome", "succeeded")]), 1.0, "{text}");
    assert_eq!(moved("kassa_webhook_attempt_duration_seconds_count", &[]), 1.0, "{text}");
    // Requests by route template and status: the session's id is in no label.
    let create = [("method", "POST"), ("route", "/v1/checkout/sessions"), ("status", "200")];
    assert_eq!(moved("kassa_http_requests_total", &create), 1.0, "{text}");
    for status in ["200", "303"] {
        let pay = [("method", "POST"), ("route", "/pay/{id}"), ("status", status)];
        assert_eq!(moved("kassa_http_requests_total", &pay), 1.0, "{status}: {text}");
    }
    assert!(moved("kassa_http_request_duration_seconds_count", &[("route", "/pay/{id}")]) >= 2.0, "{text}");
    let scrapes = [("method", "GET"), ("route", "/metrics"), ("status", "401")];
    assert_eq!(value(&after, "kassa_http_requests_total", &scrapes), 1.0, "{text}");
    assert!(!text.contains(&session), "a session id in a label:\n{text}");
    // SQLite's group commits, each with its batch.
    let commits = [("backend", "sqlite"), ("path", "group_commit")];
    assert!(moved("kassa_store_commit_duration_seconds_count", &commits) >= 3.0, "{text}");
    assert!(moved("kassa_store_commit_batch_size_count", &commits) >= 3.0, "{text}");
    assert!(value(&after, "kassa_store_commit_batch_size_sum", &commits) >= 3.0, "{text}");
    // Delivered: nothing pending. No pool on SQLite.
    assert_eq!(value(&after, "kassa_webhook_oldest_pending_delivery_age_seconds", &[]), 0.0, "{text}");
    assert!(has(&after, "kassa_webhook_oldest_pending_delivery_age_seconds"), "{text}");
    assert!(!has(&after, "kassa_store_pool_connections"), "{text}");
    assert!(kassa.terminate().success());
}

/// The address from the `serving metrics` log line.
fn metrics_addr(kassa: &Kassa) -> String {
    common::poll("the `serving metrics` log line", || {
        let stderr = kassa.stderr();
        let line = stderr.lines().find(|l| l.contains("serving metrics"))?.to_owned();
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("metrics_addr="))
            .map(|a| a.trim_matches('"').to_owned())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_their_own_address_need_no_key_and_serve_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) =
        Kassa::serve(dir.path(), &["--metrics-listen", "127.0.0.1:0"], &[("KASSA_SECRET_KEY", KEY)]);
    let metrics = metrics_addr(&kassa);
    let url = format!("http://{metrics}/metrics");
    let api = Api::new(&addr);

    let (before, _) = scrape(&url, None).await;
    // An unpaid webhook: the oldest pending delivery ages on the server's clock.
    api.post("/v1/webhook_endpoints", &[("url", "http://127.0.0.1:9/down"), ("enabled_events[]", "*")]).await;
    let session = api.session().await;
    api.post(&format!("/v1/checkout/sessions/{session}/expire"), &[]).await;
    let (after, text) = scrape(&url, None).await;
    let moved = |name: &str| value(&after, name, &[]) - value(&before, name, &[]);
    assert_eq!(moved("kassa_checkout_sessions_created_total"), 1.0, "{text}");
    assert_eq!(moved("kassa_checkout_sessions_expired_total"), 1.0, "{text}");
    let expire = [("method", "POST"), ("route", "/v1/checkout/sessions/{id}/expire"), ("status", "200")];
    assert_eq!(value(&after, "kassa_http_requests_total", &expire), 1.0, "{text}");
    assert!(has(&after, "kassa_webhook_oldest_pending_delivery_age_seconds"), "{text}");
    // The scrapes themselves go to another server: not counted among the API's requests.
    assert_eq!(value(&after, "kassa_http_requests_total", &[("route", "/metrics")]), 0.0, "{text}");

    // Only /metrics there; and not on the main listener, which was not asked to serve it.
    let (status, _, _) = fetch(&format!("http://{metrics}/v1/products"), Some(KEY)).await;
    assert_eq!(status, 404);
    let (status, _, body) = fetch(&format!("{}/metrics", api.base), Some(KEY)).await;
    assert_eq!(status, 404, "{body}");
    assert!(kassa.terminate().success());
}

#[tokio::test]
async fn metrics_are_a_404_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", KEY)]);
    let (status, _, body) = fetch(&format!("http://{addr}/metrics"), Some(KEY)).await;
    assert_eq!(status, 404, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error", "{body}");
    assert!(kassa.terminate().success());

    // `KASSA_METRICS` turns them on like the flag.
    let (mut kassa, addr) =
        Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", KEY), ("KASSA_METRICS", "true")]);
    scrape(&format!("http://{addr}/metrics"), Some(KEY)).await;
    assert!(kassa.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn on_postgresql_the_pool_and_the_grouped_inserts_show() {
    let Some(db) = kassa_store::postgres::TempPostgres::new_or_skip() else { return };
    let db = db.with_params("pool_max=3");
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(
        dir.path(),
        &["--metrics-listen", "127.0.0.1:0", "--database-url", db.url()],
        &[("KASSA_SECRET_KEY", KEY)],
    );
    let url = format!("http://{}/metrics", metrics_addr(&kassa));
    let api = Api::new(&addr);
    let session = api.session().await;
    assert_eq!(api.pay(&session, "4242424242424242").await, 303);

    let (after, text) = scrape(&url, None).await;
    assert_eq!(value(&after, "kassa_store_pool_max_connections", &[]), 3.0, "{text}");
    let in_use = value(&after, "kassa_store_pool_connections", &[("state", "in_use")]);
    let idle = value(&after, "kassa_store_pool_connections", &[("state", "idle")]);
    assert!(has(&after, "kassa_store_pool_connections") && in_use + idle <= 3.0, "{text}");
    assert!(idle >= 1.0, "connections were opened and given back:\n{text}");
    let inserts = [("backend", "postgres"), ("path", "grouped_insert")];
    assert!(value(&after, "kassa_store_commit_batch_size_count", &inserts) >= 1.0, "{text}");
    let transactions = [("backend", "postgres"), ("path", "transaction")];
    assert!(value(&after, "kassa_store_commit_duration_seconds_count", &transactions) >= 1.0, "{text}");
    assert_eq!(value(&after, "kassa_payments_total", &[("outcome", "succeeded")]), 1.0, "{text}");
    assert!(kassa.terminate().success());
}
