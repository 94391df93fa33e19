//! Checkout parity, the API side: the session parameters real integrations send —
//! `price_data`, `customer_email`/`customer_creation`, `payment_intent_data` and manual capture,
//! `subscription_data`'s extras, updating a session — each read back where Stripe puts it, and
//! each refusal a 400 naming its bracketed parameter with nothing half-written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::helpers::{TestApp, merged};
use crate::pay::pay_card;
use crate::sessions_support::{create, rejects};

const OK_URL: &str = "https://shop.test/ok";
const CARD: &str = "4242424242424242";

/// A `price_data` line: `amount` in `currency` for an inline product named `name`.
fn inline_line(name: &str, amount: i64, currency: &str, quantity: i64) -> Value {
    json!({
        "price_data": {"currency": currency, "unit_amount": amount, "product_data": {"name": name}},
        "quantity": quantity,
    })
}

fn body(lines: Vec<Value>) -> Value {
    json!({"line_items": lines, "success_url": OK_URL})
}

// ---------------------------------------------------------------------------------------------
// line_items[][price_data]

#[tokio::test]
async fn price_data_creates_an_inline_price_and_product() {
    let app = TestApp::spawn().await;
    let s = app
        .session(json!({
            "line_items": [{
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 2400,
                    "tax_behavior": "exclusive",
                    "product_data": {
                        "name": "Lamp",
                        "description": "A warm light",
                        "images": ["https://shop.test/lamp.png"],
                        "metadata": {"sku": "L-1"},
                        "tax_code": "txcd_99999999",
                    },
                },
                "quantity": 2,
                "metadata": {"line": "first"},
            }],
            "success_url": OK_URL,
            "expand": ["line_items.data.price.product"],
        }))
        .await;
    assert_eq!((s["amount_total"].as_i64(), s["currency"].as_str()), (Some(4800), Some("eur")));
    let li = &s["line_items"]["data"][0];
    assert_eq!(li["description"], "Lamp");
    assert_eq!(li["metadata"], json!({"line": "first"}));
    let price = &li["price"];
    assert!(price["id"].as_str().unwrap().starts_with("price_"));
    assert_eq!(price["active"], false, "inline prices are not catalog prices: {price}");
    assert_eq!(
        (price["unit_amount"].as_i64(), price["tax_behavior"].as_str()),
        (Some(2400), Some("exclusive"))
    );
    let product = &price["product"];
    assert_eq!(product["name"], "Lamp");
    assert_eq!(product["description"], "A warm light");
    assert_eq!(product["images"], json!(["https://shop.test/lamp.png"]));
    assert_eq!(product["metadata"], json!({"sku": "L-1"}));
    assert_eq!(product["tax_code"], "txcd_99999999");
    assert_eq!(product["active"], false);
    // Both exist as objects of their own, retrievable; the line items list reads back the same.
    let got = app.get(&format!("/prices/{}", price["id"].as_str().unwrap())).await;
    assert_eq!(got.ok()["unit_amount"], 2400);
    let got = app.get(&format!("/products/{}", product["id"].as_str().unwrap())).await;
    assert_eq!(got.ok()["name"], "Lamp");
    let items = app.get(&format!("/checkout/session/{}/line_items", s["id"].as_str().unwrap())).await;
    assert_eq!(items.ok()["data"][0]["metadata"]["line"], "first");
    // Not listed among active catalog prices.
    assert_eq!(app.get("/prices?active=true").await.ok()["data"].as_array().unwrap().len(), 0);
}

/// Stripe's price list excludes inline prices, whatever the filter: they are reached by id only.
/// Their products are ordinary (archived) products and are listed.
#[tokio::test]
async fn inline_prices_are_retrievable_and_never_listed() {
    let app = TestApp::spawn().await;
    let product = app.product("Poster").await;
    let catalog = app.price_for(&product, 900, "usd", None).await;
    let archived = app.price_for(&product, 800, "usd", None).await;
    assert_eq!(app.post(&format!("/prices/{archived}"), &[("active", "false")]).await.ok()["active"], false);
    let s = app
        .session(json!({
            "line_items": [
                {"price_data": {"currency": "usd", "unit_amount": 700, "product": product}, "quantity": 1},
                inline_line("Mug", 500, "usd", 1),
            ],
            "success_url": OK_URL,
        }))
        .await;
    let items =
        app.get(&format!("/checkout/session/{}/line_items", s["id"].as_str().unwrap())).await.ok().clone();
    let inline: Vec<String> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["price"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(inline.len(), 2);
    let ids = |list: &Value| -> Vec<String> {
        list["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
    };
    let both = vec![archived.clone(), catalog];
    for query in ["", "?active=false", "?currency=usd", "?type=one_time", "?limit=100"] {
        let listed = ids(app.get(&format!("/prices{query}")).await.ok());
        assert!(inline.iter().all(|i| !listed.contains(i)), "{query}: {listed:?}");
    }
    assert_eq!(ids(app.get(&format!("/prices?product={product}")).await.ok()), both);
    assert_eq!(ids(app.get("/v1/prices?active=false").await.ok()), [archived]);
    for id in &inline {
        let got = app.get(&format!("/v1/prices/{id}")).await.ok().clone();
        assert_eq!((got["id"].as_str(), got["active"].as_bool()), (Some(id.as_str()), Some(false)));
    }
    // The product made by `product_data` is an ordinary, archived product.
    let mug = app.get(&format!("/v1/prices/{}?expand[]=product", inline[1])).await.ok().clone();
    let products = ids(app.get("/v1/products?active=false").await.ok());
    assert_eq!(products, [mug["product"]["id"].as_str().unwrap().to_owned()]);
}

#[tokio::test]
async fn price_data_for_an_existing_product_by_form_under_v1() {
    let app = TestApp::spawn().await;
    let product = app.product("Poster").await;
    let r = app
        .post(
            "/v1/checkout/sessions",
            &[
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][product]", &product),
                ("line_items[0][price_data][unit_amount_decimal]", "1250.00"),
                ("line_items[0][quantity]", "3"),
                ("line_items[0][metadata][k]", "v"),
                ("mode", "payment"),
                ("success_url", OK_URL),
                ("expand[0]", "line_items"),
            ],
        )
        .await;
    let s = r.ok();
    assert_eq!(s["amount_total"], 3750);
    let li = &s["line_items"]["data"][0];
    assert_eq!(
        (li["description"].as_str(), li["price"]["product"].as_str()),
        (Some("Poster"), Some(product.as_str()))
    );
    assert_eq!(li["price"]["unit_amount_decimal"], "1250");
    assert_eq!(li["metadata"]["k"], "v");
}

#[tokio::test]
async fn recurring_price_data_makes_a_subscription_that_can_be_paid() {
    let app = TestApp::spawn().await;
    let s = app
        .session(json!({
            "line_items": [{
                "price_data": {"currency": "usd", "unit_amount": 900, "recurring": {"interval": "month", "interval_count": 3}, "product_data": {"name": "Quarterly"}},
                "quantity": 1,
            }, inline_line("Setup fee", 500, "usd", 1)],
            "success_url": OK_URL,
            "expand": ["line_items"],
        }))
        .await;
    assert_eq!(s["mode"], "subscription");
    assert_eq!(s["amount_total"], 1400);
    let recurring = &s["line_items"]["data"][0]["price"]["recurring"];
    assert_eq!(
        (recurring["interval"].as_str(), recurring["interval_count"].as_i64()),
        (Some("month"), Some(3))
    );
    let sub = app.paid_subscription(s["id"].as_str().unwrap(), CARD).await;
    assert_eq!(sub["status"], "active", "{sub}");
    assert_eq!(sub["items"]["data"][0]["price"]["unit_amount"], 900);
    // Shapes as Stripe's document has them: `rendering_options` on the invoice, no
    // `invoice_item: null` on its subscription lines, no `account: null` on events.
    let invoice = app.get(&format!("/invoices/{}", sub["latest_invoice"].as_str().unwrap())).await;
    let invoice = invoice.ok();
    assert!(invoice.as_object().unwrap().contains_key("rendering_options"), "{invoice}");
    assert_eq!(invoice["rendering_options"], Value::Null);
    for line in invoice["lines"]["data"].as_array().unwrap() {
        assert!(!line.as_object().unwrap().contains_key("invoice_item"), "{line}");
    }
    let events = app.get("/events?limit=100").await;
    for e in events.ok()["data"].as_array().unwrap() {
        assert!(!e.as_object().unwrap().contains_key("account"), "{e}");
    }
    let pm = app.get(&format!("/payment_methods/{}", sub["default_payment_method"].as_str().unwrap())).await;
    assert_eq!(pm.ok()["card"]["last4"], "4242");
}

#[tokio::test]
async fn price_data_refusals_name_their_parameter_and_write_nothing() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let (products, prices) = (app.count("/products").await, app.count("/prices").await);
    let pd = |extra: Value| {
        let mut d = json!({"currency": "usd", "unit_amount": 100, "product_data": {"name": "X"}});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                d.as_object_mut().unwrap().remove(k);
            } else {
                d[k] = v.clone();
            }
        }
        body(vec![inline_line("Fine", 100, "usd", 1), json!({"price_data": d, "quantity": 1})])
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (pd(json!({"product_data": null})), "line_items[1][price_data][product_data]", "parameter_missing"),
        (pd(json!({"product": "prod_x"})), "line_items[1][price_data][product_data]", "parameters_exclusive"),
        (
            pd(json!({"product": "prod_nope", "product_data": null})),
            "line_items[1][price_data][product]",
            "resource_missing",
        ),
        (
            pd(json!({"unit_amount_decimal": "100"})),
            "line_items[1][price_data][unit_amount_decimal]",
            "parameters_exclusive",
        ),
        (pd(json!({"unit_amount": null})), "line_items[1][price_data][unit_amount]", "parameter_missing"),
        (
            pd(json!({"unit_amount": null, "unit_amount_decimal": "100.5"})),
            "line_items[1][price_data][unit_amount_decimal]",
            "parameter_invalid",
        ),
        (pd(json!({"unit_amount": -1})), "line_items[1][price_data][unit_amount]", "parameter_invalid"),
        (pd(json!({"currency": null})), "line_items[1][price_data][currency]", "parameter_missing"),
        (pd(json!({"currency": "zzz"})), "line_items[1][price_data][currency]", "parameter_invalid"),
        (
            pd(json!({"tax_behavior": "sometimes"})),
            "line_items[1][price_data][tax_behavior]",
            "parameter_invalid",
        ),
        (
            pd(json!({"recurring": {"interval": "fortnight"}})),
            "line_items[1][price_data][recurring][interval]",
            "parameter_invalid",
        ),
        (
            pd(json!({"product_data": {"description": "no name"}})),
            "line_items[1][price_data][product_data][name]",
            "parameter_missing",
        ),
        (
            pd(json!({"product_data": {"name": "X", "images": ["ftp://x"]}})),
            "line_items[1][price_data][product_data][images][0]",
            "url_invalid",
        ),
        (
            body(vec![
                json!({"price": price, "price_data": {"currency": "usd", "unit_amount": 1, "product_data": {"name": "X"}}, "quantity": 1}),
            ]),
            "line_items[0][price_data]",
            "parameters_exclusive",
        ),
    ];
    for (b, param, code) in cases {
        rejects(&app, b, param, code).await;
    }
    // A currency that differs from the other lines', and a recurring price in payment mode.
    let e = rejects(
        &app,
        pd(json!({"currency": "eur"})),
        "line_items[1][price_data][currency]",
        "parameter_invalid",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("currenc"), "{e}");
    rejects(
        &app,
        merged(pd(json!({"recurring": {"interval": "month"}})), json!({"mode": "payment"})),
        "line_items[1][price_data][recurring]",
        "parameter_invalid",
    )
    .await;
    // A line that passes every rule but comes with a later refusal writes nothing either.
    rejects(&app, merged(pd(json!({})), json!({"success_url": "ftp://x"})), "success_url", "url_invalid")
        .await;
    assert_eq!((app.count("/products").await, app.count("/prices").await), (products, prices));
}

#[tokio::test]
async fn a_line_without_price_or_price_data_says_so() {
    let app = TestApp::spawn().await;
    let e =
        rejects(&app, body(vec![json!({"quantity": 1})]), "line_items[0][price]", "parameter_missing").await;
    assert!(e["message"].as_str().unwrap().contains("price_data"), "{e}");
    let r = create(&app, &body(vec![json!({"price_data": {"bogus": 1}, "quantity": 1})])).await;
    assert_eq!(r.error(400)["code"], "parameter_unknown", "{}", r.text);
}

// ---------------------------------------------------------------------------------------------
// customer_email, customer_creation

#[tokio::test]
async fn customer_email_is_locked_on_the_page_and_on_the_payment() {
    let app = TestApp::spawn().await;
    let s = app
        .session(merged(
            body(vec![inline_line("Mug", 900, "usd", 1)]),
            json!({"customer_email": "locked@shop.test"}),
        ))
        .await;
    let id = s["id"].as_str().unwrap();
    assert_eq!(s["customer_email"], "locked@shop.test");
    let page = app.send(reqwest::Client::new().get(app.url(&format!("/pay/{id}")))).await;
    let input = page.text.lines().find(|l| l.contains("data-testid=\"email-input\"")).unwrap();
    assert!(input.contains("value=\"locked@shop.test\"") && input.contains("readonly"), "{input}");
    // The form's e-mail (buyer@example.test) does not replace it.
    pay_card(&app, id, CARD).await;
    let s = app.get(&format!("/checkout/session/{id}?expand[]=customer")).await;
    let s = s.ok();
    assert_eq!(s["customer_details"]["email"], "locked@shop.test");
    assert_eq!(s["customer"]["email"], "locked@shop.test");
    // Exclusive with `customer`.
    let cus =
        app.post("/customers", &[("email", "c@shop.test")]).await.ok()["id"].as_str().unwrap().to_owned();
    rejects(
        &app,
        merged(
            body(vec![inline_line("Mug", 900, "usd", 1)]),
            json!({"customer": cus, "customer_email": "x@shop.test"}),
        ),
        "customer_email",
        "parameters_exclusive",
    )
    .await;
}

#[tokio::test]
async fn customer_creation_if_required_completes_as_a_guest() {
    let app = TestApp::spawn().await;
    let customers = app.count("/customers").await;
    let s = app
        .session(merged(
            body(vec![inline_line("Mug", 900, "usd", 1)]),
            json!({"customer_creation": "if_required"}),
        ))
        .await;
    assert_eq!(s["customer_creation"], "if_required");
    let id = s["id"].as_str().unwrap();
    pay_card(&app, id, CARD).await;
    let s = app.get(&format!("/checkout/session/{id}?expand[]=payment_intent")).await;
    let s = s.ok();
    assert_eq!((s["status"].as_str(), s["payment_status"].as_str()), (Some("complete"), Some("paid")));
    assert_eq!(s["customer"], Value::Null);
    assert_eq!(s["customer_details"]["email"], "buyer@example.test");
    assert_eq!(s["payment_intent"]["customer"], Value::Null);
    assert_eq!(app.count("/customers").await, customers);
    assert!(!app.event_types().await.contains(&"customer.created".to_owned()));

    // `always` (kassa's default too) creates one.
    let s = app
        .session(merged(
            body(vec![inline_line("Mug", 900, "usd", 1)]),
            json!({"customer_creation": "always"}),
        ))
        .await;
    assert_eq!(s["customer_creation"], "always");
    pay_card(&app, s["id"].as_str().unwrap(), CARD).await;
    assert_eq!(app.count("/customers").await, customers + 1);
}

#[tokio::test]
async fn customer_creation_refusals() {
    let app = TestApp::spawn().await;
    let b = |extra: Value| merged(body(vec![inline_line("Mug", 900, "usd", 1)]), extra);
    rejects(&app, b(json!({"customer_creation": "sometimes"})), "customer_creation", "parameter_invalid")
        .await;
    let plan = json!({"price_data": {"currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"}, "product_data": {"name": "Plan"}}, "quantity": 1});
    rejects(
        &app,
        merged(body(vec![plan]), json!({"customer_creation": "always"})),
        "customer_creation",
        "parameter_invalid",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// payment_intent_data, manual capture

fn with_pi_data(data: Value) -> Value {
    merged(body(vec![inline_line("Camera", 5000, "usd", 1)]), json!({"payment_intent_data": data}))
}

#[tokio::test]
async fn payment_intent_data_is_copied_to_the_payment_intent() {
    let app = TestApp::spawn().await;
    let s = app
        .session(with_pi_data(json!({
            "description": "Order 42",
            "metadata": {"order": "42"},
            "receipt_email": "receipts@shop.test",
            "statement_descriptor": "SHOP TEST",
            "statement_descriptor_suffix": "ORDER42",
            "setup_future_usage": "off_session",
        })))
        .await;
    let id = s["id"].as_str().unwrap();
    pay_card(&app, id, CARD).await;
    let s = app.get(&format!("/checkout/session/{id}?expand[]=payment_intent")).await;
    let pi = &s.ok()["payment_intent"];
    assert_eq!(pi["description"], "Order 42");
    assert_eq!(pi["metadata"], json!({"order": "42"}));
    assert_eq!(pi["receipt_email"], "receipts@shop.test");
    assert_eq!(pi["statement_descriptor"], "SHOP TEST");
    assert_eq!(pi["statement_descriptor_suffix"], "ORDER42");
    assert_eq!(pi["setup_future_usage"], "off_session");
    assert_eq!(
        (pi["status"].as_str(), pi["capture_method"].as_str()),
        (Some("succeeded"), Some("automatic"))
    );
}

#[tokio::test]
async fn manual_capture_holds_then_captures_under_v1() {
    let app = TestApp::spawn().await;
    let s = app.session(with_pi_data(json!({"capture_method": "manual"}))).await;
    let id = s["id"].as_str().unwrap();
    pay_card(&app, id, CARD).await;
    let s = app.get(&format!("/checkout/session/{id}?expand[]=payment_intent")).await;
    let s = s.ok();
    assert_eq!((s["status"].as_str(), s["payment_status"].as_str()), (Some("complete"), Some("unpaid")));
    let pi = &s["payment_intent"];
    assert_eq!(pi["status"], "requires_capture");
    assert_eq!((pi["amount_capturable"].as_i64(), pi["amount_received"].as_i64()), (Some(5000), Some(0)));
    assert_eq!(pi["capture_method"], "manual");
    let pi_id = pi["id"].as_str().unwrap();
    // More than the amount is refused and changes nothing.
    let r = app.post(&format!("/v1/payment_intents/{pi_id}/capture"), &[("amount_to_capture", "5001")]).await;
    r.invalid("amount_to_capture");
    let r = app.post(&format!("/v1/payment_intents/{pi_id}/capture"), &[("amount_to_capture", "4000")]).await;
    let pi = r.ok();
    assert_eq!(pi["status"], "succeeded");
    assert_eq!((pi["amount_received"].as_i64(), pi["amount_capturable"].as_i64()), (Some(4000), Some(0)));
    assert!(app.event_types().await.contains(&"payment_intent.succeeded".to_owned()));
    // Captured once only.
    let r = app.post(&format!("/payment_intents/{pi_id}/capture"), &[]).await;
    assert_eq!(r.error(400)["type"], "invalid_request_error");
}

#[tokio::test]
async fn a_held_payment_can_be_canceled() {
    let app = TestApp::spawn().await;
    let s = app.session(with_pi_data(json!({"capture_method": "manual"}))).await;
    let id = s["id"].as_str().unwrap();
    pay_card(&app, id, CARD).await;
    let pi =
        app.get(&format!("/checkout/session/{id}")).await.ok()["payment_intent"].as_str().unwrap().to_owned();
    let r =
        app.post(&format!("/v1/payment_intents/{pi}/cancel"), &[("cancellation_reason", "abandoned")]).await;
    let pi = r.ok();
    assert_eq!(
        (pi["status"].as_str(), pi["cancellation_reason"].as_str()),
        (Some("canceled"), Some("abandoned"))
    );
    let types = app.event_types().await;
    assert!(types.contains(&"payment_intent.canceled".to_owned()));
    assert!(!types.contains(&"checkout.session.async_payment_failed".to_owned()), "{types:?}");
}

#[tokio::test]
async fn payment_intent_data_refusals() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"capture_method": "later"}), "payment_intent_data[capture_method]"),
        (json!({"setup_future_usage": "sometimes"}), "payment_intent_data[setup_future_usage]"),
        (json!({"receipt_email": "nope"}), "payment_intent_data[receipt_email]"),
        (
            json!({"statement_descriptor": "A VERY LONG DESCRIPTOR 123"}),
            "payment_intent_data[statement_descriptor]",
        ),
        (json!({"statement_descriptor": "12345"}), "payment_intent_data[statement_descriptor]"),
        (json!({"metadata": {"k": "v".repeat(501)}}), "payment_intent_data[metadata]"),
    ];
    for (data, param) in cases {
        let r = create(&app, &with_pi_data(data)).await;
        let e = r.error(400);
        assert!(e["param"].as_str().unwrap().starts_with(param), "{}", r.text);
    }
    let plan = json!({"price_data": {"currency": "usd", "unit_amount": 500, "recurring": {"interval": "month"}, "product_data": {"name": "Plan"}}, "quantity": 1});
    rejects(
        &app,
        merged(body(vec![plan]), json!({"payment_intent_data": {"description": "x"}})),
        "payment_intent_data",
        "parameter_invalid",
    )
    .await;
    rejects(
        &app,
        merged(
            with_pi_data(json!({"capture_method": "manual"})),
            json!({"payment_method_types": ["card", "customer_balance"]}),
        ),
        "payment_intent_data[capture_method]",
        "parameter_invalid",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// POST /checkout/session/{id}

#[tokio::test]
async fn an_open_sessions_metadata_can_be_updated_not_a_closed_ones() {
    let app = TestApp::spawn().await;
    let s = app
        .session(merged(
            body(vec![inline_line("Mug", 900, "usd", 1)]),
            json!({"metadata": {"a": "1", "b": "2"}}),
        ))
        .await;
    let id = s["id"].as_str().unwrap();
    let r =
        app.post(&format!("/v1/checkout/sessions/{id}"), &[("metadata[a]", ""), ("metadata[c]", "3")]).await;
    assert_eq!(r.ok()["metadata"], json!({"b": "2", "c": "3"}));
    let r = app.post_json(&format!("/checkout/session/{id}"), &json!({"metadata": {"d": "4"}})).await;
    assert_eq!(r.ok()["metadata"], json!({"b": "2", "c": "3", "d": "4"}));
    assert_eq!(app.get(&format!("/checkout/session/{id}")).await.ok()["metadata"]["d"], "4");
    let r = app.post(&format!("/checkout/session/{id}"), &[("line_items[0][quantity]", "2")]).await;
    assert_eq!(r.error(400)["code"], "parameter_unknown");
    app.post(&format!("/checkout/session/{id}/expire"), &[]).await.ok();
    let r = app.post(&format!("/checkout/session/{id}"), &[("metadata[e]", "5")]).await;
    assert!(r.error(400)["message"].as_str().unwrap().contains("expired"), "{}", r.text);
    let r = app.post("/checkout/session/cs_test_nope", &[("metadata[e]", "5")]).await;
    assert_eq!(r.error(404)["code"], "resource_missing");
}

// ---------------------------------------------------------------------------------------------
// subscription_data: description, metadata, trial_end, billing_cycle_anchor, trial_settings

fn plan_line(amount: i64) -> Value {
    json!({
        "price_data": {"currency": "usd", "unit_amount": amount, "recurring": {"interval": "month"}, "product_data": {"name": "Plan"}},
        "quantity": 1,
    })
}

fn with_sub_data(data: Value) -> Value {
    merged(body(vec![plan_line(3000)]), json!({"subscription_data": data}))
}

#[tokio::test]
async fn subscription_data_trial_end_description_and_trial_settings() {
    let app = TestApp::spawn().await;
    let now = app.clock_now();
    let trial_end = now + 5 * 86_400;
    let s = app
        .session(with_sub_data(json!({
            "trial_end": trial_end,
            "description": "Gold plan",
            "metadata": {"tier": "gold"},
            "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
        })))
        .await;
    assert_eq!(s["amount_total"], 0, "nothing is due during the trial");
    let sub = app.paid_subscription(s["id"].as_str().unwrap(), CARD).await;
    assert_eq!(sub["status"], "trialing");
    assert_eq!(sub["trial_end"], trial_end);
    assert_eq!(sub["current_period_end"], trial_end);
    assert_eq!(sub["description"], "Gold plan");
    assert_eq!(sub["metadata"], json!({"tier": "gold"}));
    assert_eq!(sub["trial_settings"]["end_behavior"]["missing_payment_method"], "cancel");
}

#[tokio::test]
async fn billing_cycle_anchor_prorates_the_first_period() {
    let app = TestApp::spawn().await;
    let now = app.clock_now();
    let anchor = now + 10 * 86_400;
    let s = app.session(with_sub_data(json!({"billing_cycle_anchor": anchor}))).await;
    let total = s["amount_total"].as_i64().unwrap();
    assert!(total > 0 && total < 3000, "prorated to the anchor: {total}");
    let sub = app.paid_subscription(s["id"].as_str().unwrap(), CARD).await;
    assert_eq!(
        (sub["status"].as_str(), sub["billing_cycle_anchor"].as_i64()),
        (Some("active"), Some(anchor))
    );
    assert_eq!(sub["current_period_end"], anchor);
    // The next period runs a whole month from the anchor, ending on the anchor's day.
    let sub_id = sub["id"].as_str().unwrap().to_owned();
    app.advance(anchor - now + 1);
    while kassa::worker::bill_once(app.ctx()).await.unwrap() > 0 {}
    let sub = app.get(&format!("/subscriptions/{sub_id}")).await;
    let sub = sub.ok();
    assert_eq!(sub["current_period_start"], anchor, "{sub}");
    let end = sub["current_period_end"].as_i64().unwrap();
    assert!((28 * 86_400..=31 * 86_400).contains(&(end - anchor)), "{sub}");
    assert_eq!((end - anchor) % 86_400, 0, "the anchor's day and time: {sub}");
}

#[tokio::test]
async fn subscription_data_refusals() {
    let app = TestApp::spawn().await;
    let now = app.clock_now();
    let cases = [
        (json!({"trial_end": now + 47 * 3600}), "subscription_data[trial_end]", "parameter_invalid"),
        (json!({"trial_end": now + 731 * 86_400}), "subscription_data[trial_end]", "parameter_invalid"),
        (
            json!({"trial_end": now + 3 * 86_400, "trial_period_days": 7}),
            "subscription_data[trial_end]",
            "parameters_exclusive",
        ),
        (
            json!({"billing_cycle_anchor": now - 10}),
            "subscription_data[billing_cycle_anchor]",
            "parameter_invalid",
        ),
        (
            json!({"billing_cycle_anchor": now + 40 * 86_400}),
            "subscription_data[billing_cycle_anchor]",
            "parameter_invalid",
        ),
        (
            json!({"billing_cycle_anchor": now + 86_400, "trial_period_days": 7}),
            "subscription_data[billing_cycle_anchor]",
            "parameter_invalid",
        ),
        (
            json!({"trial_settings": {"end_behavior": {"missing_payment_method": "explode"}}}),
            "subscription_data[trial_settings][end_behavior][missing_payment_method]",
            "parameter_invalid",
        ),
        // Supported since the taxes landed: an unknown rate is refused by its index.
        (
            json!({"default_tax_rates": ["txr_1"]}),
            "subscription_data[default_tax_rates][0]",
            "resource_missing",
        ),
        (json!({"description": "d".repeat(501)}), "subscription_data[description]", "parameter_invalid"),
    ];
    for (data, param, code) in cases {
        rejects(&app, with_sub_data(data), param, code).await;
    }
}

// ---------------------------------------------------------------------------------------------
// mode=setup

#[tokio::test]
async fn setup_mode_saves_a_card_without_charging() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "setup"),
                ("currency", "eur"),
                ("setup_intent_data[description]", "Card on file"),
                ("setup_intent_data[metadata][k]", "v"),
                ("success_url", OK_URL),
            ],
        )
        .await;
    let s = r.ok().clone();
    assert_eq!((s["mode"].as_str(), s["amount_total"].as_i64()), (Some("setup"), Some(0)));
    assert_eq!(s["payment_status"], "no_payment_required");
    assert_eq!(s["setup_intent"], Value::Null);
    let id = s["id"].as_str().unwrap();
    let page = app.send(reqwest::Client::new().get(app.url(&format!("/pay/{id}")))).await;
    assert!(page.text.contains("Save card"), "{}", page.text);
    pay_card(&app, id, CARD).await;
    let s = app.get(&format!("/v1/checkout/sessions/{id}?expand[]=setup_intent")).await;
    let s = s.ok();
    assert_eq!(
        (s["status"].as_str(), s["payment_status"].as_str()),
        (Some("complete"), Some("no_payment_required"))
    );
    assert_eq!((s["payment_intent"].clone(), s["subscription"].clone()), (Value::Null, Value::Null));
    let si = &s["setup_intent"];
    let customer = s["customer"].as_str().unwrap();
    assert!(si["id"].as_str().unwrap().starts_with("seti_"), "{si}");
    assert_eq!((si["status"].as_str(), si["usage"].as_str()), (Some("succeeded"), Some("off_session")));
    assert_eq!((si["customer"].as_str(), si["description"].as_str()), (Some(customer), Some("Card on file")));
    assert_eq!(si["metadata"], json!({"k": "v"}));
    // The card is the customer's.
    let pm = app.get(&format!("/v1/payment_methods/{}", si["payment_method"].as_str().unwrap())).await;
    assert_eq!(
        (pm.ok()["customer"].as_str(), pm.body["card"]["last4"].as_str()),
        (Some(customer), Some("4242"))
    );
    // Retrieve and list, filtered by customer.
    let si_id = si["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/setup_intents/{si_id}")).await.ok()["id"], si_id);
    let list = app.get(&format!("/v1/setup_intents?customer={customer}")).await;
    assert_eq!(list.ok()["data"][0]["id"], si_id);
    assert_eq!(
        app.get("/v1/setup_intents?customer=cus_other").await.ok()["data"].as_array().unwrap().len(),
        0
    );
    let r = app.get("/v1/setup_intents/seti_nope").await;
    assert_eq!(r.error(404)["code"], "resource_missing");
    let types = app.event_types().await;
    let at = |t: &str| types.iter().position(|x| x == t).unwrap_or_else(|| panic!("no {t} in {types:?}"));
    assert!(at("setup_intent.succeeded") < at("checkout.session.completed"), "{types:?}");
    assert!(!types.iter().any(|t| t.starts_with("payment_intent.")), "{types:?}");
}

#[tokio::test]
async fn a_declined_card_in_setup_mode_records_no_payment() {
    let app = TestApp::spawn().await;
    let s = app.session(json!({"mode": "setup", "currency": "usd", "success_url": OK_URL})).await;
    let id = s["id"].as_str().unwrap();
    let r = pay_card(&app, id, "4000000000000002").await;
    assert!(r.text.contains("declined"), "{}", r.text);
    let s = app.get(&format!("/checkout/session/{id}")).await;
    assert_eq!((s.ok()["status"].as_str(), s.body["payment_intent"].clone()), (Some("open"), Value::Null));
    assert_eq!(app.count("/payment_intents").await, 0);
    // The card that works then saves.
    pay_card(&app, id, CARD).await;
    assert_eq!(app.get(&format!("/checkout/session/{id}")).await.ok()["status"], "complete");
}

#[tokio::test]
async fn setup_mode_refusals() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let setup =
        |extra: Value| merged(json!({"mode": "setup", "currency": "usd", "success_url": OK_URL}), extra);
    rejects(
        &app,
        setup(json!({"line_items": [{"price": price, "quantity": 1}]})),
        "line_items",
        "parameter_invalid",
    )
    .await;
    rejects(&app, json!({"mode": "setup", "success_url": OK_URL}), "currency", "parameter_missing").await;
    // As on Stripe, naming the payment methods makes `currency` optional (Lago sends no currency).
    let no_currency =
        app.session(json!({"mode": "setup", "payment_method_types": ["card"], "success_url": OK_URL})).await;
    assert_eq!((&no_currency["mode"], &no_currency["currency"]), (&json!("setup"), &json!("usd")));
    rejects(
        &app,
        setup(json!({"payment_method_types": ["card", "paypal"]})),
        "payment_method_types[1]",
        "parameter_invalid",
    )
    .await;
    rejects(
        &app,
        setup(json!({"allow_promotion_codes": true})),
        "allow_promotion_codes",
        "parameter_invalid",
    )
    .await;
    rejects(
        &app,
        setup(json!({"payment_intent_data": {"description": "x"}})),
        "payment_intent_data",
        "parameter_invalid",
    )
    .await;
    rejects(
        &app,
        setup(json!({"subscription_data": {"trial_period_days": 3}})),
        "subscription_data",
        "parameter_invalid",
    )
    .await;
    rejects(
        &app,
        merged(
            body(vec![inline_line("Mug", 900, "usd", 1)]),
            json!({"setup_intent_data": {"description": "x"}}),
        ),
        "setup_intent_data",
        "parameter_invalid",
    )
    .await;
    rejects(
        &app,
        setup(json!({"setup_intent_data": {"description": "d".repeat(1001)}})),
        "setup_intent_data[description]",
        "parameter_invalid",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// payment_method_collection

#[tokio::test]
async fn payment_method_collection_if_required_starts_a_trial_without_a_card() {
    let app = TestApp::spawn().await;
    let s = app
        .session(merged(
            body(vec![plan_line(3000)]),
            json!({"payment_method_collection": "if_required", "subscription_data": {"trial_period_days": 14}}),
        ))
        .await;
    assert_eq!(
        (s["payment_method_collection"].as_str(), s["amount_total"].as_i64()),
        (Some("if_required"), Some(0))
    );
    let id = s["id"].as_str().unwrap();
    let r = crate::pay::post(
        &app,
        &format!("/pay/{id}"),
        &[("email", "trial@example.test"), ("name", "Tri Al"), ("payment_method", "card")],
    )
    .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let s = app.get(&format!("/checkout/session/{id}?expand[]=subscription")).await;
    let s = s.ok();
    assert_eq!(
        (s["status"].as_str(), s["payment_status"].as_str()),
        (Some("complete"), Some("no_payment_required"))
    );
    assert_eq!(s["subscription"]["status"], "trialing");
    assert_eq!(s["subscription"]["default_payment_method"], Value::Null);
    let customer = s["customer"].as_str().unwrap();
    let pms = app.get(&format!("/payment_methods?customer={customer}")).await;
    assert_eq!(pms.ok()["data"].as_array().unwrap().len(), 0);

    // `always` (the default) still wants the card.
    let s = app
        .session(merged(body(vec![plan_line(3000)]), json!({"subscription_data": {"trial_period_days": 14}})))
        .await;
    let id = s["id"].as_str().unwrap();
    crate::pay::post(&app, &format!("/pay/{id}"), &[("email", "t@example.test"), ("payment_method", "card")])
        .await;
    assert_eq!(app.get(&format!("/checkout/session/{id}")).await.ok()["status"], "open");
}

#[tokio::test]
async fn payment_method_collection_refusals() {
    let app = TestApp::spawn().await;
    rejects(
        &app,
        merged(body(vec![plan_line(3000)]), json!({"payment_method_collection": "never"})),
        "payment_method_collection",
        "parameter_invalid",
    )
    .await;
    rejects(
        &app,
        merged(
            body(vec![inline_line("Mug", 900, "usd", 1)]),
            json!({"payment_method_collection": "if_required"}),
        ),
        "payment_method_collection",
        "parameter_invalid",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// invoice_creation

#[tokio::test]
async fn invoice_creation_makes_a_paid_invoice_for_the_payment() {
    let app = TestApp::spawn().await;
    let plain = app.session(body(vec![inline_line("Mug", 900, "usd", 1)])).await;
    assert_eq!(plain["invoice_creation"]["enabled"], false);
    let s = app
        .session(merged(
            body(vec![inline_line("Lamp", 2500, "usd", 2)]),
            json!({
                "customer_creation": "if_required",
                "invoice_creation": {
                    "enabled": true,
                    "invoice_data": {
                        "description": "Order 9",
                        "footer": "Thank you",
                        "metadata": {"order": "9"},
                        "custom_fields": [{"name": "PO", "value": "PO-9"}],
                    },
                },
            }),
        ))
        .await;
    assert_eq!(s["invoice_creation"]["enabled"], true);
    assert_eq!(
        s["invoice_creation"]["invoice_data"]["custom_fields"],
        json!([{"name": "PO", "value": "PO-9"}])
    );
    let id = s["id"].as_str().unwrap();
    pay_card(&app, id, CARD).await;
    let s = app.get(&format!("/checkout/session/{id}?expand[]=invoice&expand[]=payment_intent")).await;
    let s = s.ok();
    let invoice = &s["invoice"];
    assert_eq!((invoice["status"].as_str(), invoice["amount_paid"].as_i64()), (Some("paid"), Some(5000)));
    assert_eq!(invoice["billing_reason"], "manual");
    assert_eq!(invoice["subscription"], Value::Null);
    assert_eq!(
        (invoice["description"].as_str(), invoice["footer"].as_str()),
        (Some("Order 9"), Some("Thank you"))
    );
    assert_eq!(invoice["custom_fields"], json!([{"name": "PO", "value": "PO-9"}]));
    assert_eq!(invoice["metadata"], json!({"order": "9"}));
    assert_eq!(invoice["lines"]["data"][0]["description"], "Lamp");
    assert_eq!(invoice["payment_intent"], s["payment_intent"]["id"]);
    assert_eq!(s["payment_intent"]["invoice"], invoice["id"]);
    // An invoice needs a customer, guest checkout or not.
    assert!(s["customer"].as_str().unwrap().starts_with("cus_"));
    assert_eq!(invoice["customer"], s["customer"]);
    let types = app.event_types().await;
    assert!(
        types.contains(&"invoice.created".to_owned()) && types.contains(&"invoice.paid".to_owned()),
        "{types:?}"
    );
}

#[tokio::test]
async fn invoice_creation_refusals() {
    let app = TestApp::spawn().await;
    let pay =
        |ic: Value| merged(body(vec![inline_line("Mug", 900, "usd", 1)]), json!({"invoice_creation": ic}));
    rejects(
        &app,
        pay(json!({"invoice_data": {"description": "x"}})),
        "invoice_creation[enabled]",
        "parameter_missing",
    )
    .await;
    let five: Vec<Value> = (0..5).map(|i| json!({"name": format!("n{i}"), "value": "v"})).collect();
    rejects(
        &app,
        pay(json!({"enabled": true, "invoice_data": {"custom_fields": five}})),
        "invoice_creation[invoice_data][custom_fields]",
        "parameter_invalid",
    )
    .await;
    rejects(
        &app,
        pay(json!({"enabled": true, "invoice_data": {"custom_fields": [{"name": "n".repeat(41), "value": "v"}]}})),
        "invoice_creation[invoice_data][custom_fields][0][name]",
        "parameter_invalid",
    )
    .await;
    rejects(
        &app,
        merged(body(vec![plan_line(1000)]), json!({"invoice_creation": {"enabled": true}})),
        "invoice_creation",
        "parameter_invalid",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// after_expiration[recovery]

#[tokio::test]
async fn an_expired_sessions_recovery_url_opens_a_new_session_with_the_same_contents() {
    let app = TestApp::spawn().await;
    let s = app
        .session(merged(
            body(vec![inline_line("Vase", 4200, "usd", 2)]),
            json!({
                "metadata": {"cart": "c1"},
                "after_expiration": {"recovery": {"enabled": true, "allow_promotion_codes": true}},
                "expand": ["line_items"],
            }),
        ))
        .await;
    let id = s["id"].as_str().unwrap();
    let recovery = &s["after_expiration"]["recovery"];
    assert_eq!(
        (recovery["enabled"].as_bool(), recovery["url"].clone()),
        (Some(true), Value::Null),
        "no URL while open"
    );
    let expired = app.post(&format!("/v1/checkout/sessions/{id}/expire"), &[]).await;
    let recovery = &expired.ok()["after_expiration"]["recovery"];
    let url = recovery["url"].as_str().unwrap().to_owned();
    assert_eq!(recovery["expires_at"].as_i64(), Some(app.clock_now() + 30 * 86_400));

    let browser = kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = app.send(browser.get(&url)).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let new_id = r.header("location").unwrap().trim_start_matches("/pay/").to_owned();
    assert_ne!(new_id, id);
    let new = app.get(&format!("/v1/checkout/sessions/{new_id}?expand[]=line_items")).await;
    let new = new.ok();
    assert_eq!((new["status"].as_str(), new["recovered_from"].as_str()), (Some("open"), Some(id)));
    assert_eq!(
        (new["amount_total"].as_i64(), new["allow_promotion_codes"].as_bool()),
        (Some(8400), Some(true))
    );
    assert_eq!(new["metadata"], json!({"cart": "c1"}));
    assert_eq!(new["line_items"]["data"][0]["price"]["id"], s["line_items"]["data"][0]["price"]["id"]);
    assert_ne!(new["line_items"]["data"][0]["id"], s["line_items"]["data"][0]["id"]);
    pay_card(&app, &new_id, CARD).await;
    assert_eq!(app.get(&format!("/v1/checkout/sessions/{new_id}")).await.ok()["payment_status"], "paid");

    // After 30 days the URL no longer works; an open session or one without recovery has none.
    app.advance(30 * 86_400 + 1);
    assert_eq!(app.send(browser.get(&url)).await.status.as_u16(), 404);
    let plain = app.session(body(vec![inline_line("Vase", 4200, "usd", 1)])).await;
    assert_eq!(plain["after_expiration"], Value::Null);
    let r = app.send(browser.get(app.url(&format!("/pay/{}/recover", plain["id"].as_str().unwrap())))).await;
    assert_eq!(r.status.as_u16(), 404);
    rejects(
        &app,
        merged(
            body(vec![inline_line("Vase", 4200, "usd", 1)]),
            json!({"after_expiration": {"recovery": {"allow_promotion_codes": true}}}),
        ),
        "after_expiration[recovery][enabled]",
        "parameter_missing",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Shapes: the coupon embedded in a subscription's and an invoice's discount

#[tokio::test]
async fn subscription_and_invoice_discounts_embed_the_coupon() {
    let app = TestApp::spawn().await;
    let coupon = app.coupon(&[("percent_off", "20"), ("duration", "forever"), ("name", "Friends")]).await;
    let s =
        app.session(merged(body(vec![plan_line(1000)]), json!({"discounts": [{"coupon": coupon}]}))).await;
    let sub = app.paid_subscription(s["id"].as_str().unwrap(), CARD).await;
    let c = &sub["discount"]["coupon"];
    assert_eq!((c["object"].as_str(), c["id"].as_str()), (Some("coupon"), Some(coupon.as_str())), "{sub}");
    assert_eq!((c["percent_off"].as_f64(), c["name"].as_str()), (Some(20.0), Some("Friends")));
    let invoice = app.get(&format!("/invoices/{}", sub["latest_invoice"].as_str().unwrap())).await;
    assert_eq!(invoice.ok()["discount"]["coupon"]["id"], coupon.as_str());
    // `expand[]=discount.coupon` still answers (the coupon is there already).
    let r =
        app.get(&format!("/subscriptions/{}?expand[]=discount.coupon", sub["id"].as_str().unwrap())).await;
    assert_eq!(r.ok()["discount"]["coupon"]["object"], "coupon");
}
