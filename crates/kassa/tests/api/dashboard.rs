//! The dashboard over plain HTTP: signing in and out, the session cookie, wrong keys,
//! the sign-in link, another account's objects, forms from other sites, the request log keeping
//! no secret, and actions being the API's own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Resp, TestApp, encode};

fn browser() -> reqwest::Client {
    kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A signed-in browser: its session cookie.
struct Browser {
    cookie: String,
}

/// The sign-in form posted with `key`, from `origin` if given.
async fn post_login(app: &TestApp, key: &str, origin: Option<&str>) -> Resp {
    let mut req = browser()
        .post(app.url("/dashboard/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("key", key)]));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    app.send(req).await
}

async fn sign_in_as(app: &TestApp, key: &str) -> Browser {
    let r = post_login(app, key, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.header("location"), Some("/dashboard"));
    let set = r.header("set-cookie").expect("a session cookie").to_owned();
    Browser { cookie: set.split(';').next().unwrap().to_owned() }
}

impl Browser {
    async fn get(&self, app: &TestApp, path: &str) -> Resp {
        app.send(browser().get(app.url(path)).header("cookie", &self.cookie)).await
    }

    async fn post(&self, app: &TestApp, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Resp {
        let mut req = browser()
            .post(app.url(path))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        app.send(req).await
    }

    /// The CSRF token of the forms on `path`.
    async fn csrf(&self, app: &TestApp, path: &str) -> String {
        let page = self.get(app, path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let at = page.text.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        page.text[at..].split('"').next().unwrap().to_owned()
    }
}

/// The text of the element carrying `data-testid="{testid}"`, HTML entities decoded.
fn testid_text(html: &str, testid: &str) -> String {
    let at =
        html.find(&format!("data-testid=\"{testid}\"")).unwrap_or_else(|| panic!("no {testid} in {html}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find("</").unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn signing_in_sets_a_strict_cookie_and_wrong_keys_are_refused_alike() {
    let app = TestApp::spawn().await;
    let r = app.send(browser().get(app.url("/dashboard"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/dashboard/login"));
    let login = app.send(browser().get(app.url("/dashboard/login"))).await;
    assert!(login.text.contains("data-testid=\"dashboard-key-input\""));
    assert!(login.header("content-security-policy").unwrap().contains("default-src 'none'"));

    let mut messages = Vec::new();
    for wrong in ["sk_test_nope", "pk_test_1", "", &format!("{}x", app.key)] {
        let r = post_login(&app, wrong, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{wrong}: {}", r.text);
        assert!(r.header("set-cookie").is_none());
        messages.push(testid_text(&r.text, "dashboard-login-error"));
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "one message for every wrong key: {messages:?}");

    let r = post_login(&app, &app.key, None).await;
    let cookie = r.header("set-cookie").unwrap().to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/dashboard", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: not Secure ({cookie})");
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    assert!(token.len() >= 32);
    // The store holds the token's hash, never the token.
    let stored = app
        .ctx()
        .store
        .get_by_id(
            kassa_core::store::Kind::DashboardSession,
            &kassa_core::dashboard::DashboardSession::id_of(&token),
        )
        .await
        .unwrap()
        .expect("the session is stored by its token's hash");
    assert!(!stored.data.contains(&token));

    let b = Browser { cookie: cookie.split(';').next().unwrap().to_owned() };
    let home = b.get(&app, "/dashboard").await;
    assert_eq!(home.status, StatusCode::OK);
    for id in ["nav-sessions", "nav-payments", "nav-logs", "nav-clocks", "dashboard-logout", "payments-chart"]
    {
        assert!(home.text.contains(&format!("data-testid=\"{id}\"")), "{id}");
    }

    // Signing out needs the form's token, and ends the session for good.
    let csrf = b.csrf(&app, "/dashboard").await;
    assert_eq!(b.post(&app, "/dashboard/logout", &[], None).await.status, StatusCode::FORBIDDEN);
    let out = b.post(&app, "/dashboard/logout", &[("csrf", &csrf)], None).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(b.get(&app, "/dashboard").await.status, StatusCode::SEE_OTHER);
    app.shutdown().await;
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_held_back() {
    let app = TestApp::spawn().await;
    for _ in 0..kassa::http::dashboard::LOGIN_FAILURES {
        assert_eq!(post_login(&app, "sk_test_wrong", None).await.status, StatusCode::UNAUTHORIZED);
    }
    let held = post_login(&app, &app.key, None).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS, "even the right key waits: {}", held.text);
    assert!(held.header("retry-after").is_some());
    app.advance(kassa::http::dashboard::LOGIN_WINDOW);
    sign_in_as(&app, &app.key).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_sign_in_link_works_once_and_for_ten_minutes() {
    let app = TestApp::spawn().await;
    let ctx = app.ctx();
    let account = ctx.store.default_account().await.unwrap().unwrap();
    let token =
        kassa::http::dashboard::sign_in_link(ctx.store.as_ref(), &account.id, ctx.now()).await.unwrap();
    let link = format!("/dashboard/login/link?token={token}");
    let r = app.send(browser().get(app.url(&link))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    assert!(!cookie.contains(&token), "the session is not the link");
    assert_eq!(Browser { cookie }.get(&app, "/dashboard").await.status, StatusCode::OK);
    assert_eq!(app.send(browser().get(app.url(&link))).await.status, StatusCode::UNAUTHORIZED, "used once");

    let late =
        kassa::http::dashboard::sign_in_link(ctx.store.as_ref(), &account.id, ctx.now()).await.unwrap();
    app.advance(kassa_core::dashboard::LINK_SECONDS);
    let r = app.send(browser().get(app.url(&format!("/dashboard/login/link?token={late}")))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The sweep deletes what no longer signs in.
    let late_id = kassa_core::dashboard::DashboardSession::id_of(&late);
    let kind = kassa_core::store::Kind::DashboardSession;
    assert!(ctx.store.get_by_id(kind, &late_id).await.unwrap().is_some());
    app.sweep().await;
    assert!(ctx.store.get_by_id(kind, &late_id).await.unwrap().is_none(), "an old link is swept");
    app.shutdown().await;
}

#[tokio::test]
async fn sections_list_find_and_show_the_api_json_and_other_accounts_objects_are_404() {
    let app = TestApp::spawn().await;
    let price = app.price(1500, "eur").await;
    let session = app.simple_session(&price, 2).await;
    let id = session["id"].as_str().unwrap();
    let other_key = app.new_account("Other").await;
    let foreign = app.post_as(&other_key, "/products", &[("name", "Not yours")]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let b = sign_in_as(&app, &app.key).await;
    let list = b.get(&app, "/dashboard/sessions").await;
    assert!(list.text.contains(&format!("data-testid=\"list-row\" data-id=\"{id}\"")), "{}", list.text);
    assert!(list.text.contains("€30.00") || list.text.contains("30.00"), "amounts by currency");
    let found = b.get(&app, &format!("/dashboard/sessions?q={id}")).await;
    assert_eq!(found.text.matches("data-testid=\"list-row\"").count(), 1);

    let detail = b.get(&app, &format!("/dashboard/sessions/{id}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(testid_text(&detail.text, "object-id"), id);
    let shown: Value = serde_json::from_str(&testid_text(&detail.text, "object-json")).unwrap();
    let api = app.get(&format!("/v1/checkout/sessions/{id}")).await;
    assert_eq!(shown, api.body, "the exact API JSON");
    assert!(detail.text.contains("data-testid=\"action-expire\""));
    assert!(detail.text.contains("data-testid=\"action-open-page\""));

    for path in [
        format!("/dashboard/products/{foreign}"),
        "/dashboard/sessions/cs_test_nope".to_owned(),
        "/dashboard/nowhere".to_owned(),
    ] {
        let r = b.get(&app, &path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!r.text.contains("Not yours"));
    }
    // Paginated newest first.
    for n in 0..30 {
        app.product(&format!("P{n}")).await;
    }
    let first = b.get(&app, "/dashboard/products").await;
    assert_eq!(first.text.matches("data-testid=\"list-row\"").count(), 25);
    assert!(first.text.contains(">P29<"), "newest first");
    let at = first.text.find("data-testid=\"list-next-page\"").expect("a next page");
    let href =
        first.text[..at].rsplit("href=\"").next().unwrap().split('"').next().unwrap().replace("&amp;", "&");
    let second = b.get(&app, &href).await;
    assert_eq!(second.text.matches("data-testid=\"list-row\"").count(), 6, "{href}");
    assert!(second.text.contains(">P0<"));
    app.shutdown().await;
}

#[tokio::test]
async fn forms_refuse_other_sites_and_missing_tokens_and_act_through_the_api() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let id = app.simple_session(&price, 1).await["id"].as_str().unwrap().to_owned();
    let b = sign_in_as(&app, &app.key).await;
    let path = format!("/dashboard/sessions/{id}");
    let csrf = b.csrf(&app, &path).await;
    let expire = format!("{path}/expire");

    let r = b.post(&app, &expire, &[("csrf", &csrf)], Some("https://evil.test")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a foreign Origin");
    let r = b.post(&app, &expire, &[], Some(&app.base)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no token");
    let r = b.post(&app, &expire, &[("csrf", "forged")], Some(&app.base)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a wrong token");
    let login = post_login(&app, &app.key, Some("https://evil.test")).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "nor a sign-in from elsewhere");
    assert_eq!(app.get(&format!("/checkout/session/{id}")).await.body["status"], "open");

    let r = b.post(&app, &expire, &[("csrf", &csrf)], Some(&app.base)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(app.get(&format!("/checkout/session/{id}")).await.body["status"], "expired");
    let events = app.get("/events?type=checkout.session.expired").await;
    assert_eq!(events.body["data"][0]["data"]["object"]["id"], id.as_str(), "the API's event");
    // A second expiry is refused as the API refuses it, with its message.
    let again = b.post(&app, &expire, &[("csrf", &csrf)], Some(&app.base)).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.text.contains("data-testid=\"action-error\""));

    // A product with a price, then a webhook endpoint whose secret is shown once.
    let made = b
        .post(
            &app,
            "/dashboard/products",
            &[
                ("csrf", &csrf),
                ("name", "Dash tee"),
                ("unit_amount", "2500"),
                ("currency", "usd"),
                ("interval", ""),
            ],
            None,
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let product = made.header("location").unwrap().rsplit('/').next().unwrap().to_owned();
    let prices = app.get(&format!("/prices?product={product}")).await;
    assert_eq!(prices.body["data"][0]["unit_amount"], 2500);
    let hook = b
        .post(
            &app,
            "/dashboard/webhooks",
            &[("csrf", &csrf), ("url", "https://hooks.test/x"), ("enabled_events", "*")],
            None,
        )
        .await;
    assert_eq!(hook.status, StatusCode::OK, "{}", hook.text);
    assert!(testid_text(&hook.text, "webhook-secret").starts_with("whsec_"));
    let endpoint = testid_text(&hook.text, "object-id");
    assert!(
        !b.get(&app, &format!("/dashboard/webhooks/{endpoint}")).await.text.contains("whsec_"),
        "shown once"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_request_log_shows_requests_with_their_keys_and_never_a_secret() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let made = app
        .post_idem(
            "/checkout/session",
            "dash-idem-1",
            &[
                ("line_items[0][price]", &price),
                ("line_items[0][quantity]", "1"),
                ("payment_method_types[0]", "card"),
                ("success_url", "https://shop.test/ok"),
            ],
        )
        .await;
    let request_id = made.header("request-id").unwrap().to_owned();
    let id = made.ok()["id"].as_str().unwrap().to_owned();
    let paid = crate::pay::pay_card(&app, &id, "4000002760003184").await;
    assert!(paid.status.is_redirection() || paid.status.is_success(), "{}", paid.text);
    let (_, secret) = app.endpoint("https://hooks.test/y", &["*"]).await;
    app.get(&format!("/checkout/session/{id}?expand[]=payment_intent")).await;
    app.get("/products/prod_missing").await;

    let b = sign_in_as(&app, &app.key).await;
    let mut page = String::new();
    for _ in 0..50 {
        page = b.get(&app, "/dashboard/logs").await.text;
        if page.contains("/products/prod_missing") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(page.contains(&format!("data-testid=\"log-row\" data-request-id=\"{request_id}\"")), "{page}");
    assert!(page.contains("dash-idem-1"));
    assert!(page.contains("/v1/checkout/sessions") || page.contains("/checkout/session"));
    for s in [app.key.as_str(), secret.as_str(), "4000002760003184", "4000 0027 6000 3184"] {
        assert!(!page.contains(s), "{s} is in the log");
    }
    // Filters: status class, method, path.
    let errors = b.get(&app, "/dashboard/logs?status=4xx").await.text;
    assert_eq!(errors.matches("data-testid=\"log-row\"").count(), 1, "{errors}");
    let posts = b.get(&app, "/dashboard/logs?method=post&path=checkout").await.text;
    assert_eq!(posts.matches("data-testid=\"log-row\"").count(), 1);
    // Another account sees none of it.
    let other = app.new_account("Other").await;
    let ob = sign_in_as(&app, &other).await;
    assert!(!ob.get(&app, "/dashboard/logs").await.text.contains("data-testid=\"log-row\""));
    // The object links to the requests that touched it.
    let detail = b.get(&app, &format!("/dashboard/sessions/{id}")).await.text;
    assert!(
        detail.contains(&format!("data-testid=\"object-request\" data-request-id=\"{request_id}\"")),
        "the request that made it: {detail}"
    );
    let one = b.get(&app, &format!("/dashboard/logs?request={request_id}")).await.text;
    assert_eq!(one.matches("data-testid=\"log-row\"").count(), 1);
    assert!(one.contains("<details open>"));
    app.shutdown().await;
}

#[tokio::test]
async fn actions_fund_a_balance_make_coupons_and_codes_and_cancel_a_subscription() {
    let app = TestApp::spawn().await;
    let b = sign_in_as(&app, &app.key).await;
    let csrf = b.csrf(&app, "/dashboard").await;

    // A customer's cash balance, funded as the test helper funds it.
    let customer = app.post("/customers", &[("email", "cash@example.test")]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = b.get(&app, &format!("/dashboard/customers/{customer}")).await;
    assert!(page.text.contains("data-testid=\"action-fund-balance\""));
    let funded = b
        .post(
            &app,
            &format!("/dashboard/customers/{customer}/fund"),
            &[("csrf", &csrf), ("amount", "1234"), ("currency", "eur")],
            None,
        )
        .await;
    assert_eq!(funded.status, StatusCode::SEE_OTHER, "{}", funded.text);
    let c = app.get(&format!("/customers/{customer}")).await;
    assert_eq!(c.body["cash_balance"]["available"]["eur"], 1234, "{}", c.text);
    let refused = b
        .post(
            &app,
            &format!("/dashboard/customers/{customer}/fund"),
            &[("csrf", &csrf), ("amount", "-5")],
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "the API's own check");
    assert!(refused.text.contains("data-testid=\"action-error\""));

    // A coupon, then a promotion code for it; found by the code.
    let made = b
        .post(
            &app,
            "/dashboard/coupons",
            &[("csrf", &csrf), ("percent_off", "15"), ("duration", "once")],
            None,
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let coupon = made.header("location").unwrap().rsplit('/').next().unwrap().to_owned();
    let coded = b
        .post(
            &app,
            &format!("/dashboard/coupons/{coupon}/promotion_codes"),
            &[("csrf", &csrf), ("code", "DASH15")],
            None,
        )
        .await;
    assert_eq!(coded.status, StatusCode::OK, "{}", coded.text);
    assert!(coded.text.contains("data-testid=\"related-row\" data-id=\"promo_"));
    let codes = app.get("/promotion_codes?code=DASH15").await;
    assert_eq!(codes.body["data"][0]["coupon"]["id"], coupon.as_str());
    let found = b.get(&app, "/dashboard/coupons?q=DASH15").await;
    assert_eq!(found.text.matches("data-testid=\"list-row\"").count(), 1, "{}", found.text);

    // A subscription, canceled as `DELETE /v1/subscriptions/{id}` cancels it.
    let plan = app.recurring_price(900, "usd", "month").await;
    let s = app
        .session(serde_json::json!({"line_items": [{"price": plan, "quantity": 1}], "success_url": "https://shop.test/ok"}))
        .await;
    let sid = s["id"].as_str().unwrap();
    assert_eq!(crate::pay::pay_card(&app, sid, "4242424242424242").await.status, StatusCode::SEE_OTHER);
    let sub =
        app.get(&format!("/checkout/session/{sid}")).await.body["subscription"].as_str().unwrap().to_owned();
    let page = b.get(&app, &format!("/dashboard/subscriptions/{sub}")).await;
    assert!(page.text.contains("data-testid=\"action-cancel-subscription\""));
    let canceled =
        b.post(&app, &format!("/dashboard/subscriptions/{sub}/cancel"), &[("csrf", &csrf)], None).await;
    assert_eq!(canceled.status, StatusCode::SEE_OTHER, "{}", canceled.text);
    assert_eq!(app.get(&format!("/subscriptions/{sub}")).await.body["status"], "canceled");
    let events = app.get("/events?type=customer.subscription.deleted").await;
    assert_eq!(events.body["data"][0]["data"]["object"]["id"], sub.as_str());
    // The list still shows it, canceled (the API's list leaves canceled ones out by default).
    let list = b.get(&app, "/dashboard/subscriptions").await;
    assert!(list.text.contains(&format!("data-id=\"{sub}\"")), "{}", list.text);
    assert!(list.text.contains("canceled"), "{}", list.text);
    app.shutdown().await;
}

#[tokio::test]
async fn a_session_ends_after_twelve_idle_hours_and_use_keeps_it_alive() {
    let app = TestApp::spawn().await;
    let idle = kassa_core::dashboard::IDLE_SECONDS;
    let b = sign_in_as(&app, &app.key).await;
    app.advance(idle - 100);
    assert_eq!(b.get(&app, "/dashboard/sessions").await.status, StatusCode::OK, "used before it expires");
    app.advance(200);
    assert_eq!(
        b.get(&app, "/dashboard/sessions").await.status,
        StatusCode::OK,
        "the use moved the expiry on"
    );
    app.advance(idle);
    let r = b.get(&app, "/dashboard/sessions").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "twelve idle hours");
    assert_eq!(r.header("location"), Some("/dashboard/login"));
    app.shutdown().await;
}

/// Every form of the dashboard, posted from another site with a valid cookie and token: 403, and
/// nothing made.
#[tokio::test]
async fn every_form_refuses_a_foreign_origin() {
    let app = TestApp::spawn().await;
    let b = sign_in_as(&app, &app.key).await;
    let csrf = b.csrf(&app, "/dashboard").await;
    let price = app.price(500, "usd").await;
    let session = app.simple_session(&price, 1).await["id"].as_str().unwrap().to_owned();
    let customer =
        app.post("/customers", &[("email", "x@example.test")]).await.ok()["id"].as_str().unwrap().to_owned();
    let event = app.get("/events?limit=1").await.body["data"][0]["id"].as_str().unwrap().to_owned();
    let before = app.get("/events?limit=100").await.body["data"].as_array().unwrap().len();
    for path in [
        "/dashboard/logout".to_owned(),
        "/dashboard/products".to_owned(),
        "/dashboard/coupons".to_owned(),
        "/dashboard/webhooks".to_owned(),
        format!("/dashboard/sessions/{session}/expire"),
        "/dashboard/subscriptions/sub_x/cancel".to_owned(),
        format!("/dashboard/customers/{customer}/fund"),
        format!("/dashboard/events/{event}/resend"),
        "/dashboard/test-clocks/clock_x/advance".to_owned(),
        "/dashboard/coupons/c_x/promotion_codes".to_owned(),
    ] {
        let form = [
            ("csrf", csrf.as_str()),
            ("name", "Evil"),
            ("unit_amount", "1"),
            ("currency", "usd"),
            ("percent_off", "50"),
            ("duration", "once"),
            ("url", "https://evil.test/hook"),
            ("amount", "100"),
            ("frozen_time", "2000000000"),
            ("code", "EVIL"),
        ];
        let r = b.post(&app, &path, &form, Some("https://evil.test")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
    }
    assert_eq!(
        app.get("/events?limit=100").await.body["data"].as_array().unwrap().len(),
        before,
        "nothing happened"
    );
    assert_eq!(app.get(&format!("/checkout/session/{session}")).await.body["status"], "open");
    assert_eq!(b.get(&app, "/dashboard").await.status, StatusCode::OK, "still signed in");
    app.shutdown().await;
}

/// The request log pages like the other lists (`list-next-page`, 50 requests a page, newest
/// first), and its filters stay on every page.
#[tokio::test]
async fn the_request_log_pages_and_keeps_its_filters() {
    let app = TestApp::spawn().await;
    for i in 0..55 {
        app.get(&format!("/products/prod_missing_{i}")).await;
    }
    for _ in 0..3 {
        app.get("/products").await;
    }
    let b = sign_in_as(&app, &app.key).await;
    let rows = |page: &str| page.matches("data-testid=\"log-row\"").count();
    let next = |page: &str| {
        let at = page.find("data-testid=\"list-next-page\"")?;
        let href = &page[..at];
        let href = &href[href.rfind("href=\"")? + 6..];
        // The HTML escapes `&` (as a browser reads it back).
        Some(href[..href.find('"')?].replace("&#38;", "&").replace("&amp;", "&"))
    };
    let mut first = String::new();
    for _ in 0..100 {
        first = b.get(&app, "/dashboard/logs?status=4xx&method=GET").await.text;
        if rows(&first) == 50 && first.contains("prod_missing_54") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(rows(&first), 50, "{first}");
    assert!(first.contains("prod_missing_54") && !first.contains("prod_missing_4<"), "newest first");
    let link = next(&first).expect("a next page");
    assert!(
        link.contains("status=4xx") && link.contains("method=GET") && link.contains("after=req_"),
        "{link}"
    );
    let second = b.get(&app, &link).await.text;
    assert_eq!(rows(&second), 5, "{second}");
    assert!(second.contains("prod_missing_0") && !second.contains("prod_missing_54"));
    assert!(!second.contains("/products</code>"), "the filter holds on the next page");
    assert!(next(&second).is_none(), "the last page has no next link");
    // The filter form starts again from the first page.
    assert!(second.contains("<option value=\"4xx\" selected>"));
    app.shutdown().await;
}
