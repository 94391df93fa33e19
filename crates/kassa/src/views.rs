//! How objects look on the wire: Stripe's shapes (API version 2023-08-16), with every field the
//! SDKs read present, `null` when empty. One place renders each object, for the API responses and
//! (later) for event payloads alike.

use kassa_core::catalog::{Coupon, CouponValue, Customer, Duration, Price, Product, PromotionCode};
use kassa_core::session::{LineItem, Session, Status};
use kassa_core::time::Timestamp;
use serde_json::{Map, Value, json};

/// What rendering depends on besides the object.
pub struct View<'a> {
    pub now: Timestamp,
    pub public_url: &'a str,
}

pub fn product(p: &Product) -> Value {
    json!({
        "id": p.id,
        "object": "product",
        "active": p.active,
        "created": p.created,
        "default_price": null,
        "description": p.description,
        "images": [],
        "livemode": false,
        "metadata": p.metadata,
        "name": p.name,
        "package_dimensions": null,
        "shippable": null,
        "statement_descriptor": null,
        "tax_code": null,
        "type": "service",
        "unit_label": null,
        "updated": p.updated,
        "url": null,
    })
}

pub fn price(p: &Price) -> Value {
    json!({
        "id": p.id,
        "object": "price",
        "active": p.active,
        "billing_scheme": "per_unit",
        "created": p.created,
        "currency": p.currency,
        "custom_unit_amount": null,
        "livemode": false,
        "lookup_key": p.lookup_key,
        "metadata": p.metadata,
        "nickname": p.nickname,
        "product": p.product,
        "recurring": p.recurring.map(|r| json!({
            "aggregate_usage": null,
            "interval": r.interval.as_str(),
            "interval_count": r.interval_count,
            "trial_period_days": null,
            "usage_type": "licensed",
        })),
        "tax_behavior": "unspecified",
        "tiers_mode": null,
        "transform_quantity": null,
        "type": p.type_str(),
        "unit_amount": p.unit_amount,
        "unit_amount_decimal": p.unit_amount.to_string(),
    })
}

pub fn customer(c: &Customer) -> Value {
    let available: Map<String, Value> =
        c.cash_balance.iter().map(|(cur, amount)| (cur.as_str().to_owned(), json!(amount))).collect();
    json!({
        "id": c.id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "cash_balance": {
            "object": "cash_balance",
            "available": available,
            "customer": c.id,
            "livemode": false,
            "settings": {"reconciliation_mode": "automatic", "using_merchant_default": true},
        },
        "created": c.created,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": c.description,
        "discount": null,
        "email": c.email,
        "invoice_prefix": null,
        "invoice_settings": {"custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null},
        "livemode": false,
        "metadata": c.metadata,
        "name": c.name,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": c.test_clock,
    })
}

pub fn coupon(c: &Coupon, now: Timestamp) -> Value {
    let (percent_off, amount_off, currency) = match c.value {
        CouponValue::Percent { percent } => (percent.to_json_number(), Value::Null, Value::Null),
        CouponValue::Amount { amount, currency } => (Value::Null, json!(amount), json!(currency)),
    };
    let duration_in_months = match c.duration {
        Duration::Repeating { months } => json!(months),
        Duration::Once | Duration::Forever => Value::Null,
    };
    let mut v = json!({
        "id": c.id,
        "object": "coupon",
        "amount_off": amount_off,
        "created": c.created,
        "currency": currency,
        "duration": c.duration.as_str(),
        "duration_in_months": duration_in_months,
        "livemode": false,
        "max_redemptions": c.max_redemptions,
        "metadata": c.metadata,
        "name": c.name,
        "percent_off": percent_off,
        "redeem_by": c.redeem_by,
        "times_redeemed": c.times_redeemed,
        "valid": c.valid(now),
    });
    if let (Some(products), Some(obj)) = (&c.applies_to, v.as_object_mut()) {
        obj.insert("applies_to".to_owned(), json!({ "products": products }));
    }
    v
}

pub fn deleted(object: &str, id: &str) -> Value {
    json!({ "id": id, "object": object, "deleted": true })
}

pub fn promotion_code(p: &PromotionCode, coupon_obj: Option<&Coupon>, now: Timestamp) -> Value {
    let coupon_value = match coupon_obj {
        Some(c) => coupon(c, now),
        None => deleted("coupon", &p.coupon),
    };
    json!({
        "id": p.id,
        "object": "promotion_code",
        "active": p.active,
        "code": p.code,
        "coupon": coupon_value,
        "created": p.created,
        "customer": p.customer,
        "expires_at": p.expires_at,
        "livemode": false,
        "max_redemptions": p.max_redemptions,
        "metadata": p.metadata,
        "restrictions": {
            "currency_options": {},
            "first_time_transaction": p.restrictions.first_time_transaction,
            "minimum_amount": p.restrictions.minimum_amount,
            "minimum_amount_currency": p.restrictions.minimum_amount_currency,
        },
        "times_redeemed": p.times_redeemed,
    })
}

pub fn line_item(li: &LineItem) -> Value {
    json!({
        "id": li.id,
        "object": "item",
        "adjustable_quantity": li.adjustable_quantity.map(|a| json!({
            "enabled": a.enabled, "maximum": a.maximum, "minimum": a.minimum,
        })),
        "amount_discount": li.amount_discount,
        "amount_subtotal": li.amount_subtotal,
        "amount_tax": 0,
        "amount_total": li.amount_total,
        "currency": li.price.currency,
        "description": li.description,
        "price": price(&li.price),
        "quantity": li.quantity,
    })
}

/// A list object: `{"object":"list","data":[…],"has_more":…,"url":…}`.
pub fn list(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({ "object": "list", "data": data, "has_more": has_more, "url": url })
}

/// The session. `line_items` is includable: present only when asked for.
pub fn session(s: &Session, v: &View<'_>, include_line_items: bool) -> Value {
    let status = s.status_at(v.now);
    let url = (status == Status::Open).then(|| format!("{}/pay/{}", v.public_url, s.id));
    let discounts: Vec<Value> = s
        .discount
        .iter()
        .map(|d| json!({ "coupon": d.coupon, "promotion_code": d.promotion_code }))
        .collect();
    let mut out = json!({
        "id": s.id,
        "object": "checkout.session",
        "after_expiration": null,
        "allow_promotion_codes": s.allow_promotion_codes,
        "amount_subtotal": s.amount_subtotal,
        "amount_total": s.amount_total,
        "automatic_tax": {"enabled": false, "status": null},
        "billing_address_collection": null,
        "cancel_url": s.cancel_url,
        "client_reference_id": s.client_reference_id,
        "consent": null,
        "consent_collection": null,
        "created": s.created,
        "currency": s.currency,
        "custom_fields": [],
        "custom_text": {"shipping_address": null, "submit": null},
        "customer": s.customer,
        "customer_creation": if s.customer.is_none() { json!("always") } else { Value::Null },
        "customer_details": s.customer_details.as_ref().map(|d| json!({
            "address": null, "email": d.email, "name": d.name, "phone": null, "tax_exempt": "none", "tax_ids": [],
        })),
        "customer_email": s.customer_email,
        "discounts": discounts,
        "expires_at": s.expires_at,
        "invoice": s.invoice,
        "invoice_creation": null,
        "livemode": false,
        "locale": null,
        "metadata": s.metadata,
        "mode": s.mode.as_str(),
        "payment_intent": s.payment_intent,
        "payment_link": null,
        "payment_method_collection": if s.mode == kassa_core::session::Mode::Subscription { json!("always") } else { Value::Null },
        "payment_method_options": {},
        "payment_method_types": s.payment_method_types.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "payment_status": s.payment_status.as_str(),
        "phone_number_collection": {"enabled": false},
        "recovered_from": null,
        "setup_intent": null,
        "shipping_address_collection": null,
        "shipping_cost": null,
        "shipping_details": null,
        "shipping_options": [],
        "status": status.as_str(),
        "submit_type": null,
        "subscription": s.subscription,
        "success_url": s.success_url,
        "total_details": {
            "amount_discount": s.amount_discount,
            "amount_shipping": 0,
            "amount_tax": 0,
        },
        "ui_mode": "hosted",
        "url": url,
    });
    if include_line_items && let Some(obj) = out.as_object_mut() {
        let data = s.line_items.iter().map(line_item).collect();
        obj.insert(
            "line_items".to_owned(),
            list(&format!("/v1/checkout/sessions/{}/line_items", s.id), data, false),
        );
    }
    out
}
