//! The SQL of records on PostgreSQL: per-kind statements (built once), filters turned into
//! `WHERE` clauses with numbered, typed parameters (`$1`, `$2`, …), and row decoding.
//!
//! Only static names ever enter SQL text: table names from [`Kind::table`], column names from
//! [`Column::name`]. Every value is a bound parameter, sent with its PostgreSQL type (`BIGINT` for
//! the integer columns, `TEXT` for the rest), so the same [`Query`] runs as a cached prepared
//! statement or, with the statement cache off, as an unnamed one-shot statement. The one
//! exception is a transaction's last writes, sent with its `COMMIT` as one script: [`inline`]
//! writes a [`Query`]'s parameters into its text, each an escape string literal (`E'…'`, every
//! backslash and quote doubled; text never holds a NUL) or a number, with a cast to its type.
//!
//! Where SQLite's dialect differs: placeholders are numbered; `FALSE`/`TRUE` stand for the empty
//! `Any` and the empty group; an insert is `ON CONFLICT DO NOTHING` (a unique violation would
//! abort the whole PostgreSQL transaction, while the port promises that a `Conflict` the closure
//! handles leaves the transaction usable — zero rows inserted is the conflict); `Tx::get` reads
//! `FOR UPDATE` and `Tx::find` `FOR UPDATE SKIP LOCKED`; `get_many` reads each kind's keys with
//! one `(account_id, id) IN (SELECT * FROM unnest($1, $2))`.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::sync::OnceLock;

use bytes::BytesMut;
use kassa_core::store::{
    Column, Constraint, Cursor, Filter, Kind, ListQuery, RawRecord, Scope, StoreError, Value,
};
use tokio_postgres::Row;

use crate::filter::{self, Bound};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// The columns every record table starts with, before [`Kind::columns`] (the schema test holds
/// the migrations to them).
#[cfg(test)]
pub(crate) const BASE_COLUMNS: [&str; 5] = ["seq", "account_id", "id", "created", "data"];

/// The columns a record is read with: [`BASE_COLUMNS`] but `seq`, then [`Kind::columns`].
const READ_BASE: [&str; 4] = ["account_id", "id", "created", "data"];

/// The PostgreSQL type of a record column: the integers are `BIGINT`, the rest `TEXT`.
pub(crate) fn column_type(column: Column) -> Type {
    match column {
        Column::Created
        | Column::Active
        | Column::Inclusive
        | Column::Inline
        | Column::ExpiresAt
        | Column::LockedUntil
        | Column::DueAt => Type::INT8,
        Column::Product
        | Column::Currency
        | Column::Type
        | Column::Email
        | Column::Code
        | Column::Coupon
        | Column::Customer
        | Column::Status
        | Column::PaymentIntent
        | Column::Subscription
        | Column::Endpoint
        | Column::Event
        | Column::TestClock
        | Column::Charge => Type::TEXT,
    }
}

/// A value bound to a statement, borrowed from the record or filter it came from.
#[derive(Clone)]
pub(crate) enum Param<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    /// A `TEXT[]`: a batch's keys and text columns.
    Texts(Vec<&'a str>),
    /// A `BIGINT[]`: a batch's `created` times.
    Ints(Vec<i64>),
    /// One record column of a batch, as a `TEXT[]` or `BIGINT[]` (its [`column_type`]'s array).
    Column(Vec<&'a Value>),
}

/// Text values can be personal data (an email) or a key's hash, and tokio-postgres logs every
/// parameter's `Debug` at debug level: so only their length shows.
impl std::fmt::Debug for Param<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Null => f.write_str("NULL"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Text(s) => write!(f, "<text, {} bytes>", s.len()),
            Self::Texts(v) => write!(f, "<{} texts>", v.len()),
            Self::Ints(v) => write!(f, "<{} integers>", v.len()),
            Self::Column(v) => write!(f, "<{} column values>", v.len()),
        }
    }
}

impl<'a> From<&'a Value> for Param<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Int(i) => Self::Int(*i),
            Value::Text(s) => Self::Text(s),
        }
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Int(i) if *ty == Type::INT8 => i.to_sql(ty, out),
            // An integer compared with a text column compares as its decimal text, as on SQLite
            // (whose TEXT affinity converts it).
            Self::Int(i) => i.to_string().to_sql(ty, out),
            Self::Text(s) if *ty == Type::TEXT => s.to_sql(ty, out),
            Self::Text(_) => Err("a text value for an integer column".into()),
            Self::Texts(v) => v.to_sql(ty, out),
            Self::Ints(v) => v.to_sql(ty, out),
            // As for one value: an integer in a text column goes as its decimal text.
            Self::Column(v) if *ty == Type::TEXT_ARRAY => v
                .iter()
                .map(|value| match value {
                    Value::Null => None,
                    Value::Int(i) => Some(Cow::Owned(i.to_string())),
                    Value::Text(s) => Some(Cow::Borrowed(s.as_str())),
                })
                .collect::<Vec<Option<Cow<'_, str>>>>()
                .to_sql(ty, out),
            Self::Column(v) => v
                .iter()
                .map(|value| match value {
                    Value::Null => Ok(None),
                    Value::Int(i) => Ok(Some(*i)),
                    Value::Text(_) => Err("a text value for an integer column"),
                })
                .collect::<Result<Vec<Option<i64>>, _>>()?
                .to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::TEXT | Type::TEXT_ARRAY | Type::INT8_ARRAY)
    }

    to_sql_checked!();
}

/// One statement: its text and its parameters, each with the type it is sent as.
#[derive(Debug, Clone)]
pub(crate) struct Query<'a> {
    pub text: Cow<'static, str>,
    pub params: Vec<(Param<'a>, Type)>,
}

impl<'a> Query<'a> {
    pub(crate) fn fixed(text: &'static str, params: Vec<(Param<'a>, Type)>) -> Self {
        Self { text: Cow::Borrowed(text), params }
    }

    fn text(text: String) -> Self {
        Self { text: Cow::Owned(text), params: Vec::new() }
    }

    /// Bind `param` as the next parameter and append its placeholder to the text.
    fn bind(&mut self, param: Param<'a>, ty: Type) {
        self.params.push((param, ty));
        let n = self.params.len();
        let _ = write!(self.text.to_mut(), "${n}");
    }

    fn push(&mut self, sql: &str) {
        self.text.to_mut().push_str(sql);
    }

    /// The parameters' types, for preparing the statement.
    pub fn types(&self) -> Vec<Type> {
        self.params.iter().map(|(_, t)| t.clone()).collect()
    }
}

fn text(s: &str) -> (Param<'_>, Type) {
    (Param::Text(s), Type::TEXT)
}

/// A text value looked up (an id, an account, a filter's value). PostgreSQL's `TEXT` cannot hold
/// a NUL character, so no stored value contains one, and sending one is an error (22021) that
/// would abort the transaction: such a value is bound as `NULL` instead, which equals nothing —
/// the lookup finds nothing, as it does on SQLite.
pub(crate) fn key(s: &str) -> Param<'_> {
    if s.contains('\0') { Param::Null } else { Param::Text(s) }
}

fn key_param(s: &str) -> (Param<'_>, Type) {
    (key(s), Type::TEXT)
}

/// A record to be written whose text values (`NUL` aside, anything goes) PostgreSQL can store; one
/// with a NUL character is refused as invalid input, before any statement is sent. The document
/// never has one (JSON escapes it); a column could, from a request's value.
fn check_storable(record: &RawRecord) -> Result<(), StoreError> {
    let nul = |s: &str| s.contains('\0');
    let in_columns = record.columns.iter().any(|v| matches!(v, Value::Text(s) if nul(s)));
    if nul(&record.account) || nul(&record.id) || nul(&record.data) || in_columns {
        return Err(StoreError::Unstorable(
            "Text values cannot contain the NUL character (\\u0000).".to_owned(),
        ));
    }
    Ok(())
}

/// The fixed statements of one kind.
#[derive(Debug)]
pub(crate) struct KindSql {
    /// `SELECT <read columns> FROM <table>`, to be followed by a `WHERE`.
    select: String,
    get: String,
    get_for_update: String,
    /// Several `(account_id, id)` keys, as two arrays.
    get_keys: String,
    get_keys_for_update: String,
    /// By id alone, across accounts (for kinds whose ids are random).
    by_id: String,
    by_id_for_update: String,
    /// Several ids alone, across accounts, as one array.
    by_ids: String,
    seq_of: String,
    insert: String,
    /// The insert without `ON CONFLICT`: a conflict is an error, which aborts the transaction.
    insert_strict: String,
    /// Many records at once, one array per column: `RETURNING` the keys it inserted.
    insert_batch: String,
    /// Many records at once, without `ON CONFLICT`: a conflict is an error, which aborts the
    /// transaction.
    insert_batch_strict: String,
    update: String,
    /// The update, failing (division by zero) if it changed no row, which aborts the
    /// transaction.
    update_checked: String,
    delete: String,
}

impl KindSql {
    fn new(kind: Kind) -> Self {
        let table = kind.table();
        let cols = kind.columns();
        let mut all = READ_BASE.join(", ");
        for c in cols {
            all.push_str(", ");
            all.push_str(c.name());
        }
        let select = format!("SELECT {all} FROM {table}");
        let get = format!("{select} WHERE account_id = $1 AND id = $2");
        let get_for_update = format!("{get} FOR UPDATE");
        let get_keys =
            format!("{select} WHERE (account_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))");
        let get_keys_for_update = format!("{get_keys} FOR UPDATE");
        let by_id = format!("{select} WHERE id = $1 LIMIT 1");
        let by_id_for_update = format!("{by_id} FOR UPDATE");
        let by_ids = format!("{select} WHERE id = ANY($1::text[])");
        let seq_of = format!("SELECT seq FROM {table} WHERE account_id = $1 AND id = $2");

        let mut insert_cols = READ_BASE.join(", ");
        let mut placeholders = String::from("$1, $2, $3, $4");
        let mut sets = String::from("data = $1");
        for (i, c) in cols.iter().enumerate() {
            let _ = write!(insert_cols, ", {}", c.name());
            let _ = write!(placeholders, ", ${}", i + 5);
            let _ = write!(sets, ", {} = ${}", c.name(), i + 2);
        }
        let insert_strict = format!("INSERT INTO {table} ({insert_cols}) VALUES ({placeholders})");
        let insert = format!("{insert_strict} ON CONFLICT DO NOTHING");
        let arrays = (1..=4 + cols.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let insert_batch_strict =
            format!("INSERT INTO {table} ({insert_cols}) SELECT * FROM unnest({arrays})");
        let insert_batch = format!("{insert_batch_strict} ON CONFLICT DO NOTHING RETURNING account_id, id");
        let n = cols.len();
        let update = format!("UPDATE {table} SET {sets} WHERE account_id = ${} AND id = ${}", n + 2, n + 3);
        let update_checked =
            format!("WITH changed AS ({update} RETURNING 1) SELECT 1 / COUNT(*)::int FROM changed");
        let delete = format!("DELETE FROM {table} WHERE account_id = $1 AND id = $2");
        Self {
            select,
            get,
            get_for_update,
            get_keys,
            get_keys_for_update,
            by_id,
            by_id_for_update,
            by_ids,
            seq_of,
            insert,
            insert_strict,
            insert_batch,
            insert_batch_strict,
            update,
            update_checked,
            delete,
        }
    }
}

/// The statements of `kind`, built on first use.
pub(crate) fn kind_sql(kind: Kind) -> &'static KindSql {
    static CACHE: [OnceLock<KindSql>; 25] = [const { OnceLock::new() }; 25];
    // Exhaustive on purpose: a new kind does not compile until it has a slot here (and a table in
    // a migration).
    let slot = match kind {
        Kind::Product => 0,
        Kind::Price => 1,
        Kind::Customer => 2,
        Kind::Coupon => 3,
        Kind::PromotionCode => 4,
        Kind::CheckoutSession => 5,
        Kind::IdempotencyKey => 6,
        Kind::PaymentIntent => 7,
        Kind::PaymentMethod => 8,
        Kind::Subscription => 9,
        Kind::Invoice => 10,
        Kind::Event => 11,
        Kind::WebhookEndpoint => 12,
        Kind::WebhookDelivery => 13,
        Kind::TestClock => 14,
        Kind::TaxRate => 15,
        Kind::ShippingRate => 16,
        Kind::SetupIntent => 17,
        Kind::DashboardSession => 18,
        Kind::Charge => 19,
        Kind::Refund => 20,
        Kind::InvoiceItem => 23,
        Kind::PortalConfiguration => 21,
        Kind::PortalSession => 22,
    };
    CACHE[slot].get_or_init(|| KindSql::new(kind))
}

/// Take the next value of an account's counter (`Tx::next_in_sequence`).
pub(crate) fn next_in_sequence<'a>(account: &'a str, name: &'a str) -> Query<'a> {
    Query::fixed(
        "INSERT INTO sequences (account_id, name, value) VALUES ($1, $2, 1) \
         ON CONFLICT (account_id, name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
        vec![key_param(account), key_param(name)],
    )
}

/// One record of an account; `lock` reads it `FOR UPDATE`.
pub(crate) fn get<'a>(kind: Kind, account: &'a str, id: &'a str, lock: bool) -> Query<'a> {
    let sql = kind_sql(kind);
    Query::fixed(if lock { &sql.get_for_update } else { &sql.get }, vec![key_param(account), key_param(id)])
}

/// Records of one kind by `(account, id)`, in one statement.
pub(crate) fn get_keys<'a>(kind: Kind, keys: &[(&'a str, &'a str)]) -> Query<'a> {
    keys_query(&kind_sql(kind).get_keys, keys)
}

/// [`get_keys`], locking the rows until the transaction ends.
pub(crate) fn get_keys_for_update<'a>(kind: Kind, keys: &[(&'a str, &'a str)]) -> Query<'a> {
    keys_query(&kind_sql(kind).get_keys_for_update, keys)
}

fn keys_query<'a>(text: &'static str, keys: &[(&'a str, &'a str)]) -> Query<'a> {
    // A key with a NUL character matches nothing (see [`key`]): left out.
    let keys: Vec<_> = keys.iter().filter(|(a, i)| !a.contains('\0') && !i.contains('\0')).collect();
    Query::fixed(
        text,
        vec![
            (Param::Texts(keys.iter().map(|(a, _)| *a).collect()), Type::TEXT_ARRAY),
            (Param::Texts(keys.iter().map(|(_, i)| *i).collect()), Type::TEXT_ARRAY),
        ],
    )
}

/// A record by id alone, across accounts; `lock`ed `FOR UPDATE` in a writing transaction.
pub(crate) fn by_id(kind: Kind, id: &str, lock: bool) -> Query<'_> {
    let sql = kind_sql(kind);
    Query::fixed(if lock { &sql.by_id_for_update } else { &sql.by_id }, vec![key_param(id)])
}

/// Records by id alone, across accounts, in one statement.
pub(crate) fn by_ids<'a>(kind: Kind, ids: &[&'a str]) -> Query<'a> {
    // An id with a NUL character matches nothing (see [`key`]): left out.
    let ids = ids.iter().copied().filter(|i| !i.contains('\0')).collect();
    Query::fixed(&kind_sql(kind).by_ids, vec![(Param::Texts(ids), Type::TEXT_ARRAY)])
}

/// The `seq` of a record: whether it exists, and where a list cursor stands.
pub(crate) fn seq_of<'a>(kind: Kind, account: &'a str, id: &'a str) -> Query<'a> {
    Query::fixed(&kind_sql(kind).seq_of, vec![key_param(account), key_param(id)])
}

fn check_columns(record: &RawRecord) -> Result<(), StoreError> {
    let want = record.kind.columns().len();
    if record.columns.len() == want {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "a {} record carries {} column values; its table has {want}",
            record.kind.table(),
            record.columns.len()
        )))
    }
}

fn column_params(record: &RawRecord) -> impl Iterator<Item = (Param<'_>, Type)> {
    record.columns.iter().zip(record.kind.columns()).map(|(v, c)| (Param::from(v), column_type(*c)))
}

/// Insert `record` unless a unique constraint stands in the way: zero rows affected is a conflict.
pub(crate) fn insert(record: &RawRecord) -> Result<Query<'_>, StoreError> {
    check_columns(record)?;
    check_storable(record)?;
    let mut params = Vec::with_capacity(4 + record.columns.len());
    params.extend([
        text(&record.account),
        text(&record.id),
        (Param::Int(record.created), Type::INT8),
        text(&record.data),
    ]);
    params.extend(column_params(record));
    Ok(Query::fixed(&kind_sql(record.kind).insert, params))
}

/// Insert every record of `records` (all of one kind, none twice) that no unique constraint stands
/// in the way of, in one statement; it returns the `(account_id, id)` of those it inserted.
pub(crate) fn insert_batch<'a>(kind: Kind, records: &[&'a RawRecord]) -> Result<Query<'a>, StoreError> {
    for record in records {
        debug_assert_eq!(record.kind, kind);
        check_insertable(record)?;
    }
    let texts = |f: fn(&'a RawRecord) -> &'a str| {
        (Param::Texts(records.iter().map(|r| f(r)).collect()), Type::TEXT_ARRAY)
    };
    let mut params = vec![
        texts(|r| &r.account),
        texts(|r| &r.id),
        (Param::Ints(records.iter().map(|r| r.created).collect()), Type::INT8_ARRAY),
        texts(|r| &r.data),
    ];
    for (i, column) in kind.columns().iter().enumerate() {
        let array = match column_type(*column) {
            Type::INT8 => Type::INT8_ARRAY,
            _ => Type::TEXT_ARRAY,
        };
        params.push((Param::Column(records.iter().map(|r| &r.columns[i]).collect()), array));
    }
    Ok(Query::fixed(&kind_sql(kind).insert_batch, params))
}

/// Append `q`'s text with its parameters written in as literals, for the simple query protocol,
/// where several statements go as one message and the server answers them all at once (a
/// transaction's deferred writes and its `COMMIT`: see `src/postgres/tx.rs`). Each parameter
/// becomes what [`Param`]'s `ToSql` would send, typed by a cast: text as an escape string
/// (`E'…'`, backslashes and quotes doubled, as libpq's `PQescapeLiteral` writes it; a text value
/// never holds a NUL, [`check_storable`]), integers and arrays likewise.
pub(crate) fn inline(out: &mut String, q: &Query<'_>) -> Result<(), StoreError> {
    let text = q.text.as_ref();
    out.reserve(text.len() + params_len(q));
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let n: usize = after[..digits].parse().map_err(|_| inline_error("a `$` that names no parameter"))?;
        let (param, ty) = n
            .checked_sub(1)
            .and_then(|i| q.params.get(i))
            .ok_or_else(|| inline_error("a parameter missing"))?;
        literal(out, param, ty)?;
        rest = &after[digits..];
    }
    out.push_str(rest);
    Ok(())
}

/// Append `PREPARE <name>(<types>) AS <q's text>`: `q`'s statement, prepared under `name` on
/// the connection that runs the script. A prepared statement is parsed and planned once, where
/// [`inline`]'s text is parsed and planned on every run. It is the connection's until it closes:
/// `ROLLBACK` does not take it back.
pub(crate) fn prepare_as(out: &mut String, name: &str, q: &Query<'_>) -> Result<(), StoreError> {
    out.push_str("PREPARE ");
    out.push_str(name);
    parenthesised(out, q, |out, _, ty| {
        out.push_str(cast(ty)?.0.trim_start_matches(':'));
        Ok(())
    })?;
    out.push_str(" AS ");
    out.push_str(&q.text);
    Ok(())
}

/// Append `EXECUTE <name>(<q's parameters as literals>)`: `q` run by the statement that
/// [`prepare_as`] prepared under `name` from the same text; its values are written as [`inline`]
/// writes them.
pub(crate) fn execute(out: &mut String, name: &str, q: &Query<'_>) -> Result<(), StoreError> {
    out.reserve(name.len() + 10 + params_len(q));
    out.push_str("EXECUTE ");
    out.push_str(name);
    parenthesised(out, q, literal)
}

/// Append `(<each of q's parameters>, …)`, or nothing for a query without any (SQL has no empty
/// parameter list).
fn parenthesised(
    out: &mut String,
    q: &Query<'_>,
    mut each: impl FnMut(&mut String, &Param<'_>, &Type) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if q.params.is_empty() {
        return Ok(());
    }
    for (i, (param, ty)) in q.params.iter().enumerate() {
        out.push_str(if i == 0 { "(" } else { ", " });
        each(out, param, ty)?;
    }
    out.push(')');
    Ok(())
}

fn inline_error(what: &str) -> StoreError {
    StoreError::Backend(format!("cannot write a statement out as text: {what}"))
}

/// Roughly how long `q`'s parameters are as literals (with their separators), to size the text
/// once.
fn params_len(q: &Query<'_>) -> usize {
    q.params.iter().map(|(p, _)| param_len(p) + 2).sum()
}

/// Roughly how long a parameter's literal is.
fn param_len(p: &Param<'_>) -> usize {
    match p {
        Param::Null | Param::Int(_) => 24,
        Param::Text(s) => s.len() + 12,
        Param::Texts(v) => v.iter().map(|s| s.len() + 4).sum::<usize>() + 16,
        Param::Ints(v) => v.len() * 21 + 16,
        Param::Column(v) => v.len() * 24 + 16,
    }
}

/// Append one value, for a column of integers (`int`) or of text, as [`Param`]'s `ToSql` sends
/// it: an integer in a text column as its decimal text; an integer quoted, so that the cast reads
/// `i64::MIN` whole; text as an escape string literal, `E'…'`, with `\` and `'` doubled.
fn item(out: &mut String, item: &Param<'_>, int: bool) -> Result<(), StoreError> {
    match *item {
        Param::Null => out.push_str("NULL"),
        Param::Int(i) => {
            let _ = if int { write!(out, "'{i}'") } else { write!(out, "E'{i}'") };
        }
        Param::Text(_) if int => return Err(inline_error("a text value for an integer column")),
        Param::Text(s) => {
            out.push_str("E'");
            let mut rest = s;
            // Both are ASCII, so each is a whole character and the slices stay on character
            // boundaries.
            while let Some(at) = memchr::memchr2(b'\\', b'\'', rest.as_bytes()) {
                out.push_str(&rest[..at]);
                out.push_str(if rest.as_bytes()[at] == b'\\' { "\\\\" } else { "''" });
                rest = &rest[at + 1..];
            }
            out.push_str(rest);
            out.push('\'');
        }
        Param::Texts(_) | Param::Ints(_) | Param::Column(_) => {
            return Err(inline_error("an array inside an array"));
        }
    }
    Ok(())
}

/// The cast that types a parameter's literal, and whether its values are integers.
fn cast(ty: &Type) -> Result<(&'static str, bool), StoreError> {
    Ok(match *ty {
        Type::INT8 => ("::int8", true),
        Type::TEXT => ("::text", false),
        Type::INT8_ARRAY => ("::int8[]", true),
        Type::TEXT_ARRAY => ("::text[]", false),
        _ => return Err(inline_error("a parameter of another type")),
    })
}

fn literal(out: &mut String, p: &Param<'_>, ty: &Type) -> Result<(), StoreError> {
    let (cast, int) = cast(ty)?;
    match p {
        Param::Null | Param::Int(_) | Param::Text(_) => item(out, p, int)?,
        Param::Texts(v) => array(out, v.iter().map(|s| Param::Text(s)), int)?,
        Param::Ints(v) => array(out, v.iter().map(|i| Param::Int(*i)), int)?,
        Param::Column(v) => array(out, v.iter().map(|v| Param::from(*v)), int)?,
    }
    out.push_str(cast);
    Ok(())
}

/// Append `ARRAY[…]` of `items`.
fn array<'a>(out: &mut String, items: impl Iterator<Item = Param<'a>>, int: bool) -> Result<(), StoreError> {
    out.push_str("ARRAY[");
    for (i, each) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, &each, int)?;
    }
    out.push(']');
    Ok(())
}

/// [`insert_batch`] without `ON CONFLICT`: a conflict is an error, which aborts the transaction
/// (several [`insert_strict`]s in one statement).
pub(crate) fn insert_batch_strict<'a>(
    kind: Kind,
    records: &[&'a RawRecord],
) -> Result<Query<'a>, StoreError> {
    let mut q = insert_batch(kind, records)?;
    q.text = Cow::Borrowed(&kind_sql(kind).insert_batch_strict);
    Ok(q)
}

/// The unique constraint of `kind` besides its key, if it has one: a promotion code's active code.
/// When an insert (`ON CONFLICT DO NOTHING`) writes nothing, it was this one if no row has the
/// record's key ([`seq_of`]), and the key otherwise.
pub(crate) fn other_unique(kind: Kind) -> Option<Constraint> {
    (kind == Kind::PromotionCode).then_some(Constraint::ActivePromotionCode)
}

/// Whether `record` can be sent as an insert: its column count matches its table, and PostgreSQL
/// can store its text.
pub(crate) fn check_insertable(record: &RawRecord) -> Result<(), StoreError> {
    check_columns(record)?;
    check_storable(record)
}

/// Replace the document and columns (never `created`) of `record`.
pub(crate) fn update(record: &RawRecord) -> Result<Query<'_>, StoreError> {
    let mut q = update_checked(record)?;
    q.text = Cow::Borrowed(&kind_sql(record.kind).update);
    Ok(q)
}

/// [`update`], failing if it changes no row: for a write sent later, whose miss must abort the
/// transaction rather than be counted.
pub(crate) fn update_checked(record: &RawRecord) -> Result<Query<'_>, StoreError> {
    check_columns(record)?;
    check_storable(record)?;
    let mut params = Vec::with_capacity(3 + record.columns.len());
    params.push(text(&record.data));
    params.extend(column_params(record));
    params.extend([text(&record.account), text(&record.id)]);
    Ok(Query::fixed(&kind_sql(record.kind).update_checked, params))
}

/// [`insert`] without `ON CONFLICT`: a conflict is an error, which aborts the transaction.
pub(crate) fn insert_strict(record: &RawRecord) -> Result<Query<'_>, StoreError> {
    let mut q = insert(record)?;
    q.text = Cow::Borrowed(&kind_sql(record.kind).insert_strict);
    Ok(q)
}

pub(crate) fn delete<'a>(kind: Kind, account: &'a str, id: &'a str) -> Query<'a> {
    Query::fixed(&kind_sql(kind).delete, vec![key_param(account), key_param(id)])
}

impl<'a> filter::Sink<'a> for Query<'a> {
    const TRUE: &'static str = "TRUE";
    const FALSE: &'static str = "FALSE";

    fn push(&mut self, sql: &str) {
        Query::push(self, sql);
    }

    fn bind(&mut self, column: Column, value: Bound<'a>) {
        let param = match value {
            Bound::Value(Value::Text(s)) => key(s),
            Bound::Value(v) => v.into(),
            Bound::Int(n) => Param::Int(n),
        };
        Query::bind(self, param, column_type(column));
    }
}

/// Append ` AND <filter>` for each filter.
fn push_filters<'a>(kind: Kind, filters: &'a [Filter], q: &mut Query<'a>) -> Result<(), StoreError> {
    filter::push_filters(kind, filters, q)
}

/// How [`matching`] treats the rows it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// A plain read: no locks taken, none waited for.
    None,
    /// Lock the rows; skip the ones another transaction holds.
    SkipLocked,
}

/// Up to `limit` records matching every filter, oldest first ([`kassa_core::store::Tx::find`]
/// and [`kassa_core::store::Tx::select`]).
pub(crate) fn matching<'a>(
    scope: Scope<'a>,
    kind: Kind,
    filters: &'a [Filter],
    limit: u32,
    lock: Lock,
) -> Result<Query<'a>, StoreError> {
    let mut q = Query::text(format!("{} WHERE ", kind_sql(kind).select));
    match scope {
        Scope::Account(account) => {
            q.push("account_id = ");
            q.bind(key(account), Type::TEXT);
        }
        Scope::AccountOf(owner, id) => {
            q.push(&format!("account_id = (SELECT account_id FROM {} WHERE id = ", owner.table()));
            q.bind(key(id), Type::TEXT);
            q.push(" LIMIT 1)");
        }
        Scope::All => q.push("TRUE"),
    }
    filter::push_listed(kind, &mut q);
    push_filters(kind, filters, &mut q)?;
    q.push(" ORDER BY seq ASC LIMIT ");
    q.bind(Param::Int(i64::from(limit)), Type::INT8);
    if lock == Lock::SkipLocked {
        q.push(" FOR UPDATE SKIP LOCKED");
    }
    Ok(q)
}

/// Delete every record of `kind`, in all accounts, matching the filters.
pub(crate) fn delete_where(kind: Kind, filters: &[Filter]) -> Result<Query<'_>, StoreError> {
    let mut q = Query::text(format!("DELETE FROM {} WHERE TRUE", kind.table()));
    push_filters(kind, filters, &mut q)?;
    Ok(q)
}

/// One page of a list, in one statement: the cursor's `seq` is a subquery, so a cursor that names
/// no record yields an empty page (the caller then tells the two apart). Fetches one record more
/// than the limit, to learn whether more lie beyond; backwards pages come oldest first.
pub(crate) fn list_page<'a>(
    kind: Kind,
    account: &'a str,
    query: &'a ListQuery,
) -> Result<Query<'a>, StoreError> {
    let mut q = Query::text(format!("{} WHERE account_id = ", kind_sql(kind).select));
    q.bind(key(account), Type::TEXT);
    let (bound, cursor) = match &query.cursor {
        Cursor::First => (None, None),
        Cursor::After(id) => (Some("<"), Some(id)),
        Cursor::Before(id) => (Some(">"), Some(id)),
    };
    if let (Some(op), Some(id)) = (bound, cursor) {
        q.push(&format!(" AND seq {op} (SELECT seq FROM {} WHERE account_id = $1 AND id = ", kind.table()));
        q.bind(key(id), Type::TEXT);
        q.push(")");
    }
    filter::push_listed(kind, &mut q);
    push_filters(kind, &query.filters, &mut q)?;
    let backwards = matches!(query.cursor, Cursor::Before(_));
    q.push(if backwards { " ORDER BY seq ASC LIMIT " } else { " ORDER BY seq DESC LIMIT " });
    q.bind(Param::Int(i64::from(query.limit) + 1), Type::INT8);
    Ok(q)
}

/// A row of [`KindSql`]'s `select` as a record. A value of the wrong type is `Corrupt`.
pub(crate) fn decode(kind: Kind, row: &Row) -> Result<RawRecord, StoreError> {
    let corrupt = |e: tokio_postgres::Error| StoreError::Corrupt(format!("a {} row: {e}", kind.table()));
    let mut columns = Vec::with_capacity(kind.columns().len());
    for (i, c) in kind.columns().iter().enumerate() {
        let idx = READ_BASE.len() + i;
        let value = if column_type(*c) == Type::INT8 {
            Value::from(row.try_get::<_, Option<i64>>(idx).map_err(corrupt)?)
        } else {
            Value::from(row.try_get::<_, Option<String>>(idx).map_err(corrupt)?)
        };
        columns.push(value);
    }
    Ok(RawRecord {
        kind,
        account: row.try_get(0).map_err(corrupt)?,
        id: row.try_get(1).map_err(corrupt)?,
        created: row.try_get(2).map_err(corrupt)?,
        data: row.try_get(3).map_err(corrupt)?,
        columns,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use kassa_core::store::Cmp;

    fn shown(p: &Param<'_>) -> String {
        match p {
            Param::Null => "NULL".to_owned(),
            Param::Int(i) => i.to_string(),
            Param::Text(s) => format!("{s:?}"),
            Param::Texts(v) => format!("{v:?}"),
            Param::Ints(v) => format!("{v:?}"),
            Param::Column(v) => format!("{v:?}"),
        }
    }

    /// A statement written out with its values: each parameter once, typed, text escaped.
    #[test]
    fn statements_write_out_their_values() {
        let mut r = RawRecord {
            kind: Kind::CheckoutSession,
            account: "acct_'1".to_owned(),
            id: "cs_\\1".to_owned(),
            created: i64::MIN,
            data: "{}".to_owned(),
            columns: vec!["open".into(), Value::Int(-7), Value::Null, Value::Null, Value::Int(i64::MAX)],
        };
        let mut single = String::new();
        inline(&mut single, &update_checked(&r).unwrap()).unwrap();
        assert_eq!(
            single,
            "WITH changed AS (UPDATE checkout_sessions SET data = E'{}'::text, status = E'open'::text, \
             customer = E'-7'::text, payment_intent = NULL::text, subscription = NULL::text, \
             expires_at = '9223372036854775807'::int8 WHERE account_id = E'acct_''1'::text AND id = \
             E'cs_\\\\1'::text RETURNING 1) SELECT 1 / COUNT(*)::int FROM changed"
        );
        let other = RawRecord { id: "cs_2".to_owned(), ..r.clone() };
        r.columns[1] = Value::Text("it's".to_owned());
        let mut batch = String::new();
        inline(&mut batch, &insert_batch_strict(Kind::CheckoutSession, &[&r, &other]).unwrap()).unwrap();
        assert!(
            batch.ends_with(
                "unnest(ARRAY[E'acct_''1',E'acct_''1']::text[], ARRAY[E'cs_\\\\1',E'cs_2']::text[], \
                 ARRAY['-9223372036854775808','-9223372036854775808']::int8[], ARRAY[E'{}',E'{}']::text[], \
                 ARRAY[E'open',E'open']::text[], ARRAY[E'it''s',E'-7']::text[], ARRAY[NULL,NULL]::text[], \
                 ARRAY[NULL,NULL]::text[], ARRAY['9223372036854775807','9223372036854775807']::int8[])"
            ),
            "{batch}"
        );
        // The same update, prepared once and executed by name, with the same literals.
        let update = update_checked(&r).unwrap();
        let mut prepared = String::new();
        prepare_as(&mut prepared, "kassa_w7", &update).unwrap();
        assert_eq!(
            prepared,
            format!("PREPARE kassa_w7(text, text, text, text, text, int8, text, text) AS {}", update.text)
        );
        let mut executed = String::new();
        execute(&mut executed, "kassa_w7", &update).unwrap();
        assert_eq!(
            executed,
            "EXECUTE kassa_w7(E'{}'::text, E'open'::text, E'it''s'::text, NULL::text, NULL::text, \
             '9223372036854775807'::int8, E'acct_''1'::text, E'cs_\\\\1'::text)"
        );
        let none = Query::fixed("SELECT 1", Vec::new());
        let (mut p, mut e) = (String::new(), String::new());
        prepare_as(&mut p, "kassa_w8", &none).unwrap();
        execute(&mut e, "kassa_w8", &none).unwrap();
        assert_eq!((p.as_str(), e.as_str()), ("PREPARE kassa_w8 AS SELECT 1", "EXECUTE kassa_w8"));
        let mut bad = other;
        bad.columns[4] = Value::Text("soon".to_owned());
        assert!(
            inline(&mut String::new(), &update_checked(&bad).unwrap()).is_err(),
            "a text value for an integer column"
        );
    }

    fn where_of(kind: Kind, filters: &[Filter]) -> (String, Vec<String>) {
        let mut q = Query::text(String::new());
        push_filters(kind, filters, &mut q).unwrap();
        (q.text.into_owned(), q.params.iter().map(|(p, t)| format!("{}:{t}", shown(p))).collect())
    }

    #[test]
    fn parameters_do_not_show_text_in_debug_output() {
        let shown = format!("{:?}", [Param::Text("ada@example.com"), Param::Int(7), Param::Null]);
        assert_eq!(shown, "[<text, 15 bytes>, 7, NULL]");
    }

    #[test]
    fn filters_become_numbered_typed_parameters() {
        let (sql, params) = where_of(
            Kind::Price,
            &[
                Filter::Eq(Column::Active, Value::Int(1)),
                Filter::Cmp(Column::Created, Cmp::Gte, 10),
                Filter::Any(vec![
                    vec![
                        Filter::Eq(Column::Currency, "usd".into()),
                        Filter::Eq(Column::Type, "recurring".into()),
                    ],
                    vec![Filter::Eq(Column::Product, Value::Null)],
                ]),
            ],
        );
        assert_eq!(
            sql,
            " AND active = $1 AND created >= $2 AND ((currency = $3 AND type = $4) OR (product IS NULL))"
        );
        assert_eq!(params, ["1:int8", "10:int8", "\"usd\":text", "\"recurring\":text"]);
    }

    #[test]
    fn empty_any_is_false_and_empty_group_true() {
        assert_eq!(where_of(Kind::Product, &[Filter::Any(vec![])]).0, " AND FALSE");
        assert_eq!(where_of(Kind::Product, &[Filter::Any(vec![vec![]])]).0, " AND ((TRUE))");
    }

    #[test]
    fn unknown_columns_are_refused() {
        let mut q = Query::text(String::new());
        let filters = [Filter::Eq(Column::Email, "x".into())];
        let err = push_filters(Kind::Product, &filters, &mut q);
        assert!(matches!(err, Err(StoreError::Backend(m)) if m.contains("products has no column `email`")));
    }

    #[test]
    fn statements_name_every_column_in_order() {
        let s = kind_sql(Kind::Price);
        assert_eq!(
            s.insert,
            "INSERT INTO prices (account_id, id, created, data, active, product, currency, type, inline) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            s.update,
            "UPDATE prices SET data = $1, active = $2, product = $3, currency = $4, type = $5, inline = $6 \
             WHERE account_id = $7 AND id = $8"
        );
        assert_eq!(
            s.get_for_update,
            "SELECT account_id, id, created, data, active, product, currency, type, inline FROM prices \
             WHERE account_id = $1 AND id = $2 FOR UPDATE"
        );
        for &kind in Kind::ALL {
            let s = kind_sql(kind);
            assert!(s.select.ends_with(&format!(" FROM {}", kind.table())), "{kind:?}: {}", s.select);
            assert!(s.insert.starts_with(&format!("INSERT INTO {} (", kind.table())), "{kind:?}");
        }
    }

    #[test]
    fn parameters_match_their_placeholders() {
        let record = RawRecord {
            kind: Kind::CheckoutSession,
            account: "acct_1".into(),
            id: "cs_1".into(),
            created: 7,
            data: "{}".into(),
            columns: vec!["open".into(), Value::Null, Value::Null, Value::Null, Value::Int(9)],
        };
        for q in [insert(&record).unwrap(), update(&record).unwrap()] {
            let placeholders = q.text.matches('$').count();
            assert_eq!(placeholders, q.params.len(), "{}", q.text);
        }
        let q = update(&record).unwrap();
        assert_eq!(q.types().last(), Some(&Type::TEXT));
        assert_eq!(q.types()[5], Type::INT8, "expires_at");
        let mut bad = record;
        bad.columns.pop();
        assert!(matches!(insert(&bad), Err(StoreError::Backend(m)) if m.contains("4 column values")));
    }

    #[test]
    fn list_pages_bound_the_cursor_by_subquery() {
        let query = ListQuery {
            filters: vec![Filter::Eq(Column::Active, Value::Int(0))],
            limit: 10,
            cursor: Cursor::Before("prod_5".into()),
        };
        let q = list_page(Kind::Product, "acct_1", &query).unwrap();
        assert_eq!(
            q.text,
            "SELECT account_id, id, created, data, active FROM products WHERE account_id = $1 \
             AND seq > (SELECT seq FROM products WHERE account_id = $1 AND id = $2) AND active = $3 \
             ORDER BY seq ASC LIMIT $4"
        );
        assert_eq!(q.params.last().map(|(p, _)| shown(p)), Some("11".to_owned()));
        let q = matching(Scope::All, Kind::Product, &[], 5, Lock::SkipLocked).unwrap();
        assert!(
            q.text.ends_with("WHERE TRUE ORDER BY seq ASC LIMIT $1 FOR UPDATE SKIP LOCKED"),
            "{}",
            q.text
        );
    }
}
