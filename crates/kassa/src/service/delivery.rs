//! Webhook delivery (the design is in [`kassa_core::webhook`]): claim due deliveries within their
//! endpoints' slots ([`claim_due`]), send them ([`send`]), and record what happened ([`record`]).
//! The delivery worker (`worker::deliver`) keeps these going continuously;
//! `POST /events/{id}/resend` sends inside the request ([`super::events::resend`]).
//!
//! ## Claiming
//! One transaction looks at the enabled endpoints with a free slot (`locked_until` passed; on
//! PostgreSQL claimed with `FOR UPDATE SKIP LOCKED`, so several workers share them out) and, for
//! each, takes its due deliveries, oldest first, up to `batch` per free slot, dealt out over as
//! many slots as there are deliveries (one each while they are few): each slot taken is a
//! [`Lane`], with its own lease. A claim visits endpoints from a rotating start, so that when this
//! node's room is short, no endpoint is always served first. Endpoints never wait for each other:
//! a slow receiver holds only its own slots.
//!
//! ## Sending
//! A lane sends its deliveries one after another; a failed attempt is simply recorded (its
//! delivery retries on its own schedule) and the lane goes on with the next. A lane starts no
//! attempt that could outlast its lease (the pace's wait included), and none once the worker is
//! stopping: what it did not send it lets go of, due again at once.
//!
//! Each attempt is one POST, no redirects followed, with one deadline, `--webhook-timeout`, for
//! the whole of it: resolving the host, connecting, sending, the status line and reading the
//! start of the answer. When the deadline passes the connection is dropped, so a receiver that
//! trickles its answer a byte at a time cannot hold a slot longer than that. A **2xx status line
//! received in time is a success** even if the body is still coming in at the deadline: as at
//! Stripe, the status is the answer, and the body is only kept for the record (the attempt notes
//! that reading it timed out). Of the answer, the first 1 KB is kept, and only for a real HTTP
//! answer with a 2xx, 4xx or 5xx status (a redirect's body is not read).
//!
//! Unless private addresses are allowed (`--webhook-allow-private`), an endpoint whose host is, or
//! resolves to, an address that is not public gets no request at all: the attempt is recorded as
//! failed with the reason (see [`crate::client`]), and nothing is read from anywhere.
//!
//! ## Recording
//! One transaction per batch of finished lanes: each attempt is appended to its delivery, which
//! succeeds, is scheduled for a retry, or fails at the end of its retry window; unsent deliveries
//! are let go; each slot is given back; an endpoint where nothing succeeded for a whole retry
//! window is disabled. Rows are locked endpoint first, then its deliveries, in claims, recordings,
//! resends and endpoint updates alike, so that they cannot deadlock on PostgreSQL, and no
//! delivery is written from a copy read before its endpoint was locked.
//!
//! The signature's timestamp is the wall-clock time of the attempt even when the server runs on a
//! test clock: receivers check it against their own clock (Stripe's libraries allow 5 minutes).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kassa_core::ids;
use kassa_core::store::{Cmp, Column, Filter, Kind, Record, Scope, StoreError, TxExt, transact};
use kassa_core::time::Timestamp;
use kassa_core::webhook::{
    Attempt, DeliveryStatus, EndpointStatus, Event, RESPONSE_SNIPPET, WebhookDelivery, WebhookEndpoint,
    signature_header,
};

use tokio::sync::watch;

use crate::state::Ctx;
use crate::views;

/// One slot of an endpoint, claimed: the deliveries it sends, one after another.
pub struct Lane {
    pub account: String,
    /// The endpoint as it was claimed (its URL and secret).
    pub endpoint: Arc<WebhookEndpoint>,
    /// The claim's token: the slot's, and the lease on each of its deliveries.
    pub token: String,
    pub deliveries: Vec<(WebhookDelivery, Arc<Event>)>,
}

/// What a lane did, to be recorded.
pub struct Sent {
    pub account: String,
    pub endpoint: String,
    pub token: String,
    /// Each attempt made, with its delivery's id.
    pub attempts: Vec<(String, Attempt)>,
    /// The deliveries it let go of without an attempt.
    pub unsent: Vec<String>,
}

/// What a claim took, and how many endpoints it looked at (where the next claim starts).
pub struct Claim {
    pub lanes: Vec<Lane>,
    pub visited: usize,
}

/// An endpoint's due deliveries: pending, their next attempt due and no lease held (`due_at` is
/// NULL for finished ones, so they never match).
fn due(endpoint: &str, now: Timestamp) -> [Filter; 2] {
    [Filter::Eq(Column::Endpoint, endpoint.into()), Filter::Cmp(Column::DueAt, Cmp::Lte, now)]
}

/// How many slots each endpoint has.
pub fn slots(ctx: &Ctx) -> usize {
    usize::try_from(ctx.webhooks.endpoint_concurrency).unwrap_or(usize::MAX).max(1)
}

/// A lane claimed inside a transaction, before its events are read.
pub type Claimed = (String, Arc<WebhookEndpoint>, String, Vec<WebhookDelivery>);

/// Claim up to `room` lanes, visiting the endpoints from the `rotate`-th on.
pub async fn claim_due(ctx: &Ctx, room: usize, rotate: usize) -> Result<Claim, StoreError> {
    let now = ctx.now();
    let until = now.saturating_add(ctx.webhooks.lease);
    let (per_pass, slots) = (ctx.webhooks.endpoints_per_pass, slots(ctx));
    let batch = usize::try_from(ctx.webhooks.batch).unwrap_or(usize::MAX).max(1);
    let (claimed, visited) = transact(ctx.store.as_ref(), move |tx| {
        let endpoints = tx.find(
            Scope::All,
            Kind::WebhookEndpoint,
            &[
                Filter::Eq(Column::Status, EndpointStatus::Enabled.as_str().into()),
                Filter::Cmp(Column::LockedUntil, Cmp::Lte, now),
            ],
            per_pass,
        )?;
        let n = endpoints.len();
        let mut room = room;
        let mut claimed: Vec<Claimed> = Vec::new();
        let mut visited = 0;
        for i in 0..n {
            if room == 0 {
                break;
            }
            visited += 1;
            let raw = &endpoints[rotate.wrapping_add(i) % n];
            let account = raw.account.as_str();
            let mut endpoint = WebhookEndpoint::from_raw(raw)?;
            let before = (endpoint.in_flight.len(), endpoint.locked_until);
            let free = endpoint.free_slots(now, slots).min(room);
            let mut lanes: Vec<(String, Vec<WebhookDelivery>)> = Vec::new();
            if free > 0 {
                let limit = u32::try_from(free.saturating_mul(batch)).unwrap_or(u32::MAX);
                // Locked (the endpoint's lock already keeps other claims away, so none is
                // skipped): on PostgreSQL their updates then go with the next statement.
                let rows =
                    tx.find(Scope::Account(account), Kind::WebhookDelivery, &due(&endpoint.id, now), limit)?;
                let count = free.min(rows.len());
                lanes = (0..count).map(|_| (ids::random_base62(16), Vec::new())).collect();
                for (j, row) in rows.iter().enumerate() {
                    let mut d = WebhookDelivery::from_raw(row)?;
                    let (token, taken) = &mut lanes[j % count];
                    if d.claim(token, now, until) {
                        tx.put(account, &d)?;
                        taken.push(d);
                    }
                }
                lanes.retain(|(_, taken)| !taken.is_empty());
                for (token, _) in &lanes {
                    endpoint.take_slot(token, until);
                }
            }
            endpoint.settle(now, slots);
            if !lanes.is_empty() || before != (endpoint.in_flight.len(), endpoint.locked_until) {
                tx.put(account, &endpoint)?;
            }
            room = room.saturating_sub(lanes.len());
            let endpoint = Arc::new(endpoint);
            claimed.extend(
                lanes.into_iter().map(|(token, taken)| (account.to_owned(), endpoint.clone(), token, taken)),
            );
        }
        Ok((claimed, visited))
    })
    .await?;
    Ok(Claim { lanes: with_events(ctx, claimed).await?, visited })
}

/// Claimed lanes with their events, read on a reader, off the single writer (events never change,
/// and a claimed delivery is its claim's alone).
pub async fn with_events(ctx: &Ctx, claimed: Vec<Claimed>) -> Result<Vec<Lane>, StoreError> {
    let mut by_account: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (account, _, _, taken) in &claimed {
        by_account.entry(account).or_default().extend(taken.iter().map(|d| d.event.clone()));
    }
    let mut events: HashMap<(String, String), Arc<Event>> = HashMap::new();
    for (account, ids) in by_account {
        let rows = ctx.store.get_many(account, ids.into_iter().map(|id| (Kind::Event, id)).collect()).await?;
        for row in rows {
            let e = Event::from_raw(&row)?;
            events.insert((account.to_owned(), e.id.clone()), Arc::new(e));
        }
    }
    Ok(claimed
        .into_iter()
        .map(|(account, endpoint, token, taken)| {
            // An event is never deleted while a delivery of it is pending; if one were missing, the
            // delivery would stay leased until its lease ran out, and pending for inspection.
            let deliveries = taken
                .into_iter()
                .filter_map(|d| events.get(&(account.clone(), d.event.clone())).cloned().map(|e| (d, e)))
                .collect();
            Lane { account, endpoint, token, deliveries }
        })
        .collect())
}

/// Send a lane's deliveries one after another, at this node's pace, while its lease leaves time
/// for another attempt and `stop` (if given) has not turned true.
pub async fn send(
    ctx: &Ctx,
    client: &reqwest::Client,
    lane: Lane,
    stop: Option<&watch::Receiver<bool>>,
) -> Sent {
    let started = Instant::now();
    let lease = Duration::from_secs(u64::try_from(ctx.webhooks.lease).unwrap_or(0));
    // An attempt started later than this might outlast the lease: the first is started at once
    // (the lease is longer than the timeout), later ones with a second to spare for the clock's
    // whole seconds.
    let spare = lease.saturating_sub(ctx.webhooks.timeout);
    let budget = |first: bool| if first { spare } else { spare.saturating_sub(Duration::from_secs(1)) };
    let mut sent = Sent {
        account: lane.account,
        endpoint: lane.endpoint.id.clone(),
        token: lane.token,
        attempts: Vec::new(),
        unsent: Vec::new(),
    };
    for (i, (delivery, event)) in lane.deliveries.into_iter().enumerate() {
        // Stopping: told to, or the server that would tell it is gone.
        let stopping = stop.is_some_and(|s| *s.borrow() || s.has_changed().is_err());
        if !stopping && started.elapsed() < budget(i == 0) && paced(&delivery, ctx.now()) {
            ctx.delivery_pace.wait(ctx.webhooks.max_rate).await;
        }
        if stopping || started.elapsed() >= budget(i == 0) {
            sent.unsent.push(delivery.id);
            continue;
        }
        let body = views::event_body(&event, event.queued_for);
        let attempt = post(ctx, client, &lane.endpoint, body).await;
        tracing::debug!(
            delivery = %delivery.id,
            event = %event.id,
            endpoint = %lane.endpoint.id,
            status = ?attempt.status_code,
            ok = attempt.succeeded(),
            "webhook attempt"
        );
        sent.attempts.push((delivery.id, attempt));
    }
    sent
}

/// How long after it was queued a delivery's first attempt still counts as news: sent at once
/// rather than at the node's pace.
pub const FRESH_FOR: Timestamp = 10;

/// Whether an attempt waits its turn at the node's pace (`--webhook-max-rate`): a retry, or a first
/// attempt queued more than [`FRESH_FOR`] seconds ago — a backlog, such as an endpoint's events
/// held while it was down. The first attempts of what is happening now go out at once, so that
/// webhooks keep up with checkouts however many the machine completes a second (a pace below
/// that rate made every delivery wait behind the ones before it, later and later); only a
/// backlog is drained at the pace, leaving the CPU to the checkouts.
fn paced(delivery: &WebhookDelivery, now: Timestamp) -> bool {
    !delivery.attempts.is_empty() || now.saturating_sub(delivery.created) > FRESH_FOR
}

/// One signed POST of `body`, within the attempt's deadline; never fails, it records what
/// happened instead.
async fn post(ctx: &Ctx, client: &reqwest::Client, endpoint: &WebhookEndpoint, body: String) -> Attempt {
    let created = ctx.now();
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + ctx.webhooks.timeout);
    let refusal = crate::client::refusal(&endpoint.url, ctx.webhooks.allow_private);
    let refused = refusal.is_some();
    let (status_code, response_body, error) = match refusal {
        Some(why) => (None, String::new(), Some(why)),
        None => exchange(client, endpoint, body, deadline).await,
    };
    let elapsed = started.elapsed();
    let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let attempt = Attempt { created, status_code, duration_ms, response_body, error };
    crate::metrics::webhook_attempt(attempt_outcome(refused, &attempt), elapsed);
    attempt
}

/// How an attempt ended, for the metrics.
fn attempt_outcome(refused: bool, attempt: &Attempt) -> crate::metrics::AttemptOutcome {
    use crate::metrics::AttemptOutcome;
    if refused {
        AttemptOutcome::Refused
    } else if attempt.succeeded() {
        AttemptOutcome::Succeeded
    } else if attempt.status_code.is_some() {
        AttemptOutcome::HttpError
    } else if attempt.error.as_deref().is_some_and(|e| e.starts_with("timed out")) {
        AttemptOutcome::Timeout
    } else {
        AttemptOutcome::ConnectionError
    }
}

/// The request and the start of its answer, by `deadline`: (status, kept answer, what went wrong).
async fn exchange(
    client: &reqwest::Client,
    endpoint: &WebhookEndpoint,
    body: String,
    deadline: tokio::time::Instant,
) -> (Option<u16>, String, Option<String>) {
    let t =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let signature = signature_header(&endpoint.secret, t, body.as_bytes());
    let request = client
        .post(&endpoint.url)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("Stripe-Signature", signature)
        .body(body)
        .send();
    let mut resp = match tokio::time::timeout_at(deadline, request).await {
        Err(_) => return (None, String::new(), Some("timed out".to_owned())),
        Ok(Err(e)) => return (None, String::new(), Some(describe(&e))),
        Ok(Ok(resp)) => resp,
    };
    let status = resp.status().as_u16();
    if !matches!(status, 200..=299 | 400..=599) {
        return (Some(status), String::new(), None);
    }
    // The start of the answer, at most RESPONSE_SNIPPET bytes; the rest is not read. Dropping the
    // answer unread closes its connection.
    let mut buf: Vec<u8> = Vec::new();
    let mut error = None;
    while buf.len() < RESPONSE_SNIPPET {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(chunk))) => buf.extend_from_slice(&chunk),
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                error = Some(describe(&e));
                break;
            }
            Err(_) => {
                error = Some("timed out while reading the answer".to_owned());
                break;
            }
        }
    }
    (Some(status), lossy(&buf), error)
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
    if let Some(refused) = crate::client::refused(e) {
        refused.to_string()
    } else if e.is_timeout() {
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

/// Record what lanes did, in one transaction; returns the deliveries attempted, as recorded.
pub async fn record(ctx: &Ctx, sent: Vec<Sent>) -> Result<Vec<WebhookDelivery>, StoreError> {
    if sent.is_empty() {
        return Ok(Vec::new());
    }
    let now = ctx.now();
    let policy = ctx.webhooks.retry;
    let slots = slots(ctx);
    transact(ctx.store.as_ref(), move |tx| {
        let mut by_endpoint: BTreeMap<(String, String), Vec<Sent>> = BTreeMap::new();
        for s in sent {
            by_endpoint.entry((s.account.clone(), s.endpoint.clone())).or_default().push(s);
        }
        let mut recorded = Vec::new();
        for ((account, endpoint_id), lanes) in by_endpoint {
            // The endpoint's row first (see the module's notes on locks). One deleted meanwhile
            // took its deliveries with it: nothing is left to record.
            let Some(mut endpoint) = tx.load::<WebhookEndpoint>(&account, &endpoint_id)? else { continue };
            // Then its deliveries, all in one read.
            let ids: Vec<&str> = lanes
                .iter()
                .flat_map(|l| {
                    l.attempts.iter().map(|(id, _)| id.as_str()).chain(l.unsent.iter().map(String::as_str))
                })
                .collect();
            let mut deliveries = HashMap::new();
            for raw in tx.get_each(&account, Kind::WebhookDelivery, &ids)? {
                let d = WebhookDelivery::from_raw(&raw)?;
                deliveries.insert(d.id.clone(), d);
            }
            let mut failed = Vec::new();
            for lane in lanes {
                endpoint.give_back(&lane.token);
                for (id, attempt) in lane.attempts {
                    endpoint.note(&attempt);
                    let Some(d) = deliveries.get_mut(&id) else { continue };
                    let was_pending = d.status == DeliveryStatus::Pending;
                    d.record(attempt, &lane.token, &policy, ids::random_per_mille());
                    tx.put(&account, &*d)?;
                    if was_pending && d.status == DeliveryStatus::Failed {
                        failed.push(d.clone());
                    }
                    recorded.push(d.clone());
                }
                for id in lane.unsent {
                    let Some(d) = deliveries.get_mut(&id) else { continue };
                    d.release(&lane.token);
                    tx.put(&account, &*d)?;
                }
            }
            for d in &failed {
                if endpoint.give_up_after(d) {
                    tracing::warn!(
                        endpoint = %endpoint.id,
                        account = %account,
                        "webhook endpoint disabled: no attempt has succeeded for a whole retry window"
                    );
                }
            }
            endpoint.settle(now, slots);
            tx.put(&account, &endpoint)?;
        }
        Ok(recorded)
    })
    .await
}
