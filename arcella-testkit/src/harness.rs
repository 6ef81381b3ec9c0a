//! The harness: one component in its own host, driven step by step from a
//! plain `#[test]`, with every step recorded in a [`Trace`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arcella_host::http::HttpService;
use arcella_host::internal::MAX_WASM_STACK;
use arcella_host::limits::{format_duration, format_size};
use arcella_host::{
    ComponentKind, Host, HostOptions, Isolation, Level, LogRecord, ModuleState, Observers, Stdio,
    WorkerCommand,
};
use http_body_util::BodyExt as _;

use crate::builder::{HarnessBuilder, HarnessSettings, Overrides, find_worker};
use crate::components::base_options;
use crate::error::{Cause, Error, StepError};
use crate::mock::MockedNetwork;
use crate::trace::{Action, Bytes, Failure, Log, Output, Step, StepResult, Trace};

/// Largest response body [`Harness::request`] reads.
pub const MAX_RESPONSE_BODY: usize = 16 << 20;

/// One component under test, in a host of its own.
///
/// The API is synchronous: the harness owns a single-threaded tokio runtime
/// and blocks on each call. Each step ([`start`](Self::start),
/// [`send`](Self::send), [`stop`](Self::stop), [`run`](Self::run),
/// [`update`](Self::update)) is recorded in the [`trace`](Self::trace),
/// whether it succeeds or fails, and returns an [`Outcome`].
///
/// Clocks and random numbers are deterministic unless
/// [`real_clocks`](HarnessBuilder::real_clocks) is set, so a trace is the
/// same on every run.
pub struct Harness {
    // The host goes before the runtime: its workers are killed while the runtime still runs.
    host: Host,
    runtime: tokio::runtime::Runtime,
    name: String,
    kind: ComponentKind,
    overrides: Overrides,
    settings: HarnessSettings,
    worker_found: bool,
    logs: Arc<Mutex<Vec<LogRecord>>>,
    network: Arc<MockedNetwork>,
    http: Option<Arc<HttpService>>,
    steps: Vec<Step>,
    redactions: Vec<(String, &'static str)>,
}

/// An HTTP component's answer to [`Harness::request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name` (compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(given, _)| given.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The request a test asked for, as the component will see it.
fn build_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
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
        request = request.header(*name, *value);
    }
    request
        .body(http_body_util::Full::new(
            hyper::body::Bytes::copy_from_slice(body),
        ))
        .map_err(|error| format!("the request is not valid: {error}"))
}

/// The result of one step. Unlike a `Result`, it may be ignored without a
/// warning: a test that snapshots the trace checks every step at once.
#[derive(Debug)]
pub struct Outcome<T>(Result<T, StepError>);

impl<T> Outcome<T> {
    /// Whether the step succeeded.
    pub fn is_ok(&self) -> bool {
        self.0.is_ok()
    }

    /// Whether the step failed.
    pub fn is_err(&self) -> bool {
        self.0.is_err()
    }

    /// What the step returned, if it succeeded.
    pub fn value(&self) -> Option<&T> {
        self.0.as_ref().ok()
    }

    /// Why the step failed, if it did.
    pub fn error(&self) -> Option<&StepError> {
        self.0.as_ref().err()
    }

    /// What the step returned; panics with the step's error (its backtrace and logs included).
    #[track_caller]
    pub fn unwrap(self) -> T {
        match self.0 {
            Ok(value) => value,
            Err(error) => panic!("{error}"),
        }
    }

    /// Why the step failed; panics if it succeeded.
    #[track_caller]
    pub fn unwrap_err(self) -> StepError
    where
        T: std::fmt::Debug,
    {
        match self.0 {
            Ok(value) => panic!("the step was expected to fail, and returned {value:?}"),
            Err(error) => error,
        }
    }

    /// The outcome as a `Result`, for `?`.
    pub fn into_result(self) -> Result<T, StepError> {
        self.0
    }
}

impl<T> From<Outcome<T>> for Result<T, StepError> {
    fn from(outcome: Outcome<T>) -> Self {
        outcome.0
    }
}

/// What a command did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOutput {
    /// Its exit code: 0 for success (WASI 0.2 reports any failure as 1).
    pub exit_code: i32,
    /// What it wrote to stdout (up to the capture limit).
    pub stdout: Vec<u8>,
    /// What it wrote to stderr (up to the capture limit).
    pub stderr: Vec<u8>,
}

impl RunOutput {
    /// Whether it exited with 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }

    /// Stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl Harness {
    /// The component of the crate at `dir` (pass `env!("CARGO_MANIFEST_DIR")`),
    /// with its `arcella.toml`.
    ///
    /// The component is `ARCELLA_COMPONENT` when `cargo arcella test` set it,
    /// else `<dir>/target/arcella/<name>.wasm`. Starting fails with a help
    /// line when it is missing or older than the crate's sources.
    pub fn for_crate(dir: impl AsRef<Path>) -> HarnessBuilder {
        HarnessBuilder::for_crate(dir.as_ref())
    }

    /// The component at `path`, with the `arcella.toml` beside it if there is
    /// one, else the host's defaults under the file's name.
    pub fn from_file(path: impl AsRef<Path>) -> HarnessBuilder {
        HarnessBuilder::from_file(path.as_ref())
    }

    /// A component written as component-model text, under the host's defaults
    /// (named `component`, its imports and exports declared, no capabilities).
    pub fn from_wat(text: &str) -> HarnessBuilder {
        HarnessBuilder::from_wat(text)
    }

    /// A component binary, under the host's defaults, as for [`from_wat`](Self::from_wat).
    pub fn from_bytes(bytes: &[u8]) -> HarnessBuilder {
        HarnessBuilder::from_bytes(bytes)
    }

    pub(crate) fn install(builder: HarnessBuilder) -> Result<Self, Error> {
        let resolved = builder.resolve(None)?;
        let worker = find_worker(builder.settings.worker_exe.as_deref());
        let name = resolved.manifest.module.name.clone();
        if resolved.manifest.module.isolation == Isolation::Worker && worker.is_none() {
            return Err(Error::NoWorker { module: name });
        }
        let logs: Arc<Mutex<Vec<LogRecord>>> = Arc::default();
        let sink = logs.clone();
        let mut redactions = resolved.redactions;
        if let Some(worker) = &worker {
            redactions.push((worker.display().to_string(), "[worker]"));
        }
        let options = HostOptions {
            worker: WorkerCommand {
                // Never started without a worker: installs of worker modules are refused above.
                program: worker
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("cargo-arcella")),
            },
            deterministic: !builder.settings.real_clocks,
            stdio: Stdio::Capture {
                limit: builder.settings.capture_limit,
            },
            ..base_options()?
        };
        // Outbound HTTP is answered by the mocks wherever the module runs, in a worker too.
        let network = Arc::new(MockedNetwork::new(&builder.settings.mocks));
        let options = HostOptions {
            observers: Observers {
                on_log: Some(Arc::new(move |record: &LogRecord| {
                    lock(&sink).push(record.clone());
                })),
                on_outbound: Some(network.recorder()),
            },
            backends: arcella_host::Backends {
                network: network.network(),
            },
            ..options
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| {
                Error::Host(arcella_host::Error::Host(format!(
                    "cannot start the harness's runtime: {error}"
                )))
            })?;
        let mut host = Host::new(options);
        let kind = runtime.block_on(host.install(resolved.manifest, resolved.wasm.to_vec()))?;
        // Logs from installing (none today) belong to no step.
        lock(&logs).clear();
        Ok(Self {
            host,
            runtime,
            name,
            kind,
            overrides: builder.overrides,
            settings: builder.settings,
            worker_found: worker.is_some(),
            logs,
            network,
            http: None,
            steps: Vec::new(),
            redactions,
        })
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What kind of component it is (module, command, http).
    pub fn kind(&self) -> ComponentKind {
        self.kind
    }

    /// Where the module is in its lifecycle.
    pub fn state(&self) -> ModuleState {
        self.host
            .state(&self.name)
            .expect("the harness's module stays installed")
    }

    /// (Re)starts the module: `lifecycle.start` with its `[config]`, on a fresh instance.
    pub fn start(&mut self) -> Outcome<()> {
        let config = self
            .host
            .manifest(&self.name)
            .map(|manifest| {
                // As written: an environment reference shows its variable's
                // name, never its value.
                manifest
                    .config
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let result = self.runtime.block_on(self.host.start(&self.name));
        let action = Action::Start { config };
        match result {
            Ok(call) => self.record(action, Some(call.fuel), Ok((StepResult::Done, ()))),
            Err(error) => self.record(action, None, Err(Cause::Host(error))),
        }
    }

    /// Sends one event to the running module; the reply is its `Ok` payload.
    pub fn send(&mut self, topic: &str, payload: &[u8]) -> Outcome<Vec<u8>> {
        let result = self
            .runtime
            .block_on(self.host.handle(&self.name, topic, payload));
        let action = Action::Send {
            topic: topic.to_string(),
            payload: Bytes::from(payload),
        };
        match result {
            Ok(call) => match call.value {
                Ok(reply) => self.record(
                    action,
                    Some(call.fuel),
                    Ok((StepResult::Reply(Bytes(reply.clone())), reply)),
                ),
                Err(message) => self.record(action, Some(call.fuel), Err(Cause::Guest(message))),
            },
            Err(error) => self.record(action, None, Err(Cause::Host(error))),
        }
    }

    /// Stops the module: `lifecycle.stop`, then the instance is gone.
    pub fn stop(&mut self) -> Outcome<()> {
        let result = self.runtime.block_on(self.host.stop(&self.name));
        match result {
            Ok(call) => self.record(Action::Stop, Some(call.fuel), Ok((StepResult::Done, ()))),
            Err(error) => self.record(Action::Stop, None, Err(Cause::Host(error))),
        }
    }

    /// Runs a command with `args` (the program name is added first), on a fresh instance.
    ///
    /// A nonzero exit code is a successful step: it is in the [`RunOutput`].
    pub fn run(&mut self, args: &[&str]) -> Outcome<RunOutput> {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        let result = self.runtime.block_on(self.host.run(&self.name, &args));
        let action = Action::Run { args };
        match result {
            Ok(call) => {
                let output = call.value;
                let result = StepResult::Ran {
                    exit_code: output.exit_code,
                    stdout: Output {
                        bytes: Bytes(output.stdout.bytes.clone()),
                        dropped: output.stdout.dropped,
                    },
                    stderr: Output {
                        bytes: Bytes(output.stderr.bytes.clone()),
                        dropped: output.stderr.dropped,
                    },
                };
                let value = RunOutput {
                    exit_code: output.exit_code,
                    stdout: output.stdout.bytes,
                    stderr: output.stderr.bytes,
                };
                self.record(action, Some(call.fuel), Ok((result, value)))
            }
            Err(error) => self.record(action, None, Err(Cause::Host(error))),
        }
    }

    /// Replaces the module with `next` (e.g. `Harness::from_wat(V2)`): the host
    /// installs and starts the new version before it stops the old one.
    ///
    /// The settings this harness was built with apply to `next` too, and
    /// `next`'s own settings go over them; the module keeps its name.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "taken by value so that a test reads `h.update(Harness::from_wat(V2))`"
    )]
    pub fn update(&mut self, next: HarnessBuilder) -> Outcome<()> {
        let resolved = match next.resolve(Some(&self.overrides)) {
            Ok(resolved) => resolved,
            Err(error) => {
                let action = Action::Update { version: None };
                return self.record(action, None, Err(Cause::Setup(Box::new(error))));
            }
        };
        let mut manifest = resolved.manifest;
        manifest.module.name.clone_from(&self.name);
        let action = Action::Update {
            version: Some(manifest.module.version.to_string()),
        };
        if manifest.module.isolation == Isolation::Worker && !self.worker_found {
            let error = Error::NoWorker {
                module: self.name.clone(),
            };
            return self.record(action, None, Err(Cause::Setup(Box::new(error))));
        }
        let result = self
            .runtime
            .block_on(self.host.update(manifest, resolved.wasm.to_vec()));
        if let Some(kind) = self.host.kind(&self.name) {
            self.kind = kind;
        }
        match result {
            Ok(call) => {
                let fuel = (self.kind == ComponentKind::Module).then_some(call.fuel);
                self.record(action, fuel, Ok((StepResult::Done, ())))
            }
            Err(error) => self.record(action, None, Err(Cause::Host(error))),
        }
    }

    /// Sends an HTTP request to a `wasi:http/proxy` component and reads its
    /// whole response. `path` is the path and query (`/users?id=1`).
    ///
    /// Each request gets a fresh instance, under the module's limits, as
    /// `cargo arcella run` serves it. An HTTP component always runs in the
    /// test's process, whatever its isolation. A status the guest chose
    /// (404, 500…) is a successful step; a trap or a limit is an error.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Outcome<HttpResponse> {
        let action = Action::Request {
            method: method.to_string(),
            path: path.to_string(),
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
                .collect(),
            body: Bytes::from(body),
        };
        let service = match self.http_service() {
            Ok(service) => service,
            Err(error) => return self.record(action, None, Err(Cause::Host(error))),
        };
        let request = match build_request(method, path, headers, body) {
            Ok(request) => request,
            Err(message) => {
                let error = Error::Request { message };
                return self.record(action, None, Err(Cause::Setup(Box::new(error))));
            }
        };
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
        match result {
            Ok((parts, body, fuel)) => {
                let response = HttpResponse {
                    status: parts.status.as_u16(),
                    headers: arcella_host::services::outbound_http::header_pairs(&parts.headers),
                    body,
                };
                let result = StepResult::Response {
                    status: response.status,
                    headers: response.headers.clone(),
                    body: Bytes(response.body.clone()),
                };
                self.record(action, Some(fuel), Ok((result, response)))
            }
            Err(error) => self.record(action, None, Err(Cause::Host(error))),
        }
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

    /// Every step so far, for a snapshot: `insta::assert_yaml_snapshot!(h.trace())`.
    pub fn trace(&self) -> Trace {
        Trace {
            module: self.name.clone(),
            steps: self.steps.clone(),
        }
    }

    /// The messages the guest logged at `level` or more severe, over all steps
    /// (`Level::Warn` gives warnings and errors), like a log filter.
    pub fn logs_at(&self, level: Level) -> Vec<&str> {
        self.steps
            .iter()
            .flat_map(|step| &step.logs)
            .filter(|log| log.level >= level)
            .map(|log| log.message.as_str())
            .collect()
    }

    /// Records a step and turns its result into an [`Outcome`].
    fn record<T>(
        &mut self,
        action: Action,
        fuel: Option<u64>,
        result: Result<(StepResult, T), Cause>,
    ) -> Outcome<T> {
        let logs: Vec<Log> = lock(&self.logs).drain(..).map(|r| Log::from(&r)).collect();
        let outbound = self.network.take_calls();
        let fuel = fuel.filter(|_| self.settings.fuel_in_trace);
        let number = self.steps.len() + 1;
        match result {
            Ok((result, value)) => {
                self.steps.push(Step {
                    action,
                    logs,
                    outbound,
                    result,
                    fuel,
                });
                Outcome(Ok(value))
            }
            Err(cause) => {
                let failure = self.failure(&cause);
                self.steps.push(Step {
                    action: action.clone(),
                    logs: logs.clone(),
                    outbound,
                    result: StepResult::Error(failure),
                    fuel: fuel.filter(|_| matches!(cause, Cause::Guest(_))),
                });
                Outcome(Err(StepError::new(number, action, logs, cause)))
            }
        }
    }

    /// How `cause` appears in the trace.
    fn failure(&self, cause: &Cause) -> Failure {
        use arcella_host::Error as HostError;
        let (kind, limit, message) = match cause {
            Cause::Guest(message) => ("guest-error", None, message.clone()),
            Cause::Setup(error) => ("setup", None, error.to_string()),
            Cause::Host(error) => {
                let limit = match error {
                    HostError::FuelExhausted { limit, .. } => Some(limit.to_string()),
                    HostError::MemoryLimit { limit, .. } => Some(format_size(*limit)),
                    HostError::Timeout { after, .. } => Some(format_duration(*after)),
                    HostError::StackOverflow { .. } => Some(format_size(MAX_WASM_STACK as u64)),
                    _ => None,
                };
                (error.kind(), limit, error.to_string())
            }
        };
        Failure {
            kind: kind.to_string(),
            limit,
            message: self.redact(message),
        }
    }

    /// `text` with the absolute paths of this test's files replaced by placeholders.
    fn redact(&self, mut text: String) -> String {
        for (path, placeholder) in &self.redactions {
            if !path.is_empty() {
                text = text.replace(path.as_str(), placeholder);
            }
        }
        text
    }
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("steps", &self.steps.len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
