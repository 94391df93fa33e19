//! Outgoing HTTP: the one place that makes `reqwest` clients (webhook delivery, `kassa listen`).
//!
//! reqwest is built with rustls and no crypto provider of its own (the default one, aws-lc-rs,
//! is the slowest crate in the build); [`builder`] installs *ring* as the process's provider
//! before every client, so no client can be made without one.

/// A client builder with the TLS provider in place.
pub fn builder() -> reqwest::ClientBuilder {
    // Fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
