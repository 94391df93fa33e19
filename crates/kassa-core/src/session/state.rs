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
