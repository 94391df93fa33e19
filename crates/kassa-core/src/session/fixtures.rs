//! Test fixtures for the session's rules, written once: an in-memory catalog that stands in for
//! what the caller loads ([`Fx::resolved`]), and builders for requests and catalog objects.

use std::collections::HashMap;
use std::fmt::Debug;

use super::{Resolved, Session};
use crate::catalog::{
    Coupon, CouponValue, Customer, Duration, Interval, Price, Product, PromotionCode, Recurring, Restrictions,
};
use crate::error::{ErrorCode, Invalid};
use crate::metadata::Metadata;
use crate::money::{Currency, Percent};
use crate::params::{
    AdjustableQuantityParam, Bool, DiscountParam, Int, LineItemParam, SessionCreate, SubscriptionDataParam,
};
use crate::time::Timestamp;

/// The time every fixture session is created at.
pub const NOW: Timestamp = 1_750_000_000;

pub fn cur(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

/// An active one-time price of `unit_amount` minor units, of product `prod_<id without price_>`.
pub fn one_time(id: &str, currency: &str, unit_amount: i64) -> Price {
    Price {
        id: id.to_owned(),
        created: 0,
        product: format!("prod_{}", id.trim_start_matches("price_")),
        currency: cur(currency),
        unit_amount,
        recurring: None,
        active: true,
        nickname: None,
        lookup_key: None,
        metadata: Metadata::new(),
        tax_behavior: Default::default(),
        inline: false,
    }
}

/// An active recurring price, billed every `interval_count` `interval`s.
pub fn recurring(
    id: &str,
    currency: &str,
    unit_amount: i64,
    interval: Interval,
    interval_count: u32,
) -> Price {
    Price { recurring: Some(Recurring { interval, interval_count }), ..one_time(id, currency, unit_amount) }
}

pub fn customer(id: &str, email: Option<&str>) -> Customer {
    Customer {
        id: id.to_owned(),
        created: 0,
        email: email.map(str::to_owned),
        name: None,
        description: None,
        metadata: Metadata::new(),
        cash_balance: Default::default(),
        test_clock: None,
        has_paid: false,
        address: None,
        tax_exempt: Default::default(),
        tax_ids: Vec::new(),
        default_payment_method: None,
        phone: None,
        shipping: None,
    }
}

/// A coupon worth `percent` (a decimal such as `"12.5"`), once, on every product.
pub fn percent_coupon(id: &str, percent: &str) -> Coupon {
    coupon(id, CouponValue::Percent { percent: Percent::parse(percent).unwrap() })
}

/// A coupon worth `amount` minor units of `currency`, once, on every product.
pub fn amount_coupon(id: &str, amount: i64, currency: &str) -> Coupon {
    coupon(id, CouponValue::Amount { amount, currency: cur(currency) })
}

fn coupon(id: &str, value: CouponValue) -> Coupon {
    Coupon {
        id: id.to_owned(),
        created: 0,
        name: None,
        value,
        duration: Duration::Once,
        max_redemptions: None,
        redeem_by: None,
        applies_to: None,
        times_redeemed: 0,
        metadata: Metadata::new(),
    }
}

/// An active promotion code `id` (its code the id in capitals) for `coupon`, unrestricted.
pub fn promotion_code(id: &str, coupon: &str) -> PromotionCode {
    PromotionCode {
        id: id.to_owned(),
        created: 0,
        code: id.to_ascii_uppercase(),
        coupon: coupon.to_owned(),
        active: true,
        customer: None,
        expires_at: None,
        max_redemptions: None,
        restrictions: Restrictions::default(),
        times_redeemed: 0,
        metadata: Metadata::new(),
    }
}

/// What a merchant's account holds, as the caller of [`Session::create`] would load it.
///
/// The standard catalog ([`Fx::new`]):
///
/// | price | currency | unit | recurring |
/// |---|---|---|---|
/// | `price_usd` | usd | 1000 | – |
/// | `price_usd_b` | usd | 2500 | – |
/// | `price_eur` | eur | 1200 | – |
/// | `price_jpy` | jpy | 500 | – |
/// | `price_chf` | chf | 900 | – |
/// | `price_monthly` | usd | 1500 | month × 1 |
/// | `price_monthly_b` | usd | 500 | month × 1 |
/// | `price_bimonthly` | usd | 2000 | month × 2 |
/// | `price_weekly` | usd | 300 | week × 1 |
/// | `price_monthly_eur` | eur | 1500 | month × 1 |
/// | `price_archived` | usd | 1000 | – (inactive) |
///
/// Each price's product is `prod_<suffix>` and named `Product <suffix>`; customer `cus_1`
/// (`buyer@example.com`) exists; no coupon or promotion code is loaded.
pub struct Fx {
    pub prices: Vec<Price>,
    pub products: Vec<Product>,
    pub customer: Option<Customer>,
    pub coupon: Option<Coupon>,
    pub promotion_code: Option<PromotionCode>,
    pub promotion_coupon: Option<Coupon>,
}

impl Fx {
    pub fn new() -> Self {
        let prices = vec![
            one_time("price_usd", "usd", 1000),
            one_time("price_usd_b", "usd", 2500),
            one_time("price_eur", "eur", 1200),
            one_time("price_jpy", "jpy", 500),
            one_time("price_chf", "chf", 900),
            recurring("price_monthly", "usd", 1500, Interval::Month, 1),
            recurring("price_monthly_b", "usd", 500, Interval::Month, 1),
            recurring("price_bimonthly", "usd", 2000, Interval::Month, 2),
            recurring("price_weekly", "usd", 300, Interval::Week, 1),
            recurring("price_monthly_eur", "eur", 1500, Interval::Month, 1),
            Price { active: false, ..one_time("price_archived", "usd", 1000) },
        ];
        let mut fx = Self {
            prices: Vec::new(),
            products: Vec::new(),
            customer: Some(customer("cus_1", Some("buyer@example.com"))),
            coupon: None,
            promotion_code: None,
            promotion_coupon: None,
        };
        for p in prices {
            fx = fx.with_price(p);
        }
        fx
    }

    /// Add a price, and its product (named `Product <suffix>`) unless that exists already.
    pub fn with_price(mut self, price: Price) -> Self {
        if !self.products.iter().any(|p| p.id == price.product) {
            self.products.push(Product {
                id: price.product.clone(),
                created: 0,
                updated: 0,
                name: format!("Product {}", price.product.trim_start_matches("prod_")),
                active: true,
                description: None,
                metadata: Metadata::new(),
                images: Vec::new(),
                tax_code: None,
            });
        }
        self.prices.retain(|p| p.id != price.id);
        self.prices.push(price);
        self
    }

    pub fn with_customer(mut self, customer: Option<Customer>) -> Self {
        self.customer = customer;
        self
    }

    pub fn with_coupon(mut self, coupon: Coupon) -> Self {
        self.coupon = Some(coupon);
        self
    }

    /// Load `code` and the coupon behind it.
    pub fn with_promotion_code(mut self, code: PromotionCode, coupon: Option<Coupon>) -> Self {
        self.promotion_code = Some(code);
        self.promotion_coupon = coupon;
        self
    }

    pub fn price(&self, id: &str) -> &Price {
        self.prices.iter().find(|p| p.id == id).unwrap()
    }

    pub fn resolved(&self) -> Resolved<'_> {
        Resolved {
            prices: self.prices.iter().map(|p| (p.id.as_str(), p)).collect::<HashMap<_, _>>(),
            products: self.products.iter().map(|p| (p.id.as_str(), p)).collect::<HashMap<_, _>>(),
            customer: self.customer.as_ref(),
            coupon: self.coupon.as_ref(),
            promotion_code: self.promotion_code.as_ref(),
            promotion_coupon: self.promotion_coupon.as_ref(),
            shipping_rates: HashMap::new(),
            ..Default::default()
        }
    }

    pub fn create(&self, p: SessionCreate) -> Result<Session, Invalid> {
        Session::create(p, &self.resolved(), NOW)
    }

    /// Create, expecting success.
    #[track_caller]
    pub fn ok(&self, p: SessionCreate) -> Session {
        match self.create(p) {
            Ok(s) => s,
            Err(e) => panic!("expected a session, got {e:?}"),
        }
    }
}

/// A line of `quantity` × `price`.
pub fn line(price: &str, quantity: i64) -> LineItemParam {
    LineItemParam { price: Some(price.to_owned()), quantity: Some(Int(quantity)), ..Default::default() }
}

/// `line` with an `adjustable_quantity` object.
pub fn adjustable(
    line: LineItemParam,
    enabled: Option<bool>,
    minimum: Option<i64>,
    maximum: Option<i64>,
) -> LineItemParam {
    LineItemParam {
        adjustable_quantity: Some(AdjustableQuantityParam {
            enabled: enabled.map(Bool),
            minimum: minimum.map(Int),
            maximum: maximum.map(Int),
        }),
        ..line
    }
}

/// A request with these lines and nothing else.
pub fn request(lines: Vec<LineItemParam>) -> SessionCreate {
    SessionCreate { line_items: Some(lines), ..Default::default() }
}

/// A request for `quantity` × `price`.
pub fn buy(price: &str, quantity: i64) -> SessionCreate {
    request(vec![line(price, quantity)])
}

pub fn coupon_discount(id: &str) -> Option<Vec<DiscountParam>> {
    Some(vec![DiscountParam { coupon: Some(id.to_owned()), promotion_code: None }])
}

pub fn code_discount(id: &str) -> Option<Vec<DiscountParam>> {
    Some(vec![DiscountParam { coupon: None, promotion_code: Some(id.to_owned()) }])
}

pub fn trial(days: i64) -> Option<SubscriptionDataParam> {
    Some(SubscriptionDataParam { trial_period_days: Some(Int(days)), ..Default::default() })
}

pub fn strings(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| (*s).to_owned()).collect())
}

/// Assert that `result` is a refusal with exactly this `code` and `param`; returns its message.
#[track_caller]
pub fn refused<T: Debug>(result: Result<T, Invalid>, code: ErrorCode, param: &str) -> String {
    let e = result.expect_err("expected a refusal");
    assert_eq!((e.code, e.param.as_deref()), (code, Some(param)), "message: {}", e.message);
    e.message
}

/// [`refused`] with `parameter_invalid`, the code of a value that breaks a rule.
#[track_caller]
pub fn invalid<T: Debug>(result: Result<T, Invalid>, param: &str) -> String {
    refused(result, ErrorCode::ParameterInvalid, param)
}
