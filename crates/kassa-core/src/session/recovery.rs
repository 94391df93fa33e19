//! `after_expiration[recovery]`: an expired session's recovery URL opens a new session
//! with the same contents.
//!
//! `after_expiration[recovery][enabled]` is required when `recovery` is given;
//! `[allow_promotion_codes]` says whether the new session takes promotion codes. Once the session
//! has expired, its `after_expiration.recovery.url` works for 30 days
//! ([`RECOVERY_LIFETIME`]): each visit makes a new open session ([`Session::recover`]) with the
//! same lines (new line ids, the same prices), mode, currency, customer, URLs, metadata and
//! options, no discount, `recovered_from` naming the expired one.

use serde::{Deserialize, Serialize};

use super::{DAY, PaymentStatus, Session, Status};
use crate::error::Invalid;
use crate::ids;
use crate::params::AfterExpirationParam;
use crate::time::Timestamp;

/// How long after the expiry the recovery URL works.
pub const RECOVERY_LIFETIME: i64 = 30 * DAY;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub enabled: bool,
    pub allow_promotion_codes: bool,
}

pub(super) fn after_expiration(given: Option<AfterExpirationParam>) -> Result<Option<Recovery>, Invalid> {
    let Some(recovery) = given.and_then(|a| a.recovery) else { return Ok(None) };
    let enabled = recovery.enabled.ok_or_else(|| Invalid::missing("after_expiration[recovery][enabled]"))?.0;
    Ok(Some(Recovery { enabled, allow_promotion_codes: recovery.allow_promotion_codes.is_some_and(|b| b.0) }))
}

impl Session {
    /// Until when the recovery URL works, once the session has expired with recovery enabled.
    pub fn recovery_until(&self, now: Timestamp) -> Option<Timestamp> {
        let enabled = self.recovery.is_some_and(|r| r.enabled);
        (enabled && self.status_at(now) == Status::Expired)
            .then(|| self.expired_at.unwrap_or(self.expires_at).min(self.expires_at) + RECOVERY_LIFETIME)
    }

    /// A new open session with this expired one's contents, if its recovery URL still works.
    pub fn recover(&self, now: Timestamp) -> Option<Session> {
        let until = self.recovery_until(now)?;
        if now >= until {
            return None;
        }
        let mut s = self.clone();
        s.id = ids::new_session_id();
        s.created = now;
        s.expires_at = now + DAY;
        s.status = Status::Open;
        s.payment_status = if self.mode == super::Mode::Setup {
            PaymentStatus::NoPaymentRequired
        } else {
            PaymentStatus::Unpaid
        };
        s.customer_details = None;
        s.discount = None;
        s.allow_promotion_codes = self.recovery.is_some_and(|r| r.allow_promotion_codes);
        s.recovery = None;
        s.recovered_from = Some(self.id.clone());
        s.expired_at = None;
        for line in &mut s.line_items {
            line.id = ids::new_id(ids::prefix::LINE_ITEM);
        }
        s.payment_intent = None;
        s.subscription = None;
        s.invoice = None;
        s.setup_intent = None;
        s.attempt = None;
        s.processing_until = None;
        s.pending_buyer = None;
        s.pending_amount = None;
        s.recompute().ok()?;
        Some(s)
    }
}
