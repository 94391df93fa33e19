//! Step 10b — options of the payment itself: `customer_creation` and
//! `payment_intent_data`.
//!
//! `customer_creation` (`always` / `if_required`) is for payment mode only; kassa's default is
//! `always` (Stripe's is `if_required`: see `docs/stripe-compatibility.md`). With `if_required` a
//! session without `customer` completes as a guest: no customer is created.
//!
//! `payment_intent_data` is for payment mode only; its fields are copied to the payment intent.
//! `capture_method=manual` authorizes without capturing: the intent waits in `requires_capture`
//! until `POST /payment_intents/{id}/capture`, and the session completes `unpaid`, as Stripe's
//! does. A cash balance cannot be held, so manual capture refuses `customer_balance`.

use serde::{Deserialize, Serialize};

use super::{Mode, PaymentMethodType};
use crate::catalog;
use crate::error::Invalid;
use crate::metadata::{self, Metadata};
use crate::params::PaymentIntentDataParam;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerCreation {
    Always,
    IfRequired,
}

impl CustomerCreation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::IfRequired => "if_required",
        }
    }
}

/// What `payment_intent_data` puts on the payment intent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentIntentData {
    pub description: Option<String>,
    pub metadata: Metadata,
    pub receipt_email: Option<String>,
    pub statement_descriptor: Option<String>,
    pub statement_descriptor_suffix: Option<String>,
    pub setup_future_usage: Option<String>,
    /// `automatic` (kept as `None`), `automatic_async` or `manual`.
    pub capture_method: Option<String>,
}

impl PaymentIntentData {
    pub fn manual_capture(&self) -> bool {
        self.capture_method.as_deref() == Some("manual")
    }
}

pub(super) fn customer_creation(
    given: Option<&str>,
    mode: Mode,
) -> Result<Option<CustomerCreation>, Invalid> {
    let Some(value) = given else { return Ok(None) };
    if mode != Mode::Payment {
        return Err(Invalid::param(
            "customer_creation",
            "`customer_creation` can only be used in `payment` mode.",
        ));
    }
    match value {
        "always" => Ok(Some(CustomerCreation::Always)),
        "if_required" => Ok(Some(CustomerCreation::IfRequired)),
        _ => Err(Invalid::param(
            "customer_creation",
            "`customer_creation` must be one of always or if_required.",
        )),
    }
}

/// A value of `field` that must be one of `allowed`.
fn one_of(field: &str, value: Option<String>, allowed: &[&str]) -> Result<Option<String>, Invalid> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(Invalid::param(
            format!("payment_intent_data[{field}]"),
            format!("`payment_intent_data[{field}]` must be one of {}.", allowed.join(", ")),
        )),
        other => Ok(other),
    }
}

/// A statement descriptor: at most 22 characters, with at least one letter, none of `<>\'"*`.
fn descriptor(field: &str, value: Option<String>) -> Result<Option<String>, Invalid> {
    let param = format!("payment_intent_data[{field}]");
    let Some(v) = catalog::text(&param, value, 22)?.filter(|v| !v.is_empty()) else { return Ok(None) };
    if !v.chars().any(char::is_alphabetic) || v.contains(['<', '>', '\\', '\'', '"', '*']) {
        return Err(Invalid::param(
            param,
            "A statement descriptor needs at least one letter and may not contain <, >, \\, ', \" or *.",
        ));
    }
    Ok(Some(v))
}

pub(super) fn payment_intent_data(
    given: Option<PaymentIntentDataParam>,
    mode: Mode,
    methods: &[PaymentMethodType],
) -> Result<Option<PaymentIntentData>, Invalid> {
    let Some(d) = given else { return Ok(None) };
    if mode != Mode::Payment {
        return Err(Invalid::param(
            "payment_intent_data",
            "`payment_intent_data` can only be used in `payment` mode.",
        ));
    }
    let data = PaymentIntentData {
        description: catalog::text("payment_intent_data[description]", d.description, 1000)?
            .filter(|t| !t.is_empty()),
        metadata: metadata::create(d.metadata, "payment_intent_data[metadata]")?,
        receipt_email: catalog::email("payment_intent_data[receipt_email]", d.receipt_email)?,
        statement_descriptor: descriptor("statement_descriptor", d.statement_descriptor)?,
        statement_descriptor_suffix: descriptor(
            "statement_descriptor_suffix",
            d.statement_descriptor_suffix,
        )?,
        setup_future_usage: one_of(
            "setup_future_usage",
            d.setup_future_usage,
            &["on_session", "off_session"],
        )?,
        capture_method: one_of(
            "capture_method",
            d.capture_method,
            &["automatic", "automatic_async", "manual"],
        )?
        .filter(|c| c != "automatic"),
    };
    if data.manual_capture() && methods.contains(&PaymentMethodType::CustomerBalance) {
        return Err(Invalid::param(
            "payment_intent_data[capture_method]",
            "`capture_method=manual` cannot hold a cash balance: leave `customer_balance` out of `payment_method_types`.",
        ));
    }
    Ok(Some(data))
}
