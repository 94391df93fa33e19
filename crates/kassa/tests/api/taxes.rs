//! Taxes on a checkout session: fixed and dynamic rates per line, automatic tax from the
//! buyer's address, prices' `tax_behavior`, exempt and reverse-charge customers and their tax ids,
//! the hosted page's `tax-amount`, and the charge equal to the taxed total. A worked table with
//! the expected cents written out, then each refusal with its bracketed `param`.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::collect::{browser, page_post};
use crate::common::id;
use crate::helpers::TestApp;

const PATH: &str = "/checkout/session";

/// A one-time price with a `tax_behavior`.
async fn price(app: &TestApp, amount: i64, currency: &str, behavior: &str) -> String {
    let product = app.product("Widget").await;
    let amount = amount.to_string();
    let r = app
        .post(
            "/prices",
            &[
                ("product", product.as_str()),
                ("unit_amount", amount.as_str()),
                ("currency", currency),
                ("tax_behavior", behavior),
            ],
        )
        .await;
    assert_eq!(r.ok()["tax_behavior"], behavior);
    id(r.ok())
}

/// The buyer enters their billing address's country and state on the page (the no-JS "Update
/// tax" button); the session as the API then shows it, with its line items.
async fn locate(app: &TestApp, sid: &str, country: &str, state: &str) -> Value {
    let r = page_post(
        app,
        &format!("/pay/{sid}/address"),
        &[("address_country", country), ("address_state", state)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    read(app, sid).await
}

async fn read(app: &TestApp, sid: &str) -> Value {
    app.get(&format!("{PATH}/{sid}?expand[]=line_items.data.taxes")).await.ok().clone()
}

fn sid(s: &Value) -> String {
    s["id"].as_str().unwrap().to_owned()
}

/// `(amount_tax, amount_total)` of a session.
fn totals(s: &Value) -> (i64, i64) {
    (s["total_details"]["amount_tax"].as_i64().unwrap(), s["amount_total"].as_i64().unwrap())
}

/// Each line's taxes as `(amount, taxable_amount, reason)`.
fn line_taxes(s: &Value) -> Vec<Vec<(i64, i64, String)>> {
    s["line_items"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["taxes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["amount"].as_i64().unwrap(),
                        t["taxable_amount"].as_i64().unwrap(),
                        t["taxability_reason"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

/// Line taxes add up to `amount_tax`, each line's `amount_tax` to its taxes, and the total is
/// subtotal − discount + shipping + exclusive taxes.
fn adds_up(s: &Value) {
    let lines = s["line_items"]["data"].as_array().unwrap();
    let mut all = 0;
    let mut exclusive = 0;
    for l in lines {
        let taxes = l["taxes"].as_array().unwrap();
        let sum: i64 = taxes.iter().map(|t| t["amount"].as_i64().unwrap()).sum();
        assert_eq!(l["amount_tax"].as_i64().unwrap(), sum);
        let ex: i64 = taxes
            .iter()
            .filter(|t| t["rate"]["inclusive"] == false)
            .map(|t| t["amount"].as_i64().unwrap())
            .sum();
        assert_eq!(
            l["amount_total"].as_i64().unwrap(),
            l["amount_subtotal"].as_i64().unwrap() - l["amount_discount"].as_i64().unwrap() + ex
        );
        all += sum;
        exclusive += ex;
    }
    let shipping_tax = s["shipping_cost"]["amount_tax"].as_i64().unwrap_or(0);
    let shipping_ex = s["shipping_cost"]["amount_total"].as_i64().unwrap_or(0)
        - s["shipping_cost"]["amount_subtotal"].as_i64().unwrap_or(0);
    assert_eq!(s["total_details"]["amount_tax"].as_i64().unwrap(), all + shipping_tax, "{s}");
    assert_eq!(
        s["amount_total"].as_i64().unwrap(),
        s["amount_subtotal"].as_i64().unwrap() - s["total_details"]["amount_discount"].as_i64().unwrap()
            + s["total_details"]["amount_shipping"].as_i64().unwrap()
            + exclusive
            + shipping_ex
    );
    assert!(s["amount_total"].as_i64().unwrap() >= 0);
}

// ---------------------------------------------------------------------------------------------
// The worked table

/// Fixed rates: each case's price, quantity, rates, discount, and the expected tax and total in
/// the minor unit, written out.
#[tokio::test]
async fn worked_table_of_fixed_rates() {
    let app = TestApp::spawn().await;
    let vat19 = app.tax_rate("19", false, Some(("DE", None))).await;
    let vat19_in = app.tax_rate("19", true, Some(("DE", None))).await;
    let gst5 = app.tax_rate("5", false, Some(("CA", None))).await;
    let qst = app.tax_rate("9.975", false, Some(("CA", Some("QC")))).await;
    let ny = app.tax_rate("8.875", false, Some(("US", Some("NY")))).await;
    let seven = app.tax_rate("7", false, None).await;
    let jct = app.tax_rate("10", false, Some(("JP", None))).await;
    let in10 = app.tax_rate("10", true, None).await;
    let in5 = app.tax_rate("5", true, None).await;
    let ten_off = app.coupon(&[("percent_off", "10"), ("duration", "once")]).await;
    let nineteen_off = app.coupon(&[("amount_off", "1900"), ("currency", "usd"), ("duration", "once")]).await;

    // (label, unit amount, currency, quantity, rates, coupon, (line taxes, amount_tax, amount_total))
    type Case<'a> = (&'a str, i64, &'a str, i64, Vec<&'a String>, Option<&'a String>, (Vec<i64>, i64, i64));
    let cases: Vec<Case<'_>> = vec![
        ("19 % exclusive on 100.00", 10_000, "usd", 1, vec![&vat19], None, (vec![1_900], 1_900, 11_900)),
        ("19 % inclusive in 119.00", 11_900, "usd", 1, vec![&vat19_in], None, (vec![1_900], 1_900, 11_900)),
        (
            "5 % GST + 9.975 % QST of 100.00",
            10_000,
            "usd",
            1,
            vec![&gst5, &qst],
            None,
            (vec![500, 998], 1_498, 11_498),
        ),
        ("8.875 % of 9.99 = 0.8866 → 0.89", 999, "usd", 1, vec![&ny], None, (vec![89], 89, 1_088)),
        ("7 % of 3 × 3.33 = 69.93 → 70", 333, "usd", 3, vec![&seven], None, (vec![70], 70, 1_069)),
        (
            "19 % after 10 % off: of 90.00",
            10_000,
            "usd",
            1,
            vec![&vat19],
            Some(&ten_off),
            (vec![1_710], 1_710, 10_710),
        ),
        (
            "inclusive after 19.00 off 119.00: 100.00 − round(100.00 / 1.19)",
            11_900,
            "usd",
            1,
            vec![&vat19_in],
            Some(&nineteen_off),
            (vec![1_597], 1_597, 10_000),
        ),
        (
            "10 % + 5 % inclusive in 10.00 share 1.30",
            1_000,
            "usd",
            1,
            vec![&in10, &in5],
            None,
            (vec![87, 43], 130, 1_000),
        ),
        ("JPY: 10 % of ¥1,005 = 100.5 → ¥101", 1_005, "jpy", 1, vec![&jct], None, (vec![101], 101, 1_106)),
        ("7 % of 0.50 = 0.035 → 0.04", 50, "usd", 1, vec![&seven], None, (vec![4], 4, 54)),
    ];
    for (label, amount, currency, quantity, rates, coupon, want) in cases {
        let p = price(&app, amount, currency, "unspecified").await;
        let mut body = json!({
            "line_items": [{"price": p, "quantity": quantity, "tax_rates": rates}],
            "success_url": "https://shop.test/ok",
        });
        if let Some(co) = coupon {
            body["discounts"] = json!([{"coupon": co}]);
        }
        let s = app.session(body).await;
        let s = read(&app, &sid(&s)).await;
        let got: Vec<i64> = line_taxes(&s)[0].iter().map(|t| t.0).collect();
        assert_eq!((got, totals(&s).0, totals(&s).1), want, "{label}");
        adds_up(&s);
        assert_eq!(s["automatic_tax"]["status"], json!(null), "{label}");
    }
}

/// Automatic tax and dynamic rates follow the address the page sends: state level first, then
/// country level; shipping taxed per its `tax_behavior`; nothing before the address is known.
#[tokio::test]
async fn worked_table_of_address_based_tax() {
    let app = TestApp::spawn().await;
    let _de = app.tax_rate("19", false, Some(("DE", None))).await;
    let _ca = app.tax_rate("7.25", false, Some(("US", Some("CA")))).await;
    let _ny = app.tax_rate("8.875", false, Some(("US", Some("NY")))).await;
    let _us = app.tax_rate("1", false, Some(("US", None))).await;
    let ex = price(&app, 10_000, "usd", "exclusive").await;
    let inc = price(&app, 11_900, "usd", "inclusive").await;

    // Automatic tax, exclusive price: nothing until the address, then 19 % for DE.
    let s = app
        .session(json!({"line_items": [{"price": ex, "quantity": 1}], "automatic_tax": {"enabled": true}}))
        .await;
    assert_eq!(
        s["automatic_tax"],
        json!({"enabled": true, "liability": {"type": "self"}, "provider": "kassa", "status": "requires_location_inputs"})
    );
    assert_eq!(s["billing_address_collection"], "required", "automatic tax asks for an address");
    assert_eq!(totals(&s), (0, 10_000));
    let id = sid(&s);
    let s = locate(&app, &id, "DE", "").await;
    assert_eq!((totals(&s), &s["automatic_tax"]["status"]), ((1_900, 11_900), &json!("complete")));
    adds_up(&s);
    // State level wins in California: 7.25 %.
    let s = locate(&app, &id, "US", "CA").await;
    assert_eq!(totals(&s), (725, 10_725));
    assert_eq!(s["line_items"]["data"][0]["taxes"][0]["rate"]["state"], "CA");
    // New York's 8.875 %; Texas has no state rate: the country-level 1 %.
    assert_eq!(totals(&locate(&app, &id, "US", "ny").await), (888, 10_888));
    assert_eq!(totals(&locate(&app, &id, "US", "TX").await), (100, 10_100));
    // No rate for France: no tax, still complete.
    let s = locate(&app, &id, "FR", "").await;
    assert_eq!((totals(&s), &s["automatic_tax"]["status"]), ((0, 10_000), &json!("complete")));

    // Inclusive price: the tax is inside; the rate shows as it applied (inclusive).
    let s = app
        .session(json!({"line_items": [{"price": inc, "quantity": 1}], "automatic_tax": {"enabled": true}}))
        .await;
    let s = locate(&app, &sid(&s), "DE", "").await;
    assert_eq!(totals(&s), (1_900, 11_900));
    assert_eq!(line_taxes(&s)[0], [(1_900, 10_000, "standard_rated".to_owned())]);
    assert_eq!(s["line_items"]["data"][0]["taxes"][0]["rate"]["inclusive"], true);

    // Shipping taxed per its rate's tax_behavior: 5.00 exclusive at 19 % = 0.95.
    let ship = id_of(
        app.post(
            "/shipping_rates",
            &[
                ("display_name", "Post"),
                ("type", "fixed_amount"),
                ("fixed_amount[amount]", "500"),
                ("fixed_amount[currency]", "usd"),
                ("tax_behavior", "exclusive"),
            ],
        )
        .await
        .ok(),
    );
    let s = app
        .session(json!({
            "line_items": [{"price": ex, "quantity": 1}],
            "automatic_tax": {"enabled": true},
            "shipping_address_collection": {"allowed_countries": ["DE", "US"]},
            "shipping_options": [{"shipping_rate": ship}],
        }))
        .await;
    assert_eq!(s["billing_address_collection"], json!(null), "the shipping address is enough");
    let r = page_post(
        &app,
        &format!("/pay/{}/address", sid(&s)),
        &[("shipping_country", "DE"), ("shipping_state", "")],
    )
    .await;
    assert_eq!(r.status, 200);
    let s = read(&app, &sid(&s)).await;
    assert_eq!(totals(&s), (1_995, 12_495));
    assert_eq!(
        s["shipping_cost"],
        json!({"amount_subtotal": 500, "amount_tax": 95, "amount_total": 595, "shipping_rate": ship})
    );
    adds_up(&s);

    // Dynamic rates: the first matching one — Austria's 20 % for an Austrian address.
    let at = app.tax_rate("20", false, Some(("AT", None))).await;
    let de = app.tax_rate("19", false, Some(("DE", None))).await;
    let plain = price(&app, 10_000, "eur", "unspecified").await;
    let s = app
        .session(json!({
            "line_items": [{"price": plain, "quantity": 1, "dynamic_tax_rates": [de, at]}],
            "billing_address_collection": "required",
        }))
        .await;
    assert_eq!(totals(&s), (0, 10_000), "no address yet");
    assert_eq!(totals(&locate(&app, &sid(&s), "AT", "").await), (2_000, 12_000));
    assert_eq!(totals(&locate(&app, &sid(&s), "DE", "").await), (1_900, 11_900));
    assert_eq!(totals(&locate(&app, &sid(&s), "CH", "").await), (0, 10_000));
}

fn id_of(v: &Value) -> String {
    id(v)
}

/// Exempt and reverse-charge customers: the rates show with 0 and the reason.
#[tokio::test]
async fn exempt_and_reverse_charge_customers_pay_no_tax() {
    let app = TestApp::spawn_with(|s| s.tax_origin_country = "DE".to_owned()).await;
    let vat = app.tax_rate("19", false, Some(("DE", None))).await;
    let p = price(&app, 10_000, "eur", "exclusive").await;
    let session_for = |customer: String| json!({"line_items": [{"price": p, "quantity": 1, "tax_rates": [vat]}], "customer": customer});

    let exempt = app.post("/customers", &[("email", "a@example.test"), ("tax_exempt", "exempt")]).await;
    assert_eq!(exempt.ok()["tax_exempt"], "exempt");
    let s = app.session(session_for(id(exempt.ok()))).await;
    let s = read(&app, &sid(&s)).await;
    assert_eq!(totals(&s), (0, 10_000));
    assert_eq!(line_taxes(&s)[0], [(0, 10_000, "customer_exempt".to_owned())]);

    // Reverse with an Austrian VAT id, the merchant in Germany: reverse charge.
    let rev =
        id(app.post("/customers", &[("email", "b@example.test"), ("tax_exempt", "reverse")]).await.ok());
    let t =
        app.post(&format!("/customers/{rev}/tax_ids"), &[("type", "eu_vat"), ("value", "ATU12345678")]).await;
    assert_eq!(t.status, 201, "{}", t.text);
    let s = read(&app, &sid(&app.session(session_for(rev.clone())).await)).await;
    assert_eq!(totals(&s), (0, 10_000));
    assert_eq!(line_taxes(&s)[0], [(0, 10_000, "reverse_charge".to_owned())]);

    // Reverse with a German VAT id (the merchant's own country), or none: taxed.
    let home =
        id(app.post("/customers", &[("email", "c@example.test"), ("tax_exempt", "reverse")]).await.ok());
    app.post(&format!("/customers/{home}/tax_ids"), &[("type", "eu_vat"), ("value", "DE123456789")])
        .await
        .ok();
    let s = read(&app, &sid(&app.session(session_for(home)).await)).await;
    assert_eq!(totals(&s), (1_900, 11_900));
    // Back to `none` by an update: taxed.
    let r = app.post(&format!("/customers/{rev}"), &[("tax_exempt", "none")]).await;
    assert_eq!(r.ok()["tax_exempt"], "none");
    let s = read(&app, &sid(&app.session(session_for(rev)).await)).await;
    assert_eq!(totals(&s), (1_900, 11_900));
}

// ---------------------------------------------------------------------------------------------
// The page and the charge

#[tokio::test]
async fn the_page_shows_the_tax_and_charges_the_taxed_total() {
    let app = TestApp::spawn().await;
    app.tax_rate("19", false, Some(("DE", None))).await;
    app.tax_rate("20", false, Some(("AT", None))).await;
    let p = price(&app, 2_400, "eur", "exclusive").await;
    let s = app
        .session(json!({"line_items": [{"price": p, "quantity": 1}], "automatic_tax": {"enabled": true}}))
        .await;
    let id = sid(&s);
    let html = app.send(browser().get(app.url(&format!("/pay/{id}")))).await.text;
    assert!(
        html.contains(r#"data-testid="tax-amount"><span class="muted">Calculated from your address"#),
        "{html}"
    );
    assert!(html.contains(r#"data-testid="tax-update""#));
    // Without JavaScript: the address form posted with "Update tax" shows the tax and the new total.
    let form = [
        ("email", "ada@example.test"),
        ("address_line1", "Hauptstraße 5"),
        ("address_city", "Wien"),
        ("address_postal_code", "1010"),
        ("address_state", ""),
        ("address_country", "AT"),
    ];
    let r = page_post(&app, &format!("/pay/{id}/address"), &form).await;
    assert!(r.text.contains(r#"data-testid="tax-amount">€4.80"#), "{}", r.text);
    assert!(r.text.contains(r#"data-testid="total-amount">€28.80"#));
    assert!(r.text.contains(r#"value="Hauptstraße 5""#), "the form comes back as typed");
    // The script's JSON answer.
    let r = app
        .send(
            browser()
                .post(app.url(&format!("/pay/{id}/address")))
                .header("accept", "application/json")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("address_country=DE"),
        )
        .await;
    assert_eq!((&r.body["tax"], &r.body["total"]), (&json!("€4.56"), &json!("€28.56")), "{}", r.text);

    // Paying with an Austrian address after the page showed Germany's tax: the total changes, so
    // the buyer is asked to check it, and nothing is charged.
    let mut pay = form.to_vec();
    pay.extend([
        ("name", "Ada"),
        ("payment_method", "card"),
        ("card_number", "4242424242424242"),
        ("card_expiry", "12/34"),
        ("card_cvc", "123"),
    ]);
    let r = page_post(&app, &format!("/pay/{id}"), &pay).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("The tax changed with your address"), "{}", r.text);
    assert!(r.text.contains(r#"data-testid="tax-amount">€4.80"#));
    assert_eq!(read(&app, &id).await["payment_intent"], json!(null));
    // Paying again charges the taxed total.
    let r = page_post(&app, &format!("/pay/{id}"), &pay).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let s = read(&app, &id).await;
    assert_eq!((s["status"].as_str(), totals(&s)), (Some("complete"), (480, 2_880)));
    let pi = app.get(&format!("/payment_intents/{}", s["payment_intent"].as_str().unwrap())).await;
    assert_eq!(pi.ok()["amount"], 2_880, "the charge is the taxed total");
}

#[tokio::test]
async fn tax_ids_collected_on_the_page_land_on_the_customer_and_reverse_the_charge() {
    let app = TestApp::spawn_with(|s| s.tax_origin_country = "DE".to_owned()).await;
    let vat = app.tax_rate("19", false, Some(("DE", None))).await;
    let p = price(&app, 10_000, "eur", "exclusive").await;
    let cus =
        id(app.post("/customers", &[("email", "b@example.test"), ("tax_exempt", "reverse")]).await.ok());
    let s = app
        .session(json!({
            "line_items": [{"price": p, "quantity": 1, "tax_rates": [vat]}],
            "customer": cus,
            "tax_id_collection": {"enabled": true},
        }))
        .await;
    let id = sid(&s);
    assert_eq!(totals(&s), (1_900, 11_900));
    let pay = [
        ("email", "b@example.test"),
        ("name", "B"),
        ("payment_method", "card"),
        ("card_number", "4242424242424242"),
        ("card_expiry", "12/34"),
        ("card_cvc", "123"),
        ("tax_id_type", "eu_vat"),
        ("tax_id_value", "ATU12345678"),
    ];
    // The VAT id changes what is due: check first, then pay.
    let r = page_post(&app, &format!("/pay/{id}"), &pay).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("The tax changed with your address"), "{}", r.text);
    assert!(r.text.contains(r#"data-testid="tax-amount">€0.00"#), "{}", r.text);
    let r = page_post(&app, &format!("/pay/{id}"), &pay).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let s = read(&app, &id).await;
    assert_eq!(totals(&s), (0, 10_000));
    assert_eq!(s["customer_details"]["tax_exempt"], "reverse");
    let ids = app.get(&format!("/customers/{cus}/tax_ids")).await;
    let data = ids.ok()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 1);
    assert!(app.event_types().await.contains(&"customer.tax_id.created".to_owned()));
    assert_eq!(
        (&data[0]["type"], &data[0]["value"], &data[0]["country"]),
        (&json!("eu_vat"), &json!("ATU12345678"), &json!("AT"))
    );
}

// ---------------------------------------------------------------------------------------------
// Customers' tax ids

#[tokio::test]
async fn customer_tax_ids_are_created_listed_retrieved_and_deleted() {
    let app = TestApp::spawn().await;
    let cus = id(app.post("/customers", &[("email", "a@example.test")]).await.ok());
    let path = format!("/customers/{cus}/tax_ids");
    let r = app.post(&path, &[("type", "eu_vat"), ("value", "DE123456789")]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let t = r.body.clone();
    let tid = id(&t);
    assert!(tid.starts_with("txi_"), "{tid}");
    assert_eq!(
        (&t["object"], &t["country"], &t["customer"], &t["owner"]),
        (
            &json!("tax_id"),
            &json!("DE"),
            &json!(cus),
            &json!({"customer": cus, "customer_account": null, "type": "customer"})
        )
    );
    // The same type and value again: the same id.
    assert_eq!(id(app.post(&path, &[("type", "eu_vat"), ("value", "DE123456789")]).await.ok()), tid);
    let v1 = app.post(&format!("/v1{path}"), &[("type", "us_ein"), ("value", "12-3456789")]).await;
    assert_eq!(v1.status, 200, "{}", v1.text);
    assert_eq!(app.get(&format!("{path}/{tid}")).await.ok(), &t);
    let list = app.get(&path).await;
    assert_eq!(list.ok()["data"].as_array().unwrap().len(), 2);
    assert_eq!(list.ok()["data"][0]["type"], "us_ein", "newest first");
    let created = app.get("/events?type=customer.tax_id.created").await;
    assert_eq!(
        created.ok()["data"].as_array().unwrap().len(),
        2,
        "one event per new id, none for the repeat"
    );
    assert_eq!(created.ok()["data"][1]["data"]["object"], t);
    let d = app.delete(&format!("{path}/{tid}")).await;
    assert_eq!(d.ok(), &json!({"id": tid, "object": "tax_id", "deleted": true}));
    assert_eq!(app.get(&format!("{path}/{tid}")).await.status, 404);
    assert_eq!(app.delete(&format!("{path}/{tid}")).await.status, 404);
    let deleted = app.get("/events?type=customer.tax_id.deleted").await;
    assert_eq!(deleted.ok()["data"][0]["data"]["object"]["id"], tid.as_str());
    // Refusals.
    app.post(&path, &[("type", "xx_vat"), ("value", "1")]).await.invalid("type");
    let e = app.post(&path, &[("type", "eu_vat"), ("value", "DE12")]).await.invalid("value").clone();
    assert_eq!(e["code"], "tax_id_invalid");
    let e = app.post(&path, &[("value", "DE123456789")]).await.invalid("type").clone();
    assert_eq!(e["code"], "parameter_missing");
    assert_eq!(
        app.post("/customers/cus_nope/tax_ids", &[("type", "eu_vat"), ("value", "DE123456789")]).await.status,
        404
    );
    app.post("/customers", &[("tax_exempt", "sometimes")]).await.invalid("tax_exempt");
}

// ---------------------------------------------------------------------------------------------
// Prices' tax_behavior

#[tokio::test]
async fn a_price_tax_behavior_is_set_once() {
    let app = TestApp::spawn().await;
    let p = price(&app, 1_000, "usd", "unspecified").await;
    let r = app.post(&format!("/prices/{p}"), &[("tax_behavior", "inclusive")]).await;
    assert_eq!(r.ok()["tax_behavior"], "inclusive");
    app.post(&format!("/prices/{p}"), &[("tax_behavior", "exclusive")]).await.invalid("tax_behavior");
    assert_eq!(app.post(&format!("/prices/{p}"), &[("tax_behavior", "inclusive")]).await.status, 200);
    let product = app.product("W").await;
    app.post(
        "/prices",
        &[("product", &product), ("unit_amount", "1"), ("currency", "usd"), ("tax_behavior", "both")],
    )
    .await
    .invalid("tax_behavior");
}

// ---------------------------------------------------------------------------------------------
// Bad input

#[tokio::test]
async fn each_refusal_names_the_bracketed_param_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let a = app.tax_rate("19", false, Some(("DE", None))).await;
    let b = app.tax_rate("7", false, Some(("DE", None))).await;
    let nowhere = app.tax_rate("5", false, None).await;
    let off = app.tax_rate("5", false, Some(("AT", None))).await;
    app.post(&format!("/tax_rates/{off}"), &[("active", "false")]).await.ok();
    let other = app.new_account("Other shop").await;
    let foreign = id(app
        .post_as(&other, "/tax_rates", &[("display_name", "X"), ("percentage", "5"), ("inclusive", "false")])
        .await
        .ok());
    let plain = price(&app, 1_000, "usd", "unspecified").await;
    let ex = price(&app, 1_000, "usd", "exclusive").await;
    let monthly = app.recurring_price(1_000, "usd", "month").await;
    let monthly_ex = app.recurring_price(1_000, "usd", "month").await;
    app.post(&format!("/prices/{monthly_ex}"), &[("tax_behavior", "exclusive")]).await.ok();
    let six: Vec<String> = vec![a.clone(), b.clone(), nowhere.clone(), a.clone(), b.clone(), nowhere.clone()];
    let line = |price: &str, extra: Value| {
        let mut l = json!({"price": price, "quantity": 1});
        for (k, v) in extra.as_object().unwrap() {
            l[k] = v.clone();
        }
        l
    };
    let before = app.count(PATH).await;
    for (body, param, code) in [
        (
            json!({"line_items": [line(&plain, json!({"tax_rates": six}))]}),
            "line_items[0][tax_rates]",
            "parameter_invalid",
        ),
        (
            json!({"line_items": [line(&plain, json!({})), line(&plain, json!({"tax_rates": [a, "txr_nope"]}))]}),
            "line_items[1][tax_rates][1]",
            "resource_missing",
        ),
        (
            json!({"line_items": [line(&plain, json!({"tax_rates": [a, off]}))]}),
            "line_items[0][tax_rates][1]",
            "parameter_invalid",
        ),
        (
            json!({"line_items": [line(&plain, json!({"tax_rates": [foreign]}))]}),
            "line_items[0][tax_rates][0]",
            "resource_missing",
        ),
        (
            json!({"line_items": [line(&plain, json!({"tax_rates": [a, a]}))]}),
            "line_items[0][tax_rates][1]",
            "parameter_invalid",
        ),
        (
            json!({"line_items": [line(&plain, json!({"tax_rates": [""]}))]}),
            "line_items[0][tax_rates][0]",
            "parameter_invalid_empty",
        ),
        (
            json!({"line_items": [line(&plain, json!({"dynamic_tax_rates": [a]}))]}),
            "line_items[0][dynamic_tax_rates]",
            "parameter_invalid",
        ),
        (
            json!({"line_items": [line(&plain, json!({"dynamic_tax_rates": [nowhere]}))], "billing_address_collection": "required"}),
            "line_items[0][dynamic_tax_rates][0]",
            "parameter_invalid",
        ),
        (
            json!({"line_items": [line(&plain, json!({"tax_rates": [a], "dynamic_tax_rates": [b]}))], "billing_address_collection": "required"}),
            "line_items[0][dynamic_tax_rates]",
            "parameters_exclusive",
        ),
        (
            json!({"line_items": [line(&ex, json!({"tax_rates": [a]}))], "automatic_tax": {"enabled": true}}),
            "line_items[0][tax_rates]",
            "parameters_exclusive",
        ),
        (
            json!({"line_items": [line(&ex, json!({})), line(&plain, json!({}))], "automatic_tax": {"enabled": true}}),
            "line_items[1][price]",
            "parameter_invalid",
        ),
        (
            json!({"line_items": [line(&ex, json!({}))], "automatic_tax": {}}),
            "automatic_tax[enabled]",
            "parameter_missing",
        ),
        (
            json!({"line_items": [line(&monthly_ex, json!({}))], "automatic_tax": {"enabled": true}, "subscription_data": {"default_tax_rates": [a]}}),
            "subscription_data[default_tax_rates]",
            "parameters_exclusive",
        ),
        (
            json!({"line_items": [line(&monthly, json!({}))], "subscription_data": {"default_tax_rates": [a, "txr_nope"]}}),
            "subscription_data[default_tax_rates][1]",
            "resource_missing",
        ),
        (
            json!({"line_items": [line(&monthly, json!({}))], "subscription_data": {"default_tax_rates": six}}),
            "subscription_data[default_tax_rates]",
            "parameter_invalid",
        ),
        (
            json!({"line_items": [line(&plain, json!({}))], "subscription_data": {"default_tax_rates": [a]}}),
            "subscription_data",
            "parameter_invalid",
        ),
        (
            json!({"line_items": [line(&monthly, json!({}))], "automatic_tax": {"enabled": true}}),
            "line_items[0][price]",
            "parameter_invalid",
        ),
        (
            json!({"line_items": [line(&plain, json!({"tax_rates": "txr_x"}))]}),
            "line_items[0][tax_rates]",
            "parameter_invalid",
        ),
    ] {
        let r = app.post_json(PATH, &body).await;
        let e = r.invalid(param);
        assert_eq!(e["code"], code, "{param}: {}", r.text);
    }
    assert_eq!(app.count(PATH).await, before, "nothing is created on refusal");
    // The same in form encoding, as the SDKs send it.
    let r = app
        .post(
            PATH,
            &[
                ("line_items[0][price]", &plain),
                ("line_items[0][quantity]", "1"),
                ("line_items[0][tax_rates][0]", &a),
                ("line_items[0][tax_rates][1]", "txr_missing"),
            ],
        )
        .await;
    assert_eq!(r.invalid("line_items[0][tax_rates][1]")["code"], "resource_missing");
    let r = app
        .post(
            PATH,
            &[
                ("line_items[0][price]", &plain),
                ("line_items[0][quantity]", "1"),
                ("line_items[0][tax_rates][0]", &a),
                ("mode", "payment"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["amount_total"], 1_190);
}

// ---------------------------------------------------------------------------------------------
// Subscriptions and invoices

/// A year of a monthly 20.00 plan with `subscription_data[default_tax_rates]` (8.875 % exclusive)
/// and a 25 % coupon for three months, on a test clock: every invoice taxed after its discount,
/// the rate deactivated after the checkout still applying, and the first charge equal to the
/// session's taxed total.
#[tokio::test]
async fn a_year_of_a_taxed_monthly_subscription() {
    use crate::billing::{advance, clock_and_customer, invoices, subscribe, subscription, ts};
    let app = TestApp::spawn().await;
    let start = ts(2027, 1, 15);
    let (clock, cus) = clock_and_customer(&app, start).await;
    let ny = app.tax_rate("8.875", false, Some(("US", Some("NY")))).await;
    let three =
        app.coupon(&[("percent_off", "25"), ("duration", "repeating"), ("duration_in_months", "3")]).await;
    let extra = json!({"subscription_data": {"default_tax_rates": [ny]}, "discounts": [{"coupon": three}]});
    let sub = subscribe(&app, Some(&cus), 2000, "month", "4242424242424242", extra).await;
    let sid = id(&sub);
    assert_eq!(sub["items"]["data"][0]["tax_rates"][0]["id"], ny.as_str());
    assert_eq!(
        sub["default_tax_rates"][0]["id"],
        ny.as_str(),
        "subscription_data[default_tax_rates] reads back"
    );
    // The rate is retired after the checkout: the subscription keeps it.
    app.post(&format!("/tax_rates/{ny}"), &[("active", "false")]).await.ok();

    let first = invoices(&app, &sid).await[0].clone();
    // 20.00 − 25 % = 15.00; 8.875 % of it = 1.33125 → 1.33.
    assert_eq!(
        (&first["subtotal"], &first["total_discount_amounts"][0]["amount"], &first["tax"], &first["total"]),
        (&json!(2000), &json!(500), &json!(133), &json!(1633))
    );
    assert_eq!(
        first["total_tax_amounts"],
        json!([{"amount": 133, "inclusive": false, "tax_rate": ny, "taxability_reason": "standard_rated", "taxable_amount": 1500}])
    );
    assert_eq!(first["lines"]["data"][0]["tax_amounts"], first["total_tax_amounts"]);
    assert_eq!(first["lines"]["data"][0]["tax_rates"][0]["id"], ny.as_str());
    assert_eq!(first["total_excluding_tax"], 1500);
    let pi = app.get(&format!("/payment_intents/{}", first["payment_intent"].as_str().unwrap())).await;
    assert_eq!(pi.ok()["amount"], 1633, "the first charge is the taxed total");

    advance(&app, &clock, ts(2028, 1, 15)).await;
    let inv = invoices(&app, &sid).await;
    assert_eq!(inv.len(), 13);
    let taxes: Vec<i64> = inv.iter().map(|i| i["tax"].as_i64().unwrap()).collect();
    let paid: Vec<i64> = inv.iter().map(|i| i["amount_paid"].as_i64().unwrap()).collect();
    // Three discounted months, then 8.875 % of 20.00 = 1.775 → 1.78.
    assert_eq!(taxes, [133, 133, 133, 178, 178, 178, 178, 178, 178, 178, 178, 178, 178]);
    assert_eq!(paid, [1633, 1633, 1633, 2178, 2178, 2178, 2178, 2178, 2178, 2178, 2178, 2178, 2178]);
    for i in &inv {
        let line_taxes: i64 = i["lines"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["tax_amounts"].as_array().unwrap().clone())
            .map(|t| t["amount"].as_i64().unwrap())
            .sum();
        assert_eq!(line_taxes, i["tax"].as_i64().unwrap(), "line taxes add up to the invoice's");
    }
    assert_eq!(subscription(&app, &sid).await["status"], "active");
}

/// A line's own inclusive rate in subscription mode: in the price, so nothing is added.
#[tokio::test]
async fn an_inclusive_line_rate_on_a_subscription_is_inside_the_price() {
    let app = TestApp::spawn().await;
    let vat = app.tax_rate("19", true, Some(("DE", None))).await;
    let plan = app.recurring_price(1190, "usd", "month").await;
    let s = app
        .session(json!({
            "line_items": [{"price": plan, "quantity": 1, "tax_rates": [vat]}],
            "success_url": "https://shop.test/ok",
        }))
        .await;
    assert_eq!(totals(&s), (190, 1190));
    let r = crate::pay::pay_card(&app, &sid(&s), "4242424242424242").await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let s = app.get(&format!("{PATH}/{}?expand[]=invoice", sid(&s))).await.ok().clone();
    let inv = &s["invoice"];
    assert_eq!((&inv["tax"], &inv["total"], &inv["amount_paid"]), (&json!(190), &json!(1190), &json!(1190)));
    assert_eq!(inv["total_tax_amounts"][0]["inclusive"], true);
    assert_eq!(inv["lines"]["data"][0]["amount_excluding_tax"], 1000);
}

/// `customer` buys a monthly plan of 10.00 EUR (tax exclusive) with automatic tax on the page,
/// from Berlin (19 % once located); returns the subscription's id.
async fn automatic_tax_subscription(app: &TestApp, customer: &str) -> String {
    let plan = app.recurring_price(1000, "eur", "month").await;
    app.post(&format!("/prices/{plan}"), &[("tax_behavior", "exclusive")]).await.ok();
    let s = app
        .session(json!({
            "line_items": [{"price": plan, "quantity": 1}],
            "customer": customer,
            "automatic_tax": {"enabled": true},
            "success_url": "https://shop.test/ok",
        }))
        .await;
    let id = sid(&s);
    assert_eq!(locate(app, &id, "DE", "").await["amount_total"], 1190);
    let pay = [
        ("email", "clock@example.test"),
        ("name", "Ada"),
        ("payment_method", "card"),
        ("card_number", "4242424242424242"),
        ("card_expiry", "12/34"),
        ("card_cvc", "123"),
        ("address_line1", "Unter den Linden 1"),
        ("address_city", "Berlin"),
        ("address_postal_code", "10117"),
        ("address_country", "DE"),
    ];
    assert_eq!(page_post(app, &format!("/pay/{id}"), &pay).await.status, 303);
    read(app, &id).await["subscription"].as_str().unwrap().to_owned()
}

/// Automatic tax on a subscription: the rate for the address given at checkout taxes every
/// invoice.
#[tokio::test]
async fn automatic_tax_on_a_subscription_taxes_every_invoice() {
    use crate::billing::{advance, clock_and_customer, invoices, ts};
    let app = TestApp::spawn().await;
    let start = ts(2027, 3, 1);
    let (clock, cus) = clock_and_customer(&app, start).await;
    app.tax_rate("19", false, Some(("DE", None))).await;
    let sub = automatic_tax_subscription(&app, &cus).await;
    advance(&app, &clock, ts(2027, 6, 1)).await;
    let inv = invoices(&app, &sub).await;
    let paid: Vec<(i64, i64)> =
        inv.iter().map(|i| (i["tax"].as_i64().unwrap(), i["amount_paid"].as_i64().unwrap())).collect();
    assert_eq!(paid, [(190, 1190); 4]);
}

/// A line item's `taxes` and `discounts` are includable, as on Stripe: left out of the session's
/// `line_items` and of the line items list unless `expand[]` names them (`line_items.data.taxes`,
/// `data.taxes`, `data.discounts`, `data.line_items.data.taxes` on the session list).
#[tokio::test]
async fn line_item_taxes_and_discounts_only_when_expanded() {
    let app = TestApp::spawn().await;
    let vat = app.tax_rate("19", false, Some(("DE", None))).await;
    let p = price(&app, 10_000, "eur", "unspecified").await;
    let off = app.coupon(&[("percent_off", "10"), ("duration", "once")]).await;
    let s = app
        .session(json!({
            "line_items": [{"price": p, "quantity": 1, "tax_rates": [vat]}],
            "discounts": [{"coupon": off}],
            "success_url": "https://shop.test/ok",
        }))
        .await;
    let id = sid(&s);

    let plain = app.get(&format!("{PATH}/{id}?expand[]=line_items")).await.ok().clone();
    let line = &plain["line_items"]["data"][0];
    assert_eq!(line["amount_tax"], 1_710, "the amounts stay");
    assert!(line.get("taxes").is_none() && line.get("discounts").is_none(), "{line}");
    let listed = app.get(&format!("{PATH}/{id}/line_items")).await.ok().clone();
    assert!(listed["data"][0].get("taxes").is_none() && listed["data"][0].get("discounts").is_none());

    let taxed = app.get(&format!("{PATH}/{id}?expand[]=line_items.data.taxes")).await.ok().clone();
    let line = &taxed["line_items"]["data"][0];
    assert_eq!(line["taxes"][0]["amount"], 1_710);
    assert_eq!(line["taxes"][0]["taxable_amount"], 9_000);
    assert_eq!(line["taxes"][0]["rate"]["id"], vat.as_str());
    assert!(line.get("discounts").is_none());

    let both = app.get(&format!("{PATH}/{id}/line_items?expand[]=data.taxes&expand[]=data.discounts")).await;
    let line = &both.ok()["data"][0];
    assert_eq!(line["taxes"][0]["amount"], 1_710);
    assert_eq!(line["discounts"][0]["amount"], 1_000);
    let d = &line["discounts"][0]["discount"];
    assert_eq!((&d["object"], &d["checkout_session"]), (&json!("discount"), &json!(id)));
    assert_eq!(d["coupon"]["id"], off.as_str(), "the coupon embedded");

    let listed = app.get(&format!("{PATH}?expand[]=data.line_items.data.discounts")).await.ok().clone();
    let mine = listed["data"].as_array().unwrap().iter().find(|s| s["id"] == id.as_str()).unwrap();
    let line = &mine["line_items"]["data"][0];
    assert_eq!(line["discounts"][0]["amount"], 1_000);
    assert!(line.get("taxes").is_none());

    // A path past the includable field is refused on `expand`.
    let r = app.get(&format!("{PATH}/{id}/line_items?expand[]=data.taxes.rate")).await;
    r.invalid("expand");
}

/// Automatic tax on a subscription follows the customer: each invoice takes the rate for the
/// customer's address as it is when the invoice is made — shipping first, then billing — and
/// their `tax_exempt` as it is then. Invoices say so in `automatic_tax`, `customer_tax_exempt`,
/// `total_tax_amounts`/`total_taxes` and each line's `tax_amounts`/`taxes`.
#[tokio::test]
async fn automatic_tax_on_a_subscription_follows_the_customers_address() {
    use crate::billing::{advance, clock_and_customer, invoices, subscription, ts};
    let app = TestApp::spawn().await;
    let (clock, cus) = clock_and_customer(&app, ts(2027, 3, 1)).await;
    let r = app
        .post(&format!("/customers/{cus}"), &[("address[country]", "de"), ("address[city]", "Berlin")])
        .await;
    assert_eq!(r.ok()["address"]["country"], "DE");
    let de = app.tax_rate("19", false, Some(("DE", None))).await;
    let fr = app.tax_rate("20", false, Some(("FR", None))).await;
    let at = app.tax_rate("10", false, Some(("AT", None))).await;
    let sub = automatic_tax_subscription(&app, &cus).await;
    assert_eq!(subscription(&app, &sub).await["automatic_tax"]["enabled"], true);

    advance(&app, &clock, ts(2027, 4, 1)).await;
    let inv = invoices(&app, &sub).await;
    assert_eq!(inv.len(), 2);
    for i in &inv {
        assert_eq!(i["automatic_tax"], json!({"enabled": true, "status": "complete"}), "{i}");
        assert_eq!(i["customer_tax_exempt"], "none");
        assert_eq!((&i["tax"], &i["amount_paid"]), (&json!(190), &json!(1190)));
        assert_eq!(i["total_tax_amounts"][0]["tax_rate"], de.as_str());
        assert_eq!(
            i["total_taxes"],
            json!([{"amount": 190, "tax_behavior": "exclusive", "tax_rate_details": {"tax_rate": de},
                    "taxability_reason": "standard_rated", "taxable_amount": 1000, "type": "tax_rate_details"}])
        );
        let line = &i["lines"]["data"][0];
        assert_eq!(
            (&line["tax_amounts"][0]["amount"], &line["taxes"][0]["amount"]),
            (&json!(190), &json!(190))
        );
    }

    // The customer moves to France: the preview and the next invoice take 20 %.
    app.post(&format!("/customers/{cus}"), &[("address[country]", "FR"), ("address[city]", "Paris")])
        .await
        .ok();
    let up = app.get(&format!("/invoices/upcoming?subscription={sub}")).await;
    assert_eq!((&up.ok()["tax"], &up.ok()["total"]), (&json!(200), &json!(1200)), "{}", up.text);
    advance(&app, &clock, ts(2027, 5, 1)).await;
    let last = invoices(&app, &sub).await.pop().unwrap();
    assert_eq!((&last["tax"], &last["amount_paid"]), (&json!(200), &json!(1200)));
    assert_eq!(last["lines"]["data"][0]["tax_rates"][0]["id"], fr.as_str());

    // A shipping address wins over the billing one.
    let ship = [
        ("shipping[name]", "Ada"),
        ("shipping[address][country]", "AT"),
        ("shipping[address][city]", "Wien"),
    ];
    assert_eq!(
        app.post(&format!("/customers/{cus}"), &ship).await.ok()["shipping"]["address"]["country"],
        "AT"
    );
    advance(&app, &clock, ts(2027, 6, 1)).await;
    let last = invoices(&app, &sub).await.pop().unwrap();
    assert_eq!((&last["tax"], &last["total_tax_amounts"][0]["tax_rate"]), (&json!(100), &json!(at)));

    // Exempt from then on: the rate shows with 0.
    app.post(&format!("/customers/{cus}"), &[("tax_exempt", "exempt")]).await.ok();
    advance(&app, &clock, ts(2027, 7, 1)).await;
    let last = invoices(&app, &sub).await.pop().unwrap();
    assert_eq!(
        (&last["tax"], &last["amount_paid"], &last["customer_tax_exempt"]),
        (&json!(0), &json!(1000), &json!("exempt"))
    );
    assert_eq!(last["total_tax_amounts"][0]["taxability_reason"], "customer_exempt");
}

/// A payment-mode session with `invoice_creation`: the invoice is taxed as the session was, so
/// it adds up to what was paid.
#[tokio::test]
async fn a_payment_invoice_carries_the_sessions_taxes() {
    let app = TestApp::spawn().await;
    let vat = app.tax_rate("19", false, Some(("DE", None))).await;
    let p = price(&app, 10_000, "eur", "unspecified").await;
    let s = app
        .session(json!({
            "line_items": [{"price": p, "quantity": 1, "tax_rates": [vat]}],
            "invoice_creation": {"enabled": true},
            "success_url": "https://shop.test/ok",
        }))
        .await;
    let r = crate::pay::pay_card(&app, &sid(&s), "4242424242424242").await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let s = app.get(&format!("{PATH}/{}?expand[]=invoice", sid(&s))).await.ok().clone();
    let inv = &s["invoice"];
    assert_eq!(
        (&inv["tax"], &inv["total"], &inv["amount_paid"]),
        (&json!(1900), &json!(11_900), &json!(11_900))
    );
    assert_eq!(inv["automatic_tax"], json!({"enabled": false, "status": null}));
    assert_eq!(inv["lines"]["data"][0]["tax_amounts"][0]["amount"], 1900);
}

/// Bad addresses on a customer are refused naming the bracketed param; nothing is written.
#[tokio::test]
async fn customer_address_and_shipping_refusals() {
    let app = TestApp::spawn().await;
    let c = id(app
        .post(
            "/customers",
            &[("email", "a@example.test"), ("address[country]", "US"), ("address[state]", "NY")],
        )
        .await
        .ok());
    let r = app.post(&format!("/customers/{c}"), &[("address[country]", "Narnia")]).await;
    r.invalid("address[country]");
    let r = app.post(&format!("/customers/{c}"), &[("shipping[address][country]", "DE")]).await;
    r.invalid("shipping[name]");
    let r =
        app.post(&format!("/customers/{c}"), &[("shipping[name]", "Ada"), ("address[country]", "DE")]).await;
    r.invalid("shipping[address]");
    let r = app.post(&format!("/customers/{c}"), &[("address[bogus]", "x")]).await;
    assert_eq!(r.status, 400);
    let after = app.get(&format!("/customers/{c}")).await;
    assert_eq!(
        (&after.ok()["address"]["country"], &after.ok()["address"]["state"]),
        (&json!("US"), &json!("NY"))
    );
    assert_eq!(after.ok()["shipping"], json!(null));
}

/// `/customers/{id}/tax_ids` pages like every list: `limit`, `starting_after`, `ending_before`,
/// newest first.
#[tokio::test]
async fn tax_ids_paginate() {
    let app = TestApp::spawn().await;
    let c = id(app.post("/customers", &[("email", "ids@example.test")]).await.ok());
    let mut made = Vec::new();
    for v in ["DE123456789", "ATU12345678", "FR12345678901"] {
        made.push(id(app
            .post(&format!("/customers/{c}/tax_ids"), &[("type", "eu_vat"), ("value", v)])
            .await
            .ok()));
    }
    let path = format!("/customers/{c}/tax_ids");
    let ids = |v: &Value| v["data"].as_array().unwrap().iter().map(id).collect::<Vec<_>>();
    let first = app.get(&format!("{path}?limit=2")).await.ok().clone();
    assert_eq!((ids(&first), &first["has_more"]), (vec![made[2].clone(), made[1].clone()], &json!(true)));
    let next = app.get(&format!("{path}?limit=2&starting_after={}", made[1])).await.ok().clone();
    assert_eq!((ids(&next), &next["has_more"]), (vec![made[0].clone()], &json!(false)));
    let back = app.get(&format!("{path}?limit=1&ending_before={}", made[0])).await.ok().clone();
    assert_eq!((ids(&back), &back["has_more"]), (vec![made[1].clone()], &json!(true)));
    app.get(&format!("{path}?starting_after=txi_nope")).await.invalid("starting_after");
    app.get(&format!("{path}?starting_after={}&ending_before={}", made[0], made[1])).await.error(400);
    app.get(&format!("{path}?limit=0")).await.invalid("limit");
}
