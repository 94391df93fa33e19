//! Keys, the two ways to present them, masking, and the isolation of accounts.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};

/// Assert the 401 of an unknown or missing key and return its message.
fn unauthorized(r: &Resp) -> String {
    let e = r.error(401);
    assert_eq!(e["type"], "invalid_request_error", "{}", r.text);
    assert!(r.header("www-authenticate").is_some(), "401 without WWW-Authenticate");
    e["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_request_without_a_key_is_refused() {
    let app = TestApp::spawn().await;
    for path in ["/products", "/prices", "/customers", "/coupons", "/promotion_codes", "/checkout/session"] {
        let r = app.send(app.client.get(app.url(path))).await;
        let msg = unauthorized(&r);
        assert!(msg.contains("did not provide an API key"), "{msg}");
    }
    let r = app.send(app.client.post(app.url("/products")).form(&[("name", "x")])).await;
    unauthorized(&r);
    let r = app.send(app.client.get(app.url("/v1/products"))).await;
    unauthorized(&r);
    // Nothing was created by the refused POST.
    assert_eq!(app.count("/products").await, 0);
}

#[tokio::test]
async fn an_unknown_bearer_key_is_refused_and_masked() {
    let app = TestApp::spawn().await;
    let wrong = "sk_test_ThisIsNotARealKeyAtAll9876WXYZ";
    let r = app.get_as(wrong, "/products").await;
    let msg = unauthorized(&r);
    assert!(!r.text.contains(wrong), "the full key leaked: {}", r.text);
    assert!(!r.text.contains("ThisIsNotARealKey"), "the key's middle leaked: {}", r.text);
    assert!(msg.contains("WXYZ"), "the last four characters are shown: {msg}");
    assert!(msg.contains("Invalid API Key provided"), "{msg}");
    let stars = "*".repeat(wrong.len() - "sk_test_".len() - 4);
    assert_eq!(msg, format!("Invalid API Key provided: sk_test_{stars}WXYZ"));

    // A key that is a prefix or an extension of the real one is just as unknown.
    let longer = format!("{}x", app.key);
    let r = app.get_as(&longer, "/products").await;
    unauthorized(&r);
    assert!(!r.text.contains(&app.key), "{}", r.text);
    let shorter = &app.key[..app.key.len() - 1];
    unauthorized(&app.get_as(shorter, "/products").await);
}

#[tokio::test]
async fn the_right_key_works_as_bearer_and_as_basic() {
    let app = TestApp::spawn().await;
    let id = app.product("Bearer-made").await;

    let basic = TestApp::basic(&app.key, "");
    let r =
        app.send(app.client.get(app.url(&format!("/products/{id}"))).header("authorization", &basic)).await;
    assert_eq!(r.ok()["name"], "Bearer-made");

    // curl -u key: sends exactly this; reqwest's basic_auth with no password too.
    let r = app.send(app.client.get(app.url("/products")).basic_auth(&app.key, None::<&str>)).await;
    assert_eq!(r.ok()["data"][0]["id"], id);

    // Basic with the key and no colon at all is the key as user name.
    let no_colon = {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(&app.key))
    };
    let r = app.send(app.client.get(app.url("/products")).header("authorization", no_colon)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Schemes are case-insensitive.
    let r = app
        .send(app.client.get(app.url("/products")).header("authorization", format!("bearer {}", app.key)))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A write through Basic lands in the same account.
    let r = app
        .send(
            app.client
                .post(app.url("/products"))
                .header("authorization", &basic)
                .form(&[("name", "Basic-made")]),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(app.count("/products").await, 2);
}

#[tokio::test]
async fn bad_authorization_headers_are_401() {
    let app = TestApp::spawn().await;
    let cases: Vec<String> = vec![
        "Basic !!!not-base64!!!".to_owned(),
        "Basic".to_owned(),
        TestApp::basic("", "password-but-no-user"),
        TestApp::basic("sk_test_unknownunknownunknown1234", ""),
        format!("Token {}", app.key),
        format!("Digest {}", app.key),
        app.key.clone(),
        "Bearer".to_owned(),
        "Bearer    ".to_owned(),
        "".to_owned(),
    ];
    for header in cases {
        let r = app.send(app.client.get(app.url("/products")).header("authorization", &header)).await;
        assert_eq!(r.status, 401, "{header:?} → {}", r.text);
        unauthorized(&r);
        assert!(!r.text.contains(&app.key), "{header:?} echoed the key: {}", r.text);
    }
    // Basic credentials decoding to non-UTF-8 are refused too, not a 500.
    let r = app.send(app.client.get(app.url("/products")).header("authorization", "Basic //79")).await;
    unauthorized(&r);
    // A header value with bytes that are not visible ASCII.
    let v = reqwest::header::HeaderValue::from_bytes(b"Bearer sk_test_\xffabc").unwrap();
    let r = app.send(app.client.get(app.url("/products")).header("authorization", v)).await;
    unauthorized(&r);
}

#[tokio::test]
async fn health_and_the_hosted_page_need_no_key() {
    let app = TestApp::spawn().await;
    let r = app.send(app.client.get(app.url("/health"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"status": "ok"}));

    let price = app.price(700, "eur").await;
    let s = app.simple_session(&price, 1).await;
    let page = app.send(app.client.get(s["url"].as_str().unwrap())).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    // A wrong key on the page is simply ignored: the id is the capability.
    let page = app.send(app.client.get(s["url"].as_str().unwrap()).bearer_auth("sk_test_nonsense")).await;
    assert_eq!(page.status, 200);
    let missing = app.send(app.client.get(app.url("/pay/cs_test_doesnotexist"))).await;
    assert_eq!(missing.status, 404);
}

/// Assert that `r` is the 404 an unknown id of `object` gets.
fn not_found(r: &Resp, object: &str, id: &str) {
    let e = r.error(404);
    assert_eq!(e["type"], "invalid_request_error", "{}", r.text);
    assert_eq!(e["code"], "resource_missing", "{}", r.text);
    assert_eq!(e["param"], "id", "{}", r.text);
    assert_eq!(e["message"], format!("No such {object}: '{id}'"), "{}", r.text);
}

/// The first account's catalog and a session, for the isolation tests.
struct Owned {
    product: String,
    price: String,
    customer: String,
    coupon: String,
    promo: String,
    session: String,
}

async fn owned(app: &TestApp) -> Owned {
    let product = app.product("Mine").await;
    let price = app.price_for(&product, 1000, "usd", None).await;
    let customer =
        app.post("/customers", &[("email", "a@shop.test")]).await.ok()["id"].as_str().unwrap().to_owned();
    let coupon = app.coupon(&[("id", "MINE10"), ("percent_off", "10")]).await;
    let promo = app.post("/promotion_codes", &[("coupon", &coupon), ("code", "MINECODE")]).await;
    let promo = promo.ok()["id"].as_str().unwrap().to_owned();
    let session = app.simple_session(&price, 1).await["id"].as_str().unwrap().to_owned();
    Owned { product, price, customer, coupon, promo, session }
}

#[tokio::test]
async fn another_account_sees_a_404_exactly_as_for_an_unknown_id() {
    let app = TestApp::spawn().await;
    let mine = owned(&app).await;
    let other = app.new_account("Other shop").await;

    let cases = [
        ("products", "product", &mine.product),
        ("prices", "price", &mine.price),
        ("customers", "customer", &mine.customer),
        ("coupons", "coupon", &mine.coupon),
        ("promotion_codes", "promotion_code", &mine.promo),
        ("checkout/session", "checkout.session", &mine.session),
    ];
    for (path, object, id) in cases {
        let theirs = app.get_as(&other, &format!("/{path}/{id}")).await;
        not_found(&theirs, object, id);
        // Exactly what an id that exists nowhere gets, apart from the id itself.
        let fake = format!("{id}X");
        let unknown = app.get_as(&other, &format!("/{path}/{fake}")).await;
        not_found(&unknown, object, &fake);
        assert_eq!(
            theirs.text.replace(id.as_str(), "ID"),
            unknown.text.replace(&fake, "ID"),
            "{path}: another account's id must look unknown"
        );
        // The owner still sees it.
        assert_eq!(app.get(&format!("/{path}/{id}")).await.ok()["id"], *id);
        // The /v1 tree isolates the same way.
        let v1path = if path == "checkout/session" { "checkout/sessions" } else { path };
        not_found(&app.get_as(&other, &format!("/v1/{v1path}/{id}")).await, object, id);
    }
}

/// A collection path, its object name, an id in it, and an update to try.
type Update<'a> = (&'a str, &'a str, &'a String, &'a [(&'a str, &'a str)]);

#[tokio::test]
async fn another_account_cannot_change_or_delete_objects() {
    let app = TestApp::spawn().await;
    let mine = owned(&app).await;
    let other = app.new_account("Other shop").await;

    let updates: [Update<'_>; 5] = [
        ("products", "product", &mine.product, &[("name", "Stolen")]),
        ("prices", "price", &mine.price, &[("active", "false")]),
        ("customers", "customer", &mine.customer, &[("email", "thief@evil.test")]),
        ("coupons", "coupon", &mine.coupon, &[("name", "Stolen")]),
        ("promotion_codes", "promotion_code", &mine.promo, &[("active", "false")]),
    ];
    for (path, object, id, form) in updates {
        let r = app.post_as(&other, &format!("/{path}/{id}"), form).await;
        not_found(&r, object, id);
    }
    let r =
        app.send(app.client.delete(app.url(&format!("/coupons/{}", mine.coupon))).bearer_auth(&other)).await;
    not_found(&r, "coupon", &mine.coupon);
    let r = app.post_as(&other, &format!("/checkout/session/{}/expire", mine.session), &[]).await;
    not_found(&r, "checkout.session", &mine.session);
    let r = app.get_as(&other, &format!("/checkout/session/{}/line_items", mine.session)).await;
    not_found(&r, "checkout.session", &mine.session);

    // Nothing changed for the owner.
    assert_eq!(app.get(&format!("/products/{}", mine.product)).await.ok()["name"], "Mine");
    assert_eq!(app.get(&format!("/prices/{}", mine.price)).await.ok()["active"], true);
    assert_eq!(app.get(&format!("/customers/{}", mine.customer)).await.ok()["email"], "a@shop.test");
    assert_eq!(app.get(&format!("/coupons/{}", mine.coupon)).await.ok()["name"], Value::Null);
    assert_eq!(app.get(&format!("/promotion_codes/{}", mine.promo)).await.ok()["active"], true);
    assert_eq!(app.get(&format!("/checkout/session/{}", mine.session)).await.ok()["status"], "open");
}

#[tokio::test]
async fn lists_show_only_the_accounts_own_objects_and_foreign_cursors_are_400() {
    let app = TestApp::spawn().await;
    let mine = owned(&app).await;
    let other = app.new_account("Other shop").await;
    let their_product = app.post_as(&other, "/products", &[("name", "Theirs")]).await;
    let their_product = their_product.ok()["id"].as_str().unwrap().to_owned();

    let lists = [
        ("/products", &mine.product),
        ("/prices", &mine.price),
        ("/customers", &mine.customer),
        ("/coupons", &mine.coupon),
        ("/promotion_codes", &mine.promo),
        ("/checkout/session", &mine.session),
    ];
    for (path, id) in lists {
        let theirs = app.list_ids_as(&other, path).await;
        assert!(!theirs.contains(id), "{path} leaks {id} to another account");
        assert_eq!(app.list_ids(path).await, vec![id.clone()], "{path}");
        for cursor in ["starting_after", "ending_before"] {
            let r = app.get_as(&other, &format!("{path}?{cursor}={id}")).await;
            let e = r.invalid(cursor);
            assert_eq!(e["code"], "resource_missing", "{}", r.text);
            assert!(e["message"].as_str().unwrap().contains(id.as_str()), "{}", r.text);
        }
    }
    assert_eq!(app.list_ids_as(&other, "/products").await, vec![their_product.clone()]);
    // Filters cannot reach across either.
    let r = app.get_as(&other, &format!("/prices?product={}", mine.product)).await;
    assert_eq!(r.ok()["data"], json!([]));
    let r = app.get_as(&other, "/promotion_codes?code=minecode").await;
    assert_eq!(r.ok()["data"], json!([]));
    let r = app.get_as(&other, &format!("/promotion_codes?coupon={}", mine.coupon)).await;
    assert_eq!(r.ok()["data"], json!([]));
    let r = app.get_as(&other, "/customers?email=a@shop.test").await;
    assert_eq!(r.ok()["data"], json!([]));
}

#[tokio::test]
async fn another_accounts_objects_cannot_be_referenced() {
    let app = TestApp::spawn().await;
    let mine = owned(&app).await;
    let other = app.new_account("Other shop").await;

    let r = app
        .post_as(
            &other,
            "/prices",
            &[("product", &mine.product), ("unit_amount", "100"), ("currency", "usd")],
        )
        .await;
    assert_eq!(r.invalid("product")["code"], "resource_missing");

    let r = app.post_as(&other, "/promotion_codes", &[("coupon", &mine.coupon)]).await;
    assert_eq!(r.invalid("coupon")["code"], "resource_missing");

    let r = app
        .post_as(&other, "/coupons", &[("percent_off", "5"), ("applies_to[products][0]", &mine.product)])
        .await;
    assert_eq!(r.invalid("applies_to[products][0]")["code"], "resource_missing");

    let r = app
        .post_as(
            &other,
            "/checkout/session",
            &[("line_items[0][price]", &mine.price), ("line_items[0][quantity]", "1")],
        )
        .await;
    assert_eq!(r.invalid("line_items[0][price]")["code"], "resource_missing");

    // The other account has nothing of its own yet.
    for path in ["/prices", "/coupons", "/promotion_codes", "/checkout/session"] {
        assert!(app.list_ids_as(&other, path).await.is_empty(), "{path}");
    }
}

#[tokio::test]
async fn custom_ids_and_codes_are_per_account() {
    let app = TestApp::spawn().await;
    let other = app.new_account("Other shop").await;
    let mine = app.coupon(&[("id", "SAVE10"), ("percent_off", "10")]).await;
    let r = app
        .post_as(&other, "/coupons", &[("id", "SAVE10"), ("amount_off", "500"), ("currency", "eur")])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["id"], "SAVE10");
    // Each account sees its own SAVE10.
    assert_eq!(app.get(&format!("/coupons/{mine}")).await.ok()["percent_off"], 10.0);
    assert_eq!(app.get_as(&other, "/coupons/SAVE10").await.ok()["amount_off"], 500);

    let r = app.post("/promotion_codes", &[("coupon", "SAVE10"), ("code", "SUMMER")]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.post_as(&other, "/promotion_codes", &[("coupon", "SAVE10"), ("code", "summer")]).await;
    assert_eq!(r.status, 201, "an active code in one account does not block another: {}", r.text);

    let r = app.post("/products", &[("id", "prod_shared"), ("name", "A")]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.post_as(&other, "/products", &[("id", "prod_shared"), ("name", "B")]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(app.get("/products/prod_shared").await.ok()["name"], "A");
    assert_eq!(app.get_as(&other, "/products/prod_shared").await.ok()["name"], "B");
}

/// The default account and the id of the key the test app was started with.
async fn default_key(app: &TestApp) -> (kassa_core::account::Account, String) {
    let store = app.ctx().store.clone();
    let account = store.default_account().await.unwrap().unwrap();
    let keys = store.api_keys(&account.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    (account, keys[0].id.clone())
}

#[tokio::test]
async fn a_rolled_key_works_until_it_expires_then_is_refused_as_expired() {
    let app = TestApp::spawn().await;
    let (account, old_id) = default_key(&app).await;
    let now = app.ctx().now();
    let (new, record, rolled) = kassa::service::accounts::create_key(
        app.ctx().store.as_ref(),
        &account,
        std::slice::from_ref(&old_id),
        now + 3600,
        now,
    )
    .await
    .unwrap();
    assert_eq!(rolled.len(), 1);
    assert_eq!((rolled[0].id.as_str(), rolled[0].expires_at), (old_id.as_str(), Some(now + 3600)));
    assert_eq!(record.expires_at, None);

    // Both keys open the same account until the old one expires.
    let product = app.product("Before the roll").await;
    let r = app.get_as(new.expose(), &format!("/products/{product}")).await;
    assert_eq!(r.ok()["name"], "Before the roll");
    app.clock.advance(3599);
    assert_eq!(app.get("/products").await.status, 200);

    app.clock.advance(1);
    let r = app.get("/products").await;
    let e = r.error(401);
    assert_eq!(e["type"], "invalid_request_error", "{}", r.text);
    assert_eq!(e["code"], "api_key_expired", "{}", r.text);
    assert!(r.header("www-authenticate").is_some());
    let stars = "*".repeat(app.key.len() - "sk_test_".len() - 4);
    assert_eq!(
        e["message"],
        format!("Expired API Key provided: sk_test_{stars}{}", &app.key[app.key.len() - 4..])
    );
    assert!(!r.text.contains(&app.key), "{}", r.text);
    // Writes too, and under /v1; the new key goes on.
    assert_eq!(app.post("/products", &[("name", "x")]).await.status, 401);
    assert_eq!(app.get_as(&app.key, "/v1/products").await.error(401)["code"], "api_key_expired");
    assert_eq!(app.get_as(new.expose(), "/products").await.status, 200);
}

#[tokio::test]
async fn a_revoked_key_is_refused_as_unknown_within_the_cache_time() {
    let app = TestApp::spawn().await;
    let (account, _) = default_key(&app).await;
    let store = app.ctx().store.clone();
    let now = app.ctx().now();
    let (second, record, _) =
        kassa::service::accounts::create_key(store.as_ref(), &account, &[], now, now).await.unwrap();
    assert_eq!(app.get_as(second.expose(), "/products").await.status, 200);

    kassa::service::accounts::revoke_key(store.as_ref(), &account, &record.id, now).await.unwrap();
    // This node read the key less than KEY_CACHE_SECONDS ago and may still take it; once that
    // has passed, it reads the key again and refuses it, as an unknown key.
    app.clock.advance(kassa::state::KEY_CACHE_SECONDS);
    let r = app.get_as(second.expose(), "/products").await;
    let msg = unauthorized(&r);
    assert!(msg.starts_with("Invalid API Key provided: sk_test_*"), "{msg}");
    assert!(msg.ends_with(&record.last4), "{msg}");
    assert!(r.body["error"]["code"].is_null(), "{}", r.text);
    // The other key of the account is untouched.
    assert_eq!(app.get("/products").await.status, 200);
    // Revoking again says there is no such key.
    let again = kassa::service::accounts::revoke_key(store.as_ref(), &account, &record.id, now).await;
    assert!(again.unwrap_err().to_string().contains(&record.id));
}

#[tokio::test]
async fn a_keys_last_use_is_written_down_about_once_a_minute() {
    let app = TestApp::spawn().await;
    let (account, id) = default_key(&app).await;
    let store = app.ctx().store.clone();
    let last_used = || {
        let (store, account, id) = (store.clone(), account.id.clone(), id.clone());
        async move { store.api_keys(&account).await.unwrap().into_iter().find(|k| k.id == id).unwrap().last_used }
    };
    // Nothing has used the key yet.
    assert_eq!(last_used().await, None);
    let t0 = app.ctx().now();
    assert_eq!(app.get("/products").await.status, 200);
    crate::common::poll_async("the first use", || async { (last_used().await == Some(t0)).then_some(()) })
        .await;
    // Within the minute: still the first use.
    app.clock.advance(30);
    assert_eq!(app.get("/products").await.status, 200);
    app.clock.advance(31);
    assert_eq!(app.get("/products").await.status, 200);
    crate::common::poll_async("the use a minute later", || async {
        (last_used().await == Some(t0 + 61)).then_some(())
    })
    .await;
}
