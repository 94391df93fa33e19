//! Step 4 — the session's currency (`currency`).
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
                    lines[i].price_param(i, "currency"),
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
                    lines[i].price_param(i, "currency"),
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::params::SessionCreate;

    fn in_currency(currency: &str, p: SessionCreate) -> SessionCreate {
        SessionCreate { currency: Some(currency.to_owned()), ..p }
    }

    #[test]
    fn currency_given_must_match_every_price() {
        let p = in_currency("eur", request(vec![line("price_eur", 1), line("price_usd", 1)]));
        let m = invalid(Fx::new().create(p), "line_items[1][price]");
        assert_eq!(
            m,
            "The price specified supports currencies of `usd` which doesn't include the expected currency of `eur`."
        );
        let s = Fx::new()
            .ok(in_currency("eur", request(vec![line("price_eur", 1), line("price_monthly_eur", 1)])));
        assert_eq!(s.currency, cur("eur"));
    }

    #[test]
    fn currency_given_must_be_known() {
        let m = invalid(Fx::new().create(in_currency("zzz", buy("price_usd", 1))), "currency");
        assert_eq!(m, "Invalid currency: zzz. Use a lowercase ISO 4217 code that kassa supports.");
    }

    #[test]
    fn currency_given_in_capitals_is_folded() {
        assert_eq!(Fx::new().ok(in_currency("USD", buy("price_usd", 1))).currency, cur("usd"));
    }

    #[test]
    fn currency_omitted_prices_must_share_one() {
        let p = request(vec![line("price_usd", 1), line("price_usd_b", 1), line("price_eur", 1)]);
        let m = invalid(Fx::new().create(p), "line_items[2][price]");
        assert_eq!(m, "All prices in a checkout session must share one currency: `eur` differs from `usd`.");
    }

    #[test]
    fn currency_omitted_becomes_the_prices_currency() {
        assert_eq!(Fx::new().ok(buy("price_jpy", 3)).currency, cur("jpy"));
        assert_eq!(Fx::new().ok(buy("price_monthly_eur", 1)).currency, cur("eur"));
    }
}
