//! The `Stripe-Signature` verifier: any header and payload verify or are refused, never a panic;
//! a header made by `signature_header` for the same payload always verifies.
#![no_main]

use kassa_core::webhook::{WebhookSecret, signature_header, verify_signature};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let secret = WebhookSecret::from_text("whsec_fuzz".to_owned());
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (header, payload) = data.split_at(split);
    let now = 1_700_000_000;
    if let Ok(header) = std::str::from_utf8(header) {
        let _ = verify_signature(&secret, header, payload, now, 300);
    }
    let made = signature_header(&secret, now, payload);
    assert_eq!(verify_signature(&secret, &made, payload, now, 300), Ok(now));
});
