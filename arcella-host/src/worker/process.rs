//! The host side of a worker: spawning the process, one request at a time, and noticing its death.

use std::path::PathBuf;
use std::process::Stdio as ProcessStdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::entry::{GROUP_ENV, WORKER_ENV};
use super::protocol::{Event, Reply, Request, encode_frame, read_frame_async};
use crate::error::{Error, Result};
use crate::logging::{LogCallback, emit};
use crate::output::{OutputSink, Stdio, Stream};

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
pub struct WorkerGroup {
    name: String,
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl WorkerGroup {
    /// Starts a worker for `group`.
    pub fn spawn(group: &str, command: &WorkerCommand) -> Result<Self> {
        let mut process = Command::new(&command.program);
        // Its own process group: a Ctrl-C at the terminal reaches the host,
        // which then stops its modules cleanly, not the worker mid-call.
        #[cfg(unix)]
        process.process_group(0);
        let mut child = process
            .env(WORKER_ENV, "1")
            .env(GROUP_ENV, group)
            .stdin(ProcessStdio::piped())
            .stdout(ProcessStdio::piped())
            .stderr(ProcessStdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| {
                Error::Host(format!(
                    "cannot start worker for group '{group}' ({}): {error}",
                    command.program.display()
                ))
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(Error::Host(format!(
                "worker for group '{group}' has no pipes"
            )));
        };
        Ok(Self {
            name: group.to_string(),
            child,
            stdin,
            stdout,
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
        request: &Request,
        deadline: Duration,
        stdio: &Stdio,
        on_log: Option<&LogCallback>,
    ) -> Result<Reply> {
        let exchange = async {
            let frame = encode_frame(request).map_err(|error| Error::Host(error.to_string()))?;
            if self.stdin.write_all(&frame).await.is_err() || self.stdin.flush().await.is_err() {
                return Err(None);
            }
            let stdout_sink = OutputSink::new(Stream::Stdout, stdio);
            let stderr_sink = OutputSink::new(Stream::Stderr, stdio);
            loop {
                match read_frame_async::<Event>(&mut self.stdout).await {
                    Ok(Some(Event::Log(record))) => {
                        emit(&record);
                        if let Some(on_log) = on_log {
                            on_log(&record);
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
        on_log: Option<&LogCallback>,
    ) -> Result<()> {
        // Frames are read by a task of their own: a frame half read when
        // shutdown comes must not be lost mid-way.
        let (events, mut received) = tokio::sync::mpsc::channel::<Option<Event>>(64);
        let mut stdout = self.stdout;
        let reader = tokio::spawn(async move {
            loop {
                let event = read_frame_async::<Event>(&mut stdout).await.ok().flatten();
                let end = event.is_none();
                if events.send(event).await.is_err() || end {
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
                    let stop = encode_frame(&Request::StopServing)
                        .map_err(|error| Error::Host(error.to_string()))?;
                    if self.stdin.write_all(&stop).await.is_err() || self.stdin.flush().await.is_err() {
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
                        if let Some(on_log) = on_log {
                            on_log(&record);
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
        drop(self.stdin);
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
