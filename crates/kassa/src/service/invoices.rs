//! An invoice's hosted page and PDF (issue 17): `hosted_invoice_url` opens it without a key — its
//! URL carries the invoice id and a token of ≥ 128 random bits, the capability — and an open
//! invoice can be paid there by card.
//!
//! Paying is two steps, as on the checkout page: the processor answers for the card, then one
//! transaction records the outcome. A subscription's invoice that the subscription is collecting
//! is recorded as the scheduler records an attempt that succeeded (the same rules, events and
//! charge), so the subscription becomes active again; any other open invoice is marked paid with a
//! payment intent of its own. A decline changes nothing but writes the failed charge.

use kassa_core::billing::{
    BillingDetails, Invoice, InvoiceStatus, PaymentError, PaymentIntent, PaymentIntentStatus, PaymentMethod,
    PaymentMethodKind, Subscription,
};
use kassa_core::catalog::Customer;
use kassa_core::payment::{CardAttempt, ValidCard};
use kassa_core::store::{Abort, Kind, Record, StoreError, TxExt};
use kassa_core::webhook::EventType;

use super::Result;
use crate::state::Ctx;
use crate::views;

/// What the invoice page shows.
pub struct InvoicePage {
    pub invoice: Invoice,
    pub merchant: String,
    pub customer: Option<Customer>,
}

/// The invoice that `id` and `token` open, with its account; `None` for any mismatch (the page
/// answers 404 alike, telling nothing about which part was wrong).
async fn open(ctx: &Ctx, id: &str, token: &str) -> Result<Option<(Invoice, String)>> {
    if !id.starts_with("in_") || id.len() > 64 {
        return Ok(None);
    }
    let Some(raw) = ctx.store.get_by_id(Kind::Invoice, id).await? else { return Ok(None) };
    let invoice = Invoice::from_raw(&raw)?;
    let Some(expected) = &invoice.hosted_token else { return Ok(None) };
    if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), token.as_bytes())) {
        return Ok(None);
    }
    Ok(Some((invoice, raw.account)))
}

pub async fn page(ctx: &Ctx, id: &str, token: &str) -> Result<Option<InvoicePage>> {
    let Some((invoice, account)) = open(ctx, id, token).await? else { return Ok(None) };
    let merchant = ctx.account_name(&account).await?;
    let customer =
        kassa_core::store::StoreExt::load::<Customer>(ctx.store.as_ref(), &account, &invoice.customer)
            .await?;
    Ok(Some(InvoicePage { invoice, merchant, customer }))
}

/// What paying on the page came to.
pub enum PagePayment {
    /// No such page.
    NotFound,
    Paid,
    /// Refused, with the message the page shows; nothing was paid.
    Refused(String),
}

/// `POST /i/{id}/{token}/pay`: pay the open invoice with `card`.
pub async fn pay(
    ctx: &Ctx,
    id: &str,
    token: &str,
    card: std::result::Result<ValidCard, String>,
) -> Result<PagePayment> {
    let Some((invoice, account)) = open(ctx, id, token).await? else { return Ok(PagePayment::NotFound) };
    if invoice.status != InvoiceStatus::Open {
        return Ok(PagePayment::Refused(format!(
            "This invoice is {}: nothing is due.",
            invoice.status.as_str()
        )));
    }
    let card = match card {
        Ok(c) => c,
        Err(message) => return Ok(PagePayment::Refused(message)),
    };
    let details = card.details(&ctx.fingerprint_key, &account);
    let saved = serde_json::to_value(ctx.processor.saved_behaviour(&card)).unwrap_or(serde_json::Value::Null);
    let outcome = match ctx.processor.pay_card(&card, invoice.amount_remaining, invoice.currency).await {
        CardAttempt::Succeeded => Ok(()),
        CardAttempt::Declined(d) => Err(PaymentError {
            code: d.code,
            decline_code: d.decline_code,
            message: d.message,
            payment_method: None,
        }),
        CardAttempt::RequiresAction(_) => {
            return Ok(PagePayment::Refused(
                "This card asks for authentication, which the invoice page does not offer: use another card."
                    .to_owned(),
            ));
        }
    };
    let now = ctx.now();
    let dunning = ctx.dunning;
    let inv_id = invoice.id.clone();
    let paid = super::events::transact(ctx, now, move |tx, out| {
        let mut invoice: Invoice = tx.load(&account, &inv_id)?.ok_or(Abort::Store(StoreError::NotFound))?;
        if invoice.status != InvoiceStatus::Open {
            let message = format!("This invoice is {}: nothing is due.", invoice.status.as_str());
            return Err(Abort::Refused(message));
        }
        let mut pm = PaymentMethod::new(PaymentMethodKind::Card(details), BillingDetails::default(), now);
        pm.customer = Some(invoice.customer.clone());
        pm.saved_behaviour = Some(saved);
        tx.put_new(&account, &pm)?;
        let existing: Option<PaymentIntent> = match &invoice.payment_intent {
            Some(pi) => tx.load(&account, pi)?,
            None => None,
        };
        let sub: Option<Subscription> = match &invoice.subscription {
            Some(s) => tx.load(&account, s)?,
            None => None,
        };
        let failure = outcome.clone().err().map(|mut e| {
            e.payment_method = Some(pm.id.clone());
            e
        });
        let (mut pi, is_new) = match existing {
            Some(pi) => (pi, false),
            None => {
                let mut pi =
                    PaymentIntent::new(invoice.amount_due, invoice.currency, vec!["card".into()], now);
                pi.customer = Some(invoice.customer.clone());
                pi.invoice = Some(invoice.id.clone());
                pi.description =
                    Some(format!("Invoice {}", invoice.number.as_deref().unwrap_or(&invoice.id)));
                (pi, true)
            }
        };
        pi.payment_method = Some(pm.id.clone());
        if let Some(f) = failure {
            // A decline is the customer's to retry here: the subscription's dunning goes on as it was.
            pi.last_payment_error = Some(f.clone());
            pi.status = PaymentIntentStatus::RequiresPaymentMethod;
            let charge = super::charges::record(tx, &account, &mut pi, Some(f.clone()), now)?;
            invoice.payment_intent = Some(pi.id.clone());
            tx.upsert(&account, &pi)?;
            tx.put(&account, &invoice)?;
            if is_new {
                out.emit(tx, &account, EventType::PaymentIntentCreated, views::PaymentIntentDoc(&pi))?;
            }
            super::charges::announce(tx, out, &account, &charge)?;
            out.emit(tx, &account, EventType::PaymentIntentPaymentFailed, views::PaymentIntentDoc(&pi))?;
            return Ok(Some(f.message));
        }
        let collecting =
            sub.as_ref().is_some_and(|s| s.collecting.as_ref().is_some_and(|c| c.invoice == invoice.id));
        match sub.filter(|_| collecting) {
            Some(mut sub) => {
                let before = views::subscription(&sub);
                let happened = kassa_core::renewal::record_attempt(
                    &mut sub,
                    &mut invoice,
                    &mut pi,
                    is_new,
                    Ok(()),
                    now,
                    &dunning,
                );
                let charge = super::charges::record(tx, &account, &mut pi, None, now)?;
                super::charges::announce(tx, out, &account, &charge)?;
                tx.upsert(&account, &pi)?;
                tx.put(&account, &invoice)?;
                tx.put(&account, &sub)?;
                super::billing::announce(
                    tx,
                    out,
                    &account,
                    &happened,
                    &before,
                    &sub,
                    Some(&invoice),
                    Some(&pi),
                )?;
            }
            None => {
                pi.status = PaymentIntentStatus::Succeeded;
                pi.last_payment_error = None;
                invoice.payment_intent = Some(pi.id.clone());
                invoice.attempt_count += 1;
                invoice.status = InvoiceStatus::Paid;
                invoice.amount_paid = invoice.amount_due;
                invoice.amount_remaining = 0;
                invoice.paid_at = Some(now);
                invoice.next_payment_attempt = None;
                let charge = super::charges::record(tx, &account, &mut pi, None, now)?;
                tx.upsert(&account, &pi)?;
                tx.put(&account, &invoice)?;
                if is_new {
                    out.emit(tx, &account, EventType::PaymentIntentCreated, views::PaymentIntentDoc(&pi))?;
                }
                super::charges::announce(tx, out, &account, &charge)?;
                out.emit(tx, &account, EventType::PaymentIntentSucceeded, views::PaymentIntentDoc(&pi))?;
                super::billing::emit_paid(tx, out, &account, &invoice)?;
            }
        }
        Ok(None)
    })
    .await;
    match paid {
        Ok(None) => Ok(PagePayment::Paid),
        Ok(Some(declined)) => Ok(PagePayment::Refused(declined)),
        Err(Abort::Refused(message)) => Ok(PagePayment::Refused(message)),
        Err(Abort::Store(e)) => Err(e.into()),
    }
}
