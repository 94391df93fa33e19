//! Step 5 — the customer (`customer`, `customer_email`).
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::error::ErrorCode;
    use crate::params::SessionCreate;

    fn for_customer(customer: Option<&str>, email: Option<&str>) -> SessionCreate {
        SessionCreate {
            customer: customer.map(str::to_owned),
            customer_email: email.map(str::to_owned),
            ..buy("price_usd", 1)
        }
    }

    #[test]
    fn customer_must_exist() {
        let fx = Fx::new().with_customer(None);
        let m =
            refused(fx.create(for_customer(Some("cus_nope"), None)), ErrorCode::ResourceMissing, "customer");
        assert_eq!(m, "No such customer: 'cus_nope'");
        // A customer loaded under another id is not this one.
        let m = refused(
            Fx::new().create(for_customer(Some("cus_2"), None)),
            ErrorCode::ResourceMissing,
            "customer",
        );
        assert_eq!(m, "No such customer: 'cus_2'");
    }

    #[test]
    fn customer_is_attached() {
        let s = Fx::new().ok(for_customer(Some("cus_1"), None));
        assert_eq!((s.customer.as_deref(), s.customer_email.as_deref()), (Some("cus_1"), None));
    }

    #[test]
    fn customer_blank_is_created_at_completion() {
        // Nothing is looked up, and the session has no customer until it completes.
        let fx = Fx::new().with_customer(None);
        for blank in [None, Some("")] {
            assert_eq!(fx.ok(for_customer(blank, None)).customer, None);
        }
    }

    #[test]
    fn customer_and_customer_email_are_exclusive() {
        let m = refused(
            Fx::new().create(for_customer(Some("cus_1"), Some("x@example.com"))),
            ErrorCode::ParametersExclusive,
            "customer_email",
        );
        assert_eq!(m, "You may only specify one of these parameters: customer, customer_email.");
        // Checked before the customer is looked up.
        refused(
            Fx::new().create(for_customer(Some("cus_nope"), Some("x@example.com"))),
            ErrorCode::ParametersExclusive,
            "customer_email",
        );
        // A blank customer is no customer.
        let s = Fx::new().ok(for_customer(Some(""), Some("x@example.com")));
        assert_eq!(s.customer_email.as_deref(), Some("x@example.com"));
    }

    #[test]
    fn customer_email_must_be_an_email_address() {
        let m = invalid(Fx::new().create(for_customer(None, Some("not-an-email"))), "customer_email");
        assert_eq!(m, "Invalid email address: not-an-email");
    }

    #[test]
    fn customer_email_blank_is_none() {
        assert_eq!(Fx::new().ok(for_customer(None, Some(""))).customer_email, None);
    }
}
