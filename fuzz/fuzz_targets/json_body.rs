//! The body of an API request, as the API middleware reads it (JSON or Stripe's form encoding,
//! by Content-Type), then decoded into the typed session request and checked by the first rules:
//! any bytes give a request or a Stripe-shaped refusal, never a panic.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, Method, header};
use kassa_core::params::SessionCreate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (json, body) = match data.split_first() {
        Some((flag, rest)) => (flag & 1 == 0, rest),
        None => return,
    };
    let mut headers = HeaderMap::new();
    let content_type = if json { "application/json" } else { "application/x-www-form-urlencoded" };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let Ok(params) = kassa::http::middleware::decode_params(&Method::POST, &headers, None, body) else {
        return;
    };
    let Ok(request) = kassa::http::extract::decode::<SessionCreate>(params) else { return };
    let _ = kassa_core::session::references(&request);
});
