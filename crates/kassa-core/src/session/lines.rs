//! Steps 1 and 2 — the line items (SPEC §5 `line_items`, `adjustable_quantity`).
//!
//! Before anything is read ([`price_ids`]): at least one line, at most [`MAX_PAYMENT_LINES`] (the
//! most any mode takes, so that a huge request costs no reads), each naming a price. Then, line
//! by line ([`line_items`]): the price exists in this account and is active, `quantity` is 1 to
//! [`MAX_ADJUSTABLE_QUANTITY`], and an `adjustable_quantity` has `enabled`, `minimum` (default 0)
//! below `maximum` (default [`DEFAULT_MAX_QUANTITY`], at most [`MAX_ADJUSTABLE_QUANTITY`]), and
//! the quantity between them. A line is checked completely before the next one.

use super::{
    AdjustableQuantity, DEFAULT_MAX_QUANTITY, LineItem, MAX_ADJUSTABLE_QUANTITY, MAX_PAYMENT_LINES, Resolved,
};
use crate::catalog::{self, Price};
use crate::error::{ErrorCode, Invalid};
use crate::ids;
use crate::params::{AdjustableQuantityParam, Int, LineItemParam};

/// The price id of each line, after the checks that need no reads.
pub(super) fn price_ids(items: Option<&[LineItemParam]>) -> Result<Vec<String>, Invalid> {
    let items = match items {
        None => return Err(Invalid::missing("line_items")),
        Some([]) => {
            return Err(Invalid::param("line_items", "A checkout session needs at least one line item."));
        }
        Some(items) if items.len() > MAX_PAYMENT_LINES => {
            return Err(Invalid::param(
                "line_items",
                format!(
                    "A checkout session takes at most {MAX_PAYMENT_LINES} line items; you passed {}.",
                    items.len()
                ),
            ));
        }
        Some(items) => items,
    };
    let mut prices = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        prices.push(price_id(i, item.price.as_deref())?.to_owned());
    }
    Ok(prices)
}

/// Line `i` names a price: given, not empty, of a plausible length.
fn price_id(i: usize, price: Option<&str>) -> Result<&str, Invalid> {
    match price {
        None => Err(Invalid::new(
            ErrorCode::ParameterMissing,
            format!("line_items[{i}][price]"),
            format!("You must provide a price for each line item: `line_items[{i}][price]` is missing."),
        )),
        Some("") => Err(Invalid::empty(format!("line_items[{i}][price]"))),
        Some(id) if id.len() > catalog::MAX_TEXT => {
            Err(Invalid::param(format!("line_items[{i}][price]"), "Price ids are at most 5000 characters."))
        }
        Some(id) => Ok(id),
    }
}

/// The session's lines: each line's price, quantity and bounds, in the order given. `price_ids`
/// are the ids [`price_ids`] returned for `items`.
pub(super) fn line_items(
    items: &[LineItemParam],
    price_ids: &[String],
    r: &Resolved<'_>,
) -> Result<Vec<LineItem>, Invalid> {
    let mut lines = Vec::with_capacity(items.len());
    for (i, (item, price_id)) in items.iter().zip(price_ids).enumerate() {
        let price = line_price(i, price_id, r)?;
        let quantity = line_quantity(i, item.quantity)?;
        let adjustable_quantity = match &item.adjustable_quantity {
            None => None,
            Some(a) => Some(adjustable(i, quantity, a)?),
        };
        let description = r
            .products
            .get(price.product.as_str())
            .map(|p| p.name.clone())
            .unwrap_or_else(|| price.product.clone());
        lines.push(LineItem {
            id: ids::new_id(ids::prefix::LINE_ITEM),
            price: price.clone(),
            description,
            quantity,
            adjustable_quantity,
            amount_subtotal: 0,
            amount_discount: 0,
            amount_total: 0,
        });
    }
    Ok(lines)
}

/// Line `i`'s price: one of this account's, and active.
fn line_price<'a>(i: usize, price_id: &str, r: &Resolved<'a>) -> Result<&'a Price, Invalid> {
    let param = format!("line_items[{i}][price]");
    let price = *r.prices.get(price_id).ok_or_else(|| Invalid::no_such("price", price_id, param.clone()))?;
    if !price.active {
        return Err(Invalid::param(
            param,
            "The price specified is inactive. This field only accepts active prices.",
        ));
    }
    Ok(price)
}

/// Line `i`'s quantity: given, at least 1, at most [`MAX_ADJUSTABLE_QUANTITY`].
fn line_quantity(i: usize, quantity: Option<Int>) -> Result<i64, Invalid> {
    match quantity {
        None => Err(Invalid::new(
            ErrorCode::ParameterMissing,
            format!("line_items[{i}][quantity]"),
            format!("Quantity is required. Add `quantity` to `line_items[{i}]`."),
        )),
        Some(Int(q)) if q < 1 => Err(Invalid::param(
            format!("line_items[{i}][quantity]"),
            "This value must be greater than or equal to 1.",
        )),
        Some(Int(q)) if q > MAX_ADJUSTABLE_QUANTITY => Err(Invalid::param(
            format!("line_items[{i}][quantity]"),
            format!("This value must be less than or equal to {MAX_ADJUSTABLE_QUANTITY}."),
        )),
        Some(Int(q)) => Ok(q),
    }
}

/// Line `i`'s `adjustable_quantity`: `enabled` given; `0 ≤ minimum < maximum ≤ 999999`
/// (defaults 0 and 99); `minimum ≤ quantity ≤ maximum`.
fn adjustable(i: usize, quantity: i64, a: &AdjustableQuantityParam) -> Result<AdjustableQuantity, Invalid> {
    let param = |f: &str| format!("line_items[{i}][adjustable_quantity][{f}]");
    let enabled = a.enabled.ok_or_else(|| Invalid::missing(param("enabled")))?.0;
    let minimum = a.minimum.map_or(0, |Int(m)| m);
    let maximum = a.maximum.map_or(DEFAULT_MAX_QUANTITY, |Int(m)| m);
    if minimum < 0 {
        return Err(Invalid::param(param("minimum"), "`minimum` must be at least 0."));
    }
    if maximum > MAX_ADJUSTABLE_QUANTITY {
        return Err(Invalid::param(
            param("maximum"),
            format!("`maximum` must be at most {MAX_ADJUSTABLE_QUANTITY}."),
        ));
    }
    if maximum < 1 {
        return Err(Invalid::param(param("maximum"), "`maximum` must be at least 1."));
    }
    if minimum >= maximum {
        return Err(Invalid::param(param("minimum"), "`minimum` must be less than `maximum`."));
    }
    if quantity > maximum {
        return Err(Invalid::param(
            format!("line_items[{i}][quantity]"),
            format!(
                "`quantity` ({quantity}) must not exceed `adjustable_quantity[maximum]` ({maximum}); set a larger `maximum` (up to {MAX_ADJUSTABLE_QUANTITY})."
            ),
        ));
    }
    if quantity < minimum {
        return Err(Invalid::param(
            format!("line_items[{i}][quantity]"),
            format!("`quantity` ({quantity}) must be at least `adjustable_quantity[minimum]` ({minimum})."),
        ));
    }
    Ok(AdjustableQuantity { enabled, minimum, maximum })
}
