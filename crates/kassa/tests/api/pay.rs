//! Paying on the hosted page over plain HTTP: every test card, 3-D Secure, PayPal,
//! customer balance, subscriptions, redemptions, exactly-once completion, and card data kept out
//! of the database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, TestDb, encode};

fn browser() -> reqwest::Client {
    kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub(crate) async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Resp {
    let req = browser()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(form));
    app.send(req).await
}

pub(crate) async fn get_page(app: &TestApp, path: &str) -> Resp {
    app.send(browser().get(app.url(path))).await
}

/// Pay session `id` by card.
pub(crate) async fn pay_card(app: &TestApp, id: &str, number: &str) -> Resp {
    post(
        app,
        &format!("/pay/{id}"),
        &[
            ("email", "buyer@example.test"),
            ("name", "Bo Buyer"),
            ("payment_method", "card"),
            ("card_number", number),
            ("card_expiry", "12/34"),
            ("card_cvc", "123"),
        ],
    )
    .await
}

async fn session(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/checkout/session/{id}?expand[]=payment_intent&expand[]=customer")).await.ok().clone()
}

pub(crate) async fn payment_session(app: &TestApp, amount: i64, methods: &[&str]) -> String {
    let price = app.price(amount, "usd").await;
    let s = app
        .session(json!({
            "line_items": [{"price": price, "quantity": 2}],
            "payment_method_types": methods,
            "success_url": "https://shop.test/thanks?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://shop.test/cart",
        }))
        .await;
    s["id"].as_str().unwrap().to_owned()
}

fn location(r: &Resp) -> &str {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    r.header("location").unwrap()
}

#[tokio::test]
async fn a_test_card_pays_and_lands_on_the_success_url() {
    let app = TestApp::spawn().await;
    let id = payment_session(&app, 1500, &["card"]).await;
    let r = pay_card(&app, &id, "4242 4242 4242 4242").await;
    assert_eq!(location(&r), format!("https://shop.test/thanks?session={id}"));
    let s = session(&app, &id).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "paid");
    assert_eq!(s["url"], Value::Null);
    assert_eq!(s["customer_details"]["email"], "buyer@example.test");
    assert_eq!(s["customer_details"]["name"], "Bo Buyer");
    let customer = &s["customer"];
    assert!(customer["id"].as_str().unwrap().starts_with("cus_"), "a customer was created: {s}");
    assert_eq!(customer["email"], "buyer@example.test");
    let pi = &s["payment_intent"];
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount"], 3000);
    assert_eq!(pi["customer"], customer["id"]);
    let pm = app.get(&format!("/payment_methods/{}", pi["payment_method"].as_str().unwrap())).await;
    let pm = pm.ok();
    assert_eq!(pm["type"], "card");
    assert_eq!(pm["card"]["brand"], "visa");
    assert_eq!(pm["card"]["last4"], "4242");
    assert_eq!(pm["card"]["exp_month"], 12);
    assert_eq!(pm["card"]["exp_year"], 2034);
    assert_eq!(pm["card"]["fingerprint"].as_str().unwrap().len(), 16);
    // The page now says so, with no form.
    let page = get_page(&app, &format!("/pay/{id}")).await;
    assert!(page.text.contains("data-testid=\"session-complete\""));
    assert!(!page.text.contains("data-testid=\"submit-button\""));
    // Paying again changes nothing.
    let again = pay_card(&app, &id, "4242424242424242").await;
    assert_eq!(location(&again), format!("/pay/{id}"));
    let pis = app.get("/payment_intents").await;
    assert_eq!(pis.ok()["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn every_decline_is_shown_and_the_session_stays_open_for_a_retry() {
    let app = TestApp::spawn().await;
    let id = payment_session(&app, 1000, &["card"]).await;
    let mut intent: Option<String> = None;
    for (card, code, decline_code, words) in [
        ("4000000000000002", "card_declined", Some("generic_decline"), "declined"),
        ("4000000000009995", "card_declined", Some("insufficient_funds"), "insufficient funds"),
        ("4000000000000069", "expired_card", Some("expired_card"), "expired"),
        ("4000000000000127", "incorrect_cvc", Some("incorrect_cvc"), "security code"),
        ("4000000000000119", "processing_error", Some("processing_error"), "error occurred"),
        ("4111111111111111", "card_declined", Some("test_mode_live_card"), "test card"),
    ] {
        let r = pay_card(&app, &id, card).await;
        assert_eq!(r.status, 200, "{card}: the page again, with the reason");
        assert!(r.text.contains(words), "{card}: {}", r.text);
        assert!(r.text.contains("data-testid=\"payment-error\""));
        assert!(!r.text.contains(card), "the card number is not echoed back");
        let s = session(&app, &id).await;
        assert_eq!(s["status"], "open");
        let pi = &s["payment_intent"];
        assert_eq!(pi["status"], "requires_payment_method");
        assert_eq!(pi["last_payment_error"]["code"], code, "{card}");
        assert_eq!(pi["last_payment_error"]["decline_code"], json!(decline_code), "{card}");
        let pi_id = pi["id"].as_str().unwrap().to_owned();
        assert_eq!(intent.get_or_insert(pi_id.clone()), &pi_id, "one payment intent across attempts");
    }
    let r = pay_card(&app, &id, "5555555555554444").await;
    assert!(location(&r).starts_with("https://shop.test/thanks"));
    let s = session(&app, &id).await;
    assert_eq!(s["payment_intent"]["id"].as_str(), intent.as_deref());
    assert_eq!(s["payment_intent"]["status"], "succeeded");
    assert_eq!(s["payment_intent"]["last_payment_error"], Value::Null);
}

#[tokio::test]
async fn the_form_refuses_bad_card_input_without_an_attempt() {
    let app = TestApp::spawn().await;
    let id = payment_session(&app, 1000, &["card"]).await;
    for (number, expiry, cvc, words) in [
        ("4242424242424241", "12/34", "123", "card number is invalid"),
        ("4242424242424242", "01/20", "123", "in the past"),
        ("4242424242424242", "12/34", "1", "security code"),
        ("4242424242424242", "13/34", "123", "expiration month"),
    ] {
        let r = post(
            &app,
            &format!("/pay/{id}"),
            &[
                ("email", "a@b.test"),
                ("payment_method", "card"),
                ("card_number", number),
                ("card_expiry", expiry),
                ("card_cvc", cvc),
            ],
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(r.text.contains(words), "{number} {expiry} {cvc}: {}", r.text);
    }
    let r =
        post(&app, &format!("/pay/{id}"), &[("email", "not-an-email"), ("card_number", "4242424242424242")])
            .await;
    assert!(r.text.contains("valid e-mail"));
    let s = session(&app, &id).await;
    assert_eq!(s["payment_intent"], Value::Null, "no attempt was recorded");
    assert_eq!(s["status"], "open");
}

#[tokio::test]
async fn three_d_secure_both_ways() {
    let app = TestApp::spawn().await;
    // Passed.
    let id = payment_session(&app, 1000, &["card"]).await;
    let r = pay_card(&app, &id, "4000002760003184").await;
    assert_eq!(location(&r), format!("/pay/{id}/3ds"));
    assert_eq!(session(&app, &id).await["payment_intent"]["status"], "requires_action");
    let challenge = get_page(&app, &format!("/pay/{id}/3ds")).await;
    assert!(challenge.text.contains("data-testid=\"three-ds-complete\""));
    assert!(challenge.text.contains("data-testid=\"three-ds-fail\""));
    let r = post(&app, &format!("/pay/{id}/3ds"), &[("result", "complete")]).await;
    assert!(location(&r).starts_with("https://shop.test/thanks"));
    let s = session(&app, &id).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(
        s["customer_details"]["email"], "buyer@example.test",
        "the buyer's details survived the challenge"
    );

    // Failed: the session stays open.
    let id = payment_session(&app, 1000, &["card"]).await;
    pay_card(&app, &id, "4000002760003184").await;
    let r = post(&app, &format!("/pay/{id}/3ds"), &[("result", "fail")]).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("unable to authenticate"), "{}", r.text);
    let s = session(&app, &id).await;
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_intent"]["last_payment_error"]["code"], "payment_intent_authentication_failure");

    // Passed, then insufficient funds.
    let id = payment_session(&app, 1000, &["card"]).await;
    let r = pay_card(&app, &id, "4000008260003178").await;
    assert_eq!(location(&r), format!("/pay/{id}/3ds"));
    let r = post(&app, &format!("/pay/{id}/3ds"), &[("result", "complete")]).await;
    assert!(r.text.contains("insufficient funds"), "{}", r.text);
    assert_eq!(session(&app, &id).await["status"], "open");
}

#[tokio::test]
async fn paypal_both_ways() {
    let app = TestApp::spawn().await;
    let id = payment_session(&app, 1000, &["card", "paypal"]).await;
    let page = get_page(&app, &format!("/pay/{id}")).await;
    assert!(page.text.contains("data-testid=\"payment-method-paypal\""));
    let start = [("email", "pp@example.test"), ("name", "Pat"), ("payment_method", "paypal")];
    let r = post(&app, &format!("/pay/{id}"), &start).await;
    assert_eq!(location(&r), format!("/pay/{id}/paypal"));
    let stand_in = get_page(&app, &format!("/pay/{id}/paypal")).await;
    assert!(
        stand_in.text.contains("data-testid=\"paypal-approve\"")
            && stand_in.text.contains("data-testid=\"paypal-cancel\"")
    );
    // Cancelled: back on the page, still open.
    let r = post(&app, &format!("/pay/{id}/paypal"), &[("decision", "cancel")]).await;
    assert!(r.text.contains("cancelled"), "{}", r.text);
    assert_eq!(session(&app, &id).await["status"], "open");
    // Approved.
    post(&app, &format!("/pay/{id}"), &start).await;
    let r = post(&app, &format!("/pay/{id}/paypal"), &[("decision", "approve")]).await;
    assert!(location(&r).starts_with("https://shop.test/thanks"));
    let s = session(&app, &id).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "paid");
    let pm = app
        .get(&format!("/payment_methods/{}", s["payment_intent"]["payment_method"].as_str().unwrap()))
        .await;
    assert_eq!(pm.ok()["type"], "paypal");
    assert_eq!(pm.body["paypal"]["payer_email"], "pp@example.test");
    // Only the hash of the method's own type: no `card: null` (issue 15).
    assert!(!pm.body.as_object().unwrap().contains_key("card"), "{}", pm.text);
}

#[tokio::test]
async fn customer_balance_paid_at_once_or_after_a_transfer() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let rich = app.post("/customers", &[("email", "rich@example.test")]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let funded = app
        .post(
            &format!("/test_helpers/customers/{rich}/fund_cash_balance"),
            &[("amount", "5000"), ("currency", "usd")],
        )
        .await;
    assert_eq!(funded.ok()["object"], "customer_cash_balance_transaction");
    assert_eq!(funded.body["ending_balance"], 5000);
    let s = app
        .session(json!({"line_items": [{"price": price, "quantity": 1}], "customer": rich, "payment_method_types": ["customer_balance"], "success_url": "https://shop.test/ok"}))
        .await;
    let id = s["id"].as_str().unwrap();
    let r = post(&app, &format!("/pay/{id}"), &[("payment_method", "customer_balance")]).await;
    assert_eq!(location(&r), "https://shop.test/ok");
    let s = session(&app, id).await;
    assert_eq!(s["payment_status"], "paid");
    assert_eq!(s["customer"]["cash_balance"]["available"]["usd"], 4000, "debited");

    // Not enough: completes unpaid, shows bank transfer instructions, then a transfer pays it.
    let poor = app.post("/customers", &[("email", "poor@example.test")]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = app
        .session(json!({"line_items": [{"price": price, "quantity": 3}], "customer": poor, "payment_method_types": ["customer_balance"]}))
        .await;
    let id = s["id"].as_str().unwrap();
    let r = post(&app, &format!("/pay/{id}"), &[("payment_method", "customer_balance")]).await;
    assert_eq!(location(&r), format!("{}/pay/{id}", app.base));
    let s = session(&app, id).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["payment_intent"]["status"], "requires_action");
    let page = get_page(&app, &format!("/pay/{id}")).await;
    assert!(page.text.contains("data-testid=\"bank-transfer-instructions\""));
    assert!(page.text.contains("data-testid=\"bank-transfer-reference\">KASSA-"), "{}", page.text);
    app.post(
        &format!("/test_helpers/customers/{poor}/fund_cash_balance"),
        &[("amount", "1000"), ("currency", "usd")],
    )
    .await
    .ok();
    assert_eq!(session(&app, id).await["payment_status"], "unpaid", "1000 of 3000 is not enough");
    let r = app
        .post(
            &format!("/test_helpers/customers/{poor}/fund_cash_balance"),
            &[("amount", "2500"), ("currency", "usd")],
        )
        .await;
    assert_eq!(r.ok()["ending_balance"], 500);
    let s = session(&app, id).await;
    assert_eq!(s["payment_status"], "paid");
    assert_eq!(s["payment_intent"]["status"], "succeeded");
    // Bad input to the helper.
    let r = app
        .post(
            &format!("/test_helpers/customers/{poor}/fund_cash_balance"),
            &[("amount", "-5"), ("currency", "usd")],
        )
        .await;
    r.invalid("amount");
    let r = app
        .post("/test_helpers/customers/cus_nope/fund_cash_balance", &[("amount", "5"), ("currency", "usd")])
        .await;
    r.error(404);
}

#[tokio::test]
async fn subscriptions_with_and_without_a_trial() {
    let app = TestApp::spawn().await;
    let plan = app.recurring_price(2000, "usd", "month").await;
    let setup = app.price(500, "usd").await;
    // With a trial: nothing charged, the card saved.
    let s = app
        .session(json!({"line_items": [{"price": plan, "quantity": 1}], "subscription_data": {"trial_period_days": 14}, "success_url": "https://shop.test/ok"}))
        .await;
    let id = s["id"].as_str().unwrap();
    let page = get_page(&app, &format!("/pay/{id}")).await;
    assert!(page.text.contains("data-testid=\"trial-notice\"") && page.text.contains("Start trial"));
    let r = pay_card(&app, id, "4242424242424242").await;
    assert_eq!(location(&r), "https://shop.test/ok");
    let s = app.get(&format!("/checkout/session/{id}?expand[]=subscription&expand[]=invoice")).await;
    let s = s.ok();
    assert_eq!(s["payment_status"], "no_payment_required");
    let sub = &s["subscription"];
    assert_eq!(sub["status"], "trialing");
    let now = app.clock_now();
    assert_eq!(sub["trial_start"], now);
    assert_eq!(sub["trial_end"], now + 14 * 86_400);
    assert!(sub["default_payment_method"].as_str().unwrap().starts_with("pm_"));
    assert_eq!(s["invoice"]["status"], "paid");
    assert_eq!(s["invoice"]["amount_due"], 0);

    // Without a trial, with a one-time item: both charged now.
    let s = app
        .session(json!({"line_items": [{"price": plan, "quantity": 2}, {"price": setup, "quantity": 1}], "success_url": "https://shop.test/ok"}))
        .await;
    let id = s["id"].as_str().unwrap();
    pay_card(&app, id, "4242424242424242").await;
    let s = app.get(&format!("/checkout/session/{id}?expand[]=subscription&expand[]=invoice")).await;
    let s = s.ok();
    assert_eq!(s["payment_status"], "paid");
    assert_eq!(s["payment_intent"], Value::Null, "subscription sessions have no payment intent of their own");
    let sub = &s["subscription"];
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["items"]["data"].as_array().unwrap().len(), 1, "only the recurring price is an item");
    assert_eq!(sub["items"]["data"][0]["quantity"], 2);
    let inv = &s["invoice"];
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["amount_paid"], 4500);
    assert_eq!(inv["billing_reason"], "subscription_create");
    assert_eq!(inv["lines"]["data"].as_array().unwrap().len(), 2);
    let pi = app.get(&format!("/payment_intents/{}", inv["payment_intent"].as_str().unwrap())).await;
    assert_eq!(pi.ok()["status"], "succeeded");
    assert_eq!(pi.body["amount"], 4500);
    // A month later, to the calendar.
    let start = sub["current_period_start"].as_i64().unwrap();
    let end = sub["current_period_end"].as_i64().unwrap();
    assert!((28 * 86_400..=31 * 86_400).contains(&(end - start)), "{start} → {end}");
}

#[tokio::test]
async fn redemptions_are_counted_and_an_exhausted_code_fails_cleanly() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let coupon = app.post("/coupons", &[("percent_off", "50")]).await.ok()["id"].as_str().unwrap().to_owned();
    let code = app
        .post("/promotion_codes", &[("coupon", &coupon), ("code", "ONCE"), ("max_redemptions", "1")])
        .await;
    let code_id = code.ok()["id"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let s = app.session(json!({"line_items": [{"price": price, "quantity": 1}], "allow_promotion_codes": true, "success_url": "https://shop.test/ok"})).await;
        let id = s["id"].as_str().unwrap().to_owned();
        let r = post(&app, &format!("/pay/{id}/promotion_code"), &[("code", "once")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(session(&app, &id).await["amount_total"], 500);
        ids.push(id);
    }
    let r = pay_card(&app, &ids[0], "4242424242424242").await;
    assert_eq!(location(&r), "https://shop.test/ok");
    let code = app.get(&format!("/promotion_codes/{code_id}")).await;
    assert_eq!(code.ok()["times_redeemed"], 1);
    assert_eq!(code.body["coupon"]["times_redeemed"], 1);
    // The second session's code has run out: the attempt fails cleanly, the code comes off.
    let r = pay_card(&app, &ids[1], "4242424242424242").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("maximum number of redemptions"), "{}", r.text);
    let s = session(&app, &ids[1]).await;
    assert_eq!(s["status"], "open");
    assert_eq!(s["amount_total"], 1000);
    assert_eq!(s["discounts"], json!([]));
    assert_eq!(s["payment_intent"], Value::Null, "nothing was charged");
    let r = pay_card(&app, &ids[1], "4242424242424242").await;
    assert_eq!(location(&r), "https://shop.test/ok");
    assert_eq!(app.get(&format!("/promotion_codes/{code_id}")).await.ok()["times_redeemed"], 1);
}

#[tokio::test]
async fn concurrent_submits_make_one_payment() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        let id = payment_session(&app, 1000, &["card"]).await;
        let submits = (0..8).map(|_| pay_card(&app, &id, "4242424242424242"));
        let results = futures_join_all(submits).await;
        let landed = results.iter().filter(|r| r.status == StatusCode::SEE_OTHER).count();
        assert!(landed >= 1);
        // Each submit lands on the success URL, is told a payment is in progress, or (refused
        // while the winner finished) sees the completed page.
        for r in &results {
            assert!(
                r.status == StatusCode::SEE_OTHER
                    || r.text.contains("already in progress")
                    || r.text.contains("data-testid=\"session-complete\""),
                "{}",
                r.text
            );
        }
        let s = session(&app, &id).await;
        assert_eq!(s["status"], "complete");
    }
    let pis = app.get("/payment_intents?limit=100").await;
    let succeeded =
        pis.ok()["data"].as_array().unwrap().iter().filter(|p| p["status"] == "succeeded").count();
    assert_eq!(succeeded, 3, "one payment per session");
    let customers = app.get("/customers?limit=100").await;
    assert_eq!(customers.ok()["data"].as_array().unwrap().len(), 3, "one customer per session");
}

/// `join_all` without a dependency on the futures crate.
async fn futures_join_all<F: std::future::Future<Output = Resp>>(
    futures: impl Iterator<Item = F>,
) -> Vec<Resp> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<Resp>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => done[i] = Some(r),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    for r in done {
        out.push(r.unwrap());
    }
    out
}

#[tokio::test]
async fn card_numbers_never_reach_the_database() {
    let app = TestApp::spawn().await;
    let cards = ["4242424242424242", "4000000000000002", "4000002760003184", "5555555555554444"];
    for card in cards {
        let id = payment_session(&app, 1000, &["card"]).await;
        pay_card(&app, &id, card).await;
    }
    let text = match &app.db {
        // The database file, its write-ahead log and shared memory, as they are on disk.
        TestDb::Sqlite(path) => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(path.parent().unwrap()).unwrap() {
                bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        // PostgreSQL's files belong to the server (another user, every database): read every row
        // of every table instead, as text.
        TestDb::Postgres(db) => {
            let client = db.connect().await;
            let tables = client
                .query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", &[])
                .await
                .unwrap();
            let mut text = String::new();
            for table in tables {
                let name: String = table.get(0);
                let sql = format!("SELECT COALESCE(string_agg(t::text, ' '), '') FROM \"{name}\" t");
                text.push_str(&client.query_one(&sql, &[]).await.unwrap().get::<_, String>(0));
            }
            text
        }
    };
    assert!(text.contains("4242"), "the last four digits are kept");
    for card in cards {
        assert!(!text.contains(card), "{card} found in the database files");
    }
}

#[tokio::test]
async fn without_a_success_url_kassa_confirms_itself_and_closed_sessions_refuse() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let s = app.session(json!({"line_items": [{"price": price, "quantity": 1}]})).await;
    let id = s["id"].as_str().unwrap();
    let r = pay_card(&app, id, "4242424242424242").await;
    assert_eq!(location(&r), format!("{}/pay/{id}", app.base));
    assert!(get_page(&app, &format!("/pay/{id}")).await.text.contains("data-testid=\"session-complete\""));
    // An expired session takes no payment.
    let s = app.session(json!({"line_items": [{"price": price, "quantity": 1}]})).await;
    let id = s["id"].as_str().unwrap();
    app.post(&format!("/checkout/session/{id}/expire"), &[]).await.ok();
    let r = pay_card(&app, id, "4242424242424242").await;
    assert_eq!(location(&r), format!("/pay/{id}"));
    assert_eq!(session(&app, id).await["payment_intent"], Value::Null);
    // Another site cannot post the form.
    let s = app.session(json!({"line_items": [{"price": price, "quantity": 1}]})).await;
    let id = s["id"].as_str().unwrap();
    let req = browser()
        .post(app.url(&format!("/pay/{id}")))
        .header("origin", "https://evil.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("email", "a@b.test"),
            ("card_number", "4242424242424242"),
            ("card_expiry", "12/34"),
            ("card_cvc", "123"),
        ]));
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(session(&app, id).await["status"], "open");
}

/// The test network, except that it does not answer at once: every charge is waited for, as on a
/// network kassa reaches over the wire.
struct Waited;

#[async_trait::async_trait]
impl kassa_core::payment::PaymentProcessor for Waited {
    fn name(&self) -> &'static str {
        "waited"
    }

    async fn pay_card(
        &self,
        card: &kassa_core::payment::ValidCard,
        amount: i64,
        currency: kassa_core::money::Currency,
    ) -> kassa_core::payment::CardAttempt {
        tokio::task::yield_now().await;
        kassa_core::payment::TestNetwork.pay_card(card, amount, currency).await
    }

    fn resolve_challenge(
        &self,
        challenge: &kassa_core::payment::Challenge,
        passed: bool,
    ) -> kassa_core::payment::CardAttempt {
        kassa_core::payment::TestNetwork.resolve_challenge(challenge, passed)
    }

    fn saved_behaviour(&self, card: &kassa_core::payment::ValidCard) -> kassa_core::payment::SavedBehaviour {
        kassa_core::payment::TestNetwork.saved_behaviour(card)
    }

    async fn charge_saved(
        &self,
        behaviour: &kassa_core::payment::SavedBehaviour,
        amount: i64,
        currency: kassa_core::money::Currency,
    ) -> Result<(), kassa_core::payment::Decline> {
        kassa_core::payment::TestNetwork.charge_saved(behaviour, amount, currency).await
    }
}

/// A processor that must be waited for pays in three steps (claim, charge, record) where the test
/// network pays in one transaction; both end the same: a paid card completes the session with its
/// payment, a declined one leaves it open with the failed attempt, and a paid one after that
/// completes it on the same payment intent.
#[tokio::test]
async fn a_processor_that_must_be_waited_for_claims_then_records() {
    use kassa::service::page::Outcome;
    use kassa::service::pay::{PayForm, pay};

    let app = TestApp::spawn().await;
    let base = app.ctx();
    let mut ctx = kassa::state::Ctx::new(
        base.store.clone(),
        base.clock.clone(),
        &base.public_url,
        base.webhooks.clone(),
    );
    ctx.processor = std::sync::Arc::new(Waited);
    ctx.fingerprint_key = base.fingerprint_key.clone();
    let form = |number: &str| PayForm {
        email: "buyer@example.test".to_owned(),
        name: "Bo Buyer".to_owned(),
        payment_method: "card".to_owned(),
        card: kassa_core::payment::validate_card(number, "12/34", "123", app.clock_now()),
        page: Vec::new(),
        languages: None,
        card_blank: false,
    };

    let id = payment_session(&app, 1500, &["card"]).await;
    let refused = pay(&ctx, &id, form("4000000000000002")).await.unwrap();
    assert!(
        matches!(&refused, Outcome::Refused { message, .. } if message == "Your card was declined."),
        "{refused:?}"
    );
    let s = session(&app, &id).await;
    assert_eq!((s["status"].as_str(), s["payment_status"].as_str()), (Some("open"), Some("unpaid")));

    let paid = pay(&ctx, &id, form("4242424242424242")).await.unwrap();
    let Outcome::Completed { redirect } = paid else { panic!("{paid:?}") };
    assert_eq!(redirect, format!("https://shop.test/thanks?session={id}"));
    let s = session(&app, &id).await;
    assert_eq!((s["status"].as_str(), s["payment_status"].as_str()), (Some("complete"), Some("paid")));
    assert_eq!(s["payment_intent"]["status"], "succeeded");
    assert_eq!(s["payment_intent"]["amount"], 3000);
    assert_eq!(app.count("/payment_intents").await, 1, "the declined attempt's intent is the one paid");
    let types = app.event_types().await;
    for t in ["payment_intent.payment_failed", "payment_intent.succeeded", "checkout.session.completed"] {
        assert_eq!(types.iter().filter(|k| *k == t).count(), 1, "{t}: {types:?}");
    }
}
