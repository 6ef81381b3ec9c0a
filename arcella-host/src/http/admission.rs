//! How many requests and connections a server takes on at once.
//!
//! Load past what the server can run must wait or be told to come back,
//! never fail as if the request were broken: requests past the concurrency
//! limit queue (boundedly) for a slot, and `accept` errors such as running
//! out of file descriptors slow the accept loop down instead of spinning it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Slots for requests running at once, and a bounded queue for more.
pub(super) struct Admission {
    running: Arc<Semaphore>,
    queued: AtomicUsize,
    max_queued: usize,
}

impl Admission {
    /// Up to `max_running` requests at once, `max_queued` more waiting.
    pub(super) fn new(max_running: usize, max_queued: usize) -> Self {
        Self {
            running: Arc::new(Semaphore::new(max_running.max(1))),
            queued: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// A slot for one request, waiting in the queue if need be; `None` when
    /// the queue is full too and the request should be answered 503.
    pub(super) async fn admit(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(slot) = self.running.clone().try_acquire_owned() {
            return Some(slot);
        }
        if self.queued.fetch_add(1, Ordering::SeqCst) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let slot = self.running.clone().acquire_owned().await.ok();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        slot
    }
}

/// Shortest pause after a failed `accept`.
const FIRST_PAUSE: Duration = Duration::from_millis(5);

/// Longest pause after repeated failed `accept`s.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// At most one warning about failing `accept`s this often.
const WARNING_INTERVAL: Duration = Duration::from_secs(5);

/// Pauses the accept loop after errors, doubling up to a second, with one
/// warning every few seconds that counts the failures in between.
#[derive(Debug, Default)]
pub(super) struct AcceptBackoff {
    pause: Option<Duration>,
    last_warning: Option<Instant>,
    unreported: u64,
}

impl AcceptBackoff {
    /// An `accept` succeeded: the next failure starts from the shortest pause.
    pub(super) fn succeeded(&mut self) {
        self.pause = None;
    }

    /// An `accept` failed with `error`: maybe warn, then pause.
    pub(super) async fn failed(&mut self, error: &std::io::Error) {
        self.unreported += 1;
        let due = self
            .last_warning
            .is_none_or(|last| last.elapsed() >= WARNING_INTERVAL);
        if due {
            let more = match self.unreported - 1 {
                0 => String::new(),
                more => format!(" ({more} more since the last warning)"),
            };
            let hint = if is_out_of_descriptors(error) {
                "; the process is out of file descriptors — raise `ulimit -n` or lower the connection limit"
            } else {
                ""
            };
            tracing::warn!(target: "arcella::http", "accepting a connection failed: {error}{more}{hint}; slowing down");
            self.last_warning = Some(Instant::now());
            self.unreported = 0;
        }
        tokio::time::sleep(self.next_pause()).await;
    }

    /// The pause after one more failure: doubled, up to [`LONGEST_PAUSE`].
    fn next_pause(&mut self) -> Duration {
        let pause = self
            .pause
            .map_or(FIRST_PAUSE, |pause| (pause * 2).min(LONGEST_PAUSE));
        self.pause = Some(pause);
        pause
    }
}

#[cfg(unix)]
fn is_out_of_descriptors(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

#[cfg(not(unix))]
fn is_out_of_descriptors(_error: &std::io::Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_past_the_slots_queue_and_past_the_queue_are_refused() {
        let admission = Arc::new(Admission::new(1, 1));
        let running = admission.admit().await.expect("a free slot");
        let waiting = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit().await.is_some() })
        };
        while admission.queued.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(admission.admit().await.is_none(), "the queue is full");
        drop(running);
        assert!(waiting.await.unwrap(), "the queued request gets the slot");
    }

    #[test]
    fn accept_failures_back_off_up_to_a_second() {
        let mut backoff = AcceptBackoff::default();
        assert_eq!(backoff.next_pause(), FIRST_PAUSE);
        assert_eq!(backoff.next_pause(), FIRST_PAUSE * 2);
        let last = (0..20).map(|_| backoff.next_pause()).last();
        assert_eq!(last, Some(LONGEST_PAUSE));
        backoff.succeeded();
        assert_eq!(backoff.pause, None);
    }
}
