//! What a completed checkout leaves behind: payment intents, payment methods,
//! subscriptions and invoices, in their storage form.
//!
//! These are plain records. The rules that create and move them (completion, billing, retries)
//! live with their use cases; here are only their shapes, their status vocabularies and the
//! invariants that hold whatever the use case: ids carry their type prefix, an invoice's totals
//! are the sums of its lines ([`Invoice::sum_lines`]).
//!
//! Two fields are opaque on purpose and never rendered: [`PaymentIntent::pending_challenge`]
//! (the test network's 3-D Secure state while a payment waits on the customer) and
//! [`PaymentMethod::saved_behaviour`] (how the test network will answer future charges of a saved
//! method). Their owners define what they hold; storage only keeps them.

use serde::{Deserialize, Serialize};

use crate::catalog::{DiscountTerms, Duration, Price};
use crate::ids;
use crate::metadata::Metadata;
use crate::money::Currency;
use crate::payment::CardDetails;
use crate::time::Timestamp;

/// Implements `as_str` and `parse` over an enum's snake_case names, the same strings serde uses.
macro_rules! status_names {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Payment intents

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentIntentStatus {
    RequiresPaymentMethod,
    RequiresAction,
    /// Authorized, waiting for `POST /payment_intents/{id}/capture` (`capture_method=manual`).
    RequiresCapture,
    Processing,
    Succeeded,
    Canceled,
}

status_names!(PaymentIntentStatus {
    RequiresPaymentMethod => "requires_payment_method",
    RequiresAction => "requires_action",
    RequiresCapture => "requires_capture",
    Processing => "processing",
    Succeeded => "succeeded",
    Canceled => "canceled",
});

/// Why the last attempt failed (`last_payment_error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentError {
    /// `card_declined`, `expired_card`, `incorrect_cvc`, `processing_error`, …
    pub code: String,
    /// `generic_decline`, `insufficient_funds`, …
    pub decline_code: Option<String>,
    pub message: String,
    /// The method the failed attempt used.
    pub payment_method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub created: Timestamp,
    pub amount: i64,
    pub currency: Currency,
    pub status: PaymentIntentStatus,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub payment_method_types: Vec<String>,
    pub last_payment_error: Option<PaymentError>,
    /// The checkout session it pays, if any.
    pub checkout_session: Option<String>,
    /// The invoice it pays, if any (subscription billing).
    #[serde(default)]
    pub invoice: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub canceled_at: Option<Timestamp>,
    /// Why it was canceled: `duplicate`, `fraudulent`, `requested_by_customer` or `abandoned`.
    #[serde(default)]
    pub cancellation_reason: Option<String>,
    /// The test network's 3-D Secure state while `requires_action`. Opaque here; never rendered.
    #[serde(default)]
    pub pending_challenge: Option<serde_json::Value>,
    /// What a session's `payment_intent_data` set: receipt e-mail, statement descriptors,
    /// `setup_future_usage`, `capture_method`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<crate::session::PaymentIntentData>,
    /// What a manual capture took (`amount_to_capture`); `None` means the whole amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_captured: Option<i64>,
    /// The charge of the latest attempt that reached the test network (issue 17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_charge: Option<String>,
}

impl PaymentIntent {
    /// A new intent awaiting a payment method; the caller fills in the rest.
    pub fn new(amount: i64, currency: Currency, payment_method_types: Vec<String>, now: Timestamp) -> Self {
        Self {
            id: ids::new_sortable_id(ids::prefix::PAYMENT_INTENT),
            created: now,
            amount,
            currency,
            status: PaymentIntentStatus::RequiresPaymentMethod,
            customer: None,
            payment_method: None,
            payment_method_types,
            last_payment_error: None,
            checkout_session: None,
            invoice: None,
            description: None,
            metadata: Metadata::new(),
            canceled_at: None,
            cancellation_reason: None,
            pending_challenge: None,
            options: None,
            amount_captured: None,
            latest_charge: None,
        }
    }

    /// `capture_method`: `automatic` unless `payment_intent_data` said otherwise.
    pub fn capture_method(&self) -> &str {
        self.options.as_ref().and_then(|o| o.capture_method.as_deref()).unwrap_or("automatic")
    }

    /// What was received: the captured amount of a succeeded intent, else nothing.
    pub fn amount_received(&self) -> i64 {
        if self.status == PaymentIntentStatus::Succeeded {
            self.amount_captured.unwrap_or(self.amount)
        } else {
            0
        }
    }

    /// `POST /payment_intents/{id}/capture`: an authorized intent takes `amount_to_capture` (at
    /// most the amount; all of it by default) and succeeds.
    pub fn capture(&mut self, amount_to_capture: Option<i64>) -> Result<(), crate::error::Error> {
        use crate::error::{Error, Invalid};
        if self.status != PaymentIntentStatus::RequiresCapture {
            return Err(Error::State(format!(
                "This PaymentIntent could not be captured because it has a status of {}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
                self.status.as_str()
            )));
        }
        let amount = amount_to_capture.unwrap_or(self.amount);
        if amount < 1 || amount > self.amount {
            return Err(Error::Invalid(Invalid::param(
                "amount_to_capture",
                format!("`amount_to_capture` must be between 1 and the amount capturable ({}).", self.amount),
            )));
        }
        self.amount_captured = Some(amount);
        self.status = PaymentIntentStatus::Succeeded;
        Ok(())
    }

    /// `POST /payment_intents/{id}/cancel`: only an intent that has not succeeded or been canceled
    /// can be; `reason` is one of Stripe's four.
    pub fn cancel(&mut self, reason: Option<&str>, now: Timestamp) -> Result<(), crate::error::Error> {
        use crate::error::{Error, Invalid};
        if let Some(r) = reason
            && !["duplicate", "fraudulent", "requested_by_customer", "abandoned"].contains(&r)
        {
            return Err(Error::Invalid(Invalid::param(
                "cancellation_reason",
                "`cancellation_reason` must be one of duplicate, fraudulent, requested_by_customer or abandoned.",
            )));
        }
        if matches!(self.status, PaymentIntentStatus::Succeeded | PaymentIntentStatus::Canceled) {
            return Err(Error::State(format!(
                "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_action, processing.",
                self.status.as_str()
            )));
        }
        self.status = PaymentIntentStatus::Canceled;
        self.canceled_at = Some(now);
        self.cancellation_reason = reason.map(str::to_owned);
        self.pending_challenge = None;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Setup intents

/// What a `mode=setup` checkout session creates: a payment method saved for later, attached to
/// the customer. kassa's are born `succeeded` (the test network confirms them on the page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupIntent {
    pub id: String,
    pub created: Timestamp,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub payment_method_types: Vec<String>,
    /// `off_session` (Checkout's) or `on_session`.
    pub usage: String,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub checkout_session: Option<String>,
}

impl SetupIntent {
    /// A succeeded setup intent for `payment_method`, saved for off-session use.
    pub fn succeeded(payment_method: &PaymentMethod, now: Timestamp) -> Self {
        Self {
            id: ids::new_sortable_id(ids::prefix::SETUP_INTENT),
            created: now,
            customer: payment_method.customer.clone(),
            payment_method: Some(payment_method.id.clone()),
            payment_method_types: vec![payment_method.kind.as_str().to_owned()],
            usage: "off_session".to_owned(),
            description: None,
            metadata: Metadata::new(),
            checkout_session: None,
        }
    }

    pub fn status(&self) -> &'static str {
        "succeeded"
    }
}

// ---------------------------------------------------------------------------------------------
// Payment methods

/// The type of a payment method and what kassa keeps of it: never a card number or CVC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PaymentMethodKind {
    Card(CardDetails),
    Paypal { payer_email: Option<String> },
    CustomerBalance,
}

impl PaymentMethodKind {
    /// The `type` name (`card`, `paypal`, `customer_balance`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Card(_) => "card",
            Self::Paypal { .. } => "paypal",
            Self::CustomerBalance => "customer_balance",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingDetails {
    pub email: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    pub created: Timestamp,
    pub kind: PaymentMethodKind,
    pub customer: Option<String>,
    pub billing_details: BillingDetails,
    pub metadata: Metadata,
    /// How the test network answers later charges of this saved method. Opaque here; never
    /// rendered.
    #[serde(default)]
    pub saved_behaviour: Option<serde_json::Value>,
}

impl PaymentMethod {
    pub fn new(kind: PaymentMethodKind, billing_details: BillingDetails, now: Timestamp) -> Self {
        Self {
            id: ids::new_sortable_id(ids::prefix::PAYMENT_METHOD),
            created: now,
            kind,
            customer: None,
            billing_details,
            metadata: Metadata::new(),
            saved_behaviour: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Discounts on subscriptions and invoices

/// A coupon applied to a subscription (and copied onto the invoices it discounts): what it does
/// and for how long, so billing can apply it without the coupon, which may since have been
/// deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    /// `di_…`: the discount's own id, which invoice lines name in `discount_amounts`.
    pub id: String,
    pub coupon: String,
    pub promotion_code: Option<String>,
    pub terms: DiscountTerms,
    pub duration: Duration,
    /// When the discount started to apply.
    pub start: Timestamp,
    /// When it stops applying: `None` for `forever`, and for `once` (it ends after one invoice).
    pub end: Option<Timestamp>,
    /// The coupon as it was when the discount was applied, embedded where Stripe embeds it
    /// (`subscription.discount.coupon`, `invoice.discount.coupon`). `None` in records made before
    /// it was kept: the coupon's id is shown then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_object: Option<crate::catalog::Coupon>,
}

impl Discount {
    pub fn new(
        coupon: String,
        promotion_code: Option<String>,
        terms: DiscountTerms,
        duration: Duration,
        start: Timestamp,
        end: Option<Timestamp>,
    ) -> Self {
        Self {
            id: ids::new_id(ids::prefix::DISCOUNT),
            coupon,
            promotion_code,
            terms,
            duration,
            start,
            end,
            coupon_object: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Incomplete,
    /// An `incomplete` subscription whose first invoice was not paid within 23 hours: final.
    IncompleteExpired,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    /// A trial ended without a payment method and `trial_settings[end_behavior]
    /// [missing_payment_method]=pause`: nothing is billed until `POST /subscriptions/{id}/resume`.
    Paused,
}

status_names!(SubscriptionStatus {
    Incomplete => "incomplete",
    IncompleteExpired => "incomplete_expired",
    Trialing => "trialing",
    Active => "active",
    PastDue => "past_due",
    Canceled => "canceled",
    Unpaid => "unpaid",
    Paused => "paused",
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionItem {
    pub id: String,
    /// The price as it was when the subscription was created.
    pub price: Price,
    pub quantity: i64,
    /// The tax rates every invoice applies to this item, as they were when the subscription was
    /// created: a rate deactivated later keeps applying.
    #[serde(default)]
    pub tax_rates: Vec<crate::tax::TaxRate>,
    /// `POST /subscription_items/{id}`'s `metadata`.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

impl SubscriptionItem {
    pub fn new(price: Price, quantity: i64) -> Self {
        Self {
            id: ids::new_id(ids::prefix::SUBSCRIPTION_ITEM),
            price,
            quantity,
            tax_rates: Vec::new(),
            metadata: Metadata::new(),
        }
    }
}

/// `pause_collection`: invoices are still made at each period's end, but voided at once
/// (`behavior=void`, the one kassa takes) until `resumes_at`, if given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseCollection {
    pub behavior: String,
    pub resumes_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub created: Timestamp,
    pub customer: String,
    pub currency: Currency,
    pub status: SubscriptionStatus,
    pub items: Vec<SubscriptionItem>,
    pub trial_start: Option<Timestamp>,
    pub trial_end: Option<Timestamp>,
    pub current_period_start: Timestamp,
    pub current_period_end: Timestamp,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub latest_invoice: Option<String>,
    pub default_payment_method: Option<String>,
    pub discount: Option<Discount>,
    pub metadata: Metadata,
    /// The checkout session that created it, if any.
    pub checkout_session: Option<String>,
    /// The test clock whose time it follows (its customer's), if any.
    #[serde(default)]
    pub test_clock: Option<String>,
    /// The day of the month periods end on (months and years), clamped to short months: the
    /// billing cycle anchor's day. 0 in records made before it was kept: read it from the anchor.
    #[serde(default)]
    pub anchor_day: u32,
    /// Whether `customer.subscription.trial_will_end` has been sent for the current trial.
    #[serde(default)]
    pub trial_will_end_sent: bool,
    /// The period end `invoice.upcoming` was last sent for ([`crate::renewal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upcoming_sent_for: Option<Timestamp>,
    /// The invoice being collected (the charge of its period), while there is one.
    #[serde(default)]
    pub collecting: Option<Collecting>,
    /// When the scheduler must next act on it ([`crate::renewal`]); `None` when nothing is due.
    #[serde(default)]
    pub due_at: Option<Timestamp>,
    /// The scheduler's lease while it charges (0: none).
    #[serde(default)]
    pub locked_until: Timestamp,
    /// A checkout session's `subscription_data[description]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A checkout session's `subscription_data[billing_cycle_anchor]`, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_cycle_anchor_at: Option<Timestamp>,
    /// `trial_settings[end_behavior][missing_payment_method]`; `None` reads as `create_invoice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_payment_method: Option<String>,
    /// Prorations of changes made during the current period, which the next invoice collects
    /// ([`crate::proration`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_invoice_items: Vec<InvoiceLine>,
    /// `cancel_at`: when it ends, if not at a period's end (that is `cancel_at_period_end`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_at: Option<Timestamp>,
    /// `cancellation_details`: why the customer canceled (the customer portal's reason, or the
    /// API's `cancellation_details[comment/feedback]`), kept while a cancellation is requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_details: Option<CancellationDetails>,
    /// Whether its customer paid tax when it was created (exempt, reverse charge): every
    /// invoice follows it.
    #[serde(default)]
    pub tax_liability: crate::tax::Liability,
    /// `collection_method=send_invoice`: the days each invoice is due after it is made. `None` is
    /// `charge_automatically`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_until_due: Option<i64>,
    /// `pause_collection`, while set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_collection: Option<PauseCollection>,
    /// `automatic_tax[enabled]` at checkout: every invoice takes the rate for the customer's
    /// address as it is when the invoice is made ([`Subscription::refresh_taxes`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automatic_tax: bool,
    /// The customer's `tax_exempt` as the latest invoice saw it.
    #[serde(default)]
    pub customer_tax_exempt: crate::tax::TaxExempt,
    /// A checkout's `subscription_data[default_tax_rates]` (shown; its items carry them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_tax_rates: Vec<crate::tax::TaxRate>,
}

/// [`Collecting::next_attempt_at`] of an invoice that is not charged by itself: an `incomplete`
/// subscription's first invoice, or a `send_invoice` one. `POST /invoices/{id}/pay` brings the
/// attempt forward.
pub const NO_ATTEMPT: Timestamp = i64::MAX;

/// An open invoice being charged: how many attempts failed, and when the next one is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collecting {
    pub invoice: String,
    pub failed_attempts: u32,
    pub next_attempt_at: Timestamp,
}

/// A subscription's `cancellation_details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationDetails {
    pub comment: Option<String>,
    /// One of [`crate::portal::CANCELLATION_REASONS`].
    pub feedback: Option<String>,
    /// `cancellation_requested` once a cancellation is asked for.
    pub reason: Option<String>,
}

impl CancellationDetails {
    /// `cancellation_details[comment/feedback]` as the API takes them.
    pub fn from_param(p: crate::params::CancellationDetailsParam) -> Result<Self, crate::Invalid> {
        let feedback = p.feedback.filter(|f| !f.is_empty());
        if let Some(f) = &feedback
            && !crate::portal::CANCELLATION_REASONS.contains(&f.as_str())
        {
            return Err(crate::Invalid::param(
                "cancellation_details[feedback]",
                format!(
                    "Invalid cancellation_details[feedback]: must be one of {}.",
                    crate::portal::CANCELLATION_REASONS.join(", ")
                ),
            ));
        }
        let comment = p.comment.filter(|c| !c.is_empty());
        if comment.as_ref().is_some_and(|c| c.chars().count() > 500) {
            return Err(crate::Invalid::param(
                "cancellation_details[comment]",
                "`cancellation_details[comment]` must be at most 500 characters.",
            ));
        }
        Ok(Self { comment, feedback, reason: None })
    }
}

impl Subscription {
    /// A new subscription over `items`, `incomplete` until the caller says otherwise.
    pub fn new(
        customer: String,
        currency: Currency,
        items: Vec<SubscriptionItem>,
        current_period_start: Timestamp,
        current_period_end: Timestamp,
        now: Timestamp,
    ) -> Self {
        Self {
            id: ids::new_sortable_id(ids::prefix::SUBSCRIPTION),
            created: now,
            customer,
            currency,
            status: SubscriptionStatus::Incomplete,
            items,
            trial_start: None,
            trial_end: None,
            current_period_start,
            current_period_end,
            cancel_at_period_end: false,
            canceled_at: None,
            ended_at: None,
            latest_invoice: None,
            default_payment_method: None,
            discount: None,
            metadata: Metadata::new(),
            checkout_session: None,
            test_clock: None,
            anchor_day: 0,
            trial_will_end_sent: false,
            upcoming_sent_for: None,
            collecting: None,
            due_at: None,
            locked_until: 0,
            description: None,
            billing_cycle_anchor_at: None,
            missing_payment_method: None,
            pending_invoice_items: Vec::new(),
            cancel_at: None,
            tax_liability: crate::tax::Liability::Taxed,
            days_until_due: None,
            pause_collection: None,
            automatic_tax: false,
            customer_tax_exempt: crate::tax::TaxExempt::None,
            default_tax_rates: Vec::new(),
            cancellation_details: None,
        }
    }

    /// Before an invoice is made: take the customer's tax standing as it is now. Their
    /// `tax_exempt` and tax ids decide whether they pay (`origin`: the merchant's country, for
    /// the reverse charge); with automatic tax, their address — shipping first, then billing, as
    /// Stripe Tax reads it — picks the rate among the account's active `rates` (oldest first),
    /// state level first, then country level, inclusive or not as each item's price says. A
    /// customer without any address keeps the rates of the last invoice.
    pub fn refresh_taxes(
        &mut self,
        customer: &crate::catalog::Customer,
        rates: &[crate::tax::TaxRate],
        origin: &str,
    ) {
        self.customer_tax_exempt = customer.tax_exempt;
        self.tax_liability = crate::tax::liability(
            customer.tax_exempt,
            customer.tax_ids.iter().map(|t| (t.r#type.as_str(), t.value.as_str())),
            origin,
        );
        if !self.automatic_tax {
            return;
        }
        let shipping =
            customer.shipping.as_ref().and_then(|s| crate::session::taxes::Location::of(&s.address));
        let Some(loc) =
            shipping.or_else(|| customer.address.as_ref().and_then(crate::session::taxes::Location::of))
        else {
            return;
        };
        let rate = crate::session::taxes::automatic_rate_for(&loc, rates);
        for item in &mut self.items {
            item.tax_rates = match (rate, item.price.tax_behavior) {
                (Some(r), crate::shipping::TaxBehavior::Inclusive) => {
                    vec![crate::tax::TaxRate { inclusive: true, ..r.clone() }]
                }
                (Some(r), crate::shipping::TaxBehavior::Exclusive) => {
                    vec![crate::tax::TaxRate { inclusive: false, ..r.clone() }]
                }
                _ => Vec::new(),
            };
        }
    }

    /// When billing cycles are anchored: the anchor given, the end of the trial, or the start.
    pub fn billing_cycle_anchor(&self) -> Timestamp {
        self.billing_cycle_anchor_at.or(self.trial_end).unwrap_or(self.created)
    }
}

// ---------------------------------------------------------------------------------------------
// Invoices

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Open,
    Paid,
    Uncollectible,
    Void,
}

status_names!(InvoiceStatus {
    Draft => "draft",
    Open => "open",
    Paid => "paid",
    Uncollectible => "uncollectible",
    Void => "void",
});

/// Why an invoice was made (Stripe's `billing_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingReason {
    SubscriptionCreate,
    SubscriptionCycle,
    SubscriptionUpdate,
    Subscription,
    Manual,
}

status_names!(BillingReason {
    SubscriptionCreate => "subscription_create",
    SubscriptionCycle => "subscription_cycle",
    SubscriptionUpdate => "subscription_update",
    Subscription => "subscription",
    Manual => "manual",
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub id: String,
    pub price: Price,
    pub quantity: i64,
    /// Before discount: unit amount × quantity (0 for a recurring line during a trial).
    pub amount: i64,
    /// This line's share of the invoice's discount.
    pub discount_amount: i64,
    pub description: String,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    /// The subscription item it bills; `None` for a one-time line (an invoice item).
    #[serde(default)]
    pub subscription_item: Option<String>,
    /// The invoice item (`ii_…`) it bills, for a line collected from `POST /invoiceitems`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_item: Option<String>,
    /// A proration of a mid-period change ([`crate::proration`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub proration: bool,
    /// The rates that apply to it, and the taxes they come to ([`Invoice::sum_lines`]).
    #[serde(default)]
    pub tax_rates: Vec<crate::tax::TaxRate>,
    #[serde(default)]
    pub taxes: Vec<crate::tax::LineTax>,
}

impl InvoiceLine {
    pub fn new(
        price: Price,
        quantity: i64,
        amount: i64,
        description: String,
        period_start: Timestamp,
        period_end: Timestamp,
    ) -> Self {
        Self {
            id: ids::new_id(ids::prefix::INVOICE_LINE),
            price,
            quantity,
            amount,
            discount_amount: 0,
            description,
            period_start,
            period_end,
            subscription_item: None,
            invoice_item: None,
            proration: false,
            tax_rates: Vec::new(),
            taxes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub created: Timestamp,
    pub customer: String,
    pub subscription: Option<String>,
    pub currency: Currency,
    pub status: InvoiceStatus,
    pub billing_reason: BillingReason,
    pub lines: Vec<InvoiceLine>,
    /// The discount applied to this invoice, as it was when applied.
    #[serde(default)]
    pub discount: Option<Discount>,
    /// Σ line amounts.
    pub subtotal: i64,
    /// Σ line discount amounts.
    pub total_discount: i64,
    /// `subtotal - total_discount` + exclusive tax.
    pub total: i64,
    /// Σ every line's taxes, inclusive and exclusive.
    #[serde(default)]
    pub tax: i64,
    /// Whether the customer pays the taxes (exempt, reverse charge).
    #[serde(default)]
    pub tax_liability: crate::tax::Liability,
    /// Whether automatic tax computed its taxes (`automatic_tax.enabled`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automatic_tax: bool,
    /// The customer's `tax_exempt` when it was made (`customer_tax_exempt`).
    #[serde(default)]
    pub customer_tax_exempt: crate::tax::TaxExempt,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub payment_intent: Option<String>,
    pub paid_at: Option<Timestamp>,
    pub attempt_count: u32,
    pub next_payment_attempt: Option<Timestamp>,
    pub metadata: Metadata,
    /// A checkout session's `invoice_creation[invoice_data]`: `description`, `footer`,
    /// `custom_fields` (`(name, value)` pairs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<(String, String)>,
    /// When `POST /invoices/{id}/void` voided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_at: Option<Timestamp>,
    /// When `POST /invoices/{id}/mark_uncollectible` (or dunning) gave up on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marked_uncollectible_at: Option<Timestamp>,
    /// `PREFIX-0001`: the account's next invoice number, taken when it was finalized (issue 17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The capability (≥ 128 random bits) in its hosted page's URL; never rendered alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_token: Option<String>,
    /// Its hosted page (`hosted_invoice_url`), under the public URL it was finalized with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_invoice_url: Option<String>,
    /// When it left its draft, if it was ever one (else it was final when made: `created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized_at: Option<Timestamp>,
    /// `collection_method=send_invoice`: when it is due. `None` is `charge_automatically`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<Timestamp>,
}

/// `POST /invoiceitems`: an amount (or a one-time price × quantity) that the customer's next
/// invoice collects — the next invoice of `subscription` if given, else of any of the customer's
/// subscriptions. Pending (`invoice` unset) until then: only a pending item can be changed or
/// deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceItem {
    pub id: String,
    pub created: Timestamp,
    pub customer: String,
    pub currency: Currency,
    /// `unit_amount × quantity`; negative for a credit.
    pub amount: i64,
    pub unit_amount: i64,
    pub quantity: i64,
    /// The price it bills: the one given, or one made for the amount (not in the catalog).
    pub price: Price,
    pub description: Option<String>,
    pub subscription: Option<String>,
    /// The invoice that collected it; `None` while pending.
    pub invoice: Option<String>,
    pub metadata: Metadata,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    /// Whether it was deleted while pending (kept only for the answer; never stored so).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl InvoiceItem {
    /// `pending` or `invoiced`: the store's status column.
    pub fn status(&self) -> &'static str {
        if self.invoice.is_some() { "invoiced" } else { "pending" }
    }

    /// The invoice line that collects it.
    pub fn line(&self) -> InvoiceLine {
        let description = self
            .description
            .clone()
            .unwrap_or_else(|| self.price.nickname.clone().unwrap_or_else(|| "Invoice item".to_owned()));
        let mut line = InvoiceLine::new(
            self.price.clone(),
            self.quantity,
            self.amount,
            description,
            self.period_start,
            self.period_end,
        );
        line.invoice_item = Some(self.id.clone());
        line
    }
}

/// An invoice's line amounts do not fit kassa's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the invoice's amounts overflow")]
pub struct Overflow;

impl Invoice {
    /// A new draft invoice over `lines`, its totals summed from them (nothing paid yet).
    pub fn new(
        customer: String,
        currency: Currency,
        billing_reason: BillingReason,
        lines: Vec<InvoiceLine>,
        period_start: Timestamp,
        period_end: Timestamp,
        now: Timestamp,
    ) -> Result<Self, Overflow> {
        let mut invoice = Self {
            id: ids::new_sortable_id(ids::prefix::INVOICE),
            created: now,
            customer,
            subscription: None,
            currency,
            status: InvoiceStatus::Draft,
            billing_reason,
            lines,
            discount: None,
            subtotal: 0,
            total_discount: 0,
            total: 0,
            tax: 0,
            tax_liability: crate::tax::Liability::Taxed,
            automatic_tax: false,
            customer_tax_exempt: crate::tax::TaxExempt::None,
            amount_due: 0,
            amount_paid: 0,
            amount_remaining: 0,
            period_start,
            period_end,
            payment_intent: None,
            paid_at: None,
            attempt_count: 0,
            next_payment_attempt: None,
            metadata: Metadata::new(),
            description: None,
            footer: None,
            custom_fields: Vec::new(),
            voided_at: None,
            marked_uncollectible_at: None,
            number: None,
            hosted_token: None,
            hosted_invoice_url: None,
            finalized_at: None,
            due_date: None,
        };
        invoice.sum_lines()?;
        Ok(invoice)
    }

    /// `POST /invoices/{id}/void`: an open (or uncollectible) invoice is no longer owed; nothing
    /// more is collected. Stripe's states: a paid or void invoice cannot be voided.
    pub fn void(&mut self, at: Timestamp) -> Result<(), crate::error::Error> {
        if !matches!(self.status, InvoiceStatus::Open | InvoiceStatus::Uncollectible) {
            return Err(crate::error::Error::State(format!(
                "You can only pass in open or uncollectible invoices. This invoice is {}.",
                self.status.as_str()
            )));
        }
        self.status = InvoiceStatus::Void;
        self.voided_at = Some(at);
        self.next_payment_attempt = None;
        Ok(())
    }

    /// Give a final invoice its `number` (the account's `sequence`-th, after `prefix`) and its
    /// hosted page under `public_url`, once.
    pub fn assign_number(&mut self, prefix: &str, sequence: i64, public_url: &str) {
        if self.number.is_some() {
            return;
        }
        self.number = Some(format!("{prefix}-{sequence:04}"));
        let token = ids::random_base62(32);
        self.hosted_invoice_url = Some(format!("{public_url}/i/{}/{token}", self.id));
        self.hosted_token = Some(token);
    }

    /// `POST /invoices/{id}/finalize`: a draft becomes open (owed).
    pub fn finalize(&mut self, at: Timestamp) -> Result<(), crate::error::Error> {
        if self.status != InvoiceStatus::Draft {
            return Err(crate::error::Error::State(
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.".to_owned(),
            ));
        }
        self.status = if self.amount_due == 0 { InvoiceStatus::Paid } else { InvoiceStatus::Open };
        if self.status == InvoiceStatus::Paid {
            self.paid_at = Some(at);
        }
        self.finalized_at = Some(at);
        Ok(())
    }

    /// `POST /invoices/{id}/mark_uncollectible`: an open invoice is given up on; nothing more is
    /// collected, and it can still be voided.
    pub fn mark_uncollectible(&mut self, at: Timestamp) -> Result<(), crate::error::Error> {
        if self.status != InvoiceStatus::Open {
            return Err(crate::error::Error::State(format!(
                "You can only pass in open invoices. This invoice is {}.",
                self.status.as_str()
            )));
        }
        self.status = InvoiceStatus::Uncollectible;
        self.marked_uncollectible_at = Some(at);
        self.next_payment_attempt = None;
        Ok(())
    }

    /// Set `subtotal`, `total_discount`, `total` and `amount_due` from the lines, and
    /// Set each line's taxes (on its amount after its discount, [`crate::tax::line_taxes`]),
    /// `subtotal`, `total_discount`, `tax`, `total` and `amount_due` from the lines, and
    /// `amount_remaining` from what is due and what was paid.
    pub fn sum_lines(&mut self) -> Result<(), Overflow> {
        let mut subtotal: i64 = 0;
        let mut discount: i64 = 0;
        let mut tax: i64 = 0;
        let mut exclusive: i64 = 0;
        for line in &mut self.lines {
            subtotal = subtotal.checked_add(line.amount).ok_or(Overflow)?;
            discount = discount.checked_add(line.discount_amount).ok_or(Overflow)?;
            let rates: Vec<(&str, crate::tax::TaxPercent, bool)> =
                line.tax_rates.iter().map(|r| (r.id.as_str(), r.percentage, r.inclusive)).collect();
            line.taxes =
                crate::tax::line_taxes(line.amount - line.discount_amount, &rates, self.tax_liability);
            for t in &line.taxes {
                tax = tax.checked_add(t.amount).ok_or(Overflow)?;
                if !t.inclusive {
                    exclusive = exclusive.checked_add(t.amount).ok_or(Overflow)?;
                }
            }
        }
        let total = subtotal.checked_sub(discount).and_then(|t| t.checked_add(exclusive)).ok_or(Overflow)?;
        self.subtotal = subtotal;
        self.total_discount = discount;
        self.tax = tax;
        self.total = total;
        self.amount_due = total.max(0);
        self.amount_remaining = self.amount_due.checked_sub(self.amount_paid).ok_or(Overflow)?.max(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{CouponValue, Interval, Recurring};
    use crate::money::Percent;

    const NOW: Timestamp = 1_700_000_000;

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    fn price(recurring: bool) -> Price {
        Price {
            id: "price_1".into(),
            created: NOW,
            product: "prod_1".into(),
            currency: usd(),
            unit_amount: 1500,
            recurring: recurring.then_some(Recurring { interval: Interval::Month, interval_count: 1 }),
            active: true,
            nickname: None,
            lookup_key: None,
            metadata: Metadata::new(),
            tax_behavior: Default::default(),
            inline: false,
        }
    }

    fn round_trip<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
        v: &T,
    ) -> serde_json::Value {
        let json = serde_json::to_value(v).unwrap();
        let back: T = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(&back, v);
        json
    }

    #[test]
    fn payment_intents_round_trip() {
        let mut pi = PaymentIntent::new(4200, usd(), vec!["card".into()], NOW);
        assert!(pi.id.starts_with("pi_"));
        assert_eq!(pi.status, PaymentIntentStatus::RequiresPaymentMethod);
        round_trip(&pi);
        pi.status = PaymentIntentStatus::RequiresAction;
        pi.customer = Some("cus_1".into());
        pi.last_payment_error = Some(PaymentError {
            code: "card_declined".into(),
            decline_code: Some("insufficient_funds".into()),
            message: "Your card has insufficient funds.".into(),
            payment_method: Some("pm_1".into()),
        });
        pi.pending_challenge = Some(serde_json::json!({"then": "insufficient_funds", "nonce": 7}));
        pi.metadata.insert("order".into(), "42".into());
        let json = round_trip(&pi);
        assert_eq!(json["status"], "requires_action");
        assert_eq!(json["currency"], "usd");
    }

    #[test]
    fn documents_without_later_fields_still_decode() {
        let pi = PaymentIntent::new(100, usd(), vec!["card".into()], NOW);
        let mut json = serde_json::to_value(&pi).unwrap();
        let obj = json.as_object_mut().unwrap();
        obj.remove("pending_challenge");
        obj.remove("invoice");
        let back: PaymentIntent = serde_json::from_value(json).unwrap();
        assert_eq!(back, pi);
    }

    #[test]
    fn payment_methods_round_trip_every_kind() {
        let card = CardDetails {
            brand: "visa".into(),
            last4: "4242".into(),
            exp_month: 12,
            exp_year: 2034,
            fingerprint: "fp_abc".into(),
        };
        let details = BillingDetails { email: Some("a@b.test".into()), name: Some("Ann".into()) };
        let mut pm = PaymentMethod::new(PaymentMethodKind::Card(card), details.clone(), NOW);
        assert!(pm.id.starts_with("pm_"));
        pm.saved_behaviour = Some(serde_json::json!({"decline": "insufficient_funds"}));
        let json = round_trip(&pm);
        assert_eq!(json["kind"]["type"], "card");
        assert_eq!(json["kind"]["last4"], "4242");
        assert_eq!(pm.kind.as_str(), "card");

        let paypal = PaymentMethod::new(
            PaymentMethodKind::Paypal { payer_email: Some("p@b.test".into()) },
            details.clone(),
            NOW,
        );
        assert_eq!(
            round_trip(&paypal)["kind"],
            serde_json::json!({"type": "paypal", "payer_email": "p@b.test"})
        );
        assert_eq!(paypal.kind.as_str(), "paypal");
        let balance = PaymentMethod::new(PaymentMethodKind::CustomerBalance, BillingDetails::default(), NOW);
        assert_eq!(round_trip(&balance)["kind"], serde_json::json!({"type": "customer_balance"}));
        assert_eq!(balance.kind.as_str(), "customer_balance");
    }

    #[test]
    fn subscriptions_round_trip() {
        let items = vec![SubscriptionItem::new(price(true), 2)];
        assert!(items[0].id.starts_with("si_"));
        let mut sub = Subscription::new("cus_1".into(), usd(), items, NOW, NOW + 30 * 86_400, NOW);
        assert!(sub.id.starts_with("sub_"));
        assert_eq!(sub.status, SubscriptionStatus::Incomplete);
        assert_eq!(sub.billing_cycle_anchor(), NOW);
        sub.status = SubscriptionStatus::Trialing;
        sub.trial_start = Some(NOW);
        sub.trial_end = Some(NOW + 14 * 86_400);
        assert_eq!(sub.billing_cycle_anchor(), NOW + 14 * 86_400);
        let terms = DiscountTerms {
            value: CouponValue::Percent { percent: Percent::parse("25").unwrap() },
            applies_to: None,
        };
        let discount = Discount::new(
            "SAVE25".into(),
            Some("promo_1".into()),
            terms,
            Duration::Repeating { months: 3 },
            NOW,
            Some(NOW + 90 * 86_400),
        );
        assert!(discount.id.starts_with("di_"));
        sub.discount = Some(discount);
        let json = round_trip(&sub);
        assert_eq!(json["status"], "trialing");
        assert_eq!(json["discount"]["duration"], serde_json::json!({"type": "repeating", "months": 3}));
    }

    #[test]
    fn invoices_sum_their_lines_and_round_trip() {
        let mut a = InvoiceLine::new(price(true), 2, 3000, "Plan".into(), NOW, NOW + 100);
        a.discount_amount = 750;
        a.subscription_item = Some("si_1".into());
        let b = InvoiceLine::new(price(false), 1, 1500, "Setup".into(), NOW, NOW);
        assert!(a.id.starts_with("il_"));
        let mut inv = Invoice::new(
            "cus_1".into(),
            usd(),
            BillingReason::SubscriptionCreate,
            vec![a, b],
            NOW,
            NOW + 100,
            NOW,
        )
        .unwrap();
        assert!(inv.id.starts_with("in_"));
        assert_eq!(inv.status, InvoiceStatus::Draft);
        assert_eq!((inv.subtotal, inv.total_discount, inv.total), (4500, 750, 3750));
        assert_eq!((inv.amount_due, inv.amount_paid, inv.amount_remaining), (3750, 0, 3750));
        inv.amount_paid = 3750;
        inv.sum_lines().unwrap();
        assert_eq!(inv.amount_remaining, 0);
        inv.status = InvoiceStatus::Paid;
        inv.paid_at = Some(NOW);
        let json = round_trip(&inv);
        assert_eq!(json["billing_reason"], "subscription_create");
        assert_eq!(json["status"], "paid");

        let mut huge = InvoiceLine::new(price(false), 1, i64::MAX, "x".into(), NOW, NOW);
        huge.discount_amount = 0;
        let twice = vec![huge.clone(), huge];
        assert_eq!(
            Invoice::new("cus_1".into(), usd(), BillingReason::Manual, twice, NOW, NOW, NOW).unwrap_err(),
            Overflow
        );
    }

    #[test]
    fn status_names_match_serde() {
        fn check<T: Serialize + Copy>(all: &[T], name: impl Fn(T) -> &'static str) {
            for &s in all {
                assert_eq!(serde_json::to_value(s).unwrap(), name(s));
            }
        }
        check(PaymentIntentStatus::ALL, PaymentIntentStatus::as_str);
        check(SubscriptionStatus::ALL, SubscriptionStatus::as_str);
        check(InvoiceStatus::ALL, InvoiceStatus::as_str);
        check(BillingReason::ALL, BillingReason::as_str);
        for s in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(InvoiceStatus::parse("paid"), Some(InvoiceStatus::Paid));
        assert_eq!(InvoiceStatus::parse("PAID"), None);
    }
}
