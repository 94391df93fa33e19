#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Every response of the black-box suite checked against `GET /openapi.json`: [`check`] is called
//! by `TestApp::send`, the one way the suite's requests go out, so every test checks it.
//!
//! The response is matched to the document's path and method (a documented path with the fewest
//! `{…}` segments wins, so `/test_helpers/test_clocks` is not read as an id), then its body is
//! validated against the schema of its status (or `default`: Stripe's error). A JSON body on a
//! route the document does not have (an unknown route, a method the route does not take) must be
//! Stripe's error object. HTML pages and static files are not the API's and are not checked.
//! The object schemas are strict (`additionalProperties: false`), so a field a view renders
//! without its schema in `crate::schemas` fails whichever test first sees it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

fn document() -> &'static Value {
    kassa::http::openapi::document()
}

/// A validator for `schema`, resolving `#/components/…` against the document.
fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(key) {
        return v.clone();
    }
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document()["components"],
        "allOf": [schema],
    });
    let v = Arc::new(
        jsonschema::draft202012::options()
            .build(&root)
            .unwrap_or_else(|e| panic!("the document's schema for {key} does not compile: {e}")),
    );
    cache.lock().unwrap().insert(key.to_owned(), v.clone());
    v
}

/// The documented path template that `path` (no query string) matches.
pub fn template_of(path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    document()["paths"]
        .as_object()?
        .keys()
        .filter(|tpl| {
            let t: Vec<&str> = tpl.split('/').collect();
            t.len() == segs.len()
                && t.iter().zip(&segs).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
        })
        .min_by_key(|tpl| tpl.matches('{').count())
        .map(String::as_str)
}

/// Check one response against the document; panics (failing the test) with what differs.
pub fn check(method: &str, path: &str, status: u16, content_type: Option<&str>, text: &str) {
    let is_json = content_type.is_some_and(|ct| ct.starts_with("application/json"));
    let api_path = !(path.starts_with("/pay/")
        || path == "/pay"
        || path.starts_with("/i/")
        || path.starts_with("/static/")
        || path == "/dashboard"
        || path.starts_with("/dashboard/")
        || path.starts_with("/portal/"));
    if method == "HEAD" || method == "OPTIONS" || !api_path {
        return;
    }
    if !is_json {
        // Every answer of the API is JSON, its errors included; /docs is the one HTML page.
        assert!(
            path == "/docs" || status == 204 || text.is_empty() && status >= 400,
            "{method} {path} answered {status} with {content_type:?}, not JSON: {text:.300}"
        );
        return;
    }
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        panic!("{method} {path} answered {status} with invalid JSON: {text:.300}");
    };
    let op = template_of(path).and_then(|tpl| {
        let op = &document()["paths"][tpl][method.to_ascii_lowercase()];
        op.is_object().then_some((tpl, op))
    });
    let (key, schema) = match op {
        Some((tpl, op)) => {
            let status_s = status.to_string();
            let (which, response) = match op["responses"].get(&status_s) {
                Some(r) => (status_s, r),
                None => ("default".to_owned(), &op["responses"]["default"]),
            };
            assert!(
                response.is_object(),
                "{method} {tpl}: status {status} is not in the document ({text:.300})"
            );
            let schema = &response["content"]["application/json"]["schema"];
            assert!(schema.is_object(), "{method} {tpl} {which}: no JSON schema in the document");
            (format!("{method} {tpl} {which}"), schema.clone())
        }
        // Not a documented operation: an unknown route or method, which is Stripe's error.
        None => {
            assert!(
                status >= 400,
                "{method} {path} answered {status} but is not in the document: {text:.300}"
            );
            ("error".to_owned(), kassa::schemas::reference("error"))
        }
    };
    let v = validator(&key, &schema);
    let errors: Vec<String> =
        v.iter_errors(&body).take(8).map(|e| format!("  at {}: {e:.300}", e.instance_path())).collect();
    assert!(
        errors.is_empty(),
        "{method} {path} → {status} does not match the OpenAPI document ({key}); \
         update crates/kassa/src/schemas.rs if the view changed on purpose:\n{}\nbody: {text:.2000}",
        errors.join("\n")
    );
}
