//! Outgoing HTTP: the one place that makes `reqwest` clients (webhook delivery, `kassa listen`),
//! and the [`Pace`] that spaces a node's webhook attempts.
//!
//! reqwest is built with rustls and no crypto provider of its own (the default one, aws-lc-rs,
//! is the slowest crate in the build); [`builder`] installs *ring* as the process's provider
//! before every client, so no client can be made without one.

use std::time::{Duration, Instant};

use crate::config::WebhookSettings;

/// A client builder with the TLS provider in place.
pub fn builder() -> reqwest::ClientBuilder {
    // Fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// The HTTP client that delivers: no redirects followed, connections given up after the attempt's
/// timeout (the whole attempt's deadline is the sender's, see `service::delivery`), TLS by rustls
/// with the platform's certificates.
pub fn webhook_client(settings: &WebhookSettings) -> reqwest::Client {
    builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.timeout)
        .user_agent(concat!("kassa/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// How far ahead of the pace attempts may run before one sleeps.
const PACE_SLACK: Duration = Duration::from_millis(5);
/// How long without attempts counts as idle (the pace then starts over from now).
const PACE_IDLE: Duration = Duration::from_millis(50);

/// Spaces this node's attempts evenly, at most `rate` a second, across all of its senders.
#[derive(Debug, Default)]
pub struct Pace {
    next: std::sync::Mutex<Option<Instant>>,
}

impl Pace {
    /// Wait for this attempt's turn.
    pub async fn wait(&self, rate: u32) {
        if rate == 0 {
            return;
        }
        let gap = Duration::from_secs(1) / rate;
        let now = Instant::now();
        let turn = {
            let Ok(mut next) = self.next.lock() else { return };
            // A turn a little in the past (a timer fired late) keeps its place, so late wake-ups
            // do not lower the rate; after an idle spell the pace starts from now.
            let turn = next.filter(|t| *t + PACE_IDLE > now).unwrap_or(now);
            *next = Some(turn + gap);
            turn
        };
        // Timers tick in milliseconds, coarser than the gap at high rates: go on while less than
        // a few milliseconds ahead of the pace, and sleep once the lead is worth a timer.
        if turn > now + PACE_SLACK {
            tokio::time::sleep_until(tokio::time::Instant::from_std(turn)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pace_spaces_attempts_and_zero_means_no_limit() {
        let pace = Pace::default();
        let started = Instant::now();
        for _ in 0..21 {
            pace.wait(100).await;
        }
        // 20 gaps of 10 ms, less the slack it may run ahead.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(190) - PACE_SLACK, "{took:?}");
        let started = Instant::now();
        for _ in 0..3000 {
            pace.wait(2000).await;
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(1490) - PACE_SLACK, "not faster than the pace: {took:?}");
        assert!(took < Duration::from_millis(2500), "not much slower either: {took:?}");
        let started = Instant::now();
        for _ in 0..1000 {
            pace.wait(0).await;
        }
        assert!(started.elapsed() < Duration::from_millis(100));
    }
}
