//! Shipping rates.

use super::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{Retrieve, ShippingRateList};
use kassa_core::shipping::{ShippingRateCreate, ShippingRateUpdate};
use serde_json::Value;

use super::{expanded, list, paths, retrieve};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Created, Params, PathId};
use crate::service::expand::Ty;
use crate::service::shipping as svc;
use crate::state::AppState;
use crate::views;

type Res<T> = Result<T, ApiError>;

pub async fn create_rate(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<ShippingRateCreate>,
) -> Res<Created> {
    let x = paths(Ty::ShippingRate, &p.expand)?;
    let v = views::shipping_rate(&svc::create_rate(&ctx, &a, p).await?);
    Ok(Created(expanded(&ctx, &a, v, Ty::ShippingRate, &x).await?))
}

pub async fn get_rate(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::ShippingRate, svc::get_rate(&ctx, &a, &id), views::shipping_rate).await
}

pub async fn update_rate(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<ShippingRateUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::ShippingRate, &p.expand)?;
    let v = views::shipping_rate(&svc::update_rate(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::ShippingRate, &x).await?))
}

pub async fn list_rates(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<ShippingRateList>,
) -> Res<Json<Value>> {
    let page = svc::list_rates(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::ShippingRate, page, |x| views::shipping_rate(&x)).await
}
