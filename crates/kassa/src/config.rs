//! Settings for `kassa serve`, checked before anything starts.

use std::time::Duration;

use anyhow::{Context, bail};
use kassa_core::account::SecretKey;

use kassa_core::billing::SubscriptionStatus;
use kassa_core::renewal::Dunning;
use kassa_core::webhook::RetryPolicy;

use crate::cli::ServeArgs;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `host:port`; port 0 picks a free one.
    pub listen: String,
    pub database_url: String,
    /// `None`: `http://` + the address actually bound.
    pub public_url: Option<String>,
    /// `KASSA_SECRET_KEY`: the default account's key when kassa creates it. Masked in `Debug`.
    pub secret_key: Option<SecretKey>,
    pub sweep_interval: Duration,
    pub webhooks: WebhookSettings,
    /// Run the webhook delivery worker in the background (the tests drive it by hand instead).
    pub deliver_webhooks: bool,
    /// How often the billing scheduler runs; `None`: not in the background (the tests drive it).
    pub billing_interval: Option<Duration>,
    pub dunning: Dunning,
}

impl Settings {
    /// From the command line and `KASSA_SECRET_KEY`.
    pub fn from_args(args: ServeArgs, secret_key: Option<String>) -> anyhow::Result<Self> {
        let secret_key = match secret_key.filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => {
                Some(SecretKey::from_operator(&k).map_err(anyhow::Error::msg).context("KASSA_SECRET_KEY")?)
            }
        };
        if let Some(url) = &args.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("--public-url must be an absolute http:// or https:// URL, got {url:?}");
        }
        if args.sweep_interval == 0 {
            bail!("--sweep-interval must be at least 1 second");
        }
        let w = &args.webhooks;
        if w.webhook_timeout == 0 || w.webhook_retry_first == 0 || w.webhook_lease == 0 {
            bail!("--webhook-timeout, --webhook-retry-first and --webhook-lease must be at least 1 second");
        }
        if w.webhook_lease <= w.webhook_timeout {
            bail!("--webhook-lease must be longer than --webhook-timeout");
        }
        if w.webhook_endpoint_concurrency == 0 {
            bail!("--webhook-endpoint-concurrency must be at least 1");
        }
        let final_status = match args.dunning_final_status.as_str() {
            "canceled" => SubscriptionStatus::Canceled,
            "unpaid" => SubscriptionStatus::Unpaid,
            other => bail!("--dunning-final-status must be `canceled` or `unpaid`, got {other:?}"),
        };
        let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let webhooks = WebhookSettings {
            timeout: Duration::from_secs(w.webhook_timeout),
            retry: RetryPolicy {
                first: secs(w.webhook_retry_first),
                cap: secs(w.webhook_retry_max_interval.max(w.webhook_retry_first)),
                retry_for: secs(w.webhook_retry_for),
            },
            lease: secs(w.webhook_lease),
            max_rate: w.webhook_max_rate,
            endpoint_concurrency: w.webhook_endpoint_concurrency,
            allow_private: w.webhook_allow_private.unwrap_or_else(|| listens_on_loopback_only(&args.listen)),
            ..WebhookSettings::default()
        };
        Ok(Self {
            listen: args.listen,
            database_url: args.database.database_url,
            public_url: args.public_url,
            secret_key,
            sweep_interval: Duration::from_secs(args.sweep_interval),
            webhooks,
            deliver_webhooks: true,
            billing_interval: Some(Duration::from_secs(1)),
            dunning: Dunning { final_status, ..Dunning::default() },
        })
    }
}

/// Whether `listen` (`host:port`) reaches this machine only: a loopback address, or `localhost`.
/// Anything else (`0.0.0.0`, a public or private address, another name) counts as reachable from
/// elsewhere.
pub fn listens_on_loopback_only(listen: &str) -> bool {
    let host = listen.rsplit_once(':').map_or(listen, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How the worker sends and retries.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How long one attempt may take, from connecting to the last byte of the answer read.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// How long a claim holds a delivery, in seconds. A worker that dies holds it this long.
    pub lease: i64,
    /// Between looks for due deliveries when nothing wakes the worker (events from other nodes,
    /// retries coming due).
    pub poll: Duration,
    /// The most deliveries one claim takes for one of an endpoint's slots (sent one after another).
    pub batch: u32,
    /// The most endpoints looked at per claim.
    pub endpoints_per_pass: u32,
    /// The most attempts per second this node makes (0: no limit). A backlog (an endpoint back
    /// after an outage, thousands of events queued for it) then drains at this pace instead of
    /// taking the CPU the API needs.
    pub max_rate: u32,
    /// The most attempts in flight to one endpoint, over all nodes: its slots.
    pub endpoint_concurrency: u32,
    /// The most slots this node holds at once, over all endpoints (each has at most one attempt
    /// in flight).
    pub in_flight: u32,
    /// Whether deliveries may go to addresses that are not public (loopback, private, link-local,
    /// …; see [`kassa_core::webhook::address`]). `kassa serve` defaults to `true` only when it
    /// listens on loopback only ([`listens_on_loopback_only`]); the default here is `false`.
    pub allow_private: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            lease: 60,
            poll: Duration::from_secs(1),
            batch: 50,
            endpoints_per_pass: 1000,
            max_rate: 2200,
            endpoint_concurrency: 4,
            in_flight: 256,
            allow_private: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_allowed_by_default_only_on_a_loopback_listener() {
        for listen in ["127.0.0.1:4242", "127.0.0.1:0", "[::1]:4242", "localhost:4242", "127.9.9.9:1"] {
            assert!(listens_on_loopback_only(listen), "{listen}");
        }
        for listen in ["0.0.0.0:4242", "[::]:4242", "10.0.0.5:4242", "kassa.internal:4242", "192.168.1.2:80"]
        {
            assert!(!listens_on_loopback_only(listen), "{listen}");
        }
    }

    fn webhooks(args: &[&str]) -> anyhow::Result<WebhookSettings> {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([&["kassa", "serve"], args].concat())?;
        let crate::cli::Command::Serve(serve) = cli.command else { anyhow::bail!("not serve") };
        Ok(Settings::from_args(serve, None)?.webhooks)
    }

    #[test]
    fn the_webhook_settings_follow_the_listener_unless_given() -> anyhow::Result<()> {
        assert!(webhooks(&[])?.allow_private, "the default listener is loopback");
        assert!(!webhooks(&["--listen", "0.0.0.0:4242"])?.allow_private);
        assert!(webhooks(&["--listen", "0.0.0.0:4242", "--webhook-allow-private", "true"])?.allow_private);
        assert!(!webhooks(&["--webhook-allow-private", "false"])?.allow_private);
        assert!(webhooks(&["--webhook-allow-private", "maybe"]).is_err());
        assert_eq!(webhooks(&[])?.endpoint_concurrency, 4);
        assert_eq!(webhooks(&["--webhook-endpoint-concurrency", "1"])?.endpoint_concurrency, 1);
        let zero = webhooks(&["--webhook-endpoint-concurrency", "0"]).err().map(|e| e.to_string());
        assert!(zero.as_deref().is_some_and(|m| m.contains("at least 1")), "{zero:?}");
        Ok(())
    }
}
