//! The `kassa` command line. Every setting is a flag and an environment variable; the flag wins.
//!
//! The doc comment of each argument is its `--help` text, and `docs/configuration.md` repeats it
//! word for word (`crates/kassa/tests/docs.rs` compares them): change both together.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "kassa", version, about = "A self-hosted, Stripe-compatible checkout server.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format: `pretty` for people, `json` for machines (one object per line). The level comes
    /// from `RUST_LOG` (default `info`).
    #[arg(long, env = "KASSA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API, the hosted pages and the background workers in one process.
    Serve(ServeArgs),
    /// Bring the database's schema up to date, then exit (for deployments that migrate before
    /// starting or rolling nodes; `serve` migrates on start too).
    Migrate(DatabaseArg),
    /// Manage accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Forward the account's new events to a local URL, signed, until Ctrl-C (like `stripe
    /// listen`). Needs nothing set up on the server.
    Listen(ListenArgs),
    /// Make an event happen for real through the API and the hosted page (like `stripe
    /// trigger`), then print the objects made and the event's id.
    Trigger(TriggerArgs),
    /// Print a one-time link that signs in to the dashboard, good for 10 minutes.
    Dashboard(DashboardArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DashboardArgs {
    #[command(flatten)]
    pub database: DatabaseArg,
    /// The account to sign in to (default: the default account).
    #[arg(long)]
    pub account: Option<String>,
    /// The server's public URL, which the link starts with.
    #[arg(long, env = "KASSA_PUBLIC_URL", default_value = "http://127.0.0.1:4242")]
    pub public_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Where to POST each event, e.g. `http://localhost:3000/webhooks`. While it refuses
    /// connections (the application still starting), an event is tried again for up to 10 s.
    #[arg(long, required_unless_present = "print_secret")]
    pub forward_to: Option<String>,
    /// Print the webhook signing secret (`whsec_…`) alone on standard output and exit, for
    /// scripts. It depends only on the key, so the server need not be running.
    #[arg(long)]
    pub print_secret: bool,
    /// Only these event types (comma-separated; `*` for all, the default).
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub events: Vec<String>,
    /// The kassa server to listen to.
    #[arg(long, env = "KASSA_API_URL", default_value = "http://127.0.0.1:4242")]
    pub api_url: String,
    /// The account's secret key.
    #[arg(long, env = "KASSA_SECRET_KEY", hide_env_values = true)]
    pub api_key: String,
    /// Milliseconds between two looks for new events.
    #[arg(long, default_value_t = 250)]
    pub poll_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct TriggerArgs {
    /// The event type to cause, e.g. `checkout.session.completed`.
    #[arg(required_unless_present = "list")]
    pub event: Option<String>,
    /// List the event types kassa emits, each with how it is triggered, and exit.
    #[arg(long, conflicts_with = "event")]
    pub list: bool,
    /// Print the result (or the list) as JSON.
    #[arg(long)]
    pub json: bool,
    /// The kassa server to cause the event on.
    #[arg(long, env = "KASSA_API_URL", default_value = "http://127.0.0.1:4242")]
    pub api_url: String,
    /// The account's secret key.
    #[arg(long, env = "KASSA_SECRET_KEY", hide_env_values = true, required_unless_present = "list")]
    pub api_key: Option<String>,
    /// Seconds to wait for what happens in the background (a test clock advancing, the event
    /// showing up in the log) before giving up.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArg {
    /// Where the data lives: `sqlite://relative.db` or `sqlite:///absolute.db` (created if
    /// missing), or `postgres://user:password@host/db` for several nodes on one database.
    #[arg(long, env = "KASSA_DATABASE_URL", default_value = "sqlite://kassa.db", hide_env_values = true)]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (`host:port`; port 0 picks a free one, logged as `kassa is serving`).
    #[arg(long, env = "KASSA_LISTEN", default_value = "127.0.0.1:4242")]
    pub listen: String,
    #[command(flatten)]
    pub database: DatabaseArg,
    /// The base of every URL kassa hands out (default: `http://` + the listen address).
    #[arg(long, env = "KASSA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds between runs of the expiry sweep.
    #[arg(long, env = "KASSA_SWEEP_INTERVAL", default_value_t = 5)]
    pub sweep_interval: u64,
    /// What a subscription becomes when the last retry of a failed renewal fails: `canceled`
    /// or `unpaid`.
    #[arg(long, env = "KASSA_DUNNING_FINAL_STATUS", default_value = "canceled")]
    pub dunning_final_status: String,
    /// The file that keeps the card fingerprint key when `KASSA_FINGERPRINT_KEY` is not set;
    /// created (0600) with a new key if missing. Default: beside a SQLite database
    /// (`kassa.db` → `kassa.fingerprint-key`), `kassa.fingerprint-key` in the working directory
    /// for PostgreSQL — where every node needs the same key.
    #[arg(long, env = "KASSA_FINGERPRINT_KEY_FILE")]
    pub fingerprint_key_file: Option<std::path::PathBuf>,
    /// Promotion codes one checkout session may try on the hosted page per minute (0: no limit);
    /// counted per node.
    #[arg(long, env = "KASSA_PROMO_CODE_ATTEMPTS_PER_SESSION", default_value_t = 5)]
    pub promo_code_attempts_per_session: u32,
    /// Promotion codes one client address (the TCP peer; behind a proxy, the proxy's) may try on
    /// the hosted page per minute, across sessions (0: no limit); counted per node.
    #[arg(long, env = "KASSA_PROMO_CODE_ATTEMPTS_PER_ADDRESS", default_value_t = 30)]
    pub promo_code_attempts_per_address: u32,
    /// The merchant's country (ISO 3166-1 alpha-2): an EU business customer with
    /// `tax_exempt=reverse` and a VAT id from another EU country pays no tax (reverse charge).
    #[arg(long, env = "KASSA_TAX_ORIGIN_COUNTRY", default_value = "US")]
    pub tax_origin_country: String,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// Hours the dashboard's request log keeps each API request (in memory, per node; at most
    /// 5,000 requests per account and 4 MiB on the node, the oldest of any account going first).
    /// 0 keeps none.
    #[arg(long, env = "KASSA_REQUEST_LOG_RETENTION", default_value_t = 168)]
    pub request_log_retention: u64,
}

/// Prometheus metrics (`GET /metrics`). Off unless one of these is given.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Serve `GET /metrics` on the main listener too, to the default account's secret key only
    /// (`Authorization: Bearer sk_…`, as for the API): a scraper that can send a bearer token.
    #[arg(long, env = "KASSA_METRICS", value_parser = clap::builder::BoolishValueParser::new())]
    pub metrics: bool,
    /// Serve `GET /metrics` on this address of its own (`host:port`), without a key: for a
    /// scraper on a private network or this machine. Keep it off the public internet.
    #[arg(long, env = "KASSA_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<String>,
}

/// How long a client may hold a connection, how many it may hold, and how long a stop waits:
/// without these, a client that sends a request slowly, or not at all, keeps a
/// connection (and its file descriptor) forever, and enough of them starve everyone else.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Seconds a client has to send a request's head (request line and headers), counted from
    /// the connection's start or from the first byte of a later request on it. A client that has
    /// not finished by then is disconnected.
    #[arg(long, env = "KASSA_HEADER_READ_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout: u64,
    /// Seconds a request's whole body may take to arrive, counted from the end of its head. A
    /// body still incomplete then is answered with 408 (and the request is not carried out).
    #[arg(long, env = "KASSA_BODY_READ_TIMEOUT", default_value_t = 30)]
    pub body_read_timeout: u64,
    /// Seconds a keep-alive connection may stay idle between two requests before kassa closes
    /// it.
    #[arg(long, env = "KASSA_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u64,
    /// The most connections served at once; further ones wait in the kernel's queue until one
    /// closes. Default: the open-file limit (`ulimit -n`) less a quarter kept for the database
    /// and webhooks (between 32 and 1024), at most 10000: 768 under a limit of 1024.
    #[arg(long, env = "KASSA_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// On SIGTERM or Ctrl-C, the seconds kassa waits for requests in flight to finish before it
    /// closes their connections and exits anyway (0: close them at once).
    #[arg(long, env = "KASSA_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
}

/// How webhooks are sent and retried. The defaults follow Stripe: a 10-second timeout,
/// and retries with exponential backoff for 3 days.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Seconds one delivery attempt may take, all of it: resolving the host, connecting, sending,
    /// and the status line and start of the answer. Then kassa hangs up and the attempt counts as
    /// failed.
    #[arg(long, env = "KASSA_WEBHOOK_TIMEOUT", default_value_t = 10)]
    pub webhook_timeout: u64,
    /// Seconds before the first retry of a failed delivery; each later wait doubles.
    #[arg(long, env = "KASSA_WEBHOOK_RETRY_FIRST", default_value_t = 60)]
    pub webhook_retry_first: u64,
    /// The longest wait between two retries, in seconds.
    #[arg(long, env = "KASSA_WEBHOOK_RETRY_MAX_INTERVAL", default_value_t = 21_600)]
    pub webhook_retry_max_interval: u64,
    /// Seconds, counted from a delivery's first attempt, during which it is retried; then it is
    /// marked failed (default: 3 days).
    #[arg(long, env = "KASSA_WEBHOOK_RETRY_FOR", default_value_t = 259_200)]
    pub webhook_retry_for: u64,
    /// Seconds a worker holds a delivery while attempting it; if the process dies, another worker
    /// (or the restarted one) sends it again after this long.
    #[arg(long, env = "KASSA_WEBHOOK_LEASE", default_value_t = 60)]
    pub webhook_lease: u64,
    /// The most retries and backlog attempts per second this node makes (0: no limit), so that a
    /// backlog drains without taking the CPU checkout needs. First attempts queued in the last 10
    /// seconds are not paced: webhooks keep up with checkouts.
    #[arg(long, env = "KASSA_WEBHOOK_MAX_RATE", default_value_t = 2200)]
    pub webhook_max_rate: u32,
    /// The most attempts in flight to one endpoint at a time, over all nodes. A slow receiver gets
    /// this many at once and no more; 1 sends a healthy endpoint its events one at a time, in
    /// creation order.
    #[arg(long, env = "KASSA_WEBHOOK_ENDPOINT_CONCURRENCY", default_value_t = 4)]
    pub webhook_endpoint_concurrency: u32,
    /// Whether webhooks may go to loopback, private, link-local and other non-public addresses
    /// (`true` or `false`). Default: `true` when kassa listens on loopback only (a laptop, CI),
    /// `false` otherwise, so that merchants cannot make kassa call the services beside it.
    #[arg(long, env = "KASSA_WEBHOOK_ALLOW_PRIVATE", value_name = "true|false")]
    pub webhook_allow_private: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account and print its secret key (the key alone on standard output).
    Create {
        /// The account's name, shown on its hosted pages.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Manage an account's secret keys: several per account, revoked or rolled one at a time.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new key and print it (the key alone on standard output). With `--roll`, the keys
    /// named keep working until `--expires-in` has passed, then fail as expired (Stripe's roll).
    Create {
        #[command(flatten)]
        target: KeysTarget,
        /// A key (`key_…`, from `list`) the new one replaces; may be given several times.
        #[arg(long, value_name = "KEY_ID")]
        roll: Vec<String>,
        /// How long the rolled keys keep working: `0` (the default: they expire now), `90s`,
        /// `30m`, `24h`, `7d`.
        #[arg(long, value_name = "DURATION", requires = "roll", default_value = "0")]
        expires_in: String,
    },
    /// List the account's keys: handle, last four characters, created, last used, state.
    List {
        #[command(flatten)]
        target: KeysTarget,
    },
    /// Revoke a key: requests with it are refused (401) on every node within 10 seconds.
    Revoke {
        /// The key's handle (`key_…`, from `list`).
        key_id: String,
        #[command(flatten)]
        target: KeysTarget,
    },
}

/// Which account's keys, in which database.
#[derive(Debug, Clone, Args)]
pub struct KeysTarget {
    /// The account (`acct_…`); default: the default account (the first one created).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArg,
}
