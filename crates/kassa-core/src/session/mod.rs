//! The checkout session: creation rules, totals, and the state machine
//! `open → complete | expired`.
//!
//! Creation runs in two passes so that the store is read once: [`references`] lists the objects a
//! request names (prices, customer, coupon, promotion code) after cheap shape checks, the caller
//! loads them, and [`Session::create`] applies every rule against them. Each broken rule is an
//! [`Invalid`] naming the field in bracket form (`line_items[3][adjustable_quantity][maximum]`).
//!
//! [`Session::create`] is a short sequence of steps, one function per group of rules, each in its
//! own submodule with the tests of its rules beside it. The first broken rule is the answer, so
//! the order of the steps — and of the checks inside each — is part of the contract: it decides
//! which error a request that breaks several rules gets. In order:
//!
//! 1. **shape** ([`references`]): `line_items` given, 1 to [`MAX_PAYMENT_LINES`] lines, each
//!    naming a price or giving `price_data`, not both (`lines::price_ids`); at most one discount, `coupon` xor `promotion_code`
//!    (`discounts::discount_ids`). Checked before anything is read, so it also bounds the reads.
//! 2. **lines** (`lines::line_items`), line by line: the price exists and is active (or
//!    `price_data` makes an inline one, [`Inline`], written with the session), `quantity`
//!    1–999999, then `adjustable_quantity` (`enabled` given, bounds, quantity within them), then
//!    the line's `metadata`.
//! 3. **mode and limits** (`mode::mode_and_limits`): `mode` given or inferred (`setup`: no lines,
//!    see `setup`), payment mode takes
//!    no recurring price and subscription mode needs one, at most 20 recurring and 20 one-time
//!    lines in subscription mode, one shared `interval` and `interval_count`.
//! 4. **currency** (`currency::session_currency`): the given one matches every price, or the
//!    prices share one.
//! 5. **customer** (`customer::customer`): `customer` and `customer_email` exclusive, the customer
//!    exists, the e-mail is plausible.
//! 6. **payment method types** (`payment_methods::payment_method_types`): non-empty, known, kept
//!    once each (an error names the index a type was first given at); PayPal's currencies;
//!    `customer_balance` in payment mode and in its currencies.
//! 7. **subscription data** (`subscription::subscription_data`): only in subscription mode,
//!    `trial_period_days` 1–730 or `trial_end` (48 hours to 730 days ahead), `billing_cycle_anchor`,
//!    `trial_settings`, `description`, its metadata.
//! 8. **URLs** (`urls::urls`): `success_url`, then `cancel_url`, each by [`check_url`].
//! 9. **expiry** (`expiry::expires_at`): 30 minutes (less [`EXPIRY_GRACE`]) to 24 hours ahead,
//!    default 24 hours.
//! 10. **extras** (`extras::extras`): `client_reference_id` (at most 200 characters), `metadata`;
//!     then the payment's options (`options`): `customer_creation`, `payment_intent_data`.
//!     Then **collection** ([`collection`]): what the hosted page collects — addresses, shipping
//!     options, phone, tax ids, consent, custom fields and texts, `submit_type`, `locale`,
//!     `customer_update` — each by Stripe's rules. Then **taxes** ([`taxes`]): each line's fixed
//!     or dynamic tax rates and `automatic_tax`.
//! 11. **amounts** ([`Session::recompute`]): the totals without a discount, within range.
//! 12. **discount** (`discounts::discount`): exclusive with `allow_promotion_codes`, the coupon or
//!     promotion code exists and is usable now for this currency, customer and subtotal; then the
//!     amounts again, with the discount.
//!
//! Amounts are what is due now. Every line carries `amount_subtotal` (unit × quantity),
//! `amount_discount` (its share of the discount) and `amount_total`; the session's amounts are
//! their sums. In subscription mode with a trial, recurring lines are due at the end of the trial,
//! so they count 0 today (their unit price and quantity still show what will be billed); one-time
//! lines are due today.
//!
//! After creation the hosted page changes quantities and promotion codes (`page`), and the state
//! machine (`state`) moves an open session to complete or expired, never anywhere else.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Coupon, Customer, DiscountTerms, Price, Product, PromotionCode};
use crate::error::Invalid;
use crate::ids;
use crate::metadata::Metadata;
use crate::money::Currency;
use crate::params::SessionCreate;
use crate::time::{DAY, MINUTE, Timestamp};

mod amounts;
pub mod collection;
mod currency;
mod customer;
mod discounts;
mod expiry;
mod extras;
mod invoice;
mod lines;
mod mode;
mod options;
mod page;
mod payment_methods;
mod recovery;
mod setup;
mod state;
mod subscription;
pub mod taxes;
mod urls;

#[cfg(test)]
mod fixtures;

pub use invoice::InvoiceCreation;
pub use options::{CustomerCreation, PaymentIntentData};
pub use page::CODE_NOT_VALID;
pub use recovery::{RECOVERY_LIFETIME, Recovery};
pub use setup::SetupIntentData;
pub use subscription::SubscriptionExtras;
pub use urls::check_url;

pub const MAX_PAYMENT_LINES: usize = 100;
pub const MAX_SUBSCRIPTION_RECURRING_LINES: usize = 20;
pub const MAX_SUBSCRIPTION_ONE_TIME_LINES: usize = 20;
pub const DEFAULT_MAX_QUANTITY: i64 = 99;
pub const MAX_ADJUSTABLE_QUANTITY: i64 = 999_999;
pub const MIN_EXPIRY: i64 = 30 * MINUTE;
pub const MAX_EXPIRY: i64 = DAY;
/// Slack on the 30-minute minimum, so that a client asking for exactly "now + 30 minutes" is not
/// refused because a second ticked over while the request was on its way.
pub const EXPIRY_GRACE: i64 = 10;
pub const MAX_TRIAL_DAYS: i64 = 730;
pub const MAX_URL_LEN: usize = 5000;

/// PayPal's presentment currencies.
pub const PAYPAL_CURRENCIES: &[&str] =
    &["aud", "cad", "chf", "czk", "dkk", "eur", "gbp", "hkd", "nok", "nzd", "pln", "sek", "sgd", "usd"];
/// Currencies a customer cash balance can be funded in.
pub const CUSTOMER_BALANCE_CURRENCIES: &[&str] = &["eur", "gbp", "jpy", "mxn", "usd"];

/// The default is a new session's, which its stored document leaves out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Payment,
    Subscription,
    /// Collect a card without charging.
    Setup,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Subscription => "subscription",
            Self::Setup => "setup",
        }
    }
}

/// The default is a new session's, which its stored document leaves out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Open,
    Complete,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Complete => "complete",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "complete" => Some(Self::Complete),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// The default is a new session's, which its stored document leaves out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    #[default]
    Unpaid,
    Paid,
    NoPaymentRequired,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unpaid => "unpaid",
            Self::Paid => "paid",
            Self::NoPaymentRequired => "no_payment_required",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodType {
    Card,
    Paypal,
    CustomerBalance,
}

fn card_only() -> Vec<PaymentMethodType> {
    vec![PaymentMethodType::Card]
}

fn is_card_only(types: &[PaymentMethodType]) -> bool {
    types == [PaymentMethodType::Card]
}

impl PaymentMethodType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "card" => Some(Self::Card),
            "paypal" => Some(Self::Paypal),
            "customer_balance" => Some(Self::CustomerBalance),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Paypal => "paypal",
            Self::CustomerBalance => "customer_balance",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustableQuantity {
    pub enabled: bool,
    pub minimum: i64,
    pub maximum: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub id: String,
    /// The price as it was when the session was created.
    pub price: Price,
    /// The product's name: the line's description.
    pub description: String,
    pub quantity: i64,
    pub adjustable_quantity: Option<AdjustableQuantity>,
    pub amount_subtotal: i64,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub amount_discount: i64,
    pub amount_total: i64,
    /// `line_items[][tax_rates]`, as they were at creation ([`taxes`]).
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub tax_rates: Vec<crate::tax::TaxRate>,
    /// `line_items[][dynamic_tax_rates]`, as they were at creation.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub dynamic_tax_rates: Vec<crate::tax::TaxRate>,
    /// The line's taxes, computed with the amounts, and the rate of each (same order).
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub taxes: Vec<crate::tax::LineTax>,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub applied_rates: Vec<crate::tax::TaxRate>,
    /// `line_items[][metadata]`.
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

impl Session {
    /// Whether the subscription starts with a trial (`trial_period_days` or `trial_end`).
    pub fn has_trial(&self) -> bool {
        self.mode == Mode::Subscription
            && (self.trial_period_days.is_some() || self.subscription_extras.trial_end.is_some())
    }

    /// When the trial ends, for a subscription starting at `start`.
    pub fn trial_end_from(&self, start: Timestamp) -> Option<Timestamp> {
        self.subscription_extras
            .trial_end
            .or_else(|| self.trial_period_days.map(|d| start + DAY * i64::from(d)))
    }
}

impl LineItem {
    /// The parameter a rule about line `i`'s price names: `line_items[i][price]`, or for an
    /// inline price (`price_data`; never active, while a named price must be) its `field`.
    pub(crate) fn price_param(&self, i: usize, field: &str) -> String {
        if self.price.active {
            format!("line_items[{i}][price]")
        } else {
            format!("line_items[{i}][price_data][{field}]")
        }
    }
}

/// The objects a session's `price_data` lines create with it: written in the same transaction
/// as the session, and only if the session is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inline {
    pub products: Vec<Product>,
    pub prices: Vec<Price>,
}

impl Inline {
    pub fn is_empty(&self) -> bool {
        self.products.is_empty() && self.prices.is_empty()
    }
}

/// The discount a session carries: the coupon and, when it came from one, the promotion code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDiscount {
    pub coupon: String,
    pub promotion_code: Option<String>,
    pub terms: DiscountTerms,
    /// Whether the merchant gave it (`discounts`), so the customer cannot remove it.
    pub from_merchant: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDetails {
    pub email: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Left out of the stored document, which the row's `id` column puts back (see
    /// [`crate::store::Record::to_raw`] for sessions); documents written before still carry it.
    #[serde(default)]
    pub id: String,
    /// As `id`: the row's `created` column.
    #[serde(default)]
    pub created: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub mode: Mode,
    pub currency: Currency,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub status: Status,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub payment_status: PaymentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_details: Option<CustomerDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_url: Option<String>,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub allow_promotion_codes: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<AppliedDiscount>,
    /// Left out of the stored document when it is `["card"]`, what a session takes when
    /// `payment_method_types` is not given.
    #[serde(default = "card_only", skip_serializing_if = "is_card_only")]
    pub payment_method_types: Vec<PaymentMethodType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_period_days: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub subscription_metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_reference_id: Option<String>,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub metadata: Metadata,
    pub line_items: Vec<LineItem>,
    pub amount_subtotal: i64,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub amount_discount: i64,
    pub amount_total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice: Option<String>,
    /// The payment intent of the current payment attempt (in payment mode, `payment_intent`
    /// too). Declines and 3-D Secure challenges are recorded on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<String>,
    /// Until when a payment submission holds the session: a second submission meanwhile is
    /// refused instead of charging twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_until: Option<Timestamp>,
    /// What the buyer entered, kept while a payment waits on a 3-D Secure challenge or PayPal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_buyer: Option<CustomerDetails>,
    /// The amount the customer was asked to approve while a payment waits (3-D Secure,
    /// PayPal): exactly what is charged when they approve. While a payment waits, the session's
    /// contents do not change ([`Session::contents_frozen`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_amount: Option<i64>,
    /// What the hosted page collects and, once paid, what it collected ([`collection`]).
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub collection: collection::Collection,
    /// `customer_creation` as given (payment mode); `None` reads as kassa's default, `always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_creation: Option<CustomerCreation>,
    /// `payment_intent_data` (payment mode), for the payment intent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent_data: Option<PaymentIntentData>,
    /// `subscription_data`'s `description`, `trial_end`, `billing_cycle_anchor`, `trial_settings`.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub subscription_extras: SubscriptionExtras,
    /// Setup mode: the setup intent completion created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_intent_data: Option<SetupIntentData>,
    /// `payment_method_collection=if_required`: nothing due, no card needed.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub card_if_required: bool,
    /// `invoice_creation` (payment mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_creation: Option<InvoiceCreation>,
    /// `after_expiration[recovery]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// The expired session this one recovers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_from: Option<String>,
    /// When it expired (the sweep, or `POST …/expire`); `None` while open or complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<Timestamp>,
    /// Tax settings and results ([`taxes`]).
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub taxes: taxes::Taxes,
}

/// The ids a creation request names, for the caller to load before [`Session::create`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    pub prices: Vec<String>,
    /// Products named by `line_items[][price_data][product]`.
    pub products: Vec<String>,
    pub customer: Option<String>,
    pub coupon: Option<String>,
    pub promotion_code: Option<String>,
    /// `shipping_options[][shipping_rate]`.
    pub shipping_rates: Vec<String>,
    /// `line_items[][tax_rates]` and `line_items[][dynamic_tax_rates]`, each once.
    pub tax_rates: Vec<String>,
    /// `automatic_tax[enabled]=true`: the caller loads the account's active tax rates.
    pub automatic_tax: bool,
}

/// What the caller found for [`References`] in the merchant's account (and each price's product).
#[derive(Debug, Default)]
pub struct Resolved<'a> {
    pub prices: HashMap<&'a str, &'a Price>,
    pub products: HashMap<&'a str, &'a Product>,
    pub customer: Option<&'a Customer>,
    pub coupon: Option<&'a Coupon>,
    pub promotion_code: Option<&'a PromotionCode>,
    /// The coupon behind `promotion_code`.
    pub promotion_coupon: Option<&'a Coupon>,
    pub shipping_rates: HashMap<&'a str, &'a crate::shipping::ShippingRate>,
    /// The rates [`References::tax_rates`] names, found in this account.
    pub tax_rates: HashMap<&'a str, &'a crate::tax::TaxRate>,
    /// With automatic tax: the account's active tax rates.
    pub account_tax_rates: Vec<&'a crate::tax::TaxRate>,
    /// The merchant's country (`--tax-origin-country`), for the reverse charge.
    pub tax_origin_country: &'a str,
}

/// Cheap shape checks, then the ids to load. Refuses oversized requests before anything is read.
pub fn references(p: &SessionCreate) -> Result<References, Invalid> {
    setup::shape(p)?;
    let prices = if p.mode.as_deref() == Some("setup") {
        Vec::new()
    } else {
        lines::price_ids(p.line_items.as_deref())?
    };
    let (coupon, promotion_code) = discounts::discount_ids(p.discounts.as_deref())?;
    let shipping_rates = p
        .shipping_options
        .iter()
        .flatten()
        .filter_map(|o| o.shipping_rate.clone().filter(|r| !r.is_empty()))
        .take(collection::MAX_SHIPPING_OPTIONS + 1)
        .collect();
    let products = lines::product_ids(p.line_items.as_deref());
    let defaults = p.subscription_data.as_ref().and_then(|d| d.default_tax_rates.as_deref());
    let tax_rates = taxes::rate_ids(p.line_items.as_deref().unwrap_or_default(), defaults)?;
    Ok(References {
        prices,
        products,
        customer: p.customer.clone().filter(|c| !c.is_empty()),
        coupon,
        promotion_code,
        shipping_rates,
        tax_rates,
        automatic_tax: p.automatic_tax.as_ref().and_then(|a| a.enabled).is_some_and(|b| b.0),
    })
}

impl Session {
    /// Apply every creation rule to `p`, with the referenced objects in `r`: the steps of the
    /// module documentation, in that order.
    pub fn create(p: SessionCreate, r: &Resolved<'_>, now: Timestamp) -> Result<Self, Invalid> {
        Self::create_with_inline(p, r, now).map(|(s, _)| s)
    }

    /// [`Session::create`], with the prices and products its `price_data` lines create, for the
    /// caller to write with the session.
    pub fn create_with_inline(
        mut p: SessionCreate,
        r: &Resolved<'_>,
        now: Timestamp,
    ) -> Result<(Self, Inline), Invalid> {
        let refs = references(&p)?;
        let collect = p.take_collection();
        let default_tax_rates = p.subscription_data.as_mut().and_then(|d| d.default_tax_rates.take());
        let mut inline = Inline::default();
        let mut line_items =
            lines::line_items(p.line_items.as_deref().unwrap_or_default(), r, &mut inline, now)?;
        let mode = mode::mode_and_limits(p.mode.as_deref(), &line_items)?;
        let currency = if mode == Mode::Setup {
            setup::currency(
                p.currency.as_deref(),
                p.payment_method_types.as_ref().is_some_and(|m| !m.is_empty()),
            )?
        } else {
            currency::session_currency(p.currency.as_deref(), &line_items)?
        };
        let setup_limits = (p.discounts.is_some(), p.allow_promotion_codes.is_some_and(|b| b.0));
        let (customer, customer_email) = customer::customer(p.customer.as_deref(), p.customer_email, r)?;
        let payment_method_types =
            payment_methods::payment_method_types(p.payment_method_types.clone(), mode, currency)?;
        setup::limits(setup_limits, mode, &payment_method_types)?;
        let (trial_period_days, subscription_metadata, subscription_extras) =
            subscription::subscription_data(p.subscription_data, mode, &line_items, now)?;
        urls::urls(p.success_url.as_deref(), p.cancel_url.as_deref())?;
        let expires_at = expiry::expires_at(p.expires_at, now)?;
        let (client_reference_id, metadata) = extras::extras(p.client_reference_id, p.metadata)?;
        let customer_creation = options::customer_creation(p.customer_creation.as_deref(), mode)?;
        let payment_intent_data =
            options::payment_intent_data(p.payment_intent_data.clone(), mode, &payment_method_types)?;
        let setup_intent_data = setup::setup_intent_data(p.setup_intent_data, mode)?;
        let card_if_required =
            setup::payment_method_collection(p.payment_method_collection.as_deref(), mode)?;
        let invoice_creation = invoice::invoice_creation(p.invoice_creation, mode)?;
        let recovery = recovery::after_expiration(p.after_expiration)?;
        let allow_promotion_codes = p.allow_promotion_codes.is_some_and(|b| b.0);
        let mut collection = collection::collection(collect, mode, currency, customer, r, now)?;
        let taxes = taxes::taxes(
            p.automatic_tax.take(),
            default_tax_rates,
            p.line_items.as_deref().unwrap_or_default(),
            &mut line_items,
            mode,
            &mut collection,
            customer,
            r,
        )?;

        let mut session = Self {
            id: ids::new_session_id(),
            created: now,
            expires_at,
            mode,
            currency,
            status: Status::Open,
            payment_status: if mode == Mode::Setup {
                PaymentStatus::NoPaymentRequired
            } else {
                PaymentStatus::Unpaid
            },
            customer: customer.map(|c| c.id.clone()),
            customer_email,
            customer_details: None,
            success_url: p.success_url,
            cancel_url: p.cancel_url,
            allow_promotion_codes,
            discount: None,
            payment_method_types,
            trial_period_days,
            subscription_metadata,
            client_reference_id,
            metadata,
            line_items,
            amount_subtotal: 0,
            amount_discount: 0,
            amount_total: 0,
            payment_intent: None,
            subscription: None,
            invoice: None,
            attempt: None,
            processing_until: None,
            pending_buyer: None,
            pending_amount: None,
            collection,
            customer_creation,
            payment_intent_data,
            subscription_extras,
            setup_intent: None,
            setup_intent_data,
            card_if_required,
            invoice_creation,
            recovery,
            recovered_from: None,
            expired_at: None,
            taxes,
        };
        session.recompute().map_err(|_| amounts::too_large())?;

        // The discount is validated against the subtotal it would apply to.
        let discount = discounts::discount(
            &refs,
            allow_promotion_codes,
            r,
            customer,
            currency,
            session.amount_subtotal,
            now,
        )?;
        if discount.is_some() {
            session.discount = discount;
            session.recompute().map_err(|_| amounts::too_large())?;
        }
        Ok((session, inline))
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::{References, Session, references};
    use crate::catalog::Price;
    use crate::error::{ErrorCode, Invalid};
    use crate::params::{Bool, DiscountParam, Int, SessionCreate};

    fn code_and_param(r: Result<Session, Invalid>) -> (ErrorCode, String) {
        let e = r.expect_err("expected a refusal");
        (e.code, e.param.unwrap_or_default())
    }

    #[test]
    fn references_list_what_the_caller_must_load() {
        let p = SessionCreate {
            customer: Some("cus_1".into()),
            discounts: coupon_discount("co_1"),
            ..request(vec![line("price_a", 1), line("price_b", 1), line("price_a", 2)])
        };
        let want = References {
            prices: vec!["price_a".into(), "price_b".into(), "price_a".into()],
            products: vec![],
            customer: Some("cus_1".into()),
            coupon: Some("co_1".into()),
            promotion_code: None,
            shipping_rates: vec![],
            tax_rates: vec![],
            automatic_tax: false,
        };
        assert_eq!(references(&p), Ok(want));
        let p = SessionCreate {
            customer: Some(String::new()),
            discounts: code_discount("promo_1"),
            ..buy("price_a", 1)
        };
        let refs = references(&p).unwrap();
        assert_eq!((refs.customer, refs.coupon, refs.promotion_code), (None, None, Some("promo_1".into())));
    }

    #[test]
    fn shape_checks_come_before_anything_is_looked_up() {
        // Line count before each line's price, each line's price before the discounts' shape…
        let p = SessionCreate {
            discounts: Some(vec![DiscountParam::default(); 2]),
            ..request(vec![line("", 1); 101])
        };
        assert_eq!(
            code_and_param(Fx::new().create(p.clone())),
            (ErrorCode::ParameterInvalid, "line_items".into())
        );
        let p = SessionCreate { line_items: Some(vec![line("", 1)]), ..p };
        assert_eq!(
            code_and_param(Fx::new().create(p.clone())),
            (ErrorCode::ParameterInvalidEmpty, "line_items[0][price]".into())
        );
        // …and the discounts' shape before any price is looked up.
        let p = SessionCreate { line_items: Some(vec![line("price_nope", 0)]), ..p };
        assert_eq!(code_and_param(Fx::new().create(p)), (ErrorCode::ParameterInvalid, "discounts".into()));
    }

    /// A request that breaks one rule of every step from the mode on, and the error each step
    /// gives once the ones before it are put right: the order in which the rules are applied.
    #[test]
    fn first_broken_rule_wins_in_step_order() {
        let fx =
            Fx::new().with_price(Price { unit_amount: 999_999_999_999, ..one_time("price_huge", "usd", 0) });
        let mut p = SessionCreate {
            line_items: Some(vec![line("price_huge", 999_999), line("price_nope", 0)]),
            mode: Some("layaway".into()),
            currency: Some("zzz".into()),
            customer: Some("cus_1".into()),
            customer_email: Some("x@example.com".into()),
            payment_method_types: strings(&["ideal"]),
            subscription_data: trial(7),
            success_url: Some("ftp://shop.example".into()),
            cancel_url: Some("ftp://shop.example".into()),
            expires_at: Some(Int(NOW)),
            client_reference_id: Some("r".repeat(201)),
            allow_promotion_codes: Some(Bool(true)),
            discounts: coupon_discount("co_nope"),
            ..SessionCreate::default()
        };
        type Fix = fn(&mut SessionCreate);
        let steps: [(ErrorCode, &str, Fix); 14] = [
            (ErrorCode::ResourceMissing, "line_items[1][price]", |p| {
                p.line_items.as_mut().unwrap()[1].price = Some("price_usd".into());
            }),
            (ErrorCode::ParameterInvalid, "line_items[1][quantity]", |p| {
                p.line_items.as_mut().unwrap()[1].quantity = Some(Int(1));
            }),
            (ErrorCode::ParameterInvalid, "mode", |p| p.mode = None),
            (ErrorCode::ParameterInvalid, "currency", |p| p.currency = None),
            (ErrorCode::ParametersExclusive, "customer_email", |p| p.customer_email = None),
            (ErrorCode::ParameterInvalid, "payment_method_types[0]", |p| p.payment_method_types = None),
            (ErrorCode::ParameterInvalid, "subscription_data", |p| p.subscription_data = None),
            (ErrorCode::UrlInvalid, "success_url", |p| p.success_url = None),
            (ErrorCode::UrlInvalid, "cancel_url", |p| p.cancel_url = None),
            (ErrorCode::ParameterInvalid, "expires_at", |p| p.expires_at = None),
            (ErrorCode::ParameterInvalid, "client_reference_id", |p| p.client_reference_id = None),
            (ErrorCode::AmountTooLarge, "line_items", |p| {
                p.line_items.as_mut().unwrap()[0].quantity = Some(Int(1));
            }),
            (ErrorCode::ParametersExclusive, "discounts", |p| p.allow_promotion_codes = None),
            (ErrorCode::ResourceMissing, "discounts[0][coupon]", |p| p.discounts = None),
        ];
        for (code, param, fix) in steps {
            assert_eq!(code_and_param(fx.create(p.clone())), (code, param.to_owned()));
            fix(&mut p);
        }
        let s = fx.ok(p);
        assert_eq!((s.amount_total, s.customer.as_deref()), (999_999_999_999 + 1000, Some("cus_1")));
    }
}

#[cfg(test)]
mod stored {
    #![allow(clippy::unwrap_used)]

    use super::fixtures::{Fx, adjustable, buy, line, request};
    use crate::store::Record;

    /// A session's stored document has no `null`s and reads back as the session it was.
    #[test]
    fn a_session_reads_back_from_its_document_without_nulls() {
        let fx = Fx::new();
        let sessions = [
            fx.ok(buy("price_usd", 2)),
            fx.ok(request(vec![
                adjustable(line("price_usd", 2), Some(true), Some(0), Some(10)),
                line("price_usd_b", 1),
            ])),
        ];
        // Values other than a new session's are stored, and read back.
        let mut paid = sessions[0].clone();
        paid.status = super::Status::Complete;
        paid.payment_status = super::PaymentStatus::Paid;
        paid.mode = super::Mode::Subscription;
        paid.payment_method_types = vec![super::PaymentMethodType::Card, super::PaymentMethodType::Paypal];
        let raw = paid.to_raw("acct_1").unwrap();
        for kept in
            [r#""status":"complete""#, r#""payment_status":"paid""#, r#""mode":"subscription""#, "paypal"]
        {
            assert!(raw.data.contains(kept), "{kept} in {}", raw.data);
        }
        assert_eq!(super::Session::from_raw(&raw).unwrap(), paid);
        for session in sessions {
            let raw = session.to_raw("acct_1").unwrap();
            assert!(!raw.data.contains(":null"), "{}", raw.data);
            assert!(raw.data.len() < serde_json::to_string(&session).unwrap().len());
            // The row's columns are not repeated in the document.
            assert!(raw.data.starts_with(r#"{"expires_at":"#), "{}", raw.data);
            assert!(!raw.data.contains(&session.id), "{}", raw.data);
            assert_eq!((raw.id.as_str(), raw.created), (session.id.as_str(), session.created));
            assert_eq!(super::Session::from_raw(&raw).unwrap(), session);
        }
    }

    /// A session stored before default-valued members were left out: every member written, as
    /// a one-line session of `bench/bytes` was (1,170 B).
    const EVERY_MEMBER: &str = r#"{"id":"cs_test_ZvXFv5PGHYIPlG9jS6UzyfQdW0oPinGpbQBytf38WH54r5TWpVmJ8AzHhY","created":1796290592,"expires_at":1796376992,"mode":"payment","currency":"usd","status":"open","payment_status":"unpaid","success_url":"https://shop.test/ok?s={CHECKOUT_SESSION_ID}","cancel_url":"https://shop.test/cart","allow_promotion_codes":false,"payment_method_types":["card"],"subscription_metadata":{},"metadata":{},"line_items":[{"id":"li_9oJvrKl1Siy99YpxPIbvkrJy","price":{"id":"price_FoxsPsYCu4tWewo5eiXPFjaw","created":1796289688,"product":"prod_g9KjsGENkdWLRFxyhXUPOTZW","currency":"usd","unit_amount":1999,"active":true,"metadata":{},"tax_behavior":"unspecified"},"description":"Bench","quantity":2,"amount_subtotal":3998,"amount_discount":0,"amount_total":3998,"tax_rates":[],"dynamic_tax_rates":[],"taxes":[],"applied_rates":[]}],"amount_subtotal":3998,"amount_discount":0,"amount_total":3998,"collection":{"shipping_options":[],"shipping_choice":0,"phone":false,"custom_fields":[],"custom_text":{},"created_rates":[]},"subscription_extras":{},"card_if_required":false,"taxes":{"automatic":false,"rates":[],"shipping":[],"amount_tax":0,"exempt":"none","tax_ids":[],"origin":"US"}}"#;

    fn stored(data: String) -> crate::store::RawRecord {
        crate::store::RawRecord {
            kind: crate::store::Kind::CheckoutSession,
            account: "acct_1".into(),
            id: "cs_test_ZvXFv5PGHYIPlG9jS6UzyfQdW0oPinGpbQBytf38WH54r5TWpVmJ8AzHhY".into(),
            created: 1_796_290_592,
            data,
            columns: Vec::new(),
        }
    }

    /// Documents written with every member (and, older still, with their `null`s) read as
    /// before; the session is stored again without its default-valued members and reads back
    /// the same.
    #[test]
    fn documents_with_every_member_still_read() {
        let old = super::Session::from_raw(&stored(EVERY_MEMBER.to_owned())).unwrap();
        assert_eq!(old.collection, super::collection::Collection::default());
        assert_eq!(old.taxes.origin, "US");
        assert_eq!(old.line_items[0].price.unit_amount, 1999);
        assert!(!old.allow_promotion_codes && old.metadata.is_empty());

        let with_nulls = EVERY_MEMBER.replacen(
            r#""allow_promotion_codes""#,
            r#""customer":null,"customer_email":null,"discount":null,"trial_period_days":null,"allow_promotion_codes""#,
            1,
        );
        assert_eq!(super::Session::from_raw(&stored(with_nulls)).unwrap(), old);

        let raw = old.to_raw("acct_1").unwrap();
        for gone in [
            "allow_promotion_codes",
            "collection",
            "tax_behavior",
            "applied_rates",
            "\"exempt\"",
            "{}",
            "[]",
            "cs_test_",
            "1796290592",
            "\"mode\"",
            "\"status\"",
            "payment_status",
            "payment_method_types",
        ] {
            assert!(!raw.data.contains(gone), "{gone} in {}", raw.data);
        }
        assert!(raw.data.len() + 560 < EVERY_MEMBER.len(), "{} B: {}", raw.data.len(), raw.data);
        assert_eq!(super::Session::from_raw(&raw).unwrap(), old);
    }
}
