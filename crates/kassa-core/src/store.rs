//! The storage port.
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
//! constraint.

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
        }
    }

    /// The columns besides `account_id`, `id`, `seq`, `created` and `data`.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Self::Product => &[Column::Active],
            Self::Price => &[Column::Active, Column::Product, Column::Currency, Column::Type],
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
            Self::WebhookDelivery => &[Column::Endpoint, Column::Event, Column::Status],
            Self::TestClock => &[Column::Status, Column::LockedUntil],
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
    /// When the scheduler must next act on a subscription (NULL: never).
    DueAt,
    /// The test clock a customer or subscription follows (NULL: real time).
    TestClock,
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
    /// Every account's: for sweeps and schedulers.
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint, by name (`promotion_codes_active_code`, `primary_key`).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// A list cursor names no record of this account and kind.
    #[error("no such object: {0}")]
    CursorNotFound(String),
    /// An update of a record that does not exist.
    #[error("record not found")]
    NotFound,
    /// The domain refused the change inside a transaction; nothing was written.
    #[error(transparent)]
    Rejected(Error),
    /// The database cannot be reached or is not answering.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored document that does not decode: a bug or a damaged database.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(String),
}

impl From<Error> for StoreError {
    fn from(e: Error) -> Self {
        Self::Rejected(e)
    }
}

impl From<crate::error::Invalid> for StoreError {
    fn from(e: crate::error::Invalid) -> Self {
        Self::Rejected(Error::Invalid(e))
    }
}

/// What a write sees: its reads and writes all belong to one transaction.
pub trait Tx {
    /// One record of an account. On backends with row locks the row stays locked until commit.
    fn get(&mut self, account: &str, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError>;
    /// Fails with `Conflict` when a unique constraint would break.
    fn insert(&mut self, record: &RawRecord) -> Result<(), StoreError>;
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
    /// webhook endpoints an event goes to, which deliveries wait in an endpoint's queue).
    fn select(
        &mut self,
        scope: Scope<'_>,
        kind: Kind,
        filters: &[Filter],
        limit: u32,
    ) -> Result<Vec<RawRecord>, StoreError>;
    /// Delete every record of `kind` (all accounts) matching the filters; returns how many.
    fn delete_where(&mut self, kind: Kind, filters: &[Filter]) -> Result<u64, StoreError>;
}

/// A unit of work for [`Store::transact`]. Its result travels as `Any`; [`transact`] restores
/// the type.
pub type TxFn = Box<dyn FnOnce(&mut dyn Tx) -> Result<Box<dyn Any + Send>, StoreError> + Send>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Is the database reachable and answering?
    async fn ping(&self) -> Result<(), StoreError>;

    async fn count_accounts(&self) -> Result<u64, StoreError>;
    async fn create_account(&self, account: &Account, key: &ApiKeyRecord) -> Result<(), StoreError>;
    async fn account_by_key(&self, hash: &KeyHash) -> Result<Option<Account>, StoreError>;
    async fn get_account(&self, id: &str) -> Result<Option<Account>, StoreError>;

    async fn get(&self, account: &str, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError>;
    /// A record by its id alone, whatever its account: for ids that are capabilities (a checkout
    /// session's id opens its hosted page). Only meaningful for kinds whose ids are random.
    async fn get_by_id(&self, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError>;
    /// Several records of one account, read in one snapshot; missing ones are left out.
    async fn get_many(&self, account: &str, keys: Vec<(Kind, String)>) -> Result<Vec<RawRecord>, StoreError>;
    async fn list(&self, account: &str, kind: Kind, query: ListQuery) -> Result<Page, StoreError>;

    /// Run `f` against one consistent snapshot, on a read connection, taking no locks: for use
    /// cases that read several records and decide before writing. Writes inside `f` fail.
    async fn view(&self, f: TxFn) -> Result<Box<dyn Any + Send>, StoreError>;

    /// Run `f` in one transaction; commit if it returns `Ok`, roll back if it returns `Err`.
    /// Answers only once the outcome is durable. If the returned future is dropped after the work
    /// was queued, the work may still commit.
    async fn transact(&self, f: TxFn) -> Result<Box<dyn Any + Send>, StoreError>;

    /// Insert one record as a write of its own: [`Tx::insert`] in a transaction of its own, with
    /// the same `Conflict`s, durable when it answers. For hot paths that end in a single insert
    /// (a new checkout session): a backend may write concurrent inserts together, in one
    /// statement, which a closure cannot offer since it may read what it wrote.
    async fn insert(&self, record: RawRecord) -> Result<(), StoreError> {
        self.transact(Box::new(move |tx| {
            tx.insert(&record).map(|()| -> Box<dyn Any + Send> { Box::new(()) })
        }))
        .await
        .map(drop)
    }
}

/// [`Store::transact`] with a typed result.
pub async fn transact<T, F>(store: &dyn Store, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    let any =
        store.transact(Box::new(move |tx| f(tx).map(|v| -> Box<dyn Any + Send> { Box::new(v) }))).await?;
    any.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| StoreError::Backend("transaction returned an unexpected type".to_owned()))
}

/// [`Store::view`] with a typed result.
pub async fn view<T, F>(store: &dyn Store, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    let any = store.view(Box::new(move |tx| f(tx).map(|v| -> Box<dyn Any + Send> { Box::new(v) }))).await?;
    any.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| StoreError::Backend("a read returned an unexpected type".to_owned()))
}

/// A domain type kept as a record.
pub trait Record: Serialize + DeserializeOwned + Send + Sync + 'static {
    const KIND: Kind;
    fn id(&self) -> &str;
    fn created(&self) -> Timestamp;
    /// Values for [`Kind::columns`], in that order.
    fn columns(&self) -> Vec<Value>;

    fn to_raw(&self, account: &str) -> Result<RawRecord, StoreError> {
        let data = serde_json::to_string(self).map_err(|e| StoreError::Corrupt(e.to_string()))?;
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
        if raw.kind != Self::KIND {
            return Err(StoreError::Corrupt(format!("expected a {:?}, found a {:?}", Self::KIND, raw.kind)));
        }
        serde_json::from_str(&raw.data)
            .map_err(|e| StoreError::Corrupt(format!("{} {}: {e}", raw.kind.table(), raw.id)))
    }
}

/// Typed reads and writes on a [`Tx`].
pub trait TxExt: Tx {
    fn load<R: Record>(&mut self, account: &str, id: &str) -> Result<Option<R>, StoreError> {
        self.get(account, R::KIND, id)?.map(|raw| R::from_raw(&raw)).transpose()
    }

    fn put_new<R: Record>(&mut self, account: &str, record: &R) -> Result<(), StoreError> {
        self.insert(&record.to_raw(account)?)
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

impl Record for Session {
    const KIND: Kind = Kind::CheckoutSession;
    fn id(&self) -> &str {
        &self.id
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
        vec![self.webhook_endpoint.as_str().into(), self.event.as_str().into(), self.status.as_str().into()]
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

/// An `Idempotency-Key` and what became of the first request that used it (SPEC §10).
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
