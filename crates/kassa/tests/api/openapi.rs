#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `GET /openapi.json` and `GET /docs`. Every other test of this suite also checks
//! its responses against the document (`openapi_check`, called by `TestApp::send`); these check
//! the document itself: valid OpenAPI 3.1, served as built, and in step with the router.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn document() -> &'static Value {
    kassa::http::openapi::document()
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let meta: Value =
        serde_json::from_str(include_str!("../fixtures/openapi-3.1-schema.json")).expect("the meta-schema");
    let validator = jsonschema::draft202012::options().build(&meta).expect("the meta-schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(document())
        .take(10)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // And the check above can fail: an operation without `responses` is not OpenAPI.
    let mut broken = document().clone();
    broken["paths"]["/products"]["get"]["parameters"][0]["in"] = json!("body");
    assert!(!validator.is_valid(&broken), "the meta-schema must refuse a parameter `in: body`");
    // Every component compiles as a JSON Schema of its own.
    for (name, schema) in document()["components"]["schemas"].as_object().unwrap() {
        let root = json!({"components": document()["components"], "allOf": [schema]});
        jsonschema::draft202012::options().build(&root).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[tokio::test]
async fn the_document_and_its_page_are_served_without_a_key() {
    let app = TestApp::spawn().await;
    let r = app.send(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(&r.body, document());
    assert_eq!(r.body["openapi"], "3.1.0");

    let r = app.send(app.client.get(app.url("/docs"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let csp = r.header("content-security-policy").expect("the pages' CSP");
    assert!(csp.contains("default-src 'none'") && csp.contains("style-src 'self'"), "{csp}");
    assert!(!r.text.contains("<script") && !r.text.contains("style="), "no script, no inline style");
    assert!(!r.text.contains("http://") && !r.text.contains("https://"), "nothing from another origin");
    for want in [
        "<code>/checkout/session</code>",
        "<code>line_items[0][price]</code>",
        "<code>line_items[0][adjustable_quantity][maximum]</code>",
        "<code>created[gte]</code>",
        "<code>metadata[key]</code>",
        "id=\"schema-checkout-session\"",
        "href=\"/static/docs.css\"",
    ] {
        assert!(r.text.contains(want), "the page lacks {want}");
    }
    let css = app.send(app.client.get(app.url("/static/docs.css"))).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    app.shutdown().await;
}

/// `/products/{id}` with `{id}` filled in.
fn concrete(template: &str) -> String {
    template.replace("{id}", "x_missing")
}

/// Every documented operation is served (the router and the document come from one table, and this
/// shows it): each answers something other than "Unrecognized request URL"; and on each documented
/// path the methods the document does not list are refused as routes the router does not have.
#[tokio::test]
async fn every_documented_route_is_served_and_no_other_method() {
    let app = TestApp::spawn().await;
    let paths = document()["paths"].as_object().unwrap();
    assert!(paths.len() > 60, "both trees: {}", paths.len());
    for (template, item) in paths {
        let url = app.url(&concrete(template));
        for method in ["get", "post", "delete"] {
            let req = match method {
                "get" => app.client.get(&url),
                "post" => app.client.post(&url).header("content-type", "application/x-www-form-urlencoded"),
                _ => app.client.delete(&url),
            };
            let r = app.send(req.bearer_auth(&app.key)).await;
            let unrecognized = r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Unrecognized request URL"));
            if item.get(method).is_some() {
                assert!(!unrecognized, "{method} {template} is documented but not routed: {}", r.text);
                assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {template}");
            } else {
                assert!(
                    unrecognized,
                    "{method} {template} is routed but not documented: {} {}",
                    r.status, r.text
                );
            }
        }
    }
    app.shutdown().await;
}

/// The check every test runs can fail: a response with a field its schema does not know, or
/// without one it requires, is refused.
#[test]
fn the_response_check_refuses_drift() {
    let product = json!({
        "id": "prod_1", "object": "product", "active": true, "created": 1, "default_price": null,
        "description": null, "images": [], "livemode": false, "marketing_features": [], "metadata": {},
        "name": "A", "package_dimensions": null, "shippable": null, "statement_descriptor": null,
        "tax_code": null, "tax_details": null, "type": "service", "unit_label": null, "updated": 1, "url": null,
    });
    let ok = std::panic::catch_unwind(|| {
        crate::openapi_check::check(
            "GET",
            "/products/prod_1",
            200,
            Some("application/json"),
            &product.to_string(),
        )
    });
    assert!(ok.is_ok(), "a real product passes");
    let mut extra = product.clone();
    extra["brand_new_field"] = json!("x");
    let mut missing = product.clone();
    missing.as_object_mut().unwrap().remove("name");
    let mut wrong = product;
    wrong["active"] = json!("yes");
    for (what, body) in [("an unknown field", extra), ("a missing field", missing), ("a wrong type", wrong)] {
        let r = std::panic::catch_unwind(|| {
            crate::openapi_check::check(
                "GET",
                "/v1/products/prod_1",
                200,
                Some("application/json"),
                &body.to_string(),
            )
        });
        assert!(r.is_err(), "{what} must fail the check");
    }
    let bad_error = json!({"error": {"type": "invalid_request_error", "message": "m", "code": null}});
    let r = std::panic::catch_unwind(|| {
        crate::openapi_check::check("GET", "/nowhere", 404, Some("application/json"), &bad_error.to_string())
    });
    assert!(r.is_err(), "an error body with `code: null` must fail the check (it is left out)");
}
