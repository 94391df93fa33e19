//! Checkout sessions: create, retrieve, list, expire, list line items, and the sweep that writes
//! down expiries.
//!
//! Creation is the hot path and costs at most two reads and one write, none of them a transaction
//! closure: the references the request names (prices, customer, coupon, promotion code) in one
//! `get_many`, then the prices' products (and a promotion code's coupon) in a second, then the
//! rules, then one [`Store::insert`](kassa_core::store::Store::insert), which PostgreSQL writes
//! together with concurrent ones. A price never changes product, so once a node has read a price
//! it knows its product, and later sessions read both in the first `get_many`
//! ([`Ctx::price_products`](crate::state::Ctx)): one read instead of two, on PostgreSQL one round
//! trip less per session. Each read is one snapshot; a change landing between the two (a product
//! archived just after its price was read) may show in the second and not the first, which is no
//! staler than the moment between the reads and the insert always was.

use std::collections::HashMap;

use kassa_core::Invalid;
use kassa_core::catalog::{Coupon, Customer, Price, Product, PromotionCode};
use kassa_core::params::{LineItemList, SessionCreate, SessionList};
use kassa_core::session::{self, LineItem, Resolved, Session, Status};
use kassa_core::shipping::ShippingRate;
use kassa_core::store::{Cmp, Column, Filter, Kind, RawRecord, Record, Scope, TxExt, Value};
use kassa_core::tax::TaxRate;
use kassa_core::time::Timestamp;
use kassa_core::webhook::EventType;

use super::{Acct, Result, get, list};
use crate::state::Ctx;

pub async fn create(ctx: &Ctx, acct: &Acct, p: SessionCreate) -> Result<Session> {
    let refs = session::references(&p)?;
    let now = ctx.now();
    let store = ctx.store.as_ref();
    let account = acct.id.as_str();
    // Two reads by key, each one statement per kind without locks (so sessions for the same price
    // never wait on each other): what the request names, then what that names in turn.
    let mut first: Vec<(Kind, String)> = Vec::with_capacity(refs.prices.len() + 3);
    for id in &refs.prices {
        push_key(&mut first, Kind::Price, id);
        // Its product, when this node has read the price before.
        if let Some(product) = ctx.price_products.get(id.as_str()) {
            push_key(&mut first, Kind::Product, &product);
        }
    }
    for id in &refs.shipping_rates {
        push_key(&mut first, Kind::ShippingRate, id);
    }
    for id in &refs.products {
        push_key(&mut first, Kind::Product, id);
    }
    for id in &refs.tax_rates {
        push_key(&mut first, Kind::TaxRate, id);
    }
    for (kind, id) in [
        (Kind::Customer, &refs.customer),
        (Kind::Coupon, &refs.coupon),
        (Kind::PromotionCode, &refs.promotion_code),
    ] {
        if let Some(id) = id {
            push_key(&mut first, kind, id);
        }
    }
    let named = store.get_many(account, first).await?;
    let prices: Vec<Price> = decode_all(&named)?;
    let customer: Option<Customer> = decode_all(&named)?.pop();
    let coupon: Option<Coupon> = decode_all(&named)?.pop();
    let code: Option<PromotionCode> = decode_all(&named)?.pop();
    let rates: Vec<ShippingRate> = decode_all(&named)?;
    let tax_rates: Vec<TaxRate> = decode_all(&named)?;
    // Automatic tax: the account's active rates (kassa's test tax engine matches them).
    let account_tax_rates: Vec<TaxRate> =
        if refs.automatic_tax { active_tax_rates(ctx, acct).await? } else { Vec::new() };

    let mut second: Vec<(Kind, String)> = Vec::with_capacity(prices.len() + 1);
    for price in &prices {
        // Not read with the price: this node did not know the price's product yet (or the
        // product is gone), so it learns it, and reads the product now.
        if !named.iter().any(|r| r.kind == Kind::Product && r.id == price.product) {
            ctx.price_products.put(price.id.clone(), price.product.clone());
            push_key(&mut second, Kind::Product, &price.product);
        }
    }
    if let Some(c) = &code {
        push_key(&mut second, Kind::Coupon, &c.coupon);
    }
    let behind = if second.is_empty() { Vec::new() } else { store.get_many(account, second).await? };
    let mut products: Vec<Product> = decode_all(&behind)?;
    products.extend(decode_all::<Product>(&named)?);
    let promotion_coupon: Option<Coupon> = decode_all(&behind)?.pop();

    let resolved = Resolved {
        prices: prices.iter().map(|p| (p.id.as_str(), p)).collect::<HashMap<_, _>>(),
        products: products.iter().map(|p| (p.id.as_str(), p)).collect::<HashMap<_, _>>(),
        customer: customer.as_ref(),
        coupon: coupon.as_ref(),
        promotion_code: code.as_ref(),
        promotion_coupon: promotion_coupon.as_ref(),
        shipping_rates: rates.iter().map(|r| (r.id.as_str(), r)).collect::<HashMap<_, _>>(),
        tax_rates: tax_rates.iter().map(|r| (r.id.as_str(), r)).collect::<HashMap<_, _>>(),
        account_tax_rates: account_tax_rates.iter().collect(),
        tax_origin_country: &ctx.tax_origin_country,
    };
    let (session, inline) = Session::create_with_inline(p, &resolved, now)?;
    if inline.is_empty() && session.collection.created_rates.is_empty() {
        store.insert(session.to_raw(account)?).await?;
    } else {
        // `price_data` lines' products and prices, and the rates made from
        // `shipping_rate_data`, are written with the session or not at all: one grouped insert,
        // which PostgreSQL writes together with concurrent ones as a plain session's.
        let mut records = Vec::with_capacity(inline.products.len() + inline.prices.len() + 4);
        for product in &inline.products {
            records.push(product.to_raw(account)?);
        }
        for price in &inline.prices {
            records.push(price.to_raw(account)?);
        }
        for rate in session.collection.new_rates() {
            records.push(rate.to_raw(account)?);
        }
        records.push(session.to_raw(account)?);
        store.insert_all(records).await?;
    }
    crate::metrics::session_created();
    Ok(session)
}

/// The account's active tax rates, at most [`MAX_AUTOMATIC_RATES`] (oldest first).
async fn active_tax_rates(ctx: &Ctx, acct: &Acct) -> Result<Vec<TaxRate>> {
    let p = kassa_core::params::TaxRateList {
        active: Some(kassa_core::params::Bool(true)),
        limit: Some(kassa_core::params::Int(MAX_AUTOMATIC_RATES)),
        ..Default::default()
    };
    Ok(super::catalog::list_tax_rates(ctx, acct, &p).await?.0)
}

/// How many of the account's active rates automatic tax considers.
const MAX_AUTOMATIC_RATES: i64 = 100;

/// Add `(kind, id)` to `keys` unless it is there already.
fn push_key(keys: &mut Vec<(Kind, String)>, kind: Kind, id: &str) {
    if !keys.iter().any(|(k, i)| *k == kind && i == id) {
        keys.push((kind, id.to_owned()));
    }
}

/// The records of `R`'s kind among `raws`, decoded.
fn decode_all<R: Record>(raws: &[RawRecord]) -> Result<Vec<R>> {
    Ok(raws.iter().filter(|r| r.kind == R::KIND).map(R::from_raw).collect::<std::result::Result<_, _>>()?)
}

pub async fn retrieve(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Session> {
    get(ctx, acct, id).await
}

pub async fn list_sessions(ctx: &Ctx, acct: &Acct, p: &SessionList) -> Result<(Vec<Session>, bool)> {
    let now = ctx.now();
    let mut filters = Vec::new();
    for (column, value) in [
        (Column::Customer, &p.customer),
        (Column::PaymentIntent, &p.payment_intent),
        (Column::Subscription, &p.subscription),
    ] {
        if let Some(v) = value {
            filters.push(Filter::Eq(column, Value::from(v.as_str())));
        }
    }
    if let Some(status) = &p.status {
        let status = Status::parse(status)
            .ok_or_else(|| Invalid::param("status", "`status` must be one of open, complete or expired."))?;
        filters.push(status_filter(status, now));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

/// Sessions whose status *reads* as `status` at `now` (an open session past `expires_at` reads as
/// expired before the sweep writes it down).
fn status_filter(status: Status, now: Timestamp) -> Filter {
    let open = || Filter::Eq(Column::Status, Status::Open.as_str().into());
    match status {
        Status::Open => Filter::Any(vec![vec![open(), Filter::Cmp(Column::ExpiresAt, Cmp::Gt, now)]]),
        Status::Expired => Filter::Any(vec![
            vec![Filter::Eq(Column::Status, Status::Expired.as_str().into())],
            vec![open(), Filter::Cmp(Column::ExpiresAt, Cmp::Lte, now)],
        ]),
        Status::Complete => Filter::Eq(Column::Status, Status::Complete.as_str().into()),
    }
}

pub async fn expire(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Session> {
    let now = ctx.now();
    super::update(ctx, acct, id, move |s: &mut Session, tx, out, account| {
        s.expire(now)?;
        Ok(out.emit_session(tx, account, EventType::CheckoutSessionExpired, s)?)
    })
    .await
}

/// `POST /checkout/session/{id}`: the metadata of an open session. No event: Stripe sends none.
pub async fn update(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: kassa_core::params::SessionUpdate,
) -> Result<Session> {
    let now = ctx.now();
    super::update(ctx, acct, id, move |s: &mut Session, _, _, _| Ok(s.update(p, now)?)).await
}

/// A page of a session's line items (they live inside the session, in creation order), with the
/// session they belong to.
pub async fn line_items(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: &LineItemList,
) -> Result<(Session, Vec<LineItem>, bool)> {
    if p.created.is_some() {
        return Err(Invalid::new(
            kassa_core::ErrorCode::ParameterUnknown,
            "created",
            "Received unknown parameter: created",
        )
        .into());
    }
    let session: Session = get(ctx, acct, id).await?;
    let items: Vec<LineItem> = session.listed_line_items().cloned().collect();
    let (page, has_more) = super::page_of(&items, |li| li.id.as_str(), &p.page(), "line item")?;
    Ok((session, page, has_more))
}

/// Write down the expiry of sessions past `expires_at`, up to `batch` per transaction, until none
/// are left. Returns how many were expired. Safe to run in several processes at once: each
/// transaction re-reads the sessions it changes.
pub async fn sweep_expired(ctx: &Ctx, batch: u32) -> Result<u64> {
    let mut total = 0u64;
    loop {
        let now = ctx.now();
        let done = super::events::transact(ctx, now, move |tx, out| {
            let due = tx.find(
                Scope::All,
                Kind::CheckoutSession,
                &[
                    Filter::Eq(Column::Status, Status::Open.as_str().into()),
                    Filter::Cmp(Column::ExpiresAt, Cmp::Lte, now),
                ],
                batch,
            )?;
            let n = due.len();
            for raw in due {
                let mut s = Session::from_raw(&raw)?;
                if s.settle(now) {
                    tx.put(&raw.account, &s)?;
                    out.emit_session(tx, &raw.account, EventType::CheckoutSessionExpired, &s)?;
                }
            }
            Ok(n)
        })
        .await?;
        total += u64::try_from(done).unwrap_or(0);
        if done < usize::try_from(batch).unwrap_or(0) {
            return Ok(total);
        }
    }
}

/// `GET /pay/{id}/recover`: a new session with the contents of expired session `id`, if its
/// recovery URL works (`after_expiration[recovery]`, within 30 days of the expiry); its id.
pub async fn recover(ctx: &Ctx, id: &str) -> Result<Option<String>> {
    let Some((old, account)) = for_page(ctx, id).await? else { return Ok(None) };
    let Some(new) = old.recover(ctx.now()) else { return Ok(None) };
    ctx.store.insert(new.to_raw(&account)?).await?;
    crate::metrics::session_created();
    Ok(Some(new.id))
}

/// The session a hosted page shows, with its account: no key is needed, because the id (≥128
/// random bits) is the capability.
pub async fn for_page(ctx: &Ctx, id: &str) -> Result<Option<(Session, String)>> {
    match ctx.store.get_by_id(Kind::CheckoutSession, id).await? {
        None => Ok(None),
        Some(raw) => Ok(Some((Session::from_raw(&raw)?, raw.account))),
    }
}
