//! `kassa listen --forward-to URL`: a developer's webhook endpoint without any set-up.
//!
//! It reads the account's event log through the API (`GET /events`, as any client would) and
//! POSTs each new event to the URL, signed like a webhook delivery. Nothing is created on the
//! server, so it works against any kassa the key can reach, and stops leaving nothing behind.
//!
//! - **The secret** is derived from the API key (an HMAC of a fixed label keyed with it), so it is
//!   the same every time for the same account: an application configured with it once keeps
//!   verifying across restarts of `kassa listen`. It is printed on the first line of standard
//!   output (`Ready! … whsec_… (^C to quit)`), then one line per event forwarded and per answer.
//! - **Which events**: those created after it started, in the order of the log, each once.
//!   Filtering by type (`--events`) happens here.
//! - **How it finds them**: each poll reads the log forward (`ending_before`) from a cursor that
//!   stays [`LOOK_BACK`] behind: it moves only past events first seen at least that long ago.
//!   Events already forwarded are skipped. On PostgreSQL an event's place in the log is taken
//!   when it is written, not when its transaction commits, so an event can show up after a later
//!   one; reading the recent log again finds it, where a cursor at the newest event would have
//!   passed it over.
//! - **Delivery** is one attempt per event (as `stripe listen`): a failure is printed and the
//!   next event goes on; the webhook endpoints of the server are what retries. One exception: a
//!   forward URL that refuses connections (the application still starting, or restarting) is
//!   tried again every [`REFUSED_RETRY_EVERY`] for up to [`REFUSED_RETRY_FOR`]. Once it has
//!   refused for that long, the next events fail at once (and are printed as failed) until it
//!   answers again, or until it has not been tried for that long.
//! - **`--print-secret`** prints the secret alone and exits, for scripts (it depends only on the
//!   key, so nothing is asked of the server).
//!
//! Limits, said plainly: an event that commits more than [`LOOK_BACK`] after a later one is passed
//! over; use a webhook endpoint where every event must arrive.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// How far behind the newest events each poll starts reading the log again.
pub const LOOK_BACK: Duration = Duration::from_secs(5);

/// How long a forward URL that refuses connections is tried again before events to it fail.
pub const REFUSED_RETRY_FOR: Duration = Duration::from_secs(10);
/// Between two tries of a forward URL that refused the connection.
pub const REFUSED_RETRY_EVERY: Duration = Duration::from_millis(200);

/// The part of the log each poll reads again: the cursor it starts after, and when each event
/// after the cursor was first seen.
#[derive(Debug, Default)]
struct Window {
    /// The newest event that every later poll starts after (`None`: the start of the log).
    cursor: Option<String>,
    first_seen: HashMap<String, Instant>,
}

impl Window {
    /// Take in the events after the cursor, in the order of the log (oldest first), read at
    /// `now`: the positions of those never seen before, then the cursor moved past the oldest
    /// ones seen at least [`LOOK_BACK`] ago.
    fn observe(&mut self, log: &[&str], now: Instant) -> Vec<usize> {
        let mut new = Vec::new();
        for (i, id) in log.iter().enumerate() {
            if !self.first_seen.contains_key(*id) {
                self.first_seen.insert((*id).to_owned(), now);
                new.push(i);
            }
        }
        // Only ever forward along the log, and only past events old enough that nothing written
        // before them can still be on its way.
        let settled = log
            .iter()
            .take_while(|id| self.first_seen.get(**id).is_some_and(|at| now.duration_since(*at) >= LOOK_BACK))
            .count();
        if settled > 0 {
            self.cursor = Some(log[settled - 1].to_owned());
            self.first_seen.retain(|id, _| log[settled..].contains(&id.as_str()));
        }
        new
    }
}

struct Listener {
    http: reqwest::Client,
    api_url: String,
    api_key: String,
    forward_to: String,
    events: Vec<String>,
    secret: WebhookSecret,
    window: Window,
    /// While the forward URL refuses connections: since when, and when it last did.
    refused: Option<(Instant, Instant)>,
}

/// Run until `stop` resolves.
pub async fn run(args: ListenArgs, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    if args.print_secret {
        println!("{}", secret_for(&args.api_key).expose());
        return Ok(());
    }
    let forward_to = args.forward_to.context("--forward-to is required")?;
    kassa_core::session::check_url("forward_to", &forward_to)
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
        forward_to,
        events: args.events,
        window: Window::default(),
        refused: None,
    };
    // Start after the newest event there is now.
    let newest = listener.page(&[("limit", "1".to_owned())]).await?;
    listener.window.cursor = newest.0.first().and_then(|e| e["id"].as_str()).map(str::to_owned);
    println!(
        "Ready! Forwarding events to {} — your webhook signing secret is {} (^C to quit)",
        listener.forward_to,
        listener.secret.expose()
    );
    let poll = Duration::from_millis(args.poll_ms.max(10));
    tokio::pin!(stop);
    loop {
        // Stopping does not wait for a forward URL that refuses connections.
        tokio::select! {
            () = &mut stop => return Ok(()),
            forwarded = listener.forward_new() => {
                if let Err(e) = forwarded {
                    eprintln!("kassa listen: {e:#}");
                }
            }
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

    /// Every event after the window's cursor, oldest first.
    async fn read_window(&self) -> anyhow::Result<Vec<Value>> {
        let limit = ("limit", "100".to_owned());
        let mut events = Vec::new();
        match &self.window.cursor {
            // Pages forward from the cursor, each newest first.
            Some(cursor) => {
                let mut from = cursor.clone();
                loop {
                    let (mut page, more) = self.page(&[limit.clone(), ("ending_before", from)]).await?;
                    page.reverse();
                    let newest = page.last().and_then(|e| e["id"].as_str()).map(str::to_owned);
                    events.extend(page);
                    match newest {
                        Some(id) if more => from = id,
                        _ => break,
                    }
                }
            }
            // No event existed when listening began: the whole log, newest first, paged back.
            None => {
                let mut query = vec![limit.clone()];
                loop {
                    let (page, more) = self.page(&query).await?;
                    let oldest = page.last().and_then(|e| e["id"].as_str()).map(str::to_owned);
                    events.extend(page);
                    match oldest {
                        Some(id) if more => query = vec![limit.clone(), ("starting_after", id)],
                        _ => break,
                    }
                }
                events.reverse();
            }
        }
        Ok(events)
    }

    /// Forward the events not seen before, in the order of the log.
    async fn forward_new(&mut self) -> anyhow::Result<()> {
        let events = self.read_window().await?;
        let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap_or_default()).collect();
        for i in self.window.observe(&ids, Instant::now()) {
            let kind = events[i]["type"].as_str().unwrap_or_default();
            if self.events.iter().any(|e| e == "*" || e == kind) {
                self.forward(&events[i]).await;
            }
        }
        Ok(())
    }

    async fn forward(&mut self, event: &Value) {
        let id = event["id"].as_str().unwrap_or_default();
        let kind = event["type"].as_str().unwrap_or_default();
        println!("{}  --> {kind} [{id}]", stamp());
        let body = event.to_string();
        let sent = loop {
            let sent = self.send(&body).await;
            match &sent {
                Err(e) if e.is_connect() && self.try_again(Instant::now()) => {
                    tokio::time::sleep(REFUSED_RETRY_EVERY).await;
                }
                Err(e) if e.is_connect() => break sent,
                _ => {
                    self.refused = None;
                    break sent;
                }
            }
        };
        match sent {
            Ok(resp) => {
                println!("{}  <-- [{}] POST {} [{id}]", stamp(), resp.status().as_u16(), self.forward_to)
            }
            Err(e) => println!("{}  <-- [ERR] POST {} [{id}]: {e}", stamp(), self.forward_to),
        }
    }

    /// One attempt, signed now.
    async fn send(&self, body: &str) -> reqwest::Result<reqwest::Response> {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        self.http
            .post(&self.forward_to)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("Stripe-Signature", signature_header(&self.secret, t, body.as_bytes()))
            .body(body.to_owned())
            .send()
            .await
    }

    /// The forward URL refused a connection at `now`: whether to try it again.
    fn try_again(&mut self, now: Instant) -> bool {
        let since = match self.refused {
            // Still the same spell of refusals.
            Some((since, last)) if now.duration_since(last) < REFUSED_RETRY_FOR => since,
            _ => {
                eprintln!(
                    "kassa listen: {} refused the connection; trying again for up to {} s",
                    self.forward_to,
                    REFUSED_RETRY_FOR.as_secs()
                );
                now
            }
        };
        self.refused = Some((since, now));
        now.duration_since(since) < REFUSED_RETRY_FOR
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

    /// The cursor stays [`LOOK_BACK`] behind, so an event that shows up late in the log (written
    /// before one already seen, committed after it) is still found, and nothing goes out twice.
    #[test]
    fn the_window_finds_late_events_and_forwards_each_once() {
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        let mut w = Window { cursor: Some("evt_0".to_owned()), first_seen: HashMap::new() };

        // evt_2 is in the log; evt_1, written before it, has not committed yet.
        assert_eq!(w.observe(&["evt_2"], at(0)), [0]);
        assert_eq!(w.cursor.as_deref(), Some("evt_0"));
        // A second later evt_1 appears before it: new, and forwarded; evt_2 is not again.
        assert_eq!(w.observe(&["evt_1", "evt_2", "evt_3"], at(1)), [0, 2]);
        assert_eq!(w.observe(&["evt_1", "evt_2", "evt_3"], at(2)), Vec::<usize>::new());
        // evt_1 was seen after evt_2: the cursor waits for the oldest in the log's order.
        assert_eq!(w.observe(&["evt_1", "evt_2", "evt_3"], at(5)), Vec::<usize>::new());
        assert_eq!(w.cursor.as_deref(), Some("evt_0"));
        assert_eq!(w.observe(&["evt_1", "evt_2", "evt_3", "evt_4"], at(6)), [3]);
        assert_eq!(w.cursor.as_deref(), Some("evt_3"));
        // What is behind the cursor is forgotten; what is after it is still known.
        assert_eq!(w.first_seen.keys().collect::<Vec<_>>(), ["evt_4"]);
        assert_eq!(w.observe(&["evt_4"], at(7)), Vec::<usize>::new());
        assert_eq!(w.observe(&["evt_4"], at(11)), Vec::<usize>::new());
        assert_eq!(w.cursor.as_deref(), Some("evt_4"));
        assert!(w.first_seen.is_empty());
        assert_eq!(w.observe(&[], at(12)), Vec::<usize>::new());
        assert_eq!(w.cursor.as_deref(), Some("evt_4"));
    }
}
