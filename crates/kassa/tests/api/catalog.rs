//! The catalog: products, prices, customers, coupons and promotion codes —
//! create, retrieve, update, list (and delete for coupons), with their rules and shapes.

#![allow(clippy::unwrap_used)]

use kassa_core::time::Clock;
use serde_json::{Value, json};

use crate::common::id;
use crate::helpers::{Resp, TestApp, known, shaped};

/// The id of what `r` created (asserting `201 Created`).
fn created_id(r: &Resp) -> String {
    assert_eq!(r.status, 201, "{}", r.text);
    id(&r.body)
}

/// The fields every object carries.
fn common_shape(v: &Value, object: &str, prefix: &str, now: i64) {
    assert_eq!(v["object"], object, "{v}");
    assert!(v["id"].as_str().unwrap().starts_with(prefix), "{v}");
    assert_eq!(v["livemode"], false, "{v}");
    assert_eq!(v["created"], now, "{v}");
    assert!(v["metadata"].is_object(), "{v}");
}

/// A table row: a form, the `param` it must be refused on, and the error `code`.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// Products

#[tokio::test]
async fn product_create_retrieve_and_shape() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let r = app
        .post("/products", &[("name", "Shirt"), ("description", "Cotton"), ("metadata[color]", "blue")])
        .await;
    let id = created_id(&r);
    let p = &r.body;
    common_shape(p, "product", "prod_", now);
    assert_eq!(p["name"], "Shirt");
    assert_eq!(p["description"], "Cotton");
    assert_eq!(p["active"], true);
    assert_eq!(p["updated"], now);
    assert_eq!(p["metadata"], json!({"color": "blue"}));
    assert!(id.len() >= "prod_".len() + 24, "ids carry enough randomness: {id}");

    let got = app.get(&format!("/products/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(&got.body, p, "retrieve answers what create answered");

    let inactive = app.post("/products", &[("name", "Old"), ("active", "false")]).await;
    assert_eq!(inactive.ok()["active"], false);

    let r = app.get("/products/prod_unknown").await;
    let e = r.error(404);
    assert_eq!(e["code"], "resource_missing");
    assert_eq!(e["message"], "No such product: 'prod_unknown'");
}

#[tokio::test]
async fn product_name_rules() {
    let app = TestApp::spawn().await;
    let r = app.post("/products", &[("description", "no name")]).await;
    assert_eq!(r.invalid("name")["code"], "parameter_missing");
    for blank in ["", "   "] {
        let r = app.post("/products", &[("name", blank)]).await;
        assert_eq!(r.invalid("name")["code"], "parameter_invalid_empty");
    }
    let long = "n".repeat(5001);
    let r = app.post("/products", &[("name", &long)]).await;
    assert!(r.invalid("name")["message"].as_str().unwrap().contains("5000"));
    let r = app.post("/products", &[("name", &long[..5000])]).await;
    assert_eq!(r.status, 201, "5000 characters are allowed");
    // Characters, not bytes: 5000 multi-byte characters fit.
    let wide = "é".repeat(5000);
    let r = app.post("/products", &[("name", &wide)]).await;
    assert_eq!(r.ok()["name"], wide.as_str());
    assert_eq!(app.count("/products").await, 2);
}

#[tokio::test]
async fn product_custom_ids() {
    let app = TestApp::spawn().await;
    let r = app.post("/products", &[("id", "shirt-blue_1"), ("name", "Shirt")]).await;
    assert_eq!(created_id(&r), "shirt-blue_1");
    assert_eq!(app.get("/products/shirt-blue_1").await.ok()["name"], "Shirt");
    let r = app.post("/products", &[("id", "shirt-blue_1"), ("name", "Again")]).await;
    let e = r.invalid("id");
    assert_eq!(e["code"], "resource_already_exists");
    for bad in ["has space", "", "slash/id", &"x".repeat(201)] {
        let r = app.post("/products", &[("id", bad), ("name", "Bad")]).await;
        r.invalid("id");
    }
    assert_eq!(app.get("/products/shirt-blue_1").await.ok()["name"], "Shirt");
    assert_eq!(app.count("/products").await, 1);
}

#[tokio::test]
async fn product_updates_and_metadata() {
    let app = TestApp::spawn().await;
    let created = app.clock.now();
    let r = app
        .post("/products", &[("name", "Shirt"), ("description", "Cotton"), ("metadata[color]", "blue")])
        .await;
    let id = created_id(&r);
    let path = format!("/products/{id}");
    app.clock.advance(10);

    let r = app.post(&path, &[("name", "Shirt 2"), ("active", "false")]).await;
    let p = r.ok();
    assert_eq!(p["name"], "Shirt 2");
    assert_eq!(p["active"], false);
    assert_eq!(p["created"], created);
    assert_eq!(p["updated"], created + 10);
    assert_eq!(p["description"], "Cotton", "untouched fields stay");

    let r = app.post(&path, &[("metadata[size]", "L")]).await;
    assert_eq!(r.ok()["metadata"], json!({"color": "blue", "size": "L"}));
    let r = app.post(&path, &[("metadata[color]", "")]).await;
    assert_eq!(r.ok()["metadata"], json!({"size": "L"}), "an empty value unsets the key");
    let r = app.post(&path, &[("metadata", "")]).await;
    assert_eq!(r.ok()["metadata"], json!({}), "an empty metadata unsets all");
    let r = app.post_json(&path, &json!({"metadata": {"a": "1", "b": 2}})).await;
    assert_eq!(r.ok()["metadata"], json!({"a": "1", "b": "2"}));
    let r = app.post_json(&path, &json!({"metadata": ""})).await;
    assert_eq!(r.ok()["metadata"], json!({}));

    let r = app.post(&path, &[("description", "")]).await;
    assert_eq!(r.ok()["description"], Value::Null);
    let r = app.post(&path, &[("active", "true")]).await;
    assert_eq!(r.ok()["active"], true);

    // Refused updates change nothing.
    let before = app.get(&path).await.body;
    let r = app.post(&path, &[("name", "")]).await;
    assert_eq!(r.invalid("name")["code"], "parameter_invalid_empty");
    let r = app.post(&path, &[("currency", "usd")]).await;
    assert_eq!(r.invalid("currency")["code"], "parameter_unknown");
    let r = app.post(&path, &[("id", "other")]).await;
    assert_eq!(r.invalid("id")["code"], "parameter_unknown");
    let r = app.post(&path, &[("name", "Changed"), ("metadata[x]", &"v".repeat(501))]).await;
    r.invalid("metadata[x]");
    assert_eq!(app.get(&path).await.body, before);

    let r = app.post("/products/prod_nope", &[("name", "x")]).await;
    assert_eq!(r.error(404)["code"], "resource_missing");
}

#[tokio::test]
async fn metadata_limits() {
    let app = TestApp::spawn().await;
    let long_key = format!("metadata[{}]", "k".repeat(41));
    let r = app.post("/products", &[("name", "x"), (&long_key, "v")]).await;
    r.invalid("metadata");
    let long_value = "v".repeat(501);
    let r = app.post("/products", &[("name", "x"), ("metadata[k]", &long_value)]).await;
    r.invalid("metadata[k]");
    let keys: Vec<(String, String)> = (0..51).map(|i| (format!("metadata[k{i}]"), "v".to_owned())).collect();
    let mut form: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    form.push(("name", "x"));
    let r = app.post("/products", &form).await;
    r.invalid("metadata");
    form.remove(0);
    let r = app.post("/products", &form).await;
    assert_eq!(r.ok()["metadata"].as_object().unwrap().len(), 50, "50 keys are allowed");
    // A non-string metadata value from JSON is kept as its text; a nested object is refused.
    let r = app.post_json("/products", &json!({"name": "x", "metadata": {"n": 5, "b": true}})).await;
    assert_eq!(r.ok()["metadata"], json!({"n": "5", "b": "true"}));
    let r = app.post_json("/products", &json!({"name": "x", "metadata": {"o": {"p": "q"}}})).await;
    r.invalid("metadata[o]");
    let r = app.post_json("/products", &json!({"name": "x", "metadata": "nope"})).await;
    r.invalid("metadata");
    assert_eq!(app.count("/products").await, 2);
}

#[tokio::test]
async fn product_lists_paginate_newest_first() {
    let app = TestApp::spawn().await;
    let mut p = Vec::new();
    for i in 0..5 {
        p.push(app.product(&format!("P{i}")).await);
        app.clock.advance(1);
    }
    // p[4] is the newest.
    let r = app.get("/products?limit=2").await;
    let l = r.ok();
    assert_eq!(l["object"], "list");
    assert_eq!(l["url"], "/products");
    assert_eq!(ids(l), [p[4].clone(), p[3].clone()]);
    assert_eq!(l["has_more"], true);

    let l = app.get(&format!("/products?limit=2&starting_after={}", p[3])).await.body;
    assert_eq!(ids(&l), [p[2].clone(), p[1].clone()]);
    assert_eq!(l["has_more"], true);
    let l = app.get(&format!("/products?limit=2&starting_after={}", p[1])).await.body;
    assert_eq!(ids(&l), [p[0].clone()]);
    assert_eq!(l["has_more"], false);

    let l = app.get(&format!("/products?limit=2&ending_before={}", p[0])).await.body;
    assert_eq!(ids(&l), [p[2].clone(), p[1].clone()]);
    assert_eq!(l["has_more"], true);
    let l = app.get(&format!("/products?limit=2&ending_before={}", p[3])).await.body;
    assert_eq!(ids(&l), [p[4].clone()]);
    assert_eq!(l["has_more"], false);

    let l = app.get("/products").await.body;
    assert_eq!(ids(&l).len(), 5, "default limit 10");
    assert_eq!(l["has_more"], false);
    let l = app.get("/products?limit=5").await.body;
    assert_eq!(l["has_more"], false, "exactly `limit` objects: no more");
    let l = app.get("/products?limit=100").await.body;
    assert_eq!(ids(&l).len(), 5);

    let l = app.get("/v1/products?limit=1").await;
    assert_eq!(l.ok()["url"], "/v1/products");

    // Created filters.
    let t0 = l.body["data"][0]["created"].as_i64().unwrap();
    let l = app.get(&format!("/products?created[gte]={}", t0 - 1)).await.body;
    assert_eq!(ids(&l), [p[4].clone(), p[3].clone()]);
    let l = app.get(&format!("/products?created={}", t0 - 2)).await.body;
    assert_eq!(ids(&l), [p[2].clone()]);
    let l = app.get(&format!("/products?created[lt]={}", t0 - 2)).await.body;
    assert_eq!(ids(&l), [p[1].clone(), p[0].clone()]);
}

#[tokio::test]
async fn list_parameter_errors() {
    let app = TestApp::spawn().await;
    let p = app.product("Only").await;
    for limit in ["0", "101", "-1", "1000000"] {
        let r = app.get(&format!("/products?limit={limit}")).await;
        assert!(r.invalid("limit")["message"].as_str().unwrap().contains("between 1 and 100"), "{}", r.text);
    }
    let r = app.get("/products?limit=abc").await;
    assert_eq!(r.invalid("limit")["code"], "parameter_invalid_integer");
    let r = app.get("/products?limit=99999999999999999999").await;
    assert_eq!(r.invalid("limit")["code"], "parameter_invalid_integer");
    let r = app.get(&format!("/products?starting_after={p}&ending_before={p}")).await;
    assert_eq!(r.error(400)["code"], "parameters_exclusive");
    let r = app.get("/products?starting_after=prod_nope").await;
    assert_eq!(r.invalid("starting_after")["code"], "resource_missing");
    let r = app.get("/products?ending_before=prod_nope").await;
    assert_eq!(r.invalid("ending_before")["code"], "resource_missing");
    let r = app.get("/products?name=Only").await;
    assert_eq!(r.invalid("name")["code"], "parameter_unknown");
    let r = app.get("/products?active=maybe").await;
    r.invalid("active");
    let r = app.get("/products?created[around]=5").await;
    r.error(400);
    // A cursor naming an object of another kind is not a product.
    let price = app.price_for(&p, 100, "usd", None).await;
    let r = app.get(&format!("/products?starting_after={price}")).await;
    assert_eq!(r.invalid("starting_after")["code"], "resource_missing");
}

#[tokio::test]
async fn product_active_filter() {
    let app = TestApp::spawn().await;
    let a = app.product("A").await;
    let b = app.product("B").await;
    let c = app.product("C").await;
    app.post(&format!("/products/{b}"), &[("active", "false")]).await.ok();
    assert_eq!(app.list_ids("/products?active=true").await, [c.clone(), a.clone()]);
    assert_eq!(app.list_ids("/products?active=false").await, [b.as_str()]);
    assert_eq!(app.list_ids("/products").await, [c, b, a]);
}

// ---------------------------------------------------------------------------------------------
// Prices

#[tokio::test]
async fn one_time_and_recurring_prices() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let product = app.product("Plan").await;
    let r = app.post("/prices", &[("product", &product), ("unit_amount", "1500"), ("currency", "usd")]).await;
    let one = created_id(&r);
    let p = &r.body;
    common_shape(p, "price", "price_", now);
    assert_eq!(p["type"], "one_time");
    assert_eq!(p["recurring"], Value::Null);
    assert_eq!(p["unit_amount"], 1500);
    assert_eq!(p["unit_amount_decimal"], "1500");
    assert_eq!(p["currency"], "usd");
    assert_eq!(p["product"], product.as_str());
    assert_eq!(p["active"], true);
    assert_eq!(app.get(&format!("/prices/{one}")).await.body, *p);

    let r = app
        .post(
            "/prices",
            &[
                ("product", &product),
                ("unit_amount", "900"),
                ("currency", "eur"),
                ("recurring[interval]", "month"),
            ],
        )
        .await;
    let p = r.ok();
    assert_eq!(p["type"], "recurring");
    assert_eq!(p["recurring"]["interval"], "month");
    assert_eq!(p["recurring"]["interval_count"], 1);

    let r = app
        .post(
            "/prices",
            &[
                ("product", &product),
                ("unit_amount", "0"),
                ("currency", "JPY"),
                ("recurring[interval]", "week"),
                ("recurring[interval_count]", "2"),
                ("nickname", "Free fortnight"),
                ("lookup_key", "free_2w"),
            ],
        )
        .await;
    let p = r.ok();
    assert_eq!(p["unit_amount"], 0, "a zero amount is allowed");
    assert_eq!(p["currency"], "jpy", "currencies are folded to lowercase");
    assert_eq!(p["recurring"]["interval"], "week");
    assert_eq!(p["recurring"]["interval_count"], 2);
    assert_eq!(p["nickname"], "Free fortnight");
    assert_eq!(p["lookup_key"], "free_2w");

    let r = app
        .post("/prices", &[("product", &product), ("unit_amount", "999999999999"), ("currency", "usd")])
        .await;
    assert_eq!(r.ok()["unit_amount"], 999_999_999_999_i64);
    assert_eq!(app.count("/prices").await, 4);
}

#[tokio::test]
async fn price_rules() {
    let app = TestApp::spawn().await;
    let product = app.product("Plan").await;
    let base = [("product", product.as_str()), ("unit_amount", "1000"), ("currency", "usd")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = base.to_vec();
        for (k, v) in extra {
            f.retain(|(bk, _)| bk != k);
            f.push((k, v));
        }
        f
    };
    let cases: Vec<Case<'_>> = vec![
        (with(&[("unit_amount", "-1")]), "unit_amount", "parameter_invalid"),
        (with(&[("unit_amount", "1000000000000")]), "unit_amount", "amount_too_large"),
        (with(&[("unit_amount", "12.5")]), "unit_amount", "parameter_invalid_integer"),
        (with(&[("unit_amount", "abc")]), "unit_amount", "parameter_invalid_integer"),
        (with(&[("unit_amount", "99999999999999999999")]), "unit_amount", "parameter_invalid_integer"),
        (with(&[("currency", "zzz")]), "currency", "parameter_invalid"),
        (with(&[("currency", "")]), "currency", "parameter_invalid_empty"),
        (with(&[("product", "prod_nope")]), "product", "resource_missing"),
        (with(&[("recurring[interval]", "fortnight")]), "recurring[interval]", "parameter_invalid"),
        (with(&[("recurring[interval_count]", "2")]), "recurring[interval]", "parameter_missing"),
        (
            with(&[("recurring[interval]", "month"), ("recurring[interval_count]", "0")]),
            "recurring[interval_count]",
            "parameter_invalid",
        ),
        (
            with(&[("recurring[interval]", "month"), ("recurring[interval_count]", "-3")]),
            "recurring[interval_count]",
            "parameter_invalid",
        ),
        (
            with(&[("recurring[interval]", "month"), ("recurring[interval_count]", "37")]),
            "recurring[interval_count]",
            "parameter_invalid",
        ),
        (
            with(&[("recurring[interval]", "year"), ("recurring[interval_count]", "4")]),
            "recurring[interval_count]",
            "parameter_invalid",
        ),
        (
            with(&[("recurring[interval]", "week"), ("recurring[interval_count]", "157")]),
            "recurring[interval_count]",
            "parameter_invalid",
        ),
        (
            with(&[("recurring[interval]", "day"), ("recurring[interval_count]", "1096")]),
            "recurring[interval_count]",
            "parameter_invalid",
        ),
        (
            with(&[("recurring[interval]", "month"), ("recurring[interval_count]", "x")]),
            "recurring[interval_count]",
            "parameter_invalid_integer",
        ),
        (
            with(&[("recurring[interval]", "month"), ("recurring[usage_type]", "metered")]),
            "recurring[usage_type]",
            "parameter_unknown",
        ),
        (with(&[("type", "one_time")]), "type", "parameter_unknown"),
        (with(&[("active", "yes")]), "active", "parameter_invalid"),
    ];
    for (form, param, code) in &cases {
        let r = app.post("/prices", form).await;
        assert_eq!(r.invalid(param)["code"], *code, "{form:?}: {}", r.text);
    }
    let missing: [(&[(&str, &str)], &str); 3] = [
        (&[("unit_amount", "1"), ("currency", "usd")], "product"),
        (&[("product", product.as_str()), ("currency", "usd")], "unit_amount"),
        (&[("product", product.as_str()), ("unit_amount", "1")], "currency"),
    ];
    for (form, param) in missing {
        let r = app.post("/prices", form).await;
        assert_eq!(r.invalid(param)["code"], "parameter_missing", "{}", r.text);
    }
    assert_eq!(app.count("/prices").await, 0, "no refused price was written");

    // The upper bounds of interval_count are accepted.
    for (interval, count) in [("day", "1095"), ("week", "156"), ("month", "36"), ("year", "3")] {
        let r = app
            .post(
                "/prices",
                &with(&[("recurring[interval]", interval), ("recurring[interval_count]", count)]),
            )
            .await;
        assert_eq!(r.ok()["recurring"]["interval_count"], count.parse::<i64>().unwrap());
    }
}

#[tokio::test]
async fn price_updates() {
    let app = TestApp::spawn().await;
    let product = app.product("Plan").await;
    let price = app.price_for(&product, 1000, "usd", None).await;
    let path = format!("/prices/{price}");
    let r = app.post(&path, &[("active", "false"), ("nickname", "Old"), ("metadata[tier]", "1")]).await;
    let p = r.ok();
    assert_eq!(p["active"], false);
    assert_eq!(p["nickname"], "Old");
    assert_eq!(p["metadata"], json!({"tier": "1"}));
    assert_eq!(p["unit_amount"], 1000);
    let r = app.post(&path, &[("nickname", "")]).await;
    assert_eq!(r.ok()["nickname"], Value::Null);
    for forbidden in ["unit_amount", "currency", "product", "recurring[interval]"] {
        let r = app.post(&path, &[(forbidden, "1")]).await;
        let param = forbidden.split('[').next().unwrap();
        assert_eq!(r.invalid(param)["code"], "parameter_unknown", "{}", r.text);
    }
    let got = app.get(&path).await;
    assert_eq!(got.body["unit_amount"], 1000);
    assert_eq!(got.body["currency"], "usd");
}

#[tokio::test]
async fn price_list_filters() {
    let app = TestApp::spawn().await;
    let a = app.product("A").await;
    let b = app.product("B").await;
    let a1 = app.price_for(&a, 100, "usd", None).await;
    let a2 = app.price_for(&a, 200, "usd", Some("month")).await;
    let b1 = app.price_for(&b, 300, "eur", Some("year")).await;
    let b2 = app.price_for(&b, 400, "eur", None).await;
    app.post(&format!("/prices/{b2}"), &[("active", "false")]).await.ok();

    assert_eq!(app.list_ids(&format!("/prices?product={a}")).await, [a2.clone(), a1.clone()]);
    assert_eq!(app.list_ids(&format!("/prices?product={b}")).await, [b2.clone(), b1.clone()]);
    assert_eq!(app.list_ids("/prices?active=false").await, [b2.as_str()]);
    assert_eq!(app.list_ids("/prices?active=true").await, [b1.clone(), a2.clone(), a1.clone()]);
    assert_eq!(app.list_ids("/prices?type=recurring").await, [b1.clone(), a2.clone()]);
    assert_eq!(app.list_ids("/prices?type=one_time").await, [b2.clone(), a1.clone()]);
    assert_eq!(app.list_ids("/prices?currency=eur").await, [b2.clone(), b1.clone()]);
    assert_eq!(app.list_ids(&format!("/prices?product={b}&active=true&type=recurring")).await, [b1.as_str()]);
    assert!(app.list_ids("/prices?product=prod_nope").await.is_empty());
    let r = app.get("/prices?type=metered").await;
    r.invalid("type");
    // Paging inside a filter.
    let l = app.get(&format!("/prices?type=recurring&limit=1&starting_after={b1}")).await.body;
    assert_eq!(ids(&l), [a2]);
    assert_eq!(l["has_more"], false);
}

// ---------------------------------------------------------------------------------------------
// Customers

#[tokio::test]
async fn customers() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let r = app
        .post(
            "/customers",
            &[("email", "jo@shop.test"), ("name", "Jo"), ("description", "VIP"), ("metadata[crm]", "42")],
        )
        .await;
    let id = created_id(&r);
    let c = &r.body;
    common_shape(c, "customer", "cus_", now);
    assert_eq!(c["email"], "jo@shop.test");
    assert_eq!(c["name"], "Jo");
    assert_eq!(c["description"], "VIP");
    assert_eq!(c["metadata"], json!({"crm": "42"}));
    assert_eq!(c["cash_balance"]["available"], json!({}));
    assert_eq!(c["test_clock"], Value::Null);
    assert_eq!(app.get(&format!("/customers/{id}")).await.body, *c);

    let r = app.post("/customers", &[]).await;
    let blank = r.ok();
    assert_eq!(blank["email"], Value::Null);
    assert_eq!(blank["name"], Value::Null);

    for bad in ["not-an-email", "a@b", "a b@c.de", "@x.com", "a@.com", "a@b.", "a@b@c.de"] {
        let r = app.post("/customers", &[("email", bad)]).await;
        assert!(r.invalid("email")["message"].as_str().unwrap().contains("email"), "{bad}: {}", r.text);
    }
    let r = app.post("/customers", &[("name", &"n".repeat(257))]).await;
    r.invalid("name");
    assert_eq!(app.count("/customers").await, 2);

    let path = format!("/customers/{id}");
    let r = app.post(&path, &[("email", "new@shop.test"), ("name", "Joanna")]).await;
    assert_eq!(r.ok()["email"], "new@shop.test");
    assert_eq!(r.body["name"], "Joanna");
    let r = app.post(&path, &[("email", "broken")]).await;
    r.invalid("email");
    assert_eq!(app.get(&path).await.body["email"], "new@shop.test", "a refused update changes nothing");
    let r = app.post(&path, &[("email", "")]).await;
    assert_eq!(r.ok()["email"], Value::Null, "an empty email unsets it");
    let r = app.post(&path, &[("cash_balance", "100")]).await;
    assert_eq!(r.invalid("cash_balance")["code"], "parameter_unknown");
}

#[tokio::test]
async fn customer_email_filter() {
    let app = TestApp::spawn().await;
    let a = app.post("/customers", &[("email", "a@shop.test")]).await.body["id"].as_str().unwrap().to_owned();
    let b = app.post("/customers", &[("email", "b@shop.test")]).await.body["id"].as_str().unwrap().to_owned();
    let a2 =
        app.post("/customers", &[("email", "a@shop.test")]).await.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.list_ids("/customers?email=a@shop.test").await, [a2.clone(), a.clone()]);
    assert_eq!(app.list_ids("/customers?email=b%40shop.test").await, [b.as_str()]);
    assert!(app.list_ids("/customers?email=c@shop.test").await.is_empty());
    assert_eq!(app.list_ids("/customers").await, [a2, b, a]);
}

// ---------------------------------------------------------------------------------------------
// Coupons

#[tokio::test]
async fn coupon_shapes() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let r = app.post("/coupons", &[("percent_off", "12.34"), ("name", "Spring")]).await;
    let c = r.ok();
    common_shape(c, "coupon", "", now);
    assert_eq!(c["percent_off"], json!(12.34));
    assert_eq!(c["amount_off"], Value::Null);
    assert_eq!(c["currency"], Value::Null);
    assert_eq!(c["duration"], "once", "the default duration");
    assert_eq!(c["duration_in_months"], Value::Null);
    assert_eq!(c["max_redemptions"], Value::Null);
    assert_eq!(c["redeem_by"], Value::Null);
    assert_eq!(c["times_redeemed"], 0);
    assert_eq!(c["valid"], true);
    assert_eq!(c["name"], "Spring");
    let generated = c["id"].as_str().unwrap();
    assert_eq!(generated.len(), 8, "{generated}");
    assert!(generated.bytes().all(|b| b.is_ascii_alphanumeric()));

    let r =
        app.post("/coupons", &[("amount_off", "500"), ("currency", "EUR"), ("duration", "forever")]).await;
    let c = r.ok();
    assert_eq!(c["amount_off"], 500);
    assert_eq!(c["currency"], "eur");
    assert_eq!(c["percent_off"], Value::Null);
    assert_eq!(c["duration"], "forever");

    let r = app
        .post(
            "/coupons",
            &[
                ("id", "REPEAT3"),
                ("percent_off", "100"),
                ("duration", "repeating"),
                ("duration_in_months", "3"),
                ("max_redemptions", "5"),
            ],
        )
        .await;
    let c = r.ok();
    assert_eq!(c["id"], "REPEAT3");
    assert_eq!(c["percent_off"], json!(100.0));
    assert_eq!(c["duration"], "repeating");
    assert_eq!(c["duration_in_months"], 3);
    assert_eq!(c["max_redemptions"], 5);
    assert_eq!(app.get("/coupons/REPEAT3").await.body, *c);
}

#[tokio::test]
async fn coupon_rules() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let past = (now - 1).to_string();
    let present = now.to_string();
    let long_name = "n".repeat(41);
    let cases: Vec<Case<'_>> = vec![
        (vec![("percent_off", "0")], "percent_off", "parameter_invalid"),
        (vec![("percent_off", "-5")], "percent_off", "parameter_invalid"),
        (vec![("percent_off", "100.01")], "percent_off", "parameter_invalid"),
        (vec![("percent_off", "101")], "percent_off", "parameter_invalid"),
        (vec![("percent_off", "12.345")], "percent_off", "parameter_invalid"),
        (vec![("percent_off", "1e1")], "percent_off", "parameter_invalid"),
        (vec![("percent_off", "ten")], "percent_off", "parameter_invalid"),
        (vec![("percent_off", "10"), ("currency", "usd")], "currency", "parameter_invalid"),
        (vec![("amount_off", "500")], "currency", "parameter_missing"),
        (vec![("amount_off", "0"), ("currency", "usd")], "amount_off", "parameter_invalid"),
        (vec![("amount_off", "-1"), ("currency", "usd")], "amount_off", "parameter_invalid"),
        (vec![("amount_off", "100000000000000"), ("currency", "usd")], "amount_off", "amount_too_large"),
        (vec![("amount_off", "500"), ("currency", "xyz")], "currency", "parameter_invalid"),
        (
            vec![("amount_off", "500"), ("currency", "usd"), ("percent_off", "5")],
            "amount_off",
            "parameters_exclusive",
        ),
        (vec![("name", "nothing")], "percent_off", "parameter_missing"),
        (vec![("percent_off", "5"), ("duration_in_months", "3")], "duration_in_months", "parameter_invalid"),
        (
            vec![("percent_off", "5"), ("duration", "once"), ("duration_in_months", "3")],
            "duration_in_months",
            "parameter_invalid",
        ),
        (
            vec![("percent_off", "5"), ("duration", "forever"), ("duration_in_months", "3")],
            "duration_in_months",
            "parameter_invalid",
        ),
        (vec![("percent_off", "5"), ("duration", "repeating")], "duration_in_months", "parameter_missing"),
        (
            vec![("percent_off", "5"), ("duration", "repeating"), ("duration_in_months", "0")],
            "duration_in_months",
            "parameter_invalid",
        ),
        (vec![("percent_off", "5"), ("duration", "weekly")], "duration", "parameter_invalid"),
        (vec![("percent_off", "5"), ("max_redemptions", "0")], "max_redemptions", "parameter_invalid"),
        (vec![("percent_off", "5"), ("max_redemptions", "-2")], "max_redemptions", "parameter_invalid"),
        (vec![("percent_off", "5"), ("redeem_by", &past)], "redeem_by", "parameter_invalid"),
        (vec![("percent_off", "5"), ("redeem_by", &present)], "redeem_by", "parameter_invalid"),
        (
            vec![("percent_off", "5"), ("applies_to[products][0]", "prod_nope")],
            "applies_to[products][0]",
            "resource_missing",
        ),
        (
            vec![("percent_off", "5"), ("applies_to[prices][0]", "x")],
            "applies_to[prices]",
            "parameter_unknown",
        ),
        (vec![("percent_off", "5"), ("name", &long_name)], "name", "parameter_invalid"),
        (vec![("percent_off", "5"), ("id", "bad id")], "id", "parameter_invalid"),
    ];
    for (form, param, code) in &cases {
        let r = app.post("/coupons", form).await;
        assert_eq!(r.invalid(param)["code"], *code, "{form:?}: {}", r.text);
    }
    assert_eq!(app.count("/coupons").await, 0, "no refused coupon was written");

    // JSON numbers work for percent_off too, and exactly two decimals are fine.
    let r = app.post_json("/coupons", &json!({"percent_off": 33.33})).await;
    assert_eq!(r.ok()["percent_off"], json!(33.33));
    let r = app.post_json("/coupons", &json!({"percent_off": 0.01})).await;
    assert_eq!(r.ok()["percent_off"], json!(0.01));
}

#[tokio::test]
async fn coupon_redeem_by_applies_to_and_validity() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let product = app.product("Eligible").await;
    let redeem_by = (now + 100).to_string();
    let r = app
        .post(
            "/coupons",
            &[
                ("id", "LIMITED"),
                ("percent_off", "20"),
                ("redeem_by", &redeem_by),
                ("applies_to[products][0]", &product),
            ],
        )
        .await;
    let c = r.ok();
    assert_eq!(c["redeem_by"], now + 100);
    assert_eq!(c["applies_to"], json!({"products": [product]}));
    assert_eq!(c["valid"], true);
    app.clock.advance(99);
    assert_eq!(app.get("/coupons/LIMITED").await.body["valid"], true);
    app.clock.advance(1);
    assert_eq!(
        app.get("/coupons/LIMITED").await.body["valid"],
        false,
        "past redeem_by a coupon is not valid"
    );
    let listed = app.get("/coupons").await.body;
    assert_eq!(listed["data"][0]["valid"], false);
}

#[tokio::test]
async fn coupon_custom_ids_update_and_delete() {
    let app = TestApp::spawn().await;
    let id = app.coupon(&[("id", "WELCOME"), ("percent_off", "10")]).await;
    assert_eq!(id, "WELCOME");
    let r = app.post("/coupons", &[("id", "WELCOME"), ("amount_off", "100"), ("currency", "usd")]).await;
    assert_eq!(r.invalid("id")["code"], "resource_already_exists");
    assert_eq!(
        app.get("/coupons/WELCOME").await.body["percent_off"],
        json!(10.0),
        "the first one is untouched"
    );

    let r = app.post("/coupons/WELCOME", &[("name", "Welcome!"), ("metadata[src]", "ads")]).await;
    assert_eq!(r.ok()["name"], "Welcome!");
    assert_eq!(r.body["metadata"], json!({"src": "ads"}));
    for frozen in ["percent_off", "duration", "max_redemptions", "redeem_by"] {
        let r = app.post("/coupons/WELCOME", &[(frozen, "5")]).await;
        assert_eq!(r.invalid(frozen)["code"], "parameter_unknown");
    }

    let other = app.coupon(&[("percent_off", "5")]).await;
    let r = app.delete("/coupons/WELCOME").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"id": "WELCOME", "object": "coupon", "deleted": true}));
    let r = app.get("/coupons/WELCOME").await;
    assert_eq!(r.error(404)["code"], "resource_missing");
    let r = app.delete("/coupons/WELCOME").await;
    assert_eq!(r.error(404)["message"], "No such coupon: 'WELCOME'");
    let r = app.post("/coupons/WELCOME", &[("name", "ghost")]).await;
    r.error(404);
    assert_eq!(app.list_ids("/coupons").await, [other]);
}

// ---------------------------------------------------------------------------------------------
// Promotion codes

#[tokio::test]
async fn promotion_code_shape_embeds_the_coupon() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let coupon = app.coupon(&[("id", "TENOFF"), ("percent_off", "10")]).await;
    let r = app.post("/promotion_codes", &[("coupon", &coupon), ("code", "SUMMER")]).await;
    let id = created_id(&r);
    let p = &r.body;
    common_shape(p, "promotion_code", "promo_", now);
    assert_eq!(p["code"], "SUMMER");
    assert_eq!(p["active"], true);
    assert_eq!(p["customer"], Value::Null);
    assert_eq!(p["expires_at"], Value::Null);
    assert_eq!(p["max_redemptions"], Value::Null);
    assert_eq!(p["times_redeemed"], 0);
    assert_eq!(p["restrictions"]["first_time_transaction"], false);
    assert_eq!(p["restrictions"]["minimum_amount"], Value::Null);
    assert_eq!(p["restrictions"]["minimum_amount_currency"], Value::Null);
    assert_eq!(p["coupon"]["object"], "coupon");
    assert_eq!(p["coupon"]["id"], "TENOFF");
    assert_eq!(p["coupon"]["percent_off"], json!(10.0));
    assert_eq!(p["coupon"], app.get("/coupons/TENOFF").await.body, "the embedded coupon is the coupon");
    assert_eq!(app.get(&format!("/promotion_codes/{id}")).await.body, *p);
    let listed = app.get("/promotion_codes").await.body;
    assert_eq!(listed["data"][0], *p, "lists embed the coupon too");

    // A generated code: 8 upper-case letters and digits.
    let r = app.post("/promotion_codes", &[("coupon", &coupon)]).await;
    let code = r.ok()["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8, "{code}");
    assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{code}");

    // The newer API's way to name the coupon.
    let r = app
        .post(
            "/promotion_codes",
            &[("promotion[type]", "coupon"), ("promotion[coupon]", &coupon), ("code", "NEWAPI")],
        )
        .await;
    assert_eq!(r.ok()["coupon"]["id"], "TENOFF");
}

#[tokio::test]
async fn promotion_code_snapshot() {
    let app = TestApp::spawn().await;
    // Everything is created at one fixed time on the server's clock.
    const T: i64 = 1_700_000_000;
    app.clock.set(T);
    let product = app.product("Snap").await;
    app.coupon(&[
        ("id", "SNAP25"),
        ("percent_off", "25"),
        ("duration", "repeating"),
        ("duration_in_months", "2"),
        ("applies_to[products][0]", &product),
    ])
    .await;
    let expires = (T + 3600).to_string();
    let r = app
        .post(
            "/promotion_codes",
            &[
                ("coupon", "SNAP25"),
                ("code", "Snap-Shot_1"),
                ("max_redemptions", "3"),
                ("expires_at", &expires),
                ("restrictions[first_time_transaction]", "true"),
                ("restrictions[minimum_amount]", "2000"),
                ("restrictions[minimum_amount_currency]", "usd"),
                ("metadata[campaign]", "snap"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mut v = r.body;
    shaped(&mut v, "/id", "promo_", "[promo_id]");
    known(&mut v, "/coupon/applies_to/products/0", product, "[prod_id]");
    insta::assert_json_snapshot!("promotion_code", v);
}

#[tokio::test]
async fn promotion_codes_are_unique_among_active_codes_case_insensitively() {
    let app = TestApp::spawn().await;
    let coupon = app.coupon(&[("percent_off", "10")]).await;
    let first = created_id(&app.post("/promotion_codes", &[("coupon", &coupon), ("code", "SUMMER")]).await);

    let r = app.post("/promotion_codes", &[("coupon", &coupon), ("code", "summer")]).await;
    let e = r.invalid("code");
    assert_eq!(e["code"], "resource_already_exists");
    let r = app.post("/promotion_codes", &[("coupon", &coupon), ("code", "SuMmEr")]).await;
    r.invalid("code");
    assert_eq!(app.count("/promotion_codes").await, 1);

    let r = app.post(&format!("/promotion_codes/{first}"), &[("active", "false")]).await;
    assert_eq!(r.ok()["active"], false);
    let second = created_id(&app.post("/promotion_codes", &[("coupon", &coupon), ("code", "summer")]).await);
    // An inactive code with the same spelling may exist as well.
    let third = created_id(
        &app.post("/promotion_codes", &[("coupon", &coupon), ("code", "Summer"), ("active", "false")]).await,
    );

    // Reactivating the first one would make two active `summer`s.
    let r = app.post(&format!("/promotion_codes/{first}"), &[("active", "true")]).await;
    assert_eq!(r.invalid("code")["code"], "resource_already_exists");
    assert_eq!(app.get(&format!("/promotion_codes/{first}")).await.body["active"], false);

    // The `code` filter is case-insensitive.
    assert_eq!(
        app.list_ids("/promotion_codes?code=sUmMeR").await,
        [third.clone(), second.clone(), first.clone()]
    );
    assert_eq!(app.list_ids("/promotion_codes?code=SUMMER&active=true").await, [second.as_str()]);
    assert_eq!(app.list_ids("/promotion_codes?active=false").await, [third.clone(), first.clone()]);
    assert!(app.list_ids("/promotion_codes?code=WINTER").await.is_empty());

    // Once the active one is deactivated, the first can come back.
    app.post(&format!("/promotion_codes/{second}"), &[("active", "false")]).await.ok();
    let r = app.post(&format!("/promotion_codes/{first}"), &[("active", "true")]).await;
    assert_eq!(r.ok()["active"], true);
}

#[tokio::test]
async fn promotion_code_rules() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let redeem_by = (now + 1000).to_string();
    let coupon = app
        .coupon(&[("id", "C10"), ("percent_off", "10"), ("redeem_by", &redeem_by), ("max_redemptions", "5")])
        .await;
    let past = (now - 1).to_string();
    let after_coupon = (now + 1001).to_string();
    let c = coupon.as_str();
    let cases: Vec<Case<'_>> = vec![
        (vec![("code", "NOCOUPON")], "coupon", "parameter_missing"),
        (vec![("coupon", "nope")], "coupon", "resource_missing"),
        (vec![("coupon", c), ("promotion[coupon]", c)], "promotion", "parameters_exclusive"),
        (vec![("promotion[type]", "coupon")], "promotion[coupon]", "parameter_missing"),
        (vec![("promotion[type]", "gift"), ("promotion[coupon]", c)], "promotion[type]", "parameter_invalid"),
        (vec![("coupon", c), ("code", "no spaces")], "code", "parameter_invalid"),
        (vec![("coupon", c), ("code", "")], "code", "parameter_invalid"),
        (vec![("coupon", c), ("code", "emoji🎉")], "code", "parameter_invalid"),
        (vec![("coupon", c), ("customer", "cus_nope")], "customer", "resource_missing"),
        (vec![("coupon", c), ("expires_at", &past)], "expires_at", "parameter_invalid"),
        (vec![("coupon", c), ("expires_at", &after_coupon)], "expires_at", "parameter_invalid"),
        (vec![("coupon", c), ("max_redemptions", "0")], "max_redemptions", "parameter_invalid"),
        (vec![("coupon", c), ("max_redemptions", "6")], "max_redemptions", "parameter_invalid"),
        (
            vec![("coupon", c), ("restrictions[minimum_amount]", "1000")],
            "restrictions[minimum_amount_currency]",
            "parameter_missing",
        ),
        (
            vec![("coupon", c), ("restrictions[minimum_amount_currency]", "usd")],
            "restrictions[minimum_amount_currency]",
            "parameter_invalid",
        ),
        (
            vec![
                ("coupon", c),
                ("restrictions[minimum_amount]", "0"),
                ("restrictions[minimum_amount_currency]", "usd"),
            ],
            "restrictions[minimum_amount]",
            "parameter_invalid",
        ),
        (
            vec![
                ("coupon", c),
                ("restrictions[minimum_amount]", "100"),
                ("restrictions[minimum_amount_currency]", "zzz"),
            ],
            "restrictions[minimum_amount_currency]",
            "parameter_invalid",
        ),
        (
            vec![("coupon", c), ("restrictions[first_time_transaction]", "sometimes")],
            "restrictions[first_time_transaction]",
            "parameter_invalid",
        ),
        (
            vec![("coupon", c), ("restrictions[currency_options]", "x")],
            "restrictions[currency_options]",
            "parameter_unknown",
        ),
    ];
    for (form, param, code) in &cases {
        let r = app.post("/promotion_codes", form).await;
        assert_eq!(r.invalid(param)["code"], *code, "{form:?}: {}", r.text);
    }
    assert_eq!(app.count("/promotion_codes").await, 0);

    let customer =
        app.post("/customers", &[("email", "vip@shop.test")]).await.body["id"].as_str().unwrap().to_owned();
    let expires = (now + 1000).to_string();
    let r = app
        .post(
            "/promotion_codes",
            &[
                ("coupon", c),
                ("code", "VIP-ONLY_1"),
                ("customer", &customer),
                ("expires_at", &expires),
                ("max_redemptions", "5"),
                ("restrictions[first_time_transaction]", "true"),
                ("restrictions[minimum_amount]", "1000"),
                ("restrictions[minimum_amount_currency]", "USD"),
            ],
        )
        .await;
    let p = r.ok();
    assert_eq!(p["code"], "VIP-ONLY_1");
    assert_eq!(p["customer"], customer.as_str());
    assert_eq!(p["expires_at"], now + 1000);
    assert_eq!(p["max_redemptions"], 5);
    assert_eq!(p["restrictions"]["first_time_transaction"], true);
    assert_eq!(p["restrictions"]["minimum_amount"], 1000);
    assert_eq!(p["restrictions"]["minimum_amount_currency"], "usd");

    // expand[]=customer on a promotion code.
    let id = p["id"].as_str().unwrap().to_owned();
    let r = app.get(&format!("/promotion_codes/{id}?expand[]=customer")).await;
    assert_eq!(r.ok()["customer"]["object"], "customer");
    assert_eq!(r.body["customer"]["email"], "vip@shop.test");
    let r = app.get(&format!("/promotion_codes/{id}?expand[]=nope")).await;
    r.invalid("expand");
}

#[tokio::test]
async fn promotion_code_updates_and_filters() {
    let app = TestApp::spawn().await;
    let c1 = app.coupon(&[("percent_off", "10")]).await;
    let c2 = app.coupon(&[("amount_off", "300"), ("currency", "usd")]).await;
    let a = created_id(&app.post("/promotion_codes", &[("coupon", &c1), ("code", "AAA")]).await);
    let b = created_id(&app.post("/promotion_codes", &[("coupon", &c2), ("code", "BBB")]).await);
    let cc = created_id(
        &app.post("/promotion_codes", &[("coupon", &c2), ("code", "CCC"), ("active", "false")]).await,
    );

    assert_eq!(app.list_ids(&format!("/promotion_codes?coupon={c2}")).await, [cc.clone(), b.clone()]);
    assert_eq!(app.list_ids(&format!("/promotion_codes?coupon={c1}")).await, [a.as_str()]);
    assert_eq!(app.list_ids(&format!("/promotion_codes?coupon={c2}&active=true")).await, [b.as_str()]);
    assert_eq!(app.list_ids("/promotion_codes?code=bbb").await, [b.as_str()]);

    let path = format!("/promotion_codes/{a}");
    let r = app.post(&path, &[("metadata[k]", "v"), ("active", "false")]).await;
    assert_eq!(r.ok()["metadata"], json!({"k": "v"}));
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["coupon"]["id"], c1.as_str(), "updates embed the coupon too");
    let r = app.post(&path, &[("metadata[k]", "")]).await;
    assert_eq!(r.ok()["metadata"], json!({}));
    for frozen in ["code", "coupon", "max_redemptions", "expires_at"] {
        let r = app.post(&path, &[(frozen, "x")]).await;
        assert_eq!(r.invalid(frozen)["code"], "parameter_unknown");
    }
    let r = app.post("/promotion_codes/promo_nope", &[("active", "false")]).await;
    r.error(404);

    // A code whose coupon is deleted still reads, and still names its coupon.
    let r = app.delete(&format!("/coupons/{c1}")).await;
    assert_eq!(r.status, 200);
    let r = app.get(&path).await;
    assert_eq!(r.ok()["coupon"]["id"], c1.as_str());
    assert_eq!(app.get("/promotion_codes").await.status, 200);
    let r = app.post("/promotion_codes", &[("coupon", &c1)]).await;
    assert_eq!(r.invalid("coupon")["code"], "resource_missing");
}

#[tokio::test]
async fn concurrent_creations_cannot_break_uniqueness() {
    let app = TestApp::spawn().await;
    let coupon = app.coupon(&[("percent_off", "10")]).await;
    for round in 0..10 {
        let code = format!("RACE{round}");
        let lower = code.to_lowercase();
        let upper_form = [("coupon", coupon.as_str()), ("code", code.as_str())];
        let lower_form = [("coupon", coupon.as_str()), ("code", lower.as_str())];
        let (a, b) = tokio::join!(
            app.post("/promotion_codes", &upper_form),
            app.post("/promotion_codes", &lower_form)
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 400], "round {round}: {} / {}", a.text, b.text);
        let loser = if a.status == 400 { &a } else { &b };
        assert_eq!(loser.invalid("code")["code"], "resource_already_exists");
        assert_eq!(app.list_ids(&format!("/promotion_codes?code={code}&active=true")).await.len(), 1);

        let id = format!("RACE-{round}");
        let percent = [("id", id.as_str()), ("percent_off", "5")];
        let amount = [("id", id.as_str()), ("amount_off", "5"), ("currency", "usd")];
        let (a, b) = tokio::join!(app.post("/coupons", &percent), app.post("/coupons", &amount));
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 400], "round {round}: {} / {}", a.text, b.text);
        let loser = if a.status == 400 { &a } else { &b };
        assert_eq!(loser.invalid("id")["code"], "resource_already_exists");
    }
    assert_eq!(app.count("/promotion_codes").await, 10);
    assert_eq!(app.count("/coupons").await, 11);
}
