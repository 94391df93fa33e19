//! Step 7 — subscription data (`subscription_data`).
//!
//! Only in subscription mode. `trial_period_days`, when given, is 1 to [`MAX_TRIAL_DAYS`]; or
//! `trial_end` (exclusive with it), at least 48 hours and at most 730 days ahead, as Stripe's;
//! `billing_cycle_anchor` in the future, no later than the end of the first natural period, and
//! not with a trial (kassa's restriction): the first invoice charges the recurring lines prorated
//! to the anchor (Stripe's default `proration_behavior=create_prorations`); then
//! `trial_settings[end_behavior][missing_payment_method]` (`cancel`, `create_invoice`, `pause`),
//! `description` (`default_tax_rates` are taken out before, by `taxes`), and
//! `subscription_data[metadata]`, which the subscription will carry.

use serde::{Deserialize, Serialize};

use super::{LineItem, MAX_TRIAL_DAYS, Mode};
use crate::catalog;
use crate::error::Invalid;
use crate::metadata::{self, Metadata};
use crate::params::{Int, SubscriptionDataParam};
use crate::time::{DAY, HOUR, Timestamp, to_civil};

/// What `subscription_data` says besides the trial days and the metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionExtras {
    pub description: Option<String>,
    pub trial_end: Option<Timestamp>,
    pub billing_cycle_anchor: Option<Timestamp>,
    /// `trial_settings[end_behavior][missing_payment_method]`; `None` reads as `create_invoice`.
    pub missing_payment_method: Option<String>,
}

/// The shortest trial `trial_end` may give.
pub const MIN_TRIAL_END: i64 = 48 * HOUR;

/// The trial length, the subscription's metadata, and the rest.
pub(super) fn subscription_data(
    given: Option<SubscriptionDataParam>,
    mode: Mode,
    lines: &[LineItem],
    now: Timestamp,
) -> Result<(Option<u32>, Metadata, SubscriptionExtras), Invalid> {
    match given {
        None => Ok((None, Metadata::new(), SubscriptionExtras::default())),
        Some(_) if mode != Mode::Subscription => Err(Invalid::param(
            "subscription_data",
            "`subscription_data` can only be used in `subscription` mode.",
        )),
        Some(sd) => {
            let days = trial_period_days(sd.trial_period_days)?;
            if days.is_some() && sd.trial_end.is_some() {
                return Err(Invalid::exclusive(
                    "subscription_data[trial_period_days]",
                    "subscription_data[trial_end]",
                ));
            }
            let trial_end = trial_end(sd.trial_end, now)?;
            let billing_cycle_anchor = billing_cycle_anchor(
                sd.billing_cycle_anchor,
                days.is_some() || trial_end.is_some(),
                lines,
                now,
            )?;
            let missing_payment_method = match sd.trial_settings.and_then(|t| t.end_behavior) {
                None => None,
                Some(b) => match b.missing_payment_method.as_deref() {
                    None => {
                        return Err(Invalid::missing(
                            "subscription_data[trial_settings][end_behavior][missing_payment_method]",
                        ));
                    }
                    Some(v @ ("cancel" | "create_invoice" | "pause")) => Some(v.to_owned()),
                    Some(_) => {
                        return Err(Invalid::param(
                            "subscription_data[trial_settings][end_behavior][missing_payment_method]",
                            "`missing_payment_method` must be one of cancel, create_invoice or pause.",
                        ));
                    }
                },
            };
            let description = catalog::text("subscription_data[description]", sd.description, 500)?
                .filter(|d| !d.is_empty());
            let extras =
                SubscriptionExtras { description, trial_end, billing_cycle_anchor, missing_payment_method };
            Ok((days, metadata::create(sd.metadata, "subscription_data[metadata]")?, extras))
        }
    }
}

/// `trial_end`: at least [`MIN_TRIAL_END`] and at most [`MAX_TRIAL_DAYS`] days ahead.
fn trial_end(given: Option<Int>, now: Timestamp) -> Result<Option<Timestamp>, Invalid> {
    let param = "subscription_data[trial_end]";
    match given {
        None => Ok(None),
        Some(Int(t)) if t < now + MIN_TRIAL_END => Err(Invalid::param(
            param,
            "`subscription_data[trial_end]` must be at least 48 hours in the future.",
        )),
        Some(Int(t)) if t > now + MAX_TRIAL_DAYS * DAY => Err(Invalid::param(
            param,
            "`subscription_data[trial_end]` can be at most 730 days (2 years) in the future.",
        )),
        Some(Int(t)) => Ok(Some(t)),
    }
}

/// `billing_cycle_anchor`: in the future, no later than the end of the first natural billing
/// period, and without a trial.
fn billing_cycle_anchor(
    given: Option<Int>,
    trial: bool,
    lines: &[LineItem],
    now: Timestamp,
) -> Result<Option<Timestamp>, Invalid> {
    let param = "subscription_data[billing_cycle_anchor]";
    let Some(Int(anchor)) = given else { return Ok(None) };
    if trial {
        return Err(Invalid::param(
            param,
            "kassa does not combine `subscription_data[billing_cycle_anchor]` with a trial: give one or the other.",
        ));
    }
    if anchor <= now {
        return Err(Invalid::param(
            param,
            "`subscription_data[billing_cycle_anchor]` must be in the future.",
        ));
    }
    if let Some(natural) =
        lines.iter().find_map(|l| l.price.recurring).map(|r| r.period_end(now, to_civil(now).day))
        && anchor > natural
    {
        return Err(Invalid::param(
            param,
            format!(
                "`subscription_data[billing_cycle_anchor]` cannot be later than the next natural billing date ({natural})."
            ),
        ));
    }
    Ok(Some(anchor))
}

fn trial_period_days(days: Option<Int>) -> Result<Option<u32>, Invalid> {
    match days {
        None => Ok(None),
        Some(Int(d)) if d < 1 => Err(Invalid::param(
            "subscription_data[trial_period_days]",
            "`trial_period_days` has to be at least 1.",
        )),
        Some(Int(d)) if d > MAX_TRIAL_DAYS => Err(Invalid::param(
            "subscription_data[trial_period_days]",
            "The maximum number of trial period days is 730 (2 years).",
        )),
        Some(Int(d)) => Ok(u32::try_from(d).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::params::{Int, MetadataParam, SessionCreate, SubscriptionDataParam};

    fn with_data(data: SubscriptionDataParam, p: SessionCreate) -> SessionCreate {
        SessionCreate { subscription_data: Some(data), ..p }
    }

    fn days(d: i64) -> SubscriptionDataParam {
        SubscriptionDataParam { trial_period_days: Some(Int(d)), ..Default::default() }
    }

    fn metadata(pairs: &[(&str, &str)]) -> Option<MetadataParam> {
        Some(MetadataParam::Set(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()))
    }

    #[test]
    fn subscription_data_only_in_subscription_mode() {
        for data in [SubscriptionDataParam::default(), days(7)] {
            let m = invalid(Fx::new().create(with_data(data, buy("price_usd", 1))), "subscription_data");
            assert_eq!(m, "`subscription_data` can only be used in `subscription` mode.");
        }
        let s = Fx::new().ok(with_data(SubscriptionDataParam::default(), buy("price_monthly", 1)));
        assert_eq!(s.trial_period_days, None);
    }

    #[test]
    fn trial_period_days_between_1_and_730() {
        for d in [0, -1] {
            let m = invalid(
                Fx::new().create(with_data(days(d), buy("price_monthly", 1))),
                "subscription_data[trial_period_days]",
            );
            assert_eq!(m, "`trial_period_days` has to be at least 1.");
        }
        let m = invalid(
            Fx::new().create(with_data(days(731), buy("price_monthly", 1))),
            "subscription_data[trial_period_days]",
        );
        assert_eq!(m, "The maximum number of trial period days is 730 (2 years).");
        for d in [1, 730] {
            let s = Fx::new().ok(with_data(days(d), buy("price_monthly", 1)));
            assert_eq!(s.trial_period_days, Some(u32::try_from(d).unwrap()));
        }
    }

    #[test]
    fn subscription_data_metadata_is_kept_for_the_subscription() {
        let data = SubscriptionDataParam { metadata: metadata(&[("plan", "gold")]), ..Default::default() };
        let s = Fx::new().ok(with_data(data, buy("price_monthly", 1)));
        assert_eq!(s.subscription_metadata.get("plan").map(String::as_str), Some("gold"));
        assert!(s.metadata.is_empty());
        let long = "v".repeat(501);
        let data = SubscriptionDataParam {
            trial_period_days: None,
            metadata: metadata(&[("plan", &long)]),
            ..Default::default()
        };
        let m = invalid(
            Fx::new().create(with_data(data, buy("price_monthly", 1))),
            "subscription_data[metadata][plan]",
        );
        assert_eq!(m, "Metadata values can have up to 500 characters.");
    }

    #[test]
    fn trial_period_days_checked_before_subscription_metadata() {
        let long = "v".repeat(501);
        let data = SubscriptionDataParam {
            trial_period_days: Some(Int(0)),
            metadata: metadata(&[("plan", &long)]),
            ..Default::default()
        };
        invalid(
            Fx::new().create(with_data(data, buy("price_monthly", 1))),
            "subscription_data[trial_period_days]",
        );
    }
}
