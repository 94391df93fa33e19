//! The webhook delivery worker: it keeps this node's slots busy, claiming due deliveries as slots
//! free up, so that no endpoint waits for another (claiming, sending and recording are
//! [`crate::service::delivery`]'s).
//!
//! [`run`] holds up to `in_flight` lanes (claimed slots) at once. It claims whenever there is room
//! and a reason to look — a lane just ended (its slot is free, and its endpoint may have more),
//! this node queued deliveries, or `poll` passed (deliveries queued on other nodes, retries coming
//! due, leases of dead workers running out) — and records lanes in batches as they end, without
//! waiting for the others. A slow receiver therefore holds its own endpoint's slots and nothing
//! else: other endpoints' deliveries are claimed and sent meanwhile.
//!
//! A worker that dies leaves its deliveries leased until the leases run out; then any worker sends
//! them again (at least once). A worker told to stop starts no new attempt, lets the ones in
//! flight end (each within the attempt's timeout), and records them.
//!
//! [`deliver_once`] is one claim, its lanes and their record, for the tests.

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::service::delivery::{self, Lane, Sent};
use crate::state::AppState;

/// Claim what is due now, send it all, record it. Returns how many attempts were made.
pub async fn deliver_once(ctx: &AppState) -> crate::service::Result<usize> {
    let claim = delivery::claim_due(ctx, room(ctx), 0).await?;
    let mut sending = JoinSet::new();
    for lane in claim.lanes {
        start(&mut sending, ctx, &ctx.webhook_client, lane, None);
    }
    let mut sent = Vec::new();
    while let Some(s) = sending.join_next().await {
        collect(&mut sent, s);
    }
    let attempts = sent.iter().map(|s| s.attempts.len()).sum();
    delivery::record(ctx, sent).await?;
    Ok(attempts)
}

/// The most lanes this node holds at once.
fn room(ctx: &AppState) -> usize {
    usize::try_from(ctx.webhooks.in_flight).unwrap_or(usize::MAX).max(1)
}

fn start(
    sending: &mut JoinSet<Sent>,
    ctx: &AppState,
    client: &reqwest::Client,
    lane: Lane,
    stop: Option<watch::Receiver<bool>>,
) {
    let (ctx, client) = (ctx.clone(), client.clone());
    sending.spawn(async move { delivery::send(&ctx, &client, lane, stop.as_ref()).await });
}

fn collect(sent: &mut Vec<Sent>, ended: Result<Sent, tokio::task::JoinError>) {
    match ended {
        Ok(s) => sent.push(s),
        // A lane cannot panic by design; if one did, its leases run out and its deliveries go out
        // again.
        Err(e) => tracing::error!(error = %e, "a webhook lane failed"),
    }
}

/// Deliver until `stop` turns true (or its sender is gone); then let the attempts in flight end
/// and record them.
///
/// It runs on a thread of its own with a single-threaded runtime ([`spawn`]): an attempt, its HTTP
/// connection and the wake-ups between them then stay on one thread, instead of bouncing between
/// the API's worker threads at every request (a large share of a delivery's cost when they did).
pub async fn run(ctx: AppState, mut stop: watch::Receiver<bool>) {
    let client = crate::client::webhook_client(&ctx.webhooks);
    let room = room(&ctx);
    let mut sending: JoinSet<Sent> = JoinSet::new();
    let mut rotate = 0usize;
    let mut look = true;
    loop {
        if *stop.borrow() {
            break;
        }
        if look && sending.len() < room {
            look = false;
            match delivery::claim_due(&ctx, room - sending.len(), rotate).await {
                Ok(claim) => {
                    rotate = rotate.wrapping_add(claim.visited);
                    for lane in claim.lanes {
                        start(&mut sending, &ctx, &client, lane, Some(stop.clone()));
                    }
                }
                Err(e) => tracing::error!(error = %e, "claiming webhook deliveries failed; will retry"),
            }
        }
        tokio::select! {
            Some(ended) = sending.join_next(), if !sending.is_empty() => {
                let mut sent = Vec::new();
                collect(&mut sent, ended);
                while let Some(more) = sending.try_join_next() {
                    collect(&mut sent, more);
                }
                if let Err(e) = delivery::record(&ctx, sent).await {
                    // Their leases run out and the deliveries go out again.
                    tracing::error!(error = %e, "recording webhook attempts failed");
                }
                look = true;
            }
            () = ctx.deliveries_due.notified() => look = true,
            () = tokio::time::sleep(ctx.webhooks.poll) => look = true,
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    let mut sent = Vec::new();
    while let Some(ended) = sending.join_next().await {
        collect(&mut sent, ended);
    }
    if let Err(e) = delivery::record(&ctx, sent).await {
        tracing::error!(error = %e, "recording the last webhook attempts failed");
    }
}

/// Start [`run`] on its own thread; the handle finishes when it stops.
pub fn spawn(ctx: AppState, stop: watch::Receiver<bool>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("kassa-webhooks".to_owned()).spawn(move || {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt.block_on(run(ctx, stop)),
            Err(e) => tracing::error!(error = %e, "cannot start the webhook delivery runtime; no webhooks will be sent"),
        }
    })
}
