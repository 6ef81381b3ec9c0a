//! A real `redis-server` for tests and benchmarks: started on a free
//! loopback port with its data in a temporary folder, and killed when
//! dropped. None is assumed to be running; without `redis-server` on the
//! PATH, the test fails saying how to install it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A `redis-server` this process started.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    /// Its working folder: the append-only file of a durable server, and its log.
    dir: tempfile::TempDir,
    durable: bool,
}

impl RedisServer {
    /// A server that keeps its data in memory only.
    pub fn start() -> Self {
        Self::launch(false)
    }

    /// A server that appends every write to its file and syncs it before
    /// answering (`appendonly yes`, `appendfsync always`), so that what it
    /// acknowledged survives a `kill -9` and is there after [`Self::restart`].
    pub fn start_durable() -> Self {
        Self::launch(true)
    }

    fn launch(durable: bool) -> Self {
        let mut last = String::new();
        // A free port may be taken by someone else before the server binds it: try a few.
        for _ in 0..5 {
            let mut server = Self {
                child: None,
                port: free_port(),
                dir: tempfile::tempdir().expect("a temporary folder for redis-server"),
                durable,
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(problem) => last = problem,
            }
        }
        panic!("redis-server did not start: {last}");
    }

    /// Starts the server on `self.port` and waits until it answers `PING`.
    fn spawn(&mut self) -> Result<(), String> {
        let log = self.dir.path().join("redis.log");
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if self.durable {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed; these tests start their own: `apt-get install redis-server`"
            ),
            Err(error) => panic!("cannot start redis-server: {error}"),
        };
        let child = self.child.insert(child);
        let started = Instant::now();
        loop {
            if ping(self.port) {
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!("it exited ({status}): {}", tail(&log)));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "it did not answer PING within {START_TIMEOUT:?}: {}",
                    tail(&log)
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `redis://127.0.0.1:PORT/0`, as `--keyvalue` takes it.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `127.0.0.1:PORT`, as failures name the server.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the server (`SIGKILL`, no shutdown of its own) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (`SIGSTOP`), as a hung one: its connections
    /// stay open and nothing answers on them until [`Self::resume`].
    pub fn pause(&self) {
        self.signal(rustix::process::Signal::STOP);
    }

    /// Lets a paused server run again (`SIGCONT`).
    pub fn resume(&self) {
        self.signal(rustix::process::Signal::CONT);
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let child = self.child.as_ref().expect("redis-server is running");
        rustix::process::kill_process(rustix::process::Pid::from_child(child), signal)
            .expect("redis-server takes the signal");
    }

    /// Starts the server again on the same port, from the same folder (a
    /// durable one reads back its append-only file).
    pub fn restart(&mut self) {
        self.kill();
        if let Err(problem) = self.spawn() {
            panic!(
                "redis-server did not restart on port {}: {problem}",
                self.port
            );
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port nobody listened on a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Whether a server on `port` answers `PING` with `PONG`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// The end of the server's log, for a failure message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}
