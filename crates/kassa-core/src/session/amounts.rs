//! Step 11, and again whenever quantities or the discount change — the amounts (SPEC §5).
//!
//! `amount_subtotal` is Σ unit × quantity over the lines due today (in subscription mode with a
//! trial, recurring lines count 0 today); the discount is split over the eligible lines by
//! [`crate::discount::apply`]; `amount_total` is subtotal − discount, line by line and in sum.

use super::{Mode, Session};
use crate::discount::{self, Line};
use crate::error::{ErrorCode, Invalid};
use crate::money::{self, MAX_TOTAL};

impl Session {
    /// Recompute every line's amounts and the session's totals from quantities, prices and the
    /// discount. Fails only when the amounts leave the range kassa accepts.
    pub fn recompute(&mut self) -> Result<(), Invalid> {
        let trial = self.mode == Mode::Subscription && self.trial_period_days.is_some();
        let mut subtotal: i64 = 0;
        for line in &mut self.line_items {
            let due_later = trial && line.price.recurring.is_some();
            line.amount_subtotal = if due_later {
                0
            } else {
                money::line_amount(line.price.unit_amount, line.quantity).ok_or_else(too_large)?
            };
            subtotal = subtotal
                .checked_add(line.amount_subtotal)
                .filter(|s| *s <= MAX_TOTAL)
                .ok_or_else(too_large)?;
        }
        let split = match &self.discount {
            None => discount::Split { total: 0, per_line: vec![0; self.line_items.len()] },
            Some(d) => {
                let lines: Vec<Line<'_>> = self
                    .line_items
                    .iter()
                    .map(|l| Line { amount: l.amount_subtotal, product: l.price.product.as_str() })
                    .collect();
                discount::apply(&d.terms, &lines)
            }
        };
        for (line, share) in self.line_items.iter_mut().zip(&split.per_line) {
            line.amount_discount = *share;
            line.amount_total = line.amount_subtotal - share;
        }
        self.amount_subtotal = subtotal;
        self.amount_discount = split.total;
        self.amount_total = subtotal - split.total;
        Ok(())
    }
}

/// The refusal of amounts beyond what kassa accepts.
pub(super) fn too_large() -> Invalid {
    Invalid::new(
        ErrorCode::AmountTooLarge,
        "line_items",
        format!("The session's total would exceed the largest amount kassa accepts ({MAX_TOTAL})."),
    )
}
