//! `kassa listen --forward-to URL` (SPEC §11): a developer's webhook endpoint without any set-up.
//!
//! It reads the account's event log through the API (`GET /events`, as any client would) and
//! POSTs each new event to the URL, signed like a webhook delivery. Nothing is created on the
//! server, so it works against any kassa the key can reach, and stops leaving nothing behind.
//!
//! - **The secret** is derived from the API key (an HMAC of a fixed label keyed with it), so it is
//!   the same every time for the same account: an application configured with it once keeps
//!   verifying across restarts of `kassa listen`. It is printed on the first line of standard
//!   output (`Ready! … whsec_… (^C to quit)`), then one line per event forwarded and per answer.
//! - **Which events**: those created after it started, oldest first, found by polling with
//!   `ending_before` set to the newest event seen. Filtering by type (`--events`) happens here.
//! - **Delivery** is one attempt per event, with no retries (as `stripe listen`): a failure is
//!   printed and the next event goes on. The webhook endpoints of the server are what retries.
//!
//! Limits, said plainly: on PostgreSQL, an event whose transaction commits after a later event's
//! may be passed over, because the poll follows the order of the log; use a webhook endpoint where
//! every event must arrive.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use hmac::{KeyInit, Mac};
use kassa_core::webhook::{WebhookSecret, signature_header};
use serde_json::Value;

use crate::cli::ListenArgs;

/// The signing secret `kassa listen` uses for the account of `api_key`.
pub fn secret_for(api_key: &str) -> WebhookSecret {
    let Ok(mut mac) = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(api_key.as_bytes()) else {
        unreachable!("HMAC accepts keys of every length")
    };
    mac.update(b"kassa listen signing secret v1");
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    WebhookSecret::from_text(format!("{}{hex}", kassa_core::ids::prefix::WEBHOOK_SECRET))
}

struct Listener {
    http: reqwest::Client,
    api_url: String,
    api_key: String,
    forward_to: String,
    events: Vec<String>,
    secret: WebhookSecret,
    /// The newest event seen.
    cursor: Option<String>,
}

/// Run until `stop` resolves.
pub async fn run(args: ListenArgs, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    kassa_core::session::check_url("forward_to", &args.forward_to)
        .map_err(|e| anyhow::anyhow!("--forward-to: {}", e.message))?;
    let http = crate::client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .context("making the HTTP client")?;
    let mut listener = Listener {
        http,
        api_url: args.api_url.trim_end_matches('/').to_owned(),
        secret: secret_for(&args.api_key),
        api_key: args.api_key,
        forward_to: args.forward_to,
        events: args.events,
        cursor: None,
    };
    // Start after the newest event there is now.
    let newest = listener.page(&[("limit", "1".to_owned())]).await?;
    listener.cursor = newest.0.first().and_then(|e| e["id"].as_str()).map(str::to_owned);
    println!(
        "Ready! Forwarding events to {} — your webhook signing secret is {} (^C to quit)",
        listener.forward_to,
        listener.secret.expose()
    );
    let poll = Duration::from_millis(args.poll_ms.max(10));
    tokio::pin!(stop);
    loop {
        match listener.forward_new().await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => eprintln!("kassa listen: {e:#}"),
        }
        tokio::select! {
            () = &mut stop => return Ok(()),
            () = tokio::time::sleep(poll) => {}
        }
    }
}

impl Listener {
    /// One page of `GET /events` (newest first), with `has_more`.
    async fn page(&self, query: &[(&str, String)]) -> anyhow::Result<(Vec<Value>, bool)> {
        let resp = self
            .http
            .get(format!("{}/v1/events", self.api_url))
            .bearer_auth(&self.api_key)
            .query(query)
            .send()
            .await
            .with_context(|| format!("reaching kassa at {}", self.api_url))?;
        let status = resp.status();
        let body: Value = resp.json().await.context("reading the event list")?;
        if !status.is_success() {
            let message = body["error"]["message"].as_str().unwrap_or("unexpected answer");
            bail!("kassa answered {status}: {message}");
        }
        let data = body["data"].as_array().cloned().unwrap_or_default();
        Ok((data, body["has_more"].as_bool().unwrap_or(false)))
    }

    /// Forward the events newer than the cursor, oldest first; `true` if there may be more.
    async fn forward_new(&mut self) -> anyhow::Result<bool> {
        let mut query = vec![("limit", "100".to_owned())];
        if let Some(c) = &self.cursor {
            query.push(("ending_before", c.clone()));
        }
        let (mut events, mut more) = self.page(&query).await?;
        if self.cursor.is_none() {
            // No event existed when listening began: every one is new. Gather them all.
            while more {
                let Some(last) = events.last().and_then(|e| e["id"].as_str()).map(str::to_owned) else {
                    break;
                };
                let (older, m) = self.page(&[("limit", "100".to_owned()), ("starting_after", last)]).await?;
                events.extend(older);
                more = m;
            }
        }
        events.reverse();
        for event in &events {
            self.cursor = event["id"].as_str().map(str::to_owned);
            let kind = event["type"].as_str().unwrap_or_default();
            if self.events.iter().any(|e| e == "*" || e == kind) {
                self.forward(event).await;
            }
        }
        Ok(more)
    }

    async fn forward(&self, event: &Value) {
        let id = event["id"].as_str().unwrap_or_default();
        let kind = event["type"].as_str().unwrap_or_default();
        println!("{}  --> {kind} [{id}]", stamp());
        let body = event.to_string();
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let sent = self
            .http
            .post(&self.forward_to)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("Stripe-Signature", signature_header(&self.secret, t, body.as_bytes()))
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) => {
                println!("{}  <-- [{}] POST {} [{id}]", stamp(), resp.status().as_u16(), self.forward_to)
            }
            Err(e) => println!("{}  <-- [ERR] POST {} [{id}]: {e}", stamp(), self.forward_to),
        }
    }
}

/// `HH:MM:SS` in UTC, for the log lines.
fn stamp() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_stable_per_key_and_differs_between_keys() {
        let a = secret_for("sk_test_a");
        assert_eq!(a, secret_for("sk_test_a"));
        assert_ne!(a, secret_for("sk_test_b"));
        assert!(a.expose().starts_with("whsec_"));
        assert!(!a.expose().contains("sk_test_a"));
    }
}
