//! The checkout session (SPEC §5): creation rules, totals, and the state machine
//! `open → complete | expired`.
//!
//! Creation runs in two steps so that the store is read once: [`references`] lists the objects a
//! request names (prices, customer, coupon, promotion code) after cheap shape checks, the caller
//! loads them, and [`Session::create`] applies every rule against them. Each broken rule is an
//! [`Invalid`] naming the field in bracket form (`line_items[3][adjustable_quantity][maximum]`).
//!
//! Amounts are what is due now. Every line carries `amount_subtotal` (unit × quantity),
//! `amount_discount` (its share of the discount) and `amount_total`; the session's amounts are
//! their sums. In subscription mode with a trial, recurring lines are due at the end of the trial,
//! so they count 0 today (their unit price and quantity still show what will be billed); one-time
//! lines are due today.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{
    self, Buyer, Coupon, Customer, DiscountTerms, Price, Product, PromotionCode, Recurring,
};
use crate::discount::{self, Line};
use crate::error::{Error, ErrorCode, Invalid};
use crate::ids;
use crate::metadata::{self, Metadata};
use crate::money::{self, Currency, MAX_TOTAL};
use crate::params::{AdjustableQuantityParam, Int, LineItemParam, SessionCreate};
use crate::time::{DAY, MINUTE, Timestamp};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Payment,
    Subscription,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Subscription => "subscription",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
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
    pub amount_discount: i64,
    pub amount_total: i64,
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
    pub id: String,
    pub created: Timestamp,
    pub expires_at: Timestamp,
    pub mode: Mode,
    pub currency: Currency,
    pub status: Status,
    pub payment_status: PaymentStatus,
    pub customer: Option<String>,
    pub customer_email: Option<String>,
    pub customer_details: Option<CustomerDetails>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub allow_promotion_codes: bool,
    pub discount: Option<AppliedDiscount>,
    pub payment_method_types: Vec<PaymentMethodType>,
    pub trial_period_days: Option<u32>,
    pub subscription_metadata: Metadata,
    pub client_reference_id: Option<String>,
    pub metadata: Metadata,
    pub line_items: Vec<LineItem>,
    pub amount_subtotal: i64,
    pub amount_discount: i64,
    pub amount_total: i64,
    pub payment_intent: Option<String>,
    pub subscription: Option<String>,
    pub invoice: Option<String>,
    /// The payment intent of the current payment attempt (in payment mode, `payment_intent`
    /// too). Declines and 3-D Secure challenges are recorded on it.
    #[serde(default)]
    pub attempt: Option<String>,
    /// Until when a payment submission holds the session: a second submission meanwhile is
    /// refused instead of charging twice.
    #[serde(default)]
    pub processing_until: Option<Timestamp>,
    /// What the buyer entered, kept while a payment waits on a 3-D Secure challenge or PayPal.
    #[serde(default)]
    pub pending_buyer: Option<CustomerDetails>,
}

/// The ids a creation request names, for the caller to load before [`Session::create`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    pub prices: Vec<String>,
    pub customer: Option<String>,
    pub coupon: Option<String>,
    pub promotion_code: Option<String>,
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
}

/// Cheap shape checks, then the ids to load. Refuses oversized requests before anything is read.
pub fn references(p: &SessionCreate) -> Result<References, Invalid> {
    let items = match &p.line_items {
        None => return Err(Invalid::missing("line_items")),
        Some(items) if items.is_empty() => {
            return Err(Invalid::param("line_items", "A checkout session needs at least one line item."));
        }
        Some(items) if items.len() > MAX_PAYMENT_LINES => {
            return Err(Invalid::param(
                "line_items",
                format!(
                    "A checkout session takes at most {MAX_PAYMENT_LINES} line items; you passed {}.",
                    items.len()
                ),
            ));
        }
        Some(items) => items,
    };
    let mut prices = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match &item.price {
            None => {
                return Err(Invalid::new(
                    ErrorCode::ParameterMissing,
                    format!("line_items[{i}][price]"),
                    format!(
                        "You must provide a price for each line item: `line_items[{i}][price]` is missing."
                    ),
                ));
            }
            Some(id) if id.is_empty() => return Err(Invalid::empty(format!("line_items[{i}][price]"))),
            Some(id) if id.len() > catalog::MAX_TEXT => {
                return Err(Invalid::param(
                    format!("line_items[{i}][price]"),
                    "Price ids are at most 5000 characters.",
                ));
            }
            Some(id) => prices.push(id.clone()),
        }
    }
    let discounts = p.discounts.as_deref().unwrap_or_default();
    if discounts.len() > 1 {
        return Err(Invalid::param("discounts", "A checkout session takes at most one discount."));
    }
    let (coupon, promotion_code) = match discounts.first() {
        None => (None, None),
        Some(d) => match (&d.coupon, &d.promotion_code) {
            (Some(_), Some(_)) => {
                return Err(Invalid::new(
                    ErrorCode::ParametersExclusive,
                    "discounts[0][promotion_code]",
                    "You may only specify one of these parameters: discounts[0][coupon], discounts[0][promotion_code].",
                ));
            }
            (None, None) => {
                return Err(Invalid::new(
                    ErrorCode::ParameterMissing,
                    "discounts[0][coupon]",
                    "Each discount needs a `coupon` or a `promotion_code`.",
                ));
            }
            (Some(c), None) if c.is_empty() => return Err(Invalid::empty("discounts[0][coupon]")),
            (None, Some(pc)) if pc.is_empty() => return Err(Invalid::empty("discounts[0][promotion_code]")),
            (c, pc) => (c.clone(), pc.clone()),
        },
    };
    Ok(References { prices, customer: p.customer.clone().filter(|c| !c.is_empty()), coupon, promotion_code })
}

/// An absolute http(s) URL of at most 5000 characters with a host and no whitespace or control
/// characters. The text is kept exactly as given (so `{CHECKOUT_SESSION_ID}` survives).
pub fn check_url(param: &str, url: &str) -> Result<(), Invalid> {
    if url.chars().count() > MAX_URL_LEN {
        return Err(Invalid::new(
            ErrorCode::UrlInvalid,
            param,
            format!("Invalid URL: URL must be {MAX_URL_LEN} characters or less."),
        ));
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err(Invalid::new(
            ErrorCode::UrlInvalid,
            param,
            "Not a valid URL: use an absolute http:// or https:// URL.",
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && !host.starts_with(':')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(c) || !c.is_ascii());
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if host_ok && clean {
        Ok(())
    } else {
        Err(Invalid::new(ErrorCode::UrlInvalid, param, "Not a valid URL."))
    }
}

fn adjustable(i: usize, quantity: i64, a: &AdjustableQuantityParam) -> Result<AdjustableQuantity, Invalid> {
    let param = |f: &str| format!("line_items[{i}][adjustable_quantity][{f}]");
    let enabled = a.enabled.ok_or_else(|| Invalid::missing(param("enabled")))?.0;
    let minimum = a.minimum.map_or(0, |Int(m)| m);
    let maximum = a.maximum.map_or(DEFAULT_MAX_QUANTITY, |Int(m)| m);
    if minimum < 0 {
        return Err(Invalid::param(param("minimum"), "`minimum` must be at least 0."));
    }
    if maximum > MAX_ADJUSTABLE_QUANTITY {
        return Err(Invalid::param(
            param("maximum"),
            format!("`maximum` must be at most {MAX_ADJUSTABLE_QUANTITY}."),
        ));
    }
    if maximum < 1 {
        return Err(Invalid::param(param("maximum"), "`maximum` must be at least 1."));
    }
    if minimum >= maximum {
        return Err(Invalid::param(param("minimum"), "`minimum` must be less than `maximum`."));
    }
    if quantity > maximum {
        return Err(Invalid::param(
            format!("line_items[{i}][quantity]"),
            format!(
                "`quantity` ({quantity}) must not exceed `adjustable_quantity[maximum]` ({maximum}); set a larger `maximum` (up to {MAX_ADJUSTABLE_QUANTITY})."
            ),
        ));
    }
    if quantity < minimum {
        return Err(Invalid::param(
            format!("line_items[{i}][quantity]"),
            format!("`quantity` ({quantity}) must be at least `adjustable_quantity[minimum]` ({minimum})."),
        ));
    }
    Ok(AdjustableQuantity { enabled, minimum, maximum })
}

impl Session {
    /// Apply every rule of SPEC §5 to `p`, with the referenced objects in `r`.
    pub fn create(p: SessionCreate, r: &Resolved<'_>, now: Timestamp) -> Result<Self, Invalid> {
        let refs = references(&p)?;
        let items: Vec<LineItemParam> = p.line_items.unwrap_or_default();

        // Each line: its price exists, is active, and the quantity fits the bounds.
        let mut lines = Vec::with_capacity(items.len());
        for (i, (item, price_id)) in items.iter().zip(&refs.prices).enumerate() {
            let price_param = format!("line_items[{i}][price]");
            let price = *r
                .prices
                .get(price_id.as_str())
                .ok_or_else(|| Invalid::no_such("price", price_id, price_param.clone()))?;
            if !price.active {
                return Err(Invalid::param(
                    price_param,
                    "The price specified is inactive. This field only accepts active prices.",
                ));
            }
            let quantity = match item.quantity {
                None => {
                    return Err(Invalid::new(
                        ErrorCode::ParameterMissing,
                        format!("line_items[{i}][quantity]"),
                        format!("Quantity is required. Add `quantity` to `line_items[{i}]`."),
                    ));
                }
                Some(Int(q)) if q < 1 => {
                    return Err(Invalid::param(
                        format!("line_items[{i}][quantity]"),
                        "This value must be greater than or equal to 1.",
                    ));
                }
                Some(Int(q)) if q > MAX_ADJUSTABLE_QUANTITY => {
                    return Err(Invalid::param(
                        format!("line_items[{i}][quantity]"),
                        format!("This value must be less than or equal to {MAX_ADJUSTABLE_QUANTITY}."),
                    ));
                }
                Some(Int(q)) => q,
            };
            let adjustable_quantity = match &item.adjustable_quantity {
                None => None,
                Some(a) => Some(adjustable(i, quantity, a)?),
            };
            let description = r
                .products
                .get(price.product.as_str())
                .map(|p| p.name.clone())
                .unwrap_or_else(|| price.product.clone());
            lines.push(LineItem {
                id: ids::new_id(ids::prefix::LINE_ITEM),
                price: price.clone(),
                description,
                quantity,
                adjustable_quantity,
                amount_subtotal: 0,
                amount_discount: 0,
                amount_total: 0,
            });
        }

        // Mode, and what each mode allows.
        let any_recurring = lines.iter().any(|l| l.price.recurring.is_some());
        let mode = match p.mode.as_deref() {
            None => {
                if any_recurring {
                    Mode::Subscription
                } else {
                    Mode::Payment
                }
            }
            Some("payment") => Mode::Payment,
            Some("subscription") => Mode::Subscription,
            Some(_) => return Err(Invalid::param("mode", "`mode` must be `payment` or `subscription`.")),
        };
        match mode {
            Mode::Payment => {
                if let Some(i) = lines.iter().position(|l| l.price.recurring.is_some()) {
                    return Err(Invalid::param(
                        format!("line_items[{i}][price]"),
                        "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.",
                    ));
                }
            }
            Mode::Subscription => {
                if !any_recurring {
                    return Err(Invalid::param(
                        "mode",
                        "You must provide at least one recurring price in `subscription` mode when using prices.",
                    ));
                }
                let recurring = lines.iter().filter(|l| l.price.recurring.is_some()).count();
                if recurring > MAX_SUBSCRIPTION_RECURRING_LINES {
                    return Err(Invalid::param(
                        "line_items",
                        format!(
                            "`subscription` mode takes at most {MAX_SUBSCRIPTION_RECURRING_LINES} line items with recurring prices."
                        ),
                    ));
                }
                if lines.len() - recurring > MAX_SUBSCRIPTION_ONE_TIME_LINES {
                    return Err(Invalid::param(
                        "line_items",
                        format!(
                            "`subscription` mode takes at most {MAX_SUBSCRIPTION_ONE_TIME_LINES} line items with one-time prices."
                        ),
                    ));
                }
                let first: Option<Recurring> = lines.iter().find_map(|l| l.price.recurring);
                let differs = |r: Option<Recurring>| r.is_some() && first.is_some() && r != first;
                if let Some(i) = lines.iter().position(|l| differs(l.price.recurring)) {
                    return Err(Invalid::param(
                        format!("line_items[{i}][price]"),
                        "All recurring prices in a checkout session must share the same `interval` and `interval_count`.",
                    ));
                }
            }
        }

        // Currency.
        let currency = match p.currency.as_deref() {
            Some(code) => {
                let c = catalog::currency("currency", code)?;
                if let Some(i) = lines.iter().position(|l| l.price.currency != c) {
                    return Err(Invalid::param(
                        format!("line_items[{i}][price]"),
                        format!(
                            "The price specified supports currencies of `{}` which doesn't include the expected currency of `{c}`.",
                            lines[i].price.currency
                        ),
                    ));
                }
                c
            }
            None => {
                let c = lines[0].price.currency;
                if let Some(i) = lines.iter().position(|l| l.price.currency != c) {
                    return Err(Invalid::param(
                        format!("line_items[{i}][price]"),
                        format!(
                            "All prices in a checkout session must share one currency: `{}` differs from `{c}`.",
                            lines[i].price.currency
                        ),
                    ));
                }
                c
            }
        };

        // Customer.
        if p.customer.as_deref().is_some_and(|c| !c.is_empty()) && p.customer_email.is_some() {
            return Err(Invalid::exclusive("customer", "customer_email"));
        }
        let customer = match &refs.customer {
            None => None,
            Some(id) => Some(
                r.customer
                    .filter(|c| &c.id == id)
                    .ok_or_else(|| Invalid::no_such("customer", id, "customer"))?,
            ),
        };
        let customer_email = catalog::email("customer_email", p.customer_email)?;

        // Payment method types.
        // Each kept type with the index it was first given at, so that an error names the
        // parameter the merchant sent even when a type is repeated.
        let given: Vec<(usize, PaymentMethodType)> = match p.payment_method_types {
            None => vec![(0, PaymentMethodType::Card)],
            Some(v) if v.is_empty() => {
                return Err(Invalid::param(
                    "payment_method_types",
                    "`payment_method_types` must not be empty.",
                ));
            }
            Some(v) => {
                let mut out = Vec::with_capacity(v.len());
                for (i, t) in v.iter().enumerate() {
                    let pm = PaymentMethodType::parse(t).ok_or_else(|| {
                        Invalid::param(
                            format!("payment_method_types[{i}]"),
                            format!("Invalid payment_method_types[{i}]: must be one of card, paypal or customer_balance."),
                        )
                    })?;
                    if !out.iter().any(|(_, x)| *x == pm) {
                        out.push((i, pm));
                    }
                }
                out
            }
        };
        let payment_method_types: Vec<PaymentMethodType> = given.iter().map(|(_, pm)| *pm).collect();
        for (i, pm) in &given {
            let param = format!("payment_method_types[{i}]");
            match pm {
                PaymentMethodType::Card => {}
                PaymentMethodType::Paypal => {
                    if !PAYPAL_CURRENCIES.contains(&currency.as_str()) {
                        return Err(Invalid::param(
                            param,
                            format!(
                                "`paypal` does not support `{currency}`; it supports {}.",
                                PAYPAL_CURRENCIES.join(", ")
                            ),
                        ));
                    }
                }
                PaymentMethodType::CustomerBalance => {
                    if mode != Mode::Payment {
                        return Err(Invalid::param(
                            param,
                            "`customer_balance` can only be used in `payment` mode.",
                        ));
                    }
                    if !CUSTOMER_BALANCE_CURRENCIES.contains(&currency.as_str()) {
                        return Err(Invalid::param(
                            param,
                            format!(
                                "`customer_balance` does not support `{currency}`; it supports {}.",
                                CUSTOMER_BALANCE_CURRENCIES.join(", ")
                            ),
                        ));
                    }
                }
            }
        }

        // Subscription data.
        let (trial_period_days, subscription_metadata) = match p.subscription_data {
            None => (None, Metadata::new()),
            Some(_) if mode != Mode::Subscription => {
                return Err(Invalid::param(
                    "subscription_data",
                    "`subscription_data` can only be used in `subscription` mode.",
                ));
            }
            Some(sd) => {
                let days = match sd.trial_period_days {
                    None => None,
                    Some(Int(d)) if d < 1 => {
                        return Err(Invalid::param(
                            "subscription_data[trial_period_days]",
                            "`trial_period_days` has to be at least 1.",
                        ));
                    }
                    Some(Int(d)) if d > MAX_TRIAL_DAYS => {
                        return Err(Invalid::param(
                            "subscription_data[trial_period_days]",
                            "The maximum number of trial period days is 730 (2 years).",
                        ));
                    }
                    Some(Int(d)) => u32::try_from(d).ok(),
                };
                (days, metadata::create(sd.metadata, "subscription_data[metadata]")?)
            }
        };

        // URLs.
        if let Some(u) = &p.success_url {
            check_url("success_url", u)?;
        }
        if let Some(u) = &p.cancel_url {
            check_url("cancel_url", u)?;
        }

        // Expiry.
        let expires_at = match p.expires_at {
            None => now + MAX_EXPIRY,
            Some(Int(t)) if t < now + MIN_EXPIRY - EXPIRY_GRACE || t > now + MAX_EXPIRY => {
                return Err(Invalid::param(
                    "expires_at",
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
                ));
            }
            Some(Int(t)) => t,
        };

        let client_reference_id =
            catalog::text("client_reference_id", p.client_reference_id, 200)?.filter(|c| !c.is_empty());
        let metadata = metadata::create(p.metadata, "metadata")?;
        let allow_promotion_codes = p.allow_promotion_codes.is_some_and(|b| b.0);

        let mut session = Self {
            id: ids::new_session_id(),
            created: now,
            expires_at,
            mode,
            currency,
            status: Status::Open,
            payment_status: PaymentStatus::Unpaid,
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
            line_items: lines,
            amount_subtotal: 0,
            amount_discount: 0,
            amount_total: 0,
            payment_intent: None,
            subscription: None,
            invoice: None,
            attempt: None,
            processing_until: None,
            pending_buyer: None,
        };
        session.recompute().map_err(|_| too_large())?;

        // Discounts: validated against the subtotal they would apply to.
        let applied = match (&refs.coupon, &refs.promotion_code) {
            (None, None) => None,
            _ if allow_promotion_codes => {
                return Err(Invalid::exclusive("allow_promotion_codes", "discounts"));
            }
            (Some(id), _) => {
                let param = "discounts[0][coupon]";
                let coupon =
                    r.coupon.filter(|c| &c.id == id).ok_or_else(|| Invalid::no_such("coupon", id, param))?;
                coupon
                    .usable_for(currency, now)
                    .map_err(|why| Invalid::new(why.code(), param, why.message()))?;
                Some(AppliedDiscount {
                    coupon: coupon.id.clone(),
                    promotion_code: None,
                    terms: coupon.terms(),
                    from_merchant: true,
                })
            }
            (None, Some(id)) => {
                let param = "discounts[0][promotion_code]";
                let code = r
                    .promotion_code
                    .filter(|c| &c.id == id)
                    .ok_or_else(|| Invalid::no_such("promotion_code", id, param))?;
                let coupon = r.promotion_coupon.filter(|c| c.id == code.coupon).ok_or_else(|| {
                    Invalid::new(
                        ErrorCode::PromotionCodeInvalid,
                        param,
                        "This promotion code's coupon no longer exists.",
                    )
                })?;
                code.usable(coupon, Buyer { customer }, currency, session.amount_subtotal, now)
                    .map_err(|why| Invalid::new(ErrorCode::PromotionCodeInvalid, param, why.message()))?;
                Some(AppliedDiscount {
                    coupon: coupon.id.clone(),
                    promotion_code: Some(code.id.clone()),
                    terms: coupon.terms(),
                    from_merchant: true,
                })
            }
        };
        if applied.is_some() {
            session.discount = applied;
            session.recompute().map_err(|_| too_large())?;
        }
        Ok(session)
    }

    /// Recompute every line's amounts and the session's totals from quantities, prices and the
    /// discount. Fails only when the amounts leave the range kassa accepts.
    pub fn recompute(&mut self) -> Result<(), Invalid> {
        let trial = self.mode == Mode::Subscription && self.trial_period_days.is_some();
        let mut subtotal: i64 = 0;
        for line in &mut self.line_items {
            let due_later = trial && line.price.recurring.is_some();
            line.amount_subtotal = if due_later {
                0
            } else {
                money::line_amount(line.price.unit_amount, line.quantity).ok_or_else(too_large)?
            };
            subtotal = subtotal
                .checked_add(line.amount_subtotal)
                .filter(|s| *s <= MAX_TOTAL)
                .ok_or_else(too_large)?;
        }
        let split = match &self.discount {
            None => discount::Split { total: 0, per_line: vec![0; self.line_items.len()] },
            Some(d) => {
                let lines: Vec<Line<'_>> = self
                    .line_items
                    .iter()
                    .map(|l| Line { amount: l.amount_subtotal, product: l.price.product.as_str() })
                    .collect();
                discount::apply(&d.terms, &lines)
            }
        };
        for (line, share) in self.line_items.iter_mut().zip(&split.per_line) {
            line.amount_discount = *share;
            line.amount_total = line.amount_subtotal - share;
        }
        self.amount_subtotal = subtotal;
        self.amount_discount = split.total;
        self.amount_total = subtotal - split.total;
        Ok(())
    }

    /// The customer changes a line's quantity on the hosted page: only an adjustable line, within
    /// its bounds, and never so that no item is left. `0` removes the line (when its minimum
    /// allows); removed lines stay in the session with quantity 0 and are not listed.
    pub fn set_quantity(&mut self, line_id: &str, quantity: i64) -> Result<(), Invalid> {
        let param = "quantity";
        let i = self
            .line_items
            .iter()
            .position(|l| l.id == line_id)
            .ok_or_else(|| Invalid::param(param, "That item is not part of this checkout."))?;
        let line = &self.line_items[i];
        let bounds = line
            .adjustable_quantity
            .filter(|a| a.enabled)
            .ok_or_else(|| Invalid::param(param, "The quantity of this item cannot be changed."))?;
        if quantity < bounds.minimum || quantity > bounds.maximum {
            return Err(Invalid::param(
                param,
                format!("The quantity must be between {} and {}.", bounds.minimum, bounds.maximum),
            ));
        }
        let others = self.line_items.iter().enumerate().any(|(j, l)| j != i && l.quantity > 0);
        if quantity == 0 && !others {
            return Err(Invalid::param(param, "You can't remove the last item."));
        }
        let before = self.line_items[i].quantity;
        self.line_items[i].quantity = quantity;
        if let Err(e) = self.recompute() {
            self.line_items[i].quantity = before;
            let _ = self.recompute();
            return Err(e);
        }
        Ok(())
    }

    /// The customer enters a promotion code (already looked up, case-insensitively, in the
    /// session's account). Refused with the reason when it cannot be used now.
    pub fn apply_promotion_code(
        &mut self,
        code: &PromotionCode,
        coupon: &Coupon,
        customer: Option<&Customer>,
        now: Timestamp,
    ) -> Result<(), Invalid> {
        let param = "code";
        if !self.allow_promotion_codes {
            return Err(Invalid::param(param, "This checkout does not take promotion codes."));
        }
        if self.discount.as_ref().is_some_and(|d| d.from_merchant) {
            return Err(Invalid::param(param, "This checkout already has a discount."));
        }
        code.usable(coupon, Buyer { customer }, self.currency, self.amount_subtotal, now)
            .map_err(|why| Invalid::new(ErrorCode::PromotionCodeInvalid, param, why.message()))?;
        self.discount = Some(AppliedDiscount {
            coupon: coupon.id.clone(),
            promotion_code: Some(code.id.clone()),
            terms: coupon.terms(),
            from_merchant: false,
        });
        self.recompute()
    }

    /// The customer removes the promotion code they entered; a merchant's discount stays.
    pub fn remove_promotion_code(&mut self) -> Result<(), Invalid> {
        match &self.discount {
            Some(d) if d.from_merchant => {
                Err(Invalid::param("code", "This discount was given by the merchant and cannot be removed."))
            }
            _ => {
                self.discount = None;
                self.recompute()
            }
        }
    }

    /// The line items a reader sees: removed lines (quantity 0) are left out.
    pub fn listed_line_items(&self) -> impl Iterator<Item = &LineItem> {
        self.line_items.iter().filter(|l| l.quantity > 0)
    }

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

fn too_large() -> Invalid {
    Invalid::new(
        ErrorCode::AmountTooLarge,
        "line_items",
        format!("The session's total would exceed the largest amount kassa accepts ({MAX_TOTAL})."),
    )
}
