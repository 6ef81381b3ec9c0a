//! The harness: one component in a host, driven step by step from a plain
//! `#[test]`, with every step recorded in a [`Trace`].

use std::path::Path;

use arcella_types::{ComponentKind, Level, ModuleState};

use crate::builder::HarnessBuilder;
use crate::error::{Cause, Error, StepError};
use crate::protocol::{self, OutboundCall, Overrides, Reply, Request, StepReport, StepValue};
use crate::session::{Session, unexpected};
use crate::trace::{
    Action, Bytes, Failure, Log, Outbound, OutboundAnswer, Output, Step, StepResult, Trace,
};

/// Largest response body [`Harness::request`] reads.
pub const MAX_RESPONSE_BODY: usize = 16 << 20;

/// One component under test, in a host of its own.
///
/// The component runs in the Arcella host process this test binary shares
/// (the installed `cargo-arcella`), or, with the `embedded` feature, in
/// this process. The API is synchronous: each call blocks until the host
/// answers. Each step ([`start`](Self::start),
/// [`send`](Self::send), [`stop`](Self::stop), [`run`](Self::run),
/// [`update`](Self::update)) is recorded in the [`trace`](Self::trace),
/// whether it succeeds or fails, and returns an [`Outcome`].
///
/// Clocks and random numbers are deterministic unless
/// [`real_clocks`](HarnessBuilder::real_clocks) is set, so a trace is the
/// same on every run.
pub struct Harness {
    /// Asked from `&self` too (`state`, `keyvalue`): a harness is used from one thread.
    session: std::cell::RefCell<Session>,
    name: String,
    kind: ComponentKind,
    /// `[config]` as written, for the trace of `start`.
    config: Vec<(String, String)>,
    overrides: Overrides,
    fuel_in_trace: bool,
    steps: Vec<Step>,
    redactions: Vec<(String, String)>,
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
        let (session, installed) = Session::install(&builder)?;
        Ok(Self {
            session: std::cell::RefCell::new(session),
            name: installed.name,
            kind: installed.kind,
            config: installed.config,
            overrides: builder.overrides,
            fuel_in_trace: builder.fuel_in_trace,
            steps: Vec::new(),
            redactions: installed.redactions,
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
    ///
    /// # Panics
    ///
    /// When the host process is gone, naming how it ended.
    pub fn state(&self) -> ModuleState {
        match self.session.borrow_mut().ask(Request::State) {
            Ok(Reply::State(state)) => state,
            Ok(Reply::Failed(error)) | Err(error) => panic!("{error}"),
            Ok(other) => panic!("{}", unexpected(&other)),
        }
    }

    /// Every pair of the key-value bucket `bucket`, in key order, as the
    /// component left it: snapshot it with `insta::assert_yaml_snapshot!`.
    ///
    /// # Panics
    ///
    /// When the host process is gone, naming how it ended.
    pub fn keyvalue(&self, bucket: &str) -> Bucket {
        let request = Request::ReadBucket {
            bucket: bucket.to_string(),
        };
        match self.session.borrow_mut().ask(request) {
            Ok(Reply::Bucket(pairs)) => Bucket(
                pairs
                    .into_iter()
                    .map(|(key, value)| (key, Bytes(value)))
                    .collect(),
            ),
            Ok(Reply::Failed(error)) | Err(error) => panic!("{error}"),
            Ok(other) => panic!("{}", unexpected(&other)),
        }
    }

    /// The host process's id, or `None` when the component runs in this process.
    #[doc(hidden)]
    pub fn host_pid(&self) -> Option<u32> {
        self.session.borrow().host_pid()
    }

    /// (Re)starts the module: `lifecycle.start` with its `[config]`, on a fresh instance.
    pub fn start(&mut self) -> Outcome<()> {
        let action = Action::Start {
            config: self.config.clone(),
        };
        self.step(action, Request::Start, |value| match value {
            StepValue::Done => Some(((), StepResult::Done)),
            _ => None,
        })
    }

    /// Sends one event to the running module; the reply is its `Ok` payload.
    pub fn send(&mut self, topic: &str, payload: &[u8]) -> Outcome<Vec<u8>> {
        let action = Action::Send {
            topic: topic.to_string(),
            payload: Bytes::from(payload),
        };
        let request = Request::Send {
            topic: topic.to_string(),
            payload: payload.to_vec(),
        };
        self.step(action, request, |value| match value {
            StepValue::Reply(reply) => Some((reply.clone(), StepResult::Reply(Bytes(reply)))),
            _ => None,
        })
    }

    /// Stops the module: `lifecycle.stop`, then the instance is gone.
    pub fn stop(&mut self) -> Outcome<()> {
        self.step(Action::Stop, Request::Stop, |value| match value {
            StepValue::Done => Some(((), StepResult::Done)),
            _ => None,
        })
    }

    /// Runs a command with `args` (the program name is added first), on a fresh instance.
    ///
    /// A nonzero exit code is a successful step: it is in the [`RunOutput`].
    pub fn run(&mut self, args: &[&str]) -> Outcome<RunOutput> {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        let action = Action::Run { args: args.clone() };
        self.step(action, Request::Run { args }, |value| match value {
            StepValue::Ran {
                exit_code,
                stdout,
                stdout_dropped,
                stderr,
                stderr_dropped,
            } => {
                let result = StepResult::Ran {
                    exit_code,
                    stdout: Output {
                        bytes: Bytes(stdout.clone()),
                        dropped: stdout_dropped,
                    },
                    stderr: Output {
                        bytes: Bytes(stderr.clone()),
                        dropped: stderr_dropped,
                    },
                };
                let output = RunOutput {
                    exit_code,
                    stdout,
                    stderr,
                };
                Some((output, result))
            }
            _ => None,
        })
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
        let setup = next.setup(Some(&self.overrides));
        let reply = self
            .session
            .borrow_mut()
            .ask(Request::Update(Box::new(setup)));
        let version = match &reply {
            Ok(Reply::Step(report)) => report.version.clone(),
            _ => None,
        };
        self.finish(Action::Update { version }, reply, |value| match value {
            StepValue::Done => Some(((), StepResult::Done)),
            _ => None,
        })
    }

    /// Sends an HTTP request to a `wasi:http/proxy` component and reads its
    /// whole response. `path` is the path and query (`/users?id=1`).
    ///
    /// Each request gets a fresh instance, under the module's limits, as
    /// `cargo arcella run` serves it. An HTTP component always runs in the
    /// host process, whatever its isolation. A status the guest chose
    /// (404, 500…) is a successful step; a trap or a limit is an error.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Outcome<HttpResponse> {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
            .collect();
        let action = Action::Request {
            method: method.to_string(),
            path: path.to_string(),
            headers: headers.clone(),
            body: Bytes::from(body),
        };
        let request = Request::Http {
            method: method.to_string(),
            path: path.to_string(),
            headers,
            body: body.to_vec(),
        };
        self.step(action, request, |value| match value {
            StepValue::Response {
                status,
                headers,
                body,
            } => {
                let result = StepResult::Response {
                    status,
                    headers: headers.clone(),
                    body: Bytes(body.clone()),
                };
                Some((
                    HttpResponse {
                        status,
                        headers,
                        body,
                    },
                    result,
                ))
            }
            _ => None,
        })
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

    /// Asks the host for one step and records it.
    fn step<T>(
        &mut self,
        action: Action,
        request: Request,
        value: impl FnOnce(StepValue) -> Option<(T, StepResult)>,
    ) -> Outcome<T> {
        let reply = self.session.borrow_mut().ask(request);
        self.finish(action, reply, value)
    }

    /// Records the step `reply` answers, and turns it into an [`Outcome`].
    fn finish<T>(
        &mut self,
        action: Action,
        reply: Result<Reply, Error>,
        value: impl FnOnce(StepValue) -> Option<(T, StepResult)>,
    ) -> Outcome<T> {
        let report = match reply {
            Ok(Reply::Step(report)) => *report,
            Ok(Reply::Failed(error)) | Err(error) => {
                StepReport::failed(Cause::Setup(Box::new(error)))
            }
            Ok(other) => StepReport::failed(Cause::Setup(Box::new(unexpected(&other)))),
        };
        if let Some(kind) = report.kind {
            self.kind = kind;
        }
        if let Some(config) = report.config {
            self.config = config;
        }
        let logs: Vec<Log> = report
            .logs
            .into_iter()
            .map(|(level, message)| Log { level, message })
            .collect();
        let outbound: Vec<Outbound> = report.outbound.into_iter().map(Outbound::from).collect();
        let service_calls = report.services;
        let fuel = report.fuel.filter(|_| self.fuel_in_trace);
        let number = self.steps.len() + 1;
        let result = report.result.and_then(|reply| {
            value(reply).ok_or_else(|| {
                Cause::Setup(Box::new(Error::HostLost {
                    what: "answered the step with a value of another kind".to_string(),
                }))
            })
        });
        match result {
            Ok((value, result)) => {
                self.steps.push(Step {
                    action,
                    logs,
                    outbound,
                    service_calls,
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
                    service_calls,
                    result: StepResult::Error(failure),
                    fuel: fuel.filter(|_| matches!(cause, Cause::Guest(_))),
                });
                Outcome(Err(StepError::new(number, action, logs, cause)))
            }
        }
    }

    /// How `cause` appears in the trace.
    fn failure(&self, cause: &Cause) -> Failure {
        let (kind, limit, message) = match cause {
            Cause::Guest(message) => ("guest-error".to_string(), None, message.clone()),
            Cause::Setup(error) => (setup_kind(error).to_string(), None, error.to_string()),
            Cause::Host(error) => (
                error.kind.clone(),
                error.limit.clone(),
                error.message.clone(),
            ),
        };
        Failure {
            kind,
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

/// The kind of a step that failed before the host ran it.
pub(crate) fn setup_kind(error: &Error) -> &'static str {
    match error {
        Error::HostLost { .. } => "host-lost",
        _ => "setup",
    }
}

impl StepReport {
    /// A step that never reached the host.
    fn failed(cause: Cause) -> Self {
        Self {
            logs: Vec::new(),
            outbound: Vec::new(),
            services: Vec::new(),
            result: Err(cause),
            fuel: None,
            kind: None,
            config: None,
            version: None,
        }
    }
}

impl From<OutboundCall> for Outbound {
    fn from(call: OutboundCall) -> Self {
        Self {
            method: call.method,
            url: call.url,
            answer: match call.answer {
                protocol::OutboundAnswer::Status(status) => OutboundAnswer::Status(status),
                protocol::OutboundAnswer::NoMock => OutboundAnswer::NoMock,
                protocol::OutboundAnswer::Denied => OutboundAnswer::Denied,
            },
        }
    }
}

/// A key-value bucket's pairs in key order; serialized as a map, values as
/// text when they are text, else as hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket(pub Vec<(String, Bytes)>);

impl Bucket {
    /// The value of `key`, if the bucket has it.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.0.as_slice())
    }

    /// The value of `key` as text, if the bucket has it and it is UTF-8.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Its keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(key, _)| key.as_str())
    }

    /// How many pairs it has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl serde::Serialize for Bucket {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
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
