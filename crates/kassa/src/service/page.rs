//! The hosted page's side of the services: what a page shows, and how an action on it ends.
//!
//! Every flow the customer starts on the page — changing a quantity, entering or removing a
//! promotion code ([`super::checkout`]), paying by card with or without 3-D Secure, approving on
//! the PayPal stand-in, paying from the cash balance or by bank transfer ([`super::pay`]) — ends
//! in one [`Outcome`], which `http::pages` turns into a page or a redirect. The page layer reads
//! through the functions here ([`view`], [`approval`]) and never touches the store.
//!
//! Inside a flow, a step that decides the page's answer early (the session closed meanwhile, a
//! payment already running, a code that ran out) stops with that outcome: in a transaction as
//! [`Abort::Refused`], which rolls it back and hands the outcome through untouched; outside one
//! as [`Stop::Show`]. Store failures stay errors ([`Stop::Fail`]) and become an error page.

use kassa_core::billing::{PaymentIntent, PaymentIntentStatus};
use kassa_core::catalog::Customer;
use kassa_core::money::Currency;
use kassa_core::session::{PaymentStatus, Session, Status};
use kassa_core::store::{Abort, Kind, Record, StoreError, StoreExt, Tx, TxExt};
use kassa_core::time::Timestamp;

use super::{Error, Result};
use crate::state::Ctx;

/// Where on the checkout page a refusal is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Beside the quantities (`quantity-update`).
    Quantity,
    /// Under the promotion code field (`promo-code-error`).
    PromotionCode,
    /// Above the pay button (`payment-error`).
    Payment,
}

/// How an action on the hosted page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The session changed (a quantity, a promotion code): show it again.
    Changed(Box<Session>),
    /// The customer's input was refused, or the payment did not go through: show the page
    /// again with `message` at `place`. The session stays open.
    Refused { place: Place, message: String },
    /// Too many attempts (`crate::limits`): show the page again with `message` at `place`,
    /// saying that the next attempt may come in `retry_after` seconds. Nothing was read or
    /// changed.
    Limited { place: Place, message: String, retry_after: u64 },
    /// The session completed — paid, or waiting for a bank transfer, whose instructions its
    /// page then shows: send the customer to `redirect` (`success_url` or that page).
    Completed { redirect: String },
    /// The card asks for 3-D Secure: show the challenge page.
    Challenge,
    /// PayPal: show the stand-in approval page.
    Paypal,
    /// Nothing to do here any more — the session is not open, or the step the customer comes
    /// back from (a 3-D Secure challenge) no longer waits: back to the session's page, which
    /// shows where it stands.
    Closed,
    /// No session has this id.
    Unknown,
}

impl Outcome {
    pub fn refused(place: Place, message: impl Into<String>) -> Self {
        Self::Refused { place, message: message.into() }
    }
}

/// Why a page flow stopped before its end: with the page's answer, or with an error.
#[derive(Debug)]
pub(super) enum Stop {
    Show(Outcome),
    Fail(Error),
}

impl From<Outcome> for Stop {
    fn from(o: Outcome) -> Self {
        Self::Show(o)
    }
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Self::Fail(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Self::Fail(e.into())
    }
}

impl From<Abort<Outcome>> for Stop {
    fn from(a: Abort<Outcome>) -> Self {
        match a {
            Abort::Store(e) => e.into(),
            Abort::Refused(o) => Self::Show(o),
        }
    }
}

/// A flow's answer: the outcome it reached or stopped with; errors stay errors.
pub(super) fn answer(r: std::result::Result<Outcome, Stop>) -> Result<Outcome> {
    match r {
        Ok(o) | Err(Stop::Show(o)) => Ok(o),
        Err(Stop::Fail(e)) => Err(e),
    }
}

/// The session `id` of `account`, inside a transaction, if it is still open at `now`; otherwise
/// the transaction stops with [`Outcome::Closed`].
pub(super) fn open_session(
    tx: &mut dyn Tx,
    account: &str,
    id: &str,
    now: Timestamp,
) -> std::result::Result<Session, Abort<Outcome>> {
    match tx.load::<Session>(account, id)? {
        Some(s) if s.status_at(now) == Status::Open => Ok(s),
        _ => Err(Abort::Refused(Outcome::Closed)),
    }
}

/// The session `id` with its account, found by id inside a transaction (on PostgreSQL, locked),
/// if it is still open at `now`; otherwise the transaction stops with [`Outcome::Unknown`] or
/// [`Outcome::Closed`]. One read where [`open_for_page`] and [`open_session`] take two.
pub(super) fn open_by_id(
    tx: &mut dyn Tx,
    id: &str,
    now: Timestamp,
) -> std::result::Result<(Session, String), Abort<Outcome>> {
    let raw = tx.get_by_id(Kind::CheckoutSession, id)?.ok_or(Abort::Refused(Outcome::Unknown))?;
    let s = Session::from_raw(&raw)?;
    if s.status_at(now) != Status::Open {
        return Err(Abort::Refused(Outcome::Closed));
    }
    Ok((s, raw.account))
}

/// The session a page acts on, with its account (the session's id is the capability); a flow
/// stops with [`Outcome::Unknown`] without one, or [`Outcome::Closed`] if it is not open.
pub(super) async fn open_for_page(ctx: &Ctx, id: &str) -> std::result::Result<(Session, String), Stop> {
    let (session, account) = super::sessions::for_page(ctx, id).await?.ok_or(Outcome::Unknown)?;
    if session.status_at(ctx.now()) != Status::Open {
        return Err(Outcome::Closed.into());
    }
    Ok((session, account))
}

/// The session's customer, if it names one.
pub(super) async fn customer_of(ctx: &Ctx, account: &str, s: &Session) -> Result<Option<Customer>> {
    match &s.customer {
        Some(c) => Ok(ctx.store.load::<Customer>(account, c).await?),
        None => Ok(None),
    }
}

/// What the checkout page shows for a session.
#[derive(Debug, Clone)]
pub struct PageView {
    pub session: Session,
    /// The merchant's account name.
    pub merchant: String,
    /// The session's customer, whose e-mail (if any) the page shows locked.
    pub customer: Option<Customer>,
    /// For a session completed to wait for a bank transfer: what to transfer.
    pub transfer: Option<Transfer>,
    /// The products of an open session's lines (for their descriptions).
    pub products: Vec<kassa_core::catalog::Product>,
}

/// A bank transfer the customer still has to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub amount: i64,
    pub currency: Currency,
    /// The reference to quote on the transfer.
    pub reference: String,
}

/// Everything the checkout page of session `id` shows; `None` when there is no such session.
pub async fn view(ctx: &Ctx, id: &str) -> Result<Option<PageView>> {
    let Some((session, account)) = super::sessions::for_page(ctx, id).await? else { return Ok(None) };
    let merchant = ctx.account_name(&account).await?;
    let customer = customer_of(ctx, &account, &session).await?;
    let transfer = transfer(ctx, &account, &session).await?;
    let products = if session.status == Status::Open {
        let mut keys: Vec<(kassa_core::store::Kind, String)> = Vec::new();
        for l in &session.line_items {
            let key = (kassa_core::store::Kind::Product, l.price.product.clone());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let raws = ctx.store.get_many(&account, keys).await?;
        raws.iter()
            .map(<kassa_core::catalog::Product as kassa_core::store::Record>::from_raw)
            .collect::<std::result::Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    Ok(Some(PageView { session, merchant, customer, transfer, products }))
}

/// A completed session still waiting for a bank transfer: what to transfer and the reference.
async fn transfer(ctx: &Ctx, account: &str, s: &Session) -> Result<Option<Transfer>> {
    if s.status != Status::Complete || s.payment_status != PaymentStatus::Unpaid {
        return Ok(None);
    }
    let Some(pi_id) = &s.payment_intent else { return Ok(None) };
    let pi = ctx.store.load::<PaymentIntent>(account, pi_id).await?;
    Ok(pi.filter(|pi| pi.status == PaymentIntentStatus::RequiresAction).map(|pi| Transfer {
        amount: pi.amount,
        currency: pi.currency,
        reference: kassa_core::completion::bank_reference(&pi.id),
    }))
}

/// What the customer is asked to approve on a page of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approving {
    /// The test network's 3-D Secure challenge.
    Challenge,
    /// The PayPal stand-in.
    Paypal,
}

/// A page that asks the customer to approve a payment, or why there is none to show.
#[derive(Debug, Clone)]
pub enum Approval {
    /// A payment waits for the customer's approval.
    Pending { session: Box<Session>, merchant: String },
    /// Nothing waits (the session moved on, or the payment was never started): back to checkout.
    NotPending,
    /// No session has this id.
    Unknown,
}

/// The approval page of session `id`.
pub async fn approval(ctx: &Ctx, id: &str, approving: Approving) -> Result<Approval> {
    let Some((session, account)) = super::sessions::for_page(ctx, id).await? else {
        return Ok(Approval::Unknown);
    };
    let pending = session.status_at(ctx.now()) == Status::Open
        && match approving {
            Approving::Paypal => session.pending_buyer.is_some(),
            Approving::Challenge => pending_challenge(ctx, &account, &session).await?.is_some(),
        };
    if !pending {
        return Ok(Approval::NotPending);
    }
    let merchant = ctx.account_name(&account).await?;
    Ok(Approval::Pending { session: Box::new(session), merchant })
}

/// The session's payment attempt, if it waits on a 3-D Secure challenge.
pub(super) async fn pending_challenge(
    ctx: &Ctx,
    account: &str,
    s: &Session,
) -> Result<Option<PaymentIntent>> {
    let Some(pi_id) = &s.attempt else { return Ok(None) };
    let pi = ctx.store.load::<PaymentIntent>(account, pi_id).await?;
    Ok(pi.filter(|p| p.pending_challenge.is_some()))
}
