//! The threads transactions run on: exactly as many as there are local connections (the
//! transactions' half of `pool_max`), started on first use and kept for the store's life.
//!
//! A transaction's closure is synchronous, and its local connection is driven by the thread
//! running it (`src/postgres/tx.rs`), so it needs a thread of its own while it runs. Tokio's
//! blocking pool (`spawn_blocking`) grew to 22 and 33 threads in two checkout runs although at most
//! eight transactions ever ran at once (a thread that has just finished one is not yet idle when
//! the next one's connection frees, so another thread is started), and each thread keeps its own
//! allocator pages. Here a transaction waits for its connection slot first and only then is
//! queued, so the threads are always enough, and never more.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};

use kassa_core::store::StoreError;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one queue.
pub(crate) struct Workers {
    threads: usize,
    queue: OnceLock<Result<mpsc::Sender<Job>, String>>,
}

impl Workers {
    pub(crate) fn new(threads: usize) -> Self {
        Workers { threads: threads.max(1), queue: OnceLock::new() }
    }

    /// The queue, starting the threads on first use.
    fn queue(&self) -> Result<&mpsc::Sender<Job>, StoreError> {
        let queue = self.queue.get_or_init(|| {
            let (send, receive) = mpsc::channel::<Job>();
            let receive = Arc::new(Mutex::new(receive));
            for i in 0..self.threads {
                let receive = receive.clone();
                std::thread::Builder::new()
                    .name(format!("kassa-pg-tx-{i}"))
                    .spawn(move || work(&receive))
                    .map_err(|e| format!("cannot start a PostgreSQL transaction thread: {e}"))?;
            }
            Ok(send)
        });
        queue.as_ref().map_err(|e| StoreError::Backend(e.clone()))
    }

    /// Run `job` on one of the threads and wait (asynchronously) for its answer.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(job());
        });
        let lost = || StoreError::Backend("a PostgreSQL transaction's thread failed".to_owned());
        self.queue()?.send(job).map_err(|_| lost())?;
        answered.await.map_err(|_| lost())
    }
}

/// A thread's life: take the next job, run it, until the store (the queue's sender) is gone. A
/// job that panics drops its answer's sender (its caller learns the thread failed); the thread
/// goes on.
fn work(receive: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = receive.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => {
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Jobs run on the workers' threads only, and a job that panics costs its caller an error,
    /// not the thread.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_run_on_a_fixed_set_of_threads() {
        let workers = Arc::new(Workers::new(2));
        let jobs: Vec<_> = (0..40)
            .map(|_| {
                let workers = workers.clone();
                tokio::spawn(async move {
                    workers
                        .run(|| {
                            std::thread::sleep(std::time::Duration::from_millis(2));
                            std::thread::current().name().unwrap_or_default().to_owned()
                        })
                        .await
                })
            })
            .collect();
        let mut names = std::collections::BTreeSet::new();
        for job in jobs {
            names.insert(job.await.unwrap().unwrap());
        }
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["kassa-pg-tx-0", "kassa-pg-tx-1"]);

        for _ in 0..3 {
            let failed = workers.run(|| -> u8 { panic!("a job that panics") }).await;
            assert!(matches!(failed, Err(StoreError::Backend(_))), "{failed:?}");
        }
        assert_eq!(workers.run(|| 7).await.unwrap(), 7, "the threads survived");
    }
}
