//! The customer portal's API (issue 17): `/billing_portal/configurations` and
//! `POST /billing_portal/sessions`. The portal page itself is `http::portal`.

use super::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{PortalConfigurationList, PortalConfigurationParams, PortalSessionCreate, Retrieve};
use serde_json::Value;

use super::{list, paths, retrieve};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Created, Params, PathId};
use crate::service::expand::Ty;
use crate::service::portal as svc;
use crate::state::AppState;
use crate::views;

type Res<T> = Result<T, ApiError>;

/// Neither object has anything `expand[]` can expand: any path is refused as for a test clock.
const NOTHING: Ty = Ty::TestClock;

pub async fn create_configuration(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<PortalConfigurationParams>,
) -> Res<Created> {
    paths(NOTHING, &p.expand)?;
    Ok(Created(views::portal_configuration(&svc::create_configuration(&ctx, &a, p).await?)))
}

pub async fn get_configuration(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, NOTHING, svc::get_configuration(&ctx, &a, &id), views::portal_configuration).await
}

pub async fn update_configuration(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<PortalConfigurationParams>,
) -> Res<Json<Value>> {
    paths(NOTHING, &p.expand)?;
    Ok(Json(views::portal_configuration(&svc::update_configuration(&ctx, &a, &id, p).await?)))
}

pub async fn list_configurations(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<PortalConfigurationList>,
) -> Res<Json<Value>> {
    let page = svc::list_configurations(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &NOTHING, page, |x| views::portal_configuration(&x)).await
}

pub async fn create_session(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<PortalSessionCreate>,
) -> Res<Created> {
    paths(NOTHING, &p.expand)?;
    let s = svc::create_session(&ctx, &a, p).await?;
    Ok(Created(views::portal_session(&s, &ctx.public_url)))
}
