//! Subscriptions changed over time (cancel now, at a time or at period end; items changed with
//! proration), the next invoice previewed, invoices voided or given up on, and test clocks.

use super::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{
    InvoicePreview, Retrieve, SubscriptionCancel, SubscriptionUpdate, TestClockAdvance, TestClockCreate,
    TestClockList,
};
use serde_json::Value;

use super::{expanded, list, paths, retrieve};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Created, Params, PathId};
use crate::service::billing as svc;
use crate::service::expand::Ty;
use crate::state::AppState;
use crate::views;

type Res<T> = Result<T, ApiError>;

pub async fn cancel_subscription(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<SubscriptionCancel>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Subscription, &p.expand)?;
    let v = views::subscription(&svc::cancel(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::Subscription, &x).await?))
}

pub async fn update_subscription(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<SubscriptionUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Subscription, &p.expand)?;
    let v = views::subscription(&svc::update_subscription(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::Subscription, &x).await?))
}

pub async fn void_invoice(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    invoice_action(ctx, a, id, p, Some(svc::InvoiceAction::Void)).await
}

pub async fn pay_invoice(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    invoice_action(ctx, a, id, p, None).await
}

pub async fn mark_invoice_uncollectible(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    invoice_action(ctx, a, id, p, Some(svc::InvoiceAction::MarkUncollectible)).await
}

/// `POST /invoices/{id}/void`, `/mark_uncollectible` (`Some`) or `/pay` (`None`).
async fn invoice_action(
    ctx: AppState,
    a: crate::service::Acct,
    id: String,
    p: Retrieve,
    action: Option<svc::InvoiceAction>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Invoice, &p.expand)?;
    let invoice = match action {
        Some(action) => svc::invoice_action(&ctx, &a, &id, action).await?,
        None => svc::pay_invoice(&ctx, &a, &id).await?,
    };
    let v = views::invoice(&invoice);
    Ok(Json(expanded(&ctx, &a, v, Ty::Invoice, &x).await?))
}

/// `GET /invoices/upcoming` and `POST /invoices/create_preview`: the next invoice, not saved.
pub async fn preview_invoice(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<InvoicePreview>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Invoice, &p.expand)?;
    let v = views::preview_invoice(&svc::preview_invoice(&ctx, &a, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::Invoice, &x).await?))
}

pub async fn create_clock(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<TestClockCreate>,
) -> Res<Created> {
    paths(Ty::TestClock, &p.expand)?;
    Ok(Created(views::test_clock(&svc::create_clock(&ctx, &a, p).await?)))
}

pub async fn get_clock(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::TestClock, svc::get_clock(&ctx, &a, &id), views::test_clock).await
}

pub async fn list_clocks(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<TestClockList>,
) -> Res<Json<Value>> {
    list(&ctx, &a, &uri, &p.expand, &Ty::TestClock, svc::list_clocks(&ctx, &a, &p), |x| views::test_clock(&x))
        .await
}

pub async fn delete_clock(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(_): Params<Retrieve>,
) -> Res<Json<Value>> {
    svc::delete_clock(&ctx, &a, &id).await?;
    Ok(Json(views::deleted("test_helpers.test_clock", &id)))
}

pub async fn advance_clock(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<TestClockAdvance>,
) -> Res<Json<Value>> {
    paths(Ty::TestClock, &p.expand)?;
    Ok(Json(views::test_clock(&svc::start_advance(&ctx, &a, &id, p).await?)))
}
