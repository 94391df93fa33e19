//! `kassa trigger` as a user runs it: a real `kassa serve`, and `kassa trigger TYPE`
//! run for every event type kassa emits. What it prints is checked against the server: the event
//! it names exists, has that type, and its `data.object` is the object it says the event is about,
//! one of the objects it made; and a webhook endpoint receives it, signed. Also `--list`, `--json`,
//! and the errors (an API error shown as the API sent it, an unknown type), each with a non-zero
//! exit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use kassa_core::webhook::EventType;
use serde_json::Value;

mod common;
use common::{Kassa, Receiver, command, poll, verify_signature};

const KEY: &str = "sk_test_TriggerTestKey000000000000000";

/// `kassa trigger <args>` against `api_url` with [`KEY`] from the environment, run to its end.
async fn trigger(dir: &Path, api_url: &str, args: &[&str]) -> Output {
    let mut all = vec!["trigger"];
    all.extend(args);
    let mut cmd = command(dir, &all, &[("KASSA_API_URL", api_url), ("KASSA_SECRET_KEY", KEY)]);
    tokio::task::spawn_blocking(move || cmd.output().expect("kassa trigger runs")).await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What the human output says: the objects (`object`, `id`), the event id, and what the event's
/// `data.object` is (`object`, `id`).
fn parse(stdout: &str) -> (Vec<(String, String)>, String, (String, String)) {
    let mut lines = stdout.lines();
    assert!(lines.next().unwrap().starts_with("Triggered "), "{stdout}");
    assert_eq!(lines.next(), Some("Objects:"), "{stdout}");
    let mut objects = Vec::new();
    let mut event_line = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("Event: ") {
            event_line = Some(rest.to_owned());
            break;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(words.len() == 2 || words[2..] == ["(data.object)"], "{line:?} in\n{stdout}");
        objects.push((words[0].to_owned(), words[1].to_owned()));
    }
    // `evt_… (TYPE, data.object OBJECT ID)`
    let event_line = event_line.unwrap_or_else(|| panic!("no Event: line in\n{stdout}"));
    let words: Vec<&str> = event_line
        .split(|c: char| c.is_whitespace() || "(),".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(words.len(), 5, "{event_line}");
    assert_eq!(words[2], "data.object", "{event_line}");
    (objects, words[0].to_owned(), (words[3].to_owned(), words[4].to_owned()))
}

/// The id prefix of each kind of object `kassa trigger` makes.
fn prefix(object: &str) -> &'static str {
    match object {
        "product" => "prod_",
        "price" => "price_",
        "customer" => "cus_",
        "checkout.session" => "cs_test_",
        "payment_intent" => "pi_",
        "setup_intent" => "seti_",
        "subscription" => "sub_",
        "invoice" => "in_",
        "test_helpers.test_clock" => "clock_",
        "tax_id" => "txi_",
        "charge" => "ch_",
        "refund" => "re_",
        "billing_portal.session" => "bps_",
        "payment_method" => "pm_",
        other => panic!("an object of an unexpected kind: {other}"),
    }
}

async fn get(client: &reqwest::Client, base: &str, path: &str) -> (u16, Value) {
    let r = client.get(format!("{base}{path}")).bearer_auth(KEY).send().await.expect("request sent");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kassa_trigger_causes_every_event_type_kassa_emits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", KEY)]);
    let base = format!("http://{addr}");
    let client = kassa::client::builder().build().unwrap();
    let rx = Receiver::start(vec![]);
    let r = client
        .post(format!("{base}/v1/webhook_endpoints"))
        .bearer_auth(KEY)
        .form(&[("url", rx.url().as_str()), ("enabled_events[]", "*")])
        .send()
        .await
        .unwrap();
    let endpoint: Value = r.json().await.unwrap();
    let secret = endpoint["secret"].as_str().expect("the endpoint's secret").to_owned();
    let mut triggered = Vec::new();

    // `--list` names every type, one a line, and needs no key.
    let out = command(dir.path(), &["trigger", "--list"], &[]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: Vec<String> =
        text(&out.stdout).lines().map(|l| l.split_whitespace().next().unwrap().to_owned()).collect();
    let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(listed, all);

    for t in EventType::ALL {
        let out = trigger(dir.path(), &base, &[t.as_str()]).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "kassa trigger {}:\n{stdout}\n{stderr}", t.as_str());
        let (objects, event_id, (about_kind, about_id)) = parse(&stdout);
        for (object, id) in &objects {
            assert!(id.starts_with(prefix(object)), "{object} {id}");
        }
        assert!(
            objects.contains(&(about_kind.clone(), about_id.clone())),
            "{}: the event is about an object it made:\n{stdout}",
            t.as_str()
        );

        let (status, event) = get(&client, &base, &format!("/v1/events/{event_id}")).await;
        assert_eq!(status, 200, "{event}");
        assert_eq!(event["type"], t.as_str(), "{event}");
        if t.as_str() == "invoice.upcoming" {
            // The invoice a renewal will make: not saved, so without an id, as on Stripe.
            assert!(event["data"]["object"].get("id").is_none(), "{event}");
            assert_eq!(event["data"]["object"]["object"], "invoice", "{event}");
            assert_eq!(event["data"]["object"]["subscription"], about_id.as_str(), "{event}");
        } else {
            assert_eq!(event["data"]["object"]["id"], about_id.as_str(), "{event}");
            assert_eq!(event["data"]["object"]["object"], about_kind.as_str(), "{event}");
        }
        // What it is about is really there.
        let path = match about_kind.as_str() {
            "checkout.session" => "checkout/sessions".to_owned(),
            "payment_intent" => "payment_intents".to_owned(),
            "customer" => "customers".to_owned(),
            "subscription" => "subscriptions".to_owned(),
            "invoice" => "invoices".to_owned(),
            "tax_id" => {
                format!("customers/{}/tax_ids", event["data"]["object"]["customer"].as_str().unwrap())
            }
            "setup_intent" => "setup_intents".to_owned(),
            "charge" => "charges".to_owned(),
            "refund" => "refunds".to_owned(),
            "payment_method" => "payment_methods".to_owned(),
            // Stripe has no retrieve for portal sessions: its configuration is there.
            "billing_portal.session" => "billing_portal/configurations".to_owned(),
            other => panic!("an event about a {other}"),
        };
        let about_id = match about_kind.as_str() {
            "billing_portal.session" => event["data"]["object"]["configuration"].as_str().unwrap().to_owned(),
            _ => about_id,
        };
        let (status, object) = get(&client, &base, &format!("/v1/{path}/{about_id}")).await;
        // A deleted tax id is gone; everything else is there.
        let gone = t.as_str() == "customer.tax_id.deleted";
        assert_eq!(status, if gone { 404 } else { 200 }, "{object}");
        triggered.push((t.as_str(), event_id));
    }

    // Each triggered event reaches the endpoint at once, signed; those dated on a test clock a
    // month ahead too (their deliveries are due now, not at the clock's date).
    for (kind, event_id) in &triggered {
        let got = poll(&format!("the {kind} event {event_id} at the endpoint"), || {
            rx.received().into_iter().find(|r| r.json()["id"] == event_id.as_str())
        });
        assert_eq!(got.json()["type"], *kind);
        assert!(verify_signature(&secret, got.header("stripe-signature").unwrap(), &got.body), "{kind}");
    }

    // `--json`: the objects, what the event is about, and the event whole.
    let out = trigger(dir.path(), &base, &["invoice.payment_failed", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["type"], "invoice.payment_failed");
    assert!(json["description"].as_str().is_some_and(|d| d.contains("4000 0000 0000 0341")), "{json}");
    let objects = json["objects"].as_array().unwrap();
    assert!(
        objects.iter().all(|o| o["id"].as_str().unwrap().starts_with(prefix(o["object"].as_str().unwrap())))
    );
    let kinds: Vec<&str> = objects.iter().map(|o| o["object"].as_str().unwrap()).collect();
    for kind in ["test_helpers.test_clock", "customer", "checkout.session", "subscription", "invoice"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    assert_eq!(json["data_object"]["object"], "invoice");
    assert!(objects.contains(&json["data_object"]), "{json}");
    let event = &json["event"];
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "invoice.payment_failed");
    assert_eq!(event["data"]["object"]["id"], json["data_object"]["id"]);
    assert_eq!(event["data"]["object"]["status"], "open", "the renewal's invoice is left open");
    let (_, stored) = get(&client, &base, &format!("/v1/events/{}", event["id"].as_str().unwrap())).await;
    assert_eq!(stored["data"], event["data"]);

    assert!(kassa.terminate().success());
}

#[tokio::test]
async fn kassa_trigger_shows_api_errors_as_the_api_sent_them_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", KEY)]);
    let base = format!("http://{addr}");

    // A key of no account: the 401 with Stripe's error body, and a failing exit.
    let out = command(
        dir.path(),
        &["trigger", "customer.created", "--api-url", &base, "--api-key", "sk_test_NoSuchAccount0000000000"],
        &[],
    )
    .output()
    .unwrap();
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(stderr.contains("POST /v1/customers answered 401 Unauthorized:"), "{stderr}");
    let body: Value = serde_json::from_str(&stderr[stderr.find('{').unwrap()..]).unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error", "{stderr}");
    assert!(body["error"]["message"].as_str().unwrap().contains("0000"), "{stderr}");

    // A type kassa does not emit: said so, with where to look; nothing is made.
    let out = trigger(dir.path(), &base, &["charge.dispute.created"]).await;
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("charge.dispute.created") && stderr.contains("kassa trigger --list"), "{stderr}");
    let client = kassa::client::builder().build().unwrap();
    let (_, products) = get(&client, &base, "/v1/products").await;
    assert_eq!(products["data"], Value::Array(vec![]));

    // No server there.
    let out = trigger(dir.path(), "http://127.0.0.1:9", &["customer.created"]).await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("reaching kassa at http://127.0.0.1:9"), "{}", text(&out.stderr));
    assert!(kassa.terminate().success());
}
