//! Charges and refunds (issue 17), and invoice numbers.
//!
//! [`record`] is called by every use case that records a payment attempt which reached the test
//! network (the checkout page, a funded cash balance, a renewal or an invoice paid), inside its
//! transaction and before it writes the payment intent: the charge is written, the intent names it
//! as `latest_charge`, and `charge.succeeded` / `charge.failed` go out with the rest.
//!
//! A refund ([`create_refund`]) is one transaction that reads the charge — on PostgreSQL `FOR
//! UPDATE`, so concurrent refunds of one charge wait for each other; on SQLite every transaction
//! runs on the one writer — checks what is left with [`Charge::refund`] and writes the charge,
//! the refund and (for a cash-balance payment) the customer's balance together. A refund of more
//! than is left is refused before anything is written, however many arrive at once.

use kassa_core::Invalid;
use kassa_core::billing::{Invoice, InvoiceStatus, PaymentError, PaymentIntent, PaymentMethod};
use kassa_core::catalog::Customer;
use kassa_core::charge::{Charge, REASONS, Refund};
use kassa_core::params::{ChargeList, RefundCreate, RefundList, RefundUpdate};
use kassa_core::store::{Abort, Column, Filter, StoreError, Tx, TxExt, Value};
use kassa_core::webhook::EventType;

use super::events::Outbox;
use super::{Acct, Result, get, list};
use crate::state::Ctx;
use crate::views;

/// Write the charge of an attempt on `pi` (a success, or the failure `failure`) and point the
/// intent's `latest_charge` at it. Call before `pi` is written; [`announce`] it where Stripe sends
/// `charge.*` (after `payment_intent.created`, before the intent's outcome).
pub fn record(
    tx: &mut dyn Tx,
    account: &str,
    pi: &mut PaymentIntent,
    failure: Option<PaymentError>,
    now: kassa_core::time::Timestamp,
) -> Result<Charge, StoreError> {
    let method_id = pi.payment_method.clone().or_else(|| failure.as_ref()?.payment_method.clone());
    let mut method = match &method_id {
        Some(id) => tx.load::<PaymentMethod>(account, id)?.map(|pm| pm.kind),
        None => None,
    };
    if method.is_none() && pi.payment_method_types.iter().all(|t| t == "customer_balance") {
        method = Some(kassa_core::billing::PaymentMethodKind::CustomerBalance);
    }
    let charge = Charge::for_attempt(pi, method, failure, now);
    tx.put_fresh(account, &charge)?;
    pi.latest_charge = Some(charge.id.clone());
    Ok(charge)
}

/// `charge.succeeded` or `charge.failed`.
pub fn announce(tx: &mut dyn Tx, out: &mut Outbox, account: &str, charge: &Charge) -> Result<(), StoreError> {
    let kind = match charge.status {
        kassa_core::charge::ChargeStatus::Failed => EventType::ChargeFailed,
        _ => EventType::ChargeSucceeded,
    };
    out.emit(tx, account, kind, views::ChargeDoc(charge))
}

/// A manual capture of `pi` (already captured): its charge captures the same amount.
pub fn captured(tx: &mut dyn Tx, account: &str, pi: &PaymentIntent) -> Result<(), StoreError> {
    let Some(id) = &pi.latest_charge else { return Ok(()) };
    if let Some(mut charge) = tx.load::<Charge>(account, id)? {
        charge.capture(pi.amount_received());
        tx.put(account, &charge)?;
    }
    Ok(())
}

pub async fn get_charge(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Charge> {
    get(ctx, acct, id).await
}

fn eq(column: Column, value: &Option<String>) -> Option<Filter> {
    value.as_deref().map(|v| Filter::Eq(column, Value::from(v)))
}

pub async fn list_charges(ctx: &Ctx, acct: &Acct, p: &ChargeList) -> Result<(Vec<Charge>, bool)> {
    let filters = [eq(Column::Customer, &p.customer), eq(Column::PaymentIntent, &p.payment_intent)]
        .into_iter()
        .flatten()
        .collect();
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

pub async fn get_refund(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Refund> {
    get(ctx, acct, id).await
}

pub async fn list_refunds(ctx: &Ctx, acct: &Acct, p: &RefundList) -> Result<(Vec<Refund>, bool)> {
    let filters = [eq(Column::Charge, &p.charge), eq(Column::PaymentIntent, &p.payment_intent)]
        .into_iter()
        .flatten()
        .collect();
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

/// `POST /refunds`: give back part or all of a charge (named, or the latest of a payment intent).
pub async fn create_refund(ctx: &Ctx, acct: &Acct, p: RefundCreate) -> Result<Refund> {
    let amount = p.amount.map(|a| a.0);
    if let Some(r) = &p.reason
        && !REASONS.contains(&r.as_str())
    {
        return Err(Invalid::param(
            "reason",
            "`reason` must be one of duplicate, fraudulent or requested_by_customer.",
        )
        .into());
    }
    let metadata = kassa_core::metadata::create(p.metadata, "metadata")?;
    let (charge_id, intent_id) = match (p.charge, p.payment_intent) {
        (Some(_), Some(_)) => return Err(Invalid::exclusive("charge", "payment_intent").into()),
        (None, None) => {
            return Err(Invalid::new(
                kassa_core::error::ErrorCode::ParameterMissing,
                "charge",
                "One of `charge` or `payment_intent` is required.",
            )
            .into());
        }
        (c, i) => (c, i),
    };
    let reason = p.reason;
    let account = acct.id.clone();
    let now = ctx.now();
    let refund = super::events::transact(ctx, now, move |tx, out| {
        let charge_id = match (charge_id, intent_id) {
            (Some(c), _) => c,
            (None, Some(i)) => {
                let pi: PaymentIntent = tx
                    .load(&account, &i)?
                    .ok_or_else(|| Invalid::no_such("payment_intent", &i, "payment_intent"))?;
                pi.latest_charge.ok_or_else(|| {
                    Invalid::param(
                        "payment_intent",
                        format!("This PaymentIntent ({i}) does not have a successful charge to refund."),
                    )
                })?
            }
            (None, None) => return Err(Invalid::missing("charge").into()),
        };
        // Read (and on PostgreSQL locked) in this transaction: concurrent refunds of this charge
        // wait here, and each sees what the others refunded.
        let mut charge: Charge =
            tx.load(&account, &charge_id)?.ok_or_else(|| Invalid::no_such("charge", &charge_id, "charge"))?;
        let refund = charge.refund(amount, reason, metadata, now)?;
        if refund.to_cash_balance
            && let Some(cid) = &charge.customer
            && let Some(mut customer) = tx.load::<Customer>(&account, cid)?
        {
            let balance = customer.cash_balance.entry(charge.currency).or_insert(0);
            *balance = balance
                .checked_add(refund.amount)
                .ok_or_else(|| Abort::refuse(Invalid::param("amount", "The balance would be too large.")))?;
            tx.put(&account, &customer)?;
        }
        tx.put(&account, &charge)?;
        tx.put_new(&account, &refund)
            .map_err(|e| super::conflict(e, kassa_core::store::Kind::Refund, &refund.id))?;
        out.emit(tx, &account, EventType::ChargeRefunded, views::ChargeDoc(&charge))?;
        out.emit(tx, &account, EventType::RefundCreated, views::refund(&refund))?;
        Ok(refund)
    })
    .await?;
    Ok(refund)
}

/// `POST /refunds/{id}`: its metadata (also on the charge's copy).
pub async fn update_refund(ctx: &Ctx, acct: &Acct, id: &str, p: RefundUpdate) -> Result<Refund> {
    super::update(ctx, acct, id, move |r: &mut Refund, tx, _out, account| {
        r.metadata = kassa_core::metadata::update(std::mem::take(&mut r.metadata), p.metadata, "metadata")?;
        if let Some(mut charge) = tx.load::<Charge>(account, &r.charge)? {
            if let Some(copy) = charge.refunds.iter_mut().find(|c| c.id == r.id) {
                copy.metadata = r.metadata.clone();
            }
            tx.put(account, &charge)?;
        }
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Invoice numbers

/// The account's invoice number prefix: eight upper-case letters and digits drawn from its id, as
/// Stripe's account prefixes look.
pub fn invoice_prefix(account: &str) -> String {
    let digest = ring_free_hash(account);
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..8).map(|i| char::from(ALPHABET[usize::try_from((digest >> (i * 5)) & 31).unwrap_or(0)])).collect()
}

/// FNV-1a: a stable spread of the account id (not a secret).
fn ring_free_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Give a final invoice its number (the account's next, from a counter taken in this transaction,
/// so two finalizations never share one, on any number of processes) and its hosted page.
pub fn number_invoice(
    tx: &mut dyn Tx,
    out: &Outbox,
    account: &str,
    inv: &mut Invoice,
) -> Result<(), StoreError> {
    if inv.number.is_some() || inv.status == InvoiceStatus::Draft {
        return Ok(());
    }
    let n = tx.next_in_sequence(account, "invoice_number")?;
    inv.assign_number(&invoice_prefix(account), n, out.view().public_url);
    Ok(())
}

/// `POST /invoices/{id}/finalize`: a draft becomes open, numbered; `invoice.finalized`.
pub async fn finalize_invoice(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Invoice> {
    let now = ctx.now();
    super::update(ctx, acct, id, move |inv: &mut Invoice, tx, out, account| {
        inv.finalize(now)?;
        number_invoice(tx, out, account, inv)?;
        out.emit(tx, account, EventType::InvoiceFinalized, views::invoice(inv))?;
        if inv.status == InvoiceStatus::Paid {
            super::billing::emit_paid(tx, out, account, inv)?;
        }
        Ok(())
    })
    .await
}
