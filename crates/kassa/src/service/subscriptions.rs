//! Subscriptions made and changed through the API (issue 17): `POST /subscriptions`,
//! `POST /subscriptions/{id}/resume`, `/subscription_items` and `/invoiceitems`.
//!
//! ## Creating a subscription
//! One transaction checks the request against the store and builds the subscription and its first
//! invoice without writing anything ([`build`]). When that invoice is to be charged now
//! (`charge_automatically`, something due, no trial, `payment_behavior` other than
//! `default_incomplete`) the payment method is charged outside any transaction; then a second
//! transaction builds it again from what the store holds then, records the charge's outcome the
//! way a renewal's attempt is recorded ([`renewal::record_attempt`]) and writes it all with its
//! events. A decline with `error_if_incomplete` writes nothing and answers 402 `card_error`.
//!
//! An `incomplete` subscription (declined, or `default_incomplete`) keeps its first invoice open
//! for 23 hours: `POST /invoices/{id}/pay` can pay it (which makes it `active`); then the
//! scheduler makes it `incomplete_expired` and voids the invoice ([`kassa_core::renewal`]).
//!
//! ## Invoice items
//! A pending invoice item is collected by the customer's next subscription invoice — a new
//! subscription's first, or a period's renewal — as one more line (the scheduler's step and the
//! previews read them with [`pending_lines`]); once collected it names its invoice and can no
//! longer be changed.

use kassa_core::billing::{
    Discount, Invoice, InvoiceItem, InvoiceLine, InvoiceStatus, NO_ATTEMPT, PaymentError, PaymentIntent,
    PaymentMethod, Subscription, SubscriptionItem, SubscriptionStatus,
};
use kassa_core::catalog::{Buyer, Coupon, Customer, Duration, Price, PromotionCode};
use kassa_core::params::{
    IntOrWord, InvoiceItemList, InvoiceItemWrite, SubscriptionCreate, SubscriptionItemList,
    SubscriptionItemParam, SubscriptionItemUpdate, SubscriptionResume, SubscriptionUpdate,
};
use kassa_core::payment::SavedBehaviour;
use kassa_core::renewal::{self, Happened};
use kassa_core::store::{
    Abort, Column, Filter, Kind, Record, Scope, StoreError, StoreExt, Tx, TxExt, Value, view,
};
use kassa_core::time::{DAY, Timestamp, to_civil};
use kassa_core::webhook::EventType;
use kassa_core::{Error as DomainError, Invalid};

use super::billing::{announce, bill_now, clock_time, emit_created};
use super::events::transact;
use super::{Acct, Error, Result, get, list, update};
use crate::state::Ctx;
use crate::views;

/// `payment_behavior` of `POST /subscriptions`, in Stripe's names.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behavior {
    AllowIncomplete,
    DefaultIncomplete,
    ErrorIfIncomplete,
}

/// What `POST /subscriptions` asks for, checked without the store.
#[derive(Debug, Clone)]
struct Request {
    customer: String,
    items: Vec<(String, i64, Option<kassa_core::params::MetadataParam>)>,
    default_payment_method: Option<String>,
    trial_days: Option<i64>,
    /// `Some(None)`: `trial_end=now`.
    trial_end: Option<Option<Timestamp>>,
    coupon: Option<String>,
    promotion_code: Option<String>,
    metadata: kassa_core::metadata::Metadata,
    description: Option<String>,
    behavior: Behavior,
    days_until_due: Option<i64>,
    cancel_at: Option<Timestamp>,
    cancel_at_period_end: bool,
    anchor: Option<Timestamp>,
    missing_payment_method: Option<String>,
}

fn check(p: SubscriptionCreate) -> Result<Request, Invalid> {
    let customer = p.customer.filter(|c| !c.is_empty()).ok_or_else(|| Invalid::missing("customer"))?;
    let behavior = match p.payment_behavior.as_deref() {
        None | Some("allow_incomplete") => Behavior::AllowIncomplete,
        Some("default_incomplete") => Behavior::DefaultIncomplete,
        Some("error_if_incomplete") => Behavior::ErrorIfIncomplete,
        Some(_) => {
            return Err(Invalid::param(
                "payment_behavior",
                "`payment_behavior` must be one of allow_incomplete, default_incomplete or error_if_incomplete.",
            ));
        }
    };
    let days_until_due = match (p.collection_method.as_deref(), p.days_until_due) {
        (None | Some("charge_automatically"), None) => None,
        (None | Some("charge_automatically"), Some(_)) => {
            return Err(Invalid::param(
                "days_until_due",
                "`days_until_due` can only be set when `collection_method` is send_invoice.",
            ));
        }
        (Some("send_invoice"), None) => return Err(Invalid::missing("days_until_due")),
        (Some("send_invoice"), Some(d)) if (0..=730).contains(&d.0) => Some(d.0),
        (Some("send_invoice"), Some(_)) => {
            return Err(Invalid::param("days_until_due", "`days_until_due` must be between 0 and 730."));
        }
        (Some(_), _) => {
            return Err(Invalid::param(
                "collection_method",
                "`collection_method` must be one of charge_automatically or send_invoice.",
            ));
        }
    };
    let given = p.items.unwrap_or_default();
    if given.is_empty() {
        return Err(Invalid::missing("items"));
    }
    if given.len() > 20 {
        return Err(Invalid::param("items", "A subscription can have at most 20 items."));
    }
    let mut items = Vec::with_capacity(given.len());
    for (n, item) in given.into_iter().enumerate() {
        let SubscriptionItemParam { id, price, quantity, deleted, metadata } = item;
        if id.is_some() || deleted.is_some() {
            let f = if id.is_some() { "id" } else { "deleted" };
            return Err(Invalid::param(
                format!("items[{n}][{f}]"),
                "A new subscription's items take only `price`, `quantity` and `metadata`.",
            ));
        }
        let price =
            price.filter(|p| !p.is_empty()).ok_or_else(|| Invalid::missing(format!("items[{n}][price]")))?;
        let quantity = quantity.map_or(1, |q| q.0);
        if !(1..=999_999).contains(&quantity) {
            return Err(Invalid::param(
                format!("items[{n}][quantity]"),
                "`quantity` must be between 1 and 999999.",
            ));
        }
        items.push((price, quantity, metadata));
    }
    let trial_days = match p.trial_period_days {
        None => None,
        Some(d) if (0..=730).contains(&d.0) => (d.0 > 0).then_some(d.0),
        Some(_) => {
            return Err(Invalid::param(
                "trial_period_days",
                "`trial_period_days` must be between 0 and 730.",
            ));
        }
    };
    let trial_end = match p.trial_end {
        None => None,
        Some(IntOrWord::Word(w)) if w == "now" => Some(None),
        Some(IntOrWord::Int(t)) => Some(Some(t)),
        Some(IntOrWord::Word(_)) => {
            return Err(Invalid::param(
                "trial_end",
                "`trial_end` must be a Unix time in the future or `now`.",
            ));
        }
    };
    if trial_days.is_some() && trial_end.is_some() {
        return Err(Invalid::exclusive("trial_end", "trial_period_days"));
    }
    let discounts = p.discounts.unwrap_or_default();
    if discounts.len() > 1 {
        return Err(Invalid::param("discounts", "kassa applies at most one discount to a subscription."));
    }
    if !discounts.is_empty() && (p.coupon.is_some() || p.promotion_code.is_some()) {
        return Err(Invalid::exclusive(
            "discounts",
            if p.coupon.is_some() { "coupon" } else { "promotion_code" },
        ));
    }
    let (coupon, promotion_code) = match discounts.into_iter().next() {
        Some(d) => match (d.coupon, d.promotion_code) {
            (Some(_), Some(_)) => {
                return Err(Invalid::exclusive("discounts[0][coupon]", "discounts[0][promotion_code]"));
            }
            (None, None) => return Err(Invalid::missing("discounts[0][coupon]")),
            pair => pair,
        },
        None => (p.coupon, p.promotion_code),
    };
    if coupon.is_some() && promotion_code.is_some() {
        return Err(Invalid::exclusive("coupon", "promotion_code"));
    }
    let cancel_at_period_end = p.cancel_at_period_end.is_some_and(|b| b.0);
    if p.cancel_at.is_some() && cancel_at_period_end {
        return Err(Invalid::exclusive("cancel_at", "cancel_at_period_end"));
    }
    let anchor = p.billing_cycle_anchor.map(|a| a.0);
    if anchor.is_some() && (trial_days.is_some() || matches!(trial_end, Some(Some(_)))) {
        return Err(Invalid::param(
            "billing_cycle_anchor",
            "kassa anchors a subscription with a trial on the trial's end: give either a trial or `billing_cycle_anchor`.",
        ));
    }
    let missing_payment_method =
        p.trial_settings.and_then(|t| t.end_behavior).and_then(|e| e.missing_payment_method);
    if let Some(m) = &missing_payment_method
        && !["cancel", "create_invoice", "pause"].contains(&m.as_str())
    {
        return Err(Invalid::param(
            "trial_settings[end_behavior][missing_payment_method]",
            "`missing_payment_method` must be one of cancel, create_invoice or pause.",
        ));
    }
    if let Some(pb) = p.proration_behavior.as_deref()
        && kassa_core::proration::Behavior::parse(pb).is_none()
    {
        return Err(Invalid::param(
            "proration_behavior",
            "`proration_behavior` must be one of create_prorations, none or always_invoice.",
        ));
    }
    let description = kassa_core::catalog::text("description", p.description, 500)?;
    let metadata = kassa_core::metadata::create(p.metadata, "metadata")?;
    Ok(Request {
        customer,
        items,
        default_payment_method: p.default_payment_method.filter(|m| !m.is_empty()),
        trial_days,
        trial_end,
        coupon,
        promotion_code,
        metadata,
        description,
        behavior,
        days_until_due,
        cancel_at: p.cancel_at.map(|c| c.0),
        cancel_at_period_end,
        anchor,
        missing_payment_method,
    })
}

/// A subscription and its first invoice as [`build`] made them, not yet written.
struct Built {
    sub: Subscription,
    invoice: Invoice,
    at: Timestamp,
    /// Pending invoice items the first invoice collects.
    collected: Vec<InvoiceItem>,
    /// The coupon and promotion code, each counted one more redemption.
    coupon: Option<Coupon>,
    code: Option<PromotionCode>,
    /// How the default payment method answers a charge, if there is one.
    behaviour: Option<Option<SavedBehaviour>>,
    /// That payment method: the subscription's own, or its customer's default.
    payment_method: Option<String>,
    trialing: bool,
}

impl Built {
    /// Whether the first invoice is charged as it is made.
    fn charges_now(&self, behavior: Behavior) -> bool {
        self.invoice.amount_due > 0
            && !self.trialing
            && self.sub.days_until_due.is_none()
            && behavior != Behavior::DefaultIncomplete
            && self.behaviour.is_some()
    }
}

fn too_large() -> Invalid {
    Invalid::general("The subscription's amounts are too large.")
}

/// Check `r` against the store and make the subscription and its first invoice.
fn build(tx: &mut dyn Tx, account: &str, r: &Request, now: Timestamp) -> Result<Built, Abort<DomainError>> {
    let customer = tx
        .load::<Customer>(account, &r.customer)?
        .ok_or_else(|| Invalid::no_such("customer", &r.customer, "customer"))?;
    let at = clock_time(tx, account, customer.test_clock.as_deref(), now)?;
    let mut prices: Vec<Price> = Vec::with_capacity(r.items.len());
    for (n, (id, _, _)) in r.items.iter().enumerate() {
        let param = format!("items[{n}][price]");
        let price = tx
            .load::<Price>(account, id)?
            .filter(|p| p.active)
            .ok_or_else(|| Invalid::no_such("price", id, &param))?;
        if price.recurring.is_none() {
            return Err(Invalid::param(param, "A subscription's prices must be recurring.").into());
        }
        if let Some(first) = prices.first() {
            if price.currency != first.currency {
                return Err(
                    Invalid::param(param, "All of a subscription's prices must be in one currency.").into()
                );
            }
            if price.recurring != first.recurring {
                return Err(Invalid::param(
                    param,
                    "All of a subscription's prices must share one billing interval.",
                )
                .into());
            }
        }
        if prices.iter().any(|p| p.id == price.id) {
            return Err(Invalid::param(
                param,
                "Cannot add multiple subscription items with the same price: change the quantity instead.",
            )
            .into());
        }
        prices.push(price);
    }
    let currency = prices[0].currency;
    let recurring = prices[0].recurring.ok_or_else(too_large)?;
    let behaviour = match &r.default_payment_method {
        Some(pm) => {
            let method = tx
                .load::<PaymentMethod>(account, pm)?
                .filter(|m| m.customer.as_deref() == Some(customer.id.as_str()))
                .ok_or_else(|| Invalid::no_such("payment_method", pm, "default_payment_method"))?;
            Some(method.saved_behaviour.and_then(|v| serde_json::from_value::<SavedBehaviour>(v).ok()))
        }
        // None of its own: the customer's `invoice_settings.default_payment_method`, as on Stripe
        // (the subscription's own stays null, so a later change of the customer's default counts).
        None => super::billing::customer_default(tx, account, &customer.id)?
            .map(|m| m.saved_behaviour.and_then(|v| serde_json::from_value::<SavedBehaviour>(v).ok())),
    };
    let charged_with = r
        .default_payment_method
        .clone()
        .or_else(|| behaviour.as_ref().and_then(|_| customer.default_payment_method.clone()));
    let trial_end = match (r.trial_days, r.trial_end) {
        (Some(days), _) => Some(at + days * DAY),
        (None, Some(Some(t))) if t > at && t <= at + 730 * DAY => Some(t),
        (None, Some(Some(_))) => {
            return Err(Invalid::param(
                "trial_end",
                "`trial_end` must be in the future, at most 730 days ahead.",
            )
            .into());
        }
        (None, Some(None) | None) => None,
    };
    let anchor = match r.anchor {
        Some(a) if a > at && a <= recurring.period_end(at, to_civil(at).day) => Some(a),
        Some(_) => {
            return Err(Invalid::param(
                "billing_cycle_anchor",
                "`billing_cycle_anchor` must be in the future, within the first full period.",
            )
            .into());
        }
        None => None,
    };
    let full_end = recurring.period_end(at, to_civil(at).day);
    let period_end = trial_end.or(anchor).unwrap_or(full_end);
    let mut items = Vec::with_capacity(prices.len());
    let mut lines = Vec::with_capacity(prices.len());
    for (price, (_, quantity, metadata)) in prices.into_iter().zip(&r.items) {
        let mut item = SubscriptionItem::new(price, *quantity);
        item.metadata = kassa_core::metadata::create(metadata.clone(), "items[][metadata]")?;
        let full =
            kassa_core::money::line_amount(item.price.unit_amount, item.quantity).ok_or_else(too_large)?;
        let (amount, description) = match (trial_end, anchor) {
            (Some(_), _) => (0, format!("Trial period for {}", renewal_describe(&item))),
            (None, Some(a)) => (
                kassa_core::proration::prorate(full, a - at, full_end - at).ok_or_else(too_large)?,
                format!("Remaining time on {} until the billing cycle anchor", renewal_describe(&item)),
            ),
            (None, None) => (full, renewal_describe(&item)),
        };
        let mut line =
            InvoiceLine::new(item.price.clone(), item.quantity, amount, description, at, period_end);
        line.subscription_item = Some(item.id.clone());
        lines.push(line);
        items.push(item);
    }
    let mut sub = Subscription::new(customer.id.clone(), currency, items, at, period_end, at);
    sub.trial_start = trial_end.map(|_| at);
    sub.trial_end = trial_end;
    sub.billing_cycle_anchor_at = anchor;
    sub.anchor_day = to_civil(if trial_end.is_some() || anchor.is_some() { period_end } else { at }).day;
    sub.default_payment_method.clone_from(&r.default_payment_method);
    sub.metadata = r.metadata.clone();
    sub.description.clone_from(&r.description);
    sub.days_until_due = r.days_until_due;
    sub.missing_payment_method.clone_from(&r.missing_payment_method);
    sub.test_clock.clone_from(&customer.test_clock);

    // The discount: a coupon, or a promotion code's, usable now by this customer.
    let subtotal: i64 = lines.iter().map(|l| l.amount).sum();
    let (mut coupon, mut code) = (None, None);
    if let Some(id) = &r.promotion_code {
        let mut promo = tx
            .load::<PromotionCode>(account, id)?
            .ok_or_else(|| Invalid::no_such("promotion_code", id, "promotion_code"))?;
        let c = tx
            .load::<Coupon>(account, &promo.coupon)?
            .ok_or_else(|| Invalid::no_such("coupon", &promo.coupon, "promotion_code"))?;
        promo
            .usable(&c, Buyer { customer: Some(&customer) }, currency, subtotal, at)
            .map_err(|why| Invalid::param("promotion_code", why.message()))?;
        promo.times_redeemed = promo.times_redeemed.saturating_add(1);
        code = Some(promo);
        coupon = Some(c);
    } else if let Some(id) = &r.coupon {
        let c = tx.load::<Coupon>(account, id)?.ok_or_else(|| Invalid::no_such("coupon", id, "coupon"))?;
        c.usable_for(currency, at).map_err(|why| Invalid::param("coupon", why.message()))?;
        coupon = Some(c);
    }
    if let Some(c) = &mut coupon {
        c.times_redeemed = c.times_redeemed.saturating_add(1);
        let end = match c.duration {
            Duration::Repeating { months } => {
                Some(kassa_core::time::add_months(at, months, to_civil(at).day))
            }
            Duration::Once | Duration::Forever => None,
        };
        let mut d =
            Discount::new(c.id.clone(), code.as_ref().map(|p| p.id.clone()), c.terms(), c.duration, at, end);
        d.coupon_object = Some(c.clone());
        let view: Vec<kassa_core::discount::Line<'_>> = lines
            .iter()
            .map(|l| kassa_core::discount::Line { amount: l.amount, product: l.price.product.as_str() })
            .collect();
        let split = kassa_core::discount::apply(&d.terms, &view);
        for (line, share) in lines.iter_mut().zip(split.per_line) {
            line.discount_amount = share;
        }
        sub.discount = Some(d);
    }

    // The customer's pending invoice items in this currency come along on the first invoice.
    let collected: Vec<InvoiceItem> = pending_items(tx, account, &customer.id, None)?
        .into_iter()
        .filter(|i| i.currency == currency)
        .collect();
    lines.extend(collected.iter().map(InvoiceItem::line));

    let mut invoice = Invoice::new(
        customer.id.clone(),
        currency,
        kassa_core::billing::BillingReason::SubscriptionCreate,
        lines,
        at,
        period_end,
        at,
    )
    .map_err(|_| too_large())?;
    invoice.subscription = Some(sub.id.clone());
    invoice.discount.clone_from(&sub.discount);
    sub.latest_invoice = Some(invoice.id.clone());
    if sub.discount.as_ref().is_some_and(|d| d.duration == Duration::Once) && invoice.subtotal > 0 {
        sub.discount = None;
    }
    if let Some(t) = r.cancel_at {
        renewal::set_cancel_at(&mut sub, t, at)?;
    }
    if r.cancel_at_period_end {
        renewal::set_cancel_at_period_end(&mut sub, true, at)?;
    }
    Ok(Built {
        sub,
        invoice,
        at,
        collected,
        coupon,
        code,
        behaviour,
        payment_method: charged_with,
        trialing: trial_end.is_some(),
    })
}

fn renewal_describe(item: &SubscriptionItem) -> String {
    format!(
        "{} × {}",
        item.quantity,
        item.price.nickname.clone().unwrap_or_else(|| item.price.product.clone())
    )
}

/// `POST /subscriptions`: see the module docs.
pub async fn create_subscription(ctx: &Ctx, acct: &Acct, p: SubscriptionCreate) -> Result<Subscription> {
    let r = check(p)?;
    let now = ctx.now();
    // What would be charged, read without writing.
    let (account, req) = (acct.id.clone(), r.clone());
    let first = view(ctx.store.as_ref(), move |tx| match build(tx, &account, &req, now) {
        Ok(b) => Ok(Ok(b)),
        Err(Abort::Store(e)) => Err(e),
        Err(Abort::Refused(e)) => Ok(Err(e)),
    })
    .await??;
    if r.behavior == Behavior::ErrorIfIncomplete
        && first.behaviour.is_none()
        && first.invoice.amount_due > 0
        && !first.trialing
        && first.sub.days_until_due.is_none()
    {
        return Err(Invalid::general(
            "This customer has no attached payment source or default payment method. Please consider adding a default payment method.",
        )
        .into());
    }
    let outcome = if first.charges_now(r.behavior) {
        let (amount, currency) = (first.invoice.amount_due, first.invoice.currency);
        Some(match first.behaviour.clone().flatten() {
            Some(b) => ctx.processor.charge_saved(&b, amount, currency).await.map_err(|d| PaymentError {
                code: d.code,
                decline_code: d.decline_code,
                message: d.message,
                payment_method: first.payment_method.clone(),
            }),
            None => Err(PaymentError {
                code: "payment_method_unavailable".to_owned(),
                decline_code: None,
                message: "The subscription's payment method cannot be charged.".to_owned(),
                payment_method: first.payment_method.clone(),
            }),
        })
    } else {
        None
    };
    if r.behavior == Behavior::ErrorIfIncomplete
        && let Some(Err(e)) = &outcome
    {
        return Err(Error::Card(e.clone()));
    }
    let charged = first.invoice.amount_due;
    let dunning = ctx.dunning;
    let account = acct.id.clone();
    let sub = transact(ctx, now, move |tx, out| {
        let mut b = build(tx, &account, &r, now)?;
        if outcome.is_some() && b.invoice.amount_due != charged {
            return Err(Abort::refuse(Invalid::general(
                "The subscription's prices changed while it was being created; nothing was created. Try again.",
            )));
        }
        let at = b.at;
        let mut happened = Vec::new();
        let mut pi: Option<PaymentIntent> = None;
        let mut sub = b.sub;
        let mut invoice = b.invoice;
        if b.trialing || invoice.amount_due == 0 {
            sub.status = if b.trialing { SubscriptionStatus::Trialing } else { SubscriptionStatus::Active };
            invoice.status = InvoiceStatus::Paid;
            invoice.paid_at = Some(at);
            happened.push(Happened::InvoicePaid);
        } else if sub.days_until_due.is_some() {
            sub.status = SubscriptionStatus::Active;
            renewal::collect(&mut sub, &mut invoice, at);
        } else if let Some(result) = outcome {
            sub.status = SubscriptionStatus::Incomplete;
            invoice.status = InvoiceStatus::Open;
            sub.collecting = Some(kassa_core::billing::Collecting {
                invoice: invoice.id.clone(),
                failed_attempts: 0,
                next_attempt_at: at,
            });
            let (mut intent, _) = renewal::intent_for(&invoice, None, &sub, at);
            intent.description = Some("Subscription creation".to_owned());
            intent.payment_method.clone_from(&b.payment_method);
            happened = renewal::record_attempt(&mut sub, &mut invoice, &mut intent, true, result, at, &dunning);
            happened.retain(|h| *h != Happened::Updated);
            pi = Some(intent);
        } else {
            // `default_incomplete`, or nothing to charge with: the first invoice waits to be paid.
            sub.status = SubscriptionStatus::Incomplete;
            invoice.status = InvoiceStatus::Open;
            sub.collecting = Some(kassa_core::billing::Collecting {
                invoice: invoice.id.clone(),
                failed_attempts: 0,
                next_attempt_at: NO_ATTEMPT,
            });
            let (mut intent, _) = renewal::intent_for(&invoice, None, &sub, at);
            intent.description = Some("Subscription creation".to_owned());
            invoice.payment_intent = Some(intent.id.clone());
            happened.push(Happened::PaymentIntentCreated);
            pi = Some(intent);
        }
        sub.schedule();
        for item in &mut b.collected {
            item.invoice = Some(invoice.id.clone());
            tx.put(&account, item)?;
        }
        if let Some(c) = &b.coupon {
            tx.put(&account, c)?;
        }
        if let Some(c) = &b.code {
            tx.put(&account, c)?;
        }
        tx.put_new(&account, &sub)?;
        tx.put_new(&account, &invoice)?;
        if let Some(pi) = &pi {
            tx.put_new(&account, pi)?;
        }
        out.set_now(at);
        out.emit(tx, &account, EventType::CustomerSubscriptionCreated, views::subscription(&sub))?;
        emit_created(tx, out, &account, &invoice)?;
        let before = views::subscription(&sub);
        announce(tx, out, &account, &happened, &before, &sub, Some(&invoice), pi.as_ref())?;
        Ok(sub)
    })
    .await?;
    Ok(sub)
}

// ---------------------------------------------------------------------------------------------
// Resume

/// `POST /subscriptions/{id}/resume`: a `paused` subscription starts again. With
/// `billing_cycle_anchor=now` (the default) a new period starts now and is invoiced and charged at
/// once; with `unchanged` the current period goes on (a period already over starts anew now).
pub async fn resume(ctx: &Ctx, acct: &Acct, id: &str, p: SubscriptionResume) -> Result<Subscription> {
    let anchor_now = match p.billing_cycle_anchor.as_deref() {
        None | Some("now") => true,
        Some("unchanged") => false,
        Some(_) => {
            return Err(Invalid::param(
                "billing_cycle_anchor",
                "`billing_cycle_anchor` must be one of now or unchanged.",
            )
            .into());
        }
    };
    if let Some(b) = p.proration_behavior.as_deref()
        && kassa_core::proration::Behavior::parse(b).is_none()
    {
        return Err(Invalid::param(
            "proration_behavior",
            "`proration_behavior` must be one of create_prorations, none or always_invoice.",
        )
        .into());
    }
    let now = ctx.now();
    let sub = update(ctx, acct, id, move |sub: &mut Subscription, tx, out, account| {
        if sub.status != SubscriptionStatus::Paused {
            return Err(DomainError::State(format!(
                "Only a paused subscription can be resumed. This subscription is {}.",
                sub.status.as_str()
            ))
            .into());
        }
        let at = clock_time(tx, account, sub.test_clock.as_deref(), now)?;
        let before = views::subscription(sub);
        sub.status = SubscriptionStatus::Active;
        sub.trial_will_end_sent = true;
        let mut step = None;
        if anchor_now || sub.current_period_end <= at {
            sub.current_period_end = at;
            // The period ends now: nothing to announce ahead of it.
            sub.upcoming_sent_for = Some(at);
            sub.anchor_day = to_civil(at).day;
            sub.billing_cycle_anchor_at = Some(at);
            sub.schedule();
            let advanced = renewal::advance(sub, at)
                .map_err(|_| Abort::refuse(Invalid::general("The invoice's amounts are too large.")))?;
            step = Some(advanced);
        }
        sub.schedule();
        out.set_now(at);
        out.emit(tx, account, EventType::CustomerSubscriptionResumed, views::subscription(sub))?;
        out.emit_update(
            tx,
            account,
            EventType::CustomerSubscriptionUpdated,
            &before,
            views::subscription(sub),
        )?;
        if let Some(step) = step {
            if let Some(inv) = &step.invoice {
                tx.put_new(account, inv)?;
            }
            let happened: Vec<Happened> =
                step.happened.into_iter().filter(|h| *h != Happened::Updated).collect();
            announce(tx, out, account, &happened, &before, sub, step.invoice.as_ref(), None)?;
        }
        Ok(())
    })
    .await?;
    charge_if_due(ctx, acct, &sub, now).await
}

/// Charge the invoice `sub` is collecting now, if its attempt is due: what an API call that
/// invoices now runs before it answers. Returns the subscription as it is then.
pub async fn charge_if_due(
    ctx: &Ctx,
    acct: &Acct,
    sub: &Subscription,
    now: Timestamp,
) -> Result<Subscription> {
    let Some(c) = sub.collecting.as_ref().filter(|c| c.next_attempt_at != NO_ATTEMPT) else {
        return Ok(sub.clone());
    };
    bill_now(ctx, acct, sub, c.next_attempt_at, now).await?;
    get(ctx, acct, &sub.id).await
}

// ---------------------------------------------------------------------------------------------
// Subscription items

/// `GET /subscription_items?subscription=…`: its items, all on one page.
pub async fn list_items(ctx: &Ctx, acct: &Acct, p: &SubscriptionItemList) -> Result<Subscription> {
    let id = p
        .subscription
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Invalid::missing("subscription"))?;
    ctx.store
        .load::<Subscription>(&acct.id, id)
        .await?
        .ok_or_else(|| Invalid::no_such("subscription", id, "subscription").into())
}

/// The subscription an item belongs to; 404 when none has it.
pub async fn item_owner(ctx: &Ctx, acct: &Acct, item: &str) -> Result<Subscription> {
    let (account, wanted) = (acct.id.clone(), item.to_owned());
    let found = view(ctx.store.as_ref(), move |tx| {
        let rows = tx.select(Scope::Account(&account), Kind::Subscription, &[], u32::MAX)?;
        for raw in rows {
            let sub = Subscription::from_raw(&raw)?;
            if sub.items.iter().any(|i| i.id == wanted) {
                return Ok(Some(sub));
            }
        }
        Ok::<_, StoreError>(None)
    })
    .await?;
    found.ok_or_else(|| DomainError::NotFound { object: "subscription_item", id: item.to_owned() }.into())
}

/// `POST /subscription_items/{id}`: the same change as `POST /subscriptions/{id}` with
/// `items[0][id]` (prorated alike), and the item's metadata.
pub async fn update_item(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: SubscriptionItemUpdate,
) -> Result<Subscription> {
    let owner = item_owner(ctx, acct, id).await?;
    let change = SubscriptionUpdate {
        items: Some(vec![SubscriptionItemParam {
            id: Some(id.to_owned()),
            price: p.price,
            quantity: p.quantity,
            deleted: None,
            metadata: p.metadata,
        }]),
        proration_behavior: p.proration_behavior,
        proration_date: p.proration_date,
        ..Default::default()
    };
    super::billing::update_subscription(ctx, acct, &owner.id, change).await
}

// ---------------------------------------------------------------------------------------------
// Invoice items

/// A customer's pending invoice items that `subscription`'s next invoice collects (those of no
/// subscription, and that subscription's), oldest first; with `None`, those of no subscription.
pub fn pending_items(
    tx: &mut dyn Tx,
    account: &str,
    customer: &str,
    subscription: Option<&str>,
) -> Result<Vec<InvoiceItem>, StoreError> {
    let rows = tx.select(
        Scope::Account(account),
        Kind::InvoiceItem,
        &[Filter::Eq(Column::Customer, customer.into()), Filter::Eq(Column::Status, "pending".into())],
        1000,
    )?;
    let mut items = rows.iter().map(InvoiceItem::from_raw).collect::<Result<Vec<_>, _>>()?;
    items.retain(|i| i.subscription.is_none() || i.subscription.as_deref() == subscription);
    items.sort_by_key(|i| (i.created, i.id.clone()));
    Ok(items)
}

/// The lines of `sub`'s customer's pending invoice items (in its currency) that its next invoice
/// collects, for a preview or a renewal.
pub fn pending_lines(
    tx: &mut dyn Tx,
    account: &str,
    sub: &Subscription,
) -> Result<Vec<InvoiceLine>, StoreError> {
    Ok(pending_items(tx, account, &sub.customer, Some(&sub.id))?
        .iter()
        .filter(|i| i.currency == sub.currency)
        .map(InvoiceItem::line)
        .collect())
}

/// Mark the invoice items `invoice` collected (its lines that name one) as invoiced.
pub fn mark_collected(tx: &mut dyn Tx, account: &str, invoice: &Invoice) -> Result<(), StoreError> {
    for line in &invoice.lines {
        if let Some(id) = &line.invoice_item
            && let Some(mut item) = tx.load::<InvoiceItem>(account, id)?
            && item.invoice.is_none()
        {
            item.invoice = Some(invoice.id.clone());
            tx.put(account, &item)?;
        }
    }
    Ok(())
}

fn item_amounts(
    p: &InvoiceItemWrite,
    price: Option<&Price>,
    current: Option<&InvoiceItem>,
) -> Result<(i64, i64), Invalid> {
    let quantity = match p.quantity {
        Some(q) if !(1..=999_999).contains(&q.0) => {
            return Err(Invalid::param("quantity", "`quantity` must be between 1 and 999999."));
        }
        Some(q) => q.0,
        None => current.map_or(1, |c| c.quantity),
    };
    let limit = 99_999_999_999;
    let unit = match (p.amount, p.unit_amount, price) {
        (Some(_), Some(_), _) => return Err(Invalid::exclusive("amount", "unit_amount")),
        (Some(_), _, Some(_)) => return Err(Invalid::exclusive("amount", "price")),
        (_, Some(_), Some(_)) => return Err(Invalid::exclusive("unit_amount", "price")),
        (Some(a), None, None) => {
            if p.quantity.is_some_and(|q| q.0 != 1) {
                return Err(Invalid::param(
                    "quantity",
                    "With `amount`, leave `quantity` out (or 1): use `unit_amount` for a quantity.",
                ));
            }
            if a.0.abs() > limit {
                return Err(Invalid::param("amount", "`amount` must be at most 99999999999 either way."));
            }
            return Ok((a.0, 1));
        }
        (None, Some(u), None) => u.0,
        (None, None, Some(price)) => price.unit_amount,
        (None, None, None) => match current {
            Some(c) => c.unit_amount,
            None => return Err(Invalid::missing("amount")),
        },
    };
    if unit.abs() > limit {
        return Err(Invalid::param("unit_amount", "`unit_amount` must be at most 99999999999 either way."));
    }
    Ok((unit, quantity))
}

/// `POST /invoiceitems`.
pub async fn create_item(ctx: &Ctx, acct: &Acct, p: InvoiceItemWrite) -> Result<InvoiceItem> {
    let now = ctx.now();
    super::create(ctx, acct, move |tx, _, account| {
        let cid = p.customer.clone().filter(|c| !c.is_empty()).ok_or_else(|| Invalid::missing("customer"))?;
        let customer = tx
            .load::<Customer>(account, &cid)?
            .ok_or_else(|| Invalid::no_such("customer", &cid, "customer"))?;
        let at = clock_time(tx, account, customer.test_clock.as_deref(), now)?;
        let price = match p.price.as_deref() {
            Some(id) => {
                let price = tx
                    .load::<Price>(account, id)?
                    .filter(|p| p.active)
                    .ok_or_else(|| Invalid::no_such("price", id, "price"))?;
                if price.recurring.is_some() {
                    return Err(
                        Invalid::param("price", "An invoice item's price must be a one-time price.").into()
                    );
                }
                Some(price)
            }
            None => None,
        };
        let currency = match (&price, p.currency.as_deref()) {
            (Some(pr), None) => pr.currency,
            (Some(pr), Some(c)) if kassa_core::money::Currency::parse(c) == Some(pr.currency) => pr.currency,
            (Some(_), Some(_)) => {
                return Err(Invalid::param("currency", "`currency` must be the price's currency.").into());
            }
            (None, Some(c)) => kassa_core::money::Currency::parse(c)
                .ok_or_else(|| Invalid::param("currency", format!("Invalid currency: {c}.")))?,
            (None, None) => return Err(Invalid::missing("currency").into()),
        };
        let subscription = match p.subscription.as_deref() {
            Some(s) => {
                let sub = tx
                    .load::<Subscription>(account, s)?
                    .filter(|sub| sub.customer == customer.id)
                    .ok_or_else(|| Invalid::no_such("subscription", s, "subscription"))?;
                if sub.currency != currency {
                    return Err(Invalid::param(
                        "currency",
                        "`currency` must be the subscription's currency.",
                    )
                    .into());
                }
                Some(sub.id)
            }
            None => None,
        };
        let (unit_amount, quantity) = item_amounts(&p, price.as_ref(), None)?;
        let amount = unit_amount.checked_mul(quantity).ok_or_else(too_large)?;
        let description = kassa_core::catalog::text("description", p.description.clone(), 500)?;
        let price = price.unwrap_or_else(|| inline_price(currency, unit_amount, at));
        Ok(InvoiceItem {
            id: kassa_core::ids::new_sortable_id(kassa_core::ids::prefix::INVOICE_ITEM),
            created: at,
            customer: customer.id,
            currency,
            amount,
            unit_amount,
            quantity,
            price,
            description,
            subscription,
            invoice: None,
            metadata: kassa_core::metadata::create(p.metadata.clone(), "metadata")?,
            period_start: at,
            period_end: at,
            deleted: false,
        })
    })
    .await
}

/// The price an invoice item given by `amount` bills: not in the catalog, as Stripe's own.
fn inline_price(currency: kassa_core::money::Currency, unit_amount: i64, at: Timestamp) -> Price {
    Price {
        id: kassa_core::ids::new_sortable_id(kassa_core::ids::prefix::PRICE),
        created: at,
        product: String::new(),
        currency,
        unit_amount,
        recurring: None,
        active: false,
        nickname: None,
        lookup_key: None,
        metadata: Default::default(),
        tax_behavior: Default::default(),
        inline: true,
    }
}

fn not_pending(item: &InvoiceItem) -> DomainError {
    DomainError::State(format!(
        "The invoice item {} was already invoiced ({}); only a pending invoice item can be changed or deleted.",
        item.id,
        item.invoice.as_deref().unwrap_or_default()
    ))
}

/// `POST /invoiceitems/{id}`: a pending item's amount, quantity, description, metadata.
pub async fn update_item_of_invoice(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: InvoiceItemWrite,
) -> Result<InvoiceItem> {
    for (given, name) in [
        (p.customer.is_some(), "customer"),
        (p.currency.is_some(), "currency"),
        (p.subscription.is_some(), "subscription"),
    ] {
        if given {
            return Err(Invalid::param(
                name,
                format!("`{name}` cannot be changed: create a new invoice item."),
            )
            .into());
        }
    }
    update(ctx, acct, id, move |item: &mut InvoiceItem, tx, _, account| {
        if item.invoice.is_some() {
            return Err(not_pending(item).into());
        }
        let price = match p.price.as_deref() {
            Some(pid) => {
                let price = tx
                    .load::<Price>(account, pid)?
                    .filter(|pr| pr.active && pr.recurring.is_none() && pr.currency == item.currency)
                    .ok_or_else(|| Invalid::no_such("price", pid, "price"))?;
                Some(price)
            }
            None => None,
        };
        let keeps_price = price.is_none() && p.amount.is_none() && p.unit_amount.is_none();
        let current_price = keeps_price && item.price.active;
        let (unit, quantity) =
            item_amounts(&p, price.as_ref().or(current_price.then_some(&item.price)), Some(item))?;
        item.amount = unit.checked_mul(quantity).ok_or_else(too_large)?;
        item.unit_amount = unit;
        item.quantity = quantity;
        match price {
            Some(pr) => item.price = pr,
            None if !current_price => item.price = inline_price(item.currency, unit, item.created),
            None => {}
        }
        if p.description.is_some() {
            item.description = kassa_core::catalog::text("description", p.description.clone(), 500)?;
        }
        if p.metadata.is_some() {
            item.metadata = kassa_core::metadata::update(
                std::mem::take(&mut item.metadata),
                p.metadata.clone(),
                "metadata",
            )?;
        }
        Ok(())
    })
    .await
}

pub async fn get_item(ctx: &Ctx, acct: &Acct, id: &str) -> Result<InvoiceItem> {
    get(ctx, acct, id).await
}

pub async fn list_invoice_items(
    ctx: &Ctx,
    acct: &Acct,
    p: &InvoiceItemList,
) -> Result<(Vec<InvoiceItem>, bool)> {
    let mut filters = Vec::new();
    if let Some(c) = &p.customer {
        filters.push(Filter::Eq(Column::Customer, c.as_str().into()));
    }
    if let Some(pending) = p.pending {
        filters.push(Filter::Eq(Column::Status, Value::from(if pending.0 { "pending" } else { "invoiced" })));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

/// `DELETE /invoiceitems/{id}`: only while pending.
pub async fn delete_item(ctx: &Ctx, acct: &Acct, id: &str) -> Result<()> {
    let (account, owned) = (acct.id.clone(), id.to_owned());
    transact(ctx, ctx.now(), move |tx, _| {
        let item: InvoiceItem = tx.load(&account, &owned)?.ok_or_else(|| {
            Abort::Refused(DomainError::NotFound { object: "invoiceitem", id: owned.clone() })
        })?;
        if item.invoice.is_some() {
            return Err(Abort::Refused(not_pending(&item)));
        }
        tx.delete(&account, Kind::InvoiceItem, &owned)?;
        Ok(())
    })
    .await?;
    Ok(())
}
