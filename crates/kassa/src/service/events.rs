//! The event log and the outbox (the design is in [`kassa_core::webhook`]).
//!
//! Every use case that changes state writes through [`transact`], which hands its closure an
//! [`Outbox`] next to the transaction: [`Outbox::emit`] writes the event, and a delivery for each
//! enabled endpoint of the account that wants it, in that same transaction. Once the transaction
//! has committed with deliveries in it, the node's delivery worker is woken, so a local receiver
//! hears of a payment within milliseconds; other nodes' workers find the deliveries on their next
//! poll.
//!
//! `POST /events/{id}/resend` makes its attempts inside the request ([`resend`]).
//!
//! An event names the API request that caused it (`request.id`, `request.idempotency_key`). The
//! API middleware runs each request inside [`with_request`]; [`transact`] reads it on the request's
//! task, before the closure moves to the store's writer. Events caused by the hosted page or by
//! kassa itself carry no request.

use std::collections::HashMap;
use std::future::Future;

use kassa_core::params::{EventList, EventResend};
use kassa_core::store::{
    self, Abort, Ahead, Column, Filter, Kind, Record, Scope, StoreError, Tx, TxExt, Value as Col,
};
use kassa_core::time::Timestamp;
use kassa_core::webhook::{
    DeliveryStatus, EndpointStatus, Event, EventType, RequestRef, WebhookDelivery, WebhookEndpoint,
    previous_attributes,
};
use kassa_core::{Error as DomainError, Invalid};
use serde_json::Value;

use super::{Acct, Result, list};
use crate::state::Ctx;
use crate::views::View;

tokio::task_local! {
    static REQUEST: RequestRef;
}

/// Run `f` as the handling of the API request `request`: events it causes name that request.
pub async fn with_request<F: Future>(request: RequestRef, f: F) -> F::Output {
    REQUEST.scope(request, f).await
}

/// The API request being handled on this task, if any.
pub fn current_request() -> RequestRef {
    REQUEST.try_with(Clone::clone).unwrap_or_default()
}

/// The most endpoints an account's event is fanned out to.
const MAX_ENDPOINTS: u32 = 500;

/// Where a transaction's events go: written beside its other changes.
pub struct Outbox {
    request: RequestRef,
    /// When the events happened: the transaction's time, or a billing step's (on a test clock).
    now: Timestamp,
    /// When the transaction runs, in real time: its deliveries are due from then, even for events
    /// dated on a test clock months ahead (they would otherwise wait for that date, and hold up
    /// every later event to their endpoints).
    queued_at: Timestamp,
    public_url: String,
    /// Each account's enabled endpoints, read once per transaction.
    endpoints: HashMap<String, Vec<WebhookEndpoint>>,
    /// Reads of an account's endpoints asked for ahead ([`Outbox::look_ahead`]).
    ahead: HashMap<String, Ahead>,
    queued: usize,
    /// What the events written count as in the metrics, once committed (empty while they are off).
    counted: Vec<crate::metrics::Counted>,
}

impl Outbox {
    pub fn new(request: RequestRef, now: Timestamp, public_url: &str) -> Self {
        Self {
            request,
            now,
            queued_at: now,
            public_url: public_url.to_owned(),
            endpoints: HashMap::new(),
            ahead: HashMap::new(),
            queued: 0,
            counted: Vec::new(),
        }
    }

    /// Date the events written from now on at `t` (billing steps happen at their own times); their
    /// deliveries stay due at once.
    pub fn set_now(&mut self, t: Timestamp) {
        self.now = t;
    }

    /// How objects render at this moment (for sessions, which show their URL while open).
    pub fn view(&self) -> View<'_> {
        View { now: self.now, public_url: &self.public_url }
    }

    /// Ask for `account`'s endpoints ahead of the first event: a transaction that will most
    /// likely emit calls this before its first read, and on PostgreSQL both go in one round trip.
    pub fn look_ahead(&mut self, tx: &mut dyn Tx, account: &str) -> Result<(), StoreError> {
        if !self.asked_for(account) {
            let ahead = endpoints_ahead(tx, Scope::Account(account))?;
            self.ahead.insert(account.to_owned(), ahead);
        }
        Ok(())
    }

    /// Whether `account`'s endpoints are read, or asked for ahead, already.
    fn asked_for(&self, account: &str) -> bool {
        self.endpoints.contains_key(account) || self.ahead.contains_key(account)
    }

    /// [`Outbox::look_ahead`] before the account is known: ask for the endpoints of whichever
    /// account holds the record `kind` `id` (the session a hosted page pays, found by its id), so
    /// that on PostgreSQL the read goes with the one that finds the record. Once that read names
    /// the account, [`Outbox::owned_by`] files the endpoints under it.
    pub fn look_ahead_of(&mut self, tx: &mut dyn Tx, kind: Kind, id: &str) -> Result<AheadOf, StoreError> {
        endpoints_ahead(tx, Scope::AccountOf(kind, id)).map(AheadOf)
    }

    /// The record a [`Outbox::look_ahead_of`] named belongs to `account`: its endpoints are
    /// `account`'s.
    pub fn owned_by(&mut self, ahead: AheadOf, account: &str) {
        if !self.asked_for(account) {
            self.ahead.insert(account.to_owned(), ahead.0);
        }
    }

    /// Record that `kind` happened to `object` (rendered as the API shows it now).
    pub fn emit(
        &mut self,
        tx: &mut dyn Tx,
        account: &str,
        kind: EventType,
        object: impl serde::Serialize,
    ) -> Result<(), StoreError> {
        let event = self.event(kind, &object)?;
        self.write(tx, account, event)
    }

    /// [`Outbox::emit`] of a checkout session, written straight from it
    /// ([`views::SessionDoc`](crate::views::SessionDoc)) without a `Value` made of it first.
    pub fn emit_session(
        &mut self,
        tx: &mut dyn Tx,
        account: &str,
        kind: EventType,
        session: &kassa_core::session::Session,
    ) -> Result<(), StoreError> {
        let event =
            self.event(kind, &crate::views::SessionDoc { s: session, v: &self.view(), line_items: None })?;
        self.write(tx, account, event)
    }

    /// Record an update: `before` is how the object looked before the change; the fields that
    /// changed go to `previous_attributes`.
    pub fn emit_update(
        &mut self,
        tx: &mut dyn Tx,
        account: &str,
        kind: EventType,
        before: &Value,
        object: Value,
    ) -> Result<(), StoreError> {
        let mut event = self.event(kind, &object)?;
        event.previous_attributes = previous_attributes(before, &object);
        self.write(tx, account, event)
    }

    /// A new event of `kind`, caused by this outbox's request, now, about `object` written as the
    /// JSON text the event keeps.
    fn event(&self, kind: EventType, object: &(impl serde::Serialize + ?Sized)) -> Result<Event, StoreError> {
        let object = serde_json::value::to_raw_value(object)
            .map_err(|e| StoreError::Backend(format!("an event's object: {e}")))?;
        Ok(Event::new(kind, object, self.request.clone(), self.now))
    }

    fn write(&mut self, tx: &mut dyn Tx, account: &str, mut event: Event) -> Result<(), StoreError> {
        if !self.endpoints.contains_key(account) {
            let rows = match self.ahead.remove(account) {
                Some(ahead) => tx.take_ahead(ahead)?,
                None => {
                    tx.select(Scope::Account(account), Kind::WebhookEndpoint, &enabled(), MAX_ENDPOINTS)?
                }
            };
            let endpoints = rows.iter().map(WebhookEndpoint::from_raw).collect::<Result<Vec<_>, _>>()?;
            self.endpoints.insert(account.to_owned(), endpoints);
        }
        let endpoints = self.endpoints.get(account).map(Vec::as_slice).unwrap_or_default();
        event.queued_for = endpoints.iter().filter(|e| e.wants(event.kind)).count();
        tx.put_fresh(account, &event)?;
        self.counted.extend(crate::metrics::counted(event.kind, &event.object));
        for endpoint in endpoints.iter().filter(|e| e.wants(event.kind)) {
            tx.put_fresh(account, &WebhookDelivery::new(&event, &endpoint.id, self.queued_at))?;
            self.queued += 1;
        }
        Ok(())
    }
}

/// The endpoints of an account not known yet, asked for ahead ([`Outbox::look_ahead_of`]).
#[must_use = "the account's endpoints are read ahead for Outbox::owned_by"]
pub struct AheadOf(Ahead);

/// Ask for the enabled endpoints of `scope`'s account ahead ([`Tx::select_ahead`]).
fn endpoints_ahead(tx: &mut dyn Tx, scope: Scope<'_>) -> Result<Ahead, StoreError> {
    tx.select_ahead(scope, Kind::WebhookEndpoint, &enabled(), MAX_ENDPOINTS)
}

/// The filter of the endpoints events go to.
fn enabled() -> [Filter; 1] {
    [Filter::Eq(Column::Status, EndpointStatus::Enabled.as_str().into())]
}

/// [`store::transact_or_refuse`] with an [`Outbox`] beside the transaction; wakes this node's
/// delivery worker once deliveries have committed. A refusal rolls back the events with the rest.
pub async fn transact<T, E, F>(ctx: &Ctx, now: Timestamp, f: F) -> Result<T, Abort<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(&mut dyn Tx, &mut Outbox) -> Result<T, Abort<E>> + Send + 'static,
{
    let mut outbox = Outbox::new(current_request(), now, &ctx.public_url);
    let (value, queued, counted) = store::transact_or_refuse(ctx.store.as_ref(), move |tx| {
        let value = f(tx, &mut outbox)?;
        Ok((value, outbox.queued, outbox.counted))
    })
    .await?;
    if queued > 0 {
        ctx.deliveries_due.notify_one();
    }
    crate::metrics::events_committed(&counted);
    Ok(value)
}

/// An event with the number of its deliveries still pending.
pub struct Listed {
    pub event: Event,
    pub pending_webhooks: usize,
}

async fn with_pending(ctx: &Ctx, account: &str, events: Vec<Event>) -> Result<Vec<Listed>> {
    let account = account.to_owned();
    let out = store::view(ctx.store.as_ref(), move |tx| {
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            let pending = tx.select(
                Scope::Account(&account),
                Kind::WebhookDelivery,
                &[
                    Filter::Eq(Column::Event, event.id.as_str().into()),
                    Filter::Eq(Column::Status, DeliveryStatus::Pending.as_str().into()),
                ],
                MAX_ENDPOINTS,
            )?;
            out.push(Listed { event, pending_webhooks: pending.len() });
        }
        Ok(out)
    })
    .await?;
    Ok(out)
}

pub async fn retrieve(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Listed> {
    let event: Event = super::get(ctx, acct, id).await?;
    let mut listed = with_pending(ctx, &acct.id, vec![event]).await?;
    listed.pop().ok_or_else(|| DomainError::NotFound { object: "event", id: id.to_owned() }.into())
}

/// `GET /events`: newest first; `type` names one type or a group (`customer.subscription.*`),
/// `types[]` several.
pub async fn list_events(ctx: &Ctx, acct: &Acct, p: &EventList) -> Result<(Vec<Listed>, bool)> {
    let mut filters = Vec::new();
    if p.r#type.is_some() && p.types.is_some() {
        return Err(Invalid::exclusive("type", "types").into());
    }
    let patterns: Vec<(String, &str)> = match (&p.r#type, &p.types) {
        (Some(t), _) => vec![("type".to_owned(), t.as_str())],
        (None, Some(ts)) => ts.iter().enumerate().map(|(i, t)| (format!("types[{i}]"), t.as_str())).collect(),
        (None, None) => vec![],
    };
    if !patterns.is_empty() {
        let mut groups = Vec::new();
        for (param, pattern) in patterns {
            let matching = EventType::matching(pattern);
            if matching.is_empty() {
                return Err(Invalid::param(
                    param,
                    format!("No event type matches {}.", kassa_core::error::shown(pattern)),
                )
                .into());
            }
            groups
                .extend(matching.into_iter().map(|t| vec![Filter::Eq(Column::Type, Col::from(t.as_str()))]));
        }
        filters.push(Filter::Any(groups));
    }
    let (events, more) = list::<Event>(ctx, acct, &p.page(), filters, p.created.as_ref()).await?;
    Ok((with_pending(ctx, &acct.id, events).await?, more))
}

/// What a resend did: the event (its `pending_webhooks` counted as the resend queued it, before its
/// attempts), and each delivery it attempted, as recorded after the attempt.
pub struct Resent {
    pub event: Listed,
    pub deliveries: Vec<WebhookDelivery>,
}

/// `POST /events/{id}/resend`: attempt the event now, inside this request — for every enabled
/// endpoint that wants its type, or only for `webhook_endpoint` (which then gets it whatever its
/// `enabled_events`) — and answer with what happened.
///
/// For each endpoint, the event's delivery waiting there for a retry is attempted at once (a
/// failure then counts as that delivery's next try, and its backoff goes on from there); when none
/// is waiting (it succeeded or failed long ago, or is being attempted right now), a new delivery
/// is made and attempted, and retried like any other if the attempt fails. The attempt takes a
/// slot of the endpoint even when all are taken, so a resend never waits behind the endpoint's
/// other deliveries; it holds a lease like any claim, so if this process dies mid-attempt, the
/// worker sends it again once the lease runs out.
pub async fn resend(ctx: &Ctx, acct: &Acct, id: &str, p: EventResend) -> Result<Resent> {
    let now = ctx.now();
    let until = now.saturating_add(ctx.webhooks.lease);
    let slots = super::delivery::slots(ctx);
    let (account, event_id) = (acct.id.clone(), id.to_owned());
    let (event, claimed) = store::transact_or_refuse(ctx.store.as_ref(), move |tx| {
        let event: Event = tx
            .load(&account, &event_id)?
            .ok_or_else(|| Abort::Refused(DomainError::NotFound { object: "event", id: event_id.clone() }))?;
        let targets: Vec<String> = match &p.webhook_endpoint {
            Some(we) => {
                let endpoint: WebhookEndpoint = tx.load(&account, we)?.ok_or_else(|| {
                    Abort::refuse(Invalid::no_such("webhook_endpoint", we, "webhook_endpoint"))
                })?;
                if endpoint.status != EndpointStatus::Enabled {
                    return Err(Invalid::param(
                        "webhook_endpoint",
                        "This webhook endpoint is disabled: enable it before resending events to it.",
                    )
                    .into());
                }
                vec![endpoint.id]
            }
            None => tx
                .select(
                    Scope::Account(&account),
                    Kind::WebhookEndpoint,
                    &[Filter::Eq(Column::Status, EndpointStatus::Enabled.as_str().into())],
                    MAX_ENDPOINTS,
                )?
                .iter()
                .map(WebhookEndpoint::from_raw)
                .filter(|e| e.as_ref().map_or(true, |e| e.wants(event.kind)))
                .map(|e| e.map(|e| e.id))
                .collect::<Result<_, _>>()?,
        };
        let mut claimed = Vec::with_capacity(targets.len());
        for we in targets {
            // The endpoint's row first, then its deliveries' (as claims and recordings lock them).
            let Some(mut endpoint) = tx.load::<WebhookEndpoint>(&account, &we)? else { continue };
            let waiting = tx.select(
                Scope::Account(&account),
                Kind::WebhookDelivery,
                &[
                    Filter::Eq(Column::Endpoint, we.as_str().into()),
                    Filter::Eq(Column::Event, event.id.as_str().into()),
                    Filter::Eq(Column::Status, DeliveryStatus::Pending.as_str().into()),
                ],
                MAX_ENDPOINTS,
            )?;
            let mut waiting = waiting.iter().map(WebhookDelivery::from_raw).collect::<Result<Vec<_>, _>>()?;
            let (mut delivery, new) = match waiting.iter().position(|d| !d.in_flight(now)) {
                Some(i) => (waiting.swap_remove(i), false),
                None => (WebhookDelivery::new(&event, &we, now), true),
            };
            let token = kassa_core::ids::random_base62(16);
            if !delivery.claim(&token, now, until) {
                continue;
            }
            endpoint.free_slots(now, slots);
            endpoint.take_slot(&token, until);
            endpoint.settle(now, slots);
            tx.put(&account, &endpoint)?;
            match new {
                true => tx.put_fresh(&account, &delivery)?,
                false => tx.put(&account, &delivery)?,
            }
            claimed.push((account.clone(), std::sync::Arc::new(endpoint), token, vec![delivery]));
        }
        Ok((event, claimed))
    })
    .await?;
    let mut listed = with_pending(ctx, &acct.id, vec![event]).await?;
    let listed = listed.pop().ok_or_else(|| DomainError::NotFound { object: "event", id: id.to_owned() })?;
    let lanes = super::delivery::with_events(ctx, claimed).await?;
    let sends = lanes.into_iter().map(|lane| super::delivery::send(ctx, &ctx.webhook_client, lane, None));
    let sent = futures_util::future::join_all(sends).await;
    let deliveries = super::delivery::record(ctx, sent).await?;
    Ok(Resent { event: listed, deliveries })
}
