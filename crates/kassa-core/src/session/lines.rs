//! Steps 1 and 2 — the line items (`line_items`, `adjustable_quantity`).
//!
//! Before anything is read ([`price_ids`]): at least one line, at most [`MAX_PAYMENT_LINES`] (the
//! most any mode takes, so that a huge request costs no reads), each naming a price. Then, line
//! by line ([`line_items`]): the price exists in this account and is active, `quantity` is 1 to
//! [`MAX_ADJUSTABLE_QUANTITY`], and an `adjustable_quantity` has `enabled`, `minimum` (default 0)
//! below `maximum` (default [`DEFAULT_MAX_QUANTITY`], at most [`MAX_ADJUSTABLE_QUANTITY`]), and
//! the quantity between them. A line is checked completely before the next one.

use super::{
    AdjustableQuantity, DEFAULT_MAX_QUANTITY, Inline, LineItem, MAX_ADJUSTABLE_QUANTITY, MAX_PAYMENT_LINES,
    Resolved,
};
use crate::catalog::{self, MAX_TEXT, Price, Product};
use crate::error::{ErrorCode, Invalid};
use crate::ids;
use crate::metadata::{self, Metadata};
use crate::params::{AdjustableQuantityParam, Decimal, Int, LineItemParam, PriceDataParam, ProductDataParam};
use crate::time::Timestamp;

/// The most images a product takes (Stripe's limit).
const MAX_IMAGES: usize = 8;

/// The price id of each line that names one (lines with `price_data` name none), after the
/// checks that need no reads: every line has `price` or `price_data`, not both.
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
        match (&item.price, &item.price_data) {
            (Some(_), Some(_)) => {
                return Err(Invalid::exclusive(
                    &format!("line_items[{i}][price]"),
                    &format!("line_items[{i}][price_data]"),
                ));
            }
            (None, Some(_)) => {}
            (price, None) => prices.push(price_id(i, price.as_deref())?.to_owned()),
        }
    }
    Ok(prices)
}

/// The products that lines' `price_data[product]` name, for the caller to load.
pub(super) fn product_ids(items: Option<&[LineItemParam]>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in items.unwrap_or_default().iter().filter_map(|i| i.price_data.as_ref()) {
        if let Some(p) = d.product.as_ref().filter(|p| !p.is_empty() && p.len() <= MAX_TEXT)
            && !out.contains(p)
        {
            out.push(p.clone());
        }
    }
    out
}

/// Line `i` names a price: given, not empty, of a plausible length.
fn price_id(i: usize, price: Option<&str>) -> Result<&str, Invalid> {
    match price {
        None => Err(Invalid::new(
            ErrorCode::ParameterMissing,
            format!("line_items[{i}][price]"),
            format!(
                "You must provide either `price` or `price_data` for each line item: `line_items[{i}][price]` is missing."
            ),
        )),
        Some("") => Err(Invalid::empty(format!("line_items[{i}][price]"))),
        Some(id) if id.len() > catalog::MAX_TEXT => {
            Err(Invalid::param(format!("line_items[{i}][price]"), "Price ids are at most 5000 characters."))
        }
        Some(id) => Ok(id),
    }
}

/// The session's lines: each line's price (an inline one created into `inline`), quantity,
/// bounds and metadata, in the order given.
pub(super) fn line_items(
    items: &[LineItemParam],
    r: &Resolved<'_>,
    inline: &mut Inline,
    now: Timestamp,
) -> Result<Vec<LineItem>, Invalid> {
    let mut lines = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (price, description) = match (&item.price, &item.price_data) {
            (_, Some(d)) => inline_price(i, d, r, inline, now)?,
            (price, None) => {
                let price = line_price(i, price.as_deref().unwrap_or_default(), r)?;
                let description = r
                    .products
                    .get(price.product.as_str())
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| price.product.clone());
                (price.clone(), description)
            }
        };
        let quantity = line_quantity(i, item.quantity)?;
        let adjustable_quantity = match &item.adjustable_quantity {
            None => None,
            Some(a) => Some(adjustable(i, quantity, a)?),
        };
        let metadata = metadata::create(item.metadata.clone(), &format!("line_items[{i}][metadata]"))?;
        lines.push(LineItem {
            id: ids::new_id(ids::prefix::LINE_ITEM),
            price,
            description,
            quantity,
            adjustable_quantity,
            amount_subtotal: 0,
            amount_discount: 0,
            amount_total: 0,
            metadata,
            tax_rates: Vec::new(),
            dynamic_tax_rates: Vec::new(),
            taxes: Vec::new(),
            applied_rates: Vec::new(),
        });
    }
    Ok(lines)
}

/// Line `i`'s `price_data`: a new price, `active: false` as Stripe makes inline prices, for an
/// existing product or one created from `product_data` (also inactive). Returns it with the
/// line's description (the product's name).
fn inline_price(
    i: usize,
    d: &PriceDataParam,
    r: &Resolved<'_>,
    inline: &mut Inline,
    now: Timestamp,
) -> Result<(Price, String), Invalid> {
    let prefix = format!("line_items[{i}][price_data]");
    let param = |f: &str| format!("{prefix}[{f}]");
    let currency_code = catalog::required_text(&param("currency"), d.currency.clone(), 23)?;
    let currency = catalog::currency(&param("currency"), &currency_code)?;
    let (product_id, name) = match (&d.product, &d.product_data) {
        (Some(_), Some(_)) => return Err(Invalid::exclusive(&param("product"), &param("product_data"))),
        (None, None) => {
            return Err(Invalid::new(
                ErrorCode::ParameterMissing,
                param("product_data"),
                format!("You must provide either `{}` or `{}`.", param("product"), param("product_data")),
            ));
        }
        (Some(id), None) => {
            let id = catalog::required_text(&param("product"), Some(id.clone()), MAX_TEXT)?;
            let product = r
                .products
                .get(id.as_str())
                .ok_or_else(|| Invalid::no_such("product", &id, param("product")))?;
            (product.id.clone(), product.name.clone())
        }
        (None, Some(pd)) => {
            let product = inline_product(&param("product_data"), pd, now)?;
            let out = (product.id.clone(), product.name.clone());
            inline.products.push(product);
            out
        }
    };
    let unit_amount = match (d.unit_amount, &d.unit_amount_decimal) {
        (Some(_), Some(_)) => {
            return Err(Invalid::exclusive(&param("unit_amount"), &param("unit_amount_decimal")));
        }
        (None, None) => return Err(Invalid::missing(param("unit_amount"))),
        (Some(Int(a)), None) => catalog::unit_amount(&param("unit_amount"), a)?,
        (None, Some(dec)) => whole_decimal(&param("unit_amount_decimal"), dec)?,
    };
    let recurring = d.recurring.clone().map(|rec| catalog::recurring(&prefix, rec)).transpose()?;
    let tax_behavior = match d.tax_behavior.as_deref() {
        None => crate::shipping::TaxBehavior::Unspecified,
        Some(t) => crate::shipping::TaxBehavior::parse(&param("tax_behavior"), t)?,
    };
    let price = Price {
        id: ids::new_sortable_id(ids::prefix::PRICE),
        created: now,
        product: product_id,
        currency,
        unit_amount,
        recurring,
        active: false,
        nickname: None,
        lookup_key: None,
        metadata: Metadata::new(),
        tax_behavior,
        inline: true,
    };
    inline.prices.push(price.clone());
    Ok((price, name))
}

/// `product_data`: a new, inactive product.
fn inline_product(prefix: &str, pd: &ProductDataParam, now: Timestamp) -> Result<Product, Invalid> {
    let param = |f: &str| format!("{prefix}[{f}]");
    let name = catalog::required_text(&param("name"), pd.name.clone(), MAX_TEXT)?;
    let description =
        catalog::text(&param("description"), pd.description.clone(), 40_000)?.filter(|d| !d.is_empty());
    let images = pd.images.clone().unwrap_or_default();
    if images.len() > MAX_IMAGES {
        return Err(Invalid::param(param("images"), format!("A product takes at most {MAX_IMAGES} images.")));
    }
    for (k, url) in images.iter().enumerate() {
        let ok = url.len() <= 2048 && (url.starts_with("https://") || url.starts_with("http://"));
        if !ok {
            return Err(Invalid::new(
                ErrorCode::UrlInvalid,
                format!("{}[{k}]", param("images")),
                "Each image must be an absolute http or https URL of at most 2048 characters.",
            ));
        }
    }
    Ok(Product {
        id: ids::new_sortable_id(ids::prefix::PRODUCT),
        created: now,
        updated: now,
        name,
        active: false,
        description,
        metadata: metadata::create(pd.metadata.clone(), &param("metadata"))?,
        images,
        tax_code: catalog::text(&param("tax_code"), pd.tax_code.clone(), MAX_TEXT)?.filter(|t| !t.is_empty()),
    })
}

/// A `unit_amount_decimal` in whole minor units: `1250` or `1250.00`, not `1250.5` (kassa
/// charges no fractions of a cent).
fn whole_decimal(param: &str, d: &Decimal) -> Result<i64, Invalid> {
    let text = d.0.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return Err(Invalid::param(param, format!("`{param}` must be a decimal number of minor units.")));
    }
    if fraction.bytes().any(|b| b != b'0') {
        return Err(Invalid::param(
            param,
            format!(
                "`{param}` has a fraction of a minor unit ({text}); kassa charges whole minor units only: round it, or use `unit_amount`."
            ),
        ));
    }
    let amount = whole
        .parse::<i64>()
        .map_err(|_| Invalid::new(ErrorCode::AmountTooLarge, param, format!("`{param}` is too large.")))?;
    catalog::unit_amount(param, amount)
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{AdjustableQuantity, Mode, Session, references};
    use crate::error::ErrorCode;
    use crate::params::{Int, LineItemParam, SessionCreate};

    fn no_price(quantity: i64) -> LineItemParam {
        LineItemParam { price: None, ..line("price_usd", quantity) }
    }

    #[test]
    fn line_items_are_required() {
        let m =
            refused(Fx::new().create(SessionCreate::default()), ErrorCode::ParameterMissing, "line_items");
        assert_eq!(m, "Missing required param: line_items.");
    }

    #[test]
    fn line_items_at_least_one() {
        let m = invalid(Fx::new().create(request(vec![])), "line_items");
        assert_eq!(m, "A checkout session needs at least one line item.");
    }

    #[test]
    fn payment_mode_at_most_100_line_items() {
        let s = Fx::new().ok(request(vec![line("price_usd", 1); 100]));
        assert_eq!((s.mode, s.line_items.len()), (Mode::Payment, 100));
        let m = invalid(Fx::new().create(request(vec![line("price_usd", 1); 101])), "line_items");
        assert_eq!(m, "A checkout session takes at most 100 line items; you passed 101.");
    }

    #[test]
    fn more_than_100_line_items_are_refused_before_any_price_is_read() {
        // `references` is what the caller runs before loading anything.
        let err = references(&request(vec![line("price_unknown", 0); 101])).unwrap_err();
        assert_eq!((err.code, err.param.as_deref()), (ErrorCode::ParameterInvalid, Some("line_items")));
    }

    #[test]
    fn line_item_needs_a_price() {
        let p = request(vec![line("price_usd", 1), no_price(1)]);
        let m = refused(Fx::new().create(p), ErrorCode::ParameterMissing, "line_items[1][price]");
        assert_eq!(
            m,
            "You must provide either `price` or `price_data` for each line item: `line_items[1][price]` is missing."
        );
    }

    #[test]
    fn line_item_price_must_not_be_empty() {
        let m =
            refused(Fx::new().create(buy("", 1)), ErrorCode::ParameterInvalidEmpty, "line_items[0][price]");
        assert!(m.starts_with("You passed an empty string for 'line_items[0][price]'."), "{m}");
    }

    #[test]
    fn line_item_price_id_at_most_5000_characters() {
        let long = "p".repeat(5001);
        let m = invalid(Fx::new().create(buy(&long, 1)), "line_items[0][price]");
        assert_eq!(m, "Price ids are at most 5000 characters.");
        // 5000 characters pass the shape check and are then looked up.
        let m = refused(
            Fx::new().create(buy(&long[..5000], 1)),
            ErrorCode::ResourceMissing,
            "line_items[0][price]",
        );
        assert!(m.starts_with("No such price: 'pppp"), "{m}");
    }

    #[test]
    fn unknown_price_is_resource_missing() {
        let p = request(vec![line("price_usd", 1), line("price_nope", 1)]);
        let m = refused(Fx::new().create(p), ErrorCode::ResourceMissing, "line_items[1][price]");
        assert_eq!(m, "No such price: 'price_nope'");
    }

    #[test]
    fn archived_price_is_inactive() {
        let m = invalid(Fx::new().create(buy("price_archived", 1)), "line_items[0][price]");
        assert_eq!(m, "The price specified is inactive. This field only accepts active prices.");
    }

    #[test]
    fn quantity_required() {
        let p = request(vec![LineItemParam { quantity: None, ..line("price_usd", 1) }]);
        let m = refused(Fx::new().create(p), ErrorCode::ParameterMissing, "line_items[0][quantity]");
        assert_eq!(m, "Quantity is required. Add `quantity` to `line_items[0]`.");
    }

    #[test]
    fn quantity_at_least_1() {
        for q in [0, -1, i64::MIN] {
            let m = invalid(Fx::new().create(buy("price_usd", q)), "line_items[0][quantity]");
            assert_eq!(m, "This value must be greater than or equal to 1.");
        }
        assert_eq!(Fx::new().ok(buy("price_usd", 1)).line_items[0].quantity, 1);
    }

    #[test]
    fn quantity_at_most_999999() {
        assert_eq!(Fx::new().ok(buy("price_usd", 999_999)).line_items[0].quantity, 999_999);
        let m = invalid(Fx::new().create(buy("price_usd", 1_000_000)), "line_items[0][quantity]");
        assert_eq!(m, "This value must be less than or equal to 999999.");
    }

    #[test]
    fn adjustable_quantity_enabled_required() {
        let p = request(vec![adjustable(line("price_usd", 1), None, Some(0), Some(5))]);
        let param = "line_items[0][adjustable_quantity][enabled]";
        let m = refused(Fx::new().create(p), ErrorCode::ParameterMissing, param);
        assert_eq!(m, "Missing required param: line_items[0][adjustable_quantity][enabled].");
    }

    #[test]
    fn adjustable_quantity_minimum_defaults_to_0_and_maximum_to_99() {
        let s = Fx::new().ok(request(vec![adjustable(line("price_usd", 1), Some(true), None, None)]));
        let want = AdjustableQuantity { enabled: true, minimum: 0, maximum: 99 };
        assert_eq!(s.line_items[0].adjustable_quantity, Some(want));
        let s = Fx::new().ok(request(vec![adjustable(line("price_usd", 3), Some(false), Some(2), Some(7))]));
        let want = AdjustableQuantity { enabled: false, minimum: 2, maximum: 7 };
        assert_eq!(s.line_items[0].adjustable_quantity, Some(want));
    }

    #[test]
    fn adjustable_quantity_minimum_at_least_0() {
        let p = request(vec![adjustable(line("price_usd", 1), Some(true), Some(-1), None)]);
        let m = invalid(Fx::new().create(p), "line_items[0][adjustable_quantity][minimum]");
        assert_eq!(m, "`minimum` must be at least 0.");
    }

    #[test]
    fn adjustable_quantity_maximum_at_most_999999() {
        let ok = request(vec![adjustable(line("price_usd", 1), Some(true), None, Some(999_999))]);
        assert_eq!(Fx::new().ok(ok).line_items[0].adjustable_quantity.map(|a| a.maximum), Some(999_999));
        let p = request(vec![adjustable(line("price_usd", 1), Some(true), None, Some(1_000_000))]);
        let m = invalid(Fx::new().create(p), "line_items[0][adjustable_quantity][maximum]");
        assert_eq!(m, "`maximum` must be at most 999999.");
    }

    #[test]
    fn adjustable_quantity_maximum_at_least_1() {
        let p = request(vec![adjustable(line("price_usd", 1), Some(true), None, Some(0))]);
        let m = invalid(Fx::new().create(p), "line_items[0][adjustable_quantity][maximum]");
        assert_eq!(m, "`maximum` must be at least 1.");
    }

    #[test]
    fn adjustable_quantity_minimum_below_maximum() {
        for (min, max) in [(5, 5), (6, 5), (99, 99)] {
            let p = request(vec![adjustable(line("price_usd", 5), Some(true), Some(min), Some(max))]);
            let m = invalid(Fx::new().create(p), "line_items[0][adjustable_quantity][minimum]");
            assert_eq!(m, "`minimum` must be less than `maximum`.");
        }
        let p = request(vec![adjustable(line("price_usd", 5), Some(true), Some(4), Some(5))]);
        assert!(Fx::new().create(p).is_ok());
    }

    #[test]
    fn quantity_at_most_adjustable_maximum() {
        let p = request(vec![adjustable(line("price_usd", 11), Some(true), None, Some(10))]);
        let m = invalid(Fx::new().create(p), "line_items[0][quantity]");
        assert_eq!(
            m,
            "`quantity` (11) must not exceed `adjustable_quantity[maximum]` (10); set a larger `maximum` (up to 999999)."
        );
        let p = request(vec![adjustable(line("price_usd", 10), Some(true), None, Some(10))]);
        assert_eq!(Fx::new().ok(p).line_items[0].quantity, 10);
    }

    #[test]
    fn quantity_at_least_adjustable_minimum() {
        let p = request(vec![adjustable(line("price_usd", 2), Some(true), Some(3), Some(10))]);
        let m = invalid(Fx::new().create(p), "line_items[0][quantity]");
        assert_eq!(m, "`quantity` (2) must be at least `adjustable_quantity[minimum]` (3).");
        let p = request(vec![adjustable(line("price_usd", 3), Some(true), Some(3), Some(10))]);
        assert_eq!(Fx::new().ok(p).line_items[0].quantity, 3);
    }

    #[test]
    fn quantity_above_99_needs_explicit_maximum() {
        let p = request(vec![adjustable(line("price_usd", 100), Some(true), None, None)]);
        let m = invalid(Fx::new().create(p), "line_items[0][quantity]");
        assert!(m.starts_with("`quantity` (100) must not exceed `adjustable_quantity[maximum]` (99)"), "{m}");
        let p = request(vec![adjustable(line("price_usd", 100), Some(true), None, Some(100))]);
        assert_eq!(Fx::new().ok(p).line_items[0].quantity, 100);
        // Without `adjustable_quantity` the default maximum does not apply.
        assert_eq!(Fx::new().ok(buy("price_usd", 100)).line_items[0].quantity, 100);
    }

    #[test]
    fn adjustable_bounds_are_checked_even_when_disabled() {
        let p = request(vec![adjustable(line("price_usd", 100), Some(false), None, None)]);
        invalid(Fx::new().create(p), "line_items[0][quantity]");
    }

    #[test]
    fn adjustable_rules_in_order() {
        // minimum < 0, maximum > 999999 and quantity out of bounds: `minimum` is named first…
        let p = request(vec![adjustable(line("price_usd", 5), Some(true), Some(-1), Some(1_000_000))]);
        invalid(Fx::new().create(p), "line_items[0][adjustable_quantity][minimum]");
        // …then `maximum` too large before `minimum ≥ maximum`…
        let p = request(vec![adjustable(line("price_usd", 5), Some(true), Some(2_000_000), Some(1_000_000))]);
        invalid(Fx::new().create(p), "line_items[0][adjustable_quantity][maximum]");
        // …and the bounds before the quantity within them.
        let p = request(vec![adjustable(line("price_usd", 50), Some(true), Some(9), Some(9))]);
        invalid(Fx::new().create(p), "line_items[0][adjustable_quantity][minimum]");
        // A missing `enabled` is named before any bound.
        let p = request(vec![adjustable(line("price_usd", 5), None, Some(-1), None)]);
        refused(
            Fx::new().create(p),
            ErrorCode::ParameterMissing,
            "line_items[0][adjustable_quantity][enabled]",
        );
    }

    #[test]
    fn each_line_is_checked_completely_before_the_next() {
        // Inside a line: the price before the quantity before the bounds.
        let p = request(vec![LineItemParam { quantity: Some(Int(0)), ..line("price_nope", 1) }]);
        refused(Fx::new().create(p), ErrorCode::ResourceMissing, "line_items[0][price]");
        let p = request(vec![line("price_archived", 0)]);
        invalid(Fx::new().create(p), "line_items[0][price]");
        let p = request(vec![adjustable(line("price_usd", 0), None, None, None)]);
        invalid(Fx::new().create(p), "line_items[0][quantity]");
        // Line 0's bounds before line 1's price.
        let p =
            request(vec![adjustable(line("price_usd", 1), Some(true), None, Some(0)), line("price_nope", 1)]);
        invalid(Fx::new().create(p), "line_items[0][adjustable_quantity][maximum]");
        // But every line must name a price before any is looked up.
        let p = request(vec![line("price_nope", 1), no_price(1)]);
        refused(Fx::new().create(p), ErrorCode::ParameterMissing, "line_items[1][price]");
    }

    #[test]
    fn line_keeps_its_price_and_the_product_name() {
        let fx = Fx::new();
        let s = fx.ok(request(vec![line("price_usd_b", 2), line("price_usd", 1)]));
        let l = &s.line_items[0];
        assert_eq!(
            (&l.price, l.description.as_str(), l.quantity),
            (fx.price("price_usd_b"), "Product usd_b", 2)
        );
        assert!(l.id.starts_with("li_"));
        assert_ne!(s.line_items[0].id, s.line_items[1].id);
        // A product the caller did not load: the line is described by the product id.
        let mut fx = Fx::new();
        fx.products.clear();
        assert_eq!(fx.ok(buy("price_usd", 1)).line_items[0].description, "prod_usd");
    }

    #[test]
    fn unit_amount_decimal_takes_whole_minor_units_only() {
        use crate::params::Decimal;
        let d = |t: &str| super::whole_decimal("p", &Decimal(t.to_owned()));
        assert_eq!((d("1250"), d("1250.00"), d("0"), d(" 7.0 ")), (Ok(1250), Ok(1250), Ok(0), Ok(7)));
        for bad in ["12.5", "0.001", "-5", "1e3", "", ".5", "abc", "99999999999999999999"] {
            assert!(d(bad).is_err(), "{bad}");
        }
        assert!(d("12.5").unwrap_err().message.contains("whole minor units"));
    }

    #[test]
    fn price_data_makes_inactive_inline_objects_named_after_the_product() {
        use crate::params::{PriceDataParam, ProductDataParam};
        let item = LineItemParam {
            price_data: Some(PriceDataParam {
                currency: Some("usd".into()),
                unit_amount: Some(Int(300)),
                product_data: Some(ProductDataParam { name: Some("Tea".into()), ..Default::default() }),
                ..Default::default()
            }),
            ..line("price_usd", 2)
        };
        let item = LineItemParam { price: None, ..item };
        let fx = Fx::new();
        let (s, inline) = Session::create_with_inline(request(vec![item]), &fx.resolved(), NOW).unwrap();
        assert_eq!((inline.products.len(), inline.prices.len()), (1, 1));
        let (price, product) = (&inline.prices[0], &inline.products[0]);
        assert!(!price.active && !product.active);
        assert_eq!(price.product, product.id);
        assert_eq!((s.line_items[0].description.as_str(), s.amount_total), ("Tea", 600));
        assert_eq!(&s.line_items[0].price, price);
    }

    #[test]
    fn the_same_price_may_appear_on_several_lines() {
        let s = Fx::new().ok(request(vec![line("price_usd", 1), line("price_usd", 2)]));
        assert_eq!(s.line_items.iter().map(|l| l.quantity).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(s.amount_subtotal, 3000);
    }
}
