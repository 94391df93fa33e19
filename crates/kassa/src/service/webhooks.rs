//! Webhook endpoints (create, retrieve, update, list, delete) and the record of their deliveries.
//!
//! An endpoint's secret is generated on create and shown in that answer only. Deleting an endpoint
//! deletes its queue of deliveries with it. Disabling one pauses its queue; no new events are
//! queued for it while it is disabled.

use kassa_core::params::{
    WebhookDeliveryList, WebhookEndpointCreate, WebhookEndpointList, WebhookEndpointUpdate,
};
use kassa_core::store::{Column, Filter, Kind, Record, Scope, StoreError, Tx, TxExt, Value};
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
    check_endpoint_url(&url)?;
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
        check_endpoint_url(url)?;
    }
    let events = p.enabled_events.map(check_enabled_events).transpose()?;
    let now = ctx.now();
    update(ctx, acct, id, move |e: &mut WebhookEndpoint, tx, _, account| {
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
        }
        if repaired && e.lease.is_none() {
            retry_now(tx, account, e, now)?;
        }
        Ok(())
    })
    .await
}

/// A new URL, or an endpoint enabled again: the delivery waiting at the head of its queue for a
/// retry is tried at once, not after the rest of its backoff.
fn retry_now(
    tx: &mut dyn Tx,
    account: &str,
    e: &mut WebhookEndpoint,
    now: Timestamp,
) -> Result<(), StoreError> {
    e.locked_until = 0;
    let head = tx.select(Scope::Account(account), Kind::WebhookDelivery, &queue(&e.id), 1)?;
    if let Some(raw) = head.first() {
        let mut d = WebhookDelivery::from_raw(raw)?;
        d.requeue(now);
        tx.put(account, &d)?;
    }
    Ok(())
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

/// An endpoint's queue: its pending deliveries (oldest first, as `select` and `find` return them).
pub fn queue(endpoint: &str) -> [Filter; 2] {
    [
        Filter::Eq(Column::Endpoint, endpoint.into()),
        Filter::Eq(Column::Status, DeliveryStatus::Pending.as_str().into()),
    ]
}
