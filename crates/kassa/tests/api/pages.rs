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
    assert!(html.contains("$22.50"), "total of 2×10.00 + 2.50 shown");
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
    assert_eq!(r.body["total"], "$42.50");
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
    for (code, reason) in [
        ("NOPE", "This code is not valid."),
        // An inactive code reads like an unknown one (issue 13: guessing tells nothing).
        ("off", "This code is not valid."),
        ("bigspend", "minimum order of 1000.00 USD"),
    ] {
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
    assert!(html.contains("$20.00") && !html.contains("$18.00"), "{html}");
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
    // `customer_email` is prefilled and locked too, as on Stripe's page.
    assert!(html.contains("value=\"sam@example.test\" readonly"), "prefilled and locked");
}

/// Reasons that are about the code itself (inactive, expired, used up, its coupon likewise) all
/// read "This code is not valid.", the words for a code that does not exist; the reasons about
/// this checkout (its customer, amount, currency) are shown, but only for a code that is
/// otherwise valid (where it departs from Stripe's page, which gives the reason).
#[tokio::test]
async fn every_reason_a_promotion_code_is_refused_is_shown() {
    // More attempts on one session than the default budget allows.
    let app = TestApp::spawn_with(|s| s.code_attempts.per_session = 100).await;
    let price = app.price(1000, "usd").await;
    let coupon = app.post("/coupons", &[("percent_off", "10")]).await.ok()["id"].as_str().unwrap().to_owned();
    let euros = app.coupon(&[("amount_off", "100"), ("currency", "eur")]).await;
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
        mk("OFF", vec![("active", "false".to_owned())]),
        mk(
            "BIGSPEND",
            vec![
                ("restrictions[minimum_amount]", "100000".to_owned()),
                ("restrictions[minimum_amount_currency]", "usd".to_owned()),
            ],
        ),
        // Below the minimum too, but expired: the expiry is what counts, and it is not told.
        mk(
            "LATEBIG",
            vec![
                ("expires_at", soon.clone()),
                ("restrictions[minimum_amount]", "100000".to_owned()),
                ("restrictions[minimum_amount_currency]", "usd".to_owned()),
            ],
        ),
        vec![("coupon", euros.clone()), ("code", "EURO".to_owned())],
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
        ("nope", "This code is not valid."),
        ("off", "This code is not valid."),
        ("later", "This code is not valid."),
        ("onlyone", "This code is not valid."),
        ("latebig", "This code is not valid."),
        ("welcome", "first-time customers"),
        ("personal", "not valid for this customer"),
        ("bigspend", "minimum order of 1000.00 USD"),
        ("euro", "only applies to amounts in eur"),
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

/// POST a page form from a client bound to `from` (another loopback address, another client).
async fn post_form_from(
    app: &TestApp,
    from: &str,
    path: &str,
    form: &[(&str, &str)],
) -> crate::helpers::Resp {
    let client = kassa::client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(Some(from.parse().unwrap()))
        .build()
        .unwrap();
    let req = client.post(app.url(path)).header("content-type", "application/x-www-form-urlencoded");
    app.send(req.body(encode(form))).await
}

/// A session taking promotion codes, and the path its code form posts to.
async fn code_session(app: &TestApp, price: &str) -> (String, String) {
    let s = app
        .session(json!({"line_items": [{"price": price, "quantity": 1}], "allow_promotion_codes": true, "success_url": "https://shop.test/ok"}))
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let path = format!("/pay/{id}/promotion_code");
    (id, path)
}

#[tokio::test]
async fn unknown_inactive_expired_and_exhausted_codes_give_identical_pages() {
    let app = TestApp::spawn_with(|s| s.code_attempts.per_session = 100).await;
    let price = app.price(1000, "usd").await;
    let coupon = app.coupon(&[("percent_off", "10")]).await;
    let soon = (app.clock_now() + 60).to_string();
    let gone = app.coupon(&[("percent_off", "20")]).await;
    let stale = app.coupon(&[("percent_off", "30"), ("redeem_by", &soon)]).await;
    let used = app.coupon(&[("percent_off", "40"), ("max_redemptions", "1")]).await;
    for form in [
        vec![("coupon", coupon.as_str()), ("code", "INACTIVE"), ("active", "false")],
        vec![("coupon", coupon.as_str()), ("code", "EXPIRED"), ("expires_at", soon.as_str())],
        vec![("coupon", coupon.as_str()), ("code", "EXHAUSTED"), ("max_redemptions", "1")],
        vec![("coupon", gone.as_str()), ("code", "NOCOUPON")],
        vec![("coupon", stale.as_str()), ("code", "STALECOUPON")],
        vec![("coupon", used.as_str()), ("code", "USEDCOUPON")],
    ] {
        app.post("/promotion_codes", &form).await.ok();
    }
    // Use up EXHAUSTED and USEDCOUPON, each on a checkout of its own, paid; delete NOCOUPON's
    // coupon; let the expiry and redeem_by pass.
    for code in ["EXHAUSTED", "USEDCOUPON"] {
        let (id, path) = code_session(&app, &price).await;
        let r = post_form(&app, &path, &[("code", code)], None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{code}: {}", r.text);
        let r = crate::pay::pay_card(&app, &id, "4242424242424242").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{code}: {}", r.text);
    }
    assert_eq!(app.delete(&format!("/coupons/{gone}")).await.status, 200);
    app.clock.advance(120);

    let (id, path) = code_session(&app, &price).await;
    let mut pages = Vec::new();
    for code in
        ["NEVERHEARDOFIT", "INACTIVE", "EXPIRED", "EXHAUSTED", "NOCOUPON", "STALECOUPON", "USEDCOUPON"]
    {
        let r = post_form(&app, &path, &[("code", code)], None).await;
        assert!(r.text.contains("This code is not valid."), "{code}: {}", r.text);
        // The page differs only by the code typed, which stays in its field.
        let page = r.text.replace(&format!("value=\"{code}\""), "value=\"…\"");
        pages.push((code, r.status, page));
    }
    for (code, status, page) in &pages[1..] {
        assert_eq!(*status, pages[0].1, "{code}");
        assert_eq!(page, &pages[0].2, "{code} reads differently from an unknown code");
    }
    assert_eq!(pages[0].1, 200);
    assert_eq!(session(&app, &id).await["total_details"]["amount_discount"], 0);
}

#[tokio::test]
async fn promotion_code_attempts_are_limited_per_session_and_per_address() {
    let app = TestApp::spawn_with(|s| {
        s.code_attempts = kassa::config::CodeAttemptLimits { per_session: 3, per_address: 5 };
    })
    .await;
    let price = app.price(1000, "usd").await;
    let coupon = app.coupon(&[("percent_off", "10")]).await;
    app.post("/promotion_codes", &[("coupon", &coupon), ("code", "SPRING")]).await.ok();
    let (a, path_a) = code_session(&app, &price).await;
    let (_, path_b) = code_session(&app, &price).await;
    let (c, path_c) = code_session(&app, &price).await;

    // Three guesses on session A from 127.0.0.1 are answered; the fourth, even with the right
    // code, is refused inline without being looked at: 429, with when to try again.
    for guess in ["GUESS1", "GUESS2", "GUESS3"] {
        let r = post_form_from(&app, "127.0.0.1", &path_a, &[("code", guess)]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.text.contains("This code is not valid."));
    }
    let r = post_form_from(&app, "127.0.0.1", &path_a, &[("code", "SPRING")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.header("retry-after"), Some("20"), "3 a minute: one more every 20 s");
    assert!(r.text.contains("Too many attempts. Try again in 20 s."), "{}", r.text);
    assert!(r.text.contains("data-testid=\"promo-code-error\""));
    assert!(r.text.contains("value=\"SPRING\""), "the typed code stays in the field");
    assert_eq!(session(&app, &a).await["total_details"]["amount_discount"], 0, "not applied");
    // From another address it is the same session's budget.
    let r = post_form_from(&app, "127.0.0.2", &path_a, &[("code", "SPRING")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);

    // Session B has its own budget; 127.0.0.1 has used 4 of its 5 attempts, so B's first
    // passes and then the address is out, for every session.
    let r = post_form_from(&app, "127.0.0.1", &path_b, &[("code", "GUESS4")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = post_form_from(&app, "127.0.0.1", &path_c, &[("code", "SPRING")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.header("retry-after"), Some("12"), "5 a minute: one more every 12 s");
    // Another address is not affected, and C's budget was not touched by the refusal.
    let r = post_form_from(&app, "127.0.0.3", &path_c, &[("code", "SPRING")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(session(&app, &c).await["total_details"]["amount_discount"], 100);

    // Time refills the buckets: 12 s gives 127.0.0.1 one attempt back, 20 s gives A one.
    app.clock.advance(12);
    let r = post_form_from(&app, "127.0.0.1", &path_a, &[("code", "SPRING")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "A still waits: {}", r.text);
    assert_eq!(r.header("retry-after"), Some("8"));
    app.clock.advance(8);
    let r = post_form_from(&app, "127.0.0.2", &path_a, &[("code", "SPRING")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(session(&app, &a).await["total_details"]["amount_discount"], 100);
    // Removing a code is not an attempt.
    let r = post_form_from(&app, "127.0.0.2", &format!("{path_a}/remove"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}
