//! # kassa-core — the domain, with no IO
//!
//! Everything kassa knows about money and checkout lives here, free of HTTP and SQL, so that the
//! rules can be read and tested on their own and every adapter (the HTTP API, the hosted page,
//! the workers, the CLI) applies the same ones.
//!
//! - [`money`]: currencies with Stripe's minor-unit exponents, checked integer arithmetic,
//!   percentages in basis points, rounding half up.
//! - [`discount`]: how a coupon turns into a discount and how that discount is split over lines.
//! - [`catalog`]: products, prices, customers, coupons and promotion codes with their rules.
//! - [`tax`]: tax rates and their rules; [`country`]: ISO 3166-1 country codes.
//! - [`billing`]: what a completed checkout creates — payment intents, payment methods,
//!   subscriptions, invoices — in their storage form.
//! - [`renewal`]: subscriptions over time — periods, renewals, dunning, coupon durations.
//! - [`shipping`]: shipping rates, which a checkout session offers and adds to its total.
//! - [`session`]: the checkout session — every creation rule, totals, state machine.
//! - [`params`]: the typed requests, decoded from JSON or Stripe's form encoding alike.
//! - [`store`]: the [`store::Store`] port that the storage backends implement: a generic record
//!   store (records typed by [`store::Record`]) with transactions whose closures hold the use
//!   cases, and a typed way for a closure to refuse ([`store::Abort`]).
//! - [`account`]: accounts and secret keys (hashed, masked in `Debug`).
//! - [`webhook`]: events, webhook endpoints and the outbox of deliveries: signatures, leases and
//!   endpoint slots, the retry schedule, and which addresses a webhook may go to
//!   ([`webhook::address`]).
//!
//! Data flows one way: the app parses a request into [`params`], a service loads what the rules
//! need through [`store::Store`], the rules here decide, and one store call persists the result.

pub mod account;
pub mod billing;
pub mod catalog;
pub mod charge;
pub mod completion;
pub mod country;
pub mod dashboard;
pub mod discount;
pub mod error;
pub mod ids;
pub mod json;
pub mod metadata;
pub mod money;
pub mod params;
pub mod payment;
pub mod portal;
pub mod proration;
pub mod renewal;
pub mod session;
pub mod shipping;
pub mod store;
pub mod tax;
pub mod time;
pub mod webhook;

pub use error::{Error, ErrorCode, Invalid};
