//! `kassa trigger EVENT_TYPE` (like `stripe trigger`): make an event happen for real, then say
//! which event it was.
//!
//! Nothing is written behind kassa's back: the event comes from kassa doing its work for a
//! merchant and a customer. Through the API (`--api-url`, `--api-key`, as for `kassa listen`) it
//! creates what the event needs — a product and a price, a customer, a checkout session, a test
//! clock — and then acts as each party would:
//! - **the customer** pays on the hosted page as a browser's form post does: the page's own
//!   fields, and the `Origin` and `Sec-Fetch-Site` headers a same-origin post carries. A test card
//!   succeeds (4242…), is declined (…0002), or is accepted at checkout and fails every later
//!   charge (…0341); or the customer pays by bank transfer from the cash balance;
//! - **the merchant** expires a session, funds a cash balance, cancels a payment intent or a
//!   subscription;
//! - **time** passes on a test clock, which the server advances in the background: to the notice
//!   three days before a trial ends, or past a period's end, which renews the subscription.
//!
//! Then it looks for the event in the log (`GET /v1/events?type=…`) whose `data.object` is the
//! object the event is about — one it made — and prints the objects made and that event's id
//! (`--json`: all of it as JSON, the event whole).
//!
//! [`trigger_for`] is the one list of how each type is caused: a `match` on [`EventType`] without
//! a catch-all arm, so that a new event type does not build until it can be triggered.
//!
//! Waiting — for a clock to finish advancing, for the event to show up in the log (on PostgreSQL
//! a transaction can become visible a moment late) — polls until `--timeout`, then fails saying
//! what it waited for. An error answer of the API is shown as kassa sent it (Stripe's
//! `{"error": {…}}`), and the command exits non-zero.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use kassa_core::time::{Clock, DAY, MINUTE, SystemClock, Timestamp, to_civil};
use kassa_core::webhook::EventType;
use serde::Serialize;
use serde_json::{Value, json};

use crate::cli::TriggerArgs;

/// Succeeds.
const CARD_OK: &str = "4242424242424242";
/// Declined (`card_declined` / `generic_decline`).
const CARD_DECLINED: &str = "4000000000000002";
/// Accepted at checkout; every later off-session charge fails.
const CARD_FAILS_LATER: &str = "4000000000000341";

/// The buyer the hosted page is filled in for.
const EMAIL: &str = "kassa-trigger@example.com";
const NAME: &str = "kassa trigger";
/// The price of what is bought, in cents of `usd`.
const AMOUNT: &str = "1000";
/// The trial of a subscription that is to end.
const TRIAL_DAYS: &str = "7";

/// Between two looks at something awaited.
const POLL: Duration = Duration::from_millis(100);
/// The most pages of the event log read in one look for the event (100 events each).
const EVENT_PAGES: usize = 5;

/// What is done to cause an event. Several types share one: a card payment causes
/// `payment_intent.created`, `payment_intent.succeeded` and `checkout.session.completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// `POST /v1/customers`.
    NewCustomer,
    /// `POST /v1/customers`, then `POST /v1/customers/{id}` with a new name.
    UpdatedCustomer,
    /// `POST /v1/customers`, then `POST /v1/customers/{id}/tax_ids`; then deleted (`delete`).
    TaxId { delete: bool },
    /// A one-time checkout paid on the hosted page with [`CARD_OK`].
    CardPayment,
    /// A one-time checkout whose card ([`CARD_DECLINED`]) the hosted page declines.
    Decline,
    /// A one-time checkout expired through the API.
    Expire,
    /// A one-time checkout of a customer paid on the hosted page by bank transfer (the customer's
    /// cash balance, empty, so the session completes unpaid and waits for the money); then the
    /// balance is funded (`funded`) or the payment intent canceled.
    BankTransfer { funded: bool },
    /// A monthly subscription checked out on the hosted page with [`CARD_OK`]; then canceled
    /// through the API (`cancel`).
    Subscription { cancel: bool },
    /// A monthly subscription with a trial, for a customer on a test clock, checked out with
    /// [`CARD_OK`]; then the clock is advanced to three days before the trial ends.
    TrialEnding,
    /// A monthly subscription for a customer on a test clock, checked out with `card`; then the
    /// clock is advanced past the end of the first period, which renews it and charges the card;
    /// then, if `then` names one, the merchant acts on the renewal's invoice
    /// (`POST /v1/invoices/{id}/{then}`: `void`, `mark_uncollectible`).
    Renewal { card: &'static str, then: Option<&'static str> },
    /// A `mode=setup` checkout: [`CARD_OK`] saved on the hosted page, nothing charged.
    Setup,
    /// [`Scenario::CardPayment`], then part of its charge refunded through the API.
    Refund,
    /// A monthly subscription with a trial created through `POST /v1/subscriptions` for a customer
    /// on a test clock, without a payment method and with
    /// `trial_settings[end_behavior][missing_payment_method]=pause`; the clock advanced past the
    /// trial's end, which pauses it; then resumed through the API (`resume`).
    Paused { resume: bool },
    /// A monthly subscription checked out with [`CARD_OK`], then a customer portal session for its
    /// customer; then (`card`) the portal opened and [`CARD_OK`] saved as the new card.
    Portal { card: bool },
}

#[cfg(test)]
impl Scenario {
    /// The kinds of object it makes (`object` of each), of which the event is about one.
    fn makes(self) -> &'static [&'static str] {
        match self {
            Self::NewCustomer | Self::UpdatedCustomer => &["customer"],
            Self::TaxId { .. } => &["customer", "tax_id"],
            Self::CardPayment => {
                &["product", "price", "checkout.session", "customer", "payment_intent", "charge"]
            }
            Self::Refund => {
                &["product", "price", "checkout.session", "customer", "payment_intent", "charge", "refund"]
            }
            Self::Decline => &["product", "price", "checkout.session", "payment_intent", "charge"],
            Self::Expire => &["product", "price", "checkout.session"],
            Self::BankTransfer { .. } => {
                &["customer", "product", "price", "checkout.session", "payment_intent"]
            }
            Self::Subscription { .. } => {
                &["product", "price", "checkout.session", "customer", "subscription", "invoice"]
            }
            Self::Setup => &["checkout.session", "customer", "setup_intent"],
            Self::Paused { .. } => {
                &["test_helpers.test_clock", "customer", "product", "price", "subscription"]
            }
            Self::Portal { card: false } => &[
                "product",
                "price",
                "checkout.session",
                "customer",
                "subscription",
                "invoice",
                "billing_portal.session",
            ],
            Self::Portal { card: true } => &[
                "product",
                "price",
                "checkout.session",
                "customer",
                "subscription",
                "invoice",
                "billing_portal.session",
                "payment_method",
            ],
            Self::TrialEnding | Self::Renewal { .. } => &[
                "test_helpers.test_clock",
                "customer",
                "product",
                "price",
                "checkout.session",
                "subscription",
                "invoice",
            ],
        }
    }
}

/// How one event type is caused.
#[derive(Debug, Clone, Copy)]
pub struct Trigger {
    pub event: EventType,
    /// What is done, in one line (`kassa trigger --list`).
    pub how: &'static str,
    scenario: Scenario,
    /// The kind of object the event is about (its `data.object`): the last one of this kind the
    /// scenario made.
    about: &'static str,
}

/// How each event type kassa emits is triggered.
pub fn trigger_for(event: EventType) -> Trigger {
    use EventType as E;
    use Scenario as S;
    const PAID: &str = "a one-time checkout paid on the hosted page with the card 4242 4242 4242 4242";
    const FUNDED: &str =
        "a checkout paid by bank transfer on the hosted page, then the customer's cash balance funded";
    const CANCELED: &str =
        "a checkout paid by bank transfer on the hosted page, then its payment intent canceled";
    const RENEWED: &str = "a monthly subscription on a test clock, advanced past its first period: it renews \
                           (card 4242 4242 4242 4242)";
    let (how, scenario, about) = match event {
        E::CheckoutSessionCompleted => (PAID, S::CardPayment, "checkout.session"),
        E::CheckoutSessionExpired => {
            ("a one-time checkout expired through the API", S::Expire, "checkout.session")
        }
        E::CheckoutSessionAsyncPaymentSucceeded => {
            (FUNDED, S::BankTransfer { funded: true }, "checkout.session")
        }
        E::CheckoutSessionAsyncPaymentFailed => {
            (CANCELED, S::BankTransfer { funded: false }, "checkout.session")
        }
        E::PaymentIntentCreated | E::PaymentIntentSucceeded => (PAID, S::CardPayment, "payment_intent"),
        E::PaymentIntentPaymentFailed => (
            "a one-time checkout declined on the hosted page (card 4000 0000 0000 0002)",
            S::Decline,
            "payment_intent",
        ),
        E::PaymentIntentCanceled => (CANCELED, S::BankTransfer { funded: false }, "payment_intent"),
        E::SetupIntentSucceeded => (
            "a setup-mode checkout saving the card 4242 4242 4242 4242 on the hosted page",
            S::Setup,
            "setup_intent",
        ),
        E::CustomerCreated => ("a customer created through the API", S::NewCustomer, "customer"),
        E::CustomerUpdated => {
            ("a customer created, then renamed through the API", S::UpdatedCustomer, "customer")
        }
        E::CustomerTaxIdCreated => (
            "a customer created through the API, then given an EU VAT id",
            S::TaxId { delete: false },
            "tax_id",
        ),
        E::CustomerTaxIdDeleted => (
            "a customer created through the API, given an EU VAT id, then the id deleted",
            S::TaxId { delete: true },
            "tax_id",
        ),
        E::CustomerSubscriptionCreated => (
            "a monthly subscription checkout paid on the hosted page with the card 4242 4242 4242 4242",
            S::Subscription { cancel: false },
            "subscription",
        ),
        E::CustomerSubscriptionUpdated => (RENEWED, S::Renewal { card: CARD_OK, then: None }, "subscription"),
        E::CustomerSubscriptionDeleted => (
            "a subscription checkout paid on the hosted page, then the subscription canceled through the API",
            S::Subscription { cancel: true },
            "subscription",
        ),
        E::CustomerSubscriptionTrialWillEnd => (
            "a subscription with a 7-day trial on a test clock, advanced to 3 days before the trial ends",
            S::TrialEnding,
            "subscription",
        ),
        E::InvoiceUpcoming => (
            "a subscription with a 7-day trial on a test clock, advanced to 3 days before the trial ends: the \
             invoice the trial's end will make (it has no id, as on Stripe; the event is about its subscription)",
            S::TrialEnding,
            "subscription",
        ),
        E::CustomerSubscriptionPaused => (
            "a subscription with a 7-day trial created through the API without a payment method \
             (trial_settings[end_behavior][missing_payment_method]=pause), its test clock advanced past the trial's end",
            S::Paused { resume: false },
            "subscription",
        ),
        E::CustomerSubscriptionResumed => (
            "a subscription paused at the end of its trial (as for customer.subscription.paused), then resumed \
             through the API",
            S::Paused { resume: true },
            "subscription",
        ),
        E::InvoiceCreated | E::InvoiceFinalized | E::InvoicePaid | E::InvoicePaymentSucceeded => {
            (RENEWED, S::Renewal { card: CARD_OK, then: None }, "invoice")
        }
        E::InvoicePaymentFailed => (
            "a monthly subscription on a test clock paid with the card 4000 0000 0000 0341, advanced past \
             its first period: the renewal's charge fails",
            S::Renewal { card: CARD_FAILS_LATER, then: None },
            "invoice",
        ),
        E::InvoiceVoided => (
            "a monthly subscription on a test clock paid with the card 4000 0000 0000 0341, advanced past \
             its first period (the renewal's charge fails), then the open invoice voided through the API",
            S::Renewal { card: CARD_FAILS_LATER, then: Some("void") },
            "invoice",
        ),
        E::ChargeSucceeded => (PAID, S::CardPayment, "charge"),
        E::ChargeFailed => (
            "a one-time checkout declined on the hosted page (card 4000 0000 0000 0002)",
            S::Decline,
            "charge",
        ),
        E::ChargeRefunded | E::RefundCreated => (
            "a one-time checkout paid on the hosted page with the card 4242 4242 4242 4242, then 100 cents \
             of it refunded through the API",
            S::Refund,
            if matches!(event, E::ChargeRefunded) { "charge" } else { "refund" },
        ),
        E::BillingPortalSessionCreated => (
            "a monthly subscription checkout paid on the hosted page, then a customer portal session \
             created for its customer through the API",
            S::Portal { card: false },
            "billing_portal.session",
        ),
        E::PaymentMethodAttached => (
            "a monthly subscription checkout paid on the hosted page, then the customer portal opened \
             and the card 4242 4242 4242 4242 saved as the customer's new card",
            S::Portal { card: true },
            "payment_method",
        ),
        E::InvoiceMarkedUncollectible => (
            "a monthly subscription on a test clock paid with the card 4000 0000 0000 0341, advanced past \
             its first period (the renewal's charge fails), then the open invoice marked uncollectible \
             through the API",
            S::Renewal { card: CARD_FAILS_LATER, then: Some("mark_uncollectible") },
            "invoice",
        ),
    };
    Trigger { event, how, scenario, about }
}

/// An object the trigger made, or kassa made for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Made {
    pub object: String,
    pub id: String,
}

/// An error answer of the API, shown as kassa sent it.
#[derive(Debug)]
pub struct ApiError {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    /// The body: Stripe's `{"error": {…}}`, or the text when it is not JSON.
    pub body: Value,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = match &self.body {
            Value::String(text) => text.chars().take(2000).collect(),
            json => serde_json::to_string_pretty(json).unwrap_or_default(),
        };
        let reason = reqwest::StatusCode::from_u16(self.status).ok().and_then(|s| s.canonical_reason());
        let status = match reason {
            Some(r) => format!("{} {r}", self.status),
            None => self.status.to_string(),
        };
        write!(f, "{} {} answered {status}:\n{body}", self.method, self.path)
    }
}

impl std::error::Error for ApiError {}

/// The API of one kassa, with one account's key.
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
    /// How long a wait may take (`--timeout`).
    wait: Duration,
}

impl Api {
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let req = self.http.get(format!("{}{path}", self.base)).query(query);
        self.send("GET", path, req).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Value> {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send("POST", path, req).await
    }

    async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        let req = self.http.delete(format!("{}{path}", self.base));
        self.send("DELETE", path, req).await
    }

    async fn send(
        &self,
        method: &'static str,
        path: &str,
        req: reqwest::RequestBuilder,
    ) -> anyhow::Result<Value> {
        let resp = req
            .bearer_auth(&self.key)
            .send()
            .await
            .with_context(|| format!("reaching kassa at {}", self.base))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.with_context(|| format!("reading the answer to {method} {path}"))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !(200..300).contains(&status) {
            return Err(ApiError { method, path: path.to_owned(), status, body }.into());
        }
        Ok(body)
    }

    /// A form post to a hosted page, as a browser on that page sends it: to the page's own path on
    /// this server, with the page's origin. Answers the status, the `Location` and the body.
    async fn page_post(
        &self,
        path: &str,
        origin: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<(u16, Option<String>, String)> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Origin", origin)
            .header("Sec-Fetch-Site", "same-origin")
            .header("Sec-Fetch-Mode", "navigate")
            .header("Sec-Fetch-Dest", "document")
            .header("Accept", "text/html")
            .form(form)
            .send()
            .await
            .with_context(|| format!("reaching kassa's hosted page at {}", self.base))?;
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
        let body = resp.text().await.with_context(|| format!("reading the answer to POST {path}"))?;
        Ok((status, location, body))
    }

    /// The newest `event` whose `data.object` is `id`, among the newest events of that type.
    async fn event_about(&self, event: EventType, id: &str) -> anyhow::Result<Option<Value>> {
        let mut after: Option<String> = None;
        for _ in 0..EVENT_PAGES {
            let mut query = vec![("type", event.as_str()), ("limit", "100")];
            if let Some(a) = &after {
                query.push(("starting_after", a));
            }
            let page = self.get("/v1/events", &query).await?;
            let data = page["data"].as_array().cloned().unwrap_or_default();
            // An upcoming invoice has no id (as on Stripe): it is about its subscription.
            let about = |e: &&Value| {
                let o = &e["data"]["object"];
                o["id"] == id || (o.get("id").is_none() && o["subscription"] == id)
            };
            if let Some(found) = data.iter().find(about) {
                return Ok(Some(found.clone()));
            }
            match data.last().and_then(|e| e["id"].as_str()) {
                Some(last) if page["has_more"] == true => after = Some(last.to_owned()),
                _ => break,
            }
        }
        Ok(None)
    }
}

/// Call `look` until it finds something; after `wait`, fail saying what was `awaited`.
async fn poll<T, F, Fut>(wait: Duration, awaited: &str, mut look: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + wait;
    loop {
        if let Some(found) = look().await? {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            bail!("gave up after {} s (--timeout) waiting for {awaited}", wait.as_secs());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How the customer pays on the hosted page.
#[derive(Debug, Clone, Copy)]
enum Pay {
    Card(&'static str),
    CustomerBalance,
}

/// What paying must lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The session is complete (paid, or waiting for a bank transfer).
    Completed,
    /// The session is still open, with the declined attempt on its payment intent.
    Declined,
}

/// One trigger being run: the API and what has been made so far.
struct Run {
    api: Api,
    /// The event type, which tags what is made (`metadata[kassa_trigger]`).
    tag: &'static str,
    made: Vec<Made>,
}

impl Run {
    fn step(&self, what: &str) {
        eprintln!("-> {what}");
    }

    /// Note an object the API answered with; answers its id.
    fn note(&mut self, v: &Value) -> anyhow::Result<String> {
        let id = v["id"].as_str().with_context(|| format!("kassa answered an object without an id: {v}"))?;
        self.note_ref(v["object"].as_str().unwrap_or("object"), &v["id"]);
        Ok(id.to_owned())
    }

    /// Note the object `id` (an id, or null: nothing) of kind `object`, once.
    fn note_ref(&mut self, object: &str, id: &Value) {
        let Some(id) = id.as_str() else { return };
        if !self.made.iter().any(|m| m.id == id) {
            self.step(&format!("{object} {id}"));
            self.made.push(Made { object: object.to_owned(), id: id.to_owned() });
        }
    }

    /// Note the invoice `id` (an id, or null: nothing) and the payment intent that charged it.
    async fn note_invoice(&mut self, id: &Value) -> anyhow::Result<()> {
        let Some(id) = id.as_str() else { return Ok(()) };
        let invoice = self.api.get(&format!("/v1/invoices/{id}"), &[]).await?;
        self.note(&invoice)?;
        self.note_ref("payment_intent", &invoice["payment_intent"]);
        Ok(())
    }

    async fn create(&mut self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<String> {
        let object = self.api.post(path, form).await?;
        self.note(&object)
    }

    async fn customer(&mut self, clock: Option<&str>) -> anyhow::Result<String> {
        let mut form = vec![("email", EMAIL), ("name", NAME), ("metadata[kassa_trigger]", self.tag)];
        if let Some(clock) = clock {
            form.push(("test_clock", clock));
        }
        self.create("/v1/customers", &form).await
    }

    /// A product and its price of [`AMOUNT`] cents, monthly when `recurring`; answers the price.
    async fn price(&mut self, recurring: bool) -> anyhow::Result<String> {
        let name = format!("kassa trigger: {}", self.tag);
        let product =
            self.create("/v1/products", &[("name", &name), ("metadata[kassa_trigger]", self.tag)]).await?;
        let mut form = vec![("product", product.as_str()), ("unit_amount", AMOUNT), ("currency", "usd")];
        if recurring {
            form.push(("recurring[interval]", "month"));
        }
        self.create("/v1/prices", &form).await
    }

    /// A checkout session for one of `price`, with `extra` parameters; answers the session.
    async fn session(&mut self, price: &str, extra: &[(&str, &str)]) -> anyhow::Result<Value> {
        let mut form = vec![
            ("line_items[0][price]", price),
            ("line_items[0][quantity]", "1"),
            ("metadata[kassa_trigger]", self.tag),
        ];
        form.extend_from_slice(extra);
        let session = self.api.post("/v1/checkout/sessions", &form).await?;
        self.note(&session)?;
        Ok(session)
    }

    /// Pay `session` on its hosted page; answers the session as it is then, after checking that
    /// paying led where it was `expect`ed to.
    async fn pay(&mut self, session: &Value, pay: Pay, expect: Expect) -> anyhow::Result<Value> {
        let id = session["id"].as_str().context("a session without an id")?;
        let url = session["url"].as_str().with_context(|| format!("{id} has no page to pay on"))?;
        let expiry = format!("12/{:02}", (to_civil(SystemClock.now()).year + 5) % 100);
        let mut form = vec![("email", EMAIL), ("name", NAME)];
        let with = match pay {
            Pay::Card(number) => {
                form.extend([
                    ("payment_method", "card"),
                    ("card_number", number),
                    ("card_expiry", expiry.as_str()),
                    ("card_cvc", "123"),
                ]);
                format!("the card {}", spaced(number))
            }
            Pay::CustomerBalance => {
                form.push(("payment_method", "customer_balance"));
                "bank transfer (customer balance)".to_owned()
            }
        };
        self.step(&format!("paying {id} on the hosted page with {with}"));
        let path = format!("/pay/{id}");
        // The origin the page was served from: what the same-origin check compares a post with.
        let origin = crate::http::pages::origin_of(url);
        let (status, location, body) = self.api.page_post(&path, origin, &form).await?;
        let after = self.api.get(&format!("/v1/checkout/sessions/{id}"), &[]).await?;
        let state = after["status"].as_str().unwrap_or_default();
        let went = match expect {
            Expect::Completed => state == "complete",
            Expect::Declined => state == "open" && after["payment_intent"].is_string(),
        };
        if !went {
            let said = match (&location, page_message(&body)) {
                (Some(to), _) if (300..400).contains(&status) => format!("it sent the browser to {to}"),
                (_, Some(message)) => format!("the page said: {message}"),
                _ => format!("it answered {status}"),
            };
            bail!(
                "paying {id} on the hosted page with {with} did not {} (the session is {state}); {said}",
                if expect == Expect::Completed { "complete it" } else { "end in a decline" }
            );
        }
        for (object, field) in [
            ("customer", "customer"),
            ("payment_intent", "payment_intent"),
            ("subscription", "subscription"),
            ("invoice", "invoice"),
            ("setup_intent", "setup_intent"),
        ] {
            self.note_ref(object, &after[field]);
        }
        Ok(after)
    }

    /// A test clock at the time it is now.
    async fn clock(&mut self) -> anyhow::Result<String> {
        let now = SystemClock.now().to_string();
        let name = format!("kassa trigger: {}", self.tag);
        self.create("/v1/test_helpers/test_clocks", &[("frozen_time", &now), ("name", &name)]).await
    }

    /// Advance `clock` to `to` (`why` says where that is), and wait until it is ready.
    async fn advance(&mut self, clock: &str, to: Timestamp, why: &str) -> anyhow::Result<()> {
        self.step(&format!("advancing the test clock {clock} {why}"));
        let path = format!("/v1/test_helpers/test_clocks/{clock}");
        self.api.post(&format!("{path}/advance"), &[("frozen_time", &to.to_string())]).await?;
        let awaited = format!(
            "the test clock {clock} to finish advancing (the server goes on with it; GET {path} says when it \
             is ready)"
        );
        let api = &self.api;
        poll(api.wait, &awaited, || async {
            let c = api.get(&path, &[]).await?;
            Ok((c["status"] == "ready").then_some(()))
        })
        .await
    }

    /// A monthly subscription checked out on the hosted page with `card`, for a new customer on a
    /// new test clock when `clock`, with a trial of `trial` days; answers the subscription and the
    /// clock.
    async fn subscribe(
        &mut self,
        card: &'static str,
        clock: bool,
        trial: Option<&str>,
    ) -> anyhow::Result<(Value, Option<String>)> {
        let (clock, customer) = if clock {
            let clock = self.clock().await?;
            let customer = self.customer(Some(&clock)).await?;
            (Some(clock), Some(customer))
        } else {
            (None, None)
        };
        let price = self.price(true).await?;
        let mut extra = Vec::new();
        if let Some(c) = &customer {
            extra.push(("customer", c.as_str()));
        }
        if let Some(days) = trial {
            extra.push(("subscription_data[trial_period_days]", days));
        }
        let session = self.session(&price, &extra).await?;
        let session = self.pay(&session, Pay::Card(card), Expect::Completed).await?;
        let sub = session["subscription"].as_str().context("the completed session has no subscription")?;
        let sub = self.api.get(&format!("/v1/subscriptions/{sub}"), &[]).await?;
        self.note_invoice(&sub["latest_invoice"]).await?;
        Ok((sub, clock))
    }

    /// Open a portal session's URL as a browser would and save [`CARD_OK`] on its card form.
    async fn save_card_in_portal(&mut self, session: &Value, customer: &str) -> anyhow::Result<()> {
        let url = session["url"].as_str().context("the portal session has no url")?;
        let id = session["id"].as_str().unwrap_or_default();
        let path = url.find("/portal/").map(|i| &url[i..]).context("the portal URL has no /portal/ path")?;
        self.step(&format!("opening the portal of {customer}"));
        let opened = self.api.http.get(format!("{}{path}", self.api.base)).send().await?;
        let cookie = opened
            .headers()
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .context("opening the portal set no cookie")?
            .to_owned();
        let page_path = format!("/portal/{id}?step=payment_method");
        let page = self
            .api
            .http
            .get(format!("{}{page_path}", self.api.base))
            .header("Cookie", &cookie)
            .send()
            .await?;
        let html = page.text().await?;
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .context("the portal page has no CSRF token")?
            .to_owned();
        self.step("saving the card 4242 4242 4242 4242 in the portal");
        let resp = self
            .api
            .http
            .post(format!("{}/portal/{id}/payment_method", self.api.base))
            .header("Cookie", &cookie)
            .header("Origin", crate::http::pages::origin_of(url))
            .header("Sec-Fetch-Site", "same-origin")
            .form(&[
                ("csrf", csrf.as_str()),
                ("card_number", CARD_OK),
                ("card_expiry", "12/40"),
                ("card_cvc", "123"),
            ])
            .send()
            .await?;
        anyhow::ensure!(resp.status().as_u16() == 303, "the portal refused the card ({})", resp.status());
        let c = self.api.get(&format!("/v1/customers/{customer}"), &[]).await?;
        self.note_ref("payment_method", &c["invoice_settings"]["default_payment_method"]);
        Ok(())
    }

    /// Do what causes the event.
    async fn cause(&mut self, scenario: Scenario) -> anyhow::Result<()> {
        match scenario {
            Scenario::NewCustomer => {
                self.customer(None).await?;
            }
            Scenario::UpdatedCustomer => {
                let id = self.customer(None).await?;
                self.step(&format!("renaming {id}"));
                self.api
                    .post(&format!("/v1/customers/{id}"), &[("name", "Renamed by kassa trigger")])
                    .await?;
            }
            Scenario::TaxId { delete } => {
                let customer = self.customer(None).await?;
                let path = format!("/v1/customers/{customer}/tax_ids");
                let id = self.create(&path, &[("type", "eu_vat"), ("value", "DE123456789")]).await?;
                if delete {
                    self.step(&format!("deleting {id}"));
                    self.api.delete(&format!("{path}/{id}")).await?;
                }
            }
            Scenario::CardPayment | Scenario::Decline | Scenario::Refund => {
                let price = self.price(false).await?;
                let session = self.session(&price, &[]).await?;
                let after = if scenario == Scenario::Decline {
                    self.pay(&session, Pay::Card(CARD_DECLINED), Expect::Declined).await?
                } else {
                    self.pay(&session, Pay::Card(CARD_OK), Expect::Completed).await?
                };
                let pi = after["payment_intent"].as_str().context("the session has no payment intent")?;
                let pi = self.api.get(&format!("/v1/payment_intents/{pi}"), &[]).await?;
                self.note_ref("charge", &pi["latest_charge"]);
                if scenario == Scenario::Refund {
                    let charge = pi["latest_charge"].as_str().context("the payment intent has no charge")?;
                    self.step(&format!("refunding 100 cents of {charge}"));
                    self.create("/v1/refunds", &[("charge", charge), ("amount", "100")]).await?;
                }
            }
            Scenario::Setup => {
                let form = [
                    ("mode", "setup"),
                    ("currency", "usd"),
                    ("metadata[kassa_trigger]", self.tag),
                    ("setup_intent_data[metadata][kassa_trigger]", self.tag),
                ];
                let session = self.api.post("/v1/checkout/sessions", &form).await?;
                self.note(&session)?;
                self.pay(&session, Pay::Card(CARD_OK), Expect::Completed).await?;
            }
            Scenario::Expire => {
                let price = self.price(false).await?;
                let session = self.session(&price, &[]).await?;
                let id = session["id"].as_str().unwrap_or_default();
                self.step(&format!("expiring {id}"));
                self.api.post(&format!("/v1/checkout/sessions/{id}/expire"), &[]).await?;
            }
            Scenario::BankTransfer { funded } => {
                let customer = self.customer(None).await?;
                let price = self.price(false).await?;
                let extra =
                    [("customer", customer.as_str()), ("payment_method_types[0]", "customer_balance")];
                let session = self.session(&price, &extra).await?;
                let session = self.pay(&session, Pay::CustomerBalance, Expect::Completed).await?;
                if funded {
                    let amount = session["amount_total"].to_string();
                    let currency = session["currency"].as_str().unwrap_or("usd");
                    self.step(&format!("funding the cash balance of {customer} with {amount} {currency}"));
                    let path = format!("/v1/test_helpers/customers/{customer}/fund_cash_balance");
                    self.api.post(&path, &[("amount", &amount), ("currency", currency)]).await?;
                } else {
                    let pi =
                        session["payment_intent"].as_str().context("the session has no payment intent")?;
                    self.step(&format!("canceling {pi}"));
                    self.api.post(&format!("/v1/payment_intents/{pi}/cancel"), &[]).await?;
                }
            }
            Scenario::Subscription { cancel } => {
                let (sub, _) = self.subscribe(CARD_OK, false, None).await?;
                if cancel {
                    let id = sub["id"].as_str().unwrap_or_default();
                    self.step(&format!("canceling {id}"));
                    self.api.post(&format!("/v1/subscriptions/{id}/cancel"), &[]).await?;
                }
            }
            Scenario::Portal { card } => {
                let (sub, _) = self.subscribe(CARD_OK, false, None).await?;
                let customer =
                    sub["customer"].as_str().context("the subscription has no customer")?.to_owned();
                let session =
                    self.api.post("/v1/billing_portal/sessions", &[("customer", customer.as_str())]).await?;
                self.note(&session)?;
                if card {
                    self.save_card_in_portal(&session, &customer).await?;
                }
            }
            Scenario::TrialEnding => {
                let (sub, clock) = self.subscribe(CARD_OK, true, Some(TRIAL_DAYS)).await?;
                let trial_end = sub["trial_end"].as_i64().context("the subscription has no trial_end")?;
                let clock = clock.unwrap_or_default();
                self.advance(&clock, trial_end - 3 * DAY + MINUTE, "to 3 days before the trial ends").await?;
            }
            Scenario::Paused { resume } => {
                let clock = self.clock().await?;
                let customer = self.customer(Some(&clock)).await?;
                let price = self.price(true).await?;
                let form = [
                    ("customer", customer.as_str()),
                    ("items[0][price]", price.as_str()),
                    ("trial_period_days", TRIAL_DAYS),
                    ("trial_settings[end_behavior][missing_payment_method]", "pause"),
                    ("metadata[kassa_trigger]", self.tag),
                ];
                let sub = self.api.post("/v1/subscriptions", &form).await?;
                let id = self.note(&sub)?;
                let trial_end = sub["trial_end"].as_i64().context("the subscription has no trial_end")?;
                self.advance(&clock, trial_end + MINUTE, "past the end of the trial").await?;
                if resume {
                    self.step(&format!("resuming {id}"));
                    self.api.post(&format!("/v1/subscriptions/{id}/resume"), &[]).await?;
                }
            }
            Scenario::Renewal { card, then } => {
                let (sub, clock) = self.subscribe(card, true, None).await?;
                let end = sub["current_period_end"].as_i64().context("the subscription has no period end")?;
                let clock = clock.unwrap_or_default();
                self.advance(&clock, end + MINUTE, "past the end of the first period").await?;
                let id = sub["id"].as_str().unwrap_or_default();
                let sub = self.api.get(&format!("/v1/subscriptions/{id}"), &[]).await?;
                self.note_invoice(&sub["latest_invoice"]).await?;
                if let (Some(action), Some(invoice)) = (then, sub["latest_invoice"].as_str()) {
                    self.step(&format!("{action} on {invoice}"));
                    self.api.post(&format!("/v1/invoices/{invoice}/{action}"), &[]).await?;
                }
            }
        }
        Ok(())
    }
}

/// `4242424242424242` as `4242 4242 4242 4242`.
fn spaced(number: &str) -> String {
    let digits: Vec<char> = number.chars().collect();
    digits.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// The message a hosted page shows (a refused payment's, or an error page's), as text.
fn page_message(html: &str) -> Option<String> {
    ["payment-error", "page-error"].iter().find_map(|id| {
        let at = html.find(&format!("data-testid=\"{id}\""))?;
        let rest = &html[at..];
        let text = &rest[rest.find('>')? + 1..];
        let text = &text[..text.find('<').unwrap_or(text.len())];
        let text = text
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        (!text.is_empty()).then_some(text)
    })
}

/// `kassa trigger --list`: every type with how it is triggered.
pub fn list(as_json: bool) -> String {
    let triggers: Vec<Trigger> = EventType::ALL.iter().map(|t| trigger_for(*t)).collect();
    if as_json {
        let list: Vec<Value> =
            triggers.iter().map(|t| json!({"type": t.event.as_str(), "description": t.how})).collect();
        return serde_json::to_string_pretty(&list).unwrap_or_default();
    }
    let width = triggers.iter().map(|t| t.event.as_str().len()).max().unwrap_or(0);
    let lines: Vec<String> =
        triggers.iter().map(|t| format!("{:width$}  {}", t.event.as_str(), t.how)).collect();
    lines.join("\n")
}

/// What a trigger prints: the objects made, and the event (whole, with `--json`).
pub fn report(trigger: &Trigger, made: &[Made], about: &Made, event: &Value, as_json: bool) -> String {
    let event_id = event["id"].as_str().unwrap_or_default();
    if as_json {
        let out = json!({
            "type": trigger.event.as_str(),
            "description": trigger.how,
            "objects": made,
            "data_object": about,
            "event": event,
        });
        return serde_json::to_string_pretty(&out).unwrap_or_default();
    }
    let width = made.iter().map(|m| m.object.len()).max().unwrap_or(0);
    let mut out = format!("Triggered {}: {}.\nObjects:\n", trigger.event.as_str(), trigger.how);
    for m in made {
        let mark = if m == about { "  (data.object)" } else { "" };
        out.push_str(&format!("  {:width$}  {}{mark}\n", m.object, m.id));
    }
    out.push_str(&format!(
        "Event: {event_id} ({}, data.object {} {})",
        trigger.event.as_str(),
        about.object,
        about.id
    ));
    out
}

/// `kassa trigger`.
pub async fn run(args: TriggerArgs) -> anyhow::Result<()> {
    if args.list {
        return print(&list(args.json));
    }
    let name = args.event.unwrap_or_default();
    let event = EventType::parse(&name).ok_or_else(|| {
        anyhow!("kassa emits no `{name}` events; `kassa trigger --list` shows the types it can trigger")
    })?;
    let key = args.api_key.context("--api-key (or KASSA_SECRET_KEY) is needed")?;
    let http = crate::client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("kassa/", env!("CARGO_PKG_VERSION"), " (trigger)"))
        .build()
        .context("making the HTTP client")?;
    let api = Api {
        http,
        base: args.api_url.trim_end_matches('/').to_owned(),
        key,
        wait: Duration::from_secs(args.timeout),
    };
    let trigger = trigger_for(event);
    let mut run = Run { api, tag: event.as_str(), made: Vec::new() };
    run.cause(trigger.scenario).await?;
    let about = run
        .made
        .iter()
        .rev()
        .find(|m| m.object == trigger.about)
        .cloned()
        .with_context(|| format!("triggering {name} made no {}", trigger.about))?;
    run.step(&format!("looking for the {name} event of {} {}", about.object, about.id));
    let api = &run.api;
    let awaited = format!("a {name} event about {} {} in GET /v1/events", about.object, about.id);
    let found = poll(api.wait, &awaited, || api.event_about(event, &about.id)).await?;
    print(&report(&trigger, &run.made, &about, &found, args.json))
}

/// `text` and a newline on standard output. A reader that has gone (`kassa trigger --list | head`)
/// is no error.
fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to standard output"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every type kassa emits can be triggered, is listed once, and is about an object its
    /// scenario makes.
    #[test]
    fn every_event_type_has_a_trigger() {
        let listed = list(false);
        for t in EventType::ALL {
            let trigger = trigger_for(*t);
            assert_eq!(trigger.event, *t);
            assert!(!trigger.how.is_empty() && !trigger.how.contains('\n'), "{t:?}: {:?}", trigger.how);
            assert!(
                trigger.scenario.makes().contains(&trigger.about),
                "{t:?} is about a {} that {:?} does not make",
                trigger.about,
                trigger.scenario
            );
            let lines = listed.lines().filter(|l| l.split_whitespace().next() == Some(t.as_str())).count();
            assert_eq!(lines, 1, "{t:?} in:\n{listed}");
        }
        assert_eq!(listed.lines().count(), EventType::ALL.len());
        let as_json: Vec<Value> = serde_json::from_str(&list(true)).unwrap();
        assert_eq!(as_json.len(), EventType::ALL.len());
        assert!(as_json.iter().all(|t| t["type"].is_string() && t["description"].is_string()));
    }

    #[test]
    fn cards_and_page_messages() {
        assert_eq!(spaced(CARD_FAILS_LATER), "4000 0000 0000 0341");
        let page = r#"<p class="error" role="alert" data-testid="payment-error">Your card was
            declined &amp; that&#39;s that.</p>"#;
        assert_eq!(page_message(page).as_deref(), Some("Your card was declined & that's that."));
        assert_eq!(page_message(r#"<p data-testid="payment-error"></p>"#), None);
        let error = r#"<p class="status" role="alert" data-testid="page-error">Not found</p>"#;
        assert_eq!(page_message(error).as_deref(), Some("Not found"));
    }

    #[test]
    fn api_errors_show_stripes_body() {
        let body = json!({"error": {"type": "invalid_request_error", "code": null, "message": "Invalid API Key provided: sk_test_****abcd"}});
        let shown =
            ApiError { method: "POST", path: "/v1/customers".to_owned(), status: 401, body }.to_string();
        assert!(shown.starts_with("POST /v1/customers answered 401 Unauthorized:\n{"), "{shown}");
        let again: Value = serde_json::from_str(&shown[shown.find('{').unwrap()..]).unwrap();
        assert_eq!(again["error"]["type"], "invalid_request_error");
    }

    #[tokio::test]
    async fn a_wait_gives_up_at_its_deadline_saying_what_it_waited_for() {
        let started = Instant::now();
        let mut looks = 0;
        let err = poll(Duration::from_millis(250), "the test clock clock_1 to finish advancing", || {
            looks += 1;
            async { Ok(None::<()>) }
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert!(looks >= 2, "{looks}");
        assert!(err.contains("--timeout") && err.contains("clock_1 to finish advancing"), "{err}");
        let mut looks = 0;
        let found = poll(Duration::from_secs(5), "x", || {
            looks += 1;
            let n = looks;
            async move { Ok((n == 3).then_some(n)) }
        })
        .await
        .unwrap();
        assert_eq!(found, 3);
    }

    #[test]
    fn the_report_names_the_objects_and_the_event() {
        let trigger = trigger_for(EventType::CheckoutSessionCompleted);
        let made = vec![
            Made { object: "product".to_owned(), id: "prod_1".to_owned() },
            Made { object: "checkout.session".to_owned(), id: "cs_test_1".to_owned() },
        ];
        let event = json!({"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"id": "cs_test_1"}}});
        let text = report(&trigger, &made, &made[1], &event, false);
        assert!(
            text.contains("\n  product           prod_1\n  checkout.session  cs_test_1  (data.object)\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "Event: evt_1 (checkout.session.completed, data.object checkout.session cs_test_1)"
            ),
            "{text}"
        );
        let out: Value = serde_json::from_str(&report(&trigger, &made, &made[1], &event, true)).unwrap();
        assert_eq!(out["type"], "checkout.session.completed");
        assert_eq!(out["objects"][0], json!({"object": "product", "id": "prod_1"}));
        assert_eq!(out["data_object"], json!({"object": "checkout.session", "id": "cs_test_1"}));
        assert_eq!(out["event"], event);
    }
}
