//! The whole checkout, driven as fast as it goes (issue 19 §4; run by `bench/checkout`):
//! `concurrency` customers at once, each one after the other creating a session, opening its page,
//! paying with 4242 and following the redirect to the success URL, while a receiver of its own
//! takes every webhook and notes when each `checkout.session.completed` arrives.
//!
//!     checkout_bench <api>[,<api>…] <secret key> <price> <count> <concurrency> <receiver address>
//!     checkout_bench http://127.0.0.1:4297 sk_test_… price_… 20000 64 127.0.0.1:4296
//!
//! With several APIs (nodes on one database), the customers are spread over them in turn, each
//! customer doing all of its checkouts' steps on one node.
//!
//! It registers a webhook endpoint for `checkout.session.completed` at the receiver, runs `count`
//! checkouts, waits (at most 30 s) for their webhooks, and prints: completed checkouts per second
//! (from the first create to the last redirect followed), the latency of each step (p50, p99,
//! max), and the share of `checkout.session.completed` events that arrived within 5 s of the
//! payment's answer. Any step answering otherwise than expected counts as an error (the first few
//! are printed) and that checkout is abandoned.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

/// When each session's `checkout.session.completed` arrived.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

#[derive(Default)]
struct Timings {
    create: Vec<Duration>,
    page: Vec<Duration>,
    pay: Vec<Duration>,
    redirect: Vec<Duration>,
    /// Session id and when its payment was answered.
    paid: Vec<(String, Instant)>,
    errors: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: checkout_bench <api>[,<api>…] <secret key> <price> <count> <concurrency> <receiver address>"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [api, key, price, count, concurrency, listen] = args.as_slice() else { usage() };
    let apis: Vec<String> = api.split(',').map(|a| a.trim_end_matches('/').to_owned()).collect();
    let api = apis[0].clone();
    let count: usize = count.parse().unwrap_or_else(|_| usage());
    let concurrency: usize = concurrency.parse().unwrap_or_else(|_| usage());
    let listen: SocketAddr = listen.parse().unwrap_or_else(|_| usage());

    // The receiver: webhooks at /webhook, the success URL at /ok.
    let arrivals: Arrivals = Arc::default();
    let app = Router::new()
        .route(
            "/webhook",
            post(|State(a): State<Arrivals>, body: String| async move {
                let at = Instant::now();
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&body)
                    && event["type"] == "checkout.session.completed"
                    && let Some(id) = event["data"]["object"]["id"].as_str()
                {
                    a.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .entry(id.to_owned())
                        .or_insert(at);
                }
                "ok"
            }),
        )
        .route("/ok", get(|| async { "thank you" }))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = kassa::client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency * 2)
        .build()?;
    let endpoint = client
        .post(format!("{api}/webhook_endpoints"))
        .bearer_auth(key)
        .form(&[
            ("url", format!("http://{listen}/webhook")),
            ("enabled_events[]", "checkout.session.completed".to_owned()),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        endpoint.status().is_success(),
        "registering the webhook endpoint: {}",
        endpoint.text().await?
    );

    let next = Arc::new(AtomicUsize::new(0));
    let timings = Arc::new(Mutex::new(Timings::default()));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let api = apis[worker % apis.len()].clone();
            let (client, key, price) = (client.clone(), key.clone(), price.clone());
            let (next, timings) = (next.clone(), timings.clone());
            tokio::spawn(async move {
                let mut mine = Timings::default();
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    if let Err(e) = checkout(&client, &api, &key, &price, listen, &mut mine).await {
                        mine.errors += 1;
                        if mine.errors <= 3 {
                            eprintln!("checkout failed: {e:#}");
                        }
                    }
                }
                let mut all = timings.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                all.create.extend(mine.create);
                all.page.extend(mine.page);
                all.pay.extend(mine.pay);
                all.redirect.extend(mine.redirect);
                all.paid.extend(mine.paid);
                all.errors += mine.errors;
            })
        })
        .collect();
    for w in workers {
        w.await?;
    }
    let elapsed = started.elapsed();
    let mut t = std::mem::take(&mut *timings.lock().unwrap_or_else(std::sync::PoisonError::into_inner));

    // Wait for the webhooks still on their way.
    let waiting = Instant::now();
    loop {
        let arrived = arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
        if arrived >= t.paid.len() || waiting.elapsed() > Duration::from_secs(30) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arrivals = arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();

    let completed = t.paid.len();
    println!(
        "checkouts: {completed} completed, {} errors, in {:.2} s: {:.0} completed checkouts/s ({concurrency} at once)",
        t.errors,
        elapsed.as_secs_f64(),
        float(completed) / elapsed.as_secs_f64()
    );
    for (name, list) in [
        ("POST /checkout/session", &mut t.create),
        ("GET /pay/{id}", &mut t.page),
        ("POST /pay/{id} (4242)", &mut t.pay),
        ("GET success URL", &mut t.redirect),
    ] {
        list.sort();
        println!(
            "{name:<24} p50 {:>9.2} ms  p99 {:>9.2} ms  max {:>9.2} ms",
            pct(list, 50),
            pct(list, 99),
            pct(list, 100)
        );
    }
    let mut delays: Vec<Duration> = Vec::with_capacity(completed);
    let mut missing = 0;
    for (id, paid) in &t.paid {
        match arrivals.get(id) {
            Some(at) => delays.push(at.saturating_duration_since(*paid)),
            None => missing += 1,
        }
    }
    delays.sort();
    let within = delays.iter().filter(|d| **d <= Duration::from_secs(5)).count();
    println!(
        "checkout.session.completed: {} of {completed} arrived, {within} ({:.2} %) within 5 s of the payment; \
         delay p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {missing} never arrived (waited up to 30 s)",
        delays.len(),
        if completed == 0 { 0.0 } else { 100.0 * float(within) / float(completed) },
        pct(&delays, 50),
        pct(&delays, 99),
        pct(&delays, 100),
    );
    Ok(())
}

/// The `p`th percentile of sorted `list`, in milliseconds.
fn pct(list: &[Duration], p: usize) -> f64 {
    if list.is_empty() {
        return 0.0;
    }
    let rank = (p * list.len()).div_ceil(100);
    list[rank.clamp(1, list.len()) - 1].as_secs_f64() * 1000.0
}

/// `n` as a float, for rates and shares.
fn float(n: usize) -> f64 {
    u32::try_from(n).map_or(f64::from(u32::MAX), f64::from)
}

/// One customer's checkout, start to end.
async fn checkout(
    client: &reqwest::Client,
    api: &str,
    key: &str,
    price: &str,
    receiver: SocketAddr,
    t: &mut Timings,
) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "line_items": [{ "price": price, "quantity": 1 }],
        "mode": "payment",
        "success_url": format!("http://{receiver}/ok?session_id={{CHECKOUT_SESSION_ID}}"),
        "cancel_url": format!("http://{receiver}/cancel"),
    });
    let start = Instant::now();
    let r = client.post(format!("{api}/checkout/session")).bearer_auth(key).json(&body).send().await?;
    let status = r.status();
    let created: serde_json::Value = r.json().await?;
    anyhow::ensure!(status.as_u16() == 201, "create answered {status}: {created}");
    t.create.push(start.elapsed());
    let id = created["id"].as_str().ok_or_else(|| anyhow::anyhow!("no id in {created}"))?.to_owned();

    let start = Instant::now();
    let r = client.get(format!("{api}/pay/{id}")).send().await?;
    let status = r.status();
    let page = r.text().await?;
    anyhow::ensure!(status.is_success() && page.contains(&id), "the page answered {status}");
    t.page.push(start.elapsed());

    // The page's form, as a browser posts it (same origin; the card form's fields).
    let form = [
        ("email", "bench@example.test"),
        ("name", "Bench Customer"),
        ("payment_method", "card"),
        ("card_number", "4242424242424242"),
        ("card_expiry", "12/34"),
        ("card_cvc", "123"),
    ];
    let start = Instant::now();
    let r = client.post(format!("{api}/pay/{id}")).header("origin", api).form(&form).send().await?;
    let status = r.status();
    let location = r.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
    let answer = r.text().await?;
    let Some(mut location) = location.filter(|_| status.is_redirection()) else {
        anyhow::bail!(
            "paying answered {status} without a redirect: {}",
            answer.chars().take(300).collect::<String>()
        );
    };
    t.pay.push(start.elapsed());
    t.paid.push((id, Instant::now()));

    // Follow the redirects to the merchant's success page.
    let start = Instant::now();
    for _ in 0..5 {
        if location.starts_with('/') {
            location = format!("{api}{location}");
        }
        let r = client.get(&location).send().await?;
        let status = r.status();
        let next = r.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
        r.bytes().await?;
        match next.filter(|_| status.is_redirection()) {
            Some(n) => location = n,
            None => {
                anyhow::ensure!(status.is_success(), "the redirect to {location} answered {status}");
                t.redirect.push(start.elapsed());
                return Ok(());
            }
        }
    }
    anyhow::bail!("more than 5 redirects after paying")
}
