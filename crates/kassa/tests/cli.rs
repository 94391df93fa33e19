//! The `kassa` binary as a user runs it: `kassa serve` in an empty directory,
//! the default account's key, settings from flags and environment, `kassa accounts create`, a
//! graceful stop on SIGTERM (bounded by `--shutdown-timeout`), slow clients cut by the header-,
//! body- and idle timeouts, the connection limit, running out of file descriptors,
//! SIGKILL under a load of session creations (nothing acknowledged is lost on SQLite), a webhook
//! in flight when kassa is killed with SIGKILL, `kassa migrate`, `kassa listen`, and the data at
//! rest: the files' modes, the card fingerprint key, a database deleted under the
//! server, a second server on one file, and a full disk (a tmpfs of the test's own, in a mount
//! namespace made with `unshare`). Each test
//! spawns the compiled binary (`common::Kassa`) with a temporary directory as its working
//! directory and speaks to it over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use serde_json::Value;

mod common;
use common::{Answer, Kassa, Receiver, SessionLoad, TIMEOUT, command, poll, unreadable, verify_signature};

struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    fn new(addr: &str) -> Self {
        Self { base: format!("http://{addr}"), client: kassa::client::builder().build().unwrap() }
    }

    async fn get(&self, key: Option<&str>, path: &str) -> (u16, Value) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let r = req.send().await.expect("request sent");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, key: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .form(form)
            .send()
            .await
            .expect("request sent");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Create a product; returns its id.
    async fn product(&self, key: &str, name: &str) -> String {
        let (status, body) = self.post(key, "/products", &[("name", name)]).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn product_names(&self, key: &str) -> Vec<String> {
        let (status, body) = self.get(Some(key), "/products?limit=100").await;
        assert_eq!(status, 200, "{body}");
        body["data"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
    }

    /// A session for a new one-time price; returns the session.
    async fn session(&self, key: &str) -> Value {
        let product = self.product(key, "Ticket").await;
        let (s, price) = self
            .post(key, "/prices", &[("product", &product), ("unit_amount", "500"), ("currency", "usd")])
            .await;
        assert_eq!(s, 201, "{price}");
        let price = price["id"].as_str().unwrap();
        let (s, session) = self
            .post(
                key,
                "/checkout/session",
                &[("line_items[0][price]", price), ("line_items[0][quantity]", "1")],
            )
            .await;
        assert_eq!(s, 201, "{session}");
        session
    }

    /// A new session (see [`Http::session`]) paid with `card` on the hosted page, as a customer
    /// pays; returns its id.
    async fn pay_with_card(&self, key: &str, card: &str) -> String {
        let session = self.session(key).await;
        let id = session["id"].as_str().unwrap().to_owned();
        let r = self
            .client
            .post(format!("{}/pay/{id}", self.base))
            .form(&[
                ("email", "buyer@example.test"),
                ("payment_method", "card"),
                ("card_number", card),
                ("card_expiry", "12/34"),
                ("card_cvc", "123"),
            ])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success() || r.status().is_redirection(), "{card}: {}", r.status());
        id
    }
}

/// The generated key printed on stderr: the one line that is a key and nothing else.
fn printed_keys(stderr: &str) -> Vec<String> {
    stderr.lines().map(str::trim).filter(|l| l.starts_with("sk_test_")).map(str::to_owned).collect()
}

#[tokio::test]
async fn serve_in_an_empty_directory_prints_a_working_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[]);
    let http = Http::new(&addr);

    let (status, body) = http.get(None, "/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");

    let stderr = kassa.stderr();
    let keys = printed_keys(&stderr);
    assert_eq!(keys.len(), 1, "exactly one key is printed:\n{stderr}");
    let key = keys[0].clone();
    let random = &key["sk_test_".len()..];
    assert!(random.len() >= 24, "{key}");
    assert!(random.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
    assert_eq!(stderr.matches(&key).count(), 1, "the key is shown once:\n{stderr}");
    assert!(dir.path().join("kassa.db").exists(), "the default database is created in the working directory");

    let (status, _) = http.get(None, "/products").await;
    assert_eq!(status, 401);
    http.product(&key, "Survives restarts").await;
    assert_eq!(http.product_names(&key).await, ["Survives restarts"]);
    let status = kassa.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}:\n{}", kassa.stderr());

    // Again on the same database: no new key, and the first one still works.
    let (mut again, addr) = Kassa::serve(dir.path(), &[], &[]);
    let http = Http::new(&addr);
    assert!(printed_keys(&again.stderr()).is_empty(), "a restart prints no key:\n{}", again.stderr());
    assert!(!again.stderr().contains("sk_test_"), "{}", again.stderr());
    assert_eq!(http.product_names(&key).await, ["Survives restarts"]);
    assert!(again.terminate().success());
}

/// A clean stop leaves no write-ahead log with content behind (issue 19 §3): the database file
/// alone holds everything, and the next start has no log to replay.
#[tokio::test]
async fn sigterm_leaves_no_write_ahead_log_behind() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sk_test_OperatorChosenKey0123456789abc";
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", key)]);
    let http = Http::new(&addr);
    for i in 0..20 {
        http.product(key, &format!("Product {i}")).await;
    }
    let wal = dir.path().join("kassa.db-wal");
    assert!(std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0), "the writes went through the log");
    assert!(kassa.terminate().success(), "{}", kassa.stderr());
    let left = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(left, 0, "{left} B of log left after a clean stop");

    let (mut again, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", key)]);
    assert_eq!(Http::new(&addr).product_names(key).await.len(), 20);
    assert!(again.terminate().success());
}

#[tokio::test]
async fn an_operator_key_is_used_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sk_test_OperatorChosenKey0123456789abc";
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", key)]);
    let http = Http::new(&addr);
    http.product(key, "Operator's").await;
    assert_eq!(http.product_names(key).await, ["Operator's"]);
    let (status, body) = http.get(Some("sk_test_SomeOtherKey0123456789abcdef"), "/products").await;
    assert_eq!(status, 401, "{body}");
    assert!(!kassa.stderr().contains(key), "the operator's key is not logged:\n{}", kassa.stderr());
    assert!(printed_keys(&kassa.stderr()).is_empty());
    assert!(kassa.terminate().success());
}

/// Arguments, environment, and what the error message must mention.
type BadStart<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);

#[tokio::test]
async fn bad_settings_stop_kassa_with_a_clear_message() {
    let cases: [BadStart<'_>; 4] = [
        (&[], &[("KASSA_SECRET_KEY", "sk_live_x")], &["KASSA_SECRET_KEY", "sk_test_"]),
        (&[], &[("KASSA_SECRET_KEY", "sk_test_")], &["KASSA_SECRET_KEY"]),
        (&["--public-url", "ftp://files.test"], &[], &["--public-url"]),
        (&["--sweep-interval", "0"], &[], &["--sweep-interval"]),
    ];
    for (args, env, mentions) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
        all.extend(args);
        let mut kassa = Kassa::spawn(dir.path(), &all, env);
        let status = kassa.wait();
        let stderr = kassa.stderr();
        assert!(!status.success(), "{args:?} {env:?} must fail:\n{stderr}");
        for m in mentions {
            assert!(stderr.contains(m), "{args:?} {env:?}: the message names {m}:\n{stderr}");
        }
        assert!(stderr.contains("kassa: error"), "{stderr}");
        assert!(!dir.path().join("kassa.db").exists(), "nothing is created before the settings are checked");
        if let Some((_, live)) = env.iter().find(|(k, _)| *k == "KASSA_SECRET_KEY") {
            assert!(!stderr.lines().any(|l| l.trim() == *live), "the key is not echoed alone");
        }
    }
    // An address that cannot be bound.
    let dir = tempfile::tempdir().unwrap();
    let mut kassa = Kassa::spawn(dir.path(), &["serve", "--listen", "not-an-address"], &[]);
    assert!(!kassa.wait().success());
    assert!(kassa.stderr().contains("not-an-address"), "{}", kassa.stderr());
}

#[tokio::test]
async fn flags_win_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("KASSA_LISTEN", "not-an-address"),
        ("KASSA_DATABASE_URL", "sqlite://from-env.db"),
        ("KASSA_PUBLIC_URL", "https://from-env.test"),
        ("KASSA_SECRET_KEY", "sk_test_FlagsTestKey000000000000000000"),
    ];
    let (mut kassa, addr) = Kassa::serve(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "sqlite://from-flag.db",
            "--public-url",
            "https://from-flag.test/",
        ],
        &env,
    );
    let http = Http::new(&addr);
    let session = http.session("sk_test_FlagsTestKey000000000000000000").await;
    let id = session["id"].as_str().unwrap();
    assert_eq!(session["url"], format!("https://from-flag.test/pay/{id}"));
    assert!(dir.path().join("from-flag.db").exists());
    assert!(!dir.path().join("from-env.db").exists());
    assert!(kassa.terminate().success());

    // The environment alone is honoured.
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("KASSA_LISTEN", "127.0.0.1:0"),
        ("KASSA_DATABASE_URL", "sqlite://from-env.db"),
        ("KASSA_PUBLIC_URL", "https://pay.example.test"),
        ("KASSA_SECRET_KEY", "sk_test_EnvTestKey00000000000000000000"),
    ];
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &env);
    assert!(!addr.ends_with(":4242"), "KASSA_LISTEN was used: {addr}");
    let http = Http::new(&addr);
    let session = http.session("sk_test_EnvTestKey00000000000000000000").await;
    let id = session["id"].as_str().unwrap();
    assert_eq!(session["url"], format!("https://pay.example.test/pay/{id}"));
    assert!(dir.path().join("from-env.db").exists());
    assert!(!dir.path().join("kassa.db").exists());
    assert!(kassa.terminate().success());
}

#[tokio::test]
async fn the_default_public_url_is_the_listen_address() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sk_test_DefaultUrlKey0000000000000000";
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", key)]);
    let http = Http::new(&addr);
    let session = http.session(key).await;
    let url = session["url"].as_str().unwrap();
    assert_eq!(url, format!("http://{addr}/pay/{}", session["id"].as_str().unwrap()));
    // And it opens without a key.
    let page = http.client.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(kassa.terminate().success());
}

#[tokio::test]
async fn accounts_create_prints_a_key_that_works_and_is_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("shop.db").display());
    let default_key = "sk_test_DefaultAccountKey000000000000";
    let (mut kassa, addr) =
        Kassa::serve(dir.path(), &["--database-url", &db], &[("KASSA_SECRET_KEY", default_key)]);
    let http = Http::new(&addr);
    http.product(default_key, "Default's").await;

    // Created while the server runs, on the same database.
    let out = command(dir.path(), &["accounts", "create", "--name", "Foo Shop", "--database-url", &db], &[])
        .output()
        .expect("kassa accounts create runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let key = stdout.strip_suffix('\n').expect("one line on stdout");
    assert!(!key.contains('\n') && !key.contains(' '), "stdout is the key alone: {stdout:?}");
    assert!(key.starts_with("sk_test_") && key.len() >= "sk_test_".len() + 24, "{key}");
    assert!(!stderr.contains(key), "the key goes to stdout only");

    http.product(key, "Foo's").await;
    assert_eq!(http.product_names(key).await, ["Foo's"]);
    assert_eq!(http.product_names(default_key).await, ["Default's"]);
    // The hosted page shows the new account's name.
    let session = http.session(key).await;
    let page = http.client.get(session["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Foo Shop"));

    // A second account gets a different key.
    let out = command(dir.path(), &["accounts", "create", "--name", "Bar", "--database-url", &db], &[])
        .output()
        .unwrap();
    let second = String::from_utf8(out.stdout).unwrap();
    assert_ne!(second.trim(), key);
    assert!(http.product_names(second.trim()).await.is_empty());

    // A blank name is refused.
    let out = command(dir.path(), &["accounts", "create", "--name", "  ", "--database-url", &db], &[])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(kassa.terminate().success());
}

#[tokio::test]
async fn accounts_create_honours_kassa_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(
        dir.path(),
        &["accounts", "create", "--name", "Env"],
        &[("KASSA_DATABASE_URL", "sqlite://env.db")],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(dir.path().join("env.db").exists());
    // With an account already there, `kassa serve` creates no default account and prints no key.
    let (mut kassa, addr) = Kassa::serve(dir.path(), &["--database-url", "sqlite://env.db"], &[]);
    assert!(printed_keys(&kassa.stderr()).is_empty(), "{}", kassa.stderr());
    let http = Http::new(&addr);
    http.product(&key, "Env's").await;
    assert_eq!(http.product_names(&key).await, ["Env's"]);
    assert!(kassa.terminate().success());
}

/// `kassa dashboard` prints a link that signs in once, beside a running server on the same database.
#[tokio::test]
async fn dashboard_prints_a_one_time_sign_in_link() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("dash.db").display());
    let (mut kassa, addr) = Kassa::serve(dir.path(), &["--database-url", &db], &[]);
    let public = format!("http://{addr}");
    let out = command(dir.path(), &["dashboard", "--database-url", &db, "--public-url", &public], &[])
        .output()
        .expect("kassa dashboard runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let link = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(link.starts_with(&format!("{public}/dashboard/login/link?token=")), "{link}");
    let browser = kassa::client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let first = browser.get(&link).send().await.unwrap();
    assert_eq!(first.status(), 303);
    let cookie = first.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let home = browser.get(format!("{public}/dashboard")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert_eq!(browser.get(&link).send().await.unwrap().status(), 401, "used once");
    // An account that does not exist is refused.
    let out = command(dir.path(), &["dashboard", "--database-url", &db, "--account", "acct_nope"], &[])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(kassa.terminate().success());
}

/// Read from `stream` until `\r\n\r\n`; returns what was read.
fn read_head(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read from kassa");
        assert!(n > 0, "connection closed after {:?}", String::from_utf8_lossy(&buf));
        buf.push(byte[0]);
    }
    String::from_utf8(buf).unwrap()
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sk_test_GracefulKey00000000000000000000";
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", key)]);

    // A request whose body is held back: with `Expect: 100-continue` the server says `100 Continue`
    // once the handler starts reading the body, so the request is provably in flight.
    let body = "name=Finished+during+shutdown";
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        stream,
        "POST /products HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 100"), "{head}");

    kassa.signal("TERM");
    // Shutting down: new connections are refused...
    poll("the listener to close", || TcpStream::connect(&addr).is_err().then_some(()));
    assert!(kassa.child.try_wait().unwrap().is_none(), "kassa waits for the request in flight");

    // ...but the request in flight completes.
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("Finished during shutdown"), "{response}");

    let status = kassa.wait();
    assert!(status.success(), "exit status {status}:\n{}", kassa.stderr());
    assert!(kassa.stderr().contains("shutting down"), "{}", kassa.stderr());

    // The product was written.
    let (mut again, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", key)]);
    let http = Http::new(&addr);
    assert_eq!(http.product_names(key).await, ["Finished during shutdown"]);
    assert!(again.terminate().success());
}

#[tokio::test]
async fn sigterm_on_an_idle_server_exits_0_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[]);
    // An idle keep-alive connection, which this client never closes, does not hold the shutdown
    // up: were it waited for, kassa would not exit before `terminate` gives up.
    let http = Http::new(&addr);
    let http = Http { client: kassa::client::builder().pool_idle_timeout(None).build().unwrap(), ..http };
    assert_eq!(http.get(None, "/health").await.0, 200);
    assert!(kassa.terminate().success(), "{}", kassa.stderr());
    assert!(kassa.stderr().contains("stopped"), "{}", kassa.stderr());
    // stderr is a pipe here, not a terminal: plain text without colour codes.
    assert!(!kassa.raw_stderr().contains('\u{1b}'), "{:?}", kassa.raw_stderr());
}

// ---------------------------------------------------------------------------------------------
// Slow clients, the connection limit and a bounded stop (issue 13 §6). Raw TCP, so that a test
// can stop half-way through a request; small timeouts, waited for by polling, never by sleeping
// a guessed time.

/// A connection to `addr` on which `sent` has been written (and nothing more, yet).
fn send_raw(addr: &str, sent: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(sent.as_bytes()).unwrap();
    stream
}

/// `GET /health` on a keep-alive connection, as a raw request.
const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: kassa\r\n\r\n";

/// One response read from `stream`: its status, its head, and its body (by `Content-Length`).
fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let head = read_head(stream);
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no content-length in {head}"));
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    (status, head, String::from_utf8(body).unwrap())
}

/// Whether kassa closed `stream` without a (further) answer: it reads end-of-file, or a reset.
/// Waits at most [`TIMEOUT`] (the read timeout [`send_raw`] sets), then panics.
fn assert_closed_without_answer(stream: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 512];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("{what}: answered {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("{what}: not closed ({e})"),
    }
}

#[tokio::test]
async fn a_client_that_does_not_finish_its_request_head_in_time_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) =
        Kassa::serve(dir.path(), &["--header-read-timeout", "1", "--idle-timeout", "60"], &[]);
    let started = Instant::now();
    let mut half = send_raw(&addr, "GET /health HTTP/1.1\r\nHost: kassa\r\n");
    let mut silent = send_raw(&addr, "");
    // Slowloris: a byte every 100 ms keeps the connection busy but the head never ends; the
    // timeout is for the whole head, so it is cut long before the 60 s this head would take.
    let trickled = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(&addr).unwrap();
            let head = format!("GET /health HTTP/1.1\r\nX-Slow: {}\r\n\r\n", "z".repeat(600));
            for byte in head.bytes() {
                if stream.write_all(&[byte]).is_err() {
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            false
        })
    };
    assert_closed_without_answer(&mut half, "half a head");
    assert_closed_without_answer(&mut silent, "a connection that sends nothing");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "not before the timeout");
    assert!(trickled.join().unwrap(), "a head trickled in byte by byte is cut too");

    // kassa itself is fine, and a prompt client is served.
    let mut prompt = send_raw(&addr, HEALTH);
    assert_eq!(read_response(&mut prompt).0, 200);
    assert!(kassa.terminate().success(), "{}", kassa.stderr());
}

#[tokio::test]
async fn a_request_body_that_does_not_arrive_in_time_is_answered_408() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sk_test_BodyTimeoutKey0000000000000000";
    let (mut kassa, addr) =
        Kassa::serve(dir.path(), &["--body-read-timeout", "1"], &[("KASSA_SECRET_KEY", key)]);
    let http = Http::new(&addr);
    let session = http.session(key).await;
    let post = |path: &str, auth: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 100\r\n\r\n"
        )
    };
    let api_post = post("/products", &format!("Authorization: Bearer {key}\r\n"));

    // The API: a third of the body, then nothing. Stripe's error shape, and the SDKs may retry.
    let mut stream = send_raw(&addr, &format!("{api_post}name=Never+created"));
    let (status, head, body) = read_response(&mut stream);
    assert_eq!(status, 408, "{head}{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error", "{body}");
    assert_eq!(error["error"]["code"], "request_timeout", "{body}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("stripe-should-retry: true"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert_closed_without_answer(&mut stream, "after the 408");

    // A body trickled in byte by byte: the deadline is for the whole body, not between bytes.
    let mut stream = send_raw(&addr, &api_post);
    let mut writer = stream.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..100 {
            if writer.write_all(b"a").is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
    let (status, _, body) = read_response(&mut stream);
    assert_eq!(status, 408, "{body}");
    drop(stream);
    trickle.join().unwrap();

    // A hosted page's form: the error page, never JSON.
    let page_post = post(&format!("/pay/{}", session["id"].as_str().unwrap()), "");
    let mut stream = send_raw(&addr, &format!("{page_post}email=late%40example.test"));
    let (status, head, body) = read_response(&mut stream);
    assert_eq!(status, 408, "{head}{body}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/html"), "{head}");
    assert!(body.contains("data-testid=\"page-error\""), "{body}");

    // Nothing was done, and kassa serves on.
    assert_eq!(http.product_names(key).await, ["Ticket"], "only the session's product exists");
    assert!(kassa.terminate().success(), "{}", kassa.stderr());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_the_head_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) =
        Kassa::serve(dir.path(), &["--header-read-timeout", "1", "--idle-timeout", "4"], &[]);
    let mut conn = send_raw(&addr, HEALTH);
    assert_eq!(read_response(&mut conn).0, 200);
    // Idle for longer than a head may take: that is the idle timeout's to judge, not the head's.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    conn.write_all(HEALTH.as_bytes()).unwrap();
    assert_eq!(read_response(&mut conn).0, 200, "the connection was kept");
    let answered = Instant::now();
    assert_closed_without_answer(&mut conn, "an idle connection");
    assert!(answered.elapsed() >= std::time::Duration::from_secs(3), "closed by the idle timeout");
    assert!(kassa.terminate().success(), "{}", kassa.stderr());
}

#[tokio::test]
async fn slow_clients_beyond_the_connection_limit_wait_and_health_answers_once_they_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(
        dir.path(),
        &["--max-connections", "20", "--header-read-timeout", "2", "--idle-timeout", "60"],
        &[],
    );
    let mut existing = send_raw(&addr, HEALTH);
    assert_eq!(read_response(&mut existing).0, 200);

    // Twice as many slow clients as there are slots, each with half a head.
    let mut slow: Vec<TcpStream> =
        (0..40).map(|_| send_raw(&addr, "GET /health HTTP/1.1\r\nHost: kassa\r\n")).collect();
    const LIMIT_LINE: &str = "connection limit reached";
    poll("the connection-limit log line", || kassa.stderr().contains(LIMIT_LINE).then_some(()));

    // A connection kassa already serves keeps being served.
    existing.write_all(HEALTH.as_bytes()).unwrap();
    assert_eq!(read_response(&mut existing).0, 200);
    // A new one waits in the queue, and is answered once the slow ones have timed out.
    let mut new = send_raw(&addr, HEALTH);
    assert_eq!(read_response(&mut new).0, 200);
    for (i, s) in slow.iter_mut().enumerate() {
        assert_closed_without_answer(s, &format!("slow client {i}"));
    }
    let mut after = send_raw(&addr, HEALTH);
    assert_eq!(read_response(&mut after).0, 200);

    assert!(kassa.terminate().success(), "{}", kassa.stderr());
    let stderr = kassa.stderr();
    assert_eq!(stderr.matches(LIMIT_LINE).count(), 1, "one line, not one per connection:\n{stderr}");
    assert!(stderr.contains("--max-connections"), "the line names the setting:\n{stderr}");
}

#[tokio::test]
async fn the_accept_loop_survives_running_out_of_file_descriptors() {
    // A limit above what `ulimit -n` allows (kassa warns), so accepting fails with EMFILE.
    let dir = tempfile::tempdir().unwrap();
    let args =
        ["serve", "--listen", "127.0.0.1:0", "--max-connections", "1000", "--header-read-timeout", "3"];
    let cmd = common::with_open_file_limit(&command(dir.path(), &args, &[]), 128);
    let mut kassa = Kassa::spawn_command(cmd);
    let addr = kassa.addr();
    assert!(kassa.stderr().contains("more than the open-file limit"), "{}", kassa.stderr());

    let mut silent: Vec<TcpStream> = (0..200).map(|_| send_raw(&addr, "")).collect();
    const EMFILE_LINE: &str = "cannot accept connections";
    poll("the accept-error log line", || kassa.stderr().contains(EMFILE_LINE).then_some(()));
    // Out of descriptors, the loop pauses between attempts instead of spinning: over a second
    // it uses a small part of one core (a spinning loop would use all of it).
    let cpu = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", kassa.pid())).unwrap();
        let fields: Vec<u64> =
            stat.rsplit_once(')').unwrap().1.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        // utime and stime, fields 14 and 15 of proc(5), in clock ticks (100 a second).
        fields[10] + fields[11]
    };
    let before = cpu();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let used = cpu() - before;
    assert!(used < 50, "{used} ticks of CPU in one second while out of descriptors");

    // Once the silent connections time out (or leave), kassa serves again.
    for s in silent.iter_mut().take(100) {
        assert_closed_without_answer(s, "a silent connection");
    }
    drop(silent);
    let mut health = send_raw(&addr, HEALTH);
    assert_eq!(read_response(&mut health).0, 200);
    assert!(kassa.terminate().success(), "{}", kassa.stderr());
    let stderr = kassa.stderr();
    assert_eq!(stderr.matches(EMFILE_LINE).count(), 1, "logged once, not per attempt:\n{stderr}");
}

#[tokio::test]
async fn sigterm_with_stuck_requests_exits_0_after_the_shutdown_timeout_and_finishes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sk_test_ShutdownTimeoutKey000000000000";
    let slow = ["--header-read-timeout", "120", "--body-read-timeout", "120", "--idle-timeout", "120"];
    let mut args = vec!["--shutdown-timeout", "3"];
    args.extend(slow);
    let (mut kassa, addr) = Kassa::serve(dir.path(), &args, &[("KASSA_SECRET_KEY", key)]);
    let expect_continue = |length: usize| {
        format!(
            "POST /products HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\
             Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
    };
    // In flight, and stuck: its body never ends (and its own timeout is far away).
    let mut stuck = send_raw(&addr, &expect_continue(100));
    assert!(read_head(&mut stuck).starts_with("HTTP/1.1 100"));
    stuck.write_all(b"name=Stu").unwrap();
    // Half a head, also far from its timeout.
    let mut half = send_raw(&addr, "GET /health HTTP/1.1\r\n");
    // In flight, and about to finish.
    let body = "name=Finished+during+shutdown";
    let mut finishing = send_raw(&addr, &expect_continue(body.len()));
    assert!(read_head(&mut finishing).starts_with("HTTP/1.1 100"));

    let signalled = Instant::now();
    kassa.signal("TERM");
    poll("the listener to close", || TcpStream::connect(&addr).is_err().then_some(()));
    finishing.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    finishing.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    let status = kassa.wait();
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status}:\n{}", kassa.stderr());
    assert!(took >= std::time::Duration::from_secs(3), "it waited for the requests in flight: {took:?}");
    assert!(took < std::time::Duration::from_secs(60), "the shutdown timeout bounded it: {took:?}");
    assert_closed_without_answer(&mut stuck, "the stuck request");
    assert_closed_without_answer(&mut half, "the half head");
    let stderr = kassa.stderr();
    assert!(stderr.contains("closed 2 connections whose requests had not finished"), "{stderr}");
}

#[tokio::test]
async fn a_failed_first_start_does_not_swallow_the_generated_key() {
    // The usual first-run mistake: the port is taken. The key must still be shown on the next,
    // successful start, or the default account could never be used.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut failed = Kassa::spawn(dir.path(), &["serve", "--listen", &port], &[]);
    assert!(!failed.wait().success(), "{}", failed.stderr());
    assert!(failed.stderr().contains(&port), "the error names the address:\n{}", failed.stderr());
    drop(taken);

    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[]);
    let keys = printed_keys(&kassa.stderr());
    assert_eq!(keys.len(), 1, "the key is printed on the first start that serves:\n{}", kassa.stderr());
    let http = Http::new(&addr);
    assert_eq!(http.get(Some(&keys[0]), "/products").await.0, 200);
    assert!(kassa.terminate().success());
}

#[tokio::test]
async fn card_numbers_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let key = "sk_test_LogCheckKey0123456789abcdefgh";
    // Every log line kassa (and every library it uses) can write, at every level.
    let (mut kassa, addr) =
        Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", key), ("RUST_LOG", "trace")]);
    let http = Http::new(&addr);
    let cards = ["4242424242424242", "4000000000000002", "4000002760003184"];
    for card in cards {
        http.pay_with_card(key, card).await;
    }
    assert!(kassa.terminate().success());
    let logs = kassa.raw_stderr();
    assert!(logs.contains("/pay/{id}"), "the payment requests were logged:\n{logs}");
    for card in cards {
        assert!(!logs.contains(card), "{card} appears in the logs");
    }
    // Part of a number, where the digits cannot occur by chance (runs of zeros can: floats).
    assert!(!logs.contains("424242424242"), "4242… appears in part in the logs");
}

#[tokio::test]
async fn migrate_brings_the_schema_up_to_date_and_exits() {
    // SQLite: the file and its tables, no account, no server.
    let dir = tempfile::tempdir().unwrap();
    let mut migrate = Kassa::spawn(dir.path(), &["migrate", "--database-url", "sqlite://m.db"], &[]);
    assert!(migrate.wait().success(), "{}", migrate.stderr());
    assert!(!migrate.stderr().contains("kassa is serving"), "{}", migrate.stderr());
    let db = rusqlite::Connection::open(dir.path().join("m.db")).unwrap();
    let accounts: i64 = db.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)).unwrap();
    assert_eq!(accounts, 0, "migrate creates no account");
    let sessions: i64 = db.query_row("SELECT COUNT(*) FROM checkout_sessions", [], |r| r.get(0)).unwrap();
    assert_eq!(sessions, 0);

    // A database that cannot be reached: a clear error that does not show the password.
    let mut failed = Kassa::spawn(
        dir.path(),
        &["migrate"],
        &[("KASSA_DATABASE_URL", "postgres://kassa:hunter2@127.0.0.1:1/kassa")],
    );
    assert!(!failed.wait().success());
    let stderr = failed.stderr();
    assert!(stderr.contains("kassa: error: migrating the database at postgres://kassa:***@"), "{stderr}");
    assert!(stderr.contains("connect"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn migrate_on_postgresql_applies_every_migration_once() {
    // Every migration applied, twice is harmless, and a node then starts on it.
    let Some(pg) = kassa_store::postgres::TempPostgres::new_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let mut migrate = Kassa::spawn(dir.path(), &["migrate", "--database-url", pg.url()], &[]);
        assert!(migrate.wait().success(), "{}", migrate.stderr());
    }
    let applied = pg.applied_migrations().await;
    assert!(!applied.is_empty() && applied.windows(2).all(|w| w[0] < w[1]), "{applied:?}");
    let client = pg.connect().await;
    let accounts: i64 = client.query_one("SELECT COUNT(*) FROM accounts", &[]).await.unwrap().get(0);
    assert_eq!(accounts, 0, "migrate creates no account");
    let (mut node, addr) =
        Kassa::serve(dir.path(), &["--database-url", pg.url()], &[("KASSA_SECRET_KEY", HOOK_KEY)]);
    Http::new(&addr).product(HOOK_KEY, "After migrate").await;
    assert!(node.terminate().success());
    assert_eq!(pg.applied_migrations().await, applied, "serve found nothing left to apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_session_acknowledged_before_a_sigkill_under_load_is_there_after_the_restart() {
    // SQLite: sessions created by eight clients at once, kassa killed with SIGKILL in the middle of
    // it, then started again on the same file.
    const KEY: &str = "sk_test_KilledUnderLoadKey000000000000";
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", KEY)]);
    let http = Http::new(&addr);
    let product = http.product(KEY, "Load").await;
    let (s, price) = http
        .post(KEY, "/prices", &[("product", &product), ("unit_amount", "700"), ("currency", "usd")])
        .await;
    assert_eq!(s, 201, "{price}");
    let price = common::id(&price);

    let load = SessionLoad::start(&http.client, std::slice::from_ref(&http.base), KEY, &price, 8);
    load.wait_for(200).await;
    assert!(!kassa.kill().success());
    let acknowledged = load.stop().await;
    assert!(acknowledged.len() >= 200, "{}", acknowledged.len());

    let (mut again, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", KEY)]);
    let http = Http::new(&addr);
    let lost = unreadable(&http.client, &http.base, KEY, &acknowledged).await;
    assert!(lost.is_empty(), "acknowledged, then lost with the kill: {lost:?}");
    eprintln!("{} sessions acknowledged before the kill, all there", acknowledged.len());
    http.session(KEY).await;
    assert!(again.terminate().success());
    let db = rusqlite::Connection::open(dir.path().join("kassa.db")).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

// ---------------------------------------------------------------------------------------------
// Webhooks through the real binary.

const HOOK_KEY: &str = "sk_test_WebhookTestKey00000000000000000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_in_flight_when_kassa_is_killed_is_sent_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(vec![Answer::Hang]);
    // A short lease, so the restarted server sends the delivery again soon; the first attempt's
    // timeout is longer than it takes to kill kassa, so the attempt is still in flight then.
    let env = [("KASSA_SECRET_KEY", HOOK_KEY), ("KASSA_WEBHOOK_LEASE", "5"), ("KASSA_WEBHOOK_TIMEOUT", "4")];
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &env);
    let http = Http::new(&addr);
    let (s, endpoint) =
        http.post(HOOK_KEY, "/webhook_endpoints", &[("url", &rx.url()), ("enabled_events[]", "*")]).await;
    assert_eq!(s, 201, "{endpoint}");
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    let (s, customer) = http.post(HOOK_KEY, "/customers", &[("email", "kill@example.test")]).await;
    assert_eq!(s, 201, "{customer}");

    let first = rx.wait_for(1).remove(0);
    assert_eq!(first.json()["type"], "customer.created");
    let killed_at = Instant::now();
    let status = kassa.kill();
    assert!(!status.success(), "killed: {status}");
    let closed = poll("the attempt's connection to close", || first.closed_at());
    assert!(closed >= killed_at, "the attempt timed out before kassa was killed; the test proves nothing");

    let (mut again, addr) = Kassa::serve(dir.path(), &[], &env);
    let again_http = Http::new(&addr);
    let second = rx.wait_for(2).remove(1);
    assert_eq!(second.json()["id"], first.json()["id"], "the same event, again");
    assert!(verify_signature(&secret, second.header("stripe-signature").unwrap(), &second.body));
    let delivered = poll("the delivery to be recorded", || {
        let rt = tokio::runtime::Handle::current();
        let (_, list) = tokio::task::block_in_place(|| {
            rt.block_on(again_http.get(Some(HOOK_KEY), "/webhook_deliveries?status=succeeded"))
        });
        list["data"].as_array().filter(|d| !d.is_empty()).map(|d| d[0].clone())
    });
    assert_eq!(delivered["event"], first.json()["id"]);
    assert_eq!(delivered["attempts"].as_array().unwrap().len(), 1, "the killed attempt was never recorded");
    assert_eq!(rx.received().len(), 2, "sent once more, not more");
    assert!(again.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kassa_listen_forwards_new_events_signed_with_the_secret_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(vec![]);
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", HOOK_KEY)]);
    let http = Http::new(&addr);
    // An event from before listening starts is not forwarded.
    let (s, _) = http.post(HOOK_KEY, "/customers", &[("email", "before@example.test")]).await;
    assert_eq!(s, 201);

    let api_url = format!("http://{addr}");
    let mut listen = Kassa::spawn(
        dir.path(),
        &["listen", "--forward-to", &rx.url(), "--events", "customer.created,checkout.session.expired"],
        &[("KASSA_API_URL", &api_url), ("KASSA_SECRET_KEY", HOOK_KEY)],
    );
    let ready = poll("the ready line", || listen.stdout().first().cloned());
    let secret =
        ready.split_whitespace().find(|w| w.starts_with("whsec_")).expect("a whsec_ secret").to_owned();

    let (s, customer) = http.post(HOOK_KEY, "/customers", &[("email", "after@example.test")]).await;
    assert_eq!(s, 201);
    let session = http.session(HOOK_KEY).await;
    let sid = session["id"].as_str().unwrap();
    let (s, _) = http.post(HOOK_KEY, &format!("/checkout/session/{sid}/expire"), &[]).await;
    assert_eq!(s, 200);

    let got = rx.wait_for(2);
    let types: Vec<String> = got.iter().map(|g| g.json()["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, ["customer.created", "checkout.session.expired"]);
    assert_eq!(got[0].json()["data"]["object"]["id"], customer["id"]);
    for g in &got {
        let signature = g.header("stripe-signature").unwrap();
        assert!(verify_signature(&secret, signature, &g.body), "signed with {secret}");
    }
    poll("the forwarding log lines", || {
        let out = listen.stdout().join("\n");
        (out.contains("--> checkout.session.expired") && out.contains("<-- [200]")).then_some(())
    });

    // Ctrl-C stops it cleanly; it printed the same secret a second run would.
    listen.signal("INT");
    let status = listen.wait();
    assert!(status.success(), "{status}: {}", listen.stderr());
    assert_eq!(secret, kassa::listen::secret_for(HOOK_KEY).expose());
    assert_eq!(rx.received().len(), 2, "nothing else (the earlier customer, the filtered types) was sent");
    assert!(kassa.terminate().success());
}

#[tokio::test]
async fn kassa_listen_with_a_bad_key_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", HOOK_KEY)]);
    let api_url = format!("http://{addr}");
    let mut listen = Kassa::spawn(
        dir.path(),
        &[
            "listen",
            "--forward-to",
            "http://127.0.0.1:9/hook",
            "--api-url",
            &api_url,
            "--api-key",
            "sk_test_wrong",
        ],
        &[],
    );
    let status = listen.wait();
    assert!(!status.success());
    assert!(listen.stderr().contains("401"), "{}", listen.stderr());
    assert!(kassa.terminate().success());
}

// ---------------------------------------------------------------------------------------------
// Data at rest (issue 13 §9–§12): the files kassa keeps, and what happens when they go wrong.

/// `sh -c`, running kassa (`"$@"`) under the usual umask, which leaves new files readable by all.
const UMASK_022: &[&str] = &["sh", "-c", "umask 022 && exec \"$@\"", "sh"];

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Pay a new session for 5.00 USD with `card` on the hosted page; returns the fingerprint of the
/// card's payment method.
async fn pay_and_fingerprint(http: &Http, key: &str, card: &str) -> String {
    let id = http.pay_with_card(key, card).await;
    let (s, session) = http.get(Some(key), &format!("/checkout/session/{id}?expand[]=payment_intent")).await;
    assert_eq!((s, session["status"].as_str()), (200, Some("complete")), "{session}");
    let pm = session["payment_intent"]["payment_method"].as_str().expect("a payment method").to_owned();
    let (s, pm) = http.get(Some(key), &format!("/payment_methods/{pm}")).await;
    assert_eq!(s, 200, "{pm}");
    pm["card"]["fingerprint"].as_str().unwrap().to_owned()
}

/// The id of the one account in the SQLite database at `path`.
fn account_id(path: &std::path::Path) -> String {
    let db = rusqlite::Connection::open(path).unwrap();
    db.query_row("SELECT id FROM accounts", [], |r| r.get(0)).unwrap()
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_and_the_fingerprint_key_are_readable_by_their_owner_alone() {
    let dir = tempfile::tempdir().unwrap();
    // The umask really leaves new files open to everyone: a file made the ordinary way is 0644.
    let control = std::process::Command::new("sh")
        .args(["-c", "umask 022 && touch control"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(control.success());
    assert_eq!(mode(&dir.path().join("control")), 0o644);

    let cmd = common::command_via(
        dir.path(),
        UMASK_022,
        &["serve", "--listen", "127.0.0.1:0"],
        &[("KASSA_SECRET_KEY", HOOK_KEY)],
    );
    let mut kassa = Kassa::spawn_command(cmd);
    let http = Http::new(&kassa.addr());
    // A write, so that the log has frames and its index is in use.
    http.product(HOOK_KEY, "Private").await;
    for file in ["kassa.db", "kassa.db-wal", "kassa.db-shm", "kassa.fingerprint-key"] {
        assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
    }
    assert!(kassa.terminate().success());
    assert!(!kassa.stderr().contains("chmod"), "nothing to warn about:\n{}", kassa.stderr());
}

#[cfg(unix)]
#[tokio::test]
async fn files_that_other_users_can_read_are_reported_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, _) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", HOOK_KEY)]);
    assert!(kassa.terminate().success());
    for file in ["kassa.db", "kassa.fingerprint-key"] {
        std::fs::set_permissions(dir.path().join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    let (mut kassa, _) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", HOOK_KEY)]);
    assert!(kassa.terminate().success());
    let stderr = kassa.stderr();
    let path = |file: &str| dir.path().canonicalize().unwrap().join(file).display().to_string();
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("can be read by other users")).collect();
    assert_eq!(warnings.len(), 2, "one warning for the database's files, one for the key:\n{stderr}");
    let db = warnings.iter().find(|l| l.contains("customers' data")).expect("the database's warning");
    // SQLite made the new log and index with the database file's mode: all three are named.
    for file in ["kassa.db", "kassa.db-wal", "kassa.db-shm"] {
        assert!(db.contains(&format!("{} (mode 0644)", path(file))), "{file}: {db}");
    }
    assert!(
        db.contains(&format!(
            "chmod 600 {} {} {}",
            path("kassa.db"),
            path("kassa.db-wal"),
            path("kassa.db-shm")
        )),
        "{db}"
    );
    let key = warnings.iter().find(|l| l.contains("fingerprint")).expect("the key's warning");
    assert!(key.contains(&format!("chmod 600 {}", path("kassa.fingerprint-key"))), "{key}");
    // Warned about, not changed: the owner may have meant it.
    assert_eq!(mode(&dir.path().join("kassa.db")), 0o644);
}

#[tokio::test]
async fn card_fingerprints_are_keyed_with_the_installations_own_key() {
    use sha2::Digest;
    const CARD: &str = "4242424242424242";
    let env = [("KASSA_SECRET_KEY", HOOK_KEY)];
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &env);
    let first = pay_and_fingerprint(&Http::new(&addr), HOOK_KEY, CARD).await;
    assert!(kassa.terminate().success());
    let key_file = dir.path().join("kassa.fingerprint-key");
    let key = std::fs::read_to_string(&key_file).expect("the key is kept beside the database");
    let key = key.trim();
    assert!(key.len() >= 32, "{} characters", key.len());
    assert!(!kassa.stderr().contains(key), "the key is never logged");
    let db_bytes = std::fs::read(dir.path().join("kassa.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db_bytes).contains(key), "the key is not in the database");

    // Whoever has the database alone cannot test guesses: the unkeyed hash kassa used to store
    // is not what it stores now.
    let account = account_id(&dir.path().join("kassa.db"));
    let unkeyed = sha2::Sha256::digest(format!("kassa card fingerprint v1\0{account}\0{CARD}"));
    let unkeyed: String = unkeyed.iter().take(8).map(|b| format!("{b:02x}")).collect();
    assert_ne!(first, unkeyed, "the fingerprint is the unkeyed hash of the number");

    // Stable: the same card after a restart, with the same key file.
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &env);
    assert_eq!(pay_and_fingerprint(&Http::new(&addr), HOOK_KEY, CARD).await, first);
    assert!(kassa.terminate().success());

    // Another installation with a copy of this database (the same account id, the same card) but
    // a key of its own: another fingerprint.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("kassa.db"), elsewhere.path().join("kassa.db")).unwrap();
    let (mut kassa, addr) = Kassa::serve(elsewhere.path(), &[], &env);
    assert_ne!(pay_and_fingerprint(&Http::new(&addr), HOOK_KEY, CARD).await, first);
    assert!(kassa.terminate().success());

    // Given the same key in KASSA_FINGERPRINT_KEY, the same fingerprint, and no file is written.
    let given = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("kassa.db"), given.path().join("kassa.db")).unwrap();
    let env = [("KASSA_SECRET_KEY", HOOK_KEY), ("KASSA_FINGERPRINT_KEY", key)];
    let (mut kassa, addr) = Kassa::serve(given.path(), &[], &env);
    assert_eq!(pay_and_fingerprint(&Http::new(&addr), HOOK_KEY, CARD).await, first);
    assert!(kassa.terminate().success());
    assert!(!given.path().join("kassa.fingerprint-key").exists());
    assert!(!kassa.stderr().contains(key), "the key is never logged");

    // A key too short to be one is refused before anything starts.
    let mut refused = Kassa::spawn(
        given.path(),
        &["serve", "--listen", "127.0.0.1:0"],
        &[("KASSA_FINGERPRINT_KEY", "too-short")],
    );
    assert!(!refused.wait().success());
    let stderr = refused.stderr();
    assert!(stderr.contains("KASSA_FINGERPRINT_KEY") && stderr.contains("at least 32"), "{stderr}");
    assert!(!stderr.contains("too-short"), "{stderr}");
}

#[tokio::test]
async fn a_fingerprint_key_file_can_be_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    let (mut kassa, _) = Kassa::serve(
        dir.path(),
        &["--fingerprint-key-file", "secrets/fp.key"],
        &[("KASSA_SECRET_KEY", HOOK_KEY)],
    );
    assert!(kassa.terminate().success());
    assert!(dir.path().join("secrets/fp.key").exists());
    assert!(!dir.path().join("kassa.fingerprint-key").exists());
    // A damaged file stops kassa rather than silently keying cards anew.
    std::fs::write(dir.path().join("secrets/fp.key"), "short\n").unwrap();
    let mut refused = Kassa::spawn(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0"],
        &[("KASSA_SECRET_KEY", HOOK_KEY), ("KASSA_FINGERPRINT_KEY_FILE", "secrets/fp.key")],
    );
    assert!(!refused.wait().success());
    assert!(refused.stderr().contains("fp.key"), "{}", refused.stderr());

    // Such a start creates no default account whose generated key would never be shown.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::write(fresh.path().join("kassa.fingerprint-key"), "short\n").unwrap();
    let mut refused = Kassa::spawn(fresh.path(), &["serve", "--listen", "127.0.0.1:0"], &[]);
    assert!(!refused.wait().success());
    assert!(printed_keys(&refused.stderr()).is_empty(), "{}", refused.stderr());
    let db = rusqlite::Connection::open(fresh.path().join("kassa.db")).unwrap();
    let accounts: i64 = db.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)).unwrap();
    assert_eq!(accounts, 0);
}

#[tokio::test]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn a_postgresql_node_that_makes_its_own_fingerprint_key_says_every_node_needs_it() {
    let Some(pg) = kassa_store::postgres::TempPostgres::new_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let args = ["--database-url", pg.url()];
    let (mut node, _) = Kassa::serve(dir.path(), &args, &[("KASSA_SECRET_KEY", HOOK_KEY)]);
    assert!(node.terminate().success());
    let stderr = node.stderr();
    assert!(stderr.contains("Every kassa node on one PostgreSQL database must use the same key"), "{stderr}");
    assert!(dir.path().join("kassa.fingerprint-key").exists(), "in the working directory");

    // A node given the key, as every node of a deployment should be, has nothing to say.
    let elsewhere = tempfile::tempdir().unwrap();
    let env = [("KASSA_SECRET_KEY", HOOK_KEY), ("KASSA_FINGERPRINT_KEY", "0123456789abcdef0123456789abcdef")];
    let (mut node, _) = Kassa::serve(elsewhere.path(), &args, &env);
    assert!(node.terminate().success());
    assert!(!node.stderr().contains("same key"), "{}", node.stderr());
    assert!(!elsewhere.path().join("kassa.fingerprint-key").exists());
}

#[tokio::test]
async fn a_database_deleted_under_the_server_takes_no_more_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", HOOK_KEY)]);
    let http = Http::new(&addr);
    http.product(HOOK_KEY, "Before").await;
    assert_eq!(http.get(None, "/health").await.0, 200);

    for file in ["kassa.db", "kassa.db-wal", "kassa.db-shm"] {
        std::fs::remove_file(dir.path().join(file)).unwrap();
    }
    let db = dir.path().canonicalize().unwrap().join("kassa.db").display().to_string();
    // Every write is refused from the first one on, with a message that names the file.
    for name in ["After 1", "After 2"] {
        let (status, body) = http.post(HOOK_KEY, "/products", &[("name", name)]).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["type"], "api_error", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&db) && message.contains("deleted"), "{message}");
    }
    let (status, body) = http.get(None, "/health").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert!(body["reason"].as_str().unwrap().contains("deleted or replaced"), "{body}");
    // What is still open can still be read.
    assert_eq!(http.product_names(HOOK_KEY).await, ["Before"]);
    assert!(kassa.terminate().success(), "{}", kassa.stderr());
    let stderr = kassa.stderr();
    assert_eq!(stderr.matches("THE DATABASE IS LOST").count(), 1, "said once, loudly:\n{stderr}");
    assert!(stderr.contains(&db), "{stderr}");
}

#[tokio::test]
async fn a_second_server_on_the_same_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", HOOK_KEY)]);
    let db = dir.path().canonicalize().unwrap().join("kassa.db").display().to_string();

    let mut second = Kassa::spawn(dir.path(), &["serve", "--listen", "127.0.0.1:0"], &[]);
    assert!(!second.wait().success(), "a second server must not start:\n{}", second.stderr());
    let stderr = second.stderr();
    assert!(stderr.contains(&db) && stderr.contains("in use by another kassa process"), "{stderr}");
    assert!(!stderr.contains("kassa is serving"), "{stderr}");
    // Nor may `kassa migrate` change the schema under it.
    let mut migrate = Kassa::spawn(dir.path(), &["migrate"], &[]);
    assert!(!migrate.wait().success());
    assert!(migrate.stderr().contains("in use by another kassa process"), "{}", migrate.stderr());

    // The first one serves on, undisturbed.
    Http::new(&addr).product(HOOK_KEY, "Still serving").await;
    assert!(first.terminate().success());
    // Once it has stopped, the file is free.
    let (mut next, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", HOOK_KEY)]);
    assert_eq!(Http::new(&addr).product_names(HOOK_KEY).await, ["Still serving"]);
    assert!(next.terminate().success());
}

/// Whether this machine lets the tests mount a small file system of their own (a tmpfs in a
/// mount namespace of their own, through `unshare`): as root, or where unprivileged user
/// namespaces are allowed.
fn can_mount_a_tmpfs(dir: &std::path::Path) -> bool {
    std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs \"$0\"", &dir.display().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A real full disk: kassa serves from a 4 MiB tmpfs (in a mount namespace of its own), most of
/// which a filler file takes; sessions are created until a write fails for want of room.
#[tokio::test]
async fn health_answers_503_while_the_disk_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let fs = dir.path().join("fs");
    std::fs::create_dir(&fs).unwrap();
    if !can_mount_a_tmpfs(&fs) {
        let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
        assert!(!ci, "under CI this test must run: it needs `unshare -rm` and a tmpfs mount");
        eprintln!("SKIPPED: this machine cannot mount a tmpfs in a namespace of its own (unshare -rm)");
        return;
    }
    let fs_path = fs.display().to_string();
    let setup = "mount -t tmpfs -o size=4m tmpfs \"$0\" && head -c 3000000 /dev/zero > \"$0/filler\" \
                 && cd \"$0\" && exec \"$@\"";
    let cmd = common::command_via(
        dir.path(),
        &["unshare", "-rm", "sh", "-c", setup, &fs_path],
        &["serve", "--listen", "127.0.0.1:0"],
        &[("KASSA_SECRET_KEY", HOOK_KEY)],
    );
    let mut kassa = Kassa::spawn_command(cmd);
    let http = Http::new(&kassa.addr());
    assert_eq!(http.get(None, "/health").await.0, 200);

    // Products with as much metadata as they may carry, until the disk is full.
    let value = "x".repeat(500);
    let keys: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
    let mut form = vec![("name", "Filler")];
    let metadata: Vec<String> = keys.iter().map(|k| format!("metadata[{k}]")).collect();
    form.extend(metadata.iter().map(|k| (k.as_str(), value.as_str())));
    let mut full = None;
    for _ in 0..1000 {
        let (status, body) = http.post(HOOK_KEY, "/products", &form).await;
        if status != 201 {
            full = Some((status, body));
            break;
        }
    }
    let (status, body) = full.expect("the disk filled up");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["type"], "api_error", "{body}");

    let (status, body) = http.get(None, "/health").await;
    assert_eq!(status, 503, "while writes fail: {body}");
    assert!(body["reason"].as_str().unwrap().contains("writes"), "{body}");

    // Room again (the filler goes, seen from outside through the process's own root): the next
    // write succeeds, and /health follows it.
    std::fs::remove_file(format!("/proc/{}/root{fs_path}/filler", kassa.pid())).unwrap();
    let (status, body) = http.post(HOOK_KEY, "/products", &form).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = http.get(None, "/health").await;
    assert_eq!(status, 200, "{body}");
    assert!(kassa.terminate().success());
    assert!(kassa.stderr().contains("SQLite writes are failing"), "{}", kassa.stderr());
}

// ---------------------------------------------------------------------------------------------
// Keys that suit CI and rotation (issue 14 §3): `KASSA_SECRET_KEY` on a database that has another
// key, `kassa accounts keys create|list|revoke` (and the roll), and `kassa listen --print-secret`
// and its retries while the forward URL refuses connections.

/// Wait until `key` gets a 401; returns its error object.
async fn until_refused(http: &Http, key: &str) -> Value {
    let rt = tokio::runtime::Handle::current();
    poll("the key to be refused", || {
        let (status, body) = tokio::task::block_in_place(|| rt.block_on(http.get(Some(key), "/products")));
        (status == 401).then(|| body["error"].clone())
    })
}

/// `kassa <args>` run to the end: (success, stdout, stderr).
fn run_to_end(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = command(dir, args, env).output().expect("kassa runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One row of `kassa accounts keys list`.
#[derive(Debug)]
struct KeyRow {
    id: String,
    key: String,
    last_used: String,
    state: String,
}

fn list_keys(dir: &std::path::Path, db: &str) -> Vec<KeyRow> {
    let (ok, stdout, stderr) = run_to_end(dir, &["accounts", "keys", "list", "--database-url", db], &[]);
    assert!(ok, "{stderr}");
    let mut lines = stdout.lines();
    let header = lines.next().expect("a header");
    let at = |name: &str| header.find(name).unwrap_or_else(|| panic!("{name} in {header}"));
    let (key, created, used, state) = (at("KEY"), at("CREATED"), at("LAST USED"), at("STATE"));
    // Columns by the header's byte offsets: every cell before STATE is ASCII but the key's `…`.
    lines
        .map(|l| {
            let shift = '…'.len_utf8() - 1;
            KeyRow {
                id: l[..key].trim().to_owned(),
                key: l[key..created + shift].trim().to_owned(),
                last_used: l[used + shift..state + shift].trim().to_owned(),
                state: l[state + shift..].trim().to_owned(),
            }
        })
        .collect()
}

fn last4(key: &str) -> &str {
    &key[key.len() - 4..]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kassa_secret_key_on_a_database_with_another_key_becomes_another_key_of_the_default_account() {
    let dir = tempfile::tempdir().unwrap();
    // A first start made the default account, with a generated key.
    let (mut first, addr) = Kassa::serve(dir.path(), &[], &[]);
    let generated = printed_keys(&first.stderr()).pop().expect("a key");
    Http::new(&addr).product(&generated, "Made first").await;
    assert!(first.terminate().success());

    // A CI job's environment brings its own key: it works, as a key of the same account.
    const CI_KEY: &str = "sk_test_CiJobKey0123456789abcdefghij";
    let (mut second, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", CI_KEY)]);
    let http = Http::new(&addr);
    assert_eq!(http.product_names(CI_KEY).await, ["Made first"]);
    assert_eq!(http.product_names(&generated).await, ["Made first"]);
    let logs = second.stderr();
    assert_eq!(logs.matches("added it to the default account").count(), 1, "{logs}");
    assert!(logs.contains("sk_test_…ghij"), "the log names the key masked:\n{logs}");
    assert!(!logs.contains(CI_KEY) && !logs.contains("CiJobKey"), "{logs}");
    assert!(second.terminate().success());

    // The same key again: nothing new.
    let (mut third, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", CI_KEY)]);
    assert_eq!(Http::new(&addr).product_names(CI_KEY).await, ["Made first"]);
    assert!(!third.stderr().contains("added it"), "{}", third.stderr());
    assert!(third.terminate().success());
    let rows = list_keys(dir.path(), "sqlite://kassa.db");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().any(|r| r.key == format!("sk_test_…{}", last4(&generated))), "{rows:?}");
    assert!(rows.iter().any(|r| r.key == "sk_test_…ghij"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_keys_create_list_revoke_and_roll() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("shop.db").display());
    const KEY: &str = "sk_test_RotationKey000000000000000wxyz";
    let (mut server, addr) = Kassa::serve(dir.path(), &["--database-url", &db], &[("KASSA_SECRET_KEY", KEY)]);
    let http = Http::new(&addr);
    http.product(KEY, "Shop's").await;

    // One key, used just now (written down off the request's path: poll).
    let rows = poll("the first key's use in the list", || {
        let rows = list_keys(dir.path(), &db);
        (rows[0].last_used != "never").then_some(rows)
    });
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].key, "sk_test_…wxyz");
    assert!(rows[0].id.starts_with("key_") && rows[0].state == "active", "{rows:?}");
    assert!(rows[0].last_used.ends_with(" UTC"), "{rows:?}");
    let first_id = rows[0].id.clone();

    // A second key: printed alone on stdout, and it opens the same account at once.
    let (ok, stdout, stderr) =
        run_to_end(dir.path(), &["accounts", "keys", "create", "--database-url", &db], &[]);
    assert!(ok, "{stderr}");
    let second = stdout.strip_suffix('\n').expect("one line").to_owned();
    assert!(second.starts_with("sk_test_") && second.len() >= 8 + 24 && !second.contains(' '), "{stdout:?}");
    assert!(!stderr.contains(&second), "the key goes to stdout only");
    assert_eq!(http.product_names(&second).await, ["Shop's"]);
    let rows = list_keys(dir.path(), &db);
    assert_eq!(rows.len(), 2);
    let second_row = rows.iter().find(|r| r.key.ends_with(last4(&second))).expect("the new key is listed");
    assert_eq!((second_row.state.as_str(), second_row.id != first_id), ("active", true));
    let second_id = second_row.id.clone();

    // Revoked: refused as an unknown key by the running server within its cache time.
    let (ok, _, stderr) =
        run_to_end(dir.path(), &["accounts", "keys", "revoke", &second_id, "--database-url", &db], &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&second_id) && stderr.contains("within 10 s"), "{stderr}");
    let refused_at = Instant::now();
    let e = until_refused(&http, &second).await;
    assert!(refused_at.elapsed() < std::time::Duration::from_secs(30), "{:?}", refused_at.elapsed());
    assert_eq!(e["type"], "invalid_request_error");
    assert!(e["message"].as_str().unwrap().starts_with("Invalid API Key provided: sk_test_*"), "{e}");
    assert!(!e.to_string().contains(&second), "{e}");
    let rows = list_keys(dir.path(), &db);
    assert!(rows.iter().any(|r| r.id == second_id && r.state.starts_with("revoked ")), "{rows:?}");
    let (ok, _, stderr) =
        run_to_end(dir.path(), &["accounts", "keys", "revoke", &second_id, "--database-url", &db], &[]);
    assert!(!ok && stderr.contains(&second_id), "revoking twice: {stderr}");

    // Rolled: a new key, and the first keeps working until its expiry, then is refused as expired.
    let (ok, stdout, stderr) = run_to_end(
        dir.path(),
        &["accounts", "keys", "create", "--roll", &first_id, "--expires-in", "3s", "--database-url", &db],
        &[],
    );
    assert!(ok, "{stderr}");
    let third = stdout.trim().to_owned();
    assert!(stderr.contains(&format!("rolled key {first_id}")) && stderr.contains("expires at"), "{stderr}");
    let rows = list_keys(dir.path(), &db);
    assert!(rows.iter().any(|r| r.id == first_id && r.state.starts_with("active, expires ")), "{rows:?}");
    let e = until_refused(&http, KEY).await;
    assert_eq!(e["code"], "api_key_expired", "{e}");
    assert_eq!(e["message"], format!("Expired API Key provided: sk_test_{}wxyz", "*".repeat(KEY.len() - 12)));
    assert_eq!(http.product_names(&third).await, ["Shop's"]);
    let rows = list_keys(dir.path(), &db);
    assert!(rows.iter().any(|r| r.id == first_id && r.state.starts_with("expired ")), "{rows:?}");

    // Mistakes are refused, and leave the keys as they were.
    let cases: [(&[&str], &str); 4] = [
        (&["accounts", "keys", "list", "--account", "acct_nope"], "no account acct_nope"),
        (&["accounts", "keys", "create", "--roll", "key_nope"], "key_nope"),
        (&["accounts", "keys", "create", "--expires-in", "1h"], "--roll"),
        (&["accounts", "keys", "create", "--roll", &first_id, "--expires-in", "soon"], "--expires-in"),
    ];
    for (args, says) in cases {
        let mut args = args.to_vec();
        args.extend(["--database-url", &db]);
        let (ok, stdout, stderr) = run_to_end(dir.path(), &args, &[]);
        assert!(!ok && stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(list_keys(dir.path(), &db).len(), 3);
    assert!(server.terminate().success());
}

#[tokio::test]
async fn listen_print_secret_prints_only_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    const KEY: &str = "sk_test_PrintSecretKey00000000000000000";
    let want = format!("{}\n", kassa::listen::secret_for(KEY).expose());
    // No server needed: the secret follows from the key alone.
    let (ok, stdout, stderr) = run_to_end(dir.path(), &["listen", "--print-secret", "--api-key", KEY], &[]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, want);
    let (ok, stdout, _) = run_to_end(dir.path(), &["listen", "--print-secret"], &[("KASSA_SECRET_KEY", KEY)]);
    assert!(ok);
    assert_eq!(stdout, want);
    // Without it, --forward-to is required.
    let (ok, _, stderr) = run_to_end(dir.path(), &["listen", "--api-key", KEY], &[]);
    assert!(!ok && stderr.contains("--forward-to"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_keeps_trying_a_forward_url_that_refuses_connections_for_10_s() {
    const KEY: &str = "sk_test_ListenRetryKey0000000000000000";
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", KEY)]);
    let http = Http::new(&addr);
    // An address nothing listens on yet: the application is still starting.
    let app_addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let forward_to = format!("http://{app_addr}/hook");
    let api_url = format!("http://{addr}");
    let mut listen = Kassa::spawn(
        dir.path(),
        &["listen", "--forward-to", &forward_to, "--api-url", &api_url],
        &[("KASSA_SECRET_KEY", KEY)],
    );
    poll("the ready line", || listen.stdout().first().cloned());

    let (s, customer) = http.post(KEY, "/customers", &[("email", "early@example.test")]).await;
    assert_eq!(s, 201);
    poll("listen to see the refusal", || listen.stderr().contains("refused the connection").then_some(()));
    // The application comes up: the event arrives, signed. It answers `Connection: close`, so that
    // no connection is kept for later.
    let close = Answer::Raw {
        status: 200,
        headers: vec![("connection".into(), "close".into())],
        body: b"ok".to_vec(),
    };
    let rx = Receiver::start_on(&app_addr, vec![close]);
    let got = rx.wait_for(1);
    assert_eq!(got[0].json()["data"]["object"]["id"], customer["id"]);
    let secret = kassa::listen::secret_for(KEY);
    assert!(verify_signature(secret.expose(), got[0].header("stripe-signature").unwrap(), &got[0].body));
    poll("the 200 line", || listen.stdout().join("\n").contains("<-- [200]").then_some(()));
    drop(rx);

    // Down for good: after 10 s of refusals, the event is reported as failed, as before.
    let (s, _) = http.post(KEY, "/customers", &[("email", "late@example.test")]).await;
    assert_eq!(s, 201);
    let created = Instant::now();
    let failed = poll("the later event's failure", || {
        let out = listen.stdout().join("\n");
        out.lines().find(|l| l.contains("<-- [ERR]")).map(str::to_owned)
    });
    assert!(created.elapsed() >= kassa::listen::REFUSED_RETRY_FOR, "{:?}: {failed}", created.elapsed());
    assert!(failed.contains(&forward_to), "{failed}");
    listen.signal("INT");
    assert!(listen.wait().success(), "{}", listen.stderr());
    assert!(server.terminate().success());
}
