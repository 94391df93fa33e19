//! The hosted pages (SPEC §6): `GET /pay/{id}` and the forms it posts.
//!
//! Everything works without JavaScript: each control is a plain form post answered with a 303
//! back to the page (or the page again, with the error shown inline). `static/pay.js` only makes
//! it nicer: quantities update in place through the same endpoint asking for JSON.
//!
//! Security: no key is needed (the session id, ≥128 random bits, is the capability); every POST
//! passes [`same_origin`], which refuses a request whose `Origin` is another site (403, nothing
//! changed); templates are askama's, so merchant text is escaped; the Content-Security-Policy
//! allows only this origin's stylesheet and script, no inline script, no framing by others.

use askama::Template;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use kassa_core::catalog::Customer;
use kassa_core::session::{Mode, PaymentMethodType, Session, Status};
use kassa_core::store::StoreExt;
use serde_json::{Value, json};

use crate::service::checkout::{self, PageSession, Refused};
use crate::service::pay::{self, PayForm};
use crate::state::{AppState, Ctx};

/// This origin's stylesheet and script only; no inline script; forms may post to this origin and
/// be redirected to the merchant (so no `form-action` restriction); never framed by another site.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'self'";

/// The largest form a page accepts.
const FORM_LIMIT: usize = 64 * 1024;

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

#[derive(Template)]
#[template(path = "pay.html")]
struct PayPage {
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

struct TransferView {
    amount: String,
    reference: String,
}

#[derive(Template)]
#[template(path = "closed.html")]
struct ClosedPage {
    merchant: String,
    expired: bool,
    transfer: Option<TransferView>,
    continue_url: Option<String>,
}

#[derive(Template)]
#[template(path = "three_ds.html")]
struct ThreeDsPage {
    id: String,
    merchant: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "paypal.html")]
struct PaypalPage {
    id: String,
    merchant: String,
    amount: String,
    email: Option<String>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage;

#[derive(Template)]
#[template(path = "forbidden.html")]
struct ForbiddenPage;

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
}

pub async fn show(State(ctx): State<AppState>, PageId(id): PageId) -> Response {
    render(&ctx, &id, Notes::default()).await
}

/// The page for session `id` as it is now, with `notes`.
pub async fn render(ctx: &Ctx, id: &str, notes: Notes) -> Response {
    let found = match crate::service::sessions::for_page(ctx, id).await {
        Ok(f) => f,
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    let Some((session, account)) = found else {
        return not_found();
    };
    render_session(ctx, PageSession { session, account }, notes).await
}

async fn render_session(ctx: &Ctx, p: PageSession, notes: Notes) -> Response {
    let merchant = match ctx.account_name(&p.account).await {
        Ok(name) => name,
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    match p.session.status_at(ctx.now()) {
        Status::Open => {}
        status => {
            let transfer = match bank_transfer(ctx, &p).await {
                Ok(t) => t,
                Err(e) => return crate::http::error::ApiError::from(e).into_response(),
            };
            let closed = ClosedPage {
                merchant,
                expired: status == Status::Expired,
                transfer,
                continue_url: p.session.success_url.as_ref().map(|_| pay::landing(ctx, &p.session)),
            };
            return page(StatusCode::OK, closed.render());
        }
    }
    let customer: Option<Customer> = match &p.session.customer {
        Some(c) => match ctx.store.load::<Customer>(&p.account, c).await {
            Ok(c) => c,
            Err(e) => return crate::http::error::ApiError::from(e).into_response(),
        },
        None => None,
    };
    page(StatusCode::OK, view(&p.session, merchant, customer.as_ref(), notes).render())
}

/// A completed session still waiting for a bank transfer: what to transfer and the reference.
async fn bank_transfer(ctx: &Ctx, p: &PageSession) -> crate::service::Result<Option<TransferView>> {
    use kassa_core::billing::{PaymentIntent, PaymentIntentStatus};
    if p.session.status != Status::Complete
        || p.session.payment_status != kassa_core::session::PaymentStatus::Unpaid
    {
        return Ok(None);
    }
    let Some(pi_id) = &p.session.payment_intent else { return Ok(None) };
    let pi = ctx.store.load::<PaymentIntent>(&p.account, pi_id).await?;
    Ok(pi.filter(|pi| pi.status == PaymentIntentStatus::RequiresAction).map(|pi| TransferView {
        amount: pi.currency.format(pi.amount),
        reference: kassa_core::completion::bank_reference(&pi.id),
    }))
}

fn submit_label(s: &Session) -> String {
    match (s.mode, s.trial_period_days) {
        (Mode::Subscription, Some(_)) if s.amount_total == 0 => "Start trial".to_owned(),
        (Mode::Subscription, _) => format!("Subscribe · {}", s.currency.format(s.amount_total)),
        (Mode::Payment, _) => format!("Pay {}", s.currency.format(s.amount_total)),
    }
}

fn method_label(m: PaymentMethodType) -> &'static str {
    match m {
        PaymentMethodType::Card => "Card",
        PaymentMethodType::Paypal => "PayPal",
        PaymentMethodType::CustomerBalance => "Bank transfer",
    }
}

/// How often a recurring price bills: `per month`, `every 3 months`.
fn interval_label(r: kassa_core::catalog::Recurring) -> String {
    if r.interval_count == 1 {
        format!("per {}", r.interval.as_str())
    } else {
        format!("every {} {}s", r.interval_count, r.interval.as_str())
    }
}

fn view(s: &Session, merchant: String, customer: Option<&Customer>, notes: Notes) -> PayPage {
    let c = s.currency;
    let lines: Vec<LineView> = s
        .line_items
        .iter()
        .map(|l| LineView {
            id: l.id.clone(),
            price: l.price.id.clone(),
            description: l.description.clone(),
            quantity: l.quantity,
            unit: c.format(l.price.unit_amount),
            interval: l.price.recurring.map(interval_label),
            total: c.format(l.amount_subtotal),
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
        s.line_items.iter().find_map(|l| l.price.recurring).map(interval_label).unwrap_or_default();
    let discount = s.discount.as_ref().map(|d| DiscountView {
        label: if d.from_merchant { "Discount".to_owned() } else { "Promotion code".to_owned() },
        amount: c.format(s.amount_discount),
        removable: !d.from_merchant,
    });
    let locked_email = customer.and_then(|c| c.email.clone());
    let email = notes
        .email
        .filter(|_| locked_email.is_none())
        .or_else(|| locked_email.clone())
        .or_else(|| s.customer_email.clone())
        .unwrap_or_default();
    let methods: Vec<(&'static str, &'static str)> =
        s.payment_method_types.iter().map(|m| (m.as_str(), method_label(*m))).collect();
    let selected_method = notes
        .method
        .as_deref()
        .and_then(PaymentMethodType::parse)
        .filter(|m| s.payment_method_types.contains(m))
        .or_else(|| s.payment_method_types.first().copied())
        .map_or("card", PaymentMethodType::as_str);
    PayPage {
        id: s.id.clone(),
        merchant,
        any_adjustable: lines.iter().any(|l| l.bounds.is_some()),
        lines,
        subtotal: c.format(s.amount_subtotal),
        discount,
        total: c.format(s.amount_total),
        trial_days: s.trial_period_days.filter(|_| s.mode == Mode::Subscription),
        recurring_total: c.format(recurring),
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
        submit_label: submit_label(s),
        cancel_url: s.cancel_url.clone(),
    }
}

/// The body of a page form, decoded like the API's form encoding.
async fn form(req: Request) -> Result<(HeaderMap, Value), Response> {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response())?;
    let value = crate::form::parse(&bytes).map_err(|e| {
        (StatusCode::BAD_REQUEST, format!("The form could not be read: {}", e.message)).into_response()
    })?;
    Ok((parts.headers, value))
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

fn back_to(id: &str) -> Response {
    Redirect::to(&format!("/pay/{id}")).into_response()
}

/// `POST /pay/{id}/quantities`: `quantity[<line id>]=N` for any lines, and optionally
/// `step=<line id>:±1` (the no-JS + and − buttons).
pub async fn quantities(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (headers, params) = match form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let json = wants_json(&headers);
    let current = match crate::service::sessions::for_page(&ctx, &id).await {
        Ok(Some((s, _))) => s,
        Ok(None) => return not_found(),
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    let mut wanted: Vec<(String, i64)> = Vec::new();
    if let Some(map) = params.get("quantity").and_then(Value::as_object) {
        for (line, q) in map {
            let Some(q) = q.as_str().and_then(|q| q.trim().parse::<i64>().ok()) else {
                return refused_quantity(&ctx, &id, json, &current, "Enter a whole number.".to_owned()).await;
            };
            if current.line_items.iter().any(|l| &l.id == line && l.quantity != q) {
                wanted.push((line.clone(), q));
            }
        }
    }
    let step = params.get("step").and_then(Value::as_str).and_then(|s| s.split_once(':'));
    if let Some((line, Ok(step), Some(l))) =
        step.map(|(line, n)| (line, n.parse::<i64>(), current.line_items.iter().find(|l| l.id == line)))
    {
        let base = wanted.iter().find(|(w, _)| w == line).map_or(l.quantity, |(_, q)| *q);
        wanted.retain(|(w, _)| w != line);
        wanted.push((line.to_owned(), base.saturating_add(step)));
    }
    match checkout::set_quantities(&ctx, &id, wanted).await {
        Ok(Ok(p)) if json => summary_json(&p.session, None),
        Ok(Ok(_)) => back_to(&id),
        Ok(Err(Refused::Input(e))) => refused_quantity(&ctx, &id, json, &current, e.message).await,
        Ok(Err(Refused::Unknown)) => not_found(),
        Ok(Err(Refused::Closed(_))) if json => (
            StatusCode::CONFLICT,
            axum::Json(json!({"error": "This checkout is no longer open.", "closed": true})),
        )
            .into_response(),
        Ok(Err(Refused::Closed(_))) => back_to(&id),
        Err(e) => crate::http::error::ApiError::from(e).into_response(),
    }
}

async fn refused_quantity(ctx: &Ctx, id: &str, json: bool, current: &Session, message: String) -> Response {
    if json {
        let mut r = summary_json(current, Some(message));
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return r;
    }
    render(ctx, id, Notes { quantity_error: Some(message), ..Notes::default() }).await
}

/// The live totals the script shows.
fn summary_json(s: &Session, error: Option<String>) -> Response {
    let c = s.currency;
    let lines: Vec<Value> = s
        .line_items
        .iter()
        .map(|l| json!({"id": l.id, "quantity": l.quantity, "total": c.format(l.amount_subtotal)}))
        .collect();
    let body = json!({
        "lines": lines,
        "subtotal": c.format(s.amount_subtotal),
        "discount": (s.amount_discount > 0).then(|| c.format(s.amount_discount)),
        "total": c.format(s.amount_total),
        "amount_total": s.amount_total,
        "submit_label": submit_label(s),
        "error": error,
    });
    axum::Json(body).into_response()
}

/// `POST /pay/{id}/promotion_code` with `code`.
pub async fn apply_code(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (_, params) = match form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let typed = params.get("code").and_then(Value::as_str).unwrap_or_default().to_owned();
    match checkout::apply_code(&ctx, &id, &typed).await {
        Ok(Ok(_)) | Ok(Err(Refused::Closed(_))) => back_to(&id),
        Ok(Err(Refused::Input(e))) => {
            render(&ctx, &id, Notes { code_value: typed, code_error: Some(e.message), ..Notes::default() })
                .await
        }
        Ok(Err(Refused::Unknown)) => not_found(),
        Err(e) => crate::http::error::ApiError::from(e).into_response(),
    }
}

/// `POST /pay/{id}/promotion_code/remove`.
pub async fn remove_code(State(ctx): State<AppState>, PageId(id): PageId) -> Response {
    match checkout::remove_code(&ctx, &id).await {
        Ok(Ok(_)) | Ok(Err(Refused::Closed(_))) => back_to(&id),
        Ok(Err(Refused::Input(e))) => {
            render(&ctx, &id, Notes { code_error: Some(e.message), ..Notes::default() }).await
        }
        Ok(Err(Refused::Unknown)) => not_found(),
        Err(e) => crate::http::error::ApiError::from(e).into_response(),
    }
}

fn text(params: &Value, key: &str) -> String {
    params.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// Act on what the payment flow decided.
async fn follow(ctx: &Ctx, id: &str, next: crate::service::Result<pay::Next>, notes: Notes) -> Response {
    match next {
        Ok(pay::Next::Done(url)) => Redirect::to(&url).into_response(),
        Ok(pay::Next::Refused(message)) => {
            render(ctx, id, Notes { payment_error: Some(message), ..notes }).await
        }
        Ok(pay::Next::Challenge) => Redirect::to(&format!("/pay/{id}/3ds")).into_response(),
        Ok(pay::Next::Paypal) => Redirect::to(&format!("/pay/{id}/paypal")).into_response(),
        Ok(pay::Next::Closed) => back_to(id),
        Ok(pay::Next::Unknown) => not_found(),
        Err(e) => crate::http::error::ApiError::from(e).into_response(),
    }
}

/// `POST /pay/{id}`: the payment form. The card number and CVC are read here, handed to the
/// payment processor and dropped; they are never stored or logged, nor echoed back on the page.
pub async fn submit(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (_, params) = match form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let pay_form = PayForm {
        email: text(&params, "email"),
        name: text(&params, "name"),
        payment_method: text(&params, "payment_method"),
        card_number: text(&params, "card_number"),
        card_expiry: text(&params, "card_expiry"),
        card_cvc: text(&params, "card_cvc"),
    };
    drop(params);
    let notes = Notes {
        email: Some(pay_form.email.clone()),
        name: Some(pay_form.name.clone()),
        method: Some(pay_form.payment_method.clone()),
        ..Notes::default()
    };
    let next = pay::pay(&ctx, &id, pay_form).await;
    follow(&ctx, &id, next, notes).await
}

/// `GET /pay/{id}/3ds`: the test network's 3-D Secure challenge.
pub async fn three_ds(State(ctx): State<AppState>, PageId(id): PageId) -> Response {
    match pay::pending_challenge(&ctx, &id).await {
        Ok(Some((s, account))) if s.status_at(ctx.now()) == Status::Open => {
            let merchant =
                ctx.store.get_account(&account).await.ok().flatten().map(|a| a.name).unwrap_or_default();
            page(
                StatusCode::OK,
                ThreeDsPage { id, merchant, amount: s.currency.format(s.amount_total) }.render(),
            )
        }
        Ok(_) => back_to(&id),
        Err(e) => crate::http::error::ApiError::from(e).into_response(),
    }
}

/// `POST /pay/{id}/3ds` with `result=complete|fail`.
pub async fn three_ds_result(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (_, params) = match form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let passed = text(&params, "result") == "complete";
    let next = pay::resolve_challenge(&ctx, &id, passed).await;
    follow(&ctx, &id, next, Notes::default()).await
}

/// `GET /pay/{id}/paypal`: kassa's stand-in for PayPal's approval page.
pub async fn paypal(State(ctx): State<AppState>, PageId(id): PageId) -> Response {
    match crate::service::sessions::for_page(&ctx, &id).await {
        Ok(Some((s, account))) if s.status_at(ctx.now()) == Status::Open && s.pending_buyer.is_some() => {
            let merchant =
                ctx.store.get_account(&account).await.ok().flatten().map(|a| a.name).unwrap_or_default();
            let email = s.pending_buyer.as_ref().and_then(|b| b.email.clone());
            page(
                StatusCode::OK,
                PaypalPage { id, merchant, amount: s.currency.format(s.amount_total), email }.render(),
            )
        }
        Ok(Some(_)) => back_to(&id),
        Ok(None) => not_found(),
        Err(e) => crate::http::error::ApiError::from(e).into_response(),
    }
}

/// `POST /pay/{id}/paypal` with `decision=approve|cancel`.
pub async fn paypal_decision(State(ctx): State<AppState>, PageId(id): PageId, req: Request) -> Response {
    let (_, params) = match form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let approved = text(&params, "decision") == "approve";
    let next = pay::paypal(&ctx, &id, approved).await;
    follow(&ctx, &id, next, Notes { method: Some("paypal".to_owned()), ..Notes::default() }).await
}

/// Refuse a POST that another site sent: its `Origin` (or `Sec-Fetch-Site: cross-site`) gives it
/// away. A POST without `Origin` (a client that is not a browser) passes.
pub async fn same_origin(State(ctx): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST && !from_this_site(&ctx.public_url, req.headers()) {
        let mut r = page(StatusCode::FORBIDDEN, ForbiddenPage.render());
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
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

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
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

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r.headers_mut().insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
    r
}

pub fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, NotFoundPage.render())
}

pub fn page(status: StatusCode, html: Result<String, askama::Error>) -> Response {
    match html {
        Ok(body) => {
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
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown.").into_response()
        }
    }
}

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
}
