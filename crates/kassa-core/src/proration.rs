//! Changing a subscription's items mid-period: what the change costs, as Stripe
//! computes it.
//!
//! A change at `at` inside the period `[start, end)` credits the unused time of every item it
//! replaces (a negative line) and charges the remaining time of every item it puts in (a positive
//! line). Each line is `amount × (end - at) / (end - start)`, by the second, rounded half away
//! from zero to the minor unit, so credit and charge of one change differ from the exact price
//! difference for the remaining time by at most one minor unit each.
//!
//! With `create_prorations` the lines wait on the subscription
//! ([`crate::billing::Subscription::pending_invoice_items`]) for the next invoice, which collects
//! them; with `always_invoice` they are invoiced at once; with `none` nothing is charged for the
//! change. A trialing subscription is charged nothing for its trial, so a change in the trial
//! prorates nothing.

use crate::billing::{InvoiceLine, Overflow, Subscription, SubscriptionItem, SubscriptionStatus};
use crate::renewal::describe;
use crate::time::Timestamp;

/// `proration_behavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    #[default]
    CreateProrations,
    None,
    AlwaysInvoice,
}

impl Behavior {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "create_prorations" => Some(Self::CreateProrations),
            "none" => Some(Self::None),
            "always_invoice" => Some(Self::AlwaysInvoice),
            _ => None,
        }
    }
}

/// `amount × remaining / period`, rounded half away from zero; `None` when it does not fit.
pub fn prorate(amount: i64, remaining: i64, period: i64) -> Option<i64> {
    if period <= 0 {
        return Some(0);
    }
    let remaining = i128::from(remaining.clamp(0, period));
    let num = i128::from(amount).checked_mul(remaining)?;
    let period = i128::from(period);
    let half_up = (num.abs() * 2 + period) / (2 * period);
    i64::try_from(if num < 0 { -half_up } else { half_up }).ok()
}

/// The proration lines of replacing `old` items by the subscription's current ones at `at`
/// (items matched by id; an item whose price and quantity did not change prorates nothing).
pub fn lines(
    sub: &Subscription,
    old: &[SubscriptionItem],
    at: Timestamp,
) -> Result<Vec<InvoiceLine>, Overflow> {
    if sub.status == SubscriptionStatus::Trialing {
        return Ok(Vec::new());
    }
    let (start, end) = (sub.current_period_start, sub.current_period_end);
    let (period, remaining) = (end - start, end - at);
    let unchanged = |a: &SubscriptionItem, b: &SubscriptionItem| {
        a.id == b.id && a.price.id == b.price.id && a.quantity == b.quantity
    };
    let mut out = Vec::new();
    for item in old.iter().filter(|o| o.price.recurring.is_some()) {
        if sub.items.iter().any(|n| unchanged(item, n)) {
            continue;
        }
        let full = crate::money::line_amount(item.price.unit_amount, item.quantity).ok_or(Overflow)?;
        let amount = prorate(-full, remaining, period).ok_or(Overflow)?;
        let description = format!("Unused time on {} after {}", describe(item), date(at));
        out.push(line(item, amount, description, at, end));
    }
    for item in sub.items.iter().filter(|n| n.price.recurring.is_some()) {
        if old.iter().any(|o| unchanged(o, item)) {
            continue;
        }
        let full = crate::money::line_amount(item.price.unit_amount, item.quantity).ok_or(Overflow)?;
        let amount = prorate(full, remaining, period).ok_or(Overflow)?;
        let description = format!("Remaining time on {} after {}", describe(item), date(at));
        out.push(line(item, amount, description, at, end));
    }
    Ok(out)
}

fn line(
    item: &SubscriptionItem,
    amount: i64,
    description: String,
    at: Timestamp,
    end: Timestamp,
) -> InvoiceLine {
    let mut l = InvoiceLine::new(item.price.clone(), item.quantity, amount, description, at, end);
    l.subscription_item = Some(item.id.clone());
    l.proration = true;
    l
}

fn date(t: Timestamp) -> String {
    let c = crate::time::to_civil(t);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Interval, Price, Recurring};
    use crate::metadata::Metadata;
    use crate::money::Currency;
    use proptest::prelude::*;

    /// 2026-01-01T00:00:00Z and the 31-day January period.
    const START: Timestamp = 1_767_225_600;
    const END: Timestamp = START + 31 * 86_400;

    fn price(id: &str, unit_amount: i64) -> Price {
        Price {
            id: id.into(),
            created: START,
            product: format!("prod_{id}"),
            currency: Currency::parse("usd").unwrap(),
            unit_amount,
            recurring: Some(Recurring { interval: Interval::Month, interval_count: 1 }),
            active: true,
            nickname: None,
            lookup_key: None,
            metadata: Metadata::new(),
            tax_behavior: Default::default(),
            inline: false,
        }
    }

    fn active(items: Vec<SubscriptionItem>) -> Subscription {
        let usd = Currency::parse("usd").unwrap();
        let mut sub = Subscription::new("cus_1".into(), usd, items, START, END, START);
        sub.status = SubscriptionStatus::Active;
        sub
    }

    fn change(from: (i64, i64), to: (i64, i64), at: Timestamp) -> Vec<i64> {
        let mut sub = active(vec![SubscriptionItem::new(price("price_old", from.0), from.1)]);
        let old = sub.items.clone();
        sub.items[0].price = price("price_new", to.0);
        sub.items[0].quantity = to.1;
        lines(&sub, &old, at).unwrap().iter().map(|l| l.amount).collect()
    }

    #[test]
    fn upgrade_mid_month() {
        // $10.00 → $25.00 on Jan 16 00:00: 16 of 31 days remain.
        // Credit: 1000 × 16/31 = 516.129… → -516. Charge: 2500 × 16/31 = 1290.32… → 1290.
        assert_eq!(change((1000, 1), (2500, 1), START + 15 * 86_400), vec![-516, 1290]);
    }

    #[test]
    fn downgrade_mid_month() {
        // $25.00 → $10.00 on Jan 21 00:00: 11 of 31 days remain.
        // Credit: 2500 × 11/31 = 887.09… → -887. Charge: 1000 × 11/31 = 354.83… → 355.
        assert_eq!(change((2500, 1), (1000, 1), START + 20 * 86_400), vec![-887, 355]);
    }

    #[test]
    fn quantity_change() {
        // 2 × $9.99 → 5 × $9.99 a quarter of the way in (23.25 days remain of 31: 3/4).
        // Credit: 1998 × 3/4 = 1498.5 → -1499 (half away from zero). Charge: 4995 × 3/4 =
        // 3746.25 → 3746.
        let at = START + 31 * 86_400 / 4;
        assert_eq!(change((999, 2), (999, 5), at), vec![-1499, 3746]);
    }

    #[test]
    fn nothing_changes_nothing_prorates() {
        let sub = active(vec![SubscriptionItem::new(price("price_a", 1000), 1)]);
        assert!(lines(&sub, &sub.items.clone(), START + 86_400).unwrap().is_empty());
    }

    #[test]
    fn trials_prorate_nothing() {
        let mut sub = active(vec![SubscriptionItem::new(price("price_a", 1000), 1)]);
        sub.status = SubscriptionStatus::Trialing;
        let old = sub.items.clone();
        sub.items[0].quantity = 3;
        assert!(lines(&sub, &old, START + 86_400).unwrap().is_empty());
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(prorate(1, 1, 2), Some(1));
        assert_eq!(prorate(-1, 1, 2), Some(-1));
        assert_eq!(prorate(3, 1, 4), Some(1));
        assert_eq!(prorate(1000, 0, 10), Some(0));
        assert_eq!(prorate(1000, 20, 10), Some(1000));
    }

    proptest! {
        #[test]
        fn credit_and_charge_add_up_to_the_difference(
            old in 0i64..10_000_000, new in 0i64..10_000_000, q_old in 1i64..100, q_new in 1i64..100,
            elapsed in 0i64..(31 * 86_400),
        ) {
            let amounts = change((old, q_old), (new, q_new), START + elapsed);
            // Each line is off by at most half a minor unit: |sum - diff × R/P| ≤ 1.
            let sum = i128::from(amounts.iter().sum::<i64>());
            let (period, remaining) = (i128::from(31 * 86_400), i128::from(31 * 86_400 - elapsed));
            let diff = i128::from(new * q_new - old * q_old);
            prop_assert!((sum * period - diff * remaining).abs() <= period, "{amounts:?}");
        }

        /// Several items at once — some repriced, some with a new quantity, some deleted, some
        /// added, some left alone — at any second of the period: the lines add up to the price
        /// difference for the remaining time, each off by at most half a minor unit, and an item
        /// left alone prorates nothing.
        #[test]
        fn many_items_add_up_within_half_a_unit_per_line(
            items in proptest::collection::vec(
                (1i64..1_000_000, 1i64..50, 0u8..5, 1i64..1_000_000, 1i64..50),
                1..8,
            ),
            elapsed in 0i64..=(31 * 86_400),
        ) {
            let old_items: Vec<SubscriptionItem> = items
                .iter()
                .enumerate()
                .map(|(n, (amount, q, _, _, _))| SubscriptionItem::new(price(&format!("price_{n}"), *amount), *q))
                .collect();
            let mut sub = active(old_items.clone());
            let mut added = Vec::new();
            let mut kept = Vec::new();
            for (n, (item, (_, _, what, amount, q))) in old_items.iter().zip(&items).enumerate() {
                let mut now = item.clone();
                match what {
                    0 => {}                                                        // left alone
                    1 => now.price = price(&format!("price_new_{n}"), *amount),     // repriced
                    2 => now.quantity = *q,                                         // new quantity
                    3 => continue,                                                  // deleted
                    _ => added.push(SubscriptionItem::new(price(&format!("price_add_{n}"), *amount), *q)),
                }
                kept.push(now);
            }
            kept.extend(added);
            sub.items = kept;
            let at = START + elapsed;
            let lines = lines(&sub, &old_items, at).unwrap();
            let total = |its: &[SubscriptionItem]| -> i128 {
                its.iter().map(|i| i128::from(i.price.unit_amount) * i128::from(i.quantity)).sum()
            };
            let diff = total(&sub.items) - total(&old_items);
            let (period, remaining) = (i128::from(END - START), i128::from(END - at));
            let sum = i128::from(lines.iter().map(|l| l.amount).sum::<i64>());
            let n = i128::try_from(lines.len()).unwrap();
            // |sum − diff × R/P| ≤ n/2, in whole numbers: |2·(sum·P − diff·R)| ≤ n·P.
            prop_assert!(2 * (sum * period - diff * remaining).abs() <= n * period, "{lines:?}");
            let unchanged = items.iter().filter(|(_, _, what, _, _)| *what == 0).count();
            prop_assert!(lines.len() <= 2 * (items.len() - unchanged) + items.iter().filter(|i| i.2 == 4).count());
        }
    }
}
