//! An invoice's hosted page and its PDF (issue 17): `GET /i/{id}/{token}` (`hosted_invoice_url`),
//! `POST /i/{id}/{token}/pay` (an open invoice paid by card), `GET /i/{id}/{token}/pdf`
//! (`invoice_pdf`).
//!
//! The same guarantees as the checkout page ([`super::pages`]): the URL's token (≥ 128 random
//! bits) is the capability, compared in constant time, and any mismatch is the same 404 page; the
//! POST passes the same-origin check (a form posted from another site is refused, nothing
//! changed); askama escapes every merchant and customer text; the Content-Security-Policy and the
//! other headers are the checkout page's; the layout is the checkout's stylesheet (375 px wide and
//! up). The page works without JavaScript: the pay form posts and is answered with a 303 back to
//! the page, or the page again with the refusal shown.
//!
//! The invoice has no language of its own: the page speaks the browser's (`Accept-Language`,
//! among the checkout page's languages, else English), amounts and dates included. The PDF stays
//! in English (its base-14 font writes Latin-1 only).

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kassa_core::billing::{Invoice, InvoiceStatus};
use kassa_core::payment::validate_card;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

use super::pages::{self, field, read_form};
use crate::i18n::portal::PortalStrings;
use crate::i18n::{self, Strings};
use crate::service::invoices::{self, InvoicePage, PagePayment};
use crate::state::AppState;

/// Whether `path` is an invoice page's (its errors are pages too, never JSON).
pub fn is_invoice_path(path: &str) -> bool {
    path.starts_with("/i/")
}

struct LineView {
    description: String,
    quantity: i64,
    period: Option<String>,
    amount: String,
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoiceHtml {
    t: &'static Strings,
    p: &'static PortalStrings,
    merchant: String,
    number: String,
    /// The status in the page's language, and Stripe's code.
    status: String,
    status_code: &'static str,
    pay_label: String,
    customer: Option<String>,
    description: Option<String>,
    lines: Vec<LineView>,
    subtotal: String,
    discount: Option<String>,
    tax: Option<String>,
    total: String,
    amount_paid: String,
    amount_remaining: String,
    footer: Option<String>,
    pdf_url: String,
    pay_url: String,
    payable: bool,
    paid: bool,
    payment_error: Option<String>,
}

/// What both the page and the PDF show, as text.
struct Shown {
    merchant: String,
    number: String,
    status: String,
    status_code: &'static str,
    customer: Option<String>,
    description: Option<String>,
    lines: Vec<LineView>,
    subtotal: String,
    discount: Option<String>,
    tax: Option<String>,
    total: String,
    amount_paid: String,
    amount_remaining: String,
    footer: Option<String>,
    created: String,
}

fn date(t: kassa_core::time::Timestamp) -> String {
    let c = kassa_core::time::to_civil(t);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// What the page (in `t`'s language) or the PDF (`None`: English, ISO dates) shows.
fn shown(p: &InvoicePage, t: Option<&'static Strings>) -> Shown {
    let i: &Invoice = &p.invoice;
    let words = t.map(i18n::portal::of);
    let t = t.unwrap_or(&i18n::EN);
    let day = |at| words.map_or_else(|| date(at), |w| w.date(at));
    let money = |a: i64| t.money(i.currency, a);
    let lines = i
        .lines
        .iter()
        .map(|l| LineView {
            description: l.description.clone(),
            quantity: l.quantity,
            period: (l.period_end > l.period_start)
                .then(|| format!("{} – {}", day(l.period_start), day(l.period_end))),
            amount: money(l.amount),
        })
        .collect();
    let customer = p.customer.as_ref().and_then(|c| c.name.clone().or_else(|| c.email.clone()));
    Shown {
        merchant: p.merchant.clone(),
        number: i.number.clone().unwrap_or_else(|| words.map_or("(draft)", |w| w.draft).to_owned()),
        status: words.map_or_else(|| i.status.as_str().to_owned(), |w| w.invoice_status(i.status.as_str())),
        status_code: i.status.as_str(),
        customer,
        description: i.description.clone(),
        lines,
        subtotal: money(i.subtotal),
        discount: (i.total_discount > 0).then(|| money(i.total_discount)),
        tax: i.lines.iter().any(|l| !l.tax_rates.is_empty()).then(|| money(i.tax)),
        total: money(i.total),
        amount_paid: money(i.amount_paid),
        amount_remaining: money(i.amount_remaining),
        footer: i.footer.clone(),
        created: day(i.created),
    }
}

fn render(
    t: &'static Strings,
    p: &InvoicePage,
    id: &str,
    token: &str,
    payment_error: Option<String>,
) -> Response {
    let s = shown(p, Some(t));
    let page = InvoiceHtml {
        t,
        p: i18n::portal::of(t),
        pay_label: t.pay.replace("{amount}", &s.amount_remaining),
        merchant: s.merchant,
        number: s.number,
        status: s.status,
        status_code: s.status_code,
        customer: s.customer,
        description: s.description,
        lines: s.lines,
        subtotal: s.subtotal,
        discount: s.discount,
        tax: s.tax,
        total: s.total,
        amount_paid: s.amount_paid,
        amount_remaining: s.amount_remaining,
        footer: s.footer,
        pdf_url: format!("/i/{id}/{token}/pdf"),
        pay_url: format!("/i/{id}/{token}/pay"),
        payable: p.invoice.status == InvoiceStatus::Open,
        paid: p.invoice.status == InvoiceStatus::Paid,
        payment_error: payment_error.as_deref().map(|m| t.rule(m)),
    };
    let status = if payment_error.is_some() { StatusCode::PAYMENT_REQUIRED } else { StatusCode::OK };
    pages::page(status, page.render())
}

/// `GET /i/{id}/{token}`.
pub async fn show(
    State(ctx): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let t = i18n::browser_language(&headers);
    match invoices::page(&ctx, &id, &token).await {
        Ok(Some(p)) => render(t, &p, &id, &token, None),
        Ok(None) => pages::not_found_in(t),
        Err(e) => pages::service_error_page_in(t, e),
    }
}

/// `POST /i/{id}/{token}/pay` with the card fields of the checkout page.
pub async fn pay(
    State(ctx): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    req: Request,
) -> Response {
    let t = i18n::browser_language(req.headers());
    let (_, pairs) = match read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let card = validate_card(
        &field(&pairs, "card_number"),
        &field(&pairs, "card_expiry"),
        &field(&pairs, "card_cvc"),
        ctx.now(),
    )
    .map_err(|errors| errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" "));
    drop(pairs);
    let refusal = match invoices::pay(&ctx, &id, &token, card).await {
        Ok(PagePayment::NotFound) => return pages::not_found_in(t),
        Ok(PagePayment::Paid) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/i/{id}/{token}")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        Ok(PagePayment::Refused(message)) => message,
        Err(e) => return pages::service_error_page_in(t, e),
    };
    match invoices::page(&ctx, &id, &token).await {
        Ok(Some(p)) => render(t, &p, &id, &token, Some(refusal)),
        Ok(None) => pages::not_found_in(t),
        Err(e) => pages::service_error_page_in(t, e),
    }
}

/// `GET /i/{id}/{token}/pdf`: the same content as a one-page PDF.
pub async fn pdf(State(ctx): State<AppState>, Path((id, token)): Path<(String, String)>) -> Response {
    match invoices::page(&ctx, &id, &token).await {
        Ok(Some(p)) => {
            let s = shown(&p, None);
            let bytes = write_pdf(&s);
            let mut r = bytes.into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
            let name =
                s.number.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>();
            if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"Invoice-{name}.pdf\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Ok(None) => pages::not_found(),
        Err(e) => pages::service_error_page(e),
    }
}

/// Text in the PDF's WinAnsi encoding (Windows-1252): Latin-1 as it is, a few typographic marks
/// mapped, anything else `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '€' => 0x80,
            '–' => 0x96,
            '—' => 0x97,
            '−' => b'-',
            '\u{202f}' | '\u{a0}' => b' ',
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            c if c.is_control() => b' ',
            c => u8::try_from(u32::from(c)).unwrap_or(b'?'),
        })
        .collect()
}

/// A line cut to `max` characters (the page does not wrap).
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One A4 page: the merchant, the invoice's number, date and status, its lines and totals, in
/// Helvetica (a base-14 font: nothing embedded). Lines past what fits are summed up in one.
fn write_pdf(s: &Shown) -> Vec<u8> {
    let (catalog, tree, page, font, bold, contents) =
        (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5), Ref::new(6));
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, 595.0, 842.0)).parent(tree).contents(contents);
    {
        let mut resources = p.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), font);
        fonts.pair(Name(b"F2"), bold);
    }
    p.finish();
    pdf.type1_font(font).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));

    let mut c = Content::new();
    let mut y = 790.0_f32;
    let text = |c: &mut Content, x: f32, y: f32, size: f32, bold: bool, s: &str| {
        c.begin_text();
        c.set_font(Name(if bold { b"F2" } else { b"F1" }), size);
        c.next_line(x, y);
        c.show(Str(&win_ansi(s)));
        c.end_text();
    };
    text(&mut c, 50.0, y, 18.0, true, &cut(&s.merchant, 45));
    y -= 30.0;
    text(&mut c, 50.0, y, 14.0, true, &format!("Invoice {}", s.number));
    y -= 20.0;
    text(&mut c, 50.0, y, 10.0, false, &format!("Date: {}    Status: {}", s.created, s.status_code));
    if let Some(who) = &s.customer {
        y -= 15.0;
        text(&mut c, 50.0, y, 10.0, false, &format!("Billed to: {}", cut(who, 70)));
    }
    if let Some(d) = &s.description {
        y -= 15.0;
        text(&mut c, 50.0, y, 10.0, false, &cut(d, 90));
    }
    y -= 30.0;
    text(&mut c, 50.0, y, 10.0, true, "Description");
    text(&mut c, 380.0, y, 10.0, true, "Qty");
    text(&mut c, 460.0, y, 10.0, true, "Amount");
    y -= 6.0;
    c.move_to(50.0, y).line_to(545.0, y).stroke();
    let room = 30usize;
    for (i, l) in s.lines.iter().enumerate() {
        y -= 16.0;
        if i + 1 == room && s.lines.len() > room {
            let more = s.lines.len() - i;
            text(&mut c, 50.0, y, 10.0, false, &format!("… and {more} more lines (see the invoice page)"));
            break;
        }
        text(&mut c, 50.0, y, 10.0, false, &cut(&l.description, 55));
        text(&mut c, 380.0, y, 10.0, false, &l.quantity.to_string());
        text(&mut c, 460.0, y, 10.0, false, &l.amount);
        if let Some(period) = &l.period {
            y -= 12.0;
            text(&mut c, 60.0, y, 8.0, false, period);
        }
    }
    y -= 10.0;
    c.move_to(50.0, y).line_to(545.0, y).stroke();
    let row = |c: &mut Content, y: &mut f32, label: &str, value: &str, bold: bool| {
        *y -= 16.0;
        text(c, 330.0, *y, 10.0, bold, label);
        text(c, 460.0, *y, 10.0, bold, value);
    };
    row(&mut c, &mut y, "Subtotal", &s.subtotal, false);
    if let Some(d) = &s.discount {
        row(&mut c, &mut y, "Discount", &format!("-{d}"), false);
    }
    if let Some(t) = &s.tax {
        row(&mut c, &mut y, "Tax", t, false);
    }
    row(&mut c, &mut y, "Total", &s.total, true);
    row(&mut c, &mut y, "Amount paid", &s.amount_paid, false);
    row(&mut c, &mut y, "Amount due", &s.amount_remaining, true);
    if let Some(f) = &s.footer {
        text(&mut c, 50.0, 60.0, 9.0, false, &cut(f, 100));
    }
    text(&mut c, 50.0, 40.0, 8.0, false, "Test mode: no real money was moved.");
    pdf.stream(contents, &c.finish());
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pdf_is_a_pdf_with_the_invoice_in_it() {
        let s = Shown {
            merchant: "Café Zoë".into(),
            number: "ABCD2345-0001".into(),
            status: "open".into(),
            status_code: "open",
            customer: Some("Ann".into()),
            description: None,
            lines: vec![LineView {
                description: "Plan".into(),
                quantity: 2,
                period: None,
                amount: "€30.00".into(),
            }],
            subtotal: "€30.00".into(),
            discount: None,
            tax: None,
            total: "€30.00".into(),
            amount_paid: "€0.00".into(),
            amount_remaining: "€30.00".into(),
            footer: None,
            created: "2026-12-03".into(),
        };
        let bytes = write_pdf(&s);
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("ABCD2345-0001"));
        assert!(text.trim_end().ends_with("%%EOF"));
        assert_eq!(win_ansi("Zoë €"), vec![b'Z', b'o', 0xEB, b' ', 0x80]);
    }
}
