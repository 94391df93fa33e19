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
    /// `KASSA_SECRET_KEY`: the default account's key when kassa creates it; on a database with
    /// accounts, added to the default account if the database does not know it. Masked in `Debug`.
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

/// How the worker sends and retries.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How long one attempt may take, answer included.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// How long a claim holds an endpoint, in seconds. A worker that dies holds it this long.
    pub lease: i64,
    /// Between passes when nothing wakes the worker (events from other nodes, retries).
    pub poll: Duration,
    /// The most deliveries sent to one endpoint per pass.
    pub batch: u32,
    /// The most endpoints looked at per pass.
    pub endpoints_per_pass: u32,
    /// The most attempts per second this node makes (0: no limit). A backlog (an endpoint back
    /// after an outage, thousands of events queued behind it) then drains at this pace instead of
    /// taking the CPU the API needs.
    pub max_rate: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            lease: 60,
            poll: Duration::from_secs(1),
            batch: 200,
            endpoints_per_pass: 1000,
            max_rate: 2200,
        }
    }
}
