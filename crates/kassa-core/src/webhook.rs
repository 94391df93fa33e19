//! Events and webhooks: the event log, webhook endpoints, and the outbox of deliveries
//! between them.
//!
//! ## From a state change to a merchant's server
//! 1. **Write.** A use case that changes state writes, in the same transaction, an [`Event`]
//!    holding the changed object as it was at that moment, and one [`WebhookDelivery`] for every
//!    enabled [`WebhookEndpoint`] of the account that [wants](WebhookEndpoint::wants) the event's
//!    type. The change, its event and its deliveries commit together or not at all: the
//!    *transactional outbox*. Nothing is sent from inside a transaction.
//! 2. **Claim.** The delivery worker claims deliveries, not endpoints: a claim takes one of an
//!    endpoint's delivery slots ([`WebhookEndpoint::take_slot`]) and writes its lease on a few of
//!    the endpoint's due deliveries ([`WebhookDelivery::claim`], `locked_until`). An endpoint has
//!    `--webhook-endpoint-concurrency` slots (4 by default), shared by every worker on every node,
//!    so no receiver gets more attempts at once than that. A lease whose holder died (a crash,
//!    `kill -9`) simply runs out: its deliveries are due again, its slot is free again, and the
//!    next worker sends them: deliveries are **at least once**.
//! 3. **Send.** One signed POST per delivery ([`signature_header`]); a claim sends its deliveries
//!    one after another, each slot in parallel with the others. An endpoint's due deliveries are
//!    claimed oldest first and dealt out over its free slots in turn, so they are *attempted* in
//!    creation order, several at a time; a failed attempt is recorded for a retry of its own and
//!    the claim goes on with the next delivery.
//! 4. **Record.** Every attempt is kept on its delivery ([`Attempt`]: time, status, duration, the
//!    start of the answer). A 2xx marks the delivery `succeeded`; anything else schedules a retry
//!    with exponential backoff and jitter ([`RetryPolicy`]) until the retry window (3 days by
//!    default, from the delivery's first attempt) is used up, when the delivery is marked
//!    `failed`. The lease and the slot are given back.
//!
//! ## No order, no stalls
//! kassa keeps Stripe's contract: at least once, retried with backoff for up to 3 days, and **no
//! ordering guarantee** — receivers order events by `created` and ignore ids they have already
//! handled. A failing delivery retries on its own schedule and holds nothing back: later events to
//! the same endpoint go out meanwhile, and a resend is attempted at once, whatever the endpoint's
//! pending retries. Endpoints never wait for each other. An endpoint with one slot and a receiver
//! that answers 2xx does get its events one at a time in creation order; with more slots,
//! concurrent attempts may arrive in any order.
//!
//! ## Giving up on an endpoint
//! When a delivery is marked `failed` and the endpoint has not answered any attempt with a 2xx
//! since that delivery's first attempt — every delivery to it failed for a whole retry window —
//! the endpoint is disabled, with [`DisabledReason::DeliveriesFailed`] (as Stripe disables an
//! endpoint that keeps failing). A disabled endpoint is given no new events and its pending
//! deliveries wait (paused); enabled again, or given a new URL, they are tried at once.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::Sha256;

use crate::error::{ErrorCode, Invalid};
use crate::ids;
use crate::metadata::Metadata;
use crate::time::Timestamp;

pub mod address;

/// The Stripe API version whose shapes kassa's objects and events have.
pub const API_VERSION: &str = "2023-08-16";

macro_rules! event_types {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// The type of an event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventType {
            $(#[serde(rename = $name)] $variant,)*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }
        }
    };
}

event_types! {
    CheckoutSessionCompleted => "checkout.session.completed",
    CheckoutSessionExpired => "checkout.session.expired",
    CheckoutSessionAsyncPaymentSucceeded => "checkout.session.async_payment_succeeded",
    CheckoutSessionAsyncPaymentFailed => "checkout.session.async_payment_failed",
    PaymentIntentCreated => "payment_intent.created",
    PaymentIntentSucceeded => "payment_intent.succeeded",
    PaymentIntentPaymentFailed => "payment_intent.payment_failed",
    PaymentIntentCanceled => "payment_intent.canceled",
    SetupIntentSucceeded => "setup_intent.succeeded",
    CustomerCreated => "customer.created",
    CustomerUpdated => "customer.updated",
    CustomerTaxIdCreated => "customer.tax_id.created",
    CustomerTaxIdDeleted => "customer.tax_id.deleted",
    CustomerSubscriptionCreated => "customer.subscription.created",
    CustomerSubscriptionUpdated => "customer.subscription.updated",
    CustomerSubscriptionDeleted => "customer.subscription.deleted",
    CustomerSubscriptionTrialWillEnd => "customer.subscription.trial_will_end",
    CustomerSubscriptionPaused => "customer.subscription.paused",
    CustomerSubscriptionResumed => "customer.subscription.resumed",
    InvoiceCreated => "invoice.created",
    InvoiceFinalized => "invoice.finalized",
    InvoicePaid => "invoice.paid",
    InvoicePaymentFailed => "invoice.payment_failed",
    InvoiceVoided => "invoice.voided",
    InvoiceUpcoming => "invoice.upcoming",
    InvoicePaymentSucceeded => "invoice.payment_succeeded",
    InvoiceMarkedUncollectible => "invoice.marked_uncollectible",
    ChargeSucceeded => "charge.succeeded",
    ChargeFailed => "charge.failed",
    ChargeRefunded => "charge.refunded",
    RefundCreated => "refund.created",
    BillingPortalSessionCreated => "billing_portal.session.created",
    PaymentMethodAttached => "payment_method.attached",
}

impl EventType {
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }

    /// The types a `type` filter names: one type, or a group with `*` as a wildcard
    /// (`customer.subscription.*`, `*`). Empty when nothing matches.
    pub fn matching(pattern: &str) -> Vec<Self> {
        match pattern.strip_suffix('*') {
            Some(prefix) => Self::ALL.iter().copied().filter(|t| t.as_str().starts_with(prefix)).collect(),
            None => Self::parse(pattern).into_iter().collect(),
        }
    }
}

/// The API request that caused an event; both `None` for what the customer did on the hosted page
/// and for what kassa did on its own (an expiry, a renewal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRef {
    pub id: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Something that happened, with the object it happened to as it was at that moment.
///
/// The object is kept as its JSON text ([`RawValue`]), as the API showed it: written once when
/// the event happens, it is stored, sent in each delivery and listed as it is, never parsed into
/// a map and written out again (which was a tenth of a checkout's instructions, most of them on
/// the SQLite writer's thread). The stored document is the same text as with a parsed object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub created: Timestamp,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The object as the API showed it at the moment of the event.
    pub object: Box<RawValue>,
    /// For `*.updated` events: the previous values of the fields that changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_attributes: Option<serde_json::Value>,
    pub request: RequestRef,
    /// How many endpoints the event was queued for when it happened (what its deliveries carry as
    /// `pending_webhooks`; the API counts the deliveries still pending when it is read).
    #[serde(default)]
    pub queued_for: usize,
}

impl Event {
    pub fn new(kind: EventType, object: Box<RawValue>, request: RequestRef, now: Timestamp) -> Self {
        Self {
            id: ids::new_sortable_id(ids::prefix::EVENT),
            created: now,
            kind,
            object,
            previous_attributes: None,
            request,
            queued_for: 0,
        }
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.created == other.created
            && self.kind == other.kind
            && self.object.get() == other.object.get()
            && self.previous_attributes == other.previous_attributes
            && self.request == other.request
            && self.queued_for == other.queued_for
    }
}

/// The top-level fields of `before` whose values differ in `after`, with their old values: an
/// update event's `previous_attributes`. `None` when nothing changed.
pub fn previous_attributes(
    before: &serde_json::Value,
    after: &serde_json::Value,
) -> Option<serde_json::Value> {
    let (serde_json::Value::Object(b), serde_json::Value::Object(a)) = (before, after) else { return None };
    let changed: serde_json::Map<String, serde_json::Value> =
        b.iter().filter(|(k, v)| a.get(k.as_str()) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    (!changed.is_empty()).then_some(serde_json::Value::Object(changed))
}

/// An endpoint's signing secret, `whsec_…`. Shown once, when the endpoint is created; `Debug`
/// never prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn generate() -> Self {
        Self(format!("{}{}", ids::prefix::WEBHOOK_SECRET, ids::random_base62(32)))
    }

    /// A secret made elsewhere (`kassa listen` derives its own).
    pub fn from_text(text: String) -> Self {
        Self(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(whsec_…)")
    }
}

/// The `Stripe-Signature` header for `payload` sent at Unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed with the whole secret>`, which Stripe's
/// libraries (`Webhook.construct_event`, `webhooks.constructEvent`) verify.
pub fn signature_header(secret: &WebhookSecret, t: i64, payload: &[u8]) -> String {
    format!("t={t},v1={}", signature(secret, t, payload))
}

/// Why a `Stripe-Signature` header does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header has no timestamp (`t=`)")]
    NoTimestamp,
    #[error("the Stripe-Signature header has no `v1` signature")]
    NoSignature,
    #[error("the Stripe-Signature timestamp is older than the tolerance")]
    TooOld,
    #[error("no `v1` signature matches the payload")]
    Mismatch,
}

/// Verify a `Stripe-Signature` header the way Stripe's libraries do, for Rust receivers of
/// kassa's webhooks: comma-separated `key=value` pairs, the first `t` the timestamp (an integer),
/// every `v1` a candidate signature (other schemes ignored). It verifies when one `v1` equals the
/// HMAC of `"<t>.<payload>"` (compared in constant time) and `t` is not older than `tolerance`
/// seconds before `now` (Stripe's libraries allow 300). Answers the timestamp.
pub fn verify_signature(
    secret: &WebhookSecret,
    header: &str,
    payload: &[u8],
    now: Timestamp,
    tolerance: i64,
) -> Result<Timestamp, SignatureError> {
    use subtle::ConstantTimeEq;
    let mut t: Option<Option<Timestamp>> = None;
    let mut candidates = Vec::new();
    for pair in header.split(',') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "t" if t.is_none() => t = Some(value.parse::<Timestamp>().ok()),
            "v1" => candidates.push(value),
            _ => {}
        }
    }
    let t = t.flatten().ok_or(SignatureError::NoTimestamp)?;
    if candidates.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let expected = signature(secret, t, payload);
    let matches = candidates.iter().any(|c| bool::from(c.as_bytes().ct_eq(expected.as_bytes())));
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    if t < now.saturating_sub(tolerance) {
        return Err(SignatureError::TooOld);
    }
    Ok(t)
}

/// The hex HMAC-SHA256 of `"<t>.<payload>"`.
pub fn signature(secret: &WebhookSecret, t: i64, payload: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = match <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose().as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointStatus {
    Enabled,
    Disabled,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }
}

/// Why kassa disabled an endpoint on its own (an endpoint disabled through the API has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabledReason {
    /// Every attempt failed for a whole retry window.
    DeliveriesFailed,
}

impl DisabledReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeliveriesFailed => "deliveries_failed",
        }
    }
}

/// One of an endpoint's delivery slots, taken: a claim (`token`) that sends a few of its
/// deliveries one after another, until `until` at most.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub token: String,
    pub until: Timestamp,
}

/// Where an account's events are sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub created: Timestamp,
    pub url: String,
    /// `["*"]` for every type, or a list of types.
    pub enabled_events: Vec<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub api_version: Option<String>,
    pub status: EndpointStatus,
    /// Why kassa disabled it, if kassa did.
    #[serde(default)]
    pub disabled_reason: Option<DisabledReason>,
    pub secret: WebhookSecret,
    /// Until when every delivery slot is taken (0: one is free): no worker needs to look at the
    /// endpoint before then, unless an attempt ends and gives its slot back first.
    #[serde(default)]
    pub locked_until: Timestamp,
    /// The slots taken, one per claim sending to it; a slot past its `until` (its holder died) is
    /// free.
    #[serde(default)]
    pub in_flight: Vec<Slot>,
    /// When an attempt was last answered with a 2xx.
    #[serde(default)]
    pub last_succeeded_at: Option<Timestamp>,
}

/// The most types an endpoint can list (Stripe's own limit is far above kassa's type count).
const MAX_ENABLED_EVENTS: usize = 100;

impl WebhookEndpoint {
    pub fn new(url: String, enabled_events: Vec<String>, now: Timestamp) -> Self {
        Self {
            id: ids::new_id(ids::prefix::WEBHOOK_ENDPOINT),
            created: now,
            url,
            enabled_events,
            description: None,
            metadata: Metadata::new(),
            api_version: None,
            status: EndpointStatus::Enabled,
            disabled_reason: None,
            secret: WebhookSecret::generate(),
            locked_until: 0,
            in_flight: Vec::new(),
            last_succeeded_at: None,
        }
    }

    /// Does this endpoint want events of `kind`?
    pub fn wants(&self, kind: EventType) -> bool {
        self.enabled_events.iter().any(|e| e == "*" || e == kind.as_str())
    }

    /// How many more claims may send to it at `now` with `slots` in all (slots whose holder died
    /// are freed first).
    pub fn free_slots(&mut self, now: Timestamp, slots: usize) -> usize {
        self.in_flight.retain(|s| s.until > now);
        slots.saturating_sub(self.in_flight.len())
    }

    /// Take a slot for the claim `token`, until `until` at most.
    pub fn take_slot(&mut self, token: &str, until: Timestamp) {
        self.in_flight.push(Slot { token: token.to_owned(), until });
    }

    /// Give back the slot of the claim `token` (nothing if it had run out and was freed).
    pub fn give_back(&mut self, token: &str) {
        self.in_flight.retain(|s| s.token != token);
    }

    /// Bring `locked_until` up to date after slots were taken or given back: the moment the first
    /// slot frees itself when all `slots` are taken, else 0.
    pub fn settle(&mut self, now: Timestamp, slots: usize) {
        self.in_flight.retain(|s| s.until > now);
        self.locked_until = match self.in_flight.len() >= slots {
            true => self.in_flight.iter().map(|s| s.until).min().unwrap_or(0),
            false => 0,
        };
    }

    /// Take note of an attempt's outcome.
    pub fn note(&mut self, attempt: &Attempt) {
        if attempt.succeeded() {
            self.last_succeeded_at =
                Some(self.last_succeeded_at.map_or(attempt.created, |t| t.max(attempt.created)));
        }
    }

    /// `failed` has just used up its retry window: if nothing was delivered to this endpoint since
    /// that delivery's first attempt, every attempt failed for a whole window, so disable the
    /// endpoint. Whether it did.
    pub fn give_up_after(&mut self, failed: &WebhookDelivery) -> bool {
        let since = failed.first_attempt_at.unwrap_or(failed.created);
        if self.status != EndpointStatus::Enabled || self.last_succeeded_at.is_some_and(|t| t >= since) {
            return false;
        }
        self.status = EndpointStatus::Disabled;
        self.disabled_reason = Some(DisabledReason::DeliveriesFailed);
        true
    }
}

/// Check an endpoint's `url`: an absolute http(s) URL without a user name or password in it, and,
/// unless `allow_private`, not a literal address that is not public ([`address`]; a host name is
/// checked when a delivery resolves it).
pub fn check_endpoint_url(url: &str, allow_private: bool) -> Result<(), Invalid> {
    crate::session::check_url("url", url)?;
    let parsed =
        url::Url::parse(url).map_err(|_| Invalid::new(ErrorCode::UrlInvalid, "url", "Not a valid URL."))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Invalid::new(
            ErrorCode::UrlInvalid,
            "url",
            "A webhook endpoint's URL cannot carry a user name or password (`user:password@`): \
             authenticate deliveries by their `Stripe-Signature` instead.",
        ));
    }
    if !allow_private && let Some(why) = address::literal(&parsed).and_then(address::refusal) {
        return Err(Invalid::new(
            ErrorCode::UrlInvalid,
            "url",
            format!(
                "Webhooks cannot be sent to {why}: this server sends them only to public addresses \
                 (it runs with --webhook-allow-private false)."
            ),
        ));
    }
    Ok(())
}

/// Check `enabled_events`: `*` or known types, at least one, no repeats kept.
pub fn check_enabled_events(events: Vec<String>) -> Result<Vec<String>, Invalid> {
    if events.is_empty() {
        return Err(Invalid::new(
            ErrorCode::ParameterMissing,
            "enabled_events",
            "`enabled_events` must list at least one event type, or `*` for all of them.",
        ));
    }
    if events.len() > MAX_ENABLED_EVENTS {
        return Err(Invalid::param(
            "enabled_events",
            format!("`enabled_events` can list at most {MAX_ENABLED_EVENTS} types."),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for (i, e) in events.into_iter().enumerate() {
        if e != "*" && EventType::parse(&e).is_none() {
            return Err(Invalid::param(
                format!("enabled_events[{i}]"),
                format!(
                    "Invalid event type: {}. Use `*` or one of the event types kassa sends.",
                    crate::error::shown(&e)
                ),
            ));
        }
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting to be sent, or to be retried.
    Pending,
    Succeeded,
    /// Retried for the whole retry window without a 2xx.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed].into_iter().find(|d| d.as_str() == s)
    }
}

/// One try at sending a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub created: Timestamp,
    /// The HTTP status the endpoint answered; `None` when there was no answer.
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    /// The start of the answer's body ([`RESPONSE_SNIPPET`] bytes at most).
    pub response_body: String,
    /// What went wrong without an answer: a timeout, a refused or dropped connection.
    pub error: Option<String>,
}

/// How much of an endpoint's answer an attempt keeps.
pub const RESPONSE_SNIPPET: usize = 1024;

/// How many attempts a delivery keeps (the most recent ones); the retry window ends long before.
const MAX_KEPT_ATTEMPTS: usize = 100;

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: String,
    pub created: Timestamp,
    pub event: String,
    pub event_type: EventType,
    pub webhook_endpoint: String,
    pub status: DeliveryStatus,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<Timestamp>,
    /// When it was first tried (normally the moment it was queued): its retry window starts here.
    #[serde(default)]
    pub first_attempt_at: Option<Timestamp>,
    pub attempts: Vec<Attempt>,
    /// The attempt lease: until when a worker holds this delivery (0: no one does).
    #[serde(default)]
    pub locked_until: Timestamp,
    /// Which claim holds the lease.
    #[serde(default)]
    pub lease: Option<String>,
}

impl WebhookDelivery {
    pub fn new(event: &Event, endpoint: &str, now: Timestamp) -> Self {
        Self {
            id: ids::new_sortable_id(ids::prefix::WEBHOOK_DELIVERY),
            created: now,
            event: event.id.clone(),
            event_type: event.kind,
            webhook_endpoint: endpoint.to_owned(),
            status: DeliveryStatus::Pending,
            next_attempt_at: Some(now),
            first_attempt_at: None,
            attempts: Vec::new(),
            locked_until: 0,
            lease: None,
        }
    }

    /// Pending, its next attempt due, and no one attempting it.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.due_at().is_some_and(|t| t <= now)
    }

    /// When a worker may next attempt it: its next attempt's time, or the end of a lease held
    /// past that; `None` once it is done (succeeded or failed). What claims look for.
    pub fn due_at(&self) -> Option<Timestamp> {
        (self.status == DeliveryStatus::Pending)
            .then(|| self.next_attempt_at.unwrap_or(0).max(self.locked_until))
    }

    /// Whether a worker is attempting it at `now`.
    pub fn in_flight(&self, now: Timestamp) -> bool {
        self.locked_until > now
    }

    /// Take the lease for the claim `token` until `until`, if the delivery is pending and no one
    /// holds it at `now` (due or not: a resend attempts it at once). Whether it did; recording the
    /// attempt (or letting go of it unsent) presents the token.
    pub fn claim(&mut self, token: &str, now: Timestamp, until: Timestamp) -> bool {
        if self.status != DeliveryStatus::Pending || self.in_flight(now) {
            return false;
        }
        self.locked_until = until;
        self.lease = Some(token.to_owned());
        true
    }

    /// Let go of the lease of the claim `token` without an attempt (the claim ran short of time),
    /// if it still holds it: the delivery is due again as it was.
    pub fn release(&mut self, token: &str) {
        if self.lease.as_deref() == Some(token) {
            self.locked_until = 0;
            self.lease = None;
        }
    }

    /// Record an attempt made at `attempt.created` under the claim `token`, and decide what comes
    /// next: done on a 2xx, otherwise a retry after the policy's backoff (`jitter` in 0..=1000 per
    /// mille of a quarter of the delay), or `failed` once the next try would fall outside the
    /// retry window that began with the first attempt. The lease is given back if `token` still
    /// holds it (a claim that outlived its lease and was taken over releases nothing). An attempt
    /// on a delivery that is already done (a taken-over claim's) is kept, and only a 2xx changes
    /// anything.
    pub fn record(&mut self, attempt: Attempt, token: &str, policy: &RetryPolicy, jitter_per_mille: u16) {
        self.release(token);
        let now = attempt.created;
        let ok = attempt.succeeded();
        let first = *self.first_attempt_at.get_or_insert(now);
        self.attempts.push(attempt);
        if self.attempts.len() > MAX_KEPT_ATTEMPTS {
            let extra = self.attempts.len() - MAX_KEPT_ATTEMPTS;
            self.attempts.drain(..extra);
        }
        if ok {
            self.status = DeliveryStatus::Succeeded;
            self.next_attempt_at = None;
            return;
        }
        if self.status != DeliveryStatus::Pending {
            return;
        }
        let failures = self.attempts.iter().rev().take_while(|a| !a.succeeded()).count();
        let next = now.saturating_add(policy.delay(failures, jitter_per_mille));
        if next > first.saturating_add(policy.retry_for) {
            self.status = DeliveryStatus::Failed;
            self.next_attempt_at = None;
        } else {
            self.next_attempt_at = Some(next);
        }
    }

    /// Make a pending delivery due now (its endpoint was repaired), whatever its backoff.
    pub fn requeue(&mut self, now: Timestamp) {
        if self.status == DeliveryStatus::Pending {
            self.next_attempt_at = Some(now);
        }
    }
}

/// When failed deliveries are tried again: after `first` seconds, doubling each time up to `cap`,
/// plus up to a quarter of the delay at random (so that many failed deliveries do not come back
/// in lockstep), for `retry_for` seconds after the delivery's first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first: i64,
    pub cap: i64,
    pub retry_for: i64,
}

impl Default for RetryPolicy {
    /// 1 min, 2, 4, … up to 6 hours between tries, for 3 days: about 20 attempts.
    fn default() -> Self {
        Self { first: 60, cap: 6 * 3600, retry_for: 3 * 86_400 }
    }
}

impl RetryPolicy {
    /// The wait after the `failures`-th failure in a row (1-based).
    pub fn delay(&self, failures: usize, jitter_per_mille: u16) -> i64 {
        let first = self.first.max(1);
        let cap = self.cap.max(first);
        let doublings = u32::try_from(failures.saturating_sub(1)).unwrap_or(u32::MAX).min(40);
        let base = first.saturating_mul(1i64 << doublings).min(cap);
        let jitter = base / 4 * i64::from(jitter_per_mille.min(1000)) / 1000;
        base + jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
            let json = serde_json::to_string(t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(EventType::parse("customer.deleted"), None);
        assert_eq!(EventType::matching("customer.subscription.*").len(), 6);
        assert_eq!(EventType::matching("*").len(), EventType::ALL.len());
        assert_eq!(EventType::matching("invoice.paid"), [EventType::InvoicePaid]);
        assert!(EventType::matching("nothing.*").is_empty());
    }

    /// HMAC-SHA256 keyed with "whsec_test" over "1700000000.{}", as Python's hmac module computes
    /// it.
    #[test]
    fn signatures_verify_as_stripes_libraries_verify_them() {
        let secret = WebhookSecret::from_text("whsec_test".to_owned());
        let body = br#"{"id":"evt_1"}"#;
        let header = signature_header(&secret, 1_000, body);
        assert_eq!(verify_signature(&secret, &header, body, 1_200, 300), Ok(1_000));
        // Several signatures (a rolled secret), other schemes, extra pairs: one match is enough.
        let good = signature(&secret, 1_000, body);
        let several = format!("t=1000,v0=abc,v1=00ff,v1={good},x=y");
        assert_eq!(verify_signature(&secret, &several, body, 1_000, 300), Ok(1_000));
        // The first `t` counts.
        let twice = format!("t=1000,t=2000,v1={good}");
        assert_eq!(verify_signature(&secret, &twice, body, 1_000, 300), Ok(1_000));
        for (header, why) in [
            (format!("v1={good}"), SignatureError::NoTimestamp),
            (format!("t=abc,v1={good}"), SignatureError::NoTimestamp),
            (format!("t= 1000,v1={good}"), SignatureError::NoTimestamp),
            ("t=1000".to_owned(), SignatureError::NoSignature),
            ("t=1000,v0=abc".to_owned(), SignatureError::NoSignature),
            (format!("t=1001,v1={good}"), SignatureError::Mismatch),
            (format!("t=1000,v1={}", good.to_uppercase()), SignatureError::Mismatch),
            ("t=1000,v1=".to_owned(), SignatureError::Mismatch),
            (String::new(), SignatureError::NoTimestamp),
        ] {
            assert_eq!(verify_signature(&secret, &header, body, 1_000, 300), Err(why), "{header}");
        }
        assert_eq!(verify_signature(&secret, &header, b"{}", 1_000, 300), Err(SignatureError::Mismatch));
        let other = WebhookSecret::from_text("whsec_other".to_owned());
        assert_eq!(verify_signature(&other, &header, body, 1_000, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(&secret, &header, body, 1_301, 300), Err(SignatureError::TooOld));
        assert_eq!(verify_signature(&secret, &header, body, 1_300, 300), Ok(1_000), "300 s is within");
        assert_eq!(verify_signature(&secret, &header, body, i64::MIN, 300), Ok(1_000), "no overflow");
    }

    #[test]
    fn signature_matches_an_independent_hmac() {
        let secret = WebhookSecret::from_text("whsec_test".to_owned());
        let header = signature_header(&secret, 1_700_000_000, b"{}");
        assert_eq!(header, format!("t=1700000000,v1={}", signature(&secret, 1_700_000_000, b"{}")));
        assert_eq!(
            signature(&secret, 1_700_000_000, b"{}"),
            "35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(signature(&secret, 1_700_000_000, b"{ }"), signature(&secret, 1_700_000_000, b"{}"));
        assert_ne!(signature(&secret, 1_700_000_001, b"{}"), signature(&secret, 1_700_000_000, b"{}"));
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let s = WebhookSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert!(!format!("{s:?}").contains(&s.expose()[6..]));
        let e = WebhookEndpoint::new("https://example.com/hook".into(), vec!["*".into()], 1);
        assert!(!format!("{e:?}").contains(&e.secret.expose()[6..]));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, 0), 60);
        assert_eq!(p.delay(2, 0), 120);
        assert_eq!(p.delay(3, 0), 240);
        assert_eq!(p.delay(30, 0), 6 * 3600);
        assert_eq!(p.delay(1, 1000), 75);
        assert_eq!(p.delay(usize::MAX, 1000), 6 * 3600 + 6 * 900);
        let tiny = RetryPolicy { first: 0, cap: 0, retry_for: 10 };
        assert_eq!(tiny.delay(1, 0), 1);
    }

    fn attempt(at: Timestamp, status: Option<u16>) -> Attempt {
        Attempt {
            created: at,
            status_code: status,
            duration_ms: 3,
            response_body: String::new(),
            error: None,
        }
    }

    /// A `customer.created` event about an empty object.
    fn an_event() -> Event {
        Event::new(
            EventType::CustomerCreated,
            RawValue::from_string("{}".into()).unwrap(),
            RequestRef::default(),
            0,
        )
    }

    #[test]
    fn a_delivery_retries_within_the_window_then_fails() {
        let p = RetryPolicy { first: 10, cap: 40, retry_for: 100 };
        let event = an_event();
        let mut d = WebhookDelivery::new(&event, "we_1", 0);
        assert!(d.is_due(0));
        d.record(attempt(0, Some(500)), "t", &p, 0);
        assert_eq!((d.status, d.next_attempt_at), (DeliveryStatus::Pending, Some(10)));
        assert!(!d.is_due(9) && d.is_due(10));
        d.record(attempt(10, None), "t", &p, 0);
        assert_eq!(d.next_attempt_at, Some(30));
        d.record(attempt(30, Some(302)), "t", &p, 0);
        assert_eq!(d.next_attempt_at, Some(70));
        // The next wait (40) would end past the first attempt + 100: give up.
        d.record(attempt(70, Some(404)), "t", &p, 0);
        assert_eq!((d.status, d.next_attempt_at, d.due_at()), (DeliveryStatus::Failed, None, None));
        assert!(!d.is_due(1000));
        assert_eq!(d.attempts.len(), 4);
        // A late attempt of a taken-over claim is kept, but a failure changes nothing more.
        d.record(attempt(80, Some(500)), "old", &p, 0);
        assert_eq!((d.status, d.attempts.len()), (DeliveryStatus::Failed, 5));

        let mut ok = WebhookDelivery::new(&event, "we_1", 0);
        ok.record(attempt(0, Some(503)), "t", &p, 0);
        ok.record(attempt(10, Some(204)), "t", &p, 0);
        assert_eq!((ok.status, ok.next_attempt_at), (DeliveryStatus::Succeeded, None));
        ok.requeue(50);
        assert!(!ok.is_due(50), "only a pending delivery is requeued");

        // First tried long after it was queued (its endpoint was disabled): the window starts then.
        let mut late = WebhookDelivery::new(&event, "we_1", 0);
        late.record(attempt(500, Some(500)), "t", &p, 0);
        assert_eq!((late.status, late.next_attempt_at), (DeliveryStatus::Pending, Some(510)));
        late.requeue(505);
        assert!(late.is_due(505));
    }

    #[test]
    fn a_claim_leases_a_delivery_until_recorded_released_or_run_out() {
        let p = RetryPolicy::default();
        let event = an_event();
        let mut d = WebhookDelivery::new(&event, "we_1", 0);
        assert!(d.claim("a", 100, 130));
        assert!(d.in_flight(129) && !d.is_due(129) && d.due_at() == Some(130));
        assert!(!d.claim("b", 129, 160), "held");
        // The holder died: the lease runs out and another worker takes over.
        assert!(d.is_due(130));
        assert!(d.claim("b", 130, 160));
        d.record(attempt(131, Some(500)), "a", &p, 0);
        assert_eq!(d.lease.as_deref(), Some("b"), "an expired claim releases nothing");
        d.record(attempt(132, Some(200)), "b", &p, 0);
        assert_eq!((d.status, d.lease.as_deref(), d.locked_until), (DeliveryStatus::Succeeded, None, 0));
        assert!(!d.claim("c", 200, 230), "done");

        // A claim that ran short of time lets go: due again as it was.
        let mut unsent = WebhookDelivery::new(&event, "we_1", 0);
        assert!(unsent.claim("a", 0, 30));
        unsent.release("other");
        assert!(unsent.in_flight(1));
        unsent.release("a");
        assert!(unsent.is_due(1) && unsent.attempts.is_empty());

        // A resend claims a delivery waiting for its retry, without waiting for it.
        let mut waiting = WebhookDelivery::new(&event, "we_1", 0);
        assert!(waiting.claim("a", 0, 30));
        waiting.record(attempt(1, Some(500)), "a", &p, 0);
        assert!(!waiting.is_due(2));
        assert!(waiting.claim("b", 2, 32));
    }

    #[test]
    fn endpoint_slots_cap_attempts_in_flight() {
        let mut e = WebhookEndpoint::new("https://example.com".into(), vec!["*".into()], 0);
        assert_eq!(e.free_slots(100, 2), 2);
        e.take_slot("a", 130);
        e.settle(100, 2);
        assert_eq!(e.locked_until, 0, "a slot is still free");
        e.take_slot("b", 140);
        e.settle(100, 2);
        assert_eq!((e.free_slots(100, 2), e.locked_until), (0, 130), "full until the first runs out");
        e.give_back("b");
        e.settle(101, 2);
        assert_eq!((e.free_slots(101, 2), e.locked_until), (1, 0));
        // A slot whose holder died frees itself.
        assert_eq!(e.free_slots(130, 2), 2);
        assert!(e.in_flight.is_empty());
    }

    #[test]
    fn an_endpoint_is_disabled_only_when_nothing_succeeded_for_a_whole_window() {
        let p = RetryPolicy { first: 10, cap: 40, retry_for: 100 };
        let event = an_event();
        let mut failed = WebhookDelivery::new(&event, "we_1", 0);
        failed.record(attempt(5, Some(500)), "t", &p, 0);
        failed.status = DeliveryStatus::Failed;

        let mut alive = WebhookEndpoint::new("https://example.com".into(), vec!["*".into()], 0);
        alive.note(&attempt(50, Some(200)));
        alive.note(&attempt(40, Some(500)));
        assert_eq!(alive.last_succeeded_at, Some(50));
        assert!(!alive.give_up_after(&failed), "another event got through meanwhile");
        assert_eq!(alive.status, EndpointStatus::Enabled);

        let mut dead = WebhookEndpoint::new("https://example.com".into(), vec!["*".into()], 0);
        dead.note(&attempt(4, Some(200)));
        assert!(dead.give_up_after(&failed));
        assert_eq!(
            (dead.status, dead.disabled_reason),
            (EndpointStatus::Disabled, Some(DisabledReason::DeliveriesFailed))
        );
        assert!(!dead.give_up_after(&failed), "once");
    }

    #[test]
    fn endpoint_urls_refuse_credentials_always_and_private_addresses_when_asked() {
        for allow in [true, false] {
            let e = check_endpoint_url("https://user:pw@m.test/h", allow).unwrap_err();
            assert!(e.message.contains("user name or password"), "{}", e.message);
            assert!(check_endpoint_url("https://user@m.test/h", allow).is_err());
            assert!(check_endpoint_url("https://m.test/h", allow).is_ok());
            assert!(check_endpoint_url("http://localhost:3000/h", allow).is_ok(), "names are checked later");
        }
        assert!(check_endpoint_url("http://127.0.0.1:3000/h", true).is_ok());
        let e = check_endpoint_url("http://0x7f000001:3000/h", false).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("url"));
        assert!(e.message.contains("127.0.0.1 is a loopback address"), "{}", e.message);
        assert!(check_endpoint_url("http://93.184.216.34/h", false).is_ok());
    }

    #[test]
    fn enabled_events_are_checked() {
        assert_eq!(check_enabled_events(vec!["*".into()]).unwrap(), ["*"]);
        let got = check_enabled_events(vec!["invoice.paid".into(), "invoice.paid".into()]).unwrap();
        assert_eq!(got, ["invoice.paid"]);
        assert_eq!(check_enabled_events(vec![]).unwrap_err().param.as_deref(), Some("enabled_events"));
        let err = check_enabled_events(vec!["invoice.paid".into(), "nope".into()]).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("enabled_events[1]"));
        let e = WebhookEndpoint::new("https://x.test".into(), vec!["invoice.paid".into()], 0);
        assert!(e.wants(EventType::InvoicePaid) && !e.wants(EventType::CustomerCreated));
    }

    #[test]
    fn previous_attributes_are_the_changed_top_level_fields() {
        let before = serde_json::json!({"status": "trialing", "items": [1], "cancel_at_period_end": false});
        let after = serde_json::json!({"status": "active", "items": [1], "cancel_at_period_end": false});
        assert_eq!(previous_attributes(&before, &after), Some(serde_json::json!({"status": "trialing"})));
        assert_eq!(previous_attributes(&after, &after), None);
    }
}
