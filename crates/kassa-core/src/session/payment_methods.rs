//! Step 6 — payment method types (`payment_method_types`).
//!
//! A non-empty list of `card`, `paypal` and `customer_balance`, default `["card"]`. A type given
//! twice is kept once, at the index it was first given at, so that an error names the parameter
//! the merchant sent. Then each kept type, in order, must fit the session: `paypal` needs one of
//! [`PAYPAL_CURRENCIES`]; `customer_balance` needs payment mode, then one of
//! [`CUSTOMER_BALANCE_CURRENCIES`].

use super::{CUSTOMER_BALANCE_CURRENCIES, Mode, PAYPAL_CURRENCIES, PaymentMethodType};
use crate::error::Invalid;
use crate::money::Currency;

pub(super) fn payment_method_types(
    given: Option<Vec<String>>,
    mode: Mode,
    currency: Currency,
) -> Result<Vec<PaymentMethodType>, Invalid> {
    let kept = parse(given)?;
    for &(i, pm) in &kept {
        fits(i, pm, mode, currency)?;
    }
    Ok(kept.into_iter().map(|(_, pm)| pm).collect())
}

/// Each type once, with the index it was first given at; unknown types refused in order.
fn parse(given: Option<Vec<String>>) -> Result<Vec<(usize, PaymentMethodType)>, Invalid> {
    let v = match given {
        None => return Ok(vec![(0, PaymentMethodType::Card)]),
        Some(v) if v.is_empty() => {
            return Err(Invalid::param("payment_method_types", "`payment_method_types` must not be empty."));
        }
        Some(v) => v,
    };
    let mut out = Vec::with_capacity(v.len());
    for (i, t) in v.iter().enumerate() {
        let pm = PaymentMethodType::parse(t).ok_or_else(|| {
            Invalid::param(
                format!("payment_method_types[{i}]"),
                format!(
                    "Invalid payment_method_types[{i}]: must be one of card, paypal or customer_balance."
                ),
            )
        })?;
        if !out.iter().any(|(_, x)| *x == pm) {
            out.push((i, pm));
        }
    }
    Ok(out)
}

/// Whether type `pm`, given at index `i`, can pay a session in `mode` and `currency`.
fn fits(i: usize, pm: PaymentMethodType, mode: Mode, currency: Currency) -> Result<(), Invalid> {
    let param = format!("payment_method_types[{i}]");
    match pm {
        PaymentMethodType::Card => Ok(()),
        PaymentMethodType::Paypal if !PAYPAL_CURRENCIES.contains(&currency.as_str()) => Err(Invalid::param(
            param,
            format!("`paypal` does not support `{currency}`; it supports {}.", PAYPAL_CURRENCIES.join(", ")),
        )),
        PaymentMethodType::Paypal => Ok(()),
        PaymentMethodType::CustomerBalance if mode != Mode::Payment => {
            Err(Invalid::param(param, "`customer_balance` can only be used in `payment` mode."))
        }
        PaymentMethodType::CustomerBalance if !CUSTOMER_BALANCE_CURRENCIES.contains(&currency.as_str()) => {
            Err(Invalid::param(
                param,
                format!(
                    "`customer_balance` does not support `{currency}`; it supports {}.",
                    CUSTOMER_BALANCE_CURRENCIES.join(", ")
                ),
            ))
        }
        PaymentMethodType::CustomerBalance => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{CUSTOMER_BALANCE_CURRENCIES, PAYPAL_CURRENCIES, PaymentMethodType};
    use crate::catalog::Interval;
    use crate::params::SessionCreate;

    use PaymentMethodType::{Card, CustomerBalance, Paypal};

    fn paying_with(types: &[&str], p: SessionCreate) -> SessionCreate {
        SessionCreate { payment_method_types: strings(types), ..p }
    }

    /// A catalog with a one-time price `price_<code>` in `code`.
    fn priced_in(code: &str) -> Fx {
        Fx::new().with_price(one_time(&format!("price_{code}"), code, 1000))
    }

    #[test]
    fn payment_method_types_default_to_card() {
        assert_eq!(Fx::new().ok(buy("price_usd", 1)).payment_method_types, [Card]);
    }

    #[test]
    fn payment_method_types_not_empty() {
        let m = invalid(Fx::new().create(paying_with(&[], buy("price_usd", 1))), "payment_method_types");
        assert_eq!(m, "`payment_method_types` must not be empty.");
    }

    #[test]
    fn payment_method_types_subset_of_card_paypal_customer_balance() {
        let p = paying_with(&["card", "paypal", "ideal", "sepa_debit"], buy("price_usd", 1));
        let m = invalid(Fx::new().create(p), "payment_method_types[2]");
        assert_eq!(m, "Invalid payment_method_types[2]: must be one of card, paypal or customer_balance.");
        let s = Fx::new().ok(paying_with(&["customer_balance", "paypal", "card"], buy("price_usd", 1)));
        assert_eq!(s.payment_method_types, [CustomerBalance, Paypal, Card]);
    }

    #[test]
    fn payment_method_types_repeated_are_kept_once_at_their_first_index() {
        let s = Fx::new().ok(paying_with(&["card", "paypal", "card", "paypal"], buy("price_usd", 1)));
        assert_eq!(s.payment_method_types, [Card, Paypal]);
        // The error names the index the merchant first gave the type at.
        let p = paying_with(&["card", "card", "paypal", "paypal"], buy("price_jpy", 1));
        invalid(Fx::new().create(p), "payment_method_types[2]");
    }

    #[test]
    fn paypal_requires_one_of_its_currencies() {
        for code in
            ["eur", "gbp", "usd", "chf", "czk", "dkk", "nok", "pln", "sek", "aud", "cad", "hkd", "nzd", "sgd"]
        {
            assert!(PAYPAL_CURRENCIES.contains(&code));
            let s = priced_in(code).ok(paying_with(&["paypal"], buy(&format!("price_{code}"), 1)));
            assert_eq!(s.payment_method_types, [Paypal], "{code}");
        }
        assert_eq!(PAYPAL_CURRENCIES.len(), 14);
        let m = invalid(
            Fx::new().create(paying_with(&["card", "paypal"], buy("price_jpy", 1))),
            "payment_method_types[1]",
        );
        assert_eq!(
            m,
            "`paypal` does not support `jpy`; it supports aud, cad, chf, czk, dkk, eur, gbp, hkd, nok, nzd, pln, sek, sgd, usd."
        );
    }

    #[test]
    fn customer_balance_requires_usd_eur_gbp_jpy_or_mxn() {
        for code in ["usd", "eur", "gbp", "jpy", "mxn"] {
            assert!(CUSTOMER_BALANCE_CURRENCIES.contains(&code));
            let s = priced_in(code).ok(paying_with(&["customer_balance"], buy(&format!("price_{code}"), 1)));
            assert_eq!(s.payment_method_types, [CustomerBalance], "{code}");
        }
        assert_eq!(CUSTOMER_BALANCE_CURRENCIES.len(), 5);
        let m = invalid(
            Fx::new().create(paying_with(&["customer_balance"], buy("price_chf", 1))),
            "payment_method_types[0]",
        );
        assert_eq!(m, "`customer_balance` does not support `chf`; it supports eur, gbp, jpy, mxn, usd.");
    }

    #[test]
    fn customer_balance_requires_payment_mode() {
        let p = paying_with(&["card", "customer_balance"], buy("price_monthly", 1));
        let m = invalid(Fx::new().create(p), "payment_method_types[1]");
        assert_eq!(m, "`customer_balance` can only be used in `payment` mode.");
        // The mode is named before the currency.
        let fx = Fx::new().with_price(recurring("price_chf_monthly", "chf", 900, Interval::Month, 1));
        let m = invalid(
            fx.create(paying_with(&["customer_balance"], buy("price_chf_monthly", 1))),
            "payment_method_types[0]",
        );
        assert_eq!(m, "`customer_balance` can only be used in `payment` mode.");
    }

    #[test]
    fn payment_method_types_rules_in_order() {
        // Every type is known before any is checked against the session…
        invalid(
            Fx::new().create(paying_with(&["paypal", "bogus"], buy("price_jpy", 1))),
            "payment_method_types[1]",
        );
        // …then the kept types are checked in the order given.
        let p = paying_with(&["customer_balance", "paypal"], buy("price_chf", 1));
        invalid(Fx::new().create(p), "payment_method_types[0]");
        let p = paying_with(&["paypal", "customer_balance"], buy("price_chf", 1));
        invalid(Fx::new().create(p), "payment_method_types[1]");
    }
}
