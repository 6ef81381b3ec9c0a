//! The host side of a harness: one component in an Arcella host, driven by
//! [`Request`]s, each answered with a [`Reply`].
//!
//! It runs inside the host process (`cargo-arcella`, see [`server`]) for
//! every harness by default, and inside the test's own process with the
//! `embedded` feature; both go through [`Engine::answer`], so a trace is
//! the same either way.

mod components;
mod network;
mod resolve;
pub mod server;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arcella_host::http::HttpService;
use arcella_host::internal::MAX_WASM_STACK;
use arcella_host::limits::{format_duration, format_size};
use arcella_host::services::keyvalue::check_bucket_name;
use arcella_host::{
    ComponentKind, Host, HostOptions, Isolation, KeyValue, LogRecord, Observers, ServiceCall,
    Stdio, WorkerCommand,
};
use http_body_util::BodyExt as _;

use crate::error::{Error, HostError};
use crate::protocol::{Cause, Installed, Overrides, Reply, Request, Setup, StepReport, StepValue};
use components::base_options;
use network::MockedNetwork;
use resolve::{find_worker, resolve};

use crate::harness::MAX_RESPONSE_BODY;

/// One harness's component in a host of its own.
pub(crate) struct Engine {
    // The host goes before the runtime: its workers are killed while the runtime still runs.
    host: Host,
    runtime: tokio::runtime::Runtime,
    name: String,
    kind: ComponentKind,
    /// The first install's overrides: an update's base.
    overrides: Overrides,
    worker_found: bool,
    logs: Arc<Mutex<Vec<LogRecord>>>,
    network: Arc<MockedNetwork>,
    /// The guest's service calls since the last step was reported.
    services: Arc<Mutex<Vec<ServiceCall>>>,
    keyvalue: KeyValue,
    http: Option<Arc<HttpService>>,
}

/// The host's error as the testkit shows it.
pub(crate) fn host_error(error: &arcella_host::Error) -> HostError {
    use arcella_host::Error as E;
    let limit = match error {
        E::FuelExhausted { limit, .. } => Some(limit.to_string()),
        E::MemoryLimit { limit, .. } => Some(format_size(*limit)),
        E::Timeout { after, .. } => Some(format_duration(*after)),
        E::StackOverflow { .. } => Some(format_size(MAX_WASM_STACK as u64)),
        _ => None,
    };
    HostError {
        kind: error.kind().to_string(),
        message: error.to_string(),
        limit,
        guest_message: match error {
            E::Guest { message, .. } => Some(message.clone()),
            _ => None,
        },
        backtrace: error.backtrace().map(str::to_string),
    }
}

fn failed(error: &arcella_host::Error) -> Cause {
    Cause::Host(host_error(error))
}

/// Why a step failed, and the fuel it spent when the guest got to run.
struct Failure(Box<Cause>, Option<u64>);

impl From<Cause> for Failure {
    fn from(cause: Cause) -> Self {
        Failure(Box::new(cause), None)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Engine {
    /// Installs the component `setup` describes. `own_exe` is this
    /// process's executable when it can serve as a worker (the host process).
    pub(crate) fn install(
        setup: &Setup,
        own_exe: Option<&std::path::Path>,
    ) -> Result<(Self, Installed), Error> {
        let resolved = resolve(setup)?;
        // Bad seeds are the test's mistake, named before anything else.
        let keyvalue = KeyValue::default();
        for (bucket, pairs) in &setup.settings.keyvalue {
            check_bucket_name(bucket).map_err(|problem| {
                Error::Setting(format!("`keyvalue({bucket:?}, …)`: {problem}"))
            })?;
            for (key, value) in pairs {
                keyvalue.set(bucket, key, value).map_err(|message| {
                    Error::Setting(format!("cannot seed the bucket `{bucket}`: {message}"))
                })?;
            }
        }
        let worker = find_worker(setup.settings.worker_exe.as_deref(), own_exe);
        let name = resolved.manifest.module.name.clone();
        if resolved.manifest.module.isolation == Isolation::Worker && worker.is_none() {
            return Err(Error::NoWorker { module: name });
        }
        let mut redactions = resolved.redactions;
        if let Some(worker) = &worker {
            redactions.push((worker.display().to_string(), "[worker]".to_string()));
        }
        let logs: Arc<Mutex<Vec<LogRecord>>> = Arc::default();
        let sink = logs.clone();
        let services: Arc<Mutex<Vec<ServiceCall>>> = Arc::default();
        let calls = services.clone();
        // Outbound HTTP is answered by the mocks wherever the module runs, in a worker too.
        let network = Arc::new(MockedNetwork::new(&setup.settings.mocks));
        let options = HostOptions {
            worker: WorkerCommand {
                // Never started without a worker: installs of worker modules are refused above.
                program: worker
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("cargo-arcella")),
            },
            deterministic: !setup.settings.real_clocks,
            stdio: Stdio::Capture {
                limit: usize::try_from(setup.settings.capture_limit).unwrap_or(usize::MAX),
            },
            observers: Observers {
                on_log: Some(Arc::new(move |record: &LogRecord| {
                    lock(&sink).push(record.clone());
                })),
                on_outbound: Some(network.recorder()),
                on_service_call: Some(Arc::new(move |call: &ServiceCall| {
                    lock(&calls).push(call.clone());
                })),
            },
            backends: arcella_host::Backends {
                network: network.network(),
            },
            keyvalue: keyvalue.clone(),
            ..base_options()?
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| {
                Error::Host(host_error(&arcella_host::Error::Host(format!(
                    "cannot start the harness's runtime: {error}"
                ))))
            })?;
        let mut host = Host::new(options);
        let kind = runtime
            .block_on(host.install(resolved.manifest, resolved.wasm.to_vec()))
            .map_err(|error| Error::Host(host_error(&error)))?;
        // Logs and service calls from installing (none today) belong to no step.
        lock(&logs).clear();
        lock(&services).clear();
        let engine = Self {
            host,
            runtime,
            name: name.clone(),
            kind,
            overrides: setup.overrides.clone(),
            worker_found: worker.is_some(),
            logs,
            network,
            services,
            keyvalue,
            http: None,
        };
        let installed = Installed {
            name,
            kind,
            redactions,
            config: engine.config(),
        };
        Ok((engine, installed))
    }

    /// `[config]` as written: an environment reference shows its
    /// variable's name, never its value.
    fn config(&self) -> Vec<(String, String)> {
        self.host
            .manifest(&self.name)
            .map(|manifest| {
                manifest
                    .config
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Serves one request of the session after its install.
    pub(crate) fn answer(&mut self, request: Request) -> Reply {
        match request {
            Request::Install(_) => Reply::Failed(Error::Setting(
                "this harness is installed already".to_string(),
            )),
            Request::Start => self.step(|engine| {
                let call = engine.runtime.block_on(engine.host.start(&engine.name));
                call.map(|call| (StepValue::Done, Some(call.fuel)))
                    .map_err(|error| failed(&error))
            }),
            Request::Send { topic, payload } => self.step(|engine| {
                let call = engine
                    .runtime
                    .block_on(engine.host.handle(&engine.name, &topic, &payload))
                    .map_err(|error| failed(&error))?;
                match call.value {
                    Ok(reply) => Ok((StepValue::Reply(reply), Some(call.fuel))),
                    // A guest's error is a finished call: it spent fuel too.
                    Err(message) => Err(Failure(Box::new(Cause::Guest(message)), Some(call.fuel))),
                }
            }),
            Request::Stop => self.step(|engine| {
                let call = engine.runtime.block_on(engine.host.stop(&engine.name));
                call.map(|call| (StepValue::Done, Some(call.fuel)))
                    .map_err(|error| failed(&error))
            }),
            Request::Run { args } => self.step(|engine| {
                let call = engine
                    .runtime
                    .block_on(engine.host.run(&engine.name, &args))
                    .map_err(|error| failed(&error))?;
                let output = call.value;
                let value = StepValue::Ran {
                    exit_code: output.exit_code,
                    stdout: output.stdout.bytes,
                    stdout_dropped: output.stdout.dropped,
                    stderr: output.stderr.bytes,
                    stderr_dropped: output.stderr.dropped,
                };
                Ok::<_, Cause>((value, Some(call.fuel)))
            }),
            Request::Update(setup) => self.update(&setup),
            Request::Http {
                method,
                path,
                headers,
                body,
            } => self.step(|engine| engine.request(&method, &path, &headers, &body)),
            Request::State => match self.host.state(&self.name) {
                Some(state) => Reply::State(state),
                None => Reply::Failed(Error::Setting(format!(
                    "the module `{}` is not installed",
                    self.name
                ))),
            },
            Request::ReadBucket { bucket } => match self.keyvalue.pairs(&bucket) {
                Ok(pairs) => Reply::Bucket(pairs),
                Err(message) => Reply::Failed(Error::Setting(format!(
                    "cannot read the bucket `{bucket}`: {message}"
                ))),
            },
        }
    }

    /// Runs one step and reports it with what the guest did meanwhile.
    fn step<E: Into<Failure>>(
        &mut self,
        run: impl FnOnce(&mut Self) -> Result<(StepValue, Option<u64>), E>,
    ) -> Reply {
        let (result, fuel) = match run(self).map_err(Into::into) {
            Ok((value, fuel)) => (Ok(value), fuel),
            Err(Failure(cause, fuel)) => (Err(*cause), fuel),
        };
        self.report(result, fuel, None, None)
    }

    fn report(
        &mut self,
        result: Result<StepValue, Cause>,
        fuel: Option<u64>,
        config: Option<Vec<(String, String)>>,
        version: Option<String>,
    ) -> Reply {
        let logs = lock(&self.logs)
            .drain(..)
            .map(|record| (record.level, record.message))
            .collect();
        Reply::Step(Box::new(StepReport {
            logs,
            outbound: self.network.take_calls(),
            services: std::mem::take(&mut *lock(&self.services)),
            result,
            fuel,
            kind: Some(self.kind),
            config,
            version,
        }))
    }

    fn update(&mut self, setup: &Setup) -> Reply {
        let mut setup = setup.clone();
        setup.base = Some(self.overrides.clone());
        let resolved = match resolve(&setup) {
            Ok(resolved) => resolved,
            Err(error) => return self.report(Err(Cause::Setup(Box::new(error))), None, None, None),
        };
        let mut manifest = resolved.manifest;
        manifest.module.name.clone_from(&self.name);
        let version = Some(manifest.module.version.to_string());
        if manifest.module.isolation == Isolation::Worker && !self.worker_found {
            let error = Error::NoWorker {
                module: self.name.clone(),
            };
            return self.report(Err(Cause::Setup(Box::new(error))), None, None, version);
        }
        let result = self
            .runtime
            .block_on(self.host.update(manifest, resolved.wasm.to_vec()));
        if let Some(kind) = self.host.kind(&self.name) {
            self.kind = kind;
        }
        // A new version serves HTTP from its own service.
        self.http = None;
        let config = Some(self.config());
        match result {
            Ok(call) => {
                let fuel = (self.kind == ComponentKind::Module).then_some(call.fuel);
                self.report(Ok(StepValue::Done), fuel, config, version)
            }
            Err(error) => self.report(Err(failed(&error)), None, config, version),
        }
    }

    /// One HTTP request to the component, read whole.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(StepValue, Option<u64>), Cause> {
        let service = self.http_service().map_err(|error| failed(&error))?;
        let request = build_request(method, path, headers, body)
            .map_err(|message| Cause::Setup(Box::new(Error::Request { message })))?;
        let result = self.runtime.block_on(async {
            let (response, guest) = service.respond(request).await?;
            let (parts, body) = response.into_parts();
            let body = http_body_util::Limited::new(body, MAX_RESPONSE_BODY)
                .collect()
                .await
                .map(|collected| collected.to_bytes().to_vec());
            let fuel = match guest.await {
                Ok(result) => result?,
                Err(join) => {
                    return Err(arcella_host::Error::Host(format!(
                        "the request's task failed: {join}"
                    )));
                }
            };
            let body = body.map_err(|error| {
                arcella_host::Error::Host(format!("reading the response body: {error}"))
            })?;
            Ok((parts, body, fuel))
        });
        let (parts, body, fuel) = result.map_err(|error| failed(&error))?;
        let value = StepValue::Response {
            status: parts.status.as_u16(),
            headers: arcella_host::services::outbound_http::header_pairs(&parts.headers),
            body,
        };
        Ok((value, Some(fuel)))
    }

    /// The service HTTP requests go to, made on the first request.
    fn http_service(&mut self) -> Result<Arc<HttpService>, arcella_host::Error> {
        if let Some(service) = &self.http {
            return Ok(service.clone());
        }
        let service = Arc::new(
            self.host
                .http_service(&self.name, arcella_host::http::ServeOptions::default())?,
        );
        self.http = Some(service.clone());
        Ok(service)
    }
}

/// The request a test asked for, as the component will see it.
fn build_request(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<hyper::Request<http_body_util::Full<hyper::body::Bytes>>, String> {
    let method = hyper::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("`{method}` is not an HTTP method"))?;
    if !path.starts_with('/') {
        return Err(format!("the path `{path}` must start with `/`"));
    }
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"))
        .header(hyper::header::HOST, "localhost");
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request
        .body(http_body_util::Full::new(
            hyper::body::Bytes::copy_from_slice(body),
        ))
        .map_err(|error| format!("the request is not valid: {error}"))
}
