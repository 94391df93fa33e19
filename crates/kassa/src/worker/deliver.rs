//! The webhook delivery worker: claim, send, record (the design is in [`kassa_core::webhook`]).
//!
//! One pass ([`deliver_once`]):
//! 1. **claim** — one transaction looks at the enabled endpoints whose `locked_until` has passed
//!    (idle ones, ones whose retry is due, ones whose holder died), reads each one's queue of
//!    pending deliveries oldest first, and takes a lease on every endpoint whose oldest delivery is
//!    due. On PostgreSQL the endpoint rows are claimed with `FOR UPDATE SKIP LOCKED`, so several
//!    workers share the endpoints out instead of colliding;
//! 2. **send** — endpoints are served concurrently, each one's deliveries one at a time in order,
//!    stopping at the first failure (later events wait behind it) or when the lease is about to
//!    run out;
//! 3. **record** — one transaction appends every attempt to its delivery, marks it succeeded or
//!    schedules its retry (or marks it failed at the end of the retry window), and hands each
//!    endpoint back: `locked_until` becomes 0 when its queue can go on at once, or the time its
//!    retry is due, so no worker looks at a waiting endpoint before there is something to send.
//!
//! A worker that dies between 1 and 3 leaves its endpoints leased until the lease runs out; the
//! next pass after that sends the unrecorded deliveries again (at least once).
//!
//! The signature's timestamp is the wall-clock time of the attempt even when the server runs on a
//! test clock: receivers check it against their own clock (Stripe's libraries allow 5 minutes).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kassa_core::ids;
use kassa_core::store::{Column, Filter, Kind, Record, Scope, StoreError, TxExt, transact};
use kassa_core::time::Timestamp;
use kassa_core::webhook::{
    Attempt, EndpointStatus, Event, RESPONSE_SNIPPET, WebhookDelivery, WebhookEndpoint, signature_header,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::service::webhooks::queue;
use crate::state::{AppState, Ctx};
use crate::views;

/// One endpoint claimed by this pass, with its queue.
struct Lane {
    account: String,
    endpoint: WebhookEndpoint,
    token: String,
    queue: Vec<(WebhookDelivery, std::sync::Arc<Event>)>,
}

/// What sending a lane produced: each delivery tried, as claimed, with its attempt.
struct Sent {
    account: String,
    endpoint: String,
    token: String,
    attempts: Vec<(WebhookDelivery, Attempt)>,
}

/// One pass: claim, send, record. Returns how many attempts were made.
pub async fn deliver_once(ctx: &AppState) -> crate::service::Result<usize> {
    deliver_with(ctx, &ctx.webhook_client).await
}

/// [`deliver_once`] with `client`.
async fn deliver_with(ctx: &AppState, client: &reqwest::Client) -> crate::service::Result<usize> {
    let lanes = claim(ctx).await?;
    if lanes.is_empty() {
        return Ok(0);
    }
    let mut sending = JoinSet::new();
    for lane in lanes {
        let (ctx, client) = (ctx.clone(), client.clone());
        sending.spawn(async move { send(&ctx, &client, lane).await });
    }
    let mut sent = Vec::new();
    while let Some(done) = sending.join_next().await {
        match done {
            Ok(s) => sent.push(s),
            // A send task cannot panic by design; if one did, its lease runs out and the
            // deliveries go out again.
            Err(e) => tracing::error!(error = %e, "a webhook send task failed"),
        }
    }
    let attempts = sent.iter().map(|s| s.attempts.len()).sum();
    record(ctx, sent).await?;
    Ok(attempts)
}

async fn claim(ctx: &Ctx) -> Result<Vec<Lane>, StoreError> {
    let now = ctx.now();
    let settings = ctx.webhooks.clone();
    let claimed = transact(ctx.store.as_ref(), move |tx| {
        let candidates = tx.find(
            Scope::All,
            Kind::WebhookEndpoint,
            &[
                Filter::Eq(Column::Status, EndpointStatus::Enabled.as_str().into()),
                Filter::Cmp(Column::LockedUntil, kassa_core::store::Cmp::Lte, now),
            ],
            settings.endpoints_per_pass,
        )?;
        let mut lanes = Vec::new();
        for raw in candidates {
            let mut endpoint = WebhookEndpoint::from_raw(&raw)?;
            let account = raw.account;
            let queue = tx.select(
                Scope::Account(&account),
                Kind::WebhookDelivery,
                &queue(&endpoint.id),
                settings.batch,
            )?;
            let queue = queue.iter().map(WebhookDelivery::from_raw).collect::<Result<Vec<_>, _>>()?;
            let Some(head) = queue.first() else { continue };
            if !head.is_due(now) {
                // Waiting for a retry: nobody needs to look before it is due.
                endpoint.locked_until = head.next_attempt_at.unwrap_or(now);
                tx.put(&account, &endpoint)?;
                continue;
            }
            let Some(token) = endpoint.claim(now, now.saturating_add(settings.lease)) else { continue };
            tx.put(&account, &endpoint)?;
            lanes.push((account, endpoint, token, queue));
        }
        Ok(lanes)
    })
    .await?;
    // The events themselves are read afterwards on a reader, off the single writer (they never
    // change, and a claimed queue is this pass's alone).
    let mut lanes = Vec::with_capacity(claimed.len());
    for (account, endpoint, token, queue) in claimed {
        let keys = queue.iter().map(|d| (Kind::Event, d.event.clone())).collect();
        let events = ctx.store.get_many(&account, keys).await?;
        let events: std::collections::HashMap<String, std::sync::Arc<Event>> = events
            .iter()
            .map(|raw| Event::from_raw(raw).map(|e| (e.id.clone(), std::sync::Arc::new(e))))
            .collect::<Result<_, _>>()?;
        // An event is never deleted while a delivery of it is pending; if one were missing, the
        // delivery would stay pending for inspection.
        let queue = queue.into_iter().filter_map(|d| events.get(&d.event).cloned().map(|e| (d, e))).collect();
        lanes.push(Lane { account, endpoint, token, queue });
    }
    Ok(lanes)
}

/// Send a lane's deliveries in order until one fails or the lease runs short.
async fn send(ctx: &Ctx, client: &reqwest::Client, lane: Lane) -> Sent {
    let started = Instant::now();
    let lease = Duration::from_secs(u64::try_from(ctx.webhooks.lease).unwrap_or(0));
    // Stop starting attempts once one more might outlast the lease.
    let budget = lease.saturating_sub(ctx.webhooks.timeout + Duration::from_secs(1));
    let mut attempts = Vec::new();
    for (i, (delivery, event)) in lane.queue.iter().enumerate() {
        if i > 0 && started.elapsed() >= budget {
            break;
        }
        if !delivery.is_due(ctx.now()) {
            break;
        }
        ctx.delivery_pace.wait(ctx.webhooks.max_rate).await;
        let body = views::event_body(event, event.queued_for);
        let attempt = post(ctx, client, &lane.endpoint, body).await;
        let ok = attempt.succeeded();
        tracing::debug!(
            delivery = %delivery.id,
            event = %event.id,
            endpoint = %lane.endpoint.id,
            status = ?attempt.status_code,
            ok,
            "webhook attempt"
        );
        attempts.push((delivery.clone(), attempt));
        if !ok {
            break;
        }
    }
    Sent { account: lane.account, endpoint: lane.endpoint.id, token: lane.token, attempts }
}

/// One signed POST of `body`; never fails, it records what happened instead.
async fn post(ctx: &Ctx, client: &reqwest::Client, endpoint: &WebhookEndpoint, body: String) -> Attempt {
    let created = ctx.now();
    let t =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let signature = signature_header(&endpoint.secret, t, body.as_bytes());
    let started = Instant::now();
    let sent = client
        .post(&endpoint.url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("Stripe-Signature", signature)
        .body(body)
        .send()
        .await;
    let (status_code, response_body, error) = match sent {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let (snippet, error) = read_snippet(&mut resp).await;
            (Some(status), snippet, error)
        }
        Err(e) => (None, String::new(), Some(describe(&e))),
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Attempt { created, status_code, duration_ms, response_body, error }
}

/// The start of the answer, at most [`RESPONSE_SNIPPET`] bytes; the rest is not read.
async fn read_snippet(resp: &mut reqwest::Response) -> (String, Option<String>) {
    let mut buf: Vec<u8> = Vec::new();
    while buf.len() < RESPONSE_SNIPPET {
        match resp.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return (lossy(&buf), Some(describe(&e))),
        }
    }
    (lossy(&buf), None)
}

/// The text of the first [`RESPONSE_SNIPPET`] bytes of `buf`, never more bytes than that and never
/// ending in part of a character: a UTF-8 character cut by the limit (or by the end of what was
/// read) is left out whole. Bytes that are not UTF-8 at all become U+FFFD.
fn lossy(buf: &[u8]) -> String {
    let mut end = buf.len().min(RESPONSE_SNIPPET);
    // The last character's first byte is at most three continuation bytes back; if the bytes
    // from there on are the start of a character that does not end here, cut before it.
    let last = (end.saturating_sub(3)..end).rev().find(|&i| buf[i] & 0xC0 != 0x80);
    if let Some(start) = last
        && std::str::from_utf8(&buf[start..end]).is_err_and(|e| e.error_len().is_none())
    {
        end = start;
    }
    let text = String::from_utf8_lossy(&buf[..end]);
    // Each byte that is not UTF-8 became three: keep within the limit all the same.
    text[..text.floor_char_boundary(RESPONSE_SNIPPET)].to_owned()
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else if e.is_redirect() {
        "redirect not followed".to_owned()
    } else if e.is_body() || e.is_decode() {
        "the connection closed while reading the answer".to_owned()
    } else {
        "the connection failed before an answer".to_owned()
    }
}

async fn record(ctx: &Ctx, sent: Vec<Sent>) -> Result<(), StoreError> {
    let now = ctx.now();
    let policy = ctx.webhooks.retry;
    transact(ctx.store.as_ref(), move |tx| {
        for lane in sent {
            for (mut d, attempt) in lane.attempts {
                // The lease kept every other worker off these deliveries since the claim, so the
                // claimed copy is current; one deleted meanwhile (with its endpoint) stays deleted.
                d.record(attempt, &policy, ids::random_per_mille());
                match tx.put(&lane.account, &d) {
                    Err(StoreError::NotFound) => continue,
                    other => other?,
                }
            }
            let Some(mut endpoint) = tx.load::<WebhookEndpoint>(&lane.account, &lane.endpoint)? else {
                continue;
            };
            if endpoint.release(&lane.token) {
                endpoint.locked_until = next_look(tx, &lane.account, &endpoint.id, now)?;
                tx.put(&lane.account, &endpoint)?;
            }
        }
        Ok(())
    })
    .await
}

/// When a worker should next look at an endpoint: when its oldest pending delivery is due (0 if it
/// has none: new events may come at any time).
fn next_look(
    tx: &mut dyn kassa_core::store::Tx,
    account: &str,
    endpoint: &str,
    now: Timestamp,
) -> Result<Timestamp, StoreError> {
    let head = tx.select(Scope::Account(account), Kind::WebhookDelivery, &queue(endpoint), 1)?;
    match head.first().map(WebhookDelivery::from_raw).transpose()? {
        Some(d) => Ok(d.next_attempt_at.filter(|t| *t > now).unwrap_or(0)),
        None => Ok(0),
    }
}

/// Deliver until `stop` turns true: a pass whenever events were queued on this node, or every
/// `poll` otherwise, and at once again after a pass that sent something (there may be more).
///
/// It runs on a thread of its own with a single-threaded runtime ([`spawn`]): a send, its HTTP
/// connection and the wake-ups between them then stay on one thread, instead of bouncing between
/// the API's worker threads at every request (a large share of a delivery's cost when they did).
pub async fn run(ctx: AppState, mut stop: watch::Receiver<bool>) {
    let poll = ctx.webhooks.poll;
    let client = crate::client::webhook_client(&ctx.webhooks);
    loop {
        if *stop.borrow() {
            return;
        }
        let busy = match deliver_with(&ctx, &client).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(error = %e, "webhook delivery pass failed; will retry");
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            () = ctx.deliveries_due.notified() => {}
            () = tokio::time::sleep(poll) => {}
            _ = stop.changed() => {}
        }
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
