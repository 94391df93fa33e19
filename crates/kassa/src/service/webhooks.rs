//! Webhook endpoints (create, retrieve, update, list, delete) and the record of their deliveries.
//!
//! An endpoint's secret is generated on create and shown in that answer only. Its URL is checked
//! on create and update: no user name or password in it, and, unless private addresses are allowed
//! (`--webhook-allow-private`), not a literal address that is not public (a host name is checked
//! when a delivery resolves it). Deleting an endpoint deletes its deliveries with it. Disabling
//! one pauses its pending deliveries; no new events are queued for it while it is disabled.
//! Enabling it again, or giving it a new URL, makes its pending deliveries due at once.

use kassa_core::params::{
    WebhookDeliveryList, WebhookEndpointCreate, WebhookEndpointList, WebhookEndpointUpdate,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kassa_core::store::{Cmp, Column, Filter, Kind, Record, Scope, StoreError, Tx, TxExt, Value};
use kassa_core::time::Timestamp;
use kassa_core::webhook::{
    DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint, check_enabled_events,
    check_endpoint_url,
};
use kassa_core::{Error as DomainError, Invalid, metadata};

use super::{Acct, Result, create, get, list, update};
use crate::state::Ctx;

pub async fn create_endpoint(ctx: &Ctx, acct: &Acct, p: WebhookEndpointCreate) -> Result<WebhookEndpoint> {
    let url = p.url.ok_or_else(|| Invalid::missing("url"))?;
    check_endpoint_url(&url, ctx.webhooks.allow_private)?;
    let events = check_enabled_events(p.enabled_events.ok_or_else(|| Invalid::missing("enabled_events"))?)?;
    let mut endpoint = WebhookEndpoint::new(url, events, ctx.now());
    endpoint.description = p.description.filter(|d| !d.is_empty());
    endpoint.metadata = metadata::create(p.metadata, "metadata")?;
    endpoint.api_version = p.api_version.filter(|v| !v.is_empty());
    create(ctx, acct, move |_, _, _| Ok(endpoint)).await
}

pub async fn update_endpoint(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: WebhookEndpointUpdate,
) -> Result<WebhookEndpoint> {
    if let Some(url) = &p.url {
        check_endpoint_url(url, ctx.webhooks.allow_private)?;
    }
    let events = p.enabled_events.map(check_enabled_events).transpose()?;
    let now = ctx.now();
    let more = Arc::new(AtomicBool::new(false));
    let more_in = more.clone();
    let endpoint = update(ctx, acct, id, move |e: &mut WebhookEndpoint, tx, _, account| {
        let was_enabled = e.status == EndpointStatus::Enabled;
        let repaired =
            p.url.as_ref().is_some_and(|u| *u != e.url) || p.disabled.is_some_and(|d| !d.0 && !was_enabled);
        if let Some(url) = p.url {
            e.url = url;
        }
        if let Some(events) = events {
            e.enabled_events = events;
        }
        if let Some(d) = p.description {
            e.description = Some(d).filter(|d| !d.is_empty());
        }
        e.metadata = metadata::update(std::mem::take(&mut e.metadata), p.metadata, "metadata")?;
        if let Some(disabled) = p.disabled {
            e.status = if disabled.0 { EndpointStatus::Disabled } else { EndpointStatus::Enabled };
            // Whoever disables or enables it through the API decides from now on.
            e.disabled_reason = None;
        }
        if repaired && e.status == EndpointStatus::Enabled {
            more_in.store(retry_now(tx, account, &e.id, now)?, Ordering::Relaxed);
        }
        Ok(())
    })
    .await?;
    ctx.deliveries_due.notify_one();
    if more.load(Ordering::Relaxed) {
        let (store, clock) = (ctx.store.clone(), ctx.clock.clone());
        let (account, id) = (acct.id.clone(), endpoint.id.clone());
        tokio::spawn(async move {
            if let Err(e) = retry_the_rest(store, clock, account, id).await {
                tracing::error!(error = %e, "retrying a repaired endpoint's deliveries failed; they keep their backoff");
            }
        });
    }
    Ok(endpoint)
}

/// The most deliveries one transaction makes due again.
const RETRY_NOW_CHUNK: u32 = 1000;

/// A new URL, or an endpoint enabled again: its pending deliveries waiting for a retry are tried
/// at once, not after the rest of their backoff. This makes the oldest [`RETRY_NOW_CHUNK`] of them
/// due, inside the update (which holds the endpoint's row); whether there may be more.
fn retry_now(tx: &mut dyn Tx, account: &str, endpoint: &str, now: Timestamp) -> Result<bool, StoreError> {
    let waiting = tx.select(
        Scope::Account(account),
        Kind::WebhookDelivery,
        &[Filter::Eq(Column::Endpoint, endpoint.into()), Filter::Cmp(Column::DueAt, Cmp::Gt, now)],
        RETRY_NOW_CHUNK,
    )?;
    let mut requeued = 0;
    for raw in &waiting {
        let mut d = WebhookDelivery::from_raw(raw)?;
        if d.in_flight(now) {
            continue;
        }
        d.requeue(now);
        tx.put(account, &d)?;
        requeued += 1;
    }
    Ok(requeued > 0 && waiting.len() == usize::try_from(RETRY_NOW_CHUNK).unwrap_or(usize::MAX))
}

/// [`retry_now`] for the rest of a long backlog, a chunk per transaction (so that no one
/// transaction holds the writer for long), each under the endpoint's row as claims are, until
/// none is left waiting or the endpoint is disabled or gone. If the process stops first, the rest
/// keep their own schedules.
async fn retry_the_rest(
    store: Arc<dyn kassa_core::store::Store>,
    clock: Arc<dyn kassa_core::time::Clock>,
    account: String,
    endpoint: String,
) -> Result<(), StoreError> {
    loop {
        let now = clock.now();
        let (account, endpoint) = (account.clone(), endpoint.clone());
        let more = kassa_core::store::transact(store.as_ref(), move |tx| {
            match tx.load::<WebhookEndpoint>(&account, &endpoint)? {
                Some(e) if e.status == EndpointStatus::Enabled => retry_now(tx, &account, &endpoint, now),
                _ => Ok(false),
            }
        })
        .await?;
        if !more {
            return Ok(());
        }
    }
}

pub async fn get_endpoint(ctx: &Ctx, acct: &Acct, id: &str) -> Result<WebhookEndpoint> {
    get(ctx, acct, id).await
}

pub async fn list_endpoints(
    ctx: &Ctx,
    acct: &Acct,
    p: &WebhookEndpointList,
) -> Result<(Vec<WebhookEndpoint>, bool)> {
    list(ctx, acct, &p.page(), Vec::new(), p.created.as_ref()).await
}

/// Delete the endpoint and its deliveries, in one transaction.
pub async fn delete_endpoint(ctx: &Ctx, acct: &Acct, id: &str) -> Result<()> {
    let (account, owned) = (acct.id.clone(), id.to_owned());
    let deleted = kassa_core::store::transact(ctx.store.as_ref(), move |tx| {
        if !tx.delete(&account, Kind::WebhookEndpoint, &owned)? {
            return Ok(false);
        }
        tx.delete_where(Kind::WebhookDelivery, &[Filter::Eq(Column::Endpoint, Value::from(owned.as_str()))])?;
        Ok(true)
    })
    .await?;
    if deleted {
        Ok(())
    } else {
        Err(DomainError::NotFound { object: "webhook_endpoint", id: id.to_owned() }.into())
    }
}

pub async fn get_delivery(ctx: &Ctx, acct: &Acct, id: &str) -> Result<WebhookDelivery> {
    get(ctx, acct, id).await
}

pub async fn list_deliveries(
    ctx: &Ctx,
    acct: &Acct,
    p: &WebhookDeliveryList,
) -> Result<(Vec<WebhookDelivery>, bool)> {
    let mut filters = Vec::new();
    if let Some(e) = &p.webhook_endpoint {
        filters.push(Filter::Eq(Column::Endpoint, e.as_str().into()));
    }
    if let Some(e) = &p.event {
        filters.push(Filter::Eq(Column::Event, e.as_str().into()));
    }
    if let Some(s) = &p.status {
        let status = DeliveryStatus::parse(s).ok_or_else(|| {
            Invalid::param("status", "`status` must be one of pending, succeeded or failed.")
        })?;
        filters.push(Filter::Eq(Column::Status, status.as_str().into()));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}
