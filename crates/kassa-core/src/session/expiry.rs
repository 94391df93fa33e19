//! Step 9 — when the session expires (`expires_at`).
//!
//! 30 minutes to 24 hours after creation, default 24 hours. The lower bound has
//! [`EXPIRY_GRACE`] seconds of slack, so that "now + 30 minutes" computed by a client a moment
//! before the request arrives is still accepted.

use super::{EXPIRY_GRACE, MAX_EXPIRY, MIN_EXPIRY};
use crate::error::Invalid;
use crate::params::Int;
use crate::time::Timestamp;

pub(super) fn expires_at(given: Option<Int>, now: Timestamp) -> Result<Timestamp, Invalid> {
    match given {
        None => Ok(now + MAX_EXPIRY),
        Some(Int(t)) if t < now + MIN_EXPIRY - EXPIRY_GRACE || t > now + MAX_EXPIRY => Err(Invalid::param(
            "expires_at",
            "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
        )),
        Some(Int(t)) => Ok(t),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{MAX_EXPIRY, MIN_EXPIRY};
    use super::expires_at;
    use crate::params::{Int, SessionCreate};
    use crate::time::{DAY, MINUTE};

    fn expiring(at: i64) -> SessionCreate {
        SessionCreate { expires_at: Some(Int(at)), ..buy("price_usd", 1) }
    }

    #[test]
    fn expires_at_defaults_to_24_hours() {
        assert_eq!(Fx::new().ok(buy("price_usd", 1)).expires_at, NOW + DAY);
        assert_eq!(expires_at(None, 5), Ok(5 + DAY));
    }

    #[test]
    fn expires_at_between_30_minutes_and_24_hours() {
        assert_eq!((MIN_EXPIRY, MAX_EXPIRY), (30 * MINUTE, DAY));
        for ok in [NOW + 30 * MINUTE, NOW + 3 * 60 * MINUTE, NOW + DAY] {
            assert_eq!(Fx::new().ok(expiring(ok)).expires_at, ok);
        }
        for bad in [NOW + DAY + 1, NOW + 20 * MINUTE, NOW, NOW - 1, 0, i64::MIN / 2] {
            let m = invalid(Fx::new().create(expiring(bad)), "expires_at");
            assert_eq!(
                m,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation."
            );
        }
    }

    #[test]
    fn expires_at_30_minutes_has_10_seconds_grace() {
        assert_eq!(expires_at(Some(Int(NOW + 30 * MINUTE - 10)), NOW), Ok(NOW + 30 * MINUTE - 10));
        assert!(expires_at(Some(Int(NOW + 30 * MINUTE - 11)), NOW).is_err());
    }
}
