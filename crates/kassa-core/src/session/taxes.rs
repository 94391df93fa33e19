//! Step 10c — taxes on a session: fixed rates per line (`line_items[][tax_rates]`),
//! dynamic rates per line (`line_items[][dynamic_tax_rates]`), and automatic tax
//! (`automatic_tax[enabled]`), computed by [`crate::tax::line_taxes`] whenever the amounts are.
//!
//! # Which rates apply to a line
//!
//! 1. **Fixed** rates (at most [`MAX_LINE_RATES`]) always apply, each with its own `inclusive`.
//! 2. **Dynamic** rates (at most [`MAX_LINE_RATES`]): the first, in the order given, whose
//!    `country` is the buyer's and whose `state`, when it has one, is the buyer's too. None
//!    matching, or no address yet: no tax.
//! 3. **Automatic tax**, kassa's test stand-in for Stripe Tax: among the account's rates that were
//!    active when the session was created, a rate for the buyer's country *and state* if there is
//!    one, else a rate for the buyer's country without a state; the oldest such rate if several.
//!    It is inclusive or exclusive as the line's price's `tax_behavior` says, not as the rate's
//!    own `inclusive` does (the line's `taxes[].rate` shows it as it applied, as the rates Stripe
//!    Tax makes do), so a price with `unspecified` is refused at creation. Shipping is taxed by
//!    the same rule when its rate's `tax_behavior` is `inclusive` or `exclusive`.
//!
//! In subscription mode `subscription_data[default_tax_rates]` are the fixed rates of every line
//! without its own. The rates that applied at checkout (`LineItem::applied_rates`) go to the
//! subscription's items and apply to every invoice, first and renewals, as they were then: a rate
//! deactivated or a customer moved later changes nothing (kassa's automatic tax does not follow
//! the customer's address after the checkout).
//!
//! An `exempt` customer pays no tax; a `reverse` one with a well-formed EU VAT id (their own or
//! the one entered on the page) of a member state other than the merchant's
//! (`--tax-origin-country`) pays none either, under the reverse charge ([`tax::liability`]): the
//! rates still show on the lines, with 0 and the reason.
//!
//! The buyer's location is the shipping address if the page collected one, else the billing
//! address, else (until the page sends one) the customer's shipping address, else the customer's
//! address. Until a location is known, `automatic_tax.status` is `requires_location_inputs` and
//! no tax is computed; then it is `complete`.
//!
//! # Refusals
//!
//! At creation, each naming the bracketed param: more than [`MAX_LINE_RATES`] rates on a line
//! (`line_items[i][tax_rates]`), a rate that does not exist in this account (`resource_missing`)
//! or is inactive (`line_items[i][tax_rates][j]`), a rate twice on one line, fixed and dynamic
//! rates together, a dynamic rate without a country, dynamic rates on a session that collects no
//! address, automatic tax together with rates on a line, automatic tax on a price whose
//! `tax_behavior` is `unspecified` (`line_items[i][price]`); the same for
//! `subscription_data[default_tax_rates][j]`, which also needs subscription mode and no automatic
//! tax.

use serde::{Deserialize, Serialize};

use super::collection::{Address, Collection};
use super::{LineItem, Mode, Resolved, Session};
use crate::catalog::Customer;
use crate::error::{ErrorCode, Invalid};
use crate::params::{EnabledParam, LineItemParam};
use crate::shipping::TaxBehavior;
use crate::tax::{self, LineTax, TaxRate};

/// The most rates a line takes, fixed or dynamic.
pub const MAX_LINE_RATES: usize = 5;

/// Where the buyer is, for tax: a country and, when known, a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub country: String,
    pub state: Option<String>,
}

impl Location {
    /// The location of an address with a country.
    pub fn of(a: &Address) -> Option<Self> {
        let country = a.country.as_deref().filter(|c| !c.is_empty())?.to_ascii_uppercase();
        let state = a.state.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_ascii_uppercase);
        Some(Self { country, state })
    }

    fn matches(&self, rate: &TaxRate) -> bool {
        rate.country.as_deref() == Some(self.country.as_str())
            && rate.state.as_ref().is_none_or(|s| Some(s) == self.state.as_ref())
    }
}

/// Automatic tax's rate for `loc` among `rates` (oldest first): a rate for the country and
/// state first, then one for the country without a state.
pub fn automatic_rate_for<'a>(loc: &Location, rates: &'a [TaxRate]) -> Option<&'a TaxRate> {
    let matching = || rates.iter().filter(|r| loc.matches(r));
    matching().find(|r| r.state.is_some()).or_else(|| matching().next())
}

/// The session's tax settings and results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taxes {
    /// `automatic_tax[enabled]`.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub automatic: bool,
    /// With automatic tax: the account's rates that were active at creation, oldest first.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub rates: Vec<TaxRate>,
    /// Where the buyer is, once known.
    pub location: Option<Location>,
    /// The taxes on the chosen shipping option.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub shipping: Vec<LineTax>,
    /// Σ every tax, inclusive and exclusive (`total_details.amount_tax`).
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub amount_tax: i64,
    /// The customer's `tax_exempt` when the session was created.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub exempt: crate::tax::TaxExempt,
    /// The buyer's tax ids `(type, value)`: the customer's, then what the page collected.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub tax_ids: Vec<(String, String)>,
    /// The merchant's country (`--tax-origin-country`), for the reverse charge.
    #[serde(default, skip_serializing_if = "crate::store::is_default")]
    pub origin: String,
    /// `subscription_data[default_tax_rates]`, as they were at creation: the subscription's
    /// `default_tax_rates`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_rates: Vec<TaxRate>,
}

impl Taxes {
    /// `automatic_tax.status`: `None` without automatic tax.
    pub fn status(&self) -> Option<&'static str> {
        self.automatic.then(|| if self.location.is_some() { "complete" } else { "requires_location_inputs" })
    }

    /// The automatic rate for the buyer's location: state level first, then country level.
    fn automatic_rate(&self) -> Option<&TaxRate> {
        automatic_rate_for(self.location.as_ref()?, &self.rates)
    }

    /// Whether any tax applies to this session at all.
    pub fn any(&self, lines: &[LineItem]) -> bool {
        self.automatic || lines.iter().any(|l| !l.tax_rates.is_empty() || !l.dynamic_tax_rates.is_empty())
    }
}

/// Every list of rates a request names, with the bracketed param of each: each line's
/// `tax_rates` and `dynamic_tax_rates`, then `subscription_data[default_tax_rates]`.
fn rate_lists<'a>(
    items: &'a [LineItemParam],
    defaults: Option<&'a [String]>,
) -> impl Iterator<Item = (String, &'a [String])> + 'a {
    items
        .iter()
        .enumerate()
        .flat_map(|(i, item)| {
            [("tax_rates", &item.tax_rates), ("dynamic_tax_rates", &item.dynamic_tax_rates)]
                .into_iter()
                .filter_map(move |(field, list)| {
                    list.as_deref().map(|l| (format!("line_items[{i}][{field}]"), l))
                })
        })
        .chain(defaults.map(|d| ("subscription_data[default_tax_rates]".to_owned(), d)))
}

/// The tax rate ids a request names, each once, after the checks that need no reads.
pub(super) fn rate_ids(items: &[LineItemParam], defaults: Option<&[String]>) -> Result<Vec<String>, Invalid> {
    let mut ids = Vec::new();
    for (param, list) in rate_lists(items, defaults) {
        if list.len() > MAX_LINE_RATES {
            return Err(Invalid::param(
                param,
                format!("At most {MAX_LINE_RATES} tax rates go here; you passed {}.", list.len()),
            ));
        }
        for (j, id) in list.iter().enumerate() {
            if id.is_empty() {
                return Err(Invalid::empty(format!("{param}[{j}]")));
            }
            if id.len() > 255 {
                return Err(Invalid::param(
                    format!("{param}[{j}]"),
                    "Tax rate ids are at most 255 characters.",
                ));
            }
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    Ok(ids)
}

/// The rates named at `at` (a bracketed param): each exists in this account, is active, appears
/// once; a dynamic one has a country.
fn line_rates(at: &str, ids: Option<&[String]>, r: &Resolved<'_>) -> Result<Vec<TaxRate>, Invalid> {
    let mut out: Vec<TaxRate> = Vec::new();
    for (j, id) in ids.unwrap_or_default().iter().enumerate() {
        let param = format!("{at}[{j}]");
        let rate =
            r.tax_rates.get(id.as_str()).ok_or_else(|| Invalid::no_such("tax_rate", id, param.clone()))?;
        if !rate.active {
            return Err(Invalid::param(
                param,
                format!("The tax rate {id} is inactive. This field only accepts active tax rates."),
            ));
        }
        if out.iter().any(|o| o.id == *id) {
            return Err(Invalid::param(param, format!("The tax rate {id} is given twice on this line.")));
        }
        if at.ends_with("[dynamic_tax_rates]") && rate.country.is_none() {
            return Err(Invalid::param(
                param,
                format!("The tax rate {id} has no `country`, so it can never match the customer's address."),
            ));
        }
        out.push((*rate).clone());
    }
    Ok(out)
}

/// Apply the creation rules to `items` (the lines' parameters, in the order of `lines`), set each
/// line's rates, and return the session's tax settings.
#[allow(clippy::too_many_arguments)]
pub(super) fn taxes(
    automatic: Option<EnabledParam>,
    default_rates: Option<Vec<String>>,
    items: &[LineItemParam],
    lines: &mut [LineItem],
    mode: Mode,
    collection: &mut Collection,
    customer: Option<&Customer>,
    r: &Resolved<'_>,
) -> Result<Taxes, Invalid> {
    let automatic = EnabledParam::on("automatic_tax", automatic)?;
    let collects_address = collection.wants_billing_address() || collection.shipping_countries.is_some();
    for (i, (item, line)) in items.iter().zip(lines.iter_mut()).enumerate() {
        line.tax_rates = line_rates(&format!("line_items[{i}][tax_rates]"), item.tax_rates.as_deref(), r)?;
        line.dynamic_tax_rates =
            line_rates(&format!("line_items[{i}][dynamic_tax_rates]"), item.dynamic_tax_rates.as_deref(), r)?;
        if !line.tax_rates.is_empty() && !line.dynamic_tax_rates.is_empty() {
            return Err(Invalid::new(
                ErrorCode::ParametersExclusive,
                format!("line_items[{i}][dynamic_tax_rates]"),
                "A line item takes `tax_rates` or `dynamic_tax_rates`, not both.",
            ));
        }
        let any = !line.tax_rates.is_empty() || !line.dynamic_tax_rates.is_empty();
        if automatic && any {
            let field = if line.tax_rates.is_empty() { "dynamic_tax_rates" } else { "tax_rates" };
            return Err(Invalid::new(
                ErrorCode::ParametersExclusive,
                format!("line_items[{i}][{field}]"),
                "Tax rates cannot be used together with `automatic_tax[enabled]=true`.",
            ));
        }
        if !line.dynamic_tax_rates.is_empty() && !collects_address {
            return Err(Invalid::param(
                format!("line_items[{i}][dynamic_tax_rates]"),
                "Dynamic tax rates need the customer's address to match: set `billing_address_collection=required` or `shipping_address_collection`.",
            ));
        }
        if automatic && line.price.tax_behavior == TaxBehavior::Unspecified {
            return Err(Invalid::param(
                format!("line_items[{i}][price]"),
                format!(
                    "Automatic tax needs every price's `tax_behavior` to be `inclusive` or `exclusive`; the price {} has `unspecified`. Set it with `POST /v1/prices/{}`.",
                    line.price.id, line.price.id
                ),
            ));
        }
    }
    // `subscription_data[default_tax_rates]`: every line without rates of its own.
    let defaults = line_rates("subscription_data[default_tax_rates]", default_rates.as_deref(), r)?;
    if !defaults.is_empty() {
        if automatic {
            return Err(Invalid::new(
                ErrorCode::ParametersExclusive,
                "subscription_data[default_tax_rates]",
                "Tax rates cannot be used together with `automatic_tax[enabled]=true`.",
            ));
        }
        if mode != Mode::Subscription {
            return Err(Invalid::param(
                "subscription_data",
                "`subscription_data` can only be used in `subscription` mode.",
            ));
        }
        for line in lines.iter_mut().filter(|l| l.tax_rates.is_empty()) {
            line.tax_rates.clone_from(&defaults);
        }
    }
    let default_rates = defaults;
    // Stripe Tax needs an address: without any other, the page asks for the billing address.
    if automatic && !collects_address {
        collection.billing_address = Some("required".to_owned());
    }
    let location = customer.and_then(|c| {
        c.shipping
            .as_ref()
            .and_then(|s| Location::of(&s.address))
            .or_else(|| c.address.as_ref().and_then(Location::of))
    });
    let mut rates: Vec<TaxRate> = if automatic {
        r.account_tax_rates.iter().filter(|t| t.active).map(|t| (*t).clone()).collect()
    } else {
        Vec::new()
    };
    rates.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
    Ok(Taxes {
        automatic,
        rates,
        location,
        shipping: Vec::new(),
        amount_tax: 0,
        exempt: customer.map(|c| c.tax_exempt).unwrap_or_default(),
        tax_ids: customer
            .map(|c| c.tax_ids.iter().map(|t| (t.r#type.clone(), t.value.clone())).collect())
            .unwrap_or_default(),
        origin: r.tax_origin_country.to_owned(),
        default_rates,
    })
}

impl Session {
    /// The buyer's location from what the page sent: the shipping address first, then billing.
    /// Whether it changed.
    pub fn set_tax_location(&mut self, shipping: Option<&Address>, billing: Option<&Address>) -> bool {
        let loc = shipping.and_then(Location::of).or_else(|| billing.and_then(Location::of));
        if loc.is_none() || loc == self.taxes.location {
            return false;
        }
        self.taxes.location = loc;
        true
    }

    /// Whether the buyer pays tax: see [`tax::liability`].
    pub fn tax_liability(&self) -> tax::Liability {
        let t = &self.taxes;
        tax::liability(t.exempt, t.tax_ids.iter().map(|(k, v)| (k.as_str(), v.as_str())), &t.origin)
    }

    /// Add the tax ids the page collected to the buyer's. Whether any was new.
    pub fn add_tax_ids(&mut self, ids: &[super::collection::TaxId]) -> bool {
        let mut added = false;
        for id in ids {
            let pair = (id.r#type.clone(), id.value.clone());
            if !self.taxes.tax_ids.contains(&pair) {
                self.taxes.tax_ids.push(pair);
                added = true;
            }
        }
        added
    }

    /// Compute every line's taxes (each line's `amount_total` is its amount after discount) and
    /// the shipping's; add the exclusive taxes to the lines' totals. Σ exclusive taxes.
    pub(super) fn apply_taxes(&mut self) -> i64 {
        let liability = self.tax_liability();
        let auto_rate = self.taxes.automatic_rate().cloned();
        let mut exclusive = 0i64;
        let mut total = 0i64;
        for line in &mut self.line_items {
            // The rates that apply, each with whether it is inclusive here.
            let applied: Vec<(TaxRate, bool)> = if !line.tax_rates.is_empty() {
                line.tax_rates.iter().map(|r| (r.clone(), r.inclusive)).collect()
            } else if !line.dynamic_tax_rates.is_empty() {
                let loc = self.taxes.location.as_ref();
                line.dynamic_tax_rates
                    .iter()
                    .find(|r| loc.is_some_and(|l| l.matches(r)))
                    .map(|r| vec![(r.clone(), r.inclusive)])
                    .unwrap_or_default()
            } else {
                match (&auto_rate, line.price.tax_behavior) {
                    (Some(r), TaxBehavior::Inclusive) => vec![(r.clone(), true)],
                    (Some(r), TaxBehavior::Exclusive) => vec![(r.clone(), false)],
                    _ => Vec::new(),
                }
            };
            let rates: Vec<(&str, tax::TaxPercent, bool)> =
                applied.iter().map(|(r, inclusive)| (r.id.as_str(), r.percentage, *inclusive)).collect();
            line.taxes = tax::line_taxes(line.amount_total, &rates, liability);
            // As Stripe Tax's rates do, an automatic rate shows as inclusive or not as it applied.
            line.applied_rates =
                applied.into_iter().map(|(r, inclusive)| TaxRate { inclusive, ..r }).collect();
            let line_exclusive: i64 = line.taxes.iter().filter(|t| !t.inclusive).map(|t| t.amount).sum();
            line.amount_total += line_exclusive;
            exclusive += line_exclusive;
            total += line.taxes.iter().map(|t| t.amount).sum::<i64>();
        }
        self.taxes.shipping = match (&auto_rate, self.collection.shipping_rate()) {
            (Some(r), Some(s)) if s.tax_behavior != TaxBehavior::Unspecified => tax::line_taxes(
                s.amount,
                &[(r.id.as_str(), r.percentage, s.tax_behavior == TaxBehavior::Inclusive)],
                liability,
            ),
            _ => Vec::new(),
        };
        let shipping_exclusive: i64 =
            self.taxes.shipping.iter().filter(|t| !t.inclusive).map(|t| t.amount).sum();
        exclusive += shipping_exclusive;
        total += self.taxes.shipping.iter().map(|t| t.amount).sum::<i64>();
        self.taxes.amount_tax = total;
        exclusive
    }

    /// The shipping option's tax, inclusive and exclusive.
    pub fn shipping_tax(&self) -> i64 {
        self.taxes.shipping.iter().map(|t| t.amount).sum()
    }
}
