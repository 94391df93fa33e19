//! What the customer changes on the hosted page (SPEC §6): quantities of adjustable lines, and a
//! promotion code when the session takes them. Every change recomputes the amounts.

use super::{AppliedDiscount, LineItem, Session};
use crate::catalog::{Buyer, Coupon, Customer, PromotionCode};
use crate::error::{ErrorCode, Invalid};
use crate::time::Timestamp;

impl Session {
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

    /// The customer enters a promotion code (already looked up, case-insensitively, in the
    /// session's account). Refused with the reason when it cannot be used now.
    pub fn apply_promotion_code(
        &mut self,
        code: &PromotionCode,
        coupon: &Coupon,
        customer: Option<&Customer>,
        now: Timestamp,
    ) -> Result<(), Invalid> {
        let param = "code";
        if !self.allow_promotion_codes {
            return Err(Invalid::param(param, "This checkout does not take promotion codes."));
        }
        if self.discount.as_ref().is_some_and(|d| d.from_merchant) {
            return Err(Invalid::param(param, "This checkout already has a discount."));
        }
        code.usable(coupon, Buyer { customer }, self.currency, self.amount_subtotal, now)
            .map_err(|why| Invalid::new(ErrorCode::PromotionCodeInvalid, param, why.message()))?;
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
