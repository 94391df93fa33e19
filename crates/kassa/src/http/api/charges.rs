//! Charges (read), refunds (create, retrieve, list, update) and `POST /invoices/{id}/finalize`
//! (issue 17).

use super::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{ChargeList, RefundCreate, RefundList, RefundUpdate, Retrieve};
use serde_json::Value;

use super::{expanded, list, paths, retrieve};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Created, Params, PathId};
use crate::service::charges as svc;
use crate::service::expand::Ty;
use crate::state::AppState;
use crate::views;

type Res<T> = Result<T, ApiError>;

pub async fn get_charge(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::Charge, svc::get_charge(&ctx, &a, &id), views::charge).await
}

pub async fn list_charges(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<ChargeList>,
) -> Res<Json<Value>> {
    list(&ctx, &a, &uri, &p.expand, &Ty::Charge, svc::list_charges(&ctx, &a, &p), |x| views::charge(&x)).await
}

pub async fn create_refund(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<RefundCreate>,
) -> Res<Created> {
    let x = paths(Ty::Refund, &p.expand)?;
    let v = views::refund(&svc::create_refund(&ctx, &a, p).await?);
    Ok(Created(expanded(&ctx, &a, v, Ty::Refund, &x).await?))
}

pub async fn get_refund(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::Refund, svc::get_refund(&ctx, &a, &id), views::refund).await
}

pub async fn update_refund(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<RefundUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Refund, &p.expand)?;
    let v = views::refund(&svc::update_refund(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::Refund, &x).await?))
}

pub async fn list_refunds(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<RefundList>,
) -> Res<Json<Value>> {
    list(&ctx, &a, &uri, &p.expand, &Ty::Refund, svc::list_refunds(&ctx, &a, &p), |x| views::refund(&x)).await
}

pub async fn finalize_invoice(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::Invoice, svc::finalize_invoice(&ctx, &a, &id), views::invoice).await
}
