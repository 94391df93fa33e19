//! `expand[]`: replace ids in a rendered object with the objects they name, along dotted
//! paths of up to four levels (`line_items.data.price.product`); on lists, paths start with
//! `data.`.
//!
//! Every path is first checked against a small schema of what each object type can expand, so an
//! unknown path is a 400 on `expand` whatever the data holds. Then the paths are applied by
//! increasing length: at each step the ids still to expand are collected from the JSON tree,
//! loaded in one read per kind, rendered, and put in place.

use std::collections::HashMap;

use kassa_core::Invalid;
use kassa_core::billing::{Invoice, PaymentIntent, PaymentMethod, SetupIntent, Subscription};
use kassa_core::catalog::{Coupon, Customer, Product, PromotionCode};
use kassa_core::store::{Kind, Record, StoreError};
use serde_json::Value;

use super::{Acct, Result};
use crate::state::Ctx;
use crate::views;

pub const MAX_DEPTH: usize = 4;

/// Object types as far as expansion cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Session,
    Item,
    Price,
    Product,
    Customer,
    Coupon,
    PromotionCode,
    TaxRate,
    Discount,
    PaymentIntent,
    /// A payment intent's `last_payment_error`.
    PaymentError,
    PaymentMethod,
    SetupIntent,
    Subscription,
    SubscriptionItem,
    Invoice,
    InvoiceLine,
    InvoiceItem,
    /// What `fund_cash_balance` answers.
    CashBalanceTransaction,
    TestClock,
    ShippingRate,
    /// A session's `shipping_cost` or one of its `shipping_options`.
    ShippingCost,
    Event,
    WebhookEndpoint,
    WebhookDelivery,
    Charge,
    Refund,
    /// A list of `Ty`.
    List(&'static Ty),
}

#[derive(Debug, Clone, Copy)]
enum Field {
    /// An id that expands into the object.
    Id(Ty),
    /// An object already in place, to walk through.
    Embedded(Ty),
    /// An array whose elements are of this type.
    Array(Ty),
    /// A field left out unless `expand[]` names it (Stripe's "includable" fields: a line item's
    /// `taxes` and `discounts`); it is rendered in place, nothing to load.
    Includable,
}

fn field(ty: Ty, name: &str) -> Option<Field> {
    use Field::{Array, Embedded, Id};
    match (ty, name) {
        (Ty::Session, "customer") => Some(Id(Ty::Customer)),
        (Ty::Session, "payment_intent") => Some(Id(Ty::PaymentIntent)),
        (Ty::Session, "subscription") => Some(Id(Ty::Subscription)),
        (Ty::Session, "invoice") => Some(Id(Ty::Invoice)),
        (Ty::Session, "setup_intent") => Some(Id(Ty::SetupIntent)),
        (Ty::SetupIntent, "customer") => Some(Id(Ty::Customer)),
        (Ty::SetupIntent, "payment_method") => Some(Id(Ty::PaymentMethod)),
        (Ty::Session, "line_items") => Some(Embedded(Ty::List(&Ty::Item))),
        (Ty::Session, "discounts") => Some(Array(Ty::Discount)),
        (Ty::Session, "shipping_cost") => Some(Embedded(Ty::ShippingCost)),
        (Ty::Session, "shipping_options") => Some(Array(Ty::ShippingCost)),
        (Ty::ShippingCost, "shipping_rate") => Some(Id(Ty::ShippingRate)),
        (Ty::List(elem), "data") => Some(Array(*elem)),
        (Ty::Item, "price") => Some(Embedded(Ty::Price)),
        (Ty::Item, "taxes" | "discounts") => Some(Field::Includable),
        (Ty::Price, "product") => Some(Id(Ty::Product)),
        (Ty::Discount, "coupon") => Some(Id(Ty::Coupon)),
        (Ty::Discount, "promotion_code") => Some(Id(Ty::PromotionCode)),
        (Ty::PromotionCode, "coupon") => Some(Embedded(Ty::Coupon)),
        (Ty::PromotionCode, "customer") => Some(Id(Ty::Customer)),
        (Ty::Customer, "test_clock") => Some(Id(Ty::TestClock)),
        (Ty::PaymentIntent, "customer") => Some(Id(Ty::Customer)),
        (Ty::PaymentIntent, "payment_method") => Some(Id(Ty::PaymentMethod)),
        (Ty::PaymentIntent, "invoice") => Some(Id(Ty::Invoice)),
        (Ty::PaymentIntent, "last_payment_error") => Some(Embedded(Ty::PaymentError)),
        (Ty::PaymentError, "payment_method") => Some(Id(Ty::PaymentMethod)),
        (Ty::PaymentMethod, "customer") => Some(Id(Ty::Customer)),
        (Ty::Subscription, "customer") => Some(Id(Ty::Customer)),
        (Ty::Subscription, "default_payment_method") => Some(Id(Ty::PaymentMethod)),
        (Ty::Subscription, "latest_invoice") => Some(Id(Ty::Invoice)),
        (Ty::Subscription, "items") => Some(Embedded(Ty::List(&Ty::SubscriptionItem))),
        (Ty::Subscription, "discount") => Some(Embedded(Ty::Discount)),
        (Ty::SubscriptionItem, "price") => Some(Embedded(Ty::Price)),
        (Ty::Invoice, "customer") => Some(Id(Ty::Customer)),
        (Ty::Invoice, "subscription") => Some(Id(Ty::Subscription)),
        (Ty::Invoice, "payment_intent") => Some(Id(Ty::PaymentIntent)),
        (Ty::Invoice, "lines") => Some(Embedded(Ty::List(&Ty::InvoiceLine))),
        (Ty::Invoice, "discount") => Some(Embedded(Ty::Discount)),
        (Ty::InvoiceLine, "price") => Some(Embedded(Ty::Price)),
        (Ty::InvoiceLine, "subscription") => Some(Id(Ty::Subscription)),
        (Ty::CashBalanceTransaction, "customer") => Some(Id(Ty::Customer)),
        (Ty::PaymentIntent, "latest_charge") => Some(Id(Ty::Charge)),
        (Ty::Charge, "customer") => Some(Id(Ty::Customer)),
        (Ty::Charge, "payment_intent") => Some(Id(Ty::PaymentIntent)),
        (Ty::Charge, "invoice") => Some(Id(Ty::Invoice)),
        (Ty::Charge, "refunds") => Some(Embedded(Ty::List(&Ty::Refund))),
        (Ty::Refund, "charge") => Some(Id(Ty::Charge)),
        (Ty::Refund, "payment_intent") => Some(Id(Ty::PaymentIntent)),
        (Ty::SubscriptionItem, "subscription") => Some(Id(Ty::Subscription)),
        (Ty::InvoiceItem, "customer") => Some(Id(Ty::Customer)),
        (Ty::InvoiceItem, "subscription") => Some(Id(Ty::Subscription)),
        (Ty::InvoiceItem, "invoice") => Some(Id(Ty::Invoice)),
        (Ty::InvoiceItem, "price") => Some(Embedded(Ty::Price)),
        _ => None,
    }
}

fn cannot(path: &str) -> Invalid {
    Invalid::param("expand", format!("This property cannot be expanded ({path})."))
}

/// Check `paths` against the schema rooted at `root`; returns them split into segments.
pub fn validate(root: Ty, paths: &[String]) -> Result<Vec<Vec<String>>, Invalid> {
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let segs: Vec<String> = path.split('.').map(str::to_owned).collect();
        let counted = if matches!(root, Ty::List(_)) { segs.len().saturating_sub(1) } else { segs.len() };
        if path.is_empty() || counted > MAX_DEPTH || segs.iter().any(String::is_empty) {
            return Err(cannot(path));
        }
        let mut ty = root;
        for (i, seg) in segs.iter().enumerate() {
            let last = i + 1 == segs.len();
            match field(ty, seg) {
                None => return Err(cannot(path)),
                Some(Field::Id(t)) => ty = t,
                // Already an object (or, for `line_items`, included by naming it): nothing to load.
                Some(Field::Embedded(t)) => ty = t,
                Some(Field::Array(t)) => {
                    if last {
                        return Err(cannot(path));
                    }
                    ty = t;
                }
                Some(Field::Includable) => {
                    if !last {
                        return Err(cannot(path));
                    }
                }
            }
        }
        out.push(segs);
    }
    Ok(out)
}

/// Whether any path asks for the session's `line_items` (on a session or a list of them).
pub fn wants_line_items(paths: &[Vec<String>], on_list: bool) -> bool {
    let i = usize::from(on_list);
    paths.iter().any(|p| p.get(i).is_some_and(|s| s == "line_items"))
}

/// Which includable fields of a line item `paths` ask for, on a session (`line_items.data.X`),
/// a list of sessions (`data.line_items.data.X`) or the line items list (`data.X`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemFields {
    pub taxes: bool,
    pub discounts: bool,
}

pub fn item_fields(paths: &[Vec<String>], root: Ty) -> ItemFields {
    let prefix: &[&str] = match root {
        Ty::Session => &["line_items", "data"],
        Ty::List(Ty::Session) => &["data", "line_items", "data"],
        _ => &["data"],
    };
    let wants = |name: &str| {
        paths.iter().any(|p| {
            p.len() == prefix.len() + 1
                && p.iter().zip(prefix).all(|(a, b)| a == b)
                && p[prefix.len()] == name
        })
    };
    ItemFields { taxes: wants("taxes"), discounts: wants("discounts") }
}

struct Pending {
    /// JSON pointer to the id to replace.
    pointer: String,
    ty: Ty,
    id: String,
}

fn collect(v: &Value, ty: Ty, segs: &[String], pointer: &str, out: &mut Vec<Pending>) {
    let Some((seg, rest)) = segs.split_first() else { return };
    let Some(f) = field(ty, seg) else { return };
    let child = &v[seg.as_str()];
    let child_ptr = format!("{pointer}/{}", seg.replace('~', "~0").replace('/', "~1"));
    match f {
        Field::Id(t) => match child {
            Value::String(id) if rest.is_empty() => {
                out.push(Pending { pointer: child_ptr, ty: t, id: id.clone() })
            }
            Value::Object(_) => collect(child, t, rest, &child_ptr, out),
            _ => {}
        },
        Field::Embedded(t) => {
            if child.is_object() {
                collect(child, t, rest, &child_ptr, out);
            }
        }
        Field::Array(t) => {
            if let Value::Array(items) = child {
                for (i, item) in items.iter().enumerate() {
                    collect(item, t, rest, &format!("{child_ptr}/{i}"), out);
                }
            }
        }
        Field::Includable => {}
    }
}

/// Expand `paths` (already validated) in `value`, an object of type `root` in `acct`.
pub async fn apply(ctx: &Ctx, acct: &Acct, value: &mut Value, root: Ty, paths: &[Vec<String>]) -> Result<()> {
    let longest = paths.iter().map(Vec::len).max().unwrap_or(0);
    for len in 1..=longest {
        let mut pending = Vec::new();
        for p in paths.iter().filter(|p| p.len() >= len) {
            collect(value, root, &p[..len], "", &mut pending);
        }
        if pending.is_empty() {
            continue;
        }
        let loaded = load(ctx, acct, &pending).await?;
        for p in pending {
            if let (Some(obj), Some(slot)) =
                (loaded.get(&(kind_of(p.ty), p.id.clone())), value.pointer_mut(&p.pointer))
            {
                *slot = obj.clone();
            }
        }
    }
    Ok(())
}

fn kind_of(ty: Ty) -> Option<Kind> {
    match ty {
        Ty::Customer => Some(Kind::Customer),
        Ty::Product => Some(Kind::Product),
        Ty::Coupon => Some(Kind::Coupon),
        Ty::PromotionCode => Some(Kind::PromotionCode),
        Ty::Price => Some(Kind::Price),
        Ty::Session => Some(Kind::CheckoutSession),
        Ty::PaymentIntent => Some(Kind::PaymentIntent),
        Ty::PaymentMethod => Some(Kind::PaymentMethod),
        Ty::SetupIntent => Some(Kind::SetupIntent),
        Ty::Subscription => Some(Kind::Subscription),
        Ty::Invoice => Some(Kind::Invoice),
        Ty::InvoiceItem => Some(Kind::InvoiceItem),
        // Nothing names these by an id that `expand` could follow.
        Ty::Event | Ty::WebhookEndpoint | Ty::WebhookDelivery => None,
        Ty::TestClock => Some(Kind::TestClock),
        Ty::TaxRate => Some(Kind::TaxRate),
        Ty::ShippingRate => Some(Kind::ShippingRate),
        Ty::Charge => Some(Kind::Charge),
        Ty::Refund => Some(Kind::Refund),
        // Only ever embedded, never named by an id.
        Ty::Item
        | Ty::Discount
        | Ty::PaymentError
        | Ty::SubscriptionItem
        | Ty::InvoiceLine
        | Ty::CashBalanceTransaction
        | Ty::ShippingCost
        | Ty::List(_) => None,
    }
}

async fn load(ctx: &Ctx, acct: &Acct, pending: &[Pending]) -> Result<HashMap<(Option<Kind>, String), Value>> {
    let mut keys: Vec<(Kind, String)> = Vec::new();
    for p in pending {
        if let Some(k) = kind_of(p.ty)
            && !keys.iter().any(|(kk, id)| *kk == k && id == &p.id)
        {
            keys.push((k, p.id.clone()));
        }
    }
    let raws = ctx.store.get_many(&acct.id, keys).await?;
    let now = ctx.now();
    let mut out = HashMap::new();
    let mut codes = Vec::new();
    for raw in &raws {
        let rendered = match raw.kind {
            Kind::Customer => views::customer(&Customer::from_raw(raw)?),
            Kind::Product => views::product(&Product::from_raw(raw)?),
            Kind::Coupon => views::coupon(&Coupon::from_raw(raw)?, now),
            Kind::Price => views::price(&kassa_core::catalog::Price::from_raw(raw)?),
            Kind::PromotionCode => {
                codes.push(PromotionCode::from_raw(raw)?);
                continue;
            }
            Kind::PaymentIntent => views::payment_intent(&PaymentIntent::from_raw(raw)?),
            Kind::PaymentMethod => views::payment_method(&PaymentMethod::from_raw(raw)?),
            Kind::SetupIntent => views::setup_intent(&SetupIntent::from_raw(raw)?),
            Kind::Subscription => views::subscription(&Subscription::from_raw(raw)?),
            Kind::Invoice => views::invoice(&Invoice::from_raw(raw)?),
            Kind::InvoiceItem => views::invoice_item(&kassa_core::billing::InvoiceItem::from_raw(raw)?),
            Kind::CheckoutSession
            | Kind::IdempotencyKey
            | Kind::Event
            | Kind::WebhookEndpoint
            | Kind::WebhookDelivery
            | Kind::DashboardSession
            | Kind::PortalConfiguration
            | Kind::PortalSession => continue,
            Kind::TestClock => views::test_clock(&kassa_core::renewal::TestClock::from_raw(raw)?),
            Kind::TaxRate => views::tax_rate(&kassa_core::tax::TaxRate::from_raw(raw)?),
            Kind::ShippingRate => views::shipping_rate(&kassa_core::shipping::ShippingRate::from_raw(raw)?),
            Kind::Charge => views::charge(&kassa_core::charge::Charge::from_raw(raw)?),
            Kind::Refund => views::refund(&kassa_core::charge::Refund::from_raw(raw)?),
        };
        out.insert((Some(raw.kind), raw.id.clone()), rendered);
    }
    if !codes.is_empty() {
        let keys = codes.iter().map(|c| (Kind::Coupon, c.coupon.clone())).collect();
        let coupons: Vec<Coupon> = ctx
            .store
            .get_many(&acct.id, keys)
            .await?
            .iter()
            .map(Coupon::from_raw)
            .collect::<Result<_, StoreError>>()?;
        for code in codes {
            let coupon = coupons.iter().find(|c| c.id == code.coupon);
            out.insert(
                (Some(Kind::PromotionCode), code.id.clone()),
                views::promotion_code(&code, coupon, now),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok = |root, p: &str| validate(root, &[p.to_owned()]).is_ok();
        assert!(ok(Ty::Session, "customer"));
        assert!(ok(Ty::Session, "line_items"));
        assert!(ok(Ty::Session, "line_items.data.price.product"));
        assert!(ok(Ty::Session, "discounts.coupon"));
        assert!(ok(Ty::Session, "discounts.promotion_code"));
        assert!(ok(Ty::Session, "payment_intent"));
        assert!(ok(Ty::List(&Ty::Session), "data.customer"));
        assert!(ok(Ty::List(&Ty::Session), "data.line_items.data.price.product"));
        assert!(!ok(Ty::Session, "nope"));
        assert!(!ok(Ty::Session, "discounts"));
        assert!(ok(Ty::Session, "line_items.data.price"));
        assert!(!ok(Ty::Session, "customer.nope"));
        assert!(!ok(Ty::Session, ""));
        assert!(!ok(Ty::Session, "customer..x"));
        assert!(!ok(Ty::List(&Ty::Session), "customer"));
        assert!(ok(Ty::Price, "product"));
        assert!(ok(Ty::PromotionCode, "customer"));

        // What a completed checkout creates.
        assert!(ok(Ty::Session, "invoice"));
        assert!(ok(Ty::Session, "subscription.latest_invoice.payment_intent.payment_method"));
        assert!(!ok(Ty::Session, "subscription.latest_invoice.payment_intent.payment_method.customer"));
        assert!(ok(Ty::PaymentIntent, "customer"));
        assert!(ok(Ty::PaymentIntent, "payment_method"));
        assert!(ok(Ty::PaymentIntent, "payment_method.customer"));
        assert!(ok(Ty::PaymentIntent, "invoice.subscription"));
        assert!(ok(Ty::PaymentIntent, "last_payment_error.payment_method"));
        assert!(!ok(Ty::PaymentIntent, "pending_challenge"));
        assert!(ok(Ty::PaymentIntent, "latest_charge"));
        assert!(ok(Ty::Refund, "charge.payment_intent"));
        assert!(ok(Ty::PaymentMethod, "customer"));
        assert!(!ok(Ty::PaymentMethod, "saved_behaviour"));
        assert!(ok(Ty::Subscription, "customer"));
        assert!(ok(Ty::Subscription, "default_payment_method"));
        assert!(ok(Ty::Subscription, "latest_invoice"));
        assert!(ok(Ty::Subscription, "latest_invoice.payment_intent"));
        assert!(ok(Ty::Subscription, "items.data.price.product"));
        assert!(ok(Ty::Subscription, "discount.coupon"));
        assert!(ok(Ty::Subscription, "discount.promotion_code"));
        assert!(!ok(Ty::Subscription, "items.data"));
        assert!(ok(Ty::Invoice, "customer"));
        assert!(ok(Ty::Invoice, "subscription"));
        assert!(ok(Ty::Invoice, "payment_intent"));
        assert!(ok(Ty::Invoice, "lines.data.price.product"));
        assert!(ok(Ty::Invoice, "discount.coupon"));
        assert!(!ok(Ty::Invoice, "nope"));
        assert!(ok(Ty::List(&Ty::PaymentIntent), "data.customer"));
        assert!(ok(Ty::List(&Ty::PaymentIntent), "data.payment_method"));
        assert!(!ok(Ty::List(&Ty::PaymentIntent), "payment_method"));
        assert!(ok(Ty::List(&Ty::PaymentMethod), "data.customer"));
        assert!(ok(Ty::List(&Ty::Subscription), "data.latest_invoice"));
        assert!(ok(Ty::List(&Ty::Invoice), "data.subscription"));
        assert!(ok(Ty::CashBalanceTransaction, "customer"));
        assert!(!ok(Ty::CashBalanceTransaction, "funded"));
        assert!(ok(Ty::Session, "shipping_cost.shipping_rate"));
        assert!(ok(Ty::Session, "shipping_options.shipping_rate"));
        assert!(!ok(Ty::Session, "shipping_options"));
        assert!(ok(Ty::Session, "line_items.data.taxes"));
        assert!(ok(Ty::Session, "line_items.data.discounts"));
        assert!(ok(Ty::List(&Ty::Item), "data.taxes"));
        assert!(ok(Ty::List(&Ty::Item), "data.discounts"));
        assert!(ok(Ty::List(&Ty::Session), "data.line_items.data.taxes"));
        assert!(!ok(Ty::List(&Ty::Item), "data.taxes.rate"));
        assert!(!ok(Ty::List(&Ty::Item), "taxes"));
    }

    #[test]
    fn includable_item_fields() {
        let p = |s: &[&str]| {
            s.iter().map(|x| x.split('.').map(str::to_owned).collect()).collect::<Vec<Vec<String>>>()
        };
        let f = item_fields(&p(&["line_items.data.taxes"]), Ty::Session);
        assert_eq!(f, ItemFields { taxes: true, discounts: false });
        let f = item_fields(&p(&["data.discounts", "data.taxes"]), Ty::List(&Ty::Item));
        assert_eq!(f, ItemFields { taxes: true, discounts: true });
        let f = item_fields(&p(&["data.line_items.data.discounts"]), Ty::List(&Ty::Session));
        assert_eq!(f, ItemFields { taxes: false, discounts: true });
        assert_eq!(item_fields(&p(&["line_items"]), Ty::Session), ItemFields::default());
    }
}
