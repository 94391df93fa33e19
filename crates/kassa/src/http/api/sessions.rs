//! Checkout sessions.

use axum::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{LineItemList, Retrieve, SessionCreate, SessionList};
use kassa_core::session::Session;
use serde_json::Value;

use super::{expanded, list_response, paths};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Created, Params, PathId};
use crate::service::expand::{Ty, wants_line_items};
use crate::service::sessions as svc;
use crate::state::{AppState, Ctx};
use crate::views::{self, View};

type Res<T> = Result<T, ApiError>;

fn render(ctx: &Ctx, s: &Session, x: &[Vec<String>], on_list: bool) -> Value {
    views::session(s, &View { now: ctx.now(), public_url: &ctx.public_url }, wants_line_items(x, on_list))
}

pub async fn create(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<SessionCreate>,
) -> Res<Created> {
    let x = paths(Ty::Session, &p.expand)?;
    let s = svc::create(&ctx, &a, p).await?;
    Ok(Created(expanded(&ctx, &a, render(&ctx, &s, &x, false), Ty::Session, &x).await?))
}

pub async fn retrieve(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Session, &p.expand)?;
    let s = svc::retrieve(&ctx, &a, &id).await?;
    Ok(Json(expanded(&ctx, &a, render(&ctx, &s, &x, false), Ty::Session, &x).await?))
}

pub async fn list(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<SessionList>,
) -> Res<Json<Value>> {
    let x = paths(Ty::List(&Ty::Session), &p.expand)?;
    let (items, more) = svc::list_sessions(&ctx, &a, &p).await?;
    let data = items.iter().map(|s| render(&ctx, s, &x, true)).collect();
    list_response(&ctx, &a, &uri, data, more, &Ty::Session, &x).await
}

pub async fn expire(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Session, &p.expand)?;
    let s = svc::expire(&ctx, &a, &id).await?;
    Ok(Json(expanded(&ctx, &a, render(&ctx, &s, &x, false), Ty::Session, &x).await?))
}

pub async fn update(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<kassa_core::params::SessionUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Session, &p.expand)?;
    let s = svc::update(&ctx, &a, &id, p).await?;
    Ok(Json(expanded(&ctx, &a, render(&ctx, &s, &x, false), Ty::Session, &x).await?))
}

pub async fn line_items(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    uri: OriginalUri,
    Params(p): Params<LineItemList>,
) -> Res<Json<Value>> {
    let x = paths(Ty::List(&Ty::Item), &p.expand)?;
    let (items, more) = svc::line_items(&ctx, &a, &id, &p).await?;
    list_response(&ctx, &a, &uri, items.iter().map(views::line_item).collect(), more, &Ty::Item, &x).await
}
