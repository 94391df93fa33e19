//! `Idempotency-Key` on POST (and DELETE) — replay, mismatch, length, per-account keys,
//! concurrent use, the 24-hour retention, a key released after a 5xx, 409 or 429, and a key whose
//! request died taken over after its lease.

#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::common::poll_async;
use crate::helpers::{Resp, TestApp};

const DAY: i64 = 24 * 60 * 60;

fn assert_replay_of(first: &Resp, again: &Resp) {
    assert_eq!(again.status, first.status, "{}", again.text);
    assert_eq!(again.text, first.text, "a replay answers the very same body");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert!(again.header("content-type").unwrap().starts_with("application/json"));
}

fn assert_idempotency_mismatch(r: &Resp, key: &str) {
    let e = r.error(400);
    assert_eq!(e["type"], "idempotency_error", "{}", r.text);
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("same parameters"), "{msg}");
    assert!(msg.contains(key), "{msg}");
}

#[tokio::test]
async fn the_same_key_and_parameters_replay_the_first_response() {
    let app = TestApp::spawn().await;
    let form = [("name", "Once"), ("metadata[order]", "42")];
    let first = app.post_idem("/products", "key-1", &form).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None, "the first response is not a replay");

    for _ in 0..3 {
        let again = app.post_idem("/products", "key-1", &form).await;
        assert_replay_of(&first, &again);
    }
    // Parameters in another order are the same parameters.
    let swapped = [("metadata[order]", "42"), ("name", "Once")];
    assert_replay_of(&first, &app.post_idem("/products", "key-1", &swapped).await);
    // Only one product exists, and it is the one answered.
    assert_eq!(app.list_ids("/products").await, [first.body["id"].as_str().unwrap().to_owned()]);

    // Without a key, the same request makes a second product.
    app.post("/products", &form).await.ok();
    assert_eq!(app.count("/products").await, 2);
    // An empty key is no key.
    let r = app.post_idem("/products", "", &form).await;
    assert_eq!(r.status, 201);
    assert_eq!(app.count("/products").await, 3);
}

/// A path to POST to, its form, and the list that shows what it created.
type Route<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

#[tokio::test]
async fn every_post_route_replays() {
    let app = TestApp::spawn().await;
    let price = app.price(1200, "usd").await;
    let coupon = app.coupon(&[("percent_off", "10")]).await;
    let product = app.product("P").await;
    let routes: Vec<Route<'_>> = vec![
        ("/prices", vec![("product", &product), ("unit_amount", "5"), ("currency", "usd")], "/prices"),
        ("/customers", vec![("email", "x@y.test")], "/customers"),
        ("/coupons", vec![("amount_off", "100"), ("currency", "usd")], "/coupons"),
        ("/promotion_codes", vec![("coupon", &coupon)], "/promotion_codes"),
        (
            "/checkout/session",
            vec![("line_items[0][price]", &price), ("line_items[0][quantity]", "2")],
            "/checkout/session",
        ),
    ];
    for (path, form, list) in routes {
        let before = app.count(list).await;
        let key = format!("route-{path}");
        let first = app.post_idem(path, &key, &form).await;
        assert_eq!(first.status, 201, "{path}: {}", first.text);
        let again = app.post_idem(path, &key, &form).await;
        assert_replay_of(&first, &again);
        assert_eq!(app.count(list).await, before + 1, "{path}: one object for one key");
    }

    // Updates replay too: a retried update is not applied twice (and answers the first result).
    let path = format!("/products/{product}");
    let first = app.post_idem(&path, "upd", &[("name", "Renamed")]).await;
    assert_eq!(first.status, 200);
    app.post(&path, &[("name", "Later")]).await.ok();
    let again = app.post_idem(&path, "upd", &[("name", "Renamed")]).await;
    assert_replay_of(&first, &again);
    assert_eq!(app.get(&path).await.body["name"], "Later", "the replay did not run the update again");
}

#[tokio::test]
async fn a_key_reused_with_other_parameters_is_refused() {
    let app = TestApp::spawn().await;
    let first = app.post_idem("/products", "reuse", &[("name", "A")]).await;
    assert_eq!(first.status, 201);
    let r = app.post_idem("/products", "reuse", &[("name", "B")]).await;
    assert_idempotency_mismatch(&r, "reuse");
    let r = app.post_idem("/products", "reuse", &[("name", "A"), ("active", "false")]).await;
    assert_idempotency_mismatch(&r, "reuse");
    // The same key on another route is another request.
    let r = app.post_idem("/customers", "reuse", &[("name", "A")]).await;
    assert_idempotency_mismatch(&r, "reuse");
    assert_eq!(app.count("/products").await, 1);
    assert_eq!(app.count("/customers").await, 0);
    // The refusal is not kept in place of the first response.
    assert_replay_of(&first, &app.post_idem("/products", "reuse", &[("name", "A")]).await);
}

#[tokio::test]
async fn a_validation_error_is_kept_and_replayed() {
    let app = TestApp::spawn().await;
    let first = app.post_idem("/products", "bad-1", &[("description", "no name")]).await;
    assert_eq!(first.invalid("name")["code"], "parameter_missing");
    let again = app.post_idem("/products", "bad-1", &[("description", "no name")]).await;
    assert_replay_of(&first, &again);
    // Fixing the request needs a new key.
    let r = app.post_idem("/products", "bad-1", &[("description", "no name"), ("name", "Fixed")]).await;
    assert_idempotency_mismatch(&r, "bad-1");
    assert_eq!(app.count("/products").await, 0);
    let r = app.post_idem("/products", "bad-2", &[("description", "no name"), ("name", "Fixed")]).await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn key_length_and_characters() {
    let app = TestApp::spawn().await;
    let longest = "k".repeat(255);
    let r = app.post_idem("/products", &longest, &[("name", "Max")]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_replay_of(&r, &app.post_idem("/products", &longest, &[("name", "Max")]).await);

    let too_long = "k".repeat(256);
    let r = app.post_idem("/products", &too_long, &[("name", "Too long")]).await;
    let e = r.invalid("Idempotency-Key");
    assert!(e["message"].as_str().unwrap().contains("255"), "{}", r.text);
    assert_eq!(app.count("/products").await, 1, "a refused key runs nothing");

    let v = reqwest::header::HeaderValue::from_bytes(b"caf\xe9").unwrap();
    let r = app
        .send(
            app.client
                .post(app.url("/products"))
                .bearer_auth(&app.key)
                .header("Idempotency-Key", v)
                .form(&[("name", "Latin-1 key")]),
        )
        .await;
    r.invalid("Idempotency-Key");
    assert_eq!(app.count("/products").await, 1);
}

#[tokio::test]
async fn keys_belong_to_one_account() {
    let app = TestApp::spawn().await;
    let other = app.new_account("Other").await;
    let form = [("name", "Shared key")];
    let mine = app.post_idem("/products", "same-key", &form).await;
    let theirs = app.post_idem_as(&other, "/products", "same-key", &form).await;
    assert_eq!(mine.status, 201);
    assert_eq!(theirs.status, 201);
    assert_eq!(theirs.header("idempotent-replayed"), None, "another account's response is never replayed");
    assert_ne!(mine.body["id"], theirs.body["id"]);
    assert_eq!(app.list_ids("/products").await, [mine.body["id"].as_str().unwrap().to_owned()]);
    assert_eq!(app.list_ids_as(&other, "/products").await, [theirs.body["id"].as_str().unwrap().to_owned()]);
    // And the other account's different parameters are not a mismatch for mine.
    let r = app.post_idem_as(&other, "/products", "key-only-mine", &[("name", "X")]).await;
    assert_eq!(r.status, 201);
    let r = app.post_idem("/products", "key-only-mine", &[("name", "Y")]).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn gets_ignore_the_key_and_deletes_replay() {
    let app = TestApp::spawn().await;
    app.product("Listed").await;
    let get = || {
        app.send(app.client.get(app.url("/products")).bearer_auth(&app.key).header("Idempotency-Key", "g"))
    };
    let a = get().await;
    let b = get().await;
    assert_eq!(a.status, 200);
    assert_eq!(b.header("idempotent-replayed"), None);

    app.coupon(&[("id", "GONE"), ("percent_off", "5")]).await;
    let del = || {
        app.send(
            app.client.delete(app.url("/coupons/GONE")).bearer_auth(&app.key).header("Idempotency-Key", "d"),
        )
    };
    let first = del().await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["deleted"], true);
    let again = del().await;
    assert_replay_of(&first, &again);
    // Without the key it is simply gone.
    assert_eq!(app.delete("/coupons/GONE").await.status, 404);
}

#[tokio::test]
async fn the_v1_tree_replays_its_own_status() {
    let app = TestApp::spawn().await;
    let first = app.post_idem("/v1/products", "v1", &[("name", "Stripe SDK")]).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = app.post_idem("/v1/products", "v1", &[("name", "Stripe SDK")]).await;
    assert_replay_of(&first, &again);
    assert_eq!(app.count("/products").await, 1);
}

#[tokio::test]
async fn the_key_is_named_in_every_answer_to_it() {
    // The SDKs show it as the response's idempotency key (`lastResponse.idempotencyKey`).
    let app = TestApp::spawn().await;
    let first = app.post_idem("/v1/products", "stripe-node-retry-1", &[("name", "Named")]).await;
    assert_eq!(first.header("idempotency-key"), Some("stripe-node-retry-1"), "{}", first.text);
    let again = app.post_idem("/v1/products", "stripe-node-retry-1", &[("name", "Named")]).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("idempotency-key"), Some("stripe-node-retry-1"));
    let other = app.post_idem("/v1/products", "stripe-node-retry-1", &[("name", "Other")]).await;
    assert_eq!(other.error(400)["type"], "idempotency_error");
    assert_eq!(other.header("idempotency-key"), Some("stripe-node-retry-1"));
    let plain = app.post("/v1/products", &[("name", "No key")]).await;
    assert_eq!(plain.header("idempotency-key"), None);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_object() {
    let app = TestApp::spawn().await;
    for round in 0..20 {
        let key = format!("concurrent-{round}");
        let name = format!("Concurrent {round}");
        let form = [("name", name.as_str())];
        let (a, b) =
            tokio::join!(app.post_idem("/products", &key, &form), app.post_idem("/products", &key, &form));
        let mut created = Vec::new();
        for r in [&a, &b] {
            match r.status.as_u16() {
                201 => created.push(r.body["id"].as_str().unwrap().to_owned()),
                409 => {
                    let e = r.error(409);
                    assert_eq!(e["type"], "idempotency_error", "{}", r.text);
                    assert_eq!(e["code"], "idempotency_key_in_use", "{}", r.text);
                }
                other => panic!("round {round}: unexpected {other}: {}", r.text),
            }
        }
        assert!(!created.is_empty(), "round {round}: neither request ran: {} / {}", a.text, b.text);
        created.dedup();
        assert_eq!(created.len(), 1, "round {round}: two objects for one key: {created:?}");
        // After both, the key replays the one product.
        let after = app.post_idem("/products", &key, &form).await;
        assert_eq!(after.status, 201, "{}", after.text);
        assert_eq!(after.header("idempotent-replayed"), Some("true"));
        assert_eq!(after.body["id"], created[0].as_str());
        let with_name = app.list_ids("/products").await;
        assert_eq!(with_name.len(), round + 1, "round {round}: exactly one product per key");
    }
}

#[tokio::test]
async fn concurrent_session_creation_with_one_key_creates_one_session() {
    let app = TestApp::spawn().await;
    let price = app.price(500, "usd").await;
    let form = [("line_items[0][price]", price.as_str()), ("line_items[0][quantity]", "1")];
    for round in 0..10 {
        let key = format!("cs-{round}");
        let send = || app.post_idem("/checkout/session", &key, &form);
        let (a, b) = tokio::join!(send(), send());
        let ok: Vec<&Resp> = [&a, &b].into_iter().filter(|r| r.status == 201).collect();
        assert!(!ok.is_empty(), "{} / {}", a.text, b.text);
        for r in [&a, &b] {
            assert!(r.status == 201 || r.status == 409, "{}", r.text);
        }
        if ok.len() == 2 {
            assert_eq!(ok[0].body["id"], ok[1].body["id"]);
        }
        assert_eq!(app.count("/checkout/session").await, round + 1);
    }
}

#[tokio::test]
async fn keys_expire_after_24_hours() {
    let app = TestApp::spawn().await;
    let first = app.post_idem("/products", "daily", &[("name", "Day one")]).await;
    assert_eq!(first.status, 201);

    app.clock.advance(DAY - 1);
    let r = app.post_idem("/products", "daily", &[("name", "Day two")]).await;
    assert_idempotency_mismatch(&r, "daily");
    assert_replay_of(&first, &app.post_idem("/products", "daily", &[("name", "Day one")]).await);

    app.clock.advance(2);
    let second = app.post_idem("/products", "daily", &[("name", "Day two")]).await;
    assert_eq!(second.status, 201, "after 24 h the key is new again: {}", second.text);
    assert_eq!(second.header("idempotent-replayed"), None);
    assert_ne!(second.body["id"], first.body["id"]);
    assert_eq!(app.count("/products").await, 2);
    // The key now belongs to the second request.
    assert_replay_of(&second, &app.post_idem("/products", "daily", &[("name", "Day two")]).await);
    assert_idempotency_mismatch(&app.post_idem("/products", "daily", &[("name", "Day one")]).await, "daily");

    // The sweep forgets expired keys; a fresh request with the key then runs.
    app.clock.advance(DAY + 1);
    app.sweep().await;
    let third = app.post_idem("/products", "daily", &[("name", "Day three")]).await;
    assert_eq!(third.status, 201, "{}", third.text);
    assert_eq!(app.count("/products").await, 3);
}

// ---------------------------------------------------------------------------------------------
// Releasing a key, and taking over one whose request died

/// A route whose answers the test scripts, behind kassa's own API middleware (authentication,
/// decoding, idempotency) on the test server's store and clock: no real route answers 409 or 429
/// on demand, or never finishes.
struct Scripted {
    base: String,
    /// How many times the handler has run.
    runs: Arc<AtomicUsize>,
    answers: Arc<Mutex<VecDeque<Option<u16>>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Scripted {
    /// Answers in order: `Some(status)` answers it (with a body naming the run), `None` never
    /// answers. Then `201`.
    async fn start(app: &TestApp, answers: Vec<Option<u16>>) -> Self {
        use axum::http::StatusCode;
        let runs = Arc::new(AtomicUsize::new(0));
        let answers = Arc::new(Mutex::new(answers.into_iter().collect::<VecDeque<_>>()));
        let (r, a) = (runs.clone(), answers.clone());
        let handler = move || {
            let (r, a) = (r.clone(), a.clone());
            async move {
                let run = r.fetch_add(1, Ordering::SeqCst) + 1;
                let answer = a.lock().unwrap().pop_front().unwrap_or(Some(201));
                let Some(status) = answer else { return std::future::pending().await };
                (StatusCode::from_u16(status).unwrap(), axum::Json(json!({"status": status, "run": run})))
            }
        };
        let router = axum::Router::new().route("/scripted", axum::routing::post(handler)).route_layer(
            axum::middleware::from_fn_with_state(app.ctx().clone(), kassa::http::middleware::api),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { base, runs, answers, server }
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    fn request(&self, app: &TestApp, key: &str) -> reqwest::RequestBuilder {
        app.client
            .post(format!("{}/scripted", self.base))
            .bearer_auth(&app.key)
            .header("Idempotency-Key", key)
            .form(&[("order", "7")])
    }

    async fn post(&self, app: &TestApp, key: &str) -> Resp {
        app.send(self.request(app, key)).await
    }
}

#[tokio::test]
async fn a_key_is_released_after_a_5xx_409_or_429_and_the_retry_runs_for_real() {
    let app = TestApp::spawn().await;
    for status in [500, 503, 409, 429] {
        let route = Scripted::start(&app, vec![Some(status)]).await;
        let key = format!("released-{status}");
        let first = route.post(&app, &key).await;
        assert_eq!(first.status, status, "{}", first.text);
        assert_eq!(route.runs(), 1);

        // The retry runs the request again, and its answer is the one kept.
        let retry = route.post(&app, &key).await;
        assert_eq!(retry.status, 201, "{status}: {}", retry.text);
        assert_eq!(retry.header("idempotent-replayed"), None, "{status}: the retry was not a replay");
        assert_eq!(retry.body["run"], 2, "{status}");
        assert_eq!(route.runs(), 2, "{status}: the handler ran again");
        assert_replay_of(&retry, &route.post(&app, &key).await);
        assert_eq!(route.runs(), 2, "{status}: and not a third time");
    }

    // Any other answer is kept, a 4xx refusal included.
    let route = Scripted::start(&app, vec![Some(402)]).await;
    let first = route.post(&app, "kept-402").await;
    assert_eq!(first.status, 402);
    assert_replay_of(&first, &route.post(&app, "kept-402").await);
    assert_eq!(route.runs(), 1);
}

#[tokio::test]
async fn a_key_held_by_a_request_that_never_finished_is_taken_over_after_its_lease() {
    use kassa::service::idempotency::LEASE_SECONDS;
    let app = TestApp::spawn().await;
    let route = Scripted::start(&app, vec![None]).await;
    // The first request claims the key and never finishes, as if its process had died.
    let stuck = tokio::spawn(route.request(&app, "orphan").send());
    poll_async("the first request to run", || async { (route.runs() == 1).then_some(()) }).await;

    let refused = route.post(&app, "orphan").await;
    assert_eq!(refused.error(409)["code"], "idempotency_key_in_use", "{}", refused.text);
    app.advance(LEASE_SECONDS - 1);
    let refused = route.post(&app, "orphan").await;
    assert_eq!(refused.error(409)["code"], "idempotency_key_in_use", "still leased: {}", refused.text);
    assert_eq!(route.runs(), 1, "a refused retry runs nothing");

    // The lease has run out: the retry takes the key over and runs.
    app.advance(1);
    let taken = route.post(&app, "orphan").await;
    assert_eq!(taken.status, 201, "{}", taken.text);
    assert_eq!(taken.header("idempotent-replayed"), None);
    assert_eq!(taken.body["run"], 2);
    assert_replay_of(&taken, &route.post(&app, "orphan").await);
    assert_eq!(route.runs(), 2);
    assert!(route.answers.lock().unwrap().is_empty());
    stuck.abort();
}
