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
