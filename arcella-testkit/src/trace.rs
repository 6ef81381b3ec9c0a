//! The record of a test: every step the harness took, what the guest logged,
//! the outbound requests and service calls it made, what came back and what
//! it cost, in a form that snapshots well.
//!
//! A trace holds nothing that changes from run to run on its own: no
//! durations, no process ids, no absolute paths (they are redacted). Fuel is
//! kept, since it is the same for the same build; [`Trace::without_fuel`]
//! drops it for snapshots that should survive a rebuild of the guest.

use serde::ser::{Serialize, SerializeMap, Serializer};

use serde::ser::SerializeSeq;

use arcella_types::Level;
pub use arcella_types::service_call::{Answer, Preview, ServiceCall};

/// Everything a [`Harness`](crate::Harness) did to its component, in order.
///
/// Serialized (e.g. by `insta::assert_yaml_snapshot!`) it reads as:
///
/// ```yaml
/// module: greeter
/// steps:
///   - start:
///       greeting: hi
///     logs:
///       - info: starting with greeting `hi`
///     result: ok
///     fuel: 1843
///   - send: greet
///     payload: world
///     service_calls:
///       - "keyvalue.open(\"default\") -> ok"
///       - "keyvalue.increment(\"default\", \"greeted\", 1) -> 1"
///     reply: "hi, world!"
///     fuel: 2210
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trace {
    /// The module's name.
    pub module: String,
    /// The steps, in the order they were taken.
    pub steps: Vec<Step>,
}

impl Trace {
    /// The same trace with fuel left out of every step, for snapshots that
    /// should not change when the guest is rebuilt or the compiler changes.
    #[must_use]
    pub fn without_fuel(mut self) -> Self {
        for step in &mut self.steps {
            step.fuel = None;
        }
        self
    }

    /// Every log record of every step, in order.
    pub fn logs(&self) -> impl Iterator<Item = &Log> {
        self.steps.iter().flat_map(|step| &step.logs)
    }
}

/// One call into the component and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What was asked.
    pub action: Action,
    /// What the guest logged during the call.
    pub logs: Vec<Log>,
    /// The outbound HTTP requests the guest made during the call.
    pub outbound: Vec<Outbound>,
    /// The guest's calls to `wasi:keyvalue` and `wasi:config` during the
    /// call, in order; serialized one line each (their `Display`).
    pub service_calls: Vec<ServiceCall>,
    /// What came back.
    pub result: StepResult,
    /// Fuel the call consumed; `None` when it failed or fuel is redacted.
    pub fuel: Option<u64>,
}

/// What a step asked of the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `lifecycle.start` with this `[config]`.
    Start {
        /// The configuration, in order.
        config: Vec<(String, String)>,
    },
    /// `handler.handle` of one event.
    Send {
        /// The topic.
        topic: String,
        /// The payload.
        payload: Bytes,
    },
    /// `lifecycle.stop`.
    Stop,
    /// `wasi:cli/run` with these arguments (the program name not included).
    Run {
        /// The arguments.
        args: Vec<String>,
    },
    /// A new version replaced the running one.
    Update {
        /// The new version's `[module] version`; `None` when it could not be read.
        version: Option<String>,
    },
    /// An HTTP request to a `wasi:http/proxy` component.
    Request {
        /// `GET`, `POST`…
        method: String,
        /// The path and query, e.g. `/users?id=1`.
        path: String,
        /// Request headers, in order.
        headers: Vec<(String, String)>,
        /// The request body.
        body: Bytes,
    },
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Start { .. } => f.write_str("start()"),
            Self::Send { topic, payload } => write!(f, "send({topic:?}, {payload})"),
            Self::Stop => f.write_str("stop()"),
            Self::Run { args } => write!(f, "run({args:?})"),
            Self::Update { version } => match version {
                Some(version) => write!(f, "update(version {version})"),
                None => f.write_str("update()"),
            },
            Self::Request { method, path, .. } => write!(f, "request({method} {path})"),
        }
    }
}

/// What a step returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// A lifecycle call that succeeded (`start`, `stop`, `update`).
    Done,
    /// The handler's reply.
    Reply(Bytes),
    /// A command that ran to its end.
    Ran {
        /// Its exit code.
        exit_code: i32,
        /// What it wrote to stdout.
        stdout: Output,
        /// What it wrote to stderr.
        stderr: Output,
    },
    /// An HTTP component's response.
    Response {
        /// The status code.
        status: u16,
        /// Response headers, in order.
        headers: Vec<(String, String)>,
        /// The response body.
        body: Bytes,
    },
    /// The guest answered with an error, or the host stopped the call.
    Error(Failure),
}

/// One outbound HTTP request the guest made during a step, and what it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// `GET`, `POST`…
    pub method: String,
    /// The full URL.
    pub url: String,
    /// What happened to it.
    pub answer: OutboundAnswer,
}

/// What an outbound request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundAnswer {
    /// A mock answered with this status.
    Status(u16),
    /// No mock matched: the guest saw a refused connection.
    NoMock,
    /// `[capabilities] http` does not allow the host: the guest saw `HTTP-request-denied`.
    Denied,
}

/// Serialized as one line: `GET https://api.example.com/users -> 200`.
impl Serialize for Outbound {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let answer = match &self.answer {
            OutboundAnswer::Status(status) => status.to_string(),
            OutboundAnswer::NoMock => "no mock matched".to_string(),
            OutboundAnswer::Denied => "denied by [capabilities] http".to_string(),
        };
        serializer.serialize_str(&format!("{} {} -> {answer}", self.method, self.url))
    }
}

/// Why a step failed, as it appears in a trace.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// The stable kind: `guest-error` for the guest's own `Err`, else the
    /// host error's [`kind`](crate::HostError::kind) (`fuel-exhausted`, `trap`…).
    pub kind: String,
    /// The limit that was reached (`2000000`, `8MiB`, `200ms`), for limit errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// The message, with absolute paths redacted.
    pub message: String,
}

/// One record the guest logged; serialized as `level: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Its level.
    pub level: Level,
    /// Its message.
    pub message: String,
}

impl Serialize for Log {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(&self.level, &self.message)?;
        map.end()
    }
}

/// A payload or reply: shown as text when it is readable text, else as hex.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The bytes as text, when they are UTF-8 without control characters
    /// other than newlines and tabs.
    pub fn as_text(&self) -> Option<&str> {
        let text = std::str::from_utf8(&self.0).ok()?;
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
            .then_some(text)
    }

    /// The bytes as lowercase hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.as_text() {
            Some(text) => write!(f, "{text:?}"),
            None => write!(f, "hex {}", self.to_hex()),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.as_text() {
            Some(text) => serializer.serialize_str(text),
            None => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("hex", &self.to_hex())?;
                map.end()
            }
        }
    }
}

/// One output stream of a command: what was kept, and how much was dropped past the cap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// What the command wrote, up to the capture limit.
    pub bytes: Bytes,
    /// Bytes written past the limit and dropped.
    pub dropped: u64,
}

impl Serialize for Output {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.dropped == 0 {
            return self.bytes.serialize(serializer);
        }
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("kept", &self.bytes)?;
        map.serialize_entry("dropped", &self.dropped)?;
        map.end()
    }
}

/// `[config]` pairs (or headers) as a map, in their order.
struct ConfigMap<'a>(&'a [(String, String)]);

impl Serialize for ConfigMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Items serialized as a list of their one-line `Display`.
struct Lines<'a, T>(&'a [T]);

impl<T: std::fmt::Display> Serialize for Lines<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&item.to_string())?;
        }
        seq.end()
    }
}

/// A step reads top to bottom: the call and its arguments, the logs, the result, the fuel.
impl Serialize for Step {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match &self.action {
            Action::Start { config } => map.serialize_entry("start", &ConfigMap(config))?,
            Action::Send { topic, payload } => {
                map.serialize_entry("send", topic)?;
                map.serialize_entry("payload", payload)?;
            }
            Action::Stop => map.serialize_entry("stop", &())?,
            Action::Run { args } => map.serialize_entry("run", args)?,
            Action::Update { version } => map.serialize_entry("update", version)?,
            Action::Request {
                method,
                path,
                headers,
                body,
            } => {
                map.serialize_entry("request", &format!("{method} {path}"))?;
                if !headers.is_empty() {
                    map.serialize_entry("request_headers", &ConfigMap(headers))?;
                }
                if !body.0.is_empty() {
                    map.serialize_entry("request_body", body)?;
                }
            }
        }
        if !self.logs.is_empty() {
            map.serialize_entry("logs", &self.logs)?;
        }
        if !self.outbound.is_empty() {
            map.serialize_entry("outbound", &self.outbound)?;
        }
        if !self.service_calls.is_empty() {
            map.serialize_entry("service_calls", &Lines(&self.service_calls))?;
        }
        match &self.result {
            StepResult::Done => map.serialize_entry("result", "ok")?,
            StepResult::Reply(reply) => map.serialize_entry("reply", reply)?,
            StepResult::Ran {
                exit_code,
                stdout,
                stderr,
            } => {
                map.serialize_entry("exit_code", exit_code)?;
                map.serialize_entry("stdout", stdout)?;
                map.serialize_entry("stderr", stderr)?;
            }
            StepResult::Response {
                status,
                headers,
                body,
            } => {
                map.serialize_entry("status", status)?;
                if !headers.is_empty() {
                    map.serialize_entry("headers", &ConfigMap(headers))?;
                }
                map.serialize_entry("body", body)?;
            }
            StepResult::Error(failure) => map.serialize_entry("error", failure)?,
        }
        if let Some(fuel) = self.fuel {
            map.serialize_entry("fuel", &fuel)?;
        }
        map.end()
    }
}
