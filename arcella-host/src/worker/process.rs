//! The host side of a worker: spawning the process, one request at a time, and noticing its death.

use std::path::PathBuf;
use std::process::Stdio as ProcessStdio;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::{Child, Command};

use super::entry::{GROUP_ENV, WORKER_ENV};
use super::protocol::{Event, Reply, Request, await_input_briefly, encode_frame, read_frame_async};
use crate::error::{Error, Result};
use crate::services::keyvalue::{KeyValue, remote};
use crate::services::logging::emit;
use crate::services::wasi::output::{OutputSink, Stdio, Stream};
use crate::store::Observers;

/// How to start a worker process: an executable whose `main` calls
/// [`run_if_worker`](super::run_if_worker) first.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    /// The executable.
    pub program: PathBuf,
}

impl WorkerCommand {
    /// This very executable: right for binaries that call `run_if_worker`.
    pub fn current_exe() -> std::io::Result<Self> {
        Ok(Self {
            program: std::env::current_exe()?,
        })
    }

    /// The executable in `ARCELLA_WORKER_EXE`, if set, else this one.
    pub fn from_env() -> std::io::Result<Self> {
        match std::env::var_os("ARCELLA_WORKER_EXE") {
            Some(program) => Ok(Self {
                program: program.into(),
            }),
            None => Self::current_exe(),
        }
    }
}

/// A running worker process serving one group.
///
/// Host and worker talk over a socket pair that is the worker's stdin, in
/// both directions; the worker's stdout and stderr are the host's own, so a
/// guest's output that is not captured goes straight to them, not through
/// the host. A second socket pair, handed over first on that channel,
/// carries the worker's keyvalue calls to the host's store.
pub struct WorkerProcess {
    name: String,
    /// The buckets the host serves this worker: its modules' grants.
    keyvalue_grants: remote::WorkerGrants,
    child: Child,
    /// Requests to the worker.
    requests: OwnedWriteHalf,
    /// Its events: logs, output it forwards, replies (buffered: a frame's
    /// header and body usually come in one read).
    events: BufReader<EagerRead>,
}

impl WorkerProcess {
    /// Starts a worker for `group`.
    pub fn spawn(group: &str, command: &WorkerCommand, keyvalue: &KeyValue) -> Result<Self> {
        let mut process = Command::new(&command.program);
        // Its own process group: a Ctrl-C at the terminal reaches the host,
        // which then stops its modules cleanly, not the worker mid-call.
        #[cfg(unix)]
        process.process_group(0);
        let cannot_start = |error: std::io::Error| Error::WorkerStart {
            group: group.to_string(),
            program: command.program.clone(),
            cause: error.to_string(),
        };
        let (host_end, worker_end) =
            std::os::unix::net::UnixStream::pair().map_err(cannot_start)?;
        let mut child = process
            .env(WORKER_ENV, "1")
            .env(GROUP_ENV, group)
            .stdin(ProcessStdio::from(std::os::fd::OwnedFd::from(worker_end)))
            .stdout(ProcessStdio::inherit())
            .stderr(ProcessStdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(cannot_start)?;
        // Its keyvalue connection first, before any request.
        let keyvalue_grants = match remote::hand_over(&host_end, keyvalue) {
            Ok(grants) => grants,
            Err(error) => {
                let _ = child.start_kill();
                return Err(cannot_start(error));
            }
        };
        let channel = host_end
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UnixStream::from_std(host_end));
        let (events, requests) = match channel {
            Ok(channel) => channel.into_split(),
            Err(error) => {
                let _ = child.start_kill();
                return Err(cannot_start(error));
            }
        };
        Ok(Self {
            name: group.to_string(),
            keyvalue_grants,
            child,
            requests,
            events: BufReader::new(EagerRead(events)),
        })
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The worker's process id, if it is still running.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends `request` and waits for its reply, passing logs and output on as they come.
    ///
    /// If the worker does not answer within `deadline`, it is killed. If it
    /// dies, the error says how; the group must then be spawned afresh.
    pub async fn call(
        &mut self,
        request: &Request<'_>,
        deadline: Duration,
        stdio: &Stdio,
        observers: &Observers,
    ) -> Result<Reply> {
        if let Request::Install { settings, .. } | Request::ServeHttp { settings, .. } = request {
            self.keyvalue_grants.add(&settings.capabilities.keyvalue);
        }
        let exchange = async {
            let frame = encode_frame(request).map_err(|error| {
                Some(Error::WorkerProtocol {
                    message: format!("cannot encode a request: {error}"),
                })
            })?;
            if self.requests.write_all(&frame).await.is_err()
                || self.requests.flush().await.is_err()
            {
                return Err(None);
            }
            let stdout_sink = OutputSink::new(Stream::Stdout, stdio);
            let stderr_sink = OutputSink::new(Stream::Stderr, stdio);
            loop {
                if self.events.buffer().is_empty() {
                    await_input_briefly(self.events.get_ref().0.as_ref());
                }
                match read_frame_async::<Event>(&mut self.events).await {
                    Ok(Some(Event::Log(record))) => {
                        emit(&record);
                        if let Some(on_log) = &observers.on_log {
                            on_log(&record);
                        }
                    }
                    Ok(Some(Event::Outbound(record))) => {
                        if let Some(on_outbound) = &observers.on_outbound {
                            on_outbound(&record);
                        }
                    }
                    Ok(Some(Event::ServiceCall(call))) => {
                        if let Some(on_service_call) = &observers.on_service_call {
                            on_service_call(&call);
                        }
                    }
                    Ok(Some(Event::Output(stream, bytes))) => {
                        let sink = if stream == Stream::Stdout {
                            &stdout_sink
                        } else {
                            &stderr_sink
                        };
                        let _ = sink.write_chunk(&bytes);
                    }
                    Ok(Some(Event::Reply(reply))) => return reply.map_err(Some),
                    Ok(None) => return Err(None),
                    Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                        return Err(None);
                    }
                    Err(error) => {
                        let _ = self.child.start_kill();
                        return Err(Some(Error::WorkerDied {
                            group: self.name.clone(),
                            cause: format!("it sent an unreadable frame ({error}) and was killed"),
                        }));
                    }
                }
            }
        };
        match tokio::time::timeout(deadline, exchange).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(Some(error))) => Err(error),
            Ok(Err(None)) => Err(self.death().await),
            Err(_elapsed) => {
                let _ = self.child.start_kill();
                let _ = self.child.wait().await;
                Err(Error::WorkerDied {
                    group: self.name.clone(),
                    cause: format!(
                        "it did not answer within {} and was killed",
                        humantime::format_duration(deadline)
                    ),
                })
            }
        }
    }

    /// For a worker that answered [`Request::ServeHttp`]: passes its logs
    /// and output on until `shutdown`, then asks it to stop serving and
    /// waits up to `grace` for requests in flight. `Ok` when it stopped as
    /// asked; the worker's death otherwise.
    pub async fn relay_until(
        mut self,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
        stdio: &Stdio,
        observers: &Observers,
    ) -> Result<()> {
        // Frames are read by a task of their own: a frame half read when
        // shutdown comes must not be lost mid-way.
        let (relay, mut received) = tokio::sync::mpsc::channel::<Option<Event>>(64);
        let mut events = self.events;
        let reader = tokio::spawn(async move {
            loop {
                let event = read_frame_async::<Event>(&mut events).await.ok().flatten();
                let end = event.is_none();
                if relay.send(event).await.is_err() || end {
                    break;
                }
            }
        });
        let stdout_sink = OutputSink::new(Stream::Stdout, stdio);
        let stderr_sink = OutputSink::new(Stream::Stderr, stdio);
        tokio::pin!(shutdown);
        let mut deadline: Option<tokio::time::Instant> = None;
        let outcome = loop {
            let until_deadline = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut shutdown, if deadline.is_none() => {
                    deadline = Some(tokio::time::Instant::now() + grace);
                    let stop = encode_frame(&Request::StopServing).map_err(|error| Error::WorkerProtocol {
                        message: format!("cannot encode a request: {error}"),
                    })?;
                    if self.requests.write_all(&stop).await.is_err() || self.requests.flush().await.is_err() {
                        break Ok(());
                    }
                }
                () = until_deadline => {
                    let _ = self.child.start_kill();
                    break Ok(());
                }
                event = received.recv() => match event.flatten() {
                    Some(Event::Log(record)) => {
                        emit(&record);
                        if let Some(on_log) = &observers.on_log {
                            on_log(&record);
                        }
                    }
                    Some(Event::Outbound(record)) => {
                        if let Some(on_outbound) = &observers.on_outbound {
                            on_outbound(&record);
                        }
                    }
                    Some(Event::ServiceCall(call)) => {
                        if let Some(on_service_call) = &observers.on_service_call {
                            on_service_call(&call);
                        }
                    }
                    Some(Event::Output(stream, bytes)) => {
                        let sink = if stream == Stream::Stdout { &stdout_sink } else { &stderr_sink };
                        let _ = sink.write_chunk(&bytes);
                    }
                    Some(Event::Reply(_)) if deadline.is_some() => break Ok(()),
                    Some(Event::Reply(_)) => {}
                    None if deadline.is_some() => break Ok(()),
                    None => break Err(()),
                }
            }
        };
        reader.abort();
        drop(self.requests);
        match outcome {
            Ok(()) => {
                if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
                    .await
                    .is_err()
                {
                    let _ = self.child.start_kill();
                }
                Ok(())
            }
            Err(()) => Err(death(&self.name, &mut self.child).await),
        }
    }

    /// Why the worker went away.
    async fn death(&mut self) -> Error {
        death(&self.name, &mut self.child).await
    }
}

/// Why the worker of `group` went away: its exit status, awaited for a while.
async fn death(group: &str, child: &mut Child) -> Error {
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    let cause = match status {
        Ok(Ok(status)) => describe_exit(status),
        Ok(Err(error)) => format!("its status is unknown ({error})"),
        Err(_) => {
            let _ = child.start_kill();
            "it closed its pipe and was killed".to_string()
        }
    };
    Error::WorkerDied {
        group: group.to_string(),
        cause,
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                6 => " (SIGABRT)",
                9 => " (SIGKILL; out of memory or killed)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("killed by signal {signal}{name}");
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "exited".to_string(),
    }
}

/// The worker's events, read without waiting for the runtime when they are
/// already there: after the brief watch for an answer has seen it arrive,
/// a read through tokio alone would first wait for the reactor to report the
/// socket readable (a trip through the driver), since its last read found
/// nothing. The socket is non-blocking, so the direct read never blocks.
struct EagerRead(OwnedReadHalf);

impl tokio::io::AsyncRead for EagerRead {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::os::fd::AsFd;
        let this = self.get_mut();
        match rustix::io::read(this.0.as_ref().as_fd(), buf.initialize_unfilled()) {
            Ok(read) => {
                buf.advance(read);
                return std::task::Poll::Ready(Ok(()));
            }
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
            Err(error) => return std::task::Poll::Ready(Err(error.into())),
        }
        std::pin::Pin::new(&mut this.0).poll_read(context, buf)
    }
}
