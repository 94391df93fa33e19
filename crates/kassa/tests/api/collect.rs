//! Checkout parity, the collection side: shipping rates (`/shipping_rates`), and the session parameters
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

// ---------------------------------------------------------------------------------------------
// The hosted page

pub(crate) fn browser() -> reqwest::Client {
    kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn page_html(app: &TestApp, id: &str, languages: Option<&str>) -> String {
    let mut req = browser().get(app.url(&format!("/pay/{id}")));
    if let Some(l) = languages {
        req = req.header("accept-language", l);
    }
    let r = app.send(req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
}

pub(crate) async fn page_post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> crate::helpers::Resp {
    let req = browser()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::helpers::encode(form));
    app.send(req).await
}

/// A session that collects everything, for `customer` (with `customer_update` all `auto`).
async fn collecting_session(app: &TestApp, customer: Option<&str>) -> (Value, String, String) {
    let price = app.price(2400, "eur").await;
    let standard = rate(app, "Standard", "500", "eur").await;
    let express = rate(app, "Express", "1500", "eur").await;
    let mut extra = json!({
        "billing_address_collection": "required",
        "shipping_address_collection": {"allowed_countries": ["DE", "AT"]},
        "shipping_options": [{"shipping_rate": standard}, {"shipping_rate": express}],
        "phone_number_collection": {"enabled": true},
        "tax_id_collection": {"enabled": true},
        "consent_collection": {"terms_of_service": "required", "promotions": "auto"},
        "custom_fields": [
            {"key": "ref", "label": {"type": "custom", "custom": "Order reference"}, "type": "numeric",
             "numeric": {"minimum_length": 3}},
            {"key": "size", "label": {"type": "custom", "custom": "Size"}, "type": "dropdown", "optional": true,
             "dropdown": {"options": [{"label": "Small", "value": "s"}, {"label": "Large", "value": "l"}]}},
        ],
        "custom_text": {
            "submit": {"message": "Ships tomorrow."},
            "terms_of_service_acceptance": {"message": "I accept the shop's terms."},
            "shipping_address": {"message": "No P.O. boxes."},
            "after_submit": {"message": "See you soon."},
        },
    });
    if let Some(c) = customer {
        extra["customer"] = json!(c);
        extra["customer_update"] = json!({"address": "auto", "name": "auto", "shipping": "auto"});
    }
    (app.session(with(&price, extra)).await, standard, express)
}

const FILLED: &[(&str, &str)] = &[
    ("email", "ada@example.test"),
    ("name", "Ada Lovelace"),
    ("payment_method", "card"),
    ("card_number", "4242424242424242"),
    ("card_expiry", "12/34"),
    ("card_cvc", "123"),
    ("phone", "+49 30 1234567"),
    ("shipping_name", "Ada Lovelace"),
    ("shipping_line1", "Unter den Linden 1"),
    ("shipping_line2", ""),
    ("shipping_city", "Berlin"),
    ("shipping_postal_code", "10117"),
    ("shipping_state", ""),
    ("shipping_country", "DE"),
    ("address_line1", "Hauptstraße 5"),
    ("address_line2", "Hinterhaus"),
    ("address_city", "Wien"),
    ("address_postal_code", "1010"),
    ("address_state", ""),
    ("address_country", "AT"),
    ("tax_id_type", "eu_vat"),
    ("tax_id_value", "ATU12345678"),
    ("custom_field[ref]", "12345"),
    ("custom_field[size]", "l"),
    ("terms", "accepted"),
    ("promotions", "opt_in"),
];

fn filled_but(name: &str, value: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = FILLED.iter().filter(|(k, _)| *k != name).copied().collect();
    if let Some(v) = value {
        out.push((leak(name), v));
    }
    out
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

#[tokio::test]
async fn the_page_shows_every_collection_control_with_its_test_id() {
    let app = TestApp::spawn().await;
    let (s, standard, express) = collecting_session(&app, None).await;
    let id = s["id"].as_str().unwrap();
    let html = page_html(&app, id, None).await;
    for testid in [
        "address-line1-input",
        "address-line2-input",
        "address-city-input",
        "address-postal-code-input",
        "address-state-input",
        "address-country-input",
        "shipping-name-input",
        "shipping-line1-input",
        "shipping-line2-input",
        "shipping-city-input",
        "shipping-postal-code-input",
        "shipping-state-input",
        "shipping-country-input",
        "shipping-option",
        "shipping-amount",
        "phone-input",
        "tax-id-type-input",
        "tax-id-value-input",
        "terms-checkbox",
        "promotions-checkbox",
        "custom-field-ref",
        "custom-field-size",
        "custom-text-submit",
        "custom-text-terms",
        "custom-text-shipping",
        "custom-text-after-submit",
        "test-mode-badge",
    ] {
        assert!(html.contains(&format!("data-testid=\"{testid}\"")), "{testid} missing");
    }
    assert!(html.contains(&format!("data-shipping-rate=\"{standard}\"")));
    assert!(html.contains(&format!("data-shipping-rate=\"{express}\"")));
    assert!(html.contains("<option>DE</option><option>AT</option></select>"), "only the allowed countries");
    assert!(html.contains("No P.O. boxes.") && html.contains("I accept the shop"));
    assert!(html.contains("data-testid=\"shipping-amount\">€5.00"), "the first option is chosen");
    assert!(html.contains("data-testid=\"total-amount\">€53.00"));
    assert!(html.contains("<html lang=\"en\">"));
    // A plain session shows none of it.
    let price = app.price(100, "eur").await;
    let plain = app.simple_session(&price, 1).await;
    let html = page_html(&app, plain["id"].as_str().unwrap(), None).await;
    for testid in
        ["shipping-option", "phone-input", "terms-checkbox", "address-line1-input", "tax-id-type-input"]
    {
        assert!(!html.contains(testid), "{testid} shown without being asked for");
    }
}

#[tokio::test]
async fn a_missing_or_malformed_value_is_refused_naming_the_field_and_nothing_is_charged() {
    let app = TestApp::spawn().await;
    let (s, ..) = collecting_session(&app, None).await;
    let id = s["id"].as_str().unwrap();
    let path = format!("/pay/{id}");
    for (form, says) in [
        (filled_but("phone", None), "Enter Phone."),
        (filled_but("phone", Some("call me")), "Phone is not valid."),
        (filled_but("shipping_city", None), "Enter City (Shipping address)."),
        (filled_but("shipping_country", Some("FR")), "Country (Shipping address) is not valid."),
        (filled_but("address_line1", None), "Enter Address (Billing address)."),
        (filled_but("tax_id_value", Some("DE12")), "Tax ID is not valid."),
        (filled_but("custom_field[ref]", Some("12")), "Order reference is not valid."),
        (filled_but("custom_field[ref]", None), "Enter Order reference."),
        (filled_but("custom_field[size]", Some("xl")), "Size is not valid."),
        (filled_but("terms", None), "Accept the terms of service to continue."),
    ] {
        let r = page_post(&app, &path, &form).await;
        assert_eq!(r.status, 200, "{says}: {}", r.text);
        assert!(r.text.contains(&format!("data-testid=\"payment-error\">{says}")), "{says}: {}", r.text);
        // What was typed is shown again, never the card.
        assert!(r.text.contains("Unter den Linden 1") || !form.iter().any(|(k, _)| *k == "shipping_line1"));
        assert!(!r.text.contains("4242424242424242"));
    }
    // Nothing charged, nothing completed.
    assert_eq!(app.count("/payment_intents").await, 0);
    let got = app.get(&format!("{PATH}/{id}")).await;
    assert_eq!((&got.ok()["status"], &got.ok()["customer_details"]), (&json!("open"), &Value::Null));
    assert_eq!(got.ok()["custom_fields"][0]["numeric"]["value"], Value::Null);
    // An optional field may be left out, and so may the promotions checkbox (opting out).
    let mut form = filled_but("custom_field[size]", None);
    form.retain(|(k, _)| *k != "promotions");
    let r = page_post(&app, &path, &form).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let got = app.get(&format!("{PATH}/{id}")).await;
    assert_eq!(got.ok()["consent"], json!({"promotions": "opt_out", "terms_of_service": "accepted"}));
    assert_eq!(got.ok()["custom_fields"][1]["dropdown"]["value"], Value::Null);
}

#[tokio::test]
async fn completion_writes_what_the_page_collected_where_stripe_puts_it() {
    let app = TestApp::spawn().await;
    let cus = id(app.post("/customers", &[("email", "ada@example.test")]).await.ok());
    let (s, _, express) = collecting_session(&app, Some(&cus)).await;
    let sid = s["id"].as_str().unwrap();
    // The customer picks the other shipping option (the no-JS button posts the whole form).
    let r =
        page_post(&app, &format!("/pay/{sid}/shipping"), &filled_but("shipping_rate", Some(leak(&express))))
            .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("data-testid=\"shipping-amount\">€15.00"), "{}", r.text);
    assert!(r.text.contains("data-testid=\"total-amount\">€63.00"));
    assert!(r.text.contains("value=\"Unter den Linden 1\""), "the form comes back as typed");
    assert!(!r.text.contains("4242424242424242"));
    let got = app.get(&format!("{PATH}/{sid}")).await;
    assert_eq!(
        (&got.ok()["amount_total"], &got.ok()["shipping_cost"]["shipping_rate"]),
        (&json!(6300), &json!(express))
    );

    let r = page_post(&app, &format!("/pay/{sid}"), &filled_but("shipping_rate", Some(leak(&express)))).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let s = app.get(&format!("{PATH}/{sid}")).await.ok().clone();
    assert_eq!((&s["status"], &s["amount_total"]), (&json!("complete"), &json!(6300)));
    assert_eq!(
        s["customer_details"],
        json!({
            "address": {"city": "Wien", "country": "AT", "line1": "Hauptstraße 5", "line2": "Hinterhaus",
                        "postal_code": "1010", "state": null},
            "business_name": null, "email": "ada@example.test", "individual_name": null, "name": "Ada Lovelace",
            "phone": "+49 30 1234567", "tax_exempt": "none",
            "tax_ids": [{"type": "eu_vat", "value": "ATU12345678"}],
        })
    );
    assert_eq!(
        s["shipping_details"],
        json!({"address": {"city": "Berlin", "country": "DE", "line1": "Unter den Linden 1", "line2": null,
                           "postal_code": "10117", "state": null}, "name": "Ada Lovelace"})
    );
    assert_eq!(s["custom_fields"][0]["numeric"]["value"], "12345");
    assert_eq!(s["custom_fields"][1]["dropdown"]["value"], "l");
    assert_eq!(s["consent"], json!({"promotions": "opt_in", "terms_of_service": "accepted"}));
    let pi = app.get(&format!("/payment_intents/{}", s["payment_intent"].as_str().unwrap())).await;
    assert_eq!(pi.ok()["amount"], 6300, "the shipping is charged");
    // `customer_update` wrote the name, address and shipping back, and said so.
    let c = app.get(&format!("/customers/{cus}")).await.ok().clone();
    assert_eq!(c["name"], "Ada Lovelace");
    assert_eq!(c["address"]["city"], "Wien");
    assert_eq!(c["shipping"]["address"]["line1"], "Unter den Linden 1");
    assert!(app.event_types().await.contains(&"customer.updated".to_owned()));
}

#[tokio::test]
async fn a_new_customer_gets_what_the_page_collected_and_an_existing_one_only_with_customer_update() {
    let app = TestApp::spawn().await;
    let (s, ..) = collecting_session(&app, None).await;
    let sid = s["id"].as_str().unwrap();
    assert_eq!(page_post(&app, &format!("/pay/{sid}"), FILLED).await.status, 303);
    let s = app.get(&format!("{PATH}/{sid}")).await.ok().clone();
    let c = app.get(&format!("/customers/{}", s["customer"].as_str().unwrap())).await.ok().clone();
    assert_eq!((&c["phone"], &c["address"]["country"]), (&json!("+49 30 1234567"), &json!("AT")));
    assert_eq!(s["consent"]["promotions"], "opt_in");

    // Without `customer_update`, an existing customer keeps what it had.
    let cus = id(app.post("/customers", &[("email", "bo@example.test"), ("name", "Bo")]).await.ok());
    let price = app.price(1000, "eur").await;
    let s =
        app.session(with(&price, json!({"customer": cus, "billing_address_collection": "required"}))).await;
    let sid = s["id"].as_str().unwrap();
    assert_eq!(page_post(&app, &format!("/pay/{sid}"), FILLED).await.status, 303);
    let c = app.get(&format!("/customers/{cus}")).await.ok().clone();
    assert_eq!((&c["name"], &c["address"]), (&json!("Bo"), &Value::Null));
    let s = app.get(&format!("{PATH}/{sid}")).await.ok().clone();
    assert_eq!(s["customer_details"]["address"]["city"], "Wien", "the session has it all the same");
    assert_eq!((&s["consent"], &s["shipping_details"]), (&Value::Null, &Value::Null));
}

#[tokio::test]
async fn a_shipping_option_changed_without_update_is_applied_but_not_charged() {
    let app = TestApp::spawn().await;
    let (s, _, express) = collecting_session(&app, None).await;
    let sid = s["id"].as_str().unwrap();
    let r = page_post(&app, &format!("/pay/{sid}"), &filled_but("shipping_rate", Some(leak(&express)))).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("data-testid=\"payment-error\">The shipping option changed"), "{}", r.text);
    assert!(r.text.contains("data-testid=\"total-amount\">€63.00"));
    assert_eq!(app.count("/payment_intents").await, 0);
    // JSON for the script.
    let req = browser()
        .post(app.url(&format!("/pay/{sid}/shipping")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("shipping_rate=nope");
    let r = app.send(req).await;
    assert!(r.text.contains("Choose one of the shipping options shown."), "{}", r.text);
}

#[tokio::test]
async fn the_page_speaks_the_session_locale_or_the_browsers_language() {
    let app = TestApp::spawn().await;
    let price = app.price(4800, "eur").await;
    let auto = app.session(with(&price, json!({"locale": "auto", "submit_type": "donate"}))).await;
    let id = auto["id"].as_str().unwrap();
    let html = page_html(&app, id, Some("de-DE,de;q=0.9,en;q=0.8")).await;
    assert!(html.contains("<html lang=\"de\">"));
    assert!(html.contains("data-testid=\"total-amount\">96,00\u{a0}€"), "{html}");
    assert!(html.contains("data-testid=\"submit-button\">96,00\u{a0}€ spenden"));
    let html = page_html(&app, id, None).await;
    assert!(html.contains("<html lang=\"en\">") && html.contains("Donate €96.00"));
    for (locale, lang, words) in [
        ("fr", "fr", "96,00\u{a0}€"),
        ("es", "es", "Resumen del pedido"),
        ("nl", "nl", "Besteloverzicht"),
        ("it", "it", "Riepilogo"),
        ("ja", "ja", "注文内容"),
        ("ko", "en", "Order summary"),
    ] {
        let s = app.session(with(&price, json!({"locale": locale}))).await;
        let html = page_html(&app, s["id"].as_str().unwrap(), Some("de")).await;
        assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{locale}");
        assert!(html.contains(words), "{locale}: {words}");
    }
    // A refusal on the page speaks the page's language.
    let s = app
        .session(with(&price, json!({"locale": "de", "phone_number_collection": {"enabled": true}})))
        .await;
    let r = page_post(&app, &format!("/pay/{}", s["id"].as_str().unwrap()), &filled_but("phone", None)).await;
    assert!(r.text.contains("Bitte Telefon angeben."), "{}", r.text);
}

/// The page stays light: its HTML, stylesheet and script together under 30 KB, for a
/// session that collects everything (the largest page: every control, both country selects).
#[tokio::test]
async fn the_page_with_every_control_weighs_under_30_kb() {
    let app = TestApp::spawn().await;
    let (s, ..) = collecting_session(&app, None).await;
    let html = page_html(&app, s["id"].as_str().unwrap(), None).await;
    let css = app.send(browser().get(app.url("/static/pay.css"))).await.text;
    let js = app.send(browser().get(app.url("/static/pay.js"))).await.text;
    let total = html.len() + css.len() + js.len();
    println!("page weight: html {} + css {} + js {} = {total} bytes", html.len(), css.len(), js.len());
    assert!(total < 30 * 1024, "html {} + css {} + js {} = {total} bytes", html.len(), css.len(), js.len());
}

#[tokio::test]
async fn the_3ds_and_paypal_stand_ins_speak_the_page_language_too() {
    let app = TestApp::spawn().await;
    let price = app.price(4800, "eur").await;
    let s =
        app.session(with(&price, json!({"locale": "fr", "payment_method_types": ["card", "paypal"]}))).await;
    let sid = s["id"].as_str().unwrap();
    let mut form = filled_but("card_number", Some("4000002760003184"));
    form.retain(|(k, _)| !k.starts_with("custom_field") && *k != "terms");
    let r = page_post(&app, &format!("/pay/{sid}"), &form).await;
    assert_eq!(r.header("location"), Some(format!("/pay/{sid}/3ds").as_str()), "{}", r.text);
    let html = app.send(browser().get(app.url(&format!("/pay/{sid}/3ds")))).await.text;
    assert!(html.contains("<html lang=\"fr\">") && html.contains("Confirmez votre paiement"), "{html}");
    assert!(html.contains("96,00\u{a0}€"), "{html}");
    page_post(&app, &format!("/pay/{sid}/3ds"), &[("result", "fail")]).await;
    let mut form = filled_but("payment_method", Some("paypal"));
    form.retain(|(k, _)| !k.starts_with("card_"));
    let r = page_post(&app, &format!("/pay/{sid}"), &form).await;
    assert_eq!(r.header("location"), Some(format!("/pay/{sid}/paypal").as_str()), "{}", r.text);
    let html = app.send(browser().get(app.url(&format!("/pay/{sid}/paypal")))).await.text;
    assert!(html.contains("Approuver le paiement") && html.contains("Payer 96,00\u{a0}€"), "{html}");
}

/// Every message on the page follows the session's `locale` (issue 15): what the rules say (a
/// promotion code, a quantity), the card network's answer, the error pages (by the browser's
/// language when there is no session to ask), and the script's network-error message.
#[tokio::test]
async fn rule_messages_and_error_pages_speak_the_page_language() {
    let app = TestApp::spawn().await;
    let price = app.price(4800, "eur").await;
    let s = app
        .session(json!({
            "line_items": [{"price": price, "quantity": 1, "adjustable_quantity": {"enabled": true, "minimum": 1, "maximum": 5}}],
            "allow_promotion_codes": true,
            "locale": "de",
            "success_url": "https://shop.test/ok",
        }))
        .await;
    let id = s["id"].as_str().unwrap();
    let r = page_post(&app, &format!("/pay/{id}/promotion_code"), &[("code", "NOPE")]).await;
    assert!(r.text.contains("Dieser Code ist ungültig."), "{}", r.text);
    assert!(!r.text.contains("This code is not valid."));

    // The script's JSON answer too, with the numbers carried over.
    let line = s["line_items"]["data"][0]["id"].as_str().map(str::to_owned);
    let line = match line {
        Some(l) => l,
        None => app.get(&format!("{PATH}/{id}/line_items")).await.ok()["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    let key = format!("quantity[{line}]");
    let req = browser()
        .post(app.url(&format!("/pay/{id}/quantities")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(crate::helpers::encode(&[(key.as_str(), "9")]));
    let r = app.send(req).await;
    assert_eq!(r.body["error"], "Die Menge muss zwischen 1 und 5 liegen.", "{}", r.text);

    // The card network's answer, in French.
    let fr = app.session(with(&price, json!({"locale": "fr"}))).await;
    let r = crate::pay::pay_card(&app, fr["id"].as_str().unwrap(), "4000000000000002").await;
    assert!(r.text.contains("Votre carte a été refusée."), "{}", r.text);
    // The script's own messages, for when the server cannot be reached.
    let html = page_html(&app, fr["id"].as_str().unwrap(), None).await;
    assert!(html.contains("data-network-error=\"Impossible de joindre le serveur."), "{html}");
    assert!(html.contains("data-network-error=\"Impossible de modifier la quantité. Réessayez.\""));

    // Error pages: no session to ask, so the browser's language.
    let r =
        app.send(browser().get(app.url("/pay/cs_test_nope")).header("accept-language", "ja,en;q=0.5")).await;
    assert_eq!(r.status, 404);
    assert!(
        r.text.contains("<html lang=\"ja\">") && r.text.contains("お支払いページが見つかりません"),
        "{}",
        r.text
    );
    let r =
        app.send(browser().get(app.url("/pay/cs_test_nope/recover")).header("accept-language", "nl")).await;
    assert!(
        r.text.contains("<html lang=\"nl\">") && r.text.contains("Deze link werkt niet meer"),
        "{}",
        r.text
    );
    let r = app.send(browser().get(app.url("/pay/cs_test_nope"))).await;
    assert!(r.text.contains("<html lang=\"en\">") && r.text.contains("Checkout not found"));
}

/// The tax id type select shows what people call each type; the value stays the code.
#[tokio::test]
async fn the_tax_id_select_shows_human_labels() {
    let app = TestApp::spawn().await;
    let price = app.price(4800, "eur").await;
    let s = app.session(with(&price, json!({"tax_id_collection": {"enabled": true}}))).await;
    let html = page_html(&app, s["id"].as_str().unwrap(), None).await;
    for (code, label) in [
        ("eu_vat", "EU VAT"),
        ("gb_vat", "UK VAT"),
        ("us_ein", "US EIN"),
        ("au_abn", "AU ABN"),
        ("ca_bn", "CA BN"),
        ("in_gst", "IN GST"),
    ] {
        assert!(html.contains(&format!("<option value=\"{code}\">{label}</option>")), "{code}: {html}");
    }
}

/// "Billing address same as shipping" (`billing-same-as-shipping`): checked by default when the
/// page collects both; without JavaScript, a post with it checked takes the shipping address as
/// the billing address, whatever the billing fields held; unchecked, the billing fields count.
#[tokio::test]
async fn billing_same_as_shipping_copies_the_shipping_address() {
    let app = TestApp::spawn().await;
    let (s, ..) = collecting_session(&app, None).await;
    let id = s["id"].as_str().unwrap();
    let html = page_html(&app, id, None).await;
    let boxed = html.split("data-testid=\"billing-same-as-shipping\"").next().unwrap();
    let tag = &boxed[boxed.rfind("<input").unwrap()..];
    assert!(tag.contains("checked"), "checked by default: {tag}");

    // Checked, with stale billing fields: the shipping address wins.
    let mut form = filled_but("address_country", Some("AT"));
    form.push(("billing_same_as_shipping", "on"));
    let r = page_post(&app, &format!("/pay/{id}"), &form).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let done = app.get(&format!("{PATH}/{id}")).await.ok().clone();
    let a = &done["customer_details"]["address"];
    assert_eq!(
        (&a["line1"], &a["city"], &a["postal_code"], &a["country"]),
        (&json!("Unter den Linden 1"), &json!("Berlin"), &json!("10117"), &json!("DE"))
    );

    // Unchecked (the box left out of the post): the billing fields as typed.
    let (s, ..) = collecting_session(&app, None).await;
    let id = s["id"].as_str().unwrap();
    let r = page_post(&app, &format!("/pay/{id}"), &filled_but("x", None)).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let done = app.get(&format!("{PATH}/{id}")).await.ok().clone();
    assert_eq!(done["customer_details"]["address"]["city"], "Wien");

    // Checked with no shipping address typed: the billing address is missing, said so, and a
    // refused post shows the box as it was sent.
    let (s, ..) = collecting_session(&app, None).await;
    let id = s["id"].as_str().unwrap();
    let mut form = filled_but("shipping_line1", Some(""));
    form.push(("billing_same_as_shipping", "on"));
    let r = page_post(&app, &format!("/pay/{id}"), &form).await;
    assert_eq!(r.status, 200);
    let boxed = r.text.split("data-testid=\"billing-same-as-shipping\"").next().unwrap();
    assert!(boxed[boxed.rfind("<input").unwrap()..].contains("checked"));
    let form = filled_but("shipping_line1", Some(""));
    let r = page_post(&app, &format!("/pay/{id}"), &form).await;
    let boxed = r.text.split("data-testid=\"billing-same-as-shipping\"").next().unwrap();
    assert!(!boxed[boxed.rfind("<input").unwrap()..].contains("checked"), "unchecked as sent");
}
