//! Step 7 — subscription data (SPEC §5 `subscription_data`).
//!
//! Only in subscription mode. `trial_period_days`, when given, is 1 to [`MAX_TRIAL_DAYS`]; then
//! `subscription_data[metadata]`, which the subscription will carry.

use super::{MAX_TRIAL_DAYS, Mode};
use crate::error::Invalid;
use crate::metadata::{self, Metadata};
use crate::params::{Int, SubscriptionDataParam};

/// The trial length and the subscription's metadata.
pub(super) fn subscription_data(
    given: Option<SubscriptionDataParam>,
    mode: Mode,
) -> Result<(Option<u32>, Metadata), Invalid> {
    match given {
        None => Ok((None, Metadata::new())),
        Some(_) if mode != Mode::Subscription => Err(Invalid::param(
            "subscription_data",
            "`subscription_data` can only be used in `subscription` mode.",
        )),
        Some(sd) => {
            let days = trial_period_days(sd.trial_period_days)?;
            Ok((days, metadata::create(sd.metadata, "subscription_data[metadata]")?))
        }
    }
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
