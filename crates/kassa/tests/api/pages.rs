#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The hosted page over plain HTTP, as a browser without JavaScript uses it: form posts answered
//! with 303s, errors shown inline, and the security headers and refusals.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, encode};

/// A client that does not follow redirects, so 303s can be asserted.
fn browser() -> reqwest::Client {
    kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn page(app: &TestApp, id: &str) -> String {
    let r = app.send(app.client.get(app.url(&format!("/pay/{id}")))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
}

async fn post_form(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    origin: Option<&str>,
) -> crate::helpers::Resp {
    let mut req = browser()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(form));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    app.send(req).await
}

async fn adjustable_session(app: &TestApp) -> (Value, String) {
    let a = app.price(1000, "usd").await;
    let b = app.price(250, "usd").await;
    let s = app
        .session(json!({
            "line_items": [
                {"price": a, "quantity": 2, "adjustable_quantity": {"enabled": true, "minimum": 0, "maximum": 5}},
                {"price": b, "quantity": 1, "adjustable_quantity": {"enabled": true, "minimum": 1, "maximum": 3}}
            ],
            "allow_promotion_codes": true,
            "success_url": "https://shop.test/ok",
            "cancel_url": "https://shop.test/cart",
        }))
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    (s, id)
}

fn line_ids(s: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for li in s["line_items"]["data"].as_array().unwrap() {
        ids.push(li["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn session(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/checkout/session/{id}?expand[]=line_items")).await.ok().clone()
}

#[tokio::test]
async fn the_page_shows_every_control_with_its_test_id() {
    let app = TestApp::spawn().await;
    let (_, id) = adjustable_session(&app).await;
    let html = page(&app, &id).await;
    for testid in [
        "line-item",
        "subtotal-amount",
        "total-amount",
        "quantity-input",
        "quantity-increase",
        "quantity-decrease",
        "quantity-update",
        "promo-code-input",
        "promo-code-apply",
        "email-input",
        "name-input",
        "payment-method-card",
        "card-number-input",
        "card-expiry-input",
        "card-cvc-input",
        "submit-button",
        "payment-error",
        "cancel-link",
    ] {
        assert!(html.contains(&format!("data-testid=\"{testid}\"")), "missing {testid}");
    }
    assert!(html.contains("https://shop.test/cart"));
    assert!(html.contains("22.50 USD"), "total of 2×10.00 + 2.50 shown");
    assert!(!html.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn security_headers_and_assets() {
    let app = TestApp::spawn().await;
    let (_, id) = adjustable_session(&app).await;
    let r = app.send(app.client.get(app.url(&format!("/pay/{id}")))).await;
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'self'"));
    for (path, ct) in [("/static/pay.css", "text/css"), ("/static/pay.js", "text/javascript")] {
        let r = app.send(app.client.get(app.url(path))).await;
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").unwrap().starts_with(ct));
    }
    // The page with its stylesheet and script stays small.
    let css = app.send(app.client.get(app.url("/static/pay.css"))).await.text.len();
    let js = app.send(app.client.get(app.url("/static/pay.js"))).await.text.len();
    let html = page(&app, &id).await.len();
    assert!(html + css + js < 30 * 1024, "{html} + {css} + {js} bytes");
}

#[tokio::test]
async fn merchant_text_is_escaped() {
    let app = TestApp::spawn().await;
    let product = app.post("/products", &[("name", "<script>alert(1)</script>")]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let price = app.price_for(&product, 500, "usd", None).await;
    let s = app.simple_session(&price, 1).await;
    let html = page(&app, s["id"].as_str().unwrap()).await;
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"), "escaped name shown");
}

#[tokio::test]
async fn quantities_change_without_javascript() {
    let app = TestApp::spawn().await;
    let (s, id) = adjustable_session(&app).await;
    let lines = line_ids(&session(&app, &id).await);
    let path = format!("/pay/{id}/quantities");
    // The + button of the first line.
    let step = format!("{}:1", lines[0]);
    let r = post_form(&app, &path, &[("step", &step)], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some(format!("/pay/{id}").as_str()));
    let now = session(&app, &id).await;
    assert_eq!(now["line_items"]["data"][0]["quantity"], 3);
    assert_eq!(now["amount_total"], 3250);
    // Typed quantities with the update button.
    let q0 = format!("quantity[{}]", lines[0]);
    let q1 = format!("quantity[{}]", lines[1]);
    let r = post_form(&app, &path, &[(&q0, "5"), (&q1, "3"), ("step", "")], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(session(&app, &id).await["amount_total"], 5750);
    // Above the maximum: refused inline, nothing changed.
    let r = post_form(&app, &path, &[(&q0, "6")], None).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("between 0 and 5"), "{}", r.text);
    assert_eq!(session(&app, &id).await["amount_total"], 5750);
    // Not a number.
    let r = post_form(&app, &path, &[(&q0, "lots")], None).await;
    assert!(r.text.contains("whole number"));
    // Removing the first line (minimum 0) leaves it out of the line items; the second stays.
    let r = post_form(&app, &path, &[(&q0, "0")], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let now = session(&app, &id).await;
    assert_eq!(now["line_items"]["data"].as_array().unwrap().len(), 1);
    assert_eq!(now["amount_total"], 750);
    let _ = s;
}

#[tokio::test]
async fn the_last_item_can_never_be_removed() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let s = app
        .session(json!({"line_items": [{"price": price, "quantity": 1, "adjustable_quantity": {"enabled": true}}]}))
        .await;
    let id = s["id"].as_str().unwrap();
    let line = line_ids(&session(&app, id).await).remove(0);
    let r =
        post_form(&app, &format!("/pay/{id}/quantities"), &[(&format!("quantity[{line}]"), "0")], None).await;
    assert!(
        r.text.contains("can&#39;t remove the last item") || r.text.contains("remove the last item"),
        "{}",
        r.text
    );
    assert_eq!(session(&app, id).await["amount_total"], 1000);
}

#[tokio::test]
async fn quantities_answer_json_for_the_script() {
    let app = TestApp::spawn().await;
    let (_, id) = adjustable_session(&app).await;
    let lines = line_ids(&session(&app, &id).await);
    let q0 = format!("quantity[{}]", lines[0]);
    let req = browser()
        .post(app.url(&format!("/pay/{id}/quantities")))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[(&q0, "4")]));
    let r = app.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], "42.50 USD");
    assert_eq!(r.body["amount_total"], 4250); // 4 × 10.00 + 2.50
    assert_eq!(r.body["lines"][0]["quantity"], 4);
    let req = browser()
        .post(app.url(&format!("/pay/{id}/quantities")))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[(&q0, "99")]));
    let r = app.send(req).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().unwrap().contains("between"));
    assert_eq!(r.body["lines"][0]["quantity"], 4, "the saved quantity comes back");
}

#[tokio::test]
async fn promotion_codes_on_the_page() {
    let app = TestApp::spawn().await;
    let (_, id) = adjustable_session(&app).await;
    let coupon = app.post("/coupons", &[("percent_off", "10")]).await.ok()["id"].as_str().unwrap().to_owned();
    app.post("/promotion_codes", &[("coupon", &coupon), ("code", "SPRING")]).await.ok();
    app.post("/promotion_codes", &[("coupon", &coupon), ("code", "OFF"), ("active", "false")]).await.ok();
    app.post(
        "/promotion_codes",
        &[
            ("coupon", &coupon),
            ("code", "BIGSPEND"),
            ("restrictions[minimum_amount]", "100000"),
            ("restrictions[minimum_amount_currency]", "usd"),
        ],
    )
    .await
    .ok();
    let path = format!("/pay/{id}/promotion_code");
    for (code, reason) in
        [("NOPE", "not valid"), ("off", "not active"), ("bigspend", "minimum order of 1000.00 USD")]
    {
        let r = post_form(&app, &path, &[("code", code)], None).await;
        assert_eq!(r.status, 200);
        assert!(r.text.contains(reason), "{code}: {}", r.text);
        assert!(r.text.contains(&format!("value=\"{code}\"")), "the typed code stays in the field");
        assert_eq!(session(&app, &id).await["total_details"]["amount_discount"], 0);
    }
    // Case-insensitive.
    let r = post_form(&app, &path, &[("code", "spring")], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let s = session(&app, &id).await;
    assert_eq!(s["total_details"]["amount_discount"], 225);
    assert_eq!(s["amount_total"], 2025);
    assert!(s["discounts"][0]["promotion_code"].as_str().unwrap().starts_with("promo_"));
    let html = page(&app, &id).await;
    assert!(
        html.contains("data-testid=\"applied-discount\"")
            && html.contains("data-testid=\"promo-code-remove\"")
    );
    // Lines show their amount before the discount, so that they add up to the subtotal.
    assert!(html.contains("20.00 USD") && !html.contains("18.00 USD"), "{html}");
    // Removed again.
    let r = post_form(&app, &format!("/pay/{id}/promotion_code/remove"), &[], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(session(&app, &id).await["amount_total"], 2250);
}

#[tokio::test]
async fn a_merchant_discount_is_shown_and_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let coupon = app.post("/coupons", &[("amount_off", "300"), ("currency", "usd")]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = app
        .session(json!({"line_items": [{"price": price, "quantity": 1}], "discounts": [{"coupon": coupon}]}))
        .await;
    let id = s["id"].as_str().unwrap();
    let html = page(&app, id).await;
    assert!(html.contains("data-testid=\"applied-discount\""));
    assert!(html.contains("data-testid=\"discount-amount\""));
    assert!(!html.contains("data-testid=\"promo-code-remove\""));
    let r = post_form(&app, &format!("/pay/{id}/promotion_code/remove"), &[], None).await;
    assert!(r.text.contains("cannot be removed"), "{}", r.text);
    assert_eq!(session(&app, id).await["amount_total"], 700);
}

#[tokio::test]
async fn posts_from_another_site_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (_, id) = adjustable_session(&app).await;
    let lines = line_ids(&session(&app, &id).await);
    let q0 = format!("quantity[{}]", lines[0]);
    let r = post_form(&app, &format!("/pay/{id}/quantities"), &[(&q0, "5")], Some("https://evil.test")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let req = browser()
        .post(app.url(&format!("/pay/{id}/quantities")))
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[(&q0, "5")]));
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(session(&app, &id).await["amount_total"], 2250, "nothing changed");
    // The page's own origin is welcome.
    let r = post_form(&app, &format!("/pay/{id}/quantities"), &[(&q0, "5")], Some(&app.base)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn closed_sessions_show_no_form_and_refuse_changes() {
    let app = TestApp::spawn().await;
    let (_, id) = adjustable_session(&app).await;
    let lines = line_ids(&session(&app, &id).await);
    app.post(&format!("/checkout/session/{id}/expire"), &[]).await.ok();
    let html = page(&app, &id).await;
    assert!(html.contains("data-testid=\"session-expired\""));
    assert!(!html.contains("data-testid=\"submit-button\""));
    let q0 = format!("quantity[{}]", lines[0]);
    let r = post_form(&app, &format!("/pay/{id}/quantities"), &[(&q0, "5")], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(session(&app, &id).await["amount_total"], 2250);
    // Unknown ids.
    let r = post_form(&app, "/pay/cs_test_nope/quantities", &[], None).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn a_customer_email_is_prefilled_and_locked() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let cus = app.post("/customers", &[("email", "jo@example.test"), ("name", "Jo")]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = app.session(json!({"line_items": [{"price": price, "quantity": 1}], "customer": cus})).await;
    let html = page(&app, s["id"].as_str().unwrap()).await;
    assert!(html.contains("value=\"jo@example.test\" readonly"), "{html}");
    let s = app
        .session(
            json!({"line_items": [{"price": price, "quantity": 1}], "customer_email": "sam@example.test"}),
        )
        .await;
    let html = page(&app, s["id"].as_str().unwrap()).await;
    assert!(html.contains("value=\"sam@example.test\""), "prefilled");
    assert!(!html.contains("value=\"sam@example.test\" readonly"), "but editable");
}

#[tokio::test]
async fn every_reason_a_promotion_code_is_refused_is_shown() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let coupon = app.post("/coupons", &[("percent_off", "10")]).await.ok()["id"].as_str().unwrap().to_owned();
    let soon = (app.clock_now() + 3600).to_string();
    let mk = |code: &'static str, extra: Vec<(&'static str, String)>| {
        let mut form: Vec<(&str, String)> = vec![("coupon", coupon.clone()), ("code", code.to_owned())];
        form.extend(extra);
        form
    };
    let returning = app.post("/customers", &[("email", "back@example.test")]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let someone = app.post("/customers", &[("email", "else@example.test")]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for form in [
        mk("LATER", vec![("expires_at", soon.clone())]),
        mk("ONLYONE", vec![("max_redemptions", "1".to_owned())]),
        mk("WELCOME", vec![("restrictions[first_time_transaction]", "true".to_owned())]),
        mk("PERSONAL", vec![("customer", someone.clone())]),
    ] {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app.post("/promotion_codes", &pairs).await.ok();
    }
    let session_for = |customer: Option<String>| {
        let mut body = json!({"line_items": [{"price": price, "quantity": 1}], "allow_promotion_codes": true, "success_url": "https://shop.test/ok"});
        if let Some(c) = customer {
            body["customer"] = json!(c);
        }
        body
    };
    // Exhaust ONLYONE, and make `returning` a customer who has paid.
    let s = app.session(session_for(Some(returning.clone()))).await;
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(
        post_form(&app, &format!("/pay/{id}/promotion_code"), &[("code", "onlyone")], None).await.status,
        StatusCode::SEE_OTHER
    );
    let paid = post_form(
        &app,
        &format!("/pay/{id}"),
        &[
            ("payment_method", "card"),
            ("card_number", "4242424242424242"),
            ("card_expiry", "12/34"),
            ("card_cvc", "123"),
        ],
        None,
    )
    .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.text);
    app.clock.advance(3600);

    let s = app.session(session_for(Some(returning.clone()))).await;
    let id = s["id"].as_str().unwrap().to_owned();
    for (code, reason) in [
        ("later", "has expired"),
        ("onlyone", "maximum number of redemptions"),
        ("welcome", "first-time customers"),
        ("personal", "not valid for this customer"),
    ] {
        let r = post_form(&app, &format!("/pay/{id}/promotion_code"), &[("code", code)], None).await;
        assert_eq!(r.status, 200, "{code}");
        assert!(r.text.contains(reason), "{code}: {}", r.text);
        assert!(r.text.contains("data-testid=\"promo-code-error\""));
    }
    assert_eq!(session(&app, &id).await["total_details"]["amount_discount"], 0);
    // The customer the code was made for may use it.
    let s = app.session(session_for(Some(someone))).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let r = post_form(&app, &format!("/pay/{id}/promotion_code"), &[("code", "PERSONAL")], None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(session(&app, &id).await["total_details"]["amount_discount"], 100);
}
