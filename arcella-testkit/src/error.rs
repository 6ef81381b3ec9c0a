//! What can go wrong: setting a harness up ([`Error`]), and one step of a
//! test ([`StepError`]). Both print what to do about it, also through
//! `unwrap()`: their `Debug` is their message.
//!
//! Both are plain data: the host process that runs the component reports
//! them to the test process.

use std::path::PathBuf;

use crate::trace::{Action, Log};

/// Why a harness could not be set up, or its first start failed.
#[derive(thiserror::Error, Clone, serde::Serialize, serde::Deserialize)]
pub enum Error {
    /// The crate has no built component where the testkit looks.
    #[error(
        "no built component at {}\n  help: run `cargo arcella build` first, or test with `cargo arcella test`, which builds it",
        path.display()
    )]
    ComponentMissing {
        /// Where it was expected.
        path: PathBuf,
    },
    /// The component is older than the crate's sources: the test would run old code.
    #[error(
        "the component at {} is out of date: {changed}\n  help: run `cargo arcella build` first, or test with `cargo arcella test`, which builds it",
        path.display()
    )]
    ComponentStale {
        /// The component.
        path: PathBuf,
        /// What changed after it was built.
        changed: String,
    },
    /// `arcella.toml` is missing, unreadable or invalid.
    #[error("{}: {message}", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong, and what to do about it.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Component text did not parse.
    #[error("the component text does not parse: {0}")]
    Wat(String),
    /// A test's HTTP request could not be made (a bad method, path or header).
    #[error("the request cannot be sent: {message}")]
    Request {
        /// What is wrong with it.
        message: String,
    },
    /// A builder setting was not valid (e.g. a `dir` grant).
    #[error("invalid setting: {0}")]
    Setting(String),
    /// Worker isolation was asked for, and no worker executable is known.
    #[error(
        "module '{module}' runs with isolation = \"worker\", but no worker executable was found\n  help: run the tests with `cargo arcella test`, install the CLI (`cargo install cargo-arcella`) so that `cargo-arcella` is on PATH, set ARCELLA_WORKER_EXE, or use `.isolation(Isolation::Main)`"
    )]
    NoWorker {
        /// The module.
        module: String,
    },
    /// The host refused the component (contract, size, load) or could not set up.
    #[error("{0}")]
    Host(HostError),
    /// No host to run components in was found.
    #[error(
        "the Arcella host was not found: {looked}\n  help: run the tests with `cargo arcella test`, or install the host with `cargo install --locked cargo-arcella` (from a checkout: `cargo install --locked --path cargo-arcella`), or set {host_env} to a `cargo-arcella` executable",
        host_env = crate::HOST_ENV
    )]
    HostMissing {
        /// Where it was looked for.
        looked: String,
    },
    /// The host speaks another protocol than this testkit.
    #[error(
        "arcella-testkit {testkit} speaks host protocol {ours}, and the host at {} (cargo-arcella {host}) speaks protocol {theirs}\n  help: install the host that matches this testkit: `cargo install --locked cargo-arcella --version {testkit}` (from a checkout: `cargo install --locked --path cargo-arcella`)",
        path.display()
    )]
    HostVersion {
        /// The host executable.
        path: PathBuf,
        /// This testkit's release.
        testkit: String,
        /// This testkit's protocol.
        ours: u32,
        /// The host's release.
        host: String,
        /// The host's protocol.
        theirs: u32,
    },
    /// The host process could not be started, or went away.
    #[error(
        "the Arcella host process {what}\n  help: the next harness starts a fresh host; if this repeats, run the test alone with ARCELLA_LOG=debug to see the host's log"
    )]
    HostLost {
        /// What happened to it, e.g. `at … crashed (killed by signal 9)`.
        what: String,
    },
    /// The module was installed, and its `start` failed.
    #[error(transparent)]
    #[serde(skip)]
    Step(Box<StepError>),
}

/// An error of the host, as data: its stable kind, its message, and what
/// the testkit shows about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HostError {
    /// A short, stable name: `fuel-exhausted`, `memory-limit`, `timeout`,
    /// `stack-overflow`, `trap`, `worker-died`, `contract`…
    pub kind: String,
    /// The host's message.
    pub message: String,
    /// The limit that was reached (`2000000`, `8MiB`, `200ms`), for limit errors.
    pub limit: Option<String>,
    /// The guest's own message, when the guest answered `Err`.
    pub guest_message: Option<String>,
    /// The guest backtrace, for traps and stack overflows.
    pub backtrace: Option<String>,
}

impl HostError {
    /// The stable kind (`fuel-exhausted`, `trap`…).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Whether a limit was reached (fuel, memory, time, stack).
    pub fn is_limit(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "fuel-exhausted" | "memory-limit" | "timeout" | "stack-overflow"
        )
    }

    /// The guest backtrace, for traps and stack overflows.
    pub fn backtrace(&self) -> Option<&str> {
        self.backtrace.as_deref()
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

impl From<StepError> for Error {
    fn from(error: StepError) -> Self {
        Self::Step(Box::new(error))
    }
}

impl std::fmt::Debug for Error {
    /// The message itself, so that `.unwrap()` prints something a person can act on.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Why one step of a test failed: the guest answered `Err`, or the host
/// stopped the call (a trap, a limit, a dead worker…).
///
/// Its message names the step, the guest's logs during it, the guest
/// backtrace when there is one, and how to raise a limit that was reached.
#[derive(Clone)]
pub struct StepError(Box<Details>);

/// What a [`StepError`] knows, boxed so that results stay small.
#[derive(Clone)]
pub(crate) struct Details {
    pub(crate) number: usize,
    pub(crate) action: Action,
    pub(crate) logs: Vec<Log>,
    pub(crate) cause: Cause,
}

impl StepError {
    pub(crate) fn new(number: usize, action: Action, logs: Vec<Log>, cause: Cause) -> Self {
        Self(Box::new(Details {
            number,
            action,
            logs,
            cause,
        }))
    }
}

pub(crate) use crate::protocol::Cause;

impl StepError {
    /// A short, stable name: `guest-error` when the guest answered `Err`,
    /// `setup` when the harness could not set the step up, else the host
    /// error's kind (`fuel-exhausted`, `memory-limit`, `timeout`,
    /// `stack-overflow`, `trap`, `worker-died`…).
    pub fn kind(&self) -> &str {
        match &self.0.cause {
            Cause::Guest(_) => "guest-error",
            Cause::Host(error) => error.kind(),
            Cause::Setup(error) => crate::harness::setup_kind(error),
        }
    }

    /// Whether a limit was reached (fuel, memory, time, stack).
    pub fn is_limit(&self) -> bool {
        matches!(&self.0.cause, Cause::Host(error) if error.is_limit())
    }

    /// The host's error, unless the guest answered `Err` itself.
    pub fn host_error(&self) -> Option<&HostError> {
        match &self.0.cause {
            Cause::Host(error) => Some(error),
            Cause::Guest(_) | Cause::Setup(_) => None,
        }
    }

    /// The guest's own error message, when it answered `Err` (from `handle`,
    /// `start` or `stop`).
    pub fn guest_message(&self) -> Option<&str> {
        match &self.0.cause {
            Cause::Guest(message) => Some(message),
            Cause::Host(error) => error.guest_message.as_deref(),
            Cause::Setup(_) => None,
        }
    }

    /// The guest backtrace, for traps and stack overflows.
    pub fn backtrace(&self) -> Option<&str> {
        self.host_error().and_then(HostError::backtrace)
    }

    /// The step that failed.
    pub fn action(&self) -> &Action {
        &self.0.action
    }

    /// Its place in the trace, from 1.
    pub fn step_number(&self) -> usize {
        self.0.number
    }

    /// What the guest logged during the step.
    pub fn logs(&self) -> &[Log] {
        &self.0.logs
    }

    /// How to raise the limit that was reached, if one was.
    fn limit_help(&self) -> Option<&'static str> {
        match self.host_error()?.kind() {
            "fuel-exhausted" => Some(
                "if the guest needs more, raise it with `.fuel(…)` on the harness or `fuel` under [limits] in arcella.toml",
            ),
            "memory-limit" => Some(
                "if the guest needs more, raise it with `.memory(…)` on the harness or `memory` under [limits] in arcella.toml",
            ),
            "timeout" => Some(
                "if the guest needs longer, raise it with `.timeout(…)` on the harness or `timeout` under [limits] in arcella.toml",
            ),
            _ => None,
        }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {} `{}` failed: ", self.0.number, self.0.action)?;
        match &self.0.cause {
            Cause::Guest(message) => write!(f, "the guest answered Err({message:?})")?,
            Cause::Host(error) => write!(f, "{error}")?,
            Cause::Setup(error) => write!(f, "{error}")?,
        }
        if let Some(help) = self.limit_help() {
            write!(f, "\n  help: {help}")?;
        }
        if !self.0.logs.is_empty() {
            f.write_str("\nguest logs during the step:")?;
            for log in &self.0.logs {
                write!(
                    f,
                    "\n  {:<5} {}",
                    log.level.to_string(),
                    arcella_types::escape(&log.message)
                )?;
            }
        }
        if let Some(backtrace) = self.backtrace() {
            f.write_str("\nguest backtrace:")?;
            for line in backtrace.lines() {
                write!(f, "\n  {line}")?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for StepError {
    /// The message itself, so that `.unwrap()` prints something a person can act on.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for StepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.host_error()
            .map(|error| error as &(dyn std::error::Error + 'static))
    }
}
