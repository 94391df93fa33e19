//! Reading what a completed checkout creates: payment intents, payment methods,
//! subscriptions and invoices — retrieve, list with filters and cursors, `expand[]` (from these
//! objects and from the session that names them), 404 for unknown ids and other accounts'
//! objects, the `/v1` tree, and snapshots of what a merchant sees.
//!
//! No API creates these objects yet (completion will), so each test writes them straight into
//! the server's store, as completion will, and reads them back over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kassa_core::account::SecretKey;
use kassa_core::billing::{
    BillingDetails, BillingReason, Discount, Invoice, InvoiceLine, InvoiceStatus, PaymentError,
    PaymentIntent, PaymentIntentStatus, PaymentMethod, PaymentMethodKind, Subscription, SubscriptionItem,
    SubscriptionStatus,
};
use kassa_core::catalog::{CouponValue, DiscountTerms, Duration, Price};
use kassa_core::money::{Currency, Percent};
use kassa_core::payment::CardDetails;
use kassa_core::session::Session;
use kassa_core::store::{Record, StoreExt, TxExt, transact};
use serde_json::{Value, json};

use crate::common::{id, ids};
use crate::helpers::{TestApp, known};
use crate::sessions_support::customer as new_customer;

/// Fixed times, so that what is rendered is predictable.
const T: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

fn usd() -> Currency {
    Currency::parse("usd").unwrap()
}

/// The account behind `key`.
async fn account_of(app: &TestApp, key: &str) -> String {
    app.ctx().store.account_by_key(&SecretKey::presented(key).hash()).await.unwrap().unwrap().id
}

/// Write `record` into `account`, as completion will.
async fn put<R: Record + Clone>(app: &TestApp, account: &str, record: &R) {
    let (account, record) = (account.to_owned(), record.clone());
    transact(app.ctx().store.as_ref(), move |tx| tx.put_new(&account, &record)).await.unwrap();
}

/// Replace a stored record.
async fn replace<R: Record + Clone>(app: &TestApp, account: &str, record: &R) {
    let (account, record) = (account.to_owned(), record.clone());
    transact(app.ctx().store.as_ref(), move |tx| tx.put(&account, &record)).await.unwrap();
}

/// A price created through the API, as the domain type (to snapshot into items and lines).
async fn stored_price(app: &TestApp, account: &str, recurring: bool) -> Price {
    let price = if recurring {
        app.recurring_price(1500, "usd", "month").await
    } else {
        app.price(2500, "usd").await
    };
    app.ctx().store.as_ref().load::<Price>(account, &price).await.unwrap().unwrap()
}

fn card(last4: &str) -> PaymentMethodKind {
    PaymentMethodKind::Card(CardDetails {
        brand: "visa".into(),
        last4: last4.into(),
        exp_month: 12,
        exp_year: 2034,
        fingerprint: format!("fp_{last4}"),
    })
}

fn card_method(customer: Option<&str>, created: i64) -> PaymentMethod {
    let mut pm = PaymentMethod::new(
        card("4242"),
        BillingDetails { email: Some("buyer@example.com".into()), name: Some("Ada Buyer".into()) },
        created,
    );
    pm.customer = customer.map(str::to_owned);
    pm.saved_behaviour = Some(json!({"SECRET_BEHAVIOUR": "decline_next"}));
    pm
}

fn intent(amount: i64, customer: Option<&str>, status: PaymentIntentStatus, created: i64) -> PaymentIntent {
    let mut pi = PaymentIntent::new(amount, usd(), vec!["card".into()], created);
    pi.customer = customer.map(str::to_owned);
    pi.status = status;
    pi
}

fn percent_discount(coupon: &str, start: i64) -> Discount {
    Discount::new(
        coupon.into(),
        None,
        DiscountTerms {
            value: CouponValue::Percent { percent: Percent::parse("20").unwrap() },
            applies_to: None,
        },
        Duration::Repeating { months: 3 },
        start,
        Some(start + 90 * DAY),
    )
}

/// A subscription of `price` × 2 for `customer`, with a saved card and a paid first invoice
/// (itself paid by a payment intent).
struct Billing {
    pm: PaymentMethod,
    sub: Subscription,
    invoice: Invoice,
    pi: PaymentIntent,
}

async fn billing(
    app: &TestApp,
    account: &str,
    customer: &str,
    price: &Price,
    discount: Option<Discount>,
) -> Billing {
    let pm = card_method(Some(customer), T);
    let mut sub = Subscription::new(
        customer.into(),
        usd(),
        vec![SubscriptionItem::new(price.clone(), 2)],
        T,
        T + 30 * DAY,
        T,
    );
    sub.status = SubscriptionStatus::Active;
    sub.default_payment_method = Some(pm.id.clone());
    sub.discount = discount.clone();

    let mut line = InvoiceLine::new(price.clone(), 2, 3000, "Plan".into(), T, T + 30 * DAY);
    line.subscription_item = Some(sub.items[0].id.clone());
    line.discount_amount = if discount.is_some() { 600 } else { 0 };
    let mut invoice = Invoice::new(
        customer.into(),
        usd(),
        BillingReason::SubscriptionCreate,
        vec![line],
        T,
        T + 30 * DAY,
        T,
    )
    .unwrap();
    invoice.subscription = Some(sub.id.clone());
    invoice.discount = discount;

    let mut pi = intent(invoice.total, Some(customer), PaymentIntentStatus::Succeeded, T);
    pi.payment_method = Some(pm.id.clone());
    pi.invoice = Some(invoice.id.clone());

    invoice.payment_intent = Some(pi.id.clone());
    invoice.status = InvoiceStatus::Paid;
    invoice.amount_paid = invoice.amount_due;
    invoice.sum_lines().unwrap();
    invoice.paid_at = Some(T + 5);
    invoice.attempt_count = 1;
    sub.latest_invoice = Some(invoice.id.clone());

    put(app, account, &pm).await;
    put(app, account, &sub).await;
    put(app, account, &invoice).await;
    put(app, account, &pi).await;
    Billing { pm, sub, invoice, pi }
}

/// Opaque test-network state never reaches the wire.
fn assert_no_secrets(text: &str) {
    for needle in ["pending_challenge", "saved_behaviour", "SECRET_CHALLENGE", "SECRET_BEHAVIOUR"] {
        assert!(!text.contains(needle), "`{needle}` leaked: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// payment intents

#[tokio::test]
async fn payment_intents_retrieve_list_and_expand() {
    let app = TestApp::spawn().await;
    let acct = account_of(&app, &app.key).await;
    let cus = new_customer(&app, "buyer@example.com").await;

    let pm = card_method(Some(&cus), T);
    put(&app, &acct, &pm).await;
    let mut paid = intent(4200, Some(&cus), PaymentIntentStatus::Succeeded, T);
    paid.payment_method = Some(pm.id.clone());
    paid.description = Some("Order 42".into());
    paid.metadata.insert("order".into(), "42".into());
    let mut challenged = intent(1000, None, PaymentIntentStatus::RequiresAction, T + 10);
    challenged.pending_challenge = Some(json!({"SECRET_CHALLENGE": "4000002760003184"}));
    let mut declined = intent(700, Some(&cus), PaymentIntentStatus::RequiresPaymentMethod, T + 20);
    declined.last_payment_error = Some(PaymentError {
        code: "card_declined".into(),
        decline_code: Some("insufficient_funds".into()),
        message: "Your card has insufficient funds.".into(),
        payment_method: Some(pm.id.clone()),
    });
    for pi in [&paid, &challenged, &declined] {
        put(&app, &acct, pi).await;
    }

    // Retrieve: Stripe's shape, amounts by status.
    let r = app.get(&format!("/payment_intents/{}", paid.id)).await;
    let v = r.ok();
    assert_no_secrets(&r.text);
    assert_eq!(v["object"], "payment_intent");
    assert_eq!(v["amount"], 4200);
    assert_eq!(v["amount_received"], 4200);
    assert_eq!(v["amount_capturable"], 0);
    assert_eq!(v["currency"], "usd");
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["customer"], cus.as_str());
    assert_eq!(v["payment_method"], pm.id.as_str());
    assert_eq!(v["payment_method_types"], json!(["card"]));
    assert_eq!(v["description"], "Order 42");
    assert_eq!(v["metadata"], json!({"order": "42"}));
    assert_eq!(v["livemode"], false);
    assert_eq!(v["capture_method"], "automatic");
    for null in
        ["last_payment_error", "next_action", "canceled_at", "latest_charge", "invoice", "client_secret"]
    {
        assert!(v[null].is_null(), "{null} should be null: {}", r.text);
    }

    let r = app.get(&format!("/payment_intents/{}", challenged.id)).await;
    assert_no_secrets(&r.text);
    let v = r.ok();
    assert_eq!(v["status"], "requires_action");
    assert_eq!(v["amount_received"], 0);
    assert_eq!(v["customer"], Value::Null);
    assert_eq!(v["next_action"]["type"], "redirect_to_url");
    assert!(v["next_action"]["redirect_to_url"].is_object());

    let r = app.get(&format!("/payment_intents/{}", declined.id)).await;
    let e = &r.ok()["last_payment_error"];
    assert_eq!(
        *e,
        // What does not apply (`charge`, `doc_url`, `param`) is left out, as Stripe's document has it.
        json!({
            "code": "card_declined", "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.", "payment_method": pm.id,
            "type": "card_error",
        })
    );

    // Expand: the method, the customer, the method behind the error.
    let r = app.get(&format!("/payment_intents/{}?expand[]=payment_method&expand[]=customer", paid.id)).await;
    assert_no_secrets(&r.text);
    let v = r.ok();
    assert_eq!(v["payment_method"]["object"], "payment_method");
    assert_eq!(v["payment_method"]["card"]["last4"], "4242");
    assert_eq!(v["customer"]["object"], "customer");
    assert_eq!(v["customer"]["email"], "buyer@example.com");
    let r = app
        .get(&format!("/payment_intents/{}?expand[]=last_payment_error.payment_method", declined.id))
        .await;
    assert_eq!(r.ok()["last_payment_error"]["payment_method"]["id"], pm.id.as_str());
    let r = app.get(&format!("/payment_intents/{}?expand[]=payment_method.customer", paid.id)).await;
    assert_eq!(r.ok()["payment_method"]["customer"]["id"], cus.as_str());
    // Null ids stay null when expanded.
    let r = app
        .get(&format!("/payment_intents/{}?expand[]=customer&expand[]=payment_method", challenged.id))
        .await;
    assert!(r.ok()["customer"].is_null() && r.ok()["payment_method"].is_null());
    let r = app.get(&format!("/payment_intents/{}?expand[]=pending_challenge", challenged.id)).await;
    assert_eq!(r.invalid("expand")["code"], "parameter_invalid");

    // List: newest first, filters, cursors, expand on elements.
    let all = [declined.id.clone(), challenged.id.clone(), paid.id.clone()];
    let r = app.get("/payment_intents").await;
    assert_no_secrets(&r.text);
    let v = r.ok();
    assert_eq!(v["object"], "list");
    assert_eq!(v["url"], "/payment_intents");
    assert_eq!(v["has_more"], false);
    assert_eq!(ids(v), all);
    assert_eq!(
        app.list_ids(&format!("/payment_intents?customer={cus}")).await,
        [all[0].as_str(), all[2].as_str()]
    );
    assert_eq!(app.list_ids("/payment_intents?customer=cus_nobody").await, Vec::<String>::new());
    assert_eq!(app.list_ids(&format!("/payment_intents?created[gte]={}", T + 10)).await, &all[..2]);
    assert_eq!(app.list_ids(&format!("/payment_intents?created={}", T)).await, [all[2].as_str()]);

    let r = app.get("/payment_intents?limit=2").await;
    assert_eq!((ids(r.ok()), &r.ok()["has_more"]), (all[..2].to_vec(), &json!(true)));
    let r = app.get(&format!("/payment_intents?limit=2&starting_after={}", all[1])).await;
    assert_eq!((ids(r.ok()), &r.ok()["has_more"]), (all[2..].to_vec(), &json!(false)));
    let r = app.get(&format!("/payment_intents?limit=1&ending_before={}", all[2])).await;
    assert_eq!((ids(r.ok()), &r.ok()["has_more"]), (all[1..2].to_vec(), &json!(true)));
    let r = app.get("/payment_intents?starting_after=pi_nope").await;
    assert_eq!(r.invalid("starting_after")["code"], "resource_missing");
    let r = app.get("/payment_intents?status=succeeded").await;
    assert_eq!(r.invalid("status")["code"], "parameter_unknown");

    let r = app.get("/payment_intents?expand[]=data.payment_method&expand[]=data.customer").await;
    let data = r.ok()["data"].as_array().unwrap().clone();
    assert_eq!(data[0]["payment_method"], Value::Null);
    assert_eq!(data[0]["customer"]["id"], cus.as_str());
    assert_eq!(data[2]["payment_method"]["id"], pm.id.as_str());
    let r = app.get("/payment_intents?expand[]=payment_method").await;
    assert_eq!(r.invalid("expand")["code"], "parameter_invalid");

    // The /v1 tree.
    let r = app.get(&format!("/v1/payment_intents/{}?expand[]=payment_method", paid.id)).await;
    assert_eq!(r.ok()["payment_method"]["id"], pm.id.as_str());
    let r = app.get(&format!("/v1/payment_intents?customer={cus}&limit=1")).await;
    assert_eq!(r.ok()["url"], "/v1/payment_intents");
    assert_eq!(ids(r.ok()), [all[0].as_str()]);
}

// ---------------------------------------------------------------------------------------------
// payment methods

#[tokio::test]
async fn payment_methods_render_each_type_and_filter() {
    let app = TestApp::spawn().await;
    let acct = account_of(&app, &app.key).await;
    let cus = new_customer(&app, "buyer@example.com").await;

    let card_pm = card_method(Some(&cus), T);
    let mut paypal = PaymentMethod::new(
        PaymentMethodKind::Paypal { payer_email: Some("payer@example.com".into()) },
        BillingDetails { email: Some("payer@example.com".into()), name: None },
        T + 1,
    );
    paypal.customer = Some(cus.clone());
    let balance = PaymentMethod::new(PaymentMethodKind::CustomerBalance, BillingDetails::default(), T + 2);
    for pm in [&card_pm, &paypal, &balance] {
        put(&app, &acct, pm).await;
    }

    let r = app.get(&format!("/payment_methods/{}", card_pm.id)).await;
    assert_no_secrets(&r.text);
    let v = r.ok();
    assert_eq!(v["object"], "payment_method");
    assert_eq!(v["type"], "card");
    assert_eq!(v["customer"], cus.as_str());
    assert_eq!(v["created"], T);
    assert_eq!(v["livemode"], false);
    assert_eq!(
        v["billing_details"],
        json!({
            "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
            "email": "buyer@example.com", "name": "Ada Buyer", "phone": null, "tax_id": null,
        })
    );
    let c = &v["card"];
    assert_eq!(
        (&c["brand"], &c["last4"], &c["exp_month"], &c["exp_year"]),
        (&json!("visa"), &json!("4242"), &json!(12), &json!(2034))
    );
    assert_eq!(c["fingerprint"], "fp_4242");
    assert_eq!(c["checks"]["cvc_check"], "pass");
    assert_eq!(c["networks"], json!({"available": ["visa"], "preferred": null}));
    assert_eq!(c["three_d_secure_usage"], json!({"supported": true}));
    assert!(c.get("number").is_none() && c.get("cvc").is_none());
    assert!(v.get("paypal").is_none() && v.get("customer_balance").is_none());

    let r = app.get(&format!("/payment_methods/{}", paypal.id)).await;
    let v = r.ok();
    assert_eq!(v["type"], "paypal");
    assert_eq!(v["card"], Value::Null);
    assert_eq!(v["paypal"], json!({"payer_email": "payer@example.com", "payer_id": null}));
    assert!(v.get("customer_balance").is_none());

    let r = app.get(&format!("/v1/payment_methods/{}", balance.id)).await;
    let v = r.ok();
    assert_eq!(v["type"], "customer_balance");
    assert_eq!(v["customer_balance"], json!({}));
    assert_eq!(v["customer"], Value::Null);
    assert!(v.get("paypal").is_none());

    let r = app.get(&format!("/payment_methods/{}?expand[]=customer", card_pm.id)).await;
    assert_eq!(r.ok()["customer"]["email"], "buyer@example.com");

    let r = app.get("/payment_methods").await;
    assert_no_secrets(&r.text);
    assert_eq!(ids(r.ok()), [balance.id.as_str(), paypal.id.as_str(), card_pm.id.as_str()]);
    assert_eq!(
        app.list_ids(&format!("/payment_methods?customer={cus}")).await,
        [paypal.id.as_str(), card_pm.id.as_str()]
    );
    assert_eq!(app.list_ids("/payment_methods?type=card").await, [card_pm.id.as_str()]);
    assert_eq!(
        app.list_ids(&format!("/v1/payment_methods?customer={cus}&type=paypal")).await,
        [paypal.id.as_str()]
    );
    assert_eq!(app.list_ids("/payment_methods?type=customer_balance").await, [balance.id.as_str()]);
    let r = app.get("/payment_methods?type=sepa_debit").await;
    assert_eq!(r.invalid("type")["code"], "parameter_invalid");
    let r = app
        .get(&format!("/payment_methods?expand[]=data.customer&limit=1&starting_after={}", paypal.id))
        .await;
    assert_eq!(r.ok()["data"][0]["customer"]["id"], cus.as_str());
}

// ---------------------------------------------------------------------------------------------
// subscriptions

#[tokio::test]
async fn subscriptions_retrieve_expand_and_list_by_status() {
    let app = TestApp::spawn().await;
    let acct = account_of(&app, &app.key).await;
    let cus = new_customer(&app, "sub@example.com").await;
    let coupon = app
        .coupon(&[
            ("id", "TWENTY"),
            ("percent_off", "20"),
            ("duration", "repeating"),
            ("duration_in_months", "3"),
        ])
        .await;
    let price = stored_price(&app, &acct, true).await;
    let b = billing(&app, &acct, &cus, &price, Some(percent_discount(&coupon, T))).await;

    let r = app.get(&format!("/subscriptions/{}", b.sub.id)).await;
    let v = r.ok();
    assert_eq!(v["object"], "subscription");
    assert_eq!(v["status"], "active");
    assert_eq!(v["customer"], cus.as_str());
    assert_eq!(v["currency"], "usd");
    assert_eq!((&v["current_period_start"], &v["current_period_end"]), (&json!(T), &json!(T + 30 * DAY)));
    assert_eq!(v["billing_cycle_anchor"], T);
    assert_eq!(v["start_date"], T);
    assert_eq!(v["cancel_at_period_end"], false);
    assert_eq!(v["cancel_at"], Value::Null);
    assert_eq!(v["latest_invoice"], b.invoice.id.as_str());
    assert_eq!(v["default_payment_method"], b.pm.id.as_str());
    assert_eq!(v["collection_method"], "charge_automatically");
    let items = &v["items"];
    assert_eq!(items["object"], "list");
    assert_eq!(items["url"], format!("/v1/subscription_items?subscription={}", b.sub.id));
    assert_eq!(items["data"][0]["object"], "subscription_item");
    assert_eq!(items["data"][0]["quantity"], 2);
    assert_eq!(items["data"][0]["subscription"], b.sub.id.as_str());
    assert_eq!(items["data"][0]["price"]["id"], price.id.as_str());
    assert_eq!(items["data"][0]["price"]["recurring"]["interval"], "month");
    let d = &v["discount"];
    assert_eq!(d["object"], "discount");
    assert_eq!(d["coupon"], "TWENTY");
    assert_eq!(d["subscription"], b.sub.id.as_str());
    assert_eq!(d["customer"], cus.as_str());
    assert_eq!((&d["start"], &d["end"]), (&json!(T), &json!(T + 90 * DAY)));

    let r = app
        .get(&format!(
            "/subscriptions/{}?expand[]=latest_invoice.payment_intent&expand[]=default_payment_method&expand[]=customer&expand[]=items.data.price.product&expand[]=discount.coupon",
            b.sub.id
        ))
        .await;
    assert_no_secrets(&r.text);
    let v = r.ok();
    assert_eq!(v["latest_invoice"]["object"], "invoice");
    assert_eq!(v["latest_invoice"]["id"], b.invoice.id.as_str());
    assert_eq!(v["latest_invoice"]["payment_intent"]["id"], b.pi.id.as_str());
    assert_eq!(v["latest_invoice"]["payment_intent"]["status"], "succeeded");
    assert_eq!(v["default_payment_method"]["card"]["last4"], "4242");
    assert_eq!(v["customer"]["email"], "sub@example.com");
    assert_eq!(v["items"]["data"][0]["price"]["product"]["object"], "product");
    assert_eq!(v["discount"]["coupon"]["object"], "coupon");
    assert_eq!(v["discount"]["coupon"]["percent_off"], 20.0);

    // Lists: Stripe's default leaves canceled subscriptions out.
    let other = new_customer(&app, "other@example.com").await;
    let mut trialing = Subscription::new(other.clone(), usd(), vec![], T, T + 14 * DAY, T + 1);
    trialing.status = SubscriptionStatus::Trialing;
    trialing.trial_start = Some(T + 1);
    trialing.trial_end = Some(T + 14 * DAY);
    let mut canceled = Subscription::new(cus.clone(), usd(), vec![], T, T + 30 * DAY, T + 2);
    canceled.status = SubscriptionStatus::Canceled;
    canceled.canceled_at = Some(T + 3);
    canceled.ended_at = Some(T + 3);
    put(&app, &acct, &trialing).await;
    put(&app, &acct, &canceled).await;

    let r = app.get(&format!("/subscriptions/{}", trialing.id)).await;
    assert_eq!(r.ok()["billing_cycle_anchor"], T + 14 * DAY);
    assert_eq!(r.ok()["trial_end"], T + 14 * DAY);
    assert_eq!(r.ok()["discount"], Value::Null);

    assert_eq!(app.list_ids("/subscriptions").await, [trialing.id.as_str(), b.sub.id.as_str()]);
    assert_eq!(
        app.list_ids("/subscriptions?status=all").await,
        [canceled.id.as_str(), trialing.id.as_str(), b.sub.id.as_str()]
    );
    assert_eq!(app.list_ids("/subscriptions?status=canceled").await, [canceled.id.as_str()]);
    assert_eq!(app.list_ids("/subscriptions?status=ended").await, [canceled.id.as_str()]);
    assert_eq!(app.list_ids("/subscriptions?status=trialing").await, [trialing.id.as_str()]);
    assert_eq!(app.list_ids(&format!("/subscriptions?customer={cus}")).await, [b.sub.id.as_str()]);
    assert_eq!(
        app.list_ids(&format!("/subscriptions?customer={cus}&status=all")).await,
        [canceled.id.as_str(), b.sub.id.as_str()]
    );
    let r = app.get("/subscriptions?status=sleeping").await;
    assert_eq!(r.invalid("status")["code"], "parameter_invalid");
    let r = app.get("/v1/subscriptions?limit=1&expand[]=data.latest_invoice").await;
    assert_eq!(r.ok()["url"], "/v1/subscriptions");
    assert_eq!(r.ok()["has_more"], true);
    assert_eq!(ids(r.ok()), [trialing.id.as_str()]);
    let r = app
        .get(&format!("/v1/subscriptions?starting_after={}&expand[]=data.latest_invoice", trialing.id))
        .await;
    assert_eq!(r.ok()["data"][0]["latest_invoice"]["id"], b.invoice.id.as_str());
}

// ---------------------------------------------------------------------------------------------
// invoices

#[tokio::test]
async fn invoices_retrieve_expand_and_filter() {
    let app = TestApp::spawn().await;
    let acct = account_of(&app, &app.key).await;
    let cus = new_customer(&app, "inv@example.com").await;
    let price = stored_price(&app, &acct, true).await;
    let b = billing(&app, &acct, &cus, &price, Some(percent_discount("SAVE", T))).await;

    let r = app.get(&format!("/invoices/{}", b.invoice.id)).await;
    let v = r.ok();
    assert_eq!(v["object"], "invoice");
    assert_eq!(v["status"], "paid");
    assert_eq!(v["paid"], true);
    assert_eq!(v["billing_reason"], "subscription_create");
    assert_eq!(v["customer"], cus.as_str());
    assert_eq!(v["subscription"], b.sub.id.as_str());
    assert_eq!(v["payment_intent"], b.pi.id.as_str());
    assert_eq!((&v["subtotal"], &v["total"]), (&json!(3000), &json!(2400)));
    assert_eq!(
        (&v["amount_due"], &v["amount_paid"], &v["amount_remaining"]),
        (&json!(2400), &json!(2400), &json!(0))
    );
    assert_eq!(v["attempt_count"], 1);
    assert_eq!(v["attempted"], true);
    assert_eq!(v["status_transitions"]["paid_at"], T + 5);
    assert_eq!((&v["period_start"], &v["period_end"]), (&json!(T), &json!(T + 30 * DAY)));
    let discount_id = b.invoice.discount.as_ref().unwrap().id.clone();
    assert_eq!(v["discount"]["id"], discount_id.as_str());
    assert_eq!(v["discount"]["invoice"], b.invoice.id.as_str());
    assert_eq!(v["total_discount_amounts"], json!([{"amount": 600, "discount": discount_id}]));
    let line = &v["lines"]["data"][0];
    assert_eq!(line["object"], "line_item");
    assert_eq!(line["type"], "subscription");
    assert_eq!(line["subscription_item"], b.sub.items[0].id.as_str());
    assert_eq!((&line["amount"], &line["quantity"]), (&json!(3000), &json!(2)));
    assert_eq!(line["discount_amounts"], json!([{"amount": 600, "discount": discount_id}]));
    assert_eq!(line["period"], json!({"start": T, "end": T + 30 * DAY}));
    assert_eq!(line["price"]["id"], price.id.as_str());
    assert_eq!(line["proration"], false);

    let r = app
        .get(&format!(
            "/invoices/{}?expand[]=customer&expand[]=subscription&expand[]=payment_intent.payment_method&expand[]=lines.data.price.product",
            b.invoice.id
        ))
        .await;
    assert_no_secrets(&r.text);
    let v = r.ok();
    assert_eq!(v["customer"]["id"], cus.as_str());
    assert_eq!(v["subscription"]["object"], "subscription");
    assert_eq!(v["payment_intent"]["payment_method"]["id"], b.pm.id.as_str());
    assert_eq!(v["lines"]["data"][0]["price"]["product"]["object"], "product");

    // A one-time line, a draft with no subscription, another customer's open invoice.
    let one_time = stored_price(&app, &acct, false).await;
    let draft = Invoice::new(
        cus.clone(),
        usd(),
        BillingReason::Manual,
        vec![InvoiceLine::new(one_time, 1, 2500, "Setup".into(), T, T)],
        T,
        T,
        T + 1,
    )
    .unwrap();
    let other = new_customer(&app, "other@example.com").await;
    let mut open =
        Invoice::new(other.clone(), usd(), BillingReason::SubscriptionCycle, vec![], T, T + 30 * DAY, T + 2)
            .unwrap();
    open.status = InvoiceStatus::Open;
    open.subscription = Some(b.sub.id.clone());
    open.next_payment_attempt = Some(T + DAY);
    put(&app, &acct, &draft).await;
    put(&app, &acct, &open).await;

    let r = app.get(&format!("/invoices/{}", draft.id)).await;
    let v = r.ok();
    assert_eq!(v["status"], "draft");
    assert_eq!(v["paid"], false);
    assert_eq!(v["subscription"], Value::Null);
    assert_eq!(v["discount"], Value::Null);
    assert_eq!(v["total_discount_amounts"], json!([]));
    assert_eq!(v["lines"]["data"][0]["type"], "invoiceitem");
    assert_eq!(v["lines"]["data"][0]["discount_amounts"], json!([]));
    assert_eq!(v["amount_due"], 2500);

    assert_eq!(app.list_ids("/invoices").await, [open.id.as_str(), draft.id.as_str(), b.invoice.id.as_str()]);
    assert_eq!(
        app.list_ids(&format!("/invoices?customer={cus}")).await,
        [draft.id.as_str(), b.invoice.id.as_str()]
    );
    assert_eq!(
        app.list_ids(&format!("/invoices?subscription={}", b.sub.id)).await,
        [open.id.as_str(), b.invoice.id.as_str()]
    );
    assert_eq!(app.list_ids("/invoices?status=paid").await, [b.invoice.id.as_str()]);
    assert_eq!(app.list_ids("/invoices?status=open").await, [open.id.as_str()]);
    assert_eq!(app.list_ids(&format!("/v1/invoices?customer={cus}&status=draft")).await, [draft.id.as_str()]);
    assert_eq!(
        app.list_ids(&format!("/invoices?subscription={}&customer={other}", b.sub.id)).await,
        [open.id.as_str()]
    );
    let r = app.get("/invoices?status=late").await;
    assert_eq!(r.invalid("status")["code"], "parameter_invalid");
    let r = app.get(&format!("/invoices?limit=1&ending_before={}", b.invoice.id)).await;
    assert_eq!((ids(r.ok()), &r.ok()["has_more"]), (vec![draft.id.clone()], &json!(true)));
    let r = app.get("/invoices?expand[]=data.subscription&status=open").await;
    assert_eq!(r.ok()["data"][0]["subscription"]["id"], b.sub.id.as_str());

    // Changing a stored invoice changes what its filters find.
    let mut voided = open.clone();
    voided.status = InvoiceStatus::Void;
    replace(&app, &acct, &voided).await;
    assert_eq!(app.list_ids("/invoices?status=open").await, Vec::<String>::new());
    assert_eq!(app.list_ids("/invoices?status=void").await, [open.id.as_str()]);
}

// ---------------------------------------------------------------------------------------------
// sessions name them

#[tokio::test]
async fn a_session_expands_its_payment_intent_subscription_and_invoice() {
    let app = TestApp::spawn().await;
    let acct = account_of(&app, &app.key).await;
    let cus = new_customer(&app, "buyer@example.com").await;
    let price = app.price(4200, "usd").await;
    let s = app.simple_session(&price, 1).await;
    let sid = id(&s);

    let pm = card_method(Some(&cus), T);
    let mut pi = intent(4200, Some(&cus), PaymentIntentStatus::Succeeded, T);
    pi.payment_method = Some(pm.id.clone());
    pi.checkout_session = Some(sid.clone());
    pi.pending_challenge = Some(json!({"SECRET_CHALLENGE": true}));
    put(&app, &acct, &pm).await;
    put(&app, &acct, &pi).await;

    // Before the session names it, there is nothing to expand.
    let r = app.get(&format!("/checkout/session/{sid}?expand[]=payment_intent")).await;
    assert_eq!(r.ok()["payment_intent"], Value::Null);

    let mut session: Session = app.ctx().store.as_ref().load(&acct, &sid).await.unwrap().unwrap();
    session.payment_intent = Some(pi.id.clone());
    replace(&app, &acct, &session).await;

    let r = app.get(&format!("/checkout/session/{sid}")).await;
    assert_eq!(r.ok()["payment_intent"], pi.id.as_str());
    let r = app.get(&format!("/checkout/session/{sid}?expand[]=payment_intent")).await;
    assert_no_secrets(&r.text);
    let v = &r.ok()["payment_intent"];
    assert_eq!(v["object"], "payment_intent");
    assert_eq!(v["id"], pi.id.as_str());
    assert_eq!(v["amount_received"], 4200);
    let r = app.get(&format!("/v1/checkout/sessions/{sid}?expand[]=payment_intent.payment_method")).await;
    assert_no_secrets(&r.text);
    assert_eq!(r.ok()["payment_intent"]["payment_method"]["card"]["last4"], "4242");
    let r =
        app.get(&format!("/checkout/session?payment_intent={}&expand[]=data.payment_intent", pi.id)).await;
    assert_eq!(ids(r.ok()), [sid.as_str()]);
    assert_eq!(r.ok()["data"][0]["payment_intent"]["status"], "succeeded");

    // A subscription-mode session names its subscription and first invoice.
    let plan = stored_price(&app, &acct, true).await;
    let b = billing(&app, &acct, &cus, &plan, None).await;
    let s = app.session(json!({"line_items": [{"price": plan.id, "quantity": 2}]})).await;
    let mut session: Session = app.ctx().store.as_ref().load(&acct, &id(&s)).await.unwrap().unwrap();
    session.subscription = Some(b.sub.id.clone());
    session.invoice = Some(b.invoice.id.clone());
    replace(&app, &acct, &session).await;
    let r = app
        .get(&format!(
            "/checkout/session/{}?expand[]=subscription.latest_invoice&expand[]=invoice.payment_intent",
            session.id
        ))
        .await;
    let v = r.ok();
    assert_eq!(v["subscription"]["object"], "subscription");
    assert_eq!(v["subscription"]["latest_invoice"]["id"], b.invoice.id.as_str());
    assert_eq!(v["invoice"]["object"], "invoice");
    assert_eq!(v["invoice"]["payment_intent"]["id"], b.pi.id.as_str());
    assert_eq!(v["invoice"]["payment_intent"]["invoice"], b.invoice.id.as_str());
}

// ---------------------------------------------------------------------------------------------
// unknown ids and other accounts

#[tokio::test]
async fn unknown_ids_and_other_accounts_objects_are_404() {
    let app = TestApp::spawn().await;
    let acct = account_of(&app, &app.key).await;
    let cus = new_customer(&app, "buyer@example.com").await;
    let price = stored_price(&app, &acct, true).await;
    let b = billing(&app, &acct, &cus, &price, None).await;

    for (path, object, unknown) in [
        ("/payment_intents", "payment_intent", "pi_unknown"),
        ("/payment_methods", "payment_method", "pm_unknown"),
        ("/subscriptions", "subscription", "sub_unknown"),
        ("/invoices", "invoice", "in_unknown"),
    ] {
        for prefix in ["", "/v1"] {
            let r = app.get(&format!("{prefix}{path}/{unknown}")).await;
            let e = r.error(404);
            assert_eq!(e["code"], "resource_missing", "{}", r.text);
            assert_eq!(e["message"], format!("No such {object}: '{unknown}'"));
        }
    }

    let other_key = app.new_account("Other shop").await;
    let other = account_of(&app, &other_key).await;
    let theirs = [
        ("/payment_intents", b.pi.id.as_str(), "payment_intent"),
        ("/payment_methods", b.pm.id.as_str(), "payment_method"),
        ("/subscriptions", b.sub.id.as_str(), "subscription"),
        ("/invoices", b.invoice.id.as_str(), "invoice"),
    ];
    for (path, id, object) in theirs {
        assert!(app.get(&format!("{path}/{id}")).await.ok()["id"] == id);
        let r = app.get_as(&other_key, &format!("{path}/{id}")).await;
        let e = r.error(404);
        assert_eq!(e["message"], format!("No such {object}: '{id}'"), "{}", r.text);
        let r = app.get_as(&other_key, &format!("/v1{path}/{id}")).await;
        assert_eq!(r.error(404)["code"], "resource_missing");
        assert_eq!(app.list_ids_as(&other_key, path).await, Vec::<String>::new());
        let r = app.get_as(&other_key, &format!("{path}?starting_after={id}")).await;
        assert_eq!(r.invalid("starting_after")["code"], "resource_missing");
    }

    // The other account's own intent naming the first account's method and customer: expanding
    // it never reaches across accounts.
    let mut foreign = intent(100, Some(&cus), PaymentIntentStatus::Succeeded, T);
    foreign.payment_method = Some(b.pm.id.clone());
    put(&app, &other, &foreign).await;
    let r = app
        .get_as(
            &other_key,
            &format!("/payment_intents/{}?expand[]=payment_method&expand[]=customer", foreign.id),
        )
        .await;
    let v = r.ok();
    assert_eq!(v["payment_method"], b.pm.id.as_str());
    assert_eq!(v["customer"], cus.as_str());
    assert_eq!(
        app.get(&format!("/payment_intents/{}", foreign.id)).await.error(404)["code"],
        "resource_missing"
    );
    assert_eq!(app.list_ids_as(&other_key, "/payment_intents").await, [foreign.id.as_str()]);
    assert_eq!(app.list_ids("/payment_intents").await, [b.pi.id.as_str()]);

    // Writes are not part of these routes yet.
    let r = app.post(&format!("/payment_intents/{}", b.pi.id), &[("description", "x")]).await;
    assert_eq!(r.status, 405, "{}", r.text);
}

// ---------------------------------------------------------------------------------------------
// snapshots

#[tokio::test]
async fn snapshots_of_a_payment_intent_and_a_subscription() {
    let app = TestApp::spawn().await;
    // What the API creates is dated on the server's clock: the same fixed time as the rest.
    app.clock.set(T);
    let acct = account_of(&app, &app.key).await;
    let cus = new_customer(&app, "snap@example.com").await;
    let price = stored_price(&app, &acct, true).await;

    let pm = card_method(Some(&cus), T);
    put(&app, &acct, &pm).await;
    let mut pi = intent(2999, Some(&cus), PaymentIntentStatus::RequiresPaymentMethod, T);
    pi.description = Some("Order 7".into());
    pi.metadata.insert("order_id".into(), "7".into());
    pi.payment_method_types = vec!["card".into(), "paypal".into()];
    pi.last_payment_error = Some(PaymentError {
        code: "card_declined".into(),
        decline_code: Some("generic_decline".into()),
        message: "Your card was declined.".into(),
        payment_method: Some(pm.id.clone()),
    });
    pi.pending_challenge = Some(json!({"SECRET_CHALLENGE": 1}));
    put(&app, &acct, &pi).await;
    let r = app.get(&format!("/v1/payment_intents/{}", pi.id)).await;
    assert_no_secrets(&r.text);
    let mut intent = r.ok().clone();
    known(&mut intent, "/id", pi.id.as_str(), "[pi_id]");
    known(&mut intent, "/customer", cus.as_str(), "[customer_id]");
    known(&mut intent, "/last_payment_error/payment_method", pm.id.as_str(), "[pm_id]");
    insta::assert_json_snapshot!("payment_intent", intent);

    let mut sub = Subscription::new(
        cus.clone(),
        usd(),
        vec![SubscriptionItem::new(price.clone(), 3)],
        T,
        T + 14 * DAY,
        T,
    );
    sub.status = SubscriptionStatus::Trialing;
    sub.trial_start = Some(T);
    sub.trial_end = Some(T + 14 * DAY);
    sub.cancel_at_period_end = true;
    sub.default_payment_method = Some(pm.id.clone());
    sub.discount = Some(percent_discount("SNAP20", T));
    sub.metadata.insert("plan".into(), "team".into());
    put(&app, &acct, &sub).await;
    let r = app.get(&format!("/v1/subscriptions/{}", sub.id)).await;
    assert_no_secrets(&r.text);
    let mut v = r.ok().clone();
    let discount = sub.discount.as_ref().unwrap();
    known(&mut v, "/id", sub.id.as_str(), "[sub_id]");
    known(&mut v, "/customer", cus.as_str(), "[customer_id]");
    known(&mut v, "/default_payment_method", pm.id.as_str(), "[pm_id]");
    known(&mut v, "/discount/id", discount.id.as_str(), "[discount_id]");
    known(&mut v, "/discount/customer", cus.as_str(), "[customer_id]");
    known(&mut v, "/discount/subscription", sub.id.as_str(), "[sub_id]");
    let items_url = format!("/v1/subscription_items?subscription={}", sub.id);
    known(&mut v, "/items/url", items_url, "[items_url]");
    known(&mut v, "/items/data/0/id", sub.items[0].id.as_str(), "[si_id]");
    known(&mut v, "/items/data/0/subscription", sub.id.as_str(), "[sub_id]");
    known(&mut v, "/items/data/0/price/id", price.id.as_str(), "[price_id]");
    known(&mut v, "/items/data/0/price/product", price.product.as_str(), "[product_id]");
    insta::assert_json_snapshot!("subscription", v);
}
