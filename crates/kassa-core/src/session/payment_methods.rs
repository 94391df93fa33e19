//! Step 6 — payment method types (SPEC §5 `payment_method_types`).
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
