//! The `kassa` binary: parse the command line, set up logs, run the command.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use kassa::cli::{AccountsCommand, Cli, Command};
use kassa::config::Settings;
use kassa::service::accounts::{self, DefaultAccount, OperatorKey};
use kassa::startup;
use kassa_core::account::KeyState;
use kassa_core::time::{Clock, SystemClock};

/// mimalloc instead of glibc's malloc: kassa allocates many small, short-lived objects on several
/// threads (decoded parameters, JSON values, pages), and glibc's `malloc`, `_int_free` and
/// `malloc_consolidate` took 30–40 % of the CPU in `perf` profiles of the dashboard's list
/// pages and of session creation (bench/README.md, session 10).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    kassa::telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(database) => migrate(&database.database_url).await,
        Command::Accounts(AccountsCommand::Create { name, database }) => {
            create_account(&name, &database.database_url).await
        }
        Command::Accounts(AccountsCommand::Keys(command)) => kassa::keys::run(command).await,
        Command::Listen(args) => kassa::listen::run(args, startup::shutdown_signal()).await,
        Command::Trigger(args) => kassa::trigger::run(args).await,
        Command::Dashboard(args) => dashboard_link(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kassa: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: kassa::cli::ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::from_args(args, std::env::var("KASSA_SECRET_KEY").ok())?
        .with_fingerprint_key(std::env::var("KASSA_FINGERPRINT_KEY").ok())?;
    let server = startup::start(settings, Arc::new(SystemClock)).await?;
    match &server.default_account {
        DefaultAccount::Created { account, key, generated: true } => {
            eprintln!(
                "kassa: created the default account {} ({}). Its secret key, shown only this once:\n{}",
                account.id,
                account.name,
                key.expose()
            );
        }
        DefaultAccount::Created { account, generated: false, .. } => {
            tracing::info!(account = %account.id, "created the default account with KASSA_SECRET_KEY");
        }
        DefaultAccount::Existing { operator_key: OperatorKey::Added { account, key } } => {
            tracing::info!(
                account = %account.id,
                key = %key.id,
                "KASSA_SECRET_KEY ({}) was not a key of this database: added it to the default account",
                key.shown()
            );
        }
        DefaultAccount::Existing { operator_key: OperatorKey::Unusable { key, state } } => {
            tracing::warn!(
                key = %key.id,
                "KASSA_SECRET_KEY ({}) is {} in this database and will not authenticate; \
                 `kassa accounts keys create` makes a new key",
                key.shown(),
                if *state == KeyState::Revoked { "revoked" } else { "expired" }
            );
        }
        DefaultAccount::Existing { operator_key: OperatorKey::NotSet | OperatorKey::Known } => {}
    }
    // Listening for SIGTERM before saying so, so that a signal sent on that line is handled.
    let stop = startup::shutdown_signal();
    tracing::info!(addr = %server.addr, public_url = %server.public_url, "kassa is serving");
    stop.await;
    tracing::info!("shutting down: finishing in-flight requests");
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let url = database_url.to_owned();
    // Opening and migrating block: off the runtime's threads.
    tokio::task::spawn_blocking(move || kassa_store::migrate(&url)).await?.map_err(|e| {
        anyhow::anyhow!("migrating the database at {}: {e}", kassa_store::redacted_url(database_url))
    })?;
    tracing::info!("the database schema is up to date");
    Ok(())
}

async fn create_account(name: &str, database_url: &str) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() {
        anyhow::bail!("--name must not be empty");
    }
    let store = kassa_store::open_store(database_url).map_err(|e| {
        anyhow::anyhow!("opening the database at {}: {e}", kassa_store::redacted_url(database_url))
    })?;
    let (account, key) = accounts::create(store.as_ref(), name, None, SystemClock.now())
        .await
        .map_err(|e| anyhow::anyhow!("creating the account: {e}"))?;
    eprintln!("kassa: created account {} ({}); its secret key:", account.id, account.name);
    println!("{}", key.expose());
    Ok(())
}

/// `kassa dashboard`: a one-time sign-in link for the account, good for 10 minutes.
async fn dashboard_link(args: kassa::cli::DashboardArgs) -> anyhow::Result<()> {
    let url = &args.database.database_url;
    let store = kassa_store::open_store(url)
        .map_err(|e| anyhow::anyhow!("opening the database at {}: {e}", kassa_store::redacted_url(url)))?;
    let account = accounts::account_or_default(store.as_ref(), args.account.as_deref()).await?;
    let token = kassa::http::dashboard::sign_in_link(store.as_ref(), &account.id, SystemClock.now())
        .await
        .map_err(|e| anyhow::anyhow!("making the sign-in link: {e}"))?;
    eprintln!(
        "kassa: a one-time sign-in link to the dashboard of {} ({}), good for 10 minutes:",
        account.id, account.name
    );
    println!("{}/dashboard/login/link?token={token}", args.public_url.trim_end_matches('/'));
    Ok(())
}
