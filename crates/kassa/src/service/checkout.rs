//! What the customer does on the hosted page before paying: change quantities, enter or remove a
//! promotion code. No key: the session id is the capability. Each action is one transaction that
//! re-reads the session, so two tabs cannot interleave their changes, and only an open session
//! changes.

use kassa_core::catalog::{Coupon, Customer, PromotionCode};
use kassa_core::session::{Session, Status};
use kassa_core::store::{Column, Cursor, Filter, Kind, ListQuery, Record, StoreError, TxExt, transact};
use kassa_core::{Error as DomainError, Invalid};

use super::Result;
use crate::state::Ctx;

/// A session as the page sees it, with its account.
pub struct PageSession {
    pub session: Session,
    pub account: String,
}

/// Why a page action did not happen.
#[derive(Debug)]
pub enum Refused {
    /// No such session.
    Unknown,
    /// The session is no longer open.
    Closed(Status),
    /// The customer's input broke a rule; show the message on the page.
    Input(Invalid),
}

fn closed(status: Status) -> StoreError {
    StoreError::Rejected(DomainError::State(status.as_str().to_owned()))
}

/// Run `change` on the open session `id`, in one transaction.
async fn change<F>(ctx: &Ctx, id: &str, change: F) -> Result<std::result::Result<PageSession, Refused>>
where
    F: FnOnce(&mut Session, &mut dyn kassa_core::store::Tx, &str) -> std::result::Result<(), StoreError>
        + Send
        + 'static,
{
    let Some(found) = ctx.store.get_by_id(Kind::CheckoutSession, id).await? else {
        return Ok(Err(Refused::Unknown));
    };
    let account = found.account;
    let now = ctx.now();
    let id = id.to_owned();
    let acct = account.clone();
    let outcome = transact(ctx.store.as_ref(), move |tx| {
        let mut session: Session = tx
            .load(&acct, &id)?
            .ok_or_else(|| StoreError::Rejected(DomainError::State("gone".to_owned())))?;
        let status = session.status_at(now);
        if status != Status::Open {
            return Err(closed(status));
        }
        change(&mut session, tx, &acct)?;
        tx.put(&acct, &session)?;
        Ok(session)
    })
    .await;
    match outcome {
        Ok(session) => Ok(Ok(PageSession { session, account })),
        Err(StoreError::Rejected(DomainError::Invalid(i))) => Ok(Err(Refused::Input(i))),
        Err(StoreError::Rejected(DomainError::State(s))) => {
            Ok(Err(Status::parse(&s).map_or(Refused::Unknown, Refused::Closed)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Set the quantities of adjustable lines: `(line id, quantity)` pairs, applied in order; the
/// first refused one stops the change and nothing is saved.
pub async fn set_quantities(
    ctx: &Ctx,
    id: &str,
    changes: Vec<(String, i64)>,
) -> Result<std::result::Result<PageSession, Refused>> {
    change(ctx, id, move |session, _, _| {
        for (line, quantity) in changes {
            session.set_quantity(&line, quantity)?;
        }
        Ok(())
    })
    .await
}

/// Apply the promotion code the customer typed (matched case-insensitively among the account's
/// codes). The code is found with a plain read, then loaded again inside the transaction, which
/// re-checks it: a lookup inside the transaction could skip a row another one holds.
pub async fn apply_code(
    ctx: &Ctx,
    id: &str,
    code: &str,
) -> Result<std::result::Result<PageSession, Refused>> {
    let unknown =
        || Invalid::new(kassa_core::ErrorCode::PromotionCodeInvalid, "code", "This code is not valid.");
    let typed = code.trim();
    let Some(found) = ctx.store.get_by_id(Kind::CheckoutSession, id).await? else {
        return Ok(Err(Refused::Unknown));
    };
    if typed.is_empty() || typed.len() > 500 {
        return Ok(Err(Refused::Input(unknown())));
    }
    let query = ListQuery {
        filters: vec![Filter::Eq(Column::Code, typed.to_ascii_lowercase().into())],
        limit: 100,
        cursor: Cursor::First,
    };
    let codes = ctx.store.list(&found.account, Kind::PromotionCode, query).await?;
    let codes: Vec<PromotionCode> =
        codes.data.iter().map(PromotionCode::from_raw).collect::<std::result::Result<_, StoreError>>()?;
    let Some(chosen) = codes.iter().find(|c| c.active).or(codes.first()).map(|c| c.id.clone()) else {
        return Ok(Err(Refused::Input(unknown())));
    };
    let now = ctx.now();
    change(ctx, id, move |session, tx, account| {
        let code: PromotionCode = tx.load(account, &chosen)?.ok_or_else(unknown)?;
        let coupon: Coupon = tx.load(account, &code.coupon)?.ok_or_else(unknown)?;
        let customer: Option<Customer> = match &session.customer {
            Some(c) => tx.load(account, c)?,
            None => None,
        };
        session.apply_promotion_code(&code, &coupon, customer.as_ref(), now)?;
        Ok(())
    })
    .await
}

pub async fn remove_code(ctx: &Ctx, id: &str) -> Result<std::result::Result<PageSession, Refused>> {
    change(ctx, id, |session, _, _| Ok(session.remove_promotion_code()?)).await
}
