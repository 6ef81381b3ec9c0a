//! A worker never outlives its host.
//!
//! Workers run in a process group of their own, so a Ctrl-C or a `kill` of
//! the host does not reach them, and a guest call may run for up to an hour.
//! Two watches end a worker whose host is gone, even mid-call: its parent
//! process changing (the host died and the worker was re-parented), and its
//! request pipe closing while a request is being served (the host dropped
//! it). Between requests a closed pipe is the ordinary way to stop: the
//! worker finishes what it was doing and exits cleanly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::Duration;

use super::protocol::{Request, read_frame};

/// How often a worker checks that its host is still alive.
const PARENT_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The exit status of a worker whose host went away.
const ORPHANED_EXIT: i32 = 71;

/// Ends this process as soon as its parent dies.
pub(super) fn exit_when_orphaned() {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        let watching = std::thread::Builder::new()
            .name("arcella-lifeline".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(PARENT_CHECK_INTERVAL);
                    if std::os::unix::process::parent_id() != parent {
                        orphaned("its host process died");
                    }
                }
            });
        if let Err(error) = watching {
            eprintln!("arcella worker: cannot watch its host ({error}); exiting");
            std::process::exit(ORPHANED_EXIT);
        }
    }
}

fn orphaned(why: &str) -> ! {
    eprintln!("arcella worker: {why}; stopping its guests");
    std::process::exit(ORPHANED_EXIT);
}

/// The host's requests, read from stdin by a thread of their own so that a
/// closed pipe is noticed while a guest runs.
pub(super) struct Requests {
    received: Receiver<std::io::Result<Option<Request>>>,
    busy: Arc<AtomicBool>,
}

/// Marks the worker busy with a request until dropped.
pub(super) struct Busy(Arc<AtomicBool>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Requests {
    /// Starts reading requests from this process's stdin.
    pub(super) fn read_stdin() -> std::io::Result<Self> {
        let (send, received) = sync_channel(1);
        let busy = Arc::new(AtomicBool::new(false));
        let reading_busy = busy.clone();
        std::thread::Builder::new()
            .name("arcella-requests".into())
            .spawn(move || {
                let mut stdin = std::io::stdin().lock();
                loop {
                    let frame = read_frame::<Request>(&mut stdin);
                    let end = !matches!(frame, Ok(Some(_)));
                    if end && reading_busy.load(Ordering::SeqCst) {
                        orphaned("its host closed the request pipe mid-call");
                    }
                    if send.send(frame).is_err() || end {
                        break;
                    }
                }
            })?;
        Ok(Self { received, busy })
    }

    /// The next request; `Ok(None)` once the host closed the pipe.
    pub(super) fn next(&self) -> std::io::Result<Option<Request>> {
        self.received.recv().unwrap_or(Ok(None))
    }

    /// Marks the worker busy until the returned guard is dropped.
    pub(super) fn busy(&self) -> Busy {
        self.busy.store(true, Ordering::SeqCst);
        Busy(self.busy.clone())
    }
}
