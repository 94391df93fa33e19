//! Many nodes on one PostgreSQL database: two or three real `kassa serve` processes on
//! a fresh database, spoken to over HTTP, with work spread over them at once. A session created on
//! one node is paid on another; concurrent submits, promotion-code limits and idempotency keys
//! hold across nodes; webhook deliveries are sent once per attempt whichever node sends them; a
//! node killed with SIGKILL loses nothing it acknowledged, and another node takes over its
//! webhook lease. And `GET /health` follows the database going away and coming back. And a chaos
//! run on a PostgreSQL cluster of the test's own: a node killed and the database restarted under a
//! load of creates and payments lose nothing acknowledged and pay nothing twice.
//!
//! The server is `KASSA_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! every test creates its own database and drops it. A server that cannot be reached fails the
//! tests. With `KASSA_TEST_POSTGRES=0` they are compiled as ignored and reported as skipped, except
//! under CI, where they run and fail (see `kassa_store::postgres::TempPostgres`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kassa_store::postgres::TempPostgres;
use serde_json::Value;

mod common;
use common::postgres::PrivatePostgres;
use common::{Answer, Kassa, Receiver, SessionLoad, TIMEOUT, all_at_once, id, poll, poll_async, unreadable};

const KEY: &str = "sk_test_ScaleOutKey000000000000000000000";

// ---------------------------------------------------------------------------------------------
// Nodes

/// One `kassa serve` process (killed if the test ends without stopping it) and its address.
struct Node {
    kassa: Kassa,
    addr: String,
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn pid(&self) -> u32 {
        self.kassa.pid()
    }
}

/// `n` nodes on one fresh database, all started at once (migrations and the default account
/// race, as when a deployment starts its nodes together). `None` when PostgreSQL tests are off.
struct Cluster {
    nodes: Vec<Node>,
    http: reqwest::Client,
    /// Dropped after the nodes (fields drop in order).
    db: TempPostgres,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start(n: usize, env: &[(&str, &str)]) -> Option<Self> {
        let db = TempPostgres::new_or_skip()?;
        let dir = tempfile::tempdir().unwrap();
        let args = ["serve", "--listen", "127.0.0.1:0", "--database-url", db.url()];
        let mut env = env.to_vec();
        env.push(("KASSA_SECRET_KEY", KEY));
        let spawned: Vec<Kassa> = (0..n).map(|_| Kassa::spawn(dir.path(), &args, &env)).collect();
        let nodes = spawned
            .into_iter()
            .map(|mut kassa| {
                let addr = kassa.addr();
                Node { kassa, addr }
            })
            .collect();
        let http = kassa::client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .unwrap();
        Some(Self { nodes, http, db, _dir: dir })
    }

    /// Node `i`, round robin.
    fn node(&self, i: usize) -> &Node {
        &self.nodes[i % self.nodes.len()]
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value, String) {
        let r = req.send().await.expect("request sent");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
    }

    async fn get(&self, node: usize, path: &str) -> (u16, Value) {
        let (s, v, _) = self.send(self.http.get(self.node(node).url(path)).bearer_auth(KEY)).await;
        (s, v)
    }

    async fn post(&self, node: usize, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let (s, v, _) =
            self.send(self.http.post(self.node(node).url(path)).bearer_auth(KEY).form(form)).await;
        (s, v)
    }

    /// POST, asserting `201 Created`; returns the object's id.
    async fn create(&self, node: usize, path: &str, form: &[(&str, &str)]) -> String {
        let (s, v) = self.post(node, path, form).await;
        assert_eq!(s, 201, "POST {path}: {v}");
        id(&v)
    }

    /// A one-time price of `amount` cents, created on `node`.
    async fn price(&self, node: usize, amount: i64) -> String {
        let product = self.create(node, "/products", &[("name", "Widget")]).await;
        let amount = amount.to_string();
        self.create(node, "/prices", &[("product", &product), ("unit_amount", &amount), ("currency", "usd")])
            .await
    }

    /// A session for one of `price`, created on `node`, plus `extra` parameters.
    async fn session(&self, node: usize, price: &str, extra: &[(&str, &str)]) -> String {
        let mut form = vec![
            ("line_items[0][price]", price),
            ("line_items[0][quantity]", "1"),
            ("success_url", "https://shop.test/ok"),
        ];
        form.extend_from_slice(extra);
        self.create(node, "/checkout/session", &form).await
    }

    /// The hosted page's card form for session `id`, submitted to `node` as a browser would.
    async fn pay(&self, node: usize, id: &str) -> (u16, String, Option<String>) {
        let r = self
            .http
            .post(self.node(node).url(&format!("/pay/{id}")))
            .form(&[
                ("email", "buyer@example.test"),
                ("name", "Bo Buyer"),
                ("payment_method", "card"),
                ("card_number", "4242424242424242"),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ])
            .send()
            .await
            .expect("request sent");
        let status = r.status().as_u16();
        let location = r.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
        (status, r.text().await.unwrap_or_default(), location)
    }

    /// Every object of the list at `path` (all pages), as seen from `node`.
    async fn list_all(&self, node: usize, path: &str) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut all: Vec<Value> = Vec::new();
        loop {
            let after = all.last().map(|o| format!("&starting_after={}", o["id"].as_str().unwrap()));
            let (s, page) =
                self.get(node, &format!("{path}{sep}limit=100{}", after.unwrap_or_default())).await;
            assert_eq!(s, 200, "{page}");
            all.extend(page["data"].as_array().unwrap().iter().cloned());
            if page["has_more"] != true {
                return all;
            }
        }
    }
}

/// Which of `pids` owns the TCP socket bound to local port `port` on this machine (Linux: the
/// socket's inode from `/proc/net/tcp*`, then the process whose file descriptors include it).
fn owner_of_port(port: u16, pids: &[u32]) -> Option<u32> {
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|table| {
        let table = std::fs::read_to_string(table).ok()?;
        table.lines().skip(1).find_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (_, local_port) = cols.get(1)?.rsplit_once(':')?;
            let inode = *cols.get(9)?;
            (u16::from_str_radix(local_port, 16).ok()? == port && inode != "0").then(|| inode.to_owned())
        })
    })?;
    let target = format!("socket:[{inode}]");
    pids.iter().copied().find(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == target))
    })
}

// ---------------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn a_session_created_on_one_node_is_paid_on_another() {
    let Some(c) = Cluster::start(3, &[]) else { return };
    let price = c.price(0, 1500).await;
    let id = c.session(1, &price, &[]).await;

    // The page opens on a third node, and the payment goes through there.
    let page = c.http.get(c.node(2).url(&format!("/pay/{id}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("data-testid=\"submit-button\""));
    let (status, text, location) = c.pay(2, &id).await;
    assert_eq!(status, 303, "{text}");
    assert_eq!(location.as_deref(), Some("https://shop.test/ok"));

    // Every node sees it complete, with the payment and the customer.
    for node in 0..3 {
        let (s, session) = c.get(node, &format!("/checkout/session/{id}?expand[]=payment_intent")).await;
        assert_eq!(s, 200, "{session}");
        assert_eq!(session["status"], "complete", "node {node}: {session}");
        assert_eq!(session["payment_status"], "paid");
        assert_eq!(session["payment_intent"]["status"], "succeeded");
        assert_eq!(session["payment_intent"]["amount"], 1500);
        assert_eq!(session["customer_details"]["email"], "buyer@example.test");
    }
    let (_, events) = c.get(0, "/events?type=checkout.session.completed").await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn twenty_concurrent_submits_over_the_nodes_make_one_payment() {
    let Some(c) = Cluster::start(3, &[]) else { return };
    let c = Arc::new(c);
    let price = c.price(0, 1000).await;
    let id = c.session(0, &price, &[]).await;

    let results = all_at_once((0..20).map(|i| {
        let (c, id) = (c.clone(), id.clone());
        async move { c.pay(i, &id).await }
    }))
    .await;
    let success = |l: &Option<String>| l.as_deref() == Some("https://shop.test/ok");
    let landed = results.iter().filter(|(s, _, l)| *s == 303 && success(l)).count();
    assert!(landed >= 1, "{results:?}");
    let page = format!("/pay/{id}");
    for (status, text, location) in &results {
        // Each submit lands on the success URL, is told a payment is in progress, or (refused
        // once the winner finished) is sent to, or shown, the completed page.
        assert!(
            (*status == 303 && (success(location) || location.as_deref() == Some(page.as_str())))
                || text.contains("already in progress")
                || text.contains("data-testid=\"session-complete\""),
            "{status} {location:?}: {text}"
        );
    }

    let (_, session) = c.get(1, &format!("/checkout/session/{id}")).await;
    assert_eq!(session["status"], "complete");
    let intents = c.list_all(2, "/payment_intents").await;
    let succeeded: Vec<_> = intents.iter().filter(|p| p["status"] == "succeeded").collect();
    assert_eq!(succeeded.len(), 1, "exactly one payment: {intents:?}");
    assert_eq!(succeeded[0]["id"], session["payment_intent"]);
    assert_eq!(c.list_all(0, "/customers").await.len(), 1, "one customer");
    let completed = c.list_all(1, "/events?type=checkout.session.completed").await;
    assert_eq!(completed.len(), 1, "completed once: {completed:?}");
    let succeeded_events = c.list_all(1, "/events?type=payment_intent.succeeded").await;
    assert_eq!(succeeded_events.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn fifty_concurrent_uses_of_a_code_limited_to_ten_redeem_ten() {
    let Some(c) = Cluster::start(3, &[]) else { return };
    let c = Arc::new(c);
    let price = c.price(0, 1000).await;
    let coupon = c.create(1, "/coupons", &[("percent_off", "50")]).await;
    let promo = c
        .create(2, "/promotion_codes", &[("coupon", &coupon), ("code", "TENONLY"), ("max_redemptions", "10")])
        .await;
    // Fifty sessions with the code applied at creation, made on every node.
    let sessions = all_at_once((0..50).map(|i| {
        let (c, price, promo) = (c.clone(), price.clone(), promo.clone());
        async move { c.session(i, &price, &[("discounts[0][promotion_code]", &promo)]).await }
    }))
    .await;
    for id in sessions.iter().take(3) {
        let (_, s) = c.get(0, &format!("/checkout/session/{id}")).await;
        assert_eq!(s["amount_total"], 500, "the code applies: {s}");
    }

    // All paid at once, spread over the nodes.
    let results = all_at_once(sessions.iter().enumerate().map(|(i, id)| {
        let (c, id) = (c.clone(), id.clone());
        async move { c.pay(i + 1, &id).await }
    }))
    .await;
    let paid = results.iter().filter(|(s, _, _)| *s == 303).count();
    for (status, text, _) in &results {
        assert!(*status == 303 || text.contains("maximum number of redemptions"), "{status}: {text}");
    }
    assert_eq!(paid, 10, "exactly the code's ten redemptions went through");

    let (_, code) = c.get(1, &format!("/promotion_codes/{promo}")).await;
    assert_eq!(code["times_redeemed"], 10, "{code}");
    assert_eq!(code["coupon"]["times_redeemed"], 10, "{code}");
    let mut complete = 0;
    for id in &sessions {
        let (_, s) = c.get(2, &format!("/checkout/session/{id}")).await;
        if s["status"] == "complete" {
            complete += 1;
            assert_eq!(s["amount_total"], 500, "{s}");
        } else {
            assert_eq!(s["status"], "open");
            assert_eq!(s["payment_intent"], Value::Null, "nothing charged: {s}");
        }
    }
    assert_eq!(complete, 10);
    let intents = c.list_all(0, "/payment_intents").await;
    assert_eq!(intents.iter().filter(|p| p["status"] == "succeeded").count(), 10, "{intents:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn one_idempotency_key_sent_to_several_nodes_at_once_runs_once() {
    let Some(c) = Cluster::start(3, &[]) else { return };
    let c = Arc::new(c);
    for round in 0..10 {
        let key = format!("scale-out-{round}");
        let email = format!("idem{round}@example.test");
        let results = all_at_once((0..6).map(|i| {
            let (c, key, email) = (c.clone(), key.clone(), email.clone());
            async move {
                let req = c
                    .http
                    .post(c.node(i).url("/customers"))
                    .bearer_auth(KEY)
                    .header("Idempotency-Key", key)
                    .form(&[("email", email.as_str())]);
                let r = req.send().await.unwrap();
                let replayed = r.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
                let status = r.status().as_u16();
                (status, replayed, r.json::<Value>().await.unwrap())
            }
        }))
        .await;
        let created: BTreeSet<String> =
            results.iter().filter(|(s, _, _)| *s == 201).map(|(_, _, body)| id(body)).collect();
        assert_eq!(created.len(), 1, "round {round}: one customer, replayed to the others: {results:?}");
        let originals = results.iter().filter(|(s, replayed, _)| *s == 201 && !replayed).count();
        assert!(originals <= 1, "round {round}: {results:?}");
        for (status, _, body) in &results {
            // The rest are replays, or refused while the first was still running.
            assert!(
                *status == 201 || (*status == 409 && body["error"]["type"] == "idempotency_error"),
                "round {round}: {status} {body}"
            );
        }
        // Once it has finished, every node replays it.
        for node in 0..3 {
            let r = c
                .http
                .post(c.node(node).url("/customers"))
                .bearer_auth(KEY)
                .header("Idempotency-Key", &key)
                .form(&[("email", email.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            assert_eq!(r.headers()["idempotent-replayed"], "true");
            assert_eq!(r.json::<Value>().await.unwrap()["id"].as_str(), created.first().map(String::as_str));
        }
    }
    assert_eq!(c.list_all(0, "/customers").await.len(), 10, "one customer per key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn webhook_deliveries_from_several_nodes_are_sent_once_per_attempt() {
    let Some(c) = Cluster::start(3, &[]) else { return };
    let c = Arc::new(c);
    let rx = Receiver::start(vec![]);
    let endpoints = ["/a", "/b"];
    for (i, path) in endpoints.iter().enumerate() {
        let url = format!("{}{path}", rx.base);
        c.create(i, "/webhook_endpoints", &[("url", &url), ("enabled_events[]", "customer.created")]).await;
    }
    // Events in waves, each wave's made at once on one node, the next wave on the next: the node
    // that makes the events is woken at once and the others look every second, so the
    // endpoints' leases pass from node to node. Which node sent each request is read off its
    // socket while the connection is open.
    const WAVES: usize = 6;
    const PER_WAVE: usize = 10;
    const EVENTS: usize = WAVES * PER_WAVE;
    let pids: Vec<u32> = c.nodes.iter().map(Node::pid).collect();
    let mut senders: BTreeMap<u16, u32> = BTreeMap::new();
    let mut customers = BTreeSet::new();
    for wave in 0..WAVES {
        let made = all_at_once((0..PER_WAVE).map(|i| {
            let c = c.clone();
            async move {
                let email = format!("hook{wave}.{i}@example.test");
                c.create(wave, "/customers", &[("email", &email)]).await
            }
        }))
        .await;
        customers.extend(made);
        let want = customers.len() * endpoints.len();
        let got = rx.wait_for(want);
        for g in got {
            if let std::collections::btree_map::Entry::Vacant(e) = senders.entry(g.peer_port)
                && let Some(pid) = owner_of_port(g.peer_port, &pids)
            {
                e.insert(pid);
            }
        }
    }
    assert_eq!(customers.len(), EVENTS);

    // Once every delivery is recorded as succeeded, nothing more can be sent.
    poll_async("every delivery to succeed", || {
        let c = c.clone();
        async move {
            let done = c.list_all(0, "/webhook_deliveries?status=succeeded").await;
            (done.len() == EVENTS * endpoints.len()).then_some(done)
        }
    })
    .await;
    let got = rx.received();
    let mut per_endpoint: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for g in &got {
        let event = g.json();
        assert_eq!(event["type"], "customer.created");
        let endpoint = *endpoints.iter().find(|e| g.path == **e).unwrap();
        per_endpoint.entry(endpoint).or_default().push(id(&event["data"]["object"]));
    }
    for path in endpoints {
        let ids = per_endpoint.remove(path).unwrap_or_default();
        let unique: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), EVENTS, "{path}: every event once, none twice");
        assert_eq!(unique, customers, "{path}: every customer's event");
    }
    for d in c.list_all(1, "/webhook_deliveries").await {
        assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "one attempt each: {d}");
    }
    let nodes: BTreeSet<u32> = senders.values().copied().collect();
    assert!(nodes.len() >= 2, "the deliveries were sent by one node only: {senders:?}");
    eprintln!("{} requests from {} connections of {} nodes", rx.received().len(), senders.len(), nodes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn a_killed_node_loses_nothing_it_acknowledged_and_its_lease_passes_on() {
    // A short lease, so that another node takes the delivery over soon; the attempt's timeout
    // is shorter still (the worker never starts an attempt that could outlast its lease), but
    // longer than it takes to kill the node.
    const LEASE: u64 = 5;
    let env = [("KASSA_WEBHOOK_LEASE", "5"), ("KASSA_WEBHOOK_TIMEOUT", "4")];
    let Some(c) = Cluster::start(3, &env) else { return };
    let rx = Receiver::start(vec![Answer::Hang]);
    let price = c.price(0, 700).await;
    c.create(1, "/webhook_endpoints", &[("url", &rx.url()), ("enabled_events[]", "customer.created")]).await;

    // A load of session creations on every node, each acknowledged id remembered with its node.
    let bases: Vec<String> = c.nodes.iter().map(|n| n.url("")).collect();
    let load = SessionLoad::start(&c.http, &bases, KEY, &price, 6);
    load.wait_for(30).await;

    // An event; whichever node claims its endpoint sends the first attempt, which the receiver
    // never answers. That node is killed mid-attempt, under load.
    let customer = c.create(2, "/customers", &[("email", "killed@example.test")]).await;
    let first = rx.wait_for(1).remove(0);
    let claimed_at = Instant::now();
    let pids: Vec<u32> = c.nodes.iter().map(Node::pid).collect();
    let sender = owner_of_port(first.peer_port, &pids).expect("the sending node");
    let victim = pids.iter().position(|p| *p == sender).unwrap();
    let killed_at = Instant::now();
    c.nodes[victim].kassa.signal("KILL");
    let closed = poll("the attempt's connection to close", || first.closed_at());
    assert!(closed >= killed_at, "the attempt timed out before the node was killed; the test proves nothing");
    let before_kill = load.acknowledged().iter().filter(|(n, _)| *n == victim).count();
    assert!(before_kill > 0, "the killed node had acknowledged sessions");
    let survivor = (victim + 1) % 3;

    // The load goes on against the survivors for a moment.
    load.wait_for(load.acknowledged().len() + 30).await;
    let acknowledged = load.stop().await;

    // Every acknowledged session is there, seen from a survivor.
    let lost = unreadable(&c.http, &bases[survivor], KEY, &acknowledged).await;
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    eprintln!("{} sessions acknowledged, {before_kill} of them by the killed node", acknowledged.len());

    // The killed node's lease runs out and another node sends the event again.
    let second = rx.wait_for(2).remove(1);
    assert!(
        claimed_at.elapsed() >= Duration::from_secs(LEASE - 1),
        "not before the lease ran out: {:?}",
        claimed_at.elapsed()
    );
    assert_eq!(second.json()["id"], first.json()["id"], "the same event, again");
    assert_eq!(second.json()["data"]["object"]["id"], customer.as_str());
    let resender = owner_of_port(second.peer_port, &pids);
    assert!(resender.is_some_and(|p| p != sender), "sent by a survivor: {resender:?}");
    let delivered = poll_async("the delivery to be recorded", || async {
        let done = c.list_all(survivor, "/webhook_deliveries?status=succeeded").await;
        done.first().cloned()
    })
    .await;
    assert_eq!(delivered["attempts"].as_array().unwrap().len(), 1, "the killed attempt was never recorded");
    assert_eq!(rx.received().len(), 2, "sent once more, not more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn health_fails_while_the_database_is_unreachable_and_recovers_without_a_restart() {
    let Some(c) = Cluster::start(1, &[]) else { return };
    let health = || async { c.http.get(c.node(0).url("/health")).send().await.unwrap().status().as_u16() };
    assert_eq!(health().await, 200);
    let product = c.create(0, "/products", &[("name", "Before")]).await;

    // The database refuses connections, and the open ones are cut (as in a restart or failover).
    c.db.admin(&format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", c.db.name()));
    c.db.terminate_connections();
    poll_async("/health to fail", || async { (health().await == 503).then_some(()) }).await;
    let (s, body) = c.get(0, &format!("/products/{product}")).await;
    assert!(s >= 500, "{s} {body}");
    assert_eq!(body["error"]["type"], "api_error", "{body}");
    assert!(!body.to_string().contains("kassa_test_"), "no internals: {body}");

    // Back: the same process serves again.
    c.db.admin(&format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", c.db.name()));
    poll_async("/health to recover", || async { (health().await == 200).then_some(()) }).await;
    let (s, body) = c.get(0, &format!("/products/{product}")).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["name"], "Before");
    c.create(0, "/products", &[("name", "After")]).await;
    let logs = c.node(0).kassa.stderr();
    assert!(logs.contains("database unavailable"), "the outage was logged:\n{logs}");
}

// ---------------------------------------------------------------------------------------------
// Chaos: a node killed and the database restarted under load

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn a_node_killed_and_the_database_restarted_under_load_lose_nothing_and_pay_nothing_twice() {
    let pg = PrivatePostgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    let args = ["serve", "--listen", "127.0.0.1:0", "--database-url", url.as_str()];
    let env = [("KASSA_SECRET_KEY", KEY)];
    let mut nodes: Vec<(Kassa, String)> = (0..2)
        .map(|_| {
            let mut k = Kassa::spawn(dir.path(), &args, &env);
            let addr = k.addr();
            (k, format!("http://{addr}"))
        })
        .collect();
    let http = kassa::client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .unwrap();
    let base = |i: usize, nodes: &[(Kassa, String)]| nodes[i].1.clone();
    let product: Value = http
        .post(format!("{}/products", base(0, &nodes)))
        .bearer_auth(KEY)
        .form(&[("name", "Chaos")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let price: Value = http
        .post(format!("{}/prices", base(0, &nodes)))
        .bearer_auth(KEY)
        .form(&[("product", id(&product).as_str()), ("unit_amount", "900"), ("currency", "usd")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let price = id(&price);
    let bases: Vec<String> = nodes.iter().map(|(_, b)| b.clone()).collect();

    // Creates on both nodes; and payers, each creating a session and submitting its payment to
    // both nodes at once, remembering every session a submit answered with the success redirect.
    let load = SessionLoad::start(&http, &bases, KEY, &price, 4);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let paid_ok: Arc<std::sync::Mutex<BTreeSet<String>>> = Arc::default();
    let tried: Arc<std::sync::Mutex<BTreeSet<String>>> = Arc::default();
    let payers: Vec<_> = (0..3)
        .map(|w| {
            let (http, bases, price) = (http.clone(), bases.clone(), price.clone());
            let (stop, paid_ok, tried) = (stop.clone(), paid_ok.clone(), tried.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let form = [
                        ("line_items[0][price]", price.as_str()),
                        ("line_items[0][quantity]", "1"),
                        ("success_url", "https://shop.test/ok"),
                    ];
                    let created = http
                        .post(format!("{}/checkout/session", bases[w % 2]))
                        .bearer_auth(KEY)
                        .form(&form)
                        .send()
                        .await;
                    let Ok(created) = created else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    if created.status() != 201 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    let session = id(&created.json::<Value>().await.unwrap());
                    tried.lock().unwrap().insert(session.clone());
                    let pay = |b: &str| {
                        http.post(format!("{b}/pay/{session}"))
                            .form(&[
                                ("email", "chaos@example.test"),
                                ("payment_method", "card"),
                                ("card_number", "4242424242424242"),
                                ("card_expiry", "12/34"),
                                ("card_cvc", "123"),
                            ])
                            .send()
                    };
                    let (a, b) = tokio::join!(pay(&bases[0]), pay(&bases[1]));
                    for r in [a, b].into_iter().flatten() {
                        let to_success =
                            r.headers().get("location").is_some_and(|l| l == "https://shop.test/ok");
                        if r.status() == 303 && to_success {
                            paid_ok.lock().unwrap().insert(session.clone());
                        }
                    }
                }
            })
        })
        .collect();
    let paid_count = || paid_ok.lock().unwrap().len();
    poll_async("payments under load", || async { (paid_count() >= 5).then_some(()) }).await;
    load.wait_for(40).await;

    // Kill node 1 mid-load, then restart the database under node 0 and the load.
    nodes[1].0.kill();
    pg.ctl("restart");
    // Node 1 comes back; the load goes on against both until more has been acknowledged.
    let mut back = Kassa::spawn(dir.path(), &args, &env);
    let addr = back.addr();
    nodes[1] = (back, format!("http://{addr}"));
    let before = (paid_count(), load.acknowledged().len());
    poll_async("payments after the restart", || async { (paid_count() >= before.0 + 5).then_some(()) }).await;
    load.wait_for(before.1 + 40).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for p in payers {
        p.await.unwrap();
    }
    let acknowledged = load.stop().await;
    let logs = nodes[0].0.stderr();
    assert!(logs.contains("database unavailable"), "node 0 saw the restart:\n{logs}");

    // Nothing acknowledged is lost (node 0 survived the whole run; node 1's acknowledgements
    // before its death count too).
    let survivor = base(0, &nodes);
    let lost = unreadable(&http, &survivor, KEY, &acknowledged).await;
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let get = |path: String| {
        let req = http.get(format!("{survivor}{path}")).bearer_auth(KEY);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    // Every session a submit saw paid is paid; no session is paid twice.
    let paid_ok = paid_ok.lock().unwrap().clone();
    let tried = tried.lock().unwrap().clone();
    let mut intents: BTreeMap<String, String> = BTreeMap::new();
    for session in &tried {
        let s = get(format!("/checkout/session/{session}")).await;
        if paid_ok.contains(session) {
            assert_eq!(
                (s["status"].as_str(), s["payment_status"].as_str()),
                (Some("complete"), Some("paid")),
                "{s}"
            );
        }
        if s["status"] == "complete" {
            let pi = s["payment_intent"].as_str().unwrap().to_owned();
            assert!(intents.insert(pi.clone(), session.clone()).is_none(), "{pi} pays two sessions");
        }
    }
    let mut succeeded = 0;
    let mut after: Option<String> = None;
    loop {
        let cursor = after.as_deref().map(|a| format!("&starting_after={a}")).unwrap_or_default();
        let page = get(format!("/events?type=payment_intent.succeeded&limit=100{cursor}")).await;
        let data = page["data"].as_array().unwrap();
        succeeded += data.len();
        after = data.last().map(id);
        if page["has_more"] != true {
            break;
        }
    }
    assert_eq!(succeeded, intents.len(), "one payment_intent.succeeded per completed session, no more");
    assert!(paid_ok.len() >= 10 && intents.len() >= paid_ok.len());
    eprintln!(
        "{} sessions acknowledged, {} payments tried, {} seen paid, {} completed",
        acknowledged.len(),
        tried.len(),
        paid_ok.len(),
        intents.len()
    );
}
