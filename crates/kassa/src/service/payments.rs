//! Reading what a completed checkout creates: payment intents, payment methods,
//! subscriptions and invoices. Their creation belongs to completion and billing; here they are
//! retrieved and listed, newest first, with the filters Stripe's lists take; a payment intent
//! can also be canceled.

use kassa_core::Error as DomainError;
use kassa_core::Invalid;
use kassa_core::billing::{
    Invoice, InvoiceStatus, PaymentIntent, PaymentIntentStatus, PaymentMethod, SetupIntent, Subscription,
    SubscriptionStatus,
};
use kassa_core::params::{
    InvoiceList, PaymentIntentCancel, PaymentIntentCapture, PaymentIntentList, PaymentMethodList,
    SetupIntentList, SubscriptionList,
};
use kassa_core::session::{PaymentStatus, Session, Status};
use kassa_core::store::{Abort, Column, Filter, TxExt, Value};
use kassa_core::webhook::EventType;

use super::{Acct, Result, get, list};
use crate::state::Ctx;
use crate::views;

fn eq(column: Column, value: &Option<String>) -> Option<Filter> {
    value.as_deref().map(|v| Filter::Eq(column, Value::from(v)))
}

pub async fn get_payment_intent(ctx: &Ctx, acct: &Acct, id: &str) -> Result<PaymentIntent> {
    get(ctx, acct, id).await
}

/// `POST /payment_intents/{id}/cancel`. An intent of an open checkout session is the session's to
/// settle (expire the session instead). Canceling the intent of a completed session that waits for
/// a bank transfer gives up on that payment: `payment_intent.canceled`, then
/// `checkout.session.async_payment_failed` (the session stays `complete` and `unpaid`).
pub async fn cancel_payment_intent(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: PaymentIntentCancel,
) -> Result<PaymentIntent> {
    let now = ctx.now();
    super::update(ctx, acct, id, move |pi: &mut PaymentIntent, tx, out, account| {
        let session: Option<Session> = match &pi.checkout_session {
            Some(s) => tx.load(account, s)?,
            None => None,
        };
        if let Some(s) = &session
            && s.status_at(now) == Status::Open
        {
            return Err(Abort::Refused(DomainError::State(
                "This PaymentIntent belongs to an open Checkout Session: expire the session instead."
                    .to_owned(),
            )));
        }
        // A held authorization (manual capture) released is no failed bank transfer.
        let was_held = pi.status == PaymentIntentStatus::RequiresCapture;
        pi.cancel(p.cancellation_reason.as_deref(), now)?;
        out.emit(tx, account, EventType::PaymentIntentCanceled, views::PaymentIntentDoc(pi))?;
        if let Some(s) = session.filter(|s| {
            !was_held && s.status == Status::Complete && s.payment_status == PaymentStatus::Unpaid
        }) {
            out.emit_session(tx, account, EventType::CheckoutSessionAsyncPaymentFailed, &s)?;
        }
        Ok(())
    })
    .await
}

/// `POST /payment_intents/{id}/capture`: an intent authorized by a session with
/// `payment_intent_data[capture_method]=manual` takes `amount_to_capture` (default: all of it) and
/// succeeds, with `payment_intent.succeeded`. The session stays as it completed.
pub async fn capture_payment_intent(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: PaymentIntentCapture,
) -> Result<PaymentIntent> {
    super::update(ctx, acct, id, move |pi: &mut PaymentIntent, tx, out, account| {
        pi.capture(p.amount_to_capture.map(|a| a.0))?;
        super::charges::captured(tx, account, pi)?;
        Ok(out.emit(tx, account, EventType::PaymentIntentSucceeded, views::PaymentIntentDoc(pi))?)
    })
    .await
}

pub async fn list_payment_intents(
    ctx: &Ctx,
    acct: &Acct,
    p: &PaymentIntentList,
) -> Result<(Vec<PaymentIntent>, bool)> {
    let filters = eq(Column::Customer, &p.customer).into_iter().collect();
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

pub async fn get_setup_intent(ctx: &Ctx, acct: &Acct, id: &str) -> Result<SetupIntent> {
    get(ctx, acct, id).await
}

pub async fn list_setup_intents(
    ctx: &Ctx,
    acct: &Acct,
    p: &SetupIntentList,
) -> Result<(Vec<SetupIntent>, bool)> {
    let filters = eq(Column::Customer, &p.customer).into_iter().collect();
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

pub async fn get_payment_method(ctx: &Ctx, acct: &Acct, id: &str) -> Result<PaymentMethod> {
    get(ctx, acct, id).await
}

pub async fn list_payment_methods(
    ctx: &Ctx,
    acct: &Acct,
    p: &PaymentMethodList,
) -> Result<(Vec<PaymentMethod>, bool)> {
    let mut filters: Vec<Filter> = eq(Column::Customer, &p.customer).into_iter().collect();
    if let Some(t) = &p.r#type {
        if kassa_core::session::PaymentMethodType::parse(t).is_none() {
            return Err(
                Invalid::param("type", "`type` must be one of card, paypal or customer_balance.").into()
            );
        }
        filters.push(Filter::Eq(Column::Type, t.as_str().into()));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

pub async fn get_subscription(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Subscription> {
    get(ctx, acct, id).await
}

/// As Stripe's: without `status`, every subscription that is not canceled; `all` for every one;
/// `ended` for the canceled ones.
pub async fn list_subscriptions(
    ctx: &Ctx,
    acct: &Acct,
    p: &SubscriptionList,
) -> Result<(Vec<Subscription>, bool)> {
    let mut filters: Vec<Filter> = eq(Column::Customer, &p.customer).into_iter().collect();
    let status = |s: SubscriptionStatus| Filter::Eq(Column::Status, s.as_str().into());
    match p.status.as_deref() {
        Some("all") => {}
        Some("ended") => filters.push(status(SubscriptionStatus::Canceled)),
        Some(s) => {
            let s = SubscriptionStatus::parse(s).ok_or_else(|| {
                Invalid::param(
                    "status",
                    "`status` must be one of active, past_due, unpaid, canceled, incomplete, incomplete_expired, trialing, paused, all or ended.",
                )
            })?;
            filters.push(status(s));
        }
        None => filters.push(Filter::Any(
            SubscriptionStatus::ALL
                .iter()
                .filter(|s| **s != SubscriptionStatus::Canceled)
                .map(|s| vec![status(*s)])
                .collect(),
        )),
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

pub async fn get_invoice(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Invoice> {
    get(ctx, acct, id).await
}

pub async fn list_invoices(ctx: &Ctx, acct: &Acct, p: &InvoiceList) -> Result<(Vec<Invoice>, bool)> {
    let mut filters: Vec<Filter> =
        [eq(Column::Customer, &p.customer), eq(Column::Subscription, &p.subscription)]
            .into_iter()
            .flatten()
            .collect();
    if let Some(s) = &p.status {
        let s = InvoiceStatus::parse(s).ok_or_else(|| {
            Invalid::param("status", "`status` must be one of draft, open, paid, uncollectible or void.")
        })?;
        filters.push(Filter::Eq(Column::Status, s.as_str().into()));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}
