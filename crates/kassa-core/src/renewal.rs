//! Subscriptions over time: what is due when, and what each step does. No IO: the
//! scheduler (in the app) finds due subscriptions, runs these steps inside transactions, charges
//! between them, and writes what they return.
//!
//! ## What can be due, in time order
//! - **trial_will_end** — 3 days before a trial ends (at once for a shorter trial): only an event.
//! - **upcoming** — [`UPCOMING_NOTICE`] before a period ends that will be invoiced and charged
//!   automatically (not one that ends the subscription, not `send_invoice`): only an event,
//!   `invoice.upcoming`, carrying the invoice the period's end will make ([`upcoming`]). Sent once
//!   per period end ([`Subscription::upcoming_sent_for`]), and not for periods no longer than the
//!   notice (a daily plan would hear of every renewal at its start), as on Stripe.
//! - **attempt** — charging the invoice being collected ([`Collecting`]): the first attempt at the
//!   start of its period, then the dunning retries 1, 2 and 4 days after each failure (3 more
//!   attempts over a week by default). A success pays the invoice and makes the subscription
//!   `active`; a failure makes it `past_due`; after the last failed retry the invoice becomes
//!   `uncollectible` and the subscription `canceled` or `unpaid` ([`Dunning::final_status`]).
//! - **period end** — at `current_period_end`: a subscription set to `cancel_at_period_end` ends
//!   (`canceled`, `ended_at`); otherwise the next period starts and is invoiced (the recurring items
//!   only; one-time items were on the first invoice; then the prorations of changes made during the
//!   period that ended, [`crate::proration`]), and its collection begins.
//! - **cancel_at** — at a `cancel_at` that is not a period's end: it ends (`canceled`, `ended_at`). A period's end is
//!   computed from the anchor day, so Jan 31 → Feb 28 (29) → Mar 31, and `interval_count` counts
//!   whole intervals.
//!
//! Each step happens *at its own time* (`at`), not at the time the scheduler runs it, so a server
//! that was down for a week, or a test clock moved a year ahead, bills every period in order with
//! the right dates.
//!
//! ## Coupons on renewals
//! `forever` discounts every invoice; `repeating` every invoice whose period starts before the
//! discount's end; `once` the first invoice that has something to discount (a trial's $0 invoice
//! does not use it up). A discount that no longer applies is removed from the subscription.
//!
//! `unpaid` and `canceled` subscriptions are not billed again. A period that ends while an earlier
//! invoice is still being collected starts collecting the new invoice; the earlier one stays open
//! and is not retried again.

use serde::{Deserialize, Serialize};

use crate::billing::{
    BillingReason, Collecting, Invoice, InvoiceLine, InvoiceStatus, NO_ATTEMPT, Overflow, PaymentError,
    PaymentIntent, PaymentIntentStatus, Subscription, SubscriptionStatus,
};
use crate::catalog::Duration;
use crate::discount::{self, Line};
use crate::time::{DAY, Timestamp, to_civil};

/// How long before a trial ends `customer.subscription.trial_will_end` is sent.
pub const TRIAL_WILL_END_NOTICE: i64 = 3 * DAY;

/// How long before a renewal `invoice.upcoming` is sent (Stripe's "upcoming renewal events"
/// setting, which kassa keeps at 3 days).
pub const UPCOMING_NOTICE: i64 = 3 * DAY;

/// What happens to failed renewals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dunning {
    /// Waits after the 1st, 2nd and 3rd failed attempt; after the 4th, collection stops.
    pub retry_after: [i64; 3],
    /// `Canceled` or `Unpaid`.
    pub final_status: SubscriptionStatus,
}

impl Default for Dunning {
    fn default() -> Self {
        Self { retry_after: [DAY, 2 * DAY, 4 * DAY], final_status: SubscriptionStatus::Canceled }
    }
}

/// What can be due; at the same moment, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Due {
    TrialWillEnd,
    /// `invoice.upcoming`.
    Upcoming,
    Attempt,
    PeriodEnd,
    /// `cancel_at`, when it is not a period's end.
    CancelAt,
    /// An `incomplete` subscription's 23 hours are over: it becomes `incomplete_expired`.
    Expire,
}

/// How long an `incomplete` subscription's first invoice can be paid before the subscription
/// becomes `incomplete_expired`, as on Stripe.
pub const INCOMPLETE_WINDOW: i64 = 23 * 3600;

/// What a step asks the caller to announce, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened {
    TrialWillEnd,
    /// The next invoice is [`UPCOMING_NOTICE`] away: `invoice.upcoming` with [`upcoming`]'s invoice.
    Upcoming,
    /// The subscription changed (`previous` is how it looked before the step).
    Updated,
    Deleted,
    InvoiceCreated,
    InvoicePaid,
    InvoicePaymentFailed,
    PaymentIntentCreated,
    PaymentIntentSucceeded,
    PaymentIntentFailed,
    /// The invoice made was voided at once (`pause_collection[behavior]=void`).
    InvoiceVoided,
    /// `status` became `paused` (a trial ended without a payment method).
    Paused,
}

impl Subscription {
    /// The day periods end on.
    pub fn anchor(&self) -> u32 {
        if self.anchor_day == 0 { to_civil(self.billing_cycle_anchor()).day } else { self.anchor_day }
    }

    /// The next thing due and when, or `None` when nothing ever will be.
    pub fn next_due(&self) -> Option<(Timestamp, Due)> {
        if self.status == SubscriptionStatus::Incomplete {
            // Only its first invoice, when `POST /invoices/{id}/pay` asks for it, then the end.
            let expire = (self.created.saturating_add(INCOMPLETE_WINDOW), Due::Expire);
            let attempt = self
                .collecting
                .as_ref()
                .filter(|c| c.next_attempt_at < expire.0)
                .map(|c| (c.next_attempt_at, Due::Attempt));
            return Some(attempt.unwrap_or(expire));
        }
        if !matches!(
            self.status,
            SubscriptionStatus::Trialing | SubscriptionStatus::Active | SubscriptionStatus::PastDue
        ) {
            return None;
        }
        let mut due = vec![(self.current_period_end, Due::PeriodEnd)];
        if let Some(t) = self.cancel_at {
            due.push((t, Due::CancelAt));
        }
        if let Some(c) = &self.collecting {
            due.push((c.next_attempt_at, Due::Attempt));
        }
        if self.status == SubscriptionStatus::Trialing
            && !self.trial_will_end_sent
            && let Some(end) = self.trial_end
        {
            due.push((
                (end - TRIAL_WILL_END_NOTICE).max(self.trial_start.unwrap_or(self.created)),
                Due::TrialWillEnd,
            ));
        }
        if let Some(t) = self.upcoming_due() {
            due.push((t, Due::Upcoming));
        }
        // Earliest first; at the same moment, the notice, then the charge, then the next period.
        due.into_iter().min_by_key(|(t, d)| (*t, *d))
    }

    /// When `invoice.upcoming` is due for the current period's end, if it is still to be sent: the
    /// period ends in a renewal charged automatically, and is longer than the notice.
    fn upcoming_due(&self) -> Option<Timestamp> {
        let end = self.current_period_end;
        let renews = !self.cancel_at_period_end
            && self.cancel_at.is_none_or(|t| t > end)
            && self.days_until_due.is_none()
            && self.pause_collection.as_ref().is_none_or(|p| p.resumes_at.is_some_and(|r| r <= end))
            && !(self.status == SubscriptionStatus::Trialing
                && self.default_payment_method.is_none()
                && matches!(self.missing_payment_method.as_deref(), Some("pause" | "cancel")));
        let long_enough = end - self.current_period_start > UPCOMING_NOTICE;
        (renews && long_enough && self.upcoming_sent_for != Some(end)).then_some(end - UPCOMING_NOTICE)
    }

    /// Write down [`Subscription::next_due`] in `due_at`, which the scheduler's query reads.
    pub fn schedule(&mut self) {
        self.due_at = self.next_due().map(|(t, _)| t);
    }

    /// The recurring interval of its items (they all share one).
    fn recurring(&self) -> Option<crate::catalog::Recurring> {
        self.items.iter().find_map(|i| i.price.recurring)
    }
}

/// The outcome of a step that does not charge (a notice, or a period's end).
#[derive(Debug, Clone)]
pub struct Advanced {
    pub happened: Vec<Happened>,
    /// The new period's invoice, if one was made.
    pub invoice: Option<Invoice>,
}

/// Run the step due at `at` (the subscription's `next_due`), unless it is an attempt, which the
/// caller charges first and then records with [`record_attempt`].
pub fn advance(sub: &mut Subscription, at: Timestamp) -> Result<Advanced, Overflow> {
    let mut happened = Vec::new();
    let mut invoice = None;
    match sub.next_due() {
        Some((t, Due::TrialWillEnd)) if t <= at => {
            sub.trial_will_end_sent = true;
            happened.push(Happened::TrialWillEnd);
        }
        Some((t, Due::Upcoming)) if t <= at => {
            sub.upcoming_sent_for = Some(sub.current_period_end);
            happened.push(Happened::Upcoming);
        }
        Some((t, Due::Expire)) if t <= at => {
            sub.status = SubscriptionStatus::IncompleteExpired;
            sub.collecting = None;
            happened.push(Happened::Updated);
        }
        Some((t, Due::PeriodEnd))
            if t <= at
                && sub.status == SubscriptionStatus::Trialing
                && sub.default_payment_method.is_none()
                && matches!(sub.missing_payment_method.as_deref(), Some("pause" | "cancel")) =>
        {
            // `trial_settings[end_behavior][missing_payment_method]`: nothing to charge.
            if sub.missing_payment_method.as_deref() == Some("pause") {
                sub.status = SubscriptionStatus::Paused;
                sub.collecting = None;
                happened.push(Happened::Updated);
                happened.push(Happened::Paused);
            } else {
                sub.status = SubscriptionStatus::Canceled;
                sub.ended_at = Some(t);
                sub.canceled_at.get_or_insert(t);
                sub.collecting = None;
                happened.push(Happened::Deleted);
            }
        }
        Some((t, Due::PeriodEnd)) if t <= at => {
            if sub.cancel_at_period_end || sub.cancel_at == Some(t) {
                sub.status = SubscriptionStatus::Canceled;
                sub.ended_at = Some(t);
                sub.canceled_at.get_or_insert(t);
                sub.collecting = None;
                happened.push(Happened::Deleted);
            } else {
                let new = renew(sub, t)?;
                happened.push(Happened::Updated);
                happened.push(Happened::InvoiceCreated);
                if new.status == InvoiceStatus::Paid {
                    happened.push(Happened::InvoicePaid);
                }
                if new.status == InvoiceStatus::Void {
                    happened.push(Happened::InvoiceVoided);
                }
                invoice = Some(new);
            }
        }
        Some((t, Due::CancelAt)) if t <= at => {
            sub.status = SubscriptionStatus::Canceled;
            sub.ended_at = Some(t);
            sub.canceled_at.get_or_insert(t);
            sub.collecting = None;
            happened.push(Happened::Deleted);
        }
        _ => {}
    }
    sub.schedule();
    Ok(Advanced { happened, invoice })
}

/// What the next invoice will be (`GET /invoices/upcoming`): the next period's, pending
/// prorations included, as it would be made at the end of the current period. Nothing is changed.
pub fn upcoming(sub: &Subscription) -> Result<Invoice, Overflow> {
    let mut next = sub.clone();
    let mut invoice = renew(&mut next, sub.current_period_end)?;
    invoice.status = InvoiceStatus::Draft;
    invoice.paid_at = None;
    // Charged automatically: attempted as the period ends (`send_invoice`: not attempted).
    invoice.next_payment_attempt = sub.days_until_due.is_none().then_some(sub.current_period_end);
    Ok(invoice)
}

/// `proration_behavior=always_invoice`: invoice the pending prorations at `at`, now. The invoice is
/// paid at once when nothing is due, otherwise open and being collected from `at`.
pub fn invoice_pending(sub: &mut Subscription, at: Timestamp) -> Result<Option<Invoice>, Overflow> {
    if sub.pending_invoice_items.is_empty() {
        return Ok(None);
    }
    let lines = std::mem::take(&mut sub.pending_invoice_items);
    let end = sub.current_period_end;
    let mut invoice = Invoice::new(
        sub.customer.clone(),
        sub.currency,
        BillingReason::SubscriptionUpdate,
        lines,
        at,
        end,
        at,
    )?;
    invoice.subscription = Some(sub.id.clone());
    invoice.tax_liability = sub.tax_liability;
    invoice.sum_lines()?;
    sub.latest_invoice = Some(invoice.id.clone());
    collect(sub, &mut invoice, at);
    sub.schedule();
    Ok(Some(invoice))
}

/// Start the period beginning at `t` and make its invoice: paid at once when nothing is due,
/// otherwise open and being collected from `t`.
fn renew(sub: &mut Subscription, t: Timestamp) -> Result<Invoice, Overflow> {
    let recurring = sub.recurring().ok_or(Overflow)?;
    let end = recurring.period_end(t, sub.anchor());
    sub.anchor_day = sub.anchor();
    sub.current_period_start = t;
    sub.current_period_end = end;
    let mut lines: Vec<InvoiceLine> = sub
        .items
        .iter()
        .filter(|i| i.price.recurring.is_some())
        .map(|i| {
            let amount = crate::money::line_amount(i.price.unit_amount, i.quantity).ok_or(Overflow)?;
            let mut line = InvoiceLine::new(i.price.clone(), i.quantity, amount, describe(i), t, end);
            line.subscription_item = Some(i.id.clone());
            // The rates as they were when the subscription began, active or not since.
            line.tax_rates.clone_from(&i.tax_rates);
            Ok(line)
        })
        .collect::<Result<_, Overflow>>()?;
    let discount = sub.discount.clone().filter(|d| match d.duration {
        Duration::Forever | Duration::Once => true,
        Duration::Repeating { .. } => d.end.is_none_or(|e| t < e),
    });
    if let Some(d) = &discount {
        let view: Vec<Line<'_>> =
            lines.iter().map(|l| Line { amount: l.amount, product: l.price.product.as_str() }).collect();
        let split = discount::apply(&d.terms, &view);
        for (line, share) in lines.iter_mut().zip(split.per_line) {
            line.discount_amount = share;
        }
    }
    // The prorations of changes made during the period that just ended come after its lines.
    lines.extend(sub.pending_invoice_items.iter().cloned());
    let mut invoice =
        Invoice::new(sub.customer.clone(), sub.currency, BillingReason::SubscriptionCycle, lines, t, end, t)?;
    sub.pending_invoice_items.clear();
    invoice.subscription = Some(sub.id.clone());
    invoice.discount.clone_from(&discount);
    invoice.tax_liability = sub.tax_liability;
    invoice.automatic_tax = sub.automatic_tax;
    invoice.customer_tax_exempt = sub.customer_tax_exempt;
    invoice.sum_lines()?;
    // A discount that will not apply again comes off: `once` after an invoice it discounted,
    // `repeating` once its end has passed.
    let used_once = discount.as_ref().is_some_and(|d| d.duration == Duration::Once) && invoice.subtotal > 0;
    let ended = sub.discount.as_ref().is_some_and(|d| discount.is_none() && d.duration != Duration::Once);
    if used_once || ended {
        sub.discount = None;
    }
    sub.latest_invoice = Some(invoice.id.clone());
    // `pause_collection` ends at its `resumes_at`; until then every invoice is voided as made.
    if sub.pause_collection.as_ref().is_some_and(|p| p.resumes_at.is_some_and(|r| r <= t)) {
        sub.pause_collection = None;
    }
    if sub.pause_collection.is_some() {
        invoice.status = InvoiceStatus::Void;
        invoice.voided_at = Some(t);
        sub.collecting = None;
        if sub.status == SubscriptionStatus::Trialing {
            sub.status = SubscriptionStatus::Active;
        }
        return Ok(invoice);
    }
    collect(sub, &mut invoice, t);
    if invoice.status == InvoiceStatus::Paid && sub.status == SubscriptionStatus::Trialing {
        sub.status = SubscriptionStatus::Active;
    }
    Ok(invoice)
}

/// Make a new invoice of `sub` at `t` owed: paid at once when nothing is due; otherwise open and
/// collected — charged from `t` on (`charge_automatically`), or waiting to be paid by its due date
/// (`send_invoice`).
pub fn collect(sub: &mut Subscription, invoice: &mut Invoice, t: Timestamp) {
    if invoice.amount_due == 0 {
        invoice.status = InvoiceStatus::Paid;
        invoice.paid_at = Some(t);
        sub.collecting = None;
        return;
    }
    invoice.status = InvoiceStatus::Open;
    let next_attempt_at = match sub.days_until_due {
        Some(days) => {
            invoice.due_date = Some(t.saturating_add(days.saturating_mul(crate::time::DAY)));
            NO_ATTEMPT
        }
        None => {
            invoice.next_payment_attempt = Some(t);
            t
        }
    };
    sub.collecting = Some(Collecting { invoice: invoice.id.clone(), failed_attempts: 0, next_attempt_at });
}

pub(crate) fn describe(item: &crate::billing::SubscriptionItem) -> String {
    format!(
        "{} × {}",
        item.quantity,
        item.price.nickname.clone().unwrap_or_else(|| item.price.product.clone())
    )
}

/// The payment intent of an attempt at `invoice`: the invoice's own, reused across attempts, or a
/// new one. Returns it with whether it is new.
pub fn intent_for(
    invoice: &Invoice,
    existing: Option<PaymentIntent>,
    sub: &Subscription,
    at: Timestamp,
) -> (PaymentIntent, bool) {
    match existing {
        Some(pi) => (pi, false),
        None => {
            let mut pi = PaymentIntent::new(invoice.amount_due, invoice.currency, vec!["card".into()], at);
            pi.customer = Some(sub.customer.clone());
            pi.invoice = Some(invoice.id.clone());
            pi.payment_method.clone_from(&sub.default_payment_method);
            pi.description = Some("Subscription update".to_owned());
            (pi, true)
        }
    }
}

/// Record the outcome of the attempt due at `at` on `invoice` (through `pi`): `Err(error)` is a
/// decline. Updates the subscription, the invoice and the intent; returns what to announce.
pub fn record_attempt(
    sub: &mut Subscription,
    invoice: &mut Invoice,
    pi: &mut PaymentIntent,
    pi_is_new: bool,
    outcome: Result<(), PaymentError>,
    at: Timestamp,
    dunning: &Dunning,
) -> Vec<Happened> {
    let mut happened = Vec::new();
    if pi_is_new {
        happened.push(Happened::PaymentIntentCreated);
    }
    invoice.attempt_count += 1;
    invoice.payment_intent = Some(pi.id.clone());
    let before = sub.status;
    match outcome {
        Ok(()) => {
            pi.status = PaymentIntentStatus::Succeeded;
            pi.last_payment_error = None;
            invoice.status = InvoiceStatus::Paid;
            invoice.amount_paid = invoice.amount_due;
            invoice.amount_remaining = 0;
            invoice.paid_at = Some(at);
            invoice.next_payment_attempt = None;
            sub.collecting = None;
            sub.status = SubscriptionStatus::Active;
            happened.push(Happened::PaymentIntentSucceeded);
            happened.push(Happened::InvoicePaid);
        }
        Err(error) if sub.status == SubscriptionStatus::Incomplete || sub.days_until_due.is_some() => {
            // An incomplete subscription's first invoice, or a sent invoice paid now: no dunning,
            // it waits to be paid again (or for the subscription to expire).
            pi.status = PaymentIntentStatus::RequiresPaymentMethod;
            pi.last_payment_error = Some(error);
            happened.push(Happened::PaymentIntentFailed);
            invoice.next_payment_attempt = None;
            let failed = sub.collecting.as_ref().map_or(0, |c| c.failed_attempts) + 1;
            sub.collecting = Some(Collecting {
                invoice: invoice.id.clone(),
                failed_attempts: failed,
                next_attempt_at: NO_ATTEMPT,
            });
            happened.push(Happened::InvoicePaymentFailed);
        }
        Err(error) => {
            pi.status = PaymentIntentStatus::RequiresPaymentMethod;
            pi.last_payment_error = Some(error);
            happened.push(Happened::PaymentIntentFailed);
            let failed = sub.collecting.as_ref().map_or(0, |c| c.failed_attempts) + 1;
            let wait = usize::try_from(failed - 1).ok().and_then(|i| dunning.retry_after.get(i)).copied();
            match wait {
                Some(wait) => {
                    let next = at + wait;
                    invoice.next_payment_attempt = Some(next);
                    sub.collecting = Some(Collecting {
                        invoice: invoice.id.clone(),
                        failed_attempts: failed,
                        next_attempt_at: next,
                    });
                    sub.status = SubscriptionStatus::PastDue;
                    happened.push(Happened::InvoicePaymentFailed);
                }
                None => {
                    invoice.next_payment_attempt = None;
                    invoice.status = InvoiceStatus::Uncollectible;
                    invoice.marked_uncollectible_at = Some(at);
                    sub.collecting = None;
                    happened.push(Happened::InvoicePaymentFailed);
                    sub.status = dunning.final_status;
                    if dunning.final_status == SubscriptionStatus::Canceled {
                        sub.canceled_at = Some(at);
                        sub.ended_at = Some(at);
                        sub.schedule();
                        happened.push(Happened::Deleted);
                        return happened;
                    }
                }
            }
        }
    }
    if sub.status != before {
        happened.push(Happened::Updated);
    }
    sub.schedule();
    happened
}

/// `POST /subscriptions/{id}/cancel`: end it now.
pub fn cancel_now(sub: &mut Subscription, at: Timestamp) -> Result<(), crate::error::Error> {
    if matches!(sub.status, SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired) {
        return Err(crate::error::Error::State(format!(
            "This subscription has a status of {} and cannot be canceled.",
            sub.status.as_str()
        )));
    }
    sub.status = SubscriptionStatus::Canceled;
    sub.canceled_at = Some(at);
    sub.ended_at = Some(at);
    sub.collecting = None;
    sub.schedule();
    Ok(())
}

/// `POST /subscriptions/{id}` with `cancel_at_period_end`.
pub fn set_cancel_at_period_end(
    sub: &mut Subscription,
    on: bool,
    at: Timestamp,
) -> Result<(), crate::error::Error> {
    if sub.status == SubscriptionStatus::Canceled {
        return Err(crate::error::Error::State(
            "A canceled subscription can only be read; it can no longer be changed.".to_owned(),
        ));
    }
    sub.cancel_at_period_end = on;
    sub.cancel_at = None;
    sub.canceled_at = on.then_some(at);
    sub.schedule();
    Ok(())
}

/// `POST /subscriptions/{id}` with `cancel_at`: it ends at `cancel_at` (after `at`); at the end of
/// the current period, that is `cancel_at_period_end`.
pub fn set_cancel_at(
    sub: &mut Subscription,
    cancel_at: Timestamp,
    at: Timestamp,
) -> Result<(), crate::error::Error> {
    if cancel_at <= at {
        return Err(crate::error::Invalid::param("cancel_at", "`cancel_at` must be in the future.").into());
    }
    set_cancel_at_period_end(sub, cancel_at == sub.current_period_end, at)?;
    if cancel_at != sub.current_period_end {
        sub.cancel_at = Some(cancel_at);
        sub.canceled_at = Some(at);
        sub.schedule();
    }
    Ok(())
}

/// A test clock: a time of its own for the customers created on it, moved forward by
/// `advance`, which bills everything due on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestClock {
    pub id: String,
    pub created: Timestamp,
    pub name: Option<String>,
    pub frozen_time: Timestamp,
    pub status: ClockStatus,
    /// Until when an advance holds the clock (0: none), so that one worker at a time runs it.
    #[serde(default)]
    pub locked_until: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    Ready,
    Advancing,
}

impl ClockStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Advancing => "advancing",
        }
    }
}

/// How long Stripe keeps a test clock; kassa shows it as `deletes_after` but deletes nothing.
pub const CLOCK_LIFETIME: i64 = 30 * DAY;

/// The latest time a test clock can show: 9999-12-31T23:59:59Z, the last second with a four-digit
/// year (what Stripe's dates reach, and far enough that billing periods never overflow).
pub const MAX_CLOCK_TIME: Timestamp = 253_402_300_799;

/// How far one advance may move a clock, in calendar months: two years, Stripe's limit for a clock
/// without subscriptions. Stripe allows less when the clock has subscriptions (two intervals of the
/// shortest); kassa keeps two years for every clock, so that a year of monthly billing still goes
/// by in one advance, and bounds the work instead by running it in chunks (`service::billing`).
/// A caller that needs more advances in steps.
pub const MAX_ADVANCE_MONTHS: u32 = 24;

impl TestClock {
    /// A `frozen_time` as given on create or advance: a Unix time between 1970 and the end of
    /// year 9999 ([`MAX_CLOCK_TIME`]).
    pub fn check_time(t: Timestamp) -> Result<Timestamp, crate::error::Invalid> {
        if (0..=MAX_CLOCK_TIME).contains(&t) {
            Ok(t)
        } else {
            Err(crate::error::Invalid::param(
                "frozen_time",
                format!(
                    "`frozen_time` must be a Unix time in seconds from 0 to {MAX_CLOCK_TIME} (the end of year 9999)."
                ),
            ))
        }
    }

    /// The latest time one advance can take the clock to: two years ([`MAX_ADVANCE_MONTHS`])
    /// after its time, on the same day of the month where there is one (Feb 29 → Feb 28).
    pub fn advance_limit(&self) -> Timestamp {
        let day = crate::time::to_civil(self.frozen_time).day;
        crate::time::add_months(self.frozen_time, MAX_ADVANCE_MONTHS, day).min(MAX_CLOCK_TIME)
    }

    pub fn new(name: Option<String>, frozen_time: Timestamp, now: Timestamp) -> Self {
        Self {
            id: crate::ids::new_id(crate::ids::prefix::TEST_CLOCK),
            created: now,
            name,
            frozen_time,
            status: ClockStatus::Ready,
            locked_until: 0,
        }
    }

    /// Start moving to `to`: it must be later than the clock's time and at most two years later
    /// ([`TestClock::advance_limit`]), and the clock not moving.
    pub fn start_advance(&mut self, to: Timestamp) -> Result<(), crate::error::Error> {
        use crate::error::{Error, Invalid};
        Self::check_time(to)?;
        if self.status == ClockStatus::Advancing {
            return Err(Error::State(
                "This test clock is already advancing; wait until it is ready.".to_owned(),
            ));
        }
        if to <= self.frozen_time {
            return Err(Error::Invalid(Invalid::param(
                "frozen_time",
                format!("`frozen_time` must be later than the clock's current time ({}).", self.frozen_time),
            )));
        }
        let limit = self.advance_limit();
        if to > limit {
            return Err(Error::Invalid(Invalid::param(
                "frozen_time",
                format!(
                    "A test clock can be advanced by at most two years at a time: `frozen_time` can be at most \
                     {limit}, two years after the clock's current time ({}). Advance in steps.",
                    self.frozen_time
                ),
            )));
        }
        self.frozen_time = to;
        self.status = ClockStatus::Advancing;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{Discount, SubscriptionItem};
    use crate::catalog::{CouponValue, DiscountTerms, Interval, Price, Recurring};
    use crate::metadata::Metadata;
    use crate::money::{Currency, Percent};
    use crate::time::{Civil, from_civil};

    fn ts(y: i64, m: u32, d: u32) -> Timestamp {
        from_civil(Civil { year: y, month: m, day: d, second: 12 * 3600 })
    }

    fn sub(start: Timestamp, interval: Interval, count: u32, amount: i64) -> Subscription {
        let usd = Currency::parse("usd").unwrap();
        let price = Price {
            id: "price_1".into(),
            created: start,
            product: "prod_1".into(),
            currency: usd,
            unit_amount: amount,
            recurring: Some(Recurring { interval, interval_count: count }),
            active: true,
            nickname: None,
            lookup_key: None,
            metadata: Metadata::new(),
            tax_behavior: Default::default(),
            inline: false,
        };
        let end = price.recurring.unwrap().period_end(start, to_civil(start).day);
        let mut s =
            Subscription::new("cus_1".into(), usd, vec![SubscriptionItem::new(price, 1)], start, end, start);
        s.status = SubscriptionStatus::Active;
        s.schedule();
        s
    }

    /// Run every step due up to `until`, charging with `charge`; returns the paid invoices.
    fn run(s: &mut Subscription, until: Timestamp, mut charge: impl FnMut(u32) -> bool) -> Vec<Invoice> {
        let mut invoices: Vec<Invoice> = Vec::new();
        let mut pis: Vec<PaymentIntent> = Vec::new();
        let dunning = Dunning::default();
        while let Some((t, due)) = s.next_due().filter(|(t, _)| *t <= until) {
            if due == Due::Attempt {
                let id = s.collecting.clone().unwrap().invoice;
                let inv = invoices.iter_mut().find(|i| i.id == id).unwrap();
                let existing = pis.iter().find(|p| p.invoice.as_deref() == Some(id.as_str())).cloned();
                let (mut pi, new) = intent_for(inv, existing, s, t);
                let outcome = if charge(inv.attempt_count) {
                    Ok(())
                } else {
                    Err(PaymentError {
                        code: "card_declined".into(),
                        decline_code: Some("generic_decline".into()),
                        message: "declined".into(),
                        payment_method: None,
                    })
                };
                record_attempt(s, inv, &mut pi, new, outcome, t, &dunning);
                pis.retain(|p| p.id != pi.id);
                pis.push(pi);
            } else {
                let out = advance(s, t).unwrap();
                invoices.extend(out.invoice);
            }
        }
        invoices
    }

    #[test]
    fn a_year_of_monthly_billing_anchored_on_the_31st() {
        let start = ts(2027, 1, 31);
        let mut s = sub(start, Interval::Month, 1, 1000);
        let invoices = run(&mut s, ts(2028, 1, 31), |_| true);
        assert_eq!(invoices.len(), 12);
        assert!(invoices.iter().all(|i| i.status == InvoiceStatus::Paid && i.amount_paid == 1000));
        let starts: Vec<(i64, u32, u32)> = invoices
            .iter()
            .map(|i| {
                let c = to_civil(i.period_start);
                (c.year, c.month, c.day)
            })
            .collect();
        assert_eq!(starts[0], (2027, 2, 28));
        assert_eq!(starts[1], (2027, 3, 31));
        assert_eq!(starts[2], (2027, 4, 30));
        assert_eq!(starts[11], (2028, 1, 31));
        assert_eq!(s.status, SubscriptionStatus::Active);
        // 2028 is a leap year.
        let mut leap = sub(ts(2028, 1, 31), Interval::Month, 1, 1000);
        let inv = run(&mut leap, ts(2028, 2, 29), |_| true);
        assert_eq!(to_civil(inv[0].period_start).day, 29);
    }

    #[test]
    fn weekly_every_three_months_and_yearly_periods() {
        let start = ts(2027, 3, 1);
        let mut w = sub(start, Interval::Week, 2, 500);
        assert_eq!(run(&mut w, start + 10 * 7 * DAY, |_| true).len(), 5);
        let mut q = sub(start, Interval::Month, 3, 500);
        let inv = run(&mut q, ts(2028, 3, 1), |_| true);
        let months: Vec<u32> = inv.iter().map(|i| to_civil(i.period_start).month).collect();
        assert_eq!(months, [6, 9, 12, 3]);
        let mut y = sub(ts(2028, 2, 29), Interval::Year, 1, 500);
        let inv = run(&mut y, ts(2032, 3, 1), |_| true);
        let days: Vec<(i64, u32)> =
            inv.iter().map(|i| (to_civil(i.period_start).year, to_civil(i.period_start).day)).collect();
        assert_eq!(days, [(2029, 28), (2030, 28), (2031, 28), (2032, 29)]);
    }

    #[test]
    fn dunning_retries_three_times_over_a_week_then_cancels() {
        let start = ts(2027, 5, 10);
        let mut s = sub(start, Interval::Month, 1, 1000);
        let inv = run(&mut s, ts(2027, 7, 1), |_| false);
        assert_eq!(inv.len(), 1, "a canceled subscription is not billed again");
        assert_eq!(inv[0].attempt_count, 4);
        assert_eq!(inv[0].status, InvoiceStatus::Uncollectible);
        assert_eq!(s.status, SubscriptionStatus::Canceled);
        assert_eq!(s.ended_at, Some(ts(2027, 6, 10) + 7 * DAY));
        assert_eq!(s.due_at, None);

        let mut unpaid = sub(start, Interval::Month, 1, 1000);
        let dunning = Dunning { final_status: SubscriptionStatus::Unpaid, ..Dunning::default() };
        assert_eq!(advance(&mut unpaid, ts(2027, 6, 7)).unwrap().happened, [Happened::Upcoming]);
        let mut inv = advance(&mut unpaid, ts(2027, 6, 10)).unwrap().invoice.unwrap();
        let mut pi = intent_for(&inv, None, &unpaid, 0).0;
        for i in 0..4 {
            let at = unpaid.next_due().unwrap().0;
            let err = PaymentError {
                code: "card_declined".into(),
                decline_code: None,
                message: "no".into(),
                payment_method: None,
            };
            record_attempt(&mut unpaid, &mut inv, &mut pi, i == 0, Err(err), at, &dunning);
        }
        assert_eq!(unpaid.status, SubscriptionStatus::Unpaid);
        assert_eq!(unpaid.ended_at, None);
    }

    #[test]
    fn a_later_retry_that_succeeds_makes_it_active_again() {
        let start = ts(2027, 5, 10);
        let mut s = sub(start, Interval::Month, 1, 1000);
        let inv = run(&mut s, ts(2027, 6, 13), |attempt| attempt >= 2);
        assert_eq!(inv[0].status, InvoiceStatus::Paid);
        assert_eq!(inv[0].attempt_count, 3);
        assert_eq!(inv[0].paid_at, Some(ts(2027, 6, 13)));
        assert_eq!(s.status, SubscriptionStatus::Active);
    }

    #[test]
    fn trial_notice_then_first_charge() {
        let start = ts(2027, 1, 1);
        let mut s = sub(start, Interval::Month, 1, 1000);
        s.status = SubscriptionStatus::Trialing;
        s.trial_start = Some(start);
        s.trial_end = Some(start + 14 * DAY);
        s.current_period_end = start + 14 * DAY;
        s.anchor_day = to_civil(start + 14 * DAY).day;
        s.schedule();
        assert_eq!(s.next_due(), Some((start + 11 * DAY, Due::TrialWillEnd)));
        let out = advance(&mut s, start + 11 * DAY).unwrap();
        assert_eq!(out.happened, [Happened::TrialWillEnd]);
        // At the same moment, the invoice the trial's end makes is announced.
        assert_eq!(s.next_due(), Some((start + 11 * DAY, Due::Upcoming)));
        assert_eq!(advance(&mut s, start + 11 * DAY).unwrap().happened, [Happened::Upcoming]);
        assert_eq!(s.next_due(), Some((start + 14 * DAY, Due::PeriodEnd)));
        let inv = run(&mut s, start + 14 * DAY, |_| true);
        assert_eq!(inv[0].amount_paid, 1000);
        assert_eq!(inv[0].period_start, start + 14 * DAY);
        assert_eq!(to_civil(inv[0].period_end).day, 15);
        assert_eq!(s.status, SubscriptionStatus::Active);
    }

    #[test]
    fn upcoming_is_announced_once_per_renewal_three_days_ahead() {
        let start = ts(2027, 1, 10);
        let mut s = sub(start, Interval::Month, 1, 1000);
        assert_eq!(s.next_due(), Some((ts(2027, 2, 7), Due::Upcoming)));
        let out = advance(&mut s, ts(2027, 2, 7)).unwrap();
        assert_eq!((out.happened.as_slice(), out.invoice.is_none()), ([Happened::Upcoming].as_slice(), true));
        assert_eq!(s.upcoming_sent_for, Some(ts(2027, 2, 10)));
        // What it announces is the renewal's invoice, attempted as the period ends.
        let next = upcoming(&s).unwrap();
        assert_eq!((next.amount_due, next.period_start), (1000, ts(2027, 2, 10)));
        assert_eq!(next.next_payment_attempt, Some(ts(2027, 2, 10)));
        assert_eq!(s.next_due(), Some((ts(2027, 2, 10), Due::PeriodEnd)), "once per period");
        // Over a year: one notice before each of the 12 renewals.
        let (mut notices, mut invoices) = (0, Vec::new());
        while let Some((t, due)) = s.next_due().filter(|(t, _)| *t <= ts(2028, 1, 10)) {
            if due == Due::Attempt {
                let id = s.collecting.clone().unwrap().invoice;
                let inv = invoices.iter_mut().find(|i: &&mut Invoice| i.id == id).unwrap();
                let mut pi = intent_for(inv, None, &s, t).0;
                record_attempt(&mut s, inv, &mut pi, true, Ok(()), t, &Dunning::default());
            } else {
                let out = advance(&mut s, t).unwrap();
                notices += usize::from(out.happened == [Happened::Upcoming]);
                invoices.extend(out.invoice);
            }
        }
        assert_eq!(invoices.len(), 12);
        assert_eq!(notices, 11, "Mar 7 … Jan 7");

        // None before a cancellation at the period's end, for send_invoice, or for short periods.
        let mut ending = sub(start, Interval::Month, 1, 1000);
        ending.cancel_at_period_end = true;
        assert_eq!(ending.next_due(), Some((ts(2027, 2, 10), Due::PeriodEnd)));
        let mut invoiced = sub(start, Interval::Month, 1, 1000);
        invoiced.days_until_due = Some(7);
        assert_eq!(invoiced.next_due(), Some((ts(2027, 2, 10), Due::PeriodEnd)));
        let daily = sub(start, Interval::Day, 1, 100);
        assert_eq!(daily.next_due(), Some((start + DAY, Due::PeriodEnd)));
        let weekly = sub(start, Interval::Week, 1, 100);
        assert_eq!(weekly.next_due(), Some((start + 4 * DAY, Due::Upcoming)));
    }

    fn with_coupon(duration: Duration, end: Option<Timestamp>) -> Subscription {
        let start = ts(2027, 1, 15);
        let mut s = sub(start, Interval::Month, 1, 1000);
        s.discount = Some(Discount::new(
            "co_1".into(),
            None,
            DiscountTerms {
                value: CouponValue::Percent { percent: Percent::parse("25").unwrap() },
                applies_to: None,
            },
            duration,
            start,
            end,
        ));
        s
    }

    #[test]
    fn each_coupon_duration_discounts_the_right_invoices() {
        let year = ts(2028, 1, 15);
        let paid =
            |s: &mut Subscription| run(s, year, |_| true).iter().map(|i| i.amount_paid).collect::<Vec<_>>();
        let mut once = with_coupon(Duration::Once, None);
        let got = paid(&mut once);
        assert_eq!(got[0], 750);
        assert!(got[1..].iter().all(|a| *a == 1000));
        assert!(once.discount.is_none());

        let mut forever = with_coupon(Duration::Forever, None);
        assert!(paid(&mut forever).iter().all(|a| *a == 750));
        assert!(forever.discount.is_some());

        // Three months from Jan 15: the periods starting Feb 15 and Mar 15 are discounted.
        let end = ts(2027, 4, 15);
        let mut rep = with_coupon(Duration::Repeating { months: 3 }, Some(end));
        let got = paid(&mut rep);
        assert_eq!(got[..3], [750, 750, 1000]);
        assert!(rep.discount.is_none());
    }

    #[test]
    fn cancel_at_period_end_and_now() {
        let start = ts(2027, 1, 15);
        let mut s = sub(start, Interval::Month, 1, 1000);
        set_cancel_at_period_end(&mut s, true, start + DAY).unwrap();
        assert_eq!(s.canceled_at, Some(start + DAY));
        let inv = run(&mut s, ts(2027, 6, 1), |_| true);
        assert!(inv.is_empty());
        assert_eq!(s.status, SubscriptionStatus::Canceled);
        assert_eq!(s.ended_at, Some(ts(2027, 2, 15)));
        assert!(set_cancel_at_period_end(&mut s, false, start).is_err());

        let mut now = sub(start, Interval::Month, 1, 1000);
        cancel_now(&mut now, start + 5).unwrap();
        assert_eq!(
            (now.status, now.ended_at, now.due_at),
            (SubscriptionStatus::Canceled, Some(start + 5), None)
        );
        assert!(cancel_now(&mut now, start + 6).is_err());
    }

    #[test]
    fn an_incomplete_subscription_waits_23_hours_then_expires() {
        let start = ts(2027, 1, 1);
        let mut s = sub(start, Interval::Month, 1, 1000);
        s.status = SubscriptionStatus::Incomplete;
        s.collecting =
            Some(Collecting { invoice: "in_1".into(), failed_attempts: 1, next_attempt_at: NO_ATTEMPT });
        s.schedule();
        assert_eq!(s.next_due(), Some((start + INCOMPLETE_WINDOW, Due::Expire)), "never retried by itself");
        // Paying brings its attempt forward, before the expiry.
        s.collecting.as_mut().unwrap().next_attempt_at = start + 3600;
        assert_eq!(s.next_due(), Some((start + 3600, Due::Attempt)));
        s.collecting.as_mut().unwrap().next_attempt_at = NO_ATTEMPT;
        let out = advance(&mut s, start + INCOMPLETE_WINDOW).unwrap();
        assert_eq!(out.happened, [Happened::Updated]);
        assert_eq!((s.status, s.next_due()), (SubscriptionStatus::IncompleteExpired, None));
    }

    #[test]
    fn send_invoice_invoices_wait_for_their_due_date_and_are_not_dunned() {
        let start = ts(2027, 1, 1);
        let mut s = sub(start, Interval::Month, 1, 1000);
        s.days_until_due = Some(30);
        let inv = advance(&mut s, ts(2027, 2, 1)).unwrap().invoice.unwrap();
        assert_eq!(
            (inv.status, inv.due_date, inv.next_payment_attempt),
            (InvoiceStatus::Open, Some(ts(2027, 3, 3)), None)
        );
        assert_eq!(s.collecting.as_ref().unwrap().next_attempt_at, NO_ATTEMPT);
        assert_eq!(s.next_due(), Some((ts(2027, 3, 1), Due::PeriodEnd)), "nothing charges it");
        // A declined payment of it (POST /invoices/{id}/pay) leaves it open, the subscription active.
        let mut inv = inv;
        let mut pi = intent_for(&inv, None, &s, ts(2027, 2, 2)).0;
        let err = PaymentError {
            code: "card_declined".into(),
            decline_code: None,
            message: "no".into(),
            payment_method: None,
        };
        record_attempt(&mut s, &mut inv, &mut pi, true, Err(err), ts(2027, 2, 2), &Dunning::default());
        assert_eq!((s.status, inv.status), (SubscriptionStatus::Active, InvoiceStatus::Open));
    }

    #[test]
    fn paused_collection_voids_invoices_until_resumes_at() {
        let start = ts(2027, 1, 1);
        let mut s = sub(start, Interval::Month, 1, 1000);
        s.pause_collection = Some(crate::billing::PauseCollection {
            behavior: "void".into(),
            resumes_at: Some(ts(2027, 2, 15)),
        });
        let out = advance(&mut s, ts(2027, 2, 1)).unwrap();
        assert_eq!(out.invoice.as_ref().unwrap().status, InvoiceStatus::Void);
        assert!(out.happened.contains(&Happened::InvoiceVoided));
        assert!(s.collecting.is_none());
        // Collection resumes before the next renewal, so that one is announced.
        assert_eq!(advance(&mut s, ts(2027, 2, 26)).unwrap().happened, [Happened::Upcoming]);
        let out = advance(&mut s, ts(2027, 3, 1)).unwrap();
        assert_eq!(out.invoice.unwrap().status, InvoiceStatus::Open, "resumed: collected again");
        assert!(s.pause_collection.is_none());
    }

    #[test]
    fn a_trial_ending_without_a_payment_method_pauses_or_cancels_as_asked() {
        for (behavior, status) in
            [("pause", SubscriptionStatus::Paused), ("cancel", SubscriptionStatus::Canceled)]
        {
            let start = ts(2027, 1, 1);
            let mut s = sub(start, Interval::Month, 1, 1000);
            s.status = SubscriptionStatus::Trialing;
            s.trial_start = Some(start);
            s.trial_end = Some(start + 7 * DAY);
            s.current_period_end = start + 7 * DAY;
            s.trial_will_end_sent = true;
            s.missing_payment_method = Some(behavior.into());
            s.schedule();
            let out = advance(&mut s, start + 7 * DAY).unwrap();
            assert!(out.invoice.is_none(), "nothing invoiced");
            assert_eq!(s.status, status);
            assert_eq!(s.next_due(), None);
        }
    }

    #[test]
    fn a_clock_moves_at_most_two_years_at_a_time_and_never_past_year_9999() {
        use crate::error::Error;
        let param = |r: Result<(), Error>| match r {
            Err(Error::Invalid(i)) => (i.param.unwrap_or_default(), i.message),
            other => panic!("not a refusal: {other:?}"),
        };
        let start = ts(2028, 2, 29);
        let mut c = TestClock::new(None, start, start);
        assert_eq!(c.advance_limit(), ts(2030, 2, 28), "two calendar years, on the last day of February");
        let (p, m) = param(c.clone().start_advance(ts(2030, 2, 28) + 1));
        assert_eq!(p, "frozen_time");
        assert!(m.contains("at most two years") && m.contains(&ts(2030, 2, 28).to_string()), "{m}");
        for bad in [-1, MAX_CLOCK_TIME + 1, i64::MAX] {
            let (p, m) = param(c.clone().start_advance(bad));
            assert_eq!(p, "frozen_time");
            assert!(m.contains("253402300799"), "{m}");
            assert!(TestClock::check_time(bad).is_err());
        }
        c.start_advance(ts(2030, 2, 28)).unwrap();
        assert_eq!((c.frozen_time, c.status), (ts(2030, 2, 28), ClockStatus::Advancing));

        // Near the end of year 9999 the limit is the end of year 9999.
        let late = TestClock::new(None, MAX_CLOCK_TIME - 10 * DAY, 0);
        assert_eq!(late.advance_limit(), MAX_CLOCK_TIME);
        assert!(late.clone().start_advance(MAX_CLOCK_TIME).is_ok());
        assert_eq!(TestClock::check_time(MAX_CLOCK_TIME), Ok(MAX_CLOCK_TIME));
        assert_eq!(TestClock::check_time(0), Ok(0));
    }
}
