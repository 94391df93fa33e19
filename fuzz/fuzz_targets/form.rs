//! Stripe's bracketed form encoding: any bytes decode into a tree or a `FormError`, never a panic,
//! and the flat pair reader agrees with the tree reader on what it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs = kassa::form::pairs(data);
    let tree = kassa::form::parse(data);
    // Both read the same percent-encoding and UTF-8: a body one refuses for its encoding, the
    // other refuses too (the tree reader also refuses bad names, which pairs keeps).
    if pairs.is_err() {
        assert!(tree.is_err(), "pairs refused what parse accepted");
    }
    if let Ok(serde_json::Value::Object(map)) = &tree {
        assert!(map.len() <= pairs.as_ref().map(Vec::len).unwrap_or(0));
    }
});
