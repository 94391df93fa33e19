//! The conformance suite: what every [`Store`] backend must do, written once against the trait.
//!
//! Each scenario is a `pub async fn` that takes a **fresh, empty** store (or, for
//! [`durability`], a database it can open twice) and panics when the backend misbehaves. A
//! backend's test file runs each one as its own test (see `tests/sqlite.rs`), or all of them with
//! [`run_all`]. They need a multi-threaded tokio runtime: several spawn concurrent tasks.
//!
//! Scenarios: [`accounts`], [`api_keys`], [`round_trip_every_kind`], [`account_isolation`], [`duplicate_ids`],
//! [`nul_lookups`], [`promotion_code_uniqueness`], [`list_paging`], [`session_paging`], [`list_filters`], [`rollback_on_error`],
//! [`rollback_is_isolated_in_a_batch`], [`update_and_delete`], [`a_transaction_reads_its_own_writes`],
//! [`reads_asked_for_ahead`], [`writes_in_a_row`], [`reads_by_id_in_a_transaction`], [`find_and_delete_where`],
//! [`billing_records`], [`durability`], [`concurrency`], [`single_inserts`],
//! [`concurrent_reads`].
//!
//! Semantics pinned here beyond the trait's docs: `Filter::Eq(column, Value::Null)` matches
//! NULL; `Tx::update` leaves `created` as it was; a failed statement inside a transaction
//! (a `Conflict` the closure handles) does not undo the transaction's earlier writes.

// A test suite: a panic is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use kassa_core::account::{Account, ApiKeyRecord, SecretKey};
use kassa_core::billing::{
    BillingDetails, BillingReason, Invoice, InvoiceStatus, PaymentIntent, PaymentIntentStatus, PaymentMethod,
    PaymentMethodKind, Subscription, SubscriptionStatus,
};
use kassa_core::catalog::{Product, PromotionCode, Restrictions};
use kassa_core::money::Currency;
use kassa_core::store::{
    Abort, Cmp, Column, Constraint, Cursor, Filter, Kind, ListQuery, Page, RawRecord, Record, Scope, Store,
    StoreError, StoreExt, Value, transact, transact_or_refuse, view,
};
use kassa_core::time::Timestamp;

/// A database the suite can open, and open again over the same data.
pub trait TestDatabase: Send + Sync {
    /// A new store over this database; the data persists across calls.
    fn open(&self) -> Arc<dyn Store>;
}

/// Run every scenario, each on a database of its own from `new_database`.
pub async fn run_all<D: TestDatabase>(new_database: impl Fn() -> D) {
    macro_rules! scenario {
        ($name:ident) => {{
            let db = new_database();
            $name(db.open()).await;
        }};
    }
    scenario!(accounts);
    scenario!(api_keys);
    scenario!(round_trip_every_kind);
    scenario!(account_isolation);
    scenario!(duplicate_ids);
    scenario!(nul_lookups);
    scenario!(promotion_code_uniqueness);
    scenario!(list_paging);
    scenario!(session_paging);
    scenario!(list_filters);
    scenario!(inline_prices);
    scenario!(rollback_on_error);
    scenario!(rollback_is_isolated_in_a_batch);
    scenario!(update_and_delete);
    scenario!(a_transaction_reads_its_own_writes);
    scenario!(reads_asked_for_ahead);
    scenario!(writes_in_a_row);
    scenario!(reads_by_id_in_a_transaction);
    scenario!(views);
    scenario!(find_and_delete_where);
    scenario!(billing_records);
    durability(&new_database()).await;
    scenario!(concurrency);
    scenario!(single_inserts);
    scenario!(concurrent_reads);
}

// ---------------------------------------------------------------------------------------------
// Helpers

const T0: Timestamp = 1_700_000_000;

/// A record of `kind` with plausible column values, for scenarios that do not care what it is.
/// Its document is JSON with a few awkward characters, to prove text round-trips untouched.
pub fn sample(kind: Kind, account: &str, id: &str, created: Timestamp) -> RawRecord {
    let columns = kind
        .columns()
        .iter()
        .map(|c| match c {
            Column::Active | Column::Inclusive => Value::Int(1),
            Column::Inline => Value::Int(0),
            Column::Product => Value::Text("prod_sample".into()),
            Column::Currency => Value::Text("eur".into()),
            Column::Type => Value::Text("one_time".into()),
            Column::Email => Value::Text(format!("{id}@example.com")),
            Column::Code => Value::Text(format!("code-{id}")),
            Column::Coupon => Value::Text("coupon_sample".into()),
            // Subscriptions, invoices, invoice items and portal sessions always belong to a customer.
            Column::Customer
                if matches!(
                    kind,
                    Kind::Subscription | Kind::Invoice | Kind::InvoiceItem | Kind::PortalSession
                ) =>
            {
                Value::Text("cus_sample".into())
            }
            Column::Customer | Column::PaymentIntent | Column::Subscription => Value::Null,
            Column::Status => Value::Text("open".into()),
            Column::ExpiresAt | Column::Created => Value::Int(created + 3600),
            Column::Endpoint => Value::Text("we_sample".into()),
            Column::Event => Value::Text("evt_sample".into()),
            // A refund always gives back on a charge.
            Column::Charge => Value::Text("ch_sample".into()),
            Column::LockedUntil => Value::Int(0),
            Column::DueAt | Column::TestClock => Value::Null,
        })
        .collect();
    let data = serde_json::json!({ "id": id, "object": kind.object(), "note": "ünï \"cødé\" ✓ \\ '; --" });
    RawRecord {
        kind,
        account: account.to_owned(),
        id: id.to_owned(),
        created,
        data: data.to_string(),
        columns,
    }
}

/// A product through the domain type, as the application writes one.
fn product(account: &str, id: &str, created: Timestamp, active: bool) -> RawRecord {
    Product {
        id: id.to_owned(),
        created,
        updated: created,
        name: format!("Product {id}"),
        active,
        description: None,
        metadata: Default::default(),
        images: Vec::new(),
        tax_code: None,
    }
    .to_raw(account)
    .unwrap()
}

fn promotion_code(account: &str, id: &str, code: &str, active: bool) -> RawRecord {
    PromotionCode {
        id: id.to_owned(),
        created: T0,
        code: code.to_owned(),
        coupon: "coupon_1".to_owned(),
        active,
        customer: None,
        expires_at: None,
        max_redemptions: None,
        restrictions: Restrictions::default(),
        times_redeemed: 0,
        metadata: Default::default(),
    }
    .to_raw(account)
    .unwrap()
}

/// A checkout session record: columns status, customer, payment_intent, subscription, expires_at.
fn session(
    account: &str,
    id: &str,
    status: &str,
    customer: Option<&str>,
    expires_at: Timestamp,
) -> RawRecord {
    let mut r = sample(Kind::CheckoutSession, account, id, T0);
    r.columns = vec![status.into(), customer.into(), Value::Null, Value::Null, Value::Int(expires_at)];
    r
}

/// A use case's own refusal: it comes back from the transaction as it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal(&'static str);

fn rejected() -> Abort<Refusal> {
    Abort::Refused(Refusal("refused on purpose"))
}

async fn insert(store: &Arc<dyn Store>, record: RawRecord) -> Result<(), StoreError> {
    transact(store.as_ref(), move |tx| tx.insert(&record)).await
}

async fn insert_all(store: &Arc<dyn Store>, records: Vec<RawRecord>) {
    transact(store.as_ref(), move |tx| records.iter().try_for_each(|r| tx.insert(r))).await.unwrap();
}

async fn update(store: &Arc<dyn Store>, record: RawRecord) -> Result<(), StoreError> {
    transact(store.as_ref(), move |tx| tx.update(&record)).await
}

fn query(filters: Vec<Filter>, limit: u32, cursor: Cursor) -> ListQuery {
    ListQuery { filters, limit, cursor }
}

async fn page(store: &Arc<dyn Store>, account: &str, kind: Kind, q: ListQuery) -> (Vec<String>, bool) {
    let Page { data, has_more } = store.list(account, kind, q).await.unwrap();
    for r in &data {
        assert_eq!(
            (r.account.as_str(), r.kind),
            (account, kind),
            "a listed record of the wrong account or kind"
        );
    }
    (data.into_iter().map(|r| r.id).collect(), has_more)
}

fn after(id: &str) -> Cursor {
    Cursor::After(id.to_owned())
}

fn before(id: &str) -> Cursor {
    Cursor::Before(id.to_owned())
}

fn sorted(mut v: Vec<RawRecord>) -> Vec<RawRecord> {
    v.sort_by(|a, b| (a.kind.table(), &a.id).cmp(&(b.kind.table(), &b.id)));
    v
}

fn ids(records: &[RawRecord]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// Accounts and their keys: created together, found by key hash, unknown keys find nothing, and
/// a creation that conflicts leaves nothing behind.
pub async fn accounts(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    assert_eq!(store.count_accounts().await.unwrap(), 0);

    let acme = Account::new("Acme", T0);
    let key = SecretKey::generate();
    store.create_account(&acme, &ApiKeyRecord::new(&key, &acme.id, T0)).await.unwrap();
    assert_eq!(store.count_accounts().await.unwrap(), 1);
    assert_eq!(store.account_by_key(&key.hash()).await.unwrap(), Some(acme.clone()));
    assert_eq!(store.account_by_key(&SecretKey::generate().hash()).await.unwrap(), None);

    // A second account reusing the key is refused, account and all.
    let other = Account::new("Other", T0);
    let err = store.create_account(&other, &ApiKeyRecord::new(&key, &other.id, T0)).await.unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
    // The same account id again, with a fresh key: refused, and the fresh key leads nowhere.
    let fresh = SecretKey::generate();
    let err = store.create_account(&acme, &ApiKeyRecord::new(&fresh, &acme.id, T0)).await.unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
    assert_eq!(store.account_by_key(&fresh.hash()).await.unwrap(), None);
    assert_eq!(store.count_accounts().await.unwrap(), 1);

    let other_key = SecretKey::generate();
    store.create_account(&other, &ApiKeyRecord::new(&other_key, &other.id, T0 + 1)).await.unwrap();
    assert_eq!(store.count_accounts().await.unwrap(), 2);
    assert_eq!(store.account_by_key(&other_key.hash()).await.unwrap(), Some(other));
    assert_eq!(store.account_by_key(&key.hash()).await.unwrap(), Some(acme));
}

/// Several keys per account: added, listed oldest first, found by hash whatever their state,
/// revoked once, rolled (an expiry that only ever comes sooner), their last use moving forward
/// only; the default account is the first created.
pub async fn api_keys(store: Arc<dyn Store>) {
    assert_eq!(store.default_account().await.unwrap(), None);
    let acme = Account { id: "acct_m".to_owned(), name: "Acme".to_owned(), created: T0 };
    let first = SecretKey::generate();
    let first_rec = ApiKeyRecord::new(&first, &acme.id, T0);
    store.create_account(&acme, &first_rec).await.unwrap();
    assert_eq!(store.default_account().await.unwrap(), Some(acme.clone()));
    let later = Account { id: "acct_a".to_owned(), name: "Later".to_owned(), created: T0 + 1 };
    store
        .create_account(&later, &ApiKeyRecord::new(&SecretKey::generate(), &later.id, T0 + 1))
        .await
        .unwrap();
    assert_eq!(store.default_account().await.unwrap(), Some(acme.clone()), "the oldest account");
    assert_eq!(store.api_key(&first.hash()).await.unwrap(), Some((first_rec.clone(), acme.clone())));

    // A second key, every field round-tripping.
    let second = SecretKey::generate();
    let second_rec = ApiKeyRecord {
        expires_at: Some(T0 + 100),
        last_used: Some(T0 + 2),
        ..ApiKeyRecord::new(&second, &acme.id, T0 + 2)
    };
    store.add_api_key(&second_rec).await.unwrap();
    assert_eq!(store.api_key(&second.hash()).await.unwrap(), Some((second_rec.clone(), acme.clone())));
    assert_eq!(store.api_keys(&acme.id).await.unwrap(), [first_rec.clone(), second_rec.clone()]);
    assert_eq!(store.api_keys(&later.id).await.unwrap().len(), 1);
    assert_eq!(store.api_keys("acct_none").await.unwrap(), []);
    assert_eq!(store.api_keys("acct_m\0").await.unwrap(), []);
    // A key already known, to any account, is a conflict; a key needs an account.
    let again = ApiKeyRecord::new(&first, &later.id, T0 + 3);
    assert_eq!(store.add_api_key(&again).await.unwrap_err(), StoreError::Conflict(Constraint::PrimaryKey));
    let orphan = ApiKeyRecord::new(&SecretKey::generate(), "acct_none", T0 + 3);
    assert!(store.add_api_key(&orphan).await.is_err());
    assert_eq!(store.api_keys(&later.id).await.unwrap().len(), 1);

    // Revoked once, by its own account only; still found (to say why it fails).
    assert!(!store.revoke_api_key(&later.id, &second_rec.id, T0 + 5).await.unwrap());
    assert!(!store.revoke_api_key(&acme.id, "key_none", T0 + 5).await.unwrap());
    assert!(!store.revoke_api_key(&acme.id, "key\0", T0 + 5).await.unwrap());
    assert!(store.revoke_api_key(&acme.id, &second_rec.id, T0 + 5).await.unwrap());
    assert!(!store.revoke_api_key(&acme.id, &second_rec.id, T0 + 6).await.unwrap());
    let (revoked, owner) = store.api_key(&second.hash()).await.unwrap().unwrap();
    assert_eq!((revoked.revoked_at, owner), (Some(T0 + 5), acme.clone()));
    assert_eq!(store.account_by_key(&second.hash()).await.unwrap(), Some(acme.clone()));

    // Rolled: the expiry is set, and only ever comes sooner; a revoked key is not rolled.
    let expires = |store: Arc<dyn Store>, key: SecretKey| async move {
        store.api_key(&key.hash()).await.unwrap().unwrap().0.expires_at
    };
    assert!(store.expire_api_key(&acme.id, &first_rec.id, T0 + 50).await.unwrap());
    assert_eq!(expires(store.clone(), first.clone()).await, Some(T0 + 50));
    assert!(store.expire_api_key(&acme.id, &first_rec.id, T0 + 80).await.unwrap());
    assert_eq!(expires(store.clone(), first.clone()).await, Some(T0 + 50));
    assert!(store.expire_api_key(&acme.id, &first_rec.id, T0 + 20).await.unwrap());
    assert_eq!(expires(store.clone(), first.clone()).await, Some(T0 + 20));
    assert!(!store.expire_api_key(&acme.id, &second_rec.id, T0 + 20).await.unwrap());
    assert!(!store.expire_api_key(&later.id, &first_rec.id, T0 + 20).await.unwrap());
    assert!(!store.expire_api_key(&acme.id, "key_none", T0 + 20).await.unwrap());

    // The last use only moves forward.
    let used = |store: Arc<dyn Store>, key: SecretKey| async move {
        store.api_key(&key.hash()).await.unwrap().unwrap().0.last_used
    };
    store.record_key_use(&first.hash(), T0 + 10).await.unwrap();
    assert_eq!(used(store.clone(), first.clone()).await, Some(T0 + 10));
    store.record_key_use(&first.hash(), T0 + 5).await.unwrap();
    assert_eq!(used(store.clone(), first.clone()).await, Some(T0 + 10));
    store.record_key_use(&first.hash(), T0 + 70).await.unwrap();
    assert_eq!(used(store.clone(), first.clone()).await, Some(T0 + 70));
    store.record_key_use(&SecretKey::generate().hash(), T0 + 70).await.unwrap();

    // An account created in the same second as the first, with a smaller id, sorts first.
    let twin = Account { id: "acct_b".to_owned(), name: "Twin".to_owned(), created: T0 };
    store.create_account(&twin, &ApiKeyRecord::new(&SecretKey::generate(), &twin.id, T0)).await.unwrap();
    assert_eq!(store.default_account().await.unwrap(), Some(twin));
}

/// Every kind's record comes back exactly as written, through `get`, `get_many` and `Tx::get`,
/// and domain types survive `to_raw` → store → `from_raw`.
pub async fn round_trip_every_kind(store: Arc<dyn Store>) {
    let a = "acct_rt";
    let mut records: Vec<RawRecord> = Kind::ALL
        .iter()
        .enumerate()
        .map(|(i, &kind)| sample(kind, a, &format!("{}_{i}", kind.table()), T0 + i64::try_from(i).unwrap()))
        .collect();
    let mut with_nulls = sample(Kind::Customer, a, "cus_no_email", T0);
    with_nulls.columns = vec![Value::Null, Value::Null];
    records.push(with_nulls);
    records.push(session(a, "cs_with_customer", "complete", Some("cus_1"), T0 + 60));
    records.push(product(a, "prod_typed", T0, true));
    records.push(promotion_code(a, "promo_typed", "WELCOME", false));

    insert_all(&store, records.clone()).await;

    for r in &records {
        assert_eq!(
            store.get(a, r.kind, &r.id).await.unwrap().as_ref(),
            Some(r),
            "get {} {}",
            r.kind.table(),
            r.id
        );
    }

    let mut keys: Vec<(Kind, String)> = records.iter().map(|r| (r.kind, r.id.clone())).collect();
    keys.push((Kind::Product, "prod_missing".into()));
    // An id that exists, under another kind, is not found.
    keys.push((Kind::Coupon, "prod_typed".into()));
    let many = store.get_many(a, keys).await.unwrap();
    assert_eq!(sorted(many), sorted(records.clone()));
    assert_eq!(store.get_many(a, vec![]).await.unwrap(), vec![]);

    let typed: Option<Product> = store.as_ref().load("acct_rt", "prod_typed").await.unwrap();
    assert_eq!(typed.map(|p| p.to_raw(a).unwrap()), Some(product(a, "prod_typed", T0, true)));
    let code: Option<PromotionCode> = store.as_ref().load("acct_rt", "promo_typed").await.unwrap();
    assert_eq!(code.unwrap().code, "WELCOME");

    // Inside a transaction, its own writes are visible and its result comes back typed.
    let fresh = sample(Kind::Coupon, a, "coupon_in_tx", T0);
    let expected = fresh.clone();
    let seen = transact(store.as_ref(), move |tx| {
        tx.insert(&fresh)?;
        tx.get("acct_rt", Kind::Coupon, "coupon_in_tx")
    })
    .await
    .unwrap();
    assert_eq!(seen, Some(expected));
}

/// One account never sees another's records, and the same id may exist in both.
pub async fn account_isolation(store: Arc<dyn Store>) {
    let (a, b) = ("acct_a", "acct_b");
    let mine = product(a, "prod_1", T0, true);
    insert(&store, mine.clone()).await.unwrap();

    assert_eq!(store.get(b, Kind::Product, "prod_1").await.unwrap(), None);
    assert_eq!(store.get_many(b, vec![(Kind::Product, "prod_1".into())]).await.unwrap(), vec![]);
    assert_eq!(page(&store, b, Kind::Product, query(vec![], 10, Cursor::First)).await, (vec![], false));
    for cursor in [after("prod_1"), before("prod_1")] {
        let err = store.list(b, Kind::Product, query(vec![], 10, cursor)).await.unwrap_err();
        assert_eq!(err, StoreError::CursorNotFound("prod_1".into()));
    }

    let (seen, updated, deleted, found) = transact(store.as_ref(), |tx| {
        let seen = tx.get("acct_b", Kind::Product, "prod_1")?;
        let updated = tx.update(&product("acct_b", "prod_1", T0, false));
        let deleted = tx.delete("acct_b", Kind::Product, "prod_1")?;
        let found = tx.find(Scope::Account("acct_b"), Kind::Product, &[], 10)?;
        Ok((seen, updated, deleted, found))
    })
    .await
    .unwrap();
    assert_eq!((seen, updated, deleted, found), (None, Err(StoreError::NotFound), false, vec![]));

    // The same id in another account is another record.
    let theirs = product(b, "prod_1", T0 + 5, false);
    insert(&store, theirs.clone()).await.unwrap();
    assert_eq!(store.get(a, Kind::Product, "prod_1").await.unwrap(), Some(mine));
    assert_eq!(store.get(b, Kind::Product, "prod_1").await.unwrap(), Some(theirs));
    assert_eq!(
        page(&store, b, Kind::Product, query(vec![], 10, Cursor::First)).await,
        (vec!["prod_1".into()], false)
    );
}

/// Looking up a value with a NUL character (an id, an account, a filter's value) finds nothing
/// and breaks nothing: ids come from requests, and a NUL is as good as any other unknown id.
/// (Storing one differs: SQLite keeps it; PostgreSQL's `TEXT` cannot, and refuses the record as
/// `Unstorable`. Nothing kassa stores in a column keeps a NUL past validation.)
pub async fn nul_lookups(store: Arc<dyn Store>) {
    let a = "acct_nul";
    insert(&store, product(a, "prod_1", T0, true)).await.unwrap();
    insert(&store, sample(Kind::Customer, a, "cus_1", T0)).await.unwrap();
    for id in ["\0", "prod_1\0", "\0prod_1"] {
        assert_eq!(store.get(a, Kind::Product, id).await.unwrap(), None, "{id:?}");
        assert_eq!(store.get("acct\0", Kind::Product, "prod_1").await.unwrap(), None);
        assert_eq!(store.get_by_id(Kind::Product, id).await.unwrap(), None);
        let many = store
            .get_many(a, vec![(Kind::Product, id.into()), (Kind::Product, "prod_1".into())])
            .await
            .unwrap();
        assert_eq!(many.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["prod_1"]);
        let err = store.list(a, Kind::Product, query(vec![], 10, after(id))).await.unwrap_err();
        assert_eq!(err, StoreError::CursorNotFound(id.into()));
        let filters = vec![Filter::Eq(Column::Email, format!("cus_1@example.com{id}").as_str().into())];
        assert_eq!(page(&store, a, Kind::Customer, query(filters, 10, Cursor::First)).await, (vec![], false));
    }
    // Inside a transaction, the lookups fail nothing: the transaction goes on and commits.
    let id = "\0";
    let (seen, updated, deleted) = transact(store.as_ref(), move |tx| {
        let seen = tx.get(a, Kind::Product, id)?;
        let found =
            tx.find(Scope::Account(a), Kind::Customer, &[Filter::Eq(Column::Email, id.into())], 10)?;
        assert!(found.is_empty());
        let deleted = tx.delete(a, Kind::Product, id)?;
        let updated = tx.update(&product(a, "prod_1", T0, false)).is_ok();
        Ok((seen, updated, deleted))
    })
    .await
    .unwrap();
    assert_eq!((seen, updated, deleted), (None, true, false));
    assert_eq!(store.get(a, Kind::Product, "prod_1").await.unwrap(), Some(product(a, "prod_1", T0, false)));
}

/// `(account, id)` is unique per kind: a second insert is `Conflict("primary_key")` and changes
/// nothing; the same id under another kind is fine.
pub async fn duplicate_ids(store: Arc<dyn Store>) {
    let a = "acct_dup";
    let first = product(a, "prod_1", T0, true);
    insert(&store, first.clone()).await.unwrap();
    let err = insert(&store, product(a, "prod_1", T0 + 1, false)).await.unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
    assert_eq!(store.get(a, Kind::Product, "prod_1").await.unwrap(), Some(first));

    // Twice within one transaction: the conflict aborts it whole.
    let twice = product(a, "prod_2", T0, true);
    let err = transact(store.as_ref(), move |tx| {
        tx.insert(&twice)?;
        tx.insert(&twice)
    })
    .await
    .unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
    assert_eq!(store.get(a, Kind::Product, "prod_2").await.unwrap(), None);

    for kind in Kind::ALL.iter().filter(|k| **k != Kind::Product) {
        insert(&store, sample(*kind, a, "prod_1", T0)).await.unwrap();
    }
}

/// An active promotion code's folded code is unique per account; inactive ones may repeat, and
/// activating a duplicate conflicts.
pub async fn promotion_code_uniqueness(store: Arc<dyn Store>) {
    const CONFLICT: StoreError = StoreError::Conflict(Constraint::ActivePromotionCode);
    let (a, b) = ("acct_pc_a", "acct_pc_b");
    insert(&store, promotion_code(a, "promo_1", "SUMMER", true)).await.unwrap();
    assert_eq!(insert(&store, promotion_code(a, "promo_2", "summer", true)).await.unwrap_err(), CONFLICT);
    assert_eq!(store.get(a, Kind::PromotionCode, "promo_2").await.unwrap(), None);

    // Inactive duplicates are fine, as is the same code in another account.
    insert(&store, promotion_code(a, "promo_3", "Summer", false)).await.unwrap();
    insert(&store, promotion_code(a, "promo_4", "SUMMER", false)).await.unwrap();
    insert(&store, promotion_code(b, "promo_1", "SUMMER", true)).await.unwrap();
    insert(&store, promotion_code(b, "promo_5", "WINTER", true)).await.unwrap();

    // Reactivating a duplicate conflicts and leaves it inactive.
    assert_eq!(update(&store, promotion_code(a, "promo_3", "Summer", true)).await.unwrap_err(), CONFLICT);
    let still = store.get(a, Kind::PromotionCode, "promo_3").await.unwrap().unwrap();
    assert_eq!(still.columns[0], Value::Int(0));

    // Deactivate the active one, then another may take the code.
    update(&store, promotion_code(a, "promo_1", "SUMMER", false)).await.unwrap();
    update(&store, promotion_code(a, "promo_3", "Summer", true)).await.unwrap();
    // Swapping within one transaction works when the old one is deactivated first.
    transact(store.as_ref(), |tx| {
        tx.update(&promotion_code("acct_pc_a", "promo_3", "Summer", false))?;
        tx.update(&promotion_code("acct_pc_a", "promo_4", "SUMMER", true))
    })
    .await
    .unwrap();
    let active = store
        .list(a, Kind::PromotionCode, query(vec![Filter::Eq(Column::Active, true.into())], 10, Cursor::First))
        .await
        .unwrap();
    assert_eq!(ids(&active.data), ["promo_4"]);
}

/// Lists run newest first; cursors page forwards (`After`) and backwards (`Before`), `has_more`
/// tells whether more lie in the direction of travel, and filters narrow the set.
pub async fn list_paging(store: Arc<dyn Store>) {
    let (a, b) = ("acct_list", "acct_other");
    let id = |i: usize| format!("prod_{i:02}");
    let mut records = Vec::new();
    for i in 0..25 {
        records.push(product(a, &id(i), T0 + i64::try_from(i).unwrap(), i % 2 == 0));
        // Another account's records interleave and never show.
        records.push(product(b, &format!("other_{i:02}"), T0, true));
    }
    records.push(sample(Kind::Price, a, "price_1", T0));
    insert_all(&store, records).await;

    let range = |from: usize, to: usize| -> Vec<String> { (to..=from).rev().map(id).collect() };
    let list = |filters: Vec<Filter>, limit: u32, cursor: Cursor| {
        let store = store.clone();
        async move { page(&store, a, Kind::Product, query(filters, limit, cursor)).await }
    };

    // Forwards.
    assert_eq!(list(vec![], 10, Cursor::First).await, (range(24, 15), true));
    assert_eq!(list(vec![], 10, after(&id(15))).await, (range(14, 5), true));
    assert_eq!(list(vec![], 10, after(&id(5))).await, (range(4, 0), false));
    assert_eq!(list(vec![], 10, after(&id(0))).await, (vec![], false));
    // Backwards: the `limit` records nearest the cursor, still newest first.
    assert_eq!(list(vec![], 10, before(&id(0))).await, (range(10, 1), true));
    assert_eq!(list(vec![], 10, before(&id(10))).await, (range(20, 11), true));
    assert_eq!(list(vec![], 10, before(&id(20))).await, (range(24, 21), false));
    assert_eq!(list(vec![], 10, before(&id(24))).await, (vec![], false));
    // Limits.
    assert_eq!(list(vec![], 100, Cursor::First).await, (range(24, 0), false));
    assert_eq!(list(vec![], 25, Cursor::First).await, (range(24, 0), false));
    assert_eq!(list(vec![], 24, Cursor::First).await, (range(24, 1), true));
    assert_eq!(list(vec![], 1, after(&id(1))).await, (range(0, 0), false));
    assert_eq!(list(vec![], 1, before(&id(23))).await, (range(24, 24), false));

    // Filters, alone and with cursors.
    let active = || vec![Filter::Eq(Column::Active, Value::Int(1))];
    let inactive = || vec![Filter::Eq(Column::Active, Value::Int(0))];
    let evens = |from: usize, to: usize| -> Vec<String> {
        (to..=from).rev().filter(|i| i % 2 == 0).map(id).collect()
    };
    assert_eq!(list(active(), 100, Cursor::First).await, (evens(24, 0), false));
    assert_eq!(list(active(), 5, Cursor::First).await, (evens(24, 16), true));
    assert_eq!(list(active(), 5, after(&id(16))).await, (evens(14, 6), true));
    assert_eq!(list(active(), 5, after(&id(6))).await, (evens(4, 0), false));
    // A cursor need not match the filters.
    assert_eq!(list(active(), 2, after(&id(7))).await, (vec![id(6), id(4)], true));
    assert_eq!(list(inactive(), 3, before(&id(5))).await, (vec![id(11), id(9), id(7)], true));
    assert_eq!(list(inactive(), 3, before(&id(18))).await, (vec![id(23), id(21), id(19)], false));

    let created = |cmp: Cmp, i: i64| vec![Filter::Cmp(Column::Created, cmp, T0 + i)];
    assert_eq!(list(created(Cmp::Gte, 20), 100, Cursor::First).await, (range(24, 20), false));
    assert_eq!(list(created(Cmp::Gt, 20), 100, Cursor::First).await, (range(24, 21), false));
    assert_eq!(list(created(Cmp::Lt, 3), 100, Cursor::First).await, (range(2, 0), false));
    assert_eq!(list(created(Cmp::Lte, 3), 2, Cursor::First).await, (range(3, 2), true));

    let any = Filter::Any(vec![
        vec![Filter::Eq(Column::Active, Value::Int(1)), Filter::Cmp(Column::Created, Cmp::Lt, T0 + 4)],
        vec![Filter::Eq(Column::Active, Value::Int(0)), Filter::Cmp(Column::Created, Cmp::Gt, T0 + 20)],
    ]);
    assert_eq!(
        list(vec![any.clone()], 100, Cursor::First).await,
        (vec![id(23), id(21), id(2), id(0)], false)
    );
    assert_eq!(list(vec![any.clone()], 2, Cursor::First).await, (vec![id(23), id(21)], true));
    assert_eq!(list(vec![any.clone()], 2, after(&id(21))).await, (vec![id(2), id(0)], false));
    assert_eq!(
        list(vec![any, Filter::Cmp(Column::Created, Cmp::Lt, T0 + 22)], 100, Cursor::First).await,
        (vec![id(21), id(2), id(0)], false)
    );
    assert_eq!(list(vec![Filter::Any(vec![])], 100, Cursor::First).await, (vec![], false));
    assert_eq!(list(vec![Filter::Any(vec![vec![]])], 3, Cursor::First).await, (range(24, 22), true));

    // Cursors must name a record of this account and kind.
    for cursor in [after("price_1"), before("price_1")] {
        let err = store.list(a, Kind::Product, query(vec![], 10, cursor)).await.unwrap_err();
        assert_eq!(err, StoreError::CursorNotFound("price_1".into()));
    }
    let err = store.list(a, Kind::Product, query(vec![], 10, after("other_03"))).await.unwrap_err();
    assert_eq!(err, StoreError::CursorNotFound("other_03".into()));
    let err = store.list(a, Kind::Product, query(vec![], 10, before("prod_99"))).await.unwrap_err();
    assert_eq!(err, StoreError::CursorNotFound("prod_99".into()));
}

/// Sessions, whose key is `(id, account_id)` (ids that do not sort in insertion order): many of
/// two accounts, interleaved, paged through in both directions with small pages, every one
/// exactly once and newest first; a session id is unique per account, and another account may
/// hold it.
pub async fn session_paging(store: Arc<dyn Store>) {
    let (a, b) = ("acct_sp_a", "acct_sp_b");
    // Ids whose order is not the insertion order, as random ids are not.
    let id = |i: usize| format!("cs_{:03}_{i:03}", (i * 7919) % 1000);
    let n = 600;
    let mut records = Vec::new();
    for i in 0..n {
        records.push(session(a, &id(i), "open", None, T0 + 60));
        records.push(session(b, &format!("cs_other_{i:03}"), "open", None, T0 + 60));
    }
    for chunk in records.chunks(200) {
        insert_all(&store, chunk.to_vec()).await;
    }
    let newest_first: Vec<String> = (0..n).rev().map(id).collect();

    let mut seen = Vec::new();
    let mut cursor = Cursor::First;
    loop {
        let (ids, more) = page(&store, a, Kind::CheckoutSession, query(vec![], 7, cursor)).await;
        assert!(ids.len() == 7 || !more, "a short page before the end");
        seen.extend(ids);
        if !more {
            break;
        }
        cursor = after(seen.last().unwrap());
    }
    assert_eq!(seen, newest_first);

    let mut back: Vec<String> = Vec::new();
    let mut cursor = before(&id(0));
    loop {
        let (ids, more) = page(&store, a, Kind::CheckoutSession, query(vec![], 9, cursor)).await;
        back.splice(0..0, ids);
        if !more {
            break;
        }
        cursor = before(&back[0]);
    }
    assert_eq!(back, newest_first[..n - 1]);

    // One key, both ways round: found by key and by id alone; taken again, a conflict.
    let one = id(17);
    let got = store.get(a, Kind::CheckoutSession, &one).await.unwrap().unwrap();
    assert_eq!(store.get_by_id(Kind::CheckoutSession, &one).await.unwrap(), Some(got.clone()));
    assert_eq!(store.get(b, Kind::CheckoutSession, &one).await.unwrap(), None);
    let err = insert(&store, session(a, &one, "open", None, T0)).await.unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
    insert(&store, session(b, &one, "open", None, T0)).await.unwrap();
    assert_eq!(store.get(a, Kind::CheckoutSession, &one).await.unwrap(), Some(got));
}

/// Filters on text columns, `NULL`s and integer columns other than `created`.
pub async fn list_filters(store: Arc<dyn Store>) {
    let a = "acct_filters";
    insert_all(
        &store,
        vec![
            session(a, "cs_1", "open", None, T0 + 100),
            session(a, "cs_2", "open", Some("cus_1"), T0 + 200),
            session(a, "cs_3", "complete", Some("cus_1"), T0 + 100),
            session(a, "cs_4", "expired", None, T0 + 50),
            session(a, "cs_5", "open", Some("cus_2"), T0 + 300),
        ],
    )
    .await;
    let list = |filters: Vec<Filter>| {
        let store = store.clone();
        async move { page(&store, a, Kind::CheckoutSession, query(filters, 100, Cursor::First)).await.0 }
    };
    assert_eq!(list(vec![Filter::Eq(Column::Customer, Value::Null)]).await, ["cs_4", "cs_1"]);
    assert_eq!(list(vec![Filter::Eq(Column::Customer, "cus_1".into())]).await, ["cs_3", "cs_2"]);
    assert_eq!(list(vec![Filter::Eq(Column::Status, "open".into())]).await, ["cs_5", "cs_2", "cs_1"]);
    assert_eq!(
        list(vec![
            Filter::Eq(Column::Status, "open".into()),
            Filter::Cmp(Column::ExpiresAt, Cmp::Lte, T0 + 200)
        ])
        .await,
        ["cs_2", "cs_1"]
    );
    assert_eq!(
        list(vec![Filter::Any(vec![
            vec![Filter::Eq(Column::Status, "expired".into())],
            vec![Filter::Eq(Column::Customer, "cus_2".into())],
        ])])
        .await,
        ["cs_5", "cs_4"]
    );
    assert!(list(vec![Filter::Eq(Column::Status, "nonexistent".into())]).await.is_empty());
    // Values are bound, never spliced into SQL.
    assert!(list(vec![Filter::Eq(Column::Status, "open' OR '1'='1".into())]).await.is_empty());
}

/// Prices marked inline (made by `price_data`) are read by id, one by one or several at once,
/// and never listed or found by filter, whatever the filter; the others are, as before.
pub async fn inline_prices(store: Arc<dyn Store>) {
    let a = "acct_inline";
    let price = |id: &str, inline: bool| {
        let mut r = sample(Kind::Price, a, id, T0);
        let at = Kind::Price.columns().iter().position(|c| *c == Column::Inline).unwrap();
        r.columns[at] = Value::from(inline);
        r
    };
    insert_all(
        &store,
        vec![price("price_listed", false), price("price_inline", true), price("price_later", false)],
    )
    .await;
    let got = store.get(a, Kind::Price, "price_inline").await.unwrap().unwrap();
    assert_eq!(got.columns, price("price_inline", true).columns);
    let many = store
        .get_many(a, vec![(Kind::Price, "price_inline".to_owned()), (Kind::Price, "price_listed".to_owned())])
        .await
        .unwrap();
    assert_eq!(many.len(), 2);
    for filters in [
        vec![],
        vec![Filter::Eq(Column::Product, "prod_sample".into())],
        vec![Filter::Eq(Column::Active, Value::Int(1))],
    ] {
        let (ids, more) = page(&store, a, Kind::Price, query(filters.clone(), 100, Cursor::First)).await;
        assert_eq!(ids, ["price_later", "price_listed"], "{filters:?}");
        assert!(!more);
        let found =
            transact(store.as_ref(), move |tx| tx.find(Scope::Account(a), Kind::Price, &filters, 100))
                .await
                .unwrap();
        assert_eq!(found.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["price_listed", "price_later"]);
    }
    // A page that starts after an inline price's id still works from its place in the sequence.
    let (ids, _) =
        page(&store, a, Kind::Price, query(vec![], 100, Cursor::After("price_inline".into()))).await;
    assert_eq!(ids, ["price_listed"]);
}

/// A transaction that returns `Err` leaves nothing behind; a failed statement the closure
/// handles does not undo the rest.
pub async fn rollback_on_error(store: Arc<dyn Store>) {
    let a = "acct_rb";
    let base = product(a, "prod_0", T0, true);
    insert(&store, base.clone()).await.unwrap();

    let err = transact_or_refuse(store.as_ref(), |tx| {
        tx.insert(&product("acct_rb", "prod_1", T0, true))?;
        tx.insert(&product("acct_rb", "prod_2", T0, true))?;
        tx.update(&product("acct_rb", "prod_0", T0, false))?;
        tx.delete("acct_rb", Kind::Product, "prod_0")?;
        Err::<(), _>(rejected())
    })
    .await
    .unwrap_err();
    assert_eq!(err, rejected());
    for id in ["prod_1", "prod_2"] {
        assert_eq!(store.get(a, Kind::Product, id).await.unwrap(), None);
    }
    assert_eq!(store.get(a, Kind::Product, "prod_0").await.unwrap(), Some(base.clone()));

    // A conflict part-way through, propagated, aborts the writes before it.
    let err = transact(store.as_ref(), |tx| {
        tx.insert(&product("acct_rb", "prod_3", T0, true))?;
        tx.update(&product("acct_rb", "prod_0", T0, false))?;
        tx.insert(&product("acct_rb", "prod_0", T0, true))
    })
    .await
    .unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
    assert_eq!(store.get(a, Kind::Product, "prod_3").await.unwrap(), None);
    assert_eq!(store.get(a, Kind::Product, "prod_0").await.unwrap(), Some(base));

    // A conflict the closure handles: the transaction goes on and commits.
    let handled = transact(store.as_ref(), |tx| {
        tx.insert(&product("acct_rb", "prod_4", T0, true))?;
        let dup = tx.insert(&product("acct_rb", "prod_0", T0, true));
        tx.insert(&product("acct_rb", "prod_5", T0, true))?;
        Ok(dup)
    })
    .await
    .unwrap();
    assert_eq!(handled, Err(StoreError::Conflict(Constraint::PrimaryKey)));
    for id in ["prod_4", "prod_5"] {
        assert!(store.get(a, Kind::Product, id).await.unwrap().is_some(), "{id}");
    }
    assert_eq!(
        page(&store, a, Kind::Product, query(vec![], 10, Cursor::First)).await.0,
        ["prod_5", "prod_4", "prod_0"]
    );
}

/// Many transactions at once, every third failing: exactly the others are written (on SQLite
/// they share group commits; a failure must roll back only its own savepoint).
pub async fn rollback_is_isolated_in_a_batch(store: Arc<dyn Store>) {
    let a = "acct_batch";
    let n = 50;
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let store = store.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            transact_or_refuse(store.as_ref(), move |tx| {
                tx.insert(&product("acct_batch", &format!("prod_{i:02}"), T0, true))?;
                tx.insert(&sample(Kind::Customer, "acct_batch", &format!("cus_{i:02}"), T0))?;
                if i % 3 == 0 { Err(rejected()) } else { Ok(i) }
            })
            .await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        if i % 3 == 0 {
            assert_eq!(result, Err(rejected()), "transaction {i}");
        } else {
            assert_eq!(result, Ok(i), "transaction {i}");
        }
    }
    let want: BTreeSet<String> = (0..n).filter(|i| i % 3 != 0).map(|i| format!("prod_{i:02}")).collect();
    let (got, more) = page(&store, a, Kind::Product, query(vec![], 100, Cursor::First)).await;
    assert!(!more);
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
    let (customers, _) = page(&store, a, Kind::Customer, query(vec![], 100, Cursor::First)).await;
    assert_eq!(customers.len(), want.len());
}

/// `view` reads a consistent snapshot of several records, and refuses to write.
pub async fn views(store: Arc<dyn Store>) {
    let a = "acct_view";
    insert(&store, product(a, "prod_1", T0, true)).await.unwrap();
    insert(&store, product(a, "prod_2", T0, false)).await.unwrap();
    let seen = view(store.as_ref(), move |tx| {
        let one = tx.get(a, Kind::Product, "prod_1")?.map(|r| r.id);
        let two = tx.get(a, Kind::Product, "prod_2")?.map(|r| r.id);
        let none = tx.get("acct_other", Kind::Product, "prod_1")?;
        Ok((one, two, none))
    })
    .await
    .unwrap();
    assert_eq!(seen, (Some("prod_1".to_owned()), Some("prod_2".to_owned()), None));
    let write = view(store.as_ref(), move |tx| tx.insert(&product(a, "prod_3", T0, true))).await;
    assert!(write.is_err(), "a view cannot write");
    assert!(store.get(a, Kind::Product, "prod_3").await.unwrap().is_none());
}

/// `update` replaces document and columns (never `created`), and only of a record that exists;
/// `delete` says whether something went.
pub async fn update_and_delete(store: Arc<dyn Store>) {
    let a = "acct_ud";
    insert(&store, product(a, "prod_1", T0, true)).await.unwrap();
    insert(&store, product("acct_elsewhere", "prod_1", T0, true)).await.unwrap();

    let mut changed = product(a, "prod_1", T0 + 999, false);
    changed.data = r#"{"changed":true}"#.to_owned();
    update(&store, changed.clone()).await.unwrap();
    let got = store.get(a, Kind::Product, "prod_1").await.unwrap().unwrap();
    assert_eq!(
        (got.data.as_str(), &got.columns, got.created),
        (changed.data.as_str(), &vec![Value::Int(0)], T0)
    );
    // The other account's record is untouched.
    assert_eq!(
        store.get("acct_elsewhere", Kind::Product, "prod_1").await.unwrap(),
        Some(product("acct_elsewhere", "prod_1", T0, true))
    );

    assert_eq!(update(&store, product(a, "prod_missing", T0, true)).await, Err(StoreError::NotFound));
    assert_eq!(update(&store, product("acct_nobody", "prod_1", T0, true)).await, Err(StoreError::NotFound));

    let delete = |account: &'static str, id: &'static str| {
        let store = store.clone();
        async move { transact(store.as_ref(), move |tx| tx.delete(account, Kind::Product, id)).await.unwrap() }
    };
    assert!(delete(a, "prod_1").await);
    assert!(!delete(a, "prod_1").await);
    assert!(!delete(a, "prod_missing").await);
    assert_eq!(store.get(a, Kind::Product, "prod_1").await.unwrap(), None);
    assert!(store.get("acct_elsewhere", Kind::Product, "prod_1").await.unwrap().is_some());
    assert_eq!(update(&store, product(a, "prod_1", T0, true)).await, Err(StoreError::NotFound));
    // The id is free again.
    insert(&store, product(a, "prod_1", T0, true)).await.unwrap();
}

/// Inside a transaction, a read sees what the transaction wrote: an insert (plain or fresh), an
/// update (which keeps the row's `created`), a delete; and the same after the commit.
pub async fn a_transaction_reads_its_own_writes(store: Arc<dyn Store>) {
    let a = "acct_rw";
    insert(&store, product(a, "prod_read", T0, true)).await.unwrap();
    let seen = transact(store.as_ref(), move |tx| {
        let mut seen = Vec::new();
        tx.insert(&product(a, "prod_new", T0 + 1, true))?;
        tx.insert_fresh(&product(a, "prod_fresh", T0 + 2, true))?;
        seen.push(tx.get(a, Kind::Product, "prod_new")?);
        seen.push(tx.get(a, Kind::Product, "prod_fresh")?);
        // An update leaves `created` alone, whatever the record says.
        let mut changed = product(a, "prod_fresh", T0 + 999, false);
        changed.data = r#"{"fresh":"changed"}"#.to_owned();
        tx.update(&changed)?;
        seen.push(tx.get(a, Kind::Product, "prod_fresh")?);
        // A row read (and so held), then updated twice.
        seen.push(tx.get(a, Kind::Product, "prod_read")?);
        for n in 1..=2 {
            let mut changed = product(a, "prod_read", T0 + 999, false);
            changed.data = format!(r#"{{"read":{n}}}"#);
            tx.update(&changed)?;
        }
        seen.push(tx.get(a, Kind::Product, "prod_read")?);
        assert!(tx.delete(a, Kind::Product, "prod_new")?);
        seen.push(tx.get(a, Kind::Product, "prod_new")?);
        Ok(seen)
    })
    .await
    .unwrap();
    let shown = |r: &Option<RawRecord>| {
        r.as_ref().map(|r| (r.id.clone(), r.created, r.data.clone(), r.columns.clone()))
    };
    let seen: Vec<_> = seen.iter().map(shown).collect();
    let fresh = product(a, "prod_fresh", T0 + 2, true);
    let new = product(a, "prod_new", T0 + 1, true);
    assert_eq!(seen[0], shown(&Some(new)));
    assert_eq!(seen[1], shown(&Some(fresh)));
    let fresh_changed =
        Some(("prod_fresh".to_owned(), T0 + 2, r#"{"fresh":"changed"}"#.to_owned(), vec![Value::Int(0)]));
    assert_eq!(seen[2], fresh_changed);
    assert_eq!(seen[3], shown(&Some(product(a, "prod_read", T0, true))));
    let read_changed = Some(("prod_read".to_owned(), T0, r#"{"read":2}"#.to_owned(), vec![Value::Int(0)]));
    assert_eq!(seen[4], read_changed);
    assert_eq!(seen[5], None);
    // What the transaction saw is what it committed.
    let stored = |id: &'static str| {
        let store = store.clone();
        async move { shown(&store.get(a, Kind::Product, id).await.unwrap()) }
    };
    assert_eq!(stored("prod_fresh").await, fresh_changed);
    assert_eq!(stored("prod_read").await, read_changed);
    assert_eq!(stored("prod_new").await, None);
}

/// Writes whose answers are known in advance (fresh inserts, updates of held rows) come out as
/// asked, however a backend sends them: several fresh inserts of one kind in a row, one of them
/// updated before anything was sent, each keeping its `created`; a row updated twice with a read
/// asked for (and sent) in between, which sees the first update; and a fresh insert among others
/// that meets its key after all fails them all.
pub async fn writes_in_a_row(store: Arc<dyn Store>) {
    let a = "acct_row";
    insert(&store, product(a, "prod_held", T0, true)).await.unwrap();
    insert(&store, product(a, "prod_taken", T0, true)).await.unwrap();
    let named = |id: &str, created: Timestamp, data: &str, active: bool| {
        let mut p = product(a, id, created, active);
        p.data = data.to_owned();
        p
    };
    let inactive = || [Filter::Eq(Column::Active, Value::Int(0))];
    let ids = |rows: Vec<RawRecord>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let seen = transact(store.as_ref(), move |tx| {
        for (i, id) in ["prod_f1", "prod_f2", "prod_f3"].into_iter().enumerate() {
            tx.insert_fresh(&named(id, T0 + 10 + i64::try_from(i).unwrap(), r#"{"v":1}"#, true))?;
        }
        tx.insert_fresh(&session(a, "cs_row", "open", None, T0 + 20))?;
        tx.insert_fresh(&named("prod_f4", T0 + 30, r#"{"v":1}"#, true))?;
        // Updated before anything was sent; an update's `created` does not count.
        tx.update(&named("prod_f2", T0 + 999, r#"{"v":2}"#, false))?;
        // A held row updated, then read ahead (sent with the next statement), then updated again.
        assert!(tx.get(a, Kind::Product, "prod_held")?.is_some());
        tx.update(&named("prod_held", T0, r#"{"held":1}"#, false))?;
        let ahead = tx.select_ahead(Scope::Account(a), Kind::Product, &inactive(), 10)?;
        tx.update(&named("prod_held", T0, r#"{"held":2}"#, true))?;
        assert!(tx.get(a, Kind::Product, "prod_taken")?.is_some());
        Ok(ids(tx.take_ahead(ahead)?))
    })
    .await
    .unwrap();
    assert_eq!(seen, ["prod_held", "prod_f2"], "the read saw the first update of the held row");
    let stored = |id: &'static str| {
        let store = store.clone();
        async move {
            let r = store.get(a, Kind::Product, id).await.unwrap().unwrap();
            (r.created, r.data, r.columns)
        }
    };
    assert_eq!(stored("prod_f1").await, (T0 + 10, r#"{"v":1}"#.to_owned(), vec![Value::Int(1)]));
    assert_eq!(stored("prod_f2").await, (T0 + 11, r#"{"v":2}"#.to_owned(), vec![Value::Int(0)]));
    assert_eq!(stored("prod_f3").await, (T0 + 12, r#"{"v":1}"#.to_owned(), vec![Value::Int(1)]));
    assert_eq!(stored("prod_f4").await, (T0 + 30, r#"{"v":1}"#.to_owned(), vec![Value::Int(1)]));
    assert_eq!(stored("prod_held").await, (T0, r#"{"held":2}"#.to_owned(), vec![Value::Int(1)]));
    assert!(store.get(a, Kind::CheckoutSession, "cs_row").await.unwrap().is_some());

    let err = transact(store.as_ref(), move |tx| {
        tx.insert_fresh(&product(a, "prod_g1", T0, true))?;
        tx.insert_fresh(&product(a, "prod_f1", T0, true))?;
        tx.insert_fresh(&product(a, "prod_g2", T0, true))
    })
    .await
    .unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
    for id in ["prod_g1", "prod_g2"] {
        assert_eq!(store.get(a, Kind::Product, id).await.unwrap(), None, "{id} was not written");
    }
    assert_eq!(stored("prod_f1").await.1, r#"{"v":1}"#);
}

/// Inside a transaction, `get_by_id` finds a record in whichever account holds it, and sees
/// what the transaction wrote; on backends with row locks it holds the row, so transactions that
/// each read a counter by id and write it back one more lose no increment.
pub async fn reads_by_id_in_a_transaction(store: Arc<dyn Store>) {
    let (a, b) = ("acct_by_id_a", "acct_by_id_b");
    insert_all(&store, vec![product(a, "prod_in_a", T0, true), product(b, "prod_in_b", T0, true)]).await;
    let (in_b, missing, fresh, updated, again) = transact(store.as_ref(), move |tx| {
        let in_b = tx.get_by_id(Kind::Product, "prod_in_b")?;
        let missing = tx.get_by_id(Kind::Product, "prod_nowhere")?;
        tx.insert_fresh(&product(b, "prod_fresh", T0 + 1, true))?;
        let fresh = tx.get_by_id(Kind::Product, "prod_fresh")?;
        let mut changed = product(a, "prod_in_a", T0 + 9, false);
        changed.data = r#"{"changed":true}"#.to_owned();
        tx.update(&changed)?;
        let updated = tx.get_by_id(Kind::Product, "prod_in_a")?;
        // Read by id after the write, the row still reads back as written.
        let again = tx.get(a, Kind::Product, "prod_in_a")?;
        Ok((in_b, missing, fresh, updated, again))
    })
    .await
    .unwrap();
    assert_eq!(in_b, Some(product(b, "prod_in_b", T0, true)));
    assert_eq!(missing, None);
    assert_eq!(fresh, Some(product(b, "prod_fresh", T0 + 1, true)));
    let updated = updated.unwrap();
    assert_eq!((updated.account.as_str(), updated.created), (a, T0));
    assert_eq!(updated.data, r#"{"changed":true}"#);
    assert_eq!(again.unwrap().data, r#"{"changed":true}"#);

    let counter = |n: u32| {
        let mut r = product(b, "prod_counter", T0, true);
        r.data = format!(r#"{{"n":{n}}}"#);
        r
    };
    insert(&store, counter(0)).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                transact(store.as_ref(), move |tx| {
                    let raw = tx.get_by_id(Kind::Product, "prod_counter")?.unwrap();
                    let n: u32 =
                        raw.data.trim_start_matches(r#"{"n":"#).trim_end_matches('}').parse().unwrap();
                    // Give the others time to read the same value, were the row not held.
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    tx.update(&counter(n + 1))
                })
                .await
                .unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.get(b, Kind::Product, "prod_counter").await.unwrap().unwrap().data, r#"{"n":16}"#);
}

/// A read asked for ahead answers what `select` would have when it was asked (on PostgreSQL it
/// goes with the next statement), or when it is taken if nothing was sent in between; one never
/// taken changes nothing. `get_each` reads several records in one go.
pub async fn reads_asked_for_ahead(store: Arc<dyn Store>) {
    let a = "acct_ahead";
    insert_all(
        &store,
        vec![
            product(a, "prod_1", T0, true),
            product(a, "prod_2", T0 + 1, false),
            product(a, "prod_3", T0 + 2, true),
            product("acct_other", "prod_4", T0 + 3, true),
            session("acct_other", "cs_theirs", "open", None, T0 + 100),
        ],
    )
    .await;
    let ids = |rows: Vec<RawRecord>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let active = || [Filter::Eq(Column::Active, Value::Int(1))];
    let (mine, all, late) = transact(store.as_ref(), move |tx| {
        let mine = tx.select_ahead(Scope::Account(a), Kind::Product, &active(), 10)?;
        let all = tx.select_ahead(Scope::All, Kind::Product, &[], 2)?;
        let _never_taken = tx.select_ahead(Scope::Account("acct_other"), Kind::Product, &[], 10)?;
        // Whose records they are, told by a record of theirs: the read goes before the record's.
        let theirs =
            tx.select_ahead(Scope::AccountOf(Kind::CheckoutSession, "cs_theirs"), Kind::Product, &[], 10)?;
        let nobodys =
            tx.select_ahead(Scope::AccountOf(Kind::CheckoutSession, "cs_missing"), Kind::Product, &[], 10)?;
        let owner = tx.get_by_id(Kind::CheckoutSession, "cs_theirs")?.map(|r| r.account);
        assert_eq!(owner.as_deref(), Some("acct_other"));
        assert_eq!(ids(tx.take_ahead(theirs)?), ["prod_4"]);
        assert_eq!(ids(tx.take_ahead(nobodys)?), Vec::<String>::new());
        assert!(tx.get(a, Kind::Product, "prod_1")?.is_some());
        tx.insert(&product(a, "prod_5", T0 + 4, true))?;
        let mine = ids(tx.take_ahead(mine)?);
        let all = ids(tx.take_ahead(all)?);
        // Asked for after the insert, taken before any other statement: it sees the insert.
        let late = tx.select_ahead(Scope::Account(a), Kind::Product, &active(), 10)?;
        let late = ids(tx.take_ahead(late)?);
        // Several at once, held ones among them (read back as written); a missing id is left out.
        let mut each = ids(tx.get_each(a, Kind::Product, &["prod_5", "prod_2", "prod_missing", "prod_1"])?);
        each.sort();
        assert_eq!(each, ["prod_1", "prod_2", "prod_5"]);
        Ok((mine, all, late))
    })
    .await
    .unwrap();
    assert_eq!(mine, ["prod_1", "prod_3"]);
    assert_eq!(all, ["prod_1", "prod_2"]);
    assert_eq!(late, ["prod_1", "prod_3", "prod_5"]);
    // A transaction that asks ahead, writes and never takes its read commits its write.
    transact(store.as_ref(), move |tx| {
        tx.select_ahead(Scope::Account(a), Kind::Product, &[], 10)?;
        tx.insert_fresh(&product(a, "prod_6", T0 + 5, false))
    })
    .await
    .unwrap();
    assert!(store.get(a, Kind::Product, "prod_6").await.unwrap().is_some());
    // In a view too.
    let seen = view(store.as_ref(), move |tx| {
        let ahead = tx.select_ahead(Scope::Account(a), Kind::Product, &active(), 10)?;
        assert!(tx.get(a, Kind::Product, "prod_2")?.is_some());
        Ok(ids(tx.take_ahead(ahead)?))
    })
    .await
    .unwrap();
    assert_eq!(seen, ["prod_1", "prod_3", "prod_5"]);
}

/// `find` returns matches oldest first, up to a limit, in one account or all; `delete_where`
/// deletes across accounts and counts.
pub async fn find_and_delete_where(store: Arc<dyn Store>) {
    let (a, b) = ("acct_fa", "acct_fb");
    insert_all(
        &store,
        vec![
            session(a, "cs_1", "open", None, T0 + 100),
            session(b, "cs_5", "open", None, T0 + 50),
            session(a, "cs_2", "open", Some("cus_1"), T0 + 200),
            session(a, "cs_3", "complete", None, T0 + 100),
            session(b, "cs_6", "expired", None, T0 + 10),
            session(a, "cs_4", "open", None, T0 + 999),
        ],
    )
    .await;

    let due = || {
        vec![Filter::Eq(Column::Status, "open".into()), Filter::Cmp(Column::ExpiresAt, Cmp::Lte, T0 + 200)]
    };
    let find = |scope: Scope<'static>, filters: Vec<Filter>, limit: u32| {
        let store = store.clone();
        async move {
            let found =
                transact(store.as_ref(), move |tx| tx.find(scope, Kind::CheckoutSession, &filters, limit))
                    .await
                    .unwrap();
            found.into_iter().map(|r| (r.account, r.id)).collect::<Vec<_>>()
        }
    };
    let pair = |acct: &str, id: &str| (acct.to_owned(), id.to_owned());

    assert_eq!(find(Scope::All, due(), 10).await, [pair(a, "cs_1"), pair(b, "cs_5"), pair(a, "cs_2")]);
    assert_eq!(find(Scope::All, due(), 2).await, [pair(a, "cs_1"), pair(b, "cs_5")]);
    assert_eq!(find(Scope::All, due(), 0).await, []);
    assert_eq!(find(Scope::Account(a), due(), 10).await, [pair(a, "cs_1"), pair(a, "cs_2")]);
    assert_eq!(find(Scope::Account(b), vec![], 10).await, [pair(b, "cs_5"), pair(b, "cs_6")]);
    let owner = Scope::AccountOf(Kind::CheckoutSession, "cs_6");
    assert_eq!(find(owner, due(), 10).await, [pair(b, "cs_5")]);
    assert_eq!(find(Scope::AccountOf(Kind::CheckoutSession, "cs_missing"), vec![], 10).await, []);
    assert_eq!(find(Scope::All, vec![Filter::Any(vec![])], 10).await, []);

    // `select` reads the same records without claiming them, in a write or in a view.
    let filters = due();
    let selected =
        transact(store.as_ref(), move |tx| tx.select(Scope::All, Kind::CheckoutSession, &filters, 10))
            .await
            .unwrap();
    assert_eq!(ids(&selected), ["cs_1", "cs_5", "cs_2"]);
    let filters = due();
    let selected =
        view(store.as_ref(), move |tx| tx.select(Scope::Account(a), Kind::CheckoutSession, &filters, 1))
            .await
            .unwrap();
    assert_eq!(ids(&selected), ["cs_1"]);

    // A transaction's `find` sees its own writes.
    let seen = transact(store.as_ref(), |tx| {
        tx.insert(&session("acct_fb", "cs_7", "open", None, T0))?;
        tx.find(
            Scope::Account("acct_fb"),
            Kind::CheckoutSession,
            &[Filter::Eq(Column::ExpiresAt, Value::Int(T0))],
            10,
        )
    })
    .await
    .unwrap();
    assert_eq!(ids(&seen), ["cs_7"]);

    let delete_where = |filters: Vec<Filter>| {
        let store = store.clone();
        async move {
            transact(store.as_ref(), move |tx| tx.delete_where(Kind::CheckoutSession, &filters))
                .await
                .unwrap()
        }
    };
    assert_eq!(delete_where(vec![Filter::Eq(Column::Status, "expired".into())]).await, 1);
    assert_eq!(
        delete_where(vec![
            Filter::Eq(Column::Status, "open".into()),
            Filter::Cmp(Column::ExpiresAt, Cmp::Lt, T0 + 100)
        ])
        .await,
        2
    );
    assert_eq!(delete_where(vec![Filter::Eq(Column::Status, "nothing".into())]).await, 0);
    assert_eq!(
        page(&store, b, Kind::CheckoutSession, query(vec![], 10, Cursor::First)).await,
        (vec![], false)
    );
    assert_eq!(
        page(&store, a, Kind::CheckoutSession, query(vec![], 10, Cursor::First)).await.0,
        ["cs_4", "cs_3", "cs_2", "cs_1"]
    );

    // A rolled-back delete_where deletes nothing.
    let err = transact_or_refuse(store.as_ref(), |tx| {
        tx.delete_where(Kind::CheckoutSession, &[])?;
        Err::<(), _>(rejected())
    })
    .await
    .unwrap_err();
    assert_eq!(err, rejected());
    assert_eq!(page(&store, a, Kind::CheckoutSession, query(vec![], 10, Cursor::First)).await.0.len(), 4);
}

/// The records a completed checkout leaves (payment intents, payment methods, subscriptions,
/// invoices), written as the application writes them: they come back whole, their derived columns
/// filter lists (`NULL` customers included), and an update moves a record between filters.
pub async fn billing_records(store: Arc<dyn Store>) {
    let a = "acct_billing";
    let usd = Currency::parse("usd").unwrap();

    let mut pi_guest = PaymentIntent::new(1000, usd, vec!["card".into()], T0);
    pi_guest.pending_challenge = Some(serde_json::json!({"state": "awaiting", "n": 1}));
    let mut pi_paid = PaymentIntent::new(2000, usd, vec!["card".into(), "paypal".into()], T0 + 1);
    pi_paid.customer = Some("cus_1".into());
    pi_paid.status = PaymentIntentStatus::Succeeded;

    let mut pm_balance =
        PaymentMethod::new(PaymentMethodKind::CustomerBalance, BillingDetails::default(), T0);
    pm_balance.customer = Some("cus_1".into());
    let pm_paypal = PaymentMethod::new(
        PaymentMethodKind::Paypal { payer_email: Some("payer@example.com".into()) },
        BillingDetails { email: Some("payer@example.com".into()), name: None },
        T0 + 1,
    );

    let mut sub_1 = Subscription::new("cus_1".into(), usd, vec![], T0, T0 + 100, T0);
    sub_1.status = SubscriptionStatus::Active;
    let mut sub_2 = Subscription::new("cus_2".into(), usd, vec![], T0, T0 + 100, T0 + 1);
    sub_2.status = SubscriptionStatus::Trialing;

    let invoice = |customer: &str, sub: Option<&Subscription>, status: InvoiceStatus, created: Timestamp| {
        let mut inv = Invoice::new(
            customer.into(),
            usd,
            BillingReason::SubscriptionCycle,
            vec![],
            T0,
            T0 + 100,
            created,
        )
        .unwrap();
        inv.subscription = sub.map(|s| s.id.clone());
        inv.status = status;
        inv
    };
    let in_1 = invoice("cus_1", Some(&sub_1), InvoiceStatus::Paid, T0);
    let in_2 = invoice("cus_1", Some(&sub_1), InvoiceStatus::Open, T0 + 1);
    let in_3 = invoice("cus_2", Some(&sub_2), InvoiceStatus::Paid, T0 + 2);
    let in_4 = invoice("cus_2", None, InvoiceStatus::Draft, T0 + 3);

    let records = vec![
        pi_guest.to_raw(a).unwrap(),
        pi_paid.to_raw(a).unwrap(),
        pm_balance.to_raw(a).unwrap(),
        pm_paypal.to_raw(a).unwrap(),
        sub_1.to_raw(a).unwrap(),
        sub_2.to_raw(a).unwrap(),
        in_1.to_raw(a).unwrap(),
        in_2.to_raw(a).unwrap(),
        in_3.to_raw(a).unwrap(),
        in_4.to_raw(a).unwrap(),
        // Another account's invoice for the same customer id never shows.
        invoice("cus_1", Some(&sub_1), InvoiceStatus::Paid, T0).to_raw("acct_else").unwrap(),
    ];
    insert_all(&store, records).await;

    // Typed round trips, opaque fields included.
    let back: PaymentIntent = store.as_ref().load(a, &pi_guest.id).await.unwrap().unwrap();
    assert_eq!(back, pi_guest);
    let back: PaymentMethod = store.as_ref().load(a, &pm_paypal.id).await.unwrap().unwrap();
    assert_eq!(back, pm_paypal);
    let back: Subscription = store.as_ref().load(a, &sub_2.id).await.unwrap().unwrap();
    assert_eq!(back, sub_2);
    let back: Invoice = store.as_ref().load(a, &in_4.id).await.unwrap().unwrap();
    assert_eq!(back, in_4);
    // Ids are per kind.
    assert_eq!(store.get(a, Kind::Invoice, &sub_1.id).await.unwrap(), None);

    let list = |kind: Kind, filters: Vec<Filter>| {
        let store = store.clone();
        async move { page(&store, a, kind, query(filters, 100, Cursor::First)).await.0 }
    };
    let eq = |c: Column, v: &str| Filter::Eq(c, v.into());
    let null = |c: Column| Filter::Eq(c, Value::Null);

    assert_eq!(list(Kind::PaymentIntent, vec![]).await, [pi_paid.id.as_str(), pi_guest.id.as_str()]);
    assert_eq!(list(Kind::PaymentIntent, vec![eq(Column::Customer, "cus_1")]).await, [pi_paid.id.as_str()]);
    assert_eq!(list(Kind::PaymentIntent, vec![null(Column::Customer)]).await, [pi_guest.id.as_str()]);
    assert_eq!(list(Kind::PaymentIntent, vec![eq(Column::Status, "succeeded")]).await, [pi_paid.id.as_str()]);

    assert_eq!(list(Kind::PaymentMethod, vec![eq(Column::Type, "paypal")]).await, [pm_paypal.id.as_str()]);
    assert_eq!(
        list(Kind::PaymentMethod, vec![eq(Column::Customer, "cus_1"), eq(Column::Type, "customer_balance")])
            .await,
        [pm_balance.id.as_str()]
    );

    assert_eq!(list(Kind::Subscription, vec![eq(Column::Customer, "cus_2")]).await, [sub_2.id.as_str()]);
    assert_eq!(list(Kind::Subscription, vec![eq(Column::Status, "active")]).await, [sub_1.id.as_str()]);

    assert_eq!(
        list(Kind::Invoice, vec![eq(Column::Customer, "cus_1")]).await,
        [in_2.id.as_str(), in_1.id.as_str()]
    );
    assert_eq!(list(Kind::Invoice, vec![eq(Column::Subscription, &sub_2.id)]).await, [in_3.id.as_str()]);
    assert_eq!(list(Kind::Invoice, vec![null(Column::Subscription)]).await, [in_4.id.as_str()]);
    assert_eq!(
        list(Kind::Invoice, vec![eq(Column::Status, "paid")]).await,
        [in_3.id.as_str(), in_1.id.as_str()]
    );
    assert_eq!(
        list(Kind::Invoice, vec![eq(Column::Customer, "cus_1"), eq(Column::Status, "paid")]).await,
        [in_1.id.as_str()]
    );

    // An update rewrites the derived columns with the document.
    let mut paid = in_2.clone();
    paid.status = InvoiceStatus::Paid;
    paid.paid_at = Some(T0 + 50);
    update(&store, paid.to_raw(a).unwrap()).await.unwrap();
    assert_eq!(
        list(Kind::Invoice, vec![eq(Column::Customer, "cus_1"), eq(Column::Status, "paid")]).await,
        [in_2.id.as_str(), in_1.id.as_str()]
    );
    assert!(list(Kind::Invoice, vec![eq(Column::Status, "open")]).await.is_empty());
    let back: Invoice = store.as_ref().load(a, &in_2.id).await.unwrap().unwrap();
    assert_eq!(back, paid);
}

/// What was acknowledged is still there after the store is dropped and the database reopened.
pub async fn durability(db: &dyn TestDatabase) {
    let a = "acct_durable";
    let acme = Account { id: a.to_owned(), name: "Durable".to_owned(), created: T0 };
    let key = SecretKey::generate();
    let n = 100;
    {
        let store = db.open();
        store.create_account(&acme, &ApiKeyRecord::new(&key, a, T0)).await.unwrap();
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(
                    async move { insert(&store, product(a, &format!("prod_{i:03}"), T0, true)).await },
                )
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let updated = product(a, "prod_000", T0, false);
        update(&store, updated).await.unwrap();
    }

    let store = db.open();
    assert_eq!(store.count_accounts().await.unwrap(), 1);
    assert_eq!(store.account_by_key(&key.hash()).await.unwrap(), Some(acme));
    let Page { data, has_more } =
        store.list(a, Kind::Product, query(vec![], 100, Cursor::First)).await.unwrap();
    assert!(!has_more);
    let got: BTreeSet<String> = data.iter().map(|r| r.id.clone()).collect();
    assert_eq!(got, (0..n).map(|i| format!("prod_{i:03}")).collect::<BTreeSet<_>>());
    let first = store.get(a, Kind::Product, "prod_000").await.unwrap().unwrap();
    assert_eq!(first.columns, vec![Value::Int(0)]);
}

/// Hundreds of concurrent transactions from many tasks all commit, each readable as soon as it
/// is acknowledged, while reads run alongside.
pub async fn concurrency(store: Arc<dyn Store>) {
    let a = "acct_busy";
    let n = 200;
    let mut tasks = Vec::new();
    for i in 0..n {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("prod_{i:03}");
            let record = product(a, &id, T0, i % 2 == 0);
            let back = transact(store.as_ref(), move |tx| tx.insert(&record).map(|()| i)).await.unwrap();
            assert_eq!(back, i);
            // Acknowledged means visible to every later read.
            assert!(
                store.get(a, Kind::Product, &id).await.unwrap().is_some(),
                "{id} not readable after commit"
            );
            store.list(a, Kind::Product, query(vec![], 10, Cursor::First)).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    // Page through everything: 200 distinct records in two full pages and an empty one.
    let mut seen = Vec::new();
    let mut cursor = Cursor::First;
    loop {
        let Page { data, has_more } = store.list(a, Kind::Product, query(vec![], 100, cursor)).await.unwrap();
        seen.extend(data.iter().map(|r| r.id.clone()));
        match data.last() {
            Some(last) if has_more => cursor = Cursor::After(last.id.clone()),
            _ => break,
        }
    }
    assert_eq!(seen.len(), n);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), n);
    let keys = (0..n).map(|i| (Kind::Product, format!("prod_{i:03}"))).collect();
    assert_eq!(store.get_many(a, keys).await.unwrap().len(), n);
}

/// [`Store::insert`] is [`Tx::insert`](kassa_core::store::Tx::insert) on its own: the same
/// conflicts, durable when it answers, however many run at once (a backend may write them
/// together, and must still answer each one for itself).
/// [`Store::insert_all`]: several records of one write, all of them or none — alone, and among
/// concurrent writes that the backend may group with it.
pub async fn multi_record_inserts(store: Arc<dyn Store>) {
    let a = "acct_multi";
    let written = vec![
        product(a, "prod_1", T0, true),
        sample(Kind::Price, a, "price_1", T0),
        session(a, "cs_1", "open", None, T0),
    ];
    store.insert_all(written.clone()).await.unwrap();
    for record in &written {
        assert_eq!(store.get(a, record.kind, &record.id).await.unwrap().as_ref(), Some(record));
    }
    store.insert_all(Vec::new()).await.unwrap();

    // One record taken: nothing of the write is, whether the taken one comes first or last.
    for order in [["prod_2", "prod_1"], ["prod_1", "prod_2"]] {
        let records = vec![
            sample(Kind::Price, a, "price_2", T0),
            product(a, order[0], T0, true),
            product(a, order[1], T0, true),
        ];
        let err = store.insert_all(records).await.unwrap_err();
        assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
        assert_eq!(store.get(a, Kind::Price, "price_2").await.unwrap(), None);
        assert_eq!(store.get(a, Kind::Product, "prod_2").await.unwrap(), None);
    }
    // The same key twice in one write.
    let err = store
        .insert_all(vec![product(a, "prod_3", T0, true), product(a, "prod_3", T0, false)])
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
    assert_eq!(store.get(a, Kind::Product, "prod_3").await.unwrap(), None);
    // A promotion code's second constraint refuses the whole write too.
    store.insert(promotion_code(a, "promo_1", "SPRING", true)).await.unwrap();
    let err = store
        .insert_all(vec![product(a, "prod_4", T0, true), promotion_code(a, "promo_2", "spring", true)])
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::ActivePromotionCode));
    assert_eq!(store.get(a, Kind::Product, "prod_4").await.unwrap(), None);

    // Many at once: groups of four writes share a product, so one of each group wins whole and the
    // others leave nothing behind; single inserts run among them.
    let mut tasks = Vec::new();
    for i in 0..120u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            if i % 3 == 2 {
                let record = sample(Kind::Customer, "acct_multi_b", &format!("cus_{i}"), T0);
                return (vec![record.clone()], store.insert(record).await);
            }
            let records = vec![
                product("acct_multi_b", &format!("prod_pair_{}", i / 6), T0, true),
                sample(Kind::Price, "acct_multi_b", &format!("price_{i}"), T0),
                session("acct_multi_b", &format!("cs_{i}"), "open", None, T0 + i64::from(i)),
            ];
            (records.clone(), store.insert_all(records).await)
        }));
    }
    let mut winners = BTreeSet::new();
    for t in tasks {
        let (records, outcome) = t.await.unwrap();
        let mut stored = Vec::new();
        for record in &records[1..] {
            stored.push(store.get(&record.account, record.kind, &record.id).await.unwrap());
        }
        match outcome {
            Ok(()) => {
                for (record, stored) in records[1..].iter().zip(&stored) {
                    assert_eq!(stored.as_ref(), Some(record), "acknowledged means readable");
                }
                if records.len() > 1 {
                    assert!(winners.insert(records[0].id.clone()), "{} written twice", records[0].id);
                }
            }
            Err(e) => {
                assert_eq!(e, StoreError::Conflict(Constraint::PrimaryKey));
                assert!(stored.iter().all(Option::is_none), "a refused write left {stored:?}");
            }
        }
    }
    // Tasks 6k, 6k+1, 6k+3 and 6k+4 share prod_pair_k: one winner for each k.
    assert_eq!(winners.len(), 20);
}

pub async fn single_inserts(store: Arc<dyn Store>) {
    let a = "acct_ins";
    let first = product(a, "prod_1", T0, true);
    store.insert(first.clone()).await.unwrap();
    assert_eq!(store.get(a, Kind::Product, "prod_1").await.unwrap(), Some(first.clone()));
    let err = store.insert(product(a, "prod_1", T0 + 1, false)).await.unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));
    assert_eq!(store.get(a, Kind::Product, "prod_1").await.unwrap(), Some(first));
    // The same id in another account, or under another kind, is another record.
    store.insert(product("acct_ins_b", "prod_1", T0, true)).await.unwrap();
    store.insert(sample(Kind::Customer, a, "prod_1", T0)).await.unwrap();

    // A promotion code's second constraint.
    store.insert(promotion_code(a, "promo_1", "SPRING", true)).await.unwrap();
    let err = store.insert(promotion_code(a, "promo_2", "spring", true)).await.unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::ActivePromotionCode));
    let err = store.insert(promotion_code(a, "promo_1", "AUTUMN", true)).await.unwrap_err();
    assert_eq!(err, StoreError::Conflict(Constraint::PrimaryKey));

    // Many at once, of several kinds and accounts, some of them the same record: each key is
    // written once, every other insert of it conflicts, and every answer is the caller's own.
    let mut tasks = Vec::new();
    for i in 0..300 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let account = if i % 3 == 0 { "acct_ins_c" } else { "acct_ins_d" };
            let record = match i % 4 {
                0 => sample(Kind::Event, account, &format!("evt_{}", i % 100), T0),
                1 => session(account, &format!("cs_{i}"), "open", None, T0 + i64::from(i)),
                2 => sample(Kind::Customer, account, &format!("cus_{i}"), T0),
                _ => product(account, &format!("prod_{i}"), T0, true),
            };
            let outcome = store.insert(record.clone()).await;
            (record, outcome)
        }));
    }
    let mut written = BTreeSet::new();
    for t in tasks {
        let (record, outcome) = t.await.unwrap();
        let key = (record.kind.table(), record.account.clone(), record.id.clone());
        match outcome {
            Ok(()) => {
                assert!(written.insert(key), "{} {} written twice", record.account, record.id);
                // Acknowledged means readable, and it is what was sent.
                let stored = store.get(&record.account, record.kind, &record.id).await.unwrap();
                assert_eq!(stored, Some(record));
            }
            Err(e) => {
                assert_eq!(
                    e,
                    StoreError::Conflict(Constraint::PrimaryKey),
                    "{} {}",
                    record.account,
                    record.id
                );
                assert_eq!(record.kind, Kind::Event, "only the repeated events may conflict");
            }
        }
    }
    // 75 events under 2 accounts with ids evt_0..evt_99 (i % 4 == 0 makes i % 100 a multiple of
    // 4, and i % 3 picks the account): every distinct key once.
    let events = written.iter().filter(|(table, _, _)| *table == Kind::Event.table()).count();
    let distinct_events: BTreeSet<_> =
        (0..300).filter(|i| i % 4 == 0).map(|i| (if i % 3 == 0 { "c" } else { "d" }, i % 100)).collect();
    assert_eq!(events, distinct_events.len());
    assert_eq!(written.len(), 225 + distinct_events.len());

    // A record the store cannot take fails alone: a column the table requires, given NULL.
    let mut bad = session(a, "cs_bad", "open", None, T0);
    bad.columns[0] = Value::Null;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let record = if i == 10 { bad.clone() } else { session(a, &format!("cs_ok_{i}"), "open", None, T0) };
        tasks.push(tokio::spawn(async move { store.insert(record).await }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let outcome = t.await.unwrap();
        assert_eq!(outcome.is_err(), i == 10, "insert {i}: {outcome:?}");
    }
    assert_eq!(store.get(a, Kind::CheckoutSession, "cs_bad").await.unwrap(), None);
}

/// Concurrent [`Store::get_many`]s of several accounts, asking for the same ids: each gets its own
/// account's records, in the order it asked, and nothing of another's. Concurrent
/// [`Store::get_by_id`]s of several kinds each get their record, or none.
pub async fn concurrent_reads(store: Arc<dyn Store>) {
    let accounts = ["acct_r0", "acct_r1", "acct_r2"];
    let mut records = Vec::new();
    for (n, account) in accounts.iter().enumerate() {
        for i in 0..10 {
            let created = T0 + i64::try_from(n * 100 + i).unwrap();
            records.push(product(account, &format!("prod_{i}"), created, true));
            records.push(sample(Kind::Customer, account, &format!("cus_{i}"), created));
            // Ids unique across accounts, for reads by id alone.
            records.push(sample(Kind::CheckoutSession, account, &format!("cs_r{n}_{i}"), created));
            records.push(sample(Kind::Invoice, account, &format!("in_r{n}_{i}"), created));
        }
    }
    insert_all(&store, records).await;
    let mut tasks = Vec::new();
    for t in 0..150 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let n = t % 3;
            let account = ["acct_r0", "acct_r1", "acct_r2"][n];
            let i = t % 10;
            let keys = vec![
                (Kind::Customer, format!("cus_{i}")),
                (Kind::Product, format!("prod_{}", (i + 1) % 10)),
                (Kind::Product, "prod_missing".to_owned()),
                (Kind::Product, format!("prod_{i}")),
            ];
            let got = store.get_many(account, keys).await.unwrap();
            let shown: Vec<(&str, &str)> = got.iter().map(|r| (r.account.as_str(), r.id.as_str())).collect();
            let (cus, next, this) =
                (format!("cus_{i}"), format!("prod_{}", (i + 1) % 10), format!("prod_{i}"));
            assert_eq!(shown, [(account, cus.as_str()), (account, next.as_str()), (account, this.as_str())]);
            let created = T0 + i64::try_from(n * 100 + i).unwrap();
            assert_eq!(got[2], product(account, &this, created, true));
            // By id alone, of two kinds and one missing, grouped with the other tasks' reads.
            let (session_id, invoice_id, missing_id) =
                (format!("cs_r{n}_{i}"), format!("in_r{n}_{i}"), format!("in_missing_{t}"));
            let (session, invoice, missing) = tokio::join!(
                store.get_by_id(Kind::CheckoutSession, &session_id),
                store.get_by_id(Kind::Invoice, &invoice_id),
                store.get_by_id(Kind::Invoice, &missing_id),
            );
            assert_eq!(session.unwrap(), Some(sample(Kind::CheckoutSession, account, &session_id, created)));
            let invoice = invoice.unwrap().unwrap();
            assert_eq!((invoice.account.as_str(), invoice.id.as_str()), (account, invoice_id.as_str()));
            assert_eq!(missing.unwrap(), None);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.get_many("acct_r0", vec![]).await.unwrap(), vec![]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_have_a_value_per_column() {
        for &kind in Kind::ALL {
            assert_eq!(sample(kind, "a", "x", 0).columns.len(), kind.columns().len(), "{kind:?}");
        }
    }
}
