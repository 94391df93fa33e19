//! Small helpers shared by the `sessions_*` test modules: creating sessions and the catalog
//! objects they reference, and asserting the 400s of session creation.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use kassa_core::time::Clock;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};

pub const PATH: &str = "/checkout/session";

/// The server's current time (the harness's manual clock).
pub fn now(app: &TestApp) -> i64 {
    app.clock.now()
}

/// One line item.
pub fn line(price: &str, quantity: i64) -> Value {
    json!({"price": price, "quantity": quantity})
}

/// POST a JSON session body, whatever the outcome.
pub async fn create(app: &TestApp, body: &Value) -> Resp {
    app.post_json(PATH, body).await
}

/// Assert that creating `body` is a 400 `invalid_request_error` on `param` with `code`; returns
/// the error object.
pub async fn rejects(app: &TestApp, body: Value, param: &str, code: &str) -> Value {
    let r = create(app, &body).await;
    let e = r.invalid(param);
    assert_eq!(e["code"], code, "{}", r.text);
    assert!(e["decline_code"].is_null(), "{}", r.text);
    e.clone()
}

/// A session created from JSON, asserting 201.
pub async fn created(app: &TestApp, body: Value) -> Value {
    app.session(body).await
}

/// A customer with `email`, as the default account.
pub async fn customer(app: &TestApp, email: &str) -> String {
    customer_as(app, &app.key, email).await
}

pub async fn customer_as(app: &TestApp, key: &str, email: &str) -> String {
    let r = app.post_as(key, "/customers", &[("email", email)]).await;
    r.ok()["id"].as_str().unwrap().to_owned()
}

/// A coupon from a form, asserting success; returns its id.
pub async fn new_coupon(app: &TestApp, form: &[(&str, &str)]) -> String {
    let r = app.post("/coupons", form).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

/// A promotion code from a form, asserting success; returns its id (`promo_…`).
pub async fn new_promo(app: &TestApp, form: &[(&str, &str)]) -> String {
    let r = app.post("/promotion_codes", form).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

/// A one-time price for a new product named `name`.
pub async fn named_price(app: &TestApp, name: &str, amount: i64, currency: &str) -> (String, String) {
    let product = app.product(name).await;
    let price = app.price_for(&product, amount, currency, None).await;
    (product, price)
}

/// The `line_items.data` array of a session rendered with `expand[]=line_items`.
pub fn items(session: &Value) -> &Vec<Value> {
    session["line_items"]["data"].as_array().expect("line_items expanded")
}

/// Assert the discount invariants on a session with expanded line items: each line's
/// `amount_total = amount_subtotal - amount_discount`, nothing negative, the lines add up to the
/// session's amounts.
pub fn assert_consistent(s: &Value) {
    let lines = items(s);
    let (mut sub, mut disc, mut total) = (0i64, 0i64, 0i64);
    for li in lines {
        let (a, d, t) = (
            li["amount_subtotal"].as_i64().unwrap(),
            li["amount_discount"].as_i64().unwrap(),
            li["amount_total"].as_i64().unwrap(),
        );
        assert!(d >= 0 && t >= 0 && d <= a, "line out of range: {li}");
        assert_eq!(t, a - d, "{li}");
        sub += a;
        disc += d;
        total += t;
    }
    assert_eq!(s["amount_subtotal"], sub, "{s}");
    assert_eq!(s["total_details"]["amount_discount"], disc, "{s}");
    assert_eq!(s["amount_total"], total, "{s}");
}
