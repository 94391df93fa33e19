//! Tax rates, as Stripe models them (`/tax_rates`): a percentage with up to four decimals, inclusive
//! (already in the prices it applies to) or exclusive (added on top), for a country and optionally
//! a state, with a display name the buyer sees. A rate's percentage and inclusiveness never change
//! once created — a session, subscription or invoice that applied it keeps meaning what it meant —
//! so an update may only rename it, describe it, change its jurisdiction or type, (de)activate it,
//! or change its metadata.
//!
//! # How rates become tax ([`line_taxes`])
//!
//! Tax is computed per line, on the line's amount after its discount, and rounded half up to the
//! minor unit:
//! - **inclusive** rates are already in the amount: the line's taxable amount is
//!   `round(amount / (1 + Σ inclusive rates))` and the inclusive taxes together are exactly
//!   `amount − taxable`, shared between the rates in proportion to their percentages (largest
//!   remainder, so they add up to the cent); with one rate that is `amount − round(amount / (1 + r))`;
//! - **exclusive** rates add to the total: each is `round(taxable × rate)` on the same taxable
//!   amount;
//! - an **exempt** buyer (`tax_exempt=exempt`, or `reverse` under the reverse charge) pays no tax:
//!   each rate still appears, with amount 0 and the reason, and an inclusive price is not reduced.
//!
//! Nothing here can make an amount negative: a line's amount is at least 0, and every tax lies
//! between 0 and the amount it is part of (inclusive) or its rate's share of it (exclusive).

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

/// Why a tax is what it is: Stripe's `taxability_reason` values that kassa's engine produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxabilityReason {
    StandardRated,
    ZeroRated,
    CustomerExempt,
    ReverseCharge,
}

impl TaxabilityReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandardRated => "standard_rated",
            Self::ZeroRated => "zero_rated",
            Self::CustomerExempt => "customer_exempt",
            Self::ReverseCharge => "reverse_charge",
        }
    }
}

/// What a rate contributes to a line: kept on the line (the rate's terms are copied, so a rate
/// changed or deactivated later does not change what was computed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTax {
    pub rate: String,
    pub percentage: TaxPercent,
    pub inclusive: bool,
    /// The tax in the minor unit.
    pub amount: i64,
    /// The amount the tax was computed on (the line's amount without inclusive taxes).
    pub taxable_amount: i64,
    pub reason: TaxabilityReason,
}

/// Whether the buyer pays tax at all, and why not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liability {
    #[default]
    Taxed,
    /// `tax_exempt=exempt`.
    Exempt,
    /// `tax_exempt=reverse` with a valid VAT id in another country: the buyer accounts for it.
    ReverseCharge,
}

/// A customer's `tax_exempt`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxExempt {
    #[default]
    None,
    Exempt,
    Reverse,
}

impl TaxExempt {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s {
            "none" | "" => Ok(Self::None),
            "exempt" => Ok(Self::Exempt),
            "reverse" => Ok(Self::Reverse),
            other => Err(Invalid::param(
                "tax_exempt",
                format!(
                    "Invalid tax_exempt: {}. Use one of none, exempt or reverse.",
                    other.chars().take(20).collect::<String>()
                ),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Exempt => "exempt",
            Self::Reverse => "reverse",
        }
    }
}

/// The EU's member states (ISO codes), for the reverse charge.
pub const EU_COUNTRIES: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// The member state of a well-formed EU VAT id (`EL…` is Greece, `GR`); `None` otherwise.
pub fn eu_vat_country(value: &str) -> Option<&'static str> {
    if !crate::session::collection::tax_id_valid("eu_vat", value) {
        return None;
    }
    let prefix = value.trim().get(..2)?.to_ascii_uppercase();
    let iso = if prefix == "EL" { "GR" } else { prefix.as_str() };
    EU_COUNTRIES.iter().copied().find(|c| *c == iso)
}

/// Whether a buyer pays tax: `exempt` never does; `reverse` does not when one of their tax ids
/// is a well-formed EU VAT id of a member state other than the merchant's (`origin`) — the
/// reverse charge; everyone else does.
pub fn liability<'a>(
    exempt: TaxExempt,
    tax_ids: impl IntoIterator<Item = (&'a str, &'a str)>,
    origin: &str,
) -> Liability {
    match exempt {
        TaxExempt::None => Liability::Taxed,
        TaxExempt::Exempt => Liability::Exempt,
        TaxExempt::Reverse => {
            let other_member = tax_ids
                .into_iter()
                .filter(|(kind, _)| *kind == "eu_vat")
                .filter_map(|(_, value)| eu_vat_country(value))
                .any(|c| !c.eq_ignore_ascii_case(origin));
            if other_member { Liability::ReverseCharge } else { Liability::Taxed }
        }
    }
}

/// One of a customer's tax ids (`/customers/{id}/tax_ids`, object `tax_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerTaxId {
    pub id: String,
    pub created: Timestamp,
    pub r#type: String,
    pub value: String,
    /// The country the id belongs to, when the type says.
    pub country: Option<String>,
}

/// The most tax ids a customer keeps (Stripe's limit).
pub const MAX_CUSTOMER_TAX_IDS: usize = 25;

impl CustomerTaxId {
    /// A tax id of `kind` (one of the types the page offers) and `value`, in its format.
    pub fn create(kind: Option<String>, value: Option<String>, now: Timestamp) -> Result<Self, Invalid> {
        use crate::session::collection::{TAX_ID_TYPES, tax_id_valid};
        let kind = kind.filter(|k| !k.is_empty()).ok_or_else(|| Invalid::missing("type"))?;
        if !TAX_ID_TYPES.contains(&kind.as_str()) {
            return Err(Invalid::param(
                "type",
                format!(
                    "Invalid type: {}. kassa takes {}.",
                    kind.chars().take(20).collect::<String>(),
                    TAX_ID_TYPES.join(", ")
                ),
            ));
        }
        let value = value
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Invalid::missing("value"))?;
        if value.len() > 50 || !tax_id_valid(&kind, &value) {
            return Err(Invalid::new(
                crate::error::ErrorCode::TaxIdInvalid,
                "value",
                format!("Invalid value for {kind}."),
            ));
        }
        let country = match kind.as_str() {
            "eu_vat" => eu_vat_country(&value).map(str::to_owned),
            "gb_vat" => Some("GB".to_owned()),
            "us_ein" => Some("US".to_owned()),
            "au_abn" => Some("AU".to_owned()),
            "ca_bn" => Some("CA".to_owned()),
            "in_gst" => Some("IN".to_owned()),
            _ => None,
        };
        Ok(Self { id: ids::new_id(ids::prefix::TAX_ID), created: now, r#type: kind, value, country })
    }
}

/// `n / d` rounded half up, for `n ≥ 0`, `d > 0`.
fn div_half_up(n: i128, d: i128) -> i128 {
    (2 * n + d) / (2 * d)
}

/// The taxes of a line whose amount (after its discount) is `amount`, under `rates` (each
/// `(id, percentage, inclusive)`), for a buyer of `liability`. See the module docs.
pub fn line_taxes(amount: i64, rates: &[(&str, TaxPercent, bool)], liability: Liability) -> Vec<LineTax> {
    let amount = amount.max(0);
    let whole = i128::from(TaxPercent::WHOLE);
    let inclusive_sum: i128 = rates.iter().filter(|r| r.2).map(|r| i128::from(r.1.0)).sum();
    let (taxable, inclusive_total) = match liability {
        // Nobody pays tax: the whole amount is the price, nothing of it is tax.
        Liability::Exempt | Liability::ReverseCharge => (amount, 0),
        Liability::Taxed => {
            let taxable = div_half_up(i128::from(amount) * whole, whole + inclusive_sum);
            // taxable ≤ amount, so both fit.
            let taxable = i64::try_from(taxable).unwrap_or(amount);
            (taxable, amount - taxable)
        }
    };
    // The inclusive total shared in proportion to the percentages, by largest remainder.
    let mut inclusive_shares: Vec<i64> = Vec::new();
    if inclusive_sum > 0 {
        let parts: Vec<(i128, i128)> = rates
            .iter()
            .filter(|r| r.2)
            .map(|r| {
                let n = i128::from(inclusive_total) * i128::from(r.1.0);
                (n / inclusive_sum, n % inclusive_sum)
            })
            .collect();
        let mut shares: Vec<i64> = parts.iter().map(|(q, _)| i64::try_from(*q).unwrap_or(0)).collect();
        let mut left = inclusive_total - shares.iter().sum::<i64>();
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by(|a, b| parts[*b].1.cmp(&parts[*a].1).then(a.cmp(b)));
        for i in order {
            if left == 0 {
                break;
            }
            shares[i] += 1;
            left -= 1;
        }
        inclusive_shares = shares;
    }
    let mut next_inclusive = inclusive_shares.into_iter();
    rates
        .iter()
        .map(|&(id, percentage, inclusive)| {
            let (amount, reason) = match liability {
                Liability::Exempt => (0, TaxabilityReason::CustomerExempt),
                Liability::ReverseCharge => (0, TaxabilityReason::ReverseCharge),
                Liability::Taxed if percentage.0 == 0 => {
                    if inclusive {
                        next_inclusive.next();
                    }
                    (0, TaxabilityReason::ZeroRated)
                }
                Liability::Taxed if inclusive => {
                    (next_inclusive.next().unwrap_or(0), TaxabilityReason::StandardRated)
                }
                Liability::Taxed => {
                    let tax = div_half_up(i128::from(taxable) * i128::from(percentage.0), whole);
                    (i64::try_from(tax).unwrap_or(i64::MAX), TaxabilityReason::StandardRated)
                }
            };
            LineTax { rate: id.to_owned(), percentage, inclusive, amount, taxable_amount: taxable, reason }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Bool, Decimal};
    use proptest::prelude::*;

    fn pct(text: &str) -> TaxPercent {
        TaxPercent::parse(text).unwrap()
    }

    fn amounts(taxes: &[LineTax]) -> Vec<i64> {
        taxes.iter().map(|t| t.amount).collect()
    }

    #[test]
    fn worked_examples() {
        use Liability::*;
        // 19 % VAT on top of 100.00: 19.00.
        assert_eq!(amounts(&line_taxes(10_000, &[("a", pct("19"), false)], Taxed)), [1_900]);
        // 19 % VAT inside 119.00: 19.00, on a taxable 100.00.
        let t = line_taxes(11_900, &[("a", pct("19"), true)], Taxed);
        assert_eq!((t[0].amount, t[0].taxable_amount), (1_900, 10_000));
        // 8.875 % of 9.99 = 0.8866… → 0.89.
        assert_eq!(amounts(&line_taxes(999, &[("a", pct("8.875"), false)], Taxed)), [89]);
        // Half a cent rounds up: 5 % of 0.10 = 0.005 → 0.01.
        assert_eq!(amounts(&line_taxes(10, &[("a", pct("5"), false)], Taxed)), [1]);
        // Two exclusive rates each on the same base: 5 % GST + 9.975 % QST of 100.00.
        assert_eq!(
            amounts(&line_taxes(10_000, &[("g", pct("5"), false), ("q", pct("9.975"), false)], Taxed)),
            [500, 998]
        );
        // Two inclusive rates share amount − taxable exactly: 10.00 with 10 % and 5 %.
        let t = line_taxes(1_000, &[("a", pct("10"), true), ("b", pct("5"), true)], Taxed);
        assert_eq!(t[0].taxable_amount, 870);
        assert_eq!(amounts(&t).iter().sum::<i64>(), 130);
        assert_eq!(amounts(&t), [87, 43]);
        // Exempt and reverse charge: the rates show, with 0 and the reason.
        let t = line_taxes(11_900, &[("a", pct("19"), true)], Exempt);
        assert_eq!(
            (t[0].amount, t[0].taxable_amount, t[0].reason),
            (0, 11_900, TaxabilityReason::CustomerExempt)
        );
        let t = line_taxes(10_000, &[("a", pct("19"), false)], ReverseCharge);
        assert_eq!((t[0].amount, t[0].reason), (0, TaxabilityReason::ReverseCharge));
        // A 0 % rate is zero rated.
        assert_eq!(line_taxes(500, &[("z", pct("0"), false)], Taxed)[0].reason, TaxabilityReason::ZeroRated);
        // A zero-decimal currency works the same in its minor unit: 10 % of ¥1,005 = 100.5 → 101.
        assert_eq!(amounts(&line_taxes(1_005, &[("j", pct("10"), false)], Taxed)), [101]);
        // Nothing on nothing.
        assert_eq!(amounts(&line_taxes(0, &[("a", pct("19"), true)], Taxed)), [0]);
    }

    #[test]
    fn reverse_charge_needs_an_eu_vat_id_of_another_member_state() {
        use Liability::*;
        let at = [("eu_vat", "ATU12345678")];
        assert_eq!(liability(TaxExempt::None, at, "DE"), Taxed);
        assert_eq!(liability(TaxExempt::Exempt, [], "DE"), Exempt);
        assert_eq!(liability(TaxExempt::Reverse, at, "DE"), ReverseCharge);
        assert_eq!(liability(TaxExempt::Reverse, at, "US"), ReverseCharge, "a merchant outside the EU");
        assert_eq!(liability(TaxExempt::Reverse, at, "AT"), Taxed, "the merchant's own country");
        assert_eq!(liability(TaxExempt::Reverse, [("gb_vat", "GB123456789")], "DE"), Taxed);
        assert_eq!(liability(TaxExempt::Reverse, [("eu_vat", "ATU1")], "DE"), Taxed, "malformed");
        assert_eq!(liability(TaxExempt::Reverse, [], "DE"), Taxed);
        assert_eq!(eu_vat_country("EL123456789"), Some("GR"));
        assert_eq!(eu_vat_country("XI123456789"), None, "Northern Ireland is not a member state");
        assert_eq!(TaxExempt::parse("sometimes").unwrap_err().param.as_deref(), Some("tax_exempt"));
    }

    #[test]
    fn customer_tax_ids_are_checked_and_know_their_country() {
        let t = CustomerTaxId::create(Some("eu_vat".into()), Some(" FR12345678901 ".into()), 5).unwrap();
        assert!(t.id.starts_with("txi_"));
        assert_eq!((t.value.as_str(), t.country.as_deref(), t.created), ("FR12345678901", Some("FR"), 5));
        let bad = CustomerTaxId::create(Some("eu_vat".into()), Some("FR1".into()), 5).unwrap_err();
        assert_eq!((bad.code, bad.param.as_deref()), (crate::error::ErrorCode::TaxIdInvalid, Some("value")));
        let missing = CustomerTaxId::create(None, Some("FR12345678901".into()), 5).unwrap_err();
        assert_eq!(missing.param.as_deref(), Some("type"));
    }

    fn rate() -> impl Strategy<Value = (u32, bool)> {
        (0u32..=TaxPercent::WHOLE, any::<bool>())
    }

    proptest! {
        #[test]
        fn taxes_add_up_and_stay_in_bounds(
            amount in 0i64..=99_999_999_999,
            rates in proptest::collection::vec(rate(), 0..=5),
        ) {
            let ids: Vec<String> = (0..rates.len()).map(|i| format!("txr_{i}")).collect();
            let rates: Vec<(&str, TaxPercent, bool)> =
                rates.iter().zip(&ids).map(|((m, inc), id)| (id.as_str(), TaxPercent(*m), *inc)).collect();
            let taxes = line_taxes(amount, &rates, Liability::Taxed);
            prop_assert_eq!(taxes.len(), rates.len());
            let inclusive: i64 = taxes.iter().filter(|t| t.inclusive).map(|t| t.amount).sum();
            let taxable = taxes.first().map_or(amount, |t| t.taxable_amount);
            // Inclusive taxes are exactly the part of the amount that is not taxable.
            prop_assert_eq!(taxable + inclusive, amount);
            prop_assert!(taxable >= 0 && taxable <= amount);
            for t in &taxes {
                prop_assert!(t.amount >= 0);
                prop_assert_eq!(t.taxable_amount, taxable);
                if !t.inclusive {
                    // Within half a cent of the exact tax.
                    let exact = i128::from(taxable) * i128::from(t.percentage.0);
                    prop_assert!((i128::from(t.amount) * 1_000_000 - exact).abs() <= 500_000);
                }
            }
            // Exempt: nothing, and the price is the whole amount.
            for t in line_taxes(amount, &rates, Liability::Exempt) {
                prop_assert_eq!((t.amount, t.taxable_amount), (0, amount));
            }
        }
    }

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
