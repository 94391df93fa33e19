//! What the test binaries that spawn real `kassa` processes share (`tests/cli.rs`,
//! `tests/scaleout.rs`): a webhook receiver on plain threads.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// A request the [`Receiver`] got.
#[derive(Clone, Debug)]
pub struct Got {
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The sender's local port (to find which process sent it).
    pub peer_port: u16,
}

impl Got {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver on its own threads: answers `200 ok`, except that with `hang_first` it never
/// answers its first request (it holds the connection open instead).
pub struct Receiver {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    pub fn start(hang_first: bool) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Got>>> = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let seen = seen.clone();
                std::thread::spawn(move || serve(conn, &seen, hang_first));
            }
        });
        Self { base, got }
    }

    /// `<base>/hook`
    pub fn url(&self) -> String {
        format!("{}/hook", self.base)
    }

    /// Everything received so far, in order.
    pub fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, seen: &Mutex<Vec<Got>>, hang_first: bool) {
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
        let first = {
            let mut seen = seen.lock().unwrap();
            seen.push(Got { path, headers, body: String::from_utf8_lossy(&body).into_owned(), peer_port });
            seen.len() == 1
        };
        if hang_first && first {
            std::thread::sleep(Duration::from_secs(600));
            return;
        }
        if writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").is_err() {
            return;
        }
    }
}

/// Check a `Stripe-Signature` header (`t=…,v1=…`) with an HMAC computed here.
pub fn signed_by(secret: &str, header: &str, body: &str) -> bool {
    use hmac::{KeyInit, Mac};
    let Some((t, v1)) = header.split_once(',') else { return false };
    let (Some(t), Some(v1)) = (t.strip_prefix("t="), v1.strip_prefix("v1=")) else { return false };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    want == v1
}
