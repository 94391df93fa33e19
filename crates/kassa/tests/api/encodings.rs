//! JSON and Stripe's form encoding decode into the same typed request, so the same
//! parameters give the same object whichever way they are sent; query strings carry list
//! parameters.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, without_volatile};

fn created(r: &Resp) -> Value {
    assert_eq!(r.status, 201, "{}", r.text);
    without_volatile(r.body.clone())
}

/// Stripe's form encoding with raw (not percent-encoded) brackets, as curl users write it.
fn raw_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC))
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn post_raw_form(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> Resp {
    app.post_raw(path, Some("application/x-www-form-urlencoded"), raw_form(pairs)).await
}

#[tokio::test]
async fn products_are_the_same_from_json_and_form() {
    let app = TestApp::spawn().await;
    let json = app
        .post_json(
            "/products",
            &json!({"name": "Desk lamp", "description": "Warm & bright", "active": false, "metadata": {"room": "office", "w": "40"}}),
        )
        .await;
    let form = [
        ("name", "Desk lamp"),
        ("description", "Warm & bright"),
        ("active", "false"),
        ("metadata[room]", "office"),
        ("metadata[w]", "40"),
    ];
    let encoded = app.post("/products", &form).await;
    let raw = post_raw_form(&app, "/products", &form).await;
    // Booleans and numbers as strings in JSON are accepted too.
    let stringly = app
        .post_json(
            "/products",
            &json!({"name": "Desk lamp", "description": "Warm & bright", "active": "false", "metadata": {"room": "office", "w": 40}}),
        )
        .await;
    let expected = created(&json);
    assert_eq!(expected["active"], false);
    assert_eq!(expected["description"], "Warm & bright");
    assert_eq!(created(&encoded), expected);
    assert_eq!(created(&raw), expected);
    assert_eq!(created(&stringly), expected);
}

#[tokio::test]
async fn prices_with_recurring_and_expand_are_the_same_from_json_and_form() {
    let app = TestApp::spawn().await;
    let product = app.product("Pro plan").await;
    let json = app
        .post_json(
            "/prices",
            &json!({
                "product": product, "unit_amount": 2500, "currency": "eur", "nickname": "Pro",
                "recurring": {"interval": "month", "interval_count": 3},
                "metadata": {"plan": "pro"}, "expand": ["product"],
            }),
        )
        .await;
    let expected = created(&json);
    assert_eq!(expected["product"]["object"], "product", "expand[] embeds the product");
    assert_eq!(expected["product"]["name"], "Pro plan");
    assert_eq!(expected["recurring"]["interval_count"], 3);

    let base = [
        ("product", product.as_str()),
        ("unit_amount", "2500"),
        ("currency", "eur"),
        ("nickname", "Pro"),
        ("recurring[interval]", "month"),
        ("recurring[interval_count]", "3"),
        ("metadata[plan]", "pro"),
    ];
    for expand in ["expand[]", "expand[0]"] {
        let mut form = base.to_vec();
        form.push((expand, "product"));
        assert_eq!(created(&app.post("/prices", &form).await), expected, "{expand}, encoded brackets");
        assert_eq!(created(&post_raw_form(&app, "/prices", &form).await), expected, "{expand}, raw brackets");
    }
    // Integers as JSON strings.
    let stringly = app
        .post_json(
            "/prices",
            &json!({
                "product": product, "unit_amount": "2500", "currency": "eur", "nickname": "Pro",
                "recurring": {"interval": "month", "interval_count": "3"},
                "metadata": {"plan": "pro"}, "expand": ["product"],
            }),
        )
        .await;
    assert_eq!(created(&stringly), expected);
    // Without expand the product stays an id.
    let plain = app.post("/prices", &base).await;
    assert_eq!(plain.body["product"], product.as_str());
    assert_eq!(app.count("/prices").await, 7);
}

#[tokio::test]
async fn coupons_are_the_same_from_json_and_form() {
    let app = TestApp::spawn().await;
    let a = app.product("A").await;
    let b = app.product("B").await;
    let redeem_by = {
        use kassa_core::time::Clock;
        app.clock.now() + 86_400
    };
    let json = app
        .post_json(
            "/coupons",
            &json!({
                "percent_off": 12.5, "duration": "repeating", "duration_in_months": 3,
                "max_redemptions": 10, "redeem_by": redeem_by, "name": "Spring",
                "applies_to": {"products": [a, b]}, "metadata": {"src": "mail"},
            }),
        )
        .await;
    let expected = created(&json);
    assert_eq!(expected["percent_off"], json!(12.5));
    assert_eq!(expected["applies_to"]["products"], json!([a, b]));

    let rb = redeem_by.to_string();
    let common = [
        ("percent_off", "12.5"),
        ("duration", "repeating"),
        ("duration_in_months", "3"),
        ("max_redemptions", "10"),
        ("redeem_by", rb.as_str()),
        ("name", "Spring"),
        ("metadata[src]", "mail"),
    ];
    let mut indexed = common.to_vec();
    indexed.extend([("applies_to[products][0]", a.as_str()), ("applies_to[products][1]", b.as_str())]);
    assert_eq!(created(&app.post("/coupons", &indexed).await), expected);
    assert_eq!(created(&post_raw_form(&app, "/coupons", &indexed).await), expected);
    let mut appended = common.to_vec();
    appended.extend([("applies_to[products][]", a.as_str()), ("applies_to[products][]", b.as_str())]);
    assert_eq!(created(&app.post("/coupons", &appended).await), expected);
    // Indices in any order keep their order.
    let mut reversed = common.to_vec();
    reversed.extend([("applies_to[products][1]", b.as_str()), ("applies_to[products][0]", a.as_str())]);
    assert_eq!(created(&app.post("/coupons", &reversed).await), expected);
    // percent_off as a JSON string.
    let mut stringly = json.body.clone();
    let obj = stringly.as_object_mut().unwrap();
    for k in ["id", "object", "created", "livemode", "times_redeemed", "valid", "amount_off", "currency"] {
        obj.remove(k);
    }
    obj.insert("percent_off".into(), json!("12.5"));
    assert_eq!(created(&app.post_json("/coupons", &stringly).await), expected);
}

#[tokio::test]
async fn sessions_are_the_same_from_json_and_form() {
    let app = TestApp::spawn().await;
    let p1 = app.price(1500, "usd").await;
    let p2 = app.price(250, "usd").await;
    let strip = |r: &Resp| {
        let mut v = created(r);
        let obj = v.as_object_mut().unwrap();
        obj.remove("url");
        obj["line_items"].as_object_mut().unwrap().remove("url");
        v
    };
    let json = app
        .post_json(
            "/checkout/session",
            &json!({
                "line_items": [
                    {"price": p1, "quantity": 2, "adjustable_quantity": {"enabled": true, "maximum": 10}},
                    {"price": p2, "quantity": 1},
                ],
                "success_url": "https://shop.test/ok?s={CHECKOUT_SESSION_ID}&x=1",
                "payment_method_types": ["card", "paypal"],
                "allow_promotion_codes": true,
                "client_reference_id": "order-17",
                "metadata": {"order": "17"},
                "expand": ["line_items"],
            }),
        )
        .await;
    let expected = strip(&json);
    assert_eq!(expected["amount_total"], 3250);
    assert_eq!(expected["line_items"]["data"][0]["adjustable_quantity"]["maximum"], 10);

    let form = [
        ("line_items[0][price]", p1.as_str()),
        ("line_items[0][quantity]", "2"),
        ("line_items[0][adjustable_quantity][enabled]", "true"),
        ("line_items[0][adjustable_quantity][maximum]", "10"),
        ("line_items[1][price]", p2.as_str()),
        ("line_items[1][quantity]", "1"),
        ("success_url", "https://shop.test/ok?s={CHECKOUT_SESSION_ID}&x=1"),
        ("payment_method_types[]", "card"),
        ("payment_method_types[]", "paypal"),
        ("allow_promotion_codes", "true"),
        ("client_reference_id", "order-17"),
        ("metadata[order]", "17"),
        ("expand[]", "line_items"),
    ];
    assert_eq!(strip(&app.post("/checkout/session", &form).await), expected);
    assert_eq!(strip(&post_raw_form(&app, "/checkout/session", &form).await), expected);
}

#[tokio::test]
async fn query_strings_carry_list_parameters() {
    let app = TestApp::spawn().await;
    let mut active = Vec::new();
    for i in 0..3 {
        active.push(app.product(&format!("On {i}")).await);
    }
    let off = app.post("/products", &[("name", "Off"), ("active", "false")]).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.get("/products?limit=2&active=true").await;
    let l = r.ok();
    let ids: Vec<&str> = l["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [active[2].as_str(), active[1].as_str()]);
    assert_eq!(l["has_more"], true);
    assert!(!ids.contains(&off.as_str()));

    // Percent-encoded brackets and expand on lists.
    let price = app.price_for(&active[0], 300, "usd", None).await;
    for q in ["expand[]=data.product", "expand%5B%5D=data.product", "expand[0]=data.product"] {
        let r = app.get(&format!("/prices?{q}")).await;
        let first = &r.ok()["data"][0];
        assert_eq!(first["id"], price.as_str(), "{q}");
        assert_eq!(first["product"]["id"], active[0].as_str(), "{q}: {}", r.text);
    }
    let r = app.get(&format!("/prices/{price}?expand[]=product")).await;
    assert_eq!(r.ok()["product"]["name"], "On 0");
    let r = app.get("/prices?expand[]=product").await;
    r.invalid("expand");
}

#[tokio::test]
async fn body_parameters_win_over_the_query_string() {
    let app = TestApp::spawn().await;
    let r = app.post("/products?name=FromQuery", &[]).await;
    assert_eq!(r.ok()["name"], "FromQuery");
    let r = app.post("/products?name=FromQuery&description=q", &[("name", "FromBody")]).await;
    assert_eq!(r.ok()["name"], "FromBody");
    assert_eq!(r.body["description"], "q");
    let r = app.post_json("/products?name=FromQuery", &json!({"name": "FromJson"})).await;
    assert_eq!(r.ok()["name"], "FromJson");
}

#[tokio::test]
async fn text_round_trips_in_both_encodings() {
    let app = TestApp::spawn().await;
    let name = "Ünïcødé 🎉 \"quoted\" <b>tag</b> a+b=c&d %41 tab\there";
    let via_json = app.post_json("/products", &json!({"name": name, "metadata": {"ключ": "值"}})).await;
    assert_eq!(via_json.ok()["name"], name);
    assert_eq!(via_json.body["metadata"], json!({"ключ": "值"}));
    let via_form = app.post("/products", &[("name", name), ("metadata[ключ]", "值")]).await;
    assert_eq!(via_form.ok()["name"], name);
    assert_eq!(via_form.body["metadata"], json!({"ключ": "值"}));
    let id = via_form.body["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/products/{id}")).await.body["name"], name);
    // A key given twice keeps the last value; `+` and `%20` are both spaces.
    let r = app
        .post_raw("/products", Some("application/x-www-form-urlencoded"), "name=first&name=two+words%20here")
        .await;
    assert_eq!(r.ok()["name"], "two words here");
    // An empty body on an update changes nothing.
    let before = app.get(&format!("/products/{id}")).await.body;
    let r = app.post(&format!("/products/{id}"), &[]).await;
    assert_eq!(r.ok()["name"], name);
    assert_eq!(r.body["metadata"], before["metadata"]);
}

#[tokio::test]
async fn the_v1_tree_answers_the_same_objects_with_200() {
    let app = TestApp::spawn().await;
    let native = app.post("/products", &[("name", "Same"), ("metadata[a]", "b")]).await;
    let v1 = app.post("/v1/products", &[("name", "Same"), ("metadata[a]", "b")]).await;
    assert_eq!(native.status, 201);
    assert_eq!(v1.status, 200, "Stripe answers 200 on create");
    assert_eq!(without_volatile(v1.body.clone()), without_volatile(native.body.clone()));
    let id = v1.body["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1/products/{id}")).await.body, v1.body);
    assert_eq!(app.get(&format!("/products/{id}")).await.body, v1.body);
    let price = app.price(100, "usd").await;
    let r = app
        .post("/v1/checkout/sessions", &[("line_items[0][price]", &price), ("line_items[0][quantity]", "1")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["object"], "checkout.session");
    // Errors are the same on both trees.
    let a = app.post("/products", &[("colour", "red")]).await;
    let b = app.post("/v1/products", &[("colour", "red")]).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body, b.body);
}

/// A JSON body alone is decoded straight into the request's type; with a query string or an
/// `Idempotency-Key` it is decoded into a tree first. Either way it means the same: a member named
/// twice counts once, with its last value, and a refusal names the same parameter.
#[tokio::test]
async fn a_json_body_means_the_same_decoded_straight_or_as_a_tree() {
    let app = TestApp::spawn().await;
    let body = r#"{"name":"first","name":"Shirt","metadata":{"k":"1","k":"2"}}"#;
    let alone = app.post_raw("/products", Some("application/json"), body).await;
    let with_key = app.post_raw_idem_as(&app.key, "/products", "twice-named", "application/json", body).await;
    let with_query = app.post_raw("/products?active=true", Some("application/json"), body).await;
    for r in [&alone, &with_key, &with_query] {
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["name"], "Shirt", "{}", r.text);
        assert_eq!(r.body["metadata"], json!({"k": "2"}), "{}", r.text);
    }
    assert_eq!(without_volatile(alone.body.clone()), without_volatile(with_key.body.clone()));

    let price = app
        .post(
            "/prices",
            &[("product", alone.body["id"].as_str().unwrap()), ("unit_amount", "100"), ("currency", "usd")],
        )
        .await;
    let price = price.body["id"].as_str().unwrap().to_owned();
    for (body, param, code) in [
        (
            json!({"line_items": [{"price": price, "quantity": "two"}], "mode": "payment", "success_url": "https://a.test/ok"}),
            "line_items[0][quantity]",
            "parameter_invalid_integer",
        ),
        (
            json!({"line_items": [{"price": price, "quantity": 1}], "mode": "payment", "success_url": "https://a.test/ok", "colour": "red"}),
            "colour",
            "parameter_unknown",
        ),
        (
            json!({"line_items": [{"price": price, "quantity": 1}], "mode": "payment", "success_url": "https://a.test/ok", "expires_at": ""}),
            "expires_at",
            "parameter_invalid_empty",
        ),
    ] {
        let r = app.post_json("/checkout/session", &body).await;
        let e = r.error(400);
        assert_eq!(e["param"], param, "{}", r.text);
        assert_eq!(e["code"], code, "{}", r.text);
    }
}
