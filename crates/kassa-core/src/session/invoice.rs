//! `invoice_creation`: a paid invoice for a payment-mode session's one-time payment.
//!
//! Payment mode only (Stripe refuses it elsewhere: a subscription has its own invoices).
//! `enabled` is required; `invoice_data` carries `description` (at most 1500 characters),
//! `footer` (at most 5000), `metadata` and up to 4 `custom_fields` (`name` at most 40, `value` at
//! most 140 characters). Completion then creates the invoice, paid by the payment intent, and the
//! session names it in `invoice`; a guest checkout (`customer_creation=if_required`) still gets a
//! customer, which an invoice needs.

use serde::{Deserialize, Serialize};

use super::Mode;
use crate::catalog;
use crate::error::Invalid;
use crate::metadata::{self, Metadata};
use crate::params::InvoiceCreationParam;

/// The most custom fields an invoice takes.
pub const MAX_INVOICE_CUSTOM_FIELDS: usize = 4;

/// What the session's invoice will carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceCreation {
    pub enabled: bool,
    pub description: Option<String>,
    pub footer: Option<String>,
    pub metadata: Metadata,
    /// `(name, value)` pairs.
    pub custom_fields: Vec<(String, String)>,
}

pub(super) fn invoice_creation(
    given: Option<InvoiceCreationParam>,
    mode: Mode,
) -> Result<Option<InvoiceCreation>, Invalid> {
    let Some(ic) = given else { return Ok(None) };
    if mode != Mode::Payment {
        return Err(Invalid::param(
            "invoice_creation",
            "`invoice_creation` can only be used in `payment` mode.",
        ));
    }
    let enabled = ic.enabled.ok_or_else(|| Invalid::missing("invoice_creation[enabled]"))?.0;
    let data = ic.invoice_data.unwrap_or_default();
    let param = |f: &str| format!("invoice_creation[invoice_data][{f}]");
    let fields = data.custom_fields.unwrap_or_default();
    if fields.len() > MAX_INVOICE_CUSTOM_FIELDS {
        return Err(Invalid::param(
            param("custom_fields"),
            format!("An invoice takes at most {MAX_INVOICE_CUSTOM_FIELDS} custom fields."),
        ));
    }
    let mut custom_fields = Vec::with_capacity(fields.len());
    for (i, f) in fields.into_iter().enumerate() {
        let at = |g: &str| format!("invoice_creation[invoice_data][custom_fields][{i}][{g}]");
        let name = catalog::required_text(&at("name"), f.name, 40)?;
        let value = catalog::required_text(&at("value"), f.value, 140)?;
        custom_fields.push((name, value));
    }
    Ok(Some(InvoiceCreation {
        enabled,
        description: catalog::text(&param("description"), data.description, 1500)?.filter(|d| !d.is_empty()),
        footer: catalog::text(&param("footer"), data.footer, 5000)?.filter(|d| !d.is_empty()),
        metadata: metadata::create(data.metadata, &param("metadata"))?,
        custom_fields,
    }))
}
