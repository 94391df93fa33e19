#![recursion_limit = "256"]
//! # kassa — the application
//!
//! A self-hosted checkout server: a merchant's backend creates a checkout session through the
//! API, the customer pays on kassa's hosted page, and kassa tells the merchant what happened.
//!
//! Layout (dependencies point inward: `http` → `service` → `kassa_core`/`kassa_store`):
//! - [`http`]: the router, auth, request decoding (JSON and Stripe's form encoding), idempotency,
//!   error → response mapping, and the hosted pages. Handlers are thin: extract, call one service
//!   function, render.
//! - [`service`]: the use cases (`create_session`, `expire_session`, catalog CRUD, …), free of HTTP
//!   types, so the workers and the CLI call the same functions.
//! - [`views`]: how each object looks on the wire (Stripe's 2023-08-16 shape), and `expand[]`;
//!   [`schemas`]: the JSON Schema of each, for `GET /openapi.json` (see [`http::openapi`]).
//! - [`worker`]: background work inside `kassa serve` (the expiry sweep, idempotency-key purge,
//!   webhook delivery).
//! - [`client`]: outgoing HTTP (webhooks, `kassa listen`) and the pace of webhook attempts.
//! - [`listen`]: `kassa listen`, which forwards an account's events to a local URL.
//! - [`trigger`]: `kassa trigger`, which makes an event happen through the API and the hosted page.
//! - [`keys`]: `kassa accounts keys`, an account's secret keys.
//! - [`form`]: Stripe's bracketed form encoding, decoded into the same tree as JSON.
//! - [`server`]: the accept loop under the router: connection limit, timeouts, a bounded stop.
//! - [`limits`]: the per-node budgets of promotion code attempts on the hosted page.
//! - [`metrics`]: the Prometheus series (`GET /metrics`) and the one function that counts each.
//! - [`config`], [`cli`], [`telemetry`], [`startup`]: settings, commands, logs, wiring. `config`
//!   depends on nothing of the application but `cli`, so every layer can read settings.
//! - [`fingerprint_key`]: the installation's card fingerprint key, given or kept in a file.

pub mod cli;
pub mod client;
pub mod config;
pub mod fingerprint_key;
pub mod form;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod limits;
pub mod listen;
pub mod metrics;
pub mod schemas;
pub mod server;
pub mod service;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod trigger;
pub mod views;
pub mod worker;
