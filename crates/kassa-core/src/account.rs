//! Accounts and their secret keys. A key is `sk_test_` and random characters; kassa keeps only its
//! SHA-256 hash (a key is a high-entropy token, so a slow password hash would add nothing but
//! latency on every request) and the last four characters for masked display. [`SecretKey`]'s
//! `Debug` never prints the key.

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
        let digest = Sha256::digest(key.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest.iter() {
            hex.push_str(&format!("{b:02x}"));
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

/// What the store keeps of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub hash: KeyHash,
    pub account_id: String,
    pub last4: String,
    pub created: Timestamp,
}

impl ApiKeyRecord {
    pub fn new(key: &SecretKey, account_id: &str, created: Timestamp) -> Self {
        let k = key.expose();
        let last4: String = k.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        Self { hash: key.hash(), account_id: account_id.to_owned(), last4, created }
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
    fn hashing_is_stable_and_keys_are_long() {
        assert_eq!(KeyHash::of("x"), KeyHash::of("x"));
        assert_ne!(KeyHash::of("x"), KeyHash::of("y"));
        assert_eq!(SecretKey::generate().expose().len(), 8 + 32);
    }
}
