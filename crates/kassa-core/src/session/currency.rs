//! Step 4 — the session's currency (SPEC §5 `currency`).
//!
//! Given, it must be a supported code and every price must be in it; left out, every price must
//! share the first line's currency, which becomes the session's. The first line that differs is
//! named.

use super::LineItem;
use crate::catalog;
use crate::error::Invalid;
use crate::money::Currency;

pub(super) fn session_currency(given: Option<&str>, lines: &[LineItem]) -> Result<Currency, Invalid> {
    match given {
        Some(code) => {
            let c = catalog::currency("currency", code)?;
            match lines.iter().position(|l| l.price.currency != c) {
                Some(i) => Err(Invalid::param(
                    format!("line_items[{i}][price]"),
                    format!(
                        "The price specified supports currencies of `{}` which doesn't include the expected currency of `{c}`.",
                        lines[i].price.currency
                    ),
                )),
                None => Ok(c),
            }
        }
        None => {
            // Lines are never empty here (step 1); the guard keeps this function total.
            let Some(first) = lines.first() else {
                return Err(Invalid::param("line_items", "A checkout session needs at least one line item."));
            };
            let c = first.price.currency;
            match lines.iter().position(|l| l.price.currency != c) {
                Some(i) => Err(Invalid::param(
                    format!("line_items[{i}][price]"),
                    format!(
                        "All prices in a checkout session must share one currency: `{}` differs from `{c}`.",
                        lines[i].price.currency
                    ),
                )),
                None => Ok(c),
            }
        }
    }
}
