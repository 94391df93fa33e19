//! Steps 1 and 12 — the merchant's discount (SPEC §5 `discounts`).
//!
//! Before anything is read ([`discount_ids`]): at most one discount, naming a `coupon` or a
//! `promotion_code` but not both. After everything else ([`discount`]): `discounts` and
//! `allow_promotion_codes` are exclusive; the coupon or promotion code exists in this account and
//! is usable now — not past `redeem_by` or `expires_at`, redemptions left, an `amount_off` in the
//! session's currency, and a promotion code's own restrictions (active, its customer, first-time
//! buyers, a minimum subtotal) met.

use super::{AppliedDiscount, References, Resolved};
use crate::catalog::{Buyer, Customer};
use crate::error::{ErrorCode, Invalid};
use crate::money::Currency;
use crate::params::DiscountParam;
use crate::time::Timestamp;

/// The coupon and promotion code ids the request names (at most one of them).
pub(super) fn discount_ids(
    discounts: Option<&[DiscountParam]>,
) -> Result<(Option<String>, Option<String>), Invalid> {
    let discounts = discounts.unwrap_or_default();
    if discounts.len() > 1 {
        return Err(Invalid::param("discounts", "A checkout session takes at most one discount."));
    }
    let Some(d) = discounts.first() else { return Ok((None, None)) };
    match (&d.coupon, &d.promotion_code) {
        (Some(_), Some(_)) => Err(Invalid::new(
            ErrorCode::ParametersExclusive,
            "discounts[0][promotion_code]",
            "You may only specify one of these parameters: discounts[0][coupon], discounts[0][promotion_code].",
        )),
        (None, None) => Err(Invalid::new(
            ErrorCode::ParameterMissing,
            "discounts[0][coupon]",
            "Each discount needs a `coupon` or a `promotion_code`.",
        )),
        (Some(c), None) if c.is_empty() => Err(Invalid::empty("discounts[0][coupon]")),
        (None, Some(pc)) if pc.is_empty() => Err(Invalid::empty("discounts[0][promotion_code]")),
        (c, pc) => Ok((c.clone(), pc.clone())),
    }
}

/// The discount the merchant gave, checked against the session as created so far: its
/// `customer`, `currency` and `subtotal` (before any discount).
pub(super) fn discount(
    refs: &References,
    allow_promotion_codes: bool,
    r: &Resolved<'_>,
    customer: Option<&Customer>,
    currency: Currency,
    subtotal: i64,
    now: Timestamp,
) -> Result<Option<AppliedDiscount>, Invalid> {
    match (&refs.coupon, &refs.promotion_code) {
        (None, None) => Ok(None),
        _ if allow_promotion_codes => Err(Invalid::exclusive("allow_promotion_codes", "discounts")),
        (Some(id), _) => coupon(id, r, currency, now).map(Some),
        (None, Some(id)) => promotion_code(id, r, customer, currency, subtotal, now).map(Some),
    }
}

/// `discounts[0][coupon]`: exists, and is usable now in `currency`. Its refusal keeps the reason's
/// code (`coupon_expired` for an expired or exhausted coupon).
fn coupon(
    id: &str,
    r: &Resolved<'_>,
    currency: Currency,
    now: Timestamp,
) -> Result<AppliedDiscount, Invalid> {
    let param = "discounts[0][coupon]";
    let coupon = r.coupon.filter(|c| c.id == id).ok_or_else(|| Invalid::no_such("coupon", id, param))?;
    coupon.usable_for(currency, now).map_err(|why| Invalid::new(why.code(), param, why.message()))?;
    Ok(AppliedDiscount {
        coupon: coupon.id.clone(),
        promotion_code: None,
        terms: coupon.terms(),
        from_merchant: true,
    })
}

/// `discounts[0][promotion_code]`: exists, its coupon exists, and the code is usable now by this
/// customer for this subtotal. Every refusal after the lookup is `promotion_code_invalid`.
fn promotion_code(
    id: &str,
    r: &Resolved<'_>,
    customer: Option<&Customer>,
    currency: Currency,
    subtotal: i64,
    now: Timestamp,
) -> Result<AppliedDiscount, Invalid> {
    let param = "discounts[0][promotion_code]";
    let code = r
        .promotion_code
        .filter(|c| c.id == id)
        .ok_or_else(|| Invalid::no_such("promotion_code", id, param))?;
    let coupon = r.promotion_coupon.filter(|c| c.id == code.coupon).ok_or_else(|| {
        Invalid::new(ErrorCode::PromotionCodeInvalid, param, "This promotion code's coupon no longer exists.")
    })?;
    code.usable(coupon, Buyer { customer }, currency, subtotal, now)
        .map_err(|why| Invalid::new(ErrorCode::PromotionCodeInvalid, param, why.message()))?;
    Ok(AppliedDiscount {
        coupon: coupon.id.clone(),
        promotion_code: Some(code.id.clone()),
        terms: coupon.terms(),
        from_merchant: true,
    })
}
