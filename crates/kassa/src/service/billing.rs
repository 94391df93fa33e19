//! Subscriptions over time: the scheduler's passes, test clocks, cancellation, and
//! changes of items with their prorations (`POST /subscriptions/{id}`, previewed by
//! `GET /invoices/upcoming`; an `always_invoice` invoice is charged at once by a pass over the
//! subscription's timeline), and invoices voided or marked uncollectible. The rules are
//! [`kassa_core::renewal`]'s and [`kassa_core::proration`]'s; this is where they meet the store,
//! the payment processor and the outbox.
//!
//! ## A pass ([`bill_due`] runs passes until one finds nothing)
//! 1. **advance** — one transaction claims up to [`Chunk::subscriptions`] subscriptions due by
//!    `until` (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so concurrent schedulers share them
//!    out), runs their steps that charge nothing (trial notices, period ends: the new period and
//!    its invoice) at their own times, at most [`Chunk::steps`] of them in all, and takes a lease
//!    on each whose next step is a charge;
//! 2. **charge** — the processor charges the saved payment methods, outside any transaction;
//! 3. **record** — one transaction writes each outcome (paid, or the dunning schedule), if the
//!    lease is still this pass's, and lets go of the lease.
//!
//! ## Bounded work per transaction
//! However much is due — a test clock advanced by two years over thousands of daily
//! subscriptions is millions of steps — no transaction does more than one [`Chunk`]: a
//! subscription whose steps the budget cut short is saved as far as it got and is still due, so
//! the next pass goes on with it. On SQLite every transaction runs on the one writer thread, in
//! the order they were queued; a run awaits each chunk before it queues the next, so the
//! transactions other requests queued meanwhile commit in between, and a request waits for at
//! most one chunk, not for the whole run. On PostgreSQL a chunk bounds how long a transaction
//! holds its rows.
//!
//! Every step writes its events in its transaction, dated at the step's time. A pass that dies
//! between 1 and 3 leaves leased subscriptions, which the next pass after the lease takes up again:
//! a charge is at least once (the test network keeps no money, a real processor would get the
//! invoice id as its idempotency key).
//!
//! ## Time
//! Real-time subscriptions are billed by the scheduler inside `kassa serve` up to now. A test
//! clock's subscriptions are billed only by advancing the clock ([`advance_clock`]): round after
//! round, everything due at the earliest due time, until nothing is due by the clock's new time.
//! So a year goes by in order, across all of the clock's customers, with no cap on how many.

use kassa_core::billing::SubscriptionStatus;
use kassa_core::billing::{
    Invoice, PaymentError, PaymentIntent, PaymentMethod, Subscription, SubscriptionItem,
};
use kassa_core::catalog::Price;
use kassa_core::params::{
    IntOrWord, InvoicePreview, PauseParam, SubscriptionCancel, SubscriptionItemParam, SubscriptionUpdate,
    TestClockAdvance, TestClockCreate, TestClockList,
};
use kassa_core::payment::SavedBehaviour;
use kassa_core::proration::{self, Behavior};
use kassa_core::renewal::{self, ClockStatus, Due, Happened, TestClock};
use kassa_core::store::{
    Abort, Cmp, Column, Filter, Kind, Record, Scope, StoreError, StoreExt, Tx, TxExt, Value, view,
};
use kassa_core::time::Timestamp;
use kassa_core::webhook::EventType;
use kassa_core::{Error as DomainError, Invalid};

use super::events::{Outbox, transact};
use super::{Acct, Result, get, list, update};
use crate::state::{AppState, Ctx};
use crate::views;

/// How much of a billing run one transaction does (see the module docs): small enough that the
/// requests queued behind a chunk on the SQLite writer wait milliseconds, large enough that a run
/// is not all commits (each commit writes every index page it touched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Subscriptions one transaction claims, and so the most charges one transaction records.
    pub subscriptions: u32,
    /// Steps that charge nothing (a period's end and its invoice, a trial notice) one transaction
    /// runs across its subscriptions; at least one runs, so that every pass makes progress.
    pub steps: u32,
}

impl Default for Chunk {
    fn default() -> Self {
        Self { subscriptions: 100, steps: 100 }
    }
}
/// How long a pass holds a subscription while charging it, in seconds.
const LEASE: i64 = 60;

/// Whose subscriptions a pass bills.
#[derive(Debug, Clone)]
pub enum Timeline {
    /// Those on no test clock, in every account.
    Real,
    /// One test clock's.
    Clock { account: String, clock: String },
}

impl Timeline {
    fn scope(&self) -> Scope<'_> {
        match self {
            Self::Real => Scope::All,
            Self::Clock { account, .. } => Scope::Account(account),
        }
    }

    fn filter(&self) -> Filter {
        match self {
            Self::Real => Filter::Eq(Column::TestClock, Value::Null),
            Self::Clock { clock, .. } => Filter::Eq(Column::TestClock, clock.as_str().into()),
        }
    }
}

/// A charge the advance step leased, for the charge and record steps.
struct Charge {
    account: String,
    subscription: String,
    invoice: Invoice,
    behaviour: Option<SavedBehaviour>,
    /// The payment method charged: the subscription's, or its customer's default.
    payment_method: Option<String>,
    at: Timestamp,
    lease: Timestamp,
}

/// Run passes until nothing of `timeline` is due by `until`; returns how many subscriptions were
/// touched.
pub async fn bill_due(ctx: &Ctx, timeline: &Timeline, until: Timestamp) -> Result<usize> {
    let mut total = 0;
    loop {
        let touched = pass(ctx, timeline, until).await?;
        if touched.is_empty() {
            return Ok(total);
        }
        total += touched.len();
    }
}

/// A subscription a pass touched, and when it is due next.
type Touched = (String, Option<Timestamp>);

async fn pass(ctx: &Ctx, timeline: &Timeline, until: Timestamp) -> Result<Vec<Touched>> {
    let now = ctx.now();
    let lease = now + LEASE;
    let tl = timeline.clone();
    let chunk = ctx.billing_chunk;
    let origin = ctx.tax_origin_country.clone();
    let (touched, charges) = transact(ctx, now, move |tx, out| {
        let due = tx.find(
            tl.scope(),
            Kind::Subscription,
            &[
                tl.filter(),
                Filter::Cmp(Column::DueAt, Cmp::Lte, until),
                Filter::Cmp(Column::LockedUntil, Cmp::Lte, now),
            ],
            chunk.subscriptions.max(1),
        )?;
        let mut touched = Vec::with_capacity(due.len());
        let mut charges = Vec::new();
        let mut steps = chunk.steps.max(1);
        for raw in due {
            if steps == 0 {
                break; // the rest stay due for the next pass
            }
            let account = raw.account.clone();
            let mut sub = Subscription::from_raw(&raw)?;
            refresh_taxes(tx, &account, &mut sub, &origin)?;
            if let Some(charge) = advance_one(tx, out, &account, &mut sub, until, lease, &mut steps)? {
                charges.push(charge);
            }
            tx.put(&account, &sub)?;
            touched.push((sub.id.clone(), sub.due_at));
        }
        Ok((touched, charges))
    })
    .await?;
    if charges.is_empty() {
        return Ok(touched);
    }
    let mut outcomes = Vec::with_capacity(charges.len());
    for c in charges {
        let outcome = match &c.behaviour {
            Some(b) => {
                ctx.processor.charge_saved(b, c.invoice.amount_due, c.invoice.currency).await.map_err(|d| {
                    PaymentError {
                        code: d.code,
                        decline_code: d.decline_code,
                        message: d.message,
                        payment_method: None,
                    }
                })
            }
            None => Err(PaymentError {
                code: "payment_method_unavailable".to_owned(),
                decline_code: None,
                message: "The subscription has no saved payment method to charge.".to_owned(),
                payment_method: None,
            }),
        };
        outcomes.push((c, outcome));
    }
    let dunning = ctx.dunning;
    let recorded = transact(ctx, now, move |tx, out| {
        let mut recorded = Vec::with_capacity(outcomes.len());
        for (c, outcome) in outcomes {
            let Some(mut sub) = tx.load::<Subscription>(&c.account, &c.subscription)? else { continue };
            if sub.locked_until != c.lease {
                continue; // the lease ran out and another pass took over
            }
            sub.locked_until = 0;
            let Some(mut invoice) = tx.load::<Invoice>(&c.account, &c.invoice.id)? else { continue };
            let existing: Option<PaymentIntent> = match &invoice.payment_intent {
                Some(pi) => tx.load(&c.account, pi)?,
                None => None,
            };
            let (mut pi, is_new) = renewal::intent_for(&invoice, existing, &sub, c.at);
            if pi.payment_method.is_none() {
                pi.payment_method.clone_from(&c.payment_method);
            }
            let before = views::subscription(&sub);
            let reached_network = c.behaviour.is_some();
            let happened =
                renewal::record_attempt(&mut sub, &mut invoice, &mut pi, is_new, outcome, c.at, &dunning);
            out.set_now(c.at);
            if reached_network {
                let failure = happened
                    .contains(&Happened::PaymentIntentFailed)
                    .then(|| pi.last_payment_error.clone())
                    .flatten();
                if failure.is_some() || happened.contains(&Happened::PaymentIntentSucceeded) {
                    let charge = super::charges::record(tx, &c.account, &mut pi, failure, c.at)?;
                    super::charges::announce(tx, out, &c.account, &charge)?;
                }
            }
            tx.upsert(&c.account, &pi)?;
            tx.put(&c.account, &invoice)?;
            tx.put(&c.account, &sub)?;
            out.set_now(c.at);
            announce(tx, out, &c.account, &happened, &before, &sub, Some(&invoice), Some(&pi))?;
            recorded.push((sub.id.clone(), sub.due_at));
        }
        Ok(recorded)
    })
    .await?;
    // What a charge changed is newer than what the advance step saw.
    let mut touched = touched;
    for (id, due) in recorded {
        if let Some(t) = touched.iter_mut().find(|(t, _)| *t == id) {
            t.1 = due;
        }
    }
    Ok(touched)
}

/// The account's active tax rates automatic tax chooses from, oldest first.
const MAX_AUTOMATIC_RATES: u32 = 100;

/// Before `sub` makes an invoice: its customer's tax standing as it is now — `tax_exempt`, tax
/// ids and, with automatic tax, the rate for their current address
/// ([`Subscription::refresh_taxes`]).
fn refresh_taxes(
    tx: &mut dyn Tx,
    account: &str,
    sub: &mut Subscription,
    origin: &str,
) -> Result<(), StoreError> {
    let Some(customer) = tx.load::<kassa_core::catalog::Customer>(account, &sub.customer)? else {
        return Ok(());
    };
    let rates: Vec<kassa_core::tax::TaxRate> = if sub.automatic_tax {
        tx.select(
            Scope::Account(account),
            Kind::TaxRate,
            &[Filter::Eq(Column::Active, true.into())],
            MAX_AUTOMATIC_RATES,
        )?
        .iter()
        .map(kassa_core::tax::TaxRate::from_raw)
        .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    sub.refresh_taxes(&customer, &rates, origin);
    Ok(())
}

/// The payment method `sub`'s invoices are charged with, as on Stripe: its own
/// `default_payment_method`, else its customer's `invoice_settings.default_payment_method` while
/// that one is still attached to the customer.
pub(crate) fn charged_method(
    tx: &mut dyn Tx,
    account: &str,
    sub: &Subscription,
) -> Result<Option<PaymentMethod>, StoreError> {
    if let Some(pm) = &sub.default_payment_method {
        return tx.load::<PaymentMethod>(account, pm);
    }
    customer_default(tx, account, &sub.customer)
}

/// `customer`'s `invoice_settings.default_payment_method`, while it is attached to them.
pub(crate) fn customer_default(
    tx: &mut dyn Tx,
    account: &str,
    customer: &str,
) -> Result<Option<PaymentMethod>, StoreError> {
    let Some(c) = tx.load::<kassa_core::catalog::Customer>(account, customer)? else { return Ok(None) };
    let Some(pm) = c.default_payment_method else { return Ok(None) };
    Ok(tx.load::<PaymentMethod>(account, &pm)?.filter(|m| m.customer.as_deref() == Some(customer)))
}

/// Run `sub`'s steps due by `until` that charge nothing, while `steps` (the transaction's budget,
/// counted down) lasts; lease it if the next one is a charge.
fn advance_one(
    tx: &mut dyn Tx,
    out: &mut Outbox,
    account: &str,
    sub: &mut Subscription,
    until: Timestamp,
    lease: Timestamp,
    steps: &mut u32,
) -> Result<Option<Charge>, Abort<DomainError>> {
    while let Some((at, due)) = sub.next_due().filter(|(t, _)| *t <= until) {
        if due == Due::Attempt {
            let Some(collecting) = sub.collecting.clone() else { break };
            let Some(invoice) = tx.load::<Invoice>(account, &collecting.invoice)? else {
                // The invoice is gone (its customer's clock was deleted): stop collecting it.
                sub.collecting = None;
                sub.schedule();
                continue;
            };
            let method = charged_method(tx, account, sub)?;
            let behaviour = method
                .as_ref()
                .and_then(|pm| pm.saved_behaviour.clone())
                .and_then(|v| serde_json::from_value::<SavedBehaviour>(v).ok());
            sub.locked_until = lease;
            return Ok(Some(Charge {
                account: account.to_owned(),
                subscription: sub.id.clone(),
                invoice,
                behaviour,
                payment_method: method.map(|m| m.id),
                at,
                lease,
            }));
        }
        if *steps == 0 {
            break; // still due: the next pass goes on from here
        }
        *steps -= 1;
        let before = views::subscription(sub);
        if due == Due::Expire
            && let Some(c) = &sub.collecting
            && let Some(mut inv) = tx.load::<Invoice>(account, &c.invoice)?
            && inv.void(at).is_ok()
        {
            // An incomplete subscription's first invoice is voided as the subscription expires.
            tx.put(account, &inv)?;
            out.set_now(at);
            out.emit(tx, account, EventType::InvoiceVoided, views::invoice(&inv))?;
        }
        if due == Due::PeriodEnd {
            // The customer's pending invoice items come along on the period's invoice.
            let lines = super::subscriptions::pending_lines(tx, account, sub)?;
            sub.pending_invoice_items.extend(lines);
        }
        // A trial ending without a payment method of the subscription's own is charged with the
        // customer's default when there is one: `missing_payment_method` does not apply then.
        let kept = if due == Due::PeriodEnd
            && sub.default_payment_method.is_none()
            && sub.missing_payment_method.is_some()
            && charged_method(tx, account, sub)?.is_some()
        {
            sub.missing_payment_method.take()
        } else {
            None
        };
        let step = renewal::advance(sub, at)
            .map_err(|_| Abort::refuse(Invalid::general("A renewal's amounts are too large.")))?;
        if kept.is_some() {
            sub.missing_payment_method = kept;
        }
        // Invoice items the step did not invoice (it ended the subscription) stay pending.
        sub.pending_invoice_items.retain(|l| l.invoice_item.is_none());
        if let Some(inv) = &step.invoice {
            tx.put_new(account, inv)?;
            super::subscriptions::mark_collected(tx, account, inv)?;
        }
        // `invoice.upcoming` carries the invoice the period's end will make, as
        // `GET /invoices/upcoming` shows it (pending invoice items included).
        let upcoming = match due {
            Due::Upcoming => {
                let mut next = sub.clone();
                next.pending_invoice_items.extend(super::subscriptions::pending_lines(tx, account, sub)?);
                renewal::upcoming(&next).ok()
            }
            _ => None,
        };
        out.set_now(at);
        let invoice = step.invoice.as_ref().or(upcoming.as_ref());
        announce(tx, out, account, &step.happened, &before, sub, invoice, None)?;
    }
    // What is due may have changed since `due_at` was written (an update that paused collection
    // takes back an `invoice.upcoming`): written again, so the scheduler never finds a subscription
    // due that has nothing due.
    sub.schedule();
    Ok(None)
}

/// Write the events of what happened, in order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn announce(
    tx: &mut dyn Tx,
    out: &mut Outbox,
    account: &str,
    happened: &[Happened],
    before: &serde_json::Value,
    sub: &Subscription,
    invoice: Option<&Invoice>,
    pi: Option<&PaymentIntent>,
) -> Result<(), StoreError> {
    for h in happened {
        match h {
            Happened::TrialWillEnd => {
                out.emit(tx, account, EventType::CustomerSubscriptionTrialWillEnd, views::subscription(sub))?;
            }
            Happened::Upcoming => {
                if let Some(inv) = invoice {
                    out.emit(tx, account, EventType::InvoiceUpcoming, views::upcoming_invoice(inv))?;
                }
            }
            Happened::Updated => {
                let kind = EventType::CustomerSubscriptionUpdated;
                out.emit_update(tx, account, kind, before, views::subscription(sub))?;
            }
            Happened::Deleted => {
                out.emit(tx, account, EventType::CustomerSubscriptionDeleted, views::subscription(sub))?;
            }
            Happened::Paused => {
                out.emit(tx, account, EventType::CustomerSubscriptionPaused, views::subscription(sub))?;
            }
            Happened::InvoiceVoided => {
                if let Some(inv) = invoice {
                    out.emit(tx, account, EventType::InvoiceVoided, views::invoice(inv))?;
                }
            }
            Happened::InvoiceCreated | Happened::InvoicePaid | Happened::InvoicePaymentFailed => {
                let kind = match h {
                    Happened::InvoiceCreated => EventType::InvoiceCreated,
                    Happened::InvoicePaid => EventType::InvoicePaid,
                    _ => EventType::InvoicePaymentFailed,
                };
                match invoice {
                    Some(inv) if kind == EventType::InvoiceCreated => emit_created(tx, out, account, inv)?,
                    Some(inv) if kind == EventType::InvoicePaid => emit_paid(tx, out, account, inv)?,
                    Some(inv) => out.emit(tx, account, kind, views::invoice(inv))?,
                    None => {}
                }
            }
            Happened::PaymentIntentCreated
            | Happened::PaymentIntentSucceeded
            | Happened::PaymentIntentFailed => {
                let kind = match h {
                    Happened::PaymentIntentCreated => EventType::PaymentIntentCreated,
                    Happened::PaymentIntentSucceeded => EventType::PaymentIntentSucceeded,
                    _ => EventType::PaymentIntentPaymentFailed,
                };
                if let Some(pi) = pi {
                    out.emit(tx, account, kind, views::PaymentIntentDoc(pi))?;
                }
            }
        }
    }
    Ok(())
}

/// `invoice.created`, then `invoice.finalized`: kassa's invoices are final when made (never
/// drafts), and Stripe sends `invoice.finalized` when an invoice leaves its draft.
///
/// A final invoice (not a draft) is numbered here, once, and written again with its number and
/// hosted page ([`super::charges::number_invoice`]): every use case that makes an invoice
/// announces it through this function, so none is left without a number.
pub fn emit_created(
    tx: &mut dyn Tx,
    out: &mut Outbox,
    account: &str,
    inv: &Invoice,
) -> Result<(), StoreError> {
    let mut inv = inv.clone();
    if inv.number.is_none() && inv.status != kassa_core::billing::InvoiceStatus::Draft {
        super::charges::number_invoice(tx, out, account, &mut inv)?;
        tx.put(account, &inv)?;
    }
    out.emit(tx, account, EventType::InvoiceCreated, views::invoice(&inv))?;
    if inv.status != kassa_core::billing::InvoiceStatus::Draft {
        out.emit(tx, account, EventType::InvoiceFinalized, views::invoice(&inv))?;
    }
    Ok(())
}

/// `invoice.paid`, then `invoice.payment_succeeded` (Stripe sends both; older integrations listen
/// for the second).
///
/// An invoice announced by [`emit_created`] in this transaction was numbered there; a caller's
/// copy from before that shows the number it was given.
pub fn emit_paid(tx: &mut dyn Tx, out: &mut Outbox, account: &str, inv: &Invoice) -> Result<(), StoreError> {
    let mut inv = inv.clone();
    if inv.number.is_none()
        && let Some(stored) = tx.load::<Invoice>(account, &inv.id)?
    {
        inv.number = stored.number;
        inv.hosted_token = stored.hosted_token;
        inv.hosted_invoice_url = stored.hosted_invoice_url;
    }
    out.emit(tx, account, EventType::InvoicePaid, views::invoice(&inv))?;
    out.emit(tx, account, EventType::InvoicePaymentSucceeded, views::invoice(&inv))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Cancellation

/// `POST /subscriptions/{id}/cancel`: canceled now.
pub async fn cancel(ctx: &Ctx, acct: &Acct, id: &str, p: SubscriptionCancel) -> Result<Subscription> {
    if p.invoice_now.is_some_and(|b| b.0) || p.prorate.is_some_and(|b| b.0) {
        return Err(Invalid::param(
            if p.invoice_now.is_some_and(|b| b.0) { "invoice_now" } else { "prorate" },
            "kassa does not prorate or invoice on cancellation; leave this unset or false.",
        )
        .into());
    }
    let details =
        p.cancellation_details.map(kassa_core::billing::CancellationDetails::from_param).transpose()?;
    let now = ctx.now();
    update(ctx, acct, id, move |sub: &mut Subscription, tx, out, account| {
        let at = clock_time(tx, account, sub.test_clock.as_deref(), now)?;
        // An incomplete subscription's first invoice is no longer owed.
        let first = match (&sub.status, &sub.collecting) {
            (SubscriptionStatus::Incomplete, Some(c)) => tx.load::<Invoice>(account, &c.invoice)?,
            _ => None,
        };
        renewal::cancel_now(sub, at)?;
        let mut d = details.or_else(|| sub.cancellation_details.take()).unwrap_or_default();
        d.reason = Some("cancellation_requested".to_owned());
        sub.cancellation_details = Some(d);
        out.set_now(at);
        if let Some(mut inv) = first
            && inv.void(at).is_ok()
        {
            tx.put(account, &inv)?;
            out.emit(tx, account, EventType::InvoiceVoided, views::invoice(&inv))?;
        }
        Ok(out.emit(tx, account, EventType::CustomerSubscriptionDeleted, views::subscription(sub))?)
    })
    .await
}

/// `POST /subscriptions/{id}`: items with their prorations, `default_payment_method` (one of the
/// customer's), `trial_end` (`now` ends the trial and invoices the first period at once),
/// `billing_cycle_anchor=now` (a new period now, the old one's unused time credited),
/// `cancel_at`, `cancel_at_period_end`, `pause_collection`, `metadata`, `description`.
pub async fn update_subscription(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: SubscriptionUpdate,
) -> Result<Subscription> {
    let now = ctx.now();
    let always_invoice = p.items.is_some() && p.proration_behavior.as_deref() == Some("always_invoice");
    let ends_trial = matches!(&p.trial_end, Some(IntOrWord::Word(w)) if w == "now");
    let resets = p.billing_cycle_anchor.as_deref() == Some("now");
    let sub = update(ctx, acct, id, move |sub: &mut Subscription, tx, out, account| {
        let at = clock_time(tx, account, sub.test_clock.as_deref(), now)?;
        let before = views::subscription(sub);
        let change = Change {
            items: p.items.as_deref(),
            behavior: p.proration_behavior.as_deref(),
            date: p.proration_date,
            names: ("proration_behavior", "proration_date", "items"),
        };
        let invoice = change.apply(tx, account, sub, at)?;
        if let Some(pm) = p.default_payment_method.as_deref() {
            let owned = tx.load::<PaymentMethod>(account, pm)?.and_then(|m| m.customer);
            if owned.as_deref() != Some(sub.customer.as_str()) {
                return Err(Invalid::no_such("payment_method", pm, "default_payment_method").into());
            }
            sub.default_payment_method = Some(pm.to_owned());
        }
        let live = matches!(
            sub.status,
            SubscriptionStatus::Active | SubscriptionStatus::PastDue | SubscriptionStatus::Trialing
        );
        // A new period starting now, by `trial_end=now` or `billing_cycle_anchor=now`.
        let mut restart = false;
        match &p.trial_end {
            None => {}
            Some(IntOrWord::Word(w)) if w == "now" && sub.status == SubscriptionStatus::Trialing => {
                sub.trial_end = Some(at);
                restart = true;
            }
            // Not trialing: no trial to end.
            Some(IntOrWord::Word(w)) if w == "now" => {}
            Some(IntOrWord::Int(t)) if sub.status == SubscriptionStatus::Trialing => {
                if *t <= at || *t > at + 730 * kassa_core::time::DAY {
                    return Err(Invalid::param(
                        "trial_end",
                        "`trial_end` must be in the future, at most 730 days ahead (or `now`).",
                    )
                    .into());
                }
                sub.trial_end = Some(*t);
                sub.current_period_end = *t;
                sub.anchor_day = kassa_core::time::to_civil(*t).day;
                sub.trial_will_end_sent = false;
                sub.schedule();
            }
            Some(IntOrWord::Int(_)) => {
                return Err(Invalid::param(
                    "trial_end",
                    "kassa moves `trial_end` only while the subscription is trialing (or ends it with `now`).",
                )
                .into());
            }
            Some(IntOrWord::Word(_)) => {
                return Err(Invalid::param("trial_end", "`trial_end` must be a Unix time or `now`.").into());
            }
        }
        match p.billing_cycle_anchor.as_deref() {
            None | Some("unchanged") => {}
            Some("now") if !live => {
                return Err(DomainError::State(format!(
                    "The billing cycle of a {} subscription cannot be reset.",
                    sub.status.as_str()
                ))
                .into());
            }
            Some("now") => {
                if !restart && sub.status != SubscriptionStatus::Trialing {
                    // The unused time of the period that ends now is credited on the new one's invoice.
                    if p.proration_behavior.as_deref() != Some("none") {
                        let mut emptied = sub.clone();
                        emptied.items.clear();
                        let credits = proration::lines(&emptied, &sub.items, at).map_err(|_| {
                            Abort::refuse(Invalid::general("A proration's amounts are too large."))
                        })?;
                        sub.pending_invoice_items.extend(credits);
                    }
                    sub.billing_cycle_anchor_at = Some(at);
                } else if sub.status == SubscriptionStatus::Trialing {
                    sub.trial_end = Some(at);
                }
                restart = true;
            }
            Some(_) => {
                return Err(Invalid::param(
                    "billing_cycle_anchor",
                    "`billing_cycle_anchor` must be one of now or unchanged.",
                )
                .into());
            }
        }
        let mut step = None;
        if restart {
            // The period starts now; a trial's notice and the renewal's are moot.
            sub.trial_will_end_sent = true;
            sub.current_period_end = at;
            sub.upcoming_sent_for = Some(at);
            sub.anchor_day = kassa_core::time::to_civil(at).day;
            sub.schedule();
            let mut advanced = renewal::advance(sub, at)
                .map_err(|_| Abort::refuse(Invalid::general("The invoice's amounts are too large.")))?;
            if let Some(inv) = &mut advanced.invoice {
                inv.billing_reason = kassa_core::billing::BillingReason::SubscriptionUpdate;
            }
            step = Some(advanced);
        }
        match &p.pause_collection {
            None => {}
            Some(PauseParam::Unset) => sub.pause_collection = None,
            Some(PauseParam::Set(pc)) => {
                match pc.behavior.as_deref() {
                    Some("void") => {}
                    None => return Err(Invalid::missing("pause_collection[behavior]").into()),
                    Some(_) => {
                        return Err(Invalid::param(
                            "pause_collection[behavior]",
                            "kassa pauses collection with `behavior=void` only: invoices are voided as they are made.",
                        )
                        .into());
                    }
                }
                if pc.resumes_at.is_some_and(|r| r.0 <= at) {
                    return Err(Invalid::param(
                        "pause_collection[resumes_at]",
                        "`resumes_at` must be in the future.",
                    )
                    .into());
                }
                sub.pause_collection = Some(kassa_core::billing::PauseCollection {
                    behavior: "void".to_owned(),
                    resumes_at: pc.resumes_at.map(|r| r.0),
                });
            }
        }
        if let Some(b) = p.payment_behavior.as_deref()
            && !["allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"]
                .contains(&b)
        {
            return Err(Invalid::param(
                "payment_behavior",
                "`payment_behavior` must be one of allow_incomplete, default_incomplete, error_if_incomplete or pending_if_incomplete.",
            )
            .into());
        }
        if p.description.is_some() {
            sub.description = kassa_core::catalog::text("description", p.description.clone(), 500)?
                .filter(|d| !d.is_empty());
        }
        match (p.cancel_at, p.cancel_at_period_end) {
            (Some(_), Some(_)) => {
                return Err(Invalid::param(
                    "cancel_at",
                    "You may only specify one of these parameters: cancel_at, cancel_at_period_end.",
                )
                .into());
            }
            (Some(t), None) => renewal::set_cancel_at(sub, t.0, at)?,
            (None, Some(on)) => renewal::set_cancel_at_period_end(sub, on.0, at)?,
            (None, None) => {}
        }
        // Why: kept while a cancellation is asked for, gone once it is withdrawn.
        if let Some(d) = p.cancellation_details {
            sub.cancellation_details = Some(kassa_core::billing::CancellationDetails::from_param(d)?);
        }
        if sub.cancel_at_period_end || sub.cancel_at.is_some() {
            let d = sub.cancellation_details.get_or_insert_with(Default::default);
            d.reason = Some("cancellation_requested".to_owned());
        } else if sub.status != kassa_core::billing::SubscriptionStatus::Canceled {
            sub.cancellation_details = None;
        }
        if p.metadata.is_some() {
            sub.metadata =
                kassa_core::metadata::update(std::mem::take(&mut sub.metadata), p.metadata, "metadata")?;
        }
        let after = views::subscription(sub);
        if after != before {
            out.set_now(at);
            out.emit_update(tx, account, EventType::CustomerSubscriptionUpdated, &before, after)?;
        }
        if let Some(inv) = &invoice {
            tx.put_new(account, inv)?;
            emit_created(tx, out, account, inv)?;
            if inv.status == kassa_core::billing::InvoiceStatus::Paid {
                emit_paid(tx, out, account, inv)?;
            }
        }
        if let Some(step) = step {
            if let Some(inv) = &step.invoice {
                tx.put_new(account, inv)?;
                super::subscriptions::mark_collected(tx, account, inv)?;
            }
            let happened: Vec<Happened> =
                step.happened.into_iter().filter(|h| *h != Happened::Updated).collect();
            announce(tx, out, account, &happened, &before, sub, step.invoice.as_ref(), None)?;
        }
        Ok(())
    })
    .await?;
    // `always_invoice`: the invoice made now is charged now, as Stripe does, by the scheduler's own
    // pass over the subscription's timeline (its lease keeps a concurrent pass from charging twice).
    let Some(collecting) =
        sub.collecting.as_ref().filter(|c| Some(&c.invoice) == sub.latest_invoice.as_ref())
    else {
        return Ok(sub);
    };
    if !(always_invoice || ends_trial || resets) {
        return Ok(sub);
    }
    let attempt_at = collecting.next_attempt_at;
    bill_now(ctx, acct, &sub, attempt_at, now).await?;
    super::get(ctx, acct, id).await
}

/// Run the scheduler's pass over `sub`'s timeline (its test clock's, or the server's) up to that
/// timeline's time, if `attempt_at` is due by then: what an API call that charges now runs.
pub(crate) async fn bill_now(
    ctx: &Ctx,
    acct: &Acct,
    sub: &Subscription,
    attempt_at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    let (timeline, until) = match &sub.test_clock {
        Some(clock) => {
            let t = ctx.store.load::<TestClock>(&acct.id, clock).await?.map_or(now, |c| c.frozen_time);
            (Timeline::Clock { account: acct.id.clone(), clock: clock.clone() }, t)
        }
        None => (Timeline::Real, now),
    };
    if attempt_at <= until {
        bill_due(ctx, &timeline, until).await?;
    }
    Ok(())
}

/// `POST /invoices/{id}/pay`: charge an open subscription invoice now with the subscription's
/// saved payment method, as its next attempt would (the same pass, events and dunning). A decline
/// leaves it open, its attempt counted and its next retry scheduled.
pub async fn pay_invoice(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Invoice> {
    let now = ctx.now();
    let invoice: Invoice = super::get(ctx, acct, id).await?;
    match invoice.status {
        kassa_core::billing::InvoiceStatus::Open => {}
        kassa_core::billing::InvoiceStatus::Paid => {
            return Err(DomainError::State("Invoice is already paid".to_owned()).into());
        }
        s => {
            return Err(DomainError::State(format!(
                "You can only pay open invoices. This invoice is {}.",
                s.as_str()
            ))
            .into());
        }
    }
    let not_collected = || {
        DomainError::State(
            "This invoice is no longer being collected by its subscription; kassa pays only the invoice a subscription is collecting."
                .to_owned(),
        )
    };
    let sub_id = invoice.subscription.clone().ok_or_else(not_collected)?;
    let inv_id = invoice.id.clone();
    let sub = update(ctx, acct, &sub_id, move |sub: &mut Subscription, tx, _, account| {
        let at = clock_time(tx, account, sub.test_clock.as_deref(), now)?;
        match &mut sub.collecting {
            Some(c) if c.invoice == inv_id => c.next_attempt_at = c.next_attempt_at.min(at),
            _ => return Err(not_collected().into()),
        }
        sub.schedule();
        Ok(())
    })
    .await?;
    let attempt_at = sub.collecting.as_ref().map_or(now, |c| c.next_attempt_at);
    bill_now(ctx, acct, &sub, attempt_at, now).await?;
    super::get(ctx, acct, id).await
}

/// A change of a subscription's items and how it is prorated: `POST /subscriptions/{id}`'s
/// `items`, `proration_behavior`, `proration_date`, or the same previewed by
/// `GET /invoices/upcoming` (`subscription_items`, `subscription_proration_*`) and
/// `POST /invoices/create_preview` (`subscription_details[…]`).
struct Change<'a> {
    items: Option<&'a [SubscriptionItemParam]>,
    behavior: Option<&'a str>,
    date: Option<kassa_core::params::Int>,
    /// The parameter names of behavior, date and items, for errors.
    names: (&'static str, &'static str, &'static str),
}

impl Change<'_> {
    /// Change `sub` at `at`: its items, and their prorations pending or (`always_invoice`) on an
    /// invoice made now, which is returned.
    fn apply(
        &self,
        tx: &mut dyn Tx,
        account: &str,
        sub: &mut Subscription,
        at: Timestamp,
    ) -> Result<Option<Invoice>, Abort<DomainError>> {
        let (behavior_name, date_name, items_name) = self.names;
        let behavior = match self.behavior {
            None => Behavior::default(),
            Some(b) => Behavior::parse(b).ok_or_else(|| {
                Invalid::param(
                    behavior_name,
                    format!("`{behavior_name}` must be one of create_prorations, none or always_invoice."),
                )
            })?,
        };
        let prorate_at = match self.date {
            None => at,
            Some(d) if (sub.current_period_start..=sub.current_period_end).contains(&d.0) => d.0,
            Some(_) => {
                return Err(Invalid::param(
                    date_name,
                    format!("`{date_name}` must be within the subscription's current period."),
                )
                .into());
            }
        };
        let Some(items) = self.items else { return Ok(None) };
        if sub.status == kassa_core::billing::SubscriptionStatus::Canceled {
            return Err(DomainError::State(
                "A canceled subscription can only be read; it can no longer be changed.".to_owned(),
            )
            .into());
        }
        let old = sub.items.clone();
        change_items(tx, account, sub, items, items_name)?;
        let too_large = |_| Abort::refuse(Invalid::general("A proration's amounts are too large."));
        if behavior != Behavior::None {
            let lines = proration::lines(sub, &old, prorate_at).map_err(too_large)?;
            sub.pending_invoice_items.extend(lines);
        }
        if behavior == Behavior::AlwaysInvoice {
            return renewal::invoice_pending(sub, at).map_err(too_large);
        }
        Ok(None)
    }
}

/// Apply `items[]` of `POST /subscriptions/{id}`: change, delete or add items. Every new price must
/// be recurring like the subscription's, in its currency and on its interval.
fn change_items(
    tx: &mut dyn Tx,
    account: &str,
    sub: &mut Subscription,
    items: &[SubscriptionItemParam],
    name: &str,
) -> Result<(), Abort<DomainError>> {
    let recurring = sub.items.iter().find_map(|i| i.price.recurring);
    for (n, item) in items.iter().enumerate() {
        let param = |f: &str| format!("{name}[{n}][{f}]");
        let price = match item.price.as_deref() {
            None => None,
            Some(id) => {
                let price = tx
                    .load::<Price>(account, id)?
                    .filter(|p| p.active)
                    .ok_or_else(|| Invalid::no_such("price", id, param("price")))?;
                if price.currency != sub.currency || price.recurring.is_none() || price.recurring != recurring
                {
                    return Err(Invalid::param(
                        param("price"),
                        "The price must be recurring, in the subscription's currency and on its billing interval.",
                    )
                    .into());
                }
                Some(price)
            }
        };
        let quantity = match item.quantity {
            Some(q) if !(1..=999_999).contains(&q.0) => {
                return Err(
                    Invalid::param(param("quantity"), "`quantity` must be between 1 and 999999.").into()
                );
            }
            q => q.map(|q| q.0),
        };
        match item.id.as_deref() {
            Some(id) => {
                let Some(at) = sub.items.iter().position(|i| i.id == id) else {
                    return Err(Invalid::no_such("subscription_item", id, param("id")).into());
                };
                if item.deleted.is_some_and(|d| d.0) {
                    sub.items.remove(at);
                    continue;
                }
                let current = &mut sub.items[at];
                if let Some(price) = price {
                    current.price = price;
                }
                if let Some(q) = quantity {
                    current.quantity = q;
                }
                if item.metadata.is_some() {
                    current.metadata = kassa_core::metadata::update(
                        std::mem::take(&mut current.metadata),
                        item.metadata.clone(),
                        &param("metadata"),
                    )?;
                }
            }
            None => {
                let price = price.ok_or_else(|| Invalid::missing(param("price")))?;
                let mut new = SubscriptionItem::new(price, quantity.unwrap_or(1));
                new.metadata = kassa_core::metadata::create(item.metadata.clone(), &param("metadata"))?;
                sub.items.push(new);
            }
        }
    }
    if sub.items.is_empty() {
        return Err(Invalid::param(name, "A subscription must keep at least one item.").into());
    }
    let mut prices: Vec<&str> = sub.items.iter().map(|i| i.price.id.as_str()).collect();
    prices.sort_unstable();
    if prices.windows(2).any(|w| w[0] == w[1]) {
        return Err(Invalid::param(
            name,
            "Cannot add multiple subscription items with the same price: change the quantity instead.",
        )
        .into());
    }
    Ok(())
}

/// What `POST /invoices/{id}/void|mark_uncollectible` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceAction {
    Void,
    MarkUncollectible,
}

/// `POST /invoices/{id}/void` and `/mark_uncollectible`: the invoice is no longer collected. The
/// subscription collecting it stops retrying it (its status stays as it is, as on Stripe).
pub async fn invoice_action(ctx: &Ctx, acct: &Acct, id: &str, action: InvoiceAction) -> Result<Invoice> {
    let now = ctx.now();
    update(ctx, acct, id, move |inv: &mut Invoice, tx, out, account| {
        let sub = match inv.subscription.as_deref() {
            Some(s) => tx.load::<Subscription>(account, s)?,
            None => None,
        };
        let at = clock_time(tx, account, sub.as_ref().and_then(|s| s.test_clock.as_deref()), now)?;
        let event = match action {
            InvoiceAction::Void => {
                inv.void(at)?;
                EventType::InvoiceVoided
            }
            InvoiceAction::MarkUncollectible => {
                inv.mark_uncollectible(at)?;
                EventType::InvoiceMarkedUncollectible
            }
        };
        if let Some(mut sub) = sub
            && sub.collecting.as_ref().is_some_and(|c| c.invoice == inv.id)
        {
            sub.collecting = None;
            sub.schedule();
            tx.put(account, &sub)?;
        }
        out.set_now(at);
        out.emit(tx, account, event, views::invoice(inv))?;
        Ok(())
    })
    .await
}

/// `GET /invoices/upcoming`, `POST /invoices/create_preview`: the next invoice of `subscription`
/// (or of the customer's first live subscription), pending prorations included.
pub async fn preview_invoice(ctx: &Ctx, acct: &Acct, p: InvoicePreview) -> Result<Invoice> {
    let sub: Subscription = match (p.subscription.as_deref(), p.customer.as_deref()) {
        (Some(id), _) => ctx
            .store
            .load::<Subscription>(&acct.id, id)
            .await?
            .ok_or_else(|| Invalid::no_such("subscription", id, "subscription"))?,
        (None, Some(customer)) => {
            let (account, c) = (acct.id.clone(), customer.to_owned());
            let subs = view(ctx.store.as_ref(), move |tx| {
                let rows = tx.select(
                    Scope::Account(&account),
                    Kind::Subscription,
                    &[Filter::Eq(Column::Customer, c.as_str().into())],
                    1000,
                )?;
                rows.iter().map(Subscription::from_raw).collect::<Result<Vec<_>, _>>()
            })
            .await?;
            subs.into_iter()
                .find(|s| s.next_due().is_some() && !s.cancel_at_period_end)
                .ok_or_else(|| Invalid::general(format!("No upcoming invoices for customer: {customer}")))?
        }
        (None, None) => return Err(Invalid::missing("subscription").into()),
    };
    let ends_first = sub.cancel_at.is_some_and(|t| t <= sub.current_period_end);
    if sub.next_due().is_none() || sub.cancel_at_period_end || ends_first {
        return Err(Invalid::general(format!("No upcoming invoices for subscription: {}", sub.id)).into());
    }
    let details = p.subscription_details.unwrap_or_default();
    let legacy = p.subscription_items.is_some()
        || p.subscription_proration_behavior.is_some()
        || p.subscription_proration_date.is_some();
    let (items, behavior, date, names) = if legacy {
        let names = ("subscription_proration_behavior", "subscription_proration_date", "subscription_items");
        (p.subscription_items, p.subscription_proration_behavior, p.subscription_proration_date, names)
    } else {
        let names = (
            "subscription_details[proration_behavior]",
            "subscription_details[proration_date]",
            "subscription_details[items]",
        );
        (details.items, details.proration_behavior, details.proration_date, names)
    };
    let (account, now) = (acct.id.clone(), ctx.now());
    let origin = ctx.tax_origin_country.clone();
    let previewed = view(ctx.store.as_ref(), move |tx| {
        let mut sub = sub;
        // Taxed as the next invoice will be: from the customer's standing now.
        refresh_taxes(tx, &account, &mut sub, &origin)?;
        let at = clock_time(tx, &account, sub.test_clock.as_deref(), now)?;
        let change = Change { items: items.as_deref(), behavior: behavior.as_deref(), date, names };
        match change.apply(tx, &account, &mut sub, at) {
            // Invoiced now: that is the invoice the change makes.
            Ok(Some(inv)) => Ok(Ok(inv)),
            Ok(None) => {
                // The customer's pending invoice items come along on the next invoice.
                let pending = super::subscriptions::pending_lines(tx, &account, &sub)?;
                sub.pending_invoice_items.extend(pending);
                Ok(renewal::upcoming(&sub).map_err(|_| {
                    DomainError::from(Invalid::general("The next invoice's amounts are too large."))
                }))
            }
            Err(Abort::Store(e)) => Err(e),
            Err(Abort::Refused(e)) => Ok(Err(e)),
        }
    })
    .await?;
    Ok(previewed?)
}

/// The time on `clock`, or `now` for real-time objects.
pub fn clock_time(
    tx: &mut dyn Tx,
    account: &str,
    clock: Option<&str>,
    now: Timestamp,
) -> Result<Timestamp, StoreError> {
    match clock {
        Some(c) => Ok(tx.load::<TestClock>(account, c)?.map_or(now, |c| c.frozen_time)),
        None => Ok(now),
    }
}

// ---------------------------------------------------------------------------------------------
// Test clocks

pub async fn create_clock(ctx: &Ctx, acct: &Acct, p: TestClockCreate) -> Result<TestClock> {
    let frozen = TestClock::check_time(p.frozen_time.ok_or_else(|| Invalid::missing("frozen_time"))?.0)?;
    let name = p.name.filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 300) {
        return Err(Invalid::param("name", "`name` must be at most 300 characters.").into());
    }
    let clock = TestClock::new(name, frozen, ctx.now());
    super::create(ctx, acct, move |_, _, _| Ok(clock)).await
}

pub async fn get_clock(ctx: &Ctx, acct: &Acct, id: &str) -> Result<TestClock> {
    get(ctx, acct, id).await
}

pub async fn list_clocks(ctx: &Ctx, acct: &Acct, p: &TestClockList) -> Result<(Vec<TestClock>, bool)> {
    list(ctx, acct, &p.page(), Vec::new(), p.created.as_ref()).await
}

/// Delete the clock with its customers and their subscriptions.
pub async fn delete_clock(ctx: &Ctx, acct: &Acct, id: &str) -> Result<()> {
    let (account, owned) = (acct.id.clone(), id.to_owned());
    let deleted = kassa_core::store::transact(ctx.store.as_ref(), move |tx| {
        if !tx.delete(&account, Kind::TestClock, &owned)? {
            return Ok(false);
        }
        let on_clock = [Filter::Eq(Column::TestClock, Value::from(owned.as_str()))];
        tx.delete_where(Kind::Subscription, &on_clock)?;
        tx.delete_where(Kind::Customer, &on_clock)?;
        Ok(true)
    })
    .await?;
    if deleted {
        Ok(())
    } else {
        Err(DomainError::NotFound { object: "test_clock", id: id.to_owned() }.into())
    }
}

/// `POST /test_helpers/test_clocks/{id}/advance`: the clock takes its new time and reports
/// `advancing`; the billing runs in the background and the clock is `ready` when it is done.
pub async fn start_advance(ctx: &AppState, acct: &Acct, id: &str, p: TestClockAdvance) -> Result<TestClock> {
    let to = p.frozen_time.ok_or_else(|| Invalid::missing("frozen_time"))?.0;
    let now = ctx.now();
    let clock = update(ctx, acct, id, move |c: &mut TestClock, _, _, _| {
        c.start_advance(to)?;
        c.locked_until = now + CLOCK_LEASE;
        Ok(())
    })
    .await?;
    let (ctx, account, id) = (ctx.clone(), acct.id.clone(), clock.id.clone());
    tokio::spawn(async move {
        let advanced = advance_clock(&ctx, &account, &id).await;
        crate::metrics::billing_run(
            crate::metrics::BillingTrigger::TestClock,
            advanced.as_ref().ok().copied(),
        );
        if let Err(e) = advanced {
            tracing::error!(error = %e, clock = %id, "advancing a test clock failed; the scheduler will retry");
        }
    });
    Ok(clock)
}

/// How long an advance holds its clock before another worker may take it over, in seconds.
const CLOCK_LEASE: i64 = 300;

/// Bill everything due on the clock up to its time, in time order, then make it `ready`.
///
/// Round after round it bills what is due at the earliest due time. The due times are read once
/// and then kept up to date from what each pass reports, so a round costs only its own work.
/// An advance can take longer than the clock's lease (two years over thousands of daily
/// subscriptions), so the run renews the lease while it works: only a run that died lets
/// another take the clock over. Returns how many times a pass touched a subscription.
pub async fn advance_clock(ctx: &Ctx, account: &str, id: &str) -> Result<usize> {
    let Some(clock) = kassa_core::store::StoreExt::load::<TestClock>(ctx.store.as_ref(), account, id).await?
    else {
        return Ok(0);
    };
    let mut total = 0;
    let target = clock.frozen_time;
    let timeline = Timeline::Clock { account: account.to_owned(), clock: id.to_owned() };
    let mut due = DueTimes::default();
    for (sub, t) in due_by(ctx, &timeline, target).await? {
        due.set(sub, Some(t));
    }
    let mut renew_at = ctx.now() + CLOCK_LEASE / 2;
    while let Some(next) = due.earliest().filter(|t| *t <= target) {
        if ctx.now() >= renew_at {
            renew_lease(ctx, account, id, target).await?;
            renew_at = ctx.now() + CLOCK_LEASE / 2;
        }
        let mut touched_any = false;
        loop {
            let touched = pass(ctx, &timeline, next).await?;
            if touched.is_empty() {
                break;
            }
            touched_any = true;
            total += touched.len();
            for (sub, t) in touched {
                due.set(sub, t);
            }
        }
        if !touched_any {
            // Nothing was due after all (changed meanwhile): read the due times again.
            due = DueTimes::default();
            for (sub, t) in due_by(ctx, &timeline, target).await? {
                due.set(sub, Some(t));
            }
            if due.earliest().is_some_and(|t| t <= next) {
                // Still due but not claimable: another worker holds it. Wait for its lease.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
    let now = ctx.now();
    update(
        ctx,
        &Acct { id: account.to_owned(), name: String::new() },
        id,
        move |c: &mut TestClock, _, _, _| {
            if c.frozen_time == target {
                c.status = ClockStatus::Ready;
                c.locked_until = 0;
            } else {
                // Advanced again meanwhile: the next run finishes it.
                c.locked_until = now;
            }
            Ok(())
        },
    )
    .await?;
    Ok(total)
}

/// Hold the clock `CLOCK_LEASE` longer, while it still advances to `target`.
async fn renew_lease(ctx: &Ctx, account: &str, id: &str, target: Timestamp) -> Result<()> {
    let now = ctx.now();
    let (account, id) = (account.to_owned(), id.to_owned());
    kassa_core::store::transact(ctx.store.as_ref(), move |tx| {
        if let Some(mut c) = tx.load::<TestClock>(&account, &id)?
            && c.status == ClockStatus::Advancing
            && c.frozen_time == target
        {
            c.locked_until = now + CLOCK_LEASE;
            tx.put(&account, &c)?;
        }
        Ok(())
    })
    .await?;
    Ok(())
}

/// The due times of a timeline's subscriptions, earliest first.
#[derive(Default)]
struct DueTimes {
    by_sub: std::collections::HashMap<String, Timestamp>,
    by_time: std::collections::BTreeSet<(Timestamp, String)>,
}

impl DueTimes {
    fn set(&mut self, sub: String, due: Option<Timestamp>) {
        if let Some(old) = self.by_sub.remove(&sub) {
            self.by_time.remove(&(old, sub.clone()));
        }
        if let Some(t) = due {
            self.by_time.insert((t, sub.clone()));
            self.by_sub.insert(sub, t);
        }
    }

    fn earliest(&self) -> Option<Timestamp> {
        self.by_time.first().map(|(t, _)| *t)
    }
}

/// Each of the timeline's subscriptions due at or before `until`, with its due time.
async fn due_by(ctx: &Ctx, timeline: &Timeline, until: Timestamp) -> Result<Vec<(String, Timestamp)>> {
    let tl = timeline.clone();
    let due_column = Kind::Subscription.columns().iter().position(|c| *c == Column::DueAt).unwrap_or(0);
    let due = view(ctx.store.as_ref(), move |tx| {
        let rows = tx.select(
            tl.scope(),
            Kind::Subscription,
            &[tl.filter(), Filter::Cmp(Column::DueAt, Cmp::Lte, until)],
            u32::MAX,
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|r| match r.columns.get(due_column) {
                Some(Value::Int(t)) => Some((r.id, *t)),
                _ => None,
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(due)
}

/// Clocks left `advancing` by a process that died (their lease ran out): finish them.
pub async fn resume_clocks(ctx: &Ctx) -> Result<usize> {
    let now = ctx.now();
    let claimed = kassa_core::store::transact(ctx.store.as_ref(), move |tx| {
        let rows = tx.find(
            Scope::All,
            Kind::TestClock,
            &[
                Filter::Eq(Column::Status, ClockStatus::Advancing.as_str().into()),
                Filter::Cmp(Column::LockedUntil, Cmp::Lte, now),
            ],
            16,
        )?;
        let mut claimed = Vec::new();
        for raw in rows {
            let mut c = TestClock::from_raw(&raw)?;
            c.locked_until = now + CLOCK_LEASE;
            tx.put(&raw.account, &c)?;
            claimed.push((raw.account, c.id));
        }
        Ok(claimed)
    })
    .await?;
    let n = claimed.len();
    for (account, id) in claimed {
        advance_clock(ctx, &account, &id).await?;
    }
    Ok(n)
}

/// A customer's clock must exist in the account.
pub fn check_clock(tx: &mut dyn Tx, account: &str, clock: &str) -> Result<(), Abort<DomainError>> {
    match tx.load::<TestClock>(account, clock)? {
        Some(_) => Ok(()),
        None => Err(Invalid::no_such("test_clock", clock, "test_clock").into()),
    }
}
