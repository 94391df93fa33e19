//! Issue 15, the collection side: shipping rates (`/shipping_rates`), and the session parameters
//! that decide what the hosted page collects (addresses, shipping, phone, tax ids, consent, custom
//! fields and texts, submit type, locale, customer updates), with Stripe's rules and shapes.

#![allow(clippy::unwrap_used)]

use kassa_core::time::Clock;
use serde_json::{Value, json};

use crate::common::id;
use crate::helpers::TestApp;

/// A table row: a form, the `param` it must be refused on, and the error `code`.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect()
}

async fn rate(app: &TestApp, name: &str, amount: &str, currency: &str) -> String {
    let r = app
        .post(
            "/shipping_rates",
            &[
                ("display_name", name),
                ("type", "fixed_amount"),
                ("fixed_amount[amount]", amount),
                ("fixed_amount[currency]", currency),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    id(&r.body)
}

// ---------------------------------------------------------------------------------------------
// Shipping rates

#[tokio::test]
async fn shipping_rate_create_retrieve_and_shape() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let r = app
        .post(
            "/shipping_rates",
            &[
                ("display_name", "Express"),
                ("type", "fixed_amount"),
                ("fixed_amount[amount]", "1500"),
                ("fixed_amount[currency]", "EUR"),
                ("delivery_estimate[minimum][unit]", "business_day"),
                ("delivery_estimate[minimum][value]", "1"),
                ("delivery_estimate[maximum][unit]", "business_day"),
                ("delivery_estimate[maximum][value]", "2"),
                ("tax_behavior", "exclusive"),
                ("tax_code", "txcd_92010001"),
                ("metadata[carrier]", "dhl"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let want = json!({
        "id": r.body["id"],
        "object": "shipping_rate",
        "active": true,
        "created": now,
        "delivery_estimate": {
            "maximum": {"unit": "business_day", "value": 2},
            "minimum": {"unit": "business_day", "value": 1},
        },
        "display_name": "Express",
        "fixed_amount": {"amount": 1500, "currency": "eur"},
        "livemode": false,
        "metadata": {"carrier": "dhl"},
        "tax_behavior": "exclusive",
        "tax_code": "txcd_92010001",
        "type": "fixed_amount",
    });
    assert_eq!(r.body, want);
    let shr = id(&r.body);
    assert!(shr.starts_with("shr_"), "{shr}");
    assert_eq!(app.get(&format!("/shipping_rates/{shr}")).await.ok(), &want);
    assert_eq!(app.get(&format!("/v1/shipping_rates/{shr}")).await.ok(), &want);

    // The plainest rate: no estimate, no tax code, behaviour unspecified. `type` may be left out.
    let r = app
        .post(
            "/v1/shipping_rates",
            &[("display_name", "Free"), ("fixed_amount[amount]", "0"), ("fixed_amount[currency]", "usd")],
        )
        .await;
    let v = r.ok();
    assert_eq!(r.status, 200, "/v1 answers 200 on create");
    assert_eq!(
        (&v["delivery_estimate"], &v["tax_code"], &v["tax_behavior"]),
        (&Value::Null, &Value::Null, &json!("unspecified"))
    );

    let e = app.get("/shipping_rates/shr_nope").await;
    assert_eq!(e.error(404)["message"], "No such shipping_rate: 'shr_nope'");
}

#[tokio::test]
async fn shipping_rate_refusals_name_the_parameter() {
    let app = TestApp::spawn().await;
    let base = [("display_name", "X"), ("fixed_amount[amount]", "100"), ("fixed_amount[currency]", "eur")];
    let with = |extra: &[(&'static str, &'static str)], drop: &str| -> Vec<(&'static str, &'static str)> {
        base.iter().filter(|(k, _)| *k != drop).chain(extra).copied().collect()
    };
    let cases: Vec<Case<'_>> = vec![
        (with(&[], "display_name"), "display_name", "parameter_missing"),
        (with(&[("display_name", " ")], "display_name"), "display_name", "parameter_invalid_empty"),
        (with(&[], "fixed_amount[amount]"), "fixed_amount[amount]", "parameter_missing"),
        (
            with(&[("fixed_amount[amount]", "-1")], "fixed_amount[amount]"),
            "fixed_amount[amount]",
            "parameter_invalid",
        ),
        (
            with(&[("fixed_amount[currency]", "xyz")], "fixed_amount[currency]"),
            "fixed_amount[currency]",
            "parameter_invalid",
        ),
        (with(&[("type", "calculated")], ""), "type", "parameter_invalid"),
        (with(&[("tax_behavior", "sometimes")], ""), "tax_behavior", "parameter_invalid"),
        (
            with(
                &[("delivery_estimate[minimum][unit]", "year"), ("delivery_estimate[minimum][value]", "1")],
                "",
            ),
            "delivery_estimate[minimum][unit]",
            "parameter_invalid",
        ),
        (
            with(
                &[("delivery_estimate[maximum][unit]", "day"), ("delivery_estimate[maximum][value]", "0")],
                "",
            ),
            "delivery_estimate[maximum][value]",
            "parameter_invalid",
        ),
        (
            with(&[("delivery_estimate[maximum][unit]", "day")], ""),
            "delivery_estimate[maximum][value]",
            "parameter_missing",
        ),
        (with(&[("fixed_amount[nope]", "1")], ""), "fixed_amount[nope]", "parameter_unknown"),
    ];
    for (form, param, code) in cases {
        let r = app.post("/shipping_rates", &form).await;
        assert_eq!(r.invalid(param)["code"], code, "{form:?}");
    }
    assert_eq!(app.count("/shipping_rates").await, 0, "nothing half-written");
}

#[tokio::test]
async fn shipping_rate_update_and_list() {
    let app = TestApp::spawn().await;
    let a = rate(&app, "A", "100", "eur").await;
    app.advance(10);
    let b = rate(&app, "B", "200", "usd").await;
    app.advance(10);
    let c = rate(&app, "C", "300", "eur").await;

    let r = app.post(&format!("/shipping_rates/{b}"), &[("active", "false"), ("metadata[k]", "v")]).await;
    assert_eq!((&r.ok()["active"], &r.ok()["metadata"]), (&json!(false), &json!({"k": "v"})));
    let r = app.post(&format!("/shipping_rates/{b}"), &[("tax_behavior", "inclusive")]).await;
    assert_eq!(r.ok()["tax_behavior"], "inclusive");
    let r = app.post(&format!("/shipping_rates/{b}"), &[("tax_behavior", "exclusive")]).await;
    r.invalid("tax_behavior");
    // The amount of a rate never changes.
    let r = app.post(&format!("/shipping_rates/{b}"), &[("fixed_amount[amount]", "1")]).await;
    assert_eq!(r.invalid("fixed_amount")["code"], "parameter_unknown");
    app.post("/shipping_rates/shr_nope", &[("active", "false")]).await.error(404);

    assert_eq!(app.list_ids("/shipping_rates").await, vec![c.clone(), b.clone(), a.clone()]);
    assert_eq!(app.list_ids("/shipping_rates?active=true").await, vec![c.clone(), a.clone()]);
    assert_eq!(app.list_ids("/shipping_rates?active=false").await, vec![b.clone()]);
    assert_eq!(app.list_ids("/shipping_rates?currency=EUR").await, vec![c.clone(), a.clone()]);
    let page = app.get(&format!("/v1/shipping_rates?limit=1&starting_after={c}")).await;
    assert_eq!((ids(page.ok()), &page.body["has_more"]), (vec![b.clone()], &json!(true)));
    assert_eq!(page.body["url"], "/v1/shipping_rates");
    let created = app.clock.now() - 10;
    assert_eq!(app.list_ids(&format!("/shipping_rates?created[gte]={created}")).await, vec![c, b]);
    app.get("/shipping_rates?limit=0").await.invalid("limit");
    app.get("/shipping_rates?starting_after=shr_nope").await.invalid("starting_after");
}

// ---------------------------------------------------------------------------------------------
// The session's collection parameters

const PATH: &str = "/checkout/session";

fn with(price: &str, extra: Value) -> Value {
    let mut body =
        json!({"line_items": [{"price": price, "quantity": 2}], "success_url": "https://shop.test/ok"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn collection_parameters_read_back_as_stripe_shapes_them() {
    let app = TestApp::spawn().await;
    let price = app.price(2400, "eur").await;
    let s = app
        .session(with(
            &price,
            json!({
                "billing_address_collection": "required",
                "shipping_address_collection": {"allowed_countries": ["DE", "at", "FR"]},
                "phone_number_collection": {"enabled": true},
                "tax_id_collection": {"enabled": true, "required": "if_supported"},
                "consent_collection": {"terms_of_service": "required", "promotions": "auto"},
                "custom_fields": [
                    {"key": "ref", "label": {"type": "custom", "custom": "Order reference"}, "type": "text",
                     "text": {"minimum_length": 2, "maximum_length": 10}},
                    {"key": "size", "label": {"type": "custom", "custom": "Size"}, "type": "dropdown", "optional": true,
                     "dropdown": {"options": [{"label": "Small", "value": "s"}, {"label": "Large", "value": "l"}]}},
                    {"key": "seats", "label": {"type": "custom", "custom": "Seats"}, "type": "numeric"},
                ],
                "custom_text": {
                    "submit": {"message": "We ship within a day."},
                    "terms_of_service_acceptance": {"message": "I agree to the [terms](https://shop.test/terms)."},
                    "shipping_address": {"message": "No P.O. boxes."},
                    "after_submit": {"message": "Thanks!"},
                },
                "submit_type": "donate",
                "locale": "de",
            }),
        ))
        .await;
    assert_eq!(s["billing_address_collection"], "required");
    assert_eq!(s["shipping_address_collection"], json!({"allowed_countries": ["DE", "AT", "FR"]}));
    assert_eq!(s["phone_number_collection"], json!({"enabled": true}));
    assert_eq!(s["tax_id_collection"], json!({"enabled": true, "required": "if_supported"}));
    assert_eq!(
        s["consent_collection"],
        json!({"payment_method_reuse_agreement": null, "promotions": "auto", "terms_of_service": "required"})
    );
    assert_eq!(s["consent"], Value::Null, "nothing consented to yet");
    assert_eq!(
        s["custom_fields"][0],
        json!({
            "dropdown": null, "key": "ref", "label": {"custom": "Order reference", "type": "custom"},
            "numeric": null, "optional": false,
            "text": {"default_value": null, "maximum_length": 10, "minimum_length": 2, "value": null},
            "type": "text",
        })
    );
    assert_eq!(
        s["custom_fields"][1]["dropdown"],
        json!({"default_value": null, "options": [{"label": "Small", "value": "s"}, {"label": "Large", "value": "l"}], "value": null})
    );
    assert_eq!(s["custom_fields"][2]["numeric"]["value"], Value::Null);
    assert_eq!(s["custom_text"]["submit"], json!({"message": "We ship within a day."}));
    assert_eq!(s["custom_text"]["after_submit"], json!({"message": "Thanks!"}));
    assert_eq!((&s["submit_type"], &s["locale"]), (&json!("donate"), &json!("de")));
    let got = app.get(&format!("{PATH}/{}", s["id"].as_str().unwrap())).await;
    assert_eq!(got.ok(), &s, "retrieve answers the same");
}

#[tokio::test]
async fn shipping_options_add_the_chosen_rate_to_the_total() {
    let app = TestApp::spawn().await;
    let price = app.price(2400, "eur").await;
    let express = rate(&app, "Express", "1500", "eur").await;
    let s = app
        .session(with(
            &price,
            json!({
                "shipping_address_collection": {"allowed_countries": ["DE"]},
                "shipping_options": [
                    {"shipping_rate": express},
                    {"shipping_rate_data": {"display_name": "Free", "type": "fixed_amount",
                      "fixed_amount": {"amount": 0, "currency": "eur"},
                      "delivery_estimate": {"minimum": {"unit": "business_day", "value": 5}}}},
                ],
            }),
        ))
        .await;
    assert_eq!(
        (&s["amount_subtotal"], &s["amount_total"]),
        (&json!(4800), &json!(6300)),
        "the first is chosen"
    );
    assert_eq!(s["total_details"]["amount_shipping"], 1500);
    assert_eq!(
        s["shipping_cost"],
        json!({"amount_subtotal": 1500, "amount_tax": 0, "amount_total": 1500, "shipping_rate": express})
    );
    let options = s["shipping_options"].as_array().unwrap();
    assert_eq!(options[0], json!({"shipping_amount": 1500, "shipping_rate": express}));
    let free = options[1]["shipping_rate"].as_str().unwrap().to_owned();
    assert!(free.starts_with("shr_"));
    // `shipping_rate_data` created a rate, as on Stripe.
    let r = app.get(&format!("/shipping_rates/{free}")).await;
    assert_eq!((&r.ok()["display_name"], &r.ok()["fixed_amount"]["amount"]), (&json!("Free"), &json!(0)));
    assert_eq!(s["shipping_details"], Value::Null);
    // `expand[]` follows the rate.
    let id = s["id"].as_str().unwrap();
    let r = app
        .get(&format!(
            "{PATH}/{id}?expand[]=shipping_cost.shipping_rate&expand[]=shipping_options.shipping_rate"
        ))
        .await;
    assert_eq!(r.ok()["shipping_cost"]["shipping_rate"]["display_name"], "Express");
    assert_eq!(r.ok()["shipping_options"][1]["shipping_rate"]["object"], "shipping_rate");
}

#[tokio::test]
async fn collection_refusals_name_the_parameter_and_write_nothing() {
    let app = TestApp::spawn().await;
    let price = app.price(2400, "eur").await;
    let plan = app.recurring_price(900, "eur", "month").await;
    let usd = rate(&app, "US", "500", "usd").await;
    let old = rate(&app, "Old", "500", "eur").await;
    app.post(&format!("/shipping_rates/{old}"), &[("active", "false")]).await.ok();
    let cus = id(app.post("/customers", &[("email", "a@b.test")]).await.ok());
    let field =
        |key: &str, ty: &str| json!({"key": key, "label": {"type": "custom", "custom": "L"}, "type": ty});
    let data = |amount: i64, currency: &str| json!({"shipping_rate_data": {"display_name": "X", "fixed_amount": {"amount": amount, "currency": currency}}});
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"billing_address_collection": "always"}), "billing_address_collection", "parameter_invalid"),
        (
            json!({"shipping_address_collection": {}}),
            "shipping_address_collection[allowed_countries]",
            "parameter_missing",
        ),
        (
            json!({"shipping_address_collection": {"allowed_countries": ["DE", "ZZ"]}}),
            "shipping_address_collection[allowed_countries][1]",
            "parameter_invalid",
        ),
        (
            json!({"shipping_options": [{"shipping_rate": "shr_nope"}]}),
            "shipping_options[0][shipping_rate]",
            "resource_missing",
        ),
        (
            json!({"shipping_options": [{"shipping_rate": usd}]}),
            "shipping_options[0][shipping_rate]",
            "parameter_invalid",
        ),
        (
            json!({"shipping_options": [{"shipping_rate": old}]}),
            "shipping_options[0][shipping_rate]",
            "parameter_invalid",
        ),
        (json!({"shipping_options": [{}]}), "shipping_options[0]", "parameter_missing"),
        (
            json!({"shipping_options": [data(100, "eur"), data(-5, "eur")]}),
            "shipping_options[1][shipping_rate_data][fixed_amount][amount]",
            "parameter_invalid",
        ),
        (
            json!({"shipping_options": [data(100, "usd")]}),
            "shipping_options[0][shipping_rate_data][fixed_amount][currency]",
            "parameter_invalid",
        ),
        (json!({"shipping_options": vec![data(100, "eur"); 6]}), "shipping_options", "parameter_invalid"),
        (json!({"phone_number_collection": {}}), "phone_number_collection[enabled]", "parameter_missing"),
        (
            json!({"tax_id_collection": {"enabled": true, "required": "always"}}),
            "tax_id_collection[required]",
            "parameter_invalid",
        ),
        (
            json!({"consent_collection": {"terms_of_service": "yes"}}),
            "consent_collection[terms_of_service]",
            "parameter_invalid",
        ),
        (
            json!({"consent_collection": {"promotions": "always"}}),
            "consent_collection[promotions]",
            "parameter_invalid",
        ),
        (json!({"custom_fields": vec![field("a", "text"); 4]}), "custom_fields", "parameter_invalid"),
        (
            json!({"custom_fields": [field("a", "dropdown")]}),
            "custom_fields[0][dropdown]",
            "parameter_missing",
        ),
        (
            json!({"custom_fields": [{"key": "a", "label": {"type": "custom", "custom": "L"}, "type": "dropdown", "dropdown": {"options": []}}]}),
            "custom_fields[0][dropdown][options]",
            "parameter_invalid",
        ),
        (
            json!({"custom_fields": [field("a", "text"), field("a", "text")]}),
            "custom_fields[1][key]",
            "parameter_invalid",
        ),
        (json!({"custom_fields": [field("a-b", "text")]}), "custom_fields[0][key]", "parameter_invalid"),
        (json!({"custom_fields": [field("a", "date")]}), "custom_fields[0][type]", "parameter_invalid"),
        (
            json!({"custom_fields": [{"key": "a", "type": "text"}]}),
            "custom_fields[0][label]",
            "parameter_missing",
        ),
        (
            json!({"custom_fields": [{"key": "a", "label": {"type": "custom", "custom": "L"}, "type": "text", "text": {"minimum_length": 5, "maximum_length": 2}}]}),
            "custom_fields[0][text][minimum_length]",
            "parameter_invalid",
        ),
        (
            json!({"custom_text": {"terms_of_service_acceptance": {"message": "ok"}}}),
            "custom_text[terms_of_service_acceptance]",
            "parameter_invalid",
        ),
        (
            json!({"custom_text": {"submit": {"message": "x".repeat(1201)}}}),
            "custom_text[submit][message]",
            "parameter_invalid",
        ),
        (json!({"submit_type": "buy"}), "submit_type", "parameter_invalid"),
        (json!({"locale": "xx"}), "locale", "parameter_invalid"),
        (json!({"customer_update": {"address": "auto"}}), "customer_update", "parameter_invalid"),
        (
            json!({"customer": cus, "customer_update": {"name": "sometimes"}}),
            "customer_update[name]",
            "parameter_invalid",
        ),
        (json!({"custom_fields": [{"key": "a", "nope": 1}]}), "custom_fields[0][nope]", "parameter_unknown"),
    ];
    for (extra, param, code) in cases {
        let r = app.post_json(PATH, &with(&price, extra.clone())).await;
        assert_eq!(r.invalid(param)["code"], code, "{extra}");
    }
    // Shipping options and `submit_type=pay` are payment-mode only.
    let sub = json!({"line_items": [{"price": plan, "quantity": 1}], "success_url": "https://shop.test/ok"});
    let mut body = sub.clone();
    body["shipping_options"] = json!([data(100, "eur")]);
    app.post_json(PATH, &body).await.invalid("shipping_options");
    let mut body = sub.clone();
    body["submit_type"] = json!("pay");
    app.post_json(PATH, &body).await.invalid("submit_type");
    let mut body = sub;
    body["submit_type"] = json!("subscribe");
    assert_eq!(app.post_json(PATH, &body).await.ok()["submit_type"], "subscribe");
    // Nothing half-written: no session, and no rate from `shipping_rate_data` of a refused one.
    assert_eq!(app.count(PATH).await, 1);
    assert_eq!(app.count("/shipping_rates").await, 2);
}

#[tokio::test]
async fn collection_parameters_in_form_encoding() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let r = app
        .post(
            "/v1/checkout/sessions",
            &[
                ("line_items[0][price]", &price),
                ("line_items[0][quantity]", "1"),
                ("success_url", "https://shop.test/ok"),
                ("shipping_address_collection[allowed_countries][0]", "US"),
                ("shipping_address_collection[allowed_countries][1]", "CA"),
                ("shipping_options[0][shipping_rate_data][display_name]", "Ground"),
                ("shipping_options[0][shipping_rate_data][type]", "fixed_amount"),
                ("shipping_options[0][shipping_rate_data][fixed_amount][amount]", "700"),
                ("shipping_options[0][shipping_rate_data][fixed_amount][currency]", "usd"),
                ("phone_number_collection[enabled]", "true"),
                ("custom_fields[0][key]", "engraving"),
                ("custom_fields[0][label][type]", "custom"),
                ("custom_fields[0][label][custom]", "Engraving"),
                ("custom_fields[0][type]", "text"),
                ("custom_fields[0][optional]", "true"),
                ("locale", "auto"),
                ("billing_address_collection", "auto"),
            ],
        )
        .await;
    let s = r.ok();
    assert_eq!(s["amount_total"], 1700);
    assert_eq!(s["shipping_address_collection"]["allowed_countries"], json!(["US", "CA"]));
    assert_eq!((&s["locale"], &s["billing_address_collection"]), (&json!("auto"), &json!("auto")));
    assert_eq!(s["custom_fields"][0]["optional"], true);
}
