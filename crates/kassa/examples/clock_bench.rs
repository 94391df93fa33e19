//! Benchmark: advance one test clock by a year with many monthly subscriptions on it;
//! and how other accounts' requests fare while a long advance runs.
//!
//!     clock_bench <base url> <secret key> [subscriptions=10000] [concurrency=32] [interval=month] [days=365]
//!
//! Against a running kassa: creates a test clock, a price billed every `interval` (day, week,
//! month, year), and `subscriptions` customers on the clock, each subscribed through a checkout
//! session paid on the hosted page with 4242 (the way a customer does it); then advances the
//! clock by `days` and times it until the clock is `ready` again. Prints the set-up time, the
//! advance time, and checks a sample of subscriptions for their paid invoices.
//!
//! With `CLOCK_BENCH_PROBE_KEY` set to another account's key, a probe creates customers in that
//! account from 4 connections, one request after the other on each, for 3 s before the advance
//! (idle) and for as long as the advance runs, and prints the latencies of both: what a merchant
//! sharing the server sees while someone's clock bills years of renewals.

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

/// Latencies of `POST /customers` in another account, from 4 connections, until `stop` is set.
async fn probe(base: String, key: String, stop: Arc<std::sync::atomic::AtomicBool>) -> Res<Vec<Duration>> {
    let http = kassa::client::builder().build()?;
    let api = Arc::new(Api { base, key, http });
    let mut tasks = Vec::new();
    for t in 0..4 {
        let (api, stop) = (api.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let email = format!("probe{t}-{i}@example.test");
                let started = Instant::now();
                api.post("/customers", &[("email", &email)]).await?;
                took.push(started.elapsed());
                i += 1;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(took)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    Ok(all)
}

/// Print the count, rate and percentiles of sorted latencies.
fn report(what: &str, took: &[Duration], secs: f64) {
    let at = |percent: usize| {
        let i = took.len().saturating_sub(1) * percent / 100;
        took.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let n = f64::from(u32::try_from(took.len()).unwrap_or(u32::MAX));
    println!(
        "{what}: {} requests in {secs:.1} s ({:.0}/s), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        took.len(),
        n / secs.max(0.001),
        at(50),
        at(99),
        at(100)
    );
}

/// Run the probe for `secs` seconds (idle) and report it.
async fn probe_idle(base: &str, key: &str, secs: u64) -> Res<()> {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let run = tokio::spawn(probe(base.to_owned(), key.to_owned(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    report("probe, idle", &run.await??, Duration::from_secs(secs).as_secs_f64());
    Ok(())
}

/// The paid invoices of subscription `id` (all pages).
async fn paid_invoices(api: &Api, id: &str) -> Res<usize> {
    let mut count = 0;
    let mut after = String::new();
    loop {
        let page = api.get(&format!("/invoices?subscription={id}&status=paid&limit=100{after}")).await?;
        let data = page["data"].as_array().ok_or("no invoices")?;
        count += data.len();
        match data.last().and_then(|i| i["id"].as_str()) {
            Some(last) if page["has_more"] == true => after = format!("&starting_after={last}"),
            _ => return Ok(count),
        }
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
    let interval = args.get(5).cloned().unwrap_or_else(|| "month".to_owned());
    let days: i64 = args.get(6).map_or(Ok(365), |s| s.parse())?;
    let probe_key = std::env::var("CLOCK_BENCH_PROBE_KEY").ok().filter(|k| !k.is_empty());
    let http = kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let api = Arc::new(Api { base, key, http });

    let start = 1_800_000_000_i64; // 2027-01-15
    let clock = api
        .post("/test_helpers/test_clocks", &[("frozen_time", &start.to_string()), ("name", "bench")])
        .await?;
    let clock = clock["id"].as_str().ok_or("no clock id")?.to_owned();
    let product = api.post("/products", &[("name", "Plan")]).await?;
    let price = api
        .post(
            "/prices",
            &[
                ("product", product["id"].as_str().ok_or("no product")?),
                ("unit_amount", "1500"),
                ("currency", "usd"),
                ("recurring[interval]", &interval),
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

    if let Some(key) = &probe_key {
        probe_idle(&api.base, key, 3).await?;
    }
    let to = start + days * 86_400;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probing = probe_key.map(|key| tokio::spawn(probe(api.base.clone(), key, stop.clone())));
    let advancing = Instant::now();
    api.post(&format!("/test_helpers/test_clocks/{clock}/advance"), &[("frozen_time", &to.to_string())])
        .await?;
    loop {
        let c = api.get(&format!("/test_helpers/test_clocks/{clock}")).await?;
        if c["status"] == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = advancing.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    println!("advance by {days} days: {n} subscriptions billed every {interval} in {took:.1} s");
    if let Some(p) = probing {
        report("probe, during the advance", &p.await??, took);
    }

    // Periods started by the clock's new time: the checkout's, and one per interval after it.
    let per_period = match interval.as_str() {
        "day" => Some(1),
        "week" => Some(7),
        _ => None,
    };
    let want = match per_period {
        Some(d) => usize::try_from(days / d + 1)?,
        None if interval == "month" && days == 365 => 13,
        None => return Ok(()),
    };
    let subs = api.get("/subscriptions?limit=20").await?;
    let sample = subs["data"].as_array().ok_or("no subscriptions")?;
    for s in sample {
        let id = s["id"].as_str().ok_or("no id")?;
        let count = paid_invoices(&api, id).await?;
        if count != want {
            return Err(format!("{id} has {count} paid invoices, not {want}").into());
        }
    }
    println!("checked: {} subscriptions have {want} paid invoices each", sample.len());
    Ok(())
}
