//! What every test binary of this crate that talks to kassa shares: the black-box API suite
//! (`tests/api`, which includes this file with `#[path]`), `tests/cli.rs` and `tests/scaleout.rs`.
//!
//! - [`poll`] and [`poll_async`]: wait for a condition, with one generous deadline ([`TIMEOUT`]),
//!   instead of sleeping or asserting how long something may take;
//! - [`Receiver`]: the one fake webhook receiver, scripted answer by answer ([`Answer`]). It runs
//!   on plain threads, so it serves under any runtime (or none) while a test blocks;
//! - [`verify_signature`]: a `Stripe-Signature` check with an HMAC computed here, parsed the way
//!   Stripe's libraries parse the header;
//! - [`Kassa`]: a real `kassa` process (spawned in a directory of its own — directly, or through a
//!   wrapper such as `sh -c` or `unshare` with [`command_via`] — waited for until it serves,
//!   stopped with SIGTERM or SIGKILL, its stderr kept);
//! - [`SessionLoad`] and [`unreadable`]: sessions created concurrently with every acknowledged
//!   id remembered, and a check that each of them is there afterwards (the kill -9 tests);
//! - [`id`], [`ids`], [`all_at_once`];
//! - [`postgres::PrivatePostgres`]: a PostgreSQL cluster of the test's own (TLS on, if asked).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

pub mod postgres;

/// How long any awaited condition may take before the test fails: generous, because debug
/// binaries, databases and the tests themselves share a busy 2-core machine. Nothing waits this
/// long when the code works.
pub const TIMEOUT: Duration = Duration::from_secs(90);
/// Between two looks at a condition.
pub const POLL: Duration = Duration::from_millis(20);

/// Poll `f` until it answers `Some`, or panic after [`TIMEOUT`].
pub fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// [`poll`] for async checks.
pub async fn poll_async<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// The `id` of an object.
pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_owned()
}

/// The ids of a list's `data`.
pub fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap_or_else(|| panic!("not a list: {list}")).iter().map(id).collect()
}

/// Run every future at once (each as its own task, so they really overlap on the runtime's
/// threads) and collect their outputs in order.
pub async fn all_at_once<T: Send + 'static>(
    futures: impl IntoIterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("a task"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Webhooks: the receiver and the signature check

/// What the [`Receiver`] does with one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status, with this `text/plain` body.
    Status(u16, &'static str),
    /// This status, these headers and this body, as they are.
    Raw { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// Answer `200 ok`, but only after this long (or when the receiver is dropped).
    Late(Duration),
    /// Never answer: hold the connection open until the sender closes it or the receiver is
    /// dropped ([`Received::closed_at`] tells when the sender closed it).
    Hang,
    /// Close the connection without answering.
    Close,
    /// Answer `200` with a long body at once in the headers, then send the body one byte per this
    /// long, until the sender closes the connection ([`Received::closed_at`]) or the receiver is
    /// dropped.
    SlowBody(Duration),
    /// Send the status line and headers one byte per this long, never finishing them, until the
    /// sender closes the connection ([`Received::closed_at`]) or the receiver is dropped.
    SlowHead(Duration),
}

impl Answer {
    /// A redirect (`301`, `302`, `307`, …) to `location`.
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::Raw { status, headers: vec![("location".to_owned(), location.to_owned())], body: Vec::new() }
    }
}

/// A request the [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The sender's local port (to find which process sent it).
    pub peer_port: u16,
    closed: Arc<Mutex<Option<Instant>>>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// For a request answered with [`Answer::Hang`]: when the sender closed the connection.
    pub fn closed_at(&self) -> Option<Instant> {
        *self.closed.lock().unwrap()
    }
}

/// Whether the receiver has been dropped, and a way to wake the threads that wait for it.
#[derive(Default)]
struct Gone {
    gone: Mutex<bool>,
    woken: Condvar,
}

impl Gone {
    fn is_gone(&self) -> bool {
        *self.gone.lock().unwrap()
    }

    /// Wait up to `timeout`; whether the receiver was dropped meanwhile.
    fn wait(&self, timeout: Duration) -> bool {
        let gone = self.gone.lock().unwrap();
        let (gone, _) = self.woken.wait_timeout_while(gone, timeout, |g| !*g).unwrap();
        *gone
    }
}

/// A webhook receiver on a free port: plain HTTP/1.1 over TCP (with keep-alive), so that it can
/// also redirect, answer late, hang or drop a connection. It answers with its script in order,
/// then `200 ok`.
pub struct Receiver {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    gone: Arc<Gone>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        *self.gone.gone.lock().unwrap() = true;
        self.gone.woken.notify_all();
        // Wake the accept loop so that it sees it is done.
        let _ = TcpStream::connect(self.addr);
    }
}

impl Receiver {
    pub fn start(script: Vec<Answer>) -> Self {
        Self::start_on("127.0.0.1:0", script)
    }

    /// [`Receiver::start`] on a given address (one a test reserved and let go).
    pub fn start_on(addr: &str, script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind(addr).unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.into_iter().collect::<VecDeque<_>>()));
        let gone = Arc::new(Gone::default());
        let (r, s, g) = (received.clone(), script.clone(), gone.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if g.is_gone() {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (r, s, g) = (r.clone(), s.clone(), g.clone());
                std::thread::spawn(move || serve(conn, &r, &s, &g));
            }
        });
        Self { base: format!("http://{addr}"), addr, received, script, gone }
    }

    /// `<base>/hook`
    pub fn url(&self) -> String {
        format!("{}/hook", self.base)
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Wait until `n` requests have come; returns all received by then.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        poll(&format!("{n} requests at the receiver"), || Some(self.received()).filter(|r| r.len() >= n))
    }

    /// [`Receiver::wait_for`] without blocking the thread: for tests whose runtime must go on
    /// meanwhile (a server's delivery worker on PostgreSQL uses connections driven by it).
    pub async fn arrived(&self, n: usize) -> Vec<Received> {
        poll_async(&format!("{n} requests at the receiver"), || async {
            Some(self.received()).filter(|r| r.len() >= n)
        })
        .await
    }

    /// The event types received so far, in order.
    pub fn types(&self) -> Vec<String> {
        self.received().iter().map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned()).collect()
    }

    /// Answer the next requests with these.
    pub fn then(&self, answers: Vec<Answer>) {
        self.script.lock().unwrap().extend(answers);
    }

    /// Answer the next requests with these instead of what is left of the script.
    pub fn rescript(&self, answers: Vec<Answer>) {
        *self.script.lock().unwrap() = answers.into();
    }
}

/// Serve requests on one connection until it closes.
fn serve(conn: TcpStream, received: &Mutex<Vec<Received>>, script: &Mutex<VecDeque<Answer>>, gone: &Gone) {
    let peer_port = conn.peer_addr().map(|a| a.port()).unwrap_or(0);
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let closed = Arc::new(Mutex::new(None));
        let body = String::from_utf8_lossy(&body).into_owned();
        received.lock().unwrap().push(Received { path, headers, body, peer_port, closed: closed.clone() });
        let answer = script.lock().unwrap().pop_front().unwrap_or(Answer::Status(200, "ok"));
        let (status, headers, body) = match answer {
            Answer::Status(status, text) => {
                (status, vec![("content-type".to_owned(), "text/plain".to_owned())], text.as_bytes().to_vec())
            }
            Answer::Raw { status, headers, body } => (status, headers, body),
            Answer::Late(after) => {
                if gone.wait(after) {
                    return;
                }
                (200, Vec::new(), b"ok".to_vec())
            }
            Answer::Hang => {
                // Until the sender gives up (its timeout, or its process dies) or the test ends.
                let mut stream = writer;
                stream.set_read_timeout(Some(POLL)).unwrap();
                let mut byte = [0u8; 1];
                while !gone.is_gone() {
                    match stream.read(&mut byte) {
                        Ok(0) => break,
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Ok(_) | Err(_) => break,
                    }
                }
                *closed.lock().unwrap() = Some(Instant::now());
                return;
            }
            Answer::Close => return,
            Answer::SlowBody(every) => {
                let head =
                    "HTTP/1.1 200 Answer\r\ncontent-type: text/plain\r\ncontent-length: 1000000\r\n\r\n";
                if writer.write_all(head.as_bytes()).is_ok() {
                    trickle(&mut writer, &[b'x'; 1_000_000], every, gone);
                }
                *closed.lock().unwrap() = Some(Instant::now());
                return;
            }
            Answer::SlowHead(every) => {
                trickle(
                    &mut writer,
                    b"HTTP/1.1 200 Answer\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n",
                    every,
                    gone,
                );
                *closed.lock().unwrap() = Some(Instant::now());
                return;
            }
        };
        let mut head = format!("HTTP/1.1 {status} Answer\r\ncontent-length: {}\r\n", body.len());
        for (k, v) in &headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(&body)).is_err() {
            return;
        }
    }
}

/// Write `bytes` one at a time, `every` apart, until they are all written, the other side closes
/// the connection, or the receiver is dropped.
fn trickle(writer: &mut TcpStream, bytes: &[u8], every: Duration, gone: &Gone) {
    for byte in bytes {
        if gone.wait(every)
            || writer.write_all(std::slice::from_ref(byte)).and_then(|()| writer.flush()).is_err()
        {
            return;
        }
    }
}

/// Whether a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`, in any order) signs `body` with
/// `secret`, with the HMAC-SHA256 computed here, as Stripe's libraries check it (the time is
/// [`signature_time`]'s to check).
pub fn verify_signature(secret: &str, header: &str, body: &str) -> bool {
    use hmac::{KeyInit, Mac};
    let Some(t) = signature_time(header) else { return false };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    header.split(',').filter_map(|part| part.strip_prefix("v1=")).any(|v1| v1 == want)
}

/// The `t=` of a `Stripe-Signature` header.
pub fn signature_time(header: &str) -> Option<i64> {
    header.split(',').find_map(|part| part.strip_prefix("t="))?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// `kassa` processes

const BIN: &str = env!("CARGO_BIN_EXE_kassa");

/// Settings the tests control; anything the developer's shell has set is removed.
const KASSA_VARS: &[&str] = &[
    "KASSA_SECRET_KEY",
    "KASSA_LISTEN",
    "KASSA_DATABASE_URL",
    "KASSA_PUBLIC_URL",
    "KASSA_LOG_FORMAT",
    "KASSA_SWEEP_INTERVAL",
    "KASSA_WEBHOOK_TIMEOUT",
    "KASSA_WEBHOOK_RETRY_FIRST",
    "KASSA_WEBHOOK_RETRY_MAX_INTERVAL",
    "KASSA_WEBHOOK_RETRY_FOR",
    "KASSA_WEBHOOK_LEASE",
    "KASSA_WEBHOOK_MAX_RATE",
    "KASSA_WEBHOOK_ENDPOINT_CONCURRENCY",
    "KASSA_WEBHOOK_ALLOW_PRIVATE",
    "KASSA_DUNNING_FINAL_STATUS",
    "KASSA_API_URL",
    "KASSA_HEADER_READ_TIMEOUT",
    "KASSA_BODY_READ_TIMEOUT",
    "KASSA_IDLE_TIMEOUT",
    "KASSA_MAX_CONNECTIONS",
    "KASSA_SHUTDOWN_TIMEOUT",
    "KASSA_FINGERPRINT_KEY",
    "KASSA_FINGERPRINT_KEY_FILE",
];

/// `kassa <args>` in `dir`, with only the settings in `env` (and `RUST_LOG=info`).
pub fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    command_via(dir, &[], args, env)
}

/// [`command`] run through `wrapper` (a program and its arguments, which end with the kassa
/// binary's path and `args`), e.g. `["sh", "-c", "umask 022 && exec \"$@\"", "sh"]`: for what
/// must be set up in the process itself before kassa starts (a umask, a namespace).
pub fn command_via(dir: &Path, wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = match wrapper.split_first() {
        None => Command::new(BIN),
        Some((program, rest)) => {
            let mut cmd = Command::new(program);
            cmd.args(rest).arg(BIN);
            cmd
        }
    };
    cmd.current_dir(dir).args(args);
    for var in KASSA_VARS {
        cmd.env_remove(var);
    }
    cmd.env("RUST_LOG", "info").env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Remove ANSI escape sequences (`ESC [ … letter`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A running `kassa` process; killed if a test ends without stopping it.
pub struct Kassa {
    pub child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// Read stdout and stderr until the pipes close; joined once the process has exited, so that
    /// [`Kassa::stdout`] and [`Kassa::stderr`] then hold everything it wrote.
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Collect the lines of `pipe` into `lines` until it closes.
fn read_lines(
    pipe: impl Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            lines.lock().unwrap().push(line);
        }
    })
}

/// `cmd` run under `prlimit --nofile=<limit>`: the same program, arguments, environment and
/// directory, with at most `limit` open files.
pub fn with_open_file_limit(cmd: &Command, limit: u64) -> Command {
    let mut limited = Command::new("prlimit");
    limited.arg(format!("--nofile={limit}:{limit}")).arg(cmd.get_program()).args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        limited.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => limited.env(k, v),
            None => limited.env_remove(k),
        };
    }
    limited
}

impl Kassa {
    /// Start `kassa <args>` without waiting for anything.
    pub fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn_command(command(dir, args, env))
    }

    /// Start `cmd` (from [`command`] or [`command_via`]) without waiting for anything.
    pub fn spawn_command(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kassa starts");
        let (stdout, stderr) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        let readers = vec![
            read_lines(child.stdout.take().unwrap(), stdout.clone()),
            read_lines(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Self { child, stdout, stderr, readers }
    }

    /// `kassa serve --listen 127.0.0.1:0` plus `args`, waited for until it serves; returns the
    /// process and the address it serves on.
    pub fn serve(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Self, String) {
        let mut all = vec!["serve"];
        if !args.contains(&"--listen") && !env.iter().any(|(k, _)| *k == "KASSA_LISTEN") {
            all.extend(["--listen", "127.0.0.1:0"]);
        }
        all.extend(args);
        let mut k = Self::spawn(dir, &all, env);
        let addr = k.addr();
        (k, addr)
    }

    /// The lines written to stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything written to stderr so far, without colours.
    pub fn stderr(&self) -> String {
        strip_ansi(&self.raw_stderr())
    }

    pub fn raw_stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address from the `kassa is serving addr=…` log line, waited for.
    pub fn addr(&mut self) -> String {
        let stderr = self.stderr.clone();
        let child = &mut self.child;
        poll("`kassa is serving`", || {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("kassa exited with {status}:\n{}", stderr.lock().unwrap().join("\n"));
            }
            let lines = stderr.lock().unwrap();
            let line = strip_ansi(lines.iter().find(|l| l.contains("kassa is serving"))?);
            let addr = line.split_whitespace().find_map(|w| w.strip_prefix("addr="))?;
            Some(addr.trim_matches('"').to_owned())
        })
    }

    /// Send `signal` (`TERM`, `KILL`, `INT`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        let sent = Command::new("kill").args([&format!("-{signal}"), &pid]).status().expect("kill runs");
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    /// SIGTERM, then wait for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait()
    }

    /// SIGKILL, then wait for the exit.
    pub fn kill(&mut self) -> ExitStatus {
        self.signal("KILL");
        self.wait()
    }

    /// Wait for the exit (and for the last of its output).
    pub fn wait(&mut self) -> ExitStatus {
        let child = &mut self.child;
        let status = poll("kassa to exit", || child.try_wait().unwrap());
        for reader in self.readers.drain(..) {
            reader.join().expect("an output reader");
        }
        status
    }
}

impl Drop for Kassa {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Load, for the kill -9 tests

/// Sessions created over and over by concurrent workers, each acknowledged (`201`) id
/// remembered with the server that acknowledged it. A worker stops at its first request that
/// gets no answer (its server died).
pub struct SessionLoad {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<(usize, String)>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl SessionLoad {
    /// `workers` workers, worker `i` against `bases[i % bases.len()]` (`http://host:port`), each
    /// creating sessions for one of `price` with `key`.
    pub fn start(client: &reqwest::Client, bases: &[String], key: &str, price: &str, workers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let workers = (0..workers)
            .map(|worker| {
                let server = worker % bases.len();
                let url = format!("{}/checkout/session", bases[server]);
                let (client, key, price) = (client.clone(), key.to_owned(), price.to_owned());
                let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
                tokio::spawn(async move {
                    let form = [("line_items[0][price]", price.as_str()), ("line_items[0][quantity]", "1")];
                    while !stop.load(Ordering::SeqCst) {
                        let Ok(r) = client.post(&url).bearer_auth(&key).form(&form).send().await else {
                            return;
                        };
                        if r.status() == 201
                            && let Ok(body) = r.json::<Value>().await
                        {
                            acknowledged.lock().unwrap().push((server, id(&body)));
                        }
                    }
                })
            })
            .collect();
        Self { stop, acknowledged, workers }
    }

    /// The acknowledged ids so far, with the index of the server that acknowledged each.
    pub fn acknowledged(&self) -> Vec<(usize, String)> {
        self.acknowledged.lock().unwrap().clone()
    }

    /// Wait until `n` sessions in all have been acknowledged.
    pub async fn wait_for(&self, n: usize) {
        poll_async(&format!("{n} acknowledged sessions"), || async {
            (self.acknowledged.lock().unwrap().len() >= n).then_some(())
        })
        .await;
    }

    /// Stop the workers; returns every acknowledged id.
    pub async fn stop(self) -> Vec<(usize, String)> {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            w.await.expect("a load worker");
        }
        self.acknowledged.lock().unwrap().clone()
    }
}

/// The sessions of `acknowledged` that `base` does not answer with (status, and the same id):
/// each with its status there. At most 32 reads in flight: the check is of durability, not load
/// (thousands of connections opened at once overflowed the node's listen queue and connection
/// limit on a loaded 2-core machine, and their connects timed out).
pub async fn unreadable(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    acknowledged: &[(usize, String)],
) -> Vec<(usize, String, u16)> {
    let checks = acknowledged.iter().map(|(server, id)| {
        let req = client.get(format!("{base}/checkout/session/{id}")).bearer_auth(key);
        let (server, id) = (*server, id.clone());
        async move {
            let r = req.send().await.expect("request sent");
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status != 200 || body["id"] != id.as_str()).then_some((server, id, status))
        }
    });
    futures_util::stream::iter(checks).buffered(32).filter_map(std::future::ready).collect().await
}
