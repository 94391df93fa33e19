//! The customer portal (issue 17): its configurations (`bpc_…`) and sessions (`bps_…`), as
//! Stripe's `billing_portal` objects.
//!
//! A **configuration** says what a customer may do in the portal: update their billing email,
//! see their invoices, replace their card, cancel (at the period's end or at once, with a reason),
//! switch to another of the configured prices (and change the quantity). Every account has a
//! default one, made on first use ([`PortalConfiguration::default_for`]).
//!
//! A **session** is a capability: its URL carries a random secret ([`SECRET_LEN`] base62
//! characters, ≈ 190 bits) of which only the SHA-256 is stored, so a copy of the database opens no
//! portal. Unused, the URL stops working [`UNUSED_SECONDS`] after it was made, as Stripe's does;
//! once opened, the browser holds the secret in a cookie scoped to the session's pages, and the
//! session lasts [`OPEN_SECONDS`] from the moment it was opened.
//!
//! The store-free rules live here: the shapes, the parameter checks that need nothing but the
//! request. Which products, prices, customers and subscriptions exist is checked by the service.

use serde::{Deserialize, Serialize};

use crate::Invalid;
use crate::account::KeyHash;
use crate::error::ErrorCode;
use crate::ids;
use crate::metadata::{self, Metadata};
use crate::params::{PortalConfigurationParams, PortalFeaturesParam, PortalFlowParam, PortalSessionCreate};
use crate::session::check_url;
use crate::time::Timestamp;

/// How long an unopened session's URL works: 5 minutes, as Stripe's.
pub const UNUSED_SECONDS: Timestamp = 300;
/// How long an opened session lasts: an hour from when it was opened.
pub const OPEN_SECONDS: Timestamp = 3600;
/// Random characters in a session's secret (base62: ≈ 190 bits).
pub const SECRET_LEN: usize = 32;

pub const CONFIGURATION_PREFIX: &str = "bpc_";
pub const SESSION_PREFIX: &str = "bps_";

/// Stripe's cancellation reasons, in its order.
pub const CANCELLATION_REASONS: &[&str] = &[
    "too_expensive",
    "missing_features",
    "switched_service",
    "unused",
    "customer_service",
    "too_complex",
    "low_quality",
    "other",
];
const CUSTOMER_UPDATES: &[&str] = &["email", "address", "shipping", "phone", "tax_id", "name"];
const ALLOWED_UPDATES: &[&str] = &["price", "quantity", "promotion_code"];
const PRORATION_BEHAVIORS: &[&str] = &["create_prorations", "none", "always_invoice"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessProfile {
    pub headline: Option<String>,
    pub privacy_policy_url: Option<String>,
    pub terms_of_service_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerUpdate {
    pub enabled: bool,
    pub allowed_updates: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationReason {
    pub enabled: bool,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionCancel {
    pub enabled: bool,
    /// `at_period_end` or `immediately`.
    pub mode: String,
    /// `none` or `create_prorations` (kept and shown; kassa prorates nothing on cancellation).
    pub proration_behavior: String,
    pub cancellation_reason: CancellationReason,
}

impl Default for SubscriptionCancel {
    fn default() -> Self {
        Self {
            enabled: false,
            mode: "at_period_end".to_owned(),
            proration_behavior: "none".to_owned(),
            cancellation_reason: CancellationReason::default(),
        }
    }
}

/// A product the customer may switch to, and which of its prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalProduct {
    pub product: String,
    pub prices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionUpdate {
    pub enabled: bool,
    pub default_allowed_updates: Vec<String>,
    pub products: Vec<PortalProduct>,
    /// `create_prorations`, `none` or `always_invoice`: what a plan change in the portal does.
    pub proration_behavior: String,
}

impl Default for SubscriptionUpdate {
    fn default() -> Self {
        Self {
            enabled: false,
            default_allowed_updates: Vec::new(),
            products: Vec::new(),
            proration_behavior: "create_prorations".to_owned(),
        }
    }
}

impl SubscriptionUpdate {
    pub fn allows(&self, update: &str) -> bool {
        self.default_allowed_updates.iter().any(|u| u == update)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    pub customer_update: CustomerUpdate,
    pub invoice_history: bool,
    pub payment_method_update: bool,
    pub subscription_cancel: SubscriptionCancel,
    pub subscription_update: SubscriptionUpdate,
}

/// A portal configuration (`billing_portal.configuration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalConfiguration {
    pub id: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub active: bool,
    pub is_default: bool,
    pub business_profile: BusinessProfile,
    pub default_return_url: Option<String>,
    pub features: Features,
    pub metadata: Metadata,
}

fn enabled(b: Option<crate::params::Bool>) -> Option<bool> {
    b.map(|b| b.0)
}

/// Each of `values` must be one of `allowed`.
fn one_of_each(param: &str, values: &[String], allowed: &[&str]) -> Result<(), Invalid> {
    for (i, v) in values.iter().enumerate() {
        if !allowed.contains(&v.as_str()) {
            return Err(Invalid::param(
                format!("{param}[{i}]"),
                format!("Invalid {param}[{i}]: must be one of {}.", allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

fn one_of(param: &str, value: &str, allowed: &[&str]) -> Result<(), Invalid> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Invalid::param(param, format!("Invalid {param}: must be one of {}.", allowed.join(", "))))
    }
}

fn optional_url(param: &str, url: Option<String>) -> Result<Option<String>, Invalid> {
    match url {
        None => Ok(None),
        Some(u) if u.is_empty() => Ok(None),
        Some(u) => {
            check_url(param, &u)?;
            Ok(Some(u))
        }
    }
}

impl PortalConfiguration {
    /// The default configuration an account gets on first use: everything on but plan changes,
    /// which need the products to offer.
    pub fn default_for(now: Timestamp) -> Self {
        Self {
            id: ids::new_id(CONFIGURATION_PREFIX),
            created: now,
            updated: now,
            active: true,
            is_default: true,
            business_profile: BusinessProfile::default(),
            default_return_url: None,
            features: Features {
                customer_update: CustomerUpdate { enabled: true, allowed_updates: vec!["email".to_owned()] },
                invoice_history: true,
                payment_method_update: true,
                subscription_cancel: SubscriptionCancel {
                    enabled: true,
                    cancellation_reason: CancellationReason {
                        enabled: true,
                        options: CANCELLATION_REASONS.iter().map(|s| (*s).to_owned()).collect(),
                    },
                    ..SubscriptionCancel::default()
                },
                subscription_update: SubscriptionUpdate::default(),
            },
            metadata: Metadata::new(),
        }
    }

    /// `POST /billing_portal/configurations`: `features` is required. The products and prices of
    /// `features[subscription_update][products]` are checked by the caller, which can read them.
    pub fn create(p: PortalConfigurationParams, now: Timestamp) -> Result<Self, Invalid> {
        if p.active.is_some() {
            return Err(Invalid::new(
                ErrorCode::ParameterUnknown,
                "active",
                "Received unknown parameter: active (a configuration is made active; update it to deactivate).",
            ));
        }
        if p.features.is_none() {
            return Err(Invalid::missing("features"));
        }
        let mut c = Self {
            id: ids::new_id(CONFIGURATION_PREFIX),
            created: now,
            updated: now,
            active: true,
            is_default: false,
            business_profile: BusinessProfile::default(),
            default_return_url: None,
            features: Features::default(),
            metadata: Metadata::new(),
        };
        c.apply(p, now)?;
        Ok(c)
    }

    /// `POST /billing_portal/configurations/{id}`: what is given replaces what was.
    pub fn update(&mut self, p: PortalConfigurationParams, now: Timestamp) -> Result<(), Invalid> {
        if let Some(a) = p.active {
            if !a.0 && self.is_default {
                return Err(Invalid::param("active", "The default configuration cannot be deactivated."));
            }
            self.active = a.0;
        }
        self.apply(p, now)
    }

    fn apply(&mut self, p: PortalConfigurationParams, now: Timestamp) -> Result<(), Invalid> {
        if let Some(lp) = &p.login_page
            && enabled(lp.enabled) == Some(true)
        {
            return Err(Invalid::param(
                "login_page[enabled]",
                "kassa has no portal login page: `login_page[enabled]` must be false.",
            ));
        }
        if let Some(b) = p.business_profile {
            if let Some(h) = b.headline {
                if h.chars().count() > 60 {
                    return Err(Invalid::param(
                        "business_profile[headline]",
                        "`business_profile[headline]` must be at most 60 characters.",
                    ));
                }
                self.business_profile.headline = (!h.is_empty()).then_some(h);
            }
            if b.privacy_policy_url.is_some() {
                self.business_profile.privacy_policy_url =
                    optional_url("business_profile[privacy_policy_url]", b.privacy_policy_url)?;
            }
            if b.terms_of_service_url.is_some() {
                self.business_profile.terms_of_service_url =
                    optional_url("business_profile[terms_of_service_url]", b.terms_of_service_url)?;
            }
        }
        if p.default_return_url.is_some() {
            self.default_return_url = optional_url("default_return_url", p.default_return_url)?;
        }
        if let Some(f) = p.features {
            self.apply_features(f)?;
        }
        if p.metadata.is_some() {
            self.metadata = metadata::update(std::mem::take(&mut self.metadata), p.metadata, "metadata")?;
        }
        self.updated = now;
        Ok(())
    }

    fn apply_features(&mut self, f: PortalFeaturesParam) -> Result<(), Invalid> {
        let feats = &mut self.features;
        if let Some(cu) = f.customer_update {
            if let Some(u) = cu.allowed_updates {
                one_of_each("features[customer_update][allowed_updates]", &u, CUSTOMER_UPDATES)?;
                feats.customer_update.allowed_updates = u;
            }
            if let Some(e) = enabled(cu.enabled) {
                feats.customer_update.enabled = e;
            }
        }
        if let Some(e) = f.invoice_history.and_then(|t| enabled(t.enabled)) {
            feats.invoice_history = e;
        }
        if let Some(e) = f.payment_method_update.and_then(|t| enabled(t.enabled)) {
            feats.payment_method_update = e;
        }
        if let Some(sc) = f.subscription_cancel {
            let cancel = &mut feats.subscription_cancel;
            if let Some(m) = sc.mode {
                one_of("features[subscription_cancel][mode]", &m, &["at_period_end", "immediately"])?;
                cancel.mode = m;
            }
            if let Some(b) = sc.proration_behavior {
                one_of(
                    "features[subscription_cancel][proration_behavior]",
                    &b,
                    &["none", "create_prorations"],
                )?;
                cancel.proration_behavior = b;
            }
            if let Some(r) = sc.cancellation_reason {
                if let Some(o) = r.options {
                    one_of_each(
                        "features[subscription_cancel][cancellation_reason][options]",
                        &o,
                        CANCELLATION_REASONS,
                    )?;
                    cancel.cancellation_reason.options = o;
                }
                if let Some(e) = enabled(r.enabled) {
                    cancel.cancellation_reason.enabled = e;
                }
                if cancel.cancellation_reason.enabled && cancel.cancellation_reason.options.is_empty() {
                    return Err(Invalid::missing(
                        "features[subscription_cancel][cancellation_reason][options]",
                    ));
                }
            }
            if let Some(e) = enabled(sc.enabled) {
                cancel.enabled = e;
            }
        }
        if let Some(su) = f.subscription_update {
            let update = &mut feats.subscription_update;
            if let Some(u) = su.default_allowed_updates {
                one_of_each("features[subscription_update][default_allowed_updates]", &u, ALLOWED_UPDATES)?;
                update.default_allowed_updates = u;
            }
            if let Some(b) = su.proration_behavior {
                one_of("features[subscription_update][proration_behavior]", &b, PRORATION_BEHAVIORS)?;
                update.proration_behavior = b;
            }
            if let Some(products) = su.products {
                let mut out = Vec::with_capacity(products.len());
                for (i, p) in products.into_iter().enumerate() {
                    let param = |f: &str| format!("features[subscription_update][products][{i}][{f}]");
                    let product = p
                        .product
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| Invalid::missing(param("product")))?;
                    let prices = p
                        .prices
                        .filter(|p| !p.is_empty())
                        .ok_or_else(|| Invalid::missing(param("prices")))?;
                    out.push(PortalProduct { product, prices });
                }
                update.products = out;
            }
            if let Some(e) = enabled(su.enabled) {
                update.enabled = e;
            }
            if update.enabled && update.products.is_empty() {
                return Err(Invalid::missing("features[subscription_update][products]"));
            }
            if update.enabled && update.default_allowed_updates.is_empty() {
                return Err(Invalid::missing("features[subscription_update][default_allowed_updates]"));
            }
        }
        Ok(())
    }
}

/// What the portal does once a flow is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterCompletion {
    /// `redirect`, `portal_homepage` or `hosted_confirmation`.
    pub r#type: String,
    pub redirect_url: Option<String>,
    pub custom_message: Option<String>,
}

/// An item of a `subscription_update_confirm` flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowItem {
    pub id: String,
    pub price: Option<String>,
    pub quantity: Option<i64>,
}

/// A flow: the portal opens straight on one step (`flow_data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// `payment_method_update`, `subscription_cancel`, `subscription_update` or
    /// `subscription_update_confirm`.
    pub r#type: String,
    pub after_completion: AfterCompletion,
    /// The subscription of a subscription flow.
    pub subscription: Option<String>,
    pub items: Vec<FlowItem>,
    /// `flow_data[subscription_update_confirm][discounts]`, as given (`{coupon, promotion_code}`).
    #[serde(default)]
    pub discounts: Vec<(Option<String>, Option<String>)>,
}

pub const FLOW_TYPES: &[&str] =
    &["payment_method_update", "subscription_cancel", "subscription_update", "subscription_update_confirm"];

impl Flow {
    /// Check `flow_data` on its own; the subscription is checked by the caller.
    pub fn parse(p: PortalFlowParam) -> Result<Self, Invalid> {
        let kind = p.r#type.ok_or_else(|| Invalid::missing("flow_data[type]"))?;
        one_of("flow_data[type]", &kind, FLOW_TYPES)?;
        let after = p.after_completion.unwrap_or_default();
        let after_type = after.r#type.unwrap_or_else(|| "portal_homepage".to_owned());
        one_of(
            "flow_data[after_completion][type]",
            &after_type,
            &["redirect", "portal_homepage", "hosted_confirmation"],
        )?;
        let redirect_url = match (after_type.as_str(), after.redirect.and_then(|r| r.return_url)) {
            ("redirect", Some(u)) => {
                check_url("flow_data[after_completion][redirect][return_url]", &u)?;
                Some(u)
            }
            ("redirect", None) => {
                return Err(Invalid::missing("flow_data[after_completion][redirect][return_url]"));
            }
            _ => None,
        };
        let custom_message = match after.hosted_confirmation.and_then(|h| h.custom_message) {
            Some(m) if after_type == "hosted_confirmation" => {
                if m.chars().count() > 500 {
                    return Err(Invalid::param(
                        "flow_data[after_completion][hosted_confirmation][custom_message]",
                        "The message must be at most 500 characters.",
                    ));
                }
                Some(m)
            }
            _ => None,
        };
        let after_completion = AfterCompletion { r#type: after_type, redirect_url, custom_message };
        let (subscription, items, discounts) = match kind.as_str() {
            "subscription_cancel" => {
                let s = p.subscription_cancel.and_then(|s| s.subscription);
                (
                    Some(s.ok_or_else(|| Invalid::missing("flow_data[subscription_cancel][subscription]"))?),
                    Vec::new(),
                    Vec::new(),
                )
            }
            "subscription_update" => {
                let s = p.subscription_update.and_then(|s| s.subscription);
                (
                    Some(s.ok_or_else(|| Invalid::missing("flow_data[subscription_update][subscription]"))?),
                    Vec::new(),
                    Vec::new(),
                )
            }
            "subscription_update_confirm" => {
                let c = p.subscription_update_confirm.unwrap_or_default();
                let s = c.subscription.ok_or_else(|| {
                    Invalid::missing("flow_data[subscription_update_confirm][subscription]")
                })?;
                let raw = c
                    .items
                    .filter(|i| !i.is_empty())
                    .ok_or_else(|| Invalid::missing("flow_data[subscription_update_confirm][items]"))?;
                if raw.len() > 1 {
                    return Err(Invalid::param(
                        "flow_data[subscription_update_confirm][items]",
                        "kassa's portal changes one item at a time: give exactly one item.",
                    ));
                }
                let mut items = Vec::new();
                for (i, it) in raw.into_iter().enumerate() {
                    let param = |f: &str| format!("flow_data[subscription_update_confirm][items][{i}][{f}]");
                    let id = it.id.ok_or_else(|| Invalid::missing(param("id")))?;
                    if let Some(q) = it.quantity
                        && !(1..=999_999).contains(&q.0)
                    {
                        return Err(Invalid::param(
                            param("quantity"),
                            "`quantity` must be between 1 and 999999.",
                        ));
                    }
                    items.push(FlowItem { id, price: it.price, quantity: it.quantity.map(|q| q.0) });
                }
                let discounts = c
                    .discounts
                    .unwrap_or_default()
                    .into_iter()
                    .map(|d| (d.coupon, d.promotion_code))
                    .collect();
                (Some(s), items, discounts)
            }
            _ => (None, Vec::new(), Vec::new()),
        };
        Ok(Self { r#type: kind, after_completion, subscription, items, discounts })
    }
}

/// A portal session (`billing_portal.session`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSession {
    pub id: String,
    pub created: Timestamp,
    pub customer: String,
    pub configuration: String,
    pub return_url: Option<String>,
    pub locale: Option<String>,
    pub flow: Option<Flow>,
    /// The SHA-256 of the URL's secret.
    pub secret_hash: String,
    /// The token the portal's forms carry (CSRF), random and per session.
    pub csrf: String,
    /// When the portal was first opened.
    pub opened_at: Option<Timestamp>,
    /// When it stops opening: [`UNUSED_SECONDS`] after it was made, then [`OPEN_SECONDS`] after
    /// it was opened.
    pub expires_at: Timestamp,
    /// The session's URL, with its secret, kept only in the answer to its creation.
    #[serde(skip)]
    pub url: Option<String>,
}

impl PortalSession {
    /// A new session and its secret (which only the URL holds).
    pub fn new(
        p: &PortalSessionCreate,
        customer: String,
        configuration: String,
        return_url: Option<String>,
        flow: Option<Flow>,
        now: Timestamp,
    ) -> (Self, String) {
        let secret = ids::random_base62(SECRET_LEN);
        let s = Self {
            id: ids::new_id(SESSION_PREFIX),
            created: now,
            customer,
            configuration,
            return_url,
            locale: p.locale.clone().filter(|l| !l.is_empty()),
            flow,
            secret_hash: Self::hash(&secret),
            csrf: ids::random_base62(SECRET_LEN),
            opened_at: None,
            expires_at: now + UNUSED_SECONDS,
            url: None,
        };
        (s, secret)
    }

    pub fn hash(secret: &str) -> String {
        KeyHash::of(secret).as_str().to_owned()
    }

    /// Whether `secret` is this session's (in constant time).
    pub fn opens_with(&self, secret: &str) -> bool {
        let h = Self::hash(secret);
        h.len() == self.secret_hash.len()
            && h.bytes().zip(self.secret_hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    pub fn live_at(&self, now: Timestamp) -> bool {
        now >= self.created && now < self.expires_at
    }

    /// Opened at `now`: it lasts [`OPEN_SECONDS`] from the first opening.
    pub fn open(&mut self, now: Timestamp) {
        if self.opened_at.is_none() {
            self.opened_at = Some(now);
            self.expires_at = now + OPEN_SECONDS;
        }
    }
}

/// A `locale` must look like one (`auto`, `en`, `fr-CA`).
pub fn check_locale(locale: &str) -> Result<(), Invalid> {
    let ok = locale == "auto"
        || (locale.len() <= 8
            && locale
                .split('-')
                .all(|p| (2..=4).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric())));
    if ok { Ok(()) } else { Err(Invalid::param("locale", format!("Invalid locale: {locale}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_five_minutes_unused_and_an_hour_after_opening() {
        let (mut s, secret) = PortalSession::new(
            &PortalSessionCreate::default(),
            "cus_1".into(),
            "bpc_1".into(),
            None,
            None,
            1000,
        );
        assert!(s.opens_with(&secret));
        assert!(!s.opens_with("nope"));
        assert_ne!(s.secret_hash, secret);
        assert!(s.live_at(1000 + UNUSED_SECONDS - 1));
        assert!(!s.live_at(1000 + UNUSED_SECONDS));
        s.open(1100);
        assert!(s.live_at(1100 + OPEN_SECONDS - 1));
        assert!(!s.live_at(1100 + OPEN_SECONDS));
        s.open(2000);
        assert_eq!(s.expires_at, 1100 + OPEN_SECONDS, "a second opening does not extend it");
    }
}
