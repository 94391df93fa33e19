//! How a coupon becomes money off.
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

    /// One product per line, `p0`, `p1`, …
    fn products(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("p{i}")).collect()
    }

    fn lines_of<'a>(amounts: &[i64], products: &'a [String]) -> Vec<Line<'a>> {
        amounts.iter().zip(products).map(|(&amount, p)| Line { amount, product: p }).collect()
    }

    /// Every product, or those `mask` picks (possibly none).
    fn applies_to(products: &[String], mask: &[bool], everything: bool) -> Option<Vec<String>> {
        (!everything)
            .then(|| products.iter().zip(mask).filter(|(_, m)| **m).map(|(p, _)| p.clone()).collect())
    }

    /// Which lines `terms` applies to, as the property tests judge it on their own.
    fn eligible_by(terms: &DiscountTerms, lines: &[Line<'_>]) -> Vec<bool> {
        lines
            .iter()
            .map(|l| terms.applies_to.as_ref().is_none_or(|a| a.iter().any(|p| p == l.product)))
            .collect()
    }

    /// Line amounts: many small and equal ones (ties, remainders), or anything up to 10^10.
    fn amounts() -> impl Strategy<Value = Vec<i64>> {
        prop_oneof![
            proptest::collection::vec(0i64..4, 1..30),
            proptest::collection::vec(prop_oneof![0i64..3, 0i64..1_000, 0i64..10_000_000_000], 1..100),
        ]
    }

    fn terms() -> impl Strategy<Value = (CouponValue, Vec<bool>, bool)> {
        let value = prop_oneof![
            // 0.5%, 12.5%, 25% and 50% of an odd amount end in exactly half a unit.
            prop_oneof![1u32..=10_000, proptest::sample::select(vec![50u32, 1_250, 2_500, 5_000])]
                .prop_map(|bp| CouponValue::Percent { percent: Percent::from_basis_points(bp).unwrap() }),
            prop_oneof![1i64..10, 1i64..1_000_000_000_000]
                .prop_map(|amount| CouponValue::Amount { amount, currency: Currency::parse("usd").unwrap() }),
        ];
        (value, proptest::collection::vec(any::<bool>(), 100), any::<bool>())
    }

    proptest! {
        #[test]
        fn total_is_the_coupon_value_within_the_eligible_subtotal(
            amounts in amounts(),
            (value, mask, everything) in terms(),
        ) {
            let products = products(amounts.len());
            let ls = lines_of(&amounts, &products);
            let terms = DiscountTerms { value, applies_to: applies_to(&products, &mask, everything) };
            let eligible = eligible_by(&terms, &ls);
            let base: i64 = ls.iter().zip(&eligible).filter(|(_, e)| **e).map(|(l, _)| l.amount).sum();
            let s = apply(&terms, &ls);
            match value {
                CouponValue::Percent { percent } => {
                    // base × bp / 10 000, rounded half up: the exact value lies within half a
                    // unit below the total or less than half a unit above it.
                    let exact = i128::from(base) * i128::from(percent.basis_points());
                    let total = i128::from(s.total) * 10_000;
                    prop_assert!(total - exact <= 5_000 && exact - total < 5_000, "{} of {}", s.total, base);
                }
                CouponValue::Amount { amount, .. } => prop_assert_eq!(s.total, amount.min(base)),
            }
            prop_assert!((0..=base).contains(&s.total));
        }

        #[test]
        fn shares_are_proportional_with_the_remainder_on_the_largest_lines(
            amounts in amounts(),
            (value, mask, everything) in terms(),
        ) {
            let products = products(amounts.len());
            let ls = lines_of(&amounts, &products);
            let terms = DiscountTerms { value, applies_to: applies_to(&products, &mask, everything) };
            let eligible = eligible_by(&terms, &ls);
            let s = apply(&terms, &ls);
            prop_assert_eq!(s.per_line.len(), ls.len());
            // The shares add up to the total exactly.
            prop_assert_eq!(s.per_line.iter().sum::<i64>(), s.total);

            let base: i128 = ls.iter().zip(&eligible).filter(|(_, e)| **e).map(|(l, _)| i128::from(l.amount)).sum();
            let total = i128::from(s.total);
            // Each eligible line's exact proportion, rounded down: total × amount / base.
            let floor = |i: usize| if base == 0 { 0 } else { total * i128::from(ls[i].amount) / base };
            let mut extra = Vec::new();
            for (i, share) in s.per_line.iter().map(|&x| i128::from(x)).enumerate() {
                if !eligible[i] {
                    prop_assert_eq!(share, 0, "line {} is not eligible", i);
                    continue;
                }
                // The floor of its proportion, or one more; never more than the line itself.
                prop_assert!(share == floor(i) || share == floor(i) + 1, "line {}: {} vs floor {}", i, share, floor(i));
                prop_assert!(share <= i128::from(ls[i].amount));
                if share == floor(i) + 1 {
                    extra.push(i);
                }
            }
            // The units the floors leave over go one each to the largest lines; among equal
            // amounts, to the earlier line (as the module documents).
            let left = total - (0..ls.len()).filter(|&i| eligible[i]).map(floor).sum::<i128>();
            let mut largest: Vec<usize> = (0..ls.len()).filter(|&i| eligible[i] && ls[i].amount > 0).collect();
            largest.sort_by_key(|&i| (std::cmp::Reverse(ls[i].amount), i));
            let left = usize::try_from(left).unwrap();
            prop_assert!(left <= largest.len(), "{} units left over for {} lines", left, largest.len());
            largest.truncate(left);
            largest.sort_unstable();
            prop_assert_eq!(extra, largest);
        }
    }
}
