//! The hosted pages. For now `GET /pay/{id}` renders a plain summary of the session (the payment
//! form comes with the hosted-page work): merchant, lines, totals — or a clear page when the
//! session is expired or complete, and 404 for an unknown id. Templates are askama's, so every
//! merchant-supplied string is HTML-escaped.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use kassa_core::session::{Session, Status};

use crate::state::AppState;

/// No script, no other origin: the strictest policy that still lets the page style itself.
const CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'self'";

struct LineView {
    price: String,
    description: String,
    quantity: i64,
    unit: String,
    interval: Option<String>,
    total: String,
}

#[derive(Template)]
#[template(path = "pay.html")]
struct PayPage {
    merchant: String,
    status: &'static str,
    lines: Vec<LineView>,
    subtotal: String,
    discount: Option<String>,
    total: String,
    trial_days: Option<u32>,
    cancel_url: Option<String>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage;

pub async fn pay(State(ctx): State<AppState>, path: Result<Path<String>, PathRejection>) -> Response {
    // An id that is not UTF-8 once percent-decoded names no session.
    let Ok(Path(id)) = path else {
        return page(StatusCode::NOT_FOUND, NotFoundPage.render());
    };
    let found = match crate::service::sessions::for_page(&ctx, &id).await {
        Ok(f) => f,
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    let Some((session, account)) = found else {
        return page(StatusCode::NOT_FOUND, NotFoundPage.render());
    };
    let merchant = match ctx.store.get_account(&account).await {
        Ok(Some(a)) => a.name,
        Ok(None) => String::new(),
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    page(StatusCode::OK, view(&session, merchant, ctx.now()).render())
}

fn view(s: &Session, merchant: String, now: i64) -> PayPage {
    let c = s.currency;
    PayPage {
        merchant,
        status: s.status_at(now).as_str(),
        lines: s
            .line_items
            .iter()
            .map(|l| LineView {
                price: l.price.id.clone(),
                description: l.description.clone(),
                quantity: l.quantity,
                unit: c.format(l.price.unit_amount),
                interval: l.price.recurring.map(|r| {
                    if r.interval_count == 1 {
                        format!("per {}", r.interval.as_str())
                    } else {
                        format!("every {} {}s", r.interval_count, r.interval.as_str())
                    }
                }),
                total: c.format(l.amount_total),
            })
            .collect(),
        subtotal: c.format(s.amount_subtotal),
        discount: (s.amount_discount > 0).then(|| c.format(s.amount_discount)),
        total: c.format(s.amount_total),
        trial_days: s.trial_period_days,
        cancel_url: s.cancel_url.clone().filter(|_| s.status_at(now) == Status::Open),
    }
}

fn page(status: StatusCode, html: Result<String, askama::Error>) -> Response {
    match html {
        Ok(body) => {
            let mut r = (status, Html(body)).into_response();
            r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r.headers_mut().insert("Referrer-Policy", HeaderValue::from_static("no-referrer"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown.").into_response()
        }
    }
}
