//! Reading sessions back: retrieve with `expand[]`, list with cursors and filters,
//! expire (by request and by time, before and after the sweep), the hosted page of an expired
//! session, the paginated line items, and snapshots of what a merchant sees.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use crate::common::{id, ids};
use crate::helpers::{Resp, TestApp, known, shaped};
use crate::sessions_support::{PATH, created, customer, line, named_price, new_coupon, new_promo, now};

async fn page(app: &TestApp, id: &str) -> Resp {
    app.send(app.client.get(app.url(&format!("/pay/{id}")))).await
}

// ---------------------------------------------------------------------------------------------
// retrieve and expand

#[tokio::test]
async fn retrieve_expands_line_items_customer_discounts_and_products() {
    let app = TestApp::spawn().await;
    let (mug_prod, mug) = named_price(&app, "Mug", 1200, "usd").await;
    let cus = customer(&app, "buyer@example.com").await;
    let coupon = new_coupon(&app, &[("id", "TENOFF"), ("percent_off", "10")]).await;
    let s = created(
        &app,
        json!({"line_items": [line(&mug, 2)], "customer": cus, "discounts": [{"coupon": coupon}]}),
    )
    .await;
    let sid = id(&s);
    let app_ref = &app;
    let sid_ref = &sid;
    let get = |q: &'static str| async move { app_ref.get(&format!("{PATH}/{sid_ref}{q}")).await };

    // Plain: ids stay ids, no line_items.
    let plain = get("").await;
    let plain = plain.ok();
    assert_eq!(plain["customer"], cus.as_str());
    assert_eq!(plain["discounts"], json!([{"coupon": "TENOFF", "promotion_code": null}]));
    assert!(plain.get("line_items").is_none());
    assert_eq!(plain["amount_total"], 2160);

    let r = get("?expand[]=line_items").await;
    let li = &r.ok()["line_items"];
    assert_eq!(li["object"], "list");
    assert_eq!(li["has_more"], false);
    assert_eq!(li["url"], format!("/v1/checkout/sessions/{sid}/line_items"));
    assert_eq!(li["data"].as_array().unwrap().len(), 1);
    assert_eq!(li["data"][0]["price"]["product"], mug_prod.as_str(), "product not expanded unless asked");
    assert_eq!(li["data"][0]["amount_discount"], 240);

    let r = get("?expand[]=customer").await;
    let c = &r.ok()["customer"];
    assert_eq!(c["object"], "customer");
    assert_eq!(c["id"], cus.as_str());
    assert_eq!(c["email"], "buyer@example.com");

    let r = get("?expand[]=discounts.coupon").await;
    let d = &r.ok()["discounts"][0]["coupon"];
    assert_eq!(d["object"], "coupon");
    assert_eq!(d["id"], "TENOFF");
    assert_eq!(d["percent_off"], 10.0);
    assert_eq!(d["valid"], true);

    let r = get("?expand[]=line_items.data.price.product").await;
    let product = &r.ok()["line_items"]["data"][0]["price"]["product"];
    assert_eq!(product["object"], "product");
    assert_eq!(product["id"], mug_prod.as_str());
    assert_eq!(product["name"], "Mug");

    // Several at once, in form style with indices.
    let r =
        get("?expand[0]=customer&expand[1]=line_items.data.price.product&expand[2]=discounts.coupon").await;
    let all = r.ok();
    assert_eq!(all["customer"]["email"], "buyer@example.com");
    assert_eq!(all["line_items"]["data"][0]["price"]["product"]["name"], "Mug");
    assert_eq!(all["discounts"][0]["coupon"]["id"], "TENOFF");
    assert_eq!(all["amount_total"], 2160);

    // The /v1 tree expands the same way.
    let r = app.get(&format!("/v1/checkout/sessions/{sid}?expand[]=customer")).await;
    assert_eq!(r.ok()["customer"]["id"], cus.as_str());
}

#[tokio::test]
async fn expand_on_create_and_promotion_codes() {
    let app = TestApp::spawn().await;
    let (_, price) = named_price(&app, "Book", 3000, "usd").await;
    let coupon = new_coupon(&app, &[("amount_off", "500"), ("currency", "usd")]).await;
    let promo = new_promo(&app, &[("coupon", &coupon), ("code", "READ5")]).await;
    let s = created(
        &app,
        json!({
            "line_items": [line(&price, 1)],
            "discounts": [{"promotion_code": promo}],
            "expand": ["discounts.promotion_code", "discounts.coupon", "line_items"],
        }),
    )
    .await;
    let d = &s["discounts"][0];
    assert_eq!(d["promotion_code"]["object"], "promotion_code");
    assert_eq!(d["promotion_code"]["code"], "READ5");
    assert_eq!(d["coupon"]["amount_off"], 500);
    assert_eq!(s["line_items"]["data"][0]["amount_discount"], 500);
    assert_eq!(s["amount_total"], 2500);
}

#[tokio::test]
async fn unknown_expand_paths_are_refused() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let s = app.simple_session(&price, 1).await;
    let sid = id(&s);
    for bad in [
        "nope",
        "discounts",
        "customer.nope",
        "line_items.data.price.product.nope",
        "data.customer",
        "customer..x",
    ] {
        let r = app.get(&format!("{PATH}/{sid}?expand[]={bad}")).await;
        let e = r.invalid("expand");
        assert!(e["message"].as_str().unwrap().contains(bad), "{bad}: {e}");
    }
    // On create the request is refused before anything is written.
    let r = app.post_json(PATH, &json!({"line_items": [line(&price, 1)], "expand": ["line_item"]})).await;
    r.invalid("expand");
    let r = app.get(&format!("{PATH}?limit=100")).await;
    assert_eq!(ids(r.ok()), [sid.as_str()]);
    let r = app.get(&format!("{PATH}/{sid}?limit=1")).await;
    assert_eq!(r.invalid("limit")["code"], "parameter_unknown");
    // On a list, paths start with `data.`.
    let r = app.get(&format!("{PATH}?expand[]=customer")).await;
    r.invalid("expand");
}

#[tokio::test]
async fn other_accounts_and_unknown_sessions_are_404() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let s = app.simple_session(&price, 1).await;
    let sid = id(&s);
    let other = app.new_account("Other shop").await;
    for path in
        [format!("{PATH}/{sid}"), format!("{PATH}/{sid}/line_items"), format!("/v1/checkout/sessions/{sid}")]
    {
        let r = app.get_as(&other, &path).await;
        let e = r.error(404);
        assert_eq!(e["type"], "invalid_request_error");
        assert_eq!(e["code"], "resource_missing");
        assert_eq!(e["message"], format!("No such checkout.session: '{sid}'"));
        // Exactly as an unknown id.
        let unknown = app.get(&path.replace(&sid, "cs_test_nope")).await;
        assert_eq!(unknown.error(404)["code"], "resource_missing");
    }
    let r = app.post_as(&other, &format!("{PATH}/{sid}/expire"), &[]).await;
    assert_eq!(r.error(404)["code"], "resource_missing");
    // Their list is empty; the session is untouched.
    let r = app.get_as(&other, PATH).await;
    assert_eq!(r.ok()["data"], json!([]));
    let r = app.get(&format!("{PATH}/{sid}")).await;
    assert_eq!(r.ok()["status"], "open");
}

// ---------------------------------------------------------------------------------------------
// list

#[tokio::test]
async fn list_is_newest_first_with_cursors() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let mut made = Vec::new();
    for q in 1..=5 {
        made.push(id(&app.simple_session(&price, q).await));
    }
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();

    let r = app.get(PATH).await;
    let l = r.ok();
    assert_eq!(l["object"], "list");
    assert_eq!(l["url"], PATH);
    assert_eq!(l["has_more"], false);
    assert_eq!(ids(l), newest_first);
    assert_eq!(l["data"][0]["object"], "checkout.session");
    assert!(l["data"][0].get("line_items").is_none());
    assert_eq!(l["data"][0]["url"], format!("{}/pay/{}", app.base, made[4]));

    let r = app.get(&format!("{PATH}?limit=2")).await;
    assert_eq!(ids(r.ok()), newest_first[..2]);
    assert_eq!(r.body["has_more"], true);
    let r = app.get(&format!("{PATH}?limit=2&starting_after={}", newest_first[1])).await;
    assert_eq!(ids(r.ok()), newest_first[2..4]);
    assert_eq!(r.body["has_more"], true);
    let r = app.get(&format!("{PATH}?limit=2&starting_after={}", newest_first[3])).await;
    assert_eq!(ids(r.ok()), newest_first[4..]);
    assert_eq!(r.body["has_more"], false);
    // Backwards from the oldest.
    let r = app.get(&format!("{PATH}?limit=2&ending_before={}", newest_first[4])).await;
    assert_eq!(ids(r.ok()), newest_first[2..4]);
    assert_eq!(r.body["has_more"], true);
    let r = app.get(&format!("{PATH}?limit=2&ending_before={}", newest_first[2])).await;
    assert_eq!(ids(r.ok()), newest_first[..2]);
    assert_eq!(r.body["has_more"], false);
    let r = app.get(&format!("{PATH}?ending_before={}", newest_first[0])).await;
    assert_eq!(r.ok()["data"], json!([]));
    assert_eq!(r.body["has_more"], false);

    // Bad pagination.
    for bad in ["0", "101", "-1"] {
        app.get(&format!("{PATH}?limit={bad}")).await.invalid("limit");
    }
    assert_eq!(
        app.get(&format!("{PATH}?limit=ten")).await.invalid("limit")["code"],
        "parameter_invalid_integer"
    );
    let r = app.get(&format!("{PATH}?starting_after=cs_test_nope")).await;
    assert_eq!(r.invalid("starting_after")["code"], "resource_missing");
    let r = app.get(&format!("{PATH}?starting_after={}&ending_before={}", made[0], made[1])).await;
    assert_eq!(r.error(400)["code"], "parameters_exclusive");
    let r = app.get(&format!("{PATH}?colour=red")).await;
    assert_eq!(r.invalid("colour")["code"], "parameter_unknown");

    // The /v1 list: same data, its own url.
    let r = app.get("/v1/checkout/sessions?limit=3").await;
    assert_eq!(r.ok()["url"], "/v1/checkout/sessions");
    assert_eq!(ids(&r.body), newest_first[..3]);
}

#[tokio::test]
async fn list_filters_by_customer_status_and_created() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let alice = customer(&app, "alice@example.com").await;
    let bob = customer(&app, "bob@example.com").await;
    let t0 = now(&app);
    let a1 = id(&created(&app, json!({"line_items": [line(&price, 1)], "customer": alice})).await);
    let b1 = id(&created(&app, json!({"line_items": [line(&price, 1)], "customer": bob})).await);
    app.clock.advance(100);
    let a2 = id(&created(&app, json!({"line_items": [line(&price, 1)], "customer": alice})).await);
    let anon = id(&app.simple_session(&price, 1).await);
    let expired = id(&app.simple_session(&price, 1).await);
    app.post(&format!("{PATH}/{expired}/expire"), &[]).await.ok();

    let app_ref = &app;
    let list = |q: String| async move {
        let r = app_ref.get(&format!("{PATH}?{q}")).await;
        ids(r.ok())
    };
    assert_eq!(list(format!("customer={alice}")).await, [a2.as_str(), a1.as_str()]);
    assert_eq!(list(format!("customer={bob}")).await, [b1.as_str()]);
    assert!(list("customer=cus_nobody".to_owned()).await.is_empty());
    assert_eq!(list("status=expired".to_owned()).await, [expired.as_str()]);
    assert_eq!(list("status=open".to_owned()).await, [anon.as_str(), a2.as_str(), b1.as_str(), a1.as_str()]);
    assert!(list("status=complete".to_owned()).await.is_empty());
    assert_eq!(
        list(format!("created[gte]={}", t0 + 100)).await,
        [expired.as_str(), anon.as_str(), a2.as_str()]
    );
    assert_eq!(list(format!("created[lt]={}", t0 + 100)).await, [b1.as_str(), a1.as_str()]);
    assert_eq!(list(format!("created[gt]={t0}&created[lte]={}", t0 + 100)).await.len(), 3);
    assert_eq!(list(format!("created={t0}")).await, [b1.as_str(), a1.as_str()]);
    assert_eq!(list(format!("customer={alice}&created[gte]={}", t0 + 1)).await, [a2.as_str()]);
    assert_eq!(list(format!("customer={alice}&status=open&limit=1")).await, [a2.as_str()]);

    assert!(list("payment_intent=pi_nope".to_owned()).await.is_empty());
    assert!(list("subscription=sub_nope".to_owned()).await.is_empty());
    let r = app.get(&format!("{PATH}?status=paid")).await;
    r.invalid("status");
    let r = app.get(&format!("{PATH}?created[after]=1")).await;
    assert_eq!(r.invalid("created[after]")["code"], "parameter_unknown");
}

#[tokio::test]
async fn list_expands_under_data() {
    let app = TestApp::spawn().await;
    let (prod, price) = named_price(&app, "Lamp", 4200, "usd").await;
    let cus = customer(&app, "c@example.com").await;
    created(&app, json!({"line_items": [line(&price, 1)], "customer": cus})).await;
    app.simple_session(&price, 2).await;
    let r =
        app.get(&format!("{PATH}?expand[]=data.line_items.data.price.product&expand[]=data.customer")).await;
    let l = r.ok();
    let data = l["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["line_items"]["data"][0]["quantity"], 2);
    assert_eq!(data[0]["line_items"]["data"][0]["price"]["product"]["id"], prod.as_str());
    assert!(data[0]["customer"].is_null());
    assert_eq!(data[1]["customer"]["email"], "c@example.com");
    assert_eq!(data[1]["line_items"]["data"][0]["price"]["product"]["name"], "Lamp");
}

// ---------------------------------------------------------------------------------------------
// expire

#[tokio::test]
async fn expire_closes_an_open_session_once() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let s = app.simple_session(&price, 1).await;
    let sid = id(&s);
    let r = app.post(&format!("{PATH}/{sid}/expire"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], sid.as_str());
    assert_eq!(r.body["status"], "expired");
    assert!(r.body["url"].is_null());
    assert_eq!(r.body["payment_status"], "unpaid");
    assert_eq!(r.body["amount_total"], 1000);

    let again = app.post(&format!("{PATH}/{sid}/expire"), &[]).await;
    let e = again.error(400);
    assert_eq!(e["type"], "invalid_request_error");
    assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");

    let r = app.get(&format!("{PATH}/{sid}")).await;
    assert_eq!(r.ok()["status"], "expired");
    assert!(r.body["url"].is_null());
    let p = page(&app, &sid).await;
    assert_eq!(p.status, 200);
    assert!(p.text.contains("data-testid=\"session-expired\""), "{}", p.text);
    assert!(!p.text.contains("data-testid=\"line-item\""));
    assert!(!p.text.contains("data-testid=\"total-amount\""));

    // Through /v1, with expand; unknown sessions are 404.
    let s2 = id(&app.simple_session(&price, 1).await);
    let r = app.post(&format!("/v1/checkout/sessions/{s2}/expire"), &[("expand[]", "line_items")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "expired");
    assert_eq!(r.body["line_items"]["data"][0]["price"]["id"], price.as_str());
    let r = app.post(&format!("{PATH}/cs_test_nope/expire"), &[]).await;
    assert_eq!(r.error(404)["code"], "resource_missing");
    // Nothing else changed.
    let r = app.get(&format!("{PATH}?status=open")).await;
    assert_eq!(r.ok()["data"], json!([]));
}

#[tokio::test]
async fn sessions_expire_with_time_before_and_after_the_sweep() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let t0 = now(&app);
    let short = created(&app, json!({"line_items": [line(&price, 1)], "expires_at": t0 + 1800})).await;
    let long = app.simple_session(&price, 1).await;
    let (short, long) = (id(&short), id(&long));

    // One second before: still open.
    app.clock.advance(1799);
    let r = app.get(&format!("{PATH}/{short}")).await;
    assert_eq!(r.ok()["status"], "open");
    assert_eq!(r.body["url"], format!("{}/pay/{short}", app.base));

    // At expires_at: expired wherever it is read, though nothing has been written yet.
    app.clock.advance(1);
    let r = app.get(&format!("{PATH}/{short}")).await;
    assert_eq!(r.ok()["status"], "expired");
    assert!(r.body["url"].is_null());
    let r = app.get(&format!("{PATH}?status=expired")).await;
    assert_eq!(ids(r.ok()), [short.as_str()]);
    let r = app.get(&format!("{PATH}?status=open")).await;
    assert_eq!(ids(r.ok()), [long.as_str()]);
    let r = app.get(PATH).await;
    let statuses: Vec<&str> =
        r.ok()["data"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["open", "expired"]);
    let p = page(&app, &short).await;
    assert!(p.text.contains("data-testid=\"session-expired\""), "{}", p.text);
    let p = page(&app, &long).await;
    assert!(!p.text.contains("data-testid=\"session-expired\""));
    assert!(p.text.contains("data-testid=\"line-item\""));
    // It cannot be expired by hand any more.
    app.post(&format!("{PATH}/{short}/expire"), &[]).await.error(400);

    // The sweep writes it down (only that one), once.
    assert_eq!(app.sweep().await, 1);
    assert_eq!(app.sweep().await, 0);
    let r = app.get(&format!("{PATH}?status=expired")).await;
    assert_eq!(ids(r.ok()), [short.as_str()]);

    // Written down: even with the clock turned back before expires_at it stays expired, while the
    // session that was never due is still open.
    app.clock.set(t0);
    let r = app.get(&format!("{PATH}/{short}")).await;
    assert_eq!(r.ok()["status"], "expired");
    assert!(r.body["url"].is_null());
    let r = app.get(&format!("{PATH}?status=expired")).await;
    assert_eq!(ids(r.ok()), [short.as_str()]);
    let r = app.get(&format!("{PATH}/{long}")).await;
    assert_eq!(r.ok()["status"], "open");

    // The default expiry is 24 hours.
    app.clock.set(t0 + 24 * 3600 - 1);
    assert_eq!(app.get(&format!("{PATH}/{long}")).await.ok()["status"], "open");
    app.clock.advance(1);
    assert_eq!(app.get(&format!("{PATH}/{long}")).await.ok()["status"], "expired");
    assert_eq!(app.sweep().await, 1);
}

#[tokio::test]
async fn sweep_persists_expiry_without_a_read() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let t0 = now(&app);
    let mut sids = Vec::new();
    for _ in 0..3 {
        sids.push(
            id(&created(&app, json!({"line_items": [line(&price, 1)], "expires_at": t0 + 3600})).await),
        );
    }
    app.clock.advance(3600);
    assert_eq!(app.sweep().await, 3);
    app.clock.set(t0);
    let r = app.get(&format!("{PATH}?status=expired")).await;
    assert_eq!(r.ok()["data"].as_array().unwrap().len(), 3);
    let r = app.get(&format!("{PATH}?status=open")).await;
    assert_eq!(r.ok()["data"], json!([]));
}

#[tokio::test]
async fn hosted_page_of_unknown_session_is_404() {
    let app = TestApp::spawn().await;
    let r = page(&app, "cs_test_nope").await;
    assert_eq!(r.status, 404);
    assert!(r.text.contains("not found"), "{}", r.text);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("text/html")));
    // Open sessions render their lines.
    let (_, price) = named_price(&app, "Poster", 1500, "usd").await;
    let s = app.simple_session(&price, 2).await;
    let r = page(&app, &id(&s)).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains(&format!("data-price=\"{price}\"")));
    assert!(r.text.contains("Poster"));
    assert!(r.text.contains("$30.00"));
}

// ---------------------------------------------------------------------------------------------
// line_items

#[tokio::test]
async fn line_items_are_paginated_in_order() {
    let app = TestApp::spawn().await;
    let mut lines = Vec::new();
    let mut prices = Vec::new();
    for i in 0..25i64 {
        let (_, price) = named_price(&app, &format!("Item {i:02}"), 100 + i, "usd").await;
        lines.push(line(&price, i + 1));
        prices.push(price);
    }
    let s = created(&app, json!({"line_items": lines})).await;
    let sid = id(&s);
    let path = format!("{PATH}/{sid}/line_items");
    let expected_subtotal: i64 = (0..25i64).map(|i| (100 + i) * (i + 1)).sum();
    assert_eq!(s["amount_subtotal"], expected_subtotal);

    // Default limit 10.
    let r = app.get(&path).await;
    let first = r.ok();
    assert_eq!(first["object"], "list");
    assert_eq!(first["url"], path);
    assert_eq!(first["has_more"], true);
    let data = first["data"].as_array().unwrap();
    assert_eq!(data.len(), 10);
    for (i, li) in (0i64..).zip(data) {
        let idx = usize::try_from(i).unwrap();
        assert!(li["id"].as_str().unwrap().starts_with("li_"));
        assert_eq!(li["object"], "item");
        assert_eq!(li["description"], format!("Item {i:02}"));
        assert_eq!(li["price"]["object"], "price");
        assert_eq!(li["price"]["id"], prices[idx].as_str());
        assert_eq!(li["price"]["unit_amount"], 100 + i);
        assert_eq!(li["quantity"], i + 1);
        assert_eq!(li["amount_subtotal"], (100 + i) * (i + 1));
        assert_eq!(li["amount_discount"], 0);
        assert_eq!(li["amount_total"], (100 + i) * (i + 1));
        assert_eq!(li["currency"], "usd");
    }

    // Forwards with limit 10.
    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = after.as_ref().map_or(String::new(), |a| format!("&starting_after={a}"));
        let r = app.get(&format!("{path}?limit=10{q}")).await;
        let l = r.ok();
        let page_ids = ids(l);
        pages += 1;
        seen.extend(page_ids.iter().cloned());
        if l["has_more"] == false {
            assert_eq!(page_ids.len(), 5);
            break;
        }
        assert_eq!(page_ids.len(), 10);
        after = page_ids.last().cloned();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 25);
    let all = app.get(&format!("{path}?limit=100")).await;
    assert_eq!(ids(all.ok()), seen);
    assert_eq!(all.body["has_more"], false);
    let descriptions: Vec<&str> =
        all.body["data"].as_array().unwrap().iter().map(|li| li["description"].as_str().unwrap()).collect();
    assert_eq!(descriptions[24], "Item 24");

    // Backwards from the last item.
    let r = app.get(&format!("{path}?limit=10&ending_before={}", seen[24])).await;
    assert_eq!(ids(r.ok()), seen[14..24]);
    assert_eq!(r.body["has_more"], true);
    let r = app.get(&format!("{path}?limit=10&ending_before={}", seen[14])).await;
    assert_eq!(ids(r.ok()), seen[4..14]);
    assert_eq!(r.body["has_more"], true);
    let r = app.get(&format!("{path}?limit=10&ending_before={}", seen[4])).await;
    assert_eq!(ids(r.ok()), seen[..4]);
    assert_eq!(r.body["has_more"], false);
    let r = app.get(&format!("{path}?limit=10&ending_before={}", seen[10])).await;
    assert_eq!(ids(r.ok()), seen[..10]);
    assert_eq!(r.body["has_more"], false);
    let r = app.get(&format!("{path}?starting_after={}", seen[24])).await;
    assert_eq!(r.ok()["data"], json!([]));
    assert_eq!(r.body["has_more"], false);

    // Bad cursors and limits.
    let r = app.get(&format!("{path}?starting_after=li_nope")).await;
    assert_eq!(r.invalid("starting_after")["code"], "resource_missing");
    app.get(&format!("{path}?limit=0")).await.invalid("limit");
    app.get(&format!("{path}?limit=101")).await.invalid("limit");

    // Expand products on the items; /v1 path gives the same items.
    let r = app.get(&format!("{path}?limit=1&expand[]=data.price.product")).await;
    assert_eq!(r.ok()["data"][0]["price"]["product"]["name"], "Item 00");
    let v1 = app.get(&format!("/v1/checkout/sessions/{sid}/line_items?limit=100")).await;
    assert_eq!(ids(v1.ok()), seen);
    assert_eq!(v1.body["url"], format!("/v1/checkout/sessions/{sid}/line_items"));
}

#[tokio::test]
async fn line_items_carry_discounts() {
    let app = TestApp::spawn().await;
    let (_, a) = named_price(&app, "A", 1000, "usd").await;
    let (_, b) = named_price(&app, "B", 2000, "usd").await;
    let c = new_coupon(&app, &[("amount_off", "100"), ("currency", "usd")]).await;
    let s =
        created(&app, json!({"line_items": [line(&a, 1), line(&b, 1)], "discounts": [{"coupon": c}]})).await;
    let r = app.get(&format!("{PATH}/{}/line_items", id(&s))).await;
    let data = r.ok()["data"].as_array().unwrap().clone();
    let discounts: Vec<i64> = data.iter().map(|li| li["amount_discount"].as_i64().unwrap()).collect();
    let totals: Vec<i64> = data.iter().map(|li| li["amount_total"].as_i64().unwrap()).collect();
    assert_eq!(discounts, [33, 67]);
    assert_eq!(totals, [967, 1933]);
}

// ---------------------------------------------------------------------------------------------
// snapshots

#[tokio::test]
async fn snapshot_of_a_created_session() {
    let app = TestApp::spawn().await;
    // Everything is created at one fixed time on the server's clock.
    app.clock.set(1_700_000_000);
    let (shirt_product, shirt) = named_price(&app, "T-shirt", 2500, "usd").await;
    let (socks_product, socks) = named_price(&app, "Socks", 799, "usd").await;
    new_coupon(&app, &[("id", "SNAP10"), ("percent_off", "10")]).await;
    let s = created(
        &app,
        json!({
            "line_items": [
                {"price": shirt, "quantity": 2, "adjustable_quantity": {"enabled": true, "maximum": 5}},
                {"price": socks, "quantity": 3},
            ],
            "discounts": [{"coupon": "SNAP10"}],
            "success_url": "https://shop.test/ok?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://shop.test/cart",
            "client_reference_id": "order-1",
            "metadata": {"order": "1"},
            "payment_method_types": ["card", "paypal"],
            "expand": ["line_items"],
        }),
    )
    .await;
    let sid = id(&s);
    let mut v = s;
    shaped(&mut v, "/id", "cs_test_", "[session_id]");
    known(&mut v, "/url", format!("{}/pay/{sid}", app.base), "[url]");
    known(&mut v, "/line_items/url", format!("/v1/checkout/sessions/{sid}/line_items"), "[line_items_url]");
    for (i, (product, price)) in [(shirt_product, shirt), (socks_product, socks)].into_iter().enumerate() {
        shaped(&mut v, &format!("/line_items/data/{i}/id"), "li_", "[line_item_id]");
        known(&mut v, &format!("/line_items/data/{i}/price/id"), price, "[price_id]");
        known(&mut v, &format!("/line_items/data/{i}/price/product"), product, "[product_id]");
    }
    insta::assert_json_snapshot!("session_created", v);
}

#[tokio::test]
async fn snapshot_of_an_error_body() {
    let app = TestApp::spawn().await;
    let price = app.price(1000, "usd").await;
    let r = app
        .post_json(PATH, &json!({"line_items": [line(&price, 1), {"price": "price_nope", "quantity": 1}]}))
        .await;
    assert_eq!(r.status, 400);
    insta::assert_json_snapshot!("session_error_unknown_price", r.body);
    let r = app
        .post_json(
            PATH,
            &json!({"line_items": [{"price": price, "quantity": 150, "adjustable_quantity": {"enabled": true}}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    insta::assert_json_snapshot!("session_error_quantity_above_default_maximum", r.body);
}
