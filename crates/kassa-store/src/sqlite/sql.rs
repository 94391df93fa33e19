//! The SQL of records: per-kind statements (built once), filters turned into `WHERE` clauses with
//! bound parameters, row decoding, and [`SqliteTx`], the [`Tx`] the writer hands to a
//! transaction.
//!
//! Only static names ever enter SQL text: table names from [`Kind::table`], column names from
//! [`Column::name`]. Every value is a bound parameter.

use std::fmt::Write as _;
use std::sync::OnceLock;

use kassa_core::store::{
    Column, Cursor, Filter, Kind, ListQuery, Page, RawRecord, Scope, StoreError, Tx, Value,
};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params_from_iter};

use super::error::map;
use crate::filter::{self, Bound};

/// The columns every record table starts with, before [`Kind::columns`].
pub(crate) const BASE_COLUMNS: [&str; 5] = ["seq", "account_id", "id", "created", "data"];

/// A value bound to a statement, borrowed from the record or filter it came from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    Null,
    Int(i64),
    Text(&'a str),
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
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Self::Null => ValueRef::Null,
            Self::Int(i) => ValueRef::Integer(i),
            Self::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

/// The fixed statements of one kind.
#[derive(Debug)]
pub(crate) struct KindSql {
    /// `SELECT <all columns> FROM <table>`, to be followed by a `WHERE`.
    pub select: String,
    pub get: String,
    /// By id alone, across accounts (for kinds whose ids are random).
    pub by_id: String,
    pub seq_of: String,
    pub insert: String,
    pub update: String,
    pub delete: String,
}

impl KindSql {
    fn new(kind: Kind) -> Self {
        let table = kind.table();
        let cols = kind.columns();
        let mut all = BASE_COLUMNS.join(", ");
        for c in cols {
            all.push_str(", ");
            all.push_str(c.name());
        }
        let select = format!("SELECT {all} FROM {table}");
        let get = format!("{select} WHERE account_id = ? AND id = ?");
        // No `ORDER BY`: ids of the kinds this serves are random, so at most one row matches, and an
        // `ORDER BY … LIMIT` makes SQLite re-prepare the statement after other connections write.
        let by_id = format!("{select} WHERE id = ? LIMIT 1");
        let seq_of = format!("SELECT seq FROM {table} WHERE account_id = ? AND id = ?");

        let mut insert_cols = String::from("account_id, id, created, data");
        let mut placeholders = String::from("?, ?, ?, ?");
        let mut sets = String::from("data = ?");
        for c in cols {
            let _ = write!(insert_cols, ", {}", c.name());
            placeholders.push_str(", ?");
            let _ = write!(sets, ", {} = ?", c.name());
        }
        let insert = format!("INSERT INTO {table} ({insert_cols}) VALUES ({placeholders})");
        let update = format!("UPDATE {table} SET {sets} WHERE account_id = ? AND id = ?");
        let delete = format!("DELETE FROM {table} WHERE account_id = ? AND id = ?");
        Self { select, get, by_id, seq_of, insert, update, delete }
    }
}

/// Run one statement of kassa's own transaction control (`BEGIN IMMEDIATE`, `SAVEPOINT job`,
/// `COMMIT`, …) prepared once per connection: `execute_batch`, and rusqlite's `Transaction`,
/// parse it again every time, several times per batch and twice per read.
pub(crate) fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
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

/// Where SQLite conditions are written: `?` placeholders, values bound in order.
struct Sink<'s, 'a> {
    sql: &'s mut String,
    params: &'s mut Vec<Param<'a>>,
    /// Written for a page in `seq` order: a range on another column (an open session's
    /// `expires_at > now`) must not pick an index on that column, which would have SQLite sort
    /// every match of every account before taking the page; with `+column` it walks the
    /// account's index in `seq` order and stops after the page.
    ordered_page: bool,
}

impl<'a> filter::Sink<'a> for Sink<'_, 'a> {
    const TRUE: &'static str = "1";
    const FALSE: &'static str = "0";

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    fn range_prefix(&self) -> &'static str {
        if self.ordered_page { "+" } else { "" }
    }

    fn bind(&mut self, _: Column, value: Bound<'a>) {
        self.sql.push('?');
        self.params.push(match value {
            Bound::Value(v) => v.into(),
            Bound::Int(n) => Param::Int(n),
        });
    }
}

/// Append ` AND <filter>` for each filter.
pub(crate) fn push_filters<'a>(
    kind: Kind,
    filters: &'a [Filter],
    sql: &mut String,
    params: &mut Vec<Param<'a>>,
) -> Result<(), StoreError> {
    filter::push_filters(kind, filters, &mut Sink { sql, params, ordered_page: false })
}

fn decode_value(row: &Row<'_>, i: usize) -> rusqlite::Result<Value> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(n) => Ok(Value::Int(n)),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(|s| Value::Text(s.to_owned()))
            .map_err(|e| rusqlite::Error::Utf8Error(i, e)),
        other => Err(rusqlite::Error::InvalidColumnType(i, format!("column {i}"), other.data_type())),
    }
}

/// A row of [`KindSql::select`] as a record.
pub(crate) fn decode(kind: Kind, row: &Row<'_>) -> rusqlite::Result<RawRecord> {
    let n = kind.columns().len();
    let mut columns = Vec::with_capacity(n);
    for i in 0..n {
        columns.push(decode_value(row, BASE_COLUMNS.len() + i)?);
    }
    Ok(RawRecord {
        kind,
        account: row.get(1)?,
        id: row.get(2)?,
        created: row.get(3)?,
        data: row.get(4)?,
        columns,
    })
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

pub(crate) fn get(
    conn: &Connection,
    account: &str,
    kind: Kind,
    id: &str,
) -> Result<Option<RawRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&kind_sql(kind).get).map_err(map)?;
    stmt.query_row([account, id], |row| decode(kind, row)).optional().map_err(map)
}

pub(crate) fn get_by_id(conn: &Connection, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&kind_sql(kind).by_id).map_err(map)?;
    stmt.query_row([id], |row| decode(kind, row)).optional().map_err(map)
}

/// The list query of [`kassa_core::store::Store::list`]; the caller wraps it in a read
/// transaction so that the cursor and the page come from one snapshot.
pub(crate) fn list(
    conn: &Connection,
    account: &str,
    kind: Kind,
    query: &ListQuery,
) -> Result<Page, StoreError> {
    let sql = kind_sql(kind);
    let cursor_seq = match &query.cursor {
        Cursor::First => None,
        Cursor::After(id) | Cursor::Before(id) => {
            let mut stmt = conn.prepare_cached(&sql.seq_of).map_err(map)?;
            let seq: Option<i64> =
                stmt.query_row([account, id.as_str()], |r| r.get(0)).optional().map_err(map)?;
            Some(seq.ok_or_else(|| StoreError::CursorNotFound(id.clone()))?)
        }
    };
    let backwards = matches!(query.cursor, Cursor::Before(_));
    let (text, params) = list_statement(kind, account, query, cursor_seq)?;

    let mut stmt = conn.prepare_cached(&text).map_err(map)?;
    let mut data = stmt
        .query_map(params_from_iter(params.iter()), |row| decode(kind, row))
        .map_err(map)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map)?;
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let has_more = data.len() > limit;
    data.truncate(limit);
    if backwards {
        // Fetched oldest first (the ones nearest the cursor); pages are newest first.
        data.reverse();
    }
    Ok(Page { data, has_more })
}

/// The statement of one page: the account's records past the cursor (`cursor_seq`, the `seq` of
/// the cursor's record) that pass the filters, nearest the cursor first, one more than `limit` (to
/// learn whether more lie beyond the page). It walks `<table>_account_seq` (or a filter's
/// `(account_id, <column>, seq)` index) from the cursor and stops after `limit + 1` rows, so a
/// page costs the same however many records the account has (see the plan tests below).
pub(crate) fn list_statement<'a>(
    kind: Kind,
    account: &'a str,
    query: &'a ListQuery,
    cursor_seq: Option<i64>,
) -> Result<(String, Vec<Param<'a>>), StoreError> {
    let backwards = matches!(query.cursor, Cursor::Before(_));
    let mut text = format!("{} WHERE account_id = ?", kind_sql(kind).select);
    let mut params = vec![Param::Text(account)];
    if let Some(seq) = cursor_seq {
        text.push_str(if backwards { " AND seq > ?" } else { " AND seq < ?" });
        params.push(Param::Int(seq));
    }
    let mut sink = Sink { sql: &mut text, params: &mut params, ordered_page: true };
    filter::push_listed(kind, &mut sink);
    filter::push_filters(kind, &query.filters, &mut sink)?;
    text.push_str(if backwards { " ORDER BY seq ASC LIMIT ?" } else { " ORDER BY seq DESC LIMIT ?" });
    params.push(Param::Int(i64::from(query.limit) + 1));
    Ok((text, params))
}

/// The statement of [`Tx::find`]: the first `limit` records (oldest first) of the scope that
/// pass the filters.
pub(crate) fn find_statement<'a>(
    scope: Scope<'a>,
    kind: Kind,
    filters: &'a [Filter],
    limit: u32,
) -> Result<(String, Vec<Param<'a>>), StoreError> {
    let mut text = format!("{} WHERE ", kind_sql(kind).select);
    let mut params = Vec::new();
    match scope {
        Scope::Account(account) => {
            text.push_str("account_id = ?");
            params.push(Param::Text(account));
        }
        Scope::AccountOf(owner, id) => {
            text.push_str(&format!(
                "account_id = (SELECT account_id FROM {} WHERE id = ? LIMIT 1)",
                owner.table()
            ));
            params.push(Param::Text(id));
        }
        Scope::All => text.push('1'),
    }
    filter::push_listed(kind, &mut Sink { sql: &mut text, params: &mut params, ordered_page: false });
    push_filters(kind, filters, &mut text, &mut params)?;
    text.push_str(" ORDER BY seq ASC LIMIT ?");
    params.push(Param::Int(i64::from(limit)));
    Ok((text, params))
}

/// The [`Tx`] of one transaction on the writer: a view of the writer's connection while a batch
/// is open, inside the transaction's own savepoint.
pub(crate) struct SqliteTx<'c> {
    pub conn: &'c Connection,
}

impl Tx for SqliteTx<'_> {
    fn next_in_sequence(&mut self, account: &str, name: &str) -> Result<i64, StoreError> {
        // Every write runs on the one writer: nothing else takes a value meanwhile.
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO sequences (account_id, name, value) VALUES (?1, ?2, 1) \
                 ON CONFLICT (account_id, name) DO UPDATE SET value = value + 1 RETURNING value",
            )
            .map_err(map)?;
        stmt.query_row([account, name], |row| row.get::<_, i64>(0)).map_err(map)
    }

    fn get(&mut self, account: &str, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
        get(self.conn, account, kind, id)
    }

    fn get_by_id(&mut self, kind: Kind, id: &str) -> Result<Option<RawRecord>, StoreError> {
        get_by_id(self.conn, kind, id)
    }

    fn insert(&mut self, record: &RawRecord) -> Result<(), StoreError> {
        check_columns(record)?;
        let mut params = Vec::with_capacity(4 + record.columns.len());
        params.extend([
            Param::Text(&record.account),
            Param::Text(&record.id),
            Param::Int(record.created),
            Param::Text(&record.data),
        ]);
        params.extend(record.columns.iter().map(Param::from));
        let mut stmt = self.conn.prepare_cached(&kind_sql(record.kind).insert).map_err(map)?;
        stmt.execute(params_from_iter(params.iter())).map_err(map)?;
        Ok(())
    }

    fn update(&mut self, record: &RawRecord) -> Result<(), StoreError> {
        check_columns(record)?;
        let mut params = Vec::with_capacity(3 + record.columns.len());
        params.push(Param::Text(&record.data));
        params.extend(record.columns.iter().map(Param::from));
        params.extend([Param::Text(&record.account), Param::Text(&record.id)]);
        let mut stmt = self.conn.prepare_cached(&kind_sql(record.kind).update).map_err(map)?;
        match stmt.execute(params_from_iter(params.iter())).map_err(map)? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    fn delete(&mut self, account: &str, kind: Kind, id: &str) -> Result<bool, StoreError> {
        let mut stmt = self.conn.prepare_cached(&kind_sql(kind).delete).map_err(map)?;
        Ok(stmt.execute([account, id]).map_err(map)? > 0)
    }

    fn find(
        &mut self,
        scope: Scope<'_>,
        kind: Kind,
        filters: &[Filter],
        limit: u32,
    ) -> Result<Vec<RawRecord>, StoreError> {
        let (text, params) = find_statement(scope, kind, filters, limit)?;
        let mut stmt = self.conn.prepare_cached(&text).map_err(map)?;
        stmt.query_map(params_from_iter(params.iter()), |row| decode(kind, row))
            .map_err(map)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(map)
    }

    /// SQLite has no row locks (its one writer serializes every transaction), so this is `find`.
    fn select(
        &mut self,
        scope: Scope<'_>,
        kind: Kind,
        filters: &[Filter],
        limit: u32,
    ) -> Result<Vec<RawRecord>, StoreError> {
        self.find(scope, kind, filters, limit)
    }

    fn delete_where(&mut self, kind: Kind, filters: &[Filter]) -> Result<u64, StoreError> {
        let mut text = format!("DELETE FROM {} WHERE 1", kind.table());
        let mut params = Vec::new();
        push_filters(kind, filters, &mut text, &mut params)?;
        let mut stmt = self.conn.prepare_cached(&text).map_err(map)?;
        let n = stmt.execute(params_from_iter(params.iter())).map_err(map)?;
        u64::try_from(n).map_err(|_| StoreError::Backend("row count out of range".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use kassa_core::store::Cmp;

    fn where_of(kind: Kind, filters: &[Filter]) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut params = Vec::new();
        push_filters(kind, filters, &mut sql, &mut params).unwrap();
        (sql, params.iter().map(|p| format!("{p:?}")).collect())
    }

    #[test]
    fn filters_become_bound_conditions() {
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
            " AND active = ? AND created >= ? AND ((currency = ? AND type = ?) OR (product IS NULL))"
        );
        assert_eq!(params, ["Int(1)", "Int(10)", "Text(\"usd\")", "Text(\"recurring\")"]);
    }

    #[test]
    fn empty_any_is_false_and_empty_group_true() {
        assert_eq!(where_of(Kind::Product, &[Filter::Any(vec![])]).0, " AND 0");
        assert_eq!(where_of(Kind::Product, &[Filter::Any(vec![vec![]])]).0, " AND ((1))");
    }

    #[test]
    fn unknown_columns_are_refused() {
        let mut sql = String::new();
        let mut params = Vec::new();
        let err =
            push_filters(Kind::Product, &[Filter::Eq(Column::Email, "x".into())], &mut sql, &mut params);
        assert!(matches!(err, Err(StoreError::Backend(m)) if m.contains("products has no column `email`")));
    }

    #[test]
    fn every_kind_has_its_own_statements() {
        for &kind in Kind::ALL {
            let s = kind_sql(kind);
            assert!(s.select.ends_with(&format!(" FROM {}", kind.table())), "{kind:?}: {}", s.select);
            assert!(s.insert.starts_with(&format!("INSERT INTO {} (", kind.table())), "{kind:?}");
        }
        assert_eq!(
            kind_sql(Kind::Invoice).get,
            "SELECT seq, account_id, id, created, data, customer, subscription, status FROM invoices \
             WHERE account_id = ? AND id = ?"
        );
    }

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    /// SQLite's plan of `text` with `params` bound, its steps joined by "; ".
    fn plan(conn: &Connection, text: &str, params: &[Param<'_>]) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {text}")).unwrap();
        let steps = stmt.query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3)).unwrap();
        steps.collect::<Result<Vec<_>, _>>().unwrap().join("; ")
    }

    /// Every list and find of prices says `inline = 0` as the partial price indexes do, so SQLite
    /// uses them: without it, a price list would scan every inline price a checkout ever made.
    #[test]
    fn price_lists_use_the_partial_indexes() {
        let conn = migrated();
        let kind = Kind::Price;
        let q = |filters: Vec<Filter>| ListQuery { filters, limit: 10, cursor: Cursor::First };
        let cases = [
            (q(vec![]), "prices_account_seq (account_id=?)"),
            (q(vec![Filter::Eq(Column::Active, Value::Int(1))]), "prices_active (account_id=? AND active=?)"),
            (
                q(vec![Filter::Eq(Column::Product, "prod_1".into())]),
                "prices_product (account_id=? AND product=?)",
            ),
            (
                q(vec![Filter::Eq(Column::Currency, "usd".into())]),
                "prices_currency (account_id=? AND currency=?)",
            ),
            (q(vec![Filter::Eq(Column::Type, "recurring".into())]), "prices_type (account_id=? AND type=?)"),
        ];
        for (query, index) in &cases {
            let (text, params) = list_statement(kind, "acct_1", query, None).unwrap();
            assert!(text.contains(" AND inline = 0"), "{text}");
            assert_eq!(plan(&conn, &text, &params), format!("SEARCH prices USING INDEX {index}"), "{text}");
        }
        let filters = [Filter::Eq(Column::Product, "prod_1".into())];
        let (text, params) = find_statement(Scope::Account("acct_1"), kind, &filters, 10).unwrap();
        assert_eq!(
            plan(&conn, &text, &params),
            "SEARCH prices USING INDEX prices_product (account_id=? AND product=?)",
            "{text}"
        );
        // Other kinds carry no such condition.
        let (text, _) = list_statement(Kind::Product, "acct_1", &q(vec![]), None).unwrap();
        assert!(!text.contains("inline"), "{text}");
    }

    /// A page of sessions walks an index in `seq` order from the cursor and stops after `limit + 1`
    /// rows: no scan of the table, no sort of every match ("USE TEMP B-TREE FOR ORDER BY"), so
    /// its cost does not grow with the number of sessions. Lookups by key and by id alone use the
    /// one `UNIQUE (id, account_id)` index.
    #[test]
    fn session_statements_use_an_index_in_order() {
        let conn = migrated();
        let kind = Kind::CheckoutSession;
        let q = |filters: Vec<Filter>, cursor: Cursor| ListQuery { filters, limit: 10, cursor };
        let open = Filter::Eq(Column::Status, "open".into());
        let expired = Filter::Any(vec![
            vec![Filter::Eq(Column::Status, "expired".into())],
            vec![open.clone(), Filter::Cmp(Column::ExpiresAt, Cmp::Lte, 9)],
        ]);
        let cases = [
            (q(vec![], Cursor::First), None, "checkout_sessions_account_seq (account_id=?)"),
            (
                q(vec![], Cursor::After("cs_1".into())),
                Some(5),
                "checkout_sessions_account_seq (account_id=? AND seq<?)",
            ),
            (
                q(vec![], Cursor::Before("cs_1".into())),
                Some(5),
                "checkout_sessions_account_seq (account_id=? AND seq>?)",
            ),
            (
                q(vec![Filter::Cmp(Column::Created, Cmp::Gte, 9)], Cursor::First),
                None,
                "checkout_sessions_account_seq (account_id=?)",
            ),
            (q(vec![expired], Cursor::First), None, "checkout_sessions_account_seq (account_id=?)"),
            // `status=open`: open and not yet expired. Not the expiry index (sorted by time, across
            // accounts), which would sort every open session before taking the page.
            (
                q(vec![open.clone(), Filter::Cmp(Column::ExpiresAt, Cmp::Gt, 9)], Cursor::First),
                None,
                "checkout_sessions_status (account_id=? AND status=?)",
            ),
            (
                q(vec![Filter::Eq(Column::Status, "complete".into())], Cursor::First),
                None,
                "checkout_sessions_status (account_id=? AND status=?)",
            ),
            (
                q(vec![Filter::Eq(Column::Customer, "cus_1".into())], Cursor::First),
                None,
                "checkout_sessions_customer (account_id=? AND customer=?)",
            ),
        ];
        for (query, seq, index) in &cases {
            let (text, params) = list_statement(kind, "acct_1", query, *seq).unwrap();
            let plan = plan(&conn, &text, &params);
            assert_eq!(plan, format!("SEARCH checkout_sessions USING INDEX {index}"), "{text}");
        }

        // The expiry sweep, across accounts.
        let sweep = [open, Filter::Cmp(Column::ExpiresAt, Cmp::Lte, 9)];
        let (text, params) = find_statement(Scope::All, kind, &sweep, 100).unwrap();
        assert!(
            plan(&conn, &text, &params)
                .starts_with("SEARCH checkout_sessions USING INDEX checkout_sessions_expiry")
        );

        let s = kind_sql(kind);
        let key = [Param::Text("acct_1"), Param::Text("cs_1")];
        let unique = "sqlite_autoindex_checkout_sessions_1";
        assert_eq!(
            plan(&conn, &s.get, &key),
            format!("SEARCH checkout_sessions USING INDEX {unique} (id=? AND account_id=?)")
        );
        assert_eq!(
            plan(&conn, &s.seq_of, &key),
            format!("SEARCH checkout_sessions USING COVERING INDEX {unique} (id=? AND account_id=?)")
        );
        assert_eq!(
            plan(&conn, &s.by_id, &key[1..]),
            format!("SEARCH checkout_sessions USING INDEX {unique} (id=?)")
        );
        assert_eq!(
            plan(&conn, &s.delete, &key),
            format!("SEARCH checkout_sessions USING INDEX {unique} (id=? AND account_id=?)")
        );
    }

    #[test]
    fn statements_name_every_column() {
        let s = kind_sql(Kind::Price);
        assert_eq!(
            s.insert,
            "INSERT INTO prices (account_id, id, created, data, active, product, currency, type, inline) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        assert_eq!(
            s.update,
            "UPDATE prices SET data = ?, active = ?, product = ?, currency = ?, type = ?, inline = ? \
             WHERE account_id = ? AND id = ?"
        );
        assert_eq!(
            s.get,
            "SELECT seq, account_id, id, created, data, active, product, currency, type, inline FROM prices \
             WHERE account_id = ? AND id = ?"
        );
    }
}
