//! The event log, webhook endpoints, and the record of deliveries.

use super::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{
    EventList, EventResend, Retrieve, WebhookDeliveryList, WebhookEndpointCreate, WebhookEndpointList,
    WebhookEndpointUpdate,
};
use serde_json::Value;

use super::{list, paths, retrieve};
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
    retrieve(&ctx, &a, &p, Ty::Event, events::retrieve(&ctx, &a, &id), event).await
}

pub async fn list_events(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<EventList>,
) -> Res<Json<Value>> {
    list(&ctx, &a, &uri, &p.expand, &Ty::Event, events::list_events(&ctx, &a, &p), |e| {
        views::event_owned(e.event, e.pending_webhooks)
    })
    .await
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
    let found = webhooks::get_endpoint(&ctx, &a, &id);
    retrieve(&ctx, &a, &p, Ty::WebhookEndpoint, found, |e| views::webhook_endpoint(e, false)).await
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
    let page = webhooks::list_endpoints(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::WebhookEndpoint, page, |e| views::webhook_endpoint(&e, false)).await
}

pub async fn get_delivery(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    let found = webhooks::get_delivery(&ctx, &a, &id);
    retrieve(&ctx, &a, &p, Ty::WebhookDelivery, found, views::webhook_delivery).await
}

pub async fn list_deliveries(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<WebhookDeliveryList>,
) -> Res<Json<Value>> {
    let page = webhooks::list_deliveries(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::WebhookDelivery, page, |x| views::webhook_delivery(&x)).await
}
