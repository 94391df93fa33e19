//! What the customer does on the hosted page before paying: change quantities, enter or remove a
//! promotion code. No key: the session id is the capability. Each action is one transaction that
//! re-reads the session, so two tabs cannot interleave their changes, and only an open session
//! changes. Each ends in a page [`Outcome`]: the changed session, a refusal to show beside the
//! control, or the session being closed.

use std::net::IpAddr;

use kassa_core::Invalid;
use kassa_core::catalog::{Coupon, Customer, PromotionCode};
use kassa_core::session::CODE_NOT_VALID;
use kassa_core::session::Session;
use kassa_core::store::{Abort, Column, Cursor, Filter, Kind, ListQuery, Record, StoreError, Tx, TxExt};

use super::Result;
use super::page::{Outcome, Place, Stop, answer, open_by_id, open_for_page, open_session};
use crate::state::Ctx;

/// A customer's input refused at `place`, rolling the change back.
fn refuse(place: Place, e: Invalid) -> Abort<Outcome> {
    Abort::Refused(Outcome::refused(place, e.message))
}

/// Run `change` on the open session `id`, in one transaction that finds it by id (and with it
/// its account), and save it; a refusal shows at `place`.
async fn change<F>(ctx: &Ctx, id: &str, place: Place, change: F) -> Result<Outcome>
where
    F: FnOnce(&mut Session, &mut dyn Tx, &str) -> std::result::Result<(), Abort<Outcome>> + Send + 'static,
{
    let now = ctx.now();
    let id = id.to_owned();
    let changed = kassa_core::store::transact_or_refuse(ctx.store.as_ref(), move |tx| {
        let (session, account) = open_by_id(tx, &id, now)?;
        edit(tx, &account, session, place, change, now)
    })
    .await;
    answer(changed.map(|s| Outcome::Changed(Box::new(s))).map_err(Stop::from))
}

/// [`change`] on a session already found in `account`.
async fn save<F>(
    ctx: &Ctx,
    account: String,
    id: &str,
    place: Place,
    change: F,
) -> std::result::Result<Outcome, Stop>
where
    F: FnOnce(&mut Session, &mut dyn Tx, &str) -> std::result::Result<(), Abort<Outcome>> + Send + 'static,
{
    let now = ctx.now();
    let id = id.to_owned();
    let session = kassa_core::store::transact_or_refuse(ctx.store.as_ref(), move |tx| {
        let session = open_session(tx, &account, &id, now)?;
        edit(tx, &account, session, place, change, now)
    })
    .await?;
    Ok(Outcome::Changed(Box::new(session)))
}

/// Apply `change` to the open `session` and write it. While a payment is on its way the contents
/// stay as they are ([`Session::contents_frozen`]), so that what the customer approves is what is
/// charged.
fn edit<F>(
    tx: &mut dyn Tx,
    account: &str,
    mut session: Session,
    place: Place,
    change: F,
    now: kassa_core::time::Timestamp,
) -> std::result::Result<Session, Abort<Outcome>>
where
    F: FnOnce(&mut Session, &mut dyn Tx, &str) -> std::result::Result<(), Abort<Outcome>>,
{
    session.contents_frozen(now).map_err(|e| refuse(place, e))?;
    change(&mut session, tx, account)?;
    tx.put(account, &session)?;
    Ok(session)
}

/// What the quantity form sent: `quantity[<line id>]=N` for any lines, and the no-JS + and −
/// buttons' `step=<line id>:±1`.
#[derive(Debug, Default, Clone)]
pub struct QuantityForm {
    /// `(line id, what was typed)`, in the form's order.
    pub quantities: Vec<(String, String)>,
    pub step: Option<String>,
}

impl QuantityForm {
    /// The `(line id, quantity)` changes this form asks of `session`: typed quantities that differ
    /// from the line's, then the step (on top of a quantity typed for the same line).
    fn changes(&self, session: &Session) -> std::result::Result<Vec<(String, i64)>, Invalid> {
        let mut wanted: Vec<(String, i64)> = Vec::new();
        for (line, typed) in &self.quantities {
            let q = typed
                .trim()
                .parse::<i64>()
                .map_err(|_| Invalid::param("quantity", "Enter a whole number."))?;
            if session.line_items.iter().any(|l| &l.id == line && l.quantity != q) {
                wanted.retain(|(w, _)| w != line);
                wanted.push((line.clone(), q));
            }
        }
        let step = self.step.as_deref().and_then(|s| s.split_once(':'));
        if let Some((line, Ok(step), Some(l))) =
            step.map(|(line, n)| (line, n.parse::<i64>(), session.line_items.iter().find(|l| l.id == line)))
        {
            let base = wanted.iter().find(|(w, _)| w == line).map_or(l.quantity, |(_, q)| *q);
            wanted.retain(|(w, _)| w != line);
            wanted.push((line.to_owned(), base.saturating_add(step)));
        }
        Ok(wanted)
    }
}

/// Set the quantities of adjustable lines as `form` asks, in order; the first refused one stops
/// the change and nothing is saved.
pub async fn set_quantities(ctx: &Ctx, id: &str, form: QuantityForm) -> Result<Outcome> {
    change(ctx, id, Place::Quantity, move |session, _, _| {
        let changes = form.changes(session).map_err(|e| refuse(Place::Quantity, e))?;
        for (line, quantity) in changes {
            session.set_quantity(&line, quantity).map_err(|e| refuse(Place::Quantity, e))?;
        }
        Ok(())
    })
    .await
}

/// Apply the promotion code the customer typed (matched case-insensitively among the account's
/// codes), from `client` (the peer address, when known).
///
/// Guessing codes is made slow and uninformative:
/// - each attempt counts against the session's and the address's budgets
///   ([`crate::limits`]); over budget, the answer is [`Outcome::Limited`] and nothing is read;
/// - whether this checkout takes a code at all is decided before the code is looked up;
/// - a code that does not exist and one that no checkout could use now (inactive, expired, used
///   up, its coupon likewise or deleted) get the same [`CODE_NOT_VALID`]; the reasons about this
///   purchase (its amount, currency, customer) are given only for a code otherwise valid.
///
/// The code is found with a plain read, then loaded again inside the transaction, which
/// re-checks it: a lookup inside the transaction could skip a row another one holds.
pub async fn apply_code(ctx: &Ctx, id: &str, code: &str, client: Option<IpAddr>) -> Result<Outcome> {
    if let Err(retry_after) = ctx.code_attempts.check(id, client) {
        let message = crate::limits::too_many_attempts(retry_after);
        return Ok(Outcome::Limited { place: Place::PromotionCode, message, retry_after });
    }
    let unknown = || Outcome::refused(Place::PromotionCode, CODE_NOT_VALID);
    let run = async {
        let (session, account) = open_for_page(ctx, id).await?;
        let now = ctx.now();
        session
            .contents_frozen(now)
            .and_then(|()| session.takes_codes())
            .map_err(|e| Outcome::refused(Place::PromotionCode, e.message))?;
        let chosen = find_code(ctx, &account, code).await?.ok_or_else(unknown)?;
        save(ctx, account, id, Place::PromotionCode, move |session, tx, account| {
            let code: PromotionCode = tx.load(account, &chosen)?.ok_or_else(|| Abort::Refused(unknown()))?;
            let coupon: Coupon = tx.load(account, &code.coupon)?.ok_or_else(|| Abort::Refused(unknown()))?;
            let customer: Option<Customer> = match &session.customer {
                Some(c) => tx.load(account, c)?,
                None => None,
            };
            session
                .apply_promotion_code(&code, &coupon, customer.as_ref(), now)
                .map_err(|e| refuse(Place::PromotionCode, e))
        })
        .await
    };
    answer(run.await)
}

/// The id of the account's promotion code `typed` names (case-insensitively): the active one, or
/// else an inactive one (which the rules then refuse).
async fn find_code(ctx: &Ctx, account: &str, typed: &str) -> Result<Option<String>> {
    let typed = typed.trim();
    if typed.is_empty() || typed.len() > 500 {
        return Ok(None);
    }
    let query = ListQuery {
        filters: vec![Filter::Eq(Column::Code, typed.to_ascii_lowercase().into())],
        limit: 100,
        cursor: Cursor::First,
    };
    let codes = ctx.store.list(account, Kind::PromotionCode, query).await?;
    let codes: Vec<PromotionCode> =
        codes.data.iter().map(PromotionCode::from_raw).collect::<std::result::Result<_, StoreError>>()?;
    Ok(codes.iter().find(|c| c.active).or(codes.first()).map(|c| c.id.clone()))
}

/// The customer removes the promotion code they entered.
pub async fn remove_code(ctx: &Ctx, id: &str) -> Result<Outcome> {
    change(ctx, id, Place::PromotionCode, |session, _, _| {
        session.remove_promotion_code().map_err(|e| refuse(Place::PromotionCode, e))
    })
    .await
}

/// The customer chose the shipping option with rate `rate`; the totals follow.
/// The customer's address as the page has it: the tax follows the shipping address,
/// else the billing address. An address without a country changes nothing.
pub async fn set_address(
    ctx: &Ctx,
    id: &str,
    shipping: kassa_core::session::collection::Address,
    billing: kassa_core::session::collection::Address,
) -> Result<Outcome> {
    change(ctx, id, Place::Payment, move |session, _, _| {
        if session.set_tax_location(Some(&shipping), Some(&billing)) {
            session.recompute().map_err(|e| refuse(Place::Payment, e))?;
        }
        Ok(())
    })
    .await
}

pub async fn choose_shipping(ctx: &Ctx, id: &str, rate: &str) -> Result<Outcome> {
    let rate = rate.to_owned();
    change(ctx, id, Place::Payment, move |session, _, _| {
        if !session.collection.choose_shipping(&rate) {
            return Err(refuse(
                Place::Payment,
                Invalid::param("shipping_rate", "Choose one of the shipping options shown."),
            ));
        }
        session.recompute().map_err(|e| refuse(Place::Payment, e))
    })
    .await
}
