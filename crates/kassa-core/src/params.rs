//! Typed requests. Both of kassa's encodings — JSON and Stripe's bracketed form encoding — are
//! first decoded into one JSON tree by the app, then into these structs, so every rule is written
//! once. Every struct refuses unknown fields (Stripe's `parameter_unknown`), nested ones included.
//!
//! Form encoding carries only strings, so integers, booleans and decimals are wrapped in [`Int`],
//! [`Bool`] and [`Decimal`], which accept a JSON value of the right type or its string form. Their
//! error messages start with a fixed phrase (`invalid integer`, …) that the app maps to an error
//! code. Required parameters are `Option`s here and checked by the rules, which know the precise
//! bracketed `param` to name.
//!
//! Every request struct also derives `schemars::JsonSchema`: `GET /openapi.json` describes each
//! route's parameters from the struct its handler deserializes (`Params<T>`), so a parameter added
//! here is documented by that alone (its `///` comment becomes its description). A new wrapper type
//! needs a `JsonSchema` impl saying how it looks on the wire, as [`Int`] and the others below have.

use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// An integer: a JSON integer or a decimal string of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v).map(Int).map_err(|_| E::custom("invalid integer: too large"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int, E> {
                Err(E::custom(format!("invalid integer: {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                let t = v.trim();
                let digits = t.strip_prefix('-').unwrap_or(t);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom(format!("invalid integer: {}", truncate(v))));
                }
                t.parse::<i64>()
                    .map(Int)
                    .map_err(|_| E::custom(format!("invalid integer: {} is too large", truncate(v))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Int, E> {
                Err(E::custom(format!("invalid integer: {v}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean: JSON `true`/`false` or the strings `"true"`/`"false"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bool(pub bool);

impl<'de> Deserialize<'de> for Bool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Bool, E> {
                Ok(Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bool, E> {
                match v {
                    "true" => Ok(Bool(true)),
                    "false" => Ok(Bool(false)),
                    _ => Err(E::custom(format!("invalid boolean: {}", truncate(v)))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bool, E> {
                Err(E::custom(format!("invalid boolean: {v}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bool, E> {
                Err(E::custom(format!("invalid boolean: {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Bool, E> {
                Err(E::custom(format!("invalid boolean: {v}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A decimal number kept as its text (`12.5`), so that the rules can parse it exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(pub String);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                Ok(Decimal(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                Ok(Decimal(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Decimal, E> {
                Err(E::custom(format!("invalid decimal: {v}")))
            }
        }
        d.deserialize_any(V)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// `metadata`: a map of strings, or the empty string, which clears it on update. A value of
/// `""` removes that key on update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataParam {
    Clear,
    Set(BTreeMap<String, String>),
}

impl<'de> Deserialize<'de> for MetadataParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MetadataParam;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MetadataParam, E> {
                if v.is_empty() {
                    Ok(MetadataParam::Clear)
                } else {
                    Err(E::custom("invalid object: metadata must be a map of strings"))
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<MetadataParam, E> {
                Ok(MetadataParam::Clear)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MetadataParam, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, MetaValue>()? {
                    out.insert(k, v.0);
                }
                Ok(MetadataParam::Set(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A metadata value: a string, or a number or boolean given in JSON (kept as its text).
struct MetaValue(String);

impl<'de> Deserialize<'de> for MetaValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MetaValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MetaValue, E> {
                Ok(MetaValue(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MetaValue, E> {
                Ok(MetaValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MetaValue, E> {
                Ok(MetaValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<MetaValue, E> {
                Ok(MetaValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<MetaValue, E> {
                Ok(MetaValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A `created` filter: an exact timestamp or a range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeParam {
    pub gt: Option<Int>,
    pub gte: Option<Int>,
    pub lt: Option<Int>,
    pub lte: Option<Int>,
}

/// `created=123` or `created[gte]=100&created[lt]=200`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedFilter(pub RangeParam);

impl<'de> Deserialize<'de> for CreatedFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        match v {
            serde_json::Value::Object(_) => {
                RangeParam::deserialize(v).map(CreatedFilter).map_err(de::Error::custom)
            }
            other => {
                let exact = Int::deserialize(other).map_err(de::Error::custom)?;
                Ok(CreatedFilter(RangeParam { gte: Some(exact), lte: Some(exact), ..RangeParam::default() }))
            }
        }
    }
}

/// Only `expand`: retrieving one object.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retrieve {
    pub expand: Option<Vec<String>>,
}

// `{enabled}`: a feature turned on or off and nothing else (`phone_number_collection`,
// `automatic_tax`, the portal's `invoice_history`, …). A plain comment, not a doc comment: the
// derived schema would carry it into every parameter of this shape in `GET /openapi.json`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnabledParam {
    pub enabled: Option<Bool>,
}

impl EnabledParam {
    /// Whether the feature `param` names is on: off when `p` is not given; given, it must say
    /// `enabled` (`{param}[enabled]` is missing otherwise).
    pub fn on(param: &str, p: Option<Self>) -> Result<bool, crate::error::Invalid> {
        match p {
            None => Ok(false),
            Some(Self { enabled: None }) => Err(crate::error::Invalid::missing(format!("{param}[enabled]"))),
            Some(Self { enabled: Some(Bool(b)) }) => Ok(b),
        }
    }
}

/// The pagination every list takes.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub limit: Option<Int>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

macro_rules! list_params {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            pub limit: Option<Int>,
            pub starting_after: Option<String>,
            pub ending_before: Option<String>,
            pub expand: Option<Vec<String>>,
            pub created: Option<CreatedFilter>,
            $(pub $field: $ty,)*
        }

        impl $name {
            pub fn page(&self) -> Page {
                Page {
                    limit: self.limit,
                    starting_after: self.starting_after.clone(),
                    ending_before: self.ending_before.clone(),
                }
            }
        }
    };
}

list_params!(
    /// `GET /products`
    ProductList { active: Option<Bool> }
);
list_params!(
    /// `GET /prices`
    PriceList { active: Option<Bool>, product: Option<String>, currency: Option<String>, r#type: Option<String> }
);
list_params!(
    /// `GET /customers`
    CustomerList { email: Option<String> }
);
list_params!(
    /// `GET /coupons`
    CouponList {}
);
list_params!(
    /// `GET /promotion_codes`
    PromotionCodeList { active: Option<Bool>, code: Option<String>, coupon: Option<String>, customer: Option<String> }
);
list_params!(
    /// `GET /checkout/session`
    SessionList {
        customer: Option<String>,
        status: Option<String>,
        payment_intent: Option<String>,
        subscription: Option<String>,
    }
);
list_params!(
    /// `GET /checkout/session/{id}/line_items`
    LineItemList {}
);
list_params!(
    /// `GET /payment_intents`
    PaymentIntentList { customer: Option<String> }
);
list_params!(
    /// `GET /setup_intents`
    SetupIntentList { customer: Option<String> }
);
list_params!(
    /// `GET /payment_methods`
    PaymentMethodList { customer: Option<String>, r#type: Option<String> }
);
list_params!(
    /// `GET /subscriptions`: `status` also takes `all` and `ended`, as Stripe's does.
    SubscriptionList { customer: Option<String>, status: Option<String> }
);
list_params!(
    /// `GET /subscription_items`: `subscription` is required.
    SubscriptionItemList { subscription: Option<String> }
);
list_params!(
    /// `GET /invoiceitems`
    InvoiceItemList { customer: Option<String>, pending: Option<Bool> }
);
list_params!(
    /// `GET /invoices`
    InvoiceList { customer: Option<String>, subscription: Option<String>, status: Option<String> }
);
list_params!(
    /// `GET /events`: `type` is one type or a group with `*` (`customer.*`); `types` several.
    EventList { r#type: Option<String>, types: Option<Vec<String>> }
);
list_params!(
    /// `GET /webhook_endpoints`
    WebhookEndpointList {}
);
list_params!(
    /// `GET /test_helpers/test_clocks`
    TestClockList {}
);
list_params!(
    /// `GET /tax_rates`
    TaxRateList { active: Option<Bool>, inclusive: Option<Bool> }
);
list_params!(
    /// `GET /customers/{id}/tax_ids`
    TaxIdList {}
);
list_params!(
    /// `GET /shipping_rates`
    ShippingRateList { active: Option<Bool>, currency: Option<String> }
);
list_params!(
    /// `GET /webhook_deliveries` (kassa's own: every attempt at sending an event).
    WebhookDeliveryList { webhook_endpoint: Option<String>, event: Option<String>, status: Option<String> }
);

/// `POST /test_helpers/test_clocks`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestClockCreate {
    pub frozen_time: Option<Int>,
    pub name: Option<String>,
    pub expand: Option<Vec<String>>,
}

/// `POST /test_helpers/test_clocks/{id}/advance`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestClockAdvance {
    pub frozen_time: Option<Int>,
    pub expand: Option<Vec<String>>,
}

/// `POST /subscriptions/{id}`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionUpdate {
    /// Items to change (`id` with a new `price` or `quantity`), delete (`id`, `deleted`) or add
    /// (`price`, no `id`).
    pub items: Option<Vec<SubscriptionItemParam>>,
    /// `create_prorations` (default), `none` or `always_invoice`.
    pub proration_behavior: Option<String>,
    /// The moment the change is prorated from (within the current period); now by default.
    pub proration_date: Option<Int>,
    /// When the subscription ends (in the future); exclusive with `cancel_at_period_end`.
    pub cancel_at: Option<Int>,
    pub cancel_at_period_end: Option<Bool>,
    /// A payment method of the subscription's customer, charged from the next attempt on.
    pub default_payment_method: Option<String>,
    pub metadata: Option<MetadataParam>,
    /// `now` (a new period starts now, the old one's unused time credited) or `unchanged`.
    pub billing_cycle_anchor: Option<String>,
    /// `now` ends a trial now; a later time moves its end.
    pub trial_end: Option<IntOrWord>,
    /// `behavior=void` (and `resumes_at`): invoices are voided as they are made; `""` resumes.
    pub pause_collection: Option<PauseParam>,
    /// Accepted for compatibility (`allow_incomplete`, `default_incomplete`, `error_if_incomplete`,
    /// `pending_if_incomplete`).
    pub payment_behavior: Option<String>,
    pub description: Option<String>,
    /// Why the customer cancels (with `cancel_at_period_end` or `cancel_at`).
    pub cancellation_details: Option<CancellationDetailsParam>,
    pub expand: Option<Vec<String>>,
}

/// `cancellation_details` of `POST /subscriptions/{id}` and its cancel.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancellationDetailsParam {
    pub comment: Option<String>,
    /// `too_expensive`, `missing_features`, `switched_service`, `unused`, `customer_service`,
    /// `too_complex`, `low_quality` or `other`.
    pub feedback: Option<String>,
}

/// `items[]` of `POST /subscriptions/{id}`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionItemParam {
    pub id: Option<String>,
    pub price: Option<String>,
    pub quantity: Option<Int>,
    pub deleted: Option<Bool>,
    pub metadata: Option<MetadataParam>,
}

/// An integer, or one of a few words in its place (`trial_end=now`,
/// `billing_cycle_anchor=unchanged`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntOrWord {
    Int(i64),
    Word(String),
}

impl<'de> Deserialize<'de> for IntOrWord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        match &v {
            serde_json::Value::String(s)
                if !s.is_empty() && !s.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(Self::Word(s.clone()))
            }
            _ => Int::deserialize(v).map(|i| Self::Int(i.0)).map_err(de::Error::custom),
        }
    }
}

/// `POST /subscriptions`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCreate {
    /// The customer (required).
    pub customer: Option<String>,
    /// `price` and `quantity` of each item: recurring prices in one currency and interval.
    pub items: Option<Vec<SubscriptionItemParam>>,
    /// One of the customer's payment methods, charged for every invoice.
    pub default_payment_method: Option<String>,
    pub trial_period_days: Option<Int>,
    /// A Unix time in the future, or `now` (no trial).
    pub trial_end: Option<IntOrWord>,
    pub trial_from_plan: Option<Bool>,
    pub trial_settings: Option<TrialSettingsParam>,
    /// At most one: `coupon` or `promotion_code`.
    pub discounts: Option<Vec<DiscountParam>>,
    pub coupon: Option<String>,
    pub promotion_code: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub description: Option<String>,
    /// `allow_incomplete` (default), `default_incomplete` or `error_if_incomplete`.
    pub payment_behavior: Option<String>,
    /// `charge_automatically` (default) or `send_invoice` (with `days_until_due`).
    pub collection_method: Option<String>,
    pub days_until_due: Option<Int>,
    pub cancel_at: Option<Int>,
    pub cancel_at_period_end: Option<Bool>,
    /// A Unix time in the future that periods are anchored on; the first period until then is
    /// prorated.
    pub billing_cycle_anchor: Option<Int>,
    /// Accepted for compatibility: a creation charges the whole first period (or prorates up to
    /// `billing_cycle_anchor`).
    pub proration_behavior: Option<String>,
    pub off_session: Option<Bool>,
    pub expand: Option<Vec<String>>,
}

/// `pause_collection` of `POST /subscriptions/{id}`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseCollectionParam {
    /// `void` (kassa's one behavior).
    pub behavior: Option<String>,
    pub resumes_at: Option<Int>,
}

/// `pause_collection` is an object, or `""` to stop pausing.
#[derive(Debug, Clone)]
pub enum PauseParam {
    Set(PauseCollectionParam),
    Unset,
}

impl<'de> Deserialize<'de> for PauseParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        match &v {
            serde_json::Value::String(s) if s.is_empty() => Ok(Self::Unset),
            serde_json::Value::Null => Ok(Self::Unset),
            _ => PauseCollectionParam::deserialize(v).map(Self::Set).map_err(de::Error::custom),
        }
    }
}

/// `POST /subscriptions/{id}/resume`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionResume {
    /// `now` (default) or `unchanged`.
    pub billing_cycle_anchor: Option<String>,
    pub proration_behavior: Option<String>,
    pub proration_date: Option<Int>,
    pub expand: Option<Vec<String>>,
}

/// `POST /subscription_items/{id}`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionItemUpdate {
    pub price: Option<String>,
    pub quantity: Option<Int>,
    pub proration_behavior: Option<String>,
    pub proration_date: Option<Int>,
    pub payment_behavior: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

/// `POST /invoiceitems`, and `POST /invoiceitems/{id}` (everything but `customer`, `currency`,
/// `subscription`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceItemWrite {
    pub customer: Option<String>,
    /// A negative amount is a credit.
    pub amount: Option<Int>,
    pub unit_amount: Option<Int>,
    pub currency: Option<String>,
    /// A one-time price, instead of `amount`.
    pub price: Option<String>,
    pub quantity: Option<Int>,
    pub description: Option<String>,
    /// The subscription whose next invoice collects it (by default the customer's next invoice).
    pub subscription: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

/// `GET /invoices/upcoming`, `POST /invoices/create_preview`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoicePreview {
    pub customer: Option<String>,
    pub subscription: Option<String>,
    /// A change to preview (`GET /invoices/upcoming`'s names): as `POST /subscriptions/{id}`'s
    /// `items`, `proration_behavior`, `proration_date`.
    pub subscription_items: Option<Vec<SubscriptionItemParam>>,
    pub subscription_proration_behavior: Option<String>,
    pub subscription_proration_date: Option<Int>,
    /// The same, as `POST /invoices/create_preview` names it.
    pub subscription_details: Option<PreviewDetails>,
    pub expand: Option<Vec<String>>,
}

/// `subscription_details` of `POST /invoices/create_preview`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewDetails {
    pub items: Option<Vec<SubscriptionItemParam>>,
    pub proration_behavior: Option<String>,
    pub proration_date: Option<Int>,
}

/// `POST /subscriptions/{id}/cancel`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionCancel {
    pub invoice_now: Option<Bool>,
    pub prorate: Option<Bool>,
    /// Why the customer cancels.
    pub cancellation_details: Option<CancellationDetailsParam>,
    pub expand: Option<Vec<String>>,
}

/// `POST /payment_intents/{id}/cancel`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIntentCancel {
    pub cancellation_reason: Option<String>,
    pub expand: Option<Vec<String>>,
}

/// `POST /events/{id}/resend`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventResend {
    pub webhook_endpoint: Option<String>,
    pub expand: Option<Vec<String>>,
}

/// `POST /webhook_endpoints`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointCreate {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub api_version: Option<String>,
    pub expand: Option<Vec<String>>,
}

/// `POST /webhook_endpoints/{id}`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointUpdate {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub disabled: Option<Bool>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductCreate {
    pub id: Option<String>,
    pub name: Option<String>,
    pub active: Option<Bool>,
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdate {
    pub name: Option<String>,
    pub active: Option<Bool>,
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringParam {
    pub interval: Option<String>,
    pub interval_count: Option<Int>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceCreate {
    pub product: Option<String>,
    pub currency: Option<String>,
    pub unit_amount: Option<Int>,
    pub recurring: Option<RecurringParam>,
    pub active: Option<Bool>,
    pub nickname: Option<String>,
    pub lookup_key: Option<String>,
    pub metadata: Option<MetadataParam>,
    /// `inclusive`, `exclusive` or `unspecified`.
    pub tax_behavior: Option<String>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceUpdate {
    pub active: Option<Bool>,
    pub nickname: Option<String>,
    pub lookup_key: Option<String>,
    pub metadata: Option<MetadataParam>,
    /// Settable once from `unspecified`.
    pub tax_behavior: Option<String>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerCreate {
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
    /// The test clock the customer (and its subscriptions) follows.
    pub test_clock: Option<String>,
    /// `none`, `exempt` or `reverse`.
    pub tax_exempt: Option<String>,
    pub address: Option<AddressParam>,
    pub shipping: Option<ShippingParam>,
    pub phone: Option<String>,
    pub invoice_settings: Option<InvoiceSettingsParam>,
    pub expand: Option<Vec<String>>,
}

/// A customer's `invoice_settings`: the payment method its invoices and subscriptions are charged
/// with when they name none of their own.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceSettingsParam {
    /// One of the customer's attached payment methods; empty to unset.
    pub default_payment_method: Option<String>,
}

/// A customer's `address` (and `shipping[address]`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressParam {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
}

/// A customer's `shipping`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingParam {
    pub name: Option<String>,
    pub address: Option<AddressParam>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerUpdate {
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub tax_exempt: Option<String>,
    /// What the customer's next invoices are taxed by, with automatic tax (shipping first).
    pub address: Option<AddressParam>,
    pub shipping: Option<ShippingParam>,
    pub phone: Option<String>,
    pub invoice_settings: Option<InvoiceSettingsParam>,
    pub expand: Option<Vec<String>>,
}

/// `POST /customers/{id}/tax_ids`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxIdCreate {
    pub r#type: Option<String>,
    pub value: Option<String>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppliesToParam {
    pub products: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponCreate {
    pub id: Option<String>,
    pub name: Option<String>,
    pub percent_off: Option<Decimal>,
    pub amount_off: Option<Int>,
    pub currency: Option<String>,
    pub duration: Option<String>,
    pub duration_in_months: Option<Int>,
    pub max_redemptions: Option<Int>,
    pub redeem_by: Option<Int>,
    pub applies_to: Option<AppliesToParam>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponUpdate {
    pub name: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

/// `POST /tax_rates`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateCreate {
    pub display_name: Option<String>,
    pub percentage: Option<Decimal>,
    pub inclusive: Option<Bool>,
    pub active: Option<Bool>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub jurisdiction: Option<String>,
    pub description: Option<String>,
    pub tax_type: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

/// `POST /tax_rates/{id}`: `percentage` and `inclusive` never change, so it does not take them.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRateUpdate {
    pub display_name: Option<String>,
    pub active: Option<Bool>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub jurisdiction: Option<String>,
    pub description: Option<String>,
    pub tax_type: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictionsParam {
    pub first_time_transaction: Option<Bool>,
    pub minimum_amount: Option<Int>,
    pub minimum_amount_currency: Option<String>,
}

/// The newer API's way to name a promotion code's coupon: `promotion[type]=coupon&promotion[coupon]=…`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionParam {
    pub r#type: Option<String>,
    pub coupon: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionCodeCreate {
    pub code: Option<String>,
    pub coupon: Option<String>,
    pub promotion: Option<PromotionParam>,
    pub active: Option<Bool>,
    pub customer: Option<String>,
    pub expires_at: Option<Int>,
    pub max_redemptions: Option<Int>,
    pub restrictions: Option<RestrictionsParam>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionCodeUpdate {
    pub active: Option<Bool>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustableQuantityParam {
    pub enabled: Option<Bool>,
    pub minimum: Option<Int>,
    pub maximum: Option<Int>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemParam {
    pub price: Option<String>,
    /// An inline price, created with the session (exclusive with `price`).
    pub price_data: Option<PriceDataParam>,
    pub quantity: Option<Int>,
    pub adjustable_quantity: Option<AdjustableQuantityParam>,
    // Taxes (issue 16): see `session::taxes`.
    pub tax_rates: Option<Vec<String>>,
    pub dynamic_tax_rates: Option<Vec<String>>,
    /// Kept on the line item.
    pub metadata: Option<MetadataParam>,
}

/// `line_items[][price_data]`: a price created inline, not listed as an active catalog price.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceDataParam {
    pub currency: Option<String>,
    /// An existing product (exclusive with `product_data`).
    pub product: Option<String>,
    /// A product created inline (exclusive with `product`).
    pub product_data: Option<ProductDataParam>,
    pub unit_amount: Option<Int>,
    /// Whole minor units only (`"1250"` or `"1250.00"`): kassa charges no fractions of a cent.
    pub unit_amount_decimal: Option<Decimal>,
    pub recurring: Option<RecurringParam>,
    /// `exclusive`, `inclusive` or `unspecified`.
    pub tax_behavior: Option<String>,
}

/// `line_items[][price_data][product_data]`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductDataParam {
    pub name: Option<String>,
    pub description: Option<String>,
    pub images: Option<Vec<String>>,
    pub metadata: Option<MetadataParam>,
    pub tax_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountParam {
    pub coupon: Option<String>,
    pub promotion_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionDataParam {
    pub trial_period_days: Option<Int>,
    pub metadata: Option<MetadataParam>,
    /// The subscription's description.
    pub description: Option<String>,
    /// When the trial ends (at least 48 hours ahead); exclusive with `trial_period_days`.
    pub trial_end: Option<Int>,
    /// When the first full billing period starts (a future time before the first period ends).
    pub billing_cycle_anchor: Option<Int>,
    pub trial_settings: Option<TrialSettingsParam>,
    /// Rates for every line without its own (see `session::taxes`).
    pub default_tax_rates: Option<Vec<String>>,
}

/// `subscription_data[trial_settings]`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialSettingsParam {
    pub end_behavior: Option<TrialEndBehaviorParam>,
}

/// `subscription_data[trial_settings][end_behavior]`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialEndBehaviorParam {
    /// `cancel`, `create_invoice` or `pause`.
    pub missing_payment_method: Option<String>,
}

/// `payment_intent_data`: copied to the payment intent a payment-mode session creates.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIntentDataParam {
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub receipt_email: Option<String>,
    pub statement_descriptor: Option<String>,
    pub statement_descriptor_suffix: Option<String>,
    /// `on_session` or `off_session`.
    pub setup_future_usage: Option<String>,
    /// `automatic`, `automatic_async` or `manual` (the intent then waits in `requires_capture`).
    pub capture_method: Option<String>,
}

/// `POST /checkout/session/{id}`: what an open session lets change.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionUpdate {
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

/// `POST /payment_intents/{id}/capture`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIntentCapture {
    /// At most the amount; defaults to all of it.
    pub amount_to_capture: Option<Int>,
    pub expand: Option<Vec<String>>,
}

/// `POST /checkout/session`: the seed's parameters and the common extras.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCreate {
    pub line_items: Option<Vec<LineItemParam>>,
    pub mode: Option<String>,
    pub currency: Option<String>,
    pub customer: Option<String>,
    pub customer_email: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub allow_promotion_codes: Option<Bool>,
    pub discounts: Option<Vec<DiscountParam>>,
    pub payment_method_types: Option<Vec<String>>,
    pub subscription_data: Option<SubscriptionDataParam>,
    pub expand: Option<Vec<String>>,
    pub client_reference_id: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expires_at: Option<Int>,
    // What the hosted page collects (issue 15): see `session::collection`.
    pub billing_address_collection: Option<String>,
    pub shipping_address_collection: Option<crate::session::collection::ShippingAddressCollectionParam>,
    pub shipping_options: Option<Vec<crate::session::collection::ShippingOptionParam>>,
    pub phone_number_collection: Option<EnabledParam>,
    pub tax_id_collection: Option<crate::session::collection::TaxIdCollectionParam>,
    pub consent_collection: Option<crate::session::collection::ConsentCollectionParam>,
    pub custom_fields: Option<Vec<crate::session::collection::CustomFieldParam>>,
    pub custom_text: Option<crate::session::collection::CustomTextParam>,
    pub submit_type: Option<String>,
    pub locale: Option<String>,
    pub customer_update: Option<crate::session::collection::CustomerUpdateParam>,
    /// `always` or `if_required` (payment mode): whether paying creates a customer.
    pub customer_creation: Option<String>,
    pub payment_intent_data: Option<PaymentIntentDataParam>,
    /// `setup` mode only.
    pub setup_intent_data: Option<SetupIntentDataParam>,
    /// `always` or `if_required` (subscription mode): whether a card is collected when nothing is due.
    pub payment_method_collection: Option<String>,
    /// Payment mode: a paid invoice for the payment.
    pub invoice_creation: Option<InvoiceCreationParam>,
    /// A recovery URL once the session expires.
    pub after_expiration: Option<AfterExpirationParam>,
    // Taxes (issue 16): see `session::taxes`.
    pub automatic_tax: Option<EnabledParam>,
}

impl SessionCreate {
    /// Take the collection parameters out of the request, for `session::collection`.
    pub fn take_collection(&mut self) -> crate::session::collection::CollectionParams {
        crate::session::collection::CollectionParams {
            billing_address_collection: self.billing_address_collection.take(),
            shipping_address_collection: self.shipping_address_collection.take(),
            shipping_options: self.shipping_options.take(),
            phone_number_collection: self.phone_number_collection.take(),
            tax_id_collection: self.tax_id_collection.take(),
            consent_collection: self.consent_collection.take(),
            custom_fields: self.custom_fields.take(),
            custom_text: self.custom_text.take(),
            submit_type: self.submit_type.take(),
            locale: self.locale.take(),
            customer_update: self.customer_update.take(),
        }
    }
}

/// `after_expiration`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterExpirationParam {
    pub recovery: Option<RecoveryParam>,
}

/// `after_expiration[recovery]`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryParam {
    pub enabled: Option<Bool>,
    pub allow_promotion_codes: Option<Bool>,
}

/// `invoice_creation`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceCreationParam {
    pub enabled: Option<Bool>,
    pub invoice_data: Option<InvoiceDataParam>,
}

/// `invoice_creation[invoice_data]`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceDataParam {
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub footer: Option<String>,
    /// Up to 4 `name`/`value` pairs shown on the invoice.
    pub custom_fields: Option<Vec<InvoiceCustomFieldParam>>,
}

/// `invoice_creation[invoice_data][custom_fields][]`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceCustomFieldParam {
    pub name: Option<String>,
    pub value: Option<String>,
}

/// `setup_intent_data`: what the setup intent of a `mode=setup` session carries.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupIntentDataParam {
    pub description: Option<String>,
    pub metadata: Option<MetadataParam>,
}

// How the wrappers look on the wire, for the OpenAPI document (`schemars`): as Stripe's own document
// types them. A form body carries each as its text (`unit_amount=1200`, `active=true`).

macro_rules! wire_schema {
    ($ty:ty, $name:literal, $schema:tt) => {
        impl JsonSchema for $ty {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

wire_schema!(Int, "Int", {"type": "integer"});
wire_schema!(Bool, "Bool", {"type": "boolean"});
wire_schema!(Decimal, "Decimal", {"type": "number"});
wire_schema!(IntOrWord, "IntOrWord", {
    "description": "A Unix timestamp, or a word in its place (`now`, `unchanged`).",
    "anyOf": [{"type": "integer"}, {"type": "string"}]
});
wire_schema!(PauseParam, "PauseParam", {
    "description": "`behavior` (`void`) and `resumes_at`; `\"\"` to resume collection.",
    "anyOf": [
        {"type": "object", "properties": {"behavior": {"type": "string"}, "resumes_at": {"type": "integer"}}},
        {"type": "string", "enum": [""]}
    ]
});
wire_schema!(MetadataParam, "MetadataParam", {
    "description": "Set of key-value pairs; on update a key set to `\"\"` is removed, and `metadata=` (empty) clears them all.",
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500}},
        {"type": "string", "enum": [""]}
    ]
});
wire_schema!(CreatedFilter, "CreatedFilter", {
    "description": "An exact Unix timestamp, or a range with `gt`, `gte`, `lt`, `lte`.",
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "gt": {"type": "integer"},
                "gte": {"type": "integer"},
                "lt": {"type": "integer"},
                "lte": {"type": "integer"}
            },
            "additionalProperties": false
        },
        {"type": "integer"}
    ]
});

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ints_from_numbers_and_strings() {
        let ok: Int = serde_json::from_value(json!("42")).unwrap();
        assert_eq!(ok, Int(42));
        let ok: Int = serde_json::from_value(json!(-7)).unwrap();
        assert_eq!(ok, Int(-7));
        for bad in
            [json!("4.2"), json!("abc"), json!(""), json!(1.5), json!(true), json!("99999999999999999999")]
        {
            let err = serde_json::from_value::<Int>(bad.clone()).unwrap_err().to_string();
            assert!(err.starts_with("invalid integer"), "{bad}: {err}");
        }
        let err = serde_json::from_value::<Int>(json!(18446744073709551615u64)).unwrap_err();
        assert!(err.to_string().starts_with("invalid integer"));
    }

    #[test]
    fn bools_and_metadata() {
        assert_eq!(serde_json::from_value::<Bool>(json!("true")).unwrap(), Bool(true));
        assert!(serde_json::from_value::<Bool>(json!("yes")).is_err());
        let m: MetadataParam = serde_json::from_value(json!({"a": "1", "b": 2})).unwrap();
        assert_eq!(m, MetadataParam::Set([("a".into(), "1".into()), ("b".into(), "2".into())].into()));
        assert_eq!(serde_json::from_value::<MetadataParam>(json!("")).unwrap(), MetadataParam::Clear);
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        let err = serde_json::from_value::<SessionCreate>(json!({"bogus": 1})).unwrap_err();
        assert!(err.to_string().contains("unknown field `bogus`"));
        let err =
            serde_json::from_value::<SessionCreate>(json!({"line_items": [{"pricee": "x"}]})).unwrap_err();
        assert!(err.to_string().contains("unknown field `pricee`"));
    }

    #[test]
    fn created_filter_accepts_exact_or_range() {
        let exact: CreatedFilter = serde_json::from_value(json!("100")).unwrap();
        assert_eq!(exact.0.gte, Some(Int(100)));
        assert_eq!(exact.0.lte, Some(Int(100)));
        let range: CreatedFilter = serde_json::from_value(json!({"gt": "5", "lt": 9})).unwrap();
        assert_eq!(range.0.gt, Some(Int(5)));
        assert_eq!(range.0.lt, Some(Int(9)));
    }
}

/// `POST /test_helpers/customers/{id}/fund_cash_balance`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FundCashBalance {
    pub amount: Option<Int>,
    pub currency: Option<String>,
    pub reference: Option<String>,
    pub expand: Option<Vec<String>>,
}

list_params!(
    /// `GET /charges`
    ChargeList { customer: Option<String>, payment_intent: Option<String> }
);
list_params!(
    /// `GET /refunds`
    RefundList { charge: Option<String>, payment_intent: Option<String> }
);

/// `POST /refunds`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundCreate {
    pub charge: Option<String>,
    pub payment_intent: Option<String>,
    /// Defaults to all that is left to refund.
    pub amount: Option<Int>,
    /// `duplicate`, `fraudulent` or `requested_by_customer`.
    pub reason: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// The customer portal (issue 17): `/billing_portal/configurations` and `/billing_portal/sessions`.

/// `business_profile` of a portal configuration.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalBusinessProfileParam {
    pub headline: Option<String>,
    pub privacy_policy_url: Option<String>,
    pub terms_of_service_url: Option<String>,
}

/// `features[customer_update]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalCustomerUpdateParam {
    pub enabled: Option<Bool>,
    /// `email`, `address`, `shipping`, `phone`, `tax_id`, `name`.
    pub allowed_updates: Option<Vec<String>>,
}

/// `features[subscription_cancel][cancellation_reason]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalCancellationReasonParam {
    pub enabled: Option<Bool>,
    /// `too_expensive`, `missing_features`, `switched_service`, `unused`, `customer_service`,
    /// `too_complex`, `low_quality`, `other`.
    pub options: Option<Vec<String>>,
}

/// `features[subscription_cancel]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalSubscriptionCancelParam {
    pub enabled: Option<Bool>,
    /// `at_period_end` (default) or `immediately`.
    pub mode: Option<String>,
    /// `none` (default) or `create_prorations`; kassa prorates nothing on cancellation.
    pub proration_behavior: Option<String>,
    pub cancellation_reason: Option<PortalCancellationReasonParam>,
}

/// `features[subscription_update][products][]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalProductParam {
    pub product: Option<String>,
    pub prices: Option<Vec<String>>,
}

/// `features[subscription_update]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalSubscriptionUpdateParam {
    pub enabled: Option<Bool>,
    /// `price`, `quantity`, `promotion_code`.
    pub default_allowed_updates: Option<Vec<String>>,
    pub products: Option<Vec<PortalProductParam>>,
    /// `create_prorations` (default), `none` or `always_invoice`.
    pub proration_behavior: Option<String>,
}

/// `features` of a portal configuration.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalFeaturesParam {
    pub customer_update: Option<PortalCustomerUpdateParam>,
    /// A feature that is only on or off (`invoice_history`, `payment_method_update`).
    pub invoice_history: Option<EnabledParam>,
    /// A feature that is only on or off (`invoice_history`, `payment_method_update`).
    pub payment_method_update: Option<EnabledParam>,
    pub subscription_cancel: Option<PortalSubscriptionCancelParam>,
    pub subscription_update: Option<PortalSubscriptionUpdateParam>,
}

/// `POST /billing_portal/configurations` and `POST /billing_portal/configurations/{id}`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalConfigurationParams {
    /// Only on update: whether sessions may be created with it.
    pub active: Option<Bool>,
    pub business_profile: Option<PortalBusinessProfileParam>,
    /// Where the portal's return link goes when a session gives no `return_url`.
    pub default_return_url: Option<String>,
    /// Required on create.
    pub features: Option<PortalFeaturesParam>,
    /// A feature that is only on or off (`invoice_history`, `payment_method_update`).
    pub login_page: Option<EnabledParam>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

/// `POST /refunds/{id}`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundUpdate {
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

list_params!(
    /// `GET /billing_portal/configurations`
    PortalConfigurationList { active: Option<Bool>, is_default: Option<Bool> }
);

/// `flow_data[after_completion][redirect]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalRedirectParam {
    pub return_url: Option<String>,
}

/// `flow_data[after_completion][hosted_confirmation]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalConfirmationParam {
    pub custom_message: Option<String>,
}

/// `flow_data[after_completion]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalAfterCompletionParam {
    /// `redirect`, `portal_homepage` or `hosted_confirmation`.
    pub r#type: Option<String>,
    pub redirect: Option<PortalRedirectParam>,
    pub hosted_confirmation: Option<PortalConfirmationParam>,
}

/// `flow_data[subscription_cancel]` and `flow_data[subscription_update]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalFlowSubscriptionParam {
    pub subscription: Option<String>,
}

/// `flow_data[subscription_update_confirm][items][]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalFlowItemParam {
    pub id: Option<String>,
    pub price: Option<String>,
    pub quantity: Option<Int>,
}

/// `flow_data[subscription_update_confirm][discounts][]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalFlowDiscountParam {
    pub coupon: Option<String>,
    pub promotion_code: Option<String>,
}

/// `flow_data[subscription_update_confirm]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalFlowConfirmParam {
    pub subscription: Option<String>,
    pub items: Option<Vec<PortalFlowItemParam>>,
    pub discounts: Option<Vec<PortalFlowDiscountParam>>,
}

/// `flow_data` of `POST /billing_portal/sessions`: a portal that opens on one step.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalFlowParam {
    /// `payment_method_update`, `subscription_cancel`, `subscription_update` or
    /// `subscription_update_confirm`.
    pub r#type: Option<String>,
    pub after_completion: Option<PortalAfterCompletionParam>,
    pub subscription_cancel: Option<PortalFlowSubscriptionParam>,
    pub subscription_update: Option<PortalFlowSubscriptionParam>,
    pub subscription_update_confirm: Option<PortalFlowConfirmParam>,
}

/// `POST /billing_portal/sessions`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalSessionCreate {
    /// Required: the customer whose portal it is.
    pub customer: Option<String>,
    /// Where the portal's return link goes; the configuration's `default_return_url` if not given.
    pub return_url: Option<String>,
    /// A configuration of the account; its default one if not given.
    pub configuration: Option<String>,
    /// The portal's language (`auto` or a locale); kassa's portal is in English.
    pub locale: Option<String>,
    pub on_behalf_of: Option<String>,
    pub flow_data: Option<PortalFlowParam>,
    pub expand: Option<Vec<String>>,
}
