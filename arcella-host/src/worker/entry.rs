//! The worker side: a process that runs one group's modules on the host's behalf.
//!
//! The host re-runs its own executable with `ARCELLA_WORKER=1`; the binary's
//! `main` calls [`run_if_worker`] first, so any program that embeds the host
//! (the CLI, a test binary, a user's own server) brings its worker along.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use super::lifeline;
use super::protocol::{Event, Reply, Request, WireSettings, write_frame};
use crate::cache::CompileCache;
use crate::error::{Error, Result};
use crate::http::{HttpService, ServeOptions};
use crate::loaded::Loaded;
use crate::placement::Local;
use crate::services::calls::{ServiceCall, ServiceCallCallback};
use crate::services::keyvalue::{KeyValue, remote};
use crate::services::logging::LogRecord;
use crate::services::outbound_http::OutboundRecord;
use crate::services::wasi::output::{OutputCallback, Stdio, Stream};
use crate::store::{Observers, SandboxSettings};

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

/// This worker's connection to the host's key-value store, taken at start.
static WORKER_KEYVALUE: std::sync::OnceLock<KeyValue> = std::sync::OnceLock::new();

async fn serve() -> std::io::Result<()> {
    // The host hands the keyvalue connection over before any request.
    let keyvalue = KeyValue::remote(remote::take_over(&host_channel()?)?);
    let _ = WORKER_KEYVALUE.set(keyvalue);
    let writer: FrameWriter = Arc::new(Mutex::new(host_channel()?));
    let mut requests = lifeline::Requests::watch(host_channel()?)?;
    let mut modules: HashMap<String, Local> = HashMap::new();
    let mut server: Option<HttpServer> = None;
    while let Some(request) = requests.next()? {
        let _busy = requests.busy();
        let reply = match request {
            Request::ServeHttp {
                name,
                wasm,
                settings,
                options,
            } if server.is_none() => HttpServer::start(&name, &wasm, &settings, options, &writer)
                .map(|started| {
                    let address = started.address;
                    server = Some(started);
                    Reply::Listening(address)
                }),
            Request::ServeHttp { .. } => Err(Error::WorkerProtocol {
                message: "asked to serve twice".into(),
            }),
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
        options: ServeOptions,
        writer: &FrameWriter,
    ) -> Result<Self> {
        let cache = open_cache(settings)?;
        let loaded = Loaded::compile(name, wasm, settings.engine, cache.as_ref())?;
        let listen = options.listen;
        let service = HttpService::new(
            Arc::new(loaded),
            &sandbox_settings(settings, writer),
            options,
        )?;
        let listener = std::net::TcpListener::bind(listen)
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .map_err(|error| Error::Listen {
                address: listen,
                cause: error.to_string(),
            })?;
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

/// What a worker's stores are built from: its guests' logs, outbound
/// records and (if the host listens) service calls go back to the host as
/// events; module output is dropped.
fn sandbox_settings(settings: &WireSettings, writer: &FrameWriter) -> SandboxSettings {
    let (log_writer, outbound_writer) = (writer.clone(), writer.clone());
    let calls_writer = writer.clone();
    SandboxSettings {
        limits: settings.limits.clone(),
        capabilities: settings.capabilities.clone(),
        args: Vec::new(),
        deterministic: settings.deterministic,
        stdio: Stdio::Discard,
        observers: Observers {
            on_log: Some(Arc::new(move |record: &LogRecord| {
                let _ = send(&log_writer, &Event::Log(record.clone()));
            })),
            on_outbound: Some(Arc::new(move |record: &OutboundRecord| {
                let _ = send(&outbound_writer, &Event::Outbound(record.clone()));
            })),
            on_service_call: settings
                .report_service_calls
                .then(|| -> ServiceCallCallback {
                    Arc::new(move |call: &ServiceCall| {
                        let _ = send(&calls_writer, &Event::ServiceCall(call.clone()));
                    })
                }),
        },
        backends: settings.backends.clone(),
        config: settings.config.clone(),
        keyvalue: WORKER_KEYVALUE.get().cloned(),
    }
}

fn open_cache(settings: &WireSettings) -> Result<Option<CompileCache>> {
    settings
        .cache_dir
        .as_ref()
        .map(|dir| {
            CompileCache::open(dir).map_err(|error| Error::Cache {
                message: error.to_string(),
            })
        })
        .transpose()
}

async fn handle(
    modules: &mut HashMap<String, Local>,
    request: Request<'_>,
    writer: &FrameWriter,
) -> Result<Reply> {
    match request {
        Request::Install {
            key,
            name,
            hash,
            wasm,
            settings,
        } => {
            let cache = open_cache(&settings)?;
            let loaded = if wasm.is_empty() {
                match Loaded::cached(&name, &hash, settings.engine, cache.as_ref())? {
                    Some(loaded) => loaded,
                    None => return Ok(Reply::NeedsComponent),
                }
            } else {
                Loaded::compile(&name, &wasm, settings.engine, cache.as_ref())?
            };
            let kind = loaded.kind();
            let output_writer = writer.clone();
            let forward: OutputCallback = Arc::new(move |stream: Stream, bytes: &[u8]| {
                let _ = send(&output_writer, &Event::Output(stream, bytes.to_vec()));
            });
            let local = Local::new(
                Arc::new(loaded),
                &sandbox_settings(&settings, writer),
                Some(forward),
            );
            modules.insert(key, local);
            Ok(Reply::Installed(kind))
        }
        Request::Call { key, op } => {
            let module = modules.get_mut(&key).ok_or_else(|| Error::WorkerProtocol {
                message: format!("no module '{key}' is installed in the worker"),
            })?;
            module.call(op).await.map(Reply::Done)
        }
        Request::Remove { key } => {
            modules.remove(&key);
            Ok(Reply::Removed)
        }
        Request::ServeHttp { .. } | Request::StopServing => Err(Error::WorkerProtocol {
            message: "HTTP serving is handled by the request loop".into(),
        }),
    }
}
