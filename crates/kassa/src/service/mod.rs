//! Use cases. Each function takes the shared [`Ctx`], the authenticated account and a typed
//! request, applies the domain's rules and performs one store transaction. Nothing here knows
//! HTTP: the workers and the CLI call the same functions.

pub mod accounts;
pub mod billing;
pub mod catalog;
pub mod charges;
pub mod checkout;
pub mod delivery;
pub mod events;
pub mod expand;
pub mod idempotency;
pub mod invoices;
pub mod page;
pub mod pay;
pub mod payments;
pub mod portal;
pub mod sessions;
pub mod shipping;
pub mod subscriptions;
pub mod webhooks;

use kassa_core::error::{ErrorCode, Invalid};
use kassa_core::params::{Int, Page};
use kassa_core::store::{
    Abort, Constraint, Cursor, Filter, Kind, ListQuery, Record, StoreError, StoreExt, Tx, TxExt,
};
use kassa_core::{Error as DomainError, store};

use self::events::Outbox;
use crate::state::Ctx;

/// What a use case can answer instead of a result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(StoreError),
    #[error("idempotency: {0}")]
    Idempotency(idempotency::Refusal),
    /// A charge made for the request was declined (`POST /subscriptions` with
    /// `payment_behavior=error_if_incomplete`): 402 `card_error`.
    #[error("card declined: {}", .0.message)]
    Card(kassa_core::billing::PaymentError),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// A transaction that the store failed, or that a domain rule refused.
impl From<Abort<DomainError>> for Error {
    fn from(e: Abort<DomainError>) -> Self {
        match e {
            Abort::Store(e) => Self::Store(e),
            Abort::Refused(d) => Self::Domain(d),
        }
    }
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Self::Domain(DomainError::Invalid(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The authenticated account a request acts for.
#[derive(Debug, Clone)]
pub struct Acct {
    pub id: String,
    pub name: String,
}

fn not_found<R: Record>(id: &str) -> DomainError {
    DomainError::NotFound { object: R::KIND.object(), id: id.to_owned() }
}

/// Insert a new record made by `make` inside one transaction. `make` may read what it needs, and
/// announce the record through the outbox.
pub async fn create<R, F>(ctx: &Ctx, acct: &Acct, make: F) -> Result<R>
where
    R: Record + Clone,
    F: FnOnce(&mut dyn Tx, &mut Outbox, &str) -> Result<R, Abort<DomainError>> + Send + 'static,
{
    let account = acct.id.clone();
    let record = events::transact(ctx, ctx.now(), move |tx, out| {
        let record = make(tx, out, &account)?;
        tx.put_new(&account, &record).map_err(|e| conflict(e, R::KIND, record.id()))?;
        Ok(record)
    })
    .await?;
    Ok(record)
}

/// Read one record of the account; 404 if there is none.
pub async fn get<R: Record>(ctx: &Ctx, acct: &Acct, id: &str) -> Result<R> {
    ctx.store.load::<R>(&acct.id, id).await?.ok_or_else(|| not_found::<R>(id).into())
}

/// Read-modify-write one record in one transaction; 404 if there is none. `change` gets the
/// account's id and the outbox, for the events the change causes.
pub async fn update<R, F>(ctx: &Ctx, acct: &Acct, id: &str, change: F) -> Result<R>
where
    R: Record,
    F: FnOnce(&mut R, &mut dyn Tx, &mut Outbox, &str) -> Result<(), Abort<DomainError>> + Send + 'static,
{
    let account = acct.id.clone();
    let id = id.to_owned();
    let record = events::transact(ctx, ctx.now(), move |tx, out| {
        let mut record: R = tx.load(&account, &id)?.ok_or_else(|| Abort::Refused(not_found::<R>(&id)))?;
        change(&mut record, tx, out, &account)?;
        tx.put(&account, &record).map_err(|e| conflict(e, R::KIND, record.id()))?;
        Ok(record)
    })
    .await?;
    Ok(record)
}

/// A page of records: Stripe's `limit` (1–100, default 10) and cursors, plus `filters`.
pub async fn list<R: Record>(
    ctx: &Ctx,
    acct: &Acct,
    page: &Page,
    mut filters: Vec<Filter>,
    created: Option<&kassa_core::params::CreatedFilter>,
) -> Result<(Vec<R>, bool)> {
    let query = list_query(page, &mut filters, created)?;
    let cursor_param = match &query.cursor {
        Cursor::After(_) => "starting_after",
        Cursor::Before(_) => "ending_before",
        Cursor::First => "",
    };
    let out = ctx.store.list(&acct.id, R::KIND, query).await.map_err(|e| match e {
        StoreError::CursorNotFound(id) => Error::from(Invalid::no_such(R::KIND.object(), &id, cursor_param)),
        other => other.into(),
    })?;
    let records = out.data.iter().map(R::from_raw).collect::<Result<Vec<R>, StoreError>>()?;
    Ok((records, out.has_more))
}

/// Check the pagination parameters and turn them into a store query.
/// A page of a list kept inside another record (a session's line items, a customer's tax ids),
/// in the order given, with `limit`, `starting_after` and `ending_before` as on every list; a
/// cursor that is not in the list is a `resource_missing` naming it (`what`: "line item", …).
pub fn page_of<T: Clone>(
    items: &[T],
    id: impl Fn(&T) -> &str,
    page: &Page,
    what: &str,
) -> Result<(Vec<T>, bool), Invalid> {
    let query = list_query(page, &mut Vec::new(), None)?;
    let limit = usize::try_from(query.limit).unwrap_or(10);
    let position = |cursor: &str, param: &str| {
        items.iter().position(|t| id(t) == cursor).ok_or_else(|| Invalid::no_such(what, cursor, param))
    };
    Ok(match &query.cursor {
        Cursor::First => (items.iter().take(limit).cloned().collect(), items.len() > limit),
        Cursor::After(c) => {
            let rest = &items[position(c, "starting_after")? + 1..];
            (rest.iter().take(limit).cloned().collect(), rest.len() > limit)
        }
        Cursor::Before(c) => {
            let end = position(c, "ending_before")?;
            let start = end.saturating_sub(limit);
            (items[start..end].to_vec(), start > 0)
        }
    })
}

pub fn list_query(
    page: &Page,
    filters: &mut Vec<Filter>,
    created: Option<&kassa_core::params::CreatedFilter>,
) -> Result<ListQuery, Invalid> {
    let limit = match page.limit {
        None => 10,
        Some(Int(l)) if (1..=100).contains(&l) => u32::try_from(l).unwrap_or(10),
        Some(_) => return Err(Invalid::param("limit", "`limit` must be between 1 and 100.")),
    };
    let cursor = match (&page.starting_after, &page.ending_before) {
        (Some(_), Some(_)) => return Err(Invalid::exclusive("starting_after", "ending_before")),
        (Some(a), None) => Cursor::After(a.clone()),
        (None, Some(b)) => Cursor::Before(b.clone()),
        (None, None) => Cursor::First,
    };
    if let Some(c) = created {
        let r = &c.0;
        for (bound, cmp) in [
            (r.gt, store::Cmp::Gt),
            (r.gte, store::Cmp::Gte),
            (r.lt, store::Cmp::Lt),
            (r.lte, store::Cmp::Lte),
        ] {
            if let Some(Int(t)) = bound {
                filters.push(Filter::Cmp(store::Column::Created, cmp, t));
            }
        }
    }
    Ok(ListQuery { filters: std::mem::take(filters), limit, cursor })
}

/// Translate a broken uniqueness constraint into the 400 the merchant should see.
pub fn conflict(e: StoreError, kind: Kind, id: &str) -> Abort<DomainError> {
    let invalid = match e {
        StoreError::Conflict(Constraint::PrimaryKey) => Invalid::new(
            ErrorCode::ResourceAlreadyExists,
            "id",
            format!("A {} with id '{id}' already exists.", kind.object()),
        ),
        StoreError::Conflict(Constraint::ActivePromotionCode) => Invalid::new(
            ErrorCode::ResourceAlreadyExists,
            "code",
            "An active promotion code with this code already exists (codes are case-insensitive).",
        ),
        other => return Abort::Store(other),
    };
    Abort::Refused(DomainError::Invalid(invalid))
}
