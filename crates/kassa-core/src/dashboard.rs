//! The dashboard's sign-ins (`kassa::http::dashboard`): a session a browser holds by a random
//! token in a cookie, or a one-time sign-in link `kassa dashboard` prints. Only the token's
//! SHA-256 is stored (the record's id), so a copy of the database signs no one in.

use serde::{Deserialize, Serialize};

use crate::account::KeyHash;
use crate::ids;
use crate::time::Timestamp;

/// How long a session lasts without being used: 12 hours.
pub const IDLE_SECONDS: Timestamp = 12 * 3600;

/// How long a sign-in link is good for: 10 minutes.
pub const LINK_SECONDS: Timestamp = 600;

/// Random characters in a token (base62: ≥ 190 bits).
const TOKEN_LEN: usize = 32;

/// A sign-in, or a sign-in link not used yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardSession {
    /// The SHA-256 of the token, hex.
    pub id: String,
    pub created: Timestamp,
    /// The last request it made (a link: when it was made).
    pub last_seen: Timestamp,
    /// A one-time sign-in link rather than a session.
    pub link: bool,
    /// The token forms must carry (CSRF), random and per session.
    pub csrf: String,
}

impl DashboardSession {
    /// A new session (or link) at `now` and its token, which only the browser (or the link) holds.
    pub fn new(now: Timestamp, link: bool) -> (Self, String) {
        let token = ids::random_base62(TOKEN_LEN);
        let session = Self {
            id: Self::id_of(&token),
            created: now,
            last_seen: now,
            link,
            csrf: ids::random_base62(TOKEN_LEN),
        };
        (session, token)
    }

    /// The id a token is stored under.
    pub fn id_of(token: &str) -> String {
        KeyHash::of(token).as_str().to_owned()
    }

    /// When it stops signing in: [`IDLE_SECONDS`] after a session's last use, [`LINK_SECONDS`]
    /// after a link was made.
    pub fn expires_at(&self) -> Timestamp {
        self.last_seen + if self.link { LINK_SECONDS } else { IDLE_SECONDS }
    }

    /// Whether it still signs in at `now`.
    pub fn live_at(&self, now: Timestamp) -> bool {
        now >= self.created && now < self.expires_at()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_links_after_ten_minutes() {
        let (s, token) = DashboardSession::new(1000, false);
        assert_eq!(s.id, DashboardSession::id_of(&token));
        assert_ne!(s.id, token);
        assert!(s.live_at(1000 + IDLE_SECONDS - 1));
        assert!(!s.live_at(1000 + IDLE_SECONDS));
        let (l, _) = DashboardSession::new(1000, true);
        assert!(l.live_at(1000 + LINK_SECONDS - 1));
        assert!(!l.live_at(1000 + LINK_SECONDS));
    }
}
