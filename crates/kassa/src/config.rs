//! Settings for `kassa serve`, checked before anything starts.

use std::time::Duration;

use anyhow::{Context, bail};
use kassa_core::account::SecretKey;

use kassa_core::billing::SubscriptionStatus;
use kassa_core::payment::FingerprintKey;
use kassa_core::renewal::Dunning;
use kassa_core::webhook::RetryPolicy;

use crate::cli::{HttpArgs, ServeArgs};

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
    pub http: HttpSettings,
    /// Where the card fingerprint key comes from.
    pub fingerprint: FingerprintSettings,
    /// How many promotion codes the hosted page lets a session and an address try.
    pub code_attempts: CodeAttemptLimits,
    /// Where `GET /metrics` is served, if anywhere.
    pub metrics: MetricsSettings,
    /// How long the dashboard's request log keeps a request (`--request-log-retention`).
    pub request_log_retention: Duration,
    /// The merchant's country for the reverse charge (`--tax-origin-country`).
    pub tax_origin_country: String,
}

/// Where `GET /metrics` is served (`crate::metrics`). Both off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    /// On the main listener, to the default account's secret key (`--metrics`).
    pub on_api: bool,
    /// On an address of its own, without a key (`--metrics-listen`).
    pub listen: Option<String>,
}

impl MetricsSettings {
    /// Whether metrics are served anywhere (and so recorded at all).
    pub fn enabled(&self) -> bool {
        self.on_api || self.listen.is_some()
    }
}

/// The card fingerprint key (`kassa_core::payment::FingerprintKey`): given, or kept in a file.
#[derive(Debug, Clone, Default)]
pub struct FingerprintSettings {
    /// `KASSA_FINGERPRINT_KEY`; when set, no file is read or written. Masked in `Debug`.
    pub key: Option<FingerprintKey>,
    /// `--fingerprint-key-file`; `None`: the default place (`crate::fingerprint_key`).
    pub key_file: Option<std::path::PathBuf>,
}

impl Settings {
    /// With the card fingerprint key from `KASSA_FINGERPRINT_KEY` (unset or empty: none).
    pub fn with_fingerprint_key(mut self, key: Option<String>) -> anyhow::Result<Self> {
        self.fingerprint.key = match key.filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => {
                Some(FingerprintKey::parse(&k).map_err(anyhow::Error::msg).context("KASSA_FINGERPRINT_KEY")?)
            }
        };
        Ok(self)
    }

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
        let http = HttpSettings::from_args(&args.http)?;
        if let Some(addr) = &args.metrics.metrics_listen
            && (addr.is_empty() || (addr == &args.listen && !addr.ends_with(":0")))
        {
            bail!("--metrics-listen must be an address of its own (`host:port`), not --listen's");
        }
        let tax_origin_country = kassa_core::country::parse(&args.tax_origin_country)
            .with_context(|| {
                format!(
                    "--tax-origin-country must be a two-letter ISO 3166-1 country code such as `US` or `DE`, got {:?}",
                    args.tax_origin_country
                )
            })?
            .to_owned();
        Ok(Self {
            tax_origin_country,
            listen: args.listen,
            database_url: args.database.database_url,
            public_url: args.public_url,
            secret_key,
            sweep_interval: Duration::from_secs(args.sweep_interval),
            webhooks,
            deliver_webhooks: true,
            billing_interval: Some(Duration::from_secs(1)),
            dunning: Dunning { final_status, ..Dunning::default() },
            http,
            fingerprint: FingerprintSettings { key: None, key_file: args.fingerprint_key_file },
            code_attempts: CodeAttemptLimits {
                per_session: args.promo_code_attempts_per_session,
                per_address: args.promo_code_attempts_per_address,
            },
            metrics: MetricsSettings { on_api: args.metrics.metrics, listen: args.metrics.metrics_listen },
            request_log_retention: Duration::from_secs(args.request_log_retention.saturating_mul(3600)),
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
    /// The most retries and backlog attempts per second this node makes (0: no limit). A backlog
    /// (an endpoint back after an outage, thousands of events queued for it) then drains at this
    /// pace instead of taking the CPU the API needs; first attempts of deliveries queued in the
    /// last [`crate::service::delivery::FRESH_FOR`] seconds go out at once.
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

/// How long a client may hold a connection and how many it may hold (the `--*-timeout` and
/// `--max-connections` flags), and how long a stop waits for requests in flight.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// From a connection's start, or from the first byte of a later request on it, to the end of
    /// the request's head.
    pub header_read_timeout: Duration,
    /// From the end of a request's head to the end of its body; then 408.
    pub body_read_timeout: Duration,
    /// Between the end of a response and the first byte of the next request on the connection.
    pub idle_timeout: Duration,
    /// Connections served at once; the next ones wait in the kernel's accept queue.
    pub max_connections: usize,
    /// How long a stop waits for requests in flight before it closes their connections.
    pub shutdown_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: default_max_connections(open_file_limit()),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// The most `--max-connections` may be: far more than one process serves well, and within what
/// the connection counting (a semaphore of `u32` permits) takes.
const MAX_CONNECTIONS_CEILING: usize = 1_000_000;

impl HttpSettings {
    fn from_args(args: &HttpArgs) -> anyhow::Result<Self> {
        if args.header_read_timeout == 0 || args.body_read_timeout == 0 || args.idle_timeout == 0 {
            bail!("--header-read-timeout, --body-read-timeout and --idle-timeout must be at least 1 second");
        }
        let fd_limit = open_file_limit();
        let max_connections = match args.max_connections {
            None => default_max_connections(fd_limit),
            Some(0) => bail!("--max-connections must be at least 1"),
            Some(n) if n > MAX_CONNECTIONS_CEILING => {
                bail!("--max-connections must be at most {MAX_CONNECTIONS_CEILING}, got {n}")
            }
            Some(n) => {
                let fits = default_max_connections(fd_limit);
                if n > fits {
                    tracing::warn!(
                        max_connections = n,
                        open_file_limit = fd_limit.map_or_else(|| "unknown".to_owned(), |l| l.to_string()),
                        "--max-connections is more than the open-file limit leaves room for ({fits}); \
                         raise `ulimit -n`, or kassa may run out of file descriptors under load"
                    );
                }
                n
            }
        };
        Ok(Self {
            header_read_timeout: Duration::from_secs(args.header_read_timeout),
            body_read_timeout: Duration::from_secs(args.body_read_timeout),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            max_connections,
            shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
        })
    }
}

/// The default `--max-connections`: the open-file limit less a reserve for everything else the
/// process opens (the database's files or connections, webhook deliveries, the listener, logs),
/// at most 10000. A quarter of the limit, between 32 and 1024, is kept back: 768 connections
/// under the common limit of 1024, 192 under macOS's 256. An unknown limit counts as 256.
pub fn default_max_connections(open_file_limit: Option<u64>) -> usize {
    let limit = open_file_limit.unwrap_or(256);
    let reserve = (limit / 4).clamp(32, 1024);
    let room = usize::try_from(limit.saturating_sub(reserve)).unwrap_or(usize::MAX);
    room.clamp(1, 10_000)
}

/// This process's soft limit on open files (`RLIMIT_NOFILE`, `ulimit -n`), read from
/// `/proc/self/limits`; `None` where that is not there (not Linux) or says nothing readable.
/// `u64::MAX` for `unlimited`.
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_file_limit(&limits)
}

/// The soft limit in the `Max open files` row of a `/proc/<pid>/limits` table.
fn parse_open_file_limit(limits: &str) -> Option<u64> {
    let row = limits.lines().find_map(|l| l.strip_prefix("Max open files"))?;
    match row.split_whitespace().next()? {
        "unlimited" => Some(u64::MAX),
        soft => soft.parse().ok(),
    }
}

/// The hosted page's promotion code budgets, in attempts a minute (`0`: no limit), per node
/// (`crate::limits` says how they are counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeAttemptLimits {
    /// Per checkout session (`--promo-code-attempts-per-session`).
    pub per_session: u32,
    /// Per client address (`--promo-code-attempts-per-address`).
    pub per_address: u32,
}

impl Default for CodeAttemptLimits {
    /// 5 a minute per session is more than a customer retyping a code needs; 30 a minute per
    /// address leaves room for a few customers behind one network address.
    fn default() -> Self {
        Self { per_session: 5, per_address: 30 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_open_file_limit_is_read_from_the_limits_table() {
        let table = "Limit                     Soft Limit           Hard Limit           Units     \n\
                     Max processes             63704                63704                processes \n\
                     Max open files            1024                 524288               files     \n\
                     Max locked memory         8388608              8388608              bytes     \n";
        assert_eq!(parse_open_file_limit(table), Some(1024));
        let unlimited = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_file_limit(unlimited), Some(u64::MAX));
        assert_eq!(parse_open_file_limit("Max processes 1 1 processes\n"), None);
        assert!(open_file_limit().is_some_and(|l| l > 0), "this process has a limit");
    }

    #[test]
    fn the_default_connection_limit_stays_below_the_open_file_limit() {
        assert_eq!(default_max_connections(Some(1024)), 768);
        assert_eq!(default_max_connections(Some(256)), 192);
        assert_eq!(default_max_connections(None), 192);
        assert_eq!(default_max_connections(Some(64)), 32);
        assert_eq!(default_max_connections(Some(20)), 1);
        assert_eq!(default_max_connections(Some(20_000)), 10_000);
        assert_eq!(default_max_connections(Some(u64::MAX)), 10_000);
        for limit in [40, 100, 1000, 4096, 12_000] {
            let n = default_max_connections(Some(limit));
            assert!(u64::try_from(n).unwrap() + 32 <= limit, "{limit}: {n}");
        }
    }

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

    fn settings(args: &[&str]) -> anyhow::Result<Settings> {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([&["kassa", "serve"], args].concat())?;
        let crate::cli::Command::Serve(serve) = cli.command else { anyhow::bail!("not serve") };
        Settings::from_args(serve, None)
    }

    #[test]
    fn the_tax_origin_country_is_an_iso_code_default_us() {
        assert_eq!(settings(&[]).unwrap().tax_origin_country, "US");
        assert_eq!(settings(&["--tax-origin-country", "de"]).unwrap().tax_origin_country, "DE");
        for bad in ["XX", "Germany", ""] {
            let e = settings(&["--tax-origin-country", bad]).unwrap_err().to_string();
            assert!(e.contains("--tax-origin-country"), "{bad}: {e}");
        }
    }

    fn webhooks(args: &[&str]) -> anyhow::Result<WebhookSettings> {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([&["kassa", "serve"], args].concat())?;
        let crate::cli::Command::Serve(serve) = cli.command else { anyhow::bail!("not serve") };
        Ok(Settings::from_args(serve, None)?.webhooks)
    }

    fn metrics(args: &[&str]) -> anyhow::Result<MetricsSettings> {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([&["kassa", "serve"], args].concat())?;
        let crate::cli::Command::Serve(serve) = cli.command else { anyhow::bail!("not serve") };
        Ok(Settings::from_args(serve, None)?.metrics)
    }

    #[test]
    fn metrics_are_off_unless_asked_for() -> anyhow::Result<()> {
        assert_eq!(metrics(&[])?, MetricsSettings::default());
        assert!(!metrics(&[])?.enabled());
        assert_eq!(metrics(&["--metrics"])?, MetricsSettings { on_api: true, listen: None });
        let own = metrics(&["--metrics-listen", "127.0.0.1:9464"])?;
        assert_eq!(own, MetricsSettings { on_api: false, listen: Some("127.0.0.1:9464".to_owned()) });
        assert!(own.enabled());
        let same = metrics(&["--listen", "127.0.0.1:4242", "--metrics-listen", "127.0.0.1:4242"]);
        assert!(same.is_err_and(|e| e.to_string().contains("--metrics-listen")));
        // Port 0 picks a free port for each.
        assert!(metrics(&["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]).is_ok());
        assert!(metrics(&["--metrics=maybe"]).is_err());
        Ok(())
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
