//! A webhook receiver for benchmarks: answers every POST with 200 and prints, once a second,
//! `<unix time> <received in that second> <received in all>` on standard output.
//!
//!     cargo run --release --example webhook_sink -- 127.0.0.1:9911

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9911".to_owned());
    let count = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route(
            "/{*path}",
            post(|State(c): State<Arc<AtomicU64>>, _body: String| async move {
                c.fetch_add(1, Ordering::Relaxed);
                "ok"
            }),
        )
        .with_state(count.clone());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tokio::spawn(async move {
        let mut last = 0;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let total = count.load(Ordering::Relaxed);
            println!("{now} {} {total}", total - last);
            last = total;
        }
    });
    axum::serve(listener, app).await
}
