//! Step 3 — the mode and what each mode allows (SPEC §5 `mode`, limits).
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
        Some(_) => Err(Invalid::param("mode", "`mode` must be `payment` or `subscription`.")),
    }
}

/// Payment mode refuses the first recurring price; subscription mode needs at least one.
fn prices_fit_mode(mode: Mode, lines: &[LineItem]) -> Result<(), Invalid> {
    match mode {
        Mode::Payment => match lines.iter().position(is_recurring) {
            Some(i) => Err(Invalid::param(
                format!("line_items[{i}][price]"),
                "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
            )),
            None => Ok(()),
        },
        Mode::Subscription if !lines.iter().any(is_recurring) => Err(Invalid::param(
            "mode",
            "You must provide at least one recurring price in `subscription` mode when using prices.",
        )),
        Mode::Subscription => Ok(()),
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
            format!("line_items[{i}][price]"),
            "All recurring prices in a checkout session must share the same `interval` and `interval_count`.",
        )),
        None => Ok(()),
    }
}
