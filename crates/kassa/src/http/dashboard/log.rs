//! The request log (`/dashboard/logs`): every API request of an account, kept for
//! `--request-log-retention` (default 7 days), at most [`PER_ACCOUNT`] entries per account, and
//! at most [`BYTES_MAX`] bytes on the node (the oldest entries of any account go first): a count
//! alone does not bound memory, since one entry may hold a list of a hundred invoices.
//!
//! **Off the hot path.** The API middleware hands a [`Captured`] request to
//! [`RequestLog::record`], which only `try_send`s it on a bounded channel; when the channel is full
//! (in entries, or in bytes: [`PENDING_MAX`]) the entry is dropped and counted
//! ([`RequestLog::dropped`]), never waited for. A background task
//! takes entries in batches and appends them under one lock. Nothing is parsed, scrubbed or
//! formatted until the dashboard shows an entry.
//!
//! **One block per request.** A captured request's variable parts — method, path, request id,
//! idempotency key, the request's query, content type and body, and the response body — are copied
//! into one exact-size allocation ([`Packed`]) when it is captured. Kept requests live for seconds
//! to days among the API's short-lived allocations; as eight blocks of assorted sizes each, they
//! pinned allocator pages that were otherwise free, and the log took about twice its bytes of the
//! node's memory. Copying at capture also lets the answer's buffer (up to twice the answer's
//! length) go as soon as it is sent, instead of waiting in the channel.
//!
//! **Kept in memory, per node**, not in the store: the log is a debugging aid for the person at the
//! dashboard, entries are written far more often than read, and a table written on every request
//! would cost the database the write it exists to observe. A restart empties it; on several
//! nodes each shows the requests it served.
//!
//! **No secrets.** Headers are never kept (the API key travels in `Authorization`); parameters
//! and response bodies are scrubbed of anything named like a secret or card data ([`scrub`]):
//! webhook secrets, card numbers, CVCs.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, header, request};
use kassa_core::time::Timestamp;
use serde_json::Value;
use tokio::sync::mpsc;

/// How long entries are kept unless told (`--request-log-retention`): 7 days.
pub const DEFAULT_RETENTION: Timestamp = 7 * kassa_core::time::DAY;

/// The most entries kept per account (the oldest go first).
pub const PER_ACCOUNT: usize = 5_000;
/// Entries waiting for the writer; beyond this they are dropped.
const CHANNEL: usize = 1_024;
/// Bytes waiting for the writer; beyond this entries are dropped. A count alone does not bound
/// them: a full channel of lists of a hundred invoices would hold ~100 MB.
pub const PENDING_MAX: usize = 2 * 1024 * 1024;
/// How many entries the writer takes at once.
const BATCH: usize = 256;
/// The most bytes the node's log holds: requests as kept, and the text made to show them. 4 MiB
/// (16 MiB before): about 1,600 created sessions or 200 lists of ten, and a part the node can
/// afford of its 64 MB memory target under load (the allocator's pages come on top).
pub const BYTES_MAX: usize = 4 * 1024 * 1024;
/// The longest response body shown, in bytes (it is kept whole, so that it is scrubbed as JSON).
const BODY_MAX: usize = 32 * 1024;
/// What an entry costs besides its packed parts: the entry, its `Arc`, its place in the queue.
const ENTRY_OVERHEAD: usize = 256;

/// What the middleware hands over: the request's fixed parts and its [`Packed`] variable ones.
pub struct Captured {
    pub account: String,
    pub at: Timestamp,
    pub status: u16,
    pub duration_ms: f64,
    pub packed: Packed,
}

impl Captured {
    fn size(&self) -> usize {
        self.packed.size()
    }
}

/// A request's parameters as they came, for the length of the request: shared with the request
/// (no copy) until [`Packed::new`] copies them, and decoded as the API decodes them only when shown
/// (a copy of the decoded parameters cost the API several percent of its rate).
#[derive(Debug, Clone)]
pub struct RawParams {
    method: Method,
    content_type: Option<HeaderValue>,
    query: Option<String>,
    body: Bytes,
}

impl RawParams {
    /// What a request with these `parts` and `body` sent.
    pub fn of(parts: &request::Parts, body: &Bytes) -> Self {
        Self {
            method: parts.method.clone(),
            content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
            query: parts.uri.query().map(str::to_owned),
            body: body.clone(),
        }
    }
}

/// The parts of a [`Packed`] request: their places in the order they are stored.
struct Part;

impl Part {
    const METHOD: usize = 0;
    const PATH: usize = 1;
    const REQUEST_ID: usize = 2;
    const IDEMPOTENCY_KEY: usize = 3;
    const QUERY: usize = 4;
    const CONTENT_TYPE: usize = 5;
    const BODY: usize = 6;
    const RESPONSE: usize = 7;
}

const PARTS: usize = Part::RESPONSE + 1;

/// A logged request's variable parts in one allocation (see the module doc): each part's end
/// offset, and which of the optional ones were there.
#[derive(Debug)]
pub struct Packed {
    bytes: Box<[u8]>,
    ends: [usize; PARTS],
    /// Bit `Part::…` set: that optional part was present (an empty query is not a missing one).
    present: u8,
}

impl Packed {
    /// Copy a request's parts into one block.
    pub fn new(
        path: &str,
        request_id: &str,
        idempotency_key: Option<&str>,
        params: &RawParams,
        response: &[u8],
    ) -> Self {
        let parts: [Option<&[u8]>; PARTS] = [
            Some(params.method.as_str().as_bytes()),
            Some(path.as_bytes()),
            Some(request_id.as_bytes()),
            idempotency_key.map(str::as_bytes),
            params.query.as_deref().map(str::as_bytes),
            params.content_type.as_ref().map(HeaderValue::as_bytes),
            Some(&params.body),
            Some(response),
        ];
        let mut bytes = Vec::with_capacity(parts.iter().flatten().map(|p| p.len()).sum());
        let mut ends = [0; PARTS];
        let mut present = 0;
        for (i, part) in parts.iter().enumerate() {
            if let Some(p) = part {
                bytes.extend_from_slice(p);
                present |= 1 << i;
            }
            ends[i] = bytes.len();
        }
        Self { bytes: bytes.into_boxed_slice(), ends, present }
    }

    /// What an entry of these parts counts as in the log's bytes.
    fn size(&self) -> usize {
        ENTRY_OVERHEAD + self.bytes.len()
    }

    fn bytes(&self, part: usize) -> &[u8] {
        let start = part.checked_sub(1).map_or(0, |before| self.ends[before]);
        self.bytes.get(start..self.ends[part]).unwrap_or_default()
    }

    /// A part that was copied from a `&str` (every part but the bodies and the content type).
    fn str(&self, part: usize) -> &str {
        std::str::from_utf8(self.bytes(part)).unwrap_or_default()
    }

    fn optional(&self, part: usize) -> Option<&[u8]> {
        (self.present & (1 << part) != 0).then(|| self.bytes(part))
    }

    /// The parameters as the API decoded them; `null` when it could not.
    fn decoded(&self) -> Value {
        let Ok(method) = Method::from_bytes(self.bytes(Part::METHOD)) else { return Value::Null };
        let mut headers = HeaderMap::new();
        if let Some(ct) = self.optional(Part::CONTENT_TYPE).and_then(|ct| HeaderValue::from_bytes(ct).ok()) {
            headers.insert(header::CONTENT_TYPE, ct);
        }
        let query = self.optional(Part::QUERY).map(|q| std::str::from_utf8(q).unwrap_or_default());
        crate::http::middleware::decode_params(&method, &headers, query, self.bytes(Part::BODY))
            .unwrap_or(Value::Null)
    }
}

/// One logged request. Its parameters and response are kept as they came and scrubbed and
/// pretty-printed only when shown ([`Entry::params`], [`Entry::response`]): the writer does no
/// per-request work beyond storing them, so the log costs the API little.
#[derive(Debug)]
pub struct Entry {
    pub at: Timestamp,
    pub status: u16,
    pub duration_ms: f64,
    packed: Packed,
    /// [`Entry::params`] and [`Entry::response`], made the first time the entry is shown and kept
    /// for the next showing (a developer reloads the log while debugging).
    shown: OnceLock<(String, String)>,
    /// The log's byte count, which the shown text adds to when it is made.
    bytes: Arc<AtomicUsize>,
}

impl Entry {
    pub fn method(&self) -> &str {
        self.packed.str(Part::METHOD)
    }

    pub fn path(&self) -> &str {
        self.packed.str(Part::PATH)
    }

    pub fn request_id(&self) -> &str {
        self.packed.str(Part::REQUEST_ID)
    }

    pub fn idempotency_key(&self) -> Option<&str> {
        self.packed.optional(Part::IDEMPOTENCY_KEY).map(|k| std::str::from_utf8(k).unwrap_or_default())
    }

    fn raw_response(&self) -> &[u8] {
        self.packed.bytes(Part::RESPONSE)
    }

    /// The parameters, scrubbed, as pretty JSON.
    pub fn params(&self) -> &str {
        &self.shown().0
    }

    /// The response body, scrubbed, pretty when JSON, at most [`BODY_MAX`] bytes.
    pub fn response(&self) -> &str {
        &self.shown().1
    }

    fn shown(&self) -> &(String, String) {
        self.shown.get_or_init(|| {
            let shown = (self.make_params(), self.make_response());
            self.bytes.fetch_add(shown.0.len() + shown.1.len(), Ordering::Relaxed);
            shown
        })
    }

    /// The bytes this entry holds as kept (its shown text is counted from when it is made until
    /// the entry is dropped, which may be after the log let it go).
    fn size(&self) -> usize {
        self.packed.size()
    }

    fn make_params(&self) -> String {
        let mut params = self.packed.decoded();
        scrub(&mut params);
        serde_json::to_string_pretty(&params).unwrap_or_default()
    }

    fn make_response(&self) -> String {
        let response = match serde_json::from_slice::<Value>(self.raw_response()) {
            Ok(mut v) => {
                scrub(&mut v);
                serde_json::to_string_pretty(&v).unwrap_or_default()
            }
            Err(_) => {
                let mut v = Value::String(String::from_utf8_lossy(self.raw_response()).into_owned());
                scrub(&mut v);
                v.as_str().unwrap_or_default().to_owned()
            }
        };
        if response.len() > BODY_MAX {
            let mut cut = BODY_MAX;
            while !response.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}…", &response[..cut])
        } else {
            response
        }
    }

    /// Whether the raw response mentions `needle` (an object's id).
    pub fn response_mentions(&self, needle: &str) -> bool {
        !needle.is_empty() && self.raw_response().windows(needle.len()).any(|w| w == needle.as_bytes())
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Some((p, r)) = self.shown.get() {
            self.bytes.fetch_sub(p.len() + r.len(), Ordering::Relaxed);
        }
    }
}

#[derive(Default)]
struct Entries {
    by_account: HashMap<String, VecDeque<Arc<Entry>>>,
    /// What the kept entries hold ([`Entry::size`]); the entries add their shown text to it.
    bytes: Arc<AtomicUsize>,
}

impl Entries {
    /// Take the oldest entry of `account`, counting its bytes out.
    fn pop_oldest(&mut self, account: &str) -> Option<Arc<Entry>> {
        pop_front(self.by_account.get_mut(account)?, &self.bytes)
    }

    /// Drop the oldest entries of any account until the log holds at most `max` bytes (a tenth
    /// below, so that a full log does not search for the oldest entry on every request).
    fn fit(&mut self, max: usize) {
        if self.bytes.load(Ordering::Relaxed) <= max {
            return;
        }
        while self.bytes.load(Ordering::Relaxed) > max - max / 10 {
            let oldest = self
                .by_account
                .iter()
                .filter_map(|(account, list)| Some((list.front()?.at, account)))
                .min()
                .map(|(_, account)| account.clone());
            let Some(account) = oldest else { return };
            self.pop_oldest(&account);
        }
        self.by_account.retain(|_, list| !list.is_empty());
    }
}

pub struct RequestLog {
    tx: Option<mpsc::Sender<Captured>>,
    entries: Arc<Mutex<Entries>>,
    /// The bytes in the channel ([`Captured::size`]): added here, taken off by the writer.
    pending: Arc<AtomicUsize>,
    dropped: AtomicU64,
    retention: Timestamp,
}

impl RequestLog {
    /// A log keeping `retention` seconds; its writer runs on the current Tokio runtime (without
    /// one, or with a retention of 0, nothing is logged).
    pub fn new(retention: Timestamp) -> Self {
        let entries = Arc::new(Mutex::new(Entries::default()));
        let runtime = tokio::runtime::Handle::try_current().ok().filter(|_| retention > 0);
        let pending = Arc::new(AtomicUsize::new(0));
        let tx = runtime.map(|rt| {
            let (tx, rx) = mpsc::channel(CHANNEL);
            rt.spawn(write(rx, entries.clone(), pending.clone(), retention));
            tx
        });
        Self { tx, entries, pending, dropped: AtomicU64::new(0), retention }
    }

    /// Whether requests are kept at all (a retention above 0, on a runtime): when not, the API
    /// middleware captures nothing.
    pub fn is_on(&self) -> bool {
        self.tx.is_some()
    }

    /// Hand a request to the writer, or drop it (counted) when the writer is behind.
    pub fn record(&self, c: Captured) {
        let Some(tx) = &self.tx else { return };
        let size = c.size();
        if self.pending.fetch_add(size, Ordering::Relaxed) + size > PENDING_MAX || tx.try_send(c).is_err() {
            self.pending.fetch_sub(size, Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Entries dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A page of the account's entries at `now`, newest first, that `keep` accepts: at most
    /// `limit`, starting after the one with request id `after` (from the start when `None`, or
    /// when that one is no longer kept); and whether more follow.
    pub fn page(
        &self,
        account: &str,
        now: Timestamp,
        after: Option<&str>,
        limit: usize,
        keep: impl Fn(&Entry) -> bool,
    ) -> (Vec<Arc<Entry>>, bool) {
        let Ok(all) = self.entries.lock() else { return (Vec::new(), false) };
        let Some(list) = all.by_account.get(account) else { return (Vec::new(), false) };
        let newest_first = || list.iter().rev().filter(|e| now - e.at < self.retention);
        let start = after.and_then(|a| newest_first().position(|e| e.request_id() == a)).map_or(0, |i| i + 1);
        let mut page: Vec<Arc<Entry>> =
            newest_first().skip(start).filter(|e| keep(e)).take(limit + 1).cloned().collect();
        let more = page.len() > limit;
        page.truncate(limit);
        (page, more)
    }

    /// The account's entries at `now`, newest first, that `keep` accepts, at most `limit`.
    pub fn entries(
        &self,
        account: &str,
        now: Timestamp,
        limit: usize,
        keep: impl Fn(&Entry) -> bool,
    ) -> Vec<Arc<Entry>> {
        let Ok(all) = self.entries.lock() else { return Vec::new() };
        let Some(list) = all.by_account.get(account) else { return Vec::new() };
        list.iter()
            .rev()
            .filter(|e| now - e.at < self.retention)
            .filter(|e| keep(e))
            .take(limit)
            .cloned()
            .collect()
    }
}

/// Take the oldest entry of `list`, counting its bytes out of `bytes`.
fn pop_front(list: &mut VecDeque<Arc<Entry>>, bytes: &AtomicUsize) -> Option<Arc<Entry>> {
    let e = list.pop_front()?;
    bytes.fetch_sub(e.size(), Ordering::Relaxed);
    Some(e)
}

async fn write(
    mut rx: mpsc::Receiver<Captured>,
    entries: Arc<Mutex<Entries>>,
    pending: Arc<AtomicUsize>,
    retention: Timestamp,
) {
    let Some(bytes) = entries.lock().ok().map(|all| all.bytes.clone()) else { return };
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        pending.fetch_sub(batch.iter().map(Captured::size).sum(), Ordering::Relaxed);
        let entries_in: Vec<(String, Entry)> = batch.drain(..).map(|c| entry(c, &bytes)).collect();
        let Ok(mut all) = entries.lock() else { return };
        for (account, e) in entries_in {
            let newest = e.at;
            bytes.fetch_add(e.size(), Ordering::Relaxed);
            let list = all.by_account.entry(account).or_default();
            list.push_back(Arc::new(e));
            while list.len() > PER_ACCOUNT || list.front().is_some_and(|f| newest - f.at >= retention) {
                pop_front(list, &bytes);
            }
            // After each entry, not each batch: a batch of 256 lists of ~20 KB would otherwise
            // hold 5 MB above the budget until its end.
            all.fit(BYTES_MAX);
        }
    }
}

/// The entry the writer keeps of a captured request.
fn entry(c: Captured, bytes: &Arc<AtomicUsize>) -> (String, Entry) {
    let e = Entry {
        at: c.at,
        status: c.status,
        duration_ms: c.duration_ms,
        packed: c.packed,
        shown: OnceLock::new(),
        bytes: bytes.clone(),
    };
    (c.account, e)
}

/// Whether a field's name says it holds a secret or card data.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("secret")
        || n.contains("password")
        || n.contains("cvc")
        || n.contains("cvv")
        || n == "number"
        || n.contains("card_number")
        || n == "api_key"
        || n == "key"
}

/// Replace the values of secret-named fields, and any string that looks like a key or a card
/// number, with `[redacted]`.
pub fn scrub(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if secret_name(k) && !val.is_null() {
                    *val = Value::String("[redacted]".to_owned());
                } else {
                    scrub(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(scrub),
        Value::String(s) if looks_secret(s) => *s = "[redacted]".to_owned(),
        _ => {}
    }
}

/// A key (`sk_…`, `whsec_…`) or a run of 13–19 digits (a card number, spaces allowed).
fn looks_secret(s: &str) -> bool {
    if s.starts_with("sk_") || s.starts_with("rk_") || s.starts_with("whsec_") {
        return true;
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (13..=19).contains(&digits) && s.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn captured(account: &str, at: Timestamp, response: &[u8]) -> Captured {
        let (parts, ()) = axum::http::Request::builder().method("POST").body(()).unwrap().into_parts();
        let params = RawParams::of(&parts, &Bytes::from_static(b"email=a%40b.test"));
        Captured {
            account: account.to_owned(),
            at,
            status: 200,
            duration_ms: 1.0,
            packed: Packed::new("/v1/customers", &format!("req_{at:05}"), None, &params, response),
        }
    }

    fn keep(all: &mut Entries, c: Captured) {
        let (account, e) = entry(c, &all.bytes);
        all.bytes.fetch_add(e.size(), Ordering::Relaxed);
        all.by_account.entry(account).or_default().push_back(Arc::new(e));
    }

    fn kept(all: &Entries, account: &str) -> Vec<Timestamp> {
        all.by_account.get(account).map(|l| l.iter().map(|e| e.at).collect()).unwrap_or_default()
    }

    #[test]
    fn the_log_keeps_at_most_its_bytes_dropping_the_oldest_of_any_account() {
        let mut all = Entries::default();
        let body = vec![b'x'; 1000];
        // acct_a's requests are the older ones, acct_b's the newer.
        for at in 0..10 {
            keep(&mut all, captured("acct_a", at, &body));
            keep(&mut all, captured("acct_b", 100 + at, &body));
        }
        let each = all.by_account["acct_a"][0].size();
        assert!(each > 1000, "{each}");
        assert_eq!(all.bytes.load(Ordering::Relaxed), 20 * each);

        all.fit(20 * each);
        assert_eq!(kept(&all, "acct_a").len(), 10, "within the budget nothing goes");

        // Room for 12 entries: it keeps a tenth below that (10), the newest ones — all of acct_b's.
        all.fit(12 * each);
        assert_eq!(kept(&all, "acct_a"), Vec::<Timestamp>::new());
        assert_eq!(kept(&all, "acct_b"), (100..110).collect::<Vec<_>>());
        assert!(!all.by_account.contains_key("acct_a"), "an emptied account is forgotten");
        assert_eq!(all.bytes.load(Ordering::Relaxed), 10 * each);
    }

    #[test]
    fn shown_text_is_counted_until_the_entry_is_gone() {
        let mut all = Entries::default();
        keep(&mut all, captured("acct_a", 1, br#"{"id":"cus_1","object":"customer"}"#));
        let raw = all.bytes.load(Ordering::Relaxed);
        let e = all.by_account["acct_a"][0].clone();
        assert!(e.response().contains("\"cus_1\""));
        assert_eq!(e.params(), "{\n  \"email\": \"a@b.test\"\n}");
        let shown = e.params().len() + e.response().len();
        assert_eq!(all.bytes.load(Ordering::Relaxed), raw + shown);
        // Let go by the log while a page still shows it: counted until that page is done.
        all.pop_oldest("acct_a");
        assert_eq!(all.bytes.load(Ordering::Relaxed), shown);
        drop(e);
        assert_eq!(all.bytes.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_long_response_is_kept_whole_scrubbed_as_json_and_shown_cut() {
        let mut long = br#"{"object":"list","data":[{"secret":"whsec_early"},"#.to_vec();
        while long.len() <= BODY_MAX + 100 {
            long.extend_from_slice(br#"{"id":"in_1234567890"},"#);
        }
        long.extend_from_slice(b"{}]}");
        let (_, e) = entry(captured("acct_a", 1, &long), &Arc::default());
        assert_eq!(e.raw_response(), &long[..]);
        let shown = e.response();
        assert!(
            shown.contains("\"secret\": \"[redacted]\"") && !shown.contains("whsec_early"),
            "{}",
            &shown[..200]
        );
        assert!(shown.contains("\"id\": \"in_1234567890\""));
        assert!(shown.ends_with('…') && shown.len() <= BODY_MAX + '…'.len_utf8());
    }

    #[tokio::test]
    async fn requests_waiting_for_the_writer_are_bounded_in_bytes() {
        let log = RequestLog::new(DEFAULT_RETENTION);
        let big = vec![b'x'; 800 * 1024];
        // The writer does not run until this task yields: the first two wait, the third would
        // pass the bound and is dropped.
        for at in 1..=3 {
            log.record(captured("acct_a", at, &big));
        }
        assert_eq!(log.dropped(), 1);
        assert!(log.pending.load(Ordering::Relaxed) <= PENDING_MAX);
        while log.pending.load(Ordering::Relaxed) > 0 {
            tokio::task::yield_now().await;
        }
        log.record(captured("acct_a", 4, &big));
        while log.pending.load(Ordering::Relaxed) > 0 {
            tokio::task::yield_now().await;
        }
        let kept: Vec<Timestamp> = log.entries("acct_a", 5, 10, |_| true).iter().map(|e| e.at).collect();
        assert_eq!(kept, vec![4, 2, 1], "what waited was kept once the writer ran");
        assert_eq!(log.dropped(), 1);
    }

    #[test]
    fn a_packed_request_gives_back_each_part_and_tells_empty_from_missing() {
        let (parts, ()) = axum::http::Request::builder()
            .method("POST")
            .uri("/v1/customers?")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(())
            .unwrap()
            .into_parts();
        let params = RawParams::of(&parts, &Bytes::from_static(b"email=a%40b.test&name=Ann"));
        let c = Captured {
            account: "acct_a".to_owned(),
            at: 7,
            status: 200,
            duration_ms: 2.5,
            packed: Packed::new("/v1/customers", "req_1", Some("idem-1"), &params, br#"{"id":"cus_1"}"#),
        };
        let (account, e) = entry(c, &Arc::default());
        assert_eq!(account, "acct_a");
        assert_eq!((e.method(), e.path(), e.request_id()), ("POST", "/v1/customers", "req_1"));
        assert_eq!(e.idempotency_key(), Some("idem-1"));
        assert_eq!(e.packed.optional(Part::QUERY), Some(&b""[..]), "an empty query is kept as empty");
        assert_eq!(e.raw_response(), br#"{"id":"cus_1"}"#);
        assert_eq!(e.params(), "{\n  \"email\": \"a@b.test\",\n  \"name\": \"Ann\"\n}");
        assert!(e.size() >= ENTRY_OVERHEAD + "POST/v1/customersreq_1idem-1".len() + 25 + 14);

        let (parts, ()) = axum::http::Request::builder().method("GET").body(()).unwrap().into_parts();
        let params = RawParams::of(&parts, &Bytes::new());
        let packed = Packed::new("/v1/customers", "req_2", None, &params, b"");
        assert_eq!(packed.optional(Part::IDEMPOTENCY_KEY), None);
        assert_eq!(packed.optional(Part::QUERY), None);
        assert_eq!(packed.optional(Part::CONTENT_TYPE), None);
        assert_eq!(packed.str(Part::METHOD), "GET");
        assert_eq!(packed.bytes(Part::RESPONSE), b"");
    }

    #[test]
    fn secrets_and_card_numbers_are_scrubbed() {
        let mut v = json!({
            "secret": "whsec_abc", "url": "https://x.test", "card": {"number": "4242424242424242", "cvc": "123"},
            "metadata": {"note": "4000 0027 6000 3184", "k": "sk_test_x"}, "amount": 1000, "created": 1700000000
        });
        scrub(&mut v);
        let text = v.to_string();
        for s in ["whsec_abc", "4242424242424242", "123\"", "3184", "sk_test_x"] {
            assert!(!text.contains(s), "{s} in {text}");
        }
        assert_eq!(v["url"], "https://x.test");
        assert_eq!(v["amount"], 1000);
        assert_eq!(v["created"], 1700000000);
    }
}
