//! The worker side: a process that runs one group's modules on the host's behalf.
//!
//! The host re-runs its own executable with `ARCELLA_WORKER=1`; the binary's
//! `main` calls [`run_if_worker`] first, so any program that embeds the host
//! (the CLI, a test binary, a user's own server) brings its worker along.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use super::lifeline;
use super::protocol::{Event, OutputMode, Reply, Request, WireSettings, write_frame};
use crate::cache::CompileCache;
use crate::error::{Error, Result};
use crate::http::{HttpService, ServeOptions};
use crate::instance::{Instance, Loaded};
use crate::logging::LogRecord;
use crate::output::{Stdio, Stream};
use crate::sandbox::SandboxSettings;

/// The environment variable that turns a process into a worker.
pub const WORKER_ENV: &str = "ARCELLA_WORKER";

/// The environment variable that names the worker's group (for its messages).
pub const GROUP_ENV: &str = "ARCELLA_WORKER_GROUP";

/// If this process was started as a worker, serves requests on stdin/stdout
/// until the host closes stdin, then exits the process. Otherwise returns at once.
///
/// Call it first thing in `main` of any binary that embeds the host.
pub fn run_if_worker() {
    if std::env::var_os(WORKER_ENV).is_none_or(|value| value != "1") {
        return;
    }
    let group = std::env::var(GROUP_ENV).unwrap_or_else(|_| "default".into());
    lifeline::exit_when_orphaned();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("arcella worker '{group}': cannot start its runtime: {error}");
            std::process::exit(70);
        }
    };
    let code = match runtime.block_on(serve()) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("arcella worker '{group}': {error}");
            70
        }
    };
    std::process::exit(code);
}

struct WorkerModule {
    loaded: Loaded,
    settings: WireSettings,
    instance: Option<Instance>,
}

/// Frames go back to the host one at a time, whoever writes them (a reply,
/// or a guest's log or output), over the socket that is this process's stdin.
type FrameWriter = Arc<Mutex<std::os::unix::net::UnixStream>>;

fn send(writer: &FrameWriter, event: &Event) -> std::io::Result<()> {
    let mut channel = writer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    write_frame(&mut *channel, event)?;
    channel.flush()
}

/// The host's end of the conversation: stdin is a socket, written to as well.
fn host_channel() -> std::io::Result<std::os::unix::net::UnixStream> {
    use std::os::fd::AsFd;
    let channel = std::io::stdin().as_fd().try_clone_to_owned()?;
    Ok(std::os::unix::net::UnixStream::from(channel))
}

async fn serve() -> std::io::Result<()> {
    let writer: FrameWriter = Arc::new(Mutex::new(host_channel()?));
    let requests = lifeline::Requests::read_stdin()?;
    let mut modules: HashMap<String, WorkerModule> = HashMap::new();
    let mut server: Option<HttpServer> = None;
    while let Some(request) = requests.next()? {
        let _busy = requests.busy();
        let reply = match request {
            Request::ServeHttp {
                name,
                wasm,
                settings,
                listen,
                max_body,
            } if server.is_none() => HttpServer::start(
                &name, &wasm, &settings, listen, max_body, &writer,
            )
            .map(|started| {
                let address = started.address;
                server = Some(started);
                Reply::Listening(address)
            }),
            Request::ServeHttp { .. } => Err(Error::Host("this worker is already serving".into())),
            Request::StopServing => {
                if let Some(server) = server.take() {
                    server.stop();
                }
                Ok(Reply::StoppedServing)
            }
            request => handle(&mut modules, request, &writer).await,
        };
        send(&writer, &Event::Reply(reply))?;
    }
    if let Some(server) = server.take() {
        server.stop();
    }
    Ok(())
}

/// An HTTP component served from this worker, on a multi-threaded runtime
/// of its own so that requests use every core.
struct HttpServer {
    address: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl HttpServer {
    fn start(
        name: &str,
        wasm: &[u8],
        settings: &WireSettings,
        listen: std::net::SocketAddr,
        max_body: u64,
        writer: &FrameWriter,
    ) -> Result<Self> {
        let cache = match &settings.cache_dir {
            Some(dir) => {
                Some(CompileCache::open(dir).map_err(|error| Error::Host(error.to_string()))?)
            }
            None => None,
        };
        let loaded = Loaded::compile(name, wasm, settings.engine, cache.as_ref())?;
        let sandbox = sandbox(settings, writer, Stdio::Discard, Vec::new());
        let service = HttpService::new(
            Arc::new(loaded),
            sandbox,
            ServeOptions {
                max_body,
                ..ServeOptions::default()
            },
        )?;
        let listener = std::net::TcpListener::bind(listen)
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .map_err(|error| Error::Host(format!("cannot listen on {listen}: {error}")))?;
        let address = listener.local_addr().unwrap_or(listen);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|error| Error::Host(format!("cannot start the server's runtime: {error}")))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("arcella-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            tracing::error!(target: "arcella::http", "cannot serve on {address}: {error}");
                            return;
                        }
                    };
                    let shutdown = async {
                        let _ = stopped.await;
                    };
                    if let Err(error) = Arc::new(service).serve(listener, shutdown).await {
                        tracing::error!(target: "arcella::http", "serving failed: {error}");
                    }
                });
            })
            .map_err(|error| Error::Host(format!("cannot start the server thread: {error}")))?;
        Ok(Self {
            address,
            stop,
            thread,
        })
    }

    /// Stops accepting and waits for requests in flight (bounded by the timeout).
    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

fn sandbox(
    settings: &WireSettings,
    writer: &FrameWriter,
    stdio: Stdio,
    args: Vec<String>,
) -> SandboxSettings {
    let log_writer = writer.clone();
    SandboxSettings {
        limits: settings.limits.clone(),
        capabilities: settings.capabilities.clone(),
        args,
        deterministic: settings.deterministic,
        stdio,
        on_log: Some(Arc::new(move |record: &LogRecord| {
            let _ = send(&log_writer, &Event::Log(record.clone()));
        })),
        mock_network: None,
        opened_dirs: crate::dir_grants::OpenedDirs::default(),
    }
}

async fn handle(
    modules: &mut HashMap<String, WorkerModule>,
    request: Request,
    writer: &FrameWriter,
) -> Result<Reply> {
    let missing = |key: &str| Error::Host(format!("worker has no module '{key}' installed"));
    match request {
        Request::Install {
            key,
            name,
            hash,
            wasm,
            settings,
        } => {
            let cache = match &settings.cache_dir {
                Some(dir) => {
                    Some(CompileCache::open(dir).map_err(|error| Error::Host(error.to_string()))?)
                }
                None => None,
            };
            let loaded = if wasm.is_empty() {
                match Loaded::cached(&name, &hash, settings.engine, cache.as_ref())? {
                    Some(loaded) => loaded,
                    None => return Ok(Reply::NeedsComponent),
                }
            } else {
                Loaded::compile(&name, &wasm, settings.engine, cache.as_ref())?
            };
            let kind = loaded.kind();
            modules.insert(
                key,
                WorkerModule {
                    loaded,
                    settings,
                    instance: None,
                },
            );
            Ok(Reply::Installed(kind))
        }
        Request::Start { key, config } => {
            let module = modules.get_mut(&key).ok_or_else(|| missing(&key))?;
            module.instance = None;
            let settings = sandbox(&module.settings, writer, Stdio::Discard, Vec::new());
            let mut instance = module.loaded.instantiate(&settings).await?;
            let call = instance.start(&config).await?;
            module.instance = Some(instance);
            Ok(Reply::Started(call))
        }
        Request::Handle {
            key,
            topic,
            payload,
        } => {
            let module = modules.get_mut(&key).ok_or_else(|| missing(&key))?;
            let instance = module
                .instance
                .as_mut()
                .ok_or_else(|| Error::Host(format!("module '{key}' is not running")))?;
            match instance.handle(&topic, &payload).await {
                Ok(call) => Ok(Reply::Handled(call)),
                Err(error) => {
                    module.instance = None;
                    Err(error)
                }
            }
        }
        Request::Invoke { key, call } => {
            let module = modules.get_mut(&key).ok_or_else(|| missing(&key))?;
            let instance = module
                .instance
                .as_mut()
                .ok_or_else(|| Error::Host(format!("module '{key}' is not running")))?;
            match instance.invoke(&call).await {
                Ok(call) => Ok(Reply::Invoked(call)),
                Err(error @ Error::Invoke { .. }) => Err(error),
                Err(error) => {
                    module.instance = None;
                    Err(error)
                }
            }
        }
        Request::Stop { key } => {
            let module = modules.get_mut(&key).ok_or_else(|| missing(&key))?;
            let mut instance = module
                .instance
                .take()
                .ok_or_else(|| Error::Host(format!("module '{key}' is not running")))?;
            instance.stop().await.map(Reply::Stopped)
        }
        Request::Run { key, args, output } => {
            let module = modules.get(&key).ok_or_else(|| missing(&key))?;
            let stdio = match output {
                OutputMode::Discard => Stdio::Discard,
                // This process's stdout and stderr are the host's own.
                OutputMode::Inherit => Stdio::Inherit,
                OutputMode::Capture { limit } => Stdio::Capture { limit },
                OutputMode::Forward => {
                    let output_writer = writer.clone();
                    Stdio::Forward(Arc::new(move |stream: Stream, bytes: &[u8]| {
                        let _ = send(&output_writer, &Event::Output(stream, bytes.to_vec()));
                    }))
                }
            };
            let settings = sandbox(&module.settings, writer, stdio, args);
            module.loaded.run_command(&settings).await.map(Reply::Ran)
        }
        Request::Remove { key } => {
            modules.remove(&key);
            Ok(Reply::Removed)
        }
        Request::ServeHttp { .. } | Request::StopServing => Err(Error::Host(
            "HTTP serving is handled by the request loop".into(),
        )),
    }
}
