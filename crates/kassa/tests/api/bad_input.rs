//! Bad input of every kind gets a 4xx with Stripe's error body — never a 5xx, never axum's
//! plain-text rejection — and leaves nothing half-written.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};

const JSON: Option<&str> = Some("application/json");
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

/// A Stripe-shaped `invalid_request_error` with `status`; returns the error.
fn refused(r: &Resp, status: u16) -> &Value {
    let e = r.error(status);
    assert_eq!(e["type"], "invalid_request_error", "{}", r.text);
    assert!(r.header("content-type").unwrap().starts_with("application/json"), "{:?}", r.headers);
    e
}

#[tokio::test]
async fn malformed_json_bodies() {
    let app = TestApp::spawn().await;
    let cases: [&[u8]; 9] = [
        br#"{"name":"#,
        br#"{"name": "x",}"#,
        br#"{name: "x"}"#,
        br#"{"name": "x"} trailing"#,
        b"\xef\xbb\xbf{\"name\": \"bom\"}",
        b"{\"name\": \"\xff\xfe\"}",
        br#"{"name": "\ud800"}"#,
        br#"{"name": "x", "unit_amount": 1e400}"#,
        b"nul\x00l",
    ];
    for body in cases {
        let r = app.post_raw("/products", JSON, body.to_vec()).await;
        let e = refused(&r, 400);
        assert_eq!(e["param"], Value::Null, "{}", r.text);
        assert!(e["message"].as_str().unwrap().starts_with("Invalid JSON"), "{}", r.text);
    }
    for body in ["[{\"name\": \"x\"}]", "\"name\"", "null", "42", "true", "[]"] {
        let r = app.post_raw("/products", JSON, body).await;
        let e = refused(&r, 400);
        assert_eq!(e["message"], "The request body must be a JSON object.", "{body}");
    }
    assert_eq!(app.count("/products").await, 0);
    // A charset parameter and upper-case media types are fine.
    let r = app.post_raw("/products", Some("Application/JSON; charset=utf-8"), r#"{"name": "ok"}"#).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn bad_form_encodings() {
    let app = TestApp::spawn().await;
    let cases: Vec<(&[u8], Option<&str>)> = vec![
        (b"name=%FF", Some("name")),
        (b"name=%C3%28", Some("name")),
        (b"name=caf\xe9", Some("name")),
        (b"name=\xff\xfe\xfd", Some("name")),
        (b"%FF=x", None),
        (b"name=%ZZ", Some("name")),
        (b"name=50%", Some("name")),
        (b"name=%4", Some("name")),
        (b"na%G0me=x", None),
    ];
    for (body, param) in cases {
        let r = app.post_raw("/products", FORM, body.to_vec()).await;
        let e = refused(&r, 400);
        assert_eq!(e["param"].as_str(), param, "{:?}: {}", String::from_utf8_lossy(body), r.text);
    }
    let shapes: [&[u8]; 6] = [b"=x", b"[a]=1", b"a[b=1", b"name=x&name[y]=z", b"name[y]=z&name=x", b"a][=1"];
    for body in shapes {
        let r = app.post_raw("/products", FORM, body.to_vec()).await;
        refused(&r, 400);
    }
    assert_eq!(app.count("/products").await, 0);
    // Percent-encoded UTF-8 and `+` for spaces decode.
    let r = app.post_raw("/products", FORM, "name=Caf%C3%A9+cr%C3%A8me+50%25").await;
    assert_eq!(r.ok()["name"], "Café crème 50%");
}

#[tokio::test]
async fn bad_query_strings_are_400() {
    let app = TestApp::spawn().await;
    for q in ["limit=%FF", "limit=%ZZ", "a[b=1", "created[gt]=1&created=2"] {
        let r = app.get(&format!("/products?{q}")).await;
        refused(&r, 400);
    }
}

#[tokio::test]
async fn unsupported_media_types_are_415() {
    let app = TestApp::spawn().await;
    for ct in [
        "text/plain",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/octet-stream",
        "text/html; charset=utf-8",
    ] {
        let r = app.post_raw("/products", Some(ct), "name=x").await;
        let e = refused(&r, 415);
        assert_eq!(e["code"], "unsupported_content_type", "{}", r.text);
        let shown = ct.split(';').next().unwrap();
        assert!(e["message"].as_str().unwrap().contains(shown), "{}", r.text);
    }
    let multipart = "--xyz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--xyz--\r\n";
    let r = app.post_raw("/products", Some("multipart/form-data; boundary=xyz"), multipart).await;
    refused(&r, 415);
    assert_eq!(app.count("/products").await, 0);
    // Without any content type a body is read as Stripe's form encoding (what curl -d sends).
    let r = app.post_raw("/products", None, "name=Untyped").await;
    assert_eq!(r.ok()["name"], "Untyped");
}

/// A path, a form, the `param` it must be refused on, and the error `code`.
type FormCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);

#[tokio::test]
async fn wrong_types_name_their_parameter() {
    let app = TestApp::spawn().await;
    let product = app.product("P").await;
    let p = product.as_str();
    let form_cases: Vec<FormCase<'_>> = vec![
        (
            "/prices",
            vec![("product", p), ("currency", "usd"), ("unit_amount", "abc")],
            "unit_amount",
            "parameter_invalid_integer",
        ),
        (
            "/prices",
            vec![("product", p), ("currency", "usd"), ("unit_amount", "")],
            "unit_amount",
            // What an SDK sends for `null`: Stripe's "cannot be unset".
            "parameter_invalid_empty",
        ),
        (
            "/prices",
            vec![("product", p), ("currency", "usd"), ("unit_amount", "1 000")],
            "unit_amount",
            "parameter_invalid_integer",
        ),
        (
            "/prices",
            vec![("product", p), ("currency", "usd"), ("unit_amount", "0x10")],
            "unit_amount",
            "parameter_invalid_integer",
        ),
        (
            "/prices",
            vec![("product", p), ("currency", "usd"), ("unit_amount", "99999999999999999999")],
            "unit_amount",
            "parameter_invalid_integer",
        ),
        (
            "/prices",
            vec![("product", p), ("currency", "usd"), ("unit_amount", "-9223372036854775809")],
            "unit_amount",
            "parameter_invalid_integer",
        ),
        ("/products", vec![("name", "x"), ("active", "maybe")], "active", "parameter_invalid"),
        ("/products", vec![("name", "x"), ("active", "1")], "active", "parameter_invalid"),
        ("/products", vec![("name", "x"), ("active", "TRUE")], "active", "parameter_invalid"),
        ("/products", vec![("name[first]", "x")], "name", "parameter_invalid"),
        ("/products", vec![("name", "x"), ("expand", "product")], "expand", "parameter_invalid"),
        ("/products", vec![("name", "x"), ("colour", "red")], "colour", "parameter_unknown"),
        ("/checkout/session", vec![("line_items", "str")], "line_items", "parameter_invalid"),
        ("/checkout/session", vec![("line_items[0]", "str")], "line_items[0]", "parameter_invalid"),
        (
            "/checkout/session",
            vec![("line_items[0][price]", "p"), ("line_items[0][quantity]", "two")],
            "line_items[0][quantity]",
            "parameter_invalid_integer",
        ),
        (
            "/checkout/session",
            vec![("line_items[0][pricee]", "p")],
            "line_items[0][pricee]",
            "parameter_unknown",
        ),
    ];
    for (path, form, param, code) in &form_cases {
        let r = app.post(path, form).await;
        assert_eq!(r.invalid(param)["code"], *code, "{path} {form:?}: {}", r.text);
    }
    let json_cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "/prices",
            json!({"product": p, "currency": "usd", "unit_amount": "abc"}),
            "unit_amount",
            "parameter_invalid_integer",
        ),
        (
            "/prices",
            json!({"product": p, "currency": "usd", "unit_amount": 12.5}),
            "unit_amount",
            "parameter_invalid_integer",
        ),
        (
            "/prices",
            json!({"product": p, "currency": "usd", "unit_amount": true}),
            "unit_amount",
            "parameter_invalid_integer",
        ),
        (
            "/prices",
            json!({"product": p, "currency": "usd", "unit_amount": {"v": 1}}),
            "unit_amount",
            "parameter_invalid",
        ),
        (
            "/prices",
            json!({"product": p, "currency": "usd", "unit_amount": [1]}),
            "unit_amount",
            "parameter_invalid",
        ),
        (
            "/prices",
            json!({"product": p, "currency": 840, "unit_amount": 1}),
            "currency",
            "parameter_invalid",
        ),
        (
            "/prices",
            json!({"product": p, "currency": "usd", "unit_amount": 1, "recurring": "month"}),
            "recurring",
            "parameter_invalid",
        ),
        ("/products", json!({"name": "x", "active": "maybe"}), "active", "parameter_invalid"),
        ("/products", json!({"name": "x", "active": 1}), "active", "parameter_invalid"),
        ("/products", json!({"name": 5}), "name", "parameter_invalid"),
        ("/products", json!({"name": null, "description": "d"}), "name", "parameter_missing"),
        ("/products", json!({"name": "x", "expand": "nope"}), "expand", "parameter_invalid"),
        ("/checkout/session", json!({"line_items": "str"}), "line_items", "parameter_invalid"),
        (
            "/checkout/session",
            json!({"line_items": {"0": {"price": "p"}}}),
            "line_items",
            "parameter_invalid",
        ),
        (
            "/checkout/session",
            json!({"line_items": [{"price": "p", "quantity": "two"}]}),
            "line_items[0][quantity]",
            "parameter_invalid_integer",
        ),
        (
            "/checkout/session",
            json!({"line_items": [{"price": "p", "quantity": 1}], "payment_method_types": "card"}),
            "payment_method_types",
            "parameter_invalid",
        ),
    ];
    for (path, body, param, code) in &json_cases {
        let r = app.post_json(path, body).await;
        assert_eq!(r.invalid(param)["code"], *code, "{path} {body}: {}", r.text);
    }
    assert_eq!(app.count("/products").await, 1);
    assert_eq!(app.count("/prices").await, 0);
    assert_eq!(app.count("/checkout/session").await, 0);
}

#[tokio::test]
async fn integers_beyond_i64_in_json() {
    let app = TestApp::spawn().await;
    let product = app.product("P").await;
    for n in ["99999999999999999999", "9223372036854775808", "18446744073709551616", "-9223372036854775809"] {
        let body = format!(r#"{{"product": "{product}", "currency": "usd", "unit_amount": {n}}}"#);
        let r = app.post_raw("/prices", JSON, body).await;
        assert_eq!(r.invalid("unit_amount")["code"], "parameter_invalid_integer", "{n}: {}", r.text);
    }
    // i64::MAX itself is an integer, just too large an amount.
    let body =
        format!(r#"{{"product": "{product}", "currency": "usd", "unit_amount": 9223372036854775807}}"#);
    let r = app.post_raw("/prices", JSON, body).await;
    assert_eq!(r.invalid("unit_amount")["code"], "amount_too_large");
    // Huge limits, quantities and timestamps are refused, not wrapped.
    let r = app.get("/products?limit=18446744073709551617").await;
    r.invalid("limit");
    let r = app.post("/coupons", &[("percent_off", "5"), ("redeem_by", "99999999999999999999")]).await;
    assert_eq!(r.invalid("redeem_by")["code"], "parameter_invalid_integer");
    let r = app.post("/coupons", &[("percent_off", "5"), ("max_redemptions", "9223372036854775807")]).await;
    r.invalid("max_redemptions");
    assert_eq!(app.count("/prices").await, 0);
    assert_eq!(app.count("/coupons").await, 0);
}

#[tokio::test]
async fn a_body_over_one_megabyte_is_413() {
    let app = TestApp::spawn().await;
    let limit = 1024 * 1024;
    let body = format!("name={}", "a".repeat(limit));
    let r = app.post_raw("/products", FORM, body).await;
    let e = refused(&r, 413);
    assert_eq!(e["code"], "request_too_large");
    let json_body = format!(r#"{{"name": "{}"}}"#, "a".repeat(2 * limit));
    let r = app.post_raw("/products", JSON, json_body).await;
    refused(&r, 413);
    assert_eq!(app.count("/products").await, 0);
    // The server still serves.
    assert_eq!(app.send(app.client.get(app.url("/health"))).await.status, 200);
}

#[tokio::test]
async fn a_huge_string_value_is_400_on_its_parameter() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(900 * 1024);
    let r = app.post("/products", &[("name", &big)]).await;
    let e = r.invalid("name");
    assert!(e["message"].as_str().unwrap().contains("at most 5000"), "{}", r.text);
    assert!(r.text.len() < 2000, "the error does not echo the value back");
    let r = app.post_json("/products", &json!({"name": "ok", "description": big})).await;
    r.invalid("description");
    let r = app.post("/customers", &[("email", &format!("{big}@x.test"))]).await;
    r.invalid("email");
    let r = app.post("/products", &[("name", "ok"), ("metadata[k]", &big)]).await;
    r.invalid("metadata[k]");
    let r = app.post("/promotion_codes", &[("coupon", &big)]).await;
    r.error(400);
    let r = app
        .post("/checkout/session", &[("line_items[0][price]", &big), ("line_items[0][quantity]", "1")])
        .await;
    r.invalid("line_items[0][price]");
    assert!(r.text.len() < 2000);
    assert_eq!(app.count("/products").await, 0);
    assert_eq!(app.count("/customers").await, 0);
}

#[tokio::test]
async fn ten_thousand_line_items_are_400() {
    let app = TestApp::spawn().await;
    let price = app.price(100, "usd").await;
    let items: Vec<Value> = (0..10_000).map(|_| json!({"price": price, "quantity": 1})).collect();
    let r = app.post_json("/checkout/session", &json!({"line_items": items})).await;
    let e = r.invalid("line_items");
    assert!(e["message"].as_str().unwrap().contains("100"), "{}", r.text);

    let mut form = String::new();
    for i in 0..10_000 {
        form.push_str(&format!("line_items[{i}][price]={price}&line_items[{i}][quantity]=1&"));
    }
    form.push_str("mode=payment");
    assert!(form.len() < 1024 * 1024, "the body stays under the size limit");
    let r = app.post_raw("/checkout/session", FORM, form).await;
    r.invalid("line_items");

    let appended: String = (0..10_000).map(|_| format!("line_items[][price]={price}&")).collect();
    let r = app.post_raw("/checkout/session", FORM, appended).await;
    r.invalid("line_items");

    // Indices far beyond any limit are refused by the decoder.
    let r = app.post_raw("/checkout/session", FORM, format!("line_items[1000000][price]={price}")).await;
    refused(&r, 400);
    assert_eq!(app.count("/checkout/session").await, 0);
}

#[tokio::test]
async fn deep_nesting_is_400() {
    let app = TestApp::spawn().await;
    // 50 levels of JSON objects under metadata, and of arrays under name.
    let mut deep = json!("leaf");
    for _ in 0..50 {
        deep = json!({ "a": deep });
    }
    let r = app.post_json("/products", &json!({"name": "x", "metadata": deep})).await;
    r.invalid("metadata[a]");
    let mut arrays = json!("leaf");
    for _ in 0..50 {
        arrays = json!([arrays]);
    }
    let r = app.post_json("/products", &json!({"name": arrays})).await;
    r.invalid("name");
    let mut objects = json!(1);
    for _ in 0..50 {
        objects = json!({ "price": objects });
    }
    let r = app.post_json("/checkout/session", &json!({"line_items": [objects]})).await;
    r.invalid("line_items[0][price]");

    // Deeper than the JSON parser goes: refused as invalid JSON, not a crash.
    for depth in [200, 100_000] {
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let r = app.post_raw("/products", JSON, format!(r#"{{"name": {body}}}"#)).await;
        refused(&r, 400);
        let body = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        let r = app.post_raw("/products", JSON, body).await;
        refused(&r, 400);
    }

    // 50 levels of form brackets.
    let key = format!("metadata{}", "[a]".repeat(50));
    let r = app.post("/products", &[("name", "x"), (&key, "v")]).await;
    let e = refused(&r, 400);
    assert!(e["message"].as_str().unwrap().contains("nested"), "{}", r.text);
    let key = format!("line_items[0]{}", "[price]".repeat(49));
    let r = app.post("/checkout/session", &[(&key, "v")]).await;
    refused(&r, 400);
    let key = format!("name{}", "[]".repeat(50));
    let r = app.post("/products", &[(&key, "v")]).await;
    refused(&r, 400);
    // Eight levels is the deepest the decoder takes; the typed request still refuses the shape.
    let key = format!("metadata{}", "[a]".repeat(8));
    let r = app.post("/products", &[("name", "x"), (&key, "v")]).await;
    r.invalid("metadata[a]");
    assert_eq!(app.count("/products").await, 0);
    assert_eq!(app.count("/checkout/session").await, 0);
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        ("GET", "/nope"),
        ("POST", "/v1/charges"),
        ("GET", "/products/prod_x/prices"),
        ("GET", "/v2/products"),
        ("GET", "/"),
        ("POST", "/checkout/sessions"),
        ("GET", "/v1/checkout/session"),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        for with_key in [true, false] {
            let mut req = app.client.request(m.clone(), app.url(path));
            if with_key {
                req = req.bearer_auth(&app.key);
            }
            let r = app.send(req).await;
            let e = refused(&r, 404);
            assert_eq!(e["code"], "resource_missing", "{}", r.text);
            assert_eq!(e["message"], format!("Unrecognized request URL ({method}: {path})."));
        }
    }
    // A very long unknown path is not echoed in full.
    let long = format!("/{}", "z".repeat(10_000));
    let r = app.send(app.client.get(app.url(&long))).await;
    refused(&r, 404);
    assert!(r.text.len() < 1000);
}

#[tokio::test]
async fn ids_in_the_path_that_are_not_utf8_get_a_json_error() {
    let app = TestApp::spawn().await;
    for path in [
        "/products/%FF",
        "/prices/%C3%28",
        "/customers/%FF",
        "/coupons/%FF",
        "/promotion_codes/%FF",
        "/checkout/session/%FF",
        "/checkout/session/%FF/line_items",
        "/v1/checkout/sessions/%FF",
    ] {
        let r = app.get(path).await;
        assert_eq!(refused(&r, 400)["param"], "id", "{path}: {}", r.text);
    }
    let r = app.post("/products/%FF", &[("name", "x")]).await;
    refused(&r, 400);
    let r = app.delete("/coupons/%FF").await;
    refused(&r, 400);
    let r = app.post("/checkout/session/%FF/expire", &[]).await;
    refused(&r, 400);
    // The hosted page answers its own not-found page.
    let r = app.send(app.client.get(app.url("/pay/%FF"))).await;
    assert_eq!(r.status, 404);
    assert!(r.header("content-type").unwrap().starts_with("text/html"), "{:?}", r.headers);
    // Percent-encoded but valid ids are simply unknown.
    let r = app.get("/products/prod%20x").await;
    assert_eq!(r.error(404)["message"], "No such product: 'prod x'");
}

#[tokio::test]
async fn wrong_methods_are_405_json_and_404_under_v1() {
    let app = TestApp::spawn().await;
    let product = app.product("Keep").await;
    let cases = [
        ("DELETE", "/products".to_owned()),
        ("DELETE", format!("/products/{product}")),
        ("PUT", format!("/products/{product}")),
        ("PATCH", "/prices".to_owned()),
        ("DELETE", "/customers".to_owned()),
        ("GET", "/checkout/session/cs_test_x/expire".to_owned()),
        ("POST", "/checkout/session/cs_test_x/line_items".to_owned()),
        ("POST", "/health".to_owned()),
    ];
    for (method, path) in &cases {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = app.send(app.client.request(m, app.url(path)).bearer_auth(&app.key)).await;
        let e = refused(&r, 405);
        assert!(e["message"].as_str().unwrap().contains(method), "{}", r.text);
    }
    // Under /v1, Stripe's answer: an unrecognized URL is a 404, which the SDKs raise as their
    // invalid-request error (stripe-python raises a bare APIError for a 405).
    for (method, path) in
        [("DELETE", "/v1/products".to_owned()), ("DELETE", format!("/v1/products/{product}"))]
    {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = app.send(app.client.request(m, app.url(&path)).bearer_auth(&app.key)).await;
        let e = refused(&r, 404);
        assert_eq!(e["code"], "resource_missing", "{}", r.text);
        assert_eq!(e["message"], format!("Unrecognized request URL ({method}: {path})."));
    }
    assert_eq!(app.list_ids("/products").await, [product]);
}

#[tokio::test]
async fn refused_requests_never_leave_partial_state() {
    let app = TestApp::spawn().await;
    let product = app.product("P").await;
    let price = app.price_for(&product, 1000, "usd", None).await;
    let coupon = app.coupon(&[("id", "KEEP"), ("percent_off", "10")]).await;
    let snapshot = || async {
        (
            app.get("/products?limit=100").await.body,
            app.get("/prices?limit=100").await.body,
            app.get("/coupons?limit=100").await.body,
            app.get("/promotion_codes?limit=100").await.body,
            app.get("/checkout/session?limit=100").await.body,
        )
    };
    let before = snapshot().await;
    // A mix of refusals, each failing late (after other parameters were accepted).
    app.post("/products", &[("name", "x"), ("metadata[k]", &"v".repeat(501))]).await.error(400);
    app.post(&format!("/products/{product}"), &[("name", "Changed"), ("active", "maybe")]).await.error(400);
    app.post(&format!("/products/{product}"), &[("name", "Changed"), ("description", &"d".repeat(40_001))])
        .await
        .error(400);
    app.post(&format!("/prices/{price}"), &[("nickname", "n"), ("metadata", "x")]).await.error(400);
    app.post("/promotion_codes", &[("coupon", &coupon), ("code", "GOOD"), ("max_redemptions", "0")])
        .await
        .error(400);
    app.post(
        "/checkout/session",
        &[("line_items[0][price]", &price), ("line_items[0][quantity]", "1"), ("expand[]", "bogus")],
    )
    .await
    .error(400);
    app.post(
        "/checkout/session",
        &[
            ("line_items[0][price]", &price),
            ("line_items[0][quantity]", "1"),
            ("line_items[1][price]", "price_nope"),
            ("line_items[1][quantity]", "1"),
        ],
    )
    .await
    .error(400);
    app.post_raw("/products", JSON, r#"{"name": "x", "metadata": {"k": "#).await.error(400);
    assert_eq!(snapshot().await, before);
}

#[tokio::test]
async fn an_error_body_snapshot() {
    let app = TestApp::spawn().await;
    let r = app
        .post("/prices", &[("product", "prod_missing"), ("unit_amount", "100"), ("currency", "usd")])
        .await;
    assert_eq!(r.status, 400);
    insta::assert_json_snapshot!("error_resource_missing", r.body);
    let r = app.post("/products", &[("name", "x"), ("colour", "red")]).await;
    insta::assert_json_snapshot!("error_parameter_unknown", r.body);
    let r = app.get_as("sk_test_0000000000000000000000000000abcd", "/products").await;
    insta::assert_json_snapshot!("error_unauthorized", r.body);
}

/// A small deterministic generator (xorshift64*), so that a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

#[tokio::test]
async fn random_parameters_never_cause_a_5xx() {
    use kassa_core::time::Clock;
    let app = TestApp::spawn().await;
    let product = app.product("Fuzz").await;
    let price = app.price_for(&product, 1000, "usd", None).await;
    let monthly = app.price_for(&product, 500, "usd", Some("month")).await;
    let euro = app.price_for(&product, 700, "eur", None).await;
    app.coupon(&[("id", "FUZZ"), ("percent_off", "10")]).await;
    app.coupon(&[("id", "FIVE"), ("amount_off", "500"), ("currency", "usd")]).await;
    let customer =
        app.post("/customers", &[("email", "f@z.test")]).await.body["id"].as_str().unwrap().to_owned();
    let promo = app.post("/promotion_codes", &[("coupon", "FUZZ"), ("code", "FUZZY")]).await;
    let promo = promo.body["id"].as_str().unwrap().to_owned();
    let session = app.simple_session(&price, 1).await["id"].as_str().unwrap().to_owned();
    let now = app.clock.now();
    let soon = (now + 7200).to_string();
    let past = (now - 10).to_string();

    let meta = ["metadata[k]", "metadata", "expand[]"];
    let product_keys = ["name", "id", "active", "description"];
    let price_keys = [
        "product",
        "currency",
        "unit_amount",
        "recurring[interval]",
        "recurring[interval_count]",
        "active",
        "nickname",
        "lookup_key",
    ];
    let customer_keys = ["email", "name", "description"];
    let coupon_keys = [
        "id",
        "name",
        "percent_off",
        "amount_off",
        "currency",
        "duration",
        "duration_in_months",
        "max_redemptions",
        "redeem_by",
        "applies_to[products][0]",
    ];
    let promo_keys = [
        "code",
        "coupon",
        "promotion[coupon]",
        "promotion[type]",
        "active",
        "customer",
        "expires_at",
        "max_redemptions",
        "restrictions[minimum_amount]",
        "restrictions[minimum_amount_currency]",
        "restrictions[first_time_transaction]",
    ];
    let session_keys = [
        "line_items[0][price]",
        "line_items[0][quantity]",
        "line_items[1][price]",
        "line_items[1][quantity]",
        "line_items[0][adjustable_quantity][enabled]",
        "line_items[0][adjustable_quantity][maximum]",
        "line_items[0][adjustable_quantity][minimum]",
        "mode",
        "currency",
        "success_url",
        "cancel_url",
        "customer",
        "customer_email",
        "allow_promotion_codes",
        "discounts[0][coupon]",
        "discounts[0][promotion_code]",
        "payment_method_types[]",
        "subscription_data[trial_period_days]",
        "client_reference_id",
        "expires_at",
        "expand[]",
    ];
    let list_keys = [
        "limit",
        "starting_after",
        "ending_before",
        "created[gte]",
        "created",
        "active",
        "product",
        "type",
        "currency",
        "email",
        "code",
        "coupon",
        "customer",
        "status",
        "expand[]",
    ];
    let stray = ["a[b][c][d]", "line_items", "line_items[]", "metadata[]", "expand", "bogus"];
    let values = [
        "",
        "0",
        "1",
        "-1",
        "2",
        "99",
        "100",
        "1000",
        "999999",
        "1000000",
        "9223372036854775807",
        "99999999999999999999",
        "1.5",
        "12.345",
        "true",
        "false",
        "maybe",
        "usd",
        "USD",
        "jpy",
        "eur",
        "zzz",
        "month",
        "year",
        "day",
        "repeating",
        "once",
        "forever",
        "payment",
        "subscription",
        "card",
        "paypal",
        "customer_balance",
        "https://shop.test/ok?id={CHECKOUT_SESSION_ID}",
        "ftp://x",
        "a@b.co",
        "not-an-email",
        "line_items",
        "customer",
        "data.product",
        "product",
        "discounts.coupon",
        "line_items.data.price.product",
        "FUZZ",
        "FIVE",
        "FUZZY",
        "open",
        "expired",
        "complete",
        "one_time",
        "recurring",
        "🎉",
        "%",
        "[]",
        "\u{0}",
        soon.as_str(),
        past.as_str(),
    ];
    let ids = [
        product.as_str(),
        price.as_str(),
        monthly.as_str(),
        euro.as_str(),
        customer.as_str(),
        promo.as_str(),
        session.as_str(),
        "FUZZ",
    ];
    let product_path = format!("/products/{product}");
    let price_path = format!("/prices/{price}");
    let customer_path = format!("/customers/{customer}");
    let promo_path = format!("/promotion_codes/{promo}");
    let expire_path = format!("/checkout/session/{session}/expire");
    let routes: Vec<(&str, &str, Vec<&str>)> = vec![
        ("POST", "/products", [&product_keys[..], &meta].concat()),
        ("POST", &product_path, [&product_keys[1..], &meta].concat()),
        ("POST", "/prices", [&price_keys[..], &meta].concat()),
        ("POST", &price_path, [&price_keys[5..], &meta].concat()),
        ("POST", "/customers", [&customer_keys[..], &meta].concat()),
        ("POST", &customer_path, [&customer_keys[..], &meta].concat()),
        ("POST", "/coupons", [&coupon_keys[..], &meta].concat()),
        ("POST", "/coupons/FUZZ", vec!["name", "metadata[k]", "metadata"]),
        ("POST", "/promotion_codes", [&promo_keys[..], &meta].concat()),
        ("POST", &promo_path, vec!["active", "metadata[k]", "metadata", "expand[]"]),
        ("POST", "/checkout/session", session_keys.to_vec()),
        ("POST", "/v1/checkout/sessions", session_keys.to_vec()),
        ("POST", &expire_path, vec!["expand[]"]),
        ("GET", "/products", list_keys.to_vec()),
        ("GET", "/prices", list_keys.to_vec()),
        ("GET", "/customers", list_keys.to_vec()),
        ("GET", "/coupons", list_keys.to_vec()),
        ("GET", "/promotion_codes", list_keys.to_vec()),
        ("GET", "/checkout/session", list_keys.to_vec()),
    ];

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tally = std::collections::BTreeMap::new();
    for round in 0..3000 {
        let (method, path, vocabulary) = &routes[rng.below(routes.len())];
        let mut pairs: Vec<(String, String)> = Vec::new();
        if path.contains("checkout/session")
            && *method == "POST"
            && !path.ends_with("expire")
            && rng.below(4) != 0
        {
            pairs.push(("line_items[0][price]".into(), rng.pick(&[&price, &monthly, &euro]).to_owned()));
            pairs.push(("line_items[0][quantity]".into(), rng.pick(&["1", "2", "100"]).to_owned()));
        }
        for _ in 0..rng.below(5) {
            let k = if rng.below(12) == 0 { rng.pick(&stray) } else { rng.pick(vocabulary) };
            let v = if rng.below(3) == 0 { rng.pick(&ids) } else { rng.pick(&values) };
            pairs.push((k.to_owned(), v.to_owned()));
        }
        let form: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = if *method == "GET" {
            app.get(&format!("{path}?{}", crate::helpers::encode(&form))).await
        } else {
            app.post(path, &form).await
        };
        assert!(
            r.status.as_u16() < 500,
            "round {round}: {method} {path} {form:?} → {}: {}",
            r.status,
            r.text
        );
        if r.status.as_u16() >= 400 {
            r.error(r.status.as_u16());
        }
        *tally.entry(r.status.as_u16()).or_insert(0u32) += 1;
    }
    // Both outcomes were exercised, not only refusals.
    assert!(tally.get(&400).copied().unwrap_or(0) > 300, "{tally:?}");
    assert!(tally.get(&200).copied().unwrap_or(0) + tally.get(&201).copied().unwrap_or(0) > 300, "{tally:?}");

    // And random JSON values under every key.
    let json_values = [
        json!(null),
        json!(true),
        json!(1),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!([]),
        json!({}),
        json!([1, "a"]),
        json!({"price": "p"}),
        json!([{"price": price, "quantity": 1}]),
        json!(1e300),
        json!({"k": "v"}),
        json!(["card"]),
        json!({"products": [product]}),
    ];
    for round in 0..1000 {
        let (method, path, vocabulary) = &routes[rng.below(routes.len())];
        if *method == "GET" {
            continue;
        }
        let mut body = serde_json::Map::new();
        for _ in 0..1 + rng.below(4) {
            let k = rng.pick(vocabulary).split('[').next().unwrap().to_owned();
            body.insert(k, json_values[rng.below(json_values.len())].clone());
        }
        let r = app.post_json(path, &Value::Object(body.clone())).await;
        assert!(r.status.as_u16() < 500, "json round {round}: {path} {body:?} → {}: {}", r.status, r.text);
    }
    assert_eq!(app.send(app.client.get(app.url("/health"))).await.status, 200);
}
