//! Middleware.
//!
//! - [`request_context`] (every route): a `Request-Id` (`req_…`) on every response, a tracing span
//!   carrying it, one log line per request (method, route, status, latency — never a body), and
//!   `Stripe-Version` echoed back when a client sends it.
//! - [`api`] (API routes): authenticate the key; read the body (at most [`BODY_LIMIT`], else 413;
//!   not all there within the body-read timeout, 408);
//!   decode query string and body — JSON or Stripe's form encoding — into one tree (a JSON body
//!   alone is only checked here, and decoded by the handler's `Params` from its text); and for a
//!   POST or DELETE with an `Idempotency-Key`, claim the key, replay a kept response, or keep
//!   this one, and name the key in the response's own `Idempotency-Key` header, as Stripe does.

use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use kassa_core::Invalid;
use kassa_core::account::{SecretKey, mask};
use kassa_core::ids;
use kassa_core::store::StoredResponse;
use kassa_core::webhook::RequestRef;
use serde_json::{Map, Value};
use tracing::Instrument;

use super::BodyError;
use super::dashboard::log::{Captured, Packed, RawParams};
use super::error::ApiError;
use super::extract::{Decoded, invalid_json};
use crate::form;
use crate::service::{accounts, events, idempotency};
use crate::state::AppState;

/// The id [`request_context`] gave the request (`req_…`), for the API middleware.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The largest request body kassa reads.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub async fn request_context(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = format!("{}{}", ids::prefix::REQUEST, ids::random_base62(14));
    let method = req.method().clone();
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    let version = req.headers().get("Stripe-Version").cloned();
    let span = tracing::info_span!("request", id = %request_id, %method, %route);
    let mut req = req;
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "served");
    });
    // The route's template, never the path asked for: one series per route, whatever the ids.
    crate::metrics::http_request(&method, matched.as_ref().map(MatchedPath::as_str), status, elapsed);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("Request-Id", v);
    }
    if let Some(v) = version {
        resp.headers_mut().insert("Stripe-Version", v);
    }
    resp
}

pub async fn api(State(ctx): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Stripe names the key in its answer; the SDKs show it as the response's idempotency key.
    let key = match *req.method() {
        Method::POST | Method::DELETE => {
            req.headers().get("Idempotency-Key").filter(|v| !v.is_empty()).cloned()
        }
        _ => None,
    };
    let mut logged = None;
    let mut resp = match api_inner(ctx.clone(), req, next, &mut logged).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if let Some(key) = &key {
        resp.headers_mut().insert("Idempotency-Key", key.clone());
    }
    // The request log (`dashboard::log`): an authenticated request, handed to its writer.
    if let Some(Logged { account, path, request_id, params }) = logged {
        let (parts, body) = resp.into_parts();
        let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
        let idempotency_key = key.as_ref().and_then(|k| k.to_str().ok());
        ctx.request_log.record(Captured {
            account,
            at: ctx.now(),
            status: parts.status.as_u16(),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            packed: Packed::new(&path, &request_id, idempotency_key, &params, &body),
        });
        resp = Response::from_parts(parts, Body::from(body));
    }
    resp
}

/// What the request log keeps of an authenticated request, taken as it passes (with the log on).
struct Logged {
    account: String,
    path: String,
    request_id: String,
    params: RawParams,
}

async fn api_inner(
    ctx: AppState,
    req: Request,
    next: Next,
    logged: &mut Option<Logged>,
) -> Result<Response, ApiError> {
    let key = presented_key(req.headers())?;
    let acct = match accounts::authenticate(&ctx, &key).await? {
        accounts::Auth::Account(acct) => acct,
        accounts::Auth::Unknown => {
            return Err(ApiError::Unauthorized(format!("Invalid API Key provided: {}", mask(key.expose()))));
        }
        accounts::Auth::Expired => return Err(ApiError::KeyExpired(mask(key.expose()))),
    };
    drop(key);

    let (mut parts, body) = req.into_parts();
    let bytes = super::read_body(body, BODY_LIMIT).await.map_err(|e| match e {
        BodyError::TooLarge => ApiError::PayloadTooLarge,
        BodyError::TimedOut => ApiError::BodyTimedOut,
        BodyError::Unreadable => ApiError::Invalid(Invalid::general("The request body could not be read.")),
    })?;
    let params = if json_alone(&parts.method, &parts.headers, parts.uri.query(), &bytes) {
        json_object(&bytes).map(|()| Decoded::Json(bytes.clone()))
    } else {
        decode_params(&parts.method, &parts.headers, parts.uri.query(), &bytes).map(Decoded::Tree)
    };
    // Logged from here on, refused parameters included (nothing is captured with the log off):
    // as they came, decoded again only if the dashboard shows them.
    if ctx.request_log.is_on() {
        *logged = Some(Logged {
            account: acct.id.clone(),
            path: parts.uri.path().to_owned(),
            request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default(),
            params: RawParams::of(&parts, &bytes),
        });
    }
    drop(bytes);
    let params = params?;

    let idempotency_key = match parts.method {
        Method::POST | Method::DELETE => parts
            .headers
            .get("Idempotency-Key")
            .map(|v| v.to_str().map(str::to_owned))
            .transpose()
            .map_err(|_| {
                Invalid::param("Idempotency-Key", "The Idempotency-Key header must be printable ASCII.")
            })?
            .filter(|k| !k.is_empty()),
        _ => None,
    };
    // A request with the header has its parameters as a tree (`json_alone`).
    let fingerprint = match (&idempotency_key, &params) {
        (Some(_), Decoded::Tree(tree)) => {
            Some(idempotency::fingerprint(parts.method.as_str(), parts.uri.path(), tree))
        }
        _ => None,
    };

    // What this request causes, its events name (`request.id`, `request.idempotency_key`).
    let cause = RequestRef {
        id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        idempotency_key: idempotency_key.clone(),
    };
    parts.extensions.insert(acct.clone());
    parts.extensions.insert(params);
    let req = Request::from_parts(parts, Body::empty());
    let next = |req| events::with_request(cause, next.run(req));

    let (Some(key), Some(fingerprint)) = (idempotency_key, fingerprint) else {
        return Ok(next(req).await);
    };
    match idempotency::begin(&ctx, &acct, &key, fingerprint).await? {
        idempotency::Begin::Replay(stored) => Ok(replay(stored)),
        idempotency::Begin::Run => {
            let resp = next(req).await;
            let status = resp.status();
            if status.is_server_error() || status.as_u16() == 409 || status.as_u16() == 429 {
                idempotency::release(&ctx, &acct, &key).await?;
                return Ok(resp);
            }
            let (parts, body) = resp.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let stored =
                StoredResponse { status: status.as_u16(), body: String::from_utf8_lossy(&body).into_owned() };
            idempotency::finish(&ctx, &acct, &key, stored).await?;
            Ok(Response::from_parts(parts, Body::from(body)))
        }
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = axum::http::StatusCode::from_u16(stored.status).unwrap_or(axum::http::StatusCode::OK);
    let mut resp = (status, stored.body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert("Idempotent-Replayed", HeaderValue::from_static("true"));
    resp
}

/// The key from `Authorization: Bearer <key>` or HTTP Basic with the key as user name.
pub(crate) fn presented_key(headers: &HeaderMap) -> Result<SecretKey, ApiError> {
    const HOW: &str = "Provide your secret key in the Authorization header using Bearer auth (`Authorization: Bearer sk_test_…`), or HTTP Basic auth with the key as the user name and an empty password.";
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(format!("You did not provide an API key. {HOW}")));
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized(format!("The Authorization header is not readable. {HOW}")))?
        .trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    let key = if scheme.eq_ignore_ascii_case("bearer") {
        rest.to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                ApiError::Unauthorized(format!("The Basic credentials are not valid base64. {HOW}"))
            })?;
        decoded.split_once(':').map_or(decoded.clone(), |(user, _)| user.to_owned())
    } else {
        return Err(ApiError::Unauthorized(format!(
            "You did not provide an API key, though you did set your Authorization header. {HOW}"
        )));
    };
    if key.is_empty() {
        return Err(ApiError::Unauthorized(format!("You did not provide an API key. {HOW}")));
    }
    Ok(SecretKey::presented(&key))
}

/// Whether the parameters are a JSON body alone (a POST or DELETE without a query string or an
/// `Idempotency-Key` header), which the handler's [`Params`](super::extract::Params) decodes
/// straight from the text ([`Decoded::Json`]).
fn json_alone(method: &Method, headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> bool {
    has_body(method, body)
        && query.is_none_or(str::is_empty)
        && !headers.contains_key("Idempotency-Key")
        && mime(headers) == "application/json"
}

/// A JSON body's text checked as [`decode_params`] checks it (JSON, and one object), with the
/// same answers, without building the tree. (serde_json's skipping parser lets two things through
/// that building a tree refuses — a lone UTF-16 surrogate escape, and a number beyond `f64` —
/// which come back as the same answer when the handler decodes its parameters.)
fn json_object(body: &[u8]) -> Result<(), ApiError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|e| invalid_json(&e))?;
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(not_a_json_object());
    }
    Ok(())
}

/// The answer to a JSON body that is not one object.
fn not_a_json_object() -> ApiError {
    Invalid::general("The request body must be a JSON object.").into()
}

/// Whether the request's body carries parameters (a GET's or a HEAD's is ignored).
fn has_body(method: &Method, body: &[u8]) -> bool {
    !body.is_empty() && *method != Method::GET && *method != Method::HEAD
}

/// The request's media type, lowercase, without its parameters.
fn mime(headers: &HeaderMap) -> String {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Query string and body, decoded into one tree (body parameters win over the query's).
pub fn decode_params(
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Value, ApiError> {
    let mut params = match query {
        Some(q) if !q.is_empty() => form_tree(q.as_bytes())?,
        _ => Map::new(),
    };
    if has_body(method, body) {
        let body_params = match mime(headers).as_str() {
            "application/json" => match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err(not_a_json_object()),
                Err(e) => return Err(invalid_json(&e)),
            },
            "application/x-www-form-urlencoded" | "" => form_tree(body)?,
            other => return Err(ApiError::UnsupportedMediaType(other.chars().take(100).collect())),
        };
        params.extend(body_params);
    }
    Ok(Value::Object(params))
}

fn form_tree(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match form::parse(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Ok(Map::new()),
        Err(e) => Err(ApiError::Invalid(Invalid {
            code: kassa_core::ErrorCode::ParameterInvalid,
            param: e.param,
            message: e.message,
        })),
    }
}
