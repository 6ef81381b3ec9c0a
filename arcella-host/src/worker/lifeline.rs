//! A worker never outlives its host.
//!
//! Workers run in a process group of their own, so a Ctrl-C or a `kill` of
//! the host does not reach them, and a guest call may run for up to an hour.
//! Two watches end a worker whose host is gone, even mid-call: its parent
//! process changing (the host died and the worker was re-parented), and its
//! request pipe closing while a request is being served (the host dropped
//! it). Between requests a closed pipe is the ordinary way to stop: the
//! worker finishes what it was doing and exits cleanly.

use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};

use super::protocol::{Request, await_input_briefly, read_frame};

/// How often a worker checks that its host is still alive.
const PARENT_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The exit status of a worker whose host went away.
const ORPHANED_EXIT: i32 = 71;

fn orphaned(why: &str) -> ! {
    eprintln!("arcella worker: {why}; stopping its guests");
    std::process::exit(ORPHANED_EXIT);
}

/// The host's requests, read by the worker's own thread (no hand-off between
/// threads on the way to a guest), while a watch thread ends the worker if
/// its host dies or hangs up during a request.
pub(super) struct Requests {
    channel: BufReader<UnixStream>,
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
    /// Reads requests from `channel` and starts the watch over the host.
    pub(super) fn watch(channel: UnixStream) -> std::io::Result<Self> {
        let busy = Arc::new(AtomicBool::new(false));
        let watched = channel.try_clone()?;
        let watching_busy = busy.clone();
        let parent = std::os::unix::process::parent_id();
        std::thread::Builder::new()
            .name("arcella-lifeline".into())
            .spawn(move || watch_host(&watched, parent, &watching_busy))?;
        Ok(Self {
            channel: BufReader::new(channel),
            busy,
        })
    }

    /// The next request; `Ok(None)` once the host closed the channel.
    ///
    /// A host that drives a module calls again within microseconds of a
    /// reply, so the worker watches the channel for a moment before it
    /// sleeps in `read`: waking a sleeping process costs more than the call.
    pub(super) fn next(&mut self) -> std::io::Result<Option<Request<'static>>> {
        if self.channel.buffer().is_empty() {
            await_input_briefly(self.channel.get_ref());
        }
        read_frame(&mut self.channel)
    }

    /// Marks the worker busy until the returned guard is dropped.
    pub(super) fn busy(&self) -> Busy {
        self.busy.store(true, Ordering::SeqCst);
        Busy(self.busy.clone())
    }
}

/// Ends the worker when its parent changes (the host died and the worker
/// was re-parented), or when the host hangs up the channel while a request
/// is being served. Between requests a hang-up is the ordinary way to stop:
/// the request loop reads the end and the worker exits cleanly.
fn watch_host(channel: &UnixStream, parent: u32, busy: &AtomicBool) {
    let interval = Timespec {
        tv_sec: 0,
        tv_nsec: PARENT_CHECK_INTERVAL.as_nanos() as _,
    };
    loop {
        // Only a hang-up wakes this poll early; the requests themselves are
        // left for the request loop to read.
        let mut fds = [PollFd::new(channel, PollFlags::RDHUP)];
        let hung_up = match poll(&mut fds, Some(&interval)) {
            Ok(0) => false,
            Ok(_) => fds[0]
                .revents()
                .intersects(PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR),
            Err(_) => false,
        };
        if std::os::unix::process::parent_id() != parent {
            orphaned("its host process died");
        }
        if hung_up {
            if busy.load(Ordering::SeqCst) {
                orphaned("its host closed the request channel mid-call");
            }
            std::thread::sleep(PARENT_CHECK_INTERVAL);
        }
    }
}
