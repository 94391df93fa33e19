#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Money that must not move twice or differ from what the customer approved: a cash
//! balance raced by many sessions pays at most what it holds, and while a payment waits for the
//! customer's approval the order cannot change, so the charge is the amount approved.

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::pay::{pay_card, post};

async fn customer(app: &TestApp, email: &str) -> String {
    app.post("/customers", &[("email", email)]).await.ok()["id"].as_str().unwrap().to_owned()
}

async fn fund(app: &TestApp, customer: &str, amount: i64) {
    let path = format!("/test_helpers/customers/{customer}/fund_cash_balance");
    app.post(&path, &[("amount", &amount.to_string()), ("currency", "usd")]).await.ok();
}

async fn balance(app: &TestApp, customer: &str) -> i64 {
    let c = app.get(&format!("/customers/{customer}")).await;
    c.ok()["cash_balance"]["available"]["usd"].as_i64().unwrap_or(0)
}

async fn session(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/checkout/session/{id}?expand[]=payment_intent")).await.ok().clone()
}

#[tokio::test]
async fn a_cash_balance_pays_only_what_it_holds_however_many_sessions_race_for_it() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let cus = customer(&app, "rich@example.test").await;
    fund(&app, &cus, 1000).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        let s = app
            .session(json!({
                "line_items": [{"price": price, "quantity": 1}],
                "customer": cus,
                "payment_method_types": ["customer_balance"],
            }))
            .await;
        ids.push(s["id"].as_str().unwrap().to_owned());
    }
    // All ten at once, each on a task of its own.
    let browser = kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let submits: Vec<_> = ids
        .iter()
        .map(|id| {
            let req = browser
                .post(app.url(&format!("/pay/{id}")))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("payment_method=customer_balance");
            tokio::spawn(async move { req.send().await.unwrap().status() })
        })
        .collect();
    for task in submits {
        let status = task.await.unwrap();
        assert_eq!(status, 303, "every submission completes, paid or waiting for a transfer");
    }
    let mut paid = 0;
    let mut waiting = 0;
    for id in &ids {
        let s = session(&app, id).await;
        assert_eq!(s["status"], "complete");
        match s["payment_status"].as_str().unwrap() {
            "paid" => {
                paid += 1;
                assert_eq!(s["payment_intent"]["status"], "succeeded");
            }
            "unpaid" => {
                waiting += 1;
                assert_eq!(s["payment_intent"]["status"], "requires_action", "the bank-transfer path");
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!((paid, waiting), (1, 9), "the balance covered exactly one session");
    assert_eq!(balance(&app, &cus).await, 0, "debited once, never below zero");

    // Funding the balance again pays the waiting sessions, oldest first, as far as it covers them.
    fund(&app, &cus, 2500).await;
    let mut now_paid = 0;
    for id in &ids {
        now_paid += usize::from(session(&app, id).await["payment_status"] == "paid");
    }
    assert_eq!(now_paid, 3);
    assert_eq!(balance(&app, &cus).await, 500);
}

/// An open session of 10.00 USD with an adjustable quantity, taking card and PayPal and
/// promotion codes; and the id of its one line.
async fn adjustable(app: &TestApp) -> (String, String) {
    let price = app.price(1000, "usd").await;
    let s = app
        .session(json!({
            "line_items": [{"price": price, "quantity": 1, "adjustable_quantity": {"enabled": true, "maximum": 99}}],
            "payment_method_types": ["card", "paypal"],
            "allow_promotion_codes": true,
            "success_url": "https://shop.test/ok",
        }))
        .await;
    let line = s["line_items"]["data"][0]["id"].as_str().map(str::to_owned);
    let id = s["id"].as_str().unwrap().to_owned();
    let line = match line {
        Some(l) => l,
        None => {
            let full = app.get(&format!("/checkout/session/{id}?expand[]=line_items")).await;
            full.ok()["line_items"]["data"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    (id, line)
}

/// Everything the customer could try on the page while a payment waits; each is refused with the
/// reason and changes nothing.
async fn every_change_is_refused(app: &TestApp, id: &str, line: &str) {
    let quantity = format!("quantity[{line}]");
    let r = post(app, &format!("/pay/{id}/quantities"), &[(&quantity, "99")]).await;
    assert_eq!(r.status, 200, "the page again, with the reason: {}", r.text);
    assert!(r.text.contains("A payment is waiting for your approval."), "{}", r.text);
    let r = post(app, &format!("/pay/{id}/quantities"), &[("step", &format!("{line}:1"))]).await;
    assert!(r.text.contains("A payment is waiting for your approval."), "{}", r.text);
    // The script's JSON path too.
    let req = kassa::client::builder()
        .build()
        .unwrap()
        .post(app.url(&format!("/pay/{id}/quantities")))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("quantity%5B{line}%5D=50"));
    let r = app.send(req).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["amount_total"], 1000);
    assert!(r.body["error"].as_str().unwrap().contains("waiting for your approval"), "{}", r.text);
    let r = post(app, &format!("/pay/{id}/promotion_code"), &[("code", "HALF")]).await;
    assert!(r.text.contains("A payment is waiting for your approval."), "{}", r.text);
    let s = session(app, id).await;
    assert_eq!(
        (s["amount_total"].as_i64(), &s["discounts"]),
        (Some(1000), &json!([])),
        "nothing changed: {s}"
    );
}

async fn half_off_code(app: &TestApp) {
    let coupon = app.coupon(&[("percent_off", "50")]).await;
    app.post("/promotion_codes", &[("coupon", &coupon), ("code", "HALF")]).await.ok();
}

#[tokio::test]
async fn the_order_is_frozen_while_3ds_waits_and_the_charge_is_what_was_approved() {
    let app = TestApp::spawn().await;
    half_off_code(&app).await;
    let (id, line) = adjustable(&app).await;
    let r = pay_card(&app, &id, "4000002760003184").await;
    assert_eq!(r.header("location"), Some(format!("/pay/{id}/3ds").as_str()));
    let challenge =
        app.send(kassa::client::builder().build().unwrap().get(app.url(&format!("/pay/{id}/3ds")))).await;
    assert!(challenge.text.contains("$10.00"), "{}", challenge.text);
    every_change_is_refused(&app, &id, &line).await;
    let r = post(&app, &format!("/pay/{id}/3ds"), &[("result", "complete")]).await;
    assert_eq!(r.header("location"), Some("https://shop.test/ok"), "{}", r.text);
    let s = session(&app, &id).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["amount_total"], 1000);
    assert_eq!(s["payment_intent"]["amount"], 1000, "charged what the challenge showed");
    assert_eq!(s["payment_intent"]["status"], "succeeded");
}

#[tokio::test]
async fn the_order_is_frozen_while_paypal_waits_and_the_charge_is_what_was_approved() {
    let app = TestApp::spawn().await;
    half_off_code(&app).await;
    let (id, line) = adjustable(&app).await;
    let r = post(&app, &format!("/pay/{id}"), &[("email", "pp@example.test"), ("payment_method", "paypal")])
        .await;
    assert_eq!(r.header("location"), Some(format!("/pay/{id}/paypal").as_str()));
    every_change_is_refused(&app, &id, &line).await;
    let r = post(&app, &format!("/pay/{id}/paypal"), &[("decision", "approve")]).await;
    assert_eq!(r.header("location"), Some("https://shop.test/ok"), "{}", r.text);
    let s = session(&app, &id).await;
    assert_eq!((s["status"].as_str(), s["amount_total"].as_i64()), (Some("complete"), Some(1000)));
    assert_eq!(s["payment_intent"]["amount"], 1000);
}

#[tokio::test]
async fn failing_or_cancelling_the_approval_lets_the_order_change_again() {
    let app = TestApp::spawn().await;
    half_off_code(&app).await;
    let quantity = |line: &str| format!("quantity[{line}]");

    let (id, line) = adjustable(&app).await;
    pay_card(&app, &id, "4000002760003184").await;
    let r = post(&app, &format!("/pay/{id}/3ds"), &[("result", "fail")]).await;
    assert_eq!(r.status, 200, "declined, shown on the page: {}", r.text);
    let r = post(&app, &format!("/pay/{id}/quantities"), &[(&quantity(&line), "3")]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(session(&app, &id).await["amount_total"], 3000);
    // Paid afterwards, for the new total.
    let r = pay_card(&app, &id, "4242424242424242").await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(session(&app, &id).await["payment_intent"]["amount"], 3000);

    let (id, line) = adjustable(&app).await;
    post(&app, &format!("/pay/{id}"), &[("email", "pp@example.test"), ("payment_method", "paypal")]).await;
    let r = post(&app, &format!("/pay/{id}/paypal"), &[("decision", "cancel")]).await;
    assert!(r.text.contains("The PayPal payment was cancelled."), "{}", r.text);
    let r = post(&app, &format!("/pay/{id}/promotion_code"), &[("code", "half")]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let r = post(&app, &format!("/pay/{id}/quantities"), &[(&quantity(&line), "2")]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(session(&app, &id).await["amount_total"], 1000, "2 × 10.00 at half price");
}
