//! Charges, refunds, invoice numbers and the hosted invoice page (issue 17 §3): every payment
//! attempt writes a charge that its payment intent names; refunds give back part or all of it, any
//! number of times, never more than was captured — also when twenty arrive at once (run this
//! suite with `KASSA_TEST_DATABASE=postgres` for PostgreSQL's row locks); a cash-balance payment
//! refunds to the balance; invoices are numbered in sequence and open on a page that pays them,
//! with a PDF of the same.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::billing::{advance, clock_and_customer, invoices, subscribe, ts};
use crate::common::id;
use crate::helpers::TestApp;
use crate::pay::{pay_card, payment_session};

/// A one-time checkout of 2 × `unit` paid with 4242: its payment intent, as the API shows it.
async fn paid_intent(app: &TestApp, unit: i64) -> Value {
    let sid = payment_session(app, unit, &["card"]).await;
    let r = pay_card(app, &sid, "4242424242424242").await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let s = app.get(&format!("/checkout/session/{sid}?expand[]=payment_intent")).await;
    s.ok()["payment_intent"].clone()
}

async fn charge(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/charges/{id}")).await.ok().clone()
}

#[tokio::test]
async fn a_paid_checkout_has_a_charge_that_its_payment_intent_names() {
    let app = TestApp::spawn().await;
    let pi = paid_intent(&app, 1500).await;
    let ch = pi["latest_charge"].as_str().expect("latest_charge").to_owned();
    assert!(ch.starts_with("ch_"));
    let c = charge(&app, &ch).await;
    assert_eq!(c["object"], "charge");
    assert_eq!(
        (&c["amount"], &c["amount_captured"], &c["amount_refunded"]),
        (&json!(3000), &json!(3000), &json!(0))
    );
    assert_eq!(
        (&c["status"], &c["paid"], &c["captured"], &c["refunded"]),
        (&json!("succeeded"), &json!(true), &json!(true), &json!(false))
    );
    assert_eq!(c["payment_intent"], pi["id"]);
    assert_eq!(c["customer"], pi["customer"]);
    assert_eq!(c["payment_method"], pi["payment_method"]);
    assert_eq!(c["payment_method_details"]["card"]["last4"], "4242");
    assert_eq!(c["outcome"]["type"], "authorized");
    assert_eq!(c["balance_transaction"], Value::Null);

    // Expandable from the intent; listed with the intent's and the customer's filters.
    let x = app.get(&format!("/payment_intents/{}?expand[]=latest_charge", id(&pi))).await;
    assert_eq!(x.ok()["latest_charge"]["id"], ch.as_str());
    let listed = app.list_ids(&format!("/charges?payment_intent={}", id(&pi))).await;
    assert_eq!(listed, vec![ch.clone()]);
    let by_customer = app.list_ids(&format!("/charges?customer={}", pi["customer"].as_str().unwrap())).await;
    assert_eq!(by_customer, vec![ch.clone()]);
    assert!(app.list_ids("/charges?customer=cus_nobody").await.is_empty());
    assert_eq!(app.get("/v1/charges").await.ok()["data"][0]["id"], ch.as_str());
    let e = app.get("/charges/ch_nope").await;
    assert_eq!(e.error(404)["code"], "resource_missing");

    let types = app.event_types().await;
    assert!(types.contains(&"charge.succeeded".to_owned()), "{types:?}");
}

#[tokio::test]
async fn a_declined_card_writes_a_failed_charge() {
    let app = TestApp::spawn().await;
    let sid = payment_session(&app, 1000, &["card"]).await;
    pay_card(&app, &sid, "4000000000000002").await;
    let s = app.get(&format!("/checkout/session/{sid}?expand[]=payment_intent.latest_charge")).await;
    let c = &s.ok()["payment_intent"]["latest_charge"];
    assert_eq!((&c["status"], &c["paid"], &c["captured"]), (&json!("failed"), &json!(false), &json!(false)));
    assert_eq!(c["failure_code"], "card_declined");
    assert!(c["failure_message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(c["amount_captured"], 0);
    let r = app.post("/refunds", &[("charge", c["id"].as_str().unwrap())]).await;
    r.invalid("charge");
    assert!(app.event_types().await.contains(&"charge.failed".to_owned()));

    // Then paid: a second charge, the intent's latest.
    pay_card(&app, &sid, "4242424242424242").await;
    let pi =
        app.get(&format!("/checkout/session/{sid}?expand[]=payment_intent")).await.ok()["payment_intent"]
            .clone();
    assert_ne!(pi["latest_charge"], c["id"]);
    assert_eq!(app.list_ids(&format!("/charges?payment_intent={}", id(&pi))).await.len(), 2);
}

#[tokio::test]
async fn partial_refunds_up_to_the_charge_and_not_a_cent_more() {
    let app = TestApp::spawn().await;
    let pi = paid_intent(&app, 500).await; // 1000 cents
    let ch = pi["latest_charge"].as_str().unwrap().to_owned();

    let r = app
        .post(
            "/v1/refunds",
            &[
                ("payment_intent", pi["id"].as_str().unwrap()),
                ("amount", "300"),
                ("reason", "requested_by_customer"),
                ("metadata[ticket]", "T-1"),
            ],
        )
        .await;
    let first = r.ok().clone();
    assert_eq!(r.status.as_u16(), 200, "/v1 answers 200");
    assert!(first["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(
        (&first["object"], &first["amount"], &first["status"]),
        (&json!("refund"), &json!(300), &json!("succeeded"))
    );
    assert_eq!((&first["charge"], &first["payment_intent"]), (&json!(ch), &pi["id"]));
    assert_eq!(
        (&first["reason"], &first["metadata"]["ticket"]),
        (&json!("requested_by_customer"), &json!("T-1"))
    );

    let second = app.post("/refunds", &[("charge", &ch), ("amount", "450")]).await;
    assert_eq!(second.status.as_u16(), 201, "{}", second.text);
    let c = charge(&app, &ch).await;
    assert_eq!((&c["amount_refunded"], &c["refunded"]), (&json!(750), &json!(false)));
    assert_eq!(c["refunds"]["total_count"], 2);

    // More than what is left: a precise 400 on `amount`, and nothing changes.
    let over = app.post("/refunds", &[("charge", &ch), ("amount", "251")]).await;
    let e = over.invalid("amount");
    assert_eq!(e["message"], "Refund amount ($2.51) is greater than unrefunded amount on charge ($2.50)");
    assert_eq!(charge(&app, &ch).await["amount_refunded"], 750);
    assert_eq!(app.list_ids(&format!("/refunds?charge={ch}")).await.len(), 2);

    // The rest, by default; then nothing is left.
    let rest = app.post("/refunds", &[("charge", &ch)]).await;
    assert_eq!(rest.ok()["amount"], 250);
    let c = charge(&app, &ch).await;
    assert_eq!((&c["amount_refunded"], &c["refunded"]), (&json!(1000), &json!(true)));
    let again = app.post("/refunds", &[("charge", &ch), ("amount", "1")]).await;
    let e = again.error(400);
    assert_eq!(
        (&e["type"], &e["code"]),
        (&json!("invalid_request_error"), &json!("charge_already_refunded"))
    );
    assert_eq!(charge(&app, &ch).await["amount_refunded"], 1000);

    // Retrieve, list (by charge, by intent, newest first), update metadata.
    let rid = id(&first);
    assert_eq!(app.get(&format!("/refunds/{rid}")).await.ok()["amount"], 300);
    let by_pi = app.list_ids(&format!("/refunds?payment_intent={}", pi["id"].as_str().unwrap())).await;
    assert_eq!(by_pi.len(), 3);
    assert_eq!(by_pi[2], rid, "newest first");
    let u = app.post(&format!("/refunds/{rid}"), &[("metadata[ticket]", "T-2")]).await;
    assert_eq!(u.ok()["metadata"]["ticket"], "T-2");
    assert_eq!(app.get(&format!("/refunds/{rid}?expand[]=charge")).await.ok()["charge"]["id"], ch.as_str());

    let types = app.event_types().await;
    for t in ["refund.created", "charge.refunded"] {
        assert!(types.contains(&t.to_owned()), "{t} in {types:?}");
    }
}

#[tokio::test]
async fn refund_requests_that_are_wrong_change_nothing() {
    let app = TestApp::spawn().await;
    let pi = paid_intent(&app, 500).await;
    let ch = pi["latest_charge"].as_str().unwrap().to_owned();
    app.post("/refunds", &[]).await.invalid("charge");
    app.post("/refunds", &[("charge", &ch), ("payment_intent", pi["id"].as_str().unwrap())]).await.error(400);
    app.post("/refunds", &[("charge", &ch), ("amount", "0")]).await.invalid("amount");
    app.post("/refunds", &[("charge", &ch), ("amount", "-5")]).await.invalid("amount");
    app.post("/refunds", &[("charge", &ch), ("amount", "abc")]).await.invalid("amount");
    app.post("/refunds", &[("charge", &ch), ("reason", "bored")]).await.invalid("reason");
    app.post("/refunds", &[("charge", "ch_nope")]).await.invalid("charge");
    app.post("/refunds", &[("payment_intent", "pi_nope")]).await.invalid("payment_intent");
    app.post("/refunds", &[("charge", &ch), ("amount", "1001")]).await.invalid("amount");
    app.get("/refunds/re_nope").await.error(404);
    assert_eq!(charge(&app, &ch).await["amount_refunded"], 0);
    assert!(app.list_ids("/refunds").await.is_empty());
}

#[tokio::test]
async fn twenty_concurrent_refunds_of_the_last_cents_never_refund_more_than_the_charge() {
    let app = TestApp::spawn().await;
    let pi = paid_intent(&app, 500).await; // 1000 cents
    let ch = pi["latest_charge"].as_str().unwrap().to_owned();
    app.post("/refunds", &[("charge", &ch), ("amount", "990")]).await.ok();
    // 10 cents left; twenty ask for 3 each at once: three can succeed, no more.
    let form = [("charge", ch.as_str()), ("amount", "3")];
    let attempts = (0..20).map(|_| app.post("/refunds", &form));
    let answers = futures_util::future::join_all(attempts).await;
    let ok = answers.iter().filter(|r| r.status.is_success()).count();
    for r in answers.iter().filter(|r| !r.status.is_success()) {
        let e = r.invalid("amount");
        assert!(e["message"].as_str().unwrap().starts_with("Refund amount ($0.03) is greater"), "{}", r.text);
    }
    assert_eq!(ok, 3);
    let c = charge(&app, &ch).await;
    assert_eq!(c["amount_refunded"], 999);
    let refunds = app.get(&format!("/refunds?charge={ch}&limit=100")).await;
    let total: i64 =
        refunds.ok()["data"].as_array().unwrap().iter().map(|r| r["amount"].as_i64().unwrap()).sum();
    assert_eq!(total, 999, "what the refunds add up to is what the charge says");

    // The last cent, twenty times at once: exactly one gets it.
    let form = [("charge", ch.as_str()), ("amount", "1")];
    let attempts = (0..20).map(|_| app.post("/refunds", &form));
    let answers = futures_util::future::join_all(attempts).await;
    assert_eq!(answers.iter().filter(|r| r.status.is_success()).count(), 1);
    let c = charge(&app, &ch).await;
    assert_eq!((&c["amount_refunded"], &c["refunded"]), (&json!(1000), &json!(true)));
}

#[tokio::test]
async fn a_customer_balance_payment_refunds_to_the_cash_balance() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let cus = id(app.post("/customers", &[("email", "cash@example.test")]).await.ok());
    app.post(
        &format!("/test_helpers/customers/{cus}/fund_cash_balance"),
        &[("amount", "5000"), ("currency", "usd")],
    )
    .await
    .ok();
    let s = app
        .session(json!({"line_items": [{"price": price, "quantity": 1}], "customer": cus, "payment_method_types": ["customer_balance"], "success_url": "https://shop.test/ok"}))
        .await;
    let sid = s["id"].as_str().unwrap();
    crate::pay::post(&app, &format!("/pay/{sid}"), &[("payment_method", "customer_balance")]).await;
    let balance = |c: &Value| c["cash_balance"]["available"]["usd"].clone();
    assert_eq!(balance(app.get(&format!("/customers/{cus}")).await.ok()), 4000);
    let s = app.get(&format!("/checkout/session/{sid}?expand[]=payment_intent.latest_charge")).await;
    let c = s.ok()["payment_intent"]["latest_charge"].clone();
    assert_eq!(c["payment_method_details"]["type"], "customer_balance");

    let r = app.post("/refunds", &[("charge", c["id"].as_str().unwrap()), ("amount", "600")]).await;
    assert_eq!(r.ok()["destination_details"]["type"], "customer_cash_balance");
    assert_eq!(balance(app.get(&format!("/customers/{cus}")).await.ok()), 4600);
    app.post("/refunds", &[("charge", c["id"].as_str().unwrap()), ("amount", "401")]).await.invalid("amount");
    assert_eq!(balance(app.get(&format!("/customers/{cus}")).await.ok()), 4600);
}

#[tokio::test]
async fn a_manual_capture_charges_what_was_captured() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let s = app
        .session(json!({"line_items": [{"price": price, "quantity": 1}], "payment_intent_data": {"capture_method": "manual"}, "success_url": "https://shop.test/ok"}))
        .await;
    let sid = s["id"].as_str().unwrap();
    pay_card(&app, sid, "4242424242424242").await;
    let pi = app.get(&format!("/checkout/session/{sid}?expand[]=payment_intent.latest_charge")).await.ok()["payment_intent"].clone();
    let c = &pi["latest_charge"];
    assert_eq!(
        (&c["status"], &c["captured"], &c["amount_captured"]),
        (&json!("succeeded"), &json!(false), &json!(0))
    );
    app.post("/refunds", &[("charge", c["id"].as_str().unwrap())]).await.invalid("charge");
    app.post(&format!("/payment_intents/{}/capture", id(&pi)), &[("amount_to_capture", "700")]).await.ok();
    let c = charge(&app, c["id"].as_str().unwrap()).await;
    assert_eq!((&c["captured"], &c["amount_captured"]), (&json!(true), &json!(700)));
    app.post("/refunds", &[("charge", c["id"].as_str().unwrap()), ("amount", "701")]).await.invalid("amount");
    assert_eq!(app.post("/refunds", &[("charge", c["id"].as_str().unwrap())]).await.ok()["amount"], 700);
}

/// The page's path (`/i/…`) of an invoice's `hosted_invoice_url`.
fn page_path(app: &TestApp, inv: &Value) -> String {
    let url = inv["hosted_invoice_url"].as_str().expect("hosted_invoice_url");
    url.strip_prefix(&app.base).expect("under the public URL").to_owned()
}

#[tokio::test]
async fn invoices_are_numbered_in_sequence_and_renewals_charge() {
    let app = TestApp::spawn().await;
    let (clock, cus) = clock_and_customer(&app, ts(2027, 1, 1)).await;
    let sub = subscribe(&app, Some(&cus), 1000, "month", "4242424242424242", json!({})).await;
    advance(&app, &clock, ts(2027, 3, 1) + 60).await;
    let all = invoices(&app, &id(&sub)).await;
    assert_eq!(all.len(), 3);
    let numbers: Vec<&str> = all.iter().map(|i| i["number"].as_str().expect("a number")).collect();
    let prefix = numbers[0].split('-').next().unwrap();
    assert_eq!(prefix.len(), 8);
    assert!(prefix.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{prefix}");
    assert_eq!(numbers, [format!("{prefix}-0001"), format!("{prefix}-0002"), format!("{prefix}-0003")]);
    // Another subscription of the account goes on with the same sequence.
    let other = subscribe(&app, None, 500, "month", "4242424242424242", json!({})).await;
    let inv = app.get(&format!("/invoices/{}", other["latest_invoice"].as_str().unwrap())).await;
    assert_eq!(inv.ok()["number"], format!("{prefix}-0004"));
    // Renewals wrote charges: one per paid invoice.
    for i in &all {
        let pi = app.get(&format!("/payment_intents/{}", i["payment_intent"].as_str().unwrap())).await;
        assert!(pi.ok()["latest_charge"].as_str().is_some_and(|c| c.starts_with("ch_")), "{}", pi.text);
    }
    // The events carry it too (the checkout's invoice.paid included).
    let paid = app.get("/events?type=invoice.paid&limit=100").await;
    assert!(
        paid.ok()["data"].as_array().unwrap().iter().all(|e| e["data"]["object"]["number"].is_string()),
        "{}",
        paid.text
    );
    // Finalizing an invoice that is no draft is refused.
    let e = app.post(&format!("/invoices/{}/finalize", id(&all[0])), &[]).await;
    e.error(400);
    app.post("/invoices/in_nope/finalize", &[]).await.error(404);
}

#[tokio::test]
async fn the_hosted_invoice_page_shows_the_invoice_and_pays_it() {
    let app = TestApp::spawn().await;
    let (clock, cus) = clock_and_customer(&app, ts(2027, 1, 1)).await;
    let sub = subscribe(&app, Some(&cus), 1250, "month", "4000000000000341", json!({})).await;
    advance(&app, &clock, ts(2027, 2, 1) + 60).await;
    let all = invoices(&app, &id(&sub)).await;
    let open = all[1].clone();
    assert_eq!(open["status"], "open");
    let path = page_path(&app, &open);
    assert!(path.starts_with(&format!("/i/{}/", id(&open))));
    let token = path.rsplit('/').next().unwrap();
    assert!(token.len() >= 22, "≥ 128 random bits");
    assert_eq!(
        open["invoice_pdf"].as_str().unwrap(),
        format!("{}/pdf", open["hosted_invoice_url"].as_str().unwrap())
    );

    let page = crate::pay::get_page(&app, &path).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
    for want in [
        format!("data-testid=\"invoice-number\">{}<", open["number"].as_str().unwrap()),
        "data-testid=\"invoice-total\">$12.50<".to_owned(),
        "data-testid=\"invoice-status\">open<".to_owned(),
        "data-testid=\"invoice-pay-button\"".to_owned(),
        "data-testid=\"card-number-input\"".to_owned(),
        "data-testid=\"submit-button\"".to_owned(),
    ] {
        assert!(page.text.contains(&want), "{want} in {}", page.text);
    }
    // A wrong token, a wrong id: the same 404 page.
    let wrong = format!("/i/{}/{}", id(&open), "x".repeat(token.len()));
    assert_eq!(crate::pay::get_page(&app, &wrong).await.status.as_u16(), 404);
    assert_eq!(crate::pay::get_page(&app, &format!("/i/in_nope/{token}")).await.status.as_u16(), 404);

    // The PDF.
    let pdf = crate::pay::get_page(&app, &format!("{path}/pdf")).await;
    assert_eq!(pdf.status.as_u16(), 200);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.text.starts_with("%PDF-"), "{}", &pdf.text[..20.min(pdf.text.len())]);
    assert!(pdf.text.contains(open["number"].as_str().unwrap()));

    // A declined card: refused, still open; from another site: 403, nothing changed.
    let card = |n: &'static str| vec![("card_number", n), ("card_expiry", "12/34"), ("card_cvc", "123")];
    let r = crate::pay::post(&app, &format!("{path}/pay"), &card("4000000000000002")).await;
    assert_eq!(r.status.as_u16(), 402);
    assert!(r.text.contains("data-testid=\"payment-error\">Your card was declined"), "{}", r.text);
    let foreign = app
        .send(
            app.client
                .post(app.url(&format!("{path}/pay")))
                .header("origin", "https://evil.test")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(crate::helpers::encode(&card("4242424242424242"))),
        )
        .await;
    assert_eq!(foreign.status.as_u16(), 403);
    assert_eq!(app.get(&format!("/invoices/{}", id(&open))).await.ok()["status"], "open");

    // 4242 pays it: paid, the subscription active again, a charge on its intent.
    let r = crate::pay::post(&app, &format!("{path}/pay"), &card("4242424242424242")).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let inv = app.get(&format!("/invoices/{}?expand[]=payment_intent.latest_charge", id(&open))).await;
    assert_eq!((&inv.ok()["status"], &inv.body["amount_paid"]), (&json!("paid"), &json!(1250)));
    assert_eq!(inv.body["payment_intent"]["latest_charge"]["status"], "succeeded");
    assert_eq!(app.get(&format!("/subscriptions/{}", id(&sub))).await.ok()["status"], "active");
    let page = crate::pay::get_page(&app, &path).await;
    assert!(page.text.contains("data-testid=\"invoice-status\">paid<"));
    assert!(!page.text.contains("data-testid=\"submit-button\""));
    let again = crate::pay::post(&app, &format!("{path}/pay"), &card("4242424242424242")).await;
    assert_eq!(again.status.as_u16(), 402, "nothing is due");
}
