//! The `/v1` tree as the official SDKs speak it: the exact bytes stripe-node
//! 23 and stripe-python 16 send, the headers they read back, and what they send for `null`. The
//! SDK suites themselves are `sdk/python/` and `e2e/sdk.test.mjs`; these tests pin each fix they
//! led to, without an SDK.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// stripe-node 23.1.0 and stripe-python 16.1.0 send this body, byte for byte, for
/// `checkout.sessions.create` with these parameters (captured from both): raw brackets, indexed
/// arrays, booleans and integers as strings.
const SDK_SESSION_BODY: &str = "line_items[0][price]=PRICE&line_items[0][quantity]=2&line_items[0][adjustable_quantity][enabled]=true&line_items[0][adjustable_quantity][minimum]=1&line_items[0][adjustable_quantity][maximum]=5&mode=payment&success_url=https%3A%2F%2Fshop.test%2Fok%3Fs%3D%7BCHECKOUT_SESSION_ID%7D&discounts[0][coupon]=C10&metadata[order]=42&payment_method_types[0]=card&payment_method_types[1]=paypal&expand[0]=line_items&expand[1]=discounts.coupon";

#[tokio::test]
async fn the_sdks_session_body_creates_the_session_it_describes() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    app.coupon(&[("id", "C10"), ("percent_off", "10"), ("duration", "once")]).await;
    let body = SDK_SESSION_BODY.replace("PRICE", &price);
    let r = app.post_raw("/v1/checkout/sessions", Some("application/x-www-form-urlencoded"), body).await;
    let s = r.ok();
    assert_eq!(r.status, 200, "Stripe's status on create");
    assert_eq!(s["success_url"], "https://shop.test/ok?s={CHECKOUT_SESSION_ID}");
    assert_eq!(s["payment_method_types"], json!(["card", "paypal"]));
    assert_eq!(s["metadata"], json!({"order": "42"}));
    assert_eq!((&s["amount_subtotal"], &s["amount_total"]), (&json!(2000), &json!(1800)));
    assert_eq!(s["discounts"][0]["coupon"]["id"], "C10", "expand[1] reached the discount");
    let items = &s["line_items"];
    assert_eq!(items["url"], format!("/v1/checkout/sessions/{}/line_items", s["id"].as_str().unwrap()));
    assert_eq!(items["data"][0]["adjustable_quantity"], json!({"enabled": true, "maximum": 5, "minimum": 1}));
}

#[tokio::test]
async fn the_sdks_list_query_string_filters_and_expands() {
    let app = TestApp::spawn().await;
    let price = app.price(500, "usd").await;
    let cus = app.post("/v1/customers", &[("email", "q@example.test")]).await.ok()["id"].clone();
    let cus = cus.as_str().unwrap();
    for _ in 0..2 {
        app.post(
            "/v1/checkout/sessions",
            &[("line_items[0][price]", &price), ("line_items[0][quantity]", "1"), ("customer", cus)],
        )
        .await
        .ok();
    }
    // stripe-python percent-encodes the brackets of a query string; stripe-node does not.
    for query in [
        "limit=1&created%5Bgte%5D=100&expand%5B0%5D=data.customer",
        "limit=1&created[gte]=100&expand[0]=data.customer",
    ] {
        let r = app.get(&format!("/v1/checkout/sessions?{query}")).await;
        let list = r.ok();
        assert_eq!(list["url"], "/v1/checkout/sessions");
        assert_eq!(list["has_more"], true);
        assert_eq!(list["data"].as_array().unwrap().len(), 1);
        assert_eq!(list["data"][0]["customer"]["email"], "q@example.test", "{query}");
    }
}

#[tokio::test]
async fn null_from_an_sdk_unsets_what_can_be_unset() {
    let app = TestApp::spawn().await;
    let r =
        app.post("/v1/products", &[("name", "Lamp"), ("description", "Warm"), ("metadata[a]", "1")]).await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    // stripe-node's body for `products.update(id, {description: null, metadata: {a: null}})`.
    let r = app
        .post_raw(
            &format!("/v1/products/{id}"),
            Some("application/x-www-form-urlencoded"),
            "description=&metadata[a]=",
        )
        .await;
    let p = r.ok();
    assert_eq!(p["description"], Value::Null);
    assert_eq!(p["metadata"], json!({}));
}

#[tokio::test]
async fn null_for_a_value_that_cannot_be_unset_is_parameter_invalid_empty() {
    let app = TestApp::spawn().await;
    let price = app.price(500, "usd").await;
    let base = [("line_items[0][price]", price.as_str()), ("line_items[0][quantity]", "1")];
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("expires_at", "")], "expires_at"),
        (&[("allow_promotion_codes", "")], "allow_promotion_codes"),
        (&[("subscription_data", "")], "subscription_data"),
        (&[("payment_method_types", "")], "payment_method_types"),
        (&[("line_items[0][adjustable_quantity]", "")], "line_items[0][adjustable_quantity]"),
        (&[("discounts[0][coupon]", "")], "discounts[0][coupon]"),
        (&[("discounts[0][promotion_code]", "")], "discounts[0][promotion_code]"),
    ];
    for (extra, param) in cases {
        let mut form = base.to_vec();
        form.extend_from_slice(extra);
        let r = app.post("/v1/checkout/sessions", &form).await;
        let e = r.invalid(param);
        assert_eq!(e["code"], "parameter_invalid_empty", "{}", r.text);
        assert!(e["message"].as_str().unwrap().contains(&format!("'{param}' cannot be unset")), "{}", r.text);
    }
    let r = app
        .post("/v1/checkout/sessions", &[("line_items[0][price]", ""), ("line_items[0][quantity]", "1")])
        .await;
    assert_eq!(r.invalid("line_items[0][price]")["code"], "parameter_invalid_empty");
    let r = app
        .post("/v1/coupons", &[("percent_off", "10"), ("duration", "once"), ("max_redemptions", "")])
        .await;
    assert_eq!(r.invalid("max_redemptions")["code"], "parameter_invalid_empty");
    let product = app.product("P").await;
    let r = app.post(&format!("/v1/products/{product}"), &[("active", "")]).await;
    assert_eq!(r.invalid("active")["code"], "parameter_invalid_empty");
    // Nothing was created by the refused requests.
    assert_eq!(app.count("/checkout/session").await, 0);
}

#[tokio::test]
async fn stripe_version_and_request_id_come_back_on_every_answer() {
    let app = TestApp::spawn().await;
    let version = "2026-10-28.endive";
    for (path, status) in [("/v1/products", 200), ("/v1/products/prod_nope", 404), ("/v1/nowhere", 404)] {
        let r = app
            .send(app.client.get(app.url(path)).bearer_auth(&app.key).header("Stripe-Version", version))
            .await;
        assert_eq!(r.status, status, "{path}: {}", r.text);
        assert_eq!(r.header("stripe-version"), Some(version), "{path}");
        assert!(r.header("request-id").is_some_and(|id| id.starts_with("req_")), "{path}");
    }
    // A bad key is refused with the same headers, so an SDK can report the request's id.
    let r = app
        .send(
            app.client
                .get(app.url("/v1/products"))
                .bearer_auth("sk_test_nope")
                .header("Stripe-Version", version),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("stripe-version"), Some(version));
    assert!(r.header("request-id").is_some());
}

#[tokio::test]
async fn fund_cash_balance_takes_expand_like_every_route() {
    let app = TestApp::spawn().await;
    let cus = app.post("/v1/customers", &[("email", "f@example.test")]).await.ok()["id"].clone();
    let path = format!("/v1/test_helpers/customers/{}/fund_cash_balance", cus.as_str().unwrap());
    let r = app.post(&path, &[("amount", "700"), ("currency", "usd"), ("expand[0]", "customer")]).await;
    let txn = r.ok();
    assert_eq!(txn["object"], "customer_cash_balance_transaction");
    assert_eq!(txn["customer"]["id"], cus);
    assert_eq!(txn["customer"]["cash_balance"]["available"]["usd"], 700);
    // An unknown path refuses the request before the balance moves.
    let r = app.post(&path, &[("amount", "1"), ("currency", "usd"), ("expand[0]", "funded")]).await;
    r.invalid("expand");
    let c = app.get(&format!("/v1/customers/{}", cus.as_str().unwrap())).await;
    assert_eq!(c.ok()["cash_balance"]["available"]["usd"], 700);
}

#[tokio::test]
async fn fields_newer_api_versions_declare_are_present() {
    let app = TestApp::spawn().await;
    let price = app.price(500, "usd").await;
    let coupon = app.coupon(&[("percent_off", "5"), ("duration", "forever")]).await;
    let s = app
        .post("/v1/checkout/sessions", &[("line_items[0][price]", &price), ("line_items[0][quantity]", "1")])
        .await;
    let s = s.ok();
    for field in ["adaptive_pricing", "client_secret", "customer_account", "permissions", "wallet_options"] {
        assert_eq!(s.get(field), Some(&Value::Null), "session.{field}");
    }
    let code = app.post("/v1/promotion_codes", &[("coupon", &coupon), ("code", "NEWER")]).await;
    let code = code.ok();
    assert_eq!(code["promotion"], json!({"coupon": coupon, "type": "coupon"}), "the newer API's name");
    assert_eq!(code["coupon"]["id"], coupon.as_str(), "and 2023-08-16's");
}
