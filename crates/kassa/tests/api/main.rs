//! Black-box tests of the HTTP API through a spawned server (one binary, many modules, so it
//! compiles once).

#[path = "../common/mod.rs"]
mod common;
mod counting;
mod helpers;
mod openapi;
mod openapi_check;
mod smoke;

// Checkout sessions (SPEC §5).
mod sessions_create;
mod sessions_read;
mod sessions_support;
mod sessions_totals;

// Issue 15: shipping rates and what the hosted page collects.
mod collect;

// Auth, catalog, idempotency, bad input and encodings (SPEC §2–§4, §10).
mod auth;
mod bad_input;
mod catalog;
mod encodings;
mod idempotency;
mod stripe_wire;
mod tax_rates;
mod taxes;

mod dashboard;
mod page_guards;
mod pages;

// What a completed checkout creates, read back (SPEC §3, §4).
mod money;
mod parity;
mod pay;
mod payments_read;

// Subscriptions over time (SPEC §9).
mod billing;
mod invoice_actions;
mod prorations;
mod refunds;
mod subscriptions_api;

// The customer portal (issue 17).
mod portal;

// Events and webhooks (SPEC §11).
mod webhooks;
