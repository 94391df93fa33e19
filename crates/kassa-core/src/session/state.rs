//! The session's state machine: `open → complete | expired`, and no other transition.
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
        if changed && seen == Status::Expired {
            self.expired_at = Some(self.expires_at);
        }
        self.status = seen;
        changed
    }

    /// `POST /checkout/session/{id}/expire`: only an open session can be expired.
    pub fn expire(&mut self, now: Timestamp) -> Result<(), Error> {
        match self.status_at(now) {
            Status::Open => {
                self.status = Status::Expired;
                self.expired_at = Some(now);
                Ok(())
            }
            other => Err(Error::State(format!(
                "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of `{}`.",
                other.as_str()
            ))),
        }
    }

    /// `POST /checkout/session/{id}`: an open session's `metadata` changes (a key set to `""`
    /// goes, `metadata=` clears it); a complete or expired one is refused.
    pub fn update(&mut self, p: crate::params::SessionUpdate, now: Timestamp) -> Result<(), Error> {
        let status = self.status_at(now);
        if status != Status::Open {
            return Err(Error::State(format!(
                "This Checkout Session is no longer open: it has a status of `{}`, and only an open Checkout Session can be updated.",
                status.as_str()
            )));
        }
        self.metadata = crate::metadata::update(std::mem::take(&mut self.metadata), p.metadata, "metadata")
            .map_err(Error::Invalid)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::fixtures::*;
    use super::super::{MAX_EXPIRY, MIN_EXPIRY, PaymentStatus, Session, Status};
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
        complete(&mut s, Paid::CustomerBalance, NOW).unwrap();
        assert_eq!((s.status, s.payment_status), (Status::Complete, PaymentStatus::Unpaid));
        // A trial with nothing due today.
        let mut s = Fx::new().ok(SessionCreate { subscription_data: trial(7), ..buy("price_monthly", 1) });
        complete(&mut s, card(), NOW).unwrap();
        assert_eq!(s.payment_status, PaymentStatus::NoPaymentRequired);
    }

    /// One step a session can go through after creation; each comes `after` seconds after the
    /// previous one.
    #[derive(Debug, Clone)]
    enum Op {
        Read,
        Settle,
        Expire,
        /// The pay service's completion: it completes only a session that reads open.
        Complete,
        SetQuantity {
            line: usize,
            quantity: i64,
        },
        ApplyCode,
        RemoveCode,
    }

    fn op() -> impl Strategy<Value = (i64, Op)> {
        let after = prop_oneof![Just(0), 0..120i64, 0..4 * HOUR, Just(DAY)];
        let op = prop_oneof![
            3 => Just(Op::Read),
            2 => Just(Op::Settle),
            2 => Just(Op::Expire),
            2 => Just(Op::Complete),
            2 => (0..2usize, -1..12i64).prop_map(|(line, quantity)| Op::SetQuantity { line, quantity }),
            1 => Just(Op::ApplyCode),
            1 => Just(Op::RemoveCode),
        ];
        (after, op)
    }

    proptest! {
        #[test]
        fn open_session_ends_complete_or_expired_and_never_leaves_that(
            expires_in in prop::sample::select(vec![MIN_EXPIRY, HOUR, MAX_EXPIRY]),
            ops in prop::collection::vec(op(), 0..40),
        ) {
            let mut s = open_session(expires_in);
            let coupon = percent_coupon("co_10", "10");
            let code = promotion_code("promo_1", "co_10");
            let mut now = NOW;
            // The status the session left open for, as first read.
            let mut left: Option<Status> = None;
            let mut completed = false;
            for (after, op) in ops {
                now += after;
                let before = s.clone();
                let reads = before.status_at(now);
                match op {
                    Op::Read => {}
                    Op::Settle => {
                        let changed = s.settle(now);
                        prop_assert_eq!(changed, before.status == Status::Open && now >= before.expires_at);
                    }
                    Op::Expire => match s.expire(now) {
                        Ok(()) => {
                            prop_assert_eq!(reads, Status::Open);
                            prop_assert_eq!(s.status, Status::Expired);
                        }
                        Err(_) => {
                            prop_assert_ne!(reads, Status::Open);
                            prop_assert_eq!(&s, &before);
                        }
                    },
                    Op::Complete => {
                        if reads == Status::Open {
                            prop_assert!(complete(&mut s, card(), now).is_ok());
                            prop_assert_eq!(s.status, Status::Complete);
                            completed = true;
                        }
                        // Whatever the service checks, the core refuses a session stored as
                        // complete or expired, and leaves it as it was.
                        if before.status != Status::Open {
                            let mut again = before.clone();
                            prop_assert!(complete(&mut again, card(), now).is_err());
                            prop_assert_eq!(&again, &before);
                        }
                    }
                    Op::SetQuantity { line, quantity } => {
                        let id = s.line_items[line].id.clone();
                        let _ = s.set_quantity(&id, quantity);
                    }
                    Op::ApplyCode => {
                        let _ = s.apply_promotion_code(&code, &coupon, None, now);
                    }
                    Op::RemoveCode => {
                        let _ = s.remove_promotion_code();
                    }
                }
                if !matches!(op, Op::Settle | Op::Expire | Op::Complete) {
                    prop_assert_eq!(s.status, before.status, "{:?} changed the status", op);
                }
                // Once a session reads complete or expired, it reads so for ever.
                let seen = s.status_at(now);
                match left {
                    None if seen != Status::Open => left = Some(seen),
                    None => {}
                    Some(l) => prop_assert_eq!(seen, l),
                }
                // What is stored is open, or what it left open for.
                prop_assert!(s.status == Status::Open || Some(s.status) == left);
                // For the state as stored, reading later never reads open again, nor differently.
                let mut times = [NOW, now, s.expires_at - 1, s.expires_at, s.expires_at + 1, now + 2 * DAY];
                times.sort_unstable();
                let mut last = Status::Open;
                for t in times {
                    let at = s.status_at(t);
                    if last != Status::Open {
                        prop_assert_eq!(at, last);
                    }
                    last = at;
                }
            }
            // Time alone closes whatever is still open: complete or expired, never both.
            s.settle(now.max(s.expires_at));
            prop_assert!(matches!(s.status, Status::Complete | Status::Expired));
            prop_assert_eq!(s.status == Status::Complete, completed);
            if let Some(l) = left {
                prop_assert_eq!(s.status, l);
            }
        }

        #[test]
        fn status_at_is_monotone_in_time(
            stored in prop::sample::select(vec![Status::Open, Status::Complete, Status::Expired]),
            expires_at in NOW..NOW + 2 * DAY,
            t1 in NOW - DAY..NOW + 3 * DAY,
            later in 0..2 * DAY,
        ) {
            let mut s = open_session(HOUR);
            s.status = stored;
            s.expires_at = expires_at;
            let (a, b) = (s.status_at(t1), s.status_at(t1 + later));
            if a != Status::Open {
                prop_assert_eq!(b, a);
            }
            // Only an open session changes with time, and only to expired, at `expires_at`.
            let want = if stored == Status::Open && t1 >= expires_at { Status::Expired } else { stored };
            prop_assert_eq!(a, want);
        }
    }
}
