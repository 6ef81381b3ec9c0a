//! Serving a `wasi:http/proxy` component: one fresh instance per request, under the module's limits.
//!
//! A request that traps or breaks a limit gets a 500 (a timeout, 504) with a
//! short body and one log line naming the limit; the server goes on. Bodies
//! over the size limit get a 413 without being read into memory.
//!
//! Hostile or merely many clients are bounded at every step: connections
//! past [`ServeOptions::max_connections`] wait in the kernel's backlog, a
//! connection that sends no complete request head within
//! [`ServeOptions::header_read_timeout`] (new, or idle between keep-alive requests) is
//! closed, requests past [`ServeOptions::max_concurrent_requests`] queue up
//! to [`ServeOptions::max_queued_requests`] and beyond that get a 503 with
//! `Retry-After`, and `accept` errors (out of file descriptors) back off.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{Error as HttpError, WasiHttpView};

use crate::enforce::{Budget, call_bound, guarded};
use crate::error::Error;
use crate::limits::format_size;
use crate::loaded::Loaded;
use crate::store::{Sandbox, SandboxSettings};

use super::admission::{AcceptBackoff, Admission};

/// Request bodies larger than this get a 413, by default.
pub const DEFAULT_MAX_BODY: u64 = 2 << 20;

/// Where the server listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Connections served at once, by default; more wait in the kernel's backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// Requests run at once, by default; each holds a fresh instance.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 256;

/// Requests that may wait for a free slot, by default; more get a 503.
pub const DEFAULT_MAX_QUEUED_REQUESTS: usize = 1024;

/// Time a client has to send a complete request head, on a new connection
/// or between keep-alive requests, before its connection is closed, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How an HTTP component is served.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ServeOptions {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Request bodies larger than this get a 413.
    pub max_body: u64,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Requests run at once; further ones queue.
    pub max_concurrent_requests: usize,
    /// Requests that may queue for a slot; further ones get a 503 with `Retry-After`.
    pub max_queued_requests: usize,
    /// Time a client has to send a request head (also the keep-alive idle time).
    pub header_read_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body: DEFAULT_MAX_BODY,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_queued_requests: DEFAULT_MAX_QUEUED_REQUESTS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }
}

/// One HTTP component, ready to serve requests.
pub struct HttpService {
    loaded: Arc<Loaded>,
    sandbox: Sandbox,
    options: ServeOptions,
    admission: Admission,
}

impl HttpService {
    /// A service for `loaded`, an HTTP component, running each request under `settings`.
    pub fn new(
        loaded: Arc<Loaded>,
        settings: &SandboxSettings,
        options: ServeOptions,
    ) -> crate::Result<Self> {
        let sandbox = loaded.sandbox(settings);
        Self::with_sandbox(loaded, sandbox, options)
    }

    /// A service for `loaded` whose stores are built from `sandbox`.
    pub(crate) fn with_sandbox(
        loaded: Arc<Loaded>,
        sandbox: Sandbox,
        options: ServeOptions,
    ) -> crate::Result<Self> {
        if loaded.proxy_pre().is_none() {
            return Err(Error::WrongKind {
                module: loaded.name().to_string(),
                kind: loaded.kind().to_string(),
                action: "serve HTTP".into(),
            });
        }
        let admission =
            Admission::new(options.max_concurrent_requests, options.max_queued_requests);
        Ok(Self {
            loaded,
            sandbox,
            options,
            admission,
        })
    }

    /// Serves connections from `listener` until `shutdown` resolves, then lets
    /// requests in flight finish (bounded by the timeout).
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let mut connections = JoinSet::new();
        let slots = Arc::new(tokio::sync::Semaphore::new(
            self.options.max_connections.max(1),
        ));
        let mut backoff = AcceptBackoff::default();
        tokio::pin!(shutdown);
        loop {
            // A free slot first: past the cap, connections wait in the backlog.
            let slot = tokio::select! {
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_closed) => break,
                },
            };
            let accepted = loop {
                tokio::select! {
                    () = &mut shutdown => break None,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => {
                            backoff.succeeded();
                            break Some(accepted);
                        }
                        Err(error) => backoff.failed(&error).await,
                    },
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            };
            let Some((stream, peer)) = accepted else {
                break;
            };
            let service = self.clone();
            let header_read_timeout = self.options.header_read_timeout;
            connections.spawn(async move {
                let _slot = slot;
                let handler = service_fn(move |request| service.clone().handle(request));
                let served = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_read_timeout)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), handler)
                    .await;
                if let Err(error) = served {
                    tracing::debug!(target: "arcella::http", "connection from {peer} ended: {error}");
                }
            });
            while connections.try_join_next().is_some() {}
        }
        drop(listener);
        let drain = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(call_bound(self.sandbox.limits()), drain)
            .await
            .is_err()
        {
            connections.abort_all();
        }
        Ok(())
    }

    /// Answers one request with a fresh instance. The body may be hyper's
    /// [`Incoming`](hyper::body::Incoming) or any other body, e.g. a test's `Full<Bytes>`.
    pub async fn handle<B>(
        self: Arc<Self>,
        request: Request<B>,
    ) -> Result<Response<HyperOutgoingBody>, Infallible>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<HttpError>,
    {
        let started = Instant::now();
        let method = request.method().clone();
        let path = arcella_types::escape(request.uri().path()).to_string();
        let declared = request
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        // wasi:http needs an authority: without one the request is the client's mistake.
        if request.uri().authority().is_none()
            && !request.headers().contains_key(hyper::header::HOST)
        {
            let response = plain(StatusCode::BAD_REQUEST, "the request has no Host header\n");
            return Ok(self.log(&method, &path, response, started, 0));
        }
        let Some(admitted) = self.admission.admit().await else {
            return Ok(self.log(&method, &path, busy(), started, 0));
        };
        if declared.is_some_and(|length| length > self.options.max_body) {
            let message = format!(
                "request body is over the {} limit\n",
                format_size(self.options.max_body)
            );
            return Ok(self.log(
                &method,
                &path,
                plain(StatusCode::PAYLOAD_TOO_LARGE, message),
                started,
                0,
            ));
        }
        match self.respond(request).await {
            Ok((response, guest)) => {
                // The guest may stream its body after answering: log when it is done, with its fuel.
                let status = response.status().as_u16();
                let module = self.loaded.name().to_string();
                tokio::spawn(async move {
                    // The slot is held until the guest has streamed its body.
                    let _admitted = admitted;
                    let fuel = match guest.await {
                        Ok(Ok(fuel)) => fuel,
                        Ok(Err(error)) => {
                            tracing::error!(target: "arcella::http", module, "{method} {path}: {error}");
                            0
                        }
                        Err(_) => 0,
                    };
                    access_log(&module, &method, &path, status, started, fuel);
                });
                Ok(response)
            }
            Err(Error::Overloaded { reason, .. }) => {
                tracing::warn!(target: "arcella::http", module = self.loaded.name(), "{method} {path}: busy ({reason}); answered 503");
                Ok(self.log(&method, &path, busy(), started, 0))
            }
            Err(error) => {
                let status = if matches!(error, Error::Timeout { .. }) {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                tracing::error!(target: "arcella::http", module = self.loaded.name(), "{method} {path}: {error}");
                let response = plain(
                    status,
                    format!("{}\n", status.canonical_reason().unwrap_or("error")),
                );
                Ok(self.log(&method, &path, response, started, 0))
            }
        }
    }

    fn log(
        &self,
        method: &hyper::Method,
        path: &str,
        response: Response<HyperOutgoingBody>,
        started: Instant,
        fuel: u64,
    ) -> Response<HyperOutgoingBody> {
        tracing::info!(
            target: "arcella::access",
            module = self.loaded.name(),
            "{method} {path} {} {:.1}ms fuel={fuel}",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        response
    }

    /// Runs the guest's `handle` on a fresh instance, returning its response
    /// and the task that goes on streaming its body (it ends with the fuel
    /// used), or the typed error that stopped the guest before it answered.
    ///
    /// Unlike [`handle`](Self::handle), nothing is logged and no error is
    /// turned into a status: for callers that report errors themselves.
    pub async fn respond<B>(
        &self,
        request: Request<B>,
    ) -> crate::Result<(Response<HyperOutgoingBody>, GuestTask)>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<HttpError>,
    {
        let limits = self.sandbox.limits().clone();
        let metered = self.loaded.metered();
        let max_body = self.options.max_body;
        let request = request.map(move |body| {
            let body = body.map_err(Into::<HttpError>::into);
            Limited::new(body, usize::try_from(max_body).unwrap_or(usize::MAX)).map_err(
                move |error| match error.downcast::<HttpError>() {
                    Ok(error) => *error,
                    Err(_) => HttpError::HttpRequestBodySize(Some(max_body)),
                },
            )
        });
        let mut store = self.sandbox.store(self.loaded.engine())?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let host_error = |error: wasmtime::Error| Error::Host(format!("{error:#}"));
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(host_error)?;
        let outparam = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(host_error)?;
        let Some(pre) = self.loaded.proxy_pre().cloned() else {
            return Err(Error::WrongKind {
                module: self.loaded.name().to_string(),
                kind: self.loaded.kind().to_string(),
                action: "serve HTTP".into(),
            });
        };
        let module = self.loaded.name().to_string();
        let task = tokio::spawn(async move {
            let budget = Budget {
                limits: &limits,
                metered,
            };
            let call = guarded(&mut store, budget, async move |store| {
                let proxy = pre.instantiate_async(&mut *store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut *store, incoming, outparam)
                    .await
            })
            .await?;
            Ok(call.fuel)
        });
        match receiver.await {
            Ok(Ok(response)) => Ok((response, task)),
            Ok(Err(code)) => Err(Error::Trap {
                module,
                message: format!("the guest answered with an error: {code:?}"),
                backtrace: None,
            }),
            Err(_) => match task.await {
                Ok(Ok(_fuel)) => Err(Error::Trap {
                    module,
                    message: "the guest returned without setting a response".into(),
                    backtrace: None,
                }),
                Ok(Err(error)) => Err(error),
                Err(join) => Err(Error::Host(format!("request task failed: {join}"))),
            },
        }
    }
}

/// The guest's task after it answered: it ends with the fuel it used, or what stopped it.
pub type GuestTask = tokio::task::JoinHandle<crate::Result<u64>>;

/// One line per request, through `tracing`.
fn access_log(
    module: &str,
    method: &hyper::Method,
    path: &str,
    status: u16,
    started: Instant,
    fuel: u64,
) {
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(target: "arcella::access", module, "{method} {path} {status} {millis:.1}ms fuel={fuel}");
}

/// Seconds a client told the server is busy is asked to wait before retrying.
const RETRY_AFTER_SECONDS: &str = "1";

/// The answer when every slot and the queue are taken: 503, come back soon.
fn busy() -> Response<HyperOutgoingBody> {
    let mut response = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is busy; retry shortly\n",
    );
    response.headers_mut().insert(
        hyper::header::RETRY_AFTER,
        hyper::header::HeaderValue::from_static(RETRY_AFTER_SECONDS),
    );
    response
}

fn plain(status: StatusCode, body: impl Into<Bytes>) -> Response<HyperOutgoingBody> {
    let body = Full::new(body.into())
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Binds `options.listen`, tells `on_listening` where, and serves `service`
/// until `shutdown`; returns when requests in flight are done.
pub(crate) async fn bind_and_serve(
    service: HttpService,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> crate::Result<()> {
    let address = service.options.listen;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|error| Error::Listen {
            address,
            cause: error.to_string(),
        })?;
    on_listening(listener.local_addr().unwrap_or(address));
    Arc::new(service)
        .serve(listener, shutdown)
        .await
        .map_err(|error| Error::Host(format!("serving failed: {error}")))
}
