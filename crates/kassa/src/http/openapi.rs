//! `GET /openapi.json`, an OpenAPI 3.1 document of the API, and `GET /docs`, the same document as
//! a reference page served by kassa itself (no script, no other origin).
//!
//! The document is written from the code, so it cannot drift from it:
//! - the operations from the route table that also builds the router ([`super::api_routes`], see
//!   [`super::routes`]), for the native API at the root and for the `/v1` tree;
//! - each operation's parameters from the struct its handler deserializes (`Params<T>`, the
//!   `JsonSchema` derive in `kassa_core::params`). As in Stripe's own document, a `POST` takes an
//!   `application/x-www-form-urlencoded` body (or the same object as JSON) whose nested objects
//!   and arrays are sent with `style: deepObject` (`line_items[0][price]=…`); a `GET` or `DELETE`
//!   takes the same in its query string;
//! - the responses from [`crate::schemas`], one strict schema per object, which the black-box suite
//!   checks every live response against.
//!
//! **Adding a parameter:** add the field to its struct in `kassa_core::params`; nothing here.
//! **Adding a field to a response:** add it to its object in [`crate::schemas`].
//! **Adding a route:** see [`super::routes`].

use std::sync::OnceLock;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::routes::{Answer, Op, Verb};
use super::{NATIVE_SESSIONS, V1_SESSIONS, api_routes};
use crate::schemas;

pub const DOCUMENT_PATH: &str = "/openapi.json";
pub const DOCS_PATH: &str = "/docs";
pub const DOCS_CSS_PATH: &str = "/static/docs.css";

/// The document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

/// The two trees the API is served under.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tree {
    /// kassa's own API at the root: 201 on create.
    Native,
    /// Stripe's paths under `/v1`: 200 on create.
    V1,
}

fn build() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            // Each operation's parameters in one piece, as Stripe's document has them.
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut paths = Map::new();
    for (tree, prefix, sessions) in [(Tree::Native, "", NATIVE_SESSIONS), (Tree::V1, "/v1", V1_SESSIONS)] {
        for op in api_routes(sessions).ops() {
            let path = format!("{prefix}{}", op.path);
            let operation = operation(tree, &path, op, &mut generator);
            let item = paths.entry(path).or_insert_with(|| json!({}));
            item[op.verb.as_str()] = operation;
        }
    }
    for (path, item) in public_paths() {
        paths.insert(path.to_owned(), item);
    }
    let mut components = schemas::components();
    components.sort_keys();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "kassa API",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "A self-hosted, Stripe-Checkout-compatible checkout server.",
            "description": "kassa's API, at the root and under `/v1` with Stripe's paths (`/v1/checkout/sessions`) \
                and statuses (200 where the native API answers 201 on create). Requests are \
                authenticated with the account's secret key (`Authorization: Bearer sk_test_…`, or as \
                the user name of HTTP Basic, as Stripe's SDKs send it). Parameters are sent \
                form-encoded with brackets for nested values (`line_items[0][price]=price_…`), as \
                Stripe's SDKs do, or as a JSON body. Errors are Stripe's error object.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "security": [{"bearerAuth": []}, {"basicAuth": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "The secret key (`sk_test_…`)."},
                "basicAuth": {"type": "http", "scheme": "basic", "description": "The secret key as the user name, no password."},
            },
        },
    })
}

/// `/products/{id}` → `GetProductsId`; the tree's prefix is part of the path, so ids are unique.
fn operation_id(verb: Verb, path: &str) -> String {
    let mut id = String::new();
    for word in std::iter::once(verb.as_str()).chain(path.split(|c: char| !c.is_ascii_alphanumeric())) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

/// `params` without the `null` that schemars allows for every `Option`: an omitted parameter is how
/// a request leaves one unset (and a form body has no `null`).
fn without_null(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            map.insert("type".to_owned(), only);
        }
    }
    if let Some(Value::Array(alts)) = map.get_mut("anyOf") {
        alts.retain(|a| a != &json!({"type": "null"}));
        if let [only] = alts.as_slice() {
            let only = only.clone();
            map.remove("anyOf");
            if let Value::Object(inner) = only {
                for (k, v) in inner {
                    map.entry(k).or_insert(v);
                }
            }
        }
    }
    for v in map.values_mut() {
        match v {
            Value::Object(_) => without_null(v),
            Value::Array(items) => items.iter_mut().for_each(without_null),
            _ => {}
        }
    }
}

/// Whether a parameter is sent in brackets: an object, an array, or either of them among others.
fn is_deep(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "object" || t == "array",
        _ => schema.get("anyOf").and_then(Value::as_array).is_some_and(|alts| alts.iter().any(is_deep)),
    }
}

fn operation(tree: Tree, path: &str, op: &Op, generator: &mut schemars::SchemaGenerator) -> Value {
    let mut params = (op.params)(generator).to_value();
    without_null(&mut params);
    let empty = Map::new();
    let properties = params.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let mut parameters: Vec<Value> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    let mut out = json!({
        "operationId": operation_id(op.verb, path),
        "summary": op.summary,
        "tags": [tag(path)],
    });
    match op.verb {
        Verb::Get | Verb::Delete => {
            for (name, schema) in properties {
                let mut p = json!({"name": name, "in": "query", "required": false, "schema": schema});
                if is_deep(schema) {
                    p["style"] = json!("deepObject");
                    p["explode"] = json!(true);
                }
                parameters.push(p);
            }
        }
        Verb::Post => {
            parameters.push(json!({
                "name": "Idempotency-Key",
                "in": "header",
                "required": false,
                "description": "Makes the request safe to retry: the same key with the same parameters answers the first answer again (kept 24 hours).",
                "schema": {"type": "string", "maxLength": crate::service::idempotency::MAX_KEY_LEN},
            }));
            let encoding: Map<String, Value> = properties
                .iter()
                .filter(|(_, schema)| is_deep(schema))
                .map(|(name, _)| (name.clone(), json!({"style": "deepObject", "explode": true})))
                .collect();
            out["requestBody"] = json!({
                "required": false,
                "content": {
                    "application/x-www-form-urlencoded": {"schema": params, "encoding": encoding},
                    "application/json": {"schema": params},
                },
            });
        }
    }
    out["parameters"] = Value::Array(parameters);
    let (status, schema, what) = match op.answer {
        Answer::Object(name) => ("200", schemas::reference(name), format!("The {name}.")),
        Answer::Created(name) => {
            let status = if tree == Tree::Native { "201" } else { "200" };
            (status, schemas::reference(name), format!("The new {name}."))
        }
        Answer::List(name) => {
            ("200", schemas::list(schemas::reference(name)), format!("A page of {name} objects."))
        }
        Answer::Deleted(name) => {
            ("200", schemas::reference(&format!("deleted_{name}")), format!("The deleted {name}."))
        }
    };
    let mut responses = Map::new();
    responses.insert(
        status.to_owned(),
        json!({"description": what, "content": {"application/json": {"schema": schema}}}),
    );
    responses.insert(
        "default".to_owned(),
        json!({
            "description": "An error, as Stripe's error object.",
            "content": {"application/json": {"schema": schemas::reference("error")}},
        }),
    );
    out["responses"] = Value::Object(responses);
    out
}

/// The resource a path is about: `/v1/checkout/sessions/{id}` → `checkout`.
fn tag(path: &str) -> &str {
    path.trim_start_matches("/v1").split('/').find(|s| !s.is_empty()).unwrap_or("")
}

/// The routes outside the API: no key, no parameters.
fn public_paths() -> Vec<(&'static str, Value)> {
    let public = |id: &str, summary: &str, responses: Value| json!({"get": {"operationId": id, "summary": summary, "tags": ["meta"], "security": [], "responses": responses}});
    let html =
        json!({"description": "An HTML page.", "content": {"text/html": {"schema": {"type": "string"}}}});
    let health = json!({"content": {"application/json": {"schema": schemas::reference("health")}}});
    vec![
        (
            "/health",
            public(
                "GetHealth",
                "Whether the database answers and takes writes",
                json!({
                    "200": {"description": "Healthy.", "content": health["content"]},
                    "503": {"description": "Unavailable, with the reason.", "content": health["content"]},
                }),
            ),
        ),
        (
            DOCUMENT_PATH,
            public(
                "GetOpenapiJson",
                "This OpenAPI document",
                json!({"200": {"description": "The document.", "content": {"application/json": {"schema": {"type": "object"}}}}}),
            ),
        ),
        (DOCS_PATH, public("GetDocs", "The API reference page", json!({"200": html}))),
    ]
}

/// `GET /openapi.json`.
pub async fn document_json() -> Response {
    let mut r = axum::Json(document()).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    r
}

// ---------------------------------------------------------------------------------------------
// `GET /docs`: the document as a page. The native routes only; the `/v1` tree is the same list
// with Stripe's paths, which the page says.

struct DocParam {
    name: String,
    ty: String,
    description: String,
}

struct DocOp {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    status: String,
    answer: String,
    answer_anchor: Option<String>,
    location: &'static str,
    params: Vec<DocParam>,
}

struct DocGroup {
    name: String,
    ops: Vec<DocOp>,
}

struct DocField {
    name: String,
    ty: String,
    optional: bool,
}

struct DocSchema {
    name: String,
    anchor: String,
    fields: Vec<DocField>,
}

#[derive(Template)]
#[template(path = "docs.html")]
struct DocsPage {
    version: String,
    groups: Vec<DocGroup>,
    schemas: Vec<DocSchema>,
}

/// `GET /docs`.
pub async fn docs_page() -> Response {
    static PAGE: OnceLock<Result<String, String>> = OnceLock::new();
    let html = PAGE.get_or_init(|| render_docs(document()).render().map_err(|e| e.to_string())).clone();
    super::pages::page(StatusCode::OK, html.map_err(|_| askama::Error::Fmt))
}

/// `GET /static/docs.css`.
pub async fn docs_stylesheet() -> Response {
    let mut r = include_str!("../../static/docs.css").into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    h.insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
    r
}

fn anchor(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// `{"$ref": "#/components/schemas/price"}` → `price`.
fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(schemas::PREFIX))
}

/// A schema in a few words: `string | null`, `array of price`, `"product"`.
fn type_label(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return name.to_owned();
    }
    if let Some(c) = schema.get("const") {
        return c.to_string();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().map(Value::to_string).collect::<Vec<_>>().join(" | ");
    }
    if let Some(alts) = schema.get("anyOf").and_then(Value::as_array) {
        return alts.iter().map(type_label).collect::<Vec<_>>().join(" | ");
    }
    match schema.get("type") {
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        Some(Value::String(t)) if t == "array" => match schema.get("items") {
            Some(items) => format!("array of {}", type_label(items)),
            None => "array".to_owned(),
        },
        Some(Value::String(t)) if t == "object" => match schema.get("additionalProperties") {
            Some(v) if v.is_object() => format!("map of {}", type_label(v)),
            _ => "object".to_owned(),
        },
        Some(Value::String(t)) => t.clone(),
        _ => "any".to_owned(),
    }
}

/// A parameter's names as a form body spells them: `line_items[0][price]`, `metadata[key]`.
fn bracket_names(name: &str, schema: &Value, out: &mut Vec<DocParam>) {
    let description = schema.get("description").and_then(Value::as_str).unwrap_or("").to_owned();
    if let Some(alts) = schema.get("anyOf").and_then(Value::as_array) {
        for alt in alts {
            bracket_names(name, alt, out);
        }
        if let Some(first) =
            out.iter_mut().rev().find(|p| p.name == name || p.name.starts_with(&format!("{name}[")))
            && first.description.is_empty()
        {
            first.description = description;
        }
        return;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, sub) in props {
                    bracket_names(&format!("{name}[{key}]"), sub, out);
                }
            } else if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                out.push(DocParam { name: format!("{name}[key]"), ty: type_label(values), description });
            }
        }
        Some("array") => match schema.get("items") {
            Some(items) if is_deep(items) => bracket_names(&format!("{name}[0]"), items, out),
            Some(items) => {
                out.push(DocParam { name: format!("{name}[0]"), ty: type_label(items), description })
            }
            None => {}
        },
        _ => {
            let ty = if schema.get("enum").is_some() && schema["enum"] == json!([""]) {
                "\"\" (empty: unset)".to_owned()
            } else {
                type_label(schema)
            };
            out.push(DocParam { name: name.to_owned(), ty, description });
        }
    }
}

fn render_docs(doc: &Value) -> DocsPage {
    let empty = Map::new();
    let mut groups: Vec<DocGroup> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap_or(&empty) {
        if path.starts_with("/v1/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap_or(&empty) {
            let mut params = Vec::new();
            let mut location = "query";
            for p in op["parameters"].as_array().map(Vec::as_slice).unwrap_or_default() {
                if p["in"] == "query" {
                    bracket_names(p["name"].as_str().unwrap_or(""), &p["schema"], &mut params);
                }
            }
            let body = &op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
            if let Some(props) = body.get("properties").and_then(Value::as_object) {
                location = "body";
                for (name, schema) in props {
                    bracket_names(name, schema, &mut params);
                }
            }
            let responses = op["responses"].as_object().unwrap_or(&empty);
            let Some((status, success)) = responses.iter().find(|(s, _)| s.starts_with('2')) else {
                continue;
            };
            let schema = success["content"].as_object().and_then(|c| c.values().next()).map(|m| &m["schema"]);
            let (answer, answer_anchor) = match schema {
                Some(s) if s.get("properties").is_some_and(|p| p["object"]["const"] == "list") => {
                    let item = &s["properties"]["data"]["items"];
                    (format!("list of {}", type_label(item)), ref_name(item).map(anchor))
                }
                Some(s) => (type_label(s), ref_name(s).map(anchor)),
                None => ("HTML".to_owned(), None),
            };
            let tag = op["tags"][0].as_str().unwrap_or("").to_owned();
            let entry = DocOp {
                anchor: op["operationId"].as_str().unwrap_or("").to_owned(),
                method: method.to_uppercase(),
                path: path.clone(),
                summary: op["summary"].as_str().unwrap_or("").to_owned(),
                status: status.clone(),
                answer,
                answer_anchor,
                location,
                params,
            };
            match groups.iter_mut().find(|g| g.name == tag) {
                Some(g) => g.ops.push(entry),
                None => groups.push(DocGroup { name: tag, ops: vec![entry] }),
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .unwrap_or(&empty)
        .iter()
        .map(|(name, schema)| {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let fields = schema["properties"]
                .as_object()
                .unwrap_or(&empty)
                .iter()
                .map(|(f, s)| DocField {
                    name: f.clone(),
                    ty: type_label(s),
                    optional: !required.contains(&f.as_str()),
                })
                .collect();
            DocSchema { name: name.clone(), anchor: anchor(name), fields }
        })
        .collect();
    DocsPage { version: doc["info"]["version"].as_str().unwrap_or("").to_owned(), groups, schemas }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_unique_and_form_params_are_deep_objects() {
        let doc = document();
        let mut ids = std::collections::HashSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()), "{}", op["operationId"]);
            }
        }
        let create = &doc["paths"]["/v1/checkout/sessions"]["post"];
        let form = &create["requestBody"]["content"]["application/x-www-form-urlencoded"];
        assert_eq!(form["encoding"]["line_items"], json!({"style": "deepObject", "explode": true}));
        let item = &form["schema"]["properties"]["line_items"]["items"];
        assert_eq!(item["properties"]["quantity"], json!({"type": "integer"}));
        assert_eq!(item["additionalProperties"], json!(false));
        assert!(create["responses"]["200"].is_object(), "/v1 answers 200 on create");
        assert!(doc["paths"]["/checkout/session"]["post"]["responses"]["201"].is_object());
        let list = &doc["paths"]["/events"]["get"]["parameters"];
        let types = list.as_array().unwrap().iter().find(|p| p["name"] == "type").unwrap();
        assert_eq!(types["in"], "query");
    }

    #[test]
    fn docs_spell_parameters_in_brackets() {
        let page = render_docs(document());
        let create =
            page.groups.iter().flat_map(|g| &g.ops).find(|o| o.anchor == "PostCheckoutSession").unwrap();
        let names: Vec<&str> = create.params.iter().map(|p| p.name.as_str()).collect();
        assert!(names.contains(&"line_items[0][price]"), "{names:?}");
        assert!(names.contains(&"line_items[0][adjustable_quantity][enabled]"), "{names:?}");
        assert!(names.contains(&"metadata[key]"), "{names:?}");
        assert!(names.contains(&"expand[0]"), "{names:?}");
        let html = page.render().unwrap();
        assert!(html.contains("line_items[0][price]"));
        assert!(!html.contains("<script"), "the page needs no script");
    }
}
