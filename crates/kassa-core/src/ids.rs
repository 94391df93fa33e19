//! Public ids: a Stripe-style type prefix and base62 characters from the operating system's
//! CSPRNG.
//!
//! Two shapes. Rare ids ([`new_id`]: accounts, keys, endpoints, coupons, rates, billing portal
//! sessions) are random throughout. Ids of records written in volume ([`new_sortable_id`]:
//! events, deliveries, payment intents, charges, invoices, and — created with every `price_data`
//! line and every payment — products, prices, customers, payment methods, subscriptions; and
//! [`new_session_id`], checkout sessions) start with the time, like Stripe's own
//! (`price_1NWKru…`), so each table's `(account_id, id)` index grows at its end: one group commit
//! writes one last page per index instead of one random page per record (with ten million
//! sessions, random session ids halved the rate of creating them: every insert read and wrote a
//! leaf of a 10-million-entry index somewhere). Neither shape is sequential or guessable: a
//! checkout session's id, which opens its hosted page without a key, carries 50 random characters
//! (≈297 bits) after its time; the others need the secret key that every API read needs.

/// Base62 alphabet; 62 symbols, so one character carries log2(62) ≈ 5.95 bits.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random base62 characters (rejection sampling, so every symbol is equally likely).
pub fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        // As many bytes as symbols still wanted (a few more rounds when some are rejected).
        let want = (len - out.len()).min(buf.len());
        fill(&mut buf[..want]);
        for &b in &buf[..want] {
            // 248 = 4 * 62: bytes at or above it would bias the first symbols.
            if b < 248 {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    out
}

/// Fill `buf` with bytes from the OS CSPRNG, taken from this thread's [`Pool`]: one `getrandom`
/// call per 4 KiB instead of one per id (a request makes two to five ids, and each call is a
/// system call). The bytes are the kernel's own, each handed out once.
fn fill(buf: &mut [u8]) {
    POOL.with(|pool| pool.borrow_mut().take(buf));
}

thread_local! {
    static POOL: std::cell::RefCell<Pool> = const { std::cell::RefCell::new(Pool { bytes: [0; POOL_BYTES], used: POOL_BYTES }) };
}

const POOL_BYTES: usize = 4096;

/// Random bytes fetched from the OS CSPRNG in bulk; `used` of them are handed out already (and
/// zeroed, so none stays in memory after its use).
struct Pool {
    bytes: [u8; POOL_BYTES],
    used: usize,
}

impl Pool {
    fn take(&mut self, mut buf: &mut [u8]) {
        while !buf.is_empty() {
            if self.used == POOL_BYTES {
                refill(&mut self.bytes);
                self.used = 0;
            }
            let n = buf.len().min(POOL_BYTES - self.used);
            let (now, rest) = buf.split_at_mut(n);
            let taken = &mut self.bytes[self.used..self.used + n];
            now.copy_from_slice(taken);
            taken.fill(0);
            self.used += n;
            buf = rest;
        }
    }
}

/// There is no sensible way to go on without randomness: an id or a key made from anything
/// weaker would be guessable, so this stops the process instead.
#[allow(clippy::expect_used)]
fn refill(bytes: &mut [u8]) {
    getrandom::fill(bytes).expect("the operating system's random number generator failed");
}

/// A uniformly random number in 0..=1000 (for jitter).
pub fn random_per_mille() -> u16 {
    let mut buf = [0u8; 2];
    loop {
        fill(&mut buf);
        let n = u16::from_le_bytes(buf);
        // 65065 = 65 * 1001: values at or above it would bias the low results.
        if n < 65_065 {
            return n % 1001;
        }
    }
}

/// A new id with `prefix` whose first 8 characters follow the wall clock (milliseconds, base62)
/// and whose last 16 are random (≈95 bits): ids made later sort later, so a table's index on
/// them grows at its end instead of in pages all over it — which is what keeps the write volume
/// of high-volume records (events, deliveries, invoices, payment intents) proportional to what is
/// written. Only for objects whose ids are read with the secret key: a checkout session's id,
/// which opens its page, is [`new_session_id`] (the same time, then 50 random characters).
pub fn new_sortable_id(prefix: &str) -> String {
    sortable(prefix, 16)
}

/// `prefix`, 8 characters of the wall clock's milliseconds in base62, then `random` random ones.
fn sortable(prefix: &str, random: usize) -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut id = String::with_capacity(prefix.len() + 8 + random);
    id.push_str(prefix);
    let mut digits = [0u8; 8];
    let mut n = millis;
    for d in digits.iter_mut().rev() {
        *d = ALPHABET[usize::try_from(n % 62).unwrap_or(0)];
        n /= 62;
    }
    id.extend(digits.iter().map(|b| char::from(*b)));
    id.push_str(&random_base62(random));
    id
}

/// A new id with `prefix` and 24 random characters (≈143 bits).
pub fn new_id(prefix: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + 24);
    id.push_str(prefix);
    id.push_str(&random_base62(24));
    id
}

pub mod prefix {
    pub const ACCOUNT: &str = "acct_";
    pub const PRODUCT: &str = "prod_";
    pub const PRICE: &str = "price_";
    pub const CUSTOMER: &str = "cus_";
    pub const PROMOTION_CODE: &str = "promo_";
    pub const LINE_ITEM: &str = "li_";
    pub const REQUEST: &str = "req_";
    pub const CHECKOUT_SESSION: &str = "cs_test_";
    pub const PAYMENT_INTENT: &str = "pi_";
    pub const PAYMENT_METHOD: &str = "pm_";
    pub const SETUP_INTENT: &str = "seti_";
    pub const SUBSCRIPTION: &str = "sub_";
    pub const SUBSCRIPTION_ITEM: &str = "si_";
    pub const INVOICE: &str = "in_";
    pub const INVOICE_LINE: &str = "il_";
    pub const INVOICE_ITEM: &str = "ii_";
    pub const DISCOUNT: &str = "di_";
    pub const EVENT: &str = "evt_";
    pub const TEST_CLOCK: &str = "clock_";
    pub const TAX_RATE: &str = "txr_";
    pub const TAX_ID: &str = "txi_";
    pub const WEBHOOK_ENDPOINT: &str = "we_";
    pub const WEBHOOK_SECRET: &str = "whsec_";
    /// kassa's own: Stripe does not expose deliveries as objects.
    pub const WEBHOOK_DELIVERY: &str = "whdel_";
}

/// A checkout session id, as long as Stripe's: `cs_test_`, 8 characters of time (sessions are
/// written in volume: see the module's doc), and 50 random ones (≈297 bits) — it opens the
/// session's hosted page to whoever holds it.
pub fn new_session_id() -> String {
    sortable(prefix::CHECKOUT_SESSION, 50)
}

/// A coupon id when the merchant gives none: 8 characters, like Stripe's.
pub fn new_coupon_id() -> String {
    random_base62(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_ids_sort_by_time_and_stay_unique() {
        let a = new_sortable_id("evt_");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_sortable_id("evt_");
        assert!(a < b, "{a} {b}");
        assert_eq!(a.len(), 4 + 24);
        assert!(a[4..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(new_sortable_id("x_"), new_sortable_id("x_"));
    }

    #[test]
    fn ids_have_prefix_length_and_alphabet() {
        let id = new_id(prefix::PRODUCT);
        assert!(id.starts_with("prod_"));
        assert_eq!(id.len(), 5 + 24);
        assert!(id[5..].bytes().all(|b| b.is_ascii_alphanumeric()));
        let cs = new_session_id();
        assert_eq!(cs.len(), 8 + 58);
        assert!(cs[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn session_ids_sort_by_time_and_keep_50_random_characters() {
        let a = new_session_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_session_id();
        assert!(a < b, "{a} {b}");
        // Made in the same millisecond, two ids share their time and differ in what follows.
        let (c, d) = (new_session_id(), new_session_id());
        assert_ne!(c[16..], d[16..]);
        assert_eq!(c.len() - 16, 50);
    }

    #[test]
    fn ids_do_not_repeat() {
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| new_id("x_")).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn the_pool_hands_out_fresh_bytes_across_refills() {
        // Three pools' worth in uneven pieces: handing out a used (zeroed) byte, or the same
        // bytes twice, would show as far too many zeros or a repeated piece.
        let pieces: Vec<Vec<u8>> = (0..3 * POOL_BYTES / 1000 + 1)
            .map(|_| {
                let mut piece = vec![0u8; 1000];
                fill(&mut piece);
                piece
            })
            .collect();
        let zeros = pieces.iter().flatten().filter(|&&b| b == 0).count();
        // Expected 13000 / 256 ≈ 51.
        assert!(zeros < 120, "{zeros} zero bytes");
        let distinct: std::collections::HashSet<&Vec<u8>> = pieces.iter().collect();
        assert_eq!(distinct.len(), pieces.len());
    }

    #[test]
    fn symbols_are_roughly_uniform() {
        let s = random_base62(62 * 2000);
        let mut counts = [0u32; 62];
        for b in s.bytes() {
            let i = ALPHABET.iter().position(|&a| a == b).unwrap_or(0);
            counts[i] += 1;
        }
        // Expected 2000 each; a biased sampler would push the first symbols far above.
        assert!(counts.iter().all(|&c| (1600..2400).contains(&c)), "{counts:?}");
    }
}
