//! The customer portal (issue 17): `/billing_portal/configurations`, `POST /billing_portal/sessions`,
//! and the portal page's plain form posts, each the API's own change with the API's events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::billing::subscribe;
use crate::common::id;
use crate::helpers::{Resp, TestApp};

/// A client that does not follow redirects, so 303s can be asserted.
fn browser() -> reqwest::Client {
    kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The portal's page as a browser holding its cookie sees it.
struct Portal {
    id: String,
    cookie: String,
    csrf: String,
}

impl Portal {
    /// Follow the session's URL: a 303 with the cookie.
    async fn open(app: &TestApp, session: &Value) -> (Portal, String) {
        let url = session["url"].as_str().unwrap();
        let r = app.send(browser().get(url)).await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text);
        let cookie = r.header("set-cookie").unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains(&format!("Path=/portal/{}", id(session))), "{cookie}");
        let location = r.header("location").unwrap().to_owned();
        let mut p = Portal {
            id: id(session),
            cookie: cookie.split(';').next().unwrap().to_owned(),
            csrf: String::new(),
        };
        let page = p.get(app, "").await;
        assert_eq!(page.status.as_u16(), 200, "{}", page.text);
        p.csrf =
            page.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        (p, location)
    }

    async fn get(&self, app: &TestApp, query: &str) -> Resp {
        app.send(
            browser().get(app.url(&format!("/portal/{}{query}", self.id))).header("cookie", &self.cookie),
        )
        .await
    }

    /// The page as a browser asking for `languages` (`Accept-Language`) sees it.
    async fn get_in(&self, app: &TestApp, query: &str, languages: &str) -> Resp {
        app.send(
            browser()
                .get(app.url(&format!("/portal/{}{query}", self.id)))
                .header("cookie", &self.cookie)
                .header("accept-language", languages),
        )
        .await
    }

    async fn post(&self, app: &TestApp, action: &str, form: &[(&str, &str)]) -> Resp {
        let mut pairs = vec![("csrf", self.csrf.as_str())];
        pairs.extend_from_slice(form);
        self.post_raw(app, action, &pairs).await
    }

    async fn post_raw(&self, app: &TestApp, action: &str, form: &[(&str, &str)]) -> Resp {
        app.send(
            browser()
                .post(app.url(&format!("/portal/{}/{action}", self.id)))
                .header("cookie", &self.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(crate::helpers::encode(form)),
        )
        .await
    }
}

/// A $10/month subscription paid on the checkout page; answers (customer, subscription).
async fn subscribed(app: &TestApp) -> (String, Value) {
    let sub = subscribe(app, None, 1000, "month", "4242424242424242", json!({})).await;
    (sub["customer"].as_str().unwrap().to_owned(), sub)
}

/// A configuration offering `prices` of a new product (plus the subscription's own price).
async fn configuration(app: &TestApp, own: &Value, prices: &[&str], extra: &[(&str, &str)]) -> String {
    let product = own["items"]["data"][0]["price"]["product"].as_str().unwrap().to_owned();
    let own_price = own["items"]["data"][0]["price"]["id"].as_str().unwrap().to_owned();
    let mut form: Vec<(String, String)> = vec![
        ("features[subscription_update][enabled]".into(), "true".into()),
        ("features[subscription_update][default_allowed_updates][0]".into(), "price".into()),
        ("features[subscription_update][default_allowed_updates][1]".into(), "quantity".into()),
        ("features[subscription_update][products][0][product]".into(), product),
        ("features[subscription_update][products][0][prices][0]".into(), own_price),
        ("features[subscription_cancel][enabled]".into(), "true".into()),
        ("features[subscription_cancel][cancellation_reason][enabled]".into(), "true".into()),
        ("features[subscription_cancel][cancellation_reason][options][0]".into(), "too_expensive".into()),
        ("features[subscription_cancel][cancellation_reason][options][1]".into(), "other".into()),
        ("features[payment_method_update][enabled]".into(), "true".into()),
        ("features[invoice_history][enabled]".into(), "true".into()),
        ("features[customer_update][enabled]".into(), "true".into()),
        ("features[customer_update][allowed_updates][0]".into(), "email".into()),
    ];
    for (i, p) in prices.iter().enumerate() {
        let r = app.get(&format!("/prices/{p}")).await;
        form.push((
            format!("features[subscription_update][products][{}][product]", i + 1),
            r.ok()["product"].as_str().unwrap().to_owned(),
        ));
        form.push((
            format!("features[subscription_update][products][{}][prices][0]", i + 1),
            (*p).to_owned(),
        ));
    }
    for (k, v) in extra {
        form.push(((*k).to_owned(), (*v).to_owned()));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = app.post("/billing_portal/configurations", &pairs).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    id(&r.body)
}

async fn session(app: &TestApp, form: &[(&str, &str)]) -> Value {
    let r = app.post("/v1/billing_portal/sessions", form).await;
    r.ok().clone()
}

#[tokio::test]
async fn configurations_are_created_retrieved_updated_and_listed_with_a_default() {
    let app = TestApp::spawn().await;
    let list = app.get("/v1/billing_portal/configurations").await;
    let data = list.ok()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 1, "the default exists from the first use: {data:?}");
    let default = &data[0];
    assert_eq!(default["object"], "billing_portal.configuration");
    assert_eq!(default["is_default"], true);
    assert_eq!(default["active"], true);
    assert_eq!(default["login_page"], json!({"enabled": false, "url": null}));
    assert_eq!(default["features"]["invoice_history"]["enabled"], true);
    assert_eq!(default["livemode"], false);

    // Errors name their parameter.
    app.post("/billing_portal/configurations", &[("default_return_url", "https://shop.test")])
        .await
        .invalid("features");
    app.post("/billing_portal/configurations", &[("features[subscription_cancel][mode]", "later")])
        .await
        .invalid("features[subscription_cancel][mode]");
    app.post("/billing_portal/configurations", &[("features[subscription_update][enabled]", "true")])
        .await
        .invalid("features[subscription_update][products]");
    app.post(
        "/billing_portal/configurations",
        &[
            ("features[subscription_update][enabled]", "true"),
            ("features[subscription_update][default_allowed_updates][0]", "price"),
            ("features[subscription_update][products][0][product]", "prod_nope"),
            ("features[subscription_update][products][0][prices][0]", "price_nope"),
        ],
    )
    .await
    .invalid("features[subscription_update][products][0][product]");
    app.post(
        "/billing_portal/configurations",
        &[("features[invoice_history][enabled]", "true"), ("default_return_url", "nope")],
    )
    .await
    .invalid("default_return_url");
    app.post(
        "/billing_portal/configurations",
        &[("features[invoice_history][enabled]", "true"), ("login_page[enabled]", "true")],
    )
    .await
    .invalid("login_page[enabled]");
    app.post("/billing_portal/configurations", &[("features[invoice_history][wat]", "true")])
        .await
        .error(400);

    let plan = app.recurring_price(1500, "usd", "month").await;
    let product = app.get(&format!("/prices/{plan}")).await.body["product"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/billing_portal/configurations",
            &[
                ("business_profile[headline]", "Acme <billing>"),
                ("default_return_url", "https://shop.test/account"),
                ("features[subscription_update][enabled]", "true"),
                ("features[subscription_update][default_allowed_updates][0]", "price"),
                ("features[subscription_update][products][0][product]", &product),
                ("features[subscription_update][products][0][prices][0]", &plan),
                ("features[subscription_update][proration_behavior]", "always_invoice"),
                ("features[subscription_cancel][enabled]", "true"),
                ("features[subscription_cancel][mode]", "immediately"),
                ("metadata[plan]", "pro"),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let c = r.body.clone();
    assert!(id(&c).starts_with("bpc_"));
    assert_eq!(c["is_default"], false);
    assert_eq!(c["business_profile"]["headline"], "Acme <billing>");
    assert_eq!(c["features"]["subscription_update"]["products"][0]["prices"], json!([plan]));
    assert_eq!(c["features"]["subscription_update"]["proration_behavior"], "always_invoice");
    assert_eq!(c["features"]["subscription_cancel"]["mode"], "immediately");
    assert_eq!(c["metadata"], json!({"plan": "pro"}));
    let cid = id(&c);
    assert_eq!(app.get(&format!("/v1/billing_portal/configurations/{cid}")).await.ok()["id"], cid.as_str());
    let u = app
        .post(
            &format!("/v1/billing_portal/configurations/{cid}"),
            &[("active", "false"), ("business_profile[headline]", "New")],
        )
        .await;
    assert_eq!(u.ok()["active"], false);
    assert_eq!(u.body["business_profile"]["headline"], "New");
    assert_eq!(u.body["features"]["subscription_cancel"]["mode"], "immediately", "what is not given stays");
    let inactive = app.get("/v1/billing_portal/configurations?active=false").await;
    assert_eq!(crate::common::ids(inactive.ok()), vec![cid.clone()]);
    let defaults = app.get("/v1/billing_portal/configurations?is_default=true").await;
    assert_eq!(crate::common::ids(defaults.ok()), vec![id(default)]);
    app.post(&format!("/v1/billing_portal/configurations/{}", id(default)), &[("active", "false")])
        .await
        .invalid("active");
    app.get("/v1/billing_portal/configurations/bpc_nope").await.error(404);
    // Another account sees none of these.
    let other = app.new_account("Other").await;
    app.get_as(&other, &format!("/v1/billing_portal/configurations/{cid}")).await.error(404);
}

#[tokio::test]
async fn sessions_need_an_existing_customer_of_the_account_and_announce_themselves() {
    let app = TestApp::spawn().await;
    app.post("/v1/billing_portal/sessions", &[("return_url", "https://shop.test")]).await.invalid("customer");
    app.post("/v1/billing_portal/sessions", &[("customer", "cus_nope")]).await.invalid("customer");
    let (cus, sub) = subscribed(&app).await;
    let other = app.new_account("Other").await;
    app.post_as(&other, "/v1/billing_portal/sessions", &[("customer", &cus)]).await.invalid("customer");
    app.post("/v1/billing_portal/sessions", &[("customer", &cus), ("return_url", "nope")])
        .await
        .invalid("return_url");
    app.post("/v1/billing_portal/sessions", &[("customer", &cus), ("configuration", "bpc_nope")])
        .await
        .invalid("configuration");
    app.post(
        "/v1/billing_portal/sessions",
        &[("customer", &cus), ("flow_data[type]", "subscription_cancel")],
    )
    .await
    .invalid("flow_data[subscription_cancel][subscription]");
    // A subscription of another customer is no flow of this one's.
    let (_, other_sub) = subscribed(&app).await;
    app.post(
        "/v1/billing_portal/sessions",
        &[
            ("customer", &cus),
            ("flow_data[type]", "subscription_cancel"),
            ("flow_data[subscription_cancel][subscription]", &id(&other_sub)),
        ],
    )
    .await
    .invalid("flow_data[subscription_cancel][subscription]");
    // The default configuration offers no plan change.
    app.post(
        "/v1/billing_portal/sessions",
        &[
            ("customer", &cus),
            ("flow_data[type]", "subscription_update"),
            ("flow_data[subscription_update][subscription]", &id(&sub)),
        ],
    )
    .await
    .invalid("flow_data[type]");

    let s =
        session(&app, &[("customer", &cus), ("return_url", "https://shop.test/account"), ("locale", "auto")])
            .await;
    assert_eq!(s["object"], "billing_portal.session");
    assert!(id(&s).starts_with("bps_"));
    assert_eq!(s["customer"], cus.as_str());
    assert_eq!(s["return_url"], "https://shop.test/account");
    assert_eq!(s["livemode"], false);
    assert_eq!(s["on_behalf_of"], Value::Null);
    assert_eq!(s["flow"], Value::Null);
    assert_eq!(s["locale"], "auto");
    let default = app.get("/v1/billing_portal/configurations?is_default=true").await;
    assert_eq!(s["configuration"], default.ok()["data"][0]["id"]);
    let url = s["url"].as_str().unwrap();
    let secret = url.rsplit('/').next().unwrap();
    assert!(url.starts_with(&app.url(&format!("/portal/{}/", id(&s)))), "{url}");
    assert!(
        secret.len() >= 32 && secret.chars().all(|c| c.is_ascii_alphanumeric()),
        "≥ 190 random bits: {secret}"
    );
    assert!(app.event_types().await.contains(&"billing_portal.session.created".to_owned()));
    let ev = app.get("/v1/events?type=billing_portal.session.created").await;
    assert_eq!(ev.ok()["data"][0]["data"]["object"]["id"], id(&s).as_str());

    // Flows are echoed in Stripe's shape.
    let f = session(
        &app,
        &[
            ("customer", &cus),
            ("flow_data[type]", "subscription_cancel"),
            ("flow_data[subscription_cancel][subscription]", &id(&sub)),
            ("flow_data[after_completion][type]", "redirect"),
            ("flow_data[after_completion][redirect][return_url]", "https://shop.test/bye"),
        ],
    )
    .await;
    assert_eq!(f["flow"]["type"], "subscription_cancel");
    assert_eq!(f["flow"]["subscription_cancel"], json!({"retention": null, "subscription": id(&sub)}));
    assert_eq!(f["flow"]["after_completion"]["redirect"], json!({"return_url": "https://shop.test/bye"}));
    assert_eq!(f["flow"]["subscription_update"], Value::Null);
}

#[tokio::test]
async fn the_url_is_an_unguessable_capability_that_expires_unused_after_five_minutes() {
    let app = TestApp::spawn().await;
    let (cus, _) = subscribed(&app).await;
    let s = session(&app, &[("customer", &cus)]).await;
    let url = s["url"].as_str().unwrap().to_owned();
    let secret = url.rsplit('/').next().unwrap().to_owned();
    // The store keeps only the secret's hash.
    let raw =
        app.ctx().store.get_by_id(kassa_core::store::Kind::PortalSession, &id(&s)).await.unwrap().unwrap();
    assert!(!raw.data.contains(&secret), "{}", raw.data);
    // A wrong secret, or none, opens nothing; the page needs the cookie.
    let wrong = format!("{}{}", &url[..url.len() - 1], if url.ends_with('A') { 'B' } else { 'A' });
    let r = app.send(browser().get(&wrong)).await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.text);
    assert!(r.text.contains("data-testid=\"page-error\""));
    let r = app.send(browser().get(app.url(&format!("/portal/{}", id(&s))))).await;
    assert_eq!(r.status.as_u16(), 404);
    let r = app
        .send(
            browser()
                .get(app.url(&format!("/portal/{}", id(&s))))
                .header("cookie", format!("kassa_portal={}x", secret)),
        )
        .await;
    assert_eq!(r.status.as_u16(), 404);
    // Five minutes unused: gone, and the sweep deletes it.
    app.advance(300);
    assert_eq!(app.send(browser().get(&url)).await.status.as_u16(), 404);
    app.sweep().await;
    let kind = kassa_core::store::Kind::PortalSession;
    assert!(app.ctx().store.get_by_id(kind, &id(&s)).await.unwrap().is_none());

    // Opened in time, it lasts an hour from the opening.
    let s = session(&app, &[("customer", &cus)]).await;
    app.advance(299);
    let (p, location) = Portal::open(&app, &s).await;
    assert_eq!(location, format!("/portal/{}", id(&s)));
    app.advance(3599);
    assert_eq!(p.get(&app, "").await.status.as_u16(), 200);
    app.advance(1);
    assert_eq!(p.get(&app, "").await.status.as_u16(), 404);
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_the_portal_acts_only_on_its_customer() {
    let app = TestApp::spawn().await;
    let (cus, sub) = subscribed(&app).await;
    let (_, other_sub) = subscribed(&app).await;
    let s = session(&app, &[("customer", &cus)]).await;
    let (p, _) = Portal::open(&app, &s).await;
    let sid = id(&sub);
    let r = p.post_raw(&app, "cancel", &[("subscription", &sid)]).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text);
    let r = p.post_raw(&app, "cancel", &[("csrf", "forged"), ("subscription", &sid)]).await;
    assert_eq!(r.status.as_u16(), 403);
    // A post from another site is refused before anything.
    let r = app
        .send(
            browser()
                .post(app.url(&format!("/portal/{}/cancel", p.id)))
                .header("cookie", &p.cookie)
                .header("origin", "https://evil.test")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(crate::helpers::encode(&[("csrf", &p.csrf), ("subscription", &sid)])),
        )
        .await;
    assert_eq!(r.status.as_u16(), 403);
    // Another customer's subscription is not this portal's.
    let r = p.post(&app, "cancel", &[("subscription", &id(&other_sub))]).await;
    assert_eq!(r.status.as_u16(), 400);
    assert!(
        r.text.contains("data-testid=\"portal-error\">This subscription cannot be changed here."),
        "{}",
        r.text
    );
    for s in [&sid, &id(&other_sub)] {
        let now = app.get(&format!("/subscriptions/{s}")).await;
        assert_eq!(now.ok()["cancel_at_period_end"], false, "nothing changed");
    }
    // The page escapes what the merchant and customer wrote.
    app.post(&format!("/customers/{cus}"), &[("email", "a<b>@example.test")]).await;
    let page = p.get(&app, "").await;
    assert!(!page.text.contains("a<b>"), "escaped");
    assert!(page.headers.get("content-security-policy").is_some());
}

#[tokio::test]
async fn every_portal_action_is_a_plain_form_post_with_the_apis_events() {
    let app = TestApp::spawn().await;
    let (cus, sub) = subscribed(&app).await;
    let sid = id(&sub);
    let pro = app.recurring_price(2500, "usd", "month").await;
    let config = configuration(&app, &sub, &[&pro], &[("business_profile[headline]", "Acme & Co")]).await;
    let s = session(
        &app,
        &[("customer", &cus), ("configuration", &config), ("return_url", "https://shop.test/account")],
    )
    .await;
    let (p, _) = Portal::open(&app, &s).await;

    let home = p.get(&app, "").await;
    let html = &home.text;
    assert!(
        html.contains(&format!("data-testid=\"portal-subscription\" data-subscription=\"{sid}\"")),
        "{html}"
    );
    for testid in [
        "portal-plan-name",
        "portal-status",
        "portal-next-invoice",
        "portal-cancel-button",
        "portal-update-plan",
        "portal-payment-method",
        "portal-update-payment-method",
        "portal-invoice",
        "portal-billing-email-input",
        "portal-billing-save",
        "portal-return-link",
        "portal-error",
    ] {
        assert!(html.contains(&format!("data-testid=\"{testid}\"")), "{testid} missing: {html}");
    }
    assert!(html.contains("Visa •••• 4242"), "{html}");
    assert!(html.contains("Acme &amp; Co") || html.contains("Acme &#38; Co"), "escaped headline");
    let inv = sub["latest_invoice"].as_str().unwrap();
    assert!(html.contains(&format!("data-testid=\"portal-invoice\" data-invoice=\"{inv}\"")));

    // Plan change: the options, the preview with its proration, then the change.
    let update = p.get(&app, &format!("?step=update&subscription={sid}")).await;
    assert!(
        update.text.contains(&format!("data-testid=\"portal-plan-option\" data-price=\"{pro}\"")),
        "{}",
        update.text
    );
    assert!(update.text.contains("data-testid=\"portal-quantity-input\""));
    let confirm = p.get(&app, &format!("?step=confirm&subscription={sid}&price={pro}&quantity=1")).await;
    assert_eq!(confirm.status.as_u16(), 200, "{}", confirm.text);
    let upcoming = app
        .get(&format!(
            "/invoices/upcoming?subscription={sid}&subscription_items[0][id]={}&subscription_items[0][price]={pro}",
            sub["items"]["data"][0]["id"].as_str().unwrap()
        ))
        .await;
    let proration: i64 = upcoming.ok()["lines"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["proration"] == true)
        .map(|l| l["amount"].as_i64().unwrap())
        .sum();
    assert!(proration > 0, "an upgrade costs something now: {proration}");
    let shown = confirm
        .text
        .split("data-testid=\"portal-proration-amount\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_eq!(shown, format!("${}.{:02}", proration / 100, proration % 100), "{}", confirm.text);
    let r = p.post(&app, "update", &[("subscription", &sid), ("price", &pro), ("quantity", "2")]).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let now = app.get(&format!("/subscriptions/{sid}")).await;
    assert_eq!(now.ok()["items"]["data"][0]["price"]["id"], pro.as_str());
    assert_eq!(now.body["items"]["data"][0]["quantity"], 2);
    let pending = app.get(&format!("/invoices/upcoming?subscription={sid}")).await;
    assert!(
        pending.ok()["lines"]["data"].as_array().unwrap().iter().any(|l| l["proration"] == true),
        "prorations pending"
    );
    // A price the configuration does not offer is refused.
    let stranger = app.recurring_price(9900, "usd", "month").await;
    let r = p.post(&app, "update", &[("subscription", &sid), ("price", &stranger)]).await;
    assert_eq!(r.status.as_u16(), 400);
    assert!(r.text.contains("Choose one of the plans shown."));

    // Card: a decline is shown; a good card becomes the default everywhere.
    let pm_page = p.get(&app, "?step=payment_method").await;
    for testid in ["card-number-input", "card-expiry-input", "card-cvc-input", "submit-button"] {
        assert!(pm_page.text.contains(&format!("data-testid=\"{testid}\"")), "{testid}");
    }
    let r = p
        .post(
            &app,
            "payment_method",
            &[("card_number", "4000000000000002"), ("card_expiry", "12/40"), ("card_cvc", "123")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 402, "{}", r.text);
    assert!(r.text.contains("data-testid=\"portal-error\">Your card was declined"), "{}", r.text);
    let r = p
        .post(
            &app,
            "payment_method",
            &[("card_number", "5555555555554444"), ("card_expiry", "12/40"), ("card_cvc", "123")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let c = app.get(&format!("/customers/{cus}")).await;
    let pm = c.ok()["invoice_settings"]["default_payment_method"].as_str().unwrap().to_owned();
    let pmv = app.get(&format!("/payment_methods/{pm}")).await;
    assert_eq!(pmv.ok()["card"]["last4"], "4444");
    assert_eq!(pmv.body["customer"], cus.as_str());
    assert_eq!(app.get(&format!("/subscriptions/{sid}")).await.ok()["default_payment_method"], pm.as_str());
    assert!(p.get(&app, "").await.text.contains("Mastercard •••• 4444"));
    let types = app.event_types().await;
    for t in ["payment_method.attached", "customer.updated", "customer.subscription.updated"] {
        assert!(types.contains(&t.to_owned()), "{t} in {types:?}");
    }

    // Billing email.
    let r = p.post(&app, "customer", &[("email", "new@example.test")]).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    assert_eq!(app.get(&format!("/customers/{cus}")).await.ok()["email"], "new@example.test");
    let r = p.post(&app, "customer", &[("email", "not an email")]).await;
    assert_eq!(r.status.as_u16(), 400);

    // Cancel at the period's end (with a reason), then resume.
    let cancel = p.get(&app, &format!("?step=cancel&subscription={sid}")).await;
    assert!(cancel.text.contains("data-testid=\"portal-cancel-reason\""));
    assert!(cancel.text.contains("data-testid=\"portal-cancel-confirm\""));
    let r = p.post(&app, "cancel", &[("subscription", &sid), ("reason", "too_expensive")]).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let now = app.get(&format!("/subscriptions/{sid}")).await;
    assert_eq!(now.ok()["cancel_at_period_end"], true);
    assert_eq!(now.body["status"], "active");
    assert_eq!(
        now.body["cancellation_details"],
        json!({"comment": null, "feedback": "too_expensive", "reason": "cancellation_requested"})
    );
    let home = p.get(&app, "?done=cancel_scheduled").await;
    assert!(home.text.contains("data-testid=\"portal-resume-button\""));
    assert!(home.text.contains(">canceling<"));
    let r = p.post(&app, "resume", &[("subscription", &sid)]).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let resumed = app.get(&format!("/subscriptions/{sid}")).await;
    assert_eq!(resumed.ok()["cancel_at_period_end"], false);
    assert_eq!(
        resumed.body["cancellation_details"],
        json!({"comment": null, "feedback": null, "reason": null})
    );

    // A configuration that cancels at once.
    app.post(
        &format!("/billing_portal/configurations/{config}"),
        &[("features[subscription_cancel][mode]", "immediately")],
    )
    .await
    .ok();
    let r = p.post(&app, "cancel", &[("subscription", &sid)]).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    assert_eq!(app.get(&format!("/subscriptions/{sid}")).await.ok()["status"], "canceled");
    assert!(app.event_types().await.contains(&"customer.subscription.deleted".to_owned()));
}

#[tokio::test]
async fn a_flow_opens_on_its_step_and_ends_as_after_completion_says() {
    let app = TestApp::spawn().await;
    let (cus, sub) = subscribed(&app).await;
    let sid = id(&sub);
    let s = session(
        &app,
        &[
            ("customer", &cus),
            ("flow_data[type]", "subscription_cancel"),
            ("flow_data[subscription_cancel][subscription]", &sid),
            ("flow_data[after_completion][type]", "redirect"),
            ("flow_data[after_completion][redirect][return_url]", "https://shop.test/bye"),
        ],
    )
    .await;
    let (p, location) = Portal::open(&app, &s).await;
    assert_eq!(location, format!("/portal/{}?step=cancel&subscription={sid}", p.id));
    let r = p.post(&app, "cancel", &[("subscription", &sid)]).await;
    assert_eq!(r.status.as_u16(), 303);
    assert_eq!(r.header("location"), Some("https://shop.test/bye"));

    let s = session(
        &app,
        &[
            ("customer", &cus),
            ("flow_data[type]", "payment_method_update"),
            ("flow_data[after_completion][type]", "hosted_confirmation"),
            ("flow_data[after_completion][hosted_confirmation][custom_message]", "Thanks <3"),
        ],
    )
    .await;
    let (p, location) = Portal::open(&app, &s).await;
    assert_eq!(location, format!("/portal/{}?step=payment_method", p.id));
    let r = p
        .post(
            &app,
            "payment_method",
            &[("card_number", "4242424242424242"), ("card_expiry", "12/40"), ("card_cvc", "123")],
        )
        .await;
    assert_eq!(r.header("location"), Some(format!("/portal/{}?step=done", p.id).as_str()));
    let done = p.get(&app, "?step=done").await;
    assert!(done.text.contains("Thanks &lt;3") || done.text.contains("Thanks &#60;3"), "{}", done.text);
}

/// The portal speaks the session's `locale` (the checkout page's languages), else, for `auto` or
/// none, the browser's `Accept-Language`, else English: every heading, button, status, reason,
/// notice and refusal, amounts and dates written as the language writes them, `<html lang>` set.
#[tokio::test]
async fn the_portal_speaks_the_sessions_locale_or_the_browsers_language() {
    let app = TestApp::spawn().await;
    let (cus, sub) = subscribed(&app).await;
    let sid = id(&sub);
    let config = configuration(&app, &sub, &[], &[]).await;
    let s = session(
        &app,
        &[
            ("customer", &cus),
            ("configuration", &config),
            ("locale", "de"),
            ("return_url", "https://shop.test/account"),
        ],
    )
    .await;
    assert_eq!(s["locale"], "de");
    let (p, _) = Portal::open(&app, &s).await;
    // The session's locale wins over the browser's language.
    let home = p.get_in(&app, "", "fr").await;
    let html = &home.text;
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    for words in [
        "← Zurück zu",
        "<h2 id=\"subs-h\">Abonnements</h2>",
        ">Tarif ändern</a>",
        ">Tarif kündigen</a>",
        "data-status=\"active\">aktiv</span>",
        "Nächste Rechnung 10,00\u{a0}$ am ",
        "10,00\u{a0}$ pro Monat",
        "Rechnungsverlauf",
        "Zahlungsart aktualisieren",
        "E-Mail für Rechnungen",
        "Testmodus",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    assert!(!html.contains("Update plan") && !html.contains("Subscriptions"), "no English left: {html}");
    // The plan buttons are styled links: no script needed, same ids and routes.
    assert!(html.contains(&format!(
        "<a class=\"button\" href=\"/portal/{}?step=update&amp;subscription={sid}\" data-testid=\"portal-update-plan\">",
        p.id
    )));
    assert!(html.contains(&format!(
        "<a class=\"button quiet\" href=\"/portal/{}?step=cancel&amp;subscription={sid}\" data-testid=\"portal-cancel-button\">",
        p.id
    )));

    let cancel = p.get(&app, &format!("?step=cancel&subscription={sid}")).await;
    for words in [
        "Warum kündigen Sie?",
        "Es ist zu teuer",
        "Anderer Grund",
        ">Abonnement kündigen</button>",
        "aktiv und endet dann",
    ] {
        assert!(cancel.text.contains(words), "{words}: {}", cancel.text);
    }
    let update = p.get(&app, &format!("?step=update&subscription={sid}")).await;
    assert!(update.text.contains("Tarif auswählen") && update.text.contains("(aktuell)"), "{}", update.text);
    let same = p.get(&app, &format!("?step=confirm&subscription={sid}&quantity=0")).await;
    assert!(
        same.text.contains("Die Menge muss eine ganze Zahl zwischen 1 und 999999 sein."),
        "{}",
        same.text
    );
    let confirm = p.get(&app, &format!("?step=confirm&subscription={sid}&quantity=3")).await;
    assert_eq!(confirm.status.as_u16(), 200, "{}", confirm.text);
    assert!(confirm.text.contains("Neuen Tarif bestätigen"), "{}", confirm.text);
    assert!(confirm.text.contains("Anpassung für den Rest dieses Zeitraums"), "{}", confirm.text);

    // The portal's refusals, the card form and the card network's answer, in German too.
    let r = p.post(&app, "cancel", &[("subscription", "sub_nope")]).await;
    assert!(
        r.text.contains("data-testid=\"portal-error\">Dieses Abonnement kann hier nicht geändert werden."),
        "{}",
        r.text
    );
    let form = p.get(&app, "?step=payment_method").await;
    assert!(form.text.contains("Kartennummer") && form.text.contains(">Karte speichern</button>"));
    let card = [("card_number", "4000000000000002"), ("card_expiry", "12/34"), ("card_cvc", "123")];
    let r = p.post(&app, "payment_method", &card).await;
    assert!(r.text.contains("Ihre Karte wurde abgelehnt."), "{}", r.text);
    let r = p.post(&app, "cancel", &[("subscription", &sid), ("reason", "too_expensive")]).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text);
    let home = p.get(&app, "?done=cancel_scheduled").await;
    assert!(home.text.contains("Ihr Abonnement wird zum Ende des Zeitraums gekündigt."), "{}", home.text);
    assert!(home.text.contains("data-status=\"canceling\">wird gekündigt</span>"), "{}", home.text);
    assert!(home.text.contains(">Tarif verlängern</button>"), "{}", home.text);

    // `auto`: the browser's language; a language the portal is not written in: English.
    let s = session(&app, &[("customer", &cus), ("locale", "auto")]).await;
    let (p, _) = Portal::open(&app, &s).await;
    let fr = p.get_in(&app, "", "ko, fr-CH;q=0.9, en;q=0.5").await;
    assert!(fr.text.contains("<html lang=\"fr\">"), "{}", fr.text);
    assert!(fr.text.contains("data-status=\"canceling\">résiliation prévue<"), "{}", fr.text);
    assert!(fr.text.contains("Prend fin le "), "{}", fr.text);
    let en = p.get_in(&app, "", "ko").await;
    assert!(en.text.contains("<html lang=\"en\">") && en.text.contains("Cancels on "), "{}", en.text);
    let s = session(&app, &[("customer", &cus), ("locale", "ko")]).await;
    let (p, _) = Portal::open(&app, &s).await;
    let en = p.get_in(&app, "", "de").await;
    assert!(en.text.contains("<html lang=\"en\">") && en.text.contains("Subscriptions"), "{}", en.text);

    // A link that opens nothing: the browser's language, there being no session to ask.
    let r = app.send(browser().get(app.url("/portal/bps_nope/secret")).header("accept-language", "it")).await;
    assert_eq!(r.status.as_u16(), 404);
    assert!(
        r.text.contains("<html lang=\"it\">") && r.text.contains("Link del portale non valido"),
        "{}",
        r.text
    );
}

/// The hosted invoice page (an invoice has no language of its own) speaks the browser's
/// `Accept-Language`, amounts and dates included; English otherwise.
#[tokio::test]
async fn the_hosted_invoice_page_speaks_the_browsers_language() {
    let app = TestApp::spawn().await;
    let (_, sub) = subscribed(&app).await;
    let inv = app.get(&format!("/invoices/{}", sub["latest_invoice"].as_str().unwrap())).await;
    let url = inv.ok()["hosted_invoice_url"].as_str().expect("a hosted page").to_owned();
    let de = app.send(browser().get(&url).header("accept-language", "de-AT, en;q=0.5")).await;
    assert_eq!(de.status.as_u16(), 200, "{}", de.text);
    for words in [
        "<html lang=\"de\">",
        "<h2>Rechnung <span",
        "data-status=\"paid\" data-testid=\"invoice-status\">bezahlt</strong>",
        "<dt>Zwischensumme</dt>",
        "<dt class=\"total\">Gesamt</dt><dd class=\"total\" data-testid=\"invoice-total\">10,00\u{a0}$</dd>",
        "Diese Rechnung ist bezahlt. Vielen Dank!",
        "PDF herunterladen",
    ] {
        assert!(de.text.contains(words), "{words}: {}", de.text);
    }
    let ja = app.send(browser().get(&url).header("accept-language", "ja")).await;
    assert!(ja.text.contains("<html lang=\"ja\">") && ja.text.contains("$10.00"), "{}", ja.text);
    assert!(ja.text.contains("年"), "a Japanese date: {}", ja.text);
    let en = app.send(browser().get(&url)).await;
    assert!(en.text.contains("<html lang=\"en\">"), "{}", en.text);
    assert!(
        en.text.contains("data-testid=\"invoice-status\">paid<") && en.text.contains("$10.00"),
        "{}",
        en.text
    );
    // Not found, in the browser's language too.
    let r = app.send(browser().get(format!("{url}x")).header("accept-language", "fr")).await;
    assert_eq!(r.status.as_u16(), 404);
    assert!(r.text.contains("<html lang=\"fr\">"), "{}", r.text);
}
