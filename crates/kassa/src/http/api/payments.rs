//! What a completed checkout creates: payment intents, payment methods, subscriptions and
//! invoices. Read-only here; completion and billing create them.

use super::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{
    InvoiceList, PaymentIntentCancel, PaymentIntentCapture, PaymentIntentList, PaymentMethodList, Retrieve,
    SetupIntentList, SubscriptionList,
};
use serde_json::Value;

use super::{expanded, list, paths, retrieve};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Params, PathId};
use crate::service::expand::Ty;
use crate::service::payments as svc;
use crate::state::AppState;
use crate::views;

type Res<T> = Result<T, ApiError>;

pub async fn get_payment_intent(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    let found = svc::get_payment_intent(&ctx, &a, &id);
    retrieve(&ctx, &a, &p, Ty::PaymentIntent, found, views::payment_intent).await
}

pub async fn cancel_payment_intent(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<PaymentIntentCancel>,
) -> Res<Json<Value>> {
    let x = paths(Ty::PaymentIntent, &p.expand)?;
    let v = views::payment_intent(&svc::cancel_payment_intent(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::PaymentIntent, &x).await?))
}

pub async fn capture_payment_intent(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<PaymentIntentCapture>,
) -> Res<Json<Value>> {
    let x = paths(Ty::PaymentIntent, &p.expand)?;
    let v = views::payment_intent(&svc::capture_payment_intent(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::PaymentIntent, &x).await?))
}

pub async fn list_payment_intents(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<PaymentIntentList>,
) -> Res<Json<Value>> {
    let page = svc::list_payment_intents(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::PaymentIntent, page, |x| views::payment_intent(&x)).await
}

pub async fn get_setup_intent(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::SetupIntent, svc::get_setup_intent(&ctx, &a, &id), views::setup_intent).await
}

pub async fn list_setup_intents(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<SetupIntentList>,
) -> Res<Json<Value>> {
    let page = svc::list_setup_intents(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::SetupIntent, page, |x| views::setup_intent(&x)).await
}

pub async fn get_payment_method(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    let found = svc::get_payment_method(&ctx, &a, &id);
    retrieve(&ctx, &a, &p, Ty::PaymentMethod, found, views::payment_method).await
}

pub async fn list_payment_methods(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<PaymentMethodList>,
) -> Res<Json<Value>> {
    let page = svc::list_payment_methods(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::PaymentMethod, page, |x| views::payment_method(&x)).await
}

pub async fn get_subscription(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::Subscription, svc::get_subscription(&ctx, &a, &id), views::subscription).await
}

pub async fn list_subscriptions(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<SubscriptionList>,
) -> Res<Json<Value>> {
    let page = svc::list_subscriptions(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::Subscription, page, |x| views::subscription(&x)).await
}

pub async fn get_invoice(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::Invoice, svc::get_invoice(&ctx, &a, &id), views::invoice).await
}

pub async fn list_invoices(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<InvoiceList>,
) -> Res<Json<Value>> {
    list(&ctx, &a, &uri, &p.expand, &Ty::Invoice, svc::list_invoices(&ctx, &a, &p), |x| views::invoice(&x))
        .await
}

/// `POST /test_helpers/customers/{id}/fund_cash_balance`: a simulated bank transfer into the
/// customer's cash balance, which then pays their checkouts waiting for funds. Answers with a
/// `customer_cash_balance_transaction` of type `funded` (`expand[]=customer` embeds the customer).
pub async fn fund_cash_balance(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<kassa_core::params::FundCashBalance>,
) -> Res<Json<Value>> {
    use kassa_core::Invalid;
    let x = paths(Ty::CashBalanceTransaction, &p.expand)?;
    let amount = p.amount.ok_or_else(|| Invalid::missing("amount"))?.0;
    let code = p.currency.ok_or_else(|| Invalid::missing("currency"))?;
    let currency = kassa_core::catalog::currency("currency", &code)?;
    let reference = kassa_core::catalog::text("reference", p.reference, 200)?;
    let (customer, ending) = crate::service::pay::fund_cash_balance(&ctx, &a, &id, amount, currency).await?;
    let v = serde_json::json!({
        "id": kassa_core::ids::new_id("ccsbtxn_"),
        "object": "customer_cash_balance_transaction",
        "created": ctx.now(),
        "currency": currency,
        "customer": customer.id,
        "customer_account": null,
        "ending_balance": ending,
        "funded": {"bank_transfer": {"reference": reference, "type": "us_bank_transfer"}},
        "livemode": false,
        "net_amount": amount,
        "type": "funded",
    });
    Ok(Json(expanded(&ctx, &a, v, Ty::CashBalanceTransaction, &x).await?))
}
