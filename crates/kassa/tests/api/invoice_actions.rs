//! `POST /invoices/{id}/void` and `/mark_uncollectible`: an open renewal invoice whose
//! charge failed is given up on, the subscription stops retrying it, and `invoice.voided` /
//! `invoice.marked_uncollectible` are sent; a paid or void invoice refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use crate::billing::{advance, clock_and_customer, invoices, subscribe, ts};
use crate::common::id;
use crate::helpers::TestApp;

const DAY: i64 = 86_400;

/// A subscription whose first renewal (2027-02-01) failed: (clock, subscription, paid first
/// invoice, open renewal invoice).
async fn failed_renewal(app: &TestApp) -> (String, String, String, String) {
    let (clock, cus) = clock_and_customer(app, ts(2027, 1, 1)).await;
    let sub = subscribe(app, Some(&cus), 1000, "month", "4000000000000341", json!({})).await;
    let sid = id(&sub);
    advance(app, &clock, ts(2027, 2, 1) + 60).await;
    let all = invoices(app, &sid).await;
    assert_eq!(all.len(), 2);
    assert_eq!((&all[1]["status"], &all[1]["attempt_count"]), (&json!("open"), &json!(1)));
    (clock, sid, id(&all[0]), id(&all[1]))
}

#[tokio::test]
async fn voiding_an_open_invoice_stops_its_collection() {
    let app = TestApp::spawn().await;
    let (clock, sub, paid, open) = failed_renewal(&app).await;
    let r = app.post(&format!("/invoices/{open}/void"), &[]).await;
    assert_eq!(r.ok()["status"], "void");
    assert_eq!(r.body["status_transitions"]["voided_at"], ts(2027, 2, 1) + 60, "the clock's time");
    assert_eq!(r.body["next_payment_attempt"], serde_json::Value::Null);
    let events = app.get("/events?type=invoice.voided").await;
    assert_eq!(events.ok()["data"][0]["data"]["object"]["id"], open.as_str());

    // The retries (1, 2 and 4 days later) no longer happen.
    advance(&app, &clock, ts(2027, 2, 1) + 8 * DAY).await;
    let inv = app.get(&format!("/invoices/{open}")).await;
    assert_eq!((&inv.ok()["status"], &inv.body["attempt_count"]), (&json!("void"), &json!(1)));
    let s = app.get(&format!("/subscriptions/{sub}")).await;
    assert_ne!(s.ok()["status"], "canceled", "dunning did not run out on a void invoice");

    // Paid and void invoices refuse, and stay as they were.
    app.post(&format!("/invoices/{open}/void"), &[]).await.error(400);
    app.post(&format!("/invoices/{open}/mark_uncollectible"), &[]).await.error(400);
    app.post(&format!("/invoices/{paid}/void"), &[]).await.error(400);
    assert_eq!(app.get(&format!("/invoices/{paid}")).await.ok()["status"], "paid");
    app.post("/invoices/in_nope/void", &[]).await.error(404);
}

#[tokio::test]
async fn an_uncollectible_invoice_can_still_be_voided() {
    let app = TestApp::spawn().await;
    let (_clock, _sub, _paid, open) = failed_renewal(&app).await;
    let r = app.post(&format!("/invoices/{open}/mark_uncollectible"), &[]).await;
    assert_eq!(r.ok()["status"], "uncollectible");
    assert_eq!(r.body["status_transitions"]["marked_uncollectible_at"], ts(2027, 2, 1) + 60);
    let events = app.get("/events?type=invoice.marked_uncollectible").await;
    assert_eq!(events.ok()["data"][0]["data"]["object"]["id"], open.as_str());
    let r = app.post(&format!("/invoices/{open}/void"), &[]).await;
    assert_eq!(r.ok()["status"], "void");
}

#[tokio::test]
async fn paying_an_open_invoice_charges_now_and_a_new_card_recovers_it() {
    let app = TestApp::spawn().await;
    let (_clock, sub, paid, open) = failed_renewal(&app).await;
    let pay = format!("/invoices/{open}/pay");

    // The saved card still declines: the attempt is counted, the invoice stays open.
    let r = app.post(&pay, &[]).await;
    assert_eq!((&r.ok()["status"], &r.body["attempt_count"]), (&json!("open"), &json!(2)));

    // A new card saved by a setup-mode checkout, made the subscription's default, pays it.
    let customer =
        app.get(&format!("/subscriptions/{sub}")).await.ok()["customer"].as_str().unwrap().to_owned();
    let pm = app.saved_card(&customer, "4242424242424242").await;
    app.post(&format!("/subscriptions/{sub}"), &[("default_payment_method", &pm)]).await.ok();

    let r = app.post(&pay, &[]).await;
    assert_eq!((&r.ok()["status"], &r.body["amount_paid"]), (&json!("paid"), &json!(1000)), "{}", r.text);
    assert_eq!(app.get(&format!("/subscriptions/{sub}")).await.ok()["status"], "active");
    let events = app.get("/events?type=invoice.payment_succeeded").await;
    assert_eq!(events.ok()["data"][0]["data"]["object"]["id"], open.as_str());

    app.post(&pay, &[]).await.error(400);
    app.post(&format!("/invoices/{paid}/pay"), &[]).await.error(400);
}
