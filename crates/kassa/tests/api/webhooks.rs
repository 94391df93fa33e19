//! Events and webhooks: the event log, endpoints, and delivery to fake receivers —
//! signatures, retries driven by the server's clock, timeouts over the whole attempt, dropped
//! connections, a failing event holding back nothing, endpoints not waiting for each other,
//! giving up after the retry window (and disabling an endpoint that never answers), resending at
//! once, refusing private addresses, and two workers sharing the work.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kassa_core::webhook::RetryPolicy;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Answer, Receiver, poll, poll_async, signature_time, verify_signature};
use crate::helpers::TestApp;
use crate::pay::{pay_card, payment_session, post};
use crate::sessions_support::customer;

const DAY: i64 = 86_400;

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    app.get(&format!("/webhook_deliveries?limit=100&{query}")).await.ok()["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn endpoints_are_created_read_updated_listed_and_deleted() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/webhook_endpoints",
            &[
                ("url", "https://merchant.test/hooks"),
                ("enabled_events[]", "checkout.session.completed"),
                ("enabled_events[]", "invoice.paid"),
                ("description", "orders"),
                ("metadata[team]", "shop"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let e = r.body.clone();
    let id = e["id"].as_str().unwrap();
    assert!(id.starts_with("we_"));
    assert_eq!(e["object"], "webhook_endpoint");
    assert!(e["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(e["status"], "enabled");
    assert_eq!(e["enabled_events"], json!(["checkout.session.completed", "invoice.paid"]));
    assert_eq!(e["metadata"]["team"], "shop");
    assert_eq!(e["livemode"], false);

    // The secret is shown once.
    let got = app.get(&format!("/webhook_endpoints/{id}")).await;
    assert!(got.ok().get("secret").is_none(), "{}", got.text);
    assert!(!got.text.contains(e["secret"].as_str().unwrap()));
    assert_eq!(got.body["url"], "https://merchant.test/hooks");

    let r = app
        .post(
            &format!("/webhook_endpoints/{id}"),
            &[("url", "http://localhost:9000/h"), ("enabled_events[]", "*"), ("disabled", "true")],
        )
        .await;
    assert_eq!(r.ok()["url"], "http://localhost:9000/h");
    assert_eq!(r.body["enabled_events"], json!(["*"]));
    assert_eq!(r.body["status"], "disabled");
    let r = app.post(&format!("/webhook_endpoints/{id}"), &[("disabled", "false")]).await;
    assert_eq!(r.ok()["status"], "enabled");

    let other = app.endpoint("https://merchant.test/other", &["*"]).await.0;
    assert_eq!(app.list_ids("/webhook_endpoints").await, [other.clone(), id.to_owned()]);
    let gone = app.delete(&format!("/webhook_endpoints/{id}")).await;
    assert_eq!(gone.ok()["deleted"], true);
    assert_eq!(app.get(&format!("/webhook_endpoints/{id}")).await.error(404)["code"], "resource_missing");
    assert_eq!(app.delete(&format!("/webhook_endpoints/{id}")).await.error(404)["code"], "resource_missing");

    // Under /v1, with Stripe's status on create.
    let r =
        app.post("/v1/webhook_endpoints", &[("url", "https://m.test/v1"), ("enabled_events[]", "*")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["secret"].as_str().unwrap().starts_with("whsec_"));

    // Another account sees none of them.
    let key2 = app.new_account("Other").await;
    assert!(app.list_ids_as(&key2, "/webhook_endpoints").await.is_empty());
    app.get_as(&key2, &format!("/webhook_endpoints/{other}")).await.error(404);
}

#[tokio::test]
async fn endpoint_input_is_checked() {
    let app = TestApp::spawn().await;
    let bad = |form: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move { app.post("/webhook_endpoints", &form).await }
    };
    bad(vec![("enabled_events[]", "*")]).await.invalid("url");
    bad(vec![("url", "https://m.test/h")]).await.invalid("enabled_events");
    for url in ["ftp://m.test/h", "/relative", "https://", "https://m.test/a b", "javascript:alert(1)"] {
        let r = app.post("/webhook_endpoints", &[("url", url), ("enabled_events[]", "*")]).await;
        assert_eq!(r.invalid("url")["code"], "url_invalid", "{url}");
    }
    let r =
        bad(vec![("url", "https://m.test/h"), ("enabled_events[]", "*"), ("enabled_events[]", "nope")]).await;
    assert!(r.invalid("enabled_events[1]")["message"].as_str().unwrap().contains("nope"));
    bad(vec![("url", "https://m.test/h"), ("enabled_events[]", "*"), ("colour", "red")])
        .await
        .invalid("colour");
    let id = app.endpoint("https://m.test/h", &["*"]).await.0;
    let r = app.post(&format!("/webhook_endpoints/{id}"), &[("url", "nope")]).await;
    r.invalid("url");
    let r = app.post(&format!("/webhook_endpoints/{id}"), &[("disabled", "maybe")]).await;
    r.invalid("disabled");
    assert_eq!(app.get(&format!("/webhook_endpoints/{id}")).await.ok()["url"], "https://m.test/h");
}

#[tokio::test]
async fn events_record_what_happened_and_which_request_caused_it() {
    let app = TestApp::spawn().await;
    let r = app.post_idem("/customers", "make-ada", &[("email", "ada@example.test"), ("name", "Ada")]).await;
    let cus = r.ok()["id"].as_str().unwrap().to_owned();
    let request_id = r.header("Request-Id").unwrap().to_owned();

    let list = app.get("/events").await;
    let events = list.ok()["data"].as_array().unwrap();
    assert_eq!(list.body["object"], "list");
    assert_eq!(list.body["url"], "/events");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert!(e["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(e["object"], "event");
    assert_eq!(e["type"], "customer.created");
    assert_eq!(e["api_version"], "2023-08-16");
    assert_eq!(e["livemode"], false);
    assert_eq!(e["pending_webhooks"], 0);
    assert_eq!(e["data"]["object"]["id"], cus.as_str());
    assert_eq!(e["data"]["object"]["email"], "ada@example.test");
    assert_eq!(e["request"], json!({"id": request_id, "idempotency_key": "make-ada"}));

    // data.object is the object as it was: a later change does not rewrite it.
    app.post(&format!("/customers/{cus}"), &[("email", "ada@new.test")]).await.ok();
    let id = e["id"].as_str().unwrap();
    let got = app.get(&format!("/events/{id}")).await;
    assert_eq!(got.ok()["data"]["object"]["email"], "ada@example.test");
    assert_eq!(app.get(&format!("/v1/events/{id}")).await.ok()["id"], id);

    // Another account cannot see it; unknown ids are 404.
    let key2 = app.new_account("Other").await;
    app.get_as(&key2, &format!("/events/{id}")).await.error(404);
    assert!(app.list_ids_as(&key2, "/events").await.is_empty());
    assert_eq!(app.get("/events/evt_nope").await.error(404)["code"], "resource_missing");
}

#[tokio::test]
async fn events_list_newest_first_with_type_filters_and_pages() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        customer(&app, &format!("c{i}@example.test")).await;
    }
    let price = app.price(500, "usd").await;
    let s = app.simple_session(&price, 1).await;
    let sid = s["id"].as_str().unwrap();
    app.post(&format!("/checkout/session/{sid}/expire"), &[]).await.ok();

    let all = app.list_ids("/events").await;
    assert_eq!(all.len(), 4);
    assert_eq!(
        app.event_types().await,
        ["customer.created", "customer.created", "customer.created", "checkout.session.expired"]
    );
    assert_eq!(app.list_ids("/events?type=customer.created").await, all[1..].to_vec());
    assert_eq!(app.list_ids("/events?type=checkout.session.*").await, all[..1].to_vec());
    assert_eq!(app.list_ids("/events?types[]=checkout.session.expired&types[]=invoice.paid").await, all[..1]);
    assert_eq!(app.list_ids("/events?type=invoice.paid").await, Vec::<String>::new());
    app.get("/events?type=nothing.happened").await.invalid("type");
    app.get("/events?types[]=customer.created&types[]=bogus.*").await.invalid("types[1]");

    let first = app.get("/events?limit=2").await;
    assert_eq!(first.ok()["has_more"], true);
    let page: Vec<&str> =
        first.body["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(page, [all[0].as_str(), all[1].as_str()]);
    let next = app.get(&format!("/events?limit=2&starting_after={}", all[1])).await;
    assert_eq!(next.ok()["has_more"], false);
    assert_eq!(next.body["data"][0]["id"], all[2].as_str());

    // An expire that fails writes no event.
    app.post(&format!("/checkout/session/{sid}/expire"), &[]).await.error(400);
    assert_eq!(app.list_ids("/events").await.len(), 4);
}

#[tokio::test]
async fn a_delivery_is_signed_and_recorded() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start(vec![]);
    let (we, secret) = app.endpoint(&rx.url(), &["customer.created"]).await;
    // The server's clock is a month ahead of the wall clock when the event happens, and two days
    // further on when it is sent: `t` must be neither the event's time nor the server's clock,
    // but the wall-clock time of the attempt, which receivers check against their own clocks
    // (Stripe's libraries allow five minutes either way).
    app.advance(30 * DAY);
    let cus = customer(&app, "sig@example.test").await;
    let event = app.get("/events").await.ok()["data"][0].clone();
    assert_eq!(event["pending_webhooks"], 1);
    assert_eq!(event["created"], app.clock_now());
    app.advance(2 * DAY);

    let wall = || i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let before = wall();
    assert_eq!(app.deliver().await, 1);
    let after = wall();
    let got = rx.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert!(r.header("content-type").unwrap().starts_with("application/json"));
    let sig = r.header("stripe-signature").unwrap();
    assert!(verify_signature(&secret, sig, &r.body), "{sig}");
    assert!(
        !verify_signature(&secret, sig, &r.body.replace("sig@", "sog@")),
        "a changed body must not verify"
    );
    assert!(!verify_signature("whsec_other", sig, &r.body));
    let t = signature_time(sig).unwrap();
    assert!(
        (before..=after).contains(&t),
        "t={t} is the wall-clock time of the attempt ({before}..={after}), not the event's ({}) nor the \
         server's clock ({})",
        event["created"],
        app.clock_now()
    );

    let body = r.json();
    assert_eq!(body["id"], event["id"]);
    assert_eq!(body["type"], "customer.created");
    assert_eq!(body["data"]["object"]["id"], cus.as_str());
    assert_eq!(body["pending_webhooks"], 1);

    // The attempt is on record, and the event has nothing pending any more.
    let ds = deliveries(&app, &format!("webhook_endpoint={we}")).await;
    assert_eq!(ds.len(), 1);
    let d = &ds[0];
    assert_eq!(d["object"], "webhook_delivery");
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["event"], event["id"]);
    assert_eq!(d["event_type"], "customer.created");
    assert_eq!(d["attempts"][0]["status_code"], 200);
    assert_eq!(d["attempts"][0]["response_body"], "ok");
    assert!(d["attempts"][0]["duration_ms"].is_u64());
    assert_eq!(d["attempts"][0]["created"], app.clock_now(), "the attempt is dated on the server's clock");
    let got = app.get(&format!("/webhook_deliveries/{}", d["id"].as_str().unwrap())).await;
    assert_eq!(got.ok()["id"], d["id"]);
    assert_eq!(
        app.get(&format!("/events/{}", event["id"].as_str().unwrap())).await.ok()["pending_webhooks"],
        0
    );

    // Nothing more to send.
    assert_eq!(app.deliver().await, 0);
    assert_eq!(rx.received().len(), 1);
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_backoff_on_the_servers_clock() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start(vec![Answer::Status(500, "boom"), Answer::Status(503, "later")]);
    let (we, _) = app.endpoint(&rx.url(), &["*"]).await;
    customer(&app, "retry@example.test").await;

    assert_eq!(app.deliver().await, 1);
    let d = &deliveries(&app, &format!("webhook_endpoint={we}")).await[0];
    assert_eq!(d["status"], "pending");
    assert_eq!(d["attempts"][0]["status_code"], 500);
    assert_eq!(d["attempts"][0]["response_body"], "boom");
    let next = d["next_attempt_at"].as_i64().unwrap();
    let wait = next - app.clock_now();
    assert!((60..=75).contains(&wait), "first retry after 60 s plus jitter, got {wait}");

    // Not before it is due.
    assert_eq!(app.deliver().await, 0);
    app.advance(wait - 1);
    assert_eq!(app.deliver().await, 0);
    app.advance(1);
    assert_eq!(app.deliver().await, 1);
    let d = &deliveries(&app, &format!("webhook_endpoint={we}")).await[0];
    let wait = d["next_attempt_at"].as_i64().unwrap() - app.clock_now();
    assert!((120..=150).contains(&wait), "the wait doubles, got {wait}");
    app.advance(wait);
    assert_eq!(app.deliver().await, 1);
    let d = &deliveries(&app, &format!("webhook_endpoint={we}")).await[0];
    assert_eq!(d["status"], "succeeded");
    let codes: Vec<&Value> = d["attempts"].as_array().unwrap().iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(500), &json!(503), &json!(200)]);
    assert_eq!(rx.received().len(), 3);
    let ids: Vec<Value> = rx.received().iter().map(|r| r.json()["id"].clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "the same event each time");
}

#[tokio::test]
async fn timeouts_and_dropped_connections_count_as_failures() {
    let app = TestApp::spawn_with(|s| s.webhooks.timeout = Duration::from_millis(500)).await;
    // The first answer would come a minute late, and be a success had kassa waited for it.
    let rx = Receiver::start(vec![Answer::Late(Duration::from_secs(60)), Answer::Close]);
    let (we, _) = app.endpoint(&rx.url(), &["*"]).await;
    customer(&app, "slow@example.test").await;

    assert_eq!(app.deliver().await, 1);
    let d = &deliveries(&app, &format!("webhook_endpoint={we}")).await[0];
    assert_eq!(d["attempts"][0]["status_code"], Value::Null, "{d}");
    assert_eq!(d["attempts"][0]["error"], "timed out");
    assert!(d["attempts"][0]["duration_ms"].as_u64().unwrap() >= 500, "it waited for the timeout: {d}");

    app.advance(100);
    assert_eq!(app.deliver().await, 1);
    let d = &deliveries(&app, &format!("webhook_endpoint={we}")).await[0];
    assert_eq!(d["attempts"][1]["status_code"], Value::Null);
    assert!(d["attempts"][1]["error"].as_str().unwrap().contains("connection"), "{}", d["attempts"][1]);
    assert_eq!(d["status"], "pending");

    app.advance(1000);
    assert_eq!(app.deliver().await, 1);
    assert_eq!(deliveries(&app, &format!("webhook_endpoint={we}")).await[0]["status"], "succeeded");
    assert_eq!(rx.received().len(), 3);
}

#[tokio::test]
async fn redirects_are_not_followed_and_count_as_failed_attempts() {
    let app = TestApp::spawn().await;
    let elsewhere = Receiver::start(vec![]);
    let codes = [301, 302, 307, 308];
    let rx = Receiver::start(codes.iter().map(|c| Answer::redirect(*c, &elsewhere.url())).collect());
    let (we, _) = app.endpoint(&rx.url(), &["*"]).await;
    customer(&app, "moved@example.test").await;

    for (i, code) in codes.iter().enumerate() {
        assert_eq!(app.deliver().await, 1);
        let d = &deliveries(&app, &format!("webhook_endpoint={we}")).await[0];
        assert_eq!(d["status"], "pending", "a redirect is not a success: {d}");
        assert_eq!(d["attempts"].as_array().unwrap().len(), i + 1, "{d}");
        assert_eq!(d["attempts"][i]["status_code"], *code, "{d}");
        let wait = d["next_attempt_at"].as_i64().unwrap() - app.clock_now();
        assert!(wait > 0, "retried later: {d}");
        app.advance(wait);
    }
    assert!(elsewhere.received().is_empty(), "the redirect's target got nothing");
    assert_eq!(rx.received().len(), codes.len());

    // Once the endpoint answers 200 itself, the delivery succeeds there.
    assert_eq!(app.deliver().await, 1);
    assert_eq!(deliveries(&app, &format!("webhook_endpoint={we}")).await[0]["status"], "succeeded");
    assert!(elsewhere.received().is_empty());
}

#[tokio::test]
async fn the_timeout_covers_the_whole_attempt_and_a_2xx_status_in_time_counts() {
    let app = TestApp::spawn_with(|s| s.webhooks.timeout = Duration::from_secs(1)).await;
    // A receiver that answers 200 at once and then trickles its body a byte at a time, then one
    // that trickles its status line and never finishes it.
    let every = Duration::from_millis(50);
    let rx = Receiver::start(vec![Answer::SlowBody(every), Answer::SlowHead(every)]);
    let (we, _) = app.endpoint(&rx.url(), &["*"]).await;
    let within = |ms: u64| (1000..3000).contains(&ms);

    // One event, one pass: its delivery, and when the pass began.
    let deliver_one = |email: &'static str| {
        let (app, we) = (&app, &we);
        async move {
            customer(app, email).await;
            let started = Instant::now();
            assert_eq!(app.deliver().await, 1);
            (deliveries(app, &format!("webhook_endpoint={we}")).await.remove(0), started)
        }
    };

    let (d, started) = deliver_one("trickle@example.test").await;
    // The status came in time: a success, as at Stripe, though the body was still coming.
    assert_eq!(d["status"], "succeeded", "{d}");
    let a = &d["attempts"][0];
    assert_eq!(a["status_code"], 200);
    assert_eq!(a["error"], "timed out while reading the answer");
    let kept = a["response_body"].as_str().unwrap();
    assert!(!kept.is_empty() && kept.len() < 1024 && kept.bytes().all(|b| b == b'x'), "{kept:?}");
    assert!(within(a["duration_ms"].as_u64().unwrap()), "{a}");
    // kassa hung up at the deadline rather than reading on: the slot is free again.
    let closed = poll("kassa to close the slow body", || rx.received()[0].closed_at());
    assert!(closed.duration_since(started) < Duration::from_secs(3));

    let (d, started) = deliver_one("stalled@example.test").await;
    assert_eq!(d["status"], "pending", "no status line, no success: {d}");
    let a = &d["attempts"][0];
    assert_eq!((a["status_code"].clone(), a["error"].clone()), (Value::Null, json!("timed out")));
    assert!(within(a["duration_ms"].as_u64().unwrap()), "{a}");
    let closed = poll("kassa to close the slow head", || rx.received()[1].closed_at());
    assert!(closed.duration_since(started) < Duration::from_secs(3));
}

/// Addresses of every kind that is not public, in the spellings that reach them, and what the
/// refusal calls them.
const PRIVATE_URLS: &[(&str, &str)] = &[
    ("http://127.0.0.1:6379/", "127.0.0.1 is a loopback address"),
    ("http://0x7f000001/hook", "127.0.0.1 is a loopback address"),
    ("http://2130706433/hook", "127.0.0.1 is a loopback address"),
    ("http://127.1/hook", "127.0.0.1 is a loopback address"),
    ("http://0177.0.0.1/hook", "127.0.0.1 is a loopback address"),
    ("http://[::1]:8080/hook", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1 is a loopback address"),
    ("http://[::ffff:a9fe:a9fe]/hook", "::ffff:169.254.169.254 is a link-local address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[fe80::1]/hook", "fe80::1 is a link-local address"),
    ("https://10.0.0.8/hook", "10.0.0.8 is a private address"),
    ("https://172.20.1.1/hook", "172.20.1.1 is a private address"),
    ("https://192.168.1.10/hook", "192.168.1.10 is a private address"),
    ("https://[fd00::5]/hook", "fd00::5 is a private address"),
    ("https://100.64.1.1/hook", "100.64.1.1 is a shared (carrier-grade NAT) address"),
    ("http://0.0.0.0:4242/hook", "0.0.0.0 is an unspecified address"),
    ("http://[::]/hook", ":: is an unspecified address"),
    ("http://224.0.0.1/hook", "224.0.0.1 is a multicast address"),
    ("http://255.255.255.255/hook", "255.255.255.255 is a broadcast address"),
];

#[tokio::test]
async fn endpoints_at_addresses_that_are_not_public_are_refused_when_private_addresses_are_not_allowed() {
    let app = TestApp::spawn_with(|s| s.webhooks.allow_private = false).await;
    for (url, why) in PRIVATE_URLS {
        let r = app.post("/webhook_endpoints", &[("url", url), ("enabled_events[]", "*")]).await;
        let e = r.invalid("url");
        assert_eq!(e["code"], "url_invalid", "{url}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(why) && message.contains("only to public addresses"), "{url}: {message}");
    }
    assert!(app.list_ids("/webhook_endpoints").await.is_empty());

    // A public address is fine; moving it to a private one is refused and changes nothing.
    let (id, _) = app.endpoint("https://93.184.216.34/hooks", &["*"]).await;
    let r = app.post(&format!("/webhook_endpoints/{id}"), &[("url", "http://169.254.169.254/latest/")]).await;
    assert!(r.invalid("url")["message"].as_str().unwrap().contains("link-local"));
    assert_eq!(app.get(&format!("/webhook_endpoints/{id}")).await.ok()["url"], "https://93.184.216.34/hooks");
    // A host name is accepted here: it is checked when a delivery resolves it.
    app.endpoint("http://localhost:6379/", &["*"]).await;

    // On a server that allows them (the default when it listens on loopback only), they are fine.
    let local = TestApp::spawn().await;
    for (url, _) in PRIVATE_URLS {
        local.endpoint(url, &["*"]).await;
    }
}

#[tokio::test]
async fn urls_with_a_user_name_or_password_are_refused_whatever_the_setting() {
    for allow_private in [true, false] {
        let app = TestApp::spawn_with(|s| s.webhooks.allow_private = allow_private).await;
        for url in [
            "https://user:secret@merchant.test/hooks",
            "https://user@merchant.test/hooks",
            "https://:pw@merchant.test/",
        ] {
            let r = app.post("/webhook_endpoints", &[("url", url), ("enabled_events[]", "*")]).await;
            let e = r.invalid("url");
            assert!(e["message"].as_str().unwrap().contains("user name or password"), "{url}: {e}");
        }
        let (id, _) = app.endpoint("https://merchant.test/hooks", &["*"]).await;
        let r = app
            .post(&format!("/webhook_endpoints/{id}"), &[("url", "https://a:b@merchant.test/hooks")])
            .await;
        r.invalid("url");
    }
}

#[tokio::test]
async fn a_host_name_that_resolves_to_a_private_address_gets_no_request() {
    let app = TestApp::spawn_with(|s| s.webhooks.allow_private = false).await;
    let rx = Receiver::start(vec![]);
    let port = rx.base.rsplit(':').next().unwrap();
    let (we, _) = app.endpoint(&format!("http://localhost:{port}/hook"), &["*"]).await;
    customer(&app, "rebound@example.test").await;
    assert_eq!(app.deliver().await, 1);
    let d = &deliveries(&app, &format!("webhook_endpoint={we}")).await[0];
    assert_eq!(d["status"], "pending", "a failed attempt, retried later like any other: {d}");
    let a = &d["attempts"][0];
    assert_eq!((a["status_code"].clone(), a["response_body"].clone()), (Value::Null, json!("")));
    let error = a["error"].as_str().unwrap();
    assert!(
        error.starts_with("refused: localhost resolves to ") && error.ends_with("a loopback address"),
        "{error}"
    );
    assert!(rx.received().is_empty(), "no request reached the receiver");

    // The same receiver, allowed: it gets the event.
    let local = TestApp::spawn().await;
    local.endpoint(&format!("http://localhost:{port}/hook"), &["*"]).await;
    customer(&local, "local@example.test").await;
    assert_eq!(local.deliver().await, 1);
    assert_eq!(email(&rx.received()[0]), "local@example.test");
}

#[tokio::test]
async fn the_first_kilobyte_of_the_answer_is_kept_cut_between_characters() {
    let app = TestApp::spawn().await;
    // What the receiver answers, and what must be kept of it: a character of every width
    // straddling the 1024th byte is dropped whole; one that ends there is kept.
    let mut cases: Vec<(Vec<u8>, String)> = Vec::new();
    for c in ['é', '€', '😀'] {
        for inside in 1..c.len_utf8() {
            let kept = "a".repeat(1024 - inside);
            cases.push((format!("{kept}{}", c.to_string().repeat(400)).into_bytes(), kept));
        }
        let kept = format!("{}{c}", "a".repeat(1024 - c.len_utf8()));
        cases.push((format!("{kept}{}", c.to_string().repeat(400)).into_bytes(), kept));
    }
    cases.push(("z".repeat(5000).into_bytes(), "z".repeat(1024)));
    cases.push(("short and sweet ✓".into(), "short and sweet ✓".into()));
    // Bytes that are not UTF-8 are shown as U+FFFD, three bytes each: still at most 1 KB.
    cases.push((vec![0xff; 2000], "\u{fffd}".repeat(1024 / 3)));

    let rx = Receiver::start(
        cases
            .iter()
            .map(|(body, _)| Answer::Raw {
                status: 200,
                headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                body: body.clone(),
            })
            .collect(),
    );
    let (we, _) = app.endpoint(&rx.url(), &["*"]).await;
    for (i, (_, want)) in cases.iter().enumerate() {
        customer(&app, &format!("long{i}@example.test")).await;
        assert_eq!(app.deliver().await, 1);
        let d = &deliveries(&app, &format!("webhook_endpoint={we}")).await[0];
        let kept = d["attempts"][0]["response_body"].as_str().unwrap();
        assert!(kept.len() <= 1024, "case {i}: {} bytes kept", kept.len());
        assert_eq!(kept, want, "case {i}");
    }
}

fn email(r: &crate::common::Received) -> String {
    r.json()["data"]["object"]["email"].as_str().unwrap().to_owned()
}

/// A server running its delivery worker as `kassa serve` does, an endpoint for `events` whose
/// receiver answers the first event with a 500, and that event's delivery once the worker has
/// recorded the failure: (app, receiver, endpoint id, secret, delivery). The server's clock stands
/// still, so the delivery's retry (a minute on) never comes due by itself. With the worker
/// running, tests wait without blocking their runtime (`Receiver::arrived`).
async fn first_event_failed(events: &[&str], email: &str) -> (TestApp, Receiver, String, String, Value) {
    let app = TestApp::spawn_with(|s| s.deliver_webhooks = true).await;
    let rx = Receiver::start(vec![Answer::Status(500, "choked on it")]);
    let (we, secret) = app.endpoint(&rx.url(), events).await;
    customer(&app, email).await;
    let failed = poll_async("the failed attempt to be recorded", || async {
        deliveries(&app, &format!("webhook_endpoint={we}"))
            .await
            .into_iter()
            .find(|d| d["attempts"].as_array().is_some_and(|a| !a.is_empty()))
    })
    .await;
    assert_eq!(
        (failed["status"].clone(), failed["attempts"][0]["status_code"].clone()),
        (json!("pending"), json!(500))
    );
    assert!(failed["next_attempt_at"].as_i64().unwrap() > app.clock_now(), "waiting for its retry");
    (app, rx, we, secret, failed)
}

#[tokio::test]
async fn an_endpoint_that_fails_one_event_still_receives_the_next_three_within_seconds() {
    let (app, rx, _, _, failed) = first_event_failed(&["customer.created"], "poison@example.test").await;
    let started = Instant::now();
    let later: BTreeSet<String> = (1..=3).map(|i| format!("later{i}@example.test")).collect();
    for e in &later {
        customer(&app, e).await;
    }
    let got = rx.arrived(4).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "the next three took {took:?}");
    assert_eq!(got[1..].iter().map(email).collect::<BTreeSet<_>>(), later);
    // Meanwhile the failed one keeps its own schedule.
    let d = app.get(&format!("/webhook_deliveries/{}", failed["id"].as_str().unwrap())).await;
    assert_eq!(
        (d.ok()["status"].clone(), d.body["attempts"].as_array().unwrap().len()),
        (json!("pending"), 1)
    );
    assert_eq!(d.body["next_attempt_at"], failed["next_attempt_at"]);
    assert_eq!(rx.received().len(), 4);
}

#[tokio::test]
async fn one_merchants_slow_receiver_does_not_delay_another_merchants_events() {
    let app = TestApp::spawn_with(|s| {
        s.deliver_webhooks = true;
        s.webhooks.timeout = Duration::from_secs(30);
    })
    .await;
    // Account A's receiver takes 20 s over each event, with 20 of them queued.
    let slow = Receiver::start(vec![Answer::Late(Duration::from_secs(20)); 20]);
    app.endpoint(&slow.url(), &["customer.created"]).await;
    for i in 0..20 {
        customer(&app, &format!("a{i}@example.test")).await;
    }
    slow.arrived(1).await;

    // Account B's one event goes out at once all the same.
    let key_b = app.new_account("Another shop").await;
    let quick = Receiver::start(vec![]);
    let r = app
        .post_as(
            &key_b,
            "/webhook_endpoints",
            &[("url", &quick.url()), ("enabled_events[]", "customer.created")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let started = Instant::now();
    app.post_as(&key_b, "/customers", &[("email", "b@example.test")]).await.ok();
    let got = quick.arrived(1).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "B's event took {took:?} behind A's slow receiver");
    assert_eq!(email(&got[0]), "b@example.test");
    // A's receiver has as many of its events at once as its endpoint's slots (4), and no more.
    slow.arrived(4).await;
    assert_eq!(slow.received().len(), 4, "the endpoint's concurrency caps what is in flight to it");
}

#[tokio::test]
async fn a_resend_after_a_failure_arrives_within_two_seconds_and_answers_with_its_outcome() {
    let (app, rx, we, secret, failed) = first_event_failed(&["*"], "fixed@example.test").await;
    let evt = failed["event"].as_str().unwrap().to_owned();

    // The receiver is fixed (it answers 200 from now on): resending sends now, not at the retry.
    let started = Instant::now();
    let r = app.post(&format!("/events/{evt}/resend"), &[]).await;
    let got = rx.arrived(2).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "the resend took {took:?}");
    assert_eq!(got[1].json()["id"], evt.as_str());
    assert!(verify_signature(&secret, got[1].header("stripe-signature").unwrap(), &got[1].body));

    // The answer is the event, with the attempt made: the waiting delivery itself, now done.
    let body = r.ok();
    assert_eq!((body["object"].clone(), body["id"].clone()), (json!("event"), json!(evt)));
    assert_eq!(body["pending_webhooks"], 1, "counted as the resend queued it");
    let list = &body["webhook_deliveries"];
    assert_eq!(list["object"], "list");
    assert_eq!(list["has_more"], false);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let d = &list["data"][0];
    assert_eq!(d["id"], failed["id"]);
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["next_attempt_at"], Value::Null);
    let codes: Vec<&Value> = d["attempts"].as_array().unwrap().iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(500), &json!(200)]);
    assert_eq!(app.get(&format!("/events/{evt}")).await.ok()["pending_webhooks"], 0);

    // Resent again once delivered: a new delivery, attempted at once; a failure is reported, and
    // retried like any other.
    rx.then(vec![Answer::Status(503, "busy")]);
    let r = app.post(&format!("/v1/events/{evt}/resend"), &[("webhook_endpoint", &we)]).await;
    let d = &r.ok()["webhook_deliveries"]["data"][0];
    assert_ne!(d["id"], failed["id"]);
    assert_eq!(
        (d["status"].clone(), d["attempts"][0]["status_code"].clone()),
        (json!("pending"), json!(503))
    );
    assert!(d["next_attempt_at"].as_i64().unwrap() > app.clock_now());
    assert_eq!(rx.received().len(), 3);
}

#[tokio::test]
async fn an_endpoint_that_fails_for_the_whole_retry_window_is_disabled() {
    // The default schedule: 1 minute doubling to 6 hours between tries, for 3 days, on the
    // server's clock, which the test moves from one due retry to the next.
    let app = TestApp::spawn().await;
    let dead = Receiver::start(vec![Answer::Status(503, "down"); 200]);
    let flaky = Receiver::start(vec![Answer::Status(500, "not this one"); 200]);
    let (dead_we, _) = app.endpoint(&dead.url(), &["customer.created"]).await;
    let (flaky_we, _) = app.endpoint(&flaky.url(), &["customer.created"]).await;
    customer(&app, "doomed@example.test").await;
    let evt = app.list_ids("/events").await[0].clone();
    let start = app.clock_now();
    let mut got_through = false;
    for _ in 0..200 {
        app.deliver_all().await;
        // A day in, another event gets through to the flaky endpoint (nothing else is due there).
        if !got_through && app.clock_now() - start >= DAY {
            flaky.rescript(vec![]);
            customer(&app, "through@example.test").await;
            app.deliver_all().await;
            flaky.rescript(vec![Answer::Status(500, "not this one"); 200]);
            got_through = true;
        }
        let waiting = deliveries(&app, &format!("event={evt}&status=pending")).await;
        let Some(next) = waiting.iter().filter_map(|d| d["next_attempt_at"].as_i64()).min() else { break };
        app.advance((next - app.clock_now()).max(0));
    }
    assert!(got_through);

    let endpoint = app.get(&format!("/webhook_endpoints/{dead_we}")).await;
    assert_eq!(endpoint.ok()["status"], "disabled", "{}", endpoint.text);
    assert_eq!(endpoint.body["disabled_reason"], "deliveries_failed");
    let d = &deliveries(&app, &format!("event={evt}&webhook_endpoint={dead_we}")).await[0];
    assert_eq!(d["status"], "failed");
    let attempts = d["attempts"].as_array().unwrap();
    let span =
        attempts.last().unwrap()["created"].as_i64().unwrap() - attempts[0]["created"].as_i64().unwrap();
    assert!(
        attempts.len() >= 15 && (2 * DAY..=3 * DAY).contains(&span),
        "{} attempts over {span} s",
        attempts.len()
    );

    // The flaky endpoint got another event through within the window: its one event failed, but
    // the endpoint stays enabled.
    let flaky_endpoint = app.get(&format!("/webhook_endpoints/{flaky_we}")).await;
    assert_eq!(flaky_endpoint.ok()["status"], "enabled");
    assert_eq!(flaky_endpoint.body["disabled_reason"], Value::Null);
    let d = &deliveries(&app, &format!("event={evt}&webhook_endpoint={flaky_we}")).await[0];
    assert_eq!(d["status"], "failed");

    // Disabled, it gets no new events; enabled again, it says so, and what it still had pending
    // is tried at once.
    let queued = deliveries(&app, &format!("webhook_endpoint={dead_we}")).await.len();
    customer(&app, "ignored@example.test").await;
    assert_eq!(deliveries(&app, &format!("webhook_endpoint={dead_we}")).await.len(), queued);
    let r = app.post(&format!("/webhook_endpoints/{dead_we}"), &[("disabled", "false")]).await;
    assert_eq!(
        (r.ok()["status"].clone(), r.body["disabled_reason"].clone()),
        (json!("enabled"), Value::Null)
    );
    let before = dead.received().len();
    app.deliver().await;
    let got = dead.received();
    assert_eq!(got.len(), before + 1);
    assert_eq!(email(&got[before]), "through@example.test", "the event that was paused here");
}

#[tokio::test]
async fn after_the_retry_window_a_delivery_is_marked_failed_and_later_events_do_not_wait_for_it() {
    let app =
        TestApp::spawn_with(|s| s.webhooks.retry = RetryPolicy { first: 10, cap: 40, retry_for: 100 }).await;
    let rx = Receiver::start(vec![Answer::Status(500, "no")]);
    let (we, _) = app.endpoint(&rx.url(), &["*"]).await;
    customer(&app, "first@example.test").await;
    let mut attempts = app.deliver_all().await;
    // The second event goes out while the first waits for its retry (the receiver takes it), and
    // the first keeps failing.
    customer(&app, "second@example.test").await;
    attempts += app.deliver_all().await;
    assert_eq!(rx.received().len(), 2, "the second event went out without waiting");
    rx.then(vec![Answer::Status(500, "no"); 2]);

    for _ in 0..10 {
        app.advance(60);
        attempts += app.deliver_all().await;
    }
    let ds = deliveries(&app, &format!("webhook_endpoint={we}")).await;
    // Newest first: the second event went out at once, on its first attempt.
    assert_eq!(ds[1]["status"], "failed");
    assert_eq!(ds[1]["next_attempt_at"], Value::Null);
    let tries = ds[1]["attempts"].as_array().unwrap().len();
    assert_eq!(tries, 3, "tries at 0, 60 and 120 s; the next would fall past 100 s");
    assert_eq!(ds[0]["status"], "succeeded");
    assert_eq!(attempts, tries + 1);
    assert_eq!(
        app.list_ids(&format!("/webhook_deliveries?status=failed&webhook_endpoint={we}")).await.len(),
        1
    );
    app.get("/webhook_deliveries?status=lost").await.invalid("status");
}

#[tokio::test]
async fn events_can_be_resent_and_disabled_endpoints_pause() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start(vec![]);
    let other = Receiver::start(vec![]);
    let (we, _) = app.endpoint(&rx.url(), &["customer.created"]).await;
    let (we2, _) = app.endpoint(&other.url(), &["invoice.paid"]).await;
    customer(&app, "again@example.test").await;
    app.deliver_all().await;
    assert_eq!(rx.received().len(), 1);
    assert!(other.received().is_empty(), "it does not want customer.created");
    let evt = app.list_ids("/events").await[0].clone();

    let r = app.post(&format!("/events/{evt}/resend"), &[]).await;
    assert_eq!(r.ok()["id"], evt.as_str());
    assert_eq!(r.body["pending_webhooks"], 1);
    app.deliver_all().await;
    assert_eq!(rx.received().len(), 2);
    assert_eq!(rx.received()[1].json()["id"], evt.as_str());
    // Only to one endpoint, whatever it subscribed to.
    app.post(&format!("/events/{evt}/resend"), &[("webhook_endpoint", &we2)]).await.ok();
    app.deliver_all().await;
    assert_eq!(other.received().len(), 1);
    assert_eq!(rx.received().len(), 2);
    app.post(&format!("/events/{evt}/resend"), &[("webhook_endpoint", "we_nope")])
        .await
        .invalid("webhook_endpoint");
    app.post("/events/evt_nope/resend", &[]).await.error(404);

    // A disabled endpoint gets nothing new; enabled again, it goes on.
    app.post(&format!("/webhook_endpoints/{we}"), &[("disabled", "true")]).await.ok();
    customer(&app, "paused@example.test").await;
    app.deliver_all().await;
    assert_eq!(rx.received().len(), 2);
    let r = app.post(&format!("/events/{evt}/resend"), &[("webhook_endpoint", &we)]).await;
    r.invalid("webhook_endpoint");
    app.post(&format!("/webhook_endpoints/{we}"), &[("disabled", "false")]).await.ok();
    customer(&app, "back@example.test").await;
    app.deliver_all().await;
    let emails: Vec<Value> =
        rx.received().iter().map(|r| r.json()["data"]["object"]["email"].clone()).collect();
    assert_eq!(emails.last().unwrap(), "back@example.test");
    assert!(!emails.contains(&json!("paused@example.test")));

    // Deleting an endpoint drops its deliveries.
    customer(&app, "never@example.test").await;
    app.delete(&format!("/webhook_endpoints/{we}")).await.ok();
    assert!(deliveries(&app, &format!("webhook_endpoint={we}")).await.is_empty());
    app.deliver_all().await;
    assert_eq!(rx.received().len(), 3);
}

#[tokio::test]
async fn a_new_url_retries_the_waiting_delivery_at_once() {
    let app = TestApp::spawn().await;
    let broken = Receiver::start(vec![Answer::Status(404, "gone")]);
    let fixed = Receiver::start(vec![]);
    let (we, _) = app.endpoint(&broken.url(), &["*"]).await;
    customer(&app, "moved@example.test").await;
    assert_eq!(app.deliver().await, 1);
    assert_eq!(app.deliver().await, 0, "waiting for its retry");
    app.post(&format!("/webhook_endpoints/{we}"), &[("url", &fixed.url())]).await.ok();
    assert_eq!(app.deliver().await, 1);
    assert_eq!(fixed.received().len(), 1);
}

#[tokio::test]
async fn two_workers_send_each_delivery_once() {
    let app = TestApp::spawn().await;
    let rxs = [Receiver::start(vec![]), Receiver::start(vec![]), Receiver::start(vec![])];
    for rx in &rxs {
        app.endpoint(&rx.url(), &["*"]).await;
    }
    for i in 0..20 {
        customer(&app, &format!("w{i}@example.test")).await;
    }
    let (a, b) = tokio::join!(app.deliver_all(), app.deliver_all());
    assert_eq!(a + b, 60);
    for rx in &rxs {
        let ids: Vec<Value> = rx.received().iter().map(|r| r.json()["id"].clone()).collect();
        assert_eq!(ids.len(), 20);
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(unique.len(), 20, "no event twice");
    }
}

#[tokio::test]
async fn paying_emits_the_checkout_events_in_order() {
    // One attempt at a time to the endpoint: a healthy receiver then gets the events in the order
    // they were made (with more slots, concurrent attempts may arrive in any order).
    let app = TestApp::spawn_with(|s| s.webhooks.endpoint_concurrency = 1).await;
    let rx = Receiver::start(vec![]);
    app.endpoint(&rx.url(), &["*"]).await;
    let id = payment_session(&app, 1500, &["card"]).await;
    let declined = pay_card(&app, &id, "4000000000000002").await;
    assert_eq!(declined.status, StatusCode::OK);
    assert_eq!(
        app.event_types().await,
        ["payment_intent.created", "charge.failed", "payment_intent.payment_failed"]
    );
    pay_card(&app, &id, "4242424242424242").await;
    assert_eq!(
        app.event_types().await,
        [
            "payment_intent.created",
            "charge.failed",
            "payment_intent.payment_failed",
            "customer.created",
            "charge.succeeded",
            "payment_intent.succeeded",
            "checkout.session.completed",
        ]
    );
    app.deliver_all().await;
    assert_eq!(rx.types(), app.event_types().await);
    let completed = rx.received().last().unwrap().json();
    let s = &completed["data"]["object"];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "paid");
    assert_eq!(s["url"], Value::Null);
    assert_eq!(completed["request"], json!({"id": null, "idempotency_key": null}));
    let failed = &rx.received()[2].json();
    assert_eq!(failed["data"]["object"]["last_payment_error"]["code"], "card_declined");
}

#[tokio::test]
async fn expiry_by_api_and_by_the_sweep_emits_checkout_session_expired() {
    let app = TestApp::spawn().await;
    let price = app.price(700, "usd").await;
    let a = app.simple_session(&price, 1).await["id"].as_str().unwrap().to_owned();
    let b = app.simple_session(&price, 1).await["id"].as_str().unwrap().to_owned();
    app.post(&format!("/checkout/session/{a}/expire"), &[]).await.ok();
    app.advance(25 * 3600);
    assert_eq!(app.sweep().await, 1);
    let events = app.get("/events?type=checkout.session.expired").await;
    let objects: Vec<&Value> =
        events.ok()["data"].as_array().unwrap().iter().map(|e| &e["data"]["object"]).collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["id"], b.as_str());
    assert_eq!(objects[1]["id"], a.as_str());
    assert!(objects.iter().all(|o| o["status"] == "expired"));
    assert_eq!(app.sweep().await, 0);
    assert_eq!(app.event_types().await.len(), 2);
}

#[tokio::test]
async fn a_bank_transfer_emits_async_payment_succeeded() {
    let app = TestApp::spawn().await;
    let price = app.price(3000, "usd").await;
    let cus = customer(&app, "transfer@example.test").await;
    let s = app
        .session(json!({"line_items": [{"price": price, "quantity": 1}], "customer": cus, "payment_method_types": ["customer_balance"], "success_url": "https://shop.test/ok"}))
        .await;
    let id = s["id"].as_str().unwrap();
    post(&app, &format!("/pay/{id}"), &[("payment_method", "customer_balance")]).await;
    assert_eq!(
        app.event_types().await,
        ["customer.created", "payment_intent.created", "checkout.session.completed"]
    );
    let completed = app.get("/events?type=checkout.session.completed").await.ok()["data"][0].clone();
    assert_eq!(completed["data"]["object"]["payment_status"], "unpaid");

    app.post(
        &format!("/test_helpers/customers/{cus}/fund_cash_balance"),
        &[("amount", "3000"), ("currency", "usd")],
    )
    .await
    .ok();
    let types = app.event_types().await;
    assert_eq!(
        types[3..],
        ["charge.succeeded", "payment_intent.succeeded", "checkout.session.async_payment_succeeded"]
    );
    let paid = app.get("/events?type=checkout.session.async_payment_succeeded").await.ok()["data"][0].clone();
    assert_eq!(paid["data"]["object"]["id"], id);
    assert_eq!(paid["data"]["object"]["payment_status"], "paid");
    assert!(paid["request"]["id"].as_str().unwrap().starts_with("req_"));
}

#[tokio::test]
async fn a_subscription_checkout_emits_subscription_and_invoice_events() {
    let app = TestApp::spawn().await;
    let plan = app.recurring_price(2000, "usd", "month").await;
    let s = app
        .session(json!({"mode": "subscription", "line_items": [{"price": plan, "quantity": 1}], "subscription_data": {"trial_period_days": 7}, "success_url": "https://shop.test/ok"}))
        .await;
    let id = s["id"].as_str().unwrap();
    pay_card(&app, id, "4242424242424242").await;
    assert_eq!(
        app.event_types().await,
        [
            "customer.created",
            "customer.subscription.created",
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded",
            "checkout.session.completed",
        ]
    );
    let sub =
        app.get("/events?type=customer.subscription.created").await.ok()["data"][0]["data"]["object"].clone();
    assert_eq!(sub["status"], "trialing");
}

#[tokio::test]
async fn giving_up_on_a_bank_transfer_emits_async_payment_failed() {
    let app = TestApp::spawn().await;
    let price = app.price(3000, "usd").await;
    let cus = customer(&app, "gaveup@example.test").await;
    let s = app
        .session(json!({"line_items": [{"price": price, "quantity": 1}], "customer": cus, "payment_method_types": ["customer_balance"], "success_url": "https://shop.test/ok"}))
        .await;
    let id = s["id"].as_str().unwrap();
    post(&app, &format!("/pay/{id}"), &[("payment_method", "customer_balance")]).await;
    let pi =
        app.get(&format!("/checkout/session/{id}")).await.ok()["payment_intent"].as_str().unwrap().to_owned();

    app.post(&format!("/payment_intents/{pi}/cancel"), &[("cancellation_reason", "bored")])
        .await
        .invalid("cancellation_reason");
    let r = app.post(&format!("/payment_intents/{pi}/cancel"), &[("cancellation_reason", "abandoned")]).await;
    assert_eq!(r.ok()["status"], "canceled");
    assert_eq!(r.body["cancellation_reason"], "abandoned");
    assert_eq!(r.body["canceled_at"], app.clock_now());
    let types = app.event_types().await;
    assert_eq!(
        types[types.len() - 2..],
        ["payment_intent.canceled", "checkout.session.async_payment_failed"]
    );
    let failed = app.get("/events?type=checkout.session.async_payment_failed").await.ok()["data"][0].clone();
    assert_eq!(failed["data"]["object"]["id"], id);
    assert_eq!(failed["data"]["object"]["payment_status"], "unpaid");
    assert_eq!(failed["data"]["object"]["status"], "complete");
    // Once canceled, it stays canceled; funding the balance later pays nothing.
    let again = app.post(&format!("/payment_intents/{pi}/cancel"), &[]).await;
    assert!(again.error(400)["message"].as_str().unwrap().contains("canceled"));
    app.post(
        &format!("/test_helpers/customers/{cus}/fund_cash_balance"),
        &[("amount", "3000"), ("currency", "usd")],
    )
    .await
    .ok();
    assert_eq!(app.get(&format!("/payment_intents/{pi}")).await.ok()["status"], "canceled");
    assert_eq!(app.get(&format!("/checkout/session/{id}")).await.ok()["payment_status"], "unpaid");

    // An open session's attempt is the session's to settle.
    let open = payment_session(&app, 800, &["card"]).await;
    pay_card(&app, &open, "4000000000000002").await;
    let attempt =
        app.get("/payment_intents?limit=1").await.ok()["data"][0]["id"].as_str().unwrap().to_owned();
    let r = app.post(&format!("/payment_intents/{attempt}/cancel"), &[]).await;
    assert!(r.error(400)["message"].as_str().unwrap().contains("expire the session"));
    app.post("/payment_intents/pi_nope/cancel", &[]).await.error(404);
    assert_eq!(
        app.post(&format!("/v1/payment_intents/{pi}/cancel"), &[]).await.status,
        StatusCode::BAD_REQUEST
    );
}

/// The node's pace (`--webhook-max-rate`) drains a backlog without taking the CPU checkouts need,
/// but does not hold back the news: first attempts of deliveries queued just now go out at once,
/// while those queued long ago wait their turn (here one every half second).
#[tokio::test]
async fn the_pace_holds_back_a_backlog_but_not_what_happens_now() {
    let app = TestApp::spawn_with(|s| s.webhooks.max_rate = 2).await;
    let rx = Receiver::start(vec![]);
    app.endpoint(&rx.url(), &["customer.created"]).await;

    for i in 0..4 {
        customer(&app, &format!("now{i}@example.test")).await;
    }
    let started = Instant::now();
    assert_eq!(app.deliver_all().await, 4);
    let news = started.elapsed();
    assert!(news < Duration::from_millis(1200), "four fresh first attempts took {news:?}");

    for i in 0..4 {
        customer(&app, &format!("backlog{i}@example.test")).await;
    }
    // Queued a minute before they are sent: a backlog.
    app.advance(60);
    let started = Instant::now();
    assert_eq!(app.deliver_all().await, 4);
    let backlog = started.elapsed();
    assert!(backlog >= Duration::from_millis(1400), "four at two a second took only {backlog:?}");
    assert_eq!(rx.received().len(), 8);
}
