//! The storage port: a generic record store with transactions.
//!
//! The port knows records, not use cases. It offers a handful of operations on any kind of record
//! (get, insert, update, delete, find, list) and a transaction that groups them; what a use case
//! means — create a session, complete one, claim a delivery — is written once, in the services,
//! as a closure over those operations. A backend therefore implements a few generic statements per
//! table instead of one method per use case, and a new object or flow needs no new store method:
//! adding a kind is a [`Kind`], its columns and a migration. The conformance suite in
//! `kassa-store` holds every backend to the same semantics.
//!
//! Every object kassa keeps is a *record*: its JSON document (the domain struct, serialized) plus
//! the few columns that lists filter on and constraints guard, all derived from the struct on
//! every write, so the document and its columns cannot disagree. A backend stores each [`Kind`] in
//! its own table keyed by `(account_id, id)`, in insertion order (`seq`), with the columns that
//! [`Kind::columns`] names.
//!
//! Two ways in:
//! - **Reads** ([`Store::get`], [`Store::get_many`], [`Store::list`]) run outside any write, on
//!   read connections.
//! - **Writes** all go through [`Store::transact`]: a closure over a [`Tx`] that runs inside one
//!   database transaction and either commits whole or not at all. A use case (create a session,
//!   expire one, later complete one with its customer, payment and events) is one closure, so it
//!   is atomic on every backend. On SQLite the closure runs on the single writer, which commits
//!   several closures together (group commit) and answers none before the commit is on disk; on
//!   PostgreSQL [`Tx::get`] locks the row it reads (`FOR UPDATE`), so concurrent closures on the
//!   same object serialize there too.
//!
//! A closure stops in one of two ways, both rolling back: a store failure ([`StoreError`], passed
//! on with `?`), or a refusal of the use case's own ([`Abort::Refused`], through
//! [`transact_or_refuse`]), which the caller gets back untouched. `StoreError` therefore means only
//! that the store failed; business decisions travel in their own types.
//!
//! `Tx` is synchronous on purpose: a use case is plain code between reads and writes, with no
//! `await` in the middle of a transaction. A backend with an async driver (PostgreSQL) runs the
//! closure on a blocking thread (`tokio::task::spawn_blocking`) and implements each `Tx` method
//! with `Handle::block_on` on its open transaction.
//!
//! Semantics every backend keeps (the conformance suite in `kassa-store` holds them in place):
//! `Filter::Eq(column, Value::Null)` matches NULL; `Tx::update` leaves `created` as it was;
//! filtering on a column the kind does not have is a `Backend` error; `Filter::Any(vec![])`
//! matches nothing, while an empty group inside `Any` matches everything.
//!
//! Invariants the database holds: `(account_id, id)` is unique per kind, and an active promotion
//! code's folded `code` is unique per account. Breaking one is [`StoreError::Conflict`] naming the
//! [`Constraint`].

use std::any::Any;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::account::{Account, ApiKeyRecord, KeyHash};
use crate::billing::{Invoice, PaymentIntent, PaymentMethod, Subscription};
use crate::catalog::{Coupon, Customer, Price, Product, PromotionCode};
use crate::error::Error;
use crate::renewal::TestClock;
use crate::session::Session;
use crate::time::Timestamp;
use crate::webhook::{Event, WebhookDelivery, WebhookEndpoint};

/// The kinds of records, one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Product,
    Price,
    Customer,
    Coupon,
    PromotionCode,
    CheckoutSession,
    IdempotencyKey,
    PaymentIntent,
    PaymentMethod,
    Subscription,
    Invoice,
    Event,
    WebhookEndpoint,
    WebhookDelivery,
    TestClock,
    TaxRate,
    ShippingRate,
    SetupIntent,
    /// A signed-in dashboard session, or an unused one-time sign-in link (`kassa dashboard`).
    DashboardSession,
    /// A payment attempt that reached the test network (`ch_…`), issue 17.
    Charge,
    /// Money given back on a charge (`re_…`), issue 17.
    Refund,
    /// `POST /invoiceitems`: an amount the customer's next invoice collects (issue 17).
    InvoiceItem,
    /// A customer portal configuration (`bpc_…`, issue 17).
    PortalConfiguration,
    /// A customer portal session (`bps_…`): the capability its URL carries, stored hashed.
    PortalSession,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Product,
        Kind::Price,
        Kind::Customer,
        Kind::Coupon,
        Kind::PromotionCode,
        Kind::CheckoutSession,
        Kind::IdempotencyKey,
        Kind::PaymentIntent,
        Kind::PaymentMethod,
        Kind::Subscription,
        Kind::Invoice,
        Kind::Event,
        Kind::WebhookEndpoint,
        Kind::WebhookDelivery,
        Kind::TestClock,
        Kind::TaxRate,
        Kind::ShippingRate,
        Kind::SetupIntent,
        Kind::DashboardSession,
        Kind::Charge,
        Kind::Refund,
        Kind::InvoiceItem,
        Kind::PortalConfiguration,
        Kind::PortalSession,
    ];

    pub fn table(self) -> &'static str {
        match self {
            Self::Product => "products",
            Self::Price => "prices",
            Self::Customer => "customers",
            Self::Coupon => "coupons",
            Self::PromotionCode => "promotion_codes",
            Self::CheckoutSession => "checkout_sessions",
            Self::IdempotencyKey => "idempotency_keys",
            Self::PaymentIntent => "payment_intents",
            Self::PaymentMethod => "payment_methods",
            Self::Subscription => "subscriptions",
            Self::Invoice => "invoices",
            Self::Event => "events",
            Self::WebhookEndpoint => "webhook_endpoints",
            Self::WebhookDelivery => "webhook_deliveries",
            Self::TestClock => "test_clocks",
            Self::TaxRate => "tax_rates",
            Self::ShippingRate => "shipping_rates",
            Self::SetupIntent => "setup_intents",
            Self::DashboardSession => "dashboard_sessions",
            Self::Charge => "charges",
            Self::Refund => "refunds",
            Self::InvoiceItem => "invoice_items",
            Self::PortalConfiguration => "billing_portal_configurations",
            Self::PortalSession => "billing_portal_sessions",
        }
    }

    /// The object's name in Stripe's API (`No such price: …`).
    pub fn object(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Price => "price",
            Self::Customer => "customer",
            Self::Coupon => "coupon",
            Self::PromotionCode => "promotion_code",
            Self::CheckoutSession => "checkout.session",
            Self::IdempotencyKey => "idempotency_key",
            Self::PaymentIntent => "payment_intent",
            Self::PaymentMethod => "payment_method",
            Self::Subscription => "subscription",
            Self::Invoice => "invoice",
            Self::Event => "event",
            Self::WebhookEndpoint => "webhook_endpoint",
            Self::WebhookDelivery => "webhook_delivery",
            Self::TestClock => "test_helpers.test_clock",
            Self::TaxRate => "tax_rate",
            Self::ShippingRate => "shipping_rate",
            Self::SetupIntent => "setup_intent",
            Self::DashboardSession => "dashboard_session",
            Self::Charge => "charge",
            Self::Refund => "refund",
            Self::InvoiceItem => "invoiceitem",
            Self::PortalConfiguration => "billing_portal.configuration",
            Self::PortalSession => "billing_portal.session",
        }
    }

    /// The columns besides `account_id`, `id`, `seq`, `created` and `data`.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Self::Product => &[Column::Active],
            Self::Price => &[Column::Active, Column::Product, Column::Currency, Column::Type, Column::Inline],
            Self::Customer => &[Column::Email, Column::TestClock],
            Self::Coupon => &[],
            Self::PromotionCode => &[Column::Active, Column::Code, Column::Coupon, Column::Customer],
            Self::CheckoutSession => &[
                Column::Status,
                Column::Customer,
                Column::PaymentIntent,
                Column::Subscription,
                Column::ExpiresAt,
            ],
            Self::IdempotencyKey => &[],
            Self::PaymentIntent => &[Column::Customer, Column::Status],
            Self::PaymentMethod => &[Column::Customer, Column::Type],
            Self::Subscription => {
                &[Column::Customer, Column::Status, Column::DueAt, Column::TestClock, Column::LockedUntil]
            }
            Self::Invoice => &[Column::Customer, Column::Subscription, Column::Status],
            Self::Event => &[Column::Type],
            Self::WebhookEndpoint => &[Column::Status, Column::LockedUntil],
            Self::WebhookDelivery => &[Column::Endpoint, Column::Event, Column::Status, Column::DueAt],
            Self::TestClock => &[Column::Status, Column::LockedUntil],
            Self::TaxRate => &[Column::Active, Column::Inclusive],
            Self::ShippingRate => &[Column::Active, Column::Currency],
            Self::SetupIntent => &[Column::Customer, Column::Status],
            Self::DashboardSession => &[Column::ExpiresAt],
            Self::Charge => &[Column::Customer, Column::PaymentIntent],
            Self::Refund => &[Column::Charge, Column::PaymentIntent],
            Self::InvoiceItem => &[Column::Customer, Column::Subscription, Column::Status],
            Self::PortalConfiguration => &[Column::Active],
            Self::PortalSession => &[Column::Customer, Column::ExpiresAt],
        }
    }

    /// The condition every read of this kind by filter carries — lists and finds, on every
    /// backend; not deletes — or `None`. Prices made inline by a session's or a subscription's
    /// `price_data` are reachable by id only, as on Stripe ("a list of your prices, excluding
    /// inline prices"); the price table's indexes other than its key's leave them out (partial
    /// indexes with this very condition, which a query must spell the same way for the database
    /// to use them), so the `price_data` a checkout creates writes one index entry, not six.
    pub fn listed(self) -> Option<&'static str> {
        match self {
            Self::Price => Some("inline = 0"),
            _ => None,
        }
    }
}

/// A column that lists filter on or a constraint guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Created,
    Active,
    Product,
    Currency,
    Type,
    Email,
    Code,
    Coupon,
    Customer,
    Status,
    PaymentIntent,
    Subscription,
    ExpiresAt,
    /// A delivery's webhook endpoint.
    Endpoint,
    /// A delivery's event.
    Event,
    /// Until when a worker holds the record (a lease); 0 when no one does.
    LockedUntil,
    /// When the scheduler must next act on a subscription, or a worker may next attempt a webhook
    /// delivery (NULL: never).
    DueAt,
    /// The test clock a customer or subscription follows (NULL: real time).
    TestClock,
    /// Whether a tax rate is inclusive.
    Inclusive,
    /// The charge a refund gives money back on.
    Charge,
    /// Whether a price was made inline by a checkout session's or a subscription's `price_data`
    /// (see [`Kind::listed`]).
    Inline,
}

impl Column {
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Active => "active",
            Self::Product => "product",
            Self::Currency => "currency",
            Self::Type => "type",
            Self::Email => "email",
            Self::Code => "code",
            Self::Coupon => "coupon",
            Self::Customer => "customer",
            Self::Status => "status",
            Self::PaymentIntent => "payment_intent",
            Self::Subscription => "subscription",
            Self::ExpiresAt => "expires_at",
            Self::Endpoint => "webhook_endpoint",
            Self::Event => "event",
            Self::LockedUntil => "locked_until",
            Self::DueAt => "due_at",
            Self::TestClock => "test_clock",
            Self::Inclusive => "inclusive",
            Self::Charge => "charge",
            Self::Inline => "inline",
        }
    }
}

/// A column's value: booleans are stored as 0/1 integers on every backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Int(i64::from(b))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// A stored record: the document and its derived columns, in [`Kind::columns`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub kind: Kind,
    pub account: String,
    pub id: String,
    pub created: Timestamp,
    pub data: String,
    pub columns: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Cmp {
    pub fn sql(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::Gt => ">",
            Self::Gte => ">=",
        }
    }
}

/// A condition on a record's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Eq(Column, Value),
    Cmp(Column, Cmp, i64),
    /// Any of the groups holds; within a group, all filters hold.
    Any(Vec<Vec<Filter>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The newest records.
    First,
    /// Records older than this id (`starting_after`).
    After(String),
    /// Records newer than this id (`ending_before`).
    Before(String),
}

/// A page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filters: Vec<Filter>,
    pub limit: u32,
    pub cursor: Cursor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Newest first.
    pub data: Vec<RawRecord>,
    /// Whether more records lie beyond this page in the direction of travel.
    pub has_more: bool,
}

/// Whose records a [`Tx::find`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Account(&'a str),
    /// The account that holds the record of this kind with this id (a kind whose ids are random,
    /// as for [`Tx::get_by_id`]); no records at all if there is no such record. For a read asked
    /// for ahead ([`Tx::select_ahead`]) before its account is known: the webhook endpoints of a
    /// hosted page's payment go with the read of its session, in one round trip on PostgreSQL.
    AccountOf(Kind, &'a str),
    /// Every account's: for sweeps and schedulers.
    All,
}

/// A uniqueness invariant the database holds. Each backend names its constraint or index after
/// [`Constraint::name`], so the name is written once, here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Constraint {
    /// `(account_id, id)` is unique per kind (and an account's id, and a key's hash).
    PrimaryKey,
    /// An active promotion code's folded `code` is unique per account.
    ActivePromotionCode,
}

impl Constraint {
    pub const ALL: &'static [Constraint] = &[Constraint::PrimaryKey, Constraint::ActivePromotionCode];

    /// The name the migrations give it: the unique index `promotion_codes_active_code`; primary
    /// keys are the backends' own (`<table>_pkey` on PostgreSQL), reported as `primary_key`.
    pub fn name(self) -> &'static str {
        match self {
            Self::PrimaryKey => "primary_key",
            Self::ActivePromotionCode => "promotion_codes_active_code",
        }
    }
}

impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The store failed: nothing here is a business decision. A use case that decides against a change
/// inside a transaction says so with [`Abort::Refused`], not with a `StoreError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint would break.
    #[error("conflict on {0}")]
    Conflict(Constraint),
    /// A value this backend cannot keep (PostgreSQL's text cannot hold a NUL character): the
    /// request carried it, so it is the caller's to fix, but no rule of kassa's refused it.
    #[error("{0}")]
    Unstorable(String),
    /// A list cursor names no record of this account and kind.
    #[error("no such object: {0}")]
    CursorNotFound(String),
    /// An update of a record that does not exist.
    #[error("record not found")]
    NotFound,
    /// The database cannot be reached or is not answering.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database this process writes to is gone: its file was deleted or replaced while the
    /// process ran (SQLite). Unlike [`StoreError::Unavailable`] this does not pass: writes would
    /// land in a file no one will ever open again, so none is acknowledged until a restart. The
    /// message names the file and is meant for the operator.
    #[error("database lost: {0}")]
    Lost(String),
    /// A stored document that does not decode: a bug or a damaged database.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(String),
}

/// Why a transaction did not commit. Either way it was rolled back and nothing was written.
///
/// - [`Abort::Store`]: the store failed (or the closure passed a store error on with `?`);
/// - [`Abort::Refused`]: the use case decided against the change, with a value of its own type
///   `E` (a domain error, a page outcome, …), handed back to the caller untouched.
///
/// So a closure can stop with its own answer without that answer travelling as a store error, and
/// no caller ever reads a decision back out of an error's text.
#[derive(Debug, PartialEq, Eq)]
pub enum Abort<E> {
    Store(StoreError),
    Refused(E),
}

impl<E> Abort<E> {
    /// Refuse with the use case's own value.
    pub fn refuse(e: impl Into<E>) -> Self {
        Self::Refused(e.into())
    }

    /// The refusal, turned into another type.
    pub fn map_refusal<F>(self, f: impl FnOnce(E) -> F) -> Abort<F> {
        match self {
            Self::Store(e) => Abort::Store(e),
            Self::Refused(r) => Abort::Refused(f(r)),
        }
    }
}

impl<E> From<StoreError> for Abort<E> {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Domain rules refuse with the domain's [`Error`]: `?` on one inside a transaction refuses.
impl From<Error> for Abort<Error> {
    fn from(e: Error) -> Self {
        Self::Refused(e)
    }
}

impl From<crate::error::Invalid> for Abort<Error> {
    fn from(e: crate::error::Invalid) -> Self {
        Self::Refused(Error::Invalid(e))
    }
}

/// A read asked for ahead with [`Tx::select_ahead`].
#[derive(Debug)]
pub enum Ahead {
    /// Its rows, read already.
    Ready(Vec<RawRecord>),
    /// Queued by the backend (or answered there): its number in the transaction.
    Queued(usize),
}

/// What a write sees: its reads and writes all belong to one transaction.
pub trait Tx {
    /// One record of an account. On backends with row locks the row stays locked until commit.
    fn get(&mut self, account: &str, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError>;
    /// The records of `kind` with these ids in an account, each read as [`Tx::get`] reads one
    /// (on backends with row locks, locked until commit), in one statement where the backend
    /// can; those that do not exist are left out, and the order is not the ids'. By default, one
    /// [`Tx::get`] each.
    fn get_each(&mut self, account: &str, kind: Kind, ids: &[&str]) -> Result<Vec<RawRecord>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.get(account, kind, id)?);
        }
        Ok(found)
    }
    /// The record of `kind` with this id in whichever account holds it, read as [`Tx::get`]
    /// reads one (on backends with row locks, locked until commit): for the kinds whose ids are
    /// random and so name one record ([`Store::get_by_id`] in a transaction). It finds the
    /// account and the record in one read, where the hosted page knows only the session's id.
    /// Required, so that a wrapper of a `Tx` cannot forget to pass it on.
    fn get_by_id(&mut self, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError>;
    /// Fails with `Conflict` when a unique constraint would break.
    fn insert(&mut self, record: &RawRecord) -> Result<(), StoreError>;
    /// Insert a record whose id was drawn at random for it just now (kassa's own, never the
    /// caller's): no conflict is expected, so none is handled. A backend may send it later, with
    /// the transaction's next statement or its commit; should it conflict all the same, the
    /// whole transaction fails with `Conflict` instead of this call. By default, [`Tx::insert`].
    fn insert_fresh(&mut self, record: &RawRecord) -> Result<(), StoreError> {
        self.insert(record)
    }
    /// Replace the document and columns of an existing record; `NotFound` if there is none.
    fn update(&mut self, record: &RawRecord) -> Result<(), StoreError>;
    fn delete(&mut self, account: &str, kind: Kind, id: &str) -> Result<bool, StoreError>;
    /// Up to `limit` records matching every filter, oldest first. On backends with row locks the
    /// rows are locked, and rows another transaction holds are skipped, so concurrent sweeps
    /// share out the work instead of doing it twice.
    fn find(
        &mut self,
        scope: Scope<'_>,
        kind: Kind,
        filters: &[Filter],
        limit: u32,
    ) -> Result<Vec<RawRecord>, StoreError>;
    /// Up to `limit` records matching every filter, oldest first, read without taking or waiting
    /// for locks: what [`Tx::find`] would return, but for deciding rather than claiming (which
    /// webhook endpoints an event goes to, which deliveries of an endpoint are due).
    fn select(
        &mut self,
        scope: Scope<'_>,
        kind: Kind,
        filters: &[Filter],
        limit: u32,
    ) -> Result<Vec<RawRecord>, StoreError>;
    /// [`Tx::select`], asked for ahead of when its rows are needed: a backend that talks to its
    /// database over a network may send it with the transaction's next statement, in the same
    /// round trip; [`Tx::take_ahead`] answers its rows (read at the latest when it is taken). A
    /// read never taken is dropped with the transaction. By default it runs at once.
    fn select_ahead(
        &mut self,
        scope: Scope<'_>,
        kind: Kind,
        filters: &[Filter],
        limit: u32,
    ) -> Result<Ahead, StoreError> {
        self.select(scope, kind, filters, limit).map(Ahead::Ready)
    }
    /// The rows of a read asked for with [`Tx::select_ahead`] in this transaction.
    fn take_ahead(&mut self, ahead: Ahead) -> Result<Vec<RawRecord>, StoreError> {
        match ahead {
            Ahead::Ready(rows) => Ok(rows),
            Ahead::Queued(_) => {
                Err(StoreError::Backend("a read asked for in another transaction".to_owned()))
            }
        }
    }
    /// Delete every record of `kind` (all accounts) matching the filters; returns how many.
    fn delete_where(&mut self, kind: Kind, filters: &[Filter]) -> Result<u64, StoreError>;
    /// The next value of the account's counter `name` (1 for the first), taken in this
    /// transaction: the counter's row stays locked until commit, so concurrent transactions get
    /// distinct, gapless values, and a rollback gives the value back (invoice numbers, issue 17).
    /// Required, so that a wrapper of a `Tx` cannot forget to pass it on.
    fn next_in_sequence(&mut self, account: &str, name: &str) -> Result<i64, StoreError>;
}

/// A value whose type the backend does not know: a closure's result or its refusal.
pub type AnyValue = Box<dyn Any + Send>;

/// What a unit of work answers: its result, or why it did not commit. The typed wrappers
/// ([`transact`], [`transact_or_refuse`], [`view`]) restore the types.
pub type TxOutcome = Result<AnyValue, Abort<AnyValue>>;

/// A unit of work for [`Store::transact`] and [`Store::view`].
pub type TxFn = Box<dyn FnOnce(&mut dyn Tx) -> TxOutcome + Send>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Is the database reachable and answering — and, where the backend can tell, taking writes?
    /// (SQLite: its files are still there, else `Lost`; writes are not failing, else
    /// `Unavailable`.) Backs `GET /health`, so it must stay cheap under load.
    async fn ping(&self) -> Result<(), StoreError>;

    async fn count_accounts(&self) -> Result<u64, StoreError>;
    async fn create_account(&self, account: &Account, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// The account a key belongs to, whatever the key's state (revoked or expired too).
    async fn account_by_key(&self, hash: &KeyHash) -> Result<Option<Account>, StoreError> {
        Ok(self.api_key(hash).await?.map(|(_, account)| account))
    }
    async fn get_account(&self, id: &str) -> Result<Option<Account>, StoreError>;
    /// The default account: the first one created (oldest `created`, then smallest id).
    async fn default_account(&self) -> Result<Option<Account>, StoreError>;

    /// A key by its hash, with its account, whatever its state: the caller judges revocation and
    /// expiry against its own clock.
    async fn api_key(&self, hash: &KeyHash) -> Result<Option<(ApiKeyRecord, Account)>, StoreError>;
    /// Add a key to an existing account. A key already known (by hash, to any account) is
    /// `Conflict(PrimaryKey)`.
    async fn add_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// An account's keys, every state, oldest first.
    async fn api_keys(&self, account: &str) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revoke the account's key `id` as of `at`. Whether there was such a key not yet revoked.
    async fn revoke_api_key(&self, account: &str, id: &str, at: Timestamp) -> Result<bool, StoreError>;
    /// Make the account's key `id` expire at `at`, unless it expires sooner already (a roll).
    /// Whether there was such a key not revoked.
    async fn expire_api_key(&self, account: &str, id: &str, at: Timestamp) -> Result<bool, StoreError>;
    /// Note that a key was used at `at`; `last_used` only ever moves forward.
    async fn record_key_use(&self, hash: &KeyHash, at: Timestamp) -> Result<(), StoreError>;

    async fn get(&self, account: &str, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError>;
    /// A record by its id alone, whatever its account: for ids that are capabilities (a checkout
    /// session's id opens its hosted page). Only meaningful for kinds whose ids are random.
    async fn get_by_id(&self, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError>;
    /// Several records of one account, read in one snapshot; missing ones are left out.
    async fn get_many(&self, account: &str, keys: Vec<(Kind, String)>) -> Result<Vec<RawRecord>, StoreError>;
    async fn list(&self, account: &str, kind: Kind, query: ListQuery) -> Result<Page, StoreError>;

    /// Run `f` against one consistent snapshot, on a read connection, taking no locks: for use
    /// cases that read several records and decide before writing. Writes inside `f` fail.
    async fn view(&self, f: TxFn) -> TxOutcome;

    /// Run `f` in one transaction; commit if it returns `Ok`, roll back if it returns `Err`
    /// (a store failure or a refusal, handed back as it was). If a statement failed and left the
    /// transaction unusable, the answer is that failure, whatever `f` returned.
    /// Answers only once the outcome is durable. If the returned future is dropped after the work
    /// was queued, the work may still commit.
    async fn transact(&self, f: TxFn) -> TxOutcome;

    /// Insert one record as a write of its own: [`Tx::insert`] in a transaction of its own, with
    /// the same `Conflict`s, durable when it answers. For hot paths that end in a single insert
    /// (a new checkout session): a backend may write concurrent inserts together, in one
    /// statement, which a closure cannot offer since it may read what it wrote.
    async fn insert(&self, record: RawRecord) -> Result<(), StoreError> {
        transact(self, move |tx| tx.insert(&record)).await
    }

    /// Insert several records as one write of their own, all of them or none: [`Tx::insert`] of
    /// each, in order, in a transaction of its own, answering the first `Conflict` (and writing
    /// nothing) if one meets a unique constraint. For hot paths that end in a few inserts of one
    /// request (a session with inline products and prices): like [`Store::insert`], a backend
    /// may write it together with concurrent ones.
    async fn insert_all(&self, records: Vec<RawRecord>) -> Result<(), StoreError> {
        transact(self, move |tx| records.iter().try_for_each(|r| tx.insert(r))).await
    }

    /// Report every commit from now on to `observer` (for `GET /metrics`); the first observer
    /// given stays. A backend that reports nothing ignores it.
    fn observe(&self, _observer: std::sync::Arc<dyn StoreObserver>) {}

    /// How many of the backend's database connections are in use, for a backend with a pool
    /// (PostgreSQL); `None` for one without (SQLite's connections are its own threads').
    fn pool_usage(&self) -> Option<PoolUsage> {
        None
    }
}

/// What a backend tells about its writes as they commit. Called on the backend's own threads and
/// tasks, right after the commit: it must be cheap and must not block.
pub trait StoreObserver: Send + Sync + 'static {
    fn committed(&self, commit: &Commit);
}

/// One commit: `jobs` units of work made durable together in `elapsed`, from the transaction's
/// start to the commit's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Commit {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Which of the backend's write paths: `group_commit` (SQLite's writer: every transaction
    /// queued meanwhile, one `COMMIT`), `transaction` (one [`Store::transact`] on PostgreSQL) or
    /// `grouped_insert` (concurrent [`Store::insert`]s in one PostgreSQL statement).
    pub path: &'static str,
    pub jobs: usize,
    pub elapsed: std::time::Duration,
}

/// A connection pool's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// The most connections it opens (`pool_max`).
    pub max: usize,
    /// Checked out right now.
    pub in_use: usize,
    /// Open and waiting to be checked out.
    pub idle: usize,
}

/// [`Store::transact`] with a typed result, for work that only the store can stop.
pub async fn transact<S, T, F>(store: &S, f: F) -> Result<T, StoreError>
where
    S: Store + ?Sized,
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    transact_or_refuse::<S, T, Never, _>(store, move |tx| f(tx).map_err(Abort::Store))
        .await
        .map_err(Abort::into_store)
}

/// [`Store::transact`] for work that may decide against the change: the closure returns
/// `Err(Abort::Refused(e))` to roll back and hand `e` to the caller as it is.
pub async fn transact_or_refuse<S, T, E, F>(store: &S, f: F) -> Result<T, Abort<E>>
where
    S: Store + ?Sized,
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, Abort<E>> + Send + 'static,
{
    let outcome = store.transact(erase(f)).await;
    restore(outcome, "a transaction")
}

/// [`Store::view`] with a typed result.
pub async fn view<S, T, F>(store: &S, f: F) -> Result<T, StoreError>
where
    S: Store + ?Sized,
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    let f = move |tx: &mut dyn Tx| f(tx).map_err(Abort::<Never>::Store);
    restore(store.view(erase(f)).await, "a read").map_err(Abort::into_store)
}

/// A refusal that cannot happen: the `E` of work that never refuses.
#[derive(Debug)]
pub enum Never {}

impl Abort<Never> {
    /// The store's error: the only way work that never refuses can fail.
    pub fn into_store(self) -> StoreError {
        match self {
            Self::Store(e) => e,
            Self::Refused(never) => match never {},
        }
    }
}

/// A typed closure as a [`TxFn`].
fn erase<T, E, F>(f: F) -> TxFn
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, Abort<E>> + Send + 'static,
{
    Box::new(move |tx| match f(tx) {
        Ok(v) => Ok(Box::new(v)),
        Err(a) => Err(a.map_refusal(|e| -> AnyValue { Box::new(e) })),
    })
}

/// A [`TxOutcome`] with its types restored.
fn restore<T: 'static, E: 'static>(outcome: TxOutcome, what: &str) -> Result<T, Abort<E>> {
    let mistyped = || Abort::Store(StoreError::Backend(format!("{what} answered with an unexpected type")));
    match outcome {
        Ok(v) => v.downcast::<T>().map(|b| *b).map_err(|_| mistyped()),
        Err(Abort::Store(e)) => Err(Abort::Store(e)),
        Err(Abort::Refused(r)) => match r.downcast::<E>() {
            Ok(e) => Err(Abort::Refused(*e)),
            Err(_) => Err(mistyped()),
        },
    }
}

/// A domain type kept as a record.
pub trait Record: Serialize + DeserializeOwned + Send + Sync + 'static {
    const KIND: Kind;
    fn id(&self) -> &str;
    fn created(&self) -> Timestamp;
    /// Values for [`Kind::columns`], in that order.
    fn columns(&self) -> Vec<Value>;

    fn to_raw(&self, account: &str) -> Result<RawRecord, StoreError> {
        let data = crate::json::to_string(self).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(RawRecord {
            kind: Self::KIND,
            account: account.to_owned(),
            id: self.id().to_owned(),
            created: self.created(),
            data,
            columns: self.columns(),
        })
    }

    fn from_raw(raw: &RawRecord) -> Result<Self, StoreError> {
        parse_document(Self::KIND, raw)
    }
}

/// `raw`'s document as a `T`, which must be of kind `kind`.
fn parse_document<T: DeserializeOwned>(kind: Kind, raw: &RawRecord) -> Result<T, StoreError> {
    if raw.kind != kind {
        return Err(StoreError::Corrupt(format!("expected a {kind:?}, found a {:?}", raw.kind)));
    }
    serde_json::from_str(&raw.data)
        .map_err(|e| StoreError::Corrupt(format!("{} {}: {e}", raw.kind.table(), raw.id)))
}

/// Typed reads and writes on a [`Tx`].
pub trait TxExt: Tx {
    fn load<R: Record>(&mut self, account: &str, id: &str) -> Result<Option<R>, StoreError> {
        self.get(account, R::KIND, id)?.map(|raw| R::from_raw(&raw)).transpose()
    }

    fn put_new<R: Record>(&mut self, account: &str, record: &R) -> Result<(), StoreError> {
        self.insert(&record.to_raw(account)?)
    }

    /// [`Tx::insert_fresh`]: for a record whose id was just drawn at random.
    fn put_fresh<R: Record>(&mut self, account: &str, record: &R) -> Result<(), StoreError> {
        self.insert_fresh(&record.to_raw(account)?)
    }

    fn put<R: Record>(&mut self, account: &str, record: &R) -> Result<(), StoreError> {
        self.update(&record.to_raw(account)?)
    }

    /// Update the record, or insert it when it is not stored yet.
    fn upsert<R: Record>(&mut self, account: &str, record: &R) -> Result<(), StoreError> {
        match self.put(account, record) {
            Err(StoreError::NotFound) => self.put_new(account, record),
            other => other,
        }
    }
}

impl<T: Tx + ?Sized> TxExt for T {}

/// Typed reads on a [`Store`].
#[async_trait]
pub trait StoreExt {
    async fn load<R: Record>(&self, account: &str, id: &str) -> Result<Option<R>, StoreError>;
}

#[async_trait]
impl StoreExt for dyn Store {
    async fn load<R: Record>(&self, account: &str, id: &str) -> Result<Option<R>, StoreError> {
        self.get(account, R::KIND, id).await?.map(|raw| R::from_raw(&raw)).transpose()
    }
}

impl Record for Product {
    const KIND: Kind = Kind::Product;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.active.into()]
    }
}

impl Record for Price {
    const KIND: Kind = Kind::Price;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![
            self.active.into(),
            self.product.as_str().into(),
            self.currency.as_str().into(),
            self.type_str().into(),
            self.inline.into(),
        ]
    }
}

impl Record for Customer {
    const KIND: Kind = Kind::Customer;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.email.clone().into(), self.test_clock.clone().into()]
    }
}

impl Record for crate::tax::TaxRate {
    const KIND: Kind = Kind::TaxRate;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.active.into(), self.inclusive.into()]
    }
}

impl Record for crate::shipping::ShippingRate {
    const KIND: Kind = Kind::ShippingRate;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.active.into(), self.currency.as_str().into()]
    }
}

impl Record for crate::dashboard::DashboardSession {
    const KIND: Kind = Kind::DashboardSession;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.expires_at().into()]
    }
}

impl Record for crate::portal::PortalConfiguration {
    const KIND: Kind = Kind::PortalConfiguration;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.active.into()]
    }
}

impl Record for crate::portal::PortalSession {
    const KIND: Kind = Kind::PortalSession;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.customer.as_str().into(), self.expires_at.into()]
    }
}

impl Record for Coupon {
    const KIND: Kind = Kind::Coupon;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![]
    }
}

impl Record for PromotionCode {
    const KIND: Kind = Kind::PromotionCode;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![
            self.active.into(),
            self.code_key().into(),
            self.coupon.as_str().into(),
            self.customer.clone().into(),
        ]
    }
}

/// Whether `v` is its type's default: for `#[serde(default, skip_serializing_if = "is_default")]`
/// on members of stored documents, which then leave out what reads back the same without them
/// (`false`, `0`, `[]`, `{}`, a default enum value or struct).
pub fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Record for Session {
    const KIND: Kind = Kind::CheckoutSession;
    fn id(&self) -> &str {
        &self.id
    }
    /// Stored without its `null` members: about half of a new session's document is `null`s
    /// (2,073 B → 1,170 B for a one-line session), and the document is most of what a session
    /// takes on disk. Every optional field of a session reads back as `None` when it is missing,
    /// so the document reads back as it was written (and documents written with their `null`s
    /// still read as before). The session's own `Option` members are not even handed to the
    /// serializer when they are `None` (`skip_serializing_if`): the same text, without escaping a
    /// key only to drop it.
    ///
    /// Nor does the document repeat the row's `id` and `created` columns (~95 B of a one-line
    /// session): serde writes them first, so they are cut from the front of the text, and
    /// [`Record::from_raw`] puts them back from the row. A document that does not start as
    /// expected is stored whole.
    fn to_raw(&self, account: &str) -> Result<RawRecord, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let mut data = crate::json::to_string_without_nulls(self).map_err(corrupt)?;
        let head = format!(
            "{{\"id\":{},\"created\":{},",
            serde_json::to_string(&self.id).map_err(corrupt)?,
            self.created
        );
        if data.starts_with(&head) {
            data.replace_range(1..head.len(), "");
        }
        Ok(RawRecord {
            kind: Self::KIND,
            account: account.to_owned(),
            id: self.id.clone(),
            created: self.created,
            data,
            columns: self.columns(),
        })
    }
    fn from_raw(raw: &RawRecord) -> Result<Self, StoreError> {
        let mut s: Self = parse_document(Self::KIND, raw)?;
        if s.id.is_empty() {
            s.id.clone_from(&raw.id);
            s.created = raw.created;
        }
        Ok(s)
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![
            self.status.as_str().into(),
            self.customer.clone().into(),
            self.payment_intent.clone().into(),
            self.subscription.clone().into(),
            self.expires_at.into(),
        ]
    }
}

impl Record for PaymentIntent {
    const KIND: Kind = Kind::PaymentIntent;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.customer.clone().into(), self.status.as_str().into()]
    }
}

impl Record for PaymentMethod {
    const KIND: Kind = Kind::PaymentMethod;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.customer.clone().into(), self.kind.as_str().into()]
    }
}

impl Record for crate::billing::SetupIntent {
    const KIND: Kind = Kind::SetupIntent;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.customer.clone().into(), self.status().into()]
    }
}

impl Record for Subscription {
    const KIND: Kind = Kind::Subscription;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![
            self.customer.as_str().into(),
            self.status.as_str().into(),
            self.due_at.into(),
            self.test_clock.clone().into(),
            self.locked_until.into(),
        ]
    }
}

impl Record for crate::billing::InvoiceItem {
    const KIND: Kind = Kind::InvoiceItem;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.customer.as_str().into(), self.subscription.clone().into(), self.status().into()]
    }
}

impl Record for Invoice {
    const KIND: Kind = Kind::Invoice;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.customer.as_str().into(), self.subscription.clone().into(), self.status.as_str().into()]
    }
}

impl Record for crate::charge::Charge {
    const KIND: Kind = Kind::Charge;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.customer.clone().into(), self.payment_intent.clone().into()]
    }
}

impl Record for crate::charge::Refund {
    const KIND: Kind = Kind::Refund;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.charge.as_str().into(), self.payment_intent.clone().into()]
    }
}

impl Record for Event {
    const KIND: Kind = Kind::Event;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.kind.as_str().into()]
    }
}

impl Record for WebhookEndpoint {
    const KIND: Kind = Kind::WebhookEndpoint;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.status.as_str().into(), self.locked_until.into()]
    }
}

impl Record for WebhookDelivery {
    const KIND: Kind = Kind::WebhookDelivery;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![
            self.webhook_endpoint.as_str().into(),
            self.event.as_str().into(),
            self.status.as_str().into(),
            self.due_at().into(),
        ]
    }
}

impl Record for TestClock {
    const KIND: Kind = Kind::TestClock;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![self.status.as_str().into(), self.locked_until.into()]
    }
}

/// An `Idempotency-Key` and what became of the first request that used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IdempotencyRecord {
    /// The key as the client sent it.
    pub id: String,
    pub created: Timestamp,
    /// A digest of the request's method, path and decoded parameters.
    pub fingerprint: String,
    /// `None` while the first request is still running.
    pub response: Option<StoredResponse>,
    /// Until when the running request holds the key; past it (the process died), a retry takes over.
    pub locked_until: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

impl Record for IdempotencyRecord {
    const KIND: Kind = Kind::IdempotencyKey;
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> Timestamp {
        self.created
    }
    fn columns(&self) -> Vec<Value> {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_values_match_declared_columns() {
        let product = Product {
            id: "prod_1".into(),
            created: 1,
            updated: 1,
            name: "n".into(),
            active: true,
            description: None,
            metadata: Default::default(),
            images: Vec::new(),
            tax_code: None,
        };
        assert_eq!(product.columns().len(), Kind::Product.columns().len());
        let raw = product.to_raw("acct_1").unwrap();
        assert_eq!(Product::from_raw(&raw).unwrap(), product);
        assert_eq!(raw.columns, vec![Value::Int(1)]);
    }

    #[test]
    fn billing_records_derive_their_columns() {
        use crate::billing::{
            BillingDetails, BillingReason, PaymentIntentStatus, PaymentMethodKind, SubscriptionStatus,
        };
        let usd = crate::money::Currency::parse("usd").unwrap();
        fn check<R: Record + PartialEq + std::fmt::Debug>(r: &R, want: Vec<Value>) {
            assert_eq!(r.columns().len(), R::KIND.columns().len(), "{:?}", R::KIND);
            let raw = r.to_raw("acct_1").unwrap();
            assert_eq!(raw.columns, want);
            assert_eq!(&R::from_raw(&raw).unwrap(), r);
        }

        let mut pi = PaymentIntent::new(500, usd, vec!["card".into()], 1);
        check(&pi, vec![Value::Null, "requires_payment_method".into()]);
        pi.customer = Some("cus_1".into());
        pi.status = PaymentIntentStatus::Succeeded;
        check(&pi, vec!["cus_1".into(), "succeeded".into()]);

        let pm = PaymentMethod::new(PaymentMethodKind::CustomerBalance, BillingDetails::default(), 1);
        check(&pm, vec![Value::Null, "customer_balance".into()]);

        let mut sub = Subscription::new("cus_1".into(), usd, vec![], 1, 2, 1);
        sub.status = SubscriptionStatus::PastDue;
        check(&sub, vec!["cus_1".into(), "past_due".into(), Value::Null, Value::Null, Value::Int(0)]);

        let mut inv =
            Invoice::new("cus_1".into(), usd, BillingReason::SubscriptionCycle, vec![], 1, 2, 1).unwrap();
        check(&inv, vec!["cus_1".into(), Value::Null, "draft".into()]);
        inv.subscription = Some(sub.id.clone());
        check(&inv, vec!["cus_1".into(), sub.id.as_str().into(), "draft".into()]);
    }
}
