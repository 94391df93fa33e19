//! Steps 1 and 12 — the merchant's discount (`discounts`).
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

#[cfg(test)]
mod tests {
    use super::super::AppliedDiscount;
    use super::super::fixtures::*;
    use crate::catalog::{Coupon, PromotionCode, Restrictions};
    use crate::error::ErrorCode;
    use crate::params::{Bool, DiscountParam, SessionCreate};
    use crate::time::DAY;

    const COUPON: &str = "discounts[0][coupon]";
    const CODE: &str = "discounts[0][promotion_code]";

    fn discounted(discounts: Option<Vec<DiscountParam>>, p: SessionCreate) -> SessionCreate {
        SessionCreate { discounts, ..p }
    }

    fn both(coupon: Option<&str>, promotion_code: Option<&str>) -> DiscountParam {
        DiscountParam { coupon: coupon.map(str::to_owned), promotion_code: promotion_code.map(str::to_owned) }
    }

    /// A catalog with promotion code `promo_1` for `coupon`, as `tweak` leaves it.
    fn with_code(coupon: Coupon, tweak: impl FnOnce(&mut PromotionCode)) -> Fx {
        let mut code = promotion_code("promo_1", &coupon.id);
        tweak(&mut code);
        Fx::new().with_promotion_code(code, Some(coupon))
    }

    #[test]
    fn discounts_at_most_one() {
        let p =
            discounted(Some(vec![both(Some("co_1"), None), both(Some("co_2"), None)]), buy("price_usd", 1));
        let m = invalid(Fx::new().create(p), "discounts");
        assert_eq!(m, "A checkout session takes at most one discount.");
    }

    #[test]
    fn discounts_empty_list_is_no_discount() {
        let s = Fx::new().ok(discounted(Some(vec![]), buy("price_usd", 1)));
        assert_eq!((s.discount, s.amount_discount), (None, 0));
    }

    #[test]
    fn discount_coupon_and_promotion_code_are_exclusive() {
        let p = discounted(Some(vec![both(Some("co_1"), Some("promo_1"))]), buy("price_usd", 1));
        let m = refused(Fx::new().create(p), ErrorCode::ParametersExclusive, CODE);
        assert_eq!(
            m,
            "You may only specify one of these parameters: discounts[0][coupon], discounts[0][promotion_code]."
        );
    }

    #[test]
    fn discount_needs_coupon_or_promotion_code() {
        let p = discounted(Some(vec![both(None, None)]), buy("price_usd", 1));
        let m = refused(Fx::new().create(p), ErrorCode::ParameterMissing, COUPON);
        assert_eq!(m, "Each discount needs a `coupon` or a `promotion_code`.");
    }

    #[test]
    fn discount_ids_must_not_be_empty() {
        let p = discounted(Some(vec![both(Some(""), None)]), buy("price_usd", 1));
        refused(Fx::new().create(p), ErrorCode::ParameterInvalidEmpty, COUPON);
        let p = discounted(Some(vec![both(None, Some(""))]), buy("price_usd", 1));
        refused(Fx::new().create(p), ErrorCode::ParameterInvalidEmpty, CODE);
    }

    #[test]
    fn discounts_and_allow_promotion_codes_are_exclusive() {
        let fx = Fx::new().with_coupon(percent_coupon("co_10", "10"));
        let p = SessionCreate {
            allow_promotion_codes: Some(Bool(true)),
            ..discounted(coupon_discount("co_10"), buy("price_usd", 1))
        };
        let m = refused(fx.create(p.clone()), ErrorCode::ParametersExclusive, "discounts");
        assert_eq!(m, "You may only specify one of these parameters: allow_promotion_codes, discounts.");
        // Before the coupon is looked up.
        let unknown = SessionCreate { discounts: coupon_discount("co_nope"), ..p.clone() };
        refused(fx.create(unknown), ErrorCode::ParametersExclusive, "discounts");
        // `allow_promotion_codes=false` is no conflict.
        let s = fx.ok(SessionCreate { allow_promotion_codes: Some(Bool(false)), ..p });
        assert!(!s.allow_promotion_codes && s.discount.is_some());
        let s = fx.ok(SessionCreate { allow_promotion_codes: Some(Bool(true)), ..buy("price_usd", 1) });
        assert!(s.allow_promotion_codes && s.discount.is_none());
    }

    #[test]
    fn discount_coupon_must_exist() {
        let fx = Fx::new().with_coupon(percent_coupon("co_10", "10"));
        let m = refused(
            fx.create(discounted(coupon_discount("co_nope"), buy("price_usd", 1))),
            ErrorCode::ResourceMissing,
            COUPON,
        );
        assert_eq!(m, "No such coupon: 'co_nope'");
    }

    #[test]
    fn discount_coupon_is_applied_from_the_merchant() {
        let coupon = percent_coupon("co_10", "10");
        let fx = Fx::new().with_coupon(coupon.clone());
        let s = fx.ok(discounted(coupon_discount("co_10"), buy("price_usd", 3)));
        let want = AppliedDiscount {
            coupon: "co_10".into(),
            promotion_code: None,
            terms: coupon.terms(),
            from_merchant: true,
        };
        assert_eq!(s.discount, Some(want));
        assert_eq!((s.amount_subtotal, s.amount_discount, s.amount_total), (3000, 300, 2700));
    }

    #[test]
    fn discount_coupon_past_redeem_by_is_refused() {
        let fx = Fx::new().with_coupon(Coupon { redeem_by: Some(NOW), ..percent_coupon("co_10", "10") });
        let m = refused(
            fx.create(discounted(coupon_discount("co_10"), buy("price_usd", 1))),
            ErrorCode::CouponExpired,
            COUPON,
        );
        assert_eq!(m, "This coupon has expired.");
        let fx = Fx::new().with_coupon(Coupon { redeem_by: Some(NOW + 1), ..percent_coupon("co_10", "10") });
        assert!(fx.create(discounted(coupon_discount("co_10"), buy("price_usd", 1))).is_ok());
    }

    #[test]
    fn discount_coupon_needs_redemptions_left() {
        let used_up = Coupon { max_redemptions: Some(3), times_redeemed: 3, ..percent_coupon("co_10", "10") };
        let fx = Fx::new().with_coupon(used_up.clone());
        let m = refused(
            fx.create(discounted(coupon_discount("co_10"), buy("price_usd", 1))),
            ErrorCode::CouponExpired,
            COUPON,
        );
        assert_eq!(m, "This coupon has reached its maximum number of redemptions.");
        let fx = Fx::new().with_coupon(Coupon { times_redeemed: 2, ..used_up });
        assert!(fx.create(discounted(coupon_discount("co_10"), buy("price_usd", 1))).is_ok());
    }

    #[test]
    fn discount_amount_off_in_the_session_currency() {
        let fx = Fx::new().with_coupon(amount_coupon("co_5eur", 500, "eur"));
        let m = invalid(fx.create(discounted(coupon_discount("co_5eur"), buy("price_usd", 1))), COUPON);
        assert_eq!(m, "This coupon only applies to amounts in eur.");
        let s = fx.ok(discounted(coupon_discount("co_5eur"), buy("price_eur", 1)));
        assert_eq!(s.amount_discount, 500);
        // A percentage works in any currency.
        let fx = Fx::new().with_coupon(percent_coupon("co_10", "10"));
        assert_eq!(fx.ok(discounted(coupon_discount("co_10"), buy("price_jpy", 1))).amount_discount, 50);
    }

    #[test]
    fn discount_promotion_code_must_exist() {
        let fx = with_code(percent_coupon("co_10", "10"), |_| {});
        let m = refused(
            fx.create(discounted(code_discount("promo_nope"), buy("price_usd", 1))),
            ErrorCode::ResourceMissing,
            CODE,
        );
        assert_eq!(m, "No such promotion_code: 'promo_nope'");
    }

    #[test]
    fn discount_promotion_code_coupon_must_exist() {
        let fx = Fx::new().with_promotion_code(promotion_code("promo_1", "co_gone"), None);
        let m = refused(
            fx.create(discounted(code_discount("promo_1"), buy("price_usd", 1))),
            ErrorCode::PromotionCodeInvalid,
            CODE,
        );
        assert_eq!(m, "This promotion code's coupon no longer exists.");
    }

    #[test]
    fn discount_promotion_code_is_applied_from_the_merchant() {
        let coupon = amount_coupon("co_5", 500, "usd");
        let s =
            with_code(coupon.clone(), |_| {}).ok(discounted(code_discount("promo_1"), buy("price_usd", 2)));
        let want = AppliedDiscount {
            coupon: "co_5".into(),
            promotion_code: Some("promo_1".into()),
            terms: coupon.terms(),
            from_merchant: true,
        };
        assert_eq!(s.discount, Some(want));
        assert_eq!((s.amount_subtotal, s.amount_discount, s.amount_total), (2000, 500, 1500));
    }

    /// Each way a promotion code can be unusable now, with what the merchant is told. All are
    /// `promotion_code_invalid` on the code's parameter, whatever the reason.
    fn code_refusal(fx: &Fx, p: SessionCreate) -> String {
        refused(fx.create(p), ErrorCode::PromotionCodeInvalid, CODE)
    }

    #[test]
    fn discount_promotion_code_must_be_active() {
        let fx = with_code(percent_coupon("co_10", "10"), |c| c.active = false);
        let m = code_refusal(&fx, discounted(code_discount("promo_1"), buy("price_usd", 1)));
        assert_eq!(m, "This promotion code is not active.");
    }

    #[test]
    fn discount_promotion_code_past_expires_at_is_refused() {
        let fx = with_code(percent_coupon("co_10", "10"), |c| c.expires_at = Some(NOW));
        let m = code_refusal(&fx, discounted(code_discount("promo_1"), buy("price_usd", 1)));
        assert_eq!(m, "This promotion code has expired.");
        let fx = with_code(percent_coupon("co_10", "10"), |c| c.expires_at = Some(NOW + DAY));
        assert!(fx.create(discounted(code_discount("promo_1"), buy("price_usd", 1))).is_ok());
    }

    #[test]
    fn discount_promotion_code_needs_redemptions_left() {
        let fx = with_code(percent_coupon("co_10", "10"), |c| {
            c.max_redemptions = Some(1);
            c.times_redeemed = 1;
        });
        let m = code_refusal(&fx, discounted(code_discount("promo_1"), buy("price_usd", 1)));
        assert_eq!(m, "This promotion code has reached its maximum number of redemptions.");
    }

    #[test]
    fn discount_promotion_code_coupon_must_be_usable() {
        // The coupon's own refusal, under the promotion code's error code.
        let expired = Coupon { redeem_by: Some(NOW - 1), ..percent_coupon("co_10", "10") };
        let m = code_refusal(
            &with_code(expired, |_| {}),
            discounted(code_discount("promo_1"), buy("price_usd", 1)),
        );
        assert_eq!(m, "This coupon has expired.");
        let eur = amount_coupon("co_5eur", 500, "eur");
        let m =
            code_refusal(&with_code(eur, |_| {}), discounted(code_discount("promo_1"), buy("price_usd", 1)));
        assert_eq!(m, "This coupon only applies to amounts in eur.");
    }

    #[test]
    fn promotion_code_restricted_to_its_customer() {
        let fx = with_code(percent_coupon("co_10", "10"), |c| c.customer = Some("cus_1".into()));
        let anyone = discounted(code_discount("promo_1"), buy("price_usd", 1));
        let m = code_refusal(&fx, anyone.clone());
        assert_eq!(m, "This promotion code is not valid for this customer.");
        let s = fx.ok(SessionCreate { customer: Some("cus_1".into()), ..anyone });
        assert_eq!(s.amount_discount, 100);
    }

    #[test]
    fn promotion_code_first_time_transaction_only() {
        let fx = with_code(percent_coupon("co_10", "10"), |c| c.restrictions.first_time_transaction = true);
        let p = SessionCreate {
            customer: Some("cus_1".into()),
            ..discounted(code_discount("promo_1"), buy("price_usd", 1))
        };
        assert!(fx.create(p.clone()).is_ok(), "a customer who never paid");
        let mut returning = customer("cus_1", None);
        returning.has_paid = true;
        let fx = fx.with_customer(Some(returning));
        let m = code_refusal(&fx, p);
        assert_eq!(m, "This promotion code is only valid for first-time customers.");
        // Without a customer the buyer is new as far as the session can tell.
        assert!(fx.create(discounted(code_discount("promo_1"), buy("price_usd", 1))).is_ok());
    }

    #[test]
    fn promotion_code_minimum_amount() {
        let minimum = |c: &mut PromotionCode| {
            c.restrictions = Restrictions {
                minimum_amount: Some(3000),
                minimum_amount_currency: Some(cur("usd")),
                ..c.restrictions.clone()
            };
        };
        let fx = with_code(percent_coupon("co_10", "10"), minimum);
        let m = code_refusal(&fx, discounted(code_discount("promo_1"), buy("price_usd_b", 1)));
        assert_eq!(m, "This promotion code requires a minimum order of 30.00 USD.");
        // The subtotal before the discount counts: 3000 less 10% is still enough.
        let s = fx.ok(discounted(code_discount("promo_1"), buy("price_usd", 3)));
        assert_eq!((s.amount_subtotal, s.amount_total), (3000, 2700));
        // A minimum in another currency is never met.
        let fx = with_code(percent_coupon("co_10", "10"), |c| {
            c.restrictions.minimum_amount = Some(1);
            c.restrictions.minimum_amount_currency = Some(cur("usd"));
        });
        let m = code_refusal(&fx, discounted(code_discount("promo_1"), buy("price_eur", 10)));
        assert_eq!(m, "This promotion code requires a minimum order of 0.01 USD.");
    }

    #[test]
    fn promotion_code_minimum_amount_counts_what_is_due_today() {
        let fx = with_code(percent_coupon("co_10", "10"), |c| {
            c.restrictions.minimum_amount = Some(1000);
            c.restrictions.minimum_amount_currency = Some(cur("usd"));
        });
        let p = SessionCreate {
            subscription_data: trial(7),
            ..discounted(code_discount("promo_1"), buy("price_monthly", 1))
        };
        let m = code_refusal(&fx, p.clone());
        assert_eq!(m, "This promotion code requires a minimum order of 10.00 USD.");
        assert!(fx.create(SessionCreate { subscription_data: None, ..p }).is_ok());
    }

    #[test]
    fn discount_checked_last() {
        // An unusable coupon is named only when everything else is right.
        let fx = Fx::new().with_coupon(Coupon { redeem_by: Some(NOW), ..percent_coupon("co_10", "10") });
        let p = SessionCreate {
            expires_at: Some(crate::params::Int(NOW)),
            ..discounted(coupon_discount("co_10"), buy("price_usd", 1))
        };
        invalid(fx.create(p), "expires_at");
    }
}
