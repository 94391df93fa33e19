//! The session's state machine (SPEC §5): `open → complete | expired`, and no other transition.
//!
//! Completion ([`crate::completion::complete`]) moves a stored open session to complete. Time
//! moves it to expired: a session past `expires_at` reads as expired wherever it is read
//! ([`Session::status_at`]) even before the sweep writes that down ([`Session::settle`]); the
//! merchant can expire an open one early ([`Session::expire`]). Callers check
//! [`Session::status_at`] before completing, so a session read as expired never completes.

use super::{Session, Status};
use crate::error::Error;
use crate::time::Timestamp;

impl Session {
    /// The status a reader sees at `now`: an open session past `expires_at` is expired, whether or
    /// not the sweep has written that down yet.
    pub fn status_at(&self, now: Timestamp) -> Status {
        if self.status == Status::Open && now >= self.expires_at { Status::Expired } else { self.status }
    }

    /// Make the lapse of time explicit: an open session past `expires_at` becomes expired.
    /// Returns whether anything changed.
    pub fn settle(&mut self, now: Timestamp) -> bool {
        let seen = self.status_at(now);
        let changed = seen != self.status;
        self.status = seen;
        changed
    }

    /// `POST /checkout/session/{id}/expire`: only an open session can be expired.
    pub fn expire(&mut self, now: Timestamp) -> Result<(), Error> {
        match self.status_at(now) {
            Status::Open => {
                self.status = Status::Expired;
                Ok(())
            }
            other => Err(Error::State(format!(
                "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of `{}`.",
                other.as_str()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{PaymentStatus, Session, Status};
    use crate::completion::{self, BuyerDetails, Paid};
    use crate::error::Error;
    use crate::params::{Bool, Int, SessionCreate};
    use crate::payment::CardDetails;
    use crate::time::{DAY, HOUR, Timestamp};

    fn open_session(expires_in: i64) -> Session {
        Fx::new().ok(SessionCreate {
            allow_promotion_codes: Some(Bool(true)),
            expires_at: Some(Int(NOW + expires_in)),
            ..request(vec![
                adjustable(line("price_usd", 2), Some(true), Some(0), Some(10)),
                line("price_usd_b", 1),
            ])
        })
    }

    fn card() -> Paid {
        Paid::Card {
            details: CardDetails {
                brand: "visa".into(),
                last4: "4242".into(),
                exp_month: 12,
                exp_year: 2040,
                fingerprint: "fp".into(),
            },
            saved_behaviour: serde_json::Value::Null,
        }
    }

    fn buyer() -> BuyerDetails {
        BuyerDetails { email: Some("buyer@example.com".into()), name: None }
    }

    /// Complete `s` paid by `paid` at `now`, as the pay service does after reading it open.
    fn complete(s: &mut Session, paid: Paid, now: Timestamp) -> Result<(), crate::error::Invalid> {
        completion::complete(s, None, &buyer(), paid, None, None, now).map(|_| ())
    }

    fn state_error(r: Result<(), Error>) -> String {
        match r {
            Err(Error::State(m)) => m,
            other => panic!("expected a state error, got {other:?}"),
        }
    }

    #[test]
    fn new_session_is_open_and_unpaid() {
        let s = open_session(HOUR);
        assert_eq!((s.status, s.payment_status, s.created), (Status::Open, PaymentStatus::Unpaid, NOW));
        assert!(s.id.starts_with("cs_test_"));
        assert_eq!((s.payment_intent.as_deref(), s.subscription.as_deref()), (None, None));
    }

    #[test]
    fn status_open_to_complete_or_expired_only() {
        // open → complete, and then nothing else.
        let mut s = open_session(HOUR);
        complete(&mut s, card(), NOW + 60).unwrap();
        assert_eq!(s.status, Status::Complete);
        let m = state_error(s.expire(NOW + 120));
        assert_eq!(
            m,
            "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of `complete`."
        );
        assert!(!s.settle(NOW + 2 * DAY));
        assert_eq!((s.status, s.status_at(NOW + 2 * DAY)), (Status::Complete, Status::Complete));
        assert!(complete(&mut s, card(), NOW + 180).is_err(), "completes once");

        // open → expired, and then nothing else.
        let mut s = open_session(HOUR);
        s.expire(NOW + 60).unwrap();
        assert_eq!(s.status, Status::Expired);
        let e = complete(&mut s, card(), NOW + 120).unwrap_err();
        assert_eq!(e.message, "This checkout is no longer open.");
        assert_eq!(s.status, Status::Expired);
        assert!(state_error(s.expire(NOW + 180)).ends_with("has a status of `expired`."));
    }

    #[test]
    fn past_expires_at_reads_expired() {
        let mut s = open_session(HOUR);
        assert_eq!(s.status_at(NOW + HOUR - 1), Status::Open);
        assert_eq!(s.status_at(NOW + HOUR), Status::Expired);
        assert_eq!(s.status, Status::Open, "reading writes nothing");
        // Expiring by hand is refused once time has expired it.
        assert!(state_error(s.expire(NOW + HOUR)).ends_with("has a status of `expired`."));
        // The sweep writes it down, once.
        assert!(!s.settle(NOW + HOUR - 1));
        assert!(s.settle(NOW + HOUR));
        assert!(!s.settle(NOW + HOUR + 1));
        assert_eq!(s.status, Status::Expired);
    }

    #[test]
    fn payment_status_paid_unpaid_or_no_payment_required() {
        let mut s = open_session(HOUR);
        complete(&mut s, card(), NOW).unwrap();
        assert_eq!(s.payment_status, PaymentStatus::Paid);
        // Nothing due: no payment required.
        let fx = Fx::new().with_price(one_time("price_free", "usd", 0));
        let mut s = fx.ok(buy("price_free", 1));
        complete(&mut s, card(), NOW).unwrap();
        assert_eq!(s.payment_status, PaymentStatus::NoPaymentRequired);
        // A cash balance that does not cover it: complete, and unpaid until funded.
        let mut s = Fx::new().ok(SessionCreate {
            payment_method_types: strings(&["customer_balance"]),
            ..buy("price_usd", 1)
        });
        complete(&mut s, Paid::CustomerBalance { covered: false }, NOW).unwrap();
        assert_eq!((s.status, s.payment_status), (Status::Complete, PaymentStatus::Unpaid));
        // A trial with nothing due today.
        let mut s = Fx::new().ok(SessionCreate { subscription_data: trial(7), ..buy("price_monthly", 1) });
        complete(&mut s, card(), NOW).unwrap();
        assert_eq!(s.payment_status, PaymentStatus::NoPaymentRequired);
    }
}
