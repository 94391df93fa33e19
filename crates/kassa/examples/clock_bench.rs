//! Benchmark for issue 5: advance one test clock by a year with many monthly subscriptions on it.
//!
//!     clock_bench <base url> <secret key> [subscriptions=10000] [concurrency=32]
//!
//! Against a running kassa: creates a test clock, a monthly price, and `subscriptions` customers on
//! the clock, each subscribed through a checkout session paid on the hosted page with 4242 (the
//! way a customer does it); then advances the clock by a year and times it until the clock is
//! `ready` again. Prints the set-up time, the advance time, and checks a sample of subscriptions
//! for 13 paid invoices.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Res<Value> {
        let r =
            self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.key).form(form).send().await?;
        let status = r.status();
        let body: Value = r.json().await?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status} {body}").into());
        }
        Ok(body)
    }

    async fn get(&self, path: &str) -> Res<Value> {
        Ok(self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.key).send().await?.json().await?)
    }

    /// One customer on the clock, subscribed and paid through the hosted page.
    async fn subscriber(&self, clock: &str, price: &str, i: usize) -> Res<()> {
        let email = format!("bench{i}@example.test");
        let cus = self.post("/customers", &[("email", &email), ("test_clock", clock)]).await?;
        let cus = cus["id"].as_str().ok_or("no customer id")?;
        let s = self
            .post(
                "/checkout/session",
                &[
                    ("line_items[0][price]", price),
                    ("line_items[0][quantity]", "1"),
                    ("customer", cus),
                    ("success_url", "https://shop.test/ok"),
                ],
            )
            .await?;
        let id = s["id"].as_str().ok_or("no session id")?;
        let r = self
            .http
            .post(format!("{}/pay/{id}", self.base))
            .form(&[
                ("payment_method", "card"),
                ("card_number", "4242424242424242"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
                ("name", "Bench"),
            ])
            .send()
            .await?;
        if r.status().as_u16() != 303 {
            return Err(format!("paying {id}: {}", r.status()).into());
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(1).cloned().unwrap_or_else(|| "http://127.0.0.1:4242".to_owned());
    let key = args
        .get(2)
        .cloned()
        .ok_or("usage: clock_bench <base url> <secret key> [subscriptions] [concurrency]")?;
    let n: usize = args.get(3).map_or(Ok(10_000), |s| s.parse())?;
    let concurrency: usize = args.get(4).map_or(Ok(32), |s| s.parse())?;
    let http = kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let api = Arc::new(Api { base, key, http });

    let start = 1_800_000_000_i64; // 2027-01-15
    let clock = api
        .post("/test_helpers/test_clocks", &[("frozen_time", &start.to_string()), ("name", "bench")])
        .await?;
    let clock = clock["id"].as_str().ok_or("no clock id")?.to_owned();
    let product = api.post("/products", &[("name", "Monthly")]).await?;
    let price = api
        .post(
            "/prices",
            &[
                ("product", product["id"].as_str().ok_or("no product")?),
                ("unit_amount", "1500"),
                ("currency", "usd"),
                ("recurring[interval]", "month"),
            ],
        )
        .await?;
    let price = price["id"].as_str().ok_or("no price id")?.to_owned();

    let setup = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, next, clock, price) = (api.clone(), next.clone(), clock.clone(), price.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), Box<dyn std::error::Error + Send + Sync>>(());
                }
                api.subscriber(&clock, &price, i).await?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    println!("set-up: {n} subscriptions on clock {clock} in {:.1} s", setup.elapsed().as_secs_f64());

    let year = start + 365 * 86_400;
    let advancing = Instant::now();
    api.post(&format!("/test_helpers/test_clocks/{clock}/advance"), &[("frozen_time", &year.to_string())])
        .await?;
    loop {
        let c = api.get(&format!("/test_helpers/test_clocks/{clock}")).await?;
        if c["status"] == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = advancing.elapsed().as_secs_f64();
    println!("advance by a year: {n} monthly subscriptions in {took:.1} s");

    let subs = api.get("/subscriptions?limit=20").await?;
    for s in subs["data"].as_array().ok_or("no subscriptions")? {
        let id = s["id"].as_str().ok_or("no id")?;
        let inv = api.get(&format!("/invoices?subscription={id}&status=paid&limit=100")).await?;
        let count = inv["data"].as_array().map_or(0, Vec::len);
        if count != 13 {
            return Err(format!("{id} has {count} paid invoices, not 13").into());
        }
    }
    println!("checked: 20 subscriptions have 13 paid invoices each");
    Ok(())
}
