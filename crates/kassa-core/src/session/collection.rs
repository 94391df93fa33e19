//! Step 10b — what the hosted page collects: the billing address
//! (`billing_address_collection`), the shipping address and the shipping options
//! (`shipping_address_collection`, `shipping_options`), the phone number, tax ids, consent to the
//! terms of service and to promotions, up to three custom fields, custom texts, the submit
//! button's wording (`submit_type`), the page's language (`locale`), and which collected values
//! are written back to an existing customer (`customer_update`).
//!
//! Everything lives in one [`Collection`] on the session: the merchant's configuration, checked
//! here at creation with Stripe's rules (each refusal names the bracketed `param`), and, once the
//! customer paid, what they entered ([`Collected`]), checked by [`Collection::collect`] with a
//! refusal naming the page's field ([`FieldError`]).
//!
//! Shipping options are payment-mode only (Stripe refuses them in subscription mode), at most
//! five, each an existing active rate (`shipping_rate`) or a new one (`shipping_rate_data`, which
//! creation stores), in the session's currency. The first option is chosen until the customer
//! picks another; its amount adds to the session's total (`total_details.amount_shipping`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Mode, Resolved};
use crate::catalog::Customer;
use crate::error::{ErrorCode, Invalid};
use crate::money::Currency;
use crate::params::{Bool, EnabledParam};
use crate::shipping::{ShippingRate, ShippingRateCreate};
use crate::time::Timestamp;

pub const MAX_SHIPPING_OPTIONS: usize = 5;
pub const MAX_CUSTOM_FIELDS: usize = 3;
pub const MAX_CUSTOM_TEXT: usize = 1200;
pub const MAX_FIELD_KEY: usize = 200;
pub const MAX_FIELD_LABEL: usize = 50;
pub const MAX_DROPDOWN_OPTIONS: usize = 200;
pub const MAX_TEXT_LENGTH: i64 = 255;

/// The languages Stripe's Checkout takes in `locale` (besides `auto`). The page is written in
/// [`PAGE_LOCALES`]; any other falls back to English.
pub const LOCALES: &[&str] = &[
    "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA", "hr",
    "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sk",
    "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
];

/// The languages the hosted page is written in.
pub const PAGE_LOCALES: &[&str] = &["en", "de", "fr", "es", "nl", "it", "ja"];

/// ISO 3166-1 alpha-2 codes (and `XK`, Kosovo, which Stripe takes).
pub const COUNTRIES: &[&str] = crate::country::CODES;

/// Countries Stripe does not ship to (`shipping_address_collection[allowed_countries]`).
pub const NO_SHIPPING: &[&str] =
    &["AS", "CC", "CU", "CX", "FM", "HM", "IR", "KP", "MH", "MP", "NF", "PW", "SD", "SY", "UM", "VI"];

// ---------------------------------------------------------------------------------------------
// Parameters

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingAddressCollectionParam {
    pub allowed_countries: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingOptionParam {
    pub shipping_rate: Option<String>,
    pub shipping_rate_data: Option<ShippingRateCreate>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxIdCollectionParam {
    pub enabled: Option<Bool>,
    /// `if_supported` or `never`.
    pub required: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentCollectionParam {
    /// `required` or `none`.
    pub terms_of_service: Option<String>,
    /// `auto` or `none`.
    pub promotions: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldLabelParam {
    pub r#type: Option<String>,
    pub custom: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DropdownOptionParam {
    pub label: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DropdownParam {
    pub options: Option<Vec<DropdownOptionParam>>,
    pub default_value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LengthParam {
    pub minimum_length: Option<crate::params::Int>,
    pub maximum_length: Option<crate::params::Int>,
    pub default_value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldParam {
    pub key: Option<String>,
    pub label: Option<CustomFieldLabelParam>,
    /// `text`, `numeric` or `dropdown`.
    pub r#type: Option<String>,
    pub optional: Option<Bool>,
    pub dropdown: Option<DropdownParam>,
    pub text: Option<LengthParam>,
    pub numeric: Option<LengthParam>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageParam {
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomTextParam {
    pub submit: Option<MessageParam>,
    pub terms_of_service_acceptance: Option<MessageParam>,
    pub shipping_address: Option<MessageParam>,
    pub after_submit: Option<MessageParam>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerUpdateParam {
    /// `auto` or `never`.
    pub address: Option<String>,
    pub name: Option<String>,
    pub shipping: Option<String>,
}

/// The collection parameters of `POST /checkout/session`, gathered for [`collection`].
#[derive(Debug, Clone, Default)]
pub struct CollectionParams {
    pub billing_address_collection: Option<String>,
    pub shipping_address_collection: Option<ShippingAddressCollectionParam>,
    pub shipping_options: Option<Vec<ShippingOptionParam>>,
    pub phone_number_collection: Option<EnabledParam>,
    pub tax_id_collection: Option<TaxIdCollectionParam>,
    pub consent_collection: Option<ConsentCollectionParam>,
    pub custom_fields: Option<Vec<CustomFieldParam>>,
    pub custom_text: Option<CustomTextParam>,
    pub submit_type: Option<String>,
    pub locale: Option<String>,
    pub customer_update: Option<CustomerUpdateParam>,
}

// ---------------------------------------------------------------------------------------------
// What the session keeps

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingDetails {
    pub name: String,
    pub address: Address,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxId {
    pub r#type: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Numeric,
    Dropdown,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Numeric => "numeric",
            Self::Dropdown => "dropdown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropdownOption {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    pub key: String,
    pub label: String,
    pub r#type: FieldType,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub optional: bool,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub options: Vec<DropdownOption>,
    pub default_value: Option<String>,
    pub minimum_length: Option<i64>,
    pub maximum_length: Option<i64>,
    /// What the customer entered (the dropdown option's value).
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomText {
    pub submit: Option<String>,
    pub terms_of_service_acceptance: Option<String>,
    pub shipping_address: Option<String>,
    pub after_submit: Option<String>,
}

/// Which collected values go back to an existing customer (`auto`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerUpdate {
    pub address: bool,
    pub name: bool,
    pub shipping: bool,
}

/// What the customer entered on the page, kept once they paid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collected {
    pub phone: Option<String>,
    pub address: Option<Address>,
    pub shipping: Option<ShippingDetails>,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub tax_ids: Vec<TaxId>,
    /// `terms_of_service`: accepted.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub terms_accepted: bool,
    /// `promotions`: `Some(true)` opt-in, `Some(false)` opt-out, `None` not asked.
    pub promotions: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// `auto` or `required`; `None` when not given.
    pub billing_address: Option<String>,
    pub shipping_countries: Option<Vec<String>>,
    /// The options offered, as the rates were at creation.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub shipping_options: Vec<ShippingRate>,
    /// The index of the chosen option.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub shipping_choice: usize,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub phone: bool,
    /// `Some(required)` when enabled: `if_supported` or `never`.
    pub tax_id: Option<String>,
    pub terms_of_service: Option<String>,
    pub promotions: Option<String>,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub custom_fields: Vec<CustomField>,
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub custom_text: CustomText,
    pub submit_type: Option<String>,
    pub locale: Option<String>,
    pub customer_update: Option<CustomerUpdate>,
    /// Set when the customer paid.
    pub collected: Option<Collected>,
    /// The ids of rates this session created from `shipping_rate_data` (stored with it).
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub created_rates: Vec<String>,
}

impl Collection {
    /// The option the customer chose (the first until they pick another).
    pub fn shipping_rate(&self) -> Option<&ShippingRate> {
        self.shipping_options.get(self.shipping_choice)
    }

    /// The chosen option's amount, 0 without shipping options.
    pub fn shipping_amount(&self) -> i64 {
        self.shipping_rate().map_or(0, |r| r.amount)
    }

    /// Whether the billing address is collected on the page (`required`; kassa's test card never
    /// needs one, so `auto` collects none).
    pub fn wants_billing_address(&self) -> bool {
        self.billing_address.as_deref() == Some("required")
    }

    /// Choose the shipping option with rate `rate`; `false` if none of the options has it.
    pub fn choose_shipping(&mut self, rate: &str) -> bool {
        match self.shipping_options.iter().position(|r| r.id == rate) {
            Some(i) => {
                self.shipping_choice = i;
                true
            }
            None => false,
        }
    }

    /// The rates this session created, to store with it.
    pub fn new_rates(&self) -> impl Iterator<Item = &ShippingRate> {
        self.shipping_options.iter().filter(|r| self.created_rates.contains(&r.id))
    }
}

// ---------------------------------------------------------------------------------------------
// The rules at creation

fn one_of(param: &str, value: &str, allowed: &[&str]) -> Result<String, Invalid> {
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(Invalid::param(param, format!("Invalid {param}: must be one of {}", allowed.join(", "))))
    }
}

fn message(param: &str, m: Option<MessageParam>) -> Result<Option<String>, Invalid> {
    let Some(m) = m else { return Ok(None) };
    let param = format!("{param}[message]");
    match m.message {
        None => Err(Invalid::missing(param)),
        Some(t) if t.chars().count() > MAX_CUSTOM_TEXT => {
            Err(Invalid::param(param, format!("Custom text can have up to {MAX_CUSTOM_TEXT} characters.")))
        }
        Some(t) if t.trim().is_empty() => Ok(None),
        Some(t) => Ok(Some(t)),
    }
}

/// Apply the collection rules to `p`, for a session in `mode` and `currency` with `customer`.
pub(super) fn collection(
    p: CollectionParams,
    mode: Mode,
    currency: Currency,
    customer: Option<&Customer>,
    r: &Resolved<'_>,
    now: Timestamp,
) -> Result<Collection, Invalid> {
    let mut c = Collection::default();
    if let Some(b) = p.billing_address_collection {
        c.billing_address = Some(one_of("billing_address_collection", &b, &["auto", "required"])?);
    }
    if let Some(s) = p.shipping_address_collection {
        let param = "shipping_address_collection[allowed_countries]";
        let countries = s.allowed_countries.ok_or_else(|| Invalid::missing(param))?;
        if countries.is_empty() {
            return Err(Invalid::empty(param));
        }
        let mut out = Vec::with_capacity(countries.len());
        for (i, code) in countries.iter().enumerate() {
            let upper = code.to_ascii_uppercase();
            if !COUNTRIES.contains(&upper.as_str()) || NO_SHIPPING.contains(&upper.as_str()) {
                return Err(Invalid::param(
                    format!("{param}[{i}]"),
                    format!(
                        "Invalid {param}[{i}]: `{}` is not a country Checkout ships to.",
                        crate::error::shown(code)
                    ),
                ));
            }
            if !out.contains(&upper) {
                out.push(upper);
            }
        }
        c.shipping_countries = Some(out);
    }
    if let Some(options) = p.shipping_options {
        c.shipping_options = shipping_options(options, mode, currency, r, now)?;
        c.created_rates = c
            .shipping_options
            .iter()
            .filter(|o| !r.shipping_rates.contains_key(o.id.as_str()))
            .map(|o| o.id.clone())
            .collect();
    }
    c.phone = EnabledParam::on("phone_number_collection", p.phone_number_collection)?;
    if let Some(t) = p.tax_id_collection {
        let on = EnabledParam::on("tax_id_collection", Some(EnabledParam { enabled: t.enabled }))?;
        let required = match t.required.as_deref() {
            None => "never".to_owned(),
            Some(r) => one_of("tax_id_collection[required]", r, &["if_supported", "never"])?,
        };
        c.tax_id = on.then_some(required);
    }
    if let Some(consent) = p.consent_collection {
        if let Some(t) = consent.terms_of_service {
            c.terms_of_service =
                Some(one_of("consent_collection[terms_of_service]", &t, &["required", "none"])?);
        }
        if let Some(pr) = consent.promotions {
            c.promotions = Some(one_of("consent_collection[promotions]", &pr, &["auto", "none"])?);
        }
    }
    if let Some(fields) = p.custom_fields {
        c.custom_fields = custom_fields(fields)?;
    }
    if let Some(t) = p.custom_text {
        c.custom_text = CustomText {
            submit: message("custom_text[submit]", t.submit)?,
            terms_of_service_acceptance: message(
                "custom_text[terms_of_service_acceptance]",
                t.terms_of_service_acceptance,
            )?,
            shipping_address: message("custom_text[shipping_address]", t.shipping_address)?,
            after_submit: message("custom_text[after_submit]", t.after_submit)?,
        };
        if c.custom_text.terms_of_service_acceptance.is_some()
            && c.terms_of_service.as_deref() != Some("required")
        {
            return Err(Invalid::param(
                "custom_text[terms_of_service_acceptance]",
                "custom_text[terms_of_service_acceptance] can only be set when consent_collection[terms_of_service] is `required`.",
            ));
        }
    }
    if let Some(s) = p.submit_type {
        let allowed: &[&str] = match mode {
            Mode::Payment => &["auto", "pay", "book", "donate"],
            Mode::Subscription => &["auto", "subscribe"],
            Mode::Setup => &["auto"],
        };
        c.submit_type = Some(one_of("submit_type", &s, allowed)?);
    }
    if let Some(l) = p.locale {
        if l != "auto" && !LOCALES.contains(&l.as_str()) {
            return Err(Invalid::param("locale", format!("Invalid locale: {}", crate::error::shown(&l))));
        }
        c.locale = Some(l);
    }
    if let Some(u) = p.customer_update {
        if customer.is_none() {
            return Err(Invalid::param("customer_update", "customer_update can only be used with customer."));
        }
        let auto = |field: &str, v: Option<String>| -> Result<bool, Invalid> {
            match v {
                None => Ok(false),
                Some(v) => {
                    Ok(one_of(&format!("customer_update[{field}]"), &v, &["auto", "never"])? == "auto")
                }
            }
        };
        c.customer_update = Some(CustomerUpdate {
            address: auto("address", u.address)?,
            name: auto("name", u.name)?,
            shipping: auto("shipping", u.shipping)?,
        });
    }
    Ok(c)
}

fn shipping_options(
    options: Vec<ShippingOptionParam>,
    mode: Mode,
    currency: Currency,
    r: &Resolved<'_>,
    now: Timestamp,
) -> Result<Vec<ShippingRate>, Invalid> {
    if mode != Mode::Payment && !options.is_empty() {
        return Err(Invalid::param(
            "shipping_options",
            "shipping_options can only be used in `payment` mode.",
        ));
    }
    if options.len() > MAX_SHIPPING_OPTIONS {
        return Err(Invalid::param(
            "shipping_options",
            format!("You can pass up to {MAX_SHIPPING_OPTIONS} shipping options."),
        ));
    }
    let mut out: Vec<ShippingRate> = Vec::with_capacity(options.len());
    for (i, o) in options.into_iter().enumerate() {
        let at = format!("shipping_options[{i}]");
        let rate = match (o.shipping_rate.filter(|s| !s.is_empty()), o.shipping_rate_data) {
            (Some(_), Some(_)) => {
                return Err(Invalid::exclusive(
                    &format!("{at}[shipping_rate]"),
                    &format!("{at}[shipping_rate_data]"),
                ));
            }
            (None, None) => {
                return Err(Invalid::new(
                    ErrorCode::ParameterMissing,
                    at.clone(),
                    format!("Each of shipping_options needs shipping_rate or shipping_rate_data ({at})."),
                ));
            }
            (Some(id), None) => {
                let param = format!("{at}[shipping_rate]");
                let rate = r
                    .shipping_rates
                    .get(id.as_str())
                    .copied()
                    .ok_or_else(|| Invalid::no_such("shipping_rate", &id, &param))?;
                if !rate.active {
                    return Err(Invalid::param(param, format!("The shipping rate {id} is not active.")));
                }
                if rate.currency != currency {
                    return Err(Invalid::param(
                        param,
                        format!(
                            "The shipping rate {id} is in {}, but the session is in {}.",
                            rate.currency.as_str(),
                            currency.as_str()
                        ),
                    ));
                }
                rate.clone()
            }
            (None, Some(data)) => {
                let data_at = format!("{at}[shipping_rate_data]");
                if data.expand.is_some() {
                    return Err(Invalid::new(
                        ErrorCode::ParameterUnknown,
                        format!("{data_at}[expand]"),
                        format!("Received unknown parameter: {data_at}[expand]"),
                    ));
                }
                let rate = ShippingRate::create(data, &data_at, now)?;
                if rate.currency != currency {
                    return Err(Invalid::param(
                        format!("{data_at}[fixed_amount][currency]"),
                        format!(
                            "The shipping rate must be in the session's currency ({}).",
                            currency.as_str()
                        ),
                    ));
                }
                rate
            }
        };
        if out.iter().any(|o| o.id == rate.id) {
            return Err(Invalid::param(
                format!("{at}[shipping_rate]"),
                "A shipping rate can be offered only once.",
            ));
        }
        out.push(rate);
    }
    Ok(out)
}

fn custom_fields(fields: Vec<CustomFieldParam>) -> Result<Vec<CustomField>, Invalid> {
    if fields.len() > MAX_CUSTOM_FIELDS {
        return Err(Invalid::param(
            "custom_fields",
            format!("You can pass up to {MAX_CUSTOM_FIELDS} custom fields."),
        ));
    }
    let mut out: Vec<CustomField> = Vec::with_capacity(fields.len());
    for (i, f) in fields.into_iter().enumerate() {
        let at = |s: &str| format!("custom_fields[{i}][{s}]");
        let key = f.key.ok_or_else(|| Invalid::missing(at("key")))?;
        if key.is_empty()
            || key.chars().count() > MAX_FIELD_KEY
            || !key.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(Invalid::param(
                at("key"),
                format!("A custom field's key is 1 to {MAX_FIELD_KEY} letters and digits."),
            ));
        }
        if out.iter().any(|o| o.key == key) {
            return Err(Invalid::param(at("key"), "Custom field keys must be unique."));
        }
        let label = f.label.ok_or_else(|| Invalid::missing(at("label")))?;
        match label.r#type.as_deref() {
            None => return Err(Invalid::missing(format!("{}[type]", at("label")))),
            Some("custom") => {}
            Some(t) => {
                return Err(Invalid::param(
                    format!("{}[type]", at("label")),
                    format!("Invalid label type: {}", crate::error::shown(t)),
                ));
            }
        }
        let label_param = format!("{}[custom]", at("label"));
        let label = crate::catalog::required_text(&label_param, label.custom, MAX_FIELD_LABEL)?;
        let r#type = match f.r#type.as_deref() {
            None => return Err(Invalid::missing(at("type"))),
            Some("text") => FieldType::Text,
            Some("numeric") => FieldType::Numeric,
            Some("dropdown") => FieldType::Dropdown,
            Some(t) => one_of(&at("type"), t, &["dropdown", "numeric", "text"]).map(|_| FieldType::Text)?,
        };
        let mut field = CustomField {
            key,
            label,
            r#type,
            optional: f.optional.is_some_and(|b| b.0),
            options: Vec::new(),
            default_value: None,
            minimum_length: None,
            maximum_length: None,
            value: None,
        };
        for (name, given, wanted) in [
            ("dropdown", f.dropdown.is_some(), FieldType::Dropdown),
            ("text", f.text.is_some(), FieldType::Text),
            ("numeric", f.numeric.is_some(), FieldType::Numeric),
        ] {
            if given && r#type != wanted {
                return Err(Invalid::param(
                    at(name),
                    format!("custom_fields[{i}][{name}] can only be set on a `{name}` field."),
                ));
            }
        }
        match r#type {
            FieldType::Dropdown => {
                let d = f.dropdown.ok_or_else(|| Invalid::missing(at("dropdown")))?;
                let param = format!("{}[options]", at("dropdown"));
                let options = d.options.ok_or_else(|| Invalid::missing(&param))?;
                if options.is_empty() || options.len() > MAX_DROPDOWN_OPTIONS {
                    return Err(Invalid::param(
                        &param,
                        format!("A dropdown has 1 to {MAX_DROPDOWN_OPTIONS} options."),
                    ));
                }
                for (j, o) in options.into_iter().enumerate() {
                    let label = crate::catalog::required_text(&format!("{param}[{j}][label]"), o.label, 100)?;
                    let vp = format!("{param}[{j}][value]");
                    let value = crate::catalog::required_text(&vp, o.value, 100)?;
                    if !value.chars().all(|c| c.is_ascii_alphanumeric()) {
                        return Err(Invalid::param(vp, "A dropdown option's value is letters and digits."));
                    }
                    if field.options.iter().any(|o| o.value == value) {
                        return Err(Invalid::param(vp, "Dropdown option values must be unique."));
                    }
                    field.options.push(DropdownOption { label, value });
                }
                if let Some(v) = d.default_value.filter(|v| !v.is_empty()) {
                    if !field.options.iter().any(|o| o.value == v) {
                        return Err(Invalid::param(
                            format!("{}[default_value]", at("dropdown")),
                            "The default value must be one of the options' values.",
                        ));
                    }
                    field.default_value = Some(v);
                }
            }
            FieldType::Text | FieldType::Numeric => {
                let name = r#type.as_str();
                if let Some(l) = if r#type == FieldType::Text { f.text } else { f.numeric } {
                    let bound = |which: &str,
                                 v: Option<crate::params::Int>|
                     -> Result<Option<i64>, Invalid> {
                        match v {
                            None => Ok(None),
                            Some(crate::params::Int(n)) if (0..=MAX_TEXT_LENGTH).contains(&n) => Ok(Some(n)),
                            Some(_) => Err(Invalid::param(
                                format!("{}[{which}]", at(name)),
                                format!("{which} must be between 0 and {MAX_TEXT_LENGTH}."),
                            )),
                        }
                    };
                    field.minimum_length = bound("minimum_length", l.minimum_length)?;
                    field.maximum_length = bound("maximum_length", l.maximum_length)?;
                    if let (Some(min), Some(max)) = (field.minimum_length, field.maximum_length)
                        && min > max
                    {
                        return Err(Invalid::param(
                            format!("{}[minimum_length]", at(name)),
                            "minimum_length must not exceed maximum_length.",
                        ));
                    }
                    field.default_value =
                        crate::catalog::text(&format!("{}[default_value]", at(name)), l.default_value, 255)?
                            .filter(|v| !v.is_empty());
                }
            }
        }
        out.push(field);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// What the customer enters on the page

/// The tax id types the page offers, each checked for its format by [`tax_id_valid`].
pub const TAX_ID_TYPES: &[&str] = &["eu_vat", "gb_vat", "us_ein", "au_abn", "ca_bn", "in_gst"];

/// The EU's VAT prefixes (Greece's is `EL`; `XI` is Northern Ireland).
const EU_VAT_PREFIXES: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
];

/// Whether `value` (spaces, dots and dashes ignored where the format allows them) is a tax id of
/// `kind` in its published format.
pub fn tax_id_valid(kind: &str, value: &str) -> bool {
    let compact: String =
        value.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect::<String>().to_ascii_uppercase();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match kind {
        "eu_vat" => {
            compact.get(..2).is_some_and(|p| EU_VAT_PREFIXES.contains(&p))
                && (if compact.starts_with("RO") { 2..=10 } else { 8..=12 }).contains(&(compact.len() - 2))
                && compact[2..].bytes().all(|b| b.is_ascii_alphanumeric())
                && compact[2..].bytes().any(|b| b.is_ascii_digit())
        }
        "gb_vat" => compact.strip_prefix("GB").is_some_and(|r| {
            digits(r, 9)
                || digits(r, 12)
                || (r.len() == 5 && (r.starts_with("GD") || r.starts_with("HA")) && digits(&r[2..], 3))
        }),
        // NN-NNNNNNN
        "us_ein" => {
            let v = value.trim();
            digits(&compact, 9) && (v.len() == 9 || (v.len() == 10 && v.as_bytes()[2] == b'-'))
        }
        "au_abn" => digits(&compact, 11),
        // The nine-digit business number.
        "ca_bn" => digits(&compact, 9),
        // 2 digits (state), PAN (5 letters, 4 digits, 1 letter), entity number, `Z`, checksum.
        "in_gst" => {
            let b = compact.as_bytes();
            b.len() == 15
                && b[..2].iter().all(u8::is_ascii_digit)
                && b[2..7].iter().all(u8::is_ascii_uppercase)
                && b[7..11].iter().all(u8::is_ascii_digit)
                && b[11].is_ascii_uppercase()
                && b[12].is_ascii_alphanumeric()
                && b[13] == b'Z'
                && b[14].is_ascii_alphanumeric()
        }
        _ => false,
    }
}

/// A plausible phone number: digits with an optional leading `+` and spaces, dashes, dots or
/// parentheses between them; 6 to 15 digits.
pub fn phone_valid(value: &str) -> bool {
    let v = value.trim();
    let body = v.strip_prefix('+').unwrap_or(v);
    let n = body.bytes().filter(u8::is_ascii_digit).count();
    (6..=15).contains(&n) && body.bytes().all(|b| b.is_ascii_digit() || b" -.()".contains(&b))
}

/// The page's fields, each named by its form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    AddressLine1,
    AddressCity,
    AddressPostalCode,
    AddressCountry,
    ShippingName,
    ShippingLine1,
    ShippingCity,
    ShippingPostalCode,
    ShippingCountry,
    ShippingOption,
    Phone,
    TaxIdType,
    TaxIdValue,
    Terms,
    /// The custom field at this index.
    Custom(usize),
}

/// A value the page refused: missing or malformed, in `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub missing: bool,
}

/// The page's form, as the pairs it sent (the last value of a name wins).
pub struct PageForm<'a>(pub &'a [(String, String)]);

impl PageForm<'_> {
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().rev().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
    }

    fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|v| !v.is_empty()).map(|v| v.chars().take(200).collect())
    }
}

fn need(form: &PageForm<'_>, name: &str, field: Field) -> Result<String, FieldError> {
    form.opt(name).ok_or(FieldError { field, missing: true })
}

fn bad(field: Field) -> FieldError {
    FieldError { field, missing: false }
}

impl Collection {
    /// Check what the customer entered against what this session collects; the values, with
    /// each custom field's value, or the first field missing or malformed.
    pub fn collect(&self, form: &PageForm<'_>) -> Result<(Collected, Vec<Option<String>>), FieldError> {
        let mut out = Collected::default();
        if self.wants_billing_address() {
            let country = need(form, "address_country", Field::AddressCountry)?.to_ascii_uppercase();
            if !COUNTRIES.contains(&country.as_str()) {
                return Err(bad(Field::AddressCountry));
            }
            out.address = Some(Address {
                line1: Some(need(form, "address_line1", Field::AddressLine1)?),
                line2: form.opt("address_line2"),
                city: Some(need(form, "address_city", Field::AddressCity)?),
                postal_code: Some(need(form, "address_postal_code", Field::AddressPostalCode)?),
                state: form.opt("address_state"),
                country: Some(country),
            });
        }
        if let Some(allowed) = &self.shipping_countries {
            let country = need(form, "shipping_country", Field::ShippingCountry)?.to_ascii_uppercase();
            if !allowed.contains(&country) {
                return Err(bad(Field::ShippingCountry));
            }
            out.shipping = Some(ShippingDetails {
                name: need(form, "shipping_name", Field::ShippingName)?,
                address: Address {
                    line1: Some(need(form, "shipping_line1", Field::ShippingLine1)?),
                    line2: form.opt("shipping_line2"),
                    city: Some(need(form, "shipping_city", Field::ShippingCity)?),
                    postal_code: Some(need(form, "shipping_postal_code", Field::ShippingPostalCode)?),
                    state: form.opt("shipping_state"),
                    country: Some(country),
                },
            });
        }
        if self.phone {
            let phone = need(form, "phone", Field::Phone)?;
            if !phone_valid(&phone) {
                return Err(bad(Field::Phone));
            }
            out.phone = Some(phone);
        }
        if let Some(required) = &self.tax_id {
            match form.opt("tax_id_value") {
                None if required == "if_supported" => {
                    return Err(FieldError { field: Field::TaxIdValue, missing: true });
                }
                None => {}
                Some(value) => {
                    let kind = need(form, "tax_id_type", Field::TaxIdType)?;
                    if !TAX_ID_TYPES.contains(&kind.as_str()) {
                        return Err(bad(Field::TaxIdType));
                    }
                    if !tax_id_valid(&kind, &value) {
                        return Err(bad(Field::TaxIdValue));
                    }
                    out.tax_ids.push(TaxId { r#type: kind, value });
                }
            }
        }
        if self.terms_of_service.as_deref() == Some("required") {
            if form.get("terms").is_empty() {
                return Err(FieldError { field: Field::Terms, missing: true });
            }
            out.terms_accepted = true;
        }
        if self.promotions.as_deref() == Some("auto") {
            out.promotions = Some(!form.get("promotions").is_empty());
        }
        let mut values = Vec::with_capacity(self.custom_fields.len());
        for (i, f) in self.custom_fields.iter().enumerate() {
            let value = form.opt(&format!("custom_field[{}]", f.key));
            let Some(value) = value else {
                if f.optional {
                    values.push(None);
                    continue;
                }
                return Err(FieldError { field: Field::Custom(i), missing: true });
            };
            let len = i64::try_from(value.chars().count()).unwrap_or(i64::MAX);
            let ok = match f.r#type {
                FieldType::Dropdown => f.options.iter().any(|o| o.value == value),
                FieldType::Numeric | FieldType::Text => {
                    (f.r#type == FieldType::Text || value.bytes().all(|b| b.is_ascii_digit()))
                        && f.minimum_length.is_none_or(|m| len >= m)
                        && f.maximum_length.unwrap_or(MAX_TEXT_LENGTH) >= len
                }
            };
            if !ok {
                return Err(bad(Field::Custom(i)));
            }
            values.push(Some(value));
        }
        Ok((out, values))
    }

    /// Keep what the customer entered (they paid).
    pub fn keep(&mut self, collected: Collected, values: Vec<Option<String>>) {
        for (f, v) in self.custom_fields.iter_mut().zip(values) {
            f.value = v;
        }
        self.collected = Some(collected);
    }

    /// Write what was collected to the session's `customer`: everything to a customer created at
    /// completion, and to an existing one what `customer_update` says. Whether anything changed.
    pub fn update_customer(&self, customer: &mut Customer, is_new: bool, name: Option<&str>) -> bool {
        let Some(c) = &self.collected else { return false };
        let wants = if is_new {
            CustomerUpdate { address: true, name: true, shipping: true }
        } else {
            self.customer_update.unwrap_or_default()
        };
        let before = customer.clone();
        if wants.address && c.address.is_some() {
            customer.address.clone_from(&c.address);
        }
        if wants.name
            && let Some(n) = name
        {
            customer.name = Some(n.to_owned());
        }
        if wants.shipping && c.shipping.is_some() {
            customer.shipping.clone_from(&c.shipping);
        }
        if is_new && c.phone.is_some() {
            customer.phone.clone_from(&c.phone);
        }
        *customer != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_id_formats() {
        for (kind, ok, bad) in [
            ("eu_vat", "DE123456789", "XX123456789"),
            ("eu_vat", "FR 12 345678901", "DE"),
            ("eu_vat", "ATU12345678", "DE12"),
            ("eu_vat", "DE123456789", "é123456789"),
            ("gb_vat", "GB123456789", "GB12345678"),
            ("us_ein", "12-3456789", "123-456789"),
            ("au_abn", "12 345 678 901", "1234567890"),
            ("ca_bn", "123456789", "12345678A"),
            ("in_gst", "22AAAAA0000A1Z5", "22AAAAA0000A1X5"),
        ] {
            assert!(tax_id_valid(kind, ok), "{kind} {ok}");
            assert!(!tax_id_valid(kind, bad), "{kind} {bad}");
        }
        assert!(!tax_id_valid("xx_vat", "1"));
    }

    #[test]
    fn phone_numbers() {
        assert!(phone_valid("+49 30 1234567"));
        assert!(phone_valid("(555) 123-4567"));
        assert!(!phone_valid("12345"));
        assert!(!phone_valid("call me"));
    }

    #[test]
    fn the_page_names_the_first_missing_or_malformed_field() {
        let c = Collection {
            shipping_countries: Some(vec!["DE".into()]),
            phone: true,
            custom_fields: vec![CustomField {
                key: "ref".into(),
                label: "Reference".into(),
                r#type: FieldType::Numeric,
                optional: false,
                options: vec![],
                default_value: None,
                minimum_length: Some(3),
                maximum_length: None,
                value: None,
            }],
            ..Collection::default()
        };
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let mut form = pairs(&[
            ("shipping_country", "fr"),
            ("shipping_name", "A"),
            ("shipping_line1", "x"),
            ("shipping_city", "y"),
            ("shipping_postal_code", "1"),
        ]);
        assert_eq!(
            c.collect(&PageForm(&form)).unwrap_err(),
            FieldError { field: Field::ShippingCountry, missing: false }
        );
        form.push(("shipping_country".into(), "de".into()));
        assert_eq!(
            c.collect(&PageForm(&form)).unwrap_err(),
            FieldError { field: Field::Phone, missing: true }
        );
        form.push(("phone".into(), "+49 30 1234567".into()));
        form.push(("custom_field[ref]".into(), "12".into()));
        assert_eq!(
            c.collect(&PageForm(&form)).unwrap_err(),
            FieldError { field: Field::Custom(0), missing: false }
        );
        form.push(("custom_field[ref]".into(), "123".into()));
        let (got, values) = c.collect(&PageForm(&form)).unwrap();
        assert_eq!(got.shipping.unwrap().address.country.as_deref(), Some("DE"));
        assert_eq!(values, vec![Some("123".to_owned())]);
    }
}
