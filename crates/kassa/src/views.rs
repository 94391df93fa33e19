//! How objects look on the wire: Stripe's shapes (API version 2023-08-16), with every field the
//! SDKs read present, `null` when empty. One place renders each object, for the API responses and
//! for event payloads alike.

use kassa_core::billing::{
    Discount, Invoice, InvoiceStatus, PaymentIntent, PaymentIntentStatus, PaymentMethod, PaymentMethodKind,
    SetupIntent, Subscription,
};
use kassa_core::catalog::{Coupon, CouponValue, Customer, Duration, Price, Product, PromotionCode};
use kassa_core::renewal::{CLOCK_LIFETIME, TestClock};
use kassa_core::session::collection::{Address, Collection, CustomField, FieldType, ShippingDetails};
use kassa_core::session::{LineItem, Session, Status};
use kassa_core::time::Timestamp;
use kassa_core::webhook::{API_VERSION, Event, WebhookDelivery, WebhookEndpoint};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

/// What rendering depends on besides the object.
pub struct View<'a> {
    pub now: Timestamp,
    pub public_url: &'a str,
}

// The official SDKs pin newer API versions, whose types declare some fields that 2023-08-16 did
// not have (`customer_account`, `adaptive_pricing`, …). Where kassa has nothing to put there, they
// are rendered as `null` (or empty) too, so that a typed client reading them finds the field;
// `e2e/sdk.test.mjs` checks every object against stripe-node's declarations.

pub fn product(p: &Product) -> Value {
    json!({
        "id": p.id,
        "object": "product",
        "active": p.active,
        "created": p.created,
        "default_price": null,
        "description": p.description,
        "images": p.images,
        "livemode": false,
        "marketing_features": [],
        "metadata": p.metadata,
        "name": p.name,
        "package_dimensions": null,
        "shippable": null,
        "statement_descriptor": null,
        "tax_code": p.tax_code,
        "tax_details": null,
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
            "meter": null,
            "trial_period_days": null,
            "usage_type": "licensed",
        })),
        "tax_behavior": p.tax_behavior.as_str(),
        "tiers_mode": null,
        "transform_quantity": null,
        "type": p.type_str(),
        "unit_amount": p.unit_amount,
        "unit_amount_decimal": p.unit_amount.to_string(),
    })
}

/// A customer as the API shows it ([`CustomerDoc`]).
pub fn customer(c: &Customer) -> Value {
    value_of(&CustomerDoc(c))
}

/// A customer, serialized member by member (an event's object is written straight from it, with
/// no `Value` made on the way; [`customer`] makes the API's `Value` from the same code).
pub struct CustomerDoc<'a>(pub &'a Customer);

impl Serialize for CustomerDoc<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let null = ();
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("id", &c.id)?;
        m.serialize_entry("object", "customer")?;
        m.serialize_entry("address", &c.address.as_ref().map(address))?;
        m.serialize_entry("balance", &0)?;
        m.serialize_entry(
            "cash_balance",
            &Obj((
                ("object", "cash_balance"),
                // Keyed by currency code: a `Currency` serializes as its code.
                ("available", &c.cash_balance),
                ("customer", &c.id),
                ("customer_account", null),
                ("livemode", false),
                ("settings", Obj((("reconciliation_mode", "automatic"), ("using_merchant_default", true)))),
            )),
        )?;
        m.serialize_entry("created", &c.created)?;
        m.serialize_entry("currency", &null)?;
        m.serialize_entry("customer_account", &null)?;
        m.serialize_entry("default_source", &null)?;
        m.serialize_entry("delinquent", &false)?;
        m.serialize_entry("description", &c.description)?;
        m.serialize_entry("discount", &null)?;
        m.serialize_entry("email", &c.email)?;
        m.serialize_entry("invoice_prefix", &null)?;
        m.serialize_entry(
            "invoice_settings",
            &Obj((
                ("custom_fields", null),
                ("default_payment_method", &c.default_payment_method),
                ("footer", null),
                ("rendering_options", null),
            )),
        )?;
        m.serialize_entry("livemode", &false)?;
        m.serialize_entry("metadata", &c.metadata)?;
        m.serialize_entry("name", &c.name)?;
        m.serialize_entry("phone", &c.phone)?;
        m.serialize_entry("preferred_locales", &[(); 0])?;
        m.serialize_entry(
            "shipping",
            &c.shipping
                .as_ref()
                .map(|d| Obj((("address", address(&d.address)), ("name", &d.name), ("phone", null)))),
        )?;
        m.serialize_entry("tax_exempt", c.tax_exempt.as_str())?;
        m.serialize_entry("test_clock", &c.test_clock)?;
        m.end()
    }
}

/// Stripe's `tax_id`, of `customer`.
pub fn tax_id(t: &kassa_core::tax::CustomerTaxId, customer: &str) -> Value {
    json!({
        "id": t.id,
        "object": "tax_id",
        "country": t.country,
        "created": t.created,
        "customer": customer,
        "customer_account": null,
        "livemode": false,
        "owner": {"customer": customer, "customer_account": null, "type": "customer"},
        "type": t.r#type,
        "value": t.value,
        "verification": {"status": "unavailable", "verified_address": null, "verified_name": null},
    })
}

/// Stripe's `tax_rate`.
pub fn tax_rate(r: &kassa_core::tax::TaxRate) -> Value {
    json!({
        "id": r.id,
        "object": "tax_rate",
        "active": r.active,
        "country": r.country,
        "created": r.created,
        "description": r.description,
        "display_name": r.display_name,
        "effective_percentage": r.percentage.as_f64(),
        "flat_amount": null,
        "inclusive": r.inclusive,
        "jurisdiction": r.jurisdiction,
        "jurisdiction_level": null,
        "livemode": false,
        "metadata": r.metadata,
        "percentage": r.percentage.as_f64(),
        "rate_type": "percentage",
        "state": r.state,
        "tax_type": r.tax_type,
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
        "customer_account": null,
        "expires_at": p.expires_at,
        "livemode": false,
        "max_redemptions": p.max_redemptions,
        "metadata": p.metadata,
        // The newer API's name for the coupon (2025-09 on); `coupon` above is 2023-08-16's.
        "promotion": {"coupon": p.coupon, "type": "coupon"},
        "restrictions": {
            "currency_options": {},
            "first_time_transaction": p.restrictions.first_time_transaction,
            "minimum_amount": p.restrictions.minimum_amount,
            "minimum_amount_currency": p.restrictions.minimum_amount_currency,
        },
        "times_redeemed": p.times_redeemed,
    })
}

/// Which includable fields a rendered line item carries (`expand[]` of `data.taxes` /
/// `data.discounts`), and the session's discount object for `discounts[].discount`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ItemIncludes<'a> {
    pub taxes: bool,
    pub discounts: bool,
    pub discount: Option<&'a Value>,
}

/// A line item. `taxes` and `discounts` are includable, as on Stripe: present only when
/// `expand[]` names them.
pub fn line_item(li: &LineItem, inc: &ItemIncludes<'_>) -> Value {
    let mut out = json!({
        "id": li.id,
        "object": "item",
        "adjustable_quantity": li.adjustable_quantity.map(|a| json!({
            "enabled": a.enabled, "maximum": a.maximum, "minimum": a.minimum,
        })),
        "amount_discount": li.amount_discount,
        "amount_subtotal": li.amount_subtotal,
        "amount_tax": li.taxes.iter().map(|t| t.amount).sum::<i64>(),
        "amount_total": li.amount_total,
        "currency": li.price.currency,
        "description": li.description,
        "metadata": li.metadata,
        "price": price(&li.price),
        "quantity": li.quantity,
    });
    if let Some(obj) = out.as_object_mut() {
        if inc.taxes {
            let taxes: Vec<Value> =
                li.taxes.iter().zip(&li.applied_rates).map(|(t, r)| line_tax(t, r)).collect();
            obj.insert("taxes".to_owned(), Value::Array(taxes));
        }
        if inc.discounts {
            let discounts: Vec<Value> = inc
                .discount
                .filter(|_| li.amount_discount > 0)
                .map(|d| json!({"amount": li.amount_discount, "discount": d}))
                .into_iter()
                .collect();
            obj.insert("discounts".to_owned(), Value::Array(discounts));
        }
    }
    out
}

/// The discount object of a session's discount, as its line items' `discounts[].discount` show
/// it: the coupon embedded when it is still there, else its id.
pub fn session_discount(s: &Session, coupon_obj: Option<&Coupon>, now: Timestamp) -> Option<Value> {
    let d = s.discount.as_ref()?;
    let key = s.id.rsplit('_').next().unwrap_or(&s.id);
    Some(json!({
        "id": format!("di_{key}"),
        "object": "discount",
        "checkout_session": s.id,
        "coupon": coupon_obj.filter(|c| c.id == d.coupon).map_or_else(|| json!(d.coupon), |c| coupon(c, now)),
        "customer": s.customer,
        "end": null,
        "invoice": null,
        "invoice_item": null,
        "promotion_code": d.promotion_code,
        "start": s.created,
        "subscription": null,
    }))
}

/// An invoice's (or invoice line's) `tax_amounts[]` entry.
fn tax_amount(t: &kassa_core::tax::LineTax) -> Value {
    json!({
        "amount": t.amount,
        "inclusive": t.inclusive,
        "tax_rate": t.rate,
        "taxability_reason": t.reason.as_str(),
        "taxable_amount": t.taxable_amount,
    })
}

/// An invoice's (or invoice line's) `taxes[]` / `total_taxes[]` entry, the newer API's shape of
/// `tax_amounts`.
fn invoice_tax(t: &kassa_core::tax::LineTax) -> Value {
    json!({
        "amount": t.amount,
        "tax_behavior": if t.inclusive { "inclusive" } else { "exclusive" },
        "tax_rate_details": {"tax_rate": t.rate},
        "taxability_reason": t.reason.as_str(),
        "taxable_amount": t.taxable_amount,
        "type": "tax_rate_details",
    })
}

/// One tax of a line (or of the shipping): Stripe's `line_items.data.taxes[]`.
fn line_tax(t: &kassa_core::tax::LineTax, r: &kassa_core::tax::TaxRate) -> Value {
    json!({
        "amount": t.amount,
        "rate": tax_rate(r),
        "taxability_reason": t.reason.as_str(),
        "taxable_amount": t.taxable_amount,
    })
}

/// A list object: `{"object":"list","data":[…],"has_more":…,"url":…}`.
pub fn list(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    object([
        ("object", "list".into()),
        ("data", data.into()),
        ("has_more", has_more.into()),
        ("url", url.into()),
    ])
}

/// An object of these members, in this order, each value moved in. (`json!` would copy each value
/// through the serializer: for a list, every object in it, which was most of a list page's cost.)
fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The session. `line_items` is includable: present only when asked for.
pub fn session(s: &Session, v: &View<'_>, include_line_items: bool) -> Value {
    session_including(s, v, include_line_items.then(ItemIncludes::default).as_ref())
}

/// The session with its `line_items` when `items` says which of their fields to include.
pub fn session_including(s: &Session, v: &View<'_>, items: Option<&ItemIncludes<'_>>) -> Value {
    let line_items = items.map(|inc| {
        let data = s.listed_line_items().map(|li| line_item(li, inc)).collect();
        list(&format!("/v1/checkout/sessions/{}/line_items", s.id), data, false)
    });
    // The document cannot fail to become a `Value`: its keys are strings and it holds no floats
    // that are not numbers.
    serde_json::to_value(SessionDoc { s, v, line_items }).unwrap_or(Value::Null)
}

/// The session as the API shows it, serialized member by member straight from the [`Session`]:
/// an API answer writes it into the response body without building a `Value` (whose map
/// inserts, and then its serialization, were 28 % of a created session's instructions), and
/// [`session_including`] makes the `Value` that events and expansions need from the same code.
pub struct SessionDoc<'a> {
    pub s: &'a Session,
    pub v: &'a View<'a>,
    /// The `line_items` list, when included (it comes last).
    pub line_items: Option<Value>,
}

impl Serialize for SessionDoc<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let (s, v) = (self.s, self.v);
        let status = s.status_at(v.now);
        let url = (status == Status::Open).then(|| format!("{}/pay/{}", v.public_url, s.id));
        let discounts: Vec<Value> = s
            .discount
            .iter()
            .map(|d| json!({ "coupon": d.coupon, "promotion_code": d.promotion_code }))
            .collect();
        let col = &s.collection;
        // What the page collected shows once the customer paid (a declined attempt keeps it back).
        let done = s.status == Status::Complete;
        let collected = col.collected.as_ref().filter(|_| done);
        let null = ();
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("id", &s.id)?;
        m.serialize_entry("object", "checkout.session")?;
        m.serialize_entry("adaptive_pricing", &null)?;
        m.serialize_entry(
            "after_expiration",
            &s.recovery.map(|r| {
                let until = s.recovery_until(v.now).filter(|t| v.now < *t);
                json!({"recovery": {
                    "allow_promotion_codes": r.allow_promotion_codes,
                    "enabled": r.enabled,
                    "expires_at": until,
                    "url": until.map(|_| format!("{}/pay/{}/recover", v.public_url, s.id)),
                }})
            }),
        )?;
        m.serialize_entry("allow_promotion_codes", &s.allow_promotion_codes)?;
        m.serialize_entry("allowed_payment_method_types", &null)?;
        m.serialize_entry("amount_subtotal", &s.amount_subtotal)?;
        m.serialize_entry("amount_total", &s.amount_total)?;
        m.serialize_entry(
            "automatic_tax",
            &Obj((
                ("enabled", s.taxes.automatic),
                ("liability", s.taxes.automatic.then_some(Obj((("type", "self"),)))),
                ("provider", s.taxes.automatic.then_some("kassa")),
                ("status", s.taxes.status()),
            )),
        )?;
        m.serialize_entry("billing_address_collection", &col.billing_address)?;
        m.serialize_entry("cancel_url", &s.cancel_url)?;
        m.serialize_entry("client_reference_id", &s.client_reference_id)?;
        m.serialize_entry("client_secret", &null)?;
        m.serialize_entry("collected_information", &null)?;
        m.serialize_entry("consent", &if done { consent(col) } else { Value::Null })?;
        m.serialize_entry("consent_collection", &consent_collection(col))?;
        m.serialize_entry("created", &s.created)?;
        m.serialize_entry("currency", &s.currency)?;
        m.serialize_entry("currency_conversion", &null)?;
        m.serialize_entry(
            "custom_fields",
            &col.custom_fields.iter().map(|f| custom_field(f, done)).collect::<Vec<_>>(),
        )?;
        fn message(m: &Option<String>) -> Option<Obj<((&'static str, &String),)>> {
            m.as_ref().map(|m| Obj((("message", m),)))
        }
        let t = &col.custom_text;
        m.serialize_entry(
            "custom_text",
            &Obj((
                ("after_submit", message(&t.after_submit)),
                ("shipping_address", message(&t.shipping_address)),
                ("submit", message(&t.submit)),
                ("terms_of_service_acceptance", message(&t.terms_of_service_acceptance)),
            )),
        )?;
        m.serialize_entry("customer", &s.customer)?;
        m.serialize_entry("customer_account", &null)?;
        m.serialize_entry(
            "customer_creation",
            &match (&s.customer, s.customer_creation) {
                (Some(_), None) => None,
                (_, Some(c)) => Some(c.as_str()),
                (None, None) => Some("always"),
            },
        )?;
        m.serialize_entry(
            "customer_details",
            &s.customer_details.as_ref().map(|d| json!({
                "address": collected.and_then(|c| c.address.as_ref()).map(address),
                "business_name": null, "email": d.email, "individual_name": null, "name": d.name,
                "phone": collected.and_then(|c| c.phone.clone()), "tax_exempt": s.taxes.exempt.as_str(),
                "tax_ids": collected.map(|c| c.tax_ids.iter().map(|t| json!({"type": t.r#type, "value": t.value})).collect::<Vec<_>>()).unwrap_or_default(),
            })),
        )?;
        m.serialize_entry("customer_email", &s.customer_email)?;
        m.serialize_entry("discounts", &discounts)?;
        m.serialize_entry("expires_at", &s.expires_at)?;
        m.serialize_entry("integration_identifier", &null)?;
        m.serialize_entry("invoice", &s.invoice)?;
        // Stripe's document has the object in payment mode (disabled unless asked for), null
        // elsewhere.
        let ic = (s.mode == kassa_core::session::Mode::Payment)
            .then(|| s.invoice_creation.clone().unwrap_or_default());
        m.serialize_entry(
            "invoice_creation",
            &ic.as_ref().map(|ic| {
                let fields: Vec<Value> = ic
                    .custom_fields
                    .iter()
                    .map(|(name, value)| json!({"name": name, "value": value}))
                    .collect();
                Obj((
                    ("enabled", ic.enabled),
                    (
                        "invoice_data",
                        Obj((
                            ("account_tax_ids", null),
                            ("custom_fields", (!fields.is_empty()).then_some(fields)),
                            ("description", &ic.description),
                            ("footer", &ic.footer),
                            ("issuer", null),
                            ("metadata", &ic.metadata),
                            ("rendering_options", null),
                        )),
                    ),
                ))
            }),
        )?;
        m.serialize_entry("livemode", &false)?;
        m.serialize_entry("locale", &col.locale)?;
        m.serialize_entry("managed_payments", &null)?;
        m.serialize_entry("metadata", &s.metadata)?;
        m.serialize_entry("mode", s.mode.as_str())?;
        m.serialize_entry("origin_context", &null)?;
        m.serialize_entry("payment_intent", &s.payment_intent)?;
        m.serialize_entry("payment_link", &null)?;
        m.serialize_entry(
            "payment_method_collection",
            &match (s.mode, s.card_if_required) {
                (kassa_core::session::Mode::Subscription, true) => Some("if_required"),
                (kassa_core::session::Mode::Subscription, false) => Some("always"),
                _ => None,
            },
        )?;
        m.serialize_entry("payment_method_configuration_details", &null)?;
        m.serialize_entry("payment_method_options", &Obj(()))?;
        m.serialize_entry(
            "payment_method_types",
            &s.payment_method_types.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        )?;
        m.serialize_entry("payment_status", s.payment_status.as_str())?;
        m.serialize_entry("permissions", &null)?;
        m.serialize_entry("phone_number_collection", &Obj((("enabled", col.phone),)))?;
        m.serialize_entry("recovered_from", &s.recovered_from)?;
        m.serialize_entry("saved_payment_method_options", &null)?;
        m.serialize_entry("setup_intent", &s.setup_intent)?;
        m.serialize_entry(
            "shipping_address_collection",
            &col.shipping_countries.as_ref().map(|c| Obj((("allowed_countries", c),))),
        )?;
        m.serialize_entry(
            "shipping_cost",
            &col.shipping_rate().map(|r| json!({
                "amount_subtotal": r.amount, "amount_tax": s.shipping_tax(), "shipping_rate": r.id,
                "amount_total": r.amount + s.taxes.shipping.iter().filter(|t| !t.inclusive).map(|t| t.amount).sum::<i64>(),
            })),
        )?;
        m.serialize_entry(
            "shipping_details",
            &collected.and_then(|c| c.shipping.as_ref()).map(shipping_details),
        )?;
        m.serialize_entry(
            "shipping_options",
            &col.shipping_options
                .iter()
                .map(|r| Obj((("shipping_amount", r.amount), ("shipping_rate", &r.id))))
                .collect::<Vec<_>>(),
        )?;
        m.serialize_entry("status", status.as_str())?;
        m.serialize_entry("submit_type", &col.submit_type)?;
        m.serialize_entry("subscription", &s.subscription)?;
        m.serialize_entry("success_url", &s.success_url)?;
        m.serialize_entry(
            "tax_id_collection",
            &Obj((("enabled", col.tax_id.is_some()), ("required", col.tax_id.as_deref().unwrap_or("never")))),
        )?;
        m.serialize_entry(
            "total_details",
            &Obj((
                ("amount_discount", s.amount_discount),
                ("amount_shipping", col.shipping_amount()),
                ("amount_tax", s.taxes.amount_tax),
            )),
        )?;
        m.serialize_entry("ui_mode", "hosted")?;
        m.serialize_entry("url", &url)?;
        m.serialize_entry("wallet_options", &null)?;
        if let Some(items) = &self.line_items {
            m.serialize_entry("line_items", items)?;
        }
        m.end()
    }
}

/// A JSON object of these members, in this order, serialized as it stands: `Obj((("a", 1),
/// ("b", "x")))` is `{"a":1,"b":"x"}`, with no `Value` built on the way.
struct Obj<T>(T);

macro_rules! obj_of {
    ($($n:tt $t:ident),*) => {
        impl<$($t: Serialize),*> Serialize for Obj<($((&'static str, $t),)*)> {
            #[allow(unused_variables, unused_mut)]
            fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                let mut m = ser.serialize_map(None)?;
                $(m.serialize_entry((self.0).$n.0, &(self.0).$n.1)?;)*
                m.end()
            }
        }
    };
}
obj_of!();
obj_of!(0 A);
obj_of!(0 A, 1 B);
obj_of!(0 A, 1 B, 2 C);
obj_of!(0 A, 1 B, 2 C, 3 D);
obj_of!(0 A, 1 B, 2 C, 3 D, 4 E);
obj_of!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
obj_of!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
obj_of!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

/// The `Value` of a view written member by member (`CustomerDoc` and its kind): what the API's
/// answers and expansions work on. These views write only strings, numbers and maps with string
/// keys, which a `Value` always takes.
fn value_of(doc: &impl Serialize) -> Value {
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

fn address(a: &Address) -> Value {
    json!({
        "city": a.city, "country": a.country, "line1": a.line1, "line2": a.line2,
        "postal_code": a.postal_code, "state": a.state,
    })
}

fn shipping_details(d: &ShippingDetails) -> Value {
    json!({"address": address(&d.address), "name": d.name})
}

fn consent_collection(c: &Collection) -> Value {
    if c.terms_of_service.is_none() && c.promotions.is_none() {
        return Value::Null;
    }
    json!({
        "payment_method_reuse_agreement": null,
        "promotions": c.promotions,
        "terms_of_service": c.terms_of_service,
    })
}

fn consent(c: &Collection) -> Value {
    match &c.collected {
        Some(got) if c.terms_of_service.is_some() || c.promotions.is_some() => json!({
            "promotions": got.promotions.map(|p| if p { "opt_in" } else { "opt_out" }),
            "terms_of_service": got.terms_accepted.then_some("accepted"),
        }),
        _ => Value::Null,
    }
}

fn custom_field(f: &CustomField, done: bool) -> Value {
    let value = f.value.as_ref().filter(|_| done);
    let lengths = |t| {
        (f.r#type == t).then(|| {
            json!({
                "default_value": f.default_value,
                "maximum_length": f.maximum_length,
                "minimum_length": f.minimum_length,
                "value": value,
            })
        })
    };
    json!({
        "dropdown": (f.r#type == FieldType::Dropdown).then(|| json!({
            "default_value": f.default_value,
            "options": f.options.iter().map(|o| json!({"label": o.label, "value": o.value})).collect::<Vec<_>>(),
            "value": value,
        })),
        "key": f.key,
        "label": {"custom": f.label, "type": "custom"},
        "numeric": lengths(FieldType::Numeric),
        "optional": f.optional,
        "text": lengths(FieldType::Text),
        "type": f.r#type.as_str(),
    })
}

// ---------------------------------------------------------------------------------------------
// What a completed checkout creates. Ids of other objects render as ids (expandable); opaque
// test-network state (`pending_challenge`, `saved_behaviour`) never renders.

/// A payment intent. `client_secret` is null: kassa confirms payments on its hosted page, never
/// from the browser with a publishable key. `last_payment_error.payment_method` is the method's
/// id (Stripe embeds the object; `expand[]=last_payment_error.payment_method` gives it).
/// `next_action` of a `requires_action` intent is a `redirect_to_url` whose URL is the hosted
/// page's business, so null here.
pub fn payment_intent(pi: &PaymentIntent) -> Value {
    value_of(&PaymentIntentDoc(pi))
}

/// A payment intent, serialized member by member, as [`CustomerDoc`] is.
pub struct PaymentIntentDoc<'a>(pub &'a PaymentIntent);

impl Serialize for PaymentIntentDoc<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let pi = self.0;
        let null = ();
        let none = kassa_core::session::PaymentIntentData::default();
        let options = pi.options.as_ref().unwrap_or(&none);
        let next_action = (pi.status == PaymentIntentStatus::RequiresAction).then_some(Obj((
            ("type", "redirect_to_url"),
            ("redirect_to_url", Obj((("return_url", null), ("url", null)))),
        )));
        // As Stripe's document has it: what does not apply is left out, not sent as null.
        let last_payment_error = pi.last_payment_error.as_ref().map(|e| {
            let mut v = Map::new();
            v.insert("code".to_owned(), json!(e.code));
            if let Some(d) = &e.decline_code {
                v.insert("decline_code".to_owned(), json!(d));
            }
            v.insert("message".to_owned(), json!(e.message));
            if let Some(pm) = &e.payment_method {
                v.insert("payment_method".to_owned(), json!(pm));
            }
            v.insert("type".to_owned(), json!("card_error"));
            Value::Object(v)
        });
        let capturable = if pi.status == PaymentIntentStatus::RequiresCapture { pi.amount } else { 0 };
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("id", &pi.id)?;
        m.serialize_entry("object", "payment_intent")?;
        m.serialize_entry("amount", &pi.amount)?;
        m.serialize_entry("amount_capturable", &capturable)?;
        m.serialize_entry("amount_details", &Obj((("tip", Obj(())),)))?;
        m.serialize_entry("allowed_payment_method_types", &null)?;
        m.serialize_entry("amount_received", &pi.amount_received())?;
        m.serialize_entry("application", &null)?;
        m.serialize_entry("application_fee_amount", &null)?;
        m.serialize_entry("automatic_payment_methods", &null)?;
        m.serialize_entry("canceled_at", &pi.canceled_at)?;
        m.serialize_entry("cancellation_reason", &pi.cancellation_reason)?;
        m.serialize_entry("capture_method", &pi.capture_method())?;
        m.serialize_entry("client_secret", &null)?;
        m.serialize_entry("confirmation_method", "automatic")?;
        m.serialize_entry("created", &pi.created)?;
        m.serialize_entry("currency", &pi.currency)?;
        m.serialize_entry("customer", &pi.customer)?;
        m.serialize_entry("customer_account", &null)?;
        m.serialize_entry("description", &pi.description)?;
        m.serialize_entry("excluded_payment_method_types", &null)?;
        m.serialize_entry("invoice", &pi.invoice)?;
        m.serialize_entry("last_payment_error", &last_payment_error)?;
        m.serialize_entry("latest_charge", &pi.latest_charge)?;
        m.serialize_entry("livemode", &false)?;
        m.serialize_entry("managed_payments", &null)?;
        m.serialize_entry("metadata", &pi.metadata)?;
        m.serialize_entry("next_action", &next_action)?;
        m.serialize_entry("on_behalf_of", &null)?;
        m.serialize_entry("payment_method", &pi.payment_method)?;
        m.serialize_entry("payment_method_configuration_details", &null)?;
        m.serialize_entry("payment_method_options", &Obj(()))?;
        m.serialize_entry("payment_method_types", &pi.payment_method_types)?;
        m.serialize_entry("payment_record", &null)?;
        m.serialize_entry("processing", &null)?;
        m.serialize_entry("receipt_email", &options.receipt_email)?;
        m.serialize_entry("review", &null)?;
        m.serialize_entry("setup_future_usage", &options.setup_future_usage)?;
        m.serialize_entry("shipping", &null)?;
        m.serialize_entry("source", &null)?;
        m.serialize_entry("statement_descriptor", &options.statement_descriptor)?;
        m.serialize_entry("statement_descriptor_suffix", &options.statement_descriptor_suffix)?;
        m.serialize_entry("status", pi.status.as_str())?;
        m.serialize_entry("transfer_data", &null)?;
        m.serialize_entry("transfer_group", &null)?;
        m.end()
    }
}

/// A setup intent (a `mode=setup` session's): succeeded, for off-session use. `client_secret` is
/// null, as on payment intents.
pub fn setup_intent(si: &SetupIntent) -> Value {
    json!({
        "id": si.id,
        "object": "setup_intent",
        "allowed_payment_method_types": null,
        "application": null,
        "automatic_payment_methods": null,
        "cancellation_reason": null,
        "client_secret": null,
        "created": si.created,
        "customer": si.customer,
        "customer_account": null,
        "description": si.description,
        "excluded_payment_method_types": null,
        "flow_directions": null,
        "last_setup_error": null,
        "latest_attempt": null,
        "livemode": false,
        "mandate": null,
        "metadata": si.metadata,
        "next_action": null,
        "on_behalf_of": null,
        "payment_method": si.payment_method,
        "payment_method_configuration_details": null,
        "payment_method_options": {},
        "payment_method_types": si.payment_method_types,
        "single_use_mandate": null,
        "status": si.status(),
        "usage": si.usage,
    })
}

/// A payment method: `card` is always present (null unless a card); `paypal` and
/// `customer_balance` only on methods of that type, as Stripe does.
pub fn payment_method(pm: &PaymentMethod) -> Value {
    let card = match &pm.kind {
        PaymentMethodKind::Card(c) => json!({
            "brand": c.brand,
            "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"},
            "country": null,
            "display_brand": c.brand,
            "exp_month": c.exp_month,
            "exp_year": c.exp_year,
            "fingerprint": c.fingerprint,
            "funding": "credit",
            "generated_from": null,
            "last4": c.last4,
            "networks": {"available": [c.brand], "preferred": null},
            "regulated_status": null,
            "three_d_secure_usage": {"supported": true},
            "wallet": null,
        }),
        PaymentMethodKind::Paypal { .. } | PaymentMethodKind::CustomerBalance => Value::Null,
    };
    // Only the hash of the method's own type is there (`card`, `paypal`, `customer_balance`).
    let mut out = json!({
        "id": pm.id,
        "object": "payment_method",
        "billing_details": {
            "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
            "email": pm.billing_details.email,
            "name": pm.billing_details.name,
            "phone": null,
            "tax_id": null,
        },
        "created": pm.created,
        "customer": pm.customer,
        "customer_account": null,
        "livemode": false,
        "metadata": pm.metadata,
        "type": pm.kind.as_str(),
    });
    let extra = match &pm.kind {
        PaymentMethodKind::Card(_) => Some(("card", card)),
        PaymentMethodKind::Paypal { payer_email } => {
            Some(("paypal", json!({"payer_email": payer_email, "payer_id": null})))
        }
        PaymentMethodKind::CustomerBalance => Some(("customer_balance", json!({}))),
    };
    if let (Some((key, value)), Some(obj)) = (extra, out.as_object_mut()) {
        obj.insert(key.to_owned(), value);
    }
    out
}

/// An embedded list that holds every element (a subscription's items, an invoice's lines), with
/// Stripe's `total_count`.
fn complete_list(url: &str, data: Vec<Value>) -> Value {
    let total = data.len();
    object([
        ("object", "list".into()),
        ("data", data.into()),
        ("has_more", false.into()),
        ("total_count", total.into()),
        ("url", url.into()),
    ])
}

/// A discount object. `coupon` is the coupon embedded as it was when the discount was applied
/// (Stripe embeds it too), so that it shows even if the coupon was deleted since; discounts
/// recorded before kassa kept it show the coupon's id.
pub fn discount(d: &Discount, customer: &str, subscription: Option<&str>, invoice: Option<&str>) -> Value {
    json!({
        "id": d.id,
        "object": "discount",
        "checkout_session": null,
        "coupon": match &d.coupon_object {
            Some(c) => coupon(c, d.start),
            None => json!(d.coupon),
        },
        "customer": customer,
        "end": d.end,
        "invoice": invoice,
        "invoice_item": null,
        "promotion_code": d.promotion_code,
        "start": d.start,
        "subscription": subscription,
    })
}

/// One of a subscription's items (`/subscription_items`). Its price and tax rates are moved in
/// after the object is built: `json!` would copy each of those objects through the serializer.
pub fn subscription_item(s: &Subscription, item: &kassa_core::billing::SubscriptionItem) -> Value {
    let mut v = json!({
        "id": item.id,
        "object": "subscription_item",
        "billing_thresholds": null,
        "created": s.created,
        "current_period_end": s.current_period_end,
        "current_period_start": s.current_period_start,
        "discounts": [],
        "metadata": item.metadata,
        "plan": null,
        "price": null,
        "quantity": item.quantity,
        "subscription": s.id,
        "tax_rates": null,
    });
    v["price"] = price(&item.price);
    v["tax_rates"] = Value::Array(item.tax_rates.iter().map(tax_rate).collect());
    v
}

/// An invoice item (`/invoiceitems`).
pub fn invoice_item(i: &kassa_core::billing::InvoiceItem) -> Value {
    json!({
        "id": i.id,
        "object": "invoiceitem",
        "amount": i.amount,
        "currency": i.currency,
        "customer": i.customer,
        "date": i.created,
        "description": i.description,
        "discountable": true,
        "discounts": [],
        "invoice": i.invoice,
        "livemode": false,
        "metadata": i.metadata,
        "period": {"end": i.period_end, "start": i.period_start},
        "plan": null,
        "price": price(&i.price),
        "proration": false,
        "quantity": i.quantity,
        "subscription": i.subscription,
        "subscription_item": null,
        "tax_rates": [],
        "test_clock": null,
        "unit_amount": i.unit_amount,
        "unit_amount_decimal": i.unit_amount.to_string(),
    })
}

/// A subscription. `billing_cycle_anchor` is the end of the trial or the start; `cancel_at` is the
/// one set, or the period's end while `cancel_at_period_end` is set, as Stripe reports it. Its
/// items, tax rates and discount are moved in after the object is built (see
/// [`subscription_item`]).
pub fn subscription(s: &Subscription) -> Value {
    let items: Vec<Value> = s.items.iter().map(|item| subscription_item(s, item)).collect();
    let item_list = complete_list(&format!("/v1/subscription_items?subscription={}", s.id), items);
    let mut v = json!({
        "id": s.id,
        "object": "subscription",
        "application": null,
        "application_fee_percent": null,
        "automatic_tax": {"enabled": s.automatic_tax},
        "billing_cycle_anchor": s.billing_cycle_anchor(),
        "billing_thresholds": null,
        "cancel_at": s.cancel_at.or(s.cancel_at_period_end.then_some(s.current_period_end)),
        "cancel_at_period_end": s.cancel_at_period_end,
        "canceled_at": s.canceled_at,
        "cancellation_details": {
            "comment": s.cancellation_details.as_ref().and_then(|d| d.comment.clone()),
            "feedback": s.cancellation_details.as_ref().and_then(|d| d.feedback.clone()),
            "reason": s.cancellation_details.as_ref().and_then(|d| d.reason.clone()),
        },
        "collection_method": if s.days_until_due.is_some() { "send_invoice" } else { "charge_automatically" },
        "created": s.created,
        "currency": s.currency,
        "current_period_end": s.current_period_end,
        "current_period_start": s.current_period_start,
        "customer": s.customer,
        "days_until_due": s.days_until_due,
        "default_payment_method": s.default_payment_method,
        "default_source": null,
        "default_tax_rates": null,
        "description": s.description,
        "discount": null,
        "ended_at": s.ended_at,
        "items": null,
        "latest_invoice": s.latest_invoice,
        "livemode": false,
        "metadata": s.metadata,
        "next_pending_invoice_item_invoice": null,
        "on_behalf_of": null,
        "pause_collection": s.pause_collection.as_ref().map(|p| json!({"behavior": p.behavior, "resumes_at": p.resumes_at})),
        "payment_settings": {
            "payment_method_options": null,
            "payment_method_types": null,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": null,
        "pending_setup_intent": null,
        "pending_update": null,
        "schedule": null,
        "start_date": s.created,
        "status": s.status.as_str(),
        "test_clock": s.test_clock,
        "transfer_data": null,
        "trial_end": s.trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": s.missing_payment_method.as_deref().unwrap_or("create_invoice")}},
        "trial_start": s.trial_start,
    });
    v["default_tax_rates"] = Value::Array(s.default_tax_rates.iter().map(tax_rate).collect());
    if let Some(d) = &s.discount {
        v["discount"] = discount(d, &s.customer, Some(&s.id), None);
    }
    v["items"] = item_list;
    v
}

/// An invoice that is not saved, as `POST /invoices/create_preview` (and `GET
/// /invoices/upcoming`) answer it: its id is prefixed `upcoming_`, as on Stripe, so it is never
/// taken for a saved invoice.
pub fn preview_invoice(i: &Invoice) -> Value {
    let mut v = invoice(i);
    v["id"] = Value::String(format!("upcoming_{}", i.id));
    v
}

/// The invoice of an `invoice.upcoming` event: "The received Invoice object will not have an
/// invoice ID" (Stripe's words), so it has none.
pub fn upcoming_invoice(i: &Invoice) -> Value {
    let mut v = invoice(i);
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
    }
    v
}

/// An invoice. kassa finalizes invoices as it creates them, so `finalized_at`/`effective_at` are
/// `created` for any invoice past draft; a final one has its `number`, `hosted_invoice_url` and
/// `invoice_pdf`.
pub fn invoice(i: &Invoice) -> Value {
    let discount_id = i.discount.as_ref().map(|d| d.id.as_str());
    let lines: Vec<Value> = i
        .lines
        .iter()
        .map(|l| {
            let discount_amounts: Vec<Value> = match discount_id {
                Some(d) if l.discount_amount > 0 => vec![json!({"amount": l.discount_amount, "discount": d})],
                _ => Vec::new(),
            };
            let inclusive: i64 = l.taxes.iter().filter(|t| t.inclusive).map(|t| t.amount).sum();
            let mut v = json!({
                "id": l.id,
                "object": "line_item",
                "amount": l.amount,
                "amount_excluding_tax": l.amount - inclusive,
                "currency": i.currency,
                "description": l.description,
                "discount_amounts": discount_amounts,
                "discountable": true,
                "discounts": [],
                "livemode": false,
                "metadata": {},
                "period": {"end": l.period_end, "start": l.period_start},
                "plan": null,
                "price": null,
                "proration": l.proration,
                "proration_details": {"credited_items": null},
                "quantity": l.quantity,
                "subscription": i.subscription,
                "subscription_item": l.subscription_item,
                "tax_amounts": l.taxes.iter().map(tax_amount).collect::<Vec<_>>(),
                "tax_rates": l.tax_rates.iter().map(tax_rate).collect::<Vec<_>>(),
                "taxes": l.taxes.iter().map(invoice_tax).collect::<Vec<_>>(),
                "type": if l.subscription_item.is_some() && !l.proration { "subscription" } else { "invoiceitem" },
                "unit_amount_excluding_tax": l.price.unit_amount.to_string(),
            });
            v["price"] = price(&l.price);
            // Only a line that bills an invoice item names it (Stripe leaves the field out).
            if let Some(ii) = &l.invoice_item {
                v["invoice_item"] = json!(ii);
            }
            v
        })
        .collect();
    let line_list = complete_list(&format!("/v1/invoices/{}/lines", i.id), lines);
    let finalized = i.status != InvoiceStatus::Draft;
    let finalized_at = finalized.then_some(i.finalized_at.unwrap_or(i.created));
    // Σ per rate, in the order the rates first appear.
    let mut per_rate: Vec<kassa_core::tax::LineTax> = Vec::new();
    for t in i.lines.iter().flat_map(|l| &l.taxes) {
        match per_rate.iter_mut().find(|p| p.rate == t.rate && p.inclusive == t.inclusive) {
            Some(p) => {
                p.amount += t.amount;
                p.taxable_amount += t.taxable_amount;
            }
            None => per_rate.push(t.clone()),
        }
    }
    let total_tax_amounts: Vec<Value> = per_rate.iter().map(tax_amount).collect();
    let taxed = i.automatic_tax || i.lines.iter().any(|l| !l.tax_rates.is_empty());
    let inclusive_tax: i64 = per_rate.iter().filter(|t| t.inclusive).map(|t| t.amount).sum();
    let total_discount_amounts: Vec<Value> = match discount_id {
        Some(d) if i.total_discount > 0 => vec![json!({"amount": i.total_discount, "discount": d})],
        _ => Vec::new(),
    };
    let mut v = json!({
        "id": i.id,
        "object": "invoice",
        "account_country": null,
        "account_name": null,
        "account_tax_ids": null,
        "amount_due": i.amount_due,
        "amount_paid": i.amount_paid,
        "amount_remaining": i.amount_remaining,
        "amount_shipping": 0,
        "application": null,
        "application_fee_amount": null,
        "attempt_count": i.attempt_count,
        "attempted": i.attempt_count > 0,
        "auto_advance": matches!(i.status, InvoiceStatus::Draft | InvoiceStatus::Open),
        "automatic_tax": {"enabled": i.automatic_tax, "status": i.automatic_tax.then_some("complete")},
        "billing_reason": i.billing_reason.as_str(),
        "charge": null,
        "collection_method": if i.due_date.is_some() { "send_invoice" } else { "charge_automatically" },
        "created": i.created,
        "currency": i.currency,
        "custom_fields": (!i.custom_fields.is_empty()).then(|| {
            i.custom_fields.iter().map(|(name, value)| json!({"name": name, "value": value})).collect::<Vec<_>>()
        }),
        "customer": i.customer,
        "customer_address": null,
        "customer_email": null,
        "customer_name": null,
        "customer_phone": null,
        "customer_shipping": null,
        "customer_tax_exempt": i.customer_tax_exempt.as_str(),
        "customer_tax_ids": [],
        "default_payment_method": null,
        "default_source": null,
        "default_tax_rates": [],
        "description": i.description,
        "discount": i.discount.as_ref().map(|d| discount(d, &i.customer, i.subscription.as_deref(), Some(&i.id))),
        "discounts": discount_id.into_iter().collect::<Vec<_>>(),
        "due_date": i.due_date,
        "effective_at": finalized_at,
        "ending_balance": finalized.then_some(0),
        "footer": i.footer,
        "from_invoice": null,
        "hosted_invoice_url": i.hosted_invoice_url,
        "invoice_pdf": i.hosted_invoice_url.as_ref().map(|u| format!("{u}/pdf")),
        "last_finalization_error": null,
        "latest_revision": null,
        "lines": null,
        "livemode": false,
        "metadata": i.metadata,
        "next_payment_attempt": i.next_payment_attempt,
        "number": i.number,
        "on_behalf_of": null,
        "paid": i.status == InvoiceStatus::Paid,
        "paid_out_of_band": false,
        "payment_intent": i.payment_intent,
        "payment_settings": {"default_mandate": null, "payment_method_options": null, "payment_method_types": null},
        "period_end": i.period_end,
        "period_start": i.period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "quote": null,
        "receipt_number": null,
        "rendering_options": null,
        "rendering": null,
        "shipping_cost": null,
        "shipping_details": null,
        "starting_balance": 0,
        "statement_descriptor": null,
        "status": i.status.as_str(),
        "status_transitions": {
            "finalized_at": finalized_at,
            "marked_uncollectible_at": i.marked_uncollectible_at,
            "paid_at": i.paid_at,
            "voided_at": i.voided_at,
        },
        "subscription": i.subscription,
        "subscription_details": {"metadata": null},
        // Newer API versions name the subscription here (and some integrations read it here).
        "parent": i.subscription.as_ref().map(|sub| json!({
            "quote_details": null,
            "subscription_details": {"metadata": null, "subscription": sub},
            "type": "subscription_details",
        })),
        "subtotal": i.subtotal,
        "subtotal_excluding_tax": i.subtotal - inclusive_tax,
        "tax": taxed.then_some(i.tax),
        "test_clock": null,
        "total": i.total,
        "total_discount_amounts": total_discount_amounts,
        "total_excluding_tax": i.total - i.tax,
        "total_tax_amounts": total_tax_amounts,
        "total_taxes": per_rate.iter().map(invoice_tax).collect::<Vec<_>>(),
        "transfer_data": null,
        "webhooks_delivered_at": null,
    });
    // Moved in: `json!` would copy the lines (each with its price) through the serializer.
    v["lines"] = line_list;
    v
}

/// A charge (issue 17), with every refund made on it ([`ChargeDoc`]).
pub fn charge(c: &kassa_core::charge::Charge) -> Value {
    value_of(&ChargeDoc(c))
}

/// A charge, serialized member by member, as [`CustomerDoc`] is.
pub struct ChargeDoc<'a>(pub &'a kassa_core::charge::Charge);

/// `payment_method_details` of a charge.
enum MethodDetails<'a> {
    Card(&'a kassa_core::payment::CardDetails),
    Paypal(&'a Option<String>),
    CustomerBalance,
}

impl Serialize for MethodDetails<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let null = ();
        match *self {
            MethodDetails::Card(card) => Obj((
                ("type", "card"),
                (
                    "card",
                    Obj((
                        ("brand", &card.brand),
                        ("country", null),
                        ("exp_month", &card.exp_month),
                        ("exp_year", &card.exp_year),
                        ("fingerprint", &card.fingerprint),
                        ("funding", "credit"),
                        ("last4", &card.last4),
                        ("network", &card.brand),
                    )),
                ),
            ))
            .serialize(ser),
            MethodDetails::Paypal(payer_email) => {
                Obj((("type", "paypal"), ("paypal", Obj((("payer_email", payer_email),))))).serialize(ser)
            }
            MethodDetails::CustomerBalance => {
                Obj((("type", "customer_balance"), ("customer_balance", Obj(())))).serialize(ser)
            }
        }
    }
}

impl Serialize for ChargeDoc<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use kassa_core::charge::ChargeStatus;
        let c = self.0;
        let null = ();
        let details = c.method.as_ref().map(|method| match method {
            PaymentMethodKind::Card(card) => MethodDetails::Card(card),
            PaymentMethodKind::Paypal { payer_email } => MethodDetails::Paypal(payer_email),
            PaymentMethodKind::CustomerBalance => MethodDetails::CustomerBalance,
        });
        let failed = c.status == ChargeStatus::Failed;
        let declined = c.failure.as_ref().map(|f| {
            Obj((
                ("network_status", "declined_by_network"),
                ("reason", f.decline_code.as_deref().unwrap_or(&f.code)),
                ("risk_level", "normal"),
                ("seller_message", "The bank did not return any further details with this decline."),
                ("type", "issuer_declined"),
            ))
        });
        let approved = Obj((
            ("network_status", "approved_by_network"),
            ("reason", None::<&str>),
            ("risk_level", "normal"),
            ("seller_message", "Payment complete."),
            ("type", "authorized"),
        ));
        let refunds: Vec<Value> = c.refunds.iter().rev().map(refund).collect();
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("id", &c.id)?;
        m.serialize_entry("object", "charge")?;
        m.serialize_entry("amount", &c.amount)?;
        m.serialize_entry("amount_captured", &c.amount_captured)?;
        m.serialize_entry("amount_refunded", &c.amount_refunded)?;
        m.serialize_entry("balance_transaction", &null)?;
        m.serialize_entry(
            "billing_details",
            &Obj((("address", null), ("email", null), ("name", null), ("phone", null))),
        )?;
        m.serialize_entry("captured", &c.captured)?;
        m.serialize_entry("created", &c.created)?;
        m.serialize_entry("currency", &c.currency)?;
        m.serialize_entry("customer", &c.customer)?;
        m.serialize_entry("description", &c.description)?;
        m.serialize_entry("disputed", &false)?;
        m.serialize_entry("failure_code", &c.failure.as_ref().map(|f| &f.code))?;
        m.serialize_entry("failure_message", &c.failure.as_ref().map(|f| &f.message))?;
        m.serialize_entry("invoice", &c.invoice)?;
        m.serialize_entry("livemode", &false)?;
        m.serialize_entry("metadata", &c.metadata)?;
        match &declined {
            Some(declined) => m.serialize_entry("outcome", declined)?,
            None => m.serialize_entry("outcome", &approved)?,
        }
        m.serialize_entry("paid", &!failed)?;
        m.serialize_entry("payment_intent", &c.payment_intent)?;
        m.serialize_entry("payment_method", &c.payment_method)?;
        m.serialize_entry("payment_method_details", &details)?;
        m.serialize_entry("receipt_url", &null)?;
        m.serialize_entry("refunded", &c.refunded())?;
        m.serialize_entry("refunds", &complete_list(&format!("/v1/charges/{}/refunds", c.id), refunds))?;
        m.serialize_entry("status", c.status.as_str())?;
        m.end()
    }
}

/// A refund (issue 17).
pub fn refund(r: &kassa_core::charge::Refund) -> Value {
    let destination = if r.to_cash_balance { "customer_cash_balance" } else { "card" };
    json!({
        "id": r.id,
        "object": "refund",
        "amount": r.amount,
        "balance_transaction": null,
        "charge": r.charge,
        "created": r.created,
        "currency": r.currency,
        "destination_details": {"type": destination},
        "metadata": r.metadata,
        "payment_intent": r.payment_intent,
        "reason": r.reason,
        "receipt_number": null,
        "status": r.status(),
    })
}

/// An event (`pending_webhooks`: its deliveries not yet done).
pub fn event(e: &Event, pending_webhooks: usize) -> Value {
    serde_json::to_value(EventWire::new(e, pending_webhooks)).unwrap_or(Value::Null)
}

/// [`event`] of an event the caller owns: its `previous_attributes` move into the answer instead
/// of being copied through the serializer (its object, kept as text, is read once either way).
pub fn event_owned(mut e: Event, pending_webhooks: usize) -> Value {
    let previous = e.previous_attributes.take();
    let mut v = event(&e, pending_webhooks);
    // After `data.object`, where it is written: the same order.
    if let Some(previous) = previous {
        v["data"]["previous_attributes"] = previous;
    }
    v
}

/// The answer to `POST /events/{id}/resend`: the event, and under `webhook_deliveries` (a list, as
/// Stripe embeds lists) each delivery the resend attempted, as recorded after its attempt.
pub fn resent(e: &Event, pending_webhooks: usize, deliveries: &[WebhookDelivery]) -> Value {
    let mut v = event(e, pending_webhooks);
    v["webhook_deliveries"] = json!({
        "object": "list",
        "data": deliveries.iter().map(webhook_delivery).collect::<Vec<_>>(),
        "has_more": false,
        "url": format!("/webhook_deliveries?event={}", e.id),
    });
    v
}

/// [`event`] as the body of a delivery, written straight from the stored event (no copy of its
/// object on the way).
pub fn event_body(e: &Event, pending_webhooks: usize) -> String {
    serde_json::to_string(&EventWire::new(e, pending_webhooks)).unwrap_or_default()
}

/// How an event looks on the wire, borrowing from the stored one.
#[derive(serde::Serialize)]
struct EventWire<'a> {
    id: &'a str,
    object: &'static str,
    api_version: &'static str,
    created: Timestamp,
    data: EventData<'a>,
    livemode: bool,
    pending_webhooks: usize,
    request: &'a kassa_core::webhook::RequestRef,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(serde::Serialize)]
struct EventData<'a> {
    object: &'a serde_json::value::RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_attributes: Option<&'a Value>,
}

impl<'a> EventWire<'a> {
    fn new(e: &'a Event, pending_webhooks: usize) -> Self {
        Self {
            id: &e.id,
            object: "event",
            api_version: API_VERSION,
            created: e.created,
            data: EventData { object: &e.object, previous_attributes: e.previous_attributes.as_ref() },
            livemode: false,
            pending_webhooks,
            request: &e.request,
            kind: e.kind.as_str(),
        }
    }
}

/// A webhook endpoint; its `secret` only in the answer to its creation. `disabled_reason` is
/// kassa's own: why kassa disabled it (`deliveries_failed`), `null` otherwise.
pub fn webhook_endpoint(e: &WebhookEndpoint, with_secret: bool) -> Value {
    let mut v = json!({
        "id": e.id,
        "object": "webhook_endpoint",
        "api_version": e.api_version,
        "application": null,
        "created": e.created,
        "description": e.description,
        "disabled_reason": e.disabled_reason.map(|r| r.as_str()),
        "enabled_events": e.enabled_events,
        "livemode": false,
        "metadata": e.metadata,
        "status": e.status.as_str(),
        "url": e.url,
    });
    if with_secret {
        v["secret"] = Value::String(e.secret.expose().to_owned());
    }
    v
}

/// A delivery of an event to an endpoint, with every attempt (kassa's own object).
pub fn webhook_delivery(d: &WebhookDelivery) -> Value {
    let attempts: Vec<Value> = d
        .attempts
        .iter()
        .map(|a| {
            json!({
                "created": a.created,
                "status_code": a.status_code,
                "duration_ms": a.duration_ms,
                "response_body": a.response_body,
                "error": a.error,
            })
        })
        .collect();
    json!({
        "id": d.id,
        "object": "webhook_delivery",
        "created": d.created,
        "event": d.event,
        "event_type": d.event_type.as_str(),
        "webhook_endpoint": d.webhook_endpoint,
        "status": d.status.as_str(),
        "next_attempt_at": d.next_attempt_at,
        "attempts": attempts,
    })
}

/// A test clock.
pub fn test_clock(c: &TestClock) -> Value {
    json!({
        "id": c.id,
        "object": "test_helpers.test_clock",
        "created": c.created,
        "deletes_after": c.created + CLOCK_LIFETIME,
        "frozen_time": c.frozen_time,
        "livemode": false,
        "name": c.name,
        "status": c.status.as_str(),
        "status_details": {},
    })
}

pub fn shipping_rate(r: &kassa_core::shipping::ShippingRate) -> Value {
    let bound = |b: Option<kassa_core::shipping::EstimateBound>| {
        b.map(|b| json!({"unit": b.unit.as_str(), "value": b.value}))
    };
    json!({
        "id": r.id,
        "object": "shipping_rate",
        "active": r.active,
        "created": r.created,
        "delivery_estimate": r.delivery_estimate.map(|e| json!({
            "maximum": bound(e.maximum),
            "minimum": bound(e.minimum),
        })),
        "display_name": r.display_name,
        "fixed_amount": {"amount": r.amount, "currency": r.currency},
        "livemode": false,
        "metadata": r.metadata,
        "tax_behavior": r.tax_behavior.as_str(),
        "tax_code": r.tax_code,
        "type": "fixed_amount",
    })
}

/// A customer portal configuration (`billing_portal.configuration`, issue 17).
pub fn portal_configuration(c: &kassa_core::portal::PortalConfiguration) -> Value {
    let f = &c.features;
    let products: Vec<Value> = f
        .subscription_update
        .products
        .iter()
        .map(|p| json!({"adjustable_quantity": {"enabled": f.subscription_update.allows("quantity"), "maximum": null, "minimum": 1}, "prices": p.prices, "product": p.product}))
        .collect();
    json!({
        "id": c.id,
        "object": "billing_portal.configuration",
        "active": c.active,
        "application": null,
        "business_profile": {
            "headline": c.business_profile.headline,
            "privacy_policy_url": c.business_profile.privacy_policy_url,
            "terms_of_service_url": c.business_profile.terms_of_service_url,
        },
        "created": c.created,
        "default_return_url": c.default_return_url,
        "features": {
            "customer_update": {
                "allowed_updates": f.customer_update.allowed_updates,
                "enabled": f.customer_update.enabled,
            },
            "invoice_history": {"enabled": f.invoice_history},
            "payment_method_update": {"enabled": f.payment_method_update, "payment_method_configuration": null},
            "subscription_cancel": {
                "cancellation_reason": {
                    "enabled": f.subscription_cancel.cancellation_reason.enabled,
                    "options": f.subscription_cancel.cancellation_reason.options,
                },
                "enabled": f.subscription_cancel.enabled,
                "mode": f.subscription_cancel.mode,
                "proration_behavior": f.subscription_cancel.proration_behavior,
            },
            "subscription_update": {
                "billing_cycle_anchor": null,
                "default_allowed_updates": f.subscription_update.default_allowed_updates,
                "enabled": f.subscription_update.enabled,
                "products": products,
                "proration_behavior": f.subscription_update.proration_behavior,
                "schedule_at_period_end": {"conditions": []},
                "trial_update_behavior": "end_trial",
            },
        },
        "is_default": c.is_default,
        "livemode": false,
        "login_page": {"enabled": false, "url": null},
        "metadata": c.metadata,
        "name": null,
        "updated": c.updated,
    })
}

/// A customer portal session (`billing_portal.session`). Its `url` (which carries the session's
/// secret) is only known when it is made; later renderings show `null`.
pub fn portal_session(s: &kassa_core::portal::PortalSession, _public_url: &str) -> Value {
    let flow = s.flow.as_ref().map(|f| {
        let sub = f.subscription.as_deref();
        let after = &f.after_completion;
        json!({
            "type": f.r#type,
            "after_completion": {
                "type": after.r#type,
                "hosted_confirmation": (after.r#type == "hosted_confirmation").then(|| json!({"custom_message": after.custom_message})),
                "redirect": after.redirect_url.as_ref().map(|u| json!({"return_url": u})),
            },
            "subscription_cancel": (f.r#type == "subscription_cancel").then(|| json!({"retention": null, "subscription": sub})),
            "subscription_update": (f.r#type == "subscription_update").then(|| json!({"subscription": sub})),
            "subscription_update_confirm": (f.r#type == "subscription_update_confirm").then(|| json!({
                "discounts": f.discounts.iter().map(|(c, p)| json!({"coupon": c, "promotion_code": p})).collect::<Vec<_>>(),
                "items": f.items.iter().map(|i| json!({"id": i.id, "price": i.price, "quantity": i.quantity})).collect::<Vec<_>>(),
                "subscription": sub,
            })),
        })
    });
    json!({
        "id": s.id,
        "object": "billing_portal.session",
        "configuration": s.configuration,
        "created": s.created,
        "customer": s.customer,
        "flow": flow,
        "livemode": false,
        "locale": s.locale,
        "on_behalf_of": null,
        "return_url": s.return_url,
        "url": s.url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_core::webhook::{EventType, RequestRef};

    #[test]
    fn an_owned_event_reads_as_the_borrowed_one_byte_for_byte() {
        let object =
            json!({"id": "cus_1", "object": "customer", "metadata": {"b": "2", "a": "1"}, "email": null});
        let object = serde_json::value::to_raw_value(&object).unwrap();
        let mut e = Event::new(EventType::CustomerUpdated, object, RequestRef::default(), 1_700_000_000);
        let plain = serde_json::to_string(&event(&e, 2)).unwrap();
        assert_eq!(serde_json::to_string(&event_owned(e.clone(), 2)).unwrap(), plain);
        // A delivery's body, written from the object's text, is the API's rendering too.
        assert_eq!(event_body(&e, 2), plain);
        assert!(plain.contains(r#""data":{"object":{"id":"cus_1","object":"customer","metadata":{"b":"2","a":"1"},"email":null}"#), "{plain}");

        e.previous_attributes = Some(json!({"email": "old@example.test"}));
        let plain = serde_json::to_string(&event(&e, 0)).unwrap();
        assert_eq!(event_body(&e, 0), plain);
        assert_eq!(serde_json::to_string(&event_owned(e, 0)).unwrap(), plain);
        assert!(
            plain.contains(r#""previous_attributes":{"email":"old@example.test"}},"livemode""#),
            "{plain}"
        );
    }

    /// An event's object is written straight from the view; the API's answer goes through a
    /// `Value` made from it. Both are the same text, member order included.
    #[test]
    fn views_written_directly_read_as_their_values() {
        use kassa_core::billing::PaymentIntentStatus;
        use kassa_core::money::Currency;
        let usd = Currency::parse("usd").unwrap();
        let mut customer: Customer = serde_json::from_value(
            json!({"id": "cus_1", "created": 5, "email": "a@example.test", "name": null,
                "description": null, "metadata": {"z": "1", "a": "2"}}),
        )
        .unwrap();
        customer.cash_balance.insert(usd, 500);
        let text = serde_json::to_string(&CustomerDoc(&customer)).unwrap();
        assert_eq!(text, serde_json::to_string(&super::customer(&customer)).unwrap());
        assert!(
            text.contains(r#""metadata":{"a":"2","z":"1"}"#) && text.contains(r#""available":{"usd":500}"#),
            "{text}"
        );

        let mut pi = PaymentIntent::new(1999, usd, vec!["card".into()], 1);
        pi.status = PaymentIntentStatus::RequiresAction;
        let text = serde_json::to_string(&PaymentIntentDoc(&pi)).unwrap();
        assert_eq!(text, serde_json::to_string(&payment_intent(&pi)).unwrap());
        assert!(
            text.contains(
                r#""next_action":{"type":"redirect_to_url","redirect_to_url":{"return_url":null,"url":null}}"#
            ),
            "{text}"
        );

        pi.status = PaymentIntentStatus::Succeeded;
        let card = PaymentMethodKind::Card(
            serde_json::from_value(
                json!({"brand": "visa", "exp_month": 12, "exp_year": 2030, "fingerprint": "fp",
                "last4": "4242"}),
            )
            .unwrap(),
        );
        let c = kassa_core::charge::Charge::for_attempt(&pi, Some(card), None, 3);
        let text = serde_json::to_string(&ChargeDoc(&c)).unwrap();
        assert_eq!(text, serde_json::to_string(&charge(&c)).unwrap());
        assert!(
            text.contains(r#""payment_method_details":{"type":"card","card":{"brand":"visa","country":null"#),
            "{text}"
        );
    }

    /// A subscription's items, tax rates and discount are moved in after the object is built:
    /// each keeps its place among Stripe's keys, and the item's price its place in the item.
    #[test]
    fn a_subscription_keeps_its_key_order_with_its_parts_moved_in() {
        use kassa_core::catalog::{Interval, Recurring};
        let usd = kassa_core::money::Currency::parse("usd").unwrap();
        let price = Price {
            id: "price_1".into(),
            created: 1,
            product: "prod_1".into(),
            currency: usd,
            unit_amount: 1500,
            recurring: Some(Recurring { interval: Interval::Month, interval_count: 1 }),
            active: true,
            nickname: None,
            lookup_key: None,
            metadata: Default::default(),
            tax_behavior: Default::default(),
            inline: false,
        };
        let item = kassa_core::billing::SubscriptionItem::new(price, 2);
        let s = Subscription::new("cus_1".into(), usd, vec![item], 100, 200, 100);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let v = subscription(&s);
        let top = keys(&v);
        let at = |k: &str| top.iter().position(|x| x == k).unwrap();
        let order = ["days_until_due", "default_payment_method", "default_source", "default_tax_rates"];
        assert!(order.windows(2).all(|w| at(w[0]) + 1 == at(w[1])), "{top:?}");
        let order = ["description", "discount", "ended_at", "items", "latest_invoice"];
        assert!(order.windows(2).all(|w| at(w[0]) + 1 == at(w[1])), "{top:?}");
        assert_eq!((&v["default_tax_rates"], &v["discount"]), (&json!([]), &Value::Null));
        let item = &v["items"]["data"][0];
        assert_eq!((item["price"]["id"].as_str(), item["quantity"].as_i64()), (Some("price_1"), Some(2)));
        assert_eq!(
            keys(item)[7..],
            ["metadata", "plan", "price", "quantity", "subscription", "tax_rates"].map(String::from)
        );
        assert_eq!(item["tax_rates"], json!([]));
    }

    #[test]
    fn lists_read_as_json_would_write_them() {
        let data = vec![json!({"id": "a", "n": 1}), json!({"id": "b", "m": {"z": 1, "y": [2]}})];
        let want = json!({"object": "list", "data": data.clone(), "has_more": true, "url": "/v1/x"});
        assert_eq!(serde_json::to_string(&list("/v1/x", data.clone(), true)).unwrap(), want.to_string());
        let want =
            json!({"object": "list", "data": data.clone(), "has_more": false, "total_count": 2, "url": "/u"});
        assert_eq!(serde_json::to_string(&complete_list("/u", data)).unwrap(), want.to_string());
    }
}
