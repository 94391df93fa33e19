//! Charges and refunds (issue 17), in their storage form, and the one rule that moves money
//! back: [`Charge::refund`].
//!
//! A [`Charge`] is written for every payment attempt that reaches the test network (a card paid or
//! declined on the checkout page, a renewal, an invoice paid through the API, a cash balance
//! debited), in the transaction that records the attempt; its payment intent names it as
//! `latest_charge`. A [`Refund`] gives back part or all of what a charge captured. The charge keeps
//! a copy of each of its refunds (what `charge.refunds` shows) and the running `amount_refunded`,
//! so the check "is there enough left" and the write that uses it up are one read-modify-write of
//! the charge's record: done in one store transaction (the charge's row locked on PostgreSQL, the
//! single writer on SQLite), concurrent refunds of the same charge serialize and never refund more
//! than was captured.

use serde::{Deserialize, Serialize};

use crate::billing::{PaymentError, PaymentIntent, PaymentMethodKind};
use crate::error::{Error, ErrorCode, Invalid};
use crate::ids;
use crate::metadata::Metadata;
use crate::money::Currency;
use crate::time::Timestamp;

pub const CHARGE_PREFIX: &str = "ch_";
pub const REFUND_PREFIX: &str = "re_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Succeeded,
    Pending,
    Failed,
}

impl ChargeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Pending => "pending",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub created: Timestamp,
    pub amount: i64,
    /// What was captured: the amount for an automatic capture, what the capture took for a manual
    /// one, 0 while only authorized or when the attempt failed.
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub captured: bool,
    pub currency: Currency,
    pub customer: Option<String>,
    pub payment_intent: Option<String>,
    pub payment_method: Option<String>,
    /// The method's type and what kassa keeps of it (`payment_method_details`).
    pub method: Option<PaymentMethodKind>,
    pub status: ChargeStatus,
    pub failure: Option<PaymentError>,
    pub invoice: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    /// Every refund made on it, oldest first, as it is now.
    #[serde(default)]
    pub refunds: Vec<Refund>,
}

impl Charge {
    /// The charge of an attempt on `pi`: succeeded (captured unless the intent waits for a manual
    /// capture) or failed with `failure`.
    pub fn for_attempt(
        pi: &PaymentIntent,
        method: Option<PaymentMethodKind>,
        failure: Option<PaymentError>,
        now: Timestamp,
    ) -> Self {
        use crate::billing::PaymentIntentStatus as S;
        let status = if failure.is_some() { ChargeStatus::Failed } else { ChargeStatus::Succeeded };
        let captured = status == ChargeStatus::Succeeded && pi.status != S::RequiresCapture;
        Self {
            id: ids::new_sortable_id(CHARGE_PREFIX),
            created: now,
            amount: pi.amount,
            amount_captured: if captured { pi.amount_captured.unwrap_or(pi.amount) } else { 0 },
            amount_refunded: 0,
            captured,
            currency: pi.currency,
            customer: pi.customer.clone(),
            payment_intent: Some(pi.id.clone()),
            payment_method: pi.payment_method.clone().or_else(|| failure.as_ref()?.payment_method.clone()),
            method,
            status,
            failure,
            invoice: pi.invoice.clone(),
            description: pi.description.clone(),
            metadata: pi.metadata.clone(),
            refunds: Vec::new(),
        }
    }

    /// A manual capture of `amount` (what the intent's capture took).
    pub fn capture(&mut self, amount: i64) {
        self.captured = true;
        self.amount_captured = amount;
    }

    /// Whether every captured unit was given back.
    pub fn refunded(&self) -> bool {
        self.captured && self.amount_captured > 0 && self.amount_refunded >= self.amount_captured
    }

    /// What can still be refunded.
    pub fn refundable(&self) -> i64 {
        (self.amount_captured - self.amount_refunded).max(0)
    }

    /// Whether its money came from the customer's cash balance (a refund goes back there).
    pub fn from_cash_balance(&self) -> bool {
        matches!(self.method, Some(PaymentMethodKind::CustomerBalance))
    }

    /// Give back `amount` (all that is left by default): refused, changing nothing, when the charge
    /// did not capture money, when nothing is left (`charge_already_refunded`), or when `amount`
    /// is more than what is left (on `amount`, in Stripe's words). Returns the refund, already
    /// counted in `amount_refunded` and kept in `refunds`.
    pub fn refund(
        &mut self,
        amount: Option<i64>,
        reason: Option<String>,
        metadata: Metadata,
        now: Timestamp,
    ) -> Result<Refund, Error> {
        if self.status != ChargeStatus::Succeeded {
            return Err(Error::Invalid(Invalid::new(
                ErrorCode::ParameterInvalid,
                "charge",
                format!("Charge {} has failed and cannot be refunded.", self.id),
            )));
        }
        if !self.captured {
            return Err(Error::Invalid(Invalid::new(
                ErrorCode::ParameterInvalid,
                "charge",
                format!(
                    "Charge {} has not been captured; cancel its PaymentIntent to release the authorization instead.",
                    self.id
                ),
            )));
        }
        let left = self.refundable();
        if left == 0 {
            return Err(Error::Invalid(Invalid {
                code: ErrorCode::ChargeAlreadyRefunded,
                param: None,
                message: format!("Charge {} has already been refunded.", self.id),
            }));
        }
        let amount = amount.unwrap_or(left);
        if amount < 1 {
            return Err(Error::Invalid(Invalid::param("amount", "Invalid positive integer")));
        }
        if amount > left {
            return Err(Error::Invalid(Invalid::new(
                ErrorCode::AmountTooLarge,
                "amount",
                format!(
                    "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                    shown(self.currency, amount),
                    shown(self.currency, left)
                ),
            )));
        }
        let refund = Refund {
            id: ids::new_sortable_id(REFUND_PREFIX),
            created: now,
            amount,
            charge: self.id.clone(),
            payment_intent: self.payment_intent.clone(),
            currency: self.currency,
            reason,
            metadata,
            to_cash_balance: self.from_cash_balance(),
        };
        self.amount_refunded += amount;
        self.refunds.push(refund.clone());
        Ok(refund)
    }
}

/// An amount as Stripe's refund errors write it: `$12.50` for dollars, else `12.50 EUR`.
fn shown(currency: Currency, amount: i64) -> String {
    let formatted = currency.format(amount);
    match formatted.strip_suffix(" USD") {
        Some(n) => format!("${n}"),
        None => formatted,
    }
}

/// Why a refund was made, as Stripe names it.
pub const REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub created: Timestamp,
    pub amount: i64,
    pub charge: String,
    pub payment_intent: Option<String>,
    pub currency: Currency,
    pub reason: Option<String>,
    pub metadata: Metadata,
    /// Whether it went back to the customer's cash balance (a `customer_balance` payment) rather
    /// than to the card or wallet.
    #[serde(default)]
    pub to_cash_balance: bool,
}

impl Refund {
    pub fn status(&self) -> &'static str {
        "succeeded"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::PaymentIntentStatus;

    fn charge(amount: i64) -> Charge {
        let usd = Currency::parse("usd").unwrap();
        let mut pi = PaymentIntent::new(amount, usd, vec!["card".into()], 1);
        pi.status = PaymentIntentStatus::Succeeded;
        Charge::for_attempt(&pi, None, None, 1)
    }

    #[test]
    fn partial_refunds_add_up_to_the_capture_and_no_further() {
        let mut c = charge(1000);
        assert!(c.id.starts_with("ch_") && c.captured && c.amount_captured == 1000);
        let r = c.refund(Some(300), None, Metadata::new(), 2).unwrap();
        assert!(r.id.starts_with("re_"));
        c.refund(Some(600), Some("duplicate".into()), Metadata::new(), 3).unwrap();
        assert_eq!((c.amount_refunded, c.refunded()), (900, false));
        let before = c.clone();
        let e = c.refund(Some(101), None, Metadata::new(), 4).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Refund amount ($1.01) is greater than unrefunded amount on charge ($1.00)"
        );
        assert_eq!(c, before);
        c.refund(None, None, Metadata::new(), 5).unwrap();
        assert!(c.refunded());
        let Error::Invalid(e) = c.refund(Some(1), None, Metadata::new(), 6).unwrap_err() else { panic!() };
        assert_eq!(e.code, ErrorCode::ChargeAlreadyRefunded);
        assert_eq!(c.refunds.len(), 3);
    }

    #[test]
    fn failed_and_uncaptured_charges_refund_nothing() {
        let usd = Currency::parse("usd").unwrap();
        let mut pi = PaymentIntent::new(500, usd, vec!["card".into()], 1);
        pi.status = PaymentIntentStatus::RequiresCapture;
        let mut held = Charge::for_attempt(&pi, None, None, 1);
        assert!(!held.captured && held.amount_captured == 0);
        assert!(held.refund(None, None, Metadata::new(), 2).is_err());
        held.capture(400);
        assert_eq!(held.refund(None, None, Metadata::new(), 2).unwrap().amount, 400);
        let failure = PaymentError {
            code: "card_declined".into(),
            decline_code: Some("generic_decline".into()),
            message: "Your card was declined.".into(),
            payment_method: None,
        };
        let mut failed = Charge::for_attempt(&pi, None, Some(failure), 1);
        assert_eq!(failed.status, ChargeStatus::Failed);
        assert!(failed.refund(None, None, Metadata::new(), 2).is_err());
    }
}
