//! Tax rates, as Stripe models them (`/tax_rates`): a percentage with up to four decimals, inclusive
//! (already in the prices it applies to) or exclusive (added on top), for a country and optionally
//! a state, with a display name the buyer sees. A rate's percentage and inclusiveness never change
//! once created — a session, subscription or invoice that applied it keeps meaning what it meant —
//! so an update may only rename it, describe it, change its jurisdiction or type, (de)activate it,
//! or change its metadata.
//!
//! How rates turn into tax on a session, a subscription or an invoice is the taxes issue's next
//! step; this module holds the object and its rules.

use serde::{Deserialize, Serialize};

use crate::catalog::{MAX_TEXT, required_text, text};
use crate::country;
use crate::error::Invalid;
use crate::ids;
use crate::metadata::{self, Metadata};
use crate::params::{TaxRateCreate, TaxRateUpdate};
use crate::time::Timestamp;

/// `tax_type` values Stripe accepts.
pub const TAX_TYPES: &[&str] = &[
    "amusement_tax",
    "communications_tax",
    "gst",
    "hst",
    "igst",
    "jct",
    "lease_tax",
    "pst",
    "qst",
    "retail_delivery_fee",
    "rst",
    "sales_tax",
    "service_tax",
    "vat",
];

/// A percentage between 0 and 100 with at most four decimals, kept exactly as millionths of the
/// whole (`19.5` % is 195 000; 100 % is 1 000 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaxPercent(u32);

impl TaxPercent {
    /// 100 %.
    pub const WHOLE: u32 = 1_000_000;

    /// Parse `19`, `7.25` or `8.875` exactly; signs, exponents, more than four decimals and values
    /// outside 0–100 are refused.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let frac = frac.trim_end_matches('0');
        let int = int.trim_start_matches('0');
        if frac.len() > 4 || int.len() > 3 {
            return None;
        }
        let int: u32 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let scaled: u32 = format!("{frac:0<4}").parse().ok()?;
        let value = int.checked_mul(10_000)?.checked_add(scaled)?;
        (value <= Self::WHOLE).then_some(Self(value))
    }

    /// Millionths of the whole.
    pub fn millionths(self) -> u32 {
        self.0
    }

    /// The percentage as a JSON number (`19.5`), as Stripe writes it.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    pub id: String,
    pub created: Timestamp,
    pub display_name: String,
    pub description: Option<String>,
    pub percentage: TaxPercent,
    pub inclusive: bool,
    pub active: bool,
    pub country: Option<String>,
    pub state: Option<String>,
    pub jurisdiction: Option<String>,
    pub tax_type: Option<String>,
    pub metadata: Metadata,
}

fn tax_type(value: Option<String>) -> Result<Option<String>, Invalid> {
    match value {
        None => Ok(None),
        Some(t) if t.is_empty() => Ok(None),
        Some(t) if TAX_TYPES.contains(&t.as_str()) => Ok(Some(t)),
        Some(t) => Err(Invalid::param(
            "tax_type",
            format!(
                "Invalid tax_type: {}. Use one of {}.",
                t.chars().take(40).collect::<String>(),
                TAX_TYPES.join(", ")
            ),
        )),
    }
}

fn country_code(value: Option<String>) -> Result<Option<String>, Invalid> {
    match value {
        None => Ok(None),
        Some(c) if c.is_empty() => Ok(None),
        Some(c) => country::parse(&c).map(|c| Some(c.to_owned())).ok_or_else(|| {
            Invalid::param(
                "country",
                format!(
                    "Invalid country: {}. Use a two-letter ISO 3166-1 code such as `DE` or `US`.",
                    c.chars().take(20).collect::<String>()
                ),
            )
        }),
    }
}

/// A state, county or province code (ISO 3166-2 without the country prefix: `CA`, `NY`, `BY`).
fn state_code(value: Option<String>) -> Result<Option<String>, Invalid> {
    match value {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) if (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Ok(Some(s.to_ascii_uppercase()))
        }
        Some(s) => Err(Invalid::param(
            "state",
            format!(
                "Invalid state: {}. Use the ISO 3166-2 subdivision code without the country prefix, such as `CA` or `NY`.",
                s.chars().take(20).collect::<String>()
            ),
        )),
    }
}

impl TaxRate {
    pub fn create(p: TaxRateCreate, now: Timestamp) -> Result<Self, Invalid> {
        let display_name = required_text("display_name", p.display_name, 50)?;
        let percentage = match p.percentage {
            None => return Err(Invalid::missing("percentage")),
            Some(d) => TaxPercent::parse(&d.0).ok_or_else(|| {
                Invalid::param(
                    "percentage",
                    "`percentage` must be between 0 and 100, with at most four decimal places.",
                )
            })?,
        };
        let inclusive = p.inclusive.ok_or_else(|| Invalid::missing("inclusive"))?.0;
        let country = country_code(p.country)?;
        let state = state_code(p.state)?;
        if state.is_some() && country.is_none() {
            return Err(Invalid::param("state", "`state` goes with a `country`."));
        }
        Ok(Self {
            id: ids::new_id(ids::prefix::TAX_RATE),
            created: now,
            display_name,
            description: text("description", p.description, MAX_TEXT)?.filter(|d| !d.is_empty()),
            percentage,
            inclusive,
            active: p.active.is_none_or(|a| a.0),
            country,
            state,
            jurisdiction: text("jurisdiction", p.jurisdiction, 50)?.filter(|j| !j.is_empty()),
            tax_type: tax_type(p.tax_type)?,
            metadata: metadata::create(p.metadata, "metadata")?,
        })
    }

    /// Stripe's update: everything but `percentage` and `inclusive` (which the update does not
    /// take at all, so sending them is an unknown parameter).
    pub fn update(&mut self, p: TaxRateUpdate) -> Result<(), Invalid> {
        if let Some(name) = p.display_name {
            self.display_name = required_text("display_name", Some(name), 50)?;
        }
        if let Some(d) = text("description", p.description, MAX_TEXT)? {
            self.description = (!d.is_empty()).then_some(d);
        }
        if let Some(j) = text("jurisdiction", p.jurisdiction, 50)? {
            self.jurisdiction = (!j.is_empty()).then_some(j);
        }
        if p.tax_type.is_some() {
            self.tax_type = tax_type(p.tax_type)?;
        }
        if p.country.is_some() {
            self.country = country_code(p.country)?;
        }
        if p.state.is_some() {
            self.state = state_code(p.state)?;
        }
        if self.state.is_some() && self.country.is_none() {
            return Err(Invalid::param("state", "`state` goes with a `country`."));
        }
        if let Some(a) = p.active {
            self.active = a.0;
        }
        self.metadata = metadata::update(std::mem::take(&mut self.metadata), p.metadata, "metadata")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Bool, Decimal};

    fn create(pct: &str) -> Result<TaxRate, Invalid> {
        TaxRate::create(
            TaxRateCreate {
                display_name: Some("VAT".into()),
                percentage: Some(Decimal(pct.into())),
                inclusive: Some(Bool(false)),
                ..Default::default()
            },
            1_700_000_000,
        )
    }

    #[test]
    fn percentages_parse_exactly_to_four_decimals() {
        for (text, millionths) in [
            ("19", 190_000),
            ("7.25", 72_500),
            ("8.875", 88_750),
            ("0.0001", 1),
            ("0", 0),
            ("100", 1_000_000),
            ("100.0000", 1_000_000),
            ("007.5", 75_000),
            (".5", 5_000),
        ] {
            assert_eq!(TaxPercent::parse(text).map(TaxPercent::millionths), Some(millionths), "{text}");
        }
        for bad in ["-1", "100.0001", "101", "1.23456", "1e2", "", ".", "abc", "+5", "1000"] {
            assert_eq!(TaxPercent::parse(bad), None, "{bad}");
        }
        assert_eq!(TaxPercent::parse("19.5").unwrap().as_f64(), 19.5);
    }

    #[test]
    fn creation_checks_each_parameter() {
        let r = create("19").unwrap();
        assert!(r.id.starts_with("txr_") && r.active && !r.inclusive);
        assert_eq!(create("100.5").unwrap_err().param.as_deref(), Some("percentage"));
        let no_state_country = TaxRate::create(
            TaxRateCreate {
                display_name: Some("Sales tax".into()),
                percentage: Some(Decimal("6".into())),
                inclusive: Some(Bool(false)),
                state: Some("CA".into()),
                ..Default::default()
            },
            0,
        );
        assert_eq!(no_state_country.unwrap_err().param.as_deref(), Some("state"));
        let bad_type = TaxRate::create(
            TaxRateCreate {
                display_name: Some("X".into()),
                percentage: Some(Decimal("6".into())),
                inclusive: Some(Bool(true)),
                tax_type: Some("luxury".into()),
                ..Default::default()
            },
            0,
        );
        assert_eq!(bad_type.unwrap_err().param.as_deref(), Some("tax_type"));
        let missing =
            TaxRate::create(TaxRateCreate { display_name: Some("X".into()), ..Default::default() }, 0);
        assert_eq!(missing.unwrap_err().param.as_deref(), Some("percentage"));
    }
}
