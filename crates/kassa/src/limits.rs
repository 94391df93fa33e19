//! How often the hosted page lets anyone try a promotion code: a budget per checkout session and
//! a larger one per client address, so that codes cannot be guessed at speed.
//!
//! Each budget is a token bucket (GCRA, the `governor` crate): `N` attempts at once, then one
//! more every `60 / N` seconds — `N` a minute. Every attempt counts, accepted or refused, and is
//! counted before anything is read: an attempt over budget is answered without touching the
//! store. The address budget is checked first, so that a client over it uses up no session's.
//!
//! **Per node.** The buckets live in this process's memory: with several nodes behind a load
//! balancer each node keeps its own, so a client that reaches `k` nodes gets `k` times the
//! budget. A restart starts every bucket full.
//!
//! **The client address** is the TCP peer of the connection (axum's `ConnectInfo`), IPv6
//! addresses taken by their /64 (what one host or customer network usually holds), IPv4-mapped
//! IPv6 addresses as the IPv4 address. Headers such as `X-Forwarded-For` are not read: a client
//! can send any value in them unless a proxy overwrites them. Behind a reverse proxy every
//! customer therefore shares the proxy's address and its budget: raise
//! `--promo-code-attempts-per-address` there, or turn it off with `0` and rely on the per-session
//! budget. Without a peer address (a server started without connection info) only the session
//! budget applies.
//!
//! Time is the server's [`Clock`], so that tests can move it. Buckets that have refilled are
//! dropped every [`CLEANUP_EVERY`] attempts, which bounds memory by the attempts of the last
//! minute or so.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use kassa_core::time::Clock;

pub use crate::config::CodeAttemptLimits;

/// How many attempts pass between two clean-ups of refilled buckets.
const CLEANUP_EVERY: u64 = 1024;

/// The server's clock as `governor` reads it.
#[derive(Clone)]
struct ServerClock(Arc<dyn Clock>);

impl governor::clock::Clock for ServerClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.0.now()).unwrap_or(0))
    }
}

type Limiter<K> = RateLimiter<K, HashMapStateStore<K>, ServerClock, NoOpMiddleware<Duration>>;

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32, clock: &ServerClock) -> Option<Limiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::hashmap_with_clock(Quota::per_minute(n), clock.clone()))
}

/// The promotion code attempts of this node (see the module docs).
pub struct CodeAttempts {
    /// Keyed by a hash of the session id as the path gave it: a fixed size, whatever was sent.
    per_session: Option<Limiter<u64>>,
    per_address: Option<Limiter<IpAddr>>,
    clock: ServerClock,
    hasher: std::collections::hash_map::RandomState,
    attempts: AtomicU64,
}

impl CodeAttempts {
    pub fn new(limits: CodeAttemptLimits, clock: Arc<dyn Clock>) -> Self {
        let clock = ServerClock(clock);
        Self {
            per_session: limiter(limits.per_session, &clock),
            per_address: limiter(limits.per_address, &clock),
            clock,
            hasher: std::collections::hash_map::RandomState::new(),
            attempts: AtomicU64::new(0),
        }
    }

    /// Count an attempt at a code on session `session` from `client`. `Err(seconds)` when a
    /// budget is used up: how long until the next attempt would be allowed (at least 1).
    pub fn check(&self, session: &str, client: Option<IpAddr>) -> Result<(), u64> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            self.clean_up();
        }
        if let (Some(limiter), Some(ip)) = (&self.per_address, client) {
            limiter.check_key(&address_key(ip)).map_err(|n| self.wait(&n))?;
        }
        if let Some(limiter) = &self.per_session {
            limiter.check_key(&self.hasher.hash_one(session)).map_err(|n| self.wait(&n))?;
        }
        Ok(())
    }

    /// Whole seconds until `not_until` lets an attempt through, rounded up.
    fn wait(&self, not_until: &governor::NotUntil<Duration>) -> u64 {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }

    /// Drop the buckets that are full again (they hold nothing a new bucket would not).
    fn clean_up(&self) {
        if let Some(l) = &self.per_session {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_address {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// The key an address is counted under: IPv4 as it is (IPv4-mapped IPv6 too), IPv6 by its /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
    }
}

/// What the customer is told when a budget is used up.
pub fn too_many_attempts(retry_after: u64) -> String {
    format!("Too many attempts. Try again in {retry_after} s.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_core::time::ManualClock;

    #[test]
    fn a_bucket_per_session_and_per_address_refilled_by_the_clock() {
        let clock = ManualClock::new(1_800_000_000);
        let a =
            CodeAttempts::new(CodeAttemptLimits { per_session: 3, per_address: 5 }, Arc::new(clock.clone()));
        let (one, two): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(a.check("cs_1", Some(one)), Ok(()));
        }
        assert_eq!(a.check("cs_1", Some(one)), Err(20), "3 a minute: one more every 20 s");
        assert_eq!(a.check("cs_1", Some(two)), Err(20), "the session's budget, from any address");
        // Another session from the same address: the fifth attempt from it (the refused one
        // above counted too) passes, the sixth is over its budget.
        assert_eq!(a.check("cs_2", Some(one)), Ok(()));
        assert_eq!(a.check("cs_3", Some(one)), Err(12), "5 a minute per address: one every 12 s");
        assert_eq!(a.check("cs_3", Some(two)), Ok(()), "another address has its own");
        clock.advance(20);
        assert_eq!(a.check("cs_1", Some(two)), Ok(()), "refilled");
        assert_eq!(a.check("cs_1", None), Err(20));
    }

    #[test]
    fn zero_turns_a_budget_off() {
        let clock = ManualClock::new(0);
        let a = CodeAttempts::new(CodeAttemptLimits { per_session: 0, per_address: 0 }, Arc::new(clock));
        for _ in 0..1000 {
            assert_eq!(a.check("cs_1", Some("192.0.2.1".parse().unwrap())), Ok(()));
        }
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let k = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(k("2001:db8:1:2:3:4:5:6"), k("2001:db8:1:2:ffff::1"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:192.0.2.7"), k("192.0.2.7"));
    }
}
