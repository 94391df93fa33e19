//! Paying on the hosted page (SPEC §7–§8).
//!
//! A submission goes through three steps, so that it charges at most once and completes exactly
//! once however many times it is sent:
//! 1. **claim** — one transaction checks that the session is open and not held by another
//!    submission, re-checks that its discount can still be redeemed (a promotion code that has
//!    run out is removed from the session, and the customer told), and holds the session for a
//!    minute;
//! 2. **charge** — the payment processor answers: succeeded, declined, or 3-D Secure first;
//! 3. **record** — one transaction writes the outcome: on success everything
//!    [`completion::complete`] decides (customer, payment method, payment intent or subscription
//!    and first invoice, the redemption, the session `complete`); on a decline the failed attempt
//!    on the session's payment intent; for 3-D Secure the pending challenge.
//!
//! The card number and CVC live only in the request that carried them: the processor sees them,
//! the records get brand, last four digits, expiry and fingerprint.

use kassa_core::billing::{InvoiceStatus, PaymentError, PaymentIntent, PaymentIntentStatus};
use kassa_core::catalog::{Coupon, Customer, PromotionCode};
use kassa_core::completion::{self, BuyerDetails, Paid};
use kassa_core::payment::{CardAttempt, CardDetails, Challenge, Decline, SavedBehaviour, validate_card};
use kassa_core::session::{CustomerDetails, PaymentMethodType, Session, Status};
use kassa_core::store::{Kind, StoreError, Tx, TxExt, transact};
use kassa_core::webhook::EventType;
use kassa_core::{Error as DomainError, Invalid};
use serde_json::{Value, json};

use super::Result;
use super::events::Outbox;
use crate::state::Ctx;
use crate::views;

/// How long a submission holds its session.
const HOLD_SECONDS: i64 = 60;

/// What the page's payment form sent.
#[derive(Debug, Default)]
pub struct PayForm {
    pub email: String,
    pub name: String,
    pub payment_method: String,
    pub card_number: String,
    pub card_expiry: String,
    pub card_cvc: String,
}

/// What the page does next.
#[derive(Debug)]
pub enum Next {
    /// Paid: send the customer to this URL.
    Done(String),
    /// Show the page again with this message in `payment-error` (and what the buyer typed).
    Refused(String),
    /// 3-D Secure: show the challenge page.
    Challenge,
    /// PayPal: show the PayPal stand-in page.
    Paypal,
    /// The session is not open (any more): show its page.
    Closed,
    Unknown,
}

/// The page the customer lands on after paying: `success_url` with `{CHECKOUT_SESSION_ID}`
/// replaced, or kassa's own confirmation page.
pub fn landing(ctx: &Ctx, s: &Session) -> String {
    match &s.success_url {
        Some(u) => u.replace("{CHECKOUT_SESSION_ID}", &s.id),
        None => format!("{}/pay/{}", ctx.public_url, s.id),
    }
}

fn state(message: &str) -> StoreError {
    StoreError::Rejected(DomainError::State(message.to_owned()))
}

const BUSY: &str = "A payment for this checkout is already in progress. Wait a moment and reload the page.";
const CLOSED: &str = "closed";

/// Load the open session `id` (in `account`) inside a transaction.
fn open_session(tx: &mut dyn Tx, account: &str, id: &str, now: i64) -> Result<Session, StoreError> {
    let s: Session = tx.load(account, id)?.ok_or_else(|| state(CLOSED))?;
    if s.status_at(now) != Status::Open {
        return Err(state(CLOSED));
    }
    Ok(s)
}

/// The discount's coupon and promotion code as they are now.
fn discount_records(
    tx: &mut dyn Tx,
    account: &str,
    s: &Session,
) -> Result<(Option<Coupon>, Option<PromotionCode>), StoreError> {
    let Some(d) = &s.discount else { return Ok((None, None)) };
    let coupon = tx.load::<Coupon>(account, &d.coupon)?;
    let code = match &d.promotion_code {
        Some(c) => tx.load::<PromotionCode>(account, c)?,
        None => None,
    };
    Ok((coupon, code))
}

fn customer_of(tx: &mut dyn Tx, account: &str, s: &Session) -> Result<Option<Customer>, StoreError> {
    match &s.customer {
        Some(c) => tx.load(account, c),
        None => Ok(None),
    }
}

/// Step 1: hold the session for this submission, after re-checking its discount.
async fn claim(ctx: &Ctx, account: &str, id: &str) -> Result<std::result::Result<(), Next>> {
    let now = ctx.now();
    let (account, id) = (account.to_owned(), id.to_owned());
    let out = transact(ctx.store.as_ref(), move |tx| {
        let mut s = open_session(tx, &account, &id, now)?;
        if s.processing_until.is_some_and(|t| t > now) {
            return Ok(Err(Next::Refused(BUSY.to_owned())));
        }
        let (mut coupon, mut code) = discount_records(tx, &account, &s)?;
        let customer = customer_of(tx, &account, &s)?;
        if let Err(e) = completion::redeem(&s, coupon.as_mut(), code.as_mut(), customer.as_ref(), now) {
            if s.discount.as_ref().is_some_and(|d| !d.from_merchant) {
                // A customer's promotion code that can no longer be used comes off the session.
                s.remove_promotion_code()?;
                tx.put(&account, &s)?;
                return Ok(Err(Next::Refused(format!("{} It was removed; check the new total.", e.message))));
            }
            return Ok(Err(Next::Refused(format!(
                "{} Contact the merchant for a new checkout link.",
                e.message
            ))));
        }
        s.processing_until = Some(now + HOLD_SECONDS);
        tx.put(&account, &s)?;
        Ok(Ok(()))
    })
    .await;
    match out {
        Ok(r) => Ok(r),
        Err(StoreError::Rejected(DomainError::State(_))) => Ok(Err(Next::Closed)),
        Err(e) => Err(e.into()),
    }
}

/// Let go of the session without paying (a refused form after the claim).
async fn release(ctx: &Ctx, account: &str, id: &str) -> Result<()> {
    let (account, id) = (account.to_owned(), id.to_owned());
    transact(ctx.store.as_ref(), move |tx| {
        if let Some(mut s) = tx.load::<Session>(&account, &id)? {
            s.processing_until = None;
            tx.put(&account, &s)?;
        }
        Ok(())
    })
    .await?;
    Ok(())
}

/// Step 3 on success: complete the session in one transaction. Returns where to send the buyer.
async fn finish(ctx: &Ctx, account: &str, id: &str, buyer: BuyerDetails, paid: Paid) -> Result<Next> {
    let now = ctx.now();
    let (acct, sid) = (account.to_owned(), id.to_owned());
    let out = super::events::transact(ctx, now, move |tx, out| {
        let mut s = open_session(tx, &acct, &sid, now)?;
        let customer = customer_of(tx, &acct, &s)?;
        let (mut coupon, mut code) = discount_records(tx, &acct, &s)?;
        if let Err(e) = completion::redeem(&s, coupon.as_mut(), code.as_mut(), customer.as_ref(), now) {
            // Redeemed elsewhere since the claim: nothing is completed; a customer's code comes off.
            if s.discount.as_ref().is_some_and(|d| !d.from_merchant) {
                s.remove_promotion_code()?;
            }
            s.processing_until = None;
            tx.put(&acct, &s)?;
            return Ok(Err(format!("{} You were not charged; check the new total.", e.message)));
        }
        let attempt: Option<PaymentIntent> = match &s.attempt {
            Some(pi) => tx.load(&acct, pi)?,
            None => None,
        };
        let intent_is_new = attempt.is_none();
        let balance_paid = matches!(paid, Paid::CustomerBalance { covered: true });
        // A customer on a test clock lives on the clock's time: its payment, subscription and
        // events are dated there.
        let now = super::billing::clock_time(
            tx,
            &acct,
            customer.as_ref().and_then(|c| c.test_clock.as_deref()),
            now,
        )?;
        out.set_now(now);
        let done = completion::complete(&mut s, customer, &buyer, paid, attempt, coupon.as_ref(), now)?;
        let mut customer = done.customer.clone();
        if balance_paid {
            let left = customer.cash_balance.get(&s.currency).copied().unwrap_or(0) - s.amount_total;
            customer.cash_balance.insert(s.currency, left);
        }
        if done.customer_is_new {
            tx.put_new(&acct, &customer)?;
        } else {
            tx.put(&acct, &customer)?;
        }
        tx.put_new(&acct, &done.payment_method)?;
        if let Some(pi) = &done.payment_intent {
            tx.upsert(&acct, pi)?;
        }
        if let Some(sub) = &done.subscription {
            tx.put_new(&acct, sub)?;
        }
        if let Some(inv) = &done.invoice {
            tx.put_new(&acct, inv)?;
        }
        if let Some(c) = &coupon {
            tx.put(&acct, c)?;
        }
        if let Some(c) = &code {
            tx.put(&acct, c)?;
        }
        tx.put(&acct, &s)?;
        announce_completion(tx, out, &acct, &s, &customer, done.customer_is_new, &done, intent_is_new)?;
        Ok(Ok(s))
    })
    .await;
    match out {
        Ok(Ok(s)) => Ok(Next::Done(landing(ctx, &s))),
        Ok(Err(message)) => Ok(Next::Refused(message)),
        Err(StoreError::Rejected(DomainError::State(_))) => Ok(Next::Closed),
        Err(e) => Err(e.into()),
    }
}

/// The events of a completion, in the order Stripe sends them: the new customer, the payment
/// intent, the subscription and its first invoice, then the session.
#[allow(clippy::too_many_arguments)]
fn announce_completion(
    tx: &mut dyn Tx,
    out: &mut Outbox,
    account: &str,
    s: &Session,
    customer: &Customer,
    customer_is_new: bool,
    done: &completion::Completion,
    intent_is_new: bool,
) -> Result<(), StoreError> {
    if customer_is_new {
        out.emit(tx, account, EventType::CustomerCreated, views::customer(customer))?;
    }
    if let Some(pi) = &done.payment_intent {
        if intent_is_new {
            out.emit(tx, account, EventType::PaymentIntentCreated, views::payment_intent(pi))?;
        }
        if pi.status == PaymentIntentStatus::Succeeded {
            out.emit(tx, account, EventType::PaymentIntentSucceeded, views::payment_intent(pi))?;
        }
    }
    if let Some(sub) = &done.subscription {
        out.emit(tx, account, EventType::CustomerSubscriptionCreated, views::subscription(sub))?;
    }
    if let Some(inv) = &done.invoice {
        out.emit(tx, account, EventType::InvoiceCreated, views::invoice(inv))?;
        if inv.status == InvoiceStatus::Paid {
            out.emit(tx, account, EventType::InvoicePaid, views::invoice(inv))?;
        }
    }
    let object = views::session(s, &out.view(), false);
    out.emit(tx, account, EventType::CheckoutSessionCompleted, object)
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
    then: Next,
) -> Result<Next>
where
    F: FnOnce(&mut Session, Option<PaymentIntent>, i64) -> PaymentIntent + Send + 'static,
{
    let now = ctx.now();
    let (acct, sid) = (account.to_owned(), id.to_owned());
    let out = super::events::transact(ctx, now, move |tx, out| {
        let mut s = open_session(tx, &acct, &sid, now)?;
        let attempt: Option<PaymentIntent> = match &s.attempt {
            Some(pi) => tx.load(&acct, pi)?,
            None => None,
        };
        let is_new = attempt.is_none();
        let pi = record(&mut s, attempt, now);
        tx.upsert(&acct, &pi)?;
        tx.put(&acct, &s)?;
        if is_new {
            out.emit(tx, &acct, EventType::PaymentIntentCreated, views::payment_intent(&pi))?;
        }
        if let Some(kind) = event {
            out.emit(tx, &acct, kind, views::payment_intent(&pi))?;
        }
        Ok(())
    })
    .await;
    match out {
        Ok(()) => Ok(then),
        Err(StoreError::Rejected(DomainError::State(_))) => Ok(Next::Closed),
        Err(e) => Err(e.into()),
    }
}

/// Step 3 on a decline: record the failed attempt; the session stays open.
async fn declined(ctx: &Ctx, account: &str, id: &str, method: &str, d: &Decline) -> Result<Next> {
    let error = PaymentError {
        code: d.code.clone(),
        decline_code: d.decline_code.clone(),
        message: d.message.clone(),
        payment_method: None,
    };
    let method = method.to_owned();
    let record = move |s: &mut Session, attempt, now| completion::decline(s, attempt, &method, error, now);
    let failed = Some(EventType::PaymentIntentPaymentFailed);
    record_attempt(ctx, account, id, record, failed, Next::Refused(d.message.clone())).await
}

/// The page's payment form.
pub async fn pay(ctx: &Ctx, id: &str, form: PayForm) -> Result<Next> {
    let now = ctx.now();
    let Some((session, account)) = super::sessions::for_page(ctx, id).await? else {
        return Ok(Next::Unknown);
    };
    if session.status_at(now) != Status::Open {
        return Ok(Next::Closed);
    }
    let customer: Option<Customer> = match &session.customer {
        Some(c) => kassa_core::store::StoreExt::load::<Customer>(ctx.store.as_ref(), &account, c).await?,
        None => None,
    };
    let buyer = match completion::buyer(customer.as_ref(), &form.email, &form.name) {
        Ok(b) => b,
        Err(e) => return Ok(Next::Refused(e.message)),
    };
    let method = match PaymentMethodType::parse(&form.payment_method)
        .or_else(|| (form.payment_method.is_empty()).then(|| session.payment_method_types[0]))
        .filter(|m| session.payment_method_types.contains(m))
    {
        Some(m) => m,
        None => return Ok(Next::Refused("Choose one of the payment methods shown.".to_owned())),
    };
    match method {
        PaymentMethodType::Card => {
            let card = match validate_card(&form.card_number, &form.card_expiry, &form.card_cvc, now) {
                Ok(c) => c,
                Err(errors) => {
                    let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
                    return Ok(Next::Refused(messages.join(" ")));
                }
            };
            if let Err(next) = claim(ctx, &account, id).await? {
                return Ok(next);
            }
            let details = card.details(&account);
            let saved = serde_json::to_value(ctx.processor.saved_behaviour(&card)).unwrap_or(Value::Null);
            match ctx.processor.pay_card(&card, session.amount_total, session.currency).await {
                CardAttempt::Succeeded => {
                    finish(ctx, &account, id, buyer, Paid::Card { details, saved_behaviour: saved }).await
                }
                CardAttempt::Declined(d) => declined(ctx, &account, id, "card", &d).await,
                CardAttempt::RequiresAction(challenge) => {
                    let pending = json!({"challenge": challenge, "card": details, "saved_behaviour": saved});
                    challenged(ctx, &account, id, pending, buyer).await
                }
            }
        }
        PaymentMethodType::Paypal => {
            hold_buyer(ctx, &account, id, buyer).await?;
            Ok(Next::Paypal)
        }
        PaymentMethodType::CustomerBalance => {
            if let Err(next) = claim(ctx, &account, id).await? {
                return Ok(next);
            }
            let balance =
                customer.as_ref().and_then(|c| c.cash_balance.get(&session.currency).copied()).unwrap_or(0);
            let covered = balance >= session.amount_total;
            finish(ctx, &account, id, buyer, Paid::CustomerBalance { covered }).await
        }
    }
}

/// Record the 3-D Secure challenge on the attempt; the page shows the challenge next.
async fn challenged(ctx: &Ctx, account: &str, id: &str, pending: Value, buyer: BuyerDetails) -> Result<Next> {
    let record =
        move |s: &mut Session, attempt, now| completion::await_challenge(s, attempt, pending, &buyer, now);
    record_attempt(ctx, account, id, record, None, Next::Challenge).await
}

/// Keep the buyer's details while they approve on the PayPal stand-in.
async fn hold_buyer(ctx: &Ctx, account: &str, id: &str, buyer: BuyerDetails) -> Result<()> {
    let now = ctx.now();
    let (acct, sid) = (account.to_owned(), id.to_owned());
    let out = transact(ctx.store.as_ref(), move |tx| {
        let mut s = open_session(tx, &acct, &sid, now)?;
        s.pending_buyer = Some(CustomerDetails { email: buyer.email, name: buyer.name });
        tx.put(&acct, &s)?;
        Ok(())
    })
    .await;
    match out {
        Ok(()) | Err(StoreError::Rejected(DomainError::State(_))) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// What the 3-D Secure page shows: the amount, if a challenge is pending.
pub async fn pending_challenge(ctx: &Ctx, id: &str) -> Result<Option<(Session, String)>> {
    let Some((s, account)) = super::sessions::for_page(ctx, id).await? else { return Ok(None) };
    let Some(pi_id) = s.attempt.clone() else { return Ok(None) };
    let pi: Option<PaymentIntent> =
        kassa_core::store::StoreExt::load(ctx.store.as_ref(), &account, &pi_id).await?;
    Ok(pi.filter(|p| p.pending_challenge.is_some()).map(|_| (s, account)))
}

/// The customer completed (`passed`) or failed the 3-D Secure challenge.
pub async fn resolve_challenge(ctx: &Ctx, id: &str, passed: bool) -> Result<Next> {
    let Some((session, account)) = pending_challenge(ctx, id).await? else { return Ok(Next::Closed) };
    if session.status_at(ctx.now()) != Status::Open {
        return Ok(Next::Closed);
    }
    let pi_id = session.attempt.clone().unwrap_or_default();
    let pi: Option<PaymentIntent> =
        kassa_core::store::StoreExt::load(ctx.store.as_ref(), &account, &pi_id).await?;
    let Some(pending) = pi.and_then(|p| p.pending_challenge) else { return Ok(Next::Closed) };
    let challenge: Challenge = serde_json::from_value(pending["challenge"].clone())
        .map_err(|e| StoreError::Corrupt(format!("pending challenge: {e}")))?;
    let details: CardDetails = serde_json::from_value(pending["card"].clone())
        .map_err(|e| StoreError::Corrupt(format!("pending card: {e}")))?;
    let buyer = session
        .pending_buyer
        .clone()
        .map(|b| BuyerDetails { email: b.email, name: b.name })
        .unwrap_or(BuyerDetails { email: None, name: None });
    if let Err(next) = claim(ctx, &account, id).await? {
        return Ok(next);
    }
    match ctx.processor.resolve_challenge(&challenge, passed) {
        CardAttempt::Succeeded => {
            let saved = pending["saved_behaviour"].clone();
            finish(ctx, &account, id, buyer, Paid::Card { details, saved_behaviour: saved }).await
        }
        CardAttempt::Declined(d) => declined(ctx, &account, id, "card", &d).await,
        CardAttempt::RequiresAction(_) => {
            release(ctx, &account, id).await?;
            Ok(Next::Refused("The card asked for authentication again; try another card.".to_owned()))
        }
    }
}

/// The customer approved (or cancelled) on the PayPal stand-in.
pub async fn paypal(ctx: &Ctx, id: &str, approved: bool) -> Result<Next> {
    let Some((session, account)) = super::sessions::for_page(ctx, id).await? else {
        return Ok(Next::Unknown);
    };
    if session.status_at(ctx.now()) != Status::Open {
        return Ok(Next::Closed);
    }
    let Some(buyer) = session.pending_buyer.clone() else {
        return Ok(Next::Refused("Start the PayPal payment from the checkout page.".to_owned()));
    };
    if !approved {
        return Ok(Next::Refused("The PayPal payment was cancelled. Nothing was charged.".to_owned()));
    }
    if let Err(next) = claim(ctx, &account, id).await? {
        return Ok(next);
    }
    let saved = serde_json::to_value(SavedBehaviour::Paypal).unwrap_or(Value::Null);
    let buyer = BuyerDetails { email: buyer.email, name: buyer.name };
    let payer_email = buyer.email.clone();
    finish(ctx, &account, id, buyer, Paid::Paypal { payer_email, saved_behaviour: saved }).await
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
        let mut customer: Customer = tx.load(&account, &cid)?.ok_or_else(|| {
            StoreError::Rejected(DomainError::NotFound { object: "customer", id: cid.clone() })
        })?;
        let balance = customer.cash_balance.entry(currency).or_insert(0);
        *balance = balance.checked_add(amount).ok_or_else(|| {
            StoreError::Rejected(Invalid::param("amount", "The balance would be too large.").into())
        })?;
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
            tx.put(&account, &pi)?;
            out.emit(tx, &account, EventType::PaymentIntentSucceeded, views::payment_intent(&pi))?;
            let paid_session = match pi.checkout_session.clone() {
                Some(sid) => tx.load::<Session>(&account, &sid)?,
                None => None,
            };
            if let Some(mut s) = paid_session {
                s.payment_status = PaymentStatus::Paid;
                tx.put(&account, &s)?;
                let object = views::session(&s, &out.view(), false);
                out.emit(tx, &account, EventType::CheckoutSessionAsyncPaymentSucceeded, object)?;
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
