//! The host process, seen from a test binary: found, started once, shared
//! by every harness of the binary, and replaced when it dies.
//!
//! The host is the user's installed `cargo-arcella` (`ARCELLA_HOST`, which
//! `cargo arcella test` sets to itself, else the one on `PATH`), so a test
//! binary compiles no wasmtime of its own. Its stdin is a pipe this process
//! never writes to and never closes: when the test binary exits, even by
//! `kill -9`, the kernel closes it and the host exits too.

use std::io::{BufRead as _, BufReader};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::builder::HOST_ENV;
use crate::error::Error;
use crate::protocol::{HOST_MODE_ENV, PROTOCOL, READY, Reply, Request, read_frame, write_frame};

/// How long a new host may take to say it is ready (a cold start on a
/// loaded machine reads and maps a large executable).
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The host processes of this test binary, one per host executable.
static HOSTS: Mutex<Vec<Arc<HostProcess>>> = Mutex::new(Vec::new());

/// A running host.
struct HostProcess {
    exe: PathBuf,
    socket: PathBuf,
    child: Mutex<Child>,
    /// Held open for the life of the test binary; see the module docs.
    _lifeline: ChildStdin,
}

/// One harness's session with the host.
pub(crate) struct Connection {
    stream: UnixStream,
    host: Arc<HostProcess>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The executable `name` on `PATH`, if there is one.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let program = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(&program))
        .find(|path| path.is_file())
}

/// The host executable: `explicit`, else `ARCELLA_HOST`, else `cargo-arcella` on `PATH`.
fn find_host(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os(HOST_ENV) {
        return Ok(PathBuf::from(path));
    }
    on_path("cargo-arcella").ok_or_else(|| Error::HostMissing {
        looked: format!("{HOST_ENV} is not set, and there is no `cargo-arcella` on PATH"),
    })
}

/// A session with the host (started if this binary has none running).
pub(crate) fn connect(explicit: Option<&Path>) -> Result<Connection, Error> {
    let exe = find_host(explicit)?;
    let host = {
        let mut hosts = lock(&HOSTS);
        hosts.retain(|host| host.running());
        match hosts.iter().find(|host| host.exe == exe) {
            Some(host) => host.clone(),
            None => {
                let host = Arc::new(HostProcess::start(&exe)?);
                hosts.push(host.clone());
                host
            }
        }
    };
    match UnixStream::connect(&host.socket) {
        Ok(stream) => Ok(Connection { stream, host }),
        Err(error) => Err(host.lost(&format!("refused the connection: {error}"))),
    }
}

impl HostProcess {
    fn start(exe: &Path) -> Result<Self, Error> {
        if !exe.is_file() {
            return Err(Error::HostMissing {
                looked: format!("there is no file at {}", exe.display()),
            });
        }
        let mut child = Command::new(exe)
            .env(HOST_MODE_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| Error::HostLost {
                what: format!("at {} could not be started: {error}", exe.display()),
            })?;
        let lifeline = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            let _ = sender.send(read);
            // Whatever else it prints is not ours to show.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match receiver.recv_timeout(READY_WITHIN) {
            Ok(Ok(line)) => line,
            Ok(Err(error)) => {
                let _ = child.kill();
                return Err(Error::HostLost {
                    what: format!("at {} could not be read: {error}", exe.display()),
                });
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::HostLost {
                    what: format!(
                        "at {} did not get ready within {}s",
                        exe.display(),
                        READY_WITHIN.as_secs()
                    ),
                });
            }
        };
        let mut words = line.trim_end().splitn(4, ' ');
        let (ready, protocol, version, socket) =
            (words.next(), words.next(), words.next(), words.next());
        let (Some(READY), Some(protocol), Some(version), Some(socket)) =
            (ready, protocol, version, socket)
        else {
            let _ = child.kill();
            let _ = child.wait();
            let printed = line.trim();
            return Err(Error::HostLost {
                what: if printed.is_empty() {
                    format!(
                        "at {} is not an Arcella host with a testkit: it exited without a word",
                        exe.display()
                    )
                } else {
                    format!(
                        "at {} is not an Arcella host with a testkit: it printed `{printed}`",
                        exe.display()
                    )
                },
            });
        };
        let theirs = protocol.parse::<u32>().unwrap_or(0);
        if theirs != PROTOCOL {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::HostVersion {
                path: exe.to_path_buf(),
                testkit: env!("CARGO_PKG_VERSION").to_string(),
                ours: PROTOCOL,
                host: version.to_string(),
                theirs,
            });
        }
        Ok(Self {
            exe: exe.to_path_buf(),
            socket: PathBuf::from(socket),
            child: Mutex::new(child),
            _lifeline: lifeline,
        })
    }

    fn running(&self) -> bool {
        matches!(lock(&self.child).try_wait(), Ok(None))
    }

    /// The error for a host that stopped answering: how it ended, if it
    /// did. It is dropped from the shared ones (and killed, if it hangs),
    /// so that the next harness starts a fresh one.
    fn lost(&self, problem: &str) -> Error {
        let mut child = lock(&self.child);
        let deadline = Instant::now() + Duration::from_millis(500);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => break None,
            }
        };
        let what = match status {
            Some(status) => {
                use std::os::unix::process::ExitStatusExt as _;
                match (status.code(), status.signal()) {
                    (_, Some(signal)) => format!(
                        "at {} crashed (killed by signal {signal}) during the test",
                        self.exe.display()
                    ),
                    (Some(code), _) => format!(
                        "at {} exited with code {code} during the test",
                        self.exe.display()
                    ),
                    _ => format!("at {} ended during the test", self.exe.display()),
                }
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                format!("at {} {problem}; it was stopped", self.exe.display())
            }
        };
        drop(child);
        lock(&HOSTS).retain(|host| !std::ptr::eq(Arc::as_ptr(host), self));
        Error::HostLost { what }
    }
}

impl Connection {
    /// Sends `request` and reads its reply.
    pub(crate) fn ask(&mut self, request: &Request) -> Result<Reply, Error> {
        if let Err(error) = write_frame(&mut self.stream, request) {
            return Err(self
                .host
                .lost(&format!("did not take the request: {error}")));
        }
        match read_frame::<Reply>(&mut self.stream) {
            Ok(Some(reply)) => Ok(reply),
            Ok(None) => Err(self.host.lost("closed the connection")),
            Err(error) => Err(self
                .host
                .lost(&format!("sent an unreadable reply: {error}"))),
        }
    }

    /// The host's process id, for tests of its lifetime.
    pub(crate) fn host_pid(&self) -> u32 {
        lock(&self.host.child).id()
    }
}
