#![allow(clippy::unwrap_used)]

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_needs_no_key() {
    let app = TestApp::spawn().await;
    let r = app.send(app.client.get(app.url("/health"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert!(r.header("request-id").is_some_and(|id| id.starts_with("req_")));
}

#[tokio::test]
async fn creates_a_session_and_its_page_opens() {
    let app = TestApp::spawn().await;
    let price = app.price(1500, "usd").await;
    let s = app.simple_session(&price, 2).await;
    assert_eq!(s["object"], "checkout.session");
    assert_eq!(s["amount_subtotal"], 3000);
    assert_eq!(s["amount_total"], 3000);
    assert_eq!(s["status"], "open");
    let url = s["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/pay/{}", app.base, s["id"].as_str().unwrap()));
    let page = app.send(app.client.get(url)).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("data-testid=\"line-item\""));
    let again = app.get(&format!("/checkout/session/{}", s["id"].as_str().unwrap())).await;
    assert_eq!(again.ok()["id"], s["id"]);
    let _ = json!({});
}
