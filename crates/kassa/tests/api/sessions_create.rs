//! `POST /checkout/session`: every creation rule (each violation a 400 naming its parameter in
//! bracket form), and the object a successful creation answers with, in both encodings and under
//! `/v1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::sessions_support::{
    PATH, create, created, customer, customer_as, line, new_coupon, new_promo, now, rejects,
};

const OK_URL: &str = "https://shop.test/ok";

/// A body with one line of `price` × 1.
fn one(price: &str) -> Value {
    json!({"line_items": [line(price, 1)], "success_url": OK_URL})
}

/// `one(price)` with `extra` merged in at the top level.
fn with(price: &str, extra: Value) -> Value {
    let mut body = one(price);
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

// ---------------------------------------------------------------------------------------------
// line_items

#[tokio::test]
async fn line_items_are_required_and_non_empty() {
    let app = TestApp::spawn().await;
    rejects(&app, json!({"success_url": OK_URL}), "line_items", "parameter_missing").await;
    rejects(&app, json!({"line_items": []}), "line_items", "parameter_invalid").await;
    rejects(&app, json!({"line_items": "price_x"}), "line_items", "parameter_invalid").await;
}

#[tokio::test]
async fn each_line_needs_a_price_and_a_quantity() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let e = rejects(
        &app,
        json!({"line_items": [line(&price, 1), {"quantity": 1}]}),
        "line_items[1][price]",
        "parameter_missing",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("line_items[1][price]"));
    rejects(
        &app,
        json!({"line_items": [line(&price, 1), line(&price, 2), {"price": price}]}),
        "line_items[2][quantity]",
        "parameter_missing",
    )
    .await;
}

#[tokio::test]
async fn unknown_price_is_resource_missing() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let e = rejects(
        &app,
        json!({"line_items": [line(&price, 1), line("price_nope", 1)]}),
        "line_items[1][price]",
        "resource_missing",
    )
    .await;
    assert_eq!(e["message"], "No such price: 'price_nope'");
}

#[tokio::test]
async fn another_accounts_price_is_resource_missing() {
    let app = TestApp::spawn().await;
    let other = app.new_account("Other shop").await;
    let r = app.post_as(&other, "/products", &[("name", "Theirs")]).await;
    let product = r.ok()["id"].as_str().unwrap().to_owned();
    let r = app
        .post_as(&other, "/prices", &[("product", &product), ("unit_amount", "500"), ("currency", "usd")])
        .await;
    let theirs = r.ok()["id"].as_str().unwrap().to_owned();
    // The owner can use it …
    let r = app.send(app.client.post(app.url(PATH)).bearer_auth(&other).json(&one(&theirs))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // … the default account cannot even see it.
    let e = rejects(&app, one(&theirs), "line_items[0][price]", "resource_missing").await;
    assert_eq!(e["message"], format!("No such price: '{theirs}'"));
}

#[tokio::test]
async fn archived_price_is_refused_as_inactive() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let r = app.post(&format!("/prices/{price}"), &[("active", "false")]).await;
    assert_eq!(r.ok()["active"], false);
    let e = rejects(&app, one(&price), "line_items[0][price]", "parameter_invalid").await;
    assert!(e["message"].as_str().unwrap().contains("inactive"), "{e}");
    // Reactivated, it sells again.
    app.post(&format!("/prices/{price}"), &[("active", "true")]).await.ok();
    created(&app, one(&price)).await;
}

#[tokio::test]
async fn quantity_must_be_between_1_and_999999() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    for q in [json!(0), json!(-1), json!(1_000_000), json!(1_000_000_000_000_000i64)] {
        let e = rejects(
            &app,
            json!({"line_items": [{"price": price, "quantity": q}]}),
            "line_items[0][quantity]",
            "parameter_invalid",
        )
        .await;
        assert!(e["message"].as_str().unwrap().contains("must be"), "{q}: {e}");
    }
    rejects(
        &app,
        json!({"line_items": [{"price": price, "quantity": "two"}]}),
        "line_items[0][quantity]",
        "parameter_invalid_integer",
    )
    .await;
    rejects(
        &app,
        json!({"line_items": [{"price": price, "quantity": 1.5}]}),
        "line_items[0][quantity]",
        "parameter_invalid_integer",
    )
    .await;
    // The bounds themselves are fine, without adjustable_quantity.
    let s = app.simple_session(&price, 1).await;
    assert_eq!(s["amount_total"], 1000);
    let s = app.simple_session(&price, 999_999).await;
    assert_eq!(s["amount_total"], 999_999_000i64);
}

// ---------------------------------------------------------------------------------------------
// adjustable_quantity

fn adjustable(price: &str, quantity: i64, aq: Value) -> Value {
    json!({"line_items": [line(price, 1), {"price": price, "quantity": quantity, "adjustable_quantity": aq}]})
}

#[tokio::test]
async fn adjustable_quantity_needs_enabled() {
    let app = TestApp::spawn().await;
    let price = app.price(100, "usd").await;
    rejects(
        &app,
        adjustable(&price, 1, json!({"maximum": 5})),
        "line_items[1][adjustable_quantity][enabled]",
        "parameter_missing",
    )
    .await;
    rejects(
        &app,
        adjustable(&price, 1, json!({"enabled": "maybe"})),
        "line_items[1][adjustable_quantity][enabled]",
        "parameter_invalid",
    )
    .await;
}

#[tokio::test]
async fn adjustable_quantity_bounds() {
    let app = TestApp::spawn().await;
    let price = app.price(100, "usd").await;
    let aq = |f: &str| format!("line_items[1][adjustable_quantity][{f}]");
    let quantity = "line_items[1][quantity]".to_owned();
    // (quantity, adjustable_quantity, the param refused, a phrase of its message)
    let cases = [
        // minimum ≥ maximum: the error names `minimum`
        (5, json!({"enabled": true, "minimum": 5, "maximum": 5}), aq("minimum"), "less than"),
        (5, json!({"enabled": true, "minimum": 6, "maximum": 5}), aq("minimum"), "less than"),
        // maximum defaults to 99, so minimum 99 alone is not below it
        (99, json!({"enabled": true, "minimum": 99}), aq("minimum"), "less than"),
        (1, json!({"enabled": true, "minimum": -1}), aq("minimum"), "at least 0"),
        // 1 ≤ maximum ≤ 999999
        (1, json!({"enabled": true, "maximum": 1_000_000}), aq("maximum"), "999999"),
        (1, json!({"enabled": true, "maximum": 0}), aq("maximum"), "at least 1"),
        // a quantity above 99 needs an explicit maximum
        (100, json!({"enabled": true}), quantity.clone(), "(99)"),
        // minimum ≤ quantity ≤ maximum
        (11, json!({"enabled": true, "maximum": 10}), quantity.clone(), "(10)"),
        (2, json!({"enabled": true, "minimum": 3, "maximum": 10}), quantity.clone(), "(3)"),
    ];
    for (q, a, param, phrase) in cases {
        let e = rejects(&app, adjustable(&price, q, a.clone()), &param, "parameter_invalid").await;
        assert!(e["message"].as_str().unwrap().contains(phrase), "{a}: {e}");
    }
    // unknown nested key
    rejects(
        &app,
        adjustable(&price, 1, json!({"enabled": true, "step": 2})),
        &aq("step"),
        "parameter_unknown",
    )
    .await;
}

#[tokio::test]
async fn adjustable_quantity_is_kept_on_the_line() {
    let app = TestApp::spawn().await;
    let price = app.price(100, "usd").await;
    let mut body = adjustable(&price, 500, json!({"enabled": true, "minimum": 2, "maximum": 1000}));
    body["expand"] = json!(["line_items"]);
    let s = created(&app, body).await;
    let lines = s["line_items"]["data"].as_array().unwrap();
    assert!(lines[0]["adjustable_quantity"].is_null());
    assert_eq!(lines[1]["adjustable_quantity"], json!({"enabled": true, "minimum": 2, "maximum": 1000}));
    assert_eq!(lines[1]["quantity"], 500);
    assert_eq!(s["amount_subtotal"], 100 + 50_000);
    // Defaults: minimum 0, maximum 99; the bounds are inclusive.
    let mut body = adjustable(&price, 99, json!({"enabled": true}));
    body["expand"] = json!(["line_items"]);
    let s = created(&app, body).await;
    assert_eq!(
        s["line_items"]["data"][1]["adjustable_quantity"],
        json!({"enabled": true, "minimum": 0, "maximum": 99})
    );
    let s = created(&app, adjustable(&price, 999_999, json!({"enabled": false, "maximum": 999_999}))).await;
    assert_eq!(s["amount_subtotal"], 100 + 99_999_900i64);
}

// ---------------------------------------------------------------------------------------------
// mode

#[tokio::test]
async fn mode_is_inferred_from_the_prices() {
    let app = TestApp::spawn().await;
    let one_time = app.price(500, "usd").await;
    let monthly = app.recurring_price(2000, "usd", "month").await;
    let s = created(&app, one(&one_time)).await;
    assert_eq!(s["mode"], "payment");
    assert!(s["payment_method_collection"].is_null());
    let s = created(&app, json!({"line_items": [line(&one_time, 1), line(&monthly, 1)]})).await;
    assert_eq!(s["mode"], "subscription");
    assert_eq!(s["payment_method_collection"], "always");
    let s = created(&app, json!({"line_items": [line(&monthly, 2)], "mode": "subscription"})).await;
    assert_eq!(s["mode"], "subscription");
    assert_eq!(s["amount_total"], 4000);
}

#[tokio::test]
async fn mode_must_fit_the_prices() {
    let app = TestApp::spawn().await;
    let one_time = app.price(500, "usd").await;
    let monthly = app.recurring_price(2000, "usd", "month").await;
    let e = rejects(
        &app,
        json!({"mode": "payment", "line_items": [line(&one_time, 1), line(&monthly, 1)]}),
        "line_items[1][price]",
        "parameter_invalid",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("recurring"), "{e}");
    let e = rejects(
        &app,
        json!({"mode": "subscription", "line_items": [line(&one_time, 1)]}),
        "mode",
        "parameter_invalid",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("recurring"), "{e}");
    rejects(&app, with(&one_time, json!({"mode": "layaway"})), "mode", "parameter_invalid").await;
    // `setup` is a mode, but it takes no line items (issue 15).
    rejects(&app, with(&one_time, json!({"mode": "setup"})), "line_items", "parameter_invalid").await;
}

#[tokio::test]
async fn recurring_prices_must_share_interval_and_count() {
    let app = TestApp::spawn().await;
    let monthly = app.recurring_price(2000, "usd", "month").await;
    let yearly = app.recurring_price(20000, "usd", "year").await;
    let one_time = app.price(500, "usd").await;
    rejects(
        &app,
        json!({"line_items": [line(&monthly, 1), line(&one_time, 1), line(&yearly, 1)]}),
        "line_items[2][price]",
        "parameter_invalid",
    )
    .await;
    // Same interval, other interval_count.
    let product = app.product("Quarterly").await;
    let r = app
        .post(
            "/prices",
            &[
                ("product", &product),
                ("unit_amount", "5000"),
                ("currency", "usd"),
                ("recurring[interval]", "month"),
                ("recurring[interval_count]", "3"),
            ],
        )
        .await;
    let quarterly = r.ok()["id"].as_str().unwrap().to_owned();
    rejects(
        &app,
        json!({"line_items": [line(&monthly, 1), line(&quarterly, 1)]}),
        "line_items[1][price]",
        "parameter_invalid",
    )
    .await;
    // Two monthly prices are fine.
    let monthly2 = app.recurring_price(300, "usd", "month").await;
    let s = created(&app, json!({"line_items": [line(&monthly, 1), line(&monthly2, 1), line(&one_time, 1)]}))
        .await;
    assert_eq!(s["amount_total"], 2800);
}

// ---------------------------------------------------------------------------------------------
// limits

#[tokio::test]
async fn payment_mode_takes_at_most_100_lines() {
    let app = TestApp::spawn().await;
    let price = app.price(1, "usd").await;
    let lines = |n: usize| Value::Array((0..n).map(|_| line(&price, 1)).collect());
    let e = rejects(&app, json!({"line_items": lines(101)}), "line_items", "parameter_invalid").await;
    assert!(e["message"].as_str().unwrap().contains("100"), "{e}");
    let s = created(&app, json!({"line_items": lines(100)})).await;
    assert_eq!(s["amount_total"], 100);
}

#[tokio::test]
async fn subscription_mode_takes_at_most_20_recurring_and_20_one_time_lines() {
    let app = TestApp::spawn().await;
    let monthly = app.recurring_price(10, "usd", "month").await;
    let one_time = app.price(1, "usd").await;
    let lines = |recurring: usize, once: usize| {
        let mut v: Vec<Value> = (0..recurring).map(|_| line(&monthly, 1)).collect();
        v.extend((0..once).map(|_| line(&one_time, 1)));
        Value::Array(v)
    };
    let e = rejects(&app, json!({"line_items": lines(21, 0)}), "line_items", "parameter_invalid").await;
    assert!(e["message"].as_str().unwrap().contains("recurring"), "{e}");
    let e = rejects(&app, json!({"line_items": lines(1, 21)}), "line_items", "parameter_invalid").await;
    assert!(e["message"].as_str().unwrap().contains("one-time"), "{e}");
    let s = created(&app, json!({"line_items": lines(20, 20)})).await;
    assert_eq!(s["mode"], "subscription");
    assert_eq!(s["amount_total"], 20 * 10 + 20);
}

// ---------------------------------------------------------------------------------------------
// currency

#[tokio::test]
async fn currency_rules() {
    let app = TestApp::spawn().await;
    let usd = app.price(1000, "usd").await;
    let eur = app.price(900, "eur").await;
    // Given and matching (case folded), given and not matching.
    let s = created(&app, with(&usd, json!({"currency": "USD"}))).await;
    assert_eq!(s["currency"], "usd");
    let e =
        rejects(&app, with(&usd, json!({"currency": "eur"})), "line_items[0][price]", "parameter_invalid")
            .await;
    assert!(e["message"].as_str().unwrap().contains("eur"), "{e}");
    // Omitted: the prices must agree.
    rejects(
        &app,
        json!({"line_items": [line(&usd, 1), line(&usd, 1), line(&eur, 1)]}),
        "line_items[2][price]",
        "parameter_invalid",
    )
    .await;
    let s = created(&app, one(&eur)).await;
    assert_eq!(s["currency"], "eur");
    // Unknown codes.
    for bad in ["xyz", "usdd", ""] {
        rejects(&app, with(&usd, json!({"currency": bad})), "currency", "parameter_invalid").await;
    }
}

// ---------------------------------------------------------------------------------------------
// customer

#[tokio::test]
async fn customer_must_exist_in_this_account() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let e =
        rejects(&app, with(&price, json!({"customer": "cus_nope"})), "customer", "resource_missing").await;
    assert_eq!(e["message"], "No such customer: 'cus_nope'");
    let other = app.new_account("Other shop").await;
    let theirs = customer_as(&app, &other, "them@example.com").await;
    rejects(&app, with(&price, json!({"customer": theirs})), "customer", "resource_missing").await;

    let mine = customer(&app, "me@example.com").await;
    let s = created(&app, with(&price, json!({"customer": mine}))).await;
    assert_eq!(s["customer"], mine.as_str());
    assert!(s["customer_creation"].is_null());
    // Blank: a customer is created at completion.
    let s = created(&app, with(&price, json!({"customer": ""}))).await;
    assert!(s["customer"].is_null());
    assert_eq!(s["customer_creation"], "always");
}

#[tokio::test]
async fn customer_and_customer_email_are_exclusive_and_the_email_is_checked() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let cus = customer(&app, "me@example.com").await;
    rejects(
        &app,
        with(&price, json!({"customer": cus, "customer_email": "me@example.com"})),
        "customer_email",
        "parameters_exclusive",
    )
    .await;
    for bad in ["not-an-email", "a@b", "a b@example.com", "@example.com"] {
        rejects(&app, with(&price, json!({"customer_email": bad})), "customer_email", "parameter_invalid")
            .await;
    }
    let s = created(&app, with(&price, json!({"customer_email": "buyer@example.com"}))).await;
    assert_eq!(s["customer_email"], "buyer@example.com");
    assert!(s["customer"].is_null());
}

// ---------------------------------------------------------------------------------------------
// discounts

#[tokio::test]
async fn discounts_shape() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let c1 = new_coupon(&app, &[("percent_off", "10")]).await;
    let c2 = new_coupon(&app, &[("percent_off", "20")]).await;
    let e = rejects(
        &app,
        with(&price, json!({"discounts": [{"coupon": c1}, {"coupon": c2}]})),
        "discounts",
        "parameter_invalid",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("at most one"), "{e}");
    rejects(&app, with(&price, json!({"discounts": [{}]})), "discounts[0][coupon]", "parameter_missing")
        .await;
    let promo = new_promo(&app, &[("coupon", &c1), ("code", "BOTH")]).await;
    rejects(
        &app,
        with(&price, json!({"discounts": [{"coupon": c1, "promotion_code": promo}]})),
        "discounts[0][promotion_code]",
        "parameters_exclusive",
    )
    .await;
    rejects(
        &app,
        with(&price, json!({"discounts": [{"code": "X"}]})),
        "discounts[0][code]",
        "parameter_unknown",
    )
    .await;
    let e = rejects(
        &app,
        with(&price, json!({"discounts": [{"coupon": c1}], "allow_promotion_codes": true})),
        "discounts",
        "parameters_exclusive",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("allow_promotion_codes"), "{e}");
    // Each alone is fine.
    let s = created(&app, with(&price, json!({"allow_promotion_codes": true}))).await;
    assert_eq!(s["allow_promotion_codes"], true);
    assert_eq!(s["discounts"], json!([]));
    let s =
        created(&app, with(&price, json!({"discounts": [{"coupon": c1}], "allow_promotion_codes": false})))
            .await;
    assert_eq!(s["discounts"], json!([{"coupon": c1, "promotion_code": null}]));
}

#[tokio::test]
async fn coupon_must_exist_and_be_valid_now() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let e = rejects(
        &app,
        with(&price, json!({"discounts": [{"coupon": "NOPE"}]})),
        "discounts[0][coupon]",
        "resource_missing",
    )
    .await;
    assert_eq!(e["message"], "No such coupon: 'NOPE'");

    let other = app.new_account("Other shop").await;
    let r = app.post_as(&other, "/coupons", &[("id", "THEIRS"), ("percent_off", "10")]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    rejects(
        &app,
        with(&price, json!({"discounts": [{"coupon": "THEIRS"}]})),
        "discounts[0][coupon]",
        "resource_missing",
    )
    .await;

    let redeem_by = (now(&app) + 3600).to_string();
    let c = new_coupon(&app, &[("percent_off", "10"), ("redeem_by", &redeem_by)]).await;
    let s = created(&app, with(&price, json!({"discounts": [{"coupon": c}]}))).await;
    assert_eq!(s["total_details"]["amount_discount"], 100);
    app.clock.advance(3600);
    let e = rejects(
        &app,
        with(&price, json!({"discounts": [{"coupon": c}]})),
        "discounts[0][coupon]",
        "coupon_expired",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");
}

#[tokio::test]
async fn amount_off_coupon_must_be_in_the_session_currency() {
    let app = TestApp::spawn().await;
    let usd = app.price(1000, "usd").await;
    let eur_off = new_coupon(&app, &[("amount_off", "200"), ("currency", "eur")]).await;
    let e = rejects(
        &app,
        with(&usd, json!({"discounts": [{"coupon": eur_off}]})),
        "discounts[0][coupon]",
        "parameter_invalid",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("eur"), "{e}");
    let eur = app.price(1000, "eur").await;
    let s = created(&app, with(&eur, json!({"discounts": [{"coupon": eur_off}]}))).await;
    assert_eq!(s["amount_total"], 800);
}

#[tokio::test]
async fn promotion_code_restrictions() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let coupon = new_coupon(&app, &[("percent_off", "10")]).await;
    let promo = |extra: Value| {
        let mut b = with(&price, json!({}));
        b["discounts"] = json!([extra]);
        b
    };
    let param = "discounts[0][promotion_code]";
    let code = "promotion_code_invalid";

    // unknown
    rejects(&app, promo(json!({"promotion_code": "promo_nope"})), param, "resource_missing").await;

    // inactive
    let inactive = new_promo(&app, &[("coupon", &coupon), ("code", "OFF1")]).await;
    created(&app, promo(json!({"promotion_code": inactive}))).await;
    app.post(&format!("/promotion_codes/{inactive}"), &[("active", "false")]).await.ok();
    let e = rejects(&app, promo(json!({"promotion_code": inactive})), param, code).await;
    assert!(e["message"].as_str().unwrap().contains("not active"), "{e}");

    // expired
    let expires = (now(&app) + 600).to_string();
    let expiring = new_promo(&app, &[("coupon", &coupon), ("code", "SOON"), ("expires_at", &expires)]).await;
    created(&app, promo(json!({"promotion_code": expiring}))).await;

    // for another customer
    let alice = customer(&app, "alice@example.com").await;
    let bob = customer(&app, "bob@example.com").await;
    let alices = new_promo(&app, &[("coupon", &coupon), ("code", "ALICE"), ("customer", &alice)]).await;
    let mut b = promo(json!({"promotion_code": alices}));
    b["customer"] = json!(bob);
    let e = rejects(&app, b.clone(), param, code).await;
    assert!(e["message"].as_str().unwrap().contains("customer"), "{e}");
    rejects(&app, promo(json!({"promotion_code": alices})), param, code).await;
    b["customer"] = json!(alice);
    let s = created(&app, b).await;
    assert_eq!(s["amount_total"], 900);

    // below the minimum
    let minimum = new_promo(
        &app,
        &[
            ("coupon", &coupon),
            ("code", "BIG"),
            ("restrictions[minimum_amount]", "1500"),
            ("restrictions[minimum_amount_currency]", "usd"),
        ],
    )
    .await;
    let e = rejects(&app, promo(json!({"promotion_code": minimum})), param, code).await;
    assert!(e["message"].as_str().unwrap().contains("15.00 USD"), "{e}");
    let mut b = promo(json!({"promotion_code": minimum}));
    b["line_items"][0]["quantity"] = json!(2);
    let s = created(&app, b).await;
    assert_eq!(s["amount_total"], 1800);

    app.clock.advance(600);
    let e = rejects(&app, promo(json!({"promotion_code": expiring})), param, code).await;
    assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");

    // its coupon deleted
    let doomed = new_coupon(&app, &[("percent_off", "5")]).await;
    let orphan = new_promo(&app, &[("coupon", &doomed), ("code", "ORPHAN")]).await;
    assert_eq!(app.delete(&format!("/coupons/{doomed}")).await.ok()["deleted"], true);
    rejects(&app, promo(json!({"promotion_code": orphan})), param, code).await;
}

// ---------------------------------------------------------------------------------------------
// payment_method_types

#[tokio::test]
async fn payment_method_types_rules() {
    let app = TestApp::spawn().await;
    let usd = app.price(1000, "usd").await;
    let jpy = app.price(1000, "jpy").await;
    let cad = app.price(1000, "cad").await;
    let monthly = app.recurring_price(1000, "usd", "month").await;
    let pmt = |price: &str, types: Value| with(price, json!({"payment_method_types": types}));

    rejects(&app, pmt(&usd, json!([])), "payment_method_types", "parameter_invalid").await;
    rejects(&app, pmt(&usd, json!(["card", "bitcoin"])), "payment_method_types[1]", "parameter_invalid")
        .await;
    let e =
        rejects(&app, pmt(&jpy, json!(["card", "paypal"])), "payment_method_types[1]", "parameter_invalid")
            .await;
    assert!(e["message"].as_str().unwrap().contains("jpy"), "{e}");
    let e =
        rejects(&app, pmt(&cad, json!(["customer_balance"])), "payment_method_types[0]", "parameter_invalid")
            .await;
    assert!(e["message"].as_str().unwrap().contains("cad"), "{e}");
    let e = rejects(
        &app,
        pmt(&monthly, json!(["card", "customer_balance"])),
        "payment_method_types[1]",
        "parameter_invalid",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("payment"), "{e}");
    // A repeated type does not shift the index of the one that is refused.
    rejects(
        &app,
        pmt(&jpy, json!(["card", "card", "paypal"])),
        "payment_method_types[2]",
        "parameter_invalid",
    )
    .await;

    let s = created(&app, one(&usd)).await;
    assert_eq!(s["payment_method_types"], json!(["card"]));
    let s = created(&app, pmt(&usd, json!(["card", "paypal", "customer_balance"]))).await;
    assert_eq!(s["payment_method_types"], json!(["card", "paypal", "customer_balance"]));
    let s = created(&app, pmt(&jpy, json!(["customer_balance"]))).await;
    assert_eq!(s["payment_method_types"], json!(["customer_balance"]));
    let s = created(&app, pmt(&cad, json!(["paypal"]))).await;
    assert_eq!(s["payment_method_types"], json!(["paypal"]));
}

// ---------------------------------------------------------------------------------------------
// subscription_data

#[tokio::test]
async fn subscription_data_rules() {
    let app = TestApp::spawn().await;
    let one_time = app.price(1000, "usd").await;
    let monthly = app.recurring_price(1000, "usd", "month").await;
    let e = rejects(
        &app,
        with(&one_time, json!({"subscription_data": {"trial_period_days": 7}})),
        "subscription_data",
        "parameter_invalid",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("subscription"), "{e}");
    for days in [0, -1, 731] {
        rejects(
            &app,
            with(&monthly, json!({"subscription_data": {"trial_period_days": days}})),
            "subscription_data[trial_period_days]",
            "parameter_invalid",
        )
        .await;
    }
    rejects(
        &app,
        with(&monthly, json!({"subscription_data": {"trial_days": 7}})),
        "subscription_data[trial_days]",
        "parameter_unknown",
    )
    .await;
    for days in [1, 730] {
        let s =
            created(&app, with(&monthly, json!({"subscription_data": {"trial_period_days": days}}))).await;
        assert_eq!(s["mode"], "subscription");
        assert_eq!(s["amount_total"], 0, "a trial's recurring lines are due later");
    }
}

// ---------------------------------------------------------------------------------------------
// URLs and expiry

#[tokio::test]
async fn urls_must_be_absolute_http_and_short() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let long = format!("https://shop.test/{}", "a".repeat(5000));
    for field in ["success_url", "cancel_url"] {
        for bad in
            ["shop.test/ok", "/ok", "ftp://shop.test/ok", "https://", "https://shop test/ok", long.as_str()]
        {
            let mut body = one(&price);
            body[field] = json!(bad);
            rejects(&app, body, field, "url_invalid").await;
        }
    }
    // 5000 characters exactly is fine.
    let exact = format!("https://shop.test/{}", "a".repeat(5000 - "https://shop.test/".len()));
    assert_eq!(exact.chars().count(), 5000);
    let s = created(
        &app,
        with(&price, json!({"success_url": exact, "cancel_url": "http://localhost:3000/cart"})),
    )
    .await;
    assert_eq!(s["success_url"], exact.as_str());
    assert_eq!(s["cancel_url"], "http://localhost:3000/cart");
    // Without success_url kassa shows its own page.
    let s = created(&app, json!({"line_items": [line(&price, 1)]})).await;
    assert!(s["success_url"].is_null());
    assert!(s["cancel_url"].is_null());
}

#[tokio::test]
async fn expires_at_is_30_minutes_to_24_hours_ahead() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let t = now(&app);
    // 10 s of grace below the 30-minute minimum absorbs a second ticking over in transit.
    for bad in [t - 1, t, t + 30 * 60 - 11, t + 29 * 60, t + 24 * 3600 + 1] {
        let e =
            rejects(&app, with(&price, json!({"expires_at": bad})), "expires_at", "parameter_invalid").await;
        assert!(e["message"].as_str().unwrap().contains("30 minutes"), "{e}");
    }
    for good in [t + 30 * 60 - 10, t + 30 * 60, t + 3600, t + 24 * 3600] {
        let s = created(&app, with(&price, json!({"expires_at": good}))).await;
        assert_eq!(s["expires_at"], good);
    }
    rejects(&app, with(&price, json!({"expires_at": "soon"})), "expires_at", "parameter_invalid_integer")
        .await;
}

// ---------------------------------------------------------------------------------------------
// unknown parameters

#[tokio::test]
async fn unknown_parameters_are_refused_at_every_level() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    for (body, param) in [
        (with(&price, json!({"bogus": 1})), "bogus"),
        (with(&price, json!({"adaptive_pricing": {"enabled": true}})), "adaptive_pricing"),
        (json!({"line_items": [{"price": price, "quantity": 1, "pricee": "x"}]}), "line_items[0][pricee]"),
        (
            json!({"line_items": [line(&price, 1), {"price": price, "quantity": 1, "tax_code": "x"}]}),
            "line_items[1][tax_code]",
        ),
    ] {
        let e = rejects(&app, body, param, "parameter_unknown").await;
        assert_eq!(e["message"], format!("Received unknown parameter: {param}"));
    }
    // The same in form encoding.
    let r = app
        .post(
            PATH,
            &[
                ("line_items[0][price]", &price),
                ("line_items[0][quantity]", "1"),
                ("line_items[0][colour]", "red"),
            ],
        )
        .await;
    let e = r.invalid("line_items[0][colour]");
    assert_eq!(e["code"], "parameter_unknown");
}

// ---------------------------------------------------------------------------------------------
// the created session

#[tokio::test]
async fn created_session_has_the_full_shape() {
    let app = TestApp::spawn().await;
    let price = app.price(1500, "usd").await;
    let t = now(&app);
    let r = create(
        &app,
        &json!({
            "line_items": [line(&price, 2)],
            "success_url": "https://shop.test/ok?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://shop.test/cart",
            "client_reference_id": "order-6735",
            "metadata": {"order": "6735", "note": "gift"},
            "customer_email": "buyer@example.com",
        }),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")));
    let s = &r.body;
    let id = s["id"].as_str().unwrap();
    assert!(id.starts_with("cs_test_") && id.len() >= "cs_test_".len() + 22, "{id}");
    assert_eq!(s["object"], "checkout.session");
    assert_eq!(s["livemode"], false);
    assert_eq!(s["url"], format!("{}/pay/{id}", app.base));
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["created"], t);
    assert_eq!(s["expires_at"], t + 24 * 3600);
    assert_eq!(s["mode"], "payment");
    assert_eq!(s["currency"], "usd");
    assert_eq!(s["payment_method_types"], json!(["card"]));
    assert_eq!(s["metadata"], json!({"order": "6735", "note": "gift"}));
    assert_eq!(s["client_reference_id"], "order-6735");
    assert_eq!(s["success_url"], "https://shop.test/ok?session_id={CHECKOUT_SESSION_ID}");
    assert_eq!(s["cancel_url"], "https://shop.test/cart");
    assert_eq!(s["customer_email"], "buyer@example.com");
    assert!(s["customer"].is_null());
    assert_eq!(s["allow_promotion_codes"], false);
    assert_eq!(s["amount_subtotal"], 3000);
    assert_eq!(s["amount_total"], 3000);
    assert_eq!(s["total_details"], json!({"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}));
    assert_eq!(s["discounts"], json!([]));
    assert!(s["payment_intent"].is_null() && s["subscription"].is_null() && s["invoice"].is_null());
    assert!(s.get("line_items").is_none(), "line_items is includable, absent unless expanded");

    // Two sessions never share an id.
    let again = app.simple_session(&price, 1).await;
    assert_ne!(again["id"], s["id"]);
    // Empty metadata and client_reference_id.
    assert_eq!(again["metadata"], json!({}));
    assert!(again["client_reference_id"].is_null());
}

#[tokio::test]
async fn metadata_and_client_reference_id_limits() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    rejects(
        &app,
        with(&price, json!({"client_reference_id": "x".repeat(201)})),
        "client_reference_id",
        "parameter_invalid",
    )
    .await;
    let many: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let r = create(&app, &with(&price, json!({"metadata": many}))).await;
    assert_eq!(r.error(400)["param"], "metadata");
}

#[tokio::test]
async fn form_and_json_encodings_create_the_same_session() {
    let app = TestApp::spawn().await;
    let shirt = app.price(1999, "usd").await;
    let plan = app.price(500, "usd").await;
    let coupon = new_coupon(&app, &[("percent_off", "12.5")]).await;

    let form = app
        .post(
            PATH,
            &[
                ("line_items[0][price]", shirt.as_str()),
                ("line_items[0][quantity]", "3"),
                ("line_items[0][adjustable_quantity][enabled]", "true"),
                ("line_items[0][adjustable_quantity][maximum]", "10"),
                ("line_items[1][price]", plan.as_str()),
                ("line_items[1][quantity]", "1"),
                ("discounts[0][coupon]", coupon.as_str()),
                ("payment_method_types[]", "card"),
                ("payment_method_types[]", "paypal"),
                ("metadata[order]", "42"),
                ("success_url", "https://shop.test/ok?s={CHECKOUT_SESSION_ID}"),
                ("expand[]", "line_items"),
            ],
        )
        .await;
    assert_eq!(form.status, 201, "{}", form.text);
    let json_r = create(
        &app,
        &json!({
            "line_items": [
                {"price": shirt, "quantity": 3, "adjustable_quantity": {"enabled": true, "maximum": 10}},
                {"price": plan, "quantity": 1},
            ],
            "discounts": [{"coupon": coupon}],
            "payment_method_types": ["card", "paypal"],
            "metadata": {"order": "42"},
            "success_url": "https://shop.test/ok?s={CHECKOUT_SESSION_ID}",
            "expand": ["line_items"],
        }),
    )
    .await;
    assert_eq!(json_r.status, 201, "{}", json_r.text);
    let (f, j) = (&form.body, &json_r.body);
    // 3 × 1999 + 500 = 6497; 12.5 % = 812.125 → 812.
    for s in [f, j] {
        assert_eq!(s["amount_subtotal"], 6497);
        assert_eq!(s["total_details"]["amount_discount"], 812);
        assert_eq!(s["amount_total"], 5685);
    }
    for key in [
        "amount_subtotal",
        "amount_total",
        "total_details",
        "currency",
        "mode",
        "payment_method_types",
        "metadata",
        "success_url",
        "discounts",
    ] {
        assert_eq!(f[key], j[key], "{key}");
    }
    let strip = |s: &Value| -> Vec<Value> {
        s["line_items"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|li| {
                json!([
                    li["price"]["id"],
                    li["quantity"],
                    li["adjustable_quantity"],
                    li["amount_subtotal"],
                    li["amount_discount"],
                    li["amount_total"]
                ])
            })
            .collect()
    };
    assert_eq!(strip(f), strip(j));
    assert_eq!(
        f["line_items"]["data"][0]["adjustable_quantity"],
        json!({"enabled": true, "minimum": 0, "maximum": 10})
    );
}

#[tokio::test]
async fn form_encoding_errors_name_the_bracketed_param() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let r = app
        .post(
            PATH,
            &[
                ("line_items[0][price]", &price),
                ("line_items[0][quantity]", "1"),
                ("line_items[1][price]", &price),
                ("line_items[1][quantity]", "5"),
                ("line_items[1][adjustable_quantity][enabled]", "true"),
                ("line_items[1][adjustable_quantity][maximum]", "1000000"),
            ],
        )
        .await;
    assert_eq!(r.invalid("line_items[1][adjustable_quantity][maximum]")["code"], "parameter_invalid");
    let r = app.post(PATH, &[("line_items[0][price]", &price), ("line_items[0][quantity]", "0")]).await;
    r.invalid("line_items[0][quantity]");
}

#[tokio::test]
async fn v1_path_answers_200_with_the_same_session() {
    let app = TestApp::spawn().await;
    let price = app.price(1500, "usd").await;
    let r = app
        .post("/v1/checkout/sessions", &[("line_items[0][price]", &price), ("line_items[0][quantity]", "2")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body;
    let id = s["id"].as_str().unwrap();
    assert_eq!(s["object"], "checkout.session");
    assert_eq!(s["amount_total"], 3000);
    assert_eq!(s["url"], format!("{}/pay/{id}", app.base));
    // Both trees see the same object.
    let native = app.get(&format!("{PATH}/{id}")).await;
    let v1 = app.get(&format!("/v1/checkout/sessions/{id}")).await;
    assert_eq!(native.ok(), v1.ok());
    assert_eq!(native.body["amount_total"], 3000);
    // Errors are the same too (400 stays 400).
    let r = app
        .post(
            "/v1/checkout/sessions",
            &[("line_items[0][price]", "price_nope"), ("line_items[0][quantity]", "1")],
        )
        .await;
    assert_eq!(r.invalid("line_items[0][price]")["code"], "resource_missing");
    // The native path is singular; the plural one exists only under /v1.
    let r = app
        .post("/checkout/sessions", &[("line_items[0][price]", &price), ("line_items[0][quantity]", "1")])
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

/// A node that has read a price once reads it together with its product from then on (a price
/// never changes product): a session's creation is one read instead of two, and the product is
/// still read afresh each time, so a change to it shows in the next session.
#[tokio::test]
async fn a_known_price_is_read_with_its_product_in_one_read() {
    use kassa_core::store::Kind;
    use std::sync::{Arc, Mutex};

    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let product = app.get(&format!("/prices/{price}")).await.ok()["product"].as_str().unwrap().to_owned();
    let name = app.get(&format!("/products/{product}")).await.ok()["name"].as_str().unwrap().to_owned();

    // The server's store, counted, under a context of the test's own (whose node knows nothing yet).
    let base = app.ctx();
    let reads = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::new(crate::counting::Counting {
        inner: base.store.clone(),
        chunks: Default::default(),
        reads: reads.clone(),
    });
    let ctx = kassa::state::Ctx::new(store, base.clock.clone(), &base.public_url, base.webhooks.clone());
    let key = kassa_core::account::SecretKey::from_operator(&app.key).unwrap();
    let account = ctx.store.account_by_key(&key.hash()).await.unwrap().unwrap();
    let acct = kassa::service::Acct { id: account.id, name: account.name };
    let create = |body: Value| {
        let (ctx, acct) = (&ctx, &acct);
        async move {
            let p = serde_json::from_value(body).unwrap();
            kassa::service::sessions::create(ctx, acct, p).await.unwrap()
        }
    };

    let first = create(one(&price)).await;
    let second = create(one(&price)).await;
    let price_read = (Kind::Price, price.clone());
    let product_read = (Kind::Product, product.clone());
    assert_eq!(
        *reads.lock().unwrap(),
        [
            vec![price_read.clone()],
            vec![product_read.clone()],
            vec![price_read.clone(), product_read.clone()]
        ],
        "the first session reads the price, then its product; the second both at once"
    );
    for s in [&first, &second] {
        assert_eq!(s.line_items[0].price.product, product);
        assert_eq!(s.line_items[0].description, name);
    }

    // The product itself is not kept: renamed, the next session shows the new name.
    app.post(&format!("/products/{product}"), &[("name", "Renamed")]).await.ok();
    reads.lock().unwrap().clear();
    let third = create(one(&price)).await;
    assert_eq!(third.line_items[0].description, "Renamed");
    assert_eq!(*reads.lock().unwrap(), [vec![price_read, product_read]]);
}
