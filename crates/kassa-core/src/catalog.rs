//! The catalog a checkout draws on — products, prices, customers, coupons, promotion codes — and
//! every rule of their creation and update. Each `create` takes the typed request, the
//! objects it references (loaded by the caller) and the time, and returns the new object or the
//! first rule broken, with its bracketed `param`.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, Invalid};
use crate::ids;
use crate::metadata::{self, Metadata};
use crate::money::{Currency, MAX_TOTAL, MAX_UNIT_AMOUNT, Percent};
use crate::params::{
    CouponCreate, CouponUpdate, CustomerCreate, CustomerUpdate, Int, PriceCreate, PriceUpdate, ProductCreate,
    ProductUpdate, PromotionCodeCreate, PromotionCodeUpdate, RecurringParam,
};
use crate::time::Timestamp;

/// The longest free text kassa takes in a parameter (Stripe's usual `maxLength`).
pub const MAX_TEXT: usize = 5000;

/// A string parameter that must not exceed `max` characters.
pub fn text(param: &str, value: Option<String>, max: usize) -> Result<Option<String>, Invalid> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(Invalid::param(param, format!("`{param}` must be at most {max} characters.")))
        }
        other => Ok(other),
    }
}

/// A required, non-blank string parameter.
pub fn required_text(param: &str, value: Option<String>, max: usize) -> Result<String, Invalid> {
    match text(param, value, max)? {
        None => Err(Invalid::missing(param)),
        Some(v) if v.trim().is_empty() => Err(Invalid::empty(param)),
        Some(v) => Ok(v),
    }
}

pub fn currency(param: &str, value: &str) -> Result<Currency, Invalid> {
    Currency::parse(value).ok_or_else(|| {
        Invalid::param(
            param,
            format!(
                "Invalid currency: {}. Use a lowercase ISO 4217 code that kassa supports.",
                value.chars().take(20).collect::<String>()
            ),
        )
    })
}

/// A plausible e-mail address: one `@` with text on both sides, a dot in the domain, no spaces.
pub fn email(param: &str, value: Option<String>) -> Result<Option<String>, Invalid> {
    let Some(v) = text(param, value, 512)? else { return Ok(None) };
    if v.is_empty() {
        return Ok(None);
    }
    let valid = match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !v.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(Some(v))
    } else {
        Err(Invalid::param(
            param,
            "Invalid email address: ".to_owned() + &v.chars().take(100).collect::<String>(),
        ))
    }
}

fn positive(param: &str, value: Option<Int>, max: i64) -> Result<Option<i64>, Invalid> {
    match value {
        None => Ok(None),
        Some(Int(v)) if v < 1 => Err(Invalid::param(param, format!("`{param}` must be at least 1."))),
        Some(Int(v)) if v > max => Err(Invalid::param(param, format!("`{param}` must be at most {max}."))),
        Some(Int(v)) => Ok(Some(v)),
    }
}

fn future(param: &str, value: Option<Int>, now: Timestamp) -> Result<Option<Timestamp>, Invalid> {
    match value {
        Some(Int(t)) if t <= now => Err(Invalid::param(param, format!("`{param}` must be in the future."))),
        Some(Int(t)) => Ok(Some(t)),
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// Products

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub name: String,
    pub active: bool,
    pub description: Option<String>,
    pub metadata: Metadata,
    /// Image URLs (a product created inline by a session's `price_data[product_data]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_code: Option<String>,
}

impl Product {
    pub fn create(p: ProductCreate, now: Timestamp) -> Result<Self, Invalid> {
        let id = match p.id {
            Some(id) => object_id("id", &id)?,
            None => ids::new_sortable_id(ids::prefix::PRODUCT),
        };
        Ok(Self {
            id,
            created: now,
            updated: now,
            name: required_text("name", p.name, MAX_TEXT)?,
            active: p.active.is_none_or(|b| b.0),
            description: text("description", p.description, 40_000)?.filter(|d| !d.is_empty()),
            metadata: metadata::create(p.metadata, "metadata")?,
            images: Vec::new(),
            tax_code: None,
        })
    }

    pub fn update(&mut self, p: ProductUpdate, now: Timestamp) -> Result<(), Invalid> {
        if p.name.is_some() {
            self.name = required_text("name", p.name, MAX_TEXT)?;
        }
        if let Some(a) = p.active {
            self.active = a.0;
        }
        if let Some(d) = text("description", p.description, 40_000)? {
            self.description = (!d.is_empty()).then_some(d);
        }
        self.metadata = metadata::update(std::mem::take(&mut self.metadata), p.metadata, "metadata")?;
        self.updated = now;
        Ok(())
    }
}

/// A merchant-chosen object id: 1–200 characters of letters, digits, `_` and `-`.
fn object_id(param: &str, id: &str) -> Result<String, Invalid> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(id.to_owned())
    } else {
        Err(Invalid::param(param, "Ids may contain only letters, digits, `_` and `-`, up to 200 characters."))
    }
}

// ---------------------------------------------------------------------------------------------
// Prices

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            "year" => Some(Self::Year),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// The largest `interval_count`: three years' worth, as Stripe allows.
    pub fn max_count(self) -> u32 {
        match self {
            Self::Day => 1095,
            Self::Week => 156,
            Self::Month => 36,
            Self::Year => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurring {
    pub interval: Interval,
    pub interval_count: u32,
}

impl Recurring {
    /// The end of a billing period that starts at `start`, calendar-correct: months and years keep
    /// `anchor_day` (the day of the month billing is anchored on), clamped to short months.
    pub fn period_end(&self, start: Timestamp, anchor_day: u32) -> Timestamp {
        use crate::time::{DAY, add_months};
        let n = self.interval_count;
        match self.interval {
            Interval::Day => start + DAY * i64::from(n),
            Interval::Week => start + 7 * DAY * i64::from(n),
            Interval::Month => add_months(start, n, anchor_day),
            Interval::Year => add_months(start, n.saturating_mul(12), anchor_day),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub id: String,
    pub created: Timestamp,
    pub product: String,
    pub currency: Currency,
    pub unit_amount: i64,
    pub recurring: Option<Recurring>,
    pub active: bool,
    pub nickname: Option<String>,
    pub lookup_key: Option<String>,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub metadata: Metadata,
    /// Whether the price includes tax: settable once from `unspecified`.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub tax_behavior: crate::shipping::TaxBehavior,
    /// Made by a session's or a subscription's `price_data`: retrievable by id, never listed
    /// ([`Kind::listed`](crate::store::Kind::listed)). Not part of the API object.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub inline: bool,
}

impl Price {
    /// `product` is the product named by `p.product`, if it exists in this account.
    pub fn create(p: PriceCreate, product: Option<&Product>, now: Timestamp) -> Result<Self, Invalid> {
        let product_id = required_text("product", p.product, MAX_TEXT)?;
        let Some(product) = product else {
            return Err(Invalid::no_such("product", &product_id, "product"));
        };
        let currency_code = required_text("currency", p.currency, 3 + 20)?;
        let currency = currency("currency", &currency_code)?;
        let unit_amount = match p.unit_amount {
            None => return Err(Invalid::missing("unit_amount")),
            Some(Int(a)) => unit_amount("unit_amount", a)?,
        };
        let recurring = p.recurring.map(|r| recurring("", r)).transpose()?;
        Ok(Self {
            id: ids::new_sortable_id(ids::prefix::PRICE),
            created: now,
            product: product.id.clone(),
            currency,
            unit_amount,
            recurring,
            active: p.active.is_none_or(|b| b.0),
            nickname: text("nickname", p.nickname, MAX_TEXT)?,
            lookup_key: text("lookup_key", p.lookup_key, 200)?,
            metadata: metadata::create(p.metadata, "metadata")?,
            tax_behavior: match p.tax_behavior.as_deref() {
                None => crate::shipping::TaxBehavior::Unspecified,
                Some(t) => crate::shipping::TaxBehavior::parse("tax_behavior", t)?,
            },
            inline: false,
        })
    }

    pub fn update(&mut self, p: PriceUpdate) -> Result<(), Invalid> {
        if let Some(t) = p.tax_behavior.as_deref() {
            let t = crate::shipping::TaxBehavior::parse("tax_behavior", t)?;
            if self.tax_behavior != crate::shipping::TaxBehavior::Unspecified && t != self.tax_behavior {
                return Err(Invalid::param(
                    "tax_behavior",
                    "`tax_behavior` cannot be changed once it is inclusive or exclusive.",
                ));
            }
            self.tax_behavior = t;
        }
        if let Some(a) = p.active {
            self.active = a.0;
        }
        if let Some(n) = text("nickname", p.nickname, MAX_TEXT)? {
            self.nickname = (!n.is_empty()).then_some(n);
        }
        if let Some(k) = text("lookup_key", p.lookup_key, 200)? {
            self.lookup_key = (!k.is_empty()).then_some(k);
        }
        self.metadata = metadata::update(std::mem::take(&mut self.metadata), p.metadata, "metadata")?;
        Ok(())
    }

    pub fn type_str(&self) -> &'static str {
        if self.recurring.is_some() { "recurring" } else { "one_time" }
    }
}

/// `recurring[interval]` and `[interval_count]`, their params named under `prefix`
/// (`line_items[0][price_data]` for an inline price, empty for `POST /prices`).
pub fn recurring(prefix: &str, r: RecurringParam) -> Result<Recurring, Invalid> {
    let param = |f: &str| {
        if prefix.is_empty() { format!("recurring[{f}]") } else { format!("{prefix}[recurring][{f}]") }
    };
    let interval_text = r.interval.ok_or_else(|| Invalid::missing(param("interval")))?;
    let interval = Interval::parse(&interval_text).ok_or_else(|| {
        Invalid::param(param("interval"), "`recurring[interval]` must be one of day, week, month or year.")
    })?;
    let interval_count = match r.interval_count {
        None => 1,
        Some(Int(c)) if c < 1 => {
            return Err(Invalid::param(param("interval_count"), "`recurring[interval_count]` must be at least 1."));
        }
        Some(Int(c)) => u32::try_from(c).ok().filter(|c| *c <= interval.max_count()).ok_or_else(|| {
            Invalid::param(
                param("interval_count"),
                format!(
                    "The maximum billing period is three years: `recurring[interval_count]` may be at most {} for `{}`.",
                    interval.max_count(),
                    interval.as_str()
                ),
            )
        })?,
    };
    Ok(Recurring { interval, interval_count })
}

/// A `unit_amount`: 0 to [`MAX_UNIT_AMOUNT`].
pub fn unit_amount(param: &str, value: i64) -> Result<i64, Invalid> {
    if value < 0 {
        return Err(Invalid::param(param, format!("`{param}` must be greater than or equal to 0.")));
    }
    if value > MAX_UNIT_AMOUNT {
        return Err(Invalid::new(
            ErrorCode::AmountTooLarge,
            param,
            format!("`{param}` must be at most {MAX_UNIT_AMOUNT}."),
        ));
    }
    Ok(value)
}

// ---------------------------------------------------------------------------------------------
// Customers

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub created: Timestamp,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    /// Cash balance per currency, in minor units.
    #[serde(default)]
    pub cash_balance: std::collections::BTreeMap<Currency, i64>,
    #[serde(default)]
    pub test_clock: Option<String>,
    /// Whether the customer has ever paid (for first-time-only promotion codes). Not shown.
    #[serde(default)]
    pub has_paid: bool,
    /// What a checkout collected: at completion for a new customer, and for an
    /// existing one as `customer_update` says.
    #[serde(default)]
    pub address: Option<crate::session::collection::Address>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub shipping: Option<crate::session::collection::ShippingDetails>,
    /// Whether the customer pays tax, and their tax ids (`/customers/{id}/tax_ids`).
    #[serde(default)]
    pub tax_exempt: crate::tax::TaxExempt,
    #[serde(default)]
    pub tax_ids: Vec<crate::tax::CustomerTaxId>,
    /// `invoice_settings[default_payment_method]`: the card the customer portal saved (issue 17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_payment_method: Option<String>,
}

/// `address` (or `shipping[address]`) of a customer create or update: each part at most 200
/// characters, the country an ISO code.
fn address_param(
    param: &str,
    p: crate::params::AddressParam,
) -> Result<crate::session::collection::Address, Invalid> {
    let part = |name: &str, v: Option<String>| -> Result<Option<String>, Invalid> {
        Ok(text(&format!("{param}[{name}]"), v, 200)?.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
    };
    let country = match part("country", p.country)? {
        None => None,
        Some(c) => Some(
            crate::country::parse(&c)
                .ok_or_else(|| {
                    Invalid::param(
                        format!("{param}[country]"),
                        format!("Country '{}' is unknown. Try using a 2-character alphanumeric country code instead, such as 'US', 'EG', or 'GB'.", c.chars().take(20).collect::<String>()),
                    )
                })?
                .to_owned(),
        ),
    };
    Ok(crate::session::collection::Address {
        line1: part("line1", p.line1)?,
        line2: part("line2", p.line2)?,
        city: part("city", p.city)?,
        postal_code: part("postal_code", p.postal_code)?,
        state: part("state", p.state)?,
        country,
    })
}

/// `shipping` of a customer create or update: `name` and `address` are required, as on Stripe.
fn shipping_param(
    p: crate::params::ShippingParam,
) -> Result<crate::session::collection::ShippingDetails, Invalid> {
    let name = text("shipping[name]", p.name, 256)?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Invalid::missing("shipping[name]"))?;
    let address =
        address_param("shipping[address]", p.address.ok_or_else(|| Invalid::missing("shipping[address]"))?)?;
    Ok(crate::session::collection::ShippingDetails { name, address })
}

impl Customer {
    pub fn create(p: CustomerCreate, now: Timestamp) -> Result<Self, Invalid> {
        Ok(Self {
            id: ids::new_sortable_id(ids::prefix::CUSTOMER),
            created: now,
            email: email("email", p.email)?,
            name: text("name", p.name, 256)?.filter(|n| !n.is_empty()),
            description: text("description", p.description, MAX_TEXT)?.filter(|d| !d.is_empty()),
            metadata: metadata::create(p.metadata, "metadata")?,
            cash_balance: Default::default(),
            test_clock: None,
            has_paid: false,
            address: p.address.map(|a| address_param("address", a)).transpose()?,
            phone: text("phone", p.phone, 40)?.filter(|n| !n.is_empty()),
            shipping: p.shipping.map(shipping_param).transpose()?,
            tax_exempt: match p.tax_exempt.as_deref() {
                None => crate::tax::TaxExempt::None,
                Some(t) => crate::tax::TaxExempt::parse(t)?,
            },
            tax_ids: Vec::new(),
            default_payment_method: None,
        })
    }

    pub fn update(&mut self, p: CustomerUpdate) -> Result<(), Invalid> {
        if p.email.is_some() {
            self.email = email("email", p.email)?;
        }
        if let Some(n) = text("name", p.name, 256)? {
            self.name = (!n.is_empty()).then_some(n);
        }
        if let Some(d) = text("description", p.description, MAX_TEXT)? {
            self.description = (!d.is_empty()).then_some(d);
        }
        if let Some(t) = p.tax_exempt.as_deref() {
            self.tax_exempt = crate::tax::TaxExempt::parse(t)?;
        }
        if let Some(a) = p.address {
            self.address = Some(address_param("address", a)?);
        }
        if let Some(s) = p.shipping {
            self.shipping = Some(shipping_param(s)?);
        }
        if let Some(ph) = text("phone", p.phone, 40)? {
            self.phone = (!ph.is_empty()).then_some(ph);
        }
        self.metadata = metadata::update(std::mem::take(&mut self.metadata), p.metadata, "metadata")?;
        Ok(())
    }

    /// Add a tax id unless the customer has it already (same type and value); the id's object.
    pub fn add_tax_id(
        &mut self,
        tax_id: crate::tax::CustomerTaxId,
    ) -> Result<crate::tax::CustomerTaxId, Invalid> {
        if let Some(t) = self.tax_ids.iter().find(|t| t.r#type == tax_id.r#type && t.value == tax_id.value) {
            return Ok(t.clone());
        }
        if self.tax_ids.len() >= crate::tax::MAX_CUSTOMER_TAX_IDS {
            return Err(Invalid::param(
                "value",
                format!("A customer has at most {} tax ids.", crate::tax::MAX_CUSTOMER_TAX_IDS),
            ));
        }
        self.tax_ids.push(tax_id.clone());
        Ok(tax_id)
    }
}

// ---------------------------------------------------------------------------------------------
// Coupons

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum CouponValue {
    Percent { percent: Percent },
    Amount { amount: i64, currency: Currency },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Duration {
    Once,
    Repeating { months: u32 },
    Forever,
}

impl Duration {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Once => "once",
            Self::Repeating { .. } => "repeating",
            Self::Forever => "forever",
        }
    }
}

/// What a discount does, copied onto a session when it is applied, so that its totals can be
/// recomputed (quantities change on the page) without the coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountTerms {
    pub value: CouponValue,
    /// Products whose lines the discount applies to; `None` means every line.
    pub applies_to: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    pub id: String,
    pub created: Timestamp,
    pub name: Option<String>,
    pub value: CouponValue,
    pub duration: Duration,
    pub max_redemptions: Option<u32>,
    pub redeem_by: Option<Timestamp>,
    pub applies_to: Option<Vec<String>>,
    pub times_redeemed: u32,
    pub metadata: Metadata,
}

/// Why a coupon or promotion code cannot be used now. The message is what the customer or the
/// merchant is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    CouponExpired,
    CouponExhausted,
    CurrencyMismatch(Currency),
    CodeInactive,
    CodeExpired,
    CodeExhausted,
    OtherCustomer,
    FirstTimeOnly,
    BelowMinimum { amount: i64, currency: Currency },
}

impl Unusable {
    /// Whether the reason is about the purchase at hand — its currency, its amount, its customer —
    /// rather than about the code itself (switched off, expired, used up, its coupon likewise).
    /// The hosted page names only these, and only for a code that is otherwise valid: the
    /// customer learns why the code does not fit their order, but a code that no order could use
    /// looks the same as one that does not exist.
    pub fn about_this_checkout(&self) -> bool {
        match self {
            Self::CurrencyMismatch(_)
            | Self::OtherCustomer
            | Self::FirstTimeOnly
            | Self::BelowMinimum { .. } => true,
            Self::CouponExpired
            | Self::CouponExhausted
            | Self::CodeInactive
            | Self::CodeExpired
            | Self::CodeExhausted => false,
        }
    }

    /// The error code a merchant sees when a coupon they named cannot be used.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::CouponExpired | Self::CouponExhausted => ErrorCode::CouponExpired,
            Self::CurrencyMismatch(_) => ErrorCode::ParameterInvalid,
            Self::CodeInactive
            | Self::CodeExpired
            | Self::CodeExhausted
            | Self::OtherCustomer
            | Self::FirstTimeOnly
            | Self::BelowMinimum { .. } => ErrorCode::PromotionCodeInvalid,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::CouponExpired => "This coupon has expired.".to_owned(),
            Self::CouponExhausted => "This coupon has reached its maximum number of redemptions.".to_owned(),
            Self::CurrencyMismatch(c) => format!("This coupon only applies to amounts in {c}."),
            Self::CodeInactive => "This promotion code is not active.".to_owned(),
            Self::CodeExpired => "This promotion code has expired.".to_owned(),
            Self::CodeExhausted => {
                "This promotion code has reached its maximum number of redemptions.".to_owned()
            }
            Self::OtherCustomer => "This promotion code is not valid for this customer.".to_owned(),
            Self::FirstTimeOnly => "This promotion code is only valid for first-time customers.".to_owned(),
            Self::BelowMinimum { amount, currency } => {
                format!("This promotion code requires a minimum order of {}.", currency.format(*amount))
            }
        }
    }
}

impl Coupon {
    pub fn create(
        p: CouponCreate,
        products_exist: impl Fn(&str) -> bool,
        now: Timestamp,
    ) -> Result<Self, Invalid> {
        let id = match p.id {
            Some(id) => object_id("id", &id)?,
            None => ids::new_coupon_id(),
        };
        let value = match (p.percent_off, p.amount_off) {
            (Some(_), Some(_)) => return Err(Invalid::exclusive("percent_off", "amount_off")),
            (None, None) => {
                return Err(Invalid::new(
                    ErrorCode::ParameterMissing,
                    "percent_off",
                    "You must specify either `percent_off` or `amount_off`.",
                ));
            }
            (Some(pct), None) => {
                if p.currency.is_some() {
                    return Err(Invalid::param("currency", "`currency` goes only with `amount_off`."));
                }
                let percent = Percent::parse(&pct.0).ok_or_else(|| {
                    Invalid::param(
                        "percent_off",
                        "`percent_off` must be greater than 0 and at most 100, with at most two decimal places.",
                    )
                })?;
                CouponValue::Percent { percent }
            }
            (None, Some(Int(amount))) => {
                if amount < 1 {
                    return Err(Invalid::param("amount_off", "`amount_off` must be at least 1."));
                }
                if amount > MAX_TOTAL {
                    return Err(Invalid::new(
                        ErrorCode::AmountTooLarge,
                        "amount_off",
                        format!("`amount_off` must be at most {MAX_TOTAL}."),
                    ));
                }
                let code = p.currency.ok_or_else(|| {
                    Invalid::new(
                        ErrorCode::ParameterMissing,
                        "currency",
                        "You must specify `currency` with `amount_off`.",
                    )
                })?;
                CouponValue::Amount { amount, currency: currency("currency", &code)? }
            }
        };
        let months = positive("duration_in_months", p.duration_in_months, 1200)?;
        let duration = match p.duration.as_deref() {
            None | Some("once") | Some("forever") if months.is_some() => {
                return Err(Invalid::param(
                    "duration_in_months",
                    "`duration_in_months` can only be given when `duration` is `repeating`.",
                ));
            }
            None | Some("once") => Duration::Once,
            Some("forever") => Duration::Forever,
            Some("repeating") => Duration::Repeating {
                months: months
                    .and_then(|m| u32::try_from(m).ok())
                    .ok_or_else(|| Invalid::missing("duration_in_months"))?,
            },
            Some(_) => {
                return Err(Invalid::param(
                    "duration",
                    "`duration` must be one of once, repeating or forever.",
                ));
            }
        };
        let max_redemptions = positive("max_redemptions", p.max_redemptions, i64::from(u32::MAX))?
            .and_then(|m| u32::try_from(m).ok());
        let redeem_by = future("redeem_by", p.redeem_by, now)?;
        let applies_to = match p.applies_to.and_then(|a| a.products) {
            None => None,
            Some(products) if products.is_empty() => {
                return Err(Invalid::param(
                    "applies_to[products]",
                    "`applies_to[products]` must name at least one product; leave `applies_to` out to apply to every product.",
                ));
            }
            Some(products) => {
                for (i, product) in products.iter().enumerate() {
                    if !products_exist(product) {
                        return Err(Invalid::no_such(
                            "product",
                            product,
                            format!("applies_to[products][{i}]"),
                        ));
                    }
                }
                Some(products)
            }
        };
        Ok(Self {
            id,
            created: now,
            name: text("name", p.name, 40)?.filter(|n| !n.is_empty()),
            value,
            duration,
            max_redemptions,
            redeem_by,
            applies_to,
            times_redeemed: 0,
            metadata: metadata::create(p.metadata, "metadata")?,
        })
    }

    pub fn update(&mut self, p: CouponUpdate) -> Result<(), Invalid> {
        if let Some(n) = text("name", p.name, 40)? {
            self.name = (!n.is_empty()).then_some(n);
        }
        self.metadata = metadata::update(std::mem::take(&mut self.metadata), p.metadata, "metadata")?;
        Ok(())
    }

    /// Stripe's `valid`: can the coupon still be newly applied?
    pub fn valid(&self, now: Timestamp) -> bool {
        self.usable(now).is_ok()
    }

    pub fn usable(&self, now: Timestamp) -> Result<(), Unusable> {
        if self.redeem_by.is_some_and(|t| now >= t) {
            return Err(Unusable::CouponExpired);
        }
        if self.max_redemptions.is_some_and(|m| self.times_redeemed >= m) {
            return Err(Unusable::CouponExhausted);
        }
        Ok(())
    }

    /// Can this coupon discount a session in `currency` now?
    pub fn usable_for(&self, currency: Currency, now: Timestamp) -> Result<(), Unusable> {
        self.usable(now)?;
        match self.value {
            CouponValue::Amount { currency: c, .. } if c != currency => Err(Unusable::CurrencyMismatch(c)),
            _ => Ok(()),
        }
    }

    pub fn terms(&self) -> DiscountTerms {
        DiscountTerms { value: self.value, applies_to: self.applies_to.clone() }
    }
}

// ---------------------------------------------------------------------------------------------
// Promotion codes

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restrictions {
    pub first_time_transaction: bool,
    pub minimum_amount: Option<i64>,
    pub minimum_amount_currency: Option<Currency>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionCode {
    pub id: String,
    pub created: Timestamp,
    /// As the merchant wrote it; matched case-insensitively.
    pub code: String,
    pub coupon: String,
    pub active: bool,
    pub customer: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub max_redemptions: Option<u32>,
    pub restrictions: Restrictions,
    pub times_redeemed: u32,
    pub metadata: Metadata,
}

/// Who is buying, as far as promotion-code restrictions care.
#[derive(Debug, Clone, Copy, Default)]
pub struct Buyer<'a> {
    pub customer: Option<&'a Customer>,
}

impl PromotionCode {
    /// `coupon` and `customer` are the objects named in `p`, if they exist in this account.
    pub fn create(
        p: PromotionCodeCreate,
        coupon: Option<&Coupon>,
        customer: Option<&Customer>,
        now: Timestamp,
    ) -> Result<Self, Invalid> {
        let (coupon_id, coupon_param) = match (p.coupon, p.promotion) {
            (Some(_), Some(_)) => return Err(Invalid::exclusive("coupon", "promotion")),
            (Some(c), None) => (c, "coupon"),
            (None, Some(promo)) => {
                if promo.r#type.as_deref().is_some_and(|t| t != "coupon") {
                    return Err(Invalid::param("promotion[type]", "`promotion[type]` must be `coupon`."));
                }
                (promo.coupon.ok_or_else(|| Invalid::missing("promotion[coupon]"))?, "promotion[coupon]")
            }
            (None, None) => return Err(Invalid::missing("coupon")),
        };
        let Some(coupon) = coupon else {
            return Err(Invalid::no_such("coupon", &coupon_id, coupon_param));
        };
        let code = match p.code {
            None => ids::random_base62(8).to_ascii_uppercase(),
            Some(code) => {
                let ok = !code.is_empty()
                    && code.len() <= 500
                    && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(Invalid::param(
                        "code",
                        "`code` may contain only letters, digits, `-` and `_`, up to 500 characters.",
                    ));
                }
                code
            }
        };
        let customer_id = match (p.customer, customer) {
            (None, _) => None,
            (Some(id), None) => return Err(Invalid::no_such("customer", &id, "customer")),
            (Some(_), Some(c)) => Some(c.id.clone()),
        };
        let expires_at = future("expires_at", p.expires_at, now)?;
        if let (Some(e), Some(r)) = (expires_at, coupon.redeem_by)
            && e > r
        {
            return Err(Invalid::param(
                "expires_at",
                "`expires_at` may not be later than the coupon's `redeem_by`.",
            ));
        }
        let max_redemptions = positive("max_redemptions", p.max_redemptions, i64::from(u32::MAX))?
            .and_then(|m| u32::try_from(m).ok());
        if let (Some(m), Some(cm)) = (max_redemptions, coupon.max_redemptions)
            && m > cm
        {
            return Err(Invalid::param(
                "max_redemptions",
                "`max_redemptions` may not exceed the coupon's `max_redemptions`.",
            ));
        }
        let restrictions = match p.restrictions {
            None => Restrictions::default(),
            Some(r) => {
                let minimum_amount = match r.minimum_amount {
                    None => None,
                    Some(Int(a)) if a < 1 => {
                        return Err(Invalid::param(
                            "restrictions[minimum_amount]",
                            "`restrictions[minimum_amount]` must be at least 1.",
                        ));
                    }
                    Some(Int(a)) if a > MAX_TOTAL => {
                        return Err(Invalid::new(
                            ErrorCode::AmountTooLarge,
                            "restrictions[minimum_amount]",
                            format!("`restrictions[minimum_amount]` must be at most {MAX_TOTAL}."),
                        ));
                    }
                    Some(Int(a)) => Some(a),
                };
                let minimum_amount_currency = match (minimum_amount, r.minimum_amount_currency) {
                    (Some(_), None) => return Err(Invalid::missing("restrictions[minimum_amount_currency]")),
                    (None, Some(_)) => {
                        return Err(Invalid::param(
                            "restrictions[minimum_amount_currency]",
                            "`restrictions[minimum_amount_currency]` goes only with `restrictions[minimum_amount]`.",
                        ));
                    }
                    (Some(_), Some(c)) => Some(currency("restrictions[minimum_amount_currency]", &c)?),
                    (None, None) => None,
                };
                Restrictions {
                    first_time_transaction: r.first_time_transaction.is_some_and(|b| b.0),
                    minimum_amount,
                    minimum_amount_currency,
                }
            }
        };
        Ok(Self {
            id: ids::new_id(ids::prefix::PROMOTION_CODE),
            created: now,
            code,
            coupon: coupon.id.clone(),
            active: p.active.is_none_or(|b| b.0),
            customer: customer_id,
            expires_at,
            max_redemptions,
            restrictions,
            times_redeemed: 0,
            metadata: metadata::create(p.metadata, "metadata")?,
        })
    }

    pub fn update(&mut self, p: PromotionCodeUpdate) -> Result<(), Invalid> {
        if let Some(a) = p.active {
            self.active = a.0;
        }
        self.metadata = metadata::update(std::mem::take(&mut self.metadata), p.metadata, "metadata")?;
        Ok(())
    }

    /// The code folded for case-insensitive matching and uniqueness.
    pub fn code_key(&self) -> String {
        self.code.to_ascii_lowercase()
    }

    /// Can this code discount a purchase of `subtotal` in `currency` by `buyer` now? The reasons
    /// about the code itself come first, so that one about the purchase
    /// ([`Unusable::about_this_checkout`]) is given only for a code that is otherwise valid.
    pub fn usable(
        &self,
        coupon: &Coupon,
        buyer: Buyer<'_>,
        currency: Currency,
        subtotal: i64,
        now: Timestamp,
    ) -> Result<(), Unusable> {
        if !self.active {
            return Err(Unusable::CodeInactive);
        }
        if self.expires_at.is_some_and(|t| now >= t) {
            return Err(Unusable::CodeExpired);
        }
        if self.max_redemptions.is_some_and(|m| self.times_redeemed >= m) {
            return Err(Unusable::CodeExhausted);
        }
        coupon.usable_for(currency, now)?;
        if let Some(only) = &self.customer
            && buyer.customer.is_none_or(|c| &c.id != only)
        {
            return Err(Unusable::OtherCustomer);
        }
        if self.restrictions.first_time_transaction && buyer.customer.is_some_and(|c| c.has_paid) {
            return Err(Unusable::FirstTimeOnly);
        }
        if let (Some(amount), Some(min_currency)) =
            (self.restrictions.minimum_amount, self.restrictions.minimum_amount_currency)
            && (min_currency != currency || subtotal < amount)
        {
            return Err(Unusable::BelowMinimum { amount, currency: min_currency });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Decimal, RestrictionsParam};

    fn coupon(p: CouponCreate) -> Result<Coupon, Invalid> {
        Coupon::create(p, |_| true, 1000)
    }

    #[test]
    fn coupon_rules() {
        let pct = |s: &str| CouponCreate { percent_off: Some(Decimal(s.into())), ..Default::default() };
        assert!(coupon(pct("25")).is_ok());
        assert!(coupon(pct("12.34")).is_ok());
        assert_eq!(coupon(pct("12.345")).unwrap_err().param.as_deref(), Some("percent_off"));
        assert!(coupon(pct("0")).is_err());
        assert!(coupon(pct("100.5")).is_err());
        let amount = CouponCreate { amount_off: Some(Int(500)), ..Default::default() };
        assert_eq!(coupon(amount.clone()).unwrap_err().param.as_deref(), Some("currency"));
        let amount = CouponCreate { currency: Some("usd".into()), ..amount };
        assert!(coupon(amount.clone()).is_ok());
        let both = CouponCreate { percent_off: Some(Decimal("5".into())), ..amount };
        assert_eq!(coupon(both).unwrap_err().code, ErrorCode::ParametersExclusive);
        let months_once = CouponCreate { duration_in_months: Some(Int(3)), ..pct("5") };
        assert_eq!(coupon(months_once).unwrap_err().param.as_deref(), Some("duration_in_months"));
        let repeating = CouponCreate { duration: Some("repeating".into()), ..pct("5") };
        assert_eq!(coupon(repeating.clone()).unwrap_err().code, ErrorCode::ParameterMissing);
        let repeating = CouponCreate { duration_in_months: Some(Int(3)), ..repeating };
        assert_eq!(coupon(repeating).unwrap().duration, Duration::Repeating { months: 3 });
        let nothing = CouponCreate {
            applies_to: Some(crate::params::AppliesToParam { products: Some(vec![]) }),
            ..pct("5")
        };
        assert_eq!(coupon(nothing).unwrap_err().param.as_deref(), Some("applies_to[products]"));
        let past = CouponCreate { redeem_by: Some(Int(999)), ..pct("5") };
        assert_eq!(coupon(past).unwrap_err().param.as_deref(), Some("redeem_by"));
    }

    #[test]
    fn coupon_validity() {
        let mut c = coupon(CouponCreate {
            percent_off: Some(Decimal("10".into())),
            max_redemptions: Some(Int(1)),
            redeem_by: Some(Int(2000)),
            ..Default::default()
        })
        .unwrap();
        assert!(c.valid(1500));
        assert!(!c.valid(2000));
        c.times_redeemed = 1;
        assert_eq!(c.usable(1500), Err(Unusable::CouponExhausted));
    }

    #[test]
    fn promotion_code_rules() {
        let c =
            coupon(CouponCreate { percent_off: Some(Decimal("10".into())), ..Default::default() }).unwrap();
        let p = PromotionCodeCreate {
            coupon: Some(c.id.clone()),
            code: Some("Summer-20".into()),
            restrictions: Some(RestrictionsParam {
                minimum_amount: Some(Int(1000)),
                minimum_amount_currency: Some("usd".into()),
                first_time_transaction: Some(crate::params::Bool(true)),
            }),
            ..Default::default()
        };
        let code = PromotionCode::create(p.clone(), Some(&c), None, 1000).unwrap();
        assert_eq!(code.code_key(), "summer-20");
        let usd = Currency::parse("usd").unwrap();
        assert!(code.usable(&c, Buyer::default(), usd, 1000, 1000).is_ok());
        assert!(matches!(
            code.usable(&c, Buyer::default(), usd, 999, 1000),
            Err(Unusable::BelowMinimum { .. })
        ));
        let eur = Currency::parse("eur").unwrap();
        assert!(code.usable(&c, Buyer::default(), eur, 5000, 1000).is_err());
        let mut returning = Customer::create(CustomerCreate::default(), 1).unwrap();
        returning.has_paid = true;
        let buyer = Buyer { customer: Some(&returning) };
        assert_eq!(code.usable(&c, buyer, usd, 5000, 1000), Err(Unusable::FirstTimeOnly));
        assert!(PromotionCode::create(p.clone(), None, None, 1000).is_err());
        let bad = PromotionCodeCreate { code: Some("no spaces".into()), ..p };
        assert_eq!(
            PromotionCode::create(bad, Some(&c), None, 1000).unwrap_err().param.as_deref(),
            Some("code")
        );
    }

    #[test]
    fn price_rules() {
        let product =
            Product::create(ProductCreate { name: Some("T".into()), ..Default::default() }, 1).unwrap();
        let base = PriceCreate {
            product: Some(product.id.clone()),
            currency: Some("usd".into()),
            unit_amount: Some(Int(1000)),
            ..Default::default()
        };
        assert!(Price::create(base.clone(), Some(&product), 1).is_ok());
        assert_eq!(Price::create(base.clone(), None, 1).unwrap_err().code, ErrorCode::ResourceMissing);
        let neg = PriceCreate { unit_amount: Some(Int(-1)), ..base.clone() };
        assert!(Price::create(neg, Some(&product), 1).is_err());
        let cur = PriceCreate { currency: Some("zzz".into()), ..base.clone() };
        assert_eq!(Price::create(cur, Some(&product), 1).unwrap_err().param.as_deref(), Some("currency"));
        let rec = PriceCreate {
            recurring: Some(crate::params::RecurringParam {
                interval: Some("month".into()),
                interval_count: Some(Int(37)),
            }),
            ..base
        };
        assert_eq!(
            Price::create(rec, Some(&product), 1).unwrap_err().param.as_deref(),
            Some("recurring[interval_count]")
        );
    }

    #[test]
    fn emails() {
        assert!(email("email", Some("a@b.co".into())).is_ok());
        for bad in ["a", "a@b", "@b.co", "a b@c.de", "a@.com"] {
            assert!(email("email", Some(bad.into())).is_err(), "{bad}");
        }
    }
}
