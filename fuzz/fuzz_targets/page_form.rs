//! The hosted page's forms as the page reads them: any body gives the payment form (its card
//! parsed into the masking types, or the field errors) or an error page, never a panic, and the
//! parsed card's `Debug` never shows the number typed. (The other fields are the customer's own
//! text, which may hold any digits: the first long run found an e-mail containing the number.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pairs) = kassa::form::pairs(data) else { return };
    let number: Option<String> = pairs.iter().rev().find(|(k, _)| k == "card_number").map(|(_, v)| v.clone());
    let form = kassa::http::pages::pay_form(pairs, 1_700_000_000);
    if let (Some(number), Ok(_)) = (number, &form.card) {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        assert!(!format!("{:?}", form.card).contains(&digits), "the card number in Debug");
    }
});
