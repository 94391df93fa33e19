//! Step 3 — the mode and what each mode allows (`mode`, limits).
//!
//! `mode` is `payment` or `subscription`; left out, it is `subscription` when any price is
//! recurring and `payment` otherwise. Payment mode takes no recurring price; subscription mode
//! needs one, takes at most [`MAX_SUBSCRIPTION_RECURRING_LINES`] recurring and
//! [`MAX_SUBSCRIPTION_ONE_TIME_LINES`] one-time lines, and its recurring prices share one
//! `interval` and `interval_count`. (Payment mode's limit, [`super::MAX_PAYMENT_LINES`], is the
//! most any mode takes: it is checked before anything is read.)

use super::{LineItem, MAX_SUBSCRIPTION_ONE_TIME_LINES, MAX_SUBSCRIPTION_RECURRING_LINES, Mode};
use crate::catalog::Recurring;
use crate::error::Invalid;

/// The session's mode, and the rules of that mode checked against the lines, in this order.
pub(super) fn mode_and_limits(given: Option<&str>, lines: &[LineItem]) -> Result<Mode, Invalid> {
    let mode = mode(given, lines)?;
    prices_fit_mode(mode, lines)?;
    line_limits(mode, lines)?;
    shared_interval(lines)?;
    Ok(mode)
}

fn is_recurring(line: &LineItem) -> bool {
    line.price.recurring.is_some()
}

/// The mode given, or the one the prices imply.
fn mode(given: Option<&str>, lines: &[LineItem]) -> Result<Mode, Invalid> {
    match given {
        None if lines.iter().any(is_recurring) => Ok(Mode::Subscription),
        None => Ok(Mode::Payment),
        Some("payment") => Ok(Mode::Payment),
        Some("subscription") => Ok(Mode::Subscription),
        Some("setup") => Ok(Mode::Setup),
        Some(_) => Err(Invalid::param("mode", "`mode` must be `payment`, `setup` or `subscription`.")),
    }
}

/// Payment mode refuses the first recurring price; subscription mode needs at least one.
fn prices_fit_mode(mode: Mode, lines: &[LineItem]) -> Result<(), Invalid> {
    match mode {
        Mode::Payment => match lines.iter().position(is_recurring) {
            Some(i) => Err(Invalid::param(
                lines[i].price_param(i, "recurring"),
                "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
            )),
            None => Ok(()),
        },
        Mode::Subscription if !lines.iter().any(is_recurring) => Err(Invalid::param(
            "mode",
            "You must provide at least one recurring price in `subscription` mode when using prices.",
        )),
        Mode::Subscription | Mode::Setup => Ok(()),
    }
}

/// Subscription mode: at most 20 recurring lines, then at most 20 one-time lines.
fn line_limits(mode: Mode, lines: &[LineItem]) -> Result<(), Invalid> {
    if mode != Mode::Subscription {
        return Ok(());
    }
    let recurring = lines.iter().filter(|l| is_recurring(l)).count();
    if recurring > MAX_SUBSCRIPTION_RECURRING_LINES {
        return Err(Invalid::param(
            "line_items",
            format!(
                "`subscription` mode takes at most {MAX_SUBSCRIPTION_RECURRING_LINES} line items with recurring prices."
            ),
        ));
    }
    if lines.len() - recurring > MAX_SUBSCRIPTION_ONE_TIME_LINES {
        return Err(Invalid::param(
            "line_items",
            format!(
                "`subscription` mode takes at most {MAX_SUBSCRIPTION_ONE_TIME_LINES} line items with one-time prices."
            ),
        ));
    }
    Ok(())
}

/// Every recurring price bills on the first one's `interval` and `interval_count`; the first line
/// that differs is named.
fn shared_interval(lines: &[LineItem]) -> Result<(), Invalid> {
    let first: Option<Recurring> = lines.iter().find_map(|l| l.price.recurring);
    let differs = |r: Option<Recurring>| r.is_some() && first.is_some() && r != first;
    match lines.iter().position(|l| differs(l.price.recurring)) {
        Some(i) => Err(Invalid::param(
            lines[i].price_param(i, "recurring"),
            "All recurring prices in a checkout session must share the same `interval` and `interval_count`.",
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mode;
    use super::super::fixtures::*;
    use crate::params::SessionCreate;

    fn with_mode(mode: &str, p: SessionCreate) -> SessionCreate {
        SessionCreate { mode: Some(mode.to_owned()), ..p }
    }

    #[test]
    fn mode_must_be_payment_setup_or_subscription() {
        for bad in ["layaway", "Payment", ""] {
            let m = invalid(Fx::new().create(with_mode(bad, buy("price_usd", 1))), "mode");
            assert_eq!(m, "`mode` must be `payment`, `setup` or `subscription`.");
        }
        assert_eq!(Fx::new().ok(with_mode("payment", buy("price_usd", 1))).mode, Mode::Payment);
        assert_eq!(Fx::new().ok(with_mode("subscription", buy("price_monthly", 1))).mode, Mode::Subscription);
    }

    #[test]
    fn mode_omitted_is_subscription_when_any_price_is_recurring() {
        let s = Fx::new().ok(request(vec![line("price_usd", 1), line("price_monthly", 1)]));
        assert_eq!(s.mode, Mode::Subscription);
    }

    #[test]
    fn mode_omitted_is_payment_when_no_price_is_recurring() {
        let s = Fx::new().ok(request(vec![line("price_usd", 1), line("price_usd_b", 1)]));
        assert_eq!(s.mode, Mode::Payment);
    }

    #[test]
    fn mode_payment_refuses_recurring_price() {
        let p = with_mode("payment", request(vec![line("price_usd", 1), line("price_monthly", 1)]));
        let m = invalid(Fx::new().create(p), "line_items[1][price]");
        assert_eq!(
            m,
            "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices."
        );
    }

    #[test]
    fn mode_subscription_needs_a_recurring_price() {
        let p = with_mode("subscription", request(vec![line("price_usd", 1), line("price_usd_b", 1)]));
        let m = invalid(Fx::new().create(p), "mode");
        assert_eq!(
            m,
            "You must provide at least one recurring price in `subscription` mode when using prices."
        );
    }

    #[test]
    fn subscription_mode_at_most_20_recurring_lines() {
        let s = Fx::new().ok(request(vec![line("price_monthly", 1); 20]));
        assert_eq!(s.line_items.len(), 20);
        let m = invalid(Fx::new().create(request(vec![line("price_monthly", 1); 21])), "line_items");
        assert_eq!(m, "`subscription` mode takes at most 20 line items with recurring prices.");
    }

    #[test]
    fn subscription_mode_at_most_20_one_time_lines() {
        let mut lines = vec![line("price_monthly", 1); 20];
        lines.extend(vec![line("price_usd", 1); 20]);
        assert_eq!(Fx::new().ok(request(lines.clone())).line_items.len(), 40);
        lines.push(line("price_usd", 1));
        let m = invalid(Fx::new().create(request(lines)), "line_items");
        assert_eq!(m, "`subscription` mode takes at most 20 line items with one-time prices.");
    }

    #[test]
    fn recurring_prices_share_interval() {
        let p = request(vec![line("price_monthly", 1), line("price_usd", 1), line("price_weekly", 1)]);
        let m = invalid(Fx::new().create(p), "line_items[2][price]");
        assert_eq!(
            m,
            "All recurring prices in a checkout session must share the same `interval` and `interval_count`."
        );
    }

    #[test]
    fn recurring_prices_share_interval_count() {
        let p = request(vec![
            line("price_monthly", 1),
            line("price_monthly_b", 1),
            line("price_bimonthly", 1),
            line("price_weekly", 1),
        ]);
        invalid(Fx::new().create(p), "line_items[2][price]");
        let s = Fx::new().ok(request(vec![line("price_monthly", 1), line("price_monthly_b", 2)]));
        assert_eq!(s.mode, Mode::Subscription);
    }

    #[test]
    fn mode_rules_in_order() {
        // An unknown mode is named before the lines are judged against any mode.
        invalid(Fx::new().create(with_mode("layaway", request(vec![line("price_monthly", 1); 21]))), "mode");
        // Too many recurring lines before too many one-time lines before a differing interval.
        let mut lines = vec![line("price_weekly", 1); 21];
        lines.extend(vec![line("price_usd", 1); 21]);
        lines.insert(0, line("price_monthly", 1));
        let m = invalid(Fx::new().create(request(lines.clone())), "line_items");
        assert!(m.contains("recurring prices"), "{m}");
        lines.truncate(20);
        lines.extend(vec![line("price_usd", 1); 21]);
        let m = invalid(Fx::new().create(request(lines.clone())), "line_items");
        assert!(m.contains("one-time prices"), "{m}");
        lines.truncate(20);
        invalid(Fx::new().create(request(lines)), "line_items[1][price]");
    }
}
