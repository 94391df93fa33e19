//! kassa's own extractors, so that every bad request gets kassa's error body and never axum's
//! plain-text rejection.
//!
//! - [`Authed`]: the account the API middleware authenticated.
//! - [`PathId`]: the `{id}` in a route's path.
//! - [`Params<T>`]: the request's parameters (query string and body, JSON or form, decoded into
//!   one tree by the middleware; a JSON body alone straight from its text) deserialized into a
//!   typed request. A failure names the parameter in bracket form (`line_items[0][quantity]`)
//!   with Stripe's error code.

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use kassa_core::{ErrorCode, Invalid};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use crate::service::Acct;

/// The parameters of a request, put in place by the API middleware.
#[derive(Clone, Debug)]
pub enum Decoded {
    /// Decoded into one tree: the query string and a form body, or a JSON body that came with a
    /// query string or an `Idempotency-Key` (whose fingerprint is the tree's).
    Tree(Value),
    /// A JSON body alone, checked to be one JSON object: [`Params`] decodes it straight into its
    /// type, without building a tree of it first (a `Value`: an allocation and a hash for every
    /// member, then every member copied again into the type).
    Json(Bytes),
}

pub struct Authed(pub Acct);

impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Acct>()
            .cloned()
            .map(Authed)
            .ok_or_else(|| ApiError::Unauthorized("You did not provide an API key.".to_owned()))
    }
}

/// The `{id}` of a route. axum's `Path` answers an id that is not UTF-8 once percent-decoded
/// (`/products/%FF`) with a plain-text 400; this answers kassa's error body.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Self(id)),
            Err(_) => Err(ApiError::Invalid(Invalid::new(
                ErrorCode::ParameterInvalid,
                "id",
                "The id in the request URL is not valid: it must be UTF-8 once percent-decoded.",
            ))),
        }
    }
}

pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Taken, not copied: a handler reads its parameters once.
        let value = match parts.extensions.remove::<Decoded>() {
            None => Value::Object(Default::default()),
            Some(Decoded::Tree(value)) => value,
            Some(Decoded::Json(body)) => {
                if let Ok(decoded) = serde_json::from_slice::<T>(&body) {
                    return Ok(Params(decoded));
                }
                // Refused (or a member named twice, which the tree takes the last of): decoded as
                // a tree after all, so that the answer is the one the tree gives.
                serde_json::from_slice::<Value>(&body).map_err(|e| invalid_json(&e))?
            }
        };
        decode(value).map(Params).map_err(ApiError::Invalid)
    }
}

/// Deserialize a parameter tree into `T`, naming the failing parameter in bracket form.
///
/// An empty string where a number, boolean, object or array belongs is what the SDKs send for
/// `null` (`expires_at=`): Stripe reads it as "unset", and refuses it with
/// `parameter_invalid_empty` where nothing can be unset — so does this.
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, Invalid> {
    // Most requests are valid: they are decoded without serde_path_to_error, which copies every
    // key it passes (to name the path of a failure). A failure is decoded once more with it: the
    // same tree fails the same way.
    if let Ok(decoded) = T::deserialize(&value) {
        return Ok(decoded);
    }
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let mut segments: Vec<String> = e
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let message = e.inner().to_string();
        if let Some(field) = between(&message, "unknown field `", "`") {
            if segments.last().map(String::as_str) != Some(field) {
                segments.push(field.to_owned());
            }
            let param = bracket(&segments);
            return Invalid::new(
                ErrorCode::ParameterUnknown,
                param.clone(),
                format!("Received unknown parameter: {param}"),
            );
        }
        let param = bracket(&segments);
        if !param.is_empty() && leaf(&value, &segments).is_some_and(|v| v == "") {
            return Invalid::empty(param);
        }
        let shown = if param.is_empty() { "the request".to_owned() } else { param.clone() };
        let (code, message) = if message.starts_with("invalid integer") {
            (
                ErrorCode::ParameterInvalidInteger,
                format!("Invalid integer for {shown}: expected a whole number in range."),
            )
        } else if message.starts_with("invalid boolean") {
            (ErrorCode::ParameterInvalid, format!("Invalid boolean for {shown}: expected `true` or `false`."))
        } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
            let expected = plain(message.rsplit("expected ").next().unwrap_or("another type"));
            (ErrorCode::ParameterInvalid, format!("Invalid value for {shown}: expected {expected}."))
        } else {
            (
                ErrorCode::ParameterInvalid,
                format!("Invalid {shown}: {}", message.chars().take(200).collect::<String>()),
            )
        };
        Invalid { code, param: (!param.is_empty()).then_some(param), message }
    })
}

/// The answer to a body that is not JSON.
pub fn invalid_json(e: &serde_json::Error) -> ApiError {
    Invalid::general(format!("Invalid JSON in the request body: {e}.")).into()
}

/// The value at `segments` (object keys and array indices) in a parameter tree.
fn leaf<'a>(value: &'a Value, segments: &[String]) -> Option<&'a Value> {
    segments.iter().try_fold(value, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// serde's name for an expected type, in the words of the API: no Rust type names.
fn plain(expected: &str) -> &str {
    if expected.starts_with("struct ") || expected.starts_with("a map") {
        "an object"
    } else if expected.starts_with("a sequence") {
        "an array"
    } else {
        expected
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// `["line_items", "3", "price"]` → `line_items[3][price]`.
fn bracket(segments: &[String]) -> String {
    let mut out = String::new();
    for (i, s) in segments.iter().enumerate() {
        if i == 0 {
            out.push_str(s);
        } else {
            out.push('[');
            out.push_str(s);
            out.push(']');
        }
    }
    out
}

/// A created object: 201 on the native API (the `/v1` tree turns it into Stripe's 200).
pub struct Created(pub Value);

impl IntoResponse for Created {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, super::api::Json(self.0)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_core::params::SessionCreate;
    use serde_json::json;

    #[test]
    fn params_are_named_in_bracket_form() {
        let e =
            decode::<SessionCreate>(json!({"line_items": [{"price": "p", "quantity": "x"}]})).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("line_items[0][quantity]"));
        assert_eq!(e.code, ErrorCode::ParameterInvalidInteger);
        let e = decode::<SessionCreate>(json!({"line_items": [{"price": "p", "pricee": "x"}]})).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("line_items[0][pricee]"));
        assert_eq!(e.code, ErrorCode::ParameterUnknown);
        let e = decode::<SessionCreate>(json!({"bogus": "1"})).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("bogus"));
        let e = decode::<SessionCreate>(json!({"line_items": "abc"})).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("line_items"));
        let e =
            decode::<SessionCreate>(json!({"line_items": [{"adjustable_quantity": {"enabled": "maybe"}}]}))
                .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("line_items[0][adjustable_quantity][enabled]"));
    }

    #[test]
    fn empty_strings_for_other_types_cannot_unset() {
        for (params, param) in [
            (json!({"expires_at": ""}), "expires_at"),
            (json!({"allow_promotion_codes": ""}), "allow_promotion_codes"),
            (json!({"line_items": [{"price": "p", "quantity": ""}]}), "line_items[0][quantity]"),
            (json!({"line_items": [{"adjustable_quantity": ""}]}), "line_items[0][adjustable_quantity]"),
            (json!({"subscription_data": ""}), "subscription_data"),
            (json!({"expand": ""}), "expand"),
        ] {
            let e = decode::<SessionCreate>(params).unwrap_err();
            assert_eq!(e.code, ErrorCode::ParameterInvalidEmpty, "{param}");
            assert_eq!(e.param.as_deref(), Some(param));
            assert!(
                e.message.starts_with(&format!("You passed an empty string for '{param}'")),
                "{}",
                e.message
            );
        }
        // An empty string is a string: fields that take one decide what it means.
        let ok = decode::<SessionCreate>(json!({"customer": "", "metadata": ""})).unwrap();
        assert_eq!(ok.customer.as_deref(), Some(""));
    }

    #[test]
    fn expected_types_are_named_without_rust_names() {
        let e = decode::<SessionCreate>(json!({"subscription_data": "x"})).unwrap_err();
        assert_eq!(e.message, "Invalid value for subscription_data: expected an object.");
        let e = decode::<SessionCreate>(json!({"payment_method_types": "card"})).unwrap_err();
        assert_eq!(e.message, "Invalid value for payment_method_types: expected an array.");
    }
}
