//! Step 5 — the customer (SPEC §5 `customer`, `customer_email`).
//!
//! `customer` and `customer_email` are exclusive; a `customer` must exist in this account; a blank
//! `customer` means none (a customer is created at completion from what the buyer enters). A
//! `customer_email` must look like an e-mail address; a blank one means none.

use super::Resolved;
use crate::catalog::{self, Customer};
use crate::error::Invalid;

/// The session's customer, if any, and its `customer_email`.
pub(super) fn customer<'a>(
    id: Option<&str>,
    email: Option<String>,
    r: &Resolved<'a>,
) -> Result<(Option<&'a Customer>, Option<String>), Invalid> {
    let id = id.filter(|c| !c.is_empty());
    if id.is_some() && email.is_some() {
        return Err(Invalid::exclusive("customer", "customer_email"));
    }
    let customer = match id {
        None => None,
        Some(id) => Some(
            r.customer.filter(|c| c.id == id).ok_or_else(|| Invalid::no_such("customer", id, "customer"))?,
        ),
    };
    let email = catalog::email("customer_email", email)?;
    Ok((customer, email))
}
