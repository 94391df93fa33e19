//! Changing a subscription mid-period: `POST /subscriptions/{id}` with `items`,
//! `proration_behavior` and `proration_date`, and `GET /invoices/upcoming` /
//! `POST /invoices/create_preview`. Every example is a 31-day January on a test clock
//! (2027-01-01 12:00 → 2027-02-01 12:00) with its cents written out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::billing::{advance, clock_and_customer, invoices, subscribe, ts};
use crate::common::id;
use crate::helpers::TestApp;

/// A $`amount`/month subscription on a clock at 2027-01-01 12:00; returns (clock, sub, item).
async fn monthly(app: &TestApp, amount: i64) -> (String, String, String) {
    let (clock, cus) = clock_and_customer(app, ts(2027, 1, 1)).await;
    let sub = subscribe(app, Some(&cus), amount, "month", "4242424242424242", json!({})).await;
    assert_eq!(sub["current_period_end"], ts(2027, 2, 1));
    let item = sub["items"]["data"][0]["id"].as_str().unwrap().to_owned();
    (clock, id(&sub), item)
}

fn amounts(invoice: &Value) -> Vec<(i64, bool)> {
    invoice["lines"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["amount"].as_i64().unwrap(), l["proration"].as_bool().unwrap()))
        .collect()
}

#[tokio::test]
async fn an_upgrade_mid_month_is_prorated_onto_the_next_invoice() {
    let app = TestApp::spawn().await;
    let (clock, sub, item) = monthly(&app, 1000).await;
    let pro = app.recurring_price(2500, "usd", "month").await;
    advance(&app, &clock, ts(2027, 1, 16)).await; // 16 of 31 days remain
    let r = app
        .post(&format!("/subscriptions/{sub}"), &[("items[0][id]", &item), ("items[0][price]", &pro)])
        .await;
    assert_eq!(r.ok()["items"]["data"][0]["price"]["id"], pro.as_str());
    assert_eq!(r.body["items"]["data"][0]["id"], item.as_str(), "the item keeps its id");

    // Credit 1000 × 16/31 = 516.13 → -516; charge 2500 × 16/31 = 1290.32 → 1290.
    let next = app.get(&format!("/invoices/upcoming?subscription={sub}")).await;
    assert_eq!(amounts(next.ok()), vec![(2500, false), (-516, true), (1290, true)]);
    assert_eq!(next.body["amount_due"], 2500 - 516 + 1290);
    assert_eq!(next.body["period_start"], ts(2027, 2, 1));
    let lines = next.body["lines"]["data"].as_array().unwrap();
    assert!(lines[1]["description"].as_str().unwrap().starts_with("Unused time on"), "{lines:?}");
    assert!(lines[2]["description"].as_str().unwrap().starts_with("Remaining time on"), "{lines:?}");
    assert_eq!(lines[1]["type"], "invoiceitem");
    assert_eq!(lines[1]["period"], json!({"start": ts(2027, 1, 16), "end": ts(2027, 2, 1)}));
    let preview = app.post("/invoices/create_preview", &[("subscription", &sub)]).await;
    assert_eq!(amounts(preview.ok()), amounts(&next.body), "both previews agree");

    advance(&app, &clock, ts(2027, 2, 1)).await;
    let all = invoices(&app, &sub).await;
    assert_eq!(all.len(), 2);
    assert_eq!(amounts(&all[1]), vec![(2500, false), (-516, true), (1290, true)]);
    assert_eq!(all[1]["amount_paid"], 3274);
    assert_eq!(all[1]["status"], "paid");
    // Collected once: the period after has only the plan.
    let next = app.get(&format!("/invoices/upcoming?subscription={sub}")).await;
    assert_eq!(amounts(next.ok()), vec![(2500, false)]);
}

#[tokio::test]
async fn a_downgrade_prorated_from_a_given_date_credits_more_than_it_charges() {
    let app = TestApp::spawn().await;
    let (clock, sub, item) = monthly(&app, 2500).await;
    let basic = app.recurring_price(1000, "usd", "month").await;
    advance(&app, &clock, ts(2027, 1, 22)).await;
    let from = ts(2027, 1, 21).to_string(); // 11 of 31 days remain
    let r = app
        .post(
            &format!("/subscriptions/{sub}"),
            &[("items[0][id]", &item), ("items[0][price]", &basic), ("proration_date", &from)],
        )
        .await;
    r.ok();
    // Credit 2500 × 11/31 = 887.10 → -887; charge 1000 × 11/31 = 354.84 → 355.
    let next = app.get(&format!("/invoices/upcoming?subscription={sub}")).await;
    assert_eq!(amounts(next.ok()), vec![(1000, false), (-887, true), (355, true)]);
    assert_eq!(next.body["amount_due"], 1000 - 887 + 355);
}

#[tokio::test]
async fn a_quantity_change_with_always_invoice_is_invoiced_and_charged_now() {
    let app = TestApp::spawn().await;
    let (clock, sub, item) = monthly(&app, 1000).await;
    let before =
        app.get("/events?type=invoice.payment_succeeded").await.ok()["data"].as_array().unwrap().len();
    assert_eq!(before, 1, "the checkout's invoice");
    advance(&app, &clock, ts(2027, 1, 16)).await;
    let r = app
        .post(
            &format!("/subscriptions/{sub}"),
            &[("items[0][id]", &item), ("items[0][quantity]", "3"), ("proration_behavior", "always_invoice")],
        )
        .await;
    assert_eq!(r.ok()["items"]["data"][0]["quantity"], 3);
    // Credit 1 × 1000 × 16/31 = 516.13 → -516; charge 3 × 1000 × 16/31 = 1548.39 → 1548.
    let latest = r.body["latest_invoice"].as_str().unwrap().to_owned();
    let inv = app.get(&format!("/invoices/{latest}")).await;
    assert_eq!(amounts(inv.ok()), vec![(-516, true), (1548, true)]);
    assert_eq!(inv.body["billing_reason"], "subscription_update");
    assert_eq!(inv.body["amount_due"], 1032);
    assert_eq!(inv.body["status"], "paid", "charged at once with the saved card");
    assert_eq!(inv.body["amount_paid"], 1032);
    assert_eq!(inv.body["status_transitions"]["paid_at"], ts(2027, 1, 16), "at the clock's time");
    let paid = app.get("/events?type=invoice.payment_succeeded").await;
    assert_eq!(paid.ok()["data"][0]["data"]["object"]["id"], latest.as_str());
    // Nothing is left pending for the next invoice: 3 × 1000.
    let next = app.get(&format!("/invoices/upcoming?subscription={sub}")).await;
    assert_eq!(amounts(next.ok()), vec![(3000, false)]);
}

#[tokio::test]
async fn proration_behavior_none_changes_the_plan_and_charges_nothing_for_the_change() {
    let app = TestApp::spawn().await;
    let (clock, sub, item) = monthly(&app, 1000).await;
    let pro = app.recurring_price(2500, "usd", "month").await;
    advance(&app, &clock, ts(2027, 1, 16)).await;
    let r = app
        .post(
            &format!("/subscriptions/{sub}"),
            &[("items[0][id]", &item), ("items[0][price]", &pro), ("proration_behavior", "none")],
        )
        .await;
    r.ok();
    let next = app.get(&format!("/invoices/upcoming?subscription={sub}")).await;
    assert_eq!(amounts(next.ok()), vec![(2500, false)]);
    assert_eq!(invoices(&app, &sub).await.len(), 1, "no invoice now");
}

#[tokio::test]
async fn bad_changes_are_precise_400s_that_change_nothing() {
    let app = TestApp::spawn().await;
    let (_clock, sub, item) = monthly(&app, 1000).await;
    let yearly = app.recurring_price(9000, "usd", "year").await;
    let path = format!("/subscriptions/{sub}");
    let before = app.get(&path).await.ok().clone();
    let same = before["items"]["data"][0]["price"]["id"].as_str().unwrap();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("items[0][id]", &item), ("proration_behavior", "sometimes")], "proration_behavior"),
        (
            vec![("items[0][id]", &item), ("items[0][quantity]", "2"), ("proration_date", "1")],
            "proration_date",
        ),
        (vec![("items[0][id]", &item), ("items[0][price]", "price_nope")], "items[0][price]"),
        (vec![("items[0][id]", &item), ("items[0][price]", &yearly)], "items[0][price]"),
        (vec![("items[0][id]", "si_nope"), ("items[0][quantity]", "2")], "items[0][id]"),
        (vec![("items[0][id]", &item), ("items[0][quantity]", "0")], "items[0][quantity]"),
        (vec![("items[0][id]", &item), ("items[0][deleted]", "true")], "items"),
        (vec![("items[0][price]", same)], "items"), // a second item of the same price
    ];
    for (form, param) in cases {
        app.post(&path, &form).await.invalid(param);
    }
    assert_eq!(app.get(&path).await.ok(), &before, "nothing changed");
    app.get("/invoices/upcoming").await.invalid("subscription");
    app.get("/invoices/upcoming?subscription=sub_nope").await.invalid("subscription");
}

#[tokio::test]
async fn cancel_at_ends_the_subscription_at_that_time_even_after_a_renewal() {
    let app = TestApp::spawn().await;
    let (clock, sub, _item) = monthly(&app, 1000).await;
    let path = format!("/subscriptions/{sub}");
    app.post(&path, &[("cancel_at", &ts(2027, 1, 1).to_string())]).await.invalid("cancel_at");
    let both = [("cancel_at", ts(2027, 3, 10).to_string()), ("cancel_at_period_end", "true".into())];
    let both: Vec<(&str, &str)> = both.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.post(&path, &both).await.invalid("cancel_at");

    let end = ts(2027, 2, 10);
    let r = app.post(&path, &[("cancel_at", &ts(2027, 1, 20).to_string())]).await;
    assert_eq!(r.ok()["cancel_at"], ts(2027, 1, 20));
    app.get(&format!("/invoices/upcoming?subscription={sub}")).await.error(400); // it ends first
    let r = app.post(&path, &[("cancel_at", &end.to_string())]).await;
    assert_eq!(r.ok()["cancel_at"], end);
    app.get(&format!("/invoices/upcoming?subscription={sub}")).await.ok(); // February's is still due
    assert_eq!(r.body["cancel_at_period_end"], false);
    assert_eq!(r.body["status"], "active");

    advance(&app, &clock, ts(2027, 2, 5)).await;
    let s = app.get(&path).await;
    assert_eq!(s.ok()["status"], "active", "it renewed on Feb 1");
    assert_eq!(invoices(&app, &sub).await.len(), 2);
    advance(&app, &clock, ts(2027, 2, 11)).await;
    let s = app.get(&path).await;
    assert_eq!(s.ok()["status"], "canceled");
    assert_eq!(s.body["ended_at"], end);

    // At the period's end, `cancel_at` is `cancel_at_period_end`.
    let (_clock, sub, _item) = monthly(&app, 1000).await;
    let r = app.post(&format!("/subscriptions/{sub}"), &[("cancel_at", &ts(2027, 2, 1).to_string())]).await;
    assert_eq!(r.ok()["cancel_at_period_end"], true);
    assert_eq!(r.body["cancel_at"], ts(2027, 2, 1));
    let r = app.post(&format!("/subscriptions/{sub}"), &[("cancel_at_period_end", "false")]).await;
    assert_eq!(r.ok()["cancel_at"], Value::Null);
}

#[tokio::test]
async fn a_change_is_previewed_before_it_is_made_and_the_preview_changes_nothing() {
    let app = TestApp::spawn().await;
    let (clock, sub, item) = monthly(&app, 1000).await;
    let pro = app.recurring_price(2500, "usd", "month").await;
    advance(&app, &clock, ts(2027, 1, 16)).await; // 16 of 31 days remain
    let before = app.get(&format!("/subscriptions/{sub}")).await.ok().clone();

    // `GET /invoices/upcoming`'s names: the next invoice as if the plan were changed now.
    let q = format!(
        "/invoices/upcoming?subscription={sub}&subscription_items[0][id]={item}&subscription_items[0][price]={pro}"
    );
    let next = app.get(&q).await;
    assert_eq!(amounts(next.ok()), vec![(2500, false), (-516, true), (1290, true)]);

    // `POST /invoices/create_preview`'s names, with `always_invoice`: the invoice made now.
    let preview = app
        .post(
            "/invoices/create_preview",
            &[
                ("subscription", &sub),
                ("subscription_details[items][0][id]", &item),
                ("subscription_details[items][0][quantity]", "3"),
                ("subscription_details[proration_behavior]", "always_invoice"),
            ],
        )
        .await;
    assert_eq!(amounts(preview.ok()), vec![(-516, true), (1548, true)]);
    assert_eq!(preview.body["billing_reason"], "subscription_update");

    app.get(&format!("/invoices/upcoming?subscription={sub}&subscription_proration_behavior=soon"))
        .await
        .invalid("subscription_proration_behavior");
    app.post(
        "/invoices/create_preview",
        &[("subscription", &sub), ("subscription_details[items][0][price]", "price_nope")],
    )
    .await
    .invalid("subscription_details[items][0][price]");

    assert_eq!(app.get(&format!("/subscriptions/{sub}")).await.ok(), &before, "nothing changed");
    assert_eq!(invoices(&app, &sub).await.len(), 1, "nothing invoiced");
    let next = app.get(&format!("/invoices/upcoming?subscription={sub}")).await;
    assert_eq!(amounts(next.ok()), vec![(1000, false)]);
}

#[tokio::test]
async fn always_invoice_on_the_servers_clock_is_charged_before_the_answer() {
    let app = TestApp::spawn().await;
    let sub = subscribe(&app, None, 1000, "month", "4242424242424242", json!({})).await;
    let item = sub["items"]["data"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/subscriptions/{}", id(&sub)),
            &[("items[0][id]", &item), ("items[0][quantity]", "3"), ("proration_behavior", "always_invoice")],
        )
        .await;
    let latest = r.ok()["latest_invoice"].as_str().unwrap().to_owned();
    let inv = app.get(&format!("/invoices/{latest}")).await;
    // Seconds into a month: about -1000 and +3000.
    let due = inv.ok()["amount_due"].as_i64().unwrap();
    assert!((1995..=2000).contains(&due), "{due}");
    assert_eq!((&inv.body["status"], &inv.body["amount_paid"]), (&json!("paid"), &json!(due)));
}
