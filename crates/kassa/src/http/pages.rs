//! The hosted pages: `GET /pay/{id}` and the forms it posts.
//!
//! Everything works without JavaScript: each control is a plain form post answered with a 303
//! back to the page (or the page again, with the error shown inline). `static/pay.js` only makes
//! it nicer: quantities update in place through the same endpoint asking for JSON.
//!
//! The handlers are thin: read the form, call one service function, and turn the [`Outcome`] it
//! ends in into a page or a redirect in one place ([`respond`]). Pages read through the services
//! ([`page::view`], [`page::approval`]), never the store.
//!
//! A browser never gets JSON from a page route: an unknown session, a bad form, a post from
//! another site, a failure of the server — each is an HTML page in the checkout's look, with the
//! right status and its message on `data-testid="page-error"` ([`error_page`]). The only JSON is
//! what `pay.js` asks for with `Accept: application/json` on the quantity form.
//!
//! Card data: the payment form is read straight into [`PayForm`], whose card is a `ValidCard` (or
//! the field errors); the card number and CVC are never in a string past [`pay_form`].
//!
//! Security: no key is needed (the session id, ≥128 random bits, is the capability); every POST
//! passes [`same_origin`], which refuses a request whose `Origin` is another site (403, nothing
//! changed); templates are askama's, so merchant text is escaped; the Content-Security-Policy
//! allows only this origin's stylesheet and script, no inline script, no framing by others.

use askama::Template;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use kassa_core::catalog::{Customer, Product};
use kassa_core::payment::validate_card;
use kassa_core::session::{Mode, PaymentMethodType, Session, Status};
use kassa_core::store::StoreError;
use kassa_core::time::Timestamp;
use serde_json::{Value, json};

use crate::form::{self, FormError};
use crate::http::BodyError;
use crate::i18n::{self, Strings};
use crate::service::checkout::{self, QuantityForm};
use crate::service::page::{self, Approval, Approving, Outcome, PageView, Place};
use crate::service::pay::{self, PayForm};
use crate::state::{AppState, Ctx};

/// This origin's stylesheet and script only; no inline script; forms may post to this origin and
/// be redirected to the merchant (so no `form-action` restriction); never framed by another site.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'self'";

/// The largest form a page accepts.
const FORM_LIMIT: usize = 64 * 1024;

/// Whether `path` is one of the hosted pages' (their errors are pages too, never JSON).
pub fn is_page_path(path: &str) -> bool {
    path == "/pay" || path.starts_with("/pay/") || super::invoice_page::is_invoice_path(path)
}

/// The session id in a page's path; an id that is not UTF-8 names no session (404 page).
pub struct PageId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PageId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Self(id)),
            Err(_) => Err(not_found()),
        }
    }
}

struct LineView {
    id: String,
    price: String,
    description: String,
    /// The product's description.
    detail: Option<String>,
    /// The placeholder image's letter: the page loads no image from another origin.
    initial: String,
    quantity: i64,
    unit: String,
    interval: Option<String>,
    total: String,
    /// `(minimum, maximum)` when the customer may change the quantity.
    bounds: Option<(i64, i64)>,
}

struct DiscountView {
    label: String,
    amount: String,
    removable: bool,
}

struct ShippingOptionView {
    rate: String,
    label: String,
    estimate: Option<String>,
    amount: String,
    checked: bool,
}

struct ShippingView {
    countries: Vec<String>,
    options: Vec<ShippingOptionView>,
}

struct FieldView {
    key: String,
    label: String,
    optional: bool,
    numeric: bool,
    max: Option<i64>,
    /// `(value, label)` of a dropdown's options; empty for text and numbers.
    options: Vec<(String, String)>,
    value: String,
}

#[derive(Template)]
#[template(path = "pay.html")]
struct PayPage {
    t: &'static Strings,
    /// What the customer typed (card fields never), shown again after a refusal.
    values: Vec<(String, String)>,
    shipping: Option<ShippingView>,
    shipping_amount: Option<String>,
    /// The session's tax when it has any: the amount, or `None` until the address.
    tax_row: Option<Option<String>>,
    billing: bool,
    countries: &'static [&'static str],
    phone: bool,
    /// `Some(required)` when a tax id is asked for.
    tax_id: Option<bool>,
    tax_types: &'static [&'static str],
    /// "Billing address same as shipping" is checked: at first, and after a post that had it.
    same_as_shipping: bool,
    fields: Vec<FieldView>,
    terms: bool,
    promotions: bool,
    ct_submit: Option<String>,
    ct_terms: Option<String>,
    ct_shipping: Option<String>,
    ct_after: Option<String>,
    id: String,
    merchant: String,
    lines: Vec<LineView>,
    any_adjustable: bool,
    subtotal: String,
    discount: Option<DiscountView>,
    total: String,
    trial_days: Option<u32>,
    recurring_total: String,
    recurring_interval: String,
    allow_codes: bool,
    code_value: String,
    code_error: Option<String>,
    quantity_error: Option<String>,
    email: String,
    email_locked: bool,
    name: String,
    methods: Vec<(&'static str, &'static str)>,
    selected_method: &'static str,
    has_card: bool,
    payment_error: Option<String>,
    submit_label: String,
    cancel_url: Option<String>,
}

impl PayPage {
    /// What the customer typed in the field `name`, or "".
    fn v(&self, name: &str) -> &str {
        self.values.iter().rev().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

struct TransferView {
    amount: String,
    reference: String,
}

#[derive(Template)]
#[template(path = "closed.html")]
struct ClosedPage {
    t: &'static Strings,
    merchant: String,
    expired: bool,
    transfer: Option<TransferView>,
    continue_url: Option<String>,
}

#[derive(Template)]
#[template(path = "three_ds.html")]
struct ThreeDsPage {
    t: &'static Strings,
    id: String,
    merchant: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "paypal.html")]
struct PaypalPage {
    t: &'static Strings,
    id: String,
    merchant: String,
    amount: String,
    email: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: &'static str,
    heading: &'a str,
    message: &'a str,
}

/// What to show besides the session: the customer's input and errors, after a refused post.
#[derive(Default)]
pub struct Notes {
    pub code_value: String,
    pub code_error: Option<String>,
    pub quantity_error: Option<String>,
    pub payment_error: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub method: Option<String>,
    /// The other fields of the payment form (never the card's), to show them again.
    pub values: Vec<(String, String)>,
    /// The browser's `Accept-Language`, for a session whose `locale` is `auto` or none.
    pub accept_language: Option<String>,
}

impl Notes {
    /// These notes with `message` shown at `place`.
    fn with_error(mut self, place: Place, message: String) -> Self {
        match place {
            Place::Quantity => self.quantity_error = Some(message),
            Place::PromotionCode => self.code_error = Some(message),
            Place::Payment => self.payment_error = Some(message),
        }
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

/// `GET /pay/{id}`.
pub async fn show(State(ctx): State<AppState>, PageId(id): PageId, headers: HeaderMap) -> Response {
    render(&ctx, &id, Notes { accept_language: accept_language(&headers), ..Notes::default() }).await
}

fn accept_language(headers: &HeaderMap) -> Option<String> {
    i18n::accept_language(headers).map(str::to_owned)
}

/// `GET /pay/{id}/recover`: an expired session's recovery URL opens a new session with the same
/// contents, and sends the customer to its page.
pub async fn recover(State(ctx): State<AppState>, PageId(id): PageId, headers: HeaderMap) -> Response {
    let t = i18n::negotiate(None, accept_language(&headers).as_deref());
    match crate::service::sessions::recover(&ctx, &id).await {
        Ok(Some(new)) => (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/pay/{new}"))]).into_response(),
        Ok(None) => error_page_in(
            t,
            StatusCode::NOT_FOUND,
            "This link no longer works",
            "There is no checkout to recover here. Go back to the shop to start again.",
        ),
        Err(e) => service_error_page_in(t, e),
    }
}

/// The page for session `id` as it is now, with `notes`.
async fn render(ctx: &Ctx, id: &str, notes: Notes) -> Response {
    let t = i18n::negotiate(None, notes.accept_language.as_deref());
    match page::view(ctx, id).await {
        Ok(Some(v)) => render_view(ctx, v, notes),
        Ok(None) => not_found_in(t),
        Err(e) => service_error_page_in(t, e),
    }
}

fn render_view(ctx: &Ctx, v: PageView, mut notes: Notes) -> Response {
    let PageView { session, merchant, customer, transfer, products } = v;
    let t = i18n::negotiate(session.collection.locale.as_deref(), notes.accept_language.as_deref());
    // What the rules and the card network said, in the page's language.
    for message in
        [&mut notes.code_error, &mut notes.quantity_error, &mut notes.payment_error].into_iter().flatten()
    {
        *message = t.rule(message);
    }
    match session.status_at(ctx.now()) {
        Status::Open => page(
            StatusCode::OK,
            checkout_page(t, &session, merchant, customer.as_ref(), &products, notes).render(),
        ),
        status => {
            let closed = ClosedPage {
                t,
                merchant,
                expired: status == Status::Expired,
                transfer: transfer.map(|tr| TransferView {
                    amount: t.money(tr.currency, tr.amount),
                    reference: tr.reference,
                }),
                continue_url: session.success_url.as_ref().map(|_| pay::landing(&ctx.public_url, &session)),
            };
            page(StatusCode::OK, closed.render())
        }
    }
}

/// The pay button's words: `submit_type` decides them (`book`, `donate`), else the mode.
fn submit_label(t: &Strings, s: &Session) -> String {
    let amount = t.money(s.currency, s.amount_total);
    let template = match (s.mode, s.has_trial(), s.collection.submit_type.as_deref()) {
        (Mode::Subscription, true, _) if s.amount_total == 0 => t.start_trial,
        (Mode::Subscription, _, _) => t.subscribe,
        (Mode::Payment, _, Some("book")) => t.book,
        (Mode::Payment, _, Some("donate")) => t.donate,
        (Mode::Payment, _, _) => t.pay,
        // Nothing is charged: the card is saved for later.
        (Mode::Setup, _, _) => t.save_card,
    };
    template.replace("{amount}", &amount)
}

fn method_label(t: &Strings, m: PaymentMethodType) -> &'static str {
    match m {
        PaymentMethodType::Card => t.card,
        PaymentMethodType::Paypal => "PayPal",
        PaymentMethodType::CustomerBalance => t.bank_transfer,
    }
}

/// How often a recurring price bills: `per month`, `every 3 months`.
fn interval_label(t: &Strings, r: kassa_core::catalog::Recurring) -> String {
    t.interval(r.interval.as_str(), r.interval_count)
}

/// A delivery estimate as the page shows it: `3–5 business_day` becomes `3–5 days`.
fn estimate_label(t: &Strings, e: kassa_core::shipping::DeliveryEstimate) -> Option<String> {
    use kassa_core::shipping::EstimateUnit;
    let unit = |b: kassa_core::shipping::EstimateBound| match b.unit {
        EstimateUnit::Hour => "h",
        EstimateUnit::Day | EstimateUnit::BusinessDay => t.days,
        EstimateUnit::Week => t.weeks,
        EstimateUnit::Month => t.months,
    };
    match (e.minimum, e.maximum) {
        (Some(a), Some(b)) if a.value == b.value => Some(format!("{} {}", b.value, unit(b))),
        (Some(a), Some(b)) => Some(format!("{}–{} {}", a.value, b.value, unit(b))),
        (Some(b), None) | (None, Some(b)) => Some(format!("{} {}", b.value, unit(b))),
        (None, None) => None,
    }
}

fn shipping_view(t: &Strings, s: &Session) -> Option<ShippingView> {
    let c = &s.collection;
    let countries = c.shipping_countries.clone()?;
    let options = c
        .shipping_options
        .iter()
        .enumerate()
        .map(|(i, r)| ShippingOptionView {
            rate: r.id.clone(),
            label: r.display_name.clone(),
            estimate: r.delivery_estimate.and_then(|e| estimate_label(t, e)),
            amount: t.money(r.currency, r.amount),
            checked: i == c.shipping_choice,
        })
        .collect();
    Some(ShippingView { countries, options })
}

fn field_views(s: &Session, values: &[(String, String)]) -> Vec<FieldView> {
    use kassa_core::session::collection::FieldType;
    s.collection
        .custom_fields
        .iter()
        .map(|f| {
            let name = format!("custom_field[{}]", f.key);
            let typed = values.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
            FieldView {
                key: f.key.clone(),
                label: f.label.clone(),
                optional: f.optional,
                numeric: f.r#type == FieldType::Numeric,
                max: f.maximum_length,
                options: f.options.iter().map(|o| (o.value.clone(), o.label.clone())).collect(),
                value: typed.or_else(|| f.default_value.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

fn checkout_page(
    t: &'static Strings,
    s: &Session,
    merchant: String,
    customer: Option<&Customer>,
    products: &[Product],
    notes: Notes,
) -> PayPage {
    let c = s.currency;
    let lines: Vec<LineView> = s
        .line_items
        .iter()
        .map(|l| LineView {
            id: l.id.clone(),
            price: l.price.id.clone(),
            description: l.description.clone(),
            detail: products.iter().find(|p| p.id == l.price.product).and_then(|p| p.description.clone()),
            initial: l.description.chars().next().map(|c| c.to_uppercase().collect()).unwrap_or_default(),
            quantity: l.quantity,
            unit: t.money(c, l.price.unit_amount),
            interval: l.price.recurring.map(|r| interval_label(t, r)),
            total: t.money(c, l.amount_subtotal),
            bounds: l.adjustable_quantity.filter(|a| a.enabled).map(|a| (a.minimum, a.maximum)),
        })
        .collect();
    let recurring: i64 = s
        .line_items
        .iter()
        .filter(|l| l.price.recurring.is_some())
        .map(|l| l.price.unit_amount.saturating_mul(l.quantity))
        .fold(0, i64::saturating_add);
    let recurring_interval =
        s.line_items.iter().find_map(|l| l.price.recurring).map(|r| interval_label(t, r)).unwrap_or_default();
    let discount = s.discount.as_ref().map(|d| DiscountView {
        label: if d.from_merchant { t.discount.to_owned() } else { t.promotion_code.to_owned() },
        amount: t.money(c, s.amount_discount),
        removable: !d.from_merchant,
    });
    // A customer's e-mail, or `customer_email`, is locked: shown read-only.
    let locked_email = customer.and_then(|c| c.email.clone()).or_else(|| s.customer_email.clone());
    let email =
        notes.email.filter(|_| locked_email.is_none()).or_else(|| locked_email.clone()).unwrap_or_default();
    let methods: Vec<(&'static str, &'static str)> =
        s.payment_method_types.iter().map(|m| (m.as_str(), method_label(t, *m))).collect();
    let selected_method = notes
        .method
        .as_deref()
        .and_then(PaymentMethodType::parse)
        .filter(|m| s.payment_method_types.contains(m))
        .or_else(|| s.payment_method_types.first().copied())
        .map_or("card", PaymentMethodType::as_str);
    let col = &s.collection;
    PayPage {
        t,
        shipping: shipping_view(t, s),
        shipping_amount: col.shipping_rate().map(|r| t.money(c, r.amount)),
        tax_row: tax_row(t, s),
        billing: col.wants_billing_address(),
        countries: kassa_core::session::collection::COUNTRIES,
        phone: col.phone,
        tax_id: col.tax_id.as_deref().map(|r| r == "if_supported"),
        tax_types: kassa_core::session::collection::TAX_ID_TYPES,
        same_as_shipping: notes.values.is_empty() || !field(&notes.values, SAME_AS_SHIPPING).is_empty(),
        fields: field_views(s, &notes.values),
        terms: col.terms_of_service.as_deref() == Some("required"),
        promotions: col.promotions.as_deref() == Some("auto"),
        ct_submit: col.custom_text.submit.clone(),
        ct_terms: col.custom_text.terms_of_service_acceptance.clone(),
        ct_shipping: col.custom_text.shipping_address.clone(),
        ct_after: col.custom_text.after_submit.clone(),
        values: notes.values,
        id: s.id.clone(),
        merchant,
        any_adjustable: lines.iter().any(|l| l.bounds.is_some()),
        lines,
        subtotal: t.money(c, s.amount_subtotal),
        discount,
        total: t.money(c, s.amount_total),
        trial_days: s.trial_period_days.filter(|_| s.mode == Mode::Subscription),
        recurring_total: t.money(c, recurring),
        recurring_interval,
        allow_codes: s.allow_promotion_codes,
        code_value: notes.code_value,
        code_error: notes.code_error,
        quantity_error: notes.quantity_error,
        email,
        email_locked: locked_email.is_some(),
        name: notes.name.or_else(|| customer.and_then(|c| c.name.clone())).unwrap_or_default(),
        has_card: s.payment_method_types.contains(&PaymentMethodType::Card),
        methods,
        selected_method,
        payment_error: notes.payment_error,
        submit_label: submit_label(t, s),
        cancel_url: s.cancel_url.clone(),
    }
}

/// `GET /pay/{id}/3ds`: the test network's 3-D Secure challenge.
pub async fn three_ds(State(ctx): State<AppState>, PageId(id): PageId, headers: HeaderMap) -> Response {
    approval_page(&ctx, &id, Approving::Challenge, |session, merchant| {
        let t = i18n::negotiate(session.collection.locale.as_deref(), accept_language(&headers).as_deref());
        let amount = t.money(session.currency, session.pending_amount.unwrap_or(session.amount_total));
        ThreeDsPage { t, id: id.clone(), merchant, amount }.render()
    })
    .await
}

/// `GET /pay/{id}/paypal`: kassa's stand-in for PayPal's approval page.
pub async fn paypal(State(ctx): State<AppState>, PageId(id): PageId, headers: HeaderMap) -> Response {
    approval_page(&ctx, &id, Approving::Paypal, |session, merchant| {
        let t = i18n::negotiate(session.collection.locale.as_deref(), accept_language(&headers).as_deref());
        let amount = t.money(session.currency, session.pending_amount.unwrap_or(session.amount_total));
        let email = session.pending_buyer.as_ref().and_then(|b| b.email.clone());
        PaypalPage { t, id: id.clone(), merchant, amount, email }.render()
    })
    .await
}

/// A page asking the customer to approve a payment; with nothing to approve, back to checkout.
async fn approval_page<F>(ctx: &Ctx, id: &str, approving: Approving, render: F) -> Response
where
    F: FnOnce(&Session, String) -> Result<String, askama::Error>,
{
    match page::approval(ctx, id, approving).await {
        Ok(Approval::Pending { session, merchant }) => page(StatusCode::OK, render(&session, merchant)),
        Ok(Approval::NotPending) => back_to(id),
        Ok(Approval::Unknown) => not_found(),
        Err(e) => service_error_page(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------------------------

/// The pairs of a page form. A body too large or that cannot be decoded is answered here, with
/// an error page.
pub(crate) async fn read_form(req: Request) -> Result<(HeaderMap, Vec<(String, String)>), Response> {
    let (parts, body) = req.into_parts();
    let mime = parts.headers.get(header::CONTENT_TYPE).map(|v| {
        let v = v.to_str().unwrap_or("");
        v.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
    });
    if mime.is_some_and(|m| m != "application/x-www-form-urlencoded") {
        let message = "The form could not be read: send it as application/x-www-form-urlencoded.";
        return Err(error_page(StatusCode::BAD_REQUEST, "Form not understood", message));
    }
    let bytes = crate::http::read_body(body, FORM_LIMIT).await.map_err(|e| match e {
        BodyError::TooLarge => {
            error_page(StatusCode::PAYLOAD_TOO_LARGE, "Form too large", "The form is too large.")
        }
        BodyError::TimedOut => form_timed_out(),
        BodyError::Unreadable => {
            error_page(StatusCode::BAD_REQUEST, "Form not understood", "The form could not be read.")
        }
    })?;
    let pairs = form::pairs(&bytes).map_err(|e| bad_form(&e))?;
    Ok((parts.headers, pairs))
}

/// A form whose body did not arrive within the body-read timeout: 408, nothing done.
fn form_timed_out() -> Response {
    let mut r = error_page(
        StatusCode::REQUEST_TIMEOUT,
        "Request timed out",
        "The form took too long to arrive, so nothing was done. Go back and send it again.",
    );
    // The rest of the body is not read: the connection cannot carry another request.
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

fn bad_form(e: &FormError) -> Response {
    let message = format!("The form could not be read: {}", e.message);
    error_page(StatusCode::BAD_REQUEST, "Form not understood", &message)
}

/// The last value sent for `name`, or "".
/// The "billing address same as shipping" checkbox (`billing-same-as-shipping`).
const SAME_AS_SHIPPING: &str = "billing_same_as_shipping";

/// With the checkbox checked, the billing address is the shipping address: copied over whatever
/// the (hidden, or without JavaScript ignored) billing fields hold.
fn copy_shipping_to_billing(pairs: &mut Vec<(String, String)>) {
    if field(pairs, SAME_AS_SHIPPING).is_empty() {
        return;
    }
    for part in ["line1", "line2", "city", "postal_code", "state", "country"] {
        let value = field(pairs, &format!("shipping_{part}"));
        let key = format!("address_{part}");
        pairs.retain(|(k, _)| *k != key);
        pairs.push((key, value));
    }
}

pub(crate) fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// The payment form, read from its pairs: the card number, expiry and CVC go straight into the
/// masking types (checked against `now`), and the strings that carried them are dropped.
pub fn pay_form(pairs: Vec<(String, String)>, now: Timestamp) -> PayForm {
    let (mut number, mut expiry, mut cvc) = (String::new(), String::new(), String::new());
    let (mut email, mut name, mut method) = (String::new(), String::new(), String::new());
    let mut page = Vec::new();
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "card_number" => &mut number,
            "card_expiry" => &mut expiry,
            "card_cvc" => &mut cvc,
            "email" => &mut email,
            "name" => &mut name,
            "payment_method" => &mut method,
            _ => {
                // What the page collects: addresses, phone, tax id, consent, custom fields.
                if page.len() < 100 {
                    page.push((key, value.chars().take(500).collect()));
                }
                continue;
            }
        };
        *slot = value;
    }
    let card_blank = [&number, &expiry, &cvc].iter().all(|f| f.trim().is_empty());
    let card = validate_card(&number, &expiry, &cvc, now);
    PayForm { email, name, payment_method: method, card, card_blank, page, languages: None }
}

/// `POST /pay/{id}/shipping` with `shipping_rate`: the customer chose another shipping option
/// (the no-JS button, or the script asking for JSON). The rest of the payment form, when it came
/// along, is shown again as typed (never the card).
pub async fn shipping(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (headers, mut pairs) = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    copy_shipping_to_billing(&mut pairs);
    let rate = field(&pairs, "shipping_rate");
    let languages = accept_language(&headers);
    let outcome = checkout::choose_shipping(&ctx, &id, &rate).await;
    if wants_json(&headers) {
        return match outcome {
            Ok(Outcome::Changed(s)) => summary_json(&s, languages.as_deref(), None),
            other => respond(&ctx, &id, other, Notes::default()).await,
        };
    }
    let form = pay_form(pairs, ctx.now());
    let notes = Notes {
        email: Some(form.email),
        name: Some(form.name),
        method: Some(form.payment_method),
        values: form.page,
        accept_language: languages,
        ..Notes::default()
    };
    match outcome {
        // Show the page with the new totals and what was typed, rather than a bare redirect.
        Ok(Outcome::Changed(_)) => render(&ctx, &id, notes).await,
        other => respond(&ctx, &id, other, notes).await,
    }
}

/// The totals' tax row: `None` without taxes; the amount once it can be computed (fixed rates
/// always, dynamic rates and automatic tax once the address is known).
fn tax_row(t: &Strings, s: &Session) -> Option<Option<String>> {
    let taxes = &s.taxes;
    if !taxes.any(&s.line_items) {
        return None;
    }
    let needs_location = taxes.automatic || s.line_items.iter().any(|l| !l.dynamic_tax_rates.is_empty());
    Some((taxes.location.is_some() || !needs_location).then(|| t.money(s.currency, taxes.amount_tax)))
}

/// `POST /pay/{id}/address`: the customer entered (or changed) their address — the no-JS
/// "Update tax" button, or the script asking for JSON. The tax follows it; the rest of the form
/// is shown again as typed (never the card).
pub async fn address(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (headers, mut pairs) = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    copy_shipping_to_billing(&mut pairs);
    let part = |prefix: &str| kassa_core::session::collection::Address {
        state: Some(field(&pairs, &format!("{prefix}_state"))),
        country: Some(field(&pairs, &format!("{prefix}_country"))),
        ..Default::default()
    };
    let (shipping, billing) = (part("shipping"), part("address"));
    let languages = accept_language(&headers);
    let outcome = checkout::set_address(&ctx, &id, shipping, billing).await;
    if wants_json(&headers) {
        return match outcome {
            Ok(Outcome::Changed(s)) => summary_json(&s, languages.as_deref(), None),
            other => respond(&ctx, &id, other, Notes::default()).await,
        };
    }
    let form = pay_form(pairs, ctx.now());
    let notes = Notes {
        email: Some(form.email),
        name: Some(form.name),
        method: Some(form.payment_method),
        values: form.page,
        accept_language: languages,
        ..Notes::default()
    };
    match outcome {
        Ok(Outcome::Changed(_)) => render(&ctx, &id, notes).await,
        other => respond(&ctx, &id, other, notes).await,
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

/// `POST /pay/{id}/quantities`: `quantity[<line id>]=N` for any lines, and optionally
/// `step=<line id>:±1` (the no-JS + and − buttons). With `Accept: application/json` (the script)
/// the answer is the new totals, or the refusal with them, as JSON.
pub async fn quantities(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (headers, pairs) = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut form = QuantityForm::default();
    for (key, value) in pairs {
        match key.strip_prefix("quantity[").and_then(|k| k.strip_suffix(']')) {
            Some(line) => form.quantities.push((line.to_owned(), value)),
            None if key == "step" => form.step = Some(value),
            None => {}
        }
    }
    let outcome = checkout::set_quantities(&ctx, &id, form).await;
    let languages = accept_language(&headers);
    if !wants_json(&headers) {
        return respond(&ctx, &id, outcome, Notes { accept_language: languages, ..Notes::default() }).await;
    }
    match outcome {
        Ok(Outcome::Changed(s)) => summary_json(&s, languages.as_deref(), None),
        Ok(Outcome::Refused { message, .. }) => match page::view(&ctx, &id).await {
            Ok(Some(v)) => {
                let mut r = summary_json(&v.session, languages.as_deref(), Some(message));
                *r.status_mut() = StatusCode::BAD_REQUEST;
                r
            }
            Ok(None) => not_found(),
            Err(e) => service_error_page(e),
        },
        Ok(Outcome::Closed) => (
            StatusCode::CONFLICT,
            axum::Json(json!({"error": "This checkout is no longer open.", "closed": true})),
        )
            .into_response(),
        other => respond(&ctx, &id, other, Notes::default()).await,
    }
}

/// The live totals the script shows.
fn summary_json(s: &Session, languages: Option<&str>, error: Option<String>) -> Response {
    let t = i18n::negotiate(s.collection.locale.as_deref(), languages);
    let c = s.currency;
    let lines: Vec<Value> = s
        .line_items
        .iter()
        .map(|l| json!({"id": l.id, "quantity": l.quantity, "total": t.money(c, l.amount_subtotal)}))
        .collect();
    let body = json!({
        "lines": lines,
        "subtotal": t.money(c, s.amount_subtotal),
        "discount": (s.amount_discount > 0).then(|| t.money(c, s.amount_discount)),
        "shipping": s.collection.shipping_rate().map(|r| t.money(c, r.amount)),
        "tax": tax_row(t, s).flatten(),
        "total": t.money(c, s.amount_total),
        "amount_total": s.amount_total,
        "submit_label": submit_label(t, s),
        "error": error.map(|e| t.rule(&e)),
    });
    axum::Json(body).into_response()
}

/// `POST /pay/{id}/promotion_code` with `code`. The client's address is the connection's peer
/// (see `crate::limits`).
pub async fn apply_code(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let (headers, pairs) = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let typed = field(&pairs, "code");
    let outcome = checkout::apply_code(&ctx, &id, &typed, client).await;
    let notes = Notes { code_value: typed, accept_language: accept_language(&headers), ..Notes::default() };
    respond(&ctx, &id, outcome, notes).await
}

/// `POST /pay/{id}/promotion_code/remove` (the form has no fields, but must be one).
pub async fn remove_code(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let headers = match read_form(req).await {
        Ok((headers, _)) => headers,
        Err(r) => return r,
    };
    let outcome = checkout::remove_code(&ctx, &id).await;
    respond(&ctx, &id, outcome, Notes { accept_language: accept_language(&headers), ..Notes::default() })
        .await
}

/// `POST /pay/{id}`: the payment form. The card number and CVC are handed to the payment
/// processor inside a `ValidCard` and dropped; they are never stored or logged, nor echoed back.
pub async fn submit(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (headers, mut pairs) = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    copy_shipping_to_billing(&mut pairs);
    let mut form = pay_form(pairs, ctx.now());
    form.languages = accept_language(&headers);
    let notes = Notes {
        email: Some(form.email.clone()),
        name: Some(form.name.clone()),
        method: Some(form.payment_method.clone()),
        values: form.page.clone(),
        accept_language: form.languages.clone(),
        ..Notes::default()
    };
    // On the heap, as a created session is (`api::sessions::create`): a large future that
    // axum's layers would otherwise copy on its way in.
    let outcome = Box::pin(pay::pay(&ctx, &id, form)).await;
    respond(&ctx, &id, outcome, notes).await
}

/// `POST /pay/{id}/3ds` with `result=complete|fail`.
pub async fn three_ds_result(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (headers, pairs) = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let passed = field(&pairs, "result") == "complete";
    let outcome = pay::resolve_challenge(&ctx, &id, passed).await;
    respond(&ctx, &id, outcome, Notes { accept_language: accept_language(&headers), ..Notes::default() })
        .await
}

/// `POST /pay/{id}/paypal` with `decision=approve|cancel`.
pub async fn paypal_decision(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (headers, pairs) = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let approved = field(&pairs, "decision") == "approve";
    let outcome = pay::paypal(&ctx, &id, approved).await;
    let notes = Notes {
        method: Some("paypal".to_owned()),
        accept_language: accept_language(&headers),
        ..Notes::default()
    };
    respond(&ctx, &id, outcome, notes).await
}

/// The one place an action's outcome becomes a page or a redirect.
async fn respond(ctx: &Ctx, id: &str, outcome: crate::service::Result<Outcome>, notes: Notes) -> Response {
    let t = i18n::negotiate(None, notes.accept_language.as_deref());
    match outcome {
        Ok(Outcome::Changed(_) | Outcome::Closed) => back_to(id),
        Ok(Outcome::Refused { place, message }) => render(ctx, id, notes.with_error(place, message)).await,
        Ok(Outcome::Limited { place, message, retry_after }) => {
            // The page as for any refusal, but with the status and header of a rate limit, so
            // that a script learns what a person reads. A page that is not 200 (the session is
            // gone) keeps its own status.
            let mut r = render(ctx, id, notes.with_error(place, message)).await;
            if r.status() == StatusCode::OK {
                *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            r
        }
        Ok(Outcome::Completed { redirect }) => see_other(&redirect),
        Ok(Outcome::Challenge) => see_other(&format!("/pay/{id}/3ds")),
        Ok(Outcome::Paypal) => see_other(&format!("/pay/{id}/paypal")),
        Ok(Outcome::Unknown) => not_found_in(t),
        Err(e) => service_error_page_in(t, e),
    }
}

fn back_to(id: &str) -> Response {
    see_other(&format!("/pay/{id}"))
}

/// A 303 to `url`. A URL a merchant gave may hold characters a header cannot (`é` in a path):
/// they are percent-encoded, as a browser would send them, instead of failing the response.
fn see_other(url: &str) -> Response {
    let location: String = url
        .bytes()
        .map(|b| if b.is_ascii_graphic() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect();
    match HeaderValue::from_str(&location) {
        Ok(v) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            r
        }
        Err(_) => {
            service_error_page(StoreError::Backend("a redirect URL is not a valid header".to_owned()).into())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// An error as a page in the checkout's look: `heading`, then `message` on `page-error`.
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    error_page_in(&i18n::EN, status, heading, message)
}

/// [`error_page`] in the language of `t`: the heading and message as `t` says them (those it
/// knows; see [`Strings::rule`]), `<html lang>` set.
pub fn error_page_in(t: &Strings, status: StatusCode, heading: &str, message: &str) -> Response {
    let (heading, message) = (t.rule(heading), t.rule(message));
    page(status, ErrorPage { lang: t.lang, heading: &heading, message: &message }.render())
}

pub fn not_found() -> Response {
    not_found_in(&i18n::EN)
}

/// The page of a checkout that does not exist, in the language of `t`.
pub fn not_found_in(t: &Strings) -> Response {
    error_page_in(
        t,
        StatusCode::NOT_FOUND,
        "Checkout not found",
        "This payment link is not valid. Check the link you were given.",
    )
}

/// A post another site sent: 403, nothing changed.
pub fn forbidden() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form can only be sent from the checkout page itself.",
    )
}

/// A page route asked with a method it does not take.
pub fn method_not_allowed(method: &Method) -> Response {
    let message = format!("This page cannot be requested with {method}.");
    error_page(StatusCode::METHOD_NOT_ALLOWED, "Not available", &message)
}

/// A handler under a page panicked (a bug): the 500 page.
pub fn panicked() -> Response {
    tracing::error!("a hosted page's handler panicked");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Something went wrong on our side. Try again in a moment.",
    )
}

/// A service that failed under a page: its status and a message fit for the customer; the cause
/// goes to the log, never to the page.
pub fn service_error_page(e: crate::service::Error) -> Response {
    service_error_page_in(&i18n::EN, e)
}

/// [`service_error_page`] in the language of `t`.
pub fn service_error_page_in(t: &Strings, e: crate::service::Error) -> Response {
    use crate::service::Error;
    use kassa_core::Error as DomainError;
    let (status, heading, message) = match e {
        Error::Domain(DomainError::Invalid(i)) => (StatusCode::BAD_REQUEST, "Request refused", i.message),
        Error::Domain(DomainError::State(m)) => (StatusCode::BAD_REQUEST, "Request refused", m),
        Error::Domain(DomainError::NotFound { .. }) => return not_found_in(t),
        Error::Idempotency(r) => (StatusCode::BAD_REQUEST, "Request refused", r.to_string()),
        Error::Card(d) => (StatusCode::PAYMENT_REQUIRED, "Payment declined", d.message),
        Error::Store(StoreError::Unstorable(m)) => (StatusCode::BAD_REQUEST, "Request refused", m),
        Error::Store(StoreError::Unavailable(cause) | StoreError::Lost(cause)) => {
            tracing::error!(%cause, "database unavailable");
            let message = "The checkout is unavailable right now. Try again in a moment.".to_owned();
            (StatusCode::SERVICE_UNAVAILABLE, "Unavailable", message)
        }
        Error::Store(
            e @ (StoreError::Conflict(_)
            | StoreError::CursorNotFound(_)
            | StoreError::NotFound
            | StoreError::Corrupt(_)
            | StoreError::Backend(_)),
        ) => {
            tracing::error!(cause = %e, "a hosted page failed");
            let message =
                "Something went wrong on our side. Nothing was charged twice: try again in a moment.";
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", message.to_owned())
        }
    };
    error_page_in(t, status, heading, &message)
}

// ---------------------------------------------------------------------------------------------
// Security and headers
// ---------------------------------------------------------------------------------------------

/// Refuse a POST that another site sent: its `Origin` (or `Sec-Fetch-Site: cross-site`) gives it
/// away. A POST without `Origin` (a client that is not a browser) passes.
pub async fn same_origin(State(ctx): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST && !from_this_site(&ctx.public_url, req.headers()) {
        return forbidden();
    }
    next.run(req).await
}

fn from_this_site(public_url: &str, headers: &HeaderMap) -> bool {
    // Browsers set `Sec-Fetch-Site` and pages cannot forge it; where it is missing (older
    // browsers, other clients) the `Origin` decides.
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site") | Some("same-site") => return false,
        Some("same-origin") => return true,
        _ => {}
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let public_origin = origin_of(public_url);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    origin == public_origin
        || (!host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}")))
}

/// `scheme://host[:port]` of a URL (also the `Origin` `kassa trigger` posts the page's form with).
pub fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../static/pay.css"))
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../../static/pay.js"))
}

pub(crate) fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r.headers_mut().insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
    r
}

/// A rendered page with the headers every page carries. A template that fails to render is a 500
/// page written without the template engine.
pub fn page(status: StatusCode, html: Result<String, askama::Error>) -> Response {
    let (status, body) = match html {
        Ok(body) => (status, body),
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, RENDER_FAILED.to_owned())
        }
    };
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Same-origin requests carry the page (so form posts send a real `Origin`); other
    // sites never learn the page's URL, which holds the session id.
    h.insert("Referrer-Policy", HeaderValue::from_static("same-origin"));
    h.insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
    r
}

/// The 500 page when the template engine itself failed.
const RENDER_FAILED: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Something went wrong</title><link rel=\"stylesheet\" href=\"/static/pay.css\"></head><body><main><h1>Something went wrong</h1><p class=\"status\" role=\"alert\" data-testid=\"page-error\">The page could not be shown. Try again in a moment.</p></main></body></html>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(origin_of("http://127.0.0.1:4242"), "http://127.0.0.1:4242");
        assert_eq!(origin_of("https://pay.example.com/base/"), "https://pay.example.com");
        let mut h = HeaderMap::new();
        assert!(from_this_site("http://a.test", &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://a.test"));
        assert!(from_this_site("http://a.test", &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.test"));
        assert!(!from_this_site("http://a.test", &h));
        h.insert(header::HOST, HeaderValue::from_static("evil.test"));
        assert!(from_this_site("http://a.test", &h), "the Host the browser used is this site too");
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!from_this_site("http://a.test", &h));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!from_this_site("http://a.test", &h));
        // What Chromium sends for the page's own form post under a strict referrer policy.
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(from_this_site("http://a.test", &h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!from_this_site("http://a.test", &h), "a sibling subdomain is another site here");
    }

    #[test]
    fn the_parsed_payment_form_shows_no_digit_of_the_card_number() {
        let body = b"email=a%40b.test&payment_method=card&card_number=4000+0027+6000+3184&card_expiry=12%2F34&card_cvc=987";
        let form = pay_form(crate::form::pairs(body).unwrap(), 1_700_000_000);
        assert!(form.card.is_ok(), "a valid card: {form:?}");
        for text in [format!("{form:?}"), format!("{form:#?}")] {
            // The only digits are the expiry's (month 12, year 2034).
            let runs: Vec<&str> =
                text.split(|c: char| !c.is_ascii_digit()).filter(|r| !r.is_empty()).collect();
            assert_eq!(runs, ["12", "2034"], "{text}");
            assert!(!text.contains("987"), "nor the CVC");
        }
        // A number the form refuses is not kept either.
        let form = pay_form(crate::form::pairs(b"card_number=4242424242424241&card_cvc=12").unwrap(), 0);
        assert!(form.card.is_err());
        let text = format!("{form:?}");
        assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
    }
}
