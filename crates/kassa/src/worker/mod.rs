//! Background work inside `kassa serve`: the sweep that writes down expired sessions and purges
//! idempotency keys past their 24 hours and dashboard sign-ins past their expiry, the billing
//! scheduler ([`bill_once`]), and the webhook delivery worker ([`deliver`]). Each pass is a
//! function the tests can call directly ([`sweep_once`], [`bill_once`], [`deliver::deliver_once`])
//! instead of waiting for a timer.

pub mod deliver;

/// One pass of the billing scheduler: everything due on real time, then any test clock left
/// advancing by a process that died. Returns how many subscriptions were billed.
pub async fn bill_once(ctx: &AppState) -> crate::service::Result<usize> {
    use crate::service::billing;
    let billed = async {
        let n = billing::bill_due(ctx, &billing::Timeline::Real, ctx.now()).await?;
        billing::resume_clocks(ctx).await?;
        Ok(n)
    }
    .await;
    crate::metrics::billing_run(crate::metrics::BillingTrigger::Scheduler, billed.as_ref().ok().copied());
    billed
}

/// Run [`bill_once`] every `interval` until `stop` turns true.
pub async fn run_billing(ctx: AppState, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        match bill_once(&ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(subscriptions = n, "billed subscriptions"),
            Err(e) => tracing::error!(error = %e, "billing pass failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

use std::time::Duration;

use tokio::sync::watch;

use crate::service::{idempotency, sessions};
use crate::state::AppState;

/// Sessions expired per transaction.
const SWEEP_BATCH: u32 = 500;

/// One pass of every sweep; returns how many sessions were expired.
pub async fn sweep_once(ctx: &AppState) -> crate::service::Result<u64> {
    let expired = sessions::sweep_expired(ctx, SWEEP_BATCH).await?;
    idempotency::purge(ctx).await?;
    crate::http::dashboard::purge(ctx).await?;
    crate::service::portal::purge(ctx).await?;
    Ok(expired)
}

/// Run [`sweep_once`] every `interval` until `stop` turns true.
pub async fn run(ctx: AppState, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        match sweep_once(&ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired checkout sessions"),
            Err(e) => tracing::error!(error = %e, "sweep failed; will retry"),
        }
    }
}
