//! Shipping rates (`/shipping_rates`): a named, fixed shipping cost in one currency, optionally
//! with a delivery estimate. A checkout session offers up to five of them
//! (`shipping_options[][shipping_rate]`, or `[shipping_rate_data]` which creates one on the fly);
//! the chosen one adds its amount to the session's total.
//!
//! Rates are immutable once created, as on Stripe: an update changes only `active`, `metadata` and
//! `tax_behavior` (the last one only while it is `unspecified`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalog::{MAX_TEXT, currency, required_text, text};
use crate::error::Invalid;
use crate::ids;
use crate::metadata::{self, Metadata};
use crate::money::{Currency, MAX_UNIT_AMOUNT};
use crate::params::{Bool, Int, MetadataParam};
use crate::time::Timestamp;

pub const PREFIX: &str = "shr_";
/// Stripe's limit on `display_name`.
pub const MAX_DISPLAY_NAME: usize = 100;

/// `fixed_amount`: the cost in one currency.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixedAmountParam {
    pub amount: Option<Int>,
    pub currency: Option<String>,
}

/// One end of a delivery estimate.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EstimateBoundParam {
    pub unit: Option<String>,
    pub value: Option<Int>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryEstimateParam {
    pub minimum: Option<EstimateBoundParam>,
    pub maximum: Option<EstimateBoundParam>,
}

/// `POST /shipping_rates`, and `shipping_options[][shipping_rate_data]` of a session (which takes
/// the same fields but `expand`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingRateCreate {
    pub display_name: Option<String>,
    /// Only `fixed_amount`.
    pub r#type: Option<String>,
    pub fixed_amount: Option<FixedAmountParam>,
    pub delivery_estimate: Option<DeliveryEstimateParam>,
    /// `inclusive`, `exclusive` or `unspecified`.
    pub tax_behavior: Option<String>,
    pub tax_code: Option<String>,
    pub metadata: Option<MetadataParam>,
    pub expand: Option<Vec<String>>,
}

/// `POST /shipping_rates/{id}`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingRateUpdate {
    pub active: Option<Bool>,
    pub metadata: Option<MetadataParam>,
    pub tax_behavior: Option<String>,
    pub expand: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimateUnit {
    Hour,
    Day,
    BusinessDay,
    Week,
    Month,
}

impl EstimateUnit {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "hour" => Self::Hour,
            "day" => Self::Day,
            "business_day" => Self::BusinessDay,
            "week" => Self::Week,
            "month" => Self::Month,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::BusinessDay => "business_day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateBound {
    pub unit: EstimateUnit,
    pub value: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryEstimate {
    pub minimum: Option<EstimateBound>,
    pub maximum: Option<EstimateBound>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxBehavior {
    Inclusive,
    Exclusive,
    #[default]
    Unspecified,
}

impl TaxBehavior {
    pub fn parse(param: &str, s: &str) -> Result<Self, Invalid> {
        match s {
            "inclusive" => Ok(Self::Inclusive),
            "exclusive" => Ok(Self::Exclusive),
            "unspecified" => Ok(Self::Unspecified),
            _ => Err(Invalid::param(
                param,
                format!("Invalid {param}: must be one of inclusive, exclusive, or unspecified"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inclusive => "inclusive",
            Self::Exclusive => "exclusive",
            Self::Unspecified => "unspecified",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRate {
    pub id: String,
    pub created: Timestamp,
    pub active: bool,
    pub display_name: String,
    pub amount: i64,
    pub currency: Currency,
    pub delivery_estimate: Option<DeliveryEstimate>,
    pub tax_behavior: TaxBehavior,
    pub tax_code: Option<String>,
    pub metadata: Metadata,
}

impl ShippingRate {
    /// A new rate from `p`; `at` is the bracketed prefix of its parameters (empty for
    /// `POST /shipping_rates`, `shipping_options[0][shipping_rate_data]` inside a session).
    pub fn create(p: ShippingRateCreate, at: &str, now: Timestamp) -> Result<Self, Invalid> {
        let name = |field: &str| if at.is_empty() { field.to_owned() } else { format!("{at}[{field}]") };
        let display_name = required_text(&name("display_name"), p.display_name, MAX_DISPLAY_NAME)?;
        match p.r#type.as_deref() {
            None | Some("fixed_amount") => {}
            Some(_) => return Err(Invalid::param(name("type"), "Invalid type: must be fixed_amount")),
        }
        let fixed = p.fixed_amount.ok_or_else(|| Invalid::missing(name("fixed_amount")))?;
        let amount_param = format!("{}[amount]", name("fixed_amount"));
        let amount = match fixed.amount {
            None => return Err(Invalid::missing(amount_param)),
            Some(Int(a)) if !(0..=MAX_UNIT_AMOUNT).contains(&a) => {
                return Err(Invalid::param(
                    amount_param,
                    format!("Invalid integer: the amount must be between 0 and {MAX_UNIT_AMOUNT}."),
                ));
            }
            Some(Int(a)) => a,
        };
        let currency_param = format!("{}[currency]", name("fixed_amount"));
        let currency = match fixed.currency.as_deref() {
            None => return Err(Invalid::missing(currency_param)),
            Some(c) => currency(&currency_param, c)?,
        };
        let delivery_estimate =
            p.delivery_estimate.map(|e| estimate(&name("delivery_estimate"), e)).transpose()?;
        let tax_behavior = match p.tax_behavior.as_deref() {
            None => TaxBehavior::Unspecified,
            Some(t) => TaxBehavior::parse(&name("tax_behavior"), t)?,
        };
        let tax_code = text(&name("tax_code"), p.tax_code.filter(|c| !c.is_empty()), MAX_TEXT)?;
        Ok(Self {
            id: ids::new_id(PREFIX),
            created: now,
            active: true,
            display_name,
            amount,
            currency,
            delivery_estimate,
            tax_behavior,
            tax_code,
            metadata: metadata::create(p.metadata, &name("metadata"))?,
        })
    }

    pub fn update(&mut self, p: ShippingRateUpdate) -> Result<(), Invalid> {
        let tax_behavior = match p.tax_behavior.as_deref() {
            None => self.tax_behavior,
            Some(t) => {
                let t = TaxBehavior::parse("tax_behavior", t)?;
                if self.tax_behavior != TaxBehavior::Unspecified && t != self.tax_behavior {
                    return Err(Invalid::param(
                        "tax_behavior",
                        "The tax behavior of a shipping rate can only be set while it is `unspecified`.",
                    ));
                }
                t
            }
        };
        self.metadata = metadata::update(std::mem::take(&mut self.metadata), p.metadata, "metadata")?;
        self.tax_behavior = tax_behavior;
        if let Some(Bool(a)) = p.active {
            self.active = a;
        }
        Ok(())
    }
}

fn estimate(at: &str, e: DeliveryEstimateParam) -> Result<DeliveryEstimate, Invalid> {
    let bound = |which: &str, b: Option<EstimateBoundParam>| -> Result<Option<EstimateBound>, Invalid> {
        let Some(b) = b else { return Ok(None) };
        let unit_param = format!("{at}[{which}][unit]");
        let unit = match b.unit.as_deref() {
            None => return Err(Invalid::missing(unit_param)),
            Some(u) => EstimateUnit::parse(u).ok_or_else(|| {
                Invalid::param(
                    &unit_param,
                    format!("Invalid {unit_param}: must be one of business_day, day, hour, month, or week"),
                )
            })?,
        };
        let value_param = format!("{at}[{which}][value]");
        let value = match b.value {
            None => return Err(Invalid::missing(value_param)),
            Some(Int(v)) if v < 1 => {
                return Err(Invalid::param(value_param, "The delivery estimate must be at least 1."));
            }
            Some(Int(v)) => v,
        };
        Ok(Some(EstimateBound { unit, value }))
    };
    Ok(DeliveryEstimate { minimum: bound("minimum", e.minimum)?, maximum: bound("maximum", e.maximum)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(amount: i64, currency: &str) -> Option<FixedAmountParam> {
        Some(FixedAmountParam { amount: Some(Int(amount)), currency: Some(currency.into()) })
    }

    fn param(r: Result<ShippingRate, Invalid>) -> String {
        r.expect_err("refused").param.unwrap_or_default()
    }

    #[test]
    fn a_rate_needs_a_name_and_a_fixed_amount() {
        let ok = ShippingRateCreate {
            display_name: Some("Standard".into()),
            fixed_amount: fixed(500, "EUR"),
            ..Default::default()
        };
        let r = ShippingRate::create(ok.clone(), "", 1).unwrap();
        assert!(r.id.starts_with("shr_"));
        assert_eq!((r.amount, r.currency.as_str(), r.tax_behavior), (500, "eur", TaxBehavior::Unspecified));
        let at = "shipping_options[1][shipping_rate_data]";
        assert_eq!(
            param(ShippingRate::create(ShippingRateCreate { display_name: None, ..ok.clone() }, at, 1)),
            format!("{at}[display_name]")
        );
        assert_eq!(
            param(ShippingRate::create(
                ShippingRateCreate { fixed_amount: fixed(-1, "eur"), ..ok.clone() },
                "",
                1
            )),
            "fixed_amount[amount]"
        );
        assert_eq!(
            param(ShippingRate::create(ShippingRateCreate { r#type: Some("x".into()), ..ok.clone() }, "", 1)),
            "type"
        );
        let bad_unit = DeliveryEstimateParam {
            minimum: Some(EstimateBoundParam { unit: Some("year".into()), value: Some(Int(1)) }),
            maximum: None,
        };
        assert_eq!(
            param(ShippingRate::create(
                ShippingRateCreate { delivery_estimate: Some(bad_unit), ..ok.clone() },
                "",
                1
            )),
            "delivery_estimate[minimum][unit]"
        );
    }

    #[test]
    fn tax_behavior_is_set_once() {
        let p = ShippingRateCreate {
            display_name: Some("Standard".into()),
            fixed_amount: fixed(500, "eur"),
            ..Default::default()
        };
        let mut r = ShippingRate::create(p, "", 1).unwrap();
        let set = |t: &str| ShippingRateUpdate { tax_behavior: Some(t.into()), ..Default::default() };
        r.update(set("exclusive")).unwrap();
        assert_eq!(r.update(set("inclusive")).unwrap_err().param.as_deref(), Some("tax_behavior"));
        r.update(set("exclusive")).unwrap();
    }
}
