//! Completing a checkout session: everything a successful payment creates, decided
//! here without IO so that the caller can write it all in one transaction.
//!
//! - the customer: the session's own, or a new one from the e-mail and name the buyer entered;
//! - the payment method (card details only — never the number or CVC — PayPal, or cash balance);
//! - payment mode: the payment intent, succeeded;
//! - subscription mode: the subscription (`trialing` with `trial_end` = now + trial days, or
//!   `active`) and its first invoice, paid (a zero invoice during a trial), with a payment intent
//!   when something is charged today;
//! - the discount's redemption, re-checked against the coupon and promotion code as they are now
//!   ([`redeem`]), counted on both;
//! - the session: `complete`, its customer, `customer_details`, `payment_status`.

use crate::billing::{
    BillingDetails, BillingReason, Discount, Invoice, InvoiceLine, InvoiceStatus, PaymentError,
    PaymentIntent, PaymentIntentStatus, PaymentMethod, PaymentMethodKind, SetupIntent, Subscription,
    SubscriptionItem, SubscriptionStatus,
};
use crate::catalog::{self, Buyer, Coupon, Customer, Duration, PromotionCode};
use crate::error::{ErrorCode, Invalid};
use crate::params::CustomerCreate;
use crate::payment::CardDetails;
use crate::session::{
    CustomerCreation, CustomerDetails, Mode, PaymentIntentData, PaymentStatus, Session, Status,
};
use crate::time::{Timestamp, to_civil};

/// What the buyer typed: checked by [`buyer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyerDetails {
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Check the buyer's e-mail and name. A customer with an e-mail keeps it (the field is locked on
/// the page); otherwise an e-mail is required.
pub fn buyer(customer: Option<&Customer>, email: &str, name: &str) -> Result<BuyerDetails, Invalid> {
    let name = catalog::text("name", Some(name.trim().to_owned()), 256)?.filter(|n| !n.is_empty());
    if let Some(locked) = customer.and_then(|c| c.email.clone()) {
        return Ok(BuyerDetails { email: Some(locked), name });
    }
    let email = email.trim();
    if email.is_empty() {
        return Err(Invalid::new(ErrorCode::ParameterMissing, "email", "Enter your e-mail address."));
    }
    let email = catalog::email("email", Some(email.to_owned()))
        .map_err(|_| Invalid::param("email", "Enter a valid e-mail address."))?;
    Ok(BuyerDetails { email, name })
}

/// How the session was paid.
#[derive(Debug, Clone, PartialEq)]
pub enum Paid {
    Card {
        details: CardDetails,
        saved_behaviour: serde_json::Value,
    },
    Paypal {
        payer_email: Option<String>,
        saved_behaviour: serde_json::Value,
    },
    /// From the customer's cash balance, decided by [`complete`] against the balance it is
    /// given (read in the completing transaction): when it covers the total it is debited and the
    /// session completes paid; otherwise nothing is debited, and the session completes unpaid and
    /// waits for a bank transfer. A balance therefore never goes below zero.
    CustomerBalance,
    /// No payment method at all: only for a subscription with nothing due today whose session
    /// says `payment_method_collection=if_required`.
    Nothing,
}

/// The records a completion writes (besides the session itself).
#[derive(Debug, Clone)]
pub struct Completion {
    pub customer: Customer,
    pub customer_is_new: bool,
    /// A guest checkout (`customer_creation=if_required`, payment mode, no customer): `customer`
    /// is not kept, and nothing refers to it.
    pub guest: bool,
    /// `None` when nothing was collected ([`Paid::Nothing`]).
    pub payment_method: Option<PaymentMethod>,
    /// New or updated (an earlier declined attempt's intent is reused).
    pub payment_intent: Option<PaymentIntent>,
    pub subscription: Option<Subscription>,
    pub invoice: Option<Invoice>,
    /// Setup mode: the card saved for later.
    pub setup_intent: Option<SetupIntent>,
}

/// Check, and count, the session's discount against the coupon and promotion code as they are
/// now. `code` and `coupon` are the current records (`None` if deleted). On success both are
/// updated with one more redemption, for the caller to save.
pub fn redeem(
    session: &Session,
    coupon: Option<&mut Coupon>,
    code: Option<&mut PromotionCode>,
    customer: Option<&Customer>,
    now: Timestamp,
) -> Result<(), Invalid> {
    let Some(d) = &session.discount else { return Ok(()) };
    let fail = |message: String| Invalid::new(ErrorCode::PromotionCodeInvalid, "code", message);
    let Some(coupon) = coupon else {
        return Err(fail("This discount no longer exists.".to_owned()));
    };
    match (d.promotion_code.as_ref(), code) {
        (Some(_), None) => return Err(fail("This promotion code no longer exists.".to_owned())),
        (Some(_), Some(code)) => {
            code.usable(coupon, Buyer { customer }, session.currency, session.amount_subtotal, now)
                .map_err(|why| fail(why.message()))?;
            code.times_redeemed = code.times_redeemed.saturating_add(1);
        }
        (None, _) => {
            coupon.usable_for(session.currency, now).map_err(|why| fail(why.message()))?;
        }
    }
    coupon.times_redeemed = coupon.times_redeemed.saturating_add(1);
    Ok(())
}

/// Complete `session`, paid by `paid`. `customer` is the session's customer (if it has one),
/// `attempt` the intent of earlier attempts (reused), `coupon` the discount's coupon (for its
/// duration on a subscription).
#[allow(clippy::too_many_arguments)]
pub fn complete(
    session: &mut Session,
    customer: Option<Customer>,
    buyer: &BuyerDetails,
    paid: Paid,
    attempt: Option<PaymentIntent>,
    coupon: Option<&Coupon>,
    now: Timestamp,
) -> Result<Completion, Invalid> {
    // The caller has checked the session's expiry on the server's clock; `now` may be a test
    // clock's time, which says nothing about the session.
    if session.status != Status::Open {
        return Err(Invalid::general("This checkout is no longer open."));
    }
    let (mut customer, customer_is_new) = match customer {
        Some(mut c) => {
            if c.email.is_none() {
                c.email.clone_from(&buyer.email);
            }
            if c.name.is_none() {
                c.name.clone_from(&buyer.name);
            }
            (c, false)
        }
        None => {
            let params =
                CustomerCreate { email: buyer.email.clone(), name: buyer.name.clone(), ..Default::default() };
            (Customer::create(params, now)?, true)
        }
    };

    // A cash balance belongs to a customer, so a guest cannot pay from one.
    let guest = customer_is_new
        && session.mode == Mode::Payment
        && session.customer_creation == Some(CustomerCreation::IfRequired)
        && !matches!(paid, Paid::CustomerBalance)
        && !session.invoice_creation.as_ref().is_some_and(|i| i.enabled);
    let customer_ref = (!guest).then(|| customer.id.clone());
    let manual_capture = session.payment_intent_data.as_ref().is_some_and(PaymentIntentData::manual_capture);
    let billing = BillingDetails { email: buyer.email.clone(), name: buyer.name.clone() };
    let (kind, saved, method_type, waits_for_funds) = match paid {
        Paid::Nothing => {
            if !(session.card_if_required && session.mode == Mode::Subscription && session.amount_total == 0)
            {
                return Err(Invalid::general("Enter your card details."));
            }
            (None, None, "card", false)
        }
        Paid::Card { details, saved_behaviour } => {
            (Some(PaymentMethodKind::Card(details)), Some(saved_behaviour), "card", false)
        }
        Paid::Paypal { payer_email, saved_behaviour } => {
            (Some(PaymentMethodKind::Paypal { payer_email }), Some(saved_behaviour), "paypal", false)
        }
        Paid::CustomerBalance => {
            let balance = customer.cash_balance.get(&session.currency).copied().unwrap_or(0);
            let covered = balance >= session.amount_total;
            if covered {
                customer.cash_balance.insert(session.currency, balance - session.amount_total);
            }
            (Some(PaymentMethodKind::CustomerBalance), None, "customer_balance", !covered)
        }
    };
    let method = kind.map(|kind| {
        let mut method = PaymentMethod::new(kind, billing, now);
        method.customer.clone_from(&customer_ref);
        method.saved_behaviour = saved;
        method
    });
    let method_id = method.as_ref().map(|m| m.id.clone());

    let due = session.amount_total;
    let intent_for = |amount: i64, attempt: Option<PaymentIntent>| {
        let mut pi = attempt.unwrap_or_else(|| {
            PaymentIntent::new(amount, session.currency, vec![method_type.to_owned()], now)
        });
        pi.amount = amount;
        pi.payment_method_types = vec![method_type.to_owned()];
        pi.customer.clone_from(&customer_ref);
        pi.payment_method.clone_from(&method_id);
        pi.checkout_session = Some(session.id.clone());
        pi.last_payment_error = None;
        pi.pending_challenge = None;
        pi.status = if waits_for_funds {
            PaymentIntentStatus::RequiresAction
        } else if manual_capture {
            PaymentIntentStatus::RequiresCapture
        } else {
            PaymentIntentStatus::Succeeded
        };
        pi
    };

    let mut completion = match session.mode {
        Mode::Payment => {
            let mut pi = intent_for(due, attempt);
            if let Some(data) = &session.payment_intent_data {
                pi.description.clone_from(&data.description);
                pi.metadata = data.metadata.clone();
                pi.options = Some(data.clone());
            }
            session.payment_intent = Some(pi.id.clone());
            let invoice = match session.invoice_creation.as_ref().filter(|i| i.enabled) {
                Some(ic) => {
                    let inv = payment_invoice(session, &customer, &pi, ic, now)?;
                    pi.invoice = Some(inv.id.clone());
                    session.invoice = Some(inv.id.clone());
                    Some(inv)
                }
                None => None,
            };
            Completion {
                customer: customer.clone(),
                customer_is_new,
                guest,
                payment_method: method.clone(),
                payment_intent: Some(pi),
                subscription: None,
                invoice,
                setup_intent: None,
            }
        }
        Mode::Setup => {
            let saved = method.as_ref().ok_or_else(|| Invalid::general("Enter your card details."))?;
            let mut si = SetupIntent::succeeded(saved, now);
            if let Some(data) = &session.setup_intent_data {
                si.description.clone_from(&data.description);
                si.metadata = data.metadata.clone();
            }
            si.checkout_session = Some(session.id.clone());
            session.setup_intent = Some(si.id.clone());
            Completion {
                customer: customer.clone(),
                customer_is_new,
                guest: false,
                payment_method: method.clone(),
                payment_intent: None,
                subscription: None,
                invoice: None,
                setup_intent: Some(si),
            }
        }
        Mode::Subscription => {
            let (sub, invoice) = subscribe(session, &customer, method_id.as_deref(), coupon, now)?;
            let pi = (invoice.amount_due > 0).then(|| {
                let mut pi = intent_for(invoice.amount_due, attempt);
                pi.invoice = Some(invoice.id.clone());
                pi
            });
            let mut invoice = invoice;
            invoice.payment_intent = pi.as_ref().map(|p| p.id.clone());
            session.subscription = Some(sub.id.clone());
            session.invoice = Some(invoice.id.clone());
            Completion {
                customer: customer.clone(),
                customer_is_new,
                guest: false,
                payment_method: method.clone(),
                payment_intent: pi,
                subscription: Some(sub),
                invoice: Some(invoice),
                setup_intent: None,
            }
        }
    };

    // An authorization held for manual capture is not a payment yet: Stripe's session completes
    // `unpaid` then.
    session.payment_status = if waits_for_funds || (manual_capture && due > 0) {
        PaymentStatus::Unpaid
    } else if due > 0 {
        PaymentStatus::Paid
    } else {
        PaymentStatus::NoPaymentRequired
    };
    if due > 0 && !waits_for_funds {
        customer.has_paid = true;
    }
    completion.customer = customer.clone();
    session.status = Status::Complete;
    session.customer = customer_ref;
    session.customer_details = Some(CustomerDetails { email: buyer.email.clone(), name: buyer.name.clone() });
    session.processing_until = None;
    session.pending_buyer = None;
    session.pending_amount = None;
    session.attempt = completion.payment_intent.as_ref().map(|p| p.id.clone()).or(session.attempt.take());
    Ok(completion)
}

/// `invoice_creation`: the invoice of a payment-mode session's payment, paid by `pi` (open while
/// the payment waits: a bank transfer, a manual capture).
fn payment_invoice(
    session: &Session,
    customer: &Customer,
    pi: &PaymentIntent,
    ic: &crate::session::InvoiceCreation,
    now: Timestamp,
) -> Result<Invoice, Invalid> {
    let too_large =
        || Invalid::new(ErrorCode::AmountTooLarge, "line_items", "The invoice's amounts are too large.");
    let lines = session
        .listed_line_items()
        .map(|line| {
            let mut l = InvoiceLine::new(
                line.price.clone(),
                line.quantity,
                line.amount_subtotal,
                line.description.clone(),
                now,
                now,
            );
            l.discount_amount = line.amount_discount;
            // Taxed as the session was: the invoice adds up to what was paid.
            l.tax_rates.clone_from(&line.applied_rates);
            l
        })
        .collect();
    let mut invoice =
        Invoice::new(customer.id.clone(), session.currency, BillingReason::Manual, lines, now, now, now)
            .map_err(|_| too_large())?;
    invoice.tax_liability = session.tax_liability();
    invoice.automatic_tax = session.taxes.automatic;
    invoice.customer_tax_exempt = session.taxes.exempt;
    invoice.sum_lines().map_err(|_| too_large())?;
    invoice.payment_intent = Some(pi.id.clone());
    invoice.description.clone_from(&ic.description);
    invoice.footer.clone_from(&ic.footer);
    invoice.custom_fields.clone_from(&ic.custom_fields);
    invoice.metadata = ic.metadata.clone();
    invoice.attempt_count = 1;
    if pi.status == PaymentIntentStatus::Succeeded {
        invoice.status = InvoiceStatus::Paid;
        invoice.amount_paid = invoice.amount_due;
        invoice.paid_at = Some(now);
    } else {
        invoice.status = InvoiceStatus::Open;
    }
    invoice.sum_lines().map_err(|_| too_large())?;
    Ok(invoice)
}

/// The subscription and its first invoice for a subscription-mode session.
fn subscribe(
    session: &Session,
    customer: &Customer,
    method: Option<&str>,
    coupon: Option<&Coupon>,
    now: Timestamp,
) -> Result<(Subscription, Invoice), Invalid> {
    let too_large =
        || Invalid::new(ErrorCode::AmountTooLarge, "line_items", "The invoice's amounts are too large.");
    let recurring = session
        .line_items
        .iter()
        .find_map(|l| l.price.recurring)
        .ok_or_else(|| Invalid::general("A subscription needs a recurring price."))?;
    let trial_end = session.trial_end_from(now).filter(|_| session.has_trial());
    let anchor = session.subscription_extras.billing_cycle_anchor.filter(|a| *a > now);
    let period_start = now;
    let period_end = match (trial_end, anchor) {
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => recurring.period_end(now, to_civil(now).day),
    };
    let mut items = Vec::new();
    let mut lines = Vec::new();
    for line in session.listed_line_items() {
        let mut invoice_line = InvoiceLine::new(
            line.price.clone(),
            line.quantity,
            line.amount_subtotal,
            line.description.clone(),
            period_start,
            if line.price.recurring.is_some() { period_end } else { period_start },
        );
        invoice_line.discount_amount = line.amount_discount;
        // The rates that applied at checkout — fixed, the matching dynamic one, or automatic
        // tax's for the buyer's address — carry on, as they were.
        invoice_line.tax_rates.clone_from(&line.applied_rates);
        if line.price.recurring.is_some() {
            let mut item = SubscriptionItem::new(line.price.clone(), line.quantity);
            item.tax_rates.clone_from(&line.applied_rates);
            invoice_line.subscription_item = Some(item.id.clone());
            items.push(item);
        }
        lines.push(invoice_line);
    }
    let mut sub =
        Subscription::new(customer.id.clone(), session.currency, items, period_start, period_end, now);
    sub.status = if trial_end.is_some() { SubscriptionStatus::Trialing } else { SubscriptionStatus::Active };
    sub.trial_start = trial_end.map(|_| now);
    sub.trial_end = trial_end;
    sub.default_payment_method = method.map(str::to_owned);
    sub.metadata = session.subscription_metadata.clone();
    sub.description.clone_from(&session.subscription_extras.description);
    sub.billing_cycle_anchor_at = anchor;
    sub.missing_payment_method.clone_from(&session.subscription_extras.missing_payment_method);
    sub.checkout_session = Some(session.id.clone());
    if let Some(d) = &session.discount {
        let duration = coupon.map_or(Duration::Once, |c| c.duration);
        let end = match duration {
            Duration::Repeating { months } => Some(crate::time::add_months(now, months, to_civil(now).day)),
            Duration::Once | Duration::Forever => None,
        };
        let mut discount =
            Discount::new(d.coupon.clone(), d.promotion_code.clone(), d.terms.clone(), duration, now, end);
        discount.coupon_object = coupon.cloned();
        sub.discount = Some(discount);
    }
    let mut invoice = Invoice::new(
        customer.id.clone(),
        session.currency,
        BillingReason::SubscriptionCreate,
        lines,
        period_start,
        period_end,
        now,
    )
    .map_err(|_| too_large())?;
    invoice.subscription = Some(sub.id.clone());
    invoice.discount.clone_from(&sub.discount);
    sub.tax_liability = session.tax_liability();
    invoice.tax_liability = sub.tax_liability;
    sub.automatic_tax = session.taxes.automatic;
    sub.default_tax_rates.clone_from(&session.taxes.default_rates);
    invoice.automatic_tax = session.taxes.automatic;
    sub.customer_tax_exempt = session.taxes.exempt;
    invoice.customer_tax_exempt = session.taxes.exempt;
    invoice.status = InvoiceStatus::Paid;
    invoice.amount_paid = invoice.amount_due;
    invoice.sum_lines().map_err(|_| too_large())?;
    invoice.paid_at = Some(now);
    invoice.attempt_count = u32::from(invoice.amount_due > 0);
    sub.latest_invoice = Some(invoice.id.clone());
    sub.test_clock.clone_from(&customer.test_clock);
    // Periods end on the day of the trial's end or of the anchor given, else of the start.
    sub.anchor_day = to_civil(period_end).day;
    if trial_end.is_none() && anchor.is_none() {
        sub.anchor_day = to_civil(now).day;
    }
    // A `once` coupon is used up by the first invoice with something to discount.
    if sub.discount.as_ref().is_some_and(|d| d.duration == Duration::Once) && invoice.subtotal > 0 {
        sub.discount = None;
    }
    sub.schedule();
    Ok((sub, invoice))
}

/// Record a declined attempt on the session's attempt intent (created on the first attempt).
pub fn decline(
    session: &mut Session,
    attempt: Option<PaymentIntent>,
    method_type: &str,
    error: PaymentError,
    now: Timestamp,
) -> PaymentIntent {
    let mut pi = attempt.unwrap_or_else(|| {
        PaymentIntent::new(session.amount_total, session.currency, vec![method_type.to_owned()], now)
    });
    pi.amount = session.amount_total;
    pi.checkout_session = Some(session.id.clone());
    pi.status = PaymentIntentStatus::RequiresPaymentMethod;
    pi.last_payment_error = Some(error);
    pi.pending_challenge = None;
    session.attempt = Some(pi.id.clone());
    if session.mode == Mode::Payment {
        session.payment_intent = Some(pi.id.clone());
    }
    session.processing_until = None;
    session.pending_buyer = None;
    session.pending_amount = None;
    pi
}

/// Record an attempt waiting on a 3-D Secure challenge. `pending` holds what the challenge
/// needs to finish (the network's challenge and the card's details — never the number).
pub fn await_challenge(
    session: &mut Session,
    attempt: Option<PaymentIntent>,
    pending: serde_json::Value,
    buyer: &BuyerDetails,
    now: Timestamp,
) -> PaymentIntent {
    let mut pi = attempt.unwrap_or_else(|| {
        PaymentIntent::new(session.amount_total, session.currency, vec!["card".to_owned()], now)
    });
    pi.amount = session.amount_total;
    pi.checkout_session = Some(session.id.clone());
    pi.status = PaymentIntentStatus::RequiresAction;
    pi.pending_challenge = Some(pending);
    session.attempt = Some(pi.id.clone());
    if session.mode == Mode::Payment {
        session.payment_intent = Some(pi.id.clone());
    }
    session.processing_until = None;
    session.pending_buyer = Some(CustomerDetails { email: buyer.email.clone(), name: buyer.name.clone() });
    session.pending_amount = Some(session.amount_total);
    pi
}

/// The reference a customer quotes on a bank transfer for an intent paid from cash balance.
pub fn bank_reference(payment_intent: &str) -> String {
    let tail: String = payment_intent.chars().rev().take(10).collect::<Vec<_>>().into_iter().rev().collect();
    format!("KASSA-{}", tail.to_ascii_uppercase())
}
