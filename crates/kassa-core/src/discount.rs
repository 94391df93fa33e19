//! How a coupon becomes money off (SPEC §5).
//!
//! - Only *eligible* lines count: all of them, or those whose product is in `applies_to`.
//! - `percent_off` takes `eligible_subtotal × percent` rounded half up to the minor unit.
//! - `amount_off` takes its amount, capped at the eligible subtotal (never a negative total).
//! - The discount is split over the eligible lines in proportion to their amounts, each share
//!   rounded down, and the few minor units left over go one each to the largest lines (ties to
//!   the earlier line), so the line discounts add up exactly to the total and no line is
//!   discounted below zero.

use crate::catalog::{CouponValue, DiscountTerms};

/// One line as the discount sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub amount: i64,
    pub product: &'a str,
}

/// The total discount and each line's share (ineligible lines get 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub total: i64,
    pub per_line: Vec<i64>,
}

pub fn apply(terms: &DiscountTerms, lines: &[Line<'_>]) -> Split {
    let eligible: Vec<bool> = lines
        .iter()
        .map(|l| terms.applies_to.as_ref().is_none_or(|ps| ps.iter().any(|p| p == l.product)))
        .collect();
    let base: i64 = lines
        .iter()
        .zip(&eligible)
        .filter(|(_, e)| **e)
        .map(|(l, _)| l.amount.max(0))
        .fold(0i64, i64::saturating_add);
    let total = match terms.value {
        CouponValue::Percent { percent } => percent.of(base),
        CouponValue::Amount { amount, .. } => amount.min(base),
    }
    .clamp(0, base);
    let per_line = split(total, lines, &eligible, base);
    Split { total, per_line }
}

fn split(total: i64, lines: &[Line<'_>], eligible: &[bool], base: i64) -> Vec<i64> {
    let mut shares = vec![0i64; lines.len()];
    if total == 0 || base == 0 {
        return shares;
    }
    let mut given: i64 = 0;
    for (i, line) in lines.iter().enumerate() {
        if eligible[i] && line.amount > 0 {
            let share = i128::from(line.amount) * i128::from(total) / i128::from(base);
            // share ≤ line.amount because total ≤ base.
            shares[i] = i64::try_from(share).unwrap_or(line.amount);
            given += shares[i];
        }
    }
    let mut order: Vec<usize> = (0..lines.len()).filter(|&i| eligible[i] && lines[i].amount > 0).collect();
    // Largest lines first; `sort_by` is stable, so ties keep their order.
    order.sort_by(|&a, &b| lines[b].amount.cmp(&lines[a].amount));
    let mut left = total - given;
    // The remainder is smaller than the number of eligible lines, and every line that can take one
    // more unit stays within its amount; the `min` guard keeps that true even so.
    while left > 0 {
        let before = left;
        for &i in &order {
            if left == 0 {
                break;
            }
            if shares[i] < lines[i].amount {
                shares[i] += 1;
                left -= 1;
            }
        }
        if left == before {
            break;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Percent};
    use proptest::prelude::*;

    fn pct(s: &str, applies_to: Option<Vec<String>>) -> DiscountTerms {
        DiscountTerms { value: CouponValue::Percent { percent: Percent::parse(s).unwrap() }, applies_to }
    }

    fn off(amount: i64) -> DiscountTerms {
        DiscountTerms {
            value: CouponValue::Amount { amount, currency: Currency::parse("usd").unwrap() },
            applies_to: None,
        }
    }

    fn lines(amounts: &[i64]) -> Vec<Line<'static>> {
        amounts.iter().map(|&amount| Line { amount, product: "p" }).collect()
    }

    #[test]
    fn percent_half_up_and_split() {
        let s = apply(&pct("10", None), &lines(&[1005]));
        assert_eq!(s, Split { total: 101, per_line: vec![101] }); // 100.5 → 101
        let s = apply(&pct("50", None), &lines(&[1, 1, 1]));
        // 1.5 → 2, split 0/0/0 + remainder 2 to the first two (ties keep order).
        assert_eq!(s, Split { total: 2, per_line: vec![1, 1, 0] });
    }

    #[test]
    fn amount_off_is_capped() {
        let s = apply(&off(5000), &lines(&[1000, 2000]));
        assert_eq!(s, Split { total: 3000, per_line: vec![1000, 2000] });
        let s = apply(&off(100), &lines(&[1000, 2000]));
        assert_eq!(s.per_line.iter().sum::<i64>(), 100);
        assert_eq!(s.per_line, vec![33, 67]); // 33.3 / 66.7: remainder to the larger line
    }

    #[test]
    fn applies_to_limits_eligible_lines() {
        let ls = [Line { amount: 1000, product: "a" }, Line { amount: 3000, product: "b" }];
        let s = apply(&pct("50", Some(vec!["b".into()])), &ls);
        assert_eq!(s, Split { total: 1500, per_line: vec![0, 1500] });
        let s = apply(&pct("50", Some(vec!["zzz".into()])), &ls);
        assert_eq!(s, Split { total: 0, per_line: vec![0, 0] });
    }

    proptest! {
        #[test]
        fn shares_sum_to_total_and_never_exceed_a_line(
            amounts in proptest::collection::vec(0i64..10_000_000_000, 1..100),
            bp in 1u32..=10_000,
            amount_off in 1i64..1_000_000_000_000,
            use_amount in any::<bool>(),
            mask in proptest::collection::vec(any::<bool>(), 100),
        ) {
            let products: Vec<String> = (0..amounts.len()).map(|i| format!("p{i}")).collect();
            let ls: Vec<Line<'_>> = amounts.iter().zip(&products).map(|(&amount, p)| Line { amount, product: p }).collect();
            let applies_to: Vec<String> = products.iter().zip(&mask).filter(|(_, m)| **m).map(|(p, _)| p.clone()).collect();
            let applies_to = if mask[99] { None } else { Some(applies_to) };
            let value = if use_amount {
                CouponValue::Amount { amount: amount_off, currency: Currency::parse("usd").unwrap() }
            } else {
                CouponValue::Percent { percent: Percent::from_basis_points(bp).unwrap() }
            };
            let terms = DiscountTerms { value, applies_to: applies_to.clone() };
            let s = apply(&terms, &ls);
            prop_assert_eq!(s.per_line.iter().sum::<i64>(), s.total);
            let eligible_sum: i64 = ls.iter().filter(|l| applies_to.as_ref().is_none_or(|a| a.iter().any(|p| p == l.product))).map(|l| l.amount).sum();
            prop_assert!(s.total <= eligible_sum);
            prop_assert!(s.total >= 0);
            for (l, share) in ls.iter().zip(&s.per_line) {
                prop_assert!(*share >= 0 && *share <= l.amount);
                let eligible = applies_to.as_ref().is_none_or(|a| a.iter().any(|p| p == l.product));
                if !eligible { prop_assert_eq!(*share, 0); }
            }
            if let CouponValue::Percent { percent } = value {
                // half up: |total − exact| ≤ ½ unit
                let exact2 = i128::from(eligible_sum) * i128::from(percent.basis_points()) * 2;
                let total2 = i128::from(s.total) * 10_000 * 2;
                prop_assert!((total2 - exact2).abs() <= 10_000);
            }
        }
    }
}
