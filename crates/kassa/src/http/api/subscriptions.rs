//! Subscriptions made through the API, resumed, and their items; invoice items (issue 17).

use super::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{
    InvoiceItemList, InvoiceItemWrite, Retrieve, SubscriptionCreate, SubscriptionItemList,
    SubscriptionItemUpdate, SubscriptionResume,
};
use serde_json::Value;

use super::{expanded, list, list_response, paths, retrieve};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Created, Params, PathId};
use crate::service::expand::Ty;
use crate::service::subscriptions as svc;
use crate::state::AppState;
use crate::views;

type Res<T> = Result<T, ApiError>;

pub async fn create_subscription(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<SubscriptionCreate>,
) -> Res<Created> {
    let x = paths(Ty::Subscription, &p.expand)?;
    let v = views::subscription(&svc::create_subscription(&ctx, &a, p).await?);
    Ok(Created(expanded(&ctx, &a, v, Ty::Subscription, &x).await?))
}

pub async fn resume_subscription(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<SubscriptionResume>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Subscription, &p.expand)?;
    let v = views::subscription(&svc::resume(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::Subscription, &x).await?))
}

pub async fn list_subscription_items(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<SubscriptionItemList>,
) -> Res<Json<Value>> {
    let x = paths(Ty::List(&Ty::SubscriptionItem), &p.expand)?;
    let sub = svc::list_items(&ctx, &a, &p).await?;
    let data = sub.items.iter().map(|i| views::subscription_item(&sub, i)).collect();
    list_response(&ctx, &a, &uri, data, false, &Ty::SubscriptionItem, &x).await
}

pub async fn get_subscription_item(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    let x = paths(Ty::SubscriptionItem, &p.expand)?;
    let sub = svc::item_owner(&ctx, &a, &id).await?;
    item_answer(&ctx, &a, &sub, &id, &x).await
}

pub async fn update_subscription_item(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<SubscriptionItemUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::SubscriptionItem, &p.expand)?;
    let sub = svc::update_item(&ctx, &a, &id, p).await?;
    item_answer(&ctx, &a, &sub, &id, &x).await
}

async fn item_answer(
    ctx: &AppState,
    a: &crate::service::Acct,
    sub: &kassa_core::billing::Subscription,
    id: &str,
    x: &[Vec<String>],
) -> Res<Json<Value>> {
    let item = sub.items.iter().find(|i| i.id == id).ok_or_else(|| {
        crate::service::Error::from(kassa_core::Error::NotFound {
            object: "subscription_item",
            id: id.to_owned(),
        })
    })?;
    let v = views::subscription_item(sub, item);
    Ok(Json(expanded(ctx, a, v, Ty::SubscriptionItem, x).await?))
}

pub async fn create_invoice_item(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<InvoiceItemWrite>,
) -> Res<Created> {
    let x = paths(Ty::InvoiceItem, &p.expand)?;
    let v = views::invoice_item(&svc::create_item(&ctx, &a, p).await?);
    Ok(Created(expanded(&ctx, &a, v, Ty::InvoiceItem, &x).await?))
}

pub async fn get_invoice_item(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::InvoiceItem, svc::get_item(&ctx, &a, &id), views::invoice_item).await
}

pub async fn update_invoice_item(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<InvoiceItemWrite>,
) -> Res<Json<Value>> {
    let x = paths(Ty::InvoiceItem, &p.expand)?;
    let v = views::invoice_item(&svc::update_item_of_invoice(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::InvoiceItem, &x).await?))
}

pub async fn list_invoice_items(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<InvoiceItemList>,
) -> Res<Json<Value>> {
    let page = svc::list_invoice_items(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::InvoiceItem, page, |x| views::invoice_item(&x)).await
}

pub async fn delete_invoice_item(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(_): Params<Retrieve>,
) -> Res<Json<Value>> {
    svc::delete_item(&ctx, &a, &id).await?;
    Ok(Json(views::deleted("invoiceitem", &id)))
}
