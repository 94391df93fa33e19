//! Subscriptions that live on: renewals on test clocks and on the server's clock,
//! calendar-correct periods, trials, dunning and recovery, coupon durations, cancellation, the
//! events of each, two schedulers on one database billing once, and a renewal whose run stalled
//! past its lease billed once by the run that takes it over.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use kassa::state::{AppState, Ctx};
use kassa_core::money::Currency;
use kassa_core::payment::{
    CardAttempt, Challenge, Decline, PaymentProcessor, SavedBehaviour, TestNetwork, ValidCard,
};
use kassa_core::time::{Civil, from_civil, to_civil};
use serde_json::{Value, json};

use crate::common::{TIMEOUT, id, poll_async};
use crate::counting::Counting;
use crate::helpers::TestApp;
use crate::pay::pay_card;

const DAY: i64 = 86_400;

pub(crate) fn ts(y: i64, m: u32, d: u32) -> i64 {
    from_civil(Civil { year: y, month: m, day: d, second: 12 * 3600 })
}

/// A test clock at `t`, and a customer on it.
pub(crate) async fn clock_and_customer(app: &TestApp, t: i64) -> (String, String) {
    let r = app.post("/test_helpers/test_clocks", &[("frozen_time", &t.to_string()), ("name", "year")]).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let clock = id(&r.body);
    let c = app.post("/customers", &[("email", "clock@example.test"), ("test_clock", &clock)]).await;
    assert_eq!(c.ok()["test_clock"], clock.as_str());
    (clock, id(&c.body))
}

/// A subscription for `customer`: a checkout with `extra` session fields, paid with `card`.
pub(crate) async fn subscribe(
    app: &TestApp,
    customer: Option<&str>,
    amount: i64,
    interval: &str,
    card: &str,
    extra: Value,
) -> Value {
    let plan = app.recurring_price(amount, "usd", interval).await;
    let mut body =
        json!({"line_items": [{"price": plan, "quantity": 1}], "success_url": "https://shop.test/ok"});
    if let Some(c) = customer {
        body["customer"] = json!(c);
    }
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let s = app.session(body).await;
    let r = pay_card(app, s["id"].as_str().unwrap(), card).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let s = app.get(&format!("/checkout/session/{}?expand[]=subscription", s["id"].as_str().unwrap())).await;
    s.ok()["subscription"].clone()
}

/// Advance the clock to `to` and wait until it is ready again.
pub(crate) async fn advance(app: &TestApp, clock: &str, to: i64) {
    let r = app
        .post(&format!("/test_helpers/test_clocks/{clock}/advance"), &[("frozen_time", &to.to_string())])
        .await;
    assert_eq!(r.ok()["frozen_time"], to);
    let ready = poll_async("the clock to get ready", || async {
        let c = app.get(&format!("/test_helpers/test_clocks/{clock}")).await;
        (c.ok()["status"] == "ready").then(|| c.body.clone())
    })
    .await;
    assert_eq!(ready["frozen_time"], to);
}

/// A subscription's invoices, oldest first.
pub(crate) async fn invoices(app: &TestApp, sub: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after.as_ref().map(|a| format!("&starting_after={a}")).unwrap_or_default();
        let r = app.get(&format!("/invoices?subscription={sub}&limit=100{cursor}")).await;
        let page = r.ok()["data"].as_array().unwrap().clone();
        after = page.last().map(id);
        all.extend(page);
        if r.body["has_more"] != true {
            break;
        }
    }
    all.reverse();
    all
}

pub(crate) async fn subscription(app: &TestApp, sub: &str) -> Value {
    app.get(&format!("/subscriptions/{sub}")).await.ok().clone()
}

fn ymd(t: &Value) -> (i64, u32, u32) {
    let c = to_civil(t.as_i64().unwrap());
    (c.year, c.month, c.day)
}

#[tokio::test]
async fn a_year_of_monthly_billing_in_one_advance_keeps_the_31st() {
    let app = TestApp::spawn().await;
    let start = ts(2027, 1, 31);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let sub = subscribe(&app, Some(&cus), 2000, "month", "4242424242424242", json!({})).await;
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["test_clock"], clock.as_str());
    assert_eq!(sub["current_period_start"], start, "it starts on the clock's time");
    let sid = id(&sub);

    advance(&app, &clock, ts(2028, 1, 31)).await;
    let inv = invoices(&app, &sid).await;
    assert_eq!(inv.len(), 13, "the checkout's invoice and twelve renewals");
    assert!(inv.iter().all(|i| i["status"] == "paid" && i["amount_paid"] == 2000), "{inv:#?}");
    let starts: Vec<(i64, u32, u32)> = inv[1..].iter().map(|i| ymd(&i["period_start"])).collect();
    assert_eq!(starts[0], (2027, 2, 28));
    assert_eq!(starts[1], (2027, 3, 31));
    assert_eq!(starts[2], (2027, 4, 30));
    assert_eq!(starts[11], (2028, 1, 31));
    assert!(inv[1..].iter().all(|i| i["billing_reason"] == "subscription_cycle"));
    let s = subscription(&app, &sid).await;
    assert_eq!(s["status"], "active");
    assert_eq!(ymd(&s["current_period_end"]), (2028, 2, 29), "2028 is a leap year");

    // Events: dated on the clock, in order.
    let paid = app.get("/events?type=invoice.paid&limit=100").await;
    let created: Vec<i64> =
        paid.ok()["data"].as_array().unwrap().iter().map(|e| e["created"].as_i64().unwrap()).collect();
    assert_eq!(created.len(), 13);
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first, so oldest last: {created:?}");
    assert_eq!(*created.last().unwrap(), start);
    let updated = app.get("/events?type=customer.subscription.updated&limit=100").await;
    let first = updated.ok()["data"].as_array().unwrap().last().unwrap().clone();
    assert!(first["data"]["previous_attributes"]["current_period_end"].is_i64(), "{first}");

    // Advancing backwards, or unknown clocks, are refused.
    let r = app
        .post(&format!("/test_helpers/test_clocks/{clock}/advance"), &[("frozen_time", &start.to_string())])
        .await;
    r.invalid("frozen_time");
    app.post("/test_helpers/test_clocks/clock_nope/advance", &[("frozen_time", "1")]).await.error(404);
}

#[tokio::test]
async fn weekly_and_every_three_months() {
    let app = TestApp::spawn().await;
    let start = ts(2027, 3, 1);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let product = app.product("Quarterly").await;
    let r = app
        .post(
            "/prices",
            &[
                ("product", &product),
                ("unit_amount", "900"),
                ("currency", "usd"),
                ("recurring[interval]", "month"),
                ("recurring[interval_count]", "3"),
            ],
        )
        .await;
    let quarterly = id(r.ok());
    let s = app
        .session(json!({"line_items": [{"price": quarterly, "quantity": 2}], "customer": cus, "success_url": "https://shop.test/ok"}))
        .await;
    pay_card(&app, s["id"].as_str().unwrap(), "4242424242424242").await;
    let weekly = subscribe(&app, Some(&cus), 300, "week", "4242424242424242", json!({})).await;

    advance(&app, &clock, ts(2028, 3, 1)).await;
    let subs = app.get(&format!("/subscriptions?customer={cus}")).await;
    let q = subs.ok()["data"].as_array().unwrap().iter().find(|s| s["id"] != weekly["id"]).unwrap().clone();
    let inv = invoices(&app, &id(&q)).await;
    let months: Vec<u32> = inv.iter().map(|i| ymd(&i["period_start"]).1).collect();
    assert_eq!(months, [3, 6, 9, 12, 3]);
    assert!(inv.iter().all(|i| i["amount_paid"] == 1800));
    let w = invoices(&app, &id(&weekly)).await;
    assert_eq!(w.len(), 53, "one at checkout and one a week for 52 weeks");
    assert!(
        w.windows(2)
            .all(|p| p[1]["period_start"].as_i64().unwrap() - p[0]["period_start"].as_i64().unwrap()
                == 7 * DAY)
    );
}

#[tokio::test]
async fn a_trial_warns_three_days_ahead_then_charges() {
    let app = TestApp::spawn().await;
    let start = ts(2027, 6, 1);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let sub = subscribe(
        &app,
        Some(&cus),
        1500,
        "month",
        "4242424242424242",
        json!({"subscription_data": {"trial_period_days": 10}}),
    )
    .await;
    assert_eq!(sub["status"], "trialing");
    assert_eq!(sub["trial_end"], start + 10 * DAY);
    let sid = id(&sub);

    advance(&app, &clock, start + 8 * DAY).await;
    let warned = app.get("/events?type=customer.subscription.trial_will_end").await;
    let e = warned.ok()["data"].as_array().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["created"], start + 7 * DAY);
    assert_eq!(subscription(&app, &sid).await["status"], "trialing");

    advance(&app, &clock, start + 11 * DAY).await;
    let s = subscription(&app, &sid).await;
    assert_eq!(s["status"], "active");
    let inv = invoices(&app, &sid).await;
    assert_eq!(inv.len(), 2);
    assert_eq!(inv[0]["amount_paid"], 0, "nothing charged for the trial");
    assert_eq!(inv[1]["amount_paid"], 1500);
    assert_eq!(inv[1]["period_start"], start + 10 * DAY);
    let pi = app.get(&format!("/payment_intents/{}", inv[1]["payment_intent"].as_str().unwrap())).await;
    assert_eq!(pi.ok()["status"], "succeeded");
    assert_eq!(pi.body["amount"], 1500);
    assert_eq!(
        app.get("/events?type=customer.subscription.trial_will_end").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn invoice_upcoming_announces_each_renewal_three_days_ahead_without_an_id() {
    let app = TestApp::spawn().await;
    let start = ts(2027, 6, 1);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let sub = subscribe(&app, Some(&cus), 1500, "month", "4242424242424242", json!({})).await;
    let sid = id(&sub);
    async fn upcoming(app: &TestApp) -> Vec<Value> {
        app.get("/events?type=invoice.upcoming").await.ok()["data"].as_array().unwrap().clone()
    }
    advance(&app, &clock, ts(2027, 6, 27)).await;
    assert!(upcoming(&app).await.is_empty(), "not before 3 days ahead");

    advance(&app, &clock, ts(2027, 6, 29)).await;
    let e = upcoming(&app).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["created"], ts(2027, 6, 28));
    let inv = &e[0]["data"]["object"];
    assert_eq!(inv["object"], "invoice");
    assert!(inv.get("id").is_none(), "an upcoming invoice has no id: {inv}");
    assert_eq!(inv["subscription"], sid.as_str());
    assert_eq!(inv["parent"]["subscription_details"]["subscription"], sid.as_str());
    assert_eq!(inv["customer"], cus.as_str());
    assert_eq!(inv["amount_due"], 1500);
    assert_eq!(inv["period_start"], ts(2027, 7, 1));
    assert_eq!(inv["next_payment_attempt"], ts(2027, 7, 1));
    assert_eq!(inv["lines"]["data"][0]["amount"], 1500);
    // It is what the preview says the next invoice will be.
    let preview = app.get(&format!("/invoices/upcoming?subscription={sid}")).await;
    assert_eq!(preview.ok()["amount_due"], inv["amount_due"]);
    assert!(preview.body["id"].as_str().unwrap().starts_with("upcoming_in_"), "{}", preview.body);

    // Once per renewal: two more months bring two more, each 3 days ahead of its renewal.
    advance(&app, &clock, ts(2027, 8, 29)).await;
    let e = upcoming(&app).await;
    let days: Vec<i64> = e.iter().map(|e| e["created"].as_i64().unwrap()).collect();
    assert_eq!(days, [ts(2027, 8, 29), ts(2027, 7, 29), ts(2027, 6, 28)], "newest first");

    // A subscription set to end at its period's end has no renewal to announce.
    advance(&app, &clock, ts(2027, 9, 2)).await;
    app.post(&format!("/subscriptions/{sid}"), &[("cancel_at_period_end", "true")]).await.ok();
    advance(&app, &clock, ts(2027, 10, 2)).await;
    assert_eq!(upcoming(&app).await.len(), 3);
    assert_eq!(subscription(&app, &sid).await["status"], "canceled");
}

#[tokio::test]
async fn a_card_that_fails_off_session_goes_past_due_then_canceled() {
    let app = TestApp::spawn().await;
    let start = ts(2027, 5, 10);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let sub = subscribe(&app, Some(&cus), 2500, "month", "4000000000000341", json!({})).await;
    assert_eq!(sub["status"], "active", "accepted at checkout");
    let sid = id(&sub);

    advance(&app, &clock, ts(2027, 6, 10)).await;
    let s = subscription(&app, &sid).await;
    assert_eq!(s["status"], "past_due");
    let inv = invoices(&app, &sid).await;
    let open = &inv[1];
    assert_eq!(open["status"], "open");
    assert_eq!(open["attempt_count"], 1);
    assert_eq!(open["next_payment_attempt"], ts(2027, 6, 11));

    advance(&app, &clock, ts(2027, 6, 16)).await;
    let inv = invoices(&app, &sid).await;
    assert_eq!(inv[1]["attempt_count"], 3, "retried a day and three days after");
    assert_eq!(subscription(&app, &sid).await["status"], "past_due");

    advance(&app, &clock, ts(2027, 7, 20)).await;
    let s = subscription(&app, &sid).await;
    assert_eq!(s["status"], "canceled");
    assert_eq!(s["ended_at"], ts(2027, 6, 17));
    let inv = invoices(&app, &sid).await;
    assert_eq!(inv.len(), 2, "not billed again once canceled");
    assert_eq!(inv[1]["status"], "uncollectible");
    assert_eq!(inv[1]["attempt_count"], 4);
    let failed = app.get("/events?type=invoice.payment_failed").await;
    assert_eq!(failed.ok()["data"].as_array().unwrap().len(), 4);
    let deleted = app.get("/events?type=customer.subscription.deleted").await;
    assert_eq!(deleted.ok()["data"][0]["data"]["object"]["id"], sid.as_str());
    let pi = app.get(&format!("/payment_intents/{}", inv[1]["payment_intent"].as_str().unwrap())).await;
    assert_eq!(pi.ok()["status"], "requires_payment_method");
    assert_eq!(pi.body["last_payment_error"]["code"], "card_declined");
}

#[tokio::test]
async fn dunning_can_end_unpaid_and_a_later_retry_can_recover() {
    let app =
        TestApp::spawn_with(|s| s.dunning.final_status = kassa_core::billing::SubscriptionStatus::Unpaid)
            .await;
    let start = ts(2027, 5, 10);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let failing = subscribe(&app, Some(&cus), 2500, "month", "4000000000000341", json!({})).await;
    advance(&app, &clock, ts(2027, 7, 1)).await;
    let s = subscription(&app, &id(&failing)).await;
    assert_eq!(s["status"], "unpaid");
    assert_eq!(s["ended_at"], Value::Null);

    // Another subscription fails once, then its customer's card is replaced and the retry pays.
    let (clock2, cus2) = clock_and_customer(&app, start).await;
    let sub = subscribe(&app, Some(&cus2), 1000, "month", "4000000000000341", json!({})).await;
    let good = subscribe(&app, Some(&cus2), 1, "month", "4242424242424242", json!({})).await;
    let good_pm = good["default_payment_method"].as_str().unwrap().to_owned();
    advance(&app, &clock2, ts(2027, 6, 10)).await;
    assert_eq!(subscription(&app, &id(&sub)).await["status"], "past_due");
    let r = app.post(&format!("/subscriptions/{}", id(&sub)), &[("default_payment_method", &good_pm)]).await;
    assert_eq!(r.ok()["default_payment_method"], good_pm.as_str());
    advance(&app, &clock2, ts(2027, 6, 12)).await;
    let s = subscription(&app, &id(&sub)).await;
    assert_eq!(s["status"], "active", "recovered by the retry");
    let inv = invoices(&app, &id(&sub)).await;
    assert_eq!(inv[1]["status"], "paid");
    assert_eq!(inv[1]["attempt_count"], 2);
    assert_eq!(inv[1]["amount_paid"], 1000);

    // Another customer's payment method is refused.
    let other = subscribe(&app, None, 500, "month", "4242424242424242", json!({})).await;
    let r = app
        .post(
            &format!("/subscriptions/{}", id(&sub)),
            &[("default_payment_method", other["default_payment_method"].as_str().unwrap())],
        )
        .await;
    r.invalid("default_payment_method");
}

#[tokio::test]
async fn each_coupon_duration_discounts_the_right_invoices() {
    let app = TestApp::spawn().await;
    let start = ts(2027, 1, 15);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let once = app.coupon(&[("percent_off", "25"), ("duration", "once")]).await;
    let three =
        app.coupon(&[("percent_off", "25"), ("duration", "repeating"), ("duration_in_months", "3")]).await;
    let forever = app.coupon(&[("amount_off", "100"), ("currency", "usd"), ("duration", "forever")]).await;
    let mut subs = Vec::new();
    for coupon in [&once, &three, &forever] {
        let s = subscribe(
            &app,
            Some(&cus),
            1000,
            "month",
            "4242424242424242",
            json!({"discounts": [{"coupon": coupon}]}),
        )
        .await;
        subs.push(id(&s));
    }
    advance(&app, &clock, ts(2027, 7, 15)).await;
    let paid = |inv: Vec<Value>| inv.iter().map(|i| i["amount_paid"].as_i64().unwrap()).collect::<Vec<_>>();
    assert_eq!(paid(invoices(&app, &subs[0]).await), [750, 1000, 1000, 1000, 1000, 1000, 1000]);
    assert_eq!(paid(invoices(&app, &subs[1]).await), [750, 750, 750, 1000, 1000, 1000, 1000]);
    assert_eq!(paid(invoices(&app, &subs[2]).await), [900; 7]);
    assert_eq!(subscription(&app, &subs[0]).await["discount"], Value::Null);
    assert_eq!(subscription(&app, &subs[1]).await["discount"], Value::Null);
    assert!(subscription(&app, &subs[2]).await["discount"].is_object());
}

#[tokio::test]
async fn cancel_now_and_at_period_end() {
    let app = TestApp::spawn().await;
    let start = ts(2027, 2, 1);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let now_sub = id(&subscribe(&app, Some(&cus), 1000, "month", "4242424242424242", json!({})).await);
    let later = id(&subscribe(&app, Some(&cus), 1000, "month", "4242424242424242", json!({})).await);

    let r = app.post(&format!("/subscriptions/{now_sub}/cancel"), &[]).await;
    assert_eq!(r.ok()["status"], "canceled");
    assert_eq!(r.body["canceled_at"], start);
    assert_eq!(r.body["ended_at"], start);
    app.post(&format!("/subscriptions/{now_sub}/cancel"), &[]).await.error(400);
    app.post(&format!("/subscriptions/{now_sub}/cancel"), &[("invoice_now", "true")])
        .await
        .invalid("invoice_now");
    // Stripe's own route for it, which the SDKs call.
    let third = id(&subscribe(&app, Some(&cus), 1000, "month", "4242424242424242", json!({})).await);
    let r = app.delete(&format!("/v1/subscriptions/{third}")).await;
    assert_eq!(r.ok()["status"], "canceled");

    let r = app.post(&format!("/subscriptions/{later}"), &[("cancel_at_period_end", "true")]).await;
    assert_eq!(r.ok()["cancel_at_period_end"], true);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["cancel_at"], ts(2027, 3, 1));
    let updated = app.get("/events?type=customer.subscription.updated").await;
    assert_eq!(updated.ok()["data"][0]["data"]["previous_attributes"]["cancel_at_period_end"], false);
    app.post(&format!("/subscriptions/{later}"), &[("items", "x")]).await.invalid("items");

    advance(&app, &clock, ts(2027, 5, 1)).await;
    let s = subscription(&app, &later).await;
    assert_eq!(s["status"], "canceled");
    assert_eq!(s["ended_at"], ts(2027, 3, 1));
    assert_eq!(invoices(&app, &later).await.len(), 1, "no invoice for a period that never started");
    assert_eq!(invoices(&app, &now_sub).await.len(), 1);
    let deleted = app.get("/events?type=customer.subscription.deleted").await;
    assert_eq!(deleted.ok()["data"].as_array().unwrap().len(), 3);
    // Canceled subscriptions stay readable and leave the default list.
    assert!(app.list_ids(&format!("/subscriptions?customer={cus}")).await.is_empty());
    assert_eq!(app.list_ids(&format!("/subscriptions?customer={cus}&status=canceled")).await.len(), 3);
}

#[tokio::test]
async fn test_clocks_are_created_listed_and_deleted_with_their_customers() {
    let app = TestApp::spawn().await;
    let (clock, cus) = clock_and_customer(&app, ts(2027, 1, 1)).await;
    let sub = id(&subscribe(&app, Some(&cus), 1000, "month", "4242424242424242", json!({})).await);
    let c = app.get(&format!("/test_helpers/test_clocks/{clock}")).await;
    assert_eq!(c.ok()["object"], "test_helpers.test_clock");
    assert_eq!(c.body["status"], "ready");
    assert_eq!(c.body["name"], "year");
    assert_eq!(app.list_ids("/test_helpers/test_clocks").await, std::slice::from_ref(&clock));
    assert_eq!(app.get(&format!("/v1/test_helpers/test_clocks/{clock}")).await.ok()["id"], clock.as_str());
    let expanded = app.get(&format!("/customers/{cus}?expand[]=test_clock")).await;
    assert_eq!(expanded.ok()["test_clock"]["id"], clock.as_str());

    app.post("/test_helpers/test_clocks", &[("name", "no time")]).await.invalid("frozen_time");
    app.post("/customers", &[("test_clock", "clock_nope")]).await.invalid("test_clock");
    let key2 = app.new_account("Other").await;
    app.get_as(&key2, &format!("/test_helpers/test_clocks/{clock}")).await.error(404);

    let gone = app.delete(&format!("/test_helpers/test_clocks/{clock}")).await;
    assert_eq!(gone.ok()["deleted"], true);
    app.get(&format!("/test_helpers/test_clocks/{clock}")).await.error(404);
    app.get(&format!("/customers/{cus}")).await.error(404);
    app.get(&format!("/subscriptions/{sub}")).await.error(404);
}

#[tokio::test]
async fn real_time_subscriptions_catch_up_in_order_and_two_schedulers_bill_once() {
    let app = TestApp::spawn().await;
    let sub = id(&subscribe(&app, None, 1200, "month", "4242424242424242", json!({})).await);
    let start = app.clock_now();
    // Down for three months (and a day): the next pass bills them, in order.
    app.clock.set(kassa_core::time::add_months(start, 3, to_civil(start).day) + DAY);
    let (a, b) = tokio::join!(kassa::worker::bill_once(app.ctx()), kassa::worker::bill_once(app.ctx()));
    assert!(a.unwrap() + b.unwrap() >= 1);
    let inv = invoices(&app, &sub).await;
    assert_eq!(inv.len(), 4, "{inv:#?}");
    let starts: Vec<i64> = inv.iter().map(|i| i["period_start"].as_i64().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]));
    assert!(inv.iter().all(|i| i["status"] == "paid"));
    let pis = app.get("/payment_intents?limit=100").await;
    assert_eq!(pis.ok()["data"].as_array().unwrap().len(), 4, "one payment per invoice");
    assert_eq!(kassa::worker::bill_once(app.ctx()).await.unwrap(), 0, "nothing left to bill");
    // A clock's subscriptions are not billed by the real-time scheduler.
    let (_, cus) = clock_and_customer(&app, ts(2020, 1, 1)).await;
    let on_clock = id(&subscribe(&app, Some(&cus), 500, "month", "4242424242424242", json!({})).await);
    kassa::worker::bill_once(app.ctx()).await.unwrap();
    assert_eq!(invoices(&app, &on_clock).await.len(), 1);
}

/// The test network, except that off-session charges wait until the test lets them go: a billing
/// run charging through it stalls between taking its lease and recording, as a run that died
/// there would.
#[derive(Default)]
struct StalledCharges {
    charges: std::sync::atomic::AtomicUsize,
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl PaymentProcessor for StalledCharges {
    fn name(&self) -> &'static str {
        "stalled"
    }

    async fn pay_card(&self, card: &ValidCard, amount: i64, currency: Currency) -> CardAttempt {
        TestNetwork.pay_card(card, amount, currency).await
    }

    fn resolve_challenge(&self, challenge: &Challenge, passed: bool) -> CardAttempt {
        TestNetwork.resolve_challenge(challenge, passed)
    }

    fn saved_behaviour(&self, card: &ValidCard) -> SavedBehaviour {
        TestNetwork.saved_behaviour(card)
    }

    async fn charge_saved(
        &self,
        behaviour: &SavedBehaviour,
        amount: i64,
        currency: Currency,
    ) -> Result<(), Decline> {
        self.charges.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.entered.notify_one();
        self.release.notified().await;
        TestNetwork.charge_saved(behaviour, amount, currency).await
    }
}

#[tokio::test]
async fn a_renewal_claimed_by_a_run_that_stalled_past_its_lease_is_billed_once_by_the_next() {
    // `service::billing`'s lease on a subscription being charged.
    const LEASE: i64 = 60;
    let app = TestApp::spawn().await;
    let sub = id(&subscribe(&app, None, 1200, "month", "4242424242424242", json!({})).await);
    let start = app.clock_now();
    app.clock.set(kassa_core::time::add_months(start, 1, to_civil(start).day) + 3600);

    // A run on another node (its own context on the same store and clock) opens the renewal's
    // invoice, leases the subscription and stalls in the charge.
    let stalled = Arc::new(StalledCharges::default());
    let base = app.ctx();
    let mut ctx = Ctx::new(base.store.clone(), base.clock.clone(), &base.public_url, base.webhooks.clone());
    ctx.processor = stalled.clone();
    let ctx: AppState = Arc::new(ctx);
    let run = tokio::spawn(async move { kassa::worker::bill_once(&ctx).await });
    tokio::time::timeout(TIMEOUT, stalled.entered.notified()).await.expect("the stalled run to charge");
    let inv = invoices(&app, &sub).await;
    assert_eq!(inv.len(), 2, "the renewal's invoice is open: {inv:#?}");
    assert_eq!(inv[1]["status"], "open");

    // While the lease holds, other runs leave the subscription alone.
    assert_eq!(kassa::worker::bill_once(app.ctx()).await.unwrap(), 0);
    app.advance(LEASE - 1);
    assert_eq!(kassa::worker::bill_once(app.ctx()).await.unwrap(), 0, "the lease still holds");
    assert_eq!(app.count("/payment_intents").await, 1, "only the checkout's payment");

    // Once it has run out, the next run takes the subscription over and bills it.
    app.advance(1);
    assert_eq!(kassa::worker::bill_once(app.ctx()).await.unwrap(), 1);
    // The stalled run comes back: its lease is gone, so it records nothing.
    stalled.release.notify_one();
    run.await.unwrap().unwrap();
    assert_eq!(stalled.charges.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(kassa::worker::bill_once(app.ctx()).await.unwrap(), 0, "nothing left to bill");

    let inv = invoices(&app, &sub).await;
    assert_eq!(inv.len(), 2, "{inv:#?}");
    for i in &inv {
        assert_eq!(i["status"], "paid", "{i}");
        assert_eq!(i["amount_paid"], 1200, "{i}");
        assert_eq!(i["attempt_count"], 1, "{i}");
    }
    let pis = app.get("/payment_intents?limit=100").await.ok()["data"].as_array().unwrap().clone();
    assert_eq!(pis.len(), 2, "one payment per invoice: {pis:#?}");
    assert!(pis.iter().all(|p| p["status"] == "succeeded"), "{pis:#?}");
    assert_eq!(pis[0]["id"], inv[1]["payment_intent"]);
    let types = app.event_types().await;
    assert_eq!(types.iter().filter(|t| *t == "invoice.paid").count(), 2, "{types:?}");
    assert_eq!(types.iter().filter(|t| *t == "payment_intent.succeeded").count(), 2, "{types:?}");
    let s = subscription(&app, &sub).await;
    assert_eq!(s["status"], "active");
    assert_eq!(s["latest_invoice"], inv[1]["id"]);
}

#[tokio::test]
async fn a_clock_moves_at_most_two_years_per_advance_and_never_past_year_9999() {
    let app = TestApp::spawn().await;
    let start = ts(2027, 1, 15);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let sub = id(&subscribe(&app, Some(&cus), 700, "week", "4242424242424242", json!({})).await);
    let advance_to = |to: i64| {
        let path = format!("/test_helpers/test_clocks/{clock}/advance");
        let app = &app;
        async move { app.post(&path, &[("frozen_time", &to.to_string())]).await }
    };

    // Ten years at once (what ran 22 s and wrote 3,653 invoices for one daily subscription), or
    // one second more than two years: refused, naming the limit, and nothing moves.
    let limit = ts(2029, 1, 15);
    for to in [ts(2037, 1, 15), limit + 1] {
        let r = advance_to(to).await;
        let message = r.invalid("frozen_time")["message"].as_str().unwrap().to_owned();
        assert!(message.contains("two years") && message.contains(&limit.to_string()), "{message}");
    }
    let c = app.get(&format!("/test_helpers/test_clocks/{clock}")).await;
    assert_eq!((c.ok()["frozen_time"].as_i64(), c.body["status"].as_str()), (Some(start), Some("ready")));
    assert_eq!(invoices(&app, &sub).await.len(), 1, "nothing billed");

    // Past the year 9999 or before 1970, on advance and on create.
    for bad in ["253402300800", "9223372036854775807", "-1"] {
        advance_to(bad.parse().unwrap()).await.invalid("frozen_time");
        app.post("/test_helpers/test_clocks", &[("frozen_time", bad)]).await.invalid("frozen_time");
    }
    let r = app.post("/test_helpers/test_clocks", &[("frozen_time", "9223372036854775808")]).await;
    r.invalid("frozen_time");
    let last = app.post("/test_helpers/test_clocks", &[("frozen_time", "253402300799")]).await;
    assert_eq!(last.status, 201, "{}", last.text);
    let late = app.post("/test_helpers/test_clocks", &[("frozen_time", "253401000000")]).await;
    let late = id(late.ok());
    let r = app
        .post(&format!("/test_helpers/test_clocks/{late}/advance"), &[("frozen_time", "253402300800")])
        .await;
    assert!(r.invalid("frozen_time")["message"].as_str().unwrap().contains("253402300799"), "{}", r.text);

    // Exactly two years is one advance; further goes in steps.
    advance(&app, &clock, limit).await;
    assert_eq!(invoices(&app, &sub).await.len(), 105, "the checkout's and one a week for 731 days");
    advance(&app, &clock, limit + 7 * DAY).await;
    let inv = invoices(&app, &sub).await;
    assert_eq!(inv.len(), 106);
    assert!(inv.iter().all(|i| i["status"] == "paid"));
}

/// Start advancing the app's `clock` to `to` with the run on `ctx` (a context of the test's own
/// on the same store), as `POST …/advance` does on the server's.
async fn advance_on(app: &TestApp, ctx: &AppState, clock: &str, to: i64) {
    let key = kassa_core::account::SecretKey::from_operator(&app.key).unwrap();
    let account = ctx.store.account_by_key(&key.hash()).await.unwrap().unwrap();
    let acct = kassa::service::Acct { id: account.id, name: account.name };
    let p =
        kassa_core::params::TestClockAdvance { frozen_time: Some(kassa_core::params::Int(to)), expand: None };
    kassa::service::billing::start_advance(ctx, &acct, clock, p).await.unwrap();
}

#[tokio::test]
async fn an_advance_runs_in_bounded_chunks_in_time_order_across_customers() {
    let app = TestApp::spawn().await;
    let start = ts(2027, 3, 1);
    let r = app.post("/test_helpers/test_clocks", &[("frozen_time", &start.to_string())]).await;
    let clock = id(r.ok());
    // Twelve daily subscriptions over three customers of the clock: twelve renewals due at
    // every moment the clock passes.
    let mut subs = Vec::new();
    for c in 0..3 {
        let email = format!("c{c}@example.test");
        let cus = app.post("/customers", &[("email", &email), ("test_clock", &clock)]).await;
        let cus = id(cus.ok());
        for _ in 0..4 {
            subs.push(id(&subscribe(&app, Some(&cus), 100, "day", "4242424242424242", json!({})).await));
        }
    }

    // The same server's store, counted, under a context that takes 5 subscriptions and 5 steps
    // per transaction.
    let base = app.ctx();
    let chunks = Arc::new(std::sync::Mutex::new(Vec::new()));
    let store =
        Arc::new(Counting { inner: base.store.clone(), chunks: chunks.clone(), reads: Default::default() });
    let mut ctx = Ctx::new(store, base.clock.clone(), &base.public_url, base.webhooks.clone());
    let chunk = kassa::service::billing::Chunk { subscriptions: 5, steps: 5 };
    ctx.billing_chunk = chunk;
    let ctx: AppState = Arc::new(ctx);
    advance_on(&app, &ctx, &clock, start + 20 * DAY).await;
    poll_async("the clock to get ready", || async {
        let c = app.get(&format!("/test_helpers/test_clocks/{clock}")).await;
        (c.ok()["status"] == "ready").then_some(())
    })
    .await;

    let chunks = chunks.lock().unwrap().clone();
    assert!(chunks.len() >= 2 * 20 * 12 / 5, "240 renewals, each opened and then paid: {chunks:?}");
    for (subscriptions, invoices) in &chunks {
        assert!(*subscriptions <= 5 && *invoices <= 5, "one transaction did more than a chunk: {chunks:?}");
    }
    // All of it, in order: each subscription has a paid invoice a day.
    for sub in &subs {
        let inv = invoices(&app, sub).await;
        assert_eq!(inv.len(), 21, "{sub}");
        assert!(inv.iter().all(|i| i["status"] == "paid"));
        assert!(
            inv.windows(2)
                .all(|w| w[1]["period_start"].as_i64().unwrap() - w[0]["period_start"].as_i64().unwrap()
                    == DAY)
        );
    }
    // Across customers, the renewals went by in time order: the events' dates never go back.
    let mut created = Vec::new();
    let mut after = String::new();
    loop {
        let r = app.get(&format!("/events?type=invoice.paid&limit=100{after}")).await;
        let page = r.ok()["data"].as_array().unwrap().clone();
        created.extend(page.iter().map(|e| e["created"].as_i64().unwrap()));
        match page.last() {
            Some(last) if r.body["has_more"] == true => after = format!("&starting_after={}", id(last)),
            _ => break,
        }
    }
    assert_eq!(created.len(), 12 * 21);
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first: {created:?}");
}

#[tokio::test]
async fn an_advance_that_outlasts_its_lease_keeps_its_clock() {
    // `service::billing`'s lease on an advancing clock.
    const CLOCK_LEASE: i64 = 300;
    let app = TestApp::spawn().await;
    let start = ts(2027, 1, 15);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let sub = id(&subscribe(&app, Some(&cus), 900, "month", "4242424242424242", json!({})).await);

    // The advance runs on a context whose charges wait for the test: it is still running when
    // the server's time passes its lease.
    let stalled = Arc::new(StalledCharges::default());
    let base = app.ctx();
    let mut ctx = Ctx::new(base.store.clone(), base.clock.clone(), &base.public_url, base.webhooks.clone());
    ctx.processor = stalled.clone();
    let ctx: AppState = Arc::new(ctx);
    advance_on(&app, &ctx, &clock, ts(2027, 4, 15)).await;
    tokio::time::timeout(TIMEOUT, stalled.entered.notified()).await.expect("the first renewal's charge");
    app.advance(CLOCK_LEASE + 1);
    stalled.release.notify_one();
    tokio::time::timeout(TIMEOUT, stalled.entered.notified()).await.expect("the second renewal's charge");

    // The run renewed its lease between rounds: the scheduler's pass does not take the clock
    // over (it would bill the rest itself and make the clock ready).
    kassa::worker::bill_once(app.ctx()).await.unwrap();
    let c = app.get(&format!("/test_helpers/test_clocks/{clock}")).await;
    assert_eq!(c.ok()["status"], "advancing", "{}", c.text);

    poll_async("the clock to get ready", || async {
        stalled.release.notify_one();
        let c = app.get(&format!("/test_helpers/test_clocks/{clock}")).await;
        (c.ok()["status"] == "ready").then_some(())
    })
    .await;
    let inv = invoices(&app, &sub).await;
    assert_eq!(inv.len(), 4, "{inv:#?}");
    assert!(inv.iter().all(|i| i["status"] == "paid" && i["attempt_count"].as_i64() <= Some(1)));
    assert_eq!(stalled.charges.load(std::sync::atomic::Ordering::SeqCst), 3, "each renewal charged once");
}
