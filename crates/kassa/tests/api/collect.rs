//! Issue 15, the collection side: shipping rates (`/shipping_rates`), and the session parameters
//! that decide what the hosted page collects (addresses, shipping, phone, tax ids, consent, custom
//! fields and texts, submit type, locale, customer updates), with Stripe's rules and shapes.

#![allow(clippy::unwrap_used)]

use kassa_core::time::Clock;
use serde_json::{Value, json};

use crate::common::id;
use crate::helpers::TestApp;

/// A table row: a form, the `param` it must be refused on, and the error `code`.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect()
}

async fn rate(app: &TestApp, name: &str, amount: &str, currency: &str) -> String {
    let r = app
        .post(
            "/shipping_rates",
            &[
                ("display_name", name),
                ("type", "fixed_amount"),
                ("fixed_amount[amount]", amount),
                ("fixed_amount[currency]", currency),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    id(&r.body)
}

// ---------------------------------------------------------------------------------------------
// Shipping rates

#[tokio::test]
async fn shipping_rate_create_retrieve_and_shape() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let r = app
        .post(
            "/shipping_rates",
            &[
                ("display_name", "Express"),
                ("type", "fixed_amount"),
                ("fixed_amount[amount]", "1500"),
                ("fixed_amount[currency]", "EUR"),
                ("delivery_estimate[minimum][unit]", "business_day"),
                ("delivery_estimate[minimum][value]", "1"),
                ("delivery_estimate[maximum][unit]", "business_day"),
                ("delivery_estimate[maximum][value]", "2"),
                ("tax_behavior", "exclusive"),
                ("tax_code", "txcd_92010001"),
                ("metadata[carrier]", "dhl"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let want = json!({
        "id": r.body["id"],
        "object": "shipping_rate",
        "active": true,
        "created": now,
        "delivery_estimate": {
            "maximum": {"unit": "business_day", "value": 2},
            "minimum": {"unit": "business_day", "value": 1},
        },
        "display_name": "Express",
        "fixed_amount": {"amount": 1500, "currency": "eur"},
        "livemode": false,
        "metadata": {"carrier": "dhl"},
        "tax_behavior": "exclusive",
        "tax_code": "txcd_92010001",
        "type": "fixed_amount",
    });
    assert_eq!(r.body, want);
    let shr = id(&r.body);
    assert!(shr.starts_with("shr_"), "{shr}");
    assert_eq!(app.get(&format!("/shipping_rates/{shr}")).await.ok(), &want);
    assert_eq!(app.get(&format!("/v1/shipping_rates/{shr}")).await.ok(), &want);

    // The plainest rate: no estimate, no tax code, behaviour unspecified. `type` may be left out.
    let r = app
        .post(
            "/v1/shipping_rates",
            &[("display_name", "Free"), ("fixed_amount[amount]", "0"), ("fixed_amount[currency]", "usd")],
        )
        .await;
    let v = r.ok();
    assert_eq!(r.status, 200, "/v1 answers 200 on create");
    assert_eq!(
        (&v["delivery_estimate"], &v["tax_code"], &v["tax_behavior"]),
        (&Value::Null, &Value::Null, &json!("unspecified"))
    );

    let e = app.get("/shipping_rates/shr_nope").await;
    assert_eq!(e.error(404)["message"], "No such shipping_rate: 'shr_nope'");
}

#[tokio::test]
async fn shipping_rate_refusals_name_the_parameter() {
    let app = TestApp::spawn().await;
    let base = [("display_name", "X"), ("fixed_amount[amount]", "100"), ("fixed_amount[currency]", "eur")];
    let with = |extra: &[(&'static str, &'static str)], drop: &str| -> Vec<(&'static str, &'static str)> {
        base.iter().filter(|(k, _)| *k != drop).chain(extra).copied().collect()
    };
    let cases: Vec<Case<'_>> = vec![
        (with(&[], "display_name"), "display_name", "parameter_missing"),
        (with(&[("display_name", " ")], "display_name"), "display_name", "parameter_invalid_empty"),
        (with(&[], "fixed_amount[amount]"), "fixed_amount[amount]", "parameter_missing"),
        (
            with(&[("fixed_amount[amount]", "-1")], "fixed_amount[amount]"),
            "fixed_amount[amount]",
            "parameter_invalid",
        ),
        (
            with(&[("fixed_amount[currency]", "xyz")], "fixed_amount[currency]"),
            "fixed_amount[currency]",
            "parameter_invalid",
        ),
        (with(&[("type", "calculated")], ""), "type", "parameter_invalid"),
        (with(&[("tax_behavior", "sometimes")], ""), "tax_behavior", "parameter_invalid"),
        (
            with(
                &[("delivery_estimate[minimum][unit]", "year"), ("delivery_estimate[minimum][value]", "1")],
                "",
            ),
            "delivery_estimate[minimum][unit]",
            "parameter_invalid",
        ),
        (
            with(
                &[("delivery_estimate[maximum][unit]", "day"), ("delivery_estimate[maximum][value]", "0")],
                "",
            ),
            "delivery_estimate[maximum][value]",
            "parameter_invalid",
        ),
        (
            with(&[("delivery_estimate[maximum][unit]", "day")], ""),
            "delivery_estimate[maximum][value]",
            "parameter_missing",
        ),
        (with(&[("fixed_amount[nope]", "1")], ""), "fixed_amount[nope]", "parameter_unknown"),
    ];
    for (form, param, code) in cases {
        let r = app.post("/shipping_rates", &form).await;
        assert_eq!(r.invalid(param)["code"], code, "{form:?}");
    }
    assert_eq!(app.count("/shipping_rates").await, 0, "nothing half-written");
}

#[tokio::test]
async fn shipping_rate_update_and_list() {
    let app = TestApp::spawn().await;
    let a = rate(&app, "A", "100", "eur").await;
    app.advance(10);
    let b = rate(&app, "B", "200", "usd").await;
    app.advance(10);
    let c = rate(&app, "C", "300", "eur").await;

    let r = app.post(&format!("/shipping_rates/{b}"), &[("active", "false"), ("metadata[k]", "v")]).await;
    assert_eq!((&r.ok()["active"], &r.ok()["metadata"]), (&json!(false), &json!({"k": "v"})));
    let r = app.post(&format!("/shipping_rates/{b}"), &[("tax_behavior", "inclusive")]).await;
    assert_eq!(r.ok()["tax_behavior"], "inclusive");
    let r = app.post(&format!("/shipping_rates/{b}"), &[("tax_behavior", "exclusive")]).await;
    r.invalid("tax_behavior");
    // The amount of a rate never changes.
    let r = app.post(&format!("/shipping_rates/{b}"), &[("fixed_amount[amount]", "1")]).await;
    assert_eq!(r.invalid("fixed_amount")["code"], "parameter_unknown");
    app.post("/shipping_rates/shr_nope", &[("active", "false")]).await.error(404);

    assert_eq!(app.list_ids("/shipping_rates").await, vec![c.clone(), b.clone(), a.clone()]);
    assert_eq!(app.list_ids("/shipping_rates?active=true").await, vec![c.clone(), a.clone()]);
    assert_eq!(app.list_ids("/shipping_rates?active=false").await, vec![b.clone()]);
    assert_eq!(app.list_ids("/shipping_rates?currency=EUR").await, vec![c.clone(), a.clone()]);
    let page = app.get(&format!("/v1/shipping_rates?limit=1&starting_after={c}")).await;
    assert_eq!((ids(page.ok()), &page.body["has_more"]), (vec![b.clone()], &json!(true)));
    assert_eq!(page.body["url"], "/v1/shipping_rates");
    let created = app.clock.now() - 10;
    assert_eq!(app.list_ids(&format!("/shipping_rates?created[gte]={created}")).await, vec![c, b]);
    app.get("/shipping_rates?limit=0").await.invalid("limit");
    app.get("/shipping_rates?starting_after=shr_nope").await.invalid("starting_after");
}
