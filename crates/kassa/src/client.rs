//! Outgoing HTTP: the one place that makes `reqwest` clients (webhook delivery, `kassa listen`),
//! the guard that keeps webhooks off private addresses, and the [`Pace`] that spaces a node's
//! webhook attempts.
//!
//! reqwest is built with rustls and no crypto provider of its own (the default one, aws-lc-rs,
//! is the slowest crate in the build); [`builder`] installs *ring* as the process's provider
//! before every client, so no client can be made without one.
//!
//! ## Only public addresses (`--webhook-allow-private false`)
//! The delivery client then resolves host names itself ([`PublicOnly`]): every address a name
//! resolves to is checked ([`kassa_core::webhook::address`]), and if any of them is not public
//! the name is refused and nothing is sent; otherwise the connection goes to exactly the addresses
//! that were checked, so a name rebound to a private address between a check and the connection
//! (DNS rebinding) gains nothing. A URL whose host is an address is checked before sending
//! ([`refusal`]), since no resolver sees it. Proxies are off in that mode: through a proxy, the
//! proxy would resolve the name, past the check.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kassa_core::webhook::address;

use crate::config::WebhookSettings;

/// A client builder with the TLS provider in place.
pub fn builder() -> reqwest::ClientBuilder {
    // Fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// The HTTP client that delivers: no redirects followed, connections given up after the attempt's
/// timeout (the whole attempt's deadline is the sender's, see `service::delivery`), TLS by rustls
/// with the platform's certificates, and, unless private addresses are allowed, only public
/// addresses reached.
pub fn webhook_client(settings: &WebhookSettings) -> reqwest::Client {
    let mut b = builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.timeout)
        .user_agent(concat!("kassa/", env!("CARGO_PKG_VERSION"), " (webhooks)"));
    if !settings.allow_private {
        b = b.no_proxy().dns_resolver(PublicOnly);
    }
    b.build().unwrap_or_else(|_| reqwest::Client::new())
}

/// Why a delivery to `url` must not be sent, when its host is an address that is not public and
/// private addresses are not allowed. Host names are checked as they are resolved ([`PublicOnly`]).
pub fn refusal(url: &str, allow_private: bool) -> Option<String> {
    if allow_private {
        return None;
    }
    let parsed = reqwest::Url::parse(url).ok()?;
    address::literal(&parsed).and_then(address::refusal).map(|why| format!("refused: {why}"))
}

/// A resolver that answers only with public addresses: a name with any other address among its
/// answers is refused ([`Refused`]).
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let restricted = addrs.iter().find_map(|a| address::restriction(a.ip()).map(|r| (a.ip(), r)));
            if let Some((ip, why)) = restricted {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(Refused(format!("refused: {host} resolves to {ip}, {}", why.describe())));
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// A host refused by [`PublicOnly`]; its text is what the attempt records.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The [`Refused`] somewhere in `e`'s chain of causes, if a refusal is why it failed.
pub fn refused<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<Refused>() {
            return Some(r);
        }
        cause = c.source();
    }
    None
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
