#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The hosted page's guards, route by route: a browser never gets JSON (every error is an HTML
//! page with `page-error`), no form post from another site changes anything, every page carries
//! the same security headers, hostile text comes back escaped, and a locked e-mail stays locked.

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, encode};
use crate::pay::{pay_card, payment_session, post};

/// The policy every page carries, exactly.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'self'";

fn browser() -> reqwest::Client {
    kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn get_page(app: &TestApp, path: &str) -> Resp {
    app.send(browser().get(app.url(path))).await
}

/// A page as a browser must get it: HTML with the full header set.
fn assert_page(r: &Resp, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"), "{what}");
    assert_eq!(r.header("content-security-policy"), Some(CSP), "{what}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{what}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{what}");
    assert!(r.text.starts_with("<!doctype html>"), "{what}: {}", r.text);
    assert!(r.text.contains("<link rel=\"stylesheet\" href=\"/static/pay.css\">"), "{what}: the page's look");
    assert_eq!(r.body, Value::Null, "{what}: not JSON");
}

/// An error page: HTML, its status, its message on `page-error`.
fn assert_error_page(r: &Resp, status: u16, what: &str) {
    assert_page(r, status, what);
    assert!(r.text.contains("data-testid=\"page-error\""), "{what}: {}", r.text);
}

/// Everything a page action could change, as the API sees it.
async fn state(app: &TestApp, id: &str) -> (Value, usize, usize) {
    let s = app.get(&format!("/checkout/session/{id}?expand[]=line_items&expand[]=payment_intent")).await;
    (s.ok().clone(), app.count("/events").await, app.count("/payment_intents").await)
}

const PAGE_POSTS: [&str; 6] =
    ["", "/quantities", "/promotion_code", "/promotion_code/remove", "/3ds", "/paypal"];

#[tokio::test]
async fn an_unknown_session_is_a_404_page_on_every_route() {
    let app = TestApp::spawn().await;
    for path in ["/pay/cs_test_nope", "/pay/cs_test_nope/3ds", "/pay/cs_test_nope/paypal"] {
        assert_error_page(&get_page(&app, path).await, 404, path);
    }
    for suffix in PAGE_POSTS {
        let path = format!("/pay/cs_test_nope{suffix}");
        let r = post(&app, &path, &[("code", "X"), ("result", "complete"), ("decision", "approve")]).await;
        assert_error_page(&r, 404, &path);
    }
    // Paths under /pay that name no page at all are the same page, not the API's JSON 404.
    for path in ["/pay", "/pay/", "/pay/cs_test_nope/elsewhere", "/pay/a/b/c/d"] {
        assert_error_page(&get_page(&app, path).await, 404, path);
    }
    let r = get_page(&app, "/pay/cs_test_nope").await;
    assert!(r.text.contains("Checkout not found"), "{}", r.text);
}

#[tokio::test]
async fn a_form_that_cannot_be_read_is_a_400_page_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = payment_session(&app, 1000, &["card"]).await;
    let before = state(&app, &id).await;
    for suffix in PAGE_POSTS {
        let path = format!("/pay/{id}{suffix}");
        for (content_type, body) in [
            ("application/x-www-form-urlencoded", "email=a%zz"),
            ("application/x-www-form-urlencoded", "name=%FF%FE"),
            ("application/json", r#"{"email":"a@example.test"}"#),
            ("multipart/form-data; boundary=x", "--x--"),
        ] {
            let req = browser().post(app.url(&path)).header("content-type", content_type).body(body);
            let r = app.send(req).await;
            assert_error_page(&r, 400, &format!("{path} {content_type} {body}"));
            assert!(r.text.contains("The form could not be read"), "{}", r.text);
        }
    }
    assert_eq!(state(&app, &id).await, before, "nothing changed");
}

#[tokio::test]
async fn a_form_too_large_is_a_413_page() {
    let app = TestApp::spawn().await;
    let id = payment_session(&app, 1000, &["card"]).await;
    let huge = format!("name={}", "x".repeat(100 * 1024));
    let req = browser()
        .post(app.url(&format!("/pay/{id}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge);
    assert_error_page(&app.send(req).await, 413, "a 100 KB form");
}

#[tokio::test]
async fn a_method_a_page_does_not_take_is_a_405_page() {
    let app = TestApp::spawn().await;
    let id = payment_session(&app, 1000, &["card"]).await;
    for (method, path) in [
        (reqwest::Method::PUT, format!("/pay/{id}")),
        (reqwest::Method::DELETE, format!("/pay/{id}/3ds")),
        (reqwest::Method::GET, format!("/pay/{id}/quantities")),
        (reqwest::Method::GET, format!("/pay/{id}/promotion_code")),
    ] {
        let r = app.send(browser().request(method.clone(), app.url(&path))).await;
        assert_error_page(&r, 405, &format!("{method} {path}"));
    }
    // The API keeps its JSON errors.
    let r = app.send(app.client.put(app.url("/products"))).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn a_failure_under_a_page_is_a_500_page_that_tells_nothing_internal() {
    let app = TestApp::spawn().await;
    let id = payment_session(&app, 1000, &["card"]).await;
    // A stored session that no longer decodes (a bug, or a damaged database).
    let account =
        app.ctx().store.get_by_id(kassa_core::store::Kind::CheckoutSession, &id).await.unwrap().unwrap();
    let mut broken = account.clone();
    broken.data = json!({"id": id, "unexpected": true}).to_string();
    kassa_core::store::transact(app.ctx().store.as_ref(), move |tx| tx.update(&broken)).await.unwrap();
    let r = get_page(&app, &format!("/pay/{id}")).await;
    assert_error_page(&r, 500, "a corrupt session");
    assert!(!r.text.contains("unexpected") && !r.text.contains("corrupt"), "{}", r.text);
    let r = pay_card(&app, &id, "4242424242424242").await;
    assert_error_page(&r, 500, "paying a corrupt session");
}

#[tokio::test]
async fn no_page_post_from_another_site_changes_anything() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let open = |extra: Value| {
        let mut body = json!({
            "line_items": [{"price": price, "quantity": 2, "adjustable_quantity": {"enabled": true, "maximum": 9}}],
            "payment_method_types": ["card", "paypal"],
            "allow_promotion_codes": true,
        });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let coupon = app.coupon(&[("percent_off", "10")]).await;
    app.post("/promotion_codes", &[("coupon", &coupon), ("code", "TEN")]).await.ok();
    // Three sessions, each where a post could do harm: an open one with a promotion code applied,
    // one waiting on 3-D Secure, one waiting on PayPal.
    let plain = app.session(open(json!({}))).await["id"].as_str().unwrap().to_owned();
    assert_eq!(post(&app, &format!("/pay/{plain}/promotion_code"), &[("code", "ten")]).await.status, 303);
    let challenged = app.session(open(json!({}))).await["id"].as_str().unwrap().to_owned();
    let r = pay_card(&app, &challenged, "4000002760003184").await;
    assert_eq!(r.header("location"), Some(format!("/pay/{challenged}/3ds").as_str()));
    let paypal = app.session(open(json!({}))).await["id"].as_str().unwrap().to_owned();
    let r =
        post(&app, &format!("/pay/{paypal}"), &[("email", "pp@example.test"), ("payment_method", "paypal")])
            .await;
    assert_eq!(r.header("location"), Some(format!("/pay/{paypal}/paypal").as_str()));

    let mut before = Vec::new();
    for id in [&plain, &challenged, &paypal] {
        before.push(state(&app, id).await);
    }
    let line = before[0].0["line_items"]["data"][0]["id"].as_str().unwrap().to_owned();
    let quantity_key = format!("quantity[{line}]");
    let form: Vec<(&str, &str)> = vec![
        ("email", "evil@example.test"),
        ("payment_method", "card"),
        ("card_number", "4242424242424242"),
        ("card_expiry", "12/34"),
        ("card_cvc", "123"),
        (&quantity_key, "9"),
        ("code", "TEN"),
        ("result", "complete"),
        ("decision", "approve"),
    ];
    let cross_site: [(&str, &str); 5] = [
        ("origin", "https://evil.test"),
        ("origin", "null"),
        ("origin", "http://127.0.0.1.evil.test"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ];
    for id in [&plain, &challenged, &paypal] {
        for suffix in PAGE_POSTS {
            for (header, value) in cross_site {
                let path = format!("/pay/{id}{suffix}");
                let req = browser()
                    .post(app.url(&path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header(header, value)
                    .body(encode(&form));
                let r = app.send(req).await;
                assert_error_page(&r, 403, &format!("{path} with {header}: {value}"));
                assert!(r.text.contains("Request refused"), "{}", r.text);
            }
        }
    }
    let mut after = Vec::new();
    for id in [&plain, &challenged, &paypal] {
        after.push(state(&app, id).await);
    }
    assert_eq!(after, before, "nothing changed");
    // The page's own origin (and a browser's same-origin post) still works.
    let r = app
        .send(
            browser()
                .post(app.url(&format!("/pay/{plain}/quantities")))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", app.base.as_str())
                .body(encode(&[(&quantity_key, "3")])),
        )
        .await;
    assert_eq!(r.status, 303);
    let r = app
        .send(
            browser()
                .post(app.url(&format!("/pay/{challenged}/3ds")))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "same-origin")
                .header("origin", "null")
                .body("result=complete"),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(state(&app, &challenged).await.0["status"], "complete");
}

#[tokio::test]
async fn every_page_carries_the_full_header_set() {
    let app = TestApp::spawn().await;
    let open = payment_session(&app, 1000, &["card", "paypal", "customer_balance"]).await;
    assert_page(&get_page(&app, &format!("/pay/{open}")).await, 200, "the checkout");

    let challenged = payment_session(&app, 1000, &["card"]).await;
    pay_card(&app, &challenged, "4000002760003184").await;
    assert_page(&get_page(&app, &format!("/pay/{challenged}/3ds")).await, 200, "3-D Secure");

    let paypal = payment_session(&app, 1000, &["paypal"]).await;
    post(&app, &format!("/pay/{paypal}"), &[("email", "pp@example.test"), ("payment_method", "paypal")])
        .await;
    assert_page(&get_page(&app, &format!("/pay/{paypal}/paypal")).await, 200, "PayPal");

    let refused = pay_card(&app, &open, "4000000000000002").await;
    assert_page(&refused, 200, "a declined payment");

    let paid = payment_session(&app, 1000, &["card"]).await;
    assert_eq!(pay_card(&app, &paid, "4242424242424242").await.status, 303);
    let r = get_page(&app, &format!("/pay/{paid}")).await;
    assert_page(&r, 200, "a complete session");
    assert!(r.text.contains("data-testid=\"session-complete\""));

    let expired = payment_session(&app, 1000, &["card"]).await;
    app.post(&format!("/checkout/session/{expired}/expire"), &[]).await.ok();
    let r = get_page(&app, &format!("/pay/{expired}")).await;
    assert_page(&r, 200, "an expired session");
    assert!(r.text.contains("data-testid=\"session-expired\""));

    assert_error_page(&get_page(&app, "/pay/cs_test_nope").await, 404, "not found");
    let r = app
        .send(
            browser()
                .post(app.url(&format!("/pay/{open}")))
                .header("origin", "https://evil.test")
                .body("email=a"),
        )
        .await;
    assert_error_page(&r, 403, "forbidden");
}

/// What askama writes for the characters that matter in HTML.
fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn hostile_strings_come_back_escaped() {
    let app = TestApp::spawn().await;
    let hostile = r#"<script>alert(1)</script>"'&x"#;
    let key = app.new_account(hostile).await;
    let product =
        app.post_as(&key, "/products", &[("name", "Tea")]).await.ok()["id"].as_str().unwrap().to_owned();
    let price = app
        .post_as(&key, "/prices", &[("product", &product), ("unit_amount", "500"), ("currency", "usd")])
        .await;
    let price = price.ok()["id"].as_str().unwrap().to_owned();
    let cancel_url = r#"https://shop.test/cart?back="><script>alert(2)</script>"#;
    let body = encode(&[
        ("line_items[0][price]", &price),
        ("line_items[0][quantity]", "1"),
        ("allow_promotion_codes", "true"),
        ("payment_method_types[]", "card"),
        ("payment_method_types[]", "paypal"),
        ("cancel_url", cancel_url),
        ("success_url", "https://shop.test/ok"),
    ]);
    let r = app
        .send(
            app.client
                .post(app.url("/checkout/session"))
                .bearer_auth(&key)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();

    let page = get_page(&app, &format!("/pay/{id}")).await.text;
    assert!(page.contains(&escaped(hostile)), "the account name, escaped: {page}");
    assert!(page.contains(&escaped(cancel_url)), "cancel_url, escaped");
    // The echoed promotion code.
    let code = r#""><img src=x onerror=alert(3)>"#;
    let code_refused = post(&app, &format!("/pay/{id}/promotion_code"), &[("code", code)]).await;
    assert_eq!(code_refused.status, 200);
    assert!(code_refused.text.contains(&format!("value=\"{}\"", escaped(code))), "{}", code_refused.text);
    // An e-mail the buyer typed, shown again with the refusal.
    let email = r#"x"><svg onload=alert(4)>@example.test"#;
    let email_refused =
        post(&app, &format!("/pay/{id}"), &[("email", email), ("payment_method", "card")]).await;
    assert_eq!(email_refused.status, 200);
    assert!(email_refused.text.contains("Enter a valid e-mail address."), "{}", email_refused.text);
    assert!(email_refused.text.contains(&format!("value=\"{}\"", escaped(email))), "{}", email_refused.text);
    // The PayPal stand-in and 3-D Secure pages name the merchant too.
    let r = post(&app, &format!("/pay/{id}"), &[("email", "pp@example.test"), ("payment_method", "paypal")])
        .await;
    assert_eq!(r.status, 303);
    let paypal = get_page(&app, &format!("/pay/{id}/paypal")).await.text;
    assert!(paypal.contains(&escaped(hostile)));
    for text in [&page, &code_refused.text, &email_refused.text, &paypal] {
        for raw in ["<script>alert", "<img src=x", "<svg onload", "onerror=alert(3)>", "\"><script"] {
            assert!(!text.contains(raw), "{raw} came back raw");
        }
    }
}

#[tokio::test]
async fn a_posted_email_for_a_customer_with_one_is_ignored() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let cus =
        app.post("/customers", &[("email", "jo@example.test")]).await.ok()["id"].as_str().unwrap().to_owned();
    let s = app.session(json!({"line_items": [{"price": price, "quantity": 1}], "customer": cus})).await;
    let id = s["id"].as_str().unwrap();
    let r = post(
        &app,
        &format!("/pay/{id}"),
        &[
            ("email", "mallory@evil.test"),
            ("name", "Jo"),
            ("payment_method", "card"),
            ("card_number", "4242424242424242"),
            ("card_expiry", "12/34"),
            ("card_cvc", "123"),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let s = app.get(&format!("/checkout/session/{id}?expand[]=payment_intent.payment_method")).await;
    let s = s.ok();
    assert_eq!(s["customer"], cus.as_str());
    assert_eq!(s["customer_details"]["email"], "jo@example.test");
    assert_eq!(s["payment_intent"]["payment_method"]["billing_details"]["email"], "jo@example.test");
    assert_eq!(app.get(&format!("/customers/{cus}")).await.ok()["email"], "jo@example.test");
    let everything = app.get("/events?limit=100").await.text;
    assert!(!everything.contains("mallory"), "the posted e-mail went nowhere");
}

#[tokio::test]
async fn a_success_url_with_characters_a_header_cannot_hold_still_redirects() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let s = app
        .session(json!({
            "line_items": [{"price": price, "quantity": 1}],
            "success_url": "https://shop.test/danke/schön?für={CHECKOUT_SESSION_ID}",
        }))
        .await;
    let id = s["id"].as_str().unwrap();
    let r = pay_card(&app, id, "4242424242424242").await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("https://shop.test/danke/sch%C3%B6n?f%C3%BCr={id}").as_str())
    );
}
