//! Step 11, and again whenever quantities or the discount change — the amounts.
//!
//! `amount_subtotal` is Σ unit × quantity over the lines due today (in subscription mode with a
//! trial, recurring lines count 0 today); the discount is split over the eligible lines by
//! [`crate::discount::apply`]; `amount_total` is subtotal − discount, line by line and in sum,
//! plus the chosen shipping option's amount for the session; then the taxes
//! ([`super::taxes`]): exclusive taxes add to each line's and the session's `amount_total`.

use super::{Mode, Session};
use crate::discount::{self, Line};
use crate::error::{ErrorCode, Invalid};
use crate::money::{self, MAX_TOTAL};

impl Session {
    /// Recompute every line's amounts and the session's totals from quantities, prices and the
    /// discount. Fails only when the amounts leave the range kassa accepts.
    pub fn recompute(&mut self) -> Result<(), Invalid> {
        let trial = self.has_trial();
        let proration = self.proration();
        let mut subtotal: i64 = 0;
        for line in &mut self.line_items {
            let recurring = line.price.recurring.is_some();
            let due_later = trial && recurring;
            line.amount_subtotal = if due_later {
                0
            } else {
                let full = money::line_amount(line.price.unit_amount, line.quantity).ok_or_else(too_large)?;
                match proration {
                    Some((part, whole)) if recurring => prorate(full, part, whole),
                    _ => full,
                }
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
        // Exclusive taxes add to what is due (inclusive ones are already in the amounts).
        let exclusive_tax = self.apply_taxes();
        // Shipping is never discounted; it adds to what is due.
        self.amount_total = (subtotal - split.total)
            .checked_add(self.collection.shipping_amount())
            .and_then(|t| t.checked_add(exclusive_tax))
            .filter(|t| *t <= MAX_TOTAL)
            .ok_or_else(too_large)?;
        Ok(())
    }
}

impl Session {
    /// With `billing_cycle_anchor`: the share of the first natural period the first, short one
    /// covers, as (its length, the natural period's length), counted from the session's creation.
    fn proration(&self) -> Option<(i64, i64)> {
        let anchor =
            self.subscription_extras.billing_cycle_anchor.filter(|_| self.mode == Mode::Subscription)?;
        let recurring = self.line_items.iter().find_map(|l| l.price.recurring)?;
        let natural = recurring.period_end(self.created, crate::time::to_civil(self.created).day);
        (natural > self.created)
            .then(|| ((anchor - self.created).clamp(0, natural - self.created), natural - self.created))
    }
}

/// `amount × part / whole`, rounded half up.
fn prorate(amount: i64, part: i64, whole: i64) -> i64 {
    crate::proration::prorate(amount, part, whole).unwrap_or(amount)
}

/// The refusal of amounts beyond what kassa accepts.
pub(super) fn too_large() -> Invalid {
    Invalid::new(
        ErrorCode::AmountTooLarge,
        "line_items",
        format!("The session's total would exceed the largest amount kassa accepts ({MAX_TOTAL})."),
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{LineItem, Session};
    use crate::catalog::{Coupon, Price};
    use crate::error::ErrorCode;
    use crate::money::MAX_TOTAL;
    use crate::params::SessionCreate;

    #[test]
    fn proration_rounds_half_up() {
        assert_eq!(super::prorate(3000, 10, 30), 1000);
        assert_eq!(super::prorate(1000, 1, 3), 333);
        assert_eq!(super::prorate(1000, 2, 3), 667);
        assert_eq!(super::prorate(5, 1, 2), 3);
        assert_eq!(super::prorate(0, 1, 2), 0);
    }

    fn with_coupon(coupon: Coupon, p: SessionCreate) -> (Fx, SessionCreate) {
        let id = coupon.id.clone();
        (Fx::new().with_coupon(coupon), SessionCreate { discounts: coupon_discount(&id), ..p })
    }

    /// Each line's (subtotal, discount, total).
    fn amounts(s: &Session) -> Vec<(i64, i64, i64)> {
        s.line_items
            .iter()
            .map(|l: &LineItem| (l.amount_subtotal, l.amount_discount, l.amount_total))
            .collect()
    }

    fn totals(s: &Session) -> (i64, i64, i64) {
        (s.amount_subtotal, s.amount_discount, s.amount_total)
    }

    #[test]
    fn amount_subtotal_is_unit_amount_times_quantity() {
        let s = Fx::new().ok(request(vec![line("price_usd", 3), line("price_usd_b", 2)]));
        assert_eq!(amounts(&s), [(3000, 0, 3000), (5000, 0, 5000)]);
        assert_eq!(totals(&s), (8000, 0, 8000));
    }

    #[test]
    fn amount_total_is_subtotal_minus_discount() {
        let (fx, p) = with_coupon(
            amount_coupon("co_7", 700, "usd"),
            request(vec![line("price_usd", 3), line("price_usd_b", 2)]),
        );
        let s = fx.ok(p);
        assert_eq!(totals(&s), (8000, 700, 7300));
        for (sub, disc, total) in amounts(&s) {
            assert_eq!(total, sub - disc);
        }
        assert_eq!(amounts(&s).iter().map(|a| a.1).sum::<i64>(), 700);
    }

    #[test]
    fn percent_off_rounds_half_up() {
        let fx = Fx::new().with_price(one_time("price_1005", "usd", 1005)).with_price(one_time(
            "price_1004",
            "usd",
            1004,
        ));
        let fx = fx.with_coupon(percent_coupon("co_10", "10"));
        let s = fx.ok(SessionCreate { discounts: coupon_discount("co_10"), ..buy("price_1005", 1) });
        assert_eq!(totals(&s), (1005, 101, 904), "100.5 rounds up");
        let s = fx.ok(SessionCreate { discounts: coupon_discount("co_10"), ..buy("price_1004", 1) });
        assert_eq!(totals(&s), (1004, 100, 904), "100.4 rounds down");
        // Two decimals of a percent: 12.5% of 1004 = 125.5 → 126.
        let fx = fx.with_coupon(percent_coupon("co_12_5", "12.5"));
        let s = fx.ok(SessionCreate { discounts: coupon_discount("co_12_5"), ..buy("price_1004", 1) });
        assert_eq!(s.amount_discount, 126);
    }

    #[test]
    fn percent_off_100_discounts_everything() {
        let (fx, p) = with_coupon(
            percent_coupon("co_all", "100"),
            request(vec![line("price_usd", 1), line("price_usd_b", 1)]),
        );
        let s = fx.ok(p);
        assert_eq!(totals(&s), (3500, 3500, 0));
        assert_eq!(amounts(&s), [(1000, 1000, 0), (2500, 2500, 0)]);
    }

    #[test]
    fn amount_off_capped_at_eligible_subtotal() {
        let (fx, p) = with_coupon(
            amount_coupon("co_50", 5000, "usd"),
            request(vec![line("price_usd", 1), line("price_usd_b", 1)]),
        );
        let s = fx.ok(p);
        assert_eq!(totals(&s), (3500, 3500, 0));
        // Capped at the eligible lines only.
        let coupon =
            Coupon { applies_to: Some(vec!["prod_usd".into()]), ..amount_coupon("co_50", 5000, "usd") };
        let (fx, p) = with_coupon(coupon, request(vec![line("price_usd", 1), line("price_usd_b", 1)]));
        let s = fx.ok(p);
        assert_eq!(amounts(&s), [(1000, 1000, 0), (2500, 0, 2500)]);
        assert_eq!(totals(&s), (3500, 1000, 2500));
    }

    #[test]
    fn applies_to_products_limits_eligible_lines() {
        let coupon = Coupon { applies_to: Some(vec!["prod_usd_b".into()]), ..percent_coupon("co_50", "50") };
        let (fx, p) = with_coupon(
            coupon,
            request(vec![line("price_usd", 1), line("price_usd_b", 1), line("price_usd", 2)]),
        );
        let s = fx.ok(p);
        assert_eq!(amounts(&s), [(1000, 0, 1000), (2500, 1250, 1250), (2000, 0, 2000)]);
        assert_eq!(totals(&s), (5500, 1250, 4250));
        // No eligible line: no discount, but the coupon is still on the session.
        let coupon = Coupon { applies_to: Some(vec!["prod_other".into()]), ..percent_coupon("co_50", "50") };
        let (fx, p) = with_coupon(coupon, buy("price_usd", 1));
        let s = fx.ok(p);
        assert_eq!((totals(&s), s.discount.is_some()), ((1000, 0, 1000), true));
    }

    #[test]
    fn discount_split_in_proportion_remainders_to_the_largest_lines() {
        // 100 over 1000 and 2500: 28.57 and 71.43 → 28 and 71, the 1 left to the larger line.
        let (fx, p) = with_coupon(
            amount_coupon("co_1", 100, "usd"),
            request(vec![line("price_usd", 1), line("price_usd_b", 1)]),
        );
        assert_eq!(amounts(&fx.ok(p)), [(1000, 28, 972), (2500, 72, 2428)]);
        // 100 over three equal lines: 33 each, the 1 left to the first of the largest.
        let (fx, p) = with_coupon(amount_coupon("co_1", 100, "usd"), request(vec![line("price_usd", 1); 3]));
        assert_eq!(amounts(&fx.ok(p)).iter().map(|a| a.1).collect::<Vec<_>>(), [34, 33, 33]);
    }

    #[test]
    fn line_discounts_add_up_exactly() {
        let fx = Fx::new()
            .with_price(one_time("price_333", "usd", 333))
            .with_price(one_time("price_777", "usd", 777))
            .with_coupon(percent_coupon("co_33_33", "33.33"));
        let p = SessionCreate {
            discounts: coupon_discount("co_33_33"),
            ..request(vec![line("price_333", 7), line("price_777", 3), line("price_usd", 1)])
        };
        let s = fx.ok(p);
        let lines = amounts(&s);
        assert_eq!(lines.iter().map(|a| a.1).sum::<i64>(), s.amount_discount);
        assert_eq!(lines.iter().map(|a| a.2).sum::<i64>(), s.amount_total);
        // 33.33% of 2331 + 2331 + 1000 = 5662 is 1887.14 → 1887.
        assert_eq!(totals(&s), (5662, 1887, 3775));
    }

    #[test]
    fn trial_amounts_show_what_is_due_today() {
        let p = SessionCreate {
            subscription_data: trial(14),
            ..request(vec![line("price_monthly", 2), line("price_usd", 1)])
        };
        let s = Fx::new().ok(p.clone());
        // The recurring line is billed when the trial ends; its price and quantity still show.
        assert_eq!(amounts(&s), [(0, 0, 0), (1000, 0, 1000)]);
        assert_eq!((s.line_items[0].price.unit_amount, s.line_items[0].quantity), (1500, 2));
        assert_eq!(totals(&s), (1000, 0, 1000));
        // Without a trial everything is due today.
        let s = Fx::new().ok(SessionCreate { subscription_data: None, ..p.clone() });
        assert_eq!(totals(&s), (4000, 0, 4000));
        // A discount during a trial applies to what is due today.
        let (fx, p) = with_coupon(percent_coupon("co_10", "10"), p);
        let s = fx.ok(p);
        assert_eq!(amounts(&s), [(0, 0, 0), (1000, 100, 900)]);
        // Only recurring lines: nothing is due today.
        let s = Fx::new().ok(SessionCreate { subscription_data: trial(14), ..buy("price_monthly", 1) });
        assert_eq!(totals(&s), (0, 0, 0));
    }

    #[test]
    fn amounts_beyond_max_total_are_refused() {
        let huge = Price { unit_amount: 999_999_999_999, ..one_time("price_huge", "usd", 0) };
        let fx = Fx::new().with_price(huge);
        let m = refused(fx.create(buy("price_huge", 999_999)), ErrorCode::AmountTooLarge, "line_items");
        assert_eq!(
            m,
            format!("The session's total would exceed the largest amount kassa accepts ({MAX_TOTAL}).")
        );
        assert_eq!(fx.ok(buy("price_huge", 100)).amount_total, 99_999_999_999_900);
        // Each line within range, their sum not.
        let p = request(vec![line("price_huge", 99), line("price_huge", 2)]);
        refused(fx.create(p), ErrorCode::AmountTooLarge, "line_items");
    }

    #[test]
    fn free_prices_total_zero() {
        let fx = Fx::new().with_price(one_time("price_free", "usd", 0));
        assert_eq!(totals(&fx.ok(buy("price_free", 5))), (0, 0, 0));
    }
}
