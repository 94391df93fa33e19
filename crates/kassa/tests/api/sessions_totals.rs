//! Session totals and the discount split: subtotal = Σ unit × quantity, percent_off
//! rounded half up, amount_off capped, `applies_to.products`, the split over lines adding up
//! exactly, promotion codes, trials (what is due today) and zero-decimal currencies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::sessions_support::{assert_consistent, created, items, line, named_price, new_coupon, new_promo};

/// A session over `lines` with `discounts` (or none), line items expanded.
async fn session(app: &TestApp, lines: Value, discount: Option<Value>) -> Value {
    let mut body = json!({"line_items": lines, "expand": ["line_items"]});
    if let Some(d) = discount {
        body["discounts"] = json!([d]);
    }
    let s = created(app, body).await;
    assert_consistent(&s);
    s
}

fn amounts(s: &Value, field: &str) -> Vec<i64> {
    items(s).iter().map(|li| li[field].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn subtotal_is_the_sum_of_unit_times_quantity() {
    let app = TestApp::spawn().await;
    let (_, a) = named_price(&app, "Shirt", 1500, "usd").await;
    let (_, b) = named_price(&app, "Socks", 250, "usd").await;
    let (_, free) = named_price(&app, "Sticker", 0, "usd").await;
    let s = session(&app, json!([line(&a, 2), line(&b, 3), line(&free, 5)]), None).await;
    assert_eq!(amounts(&s, "amount_subtotal"), [3000, 750, 0]);
    assert_eq!(amounts(&s, "amount_discount"), [0, 0, 0]);
    assert_eq!(amounts(&s, "amount_total"), [3000, 750, 0]);
    assert_eq!(s["amount_subtotal"], 3750);
    assert_eq!(s["total_details"]["amount_discount"], 0);
    assert_eq!(s["amount_total"], 3750);
    let li = &items(&s)[0];
    assert_eq!(li["object"], "item");
    assert_eq!(li["description"], "Shirt");
    assert_eq!(li["currency"], "usd");
    assert_eq!(li["quantity"], 2);
    assert_eq!(li["price"]["id"], a.as_str());
    assert_eq!(li["price"]["unit_amount"], 1500);
    assert_eq!(li["amount_tax"], 0);
}

#[tokio::test]
async fn percent_off_rounds_half_up() {
    let app = TestApp::spawn().await;
    let (_, p1000) = named_price(&app, "A", 1000, "usd").await;
    let (_, p1005) = named_price(&app, "B", 1005, "usd").await;
    let (_, p333) = named_price(&app, "C", 333, "usd").await;
    let third = new_coupon(&app, &[("percent_off", "33.33")]).await;
    let eighth = new_coupon(&app, &[("percent_off", "12.5")]).await;
    let half = new_coupon(&app, &[("percent_off", "50")]).await;
    let all = new_coupon(&app, &[("percent_off", "100")]).await;

    // 33.33 % of 1000 = 333.3 → 333
    let s = session(&app, json!([line(&p1000, 1)]), Some(json!({"coupon": third}))).await;
    assert_eq!(s["total_details"]["amount_discount"], 333);
    assert_eq!(s["amount_total"], 667);
    assert_eq!(amounts(&s, "amount_discount"), [333]);
    // 12.5 % of 1005 = 125.625 → 126
    let s = session(&app, json!([line(&p1005, 1)]), Some(json!({"coupon": eighth}))).await;
    assert_eq!(s["total_details"]["amount_discount"], 126);
    assert_eq!(s["amount_total"], 879);
    // 50 % of 999 = 499.5 → 500 (exactly half rounds up)
    let s = session(&app, json!([line(&p333, 3)]), Some(json!({"coupon": half}))).await;
    assert_eq!(s["amount_subtotal"], 999);
    assert_eq!(s["total_details"]["amount_discount"], 500);
    assert_eq!(s["amount_total"], 499);
    // 12.5 % of 8 × 1000 = 1000 exactly; of 1 × 1005 + 1 × 1000 = 250.625 → 251 over two lines
    let s = session(&app, json!([line(&p1000, 8)]), Some(json!({"coupon": eighth}))).await;
    assert_eq!(s["total_details"]["amount_discount"], 1000);
    let s = session(&app, json!([line(&p1005, 1), line(&p1000, 1)]), Some(json!({"coupon": eighth}))).await;
    assert_eq!(s["total_details"]["amount_discount"], 251);
    // Shares 125.8 → 125 and 125.2 → 125; the unit left over goes to the larger line.
    assert_eq!(amounts(&s, "amount_discount"), [126, 125]);
    // 100 % leaves nothing to pay.
    let s = session(&app, json!([line(&p1005, 2), line(&p333, 1)]), Some(json!({"coupon": all}))).await;
    assert_eq!(s["amount_total"], 0);
    assert_eq!(amounts(&s, "amount_total"), [0, 0]);
    assert_eq!(s["status"], "open");
}

#[tokio::test]
async fn amount_off_is_capped_and_split_in_proportion() {
    let app = TestApp::spawn().await;
    let (_, p1000) = named_price(&app, "A", 1000, "usd").await;
    let (_, p2000) = named_price(&app, "B", 2000, "usd").await;
    let (_, p1) = named_price(&app, "C", 1, "usd").await;
    let off100 = new_coupon(&app, &[("amount_off", "100"), ("currency", "usd")]).await;
    let off10 = new_coupon(&app, &[("amount_off", "10"), ("currency", "usd")]).await;
    let off5000 = new_coupon(&app, &[("amount_off", "5000"), ("currency", "usd")]).await;

    // 100 over 1000 / 2000: 33.3 / 66.7 → 33 / 66 + the remainder to the larger line.
    let s = session(&app, json!([line(&p1000, 1), line(&p2000, 1)]), Some(json!({"coupon": off100}))).await;
    assert_eq!(amounts(&s, "amount_discount"), [33, 67]);
    assert_eq!(s["amount_total"], 2900);
    // 10 over three equal lines: 3 each, the one left over to the first (ties keep their order).
    let s = session(
        &app,
        json!([line(&p1000, 1), line(&p1000, 1), line(&p1000, 1)]),
        Some(json!({"coupon": off10})),
    )
    .await;
    assert_eq!(amounts(&s, "amount_discount"), [4, 3, 3]);
    assert_eq!(s["total_details"]["amount_discount"], 10);
    // More than the subtotal: capped, every line to zero, never below.
    let s = session(
        &app,
        json!([line(&p1000, 1), line(&p2000, 1), line(&p1, 1)]),
        Some(json!({"coupon": off5000})),
    )
    .await;
    assert_eq!(s["total_details"]["amount_discount"], 3001);
    assert_eq!(amounts(&s, "amount_discount"), [1000, 2000, 1]);
    assert_eq!(amounts(&s, "amount_total"), [0, 0, 0]);
    assert_eq!(s["amount_total"], 0);
    // A tiny line next to a big one still gets its share, and no more than itself.
    let s = session(&app, json!([line(&p2000, 3), line(&p1, 1)]), Some(json!({"coupon": off10}))).await;
    assert_eq!(amounts(&s, "amount_discount"), [10, 0]);
}

#[tokio::test]
async fn applies_to_limits_the_eligible_lines() {
    let app = TestApp::spawn().await;
    let (shirt_prod, shirt) = named_price(&app, "Shirt", 1000, "usd").await;
    let (_, mug) = named_price(&app, "Mug", 3000, "usd").await;
    let (hat_prod, hat) = named_price(&app, "Hat", 500, "usd").await;
    let shirts_half =
        new_coupon(&app, &[("percent_off", "50"), ("applies_to[products][0]", shirt_prod.as_str())]).await;
    let r = app.get(&format!("/coupons/{shirts_half}")).await;
    assert_eq!(r.ok()["applies_to"]["products"], json!([shirt_prod]));
    // 50 % of the shirt line only (2 × 1000), not of the mug.
    let s =
        session(&app, json!([line(&mug, 1), line(&shirt, 2)]), Some(json!({"coupon": shirts_half}))).await;
    assert_eq!(amounts(&s, "amount_discount"), [0, 1000]);
    assert_eq!(s["total_details"]["amount_discount"], 1000);
    assert_eq!(s["amount_total"], 4000);

    // amount_off capped at the *eligible* subtotal (shirt 1000 + hat 500), split between them.
    let big_off = new_coupon(
        &app,
        &[
            ("amount_off", "9000"),
            ("currency", "usd"),
            ("applies_to[products][0]", shirt_prod.as_str()),
            ("applies_to[products][1]", hat_prod.as_str()),
        ],
    )
    .await;
    let s = session(
        &app,
        json!([line(&shirt, 1), line(&mug, 1), line(&hat, 1)]),
        Some(json!({"coupon": big_off})),
    )
    .await;
    assert_eq!(amounts(&s, "amount_discount"), [1000, 0, 500]);
    assert_eq!(s["amount_total"], 3000);
    let small_off = new_coupon(
        &app,
        &[
            ("amount_off", "100"),
            ("currency", "usd"),
            ("applies_to[products][0]", shirt_prod.as_str()),
            ("applies_to[products][1]", hat_prod.as_str()),
        ],
    )
    .await;
    // 100 over 1000 / 500 eligible: 66.7 / 33.3 → 66 / 33 + 1 to the larger.
    let s = session(
        &app,
        json!([line(&shirt, 1), line(&mug, 1), line(&hat, 1)]),
        Some(json!({"coupon": small_off})),
    )
    .await;
    assert_eq!(amounts(&s, "amount_discount"), [67, 0, 33]);
    // No eligible line: nothing off.
    let s = session(&app, json!([line(&mug, 1)]), Some(json!({"coupon": shirts_half}))).await;
    assert_eq!(s["total_details"]["amount_discount"], 0);
    assert_eq!(s["amount_total"], 3000);
}

#[tokio::test]
async fn line_discounts_always_add_up() {
    let app = TestApp::spawn().await;
    let units: [i64; 7] = [1, 7, 99, 1001, 3333, 12_345, 50];
    let mut lines = Vec::new();
    let mut subtotal: i64 = 0;
    for (quantity, unit) in (1i64..).zip(units) {
        let price = named_price(&app, &format!("P{quantity}"), unit, "usd").await.1;
        lines.push(line(&price, quantity));
        subtotal += unit * quantity;
    }
    assert_eq!(subtotal, 95_401);
    for (form, expected) in [
        (vec![("percent_off", "33.33")], (subtotal * 3333 * 2 + 10_000) / 20_000),
        (vec![("percent_off", "0.01")], (subtotal * 2 + 10_000) / 20_000),
        (vec![("percent_off", "99.99")], (subtotal * 9999 * 2 + 10_000) / 20_000),
        (vec![("amount_off", "12345"), ("currency", "usd")], 12_345),
        (vec![("amount_off", "1"), ("currency", "usd")], 1),
    ] {
        let c = new_coupon(&app, &form).await;
        let s = session(&app, Value::Array(lines.clone()), Some(json!({"coupon": c}))).await;
        assert_eq!(s["amount_subtotal"], subtotal);
        assert_eq!(s["total_details"]["amount_discount"], expected, "{form:?}");
        assert_eq!(amounts(&s, "amount_discount").iter().sum::<i64>(), expected);
    }
}

#[tokio::test]
async fn promotion_code_discounts_the_session() {
    let app = TestApp::spawn().await;
    let (_, price) = named_price(&app, "Course", 2500, "usd").await;
    let coupon = new_coupon(&app, &[("percent_off", "20"), ("name", "Launch")]).await;
    let promo = new_promo(&app, &[("coupon", &coupon), ("code", "LAUNCH20")]).await;
    let s = session(&app, json!([line(&price, 2)]), Some(json!({"promotion_code": promo}))).await;
    assert_eq!(s["amount_subtotal"], 5000);
    assert_eq!(s["total_details"]["amount_discount"], 1000);
    assert_eq!(s["amount_total"], 4000);
    assert_eq!(s["discounts"], json!([{"coupon": coupon, "promotion_code": promo}]));
    // amount_off through a promotion code, with a minimum that is met.
    let off = new_coupon(&app, &[("amount_off", "700"), ("currency", "usd")]).await;
    let promo = new_promo(
        &app,
        &[
            ("coupon", &off),
            ("code", "SEVEN"),
            ("restrictions[minimum_amount]", "5000"),
            ("restrictions[minimum_amount_currency]", "usd"),
        ],
    )
    .await;
    let s = session(&app, json!([line(&price, 2)]), Some(json!({"promotion_code": promo}))).await;
    assert_eq!(s["amount_total"], 4300);
}

#[tokio::test]
async fn subscription_without_trial_charges_everything_today() {
    let app = TestApp::spawn().await;
    let plan_prod = app.product("Pro plan").await;
    let plan = app.price_for(&plan_prod, 2000, "usd", Some("month")).await;
    let (_, setup) = named_price(&app, "Setup fee", 500, "usd").await;
    let s = session(&app, json!([line(&plan, 2), line(&setup, 1)]), None).await;
    assert_eq!(s["mode"], "subscription");
    assert_eq!(amounts(&s, "amount_subtotal"), [4000, 500]);
    assert_eq!(s["amount_total"], 4500);
    assert_eq!(items(&s)[0]["price"]["recurring"]["interval"], "month");
    assert_eq!(items(&s)[0]["price"]["type"], "recurring");
}

#[tokio::test]
async fn trial_makes_recurring_lines_due_later_and_one_time_lines_due_today() {
    let app = TestApp::spawn().await;
    let plan_prod = app.product("Pro plan").await;
    let plan = app.price_for(&plan_prod, 2000, "usd", Some("month")).await;
    let (_, setup) = named_price(&app, "Setup fee", 500, "usd").await;
    let half = new_coupon(&app, &[("percent_off", "50"), ("duration", "forever")]).await;
    let trial = |discount: Option<Value>| {
        let mut b = json!({
            "line_items": [line(&plan, 2), line(&setup, 1)],
            "subscription_data": {"trial_period_days": 14},
            "expand": ["line_items"],
        });
        if let Some(d) = discount {
            b["discounts"] = json!([d]);
        }
        b
    };
    let s = created(&app, trial(None)).await;
    assert_consistent(&s);
    assert_eq!(s["mode"], "subscription");
    // The recurring line shows what will be billed (unit × quantity) but is due later.
    let lines = items(&s);
    assert_eq!(lines[0]["price"]["unit_amount"], 2000);
    assert_eq!(lines[0]["quantity"], 2);
    assert_eq!(amounts(&s, "amount_subtotal"), [0, 500]);
    assert_eq!(s["amount_subtotal"], 500);
    assert_eq!(s["amount_total"], 500);

    // A discount applies to what is due today only.
    let s = created(&app, trial(Some(json!({"coupon": half})))).await;
    assert_consistent(&s);
    assert_eq!(amounts(&s, "amount_discount"), [0, 250]);
    assert_eq!(s["amount_total"], 250);

    // Only recurring lines: nothing due today.
    let s = created(
        &app,
        json!({"line_items": [line(&plan, 1)], "subscription_data": {"trial_period_days": 7}, "expand": ["line_items"]}),
    )
    .await;
    assert_consistent(&s);
    assert_eq!(s["amount_subtotal"], 0);
    assert_eq!(s["amount_total"], 0);
    assert_eq!(s["payment_status"], "unpaid");
}

#[tokio::test]
async fn zero_decimal_currency_amounts_are_whole_units() {
    let app = TestApp::spawn().await;
    let (_, tea) = named_price(&app, "Tea", 1000, "jpy").await;
    let (_, cake) = named_price(&app, "Cake", 999, "jpy").await;
    let s = session(&app, json!([line(&tea, 3)]), None).await;
    assert_eq!(s["currency"], "jpy");
    assert_eq!(s["amount_total"], 3000);
    assert_eq!(items(&s)[0]["currency"], "jpy");
    // 12.5 % of 999 yen = 124.875 → 125 yen.
    let eighth = new_coupon(&app, &[("percent_off", "12.5")]).await;
    let s = session(&app, json!([line(&cake, 1)]), Some(json!({"coupon": eighth}))).await;
    assert_eq!(s["total_details"]["amount_discount"], 125);
    assert_eq!(s["amount_total"], 874);
    // amount_off in yen.
    let yen_off = new_coupon(&app, &[("amount_off", "500"), ("currency", "jpy")]).await;
    let s = session(&app, json!([line(&tea, 1), line(&cake, 1)]), Some(json!({"coupon": yen_off}))).await;
    assert_eq!(s["total_details"]["amount_discount"], 500);
    assert_eq!(s["amount_total"], 1499);
    // The hosted page shows yen without decimals.
    let page = app.send(app.client.get(s["url"].as_str().unwrap())).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("¥1,499"), "{}", page.text);
}

#[tokio::test]
async fn totals_too_large_are_refused() {
    let app = TestApp::spawn().await;
    let (_, huge) = named_price(&app, "Yacht", 999_999_999_999, "usd").await;
    let r = crate::sessions_support::create(&app, &json!({"line_items": [line(&huge, 999_999)]})).await;
    let e = r.invalid("line_items");
    assert_eq!(e["code"], "amount_too_large");
    let s = session(&app, json!([line(&huge, 1)]), None).await;
    assert_eq!(s["amount_total"], 999_999_999_999i64);
}
