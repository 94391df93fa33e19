//! Wiring: open the store (migrating it), make sure an account exists, bind the listener, and run
//! the HTTP server ([`crate::server`]) and the workers until told to stop. Shutdown stops
//! accepting connections, lets in-flight requests finish (for at most the shutdown timeout),
//! stops the workers, then closes the store.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use kassa_core::time::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::service::accounts::{self, DefaultAccount};
use crate::state::{AppState, Ctx};

pub struct Server {
    pub addr: SocketAddr,
    pub public_url: String,
    pub ctx: AppState,
    /// What happened to the default account on start.
    pub default_account: DefaultAccount,
    stop: watch::Sender<bool>,
    http: JoinHandle<()>,
    worker: JoinHandle<()>,
    delivery: Option<std::thread::JoinHandle<()>>,
    billing: Option<JoinHandle<()>>,
    /// The `--metrics-listen` server, and the address it serves on.
    metrics: Option<JoinHandle<()>>,
    pub metrics_addr: Option<SocketAddr>,
}

pub async fn start(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Server> {
    // Exclusive: a second `kassa serve` on the same SQLite file is refused (issue 13 §11).
    let store = kassa_store::open_store_exclusive(&settings.database_url).with_context(|| {
        format!("opening the database at {}", kassa_store::redacted_url(&settings.database_url))
    })?;
    // Bind before creating the default account: a start that cannot listen (the port is taken)
    // must not create an account whose generated key is never shown.
    let listener = TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let metrics_listener = match &settings.metrics.listen {
        Some(addr) => {
            Some(TcpListener::bind(addr).await.with_context(|| format!("listening for metrics on {addr}"))?)
        }
        None => None,
    };
    if settings.metrics.enabled() {
        crate::metrics::install();
        crate::metrics::spawn_upkeep();
        store.observe(Arc::new(crate::metrics::StoreMetrics));
    }
    // Also before the default account: a start that fails on the key file must not either.
    let fingerprint_key = crate::fingerprint_key::load(&settings)?;
    let default_account = accounts::ensure_default(store.as_ref(), settings.secret_key.clone(), clock.now())
        .await
        .map_err(|e| anyhow::anyhow!("creating the default account: {e}"))?;
    let addr = listener.local_addr()?;
    let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let mut ctx = Ctx::new(store, clock, &public_url, settings.webhooks.clone());
    ctx.dunning = settings.dunning;
    ctx.fingerprint_key = fingerprint_key;
    ctx.code_attempts = crate::limits::CodeAttempts::new(settings.code_attempts, ctx.clock.clone());
    ctx.metrics_on_api = settings.metrics.on_api;
    ctx.request_log = crate::http::dashboard::log::RequestLog::new(
        i64::try_from(settings.request_log_retention.as_secs()).unwrap_or(i64::MAX),
    );
    ctx.tax_origin_country.clone_from(&settings.tax_origin_country);
    let ctx: AppState = Arc::new(ctx);
    let (stop, stopped) = watch::channel(false);

    let app = crate::http::router(ctx.clone());
    let http = tokio::spawn(crate::server::serve(listener, app, settings.http.clone(), stopped.clone()));
    let metrics_addr = metrics_listener.as_ref().map(TcpListener::local_addr).transpose()?;
    let metrics = metrics_listener.map(|listener| {
        let app = crate::http::metrics::own_router(ctx.clone());
        tokio::spawn(crate::server::serve(listener, app, settings.http.clone(), stopped.clone()))
    });
    if let Some(addr) = metrics_addr {
        tracing::info!(metrics_addr = %addr, "serving metrics at /metrics");
    }
    let delivery = match settings.deliver_webhooks {
        true => Some(crate::worker::deliver::spawn(ctx.clone(), stopped.clone())?),
        false => None,
    };
    let billing = settings
        .billing_interval
        .map(|every| tokio::spawn(crate::worker::run_billing(ctx.clone(), every, stopped.clone())));
    let worker = tokio::spawn(crate::worker::run(ctx.clone(), settings.sweep_interval, stopped));
    Ok(Server {
        addr,
        public_url,
        ctx,
        default_account,
        stop,
        http,
        worker,
        delivery,
        billing,
        metrics,
        metrics_addr,
    })
}

impl Server {
    /// Stop accepting, finish in-flight requests (within the shutdown timeout), stop the workers.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.http.await.context("the HTTP server task failed")?;
        if let Some(m) = self.metrics {
            m.await.context("the metrics server task failed")?;
        }
        self.worker.await.context("the worker task failed")?;
        if let Some(d) = self.delivery {
            tokio::task::spawn_blocking(move || d.join())
                .await
                .context("waiting for the webhook delivery thread")?
                .map_err(|_| anyhow::anyhow!("the webhook delivery thread panicked"))?;
        }
        if let Some(b) = self.billing {
            b.await.context("the billing task failed")?;
        }
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first polled: a
/// server calls it before it says it is serving, so a SIGTERM sent the moment it does (a
/// supervisor's quick restart, a test) stops it cleanly instead of killing it with the signal's
/// default action. Must be called within the runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let term = signal(SignalKind::terminate()).ok();
        async move {
            let recv = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = recv(interrupt) => {}
                () = recv(term) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
