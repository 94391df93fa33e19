//! Store filters ([`kassa_core::store::Filter`]) as SQL conditions: one walk of the filter tree for
//! every backend. A backend supplies a [`Sink`] that appends text and binds values in its own
//! placeholder style (`?` for SQLite, `$n` with a type for PostgreSQL) and spells true and false.

use kassa_core::store::{Column, Filter, Kind, StoreError, Value};

/// Where a condition is written.
pub(crate) trait Sink<'a> {
    /// SQL for a group that always holds, and for one that never does.
    const TRUE: &'static str;
    const FALSE: &'static str;
    fn push(&mut self, sql: &str);
    /// Append a placeholder for `value`, compared with `column`.
    fn bind(&mut self, column: Column, value: Bound<'a>);
    /// What goes before a column compared by range (`<`, `>=`, …). SQLite's `+` keeps such a
    /// comparison from choosing the index of a page (see the SQLite sink).
    fn range_prefix(&self) -> &'static str {
        ""
    }
}

/// A value a condition binds.
pub(crate) enum Bound<'a> {
    Value(&'a Value),
    Int(i64),
}

/// The SQL name of `column` on `kind`'s table, if it has one.
pub(crate) fn column(kind: Kind, column: Column) -> Result<&'static str, StoreError> {
    if column == Column::Created || kind.columns().contains(&column) {
        Ok(column.name())
    } else {
        Err(StoreError::Backend(format!("{} has no column `{}` to filter on", kind.table(), column.name())))
    }
}

/// Append ` AND <filter>` for each filter.
pub(crate) fn push_filters<'a, S: Sink<'a>>(
    kind: Kind,
    filters: &'a [Filter],
    out: &mut S,
) -> Result<(), StoreError> {
    for f in filters {
        out.push(" AND ");
        push_filter(kind, f, out)?;
    }
    Ok(())
}

/// Append ` AND <condition>` when `kind` carries one on every read by filter ([`Kind::listed`]:
/// inline prices are never listed). Lists and finds call this; deletes do not, since what cannot
/// be listed must still be removable. The condition is literal SQL, spelled as the partial
/// indexes' `WHERE`, so the database can prove the query stays within them.
pub(crate) fn push_listed<'a, S: Sink<'a>>(kind: Kind, out: &mut S) {
    if let Some(condition) = kind.listed() {
        out.push(" AND ");
        out.push(condition);
    }
}

/// Append `filter` as one SQL condition, binding its values in order.
fn push_filter<'a, S: Sink<'a>>(kind: Kind, filter: &'a Filter, out: &mut S) -> Result<(), StoreError> {
    match filter {
        Filter::Eq(c, Value::Null) => {
            out.push(column(kind, *c)?);
            out.push(" IS NULL");
        }
        Filter::Eq(c, v) => {
            out.push(column(kind, *c)?);
            out.push(" = ");
            out.bind(*c, Bound::Value(v));
        }
        Filter::Cmp(c, cmp, v) => {
            let prefix = out.range_prefix();
            out.push(prefix);
            out.push(column(kind, *c)?);
            out.push(&format!(" {} ", cmp.sql()));
            out.bind(*c, Bound::Int(*v));
        }
        Filter::Any(groups) if groups.is_empty() => out.push(S::FALSE),
        Filter::Any(groups) => {
            out.push("(");
            for (i, group) in groups.iter().enumerate() {
                if i > 0 {
                    out.push(" OR ");
                }
                out.push("(");
                if group.is_empty() {
                    out.push(S::TRUE);
                }
                for (j, f) in group.iter().enumerate() {
                    if j > 0 {
                        out.push(" AND ");
                    }
                    push_filter(kind, f, out)?;
                }
                out.push(")");
            }
            out.push(")");
        }
    }
    Ok(())
}
