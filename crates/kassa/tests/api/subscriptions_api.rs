//! Subscriptions made and changed through the API (issue 17): `POST /subscriptions` with each
//! `payment_behavior` (declines included), trials, `send_invoice`, `incomplete_expired`; items
//! added and deleted, `/subscription_items`; `pause_collection` and a paused subscription resumed;
//! `/invoiceitems` collected by the next invoice. Every customer is on a test clock at
//! 2027-01-01 12:00, so every time is exact.
//!
//! Cards: 4242 4242 4242 4242 always succeeds; 4000 0000 0000 0341 is saved by a setup-mode
//! checkout and declines every later charge (`card_declined` / `generic_decline`), which is how a
//! saved card declines (a card that declines at once, 4000 0000 0000 0002, cannot be saved).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::billing::{advance, clock_and_customer, invoices, subscription, ts};
use crate::common::id;
use crate::helpers::TestApp;

const OK: &str = "4242424242424242";
const FAILS_LATER: &str = "4000000000000341";
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// A customer on a clock at 2027-01-01 12:00 with `card` saved by a setup-mode checkout
/// (`None`: no card); returns (clock, customer, payment method).
async fn customer(app: &TestApp, card: Option<&str>) -> (String, String, Option<String>) {
    let (clock, cus) = clock_and_customer(app, ts(2027, 1, 1)).await;
    let Some(card) = card else { return (clock, cus, None) };
    let pm = app.saved_card(&cus, card).await;
    (clock, cus, Some(pm))
}

/// A customer on a clock at 2027-01-01 12:00 with `card` saved, subscribed to a monthly price of
/// `amount` that the card pays; returns (clock, customer, payment method, subscription).
async fn subscribed(app: &TestApp, card: &str, amount: i64) -> (String, String, String, Value) {
    let (clock, cus, pm) = customer(app, Some(card)).await;
    let pm = pm.unwrap();
    let sub = app.monthly_subscription(&cus, &pm, amount).await;
    (clock, cus, pm, sub)
}

async fn invoice(app: &TestApp, id: &Value) -> Value {
    app.get(&format!("/invoices/{}", id.as_str().unwrap())).await.ok().clone()
}

/// The event types since the last `n` looked at, oldest first.
async fn types_of(app: &TestApp, object: &str) -> Vec<String> {
    let r = app.get("/events?limit=100").await;
    let mut all: Vec<(String, String)> = r.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["data"]["object"]["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    all.reverse();
    all.into_iter().filter(|(_, o)| o == object || object.is_empty()).map(|(t, _)| t).collect()
}

#[tokio::test]
async fn allow_incomplete_charges_the_first_invoice_at_once_and_renews() {
    let app = TestApp::spawn().await;
    let (clock, cus, pm) = customer(&app, Some(OK)).await;
    let pm = pm.unwrap();
    let price = app.recurring_price(1000, "usd", "month").await;
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("items[0][quantity]", "2"),
            ("default_payment_method", &pm),
            ("metadata[plan]", "team"),
            ("expand[]", "latest_invoice.payment_intent"),
        ])
        .await;
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["collection_method"], "charge_automatically");
    assert_eq!(sub["metadata"], json!({"plan": "team"}));
    assert_eq!(sub["test_clock"], clock.as_str(), "it follows its customer's clock");
    assert_eq!(
        (&sub["current_period_start"], &sub["current_period_end"]),
        (&json!(ts(2027, 1, 1)), &json!(ts(2027, 2, 1)))
    );
    let inv = &sub["latest_invoice"];
    assert_eq!(
        (&inv["status"], &inv["amount_paid"], &inv["billing_reason"]),
        (&json!("paid"), &json!(2000), &json!("subscription_create"))
    );
    assert_eq!(inv["payment_intent"]["status"], "succeeded");
    assert_eq!(inv["payment_intent"]["amount"], 2000);
    let sub_id = id(&sub);
    let inv_id = inv["id"].as_str().unwrap().to_owned();
    assert_eq!(types_of(&app, &sub_id).await, ["customer.subscription.created"]);
    assert_eq!(
        types_of(&app, &inv_id).await,
        ["invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"]
    );

    advance(&app, &clock, ts(2027, 2, 1)).await;
    let all = invoices(&app, &sub_id).await;
    assert_eq!(all.len(), 2);
    assert_eq!((&all[1]["status"], &all[1]["amount_paid"]), (&json!("paid"), &json!(2000)));
    assert_eq!(all[1]["billing_reason"], "subscription_cycle");
}

#[tokio::test]
async fn a_declined_first_charge_leaves_it_incomplete_for_23_hours_then_incomplete_expired() {
    let app = TestApp::spawn().await;
    let (clock, .., sub) = subscribed(&app, FAILS_LATER, 1500).await;
    assert_eq!(sub["status"], "incomplete");
    let inv = invoice(&app, &sub["latest_invoice"]).await;
    assert_eq!(
        (&inv["status"], &inv["attempt_count"], &inv["amount_paid"]),
        (&json!("open"), &json!(1), &json!(0))
    );
    assert_eq!(inv["next_payment_attempt"], Value::Null, "not retried by itself");
    let pi = app.get(&format!("/payment_intents/{}", inv["payment_intent"].as_str().unwrap())).await;
    assert_eq!(pi.ok()["status"], "requires_payment_method");
    assert_eq!(pi.body["last_payment_error"]["code"], "card_declined");
    assert_eq!(pi.body["last_payment_error"]["decline_code"], "generic_decline");
    let sub_id = id(&sub);

    // 22 hours later it is still incomplete; at 23 hours it expires and its invoice is voided.
    advance(&app, &clock, ts(2027, 1, 1) + 22 * HOUR).await;
    assert_eq!(subscription(&app, &sub_id).await["status"], "incomplete");
    advance(&app, &clock, ts(2027, 1, 1) + 23 * HOUR).await;
    let expired = subscription(&app, &sub_id).await;
    assert_eq!(expired["status"], "incomplete_expired");
    assert_eq!(invoice(&app, &sub["latest_invoice"]).await["status"], "void");
    let updated = app.get("/events?type=customer.subscription.updated").await;
    assert_eq!(updated.ok()["data"][0]["data"]["object"]["status"], "incomplete_expired");
    assert_eq!(updated.body["data"][0]["data"]["previous_attributes"]["status"], "incomplete");
    // Nothing more happens to it.
    advance(&app, &clock, ts(2027, 3, 1)).await;
    assert_eq!(invoices(&app, &sub_id).await.len(), 1);
}

#[tokio::test]
async fn default_incomplete_waits_for_its_first_invoice_to_be_paid() {
    let app = TestApp::spawn().await;
    let (_clock, cus, pm) = customer(&app, Some(OK)).await;
    let price = app.recurring_price(1000, "usd", "month").await;
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("default_payment_method", pm.as_deref().unwrap()),
            ("payment_behavior", "default_incomplete"),
            ("expand[]", "latest_invoice.payment_intent"),
        ])
        .await;
    assert_eq!(sub["status"], "incomplete");
    let inv = &sub["latest_invoice"];
    assert_eq!((&inv["status"], &inv["attempt_count"]), (&json!("open"), &json!(0)));
    assert_eq!(inv["payment_intent"]["status"], "requires_payment_method");
    assert_eq!(inv["payment_intent"]["amount"], 1000);
    let inv_id = inv["id"].as_str().unwrap();
    let paid = app.post(&format!("/invoices/{inv_id}/pay"), &[]).await;
    assert_eq!(
        (&paid.ok()["status"], &paid.body["amount_paid"]),
        (&json!("paid"), &json!(1000)),
        "{}",
        paid.text
    );
    assert_eq!(subscription(&app, &id(&sub)).await["status"], "active");
    let pi = app.get(&format!("/payment_intents/{}", inv["payment_intent"]["id"].as_str().unwrap())).await;
    assert_eq!(pi.ok()["status"], "succeeded", "the invoice's own intent is the one that succeeded");

    // An incomplete subscription can be canceled: its first invoice is voided.
    let other = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("payment_behavior", "default_incomplete"),
        ])
        .await;
    assert_eq!(other["status"], "incomplete", "no payment method: nothing charged");
    let canceled = app.delete(&format!("/subscriptions/{}", id(&other))).await;
    assert_eq!(canceled.ok()["status"], "canceled", "{}", canceled.text);
    assert_eq!(invoice(&app, &other["latest_invoice"]).await["status"], "void");
}

#[tokio::test]
async fn error_if_incomplete_answers_402_on_a_decline_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let (_clock, cus, pm) = customer(&app, Some(FAILS_LATER)).await;
    let price = app.recurring_price(1000, "usd", "month").await;
    let r = app
        .post(
            "/subscriptions",
            &[
                ("customer", &cus),
                ("items[0][price]", &price),
                ("default_payment_method", pm.as_deref().unwrap()),
                ("payment_behavior", "error_if_incomplete"),
            ],
        )
        .await;
    let e = r.error(402);
    assert_eq!(
        (&e["type"], &e["code"], &e["decline_code"]),
        (&json!("card_error"), &json!("card_declined"), &json!("generic_decline"))
    );
    assert_eq!(app.count(&format!("/subscriptions?customer={cus}&status=all")).await, 0);
    assert_eq!(app.count(&format!("/invoices?customer={cus}")).await, 0);
    assert!(
        app.get("/events?type=customer.subscription.created").await.ok()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Without a payment method to charge it is a 400, also creating nothing.
    let (_c, bare, _) = customer(&app, None).await;
    let r = app
        .post(
            "/subscriptions",
            &[("customer", &bare), ("items[0][price]", &price), ("payment_behavior", "error_if_incomplete")],
        )
        .await;
    assert_eq!(r.error(400)["type"], "invalid_request_error");
    assert_eq!(app.count(&format!("/subscriptions?customer={bare}&status=all")).await, 0);

    // The same request with a card that pays succeeds.
    let (_c, good, pm) = customer(&app, Some(OK)).await;
    let sub = app
        .create_subscription(&[
            ("customer", &good),
            ("items[0][price]", &price),
            ("default_payment_method", pm.as_deref().unwrap()),
            ("payment_behavior", "error_if_incomplete"),
        ])
        .await;
    assert_eq!(sub["status"], "active");
}

#[tokio::test]
async fn a_trial_invoices_nothing_until_it_ends_then_charges() {
    let app = TestApp::spawn().await;
    let (clock, cus, pm) = customer(&app, Some(OK)).await;
    let price = app.recurring_price(1000, "usd", "month").await;
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("default_payment_method", pm.as_deref().unwrap()),
            ("trial_period_days", "14"),
        ])
        .await;
    assert_eq!(sub["status"], "trialing");
    assert_eq!((&sub["trial_start"], &sub["trial_end"]), (&json!(ts(2027, 1, 1)), &json!(ts(2027, 1, 15))));
    assert_eq!(sub["current_period_end"], ts(2027, 1, 15));
    let first = invoice(&app, &sub["latest_invoice"]).await;
    assert_eq!((&first["status"], &first["amount_due"]), (&json!("paid"), &json!(0)));
    let sub_id = id(&sub);
    advance(&app, &clock, ts(2027, 1, 15)).await;
    let all = invoices(&app, &sub_id).await;
    assert_eq!((&all[1]["amount_paid"], &all[1]["period_end"]), (&json!(1000), &json!(ts(2027, 2, 15))));
    assert_eq!(subscription(&app, &sub_id).await["status"], "active");

    // `trial_end=now` on an update ends a trial at once and charges the first period now.
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("default_payment_method", pm.as_deref().unwrap()),
            ("trial_period_days", "30"),
        ])
        .await;
    let ended = app.post(&format!("/subscriptions/{}", id(&sub)), &[("trial_end", "now")]).await;
    assert_eq!(ended.ok()["status"], "active", "{}", ended.text);
    assert_eq!(ended.body["trial_end"], ts(2027, 1, 15));
    assert_eq!(ended.body["current_period_start"], ts(2027, 1, 15));
    let inv = invoice(&app, &ended.body["latest_invoice"]).await;
    assert_eq!(
        (&inv["status"], &inv["amount_paid"], &inv["billing_reason"]),
        (&json!("paid"), &json!(1000), &json!("subscription_update"))
    );
}

#[tokio::test]
async fn a_trial_ending_without_a_payment_method_pauses_it_until_resumed() {
    let app = TestApp::spawn().await;
    let (clock, cus, _) = customer(&app, None).await;
    let price = app.recurring_price(1000, "usd", "month").await;
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("trial_period_days", "7"),
            ("trial_settings[end_behavior][missing_payment_method]", "pause"),
        ])
        .await;
    let sub_id = id(&sub);
    assert_eq!(sub["trial_settings"]["end_behavior"]["missing_payment_method"], "pause");
    advance(&app, &clock, ts(2027, 1, 9)).await;
    let paused = subscription(&app, &sub_id).await;
    assert_eq!(paused["status"], "paused");
    assert_eq!(invoices(&app, &sub_id).await.len(), 1, "nothing invoiced while paused");
    let ev = app.get("/events?type=customer.subscription.paused").await;
    assert_eq!(ev.ok()["data"][0]["data"]["object"]["id"], sub_id.as_str());
    advance(&app, &clock, ts(2027, 3, 1)).await;
    assert_eq!(invoices(&app, &sub_id).await.len(), 1, "a paused subscription is not billed");

    // Only a paused subscription resumes.
    let other = app
        .create_subscription(&[("customer", &cus), ("items[0][price]", &price), ("trial_period_days", "7")])
        .await;
    app.post(&format!("/subscriptions/{}/resume", id(&other)), &[]).await.error(400);

    // A card saved meanwhile pays the period that starts when it resumes.
    let pm = app.saved_card(&cus, OK).await;
    app.post(&format!("/subscriptions/{sub_id}"), &[("default_payment_method", &pm)]).await.ok();
    let resumed = app.post(&format!("/subscriptions/{sub_id}/resume"), &[]).await;
    assert_eq!(resumed.ok()["status"], "active", "{}", resumed.text);
    assert_eq!(resumed.body["current_period_start"], ts(2027, 3, 1));
    assert_eq!(resumed.body["current_period_end"], ts(2027, 4, 1));
    let inv = invoice(&app, &resumed.body["latest_invoice"]).await;
    assert_eq!((&inv["status"], &inv["amount_paid"]), (&json!("paid"), &json!(1000)));
    let ev = app.get("/events?type=customer.subscription.resumed").await;
    assert_eq!(ev.ok()["data"][0]["data"]["object"]["id"], sub_id.as_str());
}

#[tokio::test]
async fn send_invoice_leaves_each_invoice_open_until_its_due_date_and_paid() {
    let app = TestApp::spawn().await;
    let (clock, cus, pm) = customer(&app, Some(OK)).await;
    let price = app.recurring_price(4900, "usd", "month").await;
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("collection_method", "send_invoice"),
            ("days_until_due", "30"),
        ])
        .await;
    assert_eq!(
        (&sub["status"], &sub["collection_method"], &sub["days_until_due"]),
        (&json!("active"), &json!("send_invoice"), &json!(30))
    );
    let inv = invoice(&app, &sub["latest_invoice"]).await;
    assert_eq!((&inv["status"], &inv["collection_method"]), (&json!("open"), &json!("send_invoice")));
    assert_eq!(inv["due_date"], ts(2027, 1, 31));
    assert_eq!(
        (&inv["amount_due"], &inv["attempt_count"], &inv["payment_intent"]),
        (&json!(4900), &json!(0), &Value::Null)
    );
    // A week on it is still open: nothing charges it.
    advance(&app, &clock, ts(2027, 1, 8)).await;
    assert_eq!(invoice(&app, &sub["latest_invoice"]).await["status"], "open");
    assert_eq!(subscription(&app, &id(&sub)).await["status"], "active");
    // Paid through the API with a card of the customer's.
    app.post(&format!("/subscriptions/{}", id(&sub)), &[("default_payment_method", pm.as_deref().unwrap())])
        .await
        .ok();
    let paid = app.post(&format!("/invoices/{}/pay", inv["id"].as_str().unwrap()), &[]).await;
    assert_eq!(
        (&paid.ok()["status"], &paid.body["amount_paid"]),
        (&json!("paid"), &json!(4900)),
        "{}",
        paid.text
    );

    let bad = app
        .post(
            "/subscriptions",
            &[("customer", &cus), ("items[0][price]", &price), ("collection_method", "send_invoice")],
        )
        .await;
    bad.invalid("days_until_due");
    let bad = app
        .post("/subscriptions", &[("customer", &cus), ("items[0][price]", &price), ("days_until_due", "3")])
        .await;
    bad.invalid("days_until_due");
}

#[tokio::test]
async fn items_are_added_changed_and_deleted_and_listed_as_subscription_items() {
    let app = TestApp::spawn().await;
    let (clock, cus, pm) = customer(&app, Some(OK)).await;
    let base = app.recurring_price(1000, "usd", "month").await;
    let seats = app.recurring_price(500, "usd", "month").await;
    let addon = app.recurring_price(300, "usd", "month").await;
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &base),
            ("items[1][price]", &seats),
            ("items[1][quantity]", "3"),
            ("default_payment_method", pm.as_deref().unwrap()),
        ])
        .await;
    let sub_id = id(&sub);
    assert_eq!(invoice(&app, &sub["latest_invoice"]).await["amount_paid"], 1000 + 3 * 500);
    let items = app.get(&format!("/subscription_items?subscription={sub_id}")).await;
    let data = items.ok()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 2);
    assert_eq!(items.body["object"], "list");
    let seats_item = data[1]["id"].as_str().unwrap().to_owned();
    let base_item = data[0]["id"].as_str().unwrap().to_owned();
    let one = app.get(&format!("/subscription_items/{seats_item}")).await;
    assert_eq!((&one.ok()["quantity"], &one.body["subscription"]), (&json!(3), &json!(sub_id)));
    app.get("/subscription_items/si_missing").await.error(404);
    app.get("/subscription_items").await.invalid("subscription");

    // On Jan 16 (16 of 31 days remain), 3 → 5 seats through the item, with metadata.
    advance(&app, &clock, ts(2027, 1, 16)).await;
    let r = app
        .post(&format!("/subscription_items/{seats_item}"), &[("quantity", "5"), ("metadata[team]", "ops")])
        .await;
    assert_eq!(
        (&r.ok()["quantity"], &r.body["metadata"]),
        (&json!(5), &json!({"team": "ops"})),
        "{}",
        r.text
    );
    // Add the add-on and delete the base plan, without prorations.
    let r = app
        .post(
            &format!("/subscriptions/{sub_id}"),
            &[
                ("items[0][id]", &base_item),
                ("items[0][deleted]", "true"),
                ("items[1][price]", &addon),
                ("proration_behavior", "none"),
            ],
        )
        .await;
    let prices: Vec<&str> = r.ok()["items"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["price"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(prices, [seats.as_str(), addon.as_str()]);
    app.get(&format!("/subscription_items/{base_item}")).await.error(404);

    // The next invoice: 5 seats and the add-on, and the seat change prorated.
    // Credit 3 × 500 × 16/31 = 774.19 → -774; charge 5 × 500 × 16/31 = 1290.32 → 1290.
    let next = app.get(&format!("/invoices/upcoming?subscription={sub_id}")).await;
    let amounts: Vec<i64> = next.ok()["lines"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [2500, 300, -774, 1290]);
    advance(&app, &clock, ts(2027, 2, 1)).await;
    let all = invoices(&app, &sub_id).await;
    assert_eq!(all.last().unwrap()["amount_paid"], 2500 + 300 - 774 + 1290);
}

#[tokio::test]
async fn billing_cycle_anchor_now_credits_the_unused_time_and_starts_a_period() {
    let app = TestApp::spawn().await;
    let (clock, .., sub) = subscribed(&app, OK, 3100).await;
    advance(&app, &clock, ts(2027, 1, 11)).await; // 21 of 31 days unused
    let r = app.post(&format!("/subscriptions/{}", id(&sub)), &[("billing_cycle_anchor", "now")]).await;
    assert_eq!(
        (&r.ok()["current_period_start"], &r.body["current_period_end"]),
        (&json!(ts(2027, 1, 11)), &json!(ts(2027, 2, 11))),
        "{}",
        r.text
    );
    assert_eq!(r.body["billing_cycle_anchor"], ts(2027, 1, 11));
    // Credit 3100 × 21/31 = -2100; the new period 3100: 1000 charged now.
    let inv = invoice(&app, &r.body["latest_invoice"]).await;
    let amounts: Vec<i64> =
        inv["lines"]["data"].as_array().unwrap().iter().map(|l| l["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, [3100, -2100]);
    assert_eq!((&inv["status"], &inv["amount_paid"]), (&json!("paid"), &json!(1000)));
    app.post(&format!("/subscriptions/{}", id(&sub)), &[("billing_cycle_anchor", "someday")])
        .await
        .invalid("billing_cycle_anchor");
}

#[tokio::test]
async fn pause_collection_voids_the_invoices_made_until_it_is_lifted() {
    let app = TestApp::spawn().await;
    let (clock, .., sub) = subscribed(&app, OK, 1000).await;
    let sub_id = id(&sub);
    let r = app.post(&format!("/subscriptions/{sub_id}"), &[("pause_collection[behavior]", "void")]).await;
    assert_eq!(r.ok()["pause_collection"], json!({"behavior": "void", "resumes_at": null}));
    assert_eq!(r.body["status"], "active", "collection is paused, not the subscription");
    advance(&app, &clock, ts(2027, 2, 1)).await;
    let all = invoices(&app, &sub_id).await;
    assert_eq!((&all[1]["status"], &all[1]["amount_paid"]), (&json!("void"), &json!(0)));
    let voided = app.get("/events?type=invoice.voided").await;
    assert_eq!(voided.ok()["data"][0]["data"]["object"]["id"], all[1]["id"]);
    // Lifted: the next period is charged again.
    let r = app.post(&format!("/subscriptions/{sub_id}"), &[("pause_collection", "")]).await;
    assert_eq!(r.ok()["pause_collection"], Value::Null);
    advance(&app, &clock, ts(2027, 3, 1)).await;
    let all = invoices(&app, &sub_id).await;
    assert_eq!((&all[2]["status"], &all[2]["amount_paid"]), (&json!("paid"), &json!(1000)));
    // `resumes_at` ends the pause by itself.
    let resumes = ts(2027, 3, 15).to_string();
    app.post(
        &format!("/subscriptions/{sub_id}"),
        &[("pause_collection[behavior]", "void"), ("pause_collection[resumes_at]", &resumes)],
    )
    .await
    .ok();
    advance(&app, &clock, ts(2027, 4, 1)).await;
    assert_eq!(invoices(&app, &sub_id).await[3]["status"], "paid");
    app.post(&format!("/subscriptions/{sub_id}"), &[("pause_collection[behavior]", "keep_as_draft")])
        .await
        .invalid("pause_collection[behavior]");
}

#[tokio::test]
async fn invoice_items_wait_pending_for_the_next_invoice_which_collects_them() {
    let app = TestApp::spawn().await;
    let (clock, cus, pm, sub) = subscribed(&app, OK, 1000).await;
    let sub_id = id(&sub);

    let r = app
        .post(
            "/invoiceitems",
            &[("customer", &cus), ("amount", "500"), ("currency", "usd"), ("description", "Setup help")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let ii = id(&r.body);
    assert!(ii.starts_with("ii_"));
    assert_eq!(
        (&r.body["object"], &r.body["invoice"], &r.body["amount"]),
        (&json!("invoiceitem"), &Value::Null, &json!(500))
    );
    assert_eq!(r.body["date"], ts(2027, 1, 1), "dated on the customer's clock");
    // Changed while pending: 2 × 350.
    let r = app
        .post(
            &format!("/invoiceitems/{ii}"),
            &[("unit_amount", "350"), ("quantity", "2"), ("metadata[ticket]", "T-1")],
        )
        .await;
    assert_eq!(
        (&r.ok()["amount"], &r.body["quantity"], &r.body["metadata"]["ticket"]),
        (&json!(700), &json!(2), &json!("T-1")),
        "{}",
        r.text
    );
    // A second one, deleted while pending.
    let gone =
        app.post("/invoiceitems", &[("customer", &cus), ("amount", "-200"), ("currency", "usd")]).await;
    let gone = id(gone.ok());
    let d = app.delete(&format!("/invoiceitems/{gone}")).await;
    assert_eq!((&d.ok()["deleted"], &d.body["object"]), (&json!(true), &json!("invoiceitem")));
    app.get(&format!("/invoiceitems/{gone}")).await.error(404);

    let pending = app.get(&format!("/invoiceitems?customer={cus}&pending=true")).await;
    assert_eq!(pending.ok()["data"].as_array().unwrap().len(), 1);
    // The preview shows it on the next invoice.
    let next = app.get(&format!("/invoices/upcoming?subscription={sub_id}")).await;
    let lines = next.ok()["lines"]["data"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (&lines[1]["amount"], &lines[1]["invoice_item"], &lines[1]["type"]),
        (&json!(700), &json!(ii), &json!("invoiceitem"))
    );
    assert_eq!(next.body["amount_due"], 1700);

    advance(&app, &clock, ts(2027, 2, 1)).await;
    let all = invoices(&app, &sub_id).await;
    assert_eq!((&all[1]["amount_paid"], &all[1]["status"]), (&json!(1700), &json!("paid")));
    let item = app.get(&format!("/invoiceitems/{ii}")).await;
    assert_eq!(item.ok()["invoice"], all[1]["id"]);
    // Invoiced: no longer changed or deleted, and no longer pending.
    app.post(&format!("/invoiceitems/{ii}"), &[("amount", "1")]).await.error(400);
    app.delete(&format!("/invoiceitems/{ii}")).await.error(400);
    assert!(
        app.get(&format!("/invoiceitems?customer={cus}&pending=true")).await.ok()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get(&format!("/invoiceitems?customer={cus}&pending=false")).await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The period after has only the plan.
    let next = app.get(&format!("/invoices/upcoming?subscription={sub_id}")).await;
    assert_eq!(next.ok()["amount_due"], 1000);

    // A pending item rides on a new subscription's first invoice.
    app.post("/invoiceitems", &[("customer", &cus), ("amount", "250"), ("currency", "usd")]).await.ok();
    let second = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &app.recurring_price(2000, "usd", "month").await),
            ("default_payment_method", &pm),
        ])
        .await;
    assert_eq!(invoice(&app, &second["latest_invoice"]).await["amount_paid"], 2250);

    app.post("/invoiceitems", &[("customer", &cus), ("currency", "usd")]).await.invalid("amount");
    app.post("/invoiceitems", &[("customer", "cus_nope"), ("amount", "1"), ("currency", "usd")])
        .await
        .invalid("customer");
    app.post("/invoiceitems", &[("customer", &cus), ("amount", "1")]).await.invalid("currency");
}

#[tokio::test]
async fn bad_requests_are_precise_and_create_nothing() {
    let app = TestApp::spawn().await;
    let (_clock, cus, pm) = customer(&app, Some(OK)).await;
    let (_c2, other, other_pm) = customer(&app, Some(OK)).await;
    let price = app.recurring_price(1000, "usd", "month").await;
    let eur = app.recurring_price(1000, "eur", "month").await;
    let one_time = app.price(1000, "usd").await;
    app.post("/subscriptions", &[("items[0][price]", &price)]).await.invalid("customer");
    app.post("/subscriptions", &[("customer", "cus_nope"), ("items[0][price]", &price)])
        .await
        .invalid("customer");
    app.post("/subscriptions", &[("customer", &cus)]).await.invalid("items");
    app.post("/subscriptions", &[("customer", &cus), ("items[0][price]", "price_nope")])
        .await
        .invalid("items[0][price]");
    app.post("/subscriptions", &[("customer", &cus), ("items[0][price]", &one_time)])
        .await
        .invalid("items[0][price]");
    app.post("/subscriptions", &[("customer", &cus), ("items[0][price]", &price), ("items[1][price]", &eur)])
        .await
        .invalid("items[1][price]");
    app.post(
        "/subscriptions",
        &[("customer", &cus), ("items[0][price]", &price), ("items[0][quantity]", "0")],
    )
    .await
    .invalid("items[0][quantity]");
    app.post(
        "/subscriptions",
        &[("customer", &cus), ("items[0][price]", &price), ("payment_behavior", "maybe")],
    )
    .await
    .invalid("payment_behavior");
    app.post(
        "/subscriptions",
        &[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("default_payment_method", other_pm.as_deref().unwrap()),
        ],
    )
    .await
    .invalid("default_payment_method");
    app.post("/subscriptions", &[("customer", &cus), ("items[0][price]", &price), ("coupon", "nope")])
        .await
        .invalid("coupon");
    app.post("/subscriptions", &[("customer", &cus), ("items[0][price]", &price), ("trial_end", "later")])
        .await
        .invalid("trial_end");
    app.post("/subscriptions", &[("customer", &cus), ("items[0][price]", &price), ("trial_end", "1")])
        .await
        .invalid("trial_end");
    for who in [&cus, &other] {
        assert_eq!(app.count(&format!("/subscriptions?customer={who}&status=all")).await, 0);
    }
    // A coupon through `discounts`: 25 % off the first invoice.
    let coupon = app.coupon(&[("percent_off", "25"), ("duration", "once")]).await;
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("discounts[0][coupon]", &coupon),
            ("default_payment_method", pm.as_deref().unwrap()),
        ])
        .await;
    let inv = invoice(&app, &sub["latest_invoice"]).await;
    assert_eq!(
        (&inv["amount_paid"], &inv["total_discount_amounts"][0]["amount"]),
        (&json!(750), &json!(250))
    );
    assert_eq!(app.get(&format!("/coupons/{coupon}")).await.ok()["times_redeemed"], 1);
}

#[tokio::test]
async fn a_subscription_on_the_servers_clock_expires_23_hours_after_a_decline() {
    let app = TestApp::spawn().await;
    let cus = id(app.post("/customers", &[("email", "real@example.test")]).await.ok());
    let pm = app.saved_card(&cus, FAILS_LATER).await;
    let sub = app.monthly_subscription(&cus, &pm, 1000).await;
    assert_eq!(sub["status"], "incomplete");
    app.advance(23 * HOUR - 1);
    kassa::service::billing::bill_due(app.ctx(), &kassa::service::billing::Timeline::Real, app.clock_now())
        .await
        .unwrap();
    assert_eq!(subscription(&app, &id(&sub)).await["status"], "incomplete");
    app.advance(1);
    kassa::service::billing::bill_due(app.ctx(), &kassa::service::billing::Timeline::Real, app.clock_now())
        .await
        .unwrap();
    assert_eq!(subscription(&app, &id(&sub)).await["status"], "incomplete_expired");
    let _ = DAY;
}

/// A subscription that names no `default_payment_method` is charged with its customer's
/// `invoice_settings.default_payment_method`, as on Stripe: its first invoice and each renewal.
/// The subscription's own stays null, so the customer's default at the time of each charge is
/// the one used.
#[tokio::test]
async fn without_its_own_payment_method_it_charges_the_customers_default() {
    let app = TestApp::spawn().await;
    let (clock, cus, pm) = customer(&app, Some(OK)).await;
    let pm = pm.unwrap();
    let price = app.recurring_price(1000, "usd", "month").await;
    // The card is attached but not the customer's default: nothing to charge with.
    let bare = app.create_subscription(&[("customer", &cus), ("items[0][price]", &price)]).await;
    assert_eq!(bare["status"], "incomplete");

    let c =
        app.post(&format!("/customers/{cus}"), &[("invoice_settings[default_payment_method]", &pm)]).await;
    assert_eq!(c.ok()["invoice_settings"]["default_payment_method"], pm.as_str());
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("expand[]", "latest_invoice.payment_intent"),
        ])
        .await;
    assert_eq!(sub["status"], "active", "{sub}");
    assert_eq!(sub["default_payment_method"], Value::Null, "the subscription's own stays unset");
    let inv = &sub["latest_invoice"];
    assert_eq!((&inv["status"], &inv["amount_paid"]), (&json!("paid"), &json!(1000)));
    assert_eq!(inv["payment_intent"]["status"], "succeeded");
    assert_eq!(inv["payment_intent"]["payment_method"], pm.as_str());

    // The renewal is charged the same way.
    advance(&app, &clock, ts(2027, 2, 1)).await;
    let all = invoices(&app, &id(&sub)).await;
    assert_eq!(all.len(), 2);
    assert_eq!((&all[1]["status"], &all[1]["amount_paid"]), (&json!("paid"), &json!(1000)));
    assert_eq!(subscription(&app, &id(&sub)).await["status"], "active");

    // Unset again (an empty value), the next subscription has nothing to charge with.
    let c = app.post(&format!("/customers/{cus}"), &[("invoice_settings[default_payment_method]", "")]).await;
    assert_eq!(c.ok()["invoice_settings"]["default_payment_method"], Value::Null);
    let later = app.create_subscription(&[("customer", &cus), ("items[0][price]", &price)]).await;
    assert_eq!(later["status"], "incomplete");
}

#[tokio::test]
async fn a_declining_customer_default_leaves_the_subscription_incomplete() {
    let app = TestApp::spawn().await;
    let (_clock, cus, pm) = customer(&app, Some(FAILS_LATER)).await;
    let pm = pm.unwrap();
    app.post(&format!("/customers/{cus}"), &[("invoice_settings[default_payment_method]", &pm)]).await.ok();
    let price = app.recurring_price(1500, "usd", "month").await;
    let sub = app.create_subscription(&[("customer", &cus), ("items[0][price]", &price)]).await;
    assert_eq!(sub["status"], "incomplete");
    let inv = invoice(&app, &sub["latest_invoice"]).await;
    assert_eq!((&inv["status"], &inv["attempt_count"]), (&json!("open"), &json!(1)));
    let pi = app.get(&format!("/payment_intents/{}", inv["payment_intent"].as_str().unwrap())).await;
    assert_eq!(pi.ok()["last_payment_error"]["decline_code"], "generic_decline");
    assert_eq!(pi.body["payment_method"], pm.as_str());
    // `error_if_incomplete`: the decline is a 402 and nothing is created.
    let r = app
        .post(
            "/subscriptions",
            &[("customer", &cus), ("items[0][price]", &price), ("payment_behavior", "error_if_incomplete")],
        )
        .await;
    assert_eq!(r.error(402)["type"], "card_error");
}

#[tokio::test]
async fn a_customers_default_payment_method_must_be_attached_to_it() {
    let app = TestApp::spawn().await;
    let (_, cus, pm) = customer(&app, Some(OK)).await;
    let pm = pm.unwrap();
    let (_, other, _) = customer(&app, None).await;
    const PARAM: &str = "invoice_settings[default_payment_method]";
    let r = app.post(&format!("/customers/{other}"), &[(PARAM, &pm)]).await;
    assert!(r.invalid(PARAM)["message"].as_str().unwrap().contains("does not have a payment method"));
    let r = app.post(&format!("/customers/{other}"), &[(PARAM, "pm_nope")]).await;
    assert_eq!(r.invalid(PARAM)["code"], "resource_missing");
    // A new customer has no payment method attached yet.
    app.post("/customers", &[("email", "new@example.com"), (PARAM, &pm)]).await.invalid(PARAM);
    app.post("/customers", &[("invoice_settings[footer]", "x")]).await.error(400);
    // Nothing changed.
    let c = app.get(&format!("/customers/{other}")).await;
    assert_eq!(c.ok()["invoice_settings"]["default_payment_method"], Value::Null);
    let c = app.get(&format!("/customers/{cus}")).await;
    assert_eq!(c.ok()["invoice_settings"]["default_payment_method"], Value::Null);
    let r = app.post(&format!("/customers/{cus}"), &[(PARAM, &pm)]).await;
    assert_eq!(r.ok()["invoice_settings"]["default_payment_method"], pm.as_str());
}

/// `missing_payment_method` applies only when there is none: a trial whose customer has a default
/// payment method is charged with it when the trial ends, not paused.
#[tokio::test]
async fn a_trial_ending_with_the_customers_default_is_charged_not_paused() {
    let app = TestApp::spawn().await;
    let (clock, cus, pm) = customer(&app, Some(OK)).await;
    app.post(
        &format!("/customers/{cus}"),
        &[("invoice_settings[default_payment_method]", pm.as_deref().unwrap())],
    )
    .await
    .ok();
    let price = app.recurring_price(1000, "usd", "month").await;
    let sub = app
        .create_subscription(&[
            ("customer", &cus),
            ("items[0][price]", &price),
            ("trial_period_days", "7"),
            ("trial_settings[end_behavior][missing_payment_method]", "pause"),
        ])
        .await;
    assert_eq!(sub["status"], "trialing");
    let sub_id = id(&sub);
    advance(&app, &clock, ts(2027, 1, 9)).await;
    let after = subscription(&app, &sub_id).await;
    assert_eq!(after["status"], "active", "{after}");
    assert_eq!(after["trial_settings"]["end_behavior"]["missing_payment_method"], "pause", "kept");
    let all = invoices(&app, &sub_id).await;
    assert_eq!(all.len(), 2);
    assert_eq!((&all[1]["status"], &all[1]["amount_paid"]), (&json!("paid"), &json!(1000)));
}
