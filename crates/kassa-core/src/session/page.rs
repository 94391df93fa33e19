//! What the customer changes on the hosted page: quantities of adjustable lines, and a
//! promotion code when the session takes them. Every change recomputes the amounts.

use super::{AppliedDiscount, LineItem, Session};
use crate::catalog::{Buyer, Coupon, Customer, PromotionCode};
use crate::error::{ErrorCode, Invalid};
use crate::time::Timestamp;

/// What the hosted page says of a promotion code that does not exist, and of one that no checkout
/// could use now (inactive, expired, used up, its coupon expired, used up or deleted): the same
/// words, so that guessing codes on the page tells nothing about which exist.
pub const CODE_NOT_VALID: &str = "This code is not valid.";

/// Shown when the order cannot change because a payment waits for the customer's approval.
pub const AWAITING_APPROVAL: &str =
    "A payment is waiting for your approval. Complete or cancel it before changing your order.";
/// Shown when the order cannot change because a payment is being made right now.
pub const PAYMENT_IN_PROGRESS: &str =
    "A payment for this checkout is in progress. Wait a moment and reload the page.";

impl Session {
    /// Whether the session's contents (quantities, promotion code) may change at `now`: not while
    /// a submission holds the session, nor while a payment waits for the customer's approval (a
    /// 3-D Secure challenge, PayPal), so that what the customer approved is what is charged.
    /// Failing or cancelling the approval, or paying another way, ends the wait.
    pub fn contents_frozen(&self, now: Timestamp) -> Result<(), Invalid> {
        if self.pending_buyer.is_some() || self.pending_amount.is_some() {
            return Err(Invalid::general(AWAITING_APPROVAL));
        }
        if self.processing_until.is_some_and(|t| t > now) {
            return Err(Invalid::general(PAYMENT_IN_PROGRESS));
        }
        Ok(())
    }

    /// The customer leaves a payment that waited for approval (PayPal cancelled, a challenge that
    /// cannot finish): the order may change again.
    pub fn end_wait(&mut self) {
        self.pending_buyer = None;
        self.pending_amount = None;
    }

    /// The customer changes a line's quantity on the hosted page: only an adjustable line, within
    /// its bounds, and never so that no item is left. `0` removes the line (when its minimum
    /// allows); removed lines stay in the session with quantity 0 and are not listed.
    pub fn set_quantity(&mut self, line_id: &str, quantity: i64) -> Result<(), Invalid> {
        let param = "quantity";
        let i = self
            .line_items
            .iter()
            .position(|l| l.id == line_id)
            .ok_or_else(|| Invalid::param(param, "That item is not part of this checkout."))?;
        let line = &self.line_items[i];
        let bounds = line
            .adjustable_quantity
            .filter(|a| a.enabled)
            .ok_or_else(|| Invalid::param(param, "The quantity of this item cannot be changed."))?;
        if quantity < bounds.minimum || quantity > bounds.maximum {
            return Err(Invalid::param(
                param,
                format!("The quantity must be between {} and {}.", bounds.minimum, bounds.maximum),
            ));
        }
        let others = self.line_items.iter().enumerate().any(|(j, l)| j != i && l.quantity > 0);
        if quantity == 0 && !others {
            return Err(Invalid::param(param, "You can't remove the last item."));
        }
        let before = self.line_items[i].quantity;
        self.line_items[i].quantity = quantity;
        if let Err(e) = self.recompute() {
            self.line_items[i].quantity = before;
            let _ = self.recompute();
            return Err(e);
        }
        Ok(())
    }

    /// Whether the customer may enter a promotion code here at all. Checked before the code is
    /// looked up, so that the answer does not depend on which code was typed.
    pub fn takes_codes(&self) -> Result<(), Invalid> {
        if !self.allow_promotion_codes {
            return Err(Invalid::param("code", "This checkout does not take promotion codes."));
        }
        if self.discount.as_ref().is_some_and(|d| d.from_merchant) {
            return Err(Invalid::param("code", "This checkout already has a discount."));
        }
        Ok(())
    }

    /// The customer enters a promotion code (already looked up, case-insensitively, in the
    /// session's account). Refused when it cannot be used now: with [`CODE_NOT_VALID`] when the
    /// code itself is the reason, with the reason when only this purchase is
    /// ([`crate::catalog::Unusable::about_this_checkout`]).
    pub fn apply_promotion_code(
        &mut self,
        code: &PromotionCode,
        coupon: &Coupon,
        customer: Option<&Customer>,
        now: Timestamp,
    ) -> Result<(), Invalid> {
        self.takes_codes()?;
        code.usable(coupon, Buyer { customer }, self.currency, self.amount_subtotal, now).map_err(|why| {
            let message = if why.about_this_checkout() { why.message() } else { CODE_NOT_VALID.to_owned() };
            Invalid::new(ErrorCode::PromotionCodeInvalid, "code", message)
        })?;
        self.discount = Some(AppliedDiscount {
            coupon: coupon.id.clone(),
            promotion_code: Some(code.id.clone()),
            terms: coupon.terms(),
            from_merchant: false,
        });
        self.recompute()
    }

    /// The customer removes the promotion code they entered; a merchant's discount stays.
    pub fn remove_promotion_code(&mut self) -> Result<(), Invalid> {
        match &self.discount {
            Some(d) if d.from_merchant => {
                Err(Invalid::param("code", "This discount was given by the merchant and cannot be removed."))
            }
            _ => {
                self.discount = None;
                self.recompute()
            }
        }
    }

    /// The line items a reader sees: removed lines (quantity 0) are left out.
    pub fn listed_line_items(&self) -> impl Iterator<Item = &LineItem> {
        self.line_items.iter().filter(|l| l.quantity > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{AppliedDiscount, Session};
    use crate::catalog::Price;
    use crate::error::ErrorCode;
    use crate::params::{Bool, SessionCreate};

    /// An open session with an adjustable line (1–10, quantity 2) of `price_usd` and a fixed line
    /// of `price_usd_b`, taking promotion codes.
    fn session() -> Session {
        Fx::new().ok(SessionCreate {
            allow_promotion_codes: Some(Bool(true)),
            ..request(vec![
                adjustable(line("price_usd", 2), Some(true), Some(0), Some(10)),
                line("price_usd_b", 1),
            ])
        })
    }

    #[test]
    fn set_quantity_within_bounds_recomputes() {
        let mut s = session();
        let id = s.line_items[0].id.clone();
        s.set_quantity(&id, 10).unwrap();
        assert_eq!(
            (s.line_items[0].quantity, s.line_items[0].amount_subtotal, s.amount_total),
            (10, 10_000, 12_500)
        );
        let m = invalid(s.set_quantity(&id, 11), "quantity");
        assert_eq!(m, "The quantity must be between 0 and 10.");
        assert_eq!(s.line_items[0].quantity, 10, "unchanged");
    }

    #[test]
    fn set_quantity_only_on_an_adjustable_line() {
        let mut s = session();
        let fixed = s.line_items[1].id.clone();
        let m = invalid(s.set_quantity(&fixed, 2), "quantity");
        assert_eq!(m, "The quantity of this item cannot be changed.");
        let m = invalid(s.set_quantity("li_other", 2), "quantity");
        assert_eq!(m, "That item is not part of this checkout.");
        // A disabled `adjustable_quantity` does not let the customer change it either.
        let mut s = Fx::new().ok(request(vec![adjustable(line("price_usd", 2), Some(false), None, None)]));
        let id = s.line_items[0].id.clone();
        invalid(s.set_quantity(&id, 3), "quantity");
    }

    #[test]
    fn set_quantity_never_removes_the_last_item() {
        let mut s = session();
        let (adjustable_line, fixed) = (s.line_items[0].id.clone(), s.line_items[1].id.clone());
        s.set_quantity(&adjustable_line, 0).unwrap();
        assert_eq!(s.listed_line_items().map(|l| l.id.clone()).collect::<Vec<_>>(), [fixed]);
        assert_eq!((s.line_items.len(), s.amount_total), (2, 2500), "kept with quantity 0, not listed");
        let mut alone = Fx::new().ok(request(vec![adjustable(line("price_usd", 2), Some(true), None, None)]));
        let id = alone.line_items[0].id.clone();
        let m = invalid(alone.set_quantity(&id, 0), "quantity");
        assert_eq!(m, "You can't remove the last item.");
    }

    #[test]
    fn set_quantity_beyond_max_total_changes_nothing() {
        let huge = Price { unit_amount: 999_999_999_999, ..one_time("price_huge", "usd", 0) };
        let fx = Fx::new().with_price(huge);
        let mut s = fx.ok(request(vec![adjustable(line("price_huge", 1), Some(true), None, Some(999_999))]));
        let before = s.clone();
        let id = s.line_items[0].id.clone();
        refused(s.set_quantity(&id, 999_999), ErrorCode::AmountTooLarge, "line_items");
        assert_eq!(s, before);
    }

    #[test]
    fn apply_and_remove_a_promotion_code() {
        let mut s = session();
        let coupon = percent_coupon("co_10", "10");
        let code = promotion_code("promo_1", "co_10");
        s.apply_promotion_code(&code, &coupon, None, NOW).unwrap();
        let applied = AppliedDiscount {
            coupon: "co_10".into(),
            promotion_code: Some("promo_1".into()),
            terms: coupon.terms(),
            from_merchant: false,
        };
        assert_eq!((s.discount.as_ref(), s.amount_discount, s.amount_total), (Some(&applied), 450, 4050));
        s.remove_promotion_code().unwrap();
        assert_eq!((s.discount.as_ref(), s.amount_discount, s.amount_total), (None, 0, 4500));
    }

    #[test]
    fn promotion_codes_only_when_allowed() {
        let mut s = Fx::new().ok(buy("price_usd", 1));
        let m = invalid(
            s.apply_promotion_code(
                &promotion_code("promo_1", "co_10"),
                &percent_coupon("co_10", "10"),
                None,
                NOW,
            ),
            "code",
        );
        assert_eq!(m, "This checkout does not take promotion codes.");
    }

    #[test]
    fn promotion_code_refused_with_the_reason_only_when_it_is_about_this_checkout() {
        use crate::catalog::{PromotionCode, Restrictions};
        let mut s = session();
        let coupon = percent_coupon("co_10", "10");
        let inactive = PromotionCode { active: false, ..promotion_code("promo_1", "co_10") };
        let m = refused(
            s.apply_promotion_code(&inactive, &coupon, None, NOW),
            ErrorCode::PromotionCodeInvalid,
            "code",
        );
        assert_eq!(m, super::CODE_NOT_VALID, "the code itself: no reason given");
        let big = Restrictions {
            minimum_amount: Some(1_000_000),
            minimum_amount_currency: Some(crate::money::Currency::parse("usd").unwrap()),
            ..Restrictions::default()
        };
        let too_big = PromotionCode { restrictions: big.clone(), ..promotion_code("promo_2", "co_10") };
        let m = refused(
            s.apply_promotion_code(&too_big, &coupon, None, NOW),
            ErrorCode::PromotionCodeInvalid,
            "code",
        );
        assert_eq!(m, "This promotion code requires a minimum order of 10000.00 USD.");
        // Both at once: the code's own state wins, so the minimum tells nothing about it.
        let both = PromotionCode { active: false, restrictions: big, ..promotion_code("promo_3", "co_10") };
        let m = refused(
            s.apply_promotion_code(&both, &coupon, None, NOW),
            ErrorCode::PromotionCodeInvalid,
            "code",
        );
        assert_eq!(m, super::CODE_NOT_VALID);
        assert_eq!(s.discount, None);
    }

    #[test]
    fn merchant_discount_cannot_be_replaced_or_removed() {
        let fx = Fx::new().with_coupon(percent_coupon("co_10", "10"));
        let mut s = fx.ok(SessionCreate { discounts: coupon_discount("co_10"), ..buy("price_usd", 1) });
        s.allow_promotion_codes = true; // not possible at creation; the page checks anyway
        let m = invalid(
            s.apply_promotion_code(
                &promotion_code("promo_1", "co_10"),
                &percent_coupon("co_10", "10"),
                None,
                NOW,
            ),
            "code",
        );
        assert_eq!(m, "This checkout already has a discount.");
        let m = invalid(s.remove_promotion_code(), "code");
        assert_eq!(m, "This discount was given by the merchant and cannot be removed.");
        assert_eq!(s.amount_discount, 100);
    }

    #[test]
    fn contents_freeze_while_a_payment_waits_or_runs() {
        use super::{AWAITING_APPROVAL, PAYMENT_IN_PROGRESS};
        let mut s = session();
        assert_eq!(s.contents_frozen(NOW), Ok(()));
        s.processing_until = Some(NOW + 60);
        assert_eq!(s.contents_frozen(NOW).unwrap_err().message, PAYMENT_IN_PROGRESS);
        assert_eq!(s.contents_frozen(NOW + 60), Ok(()), "a hold that ran out holds nothing");
        s.processing_until = None;
        s.pending_buyer = Some(super::super::CustomerDetails { email: None, name: None });
        s.pending_amount = Some(s.amount_total);
        let e = s.contents_frozen(NOW + 10_000).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.param),
            (AWAITING_APPROVAL, None),
            "an approval waits however long"
        );
        s.end_wait();
        assert_eq!(s.contents_frozen(NOW), Ok(()));
    }
}
