//! The dashboard: `/dashboard`, server-rendered like the hosted page (askama templates
//! under `templates/dashboard/`, `static/dashboard.css`, a little `static/dashboard.js` that only
//! shows times in the browser's zone), working without JavaScript.
//!
//! **Sign-in.** `/dashboard/login` takes an account's secret key, checked exactly as the API checks
//! it (`service::accounts::authenticate`); a wrong, revoked or expired key gets one message that
//! does not say which. Failures are counted per client address ([`LoginLimiter`]): past
//! [`LOGIN_FAILURES`] in [`LOGIN_WINDOW`] seconds the address is answered 429 until the window
//! passes. A sign-in is a [`DashboardSession`] record (`Kind::DashboardSession`): the browser
//! holds a random token in an HttpOnly, SameSite=Strict cookie (`Secure` when the public URL is
//! https) scoped to `/dashboard`; the store holds only the token's SHA-256, so the session dies
//! with its record (sign-out deletes it) and after 12 idle hours. `kassa dashboard` makes the same
//! record as a one-time link ([`sign_in_link`]), good for 10 minutes and deleted when used.
//!
//! **Reading and acting through the API itself.** Every page reads, and every action writes,
//! by calling the API's own router in-process ([`Internal`]): the same handlers, parameter
//! checks, services, events and JSON as `GET /v1/…` and `POST /v1/…`, with the signed-in account
//! put where the API's authentication puts it. So `object-json` is the exact API JSON by
//! construction, an action cannot drift from its API twin, and another account's object is a 404
//! because the API answers 404. The in-process calls skip the API middleware: they are not in the
//! request log (they are not API requests) and are not idempotent by key.
//!
//! **Forms.** Every POST passes the hosted pages' origin check (`pages::same_origin`: a foreign
//! `Origin` or `Sec-Fetch-Site` is a 403) and, once signed in, must carry the session's CSRF token;
//! the cookie's SameSite=Strict is a third fence. Pages carry the hosted page's headers (strict
//! CSP, no-store, nosniff) with `form-action 'self'`.
//!
//! **The request log** is [`log`]: in memory, written by a background task, scrubbed.

pub mod log;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use kassa_core::account::SecretKey;
use kassa_core::dashboard::DashboardSession;
use kassa_core::money::Currency;
use kassa_core::store::{self, Kind, Record, Store, StoreError, TxExt};
use kassa_core::time::{DAY, Timestamp, to_civil};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::extract::Decoded;
use crate::service::{Acct, accounts};
use crate::state::{AppState, Ctx};

/// The session cookie.
const COOKIE: &str = "kassa_dashboard";

/// Like the hosted page's, and forms post only here.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Failed sign-ins one address may make per window.
pub const LOGIN_FAILURES: u32 = 5;
/// Seconds.
pub const LOGIN_WINDOW: Timestamp = 600;

/// Rows on a list page.
const PAGE: usize = 25;

/// The API's router, for in-process calls (see the module docs).
#[derive(Clone)]
pub struct Internal(pub Router);

impl Internal {
    /// `method path` as the API answers it for `acct`, with `params` (query or body).
    async fn call(&self, acct: &Acct, method: Method, path: &str, params: Value) -> (StatusCode, Value) {
        let mut req = match Request::builder().method(method).uri(path).body(Body::empty()) {
            Ok(r) => r,
            Err(_) => return (StatusCode::NOT_FOUND, json!({"error": {"message": "Not found."}})),
        };
        req.extensions_mut().insert(acct.clone());
        req.extensions_mut().insert(Decoded::Tree(params));
        let resp = match crate::http::api::in_process(self.0.clone().oneshot(req)).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let (mut parts, body) = resp.into_parts();
        if let Some(crate::http::api::Answer(v)) = parts.extensions.remove() {
            return (parts.status, v);
        }
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        (parts.status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, acct: &Acct, path: &str, params: Value) -> Option<Value> {
        let (status, v) = self.call(acct, Method::GET, path, params).await;
        status.is_success().then_some(v)
    }

    /// The `data` of a list, or nothing.
    async fn list(&self, acct: &Acct, path: &str, params: Value) -> (Vec<Value>, bool) {
        match self.get(acct, path, params).await {
            Some(mut v) => {
                let more = v["has_more"].as_bool().unwrap_or(false);
                match v["data"].take() {
                    Value::Array(a) => (a, more),
                    _ => (Vec::new(), false),
                }
            }
            None => (Vec::new(), false),
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(home))
        .route("/dashboard/login", get(login_page).post(login))
        .route("/dashboard/login/link", get(login_link))
        .route("/dashboard/logout", post(logout))
        .route("/dashboard/logs", get(logs))
        .route("/dashboard/{section}", get(list).post(create))
        .route("/dashboard/{section}/{id}", get(detail))
        .route("/dashboard/{section}/{id}/{action}", post(act))
}

pub async fn stylesheet() -> Response {
    super::pages::asset("text/css; charset=utf-8", include_str!("../../../static/dashboard.css"))
}

pub async fn script() -> Response {
    super::pages::asset("text/javascript; charset=utf-8", include_str!("../../../static/dashboard.js"))
}

/// Whether `path` is the dashboard's (its errors are pages, never JSON).
pub fn is_dashboard_path(path: &str) -> bool {
    path == "/dashboard" || path.starts_with("/dashboard/")
}

// ---------------------------------------------------------------------------------------------
// Sessions and sign-in
// ---------------------------------------------------------------------------------------------

/// Failed sign-ins per client address, on this node.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, (u32, Timestamp)>>,
}

impl LoginLimiter {
    /// Seconds until `ip` may try again, if it is held back at `now`.
    pub fn held(&self, ip: Option<IpAddr>, now: Timestamp) -> Option<Timestamp> {
        let ip = ip?;
        let map = self.failures.lock().ok()?;
        let (count, since) = *map.get(&ip)?;
        (count >= LOGIN_FAILURES && now - since < LOGIN_WINDOW).then(|| LOGIN_WINDOW - (now - since))
    }

    pub fn failed(&self, ip: Option<IpAddr>, now: Timestamp) {
        let (Some(ip), Ok(mut map)) = (ip, self.failures.lock()) else { return };
        if map.len() > 10_000 {
            map.retain(|_, (_, since)| now - *since < LOGIN_WINDOW);
        }
        let e = map.entry(ip).or_insert((0, now));
        if now - e.1 >= LOGIN_WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
    }

    pub fn succeeded(&self, ip: Option<IpAddr>) {
        if let (Some(ip), Ok(mut map)) = (ip, self.failures.lock()) {
            map.remove(&ip);
        }
    }
}

/// A one-time sign-in link for `account` at `now` (`kassa dashboard`): the token to put in
/// `/dashboard/login/link?token=…`.
pub async fn sign_in_link(store: &dyn Store, account: &str, now: Timestamp) -> Result<String, StoreError> {
    let (link, token) = DashboardSession::new(now, true);
    store.insert(link.to_raw(account)?).await?;
    Ok(token)
}

/// Delete the sessions and links that no longer sign in (the background sweep).
pub async fn purge(ctx: &Ctx) -> Result<u64, StoreError> {
    use kassa_core::store::{Cmp, Column, Filter};
    let now = ctx.now();
    store::transact(ctx.store.as_ref(), move |tx| {
        tx.delete_where(Kind::DashboardSession, &[Filter::Cmp(Column::ExpiresAt, Cmp::Lte, now)])
    })
    .await
}

/// The signed-in account of a dashboard request.
pub struct Signed {
    pub acct: Acct,
    pub csrf: String,
    session: String,
}

fn cookie_token(parts: &Parts) -> Option<String> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';')
            .find_map(|c| c.trim().strip_prefix(COOKIE).and_then(|r| r.strip_prefix('=')).map(str::to_owned))
    })
}

/// The live session a token names, with its account.
async fn session_of(ctx: &Ctx, token: &str) -> Result<Option<(String, DashboardSession)>, StoreError> {
    let Some(raw) = ctx.store.get_by_id(Kind::DashboardSession, &DashboardSession::id_of(token)).await?
    else {
        return Ok(None);
    };
    let s = DashboardSession::from_raw(&raw)?;
    Ok(s.live_at(ctx.now()).then_some((raw.account, s)))
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ctx: &AppState) -> Result<Self, Self::Rejection> {
        let to_login = || see_other("/dashboard/login");
        let Some(token) = cookie_token(parts) else { return Err(to_login()) };
        let (account, mut s) = match session_of(ctx, &token).await {
            Ok(Some((a, s))) if !s.link => (a, s),
            Ok(_) => return Err(to_login()),
            Err(e) => return Err(store_error(e)),
        };
        let now = ctx.now();
        if now - s.last_seen >= 60 {
            s.last_seen = now;
            let account = account.clone();
            let s = s.clone();
            // Best effort: a session whose touch failed only expires sooner.
            if let Err(e) = store::transact(ctx.store.as_ref(), move |tx| tx.put(&account, &s)).await {
                tracing::warn!(error = %e, "could not record a dashboard session's use");
            }
        }
        let name = ctx.account_name(&account).await.map_err(store_error)?;
        Ok(Self { acct: Acct { id: account, name }, csrf: s.csrf, session: s.id })
    }
}

fn session_cookie(ctx: &Ctx, token: &str, max_age: i64) -> HeaderValue {
    let v = cookie(&ctx.public_url, token, max_age);
    HeaderValue::from_str(&v)
        .unwrap_or_else(|_| HeaderValue::from_static("kassa_dashboard=; Path=/dashboard"))
}

/// The session cookie: only for `/dashboard`, never to scripts, never sent by another site's
/// request, and only over TLS when kassa is served over https.
fn cookie(public_url: &str, token: &str, max_age: i64) -> String {
    let secure = if public_url.starts_with("https://") { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// A new session for `account`: its cookie on a redirect to the home page.
async fn start_session(ctx: &Ctx, account: &str) -> Response {
    let (s, token) = DashboardSession::new(ctx.now(), false);
    let raw = match s.to_raw(account) {
        Ok(r) => r,
        Err(e) => return store_error(e),
    };
    if let Err(e) = ctx.store.insert(raw).await {
        return store_error(e);
    }
    let mut r = see_other("/dashboard");
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(ctx, &token, kassa_core::dashboard::IDLE_SECONDS));
    r
}

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    error: Option<String>,
}

async fn login_page() -> Response {
    page(StatusCode::OK, LoginPage { error: None }.render())
}

async fn login(State(ctx): State<AppState>, req: Request) -> Response {
    let client = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let now = ctx.now();
    if let Some(wait) = ctx.login_limiter.held(client, now) {
        let message = "Too many failed sign-ins from this address. Wait a few minutes and try again.";
        let mut r =
            page(StatusCode::TOO_MANY_REQUESTS, LoginPage { error: Some(message.to_owned()) }.render());
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    let (_, pairs) = match super::pages::read_form(req).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let key = SecretKey::presented(super::pages::field(&pairs, "key").trim());
    drop(pairs);
    match accounts::authenticate(&ctx, &key).await {
        Ok(accounts::Auth::Account(acct)) => {
            ctx.login_limiter.succeeded(client);
            start_session(&ctx, &acct.id).await
        }
        Ok(accounts::Auth::Unknown | accounts::Auth::Expired) => {
            ctx.login_limiter.failed(client, now);
            let message = "That key does not sign in to any account here.";
            page(StatusCode::UNAUTHORIZED, LoginPage { error: Some(message.to_owned()) }.render())
        }
        Err(e) => super::pages::service_error_page(e),
    }
}

/// The last value of `name` in a query string, or "".
fn query_field(q: &RawQuery, name: &str) -> String {
    let pairs = q.0.as_deref().and_then(|q| crate::form::pairs(q.as_bytes()).ok()).unwrap_or_default();
    super::pages::field(&pairs, name)
}

/// `GET /dashboard/login/link?token=…`: a link `kassa dashboard` printed, used once.
async fn login_link(State(ctx): State<AppState>, q: RawQuery) -> Response {
    let refused = || {
        let message = "This sign-in link is not valid: it was used already, or is more than 10 minutes old.";
        page(StatusCode::UNAUTHORIZED, LoginPage { error: Some(message.to_owned()) }.render())
    };
    let (account, link) = match session_of(&ctx, &query_field(&q, "token")).await {
        Ok(Some((a, s))) if s.link => (a, s),
        Ok(_) => return refused(),
        Err(e) => return store_error(e),
    };
    let deleted = {
        let account = account.clone();
        store::transact(ctx.store.as_ref(), move |tx| tx.delete(&account, Kind::DashboardSession, &link.id))
            .await
    };
    match deleted {
        Ok(true) => start_session(&ctx, &account).await,
        Ok(false) => refused(),
        Err(e) => store_error(e),
    }
}

async fn logout(State(ctx): State<AppState>, signed: Signed, req: Request) -> Response {
    if let Err(r) = checked_form(&signed, req).await {
        return r;
    }
    let (account, id) = (signed.acct.id.clone(), signed.session.clone());
    if let Err(e) =
        store::transact(ctx.store.as_ref(), move |tx| tx.delete(&account, Kind::DashboardSession, &id)).await
    {
        return store_error(e);
    }
    let mut r = see_other("/dashboard/login");
    r.headers_mut().insert(header::SET_COOKIE, session_cookie(&ctx, "", 0));
    r
}

/// A signed-in form's pairs, once its CSRF token is the session's.
async fn checked_form(signed: &Signed, req: Request) -> Result<Vec<(String, String)>, Response> {
    let (_, pairs) = super::pages::read_form(req).await?;
    let sent = super::pages::field(&pairs, "csrf");
    if sent.is_empty() || !bool::from(subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), signed.csrf.as_bytes()))
    {
        return Err(error(
            StatusCode::FORBIDDEN,
            "This form is out of date or was not sent from the dashboard: reload the page and try again.",
        ));
    }
    Ok(pairs)
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

/// How a column shows a value.
#[derive(Clone, Copy)]
enum Fmt {
    Text,
    /// An amount in the object's `currency`.
    Money,
    Time,
}

struct Col {
    label: &'static str,
    /// JSON pointers, the first that holds something.
    at: &'static [&'static str],
    fmt: Fmt,
}

const fn col(label: &'static str, at: &'static [&'static str], fmt: Fmt) -> Col {
    Col { label, at, fmt }
}

const ID: Col = col("ID", &["/id"], Fmt::Text);
const CREATED: Col = col("Created", &["/created"], Fmt::Time);
const STATUS: Col = col("Status", &["/status"], Fmt::Text);

struct Section {
    slug: &'static str,
    title: &'static str,
    nav: &'static str,
    /// The API's collection.
    api: &'static str,
    /// Other collections whose objects this section shows, by id prefix.
    also: &'static [(&'static str, &'static str)],
    columns: &'static [Col],
}

const SECTIONS: &[Section] = &[
    Section {
        slug: "sessions",
        title: "Checkout sessions",
        nav: "nav-sessions",
        api: "/v1/checkout/sessions",
        also: &[],
        columns: &[
            ID,
            STATUS,
            col("Amount", &["/amount_total"], Fmt::Money),
            col("Email", &["/customer_details/email", "/customer_email"], Fmt::Text),
            CREATED,
        ],
    },
    Section {
        slug: "payments",
        title: "Payments",
        nav: "nav-payments",
        api: "/v1/payment_intents",
        also: &[("pm_", "/v1/payment_methods")],
        columns: &[
            ID,
            STATUS,
            col("Amount", &["/amount"], Fmt::Money),
            col("Customer", &["/customer"], Fmt::Text),
            CREATED,
        ],
    },
    Section {
        slug: "customers",
        title: "Customers",
        nav: "nav-customers",
        api: "/v1/customers",
        also: &[],
        columns: &[ID, col("Email", &["/email"], Fmt::Text), col("Name", &["/name"], Fmt::Text), CREATED],
    },
    Section {
        slug: "subscriptions",
        title: "Subscriptions",
        nav: "nav-subscriptions",
        api: "/v1/subscriptions",
        also: &[],
        columns: &[
            ID,
            STATUS,
            col("Customer", &["/customer"], Fmt::Text),
            col("Period end", &["/current_period_end", "/items/data/0/current_period_end"], Fmt::Time),
            CREATED,
        ],
    },
    Section {
        slug: "invoices",
        title: "Invoices",
        nav: "nav-invoices",
        api: "/v1/invoices",
        also: &[],
        columns: &[
            ID,
            STATUS,
            col("Total", &["/total"], Fmt::Money),
            col("Subscription", &["/subscription", "/parent/subscription_details/subscription"], Fmt::Text),
            CREATED,
        ],
    },
    Section {
        slug: "products",
        title: "Products",
        nav: "nav-products",
        api: "/v1/products",
        also: &[("price_", "/v1/prices")],
        columns: &[ID, col("Name", &["/name"], Fmt::Text), col("Active", &["/active"], Fmt::Text), CREATED],
    },
    Section {
        slug: "coupons",
        title: "Coupons",
        nav: "nav-coupons",
        api: "/v1/coupons",
        also: &[("promo_", "/v1/promotion_codes")],
        columns: &[
            ID,
            col("Percent off", &["/percent_off"], Fmt::Text),
            col("Amount off", &["/amount_off"], Fmt::Money),
            col("Duration", &["/duration"], Fmt::Text),
            CREATED,
        ],
    },
    Section {
        slug: "events",
        title: "Events",
        nav: "nav-events",
        api: "/v1/events",
        also: &[],
        columns: &[ID, col("Type", &["/type"], Fmt::Text), CREATED],
    },
    Section {
        slug: "webhooks",
        title: "Webhook endpoints",
        nav: "nav-webhooks",
        api: "/v1/webhook_endpoints",
        also: &[("whdel_", "/v1/webhook_deliveries")],
        columns: &[ID, col("URL", &["/url"], Fmt::Text), STATUS, CREATED],
    },
    Section {
        slug: "test-clocks",
        title: "Test clocks",
        nav: "nav-clocks",
        api: "/v1/test_helpers/test_clocks",
        also: &[],
        columns: &[
            ID,
            col("Name", &["/name"], Fmt::Text),
            STATUS,
            col("Time", &["/frozen_time"], Fmt::Time),
            CREATED,
        ],
    },
];

fn section(slug: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.slug == slug)
}

/// The section and collection of an object id.
fn place_of(id: &str) -> Option<(&'static str, &'static str)> {
    const PREFIXES: &[(&str, &str, &str)] = &[
        ("cs_", "sessions", "/v1/checkout/sessions"),
        ("pi_", "payments", "/v1/payment_intents"),
        ("pm_", "payments", "/v1/payment_methods"),
        ("cus_", "customers", "/v1/customers"),
        ("sub_", "subscriptions", "/v1/subscriptions"),
        ("in_", "invoices", "/v1/invoices"),
        ("prod_", "products", "/v1/products"),
        ("price_", "products", "/v1/prices"),
        ("promo_", "coupons", "/v1/promotion_codes"),
        ("evt_", "events", "/v1/events"),
        ("we_", "webhooks", "/v1/webhook_endpoints"),
        ("whdel_", "webhooks", "/v1/webhook_deliveries"),
        ("clock_", "test-clocks", "/v1/test_helpers/test_clocks"),
    ];
    PREFIXES.iter().find(|(p, _, _)| id.starts_with(p)).map(|(_, s, a)| (*s, *a))
}

/// The collection holding `id` in `s`.
fn collection_of(s: &Section, id: &str) -> &'static str {
    s.also.iter().find(|(p, _)| id.starts_with(p)).map_or(s.api, |(_, api)| api)
}

/// One cell: text, perhaps a link, perhaps a time the script localizes.
pub struct Cell {
    text: String,
    href: Option<String>,
    ts: Option<Timestamp>,
}

impl Cell {
    fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), href: None, ts: None }
    }
}

/// `2026-12-03 04:05:06 UTC`.
pub fn utc(t: Timestamp) -> String {
    let c = to_civil(t);
    let (h, m, s) = (c.second / 3600, c.second / 60 % 60, c.second % 60);
    format!("{:04}-{:02}-{:02} {h:02}:{m:02}:{s:02} UTC", c.year, c.month, c.day)
}

fn time_cell(t: Timestamp) -> Cell {
    Cell { text: utc(t), href: None, ts: Some(t) }
}

fn money(v: &Value, amount: i64) -> String {
    match v["currency"].as_str().and_then(Currency::parse) {
        Some(c) => c.format(amount),
        None => amount.to_string(),
    }
}

/// A link to the object `id` names, when it is one the dashboard shows.
fn link_of(id: &str) -> Option<String> {
    place_of(id).map(|(s, _)| format!("/dashboard/{s}/{id}"))
}

/// What a JSON pointer names in `v` (`Null` for nothing), where a `-1` segment is an array's
/// last element.
fn lookup<'v>(v: &'v Value, pointer: &str) -> &'v Value {
    let mut at = v;
    for seg in pointer.split('/').skip(1) {
        at = match (at, seg) {
            (Value::Array(a), "-1") => a.last(),
            (Value::Array(a), i) => i.parse::<usize>().ok().and_then(|i| a.get(i)),
            (Value::Object(m), k) => m.get(k),
            _ => None,
        }
        .unwrap_or(&Value::Null);
    }
    at
}

fn cell(v: &Value, c: &Col) -> Cell {
    let found = c.at.iter().map(|p| lookup(v, p)).find(|x| !x.is_null());
    let Some(x) = found else { return Cell::text("—") };
    match (c.fmt, x) {
        (Fmt::Time, Value::Number(n)) => n.as_i64().map_or_else(|| Cell::text(n.to_string()), time_cell),
        (Fmt::Money, Value::Number(n)) => {
            Cell::text(n.as_i64().map_or_else(|| n.to_string(), |a| money(v, a)))
        }
        (_, Value::String(s)) => Cell { text: s.clone(), href: link_of(s), ts: None },
        (_, other) => Cell::text(other.to_string()),
    }
}

struct Row {
    id: String,
    href: String,
    cells: Vec<Cell>,
}

fn rows(slug: &str, columns: &[Col], items: &[Value]) -> Vec<Row> {
    items
        .iter()
        .map(|v| {
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            let href = link_of(&id).unwrap_or_else(|| format!("/dashboard/{slug}/{id}"));
            Row { cells: columns.iter().map(|c| cell(v, c)).collect(), href, id }
        })
        .collect()
}

/// What every signed-in page shows around its content.
pub struct Chrome {
    account: String,
    csrf: String,
    current: &'static str,
}

fn chrome(s: &Signed, current: &'static str) -> Chrome {
    Chrome { account: s.acct.name.clone(), csrf: s.csrf.clone(), current }
}

struct NavItem {
    slug: &'static str,
    title: &'static str,
    testid: &'static str,
}

fn nav() -> Vec<NavItem> {
    let mut items: Vec<NavItem> =
        SECTIONS.iter().map(|s| NavItem { slug: s.slug, title: s.title, testid: s.nav }).collect();
    items.push(NavItem { slug: "logs", title: "Request log", testid: "nav-logs" });
    items
}

#[derive(Template)]
#[template(path = "dashboard/list.html")]
struct ListPage {
    chrome: Chrome,
    nav: Vec<NavItem>,
    slug: &'static str,
    title: &'static str,
    headers: Vec<&'static str>,
    rows: Vec<Row>,
    search: String,
    next: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Default)]
struct ListQuery {
    q: String,
    after: String,
}

async fn list(
    Extension(api): Extension<Internal>,
    signed: Signed,
    Path(slug): Path<String>,
    q: RawQuery,
) -> Response {
    let Some(s) = section(&slug) else { return not_found() };
    let q = ListQuery { q: query_field(&q, "q"), after: query_field(&q, "after") };
    list_page(&api, &signed, s, q, None, None).await
}

async fn list_page(
    api: &Internal,
    signed: &Signed,
    s: &'static Section,
    q: ListQuery,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let term = q.q.trim().to_owned();
    let (items, next) = if term.is_empty() {
        let mut params = list_params(s, PAGE);
        if !q.after.is_empty() {
            params["starting_after"] = json!(q.after);
        }
        let (items, more) = api.list(&signed.acct, s.api, params).await;
        let next = more
            .then(|| items.last().and_then(|v| v["id"].as_str()))
            .flatten()
            .map(|last| format!("/dashboard/{}?after={}", s.slug, urlencoding(last)));
        (items, next)
    } else {
        (search(api, &signed.acct, s, &term).await, None)
    };
    let p = ListPage {
        chrome: chrome(signed, s.slug),
        nav: nav(),
        slug: s.slug,
        title: s.title,
        headers: s.columns.iter().map(|c| c.label).collect(),
        rows: rows(s.slug, s.columns, &items),
        search: term,
        next,
        notice,
        error: error.clone(),
    };
    page(if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, p.render())
}

/// The list call of a section: every object of its kind. (The API lists subscriptions that are not
/// canceled unless asked for `status=all`; a dashboard shows them all, and the query then follows
/// the account's index without skipping canceled ones.)
fn list_params(s: &Section, limit: usize) -> Value {
    match s.slug {
        "subscriptions" => json!({"limit": limit, "status": "all"}),
        _ => json!({"limit": limit}),
    }
}

/// Objects of `s` matching `term`: the object with that id; the objects the API finds by that
/// email or code; else the newest 100 whose JSON holds it.
async fn search(api: &Internal, acct: &Acct, s: &Section, term: &str) -> Vec<Value> {
    if !term.contains('/') && !term.contains('?') {
        let path = format!("{}/{}", collection_of(s, term), urlencoding(term));
        if let Some(v) = api.get(acct, &path, json!({})).await {
            return vec![v];
        }
    }
    if s.slug == "customers" && term.contains('@') {
        let (found, _) = api.list(acct, s.api, json!({"email": term, "limit": 100})).await;
        if !found.is_empty() {
            return found;
        }
    }
    if s.slug == "coupons" {
        let (codes, _) = api.list(acct, "/v1/promotion_codes", json!({"code": term, "limit": 100})).await;
        if !codes.is_empty() {
            return codes;
        }
    }
    let needle = term.to_lowercase();
    let (items, _) = api.list(acct, s.api, list_params(s, 100)).await;
    items.into_iter().filter(|v| v.to_string().to_lowercase().contains(&needle)).collect()
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Detail pages and actions
// ---------------------------------------------------------------------------------------------

struct Field {
    label: String,
    value: Cell,
}

/// Related objects shown under a detail page.
struct Related {
    title: String,
    headers: Vec<&'static str>,
    rows: Vec<Row>,
}

/// A form on a detail page.
enum Action {
    /// A button posting to `/dashboard/{section}/{id}/{name}`.
    Button {
        name: &'static str,
        label: &'static str,
        testid: &'static str,
    },
    FundBalance,
    /// Resend the event `event` to one of `endpoints` (id, url).
    Resend {
        event: String,
        endpoints: Vec<(String, String)>,
    },
    /// Advance a clock; `default` for the datetime-local input (UTC).
    Advance {
        default: String,
    },
    CreatePromotionCode,
}

#[derive(Template)]
#[template(path = "dashboard/detail.html")]
struct DetailPage {
    chrome: Chrome,
    nav: Vec<NavItem>,
    slug: &'static str,
    title: &'static str,
    id: String,
    fields: Vec<Field>,
    related: Vec<Related>,
    actions: Vec<Action>,
    hosted_page: Option<String>,
    requests: Vec<std::sync::Arc<log::Entry>>,
    json: String,
    notice: Option<String>,
    /// Shown once (a webhook endpoint's secret).
    secret: Option<String>,
    result: Option<String>,
    error: Option<String>,
    refresh: bool,
}

fn is_time_field(k: &str) -> bool {
    k == "created"
        || k.ends_with("_at")
        || k.ends_with("_time")
        || k.starts_with("current_period")
        || k == "updated"
}

fn is_amount_field(k: &str) -> bool {
    k.starts_with("amount") || k.ends_with("_amount") || k == "total" || k == "subtotal" || k == "amount_off"
}

fn fields(v: &Value) -> Vec<Field> {
    let Value::Object(m) = v else { return Vec::new() };
    let mut out = Vec::new();
    for (k, x) in m {
        let value = match x {
            Value::Null | Value::Object(_) | Value::Array(_) => continue,
            Value::Number(n) if is_time_field(k) => {
                n.as_i64().map_or_else(|| Cell::text(n.to_string()), time_cell)
            }
            Value::Number(n) if is_amount_field(k) => {
                Cell::text(n.as_i64().map_or_else(|| n.to_string(), |a| money(v, a)))
            }
            Value::String(s) if k == "coupon" => {
                Cell { text: s.clone(), href: Some(format!("/dashboard/coupons/{s}")), ts: None }
            }
            Value::String(s) if k == "url" => Cell::text(s.clone()),
            Value::String(s) => Cell { text: s.clone(), href: link_of(s).filter(|_| k != "id"), ts: None },
            other => Cell::text(other.to_string()),
        };
        out.push(Field { label: k.replace('_', " "), value });
    }
    // Ids nested one level down (`customer_details`, `discount.coupon`): linked too.
    for (k, x) in m {
        if let Value::Object(inner) = x {
            for (ik, iv) in inner {
                if let Some(s) = iv.as_str().filter(|s| link_of(s).is_some()) {
                    out.push(Field {
                        label: format!("{} {}", k.replace('_', " "), ik.replace('_', " ")),
                        value: Cell { text: s.to_owned(), href: link_of(s), ts: None },
                    });
                }
            }
        }
    }
    out
}

const REL_ID: Col = col("ID", &["/id"], Fmt::Text);

async fn related_list(
    api: &Internal,
    acct: &Acct,
    title: &str,
    path: &str,
    params: Value,
    columns: &'static [Col],
) -> Related {
    let (items, _) = api.list(acct, path, params).await;
    Related {
        title: title.to_owned(),
        headers: columns.iter().map(|c| c.label).collect(),
        rows: rows("", columns, &items),
    }
}

const PRICE_COLS: &[Col] = &[
    REL_ID,
    col("Amount", &["/unit_amount"], Fmt::Money),
    col("Interval", &["/recurring/interval"], Fmt::Text),
    col("Active", &["/active"], Fmt::Text),
];
const CODE_COLS: &[Col] =
    &[REL_ID, col("Code", &["/code"], Fmt::Text), col("Active", &["/active"], Fmt::Text), CREATED];
const DELIVERY_COLS: &[Col] = &[
    REL_ID,
    col("Event", &["/event_type"], Fmt::Text),
    STATUS,
    col("Last answer", &["/attempts/-1/status_code"], Fmt::Text),
    col("Error", &["/attempts/-1/error"], Fmt::Text),
    CREATED,
];
const ATTEMPT_COLS: &[Col] = &[
    col("When", &["/created"], Fmt::Time),
    col("Answer", &["/status_code"], Fmt::Text),
    col("Took (ms)", &["/duration_ms"], Fmt::Text),
    col("Error", &["/error"], Fmt::Text),
    col("Body", &["/response_body"], Fmt::Text),
];
const OBJ_COLS: &[Col] =
    &[REL_ID, STATUS, col("Amount", &["/amount_total", "/amount", "/total"], Fmt::Money), CREATED];

/// What a detail page shows besides the object.
#[derive(Default)]
struct Extra {
    notice: Option<String>,
    secret: Option<String>,
    result: Option<String>,
    error: Option<String>,
}

async fn detail(
    State(ctx): State<AppState>,
    Extension(api): Extension<Internal>,
    signed: Signed,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let Some(s) = section(&slug) else { return not_found() };
    detail_page(&ctx, &api, &signed, s, &id, Extra::default()).await
}

async fn detail_page(
    ctx: &Ctx,
    api: &Internal,
    signed: &Signed,
    s: &'static Section,
    id: &str,
    extra: Extra,
) -> Response {
    let acct = &signed.acct;
    let collection = collection_of(s, id);
    if id.contains('/') || id.contains('?') {
        return not_found();
    }
    let Some(v) = api.get(acct, &format!("{collection}/{}", urlencoding(id)), json!({})).await else {
        return not_found();
    };
    let mut related = Vec::new();
    // Lists of related objects: (title, collection, filter, columns).
    let mut lists: Vec<(&str, &str, Value, &'static [Col])> = Vec::new();
    let mut actions = Vec::new();
    let status = v["status"].as_str().unwrap_or_default();
    match collection {
        "/v1/checkout/sessions" => {
            if status == "open" {
                actions.push(Action::Button {
                    name: "expire",
                    label: "Expire session",
                    testid: "action-expire",
                });
            }
            for (title, key, path) in [
                ("Payment", "payment_intent", "/v1/payment_intents"),
                ("Subscription", "subscription", "/v1/subscriptions"),
                ("Invoice", "invoice", "/v1/invoices"),
            ] {
                if let Some(rel) = v[key].as_str()
                    && let Some(o) = api.get(acct, &format!("{path}/{rel}"), json!({})).await
                {
                    related.push(Related {
                        title: title.to_owned(),
                        headers: OBJ_COLS.iter().map(|c| c.label).collect(),
                        rows: rows("", OBJ_COLS, &[o]),
                    });
                }
            }
        }
        "/v1/payment_intents" => {
            lists.push((
                "Checkout sessions",
                "/v1/checkout/sessions",
                json!({"payment_intent": id}),
                OBJ_COLS,
            ));
        }
        "/v1/customers" => {
            actions.push(Action::FundBalance);
            for (title, path) in [
                ("Checkout sessions", "/v1/checkout/sessions"),
                ("Payments", "/v1/payment_intents"),
                ("Subscriptions", "/v1/subscriptions"),
                ("Invoices", "/v1/invoices"),
            ] {
                lists.push((title, path, json!({"customer": id, "limit": 20}), OBJ_COLS));
            }
        }
        "/v1/subscriptions" => {
            if status != "canceled" {
                actions.push(Action::Button {
                    name: "cancel",
                    label: "Cancel subscription",
                    testid: "action-cancel-subscription",
                });
            }
            lists.push(("Invoices", "/v1/invoices", json!({"subscription": id, "limit": 50}), OBJ_COLS));
        }
        "/v1/products" => {
            lists.push(("Prices", "/v1/prices", json!({"product": id, "limit": 100}), PRICE_COLS));
        }
        "/v1/coupons" => {
            actions.push(Action::CreatePromotionCode);
            lists.push((
                "Promotion codes",
                "/v1/promotion_codes",
                json!({"coupon": id, "limit": 100}),
                CODE_COLS,
            ));
        }
        "/v1/events" => {
            let (endpoints, _) = api.list(acct, "/v1/webhook_endpoints", json!({"limit": 100})).await;
            let endpoints = endpoints
                .iter()
                .filter_map(|e| Some((e["id"].as_str()?.to_owned(), e["url"].as_str()?.to_owned())))
                .collect();
            actions.push(Action::Resend { event: id.to_owned(), endpoints });
            lists.push((
                "Deliveries",
                "/v1/webhook_deliveries",
                json!({"event": id, "limit": 100}),
                DELIVERY_COLS,
            ));
        }
        "/v1/webhook_endpoints" => {
            lists.push((
                "Deliveries",
                "/v1/webhook_deliveries",
                json!({"webhook_endpoint": id, "limit": 50}),
                DELIVERY_COLS,
            ));
        }
        "/v1/webhook_deliveries" => {
            if let (Some(event), Some(endpoint)) = (v["event"].as_str(), v["webhook_endpoint"].as_str()) {
                let url = api
                    .get(acct, &format!("/v1/webhook_endpoints/{endpoint}"), json!({}))
                    .await
                    .and_then(|e| e["url"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                actions.push(Action::Resend {
                    event: event.to_owned(),
                    endpoints: vec![(endpoint.to_owned(), url)],
                });
            }
            let attempts = v["attempts"].as_array().cloned().unwrap_or_default();
            related.push(Related {
                title: "Attempts".to_owned(),
                headers: ATTEMPT_COLS.iter().map(|c| c.label).collect(),
                rows: rows("", ATTEMPT_COLS, &attempts),
            });
        }
        "/v1/test_helpers/test_clocks" => {
            let now = v["frozen_time"].as_i64().unwrap_or_else(|| ctx.now());
            let next = kassa_core::time::add_months(now, 1, to_civil(now).day);
            actions.push(Action::Advance { default: datetime_local(next) });
            let (subs, _) = api.list(acct, "/v1/subscriptions", json!({"limit": 100})).await;
            let subs: Vec<Value> =
                subs.into_iter().filter(|s| s["test_clock"].as_str() == Some(id)).collect();
            let mut invoices = Vec::new();
            for sub in &subs {
                if let Some(sid) = sub["id"].as_str() {
                    invoices.extend(
                        api.list(acct, "/v1/invoices", json!({"subscription": sid, "limit": 100})).await.0,
                    );
                }
            }
            related.push(Related {
                title: "Subscriptions".to_owned(),
                headers: OBJ_COLS.iter().map(|c| c.label).collect(),
                rows: rows("", OBJ_COLS, &subs),
            });
            related.push(Related {
                title: "Invoices".to_owned(),
                headers: OBJ_COLS.iter().map(|c| c.label).collect(),
                rows: rows("", OBJ_COLS, &invoices),
            });
        }
        _ => {}
    }
    for (title, path, params, columns) in lists {
        related.push(related_list(api, acct, title, path, params, columns).await);
    }
    let requests = ctx
        .request_log
        .entries(&acct.id, ctx.now(), 20, |e| e.path().contains(id) || e.response_mentions(id));
    let p = DetailPage {
        chrome: chrome(signed, s.slug),
        nav: nav(),
        slug: s.slug,
        title: s.title,
        id: id.to_owned(),
        fields: fields(&v),
        related,
        actions,
        hosted_page: v["url"]
            .as_str()
            .filter(|_| status == "open" && collection == "/v1/checkout/sessions")
            .map(str::to_owned),
        requests,
        json: serde_json::to_string_pretty(&v).unwrap_or_default(),
        refresh: status == "advancing",
        notice: extra.notice,
        secret: extra.secret,
        result: extra.result,
        error: extra.error.clone(),
    };
    page(if extra.error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, p.render())
}

/// `2026-12-03T04:05` (UTC), what a `datetime-local` input holds.
fn datetime_local(t: Timestamp) -> String {
    let c = to_civil(t);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}", c.year, c.month, c.day, c.second / 3600, c.second / 60 % 60)
}

/// A `datetime-local` value (UTC) or a Unix timestamp.
fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<i64>() {
        return Some(t);
    }
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(str::parse::<i64>);
    let (year, month, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':').map(str::parse::<i64>);
    let (h, m) = (t.next()?.ok()?, t.next()?.ok()?);
    let sec = t.next().and_then(Result::ok).unwrap_or(0);
    let civil = kassa_core::time::Civil {
        year,
        month: u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?,
        day: u32::try_from(day).ok().filter(|d| (1..=31).contains(d))?,
        second: h * 3600 + m * 60 + sec,
    };
    Some(kassa_core::time::from_civil(civil))
}

/// The API's error message in a JSON error body.
fn api_message(v: &Value) -> String {
    v["error"]["message"].as_str().unwrap_or("The request was refused.").to_owned()
}

/// `POST /dashboard/{section}/{id}/{action}`: one API call, then the object again.
async fn act(
    State(ctx): State<AppState>,
    Extension(api): Extension<Internal>,
    signed: Signed,
    Path((slug, id, action)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let Some(s) = section(&slug) else { return not_found() };
    let pairs = match checked_form(&signed, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = |name: &str| super::pages::field(&pairs, name);
    let id_path = urlencoding(&id);
    let (method, path, params) = match (s.slug, action.as_str()) {
        ("sessions", "expire") => {
            (Method::POST, format!("/v1/checkout/sessions/{id_path}/expire"), json!({}))
        }
        ("subscriptions", "cancel") => (Method::DELETE, format!("/v1/subscriptions/{id_path}"), json!({})),
        ("customers", "fund") => {
            let mut p = json!({"amount": f("amount"), "currency": f("currency")});
            if !f("reference").is_empty() {
                p["reference"] = json!(f("reference"));
            }
            (Method::POST, format!("/v1/test_helpers/customers/{id_path}/fund_cash_balance"), p)
        }
        ("events" | "webhooks", "resend") => {
            let event = f("event");
            let event = if event.is_empty() { id.clone() } else { event };
            (
                Method::POST,
                format!("/v1/events/{}/resend", urlencoding(&event)),
                json!({"webhook_endpoint": f("webhook_endpoint")}),
            )
        }
        ("test-clocks", "advance") => {
            let Some(t) = parse_time(&f("frozen_time")) else {
                let extra = Extra {
                    error: Some("Give the time to advance to, as a date and time (UTC).".to_owned()),
                    ..Extra::default()
                };
                return detail_page(&ctx, &api, &signed, s, &id, extra).await;
            };
            (
                Method::POST,
                format!("/v1/test_helpers/test_clocks/{id_path}/advance"),
                json!({"frozen_time": t}),
            )
        }
        ("coupons", "promotion_codes") => {
            (Method::POST, "/v1/promotion_codes".to_owned(), json!({"coupon": id, "code": f("code")}))
        }
        _ => return not_found(),
    };
    let (status, body) = api.call(&signed.acct, method, &path, params).await;
    if status == StatusCode::NOT_FOUND && body["error"]["param"].as_str() != Some("webhook_endpoint") {
        return not_found();
    }
    if !status.is_success() {
        let extra = Extra { error: Some(api_message(&body)), ..Extra::default() };
        return detail_page(&ctx, &api, &signed, s, &id, extra).await;
    }
    let extra = match action.as_str() {
        "resend" => {
            let attempt = lookup(&body, "/webhook_deliveries/data/0/attempts/-1");
            let attempt = (!attempt.is_null()).then(|| attempt.clone());
            let result = match attempt {
                Some(a) if a["status_code"].as_i64().is_some_and(|c| (200..300).contains(&c)) => {
                    format!("Delivered: the endpoint answered {}.", a["status_code"])
                }
                Some(a) => format!(
                    "Not delivered: {}",
                    a["error"]
                        .as_str()
                        .map_or_else(|| format!("the endpoint answered {}", a["status_code"]), str::to_owned)
                ),
                None => "Resent.".to_owned(),
            };
            Extra { result: Some(result), ..Extra::default() }
        }
        "promotion_codes" => Extra {
            notice: Some(format!("Promotion code {} created.", body["code"].as_str().unwrap_or_default())),
            ..Extra::default()
        },
        _ => return see_other(&format!("/dashboard/{}/{id_path}", s.slug)),
    };
    detail_page(&ctx, &api, &signed, s, &id, extra).await
}

/// The list page again, with the API's refusal.
async fn refused(api: &Internal, signed: &Signed, s: &'static Section, body: &Value) -> Response {
    list_page(api, signed, s, ListQuery::default(), None, Some(api_message(body))).await
}

/// `POST /dashboard/{section}`: create a product (with a price), a coupon, a webhook endpoint.
async fn create(
    State(ctx): State<AppState>,
    Extension(api): Extension<Internal>,
    signed: Signed,
    Path(slug): Path<String>,
    req: Request,
) -> Response {
    let Some(s) = section(&slug) else { return not_found() };
    let pairs = match checked_form(&signed, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = |name: &str| super::pages::field(&pairs, name);
    let acct = &signed.acct;
    match s.slug {
        "products" => {
            let (status, product) =
                api.call(acct, Method::POST, "/v1/products", json!({"name": f("name")})).await;
            if !status.is_success() {
                return refused(&api, &signed, s, &product).await;
            }
            let pid = product["id"].as_str().unwrap_or_default().to_owned();
            let mut price =
                json!({"product": pid, "unit_amount": f("unit_amount"), "currency": f("currency")});
            if !f("interval").is_empty() {
                price["recurring"] = json!({"interval": f("interval")});
            }
            let (status, body) = api.call(acct, Method::POST, "/v1/prices", price).await;
            if !status.is_success() {
                let extra = Extra {
                    error: Some(format!(
                        "The product was created, but not its price: {}",
                        api_message(&body)
                    )),
                    ..Extra::default()
                };
                return detail_page(&ctx, &api, &signed, s, &pid, extra).await;
            }
            see_other(&format!("/dashboard/products/{}", urlencoding(&pid)))
        }
        "coupons" => {
            let mut p = json!({"duration": f("duration")});
            for k in ["percent_off", "amount_off", "currency", "id", "name", "duration_in_months"] {
                if !f(k).is_empty() {
                    p[k] = json!(f(k));
                }
            }
            let (status, body) = api.call(acct, Method::POST, "/v1/coupons", p).await;
            if !status.is_success() {
                return refused(&api, &signed, s, &body).await;
            }
            see_other(&format!("/dashboard/coupons/{}", urlencoding(body["id"].as_str().unwrap_or_default())))
        }
        "webhooks" => {
            let events: Vec<String> = f("enabled_events")
                .split(',')
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect();
            let events = if events.is_empty() { vec!["*".to_owned()] } else { events };
            let p = json!({"url": f("url"), "enabled_events": events});
            let (status, body) = api.call(acct, Method::POST, "/v1/webhook_endpoints", p).await;
            if !status.is_success() {
                return refused(&api, &signed, s, &body).await;
            }
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            let extra = Extra {
                secret: body["secret"].as_str().map(str::to_owned),
                notice: Some("Endpoint created. Its signing secret is shown once: copy it now.".to_owned()),
                ..Extra::default()
            };
            detail_page(&ctx, &api, &signed, s, &id, extra).await
        }
        _ => not_found(),
    }
}

// ---------------------------------------------------------------------------------------------
// The home page and the request log
// ---------------------------------------------------------------------------------------------

struct Count {
    title: &'static str,
    slug: &'static str,
    count: String,
}

struct Bar {
    x: i64,
    y: i64,
    h: i64,
    label: String,
}

struct Failing {
    id: String,
    url: String,
    problem: String,
}

#[derive(Template)]
#[template(path = "dashboard/home.html")]
struct HomePage {
    chrome: Chrome,
    nav: Vec<NavItem>,
    counts: Vec<Count>,
    bars: Vec<Bar>,
    max_per_day: i64,
    total_payments: i64,
    volumes: Vec<(String, String)>,
    failing: Vec<Failing>,
}

/// The chart's drawing area, in SVG units.
const CHART_W: i64 = 600;
const CHART_H: i64 = 120;

async fn home(State(ctx): State<AppState>, Extension(api): Extension<Internal>, signed: Signed) -> Response {
    let acct = &signed.acct;
    let mut counts = Vec::new();
    for s in SECTIONS {
        let (items, more) = api.list(acct, s.api, json!({"limit": 100})).await;
        let count = if more { "100+".to_owned() } else { items.len().to_string() };
        counts.push(Count { title: s.title, slug: s.slug, count });
    }
    // Payments that succeeded over the last 30 days, by day and by currency.
    let now = ctx.now();
    let today = now.div_euclid(DAY);
    let first = today - 29;
    let mut per_day = [0i64; 30];
    let mut volume: BTreeMap<String, i64> = BTreeMap::new();
    let mut after: Option<String> = None;
    'pages: for _ in 0..10 {
        let mut params = json!({"limit": 100});
        if let Some(a) = &after {
            params["starting_after"] = json!(a);
        }
        let (items, more) = api.list(acct, "/v1/payment_intents", params).await;
        for pi in &items {
            let day = pi["created"].as_i64().unwrap_or(0).div_euclid(DAY);
            if day < first {
                break 'pages;
            }
            if pi["status"] != "succeeded" || day > today {
                continue;
            }
            per_day[usize::try_from(day - first).unwrap_or(0)] += 1;
            let cur = pi["currency"].as_str().unwrap_or("").to_owned();
            *volume.entry(cur).or_default() +=
                pi["amount_received"].as_i64().or(pi["amount"].as_i64()).unwrap_or(0);
        }
        after = items.last().and_then(|v| v["id"].as_str()).map(str::to_owned);
        if !more || after.is_none() {
            break;
        }
    }
    // The busiest day's count, shown; the chart scales to at least 1 so an empty month draws flat.
    let max_per_day = per_day.iter().copied().max().unwrap_or(0);
    let scale = max_per_day.max(1);
    let slot = CHART_W / 30;
    let bars = per_day
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let h = n * CHART_H / scale;
            let day = (first + i64::try_from(i).unwrap_or(0)) * DAY;
            let c = to_civil(day);
            Bar {
                x: i64::try_from(i).unwrap_or(0) * slot + 2,
                y: CHART_H - h,
                h,
                label: format!("{:04}-{:02}-{:02}: {n}", c.year, c.month, c.day),
            }
        })
        .collect();
    let volumes = volume
        .into_iter()
        .map(|(cur, amount)| {
            let shown = Currency::parse(&cur).map_or_else(|| amount.to_string(), |c| c.format(amount));
            (cur.to_uppercase(), shown)
        })
        .collect();
    // Endpoints whose latest delivery's latest attempt did not get a 2xx.
    let (deliveries, _) = api.list(acct, "/v1/webhook_deliveries", json!({"limit": 100})).await;
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut failing = Vec::new();
    for d in &deliveries {
        let Some(endpoint) = d["webhook_endpoint"].as_str() else { continue };
        if seen.insert(endpoint.to_owned(), ()).is_some() {
            continue;
        }
        let attempts = d["attempts"].as_array().cloned().unwrap_or_default();
        let Some(last) = attempts.iter().max_by_key(|a| a["created"].as_i64().unwrap_or(0)) else { continue };
        let ok = last["status_code"].as_i64().is_some_and(|c| (200..300).contains(&c));
        if !ok {
            let url = api
                .get(acct, &format!("/v1/webhook_endpoints/{endpoint}"), json!({}))
                .await
                .and_then(|e| e["url"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let problem = last["error"]
                .as_str()
                .map_or_else(|| format!("answered {}", last["status_code"]), str::to_owned);
            failing.push(Failing { id: endpoint.to_owned(), url, problem });
        }
    }
    let p = HomePage {
        chrome: chrome(&signed, "home"),
        nav: nav(),
        counts,
        bars,
        max_per_day,
        total_payments: per_day.iter().sum(),
        volumes,
        failing,
    };
    page(StatusCode::OK, p.render())
}

#[derive(Template)]
#[template(path = "dashboard/logs.html")]
struct LogsPage {
    chrome: Chrome,
    nav: Vec<NavItem>,
    entries: Vec<std::sync::Arc<log::Entry>>,
    status: String,
    method: String,
    path: String,
    /// One request asked for by id (from an object's page): shown open.
    request: String,
    dropped: u64,
    /// The next page's link (`list-next-page`), keeping the filters.
    next: Option<String>,
}

impl LogsPage {
    fn when(&self, t: &Timestamp) -> String {
        utc(*t)
    }
}

struct LogQuery {
    status: String,
    method: String,
    path: String,
    request: String,
    after: String,
}

/// Requests on one page of the log.
const LOG_PAGE: usize = 50;

async fn logs(State(ctx): State<AppState>, signed: Signed, q: RawQuery) -> Response {
    let q = LogQuery {
        status: query_field(&q, "status"),
        method: query_field(&q, "method"),
        path: query_field(&q, "path"),
        request: query_field(&q, "request"),
        after: query_field(&q, "after"),
    };
    let class = q.status.chars().next().and_then(|c| c.to_digit(10)).map(u16::try_from);
    let method = q.method.trim().to_ascii_uppercase();
    let path = q.path.trim().to_owned();
    let after = Some(q.after.as_str()).filter(|a| !a.is_empty());
    let (entries, more) = ctx.request_log.page(&signed.acct.id, ctx.now(), after, LOG_PAGE, |e| {
        (match class {
            Some(Ok(c)) => e.status / 100 == c,
            _ => true,
        }) && (method.is_empty() || e.method() == method)
            && (path.is_empty() || e.path().contains(&path))
            && (q.request.is_empty() || e.request_id() == q.request)
    });
    // The next page keeps the filters: only those set, then the cursor.
    let next = more.then(|| entries.last()).flatten().map(|last| {
        let mut link = String::from("/dashboard/logs?");
        for (name, value) in
            [("status", &q.status), ("method", &method), ("path", &path), ("request", &q.request)]
        {
            if !value.is_empty() {
                link.push_str(&format!("{name}={}&", urlencoding(value)));
            }
        }
        link.push_str(&format!("after={}", urlencoding(last.request_id())));
        link
    });
    let p = LogsPage {
        chrome: chrome(&signed, "logs"),
        nav: nav(),
        entries,
        status: q.status,
        method,
        path,
        request: q.request,
        dropped: ctx.request_log.dropped(),
        next,
    };
    page(StatusCode::OK, p.render())
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage<'a> {
    message: &'a str,
}

fn error(status: StatusCode, message: &str) -> Response {
    page(status, ErrorPage { message }.render())
}

pub fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "There is no such page, or no such object in this account.")
}

fn store_error(e: StoreError) -> Response {
    tracing::error!(error = %e, "a dashboard page failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. Try again in a moment.")
}

fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A rendered page with the dashboard's headers.
fn page(status: StatusCode, html: Result<String, askama::Error>) -> Response {
    // The hosted page's headers (no-store, nosniff, same-origin referrers), with this CSP.
    let mut r = super::pages::page(status, html);
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert("X-Frame-Options", HeaderValue::from_static("DENY"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ids() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(parse_time("1970-01-02T00:01"), Some(DAY + 60));
        assert_eq!(parse_time(&datetime_local(1_800_000_030)), Some(1_800_000_000));
        assert_eq!(parse_time("nope"), None);
        assert_eq!(link_of("cs_test_abc").as_deref(), Some("/dashboard/sessions/cs_test_abc"));
        assert_eq!(link_of("price_1").as_deref(), Some("/dashboard/products/price_1"));
        assert_eq!(link_of("hello"), None);
        assert_eq!(urlencoding("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn the_cookie_is_secure_behind_https() {
        let plain = cookie("http://127.0.0.1:4242", "t", 10);
        assert_eq!(plain, "kassa_dashboard=t; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=10");
        assert!(cookie("https://pay.example.test", "t", 10).ends_with("; Secure"));
    }

    #[test]
    fn the_login_limiter_holds_an_address_back_after_five_failures() {
        let l = LoginLimiter::default();
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..LOGIN_FAILURES {
            assert_eq!(l.held(ip, 100), None);
            l.failed(ip, 100);
        }
        assert_eq!(l.held(ip, 100), Some(LOGIN_WINDOW));
        assert_eq!(l.held(ip, 100 + LOGIN_WINDOW), None);
        assert_eq!(l.held(Some(IpAddr::from([10, 0, 0, 1])), 100), None);
    }
}
