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
use kassa_core::time::Timestamp;
use serde_json::Value;

use super::pages::{self, field, read_form};
use crate::i18n::portal::PortalStrings;
use crate::i18n::{self, Strings};
use crate::service::portal::{self as svc, PortalData};
use crate::service::{self, Acct, billing, catalog};
use crate::state::{AppState, Ctx};

const COOKIE: &str = "kassa_portal";

/// Whether `path` is the portal's (its errors are pages, never JSON).
pub fn is_portal_path(path: &str) -> bool {
    path == "/portal" || path.starts_with("/portal/")
}

fn not_found(t: &Strings) -> Response {
    pages::error_page_in(
        t,
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

/// The page's language: the session's `locale`, else (`auto` or none) the browser's
/// `Accept-Language`, as the checkout page's.
fn language(s: &PortalSession, headers: &HeaderMap) -> &'static Strings {
    i18n::negotiate(s.locale.as_deref(), i18n::accept_language(headers))
}

/// The live session `id` the browser's cookie opens, and the page's language.
async fn signed(
    ctx: &Ctx,
    id: &str,
    headers: &HeaderMap,
) -> Result<(Acct, PortalSession, &'static Strings), Response> {
    let t = i18n::browser_language(headers);
    let Some(secret) = cookie_secret(headers) else { return Err(not_found(t)) };
    match svc::session_for(ctx, id, &secret).await {
        Ok(Some((acct, s))) if s.opened_at.is_some() => {
            let t = language(&s, headers);
            Ok((acct, s, t))
        }
        Ok(_) => Err(not_found(t)),
        Err(e) => Err(pages::service_error_page_in(t, e)),
    }
}

fn see_other(url: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(url) {
        Ok(v) => {
            r.headers_mut().insert(header::LOCATION, v);
            r
        }
        Err(_) => not_found(&i18n::EN),
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
pub async fn open(
    State(ctx): State<AppState>,
    Path((id, secret)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let t = i18n::browser_language(&headers);
    let (acct, s) = match svc::session_for(&ctx, &id, &secret).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(t),
        Err(e) => return pages::service_error_page_in(t, e),
    };
    let t = language(&s, &headers);
    let s = match svc::open(&ctx, &acct, &id).await {
        Ok(s) => s,
        Err(e) => return pages::service_error_page_in(t, e),
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
    /// The status's label in the page's language, and Stripe's code (`canceling` for one set
    /// to cancel at its period's end).
    status: String,
    status_code: String,
    next: String,
    can_cancel: bool,
    can_resume: bool,
    can_update: bool,
}

struct CancelView {
    subscription: String,
    heading: String,
    /// When the subscription ends.
    when: String,
}

struct PlanOption {
    price: String,
    label: String,
    amount: String,
    current: bool,
}

struct UpdateView {
    subscription: String,
    heading: String,
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
    status_code: String,
    url: Option<String>,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    t: &'static Strings,
    p: &'static PortalStrings,
    return_to: String,
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

fn status_code(s: &Subscription) -> String {
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

fn price_label(t: &Strings, price: &kassa_core::catalog::Price) -> String {
    let amount = t.money(price.currency, price.unit_amount);
    match price.recurring {
        Some(r) => format!("{amount} {}", t.interval(r.interval.as_str(), r.interval_count)),
        None => amount,
    }
}

fn page_of(t: &'static Strings, d: &PortalData) -> PortalPage {
    let p = i18n::portal::of(t);
    let date = |at: Timestamp| p.date(at);
    let f = &d.config.features;
    let subs = d
        .subscriptions
        .iter()
        .map(|v| {
            let s = &v.sub;
            let live = s.status != SubscriptionStatus::Canceled;
            let next = if !live {
                p.ended.replace("{date}", &date(s.ended_at.or(s.canceled_at).unwrap_or(s.current_period_end)))
            } else if s.cancel_at_period_end {
                p.cancels_on.replace("{date}", &date(s.current_period_end))
            } else {
                match v.next_amount {
                    Some(a) => p
                        .next_invoice
                        .replace("{amount}", &t.money(s.currency, a))
                        .replace("{date}", &date(s.current_period_end)),
                    None => p.renews_on.replace("{date}", &date(s.current_period_end)),
                }
            };
            let plan = v.names.join(", ");
            let price = s.items.first().map(|i| price_label(t, &i.price)).unwrap_or_default();
            let code = status_code(s);
            SubRow {
                id: s.id.clone(),
                plan,
                price,
                status: p.status(&code),
                status_code: code,
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
                amount: t.money(inv.currency, inv.total),
                status: p.invoice_status(inv.status.as_str()),
                status_code: inv.status.as_str().to_owned(),
                url: v.get("hosted_invoice_url").and_then(Value::as_str).map(str::to_owned),
            }
        })
        .collect();
    let cancel = &f.subscription_cancel.cancellation_reason;
    PortalPage {
        t,
        p,
        return_to: p.return_to.replace("{merchant}", &d.merchant),
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
            cancel.options.iter().map(|o| (o.clone(), p.reason(o).to_owned())).collect()
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

/// The message a refused service call shows on the page (in the page's language where it is
/// known, see [`Strings::rule`]), and its status.
fn refusal(t: &Strings, e: service::Error) -> Result<(StatusCode, String), Box<Response>> {
    use kassa_core::Error as D;
    match e {
        service::Error::Domain(D::Invalid(i)) => Ok((StatusCode::BAD_REQUEST, t.rule(&i.message))),
        service::Error::Domain(D::State(m)) => Ok((StatusCode::BAD_REQUEST, t.rule(&m))),
        other => Err(Box::new(pages::service_error_page_in(t, other))),
    }
}

/// The page at `q`'s step, with `error` shown.
async fn show_step(
    ctx: &Ctx,
    acct: &Acct,
    t: &'static Strings,
    d: PortalData,
    q: &Query,
    error: Option<(StatusCode, String)>,
) -> Response {
    let mut page = page_of(t, &d);
    let p = page.p;
    let (mut status, error) = match error {
        Some((s, m)) => (s, Some(m)),
        None => (StatusCode::OK, None),
    };
    page.error = error;
    page.notice = match q.done.as_str() {
        "canceled" => Some(p.notice_canceled.to_owned()),
        "cancel_scheduled" => Some(p.notice_cancel_scheduled.to_owned()),
        "resumed" => Some(p.notice_resumed.to_owned()),
        "updated" => Some(p.notice_updated.to_owned()),
        "payment_method" => Some(p.notice_payment_method.to_owned()),
        "customer" => Some(p.notice_customer.to_owned()),
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
                    heading: p.cancel_heading.replace("{plan}", &v.names.join(", ")),
                    when: if f.subscription_cancel.mode == "immediately" {
                        p.ends_now.to_owned()
                    } else {
                        p.active_until.replace("{date}", &p.date(v.sub.current_period_end))
                    },
                });
            }
            _ => refuse(&mut page, &mut status, p.cannot_cancel),
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
                        heading: p.change_heading.replace("{plan}", &v.names.join(", ")),
                        quantity: quantity_allowed.then_some(item.quantity),
                        options: offered(&d, &v.sub)
                            .map(|(pr, name)| PlanOption {
                                price: pr.id.clone(),
                                label: name.clone(),
                                amount: price_label(t, pr),
                                current: pr.id == item.price.id,
                            })
                            .collect(),
                    });
                } else {
                    match confirm_view(ctx, acct, t, &d, v, q).await {
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
            _ => refuse(&mut page, &mut status, p.cannot_change_plan),
        },
        "payment_method" if f.payment_method_update => page.step = "payment_method",
        _ => refuse(&mut page, &mut status, p.no_such_step),
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
    p: &PortalStrings,
    d: &PortalData,
    v: &svc::SubView,
    price: &str,
    quantity: &str,
) -> Result<(String, String, i64), String> {
    let item = &v.sub.items[0];
    let f = &d.config.features.subscription_update;
    let price = if price.is_empty() { item.price.id.clone() } else { price.to_owned() };
    if price != item.price.id && !(f.allows("price") && offered(d, &v.sub).any(|(p, _)| p.id == price)) {
        return Err(p.choose_plan_shown.to_owned());
    }
    let quantity = if quantity.is_empty() {
        item.quantity
    } else {
        match quantity.trim().parse::<i64>() {
            Ok(q) if (1..=999_999).contains(&q) => q,
            _ => return Err(p.quantity_range.to_owned()),
        }
    };
    if quantity != item.quantity && !f.allows("quantity") {
        return Err(p.quantity_fixed.to_owned());
    }
    if price == item.price.id && quantity == item.quantity {
        return Err(p.same_plan.to_owned());
    }
    Ok((item.id.clone(), price, quantity))
}

type StepError = Result<(StatusCode, String), Box<Response>>;

async fn confirm_view(
    ctx: &Ctx,
    acct: &Acct,
    t: &Strings,
    d: &PortalData,
    v: &svc::SubView,
    q: &Query,
) -> Result<ConfirmView, StepError> {
    let p = i18n::portal::of(t);
    let (item, price, quantity) =
        change_of(p, d, v, &q.price, &q.quantity).map_err(|m| Ok((StatusCode::BAD_REQUEST, m)))?;
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
    let inv = billing::preview_invoice(ctx, acct, preview).await.map_err(|e| refusal(t, e))?;
    let proration: i64 = inv.lines.iter().filter(|l| l.proration).map(|l| l.amount - l.discount_amount).sum();
    let label =
        d.prices.iter().find(|(p, _)| p.id == price).map_or_else(|| v.names.join(", "), |(_, n)| n.clone());
    let c: Currency = inv.currency;
    let (proration_label, next_label) = if behavior == "always_invoice" {
        (p.charged_now.to_owned(), p.invoiced_now.to_owned())
    } else {
        (
            p.adjustment.to_owned(),
            p.next_invoice_on.replace("{date}", &p.date(inv.period_end.max(v.sub.current_period_end))),
        )
    };
    Ok(ConfirmView {
        subscription: v.sub.id.clone(),
        price,
        label,
        quantity,
        proration_label,
        proration: t.money(c, proration),
        next_label,
        next_total: t.money(c, inv.amount_due),
    })
}

/// `GET /portal/{id}`.
pub async fn show(
    State(ctx): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    q: RawQuery,
) -> Response {
    let (acct, s, t) = match signed(&ctx, &id, &headers).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let d = match svc::data(&ctx, &acct, s).await {
        Ok(d) => d,
        Err(e) => return pages::service_error_page_in(t, e),
    };
    show_step(&ctx, &acct, t, d, &query(&q), None).await
}

// ---------------------------------------------------------------------------------------------
// The forms

/// A portal form: the session, the page's language, its data and the form's pairs, once the
/// CSRF token is checked.
struct Form {
    acct: Acct,
    t: &'static Strings,
    d: PortalData,
    pairs: Vec<(String, String)>,
}

async fn form(ctx: &Ctx, id: &str, req: Request) -> Result<Form, Response> {
    let (acct, s, t) = signed(ctx, id, req.headers()).await?;
    let (_, pairs) = read_form(req).await?;
    let sent = field(&pairs, "csrf");
    if sent.is_empty() || !bool::from(subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), s.csrf.as_bytes())) {
        return Err(pages::error_page_in(
            t,
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form is out of date or was not sent from the billing portal: reload the page and try again.",
        ));
    }
    let d = svc::data(ctx, &acct, s).await.map_err(|e| pages::service_error_page_in(t, e))?;
    Ok(Form { acct, t, d, pairs })
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
async fn again(ctx: &Ctx, f: Form, q: Query, e: (StatusCode, String)) -> Response {
    show_step(ctx, &f.acct, f.t, f.d, &q, Some(e)).await
}

fn step(step: &str, subscription: &str) -> Query {
    Query { step: step.to_owned(), subscription: subscription.to_owned(), ..Query::default() }
}

/// `POST /portal/{id}/cancel`: `subscription`, `reason`, `comment`.
pub async fn cancel(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let f = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = i18n::portal::of(f.t);
    let sub_id = field(&f.pairs, "subscription");
    let feature = f.d.config.features.subscription_cancel.clone();
    let ok = feature.enabled
        && own(&f.d, &sub_id)
            .is_some_and(|v| v.sub.status != SubscriptionStatus::Canceled && !v.sub.cancel_at_period_end);
    if !ok {
        return again(&ctx, f, Query::default(), (StatusCode::BAD_REQUEST, p.not_yours.to_owned())).await;
    }
    let reason = field(&f.pairs, "reason");
    let known = feature.cancellation_reason.enabled && feature.cancellation_reason.options.contains(&reason);
    if !reason.is_empty() && !known {
        let q = step("cancel", &sub_id);
        return again(&ctx, f, q, (StatusCode::BAD_REQUEST, p.choose_reason_shown.to_owned())).await;
    }
    let immediately = feature.mode == "immediately";
    let comment: String = field(&f.pairs, "comment").chars().take(500).collect();
    let details = (!reason.is_empty() || !comment.trim().is_empty()).then(|| CancellationDetailsParam {
        comment: Some(comment.trim().to_owned()),
        feedback: Some(reason.clone()),
    });
    let result = if immediately {
        let c = SubscriptionCancel { cancellation_details: details, ..SubscriptionCancel::default() };
        billing::cancel(&ctx, &f.acct, &sub_id, c).await
    } else {
        let u = SubscriptionUpdate {
            cancel_at_period_end: Some(kassa_core::params::Bool(true)),
            cancellation_details: details,
            ..SubscriptionUpdate::default()
        };
        billing::update_subscription(&ctx, &f.acct, &sub_id, u).await
    };
    match result {
        Ok(_) => done(&f.d, "subscription_cancel", if immediately { "canceled" } else { "cancel_scheduled" }),
        Err(e) => match refusal(f.t, e) {
            Ok(m) => again(&ctx, f, step("cancel", &sub_id), m).await,
            Err(r) => *r,
        },
    }
}

/// `POST /portal/{id}/resume`: un-cancel a subscription set to cancel at its period's end.
pub async fn resume(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let f = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = i18n::portal::of(f.t);
    let sub_id = field(&f.pairs, "subscription");
    let ok = f.d.config.features.subscription_cancel.enabled
        && own(&f.d, &sub_id)
            .is_some_and(|v| v.sub.status != SubscriptionStatus::Canceled && v.sub.cancel_at_period_end);
    if !ok {
        return again(&ctx, f, Query::default(), (StatusCode::BAD_REQUEST, p.not_yours.to_owned())).await;
    }
    let u = SubscriptionUpdate {
        cancel_at_period_end: Some(kassa_core::params::Bool(false)),
        ..SubscriptionUpdate::default()
    };
    match billing::update_subscription(&ctx, &f.acct, &sub_id, u).await {
        Ok(_) => see_other(&format!("/portal/{}?done=resumed", f.d.session.id)),
        Err(e) => match refusal(f.t, e) {
            Ok(m) => again(&ctx, f, Query::default(), m).await,
            Err(r) => *r,
        },
    }
}

/// `POST /portal/{id}/update`: `subscription`, `price`, `quantity`; the configuration's
/// `proration_behavior`, as `POST /subscriptions/{id}` with `items`.
pub async fn update(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let f = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = i18n::portal::of(f.t);
    let sub_id = field(&f.pairs, "subscription");
    let change = own(&f.d, &sub_id)
        .filter(|v| {
            f.d.config.features.subscription_update.enabled
                && v.sub.status != SubscriptionStatus::Canceled
                && !v.sub.cancel_at_period_end
                && v.sub.items.len() == 1
        })
        .map(|v| change_of(p, &f.d, v, &field(&f.pairs, "price"), &field(&f.pairs, "quantity")));
    let (item, price, quantity) = match change {
        None => {
            return again(&ctx, f, Query::default(), (StatusCode::BAD_REQUEST, p.not_yours.to_owned())).await;
        }
        Some(Err(m)) => return again(&ctx, f, step("update", &sub_id), (StatusCode::BAD_REQUEST, m)).await,
        Some(Ok(c)) => c,
    };
    let u = SubscriptionUpdate {
        items: Some(vec![SubscriptionItemParam {
            id: Some(item),
            price: Some(price),
            quantity: Some(kassa_core::params::Int(quantity)),
            deleted: None,
            metadata: None,
        }]),
        proration_behavior: Some(f.d.config.features.subscription_update.proration_behavior.clone()),
        ..SubscriptionUpdate::default()
    };
    match billing::update_subscription(&ctx, &f.acct, &sub_id, u).await {
        Ok(_) => done(&f.d, "subscription_update", "updated"),
        Err(e) => match refusal(f.t, e) {
            Ok(m) => again(&ctx, f, step("update", &sub_id), m).await,
            Err(r) => *r,
        },
    }
}

/// `POST /portal/{id}/payment_method`: the card form. The card is checked as the checkout page
/// checks it and tried with the test network (nothing charged); a decline is shown.
pub async fn payment_method(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let mut f = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (t, p) = (f.t, i18n::portal::of(f.t));
    if !f.d.config.features.payment_method_update {
        let m = p.no_payment_method_change.to_owned();
        return again(&ctx, f, Query::default(), (StatusCode::BAD_REQUEST, m)).await;
    }
    let q = step("payment_method", "");
    let card_form = pages::pay_form(std::mem::take(&mut f.pairs), ctx.now());
    let card = match card_form.card {
        Ok(c) => c,
        Err(errors) => {
            let m = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
            return again(&ctx, f, q, (StatusCode::BAD_REQUEST, t.rule(&m))).await;
        }
    };
    let Some(currency) = f.d.subscriptions.first().map(|v| v.sub.currency).or_else(|| Currency::parse("usd"))
    else {
        return not_found(t);
    };
    match ctx.processor.pay_card(&card, 0, currency).await {
        CardAttempt::Succeeded => {}
        CardAttempt::Declined(decline) => {
            return again(&ctx, f, q, (StatusCode::PAYMENT_REQUIRED, t.rule(&decline.message))).await;
        }
        CardAttempt::RequiresAction(_) => {
            return again(&ctx, f, q, (StatusCode::PAYMENT_REQUIRED, p.needs_3ds.to_owned())).await;
        }
    }
    let details = card.details(&ctx.fingerprint_key, &f.acct.id);
    let saved = serde_json::to_value(ctx.processor.saved_behaviour(&card)).unwrap_or(Value::Null);
    drop(card);
    match svc::attach_card(&ctx, &f.acct, &f.d.customer.id, details, saved).await {
        Ok(_) => done(&f.d, "payment_method_update", "payment_method"),
        Err(e) => match refusal(t, e) {
            Ok(m) => again(&ctx, f, q, m).await,
            Err(r) => *r,
        },
    }
}

/// `POST /portal/{id}/customer`: the billing email, as `POST /customers/{id}`.
pub async fn customer(State(ctx): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let f = match form(&ctx, &id, req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let p = i18n::portal::of(f.t);
    let cu = &f.d.config.features.customer_update;
    if !(cu.enabled && cu.allowed_updates.iter().any(|u| u == "email")) {
        let m = p.no_billing_change.to_owned();
        return again(&ctx, f, Query::default(), (StatusCode::BAD_REQUEST, m)).await;
    }
    let email = field(&f.pairs, "email").trim().to_owned();
    if email.is_empty() {
        return again(&ctx, f, Query::default(), (StatusCode::BAD_REQUEST, p.enter_email.to_owned())).await;
    }
    let u = CustomerUpdate { email: Some(email), ..CustomerUpdate::default() };
    match catalog::update_customer(&ctx, &f.acct, &f.d.customer.id, u).await {
        Ok(_) => see_other(&format!("/portal/{}?done=customer", f.d.session.id)),
        Err(e) => match refusal(f.t, e) {
            Ok(m) => again(&ctx, f, Query::default(), m).await,
            Err(r) => *r,
        },
    }
}
