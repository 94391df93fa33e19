//! Paying on the hosted page.
//!
//! A submission goes through three steps, so that it charges at most once and completes exactly
//! once however many times it is sent:
//! 1. **claim** — one transaction finds the session by its id (the page knows no account),
//!    keeps what the page collected (addresses, custom fields, …),
//!    checks that the session is open and not held by another submission, re-checks that its
//!    discount can still be redeemed (a promotion code that has run out is removed from the
//!    session, and the customer told), and holds the session for a minute;
//! 2. **charge** — the payment processor answers: succeeded, declined, or 3-D Secure first;
//! 3. **record** — one transaction writes the outcome: on success everything
//!    [`completion::complete`] decides (customer, payment method, payment intent or subscription
//!    and first invoice, the redemption, the session `complete`); on a decline the failed attempt
//!    on the session's payment intent; for 3-D Secure the pending challenge.
//!
//! A processor that answers at once, without waiting on anything
//! ([`PaymentProcessor::pay_card_now`](kassa_core::payment::PaymentProcessor::pay_card_now): the
//! test network, which decides from the card number) lets a card it accepts skip the wait: the
//! claim's transaction asks it and goes straight on to step 3 on success, so the session is
//! claimed, paid and completed in one transaction, and nobody else ever sees it held. A decline
//! or a 3-D Secure challenge goes on as above, from the answer already given.
//!
//! Every flow ends in a page [`Outcome`]. A step that decides the answer early stops the flow with
//! it: inside a transaction as [`Abort::Refused`] (rolled back, the outcome handed through), outside
//! as a [`Stop`]. A step that must keep what it changed and still stop (a promotion code that ran
//! out comes off the session) commits and returns the outcome as its value.
//!
//! The card number and CVC live only in the [`ValidCard`] parsed from the request that carried
//! them: the processor sees it, the records get brand, last four digits, expiry and fingerprint.

use kassa_core::billing::{InvoiceStatus, PaymentError, PaymentIntent, PaymentIntentStatus};
use kassa_core::catalog::{Coupon, Customer, PromotionCode};
use kassa_core::completion::{self, BuyerDetails, Paid};
use kassa_core::payment::{
    CardAttempt, CardDetails, Challenge, Decline, FieldError, SavedBehaviour, ValidCard,
};
use kassa_core::session::{CustomerDetails, PaymentMethodType, Session};
use kassa_core::store::{Abort, Kind, StoreError, Tx, TxExt, transact_or_refuse};
use kassa_core::time::Timestamp;
use kassa_core::webhook::EventType;
use kassa_core::{Error as DomainError, Invalid};
use serde_json::{Value, json};

use super::Result;
use super::events::Outbox;
use super::page::{Outcome, Place, Stop, answer, open_by_id, open_for_page, open_session, pending_challenge};
use crate::state::Ctx;
use crate::views;

/// How long a submission holds its session.
const HOLD_SECONDS: i64 = 60;

/// What the page's payment form sent, parsed where it was read.
#[derive(Debug)]
pub struct PayForm {
    pub email: String,
    pub name: String,
    pub payment_method: String,
    /// The card fields: a card that passed the form checks, or what was wrong with each field.
    /// From the moment the form is parsed the number and CVC live only in the masking types
    /// inside [`ValidCard`], whose `Debug` shows no digit of either.
    pub card: std::result::Result<ValidCard, Vec<FieldError>>,
    /// The form's other fields: what the session collects (addresses, phone, tax id, consent,
    /// custom fields, the chosen shipping option).
    pub page: Vec<(String, String)>,
    /// The browser's `Accept-Language`, for the language of the page's refusals.
    pub languages: Option<String>,
    /// Whether every card field was left empty.
    pub card_blank: bool,
}

/// The page the customer lands on after paying: `success_url` with `{CHECKOUT_SESSION_ID}`
/// replaced, or kassa's own confirmation page.
pub fn landing(public_url: &str, s: &Session) -> String {
    match &s.success_url {
        Some(u) => u.replace("{CHECKOUT_SESSION_ID}", &s.id),
        None => format!("{public_url}/pay/{}", s.id),
    }
}

const BUSY: &str = "A payment for this checkout is already in progress. Wait a moment and reload the page.";

/// A payment refused with `message`, shown above the pay button; the session stays open.
fn refused(message: impl Into<String>) -> Outcome {
    Outcome::refused(Place::Payment, message)
}

/// The discount's coupon and promotion code as they are now.
fn discount_records(
    tx: &mut dyn Tx,
    account: &str,
    s: &Session,
) -> std::result::Result<(Option<Coupon>, Option<PromotionCode>), StoreError> {
    let Some(d) = &s.discount else { return Ok((None, None)) };
    let coupon = tx.load::<Coupon>(account, &d.coupon)?;
    let code = match &d.promotion_code {
        Some(c) => tx.load::<PromotionCode>(account, c)?,
        None => None,
    };
    Ok((coupon, code))
}

fn customer_in(
    tx: &mut dyn Tx,
    account: &str,
    s: &Session,
) -> std::result::Result<Option<Customer>, StoreError> {
    match &s.customer {
        Some(c) => tx.load(account, c),
        None => Ok(None),
    }
}

/// A customer's promotion code that can no longer be used comes off the session; `then` says what
/// the customer is told. A merchant's discount stays (the customer cannot remove it).
fn drop_spent_code(s: &mut Session, message: String) -> std::result::Result<Outcome, Abort<Outcome>> {
    if s.discount.as_ref().is_some_and(|d| !d.from_merchant) {
        s.remove_promotion_code().map_err(|e| Abort::Refused(refused(e.message)))?;
        return Ok(refused(message));
    }
    Err(Abort::Refused(refused(message)))
}

/// What the claim did.
enum Claimed {
    /// The session, held for this submission: its contents cannot change until the hold ends,
    /// so its amount is the one to charge.
    Held(Box<Session>),
    /// The claim changed the session (a spent promotion code came off) and the page says why.
    Stopped(Outcome),
}

/// Step 1: hold the session for this submission, after re-checking its discount; answers the
/// session as held.
async fn claim(ctx: &Ctx, account: &str, id: &str) -> std::result::Result<Session, Stop> {
    let now = ctx.now();
    let (account, id) = (account.to_owned(), id.to_owned());
    let claimed = transact_or_refuse(ctx.store.as_ref(), move |tx| {
        let s = open_session(tx, &account, &id, now)?;
        let customer = customer_in(tx, &account, &s)?;
        hold(tx, &account, s, customer.as_ref(), now)
    })
    .await?;
    match claimed {
        Claimed::Held(s) => Ok(*s),
        Claimed::Stopped(outcome) => Err(outcome.into()),
    }
}

/// [`claim`] inside a transaction that has opened `s`: hold it, or stop (the discount ran out,
/// and came off if the customer's) or refuse (another submission holds it).
fn hold(
    tx: &mut dyn Tx,
    account: &str,
    mut s: Session,
    customer: Option<&Customer>,
    now: Timestamp,
) -> std::result::Result<Claimed, Abort<Outcome>> {
    if s.processing_until.is_some_and(|t| t > now) {
        return Err(Abort::Refused(refused(BUSY)));
    }
    let (mut coupon, mut code) = discount_records(tx, account, &s)?;
    if let Err(e) = completion::redeem(&s, coupon.as_mut(), code.as_mut(), customer, now) {
        let from_customer = s.discount.as_ref().is_some_and(|d| !d.from_merchant);
        let message = if from_customer {
            format!("{} It was removed; check the new total.", e.message)
        } else {
            format!("{} Contact the merchant for a new checkout link.", e.message)
        };
        let outcome = drop_spent_code(&mut s, message)?;
        tx.put(account, &s)?;
        return Ok(Claimed::Stopped(outcome));
    }
    s.processing_until = Some(now + HOLD_SECONDS);
    tx.put(account, &s)?;
    Ok(Claimed::Held(Box::new(s)))
}

/// Let go of the session without paying, ending any wait for approval: the customer may change
/// the order and pay again.
async fn release(ctx: &Ctx, account: &str, id: &str) -> Result<()> {
    let (account, id) = (account.to_owned(), id.to_owned());
    kassa_core::store::transact(ctx.store.as_ref(), move |tx| {
        if let Some(mut s) = tx.load::<Session>(&account, &id)? {
            s.processing_until = None;
            s.end_wait();
            tx.put(&account, &s)?;
        }
        Ok(())
    })
    .await?;
    Ok(())
}

/// Shown when the order changed after the customer approved a payment (it cannot, while the
/// payment waits; this is the last check before anything is completed).
const CHANGED: &str =
    "Your order changed after you approved the payment. Nothing was charged; check the total and pay again.";

/// Step 3 on success: complete the session in one transaction, for exactly the `approved` amount
/// (a session whose total differs completes nothing); the outcome says where to send the buyer.
async fn finish(
    ctx: &Ctx,
    account: &str,
    id: &str,
    buyer: BuyerDetails,
    paid: Paid,
    approved: i64,
) -> std::result::Result<Outcome, Stop> {
    let now = ctx.now();
    let (acct, sid) = (account.to_owned(), id.to_owned());
    let public_url = ctx.public_url.clone();
    let outcome = super::events::transact(ctx, now, move |tx, out| {
        out.look_ahead(tx, &acct)?;
        let s = open_session(tx, &acct, &sid, now)?;
        let customer = customer_in(tx, &acct, &s)?;
        complete_in(
            tx,
            out,
            &acct,
            s,
            customer,
            Paying { buyer, paid, approved, now, public_url: &public_url },
        )
    })
    .await?;
    Ok(outcome)
}

/// A payment to complete: who paid, how, the amount they approved, when, and where the session's
/// landing page is.
struct Paying<'a> {
    buyer: BuyerDetails,
    paid: Paid,
    approved: i64,
    now: Timestamp,
    public_url: &'a str,
}

/// [`finish`] inside a transaction that has opened the session `s` and read its `customer` (on
/// PostgreSQL both are locked until the transaction ends).
fn complete_in(
    tx: &mut dyn Tx,
    out: &mut Outbox,
    acct: &str,
    mut s: Session,
    customer: Option<Customer>,
    paying: Paying<'_>,
) -> std::result::Result<Outcome, Abort<Outcome>> {
    let Paying { buyer, paid, approved, now, public_url } = paying;
    if s.amount_total != approved {
        s.processing_until = None;
        s.end_wait();
        tx.put(acct, &s)?;
        return Ok(refused(CHANGED));
    }
    let (mut coupon, mut code) = discount_records(tx, acct, &s)?;
    if let Err(e) = completion::redeem(&s, coupon.as_mut(), code.as_mut(), customer.as_ref(), now) {
        // Redeemed elsewhere since the claim: nothing is completed; a customer's code comes off.
        let message = format!("{} You were not charged; check the new total.", e.message);
        let outcome = drop_spent_code(&mut s, message.clone()).unwrap_or_else(|_| refused(message));
        s.processing_until = None;
        tx.put(acct, &s)?;
        return Ok(outcome);
    }
    let attempt: Option<PaymentIntent> = match &s.attempt {
        Some(pi) => tx.load(acct, pi)?,
        None => None,
    };
    let intent_is_new = attempt.is_none();
    // A customer on a test clock lives on the clock's time: its payment, subscription and
    // events are dated there.
    let now =
        super::billing::clock_time(tx, acct, customer.as_ref().and_then(|c| c.test_clock.as_deref()), now)?;
    out.set_now(now);
    // The customer was read (and on PostgreSQL locked) in this transaction, so a cash balance
    // is debited only if it covers the total now, whatever other payments it made meanwhile.
    let mut done = completion::complete(&mut s, customer, &buyer, paid, attempt, coupon.as_ref(), now)
        .map_err(|e| Abort::Refused(refused(e.message)))?;
    let mut customer = done.customer.clone();
    // What the page collected goes to the customer: all of it to a new one, to an existing
    // one what `customer_update` says; a guest checkout keeps no customer.
    let mut updated = !done.guest
        && s.collection.update_customer(&mut customer, done.customer_is_new, buyer.name.as_deref());
    // The tax ids the page collected land on the customer (`/customers/{id}/tax_ids`).
    let mut new_tax_ids = Vec::new();
    let collected_ids = s.collection.collected.iter().flat_map(|c| &c.tax_ids);
    for t in collected_ids.filter(|_| !done.guest) {
        let known = customer.tax_ids.iter().any(|k| k.r#type == t.r#type && k.value == t.value);
        if !known
            && let Ok(new) =
                kassa_core::tax::CustomerTaxId::create(Some(t.r#type.clone()), Some(t.value.clone()), now)
            && let Ok(added) = customer.add_tax_id(new)
        {
            updated = true;
            new_tax_ids.push(added);
        }
    }
    if done.guest {
        // A guest checkout keeps no customer.
    } else if done.customer_is_new {
        tx.put_fresh(acct, &customer)?;
    } else {
        tx.put(acct, &customer)?;
    }
    if let Some(pm) = &done.payment_method {
        tx.put_fresh(acct, pm)?;
    }
    let mut charge = None;
    if let Some(pi) = &mut done.payment_intent {
        // The payment reached the network (a waiting bank transfer has not yet): its charge.
        if matches!(pi.status, PaymentIntentStatus::Succeeded | PaymentIntentStatus::RequiresCapture) {
            charge = Some(super::charges::record(tx, acct, pi, None, now)?);
        }
        // A new intent's id was just drawn.
        if intent_is_new { tx.put_fresh(acct, pi)? } else { tx.upsert(acct, pi)? }
    }
    if let Some(sub) = &done.subscription {
        tx.put_fresh(acct, sub)?;
    }
    if let Some(inv) = &done.invoice {
        tx.put_fresh(acct, inv)?;
    }
    if let Some(si) = &done.setup_intent {
        tx.put_fresh(acct, si)?;
    }
    if let Some(c) = &coupon {
        tx.put(acct, c)?;
    }
    if let Some(c) = &code {
        tx.put(acct, c)?;
    }
    tx.put(acct, &s)?;
    if updated && !done.customer_is_new {
        out.emit(tx, acct, EventType::CustomerUpdated, views::CustomerDoc(&customer))?;
    }
    let announce_customer = done.customer_is_new && !done.guest;
    let intent = Announced { is_new: intent_is_new, charge: charge.as_ref() };
    announce_completion(tx, out, acct, &s, &customer, announce_customer, &done, intent)?;
    for t in &new_tax_ids {
        out.emit(tx, acct, EventType::CustomerTaxIdCreated, views::tax_id(t, &customer.id))?;
    }
    Ok(Outcome::Completed { redirect: landing(public_url, &s) })
}
/// What a completion did to its payment intent: whether it is new, and its charge.
struct Announced<'a> {
    is_new: bool,
    charge: Option<&'a kassa_core::charge::Charge>,
}

/// The events of a completion, in the order Stripe sends them: the new customer, the payment
/// intent (created, its charge, its outcome), the subscription and its first invoice, then the
/// session.
#[allow(clippy::too_many_arguments)]
fn announce_completion(
    tx: &mut dyn Tx,
    out: &mut Outbox,
    account: &str,
    s: &Session,
    customer: &Customer,
    customer_is_new: bool,
    done: &completion::Completion,
    intent: Announced<'_>,
) -> Result<(), StoreError> {
    if customer_is_new {
        out.emit(tx, account, EventType::CustomerCreated, views::CustomerDoc(customer))?;
    }
    if let Some(pi) = &done.payment_intent {
        if intent.is_new {
            out.emit(tx, account, EventType::PaymentIntentCreated, views::PaymentIntentDoc(pi))?;
        }
        if let Some(c) = intent.charge {
            super::charges::announce(tx, out, account, c)?;
        }
        if pi.status == PaymentIntentStatus::Succeeded {
            out.emit(tx, account, EventType::PaymentIntentSucceeded, views::PaymentIntentDoc(pi))?;
        }
    }
    if let Some(sub) = &done.subscription {
        out.emit(tx, account, EventType::CustomerSubscriptionCreated, views::subscription(sub))?;
    }
    if let Some(inv) = &done.invoice {
        super::billing::emit_created(tx, out, account, inv)?;
        if inv.status == InvoiceStatus::Paid {
            super::billing::emit_paid(tx, out, account, inv)?;
        }
    }
    if let Some(si) = &done.setup_intent {
        out.emit(tx, account, EventType::SetupIntentSucceeded, views::setup_intent(si))?;
    }
    out.emit_session(tx, account, EventType::CheckoutSessionCompleted, s)
}

/// Record what became of a payment attempt on the session's attempt intent (created on the first
/// attempt), in one transaction, with `payment_intent.created` for a new intent and `event` for
/// the outcome; `then` is what the page does next.
async fn record_attempt<F>(
    ctx: &Ctx,
    account: &str,
    id: &str,
    record: F,
    event: Option<EventType>,
    then: Outcome,
) -> std::result::Result<Outcome, Stop>
where
    F: FnOnce(&mut Session, Option<PaymentIntent>, i64) -> PaymentIntent + Send + 'static,
{
    let now = ctx.now();
    let (acct, sid) = (account.to_owned(), id.to_owned());
    super::events::transact(ctx, now, move |tx, out| {
        out.look_ahead(tx, &acct)?;
        let mut s = open_session(tx, &acct, &sid, now)?;
        let attempt: Option<PaymentIntent> = match &s.attempt {
            Some(pi) => tx.load(&acct, pi)?,
            None => None,
        };
        let is_new = attempt.is_none();
        let mut pi = record(&mut s, attempt, now);
        let mut charge = None;
        if event == Some(EventType::PaymentIntentPaymentFailed) {
            let failure = pi.last_payment_error.clone();
            charge = Some(super::charges::record(tx, &acct, &mut pi, failure, now)?);
        }
        // A new intent's id was just drawn.
        if is_new {
            tx.put_fresh(&acct, &pi)?
        } else {
            tx.upsert(&acct, &pi)?
        }
        tx.put(&acct, &s)?;
        if is_new {
            out.emit(tx, &acct, EventType::PaymentIntentCreated, views::PaymentIntentDoc(&pi))?;
        }
        if let Some(c) = &charge {
            super::charges::announce(tx, out, &acct, c)?;
        }
        if let Some(kind) = event {
            out.emit(tx, &acct, kind, views::PaymentIntentDoc(&pi))?;
        }
        Ok(())
    })
    .await?;
    Ok(then)
}

/// Step 3 on a decline: record the failed attempt; the session stays open.
async fn declined(
    ctx: &Ctx,
    account: &str,
    id: &str,
    method: &str,
    d: &Decline,
) -> std::result::Result<Outcome, Stop> {
    let error = PaymentError {
        code: d.code.clone(),
        decline_code: d.decline_code.clone(),
        message: d.message.clone(),
        payment_method: None,
    };
    let method = method.to_owned();
    let record = move |s: &mut Session, attempt, now| completion::decline(s, attempt, &method, error, now);
    let failed = Some(EventType::PaymentIntentPaymentFailed);
    record_attempt(ctx, account, id, record, failed, refused(d.message.clone())).await
}

/// `POST /pay/{id}`: the page's payment form.
pub async fn pay(ctx: &Ctx, id: &str, form: PayForm) -> Result<Outcome> {
    answer(pay_flow(ctx, id, form).await)
}

async fn pay_flow(ctx: &Ctx, id: &str, form: PayForm) -> std::result::Result<Outcome, Stop> {
    let PayForm { email, name, payment_method, card, page, languages, card_blank } = form;
    let card = card.map_err(|errors| {
        let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        messages.join(" ")
    });
    let now = ctx.now();
    let sid = id.to_owned();
    let (processor, key, public_url) =
        (ctx.processor.clone(), ctx.fingerprint_key.clone(), ctx.public_url.clone());
    // One transaction finds the session (and its account) by id, decides what the form asks for,
    // keeps what the page collected and claims the session; and when the processor answers at
    // once that the card is paid, completes it too.
    let step = super::events::transact(ctx, now, move |tx, out| {
        // The account's webhook endpoints go with the read of the session (for the events of a
        // payment completed here).
        let endpoints = out.look_ahead_of(tx, Kind::CheckoutSession, &sid)?;
        let (s, account) = open_by_id(tx, &sid, now)?;
        out.owned_by(endpoints, &account);
        let customer = customer_in(tx, &account, &s)?;
        // `customer_email` is locked on the page: what the form sends instead does not count.
        let email = s.customer_email.as_deref().unwrap_or(&email);
        let buyer = completion::buyer(customer.as_ref(), email, &name)
            .map_err(|e| Abort::Refused(refused(e.message)))?;
        let method = PaymentMethodType::parse(&payment_method)
            .or_else(|| (payment_method.is_empty()).then(|| s.payment_method_types[0]))
            .filter(|m| s.payment_method_types.contains(m))
            .ok_or_else(|| Abort::Refused(refused("Choose one of the payment methods shown.")))?;
        // `payment_method_collection=if_required` and nothing due: card fields left blank collect none.
        let nothing_due = method == PaymentMethodType::Card
            && card_blank
            && s.card_if_required
            && s.mode == kassa_core::session::Mode::Subscription
            && s.amount_total == 0;
        let then = match (method, &card) {
            _ if nothing_due => Then::Claim,
            (PaymentMethodType::Card, Err(message)) => Then::Refuse(message.clone()),
            (PaymentMethodType::Card | PaymentMethodType::CustomerBalance, _) => Then::Claim,
            (PaymentMethodType::Paypal, _) => Then::HoldBuyer(buyer.clone()),
        };
        let form = Collect { page: &page, languages: languages.as_deref() };
        let held = match collect(tx, &account, s, customer.as_ref(), form, then, now)? {
            Claimed::Held(held) => held,
            Claimed::Stopped(outcome) => return Ok(Step::Done(outcome)),
        };
        let mut answered = None;
        if method == PaymentMethodType::Card
            && !nothing_due
            && let Ok(valid) = &card
        {
            match processor.pay_card_now(valid, held.amount_total, held.currency) {
                Some(CardAttempt::Succeeded) => {
                    let saved = serde_json::to_value(processor.saved_behaviour(valid)).unwrap_or(Value::Null);
                    let paid = Paid::Card { details: valid.details(&key, &account), saved_behaviour: saved };
                    let approved = held.amount_total;
                    let paying = Paying { buyer, paid, approved, now, public_url: &public_url };
                    return complete_in(tx, out, &account, *held, customer, paying).map(Step::Done);
                }
                attempt => answered = attempt,
            }
        }
        Ok(Step::Begun(Box::new(Begun { held, account, buyer, method, nothing_due, card, answered })))
    })
    .await?;
    let Begun { held, account, buyer, method, nothing_due, card, answered } = match step {
        Step::Done(outcome) => return Ok(outcome),
        Step::Begun(begun) => *begun,
    };
    if nothing_due {
        return finish(ctx, &account, id, buyer, Paid::Nothing, held.amount_total).await;
    }
    match method {
        PaymentMethodType::Card => {
            // A card with errors was refused above, once what the page collected was kept.
            let card = card.map_err(refused)?;
            let details = card.details(&ctx.fingerprint_key, &account);
            let saved = serde_json::to_value(ctx.processor.saved_behaviour(&card)).unwrap_or(Value::Null);
            let attempt = match answered {
                Some(attempt) => attempt,
                None => ctx.processor.pay_card(&card, held.amount_total, held.currency).await,
            };
            match attempt {
                CardAttempt::Succeeded => {
                    let paid = Paid::Card { details, saved_behaviour: saved };
                    finish(ctx, &account, id, buyer, paid, held.amount_total).await
                }
                // Setup mode charges nothing, so a declined card is no failed payment: the page
                // says so, and no payment intent is recorded.
                CardAttempt::Declined(d) if held.mode == kassa_core::session::Mode::Setup => {
                    release(ctx, &account, id).await?;
                    Ok(refused(d.message))
                }
                CardAttempt::Declined(d) => declined(ctx, &account, id, "card", &d).await,
                CardAttempt::RequiresAction(challenge) => {
                    let pending = json!({"challenge": challenge, "card": details, "saved_behaviour": saved});
                    challenged(ctx, &account, id, pending, buyer).await
                }
            }
        }
        PaymentMethodType::Paypal => Ok(Outcome::Paypal),
        // Whether the balance covers the total is decided inside the completing transaction.
        PaymentMethodType::CustomerBalance => {
            finish(ctx, &account, id, buyer, Paid::CustomerBalance, held.amount_total).await
        }
    }
}

/// What the page's form sent for the session to collect.
struct Collect<'a> {
    page: &'a [(String, String)],
    languages: Option<&'a str>,
}

/// Where a payment's first transaction left it.
enum Step {
    /// At the page's answer: a refusal that kept what the page collected, or the payment
    /// completed.
    Done(Outcome),
    /// The session held for this payment, which goes on outside the transaction.
    Begun(Box<Begun>),
}

/// What a payment's first transaction decided, with the session it holds.
struct Begun {
    held: Box<Session>,
    account: String,
    buyer: BuyerDetails,
    method: PaymentMethodType,
    nothing_due: bool,
    /// The card the form sent (or what was wrong with it), back from the transaction.
    card: std::result::Result<ValidCard, String>,
    /// What a processor that answers at once said of the card, when it was not paid.
    answered: Option<CardAttempt>,
}

/// What the transaction that keeps what the page collected does next, in the same transaction,
/// when nothing stopped it.
enum Then {
    /// Hold the session for this submission (step 1, [`claim`]).
    Claim,
    /// Keep the buyer's details, and the amount they are asked to approve, while they approve on
    /// the PayPal stand-in; the order cannot change meanwhile.
    HoldBuyer(BuyerDetails),
    /// Refuse with this message (the card's fields were wrong), once the rest is kept.
    Refuse(String),
}

/// Check what the page collects and keep it on the open session `s`, before anything is charged:
/// a value missing or malformed is refused naming its field. A shipping option other than the
/// session's (chosen without the script, and not applied with "Update shipping") becomes the
/// session's, and the customer is asked to check the new total: nothing is charged. Then, in the
/// same transaction (one round of the database for both), what `then` says; answers the session
/// as it left it.
fn collect(
    tx: &mut dyn Tx,
    acct: &str,
    mut s: Session,
    customer: Option<&Customer>,
    form: Collect<'_>,
    then: Then,
    now: Timestamp,
) -> std::result::Result<Claimed, Abort<Outcome>> {
    let c = &s.collection;
    let t = crate::i18n::negotiate(c.locale.as_deref(), form.languages);
    let page = kassa_core::session::collection::PageForm(form.page);
    let (collected, values) = c.collect(&page).map_err(|e| Abort::Refused(refused(t.field_error(c, &e))))?;
    let chosen = page.get("shipping_rate");
    let switch = !chosen.is_empty() && c.shipping_rate().is_some_and(|r| r.id != chosen);
    if switch {
        s.contents_frozen(now).map_err(|e| Abort::Refused(refused(e.message)))?;
        if !s.collection.choose_shipping(chosen) {
            return Err(Abort::Refused(refused("Choose one of the shipping options shown.")));
        }
        s.recompute().map_err(|e| Abort::Refused(refused(e.message)))?;
        tx.put(acct, &s)?;
        return Ok(Claimed::Stopped(refused("The shipping option changed: check the new total, then pay.")));
    }
    // Tax follows the address just entered: when it changes what is due, the customer is
    // asked to check the new total first, as for a shipping option; nothing is charged.
    let before = s.amount_total;
    let shipping = collected.shipping.as_ref().map(|d| &d.address);
    // Only a session with taxes cares (one without keeps paying as before, frozen or not).
    let moved = s.taxes.any(&s.line_items)
        && (s.set_tax_location(shipping, collected.address.as_ref()) | s.add_tax_ids(&collected.tax_ids));
    if moved {
        s.contents_frozen(now).map_err(|e| Abort::Refused(refused(e.message)))?;
        s.recompute().map_err(|e| Abort::Refused(refused(e.message)))?;
        if s.amount_total != before {
            tx.put(acct, &s)?;
            return Ok(Claimed::Stopped(refused(
                "The tax changed with your address: check the new total, then pay.",
            )));
        }
    }
    let keep = moved
        || s.collection.collected.as_ref() != Some(&collected)
        || s.collection.custom_fields.iter().map(|f| f.value.clone()).ne(values.iter().cloned());
    if keep {
        s.collection.keep(collected, values);
    }
    match then {
        Then::Claim => hold(tx, acct, s, customer, now),
        Then::HoldBuyer(buyer) => {
            s.pending_buyer = Some(CustomerDetails { email: buyer.email, name: buyer.name });
            s.pending_amount = Some(s.amount_total);
            tx.put(acct, &s)?;
            Ok(Claimed::Held(Box::new(s)))
        }
        Then::Refuse(message) => {
            if keep {
                tx.put(acct, &s)?;
            }
            Ok(Claimed::Stopped(refused(message)))
        }
    }
}

/// Record the 3-D Secure challenge on the attempt; the page shows the challenge next.
async fn challenged(
    ctx: &Ctx,
    account: &str,
    id: &str,
    pending: Value,
    buyer: BuyerDetails,
) -> std::result::Result<Outcome, Stop> {
    let record =
        move |s: &mut Session, attempt, now| completion::await_challenge(s, attempt, pending, &buyer, now);
    record_attempt(ctx, account, id, record, None, Outcome::Challenge).await
}

/// `POST /pay/{id}/3ds`: the customer completed (`passed`) or failed the 3-D Secure challenge.
pub async fn resolve_challenge(ctx: &Ctx, id: &str, passed: bool) -> Result<Outcome> {
    answer(challenge_flow(ctx, id, passed).await)
}

async fn challenge_flow(ctx: &Ctx, id: &str, passed: bool) -> std::result::Result<Outcome, Stop> {
    let (session, account) = open_for_page(ctx, id).await?;
    let Some(pi) = pending_challenge(ctx, &account, &session).await? else { return Ok(Outcome::Closed) };
    // What the challenge page showed: the amount when the challenge began.
    let approved = session.pending_amount.unwrap_or(pi.amount);
    let Some(pending) = pi.pending_challenge else { return Ok(Outcome::Closed) };
    let challenge: Challenge = serde_json::from_value(pending["challenge"].clone())
        .map_err(|e| StoreError::Corrupt(format!("pending challenge: {e}")))?;
    let details: CardDetails = serde_json::from_value(pending["card"].clone())
        .map_err(|e| StoreError::Corrupt(format!("pending card: {e}")))?;
    let buyer = session
        .pending_buyer
        .clone()
        .map(|b| BuyerDetails { email: b.email, name: b.name })
        .unwrap_or(BuyerDetails { email: None, name: None });
    claim(ctx, &account, id).await?;
    match ctx.processor.resolve_challenge(&challenge, passed) {
        CardAttempt::Succeeded => {
            let saved = pending["saved_behaviour"].clone();
            finish(ctx, &account, id, buyer, Paid::Card { details, saved_behaviour: saved }, approved).await
        }
        CardAttempt::Declined(d) => declined(ctx, &account, id, "card", &d).await,
        CardAttempt::RequiresAction(_) => {
            release(ctx, &account, id).await?;
            Ok(refused("The card asked for authentication again; try another card."))
        }
    }
}

/// `POST /pay/{id}/paypal`: the customer approved (or cancelled) on the PayPal stand-in.
pub async fn paypal(ctx: &Ctx, id: &str, approved: bool) -> Result<Outcome> {
    answer(paypal_flow(ctx, id, approved).await)
}

async fn paypal_flow(ctx: &Ctx, id: &str, approved: bool) -> std::result::Result<Outcome, Stop> {
    let (session, account) = open_for_page(ctx, id).await?;
    let buyer = session
        .pending_buyer
        .clone()
        .ok_or_else(|| refused("Start the PayPal payment from the checkout page."))?;
    if !approved {
        release(ctx, &account, id).await?;
        return Ok(refused("The PayPal payment was cancelled. Nothing was charged."));
    }
    let held = claim(ctx, &account, id).await?;
    let approved = session.pending_amount.unwrap_or(held.amount_total);
    let saved = serde_json::to_value(SavedBehaviour::Paypal).unwrap_or(Value::Null);
    let buyer = BuyerDetails { email: buyer.email, name: buyer.name };
    let payer_email = buyer.email.clone();
    let paid = Paid::Paypal { payer_email, saved_behaviour: saved };
    finish(ctx, &account, id, buyer, paid, approved).await
}

/// `POST /test_helpers/customers/{id}/fund_cash_balance`: money arrives by bank transfer. It is
/// added to the customer's cash balance, which then pays the customer's checkout payments that wait
/// for funds, oldest first, as far as it covers them.
pub async fn fund_cash_balance(
    ctx: &Ctx,
    acct: &super::Acct,
    customer_id: &str,
    amount: i64,
    currency: kassa_core::money::Currency,
) -> Result<(Customer, i64)> {
    use kassa_core::session::PaymentStatus;
    use kassa_core::store::{Column, Filter, Scope};
    if !(1..=kassa_core::money::MAX_TOTAL).contains(&amount) {
        return Err(Invalid::param(
            "amount",
            "`amount` must be a positive amount in the currency's minor unit.",
        )
        .into());
    }
    let (account, cid) = (acct.id.clone(), customer_id.to_owned());
    let now = ctx.now();
    let out = super::events::transact(ctx, now, move |tx, out| {
        let mut customer: Customer = tx
            .load(&account, &cid)?
            .ok_or_else(|| Abort::Refused(DomainError::NotFound { object: "customer", id: cid.clone() }))?;
        let balance = customer.cash_balance.entry(currency).or_insert(0);
        *balance = balance
            .checked_add(amount)
            .ok_or_else(|| Abort::refuse(Invalid::param("amount", "The balance would be too large.")))?;
        let waiting = tx.find(
            Scope::Account(&account),
            Kind::PaymentIntent,
            &[
                Filter::Eq(Column::Customer, cid.as_str().into()),
                Filter::Eq(Column::Status, PaymentIntentStatus::RequiresAction.as_str().into()),
            ],
            1000,
        )?;
        for raw in waiting {
            let mut pi: PaymentIntent = kassa_core::store::Record::from_raw(&raw)?;
            let for_balance = pi.payment_method_types.iter().any(|t| t == "customer_balance");
            let available = customer.cash_balance.get(&pi.currency).copied().unwrap_or(0);
            if !for_balance || pi.currency != currency || available < pi.amount {
                continue;
            }
            customer.cash_balance.insert(pi.currency, available - pi.amount);
            pi.status = PaymentIntentStatus::Succeeded;
            let charge = super::charges::record(tx, &account, &mut pi, None, now)?;
            super::charges::announce(tx, out, &account, &charge)?;
            tx.put(&account, &pi)?;
            out.emit(tx, &account, EventType::PaymentIntentSucceeded, views::PaymentIntentDoc(&pi))?;
            let paid_session = match pi.checkout_session.clone() {
                Some(sid) => tx.load::<Session>(&account, &sid)?,
                None => None,
            };
            if let Some(mut s) = paid_session {
                s.payment_status = PaymentStatus::Paid;
                tx.put(&account, &s)?;
                out.emit_session(tx, &account, EventType::CheckoutSessionAsyncPaymentSucceeded, &s)?;
            }
            customer.has_paid = true;
        }
        tx.put(&account, &customer)?;
        Ok(customer)
    })
    .await?;
    let ending = out.cash_balance.get(&currency).copied().unwrap_or(0);
    Ok((out, ending))
}
