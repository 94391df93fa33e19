//! The event log, webhook endpoints, and the record of deliveries.

use axum::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{
    EventList, EventResend, Retrieve, WebhookDeliveryList, WebhookEndpointCreate, WebhookEndpointList,
    WebhookEndpointUpdate,
};
use serde_json::Value;

use super::{list_response, paths};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Created, Params, PathId};
use crate::service::expand::Ty;
use crate::service::{events, webhooks};
use crate::state::AppState;
use crate::views;

type Res<T> = Result<T, ApiError>;

fn event(e: &events::Listed) -> Value {
    views::event(&e.event, e.pending_webhooks)
}

pub async fn get_event(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    paths(Ty::Event, &p.expand)?;
    Ok(Json(event(&events::retrieve(&ctx, &a, &id).await?)))
}

pub async fn list_events(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<EventList>,
) -> Res<Json<Value>> {
    let x = paths(Ty::List(&Ty::Event), &p.expand)?;
    let (items, more) = events::list_events(&ctx, &a, &p).await?;
    list_response(&ctx, &a, &uri, items.iter().map(event).collect(), more, &Ty::Event, &x).await
}

pub async fn resend_event(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<EventResend>,
) -> Res<Json<Value>> {
    paths(Ty::Event, &p.expand)?;
    let resent = events::resend(&ctx, &a, &id, p).await?;
    Ok(Json(views::resent(&resent.event.event, resent.event.pending_webhooks, &resent.deliveries)))
}

pub async fn create_endpoint(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<WebhookEndpointCreate>,
) -> Res<Created> {
    paths(Ty::WebhookEndpoint, &p.expand)?;
    Ok(Created(views::webhook_endpoint(&webhooks::create_endpoint(&ctx, &a, p).await?, true)))
}

pub async fn get_endpoint(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    paths(Ty::WebhookEndpoint, &p.expand)?;
    Ok(Json(views::webhook_endpoint(&webhooks::get_endpoint(&ctx, &a, &id).await?, false)))
}

pub async fn update_endpoint(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<WebhookEndpointUpdate>,
) -> Res<Json<Value>> {
    paths(Ty::WebhookEndpoint, &p.expand)?;
    Ok(Json(views::webhook_endpoint(&webhooks::update_endpoint(&ctx, &a, &id, p).await?, false)))
}

pub async fn delete_endpoint(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(_): Params<Retrieve>,
) -> Res<Json<Value>> {
    webhooks::delete_endpoint(&ctx, &a, &id).await?;
    Ok(Json(views::deleted("webhook_endpoint", &id)))
}

pub async fn list_endpoints(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<WebhookEndpointList>,
) -> Res<Json<Value>> {
    let x = paths(Ty::List(&Ty::WebhookEndpoint), &p.expand)?;
    let (items, more) = webhooks::list_endpoints(&ctx, &a, &p).await?;
    let data = items.iter().map(|e| views::webhook_endpoint(e, false)).collect();
    list_response(&ctx, &a, &uri, data, more, &Ty::WebhookEndpoint, &x).await
}

pub async fn get_delivery(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    paths(Ty::WebhookDelivery, &p.expand)?;
    Ok(Json(views::webhook_delivery(&webhooks::get_delivery(&ctx, &a, &id).await?)))
}

pub async fn list_deliveries(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<WebhookDeliveryList>,
) -> Res<Json<Value>> {
    let x = paths(Ty::List(&Ty::WebhookDelivery), &p.expand)?;
    let (items, more) = webhooks::list_deliveries(&ctx, &a, &p).await?;
    let data = items.iter().map(views::webhook_delivery).collect();
    list_response(&ctx, &a, &uri, data, more, &Ty::WebhookDelivery, &x).await
}
