//! Accounts and their secret keys. A key is `sk_test_` and random characters; kassa keeps only its
//! SHA-256 hash (a key is a high-entropy token, so a slow password hash would add nothing but
//! latency on every request) and the last four characters for masked display. [`SecretKey`]'s
//! `Debug` never prints the key.
//!
//! An account may hold several keys (a CI job's, a rolled one still in use by old deployments);
//! each has a handle (`key_…`) to name it by, may expire ([`ApiKeyRecord::expires_at`], set when
//! a key is rolled) or be revoked, and remembers when it was last used (to the minute: see
//! [`LAST_USE_EVERY`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids;
use crate::time::Timestamp;

pub const KEY_PREFIX: &str = "sk_test_";
/// Random characters in a key kassa generates (≈190 bits).
pub const KEY_RANDOM_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub created: Timestamp,
}

impl Account {
    pub fn new(name: &str, created: Timestamp) -> Self {
        Self { id: ids::new_id(ids::prefix::ACCOUNT), name: name.to_owned(), created }
    }
}

/// A secret API key in the clear: only ever held briefly (when generated, or while a request is
/// authenticated).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn generate() -> Self {
        Self(format!("{KEY_PREFIX}{}", ids::random_base62(KEY_RANDOM_LEN)))
    }

    /// A key supplied by the operator (`KASSA_SECRET_KEY`): it must start with `sk_test_` and
    /// carry something after it, in printable ASCII without spaces.
    pub fn from_operator(text: &str) -> Result<Self, String> {
        let rest = text
            .strip_prefix(KEY_PREFIX)
            .ok_or_else(|| format!("a secret key must start with `{KEY_PREFIX}`"))?;
        if rest.is_empty() || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a secret key needs printable characters after `sk_test_`".to_owned());
        }
        Ok(Self(text.to_owned()))
    }

    /// Wrap a key presented by a client, without judging it.
    pub fn presented(text: &str) -> Self {
        Self(text.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash::of(&self.0)
    }

    /// The key as Stripe shows it in errors: everything but the last four characters masked.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.masked())
    }
}

/// `sk_test_****…abcd`: the prefix, stars, and the last four characters.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let n = chars.len();
    if n <= 4 {
        return "*".repeat(n);
    }
    let last4: String = chars[n - 4..].iter().collect();
    let prefix = if key.starts_with(KEY_PREFIX) && n > KEY_PREFIX.len() + 4 { KEY_PREFIX } else { "" };
    let stars = n - 4 - prefix.len();
    format!("{prefix}{}{last4}", "*".repeat(stars))
}

/// SHA-256 of a key, hex encoded: what the database holds.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct KeyHash(String);

impl KeyHash {
    pub fn of(key: &str) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = Sha256::digest(key.as_bytes());
        // Every request hashes its key (the key cache is keyed by the hash): a table, not 32
        // `format!`s.
        let mut hex = String::with_capacity(64);
        for b in digest.iter() {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        Self(hex)
    }

    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The prefix of a key's handle (kassa's own: Stripe shows keys by their masked value).
pub const KEY_ID_PREFIX: &str = "key_";

/// How stale a key's `last_used` may be: a node records a use only when the key's recorded last
/// use is at least this old, so a busy key costs one write a minute, not one per request.
pub const LAST_USE_EVERY: Timestamp = 60;

/// What the store keeps of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The handle that names the key (`key_…`) in `kassa accounts keys`; not a secret.
    pub id: String,
    pub hash: KeyHash,
    pub account_id: String,
    pub last4: String,
    pub created: Timestamp,
    /// From then on the key is refused as expired (a rolled key). `None`: never.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked; a revoked key is refused as unknown.
    pub revoked_at: Option<Timestamp>,
    /// When it last authenticated a request, to within [`LAST_USE_EVERY`]. `None`: never.
    pub last_used: Option<Timestamp>,
}

/// Whether a key opens its account at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    Expired,
    Revoked,
}

impl ApiKeyRecord {
    /// A new, active key that never expires.
    pub fn new(key: &SecretKey, account_id: &str, created: Timestamp) -> Self {
        let k = key.expose();
        let last4: String = k.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        Self {
            id: ids::new_id(KEY_ID_PREFIX),
            hash: key.hash(),
            account_id: account_id.to_owned(),
            last4,
            created,
            expires_at: None,
            revoked_at: None,
            last_used: None,
        }
    }

    /// The key's state at `now`: revoked wins over expired.
    pub fn state(&self, now: Timestamp) -> KeyState {
        if self.revoked_at.is_some() {
            KeyState::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            KeyState::Expired
        } else {
            KeyState::Active
        }
    }

    /// The key as people see it: `sk_test_…abcd`.
    pub fn shown(&self) -> String {
        format!("{KEY_PREFIX}…{}", self.last4)
    }

    /// Whether a use at `now` should be written down: the recorded last use is older than
    /// [`LAST_USE_EVERY`] (or there is none).
    pub fn use_is_news(last_used: Option<Timestamp>, now: Timestamp) -> bool {
        last_used.is_none_or(|at| now - at >= LAST_USE_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = SecretKey::generate();
        let debug = format!("{key:?}");
        assert!(!debug.contains(key.expose()));
        assert!(!debug.contains(&key.expose()[8..20]));
        assert!(debug.ends_with(&format!("{})", &key.expose()[key.expose().len() - 4..])));
    }

    #[test]
    fn masking() {
        assert_eq!(mask("sk_test_abcdefgh1234"), "sk_test_********1234");
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("nonsense-key"), "********-key");
    }

    #[test]
    fn operator_keys() {
        assert!(SecretKey::from_operator("sk_test_abc").is_ok());
        assert!(SecretKey::from_operator("sk_live_abc").is_err());
        assert!(SecretKey::from_operator("sk_test_").is_err());
        assert!(SecretKey::from_operator("sk_test_a b").is_err());
    }

    #[test]
    fn key_states_and_uses() {
        let key = SecretKey::generate();
        let mut record = ApiKeyRecord::new(&key, "acct_1", 100);
        assert!(record.id.starts_with(KEY_ID_PREFIX) && record.id.len() > KEY_ID_PREFIX.len() + 20);
        assert_eq!(record.last4, key.expose()[key.expose().len() - 4..]);
        assert_eq!(record.shown(), format!("sk_test_…{}", record.last4));
        assert_eq!(record.state(1_000_000), KeyState::Active);
        record.expires_at = Some(200);
        assert_eq!(record.state(199), KeyState::Active);
        assert_eq!(record.state(200), KeyState::Expired);
        record.revoked_at = Some(150);
        assert_eq!(record.state(160), KeyState::Revoked);
        assert_eq!(record.state(300), KeyState::Revoked);

        assert!(ApiKeyRecord::use_is_news(None, 100));
        assert!(!ApiKeyRecord::use_is_news(Some(100), 159));
        assert!(ApiKeyRecord::use_is_news(Some(100), 160));
    }

    #[test]
    fn hashing_is_stable_and_keys_are_long() {
        assert_eq!(KeyHash::of("x"), KeyHash::of("x"));
        assert_ne!(KeyHash::of("x"), KeyHash::of("y"));
        // SHA-256 in lower-case hex, as stored since the first release.
        assert_eq!(
            KeyHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(SecretKey::generate().expose().len(), 8 + 32);
    }
}
