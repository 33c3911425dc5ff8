//! Signing threads: each key signs on threads of its own, as many as its sessions, that
//! take the next signature as soon as one is done.
//!
//! A signature blocks (an HSM answers when it answers), so it does not run on the async
//! workers. Tokio's blocking pool would do, but under load every signature would then wait
//! for a thread to be woken when the one before gives the session back; here a thread that
//! finishes takes the next queued signature at once, so the key stays busy. A signature
//! whose caller gave up (its deadline passed) before it started is skipped. A thread held by
//! a device that never answers holds only itself: the others go on with the queue.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

/// One queued piece of work.
type Job = Box<dyn FnOnce() + Send>;

/// The signing threads of one key. Dropping it lets them end once the queue is empty.
#[derive(Debug)]
pub(crate) struct Lanes {
    jobs: Sender<Job>,
}

impl Lanes {
    /// Starts `threads` threads (at least one), named after `key`.
    ///
    /// # Errors
    /// When the system refuses a thread.
    pub(crate) fn start(key: &str, threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                // Linux keeps 15 bytes of a thread's name; a NUL would make `spawn` panic.
                .name(format!(
                    "sign-{}-{i}",
                    key.chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .take(8)
                        .collect::<String>()
                ))
                .spawn(move || serve(&rx))?;
        }
        Ok(Lanes { jobs: tx })
    }

    /// Queues `work`; its result comes on the receiver, which fails when `work` panicked or
    /// the threads are gone.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> oneshot::Receiver<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            if tx.is_closed() {
                // The caller stopped waiting before its turn came.
                return;
            }
            let _ = tx.send(work());
        });
        // A send fails only when every thread is gone; the receiver then reports it.
        let _ = self.jobs.send(job);
        rx
    }
}

/// A signing thread: takes jobs until the queue's sender is dropped.
fn serve(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        // A panic fails that job only (its caller sees the answer channel closed).
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn work_runs_and_answers_and_a_panic_fails_only_its_job() {
        let lanes = Lanes::start("test", 2).unwrap();
        assert_eq!(lanes.run(|| 6 * 7).await.unwrap(), 42);
        let name = lanes
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("sign-test-"));
        assert!(lanes.run(|| -> u8 { panic!("boom") }).await.is_err());
        // Both threads still serve.
        let (a, b) = tokio::join!(
            lanes.run(|| {
                std::thread::sleep(Duration::from_millis(50));
                1
            }),
            lanes.run(|| 2)
        );
        assert_eq!((a.unwrap(), b.unwrap()), (1, 2));
    }

    #[tokio::test]
    async fn any_key_name_makes_a_thread_name() {
        let lanes = Lanes::start("k\u{0}ey é/\n", 1).unwrap();
        let name = lanes
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("sign-key-0"));
    }

    #[tokio::test]
    async fn a_held_thread_does_not_hold_the_queue() {
        let lanes = Lanes::start("held", 2).unwrap();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let stuck = lanes.run(move || held.recv().is_ok());
        for i in 0..10 {
            assert_eq!(lanes.run(move || i).await.unwrap(), i);
        }
        release.send(()).unwrap();
        assert!(stuck.await.unwrap());
    }

    #[tokio::test]
    async fn work_whose_caller_left_is_skipped() {
        let lanes = Lanes::start("left", 1).unwrap();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let first = lanes.run(move || held.recv().is_ok());
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        drop(lanes.run(move || flag.store(true, std::sync::atomic::Ordering::SeqCst)));
        release.send(()).unwrap();
        assert!(first.await.unwrap());
        // The queue is in order on one thread: after this one, the dropped one was seen.
        lanes.run(|| ()).await.unwrap();
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }
}
