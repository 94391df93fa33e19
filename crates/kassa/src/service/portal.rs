//! The customer portal (issue 17): configurations, sessions, and what the portal page reads and
//! does. The rules are [`kassa_core::portal`]'s.
//!
//! The portal changes nothing by itself: a cancellation, a resumption and a plan change are
//! [`super::billing::cancel`] and [`super::billing::update_subscription`], the billing email
//! [`super::catalog::update_customer`], the plan change's preview
//! [`super::billing::preview_invoice`] — the same calls, checks and events as the API's. The one
//! use case of its own is [`attach_card`] (Stripe's portal saves a card through a SetupIntent and
//! `POST /payment_methods/{id}/attach`, which kassa has no route for): the card becomes the
//! customer's `invoice_settings.default_payment_method` and every live subscription's
//! `default_payment_method`, with `payment_method.attached`, `customer.updated` and
//! `customer.subscription.updated`.

use kassa_core::billing::{Invoice, PaymentMethod, PaymentMethodKind, Subscription, SubscriptionStatus};
use kassa_core::catalog::{Customer, Price, Product};
use kassa_core::params::{PortalConfigurationList, PortalConfigurationParams, PortalSessionCreate};
use kassa_core::payment::CardDetails;
use kassa_core::portal::{self, Flow, PortalConfiguration, PortalSession};
use kassa_core::store::{
    Abort, Column, Cursor, Filter, Kind, ListQuery, Record, Scope, StoreError, StoreExt, Tx, TxExt, view,
};
use kassa_core::webhook::EventType;
use kassa_core::{Error as DomainError, Invalid};

use super::events::transact;
use super::{Acct, Result, get, list};
use crate::state::Ctx;
use crate::views;

/// The id of an account's default configuration: one per account by construction, so two
/// requests making it at once cannot make two.
fn default_id(account: &str) -> String {
    let h = kassa_core::account::KeyHash::of(&format!("billing_portal_default:{account}"));
    format!("{}{}", portal::CONFIGURATION_PREFIX, &h.as_str()[..24])
}

/// The default configuration of the account, made on first use.
pub async fn default_configuration(ctx: &Ctx, acct: &Acct) -> Result<PortalConfiguration> {
    let id = default_id(&acct.id);
    if let Some(c) = ctx.store.load::<PortalConfiguration>(&acct.id, &id).await? {
        return Ok(c);
    }
    let (account, now) = (acct.id.clone(), ctx.now());
    let made = kassa_core::store::transact(ctx.store.as_ref(), move |tx| {
        if let Some(c) = tx.load::<PortalConfiguration>(&account, &id)? {
            return Ok(c);
        }
        let mut c = PortalConfiguration::default_for(now);
        c.id = id;
        tx.put_new(&account, &c)?;
        Ok(c)
    })
    .await;
    match made {
        Ok(c) => Ok(c),
        // Another request made it first.
        Err(StoreError::Conflict(_)) => get(ctx, acct, &default_id(&acct.id)).await,
        Err(e) => Err(e.into()),
    }
}

/// The products and prices a configuration offers must exist in the account, each price belong
/// to its product and be recurring.
fn check_products(tx: &mut dyn Tx, account: &str, c: &PortalConfiguration) -> Result<(), Abort<DomainError>> {
    for (i, p) in c.features.subscription_update.products.iter().enumerate() {
        let param = |f: &str| format!("features[subscription_update][products][{i}][{f}]");
        if tx.load::<Product>(account, &p.product)?.is_none() {
            return Err(Invalid::no_such("product", &p.product, param("product")).into());
        }
        for (j, price) in p.prices.iter().enumerate() {
            let found = tx.load::<Price>(account, price)?;
            match found {
                Some(pr) if pr.product == p.product && pr.recurring.is_some() => {}
                Some(_) => {
                    return Err(Invalid::param(
                        format!("{}[{j}]", param("prices")),
                        format!("The price {price} must be a recurring price of the product {}.", p.product),
                    )
                    .into());
                }
                None => {
                    return Err(Invalid::no_such("price", price, format!("{}[{j}]", param("prices"))).into());
                }
            }
        }
    }
    Ok(())
}

pub async fn create_configuration(
    ctx: &Ctx,
    acct: &Acct,
    p: PortalConfigurationParams,
) -> Result<PortalConfiguration> {
    // The default exists before any other, as on Stripe, where the dashboard's comes first.
    default_configuration(ctx, acct).await?;
    let c = PortalConfiguration::create(p, ctx.now())?;
    super::create(ctx, acct, move |tx, _, account| {
        check_products(tx, account, &c)?;
        Ok(c)
    })
    .await
}

pub async fn get_configuration(ctx: &Ctx, acct: &Acct, id: &str) -> Result<PortalConfiguration> {
    if id == default_id(&acct.id) {
        return default_configuration(ctx, acct).await;
    }
    get(ctx, acct, id).await
}

pub async fn update_configuration(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: PortalConfigurationParams,
) -> Result<PortalConfiguration> {
    if id == default_id(&acct.id) {
        default_configuration(ctx, acct).await?;
    }
    let now = ctx.now();
    super::update(ctx, acct, id, move |c: &mut PortalConfiguration, tx, _, account| {
        c.update(p, now)?;
        check_products(tx, account, c)
    })
    .await
}

pub async fn list_configurations(
    ctx: &Ctx,
    acct: &Acct,
    p: &PortalConfigurationList,
) -> Result<(Vec<PortalConfiguration>, bool)> {
    default_configuration(ctx, acct).await?;
    let mut filters = Vec::new();
    if let Some(a) = p.active {
        filters.push(Filter::Eq(Column::Active, a.0.into()));
    }
    let (mut items, more) =
        list::<PortalConfiguration>(ctx, acct, &p.page(), filters, p.created.as_ref()).await?;
    if let Some(d) = p.is_default {
        items.retain(|c| c.is_default == d.0);
    }
    Ok((items, more))
}

/// The subscription `id` of `customer`, as a flow names it.
fn flow_subscription(
    tx: &mut dyn Tx,
    account: &str,
    customer: &str,
    id: &str,
    param: &str,
) -> Result<Subscription, Abort<DomainError>> {
    let sub = tx
        .load::<Subscription>(account, id)?
        .filter(|s| s.customer == customer)
        .ok_or_else(|| Invalid::no_such("subscription", id, param))?;
    if sub.status == SubscriptionStatus::Canceled {
        return Err(Invalid::param(param, format!("The subscription {id} is canceled.")).into());
    }
    Ok(sub)
}

/// Whether the configuration lets a flow of `kind` happen at all.
fn check_flow(
    tx: &mut dyn Tx,
    account: &str,
    customer: &str,
    config: &PortalConfiguration,
    flow: &Flow,
) -> Result<(), Abort<DomainError>> {
    let f = &config.features;
    let off = |feature: &str| {
        Abort::Refused(DomainError::from(Invalid::param(
            "flow_data[type]",
            format!("The `{feature}` feature is not enabled in the portal configuration {}.", config.id),
        )))
    };
    match flow.r#type.as_str() {
        "payment_method_update" if !f.payment_method_update => return Err(off("payment_method_update")),
        "subscription_cancel" => {
            if !f.subscription_cancel.enabled {
                return Err(off("subscription_cancel"));
            }
            let id = flow.subscription.as_deref().unwrap_or_default();
            let sub =
                flow_subscription(tx, account, customer, id, "flow_data[subscription_cancel][subscription]")?;
            if sub.cancel_at_period_end {
                return Err(Invalid::param(
                    "flow_data[subscription_cancel][subscription]",
                    format!("The subscription {id} is already set to cancel at the end of its period."),
                )
                .into());
            }
        }
        "subscription_update" | "subscription_update_confirm" => {
            if !f.subscription_update.enabled {
                return Err(off("subscription_update"));
            }
            let param = format!("flow_data[{}][subscription]", flow.r#type);
            let id = flow.subscription.as_deref().unwrap_or_default();
            let sub = flow_subscription(tx, account, customer, id, &param)?;
            for (i, item) in flow.items.iter().enumerate() {
                let at = |x: &str| format!("flow_data[subscription_update_confirm][items][{i}][{x}]");
                if !sub.items.iter().any(|it| it.id == item.id) {
                    return Err(Invalid::no_such("subscription_item", &item.id, at("id")).into());
                }
                if let Some(price) = &item.price
                    && !offered(config).any(|p| p == price)
                {
                    return Err(Invalid::param(
                        at("price"),
                        format!(
                            "The price {price} is not one of the portal configuration's products' prices."
                        ),
                    )
                    .into());
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Every price a configuration offers.
fn offered(c: &PortalConfiguration) -> impl Iterator<Item = &String> {
    c.features.subscription_update.products.iter().flat_map(|p| p.prices.iter())
}

/// `POST /billing_portal/sessions`: the session, with its URL (the only time the URL is shown).
pub async fn create_session(ctx: &Ctx, acct: &Acct, p: PortalSessionCreate) -> Result<PortalSession> {
    let customer =
        p.customer.clone().filter(|c| !c.is_empty()).ok_or_else(|| Invalid::missing("customer"))?;
    if p.on_behalf_of.as_deref().is_some_and(|o| !o.is_empty()) {
        return Err(Invalid::param(
            "on_behalf_of",
            "kassa has no connected accounts: leave `on_behalf_of` unset.",
        )
        .into());
    }
    if let Some(l) = p.locale.as_deref().filter(|l| !l.is_empty()) {
        portal::check_locale(l)?;
    }
    if let Some(u) = p.return_url.as_deref() {
        kassa_core::session::check_url("return_url", u)?;
    }
    let flow = p.flow_data.clone().map(Flow::parse).transpose()?;
    let config = match p.configuration.as_deref().filter(|c| !c.is_empty()) {
        None => default_configuration(ctx, acct).await?,
        Some(id) => {
            let c = match get_configuration(ctx, acct, id).await {
                Ok(c) => c,
                Err(super::Error::Domain(DomainError::NotFound { .. })) => {
                    return Err(Invalid::no_such("billing_portal.configuration", id, "configuration").into());
                }
                Err(e) => return Err(e),
            };
            if !c.active {
                return Err(Invalid::param(
                    "configuration",
                    format!("The portal configuration {id} is not active."),
                )
                .into());
            }
            c
        }
    };
    let return_url = p.return_url.clone().or_else(|| config.default_return_url.clone());
    let now = ctx.now();
    let (mut session, secret) =
        PortalSession::new(&p, customer.clone(), config.id.clone(), return_url, flow, now);
    let url = format!("{}/portal/{}/{secret}", ctx.public_url, session.id);
    let public_url = ctx.public_url.clone();
    let account = acct.id.clone();
    let made = transact(ctx, now, move |tx, out| {
        if tx.load::<Customer>(&account, &customer)?.is_none() {
            return Err(Abort::Refused(DomainError::from(Invalid::no_such(
                "customer", &customer, "customer",
            ))));
        }
        if let Some(flow) = &session.flow {
            check_flow(tx, &account, &customer, &config, flow)?;
        }
        tx.put_new(&account, &session)?;
        // The event carries the session as the API shows it, URL included, as Stripe's does.
        session.url = Some(url);
        out.emit(
            tx,
            &account,
            EventType::BillingPortalSessionCreated,
            views::portal_session(&session, &public_url),
        )?;
        Ok(session)
    })
    .await?;
    Ok(made)
}

// ---------------------------------------------------------------------------------------------
// The portal page

/// The live session `id` (any account's) whose secret is `secret`, with its account.
pub async fn session_for(ctx: &Ctx, id: &str, secret: &str) -> Result<Option<(Acct, PortalSession)>> {
    let Some(raw) = ctx.store.get_by_id(Kind::PortalSession, id).await? else { return Ok(None) };
    let s = PortalSession::from_raw(&raw)?;
    if !s.opens_with(secret) || !s.live_at(ctx.now()) {
        return Ok(None);
    }
    let name = ctx.account_name(&raw.account).await?;
    Ok(Some((Acct { id: raw.account, name }, s)))
}

/// Open the session (its URL was followed): from now on it lasts an hour.
pub async fn open(ctx: &Ctx, acct: &Acct, id: &str) -> Result<PortalSession> {
    let now = ctx.now();
    super::update(ctx, acct, id, move |s: &mut PortalSession, _, _, _| {
        s.open(now);
        Ok(())
    })
    .await
}

/// A subscription as the portal shows it.
pub struct SubView {
    pub sub: Subscription,
    /// The product's name of each item, in order.
    pub names: Vec<String>,
    /// The next invoice's amount, when there is one.
    pub next_amount: Option<i64>,
}

/// Everything the portal page shows.
pub struct PortalData {
    pub session: PortalSession,
    pub config: PortalConfiguration,
    pub merchant: String,
    pub customer: Customer,
    pub subscriptions: Vec<SubView>,
    pub invoices: Vec<Invoice>,
    pub payment_method: Option<CardDetails>,
    /// The prices the configuration offers, with their products' names.
    pub prices: Vec<(Price, String)>,
}

pub async fn data(ctx: &Ctx, acct: &Acct, session: PortalSession) -> Result<PortalData> {
    let config = get_configuration(ctx, acct, &session.configuration).await?;
    let customer: Customer = get(ctx, acct, &session.customer).await?;
    let (account, cus, cfg) = (acct.id.clone(), customer.clone(), config.clone());
    let (subscriptions, payment_method, prices) = view(ctx.store.as_ref(), move |tx| {
        let rows = tx.select(
            Scope::Account(&account),
            Kind::Subscription,
            &[Filter::Eq(Column::Customer, cus.id.as_str().into())],
            100,
        )?;
        let mut subs = Vec::with_capacity(rows.len());
        for raw in rows.iter().rev() {
            let sub = Subscription::from_raw(raw)?;
            let mut names = Vec::with_capacity(sub.items.len());
            for item in &sub.items {
                let name = tx.load::<Product>(&account, &item.price.product)?.map(|p| p.name);
                names.push(
                    name.or_else(|| item.price.nickname.clone()).unwrap_or_else(|| item.price.id.clone()),
                );
            }
            let live = sub.status != SubscriptionStatus::Canceled && !sub.cancel_at_period_end;
            let next_amount =
                if live { kassa_core::renewal::upcoming(&sub).ok().map(|inv| inv.amount_due) } else { None };
            subs.push(SubView { sub, names, next_amount });
        }
        let pm_id = cus.default_payment_method.clone().or_else(|| {
            subs.iter()
                .find(|s| s.sub.status != SubscriptionStatus::Canceled)
                .and_then(|s| s.sub.default_payment_method.clone())
        });
        let pm = match pm_id {
            Some(id) => tx.load::<PaymentMethod>(&account, &id)?.and_then(|m| match m.kind {
                PaymentMethodKind::Card(c) => Some(c),
                _ => None,
            }),
            None => None,
        };
        let mut prices = Vec::new();
        if cfg.features.subscription_update.enabled {
            for p in &cfg.features.subscription_update.products {
                let Some(product) = tx.load::<Product>(&account, &p.product)? else { continue };
                for id in &p.prices {
                    if let Some(price) = tx.load::<Price>(&account, id)?.filter(|p| p.active) {
                        prices.push((price, product.name.clone()));
                    }
                }
            }
        }
        Ok((subs, pm, prices))
    })
    .await?;
    let invoices = if config.features.invoice_history {
        let query = ListQuery {
            filters: vec![Filter::Eq(Column::Customer, customer.id.as_str().into())],
            limit: 24,
            cursor: Cursor::First,
        };
        let page = ctx.store.list(&acct.id, Kind::Invoice, query).await?;
        page.data.iter().map(Invoice::from_raw).collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    Ok(PortalData {
        session,
        config,
        merchant: acct.name.clone(),
        customer,
        subscriptions,
        invoices,
        payment_method,
        prices,
    })
}

/// Save a card the portal's form checked and the processor accepted as the customer's: a new
/// payment method attached to the customer, their invoices' default, and the default of each of
/// their subscriptions that is not canceled.
pub async fn attach_card(
    ctx: &Ctx,
    acct: &Acct,
    customer: &str,
    card: CardDetails,
    saved_behaviour: serde_json::Value,
) -> Result<PaymentMethod> {
    let now = ctx.now();
    let (account, customer) = (acct.id.clone(), customer.to_owned());
    let pm = transact(ctx, now, move |tx, out| {
        let mut cus = tx.load::<Customer>(&account, &customer)?.ok_or_else(|| {
            Abort::Refused(DomainError::NotFound { object: "customer", id: customer.clone() })
        })?;
        let billing =
            kassa_core::billing::BillingDetails { email: cus.email.clone(), name: cus.name.clone() };
        let mut pm = PaymentMethod::new(PaymentMethodKind::Card(card), billing, now);
        pm.customer = Some(cus.id.clone());
        pm.saved_behaviour = Some(saved_behaviour);
        tx.put_new(&account, &pm)?;
        out.emit(tx, &account, EventType::PaymentMethodAttached, views::payment_method(&pm))?;
        let before = views::customer(&cus);
        cus.default_payment_method = Some(pm.id.clone());
        tx.put(&account, &cus)?;
        out.emit_update(tx, &account, EventType::CustomerUpdated, &before, views::customer(&cus))?;
        let rows = tx.select(
            Scope::Account(&account),
            Kind::Subscription,
            &[Filter::Eq(Column::Customer, cus.id.as_str().into())],
            100,
        )?;
        for raw in rows {
            let mut sub = Subscription::from_raw(&raw)?;
            if sub.status == SubscriptionStatus::Canceled {
                continue;
            }
            let before = views::subscription(&sub);
            sub.default_payment_method = Some(pm.id.clone());
            tx.put(&account, &sub)?;
            out.emit_update(
                tx,
                &account,
                EventType::CustomerSubscriptionUpdated,
                &before,
                views::subscription(&sub),
            )?;
        }
        Ok::<_, Abort<DomainError>>(pm)
    })
    .await?;
    Ok(pm)
}

/// Delete the portal sessions that no longer open (the background sweep).
pub async fn purge(ctx: &Ctx) -> Result<u64> {
    let now = ctx.now();
    let n = kassa_core::store::transact(ctx.store.as_ref(), move |tx| {
        tx.delete_where(
            Kind::PortalSession,
            &[Filter::Cmp(Column::ExpiresAt, kassa_core::store::Cmp::Lte, now)],
        )
    })
    .await?;
    Ok(n)
}
