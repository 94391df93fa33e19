//! The customer portal's page (issue 17): `/portal/{bps_…}`, server-rendered like the checkout
//! page (askama, `static/pay.css`, the same strict headers), working without JavaScript.
//!
//! **Opening.** A session's URL is `/portal/{id}/{secret}`. Following it (while the session is
//! live: 5 minutes unused, an hour once opened) puts the secret in a cookie scoped to
//! `/portal/{id}` (HttpOnly, SameSite=Lax, `Secure` over https) and redirects to `/portal/{id}`
//! (or straight to the step a `flow_data` names), so the secret leaves the address bar and never
//! travels in a `Referer`. Every page and form after that needs the cookie; an unknown session,
//! a wrong secret and an expired session all get the same 404 page.
//!
//! **Forms.** Every POST passes the hosted pages' origin check (`pages::same_origin`) and must
//! carry the session's CSRF token. Each form names a subscription, which must be one of the
//! session's customer's; each action then calls the same service function as the API (see
//! `service::portal`), and only what the configuration enables is shown or accepted.
//!
//! Multi-step actions are links and GET forms (`?step=cancel|update|confirm|payment_method`), so
//! the page needs no script; a refusal renders the step again with its message on
//! `portal-error`.

use askama::Template;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kassa_core::billing::{Subscription, SubscriptionStatus};
use kassa_core::money::Currency;
use kassa_core::params::{
    CancellationDetailsParam, CustomerUpdate, InvoicePreview, PreviewDetails, SubscriptionCancel,
    SubscriptionItemParam, SubscriptionUpdate,
};
use kassa_core::payment::CardAttempt;
use kassa_core::portal::PortalSession;
use kassa_core::time::{Timestamp, to_civil};
use serde_json::Value;

use super::pages::{self, field, read_form};
use crate::i18n::{self, Strings};
use crate::service::portal::{self as svc, PortalData};
use crate::service::{self, Acct, billing, catalog};
use crate::state::{AppState, Ctx};

const COOKIE: &str = "kassa_portal";

/// Whether `path` is the portal's (its errors are pages, never JSON).
pub fn is_portal_path(path: &str) -> bool {
    path == "/portal" || path.starts_with("/portal/")
}

fn not_found() -> Response {
    pages::error_page(
        StatusCode::NOT_FOUND,
        "Portal link not valid",
        "This billing portal link is not valid or has expired. Go back to the site you came from and open the billing portal again.",
    )
}

fn cookie_secret(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';')
            .find_map(|c| c.trim().strip_prefix(COOKIE).and_then(|r| r.strip_prefix('=')).map(str::to_owned))
    })
}

/// The live session `id` the browser's cookie opens.
async fn signed(ctx: &Ctx, id: &str, headers: &HeaderMap) -> Result<(Acct, PortalSession), Response> {
    let Some(secret) = cookie_secret(headers) else { return Err(not_found()) };
    match svc::session_for(ctx, id, &secret).await {
        Ok(Some((acct, s))) if s.opened_at.is_some() => Ok((acct, s)),
        Ok(_) => Err(not_found()),
        Err(e) => Err(pages::service_error_page(e)),
    }
}

fn see_other(url: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(url) {
        Ok(v) => {
            r.headers_mut().insert(header::LOCATION, v);
            r
        }
        Err(_) => not_found(),
    }
}

/// Where a flow's portal opens.
fn flow_start(s: &PortalSession) -> String {
    let home = format!("/portal/{}", s.id);
    let Some(f) = &s.flow else { return home };
    let sub = f.subscription.as_deref().unwrap_or_default();
    match f.r#type.as_str() {
        "payment_method_update" => format!("{home}?step=payment_method"),
        "subscription_cancel" => format!("{home}?step=cancel&subscription={sub}"),
        "subscription_update" => format!("{home}?step=update&subscription={sub}"),
        "subscription_update_confirm" => {
            let mut url = format!("{home}?step=confirm&subscription={sub}");
            if let Some(item) = f.items.first() {
                if let Some(p) = &item.price {
                    url.push_str(&format!("&price={p}"));
                }
                if let Some(q) = item.quantity {
                    url.push_str(&format!("&quantity={q}"));
                }
            }
            url
        }
        _ => home,
    }
}

/// `GET /portal/{id}/{secret}`: the URL the API gave.
pub async fn open(State(ctx): State<AppState>, Path((id, secret)): Path<(String, String)>) -> Response {
    let (acct, _) = match svc::session_for(&ctx, &id, &secret).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return pages::service_error_page(e),
    };
    let s = match svc::open(&ctx, &acct, &id).await {
        Ok(s) => s,
        Err(e) => return pages::service_error_page(e),
    };
    let secure = if ctx.public_url.starts_with("https://") { "; Secure" } else { "" };
    let max_age = (s.expires_at - ctx.now()).max(0);
    let cookie =
        format!("{COOKIE}={secret}; Path=/portal/{id}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    let mut r = see_other(&flow_start(&s));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

// ---------------------------------------------------------------------------------------------
// The page

struct SubRow {
    id: String,
    plan: String,
    price: String,
    status: String,
    next: String,
    can_cancel: bool,
    can_resume: bool,
    can_update: bool,
}

struct CancelView {
    subscription: String,
    plan: String,
    immediately: bool,
    period_end: String,
}

struct PlanOption {
    price: String,
    label: String,
    amount: String,
    current: bool,
}

struct UpdateView {
    subscription: String,
    plan: String,
    quantity: Option<i64>,
    options: Vec<PlanOption>,
}

struct ConfirmView {
    subscription: String,
    price: String,
    label: String,
    quantity: i64,
    proration_label: String,
    proration: String,
    next_label: String,
    next_total: String,
}

struct InvoiceRow {
    id: String,
    date: String,
    amount: String,
    status: String,
    url: Option<String>,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    id: String,
    csrf: String,
    merchant: String,
    headline: Option<String>,
    return_url: Option<String>,
    privacy_url: Option<String>,
    terms_url: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    confirmation: Option<String>,
    step: &'static str,
    subs: Vec<SubRow>,
    cancel: Option<CancelView>,
    reasons: Vec<(String, String)>,
    update: Option<UpdateView>,
    confirm: Option<ConfirmView>,
    payment_method_enabled: bool,
    payment_method: Option<String>,
    email_enabled: bool,
    email: String,
    invoices_enabled: bool,
    invoices: Vec<InvoiceRow>,
}

fn date(t: Timestamp) -> String {
    let c = to_civil(t);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

fn reason_label(r: &str) -> String {
    match r {
        "too_expensive" => "It's too expensive",
        "missing_features" => "Some features are missing",
        "switched_service" => "I'm switching to a different service",
        "unused" => "I don't use the service enough",
        "customer_service" => "Customer service was less than expected",
        "too_complex" => "Ease of use was less than expected",
        "low_quality" => "Quality was less than expected",
        _ => "Other reason",
    }
    .to_owned()
}

fn status_label(s: &Subscription) -> String {
    if s.status != SubscriptionStatus::Canceled && s.cancel_at_period_end {
        return "canceling".to_owned();
    }
    s.status.as_str().to_owned()
}

/// What the page was asked for: `?step=…&subscription=…&price=…&quantity=…`.
#[derive(Default)]
struct Query {
    step: String,
    subscription: String,
    price: String,
    quantity: String,
    done: String,
}

fn query(q: &RawQuery) -> Query {
    let pairs = q.0.as_deref().and_then(|q| crate::form::pairs(q.as_bytes()).ok()).unwrap_or_default();
    Query {
        step: field(&pairs, "step"),
        subscription: field(&pairs, "subscription"),
        price: field(&pairs, "price"),
        quantity: field(&pairs, "quantity"),
        done: field(&pairs, "done"),
    }
}

/// The session's customer's subscription `id`, if it is one of theirs.
fn own<'a>(d: &'a PortalData, id: &str) -> Option<&'a svc::SubView> {
    d.subscriptions.iter().find(|s| s.sub.id == id)
}

fn t() -> &'static Strings {
    i18n::negotiate(Some("en"), None)
}

fn price_label(price: &kassa_core::catalog::Price) -> String {
    let amount = t().money(price.currency, price.unit_amount);
    match price.recurring {
        Some(r) => format!("{amount} {}", t().interval(r.interval.as_str(), r.interval_count)),
        None => amount,
    }
}

fn page_of(d: &PortalData) -> PortalPage {
    let f = &d.config.features;
    let subs = d
        .subscriptions
        .iter()
        .map(|v| {
            let s = &v.sub;
            let live = s.status != SubscriptionStatus::Canceled;
            let next = if !live {
                format!("Ended {}", date(s.ended_at.or(s.canceled_at).unwrap_or(s.current_period_end)))
            } else if s.cancel_at_period_end {
                format!("Cancels on {}", date(s.current_period_end))
            } else {
                match v.next_amount {
                    Some(a) => {
                        format!("Next invoice {} on {}", t().money(s.currency, a), date(s.current_period_end))
                    }
                    None => format!("Renews on {}", date(s.current_period_end)),
                }
            };
            let plan = v.names.join(", ");
            let price = s.items.first().map(|i| price_label(&i.price)).unwrap_or_default();
            SubRow {
                id: s.id.clone(),
                plan,
                price,
                status: status_label(s),
                next,
                can_cancel: live && !s.cancel_at_period_end && f.subscription_cancel.enabled,
                can_resume: live && s.cancel_at_period_end && f.subscription_cancel.enabled,
                can_update: live
                    && !s.cancel_at_period_end
                    && f.subscription_update.enabled
                    && s.items.len() == 1,
            }
        })
        .collect();
    let invoices = d
        .invoices
        .iter()
        .map(|inv| {
            let v = crate::views::invoice(inv);
            InvoiceRow {
                id: inv.id.clone(),
                date: date(inv.created),
                amount: t().money(inv.currency, inv.total),
                status: inv.status.as_str().to_owned(),
                url: v.get("hosted_invoice_url").and_then(Value::as_str).map(str::to_owned),
            }
        })
        .collect();
    let cancel = &f.subscription_cancel.cancellation_reason;
    PortalPage {
        id: d.session.id.clone(),
        csrf: d.session.csrf.clone(),
        merchant: d.merchant.clone(),
        headline: d.config.business_profile.headline.clone(),
        return_url: d.session.return_url.clone(),
        privacy_url: d.config.business_profile.privacy_policy_url.clone(),
        terms_url: d.config.business_profile.terms_of_service_url.clone(),
        error: None,
        notice: None,
        confirmation: None,
        step: "home",
        subs,
        cancel: None,
        reasons: if cancel.enabled {
            cancel.options.iter().map(|o| (o.clone(), reason_label(o))).collect()
        } else {
            Vec::new()
        },
        update: None,
        confirm: None,
        payment_method_enabled: f.payment_method_update,
        payment_method: d.payment_method.as_ref().map(|c| format!("{} •••• {}", brand(&c.brand), c.last4)),
        email_enabled: f.customer_update.enabled
            && f.customer_update.allowed_updates.iter().any(|u| u == "email"),
        email: d.customer.email.clone().unwrap_or_default(),
        invoices_enabled: f.invoice_history,
        invoices,
    }
}

fn brand(b: &str) -> String {
    match b {
        "visa" => "Visa".to_owned(),
        "mastercard" => "Mastercard".to_owned(),
        "amex" => "American Express".to_owned(),
        other => {
            let mut c = other.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        }
    }
}

fn render(status: StatusCode, page: PortalPage) -> Response {
    pages::page(status, page.render())
}

/// The message a refused service call shows on the page, and its status.
fn refusal(e: service::Error) -> Result<(StatusCode, String), Box<Response>> {
    use kassa_core::Error as D;
    match e {
        service::Error::Domain(D::Invalid(i)) => Ok((StatusCode::BAD_REQUEST, i.message)),
        service::Error::Domain(D::State(m)) => Ok((StatusCode::BAD_REQUEST, m)),
        other => Err(Box::new(pages::service_error_page(other))),
    }
}

/// The page at `q`'s step, with `error` shown.
async fn show_step(
    ctx: &Ctx,
    acct: &Acct,
    d: PortalData,
    q: &Query,
    error: Option<(StatusCode, String)>,
) -> Response {
    let mut page = page_of(&d);
    let (mut status, error) = match error {
        Some((s, m)) => (s, Some(m)),
        None => (StatusCode::OK, None),
    };
    page.error = error;
    page.notice = match q.done.as_str() {
        "canceled" => Some("Your subscription has been canceled.".to_owned()),
        "cancel_scheduled" => Some("Your subscription will be canceled at the end of its period.".to_owned()),
        "resumed" => Some("Your subscription has been renewed.".to_owned()),
        "updated" => Some("Your plan has been updated.".to_owned()),
        "payment_method" => Some("Your payment method has been updated.".to_owned()),
        "customer" => Some("Your billing information has been updated.".to_owned()),
        _ => None,
    };
    let f = &d.config.features;
    let sub = own(&d, &q.subscription).filter(|v| v.sub.status != SubscriptionStatus::Canceled);
    let refuse = |page: &mut PortalPage, status: &mut StatusCode, m: &str| {
        page.step = "home";
        page.error.get_or_insert_with(|| m.to_owned());
        *status = StatusCode::BAD_REQUEST;
    };
    match q.step.as_str() {
        "" | "home" => {}
        "done" => {
            page.step = "done";
            page.confirmation =
                d.session.flow.as_ref().and_then(|f| f.after_completion.custom_message.clone());
        }
        "cancel" => match sub {
            Some(v) if f.subscription_cancel.enabled && !v.sub.cancel_at_period_end => {
                page.step = "cancel";
                page.cancel = Some(CancelView {
                    subscription: v.sub.id.clone(),
                    plan: v.names.join(", "),
                    immediately: f.subscription_cancel.mode == "immediately",
                    period_end: date(v.sub.current_period_end),
                });
            }
            _ => refuse(&mut page, &mut status, "This subscription cannot be canceled here."),
        },
        "update" | "confirm" => match sub {
            Some(v)
                if f.subscription_update.enabled && !v.sub.cancel_at_period_end && v.sub.items.len() == 1 =>
            {
                let item = &v.sub.items[0];
                let quantity_allowed = f.subscription_update.allows("quantity");
                if q.step == "update" {
                    page.step = "update";
                    page.update = Some(UpdateView {
                        subscription: v.sub.id.clone(),
                        plan: v.names.join(", "),
                        quantity: quantity_allowed.then_some(item.quantity),
                        options: offered(&d, &v.sub)
                            .map(|(p, name)| PlanOption {
                                price: p.id.clone(),
                                label: name.clone(),
                                amount: price_label(p),
                                current: p.id == item.price.id,
                            })
                            .collect(),
                    });
                } else {
                    match confirm_view(ctx, acct, &d, v, q).await {
                        Ok(c) => {
                            page.step = "confirm";
                            page.confirm = Some(c);
                        }
                        Err(Ok((s, m))) => {
                            refuse(&mut page, &mut status, &m);
                            status = s;
                        }
                        Err(Err(r)) => return *r,
                    }
                }
            }
            _ => refuse(&mut page, &mut status, "This subscription's plan cannot be changed here."),
        },
        "payment_method" if f.payment_method_update => page.step = "payment_method",
        _ => refuse(&mut page, &mut status, "This page does not exist in the billing portal."),
    }
    render(status, page)
}

/// The prices the configuration offers that `sub` could switch to: recurring like it, in its
/// currency and on its interval.
fn offered<'a>(
    d: &'a PortalData,
    sub: &'a Subscription,
) -> impl Iterator<Item = &'a (kassa_core::catalog::Price, String)> {
    let recurring = sub.items.first().and_then(|i| i.price.recurring);
    d.prices
        .iter()
        .filter(move |(p, _)| p.currency == sub.currency && p.recurring.is_some() && p.recurring == recurring)
}

/// The change `q` asks for on `v`: (item, price, quantity), checked against the configuration.
fn change_of(
    d: &PortalData,
    v: &svc::SubView,
    price: &str,
    quantity: &str,
) -> Result<(String, String, i64), String> {
    let item = &v.sub.items[0];
    let f = &d.config.features.subscription_update;
    let price = if price.is_empty() { item.price.id.clone() } else { price.to_owned() };
    if price != item.price.id && !(f.allows("price") && offered(d, &v.sub).any(|(p, _)| p.id == price)) {
        return Err("Choose one of the plans shown.".to_owned());
    }
    let quantity = if quantity.is_empty() {
        item.quantity
    } else {
        match quantity.trim().parse::<i64>() {
            Ok(q) if (1..=999_999).contains(&q) => q,
            _ => return Err("The quantity must be a whole number between 1 and 999999.".to_owned()),
        }
    };
    if quantity != item.quantity && !f.allows("quantity") {
        return Err("The quantity cannot be changed here.".to_owned());
    }
    if price == item.price.id && quantity == item.quantity {
        return Err("This is already your plan: choose another plan or quantity.".to_owned());
    }
    Ok((item.id.clone(), price, quantity))
}

type StepError = Result<(StatusCode, String), Box<Response>>;

async fn confirm_view(
    ctx: &Ctx,
    acct: &Acct,
    d: &PortalData,
    v: &svc::SubView,
    q: &Query,
) -> Result<ConfirmView, StepError> {
    let (item, price, quantity) =
        change_of(d, v, &q.price, &q.quantity).map_err(|m| Ok((StatusCode::BAD_REQUEST, m)))?;
    let behavior = d.config.features.subscription_update.proration_behavior.clone();
    let preview = InvoicePreview {
        subscription: Some(v.sub.id.clone()),
        subscription_details: Some(PreviewDetails {
            items: Some(vec![SubscriptionItemParam {
                id: Some(item),
                price: Some(price.clone()),
                quantity: Some(kassa_core::params::Int(quantity)),
                deleted: None,
                metadata: None,
            }]),
            proration_behavior: Some(behavior.clone()),
            proration_date: None,
        }),
        ..InvoicePreview::default()
    };
    let inv = billing::preview_invoice(ctx, acct, preview).await.map_err(refusal)?;
    let proration: i64 = inv.lines.iter().filter(|l| l.proration).map(|l| l.amount - l.discount_amount).sum();
    let label =
        d.prices.iter().find(|(p, _)| p.id == price).map_or_else(|| v.names.join(", "), |(_, n)| n.clone());
    let c: Currency = inv.currency;
    let (proration_label, next_label) = if behavior == "always_invoice" {
        ("Charged now for the rest of this period".to_owned(), "Invoiced now".to_owned())
    } else {
        (
            "Adjustment for the rest of this period".to_owned(),
            format!("Next invoice on {}", date(inv.period_end.max(v.sub.current_period_end))),
        )
    };
    Ok(ConfirmView {
        subscription: v.sub.id.clone(),
        price,
        label,
        quantity,
        proration_label,
        proration: t().money(c, proration),
        next_label,
        next_total: t().money(c, inv.amount_due),
    })
}

/// `GET /portal/{id}`.
pub async fn show(
    State(ctx): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    q: RawQuery,
) -> Response {
    let (acct, s) = match signed(&ctx, &id, &headers).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let d = match svc::data(&ctx, &acct, s).await {
        Ok(d) => d,
        Err(e) => return pages::service_error_page(e),
    };
    show_step(&ctx, &acct, d, &query(&q), None).await
}

// ---------------------------------------------------------------------------------------------
// The forms

/// A portal form: the session, its data and the form's pairs, once the CSRF token is checked.
async fn form(
    ctx: &Ctx,
    id: &str,
    req: Request,
) -> Result<(Acct, PortalData, Vec<(String, String)>), Response> {
    let (acct, s) = signed(ctx, id, req.headers()).await?;
    let (_, pairs) = read_form(req).await?;
    let sent = field(&pairs, "csrf");
    if sent.is_empty() || !bool::from(subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), s.csrf.as_bytes())) {
        return Err(pages::error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form is out of date or was not sent from the billing portal: reload the page and try again.",
        ));
    }
    let d = svc::data(ctx, &acct, s).await.map_err(pages::service_error_page)?;
    Ok((acct, d, pairs))
}

/// After a change: the flow's `after_completion` when the change was the flow's, else the home
/// page with a notice.
fn done(d: &PortalData, flow_type: &str, notice: &str) -> Response {
    let home = format!("/portal/{}", d.session.id);
    match &d.session.flow {
        Some(f)
            if f.r#type == flow_type
                || (flow_type == "subscription_update" && f.r#type == "subscription_update_confirm") =>
        {
            match f.after_completion.r#type.as_str() {
                "redirect" => see_other(f.after_completion.redirect_url.as_deref().unwrap_or(&home)),
                "hosted_confirmation" => see_other(&format!("{home}?step=done")),
                _ => see_other(&format!("{home}?done={notice}")),
            }
        }
        _ => see_other(&format!("{home}?done={notice}")),
    }
}

/// The page again at `step` with `message`.
async fn again(ctx: &Ctx, acct: &Acct, d: PortalData, q: Query, e: (StatusCode, String)) -> Response {
    show_step(ctx, acct, d, &q, Some(e)).await
}

fn step(step: &str, subscription: &str) -> Query {
    Query { step: step.to_owned(), subscription: subscription.to_owned(), ..Query::default() }
}

const NOT_YOURS: &str = "This subscription cannot be changed here.";

/// `POST /portal/{id}/cancel`: `subscription`, `reason`, `comment`.
pub async fn cancel(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (acct, d, pairs) = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let sub_id = field(&pairs, "subscription");
    let f = &d.config.features.subscription_cancel;
    let ok = f.enabled
        && own(&d, &sub_id)
            .is_some_and(|v| v.sub.status != SubscriptionStatus::Canceled && !v.sub.cancel_at_period_end);
    if !ok {
        return again(&ctx, &acct, d, Query::default(), (StatusCode::BAD_REQUEST, NOT_YOURS.to_owned()))
            .await;
    }
    let reason = field(&pairs, "reason");
    let known = f.cancellation_reason.enabled && f.cancellation_reason.options.contains(&reason);
    if !reason.is_empty() && !known {
        let q = step("cancel", &sub_id);
        return again(
            &ctx,
            &acct,
            d,
            q,
            (StatusCode::BAD_REQUEST, "Choose one of the reasons shown.".to_owned()),
        )
        .await;
    }
    let immediately = f.mode == "immediately";
    let comment: String = field(&pairs, "comment").chars().take(500).collect();
    let details = (!reason.is_empty() || !comment.trim().is_empty()).then(|| CancellationDetailsParam {
        comment: Some(comment.trim().to_owned()),
        feedback: Some(reason.clone()),
    });
    let result = if immediately {
        let p = SubscriptionCancel { cancellation_details: details, ..SubscriptionCancel::default() };
        billing::cancel(&ctx, &acct, &sub_id, p).await
    } else {
        let p = SubscriptionUpdate {
            cancel_at_period_end: Some(kassa_core::params::Bool(true)),
            cancellation_details: details,
            ..SubscriptionUpdate::default()
        };
        billing::update_subscription(&ctx, &acct, &sub_id, p).await
    };
    match result {
        Ok(_) => done(&d, "subscription_cancel", if immediately { "canceled" } else { "cancel_scheduled" }),
        Err(e) => match refusal(e) {
            Ok(m) => again(&ctx, &acct, d, step("cancel", &sub_id), m).await,
            Err(r) => *r,
        },
    }
}

/// `POST /portal/{id}/resume`: un-cancel a subscription set to cancel at its period's end.
pub async fn resume(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (acct, d, pairs) = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let sub_id = field(&pairs, "subscription");
    let ok = d.config.features.subscription_cancel.enabled
        && own(&d, &sub_id)
            .is_some_and(|v| v.sub.status != SubscriptionStatus::Canceled && v.sub.cancel_at_period_end);
    if !ok {
        return again(&ctx, &acct, d, Query::default(), (StatusCode::BAD_REQUEST, NOT_YOURS.to_owned()))
            .await;
    }
    let p = SubscriptionUpdate {
        cancel_at_period_end: Some(kassa_core::params::Bool(false)),
        ..SubscriptionUpdate::default()
    };
    match billing::update_subscription(&ctx, &acct, &sub_id, p).await {
        Ok(_) => see_other(&format!("/portal/{}?done=resumed", d.session.id)),
        Err(e) => match refusal(e) {
            Ok(m) => again(&ctx, &acct, d, Query::default(), m).await,
            Err(r) => *r,
        },
    }
}

/// `POST /portal/{id}/update`: `subscription`, `price`, `quantity`; the configuration's
/// `proration_behavior`, as `POST /subscriptions/{id}` with `items`.
pub async fn update(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (acct, d, pairs) = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let sub_id = field(&pairs, "subscription");
    let Some(v) = own(&d, &sub_id).filter(|v| {
        d.config.features.subscription_update.enabled
            && v.sub.status != SubscriptionStatus::Canceled
            && !v.sub.cancel_at_period_end
            && v.sub.items.len() == 1
    }) else {
        return again(&ctx, &acct, d, Query::default(), (StatusCode::BAD_REQUEST, NOT_YOURS.to_owned()))
            .await;
    };
    let (item, price, quantity) = match change_of(&d, v, &field(&pairs, "price"), &field(&pairs, "quantity"))
    {
        Ok(c) => c,
        Err(m) => return again(&ctx, &acct, d, step("update", &sub_id), (StatusCode::BAD_REQUEST, m)).await,
    };
    let p = SubscriptionUpdate {
        items: Some(vec![SubscriptionItemParam {
            id: Some(item),
            price: Some(price),
            quantity: Some(kassa_core::params::Int(quantity)),
            deleted: None,
            metadata: None,
        }]),
        proration_behavior: Some(d.config.features.subscription_update.proration_behavior.clone()),
        ..SubscriptionUpdate::default()
    };
    match billing::update_subscription(&ctx, &acct, &sub_id, p).await {
        Ok(_) => done(&d, "subscription_update", "updated"),
        Err(e) => match refusal(e) {
            Ok(m) => again(&ctx, &acct, d, step("update", &sub_id), m).await,
            Err(r) => *r,
        },
    }
}

/// `POST /portal/{id}/payment_method`: the card form. The card is checked as the checkout page
/// checks it and tried with the test network (nothing charged); a decline is shown.
pub async fn payment_method(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (acct, d, pairs) = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !d.config.features.payment_method_update {
        return again(
            &ctx,
            &acct,
            d,
            Query::default(),
            (StatusCode::BAD_REQUEST, "Payment methods cannot be changed here.".to_owned()),
        )
        .await;
    }
    let q = step("payment_method", "");
    let form = pages::pay_form(pairs, ctx.now());
    let card = match form.card {
        Ok(c) => c,
        Err(errors) => {
            let m = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
            return again(&ctx, &acct, d, q, (StatusCode::BAD_REQUEST, m)).await;
        }
    };
    let Some(currency) = d.subscriptions.first().map(|v| v.sub.currency).or_else(|| Currency::parse("usd"))
    else {
        return not_found();
    };
    match ctx.processor.pay_card(&card, 0, currency).await {
        CardAttempt::Succeeded => {}
        CardAttempt::Declined(decline) => {
            return again(&ctx, &acct, d, q, (StatusCode::PAYMENT_REQUIRED, decline.message)).await;
        }
        CardAttempt::RequiresAction(_) => {
            let m = "This card asks for 3-D Secure authentication, which the billing portal cannot do yet: use another card.";
            return again(&ctx, &acct, d, q, (StatusCode::PAYMENT_REQUIRED, m.to_owned())).await;
        }
    }
    let details = card.details(&ctx.fingerprint_key, &acct.id);
    let saved = serde_json::to_value(ctx.processor.saved_behaviour(&card)).unwrap_or(Value::Null);
    drop(card);
    match svc::attach_card(&ctx, &acct, &d.customer.id, details, saved).await {
        Ok(_) => done(&d, "payment_method_update", "payment_method"),
        Err(e) => match refusal(e) {
            Ok(m) => again(&ctx, &acct, d, q, m).await,
            Err(r) => *r,
        },
    }
}

/// `POST /portal/{id}/customer`: the billing email, as `POST /customers/{id}`.
pub async fn customer(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (acct, d, pairs) = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let cu = &d.config.features.customer_update;
    if !(cu.enabled && cu.allowed_updates.iter().any(|u| u == "email")) {
        return again(
            &ctx,
            &acct,
            d,
            Query::default(),
            (StatusCode::BAD_REQUEST, "Billing information cannot be changed here.".to_owned()),
        )
        .await;
    }
    let email = field(&pairs, "email").trim().to_owned();
    if email.is_empty() {
        return again(
            &ctx,
            &acct,
            d,
            Query::default(),
            (StatusCode::BAD_REQUEST, "Enter your billing email.".to_owned()),
        )
        .await;
    }
    let p = CustomerUpdate { email: Some(email), ..CustomerUpdate::default() };
    match catalog::update_customer(&ctx, &acct, &d.customer.id, p).await {
        Ok(_) => see_other(&format!("/portal/{}?done=customer", d.session.id)),
        Err(e) => match refusal(e) {
            Ok(m) => again(&ctx, &acct, d, Query::default(), m).await,
            Err(r) => *r,
        },
    }
}
