//! Tax rates (`/tax_rates`, `/v1/tax_rates`), as Stripe's: create with every field, retrieve,
//! update (never `percentage` or `inclusive`), list with `active`, `inclusive` and `created`; and
//! each refusal with its bracketed `param`.

#![allow(clippy::unwrap_used)]

use kassa_core::time::Clock;
use serde_json::json;

use crate::common::id;
use crate::helpers::TestApp;

#[tokio::test]
async fn a_tax_rate_is_created_retrieved_and_shaped_as_stripes() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let r = app
        .post(
            "/tax_rates",
            &[
                ("display_name", "Sales Tax"),
                ("percentage", "8.875"),
                ("inclusive", "false"),
                ("country", "us"),
                ("state", "ny"),
                ("jurisdiction", "US - NY"),
                ("description", "New York City sales tax"),
                ("tax_type", "sales_tax"),
                ("metadata[region]", "nyc"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rate = r.body.clone();
    let id = id(&rate);
    assert!(id.starts_with("txr_"), "{id}");
    assert_eq!(
        rate,
        json!({
            "id": id,
            "object": "tax_rate",
            "active": true,
            "country": "US",
            "created": now,
            "description": "New York City sales tax",
            "display_name": "Sales Tax",
            "effective_percentage": 8.875,
            "flat_amount": null,
            "inclusive": false,
            "jurisdiction": "US - NY",
            "jurisdiction_level": null,
            "livemode": false,
            "metadata": {"region": "nyc"},
            "percentage": 8.875,
            "rate_type": "percentage",
            "state": "NY",
            "tax_type": "sales_tax",
        })
    );
    assert_eq!(app.get(&format!("/tax_rates/{id}")).await.ok(), &rate);
    assert_eq!(app.get(&format!("/v1/tax_rates/{id}")).await.ok(), &rate, "the /v1 path is the same object");

    // JSON and a whole number: 19 % VAT, inclusive.
    let vat = app
        .post_json(
            "/v1/tax_rates",
            &json!({"display_name": "VAT", "percentage": 19, "inclusive": true, "country": "DE", "tax_type": "vat"}),
        )
        .await;
    assert_eq!(vat.status, 200, "/v1 answers 200 where the native route answers 201: {}", vat.text);
    assert_eq!((vat.body["percentage"].as_f64(), vat.body["inclusive"].as_bool()), (Some(19.0), Some(true)));
    assert_eq!(vat.body["state"], json!(null));
}

#[tokio::test]
async fn an_update_changes_what_stripe_lets_it_and_never_the_percentage() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/tax_rates",
            &[("display_name", "VAT"), ("percentage", "20"), ("inclusive", "true"), ("country", "GB")],
        )
        .await;
    let id = id(r.ok());
    let u = app
        .post(
            &format!("/tax_rates/{id}"),
            &[
                ("display_name", "UK VAT"),
                ("active", "false"),
                ("description", "Standard rate"),
                ("jurisdiction", "GB"),
                ("tax_type", "vat"),
                ("metadata[k]", "v"),
            ],
        )
        .await;
    let u = u.ok();
    assert_eq!(
        (
            &u["display_name"],
            &u["active"],
            &u["description"],
            &u["jurisdiction"],
            &u["tax_type"],
            &u["metadata"]
        ),
        (
            &json!("UK VAT"),
            &json!(false),
            &json!("Standard rate"),
            &json!("GB"),
            &json!("vat"),
            &json!({"k": "v"})
        )
    );
    assert_eq!((u["percentage"].as_f64(), &u["inclusive"]), (Some(20.0), &json!(true)));

    for (param, value) in [("percentage", "5"), ("inclusive", "false")] {
        let refused = app.post(&format!("/tax_rates/{id}"), &[(param, value)]).await;
        let e = refused.invalid(param);
        assert_eq!(e["code"], "parameter_unknown", "{}", refused.text);
    }
    let after = app.get(&format!("/tax_rates/{id}")).await;
    assert_eq!((after.ok()["percentage"].as_f64(), &after.body["inclusive"]), (Some(20.0), &json!(true)));

    let missing = app.post("/tax_rates/txr_missing", &[("active", "true")]).await;
    assert_eq!(missing.error(404)["code"], "resource_missing");
}

#[tokio::test]
async fn lists_filter_on_active_inclusive_and_created() {
    let app = TestApp::spawn().await;
    let mk = |name: &'static str, inclusive: &'static str, active: &'static str| {
        let app = &app;
        async move {
            let r = app
                .post(
                    "/tax_rates",
                    &[
                        ("display_name", name),
                        ("percentage", "10"),
                        ("inclusive", inclusive),
                        ("active", active),
                    ],
                )
                .await;
            id(r.ok())
        }
    };
    let a = mk("A", "true", "true").await;
    let b = mk("B", "false", "true").await;
    let c = mk("C", "false", "false").await;
    assert_eq!(app.list_ids("/tax_rates").await, [c.clone(), b.clone(), a.clone()], "newest first");
    assert_eq!(app.list_ids("/tax_rates?active=true").await, [b.clone(), a.clone()]);
    assert_eq!(app.list_ids("/tax_rates?inclusive=false").await, [c.clone(), b.clone()]);
    assert_eq!(app.list_ids("/tax_rates?inclusive=false&active=false").await, std::slice::from_ref(&c));
    let page = app.get(&format!("/v1/tax_rates?limit=1&starting_after={c}")).await;
    assert_eq!(page.ok()["data"][0]["id"], b.as_str());
    assert_eq!(page.body["has_more"], true);
    let now = app.clock.now();
    assert_eq!(app.list_ids(&format!("/tax_rates?created[gt]={now}")).await, Vec::<String>::new());
}

#[tokio::test]
async fn each_bad_parameter_is_refused_by_name_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let base = [("display_name", "VAT"), ("percentage", "19"), ("inclusive", "false")];
    let with = |extra: &[(&'static str, &'static str)], drop: &str| -> Vec<(&'static str, &'static str)> {
        base.iter().copied().filter(|(k, _)| *k != drop).chain(extra.iter().copied()).collect()
    };
    // A form, the `param` it must be refused on, and the error `code`.
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (with(&[], "display_name"), "display_name", "parameter_missing"),
        (with(&[], "percentage"), "percentage", "parameter_missing"),
        (with(&[], "inclusive"), "inclusive", "parameter_missing"),
        (with(&[("percentage", "100.5")], "percentage"), "percentage", "parameter_invalid"),
        (with(&[("percentage", "-1")], "percentage"), "percentage", "parameter_invalid"),
        (with(&[("percentage", "1.23456")], "percentage"), "percentage", "parameter_invalid"),
        (with(&[("percentage", "abc")], "percentage"), "percentage", "parameter_invalid"),
        (with(&[("country", "XX")], ""), "country", "parameter_invalid"),
        (with(&[("country", "UK")], ""), "country", "parameter_invalid"),
        (with(&[("state", "CA")], ""), "state", "parameter_invalid"),
        (with(&[("country", "US"), ("state", "California!")], ""), "state", "parameter_invalid"),
        (with(&[("tax_type", "luxury")], ""), "tax_type", "parameter_invalid"),
        (with(&[("inclusive", "maybe")], "inclusive"), "inclusive", "parameter_invalid"),
        (with(&[("flat_amount", "5")], ""), "flat_amount", "parameter_unknown"),
    ];
    for (form, param, code) in &cases {
        let r = app.post("/tax_rates", form).await;
        let e = r.invalid(param);
        assert_eq!(e["code"], *code, "{form:?}: {}", r.text);
        assert!(e["message"].as_str().unwrap().contains(param.split('[').next().unwrap()), "{}", r.text);
    }
    assert_eq!(app.count("/tax_rates").await, 0, "no refused rate was written");
}
