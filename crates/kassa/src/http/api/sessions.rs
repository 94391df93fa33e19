//! Checkout sessions.

use super::{Doc, Json};
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kassa_core::params::{LineItemList, Retrieve, SessionCreate, SessionList};
use kassa_core::session::Session;
use serde_json::Value;

use super::{expanded, list_response, paths};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Params, PathId};
use crate::service::expand::{ItemFields, Ty, item_fields, wants_line_items};
use crate::service::sessions as svc;
use crate::service::{Acct, catalog};
use crate::state::{AppState, Ctx};
use crate::views::{self, ItemIncludes, View};

type Res<T> = Result<T, ApiError>;

/// The session's discount object for its line items' `discounts[]`, when they are asked for.
async fn item_discount(ctx: &Ctx, a: &Acct, s: &Session, f: ItemFields) -> Option<Value> {
    let d = s.discount.as_ref().filter(|_| f.discounts)?;
    let coupon = catalog::get_coupon(ctx, a, &d.coupon).await.ok();
    views::session_discount(s, coupon.as_ref(), ctx.now())
}

async fn render(ctx: &Ctx, a: &Acct, s: &Session, x: &[Vec<String>], on_list: bool) -> Value {
    let view = View { now: ctx.now(), public_url: &ctx.public_url };
    if !wants_line_items(x, on_list) {
        return views::session(s, &view, false);
    }
    let f = item_fields(x, if on_list { Ty::List(&Ty::Session) } else { Ty::Session });
    let discount = item_discount(ctx, a, s, f).await;
    let inc = ItemIncludes { taxes: f.taxes, discounts: f.discounts, discount: discount.as_ref() };
    views::session_including(s, &view, Some(&inc))
}

pub async fn create(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<SessionCreate>,
) -> Res<Response> {
    let x = paths(Ty::Session, &p.expand)?;
    // On the heap: creating a session is a large future (~7 KB), and axum's layers box and move
    // the handler's future on its way in, copying whatever it holds inline each time.
    let s = Box::pin(svc::create(&ctx, &a, p)).await?;
    answer(&ctx, &a, &s, &x, StatusCode::CREATED).await
}

pub async fn retrieve(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Response> {
    let x = paths(Ty::Session, &p.expand)?;
    let s = svc::retrieve(&ctx, &a, &id).await?;
    answer(&ctx, &a, &s, &x, StatusCode::OK).await
}

/// One session as an answer: serialized straight into the body when nothing is expanded (the
/// common case, and the whole of a created session's rendering), else through a `Value` that
/// `expand` fills in.
async fn answer(ctx: &Ctx, a: &Acct, s: &Session, x: &[Vec<String>], status: StatusCode) -> Res<Response> {
    if x.is_empty() {
        let view = View { now: ctx.now(), public_url: &ctx.public_url };
        return Ok(Doc(status, views::SessionDoc { s, v: &view, line_items: None }).into_response());
    }
    let value = expanded(ctx, a, render(ctx, a, s, x, false).await, Ty::Session, x).await?;
    Ok((status, Json(value)).into_response())
}

pub async fn list(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<SessionList>,
) -> Res<Json<Value>> {
    let x = paths(Ty::List(&Ty::Session), &p.expand)?;
    let (items, more) = svc::list_sessions(&ctx, &a, &p).await?;
    let mut data = Vec::with_capacity(items.len());
    for s in &items {
        data.push(render(&ctx, &a, s, &x, true).await);
    }
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
    Ok(Json(expanded(&ctx, &a, render(&ctx, &a, &s, &x, false).await, Ty::Session, &x).await?))
}

pub async fn update(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<kassa_core::params::SessionUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Session, &p.expand)?;
    let s = svc::update(&ctx, &a, &id, p).await?;
    Ok(Json(expanded(&ctx, &a, render(&ctx, &a, &s, &x, false).await, Ty::Session, &x).await?))
}

pub async fn line_items(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    uri: OriginalUri,
    Params(p): Params<LineItemList>,
) -> Res<Json<Value>> {
    let x = paths(Ty::List(&Ty::Item), &p.expand)?;
    let (session, items, more) = svc::line_items(&ctx, &a, &id, &p).await?;
    let f = item_fields(&x, Ty::List(&Ty::Item));
    let discount = item_discount(&ctx, &a, &session, f).await;
    let inc = ItemIncludes { taxes: f.taxes, discounts: f.discounts, discount: discount.as_ref() };
    let data = items.iter().map(|li| views::line_item(li, &inc)).collect();
    list_response(&ctx, &a, &uri, data, more, &Ty::Item, &x).await
}
