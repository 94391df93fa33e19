//! Step 9 — when the session expires (SPEC §5 `expires_at`).
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
