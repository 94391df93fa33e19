//! Where a backend reports its commits ([`Store::observe`](kassa_core::store::Store::observe)):
//! set once, read on every commit. Until one is set, a commit costs a load and a branch here.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use kassa_core::store::{Commit, StoreObserver};

#[derive(Default)]
pub(crate) struct Observer(OnceLock<Arc<dyn StoreObserver>>);

impl Observer {
    /// The first observer given stays.
    pub(crate) fn set(&self, observer: Arc<dyn StoreObserver>) {
        let _ = self.0.set(observer);
    }

    /// When a commit being timed started; `None` while nobody observes (no clock read).
    pub(crate) fn start(&self) -> Option<Instant> {
        self.0.get().map(|_| Instant::now())
    }

    /// Report a commit of `jobs` that started at `started` (from [`Observer::start`]).
    pub(crate) fn committed(
        &self,
        backend: &'static str,
        path: &'static str,
        jobs: usize,
        started: Option<Instant>,
    ) {
        if let (Some(observer), Some(started)) = (self.0.get(), started) {
            let elapsed: Duration = started.elapsed();
            observer.committed(&Commit { backend, path, jobs, elapsed });
        }
    }
}
